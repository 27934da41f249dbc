#!/usr/bin/env python3
"""Benchmark the live scan against an emulated account: N functions seeded in moto's standalone server.

    python3 bench/live_bench.py                 # 2,000 functions, lambdasec and Prowler, 1 timed run each
    python3 bench/live_bench.py -n 500 --only lambdasec
    python3 bench/live_bench.py --only lambdasec --alias-policies   # + an alias on every 3rd function
    python3 bench/live_bench.py --only lambdasec --skip-event-invoke-configs   # + a run with that option

What it does:
1. starts moto's standalone server (``python3 -m moto.server``, the pinned test dependency) on 127.0.0.1 in its
   own process, so its CPU is not counted as the scanner's;
2. seeds one region with N functions the way a real account looks: 1 role per 10 functions, every 4th function
   with a resource policy, every 10th with a public function URL, a layer used by every 5th, SQS event source
   mappings for every 20th, environment variables on all;
3. runs ``lambdasec scan --aws --region us-east-1 --stats -f json`` and, side by side, Prowler's Lambda checks
   (``prowler aws --service awslambda``, installed by this script in bench/.work/prowler-venv) against the same
   emulator (``AWS_ENDPOINT_URL``), --repeat timed runs each, and reports wall time, CPU and peak memory
   (``os.wait4``) and the requests the EMULATOR received during each run (its request log), Lambda's split by
   quota bucket: what each tool would spend of a real account's throttling budget.

moto answers every call in Python on the same 2 CPUs: the wall time is dominated by the emulator, so it says
little about a real account (where AWS's quotas, not CPU, bound the scan); the call counts are what transfers.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
WORK = BENCH / ".work" / "live"
REGION = "us-east-1"
ACCOUNT = "123456789012"


PROWLER_VENV = BENCH / ".work" / "prowler-venv"
PROWLER_VERSION = "5.46.0"  # the version installed when the benchmark was written; bump deliberately
LAMBDA_PATH = re.compile(r'"(GET|POST|PUT|DELETE) (/20\d\d-\d\d-\d\d/[^ ?"]*)')


def ensure_prowler() -> Path:
    prowler = PROWLER_VENV / "bin" / "prowler"
    if not prowler.exists():
        print(f"installing prowler=={PROWLER_VERSION} into {PROWLER_VENV} (takes minutes)...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(PROWLER_VENV)], check=True)
        subprocess.run([str(PROWLER_VENV / "bin" / "pip"), "install", "-q", f"prowler=={PROWLER_VERSION}"],
                       check=True)
    return prowler


def emulator_requests(log: Path, start: int) -> tuple[int, dict[str, int]]:
    """Requests the emulator logged after byte ``start``: the total, and Lambda's by quota bucket."""
    total, buckets = 0, {"lambda": 0, "lambda:GetFunction": 0, "lambda:GetPolicy": 0}
    with log.open("rb") as handle:
        handle.seek(start)
        for line in handle.read().decode("utf-8", "replace").splitlines():
            if '" 2' not in line and '" 4' not in line and '" 5' not in line:
                continue  # not a request line
            if "/moto-api/" in line:
                continue
            total += 1
            found = LAMBDA_PATH.search(line)
            if found is None:
                continue
            method, path = found.groups()
            parts = path.strip("/").split("/")  # 2015-03-31, functions, NAME, [policy]
            if method == "GET" and len(parts) == 3 and parts[1] == "functions":
                buckets["lambda:GetFunction"] += 1
            elif method == "GET" and len(parts) == 4 and parts[1] == "functions" and parts[3] == "policy":
                buckets["lambda:GetPolicy"] += 1
            else:
                buckets["lambda"] += 1
    return total, buckets


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_emulator(port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:  # the child keeps its own handle
        process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                   stdout=subprocess.DEVNULL, stderr=sink)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1).close()  # noqa: S310
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("moto server did not start")


def code_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "import boto3\n\ndef handler(event, context):\n"
                                   "    return boto3.client('s3').list_buckets()\n")
    return buffer.getvalue()


def seed(endpoint: str, count: int, aliases: bool = False) -> None:
    import boto3

    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=REGION)
    iam = session.client("iam", endpoint_url=endpoint)
    lam = session.client("lambda", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    roles = []
    for i in range((count + 9) // 10):
        arn = iam.create_role(RoleName=f"fn-role-{i}", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        statement = {"Effect": "Allow", "Action": ["s3:*", "logs:*"], "Resource": "*"}
        iam.put_role_policy(RoleName=f"fn-role-{i}", PolicyName="app",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
        roles.append(arn)
    layer = lam.publish_layer_version(LayerName="shared", Content={"ZipFile": code_zip()},
                                      CompatibleRuntimes=["python3.12"])["LayerVersionArn"]
    queue = sqs.create_queue(QueueName="orders")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    package = code_zip()
    for i in range(count):
        name = f"fn-{i:05d}"
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=roles[i // 10], Handler="app.handler",
                            Code={"ZipFile": package}, Layers=[layer] if i % 5 == 0 else [],
                            Environment={"Variables": {"STAGE": "prod", "TABLE": f"table-{i}"}})
        if i % 4 == 0:
            lam.add_permission(FunctionName=name, StatementId="s3", Action="lambda:InvokeFunction",
                               Principal="s3.amazonaws.com", SourceArn=f"arn:aws:s3:::bucket-{i}")
        if i % 10 == 0:
            lam.create_function_url_config(FunctionName=name, AuthType="NONE")
        if i % 20 == 0:
            lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=name)
        if aliases and i % 3 == 0:  # --alias-policies: a published version behind an alias "live"
            version = lam.publish_version(FunctionName=name)["Version"]
            lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)


def lambdasec_command(output: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "lambdasec", "scan", "--aws", "--region", REGION, "--stats", "-f", "json",
            "-o", str(output), "--fail-on", "none", *extra]


def prowler_command(prowler: Path, output: Path) -> list[str]:
    return [str(prowler), "aws", "--service", "awslambda", "--region", REGION, "--output-formats", "json-ocsf",
            "--output-directory", str(output), "--no-banner"]


def run_tool(endpoint: str, command: list[str]) -> tuple[float, float, float, int]:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
    env.pop("AWS_PROFILE", None)
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--functions", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--only", choices=["lambdasec", "prowler"])
    parser.add_argument("--alias-policies", action="store_true",
                        help="also seed an alias on every 3rd function and run lambdasec --alias-policies")
    parser.add_argument("--skip-event-invoke-configs", action="store_true",
                        help="also run lambdasec --skip-event-invoke-configs (one shared-bucket call per function)")
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    tools = {"lambdasec": lambdasec_command(WORK / "lambdasec.json")}
    if args.alias_policies:
        tools["lambdasec --alias-policies"] = lambdasec_command(WORK / "lambdasec-aliases.json", "--alias-policies")
    if args.skip_event_invoke_configs:
        tools["lambdasec --skip-event-invoke-configs"] = lambdasec_command(WORK / "lambdasec-skip.json",
                                                                           "--skip-event-invoke-configs")
    if args.only != "lambdasec":
        tools["prowler"] = prowler_command(ensure_prowler(), WORK / "prowler")
    if args.only == "prowler":
        tools = {"prowler": tools["prowler"]}
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = WORK / "emulator.log"
    emulator = start_emulator(port, log)
    rows = []
    try:
        started = time.perf_counter()
        seed(endpoint, args.functions, aliases=args.alias_policies)
        print(f"seeded {args.functions} functions in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        for name, command in tools.items():
            samples, requests = [], []
            for run in range(args.repeat):
                offset = log.stat().st_size
                samples.append(run_tool(endpoint, command))
                requests.append(emulator_requests(log, offset))
                print(f"{name} run {run + 1}/{args.repeat}: {samples[-1][0]:.1f} s wall, exit {samples[-1][3]}, "
                      f"{requests[-1][0]} requests", file=sys.stderr)
            rows.append((name, samples, requests[-1]))
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    n = args.functions
    print(f"{n} functions in one region of an emulated account (moto {_moto_version()}); command: "
          f"`python3 bench/live_bench.py -n {n} --repeat {args.repeat}"
          f"{' --only ' + args.only if args.only else ''}{' --alias-policies' if args.alias_policies else ''}"
          f"{' --skip-event-invoke-configs' if args.skip_event_invoke_configs else ''}`\n")
    print("| tool | median wall (s) | median CPU (s) | peak RSS (MiB) | requests | Lambda shared bucket per function "
          "| GetFunction per function | GetPolicy per function |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, samples, (total, buckets) in rows:
        print(f"| {name} | {statistics.median(s[0] for s in samples):.1f} | "
              f"{statistics.median(s[1] for s in samples):.1f} | {statistics.median(s[2] for s in samples):.0f} | "
              f"{total} | {buckets['lambda'] / n:.2f} | {buckets['lambda:GetFunction'] / n:.2f} | "
              f"{buckets['lambda:GetPolicy'] / n:.2f} |")
    outputs = {"lambdasec": "lambdasec.json", "lambdasec --alias-policies": "lambdasec-aliases.json",
               "lambdasec --skip-event-invoke-configs": "lambdasec-skip.json"}
    for name in tools:
        if name in outputs:
            report = json.loads((WORK / outputs[name]).read_text())
            res001 = [n for n in report["not_evaluated"] if n["rule_id"] == "RES001"]
            print(f"\n{name}: {len(report['findings'])} findings, {len(report['coverage_gaps'])} coverage gaps, "
                  f"{len(res001)} RES001 not evaluated; its own --stats by quota bucket: "
                  f"{report.get('stats', {}).get('by_quota_bucket')}")
    return 0


def _moto_version() -> str:
    from importlib.metadata import version

    return version("moto")


if __name__ == "__main__":
    raise SystemExit(main())
