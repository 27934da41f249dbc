"""A live account and the CloudFormation templates that would build it get the same findings.

Two regions, each with an insecure and a clean function, are seeded in the emulator with raw boto3; the same
resources are written as one template per region. Both are scanned with every rule, and the findings on the
functions (rule and function name) must be the same, except for the rules only a live account can answer.

moto 5.2.1 lacks ``ListFunctionUrlConfigs``, the code-signing listings and Signer's ``ListSigningProfiles``:
botocore ``before-call`` handlers
registered on the scan's own session answer them from moto's own data (``GetFunctionUrlConfig``) or with
"none", so lambdasec's real clients, pagination and normalization still run (the same workaround as
test_lambda_service.py).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import lambdasec
import lambdasec.reporters
from lambdasec.collectors.aws.collector import collect_live
from lambdasec.collectors.aws.session import LiveOptions
from lambdasec.engine import ScanSettings, evaluate
from lambdasec.model.findings import Report
from lambdasec.rules.registry import all_rules

from ..conftest import FIXTURE_CLOCK
from .conftest import Answer, Emulator

REGIONS = ("us-east-1", "eu-west-1")
TOKEN = "ghp_" + "Q7w3E9r5T1y8U2i6O4p0A3s7D9f1G5h8J2k4"  # a made-up token in GitHub's format
LIVE_ONLY = {"OBS004", "THR001", "EXP009"}
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
LOGS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
    "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]}]}
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def _suffix(region: str) -> str:
    return "".join(part.capitalize() for part in region.split("-"))


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return 1\n")
    return buffer.getvalue()


def seed(aws: Emulator) -> None:
    iam = aws.client("iam")
    for region in REGIONS:
        suffix = _suffix(region)
        lam = aws.client("lambda", region)
        insecure_role = iam.create_role(RoleName=f"Insecure{suffix}Role",
                                        AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        iam.put_role_policy(RoleName=f"Insecure{suffix}Role", PolicyName="admin", PolicyDocument=json.dumps(ADMIN))
        clean_role = iam.create_role(RoleName=f"Clean{suffix}Role",
                                     AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        iam.put_role_policy(RoleName=f"Clean{suffix}Role", PolicyName="logs", PolicyDocument=json.dumps(LOGS))
        lam.create_function(FunctionName=f"Insecure{suffix}", Runtime="python3.12", Role=insecure_role,
                            Handler="app.handler", Code={"ZipFile": _zip()},
                            Environment={"Variables": {"GITHUB_TOKEN": TOKEN}})
        lam.create_function_url_config(FunctionName=f"Insecure{suffix}", AuthType="NONE")
        lam.add_permission(FunctionName=f"Insecure{suffix}", StatementId="public-url",
                           Action="lambda:InvokeFunctionUrl", Principal="*", FunctionUrlAuthType="NONE")
        lam.add_permission(FunctionName=f"Insecure{suffix}", StatementId="s3", Action="lambda:InvokeFunction",
                           Principal="s3.amazonaws.com")
        lam.create_function(FunctionName=f"Clean{suffix}", Runtime="python3.12", Role=clean_role,
                            Handler="app.handler", Code={"ZipFile": _zip()}, TracingConfig={"Mode": "Active"})
        lam.put_function_concurrency(FunctionName=f"Clean{suffix}", ReservedConcurrentExecutions=5)


def template(region: str) -> str:
    suffix = _suffix(region)
    resources = {
        f"Insecure{suffix}Role": {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": f"Insecure{suffix}Role", "AssumeRolePolicyDocument": TRUST,
            "Policies": [{"PolicyName": "admin", "PolicyDocument": ADMIN}]}},
        f"Clean{suffix}Role": {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": f"Clean{suffix}Role", "AssumeRolePolicyDocument": TRUST,
            "Policies": [{"PolicyName": "logs", "PolicyDocument": LOGS}]}},
        f"Insecure{suffix}": {"Type": "AWS::Lambda::Function", "Properties": {
            "FunctionName": f"Insecure{suffix}", "Runtime": "python3.12", "Handler": "app.handler",
            "Role": {"Fn::GetAtt": [f"Insecure{suffix}Role", "Arn"]},
            "Code": {"S3Bucket": "artifacts", "S3Key": "app.zip"},
            "Environment": {"Variables": {"GITHUB_TOKEN": TOKEN}}}},
        f"Insecure{suffix}Url": {"Type": "AWS::Lambda::Url", "Properties": {
            "TargetFunctionArn": {"Fn::GetAtt": [f"Insecure{suffix}", "Arn"]}, "AuthType": "NONE"}},
        f"Insecure{suffix}UrlPermission": {"Type": "AWS::Lambda::Permission", "Properties": {
            "FunctionName": {"Ref": f"Insecure{suffix}"}, "Action": "lambda:InvokeFunctionUrl", "Principal": "*",
            "FunctionUrlAuthType": "NONE"}},
        f"Insecure{suffix}S3Permission": {"Type": "AWS::Lambda::Permission", "Properties": {
            "FunctionName": {"Ref": f"Insecure{suffix}"}, "Action": "lambda:InvokeFunction",
            "Principal": "s3.amazonaws.com"}},
        f"Clean{suffix}": {"Type": "AWS::Lambda::Function", "Properties": {
            "FunctionName": f"Clean{suffix}", "Runtime": "python3.12", "Handler": "app.handler",
            "Role": {"Fn::GetAtt": [f"Clean{suffix}Role", "Arn"]},
            "Code": {"S3Bucket": "artifacts", "S3Key": "app.zip"}, "TracingConfig": {"Mode": "Active"},
            "ReservedConcurrentExecutions": 5}},
    }
    return json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}, indent=1)


def emulate_missing_lambda_apis(aws: Emulator, session: Any) -> None:
    """moto 5.2.1 answers these with 404 (module docstring): answered from moto's own data, per region."""
    session.events.register("before-call.lambda.ListFunctionUrlConfigs", aws.function_url_configs)
    session.events.register("before-call.lambda.ListCodeSigningConfigs",
                            lambda **_: (Answer(), {"CodeSigningConfigs": []}))
    session.events.register("before-call.signer.ListSigningProfiles", lambda **_: (Answer(), {"profiles": []}))


def function_findings(report: Report) -> set[tuple[str, str]]:
    """(rule, function name) for every finding about a function, from any source."""
    return {(finding.rule_id, function.rsplit(":", 1)[-1])
            for finding in report.findings for function in finding.functions if finding.rule_id not in LIVE_ONLY}


def test_a_live_account_and_its_templates_get_the_same_findings(aws: Emulator, tmp_path: Path) -> None:
    seed(aws)
    session = aws.session()
    emulate_missing_lambda_apis(aws, session)
    inventory = collect_live(LiveOptions(regions=REGIONS), session_factory=lambda **_: session)
    assert [gap.message for gap in inventory.coverage_gaps] == []
    live = evaluate(inventory, all_rules(), ScanSettings(now=FIXTURE_CLOCK))
    for region in REGIONS:
        (tmp_path / f"{region}.json").write_text(template(region))
    iac = lambdasec.scan_paths([tmp_path], now=FIXTURE_CLOCK)
    assert iac.coverage_gaps == []
    assert function_findings(live) == function_findings(iac)
    insecure = {"ENC001", "EXP001", "EXP003", "EXP004", "IAM001", "IAM016", "INT001", "NET001", "OBS001", "RES001",
                "RES002", "SEC001"}
    clean = {"INT001", "NET001"}
    assert function_findings(live) == {(rule, f"{kind}{_suffix(region)}") for region in REGIONS
                                       for kind, rules in (("Insecure", insecure), ("Clean", clean))
                                       for rule in rules}


def test_the_table_shows_an_account_resource_by_its_arn_resource_part(aws: Emulator) -> None:
    """Whole ARNs in the location column would leave no room for the findings (the ARN is the resource id)."""
    from lambdasec.model.location import Location
    from lambdasec.reporters.table import _where

    assert _where(Location(arn="arn:aws:lambda:us-east-1:123456789012:function:orders", region="us-east-1")) == \
        "function:orders (us-east-1)"
    assert _where(Location(arn="arn:aws:iam::123456789012:role/app")) == "role/app"
    assert _where(Location("template.yaml", 12)) == "template.yaml:12"
    seed(aws)
    session = aws.session()
    emulate_missing_lambda_apis(aws, session)
    inventory = collect_live(LiveOptions(regions=("us-east-1",)), session_factory=lambda **_: session)
    text = lambdasec.reporters.render("table", evaluate(inventory, all_rules(), ScanSettings(now=FIXTURE_CLOCK)),
                                      all_rules(), width=120)
    assert "function:InsecureUsEast1 (us-east-1)" in text and "GITHUB_TOKEN" in text and TOKEN not in text
