"""OCSF Detection Finding events (class 2004, category Findings), schema version 1.5.0: a JSON array, one event per
finding (suppressed ones with status Suppressed), for Amazon Security Lake and other OCSF consumers.

Option ``now`` (a datetime) is the events' time and the findings' creation time. Validated against the
py-ocsf-models package (the ``ocsf`` extra) in tests/test_formats.py. Documented in docs/formats.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from ..model.findings import Confidence, Finding, Report, Severity
from .asff import finding_id, resource_arn
from .json_report import layout

OCSF_VERSION = "1.5.0"
CLASS_UID = 2004  # Detection Finding
CATEGORY_UID = 2  # Findings
ACTIVITY_CREATE = 1
TYPE_UID = CLASS_UID * 100 + ACTIVITY_CREATE
SEVERITY_ID = {
    Severity.INFO: (1, "Informational"), Severity.LOW: (2, "Low"), Severity.MEDIUM: (3, "Medium"),
    Severity.HIGH: (4, "High"), Severity.CRITICAL: (5, "Critical"),
}
CONFIDENCE_ID = {Confidence.LOW: (1, "Low"), Confidence.MEDIUM: (2, "Medium"), Confidence.HIGH: (3, "High")}
STATUS_NEW = (1, "New")
STATUS_SUPPRESSED = (3, "Suppressed")
ANALYTIC_RULE = (1, "Rule")
# ATT&CK tactic ids and the names of the techniques lambdasec's detections cite (docs/detections.md).
TACTICS = {
    "Initial Access": "TA0001", "Execution": "TA0002", "Persistence": "TA0003", "Privilege Escalation": "TA0004",
    "Defense Evasion": "TA0005", "Credential Access": "TA0006", "Discovery": "TA0007", "Lateral Movement": "TA0008",
    "Collection": "TA0009", "Exfiltration": "TA0010", "Command and Control": "TA0011", "Impact": "TA0040",
}
TECHNIQUES = {
    "T1071": "Application Layer Protocol",
    "T1098": "Account Manipulation",
    "T1133": "External Remote Services",
    "T1496": "Resource Hijacking",
    "T1525": "Implant Internal Image",
    "T1537": "Transfer Data to Cloud Account",
    "T1546": "Event Triggered Execution",
    "T1552": "Unsecured Credentials",
    "T1552.005": "Cloud Instance Metadata API",
    "T1562": "Impair Defenses",
    "T1562.001": "Disable or Modify Tools",
    "T1562.008": "Disable or Modify Cloud Logs",
    "T1580": "Cloud Infrastructure Discovery",
}


def epoch_ms(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return int(moment.timestamp() * 1000)


def _parse_time(text: str) -> int | None:
    try:
        return epoch_ms(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


def _attack(finding: Finding) -> dict[str, Any] | None:
    tactic = str(finding.evidence.get("tactic") or "")
    technique = str(finding.evidence.get("technique") or "")
    if not tactic and not technique:
        return None
    attack: dict[str, Any] = {}
    if tactic:
        attack["tactic"] = {"name": tactic, **({"uid": TACTICS[tactic]} if tactic in TACTICS else {})}
    if technique:
        parent = technique.split(".")[0]
        attack["technique"] = {"uid": parent, "name": TECHNIQUES.get(parent, parent)}
        if parent != technique:
            attack["sub_technique"] = {"uid": technique, **(
                {"name": TECHNIQUES[technique]} if technique in TECHNIQUES else {})}
    return attack


def _finding_info(finding: Finding, created: int) -> dict[str, Any]:
    info: dict[str, Any] = {
        "uid": finding_id(finding),
        "title": finding.title,
        "desc": finding.message,
        "types": [finding.category],
        "created_time": created,
        "analytic": {"uid": finding.rule_id, "name": finding.slug, "type_id": ANALYTIC_RULE[0],
                     "type": ANALYTIC_RULE[1], "category": finding.category},
    }
    seen = _parse_time(str(finding.evidence.get("time") or "")) if finding.category == "threat" else None
    if seen is not None:
        info["first_seen_time"] = info["last_seen_time"] = seen
    attack = _attack(finding) if finding.category == "threat" else None
    if attack:
        info["attacks"] = [attack]
    if finding.evidence.get("data_source"):
        info["data_sources"] = [str(finding.evidence["data_source"])]
    return info


def _region(finding: Finding) -> str:
    return finding.location.region or str(finding.evidence.get("region") or "")


def _account(finding: Finding) -> str:
    parts = (finding.location.arn or "").split(":")
    if len(parts) > 5 and parts[4].isdigit():
        return parts[4]
    return str(finding.evidence.get("account") or "")


def _resources(finding: Finding) -> list[dict[str, Any]]:
    resource: dict[str, Any] = {"uid": resource_arn(finding) or finding.resource_id, "name": finding.resource_id,
                                "type": finding.resource_type}
    if _region(finding):
        resource["region"] = _region(finding)
    location = {key: value for key, value in finding.location.to_dict().items() if value not in (None, "")}
    if location:
        resource["data"] = {"location": location}
    resources = [resource]
    resources += [{"uid": fn, "name": fn, "type": "AWS::Lambda::Function"}
                  for fn in finding.functions if fn != finding.resource_id]
    return resources


def to_event(finding: Finding, rule: Any, *, now: int, product_version: str) -> dict[str, Any]:
    severity_id, severity = SEVERITY_ID[finding.severity]
    confidence_id, confidence = CONFIDENCE_ID[finding.confidence]
    status_id, status = STATUS_SUPPRESSED if finding.suppression is not None else STATUS_NEW
    cloud: dict[str, Any] = {"provider": "AWS"}
    if _region(finding):
        cloud["region"] = _region(finding)
    if _account(finding):
        cloud["account"] = {"uid": _account(finding), "name": _account(finding), "type_id": 10, "type": "AWS Account"}
    event: dict[str, Any] = {
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "type_uid": TYPE_UID,
        "type_name": "Detection Finding: Create",
        "severity_id": severity_id,
        "severity": severity,
        "confidence_id": confidence_id,
        "confidence": confidence,
        "status_id": status_id,
        "status": status,
        "message": finding.message,
        "time": now,
        "finding_info": _finding_info(finding, now),
        "resources": _resources(finding),
        "cloud": cloud,
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "lambdasec", "vendor_name": "lambdasec", "version": product_version},
            "profiles": ["cloud"],
            "event_code": finding.rule_id,
            "uid": finding_id(finding),
        },
    }
    if finding.suppression is not None:
        event["status_detail"] = f"{finding.suppression.source}: {finding.suppression.reason}"
    remediation = finding.remediation or getattr(rule, "remediation", "")
    if remediation:
        event["remediation"] = {"desc": remediation}
        references = [str(ref) for ref in getattr(rule, "references", ())]
        if references:
            event["remediation"]["references"] = references
    unmapped: dict[str, Any] = {"slug": finding.slug, "category": finding.category,
                                "fingerprint": finding.fingerprint, "functions": list(finding.functions)}
    if finding.priority is not None:
        unmapped["priority"] = {"level": finding.priority.level.label, "score": finding.priority.score}
    event["unmapped"] = {"lambdasec": unmapped}
    return event


def to_list(report: Report, rules: Sequence[Any] = (), **options: Any) -> list[dict[str, Any]]:
    by_code = {rule.code: rule for rule in rules}
    now = epoch_ms(options.get("now") or dt.datetime.now(dt.timezone.utc))
    return [to_event(f, by_code.get(f.rule_id), now=now, product_version=report.tool_version)
            for f in [*report.findings, *report.suppressed]]


def render(report: Report, rules: Sequence[Any] = (), **options: Any) -> str:
    return layout(to_list(report, rules, **options), expand=2) + "\n"
