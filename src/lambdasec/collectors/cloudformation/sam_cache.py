"""A disk cache of SAM translations, so re-scanning an unchanged template skips the translator.

Importing aws-sam-translator costs about 0.4 s, more than everything else a one-template scan does.
A pre-commit hook or an editor re-scans the same templates again and again: the translator's output
for a given (prepared) template, translator version and lambdasec version never changes, so it is
stored under the hash of the three. Entries are written atomically, readable by the user only (they
copy the scanned template), and the oldest are pruned past a cap. `--no-cache` turns it off.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

MAX_ENTRIES = 2000


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    from ... import __version__

    try:
        translator = version("aws-sam-translator")
    except PackageNotFoundError:
        translator = "unknown"
    return f"lambdasec {__version__}; aws-sam-translator {translator}"


class TranslationCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory / "sam"

    def key(self, template: Any) -> str:
        text = json.dumps(template, sort_keys=True, default=str)
        return hashlib.sha256(f"{_versions()}\n{text}".encode()).hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            value = json.loads((self.directory / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # missing or damaged: translate again
        return value if isinstance(value, dict) else None

    def put(self, key: str, output: dict[str, Any]) -> None:
        """Best effort: a cache that cannot be written only costs time."""
        try:
            # Entries are copies of scanned templates, secrets included: readable by the user only.
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(output, stream, default=str)
            os.replace(temporary, self.directory / f"{key}.json")
            self._prune()
        except OSError:
            return

    def _prune(self) -> None:
        entries = list(self.directory.glob("*.json"))
        if len(entries) <= MAX_ENTRIES:
            return
        entries.sort(key=lambda entry: entry.stat().st_mtime)
        for entry in entries[: len(entries) - MAX_ENTRIES]:
            entry.unlink(missing_ok=True)


def default_cache_dir() -> Path:
    """$LAMBDASEC_CACHE_DIR, else $XDG_CACHE_HOME/lambdasec, else ~/.cache/lambdasec."""
    explicit = os.environ.get("LAMBDASEC_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lambdasec"
