"""A live scan: every account x region x service read in a bounded thread pool, merged into one inventory.

Each task (one service module in one account and region) gets its own :class:`Api` (the counters and the rate
limiter are shared by the whole scan) and its own inventory fragment, so threads share nothing mutable; the
fragments are merged in task order, and every bucket is sorted by key at the end, so the result does not depend
on thread timing. IAM is global: it is read once per account, with the account's first region.

What each scope read completely is kept as a :class:`ScannedScope` (the AWS services whose calls all
succeeded there), every failure as a coverage gap, and the scanned accounts become ``own_accounts``.

A few reads need what other modules found (which Signer jobs signed the functions' code, and which log groups
outside /aws/lambda/ they write to, is known only once Lambda was read): once every task is done, each scope runs
the follow-ups its modules declare (a module's ``FOLLOW_UP``) in a second round, in the same pool, with every
function the first round collected; their fragments, gaps and failures are merged like the first round's (a failed
follow-up call makes its service incomplete in the scope). A follow-up that calls nothing changes nothing.

The link pass then turns every :class:`ResourceRef` whose target is not in the inventory (a layer of another
account, a role of an account not scanned, a subnet of a region not read) into its plain key: the ARN as an
external reference, so rules never follow a dangling link.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, TypeVar

from lambdasec.fast_dataclass import dataclass, field

from ...model.inventory import _BUCKETS, CoverageGap, Function, Inventory, ScannedScope
from ...model.location import Location
from ...model.values import ResourceRef
from ...progress import SILENT, Progress
from .api import Api, ApiSettings, CallStats, RateLimiter, Reachability, Scope
from .session import LiveOptions, SessionFactory, Target, targets

_log = logging.getLogger(__name__)
ServiceCollector = Callable[[Api, Inventory, LiveOptions], None]
# A second-round read of one scope, given every function the first round collected (in any scope).
FollowUp = Callable[[Api, Inventory, LiveOptions, Sequence[Function]], None]
_T = TypeVar("_T")

# name -> (module of lambdasec.collectors.aws, function): imported when a scan runs, never before.
SERVICE_MODULES: Final = {
    "lambda": ("lambda_service", "collect_lambda"),
    "iam": ("iam_service", "collect_iam"),
    "network": ("network_service", "collect_network"),
    "posture": ("posture_service", "collect_posture"),
}
GLOBAL_SERVICES: Final = frozenset({"iam"})  # read once per account, with its first region
# The calls the scan itself makes before any service module (identity, role hopping, regions, organization).
CORE_OPERATIONS: Final = (
    ("sts", "GetCallerIdentity"),
    ("sts", "AssumeRole"),
    ("ec2", "DescribeRegions"),
    ("organizations", "ListAccounts"),
)


def default_services() -> dict[str, ServiceCollector]:
    """The real service modules (imported now)."""
    out: dict[str, ServiceCollector] = {}
    for name, (module, function) in SERVICE_MODULES.items():
        out[name] = getattr(importlib.import_module(f"{__package__}.{module}"), function)
    return out


def service_operations() -> dict[str, tuple[tuple[str, str], ...]]:
    """Every (service, Operation) each service module may call, from the modules' own ``OPERATIONS``."""
    out: dict[str, tuple[tuple[str, str], ...]] = {}
    for name, (module, _) in SERVICE_MODULES.items():
        out[name] = tuple(importlib.import_module(f"{__package__}.{module}").OPERATIONS)
    return out


@dataclass
class _Result:
    target: Target
    service: str
    fragment: Inventory
    gaps: list[CoverageGap] = field(default_factory=list)
    complete: set[str] = field(default_factory=set)  # AWS services read completely by this task
    failed: set[str] = field(default_factory=set)


def collect_live(options: LiveOptions, *, session_factory: SessionFactory | None = None,
                 services: Mapping[str, ServiceCollector] | None = None, stats: CallStats | None = None,
                 request_log: list[tuple[str, str]] | None = None, limiter: RateLimiter | None = None,
                 settings: ApiSettings | None = None, progress: Progress = SILENT) -> Inventory:
    """The inventory of the accounts and regions ``options`` name (this shard's part), read-only.

    ``services`` maps a name to a collector (default: the real lambda, iam, network and posture modules);
    ``stats`` receives the call counts; ``request_log`` every (service, Operation) sent; ``progress`` one step per
    account x region x service read."""
    options.check()
    stats = stats if stats is not None else CallStats()
    limiter = limiter if limiter is not None else RateLimiter()
    if settings is None:
        settings = ApiSettings(request_log=request_log)
    elif request_log is not None:
        settings = dataclasses.replace(settings, request_log=request_log)
    chosen = dict(services) if services is not None else default_services()
    known = _known_services(chosen)

    work = targets(options, session_factory, stats=stats, limiter=limiter, settings=settings)
    inventory = Inventory()
    inventory.coverage_gaps.extend(work.gaps)
    tasks = [(target, name) for target in work.targets for name in chosen
             if name not in GLOBAL_SERVICES or target.iam]
    reachability = Reachability()

    def run(task: tuple[Target, str]) -> _Result:
        target, name = task
        try:
            return _run_task(target, name, chosen[name], known.get(name, frozenset()), options, stats, limiter,
                             settings, reachability)
        finally:
            progress.advance()

    _log.info("%d account-region(s), %d task(s), %d worker(s)", len(work.targets), len(tasks), options.max_workers)
    progress.start(len(tasks), f"reading {len(work.targets)} account-region(s)")
    results = _in_pool(options, run, tasks)

    follow_ups = _follow_ups(chosen)
    if follow_ups:  # a few calls per scope at most: not counted in the progress bar
        functions = [fn for result in results for fn in result.fragment.functions]
        later = [(target, name) for target in work.targets for name in follow_ups]

        def run_later(task: tuple[Target, str]) -> _Result:
            target, name = task
            return _run_follow_up(target, name, follow_ups[name], functions, options, stats, limiter, settings,
                                  reachability)

        results.extend(_in_pool(options, run_later, later))

    progress.finish()
    _merge(inventory, results, work.targets)
    inventory.coverage_gaps.extend(reachability.gaps())
    inventory.own_accounts |= {target.account for target in work.targets}
    _mark_unread_roles(inventory)
    link_pass(inventory)
    sort_buckets(inventory)
    return inventory


def _in_pool(options: LiveOptions, run: Callable[[tuple[Target, str]], _T],
             tasks: list[tuple[Target, str]]) -> list[_T]:
    """``run`` over ``tasks`` in a bounded thread pool; the results in task order, whatever order they finished in."""
    if options.max_workers == 1 or len(tasks) <= 1:
        return [run(task) for task in tasks]
    with ThreadPoolExecutor(max_workers=options.max_workers, thread_name_prefix="lambdasec-aws") as pool:
        return list(pool.map(run, tasks))


def _follow_ups(chosen: Mapping[str, ServiceCollector]) -> dict[str, tuple[FollowUp, frozenset[str]]]:
    """The follow-ups of the chosen first-round collectors: the ``FOLLOW_UP`` (function, services it reads) of the
    module each collector comes from, when it has one (a test's stand-in has none)."""
    out: dict[str, tuple[FollowUp, frozenset[str]]] = {}
    for name, collect in chosen.items():
        follow_up = getattr(importlib.import_module(collect.__module__), "FOLLOW_UP", None)
        if follow_up is not None:
            out[name] = follow_up
    return out


def _known_services(chosen: Mapping[str, ServiceCollector]) -> dict[str, frozenset[str]]:
    """The AWS services each collector may call (its module's OPERATIONS, or the callable's own attribute)."""
    out: dict[str, frozenset[str]] = {}
    for name, collect in chosen.items():
        operations = getattr(collect, "OPERATIONS", None)
        if operations is None and name in SERVICE_MODULES and collect.__module__.endswith(SERVICE_MODULES[name][0]):
            operations = getattr(importlib.import_module(collect.__module__), "OPERATIONS", None)
        out[name] = frozenset(service for service, _ in operations or ())
    return out


def _run_task(target: Target, name: str, collect: ServiceCollector, known: frozenset[str], options: LiveOptions,
              stats: CallStats, limiter: RateLimiter, settings: ApiSettings,
              reachability: Reachability | None = None) -> _Result:
    api = Api(Scope(target.account, target.region, target.session, options.endpoint_url), stats, limiter, settings,
              reachability)
    fragment = Inventory()
    result = _Result(target, name, fragment)
    try:
        collect(api, fragment, options)
        crashed = False
    except Exception as exc:  # noqa: BLE001  # one broken module must not hide the other services' data
        crashed = True
        result.gaps.append(CoverageGap(
            "internal-error",
            f"account {target.account}, region {target.region}, {name}: {type(exc).__name__}: {exc}"[:400],
            Location(arn=f"arn:aws:{name}:{target.region}:{target.account}", region=target.region)))
    result.gaps.extend(api.gaps)
    touched = set(known) | set(api.services_called())
    result.failed = {service for service in touched if not api.ok(service)}
    if crashed:
        result.failed |= touched
    else:
        result.complete = touched - result.failed
    return result


def _run_follow_up(target: Target, name: str, follow_up: tuple[FollowUp, frozenset[str]],
                   functions: Sequence[Function],
                   options: LiveOptions, stats: CallStats, limiter: RateLimiter, settings: ApiSettings,
                   reachability: Reachability) -> _Result:
    """One follow-up in one scope. It adds no service to the scope's complete ones (its first-round module
    already did); a failed call, or a crash, takes the service out of them."""
    api = Api(Scope(target.account, target.region, target.session, options.endpoint_url), stats, limiter, settings,
              reachability)
    result = _Result(target, name, Inventory())
    read, services = follow_up
    try:
        read(api, result.fragment, options, functions)
    except Exception as exc:  # noqa: BLE001  # as in _run_task: a gap, never a crashed scan
        result.gaps.append(CoverageGap(
            "internal-error",
            f"account {target.account}, region {target.region}, {name}: {type(exc).__name__}: {exc}"[:400],
            Location(arn=f"arn:aws:{name}:{target.region}:{target.account}", region=target.region)))
        result.failed = set(services)
    result.gaps.extend(api.gaps)
    result.failed |= {service for service in api.services_called() if not api.ok(service)}
    return result


def _merge(inventory: Inventory, results: list[_Result], scanned: list[Target]) -> None:
    complete: dict[tuple[str, str], set[str]] = {(t.account, t.region): set() for t in scanned}
    failed: dict[tuple[str, str], set[str]] = {(t.account, t.region): set() for t in scanned}
    iam_regions: dict[str, set[str]] = {}
    for result in results:
        scope = (result.target.account, result.target.region)
        fragment = result.fragment
        for name in _BUCKETS:
            bucket = getattr(inventory, name)
            for obj in getattr(fragment, name):
                if inventory.get(obj.key) is None:  # the same ARN from two tasks: the first one is kept
                    inventory.add(bucket, obj)
        inventory.coverage_gaps.extend(fragment.coverage_gaps)
        inventory.coverage_gaps.extend(result.gaps)
        inventory.own_accounts |= fragment.own_accounts
        inventory.aliases.update(fragment.aliases)
        for reported in fragment.scopes:  # what a module recorded itself counts too, unless a call failed
            complete.setdefault((reported.account, reported.region), set()).update(reported.complete)
        complete.setdefault(scope, set()).update(result.complete)
        failed.setdefault(scope, set()).update(result.failed)
        if result.service in GLOBAL_SERVICES:
            iam_regions.setdefault(result.target.account, set()).update(result.complete)
    # Global services (IAM) are read once per account: complete in every scope of that account it read.
    for (account, _), services in complete.items():
        services.update(iam_regions.get(account, set()))
    inventory.scopes.extend(
        ScannedScope(account, region, sorted(complete[(account, region)] - failed.get((account, region), set())))
        for account, region in sorted(complete))


def _mark_unread_roles(inventory: Inventory) -> None:
    """A function whose execution role IAM could not give (its account's IAM read failed): "role" unread."""
    complete = {(scope.account, scope.region): scope.complete for scope in inventory.scopes}
    for fn in inventory.functions:
        role = fn.role
        if not isinstance(role, ResourceRef) or inventory.get(role.key) is not None:
            continue
        arn = fn.key.split(":")
        if len(arn) > 4 and "iam" not in complete.get((arn[4], arn[3]), ()):
            fn.unread.append("role")


# ---------------------------------------------------------------- link pass
def link_pass(inventory: Inventory) -> int:
    """Replace every ResourceRef whose target is not in the inventory by its key; returns how many were."""
    keys = {obj.key for obj in inventory.resources()}
    changed = 0

    def fix(value: Any) -> Any:
        nonlocal changed
        if isinstance(value, ResourceRef):
            if value.key in keys:
                return value
            changed += 1
            return value.key
        if isinstance(value, list):
            for i, item in enumerate(value):
                new = fix(item)
                if new is not item:
                    value[i] = new
            return value
        if isinstance(value, tuple):
            items = tuple(fix(item) for item in value)
            return value if all(a is b for a, b in zip(items, value, strict=True)) else items
        if isinstance(value, dict):
            for k, item in list(value.items()):
                new = fix(item)
                if new is not item:
                    value[k] = new
            return value
        if dataclasses.is_dataclass(value) and not isinstance(value, (type, Location)):
            for spec in dataclasses.fields(value):
                if spec.name.startswith("_") or spec.name == "property_locations":
                    continue
                item = getattr(value, spec.name)
                new = fix(item)
                if new is not item:  # frozen classes too (none holds links today)
                    object.__setattr__(value, spec.name, new)
            return value
        return value

    for name in _BUCKETS:
        for obj in getattr(inventory, name):
            fix(obj)
    fix(inventory.aliases)
    inventory._role_users = None
    inventory.derived.clear()
    return changed


def sort_buckets(inventory: Inventory) -> None:
    """Every bucket in key order: the same inventory whatever order the threads finished in."""
    for name in _BUCKETS:
        getattr(inventory, name).sort(key=lambda obj: obj.key)
