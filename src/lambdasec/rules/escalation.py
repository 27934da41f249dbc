"""Blast radius of execution roles: privilege escalation, credentials, data, resource policies, infrastructure.

IAM009-IAM013 read each execution role's effective permissions (:mod:`lambdasec.iam.effective`: wildcards
expanded through the action catalogue, Deny subtracted, permissions boundary applied), so every finding
names concrete actions, and a grant that a Deny removes is not reported. A grant with a Condition still
counts, with a lower confidence; so does a role whose permissions boundary could not be read.

* IAM009 reports each escalation method of :mod:`lambdasec.iam.escalation` the role holds, one finding per
  method. Methods whose actions are granted only on resources the scan cannot judge are "not evaluated".
* IAM010, IAM011, IAM012 and IAM013 report, once per role, the actions of their kind granted on every
  resource (``*``, or an ARN pattern covering every resource of its kind): the tables and the split
  between them and IAM003 are in :mod:`lambdasec.iam.blast_radius`.

Roles with administrator access are left to IAM001: every one of these questions has the answer "all".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from lambdasec.fast_dataclass import dataclass

from ..iam.blast_radius import (
    CREDENTIAL_ACTIONS,
    DATA_READ_ACTIONS,
    changes_infrastructure,
    exposes_resources,
    grant_applies,
    on_every_resource,
)
from ..iam.effective import Grant
from ..iam.escalation import Enabler, Escalation, RolePermissions, find_escalations
from ..model.findings import Confidence, Finding, Severity
from ..model.inventory import Inventory, Role
from .base import Context, Outcome, Rule
from .identity import _ANY_RESOURCE_BY_DESIGN, _LAMBDA_POLLER_POLICIES, _admin_grants, _execution_roles

if TYPE_CHECKING:
    from ..iam.effective import EffectivePermissions

CATEGORY = "identity"
_SAMPLE = 6  # actions named in a message; the evidence lists them all
_PASS_ROLE = "iam:passrole"  # IAM004 and IAM009 judge it, with the roles it reaches


# ---------------------------------------------------------------- shared helpers
def _roles(inventory: Inventory) -> list[Role]:
    """Execution roles, except those IAM001 reports as administrators (asked by five rules: found once)."""
    found: list[Role] | None = inventory.derived.get("non_admin_execution_roles")
    if found is None:
        found = inventory.derived["non_admin_execution_roles"] = [
            role for role in _execution_roles(inventory) if not _admin_grants(role)]
    return found


def _confidence(rule: Rule, role: Role, granted: EffectivePermissions, conditional: bool) -> Confidence:
    """The rule's confidence; medium when the grants are conditional or a boundary could not be read."""
    boundary_unknown = role.permissions_boundary is not None and any(
        "boundary" in reason.lower() for reason in granted.unresolved)
    return min(rule.confidence, Confidence.MEDIUM) if conditional or boundary_unknown else rule.confidence


def _sample(actions: list[str]) -> str:
    """``a`` / ``3 actions: a, b, c`` / ``40 actions, among them a, b, c, d, e, f``."""
    if len(actions) == 1:
        return actions[0]
    if len(actions) <= _SAMPLE:
        return f"{len(actions)} actions: {', '.join(actions)}"
    return f"{len(actions)} actions, among them {', '.join(actions[:_SAMPLE])}"


def _located(grants: Iterable[Grant]) -> Grant:
    """The grant a finding points at: unconditional first, then by action and resource."""
    return min(grants, key=lambda g: (g.conditional, g.action.lower(), g.resource, g.location.line or 0))


def _grant_facts(grants: Iterable[Grant]) -> list[dict[str, object]]:
    return [
        {"action": g.action, "resource": g.resource, "policy": g.policy, "conditional": g.conditional,
         "location": g.location.display()}
        for g in sorted(grants, key=lambda g: (g.action.lower(), g.resource, g.policy))
    ]


@dataclass(frozen=True)
class _Hit:
    """A grant on every resource of an action a rule looks for."""

    grant: Grant
    what: str  # what the action reaches ("secrets"), or its service


def _broad_hits(granted: EffectivePermissions, wanted: Callable[[str], str | None],
                known: dict[str, str | None]) -> list[_Hit]:
    """Grants on every resource of actions that ``wanted`` names (it returns what they reach, or None).

    ``known`` remembers ``wanted``'s answer per action across roles: many roles hold the same actions.
    """
    hits = []
    for group in granted.groups:
        if _from_poller_policy(group.policy):
            continue
        for action in group.actions:
            what = known[action] if action in known else known.setdefault(action, wanted(action))
            if what is None or not on_every_resource(group.resource, action):
                continue
            if grant_applies(action, group.resource):
                hits.append(_Hit(Grant(action, group.resource, group.conditional, group.policy, group.location),
                                 what))
    return hits


def _from_poller_policy(policy: str) -> bool:
    """Granted by an AWS event-source poller policy (named by its ARN or its name)."""
    return policy.rsplit("/", 1)[-1] in _LAMBDA_POLLER_POLICIES


def _blast_finding(rule: Rule, inventory: Inventory, role: Role, granted: EffectivePermissions,
                   hits: list[_Hit], summary: str) -> Finding:
    """One finding per role: ``summary`` (formatted with what it reaches), then a sample of the actions."""
    actions = sorted({hit.grant.action for hit in hits}, key=str.lower)
    reached = sorted({hit.what for hit in hits})
    where = _located(hit.grant for hit in hits)
    message = f"Role {role.id} {summary.format(', '.join(reached))}: {_sample(actions)}"
    if where.conditional:
        message += "; every such grant has a condition, which may narrow it"
    return rule.finding(
        inventory, role, message, location=where.location,
        confidence=_confidence(rule, role, granted, where.conditional),
        evidence={
            "actions": actions, "action_count": len(actions), "reaches": reached,
            "policies": sorted({hit.grant.policy for hit in hits}),
            "grants": _grant_facts(hit.grant for hit in hits),
        },
    )


def _blast_radius(rule: Rule, inventory: Inventory, summary: str,
                  wanted: Callable[[str], str | None]) -> Iterator[Outcome]:
    """The check of a once-per-role blast-radius rule (IAM010-IAM013)."""
    permissions = RolePermissions(inventory)
    known: dict[str, str | None] = {}
    for role in _roles(inventory):
        granted = permissions.of(role)
        hits = _broad_hits(granted, wanted, known)
        if hits:
            yield _blast_finding(rule, inventory, role, granted, hits, summary)


# ---------------------------------------------------------------- IAM009
def _check_escalation(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    permissions = RolePermissions(inventory)
    for role in _roles(inventory):
        result = find_escalations(role, inventory, permissions)
        granted = permissions.of(role)
        for escalation in result.found:
            yield _escalation_finding(inventory, role, escalation, granted)
        for undecided in result.undecided:
            yield ROLE_PRIVILEGE_ESCALATION.not_evaluated(
                role, f"{undecided.method.id} ({undecided.method.title}): {'; '.join(undecided.reasons)}")
        if not result.found and granted.unresolved:
            yield ROLE_PRIVILEGE_ESCALATION.not_evaluated(
                role, f"parts of its permissions could not be evaluated ({'; '.join(granted.unresolved)}); they "
                "may enable an escalation method")


def _enabler_text(enabler: Enabler) -> str:
    text = f"{enabler.requirement.action} on {', '.join(enabler.resources)}"
    targets = [t for t in enabler.targets if t not in enabler.resources]
    if targets:
        text += f" ({', '.join(targets)})"
    if enabler.conditional:
        text += " under a condition"
    return text


def _escalation_finding(inventory: Inventory, role: Role, escalation: Escalation,
                        granted: EffectivePermissions) -> Finding:
    method = escalation.method
    message = (
        f"Role {role.id} can escalate its privileges by {method.id} ({method.title}): "
        f"{'; '.join(_enabler_text(e) for e in escalation.enablers)}. {method.explanation}"
    )
    if escalation.extras:
        message += f" It also holds {', '.join(_enabler_text(e) for e in escalation.extras)}."
    grants = [grant for enabler in escalation.enablers for grant in enabler.grants]
    finding = ROLE_PRIVILEGE_ESCALATION.finding(
        inventory, role, message, location=escalation.enablers[0].grants[0].location,
        confidence=_confidence(ROLE_PRIVILEGE_ESCALATION, role, granted, escalation.conditional),
        variant=method.id,
        evidence={
            "method": method.id, "method_title": method.title,
            "actions": escalation.actions,
            "enabled_by": [
                {"action": e.requirement.action, "resources": e.resources, "targets": list(e.targets),
                 "conditional": e.conditional} for e in escalation.enablers
            ],
            "optional_actions": [e.requirement.action for e in escalation.extras],
            "policies": sorted({grant.policy for grant in grants}),
            "grants": _grant_facts(grants),
            "references": list(method.references),
        },
    )
    finding.severity = escalation.severity
    return finding


ROLE_PRIVILEGE_ESCALATION = Rule(
    code="IAM009",
    slug="role-privilege-escalation",
    title="Execution role can escalate its privileges",
    severity=Severity.CRITICAL,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "Some combinations of permissions let whoever holds them gain more: rewrite or attach a policy, pass "
        "a more privileged role to a new function, instance, stack or job, change the code or configuration "
        "of a more privileged function, create access keys for other users. A function's code runs with its "
        "role, so one injection or compromised dependency becomes that larger access, often the whole "
        "account. Each finding names the method (Rhino Security Labs' research and pathfinding.cloud), the "
        "actions and the resources that enable it. Critical when the actions reach every role, function or "
        "policy; high when they reach only a specific, more privileged one of the scan, or when the method "
        "needs a further foothold (a user the attacker controls, a reachable instance). Every method, with the "
        "actions and resources that enable it, is listed in docs/escalation-methods.md."
    ),
    remediation=(
        "Remove the actions of the method the function does not call. When it does call them, scope them: "
        "iam:PassRole to the one role it passes, with an iam:PassedToService condition; lambda:UpdateFunction* "
        "and lambda:AddPermission to the functions it manages, whose roles are not more privileged than its "
        "own; IAM write actions to resources that are not its own role or policies. A permissions boundary "
        "that denies these actions stops the method even if a policy grants them."
    ),
    check=_check_escalation,
    snippets={
        "cloudformation": (
            "Statement:\n"
            "  - Effect: Allow\n"
            "    Action: [lambda:CreateFunction, lambda:InvokeFunction]\n"
            "    Resource: !Sub arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:jobs-*\n"
            "  - Effect: Allow\n"
            "    Action: iam:PassRole\n"
            "    Resource: !GetAtt JobRole.Arn  # no more privileged than this role\n"
            "    Condition:\n"
            "      StringEquals:\n"
            "        iam:PassedToService: lambda.amazonaws.com\n"
        ),
        "sam": (
            "Policies:\n"
            "  - Statement:\n"
            "      - Effect: Allow\n"
            "        Action: iam:PassRole\n"
            "        Resource: !GetAtt JobRole.Arn\n"
            "        Condition:\n"
            "          StringEquals:\n"
            "            iam:PassedToService: lambda.amazonaws.com\n"
        ),
        "terraform": (
            "statement {\n"
            '  actions   = ["iam:PassRole"]\n'
            "  resources = [aws_iam_role.job.arn]\n"
            "  condition {\n"
            '    test     = "StringEquals"\n'
            '    variable = "iam:PassedToService"\n'
            '    values   = ["lambda.amazonaws.com"]\n'
            "  }\n"
            "}\n"
        ),
    },
    references=(
        "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/",
        "https://pathfinding.cloud/",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html",
    ),
    anchors={
        "checkov": ("CKV_AWS_110", "CKV_AWS_286"),
        "prowler": ("iam_policy_allows_privilege_escalation", "iam_inline_policy_allows_privilege_escalation"),
        "kics": (),
        "securityhub": (),
    },
)


# ---------------------------------------------------------------- IAM010
_CREDENTIALS = {risk.action.lower(): risk.what for risk in CREDENTIAL_ACTIONS}


def _credential(action: str) -> str | None:
    return _CREDENTIALS.get(action.lower())


def _check_credentials(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    yield from _blast_radius(ROLE_CREDENTIALS_EXPOSURE, inventory, "can obtain credentials on every resource ({})",
                             _credential)


ROLE_CREDENTIALS_EXPOSURE = Rule(
    code="IAM010",
    slug="role-credentials-exposure",
    title="Execution role can obtain credentials on every resource",
    severity=Severity.HIGH,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "Some actions return or set credentials: database sign-in tokens (rds-db:connect, "
        "redshift:GetClusterCredentials), service passwords and SSH keys of IAM users, passwords of "
        "application users (cognito-idp:AdminSetUserPassword), identity-pool tokens, the environment "
        "variables of other functions (lambda:GetFunction, where secrets are often left) and the passwords "
        "of Glue connections. On every resource, code running in the function can sign in as any database or "
        "application user and keep that access after the function is fixed. Credentials of IAM users and "
        "roles (sts:AssumeRole, iam:CreateAccessKey, login profiles) are privilege escalation: IAM009 "
        "reports them."
    ),
    remediation=(
        "Scope these actions to the one database user, workgroup, user pool or function the code needs (for "
        "example rds-db:connect on arn:aws:rds-db:REGION:ACCOUNT:dbuser:DB-RESOURCE-ID/app_user), or remove "
        "them."
    ),
    check=_check_credentials,
    snippets={
        "cloudformation": (
            "Statement:\n"
            "  - Effect: Allow\n"
            "    Action: rds-db:connect\n"
            "    Resource: !Sub arn:${AWS::Partition}:rds-db:${AWS::Region}:${AWS::AccountId}:"
            "dbuser:${Db.DbiResourceId}/app_user\n"
        ),
        "sam": (
            "Policies:\n"
            "  - Statement:\n"
            "      - Effect: Allow\n"
            "        Action: rds-db:connect\n"
            "        Resource: !Sub arn:${AWS::Partition}:rds-db:${AWS::Region}:${AWS::AccountId}:"
            "dbuser:${Db.DbiResourceId}/app_user\n"
        ),
        "terraform": (
            "statement {\n"
            '  actions   = ["rds-db:connect"]\n'
            '  resources = ["arn:aws:rds-db:${var.region}:${var.account}:dbuser:${aws_db_instance.db.resource_id}'
            '/app_user"]\n'
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html",
        "https://docs.aws.amazon.com/redshift/latest/mgmt/redshift-iam-access-control-identity-based.html",
        "https://github.com/salesforce/cloudsplaining",
    ),
    anchors={"checkov": ("CKV_AWS_107", "CKV_AWS_287"), "prowler": (), "kics": (), "securityhub": ()},
)


# ---------------------------------------------------------------- IAM011
_DATA = {risk.action.lower(): risk.what for risk in DATA_READ_ACTIONS}


def _data_read(action: str) -> str | None:
    return _DATA.get(action.lower())


def _check_data(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    yield from _blast_radius(ROLE_DATA_EXFILTRATION, inventory, "can read data on every resource ({})", _data_read)


ROLE_DATA_EXFILTRATION = Rule(
    code="IAM011",
    slug="role-data-exfiltration",
    title="Execution role can read data on every resource",
    severity=Severity.HIGH,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "Reading actions granted on every resource reach every secret, SSM parameter, S3 object, DynamoDB "
        "table, queue, stream, log group or KMS key of the account, not only the function's own. A flaw in "
        "the function then leaks the whole account's data, and the reads look like the function's normal "
        "traffic. Grants from AWS's event-source poller policies (SQS, Kinesis, DynamoDB streams, MSK), whose "
        "'*' is AWS's design, are not reported."
    ),
    remediation=(
        "Scope each read to the function's own resources: the ARN of its secret, its parameter path "
        "(parameter/app/*), its bucket prefix, its table. SAM policy templates (S3ReadPolicy, "
        "DynamoDBReadPolicy, SSMParameterReadPolicy, AWSSecretsManagerGetSecretValuePolicy) produce scoped "
        "statements."
    ),
    check=_check_data,
    snippets={
        "cloudformation": (
            "Statement:\n"
            "  - Effect: Allow\n"
            "    Action: secretsmanager:GetSecretValue\n"
            "    Resource: !Ref PaymentsApiSecret  # not \"*\"\n"
        ),
        "sam": (
            "Policies:\n"
            "  - AWSSecretsManagerGetSecretValuePolicy:\n"
            "      SecretArn: !Ref PaymentsApiSecret\n"
        ),
        "terraform": (
            "statement {\n"
            '  actions   = ["secretsmanager:GetSecretValue"]\n'
            "  resources = [aws_secretsmanager_secret.payments_api.arn]\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html",
        "https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/"
        "serverless-policy-templates.html",
        "https://github.com/salesforce/cloudsplaining",
    ),
    anchors={"checkov": ("CKV_AWS_108", "CKV_AWS_288"), "prowler": (), "kics": (), "securityhub": ()},
)


# ---------------------------------------------------------------- IAM012 / IAM013
def _service(action: str) -> str:
    return action.split(":", 1)[0].lower()


def _access_level(action: str) -> str | None:
    from ..iam.catalogue import catalogue

    return catalogue().access_level(action)


def _resource_policy_change(action: str) -> str | None:
    return _service(action) if exposes_resources(action, _access_level(action)) else None


def _infrastructure_change(action: str) -> str | None:
    lowered = action.lower()
    if lowered in _ANY_RESOURCE_BY_DESIGN or lowered == _PASS_ROLE:
        return None
    return _service(action) if changes_infrastructure(action, _access_level(action)) else None


def _check_resource_policies(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    yield from _blast_radius(ROLE_RESOURCE_EXPOSURE, inventory, "can change resource policies on every resource of {}",
                             _resource_policy_change)


def _check_infrastructure(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    yield from _blast_radius(ROLE_INFRASTRUCTURE_MODIFICATION, inventory,
                             "can modify infrastructure on every resource of {}", _infrastructure_change)


ROLE_RESOURCE_EXPOSURE = Rule(
    code="IAM012",
    slug="role-resource-exposure",
    title="Execution role can change resource policies on every resource",
    severity=Severity.HIGH,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "Permissions-management actions (the catalogue's access level) change who may use a resource: bucket "
        "policies and ACLs, key policies and KMS grants, queue, topic, secret, repository and function "
        "resource policies. On every resource, code running in the function can open any of them to another "
        "account or to everyone, a quiet way to exfiltrate data or to keep access. IAM's own permissions "
        "actions (identity policies) are reported by IAM009 and IAM013."
    ),
    remediation=(
        "Functions rarely need to change resource policies at run time: remove these actions, or scope them "
        "to the resources the function manages and add conditions (for example kms:GrantIsForAWSResource for "
        "kms:CreateGrant)."
    ),
    check=_check_resource_policies,
    snippets={
        "cloudformation": (
            "Statement:\n"
            "  - Effect: Allow\n"
            "    Action: kms:CreateGrant\n"
            "    Resource: !GetAtt DataKey.Arn\n"
            "    Condition:\n"
            "      Bool:\n"
            "        kms:GrantIsForAWSResource: true\n"
        ),
        "sam": (
            "Policies:\n"
            "  - KMSDecryptPolicy:  # instead of kms:* or s3:* on \"*\"\n"
            "      KeyId: !Ref DataKey\n"
        ),
        "terraform": (
            "statement {\n"
            '  actions   = ["kms:CreateGrant"]\n'
            "  resources = [aws_kms_key.data.arn]\n"
            "  condition {\n"
            '    test     = "Bool"\n'
            '    variable = "kms:GrantIsForAWSResource"\n'
            '    values   = ["true"]\n'
            "  }\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-"
        "contextkeys.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_identity-vs-resource.html",
        "https://github.com/salesforce/cloudsplaining",
    ),
    anchors={"checkov": ("CKV_AWS_109", "CKV_AWS_289"), "prowler": (), "kics": (), "securityhub": ()},
)


ROLE_INFRASTRUCTURE_MODIFICATION = Rule(
    code="IAM013",
    slug="role-infrastructure-modification",
    title="Execution role can modify infrastructure on every resource",
    severity=Severity.HIGH,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "Write actions of infrastructure services (compute, networking, IAM, deployment, automation and "
        "detection: EC2, Lambda, ECS, IAM, CloudFormation, SSM, CloudTrail, GuardDuty...) on every resource "
        "let code running in the function launch or terminate instances, open security groups, redeploy "
        "other functions, change identities or switch off the account's detection. Invoking functions, "
        "starting state machines and writing SSM parameters use infrastructure without changing it and are "
        "not counted; writes to data services are IAM003's."
    ),
    remediation=(
        "A function that manages infrastructure should name the resources it manages (the stack, the "
        "instances by tag with an aws:ResourceTag condition, its own functions by ARN prefix). Most functions "
        "need none of these actions: remove them."
    ),
    check=_check_infrastructure,
    snippets={
        "cloudformation": (
            "Statement:\n"
            "  - Effect: Allow\n"
            "    Action: [ec2:StopInstances, ec2:StartInstances]\n"
            "    Resource: !Sub arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/${ReportHost}\n"
        ),
        "sam": (
            "Policies:\n"
            "  - Statement:\n"
            "      - Effect: Allow\n"
            "        Action: [ec2:StopInstances, ec2:StartInstances]\n"
            "        Resource: !Sub arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/${ReportHost}\n"
        ),
        "terraform": (
            "statement {\n"
            '  actions   = ["ec2:StopInstances", "ec2:StartInstances"]\n'
            "  resources = [aws_instance.report_host.arn]\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html",
        "https://github.com/salesforce/cloudsplaining",
    ),
    anchors={"checkov": ("CKV_AWS_111", "CKV_AWS_290"), "prowler": (), "kics": (), "securityhub": ()},
)


RULES: tuple[Rule, ...] = (
    ROLE_PRIVILEGE_ESCALATION,
    ROLE_CREDENTIALS_EXPOSURE,
    ROLE_DATA_EXFILTRATION,
    ROLE_RESOURCE_EXPOSURE,
    ROLE_INFRASTRUCTURE_MODIFICATION,
)
