"""A self-contained HTML report a manager can read (docs/html-report.md).

One file, no external resource: the stylesheet and the script are inline and allowed by a Content-Security-Policy
that names their sha256 hashes (deterministic output, no nonce), the findings travel as JSON in a
``<script type="application/json">`` element that the script reads with ``JSON.parse`` and shows with
``textContent`` only, and everything else is rendered by Jinja2 with autoescaping. The attack paths are inline SVG
drawn here, on the server side.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

from ..model.findings import CATEGORIES, Report, Severity
from ..model.priority import EntryPoint, Priority, Reach
from .json_report import finding_to_dict

SEVERITIES = tuple(s.label for s in sorted(Severity, reverse=True))  # critical first
CATEGORY_NAMES = {
    "exposure": "Who can invoke the functions",
    "identity": "Permissions of the functions' roles",
    "secrets": "Secrets in configuration or code",
    "encryption": "Encryption",
    "code-integrity": "Integrity of code and dependencies",
    "network": "Network placement",
    "runtime": "Runtime versions",
    "observability": "Logging and tracing",
    "resilience": "Failure handling and limits",
    "governance": "Tags the organization requires",
    "threat": "Suspicious activity in logs",
}
ENTRY_CAPTIONS = {
    "function-url": "Function URL, no sign-in",
    "public-permission": "Anyone may invoke",
    "open-api-route": "API route, no authorization",
    "unpinned-service-permission": "Service, any account",
}
SNIPPET_NAMES = {"cloudformation": "CloudFormation", "sam": "AWS SAM", "terraform": "Terraform"}
MAX_PATHS = 50  # functions drawn with their attack path; the others are listed in a table
MAX_LISTED = 50  # coverage gaps, suppressed findings and unevaluated resources shown

# Attack-path picture: four columns (entry points, function, role, reach), one node per row.
_COLUMNS = {"entry": (8, 240), "function": (300, 200), "role": (552, 200), "reach": (804, 268)}
_WIDTH = 1080
_NODE_H = 44
_GAP = 12
_CHAR_W = 8.4  # average width of a bold 13px character, to shorten labels that would overflow their box
_MAX_ENTRIES = 4
_MAX_ESCALATION = 4


def render(report: Report, rules: Sequence[Any] = (), **options: Any) -> str:
    """The report as one HTML document. ``rules`` are Rule objects, or Detection objects for `lambdasec detect`."""
    from markupsafe import Markup

    env = _environment()
    css, js = _asset("report.css"), _asset("report.js")
    csp = (f"default-src 'none'; style-src {_hash(css)}; script-src {_hash(js)}; base-uri 'none'; "
           "form-action 'none'")
    context = view(report, rules, max_paths=int(options.get("max_paths", MAX_PATHS)))
    return env.get_template("report.html.j2").render(
        csp=Markup(csp), css=Markup(css), js=Markup(js), data=Markup(embed_json(data(report, rules))), **context)


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(loader=PackageLoader("lambdasec.reporters", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


@lru_cache(maxsize=4)
def _asset(name: str) -> str:
    return (resources.files("lambdasec.reporters") / "templates" / name).read_text(encoding="utf-8")


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def embed_json(value: Any) -> str:
    """JSON that is safe as the text of a <script> element: no '<', '>' or '&' (so no '</script>' or '<!--'),
    and no U+2028/U+2029 (line terminators in older JavaScript). Those only occur inside JSON strings, where the
    \\u escapes mean the same characters."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


# ---------------------------------------------------------------- embedded data (the findings table)
def data(report: Report, rules: Sequence[Any]) -> dict[str, Any]:
    findings = []
    for finding in report.findings:
        item = finding_to_dict(finding)
        item["where"] = finding.location.display()
        findings.append(item)
    return {
        "noun": "alert" if _is_detection_report(report, rules) else "finding",
        "severities": list(SEVERITIES),
        "categories": {c: CATEGORY_NAMES.get(c, c) for c in sorted({f.category for f in report.findings})},
        "functions": sorted({name for f in report.findings for name in f.functions}),
        "findings": findings,
        "rules": {rule["code"]: rule for rule in _used_rules(report, rules)},
        "snippet_names": SNIPPET_NAMES,
    }


def _used_rules(report: Report, rules: Sequence[Any]) -> list[dict[str, Any]]:
    """Every rule with a finding (suppressed ones too), in code order, as plain dicts."""
    used = {f.rule_id for f in [*report.findings, *report.suppressed]}
    out = []
    for rule in sorted((r for r in rules if r.code in used), key=lambda r: r.code):
        extra = {label: str(getattr(rule, attr)) for attr, label in (
            ("tactic", "ATT&CK tactic"), ("technique", "ATT&CK technique"), ("data_source", "Data source"),
            ("false_positives", "False positives")) if getattr(rule, attr, "")}
        out.append({
            "code": rule.code, "slug": rule.slug, "title": rule.title, "severity": rule.severity.label,
            "category": rule.category, "rationale": rule.rationale, "remediation": rule.remediation,
            "references": list(rule.references), "snippets": dict(getattr(rule, "snippets", None) or {}),
            "extra": extra,
        })
    known = {rule["code"] for rule in out}
    for code in sorted(used - known):  # a finding whose rule was not passed in: its own title at least
        finding = next(f for f in [*report.findings, *report.suppressed] if f.rule_id == code)
        out.append({"code": code, "slug": finding.slug, "title": finding.title, "severity": finding.severity.label,
                    "category": finding.category, "rationale": "", "remediation": finding.remediation,
                    "references": [], "snippets": {}, "extra": {}})
    return sorted(out, key=lambda rule: rule["code"])


# ---------------------------------------------------------------- server-side view
def view(report: Report, rules: Sequence[Any], max_paths: int = MAX_PATHS) -> dict[str, Any]:
    detect = _is_detection_report(report, rules)
    by_severity = Counter(f.severity.label for f in report.findings)
    by_category = Counter(f.category for f in report.findings)
    per_function = Counter(key for f in report.findings for key in f.function_keys)
    paths = [_path_view(p, per_function[p.function_key]) for p in report.priorities[:max_paths]]
    rest = [{"id": p.function_id, "level": p.level.label, "where": p.location.display(),
             "exposure": _exposure_phrase(p.exposure), "reach": _reach_phrase(p.reach)}
            for p in report.priorities[max_paths:]]
    return {
        "detect": detect,
        "title": "Lambda threat detection report" if detect else "Lambda security report",
        "noun": "alert" if detect else "finding",
        "summary": summary_sentences(report, detect),
        "gaps": [{"kind": g.kind, "message": g.message, "where": g.location.display() if (
            g.location.file or g.location.arn) else ""} for g in report.coverage_gaps[:MAX_LISTED]],
        "gaps_more": max(len(report.coverage_gaps) - MAX_LISTED, 0),
        "severity_counts": [{"label": s, "count": by_severity.get(s, 0)} for s in SEVERITIES],
        "category_chart": _category_chart(by_category),
        "facts": _facts(report, detect),
        "paths": paths,
        "paths_rest": rest,
        "suppressed": [{"rule": f.rule_id, "resource": f.resource_id, "where": f.location.display(),
                        "reason": f.suppression.reason if f.suppression else ""}
                       for f in report.suppressed[:MAX_LISTED]],
        "suppressed_more": max(len(report.suppressed) - MAX_LISTED, 0),
        "not_evaluated": [{"rule": n.rule_id, "resource": n.resource_id, "reason": n.reason}
                          for n in report.not_evaluated[:MAX_LISTED]],
        "not_evaluated_more": max(len(report.not_evaluated) - MAX_LISTED, 0),
        "rules": [{**rule, "links": [ref for ref in rule["references"] if _is_web_link(ref)],
                   "texts": [ref for ref in rule["references"] if not _is_web_link(ref)]}
                  for rule in _used_rules(report, rules)],
        "tool_version": report.tool_version,
        "total": len(report.findings),
    }


def _is_detection_report(report: Report, rules: Sequence[Any]) -> bool:
    """A `lambdasec detect` report: every rule it ran detects threats in logs."""
    run = set(report.rules_run)
    categories = {r.category for r in rules if r.code in run} or {f.category for f in report.findings}
    return categories == {"threat"}


def _is_web_link(text: str) -> bool:
    return text.startswith(("https://", "http://")) and not any(c.isspace() for c in text)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def summary_sentences(report: Report, detect: bool) -> list[str]:
    files = len(report.scanned_files)
    counts = Counter(f.severity.label for f in report.findings)
    parts = [f"{counts[s]} {s}" for s in SEVERITIES if counts.get(s)]
    total = len(report.findings)
    if detect:
        first = f"lambdasec searched {_plural(files, 'log file')} and "
        first += (f"raised {_plural(total, 'alert')} of suspicious activity: {_and(parts)}." if total
                  else "found no suspicious activity.")
    else:
        first = f"lambdasec checked {_plural(files, 'file')} and "
        if total:
            first += f"found {_plural(total, 'problem')}"
            functions = report.affected_function_count
            if functions:
                first += f" affecting {_plural(functions, 'function')}"
            first += f": {_and(parts)}."
        else:
            first += "found no problems."
    out = [first]
    top = report.priorities[0] if report.priorities else None
    if top is not None and top.level >= Severity.HIGH:
        out.append(f"Fix {top.function_id} first: {_exposure_phrase(top.exposure).lower()}, and "
                   f"{_reach_phrase(top.reach)}.")
    if report.coverage_gaps:
        out.append(f"The scan is incomplete: {_plural(len(report.coverage_gaps), 'part')} could not be read "
                   "(listed below), so problems there are not reported.")
    return out


def _facts(report: Report, detect: bool) -> list[tuple[str, str]]:
    facts = [("lambdasec version", report.tool_version),
             ("Log files searched" if detect else "Files scanned", str(len(report.scanned_files))),
             ("Detections run" if detect else "Rules run", str(len(report.rules_run)))]
    if not detect:
        facts.append(("Functions with a finding", str(report.affected_function_count)))
        facts.append(("Functions analysed", str(len(report.priorities))))
    facts.append(("Suppressed findings", str(len(report.suppressed))))
    if not detect:
        facts.append(("Checks that could not be evaluated", str(len(report.not_evaluated))))
    facts.append(("Coverage gaps", str(len(report.coverage_gaps))))
    if report.iam_catalogue:
        facts.append(("IAM action catalogue", report.iam_catalogue))
    return facts


def _category_chart(counts: Counter[str]) -> dict[str, Any]:
    """Horizontal bars, one per category with findings, largest first."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], CATEGORIES.index(item[0])
                                                        if item[0] in CATEGORIES else len(CATEGORIES), item[0]))
    top = max(counts.values(), default=1)
    label_w, bar_w, row_h = 290, 380, 26
    rows = [{"label": CATEGORY_NAMES.get(name, name), "category": name, "count": count, "y": i * row_h,
             "width": max(round(bar_w * count / top), 2)} for i, (name, count) in enumerate(ordered)]
    return {"rows": rows, "height": max(len(rows) * row_h, row_h), "label_w": label_w, "width": label_w + bar_w + 50}


def _exposure_phrase(exposure: int) -> str:
    if exposure >= 3:
        return "Anyone on the internet can invoke it"
    if exposure >= 2:
        return "Callers outside your control can reach it"
    return "No way in from outside the account was found"


def _reach_phrase(reach: Reach) -> str:
    if reach.blast_radius == "admin":
        return "its role has administrator access to the account"
    if reach.blast_radius == "escalation":
        return "its role can escalate its own privileges (" + ", ".join(reach.escalation[:3]) + ")"
    if reach.blast_radius == "read-all-data":
        return "its role can read data on every resource (" + ", ".join(reach.read_all[:4]) + ")"
    if reach.blast_radius == "write-any":
        return f"its role can write on every resource ({_plural(len(reach.write_all), 'action')})"
    if reach.blast_radius == "limited":
        return "its role has limited permissions"
    return "its role is outside the scan, so what it can reach is unknown"


# ---------------------------------------------------------------- attack-path pictures
def _path_view(priority: Priority, findings: int) -> dict[str, Any]:
    return {
        "id": priority.function_id, "level": priority.level.label, "score": priority.score,
        "where": priority.location.display(), "findings": findings,
        "sentence": f"{_exposure_phrase(priority.exposure)}; {_reach_phrase(priority.reach)}.",
        "open": priority.level >= Severity.HIGH,
        "picture": picture(priority),
    }


def _node(column: str, row: int, caption: str, name: str, kind: str, title: str = "") -> dict[str, Any]:
    x, w = _COLUMNS[column]
    limit = int((w - 20) / _CHAR_W)
    shown = name if len(name) <= limit else name[:limit - 1] + "\u2026"
    return {"x": x, "y": 0, "w": w, "h": _NODE_H, "row": row, "caption": caption, "name": shown, "kind": kind,
            "title": title or f"{caption}: {name}", "column": column}


def _entry_nodes(entries: Sequence[EntryPoint]) -> list[dict[str, Any]]:
    if not entries:
        return [_node("entry", 0, "Entry point", "none found from outside", "none",
                      "No way in from outside the account was found")]
    nodes = [_node("entry", i, ENTRY_CAPTIONS.get(e.kind, e.kind), e.resource_id,
                   "internet" if e.exposure >= 3 else "reachable", e.description)
             for i, e in enumerate(entries[:_MAX_ENTRIES])]
    if len(entries) > _MAX_ENTRIES:
        more = entries[_MAX_ENTRIES:]
        nodes.append(_node("entry", len(nodes), "More entry points", f"{len(more)} more", "reachable",
                           "; ".join(e.description for e in more)))
    return nodes


def _reach_nodes(reach: Reach) -> list[dict[str, Any]]:
    specs: list[tuple[str, str, str, str]] = []  # caption, name, kind, title
    if reach.blast_radius == "admin":
        specs.append(("Can reach", "Administrator access", "admin", "Administrator access to the whole account"))
    for method in reach.escalation[:_MAX_ESCALATION]:
        specs.append(("Privilege escalation", method, "escalation", f"Privilege escalation: {method}"))
    if len(reach.escalation) > _MAX_ESCALATION:
        more = reach.escalation[_MAX_ESCALATION:]
        specs.append(("Privilege escalation", f"{len(more)} more methods", "escalation", ", ".join(more)))
    if reach.read_all:
        specs.append((f"Reads data everywhere ({len(reach.read_all)})", ", ".join(reach.read_all), "read",
                      "Reads data on every resource: " + ", ".join(reach.read_all)))
    if reach.write_all:
        specs.append((f"Writes everywhere ({len(reach.write_all)})", ", ".join(reach.write_all), "write",
                      "Writes on every resource: " + ", ".join(reach.write_all)))
    if not specs:
        if reach.blast_radius == "limited":
            specs.append(("Can reach", "Limited permissions", "limited", "Limited permissions"))
        else:
            specs.append(("Can reach", "Unknown", "unknown", "The execution role is outside the scan"))
    return [_node("reach", i, caption, name, kind, title) for i, (caption, name, kind, title) in enumerate(specs)]


def picture(priority: Priority) -> dict[str, Any]:
    """Nodes and edges of one function's attack path, with coordinates (the template only draws them)."""
    entries = _entry_nodes(priority.entry_points)
    reach = _reach_nodes(priority.reach)
    rows = max(len(entries), len(reach))
    height = rows * (_NODE_H + _GAP) + _GAP

    def place(nodes: list[dict[str, Any]]) -> None:
        top = (height - len(nodes) * (_NODE_H + _GAP) + _GAP) / 2
        for node in nodes:
            node["y"] = round(top + node["row"] * (_NODE_H + _GAP))

    function = _node("function", 0, "Function", priority.function_id, "function")
    role_name = priority.reach.role or "not in the scan"
    role = _node("role", 0, "Execution role", role_name, "role" if priority.reach.role else "unknown")
    for column in (entries, reach, [function], [role]):
        place(column)
    edges = [_edge(e, function, "internet" if e["kind"] == "internet" else
                   "none" if e["kind"] == "none" else "plain") for e in entries]
    edges.append(_edge(function, role, "plain"))
    edges += [_edge(role, r, r["kind"] if r["kind"] in ("escalation", "admin") else "plain") for r in reach]
    label = (f"Attack path of {priority.function_id}: "
             + (", ".join(e.description for e in priority.entry_points) or "no entry point from outside")
             + f" -> function {priority.function_id} -> role {role_name} -> "
             + "; ".join(node["title"] for node in reach))
    return {"width": _WIDTH, "height": height, "nodes": [*entries, function, role, *reach], "edges": edges,
            "label": label}


def _edge(source: dict[str, Any], target: dict[str, Any], kind: str) -> dict[str, Any]:
    x1, y1 = source["x"] + source["w"], source["y"] + _NODE_H // 2
    x2, y2 = target["x"], target["y"] + _NODE_H // 2
    bend = (x2 - x1) / 2
    tip = x2 - 1
    return {"d": f"M{x1} {y1} C{x1 + bend:g} {y1} {x2 - bend:g} {y2} {tip - 7} {y2}",
            "arrow": f"{tip - 8},{y2 - 5} {tip},{y2} {tip - 8},{y2 + 5}", "kind": kind}
