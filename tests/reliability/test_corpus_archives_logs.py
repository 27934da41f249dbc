"""Hostile packages and broken logs through the real command line: exact gaps and exit codes, never a traceback or a
hang, the good code and records beside the bad still analysed, and memory that does not grow with a bomb.

Each case of corpus_archives_logs.CASES runs ``lambdasec scan`` or ``lambdasec detect`` in its own process
(harness.run_lambdasec: a hang bound, peak memory). The wrong-type matrix runs as one ``detect`` over one file per
case, since a file is what a malformed-records gap counts. The 200 MB CloudTrail file is generated once per
session.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .corpus_archives_logs import (
    BAD_LINE,
    BIG_FIRING,
    CASES,
    SDK_ACTION,
    BigTrail,
    Case,
    many_entries_bomb,
    ratio_bomb,
    write_big_trail,
)
from .harness import Run, assert_clear_failure, run_lambdasec

pytest.importorskip("duckdb", reason="lambdasec detect's default engine")

SCAN_CASES = [case for case in CASES if case.command == "scan"]
WRONG_TYPE_CASES = [case for case in CASES if case.category == "wrong-types"]
LOG_CASES = [case for case in CASES if case.command == "detect" and case.category != "wrong-types"]
# Peak memory of two bombs 10x apart may differ by allocator noise, never by the bomb.
BOMB_GROWTH_MIB = 16.0
# A CloudTrail document is read whole (text, then its records): a few times its size, bounded.
BIG_TRAIL_PEAK_MIB = 2000.0


def _report(run: Run) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(run.stdout)
    return report


def _gaps(report: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((gap["kind"], gap["message"]) for gap in report["coverage_gaps"])


def _alerted_ids(report: dict[str, Any]) -> set[str]:
    return {event_id for finding in report["findings"] for event_id in finding["evidence"]["event_ids"]}


# ---------------------------------------------------------------------------------------------------- archives
@pytest.mark.parametrize("case", SCAN_CASES, ids=lambda case: case.name)
def test_hostile_package_is_an_exact_gap_and_the_good_code_is_still_read(case: Case, tmp_path: Path) -> None:
    case.build(tmp_path)
    run = run_lambdasec(["scan", "template.yaml", "-f", "json", *case.args], cwd=tmp_path)
    assert_clear_failure(run, case.exit_code)
    report = _report(run)
    assert _gaps(report) == case.expected_gaps(tmp_path)
    assert {gap["location"]["line"] for gap in report["coverage_gaps"]} <= {BAD_LINE}
    planted = sorted(f["resource"]["id"] for f in report["findings"] if f["rule_id"] == "SEC003")
    assert planted == sorted(case.kept)
    assert run.peak_mib < case.max_peak_mib, run.peak_mib


@pytest.mark.parametrize("case", [case for case in SCAN_CASES if case.sdk], ids=lambda case: case.name)
def test_sdk_analysis_still_reads_the_good_files_of_a_partly_bad_package(case: Case, tmp_path: Path) -> None:
    case.build(tmp_path)
    run = run_lambdasec(["policy", "template.yaml", "-f", "json", "--function", "Bad"], cwd=tmp_path)
    incomplete = case.sdk == "incomplete"
    assert_clear_failure(run, 3 if incomplete else 0)
    analysis = _report(run)["functions"][0]
    assert (analysis["function"], analysis["code"]["status"]) == ("Bad", "analysed")
    assert [call["actions"] for call in analysis["calls"]] == [[SDK_ACTION]]
    assert analysis["incomplete"] is incomplete


def _peak_of_bomb(tmp_path: Path, build: str, size: int, args: list[str]) -> Run:
    directory = tmp_path / str(size)
    directory.mkdir()
    (ratio_bomb if build == "ratio" else many_entries_bomb)(directory / "bomb.zip", size)
    run = run_lambdasec(["scan", "bomb.zip", "-f", "json", *args], cwd=directory)
    assert_clear_failure(run, 3)
    return run


@pytest.mark.parametrize(("bomb", "small", "args"), [
    ("ratio", 20, []),  # MiB of zeros in one entry
    ("entries", 5_000, ["--max-archive-entries", "500"]),  # entries past the limit
])
def test_memory_does_not_grow_with_the_bomb(bomb: str, small: int, args: list[str], tmp_path: Path) -> None:
    smaller = _peak_of_bomb(tmp_path, bomb, small, args)
    larger = _peak_of_bomb(tmp_path, bomb, small * 10, args)
    assert [gap["kind"] for gap in _report(larger)["coverage_gaps"]] == ["package-limit"]
    assert abs(larger.peak_mib - smaller.peak_mib) < BOMB_GROWTH_MIB, (smaller.peak_mib, larger.peak_mib)


# ---------------------------------------------------------------------------------------------------- logs
def _detect(directory: Path) -> Run:
    return run_lambdasec(["detect", "logs", "-f", "json"], cwd=directory)


@pytest.mark.parametrize("case", LOG_CASES, ids=lambda case: case.name)
def test_broken_log_is_an_exact_gap_and_the_good_records_still_alert(case: Case, tmp_path: Path) -> None:
    case.build(tmp_path)
    run = _detect(tmp_path)
    assert_clear_failure(run, case.exit_code)
    report = _report(run)
    assert _gaps(report) == sorted(case.gaps)
    missing = set(case.kept) - _alerted_ids(report)
    assert not missing, missing
    assert run.peak_mib < case.max_peak_mib, run.peak_mib


def test_every_field_of_a_record_with_every_wrong_type(tmp_path: Path) -> None:
    for case in WRONG_TYPE_CASES:
        case.build(tmp_path)
    run = _detect(tmp_path)
    assert_clear_failure(run, 3)
    report = _report(run)
    assert _gaps(report) == sorted(gap for case in WRONG_TYPE_CASES for gap in case.gaps)
    missing = {event_id for case in WRONG_TYPE_CASES for event_id in case.kept} - _alerted_ids(report)
    assert not missing, sorted(missing)


# ---------------------------------------------------------------------------------------------------- 200 MB
@pytest.fixture(scope="session")
def big_trail(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BigTrail]:
    directory = tmp_path_factory.mktemp("big-trail")
    (directory / "logs").mkdir()
    return directory, write_big_trail(directory / "logs" / "big.json")


def test_one_200_mb_cloudtrail_file_counts_its_broken_records(big_trail: tuple[Path, BigTrail]) -> None:
    directory, written = big_trail
    run = _detect(directory)
    print(f"\n200 MB CloudTrail file: {run.seconds:.1f} s, peak {run.peak_mib:.0f} MiB")  # for docs/reliability.md
    assert_clear_failure(run, 3)
    report = _report(run)
    assert _gaps(report) == sorted([
        ("malformed-records", f"logs/big.json: {written.malformed} of {written.objects} cloudtrail records are "
                              "malformed and were left out"),
        ("malformed-records", f"logs/big.json: {written.not_objects} elements are no JSON object and were left out")])
    assert set(BIG_FIRING) <= _alerted_ids(report)
    assert run.peak_mib < BIG_TRAIL_PEAK_MIB, run.peak_mib
