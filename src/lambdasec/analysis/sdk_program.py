"""What the Python (sdk_python.py) and JavaScript (sdk_node.py) SDK analysers share.

Both are small abstract interpreters run to a fixed point over the modules that reach the SDK: each analysis of
a function with given arguments is a "context"; a pass records the SDK calls made in each context and which
contexts call which; passes repeat while learnt state (class attributes, module globals) keeps changing. The
bookkeeping, the step budget, the fixed-point run and the choice of the contexts whose calls count live here; each
analyser brings its parsing, its module scope and its interpreter.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping
from typing import Any, Final, TypeVar

from ..model.location import Location
from .code_source import CodeSource
from .sdk_calls import CodeAnalysis, CodeNote, Opaque, ParamValue, SdkCall, Seq, Struct, Text

T = TypeVar("T")

MAX_DEPTH: Final = 40  # nested calls followed into functions
MAX_CONTEXTS: Final = 12  # distinct argument sets analysed per function; more share unknown arguments
MAX_STEPS: Final = 200_000  # statements interpreted per analysis (a guard against pathological code)
PASSES: Final = 3  # whole-program passes while attributes and globals keep changing


class Budget(Exception):
    """The analysis ran out of steps: what was found so far is kept, with a note."""


class Program:
    """One analysis of one code location. Subclasses provide :meth:`_scope` (the modules to interpret) and
    :meth:`_pass` (interpret them once), and may prepare in :meth:`_prepare`."""

    def __init__(self, source: CodeSource, prefix: str, language: str) -> None:
        self.source = source
        self.prefix = prefix
        self.analysis = CodeAnalysis(languages={language})
        self.handler: str | None = None
        self.state_version = 0  # bumped when learnt state changes: another pass is needed
        self.steps = 0
        self._reset()

    def _reset(self) -> None:
        """Forget the analyses of a previous pass (what the subclass learnt about modules stays)."""
        self.calls: dict[int, list[SdkCall]] = {}  # context -> calls recorded in it
        self.children: dict[int, set[int]] = {}  # context -> contexts it invoked
        self.context_ids: dict[tuple[Any, ...], int] = {}
        self.results: dict[int, Any] = {}
        self.per_function: dict[str, int] = {}  # function -> contexts analysed
        self.edges: dict[str, set[str]] = {}  # function -> functions it calls with real arguments
        self.root_contexts: dict[str, int] = {}  # function -> its entry analysis
        self.depth_cut: set[str] = set()  # functions a call chain reached too deep to follow
        self.module_contexts: list[int] = []

    # ------------------------------------------------------------ the run
    def run(self, handler: str | None) -> CodeAnalysis:
        self.handler = handler
        self._prepare()
        scope = self._scope(handler)
        try:
            for _ in range(PASSES):
                version = self.state_version
                self._pass(scope)
                if self.state_version == version:
                    break
        except Budget:
            self.note("budget", f"analysis stopped after {MAX_STEPS} steps: some calls may be missing",
                      Location(self.source.label))
        for context in kept_contexts(self.root_contexts, self.module_contexts, self.edges, self.children,
                                     self.depth_cut):
            self.analysis.calls.extend(self.calls.get(context, ()))
        return self.analysis.sorted()

    def _prepare(self) -> None:
        """Work done once before the passes (nothing by default)."""

    def _scope(self, handler: str | None) -> list[str]:
        raise NotImplementedError

    def _pass(self, scope: list[str]) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------ shared services of the interpreters
    def _shown(self, path: str) -> str:
        return f"{self.prefix}{path}"

    def note(self, kind: str, message: str, location: Location) -> None:
        self.analysis.notes.append(CodeNote(kind, message, location))

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise Budget

    def _new_context(self, key: tuple[Any, ...]) -> int:
        context = len(self.context_ids) + 1
        self.context_ids[key] = context
        return context


def as_param(value: object) -> ParamValue:
    """A value as a request parameter: texts and literals as they are, anything else unknown."""
    if isinstance(value, (Text, Struct, Seq, Opaque)):
        return value
    return Opaque(type(value).__name__)


def join_returned(values: list[T], keeps: Callable[[T], bool]) -> T | Opaque:
    """The value a function returns: one that ``keeps`` (an SDK object...) if some path returns one, else the one
    value every path returns, else unknown."""
    for value in values:
        if keeps(value):
            return value
    distinct = list(dict.fromkeys(values))
    return distinct[0] if len(distinct) == 1 else Opaque("a value returned by a function")


def sdk_reaching(imports: Mapping[str, set[str]], direct: set[str]) -> set[str]:
    """The modules that use the SDK (``direct``) and those importing them, directly or through other modules."""
    relevant = set(direct)
    changed = True
    while changed:
        changed = False
        for name, targets in imports.items():
            if name not in relevant and targets & relevant:
                relevant.add(name)
                changed = True
    return relevant


def kept_contexts(root_contexts: Mapping[str, int], module_contexts: Iterable[int], edges: dict[str, set[str]],
                  children: Mapping[int, Iterable[int]], depth_cut: Container[str]) -> set[int]:
    """The contexts whose calls count (shared by the Python and JavaScript analyses): everything reached from
    the module top levels and from the entry analysis of each function nothing else calls (a group of
    functions calling each other and called by nothing else counts as one). A function called with real
    arguments is counted through those calls, not through its analysis with unknown parameters."""
    functions = set(root_contexts)
    components = strongly_connected(functions, edges)
    component_of = {name: index for index, component in enumerate(components) for name in component}
    called = {component_of[target] for source, targets in edges.items() for target in targets
              if source in component_of and target in component_of
              and component_of[source] != component_of[target]}
    stack = list(module_contexts)
    stack.extend(root_contexts[name] for name in functions if component_of[name] not in called
                 or name in depth_cut)
    kept: set[int] = set()
    while stack:
        context = stack.pop()
        if context not in kept:
            kept.add(context)
            stack.extend(children.get(context, ()))
    return kept


def strongly_connected(nodes: set[str], edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components, iteratively (deep call chains must not hit Python's stack)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []
    counter = 0
    for start in sorted(nodes):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, set()) & nodes)))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(edges.get(successor, set()) & nodes))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components
