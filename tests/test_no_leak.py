"""Secrets found in templates never appear in full in any output format."""

from __future__ import annotations

from pathlib import Path

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


@pytest.mark.parametrize("fmt", ["table", "json", "sarif"])
def test_no_output_format_contains_a_full_secret(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    result = CliRunner().invoke(main, ["scan", str(tmp_path), "-f", fmt, "--show-suppressed", "--color", "never"])
    assert result.exit_code == 1, result.output
    assert "SEC001" in result.output and "SEC002" in result.output
    leaked = [secret for secret in SECRETS if secret in result.output]
    assert leaked == []
