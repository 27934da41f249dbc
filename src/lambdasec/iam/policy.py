"""Normalize IAM policy documents (already intrinsic-resolved) into the inventory model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..model.inventory import PolicyDocument, PolicyStatement
from ..model.values import ResourceRef, Unresolved, Value


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
        return Unresolved(str(raw)[:120], "policy statement is not a mapping")
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
            return Unresolved(raw[:120], "policy document is not valid JSON")
    if not isinstance(raw, Mapping):
        return Unresolved(str(raw)[:120], "policy document is not a mapping")
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
