"""What the actions of an IAM policy statement allow.

Matching follows IAM semantics: action names are case-insensitive, ``*`` matches any run of
characters (colons included, so ``*`` alone and ``s3*:*`` work) and ``?`` one character. An
``Allow`` with ``NotAction`` allows every action except the listed ones, so it is treated as broad.

Access levels ("List", "Read", "Write", "Permissions management", "Tagging") come from the IAM action
catalogue (iam/catalogue.py), with one lambdasec reading on top: the actions of :data:`PERMISSIONS_ACTIONS`,
which AWS files under "Write" but which hand out or take on permissions (``iam:PassRole``,
``iam:CreateAccessKey``, ``sts:AssumeRole``...), count as "Permissions management". A pattern gets the
highest level among the actions it matches. A name or pattern the catalogue does not know (a new action,
a typo) is estimated from its verb (``Get``, ``List``, ``Put``, ``Tag``...); an unknown verb counts as
"Write", the cautious reading.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Final

from ..model.inventory import PolicyStatement
from ..model.values import Value
from .catalogue import AccessLevel

LIST: Final = "List"
READ: Final = "Read"
WRITE: Final = "Write"
PERMISSIONS: Final = "Permissions management"
TAGGING: Final = "Tagging"

# Actions AWS files under "Write" that hand out or take on permissions (lower case): lambdasec reads them as
# "Permissions management". Every other action's level is the catalogue's.
PERMISSIONS_ACTIONS: Final = frozenset({
    # IAM: roles handed to services, credentials and identities created, roles and users changed
    "iam:passrole", "iam:createaccesskey", "iam:updateaccesskey", "iam:createloginprofile",
    "iam:updateloginprofile", "iam:createrole", "iam:updaterole", "iam:createuser", "iam:updateuser",
    "iam:addusertogroup", "iam:addroletoinstanceprofile",
    # STS: becoming another principal
    "sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity", "sts:getfederationtoken",
})

# Levels from the least to the most consequential: a pattern gets the highest among its actions.
_LEVEL_ORDER: Final[tuple[AccessLevel, ...]] = ("List", "Read", "Tagging", "Write", "Permissions management")

# For actions the catalogue does not know: verbs whose name misleads (lower case -> level).
_VERB_EXCEPTIONS: Final[dict[str, AccessLevel]] = {
    "kinesis:subscribetoshard": READ,  # reads a shard, it does not subscribe anything
    "sqs:receivemessage": READ,
}

# Verbs, lower case. A name's verb is the longest of these it starts with.
_LIST_VERBS: Final = ("list", "describe")
_READ_VERBS: Final = (
    "get", "batchget", "head", "query", "scan", "search", "select", "lookup", "receive", "download",
    "view", "read", "simulate",
)
_TAGGING_VERBS: Final = ("tag", "untag")
# Verbs of change.
_WRITE_VERBS: Final = (
    "put", "create", "delete", "update", "attach", "detach", "pass", "add", "remove", "set", "invoke",
    "publish", "send", "start", "stop", "run", "modify", "associate", "disassociate", "enable", "disable",
    "reset", "restore", "upload", "copy", "import", "export", "replace", "revoke", "authorize", "assign",
    "unassign", "register", "deregister", "terminate", "reboot", "encrypt", "decrypt", "generate",
    "assume", "change", "retire", "abort", "complete", "batchwrite", "write", "subscribe", "unsubscribe",
)

_WILDCARD = re.compile(r"[*?]")
_EVERY_ACTION = re.compile(r"\*+(:\*+)?")


# ---------------------------------------------------------------- matching
def has_wildcard(pattern: str) -> bool:
    return _WILDCARD.search(pattern) is not None


def action_matches(pattern: str, action: str) -> bool:
    """True when an IAM action pattern (``s3:Get*``, ``*``) covers a concrete action, case-insensitively.

    Matched without regular expressions: a policy may list thousands of distinct patterns, each met once or
    twice, and compiling one regex per pattern (or thrashing a cache of them) costs far more than matching."""
    return glob_matches(pattern.strip().lower(), action.strip().lower())


def glob_matches(pattern: str, text: str) -> bool:
    """``*`` (any run, empty too) and ``?`` (one character) over the whole text; the rest literal."""
    parts = pattern.split("*")
    if len(parts) == 1:
        return len(text) == len(pattern) and _at(pattern, text, 0)
    first, *middle, last = parts
    if len(text) < len(first) + len(last) or not _at(first, text, 0) or not _at(last, text, len(text) - len(last)):
        return False
    position, end = len(first), len(text) - len(last)
    for part in middle:  # leftmost placement of each part is always safe: the next "*" absorbs the rest
        found = _find(part, text, position, end)
        if found < 0:
            return False
        position = found + len(part)
    return True


def _at(part: str, text: str, start: int) -> bool:
    if "?" not in part:
        return text.startswith(part, start)
    return start + len(part) <= len(text) and all(
        want in ("?", got) for want, got in zip(part, text[start:start + len(part)], strict=True))


def _find(part: str, text: str, start: int, end: int) -> int:
    if "?" not in part:
        return text.find(part, start, end)
    for offset in range(start, end - len(part) + 1):
        if _at(part, text, offset):
            return offset
    return -1


def matches_every_action(pattern: str) -> bool:
    """``*``, ``*:*`` (and the same with repeated stars)."""
    return _EVERY_ACTION.fullmatch(pattern.strip()) is not None


def statement_covers(statement: PolicyStatement, action: str) -> bool:
    """Whether the statement's Action (or NotAction) applies to ``action``, whatever its effect."""
    if statement.actions:
        return any(action_matches(pattern, action) for pattern in statement.actions)
    if statement.not_actions:
        return not any(action_matches(pattern, action) for pattern in statement.not_actions)
    return False  # no action known (e.g. an unresolved !If): it covers nothing we can name


def is_allow(statement: PolicyStatement) -> bool:
    return statement.effect.strip().lower() == "allow"


# ---------------------------------------------------------------- resources
def is_any_resource(value: Value) -> bool:
    """``*`` or an ARN pattern whose every part after the partition is a wildcard (``arn:aws:*:*:*:*``).

    References and unresolved values are specific resources as far as we can tell.
    """
    if not isinstance(value, str):
        return False
    text = value.strip()
    if text == "*":
        return True
    parts = text.split(":")
    if parts[0].lower() != "arn" or len(parts) < 2:
        return False
    # "arn:*" wildcards the partition too; otherwise every part after the partition must be a wildcard.
    rest = parts[1:] if len(parts) == 2 else parts[2:]
    return all(part and set(part) == {"*"} for part in rest)


def on_any_resource(statement: PolicyStatement) -> bool:
    """Resource ``*``; an Allow with ``NotResource`` reaches every resource but a few, so it counts too."""
    if any(is_any_resource(resource) for resource in statement.resources):
        return True
    return not statement.resources and bool(statement.not_resources)


# ---------------------------------------------------------------- statement helpers
def is_full_admin(statement: PolicyStatement) -> bool:
    """An Allow of every action (``*``, ``*:*``, or any ``NotAction``) on every resource."""
    if not is_allow(statement) or not on_any_resource(statement):
        return False
    if any(matches_every_action(pattern) for pattern in statement.actions):
        return True
    # NotAction allows all but the listed actions; only a NotAction of "*" itself allows nothing.
    not_actions = statement.not_actions
    return bool(not_actions) and not statement.actions and not any(map(matches_every_action, not_actions))


def service_wildcards(statement: PolicyStatement) -> list[str]:
    """Action patterns of an Allow that take a whole service (``s3:*``), lower case, sorted.

    ``*`` stands for "every service" (an ``Action: "*"`` or any ``NotAction``). Deny statements give [].
    """
    if not is_allow(statement):
        return []
    found: set[str] = set()
    if statement.not_actions and not statement.actions:
        found.add("*")
    for pattern in statement.actions:
        text = pattern.strip().lower()
        if matches_every_action(text):
            found.add("*")
            continue
        service, colon, name = text.partition(":")
        if colon and name and set(name) == {"*"}:
            found.add(f"{service}:*")
        elif not colon and text.endswith("*"):
            found.add(text)  # "s3*" crosses the colon: every action of every service starting with s3
    return sorted(found)


def service_wildcard_actions(statement: PolicyStatement) -> frozenset[str]:
    """Canonical names of the catalogue actions that the :func:`service_wildcards` of a statement grant."""
    from .catalogue import catalogue

    known = catalogue()
    found: set[str] = set()
    for pattern in service_wildcards(statement):
        if pattern == "*" and statement.not_actions and not statement.actions:
            excluded = {action for listed in statement.not_actions for action in known.expand(listed)}
            found |= known.all_actions() - excluded
        else:
            found |= known.expand(pattern)
    return frozenset(found)


# ---------------------------------------------------------------- access levels
def classify_access(action_pattern: str) -> AccessLevel:
    """Access level of an action or action pattern: the highest among the catalogue actions it matches.

    ``s3:GetObject`` is "Read"; ``s3:Put*`` is "Permissions management" (it matches ``s3:PutBucketPolicy``);
    ``iam:PassRole`` is "Permissions management" (lambdasec's reading, see :data:`PERMISSIONS_ACTIONS`).
    Names and patterns that match no catalogue action are estimated from their verb.
    """
    from .catalogue import catalogue

    matched = catalogue().expand(action_pattern)
    if not matched:
        return _estimated_level(action_pattern)
    highest = 0
    for action in matched:
        highest = max(highest, _LEVEL_ORDER.index(_known_level(action)))
        if highest == len(_LEVEL_ORDER) - 1:
            break  # nothing ranks above permissions management
    return _LEVEL_ORDER[highest]


def permissions_actions_covered(action_pattern: str) -> list[str]:
    """The catalogue actions with the "Permissions management" level that a pattern matches, sorted."""
    from .catalogue import catalogue

    return sorted(action for action in catalogue().expand(action_pattern) if _known_level(action) == PERMISSIONS)


def expanded_actions(action_pattern: str) -> list[str]:
    """Canonical names of the catalogue actions a pattern matches, sorted ([] when it matches none)."""
    from .catalogue import catalogue

    return sorted(catalogue().expand(action_pattern))


def most_consequential(actions: Iterable[str], limit: int) -> list[str]:
    """Up to ``limit`` actions, permissions management first, then write, tagging, read, list.

    Within a level the shortest names first: they are the service's core actions (``s3:PutBucketPolicy``), the
    ones a reader recognises, before the long tail (``s3:AssociateAccessGrantsIdentityCenter``).
    """
    import heapq

    # The k first of tens of thousands (a role allowed "ec2:*" and "s3:*"), each action's rank computed once.
    return heapq.nsmallest(limit, actions, key=_rank)


@functools.lru_cache(maxsize=32_768)  # about the catalogue's size: every action once, then reused per role
def _rank(action: str) -> tuple[int, int, str]:
    return -_LEVEL_ORDER.index(_known_level(action)), len(action), action


def _known_level(action: str) -> AccessLevel:
    """Level of a catalogue action (canonical name)."""
    from .catalogue import catalogue

    if action.lower() in PERMISSIONS_ACTIONS:
        return PERMISSIONS
    return catalogue().access_level(action) or WRITE


# ---------------------------------------------------------------- fallback: estimate from the verb
def _estimated_level(action_pattern: str) -> AccessLevel:
    """The level of a name or pattern the catalogue does not know, from its verb ("Write" when unknown)."""
    text = action_pattern.strip().lower()
    service, _, name = text.partition(":")
    if not has_wildcard(text):
        return _VERB_EXCEPTIONS.get(text) or _level_of_name(name)
    if has_wildcard(service) or not name:
        return WRITE  # may reach any service
    verb = _verb_of(_WILDCARD.split(name, maxsplit=1)[0])
    return _level_of_verb(verb) if verb else WRITE


def _level_of_name(name: str) -> AccessLevel:
    verb = _verb_of(name)
    level = _level_of_verb(verb) if verb else WRITE
    # PutObjectTagging, DeleteBucketTagging...: the verb says Write, the object says Tagging.
    if level == WRITE and verb in ("put", "delete") and name.endswith("tagging"):
        return TAGGING
    return level


def _verb_of(name: str) -> str | None:
    verbs = (*_LIST_VERBS, *_READ_VERBS, *_TAGGING_VERBS, *_WRITE_VERBS)
    matching = [verb for verb in verbs if name.startswith(verb)]
    return max(matching, key=len) if matching else None


def _level_of_verb(verb: str) -> AccessLevel:
    if verb in _LIST_VERBS:
        return LIST
    if verb in _READ_VERBS:
        return READ
    if verb in _TAGGING_VERBS:
        return TAGGING
    return WRITE
