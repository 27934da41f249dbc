"""docs/detections.md's catalogue is generated from the detections; it must be current."""

from __future__ import annotations

from pathlib import Path

from lambdasec.detections.docs import rewrite

PAGE = Path(__file__).parents[2] / "docs" / "detections.md"


def test_the_catalogue_page_is_current() -> None:
    text = PAGE.read_text(encoding="utf-8")
    assert rewrite(text) == text, "run: python -m lambdasec.detections.docs docs/detections.md"
