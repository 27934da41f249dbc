"""Verify the Python distributions installed in a package against their ``*.dist-info/RECORD``.

Every installer following the wheel specification (pip, uv, poetry, ``sam build``) writes, in each distribution's
``<name>-<version>.dist-info`` directory, a RECORD: one CSV line per installed file with its path (relative to the
directory holding the ``.dist-info``, the "site root"), ``sha256=<urlsafe base64 digest without padding>`` and its
size. Comparing the package's files with it tells, without any network access:

* **unmodified** files: listed, and their content matches the hash. They are the published code of a third party,
  which the secrets scan skips by default (:func:`published_files`);
* **modified** files: listed, but the content differs (or the size does);
* **missing** files: listed with a hash but absent from the package;
* **added** files: not listed by any distribution, yet inside a directory that a distribution installed (a
  ``requests/evil.py`` next to requests' own modules). Bytecode (``__pycache__``, ``*.pyc``) is ignored, as are
  the ``bin/`` scripts directory that many distributions share and files inside ``.dist-info`` directories.

What this proves is *consistency*: a file changed after installation, by a build step or by hand. Someone who
rewrites a file *and* its RECORD line is not caught; that needs the published hashes of the index (the SBOM,
``lambdasec sbom``, lists the versions to compare). RECORD lines without a hash (the RECORD itself, bytecode pip
compiled at install time) cannot be checked and are counted as unverified.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import posixpath
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Final

from lambdasec.fast_dataclass import dataclass, field

if TYPE_CHECKING:
    from .packages import Package

DIST_INFO_SUFFIX: Final = ".dist-info"
# Algorithms the wheel specification allows ("sha256 or better"); md5 and sha1 lines are not trusted.
TRUSTED_ALGORITHMS: Final = frozenset({"sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512",
                                       "blake2b", "blake2s"})
# Top-level directories that are not a distribution's own: shared script and bytecode directories.
_SHARED_TOP_LEVEL: Final = frozenset({"bin", "__pycache__", "..", "."})
_CHUNK: Final = 1 << 20


@dataclass(frozen=True)
class RecordEntry:
    path: str  # package path of the file (site root joined, normalized)
    algorithm: str  # "sha256"...; "" when the line has no hash
    digest: str  # hex digest; "" when the line has no hash or the hash is not valid base64
    size: int | None
    line: int  # line number in the RECORD file, for locations


@dataclass(frozen=True)
class Distribution:
    name: str
    version: str
    dist_info: str  # package path of the .dist-info directory
    site_root: str  # package path of the directory holding it ("" for the package root)
    entries: tuple[RecordEntry, ...] = ()  # files listed inside the package
    has_record: bool = True
    # RECORD lines pointing outside the package (scripts installed into ../../bin), or unreadable lines.
    outside: int = 0
    malformed: int = 0

    @property
    def record_path(self) -> str:
        return f"{self.dist_info}/RECORD"

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"


@dataclass(frozen=True)
class RecordCheck:
    distribution: Distribution
    unmodified: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    unverified: tuple[str, ...] = ()  # listed without a trusted hash, or unreadable

    @property
    def tampered(self) -> bool:
        return bool(self.modified or self.missing or self.added)


@dataclass
class _Ownership:
    """Which distributions installed files in each directory: an unlisted file belongs to the distribution(s)
    owning its deepest listed ancestor directory (namespace packages such as ``google/`` are shared)."""

    listed: set[str] = field(default_factory=set)
    owners: dict[str, set[str]] = field(default_factory=dict)  # directory -> dist_info paths
    top_levels: dict[str, set[str]] = field(default_factory=dict)  # dist_info -> its top-level directories


# ---------------------------------------------------------------- reading
def python_distributions(package: Package) -> list[Distribution]:
    """Every ``*.dist-info`` directory of the package (at any depth, nested zips included), sorted by path."""
    dist_infos = sorted({posixpath.dirname(f.path) for f in package.files
                         if posixpath.dirname(f.path).endswith(DIST_INFO_SUFFIX)})
    present = {f.path for f in package.files}
    return [_distribution(package, dist_info, present) for dist_info in dist_infos]


def _distribution(package: Package, dist_info: str, present: set[str]) -> Distribution:
    site_root = posixpath.dirname(dist_info)
    name, version = _name_and_version(package, dist_info)
    record = f"{dist_info}/RECORD"
    if record not in present:
        return Distribution(name, version, dist_info, site_root, has_record=False)
    data = package.read(record)
    if data is None:
        return Distribution(name, version, dist_info, site_root, has_record=False)
    entries: list[RecordEntry] = []
    outside = malformed = 0
    for number, row in enumerate(csv.reader(data.decode("utf-8", "replace").splitlines()), start=1):
        if not row or not row[0].strip():
            continue
        entry = _entry(site_root, row, number)
        if entry is None:
            outside += 1
        elif isinstance(entry, str):
            malformed += 1
        else:
            entries.append(entry)
    return Distribution(name, version, dist_info, site_root, tuple(entries), True, outside, malformed)


def _entry(site_root: str, row: list[str], number: int) -> RecordEntry | str | None:
    """The entry of one RECORD row; None when it points outside the package, a reason when it is malformed."""
    relative = row[0].strip().replace("\\", "/")
    if relative.startswith("/") or (len(relative) > 1 and relative[1] == ":"):
        return None  # absolute: installed outside the site root
    joined = posixpath.normpath(posixpath.join(site_root, relative)) if site_root else posixpath.normpath(relative)
    if joined == ".." or joined.startswith("../") or (site_root and ".." in joined.split("/")):
        return None
    if "!/" in site_root and not joined.startswith(site_root.rpartition("!/")[0] + "!/"):
        return None  # left the nested archive
    algorithm, digest = "", ""
    hash_field = row[1].strip() if len(row) > 1 else ""
    if hash_field:
        algorithm, _, encoded = hash_field.partition("=")
        digest = _hex(encoded)
        if not digest:
            return "hash is not base64"
    size_field = row[2].strip() if len(row) > 2 else ""
    size = int(size_field) if size_field.isdigit() else None
    return RecordEntry(joined, algorithm.lower(), digest, size, number)


def _hex(encoded: str) -> str:
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).hex()
    except (binascii.Error, ValueError):
        return ""


def _name_and_version(package: Package, dist_info: str) -> tuple[str, str]:
    """From METADATA's Name and Version headers, else from the directory name (``name-version.dist-info``)."""
    stem = posixpath.basename(dist_info)[: -len(DIST_INFO_SUFFIX)]
    name, _, version = stem.partition("-")
    metadata = package.read(f"{dist_info}/METADATA")
    if metadata is not None:
        headers = metadata.decode("utf-8", "replace").split("\n\n", 1)[0]
        for line in headers.splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() == "name" and value.strip():
                name = value.strip()
            elif key.strip().lower() == "version" and value.strip():
                version = value.strip()
    return name, version


# ---------------------------------------------------------------- verifying
def verify(package: Package, dist: Distribution, *, others: Sequence[Distribution] | None = None) -> RecordCheck:
    """Each listed file of ``dist`` against its hash, and the files added in its directories. ``others``: every
    distribution of the package (read again when not given), so that a file another distribution lists in a
    shared namespace directory is not counted as added."""
    everyone = list(others) if others is not None else python_distributions(package)
    if all(d.dist_info != dist.dist_info for d in everyone):
        everyone.append(dist)
    ownership = _ownership(everyone)
    return _verify(package, dist, _added_by(package, ownership).get(dist.dist_info, []))


def verify_all(package: Package) -> list[RecordCheck]:
    """:func:`verify` for every distribution of the package, sharing the work."""
    distributions = python_distributions(package)
    added = _added_by(package, _ownership(distributions))
    return [_verify(package, dist, added.get(dist.dist_info, [])) for dist in distributions]


def published_files(package: Package) -> frozenset[str]:
    """Package paths of the files that belong, unmodified, to an installed distribution (their hash matches
    RECORD), plus each RECORD itself: third-party code, not the team's."""
    published: set[str] = set()
    for check in verify_all(package):
        published.update(check.unmodified)
        if check.distribution.has_record:
            published.add(check.distribution.record_path)
    return frozenset(published)


def _verify(package: Package, dist: Distribution, added: list[str]) -> RecordCheck:
    sizes = {f.path: f.size for f in package.files}
    unmodified: list[str] = []
    modified: list[str] = []
    missing: list[str] = []
    unverified: list[str] = []
    for entry in dist.entries:
        if entry.path.startswith(dist.dist_info + "/") and not entry.digest:
            unverified.append(entry.path)  # RECORD itself
            continue
        if not entry.digest or entry.algorithm not in TRUSTED_ALGORITHMS:
            unverified.append(entry.path)
            continue
        if entry.path not in sizes:
            missing.append(entry.path)
            continue
        matches = _matches(package, entry, sizes[entry.path])
        if matches is None:
            unverified.append(entry.path)  # unreadable: the package reports it as a problem (a coverage gap)
        else:
            (unmodified if matches else modified).append(entry.path)
    return RecordCheck(dist, *(tuple(sorted(set(group))) for group in (unmodified, modified, missing, added,
                                                                        unverified)))


def _matches(package: Package, entry: RecordEntry, size: int) -> bool | None:
    """Whether the file's content is the one RECORD lists; None when it cannot be read."""
    if entry.size is not None and entry.size != size:
        return False
    if entry.algorithm == "sha256":
        digest = package.sha256(entry.path)
        return None if digest is None else digest == entry.digest
    stream = package.open(entry.path)
    if stream is None:
        return None
    hasher = hashlib.new(entry.algorithm)
    try:
        with stream:
            while chunk := stream.read(_CHUNK):
                hasher.update(chunk)
    except OSError:
        return None
    return hasher.hexdigest() == entry.digest


def _ownership(distributions: Iterable[Distribution]) -> _Ownership:
    owned = _Ownership()
    for dist in distributions:
        tops: set[str] = set()
        for entry in dist.entries:
            owned.listed.add(entry.path)
            relative = _relative(dist.site_root, entry.path)
            first, _, rest = relative.partition("/")
            if not rest or first in _SHARED_TOP_LEVEL or first.endswith((DIST_INFO_SUFFIX, ".data")):
                continue
            top = _join(dist.site_root, first)
            tops.add(top)
            directory = posixpath.dirname(entry.path)
            while directory and directory != dist.site_root:
                owned.owners.setdefault(directory, set()).add(dist.dist_info)
                if directory == top:
                    break
                directory = posixpath.dirname(directory)
        owned.top_levels[dist.dist_info] = tops
    return owned


def _added_by(package: Package, owned: _Ownership) -> dict[str, list[str]]:
    """Unlisted files inside a distribution's directories, by the distribution they are attributed to."""
    tops = {top for dist_tops in owned.top_levels.values() for top in dist_tops}
    added: dict[str, list[str]] = {}
    for file in package.files:
        path = file.path
        if path in owned.listed or _ignored(path) or not _ancestors(path) & tops:
            continue
        directory = posixpath.dirname(path)
        while directory and directory not in owned.owners:
            directory = posixpath.dirname(directory)
        if directory:
            added.setdefault(min(owned.owners[directory]), []).append(path)
    return added


def _ancestors(path: str) -> set[str]:
    parts = path.split("/")
    return {"/".join(parts[:index]) for index in range(1, len(parts))}


def _ignored(path: str) -> bool:
    """Bytecode and installer metadata: never "added"."""
    parts = path.split("/")
    return (path.endswith((".pyc", ".pyo")) or "__pycache__" in parts
            or any(part.endswith(DIST_INFO_SUFFIX) for part in parts[:-1]))


def _relative(site_root: str, path: str) -> str:
    return path[len(site_root) + 1:] if site_root else path


def _join(site_root: str, name: str) -> str:
    return f"{site_root}/{name}" if site_root else name
