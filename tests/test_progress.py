"""Progress bars: on stderr only when it is a terminal, off with --no-progress, colourless under NO_COLOR; the
library's long loops report their steps."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from lambdasec.progress import SILENT, terminal_progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Steps:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def start(self, total: int, what: str) -> None:
        self.events.append(("start", (total, what)))

    def advance(self, count: int = 1) -> None:
        self.events.append(("advance", count))

    def finish(self) -> None:
        self.events.append(("finish", None))


def test_bars_only_on_a_terminal_and_only_when_wanted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert terminal_progress(stream=io.StringIO()) is SILENT  # a pipe or a CI log
    assert terminal_progress(stream=Terminal(), enabled=False) is SILENT  # --no-progress
    stream = Terminal()
    bar = terminal_progress(stream=stream)
    bar.start(4, "reading 4 log file(s)")
    bar.advance(4)
    bar.finish()
    assert "reading 4 log file(s)" in stream.getvalue() and "\x1b[" in stream.getvalue()


def test_no_color_draws_without_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    stream = Terminal()
    bar = terminal_progress(stream=stream)
    bar.start(1, "reading")
    bar.advance()
    bar.finish()
    assert "reading" in stream.getvalue() and "\x1b[3" not in stream.getvalue()  # no colour codes


def test_a_hunt_reports_one_step_per_log_file(tmp_path: Path) -> None:
    pytest.importorskip("duckdb", reason="lambdasec detect's default engine")
    from lambdasec.detections.context import DetectContext
    from lambdasec.detections.runner import DetectSettings, detect

    fixtures = Path(__file__).parents[1] / "src" / "lambdasec" / "detections" / "fixtures"
    records = json.loads((fixtures / "DET001.fire.json").read_text())
    (tmp_path / "a.json").write_text(json.dumps({"Records": records}))
    (tmp_path / "b.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (tmp_path / "flows.log").write_text((fixtures / "DET031.fire.flows.log").read_text())
    steps = Steps()
    detect([tmp_path], DetectSettings(context=DetectContext(), progress=steps))
    assert steps.events[0] == ("start", (3, "reading 3 log file(s)")) and steps.events[-1] == ("finish", None)
    assert sum(n for kind, n in steps.events if kind == "advance") == 3  # type: ignore[misc]
