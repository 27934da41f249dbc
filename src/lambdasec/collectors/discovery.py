"""Walk the scan paths and hand each candidate file to the collector that understands it."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..model.inventory import CoverageGap, Inventory
from ..model.location import Location
from .options import CollectOptions

TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json", ".template")
PARALLEL_THRESHOLD = 48


def candidate_files(paths: Iterable[Path], options: CollectOptions) -> Iterator[tuple[Path, Path]]:
    """(file, root) pairs; a file named explicitly is always a candidate, walked ones by suffix."""
    for path in paths:
        if path.is_file():
            yield path, path.parent
            continue
        for directory, dirnames, filenames in os.walk(path):
            dirnames[:] = sorted(d for d in dirnames if d not in options.skip_dirs)
            for name in sorted(filenames):
                if name.lower().endswith(TEMPLATE_SUFFIXES):
                    yield Path(directory) / name, path


def _collect_one(job: tuple[Path, Path, CollectOptions]) -> tuple[Path, Path, Inventory | None]:
    from .cloudformation.collector import collect_file

    file, root, options = job
    return file, root, collect_file(file, root, options)


def _results(jobs: list[tuple[Path, Path, CollectOptions]], workers: int) -> Iterator[
        tuple[Path, Path, Inventory | None]]:
    """Files are independent: past a few dozen, reading them in worker processes pays for the workers' start."""
    if workers <= 1 or len(jobs) < PARALLEL_THRESHOLD:
        yield from map(_collect_one, jobs)
        return
    import concurrent.futures
    import multiprocessing

    context = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield from pool.map(_collect_one, jobs, chunksize=max(1, len(jobs) // (workers * 8)))


def collect(paths: Iterable[Path], options: CollectOptions) -> tuple[Inventory, list[str]]:
    """The merged inventory of every recognised file, and the list of files that were recognised."""
    inventory = Inventory()
    scanned: list[str] = []
    paths = list(paths)
    for path in paths:
        if not path.exists():
            inventory.coverage_gaps.append(CoverageGap("missing-file", f"path does not exist: {path}",
                                                       Location(str(path))))
    jobs = [(file, root, options) for file, root in candidate_files((p for p in paths if p.exists()), options)]
    # Results come back in job order, so reports are identical whatever the number of workers.
    for file, root, found in _results(jobs, options.workers):
        if found is None:
            continue
        scanned.append(file.relative_to(root).as_posix() if file.is_relative_to(root) else file.as_posix())
        inventory.merge(found)
    return inventory, scanned
