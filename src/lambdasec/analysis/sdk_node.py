"""Which AWS operations Node.js code calls through the AWS SDK for JavaScript (v3 and v2), found statically.

The code is parsed with tree-sitter's JavaScript grammar (the ``tree-sitter-javascript`` package), never run.
Like the Python analyser (sdk_python.py), a small abstract interpreter follows values through variables,
destructuring, object fields, ``this`` fields, function parameters and return values, within a file and across
the files of the function's own code (``require("./db")``, ``import { put } from "./db.js"``).

What it knows:
  - v3: ``new XClient()`` and ``new XCommand(input)`` from ``@aws-sdk/client-*`` (a command built is a command
    sent: it is counted where it is built), the aggregated clients (``new S3().getObject(...)``),
    ``paginateX(config, input)``, ``waitUntilX(config, input)``, ``@aws-sdk/lib-dynamodb``'s document client
    and commands, ``@aws-sdk/lib-storage``'s ``Upload``.
  - v2: ``new AWS.S3().getObject(params)``, ``new AWS.DynamoDB.DocumentClient().put(params)``,
    ``require("aws-sdk/clients/s3")``, ``s3.upload``, ``getSignedUrl``, ``waitFor``.
  - strings: literals, template literals, ``+``, ``process.env.X`` (also destructured, with defaults).

TypeScript sources are not parsed (analyse the JavaScript a build emits); ``node_modules`` is never read.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Iterator
from typing import Any, Final

from lambdasec.fast_dataclass import dataclass, field

from ..model.location import Location
from . import sdk_models
from .code_source import CodeSource, source_files
from .sdk_calls import CodeAnalysis, EnvRef, Opaque, ParamValue, SdkCall, Seq, Struct, Text, join_texts
from .sdk_program import MAX_CONTEXTS, MAX_DEPTH, Program, as_param, join_returned, sdk_reaching

_SUFFIXES: Final = (".js", ".mjs", ".cjs")
_SDK_MARKER: Final = re.compile(r"aws-sdk")
_LOCAL_IMPORT: Final = re.compile(r"""(?:require\s*\(\s*|from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}/[^'"]+)['"]""")


# ---------------------------------------------------------------- abstract values
@dataclass(frozen=True)
class V3Package:
    package: str
    service: str | None  # for @aws-sdk/client-*; None for the lib-* packages


@dataclass(frozen=True)
class ClientClass:
    service: str
    version: int  # 2 or 3
    aggregated: bool = False  # v3 ``S3`` (methods) rather than ``S3Client`` (send)
    document: bool = False  # DynamoDB document client


@dataclass(frozen=True)
class Client:
    service: str | None  # None: built from something not known statically
    version: int
    aggregated: bool = False
    document: bool = False
    credentials: bool = False  # built with credentials of its own (``accessKeyId``, ``credentials``)


@dataclass(frozen=True)
class CommandClass:
    service: str
    operation: str
    name: str  # as written: "GetObjectCommand", "PutCommand"
    document: bool = False


@dataclass(frozen=True)
class Command:
    service: str
    operation: str


@dataclass(frozen=True)
class Helper:
    kind: str  # "paginate" | "waiter" | "upload" | "from" | "presign" | "v2-root" | "v2-document-class"
    service: str = ""
    name: str = ""
    aggregated: bool = False


@dataclass(frozen=True)
class EnvObject:
    pass  # ``process.env``


@dataclass(frozen=True)
class Func:
    module: str
    name: str
    node: Any = field(compare=False, hash=False, repr=False)
    scopes: Any = field(default=None, compare=False, hash=False, repr=False)  # enclosing variables (a tuple of dicts)
    this: Any = None


@dataclass(frozen=True)
class JsClass:
    module: str
    name: str


@dataclass(frozen=True)
class Instance:
    module: str
    name: str


@dataclass(frozen=True)
class Exports:
    module: str  # a first-party module's exports object


@dataclass(frozen=True)
class JsObject:
    """An object literal holding more than request parameters (functions, clients)."""

    fields: tuple[tuple[str, Any], ...]


Value = Any
_SDK = (V3Package, ClientClass, Client, CommandClass, Command, Helper)


def _is_sdk(value: Value) -> bool:
    return isinstance(value, _SDK)


def _keeps(value: Value) -> bool:
    return _is_sdk(value) or isinstance(value, (Func, JsClass, Instance, Exports, JsObject))


# ---------------------------------------------------------------- program
@dataclass
class ClassInfo:
    module: str
    name: str
    methods: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Value] = field(default_factory=dict)
    parent: Value = None


@dataclass
class Module:
    path: str
    tree: Any
    source: bytes
    scope: dict[str, Value] = field(default_factory=dict)
    exports: dict[str, Value] = field(default_factory=dict)
    replaced: Value = None  # ``module.exports = value``
    classes: dict[str, ClassInfo] = field(default_factory=dict)
    functions: list[Func] = field(default_factory=list)
    executed: bool = False
    executing: bool = False


@dataclass
class Frame:
    module: Module
    scopes: tuple[dict[str, Value], ...]  # innermost first
    owner: str
    context: int
    depth: int = 0
    this: Value = None
    returns: list[Value] = field(default_factory=list)
    nested: list[Func] = field(default_factory=list)
    called: set[int] = field(default_factory=set)


@functools.cache
def _parser() -> Any:
    import tree_sitter
    import tree_sitter_javascript

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_javascript.language()))


def analyse_node(source: CodeSource, handler: str | None = None, prefix: str = "") -> CodeAnalysis:
    """The AWS SDK calls of the JavaScript code in ``source`` (see the module docstring)."""
    return _Program(source, prefix).run(handler)


class _Program(Program):
    def __init__(self, source: CodeSource, prefix: str) -> None:
        self.files = {path for path in source_files(source, _SUFFIXES)}
        self.texts: dict[str, bytes | None] = {}
        self.modules: dict[str, Module | None] = {}
        super().__init__(source, prefix, "javascript")

    # ------------------------------------------------------------ files
    def text(self, path: str) -> bytes | None:
        if path not in self.texts:
            data = self.source.read(path)
            if data is None:
                self.note("skipped-file", f"{path}: not analysed (too large or unreadable)",
                          Location(self._shown(path)))
            elif b"\x00" in data[:8192]:
                self.note("skipped-file", f"{path}: binary content, not analysed", Location(self._shown(path)))
                data = None
            self.texts[path] = data
        return self.texts[path]

    def module(self, path: str) -> Module | None:
        if path in self.modules:
            return self.modules[path]
        self.modules[path] = None
        data = self.text(path)
        if data is None:
            return None
        try:
            tree = _parser().parse(data)
        except (ValueError, RuntimeError) as exc:
            self.note("parse-error", f"{path}: not parsed ({exc})", Location(self._shown(path)))
            return None
        if tree.root_node.has_error:
            line = _first_error_line(tree.root_node)
            self.note("parse-error", f"{path}: syntax errors; the rest of the file was analysed",
                      Location(self._shown(path), line))
        module = Module(path, tree, data)
        self.modules[path] = module
        self.analysis.files.append(self._shown(path))
        return module

    def resolve(self, current: str, spec: str) -> str | None:
        """The file a relative ``require``/``import`` names."""
        if not spec.startswith("."):
            return None
        base = posixpath.normpath(posixpath.join(posixpath.dirname(current), spec))
        candidates = [base, *(base + suffix for suffix in _SUFFIXES), *(f"{base}/index{s}" for s in _SUFFIXES)]
        return next((c for c in candidates if c in self.files), None)

    # ------------------------------------------------------------ scope
    def _entries(self, handler: str | None) -> list[str]:
        if handler:
            stem = handler.rpartition(".")[0]
            for suffix in _SUFFIXES:
                if f"{stem}{suffix}" in self.files:
                    return [f"{stem}{suffix}"]
            if any(self.source.exists(f"{stem}{suffix}") for suffix in (".ts", ".mts", ".cts")):
                self.note("unsupported", f"handler '{handler}' is TypeScript: analyse the JavaScript the build emits",
                          Location(self.source.label))
                return []
            self.note("missing-handler", f"handler module of '{handler}' not found: every JavaScript file analysed",
                      Location(self.source.label))
        return sorted(self.files)

    def _scope(self, handler: str | None) -> list[str]:
        imports: dict[str, set[str]] = {}
        queue = self._entries(handler)
        entries = list(queue)
        while queue:
            path = queue.pop()
            if path in imports:
                continue
            text = (self.text(path) or b"").decode("utf-8", "replace")
            found = {self.resolve(path, spec) for spec in _LOCAL_IMPORT.findall(text)}
            imports[path] = {target for target in found if target is not None}
            queue.extend(imports[path] - imports.keys())
        relevant = sdk_reaching(imports, {p for p in imports
                                          if _SDK_MARKER.search((self.text(p) or b"").decode("utf-8", "replace"))})
        if handler:
            relevant.update(entries)
        return sorted(relevant)

    # ------------------------------------------------------------ the run
    def _pass(self, scope: list[str]) -> None:
        self._reset()
        for module in self.modules.values():
            if module is not None:
                module.executed = False
                module.scope.clear()
                module.exports.clear()
                module.replaced = None
                module.functions.clear()
        for path in scope:
            module = self.module(path)
            if module is not None:
                self.execute_module(module)
        entry = self._entry_function(scope)
        roots = [entry] if entry is not None else []  # first, so real call chains claim their contexts
        for path in scope:
            module = self.modules.get(path)
            roots.extend(module.functions if module is not None else ())
        for func in roots:
            params = _parameter_names(func.node)
            self.invoke(func, [Opaque(f"parameter {name}") for name in params], None, root=True)

    def _entry_function(self, scope: list[str]) -> Func | None:
        stem, _, name = (self.handler or "").rpartition(".")
        for path in scope:
            module = self.modules.get(path)
            if module is not None and path.rsplit(".", 1)[0] == stem:
                found = module.exports.get(name, module.scope.get(name))
                return found if isinstance(found, Func) else None
        return None

    def execute_module(self, module: Module) -> None:
        if module.executed or module.executing:
            return
        module.executing = True
        context = self._new_context(("module", module.path))
        self.module_contexts.append(context)
        try:
            frame = Frame(module, (module.scope,), f"{module.path}:<module>", context)
            interpreter = _Interpreter(self, frame)
            interpreter.body(module.tree.root_node)
        finally:
            module.executing = False
            module.executed = True

    def invoke(self, func: Func, args: list[Value], caller: Frame | None, root: bool = False) -> Value:
        depth = caller.depth + 1 if caller is not None else 0
        module = self.modules.get(func.module)
        name = f"{func.module}:{func.name}:{func.node.start_byte}"
        if depth > MAX_DEPTH or module is None:
            if module is not None:
                self.depth_cut.add(name)  # not followed from here: its own analysis counts instead
            return Opaque(f"{func.name}(...)")
        if caller is not None and not root:
            self.edges.setdefault(caller.owner, set()).add(name)
        key: tuple[Any, ...] = (name, func.this, tuple(args), id(func.scopes), root)
        context = self.context_ids.get(key)
        if context is None and not root and self.per_function.get(name, 0) >= MAX_CONTEXTS:
            args = [Opaque(f"argument of {func.name}") for _ in args]
            key = (name, func.this, "shared", id(func.scopes))
            context = self.context_ids.get(key)
        if context is not None:
            if caller is not None:
                self.children.setdefault(caller.context, set()).add(context)
            return self.results.get(context, Opaque(f"{func.name}(...)"))
        context = self._new_context(key)
        self.per_function[name] = self.per_function.get(name, 0) + 1
        if caller is not None:
            self.children.setdefault(caller.context, set()).add(context)
        if root:
            self.root_contexts[name] = context
        local: dict[str, Value] = {}
        frame = Frame(module, (local, *(func.scopes or (module.scope,))), name, context, depth, this=func.this)
        interpreter = _Interpreter(self, frame)
        interpreter.bind_parameters(func.node, args)
        body = func.node.child_by_field_name("body")
        if body is not None and body.type == "statement_block":
            interpreter.body(body)
        elif body is not None:
            frame.returns.append(interpreter.eval(body))  # an arrow function's expression body
        interpreter.finish_nested()
        result = join_returned(frame.returns, _keeps)
        self.results[context] = result
        return result

    def record(self, frame: Frame, node: Any, service: str, operation: str, method: str, params: Struct,
               via: str, credentials: bool = False) -> None:
        location = self.location(frame, node)
        call = SdkCall(service, operation, method, params, location, via, credentials)
        self.calls.setdefault(frame.context, []).append(call)

    def location(self, frame: Frame, node: Any) -> Location:
        row, column = node.start_point
        return Location(self._shown(frame.module.path), row + 1, column + 1)


def _first_error_line(node: Any) -> int | None:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "ERROR" or current.is_missing:
            return int(current.start_point[0]) + 1
        stack.extend(reversed([child for child in current.children if child.has_error or child.is_missing]))
    return None


def _parameter_names(node: Any) -> list[str]:
    parameters = node.child_by_field_name("parameters") or node.child_by_field_name("parameter")
    if parameters is None:
        return []
    if parameters.type == "identifier":
        return [_text(parameters)]
    return [_text(child) for child in parameters.named_children]


def _text(node: Any) -> str:
    return str(node.text.decode("utf-8", "replace"))


def _short(node: Any) -> str:
    text = " ".join(_text(node).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


# ---------------------------------------------------------------- package imports
def package_value(spec: str, name: str | None) -> Value:
    """What ``import { name } from spec`` (name None: the whole module) gives for an AWS SDK package."""
    if spec == "aws-sdk":
        if name is None or name == "default":
            return Helper("v2-root")
        return _v2_member(name)
    if spec.startswith("aws-sdk/clients/"):
        service = sdk_models.service_for_v2_class(spec.rsplit("/", 1)[1], module=True)
        if service is None:
            return Opaque(spec)
        return ClientClass(service, 2) if name in (None, "default") else Opaque(name)
    if spec == "aws-sdk/lib/dynamodb/document_client":
        return Helper("v2-document-class")
    if not spec.startswith("@aws-sdk/"):
        return None
    service = sdk_models.service_for_v3_package(spec)
    if name is None or name == "default":
        return V3Package(spec, service)
    return _v3_member(spec, service, name)


def _v2_member(name: str) -> Value:
    service = sdk_models.service_for_v2_class(name)
    return ClientClass(service, 2) if service is not None else Opaque(f"AWS.{name}")


def _v3_member(package: str, service: str | None, name: str) -> Value:
    if package == "@aws-sdk/lib-dynamodb":
        return _document_member(name)
    if package == "@aws-sdk/lib-storage" and name == "Upload":
        return Helper("upload", "s3")
    if package == "@aws-sdk/s3-request-presigner" and name == "getSignedUrl":
        return Helper("presign")
    if service is None:
        return Opaque(name)
    if name.endswith("Command") and len(name) > len("Command"):
        operation = sdk_models.operation_named(service, name[: -len("Command")])
        return CommandClass(service, operation, name) if operation else Opaque(name)
    if name.endswith("Client"):
        return ClientClass(service, 3)
    for helper, kind in (("paginate", "paginate"), ("waitUntil", "waiter"), ("waitFor", "waiter")):
        if name.startswith(helper) and name[len(helper):len(helper) + 1].isupper():
            return Helper(kind, service, name[len(helper):])
    if name[:1].isupper() and name.isalnum() and _is_aggregated(service, name):
        return ClientClass(service, 3, aggregated=True)
    return Opaque(name)


def _is_aggregated(service: str, name: str) -> bool:
    """``S3`` of ``@aws-sdk/client-s3``: the class named like the service, without ``Client``."""
    meta = sdk_models.metadata(service)
    service_id = str(meta.get("serviceId", "")).replace(" ", "").replace("-", "")
    return name.lower() in (service_id.lower(), service.replace("-", "").lower())


def _document_member(name: str) -> Value:
    if name == "DynamoDBDocumentClient":
        return ClientClass("dynamodb", 3, aggregated=False, document=True)
    if name == "DynamoDBDocument":
        return ClientClass("dynamodb", 3, aggregated=True, document=True)
    if name.endswith("Command"):
        operation = sdk_models.curated()["document_client"].get(name[: -len("Command")])
        if operation:
            return CommandClass("dynamodb", operation, name, document=True)
    if name in ("paginateQuery", "paginateScan"):
        return Helper("paginate", "dynamodb", name[len("paginate"):])
    return Opaque(name)


# ---------------------------------------------------------------- the interpreter
class _Interpreter:
    def __init__(self, program: _Program, frame: Frame) -> None:
        self.program = program
        self.frame = frame

    # ------------------------------------------------------------ variables
    def lookup(self, name: str) -> Value:
        for scope in self.frame.scopes:
            if name in scope:
                return scope[name]
        if name == "process":
            return Helper("process")
        if name in ("module", "exports", "require"):
            return Helper(name)
        return Opaque(name)

    def declare(self, name: str, value: Value) -> None:
        scope = self.frame.scopes[0]
        previous = scope.get(name)
        if _is_sdk(previous) and not _keeps(value):
            return
        scope[name] = value

    def assign_name(self, name: str, value: Value) -> None:
        for scope in self.frame.scopes:
            if name in scope:
                if _is_sdk(scope[name]) and not _keeps(value):
                    return
                if scope is not self.frame.scopes[0] and scope.get(name) != value:
                    self.program.state_version += 1
                scope[name] = value
                return
        self.frame.scopes[0][name] = value

    def bind_pattern(self, pattern: Any, value: Value) -> None:
        kind = pattern.type
        if kind == "identifier":
            self.declare(_text(pattern), value)
        elif kind == "object_pattern":
            for child in pattern.named_children:
                self._bind_property(child, value)
        elif kind == "array_pattern":
            items = value.items if isinstance(value, Seq) else ()
            for index, child in enumerate(pattern.named_children):
                self.bind_pattern(child, items[index] if index < len(items) else Opaque(_short(child)))
        elif kind == "assignment_pattern":
            left, right = pattern.child_by_field_name("left"), pattern.child_by_field_name("right")
            self.bind_pattern(left, self._default(value, right))
        elif kind == "rest_pattern":
            for child in pattern.named_children:
                self.bind_pattern(child, Opaque(_short(pattern)))

    def _bind_property(self, child: Any, value: Value) -> None:
        if child.type == "shorthand_property_identifier_pattern":
            name = _text(child)
            self.declare(name, self.member(value, name, child))
        elif child.type == "object_assignment_pattern":
            left, right = child.child_by_field_name("left"), child.child_by_field_name("right")
            found = self._default(self.member(value, _text(left), child), right)
            if left.type == "shorthand_property_identifier_pattern":
                self.declare(_text(left), found)
            else:
                self.bind_pattern(left, found)
        elif child.type == "pair_pattern":
            key = child.child_by_field_name("key")
            target = child.child_by_field_name("value")
            name = _text(key).strip("'\"")
            self.bind_pattern(target, self.member(value, name, child))
        elif child.type == "rest_pattern":
            for inner in child.named_children:
                self.bind_pattern(inner, Opaque("rest"))

    def _default(self, value: Value, default_node: Any) -> Value:
        default = self.eval(default_node)
        if isinstance(value, Text) and len(value.pieces) == 1 and isinstance(value.pieces[0], EnvRef) \
                and isinstance(default, Text) and default.literal() is not None:
            return Text((EnvRef(value.pieces[0].name, default.literal()),))
        return value if not isinstance(value, Opaque) else default

    def bind_parameters(self, node: Any, args: list[Value]) -> None:
        parameters = node.child_by_field_name("parameters") or node.child_by_field_name("parameter")
        if parameters is None:
            return
        items = [parameters] if parameters.type == "identifier" else parameters.named_children
        for index, item in enumerate(items):
            if item.type == "rest_pattern":
                self.bind_pattern(item.named_children[0], Seq(tuple(as_param(a) for a in args[index:])))
                continue
            self.bind_pattern(item, args[index] if index < len(args) else Opaque(f"parameter {_short(item)}"))

    # ------------------------------------------------------------ statements
    def body(self, node: Any) -> None:
        self._hoist(node)
        for child in node.named_children:
            self.statement(child)

    def _hoist(self, node: Any) -> None:
        for child in node.named_children:
            declaration = child.child_by_field_name("declaration") if child.type == "export_statement" else child
            if declaration is not None and declaration.type in ("function_declaration",
                                                               "generator_function_declaration"):
                self._function_declaration(declaration, register=False)

    def finish_nested(self) -> None:
        for func in self.frame.nested:
            if id(func.node) not in self.frame.called:
                self.program.invoke(func, [Opaque(f"parameter {n}") for n in _parameter_names(func.node)], self.frame)

    def statement(self, node: Any) -> None:
        self.program.step()
        kind = node.type
        if kind in ("lexical_declaration", "variable_declaration"):
            for declarator in node.named_children:
                if declarator.type == "variable_declarator":
                    value_node = declarator.child_by_field_name("value")
                    value = self.eval(value_node) if value_node is not None else Opaque("undefined")
                    self.bind_pattern(declarator.child_by_field_name("name"), value)
        elif kind in ("function_declaration", "generator_function_declaration"):
            self._function_declaration(node, register=True)
        elif kind == "class_declaration":
            self._class(node)
        elif kind == "return_statement":
            values = [self.eval(child) for child in node.named_children]
            self.frame.returns.append(values[0] if values else Opaque("undefined"))
        elif kind == "import_statement":
            self._import(node)
        elif kind == "export_statement":
            self._export(node)
        elif kind == "for_in_statement":
            right = node.child_by_field_name("right")
            element = self._element(self.eval(right)) if right is not None else Opaque("item")
            left = node.child_by_field_name("left")
            if left is not None:
                self.bind_pattern(left, element)
            self._children(node, skip=frozenset({"left", "right"}))
        elif kind in ("statement_block", "program"):
            self.body(node)
        elif kind == "expression_statement":
            for child in node.named_children:
                self.eval(child)
        elif kind in ("comment", "empty_statement", "debugger_statement", "hash_bang_line"):
            return
        else:
            self._children(node)

    def _children(self, node: Any, skip: frozenset[str] = frozenset()) -> None:
        for index, child in enumerate(node.children):
            if not child.is_named or node.field_name_for_child(index) in skip:
                continue
            if child.type.endswith(("_statement", "_declaration")) or child.type in ("statement_block",
                                                                                       "switch_body", "switch_case",
                                                                                       "switch_default",
                                                                                       "else_clause",
                                                                                       "catch_clause",
                                                                                       "finally_clause"):
                self.statement(child)
            else:
                self.eval(child)

    def _function_declaration(self, node: Any, register: bool) -> None:
        name_node = node.child_by_field_name("name")
        name = _text(name_node) if name_node is not None else "<anonymous>"
        existing = self.frame.scopes[0].get(name)
        if isinstance(existing, Func) and existing.node == node:
            return
        func = self._function(node, name)
        self.frame.scopes[0][name] = func

    def _function(self, node: Any, name: str) -> Func:
        frame = self.frame
        at_module = len(frame.scopes) == 1
        func = Func(frame.module.path, name, node, None if at_module else frame.scopes, this=None)
        if at_module:
            if all(f.node != node for f in frame.module.functions):
                frame.module.functions.append(func)
        elif all(f.node != node for f in frame.nested):
            frame.nested.append(func)
        return func

    def _class(self, node: Any) -> Value:
        name_node = node.child_by_field_name("name")
        name = _text(name_node) if name_node is not None else f"<class@{node.start_byte}>"
        module = self.frame.module
        info = ClassInfo(module.path, name)
        heritage = next((c for c in node.named_children if c.type == "class_heritage"), None)
        if heritage is not None and heritage.named_children:
            info.parent = self.eval(heritage.named_children[-1])
        module.classes[name] = info
        instance = Instance(module.path, name)
        body = node.child_by_field_name("body")
        for member in body.named_children if body is not None else ():
            if member.type == "method_definition":
                method_name = _text(member.child_by_field_name("name"))
                info.methods[method_name] = member
                is_static = any(child.type == "static" for child in member.children)
                func = Func(module.path, f"{name}.{method_name}", member, None if len(self.frame.scopes) == 1
                            else self.frame.scopes, this=None if is_static else instance)
                if method_name != "constructor":
                    module.functions.append(func)
            elif member.type == "field_definition":
                prop = member.child_by_field_name("property")
                value = member.child_by_field_name("value")
                if prop is not None and value is not None:
                    info.attributes[_text(prop)] = self.eval(value)
        value = JsClass(module.path, name)
        if name_node is not None:
            self.declare(name, value)
        return value

    def _import(self, node: Any) -> None:
        source = node.child_by_field_name("source")
        if source is None:
            return
        spec = _string(source)
        clause = next((c for c in node.named_children if c.type == "import_clause"), None)
        if clause is None:
            self.import_value(spec, None, node)  # import "./side-effects.js"
            return
        for child in clause.named_children:
            if child.type == "identifier":
                self.declare(_text(child), self.import_value(spec, "default", node))
            elif child.type == "namespace_import":
                self.declare(_text(child.named_children[-1]), self.import_value(spec, None, node))
            elif child.type == "named_imports":
                for specifier in child.named_children:
                    if specifier.type != "import_specifier":
                        continue
                    imported = _text(specifier.child_by_field_name("name")).strip("'\"")
                    alias = specifier.child_by_field_name("alias")
                    self.declare(_text(alias) if alias is not None else imported,
                                 self.import_value(spec, imported, node))

    def import_value(self, spec: str, name: str | None, node: Any) -> Value:
        sdk = package_value(spec, name)
        if sdk is not None:
            return sdk
        path = self.program.resolve(self.frame.module.path, spec)
        if path is None:
            return Opaque(f"{spec}.{name}" if name else spec)
        module = self.program.module(path)
        if module is None:
            return Opaque(spec)
        self.program.execute_module(module)
        whole = module.replaced if module.replaced is not None else Exports(path)
        if name is None:
            return whole
        if name == "default":
            return module.exports.get("default", whole)
        if name in module.exports:
            return module.exports[name]
        return self.member(whole, name, node) if module.replaced is not None else Opaque(name)

    def _export(self, node: Any) -> None:
        exports = self.frame.module.exports
        declaration = node.child_by_field_name("declaration")
        value_node = node.child_by_field_name("value")
        if declaration is not None:
            self.statement(declaration)
            for name in _declared_names(declaration):
                exports[name] = self.lookup(name)
            return
        if value_node is not None:
            exports["default"] = self.eval(value_node)
            return
        source = node.child_by_field_name("source")
        for clause in (c for c in node.named_children if c.type == "export_clause"):
            for specifier in clause.named_children:
                name = _text(specifier.child_by_field_name("name"))
                alias = specifier.child_by_field_name("alias")
                value = self.import_value(_string(source), name, node) if source is not None else self.lookup(name)
                exports[_text(alias) if alias is not None else name] = value

    # ------------------------------------------------------------ expressions
    def eval(self, node: Any) -> Value:
        if node is None:
            return Opaque("undefined")
        self.program.step()
        method = _EXPRESSIONS.get(node.type)
        if method is not None:
            return method(self, node)
        for child in node.children:
            if child.is_named:
                if child.type == "statement_block":
                    self.statement(child)
                else:
                    self.eval(child)
        return Opaque(_short(node))

    def _e_identifier(self, node: Any) -> Value:
        return self.lookup(_text(node))

    _e_shorthand_property_identifier = _e_identifier

    def _e_this(self, node: Any) -> Value:
        return self.frame.this if self.frame.this is not None else Opaque("this")

    def _e_string(self, node: Any) -> Value:
        return Text.of(_string(node))

    def _e_number(self, node: Any) -> Value:
        return Text.of(_text(node))

    def _e_true(self, node: Any) -> Value:
        return Text.of("true")

    _e_false = _e_true

    def _e_template_string(self, node: Any) -> Value:
        parts: list[Text] = []
        for child in node.named_children:
            if child.type == "template_substitution":
                inner = child.named_children[0] if child.named_children else None
                parts.append(_as_text(self.eval(inner), inner))
            elif child.type in ("string_fragment", "escape_sequence"):
                parts.append(Text.of(_unescape(_text(child)) if child.type == "escape_sequence" else _text(child)))
        return join_texts(parts)

    def _e_parenthesized_expression(self, node: Any) -> Value:
        values = [self.eval(child) for child in node.named_children]
        return values[-1] if values else Opaque("()")

    def _e_await_expression(self, node: Any) -> Value:
        return self.eval(node.named_children[0]) if node.named_children else Opaque("await")

    _e_non_null_expression = _e_await_expression

    def _e_binary_expression(self, node: Any) -> Value:
        left = self.eval(node.child_by_field_name("left"))
        right = self.eval(node.child_by_field_name("right"))
        operator = _text(node.child_by_field_name("operator"))
        if operator == "+" and (isinstance(left, Text) or isinstance(right, Text)):
            return _as_text(left, node.child_by_field_name("left")).concat(
                _as_text(right, node.child_by_field_name("right")))
        if operator in ("||", "??"):
            if isinstance(left, Text) and len(left.pieces) == 1 and isinstance(left.pieces[0], EnvRef) \
                    and isinstance(right, Text) and right.literal() is not None and left.pieces[0].default is None:
                return Text((EnvRef(left.pieces[0].name, right.literal()),))
            return left if _keeps(left) or not _keeps(right) else right
        return Opaque(_short(node))

    def _e_ternary_expression(self, node: Any) -> Value:
        self.eval(node.child_by_field_name("condition"))
        consequence = self.eval(node.child_by_field_name("consequence"))
        alternative = self.eval(node.child_by_field_name("alternative"))
        return consequence if _keeps(consequence) or not _keeps(alternative) else alternative

    def _e_assignment_expression(self, node: Any) -> Value:
        left = node.child_by_field_name("left")
        value = self.eval(node.child_by_field_name("right"))
        self.assign(left, value)
        return value

    def assign(self, left: Any, value: Value) -> None:
        if left.type == "identifier":
            self.assign_name(_text(left), value)
        elif left.type == "member_expression":
            owner_node = left.child_by_field_name("object")
            name = _text(left.child_by_field_name("property"))
            owner_text = _text(owner_node)
            module = self.frame.module
            if owner_text == "module" and name == "exports":
                module.replaced = value
                if isinstance(value, JsObject):
                    module.exports.update(dict(value.fields))
                return
            if owner_text in ("exports", "module.exports"):
                module.exports[name] = value
                return
            owner = self.eval(owner_node)
            if isinstance(owner, Instance):
                self._set_attribute(owner, name, value)
        elif left.type in ("object_pattern", "array_pattern"):
            self.bind_pattern(left, value)

    def _set_attribute(self, instance: Instance, name: str, value: Value) -> None:
        module = self.program.modules.get(instance.module)
        info = module.classes.get(instance.name) if module is not None else None
        if info is None:
            return
        previous = info.attributes.get(name)
        if _is_sdk(previous) and not _keeps(value):
            return
        if previous != value:
            info.attributes[name] = value
            self.program.state_version += 1

    def _attribute(self, instance: Instance, name: str, depth: int = 0) -> Value | None:
        module = self.program.modules.get(instance.module)
        info = module.classes.get(instance.name) if module is not None else None
        if info is None or depth > 8:
            return None
        if name in info.attributes:
            return info.attributes[name]
        if name in info.methods:
            method = info.methods[name]
            return Func(instance.module, f"{instance.name}.{name}", method, None, this=instance)
        if isinstance(info.parent, JsClass):
            found = self._attribute(Instance(info.parent.module, info.parent.name), name, depth + 1)
            if isinstance(found, Func):
                return Func(found.module, found.name, found.node, found.scopes, this=instance)
            return found
        return None

    def _e_object(self, node: Any) -> Value:
        items: list[tuple[str, Value]] = []
        for child in node.named_children:
            if child.type == "pair":
                key = child.child_by_field_name("key")
                name = self._key(key)
                items.append((name, self.eval(child.child_by_field_name("value"))))
            elif child.type == "shorthand_property_identifier":
                items.append((_text(child), self.lookup(_text(child))))
            elif child.type == "spread_element":
                spread = self.eval(child.named_children[0]) if child.named_children else None
                if isinstance(spread, Struct):
                    items.extend((key.literal() or "", value) for key, value in spread.items)
                elif isinstance(spread, JsObject):
                    items.extend(spread.fields)
            elif child.type == "method_definition":
                name = _text(child.child_by_field_name("name"))
                items.append((name, self._function(child, name)))
        if all(isinstance(value, (Text, Struct, Seq, Opaque)) for _, value in items):
            return Struct(tuple((Text.of(name), value) for name, value in items))
        return JsObject(tuple(items))

    def _key(self, key: Any) -> str:
        if key.type == "string":
            return _string(key)
        if key.type == "computed_property_name":
            value = self.eval(key.named_children[0]) if key.named_children else None
            return (value.literal() or "?") if isinstance(value, Text) else "?"
        return _text(key)

    def _e_array(self, node: Any) -> Value:
        items: list[ParamValue] = []
        for child in node.named_children:
            if child.type == "spread_element":
                spread = self.eval(child.named_children[0]) if child.named_children else None
                items.extend(spread.items if isinstance(spread, Seq) else [Opaque(_short(child))])
            else:
                items.append(as_param(self.eval(child)))
        return Seq(tuple(items))

    def _e_arrow_function(self, node: Any) -> Value:
        return self._function(node, "<arrow>")

    _e_function_expression = _e_arrow_function
    _e_function = _e_arrow_function
    _e_generator_function = _e_arrow_function

    def _e_class(self, node: Any) -> Value:
        return self._class(node)

    def _e_subscript_expression(self, node: Any) -> Value:
        owner = self.eval(node.child_by_field_name("object"))
        index = self.eval(node.child_by_field_name("index"))
        name = index.literal() if isinstance(index, Text) else None
        if name is not None:
            return self.member(owner, name, node)
        if isinstance(owner, Helper) and owner.kind == "process-env":
            return Text.unknown(_short(node))
        return Opaque(_short(node))

    def _e_member_expression(self, node: Any) -> Value:
        owner = self.eval(node.child_by_field_name("object"))
        return self.member(owner, _text(node.child_by_field_name("property")), node)

    def member(self, owner: Value, name: str, node: Any) -> Value:
        if isinstance(owner, Helper):
            if owner.kind == "process" and name == "env":
                return Helper("process-env")
            if owner.kind == "process-env":
                return Text((EnvRef(name),))
            if owner.kind == "v2-root":
                return _v2_member(name)
            if owner.kind == "module" and name == "exports":
                module = self.frame.module
                return module.replaced if module.replaced is not None else Exports(module.path)
        if isinstance(owner, ClientClass) and owner.version == 2 and owner.service == "dynamodb" \
                and name == "DocumentClient":
            return Helper("v2-document-class")
        if isinstance(owner, ClientClass) and owner.document and name == "from":
            return Helper("from", "dynamodb", aggregated=owner.aggregated)
        if isinstance(owner, V3Package):
            return _v3_member(owner.package, owner.service, name)
        if isinstance(owner, Struct):
            found = owner.get(name)
            return found if found is not None else Opaque(name)
        if isinstance(owner, JsObject):
            return dict(owner.fields).get(name, Opaque(name))
        if isinstance(owner, Exports):
            exporter = self.program.modules.get(owner.module)
            return exporter.exports.get(name, Opaque(name)) if exporter is not None else Opaque(name)
        if isinstance(owner, Instance):
            found = self._attribute(owner, name)
            return found if found is not None else Opaque(f"this.{name}")
        if isinstance(owner, JsClass):
            found = self._attribute(Instance(owner.module, owner.name), name)
            if isinstance(found, Func):
                return Func(found.module, found.name, found.node, found.scopes, this=None)
            return found if found is not None else Opaque(name)
        if isinstance(owner, Client):
            return _BoundMethod(owner, name) if name not in ("config", "middlewareStack") else Opaque(name)
        return Opaque(name)

    # ------------------------------------------------------------ calls
    def arguments(self, node: Any) -> list[Value]:
        arguments = node.child_by_field_name("arguments")
        if arguments is None:
            return []
        if arguments.type == "template_string":
            return [self.eval(arguments)]
        values: list[Value] = []
        for child in arguments.named_children:
            if child.type == "spread_element":
                spread = self.eval(child.named_children[0]) if child.named_children else None
                values.extend(spread.items if isinstance(spread, Seq) else [Opaque(_short(child))])
            elif child.type != "comment":
                values.append(self.eval(child))
        return values

    def _e_call_expression(self, node: Any) -> Value:
        function = node.child_by_field_name("function")
        if function.type == "identifier" and _text(function) == "require":
            args = self.arguments(node)
            spec = args[0].literal() if args and isinstance(args[0], Text) else None
            return self.import_value(spec, None, node) if spec else Opaque("require(...)")
        if function.type == "import":  # import("./x.js")
            args = self.arguments(node)
            spec = args[0].literal() if args and isinstance(args[0], Text) else None
            return self.import_value(spec, None, node) if spec else Opaque("import(...)")
        if function.type == "member_expression":
            receiver = self.eval(function.child_by_field_name("object"))
            name = _text(function.child_by_field_name("property"))
            return self.method_call(receiver, name, node)
        callee = self.eval(function)
        return self.call(callee, self.arguments(node), node)

    def call(self, callee: Value, args: list[Value], node: Any) -> Value:
        if isinstance(callee, Func):
            if callee.scopes is not None:
                self.frame.called.add(id(callee.node))
            return self.program.invoke(callee, args, self.frame)
        if isinstance(callee, Helper):
            return self._helper_call(callee, args, node)
        if isinstance(callee, _BoundMethod):
            return _Clients(self, node).call(callee.client, callee.name, args)
        return Opaque(_short(node))

    def method_call(self, receiver: Value, name: str, node: Any) -> Value:
        args = self.arguments(node)
        if isinstance(receiver, Client):
            return _Clients(self, node).call(receiver, name, args)
        if isinstance(receiver, Func) and name in ("call", "apply", "bind"):
            return self.call(receiver, args[1:] if name == "call" else [], node) if name != "bind" else receiver
        if name in ("then", "catch", "finally"):
            return receiver  # the callbacks are analysed like any function nothing calls directly
        if name == "promise" and not isinstance(receiver, (Instance, Exports, JsObject)):
            return receiver
        callee = self.member(receiver, name, node)
        return self.call(callee, args, node)

    def _helper_call(self, helper: Helper, args: list[Value], node: Any) -> Value:
        program = self.program
        if helper.kind == "paginate":
            operation = sdk_models.operation_named(helper.service, helper.name)
            if operation and len(args) > 1:
                program.record(self.frame, node, helper.service, operation, f"paginate{helper.name}",
                               _struct(args[1]), "paginator")
            return Opaque("pages")
        if helper.kind == "waiter":
            operation = sdk_models.waiter_operation(helper.service, helper.name)
            if operation:
                program.record(self.frame, node, helper.service, operation, f"waitUntil{helper.name}",
                               _struct(args[1] if len(args) > 1 else None), "waiter")
            return Opaque("waited")
        if helper.kind == "from":
            return Client("dynamodb", 3, aggregated=helper.aggregated, document=True)
        if helper.kind == "require":
            spec = args[0].literal() if args and isinstance(args[0], Text) else None
            return self.import_value(spec, None, node) if spec else Opaque("require(...)")
        return Opaque(_short(node))

    def _e_new_expression(self, node: Any) -> Value:
        constructor = self.eval(node.child_by_field_name("constructor"))
        args = self.arguments(node)
        if isinstance(constructor, ClientClass):
            config = _struct(args[0] if args else None)
            credentials = any(config.get(name) is not None for name in ("credentials", "accessKeyId"))
            return Client(constructor.service, constructor.version, constructor.aggregated, constructor.document,
                          credentials)
        if isinstance(constructor, Helper) and constructor.kind == "v2-document-class":
            return Client("dynamodb", 2, aggregated=True, document=True)
        if isinstance(constructor, CommandClass):
            via = "document client command" if constructor.document else "SDK v3 command"
            self.program.record(self.frame, node, constructor.service, constructor.operation, constructor.name,
                                _struct(args[0] if args else None), via)
            return Command(constructor.service, constructor.operation)
        if isinstance(constructor, Helper) and constructor.kind == "upload":
            upload = args[0] if args else None
            params = upload.get("params") if isinstance(upload, Struct) else (
                dict(upload.fields).get("params") if isinstance(upload, JsObject) else None)
            for operation in ("PutObject", "CreateMultipartUpload"):
                self.program.record(self.frame, node, "s3", operation, "Upload", _struct(params), "lib-storage Upload")
            return Opaque("upload")
        if isinstance(constructor, JsClass):
            instance = Instance(constructor.module, constructor.name)
            init = self._attribute(instance, "constructor")
            if isinstance(init, Func):
                self.program.invoke(init, args, self.frame)
            return instance
        return Opaque(_short(node))

    def _element(self, iterable: Value) -> Value:
        if isinstance(iterable, Seq) and iterable.items:
            first = iterable.items[0]
            return first if all(item == first for item in iterable.items) else Opaque("an item")
        return Opaque("an item")


# The interpreter's handlers by node type (``_e_call_expression`` handles ``call_expression``), looked up once.
_EXPRESSIONS: Final[dict[str, Any]] = {name[len("_e_"):]: handler for name, handler in vars(_Interpreter).items()
                                       if name.startswith("_e_")}


@dataclass(frozen=True)
class _BoundMethod:
    client: Client
    name: str


def _declared_names(node: Any) -> Iterator[str]:
    if node.type in ("function_declaration", "generator_function_declaration", "class_declaration"):
        name = node.child_by_field_name("name")
        if name is not None:
            yield _text(name)
    elif node.type in ("lexical_declaration", "variable_declaration"):
        for declarator in node.named_children:
            target = declarator.child_by_field_name("name") if declarator.type == "variable_declarator" else None
            if target is not None and target.type == "identifier":
                yield _text(target)


def _string(node: Any) -> str:
    if node.type != "string":
        return _text(node)
    return "".join(_unescape(_text(c)) if c.type == "escape_sequence" else _text(c) for c in node.named_children)


def _unescape(sequence: str) -> str:
    simple = {"\\n": "\n", "\\t": "\t", "\\'": "'", '\\"': '"', "\\\\": "\\", "\\/": "/", "\\`": "`", "\\$": "$"}
    return simple.get(sequence, sequence[1:])


def _as_text(value: Value, node: Any) -> Text:
    if isinstance(value, Text):
        return value
    if isinstance(value, Opaque) and value.hint:
        return Text((value,))  # keeps where the value came from ("event.key"), for notes
    return Text.unknown(_short(node) if node is not None else "?")


def _struct(value: Value) -> Struct:
    if isinstance(value, Struct):
        return value
    if isinstance(value, JsObject):
        return Struct(tuple((Text.of(name), as_param(item)) for name, item in value.fields))
    return Struct()


# ---------------------------------------------------------------- clients
_V2_HELPERS: Final = frozenset({"promise", "on", "send", "abort", "createReadStream", "eachPage", "eachItem",
                                "setPromisesDependency", "config", "endpoint", "waitFor", "makeRequest",
                                "makeUnauthenticatedRequest"})


class _Clients:
    def __init__(self, interpreter: _Interpreter, node: Any) -> None:
        self.interpreter = interpreter
        self.node = node

    def call(self, client: Client, name: str, args: list[Value]) -> Value:
        program = self.interpreter.program
        frame = self.interpreter.frame
        if client.service is None:
            program.note("dynamic-call", f"{name}: called on a client whose service is not known statically",
                         program.location(frame, self.node))
            return Opaque(name)
        service = client.service
        if name == "send" and client.version == 3:
            if not args or not isinstance(args[0], Command):
                program.note("dynamic-call", f"{service} client send(): the command is not known statically",
                             program.location(frame, self.node))
            return Opaque("response")
        if name in ("destroy", "middlewareStack", "config"):
            return Opaque(name)
        if client.document:
            operation = sdk_models.curated()["document_client"].get(_pascal(name))
            if operation is None and client.version == 2 and name in ("createSet", "options"):
                return Opaque(name)
            if operation is None:
                return self._unknown(service, name)
            program.record(frame, self.node, "dynamodb", operation, name, _struct(args[0] if args else None),
                           "document client", client.credentials)
            return Opaque(f"{name}()")
        if client.version == 2:
            handled = self._v2_special(service, name, args)
            if handled is not None:
                return handled
        operation = sdk_models.operation_named(service, _pascal(name))
        if operation is None:
            return self._unknown(service, name)
        via = "SDK v2" if client.version == 2 else "SDK v3 client method"
        program.record(frame, self.node, service, operation, name, _struct(args[0] if args else None), via,
                       client.credentials)
        return Opaque(f"{name}()")

    def _unknown(self, service: str, name: str) -> Value:
        program = self.interpreter.program
        if name in _V2_HELPERS:
            return Opaque(name)
        program.note("unknown-method", f"{service}.{name}: not an operation of {service} in the SDK model",
                     program.location(self.interpreter.frame, self.node))
        return Opaque(f"{name}()")

    def _v2_special(self, service: str, name: str, args: list[Value]) -> Value | None:
        program = self.interpreter.program
        frame = self.interpreter.frame
        if service == "s3" and name == "upload":
            for upload_operation in ("PutObject", "CreateMultipartUpload"):
                program.record(frame, self.node, "s3", upload_operation, name, _struct(args[0] if args else None),
                               "S3 managed upload")
            return Opaque("upload")
        if name in ("getSignedUrl", "getSignedUrlPromise", "waitFor", "makeRequest"):
            chosen = args[0].literal() if args and isinstance(args[0], Text) else None
            if chosen is None:
                program.note("dynamic-call", f"{service}.{name}: the operation is not known statically",
                             program.location(frame, self.node))
                return Opaque(name)
            operation = (sdk_models.waiter_operation(service, _pascal(chosen)) if name == "waitFor"
                         else sdk_models.operation_named(service, _pascal(chosen)))
            if operation is not None:
                via = "waiter" if name == "waitFor" else "presigned URL" if name.startswith("getSigned") else "SDK v2"
                program.record(frame, self.node, service, operation, name,
                               _struct(args[1] if len(args) > 1 else None), via)
            else:
                program.note("unknown-method", f"{service}.{name}('{chosen}'): no such operation",
                             program.location(frame, self.node))
            return Opaque(name)
        if service == "s3" and name == "createPresignedPost":
            program.record(frame, self.node, "s3", "PutObject", name, _struct(args[0] if args else None),
                           "presigned POST")
            return Opaque(name)
        return None
