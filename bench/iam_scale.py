"""Time the IAM analysis of execution roles with hundreds of policy statements.

Generates one CloudFormation template per size (one function, one role whose inline policies hold N
statements: exact actions, service and verb wildcards, NotAction, NotResource, conditions and Denies, on
ARNs and on "*"), then measures, in this process and after one warm-up:
  - effective permissions of the role (iam/effective.py, computed without its per-role cache),
  - all identity rules on the inventory (the IAM rules of `lambdasec scan`),
  - and a whole `lambdasec scan` of the template in a fresh process (wall time).

    python3 bench/iam_scale.py                 # sizes 100 300 1000
    python3 bench/iam_scale.py --sizes 500
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SERVICES = ["s3", "dynamodb", "sqs", "sns", "lambda", "iam", "kms", "secretsmanager", "ssm", "ec2", "logs",
            "events", "states", "kinesis", "cloudformation", "sts", "ecr", "rds", "glue", "athena"]
VERBS = ["Get", "List", "Put", "Delete", "Describe", "Create", "Update", "Tag", "Batch", "Send", "Receive"]


def statement(rng: random.Random, index: int) -> dict[str, Any]:
    service = rng.choice(SERVICES)
    kind = rng.random()
    if kind < 0.45:
        action: Any = [f"{service}:{rng.choice(VERBS)}{rng.choice(['Object', 'Item', 'Queue', 'Function', 'Key'])}"
                       for _ in range(rng.randint(1, 6))]
    elif kind < 0.75:
        action = f"{service}:{rng.choice(VERBS)}*"
    elif kind < 0.85:
        action = f"{service}:*"
    else:
        action = [f"{rng.choice(SERVICES)}:?et*", f"{service}:List*"]
    resource: Any = "*" if rng.random() < 0.4 else f"arn:aws:{service}:us-east-1:123456789012:thing/{index}-*"
    deny = rng.random() < 0.08
    out: dict[str, Any] = {"Sid": f"S{index}", "Effect": "Deny" if deny else "Allow"}
    if deny:  # Denies as people write them: named actions; a NotAction Deny on "*" would deny everything
        out["Action"] = [f"{service}:Delete{rng.choice(['Object', 'Item', 'Queue', 'Function', 'Key'])}"]
    elif rng.random() < 0.05:
        out["NotAction"] = action
    else:
        out["Action"] = action
    if not deny and rng.random() < 0.05:
        out["NotResource"] = resource
    else:
        out["Resource"] = resource
    if rng.random() < 0.15:
        out["Condition"] = {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
    return out


def template(size: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    statements = [statement(rng, i) for i in range(size)]
    policies = [{"PolicyName": f"p{i // 50}", "PolicyDocument": {"Version": "2012-10-17",
                                                                 "Statement": statements[i:i + 50]}}
                for i in range(0, size, 50)]
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "ManagedPolicyArns": ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
            "Policies": policies}},
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.12", "Handler": "app.handler", "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": "def handler(event, context):\n    return 1\n"}}}}}


def median_seconds(action: Any, repeat: int) -> float:
    action()  # warm-up: the catalogue and compiled patterns are loaded once per process
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def measure(size: int, seed: int, repeat: int, work: Path) -> dict[str, Any]:
    from lambdasec.collectors.discovery import collect
    from lambdasec.collectors.options import CollectOptions
    from lambdasec.engine import ScanSettings, evaluate
    from lambdasec.iam.effective import compute_effective_permissions
    from lambdasec.rules.registry import all_rules

    path = work / f"role-{size}.json"
    path.write_text(json.dumps(template(size, seed), indent=1))
    inventory, scanned = collect([path], CollectOptions())
    role = inventory.roles[0]
    identity = [rule for rule in all_rules() if rule.category == "identity"]
    grants = len(compute_effective_permissions(role, inventory).grants)
    effective = median_seconds(lambda: compute_effective_permissions(role, inventory), repeat)  # uncached
    rules = median_seconds(lambda: evaluate(inventory, identity, ScanSettings(), scanned_files=scanned), repeat)
    walls = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "lambdasec", "scan", str(path), "-f", "json", "-o", "/dev/null",
                        "--fail-on", "none"], check=True)
        walls.append(time.perf_counter() - start)
    return {"statements": size, "grants": grants, "effective_s": effective, "identity_rules_s": rules,
            "scan_wall_s": statistics.median(walls)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(size, args.seed, args.repeat, Path(tmp)) for size in args.sizes]
    print("| statements | effective grants | effective permissions (s) | identity rules (s) "
          "| `lambdasec scan` wall (s) |")
    print("|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['statements']} | {row['grants']} | {row['effective_s']:.3f} | {row['identity_rules_s']:.3f} "
              f"| {row['scan_wall_s']:.3f} |")


if __name__ == "__main__":
    main()
