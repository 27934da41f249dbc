"""Baselines: the findings a project has accepted for now, so that only new ones fail a pipeline.

A baseline file (``lambdasec baseline create``) is JSON, format version 1 (docs/configuration.md#baselines)::

    {
      "format": "lambdasec-baseline",
      "version": 1,
      "created": "2026-11-29T00:00:00Z",
      "tool_version": "0.1.0",
      "findings": [
        {"fingerprint": "0f1e...", "rule_id": "EXP001", "resource": "WebhookFunctionUrl",
         "location": "template.yaml:362"}
      ]
    }

Only ``fingerprint`` is matched; the rule, resource and location are there for the people reviewing the file.
Fingerprints are built from the rule, file, resource and path inside the document (engine.fingerprint), never
from line numbers: re-indenting a template, moving resources or adding comments keeps them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lambdasec.fast_dataclass import dataclass

from ..config import ConfigError
from ..model.findings import Finding, Report
from .notices import EXPIRED_SUPPRESSION

FORMAT = "lambdasec-baseline"
VERSION = 1
_FINGERPRINT = re.compile(r"[0-9a-f]{32}")


class BaselineError(ConfigError):
    """A baseline file that cannot be used: a usage error (exit 2)."""


@dataclass(frozen=True)
class Baseline:
    fingerprints: frozenset[str]
    source: str = ""


def entries(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    """The baseline entries of these findings (expired-ignore notices excluded: they cannot be accepted)."""
    seen: dict[str, dict[str, Any]] = {}
    for finding in findings:
        if finding.rule_id == EXPIRED_SUPPRESSION.code or not finding.fingerprint:
            continue
        seen.setdefault(finding.fingerprint, {
            "fingerprint": finding.fingerprint, "rule_id": finding.rule_id, "resource": finding.resource_id,
            "location": finding.location.display(),
        })
    # Not by line: a baseline made again after lines moved differs only in its locations.
    return sorted(seen.values(), key=lambda e: (e["rule_id"], e["resource"], e["fingerprint"]))


def to_dict(report: Report, now: dt.datetime) -> dict[str, Any]:
    """The baseline of a report: its reported findings, and those a baseline already covered."""
    created = now.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return {"format": FORMAT, "version": VERSION, "created": created, "tool_version": report.tool_version,
            "findings": entries([*report.findings, *report.baselined])}


def dumps(report: Report, now: dt.datetime) -> str:
    data = to_dict(report, now)
    lines = ",\n".join("    " + json.dumps(entry) for entry in data["findings"])
    head = {key: value for key, value in data.items() if key != "findings"}
    text = json.dumps(head, indent=2)[:-2]  # without the closing brace: the findings follow, one per line
    return text + ',\n  "findings": [' + (f"\n{lines}\n  " if lines else "") + "]\n}\n"


def parse(text: str, source: str) -> Baseline:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BaselineError(f"cannot read baseline {source}: not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BaselineError(f"cannot read baseline {source}: not a lambdasec baseline "
                            "(make one with `lambdasec baseline create`)")
    if data.get("version") != VERSION:
        raise BaselineError(f"cannot read baseline {source}: format version {data.get('version')!r} "
                            f"(this lambdasec reads version {VERSION})")
    found = data.get("findings")
    if not isinstance(found, list):
        raise BaselineError(f"cannot read baseline {source}: 'findings' must be a list")
    fingerprints = set()
    for index, entry in enumerate(found):
        value = entry.get("fingerprint") if isinstance(entry, dict) else None
        if not isinstance(value, str) or not _FINGERPRINT.fullmatch(value):
            raise BaselineError(f"cannot read baseline {source}: findings[{index}] has no valid fingerprint")
        fingerprints.add(value)
    return Baseline(frozenset(fingerprints), source)


def load(path: Path) -> Baseline:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"cannot read baseline {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return parse(text, str(path))


def apply(report: Report, baseline: Baseline) -> Report:
    """Move the reported findings whose fingerprint is in the baseline to ``report.baselined`` and mark every
    finding "new" or "unchanged" (suppressed ones too). Expired-ignore notices are always new."""
    def state(finding: Finding) -> str:
        known = finding.fingerprint in baseline.fingerprints and finding.rule_id != EXPIRED_SUPPRESSION.code
        return "unchanged" if known else "new"

    reported = [*report.findings, *report.baselined]  # a report may have had a baseline applied before
    for finding in (*reported, *report.suppressed):
        finding.baseline_state = state(finding)
    report.findings = [f for f in report.findings if f.baseline_state == "new"]
    if any(f.baseline_state == "new" for f in report.baselined):  # back from a former baseline: merge in order
        from ..engine import _sort_key

        report.findings = sorted([*report.findings, *(f for f in report.baselined if f.baseline_state == "new")],
                                 key=_sort_key)
    report.baselined = [f for f in reported if f.baseline_state == "unchanged"]
    report.baseline_applied = True
    return report
