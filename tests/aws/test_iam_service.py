"""IAM of a live account (moto): roles, users and groups normalized like the CloudFormation collector's, with the
account's own managed policy documents, and the identity rules judging them."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from lambdasec.collectors.aws.api import Api, RateLimiter, Scope
from lambdasec.collectors.aws.iam_service import OPERATIONS, _Reader, collect_iam, decode_document
from lambdasec.engine import ScanSettings, evaluate
from lambdasec.iam.effective import effective_permissions
from lambdasec.iam.policy import parse_document
from lambdasec.model.inventory import Function, Group, Inventory, Policy, Role, User
from lambdasec.model.location import Location
from lambdasec.model.values import ResourceRef, Unresolved
from lambdasec.rules.registry import all_rules

from ..conftest import FIXTURE_CLOCK
from .conftest import ACCOUNT, Emulator

LAMBDA_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
WIDE_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}]}
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
READ_BUCKET = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/*"}]}
LOGS = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}]}

ADMIN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/AdminFn"
WIDE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/app/WideTrust"
MANAGED = f"arn:aws:iam::{ACCOUNT}:policy/read-bucket"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
GROUP = f"arn:aws:iam::{ACCOUNT}:group/devs"


def _seed(aws: Emulator) -> None:
    iam = aws.client("iam")
    iam.create_role(RoleName="AdminFn", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    iam.put_role_policy(RoleName="AdminFn", PolicyName="admin", PolicyDocument=json.dumps(ADMIN))
    iam.create_role(RoleName="WideTrust", Path="/app/", AssumeRolePolicyDocument=json.dumps(WIDE_TRUST))
    iam.create_policy(PolicyName="read-bucket", PolicyDocument=json.dumps(READ_BUCKET))
    iam.attach_role_policy(RoleName="WideTrust", PolicyArn=MANAGED)
    iam.put_role_policy(RoleName="WideTrust", PolicyName="logs", PolicyDocument=json.dumps(LOGS))
    iam.put_role_permissions_boundary(RoleName="WideTrust", PermissionsBoundary=MANAGED)
    iam.create_group(GroupName="devs")
    iam.put_group_policy(GroupName="devs", PolicyName="devs-logs", PolicyDocument=json.dumps(LOGS))
    iam.create_user(UserName="alice")
    iam.add_user_to_group(GroupName="devs", UserName="alice")
    iam.attach_user_policy(UserName="alice", PolicyArn=MANAGED)


def _collect(api: Api) -> Inventory:
    inventory = Inventory()
    collect_iam(api, inventory, None)
    return inventory


def test_roles_users_and_groups_are_normalized_with_the_accounts_documents(aws: Emulator) -> None:
    _seed(aws)
    log: list[tuple[str, str]] = []
    api = aws.api(request_log=log)
    inventory = _collect(api)

    assert api.gaps == [] and api.ok("iam")
    assert set(log) == set(OPERATIONS)
    assert len(log) == 4  # one page per entity type: roles, users, groups, managed policies
    assert inventory.roles == [
        Role(key=ADMIN_ROLE, id=ADMIN_ROLE, type="AWS::IAM::Role", location=Location(arn=ADMIN_ROLE), name="AdminFn",
             trust_policy=parse_document(LAMBDA_TRUST),
             policies=[Policy("admin", "inline", parse_document(ADMIN),
                              Location(arn=ADMIN_ROLE, path=("RolePolicyList", "admin")))]),
        Role(key=WIDE_ROLE, id=WIDE_ROLE, type="AWS::IAM::Role", location=Location(arn=WIDE_ROLE), name="WideTrust",
             trust_policy=parse_document(WIDE_TRUST), permissions_boundary=MANAGED,
             boundary_policy=Policy("read-bucket", "customer-managed", parse_document(READ_BUCKET),
                                    Location(arn=WIDE_ROLE, path=("PermissionsBoundary", MANAGED)), arn=MANAGED),
             policies=[Policy("logs", "inline", parse_document(LOGS),
                              Location(arn=WIDE_ROLE, path=("RolePolicyList", "logs"))),
                       Policy("read-bucket", "customer-managed", parse_document(READ_BUCKET),
                              Location(arn=WIDE_ROLE, path=("AttachedManagedPolicies", MANAGED)), arn=MANAGED)]),
    ]
    assert inventory.users == [
        User(key=USER, id=USER, type="AWS::IAM::User", location=Location(arn=USER), name="alice",
             policies=[Policy("read-bucket", "customer-managed", parse_document(READ_BUCKET),
                              Location(arn=USER, path=("AttachedManagedPolicies", MANAGED)), arn=MANAGED)],
             groups=[ResourceRef(GROUP)]),
    ]
    assert inventory.groups == [
        Group(key=GROUP, id=GROUP, type="AWS::IAM::Group", location=Location(arn=GROUP), name="devs",
              policies=[Policy("devs-logs", "inline", parse_document(LOGS),
                               Location(arn=GROUP, path=("GroupPolicyList", "devs-logs")))],
              members=[ResourceRef(USER)]),
    ]
    # The customer managed boundary is found among the inventory's documents: the grants are capped by it.
    wide = inventory.roles[1]
    granted = effective_permissions(wide, inventory)
    assert granted.unresolved == []
    assert granted.allows("s3:GetObject", "arn:aws:s3:::data/report.csv")
    assert not granted.allows("logs:PutLogEvents")  # granted inline, but outside the boundary


def test_identity_rules_judge_live_roles(aws: Emulator) -> None:
    _seed(aws)
    inventory = _collect(aws.api())
    for name, role in (("admin-fn", ADMIN_ROLE), ("wide-fn", WIDE_ROLE)):
        arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"
        inventory.add(inventory.functions, Function(
            key=arn, id=arn, type="AWS::Lambda::Function", location=Location(arn=arn, region="us-east-1"),
            name=name, runtime="python3.12", handler="app.handler", role=ResourceRef(role, "Arn")))
    report = evaluate(inventory, all_rules(), ScanSettings(now=FIXTURE_CLOCK))
    iam = {(f.rule_id, f.resource_id) for f in report.findings if f.rule_id.startswith("IAM")}
    assert ("IAM001", ADMIN_ROLE) in iam  # Action * on Resource *
    assert ("IAM006", WIDE_ROLE) in iam  # account 111122223333 may assume it
    assert ("IAM001", WIDE_ROLE) not in iam and ("IAM006", ADMIN_ROLE) not in iam


def test_aws_managed_policies_carry_the_accounts_own_documents(aws: Emulator,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """moto holds AWS managed policies only when MOTO_IAM_LOAD_MANAGED_POLICIES is set when its IAM backend is
    built: the server runs in this process, so set it and reset the emulator (the fixture's reset of the next test
    drops them again)."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    _reset(aws)
    iam = aws.client("iam")
    iam.create_role(RoleName="Ops", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    iam.attach_role_policy(RoleName="Ops", PolicyArn=admin)
    inventory = _collect(aws.api())
    [role] = inventory.roles
    assert role.policies == [Policy("AdministratorAccess", "aws-managed", parse_document(ADMIN),
                                    Location(arn=role.key, path=("AttachedManagedPolicies", admin)), arn=admin)]
    fn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:ops"
    inventory.add(inventory.functions, Function(key=fn, id=fn, type="AWS::Lambda::Function",
                                                location=Location(arn=fn), name="ops", role=ResourceRef(role.key)))
    report = evaluate(inventory, all_rules(), ScanSettings(now=FIXTURE_CLOCK))
    assert ("IAM001", role.key) in {(f.rule_id, f.resource_id) for f in report.findings}


def _reset(aws: Emulator) -> None:
    import urllib.request

    request = urllib.request.Request(f"{aws.endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # loopback only
        assert response.status == 200


def test_unreadable_managed_documents_fall_back_to_the_catalogue_or_stay_unresolved(aws: Emulator) -> None:
    """The policies page fails (AccessDenied injected by a botocore before-call handler on the scope's session):
    principals are still emitted; an AWS managed document comes from the catalogue, a customer one is unresolved."""
    from botocore.awsrequest import AWSResponse

    _seed(aws)
    session = aws.session()

    def deny_policies(params: dict[str, Any], **_: Any) -> Any:
        if "LocalManagedPolicy" in str(params.get("body")):
            return AWSResponse(params["url"], 403, {}, None), {"Error": {"Code": "AccessDenied", "Message": "no"}}
        return None

    session.events.register("before-call.iam.GetAccountAuthorizationDetails", deny_policies)
    api = Api(Scope(ACCOUNT, "us-east-1", session, aws.endpoint), limiter=RateLimiter(default=0, rates={}))
    api.settings.max_attempts = 1
    inventory = _collect(api)
    assert [gap.kind for gap in api.gaps] == ["access-denied"] and not api.ok("iam")
    wide = inventory.resolve(WIDE_ROLE, Role)
    assert wide is not None
    assert wide.policies[1].document == Unresolved(MANAGED, "the account's managed policies could not be read")
    assert len(inventory.roles) == 2 and len(inventory.users) == 1 and len(inventory.groups) == 1
    # An AWS managed policy whose document the account did not give: lambdasec's catalogue has it.
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    assert _Reader(None).managed_document(admin) == parse_document(ADMIN)


def test_a_failed_listing_emits_nothing_of_that_kind(aws: Emulator) -> None:
    scope = Scope(ACCOUNT, "us-east-1", aws.session(), "http://127.0.0.1:9")  # nothing listens there
    api = Api(scope, limiter=RateLimiter(default=0, rates={}))
    api.settings.max_attempts = 1
    api.settings.connect_timeout = 1
    inventory = _collect(api)
    assert inventory.roles == [] and inventory.users == [] and inventory.groups == []
    assert {gap.kind for gap in api.gaps} == {"unreachable"} and not api.ok("iam")


def test_documents_arrive_as_dicts_json_or_url_encoded_json() -> None:
    expected = parse_document(LAMBDA_TRUST)
    assert decode_document(LAMBDA_TRUST) == expected
    assert decode_document(json.dumps(LAMBDA_TRUST)) == expected
    assert decode_document(quote(json.dumps(LAMBDA_TRUST))) == expected
    assert isinstance(decode_document("%7Bnot json"), Unresolved)


def test_a_boundary_attached_to_nothing_else_caps_the_role_with_its_own_document(aws: Emulator) -> None:
    iam = aws.client("iam")
    iam.create_role(RoleName="Bounded", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    iam.put_role_policy(RoleName="Bounded", PolicyName="admin", PolicyDocument=json.dumps(ADMIN))
    iam.create_policy(PolicyName="boundary-only", PolicyDocument=json.dumps(READ_BUCKET))
    boundary = f"arn:aws:iam::{ACCOUNT}:policy/boundary-only"
    iam.put_role_permissions_boundary(RoleName="Bounded", PermissionsBoundary=boundary)
    [role] = _collect(aws.api()).roles
    assert role.boundary_policy is not None and role.boundary_policy.document == parse_document(READ_BUCKET)
    granted = effective_permissions(role, Inventory(roles=[role]))
    assert granted.actions(include_conditional=True) == frozenset({"s3:GetObject"})
