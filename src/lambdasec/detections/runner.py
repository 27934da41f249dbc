"""Run the catalogue: logs -> engine tables -> alerts -> a :class:`Report` the existing reporters render."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from lambdasec.fast_dataclass import dataclass, field

from .. import __version__
from ..model.findings import Finding, Report, Severity
from ..model.location import Location
from ..progress import SILENT, Progress
from .context import DetectContext, register
from .engines import Engine
from .model import ALERT_COLUMNS, Detection, lower
from .pipeline import load_logs
from .sqlparts import HELPERS

_log = logging.getLogger(__name__)


@dataclass
class DetectSettings:
    engine: str = "duckdb"  # "duckdb" | "spark"
    database: str | None = None  # DuckDB file kept between hunts
    spark_master: str = "local[*]"
    detections: tuple[str, ...] = ()  # codes or slugs to run; empty: all
    context: DetectContext = field(default_factory=DetectContext)
    workdir: str | None = None
    progress: Progress = SILENT


def open_engine(settings: DetectSettings) -> Engine:
    if settings.engine == "spark":
        from .spark_engine import SparkEngine

        return SparkEngine(master=settings.spark_master)
    from .engines import DuckDBEngine

    return DuckDBEngine(settings.database)


def selected(detections: Sequence[Detection], wanted: Sequence[str]) -> list[Detection]:
    if not wanted:
        return list(detections)
    keys = {w.strip().upper() for w in wanted} | {w.strip().lower() for w in wanted}
    chosen = [d for d in detections if d.code in keys or d.slug in keys]
    unknown = keys - {d.code for d in chosen} - {d.slug for d in chosen}
    if len(chosen) < len({w.strip().lower() for w in wanted}):
        raise KeyError(f"unknown detection: {', '.join(sorted(unknown))}")
    return chosen


def detect(paths: Sequence[Path], settings: DetectSettings, engine: Engine | None = None) -> Report:
    from .catalogue import all_detections

    detections = selected(all_detections(), settings.detections)
    own = engine is None
    engine = engine or open_engine(settings)
    try:
        loaded = load_logs(engine, paths, Path(settings.workdir) if settings.workdir else None, settings.progress)
        register(engine, settings.context)
        findings = run_detections(engine, detections)
    finally:
        if own:
            engine.close()
    root = _root(paths)
    for finding in findings:  # locations are relative to the root, as in scan reports
        finding.location = Location(file=_relative(finding.location.file, root))
    return Report(findings=findings, coverage_gaps=[*loaded.gaps, *settings.context.gaps], not_evaluated=[],
                  suppressed=[], scanned_files=sorted(_relative(f, root) for f in loaded.files), root=root,
                  rules_run=[d.code for d in detections], tool_version=__version__)


def _root(paths: Sequence[Path]) -> str:
    local = [os.path.abspath(p) for p in paths if "://" not in str(p)]
    if not local:
        return os.getcwd()
    if len(local) == 1:
        return local[0] if os.path.isdir(local[0]) else os.path.dirname(local[0])
    return os.path.commonpath(local)


def _relative(path: str, root: str) -> str:
    if not path or "://" in path:
        return path
    absolute = os.path.abspath(path)
    return os.path.relpath(absolute, root) if absolute.startswith(root.rstrip(os.sep) + os.sep) else path


def build_helpers(engine: Engine) -> None:
    for name, sql in HELPERS:
        engine.execute(f"CREATE OR REPLACE TABLE {name} AS {engine.translate(sql)}")


def alerts(engine: Engine, detection: Detection) -> list[dict[str, Any]]:
    """The detection's rows as dicts, sorted (engines return rows in any order)."""
    rows = [dict(zip(ALERT_COLUMNS, row, strict=True)) for row in engine.rows(engine.translate(detection.sql))]
    for row in rows:
        ids = row["event_ids"]
        row["event_ids"] = sorted(str(ids).split(",")) if ids is not None else []
    return sorted(rows, key=lambda r: (_time_text(r["alert_time"]), r["event_ids"], str(r["detail"])))


def run_detections(engine: Engine, detections: Sequence[Detection]) -> list[Finding]:
    build_helpers(engine)
    findings = []
    for detection in detections:
        rows = alerts(engine, detection)
        _log.debug("%s: %d alert(s)", detection.code, len(rows))
        findings += [to_finding(detection, row) for row in rows]
    return sorted(findings, key=lambda f: (f.evidence["time"], f.rule_id, f.evidence["event_ids"]))


def _time_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return "" if value is None else str(value)


def to_finding(detection: Detection, row: dict[str, Any]) -> Finding:
    severity = Severity.parse(row["severity"]) if row["severity"] else detection.severity
    failed = bool(row["failed"])
    if failed:
        severity = lower(severity)
    function = row["function_name"] or ""
    time = _time_text(row["alert_time"])
    actor = row["actor"] or "unknown actor"
    where = f" from {row['source_ip']}" if row["source_ip"] else ""
    attempt = "Failed attempt: " if failed else ""
    message = f"{attempt}{row['detail']} by {actor}{where} at {time}"
    event_ids = row["event_ids"]
    fingerprint = hashlib.sha256("\x00".join([detection.code, *event_ids]).encode()).hexdigest()[:32]
    return Finding(
        rule_id=detection.code, slug=detection.slug, title=detection.title, severity=severity,
        confidence=detection.confidence, category=detection.category, message=message,
        resource_id=function or actor, resource_type="AWS::Lambda::Function" if function else "AWS::CloudTrail::Event",
        location=Location(file=str(row["file"] or "")), functions=[function] if function else [],
        function_keys=[f"{row['account'] or ''}:{row['region'] or ''}:{function}"] if function else [],
        remediation=detection.remediation,
        evidence={"time": time, "account": row["account"], "region": row["region"], "actor": row["actor"],
                  "source_ip": row["source_ip"], "function": function or None, "event_ids": event_ids,
                  "failed": failed, "tactic": detection.tactic, "technique": detection.technique,
                  "data_source": detection.data_source},
        fingerprint=fingerprint, variant=",".join(event_ids),
    )
