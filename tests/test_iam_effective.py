"""Effective permissions of execution roles (iam/effective.py): expansion, NotAction/NotResource, Deny, boundaries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from lambdasec.iam.catalogue import catalogue
from lambdasec.iam.effective import (
    EffectivePermissions,
    Grant,
    compute_effective_permissions,
    effective_permissions,
    resource_covers,
)
from lambdasec.iam.managed import managed_policy
from lambdasec.iam.policy import parse_document
from lambdasec.model.inventory import Inventory, Policy, Role
from lambdasec.model.location import Location
from lambdasec.model.values import ResourceRef, Unresolved, Value

FILE = "template.yaml"
BUCKET = "arn:aws:s3:::uploads"
OBJECTS = "arn:aws:s3:::uploads/*"
REGION = {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}


# ---------------------------------------------------------------- builders
def _statement(effect: str, action: Any = None, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"Effect": effect, **extra}
    if action is not None:
        raw["Action"] = action
    if resource is not None and "NotResource" not in extra:
        raw["Resource"] = resource
    return raw


def allow(action: Any = None, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return _statement("Allow", action, resource, **extra)


def deny(action: Any = None, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return _statement("Deny", action, resource, **extra)


def inline(name: str, *statements: dict[str, Any], line: int = 10) -> Policy:
    document = parse_document({"Version": "2012-10-17", "Statement": list(statements)})
    return Policy(name, "inline", document, Location(FILE, line))


def managed(name: str, line: int = 20) -> Policy:
    known = managed_policy(name)
    assert known is not None
    return Policy(known.name, "aws-managed", parse_document(known.document), Location(FILE, line), arn=known.arn)


def role(*policies: Policy, boundary: Value | None = None, logical_id: str = "Role") -> Role:
    return Role(key=f"{FILE}#{logical_id}", id=logical_id, type="AWS::IAM::Role", location=Location(FILE, 3),
                policies=list(policies), permissions_boundary=boundary)


def effective(the_role: Role, *others: Role) -> EffectivePermissions:
    inventory = Inventory()
    for item in (the_role, *others):
        inventory.add(inventory.roles, item)
    return effective_permissions(the_role, inventory)


def pairs(granted: EffectivePermissions) -> set[tuple[str, str, bool]]:
    return {(g.action, g.resource, g.conditional) for g in granted.grants}


# ---------------------------------------------------------------- allow, expansion, resources
def test_exact_action_on_one_resource() -> None:
    granted = effective(role(inline("objects", allow("s3:getobject", OBJECTS))))
    assert granted.grants == [Grant("s3:GetObject", OBJECTS, False, "objects", Location(FILE, 10))]
    assert granted.allows("S3:GetObject", "arn:aws:s3:::uploads/2026/report.pdf")
    assert granted.allows("s3:GetObject", OBJECTS)
    assert not granted.allows("s3:GetObject", "arn:aws:s3:::other/key")
    assert not granted.allows("s3:GetObject")  # not on every resource
    assert not granted.allows("s3:PutObject", "arn:aws:s3:::uploads/key")
    assert granted.grants_for("s3:getobject") == granted.grants
    assert granted.actions() == {"s3:GetObject"}
    assert (granted.unknown_actions, granted.unresolved, granted.conditional_denies) == ([], [], [])


def test_wildcards_expand_through_the_catalogue() -> None:
    granted = effective(role(inline("p", allow(["lambda:UpdateFunction*", "S3:?etObject"]))))
    assert granted.actions() == catalogue().expand("lambda:UpdateFunction*") | {"s3:GetObject"}
    assert len(granted.actions()) == 6
    assert all(g.resource == "*" for g in granted.grants)
    assert granted.allows("lambda:UpdateFunctionCode")
    assert granted.allows("lambda:UpdateFunctionCode", "arn:aws:lambda:us-east-1:123456789012:function:any")


def test_not_action_allows_everything_else() -> None:
    granted = effective(role(inline("all-but-iam", allow(NotAction=["iam:*", "organizations:*"]))))
    everything = catalogue().all_actions()
    assert granted.actions() == everything - catalogue().expand("iam:*") - catalogue().expand("organizations:*")
    assert granted.allows("s3:DeleteBucket") and granted.allows("lambda:CreateFunction")
    assert not granted.allows("iam:PassRole") and not granted.allows("organizations:LeaveOrganization")


def test_actions_on_one_arn_are_those_of_its_service() -> None:
    """IAM matches an action only against resources of its own types: "*" on a bucket grants S3 actions."""
    worker = "arn:aws:iam::123456789012:role/worker"
    granted = effective(role(inline("p", allow("*", OBJECTS), allow(NotAction="s3:*", resource=worker))))
    on_bucket = {g.action for g in granted.grants if g.resource == OBJECTS}
    assert on_bucket == catalogue().actions_on("s3")
    assert "s3:GetObject" in on_bucket and "lambda:InvokeFunction" not in on_bucket
    on_role = {g.action for g in granted.grants if g.resource.endswith(":role/worker")}
    assert on_role == catalogue().actions_on("iam") - catalogue().expand("s3:*")
    assert {"iam:PassRole", "sts:AssumeRole", "iam:AttachRolePolicy"} <= on_role
    assert granted.allows("sts:AssumeRole", "arn:aws:iam::123456789012:role/worker")


def test_references_and_unknown_resources_keep_every_action() -> None:
    table = ResourceRef(f"{FILE}#Orders", "Arn")
    imported = Unresolved("!ImportValue b")
    granted = effective(role(inline("p", allow(["dynamodb:GetItem", "s3:GetObject"], [table, imported]))))
    assert pairs(granted) == {
        ("dynamodb:GetItem", "Orders.Arn", False), ("s3:GetObject", "Orders.Arn", False),
        ("dynamodb:GetItem", str(imported), False), ("s3:GetObject", str(imported), False),
    }
    assert str(imported) == "<unresolved !ImportValue b>"
    assert granted.allows("dynamodb:GetItem", "Orders.Arn")


def test_not_resource_grants_on_every_resource_with_a_note() -> None:
    granted = effective(role(inline("p", allow("s3:GetObject", NotResource="arn:aws:s3:::secrets/*"))))
    assert pairs(granted) == {("s3:GetObject", "*", False)}
    assert granted.unresolved == [
        "policy p statement 1: NotResource (arn:aws:s3:::secrets/*) read as every resource ('*')"]


def test_unknown_actions_are_listed() -> None:
    granted = effective(role(inline("p", allow(["s3:GetObject", "s3:Frobnicate", "nosuch:*"]),
                                    allow(NotAction=["madeup:Thing"], resource=BUCKET))))
    assert granted.unknown_actions == ["s3:Frobnicate", "nosuch:*", "madeup:Thing"]
    assert ("s3:GetObject", "*", False) in pairs(granted)


def test_same_grant_twice_is_one_fact_named_by_the_first_policy() -> None:
    granted = effective(role(inline("first", allow("s3:GetObject")), inline("second", allow("s3:Get*"), line=11)))
    assert granted.grants_for("s3:GetObject") == [Grant("s3:GetObject", "*", False, "first", Location(FILE, 10))]
    assert {g.policy for g in granted.grants if g.action != "s3:GetObject"} == {"second"}


# ---------------------------------------------------------------- conditions
def test_conditional_allow_is_kept_and_marked() -> None:
    granted = effective(role(inline("p", allow("iam:PassRole", Condition=REGION), allow("s3:GetObject"))))
    assert pairs(granted) == {("iam:PassRole", "*", True), ("s3:GetObject", "*", False)}
    assert not granted.allows("iam:PassRole")
    assert granted.allows("iam:PassRole", include_conditional=True)
    assert granted.actions() == {"s3:GetObject"}
    assert granted.actions(include_conditional=True) == {"s3:GetObject", "iam:PassRole"}


# ---------------------------------------------------------------- Deny
def test_deny_on_every_resource_removes_the_grant() -> None:
    granted = effective(role(inline("p", allow("s3:*"), deny(["s3:DeleteBucket", "s3:PutBucket*"]))))
    assert not granted.allows("s3:DeleteBucket") and not granted.allows("s3:PutBucketPolicy")
    assert granted.allows("s3:GetObject")
    assert granted.actions() == catalogue().expand("s3:*") - catalogue().expand("s3:PutBucket*") - {"s3:DeleteBucket"}


def test_deny_on_a_narrower_resource_leaves_the_grant() -> None:
    granted = effective(role(inline("p", allow("s3:PutObject"), deny("s3:PutObject", "arn:aws:s3:::audit/*"))))
    assert pairs(granted) == {("s3:PutObject", "*", False)}


def test_deny_covering_the_granted_resource_removes_it() -> None:
    granted = effective(role(inline(
        "p", allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::uploads/private/*"),
        allow("s3:GetObject", "arn:aws:s3:::uploads/public/*"),
        deny("s3:*", "arn:aws:s3:::uploads/private/*"),
    )))
    assert pairs(granted) == {("s3:GetObject", "arn:aws:s3:::uploads/public/*", False)}


def test_deny_with_not_action_and_not_resource() -> None:
    only_reads = effective(role(inline("p", allow(["s3:GetObject", "s3:PutObject", "sqs:SendMessage"]),
                                       deny(NotAction="s3:Get*"))))
    assert pairs(only_reads) == {("s3:GetObject", "*", False)}
    elsewhere = effective(role(inline("p", allow("s3:GetObject", "arn:aws:s3:::uploads/key"),
                                      allow("s3:GetObject", "arn:aws:s3:::kept/key"),
                                      deny("s3:GetObject", NotResource="arn:aws:s3:::kept/*"))))
    assert pairs(elsewhere) == {("s3:GetObject", "arn:aws:s3:::kept/key", False)}


def test_deny_on_the_same_reference_removes_it() -> None:
    table = ResourceRef(f"{FILE}#Orders", "Arn")
    granted = effective(role(inline("p", allow("dynamodb:*", table), deny("dynamodb:DeleteTable", table))))
    assert not granted.allows("dynamodb:DeleteTable", "Orders.Arn")
    assert granted.allows("dynamodb:GetItem", "Orders.Arn")


def test_conditional_deny_is_recorded_and_removes_nothing() -> None:
    no_mfa = {"Bool": {"aws:MultiFactorAuthPresent": "false"}}
    granted = effective(role(inline("p", allow("s3:DeleteBucket"), deny("s3:DeleteBucket", Condition=no_mfa))))
    assert pairs(granted) == {("s3:DeleteBucket", "*", False)}
    [recorded] = granted.conditional_denies
    assert recorded.conditional and recorded.resources == ("*",) and recorded.policy == "p"
    assert recorded.blocks("s3:DeleteBucket") and not recorded.blocks("s3:GetObject")


def test_deny_in_another_policy_applies_too() -> None:
    granted = effective(role(managed("AmazonS3FullAccess"), inline("guard", deny("s3:Delete*"), line=11)))
    assert granted.allows("s3:PutObject")
    assert not any(g.action.startswith("s3:Delete") for g in granted.grants)


# ---------------------------------------------------------------- managed policies
def test_aws_managed_policy_grants() -> None:
    granted = effective(role(managed("service-role/AWSLambdaBasicExecutionRole")))
    arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    assert granted.grants == [
        Grant(action, "*", False, arn, Location(FILE, 20))
        for action in ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
    ]


# ---------------------------------------------------------------- permission boundaries
def test_aws_managed_boundary_caps_the_grants() -> None:
    boundary = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    granted = effective(role(inline("p", allow(["s3:*", "logs:*"])), boundary=boundary))
    assert granted.actions() == {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
    assert granted.unresolved == []


def test_customer_managed_boundary_from_the_inventory() -> None:
    arn = "arn:aws:iam::123456789012:policy/lambda-boundary"
    limits = Policy("lambda-boundary", "customer-managed",
                    parse_document({"Statement": [allow("s3:Get*", OBJECTS), allow("sqs:*")]}), Location(FILE, 50),
                    arn=arn)
    holder = role(limits, logical_id="Other")
    bounded = role(inline("p", allow(["s3:GetObject", "s3:PutObject", "sqs:SendMessage", "dynamodb:GetItem"])),
                   boundary=arn)
    granted = effective(bounded, holder)
    # The narrower resource of both: s3:GetObject only on the boundary's objects.
    assert pairs(granted) == {("s3:GetObject", OBJECTS, False), ("sqs:SendMessage", "*", False)}


def test_boundary_by_reference_to_a_template_policy() -> None:
    limits = Policy("Boundary", "customer-managed", parse_document({"Statement": [allow("sqs:*")]}),
                    Location(FILE, 60, path=("Resources", "Boundary")))
    granted = effective(role(inline("p", allow(["sqs:SendMessage", "s3:GetObject"])),
                             boundary=ResourceRef(f"{FILE}#Boundary")), role(limits, logical_id="Other"))
    assert granted.actions() == {"sqs:SendMessage"}


def test_conditional_boundary_makes_grants_conditional() -> None:
    limits = Policy("b", "customer-managed", parse_document({"Statement": [allow("s3:*", Condition=REGION)]}),
                    Location(FILE, 60), arn="arn:aws:iam::123456789012:policy/b")
    granted = effective(role(inline("p", allow("s3:GetObject")), boundary="arn:aws:iam::123456789012:policy/b"),
                        role(limits, logical_id="Other"))
    assert pairs(granted) == {("s3:GetObject", "*", True)}


@pytest.mark.parametrize(
    "boundary",
    ["arn:aws:iam::123456789012:policy/not-in-the-template", Unresolved("!ImportValue Boundary"),
     "arn:aws:iam::aws:policy/NotAPolicyLambdasecKnows"],
)
def test_unknown_boundary_keeps_the_grants_and_says_so(boundary: Value) -> None:
    granted = effective(role(inline("p", allow("s3:GetObject")), boundary=boundary))
    assert pairs(granted) == {("s3:GetObject", "*", False)}
    assert len(granted.unresolved) == 1
    assert granted.unresolved[0].startswith("permissions boundary ") and "could not be read" in granted.unresolved[0]


# ---------------------------------------------------------------- what cannot be read
def test_unresolved_document_is_listed_and_the_rest_still_counts() -> None:
    hidden = Policy("imported", "customer-managed", Unresolved("!ImportValue SharedPolicy", "imported value"),
                    Location(FILE, 30))
    granted = effective(role(hidden, inline("p", allow("s3:GetObject"))))
    assert pairs(granted) == {("s3:GetObject", "*", False)}
    assert granted.unresolved == ["policy imported: imported value (!ImportValue SharedPolicy)"]


def test_policy_that_is_not_valid_json_is_unresolved_not_a_crash() -> None:
    document = parse_document('{"Statement": [{"Effect": "Allow", "Action": "s3:*",')
    assert isinstance(document, Unresolved)
    granted = effective(role(Policy("broken", "inline", document, Location(FILE, 12))))
    assert granted.grants == []
    assert len(granted.unresolved) == 1 and "not valid JSON" in granted.unresolved[0]


def test_statement_parts_from_references_are_listed() -> None:
    raw = {"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", ResourceRef(f"{FILE}#Param")],
                          "Resource": "*"}, "not a statement"]}
    granted = effective(role(Policy("p", "inline", parse_document(raw), Location(FILE, 10))))
    assert pairs(granted) == {("s3:GetObject", "*", False)}
    assert granted.unresolved == [
        "policy p statement 1: not fully known (Param: action from a reference)",
        "policy p statement 2: not fully known (not a statement: policy statement is not a mapping)",
    ]


# ---------------------------------------------------------------- resource patterns
@pytest.mark.parametrize(
    ("pattern", "resource", "covered"),
    [
        ("*", "arn:aws:s3:::b/k", True),
        ("*", "*", True),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/k/deeper", True),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b", False),
        ("arn:aws:s3:::B/*", "arn:aws:s3:::b/k", False),  # case-sensitive
        ("arn:aws:s3:::b/?", "arn:aws:s3:::b/k", True),
        ("arn:aws:s3:::b/?", "arn:aws:s3:::b/kk", False),
        ("arn:aws:lambda:*:123456789012:function:f", "arn:aws:lambda:eu-west-1:123456789012:function:f", True),
        ("arn:aws:lambda:us-east-1:123456789012:function:*", "arn:aws:lambda:us-east-1:123456789012:function:f:live",
         True),  # the last part may hold colons
        ("arn:aws:iam::*:role/x", "arn:aws:iam::123:456:role/x", False),  # a wildcard stays in its part
        ("arn:aws:s3:::b/*", "*", False),
        # a pattern asked about: covered only by a pattern at least as broad
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/private/*", True),
        ("arn:aws:s3:::b/private/*", "arn:aws:s3:::b/*", False),
        ("arn:aws:s3:::b/?", "arn:aws:s3:::b/*", False),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/?", True),
        ("Orders.Arn", "Orders.Arn", True),
        ("Orders.Arn", "Other.Arn", False),
    ],
)
def test_resource_covers(pattern: str, resource: str, covered: bool) -> None:
    assert resource_covers(pattern, resource) is covered


def test_every_resource_means_star_or_a_wildcard_only_arn() -> None:
    granted = effective(role(inline("p", allow("s3:GetObject", "arn:aws:*:*:*:*"),
                                    allow("sqs:SendMessage", "arn:aws:sqs:*:*:*"))))
    assert granted.allows("s3:GetObject", "*")
    assert not granted.allows("sqs:SendMessage", "*")
    assert granted.allows("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:jobs")


# ---------------------------------------------------------------- sharing and determinism
def test_result_is_shared_until_the_role_changes() -> None:
    the_role = role(inline("p", allow("s3:GetObject")))
    inventory = Inventory()
    inventory.add(inventory.roles, the_role)
    first = effective_permissions(the_role, inventory)
    assert effective_permissions(the_role, inventory) is first
    the_role.policies.append(inline("more", allow("sqs:SendMessage"), line=11))
    again = effective_permissions(the_role, inventory)
    assert again is not first and again.actions() == {"s3:GetObject", "sqs:SendMessage"}
    assert effective_permissions(the_role, Inventory()) is not again  # another inventory, another answer
    fresh = compute_effective_permissions(the_role, inventory)
    assert fresh is not again and fresh == again


_ORDER_SCRIPT = """
import json
from lambdasec.iam.effective import effective_permissions
from lambdasec.iam.policy import parse_document
from lambdasec.model.inventory import Inventory, Policy, Role
from lambdasec.model.location import Location
document = parse_document({"Statement": [
    {"Effect": "Allow", "Action": ["s3:*", "sqs:Send*", "lambda:*Function*"], "Resource": "*"},
    {"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "arn:aws:dynamodb:us-east-1:1:table/t"},
    {"Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"}]})
role = Role(key="t#R", id="R", type="AWS::IAM::Role", location=Location("t"),
            policies=[Policy("p", "inline", document, Location("t", 1))])
print(json.dumps([[g.action, g.resource] for g in effective_permissions(role, Inventory()).grants]))
"""


def test_grant_order_does_not_depend_on_hash_seeds() -> None:
    outputs = []
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", _ORDER_SCRIPT], capture_output=True, text=True, check=True,
                              env=env)
        outputs.append(json.loads(done.stdout))
    assert outputs[0] == outputs[1] == outputs[2]
    assert len(outputs[0]) > 100
