"""Saved JSON reports read back (json_report.load), `lambdasec render`, and several formats with --output-dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import lambdasec
from lambdasec import cli
from lambdasec.cli import main
from lambdasec.model.findings import Report
from lambdasec.pipeline.baseline import Baseline, apply
from lambdasec.reporters import json_report, render, sarif, table
from lambdasec.rules.registry import all_rules

from .conftest import FIXTURE_CLOCK, ONE_FUNCTION, REPO, URL_RESOURCE

EXAMPLE = REPO / "examples" / "sam-app"
# the public URL, ignored with a reason
TEMPLATE = ONE_FUNCTION + URL_RESOURCE.replace(
    "    Properties:", "    Metadata: {lambdasec: {ignore: [{id: EXP001, reason: signed webhook}]}}\n    Properties:")
DETECT_FIXTURE = REPO / "src" / "lambdasec" / "detections" / "fixtures" / "DET001.fire.json"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def example() -> Report:
    return lambdasec.scan_paths([EXAMPLE], now=FIXTURE_CLOCK)


def test_the_example_round_trips_through_json(example: Report) -> None:
    text = json_report.render(example)
    loaded = json_report.load(text)
    assert json_report.render(loaded) == text
    rules = all_rules()
    assert sarif.render(loaded, rules) == sarif.render(example, rules)
    assert table.render(loaded, rules, show_suppressed=True) == table.render(example, rules, show_suppressed=True)
    assert (loaded.affected_function_count, len(loaded.findings)) == (example.affected_function_count, 54)
    first = loaded.findings[0]
    assert (first.rule_id, first.function_keys, first.priority) == (
        "IAM016", ["template.yaml#ReportExportFunction"], example.findings[0].priority)


def test_suppressed_gaps_not_evaluated_and_baselined_round_trip(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    (tmp_path / "broken.yaml").write_text("Resources:\n  X:\n    Type: AWS::SQS::Queue\n  bad: [\n")
    report = lambdasec.scan_paths([tmp_path], now=FIXTURE_CLOCK)
    apply(report, Baseline(frozenset([report.findings[0].fingerprint])))
    assert report.suppressed and report.coverage_gaps and report.baselined and report.findings
    text = json_report.render(report)
    loaded = json_report.load(text)
    assert json_report.render(loaded) == text
    assert (loaded.baseline_applied, loaded.baselined[0].baseline_state) == (True, "unchanged")
    assert loaded.suppressed[0].suppression == report.suppressed[0].suppression
    assert loaded.coverage_gaps == report.coverage_gaps


def test_a_detect_report_round_trips_and_renders_with_the_catalogue(tmp_path: Path) -> None:
    saved = invoke("detect", str(DETECT_FIXTURE), "-f", "json", "-o", str(tmp_path / "alerts.json"))
    assert saved.exit_code == 1
    text = (tmp_path / "alerts.json").read_text()
    loaded = json_report.load(text)
    assert json_report.render(loaded) == text
    assert loaded.affected_function_count == json.loads(text)["summary"]["functions"] == 2
    rendered = invoke("render", str(tmp_path / "alerts.json"), "-f", "sarif")
    assert (rendered.exit_code, rendered.stdout) == (0, invoke("detect", str(DETECT_FIXTURE), "-f", "sarif").stdout)
    rules = json.loads(rendered.stdout)["runs"][0]["tool"]["driver"]["rules"]
    assert rules[0]["shortDescription"]["text"] == "Function code overwritten outside a deployment"


@pytest.mark.parametrize(("text", "message"), [
    ("[", "not JSON (Expecting value: line 1 column 2 (char 1))"),
    ('{"format": "lambdasec-baseline"}', "not a lambdasec JSON report (lambdasec scan -f json)"),
    ('{"schema_version": 2, "tool": {"name": "lambdasec"}, "findings": []}',
     "JSON report schema version 2 (this lambdasec reads version 1)"),
    ('{"schema_version": 1, "tool": {"name": "lambdasec", "version": "0.1.0"}, "findings": [{"rule_id": "X"}]}',
     "malformed JSON report (KeyError: 'location')"),
])
def test_what_is_not_a_report_is_refused(text: str, message: str) -> None:
    with pytest.raises(json_report.ReportFormatError) as caught:
        json_report.load(text)
    assert str(caught.value) == message


def test_render_writes_any_format_without_scanning(tmp_path: Path, example: Report) -> None:
    saved = tmp_path / "report.json"
    saved.write_text(json_report.render(example))
    result = invoke("render", str(saved), "-f", "sarif", "-o", str(tmp_path / "out.sarif"))
    assert (result.exit_code, result.output) == (0, "")
    assert (tmp_path / "out.sarif").read_text() == render("sarif", example, all_rules())
    as_table = invoke("render", str(saved), "--color", "never")
    assert as_table.stdout == render("table", example, all_rules())
    directory = tmp_path / "out"
    assert invoke("render", str(saved), "-f", "json", "-f", "table", "--output-dir", str(directory)).exit_code == 0
    assert sorted(p.name for p in directory.iterdir()) == ["lambdasec.json", "lambdasec.txt"]
    assert (directory / "lambdasec.json").read_text() == saved.read_text()


def test_render_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    missing = invoke("render", str(tmp_path / "nope.json"))
    assert (missing.exit_code, missing.stderr) == (
        2, f"lambdasec: error: cannot read report {tmp_path / 'nope.json'}: No such file or directory\n")
    (tmp_path / "b.json").write_text('{"format": "lambdasec-baseline", "version": 1, "findings": []}')
    wrong = invoke("render", str(tmp_path / "b.json"))
    assert (wrong.exit_code, wrong.stderr) == (2, f"lambdasec: error: cannot read report {tmp_path / 'b.json'}: not a "
                                                  "lambdasec JSON report (lambdasec scan -f json)\n")


# ---------------------------------------------------------------- several formats
@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "template.yaml").write_text(TEMPLATE.replace("    Metadata: {lambdasec: {ignore: [{id: EXP001, "
                                                             "reason: signed webhook}]}}\n", ""))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "_now", lambda: FIXTURE_CLOCK)
    return tmp_path


def test_output_dir_writes_one_file_per_format_like_single_runs(project: Path) -> None:
    result = invoke("scan", "template.yaml", "-f", "json", "-f", "sarif", "-f", "table", "--output-dir", "reports")
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", "")
    assert sorted(p.name for p in (project / "reports").iterdir()) == ["lambdasec.json", "lambdasec.sarif",
                                                                       "lambdasec.txt"]
    for fmt, name in (("json", "lambdasec.json"), ("sarif", "lambdasec.sarif"), ("table", "lambdasec.txt")):
        single = invoke("scan", "template.yaml", "-f", fmt, "--color", "never")
        assert (project / "reports" / name).read_text() == single.stdout
    quiet = invoke("scan", "template.yaml", "-f", "table", "-q", "--output-dir", "quiet", "--fail-on", "critical")
    assert (quiet.exit_code, quiet.stdout, (project / "quiet" / "lambdasec.txt").is_file()) == (0, "", True)


def test_output_dir_lists_coverage_gaps_on_stderr(project: Path) -> None:
    (project / "broken.yaml").write_text("Resources:\n  X:\n    Type: AWS::SQS::Queue\n  bad: [\n")
    result = invoke("scan", ".", "-f", "json", "--output-dir", "reports")
    assert result.exit_code == 3
    assert result.stderr.startswith("lambdasec: coverage gap: broken.yaml: invalid YAML")


@pytest.mark.parametrize(("args", "message"), [
    (["-f", "json", "-f", "sarif"], "several formats need --output-dir DIR (one file per format)"),
    (["-f", "json", "-o", "r.json", "--output-dir", "d"],
     "give -o FILE (one format) or --output-dir DIR (one file per format), not both"),
])
def test_output_options_that_do_not_go_together(project: Path, args: list[str], message: str) -> None:
    result = invoke("scan", "template.yaml", *args)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"lambdasec: error: {message}\n")
    assert invoke("render", "x.json", *args).stderr == f"lambdasec: error: {message}\n"


def test_one_format_behaves_as_before(project: Path) -> None:
    assert invoke("scan", "template.yaml", "-q").exit_code == 1
    assert invoke("scan", "template.yaml", "-f", "json", "-f", "json", "-o", "r.json").exit_code == 1  # one format
    assert json.loads((project / "r.json").read_text())["findings"]
    unknown = invoke("scan", "template.yaml", "-f", "nope")
    assert unknown.exit_code == 2 and "Invalid value for '-f' / '--format'" in unknown.stderr
