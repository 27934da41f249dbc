"""Find the log files under the given paths and tell what each one is, from its first bytes (never its name).

Kinds: ``cloudtrail`` (S3 export documents ``{"Records": [...]}``, JSON arrays, JSON lines, CloudTrail Lake rows
carrying the record in ``eventJson``), ``dns`` (Route 53 Resolver query logs, JSON lines), ``flows`` (VPC flow
logs: the default version 2 format without header, or any custom format with its header line) and ``findings``
(GuardDuty findings: a JSON array, ``{"Findings": [...]}`` or JSON lines). gzip or not, by magic bytes.
"""

from __future__ import annotations

import codecs
import dataclasses
import json
import os
import re
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from lambdasec.fast_dataclass import dataclass

GZIP_MAGIC = b"\x1f\x8b"
SNIFF_BYTES = 1 << 16
_INFLATE_CHUNK = 1 << 20
SNIFF_LINES = 100  # lines of a JSON-lines file looked at for its first readable record
# The version 2 default format, in order (https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html).
FLOW_V2_FIELDS = ("version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol",
                  "packets", "bytes", "start", "end", "action", "log-status")
_FLOW_FIELD = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class LogFile:
    path: str
    kind: str  # "cloudtrail" | "dns" | "flows" | "findings"
    layout: str  # "lines" (one JSON record per line) | "document" (records inside one JSON value) | "text"
    compressed: bool
    # document: the key holding the records ("Records", "Findings") or "" for a top-level array.
    records_key: str = ""
    # cloudtrail: the record is the string in this column (CloudTrail Lake exports), "" when it is the row itself.
    wrapper: str = ""
    # findings: "" (GetFindings' PascalCase) or "camel" (S3 export, EventBridge); tables.FIELDS' key.
    flavour: str = ""
    # flows: the field names, in order; whether the first line is that header.
    fields: tuple[str, ...] = ()
    header: bool = False
    # the text starts with a byte order mark (not every engine version skips it)
    bom: bool = False


@dataclass(frozen=True)
class Unreadable:
    path: str
    reason: str


# Files met while walking a folder that are documentation, not logs (a file given by name is always read).
_DOCUMENTATION = re.compile(r"^(readme|license|licence|notice|copying|source)(\..*)?$|\.(md|rst|html)$", re.I)


def discover(paths: Iterable[Path]) -> Iterator[LogFile | Unreadable]:
    """Every regular file under ``paths`` (recursively, sorted), classified; hidden files and folders and
    documentation files skipped."""
    for path in paths:
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith(".") and not _DOCUMENTATION.search(name):
                        yield classify(Path(root) / name)
        elif path.exists():
            yield classify(path)
        else:
            yield Unreadable(str(path), "no such file or directory")


def _head(path: Path) -> tuple[bytes, bool]:
    with path.open("rb") as raw:
        start = raw.read(SNIFF_BYTES)
    if not start.startswith(GZIP_MAGIC):
        return start, False
    inflater = zlib.decompressobj(wbits=31)
    try:
        head = inflater.decompress(start, SNIFF_BYTES)
    except zlib.error as exc:
        raise ValueError(f"corrupt gzip data ({exc})") from None
    if len(start) < SNIFF_BYTES and not inflater.eof and len(head) < SNIFF_BYTES:
        raise ValueError("truncated gzip data: the file ends before its compressed stream does")
    return head, True


def classify(path: Path) -> LogFile | Unreadable:
    try:
        head, compressed = _head(path)
    except OSError as exc:
        return Unreadable(str(path), f"cannot read: {exc.strerror or exc}")
    except ValueError as exc:
        return Unreadable(str(path), str(exc))
    text = head.decode("utf-8", "replace")
    bom = text.startswith("\ufeff")
    text = text.lstrip("\ufeff \t\r\n")
    if not text:
        return Unreadable(str(path), "empty file")
    found = _classify_json(str(path), text, compressed) if text[0] in "{[" else \
        _classify_text(str(path), text, compressed)
    return dataclasses.replace(found, bom=True) if bom and isinstance(found, LogFile) else found


def _kind_of(record: object) -> tuple[str, str, str] | None:
    """(kind, wrapper, flavour) of one record, or None."""
    if not isinstance(record, dict):
        return None
    if "eventJson" in record and isinstance(record["eventJson"], str):
        return "cloudtrail", "eventJson", ""
    if "eventName" in record or "eventSource" in record:
        return "cloudtrail", "", ""
    if "eventname" in record and "eventsource" in record:  # Athena's table (UNLOAD ... WITH (format = 'JSON'))
        return "cloudtrail", "", "athena"
    if "query_name" in record:
        return "dns", "", ""
    if "Type" in record and "Resource" in record and ("Severity" in record or "SchemaVersion" in record):
        return "findings", "", ""
    if "type" in record and "resource" in record and ("severity" in record or "schemaVersion" in record):
        return "findings", "", "camel"
    return None


def _first_value(text: str, start: int) -> object:
    """The JSON value starting at ``start``, or None when it does not end within the sniffed bytes."""
    try:
        value, _ = json.JSONDecoder().raw_decode(text, start)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the decoder goes
        return None
    return value


def _classify_json(path: str, text: str, compressed: bool) -> LogFile | Unreadable:
    if text[0] == "[":
        start = len(text) - len(text[1:].lstrip(" \t\r\n"))
        found = _kind_of(_first_value(text, start))
        if found is None:
            return Unreadable(path, "a JSON array whose first element is no CloudTrail record or GuardDuty finding")
        return LogFile(path, found[0], "document", compressed, wrapper=found[1], flavour=found[2])
    first_line = text.split("\n", 1)[0]
    found = _kind_of(_first_value(first_line, 0))
    if found is not None:
        return LogFile(path, found[0], "lines", compressed, wrapper=found[1], flavour=found[2])
    for key, kind in (("Records", "cloudtrail"), ("Findings", "findings")):
        opening = re.search(r'"' + key + r'"\s*:\s*\[\s*', text[:4096])
        if opening:
            found = _kind_of(_first_value(text, opening.end())) or (kind, "", "")
            return LogFile(path, kind, "document", compressed, records_key=key, wrapper=found[1], flavour=found[2])
    # JSON lines whose first line is broken (a truncated write): the first record among the next lines says.
    for line in text.split("\n")[1:SNIFF_LINES]:
        found = _kind_of(_first_value(line, 0)) if line.startswith("{") else None
        if found is not None:
            return LogFile(path, found[0], "lines", compressed, wrapper=found[1], flavour=found[2])
    return Unreadable(path, "JSON that is no CloudTrail, Route 53 Resolver or GuardDuty log")


def _classify_text(path: str, text: str, compressed: bool) -> LogFile | Unreadable:
    first = text.split("\n", 1)[0].strip().split()
    if first and all(_FLOW_FIELD.match(token) for token in first) and {"srcaddr", "dstaddr"} <= set(first):
        return LogFile(path, "flows", "text", compressed, fields=tuple(first), header=True)
    if len(first) == len(FLOW_V2_FIELDS) and first[0] == "2":
        return LogFile(path, "flows", "text", compressed, fields=FLOW_V2_FIELDS, header=False)
    return Unreadable(path, "not a log format lambdasec reads (CloudTrail, VPC flow logs, Route 53 Resolver "
                            "query logs, GuardDuty findings)")


def iter_text(log: LogFile, limit: int) -> Iterator[str]:
    """The file's text in pieces of about a megabyte, read and inflated as it is consumed (a document of a
    gigabyte is never held whole); more than ``limit`` bytes, compressed or once decompressed, raise ValueError
    when reached (a gzip bomb stops there); invalid UTF-8 reads as U+FFFD."""
    if os.path.getsize(log.path) > limit:
        raise ValueError(f"larger than {limit} bytes")
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    for data in (_inflate(log.path, limit) if log.compressed else _read(log.path)):
        if text := decoder.decode(data):
            yield text
    if text := decoder.decode(b"", final=True):
        yield text


def _read(path: str) -> Iterator[bytes]:
    with open(path, "rb") as file:
        while data := file.read(_INFLATE_CHUNK):
            yield data


def _inflate(path: str, limit: int) -> Iterator[bytes]:
    """Every gzip member of the file (concatenated members are one stream), at most ``limit`` bytes, in chunks."""
    total = 0
    inflater: Any = None  # the member being inflated; None between members
    pending = b""
    at_end = False
    with open(path, "rb") as file:
        while True:
            if not pending and not at_end:
                pending = file.read(_INFLATE_CHUNK)
                at_end = not pending
            if inflater is None:
                pending = pending.lstrip(b"\x00")  # some writers pad with zeros after the last member
                if not pending:
                    if at_end:
                        return
                    continue
                inflater = zlib.decompressobj(wbits=31)
            # At the end of the file this drains what the inflater still holds (its output was capped).
            chunk = inflater.decompress(pending, _INFLATE_CHUNK)
            pending = inflater.unconsumed_tail
            total += len(chunk)
            if total > limit:
                raise ValueError(f"larger than {limit} bytes once decompressed")
            if chunk:
                yield chunk
            if inflater.eof:
                pending, inflater = inflater.unused_data + pending, None
            elif at_end and not pending and not chunk:
                raise ValueError("truncated gzip data: the file ends before its compressed stream does")
