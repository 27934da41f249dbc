"""Time `lambdasec policy` on function packages with thousands of Python (and JavaScript) files.

Generates, in a temporary directory, a deployment package shaped like real ones:
  - the function's own code: a handler importing a tree of application modules; one module in ten uses boto3
    (clients at module level, helpers taking clients as parameters and returning resources, f-string keys),
    the others are plain Python (models, formatting);
  - dependencies installed with ``pip install -t`` (a ``*.dist-info/RECORD`` next to each): thousands of files,
    some of which call boto3 themselves, which the analysis must skip.
It then measures, after one warm-up in this process, the analysis of one function (code analysis and the
policy it needs), and a whole `lambdasec policy` in a fresh process (wall time, start-up included). A second
"worst case" package makes every application module use boto3, so every one of them is parsed and interpreted.

    python3 bench/policy_scale.py                       # 3000 files: 300 app modules + 2700 dependency files
    python3 bench/policy_scale.py --app 1000 --deps 5000
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SERVICES = [("s3", "get_object", "Bucket='data', Key=f'in/{key}'"),
            ("dynamodb", "put_item", "TableName='orders', Item={}"),
            ("sqs", "send_message", "QueueUrl='https://sqs.eu-west-1.amazonaws.com/111122223333/q', MessageBody='x'"),
            ("sns", "publish", "TopicArn='arn:aws:sns:eu-west-1:111122223333:t', Message='x'"),
            ("secretsmanager", "get_secret_value", "SecretId='prod/db'")]


def _plain_module(index: int, children: list[int]) -> str:
    imports = "".join(f"from . import mod{child}\n" for child in children)
    calls = "".join(f"    mod{child}.run(value)\n" for child in children)
    body = "".join(f"def helper{i}(x):\n    return {{'value': x, 'n': {i}}}\n\n" for i in range(8))
    return (f'"""Application module {index}: plain Python."""\n{imports}\n\nclass Model{index}:\n'
            f"    def __init__(self, value):\n        self.value = value\n\n{body}"
            f"def run(value):\n    model = Model{index}(value)\n{calls}    return helper0(model.value)\n")


def _sdk_module(index: int, children: list[int]) -> str:
    service, method, params = SERVICES[(index // 10 + index) % len(SERVICES)]
    imports = "".join(f"from . import mod{child}\n" for child in children)
    calls = "".join(f"    mod{child}.run(value)\n" for child in children)
    return (f'"""Application module {index}: uses {service}."""\nimport boto3\n{imports}\n'
            f'client = boto3.client("{service}")\n\n\ndef call(api, key):\n    return api.{method}({params})\n\n\n'
            f"def run(value):\n    key = str(value)\n    call(client, key)\n{calls}    return key\n")


def _dependency(index: int) -> str:
    return (f'"""A dependency module."""\nimport boto3\n\n\ndef fetch_{index}(name):\n'
            f'    return boto3.client("iam").get_role(RoleName=name)\n' + "\n# filler\n" * 40)


def make_package(root: Path, app: int, deps: int, all_sdk: bool) -> None:
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    for index in range(app):
        children = [child for child in (2 * index + 1, 2 * index + 2) if child < app]  # a binary tree of imports
        uses_sdk = all_sdk or index % 10 == 0
        source = _sdk_module(index, children) if uses_sdk else _plain_module(index, children)
        (root / "app" / f"mod{index}.py").write_text(source)
    (root / "handler.py").write_text("from app import mod0\n\n\ndef handler(event, context):\n"
                                     "    return mod0.run(event.get('id'))\n")
    per_package = 100
    for package in range((deps + per_package - 1) // per_package):
        name = f"vendored{package}"
        (root / name).mkdir()
        record = []
        for index in range(min(per_package, deps - package * per_package)):
            file = "__init__.py" if index == 0 else f"m{index}.py"
            (root / name / file).write_text(_dependency(index))
            record.append(f"{name}/{file},sha256=x,1")
        info = root / f"{name}-1.0.dist-info"
        info.mkdir()
        (info / "RECORD").write_text("\n".join(record) + "\n")


def make_node_package(root: Path, files: int) -> None:
    (root / "lib").mkdir(parents=True)
    for index in range(files):
        children = [child for child in (2 * index + 1, 2 * index + 2) if child < files]
        requires = "".join(f"const m{child} = require('./m{child}');\n" for child in children)
        calls = "".join(f"  await m{child}.run(value);\n" for child in children)
        sdk = ""
        if index % 10 == 0:
            sdk = ("const { S3Client, GetObjectCommand } = require('@aws-sdk/client-s3');\n"
                   "const s3 = new S3Client({});\n")
            calls += "  await s3.send(new GetObjectCommand({ Bucket: 'data', Key: `in/${value}` }));\n"
        (root / "lib" / f"m{index}.js").write_text(
            f"{sdk}{requires}exports.run = async (value) => {{\n{calls}  return value;\n}};\n")
    (root / "index.js").write_text("const m0 = require('./lib/m0');\nexports.handler = (e) => m0.run(e.id);\n")


def analyse_once(path: Path, handler: str) -> Any:
    from lambdasec.analysis.policy_report import for_code

    return for_code(path, handler)


def median_seconds(path: Path, handler: str, repeat: int) -> tuple[float, Any]:
    result = analyse_once(path, handler)  # warm-up: SDK models, the IAM catalogue, tree-sitter
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = analyse_once(path, handler)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def cli_seconds(path: Path, handler: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from lambdasec.cli import main; main()", "policy", str(path),
                    "--handler", handler, "-f", "json"], check=False, capture_output=True)
    return time.perf_counter() - start


def report(label: str, path: Path, handler: str, repeat: int) -> None:
    files = sum(1 for _ in path.rglob("*.py")) + sum(1 for _ in path.rglob("*.js"))
    seconds, result = median_seconds(path, handler, repeat)
    wall = cli_seconds(path, handler)
    analysed = len(result.analysis.files)
    calls = len(result.policy.calls)
    actions = len(result.policy.actions())
    print(f"{label:<34} {files:>6} files  {analysed:>5} analysed  {calls:>4} calls  {actions:>3} actions  "
          f"analysis {seconds * 1000:8.1f} ms  `lambdasec policy` {wall:5.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--app", type=int, default=300, help="application modules (default 300)")
    parser.add_argument("--deps", type=int, default=2700, help="dependency files (default 2700)")
    parser.add_argument("--node", type=int, default=1000, help="JavaScript modules (default 1000)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        base = Path(work)
        make_package(base / "typical", args.app, args.deps, all_sdk=False)
        make_package(base / "worst", args.app, args.deps, all_sdk=True)
        make_node_package(base / "node", args.node)
        report("python: 1 app module in 10 uses boto3", base / "typical", "handler.handler", args.repeat)
        report("python: every app module uses boto3", base / "worst", "handler.handler", args.repeat)
        report("javascript: 1 module in 10 uses SDK v3", base / "node", "index.handler", args.repeat)


if __name__ == "__main__":
    main()
