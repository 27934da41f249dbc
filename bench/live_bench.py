#!/usr/bin/env python3
"""Benchmark the live scan against an emulated account: N functions seeded in moto's standalone server.

    python3 bench/live_bench.py                 # 2,000 functions, 3 timed runs
    python3 bench/live_bench.py -n 500 --repeat 1

What it does:
1. starts moto's standalone server (``python3 -m moto.server``, the pinned test dependency) on 127.0.0.1 in its
   own process, so its CPU is not counted as the scanner's;
2. seeds one region with N functions the way a real account looks: 1 role per 10 functions, every 4th function
   with a resource policy, every 10th with a public function URL, a layer used by every 5th, SQS event source
   mappings for every 20th, environment variables on all;
3. runs ``lambdasec scan --aws --region us-east-1 --stats -f json`` (one untimed warm-up, then --repeat timed
   runs) with ``AWS_ENDPOINT_URL`` pointing at the emulator, and reports wall time, CPU, peak memory (``os.wait4``)
   and the calls per function by Lambda quota bucket read from the report's ``stats``.

moto answers every call in Python on the same 2 CPUs: the wall time is dominated by the emulator, so it says
little about a real account (where AWS's quotas, not CPU, bound the scan); the call counts are what transfers.
"""

from __future__ import annotations

import argparse
import io
import json
import os
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_emulator(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


def seed(endpoint: str, count: int) -> None:
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


def run_scan(endpoint: str, output: Path) -> tuple[float, float, float, int]:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
    env.pop("AWS_PROFILE", None)
    command = [sys.executable, "-m", "lambdasec", "scan", "--aws", "--region", REGION, "--stats", "-f", "json",
               "-o", str(output), "--fail-on", "none"]
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--functions", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    emulator = start_emulator(port)
    try:
        started = time.perf_counter()
        seed(endpoint, args.functions)
        print(f"seeded {args.functions} functions in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        report_path = WORK / "report.json"
        warm = run_scan(endpoint, report_path)
        print(f"warm-up: {warm[0]:.2f} s wall, exit {warm[3]}", file=sys.stderr)
        samples = []
        for run in range(args.repeat):
            samples.append(run_scan(endpoint, report_path))
            print(f"run {run + 1}/{args.repeat}: {samples[-1][0]:.2f} s wall", file=sys.stderr)
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    report = json.loads(report_path.read_text())
    stats = report.get("stats", {})
    buckets = stats.get("by_quota_bucket", {})
    functions = args.functions
    print("| functions | median wall (s) | min-max wall (s) | median CPU (s) | peak RSS (MiB) | findings | gaps |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    walls = [s[0] for s in samples]
    print(f"| {functions} | {statistics.median(walls):.2f} | {min(walls):.2f}-{max(walls):.2f} | "
          f"{statistics.median(s[1] for s in samples):.2f} | {statistics.median(s[2] for s in samples):.0f} | "
          f"{len(report['findings'])} | {len(report['coverage_gaps'])} |")
    print()
    print("| quota bucket | calls | per function |")
    print("|---|---:|---:|")
    for bucket, calls in sorted(buckets.items()):
        print(f"| {bucket} | {calls} | {calls / functions:.3f} |")
    print(f"\ntotal calls: {stats.get('total')}; exit code of the last run: {samples[-1][3]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
