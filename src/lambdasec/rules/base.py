"""What a rule is: a small declarative object plus a pure check function."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from lambdasec.fast_dataclass import dataclass, field

from ..model.findings import CATEGORIES, Confidence, Finding, NotEvaluated, Severity
from ..model.inventory import CoverageGap, Function, Inventory, Resource, ScannedScope
from ..model.location import Location


@dataclass(frozen=True)
class Context:
    """Everything a rule may depend on besides the inventory: no clock or config reads of its own."""

    now: dt.datetime
    options: Mapping[str, Any] = field(default_factory=dict)
    # Directories the inventory's relative paths (files, local code) are relative to: one per scanned path.
    roots: tuple[str, ...] = ()

    def option(self, name: str, default: Any) -> Any:
        return self.options.get(name, default)


# What a check yields: findings, resources it could not judge, and coverage gaps (input it could not fully read,
# such as a deployment package; the engine reports them once, and they make the scan incomplete).
Outcome = Finding | NotEvaluated | CoverageGap
Check = Callable[[Inventory, Context], Iterable[Outcome]]


# What each name of ``Function.unread`` is, in a reason.
UNREAD_PARTS: Final = {
    "details": "configuration (GetFunction)", "policy": "resource policy", "urls": "function URLs",
    "event-invoke-configs": "event-invoke configs", "code-signing": "code-signing config",
    "aliases": "aliases (whose own resource policies were to be read)",
    "role": "execution role",
}
# The option that leaves each name of ``Function.skipped`` unread.
SKIPPED_BY: Final = {"event-invoke-configs": "--skip-event-invoke-configs"}


def unread_reason(fn: Function, parts: Iterable[str]) -> str:
    """Why ``fn`` is not evaluated when some of these parts of it are unknown ("" when all were read): a failed
    read points at the coverage gaps, a skipped one at the scan option that skipped it."""
    parts = list(parts)
    failed = [UNREAD_PARTS.get(part, part) for part in parts if part in fn.unread]
    if failed:
        return f"its {' and '.join(failed)} could not be read (see the coverage gaps)"
    skipped = [part for part in parts if part in fn.skipped]
    if not skipped:
        return ""
    options = ", ".join(sorted({SKIPPED_BY.get(part, "a scan option") for part in skipped}))
    return f"its {' and '.join(UNREAD_PARTS.get(part, part) for part in skipped)} were not read (the scan ran " \
           f"with {options})"


def unlisted_function_scopes(inventory: Inventory) -> list[ScannedScope]:
    """The scanned accounts and regions where Lambda was not read completely and no function is known: their
    functions could not be listed."""
    listed = set()
    for fn in inventory.functions:
        arn = fn.key.split(":")  # a live function's key is its ARN
        if len(arn) > 4 and arn[0] == "arn":
            listed.add((arn[4], arn[3]))
    return [scope for scope in inventory.scopes
            if "lambda" not in scope.complete and (scope.account, scope.region) not in listed]


def not_found_where(resource: Resource) -> str:
    """Where a thing a resource names was looked for and not found: the templates, or the scanned accounts."""
    if resource.location.arn and not resource.location.file:
        return "was not read in the scanned accounts (see the coverage gaps)"
    return "is not defined in the scanned templates"


@dataclass(frozen=True)
class Rule:
    code: str  # permanent, never reused: "EXP001"
    slug: str  # permanent kebab-case name of the bad pattern: "function-url-auth-none"
    title: str
    severity: Severity
    confidence: Confidence
    category: str
    rationale: str
    remediation: str
    check: Check = field(repr=False, compare=False)
    snippets: Mapping[str, str] = field(default_factory=dict)  # "cloudformation" | "sam" | "terraform" -> text
    references: tuple[str, ...] = ()
    # Equivalent checks in other tools: {"checkov": (...), "prowler": (...), "kics": (...), "securityhub": (...)}
    anchors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Reads the functions' code and layers (packages on disk), not only the inventory: on large scans these rules
    # run in a forked process while the others run in this one (engine.py).
    reads_code: bool = False
    # Runs in that forked process too although it reads only the inventory: a few rules that share no analysis
    # with the others (which would then be computed twice) move there so both halves take about as long.
    runs_apart: bool = False
    # The parts of a live function the rule judges (``Function.unread`` names them): a function whose part
    # could not be read is "not evaluated" by the rule, never silently clean.
    needs: tuple[str, ...] = ()
    # The configuration option without which the rule has nothing to check (GOV001's required_tags): a scan
    # without it does not run the rule, so no report lists it as checked and passed.
    needs_option: str | None = None

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"{self.code}: unknown category {self.category!r}")
        if self.title.lower().startswith("ensure"):
            raise ValueError(f"{self.code}: titles name the problem, they do not start with 'Ensure'")

    def run(self, inventory: Inventory, context: Context) -> list[Outcome]:
        outcomes = list(self.check(inventory, context))
        if self.needs:
            outcomes.extend(self._unread(inventory, outcomes))
        return outcomes

    def _unread(self, inventory: Inventory, outcomes: list[Outcome]) -> list[NotEvaluated]:
        judged = {outcome.resource_id for outcome in outcomes if isinstance(outcome, NotEvaluated)}
        missing = []
        for fn in inventory.functions:
            reason = unread_reason(fn, self.needs)
            if reason and fn.id not in judged:
                missing.append(self.not_evaluated(fn, reason))
        return missing

    def finding(
        self,
        inventory: Inventory,
        resource: Resource,
        message: str,
        *,
        location: Location | None = None,
        confidence: Confidence | None = None,
        functions: Iterable[Function] | None = None,
        evidence: dict[str, Any] | None = None,
        variant: str = "",
    ) -> Finding:
        affected = list(functions) if functions is not None else affected_functions(inventory, resource)
        return Finding(
            rule_id=self.code,
            slug=self.slug,
            title=self.title,
            severity=self.severity,
            confidence=self.confidence if confidence is None else confidence,
            category=self.category,
            message=message,
            resource_id=resource.id,
            resource_type=resource.type,
            resource_key=resource.key,
            location=location or resource.location,
            functions=sorted({fn.id for fn in affected}),
            function_keys=sorted({fn.key for fn in affected}),
            remediation=self.remediation,
            evidence=dict(evidence or {}),
            variant=variant,
        )

    def not_evaluated(self, resource: Resource, reason: str) -> NotEvaluated:
        return NotEvaluated(self.code, resource.id, reason, resource.location)


def affected_functions(inventory: Inventory, resource: Resource) -> list[Function]:
    """The functions a resource's weakness reaches: itself, the users of a role, the target of a permission."""
    from ..model.inventory import (
        CodeSigningConfig,
        EventInvokeConfig,
        EventSource,
        FunctionUrl,
        LayerVersion,
        Permission,
        Role,
    )

    if isinstance(resource, Function):
        return [resource]
    if isinstance(resource, Role):
        return inventory.functions_using_role(resource)
    if isinstance(resource, (Permission, FunctionUrl, EventInvokeConfig, EventSource)):
        fn = inventory.function_for(resource.function)
        return [fn] if fn else []
    if isinstance(resource, CodeSigningConfig):
        return [f for f in inventory.functions if inventory.get(f.code_signing_config) is resource]
    if isinstance(resource, LayerVersion):
        return [f for f in inventory.functions if any(inventory.get(layer) is resource for layer in f.layers)]
    fn_ref = getattr(resource, "function", None)
    if fn_ref is not None:
        fn = inventory.function_for(fn_ref)
        return [fn] if fn else []
    return []
