"""Deployment packages and layers as read-only sets of files: a directory, a zip read in memory, or inline code.

Nothing is ever extracted to disk, executed or imported. A package is hostile input: a zip may be a bomb (a huge
compression ratio, millions of entries, entries overlapping the same compressed bytes), name files outside the
package (``../``, ``/etc/x``, ``C:\\x``), hold symlinks, be encrypted or corrupt, or nest zips in zips. Each of
these is bounded by :class:`ArchiveLimits` and recorded as a :class:`PackageProblem`; rules turn problems into
coverage gaps (:func:`package_gaps`), so an unreadable package never looks clean.

Memory stays bounded whatever the input: the central directory is parsed for at most ``max_entries`` entries
(a larger one is cut before :mod:`zipfile` sees it), an entry is only ever read through a stream bounded by its
declared size, whole reads are capped by ``max_file_bytes``, and hashes are streamed.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import os
import posixpath
import re
import stat
import struct
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import IO, Any, BinaryIO, Final

from lambdasec.fast_dataclass import dataclass

from ..model.inventory import CodeLocation, CoverageGap, Inventory, Resource
from ..model.location import Location
from ..model.values import Unresolved, literal

# Only entries bigger than this are judged by their compression ratio: small files of repeated bytes (a
# zero-filled 64 KiB data file) legitimately compress more than 100:1 and cost nothing to read.
RATIO_MIN_BYTES: Final = 1 << 20
CHUNK_BYTES: Final = 1 << 20
ZIP_SUFFIXES: Final = (".zip", ".jar")
# Tool and version-control directories of a source tree: never part of what a function runs. node_modules and
# vendored site-packages ARE listed: third-party code is what this module is for.
SKIPPED_DIRECTORIES: Final = frozenset({
    ".git", ".hg", ".svn", ".venv", "__pycache__", ".aws-sam", ".serverless", ".terraform", ".tox", ".mypy_cache",
    ".pytest_cache", ".ruff_cache",
})
MAX_PROBLEMS_PER_KIND: Final = 100
# Problem kinds that mean part of the package was not seen (listing stopped, entries not readable).
INCOMPLETE_KINDS: Final = frozenset({"limit", "corrupt", "unreadable", "nested"})
# zipfile can read these compression methods (stored, deflate, bzip2, lzma).
_SUPPORTED_COMPRESSION: Final = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2,
                                           zipfile.ZIP_LZMA})
_OPEN_PACKAGES: Final = 64  # zip files kept open at once by load_package's memo; the others reopen when read
_DRIVE: Final = re.compile(r"^[A-Za-z]:")
_UNPRINTABLE: Final = re.compile(r"[\x00-\x1f\x7f]")
_READ_ERRORS: Final = (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, RuntimeError,
                       NotImplementedError, ValueError, struct.error)


# ---------------------------------------------------------------- limits
@dataclass(frozen=True)
class ArchiveLimits:
    max_total_bytes: int = 1 << 30  # uncompressed bytes listed in one package (all nesting levels)
    max_file_bytes: int = 64 << 20  # one entry read for content; larger entries are listed, not read
    max_ratio: float = 100.0  # uncompressed/compressed per entry (zip bomb)
    max_entries: int = 100_000  # entries in one package, nested ones included
    max_depth: int = 2  # zips inside zips read this deep (a layer zip in a zip: depth 1)

    def __post_init__(self) -> None:
        for spec in fields(self):
            _check_limit(spec.name, getattr(self, spec.name))


def _check_limit(name: str, number: object) -> None:
    wanted: tuple[type, ...] = (int, float) if name == "max_ratio" else (int,)
    if isinstance(number, bool) or not isinstance(number, wanted):
        raise ValueError(f"archive limit {name} must be {'a number' if name == 'max_ratio' else 'an integer'}, "
                         f"not {type(number).__name__}")
    value = float(number)  # type: ignore[arg-type]  # checked just above
    if value < 0 or value != value:  # NaN is not a limit either
        raise ValueError(f"archive limit {name} must not be negative")


def limits_from_options(options: Mapping[str, Any]) -> ArchiveLimits:
    """The limits rules should use: ``options["archive_limits"]`` (an ArchiveLimits or a mapping), else defaults."""
    given = options.get("archive_limits")
    if given is None:
        return ArchiveLimits()
    if isinstance(given, ArchiveLimits):
        return given
    if not isinstance(given, Mapping):
        raise ValueError(f"archive_limits must be a mapping, not {type(given).__name__}")
    known = {spec.name for spec in fields(ArchiveLimits)}
    unknown = sorted(str(key) for key in given if key not in known)
    if unknown:
        raise ValueError(f"archive_limits: unknown key(s): {', '.join(unknown)}")
    chosen = {key: number for key, number in given.items() if number is not None}
    for key, number in chosen.items():
        _check_limit(str(key), number)
    return ArchiveLimits(**chosen)


# ---------------------------------------------------------------- what a package is
@dataclass(frozen=True)
class PackageFile:
    path: str  # POSIX path relative to the package root; a member of a nested zip: "libs/x.zip!/a/b.py"
    size: int  # uncompressed size (declared for zip entries)
    executable: bool  # unix mode has an execute bit (zip external_attr, or the file's mode on disk)


@dataclass(frozen=True)
class PackageProblem:
    kind: str  # "limit" | "traversal" | "absolute-path" | "symlink" | "corrupt" | "unreadable" | "nested"
    message: str  # one line, no secret in it
    path: str = ""  # the entry concerned, if any (printable: control characters escaped)


class PackageError(Exception):
    """The package cannot be opened at all (missing, not a zip, corrupt central directory, not local).

    ``expected_local`` is True when the code should have been readable here (a local path that is missing or is
    not a zip): that is a coverage gap. Code in S3 or in an image is simply out of reach of a static scan.
    """

    def __init__(self, message: str, *, expected_local: bool = True, kind: str = "unreadable") -> None:
        super().__init__(message)
        self.message = message
        self.expected_local = expected_local
        self.kind = kind  # "missing" | "corrupt" | "unreadable" | "remote"
        # The collector already reported this (SAM: "CodeUri 'x' of Fn does not exist"): no second gap.
        self.already_reported = False


class PackageReadError(OSError):
    """An entry turned out unreadable while streamed (bad CRC, truncated data): the problem is recorded."""


def shown(name: str, limit: int = 200) -> str:
    """An entry name safe for a one-line message: control characters escaped, long names cut."""
    text = _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", name)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Package:
    """Read-only view of one deployment package or layer (see the module docstring)."""

    def __init__(self, label: str, kind: str, limits: ArchiveLimits) -> None:
        self.label = label  # as users see it, relative to the scan root: "build/orders.zip", "src/orders"
        self.kind = kind  # "directory" | "zip" | "inline"
        self.limits = limits
        self.files: list[PackageFile] = []  # sorted by path
        # What was skipped or could not be read: the first MAX_PROBLEMS_PER_KIND of each kind; problem_counts
        # has the full count (a hostile zip may hold a million bad names).
        self.problems: list[PackageProblem] = []
        self.problem_counts: dict[str, int] = {}
        self._problem_set: set[PackageProblem] = set()
        self._by_path: dict[str, PackageFile] = {}
        # Each listed path -> the nested zip it was listed from ("" for the package's own files) and, for zip
        # entries, its ZipInfo: never parse "a.zip!/b" back, a hostile entry may be named that way.
        self._container_of: dict[str, str] = {}
        self._infos: dict[str, zipfile.ZipInfo] = {}
        self._containers: OrderedDict[str, zipfile.ZipFile] = OrderedDict()  # nested zips read lately
        self._not_readable: set[str] = set()  # listed, but never read (ratio, encrypted, overlapping...)
        self._hashes: dict[str, str | None] = {}
        self._digest: str | None = None
        self._entries = 0
        self._total = 0
        self._stopped = False  # a limit stopped the listing
        self._streams = 0  # streams handed out and not closed yet: close() must not pull the file from under them

    # ------------------------------------------------------------ public API
    @property
    def complete(self) -> bool:
        """False when a limit stopped the listing, or part of the package could not be read."""
        return not any(kind in INCOMPLETE_KINDS for kind in self.problem_counts)

    def file(self, path: str) -> PackageFile | None:
        return self._by_path.get(path)

    def read(self, path: str) -> bytes | None:
        """The whole content; None if missing, unreadable or larger than ``max_file_bytes``."""
        entry = self._by_path.get(path)
        if entry is None or entry.size > self.limits.max_file_bytes:
            return None
        stream = self.open(path)
        if stream is None:
            return None
        try:
            with stream:
                return stream.read()
        except _READ_ERRORS:
            return None

    def open(self, path: str) -> BinaryIO | None:
        """A stream of the entry, never more than its declared size (reading may raise :class:`PackageReadError`
        when the data turns out corrupt; the problem is then recorded)."""
        entry = self._by_path.get(path)
        if entry is None or path in self._not_readable:
            return None
        try:
            raw = self._open_raw(path)
        except _READ_ERRORS as exc:
            self._unreadable(path, f"cannot be read ({_reason(exc)})")
            return None
        if raw is None:
            return None
        return io.BufferedReader(_BoundedStream(raw, entry.size, self, path), CHUNK_BYTES)

    def sha256(self, path: str) -> str | None:
        """Hex sha256 of the entry's content, streamed (any size), cached; None when it cannot be read."""
        if path not in self._hashes:
            self._hashes[path] = self._hash_entry(path)
        return self._hashes[path]

    def digest(self) -> str:
        """A sha256 hex identifying the content: a digest of the sorted (path, sha256) list of the files (nested
        zip members excluded: the nested zip's own hash covers them). A zip file overrides this with the sha256
        of its bytes."""
        if self._digest is None:
            listing = hashlib.sha256()
            for entry in self.files:
                if "!/" not in entry.path:
                    listing.update(f"{self.sha256(entry.path) or 'unreadable'}  {entry.path}\n".encode())
            self._digest = listing.hexdigest()
        return self._digest

    def close(self) -> None:
        """Release open files; a later read reopens them."""
        for archive in self._containers.values():
            archive.close()
        self._containers.clear()

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label!r}: {len(self.files)} files, {len(self.problems)} problems>"

    # ------------------------------------------------------------ for subclasses
    def _open_raw(self, path: str) -> IO[bytes] | None:
        container = self._container_of.get(path)
        if container is None:
            return None
        if container:
            archive, info = self._container(container), self._infos.get(path)
            return archive.open(info) if archive is not None and info is not None else None
        return self._open_own(path)

    def _open_own(self, path: str) -> IO[bytes] | None:
        """One of the package's own files (not a member of a nested zip)."""
        raise NotImplementedError

    def _listed(self, entry: PackageFile, container: str, info: zipfile.ZipInfo | None = None) -> None:
        """Add a listed file; a name already listed from elsewhere (a file literally named "x.zip!/a" beside the
        nested zip x.zip) would hide one of the two: said, and the later one kept."""
        if self._container_of.get(entry.path, container) != container:
            self._problem("corrupt", f"{shown(entry.path)}: two different files have this name (one in a nested "
                                     "zip): only the last one listed is read", entry.path)
        self._container_of[entry.path] = container
        if info is not None:
            self._infos[entry.path] = info
        self._by_path[entry.path] = entry  # a later entry of the same name replaces the earlier one

    def _container(self, container: str) -> zipfile.ZipFile | None:
        if container in self._containers:
            self._containers.move_to_end(container)
            return self._containers[container]
        archive = self._nested_archive(container, self.limits.max_entries)
        if archive is not None:
            self._containers[container] = archive
            while len(self._containers) > 2:  # members are read in path order: one container at a time
                self._containers.popitem(last=False)[1].close()
        return archive

    def _problem(self, kind: str, message: str, path: str = "") -> None:
        problem = PackageProblem(kind, message, shown(path))
        if problem in self._problem_set:
            return
        count = self.problem_counts.get(kind, 0)
        self.problem_counts[kind] = count + 1
        if count < MAX_PROBLEMS_PER_KIND:
            self._problem_set.add(problem)
            self.problems.append(problem)

    def _unreadable(self, path: str, why: str, kind: str = "corrupt") -> None:
        self._not_readable.add(path)
        self._hashes[path] = None
        self._problem(kind, f"{shown(path)}: {why}", path)

    def _count_entry(self) -> bool:
        """One more entry (a file, or any record of a zip's central directory) against ``max_entries``; False, and
        the listing stops, past it."""
        if self._stopped:
            return False
        if self._entries + 1 > self.limits.max_entries:
            return self._stop(f"more than {self.limits.max_entries} entries (max_entries): the rest were not listed")
        self._entries += 1
        return True

    def _admit_bytes(self, path: str, size: int) -> bool:
        """The entry's declared size against ``max_total_bytes``; False, and the listing stops, past it."""
        if self._stopped:
            return False
        if self._total + size > self.limits.max_total_bytes:
            return self._stop(f"more than {self.limits.max_total_bytes} bytes uncompressed (max_total_bytes) at "
                              f"{shown(path)}: the rest were not listed")
        self._total += size
        return True

    def _stop(self, message: str) -> bool:
        self._stopped = True
        self._problem("limit", message)
        return False

    def _finish(self) -> None:
        self.files = sorted(self._by_path.values(), key=lambda entry: entry.path)

    def _hash_entry(self, path: str) -> str | None:
        stream = self.open(path)
        if stream is None:
            return None
        digest = hashlib.sha256()
        try:
            with stream:
                for chunk in iter(lambda: stream.read(CHUNK_BYTES), b""):
                    digest.update(chunk)
        except _READ_ERRORS:
            return None
        return digest.hexdigest()

    # ------------------------------------------------------------ nested zips
    def _nested(self, container: str, size: int, depth: int) -> None:
        """List the members of a zip inside the package (``container``), ``depth`` levels down."""
        if depth > self.limits.max_depth:
            self._problem("nested", f"{shown(container)}: a zip nested {depth} levels deep, not opened "
                                    f"(max_depth {self.limits.max_depth})", container)
            return
        if size > self.limits.max_file_bytes:
            self._problem("limit", f"{shown(container)}: nested zip of {size} bytes not opened "
                                   f"(max_file_bytes {self.limits.max_file_bytes})", container)
            return
        try:
            # Listing holds no more entries than the budget left.
            archive = self._nested_archive(container, self.limits.max_entries - self._entries)
        except PackageError as exc:
            self._problem("corrupt", f"{shown(container)}: nested zip not readable ({exc.message})", container)
            return
        if archive is None:
            return
        with archive:
            _ZipLister(self, archive, container + "!/", depth).run()

    def _nested_archive(self, container: str, max_entries: int) -> zipfile.ZipFile | None:
        """The nested zip read into memory (it is at most ``max_file_bytes``)."""
        data = self.read(container)
        if data is None:
            return None
        return _open_zip(io.BytesIO(data), max_entries, shown(container))


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return shown(f"{type(exc).__name__}: {text}" if text else type(exc).__name__, 160)


class _BoundedStream(io.RawIOBase):
    """Reads at most ``size`` bytes from ``inner``; an entry longer than declared is reported as corrupt."""

    def __init__(self, inner: IO[bytes], size: int, package: Package, path: str) -> None:
        super().__init__()
        self._inner = inner
        self._left = size
        self._package = package
        self._path = path
        package._streams += 1

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        try:
            if self._left <= 0:
                # One byte past the declared size: makes zipfile check the CRC, and catches a file that grew.
                if self._inner.read(1):
                    self._package._unreadable(self._path, "longer than its declared size")
                    raise PackageReadError(f"{self._path}: longer than its declared size")
                return 0
            data = self._inner.read(min(len(view), self._left))
        except PackageReadError:
            raise
        except _READ_ERRORS as exc:
            self._package._unreadable(self._path, f"cannot be read ({_reason(exc)})")
            raise PackageReadError(f"{self._path}: {_reason(exc)}") from None
        if not data:
            self._package._unreadable(self._path, "shorter than its declared size")
            raise PackageReadError(f"{self._path}: shorter than its declared size")
        view[: len(data)] = data
        self._left -= len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
            self._package._streams -= 1
        super().close()


# ---------------------------------------------------------------- zip files
_END = b"PK\x05\x06"
_END64 = b"PK\x06\x06"
_LOCATOR64 = b"PK\x06\x07"
_CENTRAL = b"PK\x01\x02"


def _central_directory(handle: BinaryIO) -> tuple[int, int, int] | None:
    """(size, declared offset, real start) of the central directory, found the way zipfile finds it (the end
    record, then a zip64 record just before it), or None when there is no end record."""
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - 22))
    record = handle.read(22)
    position = size - 22
    if not (len(record) == 22 and record[:4] == _END and record[-2:] == b"\0\0"):  # no archive comment
        start = max(0, size - (1 << 16) - 22)
        handle.seek(start)
        tail = handle.read(size - start)
        found = tail.rfind(_END)
        record = tail[found: found + 22]
        if found < 0 or len(record) < 22:
            return None
        position = start + found
    cd_size, cd_offset = struct.unpack("<2L", record[12:20])
    end = position
    if position >= 76:
        handle.seek(position - 76)
        zip64 = handle.read(76)
        if zip64[56:60] == _LOCATOR64 and zip64[:4] == _END64:
            cd_size, cd_offset = struct.unpack("<2Q", zip64[40:56])
            end = position - 76
    if cd_size > end:
        raise PackageError("bad central directory size or offset", kind="corrupt")
    return cd_size, cd_offset, end - cd_size  # data prepended to the archive shifts the real start


def _count_records(handle: BinaryIO, cd_start: int, cd_size: int, limit: int) -> tuple[int, int]:
    """(records, bytes) of the first ``limit`` records of the central directory, or of all of them if fewer.

    The count is ours, not the end record's: zipfile parses as many records as the directory's declared size
    holds, whatever entry count the end record claims."""
    handle.seek(cd_start)
    buffer, at = b"", 0  # at: position of the next record in buffer
    records = taken = 0

    def have(count: int) -> bytes:
        nonlocal buffer, at
        if len(buffer) - at < count:
            buffer = buffer[at:] + handle.read(max(CHUNK_BYTES, count))
            at = 0
            if len(buffer) < count:
                raise PackageError("truncated central directory", kind="corrupt")
        return buffer

    while taken < cd_size and records < limit:
        header = have(46)
        if header[at: at + 4] != _CENTRAL:
            raise PackageError("bad magic number for central directory", kind="corrupt")
        name, extra, comment = struct.unpack("<3H", header[at + 28: at + 34])
        length = 46 + name + extra + comment
        have(length)
        at += length
        taken += length
        records += 1
    if taken > cd_size:
        raise PackageError("central directory larger than declared", kind="corrupt")
    return records, taken


class _ZipView(io.RawIOBase):
    """The archive as zipfile should see it: its bytes up to the end of the first ``keep`` bytes of its central
    directory, then an end record we wrote, saying how many records that is. zipfile then holds only the entries
    we counted, whatever the archive's own end record claims."""

    def __init__(self, inner: BinaryIO, cd_start: int, keep: int, entries: int, cd_offset: int) -> None:
        super().__init__()
        self._inner = inner
        self._cut = cd_start + keep
        if entries < 0xFFFF and keep < 0xFFFFFFFF and cd_offset < 0xFFFFFFFF:
            self._tail = struct.pack("<4s4H2LH", _END, 0, 0, entries, entries, keep, cd_offset, 0)
        else:
            record = struct.pack("<4sQ2H2L4Q", _END64, 44, 45, 45, 0, 0, entries, entries, keep, cd_offset)
            locator = struct.pack("<4sLQL", _LOCATOR64, 0, self._cut, 1)
            self._tail = record + locator + struct.pack("<4s4H2LH", _END, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                                                        0xFFFFFFFF, 0)
        self._size = self._cut + len(self._tail)
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), max(0, self._size - self._position))
        if wanted == 0:
            return 0
        if self._position < self._cut:
            self._inner.seek(self._position)
            data = self._inner.read(min(wanted, self._cut - self._position))
        else:
            offset = self._position - self._cut
            data = self._tail[offset: offset + wanted]
        view[: len(data)] = data
        self._position += len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
        super().close()


def _open_zip(handle: BinaryIO, max_entries: int, label: str) -> zipfile.ZipFile:
    """zipfile.ZipFile over ``handle``, holding at most ``max_entries`` + 1 entries (one more than allowed, so the
    lister can tell the limit was hit). Raises PackageError with a one-line reason."""
    try:
        found = _central_directory(handle)
        if found is None:
            raise PackageError(f"{label}: not a zip (no end of central directory record)", kind="corrupt")
        cd_size, cd_offset, cd_start = found
        records, keep = _count_records(handle, cd_start, cd_size, max_entries + 1)
        return zipfile.ZipFile(io.BufferedReader(_ZipView(handle, cd_start, keep, records, cd_offset)))
    except PackageError as exc:
        if exc.message.startswith(label):
            raise
        raise PackageError(f"{label}: corrupt zip ({exc.message})", kind="corrupt") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, struct.error,
            UnicodeDecodeError, NotImplementedError, OverflowError) as exc:
        raise PackageError(f"{label}: corrupt zip ({_reason(exc)})", kind="corrupt") from None


class _ZipLister:
    """Lists one zip (the package itself or a nested one) into a package, entry by entry, within the limits."""

    def __init__(self, package: Package, archive: zipfile.ZipFile, prefix: str, depth: int) -> None:
        self.package = package
        self.archive = archive
        self.prefix = prefix  # "" for the package itself, "libs/x.zip!/" for a nested zip
        self.depth = depth
        self.infos: dict[str, zipfile.ZipInfo] = {}

    def run(self) -> dict[str, zipfile.ZipInfo]:
        package = self.package
        nested: list[tuple[str, int]] = []
        for info in self.archive.infolist():
            if not package._count_entry():
                break
            path = self._accepted(info)
            if path is None:
                continue
            if not package._admit_bytes(path, info.file_size):
                break
            self._record(info, path)
            if path.lower().endswith(ZIP_SUFFIXES) and path not in package._not_readable:
                nested.append((path, info.file_size))
        self._overlaps()
        for container, size in nested:
            if not package._stopped:
                package._nested(container, size, self.depth + 1)
        return self.infos

    def _accepted(self, info: zipfile.ZipInfo) -> str | None:
        """The entry's path in the package, or None when it is skipped (directories, bad names, symlinks)."""
        raw = info.filename
        mode = info.external_attr >> 16
        if info.is_dir() or stat.S_ISDIR(mode):
            return None
        name = raw.replace("\\", "/")
        full = self.prefix + raw
        if name.startswith("/") or _DRIVE.match(name):
            self.package._problem("absolute-path", f"{shown(full)}: absolute path, skipped", full)
            return None
        parts = [part for part in name.split("/") if part not in ("", ".")]
        if ".." in parts:
            self.package._problem("traversal", f"{shown(full)}: path leaves the package ('..'), skipped", full)
            return None
        if stat.S_ISLNK(mode):
            self.package._problem("symlink", f"{shown(full)}: symbolic link, not followed", full)
            return None
        return self.prefix + "/".join(parts) if parts else None

    def _record(self, info: zipfile.ZipInfo, path: str) -> None:
        package = self.package
        previous = self.infos.get(path)
        if previous is not None and (previous.CRC, previous.file_size) != (info.CRC, info.file_size):
            package._problem("corrupt", f"{shown(path)}: several different entries with this name: the last one "
                                        "is read (unzip keeps the last)", path)
        self.infos[path] = info
        package._not_readable.discard(path)
        package._hashes.pop(path, None)
        executable = bool((info.external_attr >> 16) & 0o111)
        package._listed(PackageFile(path, info.file_size, executable), self.prefix.removesuffix("!/"), info)
        limits = package.limits
        if info.flag_bits & 0x1:
            package._unreadable(path, "encrypted, not read", "unreadable")
        elif info.compress_type not in _SUPPORTED_COMPRESSION:
            package._unreadable(path, f"compression method {info.compress_type} is not supported", "unreadable")
        elif info.file_size > RATIO_MIN_BYTES and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            package._unreadable(path, f"compression ratio {ratio:.0f} above max_ratio {limits.max_ratio:g} "
                                      f"({info.file_size} bytes from {info.compress_size}): zip bomb?, not read",
                                "limit")

    def _overlaps(self) -> None:
        """Entries whose data overlap another's: the "overlapping files" zip bomb, never a real archive."""
        ordered = sorted(self.infos.items(), key=lambda item: item[1].header_offset)
        for (_, first), (path, second) in zip(ordered, ordered[1:], strict=False):
            encoding = "utf-8" if first.flag_bits & 0x800 else "cp437"
            name_bytes = len(first.orig_filename.encode(encoding, errors="replace"))
            if first.header_offset + 30 + name_bytes + first.compress_size > second.header_offset:
                self.package._unreadable(path, "its data overlaps another entry's (a zip bomb construction), "
                                               "not read")


class ZipPackage(Package):
    """A zip file on disk (``kind == "zip"``), read in place."""

    def __init__(self, path: Path, label: str, limits: ArchiveLimits) -> None:
        super().__init__(label, "zip", limits)
        self.path = path
        self._archive: zipfile.ZipFile | None = None
        self._owner_pid = 0
        archive = self._top()
        _ZipLister(self, archive, "", 0).run()
        self._finish()

    def _top(self) -> zipfile.ZipFile:
        # A forked rule process must not share the parent's file offset: reopen there.
        if self._archive is None or self._owner_pid != os.getpid():
            try:
                handle = self.path.open("rb")
            except OSError as exc:
                raise PackageError(f"{self.label}: cannot be opened ({_reason(exc)})") from None
            try:
                self._archive = _open_zip(handle, self.limits.max_entries, self.label)
            except PackageError:
                handle.close()
                raise
            self._owner_pid = os.getpid()
        return self._archive

    def _open_own(self, path: str) -> IO[bytes] | None:
        info = self._infos.get(path)
        return self._top().open(info) if info is not None else None

    def digest(self) -> str:
        """The sha256 of the zip file's bytes (what Lambda's CodeSha256 is computed from)."""
        if self._digest is None:
            digest = hashlib.sha256()
            with self.path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
                    digest.update(chunk)
            self._digest = digest.hexdigest()
        return self._digest

    def close(self) -> None:
        if self._streams:  # a reader still holds an entry: the memo will close this package again later
            return
        super().close()
        if self._archive is not None:
            fp = self._archive.fp
            self._archive.close()
            if fp is not None:
                fp.close()
            self._archive = None


# ---------------------------------------------------------------- directories
def _open_regular(path: Path) -> BinaryIO:
    """Open a regular file without following a symlink (it may have been swapped since the listing) and without
    blocking on a FIFO."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError("not a regular file")
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


class DirectoryPackage(Package):
    """A directory on disk (``kind == "directory"``): every regular file but tool directories, never following
    symlinks. ``only`` restricts it to one file of the directory (a one-file package); ``excludes`` are paths or
    glob patterns left out of it (Terraform archive_file ``excludes``)."""

    def __init__(self, root: Path, label: str, limits: ArchiveLimits, *, only: str | None = None,
                 excludes: Sequence[str] = ()) -> None:
        super().__init__(label, "directory", limits)
        self.root = root
        self.excludes = tuple(pattern.strip().removeprefix("./").strip("/") for pattern in excludes)
        if only is not None:
            self._list_one(only)
        else:
            self._walk()
        self._finish()

    def disk_path(self, path: str) -> Path | None:
        """The file on disk for a listed path (None for members of nested zips)."""
        return self.root / path if self._container_of.get(path) == "" else None

    def _walk(self) -> None:
        def unreadable_directory(error: OSError) -> None:
            where = Path(error.filename or self.root)
            relative = where.relative_to(self.root).as_posix() if where.is_relative_to(self.root) else str(where)
            self._problem("unreadable", f"{shown(relative)}: directory cannot be listed ({_reason(error)})",
                          relative)

        nested: list[tuple[str, int]] = []
        top = os.fspath(self.root)
        for directory, dirnames, filenames in os.walk(top, onerror=unreadable_directory, followlinks=False):
            # Plain string operations: pathlib costs more than the listing itself on packages of many files.
            base = directory[len(top):].lstrip(os.sep).replace(os.sep, "/")
            prefix = base + "/" if base else ""
            kept = []
            for name in sorted(dirnames):
                if name in SKIPPED_DIRECTORIES or self._excluded(prefix + name):
                    continue
                if os.path.islink(os.path.join(directory, name)):
                    self._problem("symlink", f"{shown(prefix + name)}: symbolic link to a directory, not followed",
                                  prefix + name)
                    continue
                kept.append(name)
            dirnames[:] = kept
            for name in sorted(filenames):
                if self._stopped:
                    break
                if self._excluded(prefix + name):
                    continue
                added = self._list_file(os.path.join(directory, name), prefix + name)
                if added is not None and name.lower().endswith(ZIP_SUFFIXES):
                    nested.append((added.path, added.size))
            if self._stopped:
                break
        for container, size in nested:
            if not self._stopped:
                self._nested(container, size, 1)

    def _excluded(self, path: str) -> bool:
        return any(path == pattern or fnmatch.fnmatchcase(path, pattern) for pattern in self.excludes if pattern)

    def _list_one(self, name: str) -> None:
        added = self._list_file(self.root / name, name)
        if added is not None and name.lower().endswith(ZIP_SUFFIXES) and not self._stopped:
            self._nested(added.path, added.size, 1)

    def _list_file(self, full: str | Path, path: str) -> PackageFile | None:
        try:
            info = os.lstat(full)
        except OSError as exc:
            self._problem("unreadable", f"{shown(path)}: cannot be read ({_reason(exc)})", path)
            return None
        if stat.S_ISLNK(info.st_mode):
            self._problem("symlink", f"{shown(path)}: symbolic link, not followed", path)
            return None
        if not stat.S_ISREG(info.st_mode):
            self._problem("unreadable", f"{shown(path)}: not a regular file, skipped", path)
            return None
        if not self._count_entry() or not self._admit_bytes(path, info.st_size):
            return None
        entry = PackageFile(path, info.st_size, bool(info.st_mode & 0o111))
        self._listed(entry, "")
        return entry

    def _open_own(self, path: str) -> IO[bytes] | None:
        return _open_regular(self.root / path)


# ---------------------------------------------------------------- inline code
class InlinePackage(Package):
    """CloudFormation ``Code.ZipFile`` source: one file (Lambda names it index.py or index.js)."""

    def __init__(self, name: str, text: str, label: str) -> None:
        super().__init__(label, "inline", ArchiveLimits())
        self._data = text.encode("utf-8")
        self._listed(PackageFile(name, len(self._data), False), "")
        self._finish()

    def _open_own(self, path: str) -> IO[bytes] | None:
        return io.BytesIO(self._data)


# ---------------------------------------------------------------- opening
def open_package(path: Path, label: str, limits: ArchiveLimits = ArchiveLimits()) -> Package:
    """A directory or a zip file as a package; raises :class:`PackageError` when it cannot be opened at all."""
    if path.is_dir():
        return DirectoryPackage(path, label, limits)
    if not path.exists():
        raise PackageError(f"{label}: no such file or directory", kind="missing")
    if not path.is_file():
        raise PackageError(f"{label}: neither a directory nor a zip file")
    if not _looks_like_zip(path):
        raise PackageError(f"{label}: neither a directory nor a zip file", kind="corrupt")
    return ZipPackage(path, label, limits)


def _looks_like_zip(path: Path) -> bool:
    if path.name.lower().endswith(ZIP_SUFFIXES):
        return True
    try:
        with path.open("rb") as handle:
            return handle.read(4) in (b"PK\x03\x04", b"PK\x05\x06")
    except OSError:
        return False


def inline_package(name: str, text: str, *, label: str = "inline code") -> Package:
    return InlinePackage(name, text, label)


# ---------------------------------------------------------------- from the inventory
@dataclass(frozen=True)
class PackageTarget:
    owner: Resource  # the Function, LayerVersion or CodePackage whose code this is
    role: str  # "function" | "layer" | "package"
    location: CodeLocation  # as in the inventory
    where: Location  # the template line that names the code (fn.at("CodeUri"), ...), for findings


# Property names under which collectors record where the code is named (SAM CodeUri/ContentUri become Code/Content).
_CODE_PROPERTIES: Final = ("Code", "CodeUri", "InlineCode", "Content", "ContentUri")


def _where(owner: Resource) -> Location:
    for name in _CODE_PROPERTIES:
        if name in owner.property_locations:
            return owner.property_locations[name]
    return owner.location


def package_targets(inventory: Inventory) -> list[PackageTarget]:
    """Every function with a Zip package, every layer with content, every package named on the command line."""
    targets: list[PackageTarget] = []
    for fn in inventory.functions:
        if fn.package_type != "Image":
            code = fn.code if fn.code is not None else CodeLocation("unknown")
            if code.kind != "image":
                targets.append(PackageTarget(fn, "function", code, _where(fn)))
    for layer in inventory.layers:
        if layer.content is not None:
            targets.append(PackageTarget(layer, "layer", layer.content, _where(layer)))
    for package in inventory.packages:
        targets.append(PackageTarget(package, "package", package.content, package.location))
    return targets


class _PackageMemo:
    """load_package's memo, kept in ``inventory.derived``: one package per (resolved path, limits), with at most
    ``_OPEN_PACKAGES`` zip files open (the others are closed and reopen when read again)."""

    def __init__(self, opened: Callable[[], None] | None = None) -> None:
        # Called once per target when it is first read (the engine's progress bar over code and layers).
        self.opened = opened
        self.packages: dict[tuple[str, ArchiveLimits], Package | PackageError] = {}
        # Each rule reading code asks for every target: finding the path again costs a realpath per target.
        self.by_target: dict[tuple[str, str, ArchiveLimits], Package | PackageError] = {}
        self.open: OrderedDict[int, Package] = OrderedDict()

    def used(self, package: Package) -> None:
        if not isinstance(package, ZipPackage):
            return
        self.open[id(package)] = package
        self.open.move_to_end(id(package))
        while len(self.open) > _OPEN_PACKAGES:
            self.open.popitem(last=False)[1].close()


def watch_packages(inventory: Inventory, opened: Callable[[], None]) -> None:
    """Call ``opened`` each time the scan first reads a target's package (rules read them lazily)."""
    memo = inventory.derived.get("packages")
    if isinstance(memo, _PackageMemo):
        memo.opened = opened
    else:
        inventory.derived["packages"] = _PackageMemo(opened)


def load_package(target: PackageTarget, inventory: Inventory, roots: Sequence[Path],
                 limits: ArchiveLimits) -> Package | PackageError:
    """The package a target names, read once per scan (memoized in ``inventory.derived["packages"]``)."""
    memo = inventory.derived.get("packages")
    if not isinstance(memo, _PackageMemo):
        memo = inventory.derived["packages"] = _PackageMemo()
    target_key = (target.owner.key, target.role, limits)
    if target_key not in memo.by_target:
        memo.by_target[target_key] = _load(target, inventory, roots, limits, memo)
        if memo.opened is not None:
            memo.opened()
    package = memo.by_target[target_key]
    if isinstance(package, Package):
        memo.used(package)
    return package


def _load(target: PackageTarget, inventory: Inventory, roots: Sequence[Path], limits: ArchiveLimits,
          memo: _PackageMemo) -> Package | PackageError:
    found = _locate(target, roots)
    if isinstance(found, PackageError):
        return found
    if isinstance(found, InlinePackage):
        key = (f"inline:{target.owner.key}", limits)
        return memo.packages.setdefault(key, found)
    path, label, code = found
    key = (f"{path.resolve()}|{code.single_file}|{code.excludes}", limits)
    if key not in memo.packages:
        memo.packages[key] = _open_located(path, label, limits, code)
    package = memo.packages[key]
    if isinstance(package, Package):
        memo.used(package)
    elif package.kind == "missing" and _reported_missing(inventory, target.owner):
        package = PackageError(package.message, kind="missing")
        package.already_reported = True
    return package


def _reported_missing(inventory: Inventory, owner: Resource) -> bool:
    return any(gap.kind == "missing-file" and gap.location == owner.location for gap in inventory.coverage_gaps)


def _open_located(path: Path, label: str, limits: ArchiveLimits, code: CodeLocation) -> Package | PackageError:
    try:
        if code.single_file and path.is_file() and not path.is_symlink():
            return DirectoryPackage(path.parent, posixpath.dirname(label) or ".", limits, only=path.name)
        if code.excludes and path.is_dir():
            return DirectoryPackage(path, label, limits, excludes=code.excludes)
        return open_package(path, label, limits)
    except PackageError as exc:
        return exc


_Located = PackageError | InlinePackage | tuple[Path, str, CodeLocation]


def _locate(target: PackageTarget, roots: Sequence[Path]) -> _Located:
    """Where the target's code is: a local path with its label, inline code, or why it is not available."""
    from .function_code import runtime_language

    code = target.location
    owner = target.owner
    if code.kind == "image":
        return PackageError(f"the code of {owner.id} is a container image, not available to a static scan",
                            expected_local=False, kind="remote")
    if code.kind == "s3":
        where = code.value.expression if isinstance(code.value, Unresolved) else str(code.value or "")
        return PackageError(f"the code of {owner.id} is in S3 ({where}), not available locally",
                            expected_local=False, kind="remote")
    if code.kind == "inline":
        if code.inline is None:
            return PackageError(f"the inline code of {owner.id} is not known statically", expected_local=False)
        runtime = getattr(owner, "runtime", None)
        default = "index.js" if runtime_language(runtime) == "javascript" else "index.py"
        name = literal(code.value) or default
        return InlinePackage(name, code.inline, f"inline code of {owner.id}")
    if code.kind == "live":
        return PackageError(f"the code of {owner.id} is deployed in the account; scan with --download-code to "
                            "read it", expected_local=False, kind="remote")
    if code.kind != "local":
        return PackageError(f"the template does not say where the code of {owner.id} is", expected_local=False)
    if not isinstance(code.value, str):
        where = code.value.expression if isinstance(code.value, Unresolved) else str(code.value)
        return PackageError(f"the code path of {owner.id} is not known statically ({where})", expected_local=False)
    path, label = _local_path(owner, code.value, roots)
    return path, label, code


def _local_path(owner: Resource, value: str, roots: Sequence[Path]) -> tuple[Path, str]:
    """Resolve a local code path like function_code.locate does (scan roots, Terraform file, serverless)."""
    from .function_code import _beside_terraform_file, _root_of, _serverless_directory

    root = _root_of(owner, roots)
    label = _beside_terraform_file(root, value)
    path = Path(label) if Path(label).is_absolute() else root / label
    if path.is_absolute() and path.is_relative_to(root) and root != Path("."):
        label = path.relative_to(root).as_posix()  # e.g. code a live scan downloaded into its code directory
    if not path.exists() and posixpath.basename(posixpath.dirname(label)) == ".serverless":
        service = _serverless_directory(owner, root)
        if service is not None:  # not packaged yet: the Framework would package the service directory
            path = service
            label = (service.relative_to(root).as_posix() if service.is_relative_to(root) else service.as_posix())
            label = label or "."
    return path, label


def package_gaps(target: PackageTarget, package: Package | PackageError) -> list[CoverageGap]:
    """Coverage gaps for what could not be read: one per problem kind, at the template line naming the code.

    A PackageError is a gap only when the code should have been here (a local path missing or not a zip); code in
    S3 or in an image is out of a static scan's reach by design, which rules report as "not evaluated".
    """
    if isinstance(package, PackageError):
        if not package.expected_local or package.already_reported:
            return []
        return [CoverageGap(f"package-{package.kind}", f"{target.owner.id}: {package.message}", target.where)]
    gaps = []
    for kind in sorted(package.problem_counts):
        count = package.problem_counts[kind]
        first = next(problem for problem in package.problems if problem.kind == kind)
        if kind in _NAMED_KINDS:  # the headline says it all: name the first entry concerned
            detail = f" ({'first: ' if count > 1 else ''}{first.path})"
        else:
            detail = f": {first.message}" + (f" (and {count - 1} more)" if count > 1 else "")
        gaps.append(CoverageGap(f"package-{kind}", f"package {package.label}: {_headline(kind, count)}{detail}",
                                target.where))
    return gaps


_NAMED_KINDS: Final = frozenset({"traversal", "absolute-path", "symlink"})


def _headline(kind: str, count: int) -> str:
    plural = count > 1
    entries = "entries" if plural else "entry"
    return {
        "limit": "a reading limit was reached",
        "traversal": f"{count} {entries} with '..' in the path skipped",
        "absolute-path": f"{count} {entries} with an absolute path skipped",
        "symlink": f"{count} symbolic link{'s' if plural else ''} not followed",
        "corrupt": "corrupt content not read",
        "unreadable": f"{count} file{'s' if plural else ''} not read",
        "nested": f"{count} nested zip{'s' if plural else ''} not opened",
    }.get(kind, kind)


__all__ = [
    "ArchiveLimits", "DirectoryPackage", "InlinePackage", "Package", "PackageError",
    "PackageFile", "PackageProblem", "PackageReadError", "PackageTarget", "ZipPackage", "inline_package",
    "limits_from_options", "load_package", "open_package", "package_gaps", "package_targets",
]
