"""IAM principals other than execution roles: what a user, group or role may do to a given resource.

A user's permissions are its own policies plus the policies of every group of the inventory it belongs
to, capped by its permissions boundary (groups have none). Effective permissions themselves come from
:mod:`lambdasec.iam.effective`; this module only gathers the policies and matches the resources of the
grants against a function or role of the inventory.

Resource matching is conservative in one direction only: a grant covers the target when its resource
is ``*``, a reference to the target, or an ARN pattern whose service and resource part match the
target's name (IAM glob, case-sensitive). Region and account are not compared: templates rarely know
them, and a principal of the same template lives in the same account. When the target's name is not
known statically (a CloudFormation function without FunctionName gets a generated one), only a
wildcard-only name part (``function:*``) covers it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..model.inventory import Function, Group, Inventory, Policy, PolicyDocument, Resource, Role, User
from ..model.values import ResourceRef

R = TypeVar("R", bound=Resource)

if TYPE_CHECKING:
    from .effective import EffectivePermissions, Grant

Principal = Role | User | Group

# Stands for a name the scan does not know: no literal pattern character matches it, only wildcards do.
_UNKNOWN_NAME = "\x00"
_PSEUDO = re.compile(r"\$\{AWS::[A-Za-z]+\}")
_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
_UNRESOLVED_SHOWN = "<unresolved "


def deployment_unit(resource: Resource) -> str:
    """The template, serverless file or Terraform module a resource comes from: the part of its key before
    ``#``. A scan of many unrelated projects is not one account, so who may act on what is judged within a
    unit (a role of one stack does not hold grants on another stack's functions just by sharing a folder).

    Live resources are keyed by ARN: their unit is their account, ``aws-account:<id>`` (IAM ARNs have no region
    but carry the account), so the roles, users and functions of one account are judged together."""
    key = resource.key
    if key.startswith("arn:"):
        parts = key.split(":", 5)
        if len(parts) > 4 and parts[4]:
            return f"aws-account:{parts[4]}"
    return key.partition("#")[0]


def roles_in_unit(resource: Resource, inventory: Inventory) -> list[Role]:
    """The roles of the resource's deployment unit."""
    return list(_units(inventory, "roles").get(deployment_unit(resource), ()))


def functions_in_unit(resource: Resource, inventory: Inventory) -> list[Function]:
    """The functions of the resource's deployment unit."""
    return list(_units(inventory, "functions").get(deployment_unit(resource), ()))


def _units(inventory: Inventory, bucket: str) -> dict[str, list[Any]]:
    """A bucket of the inventory by deployment unit, built once per scan: rules ask for every role, and
    scanning the whole bucket each time grows with the square of the scan."""
    key = f"deployment-units:{bucket}"
    index: dict[str, list[Any]] | None = inventory.derived.get(key)
    if index is None:
        index = inventory.derived[key] = {}
        for resource in getattr(inventory, bucket):
            index.setdefault(deployment_unit(resource), []).append(resource)
    return index


def principals(inventory: Inventory) -> list[Principal]:
    """Every IAM principal of the inventory: roles, then users, then groups."""
    return [*inventory.roles, *inventory.users, *inventory.groups]


def kind_of(principal: Principal) -> str:
    return "role" if isinstance(principal, Role) else "user" if isinstance(principal, User) else "group"


def groups_of(user: User, inventory: Inventory) -> list[Group]:
    """The user's groups that the inventory holds (groups known only by name have unknown policies)."""
    found = (inventory.resolve(group, Group) for group in user.groups)
    return [group for group in found if group is not None]


def members_of(group: Group, inventory: Inventory) -> list[str]:
    """Who is in the group, for messages: user ids of the inventory, other users by name."""
    out: list[str] = []
    for member in group.members:
        user = inventory.resolve(member, User)
        out.append(user.id if user is not None else str(member))
    return out


def policies_of(principal: Principal, inventory: Inventory) -> list[Policy]:
    if isinstance(principal, User):
        return [*principal.policies, *(p for group in groups_of(principal, inventory) for p in group.policies)]
    return list(principal.policies)


def plainly_admin(principal: Principal, inventory: Inventory) -> bool:
    """Allowed every action on every resource by an unconditional statement, with no Deny, no unreadable
    policy and no boundary that could take anything away: an administrator, decided from the statements
    without expanding the ~22,000 grants of ``*`` (which cost several seconds on scans with many of them)."""
    from .actions import is_allow, matches_every_action, on_any_resource

    if getattr(principal, "permissions_boundary", None) is not None:
        return False
    documents = [policy.document for policy in
                 (principal.policies if isinstance(principal, Role) else policies_of(principal, inventory))]
    if not all(isinstance(document, PolicyDocument) for document in documents):
        return False
    statements = [st for document in documents if isinstance(document, PolicyDocument) for st in document.statements]
    if any(not is_allow(st) or st.unresolved for st in statements):
        return False
    return any(not st.conditions and on_any_resource(st) and any(map(matches_every_action, st.actions))
               for st in statements)


def permissions_of(principal: Principal, inventory: Inventory) -> EffectivePermissions:
    """Effective permissions of a role, user (with its groups) or group."""
    from .effective import effective_permissions

    if isinstance(principal, Role):
        return effective_permissions(principal, inventory)
    # effective_permissions reads a role's policies and boundary: give it the principal's, as a role.
    stand_in = Role(key=principal.key, id=principal.id, type=principal.type, location=principal.location,
                    policies=policies_of(principal, inventory),
                    permissions_boundary=principal.permissions_boundary if isinstance(principal, User) else None,
                    boundary_policy=principal.boundary_policy if isinstance(principal, User) else None)
    return effective_permissions(stand_in, inventory)


# ---------------------------------------------------------------- resources
def function_arn_resource(fn: Function) -> str:
    """The resource part of the function's ARN (`function:NAME`)."""
    return f"function:{fn.name if isinstance(fn.name, str) and fn.name else _UNKNOWN_NAME}"


def role_arn_resource(role: Role) -> str:
    """The resource part of the role's ARN (`role/NAME`; roles of templates rarely set a path)."""
    if role.key.startswith("arn:") and ":role/" in role.key:
        return role.key.split(":", 5)[5]  # live roles: the real resource part, path included
    return f"role/{role.name if isinstance(role.name, str) and role.name else _UNKNOWN_NAME}"


def grant_covers(grant: Grant, target: Resource, service: str, arn_resource: str) -> bool:
    return resource_covers(grant.resource, target, service, arn_resource)


def resource_covers(pattern: str, target: Resource, service: str, arn_resource: str) -> bool:
    """True when a grant's resource (`*`, a reference shown as text, an ARN pattern) covers the target."""
    pattern = pattern.strip()
    if pattern.startswith(_UNRESOLVED_SHOWN) and pattern.endswith(">"):  # str(Unresolved): read its expression
        pattern = pattern[len(_UNRESOLVED_SHOWN):-1]
    if pattern == "*":
        return True
    if _names(pattern, target):
        return True
    pattern = _substitute(pattern, target, arn_resource)
    if not pattern.startswith("arn:"):
        return False
    parts = pattern.split(":", 5)
    if len(parts) < 6:  # e.g. "arn:aws:lambda:*": the trailing wildcard spans the remaining fields
        return _glob(pattern, f"arn:aws:{service}:region:account:{arn_resource}")
    return _glob(parts[2].lower(), service) and _glob(parts[5], arn_resource)


class NameIndex(Generic[R]):
    """Functions or roles sorted by the resource part of their ARN (``function:NAME``, ``role/NAME``): the ones an
    ARN pattern with a literal start covers are found by bisection, not by matching every one (thousands of roles
    with their own patterns, times thousands of functions). :func:`resource_covers` still decides each one."""

    def __init__(self, items: Sequence[R], service: str, arn_resource: Callable[[R], str]) -> None:
        self.items = list(items)
        self.service = service
        self.arn_resource = arn_resource
        self.resources = [arn_resource(item) for item in self.items]
        ordered = sorted(range(len(self.items)), key=self.resources.__getitem__)
        self.sorted_resources = [self.resources[i] for i in ordered]
        self.order = ordered

    def covered(self, pattern: str) -> list[R]:
        """The items the pattern covers, in their original order."""
        prefix = _literal_start(pattern)
        if prefix is None:
            candidates: Iterable[int] = range(len(self.items))
        else:
            low = bisect.bisect_left(self.sorted_resources, prefix)
            high = low
            while high < len(self.sorted_resources) and self.sorted_resources[high].startswith(prefix):
                high += 1
            candidates = sorted(self.order[low:high])
        return [self.items[i] for i in candidates
                if resource_covers(pattern, self.items[i], self.service, self.resources[i])]


def _literal_start(pattern: str) -> str | None:
    """The text every resource part an ARN pattern matches starts with (``function:team-`` of
    ``arn:aws:lambda:*:*:function:team-*``); None when the pattern is not such an ARN or starts with a wildcard."""
    pattern = pattern.strip()
    parts = pattern.split(":", 5)
    if not pattern.startswith("arn:") or len(parts) < 6 or "$" in parts[5]:
        return None
    start = re.split(r"[*?]", parts[5], maxsplit=1)[0]
    return start or None


def _names(pattern: str, target: Resource) -> bool:
    """A reference to the target, as effective permissions show it (`Fn.Arn`, `aws_lambda_function.x.arn`)."""
    own = str(ResourceRef(target.key))
    return pattern == own or pattern.startswith(own + ".")


def _substitute(pattern: str, target: Resource, arn_resource: str) -> str:
    """`${AWS::Region}` and the like match anything; `${Target}` or `${Target.Arn}` is the target itself."""
    pattern = _PSEUDO.sub("*", pattern)
    own = str(ResourceRef(target.key))
    name = arn_resource.split(":", 1)[-1].split("/", 1)[-1]

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        return name if inner == own or inner.startswith(own + ".") else match.group(0)

    return _PLACEHOLDER.sub(replace, pattern)


def _glob(pattern: str, text: str) -> bool:
    return _compiled(pattern).fullmatch(text) is not None


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str]:
    """IAM wildcards: `*` any run of characters, `?` one character; everything else literal."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


def covering_grants(permissions: EffectivePermissions, action: str, target: Resource, service: str,
                    arn_resource: str) -> list[Grant]:
    return [g for g in permissions.grants_for(action) if grant_covers(g, target, service, arn_resource)]


def shown_principal(principal: Principal, inventory: Inventory) -> str:
    """`user Dev`, `group Deployers (members: Dev, alice)`, `role Deployer`."""
    text = f"{kind_of(principal)} {principal.id}"
    if isinstance(principal, Group):
        members = members_of(principal, inventory)
        text += f" (members: {', '.join(members)})" if members else " (no members in the scan)"
    return text


def sorted_principals(items: Sequence[Principal]) -> list[Principal]:
    order = {"role": 0, "user": 1, "group": 2}
    return sorted(items, key=lambda p: (order[kind_of(p)], p.id))
