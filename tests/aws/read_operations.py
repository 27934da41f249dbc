"""The read-only guarantee of the live tests: every request lambdasec's scanner sends is an allow-listed read.

:data:`READ_OPERATIONS` is written out by hand, on purpose: a service module that starts calling something new
fails the live tests until a person adds the operation here (and test_read_allow_list.py checks it is a read and
that `lambdasec permissions` grants it). :class:`LiveRequests` records, through a botocore handler on every client
lambdasec's :class:`~lambdasec.collectors.aws.api.Api` creates, what the scanner really sends: the tests' own
seeding clients are not recorded.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any, Final

import pytest

READ_OPERATIONS: Final = frozenset({
    # who the scanner is, and the accounts and regions it reads (--role-arn / --org hop with AssumeRole)
    ("sts", "GetCallerIdentity"),
    ("sts", "AssumeRole"),
    ("organizations", "ListAccounts"),
    ("ec2", "DescribeRegions"),
    # functions, their policies, URLs, triggers, code signing and layers
    ("lambda", "ListFunctions"),
    ("lambda", "GetFunction"),
    ("lambda", "GetPolicy"),
    ("lambda", "ListFunctionUrlConfigs"),
    ("lambda", "ListFunctionEventInvokeConfigs"),
    ("lambda", "ListEventSourceMappings"),
    ("lambda", "ListCodeSigningConfigs"),
    ("lambda", "ListFunctionsByCodeSigningConfig"),
    ("lambda", "ListLayers"),
    ("lambda", "ListLayerVersions"),
    ("lambda", "GetLayerVersion"),
    ("lambda", "GetLayerVersionPolicy"),
    ("lambda", "ListAliases"),
    # roles and their policies
    ("iam", "GetAccountAuthorizationDetails"),
    # networks of VPC functions
    ("ec2", "DescribeSubnets"),
    ("ec2", "DescribeRouteTables"),
    ("ec2", "DescribeSecurityGroups"),
    ("ec2", "DescribeVpcEndpoints"),
    # the account's posture: trails, GuardDuty, keys, log groups, signing profiles and the signing jobs of the
    # functions' code, image repositories
    ("cloudtrail", "DescribeTrails"),
    ("cloudtrail", "GetTrailStatus"),
    ("cloudtrail", "GetEventSelectors"),
    ("guardduty", "ListDetectors"),
    ("guardduty", "GetDetector"),
    ("kms", "ListKeys"),
    ("kms", "DescribeKey"),
    ("kms", "GetKeyRotationStatus"),
    ("kms", "GetKeyPolicy"),
    ("logs", "DescribeLogGroups"),
    ("signer", "ListSigningProfiles"),
    ("signer", "DescribeSigningJob"),
    ("ecr", "DescribeRepositories"),
    ("ecr", "GetRegistryScanningConfiguration"),
})

# The first word of a read (BatchGet reads several items at once); sts:AssumeRole is the one exception allowed
# (it mints the scanner's own credentials for another account and changes nothing in it).
READ_VERBS: Final = frozenset({"Get", "List", "Describe", "Lookup", "Search", "BatchGet"})
NOT_A_READ_VERB_BUT_ALLOWED: Final = frozenset({("sts", "AssumeRole")})


def read_by_name(service: str, operation: str) -> bool:
    """A read by its name: its verb, the first word, is a read verb (``ListFunctionEventInvokeConfigs`` reads
    configurations of invocation; ``InvokeFunction`` or ``TagResource`` do not start with a read verb)."""
    if (service, operation) in NOT_A_READ_VERB_BUT_ALLOWED:
        return True
    words = re.findall(r"[A-Z][a-z]*|[0-9]+", operation)
    verb = "".join(words[:2]) if words[:2] == ["Batch", "Get"] else (words[0] if words else "")
    return verb in READ_VERBS


class LiveRequests:
    """(service, Operation) of every request the scanner's clients send during one test, in order."""

    def __init__(self, allowed: Iterable[tuple[str, str]] = READ_OPERATIONS) -> None:
        self.allowed = frozenset(allowed)
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()  # the scanner sends from a thread pool

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Hook every client lambdasec's Api creates (for the test: monkeypatch undoes it)."""
        from lambdasec.collectors.aws.api import Api

        create = Api._client
        recorder = self

        def recorded_client(api: Api, service: str) -> Any:
            client = create(api, service)
            events = getattr(getattr(client, "meta", None), "events", None)
            if events is not None:  # a botocore client (the tests' broken sessions give none)
                events.register("before-parameter-build", recorder.handler(service),
                                unique_id=f"lambdasec-live-requests-{id(recorder)}")
            return client

        monkeypatch.setattr(Api, "_client", recorded_client)

    def handler(self, service: str) -> Any:
        def record(model: Any, **_: Any) -> None:
            with self._lock:
                self.calls.append((service, model.name))

        return record

    def unlisted(self) -> list[tuple[str, str]]:
        """The operations sent that are not allow-listed, each once, in the order first sent."""
        return list(dict.fromkeys(call for call in self.calls if call not in self.allowed))

    def check(self) -> None:
        unlisted = self.unlisted()
        if unlisted:
            pytest.fail(f"the live scanner sent operations outside READ_OPERATIONS: {unlisted}", pytrace=False)
