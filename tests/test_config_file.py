"""The configuration file: severity overrides, ignores that expire (CFG001), per-rule options, and precedence
(command-line flags > configuration file > defaults), with the fixture clock."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import lambdasec
from lambdasec import cli
from lambdasec.cli import main
from lambdasec.config import ConfigError, ConfigSuppression, load_config, parse_config

from .conftest import FIXTURE_CLOCK, PUBLIC_URL, REPO

TODAY = FIXTURE_CLOCK.date()  # 2026-11-29


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with the template, as the working directory, and the command line on the fixture clock."""
    (tmp_path / "template.yaml").write_text(PUBLIC_URL)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "_now", lambda: FIXTURE_CLOCK)
    return tmp_path


def scan(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["scan", "template.yaml", "-f", "json", *args])
    assert result.exit_code in (0, 1, 3), result.output
    return result.exit_code, json.loads(result.stdout)


def usage_error(*args: str) -> str:
    result = CliRunner().invoke(main, ["scan", "template.yaml", "-q", *args])
    assert result.exit_code == 2, result.output
    return result.stderr


def codes(report: dict, key: str = "findings") -> list[tuple[str, str]]:
    return [(f["rule_id"], f["severity"]) for f in report[key]]


# ---------------------------------------------------------------- parsing
def test_severity_table_overrides_and_the_minimum_keeps_both_spellings() -> None:
    config = parse_config({"severity": {"EXP001": "Low", "tracing-not-active": "info"}, "min_severity": "medium"},
                          "x.toml")
    assert (config.severity_overrides, config.severity) == ({"EXP001": "low", "tracing-not-active": "info"}, "medium")
    assert parse_config({"severity": "high"}, "x.toml").severity == "high"  # the older spelling of the minimum
    assert parse_config({}, "x.toml").severity_overrides == {}


@pytest.mark.parametrize(("data", "message"), [
    ({"severity": "high", "min_severity": "low"}, "x.toml: give the minimum severity once ('min_severity'), not also "
                                                  "as 'severity'"),
    ({"severity": {"EXP001": "urgent"}}, "x.toml: severity.EXP001 must be one of critical, high, medium, low, info"),
    ({"severity": {"EXP001": 3}}, "x.toml: severity.EXP001 must be one of critical, high, medium, low, info"),
    ({"min_severity": "sometimes"}, "x.toml: 'min_severity' must be one of critical, high, medium, low, info, not "
                                    "'sometimes'"),
    ({"min_confidence": 2}, "x.toml: 'min_confidence' must be a string"),
    ({"suppress": [{"rule": "EXP001", "reason": "r", "expires": "next year"}]},
     "x.toml: suppress[0] (EXP001): 'expires' must be a date such as 2027-01-31, not 'next year'"),
    ({"suppress": [{"rule": "EXP001", "reason": "r", "expires": dt.datetime(2027, 1, 31)}]},
     "x.toml: suppress[0] (EXP001): 'expires' must be a date such as 2027-01-31"),
    ({"suppress": [{"rule": "EXP001", "reason": "r", "until": "2027-01-31"}]},
     "x.toml: suppress[0] has unknown key(s): until"),
    ({"suppress": {"rule": "EXP001"}}, "x.toml: 'suppress' must be an array of tables ([[suppress]])"),
])
def test_invalid_values_are_errors(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "x.toml")
    assert str(caught.value) == message


def test_expiry_dates_and_the_lines_of_their_entries(tmp_path: Path) -> None:
    (tmp_path / ".lambdasec.toml").write_text(
        'fail_on = "high"\n\n[[suppress]]\nrule = "EXP001"\nreason = "webhook"\nexpires = 2027-01-31\n\n'
        '  [[ suppress ]]\nrule = "OBS001"\nreason = "later"\nexpires = "2026-12-01"\n\n'
        '[[suppress]]\nrule = "RES002"\nreason = "forever"\n')
    config = load_config(None, tmp_path)
    assert config.suppressions == (
        ConfigSuppression("EXP001", "webhook", expires=dt.date(2027, 1, 31), line=3),
        ConfigSuppression("OBS001", "later", expires=dt.date(2026, 12, 1), line=8),
        ConfigSuppression("RES002", "forever", line=13),
    )
    assert config.path == ".lambdasec.toml"  # relative to the working directory: fingerprints do not move
    entry = config.suppressions[0]
    assert [entry.expired(day) for day in (dt.date(2027, 1, 30), dt.date(2027, 1, 31), dt.date(2027, 2, 1))] == [
        False, True, True]
    assert not config.suppressions[2].expired(dt.date(9999, 12, 31))


def test_pyproject_section_lines_and_inline_tables(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.lambdasec]\nfail_on = "none"\n\n[tool.lambdasec.severity]\nEXP001 = "low"\n'
        '\n[[tool.lambdasec.suppress]]\nrule = "EXP001"\nreason = "r"\nexpires = 2026-01-01\n')
    config = load_config(None, tmp_path)
    assert (config.source, config.path) == (f"{tmp_path / 'pyproject.toml'} [tool.lambdasec]", "pyproject.toml")
    assert (config.severity_overrides, config.suppressions[0].line) == ({"EXP001": "low"}, 10)
    (tmp_path / "inline.toml").write_text('suppress = [{rule = "EXP001", reason = "r", expires = 2026-01-01}]\n')
    inline = load_config(tmp_path / "inline.toml", tmp_path)
    assert inline.suppressions[0].line is None  # no [[suppress]] header to point at


# ---------------------------------------------------------------- severity overrides
def test_severity_override_changes_thresholds_and_outputs(project: Path) -> None:
    assert scan("--rule", "EXP001")[1]["findings"][0]["severity"] == "high"
    (project / ".lambdasec.toml").write_text('[severity]\nfunction-url-auth-none = "low"\n')
    code, report = scan("--rule", "EXP001", "--fail-on", "medium")
    assert code == 0
    (finding,) = report["findings"]
    assert (finding["severity"], finding["evidence"]["default_severity"]) == ("low", "high")
    assert scan("--rule", "EXP001", "--severity", "medium")[1]["findings"] == []  # filtered at its new severity
    sarif = json.loads(CliRunner().invoke(main, ["scan", "template.yaml", "-f", "sarif", "--rule", "EXP001"]).stdout)
    assert sarif["runs"][0]["results"][0]["level"] == "note"


def test_unknown_rule_in_the_severity_table_is_a_usage_error(project: Path) -> None:
    (project / ".lambdasec.toml").write_text('[severity]\nEXP999 = "low"\n')
    assert usage_error() == (f"lambdasec: error: {project / '.lambdasec.toml'}: severity: unknown rule EXP999 "
                             "(see `lambdasec rules`)\n")


# ---------------------------------------------------------------- ignores that expire
EXPIRING = '[[suppress]]\nrule = "EXP001"\nresource = "Url"\nreason = "public webhook"\nexpires = {date}\n'


def test_an_ignore_suppresses_until_the_day_before_its_expiry(project: Path) -> None:
    (project / ".lambdasec.toml").write_text(EXPIRING.format(date="2026-11-30"))
    code, report = scan("--rule", "EXP001")
    assert (code, report["findings"], codes(report, "suppressed")) == (0, [], [("EXP001", "high")])
    assert report["suppressed"][0]["suppression"] == {"reason": "public webhook", "source": "config"}


def test_an_expired_ignore_no_longer_suppresses_and_is_reported(project: Path) -> None:
    (project / ".lambdasec.toml").write_text(EXPIRING.format(date="2026-11-29"))  # the fixture clock's day
    code, report = scan("--rule", "EXP001")
    assert code == 1
    assert (codes(report), report["suppressed"]) == ([("EXP001", "high"), ("CFG001", "low")], [])
    notice = report["findings"][1]
    assert {k: notice[k] for k in ("slug", "title", "confidence", "category", "message", "resource", "functions",
                                   "location", "evidence")} == {
        "slug": "expired-suppression", "title": "Ignore past its expiry date", "confidence": "high",
        "category": "configuration",
        "message": 'The ignore of EXP001 ("public webhook") expired on 2026-11-29: it no longer suppresses '
                   "anything. Fix the findings it covered, or give it a new date.",
        "resource": {"id": "suppress EXP001 resource=Url", "type": "lambdasec::Config::Suppression"},
        "functions": [], "location": {"file": ".lambdasec.toml", "line": 1, "column": None},
        "evidence": {"kind": "expired-ignore", "rule": "EXP001", "resource": "Url", "file": "*",
                     "reason": "public webhook", "expires": "2026-11-29"},
    }
    assert re.fullmatch(r"[0-9a-f]{32}", notice["fingerprint"])
    assert scan("--rule", "EXP001", "--fail-on", "medium")[0] == 1  # EXP001 itself is back, high
    assert scan("--rule", "EXP001", "--fail-on", "critical")[0] == 0


def test_the_notice_is_visible_in_table_and_sarif_and_explained(project: Path) -> None:
    (project / ".lambdasec.toml").write_text(EXPIRING.format(date="2026-01-31"))
    table = CliRunner().invoke(main, ["scan", "template.yaml", "--rule", "EXP001", "--color", "never"])
    assert "CFG001" in table.stdout and "expired-suppression" in table.stdout and ".lambdasec.toml:1" in table.stdout
    sarif = json.loads(CliRunner().invoke(main, ["scan", "template.yaml", "-f", "sarif", "--rule", "EXP001"]).stdout)
    run = sarif["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["EXP001", "CFG001"]
    notice = next(r for r in run["results"] if r["ruleId"] == "CFG001")
    assert (notice["level"], notice["locations"][0]["physicalLocation"]) == (
        "note", {"artifactLocation": {"uri": ".lambdasec.toml"}, "region": {"startLine": 1}})
    explained = CliRunner().invoke(main, ["explain", "expired-suppression"])
    assert explained.exit_code == 0
    assert explained.output.startswith("# CFG001 `expired-suppression`: Ignore past its expiry date\n")


def test_the_notice_follows_the_rules_run_and_the_thresholds(project: Path) -> None:
    (project / ".lambdasec.toml").write_text(EXPIRING.format(date="2026-01-31").replace('"EXP001"', '"OBS001"'))
    assert [f["rule_id"] for f in scan("--rule", "EXP001")[1]["findings"]] == ["EXP001"]  # OBS001 did not run
    assert "CFG001" in [f["rule_id"] for f in scan("--rule", "OBS001")[1]["findings"]]
    assert "CFG001" not in [f["rule_id"] for f in scan("--rule", "OBS001", "--severity", "medium")[1]["findings"]]
    (project / ".lambdasec.toml").write_text(EXPIRING.format(date="2026-01-31") + '\n[severity]\nCFG001 = "high"\n')
    assert codes(scan("--rule", "EXP001")[1]) == [("EXP001", "high"), ("CFG001", "high")]


def test_a_catch_all_ignore_does_not_hide_the_notice(project: Path) -> None:
    (project / ".lambdasec.toml").write_text(EXPIRING.format(date="2026-01-31")
                                             + '\n[[suppress]]\nrule = "*"\nreason = "everything, for now"\n')
    code, report = scan("--rule", "EXP001")
    assert (code, codes(report), codes(report, "suppressed")) == (1, [("CFG001", "low")], [("EXP001", "high")])


def test_the_library_uses_the_injected_clock(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(PUBLIC_URL)
    (tmp_path / "lambdasec.toml").write_text(EXPIRING.format(date="2026-11-29"))
    before = lambdasec.scan_paths([tmp_path / "template.yaml"], rules=["EXP001"], config_file=tmp_path /
                                  "lambdasec.toml", now=FIXTURE_CLOCK - dt.timedelta(seconds=1))
    on_the_day = lambdasec.scan_paths([tmp_path / "template.yaml"], rules=["EXP001"], config_file=tmp_path /
                                      "lambdasec.toml", now=FIXTURE_CLOCK)
    assert ([f.rule_id for f in before.findings], len(before.suppressed)) == ([], 1)
    assert ([f.rule_id for f in on_the_day.findings], on_the_day.suppressed) == (["EXP001", "CFG001"], [])
    assert on_the_day.findings[1].location.file == (tmp_path / "lambdasec.toml").as_posix()  # outside the cwd


# ---------------------------------------------------------------- precedence
def test_flags_beat_the_file_which_beats_the_defaults(project: Path) -> None:
    assert scan()[0] == 1  # default fail_on "low"
    assert {f["severity"] for f in scan()[1]["findings"]} >= {"high", "low"}  # default: every severity
    (project / ".lambdasec.toml").write_text('fail_on = "critical"\nmin_severity = "high"\nrules = ["EXP001", '
                                             '"OBS001"]\n')
    code, report = scan()
    assert (code, codes(report)) == (0, [("EXP001", "high")])  # the file: OBS001 is low, filtered
    code, report = scan("--fail-on", "low", "--severity", "low", "--rule", "OBS001")
    assert (code, codes(report)) == (1, [("OBS001", "low")])  # the flags
    assert scan("--fail-on", "none", "--severity", "low")[0] == 0


def test_explicit_file_then_dotfile_then_pyproject(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.lambdasec]\nrules = ["OBS001"]\n')
    assert codes(scan()[1]) == [("OBS001", "low")]
    (project / ".lambdasec.toml").write_text('rules = ["EXP001"]\n')
    assert codes(scan()[1]) == [("EXP001", "high")]  # the dotfile wins, the two are not merged
    (project / "other.toml").write_text('rules = ["RES002"]\n')
    assert [c for c, _ in codes(scan("--config", "other.toml")[1])] == ["RES002"]


def test_skip_lists_add_up_and_archive_limits_merge_key_by_key(project: Path) -> None:
    (project / ".lambdasec.toml").write_text('skip_rules = ["OBS001"]\n[archive]\nmax_ratio = 10\nmax_depth = 1\n')
    found = {f["rule_id"] for f in scan("--skip-rule", "RES002")[1]["findings"]}
    assert "EXP001" in found and not found & {"OBS001", "RES002"}
    settings = cli.scan_settings({"config_file": None, "rules": (), "skip_rules": (), "severity": None,
                                  "min_confidence": None, "jobs": 1, "no_cache": True, "sam_expander": "native",
                                  "scan_all_files": True, "layer_lock": None, "max_archive_bytes": None,
                                  "max_archive_file_bytes": None, "max_archive_ratio": 50.0,
                                  "max_archive_entries": None, "max_archive_depth": None}, FIXTURE_CLOCK)
    assert settings.config.rule_options["archive_limits"] == {"max_ratio": 10, "max_depth": 1}
    assert settings.rule_options == {"secrets_all_files": True, "archive_limits": {"max_ratio": 50.0, "max_depth": 1}}
    assert settings.now == FIXTURE_CLOCK


def test_the_documented_example_is_valid(tmp_path: Path) -> None:
    text = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    example = text.split("## Full example\n\n```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "lambdasec.lock").write_text("{}")
    (tmp_path / ".lambdasec.toml").write_text(example)
    config = load_config(None, tmp_path)
    from lambdasec.engine import severity_overrides
    from lambdasec.rules.registry import all_rules

    assert severity_overrides(config, all_rules()) == {"EXP001": 4, "OBS002": 0, "OBS001": 0}
    assert [(s.rule, s.expires, s.line) for s in config.suppressions] == [
        ("RES002", None, 31), ("EXP003", dt.date(2027, 1, 31), 37)]
    assert example.splitlines()[30] == "[[suppress]]                      # an ignore: a reason is required"
