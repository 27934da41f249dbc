"""Scan history (`--history FILE`, SQLite) and `lambdasec diff` between runs or saved reports."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import lambdasec
from lambdasec import cli
from lambdasec.cli import main
from lambdasec.pipeline import DEFAULT_HISTORY
from lambdasec.pipeline.history import Entry, History, HistoryError, diff, entries

from .conftest import FIXTURE_CLOCK, ONE_FUNCTION, REPO, URL_RESOURCE

TRACED = ONE_FUNCTION.replace("      Code:", "      TracingConfig: {Mode: Active}\n      Code:")
RULES = ["--rule", "EXP001", "--rule", "OBS001", "--rule", "RES002"]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory, with a clock that moves one hour per call from the fixture clock."""
    monkeypatch.chdir(tmp_path)
    ticks: Iterator[int] = iter(range(1000))
    monkeypatch.setattr(cli, "_now", lambda: FIXTURE_CLOCK + dt.timedelta(hours=next(ticks)))
    return tmp_path


def scan_and_record(project: Path, template: str, *args: str) -> int:
    (project / "template.yaml").write_text(template)
    return invoke("scan", "template.yaml", "-q", *RULES, "--history", DEFAULT_HISTORY, *args).exit_code


def test_the_schema_is_version_1_in_one_file_without_wal(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    with History(path) as history:
        history.record(lambdasec.scan_paths([REPO / "examples" / "sam-app"], now=FIXTURE_CLOCK), command="scan",
                       now=FIXTURE_CLOCK)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.sqlite"]  # no -wal, no -shm, no journal left
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone() == (1,)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    columns = {table: [row[1] for row in db.execute(f"PRAGMA table_info({table})")] for table in ("runs", "findings")}
    assert columns == {
        "runs": ["id", "time", "command", "tool_version", "root", "complete", "findings", "suppressed", "baselined"],
        "findings": ["run_id", "fingerprint", "rule_id", "slug", "severity", "title", "message", "resource_id",
                     "resource_type", "file", "line", "arn", "state"],
    }
    assert db.execute("SELECT id, time, command, tool_version, complete, findings, suppressed, baselined FROM runs"
                      ).fetchall() == [(1, "2026-11-29T00:00:00Z", "scan", "0.1.0", 1, 54, 0, 0)]
    assert db.execute("SELECT rule_id, severity, resource_id, file, line, state FROM findings WHERE rule_id = "
                      "'EXP001'").fetchall() == [("EXP001", "high", "WebhookFunctionUrl", "template.yaml", 362, "open")]


def test_runs_and_their_entries_come_back_in_order(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(ONE_FUNCTION + URL_RESOURCE)
    report = lambdasec.scan_paths([tmp_path / "template.yaml"], rules=["EXP001", "OBS001"], now=FIXTURE_CLOCK)
    with History(tmp_path / "h.sqlite") as history:
        first = history.record(report, command="scan", now=FIXTURE_CLOCK)
        second = history.record(report, command="detect", now=FIXTURE_CLOCK + dt.timedelta(days=1))
        assert (first, second) == (1, 2)
        assert [(r.id, r.time, r.command, r.findings) for r in history.runs()] == [
            (1, "2026-11-29T00:00:00Z", "scan", 2), (2, "2026-11-30T00:00:00Z", "detect", 2)]
        assert history.entries(1) == entries(report)
        assert history.entries(1)[0] == Entry(
            report.findings[0].fingerprint, "EXP001", "function-url-auth-none", "high",
            "Function URL does not require authentication", report.findings[0].message, "Url", "AWS::Lambda::Url",
            "template.yaml", 13, None, "open")
        with pytest.raises(HistoryError, match=r"no run 3 in .*h\.sqlite \(see `lambdasec diff --list`\)"):
            history.run(3)


def test_diff_matches_by_fingerprint() -> None:
    def entry(fingerprint: str, severity: str = "low", state: str = "open") -> Entry:
        return Entry(fingerprint, "R" + fingerprint, "slug", severity, "t", "m", "res", "T", "f.yaml", 1, None, state)

    result = diff([entry("a"), entry("b", state="suppressed"), entry("c")],
                  [entry("b"), entry("c"), entry("d", "high"), entry("e")])
    assert ([e.fingerprint for e in result.new], [e.fingerprint for e in result.fixed]) == (["d", "e"], ["a"])
    assert [(before.state, after.state) for before, after in result.persisting] == [("suppressed", "open"),
                                                                                   ("open", "open")]
    assert result.to_dict()["persisting"][0]["state_before"] == "suppressed"
    assert "state_before" not in result.to_dict()["persisting"][1]
    assert result.to_dict()["summary"] == {"new": 2, "fixed": 1, "persisting": 2}


def test_scan_records_runs_and_diff_shows_new_fixed_and_persisting(project: Path) -> None:
    assert scan_and_record(project, ONE_FUNCTION) == 1  # OBS001, RES002
    assert scan_and_record(project, TRACED + URL_RESOURCE) == 1  # OBS001 fixed, EXP001 new, RES002 persisting
    listed = invoke("diff", "--list", "-f", "json")
    assert json.loads(listed.stdout) == {"runs": [
        {"id": 1, "time": "2026-11-29T00:00:00Z", "command": "scan", "tool_version": "0.1.0", "root": "template.yaml",
         "complete": True, "findings": 2, "suppressed": 0, "baselined": 0},
        {"id": 2, "time": "2026-11-29T01:00:00Z", "command": "scan", "tool_version": "0.1.0", "root": "template.yaml",
         "complete": True, "findings": 2, "suppressed": 0, "baselined": 0},
    ]}
    result = invoke("diff", "-f", "json")
    assert result.exit_code == 0
    changes = json.loads(result.stdout)
    assert (changes["from"]["id"], changes["to"]["id"]) == (1, 2)
    assert {key: [(e["rule_id"], e["resource"]["id"], e["location"], e["state"]) for e in changes[key]]
            for key in ("new", "fixed", "persisting")} == {
        "new": [("EXP001", "Url", {"file": "template.yaml", "line": 14}, "open")],
        "fixed": [("OBS001", "Fn", {"file": "template.yaml", "line": 2}, "open")],
        "persisting": [("RES002", "Fn", {"file": "template.yaml", "line": 2}, "open")],
    }
    assert changes["summary"] == {"new": 1, "fixed": 1, "persisting": 1}
    assert invoke("diff", "1", "2", "-f", "json").stdout == result.stdout
    assert json.loads(invoke("diff", "2", "1", "-f", "json").stdout)["summary"] == {"new": 1, "fixed": 1,
                                                                                    "persisting": 1}
    table = invoke("diff", "--color", "never").stdout
    assert table.splitlines()[:2] == ["from run 1 (2026-11-29T00:00:00Z, scan template.yaml)",
                                      "  to run 2 (2026-11-29T01:00:00Z, scan template.yaml)"]
    assert "New (1)" in table and "Fixed (1)" in table and "Persisting (1)" in table
    assert table.splitlines()[-1] == "1 new, 1 fixed, 1 persisting"
    runs = invoke("diff", "--list", "--color", "never").stdout
    assert runs.splitlines()[0].strip() == "2 run(s)"


def test_states_are_recorded_and_their_changes_shown(project: Path) -> None:
    (project / ".lambdasec.toml").write_text('[[suppress]]\nrule = "RES002"\nreason = "for now"\n')
    scan_and_record(project, ONE_FUNCTION)
    (project / ".lambdasec.toml").unlink()
    invoke("baseline", "create", "template.yaml", *RULES, "-o", "b.json")
    scan_and_record(project, ONE_FUNCTION, "--baseline", "b.json")
    runs = json.loads(invoke("diff", "--list", "-f", "json").stdout)["runs"]
    assert [(r["findings"], r["suppressed"], r["baselined"]) for r in runs] == [(1, 1, 0), (0, 0, 2)]
    persisting = json.loads(invoke("diff", "-f", "json").stdout)["persisting"]
    assert [(e["rule_id"], e.get("state_before"), e["state"]) for e in persisting] == [
        ("OBS001", "open", "baselined"), ("RES002", "suppressed", "baselined")]


def test_diff_of_two_saved_reports_needs_no_history(project: Path) -> None:
    (project / "template.yaml").write_text(ONE_FUNCTION)
    invoke("scan", "template.yaml", *RULES, "-f", "json", "-o", "old.json")
    (project / "template.yaml").write_text(TRACED + URL_RESOURCE)
    invoke("scan", "template.yaml", *RULES, "-f", "json", "-o", "new.json")
    result = invoke("diff", "old.json", "new.json", "-f", "json")
    changes = json.loads(result.stdout)
    assert (result.exit_code, changes["from"], changes["to"]) == (
        0, {"report": "old.json", "tool_version": "0.1.0"}, {"report": "new.json", "tool_version": "0.1.0"})
    assert [[e["rule_id"] for e in changes[key]] for key in ("new", "fixed", "persisting")] == [
        ["EXP001"], ["OBS001"], ["RES002"]]
    assert not (project / DEFAULT_HISTORY).exists()


def test_detect_records_its_alerts(project: Path) -> None:
    fixture = REPO / "src" / "lambdasec" / "detections" / "fixtures" / "DET001.fire.json"
    assert invoke("detect", str(fixture), "-q", "--history", "h.sqlite").exit_code == 1
    runs = json.loads(invoke("diff", "--list", "--history", "h.sqlite", "-f", "json").stdout)["runs"]
    assert [(r["command"], r["findings"], r["time"]) for r in runs] == [("detect", 3, "2026-11-29T00:00:00Z")]


def test_what_diff_cannot_use_is_a_usage_error(project: Path) -> None:
    def error(*args: str) -> str:
        result = invoke("diff", *args)
        assert (result.exit_code, result.stdout) == (2, ""), result.output
        return result.stderr.removeprefix("lambdasec: error: ").rstrip("\n")

    assert error() == ("history not found: .lambdasec-history.sqlite (record one with `lambdasec scan --history "
                       ".lambdasec-history.sqlite`)")
    scan_and_record(project, ONE_FUNCTION)
    assert error() == ".lambdasec-history.sqlite has 1 run(s): a diff needs two"
    assert error("1", "9") == "no run 9 in .lambdasec-history.sqlite (see `lambdasec diff --list`)"
    assert error("1") == ("give two runs (ids from `lambdasec diff --list`) or two JSON reports, or nothing for the "
                          "last two runs")
    assert error("1", "latest") == "latest: neither a run id nor a JSON report file"
    assert error("--list", "1") == "--list takes no RUN"
    sqlite3.connect(project / "other.sqlite").execute("CREATE TABLE t (x)")
    assert error("--history", "other.sqlite") == "other.sqlite is an SQLite database, but not a lambdasec history"
    (project / "text.sqlite").write_text("not a database at all, just text that is long enough" * 4)
    assert error("--history", "text.sqlite").startswith("cannot open history text.sqlite: file is not a database")
    newer = project / "newer.sqlite"
    sqlite3.connect(newer).execute("PRAGMA user_version = 2")
    assert error("--history", "newer.sqlite") == ("history newer.sqlite has schema version 2, newer than this "
                                                  "lambdasec's (1)")


def test_a_history_that_cannot_be_used_stops_the_scan_with_exit_2(project: Path) -> None:
    (project / "template.yaml").write_text(ONE_FUNCTION)
    (project / "text.sqlite").write_text("not a database at all, just text that is long enough" * 4)
    result = invoke("scan", "template.yaml", "--history", "text.sqlite")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("lambdasec: error: cannot open history text.sqlite: file is not a database")
