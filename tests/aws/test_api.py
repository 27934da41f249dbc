"""Api: every call read-only, counted, and a failure is a coverage gap, never an empty answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lambdasec.collectors.aws.api import Api, RateLimiter, Scope, is_read_operation, quota_bucket

from .conftest import Emulator

# Api reads any service: the first test lists SQS queues (conftest's read-only guard allows it here).
TEST_ONLY_READS = frozenset({("sqs", "ListQueues")})


def test_reads_pages_and_counts_calls(aws: Emulator) -> None:
    sqs = aws.client("sqs")
    for i in range(3):
        sqs.create_queue(QueueName=f"q{i}")
    log: list[tuple[str, str]] = []
    api = aws.api(request_log=log)
    urls = api.pages("sqs", "ListQueues", "QueueUrls")
    assert sorted(url.rsplit("/", 1)[1] for url in urls or []) == ["q0", "q1", "q2"]
    assert api.call("lambda", "GetPolicy", absent=("ResourceNotFoundException",), FunctionName="nope") == {}
    assert log == [("sqs", "ListQueues"), ("lambda", "GetPolicy")]
    assert api.stats.to_dict()["by_quota_bucket"] == {"lambda:GetPolicy": 1, "sqs": 1}
    assert api.gaps == [] and api.ok("lambda")


def test_a_failed_call_is_a_gap_naming_account_region_and_api(aws: Emulator) -> None:
    api = aws.api(region="eu-west-1")
    assert api.call("lambda", "GetFunction", FunctionName="missing") is None
    assert not api.ok("lambda") and api.ok("sqs")
    [gap] = api.gaps
    assert gap.kind == "aws-error"
    assert gap.message.startswith("account 123456789012, region eu-west-1, lambda:GetFunction: "
                                  "ResourceNotFoundException: ")
    assert (gap.location.arn, gap.location.region) == ("arn:aws:lambda:eu-west-1:123456789012", "eu-west-1")


def test_an_unreachable_endpoint_is_a_gap(aws: Emulator) -> None:
    scope = Scope("123456789012", "us-east-1", aws.session(), "http://127.0.0.1:9")  # nothing listens there
    api = Api(scope, limiter=RateLimiter(default=0, rates={}))
    api.settings.max_attempts = 1
    api.settings.connect_timeout = 1
    assert api.pages("lambda", "ListFunctions", "Functions") is None
    assert [g.kind for g in api.gaps] == ["unreachable"]


def test_after_a_connection_failure_the_endpoint_is_not_called_again(aws: Emulator) -> None:
    from lambdasec.collectors.aws.api import ApiSettings, Reachability

    reachability = Reachability()
    log: list[tuple[str, str]] = []
    settings = ApiSettings(max_attempts=1, connect_timeout=1, request_log=log)
    down = Scope("123456789012", "eu-west-1", aws.session(), "http://127.0.0.1:9")  # nothing listens there
    first, second = (Api(down, limiter=RateLimiter(default=0, rates={}), settings=settings,
                         reachability=reachability) for _ in range(2))  # two tasks of the same region
    assert first.pages("lambda", "ListFunctions", "Functions") is None
    assert second.call("kms", "ListKeys") is None and second.pages("lambda", "ListLayers", "Layers") is None
    assert log == [("lambda", "ListFunctions")]  # the later calls were not sent
    assert (first.gaps, second.gaps) == ([], [])  # the region's one gap says it all
    assert not first.ok("lambda") and not second.ok("kms") and not second.ok("lambda")
    [gap] = reachability.gaps()
    assert (gap.kind, gap.location.region) == ("unreachable", "eu-west-1")
    assert gap.message.startswith("account 123456789012, region eu-west-1: unreachable, nothing read "
                                  "(lambda:ListFunctions: EndpointConnectionError: ")
    assert gap.message.endswith("3 call(s) to kms, lambda failed or were not made")


def test_a_dead_endpoint_in_a_reachable_region_is_one_gap_for_that_endpoint(aws: Emulator) -> None:
    from lambdasec.collectors.aws.api import ApiSettings, Reachability

    reachability = Reachability()
    settings = ApiSettings(max_attempts=1, connect_timeout=1)
    working = Api(Scope("123456789012", "us-east-1", aws.session(), aws.endpoint), settings=settings,
                  limiter=RateLimiter(default=0, rates={}), reachability=reachability)
    blocked = Api(Scope("123456789012", "us-east-1", aws.session(), "http://127.0.0.1:9"), settings=settings,
                  limiter=RateLimiter(default=0, rates={}), reachability=reachability)
    assert working.pages("lambda", "ListFunctions", "Functions") == []
    assert blocked.call("kms", "ListKeys") is None and blocked.call("kms", "ListAliases") is None
    [gap] = reachability.gaps()
    assert gap.message.startswith("account 123456789012, region us-east-1, kms:ListKeys: EndpointConnectionError")
    assert gap.message.endswith("2 call(s) to kms failed or were not made")
    assert working.ok("lambda") and not blocked.ok("kms")


def test_one_gap_per_refused_api_however_many_calls(aws: Emulator) -> None:
    api = aws.api()
    for name in ("one", "two", "three"):
        assert api.call("lambda", "GetFunction", FunctionName=name) is None
    [gap] = api.gaps
    assert gap.message.startswith("account 123456789012, region us-east-1, lambda:GetFunction: "
                                  "ResourceNotFoundException: ")
    assert gap.message.endswith(" (3 calls)")


def test_writes_are_refused_before_anything_is_sent(aws: Emulator) -> None:
    log: list[tuple[str, str]] = []
    api = aws.api(request_log=log)
    with pytest.raises(PermissionError, match="lambdasec never calls lambda:DeleteFunction"):
        api.call("lambda", "DeleteFunction", FunctionName="f")
    assert log == []
    assert [is_read_operation("sts", op) for op in ("AssumeRole", "GetCallerIdentity", "GetFederationToken")] == [
        True, True, True]
    assert not is_read_operation("iam", "CreateUser") and not is_read_operation("s3", "PutObject")


def test_lambda_quota_buckets() -> None:
    assert [quota_bucket("lambda", op) for op in ("GetFunction", "GetPolicy", "ListFunctions", "GetAlias")] == [
        "lambda:GetFunction", "lambda:GetPolicy", "lambda", "lambda"]
    assert quota_bucket("iam", "GetRole") == "iam"


def test_the_rate_limiter_spaces_calls_of_one_bucket() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter({"lambda": 10.0}, clock=lambda: now[0], sleep=sleep)
    scope = Scope("123456789012", "us-east-1", None)
    for _ in range(3):
        limiter.wait(scope, "lambda", "ListFunctions")
    limiter.wait(scope, "lambda", "GetFunction")  # another bucket: the default rate, no wait yet
    assert slept == [pytest.approx(0.1), pytest.approx(0.1)]


def test_a_client_that_cannot_be_created_is_a_gap_not_a_hang(aws: Emulator) -> None:
    class Broken:
        def client(self, *args: object, **kwargs: object) -> object:
            raise ValueError("no such service")

    api = Api(Scope("123456789012", "us-east-1", Broken(), aws.endpoint), limiter=RateLimiter(default=0, rates={}))
    assert api.call("lambda", "ListFunctions") is None
    assert [g.kind for g in api.gaps] == ["aws-error"] and not api.ok("lambda")
    api.incomplete("kms", "ListKeys", "more than 1000 keys: the first 1000 read")
    assert not api.ok("kms") and api.gaps[-1].kind == "truncated"


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: object) -> Iterator[bytes]:
        yield self.data


def _fail_first(api: Api, operation: str, failures: int, status: int, code: str) -> list[int]:
    """Answer the first ``failures`` HTTP requests of a Lambda operation with an error, as AWS would (so botocore's
    retries see them), then let the emulator answer."""
    from botocore.awsrequest import AWSResponse

    answered: list[int] = []

    def handler(request: Any, **_: object) -> AWSResponse | None:
        if len(answered) >= failures:
            return None
        answered.append(status)
        return AWSResponse(request.url, status, {"x-amzn-ErrorType": code, "Content-Type": "application/json"},
                           _Body(b'{"message": "injected"}'))

    api.scope.session.events.register(f"before-send.lambda.{operation}", handler)
    return answered


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore waits up to seconds between retries: the retries are what these tests check, not the waits."""
    from botocore.retries import bucket, standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)
    monkeypatch.setattr(bucket.TokenBucket, "acquire", lambda self, amount=1, block=True: True)  # adaptive mode


@pytest.mark.usefixtures("no_backoff")
def test_throttling_and_server_errors_are_retried_then_answered(aws: Emulator) -> None:
    aws.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    api = aws.api()
    # Registered before the first call: a client copies its session's handlers when it is created.
    throttled = _fail_first(api, "ListFunctions", 3, 429, "TooManyRequestsException")
    failing = _fail_first(api, "ListLayers", 2, 503, "ServiceException")
    assert api.pages("lambda", "ListFunctions", "Functions") == []
    assert api.pages("lambda", "ListLayers", "Layers") == []
    assert (throttled, failing, api.gaps) == ([429, 429, 429], [503, 503], [])
    assert api.stats.calls[("lambda", "ListFunctions")] == 1  # retries are botocore's, inside one call


@pytest.mark.usefixtures("no_backoff")
def test_a_throttling_storm_that_outlasts_the_retries_is_a_throttled_gap(aws: Emulator) -> None:
    api = aws.api(max_attempts=3)
    storm = _fail_first(api, "ListFunctions", 100, 429, "TooManyRequestsException")
    assert api.pages("lambda", "ListFunctions", "Functions") is None
    assert len(storm) == 4  # the first attempt and botocore's 3 retries, then the gap
    [gap] = api.gaps
    assert gap.kind == "throttled" and "lambda:ListFunctions: TooManyRequestsException: injected" in gap.message
    assert not api.ok("lambda")
