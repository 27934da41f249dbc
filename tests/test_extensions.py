"""Lambda extensions shipped in layers (INT010)."""

from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path

import pytest

import lambdasec
from lambdasec.analysis.extensions import extension_files
from lambdasec.analysis.packages import open_package
from lambdasec.model.findings import Finding, Severity
from lambdasec.model.inventory import CodeLocation, Inventory, LayerVersion
from lambdasec.model.location import Location
from lambdasec.rules.base import Context
from lambdasec.rules.dependencies import LAYER_EXTENSION

from .conftest import FIXTURE_CLOCK, FIXTURES

SCRIPT = b"#!/bin/sh\nexec /opt/agent/run\n"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
TEXT = b"Not an executable: notes about the extension.\n"


def write(root: Path, path: str, data: bytes, mode: int = 0o644) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    target.chmod(mode)


def zip_of(target: Path, members: dict[str, tuple[bytes, int | None]]) -> Path:
    """A zip whose members have the given unix mode (None: no unix mode at all, as Windows tools write them)."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for name, (data, mode) in members.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.create_system = 3 if mode is not None else 0
            info.external_attr = ((stat.S_IFREG | mode) << 16) if mode is not None else 0
            out.writestr(info, data)
    return target


def test_directory_extensions_by_mode_shebang_or_elf(tmp_path: Path) -> None:
    write(tmp_path, "extensions/by-mode", b"binary-ish content", 0o755)
    write(tmp_path, "extensions/script", SCRIPT)  # lost its mode (a checkout without modes): found by its #!
    write(tmp_path, "extensions/native", ELF)
    write(tmp_path, "extensions/README.txt", TEXT)
    write(tmp_path, "extensions/agent-lib/helper.sh", SCRIPT, 0o755)  # in a subdirectory: never started
    write(tmp_path, "python/extensions/x", SCRIPT, 0o755)  # not at the layer root
    write(tmp_path, "bin/tool", SCRIPT, 0o755)
    assert extension_files(open_package(tmp_path, "layer")) == [
        "extensions/by-mode", "extensions/native", "extensions/script"]


def test_zip_extensions_with_and_without_unix_modes(tmp_path: Path) -> None:
    archive = zip_of(tmp_path / "layer.zip", {
        "extensions/with-mode": (b"compiled", 0o755),
        "extensions/no-mode-script": (SCRIPT, None),
        "extensions/no-mode-text": (TEXT, None),
        "extensions/plain": (TEXT, 0o644),
        "extensions/sub/agent": (SCRIPT, 0o755),
    })
    assert extension_files(open_package(archive, "layer.zip")) == ["extensions/no-mode-script", "extensions/with-mode"]


def test_the_fixture_extension_is_found_with_or_without_its_mode(tmp_path: Path) -> None:
    """Git records the fixture as 100755; a checkout that loses modes (core.fileMode false, some CI caches) still
    has a #! script, which is found all the same."""
    fixture = FIXTURES / "code" / "int010" / "fail-layer"
    assert (fixture / "extensions" / "telemetry-forwarder").stat().st_mode & 0o111
    assert extension_files(open_package(fixture, "fail-layer")) == ["extensions/telemetry-forwarder"]
    copy = tmp_path / "fail-layer"
    shutil.copytree(fixture, copy)
    (copy / "extensions" / "telemetry-forwarder").chmod(0o644)
    package = open_package(copy, "fail-layer")
    assert [f.executable for f in package.files if f.path.startswith("extensions/")] == [False]
    assert extension_files(package) == ["extensions/telemetry-forwarder"]


# ---------------------------------------------------------------- the rule through the scanner
LAYER_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  AgentLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: {layer}
  Orders:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: {function}
      Layers: [!Ref AgentLayer]
"""


def test_a_layer_with_an_extension_is_reported_and_a_function_package_is_not(tmp_path: Path) -> None:
    write(tmp_path, "layer/extensions/agent", SCRIPT, 0o755)
    write(tmp_path, "fn/app.py", b"def handler(event, context):\n    return 1\n")
    write(tmp_path, "fn/extensions/inert", SCRIPT, 0o755)  # /var/task/extensions: Lambda never starts it
    (tmp_path / "template.yaml").write_text(LAYER_TEMPLATE.format(layer="layer/", function="fn/"))
    report = lambdasec.scan_paths([tmp_path], rules=["INT010"], now=FIXTURE_CLOCK)
    assert report.coverage_gaps == []
    [finding] = report.findings
    assert finding.resource_id.startswith("AgentLayer") and finding.functions == ["Orders"]
    assert finding.severity == Severity.MEDIUM
    assert finding.location.display() == "layer/extensions/agent:1"
    assert finding.evidence["extensions"] == ["extensions/agent"]
    assert finding.evidence["foreign_account"] is False


def test_a_zip_named_on_the_command_line_is_reported_as_a_possible_layer(tmp_path: Path) -> None:
    archive = zip_of(tmp_path / "agent-layer.zip", {"extensions/agent": (ELF, 0o755), "agent/lib.so": (ELF, 0o644)})
    report = lambdasec.scan_paths([archive], rules=["INT010"], now=FIXTURE_CLOCK)
    assert report.coverage_gaps == []
    [finding] = report.findings
    assert (finding.resource_id, finding.location.file) == ("agent-layer.zip", "agent-layer.zip")
    assert finding.message == (
        "Package agent-layer.zip ships 1 Lambda extension(s) (extensions/agent) in agent-layer.zip: each starts "
        "with every execution environment of the functions using it (if deployed as a layer), beside their code, "
        "with their environment and credentials")


def test_a_layer_whose_archive_is_corrupt_is_a_gap_not_a_clean_result(tmp_path: Path) -> None:
    (tmp_path / "layer.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    write(tmp_path, "fn/app.py", b"def handler(event, context):\n    return 1\n")
    (tmp_path / "template.yaml").write_text(LAYER_TEMPLATE.format(layer="layer.zip", function="fn/"))
    report = lambdasec.scan_paths([tmp_path], rules=["INT010"], now=FIXTURE_CLOCK)
    assert report.findings == []
    assert len(report.coverage_gaps) == 1 and "AgentLayer" in report.coverage_gaps[0].message


# ---------------------------------------------------------------- who owns the layer
def _layer_inventory(tmp_path: Path, arn: str) -> Inventory:
    """A layer known by its ARN whose content is available (as live scans will download it)."""
    write(tmp_path, "downloads/layer/extensions/collector", SCRIPT, 0o755)
    inventory = Inventory()
    inventory.add(inventory.layers, LayerVersion(
        key=arn, id=arn.split(":layer:")[1], type="AWS::Lambda::LayerVersion", location=Location(arn=arn),
        content=CodeLocation("local", "downloads/layer"),
    ))
    return inventory


def _run(inventory: Inventory, tmp_path: Path, **options: object) -> list[Finding]:
    context = Context(now=FIXTURE_CLOCK, options=options, roots=(str(tmp_path),))
    return [outcome for outcome in LAYER_EXTENSION.run(inventory, context) if isinstance(outcome, Finding)]


@pytest.mark.parametrize(("arn", "options", "severity", "foreign"), [
    ("arn:aws:lambda:us-east-1:444455556666:layer:collector:3", {}, Severity.HIGH, True),
    ("arn:aws:lambda:us-east-1:444455556666:layer:collector:3", {"trusted_accounts": ["444455556666"]},
     Severity.MEDIUM, False),
    ("arn:aws:lambda:us-east-1:444455556666:layer:collector:3", {"own_accounts": ["444455556666"]},
     Severity.MEDIUM, False),
    # AWS publishes the AppConfig extension from this account in us-east-1: reported, not as foreign.
    ("arn:aws:lambda:us-east-1:027255383542:layer:AWS-AppConfig-Extension:207", {}, Severity.MEDIUM, False),
])
def test_severity_is_high_for_a_layer_of_another_account(tmp_path: Path, arn: str, options: dict[str, object],
                                                         severity: Severity, foreign: bool) -> None:
    inventory = _layer_inventory(tmp_path, arn)
    inventory.own_accounts |= set(options.pop("own_accounts", []))  # type: ignore[arg-type]
    [finding] = _run(inventory, tmp_path, **options)
    assert (finding.severity, finding.evidence["foreign_account"]) == (severity, foreign)
    assert finding.evidence["account"] == arn.split(":")[4]
    assert ("published by account 444455556666" in finding.message) is foreign


@pytest.mark.parametrize(("role", "package_role", "starts"), [
    ("layer", None, True),
    ("function", None, False),  # /var/task/extensions is never started
    ("package", "unknown", True),  # `lambdasec scan x.zip`: may be deployed as a layer
    ("package", "layer", True),
    ("package", "function", False),
])
def test_which_code_may_start_extensions(role: str, package_role: str | None, starts: bool) -> None:
    from lambdasec.analysis.extensions import may_start_extensions
    from lambdasec.analysis.packages import PackageTarget
    from lambdasec.model.inventory import CodePackage, Function

    location = CodeLocation("local", "x.zip")
    owner = (Function(key="t#F", id="F", type="AWS::Lambda::Function", location=Location("t")) if role == "function"
             else LayerVersion(key="t#L", id="L", type="AWS::Lambda::LayerVersion", location=Location("t"))
             if role == "layer" else CodePackage(key="x.zip#package", id="x.zip", type="lambdasec::Package",
                                                 location=Location("x.zip"), content=location,
                                                 role=package_role or "unknown"))
    assert may_start_extensions(PackageTarget(owner, role, location, Location("t"))) is starts
