"""Secrets of a live account never appear in full in a snapshot, in what `scan` makes of it, or in a live scan.

The emulator holds a function whose environment carries a GitHub token and a database URL with a password, whose
code carries an AWS key pair and whose layer a Stripe key. `lambdasec collect --aws -o snap.json.gz` must keep
neither environment value (the decompressed bytes are searched), `lambdasec scan snap.json.gz` must find them
(SEC001) and print them redacted in every format, and `scan --aws --download-code` must find the code and layer
secrets (SEC003) without printing any of them; logs at -vv included. The needle rule (the value, its secret part,
its middle) is tests/reliability/test_leaks.py's.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from lambdasec.cli import main
from lambdasec.reporters import FORMATS
from tests.reliability.test_leaks import Secret, leaks

from ..conftest import zip_bytes
from .conftest import ACCOUNT, Emulator
from .test_lambda_service import code_server  # noqa: F401  # a fixture
from .test_live_equivalence import emulate_missing_lambda_apis

LIVE_GITHUB_TOKEN = Secret("ghp_" + "LiveEnv" + "Rb4Nc8Md2Kf6Lg0Hj3Sx7Tz5Wq9Vy1")
LIVE_DB_PASSWORD = "LiveDb-" + "Qz8Vault-6e5f"
LIVE_DATABASE_URL = Secret(f"postgres://orders:{LIVE_DB_PASSWORD}@db.internal:5432/orders", LIVE_DB_PASSWORD)
LIVE_KEY_ID = Secret("AKIA" + "LIVECODEQ3EGRTZ5")
LIVE_KEY_SECRET = Secret("p9Lk3/Wq7xZa" + "LiveCode4mN8vB3cX6yH1jG5fD0s")
LIVE_LAYER_KEY = Secret("sk_live_" + "LiveLayer" + "Hd3Jf7Kg2Lh6Mj")
ENV_SECRETS = (LIVE_GITHUB_TOKEN, LIVE_DATABASE_URL)
SECRETS = (*ENV_SECRETS, LIVE_KEY_ID, LIVE_KEY_SECRET, LIVE_LAYER_KEY)
EVERY_FORMAT = [arg for fmt in FORMATS for arg in ("-f", fmt)]


def _zip(name: str, text: str) -> bytes:
    return zip_bytes({name: text})


CODE = _zip("app.py", f'aws_access_key_id = "{LIVE_KEY_ID.planted}"\n'
                      f'aws_secret_access_key = "{LIVE_KEY_SECRET.planted}"\n\n\n'
                      "def handler(event, context):\n    return 1\n")
LAYER = _zip("python/billing.py", f'STRIPE = "{LIVE_LAYER_KEY.planted}"\n')


def _seed(aws: Emulator) -> None:
    role = aws.client("iam").create_role(RoleName="orders", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    layer = aws.client("lambda").publish_layer_version(LayerName="billing", Content={"ZipFile": LAYER})
    aws.client("lambda").create_function(
        FunctionName="orders", Runtime="python3.12", Role=role, Handler="app.handler", Code={"ZipFile": CODE},
        Layers=[layer["LayerVersionArn"]],
        Environment={"Variables": {"GITHUB_TOKEN": LIVE_GITHUB_TOKEN.planted,
                                   "DATABASE_URL": LIVE_DATABASE_URL.planted}})


@pytest.fixture
def account(aws: Emulator, code_server: tuple[str, dict[str, bytes]],  # noqa: F811  # the imported fixture
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """The seeded emulator. lambdasec's own boto3 sessions answer the APIs moto lacks (test_live_equivalence) and
    find the code and the layer at a loopback server (moto's locations are not served: test_lambda_service)."""
    import boto3

    from lambdasec.collectors.aws import session as session_module

    base, served = code_server
    served.update({"orders.zip": CODE, "billing.zip": LAYER})

    def code_location(parsed: dict[str, Any], **_: Any) -> None:
        parsed["Code"]["Location"] = f"{base}/orders.zip"

    def layer_location(parsed: dict[str, Any], **_: Any) -> None:
        parsed["Content"]["Location"] = f"{base}/billing.zip"

    def session(**kwargs: Any) -> Any:
        created = boto3.session.Session(**kwargs)
        emulate_missing_lambda_apis(aws, created)
        created.events.register("after-call.lambda.GetFunction", code_location)
        created.events.register("after-call.lambda.GetLayerVersion", layer_location)
        return created

    _seed(aws)
    monkeypatch.setattr(session_module, "_boto3_session", session)
    yield aws
    logger = logging.getLogger("lambdasec")  # -vv configured lambdasec's logger for the process
    logger.handlers.clear()
    logger.setLevel(logging.NOTSET)
    logger.propagate = True


def _invoke(args: list[str], exit_code: int) -> Result:
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == exit_code, (args, result.output[-3000:])
    return result


def _files(directory: Path) -> str:
    return "".join(path.read_text() for path in sorted(directory.iterdir()))


def test_a_snapshot_and_its_scans_never_hold_the_accounts_secrets(account: Emulator, tmp_path: Path) -> None:
    snapshot = tmp_path / "snap.json.gz"
    collected = _invoke(["-vv", "collect", "--aws", "--region", "us-east-1", "-o", str(snapshot)], 0)
    assert f"lambdasec: 1 functions in 1 account/region scopes written to {snapshot}" in collected.stderr
    assert "lambdasec: INFO " in collected.stderr
    stored = gzip.decompress(snapshot.read_bytes()).decode()
    assert '"GITHUB_TOKEN"' in stored and '"DATABASE_URL"' in stored  # the variables are there, not their values
    assert leaks(ENV_SECRETS, stored) == []
    assert leaks(ENV_SECRETS, collected.stdout + collected.stderr) == []

    scanned = _invoke(["scan", str(snapshot), "--fail-on", "none", *EVERY_FORMAT, "--output-dir",
                       str(tmp_path / "out")], 0)
    report = json.loads((tmp_path / "out" / "lambdasec.json").read_text())
    assert sorted(f["message"] for f in report["findings"] if f["rule_id"] == "SEC001") == [
        "Environment variable DATABASE_URL holds a plaintext database URL password (Li****5f)",
        "Environment variable GITHUB_TOKEN holds a plaintext GitHub token (gh****y1)"]
    assert leaks(ENV_SECRETS, scanned.output + _files(tmp_path / "out")) == []
    table = _invoke(["-vv", "scan", str(snapshot), "--fail-on", "none", "--color", "never"], 0)
    assert "SEC001" in table.stdout and "DEBUG" in table.stderr
    assert leaks(ENV_SECRETS, table.stdout + table.stderr) == []


def test_a_live_scan_that_downloads_code_never_prints_a_secret(account: Emulator, tmp_path: Path) -> None:
    scanned = _invoke(["-vv", "scan", "--aws", "--region", "us-east-1", "--download-code", "--fail-on", "none",
                       *EVERY_FORMAT, "--output-dir", str(tmp_path / "out")], 0)
    report = json.loads((tmp_path / "out" / "lambdasec.json").read_text())
    assert report["coverage_gaps"] == []
    found = sorted((f["rule_id"], f["message"]) for f in report["findings"] if f["rule_id"].startswith("SEC"))
    assert found == [
        ("SEC001", "Environment variable DATABASE_URL holds a plaintext database URL password (Li****5f)"),
        ("SEC001", "Environment variable GITHUB_TOKEN holds a plaintext GitHub token (gh****y1)"),
        ("SEC003", f"AWS access key pair (AK****Z5 / p9****0s) in the code of arn:aws:lambda:us-east-1:{ACCOUNT}:"
                   f"function:orders: {ACCOUNT}/us-east-1/function/orders.zip: app.py line 1"),
        ("SEC003", f"Stripe live key (sk****Mj) in the code of arn:aws:lambda:us-east-1:{ACCOUNT}:layer:billing:1: "
                   f"{ACCOUNT}/us-east-1/layer/billing/1.zip: python/billing.py line 1")]  # named after the ARN
    assert "lambdasec: INFO lambdasec.collectors.aws.collector: 1 account-region(s)" in scanned.stderr
    assert leaks(SECRETS, scanned.stdout + scanned.stderr + _files(tmp_path / "out")) == []
