"""Large scans run the rules in two processes (engine._run_rules): the report must not depend on it."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

import lambdasec
from lambdasec import engine
from lambdasec.collectors.discovery import collect
from lambdasec.collectors.options import CollectOptions
from lambdasec.rules.registry import all_rules

from .conftest import FIXTURE_CLOCK

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
CAN_FORK = engine._can_fork


@pytest.fixture(autouse=True)
def _fork_despite_other_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine forks only when its process has no other thread; a test session may have some (the emulator
    server of tests/aws runs in a thread). These tests are about the forked path: take it regardless."""
    monkeypatch.setattr(engine, "_can_fork", lambda: True)

FUNCTION = """\
  Fn{i}:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Code: {{ZipFile: "import boto3\\ndef handler(e, c):\\n    boto3.client('s3').list_buckets()\\n"}}
      Role: !GetAtt Role{i}.Arn
      Environment: {{Variables: {{TOKEN: ghp_0123456789abcdefghijklmnopqrstuvwxyz{i:02d}}}}}
  Role{i}:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement: [{{Effect: Allow, Principal: {{Service: lambda.amazonaws.com}}, Action: sts:AssumeRole}}]
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - {{Effect: Allow, Action: [iam:PassRole, lambda:CreateFunction, s3:*, ec2:*], Resource: "*"}}
"""


def _project(tmp_path: Path, functions: int) -> Path:
    body = "".join(FUNCTION.format(i=i) for i in range(functions))
    (tmp_path / "template.yaml").write_text("Resources:\n" + body)
    return tmp_path


def _facts(report: lambdasec.Report) -> list[tuple[object, ...]]:
    return [(f.fingerprint, f.rule_id, f.message, f.severity, f.confidence, f.evidence, f.priority)
            for f in report.findings]


def test_two_processes_report_exactly_what_one_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path, engine.PARALLEL_RULES_MIN_FUNCTIONS)
    forks: list[int] = []
    real = engine._run_forked
    monkeypatch.setattr(engine, "_run_forked", lambda *args: forks.append(1) or real(*args))
    serial = lambdasec.scan_paths([project], now=FIXTURE_CLOCK, workers=1)
    assert forks == []
    parallel = lambdasec.scan_paths([project], now=FIXTURE_CLOCK, workers=2)
    assert forks == [1]
    assert _facts(parallel) == _facts(serial)
    assert {f.rule_id for f in parallel.findings} >= {"IAM009", "IAM017", "IAM002", "SEC001"}  # from both processes
    assert [n.reason for n in parallel.not_evaluated] == [n.reason for n in serial.not_evaluated]
    assert parallel.coverage_gaps == serial.coverage_gaps == []


def test_small_scans_stay_in_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path, engine.PARALLEL_RULES_MIN_FUNCTIONS - 1)
    monkeypatch.setattr(engine, "_run_forked", lambda *args: pytest.fail("forked for a small scan"))
    assert lambdasec.scan_paths([project], now=FIXTURE_CLOCK, workers=2).findings


def _evaluate_with(tmp_path: Path, check: engine.Rule) -> lambdasec.Report:
    inventory, scanned = collect([_project(tmp_path, engine.PARALLEL_RULES_MIN_FUNCTIONS)],
                                 CollectOptions(workers=1))
    rules = [rule for rule in all_rules() if rule.code in ("IAM009", "SEC001")] + [check]
    return engine.evaluate(inventory, rules, engine.ScanSettings(now=FIXTURE_CLOCK, workers=2), scanned_files=scanned)


def test_a_rule_failing_in_the_other_process_is_a_coverage_gap(tmp_path: Path) -> None:
    def broken(inventory: object, context: object) -> list[object]:
        raise ValueError("boom")

    rule = dataclasses.replace(next(r for r in all_rules() if r.code == "NET001"), check=broken, reads_code=True)
    report = _evaluate_with(tmp_path, rule)
    assert [g.message for g in report.coverage_gaps] == ["rule NET001 failed: ValueError: boom"]
    assert {f.rule_id for f in report.findings} == {"IAM009", "SEC001"}


def test_the_other_process_dying_is_a_coverage_gap_not_a_lost_result(tmp_path: Path) -> None:
    def dies(inventory: object, context: object) -> list[object]:
        os._exit(1)  # runs only in the forked process (reads_code)

    rule = dataclasses.replace(next(r for r in all_rules() if r.code == "NET001"), check=dies, reads_code=True)
    report = _evaluate_with(tmp_path, rule)
    gaps = [g.message for g in report.coverage_gaps]
    assert gaps == ["rule NET001 failed: its worker process ended without a result"]
    assert report.incomplete
    assert {f.rule_id for f in report.findings} == {"IAM009", "SEC001"}


def test_no_fork_while_another_thread_runs() -> None:
    import threading

    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert CAN_FORK() is False
    finally:
        release.set()
        other.join()
