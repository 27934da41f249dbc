"""Inventory snapshots: the normalized inventory saved as versioned JSON (gzip when the name ends in ``.gz``).

A live scan takes minutes and many API calls; its inventory can be saved once (``write_snapshot``), scanned again
offline (``lambdasec scan inventory.json.gz`` goes through :func:`collect_snapshot`), and the shards of a scan
split by account or region merged into one (:func:`merge_snapshots`). The format is documented field by field in
docs/snapshot.md.

The encoding is generic over the dataclasses of model/inventory.py: fields are walked with
``dataclasses.fields`` and decoded from their type hints, so a field added to the model is saved without a change
here. A field at its default value is left out. In the places the model types as a :data:`Value`
(``str | ResourceRef | Unresolved``) a string stays a JSON string, a ``ResourceRef`` is ``{"$ref": key,
"attribute": ...}`` and an ``Unresolved`` is ``{"$unresolved": expression, "reason": ...}``; in free-form values
(``Any``: policy conditions, trail selectors, parameter defaults) tuples are ``{"$tuple": [...]}`` and an object
whose keys start with ``$`` is ``{"$dict": [[key, value], ...]}``.

Secrets are never written: an environment variable whose value the SEC001 detector flags, and a parameter default
SEC002 would report, are written as ``{"$secret": {"kind", "preview", "confidence"}}`` and read back as a
:class:`~lambdasec.model.inventory.RedactedSecret` those rules report from.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import io
import json
import os
import re
import tempfile
import types
import typing
from collections.abc import Iterable, Mapping, MutableMapping
from pathlib import Path
from typing import Any, Final, Union, get_args, get_origin

from lambdasec.fast_dataclass import dataclass, field

from .inventory import (
    _BUCKETS,
    CoverageGap,
    EnvVar,
    Function,
    Inventory,
    Parameter,
    RedactedSecret,
    Resource,
    ScannedScope,
)
from .location import Location
from .values import ResourceRef, Unresolved

FORMAT: Final = "lambdasec-snapshot"
SCHEMA_VERSION: Final = 1
REDACTED: Final = Unresolved("<redacted>", "secret value not kept in snapshots")
_GZIP_MAGIC: Final = b"\x1f\x8b"
_SNIFF_BYTES: Final = 65536
# 4 GiB of JSON is a few hundred thousand functions: a larger decompressed snapshot is refused.
MAX_SNAPSHOT_BYTES: Final = 4 << 30
# A snapshot is JSON of varied records that gzip shrinks some 10 to 20 times: past 64 MiB, output over 100 times
# the compressed bytes read so far is a bomb, refused before it fills memory (the ratio of zip entries, too).
_BOMB_RATIO: Final = 100
_BOMB_FLOOR: Final = 64 << 20
_MARKER: Final = re.compile(rb'"format"\s*:\s*"lambdasec-snapshot"')
_INVENTORY_SKIPPED: Final = frozenset({"_index", "_role_users", "derived"})  # rebuilt, never saved
_NONE_TYPE: Final = type(None)
_GLOBAL_SERVICE: Final = "iam"  # read once per account, whatever the region


class SnapshotError(Exception):
    """A file that is not a lambdasec snapshot of a supported schema version, or whose content is malformed."""


@dataclass
class Snapshot:
    """A snapshot file's content."""

    inventory: Inventory
    created: str = ""  # ISO 8601
    tool_version: str = ""
    meta: dict[str, Any] = field(default_factory=dict)  # accounts, regions, stats... as the writer gave them


# ---------------------------------------------------------------- writing
def write_snapshot(inventory: Inventory, path: str | Path, *, meta: Mapping[str, Any]) -> None:
    """Save ``inventory`` to ``path`` (gzip when its name ends in ``.gz``), replacing the file atomically.

    ``meta["created"]`` (a datetime or an ISO 8601 string) is the snapshot's time, now when missing;
    ``meta["tool_version"]`` overrides the running version; every other entry goes to the document's ``meta``.
    """
    from .. import __version__

    extra = dict(meta)
    created = extra.pop("created", None) or dt.datetime.now(dt.timezone.utc)
    tool_version = str(extra.pop("tool_version", __version__))
    document = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "created": created.isoformat() if isinstance(created, dt.datetime) else str(created),
        "tool_version": tool_version,
        "meta": _encode_any(extra),
        "inventory": encode_inventory(inventory),
    }
    data = (json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
    target = Path(path)
    if target.name.endswith(".gz"):
        buffer = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as packed:  # same input, same bytes
            packed.write(data)
        data = buffer.getvalue()
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or Path("."))
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def encode_inventory(inventory: Inventory) -> dict[str, Any]:
    """The ``inventory`` object of a snapshot document, secrets redacted (:func:`redact_secrets`)."""
    inventory = redact_secrets(inventory)
    out: dict[str, Any] = {}
    for spec, hint in _fields(Inventory):
        if spec.name in _INVENTORY_SKIPPED:
            continue
        value = getattr(inventory, spec.name)
        out[spec.name] = _encode(hint, value, spec.name)
    return out


def _encode(hint: Any, value: Any, where: str) -> Any:
    if hint is Any:
        return _encode_any(value)
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        if value is None:
            return None
        if isinstance(value, (ResourceRef, Unresolved, RedactedSecret)):
            return _encode_tagged(value)
        return _encode(_other_member(hint, where), value, where)
    if dataclasses.is_dataclass(hint):
        return _encode_object(value, where) if dataclasses.is_dataclass(value) else _encode_any(value)
    if origin in (list, tuple, set, frozenset):
        if not isinstance(value, (list, tuple, set, frozenset)):
            return _encode_any(value)
        item = get_args(hint)[0]
        items = [_encode(item, element, f"{where}[{index}]") for index, element in enumerate(value)]
        return sorted(items, key=json.dumps) if isinstance(value, (set, frozenset)) else items
    if origin in (dict, Mapping, MutableMapping):
        if not isinstance(value, Mapping):
            return _encode_any(value)
        item = get_args(hint)[1]
        return {str(key): _encode(item, element, f"{where}.{key}") for key, element in value.items()}
    if isinstance(value, (ResourceRef, Unresolved, RedactedSecret)):
        return _encode_tagged(value)
    return _encode_any(value)


def _encode_object(obj: Any, where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec, hint in _fields(type(obj)):
        value = getattr(obj, spec.name)
        if _is_default(spec, value):
            continue
        out[spec.name] = _encode(hint, value, f"{where}.{spec.name}")
    if isinstance(obj, EnvVar) and obj.secret is not None:  # the value is REDACTED: the verdict takes its place
        del out["secret"]
        out["value"] = _encode_tagged(obj.secret)
    return out


def _is_default(spec: dataclasses.Field[Any], value: Any) -> bool:
    if spec.default is not dataclasses.MISSING:
        default = spec.default
    elif spec.default_factory is not dataclasses.MISSING:
        default = spec.default_factory()
    else:
        return False
    try:
        return type(value) is type(default) and bool(value == default) or (
            isinstance(value, Mapping) and isinstance(default, Mapping) and not value and not default)
    except Exception:  # noqa: BLE001  # a value whose comparison fails is simply written
        return False


def _encode_tagged(value: ResourceRef | Unresolved | RedactedSecret) -> dict[str, Any]:
    if isinstance(value, ResourceRef):
        return {"$ref": value.key, "attribute": value.attribute}
    if isinstance(value, Unresolved):
        return {"$unresolved": value.expression, "reason": value.reason}
    return {"$secret": {"kind": value.kind, "preview": value.preview, "confidence": value.confidence}}


def _encode_any(value: Any) -> Any:
    """Free-form values (``Any`` in the model): JSON types as they are, the model's own types tagged."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (ResourceRef, Unresolved, RedactedSecret)):
        return _encode_tagged(value)
    if isinstance(value, tuple):
        return {"$tuple": [_encode_any(item) for item in value]}
    if isinstance(value, list):
        return [_encode_any(item) for item in value]
    if isinstance(value, Mapping):
        if all(isinstance(key, str) and not key.startswith("$") for key in value):
            return {key: _encode_any(item) for key, item in value.items()}
        return {"$dict": [[_encode_any(key), _encode_any(item)] for key, item in value.items()]}
    if isinstance(value, (set, frozenset)):
        return sorted((_encode_any(item) for item in value), key=json.dumps)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Location):
        return {"$location": _encode_object(value, "location")}
    raise SnapshotError(f"cannot save a value of type {type(value).__name__} in a snapshot")


# ---------------------------------------------------------------- secrets
def redact_secrets(inventory: Inventory) -> Inventory:
    """The inventory as a snapshot keeps it: the same objects, but for the functions holding secrets.

    An environment variable whose value SEC001 flags gets ``value`` :data:`REDACTED` and ``secret`` the detector's
    verdict; a parameter default SEC002 would report becomes that verdict (and the variables holding the resolved
    default get :data:`REDACTED`). ``read_snapshot(path) == redact_secrets(inventory)`` after
    ``write_snapshot(inventory, path)``; an inventory without secrets is returned as it is.
    """
    replaced = {fn.key: redacted for fn in inventory.functions if (redacted := _redact_function(fn)) is not fn}
    if not replaced:
        return inventory
    out = Inventory(coverage_gaps=list(inventory.coverage_gaps), scopes=list(inventory.scopes),
                    own_accounts=set(inventory.own_accounts), aliases=dict(inventory.aliases))
    for bucket in _BUCKETS:
        for obj in getattr(inventory, bucket):
            out.add(getattr(out, bucket), replaced.get(obj.key, obj) if bucket == "functions" else obj)
    return out


def _redact_function(fn: Function) -> Function:
    users: dict[str, list[str]] = {}
    for var in fn.environment.values():
        if var.parameter is not None:
            users.setdefault(var.parameter.name, []).append(var.name)
    environment: dict[str, EnvVar] = {}
    for name, var in fn.environment.items():
        secret, value, parameter = var.secret or env_secret(var), var.value, var.parameter
        if secret is not None:
            value = REDACTED
        if parameter is not None:
            default = parameter_secret(parameter, users[parameter.name])
            if default is not None:
                parameter = dataclasses.replace(parameter, default=default)
                if isinstance(value, str):  # the default, resolved
                    value = REDACTED
        if (secret, value, parameter) != (var.secret, var.value, var.parameter):
            var = dataclasses.replace(var, value=value, secret=secret, parameter=parameter)
        environment[name] = var
    if all(environment[name] is var for name, var in fn.environment.items()):
        return fn
    return dataclasses.replace(fn, environment=environment)


def env_secret(var: EnvVar) -> RedactedSecret | None:
    """What SEC001 reports about an environment variable's value, when it flags it (never the value itself)."""
    from ..analysis.secrets import detect
    from .values import literal

    value = literal(var.value)
    found = detect(var.name, value) if value is not None else None
    if found is None:
        return None
    return RedactedSecret(found.kind, found.preview, found.confidence.label)


def parameter_secret(parameter: Parameter, variables: Iterable[str]) -> RedactedSecret | None:
    """What SEC002 reports about a parameter's default, when it would (never the value itself)."""
    from ..analysis.secrets import detect, is_non_secret_value, redact
    from .values import literal

    if isinstance(parameter.default, RedactedSecret):
        return parameter.default
    default = literal(parameter.default) if parameter.has_default else None
    if default is None or is_non_secret_value(default):
        return None
    found = [m for m in (detect(name, default) for name in (parameter.name, *variables)) if m is not None]
    best = max(found, key=lambda m: m.confidence) if found else None
    if best is not None:
        return RedactedSecret(best.kind, best.preview, best.confidence.label)
    if parameter.no_echo:
        return RedactedSecret("secret", redact(default.strip()), "high")
    return None


# ---------------------------------------------------------------- reading
def read_snapshot(path: str | Path) -> Inventory:
    """The inventory a snapshot file holds; raises :class:`SnapshotError` when it cannot be read."""
    return load_snapshot(path).inventory


def load_snapshot(path: str | Path) -> Snapshot:
    """A snapshot file's inventory and metadata; raises :class:`SnapshotError` naming what is wrong."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise SnapshotError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if raw.startswith(_GZIP_MAGIC):
        raw = _gunzip(raw, name)
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SnapshotError(f"{name}: not UTF-8 text") from None
    except RecursionError:
        raise SnapshotError(f"{name}: nested too deeply") from None
    except ValueError as exc:
        raise SnapshotError(f"{name}: invalid JSON: {getattr(exc, 'msg', exc)}") from None
    return parse_snapshot(document, name)


def parse_snapshot(document: Any, name: str = "snapshot") -> Snapshot:
    """A snapshot document already parsed from JSON."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SnapshotError(f"{name}: not a lambdasec snapshot (\"format\": \"{FORMAT}\" is missing)")
    version = document.get("schema_version")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise SnapshotError(f"{name}: unsupported schema_version {version!r} (this lambdasec reads {SCHEMA_VERSION})")
    body = document.get("inventory")
    if not isinstance(body, dict):
        raise SnapshotError(f"{name}: 'inventory' must be an object")
    meta = document.get("meta", {})
    if not isinstance(meta, dict):
        raise SnapshotError(f"{name}: 'meta' must be an object")
    created, tool_version = document.get("created", ""), document.get("tool_version", "")
    try:
        inventory = decode_inventory(body)
        meta = _decode_any(meta, "meta")
    except _Malformed as exc:
        raise SnapshotError(f"{name}: {exc}") from None
    except RecursionError:
        raise SnapshotError(f"{name}: nested too deeply") from None
    return Snapshot(inventory, created if isinstance(created, str) else "",
                    tool_version if isinstance(tool_version, str) else "", meta)


class _Malformed(Exception):
    """Content that does not fit the model: the message starts with where it is."""


def decode_inventory(body: Mapping[str, Any]) -> Inventory:
    unknown = sorted(set(body) - {spec.name for spec, _ in _fields(Inventory)})
    if unknown:
        raise _Malformed(f"inventory: unknown field(s) {', '.join(unknown)}")
    inventory = Inventory()
    for spec, hint in _fields(Inventory):
        if spec.name in _INVENTORY_SKIPPED or spec.name not in body:
            continue
        value = _decode(hint, body[spec.name], f"inventory.{spec.name}")
        if spec.name in _BUCKETS:
            if not isinstance(value, list):  # _decode lets a scalar through where the model has a list
                raise _Malformed(f"inventory.{spec.name}: a list expected")
            bucket = getattr(inventory, spec.name)
            for obj in value:
                inventory.add(bucket, obj)
        else:
            setattr(inventory, spec.name, value)
    return inventory


def _decode(hint: Any, data: Any, where: str) -> Any:
    if hint is Any:
        return _decode_any(data, where)
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        members = get_args(hint)
        if data is None:
            if _NONE_TYPE in members:
                return None
            raise _Malformed(f"{where}: null is not allowed here")
        tagged = _decode_tagged(data, where)
        if tagged is not None:
            if isinstance(tagged, RedactedSecret) or type(tagged) in members:
                return tagged
            raise _Malformed(f"{where}: {next(iter(data))} is not allowed here")
        return _decode(_other_member(hint, where), data, where)
    if dataclasses.is_dataclass(hint):
        return _decode_object(hint, data, where)  # type: ignore[arg-type]  # a dataclass type, checked above
    if origin in (list, tuple, set, frozenset):
        if not isinstance(data, list):
            return _scalar(data, where, "a list")
        args = get_args(hint)
        items = [_decode(args[0], element, f"{where}[{index}]") for index, element in enumerate(data)]
        return items if origin is list else origin(items)
    if origin in (dict, Mapping, MutableMapping):
        if not isinstance(data, dict):
            return _scalar(data, where, "an object")
        item = get_args(hint)[1]
        return {key: _decode(item, element, f"{where}.{key}") for key, element in data.items()}
    tagged = _decode_tagged(data, where)
    if tagged is not None:
        return tagged
    return _scalar(data, where, getattr(hint, "__name__", str(hint)))


def _scalar(data: Any, where: str, expected: str) -> Any:
    """A JSON scalar where the model expects one (the scalar types are not checked: they round-trip as written)."""
    if data is None or isinstance(data, (str, bool, int, float)):
        return data
    raise _Malformed(f"{where}: {expected} expected")


def _decode_object(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise _Malformed(f"{where}: an object expected")
    fields = _fields(cls)
    names = {spec.name for spec, _ in fields}
    unknown = sorted(set(data) - names)
    if unknown:
        raise _Malformed(f"{where}: unknown field(s) {', '.join(unknown)} for {cls.__name__}")
    kwargs: dict[str, Any] = {}
    for spec, hint in fields:
        if spec.name not in data:
            if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                raise _Malformed(f"{where}: {cls.__name__} needs {spec.name}")
            continue
        if cls is EnvVar and spec.name == "value" and _tag(data["value"]) == "$secret":
            secret = _decode_tagged(data["value"], f"{where}.value")
            kwargs["value"], kwargs["secret"] = REDACTED, secret
            continue
        kwargs[spec.name] = _decode(hint, data[spec.name], f"{where}.{spec.name}")
    return cls(**kwargs)


def _tag(data: Any) -> str | None:
    if isinstance(data, dict) and data:
        first = next(iter(data))
        if first in ("$ref", "$unresolved", "$secret", "$tuple", "$dict", "$location"):
            return str(first)
    return None


def _decode_tagged(data: Any, where: str) -> ResourceRef | Unresolved | RedactedSecret | None:
    tag = _tag(data)
    if tag == "$ref":
        key, attribute = data.get("$ref"), data.get("attribute")
        if set(data) - {"$ref", "attribute"} or not isinstance(key, str) or not (
                attribute is None or isinstance(attribute, str)):
            raise _Malformed(f"{where}: a reference is {{\"$ref\": key, \"attribute\": name or null}}")
        return ResourceRef(key, attribute)
    if tag == "$unresolved":
        expression, reason = data.get("$unresolved"), data.get("reason", "")
        if set(data) - {"$unresolved", "reason"} or not isinstance(expression, str) or not isinstance(reason, str):
            raise _Malformed(f"{where}: an unresolved value is {{\"$unresolved\": expression, \"reason\": text}}")
        return Unresolved(expression, reason)
    if tag == "$secret":
        body = data.get("$secret")
        if (len(data) != 1 or not isinstance(body, dict) or set(body) != {"kind", "preview", "confidence"}
                or not all(isinstance(v, str) for v in body.values())
                or body["confidence"] not in ("high", "medium", "low")):
            raise _Malformed(f"{where}: a redacted secret is "
                             "{\"$secret\": {\"kind\", \"preview\", \"confidence\"}}")
        return RedactedSecret(body["kind"], body["preview"], body["confidence"])
    return None


def _decode_any(data: Any, where: str) -> Any:
    if isinstance(data, list):
        return [_decode_any(item, f"{where}[{index}]") for index, item in enumerate(data)]
    if not isinstance(data, dict):
        return data
    tag = _tag(data)
    if tag in ("$ref", "$unresolved", "$secret"):
        return _decode_tagged(data, where)
    if tag in ("$tuple", "$dict", "$location"):
        if len(data) != 1:
            raise _Malformed(f"{where}: {tag} takes no other key")
        body = data[tag]
        if tag == "$location":
            return _decode_object(Location, body, where)
        if not isinstance(body, list):
            raise _Malformed(f"{where}: {tag} holds a list")
        if tag == "$tuple":
            return tuple(_decode_any(item, where) for item in body)
        if not all(isinstance(pair, list) and len(pair) == 2 for pair in body):
            raise _Malformed(f"{where}: $dict holds [key, value] pairs")
        return {_decode_any(key, where): _decode_any(value, f"{where}.{key}") for key, value in body}
    return {key: _decode_any(value, f"{where}.{key}") for key, value in data.items()}


# ---------------------------------------------------------------- type hints
_HINTS: dict[type, list[tuple[dataclasses.Field[Any], Any]]] = {}


def _fields(cls: type) -> list[tuple[dataclasses.Field[Any], Any]]:
    """The dataclass fields of ``cls`` with their evaluated type hints (cached)."""
    found = _HINTS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = _HINTS[cls] = [(spec, hints[spec.name]) for spec in dataclasses.fields(cls)]
    return found


def _other_member(hint: Any, where: str) -> Any:
    """The one member of a union that is not None, ResourceRef or Unresolved (the model has no other kind)."""
    others = [m for m in get_args(hint) if m not in (_NONE_TYPE, ResourceRef, Unresolved)]
    if len(others) != 1:
        raise _Malformed(f"{where}: the model's type {hint} cannot be told apart in a snapshot")
    return others[0]


# ---------------------------------------------------------------- scanning a snapshot
def _gunzip(packed: bytes, name: str, limit: int = MAX_SNAPSHOT_BYTES) -> bytes:
    """Decompressed in bounded steps: a gzip bomb named like a snapshot is refused, not inflated into memory."""
    out = bytearray()
    try:
        source = io.BytesIO(packed)
        with gzip.GzipFile(fileobj=source) as unpacked:
            while chunk := unpacked.read(1 << 20):
                out += chunk
                if len(out) > limit:
                    raise SnapshotError(f"{name}: decompresses to more than {limit >> 20} MiB (a gzip bomb?)")
                if len(out) > _BOMB_FLOOR and len(out) > _BOMB_RATIO * source.tell():
                    raise SnapshotError(f"{name}: decompresses to more than {_BOMB_RATIO} times its size "
                                        "(a gzip bomb?)")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise SnapshotError(f"{name}: not a valid gzip file: {exc}") from None
    return bytes(out)


def is_snapshot(path: Path) -> bool:
    """True when the file is a snapshot by its content (gzip or not): its JSON names the snapshot format."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
            if head.startswith(_GZIP_MAGIC):
                handle.seek(0)
                with gzip.GzipFile(fileobj=handle) as unpacked:
                    head = unpacked.read(_SNIFF_BYTES)
    except (OSError, EOFError):
        return False
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") and _MARKER.search(head) is not None


def collect_snapshot(path: Path, root: Path) -> Inventory:
    """The inventory of a snapshot given to ``lambdasec scan``; a file that cannot be read is a coverage gap."""
    shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()
    try:
        return read_snapshot(path)
    except SnapshotError as exc:
        message = str(exc)
        message = message[len(str(path)) + 2:] if message.startswith(f"{path}: ") else message
        return Inventory(coverage_gaps=[CoverageGap("parse-error", f"snapshot not read: {message}",
                                                    Location(shown))])


# ---------------------------------------------------------------- merging shards
def merge_snapshots(paths: Iterable[str | Path]) -> tuple[Inventory, dict[str, Any]]:
    """One inventory from several snapshots (the shards of a scan split by account or region) and its meta.

    Buckets, scopes, gaps, own accounts and aliases are united. An object met twice (shards that overlap) is kept
    once: silently when both copies are identical, else the first is kept and a coverage gap names both files.
    IAM, read once per account, is complete in every scope of an account when it is in one of them.
    Raises :class:`SnapshotError` when a file cannot be read.
    """
    merged = Inventory()
    sources: list[dict[str, Any]] = []
    accounts: set[str] = set()
    regions: set[str] = set()
    origin: dict[tuple[str, str], str] = {}  # (bucket, key) -> the file it came from
    seen: dict[tuple[str, str], Any] = {}
    gaps: list[CoverageGap] = []

    def conflict(kind: str, key: str, first: str, name: str) -> None:
        gaps.append(CoverageGap("snapshot-conflict", f"{kind} {key} differs between {first} and {name}: "
                                f"the copy of {first} is kept", Location(name)))

    for path in paths:
        name = str(path)
        snapshot = load_snapshot(path)
        inventory = snapshot.inventory
        sources.append({"path": name, "created": snapshot.created, "tool_version": snapshot.tool_version,
                        "meta": snapshot.meta})
        for key in ("accounts", "regions"):
            listed = snapshot.meta.get(key)
            if isinstance(listed, list):
                (accounts if key == "accounts" else regions).update(str(item) for item in listed)
        for bucket in _BUCKETS:
            for obj in getattr(inventory, bucket):
                mark = (bucket, obj.key)
                if mark in seen:
                    if seen[mark] != obj:
                        conflict(type(obj).__name__, obj.key, origin[mark], name)
                    continue
                seen[mark], origin[mark] = obj, name
                merged.add(getattr(merged, bucket), obj)
        for scope in inventory.scopes:
            mark = ("scope", f"{scope.account}/{scope.region}")
            if mark in seen:
                if seen[mark] != scope:
                    conflict("scope", mark[1], origin[mark], name)
                continue
            seen[mark], origin[mark] = scope, name
            merged.scopes.append(scope)
        for alias, target in inventory.aliases.items():
            mark = ("alias", alias)
            if mark in seen:
                if seen[mark] != target:
                    conflict("alias", alias, origin[mark], name)
                continue
            seen[mark], origin[mark] = target, name
            merged.aliases[alias] = target
        merged.coverage_gaps.extend(gap for gap in inventory.coverage_gaps if gap not in merged.coverage_gaps)
        merged.own_accounts |= inventory.own_accounts
    merged.coverage_gaps.extend(gaps)
    merged.scopes = _account_wide(merged.scopes)
    meta: dict[str, Any] = {"accounts": sorted(accounts), "regions": sorted(regions), "merged_from": sources}
    return merged, meta


def _account_wide(scopes: list[ScannedScope]) -> list[ScannedScope]:
    """IAM is global: a split scan reads it once per account, in the shard owning the account's first region, and
    the other shards cannot list it. Read completely for one region of an account, it is for all of them."""
    complete = {scope.account for scope in scopes if _GLOBAL_SERVICE in scope.complete}
    return [ScannedScope(scope.account, scope.region, sorted({*scope.complete, _GLOBAL_SERVICE}))
            if scope.account in complete and _GLOBAL_SERVICE not in scope.complete else scope for scope in scopes]


# ---------------------------------------------------------------- documentation
_TAGGED: Final = (ResourceRef, Unresolved, RedactedSecret)


def field_reference() -> str:
    """The Markdown tables of docs/snapshot.md describing every object of a snapshot, generated from the model (a
    test checks the committed page holds exactly this text)."""
    classes: list[type] = []

    def visit(hint: Any) -> None:
        new = hint not in classes and hint is not Inventory and hint not in _TAGGED
        if isinstance(hint, type) and dataclasses.is_dataclass(hint) and new:
            classes.append(hint)
            for _, inner in _fields(hint):
                visit(inner)
        for arg in get_args(hint):
            visit(arg)

    for spec, hint in _fields(Inventory):
        if spec.name not in _INVENTORY_SKIPPED:
            visit(hint)
    common = {spec.name for spec, _ in _fields(Resource)}
    lines: list[str] = []
    for cls in [Resource, *classes]:
        inherits = cls is not Resource and issubclass(cls, Resource)
        lines += [f"### {cls.__name__}", ""]
        if inherits:
            lines += ["The fields of Resource, and:", ""]
        lines += ["| field | type | default |", "|---|---|---|"]
        for spec, hint in _fields(cls):
            if (cls is EnvVar and spec.name == "secret") or (inherits and spec.name in common):
                continue  # never written: a redacted value is the `$secret` of `value`
            shown = _shown_type(hint) + (" or `$secret`" if cls is EnvVar and spec.name == "value" else "")
            lines.append(f"| `{spec.name}` | {shown} | {_shown_default(spec, hint)} |")
        lines.append("")
    return "\n".join(lines)


def _shown_type(hint: Any) -> str:
    if hint is Any:
        return "any JSON (tagged values allowed)"
    if hint in _TAGGED:
        return {ResourceRef: "`$ref`", Unresolved: "`$unresolved`", RedactedSecret: "`$secret`"}[hint]
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        members = get_args(hint)
        shown = [_shown_type(member) for member in members if member is not _NONE_TYPE]
        return " or ".join(shown) + (" or null" if _NONE_TYPE in members else "")
    if origin in (list, tuple, set, frozenset):
        return f"list of {_shown_type(get_args(hint)[0])}"
    if origin in (dict, Mapping, MutableMapping):
        return f"object of {_shown_type(get_args(hint)[1])}"
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return f"{hint.__name__} object"
    return {str: "string", int: "integer", bool: "boolean", float: "number"}.get(hint, str(hint))


def _shown_default(spec: dataclasses.Field[Any], hint: Any) -> str:
    if spec.default is not dataclasses.MISSING:
        default = spec.default
    elif spec.default_factory is not dataclasses.MISSING:
        default = spec.default_factory()
    else:
        return "required"
    return f"`{json.dumps(_encode(hint, default, spec.name), separators=(', ', ': '))}`"
