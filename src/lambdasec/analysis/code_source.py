"""A function's code as a read-only set of files: a directory, or a zip read in memory (never extracted).

Limits keep a hostile or accidental input harmless: at most :data:`MAX_ENTRIES` files are listed, a source file
larger than :data:`MAX_SOURCE_BYTES` is skipped (and reported), and a zip entry is read through a bounded
stream, so a zip bomb costs at most that many bytes. Paths are always POSIX and relative to the code root.
"""

from __future__ import annotations

import os
import posixpath
import stat
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

MAX_ENTRIES: Final = 100_000  # files listed in one code location
MAX_SOURCE_BYTES: Final = 2 * 1024 * 1024  # a larger source file is generated or bundled: skipped, with a note
MAX_ZIP_BYTES: Final = 512 * 1024 * 1024  # a zip larger than this is not opened
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


@dataclass
class DirectorySource:
    root: Path
    label: str = ""
    skipped: list[str] = field(default_factory=list)
    _files: list[str] | None = field(default=None, repr=False)
    _sizes: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.label = self.label or self.root.as_posix()

    def files(self) -> list[str]:
        if self._files is None:
            self._files = self._walk()
        return self._files

    def _walk(self) -> list[str]:
        found: list[str] = []
        for directory, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRECTORIES)
            relative = Path(directory).relative_to(self.root).as_posix()
            for name in sorted(filenames):
                if not _is_listed(name):
                    continue
                if len(found) >= MAX_ENTRIES:
                    self.skipped.append(f"more than {MAX_ENTRIES} files: the rest were not analysed")
                    return sorted(found)
                found.append(name if relative == "." else f"{relative}/{name}")
        return sorted(found)

    def _path(self, path: str) -> Path | None:
        normal = posixpath.normpath(path)
        if normal.startswith(("../", "/")) or normal == "..":
            return None
        return self.root / normal

    def size(self, path: str) -> int | None:
        if path in self._sizes:
            return self._sizes[path]
        target = self._path(path)
        try:
            info = target.stat() if target is not None else None
        except OSError:
            return None
        if info is None or not stat.S_ISREG(info.st_mode):
            return None
        self._sizes[path] = info.st_size
        return info.st_size

    def exists(self, path: str) -> bool:
        return self.size(path) is not None

    def read(self, path: str) -> bytes | None:
        size = self.size(path)
        target = self._path(path)
        if size is None or size > MAX_SOURCE_BYTES or target is None:
            return None
        try:
            with target.open("rb") as handle:
                return handle.read(MAX_SOURCE_BYTES + 1)[:MAX_SOURCE_BYTES]
        except OSError:
            return None


class ZipSource:
    """A deployment package read in memory. Entries outside the archive's root (``../``) are ignored."""

    def __init__(self, path: Path, label: str = "") -> None:
        self.label = label or path.as_posix()
        self.skipped: list[str] = []
        try:
            if path.stat().st_size > MAX_ZIP_BYTES:
                raise SourceError(f"{self.label}: zip larger than {MAX_ZIP_BYTES // (1024 * 1024)} MiB, not read")
            self._zip = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile, ValueError) as exc:
            raise SourceError(f"{self.label}: not a readable zip ({exc})") from None
        self._entries: dict[str, zipfile.ZipInfo] = {}
        for info in self._zip.infolist()[: MAX_ENTRIES + 1]:
            name = posixpath.normpath(info.filename.replace("\\", "/")).lstrip("/")
            if info.is_dir() or name.startswith("..") or any(p in SKIPPED_DIRECTORIES for p in name.split("/")[:-1]):
                continue
            if len(self._entries) >= MAX_ENTRIES:
                self.skipped.append(f"more than {MAX_ENTRIES} entries: the rest were not analysed")
                break
            self._entries.setdefault(name, info)

    def close(self) -> None:
        self._zip.close()

    def files(self) -> list[str]:
        return sorted(name for name in self._entries if _is_listed(posixpath.basename(name)))

    def size(self, path: str) -> int | None:
        info = self._entries.get(posixpath.normpath(path))
        return info.file_size if info is not None else None

    def exists(self, path: str) -> bool:
        return posixpath.normpath(path) in self._entries

    def read(self, path: str) -> bytes | None:
        info = self._entries.get(posixpath.normpath(path))
        if info is None or info.file_size > MAX_SOURCE_BYTES:
            return None
        try:
            with self._zip.open(info) as handle:  # bounded: the declared size may lie
                data = handle.read(MAX_SOURCE_BYTES + 1)
        except (OSError, zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, ValueError):
            return None  # encrypted, corrupt or an unsupported compression
        return data if len(data) <= MAX_SOURCE_BYTES else None


def open_source(path: Path, label: str = "") -> CodeSource:
    """A directory or a zip file as a code source; raises :class:`SourceError` when it cannot be read."""
    if path.is_dir():
        return DirectorySource(path, label)
    if path.is_file():
        return ZipSource(path, label)
    raise SourceError(f"{label or path.as_posix()}: no such file or directory")


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
