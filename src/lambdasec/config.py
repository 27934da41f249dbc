"""Configuration: `.lambdasec.toml` or `[tool.lambdasec]` in pyproject.toml (docs/configuration.md).

Precedence: command-line flags > configuration file > defaults. Unknown keys and
suppressions without a reason are errors (exit code 2), never silently ignored.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lambdasec.fast_dataclass import dataclass, field

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


class ConfigError(Exception):
    """A configuration or usage problem (exit code 2)."""


@dataclass(frozen=True)
class ConfigSuppression:
    rule: str  # code or slug
    reason: str
    resource: str = "*"  # glob on the resource id
    file: str = "*"  # glob on the file relative to the scan root
    # The first day (UTC) the entry no longer suppresses: an expired entry is reported (CFG001) instead.
    expires: dt.date | None = None
    line: int | None = None  # of its `[[suppress]]` header in the configuration file, when known

    def matches(self, rule_id: str, slug: str, resource_id: str, file: str) -> bool:
        return (
            self.rule in (rule_id, slug, "*")
            and fnmatch.fnmatchcase(resource_id, self.resource)
            and fnmatch.fnmatchcase(file, self.file)
        )

    def expired(self, today: dt.date) -> bool:
        """True from the day of ``expires`` on (``expires = 2027-01-31`` suppresses until 2027-01-30 included)."""
        return self.expires is not None and today >= self.expires


@dataclass(frozen=True)
class Config:
    fail_on: str | None = None
    severity: str | None = None  # the minimum severity reported (`min_severity`, or `severity` as a string)
    min_confidence: str | None = None
    rules: tuple[str, ...] = ()
    skip_rules: tuple[str, ...] = ()
    suppressions: tuple[ConfigSuppression, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)
    # Options handed to rules through Context.options.
    rule_options: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None
    # `[severity]` table: rule code or slug -> the severity its findings get ("critical" ... "info").
    severity_overrides: Mapping[str, str] = field(default_factory=dict)
    path: str | None = None  # the file itself (relative to the working directory when under it)


_RULE_OPTIONS = ("trusted_accounts", "own_accounts", "deprecation_warning_days", "secrets_all_files", "layer_lock",
                 "required_tags")
# Limits on reading deployment packages and layers (analysis/packages.py, docs/packages.md).
ARCHIVE_KEYS = ("max_total_bytes", "max_file_bytes", "max_ratio", "max_entries", "max_depth")
_KEYS = {"fail_on", "severity", "min_severity", "min_confidence", "rules", "skip_rules", "suppress", "parameters",
         "archive", *_RULE_OPTIONS}
SEVERITY_LABELS = ("critical", "high", "medium", "low", "info")
_CONFIDENCE_LABELS = ("high", "medium", "low")


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"config: '{key}' must be a list of strings")


def _required_tags(value: Any, source: str) -> dict[str, list[str]]:
    """GOV001's tags: a list of keys, or a table of key -> allowed values (an empty list: any value)."""
    if isinstance(value, list) and all(isinstance(key, str) and key for key in value):
        return {key: [] for key in value}
    if isinstance(value, Mapping) and all(isinstance(allowed, list) and all(isinstance(v, str) for v in allowed)
                                          for allowed in value.values()):
        return {str(key): list(allowed) for key, allowed in value.items()}
    raise ConfigError(f"{source}: 'required_tags' must be a list of tag keys or a table of key = [allowed values]")


def _expiry(value: Any, where: str) -> dt.date | None:
    """A TOML date (`expires = 2027-01-31`) or the same as a string."""
    if value is None:
        return None
    if isinstance(value, dt.datetime) or not isinstance(value, (dt.date, str)):
        raise ConfigError(f"{where}: 'expires' must be a date such as 2027-01-31")
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ConfigError(f"{where}: 'expires' must be a date such as 2027-01-31, not {value!r}") from None
    return value


def _suppressions(entries: Any, source: str, lines: Sequence[int]) -> list[ConfigSuppression]:
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: 'suppress' must be an array of tables ([[suppress]])")
    found = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("rule"), str):
            raise ConfigError(f"{source}: suppress[{index}] needs a 'rule'")
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(f"{source}: suppress[{index}] ({entry['rule']}) needs a non-empty 'reason'")
        extra = set(entry) - {"rule", "reason", "resource", "file", "expires"}
        if extra:
            raise ConfigError(f"{source}: suppress[{index}] has unknown key(s): {', '.join(sorted(extra))}")
        found.append(ConfigSuppression(
            entry["rule"], reason.strip(), str(entry.get("resource", "*")), str(entry.get("file", "*")),
            _expiry(entry.get("expires"), f"{source}: suppress[{index}] ({entry['rule']})"),
            lines[index] if len(lines) == len(entries) else None))
    return found


def _levels(data: Mapping[str, Any], source: str) -> tuple[str | None, dict[str, str]]:
    """The minimum severity (`min_severity`, or `severity` written as a string) and the `[severity]` overrides."""
    threshold = data.get("min_severity")
    overrides: dict[str, str] = {}
    given = data.get("severity")
    if isinstance(given, Mapping):
        for ident, level in given.items():
            if not isinstance(level, str) or level.strip().lower() not in SEVERITY_LABELS:
                raise ConfigError(f"{source}: severity.{ident} must be one of {', '.join(SEVERITY_LABELS)}")
            overrides[str(ident)] = level.strip().lower()
    elif given is not None:
        if threshold is not None:
            raise ConfigError(f"{source}: give the minimum severity once ('min_severity'), not also as 'severity'")
        threshold = given
    for key, value, known in (("min_severity", threshold, SEVERITY_LABELS),
                              ("min_confidence", data.get("min_confidence"), _CONFIDENCE_LABELS)):
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{source}: '{key}' must be a string")
        if value is not None and value.strip().lower() not in known:
            raise ConfigError(f"{source}: '{key}' must be one of {', '.join(known)}, not {value!r}")
    return threshold, overrides


def parse_config(data: Mapping[str, Any], source: str, *, path: str | None = None,
                 suppress_lines: Sequence[int] = ()) -> Config:
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s): {', '.join(unknown)}")
    suppressions = _suppressions(data.get("suppress", []), source, suppress_lines)
    if "fail_on" in data and not isinstance(data["fail_on"], str):
        raise ConfigError(f"{source}: 'fail_on' must be a string")
    threshold, overrides = _levels(data, source)
    parameters = data.get("parameters", {})
    if not isinstance(parameters, Mapping):
        raise ConfigError(f"{source}: 'parameters' must be a table")
    rule_options = {k: data[k] for k in _RULE_OPTIONS if k in data}
    for key in ("trusted_accounts", "own_accounts"):
        if key in rule_options:
            rule_options[key] = list(_strings(rule_options[key], key))
    if "deprecation_warning_days" in rule_options and not isinstance(rule_options["deprecation_warning_days"], int):
        raise ConfigError(f"{source}: 'deprecation_warning_days' must be an integer")
    if "required_tags" in rule_options:
        rule_options["required_tags"] = _required_tags(rule_options["required_tags"], source)
    if "secrets_all_files" in rule_options and not isinstance(rule_options["secrets_all_files"], bool):
        raise ConfigError(f"{source}: 'secrets_all_files' must be true or false")
    if "layer_lock" in rule_options:
        if not isinstance(rule_options["layer_lock"], str):
            raise ConfigError(f"{source}: 'layer_lock' must be a path")
        # Relative to the configuration file, like a path written in any other project file.
        rule_options["layer_lock"] = str(Path(source).parent / rule_options["layer_lock"])
    if "archive" in data:
        rule_options["archive_limits"] = _archive_limits(data["archive"], source)
    return Config(
        fail_on=data.get("fail_on"),
        severity=threshold,
        min_confidence=data.get("min_confidence"),
        rules=_strings(data.get("rules", []), "rules"),
        skip_rules=_strings(data.get("skip_rules", []), "skip_rules"),
        suppressions=tuple(suppressions),
        parameters=dict(parameters),
        rule_options=rule_options,
        source=source,
        severity_overrides=overrides,
        path=path,
    )


def _archive_limits(value: Any, source: str) -> dict[str, int | float]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{source}: 'archive' must be a table")
    unknown = sorted(set(value) - set(ARCHIVE_KEYS))
    if unknown:
        raise ConfigError(f"{source}: archive: unknown key(s): {', '.join(unknown)} (known: {', '.join(ARCHIVE_KEYS)})")
    limits: dict[str, int | float] = {}
    for key, number in value.items():
        wanted, kind = ((int, float), "number") if key == "max_ratio" else ((int,), "integer")
        if isinstance(number, bool) or not isinstance(number, wanted) or number < 0:
            raise ConfigError(f"{source}: archive.{key} must be a non-negative {kind}")
        limits[key] = number
    return limits


def load_config(explicit: Path | None, cwd: Path) -> Config:
    """The explicit file, else `.lambdasec.toml`, else `[tool.lambdasec]` of pyproject.toml, else defaults."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file not found: {explicit}")
        text, data = _read_toml(explicit)
        if explicit.name == "pyproject.toml":
            data = _tool_section(data, {})
            return _parsed(data, str(explicit), explicit, cwd, text, "tool.lambdasec.")
        return _parsed(data, str(explicit), explicit, cwd, text, "")
    dotfile = cwd / ".lambdasec.toml"
    if dotfile.is_file():
        text, data = _read_toml(dotfile)
        return _parsed(data, str(dotfile), dotfile, cwd, text, "")
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        text, data = _read_toml(pyproject)
        section = _tool_section(data, None)
        if isinstance(section, Mapping):
            return _parsed(section, f"{pyproject} [tool.lambdasec]", pyproject, cwd, text, "tool.lambdasec.")
    return Config()


def _tool_section(data: Mapping[str, Any], default: Any) -> Any:
    """`[tool.lambdasec]` of a pyproject.toml; `tool` may be anything a user wrote (`tool = 1`)."""
    tool = data.get("tool", {})
    return tool.get("lambdasec", default) if isinstance(tool, Mapping) else default


def _parsed(data: Mapping[str, Any], source: str, file: Path, cwd: Path, text: str, prefix: str) -> Config:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: [tool.lambdasec] must be a table")
    name = r"[ \t]*\.[ \t]*".join(re.escape(part) for part in (prefix + "suppress").split("."))
    header = re.compile(r"^[ \t]*\[\[[ \t]*" + name + r"[ \t]*\]\]", re.MULTILINE)
    lines = [text.count("\n", 0, match.start()) + 1 for match in header.finditer(text)]
    return parse_config(data, source, path=_shown_path(file, cwd), suppress_lines=lines)


def _shown_path(file: Path, cwd: Path) -> str:
    """The configuration file as findings name it: relative to the working directory when under it, so that
    the fingerprints of its findings (CFG001) do not depend on where the project is checked out."""
    absolute = os.path.abspath(file)
    base = os.path.abspath(cwd)
    if absolute.startswith(base.rstrip(os.sep) + os.sep):
        return Path(os.path.relpath(absolute, base)).as_posix()
    return Path(absolute).as_posix()


def _read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
        return text, tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None
