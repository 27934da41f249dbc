"""Identity rules: what a function's execution role may do, and who else may become it.

The statements considered are the Allow statements of the role's policies whose document is known
(inline, customer managed in the template, AWS managed from lambdasec's catalogue). Deny statements
are not subtracted: a finding says what a policy grants, which a Deny elsewhere may narrow. A statement
with conditions still counts, with a lower confidence. A resource that is a reference or not known
statically counts as a specific resource, never as ``*``. A role whose permissions boundary is set
also gets a lower confidence: the boundary (not evaluated here) may cap what the policies grant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping

from lambdasec.fast_dataclass import dataclass

from ..iam.actions import (
    PERMISSIONS,
    WRITE,
    action_matches,
    classify_access,
    is_allow,
    is_full_admin,
    most_consequential,
    on_any_resource,
    service_wildcard_actions,
    service_wildcards,
    statement_covers,
)
from ..iam.blast_radius import infrastructure_only
from ..model.findings import Confidence, Severity
from ..model.inventory import Inventory, Policy, PolicyDocument, PolicyStatement, Role
from ..model.values import Unresolved, Value
from .base import Context, Outcome, Rule, not_found_where, unlisted_function_scopes

CATEGORY = "identity"

_LAMBDA_SERVICES = frozenset({"lambda.amazonaws.com", "edgelambda.amazonaws.com"})  # edge: Lambda@Edge
_ASSUME_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML")
_LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
_ADMIN_MANAGED = {"AdministratorAccess": "full", "PowerUserAccess": "near"}

# Actions that AWS's own Lambda policies (AWSLambdaBasicExecutionRole, AWSLambdaVPCAccessExecutionRole,
# AWSXRayDaemonWriteAccess, SAM's VPCAccessPolicy...) grant on "*": most support no resource-level
# scoping at all (X-Ray segments, metrics, network interfaces created for VPC functions), and the logs
# ones are what every function needs to write its logs. Flagging them would flag every function, and
# hide real findings.
_ANY_RESOURCE_BY_DESIGN = frozenset({
    "xray:puttracesegments", "xray:puttelemetryrecords",
    "cloudwatch:putmetricdata",
    "logs:createloggroup", "logs:createlogstream", "logs:putlogevents",
    "ec2:createnetworkinterface", "ec2:deletenetworkinterface", "ec2:describenetworkinterfaces",
    "ec2:detachnetworkinterface",  # SAM's VPCAccessPolicy template
    "ec2:assignprivateipaddresses", "ec2:unassignprivateipaddresses",
    "kms:generaterandom",
})

# AWS managed policies made for Lambda event source mappings: Lambda polls the queue or stream with the
# function's role, and SAM attaches them by itself for SQS, Kinesis, DynamoDB and MSK events. Their
# resource "*" is AWS's design, which a template author cannot scope without replacing the policy.
_LAMBDA_POLLER_POLICIES = frozenset({
    "AWSLambdaSQSQueueExecutionRole", "AWSLambdaKinesisExecutionRole", "AWSLambdaDynamoDBExecutionRole",
    "AWSLambdaMSKExecutionRole",
})

_ROLE_WILDCARD_ARN = re.compile(r"arn:[^:]+:iam::[^:]*:role/\*+", re.IGNORECASE)
_MAX_LISTED = 6


# ---------------------------------------------------------------- shared helpers
@dataclass(frozen=True)
class _Grant:
    """One policy statement (or managed policy) granting what a rule looks for."""

    policy: Policy
    detail: str
    conditional: bool = False


def _execution_roles(inventory: Inventory) -> list[Role]:
    """Roles used by a function of the inventory, or that Lambda may assume (function in another stack)."""
    used = {role.key for fn in inventory.functions if (role := inventory.role_of(fn)) is not None}
    return [role for role in inventory.roles if role.key in used or _trusts_lambda(role)]


def _trust_statements(role: Role) -> list[PolicyStatement]:
    if not isinstance(role.trust_policy, PolicyDocument):
        return []
    return [
        st for st in role.trust_policy.statements
        if is_allow(st) and any(statement_covers(st, action) for action in _ASSUME_ACTIONS)
    ]


def _trusts_lambda(role: Role) -> bool:
    for statement in _trust_statements(role):
        services = _principal_values(statement.principals, "service")
        if any(isinstance(s, str) and s.strip().lower() in _LAMBDA_SERVICES for s in services):
            return True
    return False


def _principal_values(principals: Mapping[str, list[Value]], kind: str) -> list[Value]:
    return [value for key, values in principals.items() if key.lower() == kind for value in values]


def _allow_statements(policy: Policy) -> list[PolicyStatement]:
    if not isinstance(policy.document, PolicyDocument):
        return []
    return [st for st in policy.document.statements if is_allow(st)]


def _admin_managed(policy: Policy) -> str | None:
    """"AdministratorAccess" / "PowerUserAccess" when the policy is that AWS managed policy."""
    if policy.kind != "aws-managed":
        return None
    name = _managed_name(policy)
    return name if name in _ADMIN_MANAGED else None


def _managed_name(policy: Policy) -> str:
    return (policy.arn or policy.name).rsplit("/", 1)[-1]


def _confidence(rule: Rule, role: Role, grants: Iterable[_Grant]) -> Confidence:
    """The rule's confidence, lowered to MEDIUM when every grant is conditional or a boundary may cap it."""
    reduced = all(grant.conditional for grant in grants) or role.permissions_boundary is not None
    return min(rule.confidence, Confidence.MEDIUM) if reduced else rule.confidence


def _first(grants: list[_Grant]) -> _Grant:
    """The grant to point at: an unconditional one when there is one."""
    return next((grant for grant in grants if not grant.conditional), grants[0])


def _policy_names(grants: Iterable[_Grant]) -> list[str]:
    return sorted({_label(grant.policy) for grant in grants})


def _label(policy: Policy) -> str:
    return policy.arn or policy.name


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    return f"{shown} and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else shown


def _where(grants: list[_Grant]) -> str:
    names = _policy_names(grants)
    return f"policy {names[0]}" if len(names) == 1 else f"policies {_listing(names)}"


# ---------------------------------------------------------------- IAM001
def _admin_grants(role: Role) -> list[_Grant]:
    grants: list[_Grant] = []
    for policy in role.policies:
        managed = _admin_managed(policy)
        if managed is not None:
            grants.append(_Grant(policy, managed))
            continue
        for statement in _allow_statements(policy):
            if is_full_admin(statement):
                grants.append(_Grant(policy, _admin_detail(statement), bool(statement.conditions)))
    return grants


def _admin_detail(statement: PolicyStatement) -> str:
    if statement.actions:
        return "every action ('*') on every resource"
    return f"every action except {', '.join(statement.not_actions)} (NotAction) on every resource"


def _admin_message(role: Role, grant: _Grant) -> str:
    if grant.detail == "AdministratorAccess":
        return f"Role {role.id} has the AWS managed policy AdministratorAccess: full administrator access"
    if grant.detail == "PowerUserAccess":
        return (
            f"Role {role.id} has the AWS managed policy PowerUserAccess: near-admin (PowerUser) access to "
            "every service except IAM, Organizations and Account management"
        )
    scope = "near-admin" if "NotAction" in grant.detail else "full administrator"
    return f"Role {role.id} allows {grant.detail} through policy {_label(grant.policy)}: {scope} access"


def _check_full_admin(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for role in _execution_roles(inventory):
        grants = _admin_grants(role)
        if not grants:
            continue
        grant = _first(grants)
        yield ROLE_FULL_ADMIN.finding(
            inventory, role, _admin_message(role, grant), location=grant.policy.location,
            confidence=_confidence(ROLE_FULL_ADMIN, role, grants),
            evidence={"policies": _policy_names(grants), "near_admin": grant.detail == "PowerUserAccess"},
        )


ROLE_FULL_ADMIN = Rule(
    code="IAM001",
    slug="role-full-admin",
    title="Execution role has administrator access",
    severity=Severity.CRITICAL,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "A function's code runs with its execution role's permissions, and the role's temporary credentials "
        "are in the function's environment. With administrator access, any code injection, vulnerable "
        "dependency or leaked credential in the function becomes a takeover of the whole AWS account. "
        "PowerUserAccess is almost as broad: it only leaves out IAM, Organizations and Account management."
    ),
    remediation=(
        "Replace the administrator policy with a policy that allows only the actions the function calls, on "
        "the resources it uses (for example dynamodb:GetItem and dynamodb:PutItem on one table). IAM Access "
        "Analyzer can generate such a policy from the role's CloudTrail activity; SAM policy templates "
        "(DynamoDBCrudPolicy, S3ReadPolicy...) give scoped policies for common cases."
    ),
    check=_check_full_admin,
    snippets={
        "cloudformation": (
            "FunctionRole:\n"
            "  Type: AWS::IAM::Role\n"
            "  Properties:\n"
            "    AssumeRolePolicyDocument: {...}\n"
            "    ManagedPolicyArns:\n"
            "      - arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole\n"
            "    Policies:\n"
            "      - PolicyName: orders-table\n"
            "        PolicyDocument:\n"
            "          Version: \"2012-10-17\"\n"
            "          Statement:\n"
            "            - Effect: Allow\n"
            "              Action: [dynamodb:GetItem, dynamodb:PutItem]\n"
            "              Resource: !GetAtt OrdersTable.Arn\n"
        ),
        "sam": (
            "Function:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    Policies:\n"
            "      - DynamoDBCrudPolicy:\n"
            "          TableName: !Ref OrdersTable\n"
        ),
        "terraform": (
            'data "aws_iam_policy_document" "fn" {\n'
            "  statement {\n"
            '    actions   = ["dynamodb:GetItem", "dynamodb:PutItem"]\n'
            "    resources = [aws_dynamodb_table.orders.arn]\n"
            "  }\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-policy-generation.html",
    ),
    anchors={
        "checkov": ("CKV_AWS_62", "CKV_AWS_63"),
        "prowler": (
            "iam_aws_attached_policy_no_administrative_privileges",
            "iam_customer_attached_policy_no_administrative_privileges",
            "iam_inline_policy_no_administrative_privileges",
            "iam_role_administratoraccess_policy",
        ),
        "kics": ("953b3cdb-ce13-428a-aa12-318726506661",),
        "securityhub": ("IAM.1",),
    },
)


# ---------------------------------------------------------------- IAM002
def _check_service_wildcard(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for role in _execution_roles(inventory):
        services: set[str] = set()
        actions: set[str] = set()
        grants: list[_Grant] = []
        for policy in role.policies:
            if _admin_managed(policy) is not None:
                continue  # IAM001 reports it
            for statement in _allow_statements(policy):
                found = [] if is_full_admin(statement) else service_wildcards(statement)
                if found:
                    services.update(found)
                    actions |= service_wildcard_actions(statement)
                    grants.append(_Grant(policy, ", ".join(found), bool(statement.conditions)))
        if not grants:
            continue
        listed = sorted(services)
        sample = most_consequential(actions, _MAX_LISTED)
        expanded = f"{len(actions)} actions, among them {', '.join(sample)}" if sample else "no known action"
        message = (
            f"Role {role.id} allows every action of a whole service ({_listing(listed)}) through "
            f"{_where(grants)}: {expanded}"
        )
        yield ROLE_SERVICE_WILDCARD.finding(
            inventory, role, message, location=_first(grants).policy.location,
            confidence=_confidence(ROLE_SERVICE_WILDCARD, role, grants),
            evidence={"services": listed, "policies": _policy_names(grants), "action_count": len(actions),
                      "sample_actions": sample},
        )


ROLE_SERVICE_WILDCARD = Rule(
    code="IAM002",
    slug="role-service-wildcard",
    title="Execution role allows every action of a service",
    severity=Severity.HIGH,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "A service-wide wildcard such as s3:* or dynamodb:* grants far more than a function needs: deleting "
        "buckets and tables, changing their policies, reading every object. Whoever controls the function's "
        "code (an injection, a compromised dependency) inherits all of it, and the wildcard silently grows "
        "as AWS adds actions to the service."
    ),
    remediation=(
        "List the actions the function actually calls (for example s3:GetObject and s3:PutObject) instead of "
        "the service wildcard, and scope them to the function's resources. If a family of actions is "
        "needed, a prefixed wildcard such as s3:Get* is narrower than s3:*."
    ),
    check=_check_service_wildcard,
    snippets={
        "cloudformation": (
            "Statement:\n"
            "  - Effect: Allow\n"
            "    Action: [s3:GetObject, s3:PutObject]  # not s3:*\n"
            "    Resource: !Sub \"${UploadsBucket.Arn}/*\"\n"
        ),
        "sam": (
            "Policies:\n"
            "  - S3CrudPolicy:\n"
            "      BucketName: !Ref UploadsBucket\n"
        ),
        "terraform": (
            "statement {\n"
            '  actions   = ["s3:GetObject", "s3:PutObject"] # not s3:*\n'
            '  resources = ["${aws_s3_bucket.uploads.arn}/*"]\n'
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html#iam-21",
    ),
    anchors={
        "checkov": (),
        "prowler": ("iam_policy_no_full_access_to_kms", "iam_policy_no_full_access_to_cloudtrail"),
        "kics": (),
        "securityhub": ("IAM.21",),
    },
    runs_apart=True,  # balances the two halves of a large scan (engine.py)
)


# ---------------------------------------------------------------- IAM003
def _write_on_any_resource(statement: PolicyStatement) -> list[tuple[str, str]]:
    """(action pattern, access level) of the statement's writes that reach every resource."""
    if is_full_admin(statement) or not on_any_resource(statement):
        return []
    found: list[tuple[str, str]] = []
    for pattern in statement.actions:
        normalized = pattern.strip().lower()
        # iam:PassRole on "*" has its own rule (IAM004), which also weighs iam:PassedToService; changes
        # to infrastructure only (ec2:*, cloudformation:Create*...) are IAM013's.
        if normalized in _ANY_RESOURCE_BY_DESIGN or normalized == "iam:passrole" or infrastructure_only(pattern):
            continue
        level = classify_access(pattern)
        if level in (WRITE, PERMISSIONS):
            found.append((pattern.strip(), level))
    return found


def _check_write_any_resource(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for role in _execution_roles(inventory):
        if _admin_grants(role):
            continue  # IAM001 reports the role: every write on "*" is already part of that
        actions: dict[str, tuple[str, str]] = {}
        grants: list[_Grant] = []
        for policy in role.policies:
            if policy.kind == "aws-managed" and _managed_name(policy) in _LAMBDA_POLLER_POLICIES:
                continue
            for statement in _allow_statements(policy):
                found = _write_on_any_resource(statement)
                if found:
                    grants.append(_Grant(policy, "", bool(statement.conditions)))
                    for pattern, level in found:
                        actions.setdefault(pattern.lower(), (pattern, level))
        if not grants:
            continue
        listed = [pattern for pattern, _ in actions.values()]
        permissions = [pattern for pattern, level in actions.values() if level == PERMISSIONS]
        message = (
            f"Role {role.id} allows write actions on every resource ('*') through {_where(grants)}: "
            f"{_listing(listed)}"
        )
        if permissions:
            message += f"; {_listing(permissions)} can change permissions"
        yield ROLE_WRITE_ANY_RESOURCE.finding(
            inventory, role, message, location=_first(grants).policy.location,
            confidence=_confidence(ROLE_WRITE_ANY_RESOURCE, role, grants),
            evidence={
                "actions": listed, "permissions_management": permissions, "policies": _policy_names(grants),
            },
        )


ROLE_WRITE_ANY_RESOURCE = Rule(
    code="IAM003",
    slug="role-write-on-any-resource",
    title="Execution role can write to any resource",
    severity=Severity.HIGH,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "Write and permissions-management actions allowed on Resource '*' reach every table, bucket, queue "
        "or key of the account, not only the function's own. A flaw in the function then lets an attacker "
        "tamper with or destroy unrelated data, or open resource policies to outsiders. The actions "
        "AWS's own Lambda policies grant on '*' (logs, X-Ray, VPC network interfaces, metrics, event source "
        "polling) are not reported, nor are patterns that only change infrastructure (ec2:*, "
        "cloudformation:Create*...): IAM013 role-infrastructure-modification reports those, action by action."
    ),
    remediation=(
        "Replace Resource '*' with the ARNs of the resources the function writes to (a Ref or GetAtt of the "
        "table, bucket or queue in the template). Where the resource name is not known in advance, scope by "
        "ARN prefix or by tag with a condition such as aws:ResourceTag."
    ),
    check=_check_write_any_resource,
    snippets={
        "cloudformation": (
            "Statement:\n"
            "  - Effect: Allow\n"
            "    Action: [sqs:SendMessage]\n"
            "    Resource: !GetAtt JobsQueue.Arn  # not \"*\"\n"
        ),
        "sam": (
            "Policies:\n"
            "  - SQSSendMessagePolicy:\n"
            "      QueueName: !GetAtt JobsQueue.QueueName\n"
        ),
        "terraform": (
            "statement {\n"
            '  actions   = ["sqs:SendMessage"]\n'
            "  resources = [aws_sqs_queue.jobs.arn] # not \"*\"\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html",
        "https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html",
    ),
    anchors={
        "checkov": ("CKV_AWS_111", "CKV_AWS_109"),
        "prowler": (),
        "kics": (),
        "securityhub": (),
    },
    runs_apart=True,  # balances the two halves of a large scan (engine.py)
)


# ---------------------------------------------------------------- IAM004
def _reaches_every_role(statement: PolicyStatement) -> bool:
    if on_any_resource(statement):
        return True
    return any(isinstance(r, str) and _ROLE_WILDCARD_ARN.fullmatch(r.strip()) for r in statement.resources)


def _limits_passed_service(conditions: Mapping[str, object]) -> bool:
    for block in conditions.values():
        if isinstance(block, Mapping) and any(str(key).lower() == "iam:passedtoservice" for key in block):
            return True
    return False


def _passrole_pattern(statement: PolicyStatement) -> str:
    for pattern in statement.actions:
        if action_matches(pattern, "iam:PassRole"):
            return pattern.strip()
    return "NotAction " + ", ".join(statement.not_actions)


def _check_passrole_any(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for role in _execution_roles(inventory):
        if _admin_grants(role):
            continue  # IAM001 reports the role: passing any role is part of administrator access
        grants = [
            _Grant(policy, _passrole_pattern(statement), bool(statement.conditions))
            for policy in role.policies
            for statement in _allow_statements(policy)
            if statement_covers(statement, "iam:PassRole") and _reaches_every_role(statement)
            and not _limits_passed_service(statement.conditions)
        ]
        if not grants:
            continue
        grant = _first(grants)
        via = "" if grant.detail.lower() == "iam:passrole" else f" (via {grant.detail})"
        message = (
            f"Role {role.id} allows iam:PassRole{via} on every role without an iam:PassedToService "
            f"condition, through {_where(grants)}: the function can hand any role, including more "
            "privileged ones, to a service it creates or configures"
        )
        yield ROLE_PASSROLE_ANY.finding(
            inventory, role, message, location=grant.policy.location,
            confidence=_confidence(ROLE_PASSROLE_ANY, role, grants),
            evidence={"actions": sorted({g.detail for g in grants}), "policies": _policy_names(grants)},
        )


ROLE_PASSROLE_ANY = Rule(
    code="IAM004",
    slug="role-passrole-any",
    title="Execution role can pass any IAM role",
    severity=Severity.HIGH,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "iam:PassRole lets a principal give a role to an AWS service, for example when creating a Lambda "
        "function, an EC2 instance or a Glue job. Allowed on every role, it is a classic privilege "
        "escalation path: code running in the function can create a resource that runs with a more "
        "privileged role than its own, and use that role's permissions."
    ),
    remediation=(
        "Scope iam:PassRole to the ARNs of the roles the function really passes, and add an "
        "iam:PassedToService condition naming the service that receives them (for example "
        "lambda.amazonaws.com)."
    ),
    check=_check_passrole_any,
    snippets={
        "cloudformation": (
            "Statement:\n"
            "  - Effect: Allow\n"
            "    Action: iam:PassRole\n"
            "    Resource: !GetAtt WorkerRole.Arn\n"
            "    Condition:\n"
            "      StringEquals:\n"
            "        iam:PassedToService: lambda.amazonaws.com\n"
        ),
        "sam": (
            "Policies:\n"
            "  - Statement:\n"
            "      - Effect: Allow\n"
            "        Action: iam:PassRole\n"
            "        Resource: !GetAtt WorkerRole.Arn\n"
            "        Condition:\n"
            "          StringEquals:\n"
            "            iam:PassedToService: lambda.amazonaws.com\n"
        ),
        "terraform": (
            "statement {\n"
            '  actions   = ["iam:PassRole"]\n'
            "  resources = [aws_iam_role.worker.arn]\n"
            "  condition {\n"
            '    test     = "StringEquals"\n'
            '    variable = "iam:PassedToService"\n'
            '    values   = ["lambda.amazonaws.com"]\n'
            "  }\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#ck_PassedToService",
    ),
    anchors={
        "checkov": (),
        "prowler": ("iam_policy_allows_passrole_without_condition",),
        "kics": (),
        "securityhub": (),
    },
)


# ---------------------------------------------------------------- IAM005
def _check_shared_role(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    # Accounts where a region's functions could not be listed: a role may be shared with functions not seen.
    unlisted: dict[str, list[str]] = {}
    for scope in unlisted_function_scopes(inventory):
        unlisted.setdefault(scope.account, []).append(scope.region)
    for role in inventory.roles:
        functions = inventory.functions_using_role(role)
        if len(functions) < 2:
            account = role.key.split(":")[4] if role.key.startswith("arn:") and role.key.count(":") >= 5 else None
            if account in unlisted:
                yield ROLE_SHARED.not_evaluated(role, f"the functions of account {account} in "
                                                      f"{', '.join(unlisted[account])} could not be listed")
            continue
        names = sorted(fn.id for fn in functions)
        message = (
            f"Role {role.id} is shared by {len(names)} functions ({_listing(names)}): each of them gets the "
            "permissions all of them need"
        )
        yield ROLE_SHARED.finding(
            inventory, role, message, functions=functions, evidence={"functions": names}
        )


ROLE_SHARED = Rule(
    code="IAM005",
    slug="role-shared-by-functions",
    title="Execution role is shared by several functions",
    severity=Severity.LOW,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "A role shared by several functions must allow the union of what they all need, so every function "
        "holds permissions it never uses, and a flaw in the least important function exposes the data of "
        "all the others. Shared roles also make least-privilege reviews and CloudTrail attribution harder."
    ),
    remediation=(
        "Give each function its own execution role with only the permissions that function needs. SAM does "
        "this by default when a function declares Policies instead of Role."
    ),
    check=_check_shared_role,
    snippets={
        "cloudformation": (
            "OrdersFunctionRole:\n"
            "  Type: AWS::IAM::Role  # one role per function\n"
            "OrdersFunction:\n"
            "  Type: AWS::Lambda::Function\n"
            "  Properties:\n"
            "    Role: !GetAtt OrdersFunctionRole.Arn\n"
        ),
        "sam": (
            "OrdersFunction:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    Policies:  # SAM creates a dedicated role\n"
            "      - DynamoDBReadPolicy:\n"
            "          TableName: !Ref OrdersTable\n"
        ),
        "terraform": (
            'resource "aws_lambda_function" "orders" {\n'
            "  role = aws_iam_role.orders.arn # a role used by this function only\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html",
        "https://docs.aws.amazon.com/lambda/latest/operatorguide/least-privilege.html",
    ),
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)


# ---------------------------------------------------------------- IAM006
def _outside_principals(statement: PolicyStatement) -> tuple[list[str], list[str]]:
    """(principals other than Lambda, principals not known statically) of a trust statement."""
    outsiders: list[str] = []
    unknown: list[str] = []
    if statement.not_principals:
        outsiders.append("anyone (NotPrincipal)")
    for kind, values in statement.principals.items():
        for value in values:
            if isinstance(value, Unresolved):
                unknown.append(f"{kind}: {value.expression}")
            elif kind.lower() == "service" and str(value).strip().lower() in _LAMBDA_SERVICES:
                continue
            elif kind == "*" or str(value).strip() == "*":
                outsiders.append("anyone ('*')")
            else:
                outsiders.append(f"{kind}: {value}")
    return outsiders, unknown


def _check_trust_beyond_lambda(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for role in _execution_roles(inventory):
        if isinstance(role.trust_policy, Unresolved):
            yield ROLE_TRUST_BEYOND_LAMBDA.not_evaluated(
                role, f"the trust policy is not known statically ({role.trust_policy.expression})"
            )
            continue
        outsiders: list[str] = []
        unknown: list[str] = []
        conditional: list[bool] = []
        for statement in _trust_statements(role):
            found, missing = _outside_principals(statement)
            unknown.extend(missing)
            if found:
                outsiders.extend(p for p in found if p not in outsiders)
                conditional.append(bool(statement.conditions))
        if not outsiders:
            if unknown:
                yield ROLE_TRUST_BEYOND_LAMBDA.not_evaluated(
                    role, f"trust policy principals not known statically: {', '.join(unknown)}"
                )
            continue
        anyone = any(p.startswith("anyone") for p in outsiders)
        who = "anyone" if anyone else "principals other than the Lambda service"
        message = (
            f"Role {role.id} can be assumed by {who} ({_listing(outsiders)}): they get the function's "
            "permissions"
        )
        yield ROLE_TRUST_BEYOND_LAMBDA.finding(
            inventory, role, message, location=role.at("AssumeRolePolicyDocument"),
            # Conditions (sts:ExternalId, aws:SourceArn...) may narrow who gets in; a permissions
            # boundary does not matter here: it limits what the role may do, not who may assume it.
            confidence=Confidence.MEDIUM if all(conditional) else ROLE_TRUST_BEYOND_LAMBDA.confidence,
            evidence={"principals": outsiders, "anyone": anyone},
        )


ROLE_TRUST_BEYOND_LAMBDA = Rule(
    code="IAM006",
    slug="role-trust-beyond-lambda",
    title="Execution role can be assumed by principals other than Lambda",
    severity=Severity.HIGH,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "An execution role's trust policy should let only the Lambda service (lambda.amazonaws.com, or "
        "edgelambda.amazonaws.com for Lambda@Edge) assume it. Trusting another account, role, federated "
        "identity or service lets them obtain the function's credentials and act with its permissions "
        "outside the function; trusting '*' lets anyone who can call STS do so."
    ),
    remediation=(
        "Restrict the AssumeRolePolicyDocument to the Service principal lambda.amazonaws.com. If another "
        "workload needs the same permissions, give it its own role instead of sharing the execution role."
    ),
    check=_check_trust_beyond_lambda,
    snippets={
        "cloudformation": (
            "AssumeRolePolicyDocument:\n"
            "  Version: \"2012-10-17\"\n"
            "  Statement:\n"
            "    - Effect: Allow\n"
            "      Principal:\n"
            "        Service: lambda.amazonaws.com\n"
            "      Action: sts:AssumeRole\n"
        ),
        "sam": (
            "Function:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    Policies: [...]  # SAM's generated role trusts lambda.amazonaws.com only\n"
        ),
        "terraform": (
            'data "aws_iam_policy_document" "assume" {\n'
            "  statement {\n"
            '    actions = ["sts:AssumeRole"]\n'
            "    principals {\n"
            '      type        = "Service"\n'
            '      identifiers = ["lambda.amazonaws.com"]\n'
            "    }\n"
            "  }\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html",
    ),
    anchors={
        "checkov": ("CKV_AWS_60", "CKV_AWS_61"),
        "prowler": (),
        "kics": (),
        "securityhub": (),
    },
)


# ---------------------------------------------------------------- IAM007
def _may_be_hidden(role: Role) -> list[str]:
    """What could grant permissions without us seeing it: unresolved documents and statement parts."""
    hidden = []
    for policy in role.policies:
        if isinstance(policy.document, Unresolved):
            hidden.append(f"policy {_label(policy)}")
        elif any(st.unresolved for st in policy.document.statements):
            hidden.append(f"parts of policy {_label(policy)}")
    return hidden


def _check_cannot_write_logs(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for fn in inventory.functions:
        if fn.role is not None and inventory.role_of(fn) is None:
            yield ROLE_CANNOT_WRITE_LOGS.not_evaluated(
                fn, f"the execution role ({fn.role}) {not_found_where(fn)}"
            )
    for role in inventory.roles:
        functions = inventory.functions_using_role(role)
        if not functions:
            continue
        statements = [st for policy in role.policies for st in _allow_statements(policy)]
        missing = [a for a in _LOG_ACTIONS if not any(statement_covers(st, a) for st in statements)]
        if not missing:
            continue
        hidden = _may_be_hidden(role)
        if hidden:
            yield ROLE_CANNOT_WRITE_LOGS.not_evaluated(
                role, f"{', '.join(hidden)} could not be read; it may allow {', '.join(missing)}"
            )
            continue
        names = sorted(fn.id for fn in functions)
        message = (
            f"Role {role.id} (used by {_listing(names)}) does not allow {' and '.join(missing)}: the "
            "function's logs, errors included, never reach CloudWatch Logs"
        )
        yield ROLE_CANNOT_WRITE_LOGS.finding(
            inventory, role, message, functions=functions, evidence={"missing_actions": missing},
        )


ROLE_CANNOT_WRITE_LOGS = Rule(
    code="IAM007",
    slug="role-cannot-write-logs",
    title="Execution role cannot write CloudWatch logs",
    severity=Severity.INFO,
    confidence=Confidence.MEDIUM,
    category=CATEGORY,
    rationale=(
        "Lambda writes a function's output, errors and platform reports to CloudWatch Logs with the "
        "function's own execution role. Without logs:CreateLogStream and logs:PutLogEvents nothing is "
        "recorded, so failures and attacks against the function leave no trace to investigate."
    ),
    remediation=(
        "Attach the AWS managed policy AWSLambdaBasicExecutionRole (or AWSLambdaVPCAccessExecutionRole for "
        "functions in a VPC), or allow logs:CreateLogStream and logs:PutLogEvents on the function's log "
        "group."
    ),
    check=_check_cannot_write_logs,
    snippets={
        "cloudformation": (
            "FunctionRole:\n"
            "  Type: AWS::IAM::Role\n"
            "  Properties:\n"
            "    ManagedPolicyArns:\n"
            "      - arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole\n"
        ),
        "sam": (
            "Function:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    Policies:  # SAM's generated role includes AWSLambdaBasicExecutionRole\n"
            "      - AWSLambdaBasicExecutionRole\n"
        ),
        "terraform": (
            'resource "aws_iam_role_policy_attachment" "logs" {\n'
            "  role       = aws_iam_role.fn.name\n"
            '  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"\n'
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html",
    ),
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)


# ---------------------------------------------------------------- IAM008
def _check_policy_unresolved(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for role in _execution_roles(inventory):
        for policy in role.policies:
            document = policy.document
            if not isinstance(document, Unresolved) or _admin_managed(policy) is not None:
                continue
            reason = f" ({document.reason})" if document.reason else ""
            message = (
                f"Policy {_label(policy)} of role {role.id} could not be evaluated{reason}; treat it as "
                "possibly broad"
            )
            yield ROLE_POLICY_UNRESOLVED.finding(
                inventory, role, message, location=policy.location,
                evidence={"arn": _label(policy), "kind": policy.kind},
            )


ROLE_POLICY_UNRESOLVED = Rule(
    code="IAM008",
    slug="role-policy-unresolved",
    title="Execution role policy could not be evaluated",
    severity=Severity.MEDIUM,
    confidence=Confidence.LOW,
    category=CATEGORY,
    rationale=(
        "The role has a policy whose document is not in the scanned templates: an AWS managed policy "
        "lambdasec does not know, a customer managed policy defined elsewhere or an imported value. The "
        "identity rules cannot see what it allows, so it may grant administrator or wildcard access "
        "unnoticed."
    ),
    remediation=(
        "Review the policy's document and scope it like any other execution role policy. Defining the policy "
        "in the same template (AWS::IAM::ManagedPolicy or an inline policy) lets lambdasec evaluate it; "
        "suppress this finding with a reason once the external policy is reviewed."
    ),
    check=_check_policy_unresolved,
    snippets={
        "cloudformation": (
            "FunctionPolicy:\n"
            "  Type: AWS::IAM::ManagedPolicy  # defined next to the role, so it can be reviewed\n"
            "  Properties:\n"
            "    Roles: [!Ref FunctionRole]\n"
            "    PolicyDocument: {...}\n"
        ),
        "sam": (
            "Function:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    Policies:\n"
            "      - Statement: [...]  # inline, instead of an external policy ARN\n"
        ),
        "terraform": (
            'resource "aws_iam_role_policy" "fn" {\n'
            "  role   = aws_iam_role.fn.id\n"
            "  policy = data.aws_iam_policy_document.fn.json\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html",
    ),
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)


# ---------------------------------------------------------------- IAM018
def _unknown_patterns(statement: PolicyStatement) -> list[str]:
    """Action patterns of a statement that match no action of the IAM catalogue (typos, retired actions).

    Batch API names listed next to the action that authorizes them (``sqs:DeleteMessageBatch`` with
    ``sqs:DeleteMessage``, as in AWS's own SAM policy templates) are left out: they are no IAM action, but
    they grant or deny nothing the statement does not already cover, so they mislead no one.
    """
    from ..iam.catalogue import catalogue

    known = catalogue()
    unknown = [pattern for pattern in [*statement.actions, *statement.not_actions] if not known.expand(pattern)]
    listed = [*statement.actions, *statement.not_actions]
    return [pattern for pattern in unknown
            if not (pattern.endswith("Batch") and any(action_matches(other, pattern[:-5]) for other in listed))]


def _check_unknown_actions(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    from ..iam.catalogue import catalogue_version

    for role in _execution_roles(inventory):
        for policy in role.policies:
            if policy.kind == "aws-managed" or not isinstance(policy.document, PolicyDocument):
                continue  # AWS maintains its own policies; unreadable documents are IAM008's
            denied = sorted({p for st in policy.document.statements if not is_allow(st)
                             for p in _unknown_patterns(st)})
            allowed = sorted({p for st in policy.document.statements if is_allow(st)
                              for p in _unknown_patterns(st)} - set(denied))
            if not denied and not allowed:
                continue
            parts = []
            if denied:
                parts.append(f"Deny statements name {_listing(denied)}, which deny nothing")
            if allowed:
                parts.append(f"Allow statements name {_listing(allowed)}, which grant nothing (a call that "
                             "needs the intended action fails with AccessDenied)")
            finding = ROLE_UNKNOWN_ACTION.finding(
                inventory, role,
                f"Policy {_label(policy)} of role {role.id} names actions that do not exist in the IAM action "
                f"catalogue ({catalogue_version()}): {'; '.join(parts)}. Check the spelling.",
                location=policy.location, variant=policy.name,
                evidence={"policy": _label(policy), "unknown_in_deny": denied, "unknown_in_allow": allowed,
                          "catalogue": catalogue_version()},
            )
            if denied:  # a Deny that matches nothing leaves open what it was written to close
                finding.severity = Severity.MEDIUM
            yield finding


ROLE_UNKNOWN_ACTION = Rule(
    code="IAM018",
    slug="policy-unknown-action",
    title="Execution role policy names actions that do not exist",
    severity=Severity.LOW,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "IAM accepts any action name, and one that no service defines matches nothing. In an Allow statement "
        "a misspelt action (s3:GetObjekt) grants nothing and the function fails with AccessDenied, which "
        "tempts people to widen the policy to a wildcard; in a Deny statement it denies nothing, so the "
        "guardrail it was written for is silently missing (medium severity). Names are checked against the "
        "IAM action catalogue of the report (every report names its version); an action AWS added after that "
        "catalogue was published would also be reported, so update lambdasec before suppressing."
    ),
    remediation=(
        "Correct the action names from the AWS Service Authorization Reference (service prefix and action "
        "name, for example s3:GetObject, dynamodb:PutItem). Remove actions of retired APIs. For Deny "
        "statements, test the guardrail with the IAM policy simulator."
    ),
    check=_check_unknown_actions,
    snippets={
        "sam": (
            "Policies:\n"
            "  - Statement:\n"
            "      - Effect: Allow\n"
            "        Action: s3:GetObject  # not s3:GetObjekt\n"
            "        Resource: !Sub '${Bucket.Arn}/*'\n"
        ),
        "cloudformation": (
            "PolicyDocument:\n"
            "  Version: '2012-10-17'\n"
            "  Statement:\n"
            "    - Effect: Allow\n"
            "      Action: s3:GetObject  # not s3:GetObjekt\n"
            "      Resource: !Sub '${Bucket.Arn}/*'\n"
        ),
        "terraform": (
            'data "aws_iam_policy_document" "fn" {\n'
            "  statement {\n"
            '    actions   = ["s3:GetObject"]  # not s3:GetObjekt\n'
            '    resources = ["${aws_s3_bucket.data.arn}/*"]\n'
            "  }\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_testing-policies.html",
    ),
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)


RULES: tuple[Rule, ...] = (
    ROLE_FULL_ADMIN,
    ROLE_SERVICE_WILDCARD,
    ROLE_WRITE_ANY_RESOURCE,
    ROLE_PASSROLE_ANY,
    ROLE_SHARED,
    ROLE_TRUST_BEYOND_LAMBDA,
    ROLE_CANNOT_WRITE_LOGS,
    ROLE_POLICY_UNRESOLVED,
    ROLE_UNKNOWN_ACTION,
)
