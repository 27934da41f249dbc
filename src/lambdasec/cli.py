"""Command line: a thin layer over the library (scan, rules, explain)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from . import __version__
from .commands.live import LiveError, check_live_arguments, live_scan_options  # click only: no boto3
from .reporters import FORMATS  # names only: each reporter is imported when it renders

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3
SEVERITIES = ("critical", "high", "medium", "low", "info")


def _use_color(mode: str, stream_is_tty: bool) -> bool:
    if mode == "always":
        return True
    if mode == "never" or os.environ.get("NO_COLOR"):
        return False
    return stream_is_tty


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False, color=True)  # colour was decided already; don't let click strip it
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.UsageError(f"cannot write {output}: {exc.strerror}") from None


def exit_code(report: object, fail_on: str) -> int:
    """3 when the scan was incomplete, else 1 when a reported finding is at or above fail_on, else 0."""
    from .model.findings import Report, Severity

    assert isinstance(report, Report)
    if report.incomplete:
        return EXIT_INCOMPLETE
    if fail_on == "none":
        return EXIT_OK
    threshold = Severity.parse(fail_on)
    return EXIT_FINDINGS if any(f.severity >= threshold for f in report.findings) else EXIT_OK


class _Commands(click.Group):
    """Commands kept in their own modules are imported only when they run (or for --help): `lambdasec scan`
    does not pay for them."""

    _elsewhere = {"sbom": ("lambdasec.commands.sbom", "sbom"), "layers": ("lambdasec.commands.layers", "layers"),
                  "collect": ("lambdasec.commands.live", "collect"), "merge": ("lambdasec.commands.live", "merge"),
                  "permissions": ("lambdasec.commands.live", "permissions"),
                  "detect": ("lambdasec.commands.detect", "detect"),
                  "baseline": ("lambdasec.commands.pipeline", "baseline"),
                  "render": ("lambdasec.commands.pipeline", "render"),
                  "diff": ("lambdasec.commands.pipeline", "diff")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._elsewhere})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._elsewhere:
            import importlib

            module, name = self._elsewhere[cmd_name]
            command: click.Command = getattr(importlib.import_module(module), name)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lambdasec")
@click.option("-v", "--verbose", count=True,
              help="Log what lambdasec does to stderr (-v: steps, -vv: details). Findings' values are never logged.")
def main(verbose: int = 0) -> None:
    """lambdasec: find, explain and fix the security weaknesses of AWS Lambda functions."""
    # One command per process, building many long-lived objects from its first import on (modules, templates,
    # the inventory): the cycle collector's default pace would walk them again and again (engine.fewer_gc_passes).
    import gc

    gc.set_threshold(100_000, 50, 100)
    if verbose:
        configure_logging(verbose)


def configure_logging(verbose: int, stream: Any = None) -> None:
    """lambdasec's own loggers to stderr: INFO with -v, DEBUG with -vv (other libraries stay at WARNING)."""
    import logging

    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(logging.Formatter("lambdasec: %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("lambdasec")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
    logger.propagate = False


def run() -> None:
    """The ``lambdasec`` command: :func:`main`, then a hard exit once the output is flushed.

    A large scan leaves millions of objects that the interpreter would free one by one at exit (about 0.1 s
    for a few hundred templates) for nothing: the process is ending. mypy leaves the same way. Library callers
    and tests call :func:`main` itself, which returns or raises SystemExit as usual.
    """
    try:
        main()
        status: object = 0
    except SystemExit as exc:
        status = exc.code
    code = _exit_status(status)
    try:
        sys.stdout.flush()
    except (OSError, ValueError):  # a closed pipe (`lambdasec ... | head`): nothing more can be written
        code = code or 1
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)


def _exit_status(status: object) -> int:
    if status is None:
        return 0
    if isinstance(status, int):
        return status
    click.echo(str(status), err=True)  # SystemExit("message") prints it and exits 1, as the interpreter does
    return 1


# Files written by --output-dir: DIR/lambdasec.<extension>.
_EXTENSIONS = {"table": "txt", "markdown": "md", "junit": "junit.xml", "asff": "asff.json", "ocsf": "ocsf.json"}


def _now() -> dt.datetime:
    """The command line's clock (tests replace it): the scan's "now", baseline and history times."""
    return dt.datetime.now(dt.timezone.utc)


def output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """-f (repeatable), -o FILE and --output-dir DIR: the command receives ``fmt`` (a tuple of formats), ``output``
    and ``output_dir``."""
    options = [
        click.option("-f", "--format", "fmt", multiple=True, type=click.Choice(FORMATS),
                     help="Output format (default: table). Repeatable with --output-dir."),
        click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write the report to FILE (one format)."),
        click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path),
                     help="Write one file per format in DIR: lambdasec.json, lambdasec.sarif, lambdasec.txt "
                          "(table)..."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def scan_input_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """What to scan and how (PATHS, rule selection, thresholds, config, reading limits, live accounts): shared by
    `scan` and `baseline create`. The command receives ``paths``, ``live`` and the rest as keyword arguments."""
    options = [
        click.argument("paths", nargs=-1, type=click.Path(path_type=Path)),
        click.option("--severity", type=click.Choice(SEVERITIES), default=None,
                     help="Report only findings at or above this severity."),
        click.option("--min-confidence", type=click.Choice(["high", "medium", "low"]), default=None,
                     help="Report only findings at or above this confidence."),
        click.option("--rule", "rules", multiple=True, metavar="ID",
                     help="Run only this rule (code or slug); repeatable."),
        click.option("--skip-rule", "skip_rules", multiple=True, metavar="ID", help="Skip this rule; repeatable."),
        click.option("--relative-to", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
                     help="Give locations relative to DIR (e.g. the repository root), not to each named file's own "
                          "directory: two changed template.yaml files stay apart, and fingerprints match a "
                          "baseline made at DIR."),
        click.option("--tf-module-dirs", is_flag=True,
                     help="Read a named .tf file with the rest of its directory (its Terraform module), where its "
                          "function's role may be declared."),
        click.option("--config", "config_file", type=click.Path(path_type=Path),
                     help="Config file (default: .lambdasec.toml, else [tool.lambdasec] in pyproject.toml)."),
        click.option("-j", "--jobs", type=click.IntRange(min=0), default=0,
                     help="Processes reading files in parallel (default 0: one per CPU, at most 4)."),
        click.option("--no-cache", is_flag=True,
                     help="Do not read or write the SAM translation cache ($LAMBDASEC_CACHE_DIR, else "
                          "~/.cache/lambdasec)."),
        click.option("--sam-expander", type=click.Choice(["native", "official"]), default="native",
                     show_default=True,
                     help="Expand SAM with lambdasec's native expander (aws-sam-translator for features it does not "
                          "reproduce) or always with aws-sam-translator."),
        click.option("--scan-all-files", is_flag=True,
                     help="Look for secrets in third-party files too (unmodified files of installed Python "
                          "distributions and node_modules packages are skipped by default)."),
        click.option("--lock", "layer_lock", type=click.Path(dir_okay=False, path_type=Path),
                     help="Layer lock file to verify layers against (default: lambdasec.lock in a scanned "
                          "directory)."),
        click.option("--max-archive-bytes", type=click.IntRange(min=0), metavar="N",
                     help="Uncompressed bytes read from one package or layer (default 1 GiB)."),
        click.option("--max-archive-file-bytes", type=click.IntRange(min=0), metavar="N",
                     help="Bytes read from one file of a package (default 64 MiB)."),
        click.option("--max-archive-ratio", type=click.FloatRange(min=0), metavar="R",
                     help="Compression ratio above which a zip entry is not read (default 100)."),
        click.option("--max-archive-entries", type=click.IntRange(min=0), metavar="N",
                     help="Entries listed in one package (default 100,000)."),
        click.option("--max-archive-depth", type=click.IntRange(min=0), metavar="N",
                     help="Zips inside zips read this deep (default 2)."),
    ]
    command = live_scan_options(command)
    for option in reversed(options):
        command = option(command)
    return command


@main.command()
@output_options
@click.option("--fail-on", type=click.Choice([*SEVERITIES, "none"]), default=None,
              help="Exit 1 when a reported finding is at or above this severity (default: low).")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Baseline file (lambdasec baseline create): its findings are reported as baselined and do not "
                   "count for --fail-on.")
@click.option("--history", "history_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Record this run's findings in this SQLite file (compare runs with lambdasec diff).")
@click.option("--show-suppressed", is_flag=True, help="List suppressed (and baselined) findings too (table output).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing for the table format; rely on the exit code.")
@click.option("--quiet-on-success", is_flag=True,
              help="Print nothing when the scan passes (exit 0); print the report as usual when it does not "
                   "(for pre-commit hooks).")
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr (it shows only on a terminal).")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Colour the table output (NO_COLOR is honoured in auto mode).")
@scan_input_options
def scan(
    paths: tuple[Path, ...], fmt: tuple[str, ...], output: Path | None, output_dir: Path | None,
    fail_on: str | None, baseline_file: Path | None, history_file: Path | None, show_suppressed: bool, quiet: bool,
    quiet_on_success: bool, no_progress: bool, color: str, live: dict[str, Any], **inputs: Any,
) -> None:
    """Scan CloudFormation, SAM, Terraform and Serverless Framework files or directories (default: .), or live
    AWS accounts with --aws (read-only; docs/live.md)."""
    from .config import ConfigError

    now = _now()
    stats: dict[str, Any] | None = None
    history = None
    try:
        plan = plan_outputs(fmt, output, output_dir)
        check_live_arguments(live, paths)
        settings = scan_settings(inputs, now)
        config = settings.config
        effective_fail_on = fail_on or config.fail_on or "low"
        if effective_fail_on not in (*SEVERITIES, "none"):
            raise ConfigError(f"invalid fail_on in config: {effective_fail_on}")
        baseline = _load_baseline(baseline_file)
        history = _open_history(history_file)
        report, stats = run_scan(paths, live, settings, progress=not no_progress)
        if baseline is not None:
            from .pipeline.baseline import apply

            apply(report, baseline)
        if history is not None:
            history.record(report, command="scan", now=now)
    except (ConfigError, KeyError, LiveError) as exc:
        click.echo(f"lambdasec: error: {str(exc).strip(chr(39))}", err=True)
        sys.exit(EXIT_USAGE)
    finally:
        if history is not None:
            history.close()
    code = exit_code(report, effective_fail_on)
    write_reports(report, report_rules(report), plan, output_dir=output_dir,
                  quiet=quiet or (quiet_on_success and code == EXIT_OK), color=color,
                  show_suppressed=show_suppressed, stats=stats, show_stats=bool(live["show_stats"]))
    sys.exit(code)


def plan_outputs(formats: tuple[str, ...], output: Path | None, output_dir: Path | None
                 ) -> list[tuple[str, Path | None]]:
    """(format, file) pairs: one format to stdout or -o FILE, or every format into --output-dir."""
    from .config import ConfigError

    chosen = tuple(dict.fromkeys(formats)) or ("table",)
    if output_dir is not None:
        if output is not None:
            raise ConfigError("give -o FILE (one format) or --output-dir DIR (one file per format), not both")
        return [(fmt, output_dir / f"lambdasec.{_extension(fmt)}") for fmt in chosen]
    if len(chosen) > 1:
        raise ConfigError("several formats need --output-dir DIR (one file per format)")
    return [(chosen[0], output)]


def write_reports(report: Any, rules: Sequence[Any], plan: list[tuple[str, Path | None]], *,
                  output_dir: Path | None = None, quiet: bool = False, color: str = "never",
                  show_suppressed: bool = False, stats: dict[str, Any] | None = None, show_stats: bool = False,
                  gaps_on_stderr: bool = True) -> None:
    """Render the report in every planned format. One format: to stdout or -o FILE, as `scan` always did.
    With --output-dir: every file written (-q silences only stdout), the coverage gaps on stderr."""
    from .engine import fewer_gc_passes
    from .reporters import render

    single = output_dir is None
    if output_dir is not None:
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise click.UsageError(f"cannot create {output_dir}: {exc.strerror}") from None
    stats_shown = False
    for fmt, target in plan:
        if single and quiet and fmt == "table":
            continue
        is_tty = target is None and sys.stdout.isatty()
        with fewer_gc_passes():  # the inventory is still alive: a collection would walk all of it again
            text = render(fmt, report, rules, color=_use_color(color, is_tty) and target is None,
                          show_suppressed=show_suppressed)
        if show_stats and (single or fmt == "json"):  # JSON gets a `stats` object, the others a table on stderr
            from .commands.live import live_output

            text = live_output(text, fmt, stats)
            stats_shown = True
        _emit(text, target)
    if show_stats and not stats_shown:
        from .commands.live import live_output

        live_output("", "table", stats)
    if gaps_on_stderr and not (single and plan[0][0] == "table"):
        for gap in report.coverage_gaps:
            where = gap.location.display()
            prefix = "" if gap.message.startswith(where) else f"{where}: "  # log gaps name their file already
            click.echo(f"lambdasec: coverage gap: {prefix}{gap.message}", err=True)


def scan_settings(inputs: Mapping[str, Any], now: dt.datetime | None) -> Any:
    """The engine's settings from the scan options and the config file (flags > config file > defaults)."""
    from .collectors.cloudformation.sam_cache import default_cache_dir
    from .config import load_config
    from .engine import ScanSettings, severity_overrides
    from .model.findings import Confidence, Severity
    from .rules.registry import all_rules

    config = load_config(inputs["config_file"], Path.cwd())
    if config.severity_overrides:
        severity_overrides(config, all_rules())  # an unknown rule is a usage error before any work
    return ScanSettings(
        rules=inputs["rules"], skip_rules=inputs["skip_rules"],
        min_severity=Severity.parse(inputs["severity"] or config.severity or "info"),
        min_confidence=Confidence.parse(inputs["min_confidence"] or config.min_confidence or "low"),
        config=config, now=now, workers=inputs["jobs"] or min(os.cpu_count() or 1, 4),
        cache_dir=None if inputs["no_cache"] else str(default_cache_dir()), sam_expander=inputs["sam_expander"],
        relative_to=str(inputs["relative_to"]) if inputs.get("relative_to") else None,
        tf_module_dirs=bool(inputs.get("tf_module_dirs")),
        rule_options=_package_options(config.rule_options, inputs["scan_all_files"], inputs["layer_lock"], {
            "max_total_bytes": inputs["max_archive_bytes"], "max_file_bytes": inputs["max_archive_file_bytes"],
            "max_ratio": inputs["max_archive_ratio"], "max_entries": inputs["max_archive_entries"],
            "max_depth": inputs["max_archive_depth"],
        }),
    )


def run_scan(paths: tuple[Path, ...], live: Mapping[str, Any], settings: Any,
             progress: bool = True) -> tuple[Any, dict[str, Any] | None]:
    """The report (and a live scan's call counts) of the files, or of the accounts with --aws (with a progress
    bar on stderr when it is a terminal and ``progress``)."""
    from .progress import terminal_progress

    bar = terminal_progress(enabled=progress)
    if live["aws"]:
        from .commands.live import options_from_cli, scan_live

        return scan_live(options_from_cli(live), settings, progress=bar)
    from .engine import scan as scan_files

    return scan_files(list(paths) or [Path(".")], settings, progress=bar), None


def report_rules(report: Any = None) -> list[Any]:
    """The rules a report's findings may come from: the registry, CFG001 when the report has an expired ignore,
    and the detection catalogue when it has log detections (a saved report given to `render`)."""
    from .rules.registry import all_rules

    rules: list[Any] = list(all_rules())
    codes = {f.rule_id for f in (*report.findings, *report.suppressed, *report.baselined)} if report else set()
    if "CFG001" in codes:
        from .pipeline.notices import EXPIRED_SUPPRESSION

        rules.append(EXPIRED_SUPPRESSION)
    if codes - {rule.code for rule in rules}:
        from .detections.catalogue import all_detections

        rules.extend(all_detections())
    return rules


def _load_baseline(path: Path | None) -> Any:
    if path is None:
        return None
    from .pipeline.baseline import load

    return load(path)


def _open_history(path: Path | None) -> Any:
    if path is None:
        return None
    from .pipeline.history import History

    return History(path)


def _extension(fmt: str) -> str:
    return _EXTENSIONS.get(fmt, fmt)


def _package_options(configured: Mapping[str, Any], scan_all_files: bool, layer_lock: Path | None,
                     limits: Mapping[str, int | float | None]) -> dict[str, Any]:
    """Options of the package rules from the command line, over the config file's (limits merged key by key)."""
    from .config import ConfigError

    options: dict[str, Any] = {}
    if scan_all_files:
        options["secrets_all_files"] = True
    if layer_lock is not None:
        if not layer_lock.is_file():
            raise ConfigError(f"lock file not found: {layer_lock}")
        options["layer_lock"] = str(layer_lock)
    given = {key: value for key, value in limits.items() if value is not None}
    if given:
        options["archive_limits"] = {**configured.get("archive_limits", {}), **given}
    return options


@main.command("rules")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_rules(fmt: str) -> None:
    """List every rule with its code, slug, severity and category."""
    from .rules.registry import all_rules

    rules = all_rules()
    if fmt == "json":
        import json

        from .docs import rule_to_dict

        click.echo(json.dumps([rule_to_dict(r) for r in rules], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False)
    for column in ("code", "slug", "severity", "confidence", "category", "title"):
        table.add_column(column)
    for r in rules:
        table.add_row(r.code, r.slug, r.severity.label, r.confidence.label, r.category, r.title)
    Console(width=160).print(table)


@main.command()
@click.argument("rule_id")
def explain(rule_id: str) -> None:
    """Explain a rule (code or slug): why it matters, how to fix it, examples."""
    from .docs import rule_markdown
    from .rules.registry import find_rule

    rule = find_rule(rule_id)
    if rule is None and rule_id.strip().upper() in ("CFG001", "EXPIRED-SUPPRESSION"):  # the configuration's notice
        from .pipeline.notices import EXPIRED_SUPPRESSION

        rule = EXPIRED_SUPPRESSION
    if rule is None:
        detection = _find_detection(rule_id)
        if detection is None:
            click.echo(f"lambdasec: error: unknown rule {rule_id} (see `lambdasec rules`)", err=True)
            sys.exit(EXIT_USAGE)
        click.echo(detection, nl=False)
        return
    click.echo(rule_markdown(rule), nl=False)


def _find_detection(wanted: str) -> str | None:
    """The documentation of a log detection (DET001, or its slug), or None."""
    if not wanted.upper().startswith("DET") and "-" not in wanted:
        return None
    from .detections.catalogue import all_detections
    from .detections.docs import detection_markdown, expected_alerts

    for detection in all_detections():
        if wanted.upper() == detection.code or wanted.lower() == detection.slug:
            return detection_markdown(detection, expected_alerts())
    return None


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the result to FILE.")
@click.option("--handler", metavar="MODULE.FUNCTION",
              help="The handler, when PATH is a code directory or zip (e.g. app.lambda_handler).")
@click.option("--function", "functions", multiple=True, metavar="ID",
              help="Only this function of the templates; repeatable.")
def policy(path: Path, fmt: str, output: Path | None, handler: str | None, functions: tuple[str, ...]) -> None:
    """Print the least-privilege IAM policy a function's code needs, read statically (never run).

    PATH is a function's code (a directory or a zip) or templates (CloudFormation/SAM, Terraform, serverless.yml):
    then every function's code is found through its template, and the policy is compared with its role.
    Exit 3 when some permission may be missing from the result (code not found, a file not parsed, calls
    lambdasec cannot map).
    """
    from .analysis.policy_report import PolicyInputError, build, render

    try:
        result = build(path, handler, functions)
    except PolicyInputError as exc:
        click.echo(f"lambdasec: error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    _emit(render(fmt, result), output)
    sys.exit(EXIT_INCOMPLETE if result.incomplete else EXIT_OK)

