"""The command line: formats, exit codes and their precedence, colour, explain and rules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lambdasec.cli import main

from .conftest import ONE_FUNCTION, PUBLIC_URL


def run(tmp_path: Path, text: str | None, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    if text is not None:
        (tmp_path / "template.yaml").write_text(text)
    result = CliRunner().invoke(main, ["scan", str(tmp_path), *args], env=env)
    return result.exit_code, result.output


def test_exit_codes_follow_fail_on(tmp_path: Path) -> None:
    assert run(tmp_path, PUBLIC_URL, "-q")[0] == 1
    assert run(tmp_path, PUBLIC_URL, "-q", "--fail-on", "critical")[0] == 0
    assert run(tmp_path, PUBLIC_URL, "-q", "--fail-on", "high")[0] == 1
    assert run(tmp_path, PUBLIC_URL, "-q", "--fail-on", "none")[0] == 0
    assert run(tmp_path, ONE_FUNCTION, "-q", "--rule", "EXP001")[0] == 0


def test_incomplete_scan_beats_findings_and_usage_beats_everything(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("Resources:\n  X:\n    Type: AWS::SQS::Queue\n  bad: [\n")
    code, output = run(tmp_path, PUBLIC_URL, "--color", "never")
    assert code == 3
    assert "broken.yaml: invalid YAML: line 5" in output
    assert "coverage gap(s): incomplete scan" in output
    assert run(tmp_path, None, "--rule", "NOPE")[0] == 2
    assert run(tmp_path, None, "--fail-on", "sometimes")[0] == 2
    (tmp_path / "bad.toml").write_text("fail_on = [")
    code, output = run(tmp_path, None, "--config", str(tmp_path / "bad.toml"))
    assert code == 2 and "cannot read config" in output


def test_missing_path_is_incomplete(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "nope"), "-f", "json"])
    assert result.exit_code == 3
    assert json.loads(result.stdout)["coverage_gaps"][0]["kind"] == "missing-file"


def test_json_output_shape(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    code, _ = run(tmp_path, PUBLIC_URL, "-f", "json", "-o", str(out), "--rule", "EXP001")
    assert code == 1
    report = json.loads(out.read_text())
    assert set(report) >= {"schema_version", "tool", "findings", "coverage_gaps", "summary"}
    assert report["schema_version"] == 1
    (finding,) = report["findings"]
    assert {k: finding[k] for k in ("rule_id", "slug", "severity", "confidence", "category", "resource",
                                     "functions", "location")} == {
        "rule_id": "EXP001", "slug": "function-url-auth-none", "severity": "high", "confidence": "high",
        "category": "exposure", "resource": {"id": "Url", "type": "AWS::Lambda::Url"}, "functions": ["Fn"],
        "location": {"file": "template.yaml", "line": 13, "column": None, "path": "Resources/Url/Properties/AuthType"},
    }
    assert len(finding["fingerprint"]) == 32 and finding["remediation"]
    assert report["summary"]["by_severity"] == {"critical": 0, "high": 1, "medium": 0, "low": 0, "info": 0}


def test_color_modes_and_no_color(tmp_path: Path) -> None:
    assert "\x1b[" in run(tmp_path, PUBLIC_URL, "--color", "always")[1]
    assert "\x1b[" not in run(tmp_path, PUBLIC_URL, "--color", "never")[1]
    assert "\x1b[" not in run(tmp_path, PUBLIC_URL, env={"NO_COLOR": "1"})[1]
    assert "\x1b[" not in run(tmp_path, PUBLIC_URL)[1]  # not a terminal


def test_table_groups_by_function_and_summarises(tmp_path: Path) -> None:
    code, output = run(tmp_path, PUBLIC_URL, "--color", "never", "--rule", "EXP001", "--rule", "OBS001")
    assert code == 1
    assert "function Fn" in output and "template.yaml:13" in output
    assert output.strip().splitlines()[-1] == "2 finding(s) (1 high, 1 low) in 1 function(s), 1 file(s) scanned"


def test_rules_and_explain() -> None:
    runner = CliRunner()
    rules = json.loads(runner.invoke(main, ["rules", "--format", "json"]).output)
    assert {"code", "slug", "title", "severity", "category", "anchors"} <= set(rules[0])
    assert len({r["code"] for r in rules}) == len(rules)
    by_code = runner.invoke(main, ["explain", "EXP001"])
    by_slug = runner.invoke(main, ["explain", "function-url-auth-none"])
    assert by_code.exit_code == 0 and by_code.output == by_slug.output
    assert by_code.output.startswith("# EXP001 `function-url-auth-none`")
    assert "## Examples" in by_code.output
    assert runner.invoke(main, ["explain", "NOPE"]).exit_code == 2


@pytest.mark.parametrize("args", [["-m", "lambdasec", "--version"], ["-m", "lambdasec", "rules"]])
def test_module_entry_point(args: list[str]) -> None:
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True)
    assert result.stdout


def test_json_report_matches_the_published_schema(tmp_path: Path) -> None:
    from jsonschema import Draft202012Validator

    from .conftest import REPO

    schema = json.loads((REPO / "docs" / "report.schema.json").read_text())
    (tmp_path / "broken.yaml").write_text("Resources:\n  X:\n    Type: AWS::SQS::Queue\n  bad: [\n")
    code, _ = run(tmp_path, PUBLIC_URL.replace("    Properties:\n      TargetFunctionArn",
                                             "    Metadata: {lambdasec: {ignore: [{id: EXP001, reason: ok}]}}\n"
                                             "    Properties:\n      TargetFunctionArn"), "-f", "json", "-o",
                  str(tmp_path / "r.json"))
    report = json.loads((tmp_path / "r.json").read_text())
    assert code == 3
    assert [e.message for e in Draft202012Validator(schema).iter_errors(report)] == []
    assert report["suppressed"] and report["coverage_gaps"] and report["findings"]


def test_scan_does_not_import_the_other_commands(tmp_path: Path) -> None:
    """`lambdasec scan` start-up stays light: `sbom`, `layers`, `collect`, `merge` and `permissions` load only when
    they run (or for --help), and an IaC scan never loads boto3. The scan command's own --aws options come from
    commands/live.py, which imports only click."""
    (tmp_path / "template.yaml").write_text("Resources: {}\n")
    code = ("import sys\nfrom lambdasec.cli import main\ntry:\n    main(['scan', sys.argv[1], '-q'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith(('lambdasec.commands.', 'cyclonedx', 'boto3',"
            " 'botocore', 'lambdasec.collectors.aws', 'lambdasec.model.snapshot'))))\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['lambdasec.commands.live']"


def _command(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed entry point as a user runs it (``python -m lambdasec`` calls the same ``run``)."""
    return subprocess.run([sys.executable, "-m", "lambdasec", *args], capture_output=True, text=True, cwd=cwd,
                          check=False)


def test_the_command_flushes_everything_before_its_hard_exit(tmp_path: Path) -> None:
    functions = "".join(ONE_FUNCTION.split("Resources:\n")[1].replace("  Fn:", f"  Fn{i}:") for i in range(40))
    (tmp_path / "template.yaml").write_text("Resources:\n" + functions)
    out = _command("scan", "template.yaml", "-f", "json", cwd=tmp_path)
    assert out.returncode == 1  # findings at or above "low"
    report = json.loads(out.stdout)  # tens of kilobytes through a pipe, none lost
    assert len({f["resource"]["id"] for f in report["findings"]}) == 40
    assert out.stderr == ""


def test_the_command_keeps_the_exit_codes(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(ONE_FUNCTION)
    assert _command("scan", "template.yaml", "--fail-on", "none", "-q", cwd=tmp_path).returncode == 0
    usage = _command("scan", "--fail-on", "sometimes", cwd=tmp_path)
    assert usage.returncode == 2 and "Invalid value for '--fail-on'" in usage.stderr
    (tmp_path / "broken.yaml").write_text(ONE_FUNCTION.replace("Properties:", "Properties: ["))
    assert _command("scan", "broken.yaml", "-q", cwd=tmp_path).returncode == 3
    version = _command("--version", cwd=tmp_path)
    assert (version.returncode, version.stdout.split()[:1]) == (0, ["lambdasec,"])
