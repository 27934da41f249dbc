"""A small syntax tree for HCL configurations, independent of the parser that produced it.

`hcl_syntax` builds it from tree-sitter's concrete syntax tree; `hcl_eval` evaluates it. Every node keeps the
byte span of its source text (for `Unresolved.expression` and messages) and its 1-based line.
"""

from __future__ import annotations

from lambdasec.fast_dataclass import dataclass, field


@dataclass(eq=False)
class Source:
    """One file's bytes and its path relative to the scan root."""

    rel: str
    data: bytes = field(repr=False)

    def text(self, start: int, end: int) -> str:
        return self.data[start:end].decode("utf-8", "replace")


@dataclass(eq=False)
class Node:
    src: Source = field(repr=False)
    start: int
    end: int
    line: int

    @property
    def text(self) -> str:
        return self.src.text(self.start, self.end)


# ---------------------------------------------------------------- expressions
@dataclass(eq=False)
class Expr(Node):
    pass


@dataclass(eq=False)
class Literal(Expr):
    value: str | int | float | bool | None


@dataclass(eq=False)
class Variable(Expr):
    """A bare root name: `var`, `local`, `aws_iam_role`, `each`, a for-expression variable..."""

    name: str


@dataclass(eq=False)
class GetAttr:
    name: str


@dataclass(eq=False)
class Index:
    key: Expr


@dataclass(eq=False)
class Splat:
    """`[*]` / `.*`: the operations that follow apply to each element."""

    ops: list[GetAttr | Index] = field(default_factory=list)


Op = GetAttr | Index | Splat


@dataclass(eq=False)
class Traversal(Expr):
    base: Expr
    ops: list[Op]


@dataclass(eq=False)
class Call(Expr):
    name: str
    args: list[Expr]
    expand_last: bool = False  # f(list...)


@dataclass(eq=False)
class TupleExpr(Expr):
    items: list[Expr]


@dataclass(eq=False)
class ObjectItem:
    key: Expr
    value: Expr
    line: int
    # The key as written when it is a bare identifier or a plain string: always a literal key.
    static_key: str | None


@dataclass(eq=False)
class ObjectExpr(Expr):
    items: list[ObjectItem]


@dataclass(eq=False)
class Conditional(Expr):
    condition: Expr
    then: Expr
    otherwise: Expr


@dataclass(eq=False)
class Binary(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(eq=False)
class Unary(Expr):
    op: str
    operand: Expr


@dataclass(eq=False)
class ForExpr(Expr):
    key_var: str | None
    value_var: str
    collection: Expr
    key: Expr | None  # set for `{ for ... : key => value }`
    value: Expr
    condition: Expr | None
    grouping: bool  # `value...`


# ---------------------------------------------------------------- templates
@dataclass(eq=False)
class Interp:
    expr: Expr


@dataclass(eq=False)
class IfPart:
    condition: Expr
    then: list[TemplatePart]
    otherwise: list[TemplatePart]


@dataclass(eq=False)
class ForPart:
    key_var: str | None
    value_var: str
    collection: Expr
    body: list[TemplatePart]


TemplatePart = str | Interp | IfPart | ForPart


@dataclass(eq=False)
class Template(Expr):
    parts: list[TemplatePart]
    heredoc: bool


# ---------------------------------------------------------------- structure
@dataclass(eq=False)
class Attribute:
    name: str
    expr: Expr
    line: int


@dataclass(eq=False)
class Block:
    type: str
    labels: list[str]
    body: Body
    src: Source
    line: int
    end_line: int


@dataclass(eq=False)
class Body:
    attributes: dict[str, Attribute] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    # Attributes declared twice in the same body (Terraform rejects them): (name, line).
    duplicates: list[tuple[str, int]] = field(default_factory=list)


@dataclass(eq=False)
class Comment:
    line: int
    text: str


@dataclass(eq=False)
class ParsedFile:
    src: Source
    body: Body
    comments: list[Comment]
    # Top-level blocks left out because they could not be read (too deeply nested...): (message, line).
    skipped: list[tuple[str, int | None]] = field(default_factory=list)
