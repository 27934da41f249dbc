"""Evaluate HCL expressions as far as the configuration alone allows.

Known parts (literals, variables with values, locals, safe functions, conditions that can be decided) are
computed; references to resources and data sources become ResourceRef; everything else is an Unresolved
carrying the expression as written. Nothing is guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Protocol

from lambdasec.fast_dataclass import dataclass, field

from ...model.values import ResourceRef, Unresolved
from .hcl_ast import (
    Binary,
    Call,
    Conditional,
    Expr,
    ForExpr,
    ForPart,
    GetAttr,
    IfPart,
    Index,
    Interp,
    Literal,
    ObjectExpr,
    Op,
    Splat,
    Template,
    TemplatePart,
    Traversal,
    TupleExpr,
    Unary,
    Variable,
)
from .hcl_functions import FUNCTIONS
from .hcl_values import (
    PARTLY_KNOWN,
    Encoded,
    EvalError,
    NotStatic,
    ResourceObject,
    UnknownInstances,
    equal,
    is_unknown,
    to_bool,
    to_int,
    to_number,
    to_string,
    type_name,
    unknown_reason,
)

MAX_COLLECTION = 10_000  # elements a for-expression may produce
_PLACEHOLDER = "@@lambdasec-unknown-{}@@"
_PLACEHOLDER_RE = re.compile(r"@@lambdasec-unknown-(\d+)@@")


class Context(Protocol):
    """What an expression can refer to beyond its local names (a module instance, or a template file)."""

    def root(self, name: str, ops: list[Op], node: Expr, scope: Scope) -> tuple[Any, int]:
        """The value a root name (plus the operations it consumes) refers to, and how many ops it consumed."""
        ...

    def call_file(self, name: str, args: list[Any], node: Call, evaluator: Evaluator) -> Any:
        """`file` / `templatefile`: read a file of the configuration."""
        ...

    def tick(self) -> None:
        """Count one evaluation step; raises NotStatic when the evaluation budget is spent."""
        ...


@dataclass
class Scope:
    context: Context
    names: Mapping[str, Any] = field(default_factory=dict)

    def with_names(self, **names: Any) -> Scope:
        return Scope(self.context, {**self.names, **names})


class Evaluator:
    def evaluate(self, expr: Expr, scope: Scope) -> Any:
        scope.context.tick()
        if isinstance(expr, Literal):
            return expr.value
        if isinstance(expr, Template):
            return self.template(expr, scope)
        if isinstance(expr, Variable):
            return self.traversal(expr, expr, [], scope)
        if isinstance(expr, Traversal):
            return self.traversal(expr, expr.base, expr.ops, scope)
        if isinstance(expr, TupleExpr):
            return [self.evaluate(item, scope) for item in expr.items]
        if isinstance(expr, ObjectExpr):
            return self.object(expr, scope)
        if isinstance(expr, Call):
            return self.call(expr, scope)
        if isinstance(expr, Conditional):
            return self.conditional(expr, scope)
        if isinstance(expr, Binary):
            return self.guarded(expr, lambda: self.binary(expr, scope))
        if isinstance(expr, Unary):
            return self.guarded(expr, lambda: self.unary(expr, scope))
        if isinstance(expr, ForExpr):
            return self.for_expr(expr, scope)
        raise EvalError(f"unsupported expression {expr.text[:60]}")

    def top(self, expr: Expr, scope: Scope) -> Any:
        """Evaluate an attribute: errors become Unresolved too."""
        try:
            return self.evaluate(expr, scope)
        except EvalError as exc:
            return Unresolved(expr.text, f"invalid expression: {exc}")
        except NotStatic as exc:
            return Unresolved(expr.text, exc.reason)

    @staticmethod
    def guarded(expr: Expr, compute: Any) -> Any:
        try:
            return compute()
        except NotStatic as exc:
            return Unresolved(expr.text, exc.reason)

    # ------------------------------------------------------------ references
    def traversal(self, node: Expr, base: Expr, ops: list[Op], scope: Scope) -> Any:
        if isinstance(base, Variable):
            if base.name in scope.names:
                value, consumed = scope.names[base.name], 0
            else:
                value, consumed = scope.context.root(base.name, ops, node, scope)
        else:
            value, consumed = self.evaluate(base, scope), 0
        return self.apply(value, ops[consumed:], node, scope)

    def apply(self, value: Any, ops: list[Op], node: Expr, scope: Scope) -> Any:
        for position, op in enumerate(ops):
            if isinstance(value, Unresolved):
                return Unresolved(node.text, value.reason)
            if isinstance(op, GetAttr):
                value = self.get_attr(value, op.name, node)
            elif isinstance(op, Index):
                value = self.index(value, self.evaluate(op.key, scope), node)
            else:
                return self.splat(value, op, ops[position + 1:], node, scope)
        return value

    def get_attr(self, value: Any, name: str, node: Expr) -> Any:
        if isinstance(value, dict):
            if name not in value:
                raise EvalError(f"no attribute {name!r}")
            return value[name]
        if isinstance(value, ResourceObject):
            pseudo = _deployment_pseudo(value.address, name)
            return pseudo if pseudo is not None else ResourceRef(value.key, name)
        if isinstance(value, ResourceRef):
            return Unresolved(node.text, f"{value}.{name} is an attribute known only after apply")
        if hasattr(value, "output"):
            return value.output(name)
        if isinstance(value, UnknownInstances):
            raise EvalError(f"{value.address} has several instances: use an index or a splat")
        raise EvalError(f"a {type_name(value)} has no attribute {name!r}")

    def index(self, value: Any, key: Any, node: Expr) -> Any:
        if isinstance(key, Unresolved) or is_unknown(key):
            return Unresolved(node.text, unknown_reason(key) or "index not known statically")
        if isinstance(value, UnknownInstances):
            return value.target
        if isinstance(value, list):
            position = to_int(key)
            if not 0 <= position < len(value):
                raise EvalError(f"index {position} out of range")
            return value[position]
        if isinstance(value, dict):
            name = to_string(key)
            if name not in value:
                raise EvalError(f"no key {name!r}")
            return value[name]
        if isinstance(value, ResourceRef):
            if value.attribute in ("names", "zone_ids") and ".aws_availability_zones." in f".{value.key}":
                # The n-th zone of the region: different indexes are different zones, as with !Select/!GetAZs.
                return Unresolved(f"!Select [{to_int(key)}, !GetAZs]", "availability zone chosen at deploy time")
            return Unresolved(node.text, f"{value} is known only after apply")
        if isinstance(value, ResourceObject) or hasattr(value, "output"):
            return self.get_attr(value, to_string(key), node)
        raise EvalError(f"a {type_name(value)} cannot be indexed")

    def splat(self, value: Any, splat: Splat, rest: list[Op], node: Expr, scope: Scope) -> Any:
        if value is None:
            items: list[Any] = []
        elif isinstance(value, list):
            items = value
        elif isinstance(value, UnknownInstances):
            return Unresolved(node.text, f"the instances of {value.address} are not known statically")
        elif isinstance(value, ResourceRef):
            return Unresolved(node.text, f"{value} is known only after apply")
        else:
            items = [value]
        results = [self.apply(item, list(splat.ops), node, scope) for item in items]
        return self.apply(results, rest, node, scope)

    # ------------------------------------------------------------ structures
    def object(self, expr: ObjectExpr, scope: Scope) -> Any:
        out: dict[str, Any] = {}
        for item in expr.items:
            if item.static_key is not None:
                key = item.static_key
            else:
                raw = self.evaluate(item.key, scope)
                if is_unknown(raw):
                    return Unresolved(expr.text, f"object key {item.key.text} is not known statically")
                key = to_string(raw)
            out[key] = self.evaluate(item.value, scope)
        return out

    def call(self, expr: Call, scope: Scope) -> Any:
        name = expr.name
        if name in ("try", "can"):
            return self.try_call(expr, scope)
        args = [self.evaluate(arg, scope) for arg in expr.args]
        if expr.expand_last:
            if not args or not isinstance(args[-1], list):
                reason = unknown_reason(args[-1]) if args else None
                return Unresolved(expr.text, reason or "expanded argument is not a list")
            args = args[:-1] + args[-1]
        try:
            if name in ("file", "templatefile"):
                return scope.context.call_file(name, args, expr, self)
            function = FUNCTIONS.get(name)
            if function is None:
                return Unresolved(expr.text, f"function {name} is not evaluated")
            return function(args)
        except NotStatic as exc:
            return Unresolved(expr.text, exc.reason)

    def try_call(self, expr: Call, scope: Scope) -> Any:
        for arg in expr.args:
            try:
                value = self.evaluate(arg, scope)
            except EvalError:
                continue
            if expr.name == "can":
                return True if unknown_reason(value) is None else Unresolved(expr.text, unknown_reason(value) or "")
            return value
        if expr.name == "can":
            return False
        raise EvalError("no argument of try could be evaluated")

    def conditional(self, expr: Conditional, scope: Scope) -> Any:
        condition = self.evaluate(expr.condition, scope)
        if is_unknown(condition):
            return Unresolved(expr.text, f"condition {expr.condition.text} is not known statically")
        if condition is None:
            raise EvalError("the condition is null")
        chosen = expr.then if to_bool(condition) else expr.otherwise
        return self.evaluate(chosen, scope)

    def binary(self, expr: Binary, scope: Scope) -> Any:
        left, right = self.evaluate(expr.left, scope), self.evaluate(expr.right, scope)
        op = expr.op
        if op == "==":
            return equal(left, right)
        if op == "!=":
            return not equal(left, right)
        if op in ("&&", "||"):
            a, b = to_bool(left), to_bool(right)
            return (a and b) if op == "&&" else (a or b)
        x, y = to_number(left), to_number(right)
        if op == "<":
            return x < y
        if op == ">":
            return x > y
        if op == "<=":
            return x <= y
        if op == ">=":
            return x >= y
        if op in ("/", "%") and y == 0:
            raise EvalError("division by zero")
        result = {"+": lambda: x + y, "-": lambda: x - y, "*": lambda: x * y, "/": lambda: x / y,
                  "%": lambda: x % y}[op]()
        return int(result) if isinstance(result, float) and result.is_integer() and abs(result) < 1e21 else result

    def unary(self, expr: Unary, scope: Scope) -> Any:
        value = self.evaluate(expr.operand, scope)
        if expr.op == "!":
            return not to_bool(value)
        return -to_number(value)

    def for_expr(self, expr: ForExpr, scope: Scope) -> Any:
        collection = self.evaluate(expr.collection, scope)
        pairs = self.iteration(collection)
        if pairs is None:
            return Unresolved(expr.text, unknown_reason(collection) or "collection not known statically")
        out_list: list[Any] = []
        out_map: dict[str, Any] = {}
        for key, value in pairs:
            names = {expr.value_var: value}
            if expr.key_var:
                names[expr.key_var] = key
            inner = scope.with_names(**names)
            if expr.condition is not None:
                keep = self.evaluate(expr.condition, inner)
                if is_unknown(keep):
                    return Unresolved(expr.text, f"condition {expr.condition.text} is not known statically")
                if not to_bool(keep):
                    continue
            if expr.key is None:
                out_list.append(self.evaluate(expr.value, inner))
                continue
            raw_key = self.evaluate(expr.key, inner)
            if is_unknown(raw_key):
                return Unresolved(expr.text, f"key {expr.key.text} is not known statically")
            name = to_string(raw_key)
            item = self.evaluate(expr.value, inner)
            if expr.grouping:
                out_map.setdefault(name, []).append(item)
            elif name in out_map:
                raise EvalError(f"duplicate key {name!r} in for expression")
            else:
                out_map[name] = item
        return out_list if expr.key is None else out_map

    @staticmethod
    def iteration(collection: Any) -> list[tuple[Any, Any]] | None:
        """(key, value) pairs of a known collection, in Terraform's order; None when not known."""
        if isinstance(collection, list):
            if len(collection) > MAX_COLLECTION:
                raise NotStatic(f"collection of more than {MAX_COLLECTION} elements is not evaluated")
            return list(enumerate(collection))
        if isinstance(collection, dict):
            return [(key, collection[key]) for key in sorted(collection)]
        if collection is None:
            raise EvalError("cannot iterate over null")
        if is_unknown(collection):
            return None
        raise EvalError(f"cannot iterate over a {type_name(collection)}")

    # ------------------------------------------------------------ templates
    def template(self, expr: Template, scope: Scope) -> Any:
        if len(expr.parts) == 1 and isinstance(expr.parts[0], Interp) and not expr.heredoc:
            return self.evaluate(expr.parts[0].expr, scope)  # "${x}" is x itself, whatever its type
        pieces: list[str] = []
        unknowns: list[Any] = []
        try:
            self.render(expr.parts, scope, pieces, unknowns)
        except NotStatic as exc:
            return Unresolved(expr.text, exc.reason)
        if not unknowns:
            return "".join(pieces)
        if expr.heredoc:
            decoded = _json_with_unknowns(pieces, unknowns)
            if decoded is not None:
                return decoded
        return Unresolved(_shown(pieces, unknowns), PARTLY_KNOWN)

    def render(self, parts: list[TemplatePart], scope: Scope, pieces: list[str], unknowns: list[Any]) -> None:
        for part in parts:
            if isinstance(part, str):
                pieces.append(part)
            elif isinstance(part, Interp):
                value = self.evaluate(part.expr, scope)
                if is_unknown(value) or (isinstance(value, Encoded) and unknown_reason(value)):
                    pieces.append(_PLACEHOLDER.format(len(unknowns)))
                    unknowns.append((part.expr.text, value))
                else:
                    pieces.append(to_string(value))
            elif isinstance(part, IfPart):
                condition = self.evaluate(part.condition, scope)
                if is_unknown(condition):
                    raise NotStatic(f"template condition {part.condition.text} is not known statically")
                self.render(part.then if to_bool(condition) else part.otherwise, scope, pieces, unknowns)
            elif isinstance(part, ForPart):
                collection = self.evaluate(part.collection, scope)
                pairs = self.iteration(collection)
                if pairs is None:
                    raise NotStatic(f"template loop over {part.collection.text} is not known statically")
                for key, value in pairs:
                    names = {part.value_var: value, **({part.key_var: key} if part.key_var else {})}
                    self.render(part.body, scope.with_names(**names), pieces, unknowns)


# Data sources that only describe where the configuration is deployed: written the way CloudFormation writes
# its pseudo parameters, so rules read "the deploying account" the same from every source.
_DEPLOYMENT_DATA = {
    ("aws_caller_identity", "account_id"): Unresolved("${AWS::AccountId}", "the deploying account"),
    ("aws_region", "name"): Unresolved("${AWS::Region}", "the deploying region"),
    ("aws_region", "region"): Unresolved("${AWS::Region}", "the deploying region"),
    ("aws_region", "id"): Unresolved("${AWS::Region}", "the deploying region"),
    ("aws_partition", "partition"): "aws",  # as the CloudFormation collector reads AWS::Partition
    ("aws_partition", "dns_suffix"): "amazonaws.com",
}


def _deployment_pseudo(address: str, name: str) -> Any:
    parts = address.split(".")
    if len(parts) >= 3 and parts[-3] == "data":
        return _DEPLOYMENT_DATA.get((parts[-2], name))
    return None


def _shown(pieces: list[str], unknowns: list[Any]) -> str:
    """The string with each unknown part written `${expression}` (a partly known inner string inline)."""

    def text(match: re.Match[str]) -> str:
        written, value = unknowns[int(match.group(1))]
        if isinstance(value, Unresolved) and (value.reason == PARTLY_KNOWN or value.expression.startswith("${AWS::")):
            return value.expression
        return "${" + written + "}"

    return _PLACEHOLDER_RE.sub(text, "".join(pieces))


def _json_with_unknowns(pieces: list[str], unknowns: list[Any]) -> Any:
    """A heredoc JSON document with unknown parts inside its strings: the decoded document, each string that
    is exactly one unknown part replaced by that value, other strings with unknown parts Unresolved."""
    text = "".join(pieces)
    if not text.lstrip().startswith(("{", "[")):
        return None
    try:
        document = json.loads(text)
    except ValueError:
        return None

    def restore(node: Any) -> Any:
        if isinstance(node, str) and "@@lambdasec-unknown-" in node:
            whole = _PLACEHOLDER_RE.fullmatch(node)
            if whole:
                return unknowns[int(whole.group(1))][1]
            return Unresolved(_shown([node], unknowns), PARTLY_KNOWN)
        if isinstance(node, list):
            return [restore(item) for item in node]
        if isinstance(node, dict):
            if any("@@lambdasec-unknown-" in key for key in node):
                raise ValueError("unknown key")
            return {key: restore(value) for key, value in node.items()}
        return node

    try:
        return restore(document)
    except ValueError:
        return None

