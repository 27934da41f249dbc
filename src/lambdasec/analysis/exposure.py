"""Who a Lambda resource-policy principal designates, and whether a grant is pinned to its source.

Shared by the exposure rules (EXP003, EXP004, EXP006, EXP007) and the attack-path analysis, so that a
function counts as reachable for exactly the reasons the exposure rules report.
"""

from __future__ import annotations

import re
from typing import Any

from lambdasec.fast_dataclass import dataclass

from ..model.inventory import Permission
from ..model.values import ResourceRef, Unresolved, literal

_SERVICE_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_IAM_ARN = re.compile(r"^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):", re.IGNORECASE)


@dataclass(frozen=True)
class PrincipalInfo:
    """What a Permission/LayerPermission principal designates."""

    kind: str  # "public" | "service" | "account" | "own" | "other" | "unknown"
    shown: str  # the principal as written, for messages
    account: str | None = None


def classify_principal(principal: Any) -> PrincipalInfo:
    if isinstance(principal, ResourceRef):
        # A role or user created by the same template lives in the deploying account.
        return PrincipalInfo("own", str(principal))
    if isinstance(principal, Unresolved):
        return _classify_unresolved(principal)
    text = (literal(principal) or "").strip()
    if text == "*":
        return PrincipalInfo("public", text)
    if text.lower().endswith(_SERVICE_SUFFIXES):
        return PrincipalInfo("service", text)
    account = _account_of(text)
    if account is not None:
        return PrincipalInfo("account", text, account)
    return PrincipalInfo("other" if text else "unknown", text or "<missing>")


def _classify_unresolved(principal: Unresolved) -> PrincipalInfo:
    expression = principal.expression
    if "AWS::AccountId" in expression:
        # Templates rarely know their own account id: !Ref AWS::AccountId is the deploying account.
        return PrincipalInfo("own", expression)
    if expression.strip().lower().endswith(_SERVICE_SUFFIXES):
        return PrincipalInfo("service", expression)  # e.g. logs.${AWS::Region}.amazonaws.com
    return PrincipalInfo("unknown", expression)


def _account_of(text: str) -> str | None:
    if _ACCOUNT_ID.match(text):
        return text
    match = _IAM_ARN.match(text)
    return match.group(1) if match else None


def is_set(value: Any) -> bool:
    return value is not None and value != ""


def permission_restricted(permission: Permission) -> bool:
    """A condition that keeps a wildcard grant from reaching arbitrary callers."""
    conditions = (permission.source_arn, permission.source_account, permission.principal_org_id)
    return any(is_set(value) for value in conditions)


def arn_without_account(permission: Permission, principal: str) -> bool:
    """S3 bucket ARNs carry no account id, so SourceArn alone does not pin the caller's account."""
    if principal != "s3.amazonaws.com":
        return False
    arn = permission.source_arn
    if isinstance(arn, ResourceRef):
        return True  # !GetAtt Bucket.Arn
    text = arn if isinstance(arn, str) else getattr(arn, "expression", "")
    return text.startswith(("arn:aws:s3:::", "arn:${AWS::Partition}:s3:::"))


def source_unpinned(permission: Permission, principal: str) -> bool:
    """No SourceAccount, and no SourceArn that names the account: any account's resource may use the grant."""
    if is_set(permission.source_account):
        return False
    return not is_set(permission.source_arn) or arn_without_account(permission, principal)
