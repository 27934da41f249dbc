"""The generated bad-input corpus for deployment packages and log files: every case builds its own input at run time.

An archive case writes a SAM project: ``Bad`` names the hostile package (``CodeUri: bad.zip`` or ``bad/``) and
``Good`` a clean directory; both hold the same handler (a planted token and one ``s3.get_object`` call), so what
is still read of a partly bad package shows as SEC003 and as the policy its code needs. A log case writes files
under ``logs/``; beside its broken records sit records that fire a known detection (their CloudTrail event ids,
or the ids built for DNS and flow records, must be in the alerts).

Each case states exactly what ``lambdasec scan`` / ``detect`` must answer: the exit code and the coverage gaps
(kind, message); tests/reliability/test_corpus_archives_logs.py runs them. ``CASES`` is the whole corpus.
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import os
import stat
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ..conftest import zip_bytes

MiB = 1 << 20

# ---------------------------------------------------------------------------------------------------- the project
# Assembled from pieces so that secret scanners do not flag this file.
PLANTED_TOKEN = "gh" + "p_" + "Zq8Lr2Vt6Xw0Ab4Cd8Ef2Gh6Ij0Kl4Mn8Op2"
HANDLER = f'''import boto3

TOKEN = "{PLANTED_TOKEN}"
s3 = boto3.client("s3")


def handler(event, context):
    return s3.get_object(Bucket="orders", Key="latest.json")
'''
SDK_ACTION = "s3:GetObject"  # what the policy of HANDLER must hold
TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Bad:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: {bad}
  Good:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: good/
"""
BAD_LINE = 8  # the template line naming Bad's code: every package gap is located there
GOOD_LINE = 14


@dataclass(frozen=True)
class Case:
    """One input and the exact answer it must get."""

    name: str  # "category/variant"
    command: str  # "scan" (archives) | "detect" (logs)
    build: Callable[[Path], None]  # writes the input under this directory
    exit_code: int
    gaps: tuple[tuple[str, str], ...]  # (kind, message), in report order; paths relative to the directory
    # scan: resources whose planted token SEC003 must still find; detect: event ids the alerts must carry
    kept: tuple[str, ...] = ()
    # scan: "complete" / "incomplete": `lambdasec policy` of Bad's code still holds SDK_ACTION, and says whether a
    # limit or damage hid part of the code (exit 3) or not (exit 0); "": the code cannot be read at all
    sdk: str = ""
    args: tuple[str, ...] = ()  # extra options
    max_peak_mib: float = 400.0
    # What the expected messages need of the built input (a compressed size, which depends on zlib's version).
    facts: Callable[[Path], dict[str, object]] | None = None

    @property
    def category(self) -> str:
        return self.name.split("/", 1)[0]

    def expected_gaps(self, root: Path) -> list[tuple[str, str]]:
        """``gaps`` sorted as the tests compare them, with the facts of the built input filled in."""
        facts = self.facts(root) if self.facts is not None else {}
        return sorted((kind, message.format(**facts) if facts else message) for kind, message in self.gaps)


# ---------------------------------------------------------------------------------------------------- zips
def _patched(data: bytes, name: str, *, local: dict[int, tuple[str, int]] | None = None,
             central: dict[int, tuple[str, int]] | None = None) -> bytes:
    """Overwrite fields (offset in the record -> (struct format, value)) of the local header and central record
    of entry ``name``."""
    patched = bytearray(data)
    for signature, name_at, length_at, fields in ((b"PK\x03\x04", 30, 26, local), (b"PK\x01\x02", 46, 28, central)):
        start = data.find(signature)
        while start >= 0 and fields:
            (length,) = struct.unpack_from("<H", data, start + length_at)
            if data[start + name_at: start + name_at + length] == name.encode():
                for offset, (fmt, value) in fields.items():
                    struct.pack_into(fmt, patched, start + offset, value)
            start = data.find(signature, start + 4)
    return bytes(patched)


def _with_handler(**entries: bytes) -> dict[str, bytes]:
    return {"app.py": HANDLER.encode(), **entries}


def _project(bad: str, write_bad: Callable[[Path], None]) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        (root / "template.yaml").write_text(TEMPLATE.format(bad=bad))
        (root / "good").mkdir()
        (root / "good" / "app.py").write_text(HANDLER)
        write_bad(root / bad.rstrip("/"))

    return build


def _zip_project(make: Callable[[], bytes]) -> Callable[[Path], None]:
    return _project("bad.zip", lambda path: path.write_bytes(make()))


def ratio_bomb(path: Path, megabytes: int) -> None:
    """The handler beside ``megabytes`` MiB of zeros deflated about 1000:1, written in chunks."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", HANDLER)
        with archive.open("data/zeros.bin", "w") as stream:
            for _ in range(megabytes):
                stream.write(bytes(MiB))


def many_entries_bomb(path: Path, count: int) -> None:
    """The handler, then ``count`` empty entries (zip64 past 65,535)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("app.py", HANDLER)
        for index in range(count):
            archive.writestr(f"f/{index}", b"")


def _nested_bomb() -> bytes:
    """42.zip in small: 4 zips of 4 zips of one zip holding 2 MiB of zeros, beside the handler."""
    leaf = zip_bytes({"zeros.bin": bytes(2 * MiB)})
    middle = zip_bytes({f"l2_{i}.zip": zip_bytes({"l3.zip": leaf}) for i in range(4)})
    return zip_bytes(_with_handler(**{f"lib/l1_{i}.zip": middle for i in range(4)}))


def _overlapping_bomb() -> bytes:
    """Every entry after the handler points at the handler's bytes (the "overlapping files" bomb)."""
    data = zip_bytes(_with_handler(**{f"copy{i}.py": HANDLER.encode() for i in range(8)}), zipfile.ZIP_STORED)
    for i in range(8):
        data = _patched(data, f"copy{i}.py", central={42: ("<L", 0)})
    return data


def _symlink_entry() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HANDLER)
        link = zipfile.ZipInfo("config.json")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    return buffer.getvalue()


def _symlinked_directory(path: Path) -> None:
    path.mkdir()
    (path / "app.py").write_text(HANDLER)
    os.symlink("/etc/passwd", path / "passwd.txt")
    os.symlink("..", path / "up")


def _bad_crc() -> bytes:
    """A module the handler imports fails its CRC."""
    entries = {"app.py": HANDLER.encode() + b"from lib import util\n", "lib/__init__.py": b"",
               "lib/util.py": b"VALUE = 'hello world'\n"}
    return zip_bytes(entries, zipfile.ZIP_STORED).replace(b"hello world", b"hellO world")


def _central_directory_offset(data: bytes, shift: int) -> bytes:
    """The end record's central directory offset moved by ``shift``."""
    end = data.rfind(b"PK\x05\x06")
    (offset,) = struct.unpack_from("<L", data, end + 16)
    return data[: end + 16] + struct.pack("<L", offset + shift) + data[end + 20:]


def _central_directory_size(data: bytes, size: int) -> bytes:
    end = data.rfind(b"PK\x05\x06")
    return data[: end + 12] + struct.pack("<L", size) + data[end + 16:]


def _encrypted() -> bytes:
    data = zip_bytes(_with_handler(**{"secret.txt": b"ciphertext"}), zipfile.ZIP_STORED)
    return _patched(data, "secret.txt", local={6: ("<H", 1)}, central={8: ("<H", 1)})


def _huge_declared_size() -> bytes:
    """An entry declaring 3 GiB uncompressed from 11 stored bytes."""
    data = zip_bytes(_with_handler(**{"big.bin": b"small data!"}), zipfile.ZIP_STORED)
    return _patched(data, "big.bin", local={22: ("<L", 3 << 30)}, central={24: ("<L", 3 << 30)})


def _with_name(name: str) -> bytes:
    return zip_bytes(_with_handler(**{name: b"root:x:0:0::/root:/bin/sh\n"}))


def _scan_case(name: str, make: Callable[[Path], None], gaps: list[tuple[str, str]], *, kept: tuple[str, ...] =
               ("Bad", "Good"), sdk: str = "complete", exit_code: int = 3, args: tuple[str, ...] = (),
               facts: Callable[[Path], dict[str, object]] | None = None) -> Case:
    return Case(name, "scan", make, exit_code, tuple(gaps), kept, sdk, args, facts=facts)


def entry_ratio(path: Path, name: str) -> dict[str, object]:
    """The sizes and ratio of one zip entry, as the ratio gap shows them."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    return {"size": info.file_size, "compressed": info.compress_size,
            "ratio": f"{info.file_size / max(info.compress_size, 1):.0f}"}


def _gap(kind: str, message: str) -> tuple[str, str]:
    return (f"package-{kind}", message)


TRAVERSAL_NAMES = {  # name in the zip -> (gap kind, headline)
    "../../etc/passwd": ("traversal", "1 entry with '..' in the path skipped (../../etc/passwd)"),
    "lib/../../../up.py": ("traversal", "1 entry with '..' in the path skipped (lib/../../../up.py)"),
    "..\\..\\windows\\win.ini": ("traversal", "1 entry with '..' in the path skipped (..\\..\\windows\\win.ini)"),
    "/etc/cron.d/evil": ("absolute-path", "1 entry with an absolute path skipped (/etc/cron.d/evil)"),
    "\\Windows\\System32\\evil.dll": ("absolute-path",
                                      "1 entry with an absolute path skipped (\\Windows\\System32\\evil.dll)"),
    "C:\\Windows\\evil.dll": ("absolute-path", "1 entry with an absolute path skipped (C:\\Windows\\evil.dll)"),
    "c:relative.txt": ("absolute-path", "1 entry with an absolute path skipped (c:relative.txt)"),
    "\\\\host\\share\\evil": ("absolute-path", "1 entry with an absolute path skipped (\\\\host\\share\\evil)"),
}
RATIO_GAP = _gap("limit", "package bad.zip: a reading limit was reached: data/zeros.bin: compression ratio {ratio} "
                          "above max_ratio 100 ({size} bytes from {compressed}): zip bomb?, not read")
NOT_A_ZIP = _gap("corrupt", "Bad: bad.zip: not a zip (no end of central directory record)")


def archive_cases() -> list[Case]:
    nested = [f"lib/l1_{i}.zip!/l2_{j}.zip!/l3.zip" for i in range(4) for j in range(4)]
    cases = [
        _scan_case("zip-bomb/ratio", _project("bad.zip", lambda p: ratio_bomb(p, 8)),
                   [RATIO_GAP], sdk="incomplete", facts=lambda root: entry_ratio(root / "bad.zip", "data/zeros.bin")),
        _scan_case("zip-bomb/nested-42", _zip_project(_nested_bomb), [_gap(
            "nested", f"package bad.zip: 16 nested zips not opened: {nested[0]}: a zip nested 3 levels deep, not "
                      "opened (max_depth 2) (and 15 more)")]),
        _scan_case("zip-bomb/many-entries", _project("bad.zip", lambda p: many_entries_bomb(p, 5000)), [_gap(
            "limit", "package bad.zip: a reading limit was reached: more than 1000 entries (max_entries): the rest "
                     "were not listed")], args=("--max-archive-entries", "1000")),  # `policy` has no such option
        _scan_case("zip-bomb/overlapping-entries", _zip_project(_overlapping_bomb), [_gap(
            "corrupt", "package bad.zip: corrupt content not read: copy0.py: its data overlaps another entry's (a zip "
                       "bomb construction), not read (and 7 more)")], sdk="incomplete"),
        _scan_case("zip-bomb/huge-declared-size", _zip_project(_huge_declared_size), [_gap(
            "limit", "package bad.zip: a reading limit was reached: more than 1073741824 bytes uncompressed "
                     "(max_total_bytes) at big.bin: the rest were not listed")], sdk="incomplete"),
        _scan_case("zip64/65600-entries", _project("bad.zip", lambda p: many_entries_bomb(p, 65_600)), [],
                   exit_code=1),
        _scan_case("symlink/zip-entry", _zip_project(_symlink_entry),
                   [_gap("symlink", "package bad.zip: 1 symbolic link not followed (config.json)")]),
        _scan_case("symlink/directory-outside", _project("bad/", _symlinked_directory),
                   [_gap("symlink", "package bad: 2 symbolic links not followed (first: up)")]),
        _scan_case("corrupt/truncated", _zip_project(lambda: zip_bytes(_with_handler())[:150]), [NOT_A_ZIP],
                   kept=("Good",), sdk=""),
        _scan_case("corrupt/zero-length", _zip_project(lambda: b""), [NOT_A_ZIP], kept=("Good",), sdk=""),
        _scan_case("corrupt/not-a-zip", _zip_project(lambda: HANDLER.encode()), [NOT_A_ZIP], kept=("Good",),
                   sdk=""),
        _scan_case("corrupt/bad-crc", _zip_project(_bad_crc), [_gap(
            "corrupt", "package bad.zip: corrupt content not read: lib/util.py: cannot be read (BadZipFile: Bad "
                       "CRC-32 for file 'lib/util.py')")], sdk="incomplete"),
        _scan_case("corrupt/central-directory-offset", _zip_project(
            lambda: _central_directory_offset(zip_bytes(_with_handler()), 7)), []  , exit_code=1),
        _scan_case("corrupt/central-directory-size", _zip_project(
            lambda: _central_directory_size(zip_bytes(_with_handler()), 1 << 30)), [_gap(
                "corrupt", "Bad: bad.zip: corrupt zip (bad central directory size or offset)")],
            kept=("Good",), sdk=""),
        _scan_case("corrupt/encrypted-entry", _zip_project(_encrypted), [_gap(
            "unreadable", "package bad.zip: 1 file not read: secret.txt: encrypted, not read")]),
    ]
    for index, (name, (kind, headline)) in enumerate(TRAVERSAL_NAMES.items()):
        cases.append(_scan_case(f"traversal/{index}-{kind}", _zip_project(lambda name=name: _with_name(name)),
                                [_gap(kind, f"package bad.zip: {headline}")]))
    return cases


# ---------------------------------------------------------------------------------------------------- logs
# DET001 reports this record (a function's code replaced by hand, from outside AWS).
OVERWRITE: Final = {
    "eventVersion": "1.09",
    "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLEDEVSAM001",
                     "arn": "arn:aws:iam::111122223333:user/dev-sam", "accountId": "111122223333",
                     "accessKeyId": "AKIAEXAMPLEDEVSAM001", "userName": "dev-sam"},
    "eventTime": "2026-03-01T10:02:00Z", "eventSource": "lambda.amazonaws.com",
    "eventName": "UpdateFunctionCode20150331v2", "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.50",
    "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.5 exe/x86_64.ubuntu.22",
    "requestParameters": {"functionName": "orders", "publish": False},
    "responseElements": {"functionName": "orders", "codeSha256": "Zb8mN2pQ4rT6vX8zA1cE3gI5kM7oQ9sU1wY3aC5eG7I=",
                         "functionArn": "arn:aws:lambda:us-east-1:111122223333:function:orders"},
    "eventID": "de7001f0-0000-4000-8000-000000000001", "readOnly": False, "eventType": "AwsApiCall",
    "managementEvent": True, "recipientAccountId": "111122223333",
}
# DET031 reports the first two (a stratum port); the third is an ordinary HTTPS flow.
FLOW_LINES: Final = (
    "2 111122223333 eni-0a1b2c3d4e5f60718 10.0.1.25 198.51.100.7 49152 3333 6 20 4000 1772359200 1772359260 ACCEPT OK",
    "2 111122223333 eni-0a1b2c3d4e5f60718 10.0.1.25 198.51.100.8 49153 14444 6 35 9100 1772359260 1772359320 ACCEPT "
    "OK",
    "2 111122223333 eni-0a1b2c3d4e5f60718 10.0.1.25 52.94.0.10 49154 443 6 12 2300 1772359260 1772359320 ACCEPT OK",
)
FLOW_IDS: Final = ("eni-0a1b2c3d4e5f60718:10.0.1.25:49152>198.51.100.7:3333@2026-03-01 10:00:00",
                   "eni-0a1b2c3d4e5f60718:10.0.1.25:49153>198.51.100.8:14444@2026-03-01 10:01:00")
FLOW_HEADER: Final = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start "
                      "end action log-status")
# DET030 reports both (mining pools); the id is the name and time.
RESOLVER_QUERY: Final = {
    "version": "1.100000", "account_id": "111122223333", "region": "us-east-1", "vpc_id": "vpc-0a1b2c3d4e5f60718",
    "query_timestamp": "2026-03-01T10:00:00Z", "query_name": "pool.supportxmr.com.", "query_type": "A",
    "query_class": "IN", "rcode": "NOERROR", "answers": [{"Rdata": "198.51.100.7", "Type": "A", "Class": "IN"}],
    "srcaddr": "10.0.1.25", "srcport": "49152", "transport": "UDP", "srcids": {"instance": "i-0123456789abcdef0"},
}
RESOLVER_IDS: Final = ("pool.supportxmr.com@2026-03-01 10:00:00", "gulf.moneroocean.stream@2026-03-01 10:00:10")


def _firing(event_id: str) -> dict[str, Any]:
    """OVERWRITE with its own event id (the alert carries it)."""
    return {**copy.deepcopy(OVERWRITE), "eventID": event_id}


def _queries() -> list[dict[str, Any]]:
    second = {**RESOLVER_QUERY, "query_timestamp": "2026-03-01T10:00:10Z", "query_name": "gulf.moneroocean.stream."}
    return [copy.deepcopy(RESOLVER_QUERY), second]


def _lines(*records: object) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def _files(files: dict[str, str | bytes]) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        for name, content in files.items():
            path = root / "logs" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content.encode() if isinstance(content, str) else content)

    return build


def _detect_case(name: str, files: dict[str, str | bytes], gaps: list[tuple[str, str]], kept: tuple[str, ...],
                 *, exit_code: int = 3, max_peak_mib: float = 400.0) -> Case:
    return Case(name, "detect", _files(files), exit_code, tuple(gaps), kept, max_peak_mib=max_peak_mib)


def _malformed(file: str, bad: int, total: int, kind: str = "cloudtrail") -> tuple[str, str]:
    return ("malformed-records", f"logs/{file}: {bad} of {total} {kind} records are malformed and were left out")


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _with_deep_parameter(record: dict[str, Any], depth: int) -> str:
    text = json.dumps(record)
    return text.replace('"requestParameters": {', '"requestParameters": {"deep": ' + _deep(depth) + ", ", 1)


def cloudtrail_cases() -> list[Case]:
    a, b, c = _firing("ct-good-a"), _firing("ct-good-b"), _firing("ct-good-c")
    document = json.dumps({"Records": [a, b, c]})
    truncated = document[: document.index('"ct-good-c"') + 5]  # in the middle of the third record
    not_time = {**_firing("ct-not-time"), "eventTime": "yesterday at noon"}
    no_identity = {k: v for k, v in _firing("ct-no-identity").items() if k != "userIdentity"}
    text_parameters = {**_firing("ct-text-parameters"), "requestParameters": "functionName=orders"}
    listed_parameters = {**_firing("ct-list-parameters"), "requestParameters": [{"functionName": "orders"}]}
    return [
        _detect_case("cloudtrail/truncated-in-the-middle", {"trail.json": truncated}, [(
            "malformed-records", "logs/trail.json: invalid JSON after 2 records: Unterminated string starting at; "
                                 "the 2 records before it were read")], ("ct-good-a", "ct-good-b")),
        _detect_case("cloudtrail/records-not-objects", {"trail.json": json.dumps(
            {"Records": [a, [a], "a record", 42, None, True, b]})}, [(
                "malformed-records", "logs/trail.json: 5 elements are no JSON object and were left out")],
            ("ct-good-a", "ct-good-b")),
        _detect_case("cloudtrail/records-not-objects-lines", {"trail.jsonl": _lines(a, [a], "a record", 42, b)},
                     [_malformed("trail.jsonl", 3, 5)], ("ct-good-a", "ct-good-b")),
        _detect_case("cloudtrail/event-time-not-a-time", {"trail.json": json.dumps({"Records": [a, not_time, b]})},
                     [_malformed("trail.json", 1, 3)], ("ct-good-a", "ct-good-b")),
        # Wrong-typed parameters and a missing identity are no reason to drop a record: read, and still judged.
        _detect_case("cloudtrail/request-parameters-wrong-type", {"trail.json": json.dumps(
            {"Records": [a, text_parameters, listed_parameters]})}, [],
            ("ct-good-a", "ct-text-parameters", "ct-list-parameters"), exit_code=1),
        _detect_case("cloudtrail/user-identity-missing", {"trail.json": json.dumps({"Records": [a, no_identity]})},
                     [], ("ct-good-a", "ct-no-identity"), exit_code=1),
        _detect_case("encoding/invalid-utf8-lines", {"trail.jsonl": _lines(a).encode() + json.dumps(b).encode()
                                                     .replace(b"dev-sam", b"dev-\xff\xfe-sam") + b"\n"},
                     [_malformed("trail.jsonl", 1, 2)], ("ct-good-a",)),
        # A document is decoded with replacement characters: the record is read, its bad bytes shown as U+FFFD.
        _detect_case("encoding/invalid-utf8-document", {"trail.json": b'{"Records": [' + json.dumps(a).encode()
                                                        + b", " + json.dumps(b).encode().replace(
                                                            b"dev-sam", b"dev-\xff\xfe-sam") + b"]}"},
                     [], ("ct-good-a", "ct-good-b"), exit_code=1),
        _detect_case("gzip/truncated", {"bad.json.gz": gzip.compress(document.encode())[:-40],
                                        "good.json": json.dumps({"Records": [a]})}, [(
            "unreadable-log", "logs/bad.json.gz: truncated gzip data: the file ends before its compressed stream "
                              "does")], ("ct-good-a",)),
        _detect_case("gzip/corrupt", {"bad.json.gz": _corrupt_gzip(document), "good.json": json.dumps(
            {"Records": [a]})}, [("unreadable-log", "logs/bad.json.gz: corrupt gzip data (Error -3 while "
                                                    "decompressing data: invalid block type)")], ("ct-good-a",)),
        _detect_case("gzip/truncated-lines", {"bad.jsonl.gz": gzip.compress(_lines(b, c).encode())[:-12],
                                              "good.json": json.dumps({"Records": [a]})}, [(
            "unreadable-log", "logs/bad.jsonl.gz: truncated gzip data: the file ends before its compressed stream "
                              "does")], ("ct-good-a",)),
        _detect_case("nesting/deep-record-in-lines", {"trail.jsonl": _lines(a, _with_deep_parameter(b, 100_000), c)},
                     [], ("ct-good-a", "ct-good-b", "ct-good-c"), exit_code=1),
        _detect_case("nesting/deep-first-line", {"trail.jsonl": _lines(_with_deep_parameter(b, 5_000), a)}, [],
                     ("ct-good-a", "ct-good-b"), exit_code=1),
        # Past the sniffed 64 KiB nothing says what the file is: a gap naming it, never a crash.
        _detect_case("nesting/deep-first-line-beyond-the-sniff", {
            "trail.jsonl": _lines(_with_deep_parameter(b, 100_000), a), "good.json": json.dumps({"Records": [c]})},
            [("unreadable-log", "logs/trail.jsonl: JSON that is no CloudTrail, Route 53 Resolver or GuardDuty log")],
            ("ct-good-c",)),
        _detect_case("nesting/deep-record-in-document", {"trail.json": "{\"Records\": [" + ", ".join(
            [json.dumps(a), _with_deep_parameter(b, 100_000), _deep(100_000), json.dumps(c)]) + "]}"}, [(
                "malformed-records", "logs/trail.json: 1 elements are no JSON object and were left out")],
            ("ct-good-a", "ct-good-b", "ct-good-c")),
        _detect_case("nesting/deep-value-never-closed", {"trail.json": "{\"Records\": [" + json.dumps(a) + ", "
                                                         + "[" * 100_000 + "]}"}, [(
            "malformed-records", "logs/trail.json: invalid JSON after 1 records: a value nested too deeply is never "
                                 "closed; the record before it was read")], ("ct-good-a",)),
        _detect_case("json-lines/garbage-lines", {"trail.jsonl": _lines(
            '{"eventVersion": "1.0', a, "hello world", "\x00\x01\x02", "{broken", b, "[1, 2]", '"text"', "42")},
            [_malformed("trail.jsonl", 7, 9)], ("ct-good-a", "ct-good-b")),
    ]


def _corrupt_gzip(text: str) -> bytes:
    """A gzip header followed by a deflate block of a reserved type."""
    data = bytearray(gzip.compress(text.encode()))
    data[10] = 0xFF  # first deflate block header: BTYPE 11 (reserved)
    return bytes(data)


# A field replaced in turn by each of these: text fields get their JSON text, so only a missing eventName or an
# eventTime that is no time makes a record malformed.
WRONG_VALUES: dict[str, object] = {
    "null": None, "integer": 42, "huge-float": -1.5e308, "boolean": True, "text": "not what it should be",
    "empty-text": "", "list": [1, "a"], "object": {"k": {"n": 1}}, "empty-object": {},
}


def _mutated(path: tuple[str, ...], value: object, event_id: str) -> dict[str, Any]:
    record = _firing(event_id)
    node = record
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = copy.deepcopy(value)
    if path != ("eventID",):
        record["eventID"] = event_id
    return record


def _field_paths(record: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every field of the record, nested ones too (userIdentity.arn, requestParameters.functionName...)."""
    paths = []
    for key, value in record.items():
        paths.append((*prefix, key))
        if isinstance(value, dict) and key in ("userIdentity", "requestParameters", "sessionContext"):
            paths.extend(_field_paths(value, (*prefix, key)))
    return paths


def _wrongly_malformed(path: tuple[str, ...], value: object) -> bool:
    """The documented rule: no eventName, or an eventTime that is no time (no wrong value is one)."""
    return (path == ("eventName",) and value is None) or path == ("eventTime",)


def wrong_type_cases() -> list[Case]:
    """One case per (field, wrong value): a file holding the mutated record and a good one. The mutated record is
    read unless it is malformed by the documented rule; the good record's alert is always there."""
    cases = []
    for path in _field_paths(OVERWRITE):
        for label, value in WRONG_VALUES.items():
            name = f"{'.'.join(path)}-{label}"
            good = f"good-{name}"
            malformed = _wrongly_malformed(path, value)
            gaps = [_malformed(f"{name}.jsonl", 1, 2)] if malformed else []
            cases.append(_detect_case(f"wrong-types/{name}", {f"{name}.jsonl": _lines(
                _firing(good), _mutated(path, value, f"mutated-{name}"))}, gaps, (good,),
                exit_code=3 if malformed else 1))
    return cases


def _gzip_bomb(path: Path, megabytes: int) -> None:
    """A CloudTrail document of ``megabytes`` MiB, all but one record blank space: one gzip member per MiB (the
    same bytes each time, so building it costs one compression), about 1000:1."""
    blank = gzip.compress(b" " * MiB, compresslevel=9)
    with path.open("wb") as out:
        out.write(gzip.compress(b'{"Records": [' + json.dumps(_firing("gz-inside")).encode() + b", "))
        for _ in range(megabytes):
            out.write(blank)
        out.write(gzip.compress(b"]}"))


GZIP_BOMB_MIB = 1100  # past the 1 GiB a document may decompress to


def gzip_bomb_case() -> Case:
    def build(root: Path) -> None:
        (root / "logs").mkdir()
        _gzip_bomb(root / "logs" / "bomb.json.gz", GZIP_BOMB_MIB)
        (root / "logs" / "good.json").write_text(json.dumps({"Records": [_firing("ct-good-a")]}))

    # Inflated as it is read: the record before the blank is kept, and memory stays far below the 1 GiB.
    return Case("gzip/bomb", "detect", build, 3, (
        ("unreadable-log", "logs/bomb.json.gz: cannot read: larger than 1073741824 bytes once decompressed; the "
                           "record before it was read"),),
        ("ct-good-a", "gz-inside"), max_peak_mib=300.0)


# ---------------------------------------------------------------------------------------------------- flows, DNS
def flow_and_dns_cases() -> list[Case]:
    broken_flows = [
        "2 111122223333 eni-1 10.0.1.25",  # cut short
        "garbage",
        "2 111122223333 eni-1 10.0.1.25 198.51.100.7 1 2 6 10 800 yesterday 1772359260 ACCEPT OK",  # start no time
        FLOW_LINES[0] + " extra-field",
    ]
    query = RESOLVER_QUERY
    broken_queries = ["{broken", "[1]", json.dumps({k: v for k, v in query.items() if k != "query_name"}),
                      json.dumps({**query, "query_timestamp": "noon"}), json.dumps({**query, "query_name": None})]
    return [
        _detect_case("flows/broken-lines", {"flows.log": "\n".join([FLOW_LINES[0], *broken_flows, *FLOW_LINES[1:]])
                                            + "\n"}, [_malformed("flows.log", 4, 7, "flows")], FLOW_IDS),
        _detect_case("flows/custom-format-broken-lines", {"flows.log": "\n".join([FLOW_HEADER, *broken_flows,
                                                                                   *FLOW_LINES]) + "\n"},
                     [_malformed("flows.log", 4, 7, "flows")], FLOW_IDS),
        _detect_case("resolver/broken-lines", {"resolver.jsonl": _lines(_queries()[0], *broken_queries,
                                                                          _queries()[1])},
                     [_malformed("resolver.jsonl", 5, 7, "dns")], RESOLVER_IDS),
    ]


def all_cases() -> list[Case]:
    return [*archive_cases(), *cloudtrail_cases(), *wrong_type_cases(), gzip_bomb_case(), *flow_and_dns_cases()]


CASES: list[Case] = all_cases()


# ---------------------------------------------------------------------------------------------------- 200 MB
BIG_FILE_BYTES = 200 * MiB
BIG_FIRING = ("big-first", "big-middle", "big-last")  # DET001 records at the start, middle and end


@dataclass(frozen=True)
class BigTrail:
    """What was written into the one big CloudTrail file, for the exact expectations."""

    objects: int  # records that are JSON objects (malformed ones included)
    not_objects: int
    malformed: int


def write_big_trail(path: Path, size: int = BIG_FILE_BYTES) -> BigTrail:
    """One ``{"Records": [...]}`` document of about ``size`` bytes: benign reads padded to S3-batch size, three
    DET001 records, three elements that are no object and four records without a usable eventName or eventTime."""
    read = {**_firing("x"), "eventName": "GetFunction20150331v2", "readOnly": True,
            "requestParameters": {"functionName": "orders", "note": "x" * 1200}}
    template = json.dumps(read).replace('"eventID": "x"', '"eventID": "read-%d"')
    broken = [json.dumps({**_firing("bad-time-1"), "eventTime": "not a time"}),
              json.dumps({**_firing("bad-time-2"), "eventTime": 1772359200}),
              json.dumps({**_firing("no-name-1"), "eventName": None}),
              json.dumps({k: v for k, v in _firing("no-name-2").items() if k != "eventName"}),
              "[1, 2, 3]", '"a string"', "42"]
    count = size // (len(template) + 2)
    specials = {0: json.dumps(_firing(BIG_FIRING[0])), count // 2: json.dumps(_firing(BIG_FIRING[1])),
                count - 1: json.dumps(_firing(BIG_FIRING[2]))}
    for offset, element in enumerate(broken):
        specials[(offset + 1) * count // (len(broken) + 1) + 1] = element
    with path.open("w", encoding="utf-8") as out:
        out.write('{"Records": [')
        for index in range(count):
            out.write((", " if index else "") + specials.get(index, template % index))
        out.write("]}")
    return BigTrail(objects=count - 3, not_objects=3, malformed=4)
