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


def _advanced(steps: Steps) -> int:
    return sum(n for kind, n in steps.events if kind == "advance")  # type: ignore[misc]


def _functions(count: int) -> str:
    return "Resources:\n" + "".join(f"""\
  Fn{i}:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: arn:aws:iam::123456789012:role/r
      Code: {{ZipFile: "def handler(e, c):\\n    return {i}\\n"}}
""" for i in range(count))


def test_a_scan_reports_one_step_per_package_it_reads(tmp_path: Path) -> None:
    from lambdasec.engine import ScanSettings, scan

    from .conftest import FIXTURE_CLOCK

    (tmp_path / "template.yaml").write_text(_functions(3))
    steps = Steps()
    scan([tmp_path], ScanSettings(now=FIXTURE_CLOCK), progress=steps)
    assert steps.events[0] == ("start", (3, "reading the code of 3 function(s), layer(s) and package(s)"))
    assert steps.events[-1] == ("finish", None)
    assert _advanced(steps) == 3


def test_packages_read_in_the_forked_rule_process_still_advance_the_bar(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from lambdasec import engine

    from .conftest import FIXTURE_CLOCK

    monkeypatch.setattr(engine, "_can_fork", lambda: True)  # the emulator's thread may run in this session
    forks: list[int] = []
    real = engine._run_forked
    monkeypatch.setattr(engine, "_run_forked", lambda *args: forks.append(1) or real(*args))
    count = engine.PARALLEL_RULES_MIN_FUNCTIONS
    (tmp_path / "template.yaml").write_text(_functions(count))
    steps = Steps()
    engine.scan([tmp_path], engine.ScanSettings(now=FIXTURE_CLOCK, workers=2), progress=steps)
    assert forks == [1]
    assert steps.events[0] == ("start", (count, f"reading the code of {count} function(s), layer(s) and package(s)"))
    assert steps.events[-1] == ("finish", None)
    assert _advanced(steps) == count  # relayed from the child, one byte per package


def test_no_bar_when_no_rule_reads_code(tmp_path: Path) -> None:
    from lambdasec.engine import ScanSettings, scan

    from .conftest import FIXTURE_CLOCK

    (tmp_path / "template.yaml").write_text(_functions(2))
    steps = Steps()
    scan([tmp_path], ScanSettings(now=FIXTURE_CLOCK, rules=("EXP001",)), progress=steps)
    assert steps.events == []


def test_the_scan_command_draws_the_package_bar_on_a_terminal(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from lambdasec import progress
    from lambdasec.cli import main

    (tmp_path / "template.yaml").write_text(_functions(2))
    monkeypatch.setattr(progress, "_is_terminal", lambda stream: True)
    shown = CliRunner().invoke(main, ["scan", str(tmp_path), "-f", "json"])
    assert "reading the code of 2 function(s), layer(s) and package(s)" in shown.stderr
    assert "reading the code" not in shown.stdout
    hidden = CliRunner().invoke(main, ["scan", str(tmp_path), "-f", "json", "--no-progress"])
    assert "reading the code" not in hidden.stderr
