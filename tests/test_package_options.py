"""How package-reading options reach the rules: config file keys and `lambdasec scan` flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from lambdasec.cli import _package_options
from lambdasec.config import ConfigError, load_config


def test_config_file_archive_table_secrets_and_lock(tmp_path: Path) -> None:
    config = tmp_path / ".lambdasec.toml"
    config.write_text('secrets_all_files = true\nlayer_lock = "locks/lambdasec.lock"\n'
                      "[archive]\nmax_total_bytes = 1000\nmax_ratio = 12.5\nmax_depth = 0\n")
    options = load_config(None, tmp_path).rule_options
    assert options == {"secrets_all_files": True, "layer_lock": str(tmp_path / "locks" / "lambdasec.lock"),
                       "archive_limits": {"max_total_bytes": 1000, "max_ratio": 12.5, "max_depth": 0}}


@pytest.mark.parametrize(("text", "message"), [
    ("[archive]\nmax_entrys = 3\n", "archive: unknown key(s): max_entrys"),
    ("[archive]\nmax_entries = -1\n", "archive.max_entries must be a non-negative integer"),
    ("[archive]\nmax_entries = 2.5\n", "archive.max_entries must be a non-negative integer"),
    ("[archive]\nmax_ratio = true\n", "archive.max_ratio must be a non-negative number"),
    ('archive = "big"\n', "'archive' must be a table"),
    ('secrets_all_files = "yes"\n', "'secrets_all_files' must be true or false"),
    ("layer_lock = 3\n", "'layer_lock' must be a path"),
])
def test_config_file_mistakes_are_usage_errors(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / ".lambdasec.toml").write_text(text)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(None, tmp_path)


def test_command_line_limits_override_the_config_file_key_by_key(tmp_path: Path) -> None:
    configured = {"archive_limits": {"max_total_bytes": 1000, "max_ratio": 12.5}}
    limits = {"max_total_bytes": None, "max_file_bytes": None, "max_ratio": 50.0, "max_entries": 7, "max_depth": None}
    assert _package_options(configured, False, None, limits) == {
        "archive_limits": {"max_total_bytes": 1000, "max_ratio": 50.0, "max_entries": 7}}
    unset = dict.fromkeys(limits)
    assert _package_options(configured, False, None, unset) == {}  # the config file's limits stay as they are
    lock = tmp_path / "lambdasec.lock"
    lock.write_text("{}")
    assert _package_options({}, True, lock, unset) == {"secrets_all_files": True, "layer_lock": str(lock)}
    with pytest.raises(ConfigError, match="lock file not found"):
        _package_options({}, False, tmp_path / "missing.lock", unset)
