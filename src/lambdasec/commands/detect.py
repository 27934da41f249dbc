"""``lambdasec detect``: the threat detections over logs (docs/detections.md). Imports only click at load time."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

SEVERITIES = ("critical", "high", "medium", "low", "info")
FORMATS = ("table", "json", "sarif", "html", "junit", "csv", "markdown", "asff", "ocsf")  # reporters.FORMATS


@click.command("detect")
@click.argument("paths", nargs=-1)
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True,
              help="Query engine: embedded DuckDB, or Apache Spark (pip install 'lambdasec[spark]', Java 17+).")
@click.option("--db", "database", type=click.Path(dir_okay=False, path_type=Path),
              help="DuckDB database file kept between hunts: logs already loaded are not read again.")
@click.option("--spark-master", default="local[*]", show_default=True, help="Spark master URL (--engine spark).")
@click.option("--inventory", "inventories", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="A snapshot (lambdasec collect) or IaC paths: function names, roles and their privilege, "
                   "subnets of VPC functions. Repeatable.")
@click.option("--aws-ranges", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="AWS's ip-ranges.json, instead of the copy shipped with lambdasec.")
@click.option("--mining-domains", "mining_files", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="More mining-pool domains, one per line. Repeatable.")
@click.option("--threat-list", "threat_files", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="IPv4 addresses or CIDRs of known attacker infrastructure, one per line. Repeatable.")
@click.option("--deployer", "deployers", multiple=True, metavar="ARN",
              help="A principal that deploys by calling Lambda directly (ARN, '*' wildcards): its changes are "
                   "not reported. Repeatable.")
@click.option("--detection", "detections", multiple=True, metavar="ID", help="Run only this detection; repeatable.")
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), multiple=True,
              help="Output format (default table); repeatable with --output-dir.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the report to FILE.")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write one file per format (lambdasec.<ext>) into DIR.")
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr (it shows only on a terminal).")
@click.option("--fail-on", type=click.Choice([*SEVERITIES, "none"]), default="low", show_default=True,
              help="Exit 1 when an alert is at or above this severity.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing for the table format; rely on the exit code.")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Baseline file (lambdasec baseline create --from-report): its alerts are reported as baselined "
                   "and do not count for --fail-on.")
@click.option("--history", "history_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Record this run's alerts in this SQLite file (compare runs with lambdasec diff).")
def detect(paths: tuple[str, ...], engine: str, database: Path | None, spark_master: str,
           inventories: tuple[Path, ...], aws_ranges: Path | None, mining_files: tuple[Path, ...],
           threat_files: tuple[Path, ...], deployers: tuple[str, ...], detections: tuple[str, ...],
           fmt: tuple[str, ...], output: Path | None, output_dir: Path | None, no_progress: bool, fail_on: str,
           color: str, quiet: bool, baseline_file: Path | None, history_file: Path | None) -> None:
    """Hunt for attacks on Lambda in CloudTrail logs, VPC flow logs, Route 53 Resolver query logs and GuardDuty
    findings (files or folders, gzip or not; with --engine spark also s3a:// and other Hadoop URIs of CloudTrail
    exports)."""
    from ..cli import (
        EXIT_INCOMPLETE,
        EXIT_USAGE,
        _load_baseline,
        _now,
        _open_history,
        exit_code,
        plan_outputs,
        write_reports,
    )
    from ..config import ConfigError
    from ..detections.catalogue import all_detections
    from ..progress import terminal_progress

    if not paths and database is None:
        raise click.UsageError("give log files or folders (or --db with a database loaded before)")
    if database is not None and engine != "duckdb":
        raise click.UsageError("--db works with the DuckDB engine")
    from ..detections.spark_engine import is_remote  # pyspark itself is imported only by the Spark engine

    uris = [path for path in paths if is_remote(path)]
    if uris and engine != "spark":
        raise click.UsageError(f"{uris[0]}: URIs are read by the Spark engine (--engine spark)")
    now = _now()
    try:
        plan = plan_outputs(fmt, output, output_dir)
        baseline = _load_baseline(baseline_file)
        history = _open_history(history_file)
    except ConfigError as exc:
        click.echo(f"lambdasec: error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    try:
        settings = _settings(engine, database, spark_master, inventories, aws_ranges, mining_files, threat_files,
                             deployers, detections)
        settings.progress = terminal_progress(enabled=not no_progress)
        report = _run([Path(path) for path in paths if not is_remote(path)], uris, settings)
    except (KeyError, ValueError, OSError, ImportError) as exc:
        click.echo(f"lambdasec: error: {str(exc).strip(chr(39))}", err=True)
        sys.exit(EXIT_USAGE)
    except Exception as exc:  # noqa: BLE001  # an engine's own failure (Spark's JVM out of memory, say)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        click.echo(f"lambdasec: error: the {engine} engine failed, no result: {first}", err=True)
        sys.exit(EXIT_INCOMPLETE)
    if baseline is not None:
        from ..pipeline.baseline import apply

        apply(report, baseline)
    if history is not None:
        try:
            with history:
                history.record(report, command="detect", now=now)
        except ConfigError as exc:
            click.echo(f"lambdasec: error: {exc}", err=True)
            sys.exit(EXIT_USAGE)
    write_reports(report, all_detections(), plan, output_dir=output_dir, quiet=quiet, color=color)
    sys.exit(exit_code(report, fail_on))


def _settings(engine: str, database: Path | None, spark_master: str, inventories: tuple[Path, ...],
              aws_ranges: Path | None, mining_files: tuple[Path, ...], threat_files: tuple[Path, ...],
              deployers: tuple[str, ...], detections: tuple[str, ...]) -> Any:
    from ..detections.context import load_context
    from ..detections.runner import DetectSettings

    inventory = _inventory(inventories) if inventories else None
    context = load_context(aws_ranges_file=aws_ranges, mining_files=mining_files, threat_files=threat_files,
                           deployers=deployers, inventory=inventory)
    if inventory is not None:
        context.gaps = [*inventory.coverage_gaps, *context.gaps]
    return DetectSettings(engine=engine, database=str(database) if database else None, spark_master=spark_master,
                          detections=detections, context=context)


def _inventory(paths: tuple[Path, ...]) -> Any:
    from ..collectors.discovery import collect
    from ..collectors.options import CollectOptions

    inventory, _ = collect(list(paths), CollectOptions())
    return inventory


def _run(paths: list[Path], uris: list[str], settings: Any) -> Any:
    if uris:
        from ..detections.spark_engine import detect_remote

        return detect_remote(paths, uris, settings)
    from ..detections.runner import detect as run_detect

    return run_detect(paths, settings)
