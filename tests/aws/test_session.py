"""Targets of a live scan: accounts (own, assumed role, Organization) x regions, and the shard split.

Role assumption and Organization enumeration run against moto (which accepts AssumeRole for any role ARN and
serves the assumed account's own data). The one failure moto cannot produce for a single role (AssumeRole
denied for one account while the others succeed) is injected with a botocore ``before-call`` handler on the
session that answers that call with an AccessDenied error; no request for it reaches the emulator.
"""

from __future__ import annotations

from typing import Any

import pytest

from lambdasec.collectors.aws.api import ApiSettings, RateLimiter
from lambdasec.collectors.aws.session import (
    LiveOptions,
    LiveUsageError,
    Target,
    Targets,
    _Account,
    _split,
    parse_shard,
    targets,
)

from .conftest import ACCOUNT, Emulator


def _denied(status: int = 403, code: str = "AccessDenied") -> Any:
    from botocore.awsrequest import AWSResponse

    return AWSResponse("https://denied.invalid", status, {}, None), {
        "Error": {"Code": code, "Message": "injected by the test"}}


def deny(event: str, when: Any = None) -> Any:
    """A boto3 session factory whose clients answer ``event`` (e.g. ``before-call.sts.AssumeRole``) with
    AccessDenied, for the calls whose request body ``when`` accepts (all when None)."""
    import boto3

    def handler(params: dict[str, Any], **_: Any) -> Any:
        if when is None or when(params.get("body") or {}):
            return _denied()
        return None

    def factory(**kwargs: Any) -> Any:
        session = boto3.session.Session(**kwargs)
        session.events.register(event, handler)
        return session

    return factory


def fast(log: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    return {"limiter": RateLimiter(default=0, rates={}), "settings": ApiSettings(request_log=log)}


def pairs(found: Targets) -> list[tuple[str, str, bool]]:
    return [(t.account, t.region, t.iam) for t in found.targets]


def test_regions_given_twice_are_the_scan_regions(aws: Emulator) -> None:
    log: list[tuple[str, str]] = []
    found = targets(LiveOptions(regions=("us-east-1", "eu-west-1", "us-east-1")), **fast(log))
    assert pairs(found) == [(ACCOUNT, "eu-west-1", True), (ACCOUNT, "us-east-1", False)]
    assert found.gaps == [] and found.all_accounts == [ACCOUNT] and found.accounts == [ACCOUNT]
    assert log == [("sts", "GetCallerIdentity")]  # no region listing when regions are given


def test_default_regions_are_the_enabled_regions(aws: Emulator) -> None:
    log: list[tuple[str, str]] = []
    enabled = sorted(r["RegionName"] for r in aws.client("ec2").describe_regions(AllRegions=False)["Regions"])
    for options in (LiveOptions(), LiveOptions(all_regions=True)):
        found = targets(options, **fast(log))
        assert [t.region for t in found.targets] == enabled and len(enabled) > 5
        assert [t.iam for t in found.targets] == [True] + [False] * (len(enabled) - 1)
        assert found.gaps == []
    assert log == [("sts", "GetCallerIdentity"), ("ec2", "DescribeRegions")] * 2


def test_region_listing_denied_reads_the_session_region_and_says_so(aws: Emulator,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    found = targets(LiveOptions(), deny("before-call.ec2.DescribeRegions"), **fast())
    assert pairs(found) == [(ACCOUNT, "eu-central-1", True)]
    assert [(g.kind, g.message) for g in found.gaps] == [
        ("access-denied", f"account {ACCOUNT}, region eu-central-1, ec2:DescribeRegions: AccessDenied: injected by "
                          "the test"),
        ("access-denied", f"account {ACCOUNT}: the enabled regions could not be listed; only eu-central-1 was read"),
    ]


def test_role_arn_is_assumed_and_its_account_scanned(aws: Emulator) -> None:
    log: list[tuple[str, str]] = []
    role = "arn:aws:iam::111111111111:role/audit"
    found = targets(LiveOptions(regions=("us-east-1",), role_arn=role, external_id="xyz"), **fast(log))
    assert pairs(found) == [("111111111111", "us-east-1", True)]
    assert log == [("sts", "GetCallerIdentity"), ("sts", "AssumeRole")]
    session = found.targets[0].session
    assert session.get_credentials().access_key != "testing"
    identity = session.client("sts", endpoint_url=aws.endpoint).get_caller_identity()
    assert identity["Account"] == "111111111111"
    assert identity["Arn"] == "arn:aws:sts::111111111111:assumed-role/audit/lambdasec"


def test_a_role_that_cannot_be_assumed_is_a_gap_and_nothing_is_read(aws: Emulator) -> None:
    role = "arn:aws:iam::111111111111:role/audit"
    found = targets(LiveOptions(regions=("us-east-1",), role_arn=role), deny("before-call.sts.AssumeRole"), **fast())
    assert found.targets == []
    assert [(g.kind, g.message, g.location.arn) for g in found.gaps] == [
        ("access-denied", f"account 111111111111: cannot assume {role}: AccessDenied: injected by the test", role)]


def _organization(aws: Emulator) -> tuple[str, str, str]:
    org = aws.client("organizations")
    org.create_organization(FeatureSet="ALL")
    first = org.create_account(AccountName="a", Email="a@example.com")["CreateAccountStatus"]["AccountId"]
    second = org.create_account(AccountName="b", Email="b@example.com")["CreateAccountStatus"]["AccountId"]
    closed = org.create_account(AccountName="c", Email="c@example.com")["CreateAccountStatus"]["AccountId"]
    org.close_account(AccountId=closed)
    return first, second, closed


def test_organization_accounts_are_enumerated_and_entered(aws: Emulator) -> None:
    first, second, closed = _organization(aws)
    log: list[tuple[str, str]] = []
    found = targets(LiveOptions(regions=("eu-west-1",), org=True, role_name="OrganizationAccountAccessRole"),
                    **fast(log))
    assert pairs(found) == sorted([(ACCOUNT, "eu-west-1", True), (first, "eu-west-1", True),
                                   (second, "eu-west-1", True)])
    assert closed not in found.all_accounts and found.gaps == []
    assert log == [("sts", "GetCallerIdentity"), ("organizations", "ListAccounts"), ("sts", "AssumeRole"),
                   ("sts", "AssumeRole")]  # the management account is read with the calling credentials
    by_account = {t.account: t.session for t in found.targets}
    for member in (first, second):
        identity = by_account[member].client("sts", endpoint_url=aws.endpoint).get_caller_identity()
        assert identity["Arn"] == f"arn:aws:sts::{member}:assumed-role/OrganizationAccountAccessRole/lambdasec"

    only = targets(LiveOptions(regions=("eu-west-1",), org=True, role_name="R", accounts=(second,)), **fast())
    assert pairs(only) == [(second, "eu-west-1", True)] and only.gaps == []


def test_an_account_whose_role_cannot_be_assumed_is_a_gap_the_others_go_on(aws: Emulator) -> None:
    first, second, _ = _organization(aws)
    factory = deny("before-call.sts.AssumeRole", when=lambda body: f"::{first}:role/" in body.get("RoleArn", ""))
    found = targets(LiveOptions(regions=("eu-west-1", "us-east-1"), org=True, role_name="Audit"), factory, **fast())
    assert [(t.account, t.region) for t in found.targets] == sorted(
        (account, region) for account in (ACCOUNT, second) for region in ("eu-west-1", "us-east-1"))
    assert [(g.kind, g.message) for g in found.gaps] == [
        ("access-denied", f"account {first}: cannot assume arn:aws:iam::{first}:role/Audit: AccessDenied: "
                          "injected by the test")]
    assert found.all_accounts == sorted([ACCOUNT, first, second])


def test_shards_split_the_sorted_work_list_deterministically() -> None:
    accounts = [_Account("333333333333", "s3", ["us-east-1", "eu-west-1"]),
                _Account("111111111111", "s1", ["us-east-1", "ap-south-1", "eu-west-1"]),
                _Account("222222222222", None, [], gaps=["cannot assume"]),  # type: ignore[list-item]
                _Account("444444444444", None, [], gaps=["cannot assume either"])]  # type: ignore[list-item]
    every = [(a, r) for a, r, _ in pairs(_split(accounts, None, Targets()))]
    assert every == [("111111111111", "ap-south-1"), ("111111111111", "eu-west-1"), ("111111111111", "us-east-1"),
                     ("333333333333", "eu-west-1"), ("333333333333", "us-east-1")]
    shards = [_split(accounts, (k, 2), Targets()) for k in (1, 2)]
    assert pairs(shards[0]) == [("111111111111", "ap-south-1", True), ("111111111111", "us-east-1", False),
                                ("333333333333", "us-east-1", False)]
    assert pairs(shards[1]) == [("111111111111", "eu-west-1", False), ("333333333333", "eu-west-1", True)]
    # account gaps: the j-th account (sorted) goes to shard (j mod N) + 1
    assert [shard.gaps for shard in shards] == [[], ["cannot assume", "cannot assume either"]]  # j = 1 and 3
    assert all(s.all_accounts == ["111111111111", "222222222222", "333333333333", "444444444444"] for s in shards)
    # the same split again, and in any input order
    again = [_split(list(reversed(accounts)), (k, 2), Targets()) for k in (1, 2)]
    assert [pairs(s) for s in again] == [pairs(s) for s in shards]
    three = [pairs(_split(accounts, (k, 3), Targets())) for k in (1, 2, 3)]
    assert sorted((a, r) for shard in three for a, r, _ in shard) == every
    assert sum(iam for shard in three for _, _, iam in shard) == 2  # IAM once per account, all shards together


def test_shard_option_against_the_emulator(aws: Emulator) -> None:
    regions = ("eu-west-1", "us-east-1", "us-west-2")
    halves = [targets(LiveOptions(regions=regions, shard=(k, 2)), **fast()) for k in (1, 2)]
    assert [[t.region for t in half.targets] for half in halves] == [["eu-west-1", "us-west-2"], ["us-east-1"]]
    assert [[t.iam for t in half.targets] for half in halves] == [[True, False], [False]]


def test_parse_shard_and_usage_errors() -> None:
    assert parse_shard("2/5") == (2, 5) and parse_shard(" 1 / 1 ") == (1, 1)
    for bad in ("0/2", "3/2", "1", "a/b", "1/0"):
        with pytest.raises(LiveUsageError):
            parse_shard(bad)
    for options, message in [
        (LiveOptions(org=True), "--org needs --role-name"),
        (LiveOptions(role_name="R"), "--role-name is only used with --org"),
        (LiveOptions(accounts=("111111111111",)), "--accounts is only used with --org"),
        (LiveOptions(org=True, role_name="R", accounts=("12",)), "not a 12-digit account id: 12"),
        (LiveOptions(regions=("us-east-1",), all_regions=True), "cannot be used together"),
        (LiveOptions(shard=(3, 2)), "1 <= K <= N"),
    ]:
        with pytest.raises(LiveUsageError, match=message):
            options.check()


def test_endpoint_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    assert LiveOptions().endpoint_url == "http://127.0.0.1:4566"
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    assert LiveOptions().endpoint_url is None
    assert Target("1", "r", None) == Target("1", "r", "other session")


def test_an_assumed_role_is_assumed_again_before_its_credentials_expire(aws: Emulator) -> None:
    """A long Organization scan outlives a role session: the credentials renew themselves through AssumeRole."""
    import datetime as dt

    log: list[tuple[str, str]] = []
    role = "arn:aws:iam::111111111111:role/audit"
    found = targets(LiveOptions(regions=("us-east-1",), role_arn=role), **fast(log))
    session = found.targets[0].session
    credentials = session._session._credentials
    first = credentials.get_frozen_credentials().access_key
    assert log == [("sts", "GetCallerIdentity"), ("sts", "AssumeRole")]
    credentials._expiry_time = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)  # as if an hour passed
    renewed = credentials.get_frozen_credentials().access_key
    assert log == [("sts", "GetCallerIdentity"), ("sts", "AssumeRole"), ("sts", "AssumeRole")]
    assert renewed != first
    identity = session.client("sts", endpoint_url=aws.endpoint).get_caller_identity()
    assert identity["Arn"] == "arn:aws:sts::111111111111:assumed-role/audit/lambdasec"
