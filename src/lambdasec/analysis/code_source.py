"""A function's code as a read-only set of source files, for the SDK analysers (IAM017, `lambdasec policy`).

The reading itself is analysis/packages.py's (directories and zips read in memory, never extracted, within its
limits): this module keeps the source files of it, at most :data:`MAX_ENTRIES` listed and none larger than
:data:`MAX_SOURCE_BYTES` read. Paths are always POSIX and relative to the code root.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from .packages import Package

MAX_ENTRIES: Final = 100_000  # files listed in one code location
MAX_SOURCE_BYTES: Final = 2 * 1024 * 1024  # a larger source file is generated or bundled: skipped, with a note
SOURCE_SUFFIXES: Final = (".py", ".js", ".mjs", ".cjs")
# Directories that hold tooling or dependencies, never the function's own code.
SKIPPED_DIRECTORIES: Final = frozenset({
    ".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache", ".pytest_cache",
    ".ruff_cache", ".aws-sam", ".serverless", "node_modules", ".idea", ".vscode",
})


class SourceError(Exception):
    """The code location cannot be read at all (missing, not a zip, too large)."""


class CodeSource(Protocol):
    """Read-only access to the files of one code location."""

    label: str  # shown in notes: the directory or zip path as the user gave it
    skipped: list[str]  # why some entries were not listed (limits), for notes

    def files(self) -> list[str]:
        """Source files (``SOURCE_SUFFIXES``) and package markers, relative POSIX paths, sorted."""
        ...

    def read(self, path: str) -> bytes | None:
        """The file's bytes, or None when it is missing or larger than ``MAX_SOURCE_BYTES``."""
        ...

    def size(self, path: str) -> int | None: ...

    def exists(self, path: str) -> bool: ...


def _is_listed(name: str) -> bool:
    return name.endswith(SOURCE_SUFFIXES) or name in ("top_level.txt", "RECORD", "package.json")


class PackageSource:
    """A package read by analysis/packages.py (size, ratio and entry limits, no path escapes, no symlinks, zips read
    in memory) seen as the source files of a function: tool and dependency directories left out, members of
    nested zips too, and no file larger than :data:`MAX_SOURCE_BYTES` read."""

    def __init__(self, package: Package) -> None:
        self.label = package.label
        self._package = package
        # Only a listing the limits cut short hides code; a skipped symlink or escaping entry is not the team's.
        self.skipped = [] if package.complete else [
            problem.message for problem in package.problems if problem.kind in ("limit", "corrupt")][:1]
        self._sizes = {f.path: f.size for f in package.files if "!/" not in f.path}  # any file: app.ts exists
        self._files = sorted(path for path in self._sizes if _is_source(path))

    def close(self) -> None:
        self._package.close()

    def files(self) -> list[str]:
        return self._files

    def size(self, path: str) -> int | None:
        return self._sizes.get(posixpath.normpath(path))

    def exists(self, path: str) -> bool:
        return posixpath.normpath(path) in self._sizes

    def read(self, path: str) -> bytes | None:
        size = self.size(path)
        if size is None or size > MAX_SOURCE_BYTES:
            return None
        data = self._package.read(posixpath.normpath(path))
        return data if data is not None and len(data) <= MAX_SOURCE_BYTES else None


def _is_source(path: str) -> bool:
    parts = path.split("/")
    return _is_listed(parts[-1]) and not any(part in SKIPPED_DIRECTORIES for part in parts[:-1])


def open_source(path: Path, label: str = "") -> PackageSource:
    """A directory or a zip file as a code source; raises :class:`SourceError` when it cannot be read."""
    from .packages import ArchiveLimits, PackageError, open_package

    try:
        return PackageSource(open_package(path, label or path.as_posix(), ArchiveLimits(max_entries=MAX_ENTRIES)))
    except PackageError as exc:
        raise SourceError(str(exc)) from None


def third_party_roots(source: CodeSource) -> frozenset[str]:
    """Top-level names of the packages installed into the code location by a package manager.

    ``pip install -t`` writes a ``<dist>.dist-info`` directory next to each package, whose ``RECORD`` lists the
    files it installed (``top_level.txt`` too, for setuptools builds): those are dependencies, not the
    function's own code, and are not analysed.
    """
    names: set[str] = set()
    for path in source.files():
        parent, _, base = path.rpartition("/")
        if base not in ("top_level.txt", "RECORD") or "/" in parent:
            continue
        if not parent.endswith((".dist-info", ".egg-info")):
            continue
        text = (source.read(path) or b"").decode("utf-8", "replace")
        for line in text.splitlines():
            entry = line.split(",", 1)[0].strip() if base == "RECORD" else line.strip()
            top = entry.split("/", 1)[0]
            if not top or top.endswith((".dist-info", ".egg-info", ".pth")) or top in ("..", "bin", "__pycache__"):
                continue
            names.add(top[: -len(".py")] if top.endswith(".py") else top)
    return frozenset(names)


def source_files(source: CodeSource, suffixes: Iterable[str]) -> list[str]:
    wanted = tuple(suffixes)
    return [path for path in source.files() if path.endswith(wanted)]
