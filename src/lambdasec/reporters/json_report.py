"""JSON output, schema version 1 (documented in docs/json-schema.md). Fields are added, never renamed."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..model.findings import Finding, Report, Severity
from ..rules.base import Rule

SCHEMA_VERSION = 1


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule_id": finding.rule_id,
        "slug": finding.slug,
        "title": finding.title,
        "severity": finding.severity.label,
        "confidence": finding.confidence.label,
        "category": finding.category,
        "message": finding.message,
        "resource": {"id": finding.resource_id, "type": finding.resource_type},
        "functions": list(finding.functions),
        "location": finding.location.to_dict(),
        "remediation": finding.remediation,
        "fingerprint": finding.fingerprint,
        "evidence": finding.evidence,
    }
    if finding.priority is not None:
        out["priority"] = {"level": finding.priority.level.label, "score": finding.priority.score}
    if finding.suppression is not None:
        out["suppression"] = {"reason": finding.suppression.reason, "source": finding.suppression.source}
    return out


def summary(report: Report) -> dict[str, Any]:
    by_severity = Counter(f.severity.label for f in report.findings)
    return {
        "findings": len(report.findings),
        "by_severity": {s.label: by_severity.get(s.label, 0) for s in sorted(Severity, reverse=True)},
        "by_category": dict(sorted(Counter(f.category for f in report.findings).items())),
        "suppressed": len(report.suppressed),
        "coverage_gaps": len(report.coverage_gaps),
        "not_evaluated": len(report.not_evaluated),
        "files_scanned": len(report.scanned_files),
        "functions": report.affected_function_count,
        "complete": not report.incomplete,
    }


def to_dict(report: Report, rules: Sequence[Rule] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "lambdasec", "version": report.tool_version, "iam_catalogue": report.iam_catalogue},
        "findings": [finding_to_dict(f) for f in report.findings],
        "coverage_gaps": [g.to_dict() for g in report.coverage_gaps],
        "not_evaluated": [
            {"rule_id": n.rule_id, "resource": n.resource_id, "reason": n.reason, "location": n.location.to_dict()}
            for n in report.not_evaluated
        ],
        "summary": summary(report),
        "scanned_files": list(report.scanned_files),
        "rules_run": list(report.rules_run),
        "suppressed": [finding_to_dict(f) for f in report.suppressed],  # always: scripts audit suppressions too
        "functions": [priority.to_dict() for priority in report.priorities],  # attack-path priority, highest first
    }
    return out


def render(report: Report, rules: Sequence[Rule] = (), **options: Any) -> str:
    return layout(to_dict(report, rules)) + "\n"


def layout(node: Any, depth: int = 0, expand: int = 2) -> str:
    """Indented JSON down to ``expand`` levels, one compact item per line below that.

    ``json.dumps(indent=...)`` falls back to the pure-Python encoder, several times slower than the C one on
    reports with thousands of findings; this keeps a diff-friendly layout (one finding per line) at C speed.
    """
    if depth >= expand or not isinstance(node, (dict, list)) or not node:
        return json.dumps(node, separators=(", ", ": "))
    pad, inner = "  " * depth, "  " * (depth + 1)
    if isinstance(node, dict):
        items = [f"{inner}{json.dumps(str(k))}: {layout(v, depth + 1, expand)}"
                 for k, v in node.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    return "[\n" + ",\n".join(inner + layout(v, depth + 1, expand) for v in node) + "\n" + pad + "]"
