"""Which AWS operations Python code calls through boto3, found statically with the standard ``ast`` module.

The code is parsed, never imported or run. A small abstract interpreter walks each module: it knows what
``boto3.client``, ``boto3.resource``, sessions, paginators, waiters, boto3's resource objects (``Table``,
``Bucket``, ``Object``, ``Queue``...), their collections and the S3 transfer helpers return, follows values
through variables, attributes of ``self``, function parameters and return values (within a file and across the
modules of the function's own code), and tracks strings in parts (literals, f-strings, concatenation,
``os.environ``) so request parameters can later become resource ARNs.

Scope. With a handler (``app.lambda_handler``) the analysis starts at the handler's module and follows its imports
through the function's own code; without one, every Python file is an entry point. Packages installed into the
code location (listed by a ``*.dist-info``) are dependencies, not analysed. A module is interpreted when it may
touch the SDK: it mentions boto3/botocore/aioboto3, or imports such a module; the others are only scanned for
imports, which keeps a package of thousands of files fast.

Precision. A function called from analysed code is analysed once per distinct set of argument values (a
helper ``put(table_name)`` called with two tables yields two calls); a function nothing calls (the handler, a
callback registered with a framework) is analysed with unknown parameters. Branches are not distinguished:
every call on every path counts.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Iterator
from typing import Any, Final

from lambdasec.fast_dataclass import dataclass, field

from ..model.location import Location
from . import sdk_models
from .code_source import MAX_SOURCE_BYTES, CodeSource, source_files, third_party_roots
from .sdk_calls import CodeAnalysis, EnvRef, Opaque, ParamValue, SdkCall, Seq, Struct, Text, join_texts
from .sdk_program import MAX_CONTEXTS, MAX_DEPTH, Program, as_param, join_returned, sdk_reaching

_SDK_MARKER: Final = re.compile(rb"\b(?:boto3|botocore|aioboto3|aiobotocore)\b")
_IMPORT_LINE: Final = re.compile(
    r"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]+)|import[ \t]+([^\n#;]+))", re.MULTILINE)
_SDK_ROOTS: Final = frozenset({"boto3", "botocore", "aioboto3", "aiobotocore", "s3transfer"})


# ---------------------------------------------------------------- abstract values
@dataclass(frozen=True)
class SdkModule:
    name: str  # "boto3", "boto3.session", "botocore.session", "aioboto3"


@dataclass(frozen=True)
class Factory:
    kind: str  # "client" | "resource" | "session" | "botocore-session"


@dataclass(frozen=True)
class Session:
    credentials: bool = False  # built with credentials of its own (keys or a profile), not the role's


@dataclass(frozen=True)
class Client:
    service: str | None  # None: the service name is not known statically
    credentials: bool = False  # built with credentials of its own: its calls do not use the role


@dataclass(frozen=True)
class ResourceObj:
    service: str
    type: str | None  # None: the service resource (``boto3.resource("s3")``)
    identifiers: tuple[tuple[str, ParamValue], ...] = ()
    many: bool = False  # a list of resources (an action's response), iterated to get one


@dataclass(frozen=True)
class Collection:
    service: str
    owner: str | None  # resource type holding the collection, None for the service resource
    name: str  # collection name in the model ("Objects")
    identifiers: tuple[tuple[str, ParamValue], ...]
    params: Struct = Struct()


@dataclass(frozen=True)
class Paginator:
    service: str
    operation: str | None
    method: str
    credentials: bool = False


@dataclass(frozen=True)
class Waiter:
    service: str
    operation: str | None
    name: str
    credentials: bool = False


@dataclass(frozen=True)
class BatchWriter:
    table: ParamValue


@dataclass(frozen=True)
class Meta:
    service: str  # ``resource.meta``: its ``client`` is a client of the service


@dataclass(frozen=True)
class ModuleRef:
    name: str  # a first-party module


@dataclass(frozen=True)
class Lazy:
    """A first-party module (or a name in it) that does not touch the SDK: parsed only if the analysis needs it,
    when SDK objects are passed to it."""

    module: str
    attribute: str | None = None


@dataclass(frozen=True)
class External:
    name: str  # anything else imported: "os", "os.environ", "json.dumps"


@dataclass(frozen=True)
class Func:
    module: str
    qualname: str
    node: Any = field(compare=False, hash=False, repr=False)  # ast.FunctionDef | ast.AsyncFunctionDef
    closure: Any = field(default=None, compare=False, hash=False, repr=False)  # enclosing frame's variables
    bound: Any = None  # the instance for a bound method


@dataclass(frozen=True)
class ClassRef:
    module: str
    qualname: str


@dataclass(frozen=True)
class Instance:
    module: str
    qualname: str


Value = Any  # one of the classes above, a Text/Struct/Seq, or an Opaque for anything unknown
_SDK_VALUES = (SdkModule, Factory, Session, Client, ResourceObj, Collection, Paginator, Waiter, BatchWriter, Meta)


def is_sdk(value: Value) -> bool:
    return isinstance(value, _SDK_VALUES)


# ---------------------------------------------------------------- program structure
@dataclass
class ClassInfo:
    module: str
    qualname: str
    node: ast.ClassDef
    bases: list[Value] = field(default_factory=list)
    methods: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    attributes: dict[str, Value] = field(default_factory=dict)  # class body and ``self.x = ...`` assignments


@dataclass
class Module:
    name: str  # dotted name ("app", "pkg.helpers")
    path: str  # relative to the code root
    tree: ast.Module
    is_package: bool
    globals: dict[str, Value] = field(default_factory=dict)
    classes: dict[str, ClassInfo] = field(default_factory=dict)
    functions: list[Func] = field(default_factory=list)  # every def, for root analysis
    executed: bool = False
    executing: bool = False


@dataclass
class Frame:
    module: Module
    variables: dict[str, Value]
    owner: str  # the function (or module top level) being analysed: "module:qualname"
    context: int  # the analysis context calls are recorded under
    depth: int = 0
    closure: dict[str, Value] | None = None
    declared_global: set[str] = field(default_factory=set)
    returns: list[Value] = field(default_factory=list)
    nested: list[Func] = field(default_factory=list)
    called_nested: set[int] = field(default_factory=set)
    cls: ClassInfo | None = None  # the class whose body is executing
    qualname: str = ""  # of the function being analysed


# ---------------------------------------------------------------- entry point
def analyse_python(source: CodeSource, handler: str | None = None, prefix: str = "") -> CodeAnalysis:
    """The boto3 calls of the Python code in ``source``; ``handler`` (``app.lambda_handler``) narrows the analysis
    to what the handler's module reaches. ``prefix`` is put before file paths in locations."""
    return _Program(source, prefix).run(handler)


class _Program(Program):
    def __init__(self, source: CodeSource, prefix: str) -> None:
        self.third_party = third_party_roots(source) | _SDK_ROOTS
        self.paths: dict[str, str] = {}  # module name -> file
        self.packages: set[str] = set()
        self.texts: dict[str, str] = {}  # file -> decoded text (read once)
        self.modules: dict[str, Module | None] = {}
        self.relevant: set[str] = set()
        self.client_credentials = False  # set while a call on a client with its own credentials is recorded
        super().__init__(source, prefix, "python")

    # ------------------------------------------------------------ modules and files
    def _prepare(self) -> None:  # which files are which modules
        for path in source_files(self.source, (".py",)):
            top = path.split("/", 1)[0]
            if top in self.third_party or top.endswith((".dist-info", ".egg-info")):
                continue
            name = path[: -len(".py")].replace("/", ".")
            if name.endswith(".__init__"):
                name = name[: -len(".__init__")]
                self.packages.add(name)
            if all(part.isidentifier() for part in name.split(".")):
                self.paths.setdefault(name, path)

    def _text(self, path: str) -> str | None:
        if path in self.texts:
            return self.texts[path]
        data = self.source.read(path)
        if data is None:
            size = self.source.size(path)
            too_large = size is not None and size > MAX_SOURCE_BYTES  # else damaged (a bad CRC) or gone
            reason = f"larger than {MAX_SOURCE_BYTES} bytes" if too_large else "unreadable"
            self.note("skipped-file", f"{path}: not analysed ({reason})", Location(self._shown(path)))
            self.texts[path] = ""
            return None
        if b"\x00" in data[:8192]:
            self.note("skipped-file", f"{path}: binary content, not analysed", Location(self._shown(path)))
            self.texts[path] = ""
            return None
        text = data.decode("utf-8", "replace")
        self.texts[path] = text
        return text

    def module(self, name: str) -> Module | None:
        if name in self.modules:
            return self.modules[name]
        path = self.paths.get(name)
        self.modules[name] = None
        if path is None:
            return None
        text = self._text(path)
        if text is None:
            return None
        try:
            tree = ast.parse(text, filename=path)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            line = getattr(exc, "lineno", None)
            message = getattr(exc, "msg", str(exc)) or type(exc).__name__
            self.note("parse-error", f"{path}: not valid Python ({message})", Location(self._shown(path), line))
            return None
        module = Module(name, path, tree, name in self.packages)
        self.modules[name] = module
        self.analysis.files.append(self._shown(path))
        return module

    def resolve_import(self, current: Module, level: int, target: str) -> str:
        """The absolute module name of ``from <level dots><target> import ...`` in ``current``."""
        if level == 0:
            return target
        base = current.name if current.is_package else current.name.rpartition(".")[0]
        for _ in range(level - 1):
            base = base.rpartition(".")[0]
        return f"{base}.{target}".strip(".") if target else base

    # ------------------------------------------------------------ scope
    def _entry_modules(self, handler: str | None) -> list[str]:
        if handler:
            module_path = handler.rpartition(".")[0]
            name = module_path.replace("/", ".").strip(".")
            if name in self.paths:
                return [name]
            self.note("missing-handler", f"handler module of '{handler}' not found: every Python file analysed",
                       Location(self.source.label))
        return sorted(self.paths)

    def _imports_of(self, name: str) -> set[str]:
        """First-party modules a module imports, read with a regex (no parsing)."""
        path = self.paths[name]
        text = self._text(path) or ""
        current = Module(name, path, ast.Module(body=[], type_ignores=[]), name in self.packages)
        found: set[str] = set()
        for match in _IMPORT_LINE.finditer(text):
            source, names, plain = match.groups()
            if plain is not None:
                for item in plain.split(","):
                    found.update(self._prefixes(item.split(" as ")[0].strip()))
                continue
            level = len(source) - len(source.lstrip("."))
            base = self.resolve_import(current, level, source.lstrip("."))
            found.update(self._prefixes(base))
            for item in names.strip("()").replace("\n", " ").split(","):
                item = item.split(" as ")[0].strip().strip("\\").strip()
                if item and item != "*":
                    found.update(self._prefixes(f"{base}.{item}" if base else item))
        return {module for module in found if module in self.paths}

    @staticmethod
    def _prefixes(dotted: str) -> Iterator[str]:
        parts = dotted.split(".")
        for end in range(1, len(parts) + 1):
            yield ".".join(parts[:end])

    def _scope(self, handler: str | None) -> list[str]:
        """Modules to interpret: reachable from the entry modules, and touching the SDK (directly or through
        a module they import)."""
        entries = self._entry_modules(handler)
        imports: dict[str, set[str]] = {}
        queue = list(entries)
        while queue:
            name = queue.pop()
            if name in imports:
                continue
            imports[name] = self._imports_of(name)
            queue.extend(imports[name] - imports.keys())
        relevant = sdk_reaching(imports, {name for name in imports
                                          if _SDK_MARKER.search((self._text(self.paths[name]) or "").encode())})
        if handler and entries:
            relevant.update(entries)
        self.relevant = relevant
        return sorted(relevant)

    # ------------------------------------------------------------ the run
    def _pass(self, scope: list[str]) -> None:
        self._reset()
        for module in self.modules.values():
            if module is not None:
                module.executed = False
                module.globals.clear()
                module.functions.clear()
        for name in scope:
            module = self.module(name)
            if module is None:
                continue
            self.execute_module(module)
        entry = self._entry_function()
        if entry is not None:  # first, so the real call chains claim their contexts before the other roots do
            self.analyse_root(entry)
        for name in scope:
            module = self.modules.get(name)
            if module is None:
                continue
            for func in list(module.functions):
                self.analyse_root(func)

    def _entry_function(self) -> Func | None:
        module_path, _, function = (self.handler or "").rpartition(".")
        module = self.modules.get(module_path.replace("/", ".").strip("."))
        found = module.globals.get(function) if module is not None else None
        return found if isinstance(found, Func) else None

    # ------------------------------------------------------------ notes and calls
    def location(self, frame: Frame, node: ast.AST) -> Location:
        line = getattr(node, "lineno", None)
        column = getattr(node, "col_offset", None)
        return Location(self._shown(frame.module.path), line, column + 1 if column is not None else None)

    def record(self, frame: Frame, node: ast.AST, service: str, operation: str | None, method: str, params: Struct,
               via: str = "", credentials: bool = False) -> None:
        credentials = credentials or self.client_credentials
        call = SdkCall(service, operation, method, params, self.location(frame, node), via, credentials)
        self.calls.setdefault(frame.context, []).append(call)

    def note_at(self, frame: Frame, node: ast.AST, kind: str, message: str) -> None:
        self.note(kind, message, self.location(frame, node))

    # ------------------------------------------------------------ executing modules and functions
    def execute_module(self, module: Module) -> None:
        if module.executed or module.executing:
            return
        module.executing = True
        context = self._new_context(("module", module.name))
        self.module_contexts.append(context)
        try:
            frame = Frame(module, module.globals, owner=f"{module.name}:<module>", context=context)
            _Interpreter(self, frame).block(module.tree.body)
        finally:
            module.executing = False
            module.executed = True

    def module_value(self, name: str, attribute: str | None = None) -> Value:
        """A first-party module's global (after running its top level), or the submodule."""
        if attribute is not None and f"{name}.{attribute}" in self.paths:
            submodule = f"{name}.{attribute}"
            return ModuleRef(submodule) if submodule in self.relevant else Lazy(submodule)
        module = self.module(name)
        if module is None:
            return Opaque(f"{name}.{attribute}" if attribute else name)
        if attribute is None:
            return ModuleRef(name)
        self.execute_module(module)
        return module.globals.get(attribute, Opaque(f"{name}.{attribute}"))

    def analyse_root(self, func: Func) -> None:
        """A function analysed with unknown parameters, as if called from outside the analysed code."""
        arguments = _opaque_parameters(func.node, skip_first=func.bound is not None)
        self.invoke(func, arguments, {}, None, root=True)

    @staticmethod
    def function_id(func: Func) -> str:
        return f"{func.module}:{func.qualname}"

    def invoke(self, func: Func, args: list[Value], kwargs: dict[str, Value], caller: Frame | None,
               root: bool = False) -> Value:
        """Analyse ``func`` with these arguments (once per distinct set), returning its return value."""
        depth = caller.depth + 1 if caller is not None else 0
        module = self.modules.get(func.module)
        name = self.function_id(func)
        if depth > MAX_DEPTH or module is None:
            if module is not None:
                self.depth_cut.add(name)  # not followed from here: its own analysis counts instead
            return Opaque(f"{func.qualname}(...)")
        if caller is not None and not root:
            self.edges.setdefault(caller.owner, set()).add(name)
        key: tuple[Any, ...] = (name, func.bound, tuple(args), tuple(sorted(kwargs.items())), id(func.closure), root)
        context = self.context_ids.get(key)
        if context is None and not root and self.per_function.get(name, 0) >= MAX_CONTEXTS:
            args = [Opaque(f"argument of {func.qualname}") for _ in args]
            kwargs = {keyword: Opaque(f"argument {keyword}") for keyword in kwargs}
            key = (name, func.bound, "shared", id(func.closure))
            context = self.context_ids.get(key)
        if context is not None:
            if caller is not None:
                self.children.setdefault(caller.context, set()).add(context)
            return self.results.get(context, Opaque(f"{func.qualname}(...)"))  # absent while it runs: recursion
        context = self._new_context(key)
        self.per_function[name] = self.per_function.get(name, 0) + 1
        if caller is not None:
            self.children.setdefault(caller.context, set()).add(context)
        if root:
            self.root_contexts[name] = context
        frame = Frame(module, {}, name, context, depth, closure=func.closure, qualname=func.qualname)
        _bind(frame, func, args, kwargs)
        interpreter = _Interpreter(self, frame)
        interpreter.block(func.node.body)
        interpreter.finish_nested()
        result = join_returned(frame.returns, _keeps)
        self.results[context] = result
        return result


def _opaque_parameters(node: ast.FunctionDef | ast.AsyncFunctionDef, skip_first: bool) -> list[Value]:
    names = [arg.arg for arg in (*node.args.posonlyargs, *node.args.args)]
    if skip_first and names:
        names = names[1:]
    return [Opaque(f"parameter {name}") for name in names]


def _bind(frame: Frame, func: Func, args: list[Value], kwargs: dict[str, Value]) -> None:
    spec = func.node.args
    positional = [arg.arg for arg in (*spec.posonlyargs, *spec.args)]
    values = list(args)
    if func.bound is not None:
        values.insert(0, func.bound)
    defaults = list(spec.defaults)
    first_default = len(positional) - len(defaults)
    for index, name in enumerate(positional):
        if index < len(values):
            frame.variables[name] = values[index]
        elif name in kwargs:
            frame.variables[name] = kwargs[name]
        elif index >= first_default:
            frame.variables[name] = _constant(defaults[index - first_default])
        else:
            frame.variables[name] = Opaque(f"parameter {name}")
    for arg, default in zip(spec.kwonlyargs, spec.kw_defaults, strict=True):
        value = kwargs.get(arg.arg)
        frame.variables[arg.arg] = value if value is not None else (
            _constant(default) if default is not None else Opaque(f"parameter {arg.arg}"))
    if spec.vararg is not None:
        frame.variables[spec.vararg.arg] = Seq(tuple(values[len(positional):]))
    if spec.kwarg is not None:
        extra = {k: v for k, v in kwargs.items() if k not in positional}
        frame.variables[spec.kwarg.arg] = Struct(tuple((Text.of(k), as_param(v)) for k, v in extra.items()))


def _constant(node: ast.expr) -> Value:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return Text.of(node.value)
    if isinstance(node, ast.Constant) and isinstance(node.value, (bool, int, float)):
        return Text.of(str(node.value).lower() if isinstance(node.value, bool) else str(node.value))
    return Opaque(_unparse(node))


def _unparse(node: ast.AST, depth: int = 0) -> str:
    """A short rendering of an expression, for notes (``event['key']``, ``client.get(...)``): cheap, since most
    values the analysis sees are unknown and each gets one."""
    if depth > 6:
        return "..."
    if isinstance(node, ast.Name):
        text = node.id
    elif isinstance(node, ast.Attribute):
        text = f"{_unparse(node.value, depth + 1)}.{node.attr}"
    elif isinstance(node, ast.Subscript):
        text = f"{_unparse(node.value, depth + 1)}[{_unparse(node.slice, depth + 1)}]"
    elif isinstance(node, ast.Constant):
        text = repr(node.value)
    elif isinstance(node, ast.Call):
        text = f"{_unparse(node.func, depth + 1)}(...)"
    elif isinstance(node, ast.JoinedStr):
        text = "an f-string"
    else:
        text = f"a {type(node).__name__.lower()} expression"
    return text if len(text) <= 60 else text[:57] + "..."


def _keeps(value: Value) -> bool:
    return is_sdk(value) or isinstance(value, (Instance, Func, ClassRef, ModuleRef))


# ---------------------------------------------------------------- the interpreter
class _Interpreter:
    def __init__(self, program: _Program, frame: Frame) -> None:
        self.program = program
        self.frame = frame

    # ------------------------------------------------------------ variables
    def lookup(self, name: str) -> Value:
        frame = self.frame
        if name in frame.declared_global:
            return frame.module.globals.get(name, Opaque(name))
        if name in frame.variables:
            return frame.variables[name]
        if frame.closure is not None and name in frame.closure:
            return frame.closure[name]
        if name in frame.module.globals:
            return frame.module.globals[name]
        return Opaque(name)

    def assign_name(self, name: str, value: Value) -> None:
        frame = self.frame
        target = frame.module.globals if name in frame.declared_global else frame.variables
        previous = target.get(name)
        # Branches are not told apart: an SDK object is not forgotten when another path assigns something else.
        if is_sdk(previous) and not is_sdk(value) and not isinstance(value, (Instance, Func, ClassRef)):
            return
        if target is frame.module.globals and frame.owner != f"{frame.module.name}:<module>" and \
                _news(previous, value):
            self.program.state_version += 1
        target[name] = value

    def assign(self, target: ast.expr, value: Value) -> None:
        if isinstance(target, ast.Name):
            self.assign_name(target.id, value)
        elif isinstance(target, ast.Attribute):
            owner = self.eval(target.value)
            if isinstance(owner, Instance):
                self._set_attribute(owner, target.attr, value)
            elif isinstance(owner, ClassRef):
                self._set_attribute(Instance(owner.module, owner.qualname), target.attr, value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = value.items if isinstance(value, Seq) and len(value.items) == len(target.elts) else None
            for index, element in enumerate(target.elts):
                if isinstance(element, ast.Starred):
                    self.assign(element.value, Opaque(_unparse(element)))
                else:
                    self.assign(element, items[index] if items is not None else Opaque(_unparse(element)))
        elif isinstance(target, ast.Starred):
            self.assign(target.value, Opaque(_unparse(target)))

    def _class_info(self, module: str, qualname: str) -> ClassInfo | None:
        found = self.program.modules.get(module)
        return found.classes.get(qualname) if found is not None else None

    def _set_attribute(self, instance: Instance, name: str, value: Value) -> None:
        info = self._class_info(instance.module, instance.qualname)
        if info is None:
            return
        previous = info.attributes.get(name)
        if is_sdk(previous) and not is_sdk(value):
            return
        if previous != value:
            info.attributes[name] = value
            if _news(previous, value):
                self.program.state_version += 1

    def _get_attribute(self, instance: Instance, name: str, seen: int = 0) -> Value | None:
        info = self._class_info(instance.module, instance.qualname)
        if info is None or seen > 8:
            return None
        if name in info.attributes:
            return info.attributes[name]
        if name in info.methods:
            node = info.methods[name]
            if any(isinstance(d, ast.Name) and d.id in ("staticmethod", "classmethod") for d in node.decorator_list):
                return Func(info.module, f"{info.qualname}.{name}", node)
            if any(isinstance(d, ast.Name) and d.id == "property" for d in node.decorator_list):
                func = Func(info.module, f"{info.qualname}.{name}", node, bound=instance)
                return self.program.invoke(func, [], {}, self.frame)
            return Func(info.module, f"{info.qualname}.{name}", node, bound=instance)
        for base in info.bases:
            if isinstance(base, ClassRef):
                found = self._get_attribute(Instance(base.module, base.qualname), name, seen + 1)
                if found is not None:
                    # A method found on a base class stays bound to this instance.
                    if isinstance(found, Func) and found.bound is not None:
                        return Func(found.module, found.qualname, found.node, bound=instance)
                    return found
        return None

    # ------------------------------------------------------------ statements
    def block(self, body: list[ast.stmt]) -> None:
        for statement in body:
            self.statement(statement)

    def finish_nested(self) -> None:
        """Nested functions never called where they were defined (callbacks, threads) are analysed with unknown
        parameters, seeing the enclosing function's variables."""
        for func in self.frame.nested:
            if id(func.node) not in self.frame.called_nested:
                arguments = _opaque_parameters(func.node, skip_first=False)
                self.program.invoke(func, arguments, {}, self.frame)

    def statement(self, node: ast.stmt) -> None:
        self.program.step()
        method = _STATEMENTS.get(type(node))
        if method is not None:
            method(self, node)
            return
        for child in ast.iter_child_nodes(node):  # anything else: evaluate what it holds
            if isinstance(child, ast.expr):
                self.eval(child)
            elif isinstance(child, ast.stmt):
                self.statement(child)

    def _stmt_Expr(self, node: ast.Expr) -> None:
        self.eval(node.value)

    def _stmt_Assign(self, node: ast.Assign) -> None:
        value = self.eval(node.value)
        for target in node.targets:
            self.assign(target, value)

    def _stmt_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.assign(node.target, self.eval(node.value))

    def _stmt_AugAssign(self, node: ast.AugAssign) -> None:
        current = self.eval(node.target) if not isinstance(node.target, ast.Subscript) else Opaque("")
        value = self.eval(node.value)
        if isinstance(node.op, ast.Add) and isinstance(current, Text) and isinstance(value, Text):
            self.assign(node.target, current.concat(value))

    def _stmt_Return(self, node: ast.Return) -> None:
        self.frame.returns.append(self.eval(node.value) if node.value is not None else Opaque("None"))

    def _stmt_Global(self, node: ast.Global) -> None:
        self.frame.declared_global.update(node.names)

    def _stmt_Nonlocal(self, node: ast.Nonlocal) -> None:
        return None

    def _stmt_If(self, node: ast.If) -> None:
        self.eval(node.test)
        self.block(node.body)
        self.block(node.orelse)

    def _stmt_While(self, node: ast.While) -> None:
        self.eval(node.test)
        self.block(node.body)
        self.block(node.orelse)

    def _stmt_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.assign(node.target, self.iterate(self.eval(node.iter), node.iter))
        self.block(node.body)
        self.block(node.orelse)

    _stmt_AsyncFor = _stmt_For

    def _stmt_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            value = self.eval(item.context_expr)
            if item.optional_vars is not None:
                # aioboto3 clients and boto3's batch_writer are context managers giving themselves.
                self.assign(item.optional_vars, value)
        self.block(node.body)

    _stmt_AsyncWith = _stmt_With

    def _stmt_Try(self, node: ast.Try) -> None:
        self.block(node.body)
        for handler in node.handlers:
            if handler.name:
                self.assign_name(handler.name, Opaque(handler.name))
            self.block(handler.body)
        self.block(node.orelse)
        self.block(node.finalbody)

    _stmt_TryStar = _stmt_Try

    def _stmt_Match(self, node: Any) -> None:
        self.eval(node.subject)
        for case in node.cases:
            self.block(case.body)

    def _stmt_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        frame = self.frame
        if frame.cls is not None:
            frame.cls.methods[node.name] = node
            return
        at_module = frame.variables is frame.module.globals
        qualname = node.name if at_module else f"{frame.qualname}.<locals>.{node.name}"
        func = Func(frame.module.name, qualname, node, closure=None if at_module else frame.variables)
        for decorator in node.decorator_list:
            self.eval(decorator)
        self.assign_name(node.name, func)
        if at_module:
            frame.module.functions.append(func)
        else:
            frame.nested.append(func)

    _stmt_AsyncFunctionDef = _stmt_FunctionDef

    def _stmt_ClassDef(self, node: ast.ClassDef) -> None:
        frame = self.frame
        qualname = node.name if frame.cls is None else f"{frame.cls.qualname}.{node.name}"
        info = ClassInfo(frame.module.name, qualname, node, [self.eval(base) for base in node.bases])
        frame.module.classes[qualname] = info
        body = Frame(frame.module, {}, frame.owner, frame.context, frame.depth, closure=frame.variables, cls=info)
        _Interpreter(self.program, body).block(node.body)
        for name, value in body.variables.items():
            info.attributes.setdefault(name, value)
        self.assign_name(node.name, ClassRef(frame.module.name, qualname))
        if frame.variables is frame.module.globals:
            instance = Instance(frame.module.name, qualname)
            for name, method in info.methods.items():
                decorated = {d.id for d in method.decorator_list if isinstance(d, ast.Name)}
                bound = None if decorated & {"staticmethod", "classmethod"} else instance
                frame.module.functions.append(Func(frame.module.name, f"{qualname}.{name}", method, bound=bound))

    def _stmt_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            top = alias.name.split(".", 1)[0]
            bound = alias.asname or top
            full = alias.name if alias.asname else top
            self.assign_name(bound, self.imported(full))

    def _stmt_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self.program.resolve_import(self.frame.module, node.level, node.module or "")
        for alias in node.names:
            if alias.name == "*":
                module = self.program.module(base)
                if module is not None:
                    self.program.execute_module(module)
                    for name, value in module.globals.items():
                        if not name.startswith("_"):
                            self.assign_name(name, value)
                continue
            self.assign_name(alias.asname or alias.name, self.imported(base, alias.name))

    def imported(self, name: str, attribute: str | None = None) -> Value:
        """What an import binds: an SDK entry point, a first-party module or value, or an external name."""
        full = f"{name}.{attribute}" if attribute else name
        sdk = _sdk_import(full)
        if sdk is not None:
            return sdk
        top = name.split(".", 1)[0]
        paths = self.program.paths
        if (name in paths or f"{name}.{attribute}" in paths) and top not in self.program.third_party:
            module = full if full in paths else name
            if module not in self.program.relevant:
                return Lazy(module, None if module == full else attribute)
            return self.program.module_value(name, attribute)
        return External(full)

    def resolve_lazy(self, lazy: Lazy) -> Value:
        if lazy.attribute is None:
            return self.program.module_value(lazy.module) if self.program.module(lazy.module) else Opaque(lazy.module)
        return self.program.module_value(lazy.module, lazy.attribute)

    # ------------------------------------------------------------ expressions
    def eval(self, node: ast.expr | None) -> Value:
        if node is None:
            return Opaque("None")
        method = _EXPRESSIONS.get(type(node))
        if method is not None:
            return method(self, node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.eval(child)
        return Opaque(_unparse(node))

    def _expr_Constant(self, node: ast.Constant) -> Value:
        return _constant(node)

    def _expr_Name(self, node: ast.Name) -> Value:
        return self.lookup(node.id)

    def _expr_JoinedStr(self, node: ast.JoinedStr) -> Value:
        parts: list[Text] = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(Text.of(value.value))
            elif isinstance(value, ast.FormattedValue):
                found = self.eval(value.value)
                parts.append(found if isinstance(found, Text) and value.format_spec is None
                             else _as_text(found, value.value))
        return join_texts(parts)

    def _expr_BinOp(self, node: ast.BinOp) -> Value:
        left, right = self.eval(node.left), self.eval(node.right)
        if isinstance(node.op, ast.Add) and (isinstance(left, Text) or isinstance(right, Text)):
            return _as_text(left, node.left).concat(_as_text(right, node.right))
        if isinstance(node.op, ast.Mod) and isinstance(left, Text):
            values = right.items if isinstance(right, Seq) else (right,)
            return _percent_format(left, [_as_text(v, node.right) for v in values])
        return Opaque(_unparse(node))

    def _expr_BoolOp(self, node: ast.BoolOp) -> Value:
        values = [self.eval(value) for value in node.values]
        if isinstance(node.op, ast.Or):
            # ``os.environ.get("T") or "orders"``: the environment variable, with the literal as its default.
            first, rest = values[0], values[1:]
            if isinstance(first, Text) and len(first.pieces) == 1 and isinstance(first.pieces[0], EnvRef) and rest \
                    and isinstance(rest[0], Text) and rest[0].literal() is not None and first.pieces[0].default is None:
                return Text((EnvRef(first.pieces[0].name, rest[0].literal()),))
            for value in values:
                if is_sdk(value):
                    return value
            return values[0]
        return values[-1]

    def _expr_IfExp(self, node: ast.IfExp) -> Value:
        self.eval(node.test)
        body, orelse = self.eval(node.body), self.eval(node.orelse)
        return body if is_sdk(body) or not is_sdk(orelse) else orelse

    def _expr_Await(self, node: ast.Await) -> Value:
        return self.eval(node.value)

    def _expr_NamedExpr(self, node: ast.NamedExpr) -> Value:
        value = self.eval(node.value)
        self.assign(node.target, value)
        return value

    def _expr_Dict(self, node: ast.Dict) -> Value:
        items: list[tuple[Text, ParamValue]] = []
        for key, value in zip(node.keys, node.values, strict=True):
            evaluated = self.eval(value)
            if key is None:  # {**other}
                if isinstance(evaluated, Struct):
                    items.extend(evaluated.items)
                continue
            key_value = self.eval(key)
            items.append((_as_text(key_value, key), as_param(evaluated)))
        return Struct(tuple(items))

    def _expr_List(self, node: ast.List | ast.Tuple | ast.Set) -> Value:
        items: list[ParamValue] = []
        for element in node.elts:
            if isinstance(element, ast.Starred):
                spread = self.eval(element.value)
                if isinstance(spread, Seq):
                    items.extend(spread.items)
                else:
                    items.append(Opaque(_unparse(element)))
            else:
                items.append(as_param(self.eval(element)))
        return Seq(tuple(items))

    _expr_Tuple = _expr_List
    _expr_Set = _expr_List

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> Value:
        saved = dict(self.frame.variables)
        for generator in node.generators:
            self.assign(generator.target, self.iterate(self.eval(generator.iter), generator.iter))
            for condition in generator.ifs:
                self.eval(condition)
        if isinstance(node, ast.DictComp):
            self.eval(node.key)
            element = self.eval(node.value)
        else:
            element = self.eval(node.elt)
        self.frame.variables.clear()
        self.frame.variables.update(saved)
        return Seq((as_param(element),)) if not is_sdk(element) else element

    _expr_ListComp = _comprehension
    _expr_SetComp = _comprehension
    _expr_GeneratorExp = _comprehension
    _expr_DictComp = _comprehension

    def _expr_Lambda(self, node: ast.Lambda) -> Value:
        saved = dict(self.frame.variables)
        for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs):
            self.frame.variables[arg.arg] = Opaque(f"parameter {arg.arg}")
        self.eval(node.body)
        self.frame.variables.clear()
        self.frame.variables.update(saved)
        return Opaque("lambda")

    def _expr_Subscript(self, node: ast.Subscript) -> Value:
        owner = self.eval(node.value)
        key = self.eval(node.slice)
        if isinstance(owner, External) and owner.name == "os.environ":
            name = key.literal() if isinstance(key, Text) else None
            return Text((EnvRef(name),)) if name else Text.unknown(_unparse(node))
        if isinstance(owner, Struct) and isinstance(key, Text) and key.literal() is not None:
            found = owner.get(key.literal() or "")
            if found is not None:
                return found
        if isinstance(owner, Seq) and isinstance(key, Text) and (key.literal() or "").lstrip("-").isdigit():
            index = int(key.literal() or "0")
            if -len(owner.items) <= index < len(owner.items):
                return owner.items[index]
        if isinstance(owner, ResourceObj) and owner.many:
            return ResourceObj(owner.service, owner.type, owner.identifiers)
        return Opaque(_unparse(node))

    def _expr_Starred(self, node: ast.Starred) -> Value:
        return self.eval(node.value)

    def _expr_Attribute(self, node: ast.Attribute) -> Value:
        owner = self.eval(node.value)
        return self.attribute(owner, node.attr, node)

    def attribute(self, owner: Value, name: str, node: ast.AST) -> Value:
        if isinstance(owner, Lazy):
            if owner.attribute is None and f"{owner.module}.{name}" not in self.program.paths:
                return Lazy(owner.module, name)
            owner = self.resolve_lazy(owner)
        if isinstance(owner, SdkModule):
            return _sdk_attribute(owner, name)
        if isinstance(owner, External):
            return _sdk_import(f"{owner.name}.{name}") or External(f"{owner.name}.{name}")
        if isinstance(owner, ModuleRef):
            return self.program.module_value(owner.name, name)
        if isinstance(owner, Instance):
            found = self._get_attribute(owner, name)
            return found if found is not None else Opaque(f"self.{name}")
        if isinstance(owner, ClassRef):
            found = self._get_attribute(Instance(owner.module, owner.qualname), name)
            if isinstance(found, Func):
                return Func(found.module, found.qualname, found.node)
            return found if found is not None else Opaque(name)
        if isinstance(owner, Client) and name == "meta":
            return Meta(owner.service) if owner.service else Opaque("meta")
        if isinstance(owner, Meta) and name == "client":
            return Client(owner.service)
        if isinstance(owner, ResourceObj):
            return _Resources(self, node).attribute(owner, name)
        return Opaque(name)

    def _expr_Call(self, node: ast.Call) -> Value:
        if isinstance(node.func, ast.Name) and node.func.id == "getattr" and node.args and \
                node.func.id not in self.frame.variables:
            target = self.eval(node.args[0])
            if is_sdk(target):
                self.program.note_at(self.frame, node, "dynamic-call",
                                     f"getattr({_unparse(node.args[0])}, ...): an SDK method chosen at run time")
                return Opaque("a method chosen at run time")
        if isinstance(node.func, ast.Attribute):
            receiver = self.eval(node.func.value)
            return self.method_call(receiver, node.func.attr, node)
        callee = self.eval(node.func)
        return self.call(callee, node)

    # ------------------------------------------------------------ calls
    def arguments(self, node: ast.Call) -> tuple[list[Value], dict[str, Value]]:
        args: list[Value] = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                spread = self.eval(arg.value)
                args.extend(spread.items if isinstance(spread, Seq) else [Opaque(_unparse(arg))])
            else:
                args.append(self.eval(arg))
        kwargs: dict[str, Value] = {}
        for keyword in node.keywords:
            value = self.eval(keyword.value)
            if keyword.arg is None:
                if isinstance(value, Struct):
                    kwargs.update({key.literal() or "": item for key, item in value.items if key.literal()})
                continue
            kwargs[keyword.arg] = value
        return args, kwargs

    def call(self, callee: Value, node: ast.Call) -> Value:
        args, kwargs = self.arguments(node)
        if isinstance(callee, Lazy):
            # Code that never touches the SDK matters only when SDK objects are handed to it.
            if not any(_carries_sdk(value) for value in (*args, *kwargs.values())):
                return Opaque(_unparse(node))
            callee = self.resolve_lazy(callee)
        if isinstance(callee, Factory):
            return self.factory(callee, args, kwargs, node)
        if isinstance(callee, Func):
            if callee.closure is not None:
                self.frame.called_nested.add(id(callee.node))
            return self.program.invoke(callee, args, kwargs, self.frame)
        if isinstance(callee, ClassRef):
            return self.instantiate(callee, args, kwargs)
        if isinstance(callee, External):
            return _external_call(callee.name, args, kwargs, node)
        if isinstance(callee, (SdkModule, Session)):
            return callee
        return Opaque(_unparse(node))

    def instantiate(self, cls: ClassRef, args: list[Value], kwargs: dict[str, Value]) -> Value:
        instance = Instance(cls.module, cls.qualname)
        init = self._get_attribute(instance, "__init__")
        if isinstance(init, Func):
            self.program.invoke(init, args, kwargs, self.frame)
        return instance

    def factory(self, factory: Factory, args: list[Value], kwargs: dict[str, Value], node: ast.Call,
                credentials: bool = False) -> Value:
        credentials = credentials or any(name in kwargs for name in _CREDENTIALS)
        if factory.kind in ("session", "botocore-session"):
            return Session(credentials)
        service_value = kwargs.get("service_name", args[0] if args else None)
        service = service_value.literal() if isinstance(service_value, Text) else None
        if service is None or service not in sdk_models.service_names():
            what = "client" if factory.kind == "client" else "resource"
            shown = service if service is not None else _unparse(node.args[0]) if node.args else "?"
            self.program.note_at(self.frame, node, "dynamic-client",
                                 f"a boto3 {what} for service {shown!r} that lambdasec cannot tell statically: "
                                 "its calls are not listed")
            return Client(None)
        if factory.kind == "resource":
            if sdk_models.resource_model(service) is None:
                self.program.note_at(self.frame, node, "dynamic-client", f"boto3 has no resource API for {service}")
                return Opaque(f"resource {service}")
            return ResourceObj(service, None)
        return Client(service, credentials)

    def method_call(self, receiver: Value, name: str, node: ast.Call) -> Value:
        if isinstance(receiver, (SdkModule, Session)) and name in ("client", "resource", "create_client"):
            args, kwargs = self.arguments(node)
            inherited = isinstance(receiver, Session) and receiver.credentials
            return self.factory(Factory("resource" if name == "resource" else "client"), args, kwargs, node,
                                inherited)
        if isinstance(receiver, SdkModule):
            return self.call(_sdk_attribute(receiver, name), node)
        if isinstance(receiver, Session):
            self.arguments(node)
            return Opaque(f"session.{name}()")
        if isinstance(receiver, Client):
            return _Clients(self, node).call(receiver, name)
        if isinstance(receiver, Paginator) and name == "paginate":
            _, kwargs = self.arguments(node)
            if receiver.operation:
                self.program.record(self.frame, node, receiver.service, receiver.operation, receiver.method,
                                    _struct(kwargs), "paginator", receiver.credentials)
            return Opaque("pages")
        if isinstance(receiver, Waiter) and name == "wait":
            _, kwargs = self.arguments(node)
            kwargs.pop("WaiterConfig", None)
            if receiver.operation:
                self.program.record(self.frame, node, receiver.service, receiver.operation, receiver.name,
                                    _struct(kwargs), "waiter", receiver.credentials)
            return Opaque("waited")
        if isinstance(receiver, (ResourceObj, Collection, BatchWriter)):
            return _Resources(self, node).call(receiver, name)
        if isinstance(receiver, Text) and name in ("strip", "rstrip", "lstrip", "format", "join", "replace"):
            return self._text_method(receiver, name, node)
        if isinstance(receiver, Seq) and name in ("append", "extend"):
            self.arguments(node)
            return Opaque("None")
        if isinstance(receiver, External):
            args, kwargs = self.arguments(node)
            return _external_call(f"{receiver.name}.{name}", args, kwargs, node)
        callee = self.attribute(receiver, name, node.func)
        return self.call(callee, node)

    def _text_method(self, text: Text, name: str, node: ast.Call) -> Value:
        args, kwargs = self.arguments(node)
        if name in ("strip", "rstrip", "lstrip") and not args:
            return text
        if name == "format":
            return _brace_format(text, [_as_text(a, node) for a in args],
                                 {k: _as_text(v, node) for k, v in kwargs.items()})
        if name == "join" and len(args) == 1 and isinstance(args[0], Seq):
            items = [item if isinstance(item, Text) else Text.unknown("item") for item in args[0].items]
            joined: list[Text] = []
            for index, item in enumerate(items):
                if index:
                    joined.append(text)
                joined.append(item)
            return join_texts(joined)
        literal = text.literal()
        if name == "replace" and literal is not None and all(isinstance(a, Text) and a.literal() is not None
                                                             for a in args[:2]) and len(args) >= 2:
            return Text.of(literal.replace(args[0].literal() or "", args[1].literal() or ""))
        return Opaque(_unparse(node))

    def iterate(self, iterable: Value, node: ast.expr) -> Value:
        """The element a loop gets from ``iterable``; iterating a boto3 collection calls its operation."""
        if isinstance(iterable, Collection):
            return _Resources(self, node).iterate(iterable)
        if isinstance(iterable, ResourceObj) and iterable.many:
            return ResourceObj(iterable.service, iterable.type, iterable.identifiers)
        if isinstance(iterable, Seq) and iterable.items:
            first = iterable.items[0]
            return first if all(item == first for item in iterable.items) else Opaque("an item")
        return Opaque(f"an item of {_unparse(node)}")


def _news(previous: Value, value: Value) -> bool:
    """Whether a shared variable or attribute learnt something another pass should see: an SDK object, a function
    or class, or a string where nothing was known."""
    if previous == value:
        return False
    return _carries_sdk(value) or (isinstance(value, (Text, Struct, Seq)) and not isinstance(previous, Text))


def _dispatch(prefix: str) -> dict[type, Any]:
    """The interpreter's handlers by node class (``_stmt_If`` handles ``ast.If``), looked up once."""
    return {getattr(ast, name[len(prefix):]): handler for name, handler in vars(_Interpreter).items()
            if name.startswith(prefix) and hasattr(ast, name[len(prefix):])}


def _carries_sdk(value: Value) -> bool:
    return is_sdk(value) or isinstance(value, (Instance, Func, ClassRef))


_STATEMENTS: Final = _dispatch("_stmt_")
_EXPRESSIONS: Final = _dispatch("_expr_")


def _as_text(value: Value, node: ast.AST) -> Text:
    if isinstance(value, Text):
        return value
    if isinstance(value, Opaque) and value.hint:
        return Text((value,))  # keeps where the value came from ("event['id']"), for notes
    return Text.unknown(_unparse(node))


def _struct(kwargs: dict[str, Value]) -> Struct:
    return Struct(tuple((Text.of(name), as_param(value)) for name, value in kwargs.items()))


def _percent_format(template: Text, values: list[Text]) -> Text:
    literal = template.literal()
    if literal is None:
        return Text.unknown("a %-formatted string")
    parts = re.split(r"(%[sdr])", literal)
    out: list[Text] = []
    index = 0
    for part in parts:
        if part in ("%s", "%d", "%r"):
            out.append(values[index] if index < len(values) else Text.unknown(part))
            index += 1
        else:
            out.append(Text.of(part.replace("%%", "%")))
    return join_texts(out)


def _brace_format(template: Text, args: list[Text], kwargs: dict[str, Text]) -> Text:
    literal = template.literal()
    if literal is None:
        return Text.unknown("a formatted string")
    out: list[Text] = []
    automatic = 0
    for piece in re.split(r"(\{[^{}]*\})", literal):
        if piece.startswith("{") and piece.endswith("}"):
            field_name = piece[1:-1].split(":", 1)[0].split("!", 1)[0]
            if field_name == "":
                out.append(args[automatic] if automatic < len(args) else Text.unknown(piece))
                automatic += 1
            elif field_name.isdigit():
                index = int(field_name)
                out.append(args[index] if index < len(args) else Text.unknown(piece))
            else:
                out.append(kwargs.get(field_name, Text.unknown(piece)))
        else:
            out.append(Text.of(piece.replace("{{", "{").replace("}}", "}")))
    return join_texts(out)


def _sdk_import(name: str) -> Value | None:
    """What importing ``name`` gives when it is part of an AWS SDK."""
    factories = {
        "boto3.client": Factory("client"), "boto3.resource": Factory("resource"), "boto3.Session": Factory("session"),
        "boto3.session.Session": Factory("session"), "aioboto3.Session": Factory("session"),
        "aioboto3.session.Session": Factory("session"), "botocore.session.get_session": Factory("botocore-session"),
        "botocore.session.Session": Factory("botocore-session"),
        "aiobotocore.session.get_session": Factory("botocore-session"),
        "aiobotocore.session.AioSession": Factory("botocore-session"),
    }
    if name in factories:
        return factories[name]
    if name in ("boto3", "boto3.session", "aioboto3", "botocore", "botocore.session", "aiobotocore",
                "aiobotocore.session"):
        return SdkModule(name)
    if name == "os.environ":
        return External("os.environ")
    return None


def _sdk_attribute(module: SdkModule, name: str) -> Value:
    found = _sdk_import(f"{module.name}.{name}")
    if found is not None:
        return found
    if module.name in ("boto3", "aioboto3") and name == "setup_default_session":
        return Factory("session")
    return Opaque(f"{module.name}.{name}")


def _external_call(name: str, args: list[Value], kwargs: dict[str, Value], node: ast.Call) -> Value:
    """Calls of library functions that matter for values: environment variables and ``str()``."""
    if name in ("os.getenv", "os.environ.get", "os.environ.setdefault"):
        key = args[0] if args else kwargs.get("key")
        default = args[1] if len(args) > 1 else kwargs.get("default")
        if isinstance(key, Text) and key.literal():
            default_text = default.literal() if isinstance(default, Text) else None
            return Text((EnvRef(key.literal() or "", default_text),))
    if name == "str" and len(args) == 1 and isinstance(args[0], Text):
        return args[0]
    return Opaque(_unparse(node))


# ---------------------------------------------------------------- clients
_TRANSFERS: Final = {
    # method: (positional parameter names, operations it calls, which parameter is the S3 copy source)
    "upload_file": (("Filename", "Bucket", "Key", "ExtraArgs"), ("PutObject", "CreateMultipartUpload")),
    "upload_fileobj": (("Fileobj", "Bucket", "Key", "ExtraArgs"), ("PutObject", "CreateMultipartUpload")),
    "download_file": (("Bucket", "Key", "Filename", "ExtraArgs"), ("HeadObject", "GetObject")),
    "download_fileobj": (("Bucket", "Key", "Fileobj", "ExtraArgs"), ("HeadObject", "GetObject")),
    "copy": (("CopySource", "Bucket", "Key", "ExtraArgs"), ("CopyObject",)),
}
_CREDENTIALS: Final = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token", "profile_name")
_CLIENT_HELPERS: Final = frozenset({"can_paginate", "close", "exceptions", "meta", "get_waiter", "get_paginator"})


class _Clients:
    def __init__(self, interpreter: _Interpreter, node: ast.Call) -> None:
        self.interpreter = interpreter
        self.node = node

    @property
    def frame(self) -> Frame:
        return self.interpreter.frame

    def call(self, client: Client, name: str) -> Value:
        args, kwargs = self.interpreter.arguments(self.node)
        program = self.interpreter.program
        if client.service is None:
            program.note_at(self.frame, self.node, "dynamic-call",
                            f"{name}: called on a client whose service is not known statically")
            return Opaque(f"{name}()")
        service = client.service
        if name in ("get_paginator", "get_waiter"):
            return self._helper(service, name, args, kwargs, client.credentials)
        program.client_credentials = client.credentials
        try:
            return self._call(service, name, args, kwargs)
        finally:
            program.client_credentials = False

    def _call(self, service: str, name: str, args: list[Value], kwargs: dict[str, Value]) -> Value:
        program = self.interpreter.program
        if service == "s3" and name in _TRANSFERS:
            names, operations = _TRANSFERS[name]
            transfer(self.interpreter, self.node, name, _positional(names, args, kwargs), operations)
            return Opaque("None")
        if name == "generate_presigned_url":
            method = args[0] if args else kwargs.get("ClientMethod")
            params = kwargs.get("Params", args[1] if len(args) > 1 else Struct())
            self._presigned(service, method, params)
            return Text.unknown("a presigned URL")
        if name == "generate_presigned_post" and service == "s3":
            params = _positional(("Bucket", "Key"), args, kwargs)
            program.record(self.frame, self.node, service, "PutObject", name, params, "presigned POST")
            return Opaque("a presigned POST")
        if name in _CLIENT_HELPERS:
            return Opaque(name)
        operation = sdk_models.operation_for_method(service, name)
        if operation is None:
            program.note_at(self.frame, self.node, "unknown-method",
                            f"{service}.{name}: not an operation of the {service} client in the botocore model")
            return Opaque(f"{name}()")
        program.record(self.frame, self.node, service, operation, name, _struct(kwargs))
        return Opaque(f"{name}()")

    def _helper(self, service: str, name: str, args: list[Value], kwargs: dict[str, Value],
                credentials: bool) -> Value:
        chosen = args[0] if args else kwargs.get("operation_name", kwargs.get("waiter_name"))
        label = chosen.literal() if isinstance(chosen, Text) else None
        program = self.interpreter.program
        if label is None:
            program.note_at(self.frame, self.node, "dynamic-call",
                            f"{service}.{name}: the {name[4:]} name is not known statically")
            return Opaque(name)
        if name == "get_paginator":
            operation = sdk_models.operation_for_method(service, label)
            if operation is None:
                program.note_at(self.frame, self.node, "unknown-method", f"{service}: no operation {label} to paginate")
            return Paginator(service, operation, label, credentials)
        operation = sdk_models.waiter_operation(service, label)
        if operation is None:
            program.note_at(self.frame, self.node, "unknown-method", f"{service}: no waiter {label}")
        return Waiter(service, operation, label, credentials)

    def _presigned(self, service: str, method: Value, params: Value) -> None:
        name = method.literal() if isinstance(method, Text) else None
        program = self.interpreter.program
        operation = sdk_models.operation_for_method(service, name) if name else None
        if operation is None:
            program.note_at(self.frame, self.node, "dynamic-call",
                            f"{service}.generate_presigned_url: the signed operation is not known statically")
            return
        struct = params if isinstance(params, Struct) else Struct()
        program.record(self.frame, self.node, service, operation, name or "", struct, "presigned URL")


def _positional(names: tuple[str, ...], args: list[Value], kwargs: dict[str, Value]) -> Struct:
    values: dict[str, Value] = dict(zip(names, args, strict=False))
    values.update({k: v for k, v in kwargs.items() if k in names or k not in values})
    return _struct(values)


def transfer(interpreter: _Interpreter, node: ast.AST, method: str, params: Struct,
             operations: tuple[str, ...]) -> None:
    """An S3 transfer helper: its parameters, with ``ExtraArgs`` merged in, for each operation it calls."""
    extra = params.get("ExtraArgs")
    request = Struct(tuple((k, v) for k, v in params.items if k.literal() not in ("ExtraArgs", "Filename",
                                                                                    "Fileobj", "Callback",
                                                                                    "Config")))
    if isinstance(extra, Struct):
        request = request.merged(extra)
    for operation in operations:
        interpreter.program.record(interpreter.frame, node, "s3", operation, method, request, "S3 transfer")


# ---------------------------------------------------------------- boto3 resources
_RESOURCE_TRANSFERS: Final[dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...]]]]] = {
    # resource type -> method -> (positional parameter names, operations); identifiers fill Bucket/Key
    "Bucket": {
        "upload_file": (("Filename", "Key", "ExtraArgs"), ("PutObject", "CreateMultipartUpload")),
        "upload_fileobj": (("Fileobj", "Key", "ExtraArgs"), ("PutObject", "CreateMultipartUpload")),
        "download_file": (("Key", "Filename", "ExtraArgs"), ("HeadObject", "GetObject")),
        "download_fileobj": (("Key", "Fileobj", "ExtraArgs"), ("HeadObject", "GetObject")),
        "copy": (("CopySource", "Key", "ExtraArgs"), ("CopyObject",)),
    },
    "Object": {
        "upload_file": (("Filename", "ExtraArgs"), ("PutObject", "CreateMultipartUpload")),
        "upload_fileobj": (("Fileobj", "ExtraArgs"), ("PutObject", "CreateMultipartUpload")),
        "download_file": (("Filename", "ExtraArgs"), ("HeadObject", "GetObject")),
        "download_fileobj": (("Fileobj", "ExtraArgs"), ("HeadObject", "GetObject")),
        "copy": (("CopySource", "ExtraArgs"), ("CopyObject",)),
    },
}
# Identifiers that the response gives a new resource, where the request already tells what it will be.
_RESPONSE_IDENTIFIERS: Final = {
    ("sqs", "CreateQueue", "Url"): ("https://sqs.*.amazonaws.com/*/", "QueueName"),
    ("sqs", "GetQueueUrl", "Url"): ("https://sqs.*.amazonaws.com/*/", "QueueName"),
    ("sns", "CreateTopic", "Arn"): ("arn:aws:sns:*:*:", "Name"),
    ("dynamodb", "CreateTable", "Name"): ("", "TableName"),
}


class _Resources:
    """boto3's resource objects, driven by the resource model boto3 ships (``resources-1.json``)."""

    def __init__(self, interpreter: _Interpreter, node: ast.AST) -> None:
        self.interpreter = interpreter
        self.node = node

    @property
    def program(self) -> _Program:
        return self.interpreter.program

    def definition(self, service: str, kind: str | None) -> dict[str, Any]:
        model = sdk_models.resource_model(service) or {}
        if kind is None:
            return dict(model.get("service", {}))
        return dict(model.get("resources", {}).get(kind, {}))

    def attribute(self, resource: ResourceObj, name: str) -> Value:
        from botocore import xform_name

        definition = self.definition(resource.service, resource.type)
        if name == "meta":
            return Meta(resource.service)
        for collection in definition.get("hasMany", {}):
            if xform_name(collection) == name:
                return Collection(resource.service, resource.type, collection, resource.identifiers)
        identifiers = dict(resource.identifiers)
        for identifier in definition.get("identifiers", ()):
            if xform_name(identifier["name"]) == name and identifier["name"] in identifiers:
                value = identifiers[identifier["name"]]
                return value if isinstance(value, (Text, Struct, Seq)) else Opaque(name)
        if resource.type is not None and self._is_loaded_attribute(resource, definition, name):
            load = definition.get("load", {}).get("request")
            if load:
                params = self._request_params(load, resource, Struct())
                self.program.record(self.interpreter.frame, self.node, resource.service, load["operation"], name,
                                    params, f"resource {resource.type} attribute")
        return Opaque(name)

    def _is_loaded_attribute(self, resource: ResourceObj, definition: dict[str, Any], name: str) -> bool:
        from botocore import xform_name

        shape_name = definition.get("shape")
        model = sdk_models.service_model(resource.service) or {}
        shape = model.get("shapes", {}).get(shape_name, {}) if shape_name else {}
        return any(xform_name(member) == name for member in shape.get("members", {}))

    def call(self, receiver: ResourceObj | Collection | BatchWriter, name: str) -> Value:
        args, kwargs = self.interpreter.arguments(self.node)  # type: ignore[arg-type]
        if isinstance(receiver, BatchWriter):
            return self._batch_writer(receiver, name)
        if isinstance(receiver, Collection):
            return self._collection_call(receiver, name, kwargs)
        return self._resource_call(receiver, name, args, kwargs)

    def _batch_writer(self, writer: BatchWriter, name: str) -> Value:
        if name in ("put_item", "delete_item"):
            params = Struct(((Text.of("RequestItems"), Struct(((writer.table, Opaque("items")),)) if isinstance(
                writer.table, Text) else Opaque("items")),))
            self.program.record(self.interpreter.frame, self.node, "dynamodb", "BatchWriteItem", name, params,
                                "batch writer")
        return Opaque(name)

    def _resource_call(self, resource: ResourceObj, name: str, args: list[Value], kwargs: dict[str, Value]) -> Value:
        from botocore import xform_name

        definition = self.definition(resource.service, resource.type)
        frame = self.interpreter.frame
        transfers = _RESOURCE_TRANSFERS.get(resource.type or "", {})
        if name in transfers:
            names, operations = transfers[name]
            params = _positional(names, args, kwargs)
            transfer(self.interpreter, self.node, name, Struct(self._identity_params(resource) + params.items),
                     operations)
            return Opaque("None")
        if resource.service == "dynamodb" and resource.type == "Table" and name == "batch_writer":
            return BatchWriter(dict(resource.identifiers).get("Name", Opaque("table")))
        if name in ("load", "reload") and "load" in definition:
            request = definition["load"]["request"]
            self.program.record(frame, self.node, resource.service, request["operation"], name,
                                self._request_params(request, resource, Struct()), f"resource {resource.type}")
            return Opaque("None")
        for action_name, action in definition.get("actions", {}).items():
            if xform_name(action_name) == name:
                return self._action(resource, action, name, _struct(kwargs))
        for sub_name, sub in definition.get("has", {}).items():
            if sub_name == name:
                return self._sub_resource(resource, sub["resource"], args, kwargs)
        if resource.type is None:
            # A service resource builds any of its resource types from their identifiers: s3.Object(bucket, key).
            kind = (sdk_models.resource_model(resource.service) or {}).get("resources", {}).get(name)
            if kind is not None:
                produced = {"type": name, "identifiers": [{"target": identifier["name"], "source": "input"}
                                                          for identifier in kind.get("identifiers", ())]}
                return self._sub_resource(resource, produced, args, kwargs)
        for waiter_name, waiter in definition.get("waiters", {}).items():
            if f"wait_until_{xform_name(waiter_name)}" == name:
                operation = sdk_models.waiter_operation(resource.service, waiter["waiterName"])
                if operation:
                    params = self._request_params(waiter, resource, _struct(kwargs))
                    self.program.record(frame, self.node, resource.service, operation, name, params, "waiter")
                return Opaque("None")
        if name in ("get_available_subresources",):
            return Opaque(name)
        kind = resource.type or "service resource"
        self.program.note_at(frame, self.node, "unknown-method",
                             f"{resource.service}.{kind}.{name}: not in boto3's resource model")
        return Opaque(f"{name}()")

    def _identity_params(self, resource: ResourceObj) -> tuple[tuple[Text, ParamValue], ...]:
        """Bucket/Key of an S3 Bucket or Object resource, as request parameters."""
        identifiers = dict(resource.identifiers)
        out: list[tuple[Text, ParamValue]] = []
        bucket = identifiers.get("Name" if resource.type == "Bucket" else "BucketName")
        if bucket is not None:
            out.append((Text.of("Bucket"), bucket))
        if resource.type == "Object" and "Key" in identifiers:
            out.append((Text.of("Key"), identifiers["Key"]))
        return tuple(out)

    def _request_params(self, request: dict[str, Any], resource: ResourceObj, given: Struct) -> Struct:
        identifiers = dict(resource.identifiers)
        items: list[tuple[Text, ParamValue]] = []
        for param in request.get("params", ()):
            target = param.get("target", "")
            if not re.fullmatch(r"[A-Za-z0-9]+", target):
                continue  # a nested target ("Delete.Objects[].Key"): not a resource-naming parameter
            source = param.get("source")
            if source == "identifier":
                value = identifiers.get(param.get("name", ""))
                items.append((Text.of(target), value if value is not None else Opaque(param.get("name", ""))))
            elif source in ("string", "integer", "boolean"):
                items.append((Text.of(target), Text.of(str(param.get("value")))))
        return Struct(tuple(items)).merged(given)

    def _action(self, resource: ResourceObj, action: dict[str, Any], name: str, given: Struct) -> Value:
        request = action["request"]
        operation = request["operation"]
        params = self._request_params(request, resource, given)
        via = f"resource {resource.type}" if resource.type else "service resource"
        self.program.record(self.interpreter.frame, self.node, resource.service, operation, name, params, via)
        produced = action.get("resource")
        if not produced:
            return Opaque(f"{name}()")
        identifiers: list[tuple[str, ParamValue]] = []
        for identifier in produced.get("identifiers", ()):
            identifiers.append((identifier["target"], self._identifier(resource, identifier, operation, params)))
        many = str(produced.get("path", "")).endswith("[]")
        return ResourceObj(resource.service, produced["type"], tuple(identifiers), many=many)

    def _identifier(self, resource: ResourceObj, identifier: dict[str, Any], operation: str,
                    params: Struct) -> ParamValue:
        source = identifier.get("source")
        if source == "identifier":
            return dict(resource.identifiers).get(identifier.get("name", ""), Opaque(identifier.get("name", "")))
        if source == "requestParameter":
            path = str(identifier.get("path", ""))
            found = params.get(path)
            return found if found is not None else Opaque(path)
        synthesized = _RESPONSE_IDENTIFIERS.get((resource.service, operation, identifier.get("target", "")))
        if synthesized is not None:
            head, param = synthesized
            value = params.text(param)
            if value is not None:
                return Text.of(head).concat(value)
        return Opaque(f"{identifier.get('target')} from the response")

    def _sub_resource(self, resource: ResourceObj, produced: dict[str, Any], args: list[Value],
                      kwargs: dict[str, Value]) -> Value:
        from botocore import xform_name

        identifiers: list[tuple[str, ParamValue]] = []
        inputs = list(args)
        for identifier in produced.get("identifiers", ()):
            target = identifier["target"]
            if identifier.get("source") == "input":
                value = inputs.pop(0) if inputs else kwargs.get(xform_name(target), kwargs.get(target))
                identifiers.append((target, as_param(value) if value is not None else Opaque(target)))
            elif identifier.get("source") == "identifier":
                known = dict(resource.identifiers).get(identifier.get("name", ""))
                identifiers.append((target, known if known is not None else Opaque(target)))
            else:
                identifiers.append((target, Opaque(target)))
        return ResourceObj(resource.service, produced["type"], tuple(identifiers))

    def _collection_definition(self, collection: Collection) -> dict[str, Any]:
        definition = self.definition(collection.service, collection.owner)
        return dict(definition.get("hasMany", {}).get(collection.name, {}))

    def _collection_call(self, collection: Collection, name: str, kwargs: dict[str, Value]) -> Value:
        from botocore import xform_name

        if name in ("all", "filter", "limit", "page_size"):
            params = collection.params.merged(_struct(kwargs)) if name == "filter" else collection.params
            return Collection(collection.service, collection.owner, collection.name, collection.identifiers, params)
        if name == "pages":
            self.iterate(collection)
            return Opaque("pages")
        definition = self._collection_definition(collection)
        element_type = definition.get("resource", {}).get("type")
        batch = self.definition(collection.service, element_type).get("batchActions", {}) if element_type else {}
        for action_name, action in batch.items():
            if xform_name(action_name) == name:
                params = self._collection_request(collection, definition, action["request"])
                self.program.record(self.interpreter.frame, self.node, collection.service,
                                    action["request"]["operation"], name, params.merged(_struct(kwargs)),
                                    f"collection {collection.name}")
                return Opaque(name)
        self.program.note_at(self.interpreter.frame, self.node, "unknown-method",
                             f"{collection.service} collection {collection.name}.{name}: not in boto3's model")
        return Opaque(name)

    def _collection_request(self, collection: Collection, definition: dict[str, Any],
                            request: dict[str, Any]) -> Struct:
        owner = ResourceObj(collection.service, collection.owner, collection.identifiers)
        # Batch actions name identifiers of the element type; the owner's identifiers hold the same values.
        element_ids = dict(collection.identifiers)
        for identifier in definition.get("resource", {}).get("identifiers", ()):
            if identifier.get("source") == "identifier":
                element_ids[identifier["target"]] = dict(collection.identifiers).get(identifier.get("name", ""),
                                                                                      Opaque(identifier["target"]))
        return self._request_params(request, ResourceObj(owner.service, owner.type, tuple(element_ids.items())),
                                    Struct())

    def iterate(self, collection: Collection) -> Value:
        definition = self._collection_definition(collection)
        request = definition.get("request")
        if request:
            owner = ResourceObj(collection.service, collection.owner, collection.identifiers)
            params = self._request_params(request, owner, collection.params)
            self.program.record(self.interpreter.frame, self.node, collection.service, request["operation"],
                                posixpath.basename(collection.name), params, f"collection {collection.name}")
        produced = definition.get("resource", {})
        identifiers: list[tuple[str, ParamValue]] = []
        for identifier in produced.get("identifiers", ()):
            if identifier.get("source") == "identifier":
                known = dict(collection.identifiers).get(identifier.get("name", ""))
                identifiers.append((identifier["target"], known if known is not None else Opaque("identifier")))
            else:
                identifiers.append((identifier["target"], Opaque(f"{identifier['target']} from the response")))
        if produced.get("type"):
            return ResourceObj(collection.service, produced["type"], tuple(identifiers))
        return Opaque("an item")
