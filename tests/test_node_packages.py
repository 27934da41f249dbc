"""Node.js packages installed in a package, and their comparison with package-lock.json (INT009)."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

import lambdasec
from lambdasec.analysis.node_packages import (
    Mismatch,
    _install_location,
    compare_tree,
    installed_packages,
    node_trees,
    npm_purl,
    read_lockfile,
)
from lambdasec.analysis.packages import Package, open_package
from lambdasec.model.findings import Severity

from .conftest import FIXTURE_CLOCK


def integrity(seed: str) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(seed.encode()).digest()).decode()


def write_json(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")


def install(root: Path, install_path: str, name: str, version: str, **extra: Any) -> None:
    write_json(root / install_path / "package.json", {"name": name, "version": version, **extra})
    (root / install_path / "index.js").write_text("module.exports = {};\n")


def lock_v3(root: Path, entries: dict[str, dict[str, Any]], name: str = "package-lock.json") -> None:
    packages: dict[str, Any] = {"": {"name": "app", "version": "1.0.0"}}
    packages.update(entries)
    write_json(root / name, {"name": "app", "version": "1.0.0", "lockfileVersion": 3, "packages": packages})


def entry(name: str, version: str, seed: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"version": version, "resolved": f"https://registry.npmjs.org/{name}/-/{name.split('/')[-1]}-{version}.tgz",
            "integrity": integrity(seed or f"{name}@{version}"), **extra}


def package(root: Path) -> Package:
    return open_package(root, "src/app")


def mismatches(root: Path) -> dict[str, list[tuple[str, str, str]]]:
    """install path -> [(kind, expected, found)] for every tree of the package."""
    out: dict[str, list[tuple[str, str, str]]] = {}
    for tree in node_trees(package(root)):
        for found in compare_tree(tree):
            out[found.package.install_path] = [(m.kind, m.expected, m.found) for m in found.mismatches]
    return out


# ---------------------------------------------------------------- where installed packages are
@pytest.mark.parametrize(("path", "expected"), [
    ("node_modules/a/package.json", ("", "node_modules/a")),
    ("node_modules/@s/a/package.json", ("", "node_modules/@s/a")),
    ("node_modules/a/node_modules/@s/b/package.json", ("", "node_modules/a/node_modules/@s/b")),
    ("nodejs/node_modules/a/package.json", ("nodejs/", "node_modules/a")),
    ("nodejs/node18/node_modules/a/package.json", ("nodejs/node18/", "node_modules/a")),
    ("node_modules/a/lib/package.json", None),  # a package's own sub-manifest ("type": "module" markers)
    ("node_modules/a/lib/node_modules/b/package.json", None),
    ("node_modules/.bin/package.json", None),
    ("node_modules/.pnpm/a@1.0.0/node_modules/a/package.json", None),
    ("node_modules/@s/package.json", None),  # a scope is not a package
    ("package.json", None),
    ("lib.zip!/node_modules/a/package.json", None),  # inside a nested zip: not where Node resolves modules
])
def test_install_locations(path: str, expected: tuple[str, str] | None) -> None:
    assert _install_location(path) == expected


def test_installed_packages_read_name_version_and_npm6_integrity(tmp_path: Path) -> None:
    install(tmp_path, "node_modules/@aws-sdk/client-s3", "@aws-sdk/client-s3", "3.600.0")
    install(tmp_path, "node_modules/a/node_modules/b", "b", "2.0.0", _integrity=integrity("b"))
    install(tmp_path, "node_modules/a", "a", "1.0.0")
    write_json(tmp_path / "node_modules/a/lib/package.json", {"type": "module"})
    (tmp_path / "node_modules/broken").mkdir()
    (tmp_path / "node_modules/broken/package.json").write_text("{not json")
    found = installed_packages(package(tmp_path))
    assert [(p.name, p.version, p.install_path, p.recorded_integrity) for p in found] == [
        ("@aws-sdk/client-s3", "3.600.0", "node_modules/@aws-sdk/client-s3", None),
        ("b", "2.0.0", "node_modules/a/node_modules/b", integrity("b")),
        ("a", "1.0.0", "node_modules/a", None),
        ("broken", "", "node_modules/broken", None),
    ]
    assert found[-1].problem == "node_modules/broken/package.json is not valid JSON (JSONDecodeError)"


@pytest.mark.parametrize(("name", "version", "purl"), [
    ("left-pad", "1.3.0", "pkg:npm/left-pad@1.3.0"),
    ("@aws-sdk/client-s3", "3.600.0", "pkg:npm/%40aws-sdk/client-s3@3.600.0"),
    ("uuid", "", "pkg:npm/uuid"),
    ("x", "1.0.0-beta+build.5", "pkg:npm/x@1.0.0-beta+build.5"),
])
def test_npm_purls(name: str, version: str, purl: str) -> None:
    assert npm_purl(name, version) == purl


# ---------------------------------------------------------------- lock files
def test_lock_v3_version_name_and_unlisted_packages(tmp_path: Path) -> None:
    lock_v3(tmp_path, {
        "node_modules/a": entry("a", "1.0.0"),
        "node_modules/b": entry("b", "2.0.0"),
        "node_modules/aliased": {**entry("real", "3.0.0"), "name": "real"},  # npm i aliased@npm:real@3
        "node_modules/optional-linux": entry("optional-linux", "1.0.0", optional=True),  # not installed: fine
    })
    install(tmp_path, "node_modules/a", "a", "1.0.0")
    install(tmp_path, "node_modules/b", "b", "2.0.1")
    install(tmp_path, "node_modules/aliased", "real", "3.0.0")
    install(tmp_path, "node_modules/extra", "extra", "0.1.0")
    install(tmp_path, "node_modules/a/node_modules/c", "c", "1.0.0")
    assert mismatches(tmp_path) == {
        "node_modules/b": [("version", "2.0.0", "2.0.1")],
        "node_modules/extra": [("not-in-lock", "", "")],
        "node_modules/a/node_modules/c": [("not-in-lock", "", "")],
    }


def test_a_package_replaced_by_another_under_the_same_directory(tmp_path: Path) -> None:
    lock_v3(tmp_path, {"node_modules/lodash": entry("lodash", "4.17.21")})
    install(tmp_path, "node_modules/lodash", "lodahs", "4.17.21")
    assert mismatches(tmp_path) == {"node_modules/lodash": [("name", "lodash", "lodahs")]}


def test_lock_v1_nested_dependencies_aliases_and_git_versions(tmp_path: Path) -> None:
    write_json(tmp_path / "package-lock.json", {"name": "app", "lockfileVersion": 1, "dependencies": {
        "a": {"version": "1.0.0", "integrity": integrity("a"), "dependencies": {
            "b": {"version": "2.0.0", "integrity": integrity("b")},
        }},
        "aliased": {"version": "npm:@s/real@3.1.0"},
        "from-git": {"version": "git+https://github.com/o/from-git.git#1a2b3c4d", "from": "github:o/from-git"},
    }})
    lock = read_lockfile(package(tmp_path), "package-lock.json")
    assert lock.lockfile_version == 1 and lock.problem == ""
    assert {path: (e.name, e.version) for path, e in lock.entries.items()} == {
        "node_modules/a": ("a", "1.0.0"),
        "node_modules/a/node_modules/b": ("b", "2.0.0"),
        "node_modules/aliased": ("@s/real", "3.1.0"),
        "node_modules/from-git": ("from-git", ""),
    }
    install(tmp_path, "node_modules/a", "a", "1.0.0")
    install(tmp_path, "node_modules/a/node_modules/b", "b", "2.0.0")
    install(tmp_path, "node_modules/aliased", "@s/real", "3.1.0")
    install(tmp_path, "node_modules/from-git", "from-git", "0.0.0-development")  # no registry version to compare
    assert mismatches(tmp_path) == {}
    install(tmp_path, "node_modules/a/node_modules/b", "b", "2.0.9")
    assert mismatches(tmp_path) == {"node_modules/a/node_modules/b": [("version", "2.0.0", "2.0.9")]}


def test_shrinkwrap_is_preferred_over_package_lock(tmp_path: Path) -> None:
    lock_v3(tmp_path, {"node_modules/a": entry("a", "1.0.0")})
    lock_v3(tmp_path, {"node_modules/a": entry("a", "1.0.1")}, name="npm-shrinkwrap.json")
    install(tmp_path, "node_modules/a", "a", "1.0.0")
    [tree] = node_trees(package(tmp_path))
    assert tree.lock is not None and tree.lock.path == "npm-shrinkwrap.json"
    assert mismatches(tmp_path) == {"node_modules/a": [("version", "1.0.1", "1.0.0")]}


def test_npm_record_of_the_install_against_the_lock(tmp_path: Path) -> None:
    """node_modules/.package-lock.json: what npm installed. Another tarball for the same version is content that
    differs from the pinned one; a git dependency is identified by its resolved commit."""
    lock_v3(tmp_path, {
        "node_modules/a": entry("a", "1.0.0"),
        "node_modules/b": entry("b", "2.0.0"),
        "node_modules/g": {"version": "1.0.0", "resolved": "git+ssh://git@github.com/o/g.git#1111111"},
    })
    lock_v3(tmp_path, {
        "node_modules/a": entry("a", "1.0.0", seed="republished"),
        "node_modules/b": entry("b", "2.0.0"),
        "node_modules/g": {"version": "1.0.0", "resolved": "git+ssh://git@github.com/o/g.git#2222222"},
    }, name="node_modules/.package-lock.json")
    install(tmp_path, "node_modules/a", "a", "1.0.0")
    install(tmp_path, "node_modules/b", "b", "2.0.0")
    install(tmp_path, "node_modules/g", "g", "1.0.0")
    assert mismatches(tmp_path) == {
        "node_modules/a": [("integrity", integrity("a@1.0.0"), integrity("republished"))],
        "node_modules/g": [("resolved", "git+ssh://git@github.com/o/g.git#1111111",
                            "git+ssh://git@github.com/o/g.git#2222222")],
    }
    [tree] = node_trees(package(tmp_path))
    assert [found.content_differs for found in compare_tree(tree)] == [True, True]


def test_without_package_lock_npm_record_is_the_reference(tmp_path: Path) -> None:
    """Layers are often zipped from nodejs/ without package-lock.json: npm's own record still tells what it put
    there, so a package added or swapped afterwards shows."""
    lock_v3(tmp_path / "nodejs", {"node_modules/a": entry("a", "1.0.0")}, name="node_modules/.package-lock.json")
    install(tmp_path, "nodejs/node_modules/a", "a", "1.0.1")
    install(tmp_path, "nodejs/node_modules/planted", "planted", "1.0.0")
    [tree] = node_trees(package(tmp_path))
    assert tree.directory == "nodejs/" and tree.lock is None and tree.comparable
    assert {found.package.install_path: (found.lock, [m.kind for m in found.mismatches])
            for found in compare_tree(tree)} == {
        "node_modules/a": ("nodejs/node_modules/.package-lock.json", ["version"]),
        "node_modules/planted": ("nodejs/node_modules/.package-lock.json", ["not-in-lock"]),
    }


def test_npm6_integrity_written_in_package_json(tmp_path: Path) -> None:
    lock_v3(tmp_path, {"node_modules/a": entry("a", "1.0.0"), "node_modules/b": entry("b", "1.0.0")})
    install(tmp_path, "node_modules/a", "a", "1.0.0", _integrity=integrity("a@1.0.0"))
    install(tmp_path, "node_modules/b", "b", "1.0.0", _integrity=integrity("evil"))
    assert mismatches(tmp_path) == {"node_modules/b": [("integrity", integrity("b@1.0.0"), integrity("evil"))]}


@pytest.mark.parametrize(("ours", "theirs", "differs"), [
    ("sha512-AAA", "sha512-AAA", False),
    ("sha512-AAA", "sha512-BBB", True),
    ("sha512-AAA sha1-CCC", "sha1-CCC", False),  # they agree on the one algorithm both give
    ("sha1-CCC", "sha1-DDD sha512-AAA", True),
    ("sha256-AAA", "sha512-BBB", False),  # no common algorithm: nothing can be said
])
def test_integrity_strings_compare_per_algorithm(tmp_path: Path, ours: str, theirs: str, differs: bool) -> None:
    lock_v3(tmp_path, {"node_modules/a": {"version": "1.0.0", "integrity": theirs}})
    install(tmp_path, "node_modules/a", "a", "1.0.0", _integrity=ours)
    expected = {"node_modules/a": [("integrity", theirs, ours)]} if differs else {}
    assert mismatches(tmp_path) == expected


def test_workspace_members_are_read_from_the_top_lock(tmp_path: Path) -> None:
    lock_v3(tmp_path, {
        "packages/api": {"name": "api", "version": "1.0.0"},
        "node_modules/api": {"resolved": "packages/api", "link": True},
        "packages/api/node_modules/a": entry("a", "2.0.0"),
        "node_modules/a": entry("a", "1.0.0"),
    })
    install(tmp_path, "node_modules/a", "a", "1.0.0")
    install(tmp_path, "packages/api/node_modules/a", "a", "2.0.1")
    [tree] = node_trees(package(tmp_path))
    assert [(p.tree, p.install_path) for p in tree.packages] == [("", "node_modules/a"),
                                                                 ("", "packages/api/node_modules/a")]
    assert mismatches(tmp_path) == {"packages/api/node_modules/a": [("version", "2.0.0", "2.0.1")]}


def test_a_lock_above_that_does_not_list_the_tree_does_not_govern_it(tmp_path: Path) -> None:
    lock_v3(tmp_path, {"node_modules/x": entry("x", "1.0.0")})
    install(tmp_path, "layer/nodejs/node_modules/a", "a", "1.0.0")
    trees = node_trees(package(tmp_path))
    assert [(t.directory, t.lock, t.comparable) for t in trees] == [("layer/nodejs/", None, False)]
    assert mismatches(tmp_path) == {}


@pytest.mark.parametrize(("content", "problem"), [
    ("{", "package-lock.json is not valid JSON (JSONDecodeError)"),
    ("[]", "package-lock.json is not a lock file (not a JSON object)"),
    ('{"name": "app"}', "package-lock.json has neither `packages` nor `dependencies`"),
])
def test_unreadable_locks_make_the_tree_not_comparable(tmp_path: Path, content: str, problem: str) -> None:
    (tmp_path / "package-lock.json").write_text(content)
    install(tmp_path, "node_modules/a", "a", "1.0.0")
    [tree] = node_trees(package(tmp_path))
    assert tree.lock is not None and tree.lock.problem == problem
    assert not tree.comparable and compare_tree(tree) == []


def test_an_unreadable_manifest_is_reported_against_the_lock(tmp_path: Path) -> None:
    lock_v3(tmp_path, {"node_modules/a": entry("a", "1.0.0")})
    (tmp_path / "node_modules/a").mkdir(parents=True)
    (tmp_path / "node_modules/a/package.json").write_text("\x00\x01")
    assert mismatches(tmp_path) == {"node_modules/a": [("manifest", "", ""), ("version", "1.0.0", "")]}


def test_zip_packages_are_read_the_same_way(tmp_path: Path) -> None:
    source = tmp_path / "src"
    lock_v3(source / "nodejs", {"node_modules/a": entry("a", "1.0.0")})
    install(source, "nodejs/node_modules/a", "a", "1.1.0")
    archive = tmp_path / "layer.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                out.write(path, path.relative_to(source).as_posix())
    [tree] = node_trees(open_package(archive, "layer.zip"))
    assert [(m.package.install_path, list(m.mismatches)) for m in compare_tree(tree)] == [
        ("node_modules/a", [Mismatch("version", "nodejs/package-lock.json pins version 1.0.0", "1.0.0", "1.1.0")]),
    ]


# ---------------------------------------------------------------- the rule
TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: index.handler
      CodeUri: {code}
"""


def test_rule_findings_point_at_the_installed_manifest(tmp_path: Path) -> None:
    code = tmp_path / "src" / "orders"
    lock_v3(code, {"node_modules/a": entry("a", "1.0.0"), "node_modules/b": entry("b", "1.0.0")})
    lock_v3(code, {"node_modules/a": entry("a", "1.0.0"), "node_modules/b": entry("b", "1.0.0", seed="x")},
            name="node_modules/.package-lock.json")
    install(code, "node_modules/a", "a", "1.0.1")
    install(code, "node_modules/b", "b", "1.0.0")
    (tmp_path / "template.yaml").write_text(TEMPLATE.format(code="src/orders/"))
    report = lambdasec.scan_paths([tmp_path], rules=["INT009"], now=FIXTURE_CLOCK)
    assert report.coverage_gaps == []
    assert [(f.resource_id, f.severity, f.location.display(), f.evidence["mismatches"][0]["kind"])
            for f in sorted(report.findings, key=lambda f: f.location.file)] == [
        ("Orders", Severity.MEDIUM, "src/orders/node_modules/a/package.json:3", "version"),
        ("Orders", Severity.HIGH, "src/orders/node_modules/b/package.json:3", "integrity"),
    ]
    assert report.findings[0].functions == ["Orders"]
    assert len({f.fingerprint for f in report.findings}) == 2


def test_rule_on_a_zip_points_at_the_template_and_names_the_archive(tmp_path: Path) -> None:
    source = tmp_path / "build-src"
    lock_v3(source, {"node_modules/a": entry("a", "1.0.0")})
    install(source, "node_modules/a", "a", "9.9.9")
    with zipfile.ZipFile(tmp_path / "orders.zip", "w") as out:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                out.write(path, path.relative_to(source).as_posix())
    (tmp_path / "template.yaml").write_text(TEMPLATE.format(code="orders.zip"))
    report = lambdasec.scan_paths([tmp_path], rules=["INT009"], now=FIXTURE_CLOCK)
    [finding] = report.findings
    # The template names the code (SAM's CodeUri becomes the function's Code property).
    assert (finding.location.file, finding.location.path) == ("template.yaml", ("Resources", "Orders", "Properties",
                                                                                 "Code"))
    assert finding.message == ("Orders: Node.js package a@9.9.9 (node_modules/a of orders.zip) differs from "
                               "package-lock.json: package-lock.json pins version 1.0.0")


def test_rule_says_why_it_cannot_compare(tmp_path: Path) -> None:
    code = tmp_path / "src" / "orders"
    install(code, "node_modules/a", "a", "1.0.0")
    (tmp_path / "template.yaml").write_text(TEMPLATE.format(code="src/orders/"))
    report = lambdasec.scan_paths([tmp_path], rules=["INT009"], now=FIXTURE_CLOCK)
    assert report.findings == [] and report.coverage_gaps == []
    assert [n.reason for n in report.not_evaluated] == [
        "src/orders/node_modules has no package-lock.json, npm-shrinkwrap.json or node_modules/.package-lock.json: "
        "the installed Node.js packages cannot be compared with a lock"]


def test_rule_on_a_zip_named_on_the_command_line(tmp_path: Path) -> None:
    source = tmp_path / "src"
    lock_v3(source / "nodejs", {"node_modules/a": entry("a", "1.0.0")})
    install(source, "nodejs/node_modules/a", "a", "1.0.0")
    install(source, "nodejs/node_modules/planted", "planted", "0.0.1")
    install(source, "other/node_modules/b", "b", "1.0.0")  # no lock for this tree
    archive = tmp_path / "layer.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                out.write(path, path.relative_to(source).as_posix())
    report = lambdasec.scan_paths([archive], rules=["INT009"], now=FIXTURE_CLOCK)
    assert report.coverage_gaps == []
    assert [(f.resource_id, f.location.file, f.evidence["install_path"]) for f in report.findings] == [
        ("layer.zip", "layer.zip", "node_modules/planted")]
    assert [n.reason for n in report.not_evaluated] == [
        "other/node_modules of layer.zip has no package-lock.json, npm-shrinkwrap.json or "
        "node_modules/.package-lock.json: the installed Node.js packages cannot be compared with a lock"]
