"""Run rules over an inventory and apply every filter in one place.

Rules never filter themselves: rule selection, severity and confidence thresholds and
suppressions (template metadata, comments, config file) all happen here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from lambdasec.fast_dataclass import dataclass, field

from . import __version__
from .config import Config, ConfigError, ConfigSuppression
from .iam.catalogue import catalogue_version
from .model.findings import Confidence, Finding, NotEvaluated, Report, Severity, Suppression
from .model.inventory import CoverageGap, Inventory
from .model.priority import Priority
from .progress import SILENT, Progress
from .rules.base import Context, Outcome, Rule


@dataclass(frozen=True)
class ScanSettings:
    rules: Sequence[str] = ()  # only these (codes or slugs); empty = all
    skip_rules: Sequence[str] = ()
    min_severity: Severity = Severity.INFO
    min_confidence: Confidence = Confidence.LOW
    config: Config = field(default_factory=Config)
    now: dt.datetime | None = None
    workers: int = 1  # processes reading files in parallel
    cache_dir: str | None = None  # SAM translation cache (None: none)
    sam_expander: str = "native"  # or "official": always aws-sam-translator
    # Options for rules from the command line (archive limits, lock file...): over the config file's ones.
    rule_options: Mapping[str, Any] = field(default_factory=dict)
    # Locations relative to this directory (a repository's root) instead of each named file's own directory.
    relative_to: str | None = None
    # A named .tf file is read with the rest of its directory (its module), not as a module of its own.
    tf_module_dirs: bool = False


def select_rules(all_rules: Sequence[Rule], only: Iterable[str], skip: Iterable[str]) -> list[Rule]:
    def lookup(ident: str) -> Rule:
        for rule in all_rules:
            if ident.upper() == rule.code or ident.lower() == rule.slug:
                return rule
        raise ConfigError(f"unknown rule: {ident} (see `lambdasec rules`)")

    chosen = [lookup(i) for i in only] if only else list(all_rules)
    skipped = {lookup(i).code for i in skip}
    return [rule for rule in chosen if rule.code not in skipped]


def fingerprint(finding: Finding) -> str:
    """Stable across line shifts: built from the rule, file, resource and path inside the document."""
    parts = [
        finding.rule_id, finding.location.file or finding.location.arn or "", finding.resource_id,
        "/".join(finding.location.path),
    ]
    # Resources generated from one source entry share its id (a serverless `url:` makes two permissions):
    # their keys differ after the id. Both additions are appended only when present, so other fingerprints
    # stay what they were.
    sub_resource = finding.resource_key.partition(f"#{finding.resource_id}#")[2]
    for extra in (sub_resource, finding.variant):
        if extra:
            parts.append(extra)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _suppression(finding: Finding, inventory: Inventory, entries: Sequence[ConfigSuppression]) -> Suppression | None:
    resource = inventory.get(finding.resource_key)
    if resource is not None:
        for ident in (finding.rule_id, finding.slug):
            if ident in resource.suppressions:
                return Suppression(resource.suppressions[ident], "template")
    for entry in entries:
        if entry.matches(finding.rule_id, finding.slug, finding.resource_id, finding.location.file):
            return Suppression(entry.reason, "config")
    return None


def severity_overrides(config: Config, known: Sequence[Rule]) -> dict[str, Severity]:
    """The config file's `[severity]` table by rule code; an unknown rule is a configuration error."""
    from .pipeline.notices import EXPIRED_SUPPRESSION

    overrides: dict[str, Severity] = {}
    for ident, level in config.severity_overrides.items():
        rule = next((r for r in (*known, EXPIRED_SUPPRESSION) if ident.upper() == r.code or ident.lower() == r.slug),
                    None)
        if rule is None:
            raise ConfigError(f"{config.source}: severity: unknown rule {ident} (see `lambdasec rules`)")
        overrides[rule.code] = Severity.parse(level)
    return overrides


def _override(finding: Finding, overrides: Mapping[str, Severity]) -> None:
    level = overrides.get(finding.rule_id)
    if level is not None and level != finding.severity:
        finding.evidence = {**finding.evidence, "default_severity": finding.severity.label}
        finding.severity = level


def evaluate(
    inventory: Inventory,
    rules: Sequence[Rule],
    settings: ScanSettings,
    *,
    scanned_files: Sequence[str] = (),
    root: str = "",
    roots: Sequence[str] = (),
    progress: Progress = SILENT,
) -> Report:
    """The report of the rules over the inventory; ``progress`` shows the code and layers read, one step each."""
    now = settings.now or dt.datetime.now(dt.timezone.utc)
    options: dict[str, Any] = {**settings.config.rule_options, **settings.rule_options}
    inventory.own_accounts |= set(options.get("own_accounts", []))
    rules = [rule for rule in rules if rule.needs_option is None or rule.needs_option in options]
    context = Context(now=now, options=options, roots=tuple(roots))
    overrides = severity_overrides(settings.config, _known_rules(rules)) if settings.config.severity_overrides else {}
    today = now.astimezone(dt.timezone.utc).date()
    # An ignore past its expiry date no longer suppresses anything, and is reported itself (CFG001).
    active = [entry for entry in settings.config.suppressions if not entry.expired(today)]
    findings: list[Finding] = []
    suppressed: list[Finding] = []
    not_evaluated: list[NotEvaluated] = []
    gaps = list(inventory.coverage_gaps)
    for outcomes in _run_rules(inventory, rules, context, settings.workers, progress):
        if isinstance(outcomes, str):  # one broken rule must not hide the others' findings
            gaps.append(CoverageGap("internal-error", outcomes))
            continue
        for outcome in outcomes:
            if isinstance(outcome, NotEvaluated):
                not_evaluated.append(outcome)
                continue
            if isinstance(outcome, CoverageGap):  # e.g. a package that could not be fully read
                gaps.append(outcome)
                continue
            if overrides:
                _override(outcome, overrides)
            if outcome.severity < settings.min_severity or outcome.confidence < settings.min_confidence:
                continue
            outcome.fingerprint = fingerprint(outcome)
            outcome.suppression = _suppression(outcome, inventory, active)
            (suppressed if outcome.suppression else findings).append(outcome)
    if len(active) < len(settings.config.suppressions):
        from .pipeline.notices import expired_suppressions

        for notice in expired_suppressions(settings.config, rules, today):
            _override(notice, overrides)
            if notice.severity >= settings.min_severity and notice.confidence >= settings.min_confidence:
                notice.fingerprint = fingerprint(notice)
                findings.append(notice)  # never suppressed: the way out is a new date or no entry
    priorities = _priorities(inventory, gaps)
    by_function = {priority.function_key: priority for priority in priorities}
    for finding in (*findings, *suppressed):
        finding.priority = max((by_function[key] for key in finding.function_keys if key in by_function),
                               key=lambda priority: priority.rank, default=None)
    order = _sort_key
    return Report(
        findings=sorted(findings, key=order),
        coverage_gaps=list(dict.fromkeys(gaps)),
        not_evaluated=not_evaluated,
        suppressed=sorted(suppressed, key=order),
        scanned_files=list(scanned_files),
        root=root,
        rules_run=[rule.code for rule in rules],
        tool_version=__version__,
        priorities=priorities,
        iam_catalogue=catalogue_version(),
    )


RuleResult = list[Outcome] | str  # the outcomes, or why the rule failed


def _known_rules(selected: Sequence[Rule]) -> Sequence[Rule]:
    """Every registered rule (a `[severity]` entry may name a rule this scan does not run), or the selected ones
    when a caller evaluates rules of its own."""
    from .rules.registry import all_rules

    registered = all_rules()
    return registered if all(rule in registered for rule in selected) else [*registered, *selected]


def _run_rule(rule: Rule, inventory: Inventory, context: Context) -> RuleResult:
    try:
        return rule.run(inventory, context)
    except Exception as exc:
        return f"rule {rule.code} failed: {type(exc).__name__}: {exc}"[:300]


# Below this many functions a second process costs more than it saves.
PARALLEL_RULES_MIN_FUNCTIONS: Final = 100


def _run_rules(inventory: Inventory, rules: Sequence[Rule], context: Context, workers: int,
               progress: Progress = SILENT) -> list[RuleResult]:
    """Every rule's result, in the order of ``rules``.

    On large scans the rules that read code and layers (``Rule.reads_code``), and a few others chosen to balance
    the halves (``Rule.runs_apart``), run in a forked process while this one runs the rest: both halves take
    about as long, and they share nothing but the (copy-on-write) inventory. Results are the same either way
    (tests/test_engine_parallel.py).
    """
    here = [rule for rule in rules if not (rule.reads_code or rule.runs_apart)]
    apart = [rule for rule in rules if rule.reads_code or rule.runs_apart]
    watched = progress is not SILENT and _watch_packages(inventory, rules, progress)
    try:
        if workers > 1 and here and apart and len(inventory.functions) >= PARALLEL_RULES_MIN_FUNCTIONS \
                and _can_fork():
            results = _run_forked(inventory, apart, here, context, progress if watched else SILENT)
        else:
            results = {rule.code: _run_rule(rule, inventory, context) for rule in rules}
    finally:
        if watched:
            progress.finish()
    return [results[rule.code] for rule in rules]


def _watch_packages(inventory: Inventory, rules: Sequence[Rule], progress: Progress) -> bool:
    """Start a bar over the deployment packages and layers the code-reading rules will open, one step each."""
    if not any(rule.reads_code for rule in rules):
        return False
    from .analysis.packages import package_targets, watch_packages

    total = len(package_targets(inventory))
    if total == 0:
        return False
    progress.start(total, f"reading the code of {total} function(s), layer(s) and package(s)")
    watch_packages(inventory, progress.advance)
    return True


def _can_fork() -> bool:
    """os.fork is safe only without other threads (a library caller may have some) and where it exists."""
    import multiprocessing
    import threading

    return hasattr(os, "fork") and "fork" in multiprocessing.get_all_start_methods() \
        and threading.active_count() == 1


def _run_forked(inventory: Inventory, apart: list[Rule], here: list[Rule],
                context: Context, progress: Progress = SILENT) -> dict[str, RuleResult]:
    import pickle

    read_end, write_end = os.pipe()
    # The code-reading rules run in the child: it reports each package it opens on a pipe of its own, and a
    # thread here advances the bar (the child's copy of the bar would draw nothing).
    steps_read, steps_write = os.pipe() if progress is not SILENT else (-1, -1)
    pid = os.fork()
    if pid == 0:  # the child: run its rules, send the results, leave without running any exit handler
        try:
            # Short-lived: a cycle collection would only walk (and copy, page by page) the inherited inventory.
            gc.disable()
            os.close(read_end)
            if steps_write >= 0:
                os.close(steps_read)
                _report_steps_to(inventory, steps_write)
            payload = pickle.dumps([_run_rule(rule, inventory, context) for rule in apart],
                                   protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_end, "wb") as sink:
                sink.write(payload)
        finally:
            os._exit(0)
    os.close(write_end)
    relay = _relay_steps(steps_read, steps_write, progress) if steps_write >= 0 else None
    results = {rule.code: _run_rule(rule, inventory, context) for rule in here}
    with os.fdopen(read_end, "rb") as source:
        payload = source.read()
    os.waitpid(pid, 0)
    if relay is not None:
        relay.join()
    try:
        theirs: list[RuleResult] = pickle.loads(payload)
    except Exception:
        theirs = []
    if len(theirs) != len(apart):
        theirs = [f"rule {rule.code} failed: its worker process ended without a result" for rule in apart]
    results.update(zip((rule.code for rule in apart), theirs, strict=True))
    return results


def _report_steps_to(inventory: Inventory, descriptor: int) -> None:
    from .analysis.packages import watch_packages

    def step() -> None:
        with contextlib.suppress(OSError):
            os.write(descriptor, b".")

    watch_packages(inventory, step)


def _relay_steps(read_end: int, write_end: int, progress: Progress) -> Any:
    """A thread advancing ``progress`` by one for every byte the child writes, until the child exits."""
    import threading

    os.close(write_end)

    def relay() -> None:
        with os.fdopen(read_end, "rb", buffering=0) as steps:
            while chunk := steps.read(4096):
                progress.advance(len(chunk))

    thread = threading.Thread(target=relay, name="lambdasec-package-progress", daemon=True)
    thread.start()
    return thread


def _priorities(inventory: Inventory, gaps: list[CoverageGap]) -> list[Priority]:
    """Every function's attack-path priority, highest first; a failure is a coverage gap, not a crash."""
    if not inventory.functions:
        return []
    from .analysis.attack_paths import priorities, ranked

    try:
        return ranked(priorities(inventory))
    except Exception as exc:
        gaps.append(CoverageGap("internal-error", f"attack-path priority failed: {type(exc).__name__}: {exc}"[:300]))
        return []


def _sort_key(finding: Finding) -> tuple[Any, ...]:
    """The findings of the functions with the highest attack-path priority first, then by severity."""
    level, score = finding.priority.rank if finding.priority is not None else (-1, 0)
    return (-level, -score, -finding.severity, finding.location.file, finding.location.line or 0, finding.rule_id,
            finding.resource_id, finding.fingerprint)


def scan(paths: Sequence[Path], settings: ScanSettings, progress: Progress = SILENT) -> Report:
    from .collectors.discovery import collect
    from .collectors.options import CollectOptions
    from .rules.registry import all_rules

    rules = select_rules(all_rules(), settings.rules or settings.config.rules,
                         [*settings.skip_rules, *settings.config.skip_rules])
    options = CollectOptions(parameter_values=_parameters(settings.config.parameters), workers=settings.workers,
                             cache_dir=settings.cache_dir, sam_expander=settings.sam_expander,
                             relative_to=settings.relative_to, tf_module_dirs=settings.tf_module_dirs)
    with fewer_gc_passes():
        inventory, scanned = collect(paths, options, while_waiting=_prepare_rules)
        root = settings.relative_to or (str(paths[0]) if len(paths) == 1 else ".")
        # A file is read relative to its directory, a directory relative to itself (collectors/discovery.py).
        roots = [settings.relative_to] if settings.relative_to else \
            [str(path.parent if path.is_file() else path) for path in paths]
        return evaluate(inventory, rules, settings, scanned_files=scanned, root=root, roots=roots,
                        progress=progress)


@contextlib.contextmanager
def fewer_gc_passes() -> Iterator[None]:
    """A scan builds millions of small objects that are not cyclic garbage: at the default threshold the cyclic
    collector runs thousands of times for nothing (about a quarter of a large scan, see docs/benchmarks.md)."""
    previous = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def _prepare_rules() -> None:
    """Load what the rules of a large scan need, while collector workers read the files: the IAM action
    catalogue's services and the code analysers. Loaded before the rules fork in two, it is loaded once instead of
    once per process. Only an optimization: a failure here is met again, and reported, by the rule itself."""
    try:
        from .analysis import function_code, sdk_node, sdk_python  # noqa: F401  (imports are the point)
        from .iam.catalogue import catalogue

        catalogue().all_actions()
    except Exception:  # noqa: S110
        pass


def _parameters(values: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k): v for k, v in values.items()}
