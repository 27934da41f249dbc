"""Suppressions written in templates: resource Metadata and YAML comments. A reason is required."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from ...model.inventory import CoverageGap
from ...model.location import Location

_COMMENT = re.compile(r"#\s*lambdasec:\s*ignore\[([^\]]*)\](.*)$")
_COMMENT_ONLY = re.compile(r"^\s*#")


class _Locates(Protocol):
    resources: Mapping[str, Any]
    file: str

    def resource(self, logical_id: str) -> Location: ...


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def metadata_suppressions(metadata: Any, where: Location, gaps: list[CoverageGap]) -> dict[str, str]:
    """``Metadata: {lambdasec: {ignore: [{id: EXP001, reason: "..."}]}}``."""
    if not isinstance(metadata, Mapping) or not isinstance(metadata.get("lambdasec"), Mapping):
        return {}
    entries = metadata["lambdasec"].get("ignore")
    out: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else []:
        rule = entry.get("id") if isinstance(entry, Mapping) else None
        reason = entry.get("reason") if isinstance(entry, Mapping) else None
        if not isinstance(rule, str) or not isinstance(reason, str) or not reason.strip():
            gaps.append(CoverageGap("invalid-suppression", "suppression ignored: it needs an id and a reason", where))
            continue
        out[rule.strip()] = reason.strip()
    return out


def comment_suppressions(text: str, locator: _Locates, gaps: list[CoverageGap]) -> dict[str, dict[str, str]]:
    """``# lambdasec: ignore[EXP001] reason`` on the resource's line, on its ``Type`` line just below,
    or in the comment block just above it."""
    if "lambdasec:" not in text:
        return {}
    lines = text.splitlines()
    out: dict[str, dict[str, str]] = {}
    for logical_id in locator.resources:
        line = locator.resource(logical_id).line
        if not line:
            continue
        index = line - 1
        candidates = [index]
        if index + 1 < len(lines) and _indent(lines[index + 1]) > _indent(lines[index]):
            candidates.append(index + 1)
        above = index - 1
        while above >= 0 and _COMMENT_ONLY.match(lines[above]):
            candidates.append(above)
            above -= 1
        for candidate in candidates:
            match = _COMMENT.search(lines[candidate]) if candidate < len(lines) else None
            if not match:
                continue
            reason = match.group(2).strip()
            if not reason:
                gaps.append(CoverageGap("invalid-suppression", "suppression comment ignored: it needs a reason",
                                        Location(locator.file, candidate + 1)))
                continue
            for rule in _ids(match.group(1)):
                out.setdefault(logical_id, {})[rule] = reason
    return out
