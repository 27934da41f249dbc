"""The HTML report: self-contained, deterministic, locked down by its CSP, and safe with hostile names.

The unit tests read the markup; the browser tests open it in Debian's headless Chromium through Playwright (never
Playwright's own browsers) and use it as a reader would: filter, sort, expand, and check nothing hostile runs.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import lambdasec
from lambdasec.model.findings import Report, Severity, Suppression
from lambdasec.model.inventory import CoverageGap
from lambdasec.model.location import Location
from lambdasec.model.priority import EntryPoint, Priority, Reach
from lambdasec.reporters import html as html_report
from lambdasec.rules.registry import all_rules

from .conftest import FIXTURE_CLOCK, REPO

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
IMG_PAYLOAD = "<img src=x onerror=window.__xss=1>"
SCRIPT_PAYLOAD = "</script><img src=x onerror=alert(1)>"
CLOSING_PAYLOAD = "a</script><script>window.__xss=2</script>"
DET003_FIRE = REPO / "src" / "lambdasec" / "detections" / "fixtures" / "DET003.fire.json"


@pytest.fixture(scope="module")
def example() -> Report:
    return lambdasec.scan_paths([REPO / "examples" / "sam-app"], now=FIXTURE_CLOCK)


def detect_report() -> tuple[Report, list[Any]]:
    pytest.importorskip("duckdb", reason="lambdasec detect's default engine")
    from lambdasec.detections.catalogue import all_detections
    from lambdasec.detections.runner import DetectSettings, detect

    return detect([DET003_FIRE], DetectSettings()), all_detections()


def hostile(report: Report) -> Report:
    """The report plus findings, a function, a gap and a suppression named to break out of the markup."""
    out = copy.copy(report)
    base = report.findings[0]
    extra = []
    for index, name in enumerate((IMG_PAYLOAD, SCRIPT_PAYLOAD, CLOSING_PAYLOAD)):
        finding = copy.copy(base)
        finding.resource_id = name
        finding.functions = [name]
        finding.message = f"message {name}\u2028{name}"
        finding.evidence = {"name": name, "nested": [name, {"k": name}]}
        finding.fingerprint = f"hostile{index}"
        extra.append(finding)
    suppressed = copy.copy(base)
    suppressed.resource_id = SCRIPT_PAYLOAD
    suppressed.suppression = Suppression(f"because {SCRIPT_PAYLOAD}", "config")
    out.findings = [*report.findings, *extra]
    out.suppressed = [*report.suppressed, suppressed]
    out.coverage_gaps = [*report.coverage_gaps, CoverageGap("parse-error", f"cannot read {SCRIPT_PAYLOAD}",
                                                            Location(file=IMG_PAYLOAD))]
    reach = Reach("escalation", 4, SCRIPT_PAYLOAD, (IMG_PAYLOAD, "iam:PassRole + lambda:CreateFunction"))
    entry = EntryPoint("function-url", SCRIPT_PAYLOAD, f"function URL {SCRIPT_PAYLOAD} with AuthType NONE", 3)
    out.priorities = [Priority(IMG_PAYLOAD, IMG_PAYLOAD, Location(file="t.yaml", line=1), Severity.CRITICAL, 20, 3,
                               (entry,), reach), *report.priorities]
    return out


# ---------------------------------------------------------------- reading the markup
class Parsed(HTMLParser):
    """Tags with their attributes, and the text of each <script> and <style> element."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self._open: tuple[str, dict[str, str | None]] | None = None
        self._text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._open, self._text = (tag, dict(attrs)), []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open is not None and tag == self._open[0]:
            text = "".join(self._text)
            if tag == "script":
                self.scripts.append((self._open[1], text))
            else:
                self.styles.append(text)
            self._open = None


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def raw_element(page: str, opening: str) -> str:
    """The exact text between an opening tag and the next closing tag (what the browser hashes)."""
    start = page.index(opening) + len(opening)
    return page[start:page.index("</", start)]


def test_rendering_is_deterministic(example: Report) -> None:
    first = html_report.render(example, all_rules())
    assert html_report.render(example, all_rules()) == first
    again = lambdasec.scan_paths([REPO / "examples" / "sam-app"], now=FIXTURE_CLOCK)
    assert html_report.render(again, all_rules()) == first
    assert first.startswith("<!DOCTYPE html>\n") and first.endswith("</html>\n")


def test_csp_names_the_hashes_of_the_only_inline_style_and_script(example: Report) -> None:
    page = html_report.render(hostile(example), all_rules())
    markup = Parsed(page)
    metas = [attrs for tag, attrs in markup.tags if tag == "meta" and attrs.get("http-equiv")]
    assert len(metas) == 1 and metas[0]["http-equiv"] == "Content-Security-Policy"
    style = raw_element(page, "<style>")
    script = raw_element(page, "<script>")
    assert markup.styles == [style]
    assert [(attrs, text == script) for attrs, text in markup.scripts] == [
        ({"type": "application/json", "id": "data"}, False), ({}, True)]
    assert metas[0]["content"] == (f"default-src 'none'; style-src {sha256(style)}; script-src {sha256(script)}; "
                                   "base-uri 'none'; form-action 'none'")
    # The CSP meta comes before anything it governs.
    assert page.index("Content-Security-Policy") < page.index("<style>")


def test_nothing_is_loaded_from_anywhere(example: Report) -> None:
    page = html_report.render(hostile(example), all_rules())
    markup = Parsed(page)
    tags = Counter(tag for tag, _ in markup.tags)
    assert not {"img", "link", "iframe", "object", "embed", "base", "image", "use"} & set(tags)
    for tag, attrs in markup.tags:
        assert not {"src", "style", "srcset", "action", "xlink:href"} & set(attrs), (tag, attrs)
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        if "href" in attrs:
            assert tag == "a", (tag, attrs)
            href = attrs["href"] or ""
            assert href.startswith("#") or (href.startswith("https://") and attrs["rel"] == "noopener noreferrer")
    css = raw_element(page, "<style>")
    assert "url(" not in css and "@import" not in css
    script = raw_element(page, "<script>")
    for call in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "fetch(",
                 "XMLHttpRequest", "Function("):
        assert call not in script
    # Links to the documentation are fine, as plain anchors in the rules appendix.
    links = [attrs["href"] for tag, attrs in markup.tags if tag == "a" and (attrs["href"] or "").startswith("http")]
    assert links and all(link.startswith("https://") for link in links)


def test_embedded_json_round_trips_and_cannot_close_its_element(example: Report) -> None:
    report = hostile(example)
    page = html_report.render(report, all_rules())
    text = raw_element(page, '<script type="application/json" id="data">')
    assert not {"<", ">", "&", "\u2028", "\u2029"} & set(text)
    parsed = json.loads(text)
    assert parsed == json.loads(json.dumps(html_report.data(report, all_rules()), default=str))
    assert [f["resource"]["id"] for f in parsed["findings"][-3:]] == [IMG_PAYLOAD, SCRIPT_PAYLOAD, CLOSING_PAYLOAD]
    assert parsed["findings"][-1]["message"] == f"message {CLOSING_PAYLOAD}\u2028{CLOSING_PAYLOAD}"
    assert len(parsed["findings"]) == len(example.findings) + 3
    assert sorted(parsed["rules"]) == sorted({f.rule_id for f in example.findings})
    assert html_report.embed_json({"a": "</script>&\u2029"}) == '{"a":"\\u003c/script\\u003e\\u0026\\u2029"}'


def test_hostile_names_appear_only_as_text(example: Report) -> None:
    page = html_report.render(hostile(example), all_rules())
    for payload in (IMG_PAYLOAD, SCRIPT_PAYLOAD, CLOSING_PAYLOAD):
        assert payload not in page
    assert page.count("</script>") == 2  # the data element's and the script's own
    assert page.count("<script") == 2
    escaped = "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
    # The server-rendered parts: the gap, the suppression, the attack-path picture.
    assert f"cannot read {escaped}" in page
    assert f"because {escaped}" in page
    assert '<text class="name" x="310"' in page and "&lt;img src=x onerror=window.__xss=1&gt;" in page
    assert f"function URL {escaped} with AuthType NONE" in page  # the SVG's <title>


def test_overview_summary_and_gaps_come_first(example: Report) -> None:
    page = html_report.render(example, all_rules())
    counts = Counter(f.severity.label for f in example.findings)
    parts = [f"{counts[s]} {s}" for s in ("critical", "high", "medium", "low", "info") if counts[s]]
    assert (f"<p class=\"lead\">lambdasec checked 1 file and found {len(example.findings)} problems affecting "
            f"{example.affected_function_count} functions: {', '.join(parts[:-1])} and {parts[-1]}.</p>") in page
    top = example.priorities[0]
    assert f"<p class=\"lead\">Fix {top.function_id} first: anyone on the internet can invoke it" in page
    assert 'id="gaps"' not in page
    for label in ("critical", "high", "medium", "low", "info"):
        assert (f'<a class="tile sev-{label}" href="#findings" data-severity="{label}"><span class="count">'
                f"{counts[label]}</span>") in page
    assert "<dt>lambdasec version</dt><dd>0.1.0</dd>" in page
    assert f"<dt>Files scanned</dt><dd>{len(example.scanned_files)}</dd>" in page
    with_gap = copy.copy(example)
    with_gap.coverage_gaps = [CoverageGap("parse-error", "template.yaml: bad indentation", Location("t.yaml", 3))]
    page = html_report.render(with_gap, all_rules())
    assert page.index('id="gaps"') < page.index('id="overview"')
    assert "<li><strong>parse-error</strong>: template.yaml: bad indentation <span class=\"where\">(t.yaml:3)" in page
    assert "The scan is incomplete: 1 part could not be read" in page


def test_every_priority_gets_a_picture_and_every_rule_with_a_finding_an_appendix_entry(example: Report) -> None:
    page = html_report.render(example, all_rules())
    assert page.count('<svg class="path"') == len(example.priorities)
    used = sorted({f.rule_id for f in example.findings})
    assert re.findall(r'<article class="rule" id="rule-([A-Z]{3}\d{3})">', page) == used
    rule = next(r for r in all_rules() if r.code == used[0])
    assert f"<li><a href=\"{rule.references[0]}\" rel=\"noopener noreferrer\">" in page
    capped = html_report.render(example, all_rules(), max_paths=2)
    assert capped.count('<svg class="path"') == 2
    assert f"<summary>{len(example.priorities) - 2} more functions</summary>" in capped


def test_attack_path_picture_highlights_escalation() -> None:
    reach = Reach("escalation", 4, "AppRole", tuple(f"method {i}" for i in range(6)), ("s3:GetObject",))
    entries = (EntryPoint("function-url", "Url", "function URL Url with AuthType NONE", 3),
               EntryPoint("open-api-route", "Api GET /", "API route GET / of Api without authorization", 2))
    picture = html_report.picture(Priority("Fn", "k", Location(), Severity.CRITICAL, 20, 3, entries, reach))
    kinds = [(node["column"], node["kind"], node["name"]) for node in picture["nodes"]]
    assert kinds == [
        ("entry", "internet", "Url"), ("entry", "reachable", "Api GET /"), ("function", "function", "Fn"),
        ("role", "role", "AppRole"), ("reach", "escalation", "method 0"), ("reach", "escalation", "method 1"),
        ("reach", "escalation", "method 2"), ("reach", "escalation", "method 3"),
        ("reach", "escalation", "2 more methods"), ("reach", "read", "s3:GetObject")]
    assert [edge["kind"] for edge in picture["edges"]] == [
        "internet", "plain", "plain", *["escalation"] * 5, "plain"]
    assert picture["height"] == 6 * (44 + 12) + 12
    assert all(node["y"] >= 0 and node["y"] + node["h"] <= picture["height"] for node in picture["nodes"])
    long = html_report.picture(Priority("F" * 80, "k", Location(), Severity.LOW, 2, 0, (), Reach("unknown", 1)))
    function = next(node for node in long["nodes"] if node["column"] == "function")
    assert function["name"] == "F" * 20 + "\u2026" and function["title"] == "Function: " + "F" * 80
    assert [node["kind"] for node in long["nodes"]] == ["none", "function", "unknown", "unknown"]


def test_detect_reports_render_without_priorities() -> None:
    report, detections = detect_report()
    page = html_report.render(report, detections)
    assert "<title>Lambda threat detection report</title>" in page
    assert "lambdasec searched 1 log file and raised 3 alerts of suspicious activity: 2 critical and 1 high." in page
    assert 'id="functions"' not in page
    assert re.findall(r'<article class="rule" id="rule-([A-Z]{3}\d{3})">', page) == ["DET003"]
    assert "<div><dt>ATT&amp;CK technique</dt><dd>T1546</dd></div>" in page
    assert json.loads(raw_element(page, '<script type="application/json" id="data">'))["noun"] == "alert"


def test_jinja_is_imported_only_when_rendering() -> None:
    code = ("import sys, lambdasec.reporters.html; print('jinja2' in sys.modules, 'markupsafe' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------- in a real browser
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium): apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright's Python package (the test extra)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Opened:
    """A report open in a page, with everything the page complained about and every request it made."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.url = path.as_uri()
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.set_default_timeout(5000)
        self.page.on("console", lambda m: self.problems.append(f"{m.type}: {m.text}")
                     if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        self.page.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss()))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(self.url)
        self.page.wait_for_selector("tr.finding")

    def visible(self, column: int) -> list[str]:
        cells: list[str] = self.page.eval_on_selector_all(
            "#findings-body tr.finding:not([hidden])", f"rows => rows.map(r => r.cells[{column}].textContent)")
        return cells


def open_report(browser: Any, tmp_path: Path, report: Report, rules: Any) -> Opened:
    path = tmp_path / "report.html"
    path.write_text(html_report.render(report, rules), encoding="utf-8")
    return Opened(browser, path)


def use_like_a_reader(opened: Opened, report: Report) -> None:
    """Filter, sort, expand: the table follows, and nothing hostile runs."""
    page, findings = opened.page, report.findings
    total, noun = len(findings), opened.page.eval_on_selector("#data", "e => JSON.parse(e.textContent).noun")
    assert len(opened.visible(1)) == total
    assert page.text_content("#shown") == f"{total} {noun}s"
    counts = Counter(f.severity.label for f in findings)
    # The least common severity, so the filter visibly changes the table.
    label = min(counts, key=lambda s: (counts[s], s))
    page.select_option("#filter-severity", label)
    assert opened.visible(1) == [label.capitalize()] * counts[label]
    assert page.text_content("#shown") == f"Showing {counts[label]} of {total} {noun}s"
    rule = findings[-1].rule_id
    page.select_option("#filter-severity", "")
    page.select_option("#filter-rule", rule)
    assert len(opened.visible(1)) == sum(f.rule_id == rule for f in findings)
    function = findings[0].functions[0]
    page.select_option("#filter-rule", "")
    page.select_option("#filter-function", label=next(
        text for text in page.eval_on_selector_all("#filter-function option", "o => o.map(x => x.textContent)")
        if text.startswith(function + " (")))
    assert len(opened.visible(1)) == sum(function in f.functions for f in findings)
    page.click("#filter-reset")
    assert len(opened.visible(1)) == total
    # Sorting: by resource, then the other way round; by severity, most severe first.
    page.click("th button[data-sort=resource]")
    assert opened.visible(4) == sorted(f.resource_id for f in findings)
    assert page.get_attribute("th:nth-child(5)", "aria-sort") == "ascending"
    page.click("th button[data-sort=resource]")
    assert opened.visible(4) == sorted((f.resource_id for f in findings), reverse=True)
    assert page.get_attribute("th:nth-child(5)", "aria-sort") == "descending"
    page.click("th button[data-sort=severity]")
    assert opened.visible(1) == [f.severity.label.capitalize() for f in sorted(findings, key=lambda f: -f.severity)]
    # Expanding a finding shows why it matters and how to fix it.
    first = page.locator("#findings-body tr.finding:not([hidden])").first
    index = int(first.get_attribute("data-index") or "")
    finding = findings[index]
    first.locator("button.toggle").click()
    detail = page.locator(f"#detail-{index}")
    assert detail.is_visible()
    assert first.locator("button.toggle").get_attribute("aria-expanded") == "true"
    text = detail.text_content() or ""
    assert finding.message in text and finding.remediation in text and finding.location.display() in text
    first.locator("button.toggle").click()
    assert not detail.is_visible()
    assert opened.problems == []
    assert opened.requests == [opened.url]


def check_hostile_names(opened: Opened) -> None:
    page = opened.page
    for payload in (IMG_PAYLOAD, SCRIPT_PAYLOAD, CLOSING_PAYLOAD):
        row = page.locator("#findings-body tr.finding", has=page.locator("td.resource", has_text=payload))
        assert row.count() == 1
        assert row.locator("td.resource").text_content() == payload
        row.locator("button.toggle").click()
        index = row.get_attribute("data-index")
        assert f"message {payload}\u2028{payload}" in (page.text_content(f"#detail-{index}") or "")
    page.click("th button[data-sort=resource]")
    page.select_option("#filter-function", label=f"{IMG_PAYLOAD} (1)")
    assert opened.visible(4) == [IMG_PAYLOAD]
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("img").count() == 0 and page.locator("script").count() == 2
    if page.locator("#gaps").count():
        assert f"cannot read {SCRIPT_PAYLOAD}" in (page.text_content("#gaps") or "")
    assert opened.problems == []
    assert opened.requests == [opened.url]


def test_example_report_in_chromium(browser: Any, tmp_path: Path, example: Report) -> None:
    start = time.perf_counter()
    opened = open_report(browser, tmp_path, example, all_rules())
    assert opened.page.title() == "Lambda security report"
    assert opened.page.locator("svg.path").count() == len(example.priorities)
    use_like_a_reader(opened, example)
    # The severity tiles and a function's "Show its findings" filter the table too.
    opened.page.click("a.tile.sev-critical")
    assert len(opened.visible(1)) == sum(f.severity == Severity.CRITICAL for f in example.findings)
    top = example.priorities[0]
    opened.page.click(f"button.show-function[data-function='{top.function_id}']")
    assert len(opened.visible(1)) == sum(top.function_key in f.function_keys for f in example.findings)
    assert opened.problems == []
    opened.page.close()
    assert time.perf_counter() - start < 20


def test_hostile_names_do_not_run_in_chromium(browser: Any, tmp_path: Path, example: Report) -> None:
    report = hostile(example)
    opened = open_report(browser, tmp_path, report, all_rules())
    title = opened.page.locator("ol.paths li.fn").first.locator("summary .id").text_content()
    assert title == IMG_PAYLOAD
    use_like_a_reader(opened, report)
    check_hostile_names(opened)
    opened.page.close()


def test_detect_report_in_chromium(browser: Any, tmp_path: Path) -> None:
    report, detections = detect_report()
    opened = open_report(browser, tmp_path, report, detections)
    assert opened.page.title() == "Lambda threat detection report"
    use_like_a_reader(opened, report)
    opened.page.close()
    opened = open_report(browser, tmp_path, hostile(report), detections)
    check_hostile_names(opened)
    opened.page.close()


def test_large_reports_show_rows_a_page_at_a_time(browser: Any, tmp_path: Path, example: Report) -> None:
    report = copy.copy(example)
    report.findings = []
    for copy_index in range(10):
        for finding in example.findings:
            again = copy.copy(finding)
            again.resource_id = f"{finding.resource_id}-{copy_index}"
            report.findings.append(again)
    total = len(report.findings)
    assert total > 500
    opened = open_report(browser, tmp_path, report, all_rules())
    page = opened.page
    assert len(opened.visible(1)) == 500
    assert page.text_content("#shown") == f"Showing the first 500 of {total} matching findings ({total} in all)"
    page.click("#show-more")
    assert len(opened.visible(1)) == total and not page.is_visible("#show-more")
    assert page.text_content("#shown") == f"{total} findings"
    page.click("th button[data-sort=resource]")
    assert opened.visible(4) == sorted(f.resource_id for f in report.findings)
    low = sum(f.severity == Severity.LOW for f in report.findings)
    page.select_option("#filter-severity", "low")
    assert len(opened.visible(1)) == min(low, 500)
    assert opened.problems == []
    page.close()
