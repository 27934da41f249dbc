"""Live AWS accounts on the command line: `scan --aws`, `collect --aws`, `merge` and `permissions` (docs/live.md).

`lambdasec scan` takes the live options through :func:`live_scan_options` and hands them to :func:`scan_live`
when ``--aws`` is given; this module imports only click at load time (boto3 is loaded when a live scan runs), so
an IaC scan pays nothing for it. Exit codes are the tool's: 0 clean, 1 findings, 2 usage, 3 incomplete (any
coverage gap: a denied API, an account whose role could not be assumed, an unreachable region).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import click

if TYPE_CHECKING:
    from ..collectors.aws.session import LiveOptions
    from ..engine import ScanSettings
    from ..model.findings import Report
    from ..model.inventory import CoverageGap, Inventory

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3

# The live options of `scan` and `collect`, in the order --help shows them.
LIVE_PARAMS: Final = ("aws", "profile", "regions", "all_regions", "role_arn", "external_id", "org", "role_name",
                      "accounts", "shard", "max_workers", "alias_policies", "skip_event_invoke_configs")


def _live_options(*, download: bool) -> list[Callable[[Any], Any]]:
    options = [
        click.option("--aws", is_flag=True, help="Read live AWS accounts (read-only) instead of files."),
        click.option("--profile", metavar="NAME", help="AWS profile (default: boto3's credential chain)."),
        click.option("--region", "regions", multiple=True, metavar="REGION",
                     help="Region to read; repeatable (default: the account's enabled regions)."),
        click.option("--all-regions", is_flag=True, help="Read every enabled region of each account (the default)."),
        click.option("--role-arn", metavar="ARN", help="Assume this role first (sts:AssumeRole)."),
        click.option("--external-id", metavar="ID", help="External id for --role-arn."),
        click.option("--org", is_flag=True, help="Read every active account of the AWS Organization."),
        click.option("--role-name", metavar="NAME", help="With --org: the role to assume in each account."),
        click.option("--accounts", multiple=True, metavar="IDS",
                     help="With --org: only these accounts (comma-separated or repeated)."),
        click.option("--shard", metavar="K/N", help="Read only shard K of N of the account x region work list."),
        click.option("--max-workers", type=click.IntRange(min=1), default=8, show_default=True,
                     help="Concurrent AWS requests (threads across accounts, regions and services; Lambda's "
                          "three quota buckets are read side by side unless 1)."),
        click.option("--alias-policies", is_flag=True,
                     help="List every function's aliases and read their own resource policies (one more "
                          "Lambda call per function; without it, only aliases a URL, event-invoke config or "
                          "mapping names)."),
        click.option("--skip-event-invoke-configs", is_flag=True,
                     help="Read no event-invoke configs: one Lambda shared-quota call per function. RES001 and "
                          "least privilege then say 'not evaluated' for asynchronously invoked functions."),
    ]
    if download:
        options.append(click.option("--download-code", is_flag=True,
                                    help="Download deployment packages and layers (bounded) for the code rules."))
    options.append(click.option("--stats", "show_stats", is_flag=True,
                                help="Report AWS calls per API and per quota bucket."))
    return options


def live_scan_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the live options to `scan`; the command receives them as one ``live`` mapping (see LIVE_PARAMS,
    plus ``download_code`` and ``show_stats``). Put it right under ``@main.command()``."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        live = {name: kwargs.pop(name) for name in (*LIVE_PARAMS, "download_code", "show_stats")}
        return command(*args, live=live, **kwargs)

    decorated: Callable[..., Any] = wrapper
    for option in reversed(_live_options(download=True)):
        decorated = option(decorated)
    return decorated


class LiveError(Exception):
    """A usage error of the live options: exit 2."""


def options_from_cli(live: Mapping[str, Any]) -> LiveOptions:
    """LiveOptions from the parsed command-line options; raises :class:`LiveError` for bad combinations."""
    from ..collectors.aws.session import LiveOptions, LiveUsageError, parse_shard

    accounts = tuple(part.strip() for given in live.get("accounts") or () for part in given.split(",")
                     if part.strip())
    try:
        options = LiveOptions(
            profile=live.get("profile"), regions=tuple(live.get("regions") or ()),
            all_regions=bool(live.get("all_regions")), role_arn=live.get("role_arn"),
            external_id=live.get("external_id"), org=bool(live.get("org")), role_name=live.get("role_name"),
            accounts=accounts, shard=parse_shard(live["shard"]) if live.get("shard") else None,
            download_code=bool(live.get("download_code")), max_workers=int(live.get("max_workers") or 8),
            alias_policies=bool(live.get("alias_policies")),
            skip_event_invoke_configs=bool(live.get("skip_event_invoke_configs")))
        options.check()
    except LiveUsageError as exc:
        raise LiveError(str(exc)) from None
    if options.external_id and not options.role_arn:
        raise LiveError("--external-id is only used with --role-arn")
    return options


def _live_flags_without_aws(live: Mapping[str, Any]) -> list[str]:
    given = [name for name in LIVE_PARAMS[1:] if name != "max_workers" and live.get(name)]
    given += [name for name in ("download_code",) if live.get(name)]
    return [f"--{name.replace('_', '-').replace('regions', 'region')}" for name in given]


def check_live_arguments(live: Mapping[str, Any], paths: tuple[Path, ...]) -> None:
    """`scan`: live options need --aws, and --aws reads no files."""
    if live.get("aws"):
        if paths:
            raise LiveError("--aws reads live accounts: give no PATH with it")
        return
    stray = _live_flags_without_aws(live)
    if stray:
        raise LiveError(f"{', '.join(stray)} need --aws")


def scan_live(options: LiveOptions, settings: ScanSettings, *, session_factory: Any = None,
              services: Any = None, progress: Any = None) -> tuple[Report, dict[str, Any]]:
    """Collect the accounts (read-only) and run the rules exactly as an IaC scan runs them: the report, and the
    scan's AWS call counts (:func:`stats_dict`)."""
    import tempfile

    from ..analysis.packages import limits_from_options
    from ..collectors.aws.api import CallStats
    from ..engine import evaluate, fewer_gc_passes, select_rules
    from ..rules.registry import all_rules

    rules = select_rules(all_rules(), settings.rules or settings.config.rules,
                         [*settings.skip_rules, *settings.config.skip_rules])
    stats = CallStats()
    with tempfile.TemporaryDirectory(prefix="lambdasec-code-") as code_dir, fewer_gc_passes():
        if options.download_code:
            options.code_dir = code_dir
            options.archive_limits = limits_from_options({**settings.config.rule_options, **settings.rule_options})
        extra = {"progress": progress} if progress is not None else {}
        inventory = _collect(options, stats, session_factory=session_factory, services=services, **extra)
        report = evaluate(inventory, rules, settings, roots=[code_dir] if options.download_code else [],
                          **extra)
        return report, stats_dict(stats, inventory)


def _collect(options: LiveOptions, stats: Any, **overrides: Any) -> Inventory:
    """collect_live, with credentials that cannot even be set up (an unknown profile) as a usage error."""
    from ..collectors.aws.collector import collect_live
    from ..collectors.aws.session import LiveUsageError

    try:
        return collect_live(options, stats=stats, **overrides)
    except LiveUsageError as exc:
        raise LiveError(str(exc)) from None


def live_output(text: str, fmt: str, stats: Mapping[str, Any] | None) -> str:
    """`scan --aws --stats`: JSON reports get a top-level ``stats`` object; other formats print the table on
    stderr (the report itself is unchanged)."""
    if stats is None:
        return text
    if fmt == "json":
        return add_stats_to_json(text, stats)
    click.echo(stats_table(stats), err=True, nl=False)
    return text


# ---------------------------------------------------------------- stats
def stats_dict(stats: Any, inventory: Inventory | None = None, functions: int | None = None) -> dict[str, Any]:
    """The call counts of a scan, with the calls per function in each Lambda quota bucket."""
    out: dict[str, Any] = stats.to_dict()
    count = len(inventory.functions) if inventory is not None else functions
    if count is not None:
        out["functions"] = count
        out["per_function"] = {bucket: round(calls / count, 2) for bucket, calls in out["by_quota_bucket"].items()
                               if bucket.startswith("lambda") and count}
    return out


def stats_table(stats: Mapping[str, Any]) -> str:
    rows = [("calls", "", "")]
    rows += [("", api, str(n)) for api, n in stats["calls"].items()]
    rows += [("quota bucket", "", "")]
    per_function = stats.get("per_function", {})
    rows += [("", bucket, f"{n}" + (f"  ({per_function[bucket]} per function)" if bucket in per_function else ""))
             for bucket, n in stats["by_quota_bucket"].items()]
    if stats["failures"]:
        rows += [("failed", "", "")]
        rows += [("", api, str(n)) for api, n in stats["failures"].items()]
    rows += [("total", "", str(stats["total"]))]
    if "functions" in stats:
        rows += [("functions", "", str(stats["functions"]))]
    width = max(len(api) for _, api, _ in rows)
    lines = ["AWS calls"]
    for head, api, n in rows:
        lines.append(f"  {head}" if head and not n else f"    {api.ljust(width)}  {n}" if api else f"  {head}: {n}")
    return "\n".join(lines) + "\n"


def add_stats_to_json(text: str, stats: Mapping[str, Any]) -> str:
    """The JSON report with a top-level ``stats`` object (only with --stats: the schema is otherwise unchanged)."""
    import json

    document = json.loads(text)
    document["stats"] = dict(stats)
    return json.dumps(document, indent=2) + "\n"


def _print_gaps(gaps: list[CoverageGap]) -> None:
    for gap in gaps:
        click.echo(f"lambdasec: coverage gap: {gap.location.display()}: {gap.message}", err=True)


# ---------------------------------------------------------------- collect
def _collect_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_live_options(download=False)):
        command = option(command)
    return command


@click.command()
@_collect_options
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Snapshot file to write (gzip when it ends in .gz).")
def collect(output: Path, show_stats: bool, **live: Any) -> None:
    """Read live AWS accounts (read-only) into a snapshot that `lambdasec scan FILE` analyses offline.

    Exit 3 when something could not be read (the gaps are in the snapshot and printed); 2 on usage errors."""
    from ..collectors.aws.api import CallStats
    from ..model.snapshot import write_snapshot

    if not live.get("aws"):
        raise click.UsageError("collect reads live accounts: pass --aws")
    try:
        options = options_from_cli(live)
    except LiveError as exc:
        raise click.UsageError(str(exc)) from None
    stats = CallStats()
    try:
        inventory = _collect(options, stats)
    except LiveError as exc:
        raise click.UsageError(str(exc)) from None
    counted = stats_dict(stats, inventory)
    meta = {"source": "aws", "accounts": sorted({s.account for s in inventory.scopes}),
            "regions": sorted({s.region for s in inventory.scopes}), "stats": counted}
    if options.shard is not None:
        meta["shard"] = f"{options.shard[0]}/{options.shard[1]}"
    try:
        write_snapshot(inventory, output, meta=meta)
    except OSError as exc:
        raise click.UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    if show_stats:
        click.echo(stats_table(counted), err=True, nl=False)
    _print_gaps(inventory.coverage_gaps)
    click.echo(f"lambdasec: {len(inventory.functions)} functions in {len(inventory.scopes)} account/region "
               f"scopes written to {output}", err=True)
    sys.exit(EXIT_INCOMPLETE if inventory.coverage_gaps else EXIT_OK)


# ---------------------------------------------------------------- merge
@click.command()
@click.argument("snapshots", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Merged snapshot to write (gzip when it ends in .gz).")
def merge(snapshots: tuple[Path, ...], output: Path) -> None:
    """Join snapshots (e.g. the shards of `collect --shard K/N`) into one. Exit 3 when any holds a coverage gap."""
    from ..model.snapshot import SnapshotError, merge_snapshots, write_snapshot

    try:
        inventory, meta = merge_snapshots(snapshots)
    except SnapshotError as exc:
        click.echo(f"lambdasec: error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    try:
        write_snapshot(inventory, output, meta=meta)
    except OSError as exc:
        raise click.UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    _print_gaps(inventory.coverage_gaps)
    sys.exit(EXIT_INCOMPLETE if inventory.coverage_gaps else EXIT_OK)


# ---------------------------------------------------------------- permissions
# boto3 service name -> IAM action prefix, where they differ.
IAM_PREFIXES: Final = {"elbv2": "elasticloadbalancing", "stepfunctions": "states", "apigatewayv2": "apigateway"}
# Calls that need no IAM permission (AWS documents GetCallerIdentity as always allowed).
NO_PERMISSION: Final = frozenset({("sts", "GetCallerIdentity")})
# Only with --org / --role-arn: the calling identity hops into other roles.
ROLE_HOPPING: Final = frozenset({("sts", "AssumeRole"), ("organizations", "ListAccounts")})


def iam_action(service: str, operation: str) -> str:
    return f"{IAM_PREFIXES.get(service, service)}:{operation}"


def read_actions(operations: Mapping[str, tuple[tuple[str, str], ...]] | None = None) -> list[str]:
    """Every IAM action a scan needs in the accounts it reads (the union of the modules' OPERATIONS)."""
    from ..collectors.aws.collector import CORE_OPERATIONS, service_operations

    modules = service_operations() if operations is None else operations
    wanted = {op for ops in modules.values() for op in ops} | set(CORE_OPERATIONS)
    return sorted({iam_action(*op) for op in wanted - NO_PERMISSION - ROLE_HOPPING})


def permissions_policy(*, org: bool = False, role_name: str | None = None,
                       operations: Mapping[str, tuple[tuple[str, str], ...]] | None = None) -> dict[str, Any]:
    """The IAM policy lambdasec needs: reads only. With ``org``, the calling identity's role hopping too."""
    statements: list[dict[str, Any]] = [
        {"Sid": "LambdasecRead", "Effect": "Allow", "Action": read_actions(operations), "Resource": "*"}]
    if org:
        statements.append({"Sid": "LambdasecOrganization", "Effect": "Allow",
                           "Action": ["organizations:ListAccounts"], "Resource": "*"})
        statements.append({"Sid": "LambdasecAssumeRole", "Effect": "Allow", "Action": ["sts:AssumeRole"],
                           "Resource": f"arn:aws:iam::*:role/{role_name or '*'}"})
    return {"Version": "2012-10-17", "Statement": statements}


def permissions_text(policy: Mapping[str, Any]) -> str:
    lines = ["IAM actions lambdasec calls (all reads; it never writes to an account):", ""]
    for statement in policy["Statement"]:
        lines.append(f"{statement['Sid']} (Resource {statement['Resource']}):")
        lines += [f"  {action}" for action in statement["Action"]]
        lines.append("")
    lines += [
        "Notes:",
        "  sts:GetCallerIdentity needs no permission.",
        "  --download-code needs nothing more: the package and layer URLs come from lambda:GetFunction and",
        "  lambda:GetLayerVersion (presigned, read without AWS credentials).",
        "  --role-arn: the calling identity needs sts:AssumeRole on that role, and the role this policy.",
        "  --org --role-name NAME: the calling identity needs organizations:ListAccounts and sts:AssumeRole on",
        "  arn:aws:iam::*:role/NAME (`lambdasec permissions --org --role-name NAME`), each NAME role this policy.",
    ]
    return "\n".join(lines) + "\n"


@click.command()
@click.option("-f", "--format", "fmt", type=click.Choice(["json", "text"]), default="json", show_default=True,
              help="json: the policy document (for `aws iam create-policy`); text: the actions, explained.")
@click.option("--org", is_flag=True, help="Add what the calling identity of an --org scan needs.")
@click.option("--role-name", metavar="NAME", help="With --org: the role assumed in each account.")
def permissions(fmt: str, org: bool, role_name: str | None) -> None:
    """Print the read-only IAM policy lambdasec needs to scan an account."""
    import json

    policy = permissions_policy(org=org, role_name=role_name)
    click.echo(json.dumps(policy, indent=2) if fmt == "json" else permissions_text(policy), nl=fmt == "json")
