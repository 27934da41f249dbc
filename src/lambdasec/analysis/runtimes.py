"""The dated lifecycle of AWS Lambda managed runtimes (deprecation and block dates).

The table ships with the package (``data/runtimes.json``) and says when it was compiled:
a runtime released after that date is simply unknown to it, which rules report as
"not evaluated" rather than guessing.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from importlib import resources
from typing import Any

from lambdasec.fast_dataclass import dataclass


@dataclass(frozen=True)
class RuntimeLifecycle:
    """One runtime identifier and its published dates (None when AWS announced none)."""

    identifier: str
    name: str
    deprecation: dt.date | None
    block_function_create: dt.date | None
    block_function_update: dt.date | None
    # False when the dates are best knowledge rather than checked against the AWS table.
    confirmed: bool
    container_only: bool = False
    note: str = ""

    def is_deprecated(self, on: dt.date) -> bool:
        # AWS reports a runtime DEPRECATED from its deprecation date (UTC) onwards.
        return self.deprecation is not None and on >= self.deprecation

    def create_blocked(self, on: dt.date) -> bool:
        return self.block_function_create is not None and on >= self.block_function_create

    def update_blocked(self, on: dt.date) -> bool:
        return self.block_function_update is not None and on >= self.block_function_update


@dataclass(frozen=True)
class RuntimeTable:
    as_of: str
    source: str
    runtimes: dict[str, RuntimeLifecycle]


def lifecycle(runtime: str) -> RuntimeLifecycle | None:
    """The lifecycle of a runtime identifier such as ``python3.12``; None when the table does not know it."""
    return _table().runtimes.get(runtime.strip().lower())


def table_as_of() -> str:
    """The date (ISO) the runtime table was compiled."""
    return _table().as_of


def table_source() -> str:
    return _table().source


def known_runtimes() -> tuple[str, ...]:
    return tuple(_table().runtimes)


@cache
def _table() -> RuntimeTable:
    raw = json.loads((resources.files("lambdasec") / "data" / "runtimes.json").read_text(encoding="utf-8"))
    runtimes = {ident: _entry(ident, data) for ident, data in raw["runtimes"].items()}
    return RuntimeTable(as_of=raw["as_of"], source=raw["source"], runtimes=runtimes)


def _entry(identifier: str, data: dict[str, Any]) -> RuntimeLifecycle:
    return RuntimeLifecycle(
        identifier=identifier,
        name=data["name"],
        deprecation=_date(data.get("deprecation")),
        block_function_create=_date(data.get("block_function_create")),
        block_function_update=_date(data.get("block_function_update")),
        confirmed=bool(data.get("confirmed", False)),
        container_only=bool(data.get("container_only", False)),
        note=data.get("note", ""),
    )


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None
