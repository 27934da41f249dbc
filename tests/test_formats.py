"""The junit, csv, markdown, asff and ocsf reporters (docs/formats.md): snapshots and schema checks.

Snapshots: every format is rendered from one canonical report, the bundled example (examples/sam-app) scanned
with the fixed test clock, and from one `lambdasec detect` report (the DET003 fixture), then compared byte for
byte with the files in tests/snapshots/. The report's root, tool version and IAM catalogue are replaced by
placeholders before rendering, and the repository's path and the render clock by placeholders after it, so the
snapshots hold no machine's path, version or time. When a change of output is intended, rewrite them with

    LAMBDASEC_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_formats.py

and review the diff of tests/snapshots/ before committing it.

Schemas: ASFF is checked against botocore's securityhub service model (the AwsSecurityFinding shape, walked
recursively, and botocore's own parameter validator for BatchImportFindings); OCSF against the Detection Finding
model of py-ocsf-models (the ``ocsf`` extra; those tests skip, saying so, when it is not installed).
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import lambdasec
from lambdasec.detections.catalogue import all_detections
from lambdasec.detections.context import load_context
from lambdasec.detections.runner import DetectSettings, detect
from lambdasec.model.findings import Confidence, Finding, NotEvaluated, Report, Severity, Suppression
from lambdasec.model.inventory import CoverageGap
from lambdasec.model.location import Location
from lambdasec.reporters import asff, csv_report, junit, markdown, ocsf
from lambdasec.rules.registry import all_rules

from .conftest import FIXTURE_CLOCK, REPO

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE = os.environ.get("LAMBDASEC_UPDATE_SNAPSHOTS") == "1"
NOW_ISO = "2026-11-29T00:00:00Z"
NOW_MS = "1795910400000"
FORMATS: dict[str, tuple[Callable[..., str], str]] = {
    "junit": (junit.render, "junit.xml"),
    "csv": (csv_report.render, "csv"),
    "markdown": (markdown.render, "md"),
    "asff": (asff.render, "asff.json"),
    "ocsf": (ocsf.render, "ocsf.json"),
}
HOSTILE = "| <img src=x onerror=1> `` `"


def _redacted(report: Report) -> Report:
    report.root = "<root>"
    report.tool_version = "<version>"
    report.iam_catalogue = "<iam-catalogue>"
    return report


@pytest.fixture(scope="module")
def example() -> tuple[Report, list[Any]]:
    return _redacted(lambdasec.scan_paths([REPO / "examples" / "sam-app"], now=FIXTURE_CLOCK)), list(all_rules())


@pytest.fixture(scope="module")
def detected() -> tuple[Report, list[Any]]:
    fixture = REPO / "src" / "lambdasec" / "detections" / "fixtures" / "DET003.fire.json"
    report = detect(paths=[fixture], settings=DetectSettings(context=load_context()))
    assert len(report.findings) == 3, f"the DET003 fixture should raise 3 alerts: {report.coverage_gaps}"
    return _redacted(report), list(all_detections())


@pytest.fixture(params=["example", "detected"])
def any_report(request: pytest.FixtureRequest) -> tuple[Report, list[Any]]:
    report: tuple[Report, list[Any]] = request.getfixturevalue(request.param)
    return report


def _render(fmt: str, report: Report, rules: list[Any], **options: Any) -> str:
    renderer = FORMATS[fmt][0]
    return renderer(report, rules, now=FIXTURE_CLOCK, **options)


def _redact_text(text: str) -> str:
    # The epoch-milliseconds placeholder is quoted so that the JSON snapshots stay valid JSON.
    return text.replace(str(REPO), "<repo>").replace(NOW_ISO, "<now>").replace(NOW_MS, '"<now-ms>"')


def _finding(resource: str = "Fn", message: str = "something is wrong", **changes: Any) -> Finding:
    values: dict[str, Any] = {
        "rule_id": "EXP001", "slug": "function-url-auth-none", "title": "Function URL does not require authentication",
        "severity": Severity.HIGH, "confidence": Confidence.HIGH, "category": "exposure", "message": message,
        "resource_id": resource, "resource_type": "AWS::Lambda::Url",
        "location": Location(file="template.yaml", line=7), "functions": ["Fn"], "remediation": "Use AWS_IAM.",
        "fingerprint": "0123456789abcdef0123456789abcdef",
    }
    values.update(changes)
    return Finding(**values)


def _hostile_report() -> Report:
    """Names and messages that try to break each format, a suppressed finding, a gap and an unjudged resource."""
    findings = [
        _finding(HOSTILE, f"URL of {HOSTILE} is public"),
        _finding("=cmd|' /C calc'!A0", "+1 and more", fingerprint="1" * 32,
                 location=Location(file="-odd.yaml", line=3)),
        _finding("@SUM(A1)", "-2", fingerprint="2" * 32, severity=Severity.CRITICAL),
        _finding("\tTabbed", "\rreturn, \"quoted\"\nnew line", fingerprint="3" * 32, severity=Severity.LOW),
        _finding("ctrl\x00\x1bname ]]> '\"&", "x" * 3000, fingerprint="4" * 32, resource_type="AWS::Logs::LogGroup",
                 remediation="y" * 2000, category="observability", rule_id="OBS002", slug="log-group-no-retention"),
    ]
    suppressed = [_finding("Quiet", "public on purpose", fingerprint="5" * 32,
                           suppression=Suppression(reason="partner webhook <b>ok</b>", source="config"))]
    gaps = [CoverageGap(kind="parse-error", message="broken | file <script>", location=Location(file="bad`.json"))]
    not_evaluated = [NotEvaluated(rule_id="EXP001", resource_id="Unknown", reason="its URL config is unresolved")]
    return Report(findings=findings, coverage_gaps=gaps, not_evaluated=not_evaluated, suppressed=suppressed,
                  scanned_files=["template.yaml", "bad`.json"], root="<root>", rules_run=["EXP001", "EXP002", "OBS002"],
                  tool_version="<version>")


# ------------------------------------------------------------------------------------------------ snapshots


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("which", ["example", "detected"])
def test_snapshot(fmt: str, which: str, request: pytest.FixtureRequest) -> None:
    report, rules = request.getfixturevalue(which)
    text = _redact_text(_render(fmt, report, rules))
    assert str(REPO) not in text
    path = SNAPSHOTS / f"{which}.{FORMATS[fmt][1]}"
    if UPDATE:
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    assert path.exists(), f"no snapshot {path.name}: run LAMBDASEC_UPDATE_SNAPSHOTS=1 pytest tests/test_formats.py"
    assert path.read_bytes().decode("utf-8") == text


def test_renderers_are_pure(example: tuple[Report, list[Any]]) -> None:
    report, rules = example
    for fmt in FORMATS:
        assert _render(fmt, report, rules) == _render(fmt, report, rules)


# ------------------------------------------------------------------------------------------------ junit


def _check_junit(text: str, report: Report) -> ET.Element:
    root = ET.fromstring(text.encode("utf-8"))  # well-formed, or this raises
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name", "").split(" ")[0] for s in suites] == [*report.rules_run, junit.COVERAGE_SUITE]
    for suite in [*suites, root]:
        cases = suite.iter("testcase")
        counted = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for case in cases:
            counted["tests"] += 1
            for tag, key in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
                counted[key] += len(case.findall(tag))
        assert {key: int(suite.get(key, "-1")) for key in counted} == counted, suite.get("name")
    return root


def test_junit_structure(any_report: tuple[Report, list[Any]]) -> None:
    report, rules = any_report
    root = _check_junit(_render("junit", report, rules), report)
    pairs = {(f.rule_id, f.resource_id) for f in report.findings}
    assert int(root.get("failures", "0")) == len(pairs)
    with_findings = {f.rule_id for f in report.findings}
    for suite in root.findall("testsuite")[:-1]:
        code = suite.get("name", "").split(" ")[0]
        names = [case.get("name") for case in suite.findall("testcase")]
        if code in with_findings:
            unjudged = {n.resource_id for n in report.not_evaluated if n.rule_id == code}
            assert sorted(names) == sorted({r for c, r in pairs if c == code} | unjudged)
        else:  # one passing test case that says so, beside any skipped one
            assert names.count(junit.PASSING_NAME) == 1
            assert suite.get("failures") == "0"
    coverage = root.findall("testsuite")[-1]
    assert int(coverage.get("errors", "-1")) == len(report.coverage_gaps)


def test_junit_failure_carries_message_severity_location_and_every_finding(
        example: tuple[Report, list[Any]]) -> None:
    report, rules = example
    root = ET.fromstring(_render("junit", report, rules))
    suite = next(s for s in root.findall("testsuite") if s.get("name") == "SEC001 env-plaintext-secret")
    case = suite.find("testcase[@name='WebhookFunction']")
    assert case is not None
    failure = case.find("failure")
    assert failure is not None
    secrets = [f for f in report.findings if f.rule_id == "SEC001" and f.resource_id == "WebhookFunction"]
    assert len(secrets) == 5
    assert failure.get("type") == "high"
    assert failure.get("message") == f"5 findings: {secrets[0].message}"
    assert (failure.text or "").splitlines() == [f"[high] {f.location.display()}: {f.message}" for f in secrets]
    assert (case.get("file"), case.get("line")) == ("template.yaml", str(secrets[0].location.line))


def test_junit_hostile_names_suppressions_gaps() -> None:
    report = _hostile_report()
    text = junit.render(report, all_rules())
    root = _check_junit(text, report)
    exp001 = root.findall("testsuite")[0]
    assert exp001.get("name") == "EXP001 function-url-auth-none"
    by_name = {case.get("name"): case for case in exp001.findall("testcase")}
    assert HOSTILE in by_name and "=cmd|' /C calc'!A0" in by_name
    skipped = by_name["Quiet"].find("skipped")
    assert skipped is not None and skipped.get("message") == "suppressed: partner webhook <b>ok</b>"
    unjudged = by_name["Unknown"].find("skipped")
    assert unjudged is not None and unjudged.get("message") == "not evaluated: its URL config is unresolved"
    assert junit.PASSING_NAME not in by_name
    obs = root.findall("testsuite")[2]
    assert [case.get("name") for case in obs.findall("testcase")] == ["ctrl\ufffd\ufffdname ]]> '\"&"]
    exp002 = root.findall("testsuite")[1]
    assert [case.get("name") for case in exp002.findall("testcase")] == [junit.PASSING_NAME]
    error = root.findall("testsuite")[-1].find("testcase/error")
    assert error is not None and (error.get("type"), error.get("message")) == ("parse-error", "broken | file <script>")
    assert "<script>" not in text and "<img" not in text


# ------------------------------------------------------------------------------------------------ csv


def test_csv_rows(any_report: tuple[Report, list[Any]]) -> None:
    report, rules = any_report
    text = _render("csv", report, rules)
    assert text.startswith(",".join(csv_report.COLUMNS) + "\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == len(report.findings) + len(report.suppressed)
    first = report.findings[0]
    assert rows[0]["rule_id"] == first.rule_id and rows[0]["fingerprint"] == first.fingerprint
    assert rows[0]["functions"] == ";".join(first.functions) and rows[0]["suppressed"] == ""
    assert rows[0]["line"] == ("" if first.location.line is None else str(first.location.line))


def test_csv_defuses_formulas_and_round_trips_text() -> None:
    report = _hostile_report()
    rows = list(csv.DictReader(io.StringIO(csv_report.render(report, all_rules()), newline="")))
    assert [(r["resource_id"], r["message"][:20]) for r in rows] == [
        (HOSTILE, f"URL of {HOSTILE}"[:20]),
        ("'=cmd|' /C calc'!A0", "'+1 and more"),
        ("'@SUM(A1)", "'-2"),
        ("'\tTabbed", "'\rreturn, \"quoted\"\nn"),
        ("ctrl\ufffd\ufffdname ]]> '\"&", "x" * 20),
        ("Quiet", "public on purpose"),
    ]
    assert rows[1]["file"] == "'-odd.yaml"
    assert [r["suppressed"] for r in rows] == ["", "", "", "", "", "partner webhook <b>ok</b>"]
    assert csv_report.safe_cell(-3) == "'-3" and csv_report.safe_cell(None) == "" and csv_report.safe_cell(7) == "7"


# ------------------------------------------------------------------------------------------------ markdown


def _markdown_html(text: str) -> str:
    from markdown_it import MarkdownIt  # rich's own dependency, a CommonMark parser with GFM tables

    return MarkdownIt("commonmark", {"html": True}).enable("table").render(text)


def _cells(page: str) -> list[list[str]]:
    rows = re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)
    return [[html.unescape(c) for c in re.findall(r"<t[dh]>(.*?)</t[dh]>", row, flags=re.S)] for row in rows]


def test_markdown_escapes_hostile_text() -> None:
    report = _hostile_report()
    text = markdown.render(report, all_rules())
    page = _markdown_html(text)
    assert "<img" not in page and "<script" not in page and "<b>" not in page and "<code>" not in page
    rows = _cells(page)
    assert rows[0] == ["Severity", "Rule", "Resource", "Location", "Message"]
    assert all(len(row) == 5 for row in rows)
    # Each cell reads exactly as the original text (messages shortened), so nothing was lost or interpreted.
    assert [row[2] for row in rows[1:]] == ["@SUM(A1)", HOSTILE, "=cmd|' /C calc'!A0", "ctrlname ]]> '\"&", "Tabbed"]
    assert rows[2][4] == f"URL of {HOSTILE} is public"
    assert rows[3][3] == "-odd.yaml:3"
    assert rows[4][4] == "x" * 199 + "…"
    gap_list = page.split("<table>")[0]
    assert "<li>parse-error (bad`.json): broken | file &lt;script&gt;</li>" in gap_list


def test_markdown_summary_gaps_first_and_limit(example: tuple[Report, list[Any]]) -> None:
    report, rules = example
    text = markdown.render(report, rules)
    lines = text.splitlines()
    assert lines[0] == ("**lambdasec**: 54 findings (6 critical, 17 high, 12 medium, 19 low) in 1 file"
                        " · 2 not evaluated")
    rows = [line for line in lines if line.startswith("| ") and not line.startswith(("| Severity", "| ---"))]
    assert len(rows) == markdown.MAX_FINDINGS
    assert lines[-1] == "_…and 4 more findings._"
    severities = [row.split(" | ")[0].lstrip("| ") for row in rows]
    assert severities == sorted(severities, key=lambda s: -Severity.parse(s))
    assert markdown.render(report, rules, max_findings=54).count("\n| ") == 56
    assert "more finding" not in markdown.render(report, rules, max_findings=None)
    hostile = markdown.render(_hostile_report(), all_rules(), max_findings=1).splitlines()
    assert hostile[0].endswith("· 1 suppressed · 1 not evaluated · **incomplete scan**: 1 coverage gap")
    assert hostile[2].startswith("**1 coverage gap**") and hostile[4].startswith("- parse-error")
    assert hostile.index("| Severity | Rule | Resource | Location | Message |") > 4
    assert hostile[-1] == "_…and 4 more findings._"
    empty = Report(findings=[], coverage_gaps=[], not_evaluated=[], suppressed=[], scanned_files=["a.yaml"],
                   root="", rules_run=[], tool_version="")
    assert markdown.render(empty, []) == "**lambdasec**: no findings in 1 file\n"


# ------------------------------------------------------------------------------------------------ asff


@pytest.fixture(scope="module")
def securityhub() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("securityhub")


def _check_shape(value: Any, shape: Any, path: str, errors: list[str]) -> None:
    """``value`` against a botocore shape: known keys, required members, types, enums, lengths and ranges."""
    kind, meta = shape.type_name, shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            errors.append(f"{path}: {type(value).__name__}, not a structure")
            return
        errors += [f"{path}.{key}: not a member of {shape.name}" for key in value if key not in shape.members]
        errors += [f"{path}.{key}: required" for key in shape.required_members if key not in value]
        for key, item in value.items():
            if key in shape.members:
                _check_shape(item, shape.members[key], f"{path}.{key}", errors)
    elif kind == "list":
        if not isinstance(value, list):
            errors.append(f"{path}: not a list")
            return
        if not meta.get("min", 0) <= len(value) <= meta.get("max", len(value)):
            errors.append(f"{path}: {len(value)} items")
        for index, item in enumerate(value):
            _check_shape(item, shape.member, f"{path}[{index}]", errors)
    elif kind == "map":
        if not isinstance(value, dict):
            errors.append(f"{path}: not a map")
            return
        for key, item in value.items():
            _check_shape(key, shape.key, f"{path} key", errors)
            _check_shape(item, shape.value, f"{path}[{key}]", errors)
    elif kind == "string":
        if not isinstance(value, str):
            errors.append(f"{path}: {value!r} is not a string")
            return
        if shape.enum and value not in shape.enum:
            errors.append(f"{path}: {value!r} not in {shape.enum}")
        if not meta.get("min", 0) <= len(value) <= meta.get("max", len(value)):
            errors.append(f"{path}: length {len(value)}")
        if "pattern" in meta and not re.search(meta["pattern"], value):
            errors.append(f"{path}: {value!r} does not match {meta['pattern']}")
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(f"{path}: {value!r} is not an integer")
        elif not meta.get("min", value) <= value <= meta.get("max", value):
            errors.append(f"{path}: {value} out of range")
    elif kind in ("double", "float"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            errors.append(f"{path}: {value!r} is not a number")
    elif kind == "boolean":
        if not isinstance(value, bool):
            errors.append(f"{path}: {value!r} is not a boolean")
    else:
        errors.append(f"{path}: unexpected shape type {kind}")


def _check_asff(findings: list[dict[str, Any]], securityhub: Any) -> None:
    from botocore.validate import ParamValidator

    shape = securityhub.shape_for("AwsSecurityFinding")
    errors: list[str] = []
    for index, finding in enumerate(findings):
        _check_shape(finding, shape, f"[{index}]", errors)
        # The limits Security Hub documents but the model does not carry.
        assert len(finding["Title"]) <= asff.MAX_TITLE and len(finding["Description"]) <= asff.MAX_DESCRIPTION
        assert len(finding["Remediation"]["Recommendation"]["Text"]) <= asff.MAX_RECOMMENDATION
        assert len(finding["Id"]) <= asff.MAX_ID and len(finding["ProductFields"]) <= 50
        assert 1 <= len(finding["Resources"]) <= asff.MAX_RESOURCES
        assert all(len(k) <= 128 and len(v) <= asff.MAX_FIELD_VALUE for k, v in finding["ProductFields"].items())
        for stamp in ("CreatedAt", "UpdatedAt", "FirstObservedAt", "LastObservedAt"):
            if stamp in finding:
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", finding[stamp]), finding[stamp]
    assert errors == []
    operation = securityhub.operation_model("BatchImportFindings").input_shape
    for start in range(0, len(findings), 100):  # what the AWS CLI checks before it sends a batch
        report = ParamValidator().validate({"Findings": findings[start:start + 100]}, operation)
        assert not report.has_errors(), report.generate_report()


def test_asff_matches_the_securityhub_model(any_report: tuple[Report, list[Any]], securityhub: Any) -> None:
    report, rules = any_report
    findings = json.loads(_render("asff", report, rules))
    assert len(findings) == len(report.findings) + len(report.suppressed)
    _check_asff(findings, securityhub)
    assert len({f["Id"] for f in findings}) == len(findings)
    first, source = findings[0], report.findings[0]
    assert first["Id"] == f"lambdasec/{source.rule_id}/{source.fingerprint}"
    assert first["ProductArn"] == "arn:aws:securityhub:us-east-1:000000000000:product/000000000000/default"
    assert first["GeneratorId"] == source.rule_id and first["CreatedAt"] == NOW_ISO
    assert first["ProductFields"]["lambdasec/Slug"] == source.slug


def test_asff_options_types_and_suppressions(securityhub: Any, detected: tuple[Report, list[Any]]) -> None:
    report = _hostile_report()
    now = dt.datetime(2027, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    findings = asff.to_list(report, all_rules(), account="123456789012", region="eu-west-1", now=now)
    _check_asff(findings, securityhub)
    assert {f["ProductArn"] for f in findings} == {
        "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default"}
    assert {f["AwsAccountId"] for f in findings} == {"123456789012"}
    assert {f["CreatedAt"] for f in findings} == {"2027-01-02T01:04:05Z"}
    assert findings[0]["Types"] == [asff.BEST_PRACTICES] and findings[0]["Compliance"] == {"Status": "FAILED"}
    assert findings[0]["Resources"][0] == {"Type": "Other", "Id": HOSTILE, "Partition": "aws", "Region": "eu-west-1",
                                           "Details": {"Other": {"lambdasec/ResourceType": "AWS::Lambda::Url",
                                                                 "lambdasec/ResourceId": HOSTILE}}}
    assert findings[0]["Resources"][1] == {"Type": "AwsLambdaFunction", "Id": "Fn", "Partition": "aws",
                                           "Region": "eu-west-1", "ResourceRole": "Target"}
    long = findings[4]
    assert len(long["Description"]) == asff.MAX_DESCRIPTION and long["Description"].endswith("…")
    assert len(long["Remediation"]["Recommendation"]["Text"]) == asff.MAX_RECOMMENDATION
    quiet = findings[-1]
    assert quiet["Workflow"] == {"Status": "SUPPRESSED"}
    assert quiet["Note"] == {"Text": "Suppressed (config): partner webhook <b>ok</b>", "UpdatedBy": "lambdasec",
                             "UpdatedAt": "2027-01-02T01:04:05Z"}
    assert all(f["Workflow"] == {"Status": "NEW"} for f in findings[:-1])
    # A detection: its tactic and technique, the function's ARN from the event's account and region.
    threat = asff.to_list(*detected, now=FIXTURE_CLOCK)[0]
    assert threat["Types"] == ["TTPs/Persistence/T1546"] and "Compliance" not in threat
    assert threat["AwsAccountId"] == "111122223333" and threat["FirstObservedAt"] == "2026-03-01T10:02:00Z"
    assert threat["Resources"] == [{"Type": "AwsLambdaFunction", "Partition": "aws", "Region": "us-east-1",
                                    "Id": "arn:aws:lambda:us-east-1:111122223333:function:orders"}]
    impact = _finding(category="threat", evidence={"tactic": "Impact", "technique": "T1496"})
    assert asff.finding_types(impact) == ["Effects/Resource Consumption/T1496"]
    assert asff.finding_types(_finding(category="secrets")) == [asff.BEST_PRACTICES,
                                                              "Sensitive Data Identifications/Passwords"]


def test_asff_resource_types_exist(securityhub: Any) -> None:
    known = set(securityhub.shape_for("ResourceDetails").members)
    assert set(asff.RESOURCE_TYPES.values()) <= known


def test_asff_live_scan_arns() -> None:
    arn = "arn:aws-cn:lambda:cn-north-1:210987654321:function:orders"
    live = _finding(resource=arn, resource_type="AWS::Lambda::Function",
                    location=Location(arn=arn, region="cn-north-1"))
    out = asff.to_finding(live, None, account="123456789012", region="us-east-1", now=NOW_ISO)
    assert out["AwsAccountId"] == "210987654321"
    assert out["Resources"][0] == {"Type": "AwsLambdaFunction", "Id": arn, "Partition": "aws-cn",
                                   "Region": "cn-north-1"}
    assert out["Remediation"]["Recommendation"] == {"Text": "Use AWS_IAM."}


# ------------------------------------------------------------------------------------------------ ocsf


@pytest.fixture(scope="module")
def detection_finding_model() -> Any:
    pytest.importorskip("py_ocsf_models", reason="py-ocsf-models (the `ocsf` extra) is not installed")
    from py_ocsf_models.events.findings.detection_finding import DetectionFinding

    return DetectionFinding


def _check_ocsf(events: list[dict[str, Any]], model: Any) -> None:
    import py_ocsf_models
    from py_ocsf_models.events.findings.confidence_id import ConfidenceID
    from py_ocsf_models.events.findings.severity_id import SeverityID
    from py_ocsf_models.events.findings.status_id import StatusID

    assert py_ocsf_models.OCSF_VERSION == ocsf.OCSF_VERSION
    for event in events:
        # Strict JSON validation, then the dump must give back every field: the model ignores unknown keys, so a
        # misspelt or misplaced one would be dropped here and fail the comparison.
        parsed = model.model_validate_json(json.dumps(event), strict=True)
        assert parsed.model_dump(mode="json", exclude_none=True) == event
        assert (event["class_uid"], event["category_uid"], event["activity_id"]) == (2004, 2, 1)
        assert event["type_uid"] == event["class_uid"] * 100 + event["activity_id"]
        assert SeverityID(event["severity_id"]).name == event["severity"]
        assert ConfidenceID(event["confidence_id"]).name == event["confidence"]
        assert StatusID(event["status_id"]).name == event["status"]
        assert event["metadata"]["version"] == ocsf.OCSF_VERSION


def test_ocsf_validates(any_report: tuple[Report, list[Any]], detection_finding_model: Any) -> None:
    report, rules = any_report
    events = json.loads(_render("ocsf", report, rules))
    assert len(events) == len(report.findings) + len(report.suppressed)
    _check_ocsf(events, detection_finding_model)
    first = events[0]
    assert first["time"] == int(NOW_MS) and first["finding_info"]["created_time"] == int(NOW_MS)
    assert first["finding_info"]["uid"] == asff.finding_id(report.findings[0])
    assert first["metadata"]["product"] == {"name": "lambdasec", "vendor_name": "lambdasec", "version": "<version>"}


def test_ocsf_suppressed_threat_and_hostile(detection_finding_model: Any, detected: tuple[Report, list[Any]]) -> None:
    events = ocsf.to_list(_hostile_report(), all_rules(), now=FIXTURE_CLOCK)
    _check_ocsf(events, detection_finding_model)
    assert (events[-1]["status_id"], events[-1]["status"]) == (3, "Suppressed")
    assert events[-1]["status_detail"] == "config: partner webhook <b>ok</b>"
    assert (events[2]["severity_id"], events[2]["severity"]) == (5, "Critical")
    assert events[0]["resources"][0]["name"] == HOSTILE
    threat = ocsf.to_list(*detected, now=FIXTURE_CLOCK)[0]
    assert threat["finding_info"]["attacks"] == [{"tactic": {"name": "Persistence", "uid": "TA0003"},
                                                  "technique": {"uid": "T1546", "name": "Event Triggered Execution"}}]
    assert threat["finding_info"]["first_seen_time"] == 1772359320000
    assert threat["cloud"]["account"]["uid"] == "111122223333"
    assert threat["resources"][0]["uid"] == "arn:aws:lambda:us-east-1:111122223333:function:orders"


def test_ocsf_names_every_detection_technique() -> None:
    for detection in all_detections():
        assert detection.tactic in ocsf.TACTICS, detection.code
        assert detection.technique in ocsf.TECHNIQUES, detection.code
        assert detection.technique.split(".")[0] in ocsf.TECHNIQUES, detection.code
