"""Logs on disk -> the normalized tables of an engine, with every file that could not be read fully kept as a gap.

With a persistent database (``--db``), files already loaded (same path, size and modification time) are not
read again: repeated hunts run on the tables.
"""

from __future__ import annotations

import logging
import os
import tempfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from lambdasec.fast_dataclass import dataclass, field

from ..model.inventory import CoverageGap
from ..model.location import Location
from ..progress import SILENT, Progress
from .documents import stream_document
from .engines import Engine, FlowFiles, LineFiles
from .inputs import LogFile, Unreadable, discover, iter_text
from .tables import KINDS, TABLES

G = TypeVar("G")
_log = logging.getLogger(__name__)
MAX_DOCUMENT_BYTES = 1024 * 1024 * 1024  # one decompressed JSON document (CloudTrail files are far smaller)
PARALLEL_SPLIT_BYTES = 32 * 1024 * 1024  # below this, starting worker processes costs more than it saves
MAX_SPLIT_WORKERS = 8


@dataclass
class LoadResult:
    files: list[str] = field(default_factory=list)  # every input file read (or already in the database)
    gaps: list[CoverageGap] = field(default_factory=list)
    records: dict[str, int] = field(default_factory=dict)  # kind -> rows in its table


def _gap(path: str, kind: str, message: str) -> CoverageGap:
    return CoverageGap(kind, message, Location(file=path))


def _signature(path: str) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns


def load_logs(engine: Engine, paths: Iterable[Path], workdir: Path | None = None,
              progress: Progress = SILENT) -> LoadResult:
    result = LoadResult()
    known = engine.loaded_files()
    fresh: list[LogFile] = []
    for found in discover(paths):
        if isinstance(found, Unreadable):
            result.gaps.append(_gap(found.path, "unreadable-log", f"{found.path}: {found.reason}"))
            continue
        result.files.append(found.path)
        if known.get(found.path) != _signature(found.path):
            fresh.append(found)
    _log.info("%d log file(s) found, %d to load (%s engine)", len(result.files), len(fresh), engine.name)
    engine.forget([log.path for log in fresh if log.path in known])  # changed since: read again
    with tempfile.TemporaryDirectory(prefix="lambdasec-logs-", dir=workdir) as scratch:
        progress.start(len(fresh), f"reading {len(fresh)} log file(s)")
        _load(engine, fresh, Path(scratch), result, progress)
        progress.finish()
        engine.record_loaded([(log.path, *_signature(log.path), log.kind) for log in fresh])
        for kind in KINDS:
            engine.build(kind)
            result.records[kind] = int(engine.rows(f"SELECT count(*) FROM {TABLES[kind]}")[0][0])
            _log.info("table %s: %d row(s)", TABLES[kind], result.records[kind])
    fresh_paths = {log.path for log in fresh}
    for kind in KINDS:
        for path, records, bad in engine.malformed(kind):
            if bad and path in fresh_paths:
                result.gaps.append(_gap(path, "malformed-records", f"{path}: {bad} of {records} {kind} records "
                                                                   "are malformed and were left out"))
        engine.finish(kind)
    result.gaps.sort(key=lambda gap: (gap.location.file, gap.message))
    return result


def _load(engine: Engine, logs: list[LogFile], scratch: Path, result: LoadResult, progress: Progress) -> None:
    """Documents are split first (one step each), then every group of files is loaded (one step per file not
    split before)."""
    lines: dict[tuple[str, str, str, bool], list[tuple[str, str]]] = {}
    flows: dict[tuple[tuple[str, ...], bool, bool], list[str]] = {}
    documents: list[tuple[LogFile, str]] = []
    for index, log in enumerate(logs):
        if log.layout == "text":
            flows.setdefault((log.fields, log.header, log.compressed), []).append(log.path)
        elif log.layout == "lines" and log.bom:  # a copy without the byte order mark: DuckDB 1.x keeps it
            copy = scratch / f"{index}.jsonl"
            try:
                with copy.open("w", encoding="utf-8") as out:
                    for index_in_file, piece in enumerate(iter_text(log, MAX_DOCUMENT_BYTES)):
                        out.write(piece.lstrip("\ufeff") if index_in_file == 0 else piece)
            except (OSError, EOFError, ValueError, zlib.error) as exc:
                result.gaps.append(_gap(log.path, "unreadable-log", f"{log.path}: cannot read: {exc}"))
                progress.advance()
                continue
            lines.setdefault((log.kind, log.flavour, log.wrapper, False), []).append((str(copy), log.path))
            progress.advance()
        elif log.layout == "lines":
            lines.setdefault((log.kind, log.flavour, log.wrapper, log.compressed), []).append((log.path, log.path))
        else:
            documents.append((log, str(scratch / f"{index}.jsonl")))
    for log, split_to in _split_all(documents, result, progress):
        lines.setdefault((log.kind, log.flavour, log.wrapper, False), []).append((split_to, log.path))
    for (kind, flavour, wrapper, compressed), files in sorted(lines.items()):
        progress.advance(sum(1 for read, reported in files if read == reported))
        _each_or_alone(engine.load_lines, [LineFiles(kind, flavour, wrapper, compressed, tuple(files))],
                       lambda g: [LineFiles(g.kind, g.flavour, g.wrapper, g.compressed, (f,)) for f in g.files],
                       lambda g: g.files[0][1], result)
    formats = _flow_formats(engine)
    for (fields, header, compressed), paths in sorted(flows.items()):
        progress.advance(len(paths))
        format_id = formats.setdefault(fields, len(formats) + 1)
        _each_or_alone(lambda g, i=format_id: engine.load_flows(g, i),  # type: ignore[misc]
                       [FlowFiles(fields, header, compressed, tuple(paths))],
                       lambda g: [FlowFiles(g.fields, g.header, g.compressed, (f,)) for f in g.files],
                       lambda g: g.files[0], result)
    engine.create_table("flow_formats", (("id", "INTEGER"), ("fields", "VARCHAR")),
                        [(i, " ".join(f)) for f, i in sorted(formats.items(), key=lambda item: item[1])])


def _each_or_alone(load: Callable[[G], None], groups: list[G], alone: Callable[[G], list[G]],
                   name: Callable[[G], str], result: LoadResult) -> None:
    """Load the group at once; when the engine refuses it (a corrupt gzip stream, say), each file alone, so one
    broken file costs only itself (and is a gap)."""
    for group in groups:
        try:
            load(group)
        except Exception:  # noqa: BLE001  # engines raise their own error types
            for single in alone(group):
                try:
                    load(single)
                except Exception as exc:  # noqa: BLE001
                    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    result.gaps.append(_gap(name(single), "unreadable-log", f"{name(single)}: cannot read: {message}"))


def _flow_formats(engine: Engine) -> dict[tuple[str, ...], int]:
    if not engine.table_exists("flow_formats"):
        return {}
    return {tuple(str(f).split(" ")): int(i) for i, f in engine.rows("SELECT id, fields FROM flow_formats")}


def split_file(log: LogFile, target: str) -> tuple[bool, list[tuple[str, str]]]:
    """A document's records into a JSON-lines file: (anything written?, gaps as (kind, message)). Runs in worker
    processes for large inputs, hence plain values in and out."""
    gaps: list[tuple[str, str]] = []
    # Read, inflated and cut as it is written: the document is never held whole, only a piece and a record.
    split, records = stream_document(iter_text(log, MAX_DOCUMENT_BYTES), log.records_key)
    try:
        with open(target, "w", encoding="utf-8") as out:
            for record in records:  # a raw newline can only be whitespace between JSON tokens
                out.write(record.replace("\n", " ").replace("\r", " "))
                out.write("\n")
    except (OSError, EOFError, ValueError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        gaps.append(("unreadable-log", f"{log.path}: cannot read: {exc}{_kept(split.count)}"))
        split.error = None
    if split.error:
        kept = _kept(split.count)
        gaps.append(("malformed-records", f"{log.path}: {split.error}{kept}"))
    if split.malformed:
        gaps.append(("malformed-records", f"{log.path}: {split.malformed} elements are no JSON object and were "
                                          "left out"))
    if not split.count:
        os.remove(target)
        return False, gaps
    return True, gaps


def _kept(count: int) -> str:
    """What a gap about a document broken part way adds: the records before the break were kept."""
    if not count:
        return ""
    return "; the record before it was read" if count == 1 else f"; the {count} records before it were read"


def _split_all(documents: list[tuple[LogFile, str]], result: LoadResult,
               progress: Progress) -> list[tuple[LogFile, str]]:
    """Every document split, in worker processes when the input is large enough to pay for them."""
    size = sum(_size(log.path) for log, _ in documents)
    workers = min(os.cpu_count() or 1, len(documents), MAX_SPLIT_WORKERS)
    from ..engine import _can_fork

    if workers > 1 and size >= PARALLEL_SPLIT_BYTES and _can_fork():
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # fork: spawn and forkserver would re-import the caller's main module (a library caller's script).
        # The children only decompress, parse and write files, and leave through os._exit.
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            outcomes = []
            for outcome in pool.map(split_file, [log for log, _ in documents], [t for _, t in documents],
                                    chunksize=4):
                outcomes.append(outcome)
                progress.advance()
    else:
        outcomes = []
        for log, target in documents:
            outcomes.append(split_file(log, target))
            progress.advance()
    written = []
    for (log, target), (ok, gaps) in zip(documents, outcomes, strict=True):
        result.gaps += [_gap(log.path, kind, message) for kind, message in gaps]
        if ok:
            written.append((log, target))
    return written


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
