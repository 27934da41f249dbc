"""The allow-list behind the live tests' read-only guard (conftest.py ``live_requests``) is right, and the guard bites.

READ_OPERATIONS holds only reads, judged twice: by name (a read verb, no write verb) and by botocore's service
model (the operation exists; REST APIs read with GET). It is exactly what the service modules declare and what
`lambdasec permissions` grants (plus sts:GetCallerIdentity, which needs no permission). A write sent through a
recorded Api makes the check fail; the tests' own seeding clients are never recorded.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from lambdasec.collectors.aws import api as api_module
from lambdasec.collectors.aws.collector import CORE_OPERATIONS, service_operations
from lambdasec.commands.live import NO_PERMISSION, iam_action, permissions_policy, read_actions

from .conftest import Emulator
from .read_operations import READ_OPERATIONS, LiveRequests, read_by_name

# The modules of tests/aws whose stand-in collectors read operations of their own (TEST_ONLY_READS).
MODULES_WITH_TEST_ONLY_READS = ("test_api", "test_collector", "test_live_cli")


def _test_only_reads() -> list[tuple[str, str]]:
    reads: set[tuple[str, str]] = set()
    for name in MODULES_WITH_TEST_ONLY_READS:
        reads |= set(importlib.import_module(f"tests.aws.{name}").TEST_ONLY_READS)
    return sorted(reads)


def _botocore_model(service: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


def _read_in_botocore(service: str, operation: str) -> bool:
    """The operation exists in botocore's model of the service and, for REST protocols, is sent as GET/HEAD
    (query and JSON protocols POST every call: the name decides)."""
    model = _botocore_model(service)
    if operation not in model.operation_names:
        return False
    if model.protocol in ("rest-json", "rest-xml"):
        return model.operation_model(operation).http["method"] in ("GET", "HEAD")
    return True


@pytest.mark.parametrize(("service", "operation"), sorted(READ_OPERATIONS) + _test_only_reads(),
                         ids=[f"{s}:{o}" for s, o in sorted(READ_OPERATIONS) + _test_only_reads()])
def test_every_allowed_operation_is_a_read(service: str, operation: str) -> None:
    assert read_by_name(service, operation)
    assert _read_in_botocore(service, operation)


@pytest.mark.parametrize(("service", "operation"), [
    ("lambda", "InvokeFunction"), ("lambda", "UpdateFunctionConfiguration"), ("lambda", "DeleteFunction"),
    ("lambda", "PutFunctionConcurrency"), ("lambda", "TagResource"), ("iam", "CreateAccessKey"),
    ("iam", "AttachRolePolicy"), ("dynamodb", "BatchWriteItem"), ("lambda", "PublishLayerVersion"), ("kms", "Decrypt"),
    ("s3", "PutObject"), ("ec2", "RunInstances"), ("logs", "PutRetentionPolicy"),
])
def test_the_read_judgement_refuses_writes(service: str, operation: str) -> None:
    assert not read_by_name(service, operation)


def test_the_allow_list_is_what_the_modules_declare_and_permissions_grants() -> None:
    declared = {op for ops in service_operations().values() for op in ops} | set(CORE_OPERATIONS)
    assert set(READ_OPERATIONS) == declared
    granted = {action for statement in permissions_policy(org=True, role_name="Audit")["Statement"]
               for action in statement["Action"]}
    assert {iam_action(*op) for op in READ_OPERATIONS} == granted | {iam_action(*op) for op in NO_PERMISSION}
    assert set(read_actions()) <= {iam_action(*op) for op in READ_OPERATIONS}
    assert len(READ_OPERATIONS) == 36


def test_a_read_only_scan_is_recorded_and_passes(aws: Emulator, live_requests: LiveRequests) -> None:
    aws.client("lambda").list_functions()  # the test's own client: not recorded
    assert live_requests.calls == []
    api = aws.api()
    assert api.pages("lambda", "ListFunctions", "Functions") == []
    assert api.call("lambda", "GetPolicy", absent=("ResourceNotFoundException",), FunctionName="none") == {}
    assert live_requests.calls == [("lambda", "ListFunctions"), ("lambda", "GetPolicy")]
    assert live_requests.unlisted() == []
    live_requests.check()


def test_a_write_sent_by_the_scanner_fails_the_check(aws: Emulator, live_requests: LiveRequests,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    aws.client("sqs").create_queue(QueueName="seeded")  # seeding writes are the test's, never recorded
    # the scanner's own refusal removed, as a regression would: the recorder is the second line
    monkeypatch.setattr(api_module, "_refuse_writes", lambda service, operation: None)
    api = aws.api()
    api.call("lambda", "ListFunctions")
    api.call("lambda", "DeleteFunction", FunctionName="absent")  # sent: moto answers ResourceNotFound
    api.call("lambda", "TagResource", Resource="arn:aws:lambda:us-east-1:123456789012:function:absent",
             Tags={"k": "v"})
    assert live_requests.calls == [("lambda", "ListFunctions"), ("lambda", "DeleteFunction"),
                                   ("lambda", "TagResource")]
    assert live_requests.unlisted() == [("lambda", "DeleteFunction"), ("lambda", "TagResource")]
    with pytest.raises(pytest.fail.Exception, match=r"\('lambda', 'DeleteFunction'\), \('lambda', 'TagResource'\)"):
        live_requests.check()
    live_requests.calls.clear()  # seen failing: this test's own teardown check must pass


def test_a_client_call_that_bypasses_api_call_is_recorded_too(aws: Emulator, live_requests: LiveRequests) -> None:
    """Whatever path reaches one of Api's clients is recorded, not only Api.call and Api.pages."""
    client = aws.api()._client("lambda")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.delete_function(FunctionName="absent")
    assert live_requests.unlisted() == [("lambda", "DeleteFunction")]
    with pytest.raises(pytest.fail.Exception):
        live_requests.check()
    live_requests.calls.clear()  # seen failing: this test's own teardown check must pass
