"""CSV (RFC 4180: comma-separated, double-quoted where needed, CRLF line ends, a header row) for spreadsheets.

One row per finding, then one per suppressed finding (its ``suppressed`` column holds the reason). A cell that a
spreadsheet would read as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is
prefixed with a single quote, so a hostile resource name cannot run a formula when the file is opened.
Documented in docs/formats.md.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any

from ..model.findings import Finding, Report

COLUMNS = ("rule_id", "slug", "severity", "confidence", "category", "resource_id", "resource_type", "file", "line",
           "arn", "region", "functions", "message", "fingerprint", "suppressed")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Control characters no spreadsheet shows (and that some CSV readers reject), except tab and line breaks.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def safe_cell(value: object) -> str:
    """The cell's text, defused if a spreadsheet would take it for a formula (control characters replaced)."""
    text = "" if value is None else _CONTROL.sub("\ufffd", str(value))
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def row(finding: Finding) -> list[str]:
    location = finding.location
    values: tuple[object, ...] = (
        finding.rule_id, finding.slug, finding.severity.label, finding.confidence.label, finding.category,
        finding.resource_id, finding.resource_type, location.file, location.line, location.arn, location.region,
        ";".join(finding.functions), finding.message, finding.fingerprint,
        (finding.suppression.reason or "(no reason)") if finding.suppression is not None else "",
    )
    return [safe_cell(value) for value in values]


def render(report: Report, rules: Sequence[Any] = (), **options: Any) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, dialect="excel", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for finding in [*report.findings, *report.suppressed]:
        writer.writerow(row(finding))
    return buffer.getvalue()
