"""The least-privilege policy a function needs, from its code and its configuration, and how its role differs.

``needed_policy`` turns the SDK calls found in the code (sdk_python.py, sdk_node.py) into IAM permissions through
iam/operations.py, with resources from the request parameters and the function's environment (arns.py), and adds
what the function needs without calling it: writing its logs, network interfaces in a VPC, reading its queue or
stream triggers, its dead-letter target and destinations, X-Ray, and the KMS key of its environment.

``role_diff`` compares those permissions with what the execution role grants (iam/effective.py): missing
permissions (calls that would be denied), unused grants, and grants broader than the resources the code uses.

Output is deterministic (sorted) and honest: calls without an IAM action, clients whose service is unknown,
resources left as ``*`` and files that could not be read are all listed as notes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

from lambdasec.fast_dataclass import dataclass, field

from ..iam.effective import EffectivePermissions, Grant, resource_covers
from ..iam.operations import map_operation
from ..model.inventory import EventInvokeConfig, EventSource, Function, Inventory, Role
from ..model.location import Location
from ..model.values import ResourceRef, Unresolved, Value
from .arns import Resolver, ResourceArn, Sym, arn_equivalents
from .sdk_calls import CodeAnalysis, CodeNote, SdkCall

POLICY_VERSION: Final = "2012-10-17"
_LOG_ACTIONS: Final = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
_VPC_ACTIONS: Final = ("ec2:AssignPrivateIpAddresses", "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
                       "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:UnassignPrivateIpAddresses")
_XRAY_ACTIONS: Final = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")
_POLLERS: Final = {
    # event source kind -> (actions on the source, actions on "*")
    "sqs": (("sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"), ()),
    "kinesis": (("kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
                 "kinesis:GetShardIterator", "kinesis:ListShards"), ("kinesis:ListStreams",)),
    "dynamodb": (("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"),
                 ("dynamodb:ListStreams",)),
}
_SEND_TO: Final = {"sqs": "sqs:SendMessage", "sns": "sns:Publish", "lambda": "lambda:InvokeFunction",
                   "events": "events:PutEvents"}
_TERRAFORM_TYPES: Final = {"aws_sqs_queue": "sqs", "aws_sns_topic": "sns", "aws_lambda_function": "lambda",
                           "aws_cloudwatch_event_bus": "events"}
# IAM policy variables lambdasec cannot know; CloudFormation pseudo parameters stand for any value.
_PSEUDO: Final = re.compile(r"\$\{AWS::(?:Region|AccountId|URLSuffix|StackName|StackId)\}")
_REFERENCE: Final = re.compile(r"^(?:[A-Z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)?|aws_[a-z0-9_]+\.[A-Za-z0-9_-]+"
                               r"(?:\[[^\]]*\])?\.[a-z_]+)$")
_PLACEHOLDER: Final = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class Need:
    """One permission the function needs: an action on a resource pattern, and why."""

    action: str
    resource: str
    source: str  # "code" | "logs" | "vpc" | "trigger" | "dead-letter" | "destination" | "tracing" | "kms"
    reason: str  # "s3.get_object", "CloudWatch Logs of the function", "SQS trigger OrdersQueueEvent"
    location: Location
    equivalents: tuple[str, ...] = ()  # the same resource spelt differently (``${Table.Arn}``)

    def forms(self) -> tuple[str, ...]:
        return (self.resource, *self.equivalents)


@dataclass(frozen=True)
class Unmapped:
    """A call found in the code for which no IAM action is known: listed, never dropped."""

    call: str  # "s3.some_method" as written
    reason: str
    location: Location


@dataclass
class NeededPolicy:
    needs: list[Need] = field(default_factory=list)
    calls: list[SdkCall] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)
    notes: list[CodeNote] = field(default_factory=list)
    free: list[tuple[SdkCall, str]] = field(default_factory=list)  # calls that need no permission, and why
    call_actions: dict[SdkCall, list[str]] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        return policy_document(self.needs)

    def actions(self) -> frozenset[str]:
        return frozenset(need.action for need in self.needs)


# ---------------------------------------------------------------- building the policy
def needed_policy(analysis: CodeAnalysis | None, function: Function | None = None,
                  inventory: Inventory | None = None) -> NeededPolicy:
    """What the code in ``analysis`` (and, with a template, the function's configuration) needs."""
    environment = {name: var.value for name, var in function.environment.items()} if function is not None else None
    resolver = Resolver(environment)
    out = NeededPolicy()
    if analysis is not None:
        out.notes.extend(analysis.notes)
        out.calls.extend(analysis.calls)
        for call in analysis.calls:
            _code_needs(call, resolver, out)
    if function is not None and inventory is not None:
        _configuration_needs(function, inventory, out)
    out.needs = sorted(set(out.needs), key=lambda n: (n.action, n.resource, n.source, n.reason,
                                                       n.location.file, n.location.line or 0))
    out.notes = sorted(set(out.notes), key=lambda n: (n.location.file, n.location.line or 0, n.kind, n.message))
    out.unmapped = sorted(set(out.unmapped), key=lambda u: (u.location.file, u.location.line or 0, u.call))
    return out


def _code_needs(call: SdkCall, resolver: Resolver, out: NeededPolicy) -> None:
    shown = f"{call.service}.{call.method}"
    if call.explicit_credentials:
        out.call_actions[call] = []
        out.notes.append(CodeNote("other-credentials", f"{shown}: made with credentials given in the code, not the "
                                  "execution role's: not part of the role's policy", call.location))
        return
    if call.operation is None:
        out.unmapped.append(Unmapped(shown, "not an operation of the SDK model", call.location))
        return
    mapping = map_operation(call.service, call.operation, call.params)
    if mapping.no_permission:
        out.free.append((call, mapping.no_permission))
        out.call_actions[call] = []
        return
    if mapping.unmapped or not mapping.requirements:
        out.unmapped.append(Unmapped(f"{shown} ({call.operation})", mapping.unmapped or "no IAM action known",
                                     call.location))
        if not mapping.requirements:
            return
    actions = out.call_actions.setdefault(call, [])
    for requirement in mapping.requirements:
        if requirement.action not in actions:
            actions.append(requirement.action)
        reason = shown + (f" ({requirement.reason})" if requirement.reason else "")
        if requirement.resource is None:
            out.needs.append(Need(requirement.action, "*", "code", reason, call.location))
            if requirement.note:
                out.notes.append(CodeNote("unresolved-resource", f"{requirement.note}: '*'", call.location))
            continue
        arns, unknown = resolver.arns(requirement.resource, requirement.action.split(":", 1)[0])
        for arn in arns:
            out.needs.append(Need(requirement.action, arn.pattern, "code", reason, call.location, arn.equivalents))
        for part in unknown:
            shown_arns = ", ".join(a.pattern for a in arns)
            out.notes.append(CodeNote("unresolved-resource",
                                      f"{requirement.action} on {shown_arns}: {part} is not known statically",
                                      call.location))


def _configuration_needs(fn: Function, inventory: Inventory, out: NeededPolicy) -> None:
    _log_needs(fn, inventory, out)
    if fn.vpc is not None:
        out.needs.extend(Need(action, "*", "vpc", "network interfaces of a function in a VPC", fn.at("VpcConfig"))
                         for action in _VPC_ACTIONS)
    if (_literal(fn.tracing_mode) or "").lower() == "active":
        out.needs.extend(Need(action, "*", "tracing", "X-Ray active tracing", fn.at("TracingConfig"))
                         for action in _XRAY_ACTIONS)
    if fn.kms_key_arn is not None and fn.environment:
        for arn in _key_arns(fn.kms_key_arn):
            out.needs.append(Need("kms:Decrypt", arn.pattern, "kms", "the KMS key of the environment variables",
                                  fn.at("KmsKeyArn"), arn.equivalents))
    _trigger_needs(fn, inventory, out)
    if fn.dead_letter_target is not None:
        _send_to(fn.dead_letter_target, "dead-letter", "the dead-letter target", fn.at("DeadLetterConfig"),
                 inventory, out)
    for config in _invoke_configs(fn, inventory):
        for target, label in ((config.on_failure, "on-failure"), (config.on_success, "on-success")):
            if target is not None:
                _send_to(target, "destination", f"the {label} destination", config.location, inventory, out)
    if fn.not_read("event-invoke-configs"):
        out.notes.append(CodeNote("unread-destinations", "the function's event-invoke configs were not read: the "
                                  "permissions its asynchronous destinations need are not known", fn.location))


def _literal(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _log_needs(fn: Function, inventory: Inventory, out: NeededPolicy) -> None:
    where = fn.at("LoggingConfig")
    group: str
    if isinstance(fn.log_group, str):
        group = fn.log_group
    elif isinstance(fn.log_group, ResourceRef):
        group = Sym(fn.log_group).shown()
    elif isinstance(fn.name, str):
        group = f"/aws/lambda/{fn.name}"
    elif isinstance(fn.name, ResourceRef):
        group = f"/aws/lambda/{Sym(fn.name).shown()}"
    else:
        group = "/aws/lambda/*"
        out.notes.append(CodeNote("unresolved-resource", "the function's name is chosen at deploy time: its log "
                                  "group is written /aws/lambda/*", fn.location))
    declared: set[str] | None = inventory.derived.get("log_group_names")
    if declared is None:  # once per inventory, not once per function
        declared = inventory.derived["log_group_names"] = {g.name for g in inventory.log_groups
                                                           if isinstance(g.name, str)}
    for action in _LOG_ACTIONS:
        if action == "logs:CreateLogGroup":
            if group in declared:
                continue  # the template creates the log group
            resource = f"arn:aws:logs:*:*:log-group:{group}:*"
        else:  # CreateLogStream and PutLogEvents act on the group's streams
            resource = f"arn:aws:logs:*:*:log-group:{group}:log-stream:*"
        out.needs.append(Need(action, resource, "logs", "CloudWatch Logs of the function", where))


def _key_arns(value: Value) -> list[ResourceArn]:
    if isinstance(value, str):
        return [ResourceArn(value)]
    if isinstance(value, ResourceRef):
        symbol = Sym(value)
        if symbol.is_arn:
            return [ResourceArn(symbol.shown(), arn_equivalents(symbol, "kms"))]
        return [ResourceArn(f"arn:aws:kms:*:*:key/{symbol.shown()}", (symbol.arn().shown(),))]
    return [ResourceArn("*")]


def _polled_sources(fn: Function, inventory: Inventory) -> list[EventSource]:
    """The event sources Lambda polls for ``fn``, from an index built once per inventory (looking every source
    up for every function grew with functions x sources on large scans)."""
    index: dict[str, list[EventSource]] | None = inventory.derived.get("polled_sources")
    if index is None:
        index = {}
        for source in inventory.event_sources:
            target = inventory.function_for(source.function) if source.invocation == "poll" else None
            if target is not None:
                index.setdefault(target.key, []).append(source)
        inventory.derived["polled_sources"] = index
    return index.get(fn.key, [])


def _invoke_configs(fn: Function, inventory: Inventory) -> list[EventInvokeConfig]:
    """The function's asynchronous-invocation configs, from an index built once per inventory (as above)."""
    index: dict[str, list[EventInvokeConfig]] | None = inventory.derived.get("invoke_configs")
    if index is None:
        index = {}
        for config in inventory.event_invoke_configs:
            target = inventory.function_for(config.function)
            if target is not None:
                index.setdefault(target.key, []).append(config)
        inventory.derived["invoke_configs"] = index
    return index.get(fn.key, [])


def _trigger_needs(fn: Function, inventory: Inventory, out: NeededPolicy) -> None:
    for source in _polled_sources(fn, inventory):
        known = _POLLERS.get(source.kind)
        if known is None:
            out.notes.append(CodeNote("unsupported", f"the permissions a {source.kind} event source needs "
                                      f"({source.id}) are not derived", source.location))
            continue
        on_source, on_any = known
        resource = _arn_text(source.source)
        equivalents = arn_equivalents(Sym(source.source), source.kind) if isinstance(source.source,
                                                                                     ResourceRef) else ()
        if resource == "*":
            out.notes.append(CodeNote("unresolved-resource", f"the {source.kind} source of {source.id} is not known "
                                      "statically: '*'", source.location))
        reason = f"{source.kind} trigger {source.id}"
        out.needs.extend(Need(action, resource, "trigger", reason, source.location, equivalents)
                         for action in on_source)
        out.needs.extend(Need(action, "*", "trigger", reason, source.location) for action in on_any)


def _arn_text(value: Value | None) -> str:
    if isinstance(value, str) and value.startswith("arn:"):
        return value
    if isinstance(value, ResourceRef):
        return Sym(value).shown()
    return "*"


def _send_to(target: Value, source: str, label: str, where: Location, inventory: Inventory,
             out: NeededPolicy) -> None:
    service = _target_service(target, inventory, dead_letter=source == "dead-letter")
    if service is None:
        out.notes.append(CodeNote("unresolved-resource", f"{label} ({_shown(target)}): its service is not known "
                                  "statically, so the permission to send to it is not listed", where))
        return
    equivalents = arn_equivalents(Sym(target), service) if isinstance(target, ResourceRef) else ()
    out.needs.append(Need(_SEND_TO[service], _arn_text(target), source, label, where, equivalents))


def _target_service(target: Value, inventory: Inventory, dead_letter: bool) -> str | None:
    if isinstance(target, str):
        parts = target.split(":")
        return parts[2] if len(parts) > 5 and parts[2] in _SEND_TO else None
    if isinstance(target, ResourceRef):
        if inventory.function_for(target) is not None:
            return "lambda"
        symbol = Sym(target)
        if symbol.terraform:
            resource_type = target.key.rsplit("#", 1)[-1].split(".", 1)[0]
            return _TERRAFORM_TYPES.get(resource_type)
        # CloudFormation: a topic's ARN is its Ref (or TopicArn); a dead-letter target is a queue or a topic,
        # and a queue's ARN is its Arn attribute. A destination's Arn may also be a bus or another function.
        if target.attribute in (None, "TopicArn"):
            return "sns"
        if target.attribute == "Arn" and dead_letter:
            return "sqs"
    return None


def _shown(value: Value) -> str:
    return value.expression if isinstance(value, Unresolved) else str(value)


# ---------------------------------------------------------------- the policy document
def policy_document(needs: Iterable[Need]) -> dict[str, Any]:
    """An IAM policy document: one statement per set of resources, actions and resources sorted."""
    by_action: dict[str, set[str]] = {}
    for need in needs:
        by_action.setdefault(need.action, set()).add(need.resource)
    grouped: dict[tuple[str, ...], list[str]] = {}
    for action, resources in by_action.items():
        grouped.setdefault(_narrowest(resources), []).append(action)
    statements = [{"Effect": "Allow", "Action": sorted(actions), "Resource": list(resources)}
                  for resources, actions in grouped.items()]
    statements.sort(key=lambda s: (s["Resource"] != ["*"], s["Resource"], s["Action"]))
    return {"Version": POLICY_VERSION, "Statement": statements}


def _narrowest(resources: set[str]) -> tuple[str, ...]:
    """The resources, without those another one covers (``*`` covers all)."""
    if "*" in resources:
        return ("*",)
    kept = [r for r in resources if not any(o != r and resource_covers(o, r) for o in resources)]
    return tuple(sorted(kept))


# ---------------------------------------------------------------- comparing with the role
@dataclass(frozen=True)
class Gap:
    need: Need
    detail: str  # why: "not granted", "granted only on arn:aws:s3:::other/*"


@dataclass(frozen=True)
class Broad:
    need: Need
    grant: str  # the broader resource granted
    policy: str


@dataclass
class RoleDiff:
    role: Role
    missing: list[Gap] = field(default_factory=list)  # calls that would get AccessDenied
    conditional: list[Gap] = field(default_factory=list)  # allowed only under a condition
    unverified: list[Gap] = field(default_factory=list)  # resources lambdasec cannot compare
    over_broad: list[Broad] = field(default_factory=list)
    unused: dict[str, list[str]] = field(default_factory=dict)  # service prefix -> granted actions not needed
    unresolved: list[str] = field(default_factory=list)  # parts of the role that could not be evaluated


def role_diff(policy: NeededPolicy, role: Role, inventory: Inventory,
              effective: EffectivePermissions | None = None) -> RoleDiff:
    from ..iam.effective import effective_permissions

    granted = effective if effective is not None else effective_permissions(role, inventory)
    diff = RoleDiff(role, unresolved=list(granted.unresolved))
    diff.unresolved.extend(f"action {p} of the role matches no known IAM action" for p in granted.unknown_actions)
    seen_broad: set[tuple[str, str]] = set()
    for need in policy.needs:
        grants = granted.grants_for(need.action)
        covering = [g for g in grants if any(grant_covers(g.resource, form) for form in need.forms())]
        firm = [g for g in covering if not g.conditional]
        if firm:
            broad = _broader(need, firm)
            if broad is not None and (need.action, need.resource) not in seen_broad:
                seen_broad.add((need.action, need.resource))
                diff.over_broad.append(Broad(need, broad.resource, broad.policy))
            continue
        granted_on = ", ".join(sorted({g.resource for g in grants})[:5])
        if covering:
            diff.conditional.append(Gap(need, "allowed only under a condition"))
        elif not grants:
            diff.missing.append(Gap(need, "not granted"))
        elif any(grant_may_cover(g.resource, form) for g in grants for form in need.forms()):
            diff.unverified.append(Gap(need, f"granted on {granted_on}, whose parts are known only at deploy time"))
        elif _comparable(need) and all(_comparable_grant(g.resource) for g in grants):
            diff.missing.append(Gap(need, f"granted only on {granted_on}"))
        else:
            diff.unverified.append(Gap(need, f"granted on {granted_on}, which lambdasec cannot compare with "
                                             f"{need.resource}"))
    needed = {action.lower() for action in policy.actions()}
    for action in sorted(granted.actions(include_conditional=True)):
        if action.lower() not in needed:
            diff.unused.setdefault(action.split(":", 1)[0], []).append(action)
    return diff


def grant_covers(granted: str, needed: str) -> bool:
    """Whether a role's grant resource (as iam/effective.py shows it) covers a needed resource pattern."""
    pattern = normalized_grant(granted)
    return resource_covers(pattern, _in_region_of(needed, pattern))


def grant_may_cover(granted: str, needed: str) -> bool:
    """Whether it may, depending on template variables known only at deploy time (``${var.prefix}-*``)."""
    pattern = _wild_references(normalized_grant(granted))
    return resource_covers(pattern, _in_region_of(needed, pattern))


def _in_region_of(needed: str, pattern: str) -> str:
    """A needed ARN's ``*`` region and account mean "where the function runs", not "everywhere": compared with
    a grant, they take the grant's own region and account."""
    need_parts, grant_parts = needed.split(":", 5), pattern.split(":", 5)
    if len(need_parts) != 6 or len(grant_parts) != 6 or need_parts[0] != "arn":
        return needed
    for index in (3, 4):
        if need_parts[index] == "*":
            need_parts[index] = grant_parts[index]
    return ":".join(need_parts)


def normalized_grant(granted: str) -> str:
    """A grant's resource as a pattern comparable with needed resources: a reference (``OrdersTable.Arn``) as
    ``${OrdersTable.Arn}``, an unresolved ``!Sub`` with its pseudo parameters as ``*``."""
    text = granted.strip()
    if text.startswith("<unresolved ") and text.endswith(">"):
        text = text[len("<unresolved "):-1]
    elif text != "*" and not text.startswith(("arn:", "${")) and _REFERENCE.match(text):
        text = "${" + text + "}"
    return _PSEUDO.sub("*", text.replace("${AWS::Partition}", "aws"))


def _wild_references(pattern: str) -> str:
    """Template variables that are not references to resources (SAM policy template parameters such as
    ``${tableName}``, Terraform ``${var.x}``) stand for any value."""
    return _PLACEHOLDER.sub(lambda m: m.group(0) if _REFERENCE.match(m.group(1)) else "*", pattern)


def _comparable(need: Need) -> bool:
    return "${" not in need.resource


def _comparable_grant(granted: str) -> bool:
    text = normalized_grant(granted)
    return "${" not in text and not granted.startswith("<unresolved")


def _broader(need: Need, grants: list[Grant]) -> Grant | None:
    """The broadest grant covering ``need`` when all of them are broader than what the code uses."""
    if need.resource == "*":
        return None
    broader = [g for g in grants
               if not any(resource_covers(form, normalized_grant(g.resource)) for form in need.forms())]
    if len(broader) != len(grants):
        return None  # some grant is exactly what the code needs
    return min(broader, key=lambda g: (g.resource != "*", -len(g.resource), g.resource))


__all__ = ["Broad", "Gap", "Need", "NeededPolicy", "RoleDiff", "Unmapped", "grant_covers", "grant_may_cover",
           "needed_policy", "normalized_grant", "policy_document", "role_diff"]
