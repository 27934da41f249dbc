"""lambdasec: find, explain and fix the security weaknesses of AWS Lambda functions.

Library use::

    import lambdasec
    report = lambdasec.scan_paths(["template.yaml"])
    for finding in report.findings:
        print(finding.rule_id, finding.resource_id, finding.message)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .model.findings import Report


def scan_paths(
    paths: Iterable[str | Path],
    *,
    rules: Sequence[str] = (),
    skip_rules: Sequence[str] = (),
    min_severity: str = "info",
    min_confidence: str = "low",
    config_file: str | Path | None = None,
    now: dt.datetime | None = None,
    workers: int = 1,
    cache_dir: str | Path | None = None,
    sam_expander: str = "native",
) -> Report:
    """Scan IaC files or directories and return the report (findings, suppressed, coverage gaps)."""
    from .config import Config, load_config
    from .engine import ScanSettings, scan
    from .model.findings import Confidence, Severity

    if sam_expander not in ("native", "official"):
        raise ValueError(f"sam_expander must be 'native' or 'official', not {sam_expander!r}")
    config = load_config(Path(config_file), Path.cwd()) if config_file is not None else Config()
    settings = ScanSettings(
        rules=tuple(rules), skip_rules=tuple(skip_rules), min_severity=Severity.parse(min_severity),
        min_confidence=Confidence.parse(min_confidence), config=config, now=now, workers=workers,
        cache_dir=None if cache_dir is None else str(cache_dir), sam_expander=sam_expander,
    )
    return scan([Path(p) for p in paths], settings)


__all__ = ["__version__", "scan_paths"]
