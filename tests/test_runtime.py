"""Runtime lifecycle table and the RUN001 / RUN002 rules, with injected clocks."""

from __future__ import annotations

import datetime as dt

import pytest

from lambdasec.analysis.runtimes import RuntimeLifecycle, known_runtimes, lifecycle, table_as_of
from lambdasec.model.findings import Confidence, Finding, NotEvaluated
from lambdasec.model.inventory import Function, Inventory
from lambdasec.model.location import Location
from lambdasec.model.values import ResourceRef, Unresolved, Value
from lambdasec.rules.base import Context
from lambdasec.rules.runtime import RULES, RUNTIME_DEPRECATED, RUNTIME_DEPRECATION_SOON

UTC = dt.timezone.utc
FIXTURE_NOW = dt.datetime(2026, 11, 29, tzinfo=UTC)


def _inventory(*functions: Function) -> Inventory:
    inventory = Inventory()
    for fn in functions:
        inventory.add(inventory.functions, fn)
    return inventory


def _function(logical_id: str, runtime: Value | None, package_type: str = "Zip") -> Function:
    return Function(
        key=f"template.yaml#{logical_id}",
        id=logical_id,
        type="AWS::Lambda::Function",
        location=Location(file="template.yaml", line=3),
        runtime=runtime,
        package_type=package_type,
    )


def _run(rule, inventory: Inventory, now: dt.datetime, **options) -> list:
    return rule.run(inventory, Context(now=now, options=options))


def _flagged(outcomes: list) -> set[str]:
    return {o.resource_id for o in outcomes if isinstance(o, Finding)}


def _not_evaluated(outcomes: list) -> set[str]:
    return {o.resource_id for o in outcomes if isinstance(o, NotEvaluated)}


# ---------------------------------------------------------------- the table
def test_table_is_dated_and_lists_every_published_family() -> None:
    assert table_as_of() == "2026-11-29"
    expected = {
        "nodejs", "nodejs4.3", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x", "nodejs14.x",
        "nodejs16.x", "nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x",
        "python2.7", "python3.6", "python3.7", "python3.8", "python3.9", "python3.10", "python3.11",
        "python3.12", "python3.13", "python3.14",
        "java8", "java8.al2", "java11", "java17", "java21", "java25",
        "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1", "dotnet6", "dotnet8", "dotnet10",
        "go1.x", "ruby2.5", "ruby2.7", "ruby3.2", "ruby3.3", "ruby3.4",
        "provided", "provided.al2", "provided.al2023",
    }
    assert expected <= set(known_runtimes())


def test_lifecycle_dates_are_dates() -> None:
    found = lifecycle("python3.8")
    assert found == RuntimeLifecycle(
        identifier="python3.8",
        name="Python 3.8",
        deprecation=dt.date(2024, 10, 14),
        block_function_create=dt.date(2027, 2, 1),
        block_function_update=dt.date(2027, 3, 3),
        confirmed=True,
    )


def test_lifecycle_is_lenient_on_case_and_spaces_and_none_for_unknown() -> None:
    assert lifecycle(" Python3.13 ") == lifecycle("python3.13")
    assert lifecycle("python9.9") is None


def test_supported_runtimes_are_not_blocked_before_deprecation() -> None:
    for ident in known_runtimes():
        found = lifecycle(ident)
        assert found is not None
        if found.deprecation and found.block_function_create and found.deprecation.year >= 2021:
            assert found.block_function_create >= found.deprecation, ident


# ---------------------------------------------------------------- RUN001
def test_deprecated_runtime_is_flagged_with_dates_in_message() -> None:
    inventory = _inventory(_function("FailFunction", "python3.8"), _function("PassFunction", "python3.13"))
    outcomes = _run(RUNTIME_DEPRECATED, inventory, FIXTURE_NOW)
    assert _flagged(outcomes) == {"FailFunction"}
    (finding,) = outcomes
    assert finding.message == (
        "Function FailFunction uses runtime python3.8 (Python 3.8), deprecated since 2024-10-14: AWS no "
        "longer patches it; creating functions with it is blocked from 2027-02-01; updating functions that "
        "use it is blocked from 2027-03-03."
    )
    assert finding.confidence is Confidence.HIGH
    assert finding.evidence["create_blocked"] is False
    assert finding.evidence["update_blocked"] is False
    assert finding.functions == ["FailFunction"]


def test_deprecation_boundary_is_inclusive() -> None:
    inventory = _inventory(_function("Fn", "python3.10"))  # deprecated 2026-10-31
    on_the_day = dt.datetime(2026, 10, 31, 0, 0, tzinfo=UTC)
    the_second_before = dt.datetime(2026, 10, 30, 23, 59, 59, tzinfo=UTC)
    assert _flagged(_run(RUNTIME_DEPRECATED, inventory, on_the_day)) == {"Fn"}
    assert _flagged(_run(RUNTIME_DEPRECATED, inventory, the_second_before)) == set()


def test_clock_is_read_in_utc() -> None:
    inventory = _inventory(_function("Fn", "python3.10"))
    # 20:00 in New York on the 30th is already the 31st in UTC.
    new_york_evening = dt.datetime(2026, 10, 30, 20, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert _flagged(_run(RUNTIME_DEPRECATED, inventory, new_york_evening)) == {"Fn"}


def test_message_says_when_blocks_already_apply() -> None:
    inventory = _inventory(_function("Fn", "python3.8"))
    between_blocks = dt.datetime(2027, 2, 15, tzinfo=UTC)
    (finding,) = _run(RUNTIME_DEPRECATED, inventory, between_blocks)
    assert "creating functions with it is already blocked (since 2027-02-01)" in finding.message
    assert "updating functions that use it is blocked from 2027-03-03" in finding.message
    assert finding.evidence["create_blocked"] is True
    assert finding.evidence["update_blocked"] is False


def test_container_only_runtime_without_block_dates() -> None:
    (finding,) = _run(RUNTIME_DEPRECATED, _inventory(_function("Fn", "dotnet7")), FIXTURE_NOW)
    assert "no date is announced for blocking creating functions with it" in finding.message


def test_unconfirmed_dates_lower_the_confidence() -> None:
    inventory = _inventory(_function("Fn", "java17.al2023"))
    (finding,) = _run(RUNTIME_DEPRECATED, inventory, dt.datetime(2029, 7, 1, tzinfo=UTC))
    assert finding.confidence is Confidence.MEDIUM
    assert finding.evidence["dates_confirmed"] is False


def test_image_functions_are_not_judged() -> None:
    inventory = _inventory(_function("ImageFunction", None, package_type="Image"))
    assert _run(RUNTIME_DEPRECATED, inventory, FIXTURE_NOW) == []
    assert _run(RUNTIME_DEPRECATION_SOON, inventory, FIXTURE_NOW) == []


@pytest.mark.parametrize(
    "runtime",
    [
        Unresolved("!Ref Runtime", "parameter without default"),
        "python9.9",
        None,
        ResourceRef("template.yaml#Other"),
    ],
)
@pytest.mark.parametrize("rule", RULES)
def test_runtime_that_cannot_be_judged_is_not_evaluated(rule, runtime) -> None:
    outcomes = _run(rule, _inventory(_function("Fn", runtime)), FIXTURE_NOW)
    assert _flagged(outcomes) == set()
    assert _not_evaluated(outcomes) == {"Fn"}


def test_unknown_runtime_reason_names_the_table_date() -> None:
    (outcome,) = _run(RUNTIME_DEPRECATED, _inventory(_function("Fn", "python9.9")), FIXTURE_NOW)
    assert outcome.reason == "runtime 'python9.9' is not in the runtime table compiled on 2026-11-29"


# ---------------------------------------------------------------- RUN002
def test_deprecation_soon_within_default_window() -> None:
    inventory = _inventory(
        _function("SoonFunction", "python3.10"),  # deprecated 2026-10-31
        _function("LaterFunction", "python3.13"),
        _function("PastFunction", "python3.8"),
    )
    now = dt.datetime(2026, 9, 1, tzinfo=UTC)  # 60 days before python3.10's deprecation (2026-10-31)
    outcomes = _run(RUNTIME_DEPRECATION_SOON, inventory, now)
    assert _flagged(outcomes) == {"SoonFunction"}
    (finding,) = outcomes
    assert finding.evidence["days_until_deprecation"] == 60
    assert "deprecated on 2026-10-31 (in 60 days)" in finding.message


def test_deprecation_soon_boundaries() -> None:
    inventory = _inventory(_function("Fn", "python3.10"))
    day_before = dt.datetime(2026, 10, 30, tzinfo=UTC)
    on_the_day = dt.datetime(2026, 10, 31, tzinfo=UTC)
    window_start = dt.datetime(2026, 5, 4, tzinfo=UTC)  # 180 days before, the default window
    before_window = dt.datetime(2026, 5, 3, tzinfo=UTC)
    assert _flagged(_run(RUNTIME_DEPRECATION_SOON, inventory, day_before)) == {"Fn"}
    assert _flagged(_run(RUNTIME_DEPRECATION_SOON, inventory, on_the_day)) == set()  # RUN001's turn
    assert _flagged(_run(RUNTIME_DEPRECATION_SOON, inventory, window_start)) == {"Fn"}
    assert _flagged(_run(RUNTIME_DEPRECATION_SOON, inventory, before_window)) == set()


def test_deprecation_warning_days_option() -> None:
    # nodejs22.x is deprecated on 2027-04-30, 152 days after the fixture clock.
    inventory = _inventory(_function("Fn", "nodejs22.x"))
    soon = RUNTIME_DEPRECATION_SOON
    assert _flagged(_run(soon, inventory, FIXTURE_NOW)) == {"Fn"}
    assert _flagged(_run(soon, inventory, FIXTURE_NOW, deprecation_warning_days=90)) == set()
    assert _flagged(_run(soon, inventory, FIXTURE_NOW, deprecation_warning_days="90")) == set()
    assert _flagged(_run(soon, inventory, FIXTURE_NOW, deprecation_warning_days=152)) == {"Fn"}
    assert _flagged(_run(soon, inventory, FIXTURE_NOW, deprecation_warning_days=151)) == set()
    # A malformed option falls back to the default window.
    assert _flagged(_run(soon, inventory, FIXTURE_NOW, deprecation_warning_days="x")) == {"Fn"}


def test_runtime_without_deprecation_date_is_never_flagged() -> None:
    inventory = _inventory(_function("Fn", "nodejs26.x"))
    assert _run(RUNTIME_DEPRECATED, inventory, FIXTURE_NOW) == []
    assert _run(RUNTIME_DEPRECATION_SOON, inventory, FIXTURE_NOW, deprecation_warning_days=100000) == []


def test_rules_are_declared() -> None:
    assert [(r.code, r.slug, r.category) for r in RULES] == [
        ("RUN001", "runtime-deprecated", "runtime"),
        ("RUN002", "runtime-deprecation-soon", "runtime"),
    ]
