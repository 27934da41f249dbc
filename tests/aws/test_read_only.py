"""The scan never writes: proven on our side (Api's request log) and on the emulator's side.

Emulator side: moto enforces IAM once ``INITIAL_NO_AUTH_ACTION_COUNT`` requests have been served. The test server
runs in this process, so the test seeds the emulator first (no enforcement), then sets the count to 0 through
moto's own ``POST /moto-api/reset-auth`` endpoint (what moto's ``set_initial_no_auth_action_count`` does in
server mode), and restores "inf" afterwards. The scan runs with the keys of an IAM user that holds exactly the
policy ``lambdasec permissions`` builds, and moto's request recorder (``/moto-api/recorder/*``; its file is
pointed at the test's tmp_path) lists every request the emulator received: none of them is a write.

moto 5.2.1 bug, fixed in the in-process server for these tests (``moto_checks_gets_right``): to re-compute a
signature its IAMRequest hashes a GET's query parameters as if they were the body, so every signed REST GET with a
query string (Lambda's ListFunctions?MaxItems=...) fails with SignatureDoesNotMatch. The fix hashes the real,
empty body; the signature is still verified and every request still authorized against the user's policy.
APIs moto lacks (ListFunctionUrlConfigs, ListCodeSigningConfigs, Signer's ListSigningProfiles) are answered by
botocore handlers on the scan's session, as in test_live_equivalence.py; they never reach the emulator.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from lambdasec.collectors.aws.api import _DENIED, CallStats, is_read_operation
from lambdasec.collectors.aws.collector import CORE_OPERATIONS, ServiceCollector, collect_live
from lambdasec.collectors.aws.session import LiveOptions
from lambdasec.commands.live import iam_action, permissions_policy, read_actions

from .conftest import ACCOUNT, Emulator
from .test_collector import seed
from .test_live_equivalence import emulate_missing_lambda_apis
from .test_live_equivalence import seed as seed_two_regions

FAST: dict[str, Any] = {}


def _post(endpoint: str, path: str, data: bytes = b"") -> None:
    request = urllib.request.Request(f"{endpoint}{path}", data=data, method="POST",
                                     headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  # loopback only
        assert response.status == 200


@pytest.fixture
def recorded(aws: Emulator, tmp_path: Path) -> Iterator[Path]:
    """moto's request recorder, writing to tmp_path, on for the test."""
    from moto.moto_api import recorder

    log = tmp_path / "moto_recording"
    previous = recorder._location
    recorder._location = str(log)
    _post(aws.endpoint, "/moto-api/recorder/reset-recording")
    try:
        yield log
    finally:
        _post(aws.endpoint, "/moto-api/recorder/stop-recording")
        recorder._location = previous


def _sign_what_was_sent(self: Any) -> Any:
    """moto's IAMRequestBase._create_aws_request, re-signing what the client sent: a GET's empty body (not its
    query parameters) and the path as encoded on the wire (moto has decoded it: ``arn%3Aaws`` became ``arn:aws``)."""
    from urllib.parse import quote, unquote

    from botocore.awsrequest import AWSRequest

    signed = self._get_string_between("SignedHeaders=", ",", self._headers["Authorization"]).split(";")
    headers = self._create_headers_for_aws_request(signed, self._headers)
    body = self._body if self._body or self._method in ("GET", "HEAD", "DELETE") else self._data
    path, _, query = self._path.partition("?")
    path = "/".join(quote(unquote(segment), safe="") for segment in path.split("/"))
    request = AWSRequest(method=self._method, url=path + ("?" + query if query else ""), data=body, headers=headers)
    request.context["timestamp"] = headers["X-Amz-Date"]
    return request


@pytest.fixture
def enforced(aws: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Call it once the emulator is seeded: from then on moto authorizes every request against IAM."""
    from moto.iam.access_control import IAMRequestBase

    monkeypatch.setattr(IAMRequestBase, "_create_aws_request", _sign_what_was_sent)

    def enforce() -> None:
        iam = aws.client("iam")  # the test's own requests (seeding, emulated APIs) then come from an admin user
        iam.create_user(UserName="seeder")
        iam.put_user_policy(UserName="seeder", PolicyName="admin", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="seeder")["AccessKey"]
        aws.keys = (key["AccessKeyId"], key["SecretAccessKey"])
        _post(aws.endpoint, "/moto-api/reset-auth", b"0")

    try:
        yield enforce
    finally:
        _post(aws.endpoint, "/moto-api/reset-auth", b"inf")


def _user_with_policy(aws: Emulator, policy: Mapping[str, Any]) -> Any:
    """An IAM user holding exactly ``policy``; a session factory giving sessions with its keys."""
    import boto3

    iam = aws.client("iam")
    iam.create_user(UserName="scanner")
    arn = iam.create_policy(PolicyName="lambdasec", PolicyDocument=json.dumps(policy))["Policy"]["Arn"]
    iam.attach_user_policy(UserName="scanner", PolicyArn=arn)
    key = iam.create_access_key(UserName="scanner")["AccessKey"]

    def factory(**kwargs: Any) -> Any:
        kwargs.pop("profile_name", None)
        if "aws_access_key_id" not in kwargs:  # the starting credentials: the scanner user's
            kwargs.update(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
        session = boto3.session.Session(region_name="us-east-1", **kwargs)
        emulate_missing_lambda_apis(aws, session)
        return session

    factory.key = key["AccessKeyId"]  # type: ignore[attr-defined]
    return factory


def _operation(entry: Mapping[str, Any]) -> tuple[str, str]:
    """(HTTP method, the operation) of a recorded request: query protocols name it in the body (Action=...),
    JSON protocols in X-Amz-Target; REST protocols by method and path."""
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    if isinstance(body, str) and "Action=" in body:
        return entry["method"], parse_qs(body)["Action"][0]
    headers = {name.lower(): value for name, value in entry["headers"].items()}
    if "x-amz-target" in headers:
        return entry["method"], headers["x-amz-target"].rsplit(".", 1)[-1]
    return entry["method"], urlparse(entry["url"]).path


def _emulator_requests(log: Path, key: str | None = None) -> list[tuple[str, str]]:
    """What the emulator received; with ``key``, only the requests signed with that access key."""
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [_operation(entry) for entry in entries
            if key is None or f"Credential={key}/" in {k.lower(): v for k, v in entry["headers"].items()}.get(
                "authorization", "")]


def _assert_all_reads(requests: list[tuple[str, str]]) -> None:
    for method, operation in requests:
        if operation.startswith("/"):  # REST (Lambda): reads are GETs
            assert method in ("GET", "HEAD"), (method, operation)
        else:
            assert operation.startswith(("Get", "List", "Describe")) or operation in (
                "AssumeRole", "GetCallerIdentity"), operation


def _scan(aws: Emulator, factory: Any, services: Mapping[str, ServiceCollector], log: list[tuple[str, str]]) -> Any:
    from lambdasec.collectors.aws.api import RateLimiter

    return collect_live(LiveOptions(regions=("us-east-1", "eu-west-1")), session_factory=factory,
                        services=services, stats=CallStats(), request_log=log,
                        limiter=RateLimiter(default=0, rates={}))


def _real_services() -> tuple[dict[str, ServiceCollector], dict[str, tuple[tuple[str, str], ...]]]:
    from lambdasec.collectors.aws import collector

    try:
        return collector.default_services(), collector.service_operations()
    except ImportError as exc:
        pytest.skip(f"a service module is not there yet: {exc}")


# answered by the test's botocore handlers (moto lacks them): they never reach the emulator
EMULATED = {("lambda", "ListFunctionUrlConfigs"), ("lambda", "ListCodeSigningConfigs"),
            ("signer", "ListSigningProfiles")}


def test_with_exactly_the_printed_policy_every_module_is_complete_and_sends_only_reads(
        aws: Emulator, recorded: Path, enforced: Any) -> None:
    services, operations = _real_services()
    seed_two_regions(aws)
    aws.client("logs", "eu-west-1").create_log_group(logGroupName="/aws/lambda/CleanEuWest1")
    factory = _user_with_policy(aws, permissions_policy())
    enforced()
    _post(aws.endpoint, "/moto-api/recorder/start-recording")
    log: list[tuple[str, str]] = []
    inventory = _scan(aws, factory, services, log)
    assert [gap.message for gap in inventory.coverage_gaps] == []
    assert sorted(fn.name for fn in inventory.functions) == [  # type: ignore[type-var]
        "CleanEuWest1", "CleanUsEast1", "InsecureEuWest1", "InsecureUsEast1"]
    every_service = sorted({service for ops in operations.values() for service, _ in ops} - {"sts"})
    assert [(s.region, s.complete) for s in inventory.scopes] == [("eu-west-1", every_service),
                                                                  ("us-east-1", every_service)]
    # our side: every request is an allowed read, and the printed policy covers each of them
    assert all(is_read_operation(*call) for call in log)
    assert {iam_action(*call) for call in log} - {"sts:GetCallerIdentity"} <= set(read_actions())
    # the emulator's side: it authorized every request the scanner's keys signed, and each was a read
    received = _emulator_requests(recorded, factory.key)
    _assert_all_reads(received)
    assert len(received) == len([call for call in log if call not in EMULATED]) > 20


def test_a_narrower_policy_shows_as_access_denied_gaps_not_as_a_clean_scan(aws: Emulator, enforced: Any) -> None:
    services, _ = _real_services()
    seed_two_regions(aws)
    policy = permissions_policy()
    policy["Statement"][0]["Action"] = [action for action in policy["Statement"][0]["Action"]
                                        if action not in ("lambda:GetPolicy", "logs:DescribeLogGroups")]
    factory = _user_with_policy(aws, policy)
    enforced()
    inventory = _scan(aws, factory, services, [])
    # moto answers a denied JSON-protocol call with an XML error botocore cannot parse: the code is then the
    # HTTP status, "403" (real AWS sends AccessDeniedException)
    kind = "access-denied" if "403" in _DENIED else "aws-error"
    # One gap per refused API and region, however many calls it refused (one GetPolicy per function here).
    assert sorted((g.kind, g.message.split(": ")[0], g.message.endswith(" (2 calls)"))
                  for g in inventory.coverage_gaps) == [
        (kind, f"account {ACCOUNT}, region {region}, {api}", api == "lambda:GetPolicy")
        for region in ("eu-west-1", "us-east-1")
        for api in ("lambda:GetPolicy", "logs:DescribeLogGroups")]
    assert all("not authorized to perform" in g.message for g in inventory.coverage_gaps)
    assert {(s.region, "lambda" in s.complete, "logs" in s.complete) for s in inventory.scopes} == {
        ("eu-west-1", False, False), ("us-east-1", False, False)}


def test_the_real_modules_send_only_reads_the_printed_policy_allows(aws: Emulator, recorded: Path) -> None:
    services, operations = _real_services()
    seed(aws, {"us-east-1": ["a"], "eu-west-1": ["b"]})
    aws.client("lambda").add_permission(FunctionName="a", StatementId="s3", Action="lambda:InvokeFunction",
                                        Principal="s3.amazonaws.com")
    _post(aws.endpoint, "/moto-api/recorder/start-recording")
    log: list[tuple[str, str]] = []
    inventory = _scan(aws, aws.session and (lambda **kw: aws.session()), services, log)
    assert sorted(fn.name for fn in inventory.functions) == ["a", "b"]  # type: ignore[type-var]
    assert all(is_read_operation(*call) for call in log)
    assert {f"{s}:{o}" for s, o in log} <= set(read_actions(operations)) | {"sts:GetCallerIdentity"}
    assert set(log) >= set(CORE_OPERATIONS) & {("sts", "GetCallerIdentity")}
    _assert_all_reads(_emulator_requests(recorded))

