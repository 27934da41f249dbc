"""Hostile and broken input: a clear one-line coverage gap and exit code 3, never a traceback."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from click.testing import CliRunner

import lambdasec
from lambdasec.cli import main

from .conftest import FIXTURE_CLOCK

GOOD = """\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]
      Policies: [{PolicyName: p, PolicyDocument: {Statement: [{Effect: Allow, Action: "s3:*", Resource: "*"}]}}]
      ManagedPolicyArns: [arn:aws:iam::aws:policy/AdministratorAccess]
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Role: !GetAtt Role.Arn
      Code: {ZipFile: x}
      Environment: {Variables: {TOKEN: ghp_0123456789abcdefghijklmnopqrstuvwxyz}}
      VpcConfig: {SubnetIds: [subnet-1], SecurityGroupIds: [!Ref Sg]}
      Layers: [arn:aws:lambda:us-east-1:123456789012:layer:x:1]
      TracingConfig: {Mode: Active}
      DeadLetterConfig: {TargetArn: arn:aws:sqs:us-east-1:123456789012:dlq}
      ReservedConcurrentExecutions: 5
  Sg:
    Type: AWS::EC2::SecurityGroup
    Properties: {GroupDescription: x, SecurityGroupEgress: [{IpProtocol: "-1", CidrIp: 0.0.0.0/0}]}
  Perm:
    Type: AWS::Lambda::Permission
    Properties: {FunctionName: !Ref Fn, Action: "lambda:*", Principal: "*"}
  Url:
    Type: AWS::Lambda::Url
    Properties: {TargetFunctionArn: !Ref Fn, AuthType: NONE, Cors: {AllowOrigins: ["*"]}}
"""

# Values of the wrong type, put in place of every property value of GOOD in turn.
WRONG_VALUES = ["7", "[]", "{}", "null", "[1, [2]]", "{Ref: Nowhere}", "!If [Unknown, a, b]", "''"]


def _property_lines() -> list[int]:
    lines = GOOD.splitlines()
    return [i for i, line in enumerate(lines) if line.startswith("      ") and ":" in line]


@pytest.mark.parametrize(("line", "value"), list(itertools.product(_property_lines(), WRONG_VALUES)))
def test_mistyped_properties_never_crash(tmp_path: Path, line: int, value: str) -> None:
    lines = GOOD.splitlines()
    key = lines[line].split(":", 1)[0]
    lines[line] = f"{key}: {value}"
    path = tmp_path / "t.yaml"
    path.write_text("\n".join(lines) + "\n")
    report = lambdasec.scan_paths([path], now=FIXTURE_CLOCK)
    assert [g for g in report.coverage_gaps if g.kind == "internal-error"] == []


BAD_FILES = {
    "truncated.yaml": ("Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties: {Runtime: [",
                       "parse-error"),
    "truncated.json": ('{"Resources": {"Fn": {"Type": "AWS::Lambda::Function"', "parse-error"),
    "tabs.yaml": ("Resources:\n\tFn:\n\t\tType: AWS::Lambda::Function\n", "parse-error"),
    "resources-list.yaml": ("AWSTemplateFormatVersion: '2010-09-09'\nResources: [AWS::Lambda::Function]\n",
                            "parse-error"),
    "bomb.yaml": ("Resources:\n  Q: {Type: AWS::SQS::Queue}\n" + "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)), "parse-error"),
    "nested.yaml": ("Resources:\n  Q: {Type: AWS::SQS::Queue, Properties: " + "[" * 5000 + "]" * 5000 + "}\n",
                    "parse-error"),
    "tag.yaml": ("Resources:\n  Q: {Type: AWS::SQS::Queue, Properties: !!python/name:os.system x}\n", "parse-error"),
    "cycle.yaml": ("Resources:\n  A: {Type: AWS::SQS::Queue, DependsOn: A}\n", "invalid-template"),
    "invalid-utf8.yaml": ("Resources:\n  A: {Type: AWS::SQS::Queue}\n#\udcff\n", "parse-error"),
}


def test_bad_files_are_gaps_with_exit_code_3(tmp_path: Path) -> None:
    for name, (text, _) in BAD_FILES.items():
        (tmp_path / name).write_bytes(text.encode("utf-8", "surrogateescape"))
    (tmp_path / "ok.yaml").write_text(GOOD)
    result = CliRunner().invoke(main, ["scan", str(tmp_path), "-f", "json", "--fail-on", "none"])
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    import json

    report = json.loads(result.stdout)
    gaps = {(g["location"]["file"], g["kind"]) for g in report["coverage_gaps"]}
    assert gaps == {(name, kind) for name, (_, kind) in BAD_FILES.items()}
    assert all("\n" not in g["message"] for g in report["coverage_gaps"])
    # the good template was still scanned
    assert {f["location"]["file"] for f in report["findings"]} == {"ok.yaml"}
    assert {"EXP001", "EXP003", "IAM001"} <= {f["rule_id"] for f in report["findings"]}


TF_AND_SLS_BAD = {
    "broken/main.tf": ('resource "aws_lambda_function" "f" {\n  runtime = "python3.12"\n', "parse-error"),
    "registry/main.tf": ('module "m" {\n  source = "terraform-aws-modules/lambda/aws"\n}\n', "unsupported"),
    "cycle/main.tf": ('locals {\n  a = local.b\n  b = local.a\n}\n'
                      'resource "aws_lambda_function" "f" {\n  function_name = local.a\n}\n', "invalid-template"),
    "missing-module/main.tf": ('module "m" {\n  source = "./nope"\n}\n', "missing-file"),
    "plan/plan.json": ('{"format_version": "2.0", "terraform_version": "9.0.0", "planned_values": {}}',
                       "unsupported"),
    "sls-broken/serverless.yml": ("service: x\nprovider: {name: aws\nfunctions: [\n", "parse-error"),
    "sls-cycle/serverless.yml": ("service: x\ncustom:\n  a: ${self:custom.b}\n  b: ${self:custom.a}\n"
                                 "provider:\n  name: aws\n  runtime: ${self:custom.a}\n"
                                 "functions:\n  f:\n    handler: h.h\n", "invalid-template"),
}


def test_bad_terraform_plans_and_serverless_files_are_gaps(tmp_path: Path) -> None:
    for name, (text, _) in TF_AND_SLS_BAD.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "ok.yaml").write_text(GOOD)
    result = CliRunner().invoke(main, ["scan", str(tmp_path), "-f", "json", "--fail-on", "none"])
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    import json

    report = json.loads(result.stdout)
    kinds: dict[str, set[str]] = {}
    for gap in report["coverage_gaps"]:
        top = gap["location"]["file"].split("/")[0]
        kinds.setdefault(top, set()).add(gap["kind"])
    for name, (_, kind) in TF_AND_SLS_BAD.items():
        assert kind in kinds.get(name.split("/")[0], set()), (name, kinds)
    assert {f["location"]["file"] for f in report["findings"]} >= {"ok.yaml"}
