"""The engine: rule selection, thresholds, suppressions (with reasons) and fingerprints, in one place."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import lambdasec
from lambdasec.config import ConfigError, load_config

from .conftest import FIXTURE_CLOCK, FIXTURES

TEMPLATE = """\
Resources:
  # lambdasec: ignore[NET001] runs outside a VPC by design
  Open:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Role: arn:aws:iam::123456789012:role/fn
      Code: {ZipFile: "def handler(e, c): return 1"}
  OpenUrl:
    Type: AWS::Lambda::Url
    Metadata:
      lambdasec:
        ignore:
          - id: function-url-auth-none
            reason: public webhook, HMAC-checked in code
    Properties:
      TargetFunctionArn: !GetAtt Open.Arn
      AuthType: NONE
  Other:
    Type: AWS::Lambda::Function  # lambdasec: ignore[NET001]
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Role: arn:aws:iam::123456789012:role/fn
      Code: {ZipFile: "def handler(e, c): return 1"}
"""


def _scan(tmp_path: Path, text: str = TEMPLATE, **kwargs: object) -> lambdasec.model.findings.Report:
    path = tmp_path / "template.yaml"
    path.write_text(text)
    kwargs.setdefault("now", FIXTURE_CLOCK)
    return lambdasec.scan_paths([path], **kwargs)  # type: ignore[arg-type]


def _ids(findings: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return sorted((f.rule_id, f.resource_id) for f in findings)


def test_suppressions_from_comments_and_metadata(tmp_path: Path) -> None:
    report = _scan(tmp_path, rules=["EXP001", "NET001"])
    assert _ids(report.findings) == [("NET001", "Other")]  # the inline comment has no reason: not a suppression
    assert _ids(report.suppressed) == [("EXP001", "OpenUrl"), ("NET001", "Open")]
    reasons = {f.rule_id: (f.suppression.reason, f.suppression.source) for f in report.suppressed if f.suppression}
    assert reasons == {"EXP001": ("public webhook, HMAC-checked in code", "template"),
                       "NET001": ("runs outside a VPC by design", "template")}
    assert [(g.kind, g.location.line) for g in report.coverage_gaps] == [("invalid-suppression", 21)]


def test_suppressions_from_config_need_a_reason(tmp_path: Path) -> None:
    config = tmp_path / ".lambdasec.toml"
    config.write_text('[[suppress]]\nrule = "NET001"\nresource = "Oth*"\nreason = "legacy"\n')
    report = _scan(tmp_path, rules=["NET001"], config_file=config)
    assert _ids(report.findings) == []
    assert _ids(report.suppressed) == [("NET001", "Open"), ("NET001", "Other")]
    config.write_text('[[suppress]]\nrule = "NET001"\n')
    with pytest.raises(ConfigError, match=r"suppress\[0\] \(NET001\) needs a non-empty 'reason'"):
        load_config(config, tmp_path)


def test_unknown_config_keys_are_errors(tmp_path: Path) -> None:
    config = tmp_path / ".lambdasec.toml"
    config.write_text('fail_on = "high"\nfial_on = "low"\n')
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(None, tmp_path)


def test_pyproject_section(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.lambdasec]\nskip_rules = ["NET001"]\n')
    assert load_config(None, tmp_path).skip_rules == ("NET001",)


def test_rule_selection_severity_and_confidence_filters(tmp_path: Path) -> None:
    everything = _scan(tmp_path)
    assert ("EXP001", "OpenUrl") not in _ids(everything.findings)
    high = _scan(tmp_path, min_severity="high")
    assert all(f.severity >= lambdasec.model.findings.Severity.HIGH for f in high.findings)
    assert set(_ids(high.findings)) < set(_ids(everything.findings))
    skipped = _scan(tmp_path, skip_rules=["tracing-not-active"])
    assert "OBS001" not in {f.rule_id for f in skipped.findings}
    assert "OBS001" in {f.rule_id for f in everything.findings}
    with pytest.raises(ConfigError, match="unknown rule: NOPE001"):
        _scan(tmp_path, rules=["NOPE001"])


def test_fingerprints_survive_line_shifts(tmp_path: Path) -> None:
    before = {(f.rule_id, f.resource_id): f.fingerprint for f in _scan(tmp_path).findings}
    shifted = TEMPLATE.replace("Resources:\n", "Description: moved\n\n\nResources:\n")
    after_report = _scan(tmp_path, shifted)
    after = {(f.rule_id, f.resource_id): f.fingerprint for f in after_report.findings}
    assert before == after
    assert len(set(before.values())) == len(before)


def test_the_clock_is_injected(tmp_path: Path) -> None:
    text = TEMPLATE.replace("python3.12", "python3.9")
    before = _scan(tmp_path, text, rules=["RUN001"], now=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
    assert before.findings == []
    after = _scan(tmp_path, text, rules=["RUN001"])
    assert _ids(after.findings) == [("RUN001", "Open"), ("RUN001", "Other")]


def test_parallel_reading_gives_the_same_report(tmp_path: Path) -> None:
    from lambdasec.collectors.discovery import PARALLEL_THRESHOLD

    from .conftest import FIXTURES

    sources = sorted(FIXTURES.glob("*.fail.yaml"))
    for index in range(PARALLEL_THRESHOLD + 2):
        source = sources[index % len(sources)]
        (tmp_path / f"{index:03d}-{source.name}").write_text(source.read_text())

    def summary(report: lambdasec.model.findings.Report) -> list[tuple[str, str, str, int | None]]:
        return [(f.fingerprint, f.rule_id, f.location.file, f.location.line) for f in report.findings]

    serial = lambdasec.scan_paths([tmp_path], now=FIXTURE_CLOCK, workers=1)
    parallel = lambdasec.scan_paths([tmp_path], now=FIXTURE_CLOCK, workers=2)
    assert summary(parallel) == summary(serial)
    assert parallel.scanned_files == serial.scanned_files and len(serial.scanned_files) == PARALLEL_THRESHOLD + 2


def test_functions_with_the_same_id_in_different_files_are_counted_apart(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(TEMPLATE)
    report = lambdasec.scan_paths([tmp_path], rules=["OBS001"], now=FIXTURE_CLOCK)
    assert report.affected_function_count == 4  # Open and Other, twice


def test_local_modules_are_read_through_their_caller_only(tmp_path: Path) -> None:
    """A walked repository holds root configurations and their local modules: each resource is seen once."""
    (tmp_path / "modules" / "fn").mkdir(parents=True)
    (tmp_path / "modules" / "fn" / "main.tf").write_text(
        'variable "name" {}\nresource "aws_lambda_function" "this" {\n  function_name = var.name\n'
        '  runtime = "python3.12"\n  handler = "a.b"\n  role = "arn:aws:iam::123456789012:role/r"\n'
        '  filename = "x.zip"\n}\n')
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "main.tf").write_text('module "api" {\n  source = "../modules/fn"\n  name = "api"\n}\n')
    report = lambdasec.scan_paths([tmp_path], rules=["NET001"], now=FIXTURE_CLOCK)
    assert [f.resource_id for f in report.findings] == ["module.api.aws_lambda_function.this"]
    assert report.coverage_gaps == []


def test_fingerprints_are_unique_within_a_report() -> None:
    """Code scanning and baselines key alerts by fingerprint: two findings must never share one (e.g. each
    escalation method of one role, each principal that can change one function, both permissions of a
    serverless `url:`)."""
    report = lambdasec.scan_paths([FIXTURES, Path(__file__).parent.parent / "examples"], now=FIXTURE_CLOCK)
    fingerprints = [f.fingerprint for f in [*report.findings, *report.suppressed]]
    assert len(fingerprints) > 500
    assert len(set(fingerprints)) == len(fingerprints)


def test_rules_may_report_coverage_gaps_once_each(tmp_path: Path) -> None:
    """A rule that could not read all its input (a package, later) yields a CoverageGap: reported once, exit 3."""
    import dataclasses

    from lambdasec.engine import ScanSettings, evaluate
    from lambdasec.model.inventory import CoverageGap, Inventory
    from lambdasec.model.location import Location
    from lambdasec.rules.registry import all_rules

    gap = CoverageGap("package", "build/fn.zip: entry ../x skipped (path outside the archive)", Location("t.yaml", 3))
    rule = dataclasses.replace(all_rules()[0], check=lambda inventory, context: [gap, gap])
    report = evaluate(Inventory(), [rule, dataclasses.replace(rule, code="ZZZ999")], ScanSettings(now=FIXTURE_CLOCK))
    assert report.coverage_gaps == [gap]
    assert report.incomplete and report.findings == []
