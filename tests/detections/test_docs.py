"""docs/detections.md's catalogue is generated from the detections; it must be current."""

from __future__ import annotations

from pathlib import Path

from lambdasec.detections.docs import rewrite

PAGE = Path(__file__).parents[2] / "docs" / "detections.md"


def test_the_catalogue_page_is_current() -> None:
    text = PAGE.read_text(encoding="utf-8")
    assert rewrite(text) == text, "run: python -m lambdasec.detections.docs docs/detections.md"


def test_explain_knows_the_detections() -> None:
    from click.testing import CliRunner

    from lambdasec.cli import main

    result = CliRunner().invoke(main, ["explain", "DET003"])
    assert result.exit_code == 0
    assert result.output.startswith("### DET003 function-invokable-by-everyone: Function made invokable by everyone")
    assert CliRunner().invoke(main, ["explain", "mining-pool-dns"]).output.startswith("### DET030 ")
    assert CliRunner().invoke(main, ["explain", "DET999"]).exit_code == 2
