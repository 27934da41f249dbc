"""Reading deployment packages and layers safely (analysis/packages.py): every hostile archive is built here, at run
time, and must end as an exact problem / coverage gap, within bounded memory and time."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import struct
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from lambdasec.analysis.packages import (
    ArchiveLimits,
    DirectoryPackage,
    Package,
    PackageError,
    PackageFile,
    PackageProblem,
    PackageTarget,
    ZipPackage,
    inline_package,
    limits_from_options,
    load_package,
    open_package,
    package_gaps,
    package_targets,
)
from lambdasec.collectors.discovery import collect
from lambdasec.collectors.options import CollectOptions
from lambdasec.model.inventory import CodeLocation, CodePackage, CoverageGap, Inventory
from lambdasec.model.location import Location

MiB = 1 << 20
HANG_GUARD_SECONDS = 10.0  # not a benchmark: only proves a bad archive cannot hang the scan
T = TypeVar("T")


# ---------------------------------------------------------------- building archives
def _zip(path: Path, entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def _zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _unix_entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    return info


def _records(data: bytes, signature: bytes, name_at: int) -> Iterator[tuple[int, bytes]]:
    """(offset, name) of each local header (signature PK\\3\\4, name at 30) or central record (PK\\1\\2, at 46)."""
    length_at = 26 if signature == b"PK\x03\x04" else 28
    start = data.find(signature)
    while start >= 0:
        (length,) = struct.unpack_from("<H", data, start + length_at)
        yield start, data[start + name_at: start + name_at + length]
        start = data.find(signature, start + 4)


def _patch(data: bytes, name: str, *, local: dict[int, tuple[str, int]] | None = None,
           central: dict[int, tuple[str, int]] | None = None) -> bytes:
    """Overwrite fields (offset in the record -> (struct format, value)) of the records of entry ``name``."""
    patched = bytearray(data)
    for signature, name_at, fields in ((b"PK\x03\x04", 30, local), (b"PK\x01\x02", 46, central)):
        for start, found in _records(data, signature, name_at):
            if found == name.encode() and fields:
                for offset, (fmt, value) in fields.items():
                    struct.pack_into(fmt, patched, start + offset, value)
    return bytes(patched)


def _bomb(path: Path, megabytes: int = 50) -> Path:
    """A zero-filled entry of ``megabytes`` MiB, deflated about 1000:1, written in chunks (never whole in memory)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return 1\n")
        with archive.open("data/zeros.bin", "w") as stream:
            for _ in range(megabytes):
                stream.write(bytes(MiB))
    return path


def _many_entries(path: Path, count: int, *, prefix: bytes = b"") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for index in range(count):
            archive.writestr(f"f/{index}", b"")
    if prefix:  # data before the archive, like a self-extracting zip: offsets are then relative to the archive
        path.write_bytes(prefix + path.read_bytes())
    return path


def _guarded(action: Callable[[], T]) -> T:
    started = time.monotonic()
    result = action()
    assert time.monotonic() - started < HANG_GUARD_SECONDS
    return result


def _opened(path: Path, **limits: int | float) -> Package:
    return _guarded(lambda: open_package(path, path.name, ArchiveLimits(**limits)))  # type: ignore[arg-type]


TEMPLATE_LINE = Location("template.yaml", 7)


def _gaps(package: Package | PackageError, where: Location = TEMPLATE_LINE) -> list[tuple[str, str]]:
    owner = CodePackage(key="k", id="Fn", type="lambdasec::Package", location=where)
    target = PackageTarget(owner, "function", CodeLocation("local", "x"), where)
    gaps = package_gaps(target, package)
    assert all(gap.location == where for gap in gaps)
    return [(gap.kind, gap.message) for gap in gaps]


def _paths(package: Package) -> list[str]:
    return [entry.path for entry in package.files]


# ---------------------------------------------------------------- limits
def test_limits_from_options_defaults_instances_and_mappings() -> None:
    assert limits_from_options({}) == ArchiveLimits()
    assert ArchiveLimits() == ArchiveLimits(1 << 30, 64 << 20, 100.0, 100_000, 2)
    given = ArchiveLimits(max_depth=0)
    assert limits_from_options({"archive_limits": given}) is given
    assert limits_from_options({"archive_limits": {"max_ratio": 12.5, "max_entries": 3, "max_depth": None}}) == \
        ArchiveLimits(max_ratio=12.5, max_entries=3)


@pytest.mark.parametrize(("given", "message"), [
    ({"max_entries": -1}, "archive limit max_entries must not be negative"),
    ({"max_ratio": -0.5}, "archive limit max_ratio must not be negative"),
    ({"max_depth": True}, "archive limit max_depth must be an integer, not bool"),
    ({"max_total_bytes": "1G"}, "archive limit max_total_bytes must be an integer, not str"),
    ({"max_file_bytes": 1.5}, "archive limit max_file_bytes must be an integer, not float"),
    ({"max_ratio": float("nan")}, "archive limit max_ratio must not be negative"),
    ({"max_files": 3}, "archive_limits: unknown key(s): max_files"),
    ([1, 2], "archive_limits must be a mapping, not list"),
])
def test_limits_from_options_rejects_bad_values_naming_the_key(given: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        limits_from_options({"archive_limits": given})
    assert str(caught.value) == message


# ---------------------------------------------------------------- good packages
def test_zip_package_lists_reads_streams_and_hashes(tmp_path: Path) -> None:
    path = tmp_path / "fn.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", "print('hi')\n")
        archive.writestr("lib/", "")  # a directory entry: not a file
        archive.writestr(_unix_entry("bin/tool", stat.S_IFREG | 0o755), "#!/bin/sh\n")
        archive.writestr("./lib/./util.py", "x = 1\n")
        archive.writestr("win\\style.py", "y = 2\n")  # a Windows tool's separator
    package = _opened(path)
    assert isinstance(package, ZipPackage) and package.kind == "zip" and package.label == "fn.zip"
    assert package.files == [
        PackageFile("app.py", 12, False), PackageFile("bin/tool", 10, True), PackageFile("lib/util.py", 6, False),
        PackageFile("win/style.py", 6, False),
    ]
    assert package.problems == [] and package.complete
    assert package.read("app.py") == b"print('hi')\n"
    assert package.read("missing.py") is None
    stream = package.open("lib/util.py")
    assert stream is not None and stream.read(3) == b"x =" and stream.read() == b" 1\n"
    stream.close()
    assert package.sha256("app.py") == hashlib.sha256(b"print('hi')\n").hexdigest()
    assert package.digest() == hashlib.sha256(path.read_bytes()).hexdigest()
    package.close()
    assert package.read("bin/tool") == b"#!/bin/sh\n"  # a closed package reopens when read again


def test_zip64_archive_is_read(tmp_path: Path) -> None:
    path = tmp_path / "z64.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open("big.py", "w", force_zip64=True) as stream:
        stream.write(b"value = 42\n")
    package = _opened(path)
    assert _paths(package) == ["big.py"] and package.read("big.py") == b"value = 42\n" and package.complete


def test_read_is_capped_by_max_file_bytes_but_hash_streams_any_size(tmp_path: Path) -> None:
    path = _zip(tmp_path / "fn.zip", {"big.txt": b"a" * 5000, "small.txt": b"b"}, compression=zipfile.ZIP_STORED)
    package = _opened(path, max_file_bytes=4096)
    assert package.read("big.txt") is None and package.read("small.txt") == b"b"
    assert package.sha256("big.txt") == hashlib.sha256(b"a" * 5000).hexdigest()
    assert package.complete


def test_directory_package_lists_every_regular_file_without_following_links(tmp_path: Path) -> None:
    root = tmp_path / "src"
    (root / "node_modules" / "left-pad").mkdir(parents=True)
    (root / "node_modules" / "left-pad" / "index.js").write_text("module.exports = 1\n")
    (root / "python" / "requests-2.0.dist-info").mkdir(parents=True)
    (root / "python" / "requests-2.0.dist-info" / "RECORD").write_text("")
    (root / "app.py").write_text("print(1)\n")
    (root / "data.bin").write_bytes(b"\x00\x01")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    for skipped in (".git", "__pycache__", ".aws-sam", ".venv"):
        (root / skipped).mkdir()
        (root / skipped / "x.txt").write_text("tooling")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("not part of the package")
    os.symlink(tmp_path / "outside", root / "linked-dir")
    os.symlink(tmp_path / "outside" / "secret.txt", root / "linked-file")
    os.mkfifo(root / "pipe")  # opening it would block: never opened
    package = _opened(root)
    assert isinstance(package, DirectoryPackage) and package.kind == "directory"
    assert package.files == [
        PackageFile("app.py", 9, False), PackageFile("data.bin", 2, False),
        PackageFile("node_modules/left-pad/index.js", 19, False),
        PackageFile("python/requests-2.0.dist-info/RECORD", 0, False), PackageFile("run.sh", 10, True),
    ]
    assert package.problems == [
        PackageProblem("symlink", "linked-dir: symbolic link to a directory, not followed", "linked-dir"),
        PackageProblem("symlink", "linked-file: symbolic link, not followed", "linked-file"),
        PackageProblem("unreadable", "pipe: not a regular file, skipped", "pipe"),
    ]
    assert package.read("app.py") == b"print(1)\n"
    assert package.read("../outside/secret.txt") is None and package.read("linked-file") is None
    expected = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in (
        ("app.py", b"print(1)\n"), ("data.bin", b"\x00\x01"), ("node_modules/left-pad/index.js",
                                                               b"module.exports = 1\n"),
        ("python/requests-2.0.dist-info/RECORD", b""), ("run.sh", b"#!/bin/sh\n")))
    assert package.digest() == hashlib.sha256(expected.encode()).hexdigest()
    assert _gaps(package) == [
        ("package-symlink", "package src: 2 symbolic links not followed (first: linked-dir)"),
        ("package-unreadable", "package src: 1 file not read: pipe: not a regular file, skipped"),
    ]


def test_directory_file_swapped_for_a_symlink_after_listing_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("x")
    (tmp_path / "secret").write_text("s")
    package = _opened(tmp_path / "src")
    (tmp_path / "src" / "app.py").unlink()
    os.symlink(tmp_path / "secret", tmp_path / "src" / "app.py")
    assert package.read("app.py") is None
    assert package.problems == [PackageProblem("corrupt", "app.py: cannot be read (OSError: [Errno 40] Too many "
                                                          "levels of symbolic links: '" + str(tmp_path / "src" /
                                                                                              "app.py") + "')",
                                               "app.py")]


def test_directory_digest_changes_with_content_and_names(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.py").write_text("1")
    first = _opened(tmp_path / "a").digest()
    assert _opened(tmp_path / "a").digest() == first
    (tmp_path / "a" / "x.py").write_text("2")
    second = _opened(tmp_path / "a").digest()
    (tmp_path / "a" / "x.py").rename(tmp_path / "a" / "y.py")
    assert len({first, second, _opened(tmp_path / "a").digest()}) == 3


def test_inline_package() -> None:
    package = inline_package("index.py", "def handler(e, c):\n    return 1\n")
    assert package.kind == "inline" and package.label == "inline code" and package.complete
    assert package.files == [PackageFile("index.py", 32, False)]
    assert package.read("index.py") == b"def handler(e, c):\n    return 1\n"
    line = f"{hashlib.sha256(b'def handler(e, c):' + bytes([10]) + b'    return 1' + bytes([10])).hexdigest()}"
    assert package.digest() == hashlib.sha256(f"{line}  index.py\n".encode()).hexdigest()


# ---------------------------------------------------------------- zip bombs
def test_zip_bomb_by_ratio_is_listed_not_read(tmp_path: Path) -> None:
    path = _bomb(tmp_path / "bomb.zip")
    with zipfile.ZipFile(path) as archive:
        compressed = archive.getinfo("data/zeros.bin").compress_size
    package = _opened(path)
    assert _paths(package) == ["app.py", "data/zeros.bin"]
    ratio = 50 * MiB / compressed
    message = (f"data/zeros.bin: compression ratio {ratio:.0f} above max_ratio 100 ({50 * MiB} bytes from "
               f"{compressed}): zip bomb?, not read")
    assert package.problems == [PackageProblem("limit", message, "data/zeros.bin")]
    assert not package.complete
    assert package.read("data/zeros.bin") is None and package.open("data/zeros.bin") is None
    assert package.sha256("data/zeros.bin") is None
    assert package.read("app.py") == b"def handler(event, context):\n    return 1\n"
    assert _gaps(package) == [("package-limit", f"package bomb.zip: a reading limit was reached: {message}")]


def test_small_highly_compressible_files_are_not_bombs(tmp_path: Path) -> None:
    package = _opened(_zip(tmp_path / "fn.zip", {"zeros.bin": bytes(MiB)}))  # ~1000:1, but only 1 MiB
    assert package.problems == [] and package.read("zeros.bin") == bytes(MiB)


def test_listing_and_hashing_a_bomb_stays_within_bounded_memory(tmp_path: Path) -> None:
    path = _bomb(tmp_path / "bomb.zip")
    tracemalloc.start()
    try:
        package = _opened(path, max_file_bytes=MiB, max_entries=100)
        hashes = [package.sha256(entry.path) for entry in package.files]
        package.digest()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert hashes[1] is None and peak < 20 * MiB


def test_reading_a_huge_entry_when_the_ratio_is_allowed_streams_it(tmp_path: Path) -> None:
    path = _bomb(tmp_path / "bomb.zip")
    tracemalloc.start()
    try:
        package = _opened(path, max_ratio=1e9, max_file_bytes=MiB)
        digest = package.sha256("data/zeros.bin")
        whole = package.read("data/zeros.bin")  # larger than max_file_bytes: never read whole
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest == hashlib.sha256(bytes(50 * MiB)).hexdigest() and whole is None
    assert package.problems == [] and peak < 20 * MiB


@pytest.fixture(scope="module")
def crowded_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """70,000 empty entries: past 65,535, so the archive has a zip64 end of central directory."""
    return _many_entries(tmp_path_factory.mktemp("crowded") / "many.zip", 70_000)


def test_zip_bomb_by_entry_count_lists_only_max_entries_in_bounded_memory(crowded_zip: Path) -> None:
    tracemalloc.start()
    try:
        package = _opened(crowded_zip, max_entries=1000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(package.files) == 1000 and package.file("f/999") is not None and package.read("f/0") == b""
    message = "more than 1000 entries (max_entries): the rest were not listed"
    assert package.problems == [PackageProblem("limit", message)] and not package.complete
    # zipfile alone would hold all 70,000 entries (tens of MiB).
    assert peak < 4 * MiB
    assert _gaps(package) == [("package-limit", f"package many.zip: a reading limit was reached: {message}")]


def test_an_end_record_understating_the_entry_count_does_not_get_past_the_limit(
        crowded_zip: Path, tmp_path: Path) -> None:
    """zipfile parses as many records as the directory's size covers, whatever count the end record claims."""
    data = bytearray(crowded_zip.read_bytes())
    record = data.rfind(b"PK\x06\x06")  # the zip64 end record: entries on this disk, entries in total
    struct.pack_into("<2Q", data, record + 24, 1, 1)
    (tmp_path / "liar.zip").write_bytes(bytes(data))
    tracemalloc.start()
    try:
        package = _opened(tmp_path / "liar.zip", max_entries=1000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(package.files) == 1000 and [problem.kind for problem in package.problems] == ["limit"]
    assert peak < 4 * MiB


def test_entry_limit_above_65535_keeps_a_zip64_directory(crowded_zip: Path) -> None:
    package = _opened(crowded_zip, max_entries=66_000)
    assert len(package.files) == 66_000 and package.read("f/65999") == b""
    assert [problem.kind for problem in package.problems] == ["limit"]


def test_entry_limit_with_data_before_the_archive(tmp_path: Path) -> None:
    path = _many_entries(tmp_path / "sfx.zip", 300, prefix=b"#!/bin/sh\nexit 0\n" * 10)
    package = _opened(path, max_entries=100)
    assert len(package.files) == 100 and package.read("f/42") == b""
    assert package.problems == [PackageProblem("limit", "more than 100 entries (max_entries): the rest were not "
                                                        "listed")]


def test_total_declared_size_stops_the_listing(tmp_path: Path) -> None:
    entries = {f"{name}.txt": b"x" * 400 for name in "abcde"}
    package = _opened(_zip(tmp_path / "fn.zip", entries), max_total_bytes=1000)
    assert _paths(package) == ["a.txt", "b.txt"]
    assert package.problems == [PackageProblem(
        "limit", "more than 1000 bytes uncompressed (max_total_bytes) at c.txt: the rest were not listed")]


def test_directories_obey_the_same_listing_limits(tmp_path: Path) -> None:
    for index in range(5):
        (tmp_path / f"{index}.py").write_text("x" * 10)
    assert len(_opened(tmp_path, max_entries=3).files) == 3
    assert len(_opened(tmp_path, max_total_bytes=25).files) == 2


def test_overlapping_entries_are_not_read(tmp_path: Path) -> None:
    data = _zip(tmp_path / "o.zip", {"a": b"A" * 100, "b": b"B" * 100}, compression=zipfile.ZIP_STORED).read_bytes()
    (tmp_path / "o.zip").write_bytes(_patch(data, "b", central={42: ("<L", 0)}))  # b's data is a's
    package = _opened(tmp_path / "o.zip")
    assert _paths(package) == ["a", "b"] and package.read("a") == b"A" * 100 and package.read("b") is None
    assert package.problems == [PackageProblem(
        "corrupt", "b: its data overlaps another entry's (a zip bomb construction), not read", "b")]


# ---------------------------------------------------------------- names that leave the package
def test_path_traversal_names_are_skipped(tmp_path: Path) -> None:
    names = ["../escape.py", "lib/../../up.py", "..\\win.py", "ok/../fine.py"]
    package = _opened(_zip(tmp_path / "t.zip", {**{name: b"x" for name in names}, "app.py": b"y"}))
    assert _paths(package) == ["app.py"]
    assert package.problems == [
        PackageProblem("traversal", f"{name}: path leaves the package ('..'), skipped", name) for name in names]
    assert _gaps(package) == [
        ("package-traversal", "package t.zip: 4 entries with '..' in the path skipped (first: ../escape.py)")]


def test_absolute_names_are_skipped(tmp_path: Path) -> None:
    names = ["/etc/cron.d/x", "C:\\Windows\\x.dll", "\\\\host\\share\\x", "c:relative.txt"]
    package = _opened(_zip(tmp_path / "a.zip", {name: b"x" for name in names}))
    assert package.files == []
    assert package.problems == [PackageProblem("absolute-path", f"{name}: absolute path, skipped", name)
                                for name in names]
    assert _gaps(package) == [
        ("package-absolute-path", "package a.zip: 4 entries with an absolute path skipped (first: /etc/cron.d/x)")]


def test_control_characters_in_names_are_escaped_in_messages(tmp_path: Path) -> None:
    package = _opened(_zip(tmp_path / "n.zip", {"../a\nb\x1b.py": b"x"}))
    assert package.problems == [PackageProblem(
        "traversal", "../a\\x0ab\\x1b.py: path leaves the package ('..'), skipped", "../a\\x0ab\\x1b.py")]


def test_symlink_entry_is_skipped_never_followed(tmp_path: Path) -> None:
    path = tmp_path / "l.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(_unix_entry("config.json", stat.S_IFLNK | 0o777), "/etc/passwd")
        archive.writestr("app.py", "x")
    package = _opened(path)
    assert _paths(package) == ["app.py"] and package.read("config.json") is None
    assert package.problems == [PackageProblem("symlink", "config.json: symbolic link, not followed", "config.json")]
    assert package.complete  # nothing the package holds was left unread
    assert _gaps(package) == [("package-symlink", "package l.zip: 1 symbolic link not followed (config.json)")]


# ---------------------------------------------------------------- corrupt and unreadable archives
def test_corrupt_central_directory_cannot_be_opened(tmp_path: Path) -> None:
    data = _zip(tmp_path / "c.zip", {"app.py": b"x"}).read_bytes()
    (tmp_path / "c.zip").write_bytes(data.replace(b"PK\x01\x02", b"XX\x01\x02"))
    with pytest.raises(PackageError) as caught:
        _guarded(lambda: open_package(tmp_path / "c.zip", "build/c.zip"))
    assert caught.value.message == "build/c.zip: corrupt zip (bad magic number for central directory)"
    assert caught.value.kind == "corrupt" and caught.value.expected_local
    assert _gaps(caught.value) == [
        ("package-corrupt", "Fn: build/c.zip: corrupt zip (bad magic number for central directory)")]


def test_truncated_and_non_zip_files(tmp_path: Path) -> None:
    data = _zip(tmp_path / "t.zip", {"app.py": b"x" * 100}).read_bytes()
    (tmp_path / "t.zip").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.zip").write_text("hello")
    for name in ("t.zip", "text.zip"):
        with pytest.raises(PackageError) as caught:
            open_package(tmp_path / name, name)
        assert caught.value.message == f"{name}: not a zip (no end of central directory record)"
    with pytest.raises(PackageError) as caught:
        open_package(tmp_path / "nothing", "nothing")
    assert (caught.value.message, caught.value.kind) == ("nothing: no such file or directory", "missing")
    (tmp_path / "app.py").write_text("x")
    with pytest.raises(PackageError) as caught:
        open_package(tmp_path / "app.py", "app.py")
    assert caught.value.message == "app.py: neither a directory nor a zip file"


def test_entry_failing_its_crc_is_a_problem_and_reads_none(tmp_path: Path) -> None:
    data = _zip(tmp_path / "crc.zip", {"a.txt": b"hello world", "b.txt": b"fine"},
                compression=zipfile.ZIP_STORED).read_bytes()
    (tmp_path / "crc.zip").write_bytes(data.replace(b"hello world", b"hellO world"))
    package = _opened(tmp_path / "crc.zip")
    assert package.complete  # the listing is fine: the damage shows when the entry is read
    assert package.read("a.txt") is None and package.sha256("a.txt") is None
    assert package.read("b.txt") == b"fine"
    assert package.problems == [PackageProblem("corrupt", "a.txt: cannot be read (BadZipFile: Bad CRC-32 for file "
                                                          "'a.txt')", "a.txt")]
    assert not package.complete
    stream = package.open("a.txt")
    assert stream is None  # known bad now


def test_entry_whose_header_lies_about_its_size(tmp_path: Path) -> None:
    data = _zip(tmp_path / "s.zip", {"short.txt": b"0123456789", "long.txt": b"abcdefghij"},
                compression=zipfile.ZIP_STORED).read_bytes()
    data = _patch(data, "short.txt", local={22: ("<L", 4)}, central={24: ("<L", 4)})  # claims 4 bytes
    data = _patch(data, "long.txt", local={22: ("<L", 4000)}, central={24: ("<L", 4000)})  # claims 4000
    (tmp_path / "s.zip").write_bytes(data)
    package = _opened(tmp_path / "s.zip")
    assert package.read("short.txt") is None and package.read("long.txt") is None
    assert package.problems == [
        PackageProblem("corrupt", "short.txt: cannot be read (BadZipFile: Bad CRC-32 for file 'short.txt')",
                       "short.txt"),
        PackageProblem("corrupt", "long.txt: shorter than its declared size", "long.txt"),
    ]


def test_encrypted_entry_is_not_read(tmp_path: Path) -> None:
    data = _zip(tmp_path / "e.zip", {"secret.txt": b"ciphertext", "app.py": b"x"},
                compression=zipfile.ZIP_STORED).read_bytes()
    (tmp_path / "e.zip").write_bytes(_patch(data, "secret.txt", local={6: ("<H", 1)}, central={8: ("<H", 1)}))
    package = _opened(tmp_path / "e.zip")
    assert _paths(package) == ["app.py", "secret.txt"] and package.read("secret.txt") is None
    assert package.problems == [PackageProblem("unreadable", "secret.txt: encrypted, not read", "secret.txt")]
    assert _gaps(package) == [("package-unreadable",
                               "package e.zip: 1 file not read: secret.txt: encrypted, not read")]


def test_unsupported_compression_is_not_read(tmp_path: Path) -> None:
    data = _zip(tmp_path / "m.zip", {"a.py": b"x"}, compression=zipfile.ZIP_STORED).read_bytes()
    (tmp_path / "m.zip").write_bytes(_patch(data, "a.py", local={8: ("<H", 9)}, central={10: ("<H", 9)}))
    package = _opened(tmp_path / "m.zip")
    assert package.problems == [PackageProblem("unreadable", "a.py: compression method 9 is not supported", "a.py")]


def test_duplicate_names_read_the_last_entry_and_say_so(tmp_path: Path) -> None:
    path = tmp_path / "d.zip"
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(path, "w") as archive:
        archive.writestr("app.py", "print('scanned')\n")
        archive.writestr("app.py", "print('deployed')\n")
        archive.writestr("same.py", "x")
        archive.writestr("same.py", "x")
    package = _opened(path)
    assert _paths(package) == ["app.py", "same.py"] and package.read("app.py") == b"print('deployed')\n"
    assert package.problems == [PackageProblem(
        "corrupt", "app.py: several different entries with this name: the last one is read (unzip keeps the last)",
        "app.py")]


# ---------------------------------------------------------------- nested zips
def _nested_chain(path: Path) -> Path:
    """fn.zip > libs/mid.zip > inner.jar > deep.zip > bottom.py: zips nested 1, 2 and 3 levels deep."""
    deep = _zip_bytes({"bottom.py": b"b = 3\n"})
    inner = _zip_bytes({"Inner.class": b"\xca\xfe", "deep.zip": deep})
    middle = _zip_bytes({"m.py": b"m = 1\n", "inner.jar": inner})
    return _zip(path, {"app.py": b"a = 0\n", "libs/mid.zip": middle})


def test_nested_zips_are_read_to_max_depth(tmp_path: Path) -> None:
    package = _opened(_nested_chain(tmp_path / "fn.zip"))
    assert _paths(package) == [
        "app.py", "libs/mid.zip", "libs/mid.zip!/inner.jar", "libs/mid.zip!/inner.jar!/Inner.class",
        "libs/mid.zip!/inner.jar!/deep.zip", "libs/mid.zip!/m.py",
    ]
    assert package.read("libs/mid.zip!/m.py") == b"m = 1\n"
    assert package.read("libs/mid.zip!/inner.jar!/Inner.class") == b"\xca\xfe"
    assert package.sha256("libs/mid.zip!/m.py") == hashlib.sha256(b"m = 1\n").hexdigest()
    message = "libs/mid.zip!/inner.jar!/deep.zip: a zip nested 3 levels deep, not opened (max_depth 2)"
    assert package.problems == [PackageProblem("nested", message, "libs/mid.zip!/inner.jar!/deep.zip")]
    assert _gaps(package) == [("package-nested", f"package fn.zip: 1 nested zip not opened: {message}")]
    assert package.digest() == hashlib.sha256((tmp_path / "fn.zip").read_bytes()).hexdigest()


def test_nested_zips_deeper_limit_and_none(tmp_path: Path) -> None:
    path = _nested_chain(tmp_path / "fn.zip")
    assert "libs/mid.zip!/inner.jar!/deep.zip!/bottom.py" in _paths(_opened(path, max_depth=3))
    flat = _opened(path, max_depth=0)
    assert _paths(flat) == ["app.py", "libs/mid.zip"]
    assert flat.problems == [PackageProblem(
        "nested", "libs/mid.zip: a zip nested 1 levels deep, not opened (max_depth 0)", "libs/mid.zip")]


def test_nested_zip_members_count_against_the_package_limits(tmp_path: Path) -> None:
    middle = _zip_bytes({f"{index}.py": b"x" for index in range(10)})
    package = _opened(_zip(tmp_path / "fn.zip", {"a.py": b"x", "lib.zip": middle}), max_entries=5)
    assert _paths(package) == ["a.py", "lib.zip", "lib.zip!/0.py", "lib.zip!/1.py", "lib.zip!/2.py"]
    assert [problem.kind for problem in package.problems] == ["limit"]


def test_nested_zip_larger_than_max_file_bytes_is_not_opened(tmp_path: Path) -> None:
    middle = _zip_bytes({"m.py": b"m" * 3000})
    size = len(middle)
    package = _opened(_zip(tmp_path / "fn.zip", {"lib.zip": middle}, compression=zipfile.ZIP_STORED),
                      max_file_bytes=size - 1)
    assert _paths(package) == ["lib.zip"]
    assert package.problems == [PackageProblem(
        "limit", f"lib.zip: nested zip of {size} bytes not opened (max_file_bytes {size - 1})", "lib.zip")]


def test_nested_file_that_is_not_a_zip(tmp_path: Path) -> None:
    package = _opened(_zip(tmp_path / "fn.zip", {"fake.jar": b"not a zip at all"}))
    assert _paths(package) == ["fake.jar"]
    assert package.problems == [PackageProblem(
        "corrupt", "fake.jar: nested zip not readable (fake.jar: not a zip (no end of central directory record))",
        "fake.jar")]


def test_zip_inside_a_directory_package_is_read_as_nested(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "dep.jar").write_bytes(_zip_bytes({"a/B.class": b"\xca\xfe"}))
    package = _opened(tmp_path)
    assert _paths(package) == ["lib/dep.jar", "lib/dep.jar!/a/B.class"]
    assert package.read("lib/dep.jar!/a/B.class") == b"\xca\xfe"
    digest_lines = f"{hashlib.sha256((tmp_path / 'lib' / 'dep.jar').read_bytes()).hexdigest()}  lib/dep.jar\n"
    assert package.digest() == hashlib.sha256(digest_lines.encode()).hexdigest()


# ---------------------------------------------------------------- from the inventory
SAM = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  First:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
  Second:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
  Zipped:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: build/bomb.zip
  Missing:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: not-built/
  Container:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageUri: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1
  Inline:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: nodejs20.x
      Handler: index.handler
      Role: arn:aws:iam::123456789012:role/r
      Code:
        ZipFile: "exports.handler = async () => 1;"
  Remote:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Role: arn:aws:iam::123456789012:role/r
      Code:
        S3Bucket: artifacts
        S3Key: fn.zip
  Shared:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layer/
"""


@pytest.fixture
def sam_project(tmp_path: Path) -> Path:
    (tmp_path / "template.yaml").write_text(SAM)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (tmp_path / "layer" / "python").mkdir(parents=True)
    (tmp_path / "layer" / "python" / "lib.py").write_text("x = 1\n")
    (tmp_path / "build").mkdir()
    _bomb(tmp_path / "build" / "bomb.zip", 2)
    return tmp_path


def _inventory(*paths: Path) -> Inventory:
    inventory, _ = collect(list(paths), CollectOptions(workers=1))
    return inventory


def _by_name(inventory: Inventory) -> dict[str, PackageTarget]:
    """Targets by resource id; SAM names a layer version "<id><hash>": keep the id."""
    return {target.owner.id.removesuffix(target.owner.id[len("Shared"):] if target.owner.id.startswith("Shared")
                                         else ""): target for target in package_targets(inventory)}


def test_package_targets_and_where_the_code_is_named(sam_project: Path) -> None:
    targets = _by_name(_inventory(sam_project / "template.yaml"))
    assert sorted(targets) == ["First", "Inline", "Missing", "Remote", "Second", "Shared", "Zipped"]
    assert {name: target.role for name, target in targets.items()} == {
        "First": "function", "Inline": "function", "Missing": "function", "Remote": "function",
        "Second": "function", "Shared": "layer", "Zipped": "function"}
    lines = SAM.splitlines()
    for name in ("Inline", "Remote"):  # plain CloudFormation: the Code property's own line
        where = targets[name].where
        assert where.file == "template.yaml" and lines[(where.line or 0) - 1].strip() == "Code:", name
    for name in ("First", "Zipped", "Shared"):  # SAM expansion: the line the collector gives the generated Code
        where = targets[name].where
        owner = targets[name].owner
        assert where == owner.property_locations["Code" if name != "Shared" else "Content"], name


def test_load_package_locates_reads_once_and_reports_gaps(sam_project: Path) -> None:
    inventory = _inventory(sam_project / "template.yaml")
    targets = _by_name(inventory)
    limits = ArchiveLimits()

    def load(name: str) -> Package | PackageError:
        return _guarded(lambda: load_package(targets[name], inventory, [sam_project], limits))

    first = load("First")
    assert isinstance(first, DirectoryPackage) and first.label == "src" and _paths(first) == ["app.py"]
    assert load("Second") is first  # one package shared by two functions is read once
    assert package_gaps(targets["First"], first) == []
    layer = load("Shared")
    assert isinstance(layer, Package) and _paths(layer) == ["python/lib.py"]
    inline = load("Inline")
    assert isinstance(inline, Package) and inline.label == "inline code of Inline"
    assert inline.read("index.js") == b"exports.handler = async () => 1;"
    remote = load("Remote")
    assert isinstance(remote, PackageError) and not remote.expected_local
    assert remote.message == "the code of Remote is in S3 (s3://artifacts/fn.zip), not available locally"
    assert package_gaps(targets["Remote"], remote) == []
    missing = load("Missing")
    assert isinstance(missing, PackageError) and missing.message == "not-built: no such file or directory"
    assert missing.already_reported  # the SAM collector said "CodeUri 'not-built/' of Missing does not exist"
    assert package_gaps(targets["Missing"], missing) == []
    zipped = load("Zipped")
    assert isinstance(zipped, ZipPackage) and zipped.label == "build/bomb.zip"
    assert [(gap.kind, gap.location) for gap in package_gaps(targets["Zipped"], zipped)] == [
        ("package-limit", targets["Zipped"].where)]
    assert load_package(targets["Zipped"], inventory, [sam_project], ArchiveLimits(max_ratio=1e9)) is not zipped


def test_serverless_default_artifact_falls_back_to_the_service_directory(tmp_path: Path) -> None:
    (tmp_path / "serverless.yml").write_text(
        "service: orders\nprovider:\n  name: aws\n  runtime: python3.12\n"
        "functions:\n  create:\n    handler: handler.create\n")
    (tmp_path / "handler.py").write_text("def create(e, c):\n    return 1\n")
    (tmp_path / ".serverless").mkdir()
    (tmp_path / ".serverless" / "state.json").write_text("{}")
    inventory = _inventory(tmp_path / "serverless.yml")
    (target,) = package_targets(inventory)
    package = load_package(target, inventory, [tmp_path], ArchiveLimits())
    assert isinstance(package, DirectoryPackage) and package.label == "."
    assert _paths(package) == ["handler.py", "serverless.yml"]


# ---------------------------------------------------------------- discovery
def test_a_zip_named_on_the_command_line_is_a_code_package(tmp_path: Path) -> None:
    _zip(tmp_path / "layer.zip", {"python/x.py": b"x = 1\n", "../evil": b"x"})
    inventory, scanned = collect([tmp_path / "layer.zip"], CollectOptions(workers=1))
    assert scanned == ["layer.zip"] and inventory.coverage_gaps == []
    (package,) = inventory.packages
    assert (package.key, package.id, package.type, package.role) == (
        "layer.zip#package", "layer.zip", "lambdasec::Package", "unknown")
    assert package.content == CodeLocation("local", "layer.zip") and package.location == Location("layer.zip")
    assert inventory.get("layer.zip#package") is package
    (target,) = package_targets(inventory)
    assert (target.role, target.where) == ("package", Location("layer.zip"))
    loaded = load_package(target, inventory, [tmp_path], ArchiveLimits())
    assert isinstance(loaded, ZipPackage) and _paths(loaded) == ["python/x.py"]
    assert _gaps(loaded) == [("package-traversal", "package layer.zip: 1 entry with '..' in the path skipped "
                                                   "(../evil)")]


def test_zips_met_while_walking_a_directory_are_not_packages(tmp_path: Path) -> None:
    (tmp_path / "build").mkdir()
    _zip(tmp_path / "build" / "fn.zip", {"app.py": b"x"})
    inventory, scanned = collect([tmp_path], CollectOptions(workers=1))
    assert inventory.packages == [] and scanned == []


def test_code_package_survives_the_trip_from_a_worker_process(tmp_path: Path) -> None:
    import pickle

    inventory = _inventory(_zip(tmp_path / "fn.zip", {"app.py": b"x"}))
    inventory.derived["packages"] = object()  # memos never travel
    copy = pickle.loads(pickle.dumps(inventory))
    assert copy.packages == inventory.packages and copy.get("fn.zip#package") is not None
    assert copy.derived == {}


# ---------------------------------------------------------------- Terraform archive_file
TERRAFORM = """\
data "archive_file" "api" {
  type        = "zip"
  source_dir  = "${path.module}/src"
  output_path = "${path.module}/build/api.zip"
  excludes    = ["tests", "*.md"]
}

data "archive_file" "single" {
  type        = "zip"
  source_file = "${path.module}/one/handler.py"
  output_path = "${path.module}/build/single.zip"
}

data "archive_file" "generated" {
  type                    = "zip"
  source_content          = "def handler(e, c):\\n    return 1\\n"
  source_content_filename = "gen.py"
  output_path             = "${path.module}/build/gen.zip"
}

resource "aws_lambda_function" "api" {
  function_name    = "api"
  role             = "arn:aws:iam::123456789012:role/r"
  runtime          = "python3.12"
  handler          = "app.handler"
  filename         = data.archive_file.api.output_path
  source_code_hash = data.archive_file.api.output_base64sha256
}

resource "aws_lambda_function" "single" {
  function_name = "single"
  role          = "arn:aws:iam::123456789012:role/r"
  runtime       = "python3.12"
  handler       = "handler.handler"
  filename      = data.archive_file.single.output_path
}

resource "aws_lambda_function" "generated" {
  function_name = "generated"
  role          = "arn:aws:iam::123456789012:role/r"
  runtime       = "python3.12"
  handler       = "gen.handler"
  filename      = data.archive_file.generated.output_path
}

resource "aws_lambda_layer_version" "shared" {
  layer_name = "shared"
  filename   = data.archive_file.api.output_path
}

resource "aws_lambda_function" "prebuilt" {
  function_name = "prebuilt"
  role          = "arn:aws:iam::123456789012:role/r"
  runtime       = "python3.12"
  handler       = "app.handler"
  filename      = "${path.module}/dist/prebuilt.zip"
}

resource "aws_lambda_function" "unbuilt" {
  function_name = "unbuilt"
  role          = "arn:aws:iam::123456789012:role/r"
  runtime       = "python3.12"
  handler       = "app.handler"
  filename      = "${path.module}/dist/unbuilt.zip"
}
"""


def test_terraform_archive_file_resolves_to_its_source(tmp_path: Path) -> None:
    module = tmp_path / "infra"
    (module / "src" / "tests").mkdir(parents=True)
    (module / "main.tf").write_text(TERRAFORM)
    (module / "src" / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (module / "src" / "README.md").write_text("docs")
    (module / "src" / "tests" / "test_app.py").write_text("assert True\n")
    (module / "one").mkdir()
    (module / "one" / "handler.py").write_text("def handler(e, c):\n    return 2\n")
    (module / "one" / "other.py").write_text("not in the zip")
    (module / "dist").mkdir()
    _zip(module / "dist" / "prebuilt.zip", {"app.py": b"x"})
    inventory = _inventory(tmp_path)
    targets = {target.owner.id: target for target in package_targets(inventory)}
    assert {name: target.location for name, target in targets.items()} == {
        "aws_lambda_function.api": CodeLocation("local", "infra/src", excludes=("tests", "*.md")),
        "aws_lambda_function.single": CodeLocation("local", "infra/one/handler.py", single_file=True),
        "aws_lambda_function.generated": CodeLocation("inline", "gen.py", "def handler(e, c):\n    return 1\n"),
        "aws_lambda_function.prebuilt": CodeLocation("local", "infra/dist/prebuilt.zip"),
        "aws_lambda_function.unbuilt": CodeLocation("local", "infra/dist/unbuilt.zip"),
        "aws_lambda_layer_version.shared": CodeLocation("local", "infra/src", excludes=("tests", "*.md")),
    }
    lines = TERRAFORM.splitlines()
    for target in targets.values():
        assert target.where.file == "infra/main.tf"
        assert lines[(target.where.line or 0) - 1].strip().startswith("filename"), target.owner.id

    def load(name: str) -> Package | PackageError:
        return load_package(targets[name], inventory, [tmp_path], ArchiveLimits())

    api = load("aws_lambda_function.api")
    assert isinstance(api, DirectoryPackage) and api.label == "infra/src" and _paths(api) == ["app.py"]
    assert load("aws_lambda_layer_version.shared") is api
    single = load("aws_lambda_function.single")
    assert isinstance(single, DirectoryPackage) and single.label == "infra/one" and _paths(single) == ["handler.py"]
    assert single.read("handler.py") == b"def handler(e, c):\n    return 2\n"
    generated = load("aws_lambda_function.generated")
    assert isinstance(generated, Package) and generated.kind == "inline" and _paths(generated) == ["gen.py"]
    prebuilt = load("aws_lambda_function.prebuilt")
    assert isinstance(prebuilt, ZipPackage) and prebuilt.label == "infra/dist/prebuilt.zip"
    unbuilt = load("aws_lambda_function.unbuilt")
    assert isinstance(unbuilt, PackageError)
    assert package_gaps(targets["aws_lambda_function.unbuilt"], unbuilt) == [CoverageGap(
        "package-missing", "aws_lambda_function.unbuilt: infra/dist/unbuilt.zip: no such file or directory",
        targets["aws_lambda_function.unbuilt"].where)]


def test_terraform_archive_file_without_a_static_source(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'variable "dir" {}\n'
        'data "archive_file" "x" {\n  type = "zip"\n  source_dir = var.dir\n  output_path = "x.zip"\n}\n'
        'resource "aws_lambda_function" "f" {\n  function_name = "f"\n  role = "r"\n  runtime = "python3.12"\n'
        '  handler = "a.b"\n  filename = data.archive_file.x.output_path\n}\n')
    inventory = _inventory(tmp_path)
    (target,) = package_targets(inventory)
    loaded = load_package(target, inventory, [tmp_path], ArchiveLimits())
    assert isinstance(loaded, PackageError) and not loaded.expected_local
    assert loaded.message.startswith("the code path of aws_lambda_function.f is not known statically")


# ---------------------------------------------------------------- through a whole scan
BOMB_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: build/fn.zip
      FunctionUrlConfig:
        AuthType: NONE
"""


def test_a_bomb_package_is_a_gap_and_the_rest_of_the_scan_still_reports(tmp_path: Path) -> None:
    """Needs a rule that reads packages (INT009/INT010 today): the engine reports their gaps once."""
    import lambdasec

    (tmp_path / "template.yaml").write_text(BOMB_TEMPLATE)
    (tmp_path / "build").mkdir()
    _bomb(tmp_path / "build" / "fn.zip", 2)
    report = _guarded(lambda: lambdasec.scan_paths([tmp_path / "template.yaml"]))
    message = ("package build/fn.zip: a reading limit was reached: data/zeros.bin: compression ratio 1024 above "
               "max_ratio 100 (2097152 bytes from 2049): zip bomb?, not read")
    assert [(gap.kind, gap.message) for gap in report.coverage_gaps] == [("package-limit", message)]
    assert "EXP001" in {finding.rule_id for finding in report.findings}  # the public function URL


def test_cli_scan_of_a_bomb_zip_is_incomplete(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lambdasec.cli import main

    _bomb(tmp_path / "layer.zip", 2)
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "layer.zip"), "--format", "json"])
    assert result.exit_code == 3, result.output
    assert '"kind": "package-limit"' in result.output
    limited = CliRunner().invoke(main, ["scan", str(tmp_path / "layer.zip"), "--max-archive-ratio", "2000"])
    assert limited.exit_code == 0, limited.output


def test_a_directory_file_that_grew_since_the_listing_is_not_read_past_its_size(tmp_path: Path) -> None:
    (tmp_path / "log.txt").write_text("0123")
    package = _opened(tmp_path)
    (tmp_path / "log.txt").write_text("0123456789")
    assert package.read("log.txt") is None
    assert package.problems == [PackageProblem("corrupt", "log.txt: longer than its declared size", "log.txt")]


def test_the_memo_keeps_a_bounded_number_of_zip_files_open(tmp_path: Path) -> None:
    from lambdasec.analysis import packages

    inventory = Inventory()
    for index in range(packages._OPEN_PACKAGES + 6):
        name = f"p{index}.zip"
        _zip(tmp_path / name, {"app.py": f"n = {index}\n".encode()})
        inventory.add(inventory.packages, CodePackage(key=f"{name}#package", id=name, type="lambdasec::Package",
                                                      location=Location(name), content=CodeLocation("local", name)))
    loaded = [load_package(target, inventory, [tmp_path], ArchiveLimits()) for target in package_targets(inventory)]
    zips = [package for package in loaded if isinstance(package, ZipPackage)]
    assert len(zips) == packages._OPEN_PACKAGES + 6
    assert sum(package._archive is not None for package in zips) == packages._OPEN_PACKAGES
    assert zips[0]._archive is None and zips[0].read("app.py") == b"n = 0\n"  # closed, reopened when read


def test_the_config_file_archive_table_gives_the_limits(tmp_path: Path) -> None:
    from lambdasec.config import load_config

    (tmp_path / "pyproject.toml").write_text("[tool.lambdasec.archive]\nmax_ratio = 250.5\nmax_depth = 0\n")
    config = load_config(None, tmp_path)
    assert limits_from_options(config.rule_options) == ArchiveLimits(max_ratio=250.5, max_depth=0)


def test_members_of_a_nested_zip_in_a_directory_read_after_the_budget_is_spent(tmp_path: Path) -> None:
    """Reading reopens the nested zip with the full entry budget and finds members by what was listed."""
    (tmp_path / "dep.jar").write_bytes(_zip_bytes({f"{index}.class": bytes([index]) for index in range(4)}))
    package = _opened(tmp_path, max_entries=5)
    assert _paths(package) == ["dep.jar", "dep.jar!/0.class", "dep.jar!/1.class", "dep.jar!/2.class",
                               "dep.jar!/3.class"]
    assert [package.read(f"dep.jar!/{index}.class") for index in range(4)] == [bytes([index]) for index in range(4)]
    assert isinstance(package, DirectoryPackage) and package.disk_path("dep.jar") == tmp_path / "dep.jar"
    assert package.disk_path("dep.jar!/0.class") is None


def test_an_entry_named_like_a_nested_member_cannot_hide_behind_it(tmp_path: Path) -> None:
    inner = _zip_bytes({"a.py": b"benign = 1\n"})
    package = _opened(_zip(tmp_path / "fn.zip", {"lib.zip!/a.py": b"evil = 1\n", "lib.zip": inner}))
    assert _paths(package) == ["lib.zip", "lib.zip!/a.py"]
    assert package.problems == [PackageProblem(
        "corrupt", "lib.zip!/a.py: two different files have this name (one in a nested zip): only the last one "
                   "listed is read", "lib.zip!/a.py")]
    assert package.read("lib.zip!/a.py") == b"benign = 1\n"
    top = _opened(_zip(tmp_path / "top.zip", {"x!/y.py": b"plain = 1\n"}))  # a "!/" in a name is just a name
    assert _paths(top) == ["x!/y.py"] and top.read("x!/y.py") == b"plain = 1\n" and top.problems == []


def test_closing_a_package_leaves_streams_in_use_working(tmp_path: Path) -> None:
    size = 3 * MiB  # more than the stream's buffer: reading on after close() goes back to the file
    package = _opened(_zip(tmp_path / "fn.zip", {"a.txt": b"x" * size, "b.txt": b"y"},
                           compression=zipfile.ZIP_STORED))
    stream = package.open("a.txt")
    assert stream is not None and stream.read(10) == b"x" * 10
    package.close()  # what load_package's memo does to the least recently used zips
    assert stream.read() == b"x" * (size - 10)
    stream.close()
    package.close()
    assert isinstance(package, ZipPackage) and package._archive is None and package.read("b.txt") == b"y"
