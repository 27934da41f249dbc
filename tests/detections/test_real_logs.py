"""Stratus Red Team's published detonation logs (../shared/data, read at run time, never copied), and a generated
benign corpus: the Lambda and log-tampering techniques fire, nothing else does."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("duckdb", reason="lambdasec detect's default engine")

from lambdasec.detections.context import load_context  # noqa: E402
from lambdasec.detections.runner import DetectSettings, detect  # noqa: E402

from .corpus import benign_cloudtrail, benign_dns, benign_flows, write_cloudtrail_export, write_dns, write_flows  # noqa: E402

STRATUS = Path(__file__).parents[3] / "shared" / "data" / "stratus-detonation-logs"
EXPECTED = {
    "aws.persistence.lambda-backdoor-function.json": ["DET003"],
    "aws.persistence.lambda-layer-extension.json": ["DET002"],
    "aws.persistence.lambda-overwrite-code.json": ["DET001"],
    "aws.defense-evasion.cloudtrail-delete.json": ["DET040"],
    "aws.defense-evasion.cloudtrail-stop.json": ["DET040"],
    "aws.defense-evasion.cloudtrail-event-selectors.json": ["DET041"],
    "aws.defense-evasion.dns-delete-logs.json": ["DET043"],
    "aws.defense-evasion.vpc-remove-flow-logs.json": ["DET043"],
}


@pytest.mark.skipif(not STRATUS.is_dir(), reason=f"the Stratus Red Team logs are not there ({STRATUS}): they live "
                                                  "in the workplace's ../shared/data, not in the repository")
def test_stratus_lambda_and_tampering_techniques_fire_and_the_others_stay_quiet() -> None:
    report = detect([STRATUS], DetectSettings(context=load_context()))
    assert report.coverage_gaps == []
    techniques = sorted(p.name for p in STRATUS.glob("*.json"))
    assert len(techniques) >= 30
    fired = {name: sorted(f.rule_id for f in report.findings if f.location.file == name) for name in techniques}
    assert fired == {name: EXPECTED.get(name, []) for name in techniques}


def test_a_benign_corpus_raises_no_alert(tmp_path: Path) -> None:
    write_cloudtrail_export(tmp_path / "trail", benign_cloudtrail(3000, seed=7))
    write_dns(tmp_path / "resolver.jsonl", benign_dns(500, seed=7))
    write_flows(tmp_path / "flows.log", benign_flows(500, seed=7))
    report = detect([tmp_path], DetectSettings(context=load_context()))
    assert report.coverage_gaps == []
    assert len(report.scanned_files) >= 6
    assert [(f.rule_id, f.message) for f in report.findings] == []
