"""One instance of a Terraform module: its declarations, the values its names refer to, and its blocks.

A `ModuleInstance` is the evaluation context of its expressions (`var.*`, `local.*`, resources, data sources,
`module.*` outputs, `path.*`). Values are computed lazily, once, through the reader's cycle guard, so a
reference cycle becomes a coverage gap instead of an endless recursion.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lambdasec.fast_dataclass import dataclass, field

from ...model.inventory import Parameter
from ...model.location import Location
from ...model.values import Unresolved
from .blocks import TfBlock
from .hcl_ast import (
    Attribute,
    Block,
    Call,
    Expr,
    GetAttr,
    Interp,
    Literal,
    ObjectExpr,
    Op,
    ParsedFile,
    Template,
    Traversal,
    TupleExpr,
    Variable,
)
from .hcl_eval import Evaluator, Scope
from .hcl_syntax import SyntaxProblem
from .hcl_values import (
    EvalError,
    NotStatic,
    ResourceObject,
    UnknownInstances,
    finalize,
    is_unknown,
    require_known,
    to_int,
    to_string,
    unknown_reason,
)

if TYPE_CHECKING:
    from .hcl import Reader

META_ARGUMENTS = frozenset({"count", "for_each", "depends_on", "provider"})
META_BLOCKS = frozenset({"lifecycle", "provisioner", "connection"})
MODULE_ARGUMENTS = frozenset({"source", "version", "providers", "count", "for_each", "depends_on"})
MAX_INSTANCES = 1000
MAX_MODULE_DEPTH = 16
# Functions whose object / tuple arguments keep their keys in the result: their literal keys get locations.
_KEY_PRESERVING = frozenset({"jsonencode", "merge", "tomap", "tolist", "toset", "sensitive", "nonsensitive"})
_SUPPRESSION = re.compile(r"(?:#|//|/\*)\s*lambdasec:\s*ignore\[([^\]]*)\](.*)")
_COMMENT_LINE = re.compile(r"^\s*(?:#|//|/\*|\*)")


@dataclass
class Declaration:
    mode: str  # "managed" | "data"
    type: str
    name: str
    block: Block

    @property
    def address(self) -> str:
        return f"{'data.' if self.mode == 'data' else ''}{self.type}.{self.name}"


@dataclass
class Instances:
    """The instances of a resource or module call: kind "single", "count", "for_each" or "unknown"."""

    kind: str
    items: list[tuple[str, Any, dict[str, Any]]]  # (address suffix, count index / each key, names in scope)
    reason: str = ""


@dataclass
class ModuleCall:
    name: str
    block: Block
    source: str
    directory: Path | None
    problem: tuple[str, str] | None  # (gap kind, message) when the module is not analyzed


@dataclass
class Arguments:
    """Where a module instance gets its variables: values (root module) or argument expressions (child)."""

    values: dict[str, Any] = field(default_factory=dict)
    # Where a root value was written (terraform.tfvars / *.auto.tfvars); absent for user-given values.
    origins: dict[str, Location] = field(default_factory=dict)
    expressions: dict[str, Attribute] = field(default_factory=dict)
    parent: ModuleInstance | None = None
    parent_scope: Scope | None = None
    caller: str = ""  # "module x" for a child
    # The caller's `providers = { aws = aws.west }`: provider configuration here -> the caller's one it is.
    providers: dict[str, str] = field(default_factory=dict)


class ModuleInstance:
    def __init__(self, reader: Reader, files: list[ParsedFile], directory: Path, prefix: str,
                 arguments: Arguments, ancestors: tuple[Path, ...]) -> None:
        self.reader = reader
        self.files = files
        self.directory = directory
        self.prefix = prefix  # "" for the root module, `module.x.` / `module.x["a"].` for children
        self.address = prefix.rstrip(".") or "root module"
        self.arguments = arguments
        self.ancestors = ancestors
        self.evaluator: Evaluator = reader.evaluator
        self.scope = Scope(self)
        self.variables: dict[str, Block] = {}
        self.locals: dict[str, Attribute] = {}
        self.outputs: dict[str, Block] = {}
        self.declarations: dict[tuple[str, str, str], Declaration] = {}
        self.calls: dict[str, ModuleCall] = {}
        self.providers: dict[str, Block] = {}  # "aws" or "aws.<alias>" -> the provider block declared here
        self._suppressions: dict[int, dict[str, str]] = {}
        for parsed in files:
            self._declare(parsed)

    # ------------------------------------------------------------ declarations
    def _declare(self, parsed: ParsedFile) -> None:
        for name, line in parsed.body.duplicates:
            self.reader.gap("invalid-template", f"argument {name} is declared twice", Location(parsed.src.rel, line))
        for block in parsed.body.blocks:
            where = Location(block.src.rel, block.line)
            if block.type == "locals":
                for name, attribute in block.body.attributes.items():
                    if name in self.locals:
                        self.reader.gap("invalid-template", f"local.{name} is declared twice", where)
                    else:
                        self.locals[name] = attribute
                continue
            if block.type == "provider":
                self._declare_provider(block)
                continue
            expected = {"resource": 2, "data": 2, "variable": 1, "output": 1, "module": 1}.get(block.type)
            if expected is None:
                continue  # terraform, provider, moved, import, check... say nothing about the infrastructure
            if len(block.labels) != expected:
                self.reader.gap("invalid-template", f"{block.type} block needs {expected} label(s)", where)
                continue
            if block.type in ("resource", "data"):
                mode = "managed" if block.type == "resource" else "data"
                key = (mode, block.labels[0], block.labels[1])
                if key in self.declarations:
                    self.reader.gap("invalid-template", f"{self.declarations[key].address} is declared twice", where)
                else:
                    self.declarations[key] = Declaration(mode, block.labels[0], block.labels[1], block)
            else:
                tables: dict[str, dict[str, Any]] = {"variable": self.variables, "output": self.outputs,
                                                     "module": self.calls}
                table = tables[block.type]
                name = block.labels[0]
                if name in table:
                    self.reader.gap("invalid-template", f"{block.type} {name} is declared twice", where)
                else:
                    table[name] = self._module_call(name, block) if block.type == "module" else block

    def _declare_provider(self, block: Block) -> None:
        if block.labels != ["aws"]:
            return
        alias = block.body.attributes.get("alias")
        if alias is None:
            self.providers["aws"] = block
        elif isinstance(alias.expr, Literal) and isinstance(alias.expr.value, str):
            self.providers[f"aws.{alias.expr.value}"] = block

    def default_tags(self, provider: str) -> Any:
        """The `default_tags` of the AWS provider configuration (``aws`` or ``aws.<alias>``) this module's
        resources use: declared here, passed by the caller's `providers`, or (the default one) inherited from it.
        None when no configuration sets any."""
        block = self.providers.get(provider)
        if block is not None:
            defaults = next((b for b in block.body.blocks if b.type == "default_tags"), None)
            tags = defaults.body.attributes.get("tags") if defaults is not None else None
            return finalize(self.evaluator.top(tags.expr, Scope(self))) if tags is not None else None
        parent = self.arguments.parent
        if parent is None:
            return None
        passed = self.arguments.providers.get(provider)
        if passed is not None:
            return parent.default_tags(passed)
        return parent.default_tags(provider) if provider == "aws" else None

    def _module_call(self, name: str, block: Block) -> ModuleCall:
        attribute = block.body.attributes.get("source")
        if attribute is None or not isinstance(attribute.expr, Literal) or not isinstance(attribute.expr.value, str):
            return ModuleCall(name, block, "", None, ("invalid-template", f"module {name} has no literal source"))
        source = attribute.expr.value
        if not source.startswith(("./", "../")) and source not in (".", ".."):
            return ModuleCall(name, block, source, None, (
                "unsupported", f"module {name} from registry or remote source {source} not analyzed"))
        directory = (self.directory / source).resolve()
        if not directory.is_relative_to(self.reader.root_resolved):
            return ModuleCall(name, block, source, None, (
                "unsupported", f"module {name}: source {source} is outside the scan root (scan a parent directory)"))
        if not directory.is_dir():
            return ModuleCall(name, block, source, None, (
                "missing-file", f"module {name}: directory {source} not found"))
        if directory in self.ancestors or directory == self.directory:
            return ModuleCall(name, block, source, None, ("invalid-template", f"module {name} includes itself"))
        if len(self.ancestors) >= MAX_MODULE_DEPTH:
            return ModuleCall(name, block, source, None, (
                "unsupported", f"module {name}: modules nested more than {MAX_MODULE_DEPTH} levels deep"))
        return ModuleCall(name, block, source, directory, None)

    # ------------------------------------------------------------ Context protocol
    def root(self, name: str, ops: list[Op], node: Expr, scope: Scope) -> tuple[Any, int]:
        first = ops[0].name if ops and isinstance(ops[0], GetAttr) else None
        if name in ("count", "each"):
            raise EvalError(f"{name} is only available in a block with {'count' if name == 'count' else 'for_each'}")
        if name in ("self", "terraform"):
            return Unresolved(node.text, f"{name}.* is known only when Terraform runs"), len(ops)
        if first is None:
            raise EvalError(f"invalid reference {node.text}")
        if name == "var":
            return self.variable(first), 1
        if name == "local":
            return self.local(first), 1
        if name == "module":
            return self.module_value(first), 1
        if name == "path":
            return self.path_value(first, node), 1
        if name == "data":
            second = ops[1].name if len(ops) > 1 and isinstance(ops[1], GetAttr) else None
            if second is None:
                raise EvalError(f"invalid reference {node.text}")
            return self.resource_value("data", first, second), 2
        return self.resource_value("managed", name, first), 1

    def call_file(self, name: str, args: list[Any], node: Call, evaluator: Evaluator) -> Any:
        expected = 1 if name == "file" else 2
        if len(args) != expected:
            raise EvalError(f"{name} expects {expected} argument(s)")
        text = self.reader.read_config_file(to_string(require_known(args[0])), node)
        if name == "file":
            return text
        variables = args[1]
        if not isinstance(variables, dict):
            raise NotStatic(unknown_reason(variables) or "templatefile variables must be a map")
        try:
            template = self.reader.parse_template(text, node.src.rel)
        except SyntaxProblem as exc:
            raise NotStatic(f"template {args[0]} is not a valid template: {exc.message}") from None
        return evaluator.evaluate(template, Scope(TemplateContext(self), dict(variables)))

    def tick(self) -> None:
        self.reader.tick()

    def output(self, name: str) -> Any:
        block = self.outputs.get(name)
        if block is None or "value" not in block.body.attributes:
            return Unresolved(f"{self.address}.{name}", f"{self.address} has no output {name}")
        expr = block.body.attributes["value"].expr
        return self.reader.once(("output", self.prefix, name), f"{self.prefix}output.{name}",
                                lambda: self.evaluator.top(expr, self.scope), Location(block.src.rel, block.line))

    # ------------------------------------------------------------ names
    def variable(self, name: str) -> Any:
        block = self.variables.get(name)
        if block is None:
            return Unresolved(f"var.{name}", f"variable {name} is not declared")
        return self.reader.once(("var", self.prefix, name), f"{self.prefix}var.{name}",
                                lambda: self._variable_value(name, block), Location(block.src.rel, block.line))

    def _variable_value(self, name: str, block: Block) -> Any:
        arguments = self.arguments
        if name in arguments.values:
            return arguments.values[name]
        if name in arguments.expressions and arguments.parent_scope is not None:
            return self.evaluator.top(arguments.expressions[name].expr, arguments.parent_scope)
        default = block.body.attributes.get("default")
        if default is not None:
            return self.evaluator.top(default.expr, Scope(LiteralContext(self.reader)))
        where = (f"not passed by {arguments.caller}" if arguments.caller
                 else "not set in terraform.tfvars or *.auto.tfvars")
        return Unresolved(f"var.{name}", f"variable {name} has no default and is {where}")

    def local(self, name: str) -> Any:
        attribute = self.locals.get(name)
        if attribute is None:
            return Unresolved(f"local.{name}", f"local.{name} is not declared")
        return self.reader.once(("local", self.prefix, name), f"{self.prefix}local.{name}",
                                lambda: self.evaluator.top(attribute.expr, self.scope),
                                Location(attribute.expr.src.rel, attribute.line))

    def path_value(self, name: str, node: Expr) -> Any:
        if name == "module":
            relative = os.path.relpath(self.directory, self.reader.root_dir)
            return Path(relative).as_posix()
        if name == "root":
            return "."
        if name == "cwd":
            return Unresolved(node.text, "path.cwd is the directory Terraform runs in")
        raise EvalError(f"path.{name} does not exist")

    def resource_value(self, mode: str, type_: str, name: str) -> Any:
        declaration = self.declarations.get((mode, type_, name))
        written = f"{'data.' if mode == 'data' else ''}{type_}.{name}"
        if declaration is None:
            return Unresolved(written, f"{written} is not declared in {self.address}")
        instances = self.instances(declaration.block, declaration.address)
        address = self.prefix + declaration.address
        if instances.kind == "unknown":
            star = address + "[*]"
            return UnknownInstances(address, ResourceObject(self.reader.key(star), star))
        objects = [(item, ResourceObject(self.reader.key(address + suffix), address + suffix))
                   for suffix, item, _ in instances.items]
        if instances.kind == "single":
            return objects[0][1]
        if instances.kind == "count":
            return [obj for _, obj in objects]
        return {str(item): obj for item, obj in objects}

    def module_value(self, name: str) -> Any:
        call = self.calls.get(name)
        if call is None:
            return Unresolved(f"module.{name}", f"module {name} is not declared in {self.address}")
        if call.problem is not None:
            return Unresolved(f"module.{name}", f"module {name} ({call.source}) is not analyzed")
        instances, children = self.children(call)
        if not children and instances.kind == "unknown":
            return Unresolved(f"module.{name}", instances.reason)
        if instances.kind == "unknown":
            return UnknownInstances(f"{self.prefix}module.{name}", children[0])
        if instances.kind == "single":
            return children[0]
        if instances.kind == "count":
            return list(children)
        return {str(item): child for (_, item, _), child in zip(instances.items, children, strict=True)}

    # ------------------------------------------------------------ instances
    def instances(self, block: Block, address: str) -> Instances:
        found = self.reader.once(("instances", self.prefix, address), f"{self.prefix}{address} (count/for_each)",
                                 lambda: self._instances(block), Location(block.src.rel, block.line))
        return found if isinstance(found, Instances) else _unknown(unknown_reason(found) or "circular reference")

    def _instances(self, block: Block) -> Instances:
        count = block.body.attributes.get("count")
        for_each = block.body.attributes.get("for_each")
        if count is None and for_each is None:
            return Instances("single", [("", None, {})])
        attribute = count if count is not None else for_each
        assert attribute is not None
        value = self.evaluator.top(attribute.expr, self.scope)
        reason = unknown_reason(value)
        try:
            if reason is None and count is not None:
                total = to_int(value)
                if total > MAX_INSTANCES:
                    return _unknown(f"count {total} is over the {MAX_INSTANCES} instance limit")
                if total < 0:  # Terraform refuses it: not "no instance", which would hide the resource
                    raise EvalError(f"count must be zero or more, not {total}")
                return Instances("count", [(f"[{i}]", i, {"count": {"index": i}}) for i in range(total)])
            if reason is None:
                return self._for_each_instances(value)
        except EvalError as exc:
            reason = f"invalid {'count' if count is not None else 'for_each'}: {exc}"
        return _unknown(f"{'count' if count is not None else 'for_each'} = {attribute.expr.text} is not known "
                        f"statically ({reason})")

    @staticmethod
    def _for_each_instances(value: Any) -> Instances:
        if isinstance(value, dict):
            pairs = [(key, value[key]) for key in sorted(value)]
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            pairs = [(key, key) for key in sorted(set(value))]
        else:
            raise EvalError("for_each needs a map or a set of strings")
        if len(pairs) > MAX_INSTANCES:
            return _unknown(f"for_each has {len(pairs)} elements, over the {MAX_INSTANCES} instance limit")
        return Instances("for_each", [(f"[{json.dumps(key)}]", key, {"each": {"key": key, "value": item}})
                                      for key, item in pairs])

    def children(self, call: ModuleCall) -> tuple[Instances, list[ModuleInstance]]:
        found = self.reader.once(("children", self.prefix, call.name), f"{self.prefix}module.{call.name}",
                                 lambda: self._children(call), Location(call.block.src.rel, call.block.line))
        return found if isinstance(found, tuple) else (_unknown(unknown_reason(found) or "circular reference"), [])

    def _children(self, call: ModuleCall) -> tuple[Instances, list[ModuleInstance]]:
        assert call.directory is not None
        instances = self.instances(call.block, f"module.{call.name}")
        items = instances.items if instances.kind != "unknown" else [("[*]", None, instances.items[0][2])]
        files = self.reader.load_directory(call.directory)
        expressions = {name: attribute for name, attribute in call.block.body.attributes.items()
                       if name not in MODULE_ARGUMENTS}
        providers = _passed_providers(call.block.body.attributes.get("providers"))
        children = []
        for suffix, _, names in items:
            arguments = Arguments(expressions=expressions, parent=self, parent_scope=Scope(self, names),
                                  caller=f"module {call.name}", providers=providers)
            prefix = f"{self.prefix}module.{call.name}{suffix}."
            children.append(ModuleInstance(self.reader, files, call.directory, prefix, arguments,
                                           (*self.ancestors, self.directory)))
        return instances, children

    # ------------------------------------------------------------ blocks
    def emit(self, out: list[TfBlock]) -> None:
        """Append the TfBlocks of this module instance (and of its local child modules), in source order."""
        for parsed in self.files:
            for block in parsed.body.blocks:
                try:
                    if block.type in ("resource", "data") and len(block.labels) == 2:
                        mode = "managed" if block.type == "resource" else "data"
                        declaration = self.declarations.get((mode, block.labels[0], block.labels[1]))
                        if declaration is not None and declaration.block is block:
                            out.extend(self.build(declaration, parsed))
                    elif block.type == "module" and len(block.labels) == 1:
                        call = self.calls.get(block.labels[0])
                        if call is not None and call.block is block:
                            self._emit_module(call, out)
                except RecursionError:
                    self.reader.gap("invalid-template", f"{block.type} {'.'.join(block.labels)} is nested too deeply",
                                    Location(block.src.rel, block.line))

    def _emit_module(self, call: ModuleCall, out: list[TfBlock]) -> None:
        where = Location(call.block.src.rel, call.block.line)
        if call.problem is not None:
            self.reader.gap(call.problem[0], call.problem[1], where)
            return
        instances, children = self.children(call)
        if instances.kind == "unknown":
            self.reader.gap("unresolved", f"{self.prefix}module.{call.name}: {instances.reason}; analyzed once as "
                            f"{self.prefix}module.{call.name}[*]", where)
        for child in children:
            child.emit(out)

    def build(self, declaration: Declaration, parsed: ParsedFile) -> list[TfBlock]:
        block = declaration.block
        instances = self.instances(block, declaration.address)
        address = self.prefix + declaration.address
        items = instances.items
        if instances.kind == "unknown":
            self.reader.gap("unresolved", f"{address}: {instances.reason}; analyzed once as {address}[*]",
                            Location(block.src.rel, block.line))
            items = [("[*]", None, items[0][2])]
        suppressions = self.suppressions(block, parsed)
        blocks = []
        for suffix, _, names in items:
            full = address + suffix
            body = BodyReader(self, block.src.rel, full)
            attributes = body.read(block.body, Scope(self, names), [], top=True)
            blocks.append(TfBlock(
                mode=declaration.mode, type=declaration.type, name=declaration.name, address=full,
                key=self.reader.key(full), attributes=attributes,
                location=Location(block.src.rel, block.line, None, (full,)),
                attribute_locations=body.locations, suppressions=dict(suppressions),
            ))
            if declaration.mode == "managed" and declaration.type == "aws_lambda_function":
                self._link_parameters(self.reader.key(full), block)
                self._add_default_tags(block, attributes)
        return blocks

    def _add_default_tags(self, block: Block, attributes: dict[str, Any]) -> None:
        """`tags_all` as the plan has it: the provider's `default_tags` under the resource's own `tags`."""
        chosen = block.body.attributes.get("provider")
        provider = _provider_reference(chosen.expr) if chosen is not None else "aws"
        defaults = self.default_tags(provider) if provider is not None else None
        if defaults is None:
            return
        own = attributes.get("tags")
        if isinstance(defaults, dict) and (own is None or isinstance(own, dict)):
            attributes["tags_all"] = {**defaults, **(own or {})}
        elif isinstance(defaults, Unresolved) or isinstance(own, Unresolved):
            attributes["tags_all"] = defaults if isinstance(defaults, Unresolved) else own

    # ------------------------------------------------------------ input variables behind environment variables
    def _link_parameters(self, key: str, block: Block) -> None:
        """Environment variables written as `var.x`: the root input variable they come from (SEC002's)."""
        environment = next((b for b in block.body.blocks if b.type == "environment"), None)
        variables = environment.body.attributes.get("variables") if environment is not None else None
        if variables is None or not isinstance(variables.expr, ObjectExpr):
            return
        for item in variables.expr.items:
            name = _variable_name(item.value)
            parameter = self.parameter(name) if name is not None and item.static_key is not None else None
            if parameter is not None:
                self.reader.parameter_links[(key, f"environment.0.variables.{item.static_key}")] = parameter

    def parameter(self, name: str) -> Parameter | None:
        """The root module variable that `var.<name>` of this instance is, following module arguments."""
        module: ModuleInstance = self
        while module.arguments.parent is not None:
            attribute = module.arguments.expressions.get(name)
            outer = _variable_name(attribute.expr) if attribute is not None else None
            if outer is None:
                return None
            module, name = module.arguments.parent, outer
        block = module.variables.get(name)
        if block is None:
            return None
        sensitive = block.body.attributes.get("sensitive")
        no_echo = sensitive is not None and isinstance(sensitive.expr, Literal) and sensitive.expr.value is True
        origin = module.arguments.origins.get(name)
        if origin is not None:  # a value committed next to the configuration counts as its default
            return Parameter(name, no_echo, finalize(module.variable(name)), True, origin)
        default = block.body.attributes.get("default")
        value = finalize(self.evaluator.top(default.expr, Scope(LiteralContext(self.reader)))) if default else None
        return Parameter(name, no_echo, value, default is not None, Location(block.src.rel, block.line))

    def suppressions(self, block: Block, parsed: ParsedFile) -> dict[str, str]:
        """`# lambdasec: ignore[ID] reason` inside the block or in the comment lines just above it."""
        cached = self._suppressions.get(id(block))
        if cached is not None:
            return cached
        found: dict[str, str] = {}
        lines: list[str] | None = None
        for comment in parsed.comments:
            if comment.line < block.line:
                lines = lines if lines is not None else parsed.src.data.decode("utf-8", "replace").splitlines()
                between = lines[comment.line - 1:block.line - 1]
                if not all(_COMMENT_LINE.match(line) for line in between):
                    continue
            elif comment.line > block.end_line:
                continue
            match = _SUPPRESSION.search(comment.text)
            if match is None:
                continue
            reason = match.group(2).strip().removesuffix("*/").strip()
            if not reason:
                self.reader.gap("invalid-suppression", "suppression comment ignored: it needs a reason",
                                Location(parsed.src.rel, comment.line))
                continue
            for rule in (part.strip() for part in match.group(1).split(",")):
                if rule:
                    found[rule] = reason
        self._suppressions[id(block)] = found
        return found


def _provider_reference(expr: Expr) -> str | None:
    """`aws` or `aws.west` as written in `provider = ...` or a `providers` map; None for anything else."""
    if isinstance(expr, Variable):
        return expr.name
    if isinstance(expr, Traversal) and isinstance(expr.base, Variable) and len(expr.ops) == 1 \
            and isinstance(expr.ops[0], GetAttr):
        return f"{expr.base.name}.{expr.ops[0].name}"
    return None


def _passed_providers(attribute: Attribute | None) -> dict[str, str]:
    if attribute is None or not isinstance(attribute.expr, ObjectExpr):
        return {}
    passed = {}
    for item in attribute.expr.items:
        inside = item.static_key if item.static_key is not None else _provider_reference(item.key)
        outside = _provider_reference(item.value)
        if inside is not None and outside is not None:
            passed[inside] = outside
    return passed


def _variable_name(expr: Expr) -> str | None:
    """`x` for an expression that is exactly `var.x` (or `"${var.x}"`)."""
    if isinstance(expr, Template) and not expr.heredoc and len(expr.parts) == 1 and isinstance(expr.parts[0], Interp):
        expr = expr.parts[0].expr
    if (isinstance(expr, Traversal) and isinstance(expr.base, Variable) and expr.base.name == "var"
            and len(expr.ops) == 1 and isinstance(expr.ops[0], GetAttr)):
        return expr.ops[0].name
    return None


def _unknown(reason: str) -> Instances:
    """One stand-in instance whose count.index / each.key / each.value are unknown."""
    names = {"count": {"index": Unresolved("count.index", reason)},
             "each": {"key": Unresolved("each.key", reason), "value": Unresolved("each.value", reason)}}
    return Instances("unknown", [("[*]", None, names)], reason)


class BodyReader:
    """Evaluates a block body into plan-shaped attributes and records where each attribute is written."""

    def __init__(self, module: ModuleInstance, file: str, address: str) -> None:
        self.module = module
        self.file = file
        self.address = address
        self.locations: dict[str, Location] = {}

    def locate(self, path: list[str], line: int) -> None:
        self.locations[".".join(path)] = Location(self.file, line, None, (self.address, *path))

    def read(self, body: Any, scope: Scope, path: list[str], top: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        evaluator = self.module.evaluator
        for name, attribute in body.attributes.items():
            if top and name in META_ARGUMENTS:
                continue
            out[name] = finalize(evaluator.top(attribute.expr, scope))
            self.locate([*path, name], attribute.line)
            self.locate_literals(attribute.expr, [*path, name])
        groups: dict[str, Any] = {}
        for block in body.blocks:
            if top and block.type in META_BLOCKS:
                continue
            if block.type == "dynamic" and block.labels:
                self.dynamic(block, scope, path, groups)
                continue
            entries = groups.setdefault(block.type, [])
            if isinstance(entries, list):
                entry_path = [*path, block.type, str(len(entries))]
                self.locate(entry_path, block.line)
                entries.append(self.read(block.body, scope, entry_path, top=False))
        out.update(groups)
        return out

    def dynamic(self, block: Block, scope: Scope, path: list[str], groups: dict[str, Any]) -> None:
        label = block.labels[0]
        for_each = block.body.attributes.get("for_each")
        content = next((b for b in block.body.blocks if b.type == "content"), None)
        if for_each is None or content is None:
            self.module.reader.gap("invalid-template", f'dynamic "{label}" needs for_each and a content block',
                                   Location(self.file, block.line))
            return
        iterator = block.body.attributes.get("iterator")
        name = iterator.expr.name if iterator is not None and isinstance(iterator.expr, Variable) else label
        evaluator = self.module.evaluator
        collection = evaluator.top(for_each.expr, scope)
        try:
            pairs = None if is_unknown(collection) else evaluator.iteration(collection)
        except (EvalError, NotStatic):
            pairs = None
        if pairs is None:
            groups[label] = Unresolved(f'dynamic "{label}" for_each = {for_each.expr.text}',
                                       unknown_reason(collection) or "for_each is not known statically")
            self.locate([*path, label], block.line)
            return
        entries = groups.setdefault(label, [])
        if not isinstance(entries, list):
            return
        for key, value in pairs:
            entry_path = [*path, label, str(len(entries))]
            self.locate(entry_path, content.line)
            entries.append(self.read(content.body, scope.with_names(**{name: {"key": key, "value": value}}),
                                     entry_path, top=False))

    def locate_literals(self, expr: Expr, path: list[str]) -> None:
        """Lines of the keys and items written literally in an attribute value (also inside jsonencode/merge)."""
        if isinstance(expr, ObjectExpr):
            for item in expr.items:
                if item.static_key is not None:
                    self.locate([*path, item.static_key], item.line)
                    self.locate_literals(item.value, [*path, item.static_key])
        elif isinstance(expr, TupleExpr):
            for index, value in enumerate(expr.items):
                self.locate([*path, str(index)], value.line)
                self.locate_literals(value, [*path, str(index)])
        elif isinstance(expr, Call) and expr.name in _KEY_PRESERVING:
            for arg in expr.args:
                self.locate_literals(arg, path)


class LiteralContext:
    """Variable defaults and tfvars values: literal values only, no references and no files."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader

    def root(self, name: str, ops: list[Op], node: Expr, scope: Scope) -> tuple[Any, int]:
        raise EvalError(f"{node.text}: only literal values are allowed here")

    def call_file(self, name: str, args: list[Any], node: Call, evaluator: Evaluator) -> Any:
        raise EvalError(f"{name} is not allowed here")

    def tick(self) -> None:
        self.reader.tick()


class TemplateContext:
    """A `templatefile` template: only the variables passed to it."""

    def __init__(self, module: ModuleInstance) -> None:
        self.module = module

    def root(self, name: str, ops: list[Op], node: Expr, scope: Scope) -> tuple[Any, int]:
        raise EvalError(f"{name} is not a variable of the template")

    def call_file(self, name: str, args: list[Any], node: Call, evaluator: Evaluator) -> Any:
        return self.module.call_file(name, args, node, evaluator)

    def tick(self) -> None:
        self.module.tick()

