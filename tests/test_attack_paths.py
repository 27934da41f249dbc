"""IAM principals in the inventory, who else can change or read a function, and attack-path priorities."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import lambdasec
from lambdasec.analysis.attack_paths import entry_points, level_of, priorities, ranked
from lambdasec.collectors.discovery import collect
from lambdasec.collectors.options import CollectOptions
from lambdasec.iam.principals import resource_covers
from lambdasec.model.findings import Report, Severity
from lambdasec.model.inventory import Function, Group, Inventory, PolicyDocument, Role, User
from lambdasec.model.location import Location
from lambdasec.model.values import ResourceRef, Unresolved
from lambdasec.reporters import render

from .conftest import FIXTURE_CLOCK, FIXTURES
from .terraform_plans import Res, const, plan, ref, write

TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def inventory_of(path: Path) -> Inventory:
    inventory, _ = collect([path], CollectOptions())
    assert [gap.message for gap in inventory.coverage_gaps] == []
    return inventory


def scan(path: Path, *codes: str) -> Report:
    return lambdasec.scan_paths([path], rules=list(codes), now=FIXTURE_CLOCK)


def policies(principal: Role | User | Group) -> list[tuple[str, str]]:
    return [(policy.name, policy.kind) for policy in principal.policies]


def by_id(items: list[Any]) -> dict[str, Any]:
    return {item.id: item for item in items}


def findings(report: Report, code: str) -> list[tuple[str, str, str, list[str]]]:
    """(principal, function, severity, actions) of the rule's findings, sorted."""
    return sorted((f.resource_id, f.functions[0], f.severity.label, f.evidence["actions"])
                  for f in report.findings if f.rule_id == code)


# ---------------------------------------------------------------- CloudFormation principals
CFN_PRINCIPALS = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Dev:
    Type: AWS::IAM::User
    Properties:
      UserName: dev
      PermissionsBoundary: arn:aws:iam::aws:policy/PowerUserAccess
      Groups: [!Ref Deployers, external-group]
      ManagedPolicyArns: [arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess]
      Policies:
        - PolicyName: own
          PolicyDocument:
            Statement: [{Effect: Allow, Action: lambda:GetFunction, Resource: "*"}]
  Deployers:
    Type: AWS::IAM::Group
    Properties:
      GroupName: deployers
      ManagedPolicyArns: [!Ref DeployPolicy]
  DeployPolicy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      Roles: [!Ref Pipeline]
      PolicyDocument:
        Statement: [{Effect: Allow, Action: lambda:UpdateFunctionCode, Resource: "*"}]
  Pipeline:
    Type: AWS::IAM::Role
    Properties:
      RoleName: pipeline
      AssumeRolePolicyDocument:
        Statement: [{Effect: Allow, Principal: {Service: codebuild.amazonaws.com}, Action: sts:AssumeRole}]
  Extra:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: extra
      Users: [dev]
      Groups: [!Ref Deployers]
      Roles: [arn:aws:iam::123456789012:role/pipeline]
      PolicyDocument:
        Statement: [{Effect: Allow, Action: s3:GetObject, Resource: "*"}]
  Addition:
    Type: AWS::IAM::UserToGroupAddition
    Properties:
      GroupName: deployers
      Users: [alice, !Ref Dev]
  GroupInline:
    Type: AWS::IAM::GroupPolicy
    Properties:
      GroupName: !Ref Deployers
      PolicyName: group-inline
      PolicyDocument:
        Statement: [{Effect: Allow, Action: lambda:AddPermission, Resource: "*"}]
  UserInline:
    Type: AWS::IAM::UserPolicy
    Properties:
      UserName: !Ref Dev
      PolicyName: user-inline
      PolicyDocument:
        Statement: [{Effect: Allow, Action: lambda:ListFunctions, Resource: "*"}]
  RoleInline:
    Type: AWS::IAM::RolePolicy
    Properties:
      RoleName: pipeline
      PolicyName: role-inline
      PolicyDocument:
        Statement: [{Effect: Allow, Action: lambda:CreateFunction, Resource: "*"}]
"""


def test_cloudformation_reads_users_groups_memberships_and_attachments(tmp_path: Path) -> None:
    path = tmp_path / "iam.yaml"
    path.write_text(CFN_PRINCIPALS)
    inventory = inventory_of(path)
    [dev] = inventory.users
    [deployers] = inventory.groups
    [pipeline] = inventory.roles
    assert (dev.id, dev.name, dev.type) == ("Dev", "dev", "AWS::IAM::User")
    assert dev.permissions_boundary == "arn:aws:iam::aws:policy/PowerUserAccess"
    assert policies(dev) == [("own", "inline"), ("AWSLambda_ReadOnlyAccess", "aws-managed"), ("extra", "inline"),
                             ("user-inline", "inline")]
    assert isinstance(dev.policies[1].document, PolicyDocument)  # from lambdasec's managed policy catalogue
    assert dev.policies[2].location.line == 31  # the AWS::IAM::Policy resource that attaches itself
    assert dev.groups == [ResourceRef(f"{path.name}#Deployers"), "external-group"]
    assert (deployers.name, policies(deployers)) == ("deployers", [
        ("DeployPolicy", "customer-managed"), ("extra", "inline"), ("group-inline", "inline")])
    # The user's own Groups property, then the addition (which names the template's user once).
    assert deployers.members == [ResourceRef(f"{path.name}#Dev"), "alice"]
    assert policies(pipeline) == [("DeployPolicy", "customer-managed"), ("extra", "inline"),
                                  ("role-inline", "inline")]
    assert inventory.get(f"{path.name}#Dev") is dev and inventory.get(f"{path.name}#Deployers") is deployers


def test_users_and_groups_of_a_serverless_resources_section() -> None:
    inventory = inventory_of(FIXTURES / "IAM014.fail.serverless.yml")
    users, groups = by_id(inventory.users), by_id(inventory.groups)
    assert sorted(users) == ["FailDeveloper"] and sorted(groups) == ["FailReleasers", "Viewers"]
    assert policies(users["FailDeveloper"]) == [("hotfix", "inline")]
    assert groups["Viewers"].members == [ResourceRef("IAM014.fail.serverless.yml#FailDeveloper")]


# ---------------------------------------------------------------- Terraform principals
TERRAFORM_PRINCIPALS = """\
resource "aws_iam_user" "dev" {
  name                 = "dev"
  permissions_boundary = "arn:aws:iam::aws:policy/PowerUserAccess"
}

resource "aws_iam_user" "ops" {
  name = "ops"
}

resource "aws_iam_group" "deployers" {
  name = "deployers"
}

resource "aws_iam_role" "pipeline" {
  name               = "pipeline"
  assume_role_policy = jsonencode({ Statement = [] })
}

resource "aws_iam_user_policy" "own" {
  name   = "own"
  user   = aws_iam_user.dev.name
  policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "lambda:GetFunction", Resource = "*" }] })
}

resource "aws_iam_group_policy" "deploy" {
  name   = "deploy"
  group  = aws_iam_group.deployers.id
  policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "lambda:UpdateFunctionCode", Resource = "*" }] })
}

resource "aws_iam_policy" "shared" {
  name   = "shared"
  policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "s3:GetObject", Resource = "*" }] })
}

resource "aws_iam_policy_attachment" "shared" {
  name       = "shared"
  policy_arn = aws_iam_policy.shared.arn
  users      = [aws_iam_user.ops.name]
  groups     = [aws_iam_group.deployers.name]
  roles      = ["pipeline"]
}

resource "aws_iam_user_policy_attachment" "read" {
  user       = "dev"
  policy_arn = "arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess"
}

resource "aws_iam_group_policy_attachment" "read" {
  group      = aws_iam_group.deployers.name
  policy_arn = "arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess"
}

resource "aws_iam_group_membership" "deployers" {
  name  = "deployers"
  group = aws_iam_group.deployers.name
  users = [aws_iam_user.ops.name, "carol"]
}

resource "aws_iam_user_group_membership" "dev" {
  user   = aws_iam_user.dev.name
  groups = [aws_iam_group.deployers.name, "auditors"]
}
"""


def test_terraform_reads_users_groups_memberships_and_attachments(tmp_path: Path) -> None:
    path = tmp_path / "iam.tf"
    path.write_text(TERRAFORM_PRINCIPALS)
    inventory = inventory_of(path)
    users, groups, roles = by_id(inventory.users), by_id(inventory.groups), by_id(inventory.roles)
    dev, ops = users["aws_iam_user.dev"], users["aws_iam_user.ops"]
    deployers = groups["aws_iam_group.deployers"]
    assert (dev.name, dev.type, dev.permissions_boundary) == (
        "dev", "aws_iam_user", "arn:aws:iam::aws:policy/PowerUserAccess")
    assert policies(dev) == [("own", "inline"), ("AWSLambda_ReadOnlyAccess", "aws-managed")]
    assert policies(ops) == [("shared", "customer-managed")]
    assert policies(deployers) == [("deploy", "inline"), ("shared", "customer-managed"),
                                   ("AWSLambda_ReadOnlyAccess", "aws-managed")]
    assert policies(roles["aws_iam_role.pipeline"]) == [("shared", "customer-managed")]
    assert deployers.members == [ResourceRef(ops.key), "carol", ResourceRef(dev.key)]
    assert dev.groups == [ResourceRef(deployers.key), "auditors"]
    assert ops.groups == [ResourceRef(deployers.key)]
    assert dev.policies[0].location.line == 22  # the aws_iam_user_policy's policy attribute


def test_terraform_plan_memberships_by_name(tmp_path: Path) -> None:
    """A plan knows names, not references: memberships and attachments are matched by name."""
    user = Res("aws_iam_user.dev", values={"name": "dev", "path": "/", "permissions_boundary": None},
               unknown={"arn": True, "id": True, "unique_id": True}, expressions={"name": const("dev")})
    group = Res("aws_iam_group.ops", values={"name": "ops", "path": "/"}, unknown={"arn": True, "id": True},
                expressions={"name": const("ops")})
    membership = Res("aws_iam_group_membership.ops", values={"name": "ops", "group": "ops", "users": ["dev"]},
                     unknown={"id": True},
                     expressions={"group": ref("aws_iam_group.ops.name"), "users": ref("aws_iam_user.dev.name")})
    inline = Res("aws_iam_group_policy.deploy", values={
        "name": "deploy", "group": "ops",
        "policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "lambda:UpdateFunctionCode",
                                             "Resource": "*"}]})},
        unknown={"id": True}, expressions={"group": ref("aws_iam_group.ops.name")})
    inventory = inventory_of(write(tmp_path / "plan.json", plan([user, group, membership, inline])))
    [dev], [ops] = inventory.users, inventory.groups
    assert ops.members == [ResourceRef("plan.json#aws_iam_user.dev")]
    assert dev.groups == [ResourceRef("plan.json#aws_iam_group.ops")]
    assert policies(ops) == [("deploy", "inline")]


# ---------------------------------------------------------------- resource matching
def _function(name: str | Unresolved | None, key: str = "t.yaml#Orders") -> Function:
    return Function(key=key, id=key.rsplit("#", 1)[-1], type="AWS::Lambda::Function", location=Location("t.yaml"),
                    name=name)


@pytest.mark.parametrize(("pattern", "name", "covered"), [
    ("*", None, True),
    ("Orders.Arn", None, True),  # !GetAtt Orders.Arn, as effective permissions show references
    ("Orders", None, True),
    ("OrdersTwo.Arn", None, False),
    ("arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:function:${Orders}", None, True),
    ("arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:function:${Billing}", "orders", False),
    ("arn:aws:lambda:eu-west-1:123456789012:function:orders", "orders", True),
    ("arn:aws:lambda:*:*:function:ord*", "orders", True),
    ("arn:aws:lambda:*:*:function:order?", "orders", True),
    ("arn:aws:lambda:*:*:function:Orders", "orders", False),  # ARNs are case-sensitive
    ("arn:aws:lambda:*:*:function:orders:*", "orders", False),  # qualified versions only
    ("arn:aws:lambda:*:*:function:billing", "orders", False),
    ("arn:aws:lambda:*", "orders", True),
    ("arn:aws:lambda:*:*:function:*", None, True),
    ("arn:aws:lambda:*:*:function:orders-*", None, False),  # the generated name is not known
    ("arn:aws:s3:::orders", "orders", False),
    ("arn:aws:*:*:*:function:orders", "orders", True),
    ("<unresolved var.function_arn>", "orders", False),
])
def test_grant_resource_covers_the_function(pattern: str, name: str | None, covered: bool) -> None:
    fn = _function(name)
    resource = f"function:{name if name else chr(0)}"
    assert resource_covers(pattern, fn, "lambda", resource) is covered


# ---------------------------------------------------------------- who else: IAM014 / IAM015
def test_iam014_names_each_principal_and_its_actions() -> None:
    report = scan(FIXTURES / "IAM014.fail.yaml", "IAM014")
    assert findings(report, "IAM014") == [
        ("Auditor", "Function", "high", ["lambda:AddPermission"]),
        ("FailDeveloper", "Function", "high", ["lambda:UpdateFunctionCode"]),
        ("FailOperators", "Function", "high", ["lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration"]),
        # Only CodeBuild may assume it: the deployment pipeline, medium.
        ("FailPipelineRole", "Function", "medium", ["iam:PassRole + lambda:CreateFunction"]),
    ]
    operators = next(f for f in report.findings if f.resource_id == "FailOperators")
    assert operators.evidence["members"] == ["alice", "bob"]
    assert operators.message.startswith("Group FailOperators (members: alice, bob) can change function Function: "
                                        "lambda:UpdateFunctionCode, lambda:UpdateFunctionConfiguration (policy tune)")
    auditor = next(f for f in report.findings if f.resource_id == "Auditor")
    assert auditor.location.path == ("Resources", "FailGrantPolicy")  # the managed policy that grants it


def test_iam014_user_reported_only_for_what_its_groups_do_not_hold(tmp_path: Path) -> None:
    """A user inheriting the group's permission is named in the group's finding; a combination split
    between the user and a group (PassRole here, CreateFunction there) is the user's own finding."""
    path = tmp_path / "split.yaml"
    path.write_text(_template({
        "Deployers": {"Type": "AWS::IAM::Group", "Properties": {"Policies": [_policy("lambda:CreateFunction")]}},
        "Inherits": {"Type": "AWS::IAM::User", "Properties": {"Groups": [{"Ref": "Deployers"}]}},
        "Combines": {"Type": "AWS::IAM::User", "Properties": {
            "Groups": [{"Ref": "Deployers"}],
            "Policies": [_policy("iam:PassRole", {"Fn::GetAtt": "FunctionRole.Arn"})]}},
        "Updaters": {"Type": "AWS::IAM::Group", "Properties": {"Policies": [_policy("lambda:UpdateFunctionCode")]}},
        "Member": {"Type": "AWS::IAM::User", "Properties": {
            "Groups": [{"Ref": "Updaters"}], "Policies": [_policy("lambda:UpdateFunctionCode")]}},
    }))
    report = scan(path, "IAM014")
    assert findings(report, "IAM014") == [
        ("Combines", "Function", "high", ["iam:PassRole + lambda:CreateFunction"]),
        ("Updaters", "Function", "high", ["lambda:UpdateFunctionCode"]),
    ]
    updaters = next(f for f in report.findings if f.resource_id == "Updaters")
    assert updaters.evidence["members"] == ["Member"]


def test_iam014_lateral_movement_from_another_function_role(tmp_path: Path) -> None:
    """Another function's execution role that may update this function is reported (high: Lambda assumes it),
    never a function's own role."""
    path = tmp_path / "lateral.yaml"
    path.write_text(_template({
        "Other": _lambda("OtherRole", name="other"),
        "OtherRole": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": TRUST, "Policies": [_policy("lambda:UpdateFunctionCode")]}},
    }, role_policies=[_policy("lambda:UpdateFunctionCode")]))
    report = scan(path, "IAM014")
    assert findings(report, "IAM014") == [("FunctionRole", "Other", "high", ["lambda:UpdateFunctionCode"]),
                                          ("OtherRole", "Function", "high", ["lambda:UpdateFunctionCode"])]


def test_iam015_severity_follows_the_environment() -> None:
    report = scan(FIXTURES / "IAM015.fail.yaml", "IAM015")
    assert findings(report, "IAM015") == [
        ("FailAuditors", "Function", "high", ["lambda:GetFunction", "lambda:GetFunctionConfiguration"]),
        ("FailAuditors", "ReportsFunction", "low", ["lambda:GetFunction", "lambda:GetFunctionConfiguration"]),
        ("FailSupport", "Function", "high", ["lambda:GetFunctionConfiguration"]),
    ]
    support = next(f for f in report.findings if f.resource_id == "FailSupport")
    assert support.evidence["secret_variables"] == ["DB_PASSWORD", "PARTNER_API_KEY"]
    assert "Tr0ub4dor" not in support.message
    auditors = next(f for f in report.findings if f.functions == ["ReportsFunction"])
    assert auditors.evidence["members"] == ["Carol"]
    assert "none of which looks like a secret" in auditors.message


# ---------------------------------------------------------------- entry points, reach, priority
def _policy(action: str, resource: Any = "*", effect: str = "Allow") -> dict[str, Any]:
    return {"PolicyName": action.replace(":", "-").replace("*", "all"),
            "PolicyDocument": {"Statement": [{"Effect": effect, "Action": action, "Resource": resource}]}}


def _lambda(role: str, name: str | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {"Runtime": "python3.13", "Handler": "index.handler",
                                  "Role": {"Fn::GetAtt": f"{role}.Arn"}, "Code": {"ZipFile": "x = 1"}}
    if name:
        properties["FunctionName"] = name
    return {"Type": "AWS::Lambda::Function", "Properties": properties}


def _role(*statements: dict[str, Any], managed: list[str] | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {"AssumeRolePolicyDocument": TRUST, "Policies": list(statements)}
    if managed:
        properties["ManagedPolicyArns"] = managed
    return {"Type": "AWS::IAM::Role", "Properties": properties}


def _template(resources: dict[str, Any], role_policies: list[dict[str, Any]] | None = None) -> str:
    """A template with `Function` (name orders, role FunctionRole) plus the given resources, as JSON."""
    body = {"Function": _lambda("FunctionRole", name="orders"), "FunctionRole": _role(*(role_policies or [])),
            **resources}
    return json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": body}, indent=1)


PRIORITY_RESOURCES: dict[str, Any] = {
    # Public URL + administrator role: critical, 4 * 5 = 20.
    "UrlAdmin": _lambda("AdminRole"),
    "UrlAdminUrl": {"Type": "AWS::Lambda::Url", "Properties": {
        "TargetFunctionArn": {"Fn::GetAtt": "UrlAdmin.Arn"}, "AuthType": "NONE"}},
    "UrlAdminPermission": {"Type": "AWS::Lambda::Permission", "Properties": {
        "FunctionName": {"Ref": "UrlAdmin"}, "Action": "lambda:InvokeFunctionUrl", "Principal": "*",
        "FunctionUrlAuthType": "NONE"}},
    "AdminRole": _role(managed=["arn:aws:iam::aws:policy/AdministratorAccess"]),
    # Service permission without source + reads every secret: critical, 3 * 4 = 12.
    "TopicSecrets": _lambda("SecretsRole"),
    "TopicPermission": {"Type": "AWS::Lambda::Permission", "Properties": {
        "FunctionName": {"Ref": "TopicSecrets"}, "Action": "lambda:InvokeFunction", "Principal": "sns.amazonaws.com"}},
    "SecretsRole": _role(_policy("secretsmanager:GetSecretValue")),
    # Internal administrator: high, 1 * 5 = 5.
    "InternalAdmin": _lambda("AdminRole"),
    # Public permission + writes every bucket: high, 4 * 3 = 12.
    "PublicWriter": _lambda("WriterRole"),
    "PublicPermission": {"Type": "AWS::Lambda::Permission", "Properties": {
        "FunctionName": {"Ref": "PublicWriter"}, "Action": "lambda:InvokeFunction", "Principal": "*"}},
    "WriterRole": _role(_policy("s3:PutObject")),
    # Public permission restricted by SourceArn, basic role: low, 1 * 2 = 2.
    "Restricted": _lambda("BasicRole"),
    "RestrictedPermission": {"Type": "AWS::Lambda::Permission", "Properties": {
        "FunctionName": {"Ref": "Restricted"}, "Action": "lambda:InvokeFunction", "Principal": "*",
        "SourceArn": "arn:aws:execute-api:eu-west-1:123456789012:abc123/*"}},
    "BasicRole": _role(managed=["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]),
    # Role outside the template behind a public URL: medium, 4 * 2 = 8.
    "Elsewhere": {"Type": "AWS::Lambda::Function", "Properties": {
        "Runtime": "python3.13", "Handler": "index.handler", "Code": {"ZipFile": "x = 1"},
        "Role": "arn:aws:iam::123456789012:role/shared"}},
    "ElsewhereUrl": {"Type": "AWS::Lambda::Url", "Properties": {
        "TargetFunctionArn": {"Fn::GetAtt": "Elsewhere.Arn"}, "AuthType": "NONE"}},
}


@pytest.fixture
def priority_template(tmp_path: Path) -> Path:
    path = tmp_path / "paths.json"
    path.write_text(json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": PRIORITY_RESOURCES}))
    return path


def test_priorities_rank_exposure_with_reach(priority_template: Path) -> None:
    found = ranked(priorities(inventory_of(priority_template)))
    assert [(p.function_id, p.level.label, p.score, p.exposure, p.reach.blast_radius) for p in found] == [
        ("UrlAdmin", "critical", 20, 3, "admin"),
        ("TopicSecrets", "critical", 12, 2, "read-all-data"),
        ("PublicWriter", "high", 12, 3, "write-any"),
        ("InternalAdmin", "high", 5, 0, "admin"),
        ("Elsewhere", "medium", 8, 3, "unknown"),
        ("Restricted", "low", 2, 0, "limited"),
    ]
    by_function = {p.function_id: p for p in found}
    # The URL's own public permission is part of the URL entry point, not a second one.
    assert [(e.kind, e.resource_id) for e in by_function["UrlAdmin"].entry_points] == [("function-url", "UrlAdminUrl")]
    assert [(e.kind, e.resource_id) for e in by_function["TopicSecrets"].entry_points] == [
        ("unpinned-service-permission", "TopicPermission")]
    assert by_function["TopicSecrets"].reach.read_all == ("secretsmanager:GetSecretValue",)
    assert by_function["PublicWriter"].reach.write_all == ("s3:PutObject",)
    assert by_function["Restricted"].entry_points == ()


def test_entry_points_of_api_routes(tmp_path: Path) -> None:
    inventory = inventory_of(FIXTURES / "IAM016-sam.fail.yaml")
    [(key, [entry])] = entry_points(inventory).items()
    assert key.endswith("#FailApiFunction")
    assert (entry.kind, entry.exposure, entry.description) == (
        "open-api-route", 2, "API route GET /orders of ServerlessHttpApi without authorization")


@pytest.mark.parametrize(("exposure", "reach", "level"), [
    (3, 4, Severity.CRITICAL), (2, 3, Severity.CRITICAL), (0, 4, Severity.HIGH), (2, 2, Severity.HIGH),
    (3, 1, Severity.MEDIUM), (0, 2, Severity.MEDIUM), (0, 1, Severity.LOW),
])
def test_priority_levels(exposure: int, reach: int, level: Severity) -> None:
    assert level_of(exposure, reach) is level


def test_iam016_names_the_entry_point_and_the_reach(priority_template: Path) -> None:
    report = scan(priority_template, "IAM016")
    assert [(f.resource_id, f.confidence.label) for f in report.findings] == [("UrlAdmin", "high"),
                                                                             ("TopicSecrets", "medium")]
    assert report.findings[0].message == (
        "Function UrlAdmin can be invoked from outside the account through function URL UrlAdminUrl with AuthType "
        "NONE, and its execution role AdminRole allows administrator access to the account: a bug in its code "
        "gives the caller that access.")


def test_findings_and_table_sorted_by_function_priority(priority_template: Path) -> None:
    report = scan(priority_template, "EXP001", "EXP003", "EXP004", "IAM001")
    order = [(f.rule_id, f.functions) for f in report.findings]
    # UrlAdmin (critical 20) first; IAM001 on AdminRole affects UrlAdmin and InternalAdmin: the higher counts.
    assert order[0][1] in (["UrlAdmin"], ["InternalAdmin", "UrlAdmin"])
    ranks = [f.priority.rank if f.priority else (-1, 0) for f in report.findings]
    assert ranks == sorted(ranks, reverse=True)
    assert [f.functions for f in report.findings if f.rule_id == "EXP001"] == [["UrlAdmin"], ["Elsewhere"]]
    table = render("table", report, [], width=200)
    headings = [line.strip() for line in table.splitlines() if line.startswith("function")]
    assert headings[0] == "function UrlAdmin · attack-path priority critical (score 20)"
    assert headings.index("function TopicSecrets · attack-path priority critical (score 12)") < headings.index(
        "function Elsewhere · attack-path priority medium (score 8)")


def test_json_lists_every_function_priority(priority_template: Path) -> None:
    report = scan(priority_template, "EXP001")
    document = json.loads(render("json", report, []))
    assert [(f["id"], f["priority"], f["score"]) for f in document["functions"]] == [
        ("UrlAdmin", "critical", 20), ("TopicSecrets", "critical", 12), ("PublicWriter", "high", 12),
        ("InternalAdmin", "high", 5), ("Elsewhere", "medium", 8), ("Restricted", "low", 2)]
    first = document["functions"][0]
    assert first["entry_points"] == [{
        "kind": "function-url", "resource": "UrlAdminUrl", "description": "function URL UrlAdminUrl with AuthType NONE",
        "exposure": 3,
        "location": {"file": "paths.json", "line": 1, "column": None,
                     "path": "Resources/UrlAdminUrl/Properties/AuthType"},
    }]
    assert first["reach"] == {"blast_radius": "admin", "level": 4, "role": "AdminRole", "escalation": [],
                              "read_all": [], "write_all": []}
    assert [(f["functions"], f["priority"]) for f in document["findings"]] == [
        (["UrlAdmin"], {"level": "critical", "score": 20}), (["Elsewhere"], {"level": "medium", "score": 8})]


def test_escalation_makes_an_exposed_function_critical(tmp_path: Path) -> None:
    """A role that may add an inline policy to itself reaches administrator access: IAM009's method counts."""
    path = tmp_path / "escalate.json"
    path.write_text(_template({
        "OpenPermission": {"Type": "AWS::Lambda::Permission", "Properties": {
            "FunctionName": {"Ref": "Function"}, "Action": "lambda:InvokeFunction",
            "Principal": "events.amazonaws.com"}},
    }, role_policies=[_policy("iam:PutRolePolicy")]))
    [priority] = priorities(inventory_of(path)).values()
    assert (priority.level, priority.score, priority.reach.blast_radius) == (Severity.CRITICAL, 15, "escalation")
    assert priority.reach.escalation == ("Add an inline policy to the role",)
    [finding] = scan(path, "IAM016").findings
    assert finding.message == (
        "Function Function can be invoked from outside the account through permission OpenPermission letting "
        "events.amazonaws.com invoke it for any account's resources, and its execution role FunctionRole allows "
        "privilege escalation (Add an inline policy to the role): a bug in its code gives the caller that access.")
    assert finding.confidence.label == "medium"


def test_admin_shortcut_is_sound_for_the_catalogue() -> None:
    """is_admin skips roles with fewer grants than MIN_ADMIN_GRANTS: sound only while the catalogue is larger."""
    from lambdasec.analysis.attack_paths import ADMIN_SHARE, MIN_ADMIN_GRANTS
    from lambdasec.iam.catalogue import catalogue

    assert ADMIN_SHARE * len(catalogue().expand("*")) > MIN_ADMIN_GRANTS


def _functions_and_a_wildcard_user(count: int) -> str:
    functions = "".join(f"""\
  Fn{i:02d}:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.13
      Handler: index.handler
      Role: arn:aws:iam::123456789012:role/app
      Code: {{S3Bucket: b, S3Key: k}}
      Environment: {{Variables: {{STAGE: prod}}}}
""" for i in range(count))
    return f"""\
Resources:
  Operator:
    Type: AWS::IAM::User
    Properties:
      Policies:
        - PolicyName: operate
          PolicyDocument:
            Statement:
              - {{Effect: Allow, Action: [lambda:UpdateFunctionCode, lambda:GetFunctionConfiguration], Resource: "*"}}
{functions}"""


@pytest.mark.parametrize("count", [9, 12])
def test_a_principal_reaching_many_functions_the_same_way_is_one_finding(tmp_path: Path, count: int) -> None:
    """One finding per (principal, function) up to GROUP_AT functions reached through the same grants; from there
    one finding naming them all: output (and memory) grows with the functions, not with principals x functions."""
    from lambdasec.rules.attack_paths import GROUP_AT

    assert GROUP_AT == 10
    (tmp_path / "t.yaml").write_text(_functions_and_a_wildcard_user(count))
    report = scan(tmp_path / "t.yaml", "IAM014", "IAM015")
    names = [f"Fn{i:02d}" for i in range(count)]
    for code in ("IAM014", "IAM015"):
        found = [f for f in report.findings if f.rule_id == code]
        if count < GROUP_AT:
            assert sorted(f.functions[0] for f in found) == names
            continue
        [finding] = found
        assert finding.functions == names and finding.evidence["function_count"] == count
        assert finding.resource_id == "Operator"
    [changed] = [f for f in report.findings if f.rule_id == "IAM014"] if count >= GROUP_AT else [None]
    if changed is not None:
        assert changed.message == (
            f"User Operator can change {count} functions (Fn00, Fn01, Fn02, Fn03, Fn04 and {count - 5} more): "
            "lambda:UpdateFunctionCode (policy operate): whoever holds its credentials can run their own code "
            "with the functions' execution roles, outside the functions' deployment pipeline.")
        [read] = [f for f in report.findings if f.rule_id == "IAM015"]
        assert read.severity == Severity.LOW  # no secret in their environments
