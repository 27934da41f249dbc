"""Options shared by collectors (limits, parameter overrides)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lambdasec.fast_dataclass import dataclass, field


@dataclass(frozen=True)
class CollectOptions:
    max_template_bytes: int = 5 * 1024 * 1024
    # Worker processes for reading many files (1: read in this process).
    workers: int = 1
    # Where expensive, deterministic work (SAM translations) is cached; None: no cache.
    cache_dir: str | None = None
    # SAM expansion: "native" (lambdasec's expander, falling back to aws-sam-translator for features it does
    # not reproduce) or "official" (always aws-sam-translator).
    sam_expander: str = "native"
    # Locations relative to this directory instead of each named file's own directory (None: the latter).
    relative_to: str | None = None
    # A named .tf file is read with the rest of its directory (its module), not as a module of its own.
    tf_module_dirs: bool = False
    # Template parameter values given by the user (they override defaults).
    parameter_values: Mapping[str, Any] = field(default_factory=dict)
    # Directory names never walked into.
    skip_dirs: frozenset[str] = frozenset(
        {".git", "node_modules", ".venv", "venv", "__pycache__", ".aws-sam", ".serverless", ".terraform",
         ".tox", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
    )
