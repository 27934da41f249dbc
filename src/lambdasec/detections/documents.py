"""Records out of one JSON document (``{"Records": [...]}``, ``{"Findings": [...]}`` or a top-level array).

Engines read JSON lines natively and in parallel, but a CloudTrail file is one JSON value of up to tens of MB,
which they read slowly (DuckDB parses it as one object). So documents are cut into their records here: each
record is decoded once to find where it ends and its exact text is kept (no re-serialization). A document broken
part way keeps the records before the break, and the break is reported. The text comes in pieces as the file is
read and inflated: what is held is a piece and the record being cut, whatever the document's size (a value cut
by a piece's end is decoded again once more text is there).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator

from lambdasec.fast_dataclass import dataclass

_SEPARATOR = re.compile(r"[\s,]*")
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_PIECE = 1 << 20  # characters read at a time, at least
_KEEP = 1 << 20  # consumed text kept before it is dropped (dropping copies what is left)


@dataclass
class Split:
    records: list[str]
    malformed: int = 0  # elements that are valid JSON but no object
    error: str | None = None  # why the rest of the document could not be read
    count: int = 0  # records found (kept in ``records`` by split_document, handed on by stream_document)


class _NoRecords(Exception):
    """The document holds no records array (not ValueError: reading the pieces raises that for unreadable files)."""


class _Buffer:
    """The text read so far of a document given in pieces, from the first character not yet consumed."""

    def __init__(self, pieces: Iterable[str]) -> None:
        self.pieces = iter(pieces)
        self.text = ""

    def more(self, at_least: int) -> bool:
        """Read at least ``at_least`` more characters (fewer at the end); False when nothing was left. Callers ask
        for as much as they hold, so a record read again after each extension costs twice its size at most."""
        parts: list[str] = []
        read = 0
        while read < at_least and (piece := next(self.pieces, None)) is not None:
            parts.append(piece)
            read += len(piece)
        if not parts:
            return False
        self.text += "".join(parts)
        return True

    def consume(self, position: int) -> int:
        """Drop the text before ``position`` once it is large and most of what is held (dropping copies the rest:
        so a document given whole is copied about once in all); the position of the same character after."""
        if position < _KEEP or position < len(self.text) // 2:
            return position
        self.text = self.text[position:]
        return 0


def _array_start(buffer: _Buffer, records_key: str) -> int:
    """Index just after the '[' opening the records."""
    pattern = re.compile(r"\s*\[" if not records_key else r'"' + re.escape(records_key) + r'"\s*:\s*\[')
    while True:
        found = pattern.match(buffer.text) if not records_key else pattern.search(buffer.text)
        if found is not None:
            return found.end()
        if not records_key and buffer.text.strip():
            raise _NoRecords("the document is no JSON array")
        if not buffer.more(max(_PIECE, len(buffer.text))):
            if not records_key:
                raise _NoRecords("the document is no JSON array")
            raise _NoRecords(f'no "{records_key}" array in the document')


def split_document(text: str, records_key: str) -> Split:
    split, records = stream_document(text, records_key)
    split.records.extend(records)
    return split


def stream_document(text: str | Iterable[str], records_key: str) -> tuple[Split, Iterator[str]]:
    """The records one by one, from the document's text or from its text in pieces (``inputs.iter_text``: only
    the record being read and a piece are held, however large the document). The Split fills in (count,
    malformed, error) as they are read."""
    split = Split([])
    return split, _elements(_Buffer([text] if isinstance(text, str) else text), records_key, split)


def _elements(buffer: _Buffer, records_key: str, split: Split) -> Iterator[str]:
    try:
        position = _array_start(buffer, records_key)
    except _NoRecords as exc:
        split.error = str(exc)
        return
    decoder = json.JSONDecoder()
    while True:
        position = buffer.consume(position)
        text = buffer.text
        position = _SEPARATOR.match(text, position).end()  # type: ignore[union-attr]
        if position >= len(text):
            if buffer.more(_PIECE):
                continue
            split.error = "the document ends before its records array is closed (truncated file?)"
            return
        if text[position] == "]":
            return
        wanted = max(_PIECE, len(text) - position)  # read this much more when the value is cut by the piece's end
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            if buffer.more(wanted):
                continue
            split.error = f"invalid JSON after {split.count + split.malformed} records: {exc.msg}"
            return
        except RecursionError:  # nested deeper than Python's decoder goes: the engines read it as a JSON line
            found = _container_end(text, position)
            if found is None:
                if buffer.more(wanted):
                    continue
                split.error = (f"invalid JSON after {split.count + split.malformed} records: a value nested "
                               "too deeply is never closed")
                return
            value, end = ({} if text[position] == "{" else []), found
        if end == len(text) and buffer.more(wanted):
            continue  # a number or literal may go on in the next piece: read it again, whole
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
