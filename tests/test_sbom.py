"""`lambdasec sbom`: a CycloneDX SBOM of every function and layer, valid for the official schema, deterministic."""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.metadata
import io
import json
import shutil
import stat
import uuid
import zipfile
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from lambdasec.analysis.packages import open_package
from lambdasec.analysis.sbom import pypi_purl
from lambdasec.commands.sbom import build_sbom, sbom

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Parameters:
  MonitoringLayerArn:
    Type: String
Resources:
  AgentLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: build/agent-layer.zip
  Orders:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/orders/
  Web:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: index.handler
      CodeUri: src/web/
      Layers:
        - !Ref AgentLayer
        - arn:aws:lambda:us-east-1:444455556666:layer:vendor-sdk:4
        - !Ref MonitoringLayerArn
"""
# Assembled from pieces so that secret scanners of this repository do not flag the test itself.
GITHUB_TOKEN = "ghp_" + "Xy7Kq2Wm9Pt4Lr8Vz3Nb6Hc1Jd5Fs0Ga2Qe7"
WEB_INTEGRITY = "sha512-" + base64.b64encode(hashlib.sha512(b"@middy/core@5.4.0").digest()).decode()


def record_line(path: str, data: bytes) -> list[str]:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return [path, f"sha256={digest}", str(len(data))]


def write_distribution(site: Path, name: str, version: str, files: dict[str, bytes]) -> None:
    """A distribution as pip installs it: its files, METADATA and a RECORD of their hashes."""
    dist_info = f"{name.replace('-', '_')}-{version}.dist-info"
    files = {**files, f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()}
    rows = []
    for path, data in files.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_bytes(data)
        rows.append(record_line(path, data))
    rows.append([f"{dist_info}/RECORD", "", ""])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    (site / dist_info / "RECORD").write_text(out.getvalue())


def copy_installed(site: Path, name: str) -> str:
    """Copy an installed distribution of this environment (a real wheel's files and RECORD) into ``site``."""
    dist = importlib.metadata.distribution(name)
    for file in dist.files or []:
        source = Path(str(dist.locate_file(file)))
        if not str(file).startswith("..") and source.is_file():
            (site / str(file)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, site / str(file))
    return dist.version


def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    orders = root / "src" / "orders"
    orders.mkdir(parents=True)
    (orders / "app.py").write_text(f"import click\n\nTOKEN = {GITHUB_TOKEN!r}\n\ndef handler(event, context):\n"
                                   "    return {}\n")
    copy_installed(orders, "click")
    write_distribution(orders, "Example_Lib.Utils", "1.2.0", {"example_lib/__init__.py": b"VALUE = 1\n"})
    write_distribution(orders, "tampered-lib", "0.3.0", {"tampered_lib/__init__.py": b"def f():\n    return 1\n"})
    (orders / "tampered_lib" / "__init__.py").write_text("def f():\n    return 2\n")  # edited after install

    web = root / "src" / "web"
    (web / "node_modules" / "@middy" / "core").mkdir(parents=True)
    (web / "index.js").write_text("exports.handler = async () => ({});\n")
    (web / "node_modules" / "@middy" / "core" / "package.json").write_text(
        json.dumps({"name": "@middy/core", "version": "5.4.0"}))
    (web / "node_modules" / "dayjs").mkdir()
    (web / "node_modules" / "dayjs" / "package.json").write_text(json.dumps({"name": "dayjs", "version": "1.11.10"}))
    (web / "package-lock.json").write_text(json.dumps({"lockfileVersion": 3, "packages": {
        "": {"name": "web"},
        "node_modules/@middy/core": {"version": "5.4.0", "integrity": WEB_INTEGRITY},
        "node_modules/dayjs": {"version": "1.11.13", "integrity": "sha512-AAAA"},
    }}))

    (root / "build").mkdir()
    with zipfile.ZipFile(root / "build" / "agent-layer.zip", "w") as layer:
        info = zipfile.ZipInfo("extensions/agent", date_time=(2026, 1, 1, 0, 0, 0))
        info.create_system, info.external_attr = 3, (stat.S_IFREG | 0o755) << 16
        layer.writestr(info, b"#!/bin/sh\nexec /opt/agent/run\n")
        layer.writestr("agent/run", b"echo agent\n")
    (root / "template.yaml").write_text(TEMPLATE)
    return root


def validate(text: str, version: str) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.from_version(version)).validate_str(text)
    assert error is None, str(error)


def by_name(components: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {component["name"]: component for component in components}


def properties(component: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in component.get("properties", [])}


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_sbom_is_valid_cyclonedx_and_describes_each_function_and_layer(tmp_path: Path, version: str) -> None:
    root = project(tmp_path)
    text, gaps = build_sbom([root], spec_version=version)
    assert gaps == []
    validate(text, version)
    document = json.loads(text)
    assert (document["bomFormat"], document["specVersion"], document["version"]) == ("CycloneDX", version, 1)
    assert "timestamp" not in document["metadata"]
    assert [(c["name"], c["type"], c["bom-ref"]) for c in document["components"]] == [
        ("Orders", "application", "template.yaml#Orders"),
        ("Web", "application", "template.yaml#Web"),
        # SAM names the layer version AgentLayer<hash of its content>, as the scan's findings do.
        ("AgentLayer" + _suffix(document, "AgentLayer"), "library", "template.yaml#AgentLayer" + _suffix(document,
                                                                                                          "AgentLayer")),
        ("vendor-sdk", "library", "arn:aws:lambda:us-east-1:444455556666:layer:vendor-sdk:4"),
    ]
    top = by_name(document["components"])

    orders = top["Orders"]
    assert orders["hashes"] == [{"alg": "SHA-256", "content": open_package(root / "src/orders", "x").digest()}]
    assert properties(orders) == {
        "lambdasec:role": "function", "lambdasec:resource-type": "AWS::Lambda::Function",
        "lambdasec:declared-in": "template.yaml", "lambdasec:code": "src/orders", "lambdasec:code-kind": "directory",
        "lambdasec:runtime": "python3.12",
    }
    click_version = importlib.metadata.version("click")
    assert {(c["name"], c["version"], c["purl"], properties(c)["lambdasec:record"]) for c in orders["components"]} == {
        ("click", click_version, f"pkg:pypi/click@{click_version}", "unmodified"),
        ("Example_Lib.Utils", "1.2.0", "pkg:pypi/example-lib-utils@1.2.0", "unmodified"),
        ("tampered-lib", "0.3.0", "pkg:pypi/tampered-lib@0.3.0", "modified"),
    }
    assert properties(by_name(orders["components"])["tampered-lib"])["lambdasec:record:changed-files"] == "1"

    assert properties(top["Web"])["lambdasec:unresolved-layers"] == "1"
    web = by_name(top["Web"]["components"])
    assert set(web) == {"core", "dayjs"}
    assert (web["core"]["group"], web["core"]["purl"]) == ("@middy", "pkg:npm/%40middy/core@5.4.0")
    assert web["core"]["hashes"] == [{"alg": "SHA-512", "content": hashlib.sha512(b"@middy/core@5.4.0").hexdigest()}]
    assert properties(web["core"]) == {"cdx:npm:package:path": "node_modules/@middy/core", "lambdasec:lock": "matches"}
    # The installed dayjs is not the locked one: the lock's tarball hash would describe another package.
    assert "hashes" not in web["dayjs"] and properties(web["dayjs"])["lambdasec:lock"] == "differs"

    layer = top["AgentLayer" + _suffix(document, "AgentLayer")]
    layer_digest = hashlib.sha256((root / "build" / "agent-layer.zip").read_bytes()).hexdigest()
    assert layer["hashes"] == [{"alg": "SHA-256", "content": layer_digest}]
    [extension] = layer["components"]
    assert (extension["name"], extension["type"]) == ("agent", "application")
    assert extension["hashes"] == [{"alg": "SHA-256",
                                    "content": hashlib.sha256(b"#!/bin/sh\nexec /opt/agent/run\n").hexdigest()}]

    dependencies = {d["ref"]: d.get("dependsOn", []) for d in document["dependencies"]}
    assert dependencies["template.yaml#Web"] == sorted([layer["bom-ref"],
                                                         "arn:aws:lambda:us-east-1:444455556666:layer:vendor-sdk:4"])
    assert dependencies["template.yaml#Orders"] == []


def test_sbom_holds_no_code_content(tmp_path: Path) -> None:
    """The SBOM names packages and hashes files: a secret planted in the code never reaches it."""
    root = project(tmp_path)
    text, _ = build_sbom([root])
    assert GITHUB_TOKEN in (root / "src" / "orders" / "app.py").read_text()
    assert GITHUB_TOKEN not in text and GITHUB_TOKEN[4:] not in text


def _suffix(document: dict[str, Any], name: str) -> str:
    """SAM names the layer version AgentLayer<hash>: its generated suffix."""
    ref = next(c["bom-ref"] for c in document["components"] if c["name"].startswith(name))
    suffix = ref.split("#", 1)[1][len(name):]
    assert len(suffix) == 10
    return suffix


def test_sbom_is_deterministic_and_its_serial_follows_the_content(tmp_path: Path) -> None:
    root = project(tmp_path)
    first, _ = build_sbom([root])
    assert build_sbom([root])[0] == first
    serial = json.loads(first)["serialNumber"]
    assert uuid.UUID(serial.removeprefix("urn:uuid:")).version == 5
    (root / "src" / "orders" / "app.py").write_text("def handler(event, context):\n    return 1\n")
    changed, _ = build_sbom([root])
    assert json.loads(changed)["serialNumber"] != serial


def test_timestamp_comes_from_source_date_epoch(tmp_path: Path) -> None:
    root = project(tmp_path)
    result = CliRunner(env={"SOURCE_DATE_EPOCH": "1700000000"}).invoke(sbom, [str(root)])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["metadata"]["timestamp"] == "2023-11-14T22:13:20+00:00"
    validate(result.stdout, "1.6")
    bad = CliRunner(env={"SOURCE_DATE_EPOCH": "yesterday"}).invoke(sbom, [str(root)])
    assert bad.exit_code == 2 and "SOURCE_DATE_EPOCH must be a number of seconds" in bad.output


def test_command_writes_a_file_and_registers_in_a_group(tmp_path: Path) -> None:
    root = project(tmp_path)

    @click.group()
    def cli() -> None:
        pass

    cli.add_command(sbom)
    output = tmp_path / "bom.json"
    result = CliRunner().invoke(cli, ["sbom", str(root / "template.yaml"), "-o", str(output), "--spec-version", "1.5"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    document = json.loads(output.read_text())
    assert document["specVersion"] == "1.5"
    assert [c["name"] for c in document["components"]][:2] == ["Orders", "Web"]


def test_unreadable_code_makes_the_sbom_incomplete(tmp_path: Path) -> None:
    root = project(tmp_path)
    shutil.rmtree(root / "src" / "web")
    result = CliRunner().invoke(sbom, [str(root)])
    assert result.exit_code == 3
    assert result.stderr.startswith("lambdasec: coverage gap: template.yaml:")
    assert "Web" in result.stderr
    document = json.loads(result.stdout)
    validate(result.stdout, "1.6")
    web = by_name(document["components"])["Web"]
    assert "components" not in web and "hashes" not in web
    assert properties(web)["lambdasec:code-unavailable"].startswith("src/web")


def test_a_zip_named_on_the_command_line(tmp_path: Path) -> None:
    root = project(tmp_path)
    text, gaps = build_sbom([root / "build" / "agent-layer.zip"])
    assert gaps == []
    [component] = json.loads(text)["components"]
    assert (component["name"], component["bom-ref"]) == ("agent-layer.zip", "agent-layer.zip#package")
    assert [c["name"] for c in component["components"]] == ["agent"]
    assert properties(component)["lambdasec:role"] == "package"


@pytest.mark.parametrize(("name", "version", "purl"), [
    ("requests", "2.32.3", "pkg:pypi/requests@2.32.3"),
    ("Typing_Extensions", "4.12.2", "pkg:pypi/typing-extensions@4.12.2"),
    ("zope.interface", "7.0", "pkg:pypi/zope-interface@7.0"),
    ("nover", "", "pkg:pypi/nover"),
])
def test_pypi_purls_use_normalized_names(name: str, version: str, purl: str) -> None:
    assert pypi_purl(name, version) == purl
