"""JSON output, schema version 1 (documented in docs/json-schema.md). Fields are added, never renamed.

:func:`load` reads a report back (``lambdasec render``, ``lambdasec baseline create --from-report``,
``lambdasec diff old.json new.json``): rendering the loaded report as JSON gives the same text again.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..model.findings import Confidence, Finding, NotEvaluated, Report, Severity, Suppression
from ..model.inventory import CoverageGap
from ..model.location import Location
from ..model.priority import EntryPoint, Priority, Reach
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
    if finding.baseline_state:
        out["baseline_state"] = finding.baseline_state
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
        **({"baselined": len(report.baselined)} if report.baseline_applied else {}),
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
        # Only with --baseline: the findings the baseline covers (not counted by --fail-on).
        **({"baselined": [finding_to_dict(f) for f in report.baselined]} if report.baseline_applied else {}),
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


class ReportFormatError(ValueError):
    """Text that is not a lambdasec JSON report (schema version 1)."""


def load(text: str) -> Report:
    """The report a JSON report was rendered from: ``render(load(text)) == text``.

    Not kept by the JSON format, so not restored: the scan root, the inventory keys of functions (rebuilt from
    the function list, or from a detection's account and region) and a live scan's ``stats``.
    """
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ReportFormatError(f"not JSON ({exc})") from None
    tool = data.get("tool") if isinstance(data, dict) else None
    if not isinstance(tool, dict) or tool.get("name") != "lambdasec" or "findings" not in data:
        raise ReportFormatError("not a lambdasec JSON report (lambdasec scan -f json)")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ReportFormatError(f"JSON report schema version {data.get('schema_version')!r} "
                                f"(this lambdasec reads version {SCHEMA_VERSION})")
    try:
        return _report(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ReportFormatError(f"malformed JSON report ({type(exc).__name__}: {exc})") from None


def _report(data: dict[str, Any]) -> Report:
    priorities = [_priority(entry, index) for index, entry in enumerate(data.get("functions", []))]
    by_id: dict[str, list[Priority]] = {}
    for priority in priorities:
        by_id.setdefault(priority.function_id, []).append(priority)
    def findings(key: str) -> list[Finding]:
        return [_finding(entry, by_id) for entry in data.get(key, [])]

    return Report(
        findings=findings("findings"),
        coverage_gaps=[CoverageGap(g["kind"], g["message"], _location(g["location"])) for g in data["coverage_gaps"]],
        not_evaluated=[NotEvaluated(n["rule_id"], n["resource"], n["reason"], _location(n["location"]))
                       for n in data["not_evaluated"]],
        suppressed=findings("suppressed"),
        scanned_files=list(data["scanned_files"]),
        root="",
        rules_run=list(data["rules_run"]),
        tool_version=data["tool"]["version"],
        priorities=priorities,
        iam_catalogue=data["tool"].get("iam_catalogue", ""),
        baselined=findings("baselined"),
        baseline_applied="baselined" in data,
    )


def _location(data: dict[str, Any]) -> Location:
    path = data.get("path")
    return Location(file=data["file"], line=data["line"], column=data["column"],
                    path=tuple(path.split("/")) if path else (), arn=data.get("arn"), region=data.get("region"))


def _priority(data: dict[str, Any], index: int) -> Priority:
    location = _location(data["location"])
    reach = data["reach"]
    return Priority(
        function_id=data["id"], function_key=f"{location.file or location.arn or index}#{data['id']}",
        location=location, level=Severity.parse(data["priority"]), score=data["score"], exposure=data["exposure"],
        entry_points=tuple(EntryPoint(e["kind"], e["resource"], e["description"], e["exposure"],
                                      _location(e["location"])) for e in data["entry_points"]),
        reach=Reach(reach["blast_radius"], reach["level"], reach["role"], tuple(reach["escalation"]),
                    tuple(reach["read_all"]), tuple(reach["write_all"])),
    )


def _finding(data: dict[str, Any], by_id: dict[str, list[Priority]]) -> Finding:
    location = _location(data["location"])
    evidence = data.get("evidence") or {}
    level_score = (data["priority"]["level"], data["priority"]["score"]) if "priority" in data else None
    chosen: list[Priority] = []
    keys: list[str] = []
    for function in data["functions"]:
        candidates = by_id.get(function, [])
        if candidates:
            # A function id that repeats across files: the one declared in the finding's file, else the one with
            # the finding's priority.
            best = next((p for p in candidates if p.location.file and p.location.file == location.file),
                        next((p for p in candidates if (p.level.label, p.score) == level_score), candidates[0]))
            chosen.append(best)
            keys.append(best.function_key)
        elif "account" in evidence and "region" in evidence:  # a detection's alert (detections/runner.py)
            keys.append(f"{evidence['account'] or ''}:{evidence['region'] or ''}:{function}")
        else:
            keys.append(function)
    priority = max(chosen, key=lambda p: p.rank, default=None)
    if level_score is not None and (priority is None or (priority.level.label, priority.score) != level_score):
        priority = Priority(function_id=(data["functions"] or [""])[0], function_key="", location=Location(),
                            level=Severity.parse(level_score[0]), score=level_score[1], exposure=0,
                            entry_points=(), reach=Reach("unknown", 1))
    suppression = data.get("suppression")
    return Finding(
        rule_id=data["rule_id"], slug=data["slug"], title=data["title"], severity=Severity.parse(data["severity"]),
        confidence=Confidence.parse(data["confidence"]), category=data["category"], message=data["message"],
        resource_id=data["resource"]["id"], resource_type=data["resource"]["type"], location=location,
        functions=list(data["functions"]), remediation=data["remediation"], evidence=dict(evidence),
        fingerprint=data["fingerprint"],
        suppression=Suppression(suppression["reason"], suppression["source"]) if suppression else None,
        function_keys=sorted(set(keys)), priority=None if level_score is None else priority,
        baseline_state=data.get("baseline_state", ""),
    )
