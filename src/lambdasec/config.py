"""Configuration: `.lambdasec.toml` or `[tool.lambdasec]` in pyproject.toml.

Precedence: command-line flags > configuration file > defaults. Unknown keys and
suppressions without a reason are errors (exit code 2), never silently ignored.
"""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Mapping
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

    def matches(self, rule_id: str, slug: str, resource_id: str, file: str) -> bool:
        return (
            self.rule in (rule_id, slug, "*")
            and fnmatch.fnmatchcase(resource_id, self.resource)
            and fnmatch.fnmatchcase(file, self.file)
        )


@dataclass(frozen=True)
class Config:
    fail_on: str | None = None
    severity: str | None = None
    min_confidence: str | None = None
    rules: tuple[str, ...] = ()
    skip_rules: tuple[str, ...] = ()
    suppressions: tuple[ConfigSuppression, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)
    # Options handed to rules through Context.options.
    rule_options: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None


_RULE_OPTIONS = ("trusted_accounts", "own_accounts", "deprecation_warning_days", "secrets_all_files", "layer_lock")
# Limits on reading deployment packages and layers (analysis/packages.py, docs/packages.md).
ARCHIVE_KEYS = ("max_total_bytes", "max_file_bytes", "max_ratio", "max_entries", "max_depth")
_KEYS = {"fail_on", "severity", "min_confidence", "rules", "skip_rules", "suppress", "parameters", "archive",
         *_RULE_OPTIONS}


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"config: '{key}' must be a list of strings")


def parse_config(data: Mapping[str, Any], source: str) -> Config:
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s): {', '.join(unknown)}")
    suppressions = []
    for index, entry in enumerate(data.get("suppress", [])):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("rule"), str):
            raise ConfigError(f"{source}: suppress[{index}] needs a 'rule'")
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(f"{source}: suppress[{index}] ({entry['rule']}) needs a non-empty 'reason'")
        extra = set(entry) - {"rule", "reason", "resource", "file"}
        if extra:
            raise ConfigError(f"{source}: suppress[{index}] has unknown key(s): {', '.join(sorted(extra))}")
        suppressions.append(ConfigSuppression(
            entry["rule"], reason.strip(), str(entry.get("resource", "*")), str(entry.get("file", "*"))))
    for key in ("fail_on", "severity", "min_confidence"):
        if key in data and not isinstance(data[key], str):
            raise ConfigError(f"{source}: '{key}' must be a string")
    parameters = data.get("parameters", {})
    if not isinstance(parameters, Mapping):
        raise ConfigError(f"{source}: 'parameters' must be a table")
    rule_options = {k: data[k] for k in _RULE_OPTIONS if k in data}
    for key in ("trusted_accounts", "own_accounts"):
        if key in rule_options:
            rule_options[key] = list(_strings(rule_options[key], key))
    if "deprecation_warning_days" in rule_options and not isinstance(rule_options["deprecation_warning_days"], int):
        raise ConfigError(f"{source}: 'deprecation_warning_days' must be an integer")
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
        severity=data.get("severity"),
        min_confidence=data.get("min_confidence"),
        rules=_strings(data.get("rules", []), "rules"),
        skip_rules=_strings(data.get("skip_rules", []), "skip_rules"),
        suppressions=tuple(suppressions),
        parameters=dict(parameters),
        rule_options=rule_options,
        source=source,
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
        data = _read_toml(explicit)
        if explicit.name == "pyproject.toml":
            data = data.get("tool", {}).get("lambdasec", {})
        return parse_config(data, str(explicit))
    dotfile = cwd / ".lambdasec.toml"
    if dotfile.is_file():
        return parse_config(_read_toml(dotfile), str(dotfile))
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        section = _read_toml(pyproject).get("tool", {}).get("lambdasec")
        if isinstance(section, Mapping):
            return parse_config(section, f"{pyproject} [tool.lambdasec]")
    return Config()


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None
