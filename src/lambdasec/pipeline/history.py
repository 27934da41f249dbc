"""Scan history: every run's findings in one SQLite file (``--history FILE``), and the diff of two runs.

Schema (version 1, in ``PRAGMA user_version``; rollback journal, no WAL: the history stays one file):

``runs``
    ``id`` INTEGER PRIMARY KEY (1, 2, ... in run order), ``time`` TEXT (ISO 8601, UTC, e.g.
    ``2026-11-29T00:00:00Z``), ``command`` TEXT (``scan`` or ``detect``), ``tool_version`` TEXT, ``root`` TEXT
    (what was scanned), ``complete`` INTEGER (0 when the scan had coverage gaps), ``findings``,
    ``suppressed``, ``baselined`` INTEGER (counts).
``findings``
    ``run_id`` INTEGER (``runs.id``), ``fingerprint`` TEXT, ``rule_id`` TEXT, ``slug`` TEXT, ``severity`` TEXT,
    ``title`` TEXT, ``message`` TEXT (secrets already redacted), ``resource_id`` TEXT, ``resource_type`` TEXT,
    ``file`` TEXT, ``line`` INTEGER (NULL when unknown), ``arn`` TEXT (NULL for files), ``state`` TEXT (``open``:
    reported and counted by --fail-on, ``suppressed``, ``baselined``). Indexed by ``(run_id, fingerprint)``.

A diff matches findings by fingerprint: *new* are in the later run only, *fixed* in the earlier one only,
*persisting* in both (with the state of the later run, and the earlier one's when it changed).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from lambdasec.fast_dataclass import dataclass

from ..config import ConfigError
from ..model.findings import Finding, Report, Severity

SCHEMA_VERSION = 1
STATES = ("open", "suppressed", "baselined")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    command TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    root TEXT NOT NULL,
    complete INTEGER NOT NULL,
    findings INTEGER NOT NULL,
    suppressed INTEGER NOT NULL,
    baselined INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS findings (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    slug TEXT NOT NULL,
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    file TEXT NOT NULL,
    line INTEGER,
    arn TEXT,
    state TEXT NOT NULL CHECK (state IN ('open', 'suppressed', 'baselined'))
);
CREATE INDEX IF NOT EXISTS findings_by_run ON findings (run_id, fingerprint);
"""
_COLUMNS = ("fingerprint", "rule_id", "slug", "severity", "title", "message", "resource_id", "resource_type", "file",
            "line", "arn", "state")


class HistoryError(ConfigError):
    """A history file that cannot be used, or a run that is not in it: a usage error (exit 2)."""


@dataclass(frozen=True)
class Run:
    id: int
    time: str
    command: str
    tool_version: str
    root: str
    complete: bool
    findings: int
    suppressed: int
    baselined: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "time": self.time, "command": self.command, "tool_version": self.tool_version,
                "root": self.root, "complete": self.complete, "findings": self.findings,
                "suppressed": self.suppressed, "baselined": self.baselined}


@dataclass(frozen=True)
class Entry:
    """One finding of one run, as the history keeps it."""

    fingerprint: str
    rule_id: str
    slug: str
    severity: str
    title: str
    message: str
    resource_id: str
    resource_type: str
    file: str
    line: int | None
    arn: str | None
    state: str

    @property
    def where(self) -> str:
        if self.file:
            return f"{self.file}:{self.line}" if self.line else self.file
        return self.arn or "<unknown>"

    def to_dict(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "rule_id": self.rule_id, "slug": self.slug,
                "severity": self.severity, "title": self.title, "message": self.message,
                "resource": {"id": self.resource_id, "type": self.resource_type},
                "location": {"file": self.file, "line": self.line, **({"arn": self.arn} if self.arn else {})},
                "state": self.state}


def entries(report: Report) -> list[Entry]:
    """A report's findings as history entries: reported, suppressed and baselined."""
    def entry(finding: Finding, state: str) -> Entry:
        return Entry(finding.fingerprint, finding.rule_id, finding.slug, finding.severity.label, finding.title,
                     finding.message, finding.resource_id, finding.resource_type, finding.location.file,
                     finding.location.line, finding.location.arn, state)

    return [*(entry(f, "open") for f in report.findings), *(entry(f, "suppressed") for f in report.suppressed),
            *(entry(f, "baselined") for f in report.baselined)]


def _timestamp(now: dt.datetime) -> str:
    return now.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class History:
    """An open history file. ``History(path)`` creates it (and its schema) when missing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.db = sqlite3.connect(str(path), isolation_level=None)
            self.db.execute("PRAGMA journal_mode = DELETE")
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            tables = {row[0] for row in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.Error as exc:
            raise HistoryError(f"cannot open history {path}: {exc}") from None
        if version > SCHEMA_VERSION:
            raise HistoryError(f"history {path} has schema version {version}, newer than this lambdasec's "
                               f"({SCHEMA_VERSION})")
        if version == 0 and tables:
            raise HistoryError(f"{path} is an SQLite database, but not a lambdasec history")
        if version == 0:
            try:
                self.db.executescript(f"BEGIN; {_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
            except sqlite3.Error as exc:
                raise HistoryError(f"cannot write history {path}: {exc}") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, report: Report, *, command: str, now: dt.datetime) -> int:
        """Add a run and its findings; returns the run's id."""
        rows = entries(report)
        try:
            self.db.execute("BEGIN")
            cursor = self.db.execute(
                "INSERT INTO runs (time, command, tool_version, root, complete, findings, suppressed, baselined) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (_timestamp(now), command, report.tool_version, report.root, int(not report.incomplete),
                 len(report.findings), len(report.suppressed), len(report.baselined)))
            run_id = int(cursor.lastrowid or 0)
            self.db.executemany(
                f"INSERT INTO findings (run_id, {', '.join(_COLUMNS)}) VALUES (?{', ?' * len(_COLUMNS)})",
                [(run_id, *(getattr(row, column) for column in _COLUMNS)) for row in rows])
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise HistoryError(f"cannot write history {self.path}: {exc}") from None
        return run_id

    def runs(self) -> list[Run]:
        rows = self.db.execute("SELECT id, time, command, tool_version, root, complete, findings, suppressed, "
                               "baselined FROM runs ORDER BY id").fetchall()
        return [Run(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6], row[7], row[8]) for row in rows]

    def run(self, run_id: int) -> Run:
        for run in self.runs():
            if run.id == run_id:
                return run
        raise HistoryError(f"no run {run_id} in {self.path} (see `lambdasec diff --list`)")

    def entries(self, run_id: int) -> list[Entry]:
        rows = self.db.execute(f"SELECT {', '.join(_COLUMNS)} FROM findings WHERE run_id = ? ORDER BY rowid",
                               (run_id,)).fetchall()
        return [Entry(*row) for row in rows]


def open_existing(path: Path) -> History:
    """A history to read: a missing file is an error, not an empty history."""
    if not path.is_file():
        raise HistoryError(f"history not found: {path} (record one with `lambdasec scan --history {path}`)")
    return History(path)


@dataclass(frozen=True)
class Diff:
    new: list[Entry]
    fixed: list[Entry]
    persisting: list[tuple[Entry, Entry]]  # (earlier, later)

    def to_dict(self) -> dict[str, Any]:
        def persisting(before: Entry, after: Entry) -> dict[str, Any]:
            out = after.to_dict()
            if before.state != after.state:
                out["state_before"] = before.state
            return out

        return {"new": [e.to_dict() for e in self.new], "fixed": [e.to_dict() for e in self.fixed],
                "persisting": [persisting(*pair) for pair in self.persisting],
                "summary": {"new": len(self.new), "fixed": len(self.fixed), "persisting": len(self.persisting)}}


def _order(entry: Entry) -> tuple[Any, ...]:
    return (-Severity.parse(entry.severity), entry.rule_id, entry.file, entry.line or 0, entry.resource_id,
            entry.fingerprint)


def _by_fingerprint(found: Iterable[Entry]) -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    for entry in found:
        out.setdefault(entry.fingerprint, entry)
    return out


def diff(before: Sequence[Entry], after: Sequence[Entry]) -> Diff:
    old, new = _by_fingerprint(before), _by_fingerprint(after)
    return Diff(
        new=sorted((e for key, e in new.items() if key not in old), key=_order),
        fixed=sorted((e for key, e in old.items() if key not in new), key=_order),
        persisting=sorted(((old[key], e) for key, e in new.items() if key in old), key=lambda pair: _order(pair[1])),
    )


# ---------------------------------------------------------------- output
def runs_json(runs: Sequence[Run]) -> str:
    import json

    return json.dumps({"runs": [run.to_dict() for run in runs]}, indent=2) + "\n"


def runs_table(runs: Sequence[Run], color: bool = False) -> str:
    from rich.table import Table

    table = Table(title=f"{len(runs)} run(s)", title_justify="left")
    for column in ("run", "time", "command", "version", "scanned", "findings", "suppressed", "baselined",
                   "complete"):
        table.add_column(column, no_wrap=column != "scanned")
    for run in runs:
        table.add_row(str(run.id), run.time, run.command, run.tool_version, _escape(run.root), str(run.findings),
                      str(run.suppressed), str(run.baselined), "yes" if run.complete else "[magenta]no[/]")
    return _print(table, color=color)


def _label(side: dict[str, Any]) -> str:
    if "report" in side:
        return f"{side['report']} (lambdasec {side['tool_version']})"
    return f"run {side['id']} ({side['time']}, {side['command']} {side['root']})"


def diff_json(result: Diff, before: dict[str, Any], after: dict[str, Any]) -> str:
    from ..reporters.json_report import layout

    return layout({"from": before, "to": after, **result.to_dict()}) + "\n"


_STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan", "info": "dim"}


def diff_table(result: Diff, before: dict[str, Any], after: dict[str, Any], *, color: bool = False) -> str:
    from rich.table import Table

    parts: list[Any] = [f"from {_escape(_label(before))}\n  to {_escape(_label(after))}"]
    sections: list[tuple[str, list[tuple[Entry, str]]]] = [
        ("New", [(e, e.state) for e in result.new]),
        ("Fixed", [(e, e.state) for e in result.fixed]),
        ("Persisting", [(a, a.state if a.state == b.state else f"{b.state} -> {a.state}")
                        for b, a in result.persisting]),
    ]
    for title, rows in sections:
        if not rows:
            continue
        table = Table(title=f"{title} ({len(rows)})", title_justify="left", expand=True)
        for column in ("severity", "rule", "resource", "location", "state"):
            table.add_column(column, no_wrap=column != "resource", ratio=2 if column == "resource" else None)
        for entry, state in rows:
            table.add_row(f"[{_STYLE.get(entry.severity, '')}]{entry.severity}[/]", f"{entry.rule_id}",
                          _escape(entry.resource_id), _escape(entry.where), state)
        parts.append(table)
    parts.append(f"{len(result.new)} new, {len(result.fixed)} fixed, {len(result.persisting)} persisting")
    return _print(*parts, color=color)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _print(*renderables: Any, color: bool) -> str:
    import io

    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, color_system="256" if color else None,
                      width=120, highlight=False, soft_wrap=False)
    for renderable in renderables:
        console.print(renderable)
    return buffer.getvalue()
