#!/usr/bin/env python3
"""Does lambdasec's cost grow linearly with its input? Time and peak memory at two or more sizes of three inputs.

    python3 bench/scale_bench.py                    # full sizes (about 15 minutes on 2 CPUs)
    python3 bench/scale_bench.py --quick            # small sizes (about a minute): checks the bench itself
    python3 bench/scale_bench.py --only snapshot --largest

Workloads, each generated deterministically into bench/.work/scale/ (kept between runs) and run in a fresh process:
1. snapshot: a synthetic live inventory (functions in 4 regions of one account with environment variables, some
   holding fake secrets, layers of the account and of others, VPC configs, function URLs, resource policies, the
   asynchronous sources they imply, log groups; roles with AWS and customer managed policies, inline policies
   with wildcards, some admin, some with a boundary; 0.5% deployers and 1% operators acting on other functions),
   saved with lambdasec's own ``write_snapshot``, then ``lambdasec scan SNAPSHOT -f json`` with every rule. Full
   sizes 5,000 functions / 1,500 roles and 10,000 / 3,000 (``--largest``: 20,000 / 6,000 too);
2. terraform: the repository of bench/make_tf_corpus.py grown to 10,000 and 20,000 resource and data blocks, then
   ``lambdasec scan DIR -f json`` (``--checkov``: Checkov's default terraform run on the largest size too);
3. detect: the CloudTrail export of bench/detect_bench.py (its generator, its cache) at 500,000 and 1,000,000
   events, then ``lambdasec detect DIR -f json`` (DuckDB).

Each workload also runs once on an empty input of its kind, to show the fixed cost (interpreter, imports) that
makes a small run look cheaper per item. Measured per run: wall time; CPU time and ``ru_maxrss`` of the child and
the descendants it waited for (``os.wait4``, as tests/reliability/measured.py reads it: the largest single
process); and the resident memory of the whole process tree, sampled every 0.2 s (workers run at the same time).
Printed: a Markdown table per workload and, for each doubling, time(2x)/time(1x) and memory(2x)/memory(1x),
flagged NOT near-linear outside [1.6, 2.6]; the same ratios net of the empty run's cost are shown beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import string
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import detect_bench  # bench/detect_bench.py: the CloudTrail generator and the process-tree memory sampler
import make_tf_corpus  # bench/make_tf_corpus.py: the Terraform repository generator

from lambdasec.iam.managed import managed_policy
from lambdasec.iam.policy import parse_document
from lambdasec.model.inventory import (
    CodeLocation,
    EnvVar,
    EventSource,
    Function,
    FunctionUrl,
    GuardDutyDetector,
    Inventory,
    LayerPermission,
    LayerVersion,
    LogGroup,
    Permission,
    Policy,
    PolicyDocument,
    Role,
    Route,
    RouteTableAssociation,
    ScannedScope,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
    Trail,
    VpcConfig,
    VpcEndpoint,
)
from lambdasec.model.location import Location
from lambdasec.model.snapshot import write_snapshot
from lambdasec.model.values import ResourceRef

BENCH = Path(__file__).resolve().parent
WORK = BENCH / ".work" / "scale"
NEAR_LINEAR = (1.6, 2.6)
TF_BLOCKS_PER_STACK = 4015 / 120  # bench/make_tf_corpus.py --stacks 120 --seed 7 writes 4,015 blocks
TF_SEED = 7
SNAPSHOT_SEED = 20261129
SCAN_OK = (0, 1, 3)  # clean, findings, coverage gaps: all complete runs


@dataclass
class Run:
    """One measured command."""

    workload: str
    size: str  # as shown, e.g. "10,000 fn / 3,000 roles"
    units: int  # the input size the ratios compare (functions, blocks, events); 0 for the empty run
    command: list[str]
    wall_s: float = 0.0
    cpu_s: float = 0.0
    maxrss_mib: float = 0.0
    tree_mib: float = 0.0
    exit: int = 0
    load_before: float = 0.0  # 1-minute load average when it started: other work slows the wall time
    output: dict[str, Any] = field(default_factory=dict)  # what the report held (counts), for sanity


# ---------------------------------------------------------------- measuring
def measure(run: Run, report: Path) -> Run:
    """Run the command to completion: wall, CPU and ru_maxrss from os.wait4, the process tree's peak sampled."""
    run.load_before = round(os.getloadavg()[0], 2)
    log = WORK / "stderr.log"  # a file, not a pipe: a scan prints a line per coverage gap, more than a pipe holds
    start = time.perf_counter()
    with log.open("wb") as errors:
        process = subprocess.Popen(run.command, stdout=subprocess.DEVNULL, stderr=errors)
        tree_peak, result = 0, None
        while result is None or result[0] == 0:
            tree_peak = max(tree_peak, detect_bench._tree_rss(process.pid))  # noqa: SLF001  # its sampler
            time.sleep(0.2)
            result = os.wait4(process.pid, os.WNOHANG)
    _, status, usage = result
    run.wall_s = round(time.perf_counter() - start, 2)
    run.cpu_s = round(usage.ru_utime + usage.ru_stime, 2)
    run.maxrss_mib = round(usage.ru_maxrss / 1024, 1)  # KiB on Linux
    run.tree_mib = round(max(tree_peak / 2**20, run.maxrss_mib), 1)
    run.exit = os.waitstatus_to_exitcode(status)
    error = log.read_text(errors="replace")
    if run.exit not in SCAN_OK:
        print(f"{run.workload} {run.size}: exit {run.exit}\n{error[-2000:]}", file=sys.stderr)
    elif report.exists():
        run.output = report_counts(report)
    return run


def report_counts(report: Path) -> dict[str, int]:
    """Findings and gaps of a report, counted in a child process. This process stays small: a child started
    from it inherits its resident size as the start of its own ru_maxrss, and a report can take gigabytes."""
    count = ("import json, sys; found = json.load(open(sys.argv[1])); "
             "print(json.dumps({'findings': len(found.get('findings', [])), "
             "'gaps': len(found.get('coverage_gaps', []))}))")
    done = subprocess.run([sys.executable, "-c", count, str(report)], check=True, capture_output=True, text=True)
    counts: dict[str, int] = json.loads(done.stdout)
    return counts


def lambdasec(*args: str) -> list[str]:
    return [sys.executable, "-m", "lambdasec", *args]


# ---------------------------------------------------------------- the synthetic inventory
ACCOUNT = "123456789012"
OTHER_ACCOUNT = "999988887777"  # trusted by a few roles, granted invocation of a few functions
REGIONS = ("us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2")
SERVICES_READ = ["cloudtrail", "ec2", "guardduty", "iam", "kms", "lambda", "logs"]
RUNTIMES = ("python3.12", "python3.12", "python3.11", "nodejs20.x", "nodejs20.x", "java21", "python3.8",
            "nodejs16.x", "go1.x", "provided.al2023")
WORDS = ("orders", "billing", "users", "search", "reports", "images", "events", "audit", "mail", "sync")
PLAIN_ENV = {"STAGE": "prod", "LOG_LEVEL": "info", "POWERTOOLS_SERVICE_NAME": "svc", "REGION_HINT": "eu",
             "TABLE_NAME": "orders-table", "QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"}
# Inline policy actions, exact and wildcarded, as execution roles grow them.
ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:*", "s3:Get*", "dynamodb:GetItem", "dynamodb:PutItem",
           "dynamodb:Query", "dynamodb:*", "sqs:SendMessage", "sqs:*", "sns:Publish", "kms:Decrypt",
           "secretsmanager:GetSecretValue", "ssm:GetParameter*", "ec2:Describe*", "logs:*", "iam:PassRole",
           "lambda:InvokeFunction", "sts:AssumeRole", "events:PutEvents", "xray:Put*")
# Roles that act on other functions (IAM014/IAM015 report each of them once per function they reach): a few
# deployers and operators, some scoped to one team's function names, some to every function.
DEPLOYER_SHARE, READER_SHARE = 0.005, 0.01
BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
VPC_ACCESS = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
FOREIGN_LAYER = "arn:aws:lambda:{region}:580247275435:layer:LambdaInsightsExtension:38"


def _token(rng: random.Random, length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def _fake_secret(rng: random.Random) -> tuple[str, str]:
    """A variable SEC001 flags (all values random fakes): the snapshot keeps only its redacted verdict."""
    kind = rng.randrange(4)
    if kind == 0:
        return "AWS_ACCESS_KEY_ID", "AKIA" + _token(rng, 16, string.ascii_uppercase + "234567")
    if kind == 1:
        return "STRIPE_API_KEY", "sk_live_" + _token(rng, 24)
    if kind == 2:
        return "GITHUB_TOKEN", "ghp_" + _token(rng, 36)
    return "DB_PASSWORD", _token(rng, 18) + "!9"


def _statement(rng: random.Random, region: str) -> dict[str, Any]:
    actions = rng.sample(ACTIONS, rng.randint(1, 5))
    resource = "*" if rng.random() < 0.4 else f"arn:aws:*:{region}:{ACCOUNT}:{rng.choice(WORDS)}-*"
    roll = rng.random()
    if roll < 0.08:
        return {"Effect": "Deny", "Action": actions, "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": region}}}
    if roll < 0.09:
        return {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "lambda:*"], "Resource": "*"}
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


def _document(statements: list[dict[str, Any]]) -> PolicyDocument:
    parsed = parse_document({"Version": "2012-10-17", "Statement": statements})
    assert isinstance(parsed, PolicyDocument)  # literal documents always parse
    return parsed


def _managed(arn: str, owner: str, document: PolicyDocument | None = None) -> Policy:
    if document is None:
        known = managed_policy(arn, shared=True)
        document = _document(known.document["Statement"] if known else [])
    return Policy(arn.rsplit("/", 1)[-1], "aws-managed" if ":iam::aws:" in arn else "customer-managed", document,
                  Location(arn=owner, path=("AttachedManagedPolicies", arn)), arn=arn)


def _role(rng: random.Random, index: int, team_policies: list[tuple[str, PolicyDocument]]) -> Role:
    name = f"{rng.choice(WORDS)}-{index:05d}-role"
    arn = f"arn:aws:iam::{ACCOUNT}:role/service-role/{name}"
    trust: list[dict[str, Any]] = [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                    "Action": "sts:AssumeRole"}]
    if rng.random() < 0.03:
        trust.append({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
                      "Action": "sts:AssumeRole"})
    role = Role(key=arn, id=arn, type="AWS::IAM::Role", location=Location(arn=arn), name=name,
                trust_policy=_document(trust))
    role.policies.append(_managed(BASIC, arn))
    if rng.random() < 0.3:
        role.policies.append(_managed(VPC_ACCESS, arn))
    if rng.random() < 0.02:
        role.policies.append(_managed(ADMIN, arn))
    for policy_arn, document in rng.sample(team_policies, rng.choice((0, 0, 1, 2))):
        role.policies.append(_managed(policy_arn, arn, document))
    region = rng.choice(REGIONS)
    roll = rng.random()
    if roll < DEPLOYER_SHARE + READER_SHARE:
        actions = (["lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:GetFunction"]
                   if roll < DEPLOYER_SHARE else ["lambda:Get*", "lambda:List*"])
        scope = "*" if rng.random() < 0.5 else f"arn:aws:lambda:*:{ACCOUNT}:function:{rng.choice(WORDS)}-*"
        role.policies.append(Policy("lambda-ops", "inline", _document(
            [{"Effect": "Allow", "Action": actions, "Resource": scope}]),
            Location(arn=arn, path=("RolePolicyList", "lambda-ops"))))
    for number in range(rng.randint(0, 3)):
        statements = [_statement(rng, region) for _ in range(rng.randint(1, 6))]
        if rng.random() < 0.01:
            statements.append({"Effect": "Allow", "Action": "*", "Resource": "*"})
        role.policies.append(Policy(f"inline-{number}", "inline", _document(statements),
                                    Location(arn=arn, path=("RolePolicyList", f"inline-{number}"))))
    if rng.random() < 0.1:
        boundary = f"arn:aws:iam::{ACCOUNT}:policy/lambda-boundary"
        role.permissions_boundary = boundary
        role.boundary_policy = _managed(boundary, arn, _document(
            [{"Effect": "Allow", "Action": ["s3:*", "dynamodb:*", "sqs:*", "logs:*", "kms:Decrypt"],
              "Resource": "*"}]))
    return role


def _network(inventory: Inventory, region: str) -> tuple[list[str], list[str]]:
    """Two public and four private subnets, ten security groups: (subnet keys, group keys)."""

    def arn(kind: str, ident: str) -> str:
        return f"arn:aws:ec2:{region}:{ACCOUNT}:{kind}/{ident}"

    def where(key: str) -> Location:
        return Location(arn=key, region=region)

    subnets, groups = [], []
    for table, gateway in (("rtb-public", "igw-0a1b"), ("rtb-private", None)):
        table_arn = arn("route-table", table)
        destination = "0.0.0.0/0"
        route = Route(key=f"{table_arn}#route/{destination}", id=table_arn, type="AWS::EC2::Route",
                      location=where(table_arn), route_table=ResourceRef(table_arn), destination=destination,
                      gateway=gateway, nat_gateway=None if gateway else "nat-0c2d",
                      target_kind="internet-gateway" if gateway else "nat-gateway")
        inventory.add(inventory.routes, route)
        for number in range(2 if gateway else 4):
            subnet = arn("subnet", f"subnet-{table[4:]}-{number}")
            inventory.add(inventory.subnets, Subnet(key=subnet, id=subnet, type="AWS::EC2::Subnet",
                                                    location=where(subnet), vpc="vpc-0main",
                                                    cidr=f"10.0.{len(subnets)}.0/24", map_public_ip=bool(gateway)))
            key = f"{table_arn}#association/{subnet}"
            inventory.add(inventory.route_table_associations, RouteTableAssociation(
                key=key, id=key, type="AWS::EC2::SubnetRouteTableAssociation", location=where(table_arn),
                route_table=ResourceRef(table_arn), subnet=ResourceRef(subnet)))
            subnets.append(subnet)
    for number in range(10):
        group = arn("security-group", f"sg-{number:04d}")
        egress = [SecurityGroupRule("-1", None, None, cidr_ipv4="0.0.0.0/0", location=where(group))]
        inventory.add(inventory.security_groups, SecurityGroup(key=group, id=group, type="AWS::EC2::SecurityGroup",
                                                               location=where(group), vpc="vpc-0main", egress=egress))
        groups.append(group)
    endpoint = arn("vpc-endpoint", "vpce-s3")
    inventory.add(inventory.vpc_endpoints, VpcEndpoint(key=endpoint, id=endpoint, type="AWS::EC2::VPCEndpoint",
                                                       location=where(endpoint), vpc="vpc-0main",
                                                       service=f"com.amazonaws.{region}.s3"))
    return subnets, groups


def _layers(inventory: Inventory, region: str, count: int) -> list[str]:
    keys = []
    for number in range(count):
        arn = f"arn:aws:lambda:{region}:{ACCOUNT}:layer:shared-{number}:{number % 7 + 1}"
        inventory.add(inventory.layers, LayerVersion(
            key=arn, id=arn, type="AWS::Lambda::LayerVersion", location=Location(arn=arn, region=region),
            name=f"shared-{number}", content=CodeLocation("live", arn), compatible_runtimes=["python3.12"],
            code_sha256=_token(random.Random(arn), 43) + "="))
        keys.append(arn)
        if number % 10 == 0:  # shared with everyone: a layer permission to "*"
            key = f"{arn}#policy/public"
            inventory.add(inventory.layer_permissions, LayerPermission(
                key=key, id=key, type="AWS::Lambda::LayerVersionPermission", location=Location(arn=arn, region=region),
                layer=ResourceRef(arn), action="lambda:GetLayerVersion", principal="*"))
    return keys


def _function(rng: random.Random, inventory: Inventory, index: int, role: Role, region: str,
              network: tuple[list[str], list[str]], layers: list[str]) -> None:
    name = f"{rng.choice(WORDS)}-{index:05d}"
    arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"
    where = Location(arn=arn, region=region)
    fn = Function(key=arn, id=arn, type="AWS::Lambda::Function", location=where, name=name, version="$LATEST",
                  role=ResourceRef(role.key, "Arn"), code=CodeLocation("live", arn),
                  code_sha256=_token(rng, 43) + "=", tags={"team": rng.choice(WORDS), "env": "prod"})
    if rng.random() < 0.05:
        fn.package_type = "Image"
        fn.code = CodeLocation("image", f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{name}:latest")
    else:
        fn.runtime, fn.handler = rng.choice(RUNTIMES), "app.handler"
    variables = dict(rng.sample(sorted(PLAIN_ENV.items()), rng.randint(1, 5)))
    if rng.random() < 0.08:
        secret_name, secret_value = _fake_secret(rng)
        variables[secret_name] = secret_value
    fn.environment = {key: EnvVar(key, value, where) for key, value in variables.items()}
    if rng.random() < 0.2:
        fn.kms_key_arn = ResourceRef(f"arn:aws:kms:{region}:{ACCOUNT}:key/env-key", "Arn")
    if rng.random() < 0.3:
        subnets, groups = network
        fn.vpc = VpcConfig([ResourceRef(s) for s in rng.sample(subnets, 2)],
                           [ResourceRef(g, "GroupId") for g in rng.sample(groups, rng.randint(1, 2))], where)
    if rng.random() < 0.35:
        fn.layers = [ResourceRef(layer) for layer in rng.sample(layers, rng.randint(1, 2))]
        if rng.random() < 0.3:
            fn.layers.append(FOREIGN_LAYER.format(region=region))
    fn.tracing_mode = "Active" if rng.random() < 0.5 else "PassThrough"
    fn.reserved_concurrency = rng.choice((None, None, None, 10, 100))
    if rng.random() < 0.1:
        fn.dead_letter_target = f"arn:aws:sqs:{region}:{ACCOUNT}:{name}-dlq"
    inventory.add(inventory.functions, fn)
    _resource_policy(rng, inventory, fn, region)
    log_group = f"arn:aws:logs:{region}:{ACCOUNT}:log-group:/aws/lambda/{name}"
    inventory.add(inventory.log_groups, LogGroup(key=log_group, id=log_group, type="AWS::Logs::LogGroup",
                                                 location=Location(arn=log_group, region=region),
                                                 name=f"/aws/lambda/{name}",
                                                 retention_days=rng.choice((None, 14, 30, 365))))


def _resource_policy(rng: random.Random, inventory: Inventory, fn: Function, region: str) -> None:
    """Resource policy statements (Permissions), the asynchronous sources they imply, and a function URL."""
    arn, where, target = fn.key, fn.location, ResourceRef(fn.key, "Arn")

    def grant(sid: str, principal: str, **conditions: Any) -> Permission:
        key = f"{arn}#policy/{sid}"
        permission = Permission(key=key, id=key, type="AWS::Lambda::Permission", location=where, function=target,
                                action="lambda:InvokeFunction", principal=principal, **conditions)
        return inventory.add(inventory.permissions, permission)

    roll = rng.random()
    if roll < 0.2:
        grant("api", "apigateway.amazonaws.com", source_arn=f"arn:aws:execute-api:{region}:{ACCOUNT}:abc123/*")
    elif roll < 0.32:
        bucket = f"arn:aws:s3:::{fn.name}-uploads"
        permission = grant("s3", "s3.amazonaws.com", source_arn=bucket, source_account=ACCOUNT)
        source = EventSource(key=f"{permission.key}#source", id=permission.key, type="AWS::Lambda::Permission",
                             location=where, function=target, kind="s3", invocation="async", source=bucket)
        inventory.add(inventory.event_sources, source)
    elif roll < 0.4:
        grant("events", "events.amazonaws.com", source_arn=f"arn:aws:events:{region}:{ACCOUNT}:rule/nightly")
    elif roll < 0.42:
        grant("public", "*")
    elif roll < 0.44:
        grant("partner", OTHER_ACCOUNT)
    if rng.random() < 0.08:
        auth = rng.choice(("NONE", "AWS_IAM"))
        key = f"{arn}#url"
        inventory.add(inventory.function_urls, FunctionUrl(key=key, id=key, type="AWS::Lambda::Url", location=where,
                                                           function=target, auth_type=auth, cors_allow_origins=["*"]))
        if auth == "NONE":
            grant("FunctionURLAllowPublicAccess", "*", function_url_auth_type="NONE")


def synthetic_inventory(functions: int, roles: int, seed: int) -> Inventory:
    """An account's inventory as a live scan reads it: ``functions`` functions share ``roles`` roles."""
    rng = random.Random(seed)
    inventory = Inventory(own_accounts={ACCOUNT})
    team_policies = [(f"arn:aws:iam::{ACCOUNT}:policy/team-{n:02d}-access",
                      _document([_statement(rng, rng.choice(REGIONS)) for _ in range(rng.randint(3, 8))]))
                     for n in range(50)]
    for index in range(roles):
        inventory.add(inventory.roles, _role(rng, index, team_policies))
    by_region = {}
    for region in REGIONS:
        by_region[region] = (_network(inventory, region), _layers(inventory, region, 40))
        inventory.scopes.append(ScannedScope(ACCOUNT, region, SERVICES_READ))
        detector = f"arn:aws:guardduty:{region}:{ACCOUNT}:detector/d-{region}"
        inventory.add(inventory.guardduty_detectors, GuardDutyDetector(
            key=detector, id=detector, type="AWS::GuardDuty::Detector", location=Location(arn=detector, region=region),
            enabled=True, features={"LAMBDA_NETWORK_LOGS": "ENABLED"}))
        trail = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/management"
        inventory.add(inventory.trails, Trail(key=trail if region == "us-east-1" else f"{trail}#{region}", id=trail,
                                              type="AWS::CloudTrail::Trail",
                                              location=Location(arn=trail, region=region), multi_region=True))
    for index in range(functions):
        region = REGIONS[index % len(REGIONS)]
        network, layers = by_region[region]
        role = inventory.roles[index % roles] if roles else Role(key="none", id="none", type="AWS::IAM::Role",
                                                                  location=Location())
        _function(rng, inventory, index, role, region, network, layers)
    return inventory


def write_inventory(path: Path, functions: int, roles: int, seed: int) -> None:
    write_snapshot(synthetic_inventory(functions, roles, seed), path,
                   meta={"created": "2026-11-29T00:00:00+00:00", "accounts": [ACCOUNT], "regions": list(REGIONS),
                         "generator": "bench/scale_bench.py"})


# ---------------------------------------------------------------- workload 1: snapshot
def snapshot_file(functions: int, roles: int) -> Path:
    """The synthetic inventory saved as a snapshot (generated once, then reused)."""
    path = WORK / f"snapshot-{functions}-{roles}.json.gz"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        # In a child process, for the reason report_counts gives (a large inventory takes gigabytes).
        subprocess.run([sys.executable, __file__, "--write-snapshot", str(functions), str(roles), str(path)],
                       check=True)
        print(f"generated {path.name} ({path.stat().st_size / 2**20:.1f} MiB gzip) in "
              f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def snapshot_runs(sizes: list[tuple[int, int]], skipped: tuple[str, ...] = ()) -> list[Run]:
    """``skipped``: rules left out (none by default: every rule runs)."""
    runs = []
    name = "snapshot" + (f", {' and '.join(skipped)} skipped" if skipped else "")
    skip = [arg for rule in skipped for arg in ("--skip-rule", rule)]
    for functions, roles in [(0, 0), *sizes]:
        path = snapshot_file(functions, roles)
        report = WORK / "report-snapshot.json"
        report.unlink(missing_ok=True)
        run = Run(name, f"{functions:,} fn / {roles:,} roles", functions,
                  lambdasec("scan", str(path), "-f", "json", "-o", str(report), "--fail-on", "none", *skip))
        runs.append(measure(run, report))
        show(run)
    return runs


# ---------------------------------------------------------------- workload 2: terraform
def terraform_corpus(blocks: int) -> tuple[Path, int]:
    """A repository of about ``blocks`` resource and data blocks: (directory, blocks as written)."""
    stacks = round(blocks / TF_BLOCKS_PER_STACK)
    path = WORK / f"tf-{stacks}"
    done = path.with_name(f"{path.name}.blocks")  # beside the repository, so the scan does not read it
    if not done.exists():
        _, written = make_tf_corpus.generate(path, stacks, TF_SEED)
        done.write_text(str(written))
    return path, int(done.read_text())


def terraform_runs(sizes: list[int], checkov: bool) -> list[Run]:
    runs = []
    for target in [0, *sizes]:
        path, blocks = terraform_corpus(target)
        report = WORK / "report-terraform.json"
        report.unlink(missing_ok=True)
        run = Run("terraform", f"{blocks:,} blocks", blocks,
                  lambdasec("scan", str(path), "-f", "json", "-o", str(report), "--fail-on", "none"))
        runs.append(measure(run, report))
        show(run)
    if checkov:
        runs.append(checkov_run(sizes[-1]))
    return runs


def checkov_run(target: int) -> Run:
    """Checkov's default terraform run on the largest repository (the venv bench/run.py made)."""
    executable = BENCH / ".work" / "checkov-venv" / "bin" / "checkov"
    path, blocks = terraform_corpus(target)
    report = WORK / "report-checkov.json"
    run = Run("terraform (checkov)", f"{blocks:,} blocks", blocks,
              ["sh", "-c", f"{executable} --framework terraform --quiet --compact -o json --skip-download "
                           f"-d {path} > {report}"])
    measure(run, WORK / "no-report")
    run.exit = 0 if run.exit == 1 else run.exit  # 1 means "failed checks found"
    show(run)
    return run


# ---------------------------------------------------------------- workload 3: detect
def detect_runs(sizes: list[int]) -> list[Run]:
    empty = WORK / "trail-empty"
    empty.mkdir(parents=True, exist_ok=True)
    runs = []
    for events in [0, *sizes]:
        corpus = empty if events == 0 else detect_bench.generate(
            events, BENCH / ".work" / "detect" / str(events))  # shared with detect_bench.py
        report = WORK / "report-detect.json"
        report.unlink(missing_ok=True)
        run = Run("detect", f"{events:,} events", events,
                  lambdasec("detect", str(corpus), "-f", "json", "-o", str(report), "--fail-on", "none"))
        runs.append(measure(run, report))
        show(run)
    return runs


# ---------------------------------------------------------------- reporting
def show(run: Run) -> None:
    print(f"  {run.workload} {run.size}: {run.wall_s} s, {run.tree_mib} MiB, exit {run.exit} {run.output}",
          file=sys.stderr, flush=True)


def verdict(ratio: float) -> str:
    low, high = NEAR_LINEAR
    if ratio < low:
        return "NOT near-linear: less"  # a fixed cost that dominates, or memory that stays bounded
    return "near-linear" if ratio <= high else "NOT near-linear: more"


def ratio_lines(runs: list[Run]) -> list[str]:
    """One line per doubling: raw ratios (flagged) and the same net of the empty run."""
    lambdasec_runs = [run for run in runs if run.exit in SCAN_OK and "checkov" not in run.workload]
    empty = next((run for run in lambdasec_runs if run.units == 0), None)
    sized = [run for run in lambdasec_runs if run.units > 0]
    lines = []
    for small, large in zip(sized, sized[1:], strict=False):
        grow = large.units / small.units
        parts = [f"input x{grow:.2f} ({small.size} -> {large.size}):"]
        for label, key in (("wall", "wall_s"), ("CPU", "cpu_s"), ("memory", "tree_mib")):
            ratio = getattr(large, key) / getattr(small, key)
            text = f"{label} x{ratio:.2f} ({verdict(ratio / grow * 2)})"
            if empty is not None:
                base = getattr(empty, key)
                net = (getattr(large, key) - base) / max(getattr(small, key) - base, 1e-9)
                text += f", net of the empty run x{net:.2f}"
            parts.append(text)
        lines.append(" ".join(parts[:1]) + " " + "; ".join(parts[1:]))
    return lines


def table(runs: list[Run]) -> str:
    rows = ["| workload | size | wall (s) | CPU (s) | ru_maxrss (MiB) | tree peak (MiB) | findings | gaps | exit | "
            "load before |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for run in runs:
        rows.append(f"| {run.workload} | {run.size} | {run.wall_s:.2f} | {run.cpu_s:.2f} | {run.maxrss_mib:.0f} | "
                    f"{run.tree_mib:.0f} | {run.output.get('findings', '-')} | {run.output.get('gaps', '-')} | "
                    f"{run.exit} | {run.load_before} |")
    return "\n".join(rows)


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), {memory:.1f} GiB RAM, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


# ---------------------------------------------------------------- main
FULL: dict[str, Any] = {"snapshot": [(5000, 1500), (10000, 3000)], "largest_snapshot": (20000, 6000),
                        "terraform": [10000, 20000], "detect": [500000, 1000000]}
QUICK: dict[str, Any] = {"snapshot": [(500, 150), (1000, 300)], "largest_snapshot": (2000, 600),
                         "terraform": [1000, 2000], "detect": [50000, 100000]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (a tenth), to check the bench")
    parser.add_argument("--only", choices=["snapshot", "terraform", "detect"], action="append")
    parser.add_argument("--largest", action="store_true", help="also the snapshot of 4x the base size")
    parser.add_argument("--checkov", action="store_true", help="Checkov on the largest Terraform repository")
    parser.add_argument("--json", type=Path, help="also write the runs here")
    parser.add_argument("--write-snapshot", nargs=3, metavar=("FUNCTIONS", "ROLES", "PATH"),
                        help="only write the synthetic snapshot of that size (the bench does it in a child)")
    args = parser.parse_args(argv)
    if args.write_snapshot:
        functions, roles, path = args.write_snapshot
        write_inventory(Path(path), int(functions), int(roles), SNAPSHOT_SEED)
        return 0
    if args.checkov and not (BENCH / ".work" / "checkov-venv" / "bin" / "checkov").exists():
        parser.error("--checkov needs bench/.work/checkov-venv (python3 bench/run_terraform.py --only checkov)")
    plan = QUICK if args.quick else FULL
    largest = [plan["largest_snapshot"]] if args.largest else []
    workloads: dict[str, Callable[[], list[Run]]] = {
        "snapshot": lambda: snapshot_runs(plan["snapshot"] + largest),
        "terraform": lambda: terraform_runs(plan["terraform"], args.checkov),
        "detect": lambda: detect_runs(plan["detect"]),
    }
    print(f"machine: {machine()}", file=sys.stderr)
    results: dict[str, list[Run]] = {}
    for name in args.only or list(workloads):
        results[name] = workloads[name]()
    print(f"Machine: {machine()}. lambdasec from {shutil.which('lambdasec') or sys.executable}.\n")
    for name, runs in results.items():
        print(f"### {name}\n\n{table(runs)}\n")
        print("\n".join(f"- {line}" for line in ratio_lines(runs)) + "\n")
    if args.json:
        args.json.write_text(json.dumps({name: [asdict(run) for run in runs] for name, runs in results.items()},
                                        indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
