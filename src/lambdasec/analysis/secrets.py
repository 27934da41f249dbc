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
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from ..model.findings import Confidence

# Shannon entropy, in bits per character, that a value under a sensitive name (other than a
# password) needs to count as a secret. Random base64/hex tokens score 3.5-5; words, slugs and
# identifiers like "my-service-prod" score lower or lack mixed character classes. 3.0 is the
# maximum an 8-character value can reach, so the minimum length below stays meaningful.
MIN_GENERIC_ENTROPY = 3.0
MIN_GENERIC_LENGTH = 8

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


def _real_password(secret: str) -> bool:
    return not _is_reference(secret) and not _is_placeholder(secret)


def _mixed(secret: str) -> bool:
    return any(c.isdigit() for c in secret) and any(c.isalpha() for c in secret)


_B = r"(?<![A-Za-z0-9_\-])"  # token start: not glued to a longer word
_E = r"(?![A-Za-z0-9])"  # token end

_SCHEME_START = r"(?<![A-Za-z0-9+.\-])"  # also keeps the scheme scan linear on long words
_DB_SCHEMES = _SCHEME_START + (
    r"(?i:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver|oracle)"
)

_HIGH, _MEDIUM = Confidence.HIGH, Confidence.MEDIUM
_URL_USER = r"://[^:/@\s]*:(?P<secret>[^@\s/]+)@"  # scheme://user:password@ (user may be empty)

# Order matters when two formats match at the same position: the first one wins.
_FORMATS = (
    _Format("private-key", _HIGH, r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----"),
    _Format("aws-access-key-id", _HIGH, rf"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{{16}}{_E}"),
    _Format(
        "aws-secret-access-key", _HIGH,
        r"(?i:aws_?secret_?access_?key)[\"']?\s*[:=]\s*[\"']?(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])",
    ),
    _Format("github-token", _HIGH, rf"{_B}(?:gh[pousr]_[A-Za-z0-9]{{36,255}}|github_pat_\w{{22,255}}){_E}"),
    _Format("gitlab-token", _HIGH, rf"{_B}glpat-[A-Za-z0-9_\-]{{20,}}"),
    _Format("slack-token", _HIGH, rf"{_B}xox[bpar]-[A-Za-z0-9\-]{{10,}}"),
    _Format("slack-webhook", _HIGH, r"https://hooks\.slack\.com/services/[A-Za-z0-9]+/[A-Za-z0-9]+/[A-Za-z0-9]{8,}"),
    _Format("stripe-live-key", _HIGH, rf"{_B}(?:sk|rk)_live_[A-Za-z0-9]{{10,}}"),
    _Format("stripe-test-key", _MEDIUM, rf"{_B}(?:sk|rk)_test_[A-Za-z0-9]{{10,}}"),
    _Format("twilio-api-key", _HIGH, rf"{_B}SK[0-9a-fA-F]{{32}}{_E}"),
    # An account SID alone is an identifier; with its auth token (basic-auth form) it is a credential.
    _Format("twilio-credentials", _HIGH, rf"{_B}AC[0-9a-fA-F]{{32}}:(?P<secret>[0-9a-fA-F]{{32}}){_E}"),
    _Format("sendgrid-api-key", _HIGH, rf"{_B}SG\.[A-Za-z0-9_\-]{{16,}}\.[A-Za-z0-9_\-]{{16,}}"),
    _Format("google-api-key", _HIGH, rf"{_B}AIza[0-9A-Za-z_\-]{{35}}{_E}"),
    _Format("jwt", _HIGH, rf"{_B}eyJ[A-Za-z0-9_\-]{{8,}}\.eyJ[A-Za-z0-9_\-]{{8,}}\.[A-Za-z0-9_\-]{{8,}}"),
    _Format("npm-token", _HIGH, rf"{_B}npm_[A-Za-z0-9]{{36}}{_E}"),
    _Format("azure-storage-key", _HIGH, r"AccountKey=(?P<secret>[A-Za-z0-9+/]{20,}={0,2})"),
    _Format("azure-shared-access-key", _HIGH, r"SharedAccessKey=(?P<secret>[A-Za-z0-9+/]{20,}={0,2})"),
    _Format("database-url-password", _HIGH, _DB_SCHEMES + _URL_USER, _real_password),
    _Format("url-password", _MEDIUM, _SCHEME_START + r"(?i:[a-z][a-z0-9+.\-]*)" + _URL_USER, _real_password),
    _Format("openai-api-key", _MEDIUM, rf"{_B}sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{{20,}}", _mixed),
)


def _group(index: int) -> str:
    return f"f{index}"


def _combined(formats: tuple[_Format, ...]) -> re.Pattern[str]:
    """One alternation with a named group per format, so a value is scanned in a single pass."""
    parts = []
    for index, fmt in enumerate(formats):
        body = fmt.pattern.replace("(?P<secret>", f"(?P<{_group(index)}s>")
        parts.append(f"(?P<{_group(index)}>{body})")
    return re.compile("|".join(parts))


_COMBINED = _combined(_FORMATS)


def _provider_match(text: str) -> SecretMatch | None:
    best: SecretMatch | None = None
    for found in _COMBINED.finditer(text):
        match = _format_match(found)
        if match and (best is None or match.confidence > best.confidence):
            best = match
    return best


def _format_match(found: re.Match[str]) -> SecretMatch | None:
    index = int((found.lastgroup or "f0")[1:])
    fmt = _FORMATS[index]
    secret = found.group(f"{_group(index)}s") if "(?P<secret>" in fmt.pattern else found.group(0)
    if fmt.valid is not None and not fmt.valid(secret):
        return None
    return SecretMatch(fmt.kind, fmt.confidence, redact(secret))


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
}
