"""Terminal output: findings grouped by function, coloured by severity, then gaps and a summary line."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from ..model.findings import Finding, Report, Severity
from ..model.location import Location
from ..rules.base import Rule

_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def _group(findings: Sequence[Finding]) -> dict[str, list[Finding]]:
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        if len(finding.functions) == 1:
            title = f"function {finding.functions[0]}"
            if finding.priority is not None:
                title += f" · attack-path priority {finding.priority.level.label} (score {finding.priority.score})"
        elif finding.functions:
            title = "functions " + ", ".join(finding.functions)
        else:
            title = "template and account"
        groups.setdefault(title, []).append(finding)
    # The functions with the highest attack-path priority first, then the groups with the most severe findings.
    return dict(sorted(groups.items(), key=lambda item: (*_priority_rank(item[1]), -max(f.severity for f in item[1]),
                                                        item[0])))


def _where(location: Location) -> str:
    """A file and line; for an account's resource, its ARN's resource part and region (the full ARN is in the
    finding's resource id): a column of whole ARNs would leave no room for the findings."""
    if location.file or not location.arn or location.arn.count(":") < 5:
        return location.display()
    resource = location.arn.split(":", 5)[5]
    return f"{resource} ({location.region})" if location.region else resource


def _priority_rank(findings: list[Finding]) -> tuple[int, int]:
    level, score = max((f.priority.rank for f in findings if f.priority is not None), default=(-1, 0))
    return -level, -score


def render(report: Report, rules: Sequence[Rule] = (), **options: Any) -> str:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    buffer = io.StringIO()
    color = bool(options.get("color"))
    console = Console(file=buffer, force_terminal=color, no_color=not color, color_system="256" if color else None,
                      width=int(options.get("width", 120)), highlight=False, soft_wrap=False)
    for title, findings in _group(report.findings).items():
        table = Table(title=escape(title), title_justify="left", show_lines=False, expand=True)
        table.add_column("severity", no_wrap=True)
        table.add_column("rule", no_wrap=True)
        table.add_column("finding", ratio=3)
        table.add_column("location", no_wrap=True)
        for f in findings:
            table.add_row(
                f"[{_STYLE[f.severity]}]{f.severity.label}[/]",
                f"{f.rule_id}\n[dim]{f.slug}[/]",
                f"{escape(f.message)}\n[dim]confidence {f.confidence.label} · {escape(f.resource_id)}[/]",
                escape(_where(f.location)),
            )
        console.print(table)
    if options.get("show_suppressed") and report.suppressed:
        console.print("[bold]Suppressed[/]")
        for f in report.suppressed:
            reason = f.suppression.reason if f.suppression else ""
            console.print(f"  {f.rule_id} {escape(f.resource_id)} ({escape(f.location.display())}): "
                          f"[dim]{escape(reason)}[/]")
    if options.get("show_suppressed") and report.baselined:
        console.print("[bold]Baselined[/] [dim](in the baseline: not counted by --fail-on)[/]")
        for f in report.baselined:
            console.print(f"  {f.rule_id} {escape(f.resource_id)} ({escape(f.location.display())}): "
                          f"[dim]{escape(f.message)}[/]")
    if report.coverage_gaps:
        console.print(f"[bold magenta]Coverage gaps ({len(report.coverage_gaps)}): the scan did not see everything[/]")
        for gap in report.coverage_gaps:
            console.print(f"  [magenta]{gap.kind}[/] {escape(gap.location.display())}: {escape(gap.message)}")
    if report.not_evaluated:
        console.print(f"[dim]{len(report.not_evaluated)} check(s) not evaluated for lack of data "
                      "(see -f json: not_evaluated)[/]")
    if report.iam_catalogue:
        console.print(f"[dim]IAM action catalogue: {escape(report.iam_catalogue)}[/]")
    console.print(_summary_line(report))
    return buffer.getvalue()


def _summary_line(report: Report) -> str:
    counts = {s: 0 for s in Severity}
    for f in report.findings:
        counts[f.severity] += 1
    parts = [f"[{_STYLE[s]}]{counts[s]} {s.label}[/]" for s in sorted(Severity, reverse=True) if counts[s]]
    functions = report.affected_function_count
    text = (f"{len(report.findings)} finding(s)" + (f" ({', '.join(parts)})" if parts else "")
            + f" in {functions} function(s), {len(report.scanned_files)} file(s) scanned")
    if report.suppressed:
        text += f", {len(report.suppressed)} suppressed"
    if report.baselined:
        text += f", {len(report.baselined)} baselined"
    if report.coverage_gaps:
        text += f", [bold magenta]{len(report.coverage_gaps)} coverage gap(s): incomplete scan[/]"
    return text
