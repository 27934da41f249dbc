"""Records out of one JSON document (``{"Records": [...]}``, ``{"Findings": [...]}`` or a top-level array).

Engines read JSON lines natively and in parallel, but a CloudTrail file is one JSON value of up to tens of MB,
which they read slowly (DuckDB parses it as one object). So documents are cut into their records here: each
record is decoded once to find where it ends and its exact text is kept (no re-serialization). A document broken
part way keeps the records before the break, and the break is reported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from lambdasec.fast_dataclass import dataclass

_SEPARATOR = re.compile(r"[\s,]*")
_SPACE = re.compile(r"\s*")
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


@dataclass
class Split:
    records: list[str]
    malformed: int = 0  # elements that are valid JSON but no object
    error: str | None = None  # why the rest of the document could not be read
    count: int = 0  # records found (kept in ``records`` by split_document, handed on by stream_document)


def _array_start(text: str, records_key: str) -> int:
    """Index just after the '[' opening the records."""
    if not records_key:
        start = _SPACE.match(text).end()  # type: ignore[union-attr]
        if text[start:start + 1] != "[":
            raise ValueError("the document is no JSON array")
        return start + 1
    match = re.search(r'"' + re.escape(records_key) + r'"\s*:\s*\[', text)
    if match is None:
        raise ValueError(f'no "{records_key}" array in the document')
    return match.end()


def split_document(text: str, records_key: str) -> Split:
    split, records = stream_document(text, records_key)
    split.records.extend(records)
    return split


def stream_document(text: str, records_key: str) -> tuple[Split, Iterator[str]]:
    """The records one by one, so a caller writing them out never holds a second copy of a large document; the
    Split fills in (count, malformed, error) as they are read."""
    try:
        position = _array_start(text, records_key)
    except ValueError as exc:
        return Split([], error=str(exc)), iter(())
    split = Split([])
    return split, _elements(json.JSONDecoder(), text, position, split)


def _elements(decoder: json.JSONDecoder, text: str, position: int, split: Split) -> Iterator[str]:
    while True:
        position = _SEPARATOR.match(text, position).end()  # type: ignore[union-attr]
        if position >= len(text):
            split.error = "the document ends before its records array is closed (truncated file?)"
            return
        if text[position] == "]":
            return
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            split.error = f"invalid JSON after {split.count + split.malformed} records: {exc.msg}"
            return
        except RecursionError:  # nested deeper than Python's decoder goes: the engines read it as a JSON line
            found = _container_end(text, position)
            if found is None:
                split.error = (f"invalid JSON after {split.count + split.malformed} records: a value nested "
                               "too deeply is never closed")
                return
            value, end = ({} if text[position] == "{" else []), found
        if isinstance(value, dict):
            split.count += 1
            yield text[position:end]
        else:
            split.malformed += 1
        position = end


def _container_end(text: str, position: int) -> int | None:
    """Where the array or object opening at ``position`` closes, found without recursion; None if it never does."""
    depth = 0
    for token in _STRING_OR_BRACKET.finditer(text, position):
        mark = token.group()
        if mark in ("[", "{"):
            depth += 1
        elif mark in ("]", "}"):
            depth -= 1
            if depth == 0:
                return token.end()
    return None
