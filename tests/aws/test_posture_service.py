"""Account posture of a live account (moto, and botocore's Stubber or a ``before-call`` handler where moto lacks
the API): CloudTrail, GuardDuty, KMS, Lambda log groups, Signer profiles and signing jobs, and ECR normalized like
the CloudFormation collector's, and the rules judging them."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace
from typing import Any

import pytest

from lambdasec.collectors.aws import posture_service
from lambdasec.collectors.aws.api import Api, ApiSettings, RateLimiter, Scope
from lambdasec.collectors.aws.posture_service import (
    OPERATIONS,
    collect_named_log_groups,
    collect_posture,
    collect_signing_jobs,
    detector_features,
    emits_trail_here,
    scans_on_push,
    signing_jobs_of,
    tag_exclusions,
)
from lambdasec.engine import ScanSettings, evaluate
from lambdasec.iam.policy import parse_document
from lambdasec.model.inventory import (
    CodeLocation,
    EcrRepository,
    Function,
    GuardDutyDetector,
    Inventory,
    KmsKey,
    LogGroup,
    ScannedScope,
    SigningJob,
    SigningProfile,
    Trail,
)
from lambdasec.model.location import Location
from lambdasec.model.values import Unresolved
from lambdasec.rules.registry import all_rules

from ..conftest import FIXTURE_CLOCK
from .conftest import ACCOUNT, Answer, Emulator

REGION = "us-east-1"
LAMBDA_DATA = [{"Name": "Lambda invocations", "FieldSelectors": [
    {"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "resources.type", "Equals": ["AWS::Lambda::Function"]}]}]
S3_DATA = [{"ReadWriteType": "All", "IncludeManagementEvents": True,
            "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]
PROFILES = f"arn:aws:signer:{REGION}:{ACCOUNT}:/signing-profiles"


def _profile(name: str, version: str, status: str) -> dict[str, Any]:
    arn = f"{PROFILES}/{name}"
    return {"profileName": name, "profileVersion": version, "profileVersionArn": f"{arn}/{version}",
            "platformId": "AWSLambda-SHA384-ECDSA", "signatureValidityPeriod": {"value": 135, "type": "MONTHS"},
            "status": status, "arn": arn}


class StubbedSignerSession:
    """A boto3 session whose Signer clients answer from botocore's Stubber: moto 5.2.1 has no ListSigningProfiles
    (its server answers 404). Every other service goes to moto. The stubbed pages check the request parameters."""

    def __init__(self, real: Any, pages: list[list[dict[str, Any]]]) -> None:
        self.real, self.pages, self.stubbers = real, pages, []

    def client(self, service: str, **kwargs: Any) -> Any:
        from botocore.stub import Stubber

        client = self.real.client(service, **kwargs)
        if service == "signer":
            stubber = Stubber(client)
            for index, page in enumerate(self.pages):
                expected: dict[str, Any] = {"includeCanceled": True, "statuses": ["Active", "Canceled", "Revoked"]}
                response: dict[str, Any] = {"profiles": page}
                if index:
                    expected["nextToken"] = f"page{index}"
                if index + 1 < len(self.pages):
                    response["nextToken"] = f"page{index + 1}"
                stubber.add_response("list_signing_profiles", response, expected)
            stubber.activate()
            self.stubbers.append(stubber)
        return client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def _api(aws: Emulator, region: str = REGION, pages: list[list[dict[str, Any]]] | None = None,
         log: list[tuple[str, str]] | None = None) -> tuple[Api, StubbedSignerSession]:
    session = StubbedSignerSession(aws.session(), [[]] if pages is None else pages)
    api = Api(Scope(ACCOUNT, region, session, aws.endpoint), limiter=RateLimiter(default=0, rates={}),
              settings=ApiSettings(request_log=log))
    return api, session


def _seed(aws: Emulator) -> dict[str, Any]:
    seeded: dict[str, Any] = {}
    aws.client("s3", REGION).create_bucket(Bucket="trail-bucket")
    trails = aws.client("cloudtrail", REGION)
    for name, multi in (("org-audit", True), ("stopped", False), ("s3-only", False)):
        trails.create_trail(Name=name, S3BucketName="trail-bucket", IsMultiRegionTrail=multi)
    trails.start_logging(Name="org-audit")
    trails.start_logging(Name="s3-only")
    trails.put_event_selectors(TrailName="org-audit", AdvancedEventSelectors=LAMBDA_DATA)
    trails.put_event_selectors(TrailName="s3-only", EventSelectors=S3_DATA)
    aws.client("cloudtrail", "eu-west-1").create_trail(Name="eu-home", S3BucketName="trail-bucket",
                                                       IsMultiRegionTrail=True)

    guardduty = aws.client("guardduty", REGION)
    seeded["detector"] = guardduty.create_detector(
        Enable=True, DataSources={"S3Logs": {"Enable": True}},
        Features=[{"Name": "LAMBDA_NETWORK_LOGS", "Status": "ENABLED"}])["DetectorId"]

    kms = aws.client("kms", REGION)
    seeded["rotating"] = kms.create_key(Description="env vars")["KeyMetadata"]
    kms.enable_key_rotation(KeyId=seeded["rotating"]["KeyId"])
    seeded["signing"] = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]

    logs = aws.client("logs", REGION)
    for name in ("/aws/lambda/kept", "/aws/lambda/forever", "/ecs/other"):
        logs.create_log_group(logGroupName=name)
    logs.put_retention_policy(logGroupName="/aws/lambda/kept", retentionInDays=30)

    ecr = aws.client("ecr", REGION)
    ecr.create_repository(repositoryName="prod-api", imageTagMutability="IMMUTABLE")
    ecr.create_repository(repositoryName="dev-api", imageScanningConfiguration={"scanOnPush": True})
    ecr.put_registry_scanning_configuration(scanType="ENHANCED", rules=[{
        "scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [{"filter": "prod-*", "filterType": "WILDCARD"}]}])
    return seeded


def _trail_arn(name: str, region: str = REGION) -> str:
    return f"arn:aws:cloudtrail:{region}:{ACCOUNT}:trail/{name}"


def test_posture_objects_are_normalized(aws: Emulator) -> None:
    seeded = _seed(aws)
    log: list[tuple[str, str]] = []
    pages = [[_profile("release", "a1b2c3d4e5", "Active")], [_profile("old", "f6e5d4c3b2", "Revoked")]]
    api, session = _api(aws, pages=pages, log=log)
    inventory = Inventory()
    collect_posture(api, inventory, SimpleNamespace(regions=()))
    assert api.gaps == []
    assert all(api.ok(service) for service in ("cloudtrail", "guardduty", "kms", "logs", "signer", "ecr"))
    assert set(log) <= set(OPERATIONS)
    for stubber in session.stubbers:
        stubber.assert_no_pending_responses()

    def trail(name: str, logging: bool, multi: bool = False, **selectors: Any) -> Trail:
        arn = _trail_arn(name)
        return Trail(key=arn, id=arn, type="AWS::CloudTrail::Trail", location=Location(arn=arn, region=REGION),
                     is_logging=logging, multi_region=multi, **selectors)

    # eu-home is a multi-region trail homed in eu-west-1: that region's scope emits it, not this one.
    assert sorted(inventory.trails, key=lambda t: t.key) == [
        trail("org-audit", True, True, advanced_event_selectors=LAMBDA_DATA),
        trail("s3-only", True, event_selectors=S3_DATA),
        trail("stopped", False),
    ]

    detector = f"arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/{seeded['detector']}"
    assert inventory.guardduty_detectors == [GuardDutyDetector(
        key=detector, id=detector, type="AWS::GuardDuty::Detector", location=Location(arn=detector, region=REGION),
        enabled=True, features={"LAMBDA_NETWORK_LOGS": "ENABLED", "CLOUD_TRAIL": "DISABLED", "DNS_LOGS": "DISABLED",
                                "FLOW_LOGS": "DISABLED", "S3_DATA_EVENTS": "ENABLED",
                                "EKS_AUDIT_LOGS": "DISABLED"})]

    rotating, signing = seeded["rotating"], seeded["signing"]
    kms = aws.client("kms", REGION)
    assert sorted(inventory.kms_keys, key=lambda k: k.key) == sorted([
        KmsKey(key=key["Arn"], id=key["Arn"], type="AWS::KMS::Key", location=Location(arn=key["Arn"], region=REGION),
               key_policy=parse_document(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]),
               rotation_enabled=rotation)
        for key, rotation in ((rotating, True), (signing, False))
    ], key=lambda k: k.key)
    assert log.count(("kms", "GetKeyRotationStatus")) == 1  # an asymmetric key has no rotation to ask about

    def group(name: str, retention: int | None) -> LogGroup:
        arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"
        return LogGroup(key=arn, id=arn, type="AWS::Logs::LogGroup", location=Location(arn=arn, region=REGION),
                        name=name, retention_days=retention)

    assert sorted(inventory.log_groups, key=lambda g: g.key) == [group("/aws/lambda/forever", None),
                                                                  group("/aws/lambda/kept", 30)]

    def profile(name: str, version: str, status: str) -> SigningProfile:
        arn = f"{PROFILES}/{name}/{version}"
        return SigningProfile(key=arn, id=arn, type="AWS::Signer::SigningProfile",
                              location=Location(arn=arn, region=REGION), name=name, status=status)

    assert inventory.signing_profiles == [profile("release", "a1b2c3d4e5", "Active"),
                                          profile("old", "f6e5d4c3b2", "Revoked")]

    def repository(name: str, mutability: str, scanned: bool) -> EcrRepository:
        arn = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{name}"
        return EcrRepository(key=arn, id=arn, type="AWS::ECR::Repository", location=Location(arn=arn, region=REGION),
                             name=name, tag_mutability=mutability, scan_on_push=scanned)

    # ENHANCED registry scanning: its rules decide (prod-* scanned continuously); dev-api's own flag is ignored.
    assert sorted(inventory.ecr_repositories, key=lambda r: r.key) == [
        repository("dev-api", "MUTABLE", False), repository("prod-api", "IMMUTABLE", True)]


def test_observability_rules_judge_live_trails_and_log_groups(aws: Emulator) -> None:
    _seed(aws)
    api, _ = _api(aws)
    inventory = Inventory()
    collect_posture(api, inventory, SimpleNamespace(regions=()))
    for name in ("kept", "forever"):
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        inventory.add(inventory.functions, Function(
            key=arn, id=arn, type="AWS::Lambda::Function", location=Location(arn=arn, region=REGION), name=name,
            runtime="python3.12", handler="app.handler", tracing_mode="Active"))
    report = evaluate(inventory, all_rules(), ScanSettings(now=FIXTURE_CLOCK))
    obs = sorted((f.rule_id, f.resource_id, tuple(f.functions)) for f in report.findings if f.rule_id.startswith("OBS"))
    forever = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/forever"
    assert obs == [
        ("OBS002", forever, (f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:forever",)),
        ("OBS003", _trail_arn("s3-only"), ()),  # data events of S3 only
        ("OBS003", _trail_arn("stopped"), ()),  # not logging
    ]


def test_each_trail_is_emitted_once_per_account(aws: Emulator) -> None:
    """A multi-region trail appears in every region (shadow trails): its home region emits it; when the scan names
    its regions and the home region is not among them, the first scanned region does."""
    _seed(aws)
    home = _trail_arn("eu-home", "eu-west-1")
    emitted: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for region, scanned in (("us-east-1", ()), ("eu-west-1", ()), ("us-east-1", ("us-east-1", "us-west-2")),
                            ("us-west-2", ("us-east-1", "us-west-2"))):
        api, _ = _api(aws, region)
        inventory = Inventory()
        posture_service.collect_trails(api, inventory, SimpleNamespace(regions=scanned))
        emitted[(region, scanned)] = sorted(t.key for t in inventory.trails)
    assert home not in emitted[("us-east-1", ())]
    assert emitted[("eu-west-1", ())] == [home]  # its own region; the us-east-1 multi-region trail stays there
    assert home in emitted[("us-east-1", ("us-east-1", "us-west-2"))]
    assert emitted[("us-west-2", ("us-east-1", "us-west-2"))] == []
    assert [emits_trail_here("eu-west-1", r, ("eu-west-1", "us-east-1")) for r in ("eu-west-1", "us-east-1")] == [
        True, False]


def test_services_not_set_up_are_not_failures(aws: Emulator) -> None:
    log: list[tuple[str, str]] = []
    api, _ = _api(aws, "eu-west-2", log=log)
    inventory = Inventory()
    collect_posture(api, inventory, SimpleNamespace(regions=()))
    assert api.gaps == [] and all(api.ok(s) for s in ("cloudtrail", "guardduty", "kms", "logs", "signer", "ecr"))
    assert (inventory.trails, inventory.guardduty_detectors, inventory.kms_keys, inventory.log_groups,
            inventory.signing_profiles, inventory.ecr_repositories) == ([], [], [], [], [], [])
    # Nothing listed, nothing more asked (no per-item call, no registry configuration without repositories).
    assert log == [("cloudtrail", "DescribeTrails"), ("guardduty", "ListDetectors"), ("kms", "ListKeys"),
                   ("logs", "DescribeLogGroups"), ("signer", "ListSigningProfiles"), ("ecr", "DescribeRepositories")]


def test_kms_keys_beyond_the_bound_are_a_gap(aws: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(posture_service, "MAX_KMS_KEYS", 2)
    kms = aws.client("kms", REGION)
    for index in range(3):
        kms.create_key(Description=f"key {index}")
    api, _ = _api(aws)
    inventory = Inventory()
    posture_service.collect_kms(api, inventory)
    assert len(inventory.kms_keys) == 2
    [gap] = api.gaps
    assert gap.kind == "truncated" and "kms:ListKeys: more than 2 KMS keys" in gap.message
    assert not api.ok("kms")


def test_unreadable_trail_details_are_unresolved_not_absent(aws: Emulator) -> None:
    """GetTrailStatus and GetEventSelectors denied (a botocore before-call handler answers AccessDenied): the trail
    is kept, and OBS003 says "not evaluated" instead of reporting a trail without data events."""
    from botocore.awsrequest import AWSResponse

    _seed(aws)
    session = aws.session()

    def deny(params: dict[str, Any], **_: Any) -> Any:
        return AWSResponse(params["url"], 403, {}, None), {"Error": {"Code": "AccessDeniedException", "Message": "no"}}

    session.events.register("before-call.cloudtrail.GetTrailStatus", deny)
    session.events.register("before-call.cloudtrail.GetEventSelectors", deny)
    api = Api(Scope(ACCOUNT, REGION, session, aws.endpoint), limiter=RateLimiter(default=0, rates={}))
    api.settings.max_attempts = 1
    inventory = Inventory()
    posture_service.collect_trails(api, inventory, SimpleNamespace(regions=()))
    assert len(inventory.trails) == 3 and not api.ok("cloudtrail")
    assert {gap.kind for gap in api.gaps} == {"access-denied"}
    trail = inventory.trails[0]
    assert trail.is_logging == Unresolved("GetTrailStatus", "the trail's status could not be read")
    report = evaluate(inventory, all_rules(), ScanSettings(now=FIXTURE_CLOCK))
    assert not [f for f in report.findings if f.rule_id == "OBS003"]
    assert sorted(n.resource_id for n in report.not_evaluated if n.rule_id == "OBS003") == sorted(
        _trail_arn(name) for name in ("org-audit", "s3-only", "stopped"))


def test_detector_features_and_registry_scanning_rules() -> None:
    # Features win over the older DataSources for the same feature.
    assert detector_features({"Features": [{"Name": "S3_DATA_EVENTS", "Status": "DISABLED"}],
                              "DataSources": {"S3Logs": {"Status": "ENABLED"}, "MalwareProtection": {
                                  "ScanEc2InstanceWithFindings": {"EbsVolumes": {"Status": "ENABLED"}}}}}) == {
        "S3_DATA_EVENTS": "DISABLED", "EBS_MALWARE_PROTECTION": "ENABLED"}
    basic = {"scanType": "BASIC", "rules": [{"scanFrequency": "SCAN_ON_PUSH",
                                             "repositoryFilters": [{"filter": "team/*", "filterType": "WILDCARD"}]}]}
    assert [scans_on_push("team/api", False, basic), scans_on_push("other", True, basic),
            scans_on_push("other", False, basic), scans_on_push("other", True, None)] == [True, True, False, True]
    enhanced = {"scanType": "ENHANCED", "rules": [{"scanFrequency": "MANUAL",
                                                   "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}]}
    assert scans_on_push("any", True, enhanced) is False



def test_tag_mutability_exclusion_filters_are_read(aws: Emulator) -> None:
    """ECR's *_WITH_EXCLUSION kinds come with their wildcard filters (moto 5.2.1 keeps them), which INT016 and
    INT005 need to tell a movable tag from a fixed one."""
    ecr = aws.client("ecr", REGION)
    ecr.create_repository(repositoryName="web", imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
                          imageTagMutabilityExclusionFilters=[{"filter": "dev-*", "filterType": "WILDCARD"},
                                                              {"filter": "latest", "filterType": "WILDCARD"}])
    ecr.create_repository(repositoryName="api", imageTagMutability="MUTABLE_WITH_EXCLUSION",
                          imageTagMutabilityExclusionFilters=[{"filter": "v*", "filterType": "WILDCARD"}])
    ecr.create_repository(repositoryName="plain")
    api, _ = _api(aws)
    inventory = Inventory()
    posture_service.collect_ecr(api, inventory)
    assert api.gaps == []
    assert sorted((r.name, r.tag_mutability, r.tag_mutability_exclusions) for r in inventory.ecr_repositories) == [
        ("api", "MUTABLE_WITH_EXCLUSION", ["v*"]), ("plain", "MUTABLE", None),
        ("web", "IMMUTABLE_WITH_EXCLUSION", ["dev-*", "latest"])]
    # a filter type lambdasec does not know: the filters are not known (nothing is guessed from the others)
    assert tag_exclusions([{"filter": "v*", "filterType": "WILDCARD"}, {"filter": "^v", "filterType": "REGEX"}]) is None
    assert tag_exclusions([]) is None and tag_exclusions(None) is None

    registry = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
    for name, image in (("release", f"{registry}/api:v3"), ("nightly", f"{registry}/api:nightly"),
                        ("dev", f"{registry}/web:dev-1"), ("prod", f"{registry}/web:prod")):
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        inventory.add(inventory.functions, Function(
            key=arn, id=arn, type="AWS::Lambda::Function", location=Location(arn=arn, region=REGION), name=name,
            package_type="Image", code=CodeLocation("image", image)))
    inventory.scopes = [ScannedScope(ACCOUNT, REGION, ["ecr", "lambda"])]
    report = evaluate(inventory, all_rules(), ScanSettings(now=FIXTURE_CLOCK))
    flagged = sorted((f.rule_id, f.resource_id.rsplit(":", 1)[-1]) for f in report.findings
                     if f.rule_id in ("INT005", "INT016"))
    assert flagged == [("INT016", "dev"), ("INT016", "nightly")]  # INT005 leaves read repositories to INT016


JOBS = f"arn:aws:signer:{REGION}:{ACCOUNT}:/signing-jobs"


def _job_answers(session: Any, answers: dict[str, Any], asked: list[str]) -> None:
    """moto 5.2.1 has no DescribeSigningJob (its server answers 404): a ``before-call`` handler on the scan's own
    session answers it, per job id, as Signer would (a parsed response, or an error code); ``asked`` records the
    job ids requested."""
    from botocore.awsrequest import AWSResponse

    def describe(params: dict[str, Any], **_: Any) -> Any:
        job_id = params["url_path"].rsplit("/", 1)[-1]
        asked.append(job_id)
        answer = answers[job_id]
        if isinstance(answer, str):
            return AWSResponse(params["url_path"], 404 if answer == "ResourceNotFoundException" else 403, {}, None), {
                "Error": {"Code": answer, "Message": "injected"}}
        return Answer(), answer

    session.events.register("before-call.signer.DescribeSigningJob", describe)


def _signed(name: str, job: str | None, region: str = REGION, account: str = ACCOUNT) -> Function:
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    return Function(key=arn, id=arn, type="AWS::Lambda::Function", location=Location(arn=arn, region=REGION),
                    name=name, runtime="python3.12", handler="app.handler",
                    signing_job=f"arn:aws:signer:{region}:{account}:/signing-jobs/{job}" if job else None)


def test_signing_jobs_are_read_once_each_in_their_own_account_and_region(aws: Emulator) -> None:
    expires = dt.datetime(2037, 3, 1, tzinfo=dt.timezone.utc)
    answers: dict[str, Any] = {
        "job-a": {"jobId": "job-a", "status": "Succeeded", "profileName": "release", "profileVersion": "a1b2c3d4e5",
                  "signatureExpiresAt": expires},
        "job-b": {"jobId": "job-b", "status": "Succeeded", "profileName": "release", "profileVersion": "a1b2c3d4e5",
                  "signatureExpiresAt": expires, "revocationRecord": {
                      "reason": "build host compromised", "revokedBy": f"arn:aws:iam::{ACCOUNT}:user/sec",
                      "revokedAt": dt.datetime(2026, 10, 2, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))}},
        "job-c": {"jobId": "job-c", "status": "Succeeded", "revocationRecord": {}},  # an empty record: not revoked
        "job-gone": "ResourceNotFoundException",
    }
    functions = [_signed("a", "job-a"), _signed("a2", "job-a"), _signed("b", "job-b"), _signed("c", "job-c"),
                 _signed("gone", "job-gone"), _signed("unsigned", None),
                 _signed("tooling", "job-t", account="210987654321"), _signed("eu", "job-eu", region="eu-west-1")]
    assert signing_jobs_of(functions) == {
        (ACCOUNT, REGION): {f"{JOBS}/{job}" for job in ("job-a", "job-b", "job-c", "job-gone")},
        ("210987654321", REGION): {f"arn:aws:signer:{REGION}:210987654321:/signing-jobs/job-t"},
        (ACCOUNT, "eu-west-1"): {f"arn:aws:signer:eu-west-1:{ACCOUNT}:/signing-jobs/job-eu"}}
    session = aws.session()
    asked: list[str] = []
    _job_answers(session, answers, asked)
    log: list[tuple[str, str]] = []
    api = Api(Scope(ACCOUNT, REGION, session, aws.endpoint), limiter=RateLimiter(default=0, rates={}),
              settings=ApiSettings(request_log=log))
    inventory = Inventory()
    collect_signing_jobs(api, inventory, SimpleNamespace(), functions)
    # each job of this account and region once, in ARN order; the other account's and region's are not asked
    assert asked == ["job-a", "job-b", "job-c", "job-gone"]
    assert log == [("signer", "DescribeSigningJob")] * 4
    assert api.gaps == [] and api.ok("signer")  # a job Signer does not know is an answer, not a failure

    def job(job_id: str, **fields: Any) -> SigningJob:
        arn = f"{JOBS}/{job_id}"
        return SigningJob(key=arn, id=arn, type="AWS::Signer::SigningJob", location=Location(arn=arn, region=REGION),
                          **{"status": "Succeeded", **fields})

    assert inventory.signing_jobs == [
        job("job-a", profile_name="release", profile_version="a1b2c3d4e5",
            signature_expires_at="2037-03-01T00:00:00+00:00"),
        job("job-b", profile_name="release", profile_version="a1b2c3d4e5", revoked=True,
            revoked_at="2026-10-02T08:30:00+00:00", revocation_reason="build host compromised",
            signature_expires_at="2037-03-01T00:00:00+00:00"),
        job("job-c"), job("job-gone", status="", found=False)]

    for fn in functions:
        inventory.add(inventory.functions, fn)
    inventory.scopes = [ScannedScope(ACCOUNT, REGION, ["lambda", "signer"])]
    report = evaluate(inventory, all_rules(), ScanSettings(now=FIXTURE_CLOCK))
    assert [(f.resource_id.rsplit(":", 1)[-1], f.variant) for f in report.findings if f.rule_id == "INT017"] == [
        ("b", "revoked")]
    assert sorted((n.resource_id.rsplit(":", 1)[-1], n.reason) for n in report.not_evaluated
                  if n.rule_id == "INT017") == [
        ("eu", f"its signing job arn:aws:signer:eu-west-1:{ACCOUNT}:/signing-jobs/job-eu: account {ACCOUNT} in "
               "eu-west-1 was not part of the scan"),
        ("gone", f"its signing job {JOBS}/job-gone was not found in Signer (account {ACCOUNT}, {REGION})"),
        ("tooling", f"its signing job arn:aws:signer:{REGION}:210987654321:/signing-jobs/job-t: account 210987654321 "
                    f"in {REGION} was not part of the scan")]


def test_a_signing_job_that_cannot_be_read_is_a_gap_and_not_evaluated(aws: Emulator) -> None:
    session = aws.session()
    asked: list[str] = []
    _job_answers(session, {"job-a": "AccessDeniedException"}, asked)
    api = Api(Scope(ACCOUNT, REGION, session, aws.endpoint), limiter=RateLimiter(default=0, rates={}),
              settings=ApiSettings(max_attempts=0))
    inventory = Inventory()
    collect_signing_jobs(api, inventory, SimpleNamespace(), [_signed("a", "job-a")])
    assert inventory.signing_jobs == [] and not api.ok("signer")
    assert [(gap.kind, gap.message) for gap in api.gaps] == [
        ("access-denied", f"account {ACCOUNT}, region {REGION}, signer:DescribeSigningJob: AccessDeniedException: "
                          "injected")]
    # nothing to read in a region where Signer is not offered (botocore's endpoint data): no call, no gap
    quiet = Api(Scope(ACCOUNT, "mx-central-9", session, aws.endpoint), limiter=RateLimiter(default=0, rates={}))
    collect_signing_jobs(quiet, Inventory(), SimpleNamespace(), [_signed("x", "job-x", region="mx-central-9")])
    assert asked == ["job-a"] and quiet.gaps == []


# ---------------------------------------------------------------- log groups functions name
def _logging_to(name: str, group: str | None, region: str = REGION, account: str = ACCOUNT) -> Function:
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return Function(key=arn, id=arn, type="AWS::Lambda::Function", location=Location(arn=arn, region=region),
                    name=name, runtime="python3.12", handler="app.handler", log_group=group)


def test_log_groups_functions_name_outside_the_lambda_prefix_are_read_after_lambda(aws: Emulator) -> None:
    """The first round reads /aws/lambda/*; a function whose LoggingConfig names another group had its group
    unread, so OBS002 found nothing for it (clean by omission). The follow-up reads exactly those groups."""
    logs = aws.client("logs", REGION)
    logs.create_log_group(logGroupName="/app/payments")  # no retention: kept forever
    logs.create_log_group(logGroupName="/app/orders")
    logs.put_retention_policy(logGroupName="/app/orders", retentionInDays=30)
    logs.create_log_group(logGroupName="/app/unused")  # no function writes there: not read
    logs.create_log_group(logGroupName="/aws/lambda/default")
    functions = [_logging_to("pay", "/app/payments"), _logging_to("pay2", "/app/payments"),
                 _logging_to("orders", "/app/orders"), _logging_to("default", None),
                 _logging_to("prefixed", "/aws/lambda/shared"),  # the first round's prefix: read there
                 _logging_to("eu", "/app/eu", region="eu-west-1"), _logging_to("gone", "/app/deleted")]
    log: list[tuple[str, str]] = []
    api = Api(Scope(ACCOUNT, REGION, aws.session(), aws.endpoint), limiter=RateLimiter(default=0, rates={}),
              settings=ApiSettings(request_log=log))
    inventory = Inventory()
    collect_named_log_groups(api, inventory, SimpleNamespace(), functions)
    assert log == [("logs", "DescribeLogGroups")]  # up to 50 names in one call (moto answers every group)
    assert api.gaps == [] and api.ok("logs")
    assert [(g.name, g.retention_days) for g in inventory.log_groups] == [("/app/orders", 30), ("/app/payments", None)]
    for fn in functions:
        inventory.add(inventory.functions, fn)
    report = evaluate(inventory, all_rules(), ScanSettings(now=FIXTURE_CLOCK))
    [finding] = [f for f in report.findings if f.rule_id == "OBS002"]
    assert (finding.resource_id.rsplit(":", 1)[-1], sorted(finding.function_keys)) == (
        "/app/payments", [functions[0].key, functions[1].key])


def test_many_named_log_groups_are_asked_50_at_a_time(aws: Emulator) -> None:
    asked: list[list[str]] = []

    def answer(params: dict[str, Any], **_: Any) -> tuple[Answer, dict[str, Any]]:
        names = json.loads(params["body"])["logGroupIdentifiers"]
        asked.append(names)
        return Answer(), {"logGroups": [{"logGroupName": name, "retentionInDays": 7} for name in names]}

    session = aws.session()
    session.events.register("before-call.logs.DescribeLogGroups", answer)
    api = Api(Scope(ACCOUNT, REGION, session, aws.endpoint), limiter=RateLimiter(default=0, rates={}))
    inventory = Inventory()
    collect_named_log_groups(api, inventory, SimpleNamespace(),
                             [_logging_to(f"f{i}", f"/app/group-{i:03d}") for i in range(120)])
    assert [len(names) for names in asked] == [50, 50, 20] and len(inventory.log_groups) == 120
