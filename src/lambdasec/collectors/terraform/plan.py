"""Terraform plans (`terraform show -json <planfile>`) -> Terraform blocks -> inventory.

A plan holds the evaluated attributes of every resource instance (`planned_values`), what is only known
after apply (`resource_changes[].change.after_unknown`), and the configuration's expressions
(`configuration`), which say what each unknown value refers to. So:

* a value known at plan time is used as is (sensitive ones too: rules redact what they print);
* an unknown value whose expression references another resource (`role = aws_iam_role.fn.arn`) becomes a
  ResourceRef to that resource, so links survive (a function's role is followed to its role object);
* an unknown value the configuration does not set at all is a provider-computed default (`arn`, or
  `tracing_config` when no block is written): it is dropped, as if absent, which is what it is in the
  configuration;
* any other unknown value is Unresolved.

The AWS provider marks a whole map or list unknown as soon as one element is: `[aws_subnet.a.id,
aws_subnet.b.id]` becomes a list of links (references come in source order), but the known variables of an
`environment` map holding one unknown value are not in the plan at all (a coverage gap says so).

Locations: a plan has no line numbers of the configuration. Findings point into the plan file itself: the
line of the resource's `"address"` in `planned_values` (or `prior_state` for data sources), and for an
attribute the line of its key inside that resource's values. `terraform show -json` writes everything on one
line (then the column tells the place); pretty-printed plans (`jq .`) get useful lines.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from lambdasec.fast_dataclass import dataclass, field

from ...model.inventory import CoverageGap, Inventory, Parameter
from ...model.location import Location
from ...model.values import ResourceRef, Unresolved
from ..options import CollectOptions
from .blocks import TfBlock
from .mapper import build_inventory

_SNIFF_BYTES = 16384
_PLAN_KEYS = ("planned_values", "resource_changes", "configuration")
_MODULE_SEGMENT = re.compile(r'module\.[A-Za-z0-9_-]+(?:\[(?:"(?:[^"\\]|\\.)*"|\d+)\])?')
_INDEX = re.compile(r'^(?P<base>[^\[]*)(?:\[(?P<index>.*)\])?$')
_ADDRESS = re.compile(r'"address"\s*:\s*("(?:[^"\\]|\\.)*")')
_NOT_RESOURCES = frozenset({"local", "each", "count", "path", "terraform", "self"})
_MAX_DEPTH = 12


class _Drop:
    """An unknown attribute the configuration does not set: a provider default, treated as absent."""


_DROP = _Drop()


def looks_like_plan(head: str) -> bool:
    return head.lstrip().startswith("{") and '"format_version"' in head


def is_plan(document: Any) -> bool:
    return isinstance(document, dict) and "format_version" in document and any(k in document for k in _PLAN_KEYS)


def collect_file(path: Path, root: Path, options: CollectOptions) -> Inventory | None:
    """Inventory of one plan JSON file, or None when the file is not a Terraform plan."""
    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()
    inventory = Inventory()
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES).decode("utf-8", "replace")
        if not looks_like_plan(head):
            return None
        size = path.stat().st_size
        if size > options.max_template_bytes:
            return _gap(inventory, "too-large",
                        f"plan is {size} bytes, over the {options.max_template_bytes} byte limit", Location(rel))
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return _gap(inventory, "parse-error", "file is not valid UTF-8", Location(rel))
    except OSError:
        return None  # not readable, so not known to be a plan: other collectors report it
    try:
        document = json.loads(text)
    except RecursionError:
        return _gap(inventory, "parse-error", "plan is nested too deeply", Location(rel))
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        return _gap(inventory, "parse-error", f"invalid JSON: {getattr(exc, 'msg', 'cannot parse')}",
                    Location(rel, line))
    if not is_plan(document):
        return None
    try:
        _collect_plan(rel, text, document, inventory)
    except RecursionError:
        return _gap(Inventory(), "parse-error", "plan is nested too deeply", Location(rel))
    except Exception as exc:  # a plan shape we did not foresee must not end the whole scan
        # The exception's text is left out: it may quote a value of the plan, and plans hold secrets.
        return _gap(Inventory(), "internal-error", f"could not read plan: {type(exc).__name__}", Location(rel))
    return inventory


def _gap(inventory: Inventory, kind: str, message: str, where: Location) -> Inventory:
    inventory.coverage_gaps.append(CoverageGap(kind, message, where))
    return inventory


def _collect_plan(rel: str, text: str, document: dict[str, Any], inventory: Inventory) -> None:
    index = _TextIndex(text)
    version = str(document.get("format_version"))
    where = Location(rel, *index.position(index.section("format_version")))
    if version.split(".", 1)[0] != "1":
        inventory.coverage_gaps.append(CoverageGap("unsupported", f"unsupported plan format version {version[:20]}",
                                                   where))
        return
    if document.get("errored") is True:
        inventory.coverage_gaps.append(CoverageGap(
            "invalid-template", "Terraform reported errors while planning: the plan may be incomplete", where))
    elif document.get("complete") is False:
        inventory.coverage_gaps.append(CoverageGap(
            "unresolved", "the plan is incomplete (deferred changes): some resources may be missing", where))
    for section, kind in _SECTIONS.items():
        if section in document and not isinstance(document[section], kind):
            inventory.coverage_gaps.append(CoverageGap(
                "parse-error", f"the plan's {section} is not {_KIND_NAMES[kind]}: not read",
                Location(rel, *index.position(index.section(section)))))
    reader = _PlanReader(rel, index, document)
    blocks = reader.blocks()
    if reader.malformed:
        inventory.coverage_gaps.append(CoverageGap(
            "parse-error", f"{reader.malformed} resource entr{'y' if reader.malformed == 1 else 'ies'} of the plan "
            "without an address, type and name (or not an object): skipped", where))
    build_inventory(blocks, inventory, parameters=reader.parameter_links())


# The plan's sections and the JSON type each must have: another type is a plan this reader does not understand.
_SECTIONS: Final = {"planned_values": dict, "resource_changes": list, "prior_state": dict, "configuration": dict}
_KIND_NAMES: Final = {dict: "an object", list: "a list"}


# ---------------------------------------------------------------- text positions
class _TextIndex:
    """Offsets -> (line, column), and searches for keys in the raw JSON text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.newlines = [m.start() for m in re.finditer("\n", text)]
        self._patterns: dict[str, re.Pattern[str]] = {}
        self._address_offsets: dict[str, list[int]] | None = None

    def position(self, offset: int | None) -> tuple[int | None, int | None]:
        if offset is None:
            return None, None
        line = bisect.bisect_left(self.newlines, offset)
        start = self.newlines[line - 1] + 1 if line else 0
        return line + 1, offset - start + 1

    def key(self, name: str, start: int, end: int | None = None) -> int | None:
        """Offset of the object key `"name":` (never of a string value, nor of text inside a JSON string)."""
        pattern = self._patterns.get(name)
        if pattern is None:
            pattern = re.compile(r'(?<!\\)' + re.escape(json.dumps(name)) + r'\s*:')
            self._patterns[name] = pattern
        match = pattern.search(self.text, start, len(self.text) if end is None else end)
        return match.start() if match else None

    def section(self, name: str) -> int:
        found = self.key(name, 0)
        return found if found is not None else 0

    def address(self, address: str, start: int) -> int | None:
        """Offset of the first `"address": address` at or after ``start``, else of the first one at all."""
        offsets = self._addresses().get(address)
        if not offsets:
            return None
        after = bisect.bisect_left(offsets, start)
        return offsets[after] if after < len(offsets) else offsets[0]

    def _addresses(self) -> dict[str, list[int]]:
        """Every address key's offsets, found in one pass: a search per resource made large plans quadratic."""
        if self._address_offsets is None:
            self._address_offsets = {}
            for match in _ADDRESS.finditer(self.text):
                try:
                    name = json.loads(match.group(1))
                except ValueError:
                    continue
                if isinstance(name, str):
                    self._address_offsets.setdefault(name, []).append(match.start())
        return self._address_offsets

    def next_address(self, offset: int) -> int:
        found = self.key("address", offset + 1)
        return found if found is not None else len(self.text)


# ---------------------------------------------------------------- resource instances
@dataclass
class _Instance:
    address: str
    module: tuple[str, ...]  # module path segments: ("module.app", "module.fn[0]")
    mode: str
    type: str
    name: str
    index: Any
    values: dict[str, Any]
    section: str  # where its values are written: "planned_values" | "prior_state" | "resource_changes"
    unknown: Any = field(default_factory=dict)

    @property
    def module_names(self) -> tuple[str, ...]:
        return tuple(_split_index(segment.split(".", 1)[1])[0] for segment in self.module)


def _split_index(segment: str) -> tuple[str, str | None]:
    """`name["k"]` -> ("name", '"k"'); `name` -> ("name", None)."""
    match = _INDEX.match(segment)
    if match is None:
        return segment, None
    return match.group("base"), match.group("index")


def _index_text(index: Any) -> str:
    if index is None:
        return ""
    return f"[{index}]" if isinstance(index, int) and not isinstance(index, bool) else f"[{json.dumps(index)}]"


def _module_of(address: str, own: str) -> tuple[str, ...]:
    prefix = address[: -len(own)].rstrip(".") if address.endswith(own) else ""
    return tuple(_MODULE_SEGMENT.findall(prefix))


def _segments(reference: str) -> list[str]:
    """Split a reference on dots outside brackets: `aws_x.y["a.b"].arn` -> [aws_x, y["a.b"], arn]."""
    out: list[str] = []
    current: list[str] = []
    depth, quoted = 0, False
    for position, char in enumerate(reference):
        if char == '"' and (position == 0 or reference[position - 1] != "\\"):
            quoted = not quoted
        elif not quoted and char == "[":
            depth += 1
        elif not quoted and char == "]":
            depth -= 1
        elif char == "." and depth == 0 and not quoted:
            out.append("".join(current))
            current = []
            continue
        current.append(char)
    out.append("".join(current))
    return out


class _PlanReader:
    def __init__(self, rel: str, index: _TextIndex, document: Mapping[str, Any]) -> None:
        self.rel = rel
        self.index = index
        self.document = document
        configuration = document.get("configuration")
        self.has_configuration = isinstance(configuration, Mapping)
        self.configuration: Mapping[str, Any] = configuration if isinstance(configuration, Mapping) else {}
        self.instances: dict[str, _Instance] = {}
        self.by_base: dict[str, list[str]] = {}  # `aws_x.y` -> addresses of its instances `aws_x.y[0]`...
        self.malformed = 0  # resource entries that are not objects with an address, a type and a name
        self._gather()

    # ------------------------------------------------------------ gathering
    def _gather(self) -> None:
        listed = _list(self.document.get("resource_changes"))
        changes = {c["address"]: c for c in listed
                   if isinstance(c, Mapping) and isinstance(c.get("address"), str) and not c.get("deposed")}
        self.malformed += sum(1 for c in listed if not (isinstance(c, Mapping) and isinstance(c.get("address"), str)))
        planned = _mapping(self.document.get("planned_values"))
        for resource in self._walk(_mapping(planned.get("root_module"))):
            address = resource.get("address")
            change = _mapping(changes.get(address) if isinstance(address, str) else None)
            self._add(resource, _mapping(resource.get("values")), "planned_values",
                      _mapping(change.get("change")).get("after_unknown", {}))
        prior = _mapping(_mapping(self.document.get("prior_state")).get("values"))
        for resource in self._walk(_mapping(prior.get("root_module"))):
            if resource.get("mode") == "data":
                self._add(resource, _mapping(resource.get("values")), "prior_state", {})
        for address, entry in changes.items():
            change = _mapping(entry.get("change"))
            actions = _list(change.get("actions"))
            # Data sources read at apply time, or every resource when the plan has no planned_values.
            wanted = entry.get("mode") == "data" or not planned
            if (wanted and isinstance(change.get("after"), Mapping) and "delete" not in actions
                    and address not in self.instances):
                self._add(entry, change["after"], "resource_changes", change.get("after_unknown", {}))

    def _walk(self, module: Mapping[str, Any], depth: int = 0) -> Iterator[Mapping[str, Any]]:
        if depth > _MAX_DEPTH:
            return
        for resource in _list(module.get("resources")):
            if isinstance(resource, Mapping):
                yield resource
            else:
                self.malformed += 1
        for child in _list(module.get("child_modules")):
            if isinstance(child, Mapping):
                yield from self._walk(child, depth + 1)

    def _add(self, resource: Mapping[str, Any], values: Mapping[str, Any], section: str, unknown: Any) -> None:
        address, kind, name = resource.get("address"), resource.get("type"), resource.get("name")
        if not (isinstance(address, str) and isinstance(kind, str) and isinstance(name, str)):
            self.malformed += 1
            return
        mode = "data" if resource.get("mode") == "data" else "managed"
        own = f"{'data.' if mode == 'data' else ''}{kind}.{name}{_index_text(resource.get('index'))}"
        if address in self.instances:
            return
        self.instances[address] = _Instance(
            address, _module_of(address, own), mode, kind, name, resource.get("index"), dict(values), section,
            unknown if isinstance(unknown, (dict, list, bool)) else {})
        self.by_base.setdefault(address[: len(address) - len(_index_text(resource.get("index")))], []).append(address)

    # ------------------------------------------------------------ configuration
    def _config_module(self, names: tuple[str, ...]) -> Mapping[str, Any]:
        module = _mapping(self.configuration.get("root_module"))
        for name in names:
            module = _mapping(_mapping(_mapping(module.get("module_calls")).get(name)).get("module"))
        return module

    def _config_resource(self, instance: _Instance) -> Mapping[str, Any] | None:
        for resource in _list(self._config_module(instance.module_names).get("resources")):
            if (isinstance(resource, Mapping) and resource.get("type") == instance.type
                    and resource.get("name") == instance.name
                    and (resource.get("mode") == "data") == (instance.mode == "data")):
                return resource
        return None

    def _expressions(self, instance: _Instance) -> Mapping[str, Any] | None:
        resource = self._config_resource(instance)
        return _mapping(resource.get("expressions")) if resource is not None else None

    # ------------------------------------------------------------ references
    def follow(self, reference: str, instance: _Instance, module: tuple[str, ...], depth: int = 0,
               keyed: bool = False) -> tuple[list[ResourceRef], list[str]]:
        """(resources, root variables) a reference leads to, from a resource of `module`; `keyed` when the
        expression indexes by `each.key`/`count.index` (then `aws_x.y` means the instance with our own key)."""
        parts = _segments(reference)
        if depth > _MAX_DEPTH or len(parts) < 2 or parts[0] in _NOT_RESOURCES:
            return [], []
        if parts[0] == "var":
            return self._follow_variable(_split_index(parts[1])[0], instance, module, depth)
        if parts[0] == "module":
            return self._follow_output(parts, instance, module, depth)
        if parts[0] == "data":
            if len(parts) < 3:
                return [], []
            return self._instances(f"data.{parts[1]}", parts[2], parts[3:], instance, module, keyed), []
        return self._instances(parts[0], parts[1], parts[2:], instance, module, keyed), []

    def _instances(self, kind: str, name_part: str, rest: list[str], instance: _Instance,
                   module: tuple[str, ...], keyed: bool) -> list[ResourceRef]:
        attribute = _split_index(rest[0])[0] if rest else None
        name, index = _split_index(name_part)
        base = ".".join((*module, f"{kind}.{name}"))
        if index is not None:
            found = [base + f"[{index}]"] if base + f"[{index}]" in self.instances else []
        else:
            found = list(self.by_base.get(base, []))
            same = base + _index_text(instance.index)  # `aws_x.y[each.key]` from an instance of the same for_each
            if keyed and len(found) > 1 and instance.index is not None and same in self.instances:
                found = [same]
        return [ResourceRef(f"{self.rel}#{address}", attribute) for address in found]

    def _follow_variable(self, name: str, instance: _Instance, module: tuple[str, ...],
                         depth: int) -> tuple[list[ResourceRef], list[str]]:
        if not module:
            return [], [name]
        parent = module[:-1]
        call_name = _split_index(module[-1].split(".", 1)[1])[0]
        names = tuple(_split_index(s.split(".", 1)[1])[0] for s in parent)
        call = _mapping(_mapping(self._config_module(names).get("module_calls")).get(call_name))
        expression = _mapping(_mapping(call.get("expressions")).get(name))
        return self._references(expression, instance, parent, depth + 1)

    def _follow_output(self, parts: list[str], instance: _Instance, module: tuple[str, ...],
                       depth: int) -> tuple[list[ResourceRef], list[str]]:
        if len(parts) < 3:
            return [], []
        call_name, call_index = _split_index(parts[1])
        child_names = (*(_split_index(s.split(".", 1)[1])[0] for s in module), call_name)
        output = _mapping(_mapping(self._config_module(child_names).get("outputs")).get(_split_index(parts[2])[0]))
        segment = f"module.{call_name}" + (f"[{call_index}]" if call_index is not None else "")
        candidates = {i.module[: len(module) + 1] for i in self.instances.values()
                      if i.module[: len(module)] == module and len(i.module) > len(module)
                      and _split_index(i.module[len(module)])[0] == f"module.{call_name}"
                      and (call_index is None or i.module[len(module)] == segment)}
        if len(candidates) != 1:
            return [], []
        return self._references(_mapping(output.get("expression")), instance, next(iter(candidates)), depth + 1)

    def _references(self, expression: Mapping[str, Any], instance: _Instance, module: tuple[str, ...],
                    depth: int = 0) -> tuple[list[ResourceRef], list[str]]:
        refs: list[ResourceRef] = []
        variables: list[str] = []
        listed = [r for r in _list(expression.get("references")) if isinstance(r, str)]
        keyed = depth == 0 and any(r.startswith(("each.", "count.")) for r in listed)
        # Terraform lists `aws_x.y[0].arn`, `aws_x.y[0]` and `aws_x.y`: the shorter ones add nothing.
        for reference in [r for r in listed if not any(o.startswith((r + "[", r + ".")) for o in listed)]:
            found, names = self.follow(reference, instance, module, depth, keyed)
            refs.extend(r for r in found if all(r.key != seen.key for seen in refs))
            variables.extend(n for n in names if n not in variables)
        return refs, variables

    # ------------------------------------------------------------ unknown values
    def _resolve_unknown(self, expression: Any, instance: _Instance) -> Any:
        """What an unknown value is, from its expression in the configuration."""
        if expression is None:
            return _DROP if self.has_configuration else Unresolved("(known after apply)", "known only after apply")
        if isinstance(expression, list):  # nested blocks: rebuild them from their expressions
            return [self._resolve_unknown(item, instance) for item in expression]
        if not isinstance(expression, Mapping):
            return Unresolved("(known after apply)", "known only after apply")
        if not _is_leaf(expression):
            rebuilt = {k: self._resolve_unknown(v, instance) for k, v in expression.items()}
            return {k: v for k, v in rebuilt.items() if v is not _DROP}
        if "constant_value" in expression:
            return expression["constant_value"]
        refs, _ = self._references(expression, instance, instance.module)
        if len(refs) == 1:
            return refs[0]
        if refs:
            # `subnet_ids = [aws_subnet.a.id, aws_subnet.b.id]`: the AWS provider marks the whole list unknown.
            # As a list it links each element; where one value was expected it reads as not known.
            return refs
        shown = ", ".join(r for r in _list(expression.get("references"))[:4] if isinstance(r, str))
        return Unresolved(shown or "(known after apply)", "known only after apply")

    def fill(self, known: Any, unknown: Any, expression: Any, instance: _Instance, depth: int = 0) -> Any:
        """Known values with every unknown leaf replaced by what its expression says it is."""
        if unknown is True:
            return self._resolve_unknown(expression, instance)
        if depth > _MAX_DEPTH:
            return known
        if isinstance(unknown, dict):
            out = dict(known) if isinstance(known, dict) else {}
            for key, sub in unknown.items():
                filled = self.fill(out.get(key), sub, _child(expression, key), instance, depth + 1)
                if filled is _DROP:
                    out.pop(key, None)
                else:
                    out[key] = filled
            return out
        if isinstance(unknown, list):
            return self._fill_list(known, unknown, expression, instance, depth)
        return known

    def _fill_list(self, known: Any, unknown: list[Any], expression: Any, instance: _Instance, depth: int) -> Any:
        items = list(known) if isinstance(known, list) else []
        items.extend([None] * (len(unknown) - len(items)))
        positions = [i for i, sub in enumerate(unknown) if sub is True]
        if positions and isinstance(expression, Mapping) and _is_leaf(expression):
            # `[aws_subnet.a.id, aws_subnet.b.id]`: references come in source order, one per unknown element.
            refs, _ = self._references(expression, instance, instance.module)
            if len(refs) == len(positions):
                for position, ref in zip(positions, refs, strict=True):
                    items[position] = ref
                unknown = [False if i in positions else sub for i, sub in enumerate(unknown)]
        for position, sub in enumerate(unknown):
            if sub is not False and sub is not None:
                filled = self.fill(items[position], sub, _child(expression, position), instance, depth + 1)
                items[position] = Unresolved("(known after apply)", "known only after apply") if (
                    filled is _DROP) else filled
        return items

    # ------------------------------------------------------------ blocks
    def blocks(self) -> list[TfBlock]:
        return [self._block(instance) for instance in self.instances.values()]

    def _block(self, instance: _Instance) -> TfBlock:
        expressions = self._expressions(instance)
        attributes = self.fill(instance.values, instance.unknown, expressions, instance)
        start = self.index.address(instance.address, self.index.section(instance.section))
        location = Location(self.rel, *self.index.position(start), path=(instance.address,))
        block = TfBlock(
            mode=instance.mode, type=instance.type, name=instance.name, address=instance.address,
            key=f"{self.rel}#{instance.address}", attributes=attributes if isinstance(attributes, dict) else {},
            location=location,
        )
        if start is not None:
            configured = set(expressions) if expressions is not None else None
            block.attribute_locations = self._attribute_locations(instance, start, configured)
        return block

    def _attribute_locations(self, instance: _Instance, start: int, configured: set[str] | None) -> dict[
            str, Location]:
        """Where each known attribute is written inside the resource's values (keys searched in file order)."""
        end = self.index.next_address(start)
        if instance.section == "resource_changes":
            after = self.index.key("after", start, end)
            start = after if after is not None else start
        out: dict[str, Location] = {}
        cursor = start

        def record(path: tuple[str, ...], offset: int) -> None:
            if path[0] in (configured if configured is not None else (path[0],)):
                line, column = self.index.position(offset)
                out.setdefault(".".join(path), Location(self.rel, line, column, (instance.address, *path)))

        def walk(node: Any, path: tuple[str, ...], depth: int) -> int | None:
            nonlocal cursor
            first: int | None = None
            if depth > _MAX_DEPTH:
                return None
            if isinstance(node, dict):
                for key, child in node.items():
                    found = self.index.key(str(key), cursor, end)
                    if found is None:
                        continue
                    cursor = found + len(json.dumps(str(key)))
                    first = found if first is None else first
                    if child not in (None, "", [], {}):
                        record((*path, str(key)), found)
                    walk(child, (*path, str(key)), depth + 1)
            elif isinstance(node, list):
                for position, child in enumerate(node):
                    inner = walk(child, (*path, str(position)), depth + 1)
                    if inner is not None and child not in (None, "", [], {}):
                        record((*path, str(position)), inner)
                    first = inner if first is None else first
            return first

        walk(instance.values, (), 0)
        return out

    # ------------------------------------------------------------ input variables
    def parameter_links(self) -> dict[tuple[str, str], Parameter]:
        """Environment variables whose value comes from an input variable (SEC002's, not SEC001's)."""
        links: dict[tuple[str, str], Parameter] = {}
        declared = _mapping(_mapping(self.configuration.get("root_module")).get("variables"))
        given = _mapping(self.document.get("variables"))
        for instance in self.instances.values():
            if instance.type != "aws_lambda_function" or instance.mode != "managed":
                continue
            environment = _child(_child(_child(self._expressions(instance), "environment"), 0), "variables")
            variables = _mapping(_first(instance.values.get("environment"))).get("variables")
            if not isinstance(environment, Mapping) or not isinstance(variables, Mapping):
                continue
            _, names = self._references(environment, instance, instance.module)
            for name in names:
                actual = _mapping(given.get(name)).get("value")
                parameter = self._parameter(name, _mapping(declared.get(name)))
                for env_name, env_value in variables.items():
                    if isinstance(env_value, str) and env_value and env_value == actual:
                        links[(f"{self.rel}#{instance.address}", f"environment.0.variables.{env_name}")] = parameter
        return links

    def _parameter(self, name: str, declaration: Mapping[str, Any]) -> Parameter:
        offset = self.index.key(name, self.index.section("variables"))
        return Parameter(
            name=name, no_echo=declaration.get("sensitive") is True, default=declaration.get("default"),
            has_default="default" in declaration, location=Location(self.rel, *self.index.position(offset)),
        )


# ---------------------------------------------------------------- small helpers
def _is_leaf(expression: Mapping[str, Any]) -> bool:
    """An expression object (`{"references": [...]}`, `{"constant_value": ...}`, `{}`), not a block's body."""
    return set(expression) <= {"constant_value", "references"}


def _child(expression: Any, key: str | int) -> Any:
    """The expression of a part of a value: a block's attribute, a block of a list; a map attribute's single
    expression covers all its keys."""
    if isinstance(expression, list):
        return expression[key] if isinstance(key, int) and key < len(expression) else None
    if isinstance(expression, Mapping):
        if _is_leaf(expression):
            return expression
        return expression.get(key) if isinstance(key, str) else None
    return None


def _mapping(node: Any) -> Mapping[str, Any]:
    return node if isinstance(node, Mapping) else {}


def _list(node: Any) -> list[Any]:
    return node if isinstance(node, list) else []


def _first(node: Any) -> Any:
    return node[0] if isinstance(node, list) and node else node
