"""The live-only rules (rules/live.py): OBS004, THR001, EXP009 on hand-built live inventories, and the pure
selector logic of OBS004. Their fail/pass fixtures are snapshots (tests/test_rule_fixtures.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lambdasec.model.findings import Confidence, Finding, NotEvaluated
from lambdasec.model.inventory import (
    Function,
    GuardDutyDetector,
    Inventory,
    LayerPermission,
    LayerVersion,
    PolicyDocument,
    PolicyStatement,
    Role,
    ScannedScope,
    Trail,
)
from lambdasec.model.location import Location
from lambdasec.model.values import ResourceRef, Unresolved
from lambdasec.rules.base import Context, Outcome, Rule
from lambdasec.rules.live import (
    ALL,
    DATA_EVENTS,
    GUARDDUTY,
    LAYER_GRANT,
    NONE,
    PARTIAL,
    UNKNOWN,
    arn_parts,
    records_invocations,
)
from lambdasec.rules.registry import find_rule

from .conftest import FIXTURE_CLOCK

ACCOUNT = "123456789012"
OTHER = "210987654321"
REGION = "us-east-1"
FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders"
PREFIX = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"


def _run(rule: Rule, inventory: Inventory, **options: Any) -> list[Outcome]:
    return rule.run(inventory, Context(now=FIXTURE_CLOCK, options=options))


def _findings(outcomes: list[Outcome]) -> list[tuple[str, str]]:
    return [(o.resource_id, o.message) for o in outcomes if isinstance(o, Finding)]


def _not_evaluated(outcomes: list[Outcome]) -> list[tuple[str, str]]:
    return [(o.resource_id, o.reason) for o in outcomes if isinstance(o, NotEvaluated)]


def _function(name: str = "orders", region: str = REGION, account: str = ACCOUNT, **extra: Any) -> Function:
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return Function(key=arn, id=arn, type="AWS::Lambda::Function", location=Location(arn=arn, region=region),
                    name=name, **extra)


def _trail(name: str, home: str = REGION, account: str = ACCOUNT, **extra: Any) -> Trail:
    arn = f"arn:aws:cloudtrail:{home}:{account}:trail/{name}"
    return Trail(key=arn, id=arn, type="AWS::CloudTrail::Trail", location=Location(arn=arn, region=home), **extra)


def _inventory(*objects: Any, scopes: tuple[tuple[str, str, tuple[str, ...]], ...] = (
        (ACCOUNT, REGION, ("lambda", "cloudtrail", "guardduty")),)) -> Inventory:
    inventory = Inventory(own_accounts={ACCOUNT})
    buckets = {Function: inventory.functions, Trail: inventory.trails, GuardDutyDetector: inventory.guardduty_detectors,
               LayerVersion: inventory.layers, LayerPermission: inventory.layer_permissions, Role: inventory.roles}
    for obj in objects:
        bucket = buckets.get(type(obj))
        inventory.add(bucket if bucket is not None else inventory.ecr_repositories, obj)
    inventory.scopes = [ScannedScope(account, region, list(services)) for account, region, services in scopes]
    return inventory


ALL_LAMBDA = [{"DataResources": [{"Type": "AWS::Lambda::Function", "Values": ["arn:aws:lambda"]}]}]
DATA_LAMBDA = [{"Field": "eventCategory", "Equals": ["Data"]},
               {"Field": "resources.type", "Equals": ["AWS::Lambda::Function"]}]


def test_rules_are_registered_with_their_codes() -> None:
    assert find_rule("OBS004") is DATA_EVENTS and find_rule("function-data-events-not-recorded") is DATA_EVENTS
    assert find_rule("THR001") is GUARDDUTY and GUARDDUTY.category == "threat"
    assert find_rule("EXP009") is LAYER_GRANT and LAYER_GRANT.category == "exposure"


def test_arn_parts() -> None:
    parts = arn_parts(FN)
    assert parts is not None and (parts.partition, parts.service, parts.region, parts.account, parts.resource) == (
        "aws", "lambda", REGION, ACCOUNT, "function:orders")
    assert arn_parts(f"arn:aws:iam::{ACCOUNT}:role/a/b").resource == "role/a/b"  # type: ignore[union-attr]
    assert arn_parts("template.yaml#Fn") is None and arn_parts("arn:aws:x") is None and arn_parts(None) is None


# ---------------------------------------------------------------- selector logic (pure)
@pytest.mark.parametrize(("selectors", "expected"), [
    ([], NONE),
    (ALL_LAMBDA, ALL),
    ([{"DataResources": [{"Type": "AWS::Lambda::Function", "Values": [FN]}]}], ALL),
    ([{"DataResources": [{"Type": "AWS::Lambda::Function", "Values": [PREFIX]}]}], ALL),  # a prefix
    ([{"DataResources": [{"Type": "AWS::Lambda::Function", "Values": [PREFIX + "billing"]}]}], NONE),
    ([{"DataResources": [{"Type": "AWS::Lambda::Function", "Values": ["arn:aws-cn:lambda"]}]}], NONE),
    ([{"DataResources": [{"Type": "AWS::Lambda::Function", "Values": [""]}]}], NONE),
    ([{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}], NONE),
    ([{"ReadWriteType": "All", **ALL_LAMBDA[0]}], ALL),
    ([{"ReadWriteType": "WriteOnly", **ALL_LAMBDA[0]}], ALL),  # Invoke is a write (readOnly false) event
    ([{"ReadWriteType": "ReadOnly", **ALL_LAMBDA[0]}], NONE),
    ([{"IncludeManagementEvents": True}], NONE),
    ([{"ReadWriteType": "ReadOnly", **ALL_LAMBDA[0]}, ALL_LAMBDA[0]], ALL),  # selectors are ORed
    ([{"DataResources": [{"Type": "AWS::Lambda::Function", "Values": [Unresolved("!Ref Fn")]}]}], UNKNOWN),
    ([{"DataResources": [{"Type": Unresolved("!Ref T"), "Values": ["arn:aws:lambda"]}]}], UNKNOWN),
    ([{"ReadWriteType": Unresolved("!Ref Rw"), **ALL_LAMBDA[0]}], UNKNOWN),
    ([{"DataResources": [{"Type": "AWS::Lambda::Function", "Values": [Unresolved("!Ref Fn"), FN]}]}], ALL),
])
def test_classic_selectors(selectors: list[dict[str, Any]], expected: str) -> None:
    assert records_invocations(selectors, [], FN) == expected


def _advanced(*fields: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"Name": "s", "FieldSelectors": list(fields)}]


@pytest.mark.parametrize(("selectors", "expected"), [
    (_advanced(*DATA_LAMBDA), ALL),
    (_advanced(DATA_LAMBDA[1]), NONE),  # eventCategory is required
    (_advanced(DATA_LAMBDA[0]), NONE),  # so is resources.type
    (_advanced({"Field": "eventCategory", "Equals": ["Management"]}, DATA_LAMBDA[1]), NONE),
    (_advanced(DATA_LAMBDA[0], {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}), NONE),
    (_advanced(DATA_LAMBDA[0], {"Field": "resources.type", "Equals": ["AWS::S3::Object", "AWS::Lambda::Function"]}),
     ALL),
    (_advanced(*DATA_LAMBDA, {"Field": "readOnly", "Equals": ["true"]}), NONE),
    (_advanced(*DATA_LAMBDA, {"Field": "readOnly", "Equals": ["false"]}), ALL),
    (_advanced(*DATA_LAMBDA, {"Field": "eventName", "Equals": ["Invoke"]}), ALL),
    (_advanced(*DATA_LAMBDA, {"Field": "eventName", "Equals": ["GetFunction"]}), NONE),
    (_advanced(*DATA_LAMBDA, {"Field": "eventName", "NotEquals": ["Invoke"]}), NONE),
    (_advanced(*DATA_LAMBDA, {"Field": "resources.ARN", "Equals": [FN]}), ALL),
    (_advanced(*DATA_LAMBDA, {"Field": "resources.ARN", "Equals": [PREFIX + "billing"]}), NONE),
    (_advanced(*DATA_LAMBDA, {"Field": "resources.ARN", "StartsWith": [PREFIX]}), ALL),
    (_advanced(*DATA_LAMBDA, {"Field": "resources.ARN", "StartsWith": [PREFIX + "bill", PREFIX + "ord"]}), ALL),
    (_advanced(*DATA_LAMBDA, {"Field": "resources.ARN", "EndsWith": [":orders"]}), ALL),
    (_advanced(*DATA_LAMBDA, {"Field": "resources.ARN", "EndsWith": [":billing"]}), NONE),
    (_advanced(*DATA_LAMBDA, {"Field": "resources.ARN", "NotEquals": [FN]}), NONE),
    (_advanced(*DATA_LAMBDA, {"Field": "resources.ARN", "NotEquals": [PREFIX + "billing"]}), ALL),
    (_advanced(*DATA_LAMBDA, {"Field": "resources.ARN", "NotStartsWith": [PREFIX + "ord"]}), NONE),
    (_advanced(*DATA_LAMBDA, {"Field": "resources.ARN", "NotEndsWith": ["orders"]}), NONE),
    # Operators of one field selector are all applied (here: the prefix, but not this function).
    (_advanced(*DATA_LAMBDA, {"Field": "resources.ARN", "StartsWith": [PREFIX], "NotEquals": [FN]}), NONE),
    (_advanced(*DATA_LAMBDA, {"Field": "resources.ARN", "StartsWith": [PREFIX], "NotEquals": [PREFIX + "x"]}), ALL),
    # Fields about the caller or the outcome record some invocations only.
    (_advanced(*DATA_LAMBDA, {"Field": "userIdentity.arn", "Equals": ["arn:aws:iam::1:role/x"]}), PARTIAL),
    (_advanced(*DATA_LAMBDA, {"Field": "errorCode", "NotEquals": ["AccessDenied"]}), PARTIAL),
    (_advanced(*DATA_LAMBDA, {"Field": "resources.ARN", "Equals": [Unresolved("!GetAtt Fn.Arn")]}), UNKNOWN),
    (_advanced(*DATA_LAMBDA, {"Field": "resources.ARN", "Equals": Unresolved("!Ref Arns")}), UNKNOWN),
    (_advanced(*DATA_LAMBDA, {"Field": "resources.ARN", "Equals": [Unresolved("!Ref A"), FN]}), ALL),
    (_advanced(*DATA_LAMBDA, {"Field": "resources.ARN", "NotEquals": [Unresolved("!Ref A")]}), UNKNOWN),
    (_advanced(*DATA_LAMBDA, {"Field": Unresolved("!Ref F"), "Equals": ["x"]}), UNKNOWN),
    (_advanced(*DATA_LAMBDA, {"Field": "resources.ARN", "Equals": [PREFIX + "x"]}) + _advanced(*DATA_LAMBDA), ALL),
    (_advanced(*DATA_LAMBDA, {"Field": "userIdentity.arn", "Equals": ["a"]}) + _advanced(
        *DATA_LAMBDA, {"Field": "resources.ARN", "Equals": [PREFIX + "x"]}), PARTIAL),
])
def test_advanced_selectors(selectors: list[dict[str, Any]], expected: str) -> None:
    assert records_invocations([], selectors, FN) == expected


def test_classic_and_advanced_selectors_combine_to_the_best_coverage() -> None:
    partial = _advanced(*DATA_LAMBDA, {"Field": "userIdentity.arn", "Equals": ["a"]})
    assert records_invocations(ALL_LAMBDA, partial, FN) == ALL
    assert records_invocations([{"ReadWriteType": "ReadOnly", **ALL_LAMBDA[0]}], partial, FN) == PARTIAL


# ---------------------------------------------------------------- OBS004
def test_obs004_is_silent_on_infrastructure_as_code_scans() -> None:
    template_fn = Function(key="t.yaml#Fn", id="Fn", type="AWS::Lambda::Function", location=Location("t.yaml", 3))
    inventory = _inventory(template_fn, scopes=())
    assert _run(DATA_EVENTS, inventory) == []
    # In a scan that mixes a live account and templates, template functions are left to OBS003.
    assert _run(DATA_EVENTS, _inventory(template_fn, _function(), _trail("t", event_selectors=ALL_LAMBDA))) == []


def test_obs004_findings_and_coverage() -> None:
    covered, uncovered = _function("covered"), _function("uncovered")
    abroad = _function("abroad", region="eu-west-1")
    inventory = _inventory(
        covered, uncovered, abroad,
        _trail("one", event_selectors=[{"DataResources": [{"Type": "AWS::Lambda::Function",
                                                           "Values": [covered.key]}]}]),
        # Single-region trails of another region and trails of another account cover nothing here.
        _trail("elsewhere", home="eu-central-1", event_selectors=ALL_LAMBDA),
        _trail("foreign", account=OTHER, multi_region=True, event_selectors=ALL_LAMBDA),
        # A multi-region trail homed elsewhere covers every region.
        _trail("global", home="eu-central-1", multi_region=True, event_selectors=[
            {"DataResources": [{"Type": "AWS::Lambda::Function", "Values": [abroad.key]}]}]),
        scopes=((ACCOUNT, REGION, ("lambda", "cloudtrail")), (ACCOUNT, "eu-west-1", ("lambda", "cloudtrail"))),
    )
    outcomes = _run(DATA_EVENTS, inventory)
    assert _findings(outcomes) == [
        (uncovered.id, f"Function {uncovered.id}: no CloudTrail trail of account {ACCOUNT}, {REGION} records its "
                       "Lambda data events (Invoke calls)"),
    ]
    finding = next(o for o in outcomes if isinstance(o, Finding))
    assert finding.functions == [uncovered.id] and finding.location == uncovered.location
    assert finding.evidence == {
        "trails": [f"arn:aws:cloudtrail:eu-central-1:{ACCOUNT}:trail/global",
                   f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/one"],
        "recording": [], "not_logging": [], "coverage": NONE}
    assert _not_evaluated(outcomes) == []


def test_obs004_trails_that_are_not_logging_do_not_count() -> None:
    fn = _function()
    stopped = _trail("stopped", is_logging=False, event_selectors=ALL_LAMBDA)
    outcomes = _run(DATA_EVENTS, _inventory(fn, stopped))
    assert _findings(outcomes) == [(fn.id, f"Function {fn.id}: no CloudTrail trail of account {ACCOUNT}, {REGION} "
                                           f"records its Lambda data events (Invoke calls); {stopped.id} would, but "
                                           "is not logging")]


def test_obs004_partial_coverage_is_a_medium_confidence_finding() -> None:
    fn = _function()
    trail = _trail("callers", advanced_event_selectors=_advanced(*DATA_LAMBDA, {"Field": "userIdentity.arn",
                                                                                 "Equals": ["arn:aws:iam::1:role/a"]}))
    outcomes = _run(DATA_EVENTS, _inventory(fn, trail))
    [finding] = [o for o in outcomes if isinstance(o, Finding)]
    assert finding.confidence is Confidence.MEDIUM and finding.variant == "partial"
    assert finding.message == (f"Function {fn.id}: the trails of account {ACCOUNT}, {REGION} record only some of its "
                               f"Invoke calls ({trail.id} filter on the caller or the outcome)")


def test_obs004_not_evaluated_without_complete_cloudtrail_data() -> None:
    fn, other = _function(), _function("far", region="ap-south-1")
    inventory = _inventory(fn, other, scopes=((ACCOUNT, REGION, ("lambda",)),))
    assert _run(DATA_EVENTS, inventory) == [
        NotEvaluated("OBS004", fn.id, f"cloudtrail was not read completely in account {ACCOUNT}, {REGION} "
                                      "(see the coverage gaps)", fn.location),
        NotEvaluated("OBS004", other.id, f"account {ACCOUNT} in ap-south-1 was not part of the scan", other.location),
    ]


def test_obs004_not_evaluated_when_logging_or_selectors_are_unknown() -> None:
    fn = _function()
    unknown = _trail("unknown", is_logging=Unresolved("!Ref Logging"), event_selectors=ALL_LAMBDA)
    assert _not_evaluated(_run(DATA_EVENTS, _inventory(fn, unknown))) == [
        (fn.id, f"the selectors or logging status of {unknown.id} are not known")]
    undecided = _trail("undecided", event_selectors=[
        {"DataResources": [{"Type": "AWS::Lambda::Function", "Values": [Unresolved("!Ref Fn")]}]}])
    assert _not_evaluated(_run(DATA_EVENTS, _inventory(fn, undecided))) == [
        (fn.id, "the selectors or logging status of a trail are not known")]


# ---------------------------------------------------------------- THR001
def _detector(region: str = REGION, ident: str = "12abc34d", **extra: Any) -> GuardDutyDetector:
    arn = f"arn:aws:guardduty:{region}:{ACCOUNT}:detector/{ident}"
    return GuardDutyDetector(key=arn, id=arn, type="AWS::GuardDuty::Detector",
                             location=Location(arn=arn, region=region), **extra)


def test_thr001_region_without_a_detector() -> None:
    a, b = _function("a"), _function("b")
    outcomes = _run(GUARDDUTY, _inventory(a, b))
    [finding] = [o for o in outcomes if isinstance(o, Finding)]
    assert (finding.resource_id, finding.resource_key, finding.message, finding.functions) == (
        f"GuardDuty {ACCOUNT} {REGION}", f"arn:aws:guardduty:{REGION}:{ACCOUNT}:detector",
        f"GuardDuty has no detector in account {ACCOUNT}, {REGION}, where 2 function(s) run: Lambda Protection is off",
        sorted([a.id, b.id]))
    assert finding.location == Location(arn=f"arn:aws:guardduty:{REGION}:{ACCOUNT}:detector", region=REGION)


@pytest.mark.parametrize(("detector", "expected"), [
    (_detector(features={"LAMBDA_NETWORK_LOGS": "ENABLED"}), None),
    (_detector(features={"LAMBDA_NETWORK_LOGS": "DISABLED"}), "has LAMBDA_NETWORK_LOGS DISABLED"),
    (_detector(features={"S3_DATA_EVENTS": "ENABLED"}), "has LAMBDA_NETWORK_LOGS not set"),
    (_detector(enabled=False, features={"LAMBDA_NETWORK_LOGS": "ENABLED"}), "is suspended"),
])
def test_thr001_detector_states(detector: GuardDutyDetector, expected: str | None) -> None:
    outcomes = _run(GUARDDUTY, _inventory(_function(), detector))
    if expected is None:
        assert outcomes == []
    else:
        assert _findings(outcomes) == [(detector.id, f"GuardDuty Lambda Protection is off in account {ACCOUNT}, "
                                                     f"{REGION} (detector {detector.id} {expected}): the network "
                                                     "activity of 1 function(s) is not monitored")]


def test_thr001_not_evaluated_cases() -> None:
    fn = _function()
    silent = _detector(features={})
    assert _not_evaluated(_run(GUARDDUTY, _inventory(fn, silent))) == [
        (silent.id, f"detector {silent.id} reported no features")]
    unknown = _detector(enabled=Unresolved("!Ref Enable"))
    assert _not_evaluated(_run(GUARDDUTY, _inventory(fn, unknown))) == [
        (unknown.id, f"the status of detector {unknown.id} is not known")]
    unread = _inventory(fn, scopes=((ACCOUNT, REGION, ("lambda",)),))
    assert _run(GUARDDUTY, unread) == [NotEvaluated(
        "THR001", f"GuardDuty {ACCOUNT} {REGION}",
        f"guardduty was not read completely in account {ACCOUNT}, {REGION} (see the coverage gaps)",
        Location(arn=f"arn:aws:guardduty:{REGION}:{ACCOUNT}:detector", region=REGION))]


def test_thr001_needs_functions_and_a_live_scan() -> None:
    # A scanned region without functions needs no detector; an IaC scan has no scopes.
    assert _run(GUARDDUTY, _inventory(scopes=((ACCOUNT, REGION, ("lambda", "guardduty")),))) == []
    assert _run(GUARDDUTY, _inventory(_function(), scopes=())) == []


# ---------------------------------------------------------------- EXP009
LAYER = f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:shared:3"


def _grant(sid: str, principal: Any, **extra: Any) -> LayerPermission:
    key = f"{LAYER}#policy/{sid}"
    return LayerPermission(key=key, id=key, type="AWS::Lambda::LayerVersionPermission",
                           location=Location(arn=LAYER, region=REGION), layer=ResourceRef(LAYER),
                           action="lambda:GetLayerVersion", principal=principal, **extra)


def _layer() -> LayerVersion:
    return LayerVersion(key=LAYER, id=LAYER, type="AWS::Lambda::LayerVersion",
                        location=Location(arn=LAYER, region=REGION))


def test_exp009_flags_unknown_accounts_only() -> None:
    user = _function(layers=[ResourceRef(LAYER)])
    bystander = _function("other")
    grants = [_grant("partner", "444455556666"), _grant("root", "arn:aws:iam::777788889999:root"),
              _grant("own", ACCOUNT), _grant("trusted", "111122223333"), _grant("public", "*"),
              _grant("org", "*", organization_id="o-abc")]
    outcomes = _run(LAYER_GRANT, _inventory(user, bystander, _layer(), *grants), trusted_accounts=["111122223333"])
    assert _findings(outcomes) == [
        (grants[0].id, f"Layer permission {grants[0].id} shares layer {LAYER} with account 444455556666, which is "
                       "neither a scanned account nor in trusted_accounts"),
        (grants[1].id, f"Layer permission {grants[1].id} shares layer {LAYER} with account 777788889999, which is "
                       "neither a scanned account nor in trusted_accounts"),
    ]
    assert all(o.functions == [user.id] for o in outcomes if isinstance(o, Finding))
    assert _not_evaluated(outcomes) == []
    # A single trusted account may be configured as a string.
    assert len(_findings(_run(LAYER_GRANT, _inventory(_layer(), grants[0]), trusted_accounts="444455556666"))) == 0


def test_exp009_not_evaluated_and_silent_cases() -> None:
    unknown = _grant("unknown", Unresolved("!Ref Account"))
    service = _grant("service", "lambda.amazonaws.com")
    outcomes = _run(LAYER_GRANT, _inventory(_layer(), unknown, service))
    assert _not_evaluated(outcomes) == [
        (unknown.id, "the principal <unresolved !Ref Account> is not an account id"),
        (service.id, "the principal 'lambda.amazonaws.com' does not name an account"),
    ]
    partner = _grant("partner", "444455556666")
    assert _not_evaluated(_run(LAYER_GRANT, _inventory(_layer(), partner, scopes=((ACCOUNT, REGION, ("iam",)),)))) == [
        (partner.id, f"lambda was not read completely in account {ACCOUNT}, {REGION} (see the coverage gaps)")]
    template = LayerPermission(key="t.yaml#Grant", id="Grant", type="AWS::Lambda::LayerVersionPermission",
                               location=Location("t.yaml", 4), layer="arn:aws:lambda:us-east-1:1:layer:x:1",
                               principal="444455556666")
    assert _run(LAYER_GRANT, _inventory(template)) == []  # templates: no own accounts to compare with
    assert _run(LAYER_GRANT, _inventory(_layer(), partner, scopes=())) == []


# ---------------------------------------------------------------- covered by existing rules
def test_iam006_already_judges_live_execution_roles() -> None:
    """"Execution role trust lets other accounts assume it" needs no live rule: IAM006 reads live roles as they
    are (trust policy parsed from IAM), through the function's ResourceRef to the role ARN."""
    from lambdasec.rules.identity import ROLE_TRUST_BEYOND_LAMBDA

    role_arn = f"arn:aws:iam::{ACCOUNT}:role/orders"
    role = Role(key=role_arn, id=role_arn, type="AWS::IAM::Role", location=Location(arn=role_arn), name="orders",
                trust_policy=PolicyDocument([PolicyStatement(
                    "Allow", ["sts:AssumeRole"],
                    principals={"Service": ["lambda.amazonaws.com"], "AWS": [f"arn:aws:iam::{OTHER}:root"]})]))
    fn = _function(role=ResourceRef(role_arn, "Arn"))
    outcomes = _run(ROLE_TRUST_BEYOND_LAMBDA, _inventory(fn, role))
    assert [(o.rule_id, o.resource_id, o.functions) for o in outcomes if isinstance(o, Finding)] == [
        ("IAM006", role_arn, [fn.id])]


def test_layer_lock_rules_key_live_layers_by_their_arn(tmp_path: Path) -> None:
    """"A layer no longer matches the lock" on live inventories: layer versions are immutable (a version's
    CodeSha256 never changes), so INT012's version check is the check; live layers are keyed like ARN layers
    (the ARN without its version), which needs the analysis/layer_lock.py change of requests-snapshot.md."""
    import json

    from lambdasec.rules.layer_lock import LAYER_LOCK_MISMATCH, LAYER_NOT_LOCKED

    layer = LayerVersion(key=f"{LAYER[:-1]}4", id=f"{LAYER[:-1]}4", type="AWS::Lambda::LayerVersion",
                         location=Location(arn=f"{LAYER[:-1]}4", region=REGION),
                         code_sha256="n0vTj5Dk2bXz0t8yqkV7nq3dYVQk2lJ8m0l3Z1c2b3A=")
    fn = _function(layers=[ResourceRef(layer.key)])
    lock = tmp_path / "lambdasec.lock"
    lock.write_text(json.dumps({"schema_version": 1, "layers": {LAYER[: -len(":3")]: {
        "kind": "arn", "versions": [3], "sha256": None, "content": None, "functions": [fn.key]}}}), encoding="utf-8")
    inventory = _inventory(fn, layer)
    mismatch = _run(LAYER_LOCK_MISMATCH, inventory, layer_lock=str(lock))
    assert [(o.resource_id, o.message) for o in mismatch if isinstance(o, Finding)] == [
        (fn.id, f"Layer {layer.key} of function {fn.id} uses version 4, the lock has 3 ({lock})")]
    assert _run(LAYER_NOT_LOCKED, inventory, layer_lock=str(lock)) == []


def test_int012_compares_a_live_layer_version_hash_with_the_lock(tmp_path: Path) -> None:
    """The published layer version is not what was reviewed: its CodeSha256 (the sha256 of its zip, base64)
    differs from the digest the lock recorded for that version's zip."""
    import base64
    import hashlib
    import json

    from lambdasec.rules.layer_lock import LAYER_LOCK_MISMATCH

    reviewed = hashlib.sha256(b"the reviewed zip").hexdigest()
    published = hashlib.sha256(b"another zip").digest()
    layer = LayerVersion(key=LAYER, id=LAYER, type="AWS::Lambda::LayerVersion",
                         location=Location(arn=LAYER, region=REGION), code_sha256=base64.b64encode(published).decode())
    fn = _function(layers=[ResourceRef(layer.key)])
    inventory = _inventory(fn, layer)

    def lock_with(content: str | None, sha256: str) -> str:
        path = tmp_path / f"{len(list(tmp_path.iterdir()))}.lock"
        path.write_text(json.dumps({"schema_version": 1, "layers": {LAYER[: -len(":3")]: {
            "kind": "arn", "versions": [3], "sha256": sha256, "content": content, "functions": [fn.key]}}}))
        return str(path)

    zip_lock = lock_with("layers/shared.zip", reviewed)
    [finding] = [o for o in _run(LAYER_LOCK_MISMATCH, inventory, layer_lock=zip_lock) if isinstance(o, Finding)]
    assert finding.message == (f"Layer {LAYER} of function {fn.id} has content sha256 {published.hex()}, "
                               f"the lock has {reviewed} ({zip_lock})")
    assert _run(LAYER_LOCK_MISMATCH, inventory, layer_lock=lock_with("deployed", published.hex())) == []
    # A directory was locked by the digest of its file listing: not comparable with a zip's hash.
    assert _run(LAYER_LOCK_MISMATCH, inventory, layer_lock=lock_with("layers/shared", reviewed)) == []


def test_int014_judges_signing_profiles_only_where_signer_was_read() -> None:
    from lambdasec.model.inventory import CodeSigningConfig, ScannedScope, SigningProfile
    from lambdasec.rules.live import SIGNING_PROFILE

    profile = f"arn:aws:signer:{REGION}:{ACCOUNT}:/signing-profiles/leaked/v1"
    config_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:code-signing-config:csc-1"
    config = CodeSigningConfig(key=config_arn, id=config_arn, type="AWS::Lambda::CodeSigningConfig",
                               location=Location(arn=config_arn, region=REGION),
                               allowed_publishers=[ResourceRef(profile)])
    inventory = Inventory(scopes=[ScannedScope(ACCOUNT, REGION, ["lambda"])])
    inventory.add(inventory.code_signing_configs, config)
    [outcome] = SIGNING_PROFILE.run(inventory, Context(now=FIXTURE_CLOCK))
    assert isinstance(outcome, NotEvaluated)
    assert outcome.reason == f"signer was not read completely in account {ACCOUNT}, {REGION} (see the coverage gaps)"
    inventory.scopes = [ScannedScope(ACCOUNT, REGION, ["lambda", "signer"])]
    inventory.add(inventory.signing_profiles, SigningProfile(
        key=profile, id=profile, type="AWS::Signer::SigningProfile", location=Location(arn=profile), name="leaked",
        status="Revoked"))
    [finding] = SIGNING_PROFILE.run(inventory, Context(now=FIXTURE_CLOCK))
    assert isinstance(finding, Finding) and finding.evidence == {
        "inactive_profiles": [{"profile": "leaked", "status": "Revoked"}], "all_publishers_inactive": True}
    iac = Inventory()
    iac.add(iac.code_signing_configs, config)
    assert SIGNING_PROFILE.run(iac, Context(now=FIXTURE_CLOCK)) == []  # IaC scans: no scopes, nothing to say


def test_int015_needs_the_image_repository_read_from_ecr() -> None:
    from lambdasec.model.inventory import CodeLocation, EcrRepository
    from lambdasec.rules.live import IMAGE_SCANNING

    def image_function(name: str, image: str) -> Function:
        return _function(name, package_type="Image", code=CodeLocation("image", image))

    own = image_function("own", f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/orders:v1")
    missing = image_function("missing", f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/gone:v1")
    hub = image_function("hub", "public.ecr.aws/lambda/python:3.12")  # not a private ECR repository: skipped
    repository = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/orders"
    unread = _inventory(own, scopes=((ACCOUNT, REGION, ("lambda",)),))
    assert [o.reason for o in _run(IMAGE_SCANNING, unread) if isinstance(o, NotEvaluated)] == [
        f"the repository orders of its image: ecr was not read completely in account {ACCOUNT}, {REGION} "
        "(see the coverage gaps)"]
    read = _inventory(own, missing, hub, EcrRepository(key=repository, id=repository, type="AWS::ECR::Repository",
                                                      location=Location(arn=repository), name="orders"),
                      scopes=((ACCOUNT, REGION, ("lambda", "ecr")),))
    outcomes = _run(IMAGE_SCANNING, read)
    assert [(type(o).__name__, getattr(o, "resource_id", "")) for o in outcomes] == [
        ("Finding", own.id), ("NotEvaluated", missing.id)]


def test_int016_judges_each_tag_against_its_live_repository() -> None:
    from lambdasec.model.inventory import CodeLocation, EcrRepository
    from lambdasec.rules.live import IMAGE_TAG_MUTABLE

    registry = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
    digest = "sha256:" + "ab" * 32

    def image_function(name: str, image: str) -> Function:
        return _function(name, package_type="Image",
                         code=CodeLocation("image", image, resolved_image=f"{image.split(':')[0]}@{digest}"))

    def repository(name: str, mutability: str, exclusions: list[str] | None = None) -> EcrRepository:
        arn = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{name}"
        return EcrRepository(key=arn, id=arn, type="AWS::ECR::Repository", location=Location(arn=arn, region=REGION),
                             name=name, tag_mutability=mutability, tag_mutability_exclusions=exclusions)

    functions = [
        image_function("moved", f"{registry}/orders:v1"),  # MUTABLE
        image_function("pinned", f"{registry}/orders@{digest}"),  # a digest: nothing to move
        image_function("fixed", f"{registry}/billing:v1"),  # IMMUTABLE
        image_function("dev", f"{registry}/web:dev-7"),  # IMMUTABLE_WITH_EXCLUSION, the tag excluded
        image_function("unknown", f"{registry}/legacy:v1"),  # *_WITH_EXCLUSION, filters not read
        image_function("gone", f"{registry}/deleted:v1"),  # repository not found
        image_function("foreign", f"{OTHER}.dkr.ecr.{REGION}.amazonaws.com/shared:v1"),  # account not scanned
        image_function("hub", "public.ecr.aws/lambda/python:3.12"),  # not a private ECR repository: INT005/INT006
        _function("zip"),
    ]
    repositories = [repository("orders", "MUTABLE"), repository("billing", "IMMUTABLE"),
                    repository("web", "IMMUTABLE_WITH_EXCLUSION", ["dev-*"]),
                    repository("legacy", "MUTABLE_WITH_EXCLUSION")]
    inventory = _inventory(*functions, *repositories, scopes=((ACCOUNT, REGION, ("lambda", "ecr")),))
    outcomes = _run(IMAGE_TAG_MUTABLE, inventory)
    name = {fn.id: fn.name for fn in functions}
    assert sorted((name[o.resource_id], o.evidence["tag"], o.evidence["tag_mutability"])
                  for o in outcomes if isinstance(o, Finding)) == [
        ("dev", "dev-7", "IMMUTABLE_WITH_EXCLUSION"), ("moved", "v1", "MUTABLE")]
    assert sorted((name[resource], reason) for resource, reason in _not_evaluated(outcomes)) == [
        ("foreign", f"the repository shared of its image: account {OTHER} in {REGION} was not part of the scan"),
        ("gone", "the ECR repository deleted of its image was not found"),
        ("unknown", "the ECR repository legacy has tag mutability MUTABLE_WITH_EXCLUSION and its exclusion filters "
                    "are not known")]
    [moved] = [o for o in outcomes if isinstance(o, Finding) and name[o.resource_id] == "moved"]
    assert moved.message == (
        f"Function {moved.resource_id} was deployed from tag 'v1' of ECR repository orders, where that tag can be "
        "overwritten (tag mutability MUTABLE): whoever may push to the repository (ecr:PutImage) can point it at "
        "another image, which the next deployment or update by that tag runs. Until then the function keeps running "
        f"the image the tag named when it was deployed ({digest})")
    assert moved.severity.name == "MEDIUM" and moved.confidence is Confidence.HIGH
    unread = _inventory(*functions, *repositories, scopes=((ACCOUNT, REGION, ("lambda",)),))
    assert {reason for _, reason in _not_evaluated(_run(IMAGE_TAG_MUTABLE, unread))} >= {
        f"the repository orders of its image: ecr was not read completely in account {ACCOUNT}, {REGION} "
        "(see the coverage gaps)"}
    iac = Inventory()
    iac.add(iac.functions, functions[0])
    assert _run(IMAGE_TAG_MUTABLE, iac) == []  # IaC scans: no scopes, INT005 speaks there


def _signing_job(job_id: str, expires: str | None, account: str = ACCOUNT, region: str = REGION,
                 **extra: Any) -> Any:
    from lambdasec.model.inventory import SigningJob

    arn = f"arn:aws:signer:{region}:{account}:/signing-jobs/{job_id}"
    return SigningJob(key=arn, id=arn, type="AWS::Signer::SigningJob", location=Location(arn=arn, region=region),
                      status="Succeeded", profile_name="release", profile_version="a1b2c3d4e5",
                      signature_expires_at=expires, **extra)


def test_int017_revoked_and_expired_signatures_of_the_code_a_function_runs() -> None:
    from lambdasec.model.findings import Severity
    from lambdasec.rules.live import SIGNATURE_INVALID

    jobs = {
        "revoked": _signing_job("j-revoked", "2037-01-01T00:00:00+00:00", revoked=True,
                                revoked_at="2026-10-02T08:30:00+00:00", revocation_reason="key leaked"),
        "both": _signing_job("j-both", "2026-01-01T00:00:00Z", revoked=True),  # no time, no reason given
        "expired": _signing_job("j-expired", "2026-11-28T23:59:59+00:00"),
        "valid": _signing_job("j-valid", "2026-11-29T00:00:01+00:00"),
        "no-end": _signing_job("j-no-end", None),  # Signer gave no end of validity: nothing to judge
        "garbled": _signing_job("j-garbled", "next year"),
        "gone": _signing_job("j-gone", None, found=False),  # asked for; Signer does not know it
    }
    functions = [_function(name, signing_job=job.key) for name, job in jobs.items()]
    functions += [
        _function("unsigned"),  # INT001's business
        _function("unread", signing_job=f"arn:aws:signer:{REGION}:{ACCOUNT}:/signing-jobs/j-unread"),
        _function("foreign", signing_job=f"arn:aws:signer:{REGION}:{OTHER}:/signing-jobs/j-tooling"),
        _function("odd", signing_job="not-an-arn"),
    ]
    inventory = _inventory(*functions, scopes=((ACCOUNT, REGION, ("lambda", "signer")),))
    for job in jobs.values():
        inventory.add(inventory.signing_jobs, job)
    outcomes = _run(SIGNATURE_INVALID, inventory)
    findings = {o.resource_id.rsplit(":", 1)[-1]: o for o in outcomes if isinstance(o, Finding)}
    assert {name: (f.variant, f.severity) for name, f in findings.items()} == {
        "revoked": ("revoked", Severity.HIGH), "both": ("revoked", Severity.HIGH),
        "expired": ("expired", Severity.LOW)}
    assert findings["revoked"].message == (
        f"Function {PREFIX}revoked runs code whose signature was revoked on 2026-10-02T08:30:00+00:00 (key leaked): "
        f"signing job {jobs['revoked'].key} of signing profile release/a1b2c3d4e5. Lambda checks signatures only "
        "when code is deployed, so the function keeps running an artifact its publisher no longer vouches for")
    assert findings["both"].message.endswith("; it has expired as well (2026-01-01T00:00:00Z)")
    assert findings["expired"].message == (
        f"Function {PREFIX}expired runs code whose signature expired on 2026-11-28T23:59:59+00:00 (signing job "
        f"{jobs['expired'].key} of signing profile release/a1b2c3d4e5): it no longer shows that the code is what "
        "was signed, and deploying the same artifact again fails under an Enforce code-signing policy")
    assert findings["expired"].evidence == {
        "signing_job": jobs["expired"].key, "profile": "release/a1b2c3d4e5", "revoked": False, "revoked_at": None,
        "revocation_reason": None, "signature_expires_at": "2026-11-28T23:59:59+00:00"}
    assert sorted((resource.rsplit(":", 1)[-1], reason) for resource, reason in _not_evaluated(outcomes)) == [
        ("foreign", f"its signing job arn:aws:signer:{REGION}:{OTHER}:/signing-jobs/j-tooling: account {OTHER} in "
                    f"{REGION} was not part of the scan"),
        ("garbled", "the end of validity of its signature (next year) is not a time"),
        ("gone", f"its signing job arn:aws:signer:{REGION}:{ACCOUNT}:/signing-jobs/j-gone was not found in "
                 f"Signer (account {ACCOUNT}, {REGION})"),
        ("odd", "its signing job not-an-arn is not a Signer job ARN"),
        # Signer read in its scope, but not this job: the scan that read the scope did not hold the function
        ("unread", f"its signing job arn:aws:signer:{REGION}:{ACCOUNT}:/signing-jobs/j-unread was not read "
                   f"(account {ACCOUNT}, {REGION} was read by a scan that did not hold this function: another "
                   "--shard)")]
    # Signer not read completely: a job that was read is still judged, one that was not is "not evaluated".
    inventory.scopes = [ScannedScope(ACCOUNT, REGION, ["lambda"])]
    outcomes = _run(SIGNATURE_INVALID, inventory)
    assert {o.resource_id.rsplit(":", 1)[-1] for o in outcomes if isinstance(o, Finding)} == set(findings)
    assert dict((r.rsplit(":", 1)[-1], why) for r, why in _not_evaluated(outcomes))["unread"] == (
        f"its signing job arn:aws:signer:{REGION}:{ACCOUNT}:/signing-jobs/j-unread: signer was not read completely "
        f"in account {ACCOUNT}, {REGION} (see the coverage gaps)")
    iac = Inventory()
    iac.add(iac.functions, functions[0])
    assert _run(SIGNATURE_INVALID, iac) == []  # IaC scans: no scopes
