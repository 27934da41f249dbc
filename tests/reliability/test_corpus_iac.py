"""Every case of the IaC bad-input corpus (corpus_iac.CASES) ends in a clear gap or error, never a crash.

Through the real command line in its own process: no traceback, the exact exit code, the exact coverage gaps
(kind at file) of the JSON report or the exact one-line error on stderr, the good template next to the bad
files still scanned (its findings present), peak memory under a bound, and for bombs a peak that does not grow
when the bomb is ten times larger.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.test_bad_input import GOOD

from .corpus_iac import CASES, SCAN_JSON, Case
from .harness import Run, assert_clear_failure, run_lambdasec

PEAK_MIB = 600.0
BOMB_GROWTH_MIB = 50.0
# Findings of GOOD that must survive next to every bad file (nothing is lost).
GOOD_RULES = {"EXP001", "EXP003", "IAM001", "SEC001"}

GROUPED = [case for case in CASES if not case.solo]
SOLO = [case for case in CASES if case.solo]
BY_NAME = {case.name: case for case in CASES}


def _param(case: Case) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
    return pytest.param(case, id=case.name, marks=marks)


def _gaps(report: dict[str, Any], prefix: str = "") -> set[tuple[str, str]]:
    return {(gap["location"]["file"].removeprefix(prefix), gap["kind"]) for gap in report["coverage_gaps"]
            if (gap["location"]["file"] or "").startswith(prefix)}


def _good_rules(report: dict[str, Any]) -> set[str]:
    return {f["rule_id"] for f in report["findings"] if f["location"]["file"] == "ok.yaml"}


def _assert_bounded(run: Run) -> None:
    assert_clear_failure(run, run.exit_code)
    assert run.peak_mib < PEAK_MIB, (run.args, run.peak_mib)


@pytest.fixture(scope="module")
def grouped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, dict[str, Any]]:
    """One scan of a directory holding every grouped case in its own sub-directory, and a good template."""
    root = tmp_path_factory.mktemp("grouped")
    (root / "ok.yaml").write_text(GOOD)
    for case in GROUPED:
        (root / case.name).mkdir()
        case.write(root / case.name)
    run = run_lambdasec(list(SCAN_JSON), cwd=root)
    assert_clear_failure(run, 3)
    return run, json.loads(run.stdout)


@pytest.fixture(scope="module")
def solo_run(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Case], tuple[Run, Path]]:
    """Runs a solo case in its own directory (a good template next to it when the whole directory is scanned),
    once per module: the bomb-growth test reuses the runs."""
    done: dict[str, tuple[Run, Path]] = {}

    def run(case: Case) -> tuple[Run, Path]:
        if case.name not in done:
            directory = tmp_path_factory.mktemp(case.name).resolve()
            case.write(directory)
            if case.args == SCAN_JSON:
                (directory / "ok.yaml").write_text(GOOD)
            done[case.name] = run_lambdasec(list(case.args), cwd=directory, env=dict(case.env)), directory
        return done[case.name]

    return run


def test_grouped_scan_keeps_the_good_template_and_stays_bounded(grouped: tuple[Run, dict[str, Any]]) -> None:
    run, report = grouped
    _assert_bounded(run)
    assert _good_rules(report) >= GOOD_RULES
    assert all("\n" not in gap["message"] for gap in report["coverage_gaps"])
    case_dirs = {case.name for case in GROUPED}
    assert {gap["location"]["file"].split("/")[0] for gap in report["coverage_gaps"]} <= case_dirs


@pytest.mark.parametrize("case", [_param(case) for case in GROUPED])
def test_grouped_case_gives_exactly_its_gaps(case: Case, grouped: tuple[Run, dict[str, Any]]) -> None:
    assert _gaps(grouped[1], f"{case.name}/") == set(case.gaps)


@pytest.mark.parametrize("case", [_param(case) for case in SOLO])
def test_solo_case(case: Case, solo_run: Callable[[Case], tuple[Run, Path]]) -> None:
    run, directory = solo_run(case)
    _assert_bounded(run)
    assert_clear_failure(run, case.exit_code)
    for planted in case.never_in_output:
        assert planted not in run.output
    if case.error:
        assert run.stderr.strip() == case.error.format(dir=directory)
        return
    report = json.loads(run.stdout)
    assert _gaps(report) == set(case.gaps)
    assert all("\n" not in gap["message"] for gap in report["coverage_gaps"])
    if case.args == SCAN_JSON:
        assert _good_rules(report) >= GOOD_RULES


@pytest.mark.parametrize("case", [pytest.param(case, id=case.name) for case in SOLO if case.twin])
def test_peak_memory_does_not_grow_with_the_bomb(case: Case, solo_run: Callable[[Case], tuple[Run, Path]]) -> None:
    large, _ = solo_run(case)
    small, _ = solo_run(BY_NAME[case.twin])
    assert large.peak_mib - small.peak_mib < BOMB_GROWTH_MIB, (small.peak_mib, large.peak_mib)


def test_every_category_is_covered() -> None:
    assert {case.category for case in CASES} == {
        "cloudformation", "terraform", "serverless", "iam-policies", "lambdasec-files"}
    assert len({case.name for case in CASES}) == len(CASES)
