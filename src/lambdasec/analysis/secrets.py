"""Recognize a hard-coded secret from a name and a literal value.

Pure, fast and independent of any source format, so the same detector serves environment
variables today and code files later. Two families of evidence:

* **Provider formats**: tokens whose shape alone identifies them (``AKIA...``, ``ghp_...``, a PEM
  private key header, a database URL with a password...). High confidence, except formats that are
  test keys or shared with other things (Stripe test keys, ``sk-`` keys, passwords in http URLs).
* **Sensitive names**: a value held under a name such as ``DB_PASSWORD`` or ``API_TOKEN``. Any
  real literal under a password-like name is a hard-coded password (even ``changeme``); under the
  other sensitive names the value must also look random (see :data:`MIN_GENERIC_ENTROPY`). Medium
  confidence.

References are never secrets: CloudFormation dynamic references (``{{resolve:...}}``), ``${...}``
placeholders, ARNs, SSM parameter paths, URLs without credentials, booleans and numbers.

Code files (analysis/code_secrets.py) reuse the provider formats through :func:`provider_anchors` and
:func:`provider_hits_at`, so a whole file is scanned in one regular-expression pass, and judge assignments with
:func:`detect_assignment`, which is stricter than :func:`detect` (code is full of names like ``password`` holding
prompts, examples and test values).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections import Counter
from collections.abc import Callable
from functools import cache, lru_cache

from lambdasec.fast_dataclass import dataclass

from ..model.findings import Confidence

# Shannon entropy, in bits per character, that a value under a sensitive name (other than a
# password) needs to count as a secret. Random base64/hex tokens score 3.5-5; words, slugs and
# identifiers like "my-service-prod" score lower or lack mixed character classes. 3.0 is the
# maximum an 8-character value can reach, so the minimum length below stays meaningful.
MIN_GENERIC_ENTROPY = 3.0
MIN_GENERIC_LENGTH = 8
# In code and config files (detect_assignment): passwords, and other sensitive values, at least this long.
MIN_CODE_PASSWORD_LENGTH = 6
MIN_CODE_SECRET_LENGTH = 10

_MASK = "****"


@dataclass(frozen=True)
class SecretMatch:
    kind: str  # stable slug, e.g. "aws-access-key-id", "password"
    confidence: Confidence
    preview: str  # redacted with redact(): safe to print


def redact(value: str) -> str:
    """At most the first 2 and last 2 characters of a secret; nothing at all for short values."""
    if len(value) < 10:
        return _MASK
    return f"{value[:2]}{_MASK}{value[-2:]}"


def describe(kind: str) -> str:
    """A readable name for a kind, for messages ("AWS access key ID")."""
    return _LABELS.get(kind, kind.replace("-", " "))


def detect(name: str, value: str) -> SecretMatch | None:
    """The most confident secret found in ``value`` held under ``name``, or None."""
    text = value.strip()
    if not text:
        return None
    # Provider formats first: they also catch a real password next to a reference ("${Host}").
    found = _provider_match(text)
    if found is not None or _is_reference(text):
        return found
    return _named_match(name, text)


def detect_in_expression(text: str) -> SecretMatch | None:
    """A secret in the written text of a value known only at deploy time (``!Sub "postgres://app:PW@${Host}"``,
    ``"...@${var.host}"``): provider formats only, since the name says nothing about a value that is partly a
    reference."""
    return _provider_match(text.strip()) if text.strip() else None


def is_non_secret_value(value: str) -> bool:
    """True for values that are references or placeholders rather than secrets (ARNs, paths, ${x}...)."""
    text = value.strip()
    return not text or _is_reference(text) or _is_benign_literal(text)


def shannon_entropy(value: str) -> float:
    """Bits of information per character of ``value``."""
    if not value:
        return 0.0
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in Counter(value).values())


# ---------------------------------------------------------------- provider formats
@dataclass(frozen=True)
class _Format:
    kind: str
    confidence: Confidence
    # Regular expression; an optional group named "secret" marks the part to redact and validate.
    pattern: str
    valid: Callable[[str], bool] | None = None
    anchors: tuple[str, ...] = ()  # literals every match contains (see _FORMATS)
    back: int | None = 0  # characters between the start of a match and its anchor; None: up to _ANCHOR_REACH


def _real_password(secret: str) -> bool:
    return not _is_reference(secret) and not _is_placeholder(secret)


def _mixed(secret: str) -> bool:
    return any(c.isdigit() for c in secret) and any(c.isalpha() for c in secret)


def _jwt_header(token: str) -> bool:
    """A JSON web token's first segment is base64url JSON naming its algorithm: "eyJ..." text that is not is
    something else (minified code, a base64 blob)."""
    head = token.split(".", 1)[0]
    try:
        decoded = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
        header = json.loads(decoded)
    except (binascii.Error, ValueError):
        return False
    return isinstance(header, dict) and "alg" in header


_B = r"(?<![A-Za-z0-9_\-])"  # token start: not glued to a longer word
_E = r"(?![A-Za-z0-9])"  # token end

_SCHEME_START = r"(?<![A-Za-z0-9+.\-])"  # also keeps the scheme scan linear on long words
_DB_SCHEMES = _SCHEME_START + (
    r"(?i:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver|oracle)"
)

_HIGH, _MEDIUM = Confidence.HIGH, Confidence.MEDIUM
_URL_USER = r"://[^:/@\s]*:(?P<secret>[^@\s/]+)@"  # scheme://user:password@ (user may be empty)

# Order matters when two formats match at the same position: the first one wins.
_GITHUB = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")
_SLACK = ("xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxe-", "xoxs-", "xapp-")

# Order matters when two formats match at the same position: the first one wins. Anchors are literals every
# match contains, ``back`` characters after its start (None: anywhere in the first 64 characters), so a long
# text is scanned once for the anchors and each format only tried where its anchor is (provider_hits_at).
_FORMATS = (
    _Format("private-key", _HIGH, r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----", anchors=("-----BEGIN",)),
    _Format("aws-access-key-id", _HIGH, rf"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{{16}}{_E}", anchors=("AKIA", "ASIA")),
    _Format(
        "aws-secret-access-key", _HIGH,
        r"(?i:aws_?secret_?access_?key)[\"']?\s*[:=]\s*[\"']?(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])",
        anchors=("aws", "AWS", "Aws"),
    ),
    _Format("github-token", _HIGH, rf"{_B}(?:gh[pousr]_[A-Za-z0-9]{{36,255}}|github_pat_\w{{22,255}}){_E}",
            anchors=_GITHUB),
    _Format("gitlab-token", _HIGH, rf"{_B}glpat-[A-Za-z0-9_\-]{{20,}}", anchors=("glpat-",)),
    _Format("slack-token", _HIGH, rf"{_B}(?:xox[bpares]-[A-Za-z0-9\-]{{10,}}|xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]{{16,}})",
            anchors=_SLACK),
    _Format("slack-webhook", _HIGH, r"https://hooks\.slack\.com/services/[A-Za-z0-9]+/[A-Za-z0-9]+/[A-Za-z0-9]{8,}",
            anchors=("hooks.slack.com/",), back=len("https://")),
    _Format("stripe-live-key", _HIGH, rf"{_B}(?:sk|rk)_live_[A-Za-z0-9]{{10,}}", anchors=("sk_live_", "rk_live_")),
    _Format("stripe-test-key", _MEDIUM, rf"{_B}(?:sk|rk)_test_[A-Za-z0-9]{{10,}}", anchors=("sk_test_", "rk_test_")),
    _Format("twilio-api-key", _HIGH, rf"{_B}SK[0-9a-fA-F]{{32}}{_E}", anchors=("SK",)),
    # An account SID alone is an identifier; with its auth token (basic-auth form) it is a credential.
    _Format("twilio-credentials", _HIGH, rf"{_B}AC[0-9a-fA-F]{{32}}:(?P<secret>[0-9a-fA-F]{{32}}){_E}",
            anchors=("AC",)),
    _Format("sendgrid-api-key", _HIGH, rf"{_B}SG\.[A-Za-z0-9_\-]{{16,}}\.[A-Za-z0-9_\-]{{16,}}", anchors=("SG.",)),
    _Format("google-api-key", _HIGH, rf"{_B}AIza[0-9A-Za-z_\-]{{35}}{_E}", anchors=("AIza",)),
    _Format("jwt", _HIGH, rf"{_B}eyJ[A-Za-z0-9_\-]{{8,}}\.eyJ[A-Za-z0-9_\-]{{8,}}\.[A-Za-z0-9_\-]{{8,}}", _jwt_header,
            anchors=("eyJ",)),
    _Format("npm-token", _HIGH, rf"{_B}npm_[A-Za-z0-9]{{36}}{_E}", anchors=("npm_",)),
    _Format("pypi-token", _HIGH, rf"{_B}pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{{50,}}", anchors=("pypi-",)),
    _Format("google-oauth-client-secret", _HIGH, rf"{_B}GOCSPX-[A-Za-z0-9_\-]{{28}}{_E}", anchors=("GOCSPX-",)),
    # Microsoft Entra ID (Azure AD) application client secrets: three characters, a digit, "Q~", then 31-34.
    _Format("azure-client-secret", _HIGH, rf"{_B}[A-Za-z0-9_~.]{{3}}\dQ~[A-Za-z0-9_~.\-]{{31,34}}{_E}", _mixed,
            anchors=("Q~",), back=4),
    _Format("discord-webhook", _HIGH,
            r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{5,}/[A-Za-z0-9_\-]{60,}",
            anchors=("/api/webhooks/",), back=None),
    _Format("azure-storage-key", _HIGH, r"AccountKey=(?P<secret>[A-Za-z0-9+/]{20,}={0,2})", anchors=("AccountKey=",)),
    _Format("azure-shared-access-key", _HIGH, r"SharedAccessKey=(?P<secret>[A-Za-z0-9+/]{20,}={0,2})",
            anchors=("SharedAccessKey=",)),
    _Format("database-url-password", _HIGH, _DB_SCHEMES + _URL_USER, _real_password, anchors=("://",), back=None),
    _Format("url-password", _MEDIUM, _SCHEME_START + r"(?i:[a-z][a-z0-9+.\-]*)" + _URL_USER, _real_password,
            anchors=("://",), back=None),
    _Format("openai-api-key", _MEDIUM, rf"{_B}sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{{20,}}", _mixed,
            anchors=("sk-",)),
)


def _group(index: int) -> str:
    return f"f{index}"


def _alternatives(formats: tuple[_Format, ...]) -> tuple[str, ...]:
    """One named group per format (its secret part in a second group), so a text is scanned in a single pass."""
    parts = []
    for index, fmt in enumerate(formats):
        body = fmt.pattern.replace("(?P<secret>", f"(?P<{_group(index)}s>")
        parts.append(f"(?P<{_group(index)}>{body})")
    return tuple(parts)


_ALTERNATIVES = _alternatives(_FORMATS)


@cache
def _combined() -> re.Pattern[str]:
    """Every format in one expression, compiled on first use (tens of milliseconds: not at import)."""
    return re.compile("|".join(_ALTERNATIVES))


@dataclass(frozen=True)
class ProviderHit:
    """A provider format found by a caller's combined expression: the raw secret never leaves the caller."""

    kind: str
    confidence: Confidence
    secret: str  # the part to redact (the whole token, or the password of a URL)
    start: int  # offset of ``secret`` in the scanned text


_ANCHOR_REACH = 64  # furthest a "back=None" format's match starts before its anchor (a URL scheme)
_WINDOW = 2048  # characters after an anchor a match may span
_SHORT_WINDOW = 512  # the same for "back=None" formats (URLs: user and password follow the "://" closely)


def provider_anchors() -> frozenset[str]:
    """Literals one of which every provider match contains: a caller scans a text once for them (a trie of
    literals is fast in any regular-expression engine) and calls :func:`provider_hits_at` where they are."""
    return frozenset(anchor for fmt in _FORMATS for anchor in fmt.anchors)


def provider_hits_at(text: str, anchor: str, position: int) -> list[ProviderHit]:
    """The provider secrets whose match contains ``anchor``, found at ``position`` in ``text``."""
    hits: list[ProviderHit] = []
    taken: list[tuple[int, int]] = []  # spans of earlier formats' matches: at one place the first format wins
    for index in _formats_by_anchor().get(anchor, ()):
        fmt = _FORMATS[index]
        for found in _matches_around(index, text, position):
            if any(found.start() < end and start < found.end() for start, end in taken):
                continue
            hit = _hit(fmt, index, found)
            if hit is not None:
                hits.append(hit)
                taken.append(found.span())
    return hits


def _matches_around(index: int, text: str, position: int) -> list[re.Match[str]]:
    fmt = _FORMATS[index]
    pattern = _single(index)
    end = min(len(text), position + _WINDOW)
    if fmt.back is not None:
        start = position - fmt.back
        found = pattern.match(text, start, end) if start >= 0 else None
        return [found] if found is not None else []
    matches = []
    end = min(end, position + _SHORT_WINDOW)
    for found in pattern.finditer(text, max(0, position - _ANCHOR_REACH), end):
        if found.start() > position:
            break
        if found.end() > position:
            matches.append(found)
    return matches


@cache
def _formats_by_anchor() -> dict[str, tuple[int, ...]]:
    by_anchor: dict[str, list[int]] = {}
    for index, fmt in enumerate(_FORMATS):
        for anchor in fmt.anchors:
            by_anchor.setdefault(anchor, []).append(index)
    return {anchor: tuple(indexes) for anchor, indexes in by_anchor.items()}


@cache
def _single(index: int) -> re.Pattern[str]:
    """One format on its own, with the group names :func:`provider_hit` reads."""
    return re.compile(_ALTERNATIVES[index])


def _hit(fmt: _Format, index: int, found: re.Match[str]) -> ProviderHit | None:
    group = f"{_group(index)}s" if "(?P<secret>" in fmt.pattern else _group(index)
    secret = found.group(group)
    if fmt.valid is not None and not fmt.valid(secret):
        return None
    return ProviderHit(fmt.kind, fmt.confidence, secret, found.start(group))


def provider_hit(found: re.Match[str]) -> ProviderHit | None:
    """The provider secret of a match of the combined provider expression, or None when the match fails the
    format's validation."""
    name = found.lastgroup or ""
    if not (name[:1] == "f" and name[1:].isdigit()):
        return None
    index = int(name[1:])
    return _hit(_FORMATS[index], index, found)


def _provider_match(text: str) -> SecretMatch | None:
    best: SecretMatch | None = None
    for found in _combined().finditer(text):
        match = _format_match(found)
        if match and (best is None or match.confidence > best.confidence):
            best = match
    return best


def _format_match(found: re.Match[str]) -> SecretMatch | None:
    hit = provider_hit(found)
    return SecretMatch(hit.kind, hit.confidence, redact(hit.secret)) if hit is not None else None


# ---------------------------------------------------------------- sensitive names
_PASSWORD_WORDS = frozenset({"password", "passwd", "pwd", "pass", "passphrase", "passcode"})
_SECRET_WORDS = frozenset({"secret", "secrets", "credential", "credentials", "creds", "cred",
                           "auth", "authorization", "basicauth", "bearer", "privatekey", "accesskey",
                           "secretkey", "signingkey", "encryptionkey", "masterkey"})
_TOKEN_WORDS = frozenset({"token", "tokens"})
_API_KEY_WORDS = frozenset({"apikey", "apikeys"})
# A "key" is sensitive only after one of these words (not a partition, cache, S3 or KMS key).
_KEY_QUALIFIERS = frozenset({"api", "private", "access", "secret", "signing", "encryption", "master",
                             "hmac", "auth", "client", "session", "jwt"})
# Names whose last word says the value describes a secret rather than being one: DB_PASSWORD_ARN,
# TOKEN_URL, SECRET_NAME, API_KEY_ID, PASSWORD_MIN_LENGTH...
_DESCRIPTOR_WORDS = frozenset({
    "url", "uri", "arn", "name", "names", "id", "ids", "path", "file", "region", "ttl", "length", "len",
    "endpoint", "host", "hostname", "port", "param", "params", "parameter", "ssm", "type", "mode",
    "enabled", "enable", "disabled", "required", "expiry", "expiration", "expires", "timeout", "seconds",
    "minutes", "hours", "days", "duration", "age", "count", "size", "version", "header", "policy", "headers",
    "rotation", "algorithm", "alg", "provider", "issuer", "audience", "scope", "scopes", "domain",
    "location", "dir", "directory", "prefix", "suffix", "format", "field", "table", "bucket", "queue",
    "topic", "store", "level", "strategy", "method", "label", "template", "source", "ref", "kms",
    "urls", "uris", "arns", "paths", "files", "hosts", "server", "servers", "pool", "flow", "user",
    "username", "users", "login", "email", "group", "role", "account", "tenant", "hash", "hashed",
    "digest", "min", "max", "minimum", "maximum", "rounds", "iterations",
})
_NOT_SENSITIVE_WORDS = frozenset({"public"})  # PUBLIC_KEY, STRIPE_PUBLIC_TOKEN


def _name_words(name: str) -> list[str]:
    """DB_PASSWORD, db-password, dbPassword and DBPassword all give ["db", "password"]."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return [word.lower() for word in re.split(r"[^A-Za-z0-9]+", spaced) if word]


def _name_kind(name: str) -> str | None:
    """The kind of secret a name announces ("password", "api-key", "token", "secret") or None."""
    words = _name_words(name)
    if not words or words[-1] in _DESCRIPTOR_WORDS or _NOT_SENSITIVE_WORDS.intersection(words):
        return None
    if any(w in _PASSWORD_WORDS or "password" in w or "passwd" in w for w in words):
        return "password"
    pairs = set(zip(words, words[1:], strict=False))
    if any(w in _API_KEY_WORDS for w in words) or ("api", "key") in pairs:
        return "api-key"
    if any(w in _TOKEN_WORDS or w.endswith("token") for w in words):
        return "token"
    if any(w in _SECRET_WORDS or "secret" in w for w in words):
        return "secret"
    if any(first in _KEY_QUALIFIERS and second in ("key", "keys") for first, second in pairs):
        return "secret"
    return None


def _named_match(name: str, text: str) -> SecretMatch | None:
    kind = _name_kind(name)
    if kind is None or _is_benign_literal(text):
        return None
    special = _named_provider_match(name, text)
    if special is not None:
        return special
    if kind == "password" or _looks_random(text):
        return SecretMatch(kind, Confidence.MEDIUM, redact(text))
    return None


def _named_provider_match(name: str, text: str) -> SecretMatch | None:
    """Formats recognizable only together with their name: AWS secret keys and Twilio auth tokens."""
    words = set(_name_words(name))
    if re.fullmatch(r"[A-Za-z0-9/+]{40}", text) and _mixed(text) and "secret" in words and (
        "aws" in words or "access" in words
    ):
        return SecretMatch("aws-secret-access-key", Confidence.HIGH, redact(text))
    if "twilio" in words and re.fullmatch(r"[0-9a-f]{32}", text):
        return SecretMatch("twilio-auth-token", Confidence.HIGH, redact(text))
    return None


def _looks_random(text: str) -> bool:
    classes = sum(
        any(test(c) for c in text) for test in (str.islower, str.isupper, str.isdigit)
    )
    return (
        len(text) >= MIN_GENERIC_LENGTH
        and not any(c.isspace() for c in text)
        and classes >= 2
        and shannon_entropy(text) >= MIN_GENERIC_ENTROPY
    )


# ---------------------------------------------------------------- assignments in code and config files
# Names of variables holding a test or example value: TEST_PASSWORD, mockToken, EXAMPLE_API_KEY.
_EXAMPLE_NAME_WORDS = frozenset({"test", "tests", "testing", "mock", "mocked", "fake", "dummy", "example",
                                 "examples", "sample", "fixture", "stub", "placeholder"})
# Names in code that hold something about a secret (a prompt, a pattern, a validator), not the secret.
_CODE_DESCRIPTOR_WORDS = frozenset({
    "pattern", "patterns", "regex", "regexp", "re", "validator", "validators", "prompt", "message", "msg",
    "error", "errors", "text", "hint", "help", "description", "desc", "title", "widget", "input", "class",
    "cls", "factory", "fn", "func", "function", "callback", "handler", "getter", "setter", "var", "variable",
    "env", "placeholder", "schema", "model", "serializer", "manager", "backend", "cache", "storage", "view",
    "form", "page", "link", "route", "reset", "changed", "updated", "created", "date", "time", "timestamp",
    "at", "fields", "option", "options", "flag", "char", "chars", "charset", "alphabet",
    "encoding", "kind", "cookie", "cookies", "column", "attr", "attribute", "property", "prop", "arg",
    "argument", "selector", "element", "button", "display", "visible", "hidden", "strength", "policy",
})
# Values that are documentation, not credentials: AWS's ...EXAMPLE keys, "<your-token>", "changeme".
_EXAMPLE_MARKERS = ("example", "sample", "dummy", "fake", "placeholder", "changeme", "change_me", "change-me",
                    "changeit", "your_", "your-", "yourpass", "yourtoken", "yourkey", "yoursecret", "redacted",
                    "xxxx", "****", "....", "0123456789", "1234567890", "abcdefghij", "replace_me", "replace-me",
                    "insert_", "insert-")
# Format strings, templates, expressions and YAML tags: "%s", "{0}", "!Ref", "items[-1].id", "get_token()".
_CODE_LIKE = re.compile(r"%[sdr(]|\{\d*\}|^[!$@&*#|>]|\(\)$|^\w+\.\w+\(|\s|\[[^\]]*\]")
_SYMBOLS = frozenset("!@#$%^&*+=?~")
# A value naming what it stands for is a placeholder or a test value: "password1", "my-secret-2", "test-token".
_WORDS_OF_PLACEHOLDERS = ("test", "password", "passwd", "secret", "token", "apikey", "api_key", "api-key")


def is_example_value(text: str) -> bool:
    """True for values written to illustrate a format rather than to authenticate: AWS's documented
    ``...EXAMPLE`` keys, ``<your-token>``, ``changeme``, ``xxxx``, counting sequences, one repeated character."""
    lowered = text.lower()
    return (
        any(marker in lowered for marker in _EXAMPLE_MARKERS)
        or _is_placeholder(text)
        or _is_reference(text)
        or bool(re.search(r"(.)\1{7,}", text))  # "AAAAAAAA...": a mask or padding
    )


def detect_assignment(name: str, value: str) -> SecretMatch | None:
    """A secret assigned to ``name`` in code or a config file (``password = "..."``, ``API_KEY: ...``), judged
    more strictly than a template's environment variable: provider formats are the caller's job (it scans them
    in the same pass), so only the name decides here. A password must mix letters with digits or symbols; other
    sensitive names need a random-looking value of at least :data:`MIN_CODE_SECRET_LENGTH` characters with
    digits; test, example and code-like values never count. Cheap checks of the value come first: code has many
    sensitive names holding words (``"input_token": "NextToken"``)."""
    text = value.strip()
    if len(text) < MIN_CODE_PASSWORD_LENGTH or not any(c.isdigit() or c in _SYMBOLS for c in text):
        return None
    lowered = text.lower()
    if _CODE_LIKE.search(text) or is_example_value(text) or _is_benign_literal(text):
        return None
    if any(word in lowered for word in _WORDS_OF_PLACEHOLDERS):
        return None  # "test-token-1", "password1", "MyTestPassw0rd"
    kind = _code_name_kind(name)
    if kind is None:
        return None
    special = _named_provider_match(name, text)
    if special is not None:
        return special
    if kind == "password":
        strong = any(c.isalpha() for c in text)
    else:
        strong = (len(text) >= MIN_CODE_SECRET_LENGTH and any(c.isdigit() for c in text)
                  and _looks_random(text))
    return SecretMatch(kind, Confidence.MEDIUM, redact(text)) if strong else None


@lru_cache(maxsize=4096)
def _code_name_kind(name: str) -> str | None:
    """:func:`_name_kind` for names in code, where test names and names describing a secret are common."""
    words = _name_words(name)
    if not words or _EXAMPLE_NAME_WORDS.intersection(words) or words[-1] in _CODE_DESCRIPTOR_WORDS:
        return None
    return _name_kind(name)


# ---------------------------------------------------------------- references and placeholders
_REFERENCE = re.compile(r"\{\{|\$\{|^\$\(.*\)$|^%[^%\s]+%$|^<[^<>]*>$")
_PLACEHOLDER_WORDS = frozenset({"none", "null", "nil", "undefined", "n/a", "na", "tbd", "todo", "-",
                                "redacted", "placeholder"})
_BOOLEANS = frozenset({"true", "false", "yes", "no", "on", "off", "enabled", "disabled"})
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
_PATH = re.compile(r"/[\w.\-/]*")  # SSM parameter names, file paths
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]*://\S*")


def _is_reference(text: str) -> bool:
    """Dynamic references ({{resolve:...}}), ${...} and $(...) substitutions, %VAR%, <your-token>."""
    return bool(_REFERENCE.search(text))


def _is_placeholder(text: str) -> bool:
    lowered = text.lower()
    # A single repeated character ("********", "xxxxxxxx") is a mask, not a password.
    return lowered in _PLACEHOLDER_WORDS or len(set(lowered)) == 1


def _is_benign_literal(text: str) -> bool:
    """Literals that cannot be a secret whatever their name (credentials in URLs are found earlier)."""
    return (
        _is_placeholder(text)
        or text.lower() in _BOOLEANS
        or bool(_NUMBER.fullmatch(text))
        or text.startswith(("arn:", "alias/"))
        or bool(_PATH.fullmatch(text))
        or bool(_URL.fullmatch(text))
    )


_LABELS = {
    "private-key": "private key",
    "aws-access-key-id": "AWS access key ID",
    "aws-secret-access-key": "AWS secret access key",
    "github-token": "GitHub token",
    "gitlab-token": "GitLab token",
    "slack-token": "Slack token",
    "slack-webhook": "Slack webhook URL",
    "stripe-live-key": "Stripe live key",
    "stripe-test-key": "Stripe test key",
    "twilio-api-key": "Twilio API key",
    "twilio-credentials": "Twilio account credentials",
    "twilio-auth-token": "Twilio auth token",
    "sendgrid-api-key": "SendGrid API key",
    "google-api-key": "Google API key",
    "jwt": "JSON web token",
    "npm-token": "npm token",
    "azure-storage-key": "Azure storage account key",
    "azure-shared-access-key": "Azure shared access key",
    "database-url-password": "database URL password",
    "url-password": "URL password",
    "openai-api-key": "API key (sk-)",
    "api-key": "API key",
    "pypi-token": "PyPI token",
    "google-oauth-client-secret": "Google OAuth client secret",
    "azure-client-secret": "Azure AD client secret",
    "discord-webhook": "Discord webhook URL",
    "aws-access-key-pair": "AWS access key pair",
}
