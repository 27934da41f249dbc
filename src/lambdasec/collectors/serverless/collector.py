"""Serverless Framework configurations (serverless.yml / .yaml / .json) -> inventory.

The file is read with the CloudFormation loader (safe YAML, line numbers, alias-bomb limits), its
variables are resolved as far as the files alone allow (``variables.py``), and it is compiled into the
CloudFormation resources the Framework deploys (``compiler.py``, ``events.py``), merged with the
``resources`` section the way the Framework merges it (a resource of the same logical id overrides the
generated one, ``extensions`` add properties, its ``Parameters`` take the values of
``provider.stackParameters``). The CloudFormation collector then reads the result, so
every inventory object has exactly the CloudFormation semantics; generated objects get their
serverless identity (function key, ``IamRoleLambdaExecution``, layer key) and their lines in the
serverless file. Suppressions are ``# lambdasec: ignore[ID] reason`` comments on or above a function
key (they cover everything generated for the function), the ``iam`` settings or a layer key.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from lambdasec.fast_dataclass import dataclass, field

from ...model.inventory import ApiRoute, CoverageGap, EventSource, Inventory, Parameter
from ...model.location import Location
from ...model.values import Unresolved
from ..cloudformation.collector import TemplateCollector
from ..cloudformation.intrinsics import Resolver
from ..cloudformation.loader import LineDict, LineList, TemplateError, load_template_text
from ..cloudformation.suppressions import comment_suppressions
from ..options import CollectOptions
from .compiler import ROLES_PER_FUNCTION_PLUGIN, Compiled, Compiler, Config, Origin, is_intrinsic, settings
from .variables import VariableLimit, Variables

_log = logging.getLogger(__name__)

CONFIG_NAMES = ("serverless.yml", "serverless.yaml", "serverless.json")
CODE_NAMES = ("serverless.ts", "serverless.js", "serverless.mjs", "serverless.cjs")


def _named(name: str, names: tuple[str, ...]) -> bool:
    """``serverless.yml`` itself or ``<anything>.serverless.yml`` (rule fixtures are named that way)."""
    return name in names or name.endswith(tuple("." + known for known in names))


def is_serverless_file(path: Path) -> bool:
    """Cheap name check for discovery: a configuration this collector reads, or one written in code."""
    name = path.name.lower()
    return _named(name, CONFIG_NAMES) or _named(name, CODE_NAMES)


def collect_file(path: Path, root: Path, options: CollectOptions) -> Inventory | None:
    """Inventory of one Serverless Framework configuration, or None when the file is not one."""
    name = path.name.lower()
    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()
    where = Location(rel)
    inventory = Inventory()
    if _named(name, CODE_NAMES):
        return _gap(inventory, "unsupported", f"{path.name} is code, which lambdasec never runs: scan the "
                    "output of `serverless print` instead", where)
    if not _named(name, CONFIG_NAMES):
        return None
    try:
        size = path.stat().st_size
        if size > options.max_template_bytes:
            return _gap(inventory, "too-large",
                        f"configuration is {size} bytes, over the {options.max_template_bytes} byte limit", where)
        text = path.read_bytes().decode("utf-8")
        document = load_template_text(text, is_json=name.endswith(".json"))
    except UnicodeDecodeError:
        return _gap(inventory, "parse-error", "file is not valid UTF-8", where)
    except OSError as exc:
        return _gap(inventory, "read-error", f"cannot read file: {exc.strerror}", where)
    except TemplateError as exc:
        return _gap(inventory, "parse-error", str(exc), where)
    other = _other_cloud(document)
    if other is not None:
        _not_aws(rel, other)
        return None
    problem = _not_serverless(document)
    if problem is not None:
        return _gap(inventory, *problem, where)
    try:
        _read(rel, root, path, text, document, options, inventory)
    except _OtherCloud as exc:
        _not_aws(rel, exc.provider)
        return None
    except VariableLimit as exc:
        return _gap(Inventory(coverage_gaps=inventory.coverage_gaps), "invalid-template", str(exc), where)
    except RecursionError:
        return _gap(Inventory(coverage_gaps=inventory.coverage_gaps), "parse-error",
                    "configuration is nested too deeply", where)
    except Exception as exc:  # a configuration shape we did not foresee must not end the whole scan
        return _gap(Inventory(coverage_gaps=inventory.coverage_gaps), "internal-error",
                    f"could not read configuration: {type(exc).__name__}: {exc}"[:300], where)
    return inventory


class _OtherCloud(Exception):
    def __init__(self, provider: str) -> None:
        super().__init__(provider)
        self.provider = provider


def _not_aws(rel: str, provider: str) -> None:
    """A configuration for another cloud is not Lambda's: skipped like any other unrelated YAML (a monorepo's
    Google or Azure services must not fail every scan), and said at -v."""
    _log.info("%s: provider %s is not AWS, skipped", rel, provider[:100])


def _other_cloud(document: Any) -> str | None:
    """The provider named literally, when it is not AWS (one set through a variable is judged after resolving)."""
    if not isinstance(document, Mapping) or "service" not in document:
        return None
    provider = document.get("provider")
    name = provider.get("name") if isinstance(provider, Mapping) else provider
    if isinstance(name, str) and "${" not in name and name.lower() != "aws":
        return name
    return None


def _gap(inventory: Inventory, kind: str, message: str, where: Location) -> Inventory:
    inventory.coverage_gaps.append(CoverageGap(kind, message, where))
    return inventory


def _not_serverless(document: Any) -> tuple[str, str] | None:
    if not isinstance(document, Mapping):
        return "invalid-template", "not a Serverless Framework configuration: the document is not a mapping"
    if "service" not in document:
        return "invalid-template", "not a Serverless Framework configuration: no 'service' key"
    return None


# ---------------------------------------------------------------- reading
@dataclass
class _UserResources:
    """The ``resources`` section: CloudFormation the Framework merges into what it generates."""

    resources: LineDict = field(default_factory=LineDict)
    parameters: LineDict = field(default_factory=LineDict)  # given values by provider.stackParameters
    extensions: dict[str, Any] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)
    mappings: dict[str, Any] = field(default_factory=dict)


def _read(rel: str, root: Path, path: Path, text: str, document: Mapping[str, Any], options: CollectOptions,
          inventory: Inventory) -> None:
    gaps = inventory.coverage_gaps
    variables = Variables(document, file=rel, directory=path.parent, root=root,
                          max_file_bytes=options.max_template_bytes, gaps=gaps)
    # `provider: aws` (the short form) names the provider and sets nothing else.
    provider = LineDict() if isinstance(document.get("provider"), str) else _section(variables, "provider", gaps, rel)
    if isinstance(provider.get("name"), str) and provider["name"].lower() != "aws":
        raise _OtherCloud(provider["name"])
    user = _user_resources(variables.section("resources"), gaps, rel)
    plugins = document.get("plugins")
    plugins = plugins.get("modules") if isinstance(plugins, Mapping) else plugins
    inherit = settings(variables.section(f"custom.{ROLES_PER_FUNCTION_PLUGIN}")).get("defaultInherit") is True
    config = Config(
        service=variables.section("service"), stage=variables.stage, region=variables.region, provider=provider,
        provider_line=getattr(document, "key_lines", {}).get("provider"),
        functions=_section(variables, "functions", gaps, rel), layers=_section(variables, "layers", gaps, rel),
        package=settings(variables.section("package")),
        plugins=[p for p in plugins if isinstance(p, str)] if isinstance(plugins, list) else [],
        roles_inherit_default=inherit,
    )
    compiled = Compiler(rel, path.parent, root, config, user.resources, gaps).compile()
    template = _template(rel, compiled, user, gaps)
    _ServerlessCollector(rel, root, path, text, template, options, inventory, compiled,
                         _stack_parameters(provider.get("stackParameters"))).collect()


def _stack_parameters(value: Any) -> dict[str, Any]:
    """``provider.stackParameters``: the values the Framework passes to the stack's parameters at deploy time."""
    given: dict[str, Any] = {}
    for item in value if isinstance(value, list) else []:
        entry = settings(item)
        if isinstance(entry.get("ParameterKey"), str) and "ParameterValue" in entry:
            given[entry["ParameterKey"]] = entry["ParameterValue"]
    return given


def _section(variables: Variables, name: str, gaps: list[CoverageGap], rel: str) -> LineDict:
    """A mapping section; the Framework also accepts a list of mappings (often ``${file(...)}``), merged."""
    value = variables.section(name)
    parts = value if isinstance(value, list) else [] if value is None else [value]
    merged = LineDict()
    for part in parts:
        if isinstance(part, Mapping) and not is_intrinsic(part):
            merged.update(part)
            merged.key_lines.update(getattr(part, "key_lines", {}))
    if any(not isinstance(part, Mapping) or is_intrinsic(part) for part in parts):
        gaps.append(CoverageGap("unresolved", f"{name} section is not known statically", Location(rel)))
    return merged


def _user_resources(value: Any, gaps: list[CoverageGap], rel: str) -> _UserResources:
    user = _UserResources()
    for part in value if isinstance(value, list) else [] if value is None else [value]:
        if not isinstance(part, Mapping):
            gaps.append(CoverageGap("unresolved", "resources section is not known statically", Location(rel)))
            continue
        for name, merged in (("Resources", user.resources), ("Parameters", user.parameters)):
            section = part.get(name)
            if isinstance(section, Mapping):
                merged.update(section)
                merged.key_lines.update(getattr(section, "key_lines", {}))
        user.extensions.update(settings(part.get("extensions")))
        user.conditions.update(settings(part.get("Conditions")))
        user.mappings.update(settings(part.get("Mappings")))
    return user


def _template(rel: str, compiled: Compiled, user: _UserResources, gaps: list[CoverageGap]) -> dict[str, Any]:
    """What CloudFormation receives: generated resources, overridden or extended by the resources section."""
    merged = LineDict()
    merged.update(compiled.resources)
    for logical_id, resource in user.resources.items():
        origin = compiled.origins.get(logical_id)
        if isinstance(resource, Unresolved):  # e.g. `${file(./missing.yml)}`, already reported as a variable
            gaps.append(CoverageGap("unresolved", f"resource {logical_id} is not known statically ({resource.reason})",
                                    Location(rel, user.resources.key_lines.get(logical_id))))
            continue
        if origin is not None and logical_id in compiled.resources:
            merged[logical_id] = _overridden(merged[logical_id], resource)
            _relocate(rel, origin, resource, ("resources", "Resources", logical_id))
        else:
            merged[logical_id] = resource
        if logical_id in user.resources.key_lines:
            merged.key_lines[logical_id] = user.resources.key_lines[logical_id]
    for logical_id, extension in user.extensions.items():
        origin = compiled.origins.get(logical_id)
        if origin is None or logical_id not in compiled.resources or not isinstance(extension, Mapping):
            gaps.append(CoverageGap("invalid-template", f"extensions.{logical_id} extends no generated resource",
                                    Location(rel)))
            continue
        merged[logical_id] = _extended(merged[logical_id], extension)
        _relocate(rel, origin, extension, ("resources", "extensions", logical_id))
    return {"Resources": merged, "Parameters": user.parameters, "Conditions": user.conditions,
            "Mappings": user.mappings}


def _overridden(base: Any, extra: Any) -> Any:
    """The Framework's deep merge of a resource of the resources section over a generated one."""
    if isinstance(base, Mapping) and isinstance(extra, Mapping) and not is_intrinsic(base) and not is_intrinsic(
            extra):
        out = dict(base)
        for key, value in extra.items():
            out[key] = _overridden(base[key], value) if key in base else value
        return out
    if isinstance(base, list) and isinstance(extra, list):
        shared = [_overridden(b, e) for b, e in zip(base, extra, strict=False)]  # lists merge item by item
        return [*shared, *extra[len(base):], *base[len(extra):]]
    return extra


def _extended(base: Mapping[str, Any], extension: Mapping[str, Any]) -> dict[str, Any]:
    """``extensions``: properties and metadata merged one level deep, DependsOn appended, the rest replaced."""
    out = dict(base)
    for key, value in extension.items():
        if key in ("Properties", "Metadata") and isinstance(value, Mapping):
            out[key] = {**settings(base.get(key)), **value}
        elif key == "DependsOn":
            existing = base.get(key) or []
            out[key] = [*(existing if isinstance(existing, list) else [existing]),
                        *(value if isinstance(value, list) else [value])]
        else:
            out[key] = value
    return out


def _relocate(rel: str, origin: Origin, resource: Any, path: tuple[str, ...]) -> None:
    """Properties set in the resources section point at their own lines there."""
    properties = resource.get("Properties") if isinstance(resource, Mapping) else None
    for dotted, line in _property_lines(properties, ()):
        origin.properties[".".join(dotted)] = Location(rel, line, None, (*path, "Properties", *dotted))


def _property_lines(node: Any, prefix: tuple[str, ...], depth: int = 0) -> Iterator[tuple[tuple[str, ...], int]]:
    if depth > 8 or is_intrinsic(node):
        return
    if isinstance(node, LineDict):
        for key, value in node.items():
            if key in node.key_lines:
                yield (*prefix, str(key)), node.key_lines[key]
            yield from _property_lines(value, (*prefix, str(key)), depth + 1)
    elif isinstance(node, LineList):
        for index, value in enumerate(node):
            line = node.item_lines[index] if index < len(node.item_lines) else None
            if line is not None:
                yield (*prefix, str(index)), line
            yield from _property_lines(value, (*prefix, str(index)), depth + 1)


# ---------------------------------------------------------------- the CloudFormation collector, serverless ids
class _Elements:
    """Where the serverless elements (functions, shared role, layers) are written, for suppression comments."""

    def __init__(self, file: str, lines: Mapping[str, int]) -> None:
        self.file = file
        self.resources = lines

    def resource(self, logical_id: str) -> Location:
        return Location(self.file, self.resources.get(logical_id) or None)


class _ServerlessResolver(Resolver):
    """References to generated resources (``!GetAtt HelloLambdaFunction.Arn``) link to their serverless keys."""

    def __init__(self, origins: Mapping[str, Origin], *args: Any) -> None:
        super().__init__(*args)
        self.origins = origins

    def key(self, logical_id: str) -> str:
        origin = self.origins.get(logical_id)
        return origin.key if origin is not None else super().key(logical_id)


class _ServerlessCollector(TemplateCollector):
    def __init__(self, rel: str, root: Path, path: Path, text: str, template: Mapping[str, Any],
                 options: CollectOptions, inventory: Inventory, compiled: Compiled,
                 stack_parameters: Mapping[str, Any]) -> None:
        super().__init__(rel, root, path, text, template, options, inventory)
        self.compiled = compiled
        self.local_code.update(compiled.local_code)
        # Values configured for the scan win over stackParameters, as they do over template defaults.
        self.resolver = _ServerlessResolver(
            compiled.origins, rel, self.resources, self.raw_parameters, settings(template.get("Mappings")),
            settings(template.get("Conditions")), {**stack_parameters, **options.parameter_values})
        self.element_suppressions = comment_suppressions(text, _Elements(rel, compiled.elements),
                                                         inventory.coverage_gaps)

    def key(self, logical_id: str) -> str:
        origin = self.compiled.origins.get(logical_id)
        return origin.key if origin is not None else super().key(logical_id)

    def _parameter(self, name: str, declaration: Any) -> Parameter:
        parameter = super()._parameter(name, declaration)
        parameter.location = Location(self.rel, parameter.location.line, None, ("resources", "Parameters", name))
        return parameter

    def base(self, logical_id: str, properties: Mapping[str, Any]) -> dict[str, Any]:
        origin = self.compiled.origins.get(logical_id)
        if origin is None:
            return super().base(logical_id, properties)
        suppressions = dict(self.element_suppressions.get(origin.source, {}))
        suppressions.update(self.suppressions.get(logical_id, {}))  # comments on an override in resources
        return {"key": origin.key, "id": origin.id, "type": origin.type, "location": origin.location,
                "property_locations": dict(origin.properties), "suppressions": suppressions}

    def collect(self) -> None:
        super().collect()
        for spec in self.compiled.routes:
            route = ApiRoute(**self.base(spec.logical_id, {}))
            route.api, route.method, route.path = spec.api, spec.method, spec.path
            route.function, route.authorization = spec.function, spec.authorization
            route.api_key_required = spec.api_key_required
            self.inventory.add(self.inventory.api_routes, route)
        for logical_id, function in self.compiled.direct_sources:
            source = EventSource(**self.base(logical_id, {}))
            source.function, source.kind, source.invocation = function, "events", "async"
            self.inventory.add(self.inventory.event_sources, source)
