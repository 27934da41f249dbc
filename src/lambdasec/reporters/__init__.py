"""Reporters: pure functions from a report (and the rules) to text (docs/formats.md, docs/html-report.md)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

# format -> module of this package holding its ``render``; imported only when that format is asked for
_MODULES = {"table": "table", "json": "json_report", "sarif": "sarif", "html": "html", "junit": "junit",
            "csv": "csv_report", "markdown": "markdown", "asff": "asff", "ocsf": "ocsf"}
FORMATS = tuple(_MODULES)


def render(fmt: str, report: Any, rules: Sequence[Any], **options: Any) -> str:
    if fmt not in _MODULES:
        raise ValueError(f"unknown format: {fmt}")
    renderer: Callable[..., str] = importlib.import_module(f"{__name__}.{_MODULES[fmt]}").render
    return renderer(report, rules, **options)
