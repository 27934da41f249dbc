"""Network (NET), observability (OBS) and resilience (RES) rules on hand-built inventories."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from lambdasec.model.findings import Finding, NotEvaluated
from lambdasec.model.inventory import (
    EventInvokeConfig,
    EventSource,
    Function,
    Inventory,
    LogGroup,
    Route,
    RouteTableAssociation,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
    Trail,
    VpcConfig,
)
from lambdasec.model.location import Location
from lambdasec.model.values import ResourceRef, Unresolved, Value
from lambdasec.rules import network, observability, resilience
from lambdasec.rules.base import Context, Rule
from lambdasec.rules.network import NOT_IN_VPC, OPEN_EGRESS, PUBLIC_SUBNET, SINGLE_AZ
from lambdasec.rules.observability import RETENTION, TRACING, TRAIL
from lambdasec.rules.resilience import FAILURE_DESTINATION, RESERVED_CONCURRENCY

FILE = "template.yaml"
CONTEXT = Context(now=dt.datetime(2026, 11, 29, tzinfo=dt.timezone.utc))
LIST_PARAM = Unresolved("!Ref SubnetIds", "parameter without a default value")
CONDITIONAL = Unresolved('!If ["InVpc", ...]', "condition InVpc is not determinable statically")


def ref(logical_id: str, attribute: str | None = None) -> ResourceRef:
    return ResourceRef(f"{FILE}#{logical_id}", attribute)


def common(logical_id: str, kind: str) -> dict[str, Any]:
    return {"key": f"{FILE}#{logical_id}", "id": logical_id, "type": kind, "location": Location(FILE, 3)}


def function(logical_id: str = "Fn", **fields: Any) -> Function:
    return Function(**common(logical_id, "AWS::Lambda::Function"), **fields)


def vpc_function(logical_id: str, subnets: list[Value] | Unresolved,
                 groups: list[Value] | Unresolved | None = None) -> Function:
    return function(logical_id, vpc=VpcConfig(subnet_ids=subnets, security_group_ids=groups or []))


def subnet(logical_id: str, zone: Value | None = None) -> Subnet:
    return Subnet(**common(logical_id, "AWS::EC2::Subnet"), availability_zone=zone)


def group(logical_id: str, egress: list[SecurityGroupRule] | None) -> SecurityGroup:
    return SecurityGroup(**common(logical_id, "AWS::EC2::SecurityGroup"), egress=egress)


def egress(protocol: Value = "-1", ports: tuple[Any, Any] = (None, None), ipv4: Value | None = None,
           ipv6: Value | None = None, destination_group: Value | None = None) -> SecurityGroupRule:
    return SecurityGroupRule(protocol, ports[0], ports[1], cidr_ipv4=ipv4, cidr_ipv6=ipv6,
                             destination_group=destination_group)


def build(**buckets: list[Any]) -> Inventory:
    inventory = Inventory()
    for name, objects in buckets.items():
        for obj in objects:
            inventory.add(getattr(inventory, name), obj)
    return inventory


def flagged(rule: Rule, inventory: Inventory) -> set[str]:
    return {o.resource_id for o in rule.run(inventory, CONTEXT) if isinstance(o, Finding)}


def skipped(rule: Rule, inventory: Inventory) -> set[str]:
    return {o.resource_id for o in rule.run(inventory, CONTEXT) if isinstance(o, NotEvaluated)}


def findings(rule: Rule, inventory: Inventory) -> list[Finding]:
    return [o for o in rule.run(inventory, CONTEXT) if isinstance(o, Finding)]


def test_modules_export_their_rules() -> None:
    assert [r.code for r in network.RULES] == ["NET001", "NET002", "NET003", "NET004"]
    assert [r.code for r in observability.RULES] == ["OBS001", "OBS002", "OBS003"]
    assert [r.code for r in resilience.RULES] == ["RES001", "RES002"]
    for rule in (*network.RULES, *observability.RULES, *resilience.RULES):
        assert set(rule.snippets) == {"cloudformation", "sam", "terraform"}
        assert set(rule.anchors) == {"checkov", "prowler", "kics", "securityhub"}
        assert rule.references


# ---------------------------------------------------------------- NET001
def test_net001_flags_missing_or_empty_vpc_config() -> None:
    inventory = build(functions=[
        function("NoVpc"),
        vpc_function("NoSubnets", []),
        vpc_function("Literal", ["subnet-0a1b2c3d"]),
        vpc_function("FromParameter", LIST_PARAM),
    ])
    assert flagged(NOT_IN_VPC, inventory) == {"NoVpc", "NoSubnets"}
    assert skipped(NOT_IN_VPC, inventory) == set()


def test_net001_conditional_vpc_config_is_not_evaluated() -> None:
    inventory = build(functions=[vpc_function("Maybe", CONDITIONAL, CONDITIONAL)])
    assert flagged(NOT_IN_VPC, inventory) == set()
    assert skipped(NOT_IN_VPC, inventory) == {"Maybe"}


# ---------------------------------------------------------------- NET002
def test_net002_single_subnet_is_flagged_whatever_its_zone() -> None:
    inventory = build(
        subnets=[subnet("A", "us-east-1a")],
        functions=[
            vpc_function("One", [ref("A")]),
            vpc_function("OneUnknown", [Unresolved("!Ref PrivateSubnet")]),
            vpc_function("SameTwice", [ref("A"), ref("A", "SubnetId")]),
            function("NoVpc"),
        ],
    )
    assert flagged(SINGLE_AZ, inventory) == {"One", "OneUnknown", "SameTwice"}


def test_net002_compares_literal_and_getazs_zones() -> None:
    zone0, zone1 = Unresolved("!Select [0, !GetAZs]"), Unresolved("!Select [1, !GetAZs]")
    inventory = build(
        subnets=[subnet("A1", "eu-west-1a"), subnet("A2", "eu-west-1a"), subnet("B", "eu-west-1b"),
                 subnet("G0", zone0), subnet("G0b", zone0), subnet("G1", zone1),
                 subnet("Z1", "euw1-az1"), subnet("Z1b", "euw1-az1")],
        functions=[
            vpc_function("SameLiteral", [ref("A1"), ref("A2")]),
            vpc_function("TwoLiteral", [ref("A1"), ref("B")]),
            vpc_function("SameIndex", [ref("G0"), ref("G0b")]),
            vpc_function("TwoIndexes", [ref("G0"), ref("G1")]),
            vpc_function("SameZoneId", [ref("Z1"), ref("Z1b")]),
        ],
    )
    assert flagged(SINGLE_AZ, inventory) == {"SameLiteral", "SameIndex", "SameZoneId"}
    assert skipped(SINGLE_AZ, inventory) == set()
    same = next(f for f in findings(SINGLE_AZ, inventory) if f.resource_id == "SameLiteral")
    assert same.evidence == {"subnets": ["A1", "A2"], "availability_zone": "eu-west-1a"}


def test_net002_unknown_zones_are_not_evaluated() -> None:
    inventory = build(
        subnets=[subnet("A", "eu-west-1a"), subnet("G0", Unresolved("!Select [0, !GetAZs]")),
                 subnet("Param", Unresolved("!Ref Zone")), subnet("Z1", "euw1-az1")],
        functions=[
            vpc_function("Outside", ["subnet-0a1b2c3d", "subnet-0e1f2a3b"]),
            vpc_function("ParamZone", [ref("A"), ref("Param")]),
            vpc_function("Mixed", [ref("A"), ref("G0")]),
            vpc_function("NameAndId", [ref("A"), ref("Z1")]),
            vpc_function("ListParam", LIST_PARAM),
        ],
    )
    assert flagged(SINGLE_AZ, inventory) == set()
    assert skipped(SINGLE_AZ, inventory) == {"Outside", "ParamZone", "Mixed", "NameAndId", "ListParam"}


# ---------------------------------------------------------------- NET003
def test_net003_undeclared_egress_is_allow_all_and_empty_egress_is_none() -> None:
    # None: nothing declared, AWS's default rule applies; []: no egress at all (Terraform-managed groups).
    inventory = build(
        security_groups=[group("Implicit", None), group("Empty", []), group("Unused", None)],
        functions=[vpc_function("Fn", ["subnet-0a1b2c3d"], [ref("Implicit"), ref("Empty", "GroupId")])],
    )
    assert flagged(OPEN_EGRESS, inventory) == {"Implicit"}
    implicit = findings(OPEN_EGRESS, inventory)[0]
    assert implicit.functions == ["Fn"]
    assert implicit.evidence == {"egress": "aws-default-allow-all"}


@pytest.mark.parametrize(("rule", "is_open"), [
    (egress("-1", ipv4="0.0.0.0/0"), True),
    (egress("-1", ipv6="::/0"), True),
    (egress("tcp", (0, 65535), ipv4="0.0.0.0/0"), True),
    (egress("udp", (0, 65535), ipv6="::/0"), True),
    (egress("tcp", (443, 443), ipv4="0.0.0.0/0"), False),
    (egress("tcp", (0, 65535), ipv4="10.0.0.0/16"), False),
    (egress("-1", ipv4=ref("Vpc", "CidrBlock")), False),
    (egress("-1", destination_group=ref("Database")), False),
    (egress("icmp", (-1, -1), ipv4="0.0.0.0/0"), False),
])
def test_net003_explicit_egress_rules(rule: SecurityGroupRule, is_open: bool) -> None:
    inventory = build(security_groups=[group("Sg", [rule])],
                      functions=[vpc_function("Fn", ["subnet-0a1b2c3d"], [ref("Sg")])])
    assert flagged(OPEN_EGRESS, inventory) == ({"Sg"} if is_open else set())
    assert skipped(OPEN_EGRESS, inventory) == set()


def test_net003_unresolved_rules() -> None:
    cidr = Unresolved("!Ref EgressCidr")
    inventory = build(
        security_groups=[
            group("UnknownCidr", [egress("-1", ipv4=cidr)]),
            group("UnknownPorts", [egress("tcp", (0, Unresolved("!Ref ToPort")), ipv4="0.0.0.0/0")]),
            group("UnknownButNarrow", [egress("tcp", (443, 443), ipv4=cidr)]),
            group("OpenAnyway", [egress("tcp", (443, 443), ipv4=cidr), egress("-1", ipv4="0.0.0.0/0")]),
        ],
        functions=[vpc_function("Fn", ["subnet-0a1b2c3d"], [
            ref("UnknownCidr"), ref("UnknownPorts"), ref("UnknownButNarrow"), ref("OpenAnyway")])],
    )
    assert flagged(OPEN_EGRESS, inventory) == {"OpenAnyway"}
    assert skipped(OPEN_EGRESS, inventory) == {"UnknownCidr", "UnknownPorts"}


def test_net003_only_groups_resolved_from_functions() -> None:
    shared = group("Shared", None)
    inventory = build(
        security_groups=[shared, group("Other", None)],
        functions=[
            vpc_function("A", ["subnet-0a1b2c3d"], [ref("Shared")]),
            vpc_function("B", ["subnet-0a1b2c3d"], [ref("Shared"), "sg-0123456789abcdef0"]),
            vpc_function("C", ["subnet-0a1b2c3d"], Unresolved("!Ref SecurityGroupIds")),
            function("D"),
        ],
    )
    result = findings(OPEN_EGRESS, inventory)
    assert [(f.resource_id, f.functions) for f in result] == [("Shared", ["A", "B"])]
    assert "used by A, B" in result[0].message


# ---------------------------------------------------------------- NET004
def route(logical_id: str, table: str, destination: str, kind: str, gateway: Value | None = None) -> Route:
    return Route(**common(logical_id, "AWS::EC2::Route"), route_table=ref(table), destination=destination,
                 gateway=gateway, target_kind=kind)


def association(logical_id: str, subnet_id: str, table: str) -> RouteTableAssociation:
    return RouteTableAssociation(**common(logical_id, "AWS::EC2::SubnetRouteTableAssociation"),
                                 route_table=ref(table), subnet=ref(subnet_id))


def network_inventory(*functions: Function) -> Inventory:
    return build(
        subnets=[subnet("Public"), subnet("PublicV6"), subnet("Private"), subnet("EgressOnly"),
                 subnet("Mystery"), subnet("Unassociated")],
        routes=[
            route("PublicDefault", "PublicTable", "0.0.0.0/0", "internet-gateway", ref("Igw")),
            route("PublicV6Default", "V6Table", "::/0", "internet-gateway", "igw-0a1b2c3d"),
            route("PublicLocal", "PrivateTable", "10.1.0.0/16", "internet-gateway", ref("Igw")),
            route("PrivateDefault", "PrivateTable", "0.0.0.0/0", "nat-gateway"),
            route("EgressOnlyDefault", "EgressTable", "::/0", "egress-only"),
            route("MysteryDefault", "MysteryTable", "0.0.0.0/0", "unknown", Unresolved("!Ref GatewayId")),
        ],
        route_table_associations=[
            association("A1", "Public", "PublicTable"), association("A2", "PublicV6", "V6Table"),
            association("A3", "Private", "PrivateTable"), association("A4", "EgressOnly", "EgressTable"),
            association("A5", "Mystery", "MysteryTable"),
        ],
        functions=list(functions),
    )


def test_net004_subnets_routed_to_an_internet_gateway() -> None:
    inventory = network_inventory(
        vpc_function("InPublic", [ref("Private"), ref("Public")]),
        vpc_function("InPublicV6", [ref("PublicV6")]),
        vpc_function("InPrivate", [ref("Private"), ref("EgressOnly"), ref("Unassociated")]),
        vpc_function("Literal", ["subnet-0a1b2c3d"]),
        function("NoVpc"),
    )
    assert flagged(PUBLIC_SUBNET, inventory) == {"InPublic", "InPublicV6"}
    assert skipped(PUBLIC_SUBNET, inventory) == set()
    public = next(f for f in findings(PUBLIC_SUBNET, inventory) if f.resource_id == "InPublic")
    assert "public subnet Public" in public.message and "route table PublicTable" in public.message
    assert public.evidence == {"public_subnets": ["Public"], "route_tables": ["PublicTable"]}


def test_net004_unknown_targets_and_subnets_are_not_evaluated() -> None:
    inventory = network_inventory(
        vpc_function("UnknownTarget", [ref("Mystery")]),
        vpc_function("UnknownSubnets", LIST_PARAM),
        vpc_function("PublicWins", [ref("Mystery"), ref("Public")]),
    )
    assert flagged(PUBLIC_SUBNET, inventory) == {"PublicWins"}
    assert skipped(PUBLIC_SUBNET, inventory) == {"UnknownTarget", "UnknownSubnets"}


# ---------------------------------------------------------------- OBS001
def test_obs001_tracing_modes() -> None:
    inventory = build(functions=[
        function("Unset"), function("PassThrough", tracing_mode="PassThrough"),
        function("Active", tracing_mode="Active"), function("Param", tracing_mode=Unresolved("!Ref Mode")),
    ])
    assert flagged(TRACING, inventory) == {"Unset", "PassThrough"}
    assert skipped(TRACING, inventory) == {"Param"}


# ---------------------------------------------------------------- OBS002
def log_group(logical_id: str, name: Value | None, retention: int | Unresolved | None = None) -> LogGroup:
    return LogGroup(**common(logical_id, "AWS::Logs::LogGroup"), name=name, retention_days=retention)


def test_obs002_retention_values() -> None:
    inventory = build(log_groups=[
        log_group("Forever", "/app/audit"),
        log_group("Kept", "/app/kept", 30),
        log_group("FromParam", "/app/param", Unresolved("!Ref RetentionDays")),
        log_group("Conditional", "/app/cond", Unresolved('!If ["Prod", 365, ...]')),
    ])
    assert flagged(RETENTION, inventory) == {"Forever"}
    assert skipped(RETENTION, inventory) == {"Conditional"}


def test_obs002_links_log_groups_to_their_functions() -> None:
    inventory = build(
        functions=[
            function("Named", name="orders"),
            function("ByLogicalId"),
            function("Custom", log_group=ref("Shared")),
            function("CustomByName", name="billing", log_group="/app/shared"),
        ],
        log_groups=[
            log_group("OrdersLogs", "/aws/lambda/orders"),
            log_group("SubLogs", Unresolved("/aws/lambda/${ByLogicalId}", "Fn::Sub")),
            log_group("Shared", "/app/shared"),
            log_group("BillingDefault", "/aws/lambda/billing"),
        ],
    )
    affected = {f.resource_id: f.functions for f in findings(RETENTION, inventory)}
    assert affected == {
        "OrdersLogs": ["Named"],
        "SubLogs": ["ByLogicalId"],
        "Shared": ["Custom", "CustomByName"],
        "BillingDefault": [],  # the function logs to its LoggingConfig group instead
    }


# ---------------------------------------------------------------- OBS003
LAMBDA_DATA = [{"DataResources": [{"Type": "AWS::Lambda::Function", "Values": ["arn:aws:lambda"]}]}]


def advanced(*fields: tuple[str, Any]) -> dict[str, Any]:
    return {"FieldSelectors": [{"Field": field, "Equals": values} for field, values in fields]}


def trail(logical_id: str, **fields: Any) -> Trail:
    return Trail(**common(logical_id, "AWS::CloudTrail::Trail"), **fields)


def test_obs003_selectors() -> None:
    inventory = build(trails=[
        trail("ManagementOnly"),
        trail("S3Only", event_selectors=[{"DataResources": [{"Type": "AWS::S3::Object"}]}]),
        trail("Classic", event_selectors=LAMBDA_DATA),
        trail("Advanced", advanced_event_selectors=[
            advanced(("eventCategory", ["Management"])),
            advanced(("eventCategory", ["Data"]),
                     ("resources.type", ["AWS::S3::Object", "AWS::Lambda::Function"])),
        ]),
        trail("AdvancedOtherType", advanced_event_selectors=[
            advanced(("eventCategory", ["Data"]), ("resources.type", ["AWS::DynamoDB::Table"]))]),
        trail("AdvancedManagement", advanced_event_selectors=[
            advanced(("eventCategory", ["Management"]), ("resources.type", ["AWS::Lambda::Function"]))]),
    ])
    assert flagged(TRAIL, inventory) == {
        "ManagementOnly", "S3Only", "AdvancedOtherType", "AdvancedManagement"}
    assert skipped(TRAIL, inventory) == set()
    assert all(f.functions == [] for f in findings(TRAIL, inventory))


def test_obs003_logging_state() -> None:
    inventory = build(trails=[
        trail("Stopped", is_logging=False, event_selectors=LAMBDA_DATA),
        trail("UnknownState", is_logging=Unresolved("!Ref Enabled"), event_selectors=LAMBDA_DATA),
        trail("UnknownStateNoData", is_logging=Unresolved("!Ref Enabled")),
    ])
    assert flagged(TRAIL, inventory) == {"Stopped", "UnknownStateNoData"}
    assert skipped(TRAIL, inventory) == {"UnknownState"}
    stopped = next(f for f in findings(TRAIL, inventory) if f.resource_id == "Stopped")
    assert "IsLogging false" in stopped.message


def test_obs003_unresolved_selectors_are_not_evaluated() -> None:
    inventory = build(trails=[
        trail("ClassicParam", event_selectors=[{"DataResources": [{"Type": Unresolved("!Ref DataType")}]}]),
        trail("AdvancedParam", advanced_event_selectors=[
            advanced(("eventCategory", ["Data"]), ("resources.type", Unresolved("!Ref Types")))]),
    ])
    assert flagged(TRAIL, inventory) == set()
    assert skipped(TRAIL, inventory) == {"ClassicParam", "AdvancedParam"}


# ---------------------------------------------------------------- RES001
def source(logical_id: str, target: Value, kind: str, invocation: str) -> EventSource:
    return EventSource(**common(logical_id, "AWS::Lambda::Permission"), function=target, kind=kind,
                       invocation=invocation)


def invoke_config(logical_id: str, target: Value, on_failure: Value | None = None) -> EventInvokeConfig:
    return EventInvokeConfig(**common(logical_id, "AWS::Lambda::EventInvokeConfig"), function=target,
                             on_failure=on_failure)


def test_res001_async_functions_without_failure_destination() -> None:
    inventory = build(
        functions=[
            function("S3Target"), function("Queued"), function("Polling"), function("NoTrigger"),
            function("WithDlq", dead_letter_target=ref("Dlq", "Arn")),
            function("WithDestination"), function("ConfigOnly"), function("ByName", name="thumbnails"),
        ],
        event_sources=[
            source("S3Perm", ref("S3Target"), "s3", "async"),
            source("SnsPerm", ref("S3Target", "Arn"), "sns", "async"),
            source("QueueMapping", ref("Polling"), "sqs", "poll"),
            source("WithDlqPerm", ref("WithDlq"), "sns", "async"),
            source("DestPerm", ref("WithDestination"), "events", "async"),
            source("NamePerm", "arn:aws:lambda:eu-west-1:123456789012:function:thumbnails", "s3", "async"),
        ],
        event_invoke_configs=[
            invoke_config("DestConfig", ref("WithDestination"), on_failure=ref("Queue", "Arn")),
            invoke_config("RetryConfig", ref("ConfigOnly")),
        ],
    )
    assert flagged(FAILURE_DESTINATION, inventory) == {"S3Target", "ConfigOnly", "ByName"}
    messages = {f.resource_id: f.message for f in findings(FAILURE_DESTINATION, inventory)}
    assert "invoked asynchronously by S3, SNS" in messages["S3Target"]
    assert "EventInvokeConfig" in messages["ConfigOnly"]


def test_res001_conditional_dead_letter_queue_is_not_evaluated() -> None:
    inventory = build(
        functions=[function("Maybe", dead_letter_target=CONDITIONAL),
                   function("FromParam", dead_letter_target=Unresolved("!Ref DlqArn"))],
        event_sources=[source("P1", ref("Maybe"), "s3", "async"),
                       source("P2", ref("FromParam"), "s3", "async")],
    )
    assert flagged(FAILURE_DESTINATION, inventory) == set()
    assert skipped(FAILURE_DESTINATION, inventory) == {"Maybe"}


# ---------------------------------------------------------------- RES002
def test_res002_reserved_concurrency_values() -> None:
    inventory = build(functions=[
        function("Unset"), function("Capped", reserved_concurrency=10),
        function("Disabled", reserved_concurrency=0),
        function("FromParam", reserved_concurrency=Unresolved("!Ref Concurrency")),
        function("Conditional", reserved_concurrency=CONDITIONAL),
    ])
    assert flagged(RESERVED_CONCURRENCY, inventory) == {"Unset"}
    assert skipped(RESERVED_CONCURRENCY, inventory) == {"Conditional"}
