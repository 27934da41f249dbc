"""Normalize IAM policy documents (already intrinsic-resolved) into the inventory model."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from ..model.inventory import CoverageGap, Group, Inventory, PolicyDocument, PolicyStatement, Role, User
from ..model.location import Location
from ..model.values import ResourceRef, Unresolved, Value

# Why a written policy could not be read: an error in the file, not a value known only at deploy time.
NOT_JSON: Final = "policy document is not valid JSON"
NOT_A_MAPPING: Final = "policy document is not a mapping"
STATEMENT_NOT_A_MAPPING: Final = "policy statement is not a mapping"
_MALFORMED: Final = frozenset({NOT_JSON, NOT_A_MAPPING, STATEMENT_NOT_A_MAPPING})


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _values(value: Any) -> list[Value]:
    out: list[Value] = []
    for item in _as_list(value):
        if isinstance(item, (str, ResourceRef, Unresolved)):
            out.append(item)
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            out.append(str(item))
        else:
            out.append(Unresolved(str(item)[:120], "unexpected value in policy"))
    return out


def _principals(value: Any) -> dict[str, list[Value]]:
    if value is None:
        return {}
    if value == "*":
        return {"*": ["*"]}
    if isinstance(value, Mapping):
        return {str(kind): _values(members) for kind, members in value.items()}
    return {"?": [Unresolved(str(value)[:120], "principal not understood")]}


def parse_statement(raw: Any) -> PolicyStatement | Unresolved:
    if isinstance(raw, Unresolved):
        return raw
    if not isinstance(raw, Mapping):
        return Unresolved(str(raw)[:120], STATEMENT_NOT_A_MAPPING)
    effect = raw.get("Effect", "Allow")
    statement = PolicyStatement(
        effect=effect if isinstance(effect, str) else "Allow",
        principals=_principals(raw.get("Principal")),
        not_principals=_principals(raw.get("NotPrincipal")),
        conditions=dict(raw["Condition"]) if isinstance(raw.get("Condition"), Mapping) else {},
        sid=raw.get("Sid") if isinstance(raw.get("Sid"), str) else None,
    )
    for field_name, key in (("actions", "Action"), ("not_actions", "NotAction")):
        for action in _values(raw.get(key)):
            if isinstance(action, str):
                getattr(statement, field_name).append(action)
            else:
                statement.unresolved.append(
                    action if isinstance(action, Unresolved) else Unresolved(str(action), "action from a reference")
                )
    statement.resources = _values(raw.get("Resource"))
    statement.not_resources = _values(raw.get("NotResource"))
    if isinstance(raw.get("Condition"), Unresolved):
        statement.unresolved.append(raw["Condition"])
    if not isinstance(effect, str):
        statement.unresolved.append(Unresolved(str(effect), "effect known only at deploy time"))
    return statement


def parse_document(raw: Any) -> PolicyDocument | Unresolved:
    """A resolved policy document -> PolicyDocument; an unresolvable one -> Unresolved."""
    if isinstance(raw, Unresolved):
        return raw
    if isinstance(raw, str):
        import json

        try:
            raw = json.loads(raw)
        except ValueError:
            return Unresolved(raw[:120], NOT_JSON)
    if not isinstance(raw, Mapping):
        return Unresolved(str(raw)[:120], NOT_A_MAPPING)
    statements = raw.get("Statement")
    if isinstance(statements, Unresolved):
        return statements
    document = PolicyDocument()
    for item in _as_list(statements):
        parsed = parse_statement(item)
        if isinstance(parsed, Unresolved):
            # Keep the document but remember what could not be read.
            document.statements.append(PolicyStatement(effect="Allow", unresolved=[parsed]))
        else:
            document.statements.append(parsed)
    return document


def malformed_policy_gaps(inventory: Inventory) -> list[CoverageGap]:
    """A gap for every written policy (or statement) that is not a policy at all: broken JSON, a number, a list
    of strings. Its permissions are unknown, and the rules say so; the gap says the file needs fixing."""
    gaps = []
    for owner, what, document, where in _documents(inventory):
        reasons = [document.reason] if isinstance(document, Unresolved) else [
            unknown.reason for statement in document.statements for unknown in statement.unresolved]
        for reason in dict.fromkeys(reason for reason in reasons if reason in _MALFORMED):
            # The document's text is not quoted: it may hold anything, secrets included.
            gaps.append(CoverageGap("parse-error", f"{owner}: {what}: {reason}, its permissions are unknown", where))
    return gaps


def _documents(inventory: Inventory) -> Iterator[tuple[str, str, PolicyDocument | Unresolved, Location]]:
    for role in inventory.roles:
        if role.trust_policy is not None:
            yield role.id, "trust policy", role.trust_policy, role.at("AssumeRolePolicyDocument")
    principals: list[Role | User | Group] = [*inventory.roles, *inventory.users, *inventory.groups]
    for principal in principals:
        for policy in principal.policies:
            yield principal.id, f"policy {policy.name}", policy.document, policy.location
    for key in inventory.kms_keys:
        if key.key_policy is not None:
            yield key.id, "key policy", key.key_policy, key.at("KeyPolicy")
