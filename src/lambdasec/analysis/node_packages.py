"""Node.js packages installed in a deployment package or layer, and whether they are what the lock file says.

An installed package is a ``package.json`` at an npm install location: ``node_modules/<name>/package.json`` or
``node_modules/@scope/name/package.json``, nested ones included (``node_modules/a/node_modules/b/...``), under any
directory of the package (``nodejs/node_modules/`` in a layer). A ``package.json`` deeper inside a package (many
ship one in ``lib/`` or ``esm/``) is not an installed package.

The lock of a ``node_modules`` tree is the nearest ``npm-shrinkwrap.json`` or ``package-lock.json`` in its
directory or above (npm workspaces keep one lock at the top), plus npm's own record of what it installed,
``node_modules/.package-lock.json`` (npm 7 and later). What can be checked without a network:

- an installed package at a path the lock does not list (added by hand, or by another install);
- a name or version different from the lock's (a package replaced by another, or a stale install);
- npm's record of the install disagreeing with the lock: another version, or another ``integrity`` (the tarball
  installed was not the one the lock pinned, even for the same version);
- npm 6 and older wrote ``_integrity`` into every installed ``package.json``: compared with the lock's.

What cannot be checked: a lock's ``integrity`` is the hash of the published tarball, and the unpacked files cannot
be turned back into that tarball, so a file edited after installation goes unseen here (unlike Python's RECORD,
analysis/records.py). pnpm (``node_modules/.pnpm``) and Yarn lock files are not read.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from lambdasec.fast_dataclass import dataclass, field

if TYPE_CHECKING:
    from .packages import Package

LOCK_NAMES: Final = ("npm-shrinkwrap.json", "package-lock.json")  # npm prefers the shrinkwrap when both exist
HIDDEN_LOCK: Final = "node_modules/.package-lock.json"
_MANIFEST: Final = "package.json"


@dataclass(frozen=True)
class NodePackage:
    """One installed package."""

    name: str  # from its package.json (the directory name when package.json has none or cannot be read)
    version: str  # "" when package.json has none
    install_path: str  # relative to ``tree``: "node_modules/@s/x/node_modules/y"
    manifest: str  # package.json path inside the deployment package: "nodejs/node_modules/x/package.json"
    # The directory install_path is relative to, inside the deployment package ("" or "nodejs/"): the one holding
    # the top node_modules, or for an npm workspace member the workspace root, where the lock is.
    tree: str
    problem: str = ""  # why package.json could not be read, if it could not
    recorded_integrity: str | None = None  # "_integrity" written by npm 6 and older

    @property
    def purl(self) -> str:
        return npm_purl(self.name, self.version)


@dataclass(frozen=True)
class LockedPackage:
    """One entry of a lock file, keyed by its install path."""

    install_path: str  # relative to the lock's directory: "node_modules/x"
    name: str
    version: str  # "" when the lock records no comparable version (git, file and tarball URL dependencies)
    resolved: str | None = None
    integrity: str | None = None
    link: bool = False  # a workspace or file: link, not an installed copy


@dataclass(frozen=True)
class Lockfile:
    path: str  # inside the deployment package
    lockfile_version: int
    entries: Mapping[str, LockedPackage] = field(default_factory=dict)
    problem: str = ""  # why it could not be read; then ``entries`` is empty


@dataclass(frozen=True)
class NodeTree:
    """The installed packages sharing one lock (or, without a lock, one top ``node_modules``)."""

    directory: str  # the lock's directory inside the deployment package: "" or "nodejs/"
    packages: tuple[NodePackage, ...]
    lock: Lockfile | None
    hidden_lock: Lockfile | None

    @property
    def comparable(self) -> bool:
        return any(lock is not None and not lock.problem for lock in (self.lock, self.hidden_lock))


@dataclass(frozen=True)
class Mismatch:
    kind: str  # "not-in-lock" | "name" | "version" | "integrity" | "resolved" | "manifest"
    detail: str  # one line
    expected: str = ""  # what the lock pins
    found: str = ""  # what was installed (or what npm recorded installing)


@dataclass(frozen=True)
class PackageMismatch:
    package: NodePackage
    lock: str  # the lock file compared with (its path inside the deployment package)
    mismatches: tuple[Mismatch, ...]

    @property
    def content_differs(self) -> bool:
        """The installed tarball is known to differ from the locked one (not only its version)."""
        return any(m.kind in ("integrity", "resolved") for m in self.mismatches)


def npm_purl(name: str, version: str) -> str:
    """``pkg:npm/%40scope/name@1.2.3`` (the purl spec encodes the scope's ``@``)."""
    from urllib.parse import quote

    encoded = "/".join(quote(part, safe="") for part in name.split("/"))
    return f"pkg:npm/{encoded}@{quote(version, safe='+')}" if version else f"pkg:npm/{encoded}"


# ---------------------------------------------------------------- finding installed packages
def _install_location(path: str) -> tuple[str, str] | None:
    """(tree directory, install path) when ``path`` is the package.json of an installed package, else None."""
    parts = path.split("/")
    if parts[-1] != _MANIFEST or "node_modules" not in parts or "!/" in path:
        return None
    top = parts.index("node_modules")
    rest = parts[top:-1]
    index = 0
    while index < len(rest):
        if rest[index] != "node_modules" or index + 1 >= len(rest):
            return None
        name_length = 2 if rest[index + 1].startswith("@") else 1
        name = rest[index + 1: index + 1 + name_length]
        if len(name) != name_length or any(not part or part.startswith(".") for part in name):
            return None  # .bin, .pnpm, .cache: npm's and other tools' own directories
        index += 1 + name_length
    tree = "/".join(parts[:top])
    return (tree + "/" if tree else ""), "/".join(rest)


def _directory_name(install_path: str) -> str:
    """The package name an install path implies: ``node_modules/a/node_modules/@s/b`` -> ``@s/b``."""
    return install_path.rsplit("node_modules/", 1)[-1]


def _read_json(package: Package, path: str) -> tuple[Any, str]:
    data = package.read(path)
    if data is None:
        return None, f"{path} could not be read (missing, unreadable or larger than the read limit)"
    try:
        return json.loads(data.decode("utf-8-sig")), ""
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{path} is not valid JSON ({type(exc).__name__})"


def _installed(package: Package, manifest: str, tree: str, install_path: str) -> NodePackage:
    fallback = _directory_name(install_path)
    document, problem = _read_json(package, manifest)
    if problem or not isinstance(document, dict):
        return NodePackage(fallback, "", install_path, manifest, tree, problem or f"{manifest} is not an object")
    name, version, integrity = document.get("name"), document.get("version"), document.get("_integrity")
    return NodePackage(
        name=name if isinstance(name, str) and name else fallback,
        version=version if isinstance(version, str) else "",
        install_path=install_path,
        manifest=manifest,
        tree=tree,
        recorded_integrity=integrity if isinstance(integrity, str) and integrity else None,
    )


def installed_packages(package: Package) -> list[NodePackage]:
    """Every installed Node.js package of a deployment package, sorted by manifest path."""
    found: list[NodePackage] = []
    for entry in package.files:
        location = _install_location(entry.path)
        if location is not None:
            found.append(_installed(package, entry.path, *location))
    return sorted(found, key=lambda p: p.manifest)


# ---------------------------------------------------------------- lock files
def _v1_entries(dependencies: Any, prefix: str, out: dict[str, LockedPackage]) -> None:
    """Lock file version 1: nested ``dependencies`` mirror the node_modules nesting."""
    if not isinstance(dependencies, dict):
        return
    for name, entry in dependencies.items():
        if not isinstance(entry, dict):
            continue
        install_path = f"{prefix}node_modules/{name}"
        real_name, version = name, str(entry.get("version") or "")
        if version.startswith("npm:"):  # an alias: "npm:real-name@1.2.3"
            real_name, _, version = version[4:].rpartition("@")
        elif ":" in version or "/" in version:  # git, file: or tarball URL: no registry version to compare
            version = ""
        out[install_path] = LockedPackage(install_path, real_name, version, _text(entry.get("resolved")),
                                          _text(entry.get("integrity")))
        _v1_entries(entry.get("dependencies"), install_path + "/", out)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _v2_entries(packages: dict[str, Any]) -> dict[str, LockedPackage]:
    out: dict[str, LockedPackage] = {}
    for install_path, entry in packages.items():
        if not install_path or not isinstance(entry, dict) or "node_modules/" not in f"{install_path}/":
            continue  # "" is the project itself; workspace directories are not installed copies
        name = _text(entry.get("name")) or _directory_name(install_path)
        out[install_path] = LockedPackage(install_path, name, str(entry.get("version") or ""),
                                          _text(entry.get("resolved")), _text(entry.get("integrity")),
                                          bool(entry.get("link")))
    return out


def read_lockfile(package: Package, path: str) -> Lockfile:
    document, problem = _read_json(package, path)
    if problem:
        return Lockfile(path, 0, problem=problem)
    if not isinstance(document, dict):
        return Lockfile(path, 0, problem=f"{path} is not a lock file (not a JSON object)")
    version = document.get("lockfileVersion")
    lockfile_version = version if isinstance(version, int) else 0
    if isinstance(document.get("packages"), dict):  # versions 2 and 3 (2 also keeps the v1 section)
        return Lockfile(path, lockfile_version, _v2_entries(document["packages"]))
    if isinstance(document.get("dependencies"), dict):
        entries: dict[str, LockedPackage] = {}
        _v1_entries(document["dependencies"], "", entries)
        return Lockfile(path, lockfile_version or 1, entries)
    if lockfile_version:  # a project without dependencies: an empty lock is still a lock
        return Lockfile(path, lockfile_version)
    return Lockfile(path, 0, problem=f"{path} has neither `packages` nor `dependencies`")


def _ancestors(directory: str) -> Iterable[str]:
    """``a/b/`` -> ``a/b/``, ``a/``, ``""``."""
    current = directory.rstrip("/")
    while True:
        yield current + "/" if current else ""
        if not current:
            return
        current = posixpath.dirname(current)


def node_trees(package: Package) -> list[NodeTree]:
    """The installed packages grouped by the lock that governs them, sorted by directory."""
    names = {entry.path for entry in package.files}
    locks: dict[str, Lockfile | None] = {}

    def lock_in(directory: str) -> Lockfile | None:
        if directory not in locks:
            path = next((directory + name for name in LOCK_NAMES if directory + name in names), None)
            locks[directory] = read_lockfile(package, path) if path else None
        return locks[directory]

    grouped: dict[str, list[NodePackage]] = {}
    for installed in installed_packages(package):
        directory = _governing_directory(installed.tree, lock_in)
        if directory != installed.tree:  # a workspace member's node_modules: its paths read from the lock's
            installed = _rebased(installed, directory, installed.tree[len(directory):] + installed.install_path)
        grouped.setdefault(directory, []).append(installed)
    trees = []
    for directory, packages in sorted(grouped.items()):
        hidden_name = directory + HIDDEN_LOCK
        trees.append(NodeTree(
            directory=directory,
            packages=tuple(sorted(packages, key=lambda p: p.install_path)),
            lock=lock_in(directory),
            hidden_lock=read_lockfile(package, hidden_name) if hidden_name in names else None,
        ))
    return trees


def _governing_directory(tree: str, lock_in: Callable[[str], Lockfile | None]) -> str:
    """The tree's own directory when it has a lock (or no lock applies), else the directory above it whose lock
    lists the tree's packages (npm workspaces: one lock at the top, ``packages/a/node_modules/x`` keys)."""
    if lock_in(tree) is not None:
        return tree
    for directory in list(_ancestors(tree))[1:]:
        lock = lock_in(directory)
        prefix = tree[len(directory):] + "node_modules/"
        if lock is not None and any(path.startswith(prefix) for path in lock.entries):
            return directory
    return tree


def _rebased(installed: NodePackage, tree: str, install_path: str) -> NodePackage:
    from dataclasses import replace

    return replace(installed, tree=tree, install_path=install_path)


# ---------------------------------------------------------------- comparison
def _integrity_differs(first: str | None, second: str | None) -> bool:
    """Subresource-integrity strings ("sha512-... sha1-...") disagree on a hash algorithm they both give."""
    if not first or not second:
        return False
    ours, theirs = _hashes(first), _hashes(second)
    return any(ours[algorithm] != theirs[algorithm] for algorithm in ours.keys() & theirs.keys())


def _hashes(integrity: str) -> dict[str, str]:
    """``sha512-abc= sha1-def=`` -> {"sha512": "abc=", "sha1": "def="}."""
    return dict(part.split("-", 1) for part in integrity.split() if "-" in part)


def _short(integrity: str) -> str:
    """The first characters of an integrity string, enough to tell two apart in a message."""
    return integrity if len(integrity) <= 24 else integrity[:20] + "..."


def _against_lock(installed: NodePackage, lock: Lockfile) -> list[Mismatch]:
    entry = lock.entries.get(installed.install_path)
    if entry is None:
        return [Mismatch("not-in-lock", f"{installed.install_path} is not in {lock.path}")]
    found: list[Mismatch] = []
    if entry.name != installed.name:
        found.append(Mismatch("name", f"{lock.path} has {entry.name} at this path", entry.name, installed.name))
    if entry.version and entry.version != installed.version:
        found.append(Mismatch("version", f"{lock.path} pins version {entry.version}", entry.version,
                              installed.version))
    if _integrity_differs(installed.recorded_integrity, entry.integrity):
        assert installed.recorded_integrity is not None and entry.integrity is not None
        found.append(Mismatch("integrity", f"its package.json records integrity {_short(installed.recorded_integrity)}"
                                           f", {lock.path} pins {_short(entry.integrity)}", entry.integrity,
                              installed.recorded_integrity))
    return found


def _install_record(installed: NodePackage, lock: Lockfile, hidden: Lockfile) -> list[Mismatch]:
    """npm's record of the install (the hidden lock) against the lock the project committed."""
    record, pinned = hidden.entries.get(installed.install_path), lock.entries.get(installed.install_path)
    if record is None or pinned is None:
        return []
    found: list[Mismatch] = []
    if record.version and pinned.version and record.version != pinned.version:
        found.append(Mismatch("version", f"npm recorded installing version {record.version} ({hidden.path}), "
                                         f"{lock.path} pins {pinned.version}", pinned.version, record.version))
    if _integrity_differs(record.integrity, pinned.integrity):
        assert record.integrity is not None and pinned.integrity is not None
        found.append(Mismatch("integrity", f"npm recorded installing a tarball of integrity {_short(record.integrity)}"
                                           f" ({hidden.path}), {lock.path} pins {_short(pinned.integrity)}",
                              pinned.integrity, record.integrity))
    elif not (record.integrity and pinned.integrity) and record.resolved and pinned.resolved \
            and record.resolved != pinned.resolved and not record.link and not pinned.link:
        # Without integrity (git and tarball URL dependencies) the resolved URL, commit included, is the identity.
        found.append(Mismatch("resolved", f"npm recorded installing {record.resolved} ({hidden.path}), "
                                          f"{lock.path} pins {pinned.resolved}", pinned.resolved, record.resolved))
    return found


def _mismatches(installed: NodePackage, tree: NodeTree) -> tuple[str, list[Mismatch]]:
    lock = tree.lock if tree.lock is not None and not tree.lock.problem else None
    hidden = tree.hidden_lock if tree.hidden_lock is not None and not tree.hidden_lock.problem else None
    reference = lock or hidden
    if reference is None:
        return "", []
    found: list[Mismatch] = []
    if installed.problem:
        found.append(Mismatch("manifest", installed.problem))
    found.extend(_against_lock(installed, reference))
    if lock is not None and hidden is not None:
        found.extend(m for m in _install_record(installed, lock, hidden) if m not in found)
    return reference.path, found


def compare_tree(tree: NodeTree) -> list[PackageMismatch]:
    """The installed packages of ``tree`` that differ from its lock; empty when the tree has no readable lock."""
    out = []
    for installed in tree.packages:
        lock_path, found = _mismatches(installed, tree)
        if found:
            out.append(PackageMismatch(installed, lock_path, tuple(found)))
    return out
