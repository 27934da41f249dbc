"""A curated, dated catalog of the AWS managed policies Lambda roles commonly attach.

Templates only name managed policies (``ManagedPolicyArns`` or SAM ``Policies``), so the
documents ship with the package (``data/managed_policies.json``) for rules to read. A policy
not in the catalog is unknown: callers treat its document as unresolved.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

from lambdasec.fast_dataclass import dataclass, field

_ARN_PREFIX = "arn:aws:iam::aws:policy/"


@dataclass(frozen=True)
class ManagedPolicy:
    name: str
    arn: str  # canonical ARN in the "aws" partition, with its path (e.g. service-role/)
    version: str  # default version id, e.g. "v3"
    document: dict[str, Any] = field(compare=False)  # the raw policy document, as IAM returns it
    updated: str = ""  # date (ISO) the default version was created


@dataclass(frozen=True)
class _Catalog:
    as_of: str
    by_arn: dict[str, ManagedPolicy]
    arn_by_name: dict[str, str]


def managed_policy(arn_or_name: str, *, shared: bool = False) -> ManagedPolicy | None:
    """The AWS managed policy named by an ARN (any partition) or a bare name (as SAM ``Policies`` allow).

    An ARN must carry the policy's real path (``service-role/`` where AWS uses it): a wrong path names a
    policy that does not exist. Customer managed policy ARNs (an account id instead of ``aws``) give None.
    A private copy unless ``shared``: callers that only read the document skip the copy (thousands of roles
    attach the same few policies).
    """
    arn = _canonical_arn(arn_or_name.strip())
    if arn is None:
        return None
    found = _catalog().by_arn.get(arn)
    return found if shared or found is None else copy.deepcopy(found)


def catalog_as_of() -> str:
    """The date (ISO) the catalog was compiled."""
    return _catalog().as_of


def known_managed_policy_arns() -> tuple[str, ...]:
    return tuple(_catalog().by_arn)


def is_admin_policy(arn_or_name: str) -> bool:
    """True when the managed policy allows every action on every resource without condition."""
    arn = _canonical_arn(arn_or_name.strip())
    found = _catalog().by_arn.get(arn) if arn else None
    return found is not None and any(_is_admin_statement(s) for s in _statements(found.document))


def _canonical_arn(text: str) -> str | None:
    if not text.startswith("arn:"):
        return _arn_for_name(text)
    # An unresolved partition pseudo parameter holds colons of its own.
    parts = text.replace("${AWS::Partition}", "aws").split(":", 5)
    if len(parts) != 6:
        return None
    _, _partition, service, region, account, resource = parts
    # Any partition names the same policy (aws, aws-us-gov, aws-cn...).
    if service != "iam" or region or account != "aws" or not resource.startswith("policy/"):
        return None
    return _ARN_PREFIX + resource.removeprefix("policy/")


def _arn_for_name(text: str) -> str | None:
    """Bare name, optionally with its path ("service-role/AWSLambdaRole")."""
    path, _, name = text.rpartition("/")
    arn = _catalog().arn_by_name.get(name)
    if arn is None or (path and arn != f"{_ARN_PREFIX}{path}/{name}"):
        return None
    return arn


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _is_admin_statement(statement: dict[str, Any]) -> bool:
    return (
        statement.get("Effect") == "Allow"
        and "Condition" not in statement
        and bool({"*", "*:*"} & set(_as_list(statement.get("Action"))))
        and "*" in _as_list(statement.get("Resource"))
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@cache
def _catalog() -> _Catalog:
    text = (resources.files("lambdasec") / "data" / "managed_policies.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    by_arn = {arn: _policy(arn, data) for arn, data in raw["policies"].items()}
    arn_by_name = {policy.name: arn for arn, policy in by_arn.items()}
    return _Catalog(as_of=raw["as_of"], by_arn=by_arn, arn_by_name=arn_by_name)


def _policy(arn: str, data: dict[str, Any]) -> ManagedPolicy:
    return ManagedPolicy(
        name=data["name"], arn=arn, version=data["version"], document=data["document"],
        updated=data.get("updated", ""),
    )
