"""Find hard-coded secrets in the files of a deployment package or layer.

One regular expression, built once, scans each text file in a single pass for *anchors*: the literals of the
provider formats of analysis/secrets.py (``AKIA``, ``ghp_``, ``xoxb-``, ``sk_live_``, ``eyJ``, ``://``,
``-----BEGIN``...) and the words sensitive names are made of (``password``, ``Token``, ``SECRET``, ``key``...).
It is a trie of literals, which the engine skips through quickly; each anchor is then judged where it stands:
the provider formats containing it (AWS, GitHub, GitLab, Slack, Stripe, Twilio, SendGrid, Google, Azure, PEM
private keys, JWTs, URLs with a password...), or an "assignment to a sensitive name" (``password = "..."``,
``API_KEY: ...``, ``"token": "..."``, ``.env`` lines) read from the whole name around the word. An AWS access key
id (``AKIA``/``ASIA``) with a secret access key (40 base64 characters) within :data:`PAIR_LINES` lines is one
high-confidence "AWS access key pair"; an id alone is medium.

False positives are kept low by what is *not* scanned and by what does not count:

* third-party files are skipped unless ``all_files``: a file that belongs, unmodified, to an installed Python
  distribution (its sha256 matches the distribution's RECORD, analysis/records.py), and anything inside a Node.js
  package (``node_modules/<name>/`` holding a ``package.json``: npm keeps no per-file hashes, so this part rests on
  the directory layout only);
* binary files (a NUL byte in the first 8 KiB) and files larger than the package's ``max_file_bytes``;
* assignments only count in code (quoted values) and configuration files (quoted or bare values), never in lock
  files (package-lock.json integrity hashes, poetry.lock...), ``*.dist-info`` metadata, minified files or
  documentation, where provider formats are still looked for; references (``${...}``, ``{{resolve:...}}``,
  ``os.environ[...]``), placeholders and example values (``changeme``, ``<your-token>``, AWS's ``...EXAMPLE``
  keys) never count, nor do development URLs (``postgres://postgres:postgres@localhost``).

Secrets found in test, example and documentation files (``tests/``, ``test_*.py``, ``*.spec.js``,
``.env.example``, ``README.md``...) are reported one confidence level lower.
A :class:`CodeSecret` carries a redacted preview only; the value itself never leaves this module.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Final

from lambdasec.fast_dataclass import dataclass, field

from ..model.findings import Confidence
from .secrets import (
    ProviderHit,
    detect_assignment,
    is_example_value,
    provider_anchors,
    provider_hits_at,
    redact,
    shannon_entropy,
)

if TYPE_CHECKING:
    from .packages import Package

SNIFF_BYTES: Final = 8192  # a NUL byte in the first 8 KiB: binary
PAIR_LINES: Final = 5  # an AWS access key id and its secret key are written this close together
AWS_SECRET_MIN_ENTROPY: Final = 4.0  # bits per character: 40 random base64 characters score about 4.9
MAX_VALUE: Final = 256  # longest assigned value looked at (longer ones are blobs, or provider tokens)

# Files where values are quoted: a bare word after "password =" is an identifier, not a secret.
CODE_SUFFIXES: Final = (".py", ".pyi", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx", ".java",
                        ".kt", ".kts", ".scala", ".groovy", ".go", ".rb", ".php", ".cs", ".fs", ".vb", ".rs",
                        ".swift", ".c", ".h", ".cc", ".cpp", ".hpp", ".m", ".dart", ".lua", ".pl", ".pm", ".r",
                        ".json", ".json5", ".vue", ".svelte")
# Files made of hashes, versions and names: provider formats only.
LOCK_FILES: Final = frozenset({"package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml",
                               "poetry.lock", "pipfile.lock", "pdm.lock", "uv.lock", "composer.lock",
                               "gemfile.lock", "cargo.lock", "go.sum", "packages.lock.json", ".package-lock.json",
                               "requirements.txt", "constraints.txt"})
DOCUMENT_SUFFIXES: Final = (".md", ".markdown", ".rst", ".txt", ".adoc", ".html", ".htm", ".rtf", ".tex", ".map")
# Files of examples (botocore's examples-1.json, config.sample.yaml, .env.example): values there illustrate.
_EXAMPLE_FILE = re.compile(r"example|sample|\.dist$|\.tmpl$")
_TEST_DIRECTORIES: Final = frozenset({"test", "tests", "__tests__", "testing", "spec", "specs", "fixtures",
                                      "__mocks__", "testdata", "test_data"})

# Words sensitive names are made of, as they are written (db_password, dbPassword, DB_PASSWORD); the whole name
# is then judged by analysis/secrets.detect_assignment (DB_PASSWORD_ARN, TOKEN_URL, passwordPrompt do not count).
_NAME_WORDS: Final = ("pass", "pwd", "secret", "token", "cred", "auth", "bearer", "key")
_NAME_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-$")
_MAX_NAME: Final = 64
_NOT_A_NAME: Final = frozenset(":/\\@")  # before a word, these make it part of a type, path or address
# What follows a sensitive name in an assignment: a closing quote or bracket, an operator (``=``, ``:``, ``:=``,
# ``=>``, or a type annotation then ``=``), and the value: quoted, or bare (configuration files only).
_OPERATOR = r"(?:(?::[ \t]*[A-Za-z_][\w.\[\], |]{0,40}?)?[ \t]*(?::=|=>|=(?![=~>]))|:(?![:=]))"
_VALUE = (rf"(?:[bBrRuU]{{0,2}}(?:\"(?P<dq>[^\"\r\n\\]{{1,{MAX_VALUE}}})\"|'(?P<sq>[^'\r\n\\]{{1,{MAX_VALUE}}})'"
          rf"|`(?P<bq>[^`\r\n\\$]{{1,{MAX_VALUE}}})`)|(?P<bare>[^\s\"'`,;{{}}()\[\]<>]{{1,{MAX_VALUE}}}))")
_ASSIGNMENT_TAIL = re.compile(rf"[\"'`]?\]?[ \t]*{_OPERATOR}[ \t]*{_VALUE}")
# The shape of an AWS secret access key; only looked for near an access key id.
_AWS_SECRET_SHAPE = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
# A PEM body right after its header: optional headers (Proc-Type: ...), then base64, in a file or a string
# literal with "\n" escapes.
_PEM_BODY = re.compile(r"(?:\s|\\[rn]|\"|')*(?:[A-Za-z\-]+:[^\n\\]*(?:\\n|\n)(?:\s|\\[rn])*)*[A-Za-z0-9+/]{40,}")
_LOCAL_HOSTS = re.compile(r"(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]|[\w.\-]*example\.(?:com|org|net))"
                          r"(?![\w.\-])", re.IGNORECASE)
# A password that is a format field of a URL template: "{password}", "%s", "%(password)s", "$PASSWORD".
_FORMAT_FIELD = re.compile(r"\{[\w.\[\]]*\}|%[sd]|%\(\w+\)s|^\$\w+$")
# Passwords of development URLs ("postgres://postgres:postgres@localhost"): defaults, not secrets.
_DEFAULT_PASSWORDS: Final = frozenset({"password", "passwd", "pass", "pwd", "secret", "root", "admin", "postgres",
                                       "mysql", "guest", "user", "test", "redis", "rabbitmq", "mongo", "hunter2"})


@cache
def _name_anchors() -> frozenset[str]:
    return frozenset(form for word in _NAME_WORDS for form in (word, word.title(), word.upper()))


@cache
def _anchors() -> tuple[re.Pattern[str], frozenset[str], frozenset[str]]:
    """The anchor expression, a trie (``a(?:uth|ws)|...``) so the engine tries few alternatives at each
    position, with the provider and name anchors. Compiled once per process, on first use."""
    providers, names = provider_anchors(), _name_anchors()
    return re.compile(_trie(providers | names)), providers, names


def _trie(words: Iterable[str]) -> str:
    root: _Node = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _trie_pattern(root)


_Node = dict[str, "_Node"]


def _trie_pattern(node: _Node) -> str:
    branches = [re.escape(char) + _trie_pattern(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 and "" not in node else "(?:" + "|".join(branches) + ")"
    return body + ("?" if "" in node else "")


# ---------------------------------------------------------------- results
@dataclass(frozen=True)
class CodeSecret:
    path: str  # package path of the file
    line: int
    column: int  # 1-based, of the secret's first character
    kind: str  # analysis/secrets.py kinds, plus "aws-access-key-pair"
    confidence: Confidence
    preview: str  # redacted: safe to print


@dataclass
class CodeSecretsScan:
    secrets: list[CodeSecret] = field(default_factory=list)
    files_scanned: int = 0
    bytes_scanned: int = 0
    files_skipped_third_party: int = 0
    bytes_skipped_third_party: int = 0
    files_skipped_binary: int = 0
    bytes_skipped_binary: int = 0
    files_unreadable: int = 0  # larger than max_file_bytes, or not readable (the package records why)


# ---------------------------------------------------------------- a package
def scan_package(package: Package, *, all_files: bool) -> CodeSecretsScan:
    """The secrets of every text file of the package; third-party files skipped unless ``all_files``."""
    from .records import published_files

    scan = CodeSecretsScan()
    third_party = frozenset() if all_files else published_files(package) | node_package_files(package)
    for entry in package.files:
        if entry.path in third_party:
            scan.files_skipped_third_party += 1
            scan.bytes_skipped_third_party += entry.size
            continue
        data = _text_of(package, entry.path)
        if data is None:
            scan.files_unreadable += 1
        elif data is _BINARY:
            scan.files_skipped_binary += 1
            scan.bytes_skipped_binary += entry.size
        else:
            scan.files_scanned += 1
            scan.bytes_scanned += len(data)
            scan.secrets.extend(scan_text(data.decode("utf-8", "replace"), entry.path))
    return scan


_BINARY: Final = b"\0binary"


def _text_of(package: Package, path: str) -> bytes | None:
    """The file's bytes, :data:`_BINARY` when it is binary (only its first 8 KiB are read), None when it cannot
    be read."""
    stream = package.open(path)
    if stream is None:
        return None
    try:
        with stream:
            head = stream.read(SNIFF_BYTES)
    except OSError:
        return None
    if b"\0" in head:
        return _BINARY
    return package.read(path)


def node_package_files(package: Package) -> frozenset[str]:
    """Files inside a Node.js package installed under ``node_modules`` (its directory holds a package.json)."""
    roots: set[str] = set()
    for entry in package.files:
        directory, name = posixpath.split(entry.path)
        if name == "package.json" and _is_node_package_directory(directory):
            roots.add(directory)
    if not roots:
        return frozenset()
    return frozenset(entry.path for entry in package.files if _under_any(entry.path, roots))


def _is_node_package_directory(directory: str) -> bool:
    parts = directory.split("/")
    if len(parts) >= 2 and parts[-2] == "node_modules":
        return not parts[-1].startswith(".")
    return len(parts) >= 3 and parts[-3] == "node_modules" and parts[-2].startswith("@")


def _under_any(path: str, roots: set[str]) -> bool:
    directory = posixpath.dirname(path)
    while directory:
        if directory in roots:
            return True
        directory = posixpath.dirname(directory)
    return False


# ---------------------------------------------------------------- a text
@dataclass
class _Hit:
    offset: int
    kind: str
    confidence: Confidence
    secret: str
    named: bool = False  # an AWS secret key written under an AWS-ish name


@dataclass
class _Lines:
    """Line and column of offsets, counted incrementally for increasing offsets."""

    text: str
    offset: int = 0
    line: int = 1

    def at(self, offset: int) -> tuple[int, int]:
        if offset < self.offset:
            self.offset, self.line = 0, 1
        self.line += self.text.count("\n", self.offset, offset)
        self.offset = offset
        return self.line, offset - self.text.rfind("\n", 0, offset)


def scan_text(text: str, path: str) -> list[CodeSecret]:
    """The secrets of one file's text (``path`` decides how assignments are read and the test-file demotion)."""
    style = _file_style(path)
    expression, providers, names = _anchors()
    hits: list[_Hit] = []
    done = 0  # end of the last match: anchors inside it were judged with it
    name_end = 0  # end of the last name read: its other words need no second look
    for found in expression.finditer(text):
        position, anchor = found.start(), found.group()
        if position < done:
            continue
        if anchor in providers:
            for hit in _provider_hits(text, anchor, position):
                hits.append(hit)
                done = max(done, hit.offset + len(hit.secret))
        if anchor in names and style != "provider-only" and position >= name_end:
            assigned, name_end, end = _assignment_at(text, position, bare_values=style == "config")
            hits.extend(assigned)
            done = max(done, end)
    return _secrets(_paired(hits, text), path, _Lines(text))


def _file_style(path: str) -> str:
    """"code" (quoted values), "config" (bare values too) or "provider-only" (lock files, metadata, docs)."""
    name = posixpath.basename(path).lower()
    parts = path.split("/")
    if name in LOCK_FILES or any(part.endswith((".dist-info", ".egg-info")) for part in parts[:-1]):
        return "provider-only"
    if name.endswith(DOCUMENT_SUFFIXES) or ".min." in name or _EXAMPLE_FILE.search(name):
        return "provider-only"
    return "code" if name.endswith(CODE_SUFFIXES) else "config"


def _provider_hits(text: str, anchor: str, position: int) -> list[_Hit]:
    return [_Hit(hit.start, hit.kind, hit.confidence, hit.secret, named=hit.kind == "aws-secret-access-key")
            for hit in provider_hits_at(text, anchor, position) if _provider_counts(hit, text)]


def _provider_counts(hit: ProviderHit, text: str) -> bool:
    """Provider matches that are documentation or development defaults are not secrets."""
    end = hit.start + len(hit.secret)
    if hit.kind == "private-key":
        # A real key has its base64 body right after the header; "-----BEGIN ... KEY-----" alone is a marker
        # that parsing code compares with.
        body = text[end:end + 4096].split("-----END", 1)[0]
        return bool(_PEM_BODY.match(text, end)) and "..." not in body and "EXAMPLE" not in body
    if is_example_value(hit.secret):
        return False
    if hit.kind in ("database-url-password", "url-password"):
        host = text[end + 1:end + 121]  # after the "@"
        return (len(hit.secret) >= 4 and hit.secret.lower() not in _DEFAULT_PASSWORDS
                and not _FORMAT_FIELD.search(hit.secret) and not _LOCAL_HOSTS.match(host))
    return True


def _assignment_at(text: str, position: int, *, bare_values: bool) -> tuple[list[_Hit], int, int]:
    """The secret assigned to the name around ``position``, if any: (hits, end of the name, end of the
    assignment, or 0 when the name is not assigned)."""
    begin = position
    while begin > 0 and position - begin < _MAX_NAME and text[begin - 1] in _NAME_CHARS:
        begin -= 1
    if begin > 0 and text[begin - 1] in _NOT_A_NAME:
        return [], position + 1, 0  # "AWS::IAM::AccessKey", "alias/aws/secretsmanager": a type or a path
    name_end = position
    while name_end < len(text) and name_end - begin < 2 * _MAX_NAME and text[name_end] in _NAME_CHARS:
        name_end += 1
    tail = _ASSIGNMENT_TAIL.match(text, name_end)
    if tail is None:
        return [], name_end, 0
    inside = _provider_hits_in(text, tail.start(), tail.end())
    if inside:
        return inside, name_end, tail.end()
    value_group = next((group for group in ("dq", "sq", "bq") if tail.group(group) is not None), None)
    if value_group is None and not bare_values:
        return [], name_end, tail.end()
    value_group = value_group or "bare"
    value, offset = tail.group(value_group), tail.start(value_group)
    match = detect_assignment(text[begin:name_end], value)
    if match is None:
        if _aws_secret_shape(value):  # "secret = '<40 chars>'": pairs with a nearby access key id
            return [_Hit(offset, "aws-secret-candidate", Confidence.LOW, value)], name_end, tail.end()
        return [], name_end, tail.end()
    hit = _Hit(offset, match.kind, match.confidence, value, named=match.kind == "aws-secret-access-key")
    return [hit], name_end, tail.end()


def _provider_hits_in(text: str, start: int, end: int) -> list[_Hit]:
    """Provider secrets inside an assigned value (``GITHUB_TOKEN = "ghp_..."``)."""
    expression, providers, _ = _anchors()
    hits: list[_Hit] = []
    for found in expression.finditer(text, start, end):
        if found.group() in providers:
            hits.extend(hit for hit in _provider_hits(text, found.group(), found.start()) if hit.offset < end)
    return hits


def _aws_secret_shape(value: str) -> bool:
    return (
        len(value) == 40
        and any(c.isupper() for c in value) and any(c.islower() for c in value) and any(c.isdigit() for c in value)
        and not is_example_value(value)
        and shannon_entropy(value) >= AWS_SECRET_MIN_ENTROPY
    )


def _paired(hits: list[_Hit], text: str) -> list[tuple[_Hit, int]]:
    """(hit, line) pairs: each AWS access key id joined with the nearest secret access key within
    :data:`PAIR_LINES` lines (one written under an AWS-ish name first), lone ids demoted to medium, secret key
    shapes without an id dropped."""
    lines = _Lines(text)
    numbered = [(hit, lines.at(hit.offset)[0]) for hit in sorted(hits, key=lambda h: h.offset)]
    named = {hit.offset for hit, _ in numbered if hit.named}
    used: set[int] = set()
    out: list[tuple[_Hit, int]] = []
    for hit, line in numbered:
        if hit.kind != "aws-access-key-id":
            continue
        near = [(offset not in named, abs(shape_line - line), offset, secret)
                for offset, shape_line, secret in _secret_shapes_near(text, hit.offset, line) if offset not in used]
        if near:
            _, _, offset, secret = min(near)
            used.add(offset)
            out.append((_Hit(hit.offset, "aws-access-key-pair", Confidence.HIGH, f"{hit.secret}/{secret}"), line))
        else:
            out.append((_Hit(hit.offset, hit.kind, Confidence.MEDIUM, hit.secret), line))
    for hit, line in numbered:
        if hit.kind not in ("aws-access-key-id", "aws-secret-candidate") and hit.offset not in used:
            out.append((hit, line))
    return sorted(out, key=lambda pair: pair[0].offset)


def _secret_shapes_near(text: str, offset: int, line: int) -> list[tuple[int, int, str]]:
    """(offset, line, value) of the AWS secret key shapes within :data:`PAIR_LINES` lines of ``offset``."""
    start = text.rfind("\n", 0, offset) + 1
    for _ in range(PAIR_LINES):
        if start == 0:
            break
        start = text.rfind("\n", 0, start - 1) + 1
    end = offset
    for _ in range(PAIR_LINES + 1):
        end = text.find("\n", end + 1)
        if end < 0:
            end = len(text)
            break
    shapes = []
    for found in _AWS_SECRET_SHAPE.finditer(text, start, end):
        if _aws_secret_shape(found.group()):
            if found.start() < offset:
                shape_line = line - text.count("\n", found.start(), offset)
            else:
                shape_line = line + text.count("\n", offset, found.start())
            shapes.append((found.start(), shape_line, found.group()))
    return shapes


def _secrets(hits: Iterable[tuple[_Hit, int]], path: str, lines: _Lines) -> list[CodeSecret]:
    name = posixpath.basename(path).lower()
    demote = (_is_test_file(path) or bool(_EXAMPLE_FILE.search(name)) or name.endswith(DOCUMENT_SUFFIXES)
              or any(part.endswith((".dist-info", ".egg-info")) for part in path.split("/")[:-1]))
    found: dict[tuple[int, int, str], CodeSecret] = {}
    for hit, line in hits:
        _, column = lines.at(hit.offset)
        confidence = Confidence(max(hit.confidence - 1, Confidence.LOW)) if demote else hit.confidence
        found.setdefault((line, column, hit.kind), CodeSecret(path, line, column, hit.kind, confidence, _preview(hit)))
    return list(found.values())


def _preview(hit: _Hit) -> str:
    if hit.kind == "aws-access-key-pair":
        key_id, _, secret = hit.secret.partition("/")
        return f"{redact(key_id)} / {redact(secret)}"
    return redact(hit.secret)


def _is_test_file(path: str) -> bool:
    parts = path.lower().split("/")
    stem = parts[-1].rsplit(".", 1)[0]
    return (
        any(part in _TEST_DIRECTORIES for part in parts[:-1])
        or stem.startswith(("test_", "tests_")) or stem.endswith(("_test", "_tests", ".test", ".spec"))
        or stem in ("test", "tests", "conftest")
    )
