"""The same seven functions written in every format lambdasec reads must get the same findings.

tests/data/cross_format/ describes one small application five times: cloudformation.yaml,
sam/template.yaml, terraform/main.tf, plan/plan.json (Terraform's own plan of main.tf) and
serverless/serverless.yml. Functions have the same logical names everywhere (CloudFormation logical id
`PublicUrl`, Terraform resource name `public_url`, serverless key `publicUrl`), normalised below:

  PublicUrl          (a) function URL with AuthType NONE (and the public permission it needs)
  Admin              (b) execution role with AdministratorAccess
  PlaintextSecret    (c) GitHub token in plain text in an environment variable
  Unsigned           (d) defaults only: no code signing (every function but Clean lacks it)
  DeprecatedRuntime  (e) python3.8
  OpenEgress         (f) in a VPC, security group allowing all egress
  Clean              (g) code signing Enforce with a publisher, KMS key, active tracing, reserved
                         concurrency, DLQ, two subnets in two AZs, HTTPS-only egress, least-privilege role

The functions other than Clean keep every default, so the default-based rules (INT001, OBS001, RES002,
NET001) flag all six of them; IAM005 flags the role they share. Only five of them share it: Admin and Clean
have their own.

Semantic differences between the formats, deliberately kept out of the data (so none is excluded below):
* A security group that declares no egress rule allows everything in CloudFormation (AWS's default rule)
  and nothing in Terraform (the AWS provider revokes the default rule): both groups here declare egress.
* Terraform's AWS provider 5.100 cannot write the second public statement a function URL needs since
  October 2025 (`InvokedViaFunctionUrl`); CloudFormation, SAM and the Framework write both. Both statements
  give the same (EXP003, PublicUrl) pair.
* The Framework creates a log group per function (OBS002 looks at log groups; `logRetentionInDays` is set)
  and has no setting for code signing: Clean gets its configuration through `resources.extensions`.

plan/plan.json was written by Terraform 1.11.4 with the AWS provider 5.100.0 from a local plugin
directory, dummy credentials, no refresh and no network (the provider never calls AWS for a create-only
plan). From the repository root:

    work=$(mktemp -d) && cp tests/data/cross_format/terraform/main.tf "$work"/
    export TF_CLI_CONFIG_FILE=/dev/null AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x
    terraform -chdir="$work" init -input=false -plugin-dir=/opt/tf-plugins
    terraform -chdir="$work" plan -input=false -refresh=false -lock=false -out=tfplan
    terraform -chdir="$work" show -json tfplan > tests/data/cross_format/plan/plan.json

Every value of the plan is known at plan time (environment values are literals, policies are jsonencode
of literals), so the plan shows the environment variables: a plan whose environment map holds a value
known only after apply hides the whole map (see test_terraform_plan.test_real_plan_basic), which would be a
documented coverage gap here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import lambdasec
from lambdasec.collectors.discovery import collect
from lambdasec.collectors.options import CollectOptions
from lambdasec.model.findings import Report
from lambdasec.model.inventory import CodeSigningConfig, Inventory, KmsKey, SecurityGroup, Subnet
from lambdasec.model.values import ResourceRef

from .conftest import FIXTURE_CLOCK

DATA = Path(__file__).parent / "data" / "cross_format"
FORMATS = {
    "cloudformation": DATA / "cloudformation.yaml",
    "sam": DATA / "sam" / "template.yaml",
    "terraform": DATA / "terraform",
    "plan": DATA / "plan" / "plan.json",
    "serverless": DATA / "serverless" / "serverless.yml",
}
FUNCTIONS = ("PublicUrl", "Admin", "PlaintextSecret", "Unsigned", "DeprecatedRuntime", "OpenEgress", "Clean")
DEFAULTED = ("PublicUrl", "Admin", "PlaintextSecret", "Unsigned", "DeprecatedRuntime", "OpenEgress")
SHARING_A_ROLE = ("PublicUrl", "PlaintextSecret", "Unsigned", "DeprecatedRuntime", "OpenEgress")

# The rules compared, each applying identically to every format.
RULES = ("EXP001", "EXP003", "IAM001", "IAM005", "SEC001", "ENC001", "INT001", "RUN001", "NET001", "NET003",
         "OBS001", "RES002")

EXPECTED: set[tuple[str, str]] = {
    ("EXP001", "PublicUrl"),
    ("EXP003", "PublicUrl"),
    ("IAM001", "Admin"),
    *(("IAM005", name) for name in SHARING_A_ROLE),
    ("SEC001", "PlaintextSecret"),
    ("ENC001", "PlaintextSecret"),
    *(("INT001", name) for name in DEFAULTED),
    ("RUN001", "DeprecatedRuntime"),
    *(("NET001", name) for name in DEFAULTED if name != "OpenEgress"),
    ("NET003", "OpenEgress"),
    *(("OBS001", name) for name in DEFAULTED),
    *(("RES002", name) for name in DEFAULTED),
}

# (format, rule, function) pairs where a format legitimately differs from CloudFormation: none today.
EXCLUDED: set[tuple[str, str, str]] = set()
# (format, coverage gap kind) that a format cannot avoid for this application: none today.
KNOWN_GAPS: dict[str, list[str]] = {}

# Assembled here so that this file holds no token-shaped literal; the data files do.
TOKEN = "ghp_" + "LambdasecCrossFormat" + "FakeToken0000001"

_NAMES = {name.lower(): name for name in FUNCTIONS}


def function_name(resource_id: str) -> str:
    """`PublicUrl`, `aws_lambda_function.public_url`, `publicUrl` -> `PublicUrl`."""
    own = resource_id.rsplit(".", 1)[-1]
    return _NAMES[re.sub(r"[^a-z0-9]", "", own.lower())]


def scan(fmt: str, rules: tuple[str, ...] = ()) -> Report:
    return lambdasec.scan_paths([FORMATS[fmt]], rules=rules, now=FIXTURE_CLOCK)


def pairs(report: Report) -> set[tuple[str, str]]:
    """(rule, function) for every function a finding reaches (a shared role's finding reaches several)."""
    found = set()
    for finding in report.findings:
        assert finding.functions, f"{finding.rule_id} {finding.resource_id} reaches no function"
        found.update((finding.rule_id, function_name(fn)) for fn in finding.functions)
    return found


def inventory_of(fmt: str) -> Inventory:
    inventory, _ = collect([FORMATS[fmt]], CollectOptions())
    return inventory


@pytest.mark.parametrize("fmt", FORMATS)
def test_chosen_rules_give_the_expected_pairs(fmt: str) -> None:
    excluded = {(rule, name) for where, rule, name in EXCLUDED if where == fmt}
    assert pairs(scan(fmt, RULES)) - excluded == EXPECTED - excluded


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "cloudformation"])
def test_every_rule_agrees_with_cloudformation(fmt: str) -> None:
    excluded = {(rule, name) for where, rule, name in EXCLUDED if where == fmt}
    reference = pairs(scan("cloudformation"))
    assert pairs(scan(fmt)) - excluded == reference - excluded


def test_no_rule_outside_the_chosen_ones_fires() -> None:
    assert {rule for rule, _ in pairs(scan("cloudformation"))} == set(RULES)


@pytest.mark.parametrize("fmt", FORMATS)
def test_clean_function_has_no_finding(fmt: str) -> None:
    report = scan(fmt)
    assert [(f.rule_id, f.resource_id) for f in report.findings if "Clean" in map(function_name, f.functions)] == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_nothing_is_left_unevaluated(fmt: str) -> None:
    report = scan(fmt)
    assert [g.kind for g in report.coverage_gaps] == KNOWN_GAPS.get(fmt, [])
    # IAM017 compares each role with its functions' code, which this data does not ship: it says so, role by role.
    # SEC003 likewise says, function by function, that their code (in S3 here) could not be searched for secrets.
    assert [n for n in report.not_evaluated if n.rule_id not in ("IAM017", "SEC003")] == []
    assert all("is not available" in n.reason for n in report.not_evaluated)


@pytest.mark.parametrize("fmt", FORMATS)
def test_clean_function_is_clean_for_the_right_reasons(fmt: str) -> None:
    """No finding could also mean a setting was lost: check that each one reached the inventory."""
    inventory = inventory_of(fmt)
    (clean,) = [fn for fn in inventory.functions if function_name(fn.id) == "Clean"]
    signing = inventory.get(clean.code_signing_config)
    assert isinstance(signing, CodeSigningConfig)
    assert signing.untrusted_artifact_on_deployment == "Enforce"
    assert [type(p).__name__ for p in signing.allowed_publishers] == ["ResourceRef"]
    assert isinstance(inventory.get(clean.kms_key_arn), KmsKey)
    assert (clean.runtime, clean.tracing_mode, clean.reserved_concurrency) == ("python3.13", "Active", 10)
    assert isinstance(clean.dead_letter_target, ResourceRef)
    assert {name: var.value for name, var in clean.environment.items()} == {"LOG_LEVEL": "info"}
    assert clean.vpc is not None and isinstance(clean.vpc.subnet_ids, list)
    subnets = [inventory.get(s) for s in clean.vpc.subnet_ids]
    assert sorted(s.availability_zone for s in subnets if isinstance(s, Subnet)) == ["eu-west-1a", "eu-west-1b"]
    assert isinstance(clean.vpc.security_group_ids, list)
    (group,) = [inventory.get(g) for g in clean.vpc.security_group_ids]
    assert isinstance(group, SecurityGroup) and group.egress is not None
    assert [(r.protocol, r.from_port, r.to_port, r.cidr_ipv4) for r in group.egress] == [
        ("tcp", 443, 443, "10.0.0.0/16")]
    role = inventory.role_of(clean)
    assert role is not None
    assert sorted((p.kind, p.name) for p in role.policies) == [
        ("aws-managed", "AWSLambdaVPCAccessExecutionRole"), ("inline", "clean")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_secret_found_but_never_shown(fmt: str) -> None:
    report = scan(fmt, ("SEC001",))
    (finding,) = report.findings
    assert (function_name(finding.resource_id), finding.evidence["kind"], finding.evidence["variable"]) == (
        "PlaintextSecret", "github-token", "GITHUB_TOKEN")
    dumped = json.dumps([(f.message, f.evidence) for f in report.findings], default=str)
    assert TOKEN not in dumped and TOKEN[:12] not in dumped


def test_plan_matches_the_configuration() -> None:
    """The committed plan is Terraform's plan of main.tf as it is now: same resources, written by Terraform."""
    document: dict[str, Any] = json.loads(FORMATS["plan"].read_text(encoding="utf-8"))
    assert (document["format_version"], document["terraform_version"]) == ("1.2", "1.11.4")
    assert document["errored"] is False and document["complete"] is True
    assert ids(inventory_of("plan")) == ids(inventory_of("terraform"))


def ids(inventory: Inventory) -> dict[str, list[str]]:
    buckets = ("functions", "roles", "permissions", "function_urls", "code_signing_configs", "subnets",
               "security_groups", "kms_keys")
    return {bucket: sorted(r.id for r in getattr(inventory, bucket)) for bucket in buckets}
