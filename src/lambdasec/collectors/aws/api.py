"""Read-only AWS calls for one account and region: counted, rate limited, retried, failures kept as gaps.

Every call of the live collector goes through :class:`Api`, which refuses any operation that is not a read
(``Get*``, ``List*``, ``Describe*`` and the scanner's own ``sts:AssumeRole`` / ``sts:GetCallerIdentity``): the
scan cannot write to the account it audits, whatever a service module asks. A failed call is never an empty
answer: it returns None and leaves a coverage gap naming the account, the region and the API, and
:meth:`Api.ok` tells the service modules whether what they read is complete.

boto3 and botocore are imported here, inside functions only: importing lambdasec never loads them.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, Final

from lambdasec.fast_dataclass import dataclass, field

from ...model.inventory import CoverageGap
from ...model.location import Location

READ_PREFIXES: Final = ("Get", "List", "Describe")
# The scanner's own identity and role hopping: reads of STS, writes of nothing.
ALSO_ALLOWED: Final = frozenset({("sts", "AssumeRole"), ("sts", "GetCallerIdentity")})
# Lambda throttles its control plane per account and region: GetFunction (100 requests per second) and GetPolicy
# (15) have quotas of their own, every other read shares 15 per second. The scan keeps to two thirds of each,
# leaving room for the account's other clients.
LAMBDA_OWN_BUCKETS: Final = frozenset({"GetFunction", "GetPolicy"})
DEFAULT_RATES: Final = {"lambda": 10.0, "lambda:GetFunction": 50.0, "lambda:GetPolicy": 10.0}
DEFAULT_RATE: Final = 20.0  # requests per second per account, region and service elsewhere

_DENIED: Final = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess", "AuthFailure",
    "AuthorizationError", "NotAuthorized", "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId",
    "UnrecognizedClientException", "SignatureDoesNotMatch", "OptInRequired", "SubscriptionRequiredException",
    "403",  # an error body botocore could not parse (proxies, emulators): AWS answers 403 only to refuse
})
_THROTTLED: Final = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException", "RequestLimitExceeded",
    "RequestThrottled", "RequestThrottledException", "SlowDown", "ProvisionedThroughputExceededException",
})


_TAGS: Final = re.compile(r"<[^>]*>")
_GLOBAL_SERVICES: Final = frozenset({"iam", "sts", "organizations"})


def is_read_operation(service: str, operation: str) -> bool:
    return operation.startswith(READ_PREFIXES) or (service, operation) in ALSO_ALLOWED


def quota_bucket(service: str, operation: str) -> str:
    """The throttling bucket a call counts against: ``lambda`` (shared), ``lambda:GetFunction``... or the service."""
    if service == "lambda" and operation in LAMBDA_OWN_BUCKETS:
        return f"lambda:{operation}"
    return service


@dataclass(frozen=True)
class Scope:
    account: str
    region: str
    session: Any = field(compare=False, hash=False, repr=False)  # boto3.session.Session for this account
    endpoint_url: str | None = None  # AWS_ENDPOINT_URL when set (the tests point it at the emulator)


class CallStats:
    """Calls made, per service and operation and per quota bucket; shared by every thread of a scan."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[tuple[str, str]] = Counter()
        self.buckets: Counter[tuple[str, str, str]] = Counter()  # (account, region, bucket) -> calls
        self.failures: Counter[tuple[str, str]] = Counter()

    def count(self, scope: Scope, service: str, operation: str) -> None:
        with self._lock:
            self.calls[(service, operation)] += 1
            self.buckets[(scope.account, scope.region, quota_bucket(service, operation))] += 1

    def failed(self, service: str, operation: str) -> None:
        with self._lock:
            self.failures[(service, operation)] += 1

    def by_bucket(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for (_, _, bucket), number in self.buckets.items():
            out[bucket] += number
        return dict(sorted(out.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": {f"{service}:{operation}": n for (service, operation), n in sorted(self.calls.items())},
            "by_quota_bucket": self.by_bucket(),
            "failures": {f"{service}:{operation}": n for (service, operation), n in sorted(self.failures.items())},
            "total": sum(self.calls.values()),
        }


class RateLimiter:
    """A token bucket per account, region and quota bucket, so many threads stay under AWS's throttling rates.

    ``clock`` and ``sleep`` are injected for tests."""

    def __init__(self, rates: dict[str, float] | None = None, *, default: float = DEFAULT_RATE,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.rates = dict(DEFAULT_RATES if rates is None else rates)
        self.default = default
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._next: dict[tuple[str, str, str], float] = {}

    def wait(self, scope: Scope, service: str, operation: str) -> None:
        bucket = quota_bucket(service, operation)
        rate = self.rates.get(bucket, self.rates.get(service, self.default))
        if rate <= 0:
            return
        key = (scope.account, scope.region, bucket)
        with self._lock:
            now = self._clock()
            start = max(now, self._next.get(key, now))
            self._next[key] = start + 1.0 / rate
        if start > now:
            self._sleep(start - now)


class _Down:
    def __init__(self) -> None:
        self.failures: dict[str, str] = {}  # "service:Operation" -> why it could not connect
        self.services: set[str] = set()
        self.calls = 0

    @property
    def first(self) -> str:
        """One failure, the same whatever order the threads failed in."""
        api = min(self.failures)
        return f"{api}: {self.failures[api]}"


class Reachability:
    """Endpoints that could not be connected to, per account and region, shared by every task of a scan.

    Once a connection to an endpoint fails (after botocore's retries), the later calls to it fail at once instead
    of each waiting out its own timeouts and retries, and they all become one gap: a dead region costs one
    connection failure per endpoint, not one per call, and reads as one blind spot. A region no call reached at
    all is one gap; otherwise each dead endpoint is one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down: dict[tuple[str, str, str], _Down] = {}
        self._reached: set[tuple[str, str]] = set()

    def is_down(self, scope: Scope, host: str) -> bool:
        with self._lock:
            return (scope.account, scope.region, host) in self._down

    def failed(self, scope: Scope, host: str, service: str, operation: str, detail: str | None) -> None:
        """A call could not connect (``detail``: why), or was not made because an earlier one could not (None)."""
        with self._lock:
            down = self._down.setdefault((scope.account, scope.region, host), _Down())
            if detail is not None:
                down.failures.setdefault(f"{service}:{operation}", detail)
            down.services.add(service)
            down.calls += 1

    def reached(self, scope: Scope) -> None:
        with self._lock:
            self._reached.add((scope.account, scope.region))

    def gaps(self) -> list[CoverageGap]:
        with self._lock:
            by_region: dict[tuple[str, str], list[_Down]] = {}
            for (account, region, _), down in sorted(self._down.items()):
                by_region.setdefault((account, region), []).append(down)
            reached = set(self._reached)
        gaps = []
        for (account, region), downs in by_region.items():
            where = Location(region=region)
            if (account, region) not in reached:
                services = sorted(set().union(*(down.services for down in downs)))
                calls = sum(down.calls for down in downs)
                gaps.append(CoverageGap("unreachable", (
                    f"account {account}, region {region}: unreachable, nothing read ({downs[0].first}); "
                    f"{calls} call(s) to {', '.join(services)} failed or were not made")[:400], where))
                continue
            gaps.extend(CoverageGap("unreachable", (
                f"account {account}, region {region}, {down.first}; {down.calls} call(s) to "
                f"{', '.join(sorted(down.services))} failed or were not made")[:400], where) for down in downs)
        return gaps


@dataclass
class ApiSettings:
    max_attempts: int = 8  # retries after the first attempt (botocore's adaptive mode backs off and slows down)
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    # Every (service, operation) called, in order, when set: the read-only proof of the tests.
    request_log: list[tuple[str, str]] | None = None


class Api:
    def __init__(self, scope: Scope, stats: CallStats | None = None, limiter: RateLimiter | None = None,
                 settings: ApiSettings | None = None, reachability: Reachability | None = None) -> None:
        self.scope = scope
        self.stats = stats if stats is not None else CallStats()
        self.limiter = limiter if limiter is not None else RateLimiter()
        self.settings = settings if settings is not None else ApiSettings()
        # Without one (a lone Api), a connection failure is a gap of its own, like any failed call.
        self.reachability = reachability
        # (kind, service, operation) -> [first detail, calls]: a call refused for every function is one gap.
        self._gaps: dict[tuple[str, str, str], list[Any]] = {}
        self._clients: dict[str, Any] = {}
        self._failed: set[str] = set()
        self._lock = threading.RLock()  # _client records a gap while holding it

    # ------------------------------------------------------------ calls
    def call(self, service: str, operation: str, *, absent: tuple[str, ...] = (),
             **params: Any) -> dict[str, Any] | None:
        """The response of one read; {} when the error code is one of ``absent``; None after a failure (a gap)."""
        from botocore import xform_name

        _refuse_writes(service, operation)
        client = self._client(service)
        if client is None or self._endpoint_down(client, service, operation):
            return None
        method = getattr(client, xform_name(operation))
        try:
            response: dict[str, Any] = self._send(service, operation, lambda: method(**params))
        except Exception as exc:  # noqa: BLE001  # every failure becomes a gap, whatever botocore raised
            return self._failure(service, operation, exc, absent, client)
        self._reached(service)
        response.pop("ResponseMetadata", None)
        return response

    def pages(self, service: str, operation: str, key: str, *, absent: tuple[str, ...] = (),
              **params: Any) -> list[Any] | None:
        """Every item of ``key`` over all pages; None when a page failed (a gap): never a partial list."""
        from botocore import xform_name

        _refuse_writes(service, operation)
        client = self._client(service)
        if client is None or self._endpoint_down(client, service, operation):
            return None
        name = xform_name(operation)
        items: list[Any] = []
        try:
            if client.can_paginate(name):
                for page in self._paged(service, operation, client.get_paginator(name).paginate(**params)):
                    items.extend(page.get(key, []))
            else:
                items.extend(self._send(service, operation, lambda: getattr(client, name)(**params)).get(key, []))
        except Exception as exc:  # noqa: BLE001
            failed = self._failure(service, operation, exc, absent, client)
            return [] if failed == {} else None
        self._reached(service)
        return items

    def incomplete(self, service: str, operation: str, detail: str, kind: str = "truncated") -> None:
        """What was read of ``service`` is incomplete for a reason other than a failed call (e.g. a bound)."""
        self._record(service, operation, kind, detail)

    def services_called(self) -> list[str]:
        """The AWS services this Api made a client for (every service a collector called)."""
        with self._lock:
            return list(self._clients)

    @property
    def gaps(self) -> list[CoverageGap]:
        """One gap per kind of failure of each API in this scope, however many calls it cost."""
        scope = self.scope
        with self._lock:
            return [CoverageGap(kind, (
                f"account {scope.account}, region {scope.region}, {service}:{operation}: {detail}"
                + (f" ({calls} calls)" if calls > 1 else ""))[:400],
                Location(arn=f"arn:aws:{service}:{scope.region}:{scope.account}", region=scope.region))
                for (kind, service, operation), (detail, calls) in self._gaps.items()]

    def ok(self, service: str) -> bool:
        """False once a call of the service failed in this scope (what was read of it is incomplete)."""
        return service not in self._failed

    # ------------------------------------------------------------ internals
    def _paged(self, service: str, operation: str, pages: Any) -> Iterator[dict[str, Any]]:
        iterator = iter(pages)
        while True:
            self.limiter.wait(self.scope, service, operation)
            try:
                page: dict[str, Any] = next(iterator)  # a request only while there is a next page
            except StopIteration:
                return
            except Exception:
                self._sent(service, operation)
                raise
            self._sent(service, operation)
            yield page

    def _send(self, service: str, operation: str, send: Callable[[], Any]) -> Any:
        self.limiter.wait(self.scope, service, operation)
        self._sent(service, operation)
        return send()

    def _sent(self, service: str, operation: str) -> None:
        self.stats.count(self.scope, service, operation)
        if self.settings.request_log is not None:
            self.settings.request_log.append((service, operation))

    def _client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                from botocore.config import Config

                config = Config(retries={"mode": "adaptive", "max_attempts": self.settings.max_attempts},
                                connect_timeout=self.settings.connect_timeout,
                                read_timeout=self.settings.read_timeout, user_agent_extra="lambdasec")
                try:
                    self._clients[service] = self.scope.session.client(
                        service, region_name=self.scope.region, endpoint_url=self.scope.endpoint_url, config=config)
                except Exception as exc:  # noqa: BLE001  # e.g. a service unknown to this botocore
                    self._clients[service] = None
                    self._record(service, "client", "aws-error", f"cannot create a {service} client: {exc}")
            client: Any = self._clients[service]
            return client

    def _failure(self, service: str, operation: str, exc: Exception, absent: tuple[str, ...],
                 client: Any = None) -> dict[str, Any] | None:
        code, message = _error_code(exc)
        if code in absent:
            self._reached(service)  # an answer, although an error
            return {}
        self.stats.failed(service, operation)
        detail = f"{code}: {message}" if code else message
        if self.reachability is not None and _cannot_connect(exc):
            with self._lock:
                self._failed.add(service)
            self.reachability.failed(self.scope, _host(client, exc), service, operation, detail)
            return None
        if code:
            self._reached(service)
        self._record(service, operation, _gap_kind(code, exc), detail)
        return None

    def _endpoint_down(self, client: Any, service: str, operation: str) -> bool:
        """Not called: an earlier call could not connect to this endpoint (counted in that endpoint's gap)."""
        if self.reachability is None or not self.reachability.is_down(self.scope, _host(client)):
            return False
        with self._lock:
            self._failed.add(service)
        self.reachability.failed(self.scope, _host(client), service, operation, None)
        return True

    def _reached(self, service: str) -> None:
        # A global service (IAM, STS) answering says nothing of the region's own endpoints.
        if self.reachability is not None and service not in _GLOBAL_SERVICES:
            self.reachability.reached(self.scope)

    def _record(self, service: str, operation: str, kind: str, detail: str) -> None:
        with self._lock:
            self._failed.add(service)
            recorded = self._gaps.setdefault((kind, service, operation), [detail, 0])
            recorded[1] += 1


def _refuse_writes(service: str, operation: str) -> None:
    if not is_read_operation(service, operation):
        raise PermissionError(f"lambdasec never calls {service}:{operation} (not a read operation)")


def _cannot_connect(exc: Exception) -> bool:
    """No connection to the endpoint at all (refused, DNS, connect timeout, proxy): not a slow or failed answer."""
    from botocore.exceptions import ConnectionError as BotoConnectionError

    return isinstance(exc, BotoConnectionError)


def _host(client: Any, exc: Exception | None = None) -> str:
    """The endpoint a client calls, or the one a connection failure names (where it really tried to connect)."""
    from urllib.parse import urlsplit

    tried = getattr(exc, "kwargs", {}).get("endpoint_url") if exc is not None else None
    url = tried or getattr(getattr(client, "meta", None), "endpoint_url", "")
    return urlsplit(str(url or "")).netloc


def _error_code(exc: Exception) -> tuple[str, str]:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        # One line of text, even from an HTML error page (a proxy, an emulator lacking the API).
        message = " ".join(_TAGS.sub(" ", str(error.get("Message", ""))).split())[:200]
        return str(error.get("Code", "")), message or type(exc).__name__
    return "", " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


def _gap_kind(code: str, exc: Exception) -> str:
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import NoCredentialsError, ReadTimeoutError

    if code in _DENIED or isinstance(exc, NoCredentialsError):
        return "access-denied"
    if code in _THROTTLED:
        return "throttled"
    if isinstance(exc, (BotoConnectionError, ReadTimeoutError, TimeoutError, OSError)):
        return "unreachable"
    return "aws-error"
