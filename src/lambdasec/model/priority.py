"""The attack-path priority of a function: how reachable it is, and how far its role reaches.

Computed by :mod:`lambdasec.analysis.attack_paths`; the scoring is documented in docs/attack-paths.md.
"""

from __future__ import annotations

from typing import Any

from lambdasec.fast_dataclass import dataclass, field

from .findings import Severity
from .location import Location


@dataclass(frozen=True)
class EntryPoint:
    """A way in for callers outside the account's control."""

    kind: str  # "function-url" | "public-permission" | "open-api-route" | "unpinned-service-permission"
    resource_id: str  # the URL, permission or route that opens the way
    description: str  # one line for messages, e.g. "function URL FnUrl with AuthType NONE"
    exposure: int  # 3: anyone on the internet, unauthenticated; 2: reachable from the internet or any account
    location: Location = field(default_factory=Location)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "resource": self.resource_id, "description": self.description,
                "exposure": self.exposure, "location": self.location.to_dict()}


@dataclass(frozen=True)
class Reach:
    """What the function's execution role may do: its blast radius."""

    blast_radius: str  # "admin" | "escalation" | "read-all-data" | "write-any" | "limited" | "unknown"
    level: int  # 4 admin/escalation, 3 read all data, 2 write on any resource, 1 limited or unknown
    role: str | None = None  # id of the execution role, None when it is not in the inventory
    escalation: tuple[str, ...] = ()  # escalation methods the role enables
    read_all: tuple[str, ...] = ()  # data-read actions granted on every resource
    write_all: tuple[str, ...] = ()  # write actions granted on every resource

    def to_dict(self) -> dict[str, Any]:
        return {"blast_radius": self.blast_radius, "level": self.level, "role": self.role,
                "escalation": list(self.escalation), "read_all": list(self.read_all),
                "write_all": list(self.write_all)}

    def describe(self) -> str:
        """What the role reaches, for messages."""
        if self.blast_radius == "admin":
            return "administrator access to the account"
        if self.blast_radius == "escalation":
            return "privilege escalation (" + ", ".join(self.escalation[:3]) + ")"
        if self.blast_radius == "read-all-data":
            return "reading data on every resource (" + ", ".join(self.read_all[:4]) + ")"
        if self.blast_radius == "write-any":
            return "writing on every resource (" + ", ".join(self.write_all[:4]) + ")"
        return "limited permissions" if self.blast_radius == "limited" else "an execution role outside the scan"


@dataclass(frozen=True)
class Priority:
    """One function's attack-path priority."""

    function_id: str
    function_key: str
    location: Location
    level: Severity  # critical > high > medium > low
    score: int  # (1 + exposure) * (1 + reach level): orders functions inside a level
    exposure: int  # the highest exposure of its entry points, 0 when it has none
    entry_points: tuple[EntryPoint, ...]
    reach: Reach

    @property
    def rank(self) -> tuple[int, int]:
        """Sort key, higher first."""
        return (int(self.level), self.score)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.function_id, "location": self.location.to_dict(), "priority": self.level.label,
            "score": self.score, "exposure": self.exposure,
            "entry_points": [entry.to_dict() for entry in self.entry_points], "reach": self.reach.to_dict(),
        }
