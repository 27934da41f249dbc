"""SARIF 2.1.0 for GitHub code scanning and other SARIF consumers (plain dicts, schema-checked in tests)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..model.findings import Finding, Report, Severity
from ..rules.base import Rule
from .json_report import layout

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5", Severity.LOW: "3.0", Severity.INFO: "1.0",
}
_LEVEL = {
    Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "note",
    Severity.INFO: "note",
}
_PRECISION = {"high": "high", "medium": "medium", "low": "low"}


def _rule_descriptor(rule: Rule) -> dict[str, Any]:
    help_markdown = f"{rule.rationale}\n\n**Remediation.** {rule.remediation}"
    if rule.references:
        help_markdown += "\n\n" + "\n".join(f"- {ref}" for ref in rule.references)
    return {
        "id": rule.code,
        "name": rule.slug,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale},
        "help": {"text": f"{rule.rationale}\n\nRemediation: {rule.remediation}", "markdown": help_markdown},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {
            "security-severity": _SECURITY_SEVERITY[rule.severity],
            "precision": _PRECISION[rule.confidence.label],
            "tags": ["security", rule.category],
        },
    }


def _result(finding: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    location = finding.location
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": location.file or location.arn or "unknown"},
        "region": {"startLine": max(location.line or 1, 1)},
    }
    if location.column:
        physical["region"]["startColumn"] = location.column
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "level": _LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [{
            "physicalLocation": physical,
            "logicalLocations": [{"name": finding.resource_id, "kind": "resource",
                                  "fullyQualifiedName": finding.resource_type + "/" + finding.resource_id}],
        }],
        "partialFingerprints": {"lambdasecFingerprint/v1": finding.fingerprint},
        "properties": {
            "severity": finding.severity.label,
            "confidence": finding.confidence.label,
            "functions": list(finding.functions),
        },
    }
    if finding.rule_id in rule_index:
        result["ruleIndex"] = rule_index[finding.rule_id]
    if finding.suppression is not None:
        result["suppressions"] = [{
            "kind": "external" if finding.suppression.source == "config" else "inSource",
            "justification": finding.suppression.reason,
        }]
    if finding.baseline_state:  # only with --baseline: "new", or "unchanged" when the baseline has it
        result["baselineState"] = finding.baseline_state
    return result


def to_dict(report: Report, rules: Sequence[Rule]) -> dict[str, Any]:
    results = [*report.findings, *report.suppressed, *report.baselined]
    used = {f.rule_id for f in results}
    descriptors = [r for r in rules if r.code in used or r.code in report.rules_run]
    rule_index = {rule.code: index for index, rule in enumerate(descriptors)}
    notifications = [
        {
            "level": "error",
            "message": {"text": f"{gap.kind}: {gap.message}"},
            **({"locations": [{"physicalLocation": {"artifactLocation": {"uri": gap.location.file}}}]}
               if gap.location.file else {}),
        }
        for gap in report.coverage_gaps
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "lambdasec",
                "version": report.tool_version,
                "properties": {"iamCatalogue": report.iam_catalogue},
                "rules": [_rule_descriptor(r) for r in descriptors],
            }},
            "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
            "results": [_result(f, rule_index) for f in results],
        }],
    }


def render(report: Report, rules: Sequence[Rule] = (), **options: Any) -> str:
    return layout(to_dict(report, rules), expand=4) + "\n"  # one result per line
