"""Escalation methods (iam/escalation.py), blast-radius tables (iam/blast_radius.py) and IAM009-IAM013."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

import lambdasec
from lambdasec.iam.blast_radius import (
    CREDENTIAL_ACTIONS,
    DATA_READ_ACTIONS,
    INFRASTRUCTURE_SERVICES,
    NOT_CREDENTIAL_EXPOSURE,
    grant_applies,
    infrastructure_only,
    on_every_resource,
)
from lambdasec.iam.catalogue import catalogue
from lambdasec.iam.escalation import (
    METHODS,
    METHODS_BY_ID,
    UNKNOWN_NAME,
    covers_every,
    find_escalations,
    method_titles,
    methods_markdown,
)
from lambdasec.iam.managed import managed_policy
from lambdasec.iam.policy import parse_document
from lambdasec.model.findings import Confidence, Finding, NotEvaluated, Severity
from lambdasec.model.inventory import Function, Inventory, Policy, Role
from lambdasec.model.location import Location
from lambdasec.model.values import ResourceRef, Unresolved, Value
from lambdasec.rules.base import Context, Rule
from lambdasec.rules.escalation import (
    ROLE_CREDENTIALS_EXPOSURE,
    ROLE_DATA_EXFILTRATION,
    ROLE_INFRASTRUCTURE_MODIFICATION,
    ROLE_PRIVILEGE_ESCALATION,
    ROLE_RESOURCE_EXPOSURE,
    RULES,
)
from lambdasec.rules.identity import ROLE_WRITE_ANY_RESOURCE
from lambdasec.rules.registry import all_rules

from .conftest import FIXTURE_CLOCK, FIXTURES, REPO

NOW = dt.datetime(2026, 11, 29, tzinfo=dt.timezone.utc)
FILE = "template.yaml"
LAMBDA_TRUST = {
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
}
ACCOUNT_TRUST = {
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                   "Action": "sts:AssumeRole"}]
}
BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


# ---------------------------------------------------------------- builders
def _ref(logical_id: str, attribute: str | None = "Arn") -> ResourceRef:
    return ResourceRef(f"{FILE}#{logical_id}", attribute)


def _statement(effect: str, action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": effect, "Action": action, "Resource": resource, **extra}


def _inline(*statements: dict[str, Any], line: int = 10) -> Policy:
    document = parse_document({"Version": "2012-10-17", "Statement": list(statements)})
    return Policy("escalation", "inline", document, Location(FILE, line, path=("Resources", "Role", "Policies")))


def _managed(arn: str) -> Policy:
    known = managed_policy(arn)
    assert known is not None
    return Policy(known.name, "aws-managed", parse_document(known.document), Location(FILE, 20), arn=known.arn)


def _role(logical_id: str, *policies: Policy, trust: Any = LAMBDA_TRUST, name: str | None = None,
          boundary: Value | None = None) -> Role:
    return Role(
        key=f"{FILE}#{logical_id}", id=logical_id, type="AWS::IAM::Role", location=Location(FILE, 3),
        name=name, trust_policy=parse_document(trust), policies=[_managed(BASIC), *policies],
        permissions_boundary=boundary,
    )


def _function(logical_id: str, role: Role, name: str | None = None) -> Function:
    return Function(key=f"{FILE}#{logical_id}", id=logical_id, type="AWS::Lambda::Function",
                    location=Location(FILE, 40), role=ResourceRef(role.key, "Arn"), name=name)


def _inventory(roles: list[Role], functions: list[Function] | None = None) -> Inventory:
    inventory = Inventory()
    for role in roles:
        inventory.add(inventory.roles, role)
    for fn in functions or []:
        inventory.add(inventory.functions, fn)
    return inventory


def _world(*policies: Policy, name: str | None = None, boundary: Value | None = None) -> tuple[Role, Inventory]:
    """The role under test ("Role", with its function "Own") among an admin role and function, a harmless
    worker role and function, and an "Ops" role with S3 access that trusts the account."""
    role = _role("Role", *policies, name=name, boundary=boundary)
    admin = _role("Admin", _managed(ADMIN))
    worker = _role("Worker")
    ops = Role(key=f"{FILE}#Ops", id="Ops", type="AWS::IAM::Role", location=Location(FILE, 5),
               trust_policy=parse_document(ACCOUNT_TRUST),
               policies=[_managed("arn:aws:iam::aws:policy/AmazonS3FullAccess")])
    functions = [_function("Own", role, "own-fn"), _function("AdminFn", admin), _function("WorkerFn", worker)]
    return role, _inventory([role, admin, worker, ops], functions)


def _found(role: Role, inventory: Inventory) -> set[str]:
    return {escalation.method.id for escalation in find_escalations(role, inventory).found}


def _run(rule: Rule, inventory: Inventory) -> list[Any]:
    return rule.run(inventory, Context(now=NOW))


def _findings(rule: Rule, inventory: Inventory) -> list[Finding]:
    return [o for o in _run(rule, inventory) if isinstance(o, Finding)]


def _not_evaluated(rule: Rule, inventory: Inventory) -> list[NotEvaluated]:
    return [o for o in _run(rule, inventory) if isinstance(o, NotEvaluated)]


def _allow(grants: list[tuple[str, Any]]) -> Policy:
    return _inline(*(_statement("Allow", action, resource) for action, resource in grants))


# ---------------------------------------------------------------- the tables
def _table_actions() -> set[str]:
    names = {r.action for m in METHODS for s in m.enabling for r in s} | {r.action for m in METHODS for r in m.optional}
    return names | {r.action for r in (*CREDENTIAL_ACTIONS, *DATA_READ_ACTIONS)}


def test_table_actions_are_canonical_catalogue_names() -> None:
    known = catalogue()
    wrong = sorted(a for a in _table_actions() if (info := known.info(a)) is None or info.name != a)
    assert wrong == []


def test_method_table_is_consistent() -> None:
    ids = [m.id for m in METHODS]
    assert len(ids) == len(set(ids)) == len(METHODS_BY_ID)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", i) for i in ids)
    assert all(old in METHODS_BY_ID for m in METHODS for old in m.supersedes)
    assert all(m.enabling and all(m.enabling) and m.references and m.explanation for m in METHODS)
    assert {m.severity for m in METHODS} == {Severity.CRITICAL, Severity.HIGH}


def test_methods_page_is_fresh() -> None:
    page = REPO / "docs" / "escalation-methods.md"
    assert page.read_text() == methods_markdown(), (
        "regenerate: python3 -c 'from lambdasec.iam.escalation import methods_markdown as m; "
        "open(\"docs/escalation-methods.md\", \"w\").write(m())'"
    )
    assert all(f"## `{method.id}`" in page.read_text() for method in METHODS)


def test_infrastructure_services_and_exclusions_are_known() -> None:
    assert sorted(s for s in INFRASTRUCTURE_SERVICES if s not in catalogue().services()) == []
    assert set(NOT_CREDENTIAL_EXPOSURE).isdisjoint(r.action for r in CREDENTIAL_ACTIONS)


def test_rules_are_registered() -> None:
    codes = {rule.code for rule in all_rules()}
    assert {rule.code for rule in RULES} == {"IAM009", "IAM010", "IAM011", "IAM012", "IAM013"} <= codes
    assert {rule.category for rule in RULES} == {"identity"}


# ---------------------------------------------------------------- resource patterns
@pytest.mark.parametrize(
    ("resource", "service", "probe", "expected"),
    [
        ("*", "iam", f"role/{UNKNOWN_NAME}", True),
        ("arn:aws:iam::*:role/*", "iam", f"role/{UNKNOWN_NAME}", True),
        ("arn:aws:iam::123456789012:role/*", "iam", f"role/{UNKNOWN_NAME}", True),
        ("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*", "iam", f"role/{UNKNOWN_NAME}", True),
        ("arn:aws:iam::*", "iam", f"role/{UNKNOWN_NAME}", True),
        ("arn:aws:*:*:*:*", "iam", f"role/{UNKNOWN_NAME}", True),
        ("arn:aws:iam::*:role/app-*", "iam", f"role/{UNKNOWN_NAME}", False),
        ("arn:aws:iam::*:role/service-role/*", "iam", f"role/{UNKNOWN_NAME}", False),
        ("arn:aws:iam::*:user/*", "iam", f"role/{UNKNOWN_NAME}", False),
        ("arn:aws:s3:::*", "iam", f"role/{UNKNOWN_NAME}", False),
        ("Admin.Arn", "iam", f"role/{UNKNOWN_NAME}", False),
        ("arn:aws:lambda:*:*:function:*", "lambda", f"function:{UNKNOWN_NAME}", True),
        ("arn:aws:lambda:us-east-1:123456789012:function:jobs-*", "lambda", f"function:{UNKNOWN_NAME}", False),
    ],
)
def test_covers_every(resource: str, service: str, probe: str, expected: bool) -> None:
    assert covers_every(resource, service, probe) is expected


@pytest.mark.parametrize(
    ("resource", "action", "expected"),
    [
        ("*", "s3:GetObject", True),
        ("arn:aws:s3:::*", "s3:GetObject", True),
        ("arn:aws:s3:::*/*", "s3:GetObject", True),
        ("arn:aws:s3:::orders/*", "s3:GetObject", False),
        ("arn:aws:s3:::bucket/*", "s3:GetObject", False),  # a bucket named "bucket": no resource type word in S3
        ("arn:aws:secretsmanager:*:*:secret:*", "secretsmanager:GetSecretValue", True),
        ("arn:aws:secretsmanager:*:*:secret:app/*", "secretsmanager:GetSecretValue", False),
        ("arn:aws:ssm:us-east-1:123456789012:parameter/*", "ssm:GetParameter", True),
        ("arn:aws:ssm:us-east-1:123456789012:parameter/orders/*", "ssm:GetParameter", False),
        ("arn:aws:logs:*:*:log-group:*:*", "logs:GetLogEvents", True),
        ("arn:aws:rds-db:*:*:dbuser:*/*", "rds-db:connect", True),
        ("arn:aws:rds-db:*:*:dbuser:db-ABC/*", "rds-db:connect", False),
        ("arn:aws:dynamodb:*:*:table/*", "dynamodb:Scan", True),
        ("arn:aws:dynamodb:*:*:table/orders", "dynamodb:Scan", False),
        ("arn:aws:s3:::*", "dynamodb:Scan", False),  # another service's ARN grants nothing on tables
        ("arn:aws:sqs:*:*:*", "sqs:ReceiveMessage", True),
        ("arn:aws:sqs:*:*:jobs", "sqs:ReceiveMessage", False),
        ("OrdersTable.Arn", "dynamodb:Scan", False),
        ("<unresolved !Ref Arn>", "dynamodb:Scan", False),
    ],
)
def test_on_every_resource(resource: str, action: str, expected: bool) -> None:
    assert on_every_resource(resource, action) is expected


def test_grant_applies_to_star_only_actions() -> None:
    # lambda:CreateEventSourceMapping supports no resource type: only Resource "*" grants it.
    assert grant_applies("lambda:CreateEventSourceMapping", "*")
    assert not grant_applies("lambda:CreateEventSourceMapping", "arn:aws:lambda:*:*:function:*")
    assert grant_applies("lambda:UpdateFunctionCode", "arn:aws:lambda:*:*:function:x")
    assert grant_applies("unknown:Action", "arn:aws:x")


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("ec2:*", True),
        ("cloudformation:Create*", True),
        ("ec2:TerminateInstances", True),
        ("lambda:*", False),  # InvokeFunction uses the infrastructure: mixed, IAM003 keeps it
        ("lambda:Invoke*", False),
        ("ssm:PutParameter", False),
        ("dynamodb:*", False),
        ("*", False),
        ("ec2:Describe*", False),  # no write at all
        ("nosuchservice:Do", False),
    ],
)
def test_infrastructure_only(pattern: str, expected: bool) -> None:
    assert infrastructure_only(pattern) is expected


# ---------------------------------------------------------------- every method, exactly
ADMIN_ARN = _ref("Admin")
ADMIN_FN = _ref("AdminFn")
OWN_FN = "arn:aws:lambda:us-east-1:123456789012:function:own-fn"

# For each method, grants that enable exactly that method in _world().
ENABLING: dict[str, list[tuple[str, Any]]] = {
    "iam-create-policy-version": [("iam:CreatePolicyVersion", "*")],
    "iam-set-default-policy-version": [("iam:SetDefaultPolicyVersion", _ref("AppPolicy", None))],
    "iam-attach-role-policy": [("iam:AttachRolePolicy", "arn:aws:iam::*:role/*")],
    "iam-put-role-policy": [("iam:PutRolePolicy", _ref("Role"))],
    "iam-role-permissions-boundary": [("iam:PutRolePermissionsBoundary", "*")],
    "iam-attach-user-policy": [("iam:AttachUserPolicy", "*")],
    "iam-put-user-policy": [("iam:PutUserPolicy", "arn:aws:iam::123456789012:user/*")],
    "iam-attach-group-policy": [("iam:AttachGroupPolicy", "*")],
    "iam-put-group-policy": [("iam:PutGroupPolicy", "*")],
    "iam-add-user-to-group": [("iam:AddUserToGroup", "*")],
    "iam-create-access-key": [("iam:CreateAccessKey", "*")],
    "iam-create-login-profile": [("iam:CreateLoginProfile", "*")],
    "iam-update-login-profile": [("iam:UpdateLoginProfile", "*")],
    "iam-update-assume-role-policy": [("iam:UpdateAssumeRolePolicy", ADMIN_ARN), ("sts:AssumeRole", ADMIN_ARN)],
    "sts-assume-role": [("sts:AssumeRole", _ref("Ops"))],
    "ec2-run-instances": [("iam:PassRole", ADMIN_ARN), ("ec2:RunInstances", "*")],
    "cloudformation-create-stack": [("iam:PassRole", "*"), ("cloudformation:CreateChangeSet", "*"),
                                    ("cloudformation:ExecuteChangeSet", "*")],
    "glue-create-dev-endpoint": [("iam:PassRole", "*"), ("glue:CreateDevEndpoint", "*")],
    "glue-update-dev-endpoint": [("glue:UpdateDevEndpoint", "*")],
    "glue-create-job": [("iam:PassRole", "*"), ("glue:CreateJob", "*"), ("glue:StartJobRun", "*")],
    "datapipeline-create-pipeline": [("iam:PassRole", "*"), ("datapipeline:CreatePipeline", "*"),
                                     ("datapipeline:PutPipelineDefinition", "*"),
                                     ("datapipeline:ActivatePipeline", "*")],
    "codebuild-create-project": [("iam:PassRole", "*"), ("codebuild:CreateProject", "*"),
                                 ("codebuild:StartBuildBatch", "*")],
    "sagemaker-create-notebook": [("iam:PassRole", "*"), ("sagemaker:CreateNotebookInstance", "*"),
                                  ("sagemaker:CreatePresignedNotebookInstanceUrl", "*")],
    "ecs-run-task": [("iam:PassRole", "*"), ("ecs:RegisterTaskDefinition", "*"), ("ecs:CreateService", "*")],
    "ssm-send-command": [("ssm:SendCommand", "*")],
    "ssm-start-session": [("ssm:StartSession", "arn:aws:ec2:*:*:instance/*")],
    "ec2-instance-connect": [("ec2-instance-connect:SendSSHPublicKey", "*")],
    "lambda-create-function-invoke": [("iam:PassRole", "*"), ("lambda:CreateFunction", "*"),
                                      ("lambda:InvokeFunction", "*")],
    "lambda-create-function-event-source": [("iam:PassRole", ADMIN_ARN), ("lambda:CreateFunction", "*"),
                                            ("lambda:CreateEventSourceMapping", "*")],
    "lambda-create-function-add-permission": [
        ("iam:PassRole", "*"), ("lambda:CreateFunction", "*"),
        ("lambda:AddPermission", "arn:aws:lambda:*:*:function:jobs-*")],
    "lambda-update-function-code": [("lambda:UpdateFunctionCode", ADMIN_FN)],
    "lambda-update-function-configuration": [("lambda:UpdateFunctionConfiguration", "*")],
    "lambda-swap-role": [("lambda:UpdateFunctionConfiguration", OWN_FN), ("iam:PassRole", ADMIN_ARN)],
    "lambda-publish-layer-version": [("lambda:PublishLayerVersion", "*"),
                                     ("lambda:UpdateFunctionConfiguration", "*")],
    "lambda-expose-function": [("lambda:CreateFunctionUrlConfig", ADMIN_FN)],
}

# The same actions on a harmless resource: the role's own function or a function/role no more privileged
# than it, a policy not its own, one named user, group or instance.
HARMLESS: dict[str, list[tuple[str, Any]]] = {
    "iam-create-policy-version": [("iam:CreatePolicyVersion", "arn:aws:iam::123456789012:policy/other")],
    "iam-set-default-policy-version": [("iam:SetDefaultPolicyVersion", "arn:aws:iam::123456789012:policy/other")],
    "iam-attach-role-policy": [("iam:AttachRolePolicy", _ref("Worker"))],
    "iam-put-role-policy": [("iam:PutRolePolicy", "arn:aws:iam::123456789012:role/someone-else")],
    "iam-role-permissions-boundary": [("iam:PutRolePermissionsBoundary", _ref("Worker"))],
    "iam-attach-user-policy": [("iam:AttachUserPolicy", "arn:aws:iam::123456789012:user/ci")],
    "iam-put-user-policy": [("iam:PutUserPolicy", "arn:aws:iam::123456789012:user/ci")],
    "iam-attach-group-policy": [("iam:AttachGroupPolicy", "arn:aws:iam::123456789012:group/readers")],
    "iam-put-group-policy": [("iam:PutGroupPolicy", "arn:aws:iam::123456789012:group/readers")],
    "iam-add-user-to-group": [("iam:AddUserToGroup", "arn:aws:iam::123456789012:group/readers")],
    "iam-create-access-key": [("iam:CreateAccessKey", "arn:aws:iam::123456789012:user/${aws:username}")],
    "iam-create-login-profile": [("iam:CreateLoginProfile", "arn:aws:iam::123456789012:user/ci")],
    "iam-update-login-profile": [("iam:UpdateLoginProfile", "arn:aws:iam::123456789012:user/ci")],
    "iam-update-assume-role-policy": [("iam:UpdateAssumeRolePolicy", _ref("Worker")),
                                      ("sts:AssumeRole", _ref("Worker"))],
    "sts-assume-role": [("sts:AssumeRole", ADMIN_ARN)],  # more privileged, but it trusts only Lambda
    "ec2-run-instances": [("iam:PassRole", _ref("Worker")), ("ec2:RunInstances", "*")],
    "cloudformation-create-stack": [("iam:PassRole", _ref("Worker")), ("cloudformation:CreateStack", "*")],
    "glue-create-dev-endpoint": [("iam:PassRole", _ref("Role")), ("glue:CreateDevEndpoint", "*")],
    "glue-update-dev-endpoint": [("glue:UpdateDevEndpoint", "arn:aws:glue:us-east-1:123456789012:devEndpoint/x")],
    "glue-create-job": [("iam:PassRole", _ref("Worker")), ("glue:CreateJob", "*"), ("glue:StartJobRun", "*")],
    "datapipeline-create-pipeline": [("iam:PassRole", _ref("Worker")), ("datapipeline:CreatePipeline", "*"),
                                     ("datapipeline:PutPipelineDefinition", "*"),
                                     ("datapipeline:ActivatePipeline", "*")],
    "codebuild-create-project": [("iam:PassRole", _ref("Worker")), ("codebuild:CreateProject", "*"),
                                 ("codebuild:StartBuild", "*")],
    "sagemaker-create-notebook": [("iam:PassRole", _ref("Worker")), ("sagemaker:CreateProcessingJob", "*")],
    "ecs-run-task": [("iam:PassRole", _ref("Worker")), ("ecs:RegisterTaskDefinition", "*"), ("ecs:RunTask", "*")],
    "ssm-send-command": [("ssm:SendCommand", "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0")],
    "ssm-start-session": [("ssm:StartSession", "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0")],
    "ec2-instance-connect": [("ec2-instance-connect:SendSSHPublicKey",
                              "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0")],
    "lambda-create-function-invoke": [("iam:PassRole", _ref("Worker")), ("lambda:CreateFunction", "*"),
                                      ("lambda:InvokeFunction", "*")],
    "lambda-create-function-event-source": [("iam:PassRole", _ref("Worker")), ("lambda:CreateFunction", "*"),
                                            ("lambda:CreateEventSourceMapping", "*")],
    # A fixed name that exists already cannot be a new function's.
    "lambda-create-function-add-permission": [("iam:PassRole", "*"), ("lambda:CreateFunction", "*"),
                                              ("lambda:AddPermission", OWN_FN)],
    "lambda-update-function-code": [("lambda:UpdateFunctionCode", _ref("WorkerFn"))],
    "lambda-update-function-configuration": [("lambda:UpdateFunctionConfiguration", OWN_FN)],
    "lambda-swap-role": [("lambda:UpdateFunctionConfiguration", OWN_FN), ("iam:PassRole", _ref("Worker"))],
    "lambda-publish-layer-version": [("lambda:PublishLayerVersion", "*"),
                                     ("lambda:UpdateFunctionConfiguration", _ref("WorkerFn"))],
    "lambda-expose-function": [("lambda:CreateFunctionUrlConfig", _ref("WorkerFn")),
                               ("lambda:AddPermission", OWN_FN)],
}


def _method_world(method_id: str, grants: list[tuple[str, Any]], *extra: Policy) -> tuple[Role, Inventory]:
    """_world() with the grants; the set-default case needs a policy of the role, the boundary case a boundary."""
    policies = [_allow(grants), *extra]
    if method_id == "iam-set-default-policy-version":
        document = parse_document({"Statement": [{"Effect": "Allow", "Action": "logs:CreateLogGroup",
                                                  "Resource": "*"}]})
        policies.append(Policy("AppPolicy", "customer-managed", document, Location(FILE, 30)))
    boundary = ADMIN if method_id == "iam-role-permissions-boundary" else None
    return _world(*policies, boundary=boundary)


def test_every_method_has_cases() -> None:
    assert sorted(ENABLING) == sorted(METHODS_BY_ID) == sorted(HARMLESS)


@pytest.mark.parametrize("method_id", sorted(ENABLING))
def test_enabling_set_finds_exactly_that_method(method_id: str) -> None:
    role, inventory = _method_world(method_id, ENABLING[method_id])
    result = find_escalations(role, inventory)
    assert {escalation.method.id for escalation in result.found} == {method_id}
    # AddPermission on jobs-* may also name existing functions outside the scan: exposing them is undecided.
    undecided = ["lambda-expose-function"] if method_id == "lambda-create-function-add-permission" else []
    assert [u.method.id for u in result.undecided] == undecided


@pytest.mark.parametrize("method_id", sorted(HARMLESS))
def test_same_actions_on_harmless_resources_find_nothing(method_id: str) -> None:
    role, inventory = _method_world(method_id, HARMLESS[method_id])
    assert _found(role, inventory) == set()


@pytest.mark.parametrize("method_id", sorted(ENABLING))
def test_deny_on_the_enabling_actions_finds_nothing(method_id: str) -> None:
    actions = sorted({action for action, _ in ENABLING[method_id]})
    role, inventory = _method_world(method_id, ENABLING[method_id], _inline(_statement("Deny", actions, "*")))
    assert _found(role, inventory) == set()


@pytest.mark.parametrize("method_id", sorted(ENABLING))
def test_deny_of_one_action_of_the_set_is_enough(method_id: str) -> None:
    last = ENABLING[method_id][-1][0]
    role, inventory = _method_world(method_id, ENABLING[method_id], _inline(_statement("Deny", last, "*")))
    assert method_id not in _found(role, inventory)


def test_boundary_method_needs_a_boundary() -> None:
    role, inventory = _world(_allow([("iam:DeleteRolePermissionsBoundary", "*")]))
    assert _found(role, inventory) == set()


def test_own_role_by_literal_name() -> None:
    grants = [("iam:PutRolePolicy", "arn:aws:iam::123456789012:role/orders-fn")]
    named, inventory = _world(_allow(grants), name="orders-fn")
    assert _found(named, inventory) == {"iam-put-role-policy"}
    other, inventory = _world(_allow(grants), name="billing-fn")
    assert _found(other, inventory) == set()
    unnamed, inventory = _world(_allow(grants))
    result = find_escalations(unnamed, inventory)
    assert result.found == []
    assert [u.method.id for u in result.undecided] == ["iam-put-role-policy"]


def test_superseded_method_is_reported_once() -> None:
    role, inventory = _world(_allow(ENABLING["lambda-publish-layer-version"]))
    assert _found(role, inventory) == {"lambda-publish-layer-version"}
    role, inventory = _world(_allow(ENABLING["lambda-update-function-configuration"]))
    assert _found(role, inventory) == {"lambda-update-function-configuration"}


def test_optional_invoke_is_reported_as_extra() -> None:
    role, inventory = _world(_allow([("lambda:UpdateFunctionCode", "*"), ("lambda:InvokeFunction", ADMIN_FN)]))
    [escalation] = find_escalations(role, inventory).found
    assert [e.requirement.action for e in escalation.extras] == ["lambda:InvokeFunction"]
    assert escalation.extras[0].targets == ("function AdminFn, whose role Admin is more privileged",)


def test_star_only_action_on_an_arn_grants_nothing() -> None:
    grants = [("iam:PassRole", "*"), ("lambda:CreateFunction", "*"),
              ("lambda:CreateEventSourceMapping", "arn:aws:lambda:*:*:event-source-mapping:*")]
    role, inventory = _world(_allow(grants))
    assert _found(role, inventory) == set()


def test_wildcard_action_patterns_are_expanded() -> None:
    role, inventory = _world(_allow([("iam:Attach*", "*")]))
    assert _found(role, inventory) == {"iam-attach-role-policy", "iam-attach-user-policy", "iam-attach-group-policy"}


# ---------------------------------------------------------------- undecided and bad input
def test_role_outside_the_scan_is_undecided() -> None:
    grants = [("iam:PassRole", "arn:aws:iam::123456789012:role/deployer"), ("lambda:CreateFunction", "*"),
              ("lambda:InvokeFunction", "*")]
    role, inventory = _world(_allow(grants))
    result = find_escalations(role, inventory)
    assert result.found == []
    assert [(u.method.id, u.reasons) for u in result.undecided] == [(
        "lambda-create-function-invoke",
        ("iam:PassRole on arn:aws:iam::123456789012:role/deployer, which may name roles outside the scan",),
    )]
    outcomes = _not_evaluated(ROLE_PRIVILEGE_ESCALATION, inventory)
    assert [(o.resource_id, o.reason) for o in outcomes] == [(
        "Role",
        "lambda-create-function-invoke (Create a function with a more privileged role and invoke it): iam:PassRole "
        "on arn:aws:iam::123456789012:role/deployer, which may name roles outside the scan",
    )]
    assert _findings(ROLE_PRIVILEGE_ESCALATION, inventory) == []


def test_passed_role_with_unreadable_policy_is_undecided() -> None:
    target = _role("Target", Policy("ext", "customer-managed", Unresolved("arn:aws:iam::1:policy/ext", "outside"),
                                    Location(FILE, 50), arn="arn:aws:iam::1:policy/ext"))
    role = _role("Role", _allow([("iam:PassRole", _ref("Target")), ("ec2:RunInstances", "*")]))
    inventory = _inventory([role, target])
    result = find_escalations(role, inventory)
    assert result.found == []
    assert [(u.method.id, u.reasons) for u in result.undecided] == [(
        "ec2-run-instances", ("iam:PassRole on role Target, whose policies could not all be evaluated",))]


def test_function_whose_role_is_outside_the_scan_is_undecided() -> None:
    role = _role("Role", _allow([("lambda:UpdateFunctionCode", _ref("Fn"))]))
    outside = Function(key=f"{FILE}#Fn", id="Fn", type="AWS::Lambda::Function", location=Location(FILE, 60),
                       role="arn:aws:iam::123456789012:role/elsewhere")
    result = find_escalations(role, _inventory([role], [outside]))
    assert result.found == []
    assert [u.reasons for u in result.undecided] == [
        ("lambda:UpdateFunctionCode on function Fn, whose role is outside the scan",)]


def test_unknown_actions_and_unresolved_policies_never_crash() -> None:
    broken = Policy("broken", "inline", parse_document("{not json"), Location(FILE, 70))
    assert isinstance(broken.document, Unresolved)
    unresolved_action = _inline({"Effect": "Allow", "Action": Unresolved("!If [C, a, b]"), "Resource": "*"})
    role, inventory = _world(_allow([("lambda:UpdateFunctionCod", "*"), ("nosuch:Thing", "*")]), broken,
                             unresolved_action)
    assert _found(role, inventory) == set()
    for rule in RULES:
        assert _findings(rule, inventory) == []
    [outcome] = _not_evaluated(ROLE_PRIVILEGE_ESCALATION, inventory)
    assert outcome.resource_id == "Role"
    assert outcome.reason.startswith("parts of its permissions could not be evaluated (policy broken: policy "
                                     "document is not valid JSON")
    assert outcome.reason.endswith("they may enable an escalation method")


def test_unresolved_trust_policy_of_an_assumed_role_is_undecided() -> None:
    target = _role("Target", _managed("arn:aws:iam::aws:policy/AmazonS3FullAccess"))
    target.trust_policy = Unresolved("!Ref TrustDocument")
    role = _role("Role", _allow([("sts:AssumeRole", _ref("Target"))]))
    result = find_escalations(role, _inventory([role, target]))
    assert result.found == []
    assert [u.reasons for u in result.undecided] == [
        ("sts:AssumeRole on role Target, whose trust policy is not known statically",)]


# ---------------------------------------------------------------- IAM009 findings
def test_escalation_finding_names_method_actions_and_resources() -> None:
    role, inventory = _world(_allow(ENABLING["lambda-create-function-invoke"]))
    [finding] = _findings(ROLE_PRIVILEGE_ESCALATION, inventory)
    assert finding.message == (
        "Role Role can escalate its privileges by lambda-create-function-invoke (Create a function with a more "
        "privileged role and invoke it): iam:PassRole on * (every role); lambda:CreateFunction on *; "
        "lambda:InvokeFunction on * (functions it names itself). "
        + METHODS_BY_ID["lambda-create-function-invoke"].explanation
    )
    assert finding.severity is Severity.CRITICAL and finding.confidence is Confidence.HIGH
    assert finding.evidence["method"] == "lambda-create-function-invoke"
    assert finding.evidence["actions"] == ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"]
    assert finding.evidence["policies"] == ["escalation"]
    assert (finding.location.file, finding.location.line) == (FILE, 10)
    assert finding.functions == ["Own"]


def test_specific_privileged_target_is_high_not_critical() -> None:
    role, inventory = _world(_allow(ENABLING["ec2-run-instances"]))
    [finding] = _findings(ROLE_PRIVILEGE_ESCALATION, inventory)
    assert finding.severity is Severity.HIGH
    assert finding.evidence["enabled_by"][0] == {
        "action": "iam:PassRole", "resources": ["Admin.Arn"], "targets": ["role Admin, more privileged"],
        "conditional": False}
    role, inventory = _world(_allow([("iam:PassRole", "*"), ("ec2:RunInstances", "*")]))
    assert [f.severity for f in _findings(ROLE_PRIVILEGE_ESCALATION, inventory)] == [Severity.CRITICAL]


def test_conditional_grant_lowers_confidence() -> None:
    condition = {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
    conditional = _inline(_statement("Allow", "iam:PassRole", "*", Condition=condition),
                          _statement("Allow", "ec2:RunInstances", "*"))
    role, inventory = _world(conditional)
    [finding] = _findings(ROLE_PRIVILEGE_ESCALATION, inventory)
    assert finding.confidence is Confidence.MEDIUM
    assert "iam:PassRole on * (every role) under a condition" in finding.message
    # An unconditional grant of the same action decides: the condition no longer matters.
    role, inventory = _world(conditional, _allow([("iam:PassRole", "*")]))
    assert [f.confidence for f in _findings(ROLE_PRIVILEGE_ESCALATION, inventory)] == [Confidence.HIGH]


def test_unreadable_boundary_lowers_confidence() -> None:
    grants = _allow([("iam:CreateAccessKey", "*")])
    role, inventory = _world(grants, boundary="arn:aws:iam::123456789012:policy/not-in-the-scan")
    [finding] = _findings(ROLE_PRIVILEGE_ESCALATION, inventory)
    assert finding.confidence is Confidence.MEDIUM


def test_boundary_that_denies_the_action_removes_the_method() -> None:
    role, inventory = _world(_allow([("iam:CreateAccessKey", "*")]),
                             boundary="arn:aws:iam::aws:policy/PowerUserAccess")  # no IAM actions
    assert _findings(ROLE_PRIVILEGE_ESCALATION, inventory) == []


def test_admin_roles_are_left_to_iam001() -> None:
    admin = _role("Admin", _managed(ADMIN))
    power = _role("Power", _managed("arn:aws:iam::aws:policy/PowerUserAccess"))
    inventory = _inventory([admin, power])
    assert [o for rule in RULES for o in _run(rule, inventory)] == []


def test_one_finding_per_method() -> None:
    role, inventory = _world(_allow([("iam:CreateAccessKey", "*"), ("iam:CreateLoginProfile", "*")]))
    findings = _findings(ROLE_PRIVILEGE_ESCALATION, inventory)
    assert sorted(f.evidence["method"] for f in findings) == ["iam-create-access-key", "iam-create-login-profile"]


def test_method_titles_for_attack_paths() -> None:
    role, inventory = _world(_allow(ENABLING["lambda-update-function-code"]))
    assert method_titles(role, inventory) == ["Replace the code of a more privileged function"]


# ---------------------------------------------------------------- IAM010-IAM013
def test_credentials_exposure() -> None:
    role, inventory = _world(_allow([
        ("rds-db:connect", "arn:aws:rds-db:*:*:dbuser:*/*"), ("lambda:GetFunction", "*"),
        ("redshift:GetClusterCredentials", "arn:aws:redshift:us-east-1:123456789012:dbuser:reports/app"),
        ("ecr:GetAuthorizationToken", "*"), ("sts:AssumeRole", "arn:aws:iam::123456789012:role/x"),
    ]))
    [finding] = _findings(ROLE_CREDENTIALS_EXPOSURE, inventory)
    assert finding.message == (
        "Role Role can obtain credentials on every resource (RDS database sign-in tokens, environment variables "
        "and code of functions): 2 actions: lambda:GetFunction, rds-db:connect")
    assert finding.evidence["actions"] == ["lambda:GetFunction", "rds-db:connect"]
    assert finding.evidence["action_count"] == 2
    assert (finding.location.file, finding.location.line) == (FILE, 10)


def test_data_exfiltration_expands_wildcards_and_skips_pollers() -> None:
    sqs_poller = _managed("arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole")
    role, inventory = _world(_allow([("s3:Get*", "arn:aws:s3:::*/*"), ("ssm:GetParameter*", "*"),
                                     ("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:*:*:secret:app/*")]),
                             sqs_poller)
    [finding] = _findings(ROLE_DATA_EXFILTRATION, inventory)
    assert finding.evidence["actions"] == [
        "s3:GetObject", "s3:GetObjectVersion", "ssm:GetParameter", "ssm:GetParameterHistory", "ssm:GetParameters",
        "ssm:GetParametersByPath"]
    assert finding.evidence["reaches"] == ["S3 objects", "SSM parameters"]
    assert finding.message == (
        "Role Role can read data on every resource (S3 objects, SSM parameters): 6 actions: s3:GetObject, "
        "s3:GetObjectVersion, ssm:GetParameter, ssm:GetParameterHistory, ssm:GetParameters, "
        "ssm:GetParametersByPath")


def test_data_exfiltration_deny_and_condition() -> None:
    denied = _inline(_statement("Allow", "dynamodb:Scan", "*"), _statement("Deny", "dynamodb:*", "*"))
    role, inventory = _world(denied)
    assert _findings(ROLE_DATA_EXFILTRATION, inventory) == []
    conditional = _inline(_statement("Allow", "kms:Decrypt", "*",
                                     Condition={"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}))
    role, inventory = _world(conditional)
    [finding] = _findings(ROLE_DATA_EXFILTRATION, inventory)
    assert finding.confidence is Confidence.MEDIUM
    assert finding.message.endswith("; every such grant has a condition, which may narrow it")


def test_resource_exposure_uses_catalogue_access_levels() -> None:
    role, inventory = _world(_allow([("s3:PutBucket*", "*"), ("iam:PutRolePolicy", "*"), ("rds-db:connect", "*"),
                                     ("lambda:AddPermission", "arn:aws:lambda:*:*:function:x")]))
    [finding] = _findings(ROLE_RESOURCE_EXPOSURE, inventory)
    known = catalogue()
    expected = sorted(a for a in known.expand("s3:PutBucket*") if known.access_level(a) == "Permissions management")
    assert finding.evidence["actions"] == sorted(expected, key=str.lower)
    assert "s3:PutBucketPolicy" in expected and "s3:PutBucketVersioning" not in expected
    assert finding.evidence["reaches"] == ["s3"]


def test_infrastructure_modification_and_iam003_are_complementary() -> None:
    vpc = _managed("arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")
    infra, inventory = _world(_allow([("ec2:TerminateInstances", "*"), ("iam:PassRole", "*"),
                                      ("lambda:InvokeFunction", "*"), ("ssm:PutParameter", "*")]), vpc)
    [finding] = _findings(ROLE_INFRASTRUCTURE_MODIFICATION, inventory)
    assert finding.evidence["actions"] == ["ec2:TerminateInstances"]
    assert finding.message == (
        "Role Role can modify infrastructure on every resource of ec2: ec2:TerminateInstances")
    [data] = [f for f in _findings(ROLE_WRITE_ANY_RESOURCE, inventory) if f.resource_id == "Role"]
    assert data.evidence["actions"] == ["lambda:InvokeFunction", "ssm:PutParameter"]


def test_infrastructure_modification_lists_a_sample_of_long_expansions() -> None:
    role, inventory = _world(_allow([("cloudformation:*", "*")]))
    [finding] = _findings(ROLE_INFRASTRUCTURE_MODIFICATION, inventory)
    actions = finding.evidence["actions"]
    assert len(actions) == finding.evidence["action_count"] > 6
    assert finding.message.endswith(f"{len(actions)} actions, among them {', '.join(actions[:6])}")
    assert _findings(ROLE_WRITE_ANY_RESOURCE, inventory) == []


def test_blast_radius_rules_ignore_scoped_grants() -> None:
    role, inventory = _world(_allow([
        ("rds-db:connect", "arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABC/app"),
        ("secretsmanager:GetSecretValue", _ref("ApiSecret", None)),
        ("s3:PutBucketPolicy", "arn:aws:s3:::orders"),
        ("ec2:TerminateInstances", "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"),
    ]))
    assert [f for rule in RULES for f in _findings(rule, inventory)] == []


# ---------------------------------------------------------------- the fixtures, method by method
def _method_of(role_id: str) -> str:
    """`FailLambdaSwapRole` -> `lambda-swap-role` (the fixtures name each role after its method)."""
    words = re.findall(r"[A-Z][a-z0-9]*", role_id.removeprefix("Fail").removeprefix("Pass"))
    return "-".join(word.lower() for word in words)


ESCALATION_FIXTURES = sorted(FIXTURES.glob("IAM009-*.yaml"))


@pytest.mark.parametrize("path", ESCALATION_FIXTURES, ids=lambda p: p.name)
def test_each_fixture_role_shows_its_own_method(path: Any) -> None:
    report = lambdasec.scan_paths([path], rules=["IAM009"], now=FIXTURE_CLOCK)
    found = {(f.resource_id, f.evidence["method"]) for f in report.findings}
    assert found == {(f.resource_id, _method_of(f.resource_id)) for f in report.findings}
    assert len(found) == len(report.findings)


def test_fixtures_cover_every_method_both_ways() -> None:
    names = {name for path in ESCALATION_FIXTURES for name in re.findall(r"^  ((?:Fail|Pass)\w+):$",
                                                                        path.read_text(), re.MULTILINE)}
    fail = {_method_of(n) for n in names if n.startswith("Fail")}
    passing = {_method_of(re.sub(r"(Denied|None)$", "", n)) for n in names if n.startswith("Pass")}
    assert sorted(fail) == sorted(METHODS_BY_ID)
    assert sorted(passing) == sorted(METHODS_BY_ID)
