"""What a live scan reads: the accounts and regions, each with a boto3 session holding its credentials.

The starting credentials are boto3's usual chain (environment, ``--profile``, SSO, instance or container role),
never anything lambdasec stores. From them:

- ``--role-arn`` (``--external-id``): ``sts:AssumeRole`` (session name ``lambdasec``) and the temporary
  credentials are used instead;
- ``--org --role-name NAME``: ``organizations:ListAccounts`` (active accounts only, ``--accounts`` limits them)
  and ``arn:aws:iam::<account>:role/NAME`` assumed in each; the calling account itself is read with the calling
  credentials (AWS does not create the organization access role in the management account). An account whose
  role cannot be assumed is a coverage gap naming it; the other accounts go on;
- regions: ``--region`` (repeatable), else the account's enabled regions (``ec2:DescribeRegions`` without
  ``AllRegions``; ``--all-regions`` asks for the same explicitly). When they cannot be listed the session's own
  region is read, and a coverage gap says so.

``--shard K/N`` splits the work deterministically: every (account, region) pair of the whole scan, sorted, is
numbered from 0 and item ``i`` belongs to shard ``(i mod N) + 1``. IAM is global: an account's IAM is read with
its first region (in that order), by whichever shard owns it. An account that could not be entered (no regions
at all) is reported by shard ``(j mod N) + 1``, ``j`` being its place among the sorted accounts, so merged shard
snapshots hold each gap once.

Every AWS call made here goes through :class:`~lambdasec.collectors.aws.api.Api` (read-only, counted).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

from lambdasec.fast_dataclass import dataclass, field

from ...model.inventory import CoverageGap
from ...model.location import Location
from .api import Api, ApiSettings, CallStats, RateLimiter, Scope

if TYPE_CHECKING:
    from ...analysis.packages import ArchiveLimits

DEFAULT_REGION: Final = "us-east-1"
ROLE_SESSION_NAME: Final = "lambdasec"
_ACCOUNT: Final = re.compile(r"^\d{12}$")

SessionFactory = Callable[..., Any]  # boto3.session.Session's signature: profile_name=, aws_access_key_id=...


class LiveUsageError(ValueError):
    """Options that cannot work together (``--org`` without ``--role-name``...): a usage error, exit 2."""


def _endpoint_from_environment() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL") or None


@dataclass
class LiveOptions:
    profile: str | None = None
    regions: tuple[str, ...] = ()
    all_regions: bool = False  # the account's enabled regions (also the default when no --region is given)
    role_arn: str | None = None
    external_id: str | None = None
    org: bool = False
    role_name: str | None = None
    accounts: tuple[str, ...] = ()  # with --org: only these accounts
    shard: tuple[int, int] | None = None  # (K, N): this machine reads shard K of N
    download_code: bool = False
    max_workers: int = 8
    alias_policies: bool = False  # list every function's aliases to read their own policies (ListAliases)
    # Read no event-invoke configs: one call per function in Lambda's shared quota bucket, at the cost of RES001
    # and least privilege for the functions whose configs would have been read (Function.skipped says which).
    skip_event_invoke_configs: bool = False
    # AWS_ENDPOINT_URL when set (LocalStack, moto): every client of the scan is pointed at it.
    endpoint_url: str | None = field(default_factory=_endpoint_from_environment)
    code_dir: str | None = None  # where --download-code writes packages (the collector makes a temporary one)
    archive_limits: ArchiveLimits | None = None  # bounds on downloaded packages (None: the defaults)

    def check(self) -> None:
        """Raise :class:`LiveUsageError` for options that cannot work together."""
        if self.org and not self.role_name:
            raise LiveUsageError("--org needs --role-name (the role to assume in each account)")
        if self.role_name and not self.org:
            raise LiveUsageError("--role-name is only used with --org")
        if self.accounts and not self.org:
            raise LiveUsageError("--accounts is only used with --org")
        if self.all_regions and self.regions:
            raise LiveUsageError("--all-regions and --region cannot be used together")
        for account in self.accounts:
            if not _ACCOUNT.match(account):
                raise LiveUsageError(f"--accounts: not a 12-digit account id: {account}")
        if self.shard is not None:
            k, n = self.shard
            if not 1 <= k <= n:
                raise LiveUsageError(f"--shard K/N needs 1 <= K <= N, not {k}/{n}")
        if self.max_workers < 1:
            raise LiveUsageError("max_workers must be at least 1")


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/5"`` -> ``(2, 5)``."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if match is None:
        raise LiveUsageError(f"--shard must look like K/N (e.g. 1/4), not {text!r}")
    k, n = int(match.group(1)), int(match.group(2))
    if not 1 <= k <= n:
        raise LiveUsageError(f"--shard K/N needs 1 <= K <= N, not {text}")
    return k, n


@dataclass
class Target:
    """One account and region to read, with the credentials for that account."""

    account: str
    region: str
    session: Any = field(compare=False, repr=False)
    iam: bool = False  # read the account's IAM here (its first region)


@dataclass
class Targets:
    targets: list[Target] = field(default_factory=list)
    gaps: list[CoverageGap] = field(default_factory=list)
    # Every account of the scan (all shards) and the accounts this shard reads.
    all_accounts: list[str] = field(default_factory=list)

    @property
    def accounts(self) -> list[str]:
        return sorted({target.account for target in self.targets})

    def __iter__(self) -> Iterator[Target]:
        return iter(self.targets)

    def __len__(self) -> int:
        return len(self.targets)


@dataclass
class _Account:
    account: str
    session: Any = field(repr=False)
    regions: list[str] = field(default_factory=list)
    gaps: list[CoverageGap] = field(default_factory=list)  # travel with the account's first region


class _Calls:
    """Apis for the discovery calls, sharing the scan's counters, limiter and request log."""

    def __init__(self, options: LiveOptions, stats: CallStats | None, limiter: RateLimiter | None,
                 settings: ApiSettings | None) -> None:
        self.options = options
        self.stats = stats if stats is not None else CallStats()
        self.limiter = limiter if limiter is not None else RateLimiter()
        self.settings = settings if settings is not None else ApiSettings()

    def api(self, account: str, region: str, session: Any) -> Api:
        return Api(Scope(account, region, session, self.options.endpoint_url), self.stats, self.limiter,
                   self.settings)


def targets(options: LiveOptions, session_factory: SessionFactory | None = None, *,
            stats: CallStats | None = None, limiter: RateLimiter | None = None,
            settings: ApiSettings | None = None) -> Targets:
    """The (account, region, session) work list of this scan (this shard's part of it), and the gaps met.

    ``session_factory`` builds boto3 sessions (``boto3.session.Session`` by default; tests inject their own)."""
    options.check()
    factory = session_factory if session_factory is not None else _boto3_session
    calls = _Calls(options, stats, limiter, settings)
    out = Targets()

    base = factory(profile_name=options.profile) if options.profile else factory()
    home = _region_of(base)
    identity = calls.api("unknown", home, base)
    caller = identity.call("sts", "GetCallerIdentity")
    if caller is None:
        out.gaps.extend(identity.gaps)
        return out
    account = str(caller.get("Account", ""))
    if options.role_arn:
        assumed = _assume(calls, factory, base, account, home, options.role_arn, options.external_id, out.gaps)
        if assumed is None:
            return out
        base, account = assumed, _account_of_role(options.role_arn) or account

    accounts: list[_Account] = []
    if options.org:
        listing = calls.api(account, home, base)
        members = listing.pages("organizations", "ListAccounts", "Accounts")
        if members is None:
            out.gaps.extend(listing.gaps)
            return out
        wanted = set(options.accounts)
        active = sorted(str(m["Id"]) for m in members if _active(m) and (not wanted or str(m["Id"]) in wanted))
        for missing in sorted(wanted - {str(m["Id"]) for m in members}):
            out.gaps.append(CoverageGap("access-denied", f"account {missing}: not an account of the organization",
                                        Location(arn=f"arn:aws:organizations::{account}:account/{missing}")))
        for member in active:
            if member == account:
                accounts.append(_Account(member, base))
                continue
            gaps: list[CoverageGap] = []
            role_arn = f"arn:aws:iam::{member}:role/{options.role_name}"
            session = _assume(calls, factory, base, account, home, role_arn, None, gaps, member=member)
            accounts.append(_Account(member, session, gaps=gaps))
    else:
        accounts.append(_Account(account, base))

    for entry in accounts:
        if entry.session is not None:
            entry.regions = _regions(calls, options, entry, home)
    return _split(accounts, options.shard, out)


def _split(accounts: list[_Account], shard: tuple[int, int] | None, out: Targets) -> Targets:
    k, n = shard if shard is not None else (1, 1)
    out.all_accounts = sorted(entry.account for entry in accounts)
    work = sorted((entry.account, region, entry) for entry in accounts for region in entry.regions)
    first: dict[str, str] = {}
    for account, region, _ in work:
        first.setdefault(account, region)
    for i, (account, region, entry) in enumerate(work):
        if i % n == k - 1:
            out.targets.append(Target(account, region, entry.session, iam=first[account] == region))
            if first[account] == region:
                out.gaps.extend(entry.gaps)
    for j, entry in enumerate(sorted(accounts, key=lambda e: e.account)):
        if not entry.regions and j % n == k - 1:
            out.gaps.extend(entry.gaps)
    return out


def _assume(calls: _Calls, factory: SessionFactory, base: Any, account: str, region: str, role_arn: str,
            external_id: str | None, gaps: list[CoverageGap], *, member: str | None = None) -> Any:
    """A session with the role's temporary credentials; None (and a gap naming the role) when it fails."""
    api = calls.api(account, region, base)
    params: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": ROLE_SESSION_NAME}
    if external_id:
        params["ExternalId"] = external_id
    response = api.call("sts", "AssumeRole", **params)
    credentials = (response or {}).get("Credentials")
    if not credentials:
        target = member or _account_of_role(role_arn) or "?"
        for gap in api.gaps or [CoverageGap("aws-error", "no credentials in the answer")]:
            detail = gap.message.partition("sts:AssumeRole: ")[2] or gap.message
            gaps.append(CoverageGap(gap.kind, f"account {target}: cannot assume {role_arn}: {detail}"[:400],
                                    Location(arn=role_arn)))
        return None
    session = factory(aws_access_key_id=credentials["AccessKeyId"],
                      aws_secret_access_key=credentials["SecretAccessKey"],
                      aws_session_token=credentials["SessionToken"], region_name=_region_of(base))
    _renew_before_expiry(session, credentials, lambda: (api.call("sts", "AssumeRole", **params) or {}).get(
        "Credentials"), role_arn)
    return session


def _renew_before_expiry(session: Any, credentials: Mapping[str, Any], assume: Callable[[], Any],
                         role_arn: str) -> None:
    """Make the session assume the role again shortly before its credentials expire (botocore's refreshable
    credentials): an Organization's scan can outlast a role session (one hour by default), and expired credentials
    would turn the rest of it into gaps. A session without botocore's internals (a test double) is left as is."""
    core = getattr(session, "_session", None)
    if core is None or "Expiration" not in credentials:
        return
    from botocore.credentials import RefreshableCredentials

    def metadata(fresh: Any) -> dict[str, Any]:
        if not fresh:  # the gap of the failed call is in the Api; botocore raises on the request that needed it
            raise RuntimeError(f"could not assume {role_arn} again")
        expiry = fresh["Expiration"]
        return {"access_key": fresh["AccessKeyId"], "secret_key": fresh["SecretAccessKey"],
                "token": fresh["SessionToken"],
                "expiry_time": expiry.isoformat() if hasattr(expiry, "isoformat") else str(expiry)}

    # botocore offers no public setter for a session's credentials: this is how its own providers install them.
    core._credentials = RefreshableCredentials.create_from_metadata(
        metadata(credentials), lambda: metadata(assume()), method="sts-assume-role")


def _regions(calls: _Calls, options: LiveOptions, entry: _Account, home: str) -> list[str]:
    if options.regions:
        return sorted(set(options.regions))
    api = calls.api(entry.account, home, entry.session)
    found = api.pages("ec2", "DescribeRegions", "Regions", AllRegions=False)
    if found is None:
        entry.gaps.extend(api.gaps)
        entry.gaps.append(CoverageGap(
            api.gaps[0].kind if api.gaps else "aws-error",
            f"account {entry.account}: the enabled regions could not be listed; only {home} was read",
            Location(arn=f"arn:aws:ec2:{home}:{entry.account}", region=home)))
        return [home]
    return sorted({str(region["RegionName"]) for region in found if region.get("RegionName")}) or [home]


def _active(member: dict[str, Any]) -> bool:
    # Organizations replaces `Status` by `State` (ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED): read either.
    return str(member.get("State") or member.get("Status") or "") == "ACTIVE"


def _account_of_role(role_arn: str) -> str | None:
    parts = role_arn.split(":")
    return parts[4] if len(parts) > 5 and _ACCOUNT.match(parts[4]) else None


def _region_of(session: Any) -> str:
    return str(getattr(session, "region_name", None) or DEFAULT_REGION)


def _boto3_session(**kwargs: Any) -> Any:
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.session.Session(**kwargs)
    except BotoCoreError as exc:  # an unknown profile, a broken config file: the user's to fix, not a blind spot
        raise LiveUsageError(f"cannot set up AWS credentials: {exc}") from None
