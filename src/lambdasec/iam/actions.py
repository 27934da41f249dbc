"""What the actions of an IAM policy statement allow, without a catalogue of AWS actions.

Matching follows IAM semantics: action names are case-insensitive, ``*`` matches any run of
characters (colons included, so ``*`` alone and ``s3*:*`` work) and ``?`` one character. An
``Allow`` with ``NotAction`` allows every action except the listed ones, so it is treated as broad.

Access levels ("List", "Read", "Write", "Permissions management", "Tagging") are *estimated*
from the action's verb (``Get``, ``List``, ``Put``, ``Tag``...) plus an explicit table of the
permissions-management actions that matter for Lambda roles. This is a stop-gap: a real catalogue of
AWS service actions (every action, its access level and the resources it supports) replaces this
estimate in a later issue. Until then, an unknown verb counts as "Write", the cautious reading.
"""

from __future__ import annotations

import functools
import re
from typing import Final, Literal

from ..model.inventory import PolicyStatement
from ..model.values import Value

AccessLevel = Literal["List", "Read", "Write", "Permissions management", "Tagging"]

LIST: Final = "List"
READ: Final = "Read"
WRITE: Final = "Write"
PERMISSIONS: Final = "Permissions management"
TAGGING: Final = "Tagging"

# Actions that change who may do what (lower case). Exact names only: no catalogue to expand against.
PERMISSIONS_ACTIONS: Final = frozenset({
    # IAM: policies attached to identities, trust policies, boundaries, roles handed to services
    "iam:attachrolepolicy", "iam:attachuserpolicy", "iam:attachgrouppolicy",
    "iam:detachrolepolicy", "iam:detachuserpolicy", "iam:detachgrouppolicy",
    "iam:putrolepolicy", "iam:putuserpolicy", "iam:putgrouppolicy",
    "iam:deleterolepolicy", "iam:deleteuserpolicy", "iam:deletegrouppolicy",
    "iam:createpolicy", "iam:createpolicyversion", "iam:deletepolicy", "iam:deletepolicyversion",
    "iam:setdefaultpolicyversion",
    "iam:putrolepermissionsboundary", "iam:putuserpermissionsboundary",
    "iam:deleterolepermissionsboundary", "iam:deleteuserpermissionsboundary",
    "iam:updateassumerolepolicy", "iam:passrole",
    "iam:createrole", "iam:updaterole", "iam:createuser", "iam:updateuser",
    "iam:createaccesskey", "iam:updateaccesskey", "iam:createloginprofile", "iam:updateloginprofile",
    "iam:addusertogroup", "iam:addroletoinstanceprofile",
    # STS: becoming another principal
    "sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity", "sts:getfederationtoken",
    # KMS: key policies and grants
    "kms:creategrant", "kms:putkeypolicy", "kms:revokegrant", "kms:retiregrant",
    # Resource policies and ACLs
    "s3:putbucketpolicy", "s3:deletebucketpolicy", "s3:putbucketacl", "s3:putobjectacl",
    "s3:putobjectversionacl", "s3:putbucketpublicaccessblock", "s3:putaccountpublicaccessblock",
    "s3:putbucketownershipcontrols",
    "lambda:addpermission", "lambda:removepermission",
    "lambda:addlayerversionpermission", "lambda:removelayerversionpermission",
    "secretsmanager:putresourcepolicy", "secretsmanager:deleteresourcepolicy",
    "sns:settopicattributes", "sns:addpermission", "sns:removepermission",
    "sqs:setqueueattributes", "sqs:addpermission", "sqs:removepermission",
    "ecr:setrepositorypolicy", "ecr:deleterepositorypolicy",
    "dynamodb:putresourcepolicy", "dynamodb:deleteresourcepolicy",
    "events:putpermission", "events:removepermission",
    "logs:putresourcepolicy", "logs:deleteresourcepolicy",
})

# Actions whose verb misleads (lower case -> level).
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
# Known verbs of change: used to tell a bare verb family ("s3:Put*") from a narrower pattern.
_WRITE_VERBS: Final = (
    "put", "create", "delete", "update", "attach", "detach", "pass", "add", "remove", "set", "invoke",
    "publish", "send", "start", "stop", "run", "modify", "associate", "disassociate", "enable", "disable",
    "reset", "restore", "upload", "copy", "import", "export", "replace", "revoke", "authorize", "assign",
    "unassign", "register", "deregister", "terminate", "reboot", "encrypt", "decrypt", "generate",
    "assume", "change", "retire", "abort", "complete", "batchwrite", "write", "subscribe", "unsubscribe",
)
# In IAM every change is a change of permissions: "iam:Create*" creates roles, users and access keys.
_PERMISSIONS_SERVICES: Final = frozenset({"iam"})

_WILDCARD = re.compile(r"[*?]")
_EVERY_ACTION = re.compile(r"\*+(:\*+)?")


# ---------------------------------------------------------------- matching
def has_wildcard(pattern: str) -> bool:
    return _WILDCARD.search(pattern) is not None


@functools.lru_cache(maxsize=4096)
def _pattern(pattern: str) -> re.Pattern[str]:
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern.strip())
    return re.compile(regex, re.IGNORECASE | re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    """True when an IAM action pattern (``s3:Get*``, ``*``) covers a concrete action, case-insensitively."""
    return _pattern(pattern).fullmatch(action.strip()) is not None


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


# ---------------------------------------------------------------- access levels
def classify_access(action_pattern: str) -> AccessLevel:
    """Estimated access level of an action or action pattern.

    A wildcard pattern is estimated from its verb: ``s3:Put*`` is "Write", ``s3:Get*`` "Read". A
    pattern without a verb (``iam:*``, ``*``, ``iam:*Policy*``) or narrower than a bare verb family
    (``s3:PutBucket*``) is "Permissions management" when it covers an action of the permissions table.
    """
    text = action_pattern.strip().lower()
    service, _, name = text.partition(":")
    if not has_wildcard(text):
        if text in PERMISSIONS_ACTIONS:
            return PERMISSIONS
        return _VERB_EXCEPTIONS.get(text) or _level_of_name(name)
    covers_permissions = bool(permissions_actions_covered(text))
    if has_wildcard(service) or not name:
        return PERMISSIONS if covers_permissions else WRITE  # may reach any service
    prefix = _WILDCARD.split(name, maxsplit=1)[0]
    verb = _verb_of(prefix)
    if verb is None:
        return PERMISSIONS if covers_permissions else WRITE
    level = _level_of_verb(verb)
    if not covers_permissions or level in (READ, LIST, TAGGING):
        return level
    if prefix != verb or service in _PERMISSIONS_SERVICES:
        return PERMISSIONS
    return level


def permissions_actions_covered(action_pattern: str) -> list[str]:
    """The actions of the permissions table an action pattern covers, sorted."""
    return sorted(action for action in PERMISSIONS_ACTIONS if action_matches(action_pattern, action))


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
