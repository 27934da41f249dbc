"""Who else can change or read a function, and the toxic combination of exposure and a powerful role.

IAM014 and IAM015 look at every IAM role, user and group of the scan other than the function's own
execution role and administrators, with their effective permissions (a user's include its groups'
policies). A grant counts when its resource covers the function (see :mod:`lambdasec.iam.principals`). A
permission a user holds only through one of its groups is reported once, on the group, naming its members.
IAM016 reads the per-function attack-path analysis (:mod:`lambdasec.analysis.attack_paths`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Final

from lambdasec.fast_dataclass import dataclass

from ..analysis.attack_paths import INTERNET, is_admin, listing, priorities
from ..analysis.secrets import detect
from ..iam.principals import (
    NameIndex,
    Principal,
    covering_grants,
    deployment_unit,
    function_arn_resource,
    groups_of,
    kind_of,
    members_of,
    permissions_of,
    plainly_admin,
    principals,
    role_arn_resource,
    shown_principal,
    sorted_principals,
)
from ..model.findings import Confidence, Severity
from ..model.inventory import Function, Group, Inventory, PolicyDocument, Role, User
from ..model.values import literal
from .base import Context, Outcome, Rule

if TYPE_CHECKING:
    from ..iam.effective import EffectivePermissions, Grant

CATEGORY = "identity"

_CHANGE_ACTIONS = ("lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:AddPermission")
_READ_ACTIONS = ("lambda:GetFunction", "lambda:GetFunctionConfiguration")
PASS_AND_CREATE = "iam:PassRole + lambda:CreateFunction"
_LAMBDA_SERVICES = frozenset({"lambda.amazonaws.com", "edgelambda.amazonaws.com"})
_WHOEVER = {"user": "whoever holds its credentials", "group": "any member", "role": "whoever may assume it"}


@dataclass(frozen=True)
class Capability:
    """Something a principal may do to a function, and the grants that allow it."""

    label: str  # an action, or PASS_AND_CREATE
    grants: tuple[Grant, ...]

    @property
    def conditional(self) -> bool:
        return all(grant.conditional for grant in self.grants)


Capabilities = Callable[["EffectivePermissions", Function, Inventory], list[Capability]]
Holder = tuple[Function, Principal, list[Capability]]


def change_capabilities(granted: EffectivePermissions, fn: Function, inventory: Inventory) -> list[Capability]:
    """Update the code or configuration, add a resource-policy statement, or run new code as its role."""
    target = function_arn_resource(fn)
    found = [Capability(action, tuple(grants)) for action in _CHANGE_ACTIONS
             if (grants := covering_grants(granted, action, fn, "lambda", target))]
    role = inventory.role_of(fn)
    if role is not None:
        passes = covering_grants(granted, "iam:PassRole", role, "iam", role_arn_resource(role))
        creates = granted.grants_for("lambda:CreateFunction")  # any function name will do
        if passes and creates:
            found.append(Capability(PASS_AND_CREATE, (*passes, *creates)))
    return found


def read_capabilities(granted: EffectivePermissions, fn: Function, inventory: Inventory) -> list[Capability]:
    target = function_arn_resource(fn)
    return [Capability(action, tuple(grants)) for action in _READ_ACTIONS
            if (grants := covering_grants(granted, action, fn, "lambda", target))]


# The actions on functions each capability looks at (iam:PassRole, on roles, aside).
_FUNCTION_ACTIONS: dict[Capabilities, tuple[str, ...]] = {
    change_capabilities: _CHANGE_ACTIONS, read_capabilities: _READ_ACTIONS,
}
# What a principal must hold (one of the alternatives, each action of it on some resource) for a capability
# function to find anything on any function.
_NEEDED: dict[Capabilities, tuple[tuple[str, ...], ...]] = {
    change_capabilities: (*((action,) for action in _CHANGE_ACTIONS), ("iam:PassRole", "lambda:CreateFunction")),
    read_capabilities: tuple((action,) for action in _READ_ACTIONS),
}


def _only_on_every_resource(granted: EffectivePermissions, alternatives: tuple[tuple[str, ...], ...]) -> bool:
    """Every grant of the actions a capability looks at is on "*": what it allows does not depend on the
    function (nor on its role, for iam:PassRole)."""
    return all(grant.resource.strip() == "*" for actions in alternatives for action in actions
               for grant in granted.grants_for(action))


class _Reach:
    """The functions a grant's resource pattern covers (directly, or through their execution role for
    iam:PassRole), each pattern matched once against the scan's functions."""

    def __init__(self, inventory: Inventory, targets: list[Function]) -> None:
        self.function_index = NameIndex(targets, "lambda", function_arn_resource)
        self.roles: dict[str, tuple[Role, list[str]]] = {}
        for fn in targets:
            role = inventory.role_of(fn)
            if role is not None:
                self.roles.setdefault(role.key, (role, []))[1].append(fn.key)
        self.role_index = NameIndex([role for role, _ in self.roles.values()], "iam", role_arn_resource)
        self._functions: dict[str, frozenset[str]] = {}
        self._through_roles: dict[str, frozenset[str]] = {}

    def of(self, granted: EffectivePermissions, capabilities: Capabilities) -> frozenset[str] | None:
        """The keys of the functions the capability may find anything on; None: any function."""
        actions = _FUNCTION_ACTIONS.get(capabilities)
        if actions is None:
            return None
        found: set[str] = set()
        for action in actions:
            for grant in granted.grants_for(action):
                found |= self.functions(grant.resource)
        if capabilities is change_capabilities and granted.grants_for("lambda:CreateFunction"):
            for grant in granted.grants_for("iam:PassRole"):
                found |= self.through_roles(grant.resource)
        return frozenset(found)

    def functions(self, pattern: str) -> frozenset[str]:
        if pattern not in self._functions:
            self._functions[pattern] = frozenset(fn.key for fn in self.function_index.covered(pattern))
        return self._functions[pattern]

    def through_roles(self, pattern: str) -> frozenset[str]:
        if pattern not in self._through_roles:
            self._through_roles[pattern] = frozenset(
                key for role in self.role_index.covered(pattern) for key in self.roles[role.key][1])
        return self._through_roles[pattern]


def _may_hold(granted: EffectivePermissions, alternatives: tuple[tuple[str, ...], ...]) -> bool:
    return any(all(granted.grants_for(action) for action in actions) for actions in alternatives)


def who_else(inventory: Inventory, capabilities: Capabilities,
             functions: list[Function] | None = None) -> Iterator[Holder]:
    """(function, principal, what it may do) for every principal other than the function's own role."""
    targets = inventory.functions if functions is None else functions
    units = {deployment_unit(fn) for fn in targets}
    candidates = [p for p in sorted_principals(principals(inventory))
                  if deployment_unit(p) in units and not plainly_admin(p, inventory)]
    if not candidates or not targets:
        return
    granted = {principal.key: permissions_of(principal, inventory) for principal in candidates}
    # Administrators may change anything in the account: that is their role, not a grant singling out
    # Lambda, and IAM001 reports it for execution roles. Reporting them on every function would bury the rest.
    candidates = [p for p in candidates if not is_admin(granted[p.key])]
    # A principal holding none of the actions a capability needs finds nothing on any function: skipped once
    # here, not once per function (an account has thousands of roles and functions, few of them related).
    needed = _NEEDED.get(capabilities)
    if needed is not None:
        candidates = [p for p in candidates if _may_hold(granted[p.key], needed)]
    in_unit: dict[str, list[Principal]] = {}  # in the order findings are reported
    for principal in candidates:
        in_unit.setdefault(deployment_unit(principal), []).append(principal)
    # A principal granted the actions on "*" holds the same capabilities on every function (with a role or
    # without): computed once, not once per function (operators on "*" times thousands of functions).
    on_every = {p.key for p in candidates if needed is not None and _only_on_every_resource(granted[p.key], needed)}
    same: dict[tuple[str, bool], list[Capability]] = {}
    # The others: the functions their grants' resource patterns may cover, each pattern matched once against
    # the functions (roles share policies, so patterns), not once per principal and function.
    reach = _Reach(inventory, targets)
    reachable = {p.key: reach.of(granted[p.key], capabilities) for p in candidates if p.key not in on_every}
    groups_first = {unit: sorted(members, key=lambda p: not isinstance(p, Group)) for unit, members in in_unit.items()}
    checked_first = {p.key: i for members in groups_first.values() for i, p in enumerate(members)}
    reported_first = {p.key: i for members in in_unit.values() for i, p in enumerate(members)}
    # Per function, only the principals that may reach it: those whose grants cover every function (or that
    # could not be narrowed), and those whose patterns cover this one.
    everywhere = {unit: [p for p in members if p.key in on_every or reachable.get(p.key) is None]
                  for unit, members in groups_first.items()}
    covering: dict[str, list[Principal]] = {}
    for principal in candidates:
        for fn_key in reachable.get(principal.key) or ():
            covering.setdefault(fn_key, []).append(principal)
    for fn in targets:
        unit = deployment_unit(fn)
        relevant = [*everywhere.get(unit, []), *(p for p in covering.get(fn.key, ()) if deployment_unit(p) == unit)]
        relevant.sort(key=lambda p: checked_first[p.key])  # groups first: a user is reported only beyond its groups
        own_role = inventory.role_of(fn)
        by_group: dict[str, set[str]] = {}
        found: dict[str, tuple[Principal, list[Capability]]] = {}
        for principal in relevant:
            if principal is own_role:
                continue
            if principal.key in on_every:
                key = (principal.key, own_role is not None)
                if key not in same:
                    same[key] = capabilities(granted[principal.key], fn, inventory)
                held = same[key]
            else:
                held = capabilities(granted[principal.key], fn, inventory)
            if isinstance(principal, Group):
                by_group[principal.key] = {c.label for c in held}
            elif isinstance(principal, User) and _all_through_groups(principal, held, by_group, inventory):
                continue
            if held:
                found[principal.key] = (principal, held)
        for principal_key in sorted(found, key=reported_first.__getitem__):
            yield fn, *found[principal_key]


def _all_through_groups(user: User, held: list[Capability], by_group: dict[str, set[str]],
                        inventory: Inventory) -> bool:
    """Every capability also belongs to one of the user's groups, whose finding names the user."""
    through_groups = set().union(*(by_group.get(group.key, set()) for group in groups_of(user, inventory)))
    return {c.label for c in held} <= through_groups


def _first_grant(held: list[Capability]) -> Grant:
    grants = [grant for capability in held for grant in capability.grants]
    return next((grant for grant in grants if not grant.conditional), grants[0])


def _policies(held: list[Capability]) -> list[str]:
    return sorted({grant.policy for capability in held for grant in capability.grants})


def _through(held: list[Capability]) -> str:
    names = _policies(held)
    return f"policy {names[0]}" if len(names) == 1 else f"policies {listing(names)}"


def _evidence(fn: Function, principal: Principal, held: list[Capability], inventory: Inventory) -> dict[str, object]:
    evidence: dict[str, object] = {
        "function": fn.id, "principal": principal.id, "principal_type": kind_of(principal),
        "actions": [c.label for c in held], "policies": _policies(held),
    }
    if isinstance(principal, Group):
        evidence["members"] = members_of(principal, inventory)
    return evidence


def _confidence(rule: Rule, held: list[Capability]) -> Confidence:
    """Lower when every grant has a condition: the condition may keep the principal out."""
    return Confidence.MEDIUM if all(c.conditional for c in held) else rule.confidence


def _deployment_service_role(principal: Principal) -> bool:
    """A role only AWS services other than Lambda may assume: usually the deployment pipeline."""
    if not isinstance(principal, Role) or not isinstance(principal.trust_policy, PolicyDocument):
        return False
    allows = [st for st in principal.trust_policy.statements if st.effect.lower() == "allow"]
    if not allows:
        return False
    for statement in allows:
        if statement.not_principals or set(k.lower() for k in statement.principals) != {"service"}:
            return False
        services = [v for key, values in statement.principals.items() for v in values]
        if not all(isinstance(s, str) and s.strip().lower() not in _LAMBDA_SERVICES for s in services):
            return False
    return True


def _describe(held: list[Capability], fn: Function, inventory: Inventory) -> str:
    parts = []
    for capability in held:
        if capability.label == PASS_AND_CREATE:
            role = inventory.role_of(fn)
            assert role is not None  # the capability exists only for a role of the inventory
            parts.append(f"iam:PassRole on its execution role {role.id} with lambda:CreateFunction "
                         "(new code running as that role)")
        else:
            parts.append(capability.label)
    return listing(parts)


def _effects(held: list[Capability], many: bool = False) -> str:
    labels = {c.label for c in held}
    effects = []
    if labels - {"lambda:AddPermission"}:
        effects.append("run their own code with the functions' execution roles" if many else
                       "run their own code with the function's execution role")
    if "lambda:AddPermission" in labels:
        effects.append(f"let any principal they choose invoke the function{'s' if many else ''}")
    return " and ".join(effects)


# ---------------------------------------------------------------- IAM014
# A principal whose grants reach this many functions the same way (a policy on "*") gets one finding naming them
# all: 30 such principals in an account of 10,000 functions would otherwise be 300,000 findings.
GROUP_AT: Final = 10


def grouped(holders: Iterable[Holder]) -> Iterator[tuple[Principal, list[Capability], list[Function]]]:
    """(principal, capabilities, functions): the functions a principal reaches through the very same grants,
    together when there are :data:`GROUP_AT` or more of them, else one by one."""
    groups: dict[tuple[str, tuple[tuple[str, tuple[Grant, ...]], ...]],
                 tuple[Principal, list[Capability], list[Function]]] = {}
    for fn, principal, held in holders:
        key = (principal.key, tuple((capability.label, capability.grants) for capability in held))
        groups.setdefault(key, (principal, held, []))[2].append(fn)
    for principal, held, functions in groups.values():
        if len(functions) >= GROUP_AT:
            yield principal, held, functions
        else:
            yield from ((principal, held, [fn]) for fn in functions)


def _many(functions: list[Function]) -> str:
    names = [fn.id for fn in functions]
    return f"{len(names)} functions ({listing(names[:5])}{f' and {len(names) - 5} more' if len(names) > 5 else ''})"


def _check_modifiable(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for principal, held, functions in grouped(who_else(inventory, change_capabilities)):
        if len(functions) > 1:
            yield _modifiable_functions(inventory, principal, held, functions)
            continue
        fn = functions[0]
        grant = _first_grant(held)
        finding = FUNCTION_MODIFIABLE.finding(
            inventory, principal,
            f"{_capitalized(shown_principal(principal, inventory))} can change function {fn.id}: "
            f"{_describe(held, fn, inventory)} ({_through(held)}): {_WHOEVER[kind_of(principal)]} can "
            f"{_effects(held)}, outside the function's deployment pipeline.",
            location=grant.location, confidence=_confidence(FUNCTION_MODIFIABLE, held), functions=[fn],
            evidence=_evidence(fn, principal, held, inventory), variant=fn.key,
        )
        if _deployment_service_role(principal):
            finding.severity = Severity.MEDIUM
            finding.evidence["deployment_service_role"] = True
        yield finding


def _modifiable_functions(inventory: Inventory, principal: Principal, held: list[Capability],
                          functions: list[Function]) -> Outcome:
    labels = [c.label if c.label != PASS_AND_CREATE else "iam:PassRole on their execution roles with "
              "lambda:CreateFunction (new code running as those roles)" for c in held]
    finding = FUNCTION_MODIFIABLE.finding(
        inventory, principal,
        f"{_capitalized(shown_principal(principal, inventory))} can change {_many(functions)}: {listing(labels)} "
        f"({_through(held)}): {_WHOEVER[kind_of(principal)]} can {_effects(held, many=True)}, outside the functions' "
        "deployment pipeline.",
        location=_first_grant(held).location, confidence=_confidence(FUNCTION_MODIFIABLE, held),
        functions=functions, evidence=_group_evidence(functions, principal, held, inventory),
        variant=_group_variant(held),
    )
    if _deployment_service_role(principal):
        finding.severity = Severity.MEDIUM
        finding.evidence["deployment_service_role"] = True
    return finding


def _group_evidence(functions: list[Function], principal: Principal, held: list[Capability],
                    inventory: Inventory) -> dict[str, object]:
    evidence = _evidence(functions[0], principal, held, inventory)
    del evidence["function"]
    return {**evidence, "function_count": len(functions)}


def _group_variant(held: list[Capability]) -> str:
    """Stable across scans: what is granted, and by which policies (not which functions: they come and go)."""
    return "functions:" + ",".join(sorted({c.label for c in held})) + "|" + ",".join(_policies(held))


# ---------------------------------------------------------------- IAM015
def secret_variables(fn: Function) -> list[str]:
    """Environment variables whose value looks like a secret, or comes from a NoEcho parameter."""
    out = []
    for var in fn.environment.values():
        value = literal(var.value)
        if (var.parameter is not None and var.parameter.no_echo) or (
                value is not None and detect(var.name, value) is not None):
            out.append(var.name)
    return sorted(out)


def _check_config_readable(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    with_environment = [fn for fn in inventory.functions if fn.environment]  # else nothing worth reading
    secrets = {fn.key: secret_variables(fn) for fn in with_environment}
    for principal, held, functions in grouped(who_else(inventory, read_capabilities, with_environment)):
        if len(functions) > 1:
            yield _readable_functions(inventory, principal, held, functions, secrets)
            continue
        fn = functions[0]
        found = secrets[fn.key]
        what = (f"the secrets in its environment variables {listing(found)}" if found else
                f"its environment variables ({listing(sorted(fn.environment))}), none of which looks like a secret")
        finding = FUNCTION_CONFIG_READABLE.finding(
            inventory, principal,
            f"{_capitalized(shown_principal(principal, inventory))} can read the configuration of function "
            f"{fn.id} ({', '.join(c.label for c in held)}, {_through(held)}) and with it "
            f"{what}.",
            location=_first_grant(held).location, confidence=_confidence(FUNCTION_CONFIG_READABLE, held),
            functions=[fn], evidence={**_evidence(fn, principal, held, inventory), "secret_variables": found},
            variant=fn.key,
        )
        if not found:
            finding.severity = Severity.LOW
        yield finding


def _readable_functions(inventory: Inventory, principal: Principal, held: list[Capability],
                        functions: list[Function], secrets: dict[str, list[str]]) -> Outcome:
    with_secrets = [fn for fn in functions if secrets[fn.key]]
    what = (f"the secrets in the environment variables of {len(with_secrets)} of them" if with_secrets else
            "their environment variables, none of which looks like a secret")
    finding = FUNCTION_CONFIG_READABLE.finding(
        inventory, principal,
        f"{_capitalized(shown_principal(principal, inventory))} can read the configuration of {_many(functions)} "
        f"({', '.join(c.label for c in held)}, {_through(held)}) and with it {what}.",
        location=_first_grant(held).location, confidence=_confidence(FUNCTION_CONFIG_READABLE, held),
        functions=functions, variant=_group_variant(held),
        evidence={**_group_evidence(functions, principal, held, inventory),
                  "functions_with_secrets": len(with_secrets)},
    )
    if not with_secrets:
        finding.severity = Severity.LOW
    return finding


# ---------------------------------------------------------------- IAM016
def _check_toxic_combination(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    by_key = {fn.key: fn for fn in inventory.functions}
    for key, priority in priorities(inventory).items():
        if priority.level != Severity.CRITICAL:
            continue
        fn, reach, entry = by_key[key], priority.reach, priority.entry_points[0]
        others = len(priority.entry_points) - 1
        through = entry.description + (f" (and {others} other entry point(s))" if others else "")
        yield INTERNET_REACHABLE_PRIVILEGED.finding(
            inventory, fn,
            f"Function {fn.id} can be invoked from outside the account through {through}, and its execution "
            f"role {reach.role} allows {reach.describe()}: a bug in its code gives the caller that access.",
            location=fn.at("Role"),
            confidence=Confidence.HIGH if priority.exposure >= INTERNET else Confidence.MEDIUM,
            evidence={
                "entry_points": [{"kind": e.kind, "resource": e.resource_id} for e in priority.entry_points],
                "role": reach.role, "blast_radius": reach.blast_radius, "escalation": list(reach.escalation),
                "read_all": list(reach.read_all), "priority_score": priority.score,
            },
        )


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------- rules
FUNCTION_MODIFIABLE = Rule(
    code="IAM014",
    slug="function-modifiable-by-others",
    title="Another IAM principal can change the function",
    severity=Severity.HIGH,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "lambda:UpdateFunctionCode and lambda:UpdateFunctionConfiguration replace what the function runs "
        "(its code, its layers, its environment, its role); lambda:AddPermission lets anyone chosen invoke "
        "it; iam:PassRole on its execution role together with lambda:CreateFunction runs new code with the "
        "same role. A user, group or role holding one of them on this function (or on '*') can act with "
        "everything the function's role may do and read every event it receives, without touching the "
        "deployment pipeline that reviews its code. The finding names the principal, the actions and the "
        "policies; the severity is medium for roles that only AWS services other than Lambda may assume "
        "(CodeBuild, CodePipeline, CloudFormation: usually the deployment pipeline itself). Administrators "
        "(nearly every action on '*') are not reported: they may change anything, and IAM001 reports "
        "administrator execution roles."
    ),
    remediation=(
        "Keep these actions for the deployment pipeline's role only, scoped to the ARNs of the functions it "
        "deploys rather than '*'. Give people read-only access (lambda:GetFunctionConfiguration is also "
        "sensitive, see IAM015) and let changes go through the pipeline. Scope iam:PassRole to the roles "
        "each principal must pass, with the iam:PassedToService condition."
    ),
    check=_check_modifiable,
    snippets={
        "cloudformation": (
            "DeployPolicy:\n"
            "  Type: AWS::IAM::ManagedPolicy\n"
            "  Properties:\n"
            "    Roles: [!Ref PipelineRole]   # the pipeline only, not developers' users or groups\n"
            "    PolicyDocument:\n"
            "      Version: \"2012-10-17\"\n"
            "      Statement:\n"
            "        - Effect: Allow\n"
            "          Action: [lambda:UpdateFunctionCode, lambda:UpdateFunctionConfiguration]\n"
            "          Resource: !GetAtt Function.Arn\n"
        ),
        "sam": (
            "PipelineRole:\n"
            "  Type: AWS::IAM::Role\n"
            "  Properties:\n"
            "    AssumeRolePolicyDocument: ...   # codebuild.amazonaws.com\n"
            "    Policies:\n"
            "      - PolicyName: deploy-function\n"
            "        PolicyDocument:\n"
            "          Statement:\n"
            "            - Effect: Allow\n"
            "              Action: lambda:UpdateFunctionCode\n"
            "              Resource: !GetAtt Function.Arn\n"
        ),
        "terraform": (
            'resource "aws_iam_role_policy" "deploy" {\n'
            "  role = aws_iam_role.pipeline.id\n"
            "  policy = jsonencode({\n"
            '    Version = "2012-10-17"\n'
            "    Statement = [{\n"
            '      Effect   = "Allow"\n'
            '      Action   = ["lambda:UpdateFunctionCode"]\n'
            "      Resource = aws_lambda_function.this.arn\n"
            "    }]\n"
            "  })\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/permissions-user-function.html",
        "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html",
    ),
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)

FUNCTION_CONFIG_READABLE = Rule(
    code="IAM015",
    slug="function-config-readable-by-others",
    title="Another IAM principal can read the function's environment variables",
    severity=Severity.HIGH,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "lambda:GetFunctionConfiguration returns the environment variables in clear text, and "
        "lambda:GetFunction returns them together with a link to download the code. Any user, group or role "
        "allowed either on the function (or on '*') reads whatever the template put there. The severity is "
        "high when a value looks like a plaintext secret (the same detection as SEC001) or comes from a "
        "NoEcho parameter, and low when the function has environment variables that do not look secret. "
        "Functions without environment variables, and administrators (who may read everything), are not "
        "reported."
    ),
    remediation=(
        "Move secrets out of environment variables into AWS Secrets Manager or Parameter Store and read them "
        "at run time, then rotate the exposed values. Grant lambda:GetFunction and "
        "lambda:GetFunctionConfiguration only to the principals that operate the function, on its ARN "
        "rather than '*'; lambda:ListFunctions is enough for inventories."
    ),
    check=_check_config_readable,
    snippets={
        "cloudformation": (
            "Function:\n"
            "  Type: AWS::Lambda::Function\n"
            "  Properties:\n"
            "    Environment:\n"
            "      Variables:\n"
            "        DB_SECRET_ARN: !Ref DbSecret   # the secret's ARN, never its value\n"
        ),
        "sam": (
            "Function:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    Environment:\n"
            "      Variables:\n"
            "        DB_SECRET_ARN: !Ref DbSecret\n"
            "    Policies:\n"
            "      - AWSSecretsManagerGetSecretValuePolicy:\n"
            "          SecretArn: !Ref DbSecret\n"
        ),
        "terraform": (
            'resource "aws_iam_group_policy" "support" {\n'
            "  group = aws_iam_group.support.name\n"
            "  policy = jsonencode({\n"
            '    Version = "2012-10-17"\n'
            "    Statement = [{\n"
            '      Effect   = "Allow"\n'
            '      Action   = ["lambda:ListFunctions"]   # no GetFunction/GetFunctionConfiguration\n'
            '      Resource = "*"\n'
            "    }]\n"
            "  })\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/api/API_GetFunctionConfiguration.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html",
        "https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html",
    ),
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)

INTERNET_REACHABLE_PRIVILEGED = Rule(
    code="IAM016",
    slug="internet-reachable-privileged-function",
    title="Function reachable from outside the account has a role that can escalate or read all data",
    severity=Severity.CRITICAL,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "The toxic combination: a function that callers outside the account can invoke (a function URL "
        "with AuthType NONE, a resource policy for Principal '*' without conditions, an API route without "
        "authorization, a service permission any account's resources can use) and whose execution role has "
        "administrator access, can escalate its privileges, or reads secrets, parameters, objects or tables "
        "on every resource. One injection, deserialization or SSRF bug in the code then hands the role's "
        "credentials to the caller. Confidence is medium when the only ways in are API routes (the API may "
        "still be private) or service permissions."
    ),
    remediation=(
        "Break either half. Require authentication at the entry point (AuthType AWS_IAM, an authorizer, "
        "source conditions on the permission), and reduce the role to what the code calls (`lambdasec "
        "policy` prints it): no wildcard actions, no IAM write actions, data access scoped to the tables, "
        "buckets and secrets the function uses."
    ),
    check=_check_toxic_combination,
    needs=("policy", "aliases", "urls", "role"),
    snippets={
        "cloudformation": (
            "FunctionUrl:\n"
            "  Type: AWS::Lambda::Url\n"
            "  Properties:\n"
            "    TargetFunctionArn: !GetAtt Function.Arn\n"
            "    AuthType: AWS_IAM\n"
            "FunctionRolePolicy:\n"
            "  Type: AWS::IAM::Policy\n"
            "  Properties:\n"
            "    Roles: [!Ref FunctionRole]\n"
            "    PolicyName: orders-table\n"
            "    PolicyDocument:\n"
            "      Statement:\n"
            "        - Effect: Allow\n"
            "          Action: [dynamodb:GetItem, dynamodb:PutItem]\n"
            "          Resource: !GetAtt OrdersTable.Arn\n"
        ),
        "sam": (
            "Function:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    FunctionUrlConfig:\n"
            "      AuthType: AWS_IAM\n"
            "    Policies:\n"
            "      - DynamoDBCrudPolicy:\n"
            "          TableName: !Ref OrdersTable\n"
        ),
        "terraform": (
            'resource "aws_lambda_function_url" "this" {\n'
            "  function_name      = aws_lambda_function.this.function_name\n"
            '  authorization_type = "AWS_IAM"\n'
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html",
        "https://docs.aws.amazon.com/wellarchitected/latest/serverless-applications-lens/identity-and-access-management.html",
    ),
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)

RULES: tuple[Rule, ...] = (FUNCTION_MODIFIABLE, FUNCTION_CONFIG_READABLE, INTERNET_REACHABLE_PRIVILEGED)
