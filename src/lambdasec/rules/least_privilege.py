"""IAM017: an execution role granting far more than its functions' code uses.

The code of every function using the role is read statically (analysis/sdk_python.py, analysis/sdk_node.py) and
turned into the permissions it needs (analysis/least_privilege.py), including what Lambda itself needs (logs,
VPC network interfaces, triggers, dead-letter target, tracing, the environment's KMS key). The role's effective
grants (iam/effective.py) are compared with that.

"Far more" is defined so that a finding is worth acting on, not every unused read:
  1. permissions-management actions the code never calls (``iam:PassRole``, ``s3:PutBucketPolicy``,
     ``kms:CreateGrant``...): whoever controls the function can widen access with them;
  2. write actions on services the code never calls at all (outside the few Lambda's own managed policies grant
     for logs, tracing and VPC networking, and KMS, which encrypted queues, buckets and tables need implicitly);
  3. every action of a service (``dynamodb:*``) while the code uses a handful of them.
The rule only speaks when every function using the role has its code available and analysed completely; a code
location that cannot be read, a file that does not parse or a client whose service is not known statically makes
the role "not evaluated" instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Final

from ..model.findings import Confidence, Severity
from ..model.inventory import Function, Inventory, Role
from .base import Context, Outcome, Rule

CATEGORY = "identity"
BLOCKING_NOTES: Final = frozenset({"parse-error", "skipped-file", "dynamic-client", "budget", "missing-handler",
                                   "unsupported"})
# What Lambda's own managed policies grant for logs, tracing and VPC networking: unused, but not "far more".
ROUTINE_WRITES: Final = frozenset({
    "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments",
    "xray:PutTelemetryRecords", "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses",
})
# KMS actions are often needed without a KMS call in the code: sending to an encrypted queue, reading an
# encrypted bucket, table or secret. lambdasec cannot link those, so unused KMS writes are not counted.
IMPLICIT_SERVICES: Final = frozenset({"kms"})
WHOLE_SERVICE_MINIMUM: Final = 10  # unused actions of a fully granted service worth reporting
_LISTED: Final = 5
EVIDENCE_LISTED: Final = 100  # actions listed in a finding's evidence; the counts cover the rest


def _analysed(fn: Function, inventory: Inventory, roots: list[Path]) -> tuple[frozenset[str], frozenset[str], str]:
    """(actions the function needs, IAM prefixes its code calls, why it could not be evaluated)."""
    from ..analysis.function_code import analyse, code_prefix, locate
    from ..analysis.least_privilege import needed_policy
    from ..iam.operations import iam_prefix

    code = locate(fn, roots)
    if code.source is None:
        return frozenset(), frozenset(), f"the code of {fn.id} is not available ({code.problem})"
    try:
        analysis = analyse(code, prefix=code_prefix(code))
    finally:
        code.close()
    blocking = [note for note in analysis.notes if note.kind in BLOCKING_NOTES]
    if blocking:
        note = blocking[0]
        return frozenset(), frozenset(), f"the code of {fn.id} was not fully analysed ({note.message})"
    if not analysis.files:
        return frozenset(), frozenset(), f"no Python or JavaScript source found in the code of {fn.id}"
    policy = needed_policy(analysis, fn, inventory)
    if any(note.kind == "unread-destinations" for note in policy.notes):
        # What a destination is sent through would be reported as unused.
        return frozenset(), frozenset(), (f"the asynchronous destinations of {fn.id} are not known (its "
                                          "event-invoke configs were not read)")
    touched = {iam_prefix(call.service) or call.service for call in policy.calls}
    touched.update(need.action.split(":", 1)[0] for need in policy.needs)
    return policy.actions(), frozenset(touched), ""


def _check_unused_permissions(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    from ..iam.effective import effective_permissions

    roots = [Path(root) for root in context.roots]
    for role in inventory.roles:
        functions = inventory.functions_using_role(role)
        if not functions:
            continue
        needed: set[str] = set()
        touched: set[str] = set()
        problem = ""
        for fn in sorted(functions, key=lambda f: f.id):
            actions, services, problem = _analysed(fn, inventory, roots)
            if problem:
                break
            needed.update(action.lower() for action in actions)
            touched.update(services)
        if problem:
            yield UNUSED_PERMISSIONS.not_evaluated(role, problem)
            continue
        granted = effective_permissions(role, inventory).actions(include_conditional=True)
        excess = _excess(inventory, granted, frozenset(needed), frozenset(touched))
        if excess is not None:
            yield _finding(inventory, role, functions, *excess, len(needed))


# (unused count, unused management actions, unused writes on untouched services, those writes per service,
#  whole services granted: prefix -> (granted, unused))
_Excess = tuple[int, list[str], list[str], dict[str, int], dict[str, tuple[int, int]]]


def _excess(inventory: Inventory, granted: frozenset[str], needed: frozenset[str],
            touched: frozenset[str]) -> _Excess | None:
    """What the role grants beyond the code's needs, or None when nothing is "far more". Remembered per
    inventory: many roles are granted and need the same."""
    memo: dict[tuple[frozenset[str], ...], _Excess | None] = inventory.derived.setdefault("unused_permissions", {})
    key = (granted, needed, touched)
    if key not in memo:
        memo[key] = _compare(_granted_profile(inventory, granted), needed, touched)
    return memo[key]


class _Granted:
    """A granted action set sorted and classified once: many roles share one (every role allowed "*" holds the
    same 20,000 actions), and only the few needed actions differ from role to role."""

    def __init__(self, granted: frozenset[str]) -> None:
        from ..iam.catalogue import catalogue

        known = catalogue()
        self.actions = granted
        self.size = len(granted)
        self.by_lower: dict[str, list[str]] = {}
        self.management: list[str] = []
        self.writes: list[tuple[str, str]] = []  # (action, service prefix)
        self.per_service: dict[str, int] = {}  # in the order of the sorted actions
        for action in sorted(granted):
            prefix = action.split(":", 1)[0]
            self.by_lower.setdefault(action.lower(), []).append(action)
            self.per_service[prefix] = self.per_service.get(prefix, 0) + 1
            level = known.access_level(action)
            if level == "Permissions management":
                self.management.append(action)
            elif level == "Write":
                self.writes.append((action, prefix))


def _granted_profile(inventory: Inventory, granted: frozenset[str]) -> _Granted:
    profiles: dict[frozenset[str], _Granted] = inventory.derived.setdefault("granted_profiles", {})
    if granted not in profiles:
        profiles[granted] = _Granted(granted)
    return profiles[granted]


def _compare(granted: _Granted, needed: frozenset[str], touched: frozenset[str]) -> _Excess | None:
    # A granted action is used when the code needs it in any spelling (``needed`` is lower case).
    used = {action for name in needed for action in granted.by_lower.get(name, ())}
    management = [a for a in granted.management if a not in used]
    skipped = touched | IMPLICIT_SERVICES
    untouched_writes = [a for a, prefix in granted.writes
                        if prefix not in skipped and a not in ROUTINE_WRITES and a not in used]
    writes_by_service: dict[str, int] = {}
    for action in untouched_writes:
        prefix = action.split(":", 1)[0]
        writes_by_service[prefix] = writes_by_service.get(prefix, 0) + 1
    whole = _whole_services(granted, used, touched)
    if not (management or untouched_writes or whole):
        return None
    return granted.size - len(used), management, untouched_writes, writes_by_service, whole


def _whole_services(granted: _Granted, used: set[str], touched: frozenset[str]) -> dict[str, tuple[int, int]]:
    """Services the code uses whose every action is granted: prefix -> (granted, unused)."""
    from ..iam.catalogue import catalogue

    out: dict[str, tuple[int, int]] = {}
    used_per_service: dict[str, int] = {}
    for action in used:
        prefix = action.split(":", 1)[0]
        used_per_service[prefix] = used_per_service.get(prefix, 0) + 1
    for prefix, count in granted.per_service.items():
        unused = count - used_per_service.get(prefix, 0)
        if prefix not in touched or unused < WHOLE_SERVICE_MINIMUM:
            continue
        every = catalogue().expand(f"{prefix}:*")
        if every and len(every) <= count and every <= granted.actions:
            out[prefix] = (len(every), unused)
    return out


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:_LISTED])
    return shown + (f" (+{len(items) - _LISTED} more)" if len(items) > _LISTED else "")


def _finding(inventory: Inventory, role: Role, functions: list[Function], unused: int, management: list[str],
             untouched_writes: list[str], writes_by_service: dict[str, int], whole: dict[str, tuple[int, int]],
             needed: int) -> Outcome:
    parts: list[str] = []
    if management:
        parts.append(f"permissions management ({_listing(management)})")
    if untouched_writes:
        services = sorted(writes_by_service)
        parts.append(f"write access to services the code never calls ({_listing(services)})")
    for prefix, (total, count) in sorted(whole.items()):
        parts.append(f"every {prefix} action ({total}) while the code uses {total - count}")
    names = sorted(fn.id for fn in functions)
    message = (f"Role {role.id} grants {unused} action(s) the code of {', '.join(names)} never uses, including "
               f"{'; '.join(parts)}")
    evidence = {
        "unused_actions": unused,
        "needed_actions": needed,
        "permissions_management": management[:EVIDENCE_LISTED],
        "permissions_management_count": len(management),
        # A role granted whole services may hold thousands of these: the first ones, then counts per service
        # (`lambdasec policy` writes the policy the code needs instead).
        "write_on_unused_services": untouched_writes[:EVIDENCE_LISTED],
        "write_on_unused_services_count": len(untouched_writes),
        "write_on_unused_services_by_service": dict(sorted(writes_by_service.items())),
        "whole_services": {prefix: {"granted": total, "unused": count} for prefix, (total, count) in whole.items()},
    }
    return UNUSED_PERMISSIONS.finding(inventory, role, message, functions=functions, evidence=evidence)


UNUSED_PERMISSIONS = Rule(
    code="IAM017",
    slug="role-grants-unused-permissions",
    title="Execution role grants far more than the function's code uses",
    severity=Severity.MEDIUM,
    confidence=Confidence.MEDIUM,
    category=CATEGORY,
    rationale=(
        "A function's code can use every permission of its execution role. Grants the code never needs do "
        "nothing for the function, but whoever controls it (through an injection, a vulnerable dependency or a "
        "stolen deployment credential) gets them all. lambdasec reads the function's code statically (boto3 and "
        "the AWS SDK for JavaScript), derives the permissions it and its configuration need, and flags a role "
        "that grants far more, meaning at least one of: a permissions-management action the code never calls; a "
        "write action on a service the code never calls (the logs, X-Ray and VPC network writes of Lambda's own "
        "managed policies, and KMS, which encrypted resources need implicitly, are not counted); every action of a "
        "service the code uses, with 10 or more of them unused. A role is only evaluated when the code of every "
        "function using it was found and fully analysed. Calls made through libraries outside the function's own "
        "code or computed at run time are not seen, hence the medium confidence."
    ),
    remediation=(
        "Replace the role's policies with the permissions the code needs: `lambdasec policy <template>` prints "
        "that policy for each function, with the role's unused grants and broader-than-needed resources. Keep one "
        "role per function so each role can be reduced to its own function's needs."
    ),
    check=_check_unused_permissions,
    reads_code=True,
    snippets={
        "cloudformation": (
            "OrdersFunctionRole:\n"
            "  Type: AWS::IAM::Role\n"
            "  Properties:\n"
            "    Policies:\n"
            "      - PolicyName: orders  # from `lambdasec policy template.yaml`\n"
            "        PolicyDocument:\n"
            "          Version: \"2012-10-17\"\n"
            "          Statement:\n"
            "            - Effect: Allow\n"
            "              Action: [dynamodb:GetItem, dynamodb:PutItem]\n"
            "              Resource: !GetAtt OrdersTable.Arn\n"
        ),
        "sam": (
            "OrdersFunction:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    Policies:  # only what the code calls\n"
            "      - Statement:\n"
            "          - Effect: Allow\n"
            "            Action: [dynamodb:GetItem, dynamodb:PutItem]\n"
            "            Resource: !GetAtt OrdersTable.Arn\n"
        ),
        "terraform": (
            'resource "aws_iam_role_policy" "orders" {\n'
            "  role = aws_iam_role.orders.id\n"
            "  policy = jsonencode({\n"
            '    Version = "2012-10-17"\n'
            "    Statement = [{\n"
            '      Effect   = "Allow"\n'
            '      Action   = ["dynamodb:GetItem", "dynamodb:PutItem"]\n'
            "      Resource = aws_dynamodb_table.orders.arn\n"
            "    }]\n"
            "  })\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/operatorguide/least-privilege.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege",
        "https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html",
    ),
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)


RULES: tuple[Rule, ...] = (UNUSED_PERMISSIONS,)
