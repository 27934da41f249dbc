"""Runtime rules: functions on deprecated (or soon deprecated) Lambda managed runtimes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from ..analysis.runtimes import RuntimeLifecycle, lifecycle, table_as_of
from ..model.findings import Confidence, Severity
from ..model.inventory import Function, Inventory
from ..model.values import Unresolved
from .base import Context, Outcome, Rule

_REFERENCES = (
    "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html",
    "https://docs.aws.amazon.com/lambda/latest/dg/runtime-support-policy.html",
    "https://docs.aws.amazon.com/securityhub/latest/userguide/lambda-controls.html#lambda-2",
)

_SNIPPETS = {
    "cloudformation": (
        "Function:\n"
        "  Type: AWS::Lambda::Function\n"
        "  Properties:\n"
        "    Runtime: python3.13  # a runtime that is still supported\n"
    ),
    "sam": (
        "Globals:\n"
        "  Function:\n"
        "    Runtime: python3.13  # a runtime that is still supported\n"
    ),
    "terraform": (
        'resource "aws_lambda_function" "fn" {\n'
        '  runtime = "python3.13" # a runtime that is still supported\n'
        "}\n"
    ),
}

# AWS Health starts notifying owners of affected functions about six months before a deprecation
# (e.g. python3.10 notices went out on 2026-04-28 for 2026-10-31): warn on the same horizon.
_DEFAULT_WARNING_DAYS = 180


# ---------------------------------------------------------------- shared helpers
def _today(context: Context) -> dt.date:
    """The scan date in UTC, the time zone AWS uses for runtime dates."""
    now = context.now
    if now.tzinfo is not None:
        now = now.astimezone(dt.timezone.utc)
    return now.date()


def _zip_functions(inventory: Inventory) -> Iterator[Function]:
    # An image function brings its own runtime inside the image: the Runtime property does not apply.
    return (fn for fn in inventory.functions if fn.package_type != "Image")


def _runtime_lifecycle(rule: Rule, fn: Function) -> RuntimeLifecycle | Outcome:
    """The function's runtime lifecycle, or the reason it cannot be judged."""
    runtime = fn.runtime
    if runtime is None:
        return rule.not_evaluated(fn, "the function sets no Runtime")
    if isinstance(runtime, Unresolved):
        return rule.not_evaluated(fn, f"the runtime is not known statically ({runtime.expression})")
    if not isinstance(runtime, str):
        return rule.not_evaluated(fn, f"the runtime is a reference ({runtime}), not a runtime identifier")
    found = lifecycle(runtime)
    if found is None:
        return rule.not_evaluated(
            fn, f"runtime {runtime!r} is not in the runtime table compiled on {table_as_of()}"
        )
    return found


def _confidence(found: RuntimeLifecycle) -> Confidence:
    return Confidence.HIGH if found.confirmed else Confidence.MEDIUM


def _evidence(found: RuntimeLifecycle, today: dt.date) -> dict[str, object]:
    return {
        "runtime": found.identifier,
        "deprecation_date": _iso(found.deprecation),
        "block_function_create": _iso(found.block_function_create),
        "block_function_update": _iso(found.block_function_update),
        "create_blocked": found.create_blocked(today),
        "update_blocked": found.update_blocked(today),
        "dates_confirmed": found.confirmed,
        "runtime_table_as_of": table_as_of(),
    }


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _blocking(found: RuntimeLifecycle, today: dt.date) -> str:
    """Says where the runtime stands on AWS's create/update blocking schedule."""
    parts = [
        _block_phrase("creating functions with it", found.block_function_create, today),
        _block_phrase("updating functions that use it", found.block_function_update, today),
    ]
    return "; ".join(parts)


def _block_phrase(action: str, day: dt.date | None, today: dt.date) -> str:
    if day is None:
        return f"no date is announced for blocking {action}"
    if today >= day:
        return f"{action} is already blocked (since {day.isoformat()})"
    return f"{action} is blocked from {day.isoformat()}"


# ---------------------------------------------------------------- RUN001
def _check_deprecated(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    today = _today(context)
    for fn in _zip_functions(inventory):
        found = _runtime_lifecycle(RUNTIME_DEPRECATED, fn)
        if not isinstance(found, RuntimeLifecycle):
            yield found
            continue
        if not found.is_deprecated(today) or found.deprecation is None:
            continue
        message = (
            f"Function {fn.id} uses runtime {found.identifier} ({found.name}), deprecated since "
            f"{found.deprecation.isoformat()}: AWS no longer patches it; {_blocking(found, today)}."
        )
        yield RUNTIME_DEPRECATED.finding(
            inventory, fn, message, location=fn.at("Runtime"), confidence=_confidence(found),
            evidence=_evidence(found, today),
        )


RUNTIME_DEPRECATED = Rule(
    code="RUN001",
    slug="runtime-deprecated",
    title="Function runs on a deprecated Lambda runtime",
    severity=Severity.HIGH,
    confidence=Confidence.HIGH,
    category="runtime",
    rationale=(
        "Once a Lambda managed runtime is deprecated, AWS stops applying security patches to its language "
        "runtime and operating system, so known vulnerabilities stay in the function's execution "
        "environment. "
        "The function also loses technical support, and Lambda later blocks creating and then updating "
        "functions on that runtime, which turns an urgent security fix into a forced migration."
    ),
    remediation=(
        "Move the function to a supported runtime of the same language (for example python3.13, nodejs22.x, "
        "java21), test it against the new language version, and deploy. For OS-only functions use "
        "provided.al2023. Check the AWS Lambda runtimes page for the current deprecation schedule."
    ),
    check=_check_deprecated,
    snippets=_SNIPPETS,
    references=_REFERENCES,
    anchors={
        "checkov": ("CKV_AWS_363",),
        "prowler": ("awslambda_function_using_supported_runtimes",),
        "kics": (),
        "securityhub": ("Lambda.2",),
    },
)


# ---------------------------------------------------------------- RUN002
def _warning_days(context: Context) -> int:
    value = context.option("deprecation_warning_days", _DEFAULT_WARNING_DAYS)
    if isinstance(value, bool):
        return _DEFAULT_WARNING_DAYS
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return _DEFAULT_WARNING_DAYS


def _check_deprecation_soon(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    today = _today(context)
    horizon = _warning_days(context)
    for fn in _zip_functions(inventory):
        found = _runtime_lifecycle(RUNTIME_DEPRECATION_SOON, fn)
        if not isinstance(found, RuntimeLifecycle):
            yield found
            continue
        if found.deprecation is None or found.is_deprecated(today):
            continue
        days_left = (found.deprecation - today).days
        if days_left > horizon:
            continue
        message = (
            f"Function {fn.id} uses runtime {found.identifier} ({found.name}), deprecated on "
            f"{found.deprecation.isoformat()} (in {days_left} days): AWS stops patching it then; "
            f"{_blocking(found, today)}."
        )
        evidence = {**_evidence(found, today), "days_until_deprecation": days_left, "warning_days": horizon}
        yield RUNTIME_DEPRECATION_SOON.finding(
            inventory, fn, message, location=fn.at("Runtime"), confidence=_confidence(found),
            evidence=evidence,
        )


RUNTIME_DEPRECATION_SOON = Rule(
    code="RUN002",
    slug="runtime-deprecation-soon",
    title="Function runtime will be deprecated soon",
    severity=Severity.LOW,
    confidence=Confidence.HIGH,
    category="runtime",
    rationale=(
        "A runtime close to its deprecation date will soon stop receiving security patches for its language "
        "and operating system. Migrating before that date keeps the function patched and avoids a rushed "
        "change once Lambda starts blocking function creation and updates on the old runtime."
    ),
    remediation=(
        "Plan the move to a newer supported runtime of the same language before the deprecation date, test "
        "the function against it and deploy. The warning window is set with the deprecation_warning_days "
        "option (180 days by default)."
    ),
    check=_check_deprecation_soon,
    snippets=_SNIPPETS,
    references=_REFERENCES,
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)


RULES: tuple[Rule, ...] = (RUNTIME_DEPRECATED, RUNTIME_DEPRECATION_SOON)
