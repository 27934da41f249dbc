"""Every detection fires on its fixture exactly as EXPECTED.json says, and stays quiet on its near misses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("duckdb", reason="lambdasec detect's default engine")

from lambdasec.detections.catalogue import all_detections  # noqa: E402
from lambdasec.detections.context import load_context  # noqa: E402
from lambdasec.detections.runner import DetectSettings, detect  # noqa: E402

FIXTURES = Path(__file__).parents[2] / "src" / "lambdasec" / "detections" / "fixtures"
EXPECTED: dict[str, list[dict[str, Any]]] = json.loads((FIXTURES / "EXPECTED.json").read_text())
FILES = sorted(name for name in EXPECTED)


def run(paths: list[Path], **context: Any) -> Any:
    settings = DetectSettings(context=load_context(threat_files=[FIXTURES / "threat_ips.txt"], **context))
    return detect(paths, settings)


def alerts(report: Any) -> list[dict[str, Any]]:
    return sorted(({"code": f.rule_id, "event_ids": f.evidence["event_ids"], "severity": f.severity.label,
                    "failed": f.evidence["failed"]} for f in report.findings),
                  key=lambda a: (a["code"], a["event_ids"]))


@pytest.mark.parametrize("name", FILES)
def test_fixture(name: str) -> None:
    report = run([FIXTURES / name])
    assert report.coverage_gaps == []
    expected = sorted(EXPECTED[name], key=lambda a: (a["code"], a["event_ids"]))
    assert alerts(report) == expected


def test_every_detection_has_fire_and_benign_fixtures() -> None:
    for detection in all_detections():
        names = [n for n in FILES if n.startswith(detection.code + ".")]
        assert any(".fire." in n for n in names) and any(".benign." in n for n in names), detection.code
        fired = {a["code"] for n in names if ".fire." in n for a in EXPECTED[n]}
        assert detection.code in fired


def test_alerts_carry_time_account_region_actor_address_function_and_event_ids() -> None:
    report = run([FIXTURES / "DET020.fire.json"])
    finding = report.findings[0]
    assert set(finding.evidence) == {"time", "account", "region", "actor", "source_ip", "function", "event_ids",
                                     "failed", "tactic", "technique", "data_source"}
    assert finding.evidence["function"] == "orders" and finding.evidence["account"] == "111122223333"
    assert finding.location.file == "DET020.fire.json" and finding.category == "threat"
