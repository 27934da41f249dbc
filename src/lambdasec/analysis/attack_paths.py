"""Attack paths: how a function can be reached, what its role then reaches, and one priority per function.

A pure function of the inventory (see docs/attack-paths.md for the scoring):

* entry points are the reasons the exposure rules report a function as reachable by callers outside the
  account's control: a function URL with AuthType NONE (EXP001), a resource-policy statement for
  Principal '*' with no source condition (EXP003), an API route without authorization (EXP008), a
  service principal allowed to invoke it for any account's resources (EXP004);
* the reach (blast radius) of the execution role comes from its effective permissions: administrator
  access, privilege escalation, reading data on every resource, writing on every resource;
* the priority combines both.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..iam.blast_radius import DATA_READ_ACTIONS, on_every_resource  # IAM011's data reads and "every resource"
from ..model.findings import Severity
from ..model.inventory import Function, Inventory, Permission, Role
from ..model.priority import EntryPoint, Priority, Reach
from .exposure import classify_principal, permission_restricted, source_unpinned

if TYPE_CHECKING:
    from ..iam.effective import EffectivePermissions, Grant, GrantGroup

# Exposure levels of entry points.
INTERNET = 3  # anyone on the internet, no credentials: function URL AuthType NONE, Principal '*'
REACHABLE = 2  # anyone who can reach the API (which may still be private), or any AWS account's resources

# Reach levels of execution roles.
ADMIN = 4  # administrator access or privilege escalation: the whole account
READ_ALL = 3  # reads secrets, parameters, objects or tables on every resource
WRITE_ANY = 2  # writes on every resource of some service
LIMITED = 1  # anything else, or a role outside the scan

# A role holding nearly every action of the catalogue on "*" is an administrator (AdministratorAccess,
# `Action: "*"`, `NotAction` with a short list): PowerUserAccess leaves out IAM, which it can mostly
# recover through other services.
ADMIN_SHARE = 0.9

# Granted on "*" by AWS's own Lambda policies because they support no useful scoping (logs, traces,
# metrics, the network interfaces of VPC functions), or by design of the event source pollers: every
# function has them, so they say nothing about one function's blast radius (identity.py explains more).
_BY_DESIGN = frozenset({
    "xray:puttracesegments", "xray:puttelemetryrecords", "cloudwatch:putmetricdata",
    "logs:createloggroup", "logs:createlogstream", "logs:putlogevents",
    "ec2:createnetworkinterface", "ec2:deletenetworkinterface", "ec2:describenetworkinterfaces",
    "ec2:detachnetworkinterface", "ec2:assignprivateipaddresses", "ec2:unassignprivateipaddresses",
})
_POLLER_POLICIES = frozenset({
    "AWSLambdaSQSQueueExecutionRole", "AWSLambdaKinesisExecutionRole", "AWSLambdaDynamoDBExecutionRole",
    "AWSLambdaMSKExecutionRole",
})
_MAX_LISTED = 8
UNKNOWN_REACH = Reach("unknown", LIMITED)


# ---------------------------------------------------------------- entry points
def entry_points(inventory: Inventory) -> dict[str, list[EntryPoint]]:
    """Function key -> its entry points, most exposed first."""
    found: dict[str, list[EntryPoint]] = {}

    def add(target: object, entry: EntryPoint) -> None:
        fn = inventory.function_for(target)
        if fn is not None:
            found.setdefault(fn.key, []).append(entry)

    open_urls: set[str] = set()
    for url in inventory.function_urls:
        if isinstance(url.auth_type, str) and url.auth_type.strip().upper() == "NONE":
            fn = inventory.function_for(url.function)
            open_urls.add(fn.key if fn is not None else "")
            add(url.function, EntryPoint("function-url", url.id, f"function URL {url.id} with AuthType NONE",
                                         INTERNET, url.at("AuthType")))
    for permission in inventory.permissions:
        if permission_restricted(permission):
            continue
        principal = classify_principal(permission.principal)
        fn = inventory.function_for(permission.function)
        if principal.kind == "public":
            if fn is not None and fn.key in open_urls and _url_permission(permission):
                continue  # the public half of an AuthType NONE URL: the URL entry point says it already
            add(permission.function, EntryPoint(
                "public-permission", permission.id, f"permission {permission.id} for Principal '*'", INTERNET,
                permission.at("Principal")))
        elif principal.kind == "service" and source_unpinned(permission, principal.shown):
            add(permission.function, EntryPoint(
                "unpinned-service-permission", permission.id,
                f"permission {permission.id} letting {principal.shown} invoke it for any account's resources",
                REACHABLE, permission.at("Principal")))
    for route in inventory.api_routes:
        authorization = route.authorization.strip().upper() if isinstance(route.authorization, str) else ""
        if authorization == "NONE" and route.method.strip().upper() != "OPTIONS":
            add(route.function, EntryPoint(
                "open-api-route", route.id, f"API route {route.method} {route.path} of {route.api} without "
                "authorization", REACHABLE, route.at("AuthorizationType")))
    for entries in found.values():
        entries.sort(key=lambda e: (-e.exposure, e.kind, e.resource_id))
    return found


def _url_permission(permission: Permission) -> bool:
    """The statement that makes an AuthType NONE function URL public (SAM and Terraform add one)."""
    auth, action = permission.function_url_auth_type, permission.action
    return permission.invoked_via_function_url or (isinstance(auth, str) and auth.strip().upper() == "NONE") or (
        isinstance(action, str) and action.strip().lower() == "lambda:invokefunctionurl")


# ---------------------------------------------------------------- reach
def reach_of(role: Role | None, inventory: Inventory) -> Reach:
    """The blast radius of an execution role (None: the role is outside the scan)."""
    from ..iam.effective import effective_permissions
    from ..iam.principals import plainly_admin

    if role is None:
        return UNKNOWN_REACH
    if plainly_admin(role, inventory):
        return Reach("admin", ADMIN, role.id)
    granted = effective_permissions(role, inventory)
    if is_admin(granted):
        return Reach("admin", ADMIN, role.id)
    escalation = escalation_methods(role, inventory)
    read_all = tuple(r.action for r in DATA_READ_ACTIONS
                     if any(_counts(g) for g in granted.grants_for(r.action, canonical=True)))
    write_all = write_on_any_resource(granted)
    if escalation:
        return Reach("escalation", ADMIN, role.id, escalation, read_all, write_all)
    if read_all:
        return Reach("read-all-data", READ_ALL, role.id, (), read_all, write_all)
    if write_all:
        return Reach("write-any", WRITE_ANY, role.id, (), (), write_all)
    return Reach("limited", LIMITED, role.id)


# Fewer grants than this cannot be ADMIN_SHARE of a catalogue of over 10,000 actions (tests check the size):
# most roles are decided without reading every service of the catalogue, which costs about 0.1 s.
MIN_ADMIN_GRANTS = 9000


def is_admin(granted: EffectivePermissions) -> bool:
    from ..iam.catalogue import catalogue

    size = granted.size
    if size < MIN_ADMIN_GRANTS:
        return False
    needed = ADMIN_SHARE * len(catalogue().expand("*"))
    if needed == 0 or size < needed:
        return False
    if "admin" not in granted.memo:  # asked for every function and principal: counted once per role
        counted = frozenset().union(*(_counted_actions(group) for group in granted.groups))
        granted.memo["admin"] = len(counted) >= needed
    admin: bool = granted.memo["admin"]
    return admin


def write_on_any_resource(granted: EffectivePermissions) -> tuple[str, ...]:
    """Write and permissions-management actions granted on "*" that could have been scoped to resources."""
    from ..iam.catalogue import catalogue

    known = catalogue()
    out: set[str] = set()
    for group in granted.groups:
        for action in _counted_actions(group):
            if action.lower() in _BY_DESIGN:
                continue
            info = known.info(action)
            if info is not None and info.resource_types and info.access_level in ("Write", "Permissions management"):
                out.add(info.name)
    return tuple(sorted(out))


def _counts(grant: Grant) -> bool:
    """An unconditional grant on every resource that the function's own needs do not explain."""
    if grant.conditional or (grant.resource != "*" and not on_every_resource(grant.resource, grant.action)):
        return False
    return grant.policy.rsplit("/", 1)[-1] not in _POLLER_POLICIES  # managed ones: by ARN


def _counted_actions(group: GrantGroup) -> frozenset[str]:
    """The actions of a group that :func:`_counts` would count, one by one."""
    if group.conditional or group.policy.rsplit("/", 1)[-1] in _POLLER_POLICIES:
        return frozenset()
    if group.resource == "*":
        return group.actions
    return frozenset(action for action in group.actions if on_every_resource(group.resource, action))


def escalation_methods(role: Role, inventory: Inventory) -> tuple[str, ...]:
    """Titles of the privilege-escalation methods the role enables (IAM009's table, iam/escalation.py)."""
    from ..iam.escalation import method_titles

    return tuple(method_titles(role, inventory))


# ---------------------------------------------------------------- priority
def level_of(exposure: int, reach: int) -> Severity:
    """critical: reachable and reaching the account or all its data; then high, medium, low."""
    if exposure >= REACHABLE and reach >= READ_ALL:
        return Severity.CRITICAL
    if reach >= READ_ALL or (exposure >= REACHABLE and reach == WRITE_ANY):
        return Severity.HIGH
    if exposure >= REACHABLE or reach == WRITE_ANY:
        return Severity.MEDIUM
    return Severity.LOW


def priority_of(fn: Function, entries: Iterable[EntryPoint], reach: Reach) -> Priority:
    points = tuple(entries)
    exposure = max((e.exposure for e in points), default=0)
    return Priority(fn.id, fn.key, fn.location, level_of(exposure, reach.level),
                    (1 + exposure) * (1 + reach.level), exposure, points, reach)


def priorities(inventory: Inventory) -> dict[str, Priority]:
    """Function key -> priority, for every function of the inventory (computed once per inventory: the engine
    orders the report by it and IAM016 reports the critical ones)."""
    cached: dict[str, Priority] | None = inventory.derived.get("priorities")
    if cached is None:
        cached = inventory.derived["priorities"] = _priorities(inventory)
    return cached


def _priorities(inventory: Inventory) -> dict[str, Priority]:
    entries = entry_points(inventory)
    reaches: dict[str, Reach] = {}  # per role: several functions often share one
    out: dict[str, Priority] = {}
    for fn in inventory.functions:
        role = inventory.role_of(fn)
        if role is None:
            reach = UNKNOWN_REACH
        else:
            reach = reaches.get(role.key) or reaches.setdefault(role.key, reach_of(role, inventory))
        out[fn.key] = priority_of(fn, entries.get(fn.key, []), reach)
    return out


def ranked(found: dict[str, Priority]) -> list[Priority]:
    """Highest priority first; ties by function id and key so the order is stable."""
    return sorted(found.values(), key=lambda p: (-p.rank[0], -p.rank[1], p.function_id, p.function_key))


def listing(items: Iterable[str]) -> str:
    shown = list(items)
    text = ", ".join(shown[:_MAX_LISTED])
    return f"{text} and {len(shown) - _MAX_LISTED} more" if len(shown) > _MAX_LISTED else text
