"""The AWS fault matrix: a live scan against the emulator under every failure AWS can hand it.

Each row injects one fault and checks that the scan finishes, reports exactly the coverage gaps the fault
explains (kind, account, region and API named) and keeps every finding it could still establish: the findings
of the clean scan minus those that needed the failed data, about which the live rules say "not evaluated".

Faults are injected where botocore sees AWS: a ``before-send`` handler on each client of the scan's sessions
answers the request as AWS would (the HTTP status, headers and error body of the service's protocol), or sends
it to a port that refuses connections, or to one that accepts and never answers (the client's read timeout).
lambdasec's own code is never patched. The APIs moto 5.2.1 lacks (``ListFunctionUrlConfigs``, the code-signing
listings, Signer's ``ListSigningProfiles`` and ``DescribeSigningJob``) are answered by the same handler, so faults
reach them too.

The account is seeded once for the module (two regions, an insecure and a clean function in each, plus one of
each resource that makes the collectors call their per-resource APIs) and the clean scan is run once; the scan
only reads, so every row scans the same state.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import pytest

from lambdasec.collectors.aws.api import ApiSettings, RateLimiter
from lambdasec.collectors.aws.collector import CORE_OPERATIONS, collect_live, service_operations
from lambdasec.collectors.aws.session import LiveOptions
from lambdasec.engine import ScanSettings, evaluate, fewer_gc_passes
from lambdasec.model.findings import Report
from lambdasec.model.inventory import Inventory
from lambdasec.rules.registry import all_rules

from ..conftest import FIXTURE_CLOCK
from .conftest import ACCOUNT, Emulator
from .test_api import _Body, no_backoff  # noqa: F401  # no_backoff: a fixture, used through usefixtures
from .test_live_equivalence import REGIONS, _zip
from .test_live_equivalence import seed as seed_two_regions

pytestmark = pytest.mark.usefixtures("no_backoff")

HOME, OTHER = "us-east-1", "eu-west-1"
SIGNING_PROFILE: Final = f"arn:aws:signer:{{region}}:{ACCOUNT}:/signing-profiles/release/v1"
CODE_SIGNING: Final = f"arn:aws:lambda:{{region}}:{ACCOUNT}:code-signing-config:csc-0123456789abcdef0"
SIGNING_JOB_ID: Final = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
SIGNING_JOB: Final = f"arn:aws:signer:{HOME}:{ACCOUNT}:/signing-jobs/{SIGNING_JOB_ID}"  # Worker's code's


# ---------------------------------------------------------------- the faults
@dataclass(frozen=True)
class Fault:
    """Which requests to answer (service, operation, region, a text in the body: None = any) and how."""

    answer: str  # "denied", "throttled", "500", "503", "expired", "slow", "refused"
    service: str | None = None
    operation: str | None = None
    region: str | None = None
    body_contains: str | None = None
    times: int | None = None  # the first N matching requests only; None: every one
    after: int = 0  # only once this many requests of the scan went through (credentials expiring mid-scan)
    spared: tuple[str, ...] = ()  # services never touched (IAM's endpoint is global, not the region's)

    def matches(self, service: str, operation: str, region: str, body: str) -> bool:
        return (service not in self.spared and (self.service is None or self.service == service)
                and (self.operation is None or self.operation == operation)
                and (self.region is None or self.region == region)
                and (self.body_contains is None or self.body_contains in body))


# (HTTP status, error code) by answer, for each protocol AWS speaks.
_ERRORS: Final = {
    "denied": {"rest-json": (403, "AccessDeniedException"), "json": (400, "AccessDeniedException"),
               "query": (403, "AccessDenied"), "ec2": (403, "UnauthorizedOperation")},
    "throttled": {"rest-json": (429, "TooManyRequestsException"), "json": (400, "ThrottlingException"),
                  "query": (400, "Throttling"), "ec2": (503, "RequestLimitExceeded")},
    "500": {"rest-json": (500, "InternalFailure"), "json": (500, "InternalFailure"),
            "query": (500, "InternalFailure"), "ec2": (500, "InternalError")},
    "503": {"rest-json": (503, "ServiceUnavailable"), "json": (503, "ServiceUnavailable"),
            "query": (503, "ServiceUnavailable"), "ec2": (503, "Unavailable")},
    "expired": {"rest-json": (403, "ExpiredTokenException"), "json": (400, "ExpiredTokenException"),
                "query": (403, "ExpiredToken"), "ec2": (400, "ExpiredToken")},
}


def error_response(url: str, protocol: str, answer: str) -> Any:
    """The HTTP response AWS sends for this error, in the service's protocol (what botocore parses)."""
    from botocore.awsrequest import AWSResponse

    status, code = _ERRORS[answer][protocol]
    message = f"injected {answer}"
    if protocol == "rest-json":
        headers = {"x-amzn-ErrorType": code, "Content-Type": "application/json"}
        body = json.dumps({"message": message}).encode()
    elif protocol == "json":
        headers = {"Content-Type": "application/x-amz-json-1.1"}
        body = json.dumps({"__type": code, "message": message}).encode()
    elif protocol == "ec2":
        headers = {"Content-Type": "text/xml"}
        body = (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
                "<RequestID>fault</RequestID></Response>").encode()
    else:
        headers = {"Content-Type": "text/xml"}
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                "</Error><RequestId>fault</RequestId></ErrorResponse>").encode()
    return AWSResponse(url, status, headers, _Body(body))


def _path_and_query(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def json_response(url: str, payload: Mapping[str, Any]) -> Any:
    from botocore.awsrequest import AWSResponse

    return AWSResponse(url, 200, {"Content-Type": "application/json"}, _Body(json.dumps(payload).encode()))


class Network:
    """Two loopback ports: one refuses connections (bound, never listening), one accepts and never answers."""

    def __init__(self) -> None:
        self._refusing = socket.socket()
        self._refusing.bind(("127.0.0.1", 0))
        self._stalling = socket.socket()
        self._stalling.bind(("127.0.0.1", 0))
        self._stalling.listen(128)  # the kernel completes the handshakes; nothing ever reads or answers
        self.refused = f"http://127.0.0.1:{self._refusing.getsockname()[1]}"
        self.stalled = f"http://127.0.0.1:{self._stalling.getsockname()[1]}"

    def close(self) -> None:
        self._refusing.close()
        self._stalling.close()


@dataclass
class FaultPlan:
    """The faults of one scan, applied by every client of its sessions; what each request met is logged."""

    faults: tuple[Fault, ...]
    emulator: Emulator
    network: Network
    sent: list[tuple[str, str, str, str]] = field(default_factory=list)  # (region, service, operation, answer)
    _used: dict[int, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _clients: dict[str, Any] = field(default_factory=dict)  # raw Lambda clients per region, for the emulated APIs

    def handler(self, service: str, region: str, protocol: str) -> Callable[..., Any]:
        def before_send(request: Any, event_name: str, **_: Any) -> Any:
            operation = event_name.rsplit(".", 1)[-1]
            body = request.body.decode("utf-8", "replace") if isinstance(request.body, bytes) else str(
                request.body or "")
            answer = self._answer(service, operation, region, body)
            if answer in ("slow", "refused"):
                base = self.network.stalled if answer == "slow" else self.network.refused
                request.url = base + _path_and_query(request.url)
                return None
            if answer in _ERRORS:
                return error_response(request.url, protocol, answer)
            return self.emulator_answer(service, operation, region, request)

        return before_send

    def _answer(self, service: str, operation: str, region: str, body: str) -> str:
        with self._lock:
            answer = "ok"
            for number, fault in enumerate(self.faults):
                if len(self.sent) < fault.after or not fault.matches(service, operation, region, body):
                    continue
                if fault.times is not None and self._used.get(number, 0) >= fault.times:
                    continue
                self._used[number] = self._used.get(number, 0) + 1
                answer = fault.answer
                break
            self.sent.append((region, service, operation, answer))
            return answer

    def seeding_client(self, region: str) -> Any:
        with self._lock:
            if region not in self._clients:
                self._clients[region] = self.emulator.client("lambda", region)
            return self._clients[region]

    def emulator_answer(self, service: str, operation: str, region: str, request: Any) -> Any:
        """The APIs moto lacks, answered from moto's own data; None lets the request reach moto."""
        from urllib.parse import unquote, urlparse

        if (service, operation) == ("lambda", "ListFunctionUrlConfigs"):
            function = unquote(urlparse(request.url).path.split("/")[3])
            seeding = self.seeding_client(region)
            try:
                config = seeding.get_function_url_config(FunctionName=function)
            except seeding.exceptions.ResourceNotFoundException:
                return json_response(request.url, {"FunctionUrlConfigs": []})
            config.pop("ResponseMetadata", None)
            return json_response(request.url, {"FunctionUrlConfigs": [config]})
        if (service, operation) == ("lambda", "ListCodeSigningConfigs"):
            return json_response(request.url, {"CodeSigningConfigs": [{
                "CodeSigningConfigId": "csc-0123456789abcdef0",
                "CodeSigningConfigArn": CODE_SIGNING.format(region=region),
                "AllowedPublishers": {"SigningProfileVersionArns": [SIGNING_PROFILE.format(region=region)]},
                "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Warn"}}]})
        if (service, operation) == ("lambda", "ListFunctionsByCodeSigningConfig"):
            return json_response(request.url, {"FunctionArns": []})
        if (service, operation) == ("signer", "ListSigningProfiles"):
            return json_response(request.url, {"profiles": [{
                "profileName": "release", "profileVersion": "v1", "status": "Active",
                "profileVersionArn": SIGNING_PROFILE.format(region=region),
                "arn": SIGNING_PROFILE.format(region=region).rsplit("/", 1)[0]}]})
        if (service, operation) == ("signer", "DescribeSigningJob"):  # Worker's, revoked (INT017 reports it)
            assert request.url.endswith(f"/signing-jobs/{SIGNING_JOB_ID}"), request.url
            return json_response(request.url, {
                "jobId": SIGNING_JOB_ID, "status": "Succeeded", "profileName": "release", "profileVersion": "v1",
                "signatureExpiresAt": 2119478400,  # 2037-03-01
                "revocationRecord": {"reason": "build host compromised", "revokedAt": 1790929800}})  # 2026-10-02 08:30
        return None


def session_class(plan: FaultPlan, loader: Any) -> type:
    """boto3's Session, whose clients all meet ``plan`` (``loader``: botocore's model files, read once per module)."""
    import boto3
    import botocore.session

    class FaultySession(boto3.session.Session):  # type: ignore[misc]
        def __init__(self, **kwargs: Any) -> None:
            core = botocore.session.Session()
            core.register_component("data_loader", loader)
            super().__init__(botocore_session=core, **kwargs)

        def client(self, service: str, region_name: str | None = None, **kwargs: Any) -> Any:
            client = super().client(service, region_name=region_name, **kwargs)
            protocol = client.meta.service_model.protocol
            client.meta.events.register("before-send", plan.handler(service, client.meta.region_name, protocol))
            return client

    return FaultySession


def faulty_sessions(plan: FaultPlan, loader: Any) -> Callable[..., Any]:
    """A session factory for collect_live: the scan's starting credentials when none are given."""
    cls = session_class(plan, loader)

    def factory(**kwargs: Any) -> Any:
        kwargs.pop("profile_name", None)
        if "aws_access_key_id" not in kwargs:
            kwargs.update(aws_access_key_id="testing", aws_secret_access_key="testing")
        kwargs.setdefault("region_name", HOME)
        return cls(**kwargs)

    return factory


# ---------------------------------------------------------------- the account
def seed_account(aws: Emulator) -> list[str]:
    """The two-region account of test_live_equivalence, plus one of each resource whose reading takes its own API
    (a layer a function uses, a trigger, a trail, a detector, a key, a repository, a log group) in the home
    region, and an Organization of two member accounts; returns the member accounts."""
    seed_two_regions(aws)
    lam = aws.client("lambda", HOME)
    layer = lam.publish_layer_version(LayerName="shared", Content={"ZipFile": _zip()},
                                      CompatibleRuntimes=["python3.12"])["LayerVersionArn"]
    lam.add_layer_version_permission(LayerName="shared", VersionNumber=1, StatementId="org",
                                     Action="lambda:GetLayerVersion", Principal="*")
    role = aws.client("iam").get_role(RoleName=f"Clean{_suffix(HOME)}Role")["Role"]["Arn"]
    signed = aws.client("lambda", HOME)  # moto keeps a SigningJobArn sent with CreateFunction (botocore cannot)
    signed.meta.events.register("before-call.lambda.CreateFunction", _signed_by(SIGNING_JOB))
    signed.create_function(FunctionName="Worker", Runtime="python3.12", Role=role, Handler="app.handler",
                           Code={"ZipFile": _zip()}, Layers=[layer])
    queue = aws.client("sqs", HOME).create_queue(QueueName="jobs")["QueueUrl"]
    queue_arn = aws.client("sqs", HOME).get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName="Worker")
    aws.client("s3", HOME).create_bucket(Bucket="trail-logs")
    aws.client("cloudtrail", HOME).create_trail(Name="main", S3BucketName="trail-logs", IsMultiRegionTrail=True)
    aws.client("guardduty", HOME).create_detector(Enable=True)
    aws.client("kms", HOME).create_key(Description="app")
    aws.client("ecr", HOME).create_repository(repositoryName="app")
    aws.client("logs", HOME).create_log_group(logGroupName="/aws/lambda/Worker")
    for region in REGIONS:  # moto makes a region's default VPC on its first read: not during a timed scan
        aws.client("ec2", region).describe_subnets()
    org = aws.client("organizations")
    org.create_organization(FeatureSet="ALL")
    return [org.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]["AccountId"]
            for name in ("first", "second")]


def _suffix(region: str) -> str:
    return "".join(part.capitalize() for part in region.split("-"))


def _signed_by(job: str) -> Callable[..., None]:
    """A ``before-call`` handler adding ``SigningJobArn`` to a CreateFunction request: Lambda sets it when the
    package is signed, which moto does not do; it keeps the field when the request carries it."""
    def add(params: dict[str, Any], **_: Any) -> None:
        body = json.loads(params["body"])
        body.update(SigningJobArn=job, SigningProfileVersionArn=SIGNING_PROFILE.format(region=HOME))
        params["body"] = json.dumps(body).encode()

    return add


# ---------------------------------------------------------------- scanning
SETTINGS: Final = {"max_attempts": 2, "connect_timeout": 1.0, "read_timeout": 5.0}
Key = tuple[str, str, str]  # a finding: (rule, resource key, variant)


@dataclass
class Scan:
    inventory: Inventory
    report: Report
    plan: FaultPlan

    def findings(self) -> set[Key]:
        return {(f.rule_id, f.resource_key, f.variant) for f in self.report.findings}

    def gaps(self) -> list[tuple[str, str]]:
        """(kind, message) of every gap, without the count of calls a gap stands for (``calls`` has it)."""
        return [(gap.kind, re.sub(r" \(\d+ calls\)$", "", gap.message)) for gap in self.report.coverage_gaps]

    def calls(self) -> list[int]:
        return [int(m[1]) if (m := re.search(r" \((\d+) calls\)$", gap.message)) else 1
                for gap in self.report.coverage_gaps]

    def scope(self, region: str, account: str = ACCOUNT) -> list[str]:
        return next(s.complete for s in self.inventory.scopes if (s.account, s.region) == (account, region))

    def attempts(self, service: str, operation: str) -> list[str]:
        return [answer for _, s, o, answer in self.plan.sent if (s, o) == (service, operation)]


@dataclass
class Account:
    """The seeded emulator of the module, and its clean scans (by regions and workers), made once."""

    emulator: Emulator
    members: list[str]
    network: Network
    loader: Any
    _clean: dict[tuple[tuple[str, ...], int], Scan] = field(default_factory=dict)

    def scan(self, faults: tuple[Fault, ...] = (), options: LiveOptions | None = None, **settings: Any) -> Scan:
        plan = FaultPlan(faults, self.emulator, self.network)
        options = options or LiveOptions(regions=(HOME,), alias_policies=True)  # every read of the collectors
        options.endpoint_url = self.emulator.endpoint
        with fewer_gc_passes():  # as `lambdasec scan` runs: the test's large heap made each row seconds slower
            inventory = collect_live(options, session_factory=faulty_sessions(plan, self.loader),
                                     limiter=RateLimiter(default=0, rates={}),
                                     settings=ApiSettings(**{**SETTINGS, **settings}))
            return Scan(inventory, evaluate(inventory, all_rules(), ScanSettings(now=FIXTURE_CLOCK)), plan)

    def clean(self, regions: tuple[str, ...] = (HOME,), workers: int = 8) -> Scan:
        if (regions, workers) not in self._clean:
            self._clean[(regions, workers)] = self.scan(options=LiveOptions(regions=regions, max_workers=workers,
                                                                            alias_policies=True))
        return self._clean[(regions, workers)]

    def protocol(self, service: str) -> str:
        return str(self.loader.load_service_model(service, "service-2")["metadata"]["protocol"])

    def code(self, service: str, answer: str) -> str:
        return _ERRORS[answer][self.protocol(service)][1]


@pytest.fixture(scope="module")
def account(moto_server: str) -> Iterator[Account]:
    import botocore.loaders

    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  # loopback only
        assert response.status == 200
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN",
                     "AWS_WEB_IDENTITY_TOKEN_FILE"):
            patch.delenv(name, raising=False)
        for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                            ("AWS_DEFAULT_REGION", HOME), ("AWS_ENDPOINT_URL", moto_server),
                            ("AWS_CONFIG_FILE", "/dev/null"), ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")):
            patch.setenv(name, value)
        emulator = Emulator(moto_server)
        members = seed_account(emulator)
        network = Network()
        try:
            yield Account(emulator, members, network, botocore.loaders.create_loader())
        finally:
            network.close()


def unexplained_losses(clean: Scan, faulted: Scan) -> dict[str, set[str]]:
    """Rule -> resources of the clean findings the faulted scan lost although it read their resource and no rule
    said "not evaluated" about it (a finding about a resource that was not read at all is explained by its gap)."""
    kept = faulted.findings()
    judged = {(n.rule_id, n.resource_id) for n in faulted.report.not_evaluated}
    out: dict[str, set[str]] = {}
    for finding in clean.report.findings:
        if (finding.rule_id, finding.resource_key, finding.variant) in kept:
            continue
        if faulted.inventory.get(finding.resource_key) is None:
            continue
        if any((finding.rule_id, subject) in judged for subject in (finding.resource_id, *finding.functions)):
            continue
        name = re.sub(r"/[0-9a-f]{32}$", "", finding.resource_key.rsplit(":", 1)[-1])  # moto's random detector id
        out.setdefault(finding.rule_id, set()).add(name)
    return out


def api_of(message: str) -> str:
    """``lambda:ListFunctions`` from ``account A, region R, lambda:ListFunctions: Code: message``."""
    return message.split(", ", 2)[2].split(": ", 1)[0]


def assert_kept(clean: Scan, faulted: Scan, silent: Mapping[str, set[str]] | None = None) -> None:
    """No finding appears from nowhere, and every one lost is explained (or is a known silent loss)."""
    assert faulted.findings() - clean.findings() == set()
    assert unexplained_losses(clean, faulted) == dict(silent or {})


# ---------------------------------------------------------------- the matrix
READS: Final = tuple(op for ops in service_operations().values() for op in ops)
MATRIX: Final = {
    "access-denied/<every read of the collectors>": "one access-denied gap naming account, region and API; the "
    "service is not complete in the scope; every finding kept except those about what was not read",
    "access-denied/sts:GetCallerIdentity": "one gap (account unknown); nothing read, no finding",
    "access-denied/sts:AssumeRole (--role-arn)": "one gap naming the role's account; nothing read",
    "access-denied/ec2:DescribeRegions": "the API's gap and 'only us-east-1 was read'; us-east-1's findings kept",
    "access-denied/organizations:ListAccounts (--org)": "one gap; nothing read",
    "throttling storm (every attempt throttled)": "one throttled gap after the retries (1 + max_attempts "
    "requests), for lambda (429), kms (JSON), ec2 and iam (query)",
    "short throttling (throttled twice, then answered)": "no gap, the clean scan's findings",
    "5xx transient (500 / 503 once)": "retried, no gap, the clean scan's findings",
    "5xx persistent (500 / 503 every attempt)": "one aws-error gap naming the API",
    "slow response (beyond the read timeout)": "one unreachable gap (ReadTimeoutError) naming the API; the other "
    "services complete",
    "expired credentials after the first K requests": "access-denied gaps (ExpiredToken) for what was not read "
    "(the second region), the first region's findings and IAM kept",
    "unreachable region (connection refused)": "one unreachable gap for the region (later calls to a dead "
    "endpoint are not sent); the other region's findings kept",
    "AssumeRole denied for one Organization member": "one gap naming that account; the others scanned",
    "CLI: scan --aws with a denied API": "exit 3, the gap in the JSON report, the other findings kept",
}


@pytest.mark.parametrize(("service", "operation"), READS, ids=[f"{s}:{o}" for s, o in READS])
def test_access_denied_for_one_read_is_one_gap_and_the_rest_is_kept(account: Account, service: str,
                                                                    operation: str) -> None:
    clean = account.clean()
    faulted = account.scan((Fault("denied", service, operation),))
    assert faulted.gaps() == [("access-denied", f"account {ACCOUNT}, region {HOME}, {service}:{operation}: "
                                                f"{account.code(service, 'denied')}: injected denied")]
    assert faulted.scope(HOME) == [name for name in clean.scope(HOME) if name != service]
    assert_kept(clean, faulted)


def test_what_a_failed_read_left_unknown_is_not_evaluated_not_clean(account: Account) -> None:
    faulted = account.scan((Fault("denied", "lambda", "GetFunction"),))
    functions = [fn for fn in account.clean().inventory.functions if f":{HOME}:" in fn.key]
    assert faulted.calls() == [len(functions)]  # one gap for the API, however many functions it refused
    judged = {(n.rule_id, n.resource_id.rsplit(":", 1)[-1]): n.reason for n in faulted.report.not_evaluated}
    for name in ("InsecureUsEast1", "Worker"):
        assert judged[("RES002", name)] == "its configuration (GetFunction) could not be read (see the coverage gaps)"


def test_a_signing_job_that_cannot_be_read_leaves_its_function_not_evaluated(account: Account) -> None:
    """Worker's code was signed by a job since revoked: the clean scan reads the job after Lambda (the follow-up
    round) and INT017 reports it; with DescribeSigningJob refused, the gap says so and INT017 says "not evaluated"
    for Worker rather than nothing."""
    clean = account.clean()
    worker = f"arn:aws:lambda:{HOME}:{ACCOUNT}:function:Worker"
    assert [job.key for job in clean.inventory.signing_jobs] == [SIGNING_JOB]
    assert clean.attempts("signer", "DescribeSigningJob") == ["ok"]  # once, after Lambda named the job
    assert ("INT017", worker, "revoked") in clean.findings()
    faulted = account.scan((Fault("denied", "signer", "DescribeSigningJob"),))
    assert faulted.gaps() == [("access-denied", f"account {ACCOUNT}, region {HOME}, signer:DescribeSigningJob: "
                                                "AccessDeniedException: injected denied")]
    assert "signer" not in faulted.scope(HOME)
    assert not [f for f in faulted.report.findings if f.rule_id == "INT017"]
    assert [(n.resource_id, n.reason) for n in faulted.report.not_evaluated if n.rule_id == "INT017"] == [
        (worker, f"its signing job {SIGNING_JOB}: signer was not read completely in account {ACCOUNT}, {HOME} "
                 "(see the coverage gaps)")]
    # ListSigningProfiles refused: the job, read in its own call, is still judged
    profiles_denied = account.scan((Fault("denied", "signer", "ListSigningProfiles"),))
    assert ("INT017", worker, "revoked") in profiles_denied.findings()


def test_the_core_rows_cover_every_call_the_scan_makes_before_the_modules() -> None:
    covered = {("sts", "GetCallerIdentity"), ("sts", "AssumeRole"), ("ec2", "DescribeRegions"),
               ("organizations", "ListAccounts")}  # the four tests below, and the Organization member's row
    assert set(CORE_OPERATIONS) == covered


def test_denied_identity_is_one_gap_and_nothing_is_read(account: Account) -> None:
    faulted = account.scan((Fault("denied", "sts", "GetCallerIdentity"),))
    assert faulted.gaps() == [("access-denied", f"account unknown, region {HOME}, sts:GetCallerIdentity: "
                                                "AccessDenied: injected denied")]
    assert (faulted.findings(), faulted.inventory.scopes) == (set(), [])


def test_a_role_that_cannot_be_assumed_is_one_gap_naming_its_account(account: Account) -> None:
    role = "arn:aws:iam::111111111111:role/audit"
    faulted = account.scan((Fault("denied", "sts", "AssumeRole"),), LiveOptions(regions=(HOME,), role_arn=role))
    assert faulted.gaps() == [("access-denied", f"account 111111111111: cannot assume {role}: AccessDenied: "
                                                "injected denied")]
    assert (faulted.findings(), faulted.inventory.scopes) == (set(), [])


def test_denied_region_listing_reads_the_home_region_and_keeps_its_findings(account: Account) -> None:
    faulted = account.scan((Fault("denied", "ec2", "DescribeRegions"),), LiveOptions())
    assert faulted.gaps() == [
        ("access-denied", f"account {ACCOUNT}, region {HOME}, ec2:DescribeRegions: UnauthorizedOperation: "
                          "injected denied"),
        ("access-denied", f"account {ACCOUNT}: the enabled regions could not be listed; only {HOME} was read")]
    assert faulted.findings() == account.clean().findings()


def test_denied_organization_listing_is_one_gap(account: Account) -> None:
    faulted = account.scan((Fault("denied", "organizations", "ListAccounts"),),
                           LiveOptions(regions=(HOME,), org=True, role_name="Audit"))
    assert faulted.gaps() == [("access-denied", f"account {ACCOUNT}, region {HOME}, organizations:ListAccounts: "
                                                "AccessDeniedException: injected denied")]
    assert (faulted.findings(), faulted.inventory.scopes) == (set(), [])


STORMS: Final = (("lambda", "ListFunctions"), ("kms", "ListKeys"), ("ec2", "DescribeSubnets"),
                 ("iam", "GetAccountAuthorizationDetails"))


@pytest.mark.parametrize(("service", "operation"), STORMS, ids=[f"{s}:{o}" for s, o in STORMS])
def test_a_throttling_storm_is_one_throttled_gap_after_the_retries(account: Account, service: str,
                                                                   operation: str) -> None:
    clean = account.clean()
    faulted = account.scan((Fault("throttled", service, operation),))
    assert faulted.gaps() == [("throttled", f"account {ACCOUNT}, region {HOME}, {service}:{operation}: "
                                            f"{account.code(service, 'throttled')}: injected throttled")]
    calls = len(clean.attempts(service, operation))  # IAM's details are read in several calls
    assert faulted.attempts(service, operation) == ["throttled"] * (1 + SETTINGS["max_attempts"]) * calls
    assert_kept(clean, faulted)


@pytest.mark.parametrize("answer", ["throttled", "500", "503"])
def test_a_short_storm_is_retried_away(account: Account, answer: str) -> None:
    faulted = account.scan((Fault(answer, "lambda", "ListFunctions", times=2),
                            Fault(answer, "kms", "ListKeys", times=1)))
    assert faulted.gaps() == []
    assert faulted.attempts("lambda", "ListFunctions") == [answer, answer, "ok"]
    assert faulted.attempts("kms", "ListKeys") == [answer, "ok"]
    assert faulted.findings() == account.clean().findings()


@pytest.mark.parametrize("answer", ["500", "503"])
def test_persistent_server_errors_are_one_gap(account: Account, answer: str) -> None:
    clean = account.clean()
    faulted = account.scan((Fault(answer, "lambda", "GetPolicy"),))
    code = account.code("lambda", answer)
    assert faulted.gaps() == [("aws-error", f"account {ACCOUNT}, region {HOME}, lambda:GetPolicy: {code}: "
                                            f"injected {answer}")]
    assert_kept(clean, faulted)


def test_a_response_slower_than_the_read_timeout_is_a_gap_naming_the_api(account: Account) -> None:
    clean = account.clean()
    faulted = account.scan((Fault("slow", "ec2", "DescribeVpcEndpoints"),), max_attempts=1, read_timeout=1.0)
    [(kind, message)] = faulted.gaps()
    assert (kind, message.partition(": Read timeout")[0]) == (
        "unreachable", f"account {ACCOUNT}, region {HOME}, ec2:DescribeVpcEndpoints: ReadTimeoutError")
    assert faulted.attempts("ec2", "DescribeVpcEndpoints") == ["slow", "slow"]
    assert faulted.scope(HOME) == [name for name in clean.scope(HOME) if name != "ec2"]
    assert_kept(clean, faulted)


def test_credentials_expiring_mid_scan_leave_gaps_for_what_was_not_read(account: Account) -> None:
    clean = account.clean(REGIONS, workers=1)  # one worker: the order of the requests is the scan's own
    # the first request of the second region (the first of all, GetCallerIdentity, is sent to the home region)
    first_home = next(i for i, (region, *_) in enumerate(clean.plan.sent) if i and region == HOME)
    faulted = account.scan((Fault("expired", after=first_home),),
                           LiveOptions(regions=REGIONS, max_workers=1, alias_policies=True))
    assert {(kind, message.split(", ")[1], message.rsplit(": ", 1)[-1]) for kind, message in faulted.gaps()} == {
        ("access-denied", f"region {HOME}", "injected expired")}
    assert sorted(api_of(message) for _, message in faulted.gaps()) == FIRST_READS
    # IAM, read with the first region before the credentials expired, is complete for the whole account
    assert faulted.scope(OTHER) == clean.scope(OTHER) and faulted.scope(HOME) == ["iam"]
    assert_kept(clean, faulted)


# What each module of a region reads first (and then reads nothing more of that service when it fails).
FIRST_READS: Final = sorted([
    "cloudtrail:DescribeTrails", "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets",
    "ec2:DescribeVpcEndpoints", "ecr:DescribeRepositories", "guardduty:ListDetectors", "kms:ListKeys",
    "lambda:ListCodeSigningConfigs", "lambda:ListEventSourceMappings", "lambda:ListFunctions", "lambda:ListLayers",
    "logs:DescribeLogGroups", "signer:ListSigningProfiles"])


def test_an_unreachable_region_is_one_gap_and_the_other_is_kept(account: Account) -> None:
    clean = account.clean(REGIONS, workers=1)  # the expired-credentials row's: the same findings as 8 workers
    faulted = account.scan((Fault("refused", region=OTHER, spared=("iam", "sts")),),
                           LiveOptions(regions=REGIONS, alias_policies=True),
                           max_attempts=0)
    [(kind, message)] = faulted.gaps()
    assert kind == "unreachable"
    assert message.startswith(f"account {ACCOUNT}, region {OTHER}: unreachable, nothing read (")
    assert "EndpointConnectionError" in message
    assert message.endswith(" call(s) to cloudtrail, ec2, ecr, guardduty, kms, lambda, logs, signer failed or "
                            "were not made")
    assert faulted.scope(OTHER) == ["iam"] and faulted.scope(HOME) == clean.scope(HOME)
    assert {key for key in faulted.findings() if f":{OTHER}:" not in key[1]} == {
        key for key in clean.findings() if f":{OTHER}:" not in key[1]}
    assert_kept(clean, faulted)


def test_a_member_account_whose_role_cannot_be_assumed_is_one_gap(account: Account) -> None:
    first, second = account.members
    role = f"arn:aws:iam::{first}:role/Audit"
    faulted = account.scan((Fault("denied", "sts", "AssumeRole", body_contains=first),),
                           LiveOptions(regions=(HOME,), org=True, role_name="Audit"))
    assert faulted.gaps() == [("access-denied", f"account {first}: cannot assume {role}: AccessDenied: "
                                                "injected denied")]
    assert sorted(s.account for s in faulted.inventory.scopes) == sorted([ACCOUNT, second])
    assert faulted.scope(HOME, second) == faulted.scope(HOME)
    own = {key for key in faulted.findings() if f":{second}:" not in key[1]}
    assert own == account.clean().findings()


def test_the_command_line_exits_3_and_keeps_the_findings(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    """`lambdasec scan --aws` with its own settings (retries, rate limits): boto3's Session is the faulty one."""
    import boto3
    from click.testing import CliRunner

    from lambdasec.cli import main

    clean = account.clean()  # before boto3's Session is replaced
    plan = FaultPlan((Fault("denied", "lambda", "GetPolicy"),), account.emulator, account.network)
    for region in REGIONS:
        plan.seeding_client(region)  # made now, with boto3's own Session
    monkeypatch.setattr(boto3.session, "Session", session_class(plan, account.loader))
    result = CliRunner().invoke(main, ["scan", "--aws", "--region", HOME, "-f", "json", "--fail-on", "none"],
                                catch_exceptions=False)
    assert result.exit_code == 3
    report = json.loads(result.stdout)
    assert [(gap["kind"], gap["message"]) for gap in report["coverage_gaps"]] == [
        ("access-denied", f"account {ACCOUNT}, region {HOME}, lambda:GetPolicy: AccessDeniedException: "
                          "injected denied (3 calls)")]  # one per function of the region
    kept = {(f["rule_id"], f["resource"]["id"]) for f in report["findings"]}  # a live resource's id is its key
    lost = {(rule, key) for rule, key, _ in clean.findings()} - kept
    assert sorted(lost) == sorted((rule, f"arn:aws:lambda:{HOME}:{ACCOUNT}:function:InsecureUsEast1{suffix}")
                                  for rule, suffix in (("EXP003", "#policy/public-url"), ("EXP004", "#policy/s3"),
                                                       ("RES001", "")))
    # ... and each lost one is "not evaluated" for that function, with why
    function = f"arn:aws:lambda:{HOME}:{ACCOUNT}:function:InsecureUsEast1"
    judged = {(n["rule_id"], n["reason"]) for n in report["not_evaluated"] if n["resource"] == function}
    assert {("EXP003", "its resource policy could not be read (see the coverage gaps)"),
            ("EXP004", "its resource policy could not be read (see the coverage gaps)"),
            ("RES001", "its resource policy could not be read (see the coverage gaps)")} <= judged
