"""Persistence through the Lambda API: code, layers, permissions, URLs and triggers changed by hand."""

from __future__ import annotations

from ...model.findings import Confidence, Severity
from ..model import Detection
from ..sqlparts import BY_HAND, alert, function_name, param

TACTIC = "Persistence"
_FN = f"'function ' || coalesce({function_name(param('functionName'))}, '?')"

CODE_OVERWRITTEN = Detection(
    code="DET001", slug="function-code-overwritten", title="Function code overwritten outside a deployment",
    severity=Severity.HIGH, confidence=Confidence.MEDIUM, tactic=TACTIC, technique="T1525", data_source="cloudtrail",
    rationale="UpdateFunctionCode replaces what a function runs. Made by hand rather than by the stack that owns "
              "the function, it is how an attacker with lambda:UpdateFunctionCode plants a backdoor that keeps "
              "the function's role and triggers.",
    false_positives="Hot fixes and deployment tools that call Lambda directly (the Serverless Framework, "
                    "Terraform, CI scripts): list their roles with --deployer.",
    remediation="Compare the new CodeSha256 with the last release, roll back to a published version, and find "
                "how the caller got lambda:UpdateFunctionCode.",
    sql=alert(detail=f"'code of ' || {_FN} || ' replaced'") + f"""
FROM events WHERE api_name = 'UpdateFunctionCode' AND {BY_HAND}""",
    references=("https://stratus-red-team.cloud/attack-techniques/AWS/aws.persistence.lambda-overwrite-code/",),
)

LAYER_ATTACHED = Detection(
    code="DET002", slug="layer-attached-to-function", title="Layer attached to a function outside a deployment",
    severity=Severity.MEDIUM, confidence=Confidence.MEDIUM, tactic=TACTIC, technique="T1525",
    data_source="cloudtrail",
    rationale="A layer's code runs inside the function (an extension even runs beside every invocation and sees "
              "its events and credentials). Attaching one by hand, above all from another account, is a quiet "
              "way to backdoor a function without touching its code.",
    false_positives="Observability vendors' layers added by hand during a trial; deployment tools calling Lambda "
                    "directly (--deployer).",
    remediation="Remove the layer, review the layer version's content and owner, and restrict "
                "lambda:UpdateFunctionConfiguration.",
    sql=alert(
        detail=f"'layers ' || {param('layers')} || ' set on ' || {_FN}",
        severity=f"""CASE WHEN regexp_replace({param('layers')},
                     'arn:aws[a-z-]*:lambda:[a-z0-9-]+:' || account || ':layer:', '', 'g') LIKE '%arn:aws%'
                     THEN 'high' ELSE 'medium' END""") + f"""
FROM events
WHERE api_name IN ('UpdateFunctionConfiguration', 'CreateFunction') AND {BY_HAND}
  AND {param('layers')} LIKE '%arn:%'""",
    references=("https://stratus-red-team.cloud/attack-techniques/AWS/aws.persistence.lambda-layer-extension/",),
)

_CONDITIONED = (f"{param('sourceArn')} IS NULL AND {param('sourceAccount')} IS NULL "
                f"AND {param('principalOrgID')} IS NULL")

INVOKABLE_BY_EVERYONE = Detection(
    code="DET003", slug="function-invokable-by-everyone", title="Function made invokable by everyone",
    severity=Severity.CRITICAL, confidence=Confidence.HIGH, tactic=TACTIC, technique="T1546",
    data_source="cloudtrail",
    rationale="AddPermission with principal \"*\" and no SourceArn, SourceAccount or PrincipalOrgID condition "
              "lets any AWS account invoke the function: a backdoor that survives credential rotation.",
    false_positives="Rare: services that need a public grant always accept a SourceArn or SourceAccount "
                    "condition.",
    remediation="Remove the statement (lambda:RemovePermission) and look for other changes by the same actor.",
    sql=alert(detail=f"'every principal may call ' || coalesce({param('action')}, 'lambda:InvokeFunction') "
                     f"|| ' on ' || {_FN}") + f"""
FROM events
WHERE api_name = 'AddPermission' AND {BY_HAND} AND {param('principal')} = '*' AND {_CONDITIONED}""",
    references=("https://stratus-red-team.cloud/attack-techniques/AWS/aws.persistence.lambda-backdoor-function/",),
)

_ACCOUNT_OF_PRINCIPAL = (f"regexp_extract({param('principal')}, '^(arn:aws[a-z-]*:iam::)?([0-9]{{12}})', 2)")

FOREIGN_INVOKE = Detection(
    code="DET004", slug="invoke-granted-to-foreign-account", title="Invocation granted to another account",
    severity=Severity.HIGH, confidence=Confidence.MEDIUM, tactic=TACTIC, technique="T1546",
    data_source="cloudtrail",
    rationale="A function policy statement naming another AWS account lets that account's principals call the "
              "function whenever they like.",
    false_positives="Cross-account architectures (a central account invoking workloads): compare with the "
                    "accounts you expect.",
    remediation="Remove the statement unless the account is expected, and scope it with conditions.",
    sql=alert(detail=f"'account ' || {_ACCOUNT_OF_PRINCIPAL} || ' may call ' || "
                     f"coalesce({param('action')}, 'lambda:InvokeFunction') || ' on ' || {_FN}") + f"""
FROM events
WHERE api_name = 'AddPermission' AND {BY_HAND} AND {_ACCOUNT_OF_PRINCIPAL} <> ''
  AND {_ACCOUNT_OF_PRINCIPAL} <> account""",
)

PUBLIC_URL = Detection(
    code="DET005", slug="function-url-auth-none", title="Function URL opened without authentication",
    severity=Severity.CRITICAL, confidence=Confidence.HIGH, tactic=TACTIC, technique="T1133",
    data_source="cloudtrail",
    rationale="A function URL with AuthType NONE is an HTTPS endpoint on the internet with no AWS "
              "authentication in front of the function.",
    false_positives="Public webhooks that authenticate requests in their code.",
    remediation="Switch the URL to AWS_IAM or delete it, and review who created it.",
    sql=alert(detail=f"'URL of ' || {_FN} || ' set to AuthType NONE'") + f"""
FROM events
WHERE api_name IN ('CreateFunctionUrlConfig', 'UpdateFunctionUrlConfig') AND {BY_HAND}
  AND {param('authType')} = 'NONE'""",
)

_LAYER = f"coalesce(split_part({param('layerName')}, ':', -1), '?') || ':' || coalesce({param('versionNumber')}, '?')"

LAYER_SHARED = Detection(
    code="DET006", slug="layer-shared-externally", title="Layer version shared publicly or with another account",
    severity=Severity.HIGH, confidence=Confidence.HIGH, tactic=TACTIC, technique="T1537",
    data_source="cloudtrail",
    rationale="AddLayerVersionPermission exposes a layer version's content (often internal code and sometimes "
              "secrets) to every AWS account or to a foreign one.",
    false_positives="Layers published on purpose (open-source tooling): they live in a dedicated account.",
    remediation="Remove the permission (RemoveLayerVersionPermission) and check the layer for secrets.",
    sql=alert(function="CAST(NULL AS VARCHAR)",
              detail=f"'layer ' || {_LAYER} || ' shared with ' || {param('principal')}",
              severity=f"""CASE WHEN {param('principal')} = '*' AND {param('organizationId')} IS NULL
                           THEN 'critical' ELSE 'high' END""") + f"""
FROM events
WHERE api_name = 'AddLayerVersionPermission' AND {BY_HAND}
  AND ({param('principal')} = '*' OR {param('principal')} <> account)""",
)

ESM_CREATED = Detection(
    code="DET007", slug="event-source-mapping-created", title="Event source mapping created outside a deployment",
    severity=Severity.LOW, confidence=Confidence.LOW, tactic=TACTIC, technique="T1546",
    data_source="cloudtrail",
    rationale="A new event source mapping makes a function run on every message of a queue or stream: a way to "
              "persist or to read a queue's data through a function.",
    false_positives="Mappings created by hand by engineers; tools calling Lambda directly (--deployer).",
    remediation="Check the mapping's source and the function, and delete it if unexpected.",
    sql=alert(detail=f"'mapping from ' || coalesce({param('eventSourceArn')}, '?') || ' to ' || {_FN}") + f"""
FROM events WHERE api_name = 'CreateEventSourceMapping' AND {BY_HAND}""",
)

DETECTIONS = (CODE_OVERWRITTEN, LAYER_ATTACHED, INVOKABLE_BY_EVERYONE, FOREIGN_INVOKE, PUBLIC_URL, LAYER_SHARED,
              ESM_CREATED)
