"""Privilege-escalation methods, as data, and which of them an execution role holds.

A method is enabled by one of its action sets (all actions of a set are needed; alternatives are separate
sets). Each action of a set names the resources that make the method work (:class:`Target`): passing
*some* role to a new function is harmless, passing a role more privileged than one's own is not. The
sources are Rhino Security Labs' AWS IAM privilege-escalation research (21 methods, 2018-2019), the
methods catalogued by pathfinding.cloud, and every Lambda method (create, update, configure, layer,
expose).

Resource decisions, for a role R (the one under analysis):

* A role, function or policy counts when the grant covers *every* resource of its kind (``*``,
  ``arn:aws:iam::*:role/*``: region and account are not compared, a specific account is still every role
  of that account), or a specific resource of the scan that makes the method work: a role whose
  effective permissions exceed R's (some grant of it R does not hold), a function whose execution role
  does, a customer managed policy attached to R, R itself.
* A specific resource that the scan cannot judge (a literal ARN of a role outside the templates, a
  function whose role is outside them, a role whose policies could not be read, a wildcard pattern that
  may cover resources outside the scan) makes the method *undecided*, never found: rules report it as
  not evaluated, so a scoped grant is not flagged on a guess.
* A specific harmless resource (R's own role or function, a function whose role is not more privileged,
  a policy not attached to R, one named user or group) does not count.
* Users and groups count only when the grant covers every user (group): a named user is assumed to be the
  one the template author meant to manage, and the scan cannot tell who holds its credentials.

Grants come from :func:`lambdasec.iam.effective.effective_permissions`: a Deny on the same resource (or on
``*``) removed them already. A grant with a Condition still counts, and marks the method conditional.
"""

from __future__ import annotations

import enum
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from lambdasec.fast_dataclass import dataclass, field

from ..model.findings import Severity
from ..model.inventory import Function, Inventory, Policy, PolicyDocument, Role
from .blast_radius import grant_applies

if TYPE_CHECKING:
    from .effective import EffectivePermissions, Grant

RHINO = "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/"
RHINO_PART_2 = "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation-part-2/"
PATHFINDING = "https://pathfinding.cloud/"
PASSROLE_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html"

# Stands for a name the scan does not know: no literal character of a pattern matches it, only wildcards do.
UNKNOWN_NAME = "\x00"
_PSEUDO_PARAMETER = re.compile(r"\$\{AWS::[A-Za-z]+\}")


class Target(enum.Enum):
    """The resources of an enabling action that make a method work."""

    ANY = "any"  # any grant: the action creates the resource, or its resource does not decide
    EVERY = "every"  # every resource of its kind: '*' or an ARN whose name part is wildcards only
    NEW_FUNCTION = "new-function"  # a function the attacker creates: a pattern that can match a new name
    PRIVILEGED_ROLE = "privileged-role"  # every role, or a role of the scan more privileged than this one
    ASSUMABLE_ROLE = "assumable-role"  # as above, and whose trust policy admits IAM principals
    PRIVILEGED_FUNCTION = "privileged-function"  # every function, or one whose role is more privileged
    OWN_ROLE = "own-role"  # every role, or this role itself
    OWN_POLICY = "own-policy"  # every managed policy, or a customer managed policy attached to this role


@dataclass(frozen=True)
class Requirement:
    """One action of an enabling set, and the resources it must reach."""

    action: str  # canonical catalogue name
    target: Target = Target.ANY
    kind: str = ""  # what the resource is, for messages ("user", "instance"): Target.EVERY only
    probe: tuple[str, str] = ("", "")  # (ARN service, ARN resource part) of an unknown resource of the kind


@dataclass(frozen=True)
class Method:
    id: str  # permanent kebab-case name, e.g. "iam-create-policy-version"
    title: str
    severity: Severity  # when the enabling resources include every role/function/policy (else at most high)
    enabling: tuple[tuple[Requirement, ...], ...]  # alternatives; all actions of one set are needed
    explanation: str
    references: tuple[str, ...]
    optional: tuple[Requirement, ...] = ()  # make the method immediate, not possible
    supersedes: tuple[str, ...] = ()  # methods this one explains fully when both are found
    needs_boundary: bool = False  # only a role with a permissions boundary gains anything


# ---------------------------------------------------------------- the table
def _every(action: str, kind: str, service: str, resource_type: str, separator: str = "/") -> Requirement:
    return Requirement(action, Target.EVERY, kind, (service, f"{resource_type}{separator}{UNKNOWN_NAME}"))


def _on_any_user(action: str) -> Requirement:
    return _every(action, "user", "iam", "user")


def _on_any_group(action: str) -> Requirement:
    return _every(action, "group", "iam", "group")


def _on_any_instance(action: str) -> Requirement:
    return _every(action, "EC2 instance", "ec2", "instance")


PASS_ROLE = Requirement("iam:PassRole", Target.PRIVILEGED_ROLE)
_CREATE_FUNCTION = Requirement("lambda:CreateFunction")


def _passing(*actions: str) -> tuple[Requirement, ...]:
    """iam:PassRole of a more privileged role to a service, plus the actions that create its resource."""
    return (PASS_ROLE, *(Requirement(action) for action in actions))


def _privileged_function(action: str) -> Requirement:
    return Requirement(action, Target.PRIVILEGED_FUNCTION)


METHODS: tuple[Method, ...] = (
    # ------------------------------------------------------------ IAM policies and principals
    Method(
        "iam-create-policy-version", "Create a new version of a managed policy", Severity.CRITICAL,
        ((Requirement("iam:CreatePolicyVersion", Target.OWN_POLICY),),),
        "iam:CreatePolicyVersion with --set-as-default rewrites a customer managed policy, for example the one "
        "attached to this role, into an administrator policy.",
        (RHINO, PATHFINDING),
    ),
    Method(
        "iam-set-default-policy-version", "Switch a managed policy to another of its versions", Severity.HIGH,
        ((Requirement("iam:SetDefaultPolicyVersion", Target.OWN_POLICY),),),
        "iam:SetDefaultPolicyVersion makes an older or prepared version of a customer managed policy the active "
        "one; a broader past version becomes the role's permissions again.",
        (RHINO, PATHFINDING),
    ),
    Method(
        "iam-attach-role-policy", "Attach a managed policy to the role", Severity.CRITICAL,
        ((Requirement("iam:AttachRolePolicy", Target.OWN_ROLE),),),
        "iam:AttachRolePolicy on the role itself attaches AdministratorAccess to it.",
        (RHINO, PATHFINDING),
    ),
    Method(
        "iam-put-role-policy", "Add an inline policy to the role", Severity.CRITICAL,
        ((Requirement("iam:PutRolePolicy", Target.OWN_ROLE),),),
        "iam:PutRolePolicy on the role itself writes an inline policy allowing every action.",
        (RHINO, PATHFINDING),
    ),
    Method(
        "iam-role-permissions-boundary", "Remove or replace the role's permissions boundary", Severity.HIGH,
        ((Requirement("iam:DeleteRolePermissionsBoundary", Target.OWN_ROLE),),
         (Requirement("iam:PutRolePermissionsBoundary", Target.OWN_ROLE),)),
        "The permissions boundary caps what the role's policies grant; deleting it or replacing it with a "
        "broader policy releases everything the policies allow.",
        (PATHFINDING, "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html"),
        needs_boundary=True,
    ),
    Method(
        "iam-attach-user-policy", "Attach a managed policy to any user", Severity.HIGH,
        ((_on_any_user("iam:AttachUserPolicy"),),),
        "iam:AttachUserPolicy on every user attaches AdministratorAccess to a user whose credentials the "
        "attacker holds or can create.",
        (RHINO, PATHFINDING),
    ),
    Method(
        "iam-put-user-policy", "Add an inline policy to any user", Severity.HIGH,
        ((_on_any_user("iam:PutUserPolicy"),),),
        "iam:PutUserPolicy on every user writes an administrator inline policy on a user the attacker uses.",
        (RHINO, PATHFINDING),
    ),
    Method(
        "iam-attach-group-policy", "Attach a managed policy to any group", Severity.HIGH,
        ((_on_any_group("iam:AttachGroupPolicy"),),),
        "iam:AttachGroupPolicy on every group attaches AdministratorAccess to a group of a user the attacker "
        "uses.",
        (RHINO, PATHFINDING),
    ),
    Method(
        "iam-put-group-policy", "Add an inline policy to any group", Severity.HIGH,
        ((_on_any_group("iam:PutGroupPolicy"),),),
        "iam:PutGroupPolicy on every group writes an administrator inline policy on a group of a user the "
        "attacker uses.",
        (RHINO, PATHFINDING),
    ),
    Method(
        "iam-add-user-to-group", "Add a user to any group", Severity.HIGH,
        ((_on_any_group("iam:AddUserToGroup"),),),
        "iam:AddUserToGroup on every group puts a user the attacker uses into the administrators' group.",
        (RHINO, PATHFINDING),
    ),
    Method(
        "iam-create-access-key", "Create access keys for any user", Severity.CRITICAL,
        ((_on_any_user("iam:CreateAccessKey"),),),
        "iam:CreateAccessKey on every user returns long-lived keys of any user, administrators included.",
        (RHINO, PATHFINDING),
    ),
    Method(
        "iam-create-login-profile", "Set a console password for any user", Severity.CRITICAL,
        ((_on_any_user("iam:CreateLoginProfile"),),),
        "iam:CreateLoginProfile gives a console password to any user that has none (often automation users "
        "with broad permissions).",
        (RHINO, PATHFINDING),
    ),
    Method(
        "iam-update-login-profile", "Change the console password of any user", Severity.CRITICAL,
        ((_on_any_user("iam:UpdateLoginProfile"),),),
        "iam:UpdateLoginProfile resets the console password of any user, administrators included.",
        (RHINO, PATHFINDING),
    ),
    Method(
        "iam-update-assume-role-policy", "Rewrite a role's trust policy and assume it", Severity.CRITICAL,
        ((Requirement("iam:UpdateAssumeRolePolicy", Target.PRIVILEGED_ROLE),
          Requirement("sts:AssumeRole", Target.PRIVILEGED_ROLE)),),
        "iam:UpdateAssumeRolePolicy lets the attacker trust themselves in a more privileged role's trust "
        "policy; sts:AssumeRole then returns that role's credentials.",
        (RHINO, PATHFINDING),
    ),
    Method(
        "sts-assume-role", "Assume a more privileged role", Severity.HIGH,
        ((Requirement("sts:AssumeRole", Target.ASSUMABLE_ROLE),),),
        "sts:AssumeRole returns the credentials of any role whose trust policy admits this account or this "
        "role; roles that trust the account root delegate the decision to this permission.",
        (PATHFINDING, "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_manage-assume.html"),
    ),
    # ------------------------------------------------------------ iam:PassRole to a new compute resource
    Method(
        "ec2-run-instances", "Launch an EC2 instance with a more privileged role", Severity.CRITICAL,
        (_passing("ec2:RunInstances"),),
        "An instance launched with a privileged instance profile exposes the role's credentials to the code "
        "it runs (user data, SSH) through the instance metadata service.",
        (RHINO, PATHFINDING, PASSROLE_DOC),
    ),
    Method(
        "cloudformation-create-stack", "Deploy a CloudFormation stack with a more privileged role",
        Severity.CRITICAL,
        (_passing("cloudformation:CreateStack"), _passing("cloudformation:UpdateStack"),
         _passing("cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet")),
        "A stack deployed with a privileged service role creates whatever its template says (an administrator "
        "user, a policy) with that role's permissions.",
        (RHINO, PATHFINDING, PASSROLE_DOC),
    ),
    Method(
        "glue-create-dev-endpoint", "Create a Glue development endpoint with a more privileged role",
        Severity.CRITICAL,
        (_passing("glue:CreateDevEndpoint"),),
        "A Glue development endpoint accepts the attacker's SSH key and runs with the role passed to it.",
        (RHINO, PATHFINDING),
    ),
    Method(
        "glue-update-dev-endpoint", "Take over any Glue development endpoint", Severity.HIGH,
        ((_every("glue:UpdateDevEndpoint", "Glue development endpoint", "glue", "devEndpoint"),),),
        "glue:UpdateDevEndpoint adds the attacker's SSH key to an existing endpoint, whose role they then use.",
        (RHINO, PATHFINDING),
    ),
    Method(
        "glue-create-job", "Run a Glue job with a more privileged role", Severity.CRITICAL,
        (_passing("glue:CreateJob", "glue:StartJobRun"),),
        "A Glue job runs the attacker's script with the role passed to it.",
        (PATHFINDING,),
    ),
    Method(
        "datapipeline-create-pipeline", "Run a Data Pipeline with a more privileged role", Severity.CRITICAL,
        (_passing("datapipeline:CreatePipeline", "datapipeline:PutPipelineDefinition",
                  "datapipeline:ActivatePipeline"),),
        "A pipeline definition runs shell commands on resources that use the role passed to the pipeline.",
        (RHINO, PATHFINDING),
    ),
    Method(
        "codebuild-create-project", "Run a CodeBuild project with a more privileged role", Severity.CRITICAL,
        (_passing("codebuild:CreateProject", "codebuild:StartBuild"),
         _passing("codebuild:CreateProject", "codebuild:StartBuildBatch")),
        "A build's buildspec runs the attacker's commands with the project's service role.",
        (PATHFINDING,),
    ),
    Method(
        "sagemaker-create-notebook", "Run SageMaker code with a more privileged role", Severity.CRITICAL,
        (_passing("sagemaker:CreateNotebookInstance", "sagemaker:CreatePresignedNotebookInstanceUrl"),
         _passing("sagemaker:CreateTrainingJob"), _passing("sagemaker:CreateProcessingJob")),
        "A notebook instance (opened through a presigned URL), a training job or a processing job runs the "
        "attacker's code with the role passed to it.",
        (RHINO_PART_2, PATHFINDING),
    ),
    Method(
        "ecs-run-task", "Run an ECS task with a more privileged role", Severity.CRITICAL,
        (_passing("ecs:RegisterTaskDefinition", "ecs:RunTask"),
         _passing("ecs:RegisterTaskDefinition", "ecs:StartTask"),
         _passing("ecs:RegisterTaskDefinition", "ecs:CreateService")),
        "A task definition names the task role and the container command; running it executes the attacker's "
        "command with that role.",
        (PATHFINDING,),
    ),
    # ------------------------------------------------------------ code execution on existing instances
    Method(
        "ssm-send-command", "Run commands on any managed EC2 instance", Severity.HIGH,
        ((_on_any_instance("ssm:SendCommand"),),),
        "ssm:SendCommand runs a shell script on an instance, which reads its instance profile credentials.",
        (PATHFINDING,),
    ),
    Method(
        "ssm-start-session", "Open a shell on any managed EC2 instance", Severity.HIGH,
        ((_on_any_instance("ssm:StartSession"),),),
        "ssm:StartSession opens an interactive shell on an instance, with its instance profile credentials.",
        (PATHFINDING,),
    ),
    Method(
        "ec2-instance-connect", "Push an SSH key to any EC2 instance", Severity.HIGH,
        ((_on_any_instance("ec2-instance-connect:SendSSHPublicKey"),),),
        "ec2-instance-connect:SendSSHPublicKey lets the attacker log in to a reachable instance and read its "
        "instance profile credentials.",
        (PATHFINDING,),
    ),
    # ------------------------------------------------------------ Lambda
    Method(
        "lambda-create-function-invoke", "Create a function with a more privileged role and invoke it",
        Severity.CRITICAL,
        ((PASS_ROLE, _CREATE_FUNCTION, Requirement("lambda:InvokeFunction", Target.NEW_FUNCTION)),),
        "A new function created with a privileged execution role runs the attacker's code with that role when "
        "invoked.",
        (RHINO, PATHFINDING, PASSROLE_DOC),
    ),
    Method(
        "lambda-create-function-event-source",
        "Create a function with a more privileged role and trigger it from an event source", Severity.CRITICAL,
        ((PASS_ROLE, _CREATE_FUNCTION, Requirement("lambda:CreateEventSourceMapping")),),
        "Without invoke permission, an event source mapping (a DynamoDB stream, a queue) invokes the new "
        "privileged function for the attacker.",
        (RHINO, PATHFINDING),
    ),
    Method(
        "lambda-create-function-add-permission",
        "Create a function with a more privileged role and let an outside account invoke it", Severity.CRITICAL,
        ((PASS_ROLE, _CREATE_FUNCTION, Requirement("lambda:AddPermission", Target.NEW_FUNCTION)),),
        "lambda:AddPermission on the new function lets the attacker's own account invoke it.",
        (PATHFINDING,),
    ),
    Method(
        "lambda-update-function-code", "Replace the code of a more privileged function", Severity.CRITICAL,
        ((_privileged_function("lambda:UpdateFunctionCode"),),),
        "New code runs with the function's execution role at its next invocation; with lambda:InvokeFunction "
        "the attacker does not even wait for a trigger.",
        (RHINO, PATHFINDING),
        optional=(_privileged_function("lambda:InvokeFunction"),),
    ),
    Method(
        "lambda-update-function-configuration", "Inject code into a more privileged function through its "
        "configuration", Severity.CRITICAL,
        ((_privileged_function("lambda:UpdateFunctionConfiguration"),),),
        "A layer from the attacker's account, AWS_LAMBDA_EXEC_WRAPPER or NODE_OPTIONS/PYTHONSTARTUP-style "
        "environment variables run the attacker's code inside the function, with its execution role.",
        ("https://docs.aws.amazon.com/lambda/latest/dg/runtimes-modify.html", PATHFINDING),
        optional=(_privileged_function("lambda:InvokeFunction"),),
    ),
    Method(
        "lambda-swap-role", "Give a function a more privileged role", Severity.CRITICAL,
        ((Requirement("lambda:UpdateFunctionConfiguration"), PASS_ROLE),),
        "lambda:UpdateFunctionConfiguration with iam:PassRole replaces a function's execution role (its own "
        "included) with a more privileged role; the function's code then runs with it.",
        (PATHFINDING, PASSROLE_DOC),
    ),
    Method(
        "lambda-publish-layer-version", "Publish a layer and attach it to a more privileged function",
        Severity.CRITICAL,
        ((Requirement("lambda:PublishLayerVersion"),
          _privileged_function("lambda:UpdateFunctionConfiguration")),),
        "A layer version published in the account (so a lambda:Layer condition on the account does not stop "
        "it) and attached to the function overrides its modules with the attacker's code.",
        ("https://docs.aws.amazon.com/lambda/latest/dg/chapter-layers.html", PATHFINDING),
        supersedes=("lambda-update-function-configuration",),
    ),
    Method(
        "lambda-expose-function", "Let outsiders invoke a more privileged function", Severity.HIGH,
        ((_privileged_function("lambda:AddPermission"),),
         (_privileged_function("lambda:CreateFunctionUrlConfig"),),
         (_privileged_function("lambda:UpdateFunctionUrlConfig"),)),
        "A resource-policy statement or a function URL with AuthType NONE lets the attacker call the function "
        "from outside the account, with inputs of their choice, long after the original flaw is fixed.",
        ("https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html", PATHFINDING),
    ),
)

METHODS_BY_ID: dict[str, Method] = {method.id: method for method in METHODS}


# ---------------------------------------------------------------- documentation
_TARGET_TEXT = {
    Target.ANY: "",
    Target.NEW_FUNCTION: "on a function name it chooses",
    Target.PRIVILEGED_ROLE: "on every role, or a role more privileged than this one",
    Target.ASSUMABLE_ROLE: "on every role, or a more privileged role whose trust policy admits IAM principals",
    Target.PRIVILEGED_FUNCTION: "on every function, or a function whose role is more privileged",
    Target.OWN_ROLE: "on every role, or this role",
    Target.OWN_POLICY: "on every managed policy, or a customer managed policy of this role",
}


def _requirement_text(requirement: Requirement) -> str:
    where = f"on every {requirement.kind}" if requirement.target is Target.EVERY else _TARGET_TEXT[requirement.target]
    return f"`{requirement.action}`" + (f" ({where})" if where else "")


def methods_markdown() -> str:
    """docs/escalation-methods.md: the method table, for readers of IAM009 findings."""
    lines = [
        "# Privilege-escalation methods (IAM009)",
        "",
        "Generated from `lambdasec.iam.escalation.METHODS`; tests/test_escalation.py checks that this page is "
        "fresh. A method is reported when every action of one of its sets is granted (after Deny and permissions "
        "boundary) on the resources named in parentheses; actions without parentheses count on any resource they "
        "apply to. Severity is the one shown when the resources include every role, function or policy, and at "
        "most high when only a specific, more privileged resource of the scan is reached.",
        "",
    ]
    for method in METHODS:
        lines += [f"## `{method.id}`: {method.title}", "", f"Severity **{method.severity.label}**.", "",
                  method.explanation, "", "Enabled by:", ""]
        lines += [f"- {' + '.join(_requirement_text(r) for r in alternative)}" for alternative in method.enabling]
        if method.optional:
            lines += ["", f"Also reported when held: {', '.join(_requirement_text(r) for r in method.optional)}."]
        if method.supersedes:
            lines += ["", f"Reported instead of {', '.join(f'`{old}`' for old in method.supersedes)}."]
        if method.needs_boundary:
            lines += ["", "Only for roles that have a permissions boundary."]
        lines += ["", "References: " + ", ".join(f"<{ref}>" for ref in method.references), ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- results
@dataclass(frozen=True)
class Enabler:
    """One action of the set, the grants that allow it, and the resources that make them count."""

    requirement: Requirement
    grants: tuple[Grant, ...]
    targets: tuple[str, ...]  # "every role", "role Admin, more privileged", "this role"...
    specific: bool  # only specific resources of the scan count, not every resource of the kind

    @property
    def conditional(self) -> bool:
        return all(grant.conditional for grant in self.grants)

    @property
    def resources(self) -> list[str]:
        return sorted({grant.resource for grant in self.grants})


@dataclass(frozen=True)
class Escalation:
    method: Method
    enablers: tuple[Enabler, ...]
    extras: tuple[Enabler, ...] = ()  # optional actions also held

    @property
    def conditional(self) -> bool:
        return any(enabler.conditional for enabler in self.enablers)

    @property
    def severity(self) -> Severity:
        """The method's severity; at most high when it reaches only specific resources of the scan."""
        if any(enabler.specific for enabler in self.enablers):
            return min(self.method.severity, Severity.HIGH)
        return self.method.severity

    @property
    def actions(self) -> list[str]:
        return [enabler.requirement.action for enabler in self.enablers]


@dataclass(frozen=True)
class Undecided:
    """A method whose actions are all granted, on resources the scan cannot judge."""

    method: Method
    reasons: tuple[str, ...]


@dataclass
class Escalations:
    found: list[Escalation] = field(default_factory=list)
    undecided: list[Undecided] = field(default_factory=list)


class RolePermissions:
    """Effective permissions of the inventory's roles, computed once each for one analysis."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self._by_key: dict[str, EffectivePermissions] = {}

    def of(self, role: Role) -> EffectivePermissions:
        from .effective import effective_permissions

        if role.key not in self._by_key:
            self._by_key[role.key] = effective_permissions(role, self.inventory)
        return self._by_key[role.key]


# ---------------------------------------------------------------- evaluation
def find_escalations(role: Role, inventory: Inventory, permissions: RolePermissions | None = None) -> Escalations:
    """The methods the role enables (in table order), and those it may enable on resources not judged.

    Computed once per role and inventory: IAM009 and the attack-path priority both ask (``permissions`` only
    shares lookups, it does not change the answer). Callers must not modify the result.
    """
    memo: dict[str, tuple[Role, Escalations]] = inventory.derived.setdefault("escalations", {})
    cached = memo.get(role.key)
    if cached is None or cached[0] is not role:
        cached = memo[role.key] = (role, _search(role, inventory, permissions or RolePermissions(inventory)))
    return cached[1]


def _search(role: Role, inventory: Inventory, permissions: RolePermissions) -> Escalations:
    judge = _Judge(role, inventory, permissions)
    result = Escalations()
    for method in METHODS:
        if method.needs_boundary and role.permissions_boundary is None:
            continue
        found, reasons = judge.method(method)
        if found is not None:
            result.found.append(found)
        elif reasons:
            result.undecided.append(Undecided(method, tuple(reasons)))
    superseded = {old for esc in result.found for old in esc.method.supersedes}
    result.found = [esc for esc in result.found if esc.method.id not in superseded]
    return result


def method_titles(role: Role, inventory: Inventory) -> list[str]:
    """Titles of the methods the role enables (for the attack-path priority)."""
    return [esc.method.title for esc in find_escalations(role, inventory).found]


@dataclass
class _Verdict:
    """What one grant reaches for one requirement."""

    targets: list[str] = field(default_factory=list)  # resources that make the method work, for messages
    unknown: list[str] = field(default_factory=list)  # why it may reach one, when the scan cannot tell
    specific: bool = True  # reaches only specific resources of the scan
    any_resource: bool = False  # Target.ANY: the grant counts whatever its resource

    @property
    def counts(self) -> bool:
        return self.any_resource or bool(self.targets)


class _Judge:
    """Decides, for one role, which grants reach resources that make a method work."""

    def __init__(self, role: Role, inventory: Inventory, permissions: RolePermissions) -> None:
        self.role = role
        self.inventory = inventory
        self.permissions = permissions
        self.own = permissions.of(role)
        self._held = self.own.actions(include_conditional=True)
        self._more_privileged: dict[str, bool | None] = {}

    def _holds_all(self, requirements: tuple[Requirement, ...]) -> bool:
        """Whether every action is granted on some resource: most roles hold few methods' actions, and this
        set test spares looking at their grants. The table's names are canonical (a test), as are the held ones."""
        return all(r.action in self._held for r in requirements)

    def method(self, method: Method) -> tuple[Escalation | None, list[str]]:
        reasons: list[str] = []
        candidates: list[tuple[Enabler, ...]] = []
        for alternative in method.enabling:
            if not self._holds_all(alternative):
                continue  # an action not granted at all: nothing to decide
            enablers, undecided = self._alternative(alternative)
            if enablers is not None:
                candidates.append(enablers)
            reasons.extend(undecided)
        if not candidates:
            return None, sorted(set(reasons))
        # Prefer an unconditional alternative, then one reaching every resource (the higher severity).
        best = min(candidates, key=lambda enablers: (any(e.conditional for e in enablers),
                                                     any(e.specific for e in enablers)))
        extras = tuple(e for e in (self._requirement(r)[0] for r in method.optional) if e is not None)
        return Escalation(method, best, extras), []

    def _alternative(self, requirements: tuple[Requirement, ...]) -> tuple[tuple[Enabler, ...] | None, list[str]]:
        enablers: list[Enabler] = []
        unknown: list[str] = []
        for requirement in requirements:
            enabler, reasons = self._requirement(requirement)
            if enabler is not None:
                enablers.append(enabler)
            elif reasons:
                unknown.extend(reasons)
            else:
                return None, []  # an action not granted at all: nothing to decide
        return (tuple(enablers), []) if not unknown else (None, unknown)

    def _requirement(self, requirement: Requirement) -> tuple[Enabler | None, list[str]]:
        counted: list[tuple[Grant, _Verdict]] = []
        unknown: list[str] = []
        for grant in self.own.grants_for(requirement.action):
            verdict = self._targets(requirement, grant)
            if verdict.counts:
                counted.append((grant, verdict))
            unknown.extend(verdict.unknown)
        if not counted:
            return None, unknown
        # Unconditional grants decide when there are some: they give the location and the confidence.
        if not all(grant.conditional for grant, _ in counted):
            counted = [(grant, verdict) for grant, verdict in counted if not grant.conditional]
        counted.sort(key=lambda pair: (pair[0].resource != "*", pair[0].resource, pair[0].policy))
        targets = list(dict.fromkeys(t for _, verdict in counted for t in verdict.targets))
        specific = all(verdict.specific for _, verdict in counted)
        return Enabler(requirement, tuple(g for g, _ in counted), tuple(targets), specific), []

    # ------------------------------------------------------------ targets
    def _targets(self, requirement: Requirement, grant: Grant) -> _Verdict:
        resource = grant.resource
        target = requirement.target
        if target is Target.ANY:
            return _Verdict(specific=False, any_resource=grant_applies(requirement.action, resource))
        if target is Target.NEW_FUNCTION:
            named = "*" in resource or "?" in resource
            return _Verdict(["functions it names itself"] if named else [], specific=False)
        if target is Target.EVERY:
            service, probe = requirement.probe
            every = covers_every(resource, service, probe)
            return _Verdict([f"every {requirement.kind}"] if every else [], specific=False)
        if target in (Target.PRIVILEGED_ROLE, Target.ASSUMABLE_ROLE):
            return self._roles(requirement, resource, assumable=target is Target.ASSUMABLE_ROLE)
        if target is Target.PRIVILEGED_FUNCTION:
            return self._functions(requirement, resource)
        if target is Target.OWN_ROLE:
            return self._own_role(requirement, resource)
        return self._own_policy(requirement, resource)

    def _roles(self, requirement: Requirement, resource: str, *, assumable: bool) -> _Verdict:
        if covers_every(resource, "iam", f"role/{UNKNOWN_NAME}"):
            return _Verdict(["every role"], specific=False)
        verdict = _Verdict()
        covered: list[Role] = self._covered("roles", resource)
        for other in covered:
            if other is self.role:
                continue
            exceeds = self.more_privileged(other)
            trusted = _admits_iam_principals(other) if assumable else True
            if exceeds and trusted:
                verdict.targets.append(f"role {other.id}, more privileged")
            elif (exceeds is None and trusted is not False) or (exceeds and trusted is None):
                verdict.unknown.append(f"{requirement.action} on role {other.id}, {_why_unknown(exceeds, trusted)}")
        if not verdict.targets and (not covered or _has_wildcard(resource)):
            verdict.unknown.append(f"{requirement.action} on {resource}, which may name roles outside the scan")
        return verdict

    def _functions(self, requirement: Requirement, resource: str) -> _Verdict:
        if covers_every(resource, "lambda", f"function:{UNKNOWN_NAME}"):
            return _Verdict(["every function"], specific=False)
        verdict = _Verdict()
        covered: list[Function] = self._covered("functions", resource)
        for fn in covered:
            fn_role = self.inventory.role_of(fn)
            if fn_role is self.role:
                continue
            if fn_role is None:
                verdict.unknown.append(f"{requirement.action} on function {fn.id}, whose role is outside the scan")
            elif (exceeds := self.more_privileged(fn_role)) is None:
                verdict.unknown.append(f"{requirement.action} on function {fn.id}, {_why_unknown(None, True)}")
            elif exceeds:
                verdict.targets.append(f"function {fn.id}, whose role {fn_role.id} is more privileged")
        if not verdict.targets and (not covered or _has_wildcard(resource)):
            verdict.unknown.append(f"{requirement.action} on {resource}, which may name functions outside the scan")
        return verdict

    def _own_role(self, requirement: Requirement, resource: str) -> _Verdict:
        from .principals import resource_covers, role_arn_resource

        if covers_every(resource, "iam", f"role/{UNKNOWN_NAME}"):
            return _Verdict(["every role, this one included"], specific=False)
        if resource_covers(resource, self.role, "iam", role_arn_resource(self.role)):
            return _Verdict(["this role"], specific=False)
        names_other = any(r is not self.role for r in self._covered("roles", resource))
        if names_other or isinstance(self.role.name, str):
            return _Verdict()
        return _Verdict(unknown=[f"{requirement.action} on {resource}: this role's name is generated at "
                                 "deployment, so whether the pattern names it is not known"])

    def _own_policy(self, requirement: Requirement, resource: str) -> _Verdict:
        if covers_every(resource, "iam", f"policy/{UNKNOWN_NAME}"):
            return _Verdict(["every managed policy"], specific=False)
        customer_managed = [p for p in self.role.policies if p.kind == "customer-managed"]
        attached = [p for p in customer_managed if _names_policy(resource, p)]
        if attached:
            return _Verdict([f"policy {p.name} of this role" for p in attached], specific=False)
        if customer_managed and _has_wildcard(resource):
            return _Verdict(unknown=[f"{requirement.action} on {resource}, which may name a policy of this role"])
        return _Verdict()

    def _covered(self, bucket: str, resource: str) -> list[Any]:
        """The roles or functions of this role's unit that a grant's resource pattern covers. Kept for the scan:
        roles share policies and so patterns, and matching each role's patterns against every role again grows
        with the square of the account."""
        from .principals import NameIndex, deployment_unit, function_arn_resource, role_arn_resource

        memo: dict[tuple[str, str, str], list[Any]] = self.inventory.derived.setdefault("escalation-covered", {})
        unit = deployment_unit(self.role)
        key = (bucket, unit, resource)
        if key not in memo:
            indexes: dict[tuple[str, str], NameIndex[Any]] = self.inventory.derived.setdefault(
                "escalation-indexes", {})
            if (bucket, unit) not in indexes:
                indexes[(bucket, unit)] = NameIndex(self._roles_in_unit(), "iam", role_arn_resource) \
                    if bucket == "roles" else NameIndex(self._functions_in_unit(), "lambda", function_arn_resource)
            memo[key] = indexes[(bucket, unit)].covered(resource)
        return memo[key]

    def _roles_in_unit(self) -> list[Role]:
        """Roles of the same template or Terraform module: unrelated projects scanned together are not one
        account, and comparing every role with every other would grow with the square of the scan."""
        from .principals import roles_in_unit

        return roles_in_unit(self.role, self.inventory)

    def _functions_in_unit(self) -> list[Function]:
        from .principals import functions_in_unit

        return functions_in_unit(self.role, self.inventory)

    # ------------------------------------------------------------ privilege comparison
    def more_privileged(self, other: Role) -> bool | None:
        """True when the other role holds a grant this one does not; None when that is not known."""
        if other.key not in self._more_privileged:
            self._more_privileged[other.key] = more_privileged(self.permissions.of(other), self.own)
        return self._more_privileged[other.key]


def more_privileged(theirs: EffectivePermissions, own: EffectivePermissions) -> bool | None:
    """Whether ``theirs`` allows something ``own`` does not (None: not known, parts of ``theirs`` unread)."""
    for group in theirs.groups:
        if not own.allows_all(group.actions, group.resource, include_conditional=True):
            return True
    return None if theirs.unresolved else False


def _why_unknown(exceeds: bool | None, trusted: bool | None) -> str:
    if exceeds is None:
        return "whose policies could not all be evaluated"
    return "whose trust policy is not known statically"


def _admits_iam_principals(role: Role) -> bool | None:
    """Whether the trust policy lets IAM principals (an account, a role, '*') assume the role."""
    trust = role.trust_policy
    if trust is None:
        return False
    if not isinstance(trust, PolicyDocument):
        return None
    for statement in trust.statements:
        if statement.effect.strip().lower() != "allow":
            continue
        if not any(_glob(pattern.lower(), "sts:assumerole") for pattern in statement.actions):
            continue
        if statement.not_principals:
            return True
        if any(kind == "*" or kind.upper() == "AWS" for kind in statement.principals):
            return True
    return False


def _names_policy(resource: str, policy: Policy) -> bool:
    """A reference to the policy (`AppPolicy`, as effective permissions show it) or an ARN pattern naming it."""
    text = resource.strip()
    if text == policy.name or text.startswith(policy.name + "."):
        return True
    if policy.arn and _glob(text, policy.arn):
        return True
    parts = _PSEUDO_PARAMETER.sub("*", text).split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and _glob(parts[5], f"policy/{policy.name}")


# ---------------------------------------------------------------- resource patterns
def covers_every(resource: str, service: str, probe: str) -> bool:
    """True for '*', or an ARN pattern of the service whose resource part covers an unknown name (``probe``).

    ``probe`` is a resource part such as ``role/\\x00`` (see :data:`UNKNOWN_NAME`): ``role/*`` covers it,
    ``role/app-*`` does not. Region and account are not compared: every role of one account is every role.
    """
    text = _PSEUDO_PARAMETER.sub("*", resource.strip())
    if text and set(text) == {"*"}:
        return True
    parts = text.split(":", 5)
    if parts[0].lower() != "arn":
        return False
    if len(parts) < 6:  # "arn:aws:iam::*": the last wildcard spans the remaining fields
        return _glob(text, f"arn:aws:{service}::{UNKNOWN_NAME}:{probe}")
    return _glob(parts[2].lower(), service) and _glob(parts[5], probe)


def _has_wildcard(resource: str) -> bool:
    return "*" in resource or "?" in resource


def _glob(pattern: str, text: str) -> bool:
    return _compiled(pattern).fullmatch(text) is not None


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str]:
    """IAM wildcards: `*` any run of characters, `?` one character; everything else literal."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)
