#!/usr/bin/env python3
"""Benchmark ``lambdasec detect`` on a generated CloudTrail corpus, against the bound of reading the same files.

    python3 bench/detect_bench.py                       # 1,000,000 events; bound, DuckDB and Spark local
    python3 bench/detect_bench.py -n 200000 --only duckdb

What it does:
1. writes N CloudTrail events (default one million) as an S3 export would: ``AWSLogs/<account>/CloudTrail/
   <region>/YYYY/MM/DD/*.json.gz``, 2,000 records per file, in bench/.work/detect/<N>/ (kept between runs; the
   mix: function invocations and calls made with Lambda sessions, deployments through CloudFormation, engineers'
   reads, and one attack of each Lambda kind every 100,000 events);
2. runs, each in its own process, timed with ``os.wait4`` (wall; CPU of the process and the children it waited
   for, which leaves out Spark's JVM) and peak memory of the whole process tree sampled every 0.2 s from /proc:
   - bound: gzip-decompress every file and ``json.loads`` it, nothing else (what any Python reader pays);
   - duckdb: ``lambdasec detect <corpus> -f json`` with the default engine (every detection, report written);
   - spark: the same with ``--engine spark`` on ``local[*]`` (JVM start-up included);
3. prints events per second for each and the share of the bound's rate, as a Markdown table (and JSON with
   --json FILE).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ACCOUNT = "111122223333"
REGION = "us-east-1"
PER_FILE = 2000
START = datetime(2026, 3, 1, tzinfo=timezone.utc)

BOUND = """
import gzip, json, sys
from pathlib import Path
count = 0
for path in sorted(Path(sys.argv[1]).rglob("*.json.gz")):
    with gzip.open(path, "rb") as handle:
        count += len(json.loads(handle.read())["Records"])
print(count)
"""


def _identity(rng: random.Random, kind: str) -> tuple[dict[str, Any], str, str]:
    """(userIdentity, sourceIPAddress, userAgent) of one of the corpus's actors."""
    if kind == "lambda":
        fn = f"fn-{rng.randrange(200)}"
        return ({"type": "AssumedRole", "principalId": f"AROAEXAMPLE:{fn}",
                 "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{fn}-role/{fn}", "accountId": ACCOUNT,
                 "accessKeyId": f"ASIA{rng.randrange(10**12):012d}",
                 "sessionContext": {"sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{ACCOUNT}:role/{fn}-role",
                                                      "accountId": ACCOUNT, "userName": f"{fn}-role"}},
                 "inScopeOf": {"issuerType": "AWS::Lambda::Function",
                               "sourceArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{fn}"}},
                f"3.80.{rng.randrange(256)}.{rng.randrange(256)}",
                "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux lang/python#3.12 exec-env/AWS_Lambda_python3.12")
    if kind == "ci":
        return ({"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-deploy/GitHubActions",
                 "accountId": ACCOUNT, "accessKeyId": "ASIACIEXAMPLE0000001",
                 "invokedBy": "cloudformation.amazonaws.com"},
                "cloudformation.amazonaws.com", "cloudformation.amazonaws.com")
    return ({"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Engineer/dev{rng.randrange(20)}",
             "accountId": ACCOUNT, "accessKeyId": f"ASIAENG{rng.randrange(10**9):09d}"},
            f"198.51.100.{rng.randrange(256)}", "aws-cli/2.15.0 Python/3.11.6 Linux/6.5 exe/x86_64.ubuntu.22")


def _event(rng: random.Random, index: int) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.55:
        kind, source, name, params = "lambda", "s3.amazonaws.com", "GetObject", {
            "bucketName": "orders", "key": f"o/{rng.randrange(10**6)}.json"}
    elif roll < 0.80:
        kind, source, name, params = "lambda", "dynamodb.amazonaws.com", "PutItem", {"tableName": "orders"}
    elif roll < 0.95:
        kind, source, name, params = "engineer", "lambda.amazonaws.com", "GetFunction20150331v2", {
            "functionName": f"fn-{rng.randrange(200)}"}
    else:
        kind, source, name, params = "ci", "lambda.amazonaws.com", "UpdateFunctionCode20150331v2", {
            "functionName": f"fn-{rng.randrange(200)}", "publish": True}
    if index % 100_000 == 50_000:  # one attack of each kind in turn
        kind, source, name, params = "engineer", "lambda.amazonaws.com", "AddPermission20150331v2", {
            "functionName": f"fn-{rng.randrange(200)}", "principal": "*", "action": "lambda:InvokeFunction",
            "statementId": "backdoor"}
    identity, address, agent = _identity(rng, kind)
    return {"eventVersion": "1.09", "userIdentity": identity,
            "eventTime": (START + timedelta(milliseconds=index * 50)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": source, "eventName": name, "awsRegion": REGION, "sourceIPAddress": address,
            "userAgent": agent, "requestParameters": params, "responseElements": None,
            "requestID": str(uuid.UUID(int=rng.getrandbits(128))), "eventID": str(uuid.UUID(int=index + 1)),
            "readOnly": name.startswith(("Get", "List")), "eventType": "AwsApiCall", "managementEvent": True,
            "recipientAccountId": ACCOUNT, "eventCategory": "Management"}


def generate(count: int, root: Path) -> Path:
    done = root.with_name(f"{root.name}.complete")  # beside the corpus: it is no log
    if done.exists():
        return root
    rng = random.Random(20261129)
    for first in range(0, count, PER_FILE):
        when = START + timedelta(milliseconds=first * 50)
        folder = root / "AWSLogs" / ACCOUNT / "CloudTrail" / REGION / when.strftime("%Y/%m/%d")
        folder.mkdir(parents=True, exist_ok=True)
        records = [_event(rng, i) for i in range(first, min(first + PER_FILE, count))]
        name = f"{ACCOUNT}_CloudTrail_{REGION}_{when.strftime('%Y%m%dT%H%MZ')}_{first:09d}.json.gz"
        with gzip.open(folder / name, "wt", compresslevel=6) as out:
            json.dump({"Records": records}, out)
    done.write_text(str(count))
    return root


def _tree_rss(root: int) -> int:
    """Resident bytes of a process and all its descendants (Spark's JVM is a child that is never waited for,
    so wait4's peak would miss it)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack += children.get(pid, [])
    return total


def timed(command: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    peak, result = 0, None
    while result is None or result[0] == 0:
        peak = max(peak, _tree_rss(process.pid))
        time.sleep(0.2)
        result = os.wait4(process.pid, os.WNOHANG)
    _, status, usage = result
    wall = time.perf_counter() - start
    err = process.stderr.read().decode() if process.stderr else ""
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_mib": round(max(peak, usage.ru_maxrss * 1024) / 2**20), "exit": os.waitstatus_to_exitcode(status),
            "stderr": err[-2000:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--events", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["bound", "duckdb", "spark"], action="append")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    corpus = generate(args.events, BENCH / ".work" / "detect" / str(args.events))
    size = sum(p.stat().st_size for p in corpus.rglob("*.json.gz"))
    wanted = args.only or ["bound", "duckdb", "spark"]
    report = BENCH / ".work" / "detect" / "report.json"
    runs: dict[str, dict[str, Any]] = {}
    for name in wanted:
        if name == "bound":
            runs[name] = timed([sys.executable, "-c", BOUND, str(corpus)])
        else:
            runs[name] = timed([sys.executable, "-m", "lambdasec", "detect", str(corpus), "--engine", name,
                                "-f", "json", "-o", str(report), "--fail-on", "none"])
            if runs[name]["exit"] == 0:
                found = json.loads(report.read_text())
                runs[name]["alerts"] = len(found["findings"])
        runs[name]["events_per_s"] = round(args.events / runs[name]["wall_s"])
    bound_rate = runs.get("bound", {}).get("events_per_s")
    print(f"{args.events:,} events in {sum(1 for _ in corpus.rglob('*.json.gz'))} files, "
          f"{size / 2**20:.0f} MiB gzip; {os.cpu_count()} CPUs")
    print("| run | wall s | CPU s | peak MiB | events/s | share of bound | alerts | exit |")
    print("|---|---|---|---|---|---|---|---|")
    for name, run in runs.items():
        share = f"{run['events_per_s'] / bound_rate:.0%}" if bound_rate else "-"
        print(f"| {name} | {run['wall_s']} | {run['cpu_s']} | {run['peak_mib']} | {run['events_per_s']:,} | "
              f"{share} | {run.get('alerts', '-')} | {run['exit']} |")
        if run["exit"] not in (0,):
            print(run["stderr"], file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps({k: {x: y for x, y in v.items() if x != "stderr"}
                                         for k, v in runs.items()}, indent=2))


if __name__ == "__main__":
    main()
