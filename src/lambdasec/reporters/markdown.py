"""Compact Markdown for pull-request comments: a summary line, coverage gaps, then the findings, most severe first.

Every piece of text that comes from the scanned project (resource names, messages, file names) is escaped: a
resource called ``| <img src=x onerror=1>`` cannot end a table cell, open an HTML tag or a code span, or start a
link in the comment. Documented in docs/formats.md.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..model.findings import Finding, Report, Severity
from ..model.location import Location

MAX_FINDINGS = 50
MAX_MESSAGE = 200  # characters of a finding's message shown in the table
MAX_CELL = 120  # characters of a resource name or location
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
# Markdown punctuation that could start emphasis, code, a link, an image, math, strike-through or a table cell.
_PUNCTUATION = re.compile(r"([\\`*_\[\]|~!$#])")
_NEWLINES = re.compile(r"[\r\n\t\x0b\x0c]+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def escape(text: object) -> str:
    """Plain text made inert in Markdown (GitHub flavour, tables included): one line, no HTML, no markup."""
    value = _CONTROL.sub("", _NEWLINES.sub(" ", str(text)))
    value = "".join(_HTML.get(char, char) for char in value)
    return _PUNCTUATION.sub(r"\\\1", value)


def shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary when one is near, with an ellipsis."""
    text = _NEWLINES.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit * 2 // 3:
        cut = cut[:space]
    return cut.rstrip(" ,;:.") + "…"


def _where(location: Location) -> str:
    return location.display()


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary_line(report: Report) -> str:
    by_severity = Counter(f.severity for f in report.findings)
    parts = [f"{by_severity[s]} {s.label}" for s in sorted(Severity, reverse=True) if by_severity[s]]
    files = _count(len(report.scanned_files), "file")
    if report.findings:
        line = f"**lambdasec**: {_count(len(report.findings), 'finding')} ({', '.join(parts)}) in {files}"
    else:
        line = f"**lambdasec**: no findings in {files}"
    extras = [f"{len(report.suppressed)} suppressed"] if report.suppressed else []
    if report.not_evaluated:
        extras.append(f"{len(report.not_evaluated)} not evaluated")
    if report.coverage_gaps:
        extras.append("**incomplete scan**: " + _count(len(report.coverage_gaps), "coverage gap"))
    return line + "".join(f" · {extra}" for extra in extras)


def _gaps(report: Report) -> list[str]:
    if not report.coverage_gaps:
        return []
    lines = [f"**{_count(len(report.coverage_gaps), 'coverage gap')}**: lambdasec could not read everything, so "
             "findings may be missing.", ""]
    for gap in report.coverage_gaps:
        where = f" ({escape(shorten(_where(gap.location), MAX_CELL))})" if gap.location.file or gap.location.arn else ""
        lines.append(f"- {escape(gap.kind)}{where}: {escape(shorten(gap.message, MAX_MESSAGE))}")
    return [*lines, ""]


def _row(finding: Finding) -> str:
    cells = (
        finding.severity.label,
        finding.rule_id,
        shorten(finding.resource_id, MAX_CELL),
        shorten(_where(finding.location), MAX_CELL),
        shorten(finding.message, MAX_MESSAGE),
    )
    return "| " + " | ".join(escape(cell) for cell in cells) + " |"


def render(report: Report, rules: Sequence[Any] = (), **options: Any) -> str:
    limit = options.get("max_findings", MAX_FINDINGS)
    lines = [summary_line(report), "", *_gaps(report)]
    findings = sorted(report.findings, key=lambda f: -f.severity)  # stable: the report's order within a severity
    shown = findings if limit is None else findings[: max(int(limit), 0)]
    if shown:
        lines += ["| Severity | Rule | Resource | Location | Message |", "| --- | --- | --- | --- | --- |"]
        lines += [_row(finding) for finding in shown]
        lines.append("")
    if len(shown) < len(findings):
        lines += [f"_…and {_count(len(findings) - len(shown), 'more finding')}._", ""]
    return "\n".join(lines).rstrip("\n") + "\n"
