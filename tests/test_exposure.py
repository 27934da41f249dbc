"""Exposure rules (EXP001-EXP008) on hand-made inventories: edge cases and unresolved values."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from lambdasec.model.findings import Confidence, Finding, NotEvaluated, Severity
from lambdasec.model.inventory import (
    ApiRoute,
    Function,
    FunctionUrl,
    Inventory,
    LayerPermission,
    LayerVersion,
    Permission,
)
from lambdasec.model.location import Location
from lambdasec.model.values import ResourceRef, Unresolved, Value
from lambdasec.rules import exposure
from lambdasec.rules.base import Context, Outcome, Rule
from lambdasec.rules.exposure import (
    EXP001,
    EXP002,
    EXP003,
    EXP004,
    EXP005,
    EXP006,
    EXP007,
    EXP008,
    RULES,
    classify_principal,
    is_invoke_only,
)

NOW = dt.datetime(2026, 11, 29, tzinfo=dt.timezone.utc)
FILE = "template.yaml"
ACCOUNT_REF = Unresolved("!Ref AWS::AccountId", "pseudo parameter known only at deploy time")


def _key(logical_id: str) -> str:
    return f"{FILE}#{logical_id}"


def _common(logical_id: str, kind: str) -> dict[str, Any]:
    return {"key": _key(logical_id), "id": logical_id, "type": kind, "location": Location(file=FILE, line=5)}


def _function(logical_id: str = "Fn", **fields: Any) -> Function:
    return Function(**_common(logical_id, "AWS::Lambda::Function"), **fields)


def _permission(logical_id: str, principal: Value, action: Value = "lambda:InvokeFunction",
                **fields: Any) -> Permission:
    return Permission(**_common(logical_id, "AWS::Lambda::Permission"), function=ResourceRef(_key("Fn")),
                      principal=principal, action=action, **fields)


def _url(logical_id: str, auth_type: Value = "AWS_IAM", origins: list[Value] | None = None) -> FunctionUrl:
    return FunctionUrl(**_common(logical_id, "AWS::Lambda::Url"), function=ResourceRef(_key("Fn"), "Arn"),
                       auth_type=auth_type, cors_allow_origins=origins)


def _route(logical_id: str, authorization: str, method: str = "GET", api_key: bool = False) -> ApiRoute:
    return ApiRoute(**_common(logical_id, "AWS::ApiGateway::Method"), api="Api", method=method, path="/items",
                    function=ResourceRef(_key("Fn"), "Arn"), authorization=authorization,
                    api_key_required=api_key)


def _inventory(*resources: Any, own_accounts: set[str] | None = None) -> Inventory:
    inventory = Inventory(own_accounts=set(own_accounts or ()))
    inventory.add(inventory.functions, _function("Fn", name="orders"))
    buckets: dict[type, list[Any]] = {
        Permission: inventory.permissions, FunctionUrl: inventory.function_urls,
        ApiRoute: inventory.api_routes, LayerPermission: inventory.layer_permissions,
        LayerVersion: inventory.layers, Function: inventory.functions,
    }
    for resource in resources:
        inventory.add(buckets[type(resource)], resource)
    return inventory


def _run(rule: Rule, inventory: Inventory, **options: Any) -> list[Outcome]:
    return rule.run(inventory, Context(now=NOW, options=options))


def _flagged(outcomes: list[Outcome]) -> set[str]:
    return {o.resource_id for o in outcomes if isinstance(o, Finding)}


def _not_evaluated(outcomes: list[Outcome]) -> set[str]:
    return {o.resource_id for o in outcomes if isinstance(o, NotEvaluated)}


def _only_finding(outcomes: list[Outcome]) -> Finding:
    findings = [o for o in outcomes if isinstance(o, Finding)]
    assert len(findings) == 1, outcomes
    return findings[0]


# ---------------------------------------------------------------- rule metadata
def test_rules_are_the_eight_exposure_rules() -> None:
    assert [rule.code for rule in RULES] == [f"EXP00{i}" for i in range(1, 9)]
    assert exposure.RULES is RULES
    assert {rule.category for rule in RULES} == {"exposure"}
    assert len({rule.slug for rule in RULES}) == 8


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_rule_documentation_is_complete(rule: Rule) -> None:
    assert set(rule.snippets) == {"cloudformation", "sam", "terraform"}
    assert rule.references and all(ref.startswith("https://docs.aws.amazon.com/") for ref in rule.references)
    assert set(rule.anchors) == {"checkov", "prowler", "kics", "securityhub"}
    assert 2 <= rule.rationale.count(". ") + 1 <= 6


def test_severities_follow_the_design() -> None:
    assert [r.severity for r in RULES] == [
        Severity.HIGH, Severity.MEDIUM, Severity.CRITICAL, Severity.HIGH, Severity.HIGH, Severity.MEDIUM,
        Severity.HIGH, Severity.MEDIUM,
    ]


# ---------------------------------------------------------------- principal classification
@pytest.mark.parametrize(("principal", "kind", "account"), [
    ("*", "public", None),
    (" * ", "public", None),
    ("s3.amazonaws.com", "service", None),
    ("S3.AmazonAWS.com", "service", None),
    ("s3.amazonaws.com.cn", "service", None),
    (Unresolved("logs.${AWS::Region}.amazonaws.com"), "service", None),
    ("123456789012", "account", "123456789012"),
    ("arn:aws:iam::123456789012:root", "account", "123456789012"),
    ("arn:aws-us-gov:iam::123456789012:role/ops", "account", "123456789012"),
    (ACCOUNT_REF, "own", None),
    (Unresolved("arn:aws:iam::${AWS::AccountId}:role/caller"), "own", None),
    (ResourceRef(_key("CallerRole"), "Arn"), "own", None),
    ("alexa-appkit.amazon.com", "other", None),
    ("12345", "other", None),
    (Unresolved("!Ref CallerPrincipal"), "unknown", None),
    ("", "unknown", None),
])
def test_classify_principal(principal: Value, kind: str, account: str | None) -> None:
    info = classify_principal(principal)
    assert (info.kind, info.account) == (kind, account)


# ---------------------------------------------------------------- EXP001
def test_exp001_flags_auth_none_only() -> None:
    inventory = _inventory(_url("OpenUrl", "NONE"), _url("IamUrl", "AWS_IAM"))
    finding = _only_finding(_run(EXP001, inventory))
    assert finding.resource_id == "OpenUrl"
    assert finding.confidence is Confidence.HIGH
    assert finding.functions == ["Fn"]
    assert "AuthType NONE" in finding.message and "Fn" in finding.message


def test_exp001_points_at_the_auth_type_property() -> None:
    url = _url("OpenUrl", "NONE")
    url.property_locations["AuthType"] = Location(file=FILE, line=9)
    finding = _only_finding(_run(EXP001, _inventory(url)))
    assert finding.location.line == 9


def test_exp001_unresolved_auth_type_is_a_low_confidence_finding() -> None:
    inventory = _inventory(_url("ParamUrl", Unresolved("!Ref UrlAuthType")))
    finding = _only_finding(_run(EXP001, inventory))
    assert finding.confidence is Confidence.LOW
    assert "!Ref UrlAuthType" in finding.message


# ---------------------------------------------------------------- EXP002
def test_exp002_flags_wildcard_origin_and_names_it() -> None:
    inventory = _inventory(
        _url("AnyOrigin", origins=["https://app.example.com", "*"]),
        _url("OneOrigin", origins=["https://app.example.com"]),
        _url("NoCors", origins=None),
        _url("EmptyCors", origins=[]),
    )
    outcomes = _run(EXP002, inventory)
    assert _flagged(outcomes) == {"AnyOrigin"}
    assert _not_evaluated(outcomes) == set()
    assert "'*'" in _only_finding(outcomes).message


def test_exp002_location_is_the_wildcard_item() -> None:
    url = _url("AnyOrigin", origins=["https://app.example.com", "*"])
    url.property_locations["Cors.AllowOrigins"] = Location(file=FILE, line=10)
    url.property_locations["Cors.AllowOrigins.1"] = Location(file=FILE, line=12)
    assert _only_finding(_run(EXP002, _inventory(url))).location.line == 12


def test_exp002_unresolved_origin_is_not_evaluated() -> None:
    outcomes = _run(EXP002, _inventory(_url("ParamOrigin", origins=[Unresolved("!Ref AllowedOrigin")])))
    assert _flagged(outcomes) == set()
    assert _not_evaluated(outcomes) == {"ParamOrigin"}


def test_exp002_literal_wildcard_wins_over_unresolved_origin() -> None:
    outcomes = _run(EXP002, _inventory(_url("Mixed", origins=[Unresolved("!Ref AllowedOrigin"), "*"])))
    assert _flagged(outcomes) == {"Mixed"}
    assert _not_evaluated(outcomes) == set()


# ---------------------------------------------------------------- EXP003
def test_exp003_flags_unrestricted_wildcard_principal() -> None:
    inventory = _inventory(
        _permission("Public", "*"),
        _permission("PublicUrl", "*", action="lambda:InvokeFunctionUrl", function_url_auth_type="NONE"),
        _permission("WithOrg", "*", principal_org_id="o-a1b2c3d4e5"),
        _permission("WithSourceArn", "*", source_arn="arn:aws:sns:us-east-1:123456789012:topic"),
        _permission("WithSourceAccount", "*", source_account=ACCOUNT_REF),
        _permission("Service", "sns.amazonaws.com"),
        _permission("Account", "123456789012"),
    )
    outcomes = _run(EXP003, inventory)
    assert _flagged(outcomes) == {"Public", "PublicUrl"}
    assert _not_evaluated(outcomes) == set()
    url_finding = next(o for o in outcomes if isinstance(o, Finding) and o.resource_id == "PublicUrl")
    assert "FunctionUrlAuthType NONE" in url_finding.message
    assert url_finding.evidence["action"] == "lambda:InvokeFunctionUrl"
    assert url_finding.severity is Severity.CRITICAL


def test_exp003_unresolved_restriction_still_counts_as_restricted() -> None:
    inventory = _inventory(_permission("OrgParam", "*", principal_org_id=Unresolved("!Ref OrgId")))
    assert _run(EXP003, inventory) == []


def test_exp003_unknown_principal_is_not_evaluated_unless_restricted() -> None:
    inventory = _inventory(
        _permission("Unknown", Unresolved("!Ref CallerPrincipal")),
        _permission("UnknownButScoped", Unresolved("!Ref CallerPrincipal"), source_account=ACCOUNT_REF),
        _permission("OwnAccount", ACCOUNT_REF),
    )
    outcomes = _run(EXP003, inventory)
    assert _flagged(outcomes) == set()
    assert _not_evaluated(outcomes) == {"Unknown"}


# ---------------------------------------------------------------- EXP004
def test_exp004_flags_service_principal_without_source() -> None:
    inventory = _inventory(
        _permission("Bare", "s3.amazonaws.com"),
        _permission("RegionalBare", Unresolved("logs.${AWS::Region}.amazonaws.com")),
        _permission("WithArn", "sns.amazonaws.com", source_arn=ResourceRef(_key("Topic"))),
        _permission("WithAccount", "s3.amazonaws.com", source_account=ACCOUNT_REF),
        _permission("OrgOnly", "events.amazonaws.com", principal_org_id="o-a1b2c3d4e5"),
        _permission("Public", "*"),
        _permission("Alexa", "alexa-appkit.amazon.com", event_source_token="amzn1.ask.skill.1"),
    )
    outcomes = _run(EXP004, inventory)
    assert _flagged(outcomes) == {"Bare", "RegionalBare", "OrgOnly"}
    assert _not_evaluated(outcomes) == set()
    bare = next(o for o in outcomes if isinstance(o, Finding) and o.resource_id == "Bare")
    assert "s3.amazonaws.com" in bare.message


def test_exp004_unknown_principal_without_source_is_not_evaluated() -> None:
    inventory = _inventory(
        _permission("Unknown", Unresolved("!Ref InvokerPrincipal")),
        _permission("UnknownWithArn", Unresolved("!Ref InvokerPrincipal"), source_arn="arn:aws:sns:x:1:t"),
    )
    outcomes = _run(EXP004, inventory)
    assert _flagged(outcomes) == set()
    assert _not_evaluated(outcomes) == {"Unknown"}


# ---------------------------------------------------------------- EXP005
@pytest.mark.parametrize(("action", "invoke_only"), [
    ("lambda:InvokeFunction", True),
    ("LAMBDA:invokefunction", True),
    ("lambda:InvokeFunctionUrl", True),
    ("lambda:Invoke*", True),
    ("lambda:InvokeFunction*", True),
    ("lambda:*", False),
    ("*", False),
    ("lambda:GetFunction", False),
    ("lambda:Inv*", False),
    ("lambda:*Function", False),
    ("lambda:UpdateFunctionCode", False),
])
def test_is_invoke_only(action: str, invoke_only: bool) -> None:
    assert is_invoke_only(action) is invoke_only


def test_exp005_flags_non_invoke_actions_and_names_them() -> None:
    inventory = _inventory(
        _permission("Wildcard", "123456789012", action="lambda:*"),
        _permission("Read", "123456789012", action="lambda:GetFunction"),
        _permission("Invoke", "123456789012", action="lambda:InvokeFunction"),
        _permission("UrlInvoke", "*", action="lambda:InvokeFunctionUrl"),
    )
    outcomes = _run(EXP005, inventory)
    assert _flagged(outcomes) == {"Wildcard", "Read"}
    messages = {o.resource_id: o.message for o in outcomes if isinstance(o, Finding)}
    assert "lambda:*" in messages["Wildcard"] and "123456789012" in messages["Wildcard"]
    assert "lambda:GetFunction" in messages["Read"]


def test_exp005_unresolved_or_missing_action_is_not_evaluated() -> None:
    inventory = _inventory(
        _permission("ParamAction", "s3.amazonaws.com", action=Unresolved("!Ref PermissionAction")),
        _permission("NoAction", "s3.amazonaws.com", action=""),
    )
    outcomes = _run(EXP005, inventory)
    assert _flagged(outcomes) == set()
    assert _not_evaluated(outcomes) == {"ParamAction", "NoAction"}


# ---------------------------------------------------------------- EXP006
def _account_permissions() -> list[Permission]:
    return [
        _permission("Partner", "111122223333"),
        _permission("PartnerRole", "arn:aws:iam::444455556666:role/caller"),
        _permission("Own", ACCOUNT_REF),
        _permission("OwnSub", Unresolved("arn:aws:iam::${AWS::AccountId}:root")),
        _permission("TemplateRole", ResourceRef(_key("CallerRole"), "Arn")),
        _permission("Service", "sqs.amazonaws.com", source_account="111122223333"),
        _permission("Public", "*"),
    ]


def test_exp006_flags_literal_accounts_that_are_not_own_or_trusted() -> None:
    outcomes = _run(EXP006, _inventory(*_account_permissions()))
    assert _flagged(outcomes) == {"Partner", "PartnerRole"}
    assert _not_evaluated(outcomes) == set()
    partner_role = next(o for o in outcomes if isinstance(o, Finding) and o.resource_id == "PartnerRole")
    assert partner_role.evidence["account"] == "444455556666"
    assert "arn:aws:iam::444455556666:role/caller" in partner_role.message


def test_exp006_own_accounts_and_trusted_accounts_are_accepted() -> None:
    inventory = _inventory(*_account_permissions(), own_accounts={"111122223333"})
    assert _flagged(_run(EXP006, inventory)) == {"PartnerRole"}
    assert _flagged(_run(EXP006, inventory, trusted_accounts=["444455556666"])) == set()
    assert _flagged(_run(EXP006, inventory, trusted_accounts="444455556666")) == set()


def test_exp006_unknown_principal_is_not_evaluated() -> None:
    inventory = _inventory(
        _permission("ParamAccount", Unresolved("!Ref PartnerAccountId")),
        _permission("ParamArn", Unresolved("arn:aws:iam::${PartnerAccountId}:root")),
    )
    outcomes = _run(EXP006, inventory)
    assert _flagged(outcomes) == set()
    assert _not_evaluated(outcomes) == {"ParamAccount", "ParamArn"}


# ---------------------------------------------------------------- EXP007
def _layer_permission(
    logical_id: str, principal: Value, organization_id: Value | None = None
) -> LayerPermission:
    return LayerPermission(**_common(logical_id, "AWS::Lambda::LayerVersionPermission"),
                           layer=ResourceRef(_key("SharedLayer")), action="lambda:GetLayerVersion",
                           principal=principal, organization_id=organization_id)


def test_exp007_flags_layer_shared_with_everyone_and_lists_its_users() -> None:
    layer = LayerVersion(**_common("SharedLayer", "AWS::Lambda::LayerVersion"))
    user = _function("LayerUser", layers=[ResourceRef(_key("SharedLayer"))])
    inventory = _inventory(
        layer, user,
        _layer_permission("Everyone", "*"),
        _layer_permission("Org", "*", organization_id="o-a1b2c3d4e5"),
        _layer_permission("OrgParam", "*", organization_id=Unresolved("!Ref OrgId")),
        _layer_permission("OneAccount", "111122223333"),
    )
    finding = _only_finding(_run(EXP007, inventory))
    assert finding.resource_id == "Everyone"
    assert finding.functions == ["LayerUser"]
    assert "SharedLayer" in finding.message


def test_exp007_unknown_principal_is_not_evaluated() -> None:
    outcomes = _run(EXP007, _inventory(_layer_permission("Param", Unresolved("!Ref LayerPrincipal"))))
    assert _flagged(outcomes) == set()
    assert _not_evaluated(outcomes) == {"Param"}


# ---------------------------------------------------------------- EXP008
def test_exp008_flags_routes_without_authorization() -> None:
    inventory = _inventory(
        _route("Open", "NONE"),
        _route("Iam", "AWS_IAM"),
        _route("Cognito", "COGNITO_USER_POOLS"),
        _route("Custom", "CUSTOM"),
        _route("Jwt", "jwt"),
        _route("Preflight", "NONE", method="OPTIONS"),
    )
    outcomes = _run(EXP008, inventory)
    assert _flagged(outcomes) == {"Open"}
    assert _not_evaluated(outcomes) == set()
    finding = _only_finding(outcomes)
    assert finding.functions == ["Fn"]
    assert "GET /items" in finding.message and "API key" not in finding.message


def test_exp008_api_key_alone_is_not_authorization() -> None:
    finding = _only_finding(_run(EXP008, _inventory(_route("KeyOnly", "NONE", api_key=True))))
    assert finding.resource_id == "KeyOnly"
    assert "API key" in finding.message
    assert finding.evidence["api_key_required"] is True


def test_exp008_unknown_authorization_is_not_evaluated() -> None:
    outcomes = _run(EXP008, _inventory(_route("Param", "<UNRESOLVED !REF AUTHTYPE>")))
    assert _flagged(outcomes) == set()
    assert _not_evaluated(outcomes) == {"Param"}


# ---------------------------------------------------------------- every rule
@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_empty_inventory_yields_nothing(rule: Rule) -> None:
    assert _run(rule, Inventory()) == []
