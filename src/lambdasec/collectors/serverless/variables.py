"""Serverless Framework variables resolved from the files alone.

``${self:...}``, ``${sls:stage}``, ``${opt:stage, 'dev'}``, ``${aws:region}`` and ``${file(...)}`` of
local YAML/JSON files are computed. Everything that only exists at deploy time stays an
:class:`Unresolved` carrying the expression as written: SSM parameters, stack outputs, S3 objects,
Dashboard params, the account id, and environment variables. ``${env:...}`` is never read from the
scanning machine: a CI runner's environment holds secrets that must not end up in a report.

A fallback after a comma is used when the first source has no value (a missing ``self`` key, a
command-line option that is not given, a missing file). It is *not* used when the first source
exists but is only known at deploy time (``${ssm:/x, 'default'}``): in production the parameter's
real value wins, so the default is not what runs; the Unresolved keeps the whole expression,
default included, so messages can show it.

Resolution is lazy (only the sections the collector reads, and what they reference), memoized,
bounded in depth (cycles become an "invalid-template" coverage gap) and in expansion size.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lambdasec.fast_dataclass import dataclass

from ...model.inventory import CoverageGap
from ...model.location import Location
from ...model.values import Unresolved
from ..cloudformation.loader import MAX_EXPANDED_NODES, LineDict, LineList, TemplateError, load_template_text

MAX_DEPTH = 40  # nested variable resolutions (a -> b -> c ...); honest configurations use a handful
MAX_PLACEHOLDERS = 500  # "${" in one string
MAX_SCANNED = 5_000_000  # characters of text holding variables examined for one configuration
DEFAULT_STAGE = "dev"
DEFAULT_REGION = "us-east-1"

# A Framework variable starts with a source name followed by "(" or by a single ":".
# ${AWS::Region} (two colons) and ${Bucket.Arn} are CloudFormation Fn::Sub syntax: left alone.
_VARIABLE_START = re.compile(r"\s*[A-Za-z][\w-]*\s*(?:\(|:(?!:))")
_SOURCE = re.compile(r"\s*([A-Za-z][\w-]*)\s*(?:\((.*?)\))?\s*(?::(?!:)(.*))?", re.DOTALL)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_REMOTE = {
    "ssm": "read from SSM Parameter Store at deploy time",
    "cf": "output of another CloudFormation stack, read at deploy time",
    "s3": "content of an S3 object, read at deploy time",
    "param": "Serverless parameter, known at deploy time",
    "secretsmanager": "read from Secrets Manager at deploy time",
}
_CODE_SUFFIXES = (".js", ".mjs", ".cjs", ".ts")


class VariableLimit(Exception):
    """Variables expand beyond what an honest configuration needs."""


@dataclass(frozen=True)
class _Token:
    raw: str  # "${...}" as written
    body: str  # what is between "${" and "}"

    @property
    def shown(self) -> str:
        """The variable for a coverage gap, without its fallbacks: a default may be a secret."""
        parts = _split_fallbacks(self.body)
        return ("${" + parts[0] + (", ...}" if len(parts) > 1 else "}"))[:120]


@dataclass(frozen=True)
class Missing:
    """A source with no value (so a fallback applies); ``kind`` is the gap kind to report, "" for none."""

    kind: str
    message: str


def _pairs(text: str) -> dict[int, int]:
    """Index of each "${" -> index of the "}" closing it, in one pass (quotes count inside variables only)."""
    pairs: dict[int, int] = {}
    stack: list[int] = []  # openings; -1 for a plain "{" inside a variable
    quote, index = "", 0
    while index < len(text):
        char = text[index]
        if quote:
            quote = "" if char == quote else quote
        elif text.startswith("${", index):
            stack.append(index)
            index += 2
            continue
        elif stack and char in "'\"":
            quote = char
        elif stack and char == "{":
            stack.append(-1)
        elif stack and char == "}":
            opening = stack.pop()
            if opening >= 0:
                pairs[opening] = index
        index += 1
    return pairs


def split_text(text: str) -> list[str | _Token]:
    """Literal text and variable tokens, in order."""
    if text.count("${") > MAX_PLACEHOLDERS:
        raise VariableLimit(f"a string holds more than {MAX_PLACEHOLDERS} variables")
    out: list[str | _Token] = []
    pairs = _pairs(text)
    start = 0
    for opening in sorted(pairs):
        if opening < start:
            continue  # inside a variable already taken whole
        end = pairs[opening]
        body = text[opening + 2:end]
        if not _VARIABLE_START.match(body):
            continue  # ${AWS::Region}, ${Bucket.Arn}: CloudFormation's, left as they are
        if opening > start:
            out.append(text[start:opening])
        out.append(_Token(text[opening:end + 1], body))
        start = end + 1
    if start < len(text):
        out.append(text[start:])
    return out


def has_variables(text: str) -> bool:
    return "${" in text and any(isinstance(part, _Token) for part in split_text(text))


def _split_fallbacks(body: str) -> list[str]:
    """``opt:stage, self:provider.stage, 'dev'`` -> its parts (commas inside quotes, braces, parens kept)."""
    parts: list[str] = []
    depth, quote, start = 0, "", 0
    for index, char in enumerate(body):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "{(":
            depth += 1
        elif char in "})":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(body[start:index].strip())
            start = index + 1
    parts.append(body[start:].strip())
    return parts


def relocate(node: Any, line: int | None) -> Any:
    """A copy whose every line is ``line``: content read from another file points at where it is used."""
    if isinstance(node, Mapping):
        out = LineDict()
        out.line = line
        for key, value in node.items():
            out[key] = relocate(value, line)
            if line is not None:
                out.key_lines[key] = line
        return out
    if isinstance(node, list):
        items = LineList(relocate(item, line) for item in node)
        items.line = line
        items.item_lines = [line] * len(items)
        return items
    return node


class Variables:
    def __init__(
        self, document: Mapping[str, Any], *, file: str, directory: Path, root: Path, max_file_bytes: int,
        gaps: list[CoverageGap],
    ) -> None:
        self.document = document
        self.file = file
        self.directory = directory
        self.root = root.resolve()
        self.max_file_bytes = max_file_bytes
        self.gaps = gaps
        self._memo: dict[str, Any] = {}
        self._active: list[str] = []
        self._loaded: dict[Path, Any] = {}
        self._sizes: dict[int, int] = {}
        self._budget = MAX_EXPANDED_NODES
        self._scanned = 0

    # ------------------------------------------------------------ entry points
    def section(self, name: str) -> Any:
        """A top-level section, fully resolved; None when absent."""
        value = self._self(name, None)
        return None if isinstance(value, Missing) else value

    @property
    def stage(self) -> Any:
        return self._self("provider.stage", None)

    @property
    def region(self) -> Any:
        return self._self("provider.region", None)

    def resolve(self, node: Any, line: int | None) -> Any:
        """Every variable inside ``node`` resolved; mappings and lists keep their lines."""
        if isinstance(node, str):
            return self._text(node, line) if "${" in node else node
        if isinstance(node, Mapping):
            out = LineDict()
            out.line = getattr(node, "line", line)
            key_lines = getattr(node, "key_lines", {})
            for key, value in node.items():
                key_line = key_lines.get(key, out.line)
                out[key] = self.resolve(value, key_line)
                if key_line is not None:
                    out.key_lines[key] = key_line
            return out
        if isinstance(node, list):
            items = LineList()
            items.line = getattr(node, "line", line)
            lines = getattr(node, "item_lines", [])
            for index, item in enumerate(node):
                item_line = lines[index] if index < len(lines) else items.line
                items.append(self.resolve(item, item_line))
                items.item_lines.append(item_line)
            return items
        return node

    # ------------------------------------------------------------ text and tokens
    def _text(self, text: str, line: int | None) -> Any:
        self._scanned += len(text)
        if self._scanned > MAX_SCANNED:
            raise VariableLimit(f"variables need more than {MAX_SCANNED} characters of scanning")
        parts = split_text(text)
        if not any(isinstance(part, _Token) for part in parts):
            return text
        if len(parts) == 1 and isinstance(parts[0], _Token):
            return self._variable(parts[0], line)
        pieces: list[str] = []
        unknown: Unresolved | None = None
        for part in parts:
            if isinstance(part, str):
                pieces.append(part)
                continue
            value = self._variable(part, line)
            if isinstance(value, bool):
                pieces.append("true" if value else "false")
            elif isinstance(value, (str, int, float)):
                pieces.append(str(value))
            elif value is None:
                pieces.append("")
            elif isinstance(value, Unresolved):
                pieces.append(value.expression)
                unknown = unknown or value
            else:
                pieces.append(part.raw)
                unknown = unknown or Unresolved(part.raw, "a list or mapping cannot be embedded in text")
        joined = "".join(pieces)
        return Unresolved(joined, unknown.reason) if unknown is not None else joined

    def _variable(self, token: _Token, line: int | None, *, missing_ok: bool = False) -> Any:
        parts = _split_fallbacks(token.body)
        missing: Missing | None = None
        for index, part in enumerate(parts):
            value = self._part(part, token, line)
            if isinstance(value, Missing):
                missing = missing or value
                continue
            if isinstance(value, Unresolved) and index + 1 < len(parts):
                return Unresolved(token.raw, f"{value.reason}; the default after the comma is not the deployed value")
            self._spend(value)
            return value
        if missing_ok:
            return missing or Missing("", "")
        if missing is not None and missing.kind:
            self._gap(missing.kind, missing.message, line)
        reason = missing.message if missing is not None else "no value"
        return Unresolved(token.raw, reason)

    def _part(self, part: str, token: _Token, line: int | None) -> Any:
        if len(part) >= 2 and part[0] == part[-1] and part[0] in "'\"":
            return self._text(part[1:-1], line)
        if part.startswith("${") and _pairs(part).get(0) == len(part) - 1:
            return self._variable(_Token(part, part[2:-1]), line, missing_ok=True)
        if _NUMBER.fullmatch(part):
            return float(part) if "." in part else int(part)
        if part in ("true", "false"):
            return part == "true"
        if part == "null":
            return None
        if not _VARIABLE_START.match(part):
            return part  # a bare literal fallback
        expanded = self._text(part, line)
        if isinstance(expanded, Unresolved):
            return Unresolved(token.raw, expanded.reason)
        return self._source(str(expanded), token, line)

    # ------------------------------------------------------------ sources
    def _source(self, text: str, token: _Token, line: int | None) -> Any:
        match = _SOURCE.fullmatch(text)
        if match is None:
            self._gap("unresolved", f"variable {token.shown} is not understood", line)
            return Unresolved(token.raw, "variable not understood")
        name, params, address = match.group(1), match.group(2), (match.group(3) or "").strip()
        handlers: dict[str, Callable[[str | None, str, _Token, int | None], Any]] = {
            "self": self._source_self, "opt": self._source_opt, "sls": self._source_sls,
            "aws": self._source_aws, "env": self._source_env, "file": self._source_file,
        }
        handler = handlers.get(name)
        if handler is not None:
            return handler(params, address, token, line)
        if name in _REMOTE:
            return Unresolved(token.raw, _REMOTE[name])
        self._gap("unresolved", f"unknown variable source '{name}' in {token.shown}: value not known", line)
        return Unresolved(token.raw, f"unknown variable source '{name}'")

    def _source_self(self, params: str | None, address: str, token: _Token, line: int | None) -> Any:
        return self._self(address, line)

    def _source_opt(self, params: str | None, address: str, token: _Token, line: int | None) -> Any:
        # No command line here: the value deployed without the option is the fallback, if any.
        return Missing("", f"command-line option --{address} known only at deploy time")

    def _source_sls(self, params: str | None, address: str, token: _Token, line: int | None) -> Any:
        if address == "stage":
            return self._self("provider.stage", line)
        if address == "instanceId":
            return Unresolved(token.raw, "generated by the Framework at deploy time")
        self._gap("unresolved", f"unknown variable {token.shown}", line)
        return Unresolved(token.raw, "unknown sls variable")

    def _source_aws(self, params: str | None, address: str, token: _Token, line: int | None) -> Any:
        if address == "region":
            return self._self("provider.region", line)
        if address == "accountId":
            # Written the CloudFormation way so that rules recognise the deploying account.
            return Unresolved("${AWS::AccountId}", "the deploying account, known at deploy time")
        self._gap("unresolved", f"unknown variable {token.shown}", line)
        return Unresolved(token.raw, "unknown aws variable")

    def _source_env(self, params: str | None, address: str, token: _Token, line: int | None) -> Any:
        return Unresolved(token.raw, f"environment variable {address} of the deploying machine (never read)")

    # ------------------------------------------------------------ self
    def _self(self, address: str, line: int | None) -> Any:
        segments = [segment for segment in address.split(".") if segment]
        return self._guarded("self:" + ".".join(segments), line, lambda: self._walk_self(segments, line))

    def _walk_self(self, segments: list[str], line: int | None) -> Any:
        node: Any = self.document
        node_line = line
        for index, segment in enumerate(segments):
            if isinstance(node, str):
                node = self._text(node, node_line)
            if isinstance(node, Unresolved):
                return Unresolved("${self:" + ".".join(segments) + "}", node.reason)
            if isinstance(node, Mapping) and segment in node:
                node_line = getattr(node, "key_lines", {}).get(segment, node_line)
                node = node[segment]
            elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
                lines = getattr(node, "item_lines", [])
                node_line = lines[int(segment)] if int(segment) < len(lines) else node_line
                node = node[int(segment)]
            else:
                return self._self_default(segments, index)
        if node is None:
            return self._self_default(segments, len(segments))
        if segments == ["service"] and isinstance(node, Mapping):
            node = node.get("name")  # the old `service: {name: ...}` form
        return self.resolve(node, node_line)

    def _self_default(self, segments: list[str], found: int) -> Any:
        if segments == ["provider", "stage"]:
            return DEFAULT_STAGE
        if segments == ["provider", "region"]:
            return DEFAULT_REGION
        where = ".".join(segments[:found + 1])
        return Missing("unresolved", f"variable ${{self:{'.'.join(segments)}}} has no value: {where} is not set")

    # ------------------------------------------------------------ files
    def _source_file(self, params: str | None, address: str, token: _Token, line: int | None) -> Any:
        relative = (params or "").strip().strip("'\"")
        if not relative:
            self._gap("unresolved", f"variable {token.shown} names no file", line)
            return Unresolved(token.raw, "no file named")
        target = (self.directory / relative).resolve()
        if not target.is_relative_to(self.root):
            self._gap("unsupported", f"{token.shown}: file outside the scan root is not read", line)
            return Unresolved(token.raw, "file outside the scan root")
        if target.suffix.lower() in _CODE_SUFFIXES:
            self._gap("unsupported", f"{token.shown}: JavaScript/TypeScript files are never run", line)
            return Unresolved(token.raw, "value computed by code")
        key = f"file:{target}:{address}"
        return self._guarded(key, line, lambda: self._file_value(target, relative, address, token, line))

    def _file_value(self, target: Path, relative: str, address: str, token: _Token, line: int | None) -> Any:
        content = self._load(target, relative, line)
        if isinstance(content, (Missing, Unresolved)):
            return content if isinstance(content, Missing) else Unresolved(token.raw, content.reason)
        node = relocate(content, line)
        for segment in [s for s in address.split(".") if s]:
            if isinstance(node, str):
                node = self._text(node, line)
            if isinstance(node, Mapping) and segment in node:
                node = node[segment]
            elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
                node = node[int(segment)]
            else:
                return Missing("unresolved", f"variable {token.shown} has no value: {address} not in {relative}")
        return self.resolve(node, line)

    def _load(self, target: Path, relative: str, line: int | None) -> Any:
        if target in self._loaded:
            return self._loaded[target]
        content: Any
        try:
            if not target.is_file():
                content = Missing("missing-file", f"file {relative} does not exist")
            elif target.stat().st_size > self.max_file_bytes:
                self._gap("too-large", f"file {relative} is over the {self.max_file_bytes} byte limit", line)
                content = Unresolved(relative, "file too large")
            else:
                text = target.read_bytes().decode("utf-8")
                suffix = target.suffix.lower()
                content = load_template_text(text, is_json=suffix == ".json") if suffix in (
                    ".yml", ".yaml", ".json") else text
        except (OSError, UnicodeDecodeError) as exc:
            self._gap("read-error", f"cannot read {relative}: {type(exc).__name__}", line)
            content = Unresolved(relative, "file not readable")
        except TemplateError as exc:
            self._gap("parse-error", f"{relative}: {exc}", line)
            content = Unresolved(relative, "file not parsable")
        self._loaded[target] = content
        return content

    # ------------------------------------------------------------ guards
    def _guarded(self, key: str, line: int | None, compute: Callable[[], Any]) -> Any:
        """Memoized resolution of one address, with cycle and depth detection."""
        if key in self._memo:
            return self._memo[key]
        if key in self._active:
            chain = [*self._active[self._active.index(key):], key]
            self._gap("invalid-template", "cyclic variables: " + " -> ".join(_short(k) for k in chain), line)
            return Unresolved("${" + _short(key) + "}", "cyclic variable reference")
        if len(self._active) >= MAX_DEPTH:
            self._gap("invalid-template", f"variables nested more than {MAX_DEPTH} levels deep", line)
            return Unresolved("${" + _short(key) + "}", "variables nested too deeply")
        with self._entered(key):
            value = compute()
        self._memo[key] = value
        return value

    @contextmanager
    def _entered(self, key: str) -> Iterator[None]:
        self._active.append(key)
        try:
            yield
        finally:
            self._active.pop()

    def _spend(self, value: Any) -> None:
        """Each substitution of a list or mapping costs its expanded size, so sharing cannot explode later."""
        if isinstance(value, (Mapping, list)):
            self._budget -= self._size(value)
            if self._budget < 0:
                raise VariableLimit(f"variables expand to more than {MAX_EXPANDED_NODES} nodes")

    def _size(self, node: Any) -> int:
        known = self._sizes.get(id(node))
        if known is not None:
            return known
        children = node.values() if isinstance(node, Mapping) else node if isinstance(node, list) else ()
        size = 1 + sum(self._size(child) for child in children)
        self._sizes[id(node)] = size
        return size

    def _gap(self, kind: str, message: str, line: int | None) -> None:
        self.gaps.append(CoverageGap(kind, message, Location(self.file, line)))


def _short(key: str) -> str:
    """``self:custom.a`` as written in a variable; file keys without the absolute path."""
    if key.startswith("file:"):
        path, _, address = key[len("file:"):].rpartition(":")
        return f"file({Path(path).name}):{address}" if address else f"file({Path(path).name})"
    return key
