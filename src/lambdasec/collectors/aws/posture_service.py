"""Account posture of one account and region: CloudTrail, GuardDuty, KMS, CloudWatch Logs, Signer and ECR.

Each service is read on its own: a failure in one (a gap, through :class:`~lambdasec.collectors.aws.api.Api`) never
stops the others, and a service simply not set up (no trail, GuardDuty never enabled: ``ListDetectors`` returns
nothing) is an empty answer, not a failure. The orchestrator records which services stayed complete
(``Api.ok``) in the scan's :class:`~lambdasec.model.inventory.ScannedScope`; this module does not write scopes.

- **CloudTrail** (``DescribeTrails`` with ``includeShadowTrails``, then ``GetTrailStatus`` and ``GetEventSelectors``
  per trail, by ARN) -> :class:`Trail`: ``is_logging``, ``multi_region``, ``event_selectors`` and
  ``advanced_event_selectors`` as the API returns them, which are exactly the shapes of the CloudFormation properties
  ``EventSelectors`` / ``AdvancedEventSelectors`` that OBS003 reads (``DataResources[].Type/Values``,
  ``FieldSelectors[].Field/Equals``...). Key = the trail ARN.
  *Each trail once per account*: a multi-region trail shows up (as a shadow trail) in every region; it is emitted
  only in its home region. When the scan names its regions (``--region``) and the home region is not among them,
  the first of the scanned regions (sorted) emits it instead, so a multi-region trail homed in an unscanned region
  still counts. A trail owned by ANOTHER account (an organization trail seen from a member account) is keyed
  ``<trail ARN>#member/<scanned account>`` (id = the trail ARN): it covers that member account, and several scanned
  member accounts never produce the same key. A status or selector list that cannot be read becomes unresolved
  (``is_logging`` :class:`Unresolved`; selectors: one ``DataResources`` entry whose ``Type`` is
  :class:`Unresolved`), so OBS003 says "not evaluated" rather than guessing.
- **GuardDuty** (``ListDetectors``, ``GetDetector``) -> :class:`GuardDutyDetector`, key
  ``arn:<partition>:guardduty:<region>:<account>:detector/<id>``: ``enabled`` = status ``ENABLED``; ``features`` =
  ``{name: status}`` from ``Features`` (``LAMBDA_NETWORK_LOGS``...), completed from the older ``DataSources``
  (CloudTrail, DNS logs, flow logs, S3, EKS audit logs, EBS malware protection under their feature names) for the
  names ``Features`` does not give.
- **KMS** (``ListKeys``, ``DescribeKey``, ``GetKeyRotationStatus``, ``GetKeyPolicy`` ``default``) ->
  :class:`KmsKey` for CUSTOMER managed keys (AWS managed keys are skipped after ``DescribeKey``), key = key ARN.
  Which keys functions use is not known here (functions are read in parallel), so every customer key is read, up to
  :data:`MAX_KMS_KEYS` per region; beyond, a gap (kind ``truncated``) says the list was cut. Rotation does not apply
  to asymmetric, HMAC, imported or external-store keys: ``rotation_enabled`` False (they do not rotate); for a key
  pending deletion or import it is :class:`Unresolved`.
- **CloudWatch Logs** (``DescribeLogGroups`` with the prefix ``/aws/lambda/``) -> :class:`LogGroup` (name,
  ``retention_days``, None = never expire), key = log group ARN without the trailing ``:*``: the groups Lambda
  creates by default. The groups outside that prefix that functions name in their ``LoggingConfig`` are read after
  Lambda (:func:`collect_named_log_groups`, with ``logGroupIdentifiers``), not every group of the account: OBS002
  would otherwise judge groups no function writes to.
- **Signer** (``ListSigningProfiles`` with canceled and revoked profiles) -> :class:`SigningProfile`, key = the
  profile VERSION ARN (what a code-signing config's ``AllowedPublishers`` lists). The API lists the current version
  of each profile only; ``expires`` is None: AWS gives a signature validity *duration*, not an end date. Skipped
  (no call, no gap) in regions where botocore's endpoint data says Signer is not offered.
- **Signing jobs** (``DescribeSigningJob``, :func:`collect_signing_jobs`) -> :class:`SigningJob`, key = the job
  ARN that a live function's ``SigningJobArn`` names: which jobs to read is known only once Lambda was read, so the
  orchestrator runs this step after every module (collector.py, this module's ``FOLLOW_UP``), with the functions
  the scan collected. Each scope reads, once each, the jobs of ITS account and region (the ARN's); a job of an
  account or region the scan does not read is not read (INT017 says "not evaluated" for its functions). A job
  Signer does not know (``ResourceNotFoundException``) is not a failure: a ``SigningJob`` with ``found`` False, so
  that it is told apart from a job never asked for (with ``--shard``, a job in a scope of another shard).
  ``revoked``, ``revoked_at`` and ``revocation_reason`` come from the job's ``revocationRecord``; times are ISO 8601
  in UTC.
- **ECR** (``DescribeRepositories``, ``GetRegistryScanningConfiguration``) -> :class:`EcrRepository`, key =
  repository ARN, ``tag_mutability`` as AWS gives it (``MUTABLE``, ``IMMUTABLE`` or the ``*_WITH_EXCLUSION``
  variants) with ``tag_mutability_exclusions``, the ``WILDCARD`` filters of ``imageTagMutabilityExclusionFilters``
  (None when AWS gives none, or a filter of a type lambdasec does not know: then nothing is guessed),
  ``scan_on_push``: with the registry's ENHANCED scanning, a registry rule scanning on push or
  continuously matches the repository (repository settings are ignored then); with BASIC scanning, the repository's
  ``scanOnPush`` or a matching registry scan-on-push rule.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from ...model.inventory import (
    EcrRepository,
    Function,
    GuardDutyDetector,
    Inventory,
    KmsKey,
    LogGroup,
    SigningJob,
    SigningProfile,
    Trail,
)
from ...model.location import Location
from ...model.values import Unresolved
from .api import Api
from .network_service import partition_of

OPERATIONS: Final[tuple[tuple[str, str], ...]] = (
    ("cloudtrail", "DescribeTrails"),
    ("cloudtrail", "GetTrailStatus"),
    ("cloudtrail", "GetEventSelectors"),
    ("guardduty", "ListDetectors"),
    ("guardduty", "GetDetector"),
    ("kms", "ListKeys"),
    ("kms", "DescribeKey"),
    ("kms", "GetKeyRotationStatus"),
    ("kms", "GetKeyPolicy"),
    ("logs", "DescribeLogGroups"),
    ("signer", "ListSigningProfiles"),
    ("signer", "DescribeSigningJob"),  # collect_signing_jobs, after Lambda (FOLLOW_UP)
    ("ecr", "DescribeRepositories"),
    ("ecr", "GetRegistryScanningConfiguration"),
)

MAX_KMS_KEYS: Final = 1000
LAMBDA_LOG_PREFIX: Final = "/aws/lambda/"
_NAMES_PER_CALL: Final = 50  # DescribeLogGroups takes at most 50 logGroupIdentifiers

# GetDetector's older DataSources, under the feature names of its Features list.
_DATA_SOURCE_FEATURES: Final = (
    (("CloudTrail",), "CLOUD_TRAIL"),
    (("DNSLogs",), "DNS_LOGS"),
    (("FlowLogs",), "FLOW_LOGS"),
    (("S3Logs",), "S3_DATA_EVENTS"),
    (("Kubernetes", "AuditLogs"), "EKS_AUDIT_LOGS"),
    (("MalwareProtection", "ScanEc2InstanceWithFindings", "EbsVolumes"), "EBS_MALWARE_PROTECTION"),
)
_ROTATION_UNKNOWN_STATES: Final = frozenset({"PendingDeletion", "PendingReplicaDeletion", "PendingImport",
                                             "Unavailable", "Creating"})


def collect_posture(api: Api, inventory: Inventory, options: Any) -> None:
    """Add the region's trails, GuardDuty detectors, customer KMS keys, Lambda log groups, signing profiles and ECR
    repositories to ``inventory``."""
    collect_trails(api, inventory, options)
    collect_guardduty(api, inventory)
    collect_kms(api, inventory)
    collect_log_groups(api, inventory)
    collect_signing_profiles(api, inventory)
    collect_ecr(api, inventory)


# ---------------------------------------------------------------- CloudTrail
def emits_trail_here(home_region: str, region: str, scanned_regions: tuple[str, ...]) -> bool:
    """Whether the scope of ``region`` emits a trail homed in ``home_region`` (each trail once per account).

    ``scanned_regions`` is what the scan was asked for (``--region``); empty means every enabled region, which
    includes the home region of every trail of the account."""
    if home_region == region:
        return True
    if not scanned_regions or home_region in scanned_regions:
        return False
    return region == sorted(scanned_regions)[0]


def collect_trails(api: Api, inventory: Inventory, options: Any) -> None:
    region, account = api.scope.region, api.scope.account
    scanned = tuple(str(r) for r in getattr(options, "regions", ()) or ())
    trails = api.pages("cloudtrail", "DescribeTrails", "trailList", includeShadowTrails=True)
    for raw in trails or []:
        arn = raw.get("TrailARN") if isinstance(raw, Mapping) else None
        if not isinstance(arn, str):
            continue
        if not emits_trail_here(str(raw.get("HomeRegion") or region), region, scanned):
            continue
        parts = arn.split(":")
        owner = parts[4] if len(parts) > 4 else account
        key = arn if owner == account else f"{arn}#member/{account}"
        trail = Trail(key=key, id=arn, type="AWS::CloudTrail::Trail", location=Location(arn=arn, region=region),
                      multi_region=raw.get("IsMultiRegionTrail") is True)
        status = api.call("cloudtrail", "GetTrailStatus", Name=arn)
        if status is None or not isinstance(status.get("IsLogging"), bool):
            trail.is_logging = Unresolved("GetTrailStatus", "the trail's status could not be read")
        else:
            trail.is_logging = status["IsLogging"]
        selectors = api.call("cloudtrail", "GetEventSelectors", TrailName=arn)
        if selectors is None:
            unknown = Unresolved("GetEventSelectors", "the trail's event selectors could not be read")
            trail.event_selectors = [{"DataResources": [{"Type": unknown, "Values": []}]}]
        else:
            trail.event_selectors = [dict(s) for s in selectors.get("EventSelectors") or [] if isinstance(s, Mapping)]
            trail.advanced_event_selectors = [
                dict(s) for s in selectors.get("AdvancedEventSelectors") or [] if isinstance(s, Mapping)]
        inventory.add(inventory.trails, trail)


# ---------------------------------------------------------------- GuardDuty
def collect_guardduty(api: Api, inventory: Inventory) -> None:
    region, account = api.scope.region, api.scope.account
    for detector_id in api.pages("guardduty", "ListDetectors", "DetectorIds") or []:
        if not isinstance(detector_id, str):
            continue
        key = f"arn:{partition_of(region)}:guardduty:{region}:{account}:detector/{detector_id}"
        detector = GuardDutyDetector(key=key, id=key, type="AWS::GuardDuty::Detector",
                                     location=Location(arn=key, region=region))
        raw = api.call("guardduty", "GetDetector", DetectorId=detector_id)
        if raw is None:
            detector.enabled = Unresolved("GetDetector", "the detector could not be read")
        else:
            detector.enabled = raw.get("Status") == "ENABLED"
            detector.features = detector_features(raw)
        inventory.add(inventory.guardduty_detectors, detector)


def detector_features(raw: Mapping[str, Any]) -> dict[str, str]:
    """``{feature name: status}`` from GetDetector's ``Features``, completed from its older ``DataSources``."""
    features: dict[str, str] = {}
    for item in raw.get("Features") or []:
        if isinstance(item, Mapping) and isinstance(item.get("Name"), str):
            features[item["Name"]] = str(item.get("Status", ""))
    sources = raw.get("DataSources")
    for path, name in _DATA_SOURCE_FEATURES:
        node: Any = sources
        for step in path:
            node = node.get(step) if isinstance(node, Mapping) else None
        if name not in features and isinstance(node, Mapping) and isinstance(node.get("Status"), str):
            features[name] = node["Status"]
    return features


# ---------------------------------------------------------------- KMS
def collect_kms(api: Api, inventory: Inventory) -> None:
    from ...iam.policy import parse_document

    region = api.scope.region
    keys = api.pages("kms", "ListKeys", "Keys", PaginationConfig={"MaxItems": MAX_KMS_KEYS + 1})
    if keys is None:
        return
    if len(keys) > MAX_KMS_KEYS:
        _truncated(api, "kms", "ListKeys", f"more than {MAX_KMS_KEYS} KMS keys: only the first "
                   f"{MAX_KMS_KEYS} were read")
        keys = keys[:MAX_KMS_KEYS]
    for item in keys:
        key_id = item.get("KeyId") if isinstance(item, Mapping) else None
        if not isinstance(key_id, str):
            continue
        described = api.call("kms", "DescribeKey", KeyId=key_id)
        metadata = described.get("KeyMetadata") if described else None
        if not isinstance(metadata, Mapping) or metadata.get("KeyManager") != "CUSTOMER":
            continue
        arn = str(metadata.get("Arn") or item.get("KeyArn") or key_id)
        key = KmsKey(key=arn, id=arn, type="AWS::KMS::Key", location=Location(arn=arn, region=region))
        if metadata.get("KeyState") in _ROTATION_UNKNOWN_STATES:
            key.rotation_enabled = Unresolved("GetKeyRotationStatus", f"key state {metadata.get('KeyState')}")
        elif metadata.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT" or metadata.get(
                "Origin", "AWS_KMS") != "AWS_KMS":
            key.rotation_enabled = False  # automatic rotation does not exist for these keys
        else:
            rotation = api.call("kms", "GetKeyRotationStatus", KeyId=key_id)
            key.rotation_enabled = (rotation.get("KeyRotationEnabled") is True if rotation is not None
                                    else Unresolved("GetKeyRotationStatus", "the rotation status could not be read"))
        policy = api.call("kms", "GetKeyPolicy", KeyId=key_id, PolicyName="default")
        document = policy.get("Policy") if policy is not None else None
        key.key_policy = (parse_document(document) if isinstance(document, str)
                          else Unresolved("GetKeyPolicy", "the key policy could not be read"))
        inventory.add(inventory.kms_keys, key)


# ---------------------------------------------------------------- CloudWatch Logs
def collect_log_groups(api: Api, inventory: Inventory) -> None:
    for raw in api.pages("logs", "DescribeLogGroups", "logGroups", logGroupNamePrefix=LAMBDA_LOG_PREFIX) or []:
        _add_log_group(api, inventory, raw)


def collect_named_log_groups(api: Api, inventory: Inventory, options: Any, functions: Iterable[Function]) -> None:
    """Add the log groups outside ``/aws/lambda/`` that this scope's functions name in their ``LoggingConfig`` (the
    first round reads Lambda's default prefix only; which other groups functions write to is known once Lambda was
    read): ``DescribeLogGroups`` with ``logGroupIdentifiers``, up to 50 names a call."""
    region, account = api.scope.region, api.scope.account
    names = sorted({fn.log_group for fn in functions if isinstance(fn.log_group, str)
                    and not fn.log_group.startswith(LAMBDA_LOG_PREFIX)
                    and _owner(fn.key) == (account, region)})
    for start in range(0, len(names), _NAMES_PER_CALL):
        wanted = names[start:start + _NAMES_PER_CALL]
        for raw in api.pages("logs", "DescribeLogGroups", "logGroups", logGroupIdentifiers=wanted) or []:
            if isinstance(raw, Mapping) and raw.get("logGroupName") in wanted:  # an emulator may answer more
                _add_log_group(api, inventory, raw)


def _owner(arn: str) -> tuple[str, str] | None:
    """(account, region) of an ARN."""
    parts = arn.split(":")
    return (parts[4], parts[3]) if len(parts) > 5 and parts[0] == "arn" else None


def _add_log_group(api: Api, inventory: Inventory, raw: Any) -> None:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("logGroupName"), str):
        return
    region = api.scope.region
    arn = raw.get("logGroupArn") or str(raw.get("arn") or "").removesuffix(":*")
    if not arn:
        arn = f"arn:{partition_of(region)}:logs:{region}:{api.scope.account}:log-group:{raw['logGroupName']}"
    retention = raw.get("retentionInDays")
    inventory.add(inventory.log_groups, LogGroup(
        key=arn, id=arn, type="AWS::Logs::LogGroup", location=Location(arn=arn, region=region),
        name=raw["logGroupName"], retention_days=retention if isinstance(retention, int) else None))


# ---------------------------------------------------------------- Signer
def collect_signing_profiles(api: Api, inventory: Inventory) -> None:
    region = api.scope.region
    if not _offered(api, "signer"):
        return
    profiles = api.pages("signer", "ListSigningProfiles", "profiles", includeCanceled=True,
                         statuses=["Active", "Canceled", "Revoked"])
    for raw in profiles or []:
        if not isinstance(raw, Mapping):
            continue
        arn = raw.get("profileVersionArn") or raw.get("arn")
        if not isinstance(arn, str):
            continue
        inventory.add(inventory.signing_profiles, SigningProfile(
            key=arn, id=arn, type="AWS::Signer::SigningProfile", location=Location(arn=arn, region=region),
            name=str(raw.get("profileName") or ""), status=str(raw.get("status") or "Active")))


def collect_follow_ups(api: Api, inventory: Inventory, options: Any, functions: Sequence[Function]) -> None:
    """What the functions the first round collected tell this scope to read: the Signer jobs that signed their code
    and the log groups they name outside ``/aws/lambda/``."""
    collect_signing_jobs(api, inventory, options, functions)
    collect_named_log_groups(api, inventory, options, functions)


# The second round (collector.py): what the functions the first round collected tell this module to read, and the
# services that reads.
FOLLOW_UP: Final = (collect_follow_ups, frozenset({"signer", "logs"}))


def collect_signing_jobs(api: Api, inventory: Inventory, options: Any, functions: Iterable[Function]) -> None:
    """Add the signing jobs of this scope's account and region that signed the code of ``functions`` (every
    function the scan collected, in any scope): one ``DescribeSigningJob`` per distinct job ARN."""
    region, account = api.scope.region, api.scope.account
    jobs = signing_jobs_of(fn for fn in functions if fn.signing_job).get((account, region))
    if not jobs or not _offered(api, "signer"):
        return
    for arn in sorted(jobs):
        raw = api.call("signer", "DescribeSigningJob", absent=("ResourceNotFoundException",),
                       jobId=arn.rsplit("/", 1)[-1])
        if raw is None:
            continue  # a gap: signer is then incomplete here
        if not raw:  # Signer does not know the job: said, so that a job never asked for stays told apart
            inventory.add(inventory.signing_jobs, SigningJob(
                key=arn, id=arn, type="AWS::Signer::SigningJob", location=Location(arn=arn, region=region),
                found=False))
            continue
        revocation = raw.get("revocationRecord")
        record: Mapping[str, Any] = revocation if isinstance(revocation, Mapping) else {}
        revoked = any(record.get(name) for name in ("revokedAt", "revokedBy", "reason"))  # an empty record is none
        reason = record.get("reason")
        inventory.add(inventory.signing_jobs, SigningJob(
            key=arn, id=arn, type="AWS::Signer::SigningJob", location=Location(arn=arn, region=region),
            status=str(raw.get("status") or ""), profile_name=str(raw.get("profileName") or ""),
            profile_version=str(raw.get("profileVersion") or ""), revoked=revoked,
            revoked_at=_iso(record.get("revokedAt")),
            revocation_reason=reason if isinstance(reason, str) and reason else None,
            signature_expires_at=_iso(raw.get("signatureExpiresAt"))))


def signing_jobs_of(functions: Iterable[Function]) -> dict[tuple[str, str], set[str]]:
    """The ARNs of the signing jobs that signed the functions' code, by the (account, region) owning each job (where
    ``DescribeSigningJob`` can read it)."""
    out: dict[tuple[str, str], set[str]] = {}
    for fn in functions:
        arn = fn.signing_job or ""
        parts = arn.split(":", 5)  # arn:partition:signer:region:account:/signing-jobs/<job id>
        if len(parts) == 6 and parts[:3:2] == ["arn", "signer"] and parts[5].startswith("/signing-jobs/"):
            out.setdefault((parts[4], parts[3]), set()).add(arn)
    return out


def _iso(value: Any) -> str | None:
    """An ISO 8601 time in UTC from what botocore parsed (a datetime), or None."""
    if not isinstance(value, dt.datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat()


def _offered(api: Api, service: str) -> bool:
    """Whether botocore's endpoint data lists the service in the scope's region (True when it cannot tell)."""
    session = api.scope.session
    try:
        partition = session.get_partition_for_region(api.scope.region)
        regions = session.get_available_regions(service, partition_name=partition)
    except Exception:  # noqa: BLE001  # no endpoint data: call, and let a failure be a gap
        return True
    return not regions or api.scope.region in regions


# ---------------------------------------------------------------- ECR
def collect_ecr(api: Api, inventory: Inventory) -> None:
    region = api.scope.region
    repositories = api.pages("ecr", "DescribeRepositories", "repositories")
    if repositories is None:
        return
    registry = api.call("ecr", "GetRegistryScanningConfiguration") if repositories else {}
    configuration = (registry or {}).get("scanningConfiguration")
    for raw in repositories:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("repositoryArn"), str):
            continue
        arn, name = raw["repositoryArn"], str(raw.get("repositoryName") or "")
        scanning = raw.get("imageScanningConfiguration")
        own = isinstance(scanning, Mapping) and scanning.get("scanOnPush") is True
        inventory.add(inventory.ecr_repositories, EcrRepository(
            key=arn, id=arn, type="AWS::ECR::Repository", location=Location(arn=arn, region=region), name=name,
            tag_mutability=str(raw.get("imageTagMutability") or "MUTABLE"),
            scan_on_push=scans_on_push(name, own, configuration),
            tag_mutability_exclusions=tag_exclusions(raw.get("imageTagMutabilityExclusionFilters"))))


def tag_exclusions(filters: Any) -> list[str] | None:
    """The patterns of ``imageTagMutabilityExclusionFilters`` (all of type ``WILDCARD``, the only type AWS has);
    None when there are none, or when one is of another type (not understood, so not guessed)."""
    if not isinstance(filters, list) or not filters:
        return None
    patterns = []
    for item in filters:
        if not isinstance(item, Mapping) or item.get("filterType") != "WILDCARD" or not isinstance(
                item.get("filter"), str):
            return None
        patterns.append(item["filter"])
    return patterns


def scans_on_push(repository: str, repository_setting: bool, registry: Any) -> bool:
    """Whether images pushed to the repository are scanned, from its own setting and the registry's configuration."""
    rules = registry.get("rules") if isinstance(registry, Mapping) else None
    enhanced = isinstance(registry, Mapping) and registry.get("scanType") == "ENHANCED"
    wanted = {"SCAN_ON_PUSH", "CONTINUOUS_SCAN"} if enhanced else {"SCAN_ON_PUSH"}
    for rule in rules or []:
        if not isinstance(rule, Mapping) or rule.get("scanFrequency") not in wanted:
            continue
        for item in rule.get("repositoryFilters") or []:
            pattern = item.get("filter") if isinstance(item, Mapping) else None
            if isinstance(pattern, str) and fnmatch.fnmatchcase(repository, pattern):
                return True
    return False if enhanced else repository_setting


# ---------------------------------------------------------------- gaps
def _truncated(api: Api, service: str, operation: str, detail: str) -> None:
    """A list cut at a bound: a gap (kind ``truncated``) naming account, region and API, and the service is no
    longer complete in this scope (``Api.ok`` turns False)."""
    api.incomplete(service, operation, detail)
