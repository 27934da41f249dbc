"""Secrets found in templates never appear in full in any output format."""

from __future__ import annotations

import zipfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from lambdasec.cli import main

# Assembled from pieces so that secret scanners of this repository do not flag the test itself.
GITHUB_TOKEN = "ghp_" + "Zq8Lr2Vt6Xw0Ab4Cd8Ef2Gh6Ij0Kl4Mn8Op2"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
DB_URL = "postgres://app:" + "S3cr3t-Pa55word-9f8e" + "@db.internal:5432/app"
NOECHO_DEFAULT = "Hunter2-" + "Very-Secret-Default"
SECRETS = [GITHUB_TOKEN, AWS_SECRET, "S3cr3t-Pa55word-9f8e", NOECHO_DEFAULT]

TEMPLATE = f"""\
Transform: AWS::Serverless-2016-10-31
Parameters:
  ApiKey:
    Type: String
    NoEcho: true
    Default: {NOECHO_DEFAULT}
Globals:
  Function:
    Environment:
      Variables:
        GITHUB_TOKEN: {GITHUB_TOKEN}
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      InlineCode: "def handler(e, c): return 1"
      Environment:
        Variables:
          AWS_SECRET_ACCESS_KEY: {AWS_SECRET}
          DATABASE_URL: {DB_URL}
          API_KEY: !Ref ApiKey
          NODE_OPTIONS: --require /opt/hook.js --token={GITHUB_TOKEN}
"""


def output_formats() -> list[str]:
    """Every format `lambdasec scan` offers, so a format added later is checked too."""
    scan = main.commands["scan"]
    option = next(p for p in scan.params if p.name == "fmt")
    assert isinstance(option.type, click.Choice)
    return list(option.type.choices)


def test_the_usual_formats_are_checked() -> None:
    assert {"table", "json", "sarif"} <= set(output_formats())


@pytest.mark.parametrize("fmt", output_formats())
def test_no_output_format_contains_a_full_secret(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    result = CliRunner().invoke(main, ["scan", str(tmp_path), "-f", fmt, "--show-suppressed", "--color", "never"])
    assert result.exit_code == 1, result.output
    assert "SEC001" in result.output and "SEC002" in result.output
    leaked = [secret for secret in SECRETS if secret in result.output]
    assert leaked == []


# ---------------------------------------------------------------- secrets planted in code (SEC003)
AWS_KEY_ID = "AKIA" + "Q3EGRTZ5LMXPWN7K"
AWS_KEY_SECRET = "k7Rt2/Wq9xZa" + "pL4mN8vB3cX6yH1jG5fD0sA9eT2u"
CODE_PASSWORD = "k9#Rw2!" + "mQx7z"
CODE_TOKEN = "f3Kq8Zr2Lm7X" + "v4Tn9Pw1Hs6J"
PEM_BODY = "MIIEowIBAAKCAQEAwYSiPeJLSi6k8J4xQ2pRt7L" + "mN9vB3cX6yH1jG5fD0sA9eT2uZq8L"
CODE_SECRETS = [GITHUB_TOKEN, AWS_KEY_ID, AWS_KEY_SECRET, "S3cr3t-Pa55word-9f8e", CODE_PASSWORD, CODE_TOKEN, PEM_BODY]

HANDLER = f"""\
import os

GITHUB_TOKEN = "{GITHUB_TOKEN}"
aws_access_key_id = "{AWS_KEY_ID}"
aws_secret_access_key = "{AWS_KEY_SECRET}"
DATABASE_URL = "{DB_URL}"
SMTP_PASSWORD = "{CODE_PASSWORD}"
SIGNING_KEY = \"\"\"-----BEGIN RSA PRIVATE {"KEY"}-----
{PEM_BODY}
-----END RSA PRIVATE {"KEY"}-----\"\"\"


def handler(event, context):
    return os.environ.get("STAGE", "")
"""
SETTINGS = f"PAYMENTS_API_TOKEN={CODE_TOKEN}\n"

CODE_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Directory:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
  Zipped:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: build/orders.zip
"""


def plant_code_secrets(tmp_path: Path) -> None:
    """A template whose functions' code (a directory and a zip) holds every secret of CODE_SECRETS."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(HANDLER)
    (tmp_path / "src" / "settings.env").write_text(SETTINGS)
    (tmp_path / "build").mkdir()
    with zipfile.ZipFile(tmp_path / "build" / "orders.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", HANDLER)
        archive.writestr("conf/settings.env", SETTINGS)
    (tmp_path / "template.yaml").write_text(CODE_TEMPLATE)


@pytest.mark.parametrize("fmt", output_formats())
def test_no_output_format_contains_a_secret_found_in_code(tmp_path: Path, fmt: str) -> None:
    plant_code_secrets(tmp_path)
    result = CliRunner().invoke(main, ["scan", str(tmp_path), "-f", fmt, "--rule", "SEC003", "--show-suppressed",
                                       "--color", "never"])
    assert result.exit_code == 1, result.output
    # the table and JUnit (one test case per rule and resource) group the findings; the others list each one
    assert result.output.count("SEC003") >= (1 if fmt in ("table", "junit") else 2 * 6)
    leaked = [secret for secret in CODE_SECRETS if secret in result.output]
    assert leaked == []


def test_every_planted_code_secret_is_found(tmp_path: Path) -> None:
    """The leak test above is only meaningful if each planted value was found (and so printed redacted)."""
    from lambdasec.analysis.code_secrets import scan_text

    kinds = sorted(secret.kind for secret in scan_text(HANDLER, "app.py") + scan_text(SETTINGS, "settings.env"))
    assert kinds == ["aws-access-key-pair", "database-url-password", "github-token", "password", "private-key",
                     "token"]


def test_verbose_logs_never_show_a_secret(tmp_path: Path) -> None:
    plant_code_secrets(tmp_path)
    import logging

    try:
        result = CliRunner().invoke(main, ["-vv", "scan", str(tmp_path), "-q", "-j", "1"])
    finally:  # -vv configured lambdasec's logger for the process: back to the library default
        logger = logging.getLogger("lambdasec")
        logger.handlers.clear()
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
    assert result.exit_code == 1
    assert "lambdasec: INFO lambdasec.collectors.discovery:" in result.stderr
    assert "lambdasec: DEBUG lambdasec.collectors.discovery: read " in result.stderr
    assert [secret for secret in CODE_SECRETS if secret in result.stderr + result.stdout] == []
