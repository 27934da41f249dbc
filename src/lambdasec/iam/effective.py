"""What an execution role may really do: (action, resource, conditional) facts across all its policies.

Semantics, following IAM's evaluation of identity policies:
  - ``Action`` patterns are expanded through the catalogue (iam/catalogue.py); ``NotAction`` allows every
    catalogue action except the ones it lists. Patterns that match no known action are listed in
    ``unknown_actions``, never silently dropped.
  - ``Resource`` values are kept as written (a reference or unknown value by its display text); an Allow with
    ``NotResource`` reaches every resource but a few, so it grants on ``"*"`` (with a note). On an ARN of
    service S an action is granted only if it can act on S's ARNs (its resource types say so): ``Action: "*"``
    on a bucket grants the S3 actions, ``sts:AssumeRole`` on a role ARN stays. An action without resource types
    keeps its own service's ARNs, the cautious reading.
  - An unconditional ``Deny`` removes the (action, resource) grants it covers: a grant on a resource the Deny's
    resources match. A Deny on a narrower resource than the grant leaves the grant (the rest remains). A Deny
    with a ``Condition`` may or may not apply at run time: it is recorded in ``conditional_denies`` and
    removes nothing.
  - A permissions boundary (an AWS managed policy lambdasec knows, or a customer managed policy found in the
    inventory) caps the grants: an action survives only where the boundary allows it. A boundary that cannot
    be read leaves the grants as they are, with a note in ``unresolved``.
  - A statement with a ``Condition`` still grants, marked ``conditional``.
  - Anything that cannot be read (a document known only at deploy time, a policy that is not valid JSON, an
    action from a reference) is listed in ``unresolved``: the grants are then a lower bound.

Resource patterns match like IAM's: case-sensitively, ``*`` for any run of characters and ``?`` for one, each
of an ARN's six colon-separated parts matched on its own.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from typing import Any, Final

from lambdasec.fast_dataclass import dataclass, field

from ..model.inventory import Group, Inventory, Policy, PolicyDocument, PolicyStatement, Role, User
from ..model.location import Location
from ..model.values import ResourceRef, Value
from .actions import is_allow, is_any_resource
from .catalogue import Catalogue, catalogue

_WILDCARD: Final = re.compile(r"[*?]")
_ARN_PARTS: Final = 6
_INDEXED: Final = 64  # above this many actions, filter them by ARN service through the catalogue's index


@dataclass(frozen=True, slots=True)  # slots: a role allowed "*" has 22,000 grants, each one object
class Grant:
    action: str  # canonical action name from the catalogue
    resource: str  # "*" or an ARN pattern as written/resolved; unresolved values -> their display text
    conditional: bool  # the allowing statement has a Condition (kept, never dropped)
    policy: str  # policy name that grants it
    location: Location  # the policy's location (statements carry none of their own)


@dataclass(frozen=True)
class Denial:
    """A Deny statement, as sets: the actions it blocks on the resources it names."""

    actions: frozenset[str]  # canonical names: those of Action, or with ``all_but`` those of NotAction
    all_but: bool  # NotAction: it blocks every action except ``actions``
    resources: tuple[str, ...]  # Resource; empty when it has NotResource instead
    not_resources: tuple[str, ...]  # NotResource: every resource except these
    conditional: bool
    policy: str
    location: Location

    def blocks(self, action: str) -> bool:
        """Whether the statement's actions include ``action`` (a canonical name)."""
        return (action not in self.actions) if self.all_but else (action in self.actions)

    def covers(self, resource: str) -> bool:
        """Whether it blocks on all of ``resource`` (an ARN or pattern; ``*`` for every resource)."""
        if self.resources:
            return any(resource_covers(denied, resource) for denied in self.resources)
        # NotResource: every resource but the listed ones. Only a literal ARN is known to lie outside them.
        if not self.not_resources or _WILDCARD.search(resource):
            return False
        return not any(resource_covers(kept, resource) for kept in self.not_resources)

    def remove_from(self, actions: frozenset[str]) -> frozenset[str]:
        return actions & self.actions if self.all_but else actions - self.actions


@dataclass(frozen=True, slots=True)
class GrantGroup:
    """Actions granted together on one resource by one policy: the compact form of many :class:`Grant`."""

    actions: frozenset[str]  # canonical names
    resource: str
    conditional: bool
    policy: str
    location: Location

    def grants(self) -> Iterator[Grant]:
        for action in sorted(self.actions):
            yield Grant(action, self.resource, self.conditional, self.policy, self.location)


@dataclass
class EffectivePermissions:
    """The grants of one role. Shared between callers (see :func:`effective_permissions`): treat as read-only.

    Kept as groups of actions per (resource, conditional), no action twice in one such pair: a role allowed
    "*" holds 22,000 (action, resource) grants, and a scan of a thousand roles would otherwise build millions
    of objects. :attr:`grants` lists them one by one for the callers that want that.
    """

    groups: list[GrantGroup]  # after Deny subtraction and permission-boundary intersection
    unknown_actions: list[str] = field(default_factory=list)  # Allow patterns that match no catalogue action
    unresolved: list[str] = field(default_factory=list)  # what could not be evaluated, and why
    # Deny statements with a Condition: they may remove some grants at run time, so they remove none here.
    conditional_denies: list[Denial] = field(default_factory=list)
    # Conclusions drawn from these grants by several rules (e.g. "is it an administrator"), computed once.
    memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def grants(self) -> list[Grant]:
        """One grant per (action, resource, conditional), in the order of the groups (built on first use)."""
        listed: list[Grant] | None = self.memo.get("grants")
        if listed is None:
            listed = self.memo["grants"] = [grant for group in self.groups for grant in group.grants()]
        return listed

    @property
    def size(self) -> int:
        """How many (action, resource, conditional) grants there are."""
        return sum(len(group.actions) for group in self.groups)

    def allows(self, action: str, resource: str = "*", *, include_conditional: bool = False) -> bool:
        """Whether some grant gives ``action`` (any case) on ``resource``.

        ``resource="*"`` asks "on every resource": the grant's resource must be ``*`` (or an ARN pattern made of
        wildcards only, such as ``arn:aws:*:*:*:*``). Any other resource (an ARN, or an ARN pattern) must be
        covered by the grant's resource pattern.
        """
        name = _canonical(action)
        return any(name in group.actions for group in self._covering(resource, include_conditional))

    def allows_all(self, actions: frozenset[str], resource: str, *, include_conditional: bool = False) -> bool:
        """Whether every one of ``actions`` (canonical names) is granted on ``resource`` (as :meth:`allows`)."""
        rest = actions
        for group in self._covering(resource, include_conditional):
            rest = rest - group.actions
            if not rest:
                return True
        return not rest

    def actions(self, *, include_conditional: bool = False) -> frozenset[str]:
        """Canonical names of the actions granted (on some resource)."""
        chosen = [g.actions for g in self.groups if include_conditional or not g.conditional]
        return frozenset().union(*chosen)

    def grants_for(self, action: str, *, canonical: bool = False) -> list[Grant]:
        """The grants of an action named in any spelling; ``canonical``: it is spelled as the catalogue does
        (lambdasec's own tables), which spares loading its service's names just to look it up."""
        name = action if canonical else _canonical(action)
        return [Grant(name, g.resource, g.conditional, g.policy, g.location) for g in self.groups
                if name in g.actions]

    def _covering(self, resource: str, include_conditional: bool) -> Iterator[GrantGroup]:
        every = resource.strip() == "*"
        for group in self.groups:
            if group.conditional and not include_conditional:
                continue
            if every and is_any_resource(group.resource) or resource_covers(group.resource, resource):
                yield group


def _canonical(action: str) -> str:
    """The catalogue's spelling of an action (grants hold those); an unknown action as written."""
    return catalogue().canonical(action) or action.strip()


# ---------------------------------------------------------------- resource patterns
def resource_covers(pattern: str, resource: str) -> bool:
    """Whether a policy's resource pattern covers ``resource`` (an ARN, or itself a pattern).

    Case-sensitive. When ``resource`` holds wildcards, the pattern must cover everything they may stand for:
    the pattern's ``*`` covers anything, its ``?`` one character but not a ``*``, and its other characters only
    themselves.
    """
    pattern, resource = pattern.strip(), resource.strip()
    if pattern == "*" or pattern == resource:
        return True
    if not _WILDCARD.search(pattern):
        return False
    return _resource_regex(pattern).fullmatch(resource) is not None


@functools.lru_cache(maxsize=4096)
def _resource_regex(pattern: str) -> re.Pattern[str]:
    """An ARN pattern's wildcards stay inside their part (the first five hold no colon); the last part, the
    resource id, may hold colons (``function:name:alias``), so there they match anything."""
    parts = pattern.split(":", 5)
    if len(parts) != _ARN_PARTS:
        return re.compile(_glob(pattern, "[^*]", ".*"), re.DOTALL)
    return re.compile(":".join([*(_glob(part, "[^:*]", "[^:]*") for part in parts[:-1]),
                                _glob(parts[-1], "[^*]", ".*")]), re.DOTALL)


def _glob(pattern: str, one: str, many: str) -> str:
    return "".join(many if c == "*" else one if c == "?" else re.escape(c) for c in pattern)


def _overlap_possible(first: str, second: str) -> bool:
    """Two resource patterns of which neither covers the other: disjoint unless both hold wildcards."""
    return bool(_WILDCARD.search(first)) and bool(_WILDCARD.search(second))


# ---------------------------------------------------------------- statements as sets
@dataclass
class _Reading:
    """What the statements of some policies allow and deny, before any subtraction."""

    allowed: list[GrantGroup] = field(default_factory=list)
    denied: list[Denial] = field(default_factory=list)
    unknown_actions: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)


def _label(policy: Policy) -> str:
    return policy.arn or policy.name


def _text(value: Value) -> str:
    """A resource or boundary as a string: references and unresolved values by their display text."""
    return value.strip() if isinstance(value, str) else str(value)


def _statement_label(policy: str, statement: PolicyStatement, index: int) -> str:
    return f"policy {policy} statement {statement.sid or index + 1}"


def _read_policies(policies: Iterable[Policy], what: str = "") -> _Reading:
    reading = _Reading()
    known = catalogue()
    for policy in policies:
        label = _label(policy)
        if not isinstance(policy.document, PolicyDocument):
            reason = policy.document.reason or "document not known statically"
            reading.unresolved.append(f"{what}policy {label}: {reason} ({policy.document.expression})")
            continue
        for index, statement in enumerate(policy.document.statements):
            where = what + _statement_label(label, statement, index)
            if statement.unresolved:
                parts = "; ".join(f"{u.expression}: {u.reason}" if u.reason else u.expression
                                  for u in statement.unresolved)
                reading.unresolved.append(f"{where}: not fully known ({parts})")
            if is_allow(statement):
                actions = _allowed_actions(known, statement, reading.unknown_actions)
                if actions:
                    _read_allow(known, statement, actions, policy, label, where, reading)
            elif statement.effect.strip().lower() == "deny" and (statement.actions or statement.not_actions):
                reading.denied.append(Denial(
                    _expanded(known, statement.actions or statement.not_actions), not statement.actions,
                    tuple(map(_text, statement.resources)), tuple(map(_text, statement.not_resources)),
                    bool(statement.conditions), label, policy.location))
    return reading


def _expanded(known: Catalogue, patterns: Iterable[str], unknown: list[str] | None = None) -> frozenset[str]:
    """Canonical actions the patterns match; patterns matching none are added to ``unknown``."""
    matched: set[str] = set()
    noted = set(unknown) if unknown is not None else set()  # a set: a policy may list thousands of patterns
    for pattern in patterns:
        found = known.expand(pattern)
        if not found and unknown is not None and pattern not in noted:
            unknown.append(pattern)
            noted.add(pattern)
        matched |= found
    return frozenset(matched)


def _allowed_actions(known: Catalogue, statement: PolicyStatement, unknown: list[str]) -> frozenset[str]:
    if statement.actions:
        return _expanded(known, statement.actions, unknown)
    if statement.not_actions:
        return known.all_actions() - _expanded(known, statement.not_actions, unknown)
    return frozenset()  # no action known (e.g. an unresolved !If): noted with the statement


def _read_allow(known: Catalogue, statement: PolicyStatement, actions: frozenset[str], policy: Policy, label: str,
                where: str, reading: _Reading) -> None:
    conditional = bool(statement.conditions)
    if statement.resources:
        resources = list(dict.fromkeys(_text(value) for value in statement.resources))
    elif statement.not_resources:
        listed = ", ".join(_text(value) for value in statement.not_resources)
        reading.unresolved.append(f"{where}: NotResource ({listed}) read as every resource ('*')")
        resources = ["*"]
    else:
        reading.unresolved.append(f"{where}: no Resource, grants nothing")
        return
    for resource in resources:
        applicable = _applicable(known, actions, resource)
        if applicable:
            reading.allowed.append(GrantGroup(applicable, resource, conditional, label, policy.location))


def _applicable(known: Catalogue, actions: frozenset[str], resource: str) -> frozenset[str]:
    """The actions that can act on ``resource``: on an ARN of service S, those whose resource types have ARNs of
    S (``sts:AssumeRole`` on an IAM role ARN, not ``s3:GetObject``). An ``Action: "*"`` on one bucket grants
    the S3 actions, not the 22,000 others."""
    parts = resource.split(":", 5)
    if len(parts) != _ARN_PARTS or parts[0] != "arn" or not parts[2] or _WILDCARD.search(parts[2]):
        return actions
    service = parts[2]
    if len(actions) > _INDEXED:  # many actions: one set operation against the catalogue's index
        return actions & known.actions_on(service)
    return frozenset(a for a in actions if service in (on := known.arn_services(a)) or "*" in on)


# ---------------------------------------------------------------- subtraction and boundary
def _subtract_denies(allowed: list[GrantGroup], denied: list[Denial]) -> list[GrantGroup]:
    unconditional = [deny for deny in denied if not deny.conditional]
    # Denies on "*" apply to every part: subtract their union once per part instead of each of them.
    everywhere = [deny for deny in unconditional if "*" in deny.resources]
    blocked = _union_blocked(everywhere)
    specific = [deny for deny in unconditional if "*" not in deny.resources]
    out: list[GrantGroup] = []
    for part in allowed:
        actions = part.actions - blocked if blocked else part.actions
        for deny in specific:
            if actions and (deny.all_but or not actions.isdisjoint(deny.actions)) and deny.covers(part.resource):
                actions = deny.remove_from(actions)
        if actions:
            out.append(GrantGroup(actions, part.resource, part.conditional, part.policy, part.location))
    return out


def _union_blocked(denies: list[Denial]) -> frozenset[str]:
    if not denies:
        return frozenset()
    everything = catalogue().all_actions()
    blocked: set[str] = set()
    for deny in denies:
        blocked |= (everything - deny.actions) if deny.all_but else deny.actions
    return frozenset(blocked)


def _within_boundary(allowed: list[GrantGroup], boundary: list[GrantGroup]) -> list[GrantGroup]:
    """Each part capped by the boundary: its actions the boundary allows, on the narrower of both resources."""
    out: list[GrantGroup] = []
    for part in allowed:
        for limit in boundary:
            actions = part.actions & limit.actions
            if not actions:
                continue
            conditional = part.conditional or limit.conditional
            if resource_covers(limit.resource, part.resource):
                out.append(GrantGroup(actions, part.resource, conditional, part.policy, part.location))
            elif resource_covers(part.resource, limit.resource):
                out.append(GrantGroup(actions, limit.resource, conditional, part.policy, part.location))
            elif _overlap_possible(limit.resource, part.resource):  # they may share resources: keep the grant
                out.append(GrantGroup(actions, part.resource, conditional, part.policy, part.location))
    return out


def _boundary_policy(role: Role, inventory: Inventory) -> Policy | None:
    """The permissions boundary as a policy with its document, when lambdasec can know it."""
    from .managed import managed_policy
    from .policy import parse_document

    if role.boundary_policy is not None:  # read with its document (live scans)
        return role.boundary_policy
    value = role.permissions_boundary
    if isinstance(value, str):
        known = managed_policy(value)
        if known is not None:
            return Policy(known.name, "aws-managed", parse_document(known.document), role.at("PermissionsBoundary"),
                          arn=known.arn)
    return next(_customer_managed(value, inventory), None)


def _customer_managed(value: Value | None, inventory: Inventory) -> Iterator[Policy]:
    """Customer managed policies of the inventory (attached to some principal) that ``value`` names."""
    if isinstance(value, ResourceRef):
        file, _, target = value.key.rpartition("#")
        names = {target}
    elif isinstance(value, str):
        file, target, names = "", "", {value.strip(), value.strip().rsplit("/", 1)[-1]}
    else:
        return
    principals: list[Role | User | Group] = [*inventory.roles, *inventory.users, *inventory.groups]
    for principal in principals:
        for policy in principal.policies:
            if policy.kind != "customer-managed" or not isinstance(policy.document, PolicyDocument):
                continue
            if file and policy.location.file != file:
                continue
            declared_here = bool(target) and policy.location.path[:2] == ("Resources", target)
            if policy.arn in names or policy.name in names or declared_here:
                yield policy


# ---------------------------------------------------------------- the whole role
def compute_effective_permissions(role: Role, inventory: Inventory) -> EffectivePermissions:
    """The role's effective grants, computed afresh (a private result; :func:`effective_permissions` shares one)."""
    reading = _read_policies(role.policies)
    allowed = _subtract_denies(reading.allowed, reading.denied)
    unresolved = reading.unresolved
    if role.permissions_boundary is not None:
        boundary = _boundary_policy(role, inventory)
        if boundary is None:
            unresolved.append(f"permissions boundary {_text(role.permissions_boundary)} could not be read: the "
                              "grants are not capped by it")
        else:
            limits = _read_policies([boundary], what="permissions boundary: ")
            unresolved.extend(limits.unresolved)
            allowed = _within_boundary(allowed, _subtract_denies(limits.allowed, limits.denied))
    return EffectivePermissions(
        groups=_disjoint(allowed), unknown_actions=reading.unknown_actions, unresolved=unresolved,
        conditional_denies=[deny for deny in reading.denied if deny.conditional],
    )


def _disjoint(allowed: list[GrantGroup]) -> list[GrantGroup]:
    """No action twice for one (resource, conditional): the first policy that grants it names it."""
    seen: dict[tuple[str, bool], set[str]] = {}
    groups: list[GrantGroup] = []
    for part in allowed:
        done = seen.setdefault((part.resource, part.conditional), set())
        fresh = part.actions - done
        if not fresh:
            continue
        done |= fresh
        groups.append(part if len(fresh) == len(part.actions) else
                      GrantGroup(fresh, part.resource, part.conditional, part.policy, part.location))
    return groups


def _signature(role: Role) -> tuple[Any, ...]:
    """Changes when the role's policies or boundary change, so a cached result is not reused after an edit."""
    documents = tuple(
        (id(policy), id(policy.document),
         len(policy.document.statements) if isinstance(policy.document, PolicyDocument) else -1)
        for policy in role.policies
    )
    return documents, repr(role.permissions_boundary)


def effective_permissions(role: Role, inventory: Inventory) -> EffectivePermissions:
    """The role's effective grants (computed once per role and inventory, then shared: do not modify it)."""
    memo: dict[str, tuple[Role, tuple[Any, ...], EffectivePermissions]] = inventory.derived.setdefault(
        "effective_permissions", {})
    signature = _signature(role)
    cached = memo.get(role.key)
    if cached is not None and cached[0] is role and cached[1] == signature:
        return cached[2]
    result = compute_effective_permissions(role, inventory)
    memo[role.key] = (role, signature, result)
    return result
