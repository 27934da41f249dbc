"""Load CloudFormation/SAM templates (YAML or JSON) safely, keeping line numbers.

Mappings become :class:`LineDict` (a dict that remembers the line of each key) and
sequences :class:`LineList`. YAML is read with libyaml's safe loader when available:
no arbitrary tags, short-form intrinsics (``!Ref``...) turned into their long form,
dates kept as strings, and alias expansion bounded so a "billion laughs" document is
refused instead of exploding later when the tree is walked.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import re
from typing import Any

import yaml

MAX_EXPANDED_NODES = 2_000_000  # an honest template has far fewer nodes than this, even after aliases
MAX_FLOW_DEPTH = 500  # libyaml recurses in C on nested [ and {: a hostile file could overflow the C stack
_BRACKETS_ONLY = str.maketrans({c: None for c in map(chr, range(0x80)) if c not in "[]{}"})
# Block nesting costs at least one column per level (indentation, or "- - - x"), and libyaml's composer recurses
# in C on it too (a line of 30,000 "- " crashes the interpreter): such a line start is refused.
MAX_BLOCK_PREFIX = 2000
_DEEP_BLOCK = re.compile(r"^[ \t?:-]{" + str(MAX_BLOCK_PREFIX) + "}", re.MULTILINE)


class TemplateError(Exception):
    """A template that cannot be read; the message is one line for the coverage gap."""


class LineDict(dict):
    """A mapping that knows its own line and the line of each of its keys (1-based)."""

    line: int | None = None
    key_lines: dict[str, int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_lines = {}


class LineList(list):
    line: int | None = None
    item_lines: list[int | None]

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.item_lines = []


# The pure-Python pieces of the json module, reused to learn where each object starts.
_json_decoder: Any = json.decoder
_json_scanner: Any = json.scanner
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_INTRINSIC_TAGS = (
    "And", "Base64", "Cidr", "Condition", "Equals", "FindInMap", "GetAtt", "GetAZs", "If", "ImportValue",
    "Join", "Length", "Not", "Or", "Ref", "Select", "Split", "Sub", "ToJsonString", "Transform",
)


class _TemplateLoader(_BaseLoader):
    # First characters of the plain scalars an implicit resolver may turn into something other than a string
    # (numbers, booleans, null, timestamps, merge keys).
    _may_resolve = frozenset(k for k in _BaseLoader.yaml_implicit_resolvers if k)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        """Most scalars of a template are plain words: answer "string" without trying a dozen patterns."""
        if kind is yaml.ScalarNode and (not implicit[0] or (value and value[0] not in self._may_resolve)) \
                and None not in self.yaml_implicit_resolvers and not self.yaml_path_resolvers:
            return _STR_TAG
        return super().resolve(kind, value, implicit)


def _build(loader: Any, node: yaml.Node) -> Any:
    """A node's value. Plain strings, mappings and sequences (nearly every node of a template) are built here
    directly; anything else goes through the loader's constructors. About twice as fast as
    ``construct_object``, which a large scan spends a fifth of its time in. Aliases are built once per use
    (their total size is bounded beforehand, see :func:`_expanded_size`)."""
    tag = node.tag
    if tag == _STR_TAG and type(node) is yaml.ScalarNode:
        return node.value
    if tag == _MAP_TAG and type(node) is yaml.MappingNode:
        return _construct_mapping(loader, node)
    if tag == _SEQ_TAG and type(node) is yaml.SequenceNode:
        return _construct_sequence(loader, node)
    return loader.construct_object(node, deep=True)


def _construct_mapping(loader: Any, node: yaml.MappingNode) -> LineDict:
    result = LineDict()
    result.line = node.start_mark.line + 1
    loader.flatten_mapping(node)
    key_lines = result.key_lines
    for key_node, value_node in node.value:
        key = key_node.value if key_node.tag == _STR_TAG and type(key_node) is yaml.ScalarNode else \
            loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) or key is None:
            raise TemplateError(f"line {key_node.start_mark.line + 1}: unsupported mapping key")
        key = str(key) if not isinstance(key, str) else key
        result[key] = _build(loader, value_node)
        key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: Any, node: yaml.SequenceNode) -> LineList:
    result = LineList([_build(loader, child) for child in node.value])
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


def _construct_timestamp(loader: Any, node: yaml.ScalarNode) -> str:
    # "Version: 2012-10-17" must stay the string IAM expects, not a datetime.date.
    return str(loader.construct_scalar(node))


def _intrinsic(tag: str) -> Any:
    long_name = tag if tag in ("Ref", "Condition") else f"Fn::{tag}"

    def construct(loader: Any, node: yaml.Node) -> LineDict:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt" and isinstance(value, str):
                value = LineList(value.split(".", 1))
        elif isinstance(node, yaml.SequenceNode):
            value = _construct_sequence(loader, node)
        else:
            assert isinstance(node, yaml.MappingNode)
            value = _construct_mapping(loader, node)
        result = LineDict({long_name: value})
        result.line = node.start_mark.line + 1
        result.key_lines[long_name] = result.line
        return result

    return construct


_TemplateLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_TemplateLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
_TemplateLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
for _tag in _INTRINSIC_TAGS:
    _TemplateLoader.add_constructor(f"!{_tag}", _intrinsic(_tag))


def _expanded_size(node: yaml.Node, memo: dict[int, int], limit: int) -> int:
    """Number of nodes once aliases are expanded, computed without expanding them."""
    known = memo.get(id(node))
    if known is not None:
        return known
    memo[id(node)] = 1  # guards against recursive aliases
    size = 1
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            size += _expanded_size(child, memo, limit)
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            size += _expanded_size(key, memo, limit) + _expanded_size(value, memo, limit)
    if size > limit:
        raise TemplateError(f"document expands to more than {limit} nodes (YAML alias bomb?)")
    memo[id(node)] = size
    return size


def _check_flow_depth(text: str) -> None:
    """Refuse absurd bracket nesting before libyaml sees it (brackets inside strings only over-count)."""
    brackets = text.translate(_BRACKETS_ONLY)
    if len(brackets) < MAX_FLOW_DEPTH:
        return
    depth = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            if depth > MAX_FLOW_DEPTH:
                raise TemplateError(f"document is nested more than {MAX_FLOW_DEPTH} levels deep")
        elif char in "]}" and depth:
            depth -= 1


def load_yaml(text: str) -> Any:
    _check_flow_depth(text)
    if _DEEP_BLOCK.search(text):
        raise TemplateError(f"document is indented or nested more than {MAX_BLOCK_PREFIX} columns deep")
    loader = _TemplateLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if "&" in text:  # without an anchor there is no alias to expand
            _expanded_size(node, {}, MAX_EXPANDED_NODES)
        return _build(loader, node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}: " if mark else ""
        raise TemplateError(f"invalid YAML: {where}{exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise TemplateError(f"invalid YAML: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise TemplateError("document is nested too deeply") from None
    finally:
        loader.dispose()


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _key_end(source: str, value_start: int) -> int:
    """Offset of the closing quote of the key whose value starts at ``value_start`` (a JSON string holds no raw
    line break, so its line is the key's)."""
    position = value_start - 1
    for _ in range(2):  # back over the blanks before the value, the colon, the blanks before the colon
        while source[position] in " \t\r\n":
            position -= 1
        position -= 1
    return position + 1


def load_json(text: str) -> Any:
    """JSON with line numbers: a pure-Python decoder that records where each object and key starts."""

    def parse_object(
        state: tuple[str, int], strict: bool, scan_once: Any, _hook: Any, _pairs_hook: Any, memo: Any = None
    ) -> tuple[Any, int]:
        source, end = state
        value_starts: list[int] = []  # JSONObject scans each value of this object (not nested ones) through this

        def scan_value(text: str, index: int) -> Any:
            value_starts.append(index)
            return scan_once(text, index)

        pairs, new_end = _json_decoder.JSONObject(state, strict, scan_value, None, lambda p: p, memo)
        result = LineDict()
        result.line = _line_of(source, end - 1)
        for (key, value), start in zip(pairs, value_starts, strict=True):
            # A key ends just before its value: searching for its text could hit the same key in a nested object.
            result.key_lines[key] = _line_of(source, _key_end(source, start))
            result[key] = value
        return result, new_end

    def parse_array(state: tuple[str, int], scan_once: Any) -> tuple[Any, int]:
        values, new_end = _json_decoder.JSONArray(state, scan_once)
        result = LineList(values)
        result.line = _line_of(state[0], state[1] - 1)
        return result, new_end

    decoder: Any = json.JSONDecoder()
    decoder.parse_object = parse_object
    decoder.parse_array = parse_array
    decoder.scan_once = _json_scanner.py_make_scanner(decoder)
    try:
        return decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise TemplateError(f"invalid JSON: line {exc.lineno}: {exc.msg}") from None
    except RecursionError:
        raise TemplateError("document is nested too deeply") from None


def load_template_text(text: str, *, is_json: bool) -> Any:
    """Parse a template. JSON is validated by the json module, then read by libyaml (fast, line-aware) or,
    where YAML 1.1 disagrees with JSON, by the slower line-aware JSON decoder."""
    if is_json:
        try:
            expected = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TemplateError(f"invalid JSON: line {exc.lineno}: {exc.msg}") from None
        except RecursionError:
            raise TemplateError("document is nested too deeply") from None
        try:
            loaded = load_yaml(text)
        except TemplateError:
            return load_json(text)
        # YAML 1.1 may read a valid JSON value differently without failing: 1e5 or 1.5E3 is a string to it.
        return loaded if loaded == expected else load_json(text)
    return load_yaml(text)
