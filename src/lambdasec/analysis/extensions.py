"""Lambda extensions in a package: what Lambda would start beside the function if the package were a layer.

Lambda extracts a function's layers into /opt and, when an execution environment starts, launches every file
directly under /opt/extensions as an external extension (files in its subdirectories are not launched). A file
there must be executable: its mode says so, but a zip built on Windows or a checkout that lost its modes has none,
so a script starting with ``#!`` or an ELF binary counts too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from .packages import Package, PackageTarget

EXTENSIONS_DIRECTORY: Final = "extensions/"
EXECUTABLE_MAGIC: Final = (b"#!", b"\x7fELF")


def _starts_like_an_executable(package: Package, path: str) -> bool:
    stream = package.open(path)
    if stream is None:
        return False
    try:
        with stream:
            head = stream.read(4)
    except OSError:  # a corrupt entry: the package records the problem, it becomes a coverage gap
        return False
    return head.startswith(EXECUTABLE_MAGIC)


def extension_files(package: Package) -> list[str]:
    """The package paths Lambda would start as extensions, sorted."""
    found = []
    for entry in package.files:
        name = entry.path[len(EXTENSIONS_DIRECTORY):]
        if not entry.path.startswith(EXTENSIONS_DIRECTORY) or not name or "/" in name or "!/" in entry.path:
            continue
        if entry.executable or _starts_like_an_executable(package, entry.path):
            found.append(entry.path)
    return sorted(found)


def may_start_extensions(target: PackageTarget) -> bool:
    """Whether Lambda may start extensions from this code: a layer's, or a package named on the command line that
    is not known to be a function's. A function's own code is extracted to /var/task, and Lambda never starts
    anything from /var/task/extensions."""
    if target.role == "layer":
        return True
    return target.role == "package" and getattr(target.owner, "role", "unknown") in ("layer", "unknown")
