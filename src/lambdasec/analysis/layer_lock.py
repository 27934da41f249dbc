"""Layer lock files: the layers a team trusts, pinned to their version and the digest of their content.

A lock file (``lambdasec.lock``, JSON, documented in docs/layer-lock.md) has one entry per layer the functions use,
keyed so that the key survives a re-deploy of the same content and line shifts in the templates:

* a layer the templates build (``AWS::Lambda::LayerVersion`` / ``AWS::Serverless::LayerVersion``, Terraform
  ``aws_lambda_layer_version``, a serverless ``layers:`` entry): ``<source>#<id>``, where ``<source>`` is the
  template file (the module directory for Terraform), relative to the lock file's directory, and ``<id>`` the
  logical id, address or serverless layer name. Its content digest (analysis/packages.py ``Package.digest()``) is
  recorded when the content is local;
* a layer named by its ARN: the ARN without its version, with the versions in use as a field;
* anything else (an SSM parameter, ``!ImportValue``, a serverless ``${cf:...}``...): ``<source>#<expression>``.

Paths are relative to the lock file's directory, not to how the scan was started, so ``lambdasec scan .`` and
``lambdasec scan infra/template.yaml`` check the same entries. The comparison of a scan with a lock
(:func:`verify`) is what INT011 / INT012 report and what ``lambdasec layers verify`` prints; :func:`unpinned` is
INT013 (a reference that does not pin a version).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from lambdasec.fast_dataclass import dataclass, field

from ..model.findings import Confidence
from ..model.inventory import CoverageGap, Function, Inventory, LayerVersion, Resource
from ..model.location import Location
from ..model.values import ResourceRef, Unresolved, Value

if TYPE_CHECKING:
    from .packages import ArchiveLimits, PackageTarget

LOCK_NAME: Final = "lambdasec.lock"
SCHEMA_VERSION: Final = 1
KINDS: Final = ("template", "arn", "reference")
_SHA256: Final = re.compile(r"^[0-9a-f]{64}$")
_PLACEHOLDER: Final = r"\$\{[^}]*\}"
# A layer ARN, possibly with ${...} placeholders (CloudFormation !Sub, Terraform interpolation, serverless
# variables): the part before the version, and the version.
_LAYER_ARN: Final = re.compile(
    rf"^(?P<base>arn:(?:[\w-]+|{_PLACEHOLDER}):lambda:(?:[\w-]*|{_PLACEHOLDER}):(?:\d{{12}}|aws|{_PLACEHOLDER})"
    rf":layer:(?:[\w-]|{_PLACEHOLDER})+)(?::(?P<version>\d+|{_PLACEHOLDER}))?$"
)
# The version placeholder the Terraform mapper writes for `data "aws_lambda_layer_version"` without `version`.
_LOOKUP_VERSION: Final = re.compile(r"^\$\{(?:module\.[^}]*\.)?data\.aws_lambda_layer_version\.[^}]*\.version\}$")
_DYNAMIC_SSM: Final = re.compile(r"\{\{resolve:ssm:(?P<name>[^{}]+?)(?::(?P<version>\d+))?\}\}")
_SERVERLESS_DEPLOY_TIME: Final = re.compile(r"\$\{(?P<source>ssm|cf)[:(.]")
_SSM_NAME: Final = re.compile(r"^/?[A-Za-z0-9_.\-]+(?:/[A-Za-z0-9_.\-]+)*$")
# The SAM translator names the LayerVersion it generates `<LogicalId><10 hex digits of a hash of its properties>`:
# the hash changes with any property, so keys use the logical id written in the template.
_SAM_LAYER_HASH: Final = re.compile(r"^(?P<id>[A-Za-z0-9]+?)(?P<hash>[0-9a-f]{10})$")


class LockFileError(Exception):
    """A lock file that cannot be read or is not a lambdasec lock of a supported schema version."""


# ---------------------------------------------------------------- the file
@dataclass(frozen=True)
class LockEntry:
    kind: str  # "template" | "arn" | "reference"
    versions: tuple[int, ...] = ()  # layer versions in use (ARNs); empty for template layers and references
    sha256: str | None = None  # hex digest of the content when it was available offline
    content: str | None = None  # where the content is, relative to the lock's directory (informational)
    functions: tuple[str, ...] = ()  # "<source>#<function id>" (informational)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "versions": list(self.versions), "sha256": self.sha256, "content": self.content,
                "functions": list(self.functions)}


@dataclass(frozen=True)
class LockFile:
    layers: Mapping[str, LockEntry]
    created: str = ""  # the day the lock was written (UTC, ISO 8601)
    generator: str = ""  # "lambdasec <version>"

    def render(self) -> str:
        """The file's text: sorted keys, two-space indent, a trailing newline (same input, same bytes)."""
        document = {
            "created": self.created, "generator": self.generator, "schema_version": SCHEMA_VERSION,
            "layers": {key: entry.to_json() for key, entry in self.layers.items()},
        }
        return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def parse_lock(text: str, name: str = LOCK_NAME) -> LockFile:
    """A lock file's content; raises :class:`LockFileError` naming what is wrong."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise LockFileError(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise LockFileError(f"{name} is not a lambdasec lock file (a JSON object is expected)")
    schema = document.get("schema_version")
    if schema != SCHEMA_VERSION or isinstance(schema, bool):
        raise LockFileError(f"{name}: unsupported schema_version {schema!r} (this lambdasec reads {SCHEMA_VERSION})")
    layers = document.get("layers")
    if not isinstance(layers, dict):
        raise LockFileError(f"{name}: 'layers' must be an object")
    entries = {str(key): _entry(name, str(key), raw) for key, raw in layers.items()}
    created, generator = document.get("created", ""), document.get("generator", "")
    return LockFile(entries, created if isinstance(created, str) else "",
                    generator if isinstance(generator, str) else "")


def _entry(name: str, key: str, raw: Any) -> LockEntry:
    where = f"{name}: layer {key!r}"
    if not isinstance(raw, dict):
        raise LockFileError(f"{where} must be an object")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise LockFileError(f"{where}: kind must be one of {', '.join(KINDS)}")
    versions = raw.get("versions", [])
    if not isinstance(versions, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in versions):
        raise LockFileError(f"{where}: versions must be a list of positive integers")
    sha256 = raw.get("sha256")
    if sha256 is not None and not (isinstance(sha256, str) and _SHA256.match(sha256)):
        raise LockFileError(f"{where}: sha256 must be null or 64 lowercase hexadecimal digits")
    content = raw.get("content")
    if content is not None and not isinstance(content, str):
        raise LockFileError(f"{where}: content must be null or a path")
    functions = raw.get("functions", [])
    if not isinstance(functions, list) or not all(isinstance(f, str) for f in functions):
        raise LockFileError(f"{where}: functions must be a list of strings")
    return LockEntry(str(kind), tuple(sorted(set(versions))), sha256, content, tuple(functions))


def read_lock(path: Path) -> LockFile:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise LockFileError(f"cannot read {path}: {reason}") from None
    return parse_lock(text, str(path))


def new_lock(layers: Iterable[CurrentLayer], today: dt.date) -> LockFile:
    from .. import __version__

    entries = {layer.key: layer.entry() for layer in sorted(layers, key=lambda layer: layer.key)}
    return LockFile(entries, today.isoformat(), f"lambdasec {__version__}")


# ---------------------------------------------------------------- what the scan sees
@dataclass(frozen=True)
class LayerUse:
    """One entry of a function's layer list."""

    function: Function
    index: int
    reference: Value
    where: Location


@dataclass
class CurrentLayer:
    """A layer as the scanned templates use it, under its lock key."""

    key: str
    kind: str
    layer: LayerVersion | None = None  # the template's own layer (kind "template")
    uses: list[LayerUse] = field(default_factory=list)
    versions: tuple[int, ...] = ()
    sha256: str | None = None
    content: str | None = None
    functions: tuple[str, ...] = ()
    unread: str = ""  # why the content, which should be local, has no digest
    gaps: list[CoverageGap] = field(default_factory=list)

    def entry(self) -> LockEntry:
        return LockEntry(self.kind, self.versions, self.sha256, self.content, self.functions)


def layer_uses(functions: Iterable[Function]) -> list[LayerUse]:
    return [LayerUse(fn, index, reference, fn.at(f"Layers.{index}"))
            for fn in functions for index, reference in enumerate(fn.layers)]


def arn_parts(text: str) -> tuple[str, str | None] | None:
    """(the layer ARN without version, the version as written or None) of a layer ARN text, else None."""
    match = _LAYER_ARN.match(text)
    return (match["base"], match["version"]) if match else None


def root_of(resource: Resource, roots: Sequence[Path]) -> Path:
    """The scan root the resource's file is relative to."""
    for root in roots:
        if resource.location.file and (root / resource.location.file).is_file():
            return root
    return roots[0] if roots else Path(".")


def _source_prefix(key: str, resource: Resource) -> tuple[str, str]:
    """(source, rest) of an inventory key: the file (CloudFormation, serverless) or module directory (Terraform)."""
    file = resource.location.file
    if file and key.startswith(file + "#"):
        return file, key[len(file) + 1:]
    source, _, rest = key.partition("#")
    return source, rest


def _relative(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()


def _is_live(resource: Resource) -> bool:
    """An object of a live scan (or a snapshot of one): no file, its key is its ARN."""
    return not resource.location.file and resource.key.startswith("arn:")


def _template_layer_id(layer: LayerVersion) -> str:
    match = _SAM_LAYER_HASH.match(layer.id) if layer.type == "AWS::Lambda::LayerVersion" else None
    if match and any(c.isdigit() for c in match["hash"]) and any(c.isalpha() for c in match["hash"]):
        return match["id"]
    return layer.id


class LayerCollector:
    """The current layers of some functions, keyed relative to ``base`` (the lock file's directory)."""

    def __init__(self, inventory: Inventory, roots: Sequence[Path], base: Path,
                 limits: ArchiveLimits | None = None) -> None:
        self.inventory = inventory
        self.roots = list(roots) or [Path(".")]
        self.base = base
        self.limits = limits
        self._targets: dict[str, PackageTarget] | None = None

    def source(self, resource: Resource, key: str | None = None) -> tuple[str, str]:
        """(source relative to the lock's directory, rest of the key) of a resource or of one of its keys."""
        source, rest = _source_prefix(key or resource.key, resource)
        root = root_of(resource, self.roots)
        path = Path(source) if Path(source).is_absolute() else root / source
        return _relative(path, self.base), rest

    def function_id(self, fn: Function) -> str:
        if _is_live(fn):  # a function of a live scan: its ARN says where it is
            return fn.key
        return f"{self.source(fn)[0]}#{fn.id}"

    def identify(self, use: LayerUse) -> tuple[str, str, LayerVersion | None, int | None]:
        """(lock key, kind, the template's layer, version) of one layer reference."""
        reference = use.reference
        layer = self.inventory.resolve(reference, LayerVersion)
        if layer is not None and _is_live(layer):  # a layer version read from an account: keyed by its ARN
            reference = layer.key
        elif layer is not None:
            return f"{self.source(layer)[0]}#{_template_layer_id(layer)}", "template", layer, None
        if isinstance(reference, ResourceRef):  # e.g. a Terraform lookup the mapper left as it was
            source, rest = self.source(use.function, reference.key)
            return f"{source}#{rest}", "reference", None, None
        text = reference.expression if isinstance(reference, Unresolved) else reference
        parts = arn_parts(text) if not text.startswith("!") else None
        if parts is not None:
            base, version = parts
            return base, "arn", None, int(version) if version and version.isdigit() else None
        return f"{self.source(use.function)[0]}#{text}", "reference", None, None

    def layers(self, functions: Iterable[Function]) -> list[CurrentLayer]:
        found: dict[str, CurrentLayer] = {}
        versions: dict[str, set[int]] = {}
        for use in layer_uses(functions):
            key, kind, layer, version = self.identify(use)
            current = found.setdefault(key, CurrentLayer(key, kind, layer))
            current.uses.append(use)
            deployed = self.inventory.resolve(use.reference, LayerVersion)
            if deployed is not None and _is_live(deployed) and deployed.code_sha256 and current.sha256 is None:
                # A layer version read from an account: Lambda's CodeSha256 is the sha256 of its zip, the digest
                # a zip file gets here (content read only with --download-code).
                current.sha256, current.content = _hex_sha256(deployed.code_sha256), DEPLOYED
            if version is not None:
                versions.setdefault(key, set()).add(version)
        for key, current in found.items():
            current.versions = tuple(sorted(versions.get(key, ())))
            current.functions = tuple(sorted({self.function_id(use.function) for use in current.uses}))
            if current.layer is not None:
                self._read_content(current, current.layer)
        return sorted(found.values(), key=lambda current: current.key)

    def _read_content(self, current: CurrentLayer, layer: LayerVersion) -> None:
        from .packages import ArchiveLimits, Package, load_package, package_gaps, package_targets

        if self._targets is None:
            self._targets = {t.owner.key: t for t in package_targets(self.inventory) if t.role == "layer"}
        target = self._targets.get(layer.key)
        if target is None:
            return
        package = load_package(target, self.inventory, self.roots, self.limits or ArchiveLimits())
        if not isinstance(package, Package):
            if package.expected_local:
                current.unread = package.message
                current.gaps = package_gaps(target, package)
            return
        current.content = self._content_path(layer, package.label, package.kind)
        if package.kind != "zip" and not package.complete:  # a digest of part of a directory proves nothing
            current.unread = f"package {package.label} could not be read completely"
            current.gaps = package_gaps(target, package)
            return
        current.sha256 = package.digest()

    def _content_path(self, layer: LayerVersion, label: str, kind: str) -> str:
        if kind == "inline":
            return "inline"
        path = Path(label) if Path(label).is_absolute() else root_of(layer, self.roots) / label
        return _relative(path, self.base)


# ---------------------------------------------------------------- comparison
@dataclass(frozen=True)
class Mismatch:
    kind: str  # "new" (not in the lock) | "version" | "content"
    layer: CurrentLayer
    locked: LockEntry | None
    message: str  # what differs, for humans (the caller adds which function or layer)
    uses: tuple[LayerUse, ...] = ()  # the references concerned (all of them but for "version")


@dataclass
class Verification:
    lock: Path
    layers: list[CurrentLayer] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    unused: list[tuple[str, LockEntry]] = field(default_factory=list)  # locked, no longer used
    not_compared: list[CurrentLayer] = field(default_factory=list)  # content unreadable: digest not compared

    def problems(self, layer: CurrentLayer) -> list[Mismatch]:
        return [mismatch for mismatch in self.mismatches if mismatch.layer is layer]


def verify(lock: LockFile, layers: Sequence[CurrentLayer], lock_path: Path) -> Verification:
    result = Verification(lock_path, list(layers))
    for current in layers:
        locked = lock.layers.get(current.key)
        if locked is None:
            result.mismatches.append(Mismatch("new", current, None, "is not in the lock file",
                                              tuple(current.uses)))
            continue
        result.mismatches.extend(_version_mismatches(current, locked))
        content = _content_mismatch(current, locked)
        if content is not None:
            result.mismatches.append(content)
        elif locked.sha256 is not None and (current.sha256 is None and current.unread
                                            or not _comparable(current, locked)):
            result.not_compared.append(current)
    used = {current.key for current in layers}
    result.unused = [(key, entry) for key, entry in sorted(lock.layers.items()) if key not in used]
    return result


def _version_mismatches(current: CurrentLayer, locked: LockEntry) -> list[Mismatch]:
    unlocked = [v for v in current.versions if v not in locked.versions]
    if not unlocked:
        return []
    was = ", ".join(map(str, locked.versions)) if locked.versions else "no version"
    out = []
    for version in unlocked:
        uses = tuple(use for use in current.uses if _use_version(use) == version)
        out.append(Mismatch("version", current, locked, f"uses version {version}, the lock has {was}", uses))
    return out


def _use_version(use: LayerUse) -> int | None:
    reference = use.reference
    # A live function's layer is a reference to the layer version of the inventory, keyed by its ARN.
    text = (reference.expression if isinstance(reference, Unresolved)
            else reference.key if isinstance(reference, ResourceRef) else reference)
    parts = arn_parts(text) if isinstance(text, str) else None
    return int(parts[1]) if parts and parts[1] and parts[1].isdigit() else None


def _content_mismatch(current: CurrentLayer, locked: LockEntry) -> Mismatch | None:
    if current.sha256 is None or current.sha256 == locked.sha256:
        return None
    if not _comparable(current, locked):
        return None
    if locked.sha256 is None:
        message = (f"has content sha256 {current.sha256}, and the lock records no digest for it (its content "
                   "was not available when it was locked)")
    else:
        message = f"has content sha256 {current.sha256}, the lock has {locked.sha256}"
    return Mismatch("content", current, locked, message, tuple(current.uses))


DEPLOYED: Final = "deployed"  # the content of a live layer version, known by Lambda's CodeSha256


def _comparable(current: CurrentLayer, locked: LockEntry) -> bool:
    """A deployed zip's hash cannot be compared with the listing digest a directory was locked with."""
    if DEPLOYED not in (current.content, locked.content):
        return True
    return _zip_digest(current.content) and _zip_digest(locked.content)


def _zip_digest(content: str | None) -> bool:
    """Whether a layer's digest is the sha256 of a zip (a deployed layer, or a zip file), not of a listing."""
    return content == DEPLOYED or (content is not None and content.lower().endswith(".zip"))


def _hex_sha256(code_sha256: str) -> str | None:
    import base64
    import binascii

    try:
        raw = base64.b64decode(code_sha256, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 32 else None


# ---------------------------------------------------------------- which lock governs a function
def lock_for(fn: Function, roots: Sequence[Path]) -> Path | None:
    """The nearest ``lambdasec.lock`` from the directory of the function's file up to its scan root."""
    root = root_of(fn, roots).resolve()
    start = (root / fn.location.file).parent.resolve() if fn.location.file else root
    for directory in [start, *start.parents] if start.is_relative_to(root) else [root]:
        if (directory / LOCK_NAME).is_file():
            return directory / LOCK_NAME
        if directory == root:
            break
    return None


def functions_by_lock(inventory: Inventory, roots: Sequence[Path], explicit: Path | None) -> dict[Path, list[Function]]:
    """The functions each lock file governs: all of them for an explicit lock, else by :func:`lock_for`."""
    if explicit is not None:
        return {explicit: list(inventory.functions)} if inventory.functions else {}
    out: dict[Path, list[Function]] = {}
    for fn in inventory.functions:
        if not fn.layers:
            continue
        found = lock_for(fn, roots)
        if found is not None:
            out.setdefault(found, []).append(fn)
    return out


# ---------------------------------------------------------------- INT013
@dataclass(frozen=True)
class Unpinned:
    reason: str  # completes "Layer <reference> of <function> ..."
    confidence: Confidence
    shown: str = ""  # how to name the reference when its text is not what the user wrote


def unpinned(use: LayerUse) -> Unpinned | None:
    """Why a layer reference does not pin a version although its format could, or None when it does."""
    reference = use.reference
    if isinstance(reference, ResourceRef):
        return None  # a layer version the same template or configuration publishes
    text = reference.expression if isinstance(reference, Unresolved) else reference
    if isinstance(reference, Unresolved) and "AWS::SSM::Parameter::Value" in reference.reason:
        return Unpinned("comes from a parameter of type AWS::SSM::Parameter::Value<String>: CloudFormation reads "
                        "the parameter's current value at each deployment", Confidence.HIGH)
    dynamic = _DYNAMIC_SSM.search(text)
    if dynamic is not None and dynamic["version"] is None:
        return Unpinned(f"reads SSM parameter {dynamic['name']} without a parameter version: CloudFormation "
                        "resolves the dynamic reference to the parameter's latest value at each deployment",
                        Confidence.HIGH)
    deploy_time = _SERVERLESS_DEPLOY_TIME.search(text) if isinstance(reference, Unresolved) else None
    if deploy_time is not None:
        what = "an SSM parameter" if deploy_time["source"] == "ssm" else "another stack's output"
        return Unpinned(f"is read from {what} when the Framework deploys: whoever can change it decides which "
                        "layer runs, without a change in this repository", Confidence.HIGH)
    parts = arn_parts(text)
    if parts is not None:
        return _unpinned_arn(parts[1])
    if (not isinstance(reference, Unresolved) and use.function.type.startswith("AWS::")
            and dynamic is None and _SSM_NAME.match(text)):
        return Unpinned("is not a layer ARN but an SSM parameter name, the default of a parameter of type "
                        "AWS::SSM::Parameter::Value<String>: CloudFormation reads the parameter's current value at "
                        "each deployment", Confidence.MEDIUM)
    return None


def _unpinned_arn(version: str | None) -> Unpinned | None:
    if version is None:
        return Unpinned("names no version: Lambda only accepts layer version ARNs, so either the deployment fails "
                        "or a tool in between picks a version (usually the latest), outside this repository",
                        Confidence.MEDIUM)
    if _LOOKUP_VERSION.match(version):
        lookup = version[2:-1].rsplit(".", 1)[0]
        return Unpinned(f"is looked up by {lookup}, which has no version argument: Terraform takes the latest "
                        "version of the layer at each plan", Confidence.HIGH, shown=f"{lookup}.arn")
    return None
