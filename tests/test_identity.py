"""iam/actions.py semantics and the identity rules (IAM001-IAM008) on hand-built inventories."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import lambdasec
from lambdasec.iam.actions import (
    action_matches,
    classify_access,
    is_any_resource,
    is_full_admin,
    matches_every_action,
    permissions_actions_covered,
    service_wildcards,
    statement_covers,
)
from lambdasec.iam.catalogue import catalogue
from lambdasec.iam.managed import managed_policy
from lambdasec.iam.policy import parse_document, parse_statement
from lambdasec.model.findings import Confidence, Finding, NotEvaluated
from lambdasec.model.inventory import Function, Inventory, Policy, PolicyDocument, PolicyStatement, Role
from lambdasec.model.location import Location
from lambdasec.model.values import ResourceRef, Unresolved, Value
from lambdasec.rules.base import Context, Rule
from lambdasec.rules.identity import (
    ROLE_CANNOT_WRITE_LOGS,
    ROLE_FULL_ADMIN,
    ROLE_PASSROLE_ANY,
    ROLE_POLICY_UNRESOLVED,
    ROLE_SERVICE_WILDCARD,
    ROLE_SHARED,
    ROLE_TRUST_BEYOND_LAMBDA,
    ROLE_WRITE_ANY_RESOURCE,
    RULES,
)
from lambdasec.rules.registry import all_rules

NOW = dt.datetime(2026, 11, 29, tzinfo=dt.timezone.utc)
FILE = "template.yaml"
LAMBDA_TRUST = {
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
}
BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


# ---------------------------------------------------------------- builders
def _statement(raw: dict[str, Any]) -> PolicyStatement:
    parsed = parse_statement(raw)
    assert isinstance(parsed, PolicyStatement)
    return parsed


def _allow(action: Any = None, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"Effect": "Allow", "Resource": resource, **extra}
    if action is not None:
        raw["Action"] = action
    return raw


def _inline(name: str, *statements: dict[str, Any], index: int = 0) -> Policy:
    document = parse_document({"Version": "2012-10-17", "Statement": list(statements)})
    return Policy(name, "inline", document, Location(FILE, 10 + index, path=("Resources", "R", str(index))))


def _managed(arn: str) -> Policy:
    known = managed_policy(arn)
    assert known is not None
    return Policy(known.name, "aws-managed", parse_document(known.document), Location(FILE, 20), arn=known.arn)


def _unresolved_policy(arn: str, kind: str = "customer-managed") -> Policy:
    return Policy(arn.rsplit("/", 1)[-1], kind, Unresolved(arn, "outside the template"), Location(FILE, 30),
                  arn=arn)


def _role(logical_id: str, *policies: Policy, trust: Any = LAMBDA_TRUST, boundary: Value | None = None) -> Role:
    return Role(
        key=f"{FILE}#{logical_id}", id=logical_id, type="AWS::IAM::Role", location=Location(FILE, 3),
        trust_policy=trust if isinstance(trust, Unresolved) else parse_document(trust),
        policies=list(policies), permissions_boundary=boundary,
    )


def _function(logical_id: str, role: Role | Value | None) -> Function:
    role_value = ResourceRef(role.key, "Arn") if isinstance(role, Role) else role
    return Function(
        key=f"{FILE}#{logical_id}", id=logical_id, type="AWS::Lambda::Function", location=Location(FILE, 40),
        role=role_value,
    )


def _inventory(roles: list[Role], functions: list[Function] | None = None) -> Inventory:
    inventory = Inventory()
    for role in roles:
        inventory.add(inventory.roles, role)
    for fn in functions if functions is not None else [_function(f"{r.id}Function", r) for r in roles]:
        inventory.add(inventory.functions, fn)
    return inventory


def _run(rule: Rule, inventory: Inventory) -> list[Any]:
    return rule.run(inventory, Context(now=NOW))


def _findings(rule: Rule, inventory: Inventory) -> dict[str, Finding]:
    return {o.resource_id: o for o in _run(rule, inventory) if isinstance(o, Finding)}


def _not_evaluated(rule: Rule, inventory: Inventory) -> set[str]:
    return {o.resource_id for o in _run(rule, inventory) if isinstance(o, NotEvaluated)}


# ---------------------------------------------------------------- action matching
@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("s3:GetObject", "s3:getobject", True),
        ("S3:GET*", "s3:GetObjectAcl", True),
        ("s3:Get*", "s3:PutObject", False),
        ("s3:Get?bject", "s3:GetObject", True),
        ("s3:Get?bject", "s3:GetObbject", False),
        ("*", "iam:PassRole", True),
        ("*:*", "iam:PassRole", True),
        ("s3*:Get*", "s3-object-lambda:GetObject", True),
        ("*:PassRole", "iam:PassRole", True),
        ("s3*", "s3:PutObject", True),
        ("iam:Pass*", "iam:PassRole", True),
        ("s3:Get.bject", "s3:GetObject", False),  # a dot is literal, not a regex
    ],
)
def test_action_matches(pattern: str, action: str, expected: bool) -> None:
    assert action_matches(pattern, action) is expected


def test_matches_every_action() -> None:
    assert [p for p in ("*", "*:*", "**", " * ", "s3:*", "*:Get*", "*:") if matches_every_action(p)] == [
        "*", "*:*", "**", " * ",
    ]


def test_statement_covers_action_and_not_action() -> None:
    not_iam = _statement(_allow(NotAction=["iam:*", "organizations:*"]))
    assert statement_covers(not_iam, "s3:GetObject")
    assert not statement_covers(not_iam, "iam:PassRole")
    assert statement_covers(_statement(_allow(["logs:*"])), "logs:PutLogEvents")
    assert not statement_covers(PolicyStatement(effect="Allow"), "logs:PutLogEvents")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("*", True),
        (" * ", True),
        ("arn:aws:*:*:*:*", True),
        ("arn:*", True),
        ("arn:aws:*", True),
        ("arn:aws:s3:::*", False),
        ("arn:aws:iam::123456789012:role/*", False),
        (ResourceRef("t.yaml#Table", "Arn"), False),
        (Unresolved("!ImportValue shared-table"), False),
    ],
)
def test_is_any_resource(value: Value, expected: bool) -> None:
    assert is_any_resource(value) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (_allow("*"), True),
        (_allow(["s3:GetObject", "*:*"]), True),
        (_allow(NotAction="iam:*"), True),
        (_allow("*", Condition={"Bool": {"aws:SecureTransport": "true"}}), True),
        ({"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::audit/*"}, True),
        (_allow(NotAction="*"), False),
        ({"Effect": "Deny", "Action": "*", "Resource": "*"}, False),
        (_allow("*", resource="arn:aws:s3:::bucket/*"), False),
        (_allow("*", resource=Unresolved("!ImportValue everything")), False),
        (_allow("s3:*"), False),
    ],
)
def test_is_full_admin(raw: dict[str, Any], expected: bool) -> None:
    assert is_full_admin(_statement(raw)) is expected


def test_service_wildcards() -> None:
    statement = _statement(_allow(["S3:*", "dynamodb:*", "s3:GetObject", "sqs:Send*", "kms:**"]))
    assert service_wildcards(statement) == ["dynamodb:*", "kms:*", "s3:*"]
    assert service_wildcards(_statement(_allow(NotAction="s3:*", resource="arn:aws:s3:::b"))) == ["*"]
    assert service_wildcards(_statement(_allow("*", resource="arn:aws:s3:::b"))) == ["*"]
    assert service_wildcards(_statement({"Effect": "Deny", "Action": "s3:*", "Resource": "*"})) == []


@pytest.mark.parametrize(
    ("pattern", "level"),
    [
        ("s3:GetObject", "Read"),
        ("s3:ListBucket", "List"),
        ("ec2:DescribeNetworkInterfaces", "List"),
        ("dynamodb:Query", "Read"),
        ("dynamodb:BatchGetItem", "Read"),
        ("sqs:ReceiveMessage", "Read"),
        ("kinesis:SubscribeToShard", "Read"),
        ("s3:PutObject", "Write"),
        ("dynamodb:BatchWriteItem", "Write"),
        ("lambda:InvokeFunction", "Write"),
        ("service:FrobnicateWidget", "Write"),  # unknown verb: the cautious reading
        ("s3:PutObjectTagging", "Tagging"),
        ("lambda:TagResource", "Tagging"),
        ("lambda:UntagResource", "Tagging"),
        ("s3:PutBucketPolicy", "Permissions management"),
        ("S3:PUTBUCKETACL", "Permissions management"),
        ("iam:PassRole", "Permissions management"),
        ("iam:CreateAccessKey", "Permissions management"),
        ("iam:AttachRolePolicy", "Permissions management"),
        ("kms:CreateGrant", "Permissions management"),
        ("kms:PutKeyPolicy", "Permissions management"),
        ("lambda:AddPermission", "Permissions management"),
        ("lambda:AddLayerVersionPermission", "Permissions management"),
        ("sts:AssumeRole", "Permissions management"),
        ("secretsmanager:PutResourcePolicy", "Permissions management"),
        ("sns:SetTopicAttributes", "Permissions management"),
        ("sqs:AddPermission", "Permissions management"),
        # wildcards: the highest level among the catalogue actions they match
        ("s3:Put*", "Permissions management"),  # matches s3:PutBucketPolicy
        ("s3:Get*", "Read"),
        ("ec2:Describe*", "List"),
        ("lambda:Tag*", "Tagging"),
        ("ec2:*", "Permissions management"),  # matches ec2:ModifySnapshotAttribute
        ("dynamodb:*", "Permissions management"),  # covers dynamodb:PutResourcePolicy
        ("iam:*", "Permissions management"),
        ("*", "Permissions management"),
        ("*:*", "Permissions management"),
        ("s3:*", "Permissions management"),  # covers s3:PutBucketPolicy
        ("iam:Put*", "Permissions management"),  # every IAM change is a permissions change
        ("iam:Pass*", "Permissions management"),
        ("iam:Get*", "Read"),
        ("iam:*Policy*", "Permissions management"),
        ("s3:PutBucket*", "Permissions management"),  # narrower than the verb: covers PutBucketPolicy
        ("s3:PutObject?", "Write"),  # matches no action: estimated from the verb
        ("lambda:Pu*", "Permissions management"),  # matches lambda:PutResourcePolicy
        ("lambda:Publish*", "Write"),
        ("service:Frobnicate*", "Write"),  # unknown service: the cautious reading
        ("s3*", "Permissions management"),
    ],
)
def test_classify_access(pattern: str, level: str) -> None:
    assert classify_access(pattern) == level


def test_permissions_actions_covered() -> None:
    assert permissions_actions_covered("iam:Pass*") == ["iam:PassRole"]
    assert permissions_actions_covered("lambda:Add*") == ["lambda:AddLayerVersionPermission", "lambda:AddPermission"]
    assert permissions_actions_covered("s3:Get*") == []


# ---------------------------------------------------------------- rule metadata
def test_rules_are_registered_with_identity_category() -> None:
    codes = [rule.code for rule in RULES]
    assert codes == [*(f"IAM00{i}" for i in range(1, 9)), "IAM018"]
    assert all(rule.category == "identity" for rule in RULES)
    assert set(codes) <= {rule.code for rule in all_rules()}
    assert all(set(rule.snippets) == {"cloudformation", "sam", "terraform"} for rule in RULES)


# ---------------------------------------------------------------- IAM001
def test_full_admin_inline_and_managed() -> None:
    admin = _role("Admin", _inline("everything", _allow("*")))
    managed = _role("Managed", _managed("arn:aws:iam::aws:policy/AdministratorAccess"))
    power = _role("Power", _managed(BASIC), _managed("arn:aws:iam::aws:policy/PowerUserAccess"))
    scoped = _role("Scoped", _managed(BASIC), _inline("table", _allow("dynamodb:GetItem", "arn:aws:dynamodb:::t")))
    findings = _findings(ROLE_FULL_ADMIN, _inventory([admin, managed, power, scoped]))
    assert set(findings) == {"Admin", "Managed", "Power"}
    assert "PowerUser" in findings["Power"].message
    assert findings["Power"].evidence["near_admin"] is True
    assert findings["Power"].location.line == 20  # the managed policy, not the role
    assert findings["Admin"].location.line == 10
    assert findings["Admin"].functions == ["AdminFunction"]
    assert findings["Admin"].confidence is Confidence.HIGH


def test_full_admin_not_action_is_near_admin() -> None:
    role = _role("Role", _inline("all-but-iam", _allow(NotAction=["iam:*"])))
    finding = _findings(ROLE_FULL_ADMIN, _inventory([role]))["Role"]
    assert "NotAction" in finding.message and "near-admin" in finding.message


def test_full_admin_confidence_drops_with_conditions_or_boundary() -> None:
    region = {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}
    conditional = _role("Cond", _inline("p", _allow("*", Condition=region)))
    bounded = _role("Bounded", _inline("p", _allow("*")), boundary="arn:aws:iam::123456789012:policy/boundary")
    mixed = _role("Mixed", _inline("a", _allow("*", Condition={"Bool": {"aws:ViaAWSService": "true"}})),
                  _inline("b", _allow("*"), index=1))
    findings = _findings(ROLE_FULL_ADMIN, _inventory([conditional, bounded, mixed]))
    assert findings["Cond"].confidence is Confidence.MEDIUM
    assert findings["Bounded"].confidence is Confidence.MEDIUM
    assert findings["Mixed"].confidence is Confidence.HIGH
    assert findings["Mixed"].location.line == 11  # points at the unconditional grant


def test_full_admin_ignores_deny_scoped_and_unresolved_resources() -> None:
    roles = [
        _role("Deny", _inline("p", {"Effect": "Deny", "Action": "*", "Resource": "*"})),
        _role("Bucket", _inline("p", _allow("*", "arn:aws:s3:::bucket/*"))),
        _role("Imported", _inline("p", _allow("*", Unresolved("!ImportValue resources")))),
        _role("Ref", _inline("p", _allow("*", ResourceRef(f"{FILE}#Table", "Arn")))),
    ]
    assert _findings(ROLE_FULL_ADMIN, _inventory(roles)) == {}


def test_only_execution_roles_are_judged() -> None:
    ec2_trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                "Action": "sts:AssumeRole"}]}
    instance_role = _role("InstanceRole", _inline("p", _allow("*")), trust=ec2_trust)
    lambda_role_elsewhere = _role("LambdaRole", _inline("p", _allow("*")))  # trusts Lambda, no function here
    findings = _findings(ROLE_FULL_ADMIN, _inventory([instance_role, lambda_role_elsewhere], functions=[]))
    assert set(findings) == {"LambdaRole"}
    assert findings["LambdaRole"].functions == []


# ---------------------------------------------------------------- IAM002
def test_service_wildcard_one_finding_per_role() -> None:
    role = _role(
        "Role",
        _inline("data", _allow("s3:*", "arn:aws:s3:::b/*"), _allow(["dynamodb:*", "sqs:SendMessage"], "arn:aws:t")),
        _inline("more", _allow("S3:*", "arn:aws:s3:::c/*"), index=1),
    )
    finding = _findings(ROLE_SERVICE_WILDCARD, _inventory([role]))["Role"]
    expanded = catalogue().expand("dynamodb:*") | catalogue().expand("s3:*")
    sample = finding.evidence.pop("sample_actions")
    assert finding.evidence == {"services": ["dynamodb:*", "s3:*"], "policies": ["data", "more"],
                                "action_count": len(expanded)}
    # The most consequential actions first (those that change permissions), the shortest names first.
    assert sample[:3] == ["s3:PutBucketAcl", "s3:PutObjectAcl", "s3:PutBucketPolicy"]
    assert len(sample) == 6 and set(sample) <= expanded
    assert all(classify_access(action) == "Permissions management" for action in sample)
    assert "dynamodb:*, s3:*" in finding.message
    assert f"{len(expanded)} actions, among them s3:PutBucketAcl, s3:PutObjectAcl, s3:PutBucketPolicy" in (
        finding.message)


def test_service_wildcard_counts_what_not_action_leaves() -> None:
    role = _role("Role", _inline("p", _allow(NotAction=["iam:*", "organizations:*"], resource="arn:aws:s3:::b")))
    finding = _findings(ROLE_SERVICE_WILDCARD, _inventory([role]))["Role"]
    left = catalogue().all_actions() - catalogue().expand("iam:*") - catalogue().expand("organizations:*")
    assert finding.evidence["services"] == ["*"]
    assert finding.evidence["action_count"] == len(left)
    assert not any(action.startswith(("iam:", "organizations:")) for action in finding.evidence["sample_actions"])


def test_service_wildcard_skips_full_admin_statements() -> None:
    admin = _role("Admin", _inline("p", _allow("*")))
    managed = _role("Managed", _managed("arn:aws:iam::aws:policy/AdministratorAccess"))
    scoped_star = _role("ScopedStar", _inline("p", _allow("*", "arn:aws:s3:::b/*")))
    s3_full = _role("S3Full", _managed("arn:aws:iam::aws:policy/AmazonS3FullAccess"))
    findings = _findings(ROLE_SERVICE_WILDCARD, _inventory([admin, managed, scoped_star, s3_full]))
    assert set(findings) == {"ScopedStar", "S3Full"}
    assert findings["ScopedStar"].evidence["services"] == ["*"]
    assert "s3:*" in findings["S3Full"].evidence["services"]


# ---------------------------------------------------------------- IAM003
def test_write_on_any_resource() -> None:
    role = _role("Role", _managed(BASIC),
                 _inline("p", _allow(["dynamodb:PutItem", "s3:Put*", "s3:GetObject", "s3:PutBucketPolicy"])))
    finding = _findings(ROLE_WRITE_ANY_RESOURCE, _inventory([role]))["Role"]
    assert finding.evidence["actions"] == ["dynamodb:PutItem", "s3:Put*", "s3:PutBucketPolicy"]
    assert finding.evidence["permissions_management"] == ["s3:Put*", "s3:PutBucketPolicy"]
    assert finding.location.line == 10


def test_write_on_any_resource_allow_list_and_exclusions() -> None:
    vpc = _role("Vpc", _managed("arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"),
                _managed("arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"),
                _inline("metrics", _allow(["cloudwatch:PutMetricData", "s3:ListAllMyBuckets", "s3:Get*"])))
    admin = _role("Admin", _inline("p", _allow("*")), _inline("q", _allow("s3:PutObject"), index=1))
    passrole = _role("PassRole", _inline("p", _allow("iam:PassRole")))  # IAM004's business
    scoped = _role("Scoped", _inline("p", _allow("s3:PutObject", "arn:aws:s3:::b/*")))
    # SAM attaches this one to functions with an SQS event: Lambda polls the queue with the function's role.
    sqs = _role("Sqs", _managed("arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"))
    invoke = _role("Invoke", _managed("arn:aws:iam::aws:policy/service-role/AWSLambdaRole"))
    findings = _findings(ROLE_WRITE_ANY_RESOURCE, _inventory([vpc, admin, passrole, scoped, sqs, invoke]))
    assert set(findings) == {"Invoke"}
    assert findings["Invoke"].evidence["actions"] == ["lambda:InvokeFunction"]


def test_write_on_any_resource_conditional_is_medium() -> None:
    role = _role("Role", _inline("p", _allow("dynamodb:DeleteTable",
                                             Condition={"StringEquals": {"aws:ResourceTag/app": "orders"}})))
    assert _findings(ROLE_WRITE_ANY_RESOURCE, _inventory([role]))["Role"].confidence is Confidence.MEDIUM


# ---------------------------------------------------------------- IAM004
def test_passrole_any() -> None:
    roles = [
        _role("Star", _inline("p", _allow("iam:PassRole"))),
        _role("IamWildcard", _inline("p", _allow("iam:*"))),
        _role("RoleArnWildcard", _inline("p", _allow("iam:Pass*", "arn:aws:iam::123456789012:role/*"))),
        _role("ToService", _inline("p", _allow("iam:PassRole", Condition={
            "StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}))),
        _role("OneRole", _inline("p", _allow("iam:PassRole", "arn:aws:iam::123456789012:role/worker"))),
        _role("Admin", _inline("p", _allow("*"))),
        _role("OtherCondition", _inline("p", _allow("iam:PassRole", Condition={
            "StringEquals": {"aws:RequestedRegion": "eu-west-1"}}))),
    ]
    findings = _findings(ROLE_PASSROLE_ANY, _inventory(roles))
    assert set(findings) == {"Star", "IamWildcard", "RoleArnWildcard", "OtherCondition"}
    assert findings["IamWildcard"].evidence["actions"] == ["iam:*"]
    assert "(via iam:*)" in findings["IamWildcard"].message
    assert findings["OtherCondition"].confidence is Confidence.MEDIUM
    assert findings["Star"].confidence is Confidence.HIGH


# ---------------------------------------------------------------- IAM005
def test_shared_role() -> None:
    shared = _role("Shared", _managed(BASIC))
    own = _role("Own", _managed(BASIC))
    functions = [_function("B", shared), _function("A", shared), _function("C", own)]
    findings = _findings(ROLE_SHARED, _inventory([shared, own], functions))
    assert set(findings) == {"Shared"}
    assert findings["Shared"].functions == ["A", "B"]
    assert findings["Shared"].evidence == {"functions": ["A", "B"]}
    assert "A, B" in findings["Shared"].message


# ---------------------------------------------------------------- IAM006
def _trust(principal: Any, **extra: Any) -> dict[str, Any]:
    lambda_statement = LAMBDA_TRUST["Statement"][0]
    other = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra}
    return {"Statement": [lambda_statement, other]}


def test_trust_beyond_lambda() -> None:
    roles = [
        _role("Anyone", trust=_trust("*")),
        _role("AnyAws", trust=_trust({"AWS": "*"})),
        _role("Account", trust=_trust({"AWS": "arn:aws:iam::111122223333:root"})),
        _role("Ec2", trust=_trust({"Service": "ec2.amazonaws.com"})),
        _role("WebIdentity", trust={"Statement": [{
            "Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            "Action": "sts:AssumeRoleWithWebIdentity"}]}),
        _role("Edge", trust=_trust({"Service": ["edgelambda.amazonaws.com", "Lambda.amazonaws.com"]})),
        _role("DeniedOther", trust={"Statement": [LAMBDA_TRUST["Statement"][0], {
            "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}),
        _role("TagOnly", trust={"Statement": [LAMBDA_TRUST["Statement"][0], {
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:TagSession"}]}),
    ]
    findings = _findings(ROLE_TRUST_BEYOND_LAMBDA, _inventory(roles))
    assert set(findings) == {"Anyone", "AnyAws", "Account", "Ec2", "WebIdentity"}
    assert "anyone" in findings["Anyone"].message and findings["Anyone"].evidence["anyone"] is True
    assert "anyone" in findings["AnyAws"].message
    assert findings["Account"].evidence == {"principals": ["AWS: arn:aws:iam::111122223333:root"], "anyone": False}
    assert findings["Ec2"].evidence["principals"] == ["Service: ec2.amazonaws.com"]


def test_trust_beyond_lambda_conditions_and_unknowns() -> None:
    external = _role("External", trust=_trust({"AWS": "arn:aws:iam::111122223333:root"},
                                              Condition={"StringEquals": {"sts:ExternalId": "x"}}))
    not_principal = _role("NotPrincipal", trust={"Statement": [{
        "Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}]})
    unknown = _role("Unknown", trust=_trust({"AWS": Unresolved("!Ref TrustedAccount")}))
    opaque = _role("Opaque", trust=Unresolved("!If [Cond, ..., ...]"))
    inventory = _inventory([external, not_principal, unknown, opaque])
    findings = _findings(ROLE_TRUST_BEYOND_LAMBDA, inventory)
    assert set(findings) == {"External", "NotPrincipal"}
    assert findings["External"].confidence is Confidence.MEDIUM
    assert _not_evaluated(ROLE_TRUST_BEYOND_LAMBDA, inventory) == {"Unknown", "Opaque"}


# ---------------------------------------------------------------- IAM007
def test_cannot_write_logs() -> None:
    roles = [
        _role("Basic", _managed(BASIC)),
        _role("LogsStar", _inline("p", _allow("logs:*", "arn:aws:logs:*:*:log-group:/aws/lambda/*"))),
        _role("NotS3", _inline("p", _allow(NotAction="s3:*"))),
        _role("Nothing", _inline("p", _allow("sqs:SendMessage", "arn:aws:sqs:::q"))),
        _role("HalfLogs", _inline("p", _allow("logs:CreateLogStream"))),
        _role("DenyOnly", _inline("p", {"Effect": "Deny", "Action": "logs:*", "Resource": "*"})),
        _role("Opaque", _unresolved_policy("arn:aws:iam::111122223333:policy/app")),
        _role("OpaqueButBasic", _managed(BASIC), _unresolved_policy("arn:aws:iam::111122223333:policy/app")),
    ]
    inventory = _inventory(roles + [_role("Unused")], [_function(f"{r.id}Fn", r) for r in roles])
    inventory.add(inventory.functions, _function("External", "arn:aws:iam::111122223333:role/app"))
    findings = _findings(ROLE_CANNOT_WRITE_LOGS, inventory)
    assert set(findings) == {"Nothing", "HalfLogs", "DenyOnly"}
    assert findings["HalfLogs"].evidence == {"missing_actions": ["logs:PutLogEvents"]}
    assert findings["Nothing"].functions == ["NothingFn"]
    assert findings["Nothing"].confidence is Confidence.MEDIUM
    assert _not_evaluated(ROLE_CANNOT_WRITE_LOGS, inventory) == {"Opaque", "External"}


def test_cannot_write_logs_unresolved_statement_parts_are_not_evaluated() -> None:
    document = PolicyDocument([PolicyStatement(effect="Allow", unresolved=[Unresolved("!If [A, B, C]")])])
    role = _role("Role", Policy("p", "inline", document, Location(FILE, 10)))
    assert _not_evaluated(ROLE_CANNOT_WRITE_LOGS, _inventory([role])) == {"Role"}


# ---------------------------------------------------------------- IAM008
def test_policy_unresolved() -> None:
    customer = _unresolved_policy("arn:aws:iam::111122223333:policy/legacy")
    unknown_aws = _unresolved_policy("arn:aws:iam::aws:policy/SomeNewPolicy", kind="aws-managed")
    imported = Policy("!ImportValue shared-policy", "customer-managed", Unresolved("!ImportValue shared-policy"),
                      Location(FILE, 31, path=("Resources", "Imported", "1")))
    roles = [_role("Role", _managed(BASIC), customer, unknown_aws), _role("Imported", imported),
             _role("Clean", _managed(BASIC))]
    outcomes = [o for o in _run(ROLE_POLICY_UNRESOLVED, _inventory(roles)) if isinstance(o, Finding)]
    assert sorted((o.resource_id, o.evidence["arn"]) for o in outcomes) == [
        ("Imported", "!ImportValue shared-policy"),
        ("Role", "arn:aws:iam::111122223333:policy/legacy"),
        ("Role", "arn:aws:iam::aws:policy/SomeNewPolicy"),
    ]
    assert all(o.confidence is Confidence.LOW and "possibly broad" in o.message for o in outcomes)


def test_unknown_actions_are_named_with_their_effect(tmp_path: Path) -> None:
    """IAM018: an unknown action in an Allow grants nothing (low); in a Deny it denies nothing (medium)."""
    role = """\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com},
                                              Action: sts:AssumeRole}]}
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - {Effect: Allow, Action: [s3:GetObjekt, "s3:Get*", "madeup:*"], Resource: "*"}
%s
  Fn:
    Type: AWS::Lambda::Function
    Properties: {Runtime: python3.13, Handler: a.h, Role: !GetAtt Role.Arn, Code: {ZipFile: x}}
"""
    allow_only = tmp_path / "allow.yaml"
    allow_only.write_text(role % "")
    [finding] = lambdasec.scan_paths([allow_only], rules=["IAM018"]).findings
    assert (finding.severity.label, finding.evidence["unknown_in_allow"], finding.evidence["unknown_in_deny"]) == (
        "low", ["madeup:*", "s3:GetObjekt"], [])
    with_deny = tmp_path / "deny.yaml"
    with_deny.write_text(role % "              - {Effect: Deny, Action: [iam:PassRoles, madeup:*], Resource: '*'}")
    [finding] = lambdasec.scan_paths([with_deny], rules=["IAM018"]).findings
    assert (finding.severity.label, finding.evidence["unknown_in_allow"], finding.evidence["unknown_in_deny"]) == (
        "medium", ["s3:GetObjekt"], ["iam:PassRoles", "madeup:*"])


def test_batch_api_names_beside_their_action_are_not_reported(tmp_path: Path) -> None:
    """SAM's SQSPollerPolicy lists sqs:DeleteMessageBatch beside sqs:DeleteMessage: no IAM action, but harmless."""
    template = tmp_path / "t.yaml"
    template.write_text("""\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com},
                                              Action: sts:AssumeRole}]}
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - {Effect: Allow, Action: [sqs:DeleteMessage, sqs:DeleteMessageBatch, sqs:SendMessageBatch],
                 Resource: "*"}
  Fn:
    Type: AWS::Lambda::Function
    Properties: {Runtime: python3.13, Handler: a.h, Role: !GetAtt Role.Arn, Code: {ZipFile: x}}
""")
    [finding] = lambdasec.scan_paths([template], rules=["IAM018"]).findings
    assert finding.evidence["unknown_in_allow"] == ["sqs:SendMessageBatch"]  # its sqs:SendMessage is missing
