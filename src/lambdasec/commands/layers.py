"""`lambdasec layers lock` and `lambdasec layers verify`: pin the layers the functions use, then check them.

The lock file format and the keys are in analysis/layer_lock.py and docs/layer-lock.md. `verify` reports what
`lambdasec scan` reports with INT011-INT013, as a short table or JSON, with the same exit codes: 0 everything
matches, 1 a mismatch or an unpinned reference, 2 a usage error (no lock, a lock that cannot be read), 3 the
comparison is incomplete (a template or a layer's content could not be read). When several apply: 2 > 3 > 1 > 0.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from lambdasec.fast_dataclass import dataclass, field

if TYPE_CHECKING:
    from ..analysis.layer_lock import CurrentLayer, LayerUse, LockFile, Unpinned, Verification
    from ..analysis.packages import ArchiveLimits
    from ..model.inventory import CoverageGap, Inventory

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3
SHORT_DIGEST = 12
STATUS_WIDTH = len("unpinned")  # the longest status: the table's first column


class LayersUsageError(Exception):
    """What makes `lock` or `verify` unable to run: reported with exit code 2."""


# ---------------------------------------------------------------- reading the scan paths
@dataclass
class LayerScan:
    inventory: Inventory
    roots: list[Path]
    limits: ArchiveLimits
    configured_lock: str | None = None  # `layer_lock` of the configuration file

    @property
    def gaps(self) -> list[CoverageGap]:
        return list(self.inventory.coverage_gaps)


def scan_layers(paths: Sequence[Path], config_file: Path | None = None, *, workers: int = 1,
                cache_dir: str | None = None) -> LayerScan:
    """The inventory of the scan paths, read as `lambdasec scan` reads them (template parameters, archive limits
    and `layer_lock` from the configuration file)."""
    from ..analysis.packages import limits_from_options
    from ..collectors.discovery import collect
    from ..collectors.options import CollectOptions
    from ..config import ConfigError, load_config

    try:
        config = load_config(config_file, Path.cwd())
        limits = limits_from_options(config.rule_options)
    except (ConfigError, ValueError) as exc:
        raise LayersUsageError(str(exc)) from None
    options = CollectOptions(parameter_values={str(k): v for k, v in config.parameters.items()}, workers=workers,
                             cache_dir=cache_dir)
    inventory, _ = collect(paths, options)
    # As engine.scan: a file is read relative to its directory, a directory relative to itself.
    roots = [path.parent if path.is_file() else path for path in paths]
    configured = config.rule_options.get("layer_lock")
    return LayerScan(inventory, roots, limits, configured if isinstance(configured, str) else None)


# ---------------------------------------------------------------- lock
@dataclass
class LockResult:
    path: Path
    lock: LockFile
    layers: list[CurrentLayer]
    written: bool  # False: the file already held these layers and was left as it was
    gaps: list[CoverageGap] = field(default_factory=list)
    unpinned: list[tuple[LayerUse, Unpinned]] = field(default_factory=list)


def default_lock_path(paths: Sequence[Path]) -> Path:
    from ..analysis.layer_lock import LOCK_NAME

    roots = [path.parent if path.is_file() else path for path in paths]
    if len({root.resolve() for root in roots}) != 1:
        raise LayersUsageError("the paths are in several directories: name the lock file with -o")
    return roots[0] / LOCK_NAME


def write_lock(scan: LayerScan, output: Path, today: dt.date) -> LockResult:
    """Lock every layer the scanned functions use into ``output``; an up-to-date file is not rewritten, so its
    date only changes with its layers."""
    from ..analysis.layer_lock import LayerCollector, LockFileError, new_lock, read_lock

    layers = LayerCollector(scan.inventory, scan.roots, output.parent, scan.limits).layers(scan.inventory.functions)
    lock = new_lock(layers, today)
    gaps = list(dict.fromkeys([*scan.gaps, *(gap for layer in layers for gap in layer.gaps)]))
    unpinned = _unpinned(scan.inventory)
    if output.is_file():
        try:
            existing = read_lock(output)
        except LockFileError:
            existing = None  # replaced: the new file is what the user asked for
        if existing is not None and dict(existing.layers) == dict(lock.layers):
            return LockResult(output, existing, layers, False, gaps, unpinned)
    try:
        output.write_text(lock.render(), encoding="utf-8")
    except OSError as exc:
        raise LayersUsageError(f"cannot write {output}: {exc.strerror}") from None
    return LockResult(output, lock, layers, True, gaps, unpinned)


def _unpinned(inventory: Inventory) -> list[tuple[LayerUse, Unpinned]]:
    from ..analysis.layer_lock import layer_uses, unpinned

    found = []
    for use in layer_uses(inventory.functions):
        reason = unpinned(use)
        if reason is not None:
            found.append((use, reason))
    return found


# ---------------------------------------------------------------- verify
@dataclass
class VerifyResult:
    verifications: list[Verification]
    unpinned: list[tuple[LayerUse, Unpinned]]
    gaps: list[CoverageGap]

    @property
    def mismatched(self) -> bool:
        return bool(self.unpinned) or any(v.mismatches for v in self.verifications)

    @property
    def incomplete(self) -> bool:
        return bool(self.gaps) or any(v.not_compared for v in self.verifications)

    @property
    def exit_code(self) -> int:
        return EXIT_INCOMPLETE if self.incomplete else EXIT_MISMATCH if self.mismatched else EXIT_OK


def verify_scan(scan: LayerScan, lock: Path | None) -> VerifyResult:
    """Compare the scan with ``lock`` (else the configured lock, else the nearest lambdasec.lock of each
    function, as `lambdasec scan` finds it)."""
    from ..analysis.layer_lock import LOCK_NAME, LayerCollector, LockFileError, functions_by_lock, read_lock, verify

    explicit = lock or (Path(scan.configured_lock) if scan.configured_lock else None)
    if explicit is not None and not explicit.is_file():
        raise LayersUsageError(f"lock file not found: {explicit}")
    groups = functions_by_lock(scan.inventory, scan.roots, explicit)
    if explicit is not None:
        groups.setdefault(explicit, [])
    for root in scan.roots:  # a lock in a scan root is verified even when no function uses a layer any more
        if (root / LOCK_NAME).is_file() and explicit is None:
            candidate = (root / LOCK_NAME).resolve()
            if candidate not in {path.resolve() for path in groups}:
                groups[candidate] = []
    if not groups:
        shown = ", ".join(str(root) for root in scan.roots)
        raise LayersUsageError(f"no {LOCK_NAME} found in {shown}: create one with `lambdasec layers lock`, or "
                               "name it with --lock")
    verifications = []
    gaps = list(scan.gaps)
    for path, functions in sorted(groups.items()):
        try:
            locked = read_lock(path)
        except LockFileError as exc:
            raise LayersUsageError(str(exc)) from None
        layers = LayerCollector(scan.inventory, scan.roots, path.parent, scan.limits).layers(functions)
        gaps.extend(gap for layer in layers for gap in layer.gaps)
        verifications.append(verify(locked, layers, path))
    return VerifyResult(verifications, _unpinned(scan.inventory), list(dict.fromkeys(gaps)))


# ---------------------------------------------------------------- output
def _functions(uses: Sequence[LayerUse]) -> str:
    return ", ".join(sorted({use.function.id for use in uses}))


def _reference(use: LayerUse) -> str:
    from ..model.values import Unresolved

    return use.reference.expression if isinstance(use.reference, Unresolved) else str(use.reference)


def verify_rows(result: VerifyResult) -> list[tuple[str, str, str]]:
    """(status, layer, detail) of every problem: mismatches, unpinned references, locked layers no longer used."""
    rows: list[tuple[str, str, str]] = []
    for verification in result.verifications:
        for mismatch in verification.mismatches:
            rows.append((mismatch.kind, mismatch.layer.key, f"{mismatch.message} ({_functions(mismatch.uses)})"))
        for layer in verification.not_compared:
            rows.append(("unread", layer.key, f"content not compared: {layer.unread}"))
        for key, _entry in verification.unused:
            rows.append(("unused", key, f"in {verification.lock.name} but no longer used by any function"))
    for use, reason in result.unpinned:
        rows.append(("unpinned", reason.shown or _reference(use), f"{reason.reason} ({use.function.id})"))
    return rows


def render_table(result: VerifyResult) -> str:
    lines = []
    for verification in result.verifications:
        problems = {id(m.layer) for m in verification.mismatches} | {id(layer) for layer in verification.not_compared}
        matching = sum(1 for layer in verification.layers if id(layer) not in problems)
        lines.append(f"{_display(verification.lock)}: {matching} of {len(verification.layers)} layer(s) match, "
                     f"{len(verification.mismatches)} mismatch(es), {len(verification.unused)} unused lock entr"
                     f"{'y' if len(verification.unused) == 1 else 'ies'}")
    rows = verify_rows(result)
    if result.unpinned:
        lines.append(f"{len(result.unpinned)} layer reference(s) not pinned to a version")
    if rows:
        lines.append("")
        lines.extend(f"{status.ljust(STATUS_WIDTH)}  {layer}: {detail}" for status, layer, detail in rows)
    return "\n".join(lines) + "\n"


def _display(path: Path) -> str:
    """A path relative to the working directory when it is under it (discovered locks are absolute)."""
    cwd = Path.cwd().resolve()
    resolved = path.resolve()
    return resolved.relative_to(cwd).as_posix() if resolved.is_relative_to(cwd) else str(path)


def render_json(result: VerifyResult) -> str:
    locks = []
    for verification in result.verifications:
        locks.append({
            "lock": _display(verification.lock),
            "layers": [_layer_json(layer, verification) for layer in verification.layers],
            "unused": [{"key": key, **entry.to_json()} for key, entry in verification.unused],
        })
    document = {
        "schema_version": 1,
        "result": "incomplete" if result.incomplete else "mismatch" if result.mismatched else "ok",
        "locks": locks,
        "unpinned": [{"function": use.function.id, "reference": _reference(use), "reason": reason.reason,
                      "confidence": reason.confidence.label, "location": use.where.to_dict()}
                     for use, reason in result.unpinned],
        "coverage_gaps": [gap.to_dict() for gap in result.gaps],
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _layer_json(layer: CurrentLayer, verification: Verification) -> dict[str, Any]:
    problems = verification.problems(layer)
    unread = any(layer is other for other in verification.not_compared)
    status = "unread" if unread else problems[0].kind if len(problems) == 1 else (
        "mismatch" if problems else "ok")
    return {
        "key": layer.key, "kind": layer.kind, "status": status, "versions": list(layer.versions),
        "sha256": layer.sha256, "functions": list(layer.functions),
        "problems": [{"kind": m.kind, "message": m.message, "functions": sorted({u.function.id for u in m.uses})}
                     for m in problems],
    }


def source_date(environ: Mapping[str, str], clock: Callable[[], dt.datetime]) -> dt.date:
    """Today (UTC), or the day of SOURCE_DATE_EPOCH when set (the reproducible-builds convention)."""
    value = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return clock().astimezone(dt.timezone.utc).date()
    if not value.isdigit():
        raise LayersUsageError(f"SOURCE_DATE_EPOCH must be a number of seconds, not {value!r}")
    return dt.datetime.fromtimestamp(int(value), tz=dt.timezone.utc).date()


# ---------------------------------------------------------------- commands
_PATHS = click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
_CONFIG = click.option("--config", "config_file", type=click.Path(path_type=Path),
                       help="Config file (default: .lambdasec.toml, else [tool.lambdasec] in pyproject.toml): "
                            "template parameters, archive limits, layer_lock.")


def _fail(message: str) -> NoReturn:
    click.echo(f"lambdasec: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _print_gaps(gaps: Sequence[CoverageGap]) -> None:
    for gap in gaps:
        click.echo(f"lambdasec: coverage gap: {gap.location.display()}: {gap.message}", err=True)


def _workers() -> int:
    return min(os.cpu_count() or 1, 4)


def _cache() -> str:
    from ..collectors.cloudformation.sam_cache import default_cache_dir

    return str(default_cache_dir())


@click.group()
def layers() -> None:
    """Pin the layers your functions use in a lock file (lambdasec.lock), and verify them."""


@layers.command("lock")
@_PATHS
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Lock file to write (default: lambdasec.lock in the scanned directory).")
@_CONFIG
def lock_command(paths: tuple[Path, ...], output: Path | None, config_file: Path | None) -> None:
    """Record every layer the functions in PATHS (default: .) use: its ARN and versions, or its template and
    the sha256 of its local content. Commit the file; `lambdasec layers verify` and `lambdasec scan` check it.

    Exit 3 when some template or layer content could not be read (the lock is written, without those digests).
    """
    chosen = list(paths) or [Path(".")]
    try:
        target = output or default_lock_path(chosen)
        today = source_date(os.environ, lambda: dt.datetime.now(dt.timezone.utc))
        result = write_lock(scan_layers(chosen, config_file, workers=_workers(), cache_dir=_cache()), target, today)
    except LayersUsageError as exc:
        _fail(str(exc))
    state = "written" if result.written else "up to date, not rewritten"
    click.echo(f"{result.path}: {len(result.layers)} layer(s), {state}")
    for layer in result.layers:
        pinned = ",".join(map(str, layer.versions)) or "-"
        digest = layer.sha256[:SHORT_DIGEST] if layer.sha256 else "-"
        click.echo(f"  {layer.key}  versions {pinned}  sha256 {digest}  ({len(layer.functions)} function(s))")
    for use, reason in result.unpinned:
        click.echo(f"warning: layer {reason.shown or _reference(use)} of {use.function.id} {reason.reason}", err=True)
    _print_gaps(result.gaps)
    sys.exit(EXIT_INCOMPLETE if result.gaps else EXIT_OK)


@layers.command("verify")
@_PATHS
@click.option("--lock", "lock_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Lock file (default: layer_lock in the configuration, else the nearest lambdasec.lock of each "
                   "template up to its scanned directory).")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@_CONFIG
def verify_command(paths: tuple[Path, ...], lock_file: Path | None, fmt: str, config_file: Path | None) -> None:
    """Compare the layers the functions in PATHS (default: .) use with the lock file: layers not in it, other
    versions, other content, references not pinned to a version, and locked layers no longer used.

    Exit 0 when everything matches, 1 on a mismatch or an unpinned reference, 2 on a usage error, 3 when the
    comparison is incomplete.
    """
    chosen = list(paths) or [Path(".")]
    try:
        result = verify_scan(scan_layers(chosen, config_file, workers=_workers(), cache_dir=_cache()), lock_file)
    except LayersUsageError as exc:
        _fail(str(exc))
    click.echo(render_json(result) if fmt == "json" else render_table(result), nl=False)
    _print_gaps(result.gaps)
    sys.exit(result.exit_code)
