"""Walk the scan paths and hand each candidate to the collector that understands it.

CloudFormation/SAM templates, Terraform plan JSON and serverless.yml are single files; a
Terraform configuration is a directory of `.tf` files (a module), read as one unit.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..model.inventory import CoverageGap, Inventory
from ..model.location import Location
from .options import CollectOptions

_log = logging.getLogger(__name__)

TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json", ".template")
# Inventory snapshots (model/snapshot.py): by name, else a JSON document is told apart by its content.
SNAPSHOT_SUFFIXES = (".json.gz", ".snapshot.json")
SERVERLESS_NAMES = ("serverless.yml", "serverless.yaml", "serverless.json", "serverless.ts", "serverless.js")
PARALLEL_THRESHOLD = 48
_LOCAL_MODULE_SOURCE = re.compile(r'^\s*source\s*=\s*"(\.{1,2}/[^"]*)"', re.MULTILINE)

Job = tuple[str, Path, Path, tuple[Path, ...], CollectOptions]  # (kind, path, root, files, options)


def _walk(path: Path, options: CollectOptions) -> Iterator[Path]:
    for directory, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if d not in options.skip_dirs)
        for name in sorted(filenames):
            yield Path(directory) / name


def _kind(file: Path) -> str | None:
    name = file.name.lower()
    if name in SERVERLESS_NAMES or name.endswith(tuple("." + n for n in SERVERLESS_NAMES)):
        return "serverless"  # serverless.yml, or a named variant such as orders.serverless.yml
    if name.endswith(".tf"):
        return "terraform"
    if name.endswith(SNAPSHOT_SUFFIXES):
        return "snapshot"
    if name.endswith(TEMPLATE_SUFFIXES):
        return "document"  # CloudFormation/SAM or a Terraform plan, told apart by content
    return None


def _child_modules(module_dirs: Iterable[Path]) -> set[Path]:
    """Directories used as local modules by another configuration: read through their parent, not as roots."""
    children: set[Path] = set()
    for directory in module_dirs:
        for tf in sorted(directory.glob("*.tf")):
            try:
                text = tf.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for source in _LOCAL_MODULE_SOURCE.findall(text):
                child = (directory / source).resolve()
                if child != directory.resolve():  # a module calling itself stays a root: its reader says so
                    children.add(child)
    return children


def jobs(paths: Iterable[Path], options: CollectOptions) -> list[Job]:
    """One job per single-file document and per Terraform root module, in a stable order."""
    out: list[Job] = []
    modules: dict[Path, Path] = {}  # module dir -> scan root
    relative_to = Path(os.path.abspath(options.relative_to)) if options.relative_to else None
    if relative_to is not None:  # locations are then computed between absolute paths
        paths = [Path(os.path.abspath(path)) for path in paths]
    for path in paths:
        if path.is_file():
            # A zip named on the command line is a deployment package or layer; zips met while walking a
            # directory are build outputs that templates name, read through them.
            named_kind = "package" if path.name.lower().endswith(".zip") else _kind(path) or "document"
            root = _root_of(path, path.parent, relative_to)
            if named_kind == "terraform" and options.tf_module_dirs:
                modules.setdefault(path.parent, root)  # read with the rest of its module
                continue
            # Otherwise a .tf file named on its own is a module on its own.
            files = (path,) if named_kind == "terraform" else ()
            out.append((named_kind, path, root, files, options))
            continue
        walk_root = _root_of(path, path, relative_to)
        for file in _walk(path, options):
            kind = _kind(file)
            if kind == "terraform":
                modules.setdefault(file.parent, walk_root)
            elif kind == "snapshot" and file.name.lower().endswith(".gz") and not _is_snapshot(file):
                continue  # some other gzipped JSON met while walking: not ours (named alone, it is read and reported)
            elif kind is not None:
                out.append((kind, file, walk_root, (), options))
    children = _child_modules(modules)
    for directory, root in sorted(modules.items()):
        if directory.resolve() not in children:
            out.append(("terraform", directory, root, tuple(sorted(directory.glob("*.tf"))), options))
    return out


def _root_of(path: Path, default: Path, relative_to: Path | None) -> Path:
    """The directory locations are relative to: ``relative_to`` when the path is inside it, else ``default``."""
    if relative_to is not None and path.is_relative_to(relative_to):
        return relative_to
    return default


def _collect_one(job: Job) -> tuple[Path, Path, Inventory | None]:
    kind, path, root, files, options = job
    if kind == "package":
        return path, root, _package(path, root)
    if kind == "terraform":
        from .terraform.reader import collect_module

        return path, root, collect_module(list(files), root, options)
    if kind == "serverless":
        from .serverless import collect_file as collect_serverless

        return path, root, collect_serverless(path, root, options)
    if kind == "snapshot" or (_may_be_json(path) and _is_snapshot(path)):
        from ..model.snapshot import collect_snapshot

        return path, root, collect_snapshot(path, root)
    if _may_be_json(path):  # a plan is JSON: YAML templates skip importing the plan reader
        from .terraform.plan import collect_file as collect_plan

        plan = collect_plan(path, root, options)
        if plan is not None:
            return path, root, plan
    from .cloudformation.collector import collect_file

    return path, root, collect_file(path, root, options)


def _package(path: Path, root: Path) -> Inventory:
    """One CodePackage for a zip given on the command line: its content is read by the rules, like a template's."""
    from ..model.inventory import CodeLocation, CodePackage

    name = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()
    inventory = Inventory()
    inventory.add(inventory.packages, CodePackage(
        key=f"{name}#package", id=name, type="lambdasec::Package", location=Location(name),
        content=CodeLocation("local", name), role="unknown",
    ))
    return inventory


def _is_snapshot(path: Path) -> bool:
    from ..model.snapshot import is_snapshot

    return is_snapshot(path)


def _may_be_json(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")
    except OSError:
        return True  # let the readers report it


def _results(work: list[Job], workers: int,
             while_waiting: Callable[[], None] | None) -> Iterator[tuple[Path, Path, Inventory | None]]:
    """Inputs are independent: past a few dozen, reading them in worker processes pays for the workers' start."""
    if workers <= 1 or len(work) < PARALLEL_THRESHOLD:
        yield from map(_collect_one, work)
        return
    import concurrent.futures
    import multiprocessing

    context = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        results = pool.map(_collect_one, work, chunksize=max(1, len(work) // (workers * 8)))
        if while_waiting is not None:
            while_waiting()
        yield from results


def collect(paths: Iterable[Path], options: CollectOptions,
            while_waiting: Callable[[], None] | None = None) -> tuple[Inventory, list[str]]:
    """The merged inventory of every recognised input, and the list of inputs that were recognised.

    ``while_waiting`` runs in this process while worker processes read the files (only when they do): work the
    caller will need anyway, done on time that is otherwise spent waiting.
    """
    inventory = Inventory()
    scanned: list[str] = []
    paths = list(paths)
    for path in paths:
        if not path.exists():
            inventory.coverage_gaps.append(CoverageGap("missing-file", f"path does not exist: {path}",
                                                       Location(str(path))))
    # Results come back in job order, so reports are identical whatever the number of workers.
    work = jobs([p for p in paths if p.exists()], options)
    _log.info("%d input(s) to read with %d worker(s)", len(work), options.workers)
    for path, root, found in _results(work, options.workers, while_waiting):
        _log.debug("read %s (%s)", path, "recognised" if found is not None else "not an input")
        if found is None:
            continue
        scanned.append(path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix())
        inventory.merge(found)
    from ..iam.policy import malformed_policy_gaps

    inventory.coverage_gaps.extend(malformed_policy_gaps(inventory))
    return inventory, scanned
