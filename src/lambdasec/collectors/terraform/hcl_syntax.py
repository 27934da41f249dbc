"""Turn HCL source into the `hcl_ast` tree, using the tree-sitter HCL grammar.

tree-sitter is imported only when a Terraform file is actually read. Its grammar leaves the whitespace of
templates out of the tree, so template text is always taken from the source bytes between structural nodes.
Malformed input raises :class:`SyntaxProblem` with the line of the first error; nothing else escapes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .hcl_ast import (
    Attribute,
    Binary,
    Block,
    Body,
    Call,
    Comment,
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
    ObjectItem,
    Op,
    ParsedFile,
    Source,
    Splat,
    Template,
    TemplatePart,
    Traversal,
    TupleExpr,
    Unary,
    Variable,
)

if TYPE_CHECKING:
    from tree_sitter import Node as TsNode
    from tree_sitter import Parser

MAX_DEPTH = 100  # nesting of expressions and blocks; real configurations stay far below
BINARY_OPS = frozenset({"+", "-", "*", "/", "%", "==", "!=", "<", ">", "<=", ">=", "&&", "||"})
_ESCAPE = re.compile(r"\\(?:[nrt\"\\]|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})|\$\$\{|%%\{")
_HEREDOC_ESCAPE = re.compile(r"\$\$\{|%%\{")
_SIMPLE_ESCAPES = {"\\n": "\n", "\\r": "\r", "\\t": "\t", '\\"': '"', "\\\\": "\\", "$${": "${", "%%{": "%{"}
_STRUCTURAL = frozenset({"template_interpolation", "template_if_intro", "template_else_intro", "template_if_end",
                         "template_for_start", "template_for_end"})
_CONTAINERS = frozenset({"template_directive", "template_if", "template_for"})


class SyntaxProblem(Exception):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def load_parser() -> Parser:
    """A parser for HCL; raises ImportError when the grammar is not installed."""
    import tree_sitter
    import tree_sitter_hcl

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_hcl.language()))


def parse_file(parser: Parser, data: bytes, rel: str) -> ParsedFile:
    src = Source(rel, data)
    tree = parser.parse(data)
    root = tree.root_node
    if root.has_error:
        raise _first_error(root)
    converter = _Converter(src)
    parsed = ParsedFile(src, Body(), _suppression_comments(root, data))
    for child in root.children:
        if child.type == "body":
            # Block by block, so that one unreadable block does not hide the others of the file.
            for item in child.children:
                try:
                    converter.add(parsed.body, item, 0)
                except SyntaxProblem as problem:
                    parsed.skipped.append((problem.message, problem.line))
    return parsed


def parse_template(parser: Parser, text: str, rel: str) -> Template:
    """A template file (for `templatefile`), read as the content of a heredoc."""
    marker = "LAMBDASEC_TEMPLATE"
    while marker in text:
        marker += "_"
    trailing_newline = text.endswith("\n")
    data = f"t = <<{marker}\n{text}{'' if trailing_newline or not text else chr(10)}{marker}\n".encode()
    src = Source(rel, data)
    tree = parser.parse(data)
    if tree.root_node.has_error:
        raise _first_error(tree.root_node)
    converter = _Converter(src)
    body = converter.body(tree.root_node.children[0], 0)
    expr = body.attributes["t"].expr
    if not isinstance(expr, Template):
        raise SyntaxProblem("template could not be read", None)
    if text and not trailing_newline and expr.parts and isinstance(expr.parts[-1], str):
        expr.parts[-1] = expr.parts[-1][:-1]  # the newline added before the marker is not the file's
    return expr


def _first_error(root: TsNode) -> SyntaxProblem:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_missing:
            return SyntaxProblem(f"invalid HCL: missing {node.type!r}", node.start_point.row + 1)
        if node.is_error:
            names = _names_before_a_value(node.text or b"")
            return SyntaxProblem(f"invalid HCL{f' near {names!r}' if names else ''}", node.start_point.row + 1)
        stack.extend(reversed([c for c in node.children if c.has_error or c.is_missing]))
    return SyntaxProblem("invalid HCL", None)


# A quote, or what follows "=" or ":", starts a value.
_VALUE_START = re.compile(r"[\"'=:]")


def _names_before_a_value(text: bytes) -> str:
    """The start of the broken text, up to its first value: an error message may quote block types and attribute
    names, never a value (it may be a secret). A bare word with no "=" before it may be a value: nothing."""
    lines = text.decode("utf-8", "replace").strip().splitlines()
    cut = _VALUE_START.search(lines[0]) if lines else None
    if cut is None:
        return ""
    end = cut.end() if cut.group() in "=:" else cut.start()
    return lines[0][:end].strip()[:40]


def _suppression_comments(root: TsNode, data: bytes) -> list[Comment]:
    comments: dict[int, Comment] = {}
    for match in re.finditer(rb"lambdasec:", data):
        node = root.descendant_for_byte_range(match.start(), match.end())
        if node is not None and node.type == "comment" and node.start_byte not in comments:
            text = (node.text or b"").decode("utf-8", "replace")
            comments[node.start_byte] = Comment(node.start_point.row + 1, text)
    return list(comments.values())


def _decode(raw: str, heredoc: bool) -> str:
    pattern = _HEREDOC_ESCAPE if heredoc else _ESCAPE
    return pattern.sub(lambda m: _SIMPLE_ESCAPES.get(m.group(0)) or chr(int(m.group(0)[2:], 16)), raw)


class _Converter:
    def __init__(self, src: Source) -> None:
        self.src = src

    # ------------------------------------------------------------ helpers
    def _text(self, node: TsNode) -> str:
        return self.src.text(node.start_byte, node.end_byte)

    def _span(self, nodes: Sequence[TsNode]) -> dict[str, Any]:
        return {"src": self.src, "start": nodes[0].start_byte, "end": nodes[-1].end_byte,
                "line": nodes[0].start_point.row + 1}

    @staticmethod
    def _check_depth(depth: int, node: TsNode) -> None:
        if depth > MAX_DEPTH:
            raise SyntaxProblem(f"nested more than {MAX_DEPTH} levels deep", node.start_point.row + 1)

    @staticmethod
    def _children(node: TsNode) -> list[TsNode]:
        return [c for c in node.children if c.type != "comment"]

    # ------------------------------------------------------------ structure
    def body(self, node: TsNode, depth: int) -> Body:
        self._check_depth(depth, node)
        body = Body()
        for child in node.children:
            self.add(body, child, depth)
        return body

    def add(self, body: Body, child: TsNode, depth: int) -> None:
        if child.type == "attribute":
            attribute = self.attribute(child, depth)
            if attribute.name in body.attributes:
                body.duplicates.append((attribute.name, attribute.line))
            else:
                body.attributes[attribute.name] = attribute
        elif child.type == "block":
            body.blocks.append(self.block(child, depth + 1))

    def attribute(self, node: TsNode, depth: int) -> Attribute:
        children = self._children(node)
        return Attribute(self._text(children[0]), self.expr(children[-1], depth + 1), node.start_point.row + 1)

    def block(self, node: TsNode, depth: int) -> Block:
        children = self._children(node)
        labels: list[str] = []
        body = Body()
        for child in children[1:]:
            if child.type == "identifier":
                labels.append(self._text(child))
            elif child.type == "string_lit":
                labels.append(self._string_lit(child))
            elif child.type == "body":
                body = self.body(child, depth)
        return Block(self._text(children[0]), labels, body, self.src, node.start_point.row + 1,
                     node.end_point.row + 1)

    # ------------------------------------------------------------ expressions
    def expr(self, node: TsNode, depth: int) -> Expr:
        self._check_depth(depth, node)
        if node.type == "expression":
            return self.sequence(self._children(node), depth)
        return self.term(node, depth)

    def sequence(self, nodes: Sequence[TsNode], depth: int) -> Expr:
        """A term (or a parenthesized expression) followed by attribute, index and splat operations."""
        if nodes[0].type == "(":
            base = self.expr(nodes[1], depth + 1)
            rest = nodes[3:]
        else:
            base = self.term(nodes[0], depth + 1)
            rest = nodes[1:]
        if not rest:
            return base
        return Traversal(**self._span(nodes), base=base, ops=[self.op(n, depth) for n in rest])

    def op(self, node: TsNode, depth: int) -> Op:
        if node.type == "get_attr":
            return GetAttr(self._text(self._children(node)[-1]))
        if node.type == "index":
            inner = self._children(node)[0]
            if inner.type == "legacy_index":  # `list.0`: the grammar keeps the number only in the text
                text = self._text(inner).lstrip(".").strip()
                return Index(Literal(self.src, inner.start_byte, inner.end_byte, inner.start_point.row + 1,
                                     int(text) if text.isdigit() else text))
            return Index(self.expr(self._children(inner)[1], depth + 1))
        if node.type == "splat":
            splat = self._children(node)[0]
            ops = [self.op(n, depth) for n in self._children(splat) if n.type in ("get_attr", "index")]
            return Splat([o for o in ops if not isinstance(o, Splat)])
        raise SyntaxProblem(f"unsupported syntax {node.type!r}", node.start_point.row + 1)

    def term(self, node: TsNode, depth: int) -> Expr:
        self._check_depth(depth, node)
        kind = node.type
        span = self._span([node])
        children = self._children(node)
        if kind == "expression":
            return self.sequence(children, depth)
        if kind == "literal_value":
            return self.literal(children[0])
        if kind == "string_lit":
            return self.literal(node)
        if kind == "variable_expr":
            return Variable(**span, name=self._text(node))
        if kind == "collection_value":
            return self.collection(children[0], depth + 1)
        if kind == "template_expr":
            return self.template(children[0], depth + 1)
        if kind == "function_call":
            return self.call(node, depth + 1)
        if kind == "for_expr":
            return self.for_expr(children[0], depth + 1)
        if kind == "operation":
            return self.operation(children[0], depth + 1)
        if kind == "conditional":
            parts = [c for c in children if c.is_named]
            return Conditional(**span, condition=self.expr(parts[0], depth + 1), then=self.expr(parts[1], depth + 1),
                               otherwise=self.expr(parts[2], depth + 1))
        raise SyntaxProblem(f"unsupported syntax {kind!r}", node.start_point.row + 1)

    def literal(self, node: TsNode) -> Expr:
        span = self._span([node])
        text = self._text(node)
        if node.type == "numeric_lit":
            return Literal(**span, value=int(text) if text.isdigit() else float(text))
        if node.type == "bool_lit":
            return Literal(**span, value=text == "true")
        if node.type == "null_lit":
            return Literal(**span, value=None)
        if node.type == "string_lit":
            return Literal(**span, value=self._string_lit(node))
        raise SyntaxProblem(f"unsupported literal {node.type!r}", node.start_point.row + 1)

    def _string_lit(self, node: TsNode) -> str:
        children = node.children
        return _decode(self.src.text(children[0].end_byte, children[-1].start_byte), heredoc=False)

    def collection(self, node: TsNode, depth: int) -> Expr:
        span = self._span([node])
        if node.type == "tuple":
            items = [self.expr(c, depth) for c in self._children(node) if c.type == "expression"]
            return TupleExpr(**span, items=items)
        items_out: list[ObjectItem] = []
        for elem in self._children(node):
            if elem.type != "object_elem":
                continue
            key_node, value_node = elem.child_by_field_name("key"), elem.child_by_field_name("val")
            if key_node is None or value_node is None:
                raise SyntaxProblem("incomplete object element", elem.start_point.row + 1)
            key = self.expr(key_node, depth)
            static = key.name if isinstance(key, Variable) else key.value if (
                isinstance(key, Literal) and isinstance(key.value, str)) else None
            items_out.append(ObjectItem(key, self.expr(value_node, depth), elem.start_point.row + 1, static))
        return ObjectExpr(**span, items=items_out)

    def call(self, node: TsNode, depth: int) -> Expr:
        children = self._children(node)
        args: list[Expr] = []
        expand = False
        for child in children:
            if child.type == "function_arguments":
                for arg in self._children(child):
                    if arg.type == "expression":
                        args.append(self.expr(arg, depth))
                    elif arg.type == "ellipsis":
                        expand = True
        return Call(**self._span([node]), name=self._text(children[0]), args=args, expand_last=expand)

    def for_expr(self, node: TsNode, depth: int) -> Expr:
        children = self._children(node)
        intro = next(c for c in children if c.type == "for_intro")
        names = [self._text(c) for c in self._children(intro) if c.type == "identifier"]
        collection = next(c for c in self._children(intro) if c.type == "expression")
        expressions = [c for c in children if c.type == "expression"]
        condition = next((c for c in children if c.type == "for_cond"), None)
        is_object = node.type == "for_object_expr"
        return ForExpr(
            **self._span([node]),
            key_var=names[0] if len(names) == 2 else None,
            value_var=names[-1],
            collection=self.expr(collection, depth),
            key=self.expr(expressions[0], depth) if is_object else None,
            value=self.expr(expressions[-1], depth),
            condition=self.expr(self._children(condition)[-1], depth) if condition is not None else None,
            grouping=any(c.type == "ellipsis" for c in children),
        )

    def operation(self, node: TsNode, depth: int) -> Expr:
        children = self._children(node)
        span = self._span([node])
        if node.type == "unary_operation":
            return Unary(**span, op=children[0].type, operand=self.sequence(children[1:], depth))
        position = next(i for i, c in enumerate(children) if i > 0 and not c.is_named and c.type in BINARY_OPS)
        return Binary(**span, op=children[position].type, left=self.sequence(children[:position], depth),
                      right=self.sequence(children[position + 1:], depth))

    # ------------------------------------------------------------ templates
    def template(self, node: TsNode, depth: int) -> Expr:
        children = node.children
        heredoc = node.type == "heredoc_template"
        if heredoc:
            identifiers = [c for c in children if c.type == "heredoc_identifier"]
            newline = self.src.data.find(b"\n", identifiers[0].end_byte)
            start = newline + 1 if newline >= 0 else identifiers[0].end_byte
            closing = identifiers[-1].start_byte if len(identifiers) > 1 else node.end_byte
            end = max(start, self.src.data.rfind(b"\n", 0, closing) + 1)
            flush = any(c.type == "heredoc_start" and self._text(c).startswith("<<-") for c in children)
        else:
            start, end, flush = children[0].end_byte, children[-1].start_byte, False
        tokens: list[list[Any]] = []
        position = self._tokens(children, start, tokens, depth)
        tokens.append(["lit", self.src.text(position, end)])
        _apply_strip_markers(tokens)
        if flush:
            _remove_indentation(tokens)
        parts = _build_parts(tokens, heredoc)
        return Template(**self._span([node]), parts=parts, heredoc=heredoc)

    def _tokens(self, children: Iterable[TsNode], position: int, tokens: list[list[Any]], depth: int) -> int:
        for child in children:
            if child.end_byte <= position:
                continue
            if child.type in _CONTAINERS:
                position = self._tokens(child.children, position, tokens, depth)
            elif child.type in _STRUCTURAL:
                tokens.append(["lit", self.src.text(position, child.start_byte)])
                tokens.append(self._structural(child, depth))
                position = child.end_byte
        return position

    def _structural(self, node: TsNode, depth: int) -> list[Any]:
        children = self._children(node)
        left = len(children) > 1 and children[1].type == "strip_marker"
        right = len(children) > 1 and children[-2].type == "strip_marker"
        expressions = [c for c in children if c.type == "expression"]
        kind = node.type
        if kind == "template_interpolation":
            return ["interp", left, right, self.expr(expressions[0], depth + 1)]
        if kind == "template_if_intro":
            return ["if", left, right, self.expr(expressions[0], depth + 1)]
        if kind == "template_for_start":
            names = [self._text(c) for c in children if c.type == "identifier"]
            return ["for", left, right, self.expr(expressions[0], depth + 1), names]
        return [{"template_else_intro": "else", "template_if_end": "endif", "template_for_end": "endfor"}[kind],
                left, right]


def _apply_strip_markers(tokens: list[list[Any]]) -> None:
    for index, token in enumerate(tokens):
        if token[0] == "lit":
            continue
        if token[1] and index > 0 and tokens[index - 1][0] == "lit":
            tokens[index - 1][1] = tokens[index - 1][1].rstrip()
        if token[2] and index + 1 < len(tokens) and tokens[index + 1][0] == "lit":
            tokens[index + 1][1] = tokens[index + 1][1].lstrip()


def _remove_indentation(tokens: list[list[Any]]) -> None:
    """`<<-EOT`: remove the smallest indentation of the non-blank lines from every line.

    Structural tokens are stood in for by a private-use character so the lines can be measured as text."""
    sentinel = "\ue000"
    literals = [token for token in tokens if token[0] == "lit"]
    if any(sentinel in token[1] for token in literals):
        return
    text = sentinel.join(token[1] for token in literals)
    lines = text.split("\n")
    indents = [len(line) - len(line.lstrip(" \t")) for line in lines if line.strip()]
    strip = min(indents, default=0)
    if not strip:
        return
    stripped = "\n".join(line[min(strip, len(line) - len(line.lstrip(" \t"))):] for line in lines)
    for token, piece in zip(literals, stripped.split(sentinel), strict=True):
        token[1] = piece


def _build_parts(tokens: list[list[Any]], heredoc: bool) -> list[TemplatePart]:
    """Nest the flat token list (if/else/endif, for/endfor) into template parts."""
    root: list[TemplatePart] = []
    stack: list[tuple[list[TemplatePart], Any]] = []
    current = root
    for token in tokens:
        kind = token[0]
        if kind == "lit":
            text = _decode(token[1], heredoc)
            if not text:
                continue
            if current and isinstance(current[-1], str):
                current[-1] += text
            else:
                current.append(text)
        elif kind == "interp":
            current.append(Interp(token[3]))
        elif kind == "if":
            part = IfPart(token[3], [], [])
            current.append(part)
            stack.append((current, part))
            current = part.then
        elif kind == "for":
            names = token[4]
            for_part = ForPart(names[0] if len(names) == 2 else None, names[-1], token[3], [])
            current.append(for_part)
            stack.append((current, for_part))
            current = for_part.body
        elif kind == "else" and stack and isinstance(stack[-1][1], IfPart):
            current = stack[-1][1].otherwise
        elif kind in ("endif", "endfor") and stack:
            current = stack.pop()[0]
    return root
