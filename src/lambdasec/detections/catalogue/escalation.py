"""Privilege escalation through Lambda: privileged roles passed to functions, IAM changed with a function's
credentials."""

from __future__ import annotations

from ...model.findings import Confidence, Severity
from ..model import Detection
from ..sqlparts import alert, by_hand, function_name, param

TACTIC = "Privilege Escalation"
_FN = f"'function ' || coalesce({function_name(param('functionName'))}, '?')"
_PRIVILEGED = f"""
FROM events AS e JOIN privileged_roles AS p
  ON (p.account = e.account OR p.account = '') AND p.role_name = split_part({param('role')}, '/', -1)
 AND (p.granted_at IS NULL OR p.granted_at <= e.event_time)"""


def _passing_role(api: str) -> str:
    return alert(detail=f"{_FN} || ' given role ' || {param('role')} || ' (' || p.reason || ')'",
                 time="e.event_time", actor="e.actor_arn", source_ip="e.source_ip", event_ids="e.event_id",
                 failed="(e.error_code IS NOT NULL)", account="e.account", region="e.region", file="e.file",
                 function=function_name(param("functionName"))) + \
        _PRIVILEGED + f"\nWHERE e.api_name = '{api}' AND {by_hand('e')}"


PRIVILEGED_CREATE = Detection(
    code="DET010", slug="function-created-with-privileged-role", title="Function created with a privileged role",
    severity=Severity.CRITICAL, confidence=Confidence.MEDIUM, tactic=TACTIC, technique="T1098",
    data_source="cloudtrail",
    rationale="Creating a function with a role that is administrator or can escalate (iam:PassRole plus "
              "lambda:CreateFunction) hands its permissions to whatever code the creator uploads: the classic "
              "Lambda privilege escalation.",
    false_positives="Administrative functions deployed by hand; deployments through CloudFormation are not "
                    "reported.",
    remediation="Delete or disable the function, review its code and invocations, and restrict iam:PassRole.",
    sql=_passing_role("CreateFunction"),
)

PRIVILEGED_SWAP = Detection(
    code="DET011", slug="function-role-swapped-to-privileged", title="Function's role swapped to a privileged one",
    severity=Severity.CRITICAL, confidence=Confidence.MEDIUM, tactic=TACTIC, technique="T1098",
    data_source="cloudtrail",
    rationale="UpdateFunctionConfiguration with a new, privileged role gives the function's existing code, and "
              "anyone who can change it, that role's permissions.",
    false_positives="Planned role changes made by hand.",
    remediation="Restore the previous role and restrict iam:PassRole and lambda:UpdateFunctionConfiguration.",
    sql=_passing_role("UpdateFunctionConfiguration"),
)

IAM_WRITE = Detection(
    code="DET012", slug="iam-write-with-lambda-credentials", title="IAM changed with a function's credentials",
    severity=Severity.CRITICAL, confidence=Confidence.HIGH, tactic=TACTIC, technique="T1098",
    data_source="cloudtrail",
    rationale="Functions seldom manage IAM. An IAM write made with an execution role's session means the "
              "function's code (or someone holding its credentials) is changing permissions.",
    false_positives="Functions whose job is IAM automation (account vending, key rotation).",
    remediation="Revert the IAM change, review the function's code and recent deployments, and remove IAM "
                "write permissions from its role.",
    sql=alert(function="coalesce(split_part(in_scope_arn, ':', 7), session_name)",
              detail="'iam:' || api_name || ' with the credentials of a Lambda function'") + """
FROM events
WHERE event_source = 'iam.amazonaws.com' AND access_key IN (SELECT access_key FROM lambda_keys)
  AND NOT (api_name LIKE 'Get%' OR api_name LIKE 'List%' OR api_name LIKE 'Generate%'
           OR api_name LIKE 'Simulate%')""",
)

DETECTIONS = (PRIVILEGED_CREATE, PRIVILEGED_SWAP, IAM_WRITE)
