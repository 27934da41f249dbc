"""Account posture of a live account (moto, and botocore's Stubber where moto lacks the API): CloudTrail,
GuardDuty, KMS, Lambda log groups, Signer and ECR normalized like the CloudFormation collector's, and the
observability rules judging them."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from lambdasec.collectors.aws import posture_service
from lambdasec.collectors.aws.api import Api, ApiSettings, RateLimiter, Scope
from lambdasec.collectors.aws.posture_service import (
    OPERATIONS,
    collect_posture,
    detector_features,
    emits_trail_here,
    scans_on_push,
)
from lambdasec.engine import ScanSettings, evaluate
from lambdasec.iam.policy import parse_document
from lambdasec.model.inventory import (
    EcrRepository,
    Function,
    GuardDutyDetector,
    Inventory,
    KmsKey,
    LogGroup,
    SigningProfile,
    Trail,
)
from lambdasec.model.location import Location
from lambdasec.model.values import Unresolved
from lambdasec.rules.registry import all_rules

from ..conftest import FIXTURE_CLOCK
from .conftest import ACCOUNT, Emulator

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

