"""``lambdasec baseline create``, ``lambdasec render`` and ``lambdasec diff``: a scan's results in a pipeline
(docs/configuration.md). Imports only click at load time."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..cli import EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE, output_options, scan_input_options
from ..pipeline import DEFAULT_BASELINE, DEFAULT_HISTORY


def _fail(message: str) -> None:
    click.echo(f"lambdasec: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def load_report(path: Path) -> Any:
    """A saved JSON report (lambdasec scan -f json), or exit 2."""
    from ..reporters.json_report import ReportFormatError, load

    try:
        return load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read report {path}: {getattr(exc, 'strerror', None) or exc}")
    except ReportFormatError as exc:
        _fail(f"cannot read report {path}: {exc}")
    raise AssertionError("unreachable")


@click.group("baseline")
def baseline() -> None:
    """Baselines: accept the current findings so that only new ones fail a pipeline (scan --baseline FILE)."""


@baseline.command("create")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path(DEFAULT_BASELINE),
              show_default=True, help="The baseline file to write ('-': standard output).")
@click.option("--from-report", type=click.Path(dir_okay=False, path_type=Path),
              help="Take the findings of a saved JSON report (lambdasec scan -f json) instead of scanning.")
@scan_input_options
def create(paths: tuple[Path, ...], output: Path, from_report: Path | None, live: dict[str, Any],
           **inputs: Any) -> None:
    """Write the fingerprints of the current findings (suppressed ones excluded) to a baseline file. It takes the
    scan's options; exit 3 (file written all the same) when the scan was incomplete."""
    from .. import cli
    from ..config import ConfigError
    from ..pipeline.baseline import dumps

    now = cli._now()
    if from_report is not None:
        if paths or live["aws"]:
            _fail("give PATHS (or --aws) to scan, or --from-report, not both")
        report = load_report(from_report)
    else:
        try:
            cli.check_live_arguments(live, paths)
            report, _ = cli.run_scan(paths, live, cli.scan_settings(inputs, now))
        except (ConfigError, KeyError, cli.LiveError) as exc:
            _fail(str(exc).strip("'"))
    text = dumps(report, now)
    cli._emit(text, None if str(output) == "-" else output)
    count = len(json.loads(text)["findings"])
    click.echo(f"lambdasec: baseline {output}: {count} finding(s)", err=True)
    for gap in report.coverage_gaps:
        click.echo(f"lambdasec: coverage gap: {gap.location.display()}: {gap.message}", err=True)
    sys.exit(EXIT_INCOMPLETE if report.incomplete else EXIT_OK)


@click.command("render")
@click.argument("report_file", type=click.Path(dir_okay=False, path_type=Path))
@output_options
@click.option("--show-suppressed", is_flag=True, help="List suppressed (and baselined) findings too (table output).")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Colour the table output (NO_COLOR is honoured in auto mode).")
def render(report_file: Path, fmt: tuple[str, ...], output: Path | None, output_dir: Path | None,
           show_suppressed: bool, color: str) -> None:
    """Render a saved JSON report (lambdasec scan -f json, or detect) in other formats, without scanning again."""
    from .. import cli
    from ..config import ConfigError

    try:
        plan = cli.plan_outputs(fmt, output, output_dir)
    except ConfigError as exc:
        _fail(str(exc))
    report = load_report(report_file)
    cli.write_reports(report, cli.report_rules(report), plan, output_dir=output_dir, color=color,
                      show_suppressed=show_suppressed, gaps_on_stderr=False)
    sys.exit(EXIT_OK)


@click.command("diff")
@click.argument("targets", nargs=-1, metavar="[RUN_A RUN_B | OLD.json NEW.json]")
@click.option("--history", "history_file", type=click.Path(dir_okay=False, path_type=Path),
              default=Path(DEFAULT_HISTORY), show_default=True, help="The history file (scan --history FILE).")
@click.option("--list", "list_runs", is_flag=True, help="List the runs of the history.")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the result to FILE.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
def diff(targets: tuple[str, ...], history_file: Path, list_runs: bool, fmt: str, output: Path | None,
         color: str) -> None:
    """New, fixed and persisting findings between two runs of a history (default: the last two; ids from
    --list), or between two saved JSON reports."""
    from .. import cli
    from ..pipeline import history as hist

    try:
        if list_runs:
            if targets:
                _fail("--list takes no RUN")
            with hist.open_existing(history_file) as db:
                runs = db.runs()
            cli._emit(hist.runs_json(runs) if fmt == "json" else hist.runs_table(runs, _color(color, output)), output)
            sys.exit(EXIT_OK)
        if len(targets) == 2 and all(Path(t).is_file() and not t.isdigit() for t in targets):
            before, after = load_report(Path(targets[0])), load_report(Path(targets[1]))
            labels = [{"report": targets[0], "tool_version": before.tool_version},
                      {"report": targets[1], "tool_version": after.tool_version}]
            result = hist.diff(hist.entries(before), hist.entries(after))
        elif len(targets) in (0, 2):
            with hist.open_existing(history_file) as db:
                runs = _chosen_runs(db, targets)
                result = hist.diff(db.entries(runs[0].id), db.entries(runs[1].id))
            labels = [run.to_dict() for run in runs]
        else:
            _fail("give two runs (ids from `lambdasec diff --list`) or two JSON reports, or nothing for the last "
                  "two runs")
    except hist.HistoryError as exc:
        _fail(str(exc))
    text = hist.diff_json(result, *labels) if fmt == "json" else hist.diff_table(result, *labels,
                                                                                   color=_color(color, output))
    cli._emit(text, output)
    sys.exit(EXIT_OK)


def _color(mode: str, output: Path | None) -> bool:
    from ..cli import _use_color

    return output is None and _use_color(mode, sys.stdout.isatty())


def _chosen_runs(db: Any, targets: tuple[str, ...]) -> list[Any]:
    from ..pipeline.history import HistoryError

    if targets:
        if not all(t.isdigit() for t in targets):
            missing = next(t for t in targets if not t.isdigit())
            raise HistoryError(f"{missing}: neither a run id nor a JSON report file")
        return [db.run(int(t)) for t in targets]
    runs = db.runs()
    if len(runs) < 2:
        raise HistoryError(f"{db.path} has {len(runs)} run(s): a diff needs two")
    return list(runs[-2:])
