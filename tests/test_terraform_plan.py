"""Terraform plan JSON (`terraform show -json`) -> inventory, and rules run on it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lambdasec.collectors.options import CollectOptions
from lambdasec.collectors.terraform.plan import collect_file
from lambdasec.engine import ScanSettings, evaluate
from lambdasec.model.findings import Report
from lambdasec.model.inventory import Inventory, PolicyDocument
from lambdasec.model.values import ResourceRef, Unresolved
from lambdasec.rules.registry import all_rules

from .conftest import FIXTURE_CLOCK, FIXTURES
from .terraform_plans import (
    Res,
    const,
    function,
    plan,
    ref,
    role,
    trust_document,
    write,
)

PLAN_FIXTURES = sorted(FIXTURES.glob("*.tfplan.json"))


def collect(path: Path) -> Inventory:
    inventory = collect_file(path, path.parent, CollectOptions())
    assert inventory is not None
    return inventory


def run(inventory: Inventory, *codes: str) -> Report:
    return evaluate(inventory, [r for r in all_rules() if r.code in codes], ScanSettings(now=FIXTURE_CLOCK))


def key(address: str, file: str = "plan.json") -> str:
    return f"{file}#{address}"


def line_of(path: Path, needle: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


# ---------------------------------------------------------------- fixtures (same contract as the generic harness)
@pytest.mark.parametrize("path", PLAN_FIXTURES, ids=lambda p: p.name)
def test_plan_fixture(path: Path) -> None:
    code = path.name.split(".", 1)[0].split("-", 1)[0]
    inventory = collect(path)
    assert inventory.coverage_gaps == []
    names = {re.sub(r"\[.*\]$", "", r.id).rsplit(".", 1)[-1] for r in inventory.resources()}
    report = run(inventory, code)
    flagged = {re.sub(r"\[.*\]$", "", f.resource_id).rsplit(".", 1)[-1] for f in report.findings}
    expected = {n for n in names if n.lower().startswith("fail")} if ".fail." in path.name else set()
    assert flagged == expected
    for finding in report.findings:
        assert finding.location.file == path.name
        assert finding.location.line is not None and finding.location.line > 0


def test_fixture_findings_point_at_the_right_lines() -> None:
    path = FIXTURES / "EXP001.fail.tfplan.json"
    [finding] = run(collect(path), "EXP001").findings
    text = path.read_text().splitlines()
    assert '"authorization_type": "NONE"' in text[finding.location.line - 1]
    path = FIXTURES / "SEC001.fail.tfplan.json"
    lines = {f.evidence["variable"]: f.location.line for f in run(collect(path), "SEC001").findings}
    assert lines == {"AWS_ACCESS_KEY_ID": line_of(path, '"AWS_ACCESS_KEY_ID"'),
                     "DB_PASSWORD": line_of(path, '"DB_PASSWORD"')}
    path = FIXTURES / "IAM001.fail.tfplan.json"
    where = {f.resource_id: f.location.line for f in run(collect(path), "IAM001").findings}
    assert where == {"aws_iam_role.fail_inline_admin": line_of(path, '"policy": "{\\"Version'),
                     "aws_iam_role.fail_managed_admin": line_of(path, '"policy_arn": "arn:aws:iam::aws:policy/Admin')}


# ---------------------------------------------------------------- the inventory of a plan
def test_unknown_references_become_links(tmp_path: Path) -> None:
    resources = [role("fn", "orders-fn"), function("orders", "orders", "aws_iam_role.fn")]
    path = write(tmp_path / "plan.json", plan(resources, data=[trust_document()]))
    inventory = collect(path)
    assert inventory.coverage_gaps == []
    [fn] = inventory.functions
    [fn_role] = inventory.roles
    assert (fn.key, fn.id, fn.type) == (key("aws_lambda_function.orders"), "aws_lambda_function.orders",
                                        "aws_lambda_function")
    assert fn.role == ResourceRef(key("aws_iam_role.fn"), "arn")
    assert inventory.role_of(fn) is fn_role
    # Unknown and not configured: provider defaults, the same as absent.
    assert (fn.tracing_mode, fn.architectures, fn.log_group, fn.reserved_concurrency) == (None, ["x86_64"], None, None)
    assert fn.location.line == line_of(path, '"address": "aws_lambda_function.orders"')
    assert fn.at("Runtime").line == line_of(path, '"runtime": "python3.12"')
    # The trust policy is the rendered JSON of the data source, read during planning.
    assert isinstance(fn_role.trust_policy, PolicyDocument)
    assert fn_role.trust_policy.statements[0].principals == {"Service": ["lambda.amazonaws.com"]}
    assert fn_role.name == "orders-fn"


def test_policy_document_read_at_apply_time(tmp_path: Path) -> None:
    """A data source depending on unknown values is read during apply: its statements are still there."""
    document = Res("data.aws_iam_policy_document.queue", mode="data", values={
        "override_policy_documents": None, "policy_id": None, "source_policy_documents": None, "version": None,
        "statement": [{"actions": ["sqs:ReceiveMessage", "sqs:DeleteMessage"], "condition": [], "effect": "Allow",
                       "not_actions": None, "not_principals": [], "not_resources": None, "principals": [],
                       "resources": [None], "sid": None}],
    }, unknown={"id": True, "json": True, "minified_json": True, "statement": [{"resources": [True]}]},
        expressions={"statement": [{"actions": const(["sqs:ReceiveMessage", "sqs:DeleteMessage"]),
                                    "resources": ref("aws_sqs_queue.jobs.arn")}]})
    document_change = document.change()
    document_change["change"]["actions"] = ["read"]
    queue = Res("aws_sqs_queue.jobs", values={"name": "jobs"}, unknown={"arn": True, "id": True, "url": True},
                expressions={"name": const("jobs")})
    policy = Res("aws_iam_role_policy.queue", values={"name": "queue", "role": "orders-fn"},
                 unknown={"id": True, "policy": True},
                 expressions={"name": const("queue"), "policy": ref("data.aws_iam_policy_document.queue.json"),
                              "role": ref("aws_iam_role.fn.name")})
    doc = plan([role("fn", "orders-fn"), queue, policy], data=[trust_document()])
    doc["resource_changes"].append(document_change)
    doc["configuration"]["root_module"]["resources"].append(document.config())
    inventory = collect(write(tmp_path / "plan.json", doc))
    [policy_object] = inventory.roles[0].policies
    assert (policy_object.name, policy_object.kind) == ("queue", "inline")
    assert isinstance(policy_object.document, PolicyDocument)
    [statement] = policy_object.document.statements
    assert statement.actions == ["sqs:ReceiveMessage", "sqs:DeleteMessage"]
    assert statement.resources == [ResourceRef(key("aws_sqs_queue.jobs"), "arn")]


def test_unknown_list_elements_follow_their_references_in_order(tmp_path: Path) -> None:
    subnets = [Res(f"aws_subnet.{zone}", values={"availability_zone": f"eu-west-1{zone}", "cidr_block": cidr,
                                                 "map_public_ip_on_launch": False},
                   unknown={"id": True, "arn": True, "vpc_id": True},
                   expressions={"availability_zone": const(f"eu-west-1{zone}"), "cidr_block": const(cidr),
                                "vpc_id": ref("aws_vpc.main.id")})
               for zone, cidr in (("a", "10.0.1.0/24"), ("b", "10.0.2.0/24"))]
    group = Res("aws_security_group.fn", values={"name": "fn", "description": "Managed by Terraform"},
                unknown={"arn": True, "egress": True, "id": True, "ingress": True, "owner_id": True, "vpc_id": True},
                expressions={"name": const("fn"), "vpc_id": ref("aws_vpc.main.id")})
    fn = function("orders", "orders", "aws_iam_role.fn",
                  vpc_config=[{"ipv6_allowed_for_dual_stack": False, "security_group_ids": [None],
                               "subnet_ids": [None, None]}])
    fn.unknown["vpc_config"] = [{"security_group_ids": [True], "subnet_ids": [True, True], "vpc_id": True}]
    fn.expressions["vpc_config"] = [{"security_group_ids": ref("aws_security_group.fn.id"),
                                     "subnet_ids": ref("aws_subnet.a.id", "aws_subnet.b.id")}]
    inventory = collect(write(tmp_path / "plan.json", plan([role("fn", "f"), *subnets, group, fn])))
    [function_object] = inventory.functions
    assert function_object.vpc is not None
    assert function_object.vpc.subnet_ids == [ResourceRef(key("aws_subnet.a"), "id"),
                                              ResourceRef(key("aws_subnet.b"), "id")]
    assert function_object.vpc.security_group_ids == [ResourceRef(key("aws_security_group.fn"), "id")]
    # No egress block in the configuration: Terraform creates the group without any egress rule.
    assert inventory.security_groups[0].egress == []
    assert run(inventory, "NET001", "NET002").findings == []


def test_modules_count_and_for_each(tmp_path: Path) -> None:
    """Addresses keep their module path and instance keys; references resolve inside the module, through module
    inputs, and to the instance with the same key."""
    roles = [Res(f'module.orders.aws_iam_role.fn["{region}"]', index=region,
                 values={"assume_role_policy": json.dumps({"Statement": []}), "name": f"orders-{region}"},
                 unknown={"arn": True, "id": True}, expressions={"name": {"references": ["each.key"]}})
             for region in ("eu", "us")]
    functions = []
    for region in ("eu", "us"):
        fn = function("worker", f"worker-{region}", "aws_iam_role.fn")
        fn.address, fn.index = f'module.orders.aws_lambda_function.worker["{region}"]', region
        fn.expressions["role"] = {"references": ["aws_iam_role.fn", "each.key"]}  # `aws_iam_role.fn[each.key].arn`
        fn.expressions["kms_key_arn"] = ref("var.key_arn")
        fn.unknown["kms_key_arn"] = True
        functions.append(fn)
    key_resource = Res("aws_kms_key.env", values={"enable_key_rotation": True}, unknown={"arn": True, "id": True},
                       expressions={"enable_key_rotation": const(True)})
    module_config = {"orders": {"source": "./modules/orders", "expressions": {"key_arn": ref("aws_kms_key.env.arn")},
                                "module": {"resources": [r.config() for r in (roles[0], functions[0])],
                                           "variables": {"key_arn": {}}}}}
    inventory = collect(write(tmp_path / "plan.json", plan([key_resource, *roles, *functions],
                                                            modules=module_config)))
    assert [fn.id for fn in inventory.functions] == ['module.orders.aws_lambda_function.worker["eu"]',
                                                     'module.orders.aws_lambda_function.worker["us"]']
    for fn, region in zip(inventory.functions, ("eu", "us"), strict=True):
        assert fn.role == ResourceRef(key(f'module.orders.aws_iam_role.fn["{region}"]'), None)
        assert fn.kms_key_arn == ResourceRef(key("aws_kms_key.env"), "arn")
        assert fn.location.line == line_of(tmp_path / "plan.json",
                                           f'"address": "module.orders.aws_lambda_function.worker[\\"{region}\\"]"')


def test_configured_unknown_without_a_resource_is_unresolved(tmp_path: Path) -> None:
    fn = function("orders", "orders", "aws_iam_role.fn", env={})
    fn.values["environment"] = [{}]  # the AWS provider marks the whole map unknown when one value is
    fn.unknown["environment"] = [{"variables": True}]
    fn.expressions["environment"] = [{"variables": {"references": ["local.build_id"]}}]
    fn.unknown["tracing_config"] = True
    fn.expressions["tracing_config"] = [{"mode": {"references": ["var.tracing"]}}]
    inventory = collect(write(tmp_path / "plan.json", plan([role("fn", "f"), fn])))
    [function_object] = inventory.functions
    assert function_object.environment == {}
    assert [(g.kind, g.message) for g in inventory.coverage_gaps] == [
        ("unresolved", "environment of aws_lambda_function.orders is not known statically")]
    assert function_object.tracing_mode == Unresolved("var.tracing", "known only after apply")
    assert [n.rule_id for n in run(inventory, "OBS001").not_evaluated] == ["OBS001"]


def test_variables_feed_parameters(tmp_path: Path) -> None:
    fn = function("orders", "orders", "aws_iam_role.fn",
                  env={"DB_PASSWORD": "Hunter2-Very-Secret-Default", "STAGE": "prod"},
                  env_expression=ref("var.db_password"))
    fn.sensitive = {"environment": [{"variables": {"DB_PASSWORD": True}}]}
    path = write(tmp_path / "plan.json", plan(
        [role("fn", "f"), fn], variables={"db_password": "Hunter2-Very-Secret-Default"},
        declared={"db_password": {"default": "Hunter2-Very-Secret-Default", "sensitive": True}}))
    inventory = collect(path)
    env = inventory.functions[0].environment
    parameter = env["DB_PASSWORD"].parameter
    assert parameter is not None and env["STAGE"].parameter is None
    assert (parameter.name, parameter.no_echo, parameter.has_default) == ("db_password", True, True)
    report = run(inventory, "SEC001", "SEC002")
    assert [(f.rule_id, f.evidence.get("parameter")) for f in report.findings] == [("SEC002", "db_password")]
    assert all("Hunter2-Very-Secret-Default" not in f.message + json.dumps(f.evidence) for f in report.findings)


def test_own_account_from_caller_identity(tmp_path: Path) -> None:
    identity = Res("data.aws_caller_identity.current", mode="data", values={
        "account_id": "123456789012", "arn": "arn:aws:iam::123456789012:user/ci", "id": "123456789012",
        "user_id": "AIDAEXAMPLE"})
    permission = Res("aws_lambda_permission.ops", values={
        "action": "lambda:InvokeFunction", "function_name": "orders", "principal": "123456789012",
        "source_account": None, "source_arn": None, "principal_org_id": None, "statement_id": "ops"},
        unknown={"id": True}, expressions={"principal": ref("data.aws_caller_identity.current.account_id")})
    inventory = collect(write(tmp_path / "plan.json", plan([permission], data=[identity])))
    assert inventory.own_accounts == {"123456789012"}
    assert run(inventory, "EXP006").findings == []


def test_one_line_plan_points_at_columns(tmp_path: Path) -> None:
    """`terraform show -json` writes one line: the column says where."""
    document = plan([role("fn", "f"), function("orders", "orders", "aws_iam_role.fn")])
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document))
    inventory = collect(path)
    fn = inventory.functions[0]
    text = path.read_text()
    assert fn.location.line == 1
    assert fn.location.column == text.index('"address": "aws_lambda_function.orders"') + 1
    assert fn.at("Runtime").column == text.index('"runtime"', fn.location.column) + 1


def test_resource_changes_only(tmp_path: Path) -> None:
    """Without planned_values, resources come from resource_changes (`after`, not `before`)."""
    document = plan([role("fn", "f"), function("orders", "orders", "aws_iam_role.fn", runtime="python3.8")])
    del document["planned_values"]
    for change in document["resource_changes"]:
        change["change"]["actions"] = ["update"]
        change["change"]["before"] = {**change["change"]["after"], "runtime": "python3.13"}
    path = write(tmp_path / "plan.json", document)
    inventory = collect(path)
    fn = inventory.functions[0]
    assert fn.runtime == "python3.8"
    assert fn.at("Runtime").line == line_of(path, '"runtime": "python3.8"')
    assert inventory.role_of(fn) is inventory.roles[0]


# ---------------------------------------------------------------- what is not a plan, and broken plans
@pytest.mark.parametrize("content", [
    '{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {}}',
    '{"format_version": "1.0", "provider_schemas": {}}',
    '{"version": 4, "terraform_version": "1.9.5", "serial": 3, "resources": []}',
    '[1, 2, 3]',
    "not json at all",
])
def test_other_files_are_not_plans(tmp_path: Path, content: str) -> None:
    path = tmp_path / "other.json"
    path.write_text(content)
    assert collect_file(path, tmp_path, CollectOptions()) is None


def test_unsupported_format_version_reads_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "plan.json", plan([role("fn", "f")], version="2.0"))
    inventory = collect(path)
    assert [(g.kind, g.message, g.location.line) for g in inventory.coverage_gaps] == [
        ("unsupported", "unsupported plan format version 2.0", 2)]
    assert list(inventory.resources()) == []


def test_broken_and_errored_plans_are_gaps(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "format_version": "1.2",\n  "planned_values": {,\n}')
    inventory = collect(broken)
    assert [(g.kind, g.location.line) for g in inventory.coverage_gaps] == [("parse-error", 3)]
    errored = plan([role("fn", "f")])
    errored["errored"] = True
    inventory = collect(write(tmp_path / "errored.json", errored))
    assert [g.kind for g in inventory.coverage_gaps] == ["invalid-template"]
    assert [r.id for r in inventory.roles] == ["aws_iam_role.fn"]


def test_huge_plan_is_a_gap(tmp_path: Path) -> None:
    path = write(tmp_path / "plan.json", plan([role("fn", "f")]))
    inventory = collect_file(path, tmp_path, CollectOptions(max_template_bytes=100))
    assert inventory is not None
    assert [g.kind for g in inventory.coverage_gaps] == ["too-large"]



# ---------------------------------------------------------------- plans written by Terraform itself
# tests/data/terraform/*/plan.json: `terraform show -json` (Terraform 1.11.4, AWS provider 5.100.0) of the
# configuration next to it, planned with dummy credentials and no refresh.
REAL_PLANS = Path(__file__).parent / "data" / "terraform"


def findings_of(path: Path) -> tuple[Inventory, set[tuple[str, str]]]:
    inventory = collect(path)
    rules = [r.code for r in all_rules() if r.code != "NET003"]  # NET003: see test_terraform_mapper (xfail)
    return inventory, {(f.rule_id, f.resource_id) for f in run(inventory, *rules).findings}


def test_real_plan_basic() -> None:
    inventory, found = findings_of(REAL_PLANS / "plan_basic" / "plan.json")
    # The AWS provider marks a whole map unknown when one value is: the environment cannot be read.
    assert [(g.kind, g.message) for g in inventory.coverage_gaps] == [
        ("unresolved", "environment of aws_lambda_function.orders is not known statically")]
    orders = inventory.functions[0]
    assert orders.vpc is not None and orders.vpc.subnet_ids == [
        ResourceRef(key("aws_subnet.a"), "id"), ResourceRef(key("aws_subnet.b"), "id")]
    assert inventory.security_groups[0].egress == []
    workers = inventory.functions[1:]
    assert [w.id for w in workers] == ['module.worker.aws_lambda_function.w["eu"]',
                                       'module.worker.aws_lambda_function.w["us"]']
    assert all(inventory.role_of(fn) is inventory.roles[0] for fn in inventory.functions)
    queue_policy = inventory.roles[0].policies[0].document
    assert isinstance(queue_policy, PolicyDocument)
    assert queue_policy.statements[0].resources == [ResourceRef(key("aws_sqs_queue.jobs"), "arn")]
    eu, us = 'module.worker.aws_lambda_function.w["eu"]', 'module.worker.aws_lambda_function.w["us"]'
    assert found == {
        ("EXP001", "aws_lambda_function_url.orders"), ("EXP002", "aws_lambda_function_url.orders"),
        ("EXP004", "aws_lambda_permission.s3"), ("IAM005", "aws_iam_role.fn"), ("IAM007", "aws_iam_role.fn"),
        ("INT001", "aws_lambda_function.orders"), ("INT001", eu), ("INT001", us), ("NET001", eu), ("NET001", us),
        ("OBS001", "aws_lambda_function.orders"), ("OBS002", "aws_cloudwatch_log_group.orders"),
        ("RES001", "aws_lambda_function.orders"), ("RES002", "aws_lambda_function.orders"), ("RES002", eu),
        ("RES002", us), ("RUN001", eu), ("RUN001", us),
    }


def test_real_plan_network_modules_and_apis() -> None:
    inventory, found = findings_of(REAL_PLANS / "plan_network" / "plan.json")
    assert inventory.coverage_gaps == []
    api0, api1 = "aws_lambda_function.api[0]", "aws_lambda_function.api[1]"
    subnets = [ResourceRef(key(f"module.net.aws_subnet.public[{i}]"), None) for i in (0, 1)]
    assert [fn.vpc.subnet_ids if fn.vpc else None for fn in inventory.functions] == [subnets, subnets]
    assert [(r.id, r.method, r.path, r.authorization, inventory.function_for(r.function).id)  # type: ignore[union-attr]
            for r in inventory.api_routes] == [
        ("aws_api_gateway_method.get", "GET", "/orders", "NONE", api0),
        ("aws_apigatewayv2_route.open", "GET", "/orders", "NONE", api1)]
    assert [(r.target_kind, r.destination) for r in inventory.routes] == [("internet-gateway", "0.0.0.0/0")]
    assert inventory.function_for(inventory.event_sources[0].function).id == api0  # type: ignore[union-attr]
    assert [(p.name, p.kind) for p in inventory.roles[0].policies] == [
        ("everything", "customer-managed"), ("AWSLambdaBasicExecutionRole", "aws-managed")]
    assert found == {
        ("ENC001", api0), ("ENC001", api1), ("SEC001", api0), ("SEC001", api1), ("INT005", api0), ("INT005", api1),
        ("INT006", api0), ("INT006", api1), ("NET002", api0), ("NET002", api1), ("NET004", api0), ("NET004", api1),
        ("OBS001", api0), ("OBS001", api1), ("EXP007", "aws_lambda_layer_version_permission.public"),
        ("EXP008", "aws_api_gateway_method.get"), ("EXP008", "aws_apigatewayv2_route.open"),
        ("IAM001", "aws_iam_role.api"), ("IAM005", "aws_iam_role.api"),
        ("IAM016", api0), ("IAM016", api1),  # routes without authorization to administrator functions
        ("INT002", "aws_lambda_code_signing_config.release"), ("OBS003", "aws_cloudtrail.main"),
    }
    text = (REAL_PLANS / "plan_network" / "plan.json").read_text()
    secret_finding = next(f for f in run(inventory, "SEC001").findings)
    assert text[secret_finding.location.column - 1:].startswith('"AWS_ACCESS_KEY_ID"')
