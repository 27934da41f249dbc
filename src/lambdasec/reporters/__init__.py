"""Reporters: pure functions from a report (and the rules) to text."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

FORMATS = ("table", "json", "sarif")


def render(fmt: str, report: Any, rules: Sequence[Any], **options: Any) -> str:
    renderer: Callable[..., str]
    if fmt == "json":
        from .json_report import render as renderer
    elif fmt == "sarif":
        from .sarif import render as renderer
    elif fmt == "table":
        from .table import render as renderer
    else:
        raise ValueError(f"unknown format: {fmt}")
    return renderer(report, rules, **options)
