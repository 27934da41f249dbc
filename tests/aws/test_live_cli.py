"""`lambdasec scan --aws`, `collect --aws`, `merge` and `permissions` on the command line, against moto.

The service modules are replaced by the small collectors of test_collector.py (the real ones have their own
tests): ``default_services`` is swapped for them, every AWS call still goes to the emulator through Api.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lambdasec.collectors.aws import collector
from lambdasec.commands import live
from lambdasec.iam.catalogue import catalogue

from .conftest import ACCOUNT, Emulator
from .test_collector import SERVICES, seed
from .test_collector import TEST_ONLY_READS as TEST_ONLY_READS  # the stand-ins' reads (conftest's read-only guard)


@pytest.fixture
def fake_services(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collector, "default_services", lambda: dict(SERVICES))


def _run(command: Any, args: list[str]) -> Any:
    return CliRunner().invoke(command, args, catch_exceptions=False)


def _scan_command() -> Any:
    from lambdasec.cli import main

    scan = main.get_command(None, "scan")  # type: ignore[arg-type]
    if not any(param.name == "aws" for param in scan.params):
        pytest.skip("cli.py does not register the live options yet (/tmp/issue6/requests-core.md)")
    return main


def test_permissions_is_a_read_only_policy_of_real_actions() -> None:
    operations = {"lambda": (("lambda", "ListFunctions"), ("lambda", "GetPolicy")),
                  "iam": (("iam", "GetAccountAuthorizationDetails"),), "logs": (("logs", "DescribeLogGroups"),)}
    policy = live.permissions_policy(operations=operations)
    assert policy == {"Version": "2012-10-17", "Statement": [{
        "Sid": "LambdasecRead", "Effect": "Allow", "Resource": "*",
        "Action": ["ec2:DescribeRegions", "iam:GetAccountAuthorizationDetails", "lambda:GetPolicy",
                   "lambda:ListFunctions", "logs:DescribeLogGroups"]}]}
    org = live.permissions_policy(org=True, role_name="Audit", operations=operations)
    assert org["Statement"][1:] == [
        {"Sid": "LambdasecOrganization", "Effect": "Allow", "Action": ["organizations:ListAccounts"],
         "Resource": "*"},
        {"Sid": "LambdasecAssumeRole", "Effect": "Allow", "Action": ["sts:AssumeRole"],
         "Resource": "arn:aws:iam::*:role/Audit"}]
    text = live.permissions_text(policy)
    assert "  lambda:GetPolicy\n" in text and "sts:GetCallerIdentity needs no permission" in text


def test_permissions_of_the_real_modules_are_reads_the_catalogue_knows() -> None:
    try:
        operations = collector.service_operations()
    except ImportError as exc:
        pytest.skip(f"a service module is not there yet: {exc}")
    actions = live.read_actions(operations)
    known = catalogue()
    assert [action for action in actions if known.canonical(action) != action] == []
    assert {str(known.access_level(action)) for action in actions} <= {"List", "Read", "AccessLevel.LIST",
                                                                      "AccessLevel.READ"}
    result = _run(live.permissions, ["-f", "json"])
    assert result.exit_code == 0 and json.loads(result.output)["Statement"][0]["Action"] == actions


def test_collect_writes_a_snapshot_and_merge_joins_shards(aws: Emulator, fake_services: None,
                                                          tmp_path: Path) -> None:
    from lambdasec.model.snapshot import load_snapshot

    seed(aws, {"us-east-1": ["a"], "eu-west-1": ["b"]})
    shards = []
    for k in (1, 2):
        out = tmp_path / f"shard{k}.json.gz"
        result = _run(live.collect, ["--aws", "--region", "us-east-1", "--region", "eu-west-1", "--shard",
                                     f"{k}/2", "-o", str(out), "--stats"])
        assert result.exit_code == 0, result.output
        shards.append(out)
    first = load_snapshot(shards[0])
    assert [fn.name for fn in first.inventory.functions] == ["b"] and first.meta["shard"] == "1/2"
    assert first.meta["accounts"] == [ACCOUNT] and first.meta["regions"] == ["eu-west-1"]
    assert first.meta["stats"]["calls"] == {"iam:ListRoles": 1, "lambda:ListFunctions": 1,
                                            "sts:GetCallerIdentity": 1}
    merged_path = tmp_path / "all.json.gz"
    result = _run(live.merge, [str(shards[0]), str(shards[1]), "-o", str(merged_path)])
    assert result.exit_code == 0, result.output
    merged = load_snapshot(merged_path).inventory
    assert sorted(fn.name for fn in merged.functions) == ["a", "b"]  # type: ignore[type-var]
    # IAM is account-wide: read by the shard of the account's first region, complete for all its regions.
    assert sorted((s.region, tuple(s.complete)) for s in merged.scopes) == [
        ("eu-west-1", ("iam", "lambda")), ("us-east-1", ("iam", "lambda"))]


def test_collect_exits_3_on_gaps_and_2_on_usage_errors(aws: Emulator, fake_services: None,
                                                      tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "s.json"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "")  # no credentials at all: every call is denied
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "")
    result = CliRunner().invoke(live.collect, ["--aws", "--region", "us-east-1", "-o", str(out)])
    assert result.exit_code == 3 and "coverage gap" in result.output
    assert "sts:GetCallerIdentity" in result.output
    for args, message in [([], "pass --aws"), (["--aws", "--org"], "--org needs --role-name"),
                          (["--aws", "--shard", "3/2"], "1 <= K <= N"),
                          (["--aws", "--org", "--role-name", "R", "--accounts", "1,2"], "not a 12-digit")]:
        result = CliRunner().invoke(live.collect, [*args, "-o", str(out)])
        assert result.exit_code == 2 and message in result.output, result.output


def test_merge_of_a_file_that_is_not_a_snapshot_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    result = CliRunner().invoke(live.merge, [str(bad), "-o", str(tmp_path / "out.json")])
    assert result.exit_code == 2 and "not a lambdasec snapshot" in result.output


def test_scan_aws_reports_findings_gaps_and_stats(aws: Emulator, fake_services: None, tmp_path: Path) -> None:
    main = _scan_command()
    seed(aws, {"us-east-1": ["a"]})
    result = _run(main, ["scan", "--aws", "--region", "us-east-1", "-f", "json", "--stats", "--fail-on", "none"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["coverage_gaps"] == []
    assert report["stats"]["calls"] == {"iam:ListRoles": 1, "lambda:ListFunctions": 1, "sts:GetCallerIdentity": 1}
    assert report["stats"]["functions"] == 1 and report["stats"]["per_function"] == {"lambda": 1.0}

    plain = _run(main, ["scan", "--aws", "--region", "us-east-1", "-f", "json", "--fail-on", "none"])
    assert "stats" not in json.loads(plain.output)

    table = CliRunner().invoke(main, ["scan", "--aws", "--region", "us-east-1", "--stats", "-q"])
    assert "AWS calls" in table.output and "lambda:ListFunctions" in table.output


def test_scan_aws_usage_errors(aws: Emulator) -> None:
    main = _scan_command()
    for args, message in [(["--aws", "some/path"], "give no PATH"), (["--region", "us-east-1"], "need --aws"),
                          (["--aws", "--external-id", "x"], "--external-id is only used with --role-arn"),
                          (["--skip-event-invoke-configs"], "need --aws")]:
        result = CliRunner().invoke(main, ["scan", *args])
        assert result.exit_code == 2 and message in result.output, result.output


def test_the_read_options_reach_the_collector(aws: Emulator, fake_services: None,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    main = _scan_command()
    real = collector.collect_live
    given: list[Any] = []

    def recorded(options: Any, **kwargs: Any) -> Any:
        given.append(options)
        return real(options, **kwargs)

    monkeypatch.setattr(collector, "collect_live", recorded)
    for flags, expected in [([], (False, False)), (["--skip-event-invoke-configs"], (False, True)),
                            (["--alias-policies", "--skip-event-invoke-configs"], (True, True))]:
        result = _run(main, ["scan", "--aws", "--region", "us-east-1", "-q", "--fail-on", "none", *flags])
        assert result.exit_code == 0, result.output
        assert (given[-1].alias_policies, given[-1].skip_event_invoke_configs) == expected


def test_scan_aws_with_a_denied_service_exits_3(aws: Emulator, fake_services: None,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from .test_session import deny

    main = _scan_command()
    real = collector.collect_live

    def denied(options: Any, **kwargs: Any) -> Any:
        kwargs["session_factory"] = deny("before-call.lambda.ListFunctions")
        return real(options, **kwargs)

    monkeypatch.setattr(collector, "collect_live", denied)
    result = CliRunner().invoke(main, ["scan", "--aws", "--region", "us-east-1", "-f", "json"])
    assert result.exit_code == 3
    assert f"account {ACCOUNT}, region us-east-1, lambda:ListFunctions: AccessDenied" in result.output


def test_the_json_stats_helpers() -> None:
    from lambdasec.collectors.aws.api import CallStats, Scope

    stats = CallStats()
    scope = Scope(ACCOUNT, "us-east-1", None)
    for operation in ("ListFunctions", "GetFunction", "GetFunction", "GetPolicy"):
        stats.count(scope, "lambda", operation)
    counted = live.stats_dict(stats, functions=2)
    assert counted["per_function"] == {"lambda": 0.5, "lambda:GetFunction": 1.0, "lambda:GetPolicy": 0.5}
    assert json.loads(live.add_stats_to_json('{"a": 1}', counted)) == {"a": 1, "stats": counted}
    table = live.stats_table(counted)
    assert table.splitlines()[0] == "AWS calls" and "    lambda:GetFunction    2  (1.0 per function)\n" in table


def test_credentials_that_cannot_be_set_up_are_a_usage_error_not_a_traceback(
        aws: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    from lambdasec.cli import main

    scanned = CliRunner().invoke(main, ["scan", "--aws", "--region", "us-east-1", "--profile", "nope"])
    assert scanned.exit_code == 2
    assert "cannot set up AWS credentials: The config profile (nope) could not be found" in scanned.output
    collected = _run(live.collect, ["--aws", "--profile", "nope", "-o", "out.json.gz"])
    assert collected.exit_code == 2
    assert "cannot set up AWS credentials: The config profile (nope) could not be found" in collected.output


def test_what_securityaudit_lacks_is_what_the_docs_say() -> None:
    """docs/live.md compares the printed policy with AWS's SecurityAudit (moto's dated copy of it)."""
    import fnmatch

    from moto.iam.aws_managed_policies import aws_managed_policies_data

    from ..conftest import REPO

    audit = json.loads(aws_managed_policies_data)["SecurityAudit"]
    granted = [action for statement in audit["Document"]["Statement"] if statement["Effect"] == "Allow"
               for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])]
    lacking = [action for action in live.read_actions()
               if not any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in granted)]
    assert (audit["DefaultVersionId"], lacking) == (
        "v86", ["lambda:GetFunction", "lambda:GetLayerVersion", "signer:DescribeSigningJob",
                "signer:ListSigningProfiles"])
    page = (REPO / "docs" / "live.md").read_text(encoding="utf-8")
    assert "SecurityAudit version v86" in page and all(f"`{action}`" in page for action in lacking)
