"""Rules only a live scan (or a snapshot of one) can judge: what the account does, not what a template says.

They speak only when the inventory has scopes (``Inventory.scopes``: a live scan read those accounts and regions)
and only about live objects (keyed by their ARN). For each object they need one service read completely in the
object's account and region (``ScannedScope.complete``); when it was not, they say "not evaluated", so a scan that
could not read CloudTrail or GuardDuty never looks clean. An infrastructure-as-code scan has no scopes: these rules
stay silent there (OBS003, EXP007 and the identity rules cover what templates declare).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

from lambdasec.fast_dataclass import dataclass

from ..model.findings import Confidence, Finding, NotEvaluated, Severity
from ..model.inventory import (
    EcrRepository,
    Function,
    GuardDutyDetector,
    Inventory,
    LayerVersion,
    Resource,
    ScannedScope,
    SigningJob,
    SigningProfile,
    Trail,
)
from ..model.location import Location
from ..model.values import ResourceRef, Unresolved
from .base import Context, Outcome, Rule, unlisted_function_scopes
from .code_integrity import ecr_repository_key, image_tag, tag_is_mutable
from .observability import TRAIL_SNIPPETS

_LAMBDA_TYPE: Final = "AWS::Lambda::Function"
# Fields of an advanced event selector that say which Lambda invocations are recorded, with the value an Invoke
# data event has (CloudTrail records Invoke with readOnly false, eventType AwsApiCall). Other fields (the caller's
# identity, the error code...) select some invocations of a function and not others.
_INVOKE_FIELDS: Final = {
    "eventCategory": "Data",
    "resources.type": _LAMBDA_TYPE,
    "readOnly": "false",
    "eventName": "Invoke",
    "eventSource": "lambda.amazonaws.com",
    "eventType": "AwsApiCall",
}
_REQUIRED_FIELDS: Final = ("eventCategory", "resources.type")  # a data event selector names both


# ---------------------------------------------------------------- ARNs and scopes
@dataclass(frozen=True)
class ArnParts:
    partition: str
    service: str
    region: str
    account: str
    resource: str


def arn_parts(text: object) -> ArnParts | None:
    """The parts of an ARN (``arn:partition:service:region:account:resource``), or None for anything else."""
    if not isinstance(text, str) or not text.startswith("arn:"):
        return None
    pieces = text.split(":", 5)
    if len(pieces) != 6:
        return None
    return ArnParts(pieces[1], pieces[2], pieces[3], pieces[4], pieces[5])


def _live_arn(resource: Resource) -> ArnParts | None:
    """The ARN of a live object (its key, up to a ``#`` suffix), or None for objects read from templates."""
    return arn_parts(resource.key.partition("#")[0])


def _scopes(inventory: Inventory) -> dict[tuple[str, str], ScannedScope]:
    return {(scope.account, scope.region): scope for scope in inventory.scopes}


def _missing_service(scopes: Mapping[tuple[str, str], ScannedScope], account: str, region: str,
                     service: str) -> str | None:
    """Why ``service`` cannot be judged in this account and region, or None when it was read completely."""
    scope = scopes.get((account, region))
    if scope is None:
        return f"account {account} in {region} was not part of the scan"
    if service not in scope.complete:
        return f"{service} was not read completely in account {account}, {region} (see the coverage gaps)"
    return None


def _live_functions(inventory: Inventory) -> Iterator[tuple[Function, ArnParts]]:
    for fn in inventory.functions:
        arn = _live_arn(fn)
        if arn is not None and arn.service == "lambda":
            yield fn, arn


# ---------------------------------------------------------------- OBS004: selectors
# Coverage of one function's invocations by a trail's selectors, from best to worst.
ALL, PARTIAL, UNKNOWN, NONE = "all", "partial", "unknown", "none"
_RANK: Final = {ALL: 3, PARTIAL: 2, UNKNOWN: 1, NONE: 0}


def records_invocations(event_selectors: Sequence[Mapping[str, Any]],
                        advanced_event_selectors: Sequence[Mapping[str, Any]], function_arn: str) -> str:
    """Whether a trail's selectors record the Lambda Invoke data events of ``function_arn``.

    "all": every invocation; "partial": only some (a selector also filters on the caller, the error code...);
    "unknown": a value is known only at deploy time; "none": not at all. Classic selectors: a ``DataResources``
    entry of type ``AWS::Lambda::Function`` whose ``Values`` hold the function's ARN or a prefix of it
    (``arn:aws:lambda`` is every function), in a selector whose ``ReadWriteType`` is ``All`` (the default) or
    ``WriteOnly`` (Invoke is a write event). Advanced selectors: every field selector of one selector must let the
    event through (``Equals``, ``StartsWith``, ``EndsWith``: one value matches; ``NotEquals``, ``NotStartsWith``,
    ``NotEndsWith``: none does); ``eventCategory`` and ``resources.type`` are required.
    """
    best = NONE
    for selector in event_selectors:
        best = _better(best, _basic(selector, function_arn))
    for selector in advanced_event_selectors:
        best = _better(best, _advanced(selector, function_arn))
    return best


def _better(one: str, other: str) -> str:
    return one if _RANK[one] >= _RANK[other] else other


def _basic(selector: Mapping[str, Any], function_arn: str) -> str:
    if not isinstance(selector, Mapping):
        return UNKNOWN if isinstance(selector, Unresolved) else NONE
    read_write = selector.get("ReadWriteType", "All")
    if isinstance(read_write, Unresolved):
        return UNKNOWN
    if read_write not in (None, "All", "WriteOnly"):
        return NONE
    resources = selector.get("DataResources") or []
    if isinstance(resources, Unresolved):
        return UNKNOWN
    best = NONE
    for resource in resources:
        if not isinstance(resource, Mapping):
            best = _better(best, UNKNOWN if isinstance(resource, Unresolved) else NONE)
            continue
        kind, values = resource.get("Type"), resource.get("Values") or []
        if isinstance(kind, Unresolved) or isinstance(values, Unresolved):
            best = _better(best, UNKNOWN)
        elif kind == _LAMBDA_TYPE:
            for value in values:
                if isinstance(value, Unresolved):
                    best = _better(best, UNKNOWN)
                elif isinstance(value, str) and value and function_arn.startswith(value):
                    return ALL
    return best


def _advanced(selector: Mapping[str, Any], function_arn: str) -> str:
    if not isinstance(selector, Mapping):
        return UNKNOWN if isinstance(selector, Unresolved) else NONE
    fields = selector.get("FieldSelectors") or []
    if isinstance(fields, Unresolved):
        return UNKNOWN
    named: set[str] = set()
    result = ALL
    for item in fields:
        if not isinstance(item, Mapping):
            return UNKNOWN if isinstance(item, Unresolved) else NONE
        name = item.get("Field")
        if isinstance(name, Unresolved):
            return UNKNOWN
        named.add(str(name))
        wanted = function_arn if name == "resources.ARN" else _INVOKE_FIELDS.get(str(name))
        passes = _field_passes(item, wanted) if wanted is not None else None
        if passes is False:
            return NONE
        if passes is None:
            # A field that does not describe the function (caller, error code...), or a value not known statically.
            result = UNKNOWN if wanted is not None else (PARTIAL if result == ALL else result)
    if not all(field in named for field in _REQUIRED_FIELDS):
        return NONE
    return result


_POSITIVE: Final = ("Equals", "StartsWith", "EndsWith")
_NEGATIVE: Final = ("NotEquals", "NotStartsWith", "NotEndsWith")


def _field_passes(item: Mapping[str, Any], wanted: str) -> bool | None:
    """Whether the event's ``wanted`` value passes one field selector (None: a value is not known statically)."""
    unknown = False
    for operator in (*_POSITIVE, *_NEGATIVE):
        values = item.get(operator)
        if values is None:
            continue
        if isinstance(values, Unresolved):
            unknown = True
            continue
        values = values if isinstance(values, list) else [values]
        matched, undecided = False, False
        for value in values:
            if isinstance(value, Unresolved):
                undecided = True
            elif isinstance(value, str) and _matches(operator, wanted, value):
                matched = True
        if operator in _POSITIVE and not matched:
            if not undecided:
                return False
            unknown = True
        if operator in _NEGATIVE and matched:
            return False
        unknown = unknown or (operator in _NEGATIVE and undecided)
    return None if unknown else True


def _matches(operator: str, wanted: str, value: str) -> bool:
    if operator.endswith("Equals"):
        return wanted == value
    if operator.endswith("StartsWith"):
        return wanted.startswith(value)
    return wanted.endswith(value)


# ---------------------------------------------------------------- OBS004: the rule
def _trail_covers(trail: Trail, trail_arn: ArnParts, account: str, region: str) -> bool:
    """A trail records events of the account and region: its own account (or an organization trail), and its
    home region unless it is multi-region."""
    own = trail_arn.account == account or bool(getattr(trail, "organization_trail", False))
    return own and (trail.multi_region or trail_arn.region == region)


def _check_data_events(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    if not inventory.scopes:
        return
    scopes = _scopes(inventory)
    trails = [(trail, arn) for trail in inventory.trails if (arn := _live_arn(trail)) is not None]
    for fn, arn in _live_functions(inventory):
        missing = _missing_service(scopes, arn.account, arn.region, "cloudtrail")
        if missing is not None:
            yield DATA_EVENTS.not_evaluated(fn, missing)
            continue
        covering = [trail for trail, trail_arn in trails if _trail_covers(trail, trail_arn, arn.account, arn.region)]
        yield from _data_events_outcome(inventory, fn, arn, covering)


def _data_events_outcome(inventory: Inventory, fn: Function, arn: ArnParts, trails: list[Trail]) -> Iterator[Outcome]:
    function_arn = fn.key.partition("#")[0]
    best, recording, stopped, undecided = NONE, [], [], []
    for trail in trails:
        coverage = records_invocations(trail.event_selectors, trail.advanced_event_selectors, function_arn)
        if isinstance(trail.is_logging, Unresolved):
            undecided.append(trail.id)
            coverage = UNKNOWN if coverage != NONE else NONE
        elif trail.is_logging is not True:
            if coverage != NONE:
                stopped.append(trail.id)
            continue
        if coverage in (ALL, PARTIAL):
            recording.append(trail.id)
        best = _better(best, coverage)
    where = f"account {arn.account}, {arn.region}"
    evidence: dict[str, Any] = {"trails": sorted(t.id for t in trails), "recording": sorted(recording),
                                "not_logging": sorted(stopped), "coverage": best}
    if best == ALL:
        return
    if best == UNKNOWN:
        unknown = ", ".join(sorted(undecided)) or "a trail"
        yield DATA_EVENTS.not_evaluated(fn, f"the selectors or logging status of {unknown} are not known")
    elif best == PARTIAL:
        yield DATA_EVENTS.finding(
            inventory, fn, f"Function {fn.id}: the trails of {where} record only some of its Invoke calls "
            f"({', '.join(sorted(recording))} filter on the caller or the outcome)",
            confidence=Confidence.MEDIUM, evidence=evidence, variant="partial")
    else:
        why = (f"; {', '.join(sorted(stopped))} would, but is not logging" if stopped else "")
        yield DATA_EVENTS.finding(
            inventory, fn, f"Function {fn.id}: no CloudTrail trail of {where} records its Lambda data events "
            f"(Invoke calls){why}", evidence=evidence)


DATA_EVENTS = Rule(
    code="OBS004",
    slug="function-data-events-not-recorded",
    title="No trail records the function's invocations",
    severity=Severity.MEDIUM,
    confidence=Confidence.HIGH,
    category="observability",
    rationale=(
        "CloudTrail records a function's Invoke calls only as data events, and only when a trail that is logging "
        "has an event selector that covers the function: a classic selector with an `AWS::Lambda::Function` data "
        "resource naming it (or `arn:aws:lambda` for all functions) and a read/write type that includes write "
        "events, or an advanced selector for the `Data` category and the `AWS::Lambda::Function` resource type "
        "whose ARN conditions let the function through. This rule reads the trails of the live account (a "
        "multi-region trail, or one of the function's region; organization trails included) and tells, function "
        "by function, whether any of them does. Without such a record nobody can say who invoked the function, "
        "when and from where after credentials are stolen. A selector that also filters on the caller or the "
        "error code records only some invocations (medium confidence). CloudTrail Lake event data stores are not "
        "read."
    ),
    remediation=(
        "Add Lambda data events to a multi-region trail that is logging: an advanced event selector with "
        "`eventCategory` equal to `Data` and `resources.type` equal to `AWS::Lambda::Function` (optionally "
        "`resources.ARN` conditions to limit the cost to sensitive functions), or a classic event selector with a "
        "`DataResources` entry of type `AWS::Lambda::Function` and the value `arn:aws:lambda`, and "
        "`ReadWriteType` `All` or `WriteOnly` (Invoke is a write event). Start a trail that is not logging."
    ),
    check=_check_data_events,
    snippets=TRAIL_SNIPPETS,
    references=(
        "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html",
        "https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_AdvancedFieldSelector.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/logging-using-cloudtrail.html",
    ),
    anchors={
        "checkov": (),
        "prowler": ("awslambda_function_invoke_api_operations_cloudtrail_logging",),
        "kics": (),
        "securityhub": (),
    },
)


# ---------------------------------------------------------------- THR001
_LAMBDA_PROTECTION: Final = "LAMBDA_NETWORK_LOGS"


def _check_guardduty(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    if not inventory.scopes:
        return
    scopes = _scopes(inventory)
    regions: dict[tuple[str, str, str], list[Function]] = {}
    for fn, arn in _live_functions(inventory):
        regions.setdefault((arn.partition, arn.account, arn.region), []).append(fn)
    detectors: dict[tuple[str, str], list[GuardDutyDetector]] = {}
    for detector in inventory.guardduty_detectors:
        where = _live_arn(detector)
        if where is not None:
            detectors.setdefault((where.account, where.region), []).append(detector)
    for (partition, account, region), functions in sorted(regions.items()):
        found = sorted(detectors.get((account, region), []), key=lambda d: d.key)
        subject: Resource = found[0] if found else _region_detector(partition, account, region)
        missing = _missing_service(scopes, account, region, "guardduty")
        if missing is not None:
            yield GUARDDUTY.not_evaluated(subject, missing)
            continue
        yield from _guardduty_outcome(inventory, subject, found, functions, f"account {account}, {region}")
    for scope in unlisted_function_scopes(inventory):
        # Whether functions run there is not known: what would be a finding there cannot be judged.
        found = sorted(detectors.get((scope.account, scope.region), []), key=lambda d: d.key)
        subject = found[0] if found else _region_detector(_partition(scope.region), scope.account, scope.region)
        reason = f"the functions of account {scope.account} in {scope.region} could not be listed"
        if _missing_service(scopes, scope.account, scope.region, "guardduty") is not None or any(
                isinstance(outcome, Finding)
                for outcome in _guardduty_outcome(inventory, subject, found, [], "")):
            yield GUARDDUTY.not_evaluated(subject, f"{reason} (see the coverage gaps)")


def _partition(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


def _region_detector(partition: str, account: str, region: str) -> Resource:
    """What a finding about a region without a detector is attached to: the detector the region lacks."""
    arn = f"arn:{partition}:guardduty:{region}:{account}:detector"
    return GuardDutyDetector(key=arn, id=f"GuardDuty {account} {region}", type="AWS::GuardDuty::Detector",
                             location=Location(arn=arn, region=region), enabled=False)


def _guardduty_outcome(inventory: Inventory, subject: Resource, found: list[GuardDutyDetector],
                       functions: list[Function], where: str) -> Iterator[Outcome]:
    names = sorted(fn.id for fn in functions)
    evidence: dict[str, Any] = {"detectors": [d.key for d in found], "functions": len(functions)}
    if not found:
        yield GUARDDUTY.finding(
            inventory, subject, f"GuardDuty has no detector in {where}, where {len(names)} function(s) run: "
            "Lambda Protection is off", functions=functions, evidence=evidence, variant="no-detector")
        return
    states = [_protection(detector) for detector in found]
    if any(state == "on" for state, _ in states):
        return
    if any(state == "unknown" for state, _ in states):
        reasons = "; ".join(reason for state, reason in states if state == "unknown")
        yield GUARDDUTY.not_evaluated(subject, reasons)
        return
    reason = "; ".join(reason for _, reason in states)
    evidence["features"] = {d.key: dict(d.features) for d in found}
    yield GUARDDUTY.finding(
        inventory, subject, f"GuardDuty Lambda Protection is off in {where} ({reason}): the network activity of "
        f"{len(names)} function(s) is not monitored", functions=functions, evidence=evidence)


def _protection(detector: GuardDutyDetector) -> tuple[str, str]:
    """("on" | "off" | "unknown", why) for one detector."""
    if isinstance(detector.enabled, Unresolved):
        return "unknown", f"the status of detector {detector.id} is not known"
    if not detector.enabled:
        return "off", f"detector {detector.id} is suspended"
    if not detector.features:
        return "unknown", f"detector {detector.id} reported no features"
    status = detector.features.get(_LAMBDA_PROTECTION)
    if status == "ENABLED":
        return "on", ""
    return "off", f"detector {detector.id} has {_LAMBDA_PROTECTION} {status or 'not set'}"


_GUARDDUTY_CFN = (
    "Detector:\n"
    "  Type: AWS::GuardDuty::Detector\n"
    "  Properties:\n"
    "    Enable: true\n"
    "    Features:\n"
    "      - Name: LAMBDA_NETWORK_LOGS\n"
    "        Status: ENABLED\n"
)  # CloudFormation and SAM alike

GUARDDUTY = Rule(
    code="THR001",
    slug="guardduty-lambda-protection-off",
    title="GuardDuty Lambda Protection is off where functions run",
    severity=Severity.MEDIUM,
    confidence=Confidence.HIGH,
    category="threat",
    rationale=(
        "GuardDuty Lambda Protection watches the network activity of every function of a region (VPC or not) "
        "and reports functions that talk to known command-and-control or cryptocurrency-mining hosts, the first "
        "sign of a function running an attacker's code through a compromised dependency or an injection. It "
        "needs an enabled GuardDuty detector in the region with the `LAMBDA_NETWORK_LOGS` feature enabled; a "
        "region whose functions have neither runs them unwatched. The rule reads each scanned region that has "
        "functions: no detector, a suspended detector, or the feature not enabled is a finding."
    ),
    remediation=(
        "Enable GuardDuty in every region where functions run and turn on Lambda Protection "
        "(`LAMBDA_NETWORK_LOGS`): in an organization, from the GuardDuty delegated administrator with "
        "auto-enable for all member accounts; in one account, on the detector (console, "
        "`aws guardduty update-detector --features Name=LAMBDA_NETWORK_LOGS,Status=ENABLED`, or the templates "
        "below)."
    ),
    check=_check_guardduty,
    snippets={
        "cloudformation": _GUARDDUTY_CFN,
        "sam": _GUARDDUTY_CFN,
        "terraform": (
            'resource "aws_guardduty_detector" "main" {\n'
            "  enable = true\n"
            "}\n"
            "\n"
            'resource "aws_guardduty_detector_feature" "lambda" {\n'
            "  detector_id = aws_guardduty_detector.main.id\n"
            '  name        = "LAMBDA_NETWORK_LOGS"\n'
            '  status      = "ENABLED"\n'
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/guardduty/latest/ug/lambda-protection.html",
        "https://docs.aws.amazon.com/guardduty/latest/APIReference/API_DetectorFeatureConfiguration.html",
    ),
    anchors={
        "checkov": (),
        "prowler": ("guardduty_lambda_protection_enabled",),
        "kics": (),
        "securityhub": ("GuardDuty.6",),
    },
)


# ---------------------------------------------------------------- EXP009
def _allowed_accounts(inventory: Inventory, context: Context) -> set[str]:
    """The scanned accounts and the ``trusted_accounts`` option (the accounts whose layers INT004 trusts)."""
    option = context.option("trusted_accounts", [])
    configured = [option] if isinstance(option, (str, int)) else list(option or [])
    return {str(account).strip() for account in configured} | inventory.own_accounts


def _grantee(principal: object) -> str | None:
    """The account a layer permission's principal names: an account id, or an IAM ARN of that account."""
    if not isinstance(principal, str):
        return None
    text = principal.strip()
    if text.isdigit() and len(text) == 12:
        return text
    parts = arn_parts(text)
    if parts is not None and parts.service == "iam" and parts.account.isdigit():
        return parts.account
    return None


def _check_layer_grants(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    if not inventory.scopes:
        return
    scopes = _scopes(inventory)
    allowed = _allowed_accounts(inventory, context)
    for grant in inventory.layer_permissions:
        arn = _live_arn(grant)
        if arn is None:
            continue
        missing = _missing_service(scopes, arn.account, arn.region, "lambda")
        if missing is not None:
            yield LAYER_GRANT.not_evaluated(grant, missing)
            continue
        principal = grant.principal
        if isinstance(principal, (Unresolved, ResourceRef)):
            yield LAYER_GRANT.not_evaluated(grant, f"the principal {principal} is not an account id")
            continue
        if principal.strip() == "*":
            continue  # every account, or the organization: EXP007's, not this rule's
        account = _grantee(principal)
        if account is None:
            yield LAYER_GRANT.not_evaluated(grant, f"the principal {principal!r} does not name an account")
            continue
        if account in allowed:
            continue
        layer = inventory.get(grant.layer)
        shown = layer.id if layer is not None else str(grant.layer)
        yield LAYER_GRANT.finding(
            inventory, grant, f"Layer permission {grant.id} shares layer {shown} with account {account}, which is "
            "neither a scanned account nor in trusted_accounts", functions=_users(inventory, layer),
            evidence={"account": account, "layer": shown, "action": str(grant.action)})


def _users(inventory: Inventory, layer: Resource | None) -> Iterable[Function]:
    if not isinstance(layer, LayerVersion):
        return []
    return [fn for fn in inventory.functions if any(inventory.get(ref) is layer for ref in fn.layers)]


_LAYER_PERMISSION_CFN = (
    "LayerPermission:\n"
    "  Type: AWS::Lambda::LayerVersionPermission\n"
    "  Properties:\n"
    "    Action: lambda:GetLayerVersion\n"
    "    LayerVersionArn: !Ref SharedLayer\n"
    "    Principal: '111122223333'  # an account listed in trusted_accounts\n"
)  # CloudFormation and SAM alike

LAYER_GRANT = Rule(
    code="EXP009",
    slug="layer-shared-with-unknown-account",
    title="Lambda layer version shared with an account that is not yours",
    severity=Severity.MEDIUM,
    confidence=Confidence.MEDIUM,
    category="exposure",
    rationale=(
        "A layer version permission lets the account it names download the layer's content "
        "(lambda:GetLayerVersion) and run it. Layers hold shared libraries, internal clients and sometimes "
        "configuration or credentials left in the package; a grant to an account that is neither one of the "
        "scanned accounts nor a declared partner is often a leftover from a test or a former vendor. Grants to "
        "every account ('*') are EXP007's. Confidence is medium: the account may be a partner that is not "
        "listed in `trusted_accounts`."
    ),
    remediation=(
        "Remove the permission (`aws lambda remove-layer-version-permission`) if the account should not have "
        "the layer; if it should, list it in `trusted_accounts` in the lambdasec configuration so the grant is "
        "documented. Publish a new layer version without the grant when the content must no longer be readable "
        "there: a permission applies to one version, and the versions already shared stay readable until it is "
        "removed."
    ),
    check=_check_layer_grants,
    snippets={
        "cloudformation": _LAYER_PERMISSION_CFN,
        "sam": _LAYER_PERMISSION_CFN,
        "terraform": (
            'resource "aws_lambda_layer_version_permission" "partner" {\n'
            "  layer_name     = aws_lambda_layer_version.shared.layer_arn\n"
            "  version_number = aws_lambda_layer_version.shared.version\n"
            '  statement_id   = "partner"\n'
            '  action         = "lambda:GetLayerVersion"\n'
            '  principal      = "111122223333" # an account listed in trusted_accounts\n'
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/permissions-layer-cross-account.html",
        "https://docs.aws.amazon.com/lambda/latest/api/API_AddLayerVersionPermission.html",
    ),
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)


# ---------------------------------------------------------------- INT014
def _check_signing_profiles(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    if not inventory.scopes:
        return
    scopes = _scopes(inventory)
    for config in inventory.code_signing_configs:
        arn = _live_arn(config)
        if arn is None:
            continue
        inactive: list[tuple[str, str]] = []
        for publisher in config.allowed_publishers:
            profile = inventory.get(publisher)
            if isinstance(profile, SigningProfile):
                if profile.status.lower() != "active":
                    inactive.append((profile.name or profile.id, profile.status))
                continue
            shown = publisher.expression if isinstance(publisher, Unresolved) else str(publisher)
            owner = arn_parts(shown)
            missing = _missing_service(scopes, owner.account, owner.region, "signer") if owner else None
            reason = missing or f"signing profile {shown} was not found in the scanned accounts"
            yield SIGNING_PROFILE.not_evaluated(config, reason)
        if not inactive:
            continue
        every = len(inactive) == len(config.allowed_publishers)
        listed = ", ".join(f"{name} ({status})" for name, status in inactive)
        yield SIGNING_PROFILE.finding(
            inventory, config,
            f"Code signing config {config.id} trusts signing profiles that are no longer active: {listed}"
            + ("; none of its publishers can sign a deployment" if every else ""),
            functions=[fn for fn in inventory.functions if inventory.get(fn.code_signing_config) is config],
            evidence={"inactive_profiles": [{"profile": name, "status": status} for name, status in inactive],
                      "all_publishers_inactive": every})


_SIGNING_CONFIG_CFN = (
    "SigningConfig:\n"
    "  Type: AWS::Lambda::CodeSigningConfig\n"
    "  Properties:\n"
    "    AllowedPublishers:\n"
    "      SigningProfileVersionArns: [!GetAtt PipelineSigningProfile.ProfileVersionArn]  # active\n"
    "    CodeSigningPolicies: {UntrustedArtifactOnDeployment: Enforce}\n"
)  # CloudFormation and SAM alike

SIGNING_PROFILE = Rule(
    code="INT014",
    slug="code-signing-profile-not-active",
    title="Code signing configuration trusts a revoked or canceled signing profile",
    severity=Severity.MEDIUM,
    confidence=Confidence.HIGH,
    category="code-integrity",
    rationale=(
        "A code signing configuration accepts code signed by the signing profiles it lists. A profile is revoked "
        "when its signing material is no longer trusted (a leaked key, a compromised pipeline) and canceled when "
        "it is retired. A configuration still listing such a profile was not updated when the trust changed: the "
        "publishers it relies on may be gone, and when every one of them is, the next deployment fails and the "
        "quickest fix is often to detach code signing or switch it to Warn. Read from AWS Signer in live scans."
    ),
    remediation=(
        "Replace the revoked or canceled profile version in AllowedPublishers with the active profile of your "
        "build pipeline (`aws lambda update-code-signing-config`), re-sign and redeploy the functions whose code "
        "was signed with the revoked profile, and find out why it was revoked."
    ),
    check=_check_signing_profiles,
    snippets={
        "cloudformation": _SIGNING_CONFIG_CFN,
        "sam": _SIGNING_CONFIG_CFN,
        "terraform": (
            'resource "aws_lambda_code_signing_config" "signing" {\n'
            "  allowed_publishers {\n"
            "    signing_profile_version_arns = [aws_signer_signing_profile.pipeline.version_arn] # active\n"
            "  }\n"
            "  policies {\n"
            '    untrusted_artifact_on_deployment = "Enforce"\n'
            "  }\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/signer/latest/developerguide/revocation.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/configuration-codesigning.html",
    ),
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)


# ---------------------------------------------------------------- INT015
_ECR_CFN = (
    "Repository:\n"
    "  Type: AWS::ECR::Repository\n"
    "  Properties:\n"
    "    ImageTagMutability: IMMUTABLE\n"
    "    ImageScanningConfiguration: {ScanOnPush: true}\n"
)  # CloudFormation and SAM alike

def _ecr_images(inventory: Inventory) -> Iterator[tuple[Function, str, tuple[str, str, str, str]]]:
    """Each container-image function of a live account whose image is in ECR: (function, image URI, its repository's
    (ARN, account, region, name)). Images elsewhere are INT005's and INT006's business."""
    for fn, _arn in _live_functions(inventory):
        code = fn.code
        if code is not None and code.kind == "image" and isinstance(code.value, str):
            image = ecr_repository_key(code.value)
            if image is not None:
                yield fn, code.value, image


def _read_repository(inventory: Inventory, scopes: Mapping[tuple[str, str], ScannedScope], rule: Rule,
                     fn: Function, image: tuple[str, str, str, str]) -> EcrRepository | NotEvaluated:
    """The image's repository as the scan read it, or why ``rule`` cannot judge ``fn`` without it."""
    repository_arn, account, region, name = image
    missing = _missing_service(scopes, account, region, "ecr")
    if missing is not None:
        return rule.not_evaluated(fn, f"the repository {name} of its image: {missing}")
    repository = inventory.get(repository_arn)
    if not isinstance(repository, EcrRepository):
        return rule.not_evaluated(fn, f"the ECR repository {name} of its image was not found")
    return repository


def _check_image_scanning(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    if not inventory.scopes:
        return
    scopes = _scopes(inventory)
    for fn, uri, image in _ecr_images(inventory):
        repository = _read_repository(inventory, scopes, IMAGE_SCANNING, fn, image)
        if isinstance(repository, NotEvaluated):
            yield repository
        elif not repository.scan_on_push:
            yield IMAGE_SCANNING.finding(
                inventory, fn,
                f"Function {fn.id} runs an image of ECR repository {repository.name}, which does not scan images on "
                "push (nor does a registry scanning rule cover it): its image was never checked for known "
                "vulnerabilities",
                evidence={"repository": repository.id, "image": uri, "tag_mutability": repository.tag_mutability})


IMAGE_SCANNING = Rule(
    code="INT015",
    slug="image-repository-not-scanned",
    title="Container image function whose ECR repository does not scan images",
    severity=Severity.LOW,
    confidence=Confidence.HIGH,
    category="code-integrity",
    rationale=(
        "A container-image function runs everything in its image: the base image's packages and the application's "
        "dependencies. ECR finds their known vulnerabilities when images are scanned on push (basic scanning) or "
        "continuously (enhanced scanning with Amazon Inspector). A repository that does neither leaves the "
        "function's image unchecked, so a vulnerable library in it goes unnoticed. Read from ECR in live scans "
        "(the repository's setting and the registry's scanning rules)."
    ),
    remediation=(
        "Turn on scan on push for the repository (`aws ecr put-image-scanning-configuration --image-scanning-"
        "configuration scanOnPush=true`) or, better, enhanced scanning for the registry with a rule covering the "
        "repository, and act on the findings before deploying the image."
    ),
    check=_check_image_scanning,
    snippets={
        "cloudformation": _ECR_CFN,
        "sam": _ECR_CFN,
        "terraform": (
            'resource "aws_ecr_repository" "app" {\n'
            '  name                 = "app"\n'
            '  image_tag_mutability = "IMMUTABLE"\n'
            "  image_scanning_configuration {\n"
            "    scan_on_push = true\n"
            "  }\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/images-create.html",
    ),
    anchors={"checkov": ("CKV_AWS_163",), "prowler": ("ecr_repositories_scan_images_on_push_enabled",),
             "kics": (), "securityhub": ("ECR.1",)},
)


# ---------------------------------------------------------------- INT016
def _check_image_tags(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    if not inventory.scopes:
        return
    scopes = _scopes(inventory)
    for fn, uri, image in _ecr_images(inventory):
        kind, tag = image_tag(uri)
        if kind == "digest":
            continue  # pinned: the tag's moves do not reach it
        if kind != "tag":
            yield IMAGE_TAG_MUTABLE.not_evaluated(fn, f"its image {uri} names neither a tag nor a digest")
            continue
        repository = _read_repository(inventory, scopes, IMAGE_TAG_MUTABLE, fn, image)
        if isinstance(repository, NotEvaluated):
            yield repository
            continue
        mutable = tag_is_mutable(repository, tag)
        if mutable is None:
            yield IMAGE_TAG_MUTABLE.not_evaluated(
                fn, f"the ECR repository {repository.name} has tag mutability {repository.tag_mutability} and its "
                "exclusion filters are not known")
        elif mutable:
            resolved = fn.code.resolved_image if fn.code is not None else None
            yield _mutable_tag_finding(inventory, fn, repository, uri, tag, resolved)


def _mutable_tag_finding(inventory: Inventory, fn: Function, repository: EcrRepository, image: str, tag: str,
                         resolved: str | None) -> Finding:
    filters = repository.tag_mutability_exclusions or []
    why = {
        "MUTABLE": "tag mutability MUTABLE",
        "IMMUTABLE_WITH_EXCLUSION": f"IMMUTABLE_WITH_EXCLUSION, and the tag matches its exclusion filters "
                                    f"({', '.join(filters)})",
        "MUTABLE_WITH_EXCLUSION": f"MUTABLE_WITH_EXCLUSION, and none of its exclusion filters ({', '.join(filters)}) "
                                  "matches the tag",
    }[repository.tag_mutability]
    digest = f" ({resolved.rpartition('@')[2]})" if resolved and "@" in resolved else ""
    evidence: dict[str, Any] = {"repository": repository.id, "image": image, "tag": tag,
                                "tag_mutability": repository.tag_mutability, "resolved_image": resolved}
    if repository.tag_mutability != "MUTABLE":
        evidence["exclusion_filters"] = list(filters)
    return IMAGE_TAG_MUTABLE.finding(
        inventory, fn,
        f"Function {fn.id} was deployed from tag '{tag}' of ECR repository {repository.name}, where that tag can be "
        f"overwritten ({why}): whoever may push to the repository (ecr:PutImage) can point it at another image, "
        f"which the next deployment or update by that tag runs. Until then the function keeps running the image "
        f"the tag named when it was deployed{digest}",
        location=fn.at("Code.ImageUri"), evidence=evidence)


_IMMUTABLE_CFN = (
    "Repository:\n"
    "  Type: AWS::ECR::Repository\n"
    "  Properties:\n"
    "    ImageTagMutability: IMMUTABLE\n"
    "    # or IMMUTABLE_WITH_EXCLUSION, with filters for the tags that must move (never the deployed ones):\n"
    "    # ImageTagMutabilityExclusionFilters:\n"
    "    #   - {ImageTagMutabilityExclusionFilterType: WILDCARD, ImageTagMutabilityExclusionFilterValue: dev-*}\n"
)  # CloudFormation and SAM alike

IMAGE_TAG_MUTABLE = Rule(
    code="INT016",
    slug="image-repository-tags-mutable",
    title="Container image function deployed by a tag its ECR repository lets be overwritten",
    severity=Severity.MEDIUM,
    confidence=Confidence.HIGH,
    category="code-integrity",
    rationale=(
        "Lambda resolves a container image's tag to a digest when the function is created or its code updated, "
        "and runs that digest until the next update: the running function is not affected when the tag moves. "
        "But the next deployment or `update-function-code` by the same tag (a pipeline redeploying `:prod`, a "
        "rollback by tag) takes whatever image the tag names then. In an ECR "
        "repository whose tags are mutable, anyone allowed `ecr:PutImage` there can point the tag at an image of "
        "their own, so push access to the repository becomes code execution with the function's role, without "
        "any Lambda permission. This rule reads the repository of each container-image function of a live "
        "account: MUTABLE makes every tag movable, IMMUTABLE none; with IMMUTABLE_WITH_EXCLUSION the tags matching "
        "its exclusion filters stay movable, with MUTABLE_WITH_EXCLUSION only the tags matching them are fixed "
        "(wildcard filters, `*` matching any characters). A function pinned by digest passes. INT005 flags "
        "deployment by tag in templates and wherever the repository was not read; where it was, this rule "
        "replaces it and confirms, from the account, that the tag can really be moved. Medium, as INT005: the "
        "function's code is not changed yet, but a repository write is all it takes."
    ),
    remediation=(
        "Make the repository's tags immutable (`aws ecr put-image-tag-mutability --image-tag-mutability "
        "IMMUTABLE`), or IMMUTABLE_WITH_EXCLUSION with exclusion filters that match only tags no function is "
        "deployed from (development tags), and push each build under a new tag. Better still, deploy the function "
        "by digest (`repository@sha256:...`, as the build that pushed the image reports it), and restrict "
        "`ecr:PutImage` on the repository to the build pipeline."
    ),
    check=_check_image_tags,
    snippets={
        "cloudformation": _IMMUTABLE_CFN,
        "sam": _IMMUTABLE_CFN,
        "terraform": (
            'resource "aws_ecr_repository" "app" {\n'
            '  name                 = "app"\n'
            '  image_tag_mutability = "IMMUTABLE"\n'
            "}\n"
            "\n"
            'resource "aws_lambda_function" "app" {\n'
            '  package_type = "Image"\n'
            '  image_uri    = "${aws_ecr_repository.app.repository_url}@${var.image_digest}" # a digest, not a tag\n'
            "  # ...\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html",
        "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageTagMutabilityExclusionFilter.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/images-create.html",
    ),
    anchors={"checkov": ("CKV_AWS_51",), "prowler": ("ecr_repositories_tag_immutability",),
             "kics": ("33f41d31-86b1-46a4-81f7-9c9a671f59ac", "d1846b12-20c5-4d45-8798-fc35b79268eb"),
             "securityhub": ("ECR.2",)},
)


# ---------------------------------------------------------------- INT017
def _time(text: str | None) -> dt.datetime | None:
    """An ISO 8601 time (``Z`` or an offset; none is UTC), or None when it is not one."""
    if not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.timezone.utc)


def _check_signatures(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    if not inventory.scopes:
        return
    scopes = _scopes(inventory)
    now = context.now if context.now.tzinfo is not None else context.now.replace(tzinfo=dt.timezone.utc)
    for fn, _arn in _live_functions(inventory):
        if not fn.signing_job:
            continue  # unsigned code: INT001-INT003's business
        job = inventory.get(fn.signing_job)
        if not isinstance(job, SigningJob) or not job.found:
            yield SIGNATURE_INVALID.not_evaluated(fn, _unread_job(scopes, fn.signing_job,
                                                                  asked=isinstance(job, SigningJob)))
            continue
        expires = _time(job.signature_expires_at)
        if job.signature_expires_at and expires is None:
            yield SIGNATURE_INVALID.not_evaluated(
                fn, f"the end of validity of its signature ({job.signature_expires_at}) is not a time")
            continue
        expired = expires is not None and expires <= now
        if job.revoked or expired:
            yield _signature_finding(inventory, fn, job, expired)


def _unread_job(scopes: Mapping[tuple[str, str], ScannedScope], job: str, *, asked: bool) -> str:
    owner = arn_parts(job)
    if owner is None or owner.service != "signer":
        return f"its signing job {job} is not a Signer job ARN"
    missing = _missing_service(scopes, owner.account, owner.region, "signer")
    if missing is not None:
        return f"its signing job {job}: {missing}"
    if asked:
        return f"its signing job {job} was not found in Signer (account {owner.account}, {owner.region})"
    # Signer was read there, but not for this job: with --shard, a shard reads the jobs its own functions name
    return (f"its signing job {job} was not read (account {owner.account}, {owner.region} was read by a scan that "
            "did not hold this function: another --shard)")


def _signature_finding(inventory: Inventory, fn: Function, job: SigningJob, expired: bool) -> Finding:
    profile = "/".join(part for part in (job.profile_name, job.profile_version) if part) or "unknown"
    evidence: dict[str, Any] = {"signing_job": job.id, "profile": profile, "revoked": job.revoked,
                                "revoked_at": job.revoked_at, "revocation_reason": job.revocation_reason,
                                "signature_expires_at": job.signature_expires_at}
    if job.revoked:
        when = f" on {job.revoked_at}" if job.revoked_at else ""
        why = f" ({job.revocation_reason})" if job.revocation_reason else ""
        also = f"; it has expired as well ({job.signature_expires_at})" if expired else ""
        return SIGNATURE_INVALID.finding(
            inventory, fn,
            f"Function {fn.id} runs code whose signature was revoked{when}{why}: signing job {job.id} of signing "
            f"profile {profile}. Lambda checks signatures only when code is deployed, so the function keeps running "
            f"an artifact its publisher no longer vouches for{also}",
            evidence=evidence, variant="revoked")
    finding = SIGNATURE_INVALID.finding(
        inventory, fn,
        f"Function {fn.id} runs code whose signature expired on {job.signature_expires_at} (signing job {job.id} of "
        f"signing profile {profile}): it no longer shows that the code is what was signed, and deploying the same "
        "artifact again fails under an Enforce code-signing policy",
        evidence=evidence, variant="expired")
    finding.severity = Severity.LOW
    return finding


_RESIGN_CFN = (
    "SigningProfile:\n"
    "  Type: AWS::Signer::SigningProfile\n"
    "  Properties:\n"
    "    PlatformId: AWSLambda-SHA384-ECDSA\n"
    "    SignatureValidityPeriod: {Value: 135, Type: MONTHS}  # longer than an artifact stays deployed\n"
    "SigningConfig:\n"
    "  Type: AWS::Lambda::CodeSigningConfig\n"
    "  Properties:\n"
    "    AllowedPublishers:\n"
    "      SigningProfileVersionArns: [!GetAtt SigningProfile.ProfileVersionArn]\n"
    "    CodeSigningPolicies: {UntrustedArtifactOnDeployment: Enforce}\n"
)  # CloudFormation and SAM alike; the function's code: the package the new signing job wrote

SIGNATURE_INVALID = Rule(
    code="INT017",
    slug="function-code-signature-revoked-or-expired",
    title="Function runs code whose signature was revoked or has expired",
    severity=Severity.HIGH,
    confidence=Confidence.HIGH,
    category="code-integrity",
    rationale=(
        "A function with code signing runs a package that an AWS Signer signing job signed; Lambda records the job "
        "(`SigningJobArn`) and checks the signature (integrity, expiry, allowed profile, revocation) only when the "
        "code is deployed, never afterwards. A signing job is revoked when its signature must no longer be trusted, "
        "typically because the artifact or the pipeline that built it was compromised: a function still running "
        "that code runs an artifact its own publisher disowned (high). A signature also expires at the end of its "
        "profile's validity period: the running code is not less safe for it, but the signature no longer proves "
        "it is what was signed, and redeploying the same artifact (a rollback, a new stack built from it) fails "
        "under an Enforce policy (low: the finding's severity). This rule reads, in live scans, "
        "the signing job of every signed function (`signer:DescribeSigningJob`); revoked signing profiles are "
        "INT014's, unsigned functions INT001's."
    ),
    remediation=(
        "Find out why the signature was revoked (`aws signer describe-signing-job`: the revocation record), "
        "rebuild the package from a trusted source, sign it with an active signing profile, and deploy it "
        "(`aws lambda update-function-code`); for an expired signature, re-sign the artifact (a new signing job) "
        "and deploy the signed copy. Keep the code-signing configuration on Enforce so that revoked or expired "
        "signatures cannot be deployed."
    ),
    check=_check_signatures,
    snippets={
        "cloudformation": _RESIGN_CFN,
        "sam": _RESIGN_CFN,
        "terraform": (
            'resource "aws_signer_signing_job" "build" {\n'
            "  profile_name = aws_signer_signing_profile.release.name # an active profile\n"
            "  source {\n"
            "    s3 {\n"
            "      bucket  = aws_s3_object.package.bucket\n"
            "      key     = aws_s3_object.package.key\n"
            "      version = aws_s3_object.package.version_id\n"
            "    }\n"
            "  }\n"
            "  destination {\n"
            "    s3 {\n"
            "      bucket = aws_s3_object.package.bucket\n"
            '      prefix = "signed/"\n'
            "    }\n"
            "  }\n"
            "}\n"
            "\n"
            'resource "aws_lambda_function" "app" {\n'
            "  s3_bucket               = aws_signer_signing_job.build.signed_object[0].s3[0].bucket\n"
            "  s3_key                  = aws_signer_signing_job.build.signed_object[0].s3[0].key\n"
            "  code_signing_config_arn = aws_lambda_code_signing_config.enforce.arn\n"
            "  # ...\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/configuration-codesigning.html",
        "https://docs.aws.amazon.com/signer/latest/developerguide/revocation.html",
        "https://docs.aws.amazon.com/signer/latest/api/API_DescribeSigningJob.html",
    ),
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)


RULES: tuple[Rule, ...] = (DATA_EVENTS, GUARDDUTY, LAYER_GRANT, SIGNING_PROFILE, IMAGE_SCANNING, IMAGE_TAG_MUTABLE,
                           SIGNATURE_INVALID)
