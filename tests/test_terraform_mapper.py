"""Terraform blocks -> inventory: the mapping edge cases, on blocks built by hand."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from lambdasec.collectors.terraform.blocks import TfBlock
from lambdasec.collectors.terraform.mapper import build_inventory, property_name
from lambdasec.engine import ScanSettings, evaluate
from lambdasec.model.findings import Report
from lambdasec.model.inventory import Inventory, Parameter, PolicyDocument, PolicyStatement, SecurityGroupRule
from lambdasec.model.location import Location
from lambdasec.model.values import ResourceRef, Unresolved
from lambdasec.rules.registry import all_rules

MODULE = "infra"
CLOCK = dt.datetime(2026, 11, 29, tzinfo=dt.timezone.utc)
LAMBDA_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}]}


def block(address: str, attributes: dict[str, Any], line: int = 1, locations: dict[str, int] | None = None,
          suppressions: dict[str, str] | None = None) -> TfBlock:
    parts = address.split(".")
    while parts[0] == "module":
        parts = parts[2:]
    mode = "data" if parts[0] == "data" else "managed"
    kind, name = (parts[1], parts[2]) if mode == "data" else (parts[0], parts[1].split("[")[0])
    where = {path: Location("infra/main.tf", at, None, (address, path)) for path, at in (locations or {}).items()}
    return TfBlock(mode=mode, type=kind, name=name, address=address, key=f"{MODULE}#{address}",
                   attributes=attributes, location=Location("infra/main.tf", line), attribute_locations=where,
                   suppressions=suppressions or {})


def ref(address: str, attribute: str | None = None) -> ResourceRef:
    return ResourceRef(f"{MODULE}#{address}", attribute)


def inventory_of(*blocks: TfBlock, parameters: dict[tuple[str, str], Parameter] | None = None) -> Inventory:
    inventory = Inventory()
    build_inventory(list(blocks), inventory, parameters=parameters)
    return inventory


def run(inventory: Inventory, *codes: str) -> Report:
    rules = [rule for rule in all_rules() if rule.code in codes]
    return evaluate(inventory, rules, ScanSettings(now=CLOCK))


def flagged(report: Report) -> set[tuple[str, str]]:
    return {(f.rule_id, f.resource_id) for f in report.findings}


def lambda_function(name: str = "api", **attributes: Any) -> TfBlock:
    base: dict[str, Any] = {"function_name": name, "runtime": "python3.12", "handler": "app.handler",
                            "role": ref("aws_iam_role.fn", "arn"), "filename": "build/api.zip"}
    base.update(attributes)
    return block(f"aws_lambda_function.{name}", base)


def lambda_role(name: str = "fn", **attributes: Any) -> TfBlock:
    return block(f"aws_iam_role.{name}", {"name": f"{name}-role", "assume_role_policy": json.dumps(LAMBDA_TRUST),
                                           **attributes})


# ---------------------------------------------------------------- attribute names
@pytest.mark.parametrize(("kind", "path", "expected"), [
    ("aws_lambda_function", "environment.0.variables.TOKEN", "Environment.Variables.TOKEN"),
    ("aws_lambda_function", "environment", "Environment"),
    ("aws_lambda_function", "tracing_config.0.mode", "TracingConfig.Mode"),
    ("aws_lambda_function", "vpc_config.0.subnet_ids.1", "VpcConfig.SubnetIds.1"),
    ("aws_lambda_function", "layers.2", "Layers.2"),
    ("aws_lambda_function", "image_uri", "Code.ImageUri"),
    ("aws_lambda_function", "memory_size", None),
    ("aws_lambda_function_url", "cors.0.allow_origins.0", "Cors.AllowOrigins.0"),
    ("aws_lambda_function_url", "authorization_type", "AuthType"),
    ("aws_lambda_code_signing_config", "policies.0.untrusted_artifact_on_deployment",
     "CodeSigningPolicies.UntrustedArtifactOnDeployment"),
    ("aws_lambda_code_signing_config", "allowed_publishers.0.signing_profile_version_arns",
     "AllowedPublishers.SigningProfileVersionArns"),
    ("aws_iam_role", "assume_role_policy", "AssumeRolePolicyDocument"),
    ("aws_iam_role", "inline_policy.1", "Policies.1"),
    ("aws_cloudtrail", "advanced_event_selector.0", "AdvancedEventSelectors.0"),
    ("aws_cloudtrail", "enable_logging", "IsLogging"),
    ("aws_api_gateway_method", "authorization", "AuthorizationType"),
    ("aws_apigatewayv2_route", "authorization_type", "AuthorizationType"),
    ("aws_lambda_permission", "principal", "Principal"),
    ("aws_lambda_layer_version_permission", "principal", "Principal"),
    ("aws_s3_bucket", "bucket", None),
])
def test_property_names(kind: str, path: str, expected: str | None) -> None:
    assert property_name(kind, path) == expected


def test_findings_point_at_the_attribute_line() -> None:
    fn = block("aws_lambda_function.api", {
        "function_name": "api", "runtime": "python3.12", "handler": "app.handler", "filename": "a.zip",
        "environment": [{"variables": {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE"}}],
    }, line=3, locations={"environment": 7, "environment.0.variables": 8,
                          "environment.0.variables.AWS_ACCESS_KEY_ID": 9, "runtime": 5})
    inventory = inventory_of(fn)
    function = inventory.functions[0]
    assert function.at("Environment.Variables.AWS_ACCESS_KEY_ID").line == 9
    assert function.at("Runtime").line == 5
    assert function.at("TracingConfig.Mode").line == 3
    [finding] = run(inventory, "SEC001").findings
    assert (finding.resource_id, finding.location.line) == ("aws_lambda_function.api", 9)


def test_suppressions_come_from_the_block() -> None:
    fn = lambda_function(tracing_config=[{"mode": "PassThrough"}])
    fn.suppressions = {"OBS001": "sampled by the caller"}
    report = run(inventory_of(fn), "OBS001")
    assert report.findings == []
    assert [(f.resource_id, f.suppression.reason if f.suppression else None) for f in report.suppressed] == [
        ("aws_lambda_function.api", "sampled by the caller")]


# ---------------------------------------------------------------- functions
def test_function_attributes() -> None:
    inventory = inventory_of(lambda_role(), lambda_function(
        architectures=["arm64"], kms_key_arn=ref("aws_kms_key.env", "arn"),
        layers=[ref("aws_lambda_layer_version.deps", "arn"), "arn:aws:lambda:eu-west-1:123456789012:layer:x:3"],
        tracing_config=[{"mode": "Active"}], dead_letter_config=[{"target_arn": ref("aws_sqs_queue.dlq", "arn")}],
        reserved_concurrent_executions=5, code_signing_config_arn=ref("aws_lambda_code_signing_config.c", "arn"),
        tags={"team": "orders", "cost": 12}, logging_config=[{"log_group": ref("aws_cloudwatch_log_group.g", "name"),
                                                              "log_format": "JSON"}],
    ))
    fn = inventory.functions[0]
    assert (fn.key, fn.id, fn.type, fn.name) == ("infra#aws_lambda_function.api", "aws_lambda_function.api",
                                                 "aws_lambda_function", "api")
    assert fn.architectures == ["arm64"]
    assert fn.kms_key_arn == ref("aws_kms_key.env", "arn")
    assert fn.layers == [ref("aws_lambda_layer_version.deps", "arn"), "arn:aws:lambda:eu-west-1:123456789012:layer:x:3"]
    assert (fn.tracing_mode, fn.dead_letter_target, fn.reserved_concurrency) == (
        "Active", ref("aws_sqs_queue.dlq", "arn"), 5)
    assert fn.code_signing_config == ref("aws_lambda_code_signing_config.c", "arn")
    assert fn.tags == {"team": "orders", "cost": "12"}
    assert fn.log_group == ref("aws_cloudwatch_log_group.g", "name")
    assert inventory.role_of(fn) is inventory.roles[0]
    assert fn.code is not None and (fn.code.kind, fn.code.value) == ("local", "infra/build/api.zip")


def test_function_defaults_match_an_unconfigured_cloudformation_function() -> None:
    # Shaped like a plan: unset blocks are [], unset strings "" or null, -1 is "unreserved".
    fn = inventory_of(lambda_function(
        tracing_config=[], dead_letter_config=[], vpc_config=[], environment=[], layers=None, kms_key_arn="",
        reserved_concurrent_executions=-1, code_signing_config_arn=None,
    )).functions[0]
    assert (fn.tracing_mode, fn.dead_letter_target, fn.vpc, fn.environment, fn.layers) == (None, None, None, {}, [])
    assert (fn.kms_key_arn, fn.reserved_concurrency, fn.code_signing_config) == (None, None, None)
    assert fn.architectures == ["x86_64"] and fn.package_type == "Zip"


def test_reserved_concurrency_zero_is_kept() -> None:
    assert inventory_of(lambda_function(reserved_concurrent_executions=0)).functions[0].reserved_concurrency == 0


def test_vpc_config() -> None:
    subnets = [ref("aws_subnet.a", "id"), ref("aws_subnet.b", "id")]
    unknown = Unresolved("var.subnet_ids", "variable without a value")
    inventory = inventory_of(
        lambda_function("in_vpc", vpc_config=[{"subnet_ids": subnets,
                                               "security_group_ids": [ref("aws_security_group.fn", "id")]}]),
        lambda_function("no_subnets", vpc_config=[{"subnet_ids": [], "security_group_ids": []}]),
        lambda_function("from_variable", vpc_config=[{"subnet_ids": unknown, "security_group_ids": []}]),
    )
    in_vpc, no_subnets, from_variable = inventory.functions
    assert in_vpc.vpc is not None and in_vpc.vpc.subnet_ids == subnets
    assert in_vpc.vpc.security_group_ids == [ref("aws_security_group.fn", "id")]
    assert no_subnets.vpc is None
    assert from_variable.vpc is not None and from_variable.vpc.subnet_ids == unknown


def test_code_locations() -> None:
    inventory = inventory_of(
        lambda_function("image", package_type="Image", image_uri="123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1",
                        filename=None, runtime=None, handler=None),
        lambda_function("s3", filename=None, s3_bucket="artifacts", s3_key="api.zip"),
        lambda_function("s3_unknown", filename=None, s3_bucket=ref("aws_s3_bucket.a", "id"), s3_key="api.zip"),
        lambda_function("nothing", filename=None),
    )
    codes = [(fn.package_type, fn.code.kind if fn.code else None, fn.code.value if fn.code else None)
             for fn in inventory.functions]
    assert codes == [
        ("Image", "image", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1"),
        ("Zip", "s3", "s3://artifacts/api.zip"),
        ("Zip", "s3", Unresolved("s3 code location", "bucket or key known only at apply time")),
        ("Zip", "unknown", None),
    ]


def test_environment_values_and_parameters() -> None:
    token = Parameter("api_token", no_echo=True, default=None, has_default=False)
    fn = lambda_function(environment=[{"variables": {
        "STAGE": "prod", "RETRIES": 3, "DEBUG": False, "QUEUE": ref("aws_sqs_queue.q", "url"),
        "TOKEN": "s3cr3t-from-var", "LATER": Unresolved("local.later", "not known"),
    }}])
    inventory = inventory_of(fn, parameters={(fn.key, "environment.0.variables.TOKEN"): token})
    env = inventory.functions[0].environment
    assert {name: var.value for name, var in env.items()} == {
        "STAGE": "prod", "RETRIES": "3", "DEBUG": "false", "QUEUE": ref("aws_sqs_queue.q", "url"),
        "TOKEN": "s3cr3t-from-var", "LATER": Unresolved("local.later", "not known")}
    assert {name for name, var in env.items() if var.parameter is not None} == {"TOKEN"}
    assert env["TOKEN"].parameter is token


def test_unknown_environment_is_a_gap() -> None:
    inventory = inventory_of(lambda_function(environment=[{"variables": Unresolved("merge(local.a, var.b)")}]))
    assert inventory.functions[0].environment == {}
    assert [(g.kind, g.message) for g in inventory.coverage_gaps] == [
        ("unresolved", "environment of aws_lambda_function.api is not known statically")]


# ---------------------------------------------------------------- links to functions
@pytest.mark.parametrize("attribute", ["function_name", "arn", "invoke_arn", "qualified_arn", None])
def test_any_function_attribute_reference_leads_to_the_function(attribute: str | None) -> None:
    inventory = inventory_of(lambda_function(), block("aws_lambda_permission.s3", {
        "function_name": ref("aws_lambda_function.api", attribute), "action": "lambda:InvokeFunction",
        "principal": "s3.amazonaws.com", "source_arn": ref("aws_s3_bucket.uploads", "arn")}))
    assert inventory.function_for(inventory.permissions[0].function) is inventory.functions[0]


def test_permission_and_async_event_source() -> None:
    inventory = inventory_of(lambda_function(), block("aws_lambda_permission.s3", {
        "statement_id": "AllowS3", "function_name": ref("aws_lambda_function.api", "function_name"),
        "action": "lambda:InvokeFunction", "principal": "s3.amazonaws.com",
        "source_arn": ref("aws_s3_bucket.uploads", "arn"), "source_account": None, "principal_org_id": "",
        "event_source_token": None, "function_url_auth_type": None, "qualifier": "",
    }))
    [permission] = inventory.permissions
    assert (permission.action, permission.principal, permission.source_arn) == (
        "lambda:InvokeFunction", "s3.amazonaws.com", ref("aws_s3_bucket.uploads", "arn"))
    assert (permission.source_account, permission.principal_org_id, permission.function_url_auth_type) == (
        None, None, None)
    [source] = inventory.event_sources
    assert (source.key, source.kind, source.invocation, source.source) == (
        "infra#aws_lambda_permission.s3#source", "s3", "async", ref("aws_s3_bucket.uploads", "arn"))
    # Invoked asynchronously by S3, no DLQ, no destination: RES001.
    assert flagged(run(inventory, "RES001")) == {("RES001", "aws_lambda_function.api")}


def test_alias_permission_reaches_the_function() -> None:
    inventory = inventory_of(
        lambda_function(),
        block("aws_lambda_alias.live", {"name": "live", "function_name": ref("aws_lambda_function.api", "arn"),
                                        "function_version": "3"}),
        block("aws_lambda_permission.public", {"function_name": ref("aws_lambda_alias.live", "arn"),
                                               "action": "lambda:InvokeFunction", "principal": "*"}),
    )
    assert inventory.aliases == {"infra#aws_lambda_alias.live": ref("aws_lambda_function.api", "arn")}
    assert inventory.function_for(inventory.permissions[0].function) is inventory.functions[0]
    [finding] = run(inventory, "EXP003").findings
    assert finding.functions == ["aws_lambda_function.api"]


def test_function_url() -> None:
    inventory = inventory_of(
        lambda_function(),
        block("aws_lambda_function_url.open", {
            "function_name": ref("aws_lambda_function.api", "function_name"), "authorization_type": "NONE",
            "cors": [{"allow_origins": ["https://app.example.com", "*"], "allow_methods": ["GET"]}]}),
        block("aws_lambda_function_url.no_cors", {"function_name": "api", "authorization_type": "AWS_IAM",
                                                  "cors": [{"allow_origins": None, "allow_methods": ["GET"]}]}),
    )
    open_url, no_cors = inventory.function_urls
    assert (open_url.auth_type, open_url.cors_allow_origins) == ("NONE", ["https://app.example.com", "*"])
    assert (no_cors.auth_type, no_cors.cors_allow_origins) == ("AWS_IAM", None)
    assert inventory.function_for(no_cors.function) is inventory.functions[0]
    assert flagged(run(inventory, "EXP001", "EXP002")) == {
        ("EXP001", "aws_lambda_function_url.open"), ("EXP002", "aws_lambda_function_url.open")}


def test_layers_and_layer_permissions() -> None:
    inventory = inventory_of(
        block("aws_lambda_layer_version.deps", {"layer_name": "deps", "filename": "deps.zip",
                                                "compatible_runtimes": ["python3.12"]}),
        lambda_function(layers=[ref("aws_lambda_layer_version.deps", "arn")]),
        block("aws_lambda_layer_version_permission.everyone", {
            "layer_name": ref("aws_lambda_layer_version.deps", "layer_arn"), "version_number": 1,
            "action": "lambda:GetLayerVersion", "principal": "*", "organization_id": None}),
    )
    [layer] = inventory.layers
    assert (layer.name, layer.compatible_runtimes) == ("deps", ["python3.12"])
    assert layer.content is not None and (layer.content.kind, layer.content.value) == ("local", "infra/deps.zip")
    [finding] = run(inventory, "EXP007").findings
    assert (finding.resource_id, finding.functions) == ("aws_lambda_layer_version_permission.everyone",
                                                         ["aws_lambda_function.api"])


def test_code_signing_config_defaults_to_warn() -> None:
    inventory = inventory_of(
        block("aws_lambda_code_signing_config.unset", {
            "allowed_publishers": [{"signing_profile_version_arns": [ref("aws_signer_signing_profile.p",
                                                                         "version_arn")]}],
            "policies": []}),
        block("aws_lambda_code_signing_config.warn", {
            "allowed_publishers": [{"signing_profile_version_arns": []}],
            "policies": [{"untrusted_artifact_on_deployment": "Warn"}]},
            locations={"policies.0.untrusted_artifact_on_deployment": 12}),
        block("aws_lambda_code_signing_config.enforce", {
            "allowed_publishers": [{"signing_profile_version_arns": ["arn:aws:signer:eu-west-1:1:/p/x/y"]}],
            "policies": [{"untrusted_artifact_on_deployment": "Enforce"}]}),
    )
    modes = [(c.id, c.untrusted_artifact_on_deployment, c.allowed_publishers) for c in inventory.code_signing_configs]
    assert modes == [
        ("aws_lambda_code_signing_config.unset", "Warn", [ref("aws_signer_signing_profile.p", "version_arn")]),
        ("aws_lambda_code_signing_config.warn", "Warn", []),
        ("aws_lambda_code_signing_config.enforce", "Enforce", ["arn:aws:signer:eu-west-1:1:/p/x/y"]),
    ]
    report = run(inventory, "INT002", "INT003")
    messages = {(f.rule_id, f.resource_id): (f.message, f.location.line) for f in report.findings}
    assert set(messages) == {("INT002", "aws_lambda_code_signing_config.unset"),
                             ("INT002", "aws_lambda_code_signing_config.warn"),
                             ("INT003", "aws_lambda_code_signing_config.warn")}
    assert "is not set, and AWS defaults it to Warn" in messages[("INT002", "aws_lambda_code_signing_config.unset")][0]
    assert messages[("INT002", "aws_lambda_code_signing_config.warn")][1] == 12


def test_event_source_mapping_and_invoke_config() -> None:
    inventory = inventory_of(
        lambda_function(),
        block("aws_sqs_queue.jobs", {"name": "jobs"}),
        block("aws_lambda_event_source_mapping.jobs", {
            "function_name": ref("aws_lambda_function.api", "arn"),
            "event_source_arn": ref("aws_sqs_queue.jobs", "arn")}),
        block("aws_lambda_event_source_mapping.stream", {
            "function_name": "api", "event_source_arn": "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks"}),
        block("aws_lambda_function_event_invoke_config.api", {
            "function_name": ref("aws_lambda_function.api", "function_name"), "maximum_retry_attempts": 1,
            "destination_config": [{"on_failure": [{"destination": ref("aws_sqs_queue.dlq", "arn")}],
                                    "on_success": []}]}),
    )
    assert [(s.kind, s.invocation, s.source) for s in inventory.event_sources] == [
        ("sqs", "poll", ref("aws_sqs_queue.jobs", "arn")),
        ("kinesis", "poll", "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks")]
    [config] = inventory.event_invoke_configs
    assert (config.on_failure, config.on_success, config.maximum_retry_attempts) == (
        ref("aws_sqs_queue.dlq", "arn"), None, 1)
    assert flagged(run(inventory, "RES001")) == set()


def test_bucket_notification_and_event_target_are_async_sources() -> None:
    inventory = inventory_of(
        lambda_function(),
        block("aws_s3_bucket_notification.uploads", {"bucket": ref("aws_s3_bucket.uploads", "id"), "lambda_function": [
            {"lambda_function_arn": ref("aws_lambda_function.api", "arn"), "events": ["s3:ObjectCreated:*"]}]}),
        block("aws_cloudwatch_event_target.nightly", {"rule": ref("aws_cloudwatch_event_rule.nightly", "name"),
                                                      "arn": ref("aws_lambda_function.api", "arn")}),
        block("aws_cloudwatch_event_target.queue", {"rule": "nightly", "arn": ref("aws_sqs_queue.q", "arn")}),
    )
    assert [(s.key, s.kind, s.invocation) for s in inventory.event_sources] == [
        ("infra#aws_s3_bucket_notification.uploads#notification0", "s3", "async"),
        ("infra#aws_cloudwatch_event_target.nightly", "events", "async")]


# ---------------------------------------------------------------- IAM
def test_role_policies_of_every_kind() -> None:
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    inventory = inventory_of(
        lambda_role(
            inline_policy=[{"name": "inline-json", "policy": json.dumps(admin)}, {"name": None, "policy": None}],
            managed_policy_arns=["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                                 "arn:aws:iam::aws:policy/SomethingNew", "arn:aws:iam::123456789012:policy/team"],
            permissions_boundary="arn:aws:iam::123456789012:policy/boundary"),
        block("aws_iam_role_policy.by_name", {"name": "encoded", "role": "fn-role", "policy": {
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"],
                                                    "Resource": ref("aws_s3_bucket.b", "arn")}]}}),
        block("aws_iam_role_policy.by_reference", {"name": "doc", "role": ref("aws_iam_role.fn", "id"),
                                                   "policy": ref("data.aws_iam_policy_document.read", "json")}),
        block("data.aws_iam_policy_document.read", {"statement": [{"actions": ["sqs:ReceiveMessage"],
                                                                   "resources": ["*"]}]}),
        block("aws_iam_policy.team", {"name": "team-policy", "policy": json.dumps(admin)}),
        block("aws_iam_role_policy_attachment.team", {"role": ref("aws_iam_role.fn", "name"),
                                                      "policy_arn": ref("aws_iam_policy.team", "arn")}),
        block("aws_iam_policy_attachment.shared", {"roles": [ref("aws_iam_role.fn", "name")],
                                                   "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    )
    [role] = inventory.roles
    summary = [(p.name, p.kind, type(p.document).__name__, p.arn) for p in role.policies]
    assert summary == [
        ("inline-json", "inline", "PolicyDocument", None),
        ("AWSLambdaBasicExecutionRole", "aws-managed", "PolicyDocument",
         "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"),
        ("SomethingNew", "aws-managed", "Unresolved", "arn:aws:iam::aws:policy/SomethingNew"),
        ("team", "customer-managed", "Unresolved", "arn:aws:iam::123456789012:policy/team"),
        ("encoded", "inline", "PolicyDocument", None),
        ("doc", "inline", "PolicyDocument", None),
        ("team-policy", "customer-managed", "PolicyDocument", None),
        ("AdministratorAccess", "aws-managed", "PolicyDocument", "arn:aws:iam::aws:policy/AdministratorAccess"),
    ]
    assert role.permissions_boundary == "arn:aws:iam::123456789012:policy/boundary"
    encoded = role.policies[4].document
    assert isinstance(encoded, PolicyDocument)
    assert encoded.statements[0].resources == [ref("aws_s3_bucket.b", "arn")]
    doc = role.policies[5].document
    assert isinstance(doc, PolicyDocument)
    assert [(s.effect, s.actions, s.resources) for s in doc.statements] == [("Allow", ["sqs:ReceiveMessage"], ["*"])]


def test_attachment_is_not_counted_twice() -> None:
    basic = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    inventory = inventory_of(
        lambda_role(managed_policy_arns=[basic]),
        block("aws_iam_role_policy_attachment.logs", {"role": "fn-role", "policy_arn": basic}),
    )
    assert [p.name for p in inventory.roles[0].policies] == ["AWSLambdaBasicExecutionRole"]


def test_policies_looked_up_with_the_aws_iam_policy_data_source() -> None:
    customer = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}
    looked_up = {
        "admin": {"arn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        "power": {"name": "PowerUserAccess"},  # AWS managed, by name
        "legacy": {"name": "legacy-app-access"},  # an HCL configuration does not know its document
        "planned": {"name": "queues", "arn": "arn:aws:iam::123456789012:policy/queues",
                    "policy": json.dumps(customer)},  # a plan does
    }
    inventory = inventory_of(
        lambda_role(managed_policy_arns=[ref("data.aws_iam_policy.admin", "arn")]),
        *(block(f"data.aws_iam_policy.{name}", attributes) for name, attributes in looked_up.items()),
        *(block(f"aws_iam_role_policy_attachment.{name}", {"role": ref("aws_iam_role.fn", "name"),
                                                           "policy_arn": ref(f"data.aws_iam_policy.{name}", "arn")})
          for name in ("power", "legacy", "planned")),
    )
    summary = [(p.name, p.kind, p.arn, p.document if isinstance(p.document, Unresolved) else "known")
               for p in inventory.roles[0].policies]
    assert summary == [
        ("AdministratorAccess", "aws-managed", "arn:aws:iam::aws:policy/AdministratorAccess", "known"),
        ("PowerUserAccess", "aws-managed", "arn:aws:iam::aws:policy/PowerUserAccess", "known"),
        ("legacy-app-access", "customer-managed", None,
         Unresolved("data.aws_iam_policy.legacy", "customer managed policy read from the AWS account")),
        ("queues", "customer-managed", "arn:aws:iam::123456789012:policy/queues", "known"),
    ]
    assert flagged(run(inventory, "IAM001", "IAM008")) == {("IAM001", "aws_iam_role.fn"),
                                                           ("IAM008", "aws_iam_role.fn")}


def test_policy_document_data_source() -> None:
    document = block("data.aws_iam_policy_document.assume", {
        "source_policy_documents": [json.dumps({"Statement": [{"Sid": "Base", "Effect": "Deny", "Action": "*",
                                                               "Resource": "*"}]})],
        "override_policy_documents": [json.dumps({"Statement": [{"Sid": "Ci", "Effect": "Allow",
                                                                 "Action": "sts:TagSession",
                                                                 "Principal": {"AWS": "arn:aws:iam::1:root"}}]})],
        "statement": [
            {"sid": "", "effect": "Allow", "actions": ["sts:AssumeRole"], "not_actions": [], "resources": [],
             "principals": [{"type": "Service", "identifiers": ["lambda.amazonaws.com"]},
                            {"type": "AWS", "identifiers": ["arn:aws:iam::111122223333:role/ci"]}],
             "condition": [{"test": "StringEquals", "variable": "sts:ExternalId", "values": ["x"]},
                           {"test": "StringEquals", "variable": "aws:SourceAccount", "values": ["1"]}]},
            {"sid": "Ci", "actions": ["sts:AssumeRole"], "principals": [{"type": "*", "identifiers": ["*"]}]},
        ]})
    inventory = inventory_of(document, lambda_role(assume_role_policy=ref("data.aws_iam_policy_document.assume",
                                                                          "json")))
    trust = inventory.roles[0].trust_policy
    assert isinstance(trust, PolicyDocument)
    assert trust.statements == [
        PolicyStatement(effect="Deny", actions=["*"], resources=["*"], sid="Base"),
        PolicyStatement(effect="Allow", actions=["sts:AssumeRole"],
                        principals={"Service": ["lambda.amazonaws.com"], "AWS": ["arn:aws:iam::111122223333:role/ci"]},
                        conditions={"StringEquals": {"sts:ExternalId": ["x"], "aws:SourceAccount": ["1"]}}),
        # The override replaces the statement with the same sid.
        PolicyStatement(effect="Allow", actions=["sts:TagSession"], principals={"AWS": ["arn:aws:iam::1:root"]},
                        sid="Ci"),
    ]


def test_principal_star_and_unknown_documents() -> None:
    inventory = inventory_of(
        block("data.aws_iam_policy_document.anyone", {"statement": [
            {"actions": ["sts:AssumeRole"], "principals": [{"type": "*", "identifiers": ["*"]}]}]}),
        lambda_role("open", assume_role_policy=ref("data.aws_iam_policy_document.anyone", "json")),
        lambda_role("elsewhere", assume_role_policy=ref("data.aws_iam_policy_document.missing", "json")),
        lambda_role("later", assume_role_policy=Unresolved("templatefile(\"trust.json\", {})", "not evaluated")),
    )
    open_role, elsewhere, later = inventory.roles
    assert isinstance(open_role.trust_policy, PolicyDocument)
    assert open_role.trust_policy.statements[0].principals == {"*": ["*"]}
    assert elsewhere.trust_policy == Unresolved("data.aws_iam_policy_document.missing.json",
                                                "policy document outside the scanned configuration")
    assert later.trust_policy == Unresolved("templatefile(\"trust.json\", {})", "not evaluated")


def test_admin_role_findings() -> None:
    inventory = inventory_of(
        lambda_role(),
        block("aws_iam_role_policy_attachment.admin", {"role": ref("aws_iam_role.fn", "name"),
                                                       "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"},
              line=20, locations={"policy_arn": 22}),
        lambda_function(),
    )
    [finding] = run(inventory, "IAM001").findings
    assert (finding.resource_id, finding.location.line, finding.functions) == (
        "aws_iam_role.fn", 22, ["aws_lambda_function.api"])


# ---------------------------------------------------------------- network
def test_security_group_egress() -> None:
    inventory = inventory_of(
        block("aws_security_group.none", {"vpc_id": ref("aws_vpc.main", "id")}),
        block("aws_security_group.inline", {"egress": [
            {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["10.0.0.0/8", "0.0.0.0/0"],
             "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [], "self": False},
            {"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": [], "self": True},
        ]}, locations={"egress.0": 30, "egress.1": 36}),
        block("aws_security_group.standalone", {"egress": []}),
        block("aws_security_group_rule.https", {
            "type": "egress", "security_group_id": ref("aws_security_group.standalone", "id"), "protocol": "tcp",
            "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"]}, line=50),
        block("aws_security_group_rule.ingress", {
            "type": "ingress", "security_group_id": ref("aws_security_group.none", "id"), "protocol": "tcp",
            "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"]}),
        block("aws_vpc_security_group_egress_rule.all", {
            "security_group_id": ref("aws_security_group.standalone", "id"), "ip_protocol": "-1",
            "cidr_ipv6": "::/0"}, line=60),
    )
    none, inline, standalone = inventory.security_groups
    # Terraform revokes AWS's default allow-all egress rule: no egress block means no egress at all.
    assert none.egress == []
    assert none.vpc == ref("aws_vpc.main", "id")
    assert inline.egress == [
        SecurityGroupRule("tcp", 443, 443, cidr_ipv4="10.0.0.0/8", location=inline.egress[0].location),
        SecurityGroupRule("tcp", 443, 443, cidr_ipv4="0.0.0.0/0", location=inline.egress[0].location),
        SecurityGroupRule("-1", 0, 0, destination_group=ref("aws_security_group.inline", "id"),
                          location=inline.egress[2].location),
    ]
    assert [rule.location.line if rule.location else None for rule in inline.egress] == [30, 30, 36]
    assert standalone.egress == [
        SecurityGroupRule("tcp", 443, 443, cidr_ipv4="0.0.0.0/0", location=Location("infra/main.tf", 50)),
        SecurityGroupRule("-1", None, None, cidr_ipv6="::/0", location=Location("infra/main.tf", 60)),
    ]


def open_egress_report() -> Report:
    return run(inventory_of(
        block("aws_security_group.none", {"vpc_id": "vpc-1"}),
        lambda_function(vpc_config=[{"subnet_ids": ["subnet-1", "subnet-2"],
                                     "security_group_ids": [ref("aws_security_group.none", "id")]}]),
    ), "NET003")


def test_terraform_group_without_egress_is_not_open() -> None:
    assert open_egress_report().findings == []


def test_public_subnet_through_route_tables() -> None:
    inventory = inventory_of(
        block("aws_internet_gateway.igw", {"vpc_id": "vpc-1"}),
        block("aws_subnet.public", {"vpc_id": "vpc-1", "availability_zone": "eu-west-1a",
                                    "cidr_block": "10.0.0.0/24", "map_public_ip_on_launch": True}),
        block("aws_subnet.private", {"vpc_id": "vpc-1", "availability_zone": "eu-west-1b",
                                     "cidr_block": "10.0.1.0/24", "map_public_ip_on_launch": False}),
        block("aws_route_table.public", {"vpc_id": "vpc-1", "route": [
            {"cidr_block": "0.0.0.0/0", "gateway_id": ref("aws_internet_gateway.igw", "id"), "nat_gateway_id": "",
             "ipv6_cidr_block": "", "egress_only_gateway_id": ""}]}),
        block("aws_route_table.private", {"vpc_id": "vpc-1", "route": []}),
        block("aws_route.private_default", {"route_table_id": ref("aws_route_table.private", "id"),
                                            "destination_cidr_block": "0.0.0.0/0",
                                            "nat_gateway_id": ref("aws_nat_gateway.nat", "id")}),
        block("aws_route.literal_igw", {"route_table_id": "rtb-1", "destination_cidr_block": "0.0.0.0/0",
                                        "gateway_id": "igw-0abc"}),
        block("aws_route.unknown", {"route_table_id": "rtb-2", "destination_cidr_block": "0.0.0.0/0",
                                    "gateway_id": Unresolved("var.gateway_id")}),
        block("aws_route.egress_only", {"route_table_id": "rtb-3", "destination_ipv6_cidr_block": "::/0",
                                        "egress_only_gateway_id": "eigw-1"}),
        block("aws_route_table_association.public", {"subnet_id": ref("aws_subnet.public", "id"),
                                                     "route_table_id": ref("aws_route_table.public", "id")}),
        block("aws_route_table_association.private", {"subnet_id": ref("aws_subnet.private", "id"),
                                                      "route_table_id": ref("aws_route_table.private", "id")}),
        block("aws_route_table_association.edge", {"gateway_id": "igw-1", "route_table_id": "rtb-9"}),
        lambda_function("public_fn", vpc_config=[{"subnet_ids": [ref("aws_subnet.public", "id")],
                                                  "security_group_ids": []}]),
        lambda_function("private_fn", vpc_config=[{"subnet_ids": [ref("aws_subnet.private", "id")],
                                                   "security_group_ids": []}]),
    )
    assert [(r.key, r.destination, r.target_kind) for r in inventory.routes] == [
        ("infra#aws_route_table.public#route0", "0.0.0.0/0", "internet-gateway"),
        ("infra#aws_route.private_default", "0.0.0.0/0", "nat-gateway"),
        ("infra#aws_route.literal_igw", "0.0.0.0/0", "internet-gateway"),
        ("infra#aws_route.unknown", "0.0.0.0/0", "unknown"),
        ("infra#aws_route.egress_only", "::/0", "egress-only"),
    ]
    assert len(inventory.route_table_associations) == 2
    assert [(s.availability_zone, s.map_public_ip) for s in inventory.subnets] == [
        ("eu-west-1a", True), ("eu-west-1b", False)]
    assert flagged(run(inventory, "NET004")) == {("NET004", "aws_lambda_function.public_fn")}


def test_vpc_endpoint() -> None:
    inventory = inventory_of(
        block("aws_vpc_endpoint.s3", {"vpc_id": "vpc-1", "service_name": "com.amazonaws.eu-west-1.s3",
                                      "vpc_endpoint_type": "Gateway"}),
        block("aws_vpc_endpoint.sqs", {"vpc_id": "vpc-1", "service_name": "com.amazonaws.eu-west-1.sqs",
                                       "vpc_endpoint_type": "Interface"}),
        block("aws_vpc_endpoint.default", {"vpc_id": "vpc-1", "service_name": "com.amazonaws.eu-west-1.s3"}),
    )
    assert [e.endpoint_type for e in inventory.vpc_endpoints] == ["Gateway", "Interface", "Gateway"]


# ---------------------------------------------------------------- posture
def test_trail_selectors_are_converted_to_the_cloudformation_shape() -> None:
    inventory = inventory_of(
        block("aws_cloudtrail.classic", {"enable_logging": True, "is_multi_region_trail": True, "event_selector": [
            {"read_write_type": "All", "include_management_events": True, "exclude_management_event_sources": [],
             "data_resource": [{"type": "AWS::Lambda::Function", "values": ["arn:aws:lambda"]}]}]}),
        block("aws_cloudtrail.advanced", {"advanced_event_selector": [{"name": "Lambda", "field_selector": [
            {"field": "eventCategory", "equals": ["Data"], "not_equals": None, "starts_with": []},
            {"field": "resources.type", "equals": ["AWS::Lambda::Function"]}]}]}),
        block("aws_cloudtrail.management_only", {"event_selector": [
            {"read_write_type": "All", "include_management_events": True, "data_resource": []}]},
              line=40, locations={"event_selector": 42}),
        block("aws_cloudtrail.stopped", {"enable_logging": False}, locations={"enable_logging": 51}),
        block("aws_cloudtrail.unknown", {"event_selector": Unresolved("var.selectors")}),
    )
    classic, advanced = inventory.trails[:2]
    assert (classic.is_logging, classic.multi_region) == (True, True)
    assert classic.event_selectors == [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [
        {"Type": "AWS::Lambda::Function", "Values": ["arn:aws:lambda"]}]}]
    assert advanced.advanced_event_selectors == [{"Name": "Lambda", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]},
        {"Field": "resources.type", "Equals": ["AWS::Lambda::Function"]}]}]
    report = run(inventory, "OBS003")
    assert {(f.resource_id, f.location.line) for f in report.findings} == {
        ("aws_cloudtrail.management_only", 42), ("aws_cloudtrail.stopped", 51)}
    assert [n.resource_id for n in report.not_evaluated] == ["aws_cloudtrail.unknown"]


def test_log_group_retention() -> None:
    inventory = inventory_of(
        block("aws_cloudwatch_log_group.forever", {"name": "/aws/lambda/api", "retention_in_days": 0}),
        block("aws_cloudwatch_log_group.unset", {"name": "/aws/lambda/other"}),
        block("aws_cloudwatch_log_group.kept", {"name": "/aws/lambda/kept", "retention_in_days": 14}),
        lambda_function(),
    )
    assert [g.retention_days for g in inventory.log_groups] == [None, None, 14]
    [forever, unset] = run(inventory, "OBS002").findings
    assert (forever.resource_id, forever.functions) == ("aws_cloudwatch_log_group.forever", ["aws_lambda_function.api"])
    assert unset.resource_id == "aws_cloudwatch_log_group.unset"


def test_guardduty_kms_and_caller_identity() -> None:
    inventory = inventory_of(
        block("aws_guardduty_detector.main", {"enable": True}),
        block("aws_guardduty_detector_feature.lambda", {"detector_id": ref("aws_guardduty_detector.main", "id"),
                                                        "name": "LAMBDA_NETWORK_LOGS", "status": "ENABLED"}),
        block("aws_kms_key.env", {"enable_key_rotation": True}),
        block("aws_kms_key_policy.env", {"key_id": ref("aws_kms_key.env", "id"), "policy": json.dumps(
            {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                            "Action": "kms:*", "Resource": "*"}]})}),
        block("data.aws_caller_identity.current", {"account_id": "123456789012", "arn": "x", "user_id": "y"}),
    )
    assert inventory.guardduty_detectors[0].features == {"LAMBDA_NETWORK_LOGS": "ENABLED"}
    key = inventory.kms_keys[0]
    assert key.rotation_enabled is True and isinstance(key.key_policy, PolicyDocument)
    assert inventory.own_accounts == {"123456789012"}


# ---------------------------------------------------------------- API Gateway
def test_http_api_routes() -> None:
    inventory = inventory_of(
        lambda_function(),
        block("aws_apigatewayv2_api.http", {"name": "http", "protocol_type": "HTTP"}),
        block("aws_apigatewayv2_integration.api", {"api_id": ref("aws_apigatewayv2_api.http", "id"),
                                                   "integration_type": "AWS_PROXY",
                                                   "integration_uri": ref("aws_lambda_function.api", "invoke_arn")}),
        block("aws_apigatewayv2_route.open", {"api_id": ref("aws_apigatewayv2_api.http", "id"),
                                              "route_key": "GET /orders", "authorization_type": "NONE",
                                              "target": Unresolved(
                                                  "integrations/${aws_apigatewayv2_integration.api.id}",
                                                  "partly known")}),
        block("aws_apigatewayv2_route.jwt", {"api_id": ref("aws_apigatewayv2_api.http", "id"),
                                             "route_key": "POST /orders", "authorization_type": "JWT",
                                             "target": ref("aws_apigatewayv2_integration.api", "id")}),
        block("aws_apigatewayv2_route.default", {"api_id": ref("aws_apigatewayv2_api.http", "id"),
                                                 "route_key": "$default",
                                                 "target": ref("aws_apigatewayv2_integration.api", "id")}),
        block("aws_apigatewayv2_api.quick", {"name": "quick", "protocol_type": "HTTP",
                                             "target": ref("aws_lambda_function.api", "arn")}),
    )
    routes = [(r.id, r.api, r.method, r.path, r.authorization) for r in inventory.api_routes]
    assert routes == [
        ("aws_apigatewayv2_route.open", "aws_apigatewayv2_api.http", "GET", "/orders", "NONE"),
        ("aws_apigatewayv2_route.jwt", "aws_apigatewayv2_api.http", "POST", "/orders", "JWT"),
        ("aws_apigatewayv2_route.default", "aws_apigatewayv2_api.http", "ANY", "$default", "NONE"),
        ("aws_apigatewayv2_api.quick", "aws_apigatewayv2_api.quick", "ANY", "$default", "NONE"),
    ]
    assert all(inventory.function_for(r.function) is inventory.functions[0] for r in inventory.api_routes)
    assert flagged(run(inventory, "EXP008")) == {
        ("EXP008", "aws_apigatewayv2_route.open"), ("EXP008", "aws_apigatewayv2_route.default"),
        ("EXP008", "aws_apigatewayv2_api.quick")}


def test_rest_api_methods() -> None:
    inventory = inventory_of(
        lambda_function(),
        block("aws_api_gateway_rest_api.api", {"name": "api"}),
        block("aws_api_gateway_resource.orders", {"rest_api_id": ref("aws_api_gateway_rest_api.api", "id"),
                                                  "parent_id": ref("aws_api_gateway_rest_api.api", "root_resource_id"),
                                                  "path_part": "orders"}),
        block("aws_api_gateway_resource.order", {"rest_api_id": ref("aws_api_gateway_rest_api.api", "id"),
                                                 "parent_id": ref("aws_api_gateway_resource.orders", "id"),
                                                 "path_part": "{id}"}),
        block("aws_api_gateway_method.get_order", {
            "rest_api_id": ref("aws_api_gateway_rest_api.api", "id"),
            "resource_id": ref("aws_api_gateway_resource.order", "id"), "http_method": "GET",
            "authorization": "NONE", "api_key_required": True}, locations={"authorization": 77}),
        block("aws_api_gateway_integration.get_order", {
            "rest_api_id": ref("aws_api_gateway_rest_api.api", "id"),
            "resource_id": ref("aws_api_gateway_resource.order", "id"),
            "http_method": ref("aws_api_gateway_method.get_order", "http_method"), "type": "AWS_PROXY",
            "uri": ref("aws_lambda_function.api", "invoke_arn")}),
        block("aws_api_gateway_method.post_orders", {
            "rest_api_id": ref("aws_api_gateway_rest_api.api", "id"),
            "resource_id": ref("aws_api_gateway_resource.orders", "id"), "http_method": "POST",
            "authorization": "AWS_IAM"}),
        block("aws_api_gateway_integration.post_orders", {
            "rest_api_id": ref("aws_api_gateway_rest_api.api", "id"),
            "resource_id": ref("aws_api_gateway_resource.orders", "id"), "http_method": "POST",
            "uri": "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/"
                   "arn:aws:lambda:eu-west-1:123456789012:function:api/invocations"}),
        block("aws_api_gateway_method.mock", {
            "rest_api_id": ref("aws_api_gateway_rest_api.api", "id"),
            "resource_id": ref("aws_api_gateway_rest_api.api", "root_resource_id"), "http_method": "GET",
            "authorization": "NONE"}),
    )
    routes = [(r.id, r.method, r.path, r.authorization, r.api_key_required, r.function) for r in inventory.api_routes]
    assert routes == [
        ("aws_api_gateway_method.get_order", "GET", "/orders/{id}", "NONE", True,
         ref("aws_lambda_function.api", "invoke_arn")),
        ("aws_api_gateway_method.post_orders", "POST", "/orders", "AWS_IAM", False,
         "arn:aws:lambda:eu-west-1:123456789012:function:api"),
    ]
    [finding] = run(inventory, "EXP008").findings
    assert (finding.resource_id, finding.location.line) == ("aws_api_gateway_method.get_order", 77)
