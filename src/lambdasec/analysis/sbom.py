"""A software bill of materials of every function and layer, as CycloneDX JSON (docs/sbom.md).

The contents are read exactly like the scan reads them (analysis/packages.py): one top-level component per
function (type application) and per layer (type library), each holding, as nested components, what its package
contains: Python distributions (``*.dist-info``: name, version, ``pkg:pypi`` purl, whether the files still match
their RECORD), Node.js packages (``node_modules/**/package.json``: ``pkg:npm`` purl, the tarball hash the lock
pins when the installed package agrees with the lock) and Lambda extensions (with their SHA-256). A function
depends on its layers (``dependencies``), those of other accounts included as components of their own.

The output is deterministic: components are sorted, the serial number is derived from the content, and there is
no timestamp unless one is given, so two runs over the same code write the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from lambdasec.fast_dataclass import dataclass, field

from ..model.inventory import CoverageGap, Function, Inventory, LayerVersion
from ..model.values import ResourceRef, literal

if TYPE_CHECKING:
    import datetime as dt

    from cyclonedx.model.component import Component

    from .node_packages import NodePackage
    from .packages import ArchiveLimits, Package, PackageTarget

SPEC_VERSIONS: Final = ("1.5", "1.6")
PROPERTY_PREFIX: Final = "lambdasec:"
# Subresource-integrity algorithms (npm lock files) and their CycloneDX names.
_INTEGRITY_ALGORITHMS: Final = {"sha1": "SHA-1", "sha256": "SHA-256", "sha384": "SHA-384", "sha512": "SHA-512"}
_LAYER_ARN: Final = re.compile(
    r"^arn:[\w-]+:lambda:(?P<region>[\w-]*):(?P<account>\d{12}|aws):layer:(?P<name>[\w-]+)(?::(?P<version>\d+))?$")
_TOP_LEVEL_ORDER: Final = ("$schema", "bomFormat", "specVersion", "serialNumber", "version", "metadata",
                            "components", "dependencies")
_SERIAL_NAMESPACE: Final = uuid.UUID("0e5a1b76-4a38-5b2e-9b1d-6c0f3f1d2a47")  # lambdasec's, for uuid5 serials


@dataclass(frozen=True)
class PythonComponent:
    name: str
    version: str
    dist_info: str  # path of the .dist-info directory inside the package
    record: str  # "unmodified" | "modified" | "absent": the files against RECORD (analysis/records.py)
    changed_files: int = 0  # modified, missing and added files

    @property
    def purl(self) -> str:
        return pypi_purl(self.name, self.version)


@dataclass(frozen=True)
class NodeComponent:
    package: NodePackage
    lock: str  # "matches" | "differs" | "absent": the installed package against its lock (analysis/node_packages.py)
    integrity: str | None = None  # the tarball hash the lock pins, when the installed package agrees with it


@dataclass(frozen=True)
class ExtensionComponent:
    path: str  # "extensions/<name>"
    sha256: str | None


@dataclass(frozen=True)
class ExternalLayer:
    """A layer a function uses whose content is not read: referenced by ARN (another account's, or published
    outside the scanned templates), or a template's layer whose content the template does not locate."""

    ref: str  # the ARN, or the inventory key of the template's layer
    name: str
    version: str = ""
    account: str = ""
    arn: str = ""


@dataclass
class CodeUnit:
    """One function, layer or package given on the command line, with what its code contains."""

    ref: str  # the inventory key: unique in the scan, the bom-ref of its component
    name: str  # the resource id users see
    role: str  # "function" | "layer" | "package"
    resource_type: str
    is_layer: bool  # a layer, or a package given on the command line as one
    declared_in: str  # the template file ("" for a package given on the command line)
    code: str = ""  # the package label ("" when the code is not available)
    code_kind: str = ""  # "directory" | "zip" | "inline"
    digest: str | None = None  # Package.digest(): sha256 of a zip's bytes, or of a directory's listing
    problem: str = ""  # why the code could not be read
    runtime: str | None = None
    python: list[PythonComponent] = field(default_factory=list)
    node: list[NodeComponent] = field(default_factory=list)
    extensions: list[ExtensionComponent] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)  # refs of the layers a function uses (units or external)
    unresolved_layers: int = 0  # layer references not known statically


@dataclass
class SbomContents:
    units: list[CodeUnit]
    external_layers: list[ExternalLayer]
    gaps: list[CoverageGap]


def pypi_purl(name: str, version: str) -> str:
    """``pkg:pypi/<PEP 503 normalized name>@<version>``."""
    from packageurl import PackageURL

    normalized = re.sub(r"[-_.]+", "-", name).lower()
    return str(PackageURL(type="pypi", name=normalized, version=version or None).to_string())


# ---------------------------------------------------------------- reading the packages
def sbom_contents(inventory: Inventory, roots: Sequence[Path], limits: ArchiveLimits) -> SbomContents:
    from .packages import PackageError, load_package, package_gaps, package_targets

    units: list[CodeUnit] = []
    gaps: list[CoverageGap] = []
    for target in package_targets(inventory):
        package = load_package(target, inventory, roots, limits)
        gaps.extend(package_gaps(target, package))
        unit = _unit(target)
        if isinstance(package, PackageError):
            unit.problem = package.message
        else:
            _fill(unit, target, package)
        units.append(unit)
    external = _link_layers(inventory, units)
    return SbomContents(sorted(units, key=lambda u: u.ref), external, list(dict.fromkeys(gaps)))


def _unit(target: PackageTarget) -> CodeUnit:
    owner = target.owner
    # A package named on the command line is a layer when the user said so (CodePackage.role).
    is_layer = target.role == "layer" or getattr(owner, "role", "") == "layer"
    runtime = literal(owner.runtime) if isinstance(owner, Function) else None
    declared_in = owner.location.file if target.role != "package" else ""
    return CodeUnit(owner.key, owner.id, target.role, owner.type, is_layer, declared_in, runtime=runtime)


def _fill(unit: CodeUnit, target: PackageTarget, package: Package) -> None:
    from .extensions import extension_files, may_start_extensions

    unit.code, unit.code_kind, unit.digest = package.label, package.kind, package.digest()
    unit.python = _python_components(package)
    unit.node = _node_components(package)
    if may_start_extensions(target):  # a function's own extensions/ is never started
        unit.extensions = [ExtensionComponent(path, package.sha256(path)) for path in extension_files(package)]


def _python_components(package: Package) -> list[PythonComponent]:
    from .records import verify_all

    components = []
    for check in verify_all(package):
        dist = check.distribution
        changed = len(check.modified) + len(check.missing) + len(check.added)
        record = "absent" if not dist.has_record else "modified" if changed else "unmodified"
        components.append(PythonComponent(dist.name, dist.version, dist.dist_info, record, changed))
    return components


def _node_components(package: Package) -> list[NodeComponent]:
    from .node_packages import compare_tree, node_trees

    components = []
    for tree in node_trees(package):
        differing = {m.package.install_path for m in compare_tree(tree)}
        lock = tree.lock if tree.lock is not None and not tree.lock.problem else tree.hidden_lock
        for installed in tree.packages:
            if not tree.comparable or lock is None:
                components.append(NodeComponent(installed, "absent"))
            elif installed.install_path in differing:
                components.append(NodeComponent(installed, "differs"))
            else:
                entry = lock.entries.get(installed.install_path)
                components.append(NodeComponent(installed, "matches", entry.integrity if entry else None))
    return components


def _link_layers(inventory: Inventory, units: list[CodeUnit]) -> list[ExternalLayer]:
    """Fill each function's layer refs; the layers no template builds become external layers."""
    by_ref = {unit.ref for unit in units}
    external: dict[str, ExternalLayer] = {}
    for unit in units:
        fn = inventory.get(unit.ref)
        if not isinstance(fn, Function):
            continue
        for layer in fn.layers:
            built = inventory.resolve(layer, LayerVersion) if isinstance(layer, ResourceRef) else None
            match = _LAYER_ARN.match(layer) if isinstance(layer, str) else None
            if built is not None and built.key not in by_ref:
                external.setdefault(built.key, ExternalLayer(built.key, built.id))
            elif match is not None and isinstance(layer, str):
                external.setdefault(layer, ExternalLayer(layer, match["name"], match["version"] or "",
                                                         match["account"], layer))
            elif built is None:
                unit.unresolved_layers += 1
                continue
            unit.layers.append(built.key if built is not None else str(layer))
        unit.layers = sorted(set(unit.layers))
    return sorted(external.values(), key=lambda layer: layer.ref)


# ---------------------------------------------------------------- CycloneDX
def _property(name: str, value: object) -> Any:
    from cyclonedx.model import Property

    return Property(name=PROPERTY_PREFIX + name, value=str(value))


def _integrity_hashes(integrity: str | None) -> list[Any]:
    """npm's ``sha512-<base64>`` as CycloneDX hashes (hex)."""
    from cyclonedx.model import HashAlgorithm, HashType

    hashes = []
    for part in (integrity or "").split():
        algorithm, _, encoded = part.partition("-")
        name = _INTEGRITY_ALGORITHMS.get(algorithm)
        if name is None:
            continue
        try:
            content = base64.b64decode(encoded, validate=True).hex()
        except (binascii.Error, ValueError):
            continue
        hashes.append(HashType(alg=HashAlgorithm(name), content=content))
    return hashes


def _python_component(unit: CodeUnit, dist: PythonComponent) -> Component:
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    properties = [_property("path", dist.dist_info), _property("record", dist.record)]
    if dist.changed_files:
        properties.append(_property("record:changed-files", dist.changed_files))
    return Component(
        type=ComponentType.LIBRARY, name=dist.name, version=dist.version or None,
        purl=PackageURL.from_string(dist.purl), bom_ref=f"{unit.ref}|pypi:{dist.dist_info}",
        properties=properties,
    )


def _node_component(unit: CodeUnit, node: NodeComponent) -> Component:
    from cyclonedx.model import Property
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    installed = node.package
    scope, _, name = installed.name.rpartition("/")
    properties = [
        Property(name="cdx:npm:package:path", value=installed.tree + installed.install_path),  # CycloneDX taxonomy
        _property("lock", node.lock),
    ]
    return Component(
        type=ComponentType.LIBRARY, name=name, group=scope or None, version=installed.version or None,
        purl=PackageURL.from_string(installed.purl), bom_ref=f"{unit.ref}|npm:{installed.manifest}",
        hashes=_integrity_hashes(node.integrity), properties=properties,
    )


def _extension_component(unit: CodeUnit, extension: ExtensionComponent) -> Component:
    from cyclonedx.model import HashAlgorithm, HashType
    from cyclonedx.model.component import Component, ComponentType

    hashes = [HashType(alg=HashAlgorithm.SHA_256, content=extension.sha256)] if extension.sha256 else []
    return Component(
        type=ComponentType.APPLICATION, name=extension.path.rsplit("/", 1)[-1], hashes=hashes,
        bom_ref=f"{unit.ref}|extension:{extension.path}",
        properties=[_property("path", extension.path), _property("lambda-extension", "true")],
    )


def _unit_component(unit: CodeUnit) -> Component:
    from cyclonedx.model import HashAlgorithm, HashType
    from cyclonedx.model.component import Component, ComponentType

    properties = [_property("role", unit.role), _property("resource-type", unit.resource_type)]
    for name, value in (("declared-in", unit.declared_in), ("code", unit.code), ("code-kind", unit.code_kind),
                        ("runtime", unit.runtime), ("code-unavailable", unit.problem)):
        if value:
            properties.append(_property(name, value))
    if unit.unresolved_layers:
        properties.append(_property("unresolved-layers", unit.unresolved_layers))
    nested = [_python_component(unit, dist) for dist in unit.python]
    nested += [_node_component(unit, node) for node in unit.node]
    nested += [_extension_component(unit, extension) for extension in unit.extensions]
    return Component(
        type=ComponentType.LIBRARY if unit.is_layer else ComponentType.APPLICATION,
        name=unit.name, bom_ref=unit.ref,
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=unit.digest)] if unit.digest else [],
        properties=properties, components=nested,
    )


def _external_component(layer: ExternalLayer) -> Component:
    from cyclonedx.model.component import Component, ComponentType

    properties = [_property("role", "layer")]
    if layer.arn:
        properties += [_property("arn", layer.arn), _property("account", layer.account),
                       _property("code-unavailable", "a layer no scanned template builds: its content is not read")]
    else:
        properties.append(_property("code-unavailable", "the template does not say where the layer content is"))
    return Component(type=ComponentType.LIBRARY, name=layer.name, version=layer.version or None, bom_ref=layer.ref,
                     properties=properties)


def cyclonedx_json(contents: SbomContents, *, spec_version: str = "1.6", tool_version: str = "",
                   timestamp: dt.datetime | None = None) -> str:
    """The BOM as CycloneDX JSON text (two-space indent, trailing newline)."""
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.tool import ToolRepository
    from cyclonedx.output.json import JsonV1Dot5, JsonV1Dot6

    if spec_version not in SPEC_VERSIONS:
        raise ValueError(f"CycloneDX {spec_version} is not supported (choose {' or '.join(SPEC_VERSIONS)})")
    tool = Component(type=ComponentType.APPLICATION, name="lambdasec", version=tool_version or None)
    components = {unit.ref: _unit_component(unit) for unit in contents.units}
    components.update({layer.ref: _external_component(layer) for layer in contents.external_layers})
    bom = Bom(components=components.values(), serial_number=uuid.UUID(int=0),
              metadata=BomMetaData(tools=ToolRepository(components=[tool])))
    for unit in contents.units:
        bom.register_dependency(components[unit.ref], [components[ref] for ref in unit.layers])
    writer = JsonV1Dot5 if spec_version == "1.5" else JsonV1Dot6
    document = json.loads(writer(bom).output_as_string())
    if timestamp is None:
        document.get("metadata", {}).pop("timestamp", None)
    else:
        document.setdefault("metadata", {})["timestamp"] = timestamp.isoformat()
    document.pop("serialNumber", None)
    digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    document["serialNumber"] = uuid.uuid5(_SERIAL_NAMESPACE, digest).urn
    ordered = {key: document[key] for key in _TOP_LEVEL_ORDER if key in document}
    ordered.update((key, value) for key, value in document.items() if key not in ordered)
    return json.dumps(ordered, indent=2) + "\n"
