"""moto's standalone server on 127.0.0.1, reached through real boto3 clients (never mocks of our own).

The server starts once per test session; each test gets a fresh emulator state, credentials that only the
emulator accepts, and ``AWS_ENDPOINT_URL`` pointing at it (the same variable a user sets for LocalStack).
Tests seed the emulator with raw boto3 calls; lambdasec itself only reads.
"""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from .read_operations import READ_OPERATIONS, LiveRequests

moto_server_module = pytest.importorskip("moto.server", reason="the live tests need moto[server] (test extra)")

ACCOUNT = "123456789012"  # moto's default account


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    server = moto_server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


class Answer:
    """The HTTP response a botocore ``before-call`` handler hands back instead of sending the request (botocore
    reads only its status): how the tests answer the APIs moto 5.2.1 lacks."""

    def __init__(self, status: int = 200) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}


class Emulator:
    """The emulator as a test sees it: raw boto3 clients to seed it, and lambdasec's Api to read it."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.account = ACCOUNT
        self.keys = ("testing", "testing")  # an IAM user's once a test has the emulator enforce IAM

    def session(self) -> Any:
        import boto3

        return boto3.session.Session(aws_access_key_id=self.keys[0], aws_secret_access_key=self.keys[1],
                                     region_name="us-east-1")

    def client(self, service: str, region: str = "us-east-1") -> Any:
        return self.session().client(service, region_name=region, endpoint_url=self.endpoint)

    def function_url_configs(self, params: dict[str, Any], **_: Any) -> tuple[Answer, dict[str, Any]]:
        """A ``before-call.lambda.ListFunctionUrlConfigs`` handler (moto 5.2.1 lacks the API): the answer built from
        moto's own ``GetFunctionUrlConfig`` in the calling client's region."""
        from urllib.parse import unquote

        function = unquote(params["url_path"].split("/")[3])
        seeding = self.client("lambda", params["context"]["client_region"])
        try:
            config = seeding.get_function_url_config(FunctionName=function)
        except seeding.exceptions.ResourceNotFoundException:
            return Answer(), {"FunctionUrlConfigs": []}
        config.pop("ResponseMetadata", None)
        return Answer(), {"FunctionUrlConfigs": [config]}

    def api(self, region: str = "us-east-1", account: str = ACCOUNT, **settings: Any) -> Any:
        from lambdasec.collectors.aws.api import Api, ApiSettings, RateLimiter, Scope

        scope = Scope(account, region, self.session(), self.endpoint)
        return Api(scope, limiter=RateLimiter(default=0, rates={}), settings=ApiSettings(**settings))


@pytest.fixture(autouse=True)
def live_requests(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveRequests]:
    """Every (service, Operation) lambdasec's scanner sends in the test; the test fails at teardown when one is not
    in READ_OPERATIONS (tests/aws/read_operations.py). A module whose own stand-in collectors read more declares
    those reads in ``TEST_ONLY_READS`` (test_read_allow_list.py checks that each is a read)."""
    recorder = LiveRequests(READ_OPERATIONS | set(getattr(request.module, "TEST_ONLY_READS", ())))
    recorder.install(monkeypatch)
    yield recorder
    request.node.user_properties.append(("live_requests", len(recorder.calls)))
    recorder.check()


@pytest.fixture
def aws(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  # loopback only
        assert response.status == 200
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN",
                 "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    yield Emulator(moto_server)
