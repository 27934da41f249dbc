"""Installed Python distributions checked against their RECORD (analysis/records.py), on packages built in tmp_path:
directories laid out like `pip install -t`, zips, layer layouts, nested zips, and copies of real installed wheels."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import io
import shutil
import zipfile
from pathlib import Path

import pytest

from lambdasec.analysis.packages import Package, open_package
from lambdasec.analysis.records import (
    Distribution,
    RecordCheck,
    published_files,
    python_distributions,
    verify,
    verify_all,
)


def record_hash(data: bytes, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm, data).digest()
    return f"{algorithm}=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def install(site: Path, name: str, version: str, files: dict[str, bytes], *, extra_record: list[str] | None = None,
            metadata_name: str | None = None) -> Path:
    """Lay out a distribution the way pip does in ``site``: its files, then <name>-<version>.dist-info with
    METADATA, INSTALLER and a RECORD of every file (the RECORD line itself without hash)."""
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    for relative, data in files.items():
        target = site / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {metadata_name or name}\nVersion: {version}\n\n"
                                   "Name: not-a-header\n")
    (info / "INSTALLER").write_text("pip\n")
    rows = []
    for relative in [*files, f"{info.name}/METADATA", f"{info.name}/INSTALLER"]:
        data = (site / relative).read_bytes()
        rows.append(f"{relative},{record_hash(data)},{len(data)}")
    rows.extend(extra_record or [])
    rows.append(f"{info.name}/RECORD,,")
    (info / "RECORD").write_text("\n".join(rows) + "\n")
    return info


def checks_by_name(package: Package) -> dict[str, RecordCheck]:
    return {check.distribution.name: check for check in verify_all(package)}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A function's code directory with two vendored distributions and the team's handler."""
    root = tmp_path / "code"
    install(root, "requestz", "2.31.0", {
        "requestz/__init__.py": b"from .api import get\n",
        "requestz/api.py": b"def get(url):\n    return url\n",
        "requestz/py.typed": b"",
    })
    install(root, "six", "1.16.0", {"six.py": b"PY3 = True\n"})
    (root / "handler.py").write_text("def handler(event, context):\n    return 1\n")
    return root


# ---------------------------------------------------------------- reading RECORD
def test_distributions_are_read_from_metadata_with_their_entries(site: Path) -> None:
    package = open_package(site, "code")
    distributions = python_distributions(package)
    assert [(d.name, d.version, d.dist_info, d.site_root) for d in distributions] == [
        ("requestz", "2.31.0", "requestz-2.31.0.dist-info", ""),
        ("six", "1.16.0", "six-1.16.0.dist-info", ""),
    ]
    requestz = distributions[0]
    assert [(e.path, e.algorithm, e.size) for e in requestz.entries] == [
        ("requestz/__init__.py", "sha256", 21), ("requestz/api.py", "sha256", 29), ("requestz/py.typed", "sha256", 0),
        ("requestz-2.31.0.dist-info/METADATA", "sha256", 73), ("requestz-2.31.0.dist-info/INSTALLER", "sha256", 4),
        ("requestz-2.31.0.dist-info/RECORD", "", None),
    ]
    assert requestz.entries[0].digest == hashlib.sha256(b"from .api import get\n").hexdigest()
    assert requestz.entries[1].line == 2
    assert requestz.record_path == "requestz-2.31.0.dist-info/RECORD"
    assert requestz.label == "requestz 2.31.0"


def test_name_and_version_fall_back_to_the_directory_name(tmp_path: Path) -> None:
    info = install(tmp_path, "tiny", "0.1", {"tiny/__init__.py": b"x = 1\n"})
    (info / "METADATA").unlink()
    (distribution,) = python_distributions(open_package(tmp_path, "code"))
    assert (distribution.name, distribution.version) == ("tiny", "0.1")


def test_a_dist_info_without_record_cannot_be_verified(tmp_path: Path) -> None:
    info = install(tmp_path, "tiny", "0.1", {"tiny/__init__.py": b"x = 1\n"})
    (info / "RECORD").unlink()
    (check,) = verify_all(open_package(tmp_path, "code"))
    assert check.distribution.has_record is False
    assert (check.unmodified, check.modified, check.missing, check.added) == ((), (), (), ())
    assert published_files(open_package(tmp_path, "code")) == frozenset()


def test_lines_outside_the_package_and_malformed_hashes_are_counted(tmp_path: Path) -> None:
    install(tmp_path, "tool", "1.0", {"tool/__init__.py": b""}, extra_record=[
        "../../bin/tool,sha256=AAAA,12",  # pip -t: scripts are recorded relative to lib/python
        "/usr/share/tool.txt,sha256=AAAA,3",
        "tool/data.bin,sha256=***,3",
    ])
    (distribution,) = python_distributions(open_package(tmp_path, "code"))
    assert (distribution.outside, distribution.malformed) == (2, 1)
    assert [e.path for e in distribution.entries][:1] == ["tool/__init__.py"]


# ---------------------------------------------------------------- verifying
def test_an_untouched_installation_verifies_and_is_published(site: Path) -> None:
    package = open_package(site, "code")
    checks = checks_by_name(package)
    assert [check.tampered for check in checks.values()] == [False, False]
    assert checks["requestz"].unmodified == (
        "requestz-2.31.0.dist-info/INSTALLER", "requestz-2.31.0.dist-info/METADATA", "requestz/__init__.py",
        "requestz/api.py", "requestz/py.typed",
    )
    assert checks["requestz"].unverified == ("requestz-2.31.0.dist-info/RECORD",)
    assert sorted(published_files(package)) == sorted([
        *checks["requestz"].unmodified, "requestz-2.31.0.dist-info/RECORD",
        *checks["six"].unmodified, "six-1.16.0.dist-info/RECORD",
    ])
    assert "handler.py" not in published_files(package)


def test_a_modified_file_of_the_same_size_is_found_by_its_hash(site: Path) -> None:
    (site / "requestz" / "api.py").write_bytes(b"def get(url):\n    return 666\n")
    package = open_package(site, "code")
    check = checks_by_name(package)["requestz"]
    assert (check.modified, check.added, check.missing) == (("requestz/api.py",), (), ())
    assert check.tampered
    assert "requestz/api.py" not in published_files(package)
    assert checks_by_name(package)["six"].tampered is False


def test_a_modified_file_of_another_size_is_found_without_hashing(site: Path) -> None:
    (site / "six.py").write_bytes(b"PY3 = True\nimport os; os.system('id')\n")
    check = checks_by_name(open_package(site, "code"))["six"]
    assert check.modified == ("six.py",)


def test_a_missing_file_is_reported(site: Path) -> None:
    (site / "requestz" / "py.typed").unlink()
    check = checks_by_name(open_package(site, "code"))["requestz"]
    assert (check.modified, check.added, check.missing) == ((), (), ("requestz/py.typed",))


def test_files_added_in_a_distribution_directory_are_reported_but_not_caches_or_the_teams_code(site: Path) -> None:
    (site / "requestz" / "hooks.py").write_text("import os\n")
    (site / "requestz" / "adapters").mkdir()
    (site / "requestz" / "adapters" / "evil.py").write_text("import os\n")
    (site / "requestz" / "__pycache__").mkdir()
    (site / "requestz" / "__pycache__" / "api.cpython-312.pyc").write_bytes(b"\0\0")
    (site / "requestz" / "legacy.pyc").write_bytes(b"\0\0")
    (site / "bin").mkdir()
    (site / "bin" / "requestz-cli").write_text("#!/bin/sh\n")
    (site / "lib").mkdir()
    (site / "lib" / "orders.py").write_text("x = 1\n")
    (site / "requestz-2.31.0.dist-info" / "direct_url.json").write_text("{}")
    check = checks_by_name(open_package(site, "code"))["requestz"]
    assert check.added == ("requestz/adapters/evil.py", "requestz/hooks.py")
    assert (check.modified, check.missing) == ((), ())


def test_a_shared_namespace_directory_is_not_counted_as_added(tmp_path: Path) -> None:
    install(tmp_path, "google_auth", "2.0", {"google/auth/__init__.py": b"a = 1\n"})
    install(tmp_path, "protobuf", "5.0", {"google/protobuf/__init__.py": b"p = 1\n"})
    (tmp_path / "google" / "protobuf" / "backdoor.py").write_text("import os\n")
    checks = checks_by_name(open_package(tmp_path, "code"))
    assert checks["google_auth"].added == ()
    assert checks["protobuf"].added == ("google/protobuf/backdoor.py",)


def test_verify_one_distribution_matches_verify_all(site: Path) -> None:
    (site / "requestz" / "extra.py").write_text("")
    package = open_package(site, "code")
    (requestz, six) = python_distributions(package)
    assert verify(package, requestz) == checks_by_name(package)["requestz"]
    assert verify(package, six, others=[six]).added == ()


def test_stronger_algorithms_are_verified_and_weak_ones_are_not_trusted(tmp_path: Path) -> None:
    strong, weak = b"strong = 1\n", b"weak = 1\n"
    install(tmp_path, "algos", "1.0", {"algos/__init__.py": b""}, extra_record=[
        f"algos/strong.py,{record_hash(strong, 'sha512')},{len(strong)}",
        f"algos/weak.py,{record_hash(weak, 'md5')},{len(weak)}",
    ])
    (tmp_path / "algos" / "strong.py").write_bytes(strong)
    (tmp_path / "algos" / "weak.py").write_bytes(weak)
    check = checks_by_name(open_package(tmp_path, "code"))["algos"]
    assert "algos/strong.py" in check.unmodified
    assert "algos/weak.py" in check.unverified
    (tmp_path / "algos" / "strong.py").write_bytes(b"strong = 2\n")
    assert checks_by_name(open_package(tmp_path, "code"))["algos"].modified == ("algos/strong.py",)


# ---------------------------------------------------------------- zips and layers
def _zip_of(directory: Path, prefix: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + path.relative_to(directory).as_posix())
    return buffer.getvalue()


def test_a_layer_zip_in_the_python_site_packages_layout(site: Path, tmp_path: Path) -> None:
    (site / "requestz" / "api.py").write_bytes(b"def get(url):\n    return 666\n")
    layer = tmp_path / "layer.zip"
    layer.write_bytes(_zip_of(site, "python/lib/python3.12/site-packages/"))
    package = open_package(layer, "layer.zip")
    distributions = python_distributions(package)
    assert [d.site_root for d in distributions] == ["python/lib/python3.12/site-packages"] * 2
    check = checks_by_name(package)["requestz"]
    assert check.modified == ("python/lib/python3.12/site-packages/requestz/api.py",)
    assert "python/lib/python3.12/site-packages/six.py" in published_files(package)


def test_a_distribution_inside_a_nested_zip(site: Path, tmp_path: Path) -> None:
    outer = tmp_path / "bundle.zip"
    with zipfile.ZipFile(outer, "w") as archive:
        archive.writestr("vendor/deps.zip", _zip_of(site))
        archive.writestr("handler.py", "x = 1\n")
    package = open_package(outer, "bundle.zip")
    assert [d.site_root for d in python_distributions(package)] == ["vendor/deps.zip!"] * 2
    assert [check.tampered for check in verify_all(package)] == [False, False]
    assert "vendor/deps.zip!/requestz/api.py" in published_files(package)


# ---------------------------------------------------------------- real wheels
def _copy_installed(distribution_name: str, target: Path) -> importlib.metadata.Distribution:
    """Copy an installed distribution into ``target`` the way `pip install -t` lays it out: every RECORD file
    inside site-packages (scripts recorded as ../../bin are left out, as -t puts them elsewhere)."""
    distribution = importlib.metadata.distribution(distribution_name)
    site = Path(str(distribution.locate_file("")))
    for file in distribution.files or []:
        source = Path(str(distribution.locate_file(file)))
        if ".." in file.parts or not source.is_file():
            continue
        destination = target / file
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
    assert site.is_dir()
    return distribution


def test_real_installed_distributions_verify_and_one_edit_is_found(tmp_path: Path) -> None:
    for name in ("urllib3", "jmespath"):  # botocore's dependencies: always installed with lambdasec
        _copy_installed(name, tmp_path)
    package = open_package(tmp_path, "code")
    checks = {check.distribution.name.lower(): check for check in verify_all(package)}
    assert sorted(checks) == ["jmespath", "urllib3"]
    assert [(name, check.tampered) for name, check in sorted(checks.items())] == [("jmespath", False),
                                                                                  ("urllib3", False)]
    assert len(checks["urllib3"].unmodified) > 20
    edited = tmp_path / "urllib3" / "util" / "retry.py"
    edited.write_text(edited.read_text() + "\n# patched\n")
    checks = {check.distribution.name.lower(): check for check in verify_all(open_package(tmp_path, "code"))}
    assert checks["urllib3"].modified == ("urllib3/util/retry.py",)
    assert (checks["urllib3"].added, checks["urllib3"].missing, checks["jmespath"].tampered) == ((), (), False)


def test_distribution_is_a_value_object() -> None:
    one = Distribution("a", "1", "a-1.dist-info", "")
    assert one == Distribution("a", "1", "a-1.dist-info", "") and one.record_path == "a-1.dist-info/RECORD"


def test_an_entry_that_cannot_be_read_is_unverified_not_modified(site: Path, tmp_path: Path) -> None:
    data = bytearray(_zip_of_stored(site))
    marker = b"return url"  # stored (not compressed): corrupt requestz/api.py's bytes, keeping its size
    at = data.index(marker)
    data[at:at + len(marker)] = b"return URL"
    archive = tmp_path / "corrupt.zip"
    archive.write_bytes(bytes(data))
    package = open_package(archive, "corrupt.zip")
    check = checks_by_name(package)["requestz"]
    assert "requestz/api.py" in check.unverified
    assert (check.modified, check.missing) == ((), ())
    assert "requestz/api.py" not in published_files(package)


def _zip_of_stored(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()
