"""A detection: a small declarative object, like a rule, whose check is one portable SQL query over the log tables.

The query is written once in the portable subset (DuckDB's dialect, limited to what sqlglot translates to
Spark SQL: ``sql.py``) and must return the alert columns of :data:`ALERT_COLUMNS`; the runner turns each row into
a finding of category ``threat``. ``{placeholders}`` in the SQL name shared fragments (:data:`FRAGMENTS`).
"""

from __future__ import annotations

from lambdasec.fast_dataclass import dataclass

from ..model.findings import Confidence, Severity

# Every detection's SELECT returns these, in this order.
ALERT_COLUMNS = ("alert_time", "account", "region", "actor", "source_ip", "function_name", "event_ids",
                 "detail", "severity", "failed", "file")

DATA_SOURCES = ("cloudtrail", "dns", "flows", "findings")


@dataclass(frozen=True)
class Detection:
    code: str  # permanent: "DET001"
    slug: str  # "function-code-overwritten"
    title: str
    severity: Severity  # default; a row's own severity column wins; a failed attempt is one level lower
    confidence: Confidence
    tactic: str  # ATT&CK tactic name
    technique: str  # ATT&CK technique id, e.g. "T1525"
    data_source: str  # one of DATA_SOURCES
    rationale: str  # what it detects and why it matters
    false_positives: str
    remediation: str  # how to respond
    sql: str
    references: tuple[str, ...] = ()
    category: str = "threat"

    def __post_init__(self) -> None:
        if self.data_source not in DATA_SOURCES:
            raise ValueError(f"{self.code}: unknown data source {self.data_source!r}")


def lower(severity: Severity) -> Severity:
    """A failed attempt's severity: one level below the success's (INFO stays INFO)."""
    return Severity(max(severity - 1, Severity.INFO))
