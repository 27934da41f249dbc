"""Walk the scan paths and hand each candidate file to the collector that understands it."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..model.inventory import CoverageGap, Inventory
from ..model.location import Location
from .options import CollectOptions

TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json", ".template")


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


def collect(paths: Iterable[Path], options: CollectOptions) -> tuple[Inventory, list[str]]:
    """The merged inventory of every recognised file, and the list of files that were recognised."""
    from .cloudformation.collector import collect_file

    inventory = Inventory()
    scanned: list[str] = []
    for path in paths:
        if not path.exists():
            inventory.coverage_gaps.append(CoverageGap("missing-file", f"path does not exist: {path}",
                                                       Location(str(path))))
    for file, root in candidate_files((p for p in paths if p.exists()), options):
        found = collect_file(file, root, options)
        if found is None:
            continue
        scanned.append(file.relative_to(root).as_posix() if file.is_relative_to(root) else file.as_posix())
        inventory.merge(found)
    return inventory, scanned
