"""Orchestration of a live scan: accounts x regions x services in a thread pool, merged, linked and sorted.

The service collectors here are small functions of the test that read moto through the Api they are given
(the real service modules have their own tests); faults are injected with a boto3 session factory: a
``before-call`` handler answering one service's calls with AccessDenied, or clients of one region pointed at a
port where nothing listens.
"""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from lambdasec.collectors.aws.api import Api, ApiSettings, CallStats, RateLimiter
from lambdasec.collectors.aws.collector import collect_live, link_pass, sort_buckets
from lambdasec.collectors.aws.session import LiveOptions
from lambdasec.iam.principals import deployment_unit
from lambdasec.model.inventory import (
    Function,
    Inventory,
    LayerVersion,
    Permission,
    Policy,
    PolicyDocument,
    PolicyStatement,
    Role,
    ScannedScope,
    VpcConfig,
)
from lambdasec.model.location import Location
from lambdasec.model.values import ResourceRef, Unresolved

from .conftest import ACCOUNT, Emulator
from .test_session import deny

ROLE = f"arn:aws:iam::{ACCOUNT}:role/exec"
FAST = {"limiter": RateLimiter(default=0, rates={})}


def _function_arn(region: str, name: str) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"


def fake_lambda(api: Api, inventory: Inventory, options: LiveOptions) -> None:
    """Functions from ListFunctions, linked to their role, a layer and a subnet (as the real module links)."""
    listed = api.pages("lambda", "ListFunctions", "Functions")
    for item in listed or []:
        arn, region = item["FunctionArn"], api.scope.region
        inventory.add(inventory.functions, Function(
            arn, arn, "AWS::Lambda::Function", Location(arn=arn, region=region), name=item["FunctionName"],
            role=ResourceRef(item["Role"], "Arn"),
            layers=[ResourceRef(f"arn:aws:lambda:{region}:999999999999:layer:shared:3")],
            vpc=VpcConfig([ResourceRef(f"arn:aws:ec2:{region}:{ACCOUNT}:subnet/subnet-1")], []),
        ))


def fake_iam(api: Api, inventory: Inventory, options: LiveOptions) -> None:
    roles = api.pages("iam", "ListRoles", "Roles")
    for item in roles or []:
        inventory.add(inventory.roles, Role(item["Arn"], item["Arn"], "AWS::IAM::Role", Location(arn=item["Arn"]),
                                            name=item["RoleName"]))


fake_lambda.OPERATIONS = (("lambda", "ListFunctions"),)  # type: ignore[attr-defined]
fake_iam.OPERATIONS = (("iam", "ListRoles"),)  # type: ignore[attr-defined]
SERVICES = {"lambda": fake_lambda, "iam": fake_iam}
# The stand-ins' reads: conftest's read-only guard allows them beside READ_OPERATIONS.
TEST_ONLY_READS = frozenset(op for fake in SERVICES.values() for op in fake.OPERATIONS)  # type: ignore[attr-defined]


def _zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return 1\n")
    return buffer.getvalue()


def seed(aws: Emulator, functions: dict[str, list[str]]) -> None:
    aws.client("iam").create_role(RoleName="exec", AssumeRolePolicyDocument="{}")
    for region, names in functions.items():
        client = aws.client("lambda", region)
        for name in names:
            client.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                                   Code={"ZipFile": _zip()})


def test_accounts_regions_and_services_are_merged_linked_and_sorted(aws: Emulator) -> None:
    seed(aws, {"us-east-1": ["b", "a"], "eu-west-1": ["c"]})
    stats, log = CallStats(), []
    inventory = collect_live(LiveOptions(regions=("us-east-1", "eu-west-1")), services=SERVICES, stats=stats,
                             request_log=log, **FAST)
    assert [fn.key for fn in inventory.functions] == [
        _function_arn("eu-west-1", "c"), _function_arn("us-east-1", "a"), _function_arn("us-east-1", "b")]
    assert [role.key for role in inventory.roles] == [ROLE]
    assert inventory.scopes == [ScannedScope(ACCOUNT, "eu-west-1", ["iam", "lambda"]),
                                ScannedScope(ACCOUNT, "us-east-1", ["iam", "lambda"])]
    assert inventory.own_accounts == {ACCOUNT} and inventory.coverage_gaps == []
    # IAM once per account (with its first region), Lambda in each region
    assert sorted(log) == [("iam", "ListRoles"), ("lambda", "ListFunctions"), ("lambda", "ListFunctions"),
                           ("sts", "GetCallerIdentity")]
    assert stats.to_dict()["calls"] == {"iam:ListRoles": 1, "lambda:ListFunctions": 2, "sts:GetCallerIdentity": 1}
    # link pass: the role is in the inventory and stays a link; the other account's layer and the subnet that no
    # module collected become plain ARNs
    fn = inventory.functions[0]
    assert fn.role == ResourceRef(ROLE, "Arn") and inventory.role_of(fn) is inventory.roles[0]
    assert fn.layers == ["arn:aws:lambda:eu-west-1:999999999999:layer:shared:3"]
    assert fn.vpc is not None and fn.vpc.subnet_ids == [f"arn:aws:ec2:eu-west-1:{ACCOUNT}:subnet/subnet-1"]
    assert inventory.functions_using_role(inventory.roles[0]) == inventory.functions


def test_results_do_not_depend_on_thread_timing(aws: Emulator) -> None:
    seed(aws, {region: [f"fn{i}" for i in range(3)] for region in ("us-east-1", "eu-west-1", "ap-south-1")})
    shuffle = random.Random(7)

    def slow_lambda(api: Api, inventory: Inventory, options: LiveOptions) -> None:
        time.sleep(shuffle.random() / 20)
        fake_lambda(api, inventory, options)
        inventory.functions.reverse()  # a module's own order must not matter either

    def run(workers: int) -> Inventory:
        options = LiveOptions(regions=("us-east-1", "eu-west-1", "ap-south-1"), max_workers=workers)
        return collect_live(options, services={"lambda": slow_lambda, "iam": fake_iam}, **FAST)

    once, parallel, again = run(1), run(8), run(8)
    for other in (parallel, again):
        assert other.functions == once.functions and other.roles == once.roles
        assert other.scopes == once.scopes and other.coverage_gaps == once.coverage_gaps
    assert len(once.functions) == 9


def test_access_denied_for_one_service_is_a_gap_and_the_scope_lacks_that_service(aws: Emulator) -> None:
    seed(aws, {"us-east-1": ["a"]})
    inventory = collect_live(LiveOptions(regions=("us-east-1",)), session_factory=deny(
        "before-call.lambda.ListFunctions"), services=SERVICES, **FAST)
    assert inventory.functions == [] and [role.key for role in inventory.roles] == [ROLE]
    assert [(g.kind, g.message) for g in inventory.coverage_gaps] == [
        ("access-denied", f"account {ACCOUNT}, region us-east-1, lambda:ListFunctions: AccessDenied: injected by "
                          "the test")]
    assert inventory.scopes == [ScannedScope(ACCOUNT, "us-east-1", ["iam"])]


def test_an_unreachable_region_leaves_gaps_for_that_region_only(aws: Emulator) -> None:
    import boto3

    seed(aws, {"us-east-1": ["a"], "eu-west-1": ["b"]})

    class OneRegionDown(boto3.session.Session):  # type: ignore[misc]
        def client(self, service: str, region_name: str | None = None, **kwargs: Any) -> Any:
            if region_name == "eu-west-1":
                kwargs["endpoint_url"] = "http://127.0.0.1:9"  # nothing listens there
            return super().client(service, region_name=region_name, **kwargs)

    settings = ApiSettings(max_attempts=1, connect_timeout=1, read_timeout=2)
    inventory = collect_live(LiveOptions(regions=("us-east-1", "eu-west-1")), session_factory=OneRegionDown,
                             services=SERVICES, settings=settings, **FAST)
    assert [fn.key for fn in inventory.functions] == [_function_arn("us-east-1", "a")]
    # One gap for the region (IAM, read with the first region, failed there too), not one per call
    [gap] = inventory.coverage_gaps
    assert (gap.kind, gap.location.region) == ("unreachable", "eu-west-1")
    assert gap.message.startswith(f"account {ACCOUNT}, region eu-west-1: unreachable, nothing read "
                                  "(iam:ListRoles: EndpointConnectionError: Could not connect")
    assert gap.message.endswith("2 call(s) to iam, lambda failed or were not made")
    assert inventory.scopes == [ScannedScope(ACCOUNT, "eu-west-1", []),
                                ScannedScope(ACCOUNT, "us-east-1", ["lambda"])]


def test_a_crashing_module_is_an_internal_error_gap_not_a_crash(aws: Emulator) -> None:
    def broken(api: Api, inventory: Inventory, options: LiveOptions) -> None:
        api.pages("lambda", "ListFunctions", "Functions")
        raise KeyError("FunctionArn")

    inventory = collect_live(LiveOptions(regions=("us-east-1",)), services={"lambda": broken, "iam": fake_iam},
                             **FAST)
    assert [(g.kind, g.message) for g in inventory.coverage_gaps] == [
        ("internal-error", f"account {ACCOUNT}, region us-east-1, lambda: KeyError: 'FunctionArn'")]
    assert inventory.scopes == [ScannedScope(ACCOUNT, "us-east-1", ["iam"])]


def test_follow_ups_run_after_every_module_with_all_the_functions_and_a_crash_is_a_gap(
        aws: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real posture module has a follow-up (the signing jobs of the functions' code): it runs per scope once
    every first-round task is done, with the functions of every scope; a stand-in posture has none."""
    from lambdasec.collectors.aws import posture_service

    seed(aws, {"us-east-1": ["a"], "eu-west-1": ["b"]})
    seen: list[tuple[str, list[str]]] = []

    def follow_up(api: Api, inventory: Inventory, options: LiveOptions, functions: Any) -> None:
        seen.append((api.scope.region, sorted(str(fn.name) for fn in functions)))
        if api.scope.region == "eu-west-1":
            raise RuntimeError("boom")

    def posture(api: Api, inventory: Inventory, options: LiveOptions) -> None:
        """Reads nothing; passes for the real module, whose follow-up runs."""

    posture.__module__ = posture_service.__name__
    posture.OPERATIONS = ()  # type: ignore[attr-defined]
    monkeypatch.setattr(posture_service, "FOLLOW_UP", (follow_up, frozenset({"signer", "logs"})))
    regions = ("us-east-1", "eu-west-1")
    inventory = collect_live(LiveOptions(regions=regions), services={**SERVICES, "posture": posture}, **FAST)
    assert sorted(seen) == [("eu-west-1", ["a", "b"]), ("us-east-1", ["a", "b"])]
    assert [(g.kind, g.message) for g in inventory.coverage_gaps] == [
        ("internal-error", f"account {ACCOUNT}, region eu-west-1, posture: RuntimeError: boom")]
    assert inventory.scopes == [ScannedScope(ACCOUNT, "eu-west-1", ["iam", "lambda"]),
                                ScannedScope(ACCOUNT, "us-east-1", ["iam", "lambda"])]

    def stand_in(api: Api, inventory: Inventory, options: LiveOptions) -> None:
        """Reads nothing, and is not the real module: no follow-up."""

    stand_in.OPERATIONS = ()  # type: ignore[attr-defined]
    seen.clear()
    assert collect_live(LiveOptions(regions=regions), services={**SERVICES, "posture": stand_in},
                        **FAST).coverage_gaps == []
    assert seen == []


def test_organization_accounts_are_each_read_with_their_own_credentials(aws: Emulator) -> None:
    org = aws.client("organizations")
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(AccountName="m", Email="m@example.com")["CreateAccountStatus"]["AccountId"]
    seed(aws, {"us-east-1": ["mine"]})  # the management account's function; the member account has none
    options = LiveOptions(regions=("us-east-1",), org=True, role_name="OrganizationAccountAccessRole")
    inventory = collect_live(options, services=SERVICES, **FAST)
    assert [fn.key for fn in inventory.functions] == [_function_arn("us-east-1", "mine")]
    assert inventory.own_accounts == {ACCOUNT, member}
    assert [(s.account, s.complete) for s in inventory.scopes] == sorted([(ACCOUNT, ["iam", "lambda"]),
                                                                         (member, ["iam", "lambda"])])
    # the member account's IAM is its own (moto creates the organization access role there)
    assert all(role.key.split(":")[4] in (ACCOUNT, member) for role in inventory.roles)


def test_shards_together_read_everything_once(aws: Emulator) -> None:
    seed(aws, {"us-east-1": ["a"], "eu-west-1": ["b"], "us-west-2": ["c"]})
    regions = ("us-east-1", "eu-west-1", "us-west-2")
    halves = [collect_live(LiveOptions(regions=regions, shard=(k, 2)), services=SERVICES, **FAST) for k in (1, 2)]
    assert [[fn.name for fn in half.functions] for half in halves] == [["b", "c"], ["a"]]
    assert [[r.key for r in half.roles] for half in halves] == [[ROLE], []]  # IAM: eu-west-1 is the first region
    assert [[(s.region, s.complete) for s in half.scopes] for half in halves] == [
        [("eu-west-1", ["iam", "lambda"]), ("us-west-2", ["iam", "lambda"])], [("us-east-1", ["lambda"])]]


def _loc() -> Location:
    return Location(arn="x")


def test_link_pass_turns_every_dangling_reference_into_its_key() -> None:
    inventory = Inventory()
    fn_arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    statement = PolicyStatement("Allow", ["s3:GetObject"], resources=[ResourceRef("arn:aws:s3:::gone"),
                                                                         ResourceRef(fn_arn, "Arn"), "*"],
                                principals={"AWS": [ResourceRef(ROLE, "Arn")]})
    inventory.add(inventory.roles, Role(ROLE, ROLE, "AWS::IAM::Role", _loc(),
                                        policies=[Policy("p", "inline", PolicyDocument([statement]), _loc())],
                                        permissions_boundary=ResourceRef("arn:aws:iam::aws:policy/Nope")))
    inventory.add(inventory.functions, Function(
        fn_arn, fn_arn, "AWS::Lambda::Function", _loc(), role=ResourceRef(ROLE, "Arn"),
        layers=[ResourceRef("arn:l:1"), "arn:l:2", Unresolved("x")], kms_key_arn=ResourceRef("arn:k"),
        vpc=VpcConfig([ResourceRef("arn:subnet")], Unresolved("sgs")), dead_letter_target=ResourceRef("arn:q")))
    inventory.add(inventory.permissions, Permission(f"{fn_arn}#policy/s", "s", "AWS::Lambda::Permission", _loc(),
                                                    function=ResourceRef(fn_arn, "Arn"),
                                                    source_arn=ResourceRef("arn:aws:s3:::bucket")))
    inventory.add(inventory.layers, LayerVersion("arn:l:3", "arn:l:3", "AWS::Lambda::LayerVersion", _loc()))
    inventory.aliases["arn:alias"] = ResourceRef("arn:missing-fn")
    assert link_pass(inventory) == 8
    fn, role, permission = inventory.functions[0], inventory.roles[0], inventory.permissions[0]
    assert fn.role == ResourceRef(ROLE, "Arn") and fn.layers == ["arn:l:1", "arn:l:2", Unresolved("x")]
    assert (fn.kms_key_arn, fn.dead_letter_target) == ("arn:k", "arn:q")
    assert fn.vpc is not None and fn.vpc.subnet_ids == ["arn:subnet"] and fn.vpc.security_group_ids == \
        Unresolved("sgs")
    assert permission.function == ResourceRef(fn_arn, "Arn") and permission.source_arn == "arn:aws:s3:::bucket"
    assert statement.resources == ["arn:aws:s3:::gone", ResourceRef(fn_arn, "Arn"), "*"]
    assert statement.principals == {"AWS": [ResourceRef(ROLE, "Arn")]}
    assert role.permissions_boundary == "arn:aws:iam::aws:policy/Nope"
    assert inventory.aliases == {"arn:alias": "arn:missing-fn"}
    assert link_pass(inventory) == 0  # nothing dangling is left


def test_sort_buckets_orders_every_bucket_by_key() -> None:
    inventory = Inventory()
    for key in ("arn:c", "arn:a", "arn:b"):
        inventory.add(inventory.layers, LayerVersion(key, key, "AWS::Lambda::LayerVersion", _loc()))
    sort_buckets(inventory)
    assert [layer.key for layer in inventory.layers] == ["arn:a", "arn:b", "arn:c"]


def test_live_resources_of_one_account_are_one_deployment_unit() -> None:
    def unit(key: str) -> str:
        return deployment_unit(Role(key, key, "AWS::IAM::Role", _loc()))

    assert unit(ROLE) == f"aws-account:{ACCOUNT}"
    assert unit(_function_arn("eu-west-1", "f") + "#policy/s") == f"aws-account:{ACCOUNT}"
    assert unit("template.yaml#Fn") == "template.yaml" and unit("main.tf#aws_lambda_function.f") == "main.tf"
    assert unit("arn:aws:s3:::bucket") == "arn:aws:s3:::bucket"  # no account in the ARN: its own unit


def test_progress_advances_once_per_account_region_and_service(aws: Emulator) -> None:
    from ..test_progress import Steps

    seed(aws, {"us-east-1": ["a"], "eu-west-1": ["b"]})
    steps = Steps()
    collect_live(LiveOptions(regions=("us-east-1", "eu-west-1")), services=SERVICES, progress=steps, **FAST)
    # two regions x lambda, plus IAM once for the account
    assert steps.events == [("start", (3, "reading 2 account-region(s)")), ("advance", 1), ("advance", 1),
                            ("advance", 1), ("finish", None)]
