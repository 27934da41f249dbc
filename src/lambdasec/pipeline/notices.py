"""CFG001: an ignore of the configuration file past its expiry date.

An expired ``[[suppress]]`` entry stops suppressing, and the scan reports it as a finding of this pseudo rule
(severity low): a coverage gap would make the scan look incomplete (exit 3) when it saw everything, and a line on
stderr is lost in a pipeline's log, while a finding is visible in every format and fails the default
``--fail-on low`` until the entry gets a new date or goes. It is not a rule of the registry (it reads the
configuration, not the inventory), it is never suppressed or baselined, and it is reported only for entries about
rules the scan runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

from ..config import Config, ConfigSuppression
from ..model.findings import Confidence, Finding, Severity
from ..model.location import Location
from ..rules.base import Rule

EXPIRED_SUPPRESSION = Rule(
    code="CFG001",
    slug="expired-suppression",
    title="Ignore past its expiry date",
    severity=Severity.LOW,
    confidence=Confidence.HIGH,
    category="configuration",
    rationale=(
        "An ignore (a `[[suppress]]` entry of the configuration file) with an `expires` date accepted a risk for "
        "a while. From that date on it no longer suppresses anything: the findings it hid are reported again, and "
        "this notice says why they came back, so the decision is made again instead of lasting forever."
    ),
    remediation=(
        "Fix the findings the ignore covered and remove the entry, or, when the risk is still accepted, give the "
        "entry a new `expires` date (and an up-to-date `reason`)."
    ),
    check=lambda inventory, context: (),
    references=("docs/configuration.md",),
)
RESOURCE_TYPE = "lambdasec::Config::Suppression"


def _applies(entry: ConfigSuppression, rules: Sequence[Rule]) -> bool:
    return entry.rule == "*" or any(entry.rule in (rule.code, rule.slug) for rule in rules)


def describe(entry: ConfigSuppression) -> str:
    """`suppress EXP001 resource=Legacy* file=legacy/*.yaml`: the entry, as findings name it."""
    text = f"suppress {entry.rule}"
    if entry.resource != "*":
        text += f" resource={entry.resource}"
    if entry.file != "*":
        text += f" file={entry.file}"
    return text


def expired_suppressions(config: Config, rules: Sequence[Rule], today: dt.date) -> Iterator[Finding]:
    """One CFG001 finding per expired entry about a rule that ran (or about every rule, `rule = "*"`)."""
    rule = EXPIRED_SUPPRESSION
    for entry in config.suppressions:
        if entry.expires is None or not entry.expired(today) or not _applies(entry, rules):
            continue
        expires = entry.expires.isoformat()
        yield Finding(
            rule_id=rule.code, slug=rule.slug, title=rule.title, severity=rule.severity, confidence=rule.confidence,
            category=rule.category,
            message=(f"The ignore of {entry.rule} (\"{entry.reason}\") expired on {expires}: it no longer "
                     "suppresses anything. Fix the findings it covered, or give it a new date."),
            resource_id=describe(entry), resource_type=RESOURCE_TYPE,
            location=Location(file=config.path or "", line=entry.line),
            remediation=rule.remediation,
            evidence={"kind": "expired-ignore", "rule": entry.rule, "resource": entry.resource, "file": entry.file,
                      "reason": entry.reason, "expires": expires},
        )
