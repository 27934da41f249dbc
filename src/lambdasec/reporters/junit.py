"""JUnit XML for CI dashboards (Jenkins, GitLab, Azure DevOps...): rules are test suites, resources test cases.

One ``<testsuite>`` per rule that ran, with one ``<testcase>`` per (rule, resource) pair: a ``<failure>`` when the
resource has findings (all of them listed in the failure's text), ``<skipped>`` when its only findings are
suppressed or when the rule could not evaluate it, and one passing ``no findings`` test case for a rule that
found nothing. Coverage gaps make a last suite, ``coverage``, with an ``<error>`` per gap. Documented in
docs/formats.md.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from ..model.findings import Finding, NotEvaluated, Report

PASSING_NAME = "no findings"
COVERAGE_SUITE = "coverage"
# Characters XML 1.0 cannot carry at all, even escaped: ElementTree would write them and produce an unreadable file.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: object) -> str:
    return _NOT_XML.sub("\ufffd", str(value))


def _element(parent: ET.Element, tag: str, **attributes: object) -> ET.Element:
    return ET.SubElement(parent, tag, {key: _text(value) for key, value in attributes.items()})


def _line(finding: Finding) -> str:
    return f"[{finding.severity.label}] {finding.location.display()}: {finding.message}"


def _classname(rule_id: str, slug: str) -> str:
    return f"lambdasec.{rule_id}.{slug}" if slug else f"lambdasec.{rule_id}"


def _case_attributes(rule_id: str, slug: str, resource: str, first: Finding | NotEvaluated) -> dict[str, object]:
    attributes: dict[str, object] = {"name": resource, "classname": _classname(rule_id, slug), "time": "0"}
    location = first.location
    if location.file:
        attributes["file"] = location.file
        if location.line:
            attributes["line"] = location.line
    return attributes


def _suite(parent: ET.Element, rule_id: str, rule: Any, findings: list[Finding], suppressed: list[Finding],
           not_evaluated: list[NotEvaluated]) -> ET.Element:
    slug = getattr(rule, "slug", "") or next((f.slug for f in [*findings, *suppressed]), "")
    suite = _element(parent, "testsuite", name=f"{rule_id} {slug}".strip())
    if rule is not None:
        properties = _element(suite, "properties")
        for name in ("title", "category"):
            _element(properties, "property", name=name, value=getattr(rule, name, ""))
        _element(properties, "property", name="severity", value=rule.severity.label)
    cases: dict[str, dict[str, list[Any]]] = {}  # resource -> kind -> items, in report order
    for kind, items in (("failed", findings), ("suppressed", suppressed)):
        for finding in items:
            cases.setdefault(finding.resource_id, {}).setdefault(kind, []).append(finding)
    for item in not_evaluated:
        cases.setdefault(item.resource_id, {}).setdefault("not-evaluated", []).append(item)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for resource, kinds in cases.items():
        failed, skipped, unjudged = kinds.get("failed", []), kinds.get("suppressed", []), kinds.get("not-evaluated", [])
        first = (failed or skipped or unjudged)[0]
        case = _element(suite, "testcase", **_case_attributes(rule_id, slug, resource, first))
        counts["tests"] += 1
        if failed:
            worst = max(f.severity for f in failed)
            message = failed[0].message if len(failed) == 1 else f"{len(failed)} findings: {failed[0].message}"
            body = [_line(f) for f in failed]
            body += [f"suppressed ({f.suppression.reason if f.suppression else ''}): {_line(f)}" for f in skipped]
            failure = _element(case, "failure", message=message, type=worst.label)
            failure.text = _text("\n".join(body))
            counts["failures"] += 1
        elif skipped:
            reasons = sorted({f.suppression.reason for f in skipped if f.suppression is not None})
            skip = _element(case, "skipped", message="suppressed: " + "; ".join(reasons))
            skip.text = _text("\n".join(_line(f) for f in skipped))
            counts["skipped"] += 1
        else:
            _element(case, "skipped", message="not evaluated: " + "; ".join(n.reason for n in unjudged))
            counts["skipped"] += 1
    if not findings and not suppressed:
        _element(suite, "testcase", name=PASSING_NAME, classname=_classname(rule_id, slug), time="0")
        counts["tests"] += 1
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", "0")
    return suite


def _coverage_suite(parent: ET.Element, report: Report) -> ET.Element:
    suite = _element(parent, "testsuite", name=COVERAGE_SUITE)
    for gap in report.coverage_gaps:
        attributes: dict[str, object] = {"name": f"{gap.kind}: {gap.location.display()}",
                                         "classname": "lambdasec.coverage", "time": "0"}
        if gap.location.file:
            attributes["file"] = gap.location.file
        case = _element(suite, "testcase", **attributes)
        error = _element(case, "error", message=gap.message, type=gap.kind)
        error.text = _text(f"{gap.kind} at {gap.location.display()}: {gap.message}")
    if not report.coverage_gaps:
        _element(suite, "testcase", name="scan complete", classname="lambdasec.coverage", time="0")
    errors = len(report.coverage_gaps)
    for key, value in (("tests", max(errors, 1)), ("failures", 0), ("errors", errors), ("skipped", 0)):
        suite.set(key, str(value))
    suite.set("time", "0")
    return suite


def to_element(report: Report, rules: Sequence[Any] = ()) -> ET.Element:
    by_code = {rule.code: rule for rule in rules}
    root = ET.Element("testsuites", {"name": "lambdasec"})
    order = list(dict.fromkeys([*report.rules_run, *(f.rule_id for f in [*report.findings, *report.suppressed])]))
    grouped: dict[str, tuple[list[Finding], list[Finding], list[NotEvaluated]]] = {code: ([], [], []) for code in order}
    for finding in report.findings:
        grouped[finding.rule_id][0].append(finding)
    for finding in report.suppressed:
        grouped[finding.rule_id][1].append(finding)
    for item in report.not_evaluated:
        if item.rule_id in grouped:
            grouped[item.rule_id][2].append(item)
    suites = [_suite(root, code, by_code.get(code), *grouped[code]) for code in order]
    suites.append(_coverage_suite(root, report))
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(int(suite.get(key, "0")) for suite in suites)))
    root.set("time", "0")
    return root


def render(report: Report, rules: Sequence[Any] = (), **options: Any) -> str:
    root = to_element(report, rules)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

