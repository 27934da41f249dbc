"""The Lambda collector against moto's standalone server: exact normalized objects, calls per quota bucket, and
the rules seeing the live inventory as they see the equivalent template.

Where moto 5.2.1 falls short, the test answers or completes ONE operation with a botocore event handler
registered on the scan's own boto3 session (so lambdasec's real client, retries and pagination still run):

* ``ListFunctionUrlConfigs``, ``ListCodeSigningConfigs`` and ``ListFunctionsByCodeSigningConfig`` are not
  implemented by moto (404): a ``before-call`` handler answers them — function URLs from moto's own state (the
  handler asks moto's ``GetFunctionUrlConfig`` for the function), code-signing configs from the test's data.
* moto stores but does not return ``DeadLetterConfig``, ``KMSKeyArn`` and ``LoggingConfig`` in a function's
  configuration: an ``after-call`` handler adds what the test seeded to ``ListFunctions`` / ``GetFunction``.
* moto's ``Code.Location`` is an amazonaws.com URL it does not serve, and a layer's ``Content.Location`` is
  ``s3://``: for ``--download-code`` an ``after-call`` handler points them at a loopback ``http.server``
  serving the same zip bytes that were seeded.
* moto returns resource-policy statements as the AddPermission arguments (``"Principal": "111122223333"``,
  ``FunctionUrlAuthType`` beside the statement); one test answers ``GetPolicy`` with the shape real Lambda
  returns (``{"AWS": "arn:aws:iam::<account>:root"}``, conditions) to prove both read the same.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from lambdasec.collectors.aws.lambda_service import OPERATIONS, collect_lambda, download_name
from lambdasec.engine import ScanSettings, evaluate
from lambdasec.model.inventory import (
    CodeLocation,
    CodeSigningConfig,
    EnvVar,
    EventInvokeConfig,
    EventSource,
    Function,
    FunctionUrl,
    Inventory,
    LayerPermission,
    LayerVersion,
    Permission,
    Role,
    ScannedScope,
    VpcConfig,
)
from lambdasec.model.location import Location
from lambdasec.model.snapshot import decode_inventory, encode_inventory
from lambdasec.model.values import ResourceRef, Unresolved
from lambdasec.rules.registry import all_rules

from ..conftest import FIXTURE_CLOCK
from .conftest import ACCOUNT, Answer, Emulator

REGION = "us-east-1"
PREFIX = f"arn:aws:lambda:{REGION}:{ACCOUNT}"
OPEN, TIDY = f"{PREFIX}:function:open", f"{PREFIX}:function:tidy"
LAYER = f"{PREFIX}:layer:shared-lib:1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/fn-role"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"
DLQ = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dead-letters"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CSC = f"{PREFIX}:code-signing-config:csc-0123456789abcdef0"
PROFILE = f"arn:aws:signer:{REGION}:{ACCOUNT}:/signing-profiles/release/abcdef0123"
TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"  # a GitHub token's shape (fake)
OPEN_CODE = {"app.py": "def handler(event, context):\n    return {'statusCode': 200}\n",
             "config.py": f"TOKEN = '{TOKEN}'\n"}
TIDY_CODE = {"app.py": "def handler(event, context):\n    return None\n"}
LAYER_CODE = {"python/lib.py": "VALUE = 1\n"}


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), text)
    return buffer.getvalue()


ZIPS = {OPEN: _zip(OPEN_CODE), TIDY: _zip(TIDY_CODE), LAYER: _zip(LAYER_CODE)}
# What moto keeps but does not return (see the module docstring), added back by an after-call handler.
NOT_RETURNED_BY_MOTO = {
    "open": {"LoggingConfig": {"LogFormat": "Text", "LogGroup": "/aws/lambda/open"}},
    "tidy": {"DeadLetterConfig": {"TargetArn": DLQ}, "KMSKeyArn": KEY,
             "LoggingConfig": {"LogFormat": "JSON", "LogGroup": "/custom/tidy"}},
}


def _queue(aws: Emulator, name: str) -> str:
    sqs = aws.client("sqs", REGION)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return arn


def seed(aws: Emulator) -> None:
    """An insecure function ("open") and a clean one ("tidy"), as a user would create them."""
    iam = aws.client("iam", REGION)
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    assert iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"] == ROLE
    assert _queue(aws, "jobs") == QUEUE
    assert _queue(aws, "dead-letters") == DLQ
    lam = aws.client("lambda", REGION)
    layer = lam.publish_layer_version(LayerName="shared-lib", Content={"ZipFile": ZIPS[LAYER]},
                                      CompatibleRuntimes=["python3.12"])
    assert layer["LayerVersionArn"] == LAYER
    lam.add_layer_version_permission(LayerName="shared-lib", VersionNumber=1, StatementId="everyone",
                                     Action="lambda:GetLayerVersion", Principal="*")
    lam.create_function(FunctionName="open", Runtime="python3.12", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": ZIPS[OPEN]}, Layers=[LAYER],
                        Environment={"Variables": {"GITHUB_TOKEN": TOKEN, "STAGE": "prod"}},
                        Tags={"team": "payments"})
    lam.add_permission(FunctionName="open", StatementId="public", Action="lambda:InvokeFunction", Principal="*")
    lam.add_permission(FunctionName="open", StatementId="uploads", Action="lambda:InvokeFunction",
                       Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::uploads-bucket")
    lam.add_permission(FunctionName="open", StatementId="partner", Action="lambda:InvokeFunction",
                       Principal="111122223333")
    lam.add_permission(FunctionName="open", StatementId="url", Action="lambda:InvokeFunctionUrl", Principal="*",
                       FunctionUrlAuthType="NONE")
    lam.create_function_url_config(FunctionName="open", AuthType="NONE", Cors={"AllowOrigins": ["*"]})
    lam.create_function(FunctionName="tidy", Runtime="python3.12", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": ZIPS[TIDY]}, TracingConfig={"Mode": "Active"},
                        DeadLetterConfig={"TargetArn": DLQ}, KMSKeyArn=KEY,
                        Environment={"Variables": {"STAGE": "prod"}}, Architectures=["arm64"],
                        VpcConfig={"SubnetIds": ["subnet-0aa", "subnet-0bb"], "SecurityGroupIds": ["sg-0cc"]})
    lam.put_function_concurrency(FunctionName="tidy", ReservedConcurrentExecutions=5)
    lam.add_permission(FunctionName="tidy", StatementId="scheduled", Action="lambda:InvokeFunction",
                       Principal="events.amazonaws.com", SourceArn=f"arn:aws:events:{REGION}:{ACCOUNT}:rule/nightly")
    lam.put_function_event_invoke_config(FunctionName="tidy", MaximumRetryAttempts=1,
                                         DestinationConfig={"OnFailure": {"Destination": DLQ}})
    lam.create_function_url_config(FunctionName="tidy", AuthType="AWS_IAM")
    lam.create_event_source_mapping(EventSourceArn=QUEUE, FunctionName="tidy")


def _on(target: Any, event: str, handler: Callable[..., Any], *, first: bool = False) -> None:
    """Register a handler on the scan's boto3 session (an Api's, or a session given as is): every client
    lambdasec creates from that session afterwards inherits it."""
    session = target.scope.session if hasattr(target, "scope") else target
    events = session.events
    (events.register_first if first else events.register)(event, handler)


def emulate_missing_apis(aws: Emulator, api: Any, signing: list[dict[str, Any]] | None = None,
                         signed: dict[str, list[str]] | None = None) -> None:
    """Answer what moto 5.2.1 lacks or drops (module docstring). ``api``: an Api, or the boto3 session a scan
    will use (so end-to-end tests of the whole live scan can reuse it)."""
    def signing_configs(**_: Any) -> tuple[Answer, dict[str, Any]]:
        return Answer(), {"CodeSigningConfigs": list(signing or [])}

    def signed_functions(params: dict[str, Any], **_: Any) -> tuple[Answer, dict[str, Any]]:
        config = unquote(params["url_path"].split("/")[3])
        return Answer(), {"FunctionArns": list((signed or {}).get(config, []))}

    def add_dropped_fields(parsed: dict[str, Any], **_: Any) -> None:
        configurations = [parsed["Configuration"]] if "Configuration" in parsed else parsed.get("Functions", [])
        for configuration in configurations:
            configuration.update(NOT_RETURNED_BY_MOTO.get(configuration["FunctionName"], {}))

    _on(api, "before-call.lambda.ListFunctionUrlConfigs", aws.function_url_configs)
    _on(api, "before-call.lambda.ListCodeSigningConfigs", signing_configs)
    _on(api, "before-call.lambda.ListFunctionsByCodeSigningConfig", signed_functions)
    _on(api, "after-call.lambda.GetFunction", add_dropped_fields)
    _on(api, "after-call.lambda.ListFunctions", add_dropped_fields)


def collect(api: Any, **options: Any) -> Inventory:
    inventory = Inventory()
    collect_lambda(api, inventory, type("Options", (), options)())
    return inventory


@pytest.fixture
def seeded(aws: Emulator) -> Emulator:
    seed(aws)
    return aws


def _where(arn: str) -> Location:
    return Location(arn=arn, region=REGION)


# ---------------------------------------------------------------- normalization
def test_functions_are_normalized_like_the_template_collector(seeded: Emulator) -> None:
    api = seeded.api(REGION)
    emulate_missing_apis(seeded, api)
    inventory = collect(api)
    assert api.gaps == [] and inventory.coverage_gaps == []
    opened, tidy = sorted(inventory.functions, key=lambda fn: fn.key)
    assert opened == Function(
        key=OPEN, id=OPEN, type="AWS::Lambda::Function", location=_where(OPEN), name="open",
        runtime="python3.12", handler="app.handler", package_type="Zip", architectures=["x86_64"],
        environment={"GITHUB_TOKEN": EnvVar("GITHUB_TOKEN", TOKEN, _where(OPEN)),
                     "STAGE": EnvVar("STAGE", "prod", _where(OPEN))},
        kms_key_arn=None, vpc=None, layers=[ResourceRef(LAYER)], tracing_mode="PassThrough",
        dead_letter_target=None, reserved_concurrency=None, code_signing_config=None, tags={"team": "payments"},
        code=CodeLocation("live", OPEN), role=ResourceRef(ROLE, "Arn"), log_group="/aws/lambda/open",
        version="$LATEST", code_sha256=opened.code_sha256)
    assert tidy == Function(
        key=TIDY, id=TIDY, type="AWS::Lambda::Function", location=_where(TIDY), name="tidy",
        runtime="python3.12", handler="app.handler", package_type="Zip", architectures=["arm64"],
        environment={"STAGE": EnvVar("STAGE", "prod", _where(TIDY))}, kms_key_arn=ResourceRef(KEY, "Arn"),
        vpc=VpcConfig([ResourceRef(f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0aa"),
                       ResourceRef(f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0bb")],
                      [ResourceRef(f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-0cc", "GroupId")],
                      _where(TIDY)),
        layers=[], tracing_mode="Active", dead_letter_target=DLQ, reserved_concurrency=5, code_signing_config=None,
        tags={}, code=CodeLocation("live", TIDY), role=ResourceRef(ROLE, "Arn"), log_group="/custom/tidy",
        version="$LATEST", code_sha256=tidy.code_sha256)
    assert opened.code_sha256 == base64.b64encode(hashlib.sha256(ZIPS[OPEN]).digest()).decode()
    assert inventory.scopes == [ScannedScope(ACCOUNT, REGION, ["lambda"])]


def test_resource_policies_urls_layers_and_triggers(seeded: Emulator) -> None:
    api = seeded.api(REGION)
    emulate_missing_apis(seeded, api)
    inventory = collect(api)

    def permission(fn: str, sid: str, action: str, principal: str, **conditions: Any) -> Permission:
        key = f"{fn}#policy/{sid}"
        return Permission(key=key, id=key, type="AWS::Lambda::Permission", location=_where(fn),
                          function=ResourceRef(fn, "Arn"), action=action, principal=principal, **conditions)

    assert sorted(inventory.permissions, key=lambda p: p.key) == [
        permission(OPEN, "partner", "lambda:InvokeFunction", "111122223333"),
        permission(OPEN, "public", "lambda:InvokeFunction", "*"),
        permission(OPEN, "uploads", "lambda:InvokeFunction", "s3.amazonaws.com",
                   source_arn="arn:aws:s3:::uploads-bucket"),
        permission(OPEN, "url", "lambda:InvokeFunctionUrl", "*", function_url_auth_type="NONE"),
        permission(TIDY, "scheduled", "lambda:InvokeFunction", "events.amazonaws.com",
                   source_arn=f"arn:aws:events:{REGION}:{ACCOUNT}:rule/nightly"),
    ]
    assert sorted(inventory.function_urls, key=lambda u: u.key) == [
        FunctionUrl(key=f"{OPEN}#url", id=f"{OPEN}#url", type="AWS::Lambda::Url", location=_where(OPEN),
                    function=ResourceRef(OPEN, "Arn"), auth_type="NONE", cors_allow_origins=["*"]),
        FunctionUrl(key=f"{TIDY}#url", id=f"{TIDY}#url", type="AWS::Lambda::Url", location=_where(TIDY),
                    function=ResourceRef(TIDY, "Arn"), auth_type="AWS_IAM", cors_allow_origins=None),
    ]
    [layer] = inventory.layers
    assert layer == LayerVersion(key=LAYER, id=LAYER, type="AWS::Lambda::LayerVersion", location=_where(LAYER),
                                 name="shared-lib", content=CodeLocation("live", LAYER),
                                 compatible_runtimes=["python3.12"], code_sha256=layer.code_sha256)
    assert layer.code_sha256 is not None and len(layer.code_sha256) == 44  # base64 of a sha256
    assert inventory.layer_permissions == [LayerPermission(
        key=f"{LAYER}#policy/everyone", id=f"{LAYER}#policy/everyone", type="AWS::Lambda::LayerVersionPermission",
        location=_where(LAYER), layer=ResourceRef(LAYER), action="lambda:GetLayerVersion", principal="*")]
    [config] = inventory.event_invoke_configs
    assert config == EventInvokeConfig(
        key=f"{TIDY}#event-invoke/$LATEST", id=f"{TIDY}#event-invoke/$LATEST",
        type="AWS::Lambda::EventInvokeConfig", location=_where(TIDY), function=ResourceRef(TIDY, "Arn"),
        on_failure=DLQ, on_success=None, maximum_retry_attempts=1)
    mapping, uploads, scheduled = sorted(inventory.event_sources, key=lambda s: s.key)
    assert mapping.key.startswith(f"{PREFIX}:event-source-mapping:")
    assert mapping == EventSource(key=mapping.key, id=mapping.key, type="AWS::Lambda::EventSourceMapping",
                                  location=_where(mapping.key), function=ResourceRef(TIDY, "Arn"), kind="sqs",
                                  invocation="poll", source=QUEUE)
    # Like an AWS::Lambda::Permission of a template: a grant to an asynchronous service is also a trigger.
    assert (uploads.key, uploads.kind, uploads.invocation, uploads.source, uploads.function) == (
        f"{OPEN}#policy/uploads#source", "s3", "async", "arn:aws:s3:::uploads-bucket", ResourceRef(OPEN, "Arn"))
    assert (scheduled.key, scheduled.kind, scheduled.invocation) == (
        f"{TIDY}#policy/scheduled#source", "events", "async")


def test_about_one_shared_bucket_call_per_function(seeded: Emulator) -> None:
    log: list[tuple[str, str]] = []
    api = seeded.api(REGION, request_log=log)
    emulate_missing_apis(seeded, api)
    collect(api)
    assert set(log) <= set(OPERATIONS)
    assert sorted(log) == sorted([
        ("lambda", "ListCodeSigningConfigs"), ("lambda", "ListLayers"), ("lambda", "ListLayerVersions"),
        ("lambda", "GetLayerVersionPolicy"), ("lambda", "ListFunctions"),
        ("lambda", "GetFunction"), ("lambda", "GetPolicy"), ("lambda", "ListFunctionUrlConfigs"),
        # "open" is invoked by S3 (asynchronously), "tidy" by EventBridge: both have their configs read
        ("lambda", "ListFunctionEventInvokeConfigs"),
        ("lambda", "GetFunction"), ("lambda", "GetPolicy"), ("lambda", "ListFunctionUrlConfigs"),
        ("lambda", "ListFunctionEventInvokeConfigs"),
        ("lambda", "ListEventSourceMappings"), ("lambda", "GetLayerVersion"),
    ])
    # Per function: one GetFunction, one GetPolicy (their own quotas), and in the shared bucket one URL listing
    # plus the event-invoke configs of asynchronously invoked functions; the rest is account-wide.
    assert api.stats.by_bucket() == {"lambda": 11, "lambda:GetFunction": 2, "lambda:GetPolicy": 2}


def test_event_invoke_configs_are_read_only_for_asynchronous_functions(aws: Emulator) -> None:
    iam = aws.client("iam", REGION)
    iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument="{}")
    lam = aws.client("lambda", REGION)
    for name in ("plain", "webhook"):
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": ZIPS[TIDY]})
    lam.add_permission(FunctionName="webhook", StatementId="gw", Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com", SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:a/*")
    log: list[tuple[str, str]] = []
    api = aws.api(REGION, request_log=log)
    emulate_missing_apis(aws, api)
    inventory = collect(api)
    assert ("lambda", "ListFunctionEventInvokeConfigs") not in log  # API Gateway invokes synchronously
    assert [s.key for s in inventory.event_sources] == []
    assert api.stats.by_bucket()["lambda"] == 1 + 2 + 1 + 1 + 1  # functions, URLs, mappings, layers, signing


def test_skip_event_invoke_configs_spends_one_shared_bucket_call_per_function(seeded: Emulator) -> None:
    """--skip-event-invoke-configs: the URL listing is each function's only shared-bucket call; RES001 says "not
    evaluated" for the asynchronous function without a dead-letter queue, not "clean" and not a coverage gap."""
    log: list[tuple[str, str]] = []
    api = seeded.api(REGION, request_log=log)
    emulate_missing_apis(seeded, api)
    inventory = collect(api, skip_event_invoke_configs=True)
    assert ("lambda", "ListFunctionEventInvokeConfigs") not in log
    assert api.stats.by_bucket() == {"lambda": 9, "lambda:GetFunction": 2, "lambda:GetPolicy": 2}
    assert log.count(("lambda", "ListFunctionUrlConfigs")) == 2  # the rest of the 9 are the account-wide listings
    assert api.gaps == [] and inventory.event_invoke_configs == []
    assert [(fn.name, fn.unread, fn.skipped) for fn in sorted(inventory.functions, key=lambda fn: fn.key)] == [
        ("open", [], ["event-invoke-configs"]), ("tidy", [], ["event-invoke-configs"])]
    report = evaluate(inventory, all_rules(), ScanSettings(now=FIXTURE_CLOCK))
    assert [(n.rule_id, n.resource_id, n.reason) for n in report.not_evaluated if n.rule_id == "RES001"] == [
        ("RES001", OPEN, "its event-invoke configs were not read (the scan ran with --skip-event-invoke-configs)")]
    assert not [f for f in report.findings if f.rule_id == "RES001"]  # tidy's dead-letter queue settles it
    assert report.coverage_gaps == []
    # A snapshot keeps what was skipped: scanned offline, it says the same.
    offline = evaluate(decode_inventory(encode_inventory(inventory)), all_rules(), ScanSettings(now=FIXTURE_CLOCK))
    assert offline.not_evaluated == report.not_evaluated
    # Read, the same account gives OPEN's finding: S3 invokes it and nothing catches what fails.
    api = seeded.api(REGION)
    emulate_missing_apis(seeded, api)
    full = evaluate(collect(api), all_rules(), ScanSettings(now=FIXTURE_CLOCK))
    assert [(f.rule_id, f.function_keys) for f in full.findings if f.rule_id == "RES001"] == [("RES001", [OPEN])]


# ---------------------------------------------------------------- rules
def test_rules_see_the_live_inventory(seeded: Emulator) -> None:
    api = seeded.api(REGION)
    emulate_missing_apis(seeded, api)
    inventory = collect(api)
    inventory.add(inventory.roles, Role(key=ROLE, id=ROLE, type="AWS::IAM::Role", location=_where(ROLE),
                                        name="fn-role"))
    inventory.own_accounts.add(ACCOUNT)
    report = evaluate(inventory, all_rules(), ScanSettings(now=FIXTURE_CLOCK))
    by_function: dict[str, set[str]] = {}
    for finding in report.findings:
        for key in finding.function_keys:
            by_function.setdefault(key, set()).add(finding.rule_id)
    insecure = {"EXP001", "EXP002", "EXP003", "EXP004", "EXP006", "EXP007", "SEC001"}
    assert insecure <= by_function[OPEN]
    assert not insecure & by_function.get(TIDY, set())
    # Clean on what the insecure one fails: tracing, KMS for its environment, a failure destination.
    assert {"OBS001", "ENC001"} <= by_function[OPEN]
    assert not {"OBS001", "ENC001", "RES001"} & by_function.get(TIDY, set())
    secret = next(f for f in report.findings if f.rule_id == "SEC001")
    assert TOKEN not in json.dumps(secret.evidence) and TOKEN not in secret.message


# ---------------------------------------------------------------- moto-independent shapes
def test_real_lambda_policy_shapes_read_like_the_emulator_ones(aws: Emulator) -> None:
    """GetPolicy answered with the statements real Lambda returns (moto echoes the AddPermission arguments)."""
    iam = aws.client("iam", REGION)
    iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument="{}")
    aws.client("lambda", REGION).create_function(FunctionName="open", Runtime="python3.12", Role=ROLE,
                                                 Handler="app.handler", Code={"ZipFile": ZIPS[OPEN]})
    statements = [
        {"Sid": "partner", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
         "Action": "lambda:InvokeFunction", "Resource": OPEN},
        {"Sid": "FunctionURLAllowPublicAccess", "Effect": "Allow", "Principal": "*",
         "Action": "lambda:InvokeFunctionUrl", "Resource": OPEN,
         "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}},
        {"Sid": "viaUrl", "Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction", "Resource": OPEN,
         "Condition": {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}}},
        {"Sid": "bucket", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
         "Action": "lambda:InvokeFunction", "Resource": OPEN,
         "Condition": {"StringEquals": {"AWS:SourceAccount": ACCOUNT},
                       "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::uploads-bucket"}}},
        {"Sid": "org", "Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction", "Resource": OPEN,
         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}},
        {"Sid": "alexa", "Effect": "Allow", "Principal": {"Service": "alexa-appkit.amazon.com"},
         "Action": "lambda:InvokeFunction", "Resource": OPEN,
         "Condition": {"StringEquals": {"lambda:EventSourceToken": "amzn1.ask.skill.1"}}},
    ]
    api = aws.api(REGION)
    emulate_missing_apis(aws, api)
    policy = json.dumps({"Version": "2012-10-17", "Id": "default", "Statement": statements})
    _on(api, "before-call.lambda.GetPolicy", lambda **_: (Answer(), {"Policy": policy, "RevisionId": "r"}))
    inventory = collect(api)
    got = {p.key.rsplit("/", 1)[1]: (p.principal, p.action, p.source_arn, p.source_account, p.principal_org_id,
                                      p.event_source_token, p.function_url_auth_type, p.invoked_via_function_url)
           for p in inventory.permissions}
    assert got == {
        "partner": ("111122223333", "lambda:InvokeFunction", None, None, None, None, None, False),
        "FunctionURLAllowPublicAccess": ("*", "lambda:InvokeFunctionUrl", None, None, None, None, "NONE", False),
        "viaUrl": ("*", "lambda:InvokeFunction", None, None, None, None, None, True),
        "bucket": ("s3.amazonaws.com", "lambda:InvokeFunction", "arn:aws:s3:::uploads-bucket", ACCOUNT, None, None,
                   None, False),
        "org": ("*", "lambda:InvokeFunction", None, None, "o-a1b2c3d4e5", None, None, False),
        "alexa": ("alexa-appkit.amazon.com", "lambda:InvokeFunction", None, None, None, "amzn1.ask.skill.1", None,
                  False),
    }


def test_code_signing_configs_in_bulk(aws: Emulator) -> None:
    """ListCodeSigningConfigs / ListFunctionsByCodeSigningConfig are answered by a before-call handler (moto lacks
    them)."""
    iam = aws.client("iam", REGION)
    iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument="{}")
    lam = aws.client("lambda", REGION)
    for name in ("signed", "unsigned"):
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": ZIPS[TIDY]})
    signing = [{"CodeSigningConfigId": "csc-0123456789abcdef0", "CodeSigningConfigArn": CSC,
                "AllowedPublishers": {"SigningProfileVersionArns": [PROFILE]},
                "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Warn"}, "LastModified": "2026-01-01"}]
    log: list[tuple[str, str]] = []
    api = aws.api(REGION, request_log=log)
    emulate_missing_apis(aws, api, signing, {CSC: [f"{PREFIX}:function:signed"]})
    inventory = collect(api)
    assert inventory.code_signing_configs == [CodeSigningConfig(
        key=CSC, id=CSC, type="AWS::Lambda::CodeSigningConfig", location=_where(CSC),
        untrusted_artifact_on_deployment="Warn", allowed_publishers=[ResourceRef(PROFILE, "ProfileVersionArn")])]
    signing_of = {fn.name: fn.code_signing_config for fn in inventory.functions}
    assert signing_of == {"signed": ResourceRef(CSC, "CodeSigningConfigArn"), "unsigned": None}
    assert log.count(("lambda", "ListFunctionsByCodeSigningConfig")) == 1  # per config, not per function
    rules = {(f.rule_id, f.resource_id) for f in evaluate(inventory, all_rules(),
                                                           ScanSettings(now=FIXTURE_CLOCK)).findings}
    assert ("INT001", f"{PREFIX}:function:unsigned") in rules and ("INT002", CSC) in rules
    assert ("INT001", f"{PREFIX}:function:signed") not in rules


def test_container_image_function(aws: Emulator) -> None:
    aws.client("iam", REGION).create_role(RoleName="fn-role", AssumeRolePolicyDocument="{}")
    image = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/app:v1"
    aws.client("lambda", REGION).create_function(FunctionName="img", Role=ROLE, PackageType="Image",
                                                 Code={"ImageUri": image})
    api = aws.api(REGION)
    emulate_missing_apis(aws, api)
    [fn] = collect(api).functions
    assert (fn.package_type, fn.runtime, fn.handler) == ("Image", None, None)
    assert fn.code == CodeLocation("image", image, resolved_image=f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/app"
                                   f"@sha256:{fn.code_sha256}")


# ---------------------------------------------------------------- failures are gaps
def _fail(code: str, status: int = 403) -> Callable[..., tuple[Answer, dict[str, Any]]]:
    return lambda **_: (Answer(status), {"Error": {"Code": code, "Message": "injected by the test"}})


def test_list_functions_failing_leaves_no_functions_and_a_gap(seeded: Emulator) -> None:
    api = seeded.api(REGION)
    emulate_missing_apis(seeded, api)
    _on(api, "before-call.lambda.ListFunctions", _fail("AccessDeniedException"))
    inventory = collect(api)
    assert inventory.functions == [] and inventory.permissions == [] and inventory.function_urls == []
    assert [(g.kind, g.message.split(": ")[0]) for g in api.gaps] == [
        ("access-denied", "account 123456789012, region us-east-1, lambda:ListFunctions")]
    assert not api.ok("lambda") and inventory.scopes == []
    assert [layer.key for layer in inventory.layers] == [LAYER]  # what was read is kept, marked incomplete


def test_failed_reads_are_never_presented_as_clean(seeded: Emulator) -> None:
    api = seeded.api(REGION)
    emulate_missing_apis(seeded, api)
    _on(api, "before-call.lambda.ListCodeSigningConfigs", _fail("AccessDeniedException"), first=True)
    _on(api, "before-call.lambda.GetFunction", _fail("ThrottlingException", 400))
    api.settings.max_attempts = 1
    inventory = collect(api)
    unknown_signing = Unresolved("CodeSigningConfigArn", "the code-signing configs could not be listed")
    unknown_concurrency = Unresolved("ReservedConcurrentExecutions", "GetFunction failed")
    assert [(fn.name, fn.code_signing_config, fn.reserved_concurrency, fn.code, fn.tags)
            for fn in sorted(inventory.functions, key=lambda fn: fn.key)] == [
        ("open", unknown_signing, unknown_concurrency, CodeLocation("live", OPEN), {}),
        ("tidy", unknown_signing, unknown_concurrency, CodeLocation("live", TIDY), {}),
    ]
    # one gap per failed API, however many calls: GetFunction failed for both functions
    assert sorted((g.kind, g.message.endswith(" (2 calls)")) for g in api.gaps) == [
        ("access-denied", False), ("throttled", True)]
    assert inventory.scopes == []
    assert [fn.unread for fn in sorted(inventory.functions, key=lambda fn: fn.key)] == [
        ["code-signing", "details"], ["code-signing", "details"]]
    report = evaluate(inventory, all_rules(), ScanSettings(now=FIXTURE_CLOCK))
    assert not [f for f in report.findings if f.rule_id in ("INT001", "RES002")]  # unknown, so not "missing"
    judged = {(n.rule_id, n.resource_id): n.reason for n in report.not_evaluated}
    for arn in (OPEN, TIDY):
        assert judged[("INT001", arn)] == "its code-signing config could not be read (see the coverage gaps)"
        assert judged[("RES002", arn)] == "its configuration (GetFunction) could not be read (see the coverage gaps)"


# ---------------------------------------------------------------- --download-code
@pytest.fixture
def code_server() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A loopback HTTP server standing in for Lambda's presigned S3 URLs: GET /<name> -> served[name]."""
    served: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802  # http.server's naming
            body = served.get(self.path.split("?", 1)[0].lstrip("/"))
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", served
    finally:
        server.shutdown()
        server.server_close()


def _serve_code(api: Any, base: str) -> None:
    """Point moto's (unservable) code locations at the loopback server (after-call handlers)."""
    def function_code(parsed: dict[str, Any], **_: Any) -> None:
        if "Location" in parsed.get("Code", {}):
            parsed["Code"]["Location"] = f"{base}/{parsed['Configuration']['FunctionName']}.zip?X-Amz-Signature=x"

    def layer_content(parsed: dict[str, Any], **_: Any) -> None:
        parsed["Content"]["Location"] = f"{base}/layer.zip"

    _on(api, "after-call.lambda.GetFunction", function_code)
    _on(api, "after-call.lambda.GetLayerVersion", layer_content)


def test_download_code_feeds_the_package_rules(seeded: Emulator, code_server: tuple[str, dict[str, bytes]],
                                               tmp_path: Path) -> None:
    base, served = code_server
    served.update({"open.zip": ZIPS[OPEN], "tidy.zip": ZIPS[TIDY], "layer.zip": ZIPS[LAYER]})
    api = seeded.api(REGION)
    emulate_missing_apis(seeded, api)
    _serve_code(api, base)
    inventory = collect(api, download_code=True, code_dir=str(tmp_path), archive_limits=None)
    assert inventory.coverage_gaps == [] and api.gaps == []
    paths = {fn.key: fn.code for fn in inventory.functions}
    [layer] = inventory.layers
    paths[LAYER] = layer.content
    for arn, code in paths.items():
        assert code is not None and code.kind == "local"
        assert Path(str(code.value)) == tmp_path / download_name(arn)
        assert Path(str(code.value)).read_bytes() == ZIPS[arn]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        f"{ACCOUNT}/{REGION}/function/open.zip", f"{ACCOUNT}/{REGION}/function/tidy.zip",
        f"{ACCOUNT}/{REGION}/layer/{LAYER.split(':')[6]}/{LAYER.split(':')[7]}.zip"]  # nothing partial left
    report = evaluate(inventory, all_rules(), ScanSettings(now=FIXTURE_CLOCK))
    in_code = [f for f in report.findings if f.rule_id == "SEC003"]
    assert [f.function_keys for f in in_code] == [[OPEN]]
    assert TOKEN not in json.dumps(in_code[0].evidence)


def test_a_package_that_does_not_match_its_hash_is_not_used(
        seeded: Emulator, code_server: tuple[str, dict[str, bytes]], tmp_path: Path) -> None:
    base, served = code_server
    served.update({"open.zip": ZIPS[OPEN], "tidy.zip": _zip({"app.py": "tampered = True\n"}),
                   "layer.zip": ZIPS[LAYER]})
    api = seeded.api(REGION)
    emulate_missing_apis(seeded, api)
    _serve_code(api, base)
    inventory = collect(api, download_code=True, code_dir=str(tmp_path), archive_limits=None)
    assert {fn.name: fn.code.kind for fn in inventory.functions if fn.code} == {"open": "local", "tidy": "live"}
    [gap] = inventory.coverage_gaps
    assert (gap.kind, gap.location.arn) == ("download-failed", TIDY)
    assert gap.message == (f"account {ACCOUNT}, region {REGION}, lambda: the code of {TIDY} could not be "
                           "downloaded: the content does not match its CodeSha256")
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 2


def test_downloaded_code_is_scanned_and_bounded(seeded: Emulator, code_server: tuple[str, dict[str, bytes]],
                                                tmp_path: Path) -> None:
    from lambdasec.analysis.packages import ArchiveLimits

    base, served = code_server
    served.update({"open.zip": ZIPS[OPEN], "tidy.zip": ZIPS[TIDY], "layer.zip": ZIPS[LAYER]})
    api = seeded.api(REGION)
    emulate_missing_apis(seeded, api)
    _serve_code(api, base)
    limit = len(ZIPS[OPEN]) - 1  # the open package is one byte too large; the others are smaller
    assert len(ZIPS[TIDY]) <= limit and len(ZIPS[LAYER]) <= limit
    inventory = collect(api, download_code=True, code_dir=str(tmp_path),
                        archive_limits=ArchiveLimits(max_total_bytes=limit))
    assert [(g.kind, g.location.arn) for g in inventory.coverage_gaps] == [("download-failed", OPEN)]
    assert f"{len(ZIPS[OPEN])} bytes, more than the limit of {limit}" in inventory.coverage_gaps[0].message
    assert {fn.name: fn.code.kind for fn in inventory.functions if fn.code} == {"open": "live", "tidy": "local"}


def test_download_refuses_plain_http_off_loopback(tmp_path: Path) -> None:
    from lambdasec.collectors.aws.lambda_service import DownloadError, download

    with pytest.raises(DownloadError, match="not an HTTPS URL"):
        download("http://example.com/code.zip", str(tmp_path / "x.zip"), 100)
    with pytest.raises(DownloadError, match="not an HTTPS URL"):
        download("file:///etc/passwd", str(tmp_path / "x.zip"), 100)
    assert list(tmp_path.iterdir()) == []


def test_alias_urls_and_an_environment_lambda_cannot_decrypt(aws: Emulator) -> None:
    """A URL of an alias (moto has no qualified URLs: ListFunctionUrlConfigs answered by a before-call handler),
    and an environment encrypted with a key the scanner may not use (GetFunction completed by an after-call
    handler with what Lambda then returns): a gap, never an empty environment presented as read."""
    aws.client("iam", REGION).create_role(RoleName="fn-role", AssumeRolePolicyDocument="{}")
    aws.client("lambda", REGION).create_function(FunctionName="open", Runtime="python3.12", Role=ROLE,
                                                 Handler="app.handler", Code={"ZipFile": ZIPS[OPEN]})
    api = aws.api(REGION)
    urls = [{"FunctionUrl": "https://x.lambda-url.us-east-1.on.aws/", "FunctionArn": f"{OPEN}:live",
             "AuthType": "NONE", "CreationTime": "t", "LastModifiedTime": "t"}]
    _on(api, "before-call.lambda.ListFunctionUrlConfigs", lambda **_: (Answer(), {"FunctionUrlConfigs": urls}))
    emulate_missing_apis(aws, api)

    def undecryptable(parsed: dict[str, Any], **_: Any) -> None:
        parsed["Configuration"]["Environment"] = {"Error": {
            "ErrorCode": "AccessDeniedException", "Message": "Lambda was unable to decrypt the environment"}}

    _on(api, "after-call.lambda.GetFunction", undecryptable)
    inventory = collect(api)
    assert inventory.function_urls == [FunctionUrl(
        key=f"{OPEN}#url/live", id=f"{OPEN}#url/live", type="AWS::Lambda::Url", location=_where(OPEN),
        function=ResourceRef(OPEN, "Arn"), auth_type="NONE", qualifier="live")]
    [fn] = inventory.functions
    assert fn.environment == {}
    assert [(g.kind, g.message) for g in inventory.coverage_gaps] == [(
        "access-denied", f"account {ACCOUNT}, region {REGION}, lambda: the environment variables of {OPEN} could "
        "not be read: AccessDeniedException: Lambda was unable to decrypt the environment")]


# ---------------------------------------------------------------- aliases' own resource policies
GATEWAY = f"{PREFIX}:function:gateway"


def _statement(sid: str, principal: Any, resource: str, **extra: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": "lambda:InvokeFunction",
            "Resource": resource, **extra}


def _alias_account(aws: Emulator) -> Any:
    """A function with two aliases: "live" has a URL and a public policy of its own, "canary" is invoked by S3
    through its own policy and nothing else names it. moto keeps one policy per function version, shared by its
    aliases (real Lambda keeps one per alias), so GetPolicy is answered per qualifier by a before-call handler;
    the URL of "live" by the ListFunctionUrlConfigs handler (moto has no alias URLs)."""
    aws.client("iam", REGION).create_role(RoleName="fn-role", AssumeRolePolicyDocument="{}")
    lam = aws.client("lambda", REGION)
    lam.create_function(FunctionName="gateway", Runtime="python3.12", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": ZIPS[TIDY]})
    version = lam.publish_version(FunctionName="gateway")["Version"]
    for alias in ("canary", "live"):
        lam.create_alias(FunctionName="gateway", Name=alias, FunctionVersion=version)
    policies = {
        None: [_statement("gw", {"Service": "apigateway.amazonaws.com"}, GATEWAY,
                          Condition={"ArnLike": {"AWS:SourceArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:a/*"}})],
        "live": [_statement("public", "*", f"{GATEWAY}:live")],
        "canary": [_statement("uploads", {"Service": "s3.amazonaws.com"}, f"{GATEWAY}:canary",
                              Condition={"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::uploads-bucket"},
                                         "StringEquals": {"AWS:SourceAccount": ACCOUNT}})],
    }
    asked: list[str | None] = []

    def policy(params: dict[str, Any], **_: Any) -> tuple[Answer, dict[str, Any]]:
        qualifier = params.get("query_string", {}).get("Qualifier")
        asked.append(qualifier)
        document = {"Version": "2012-10-17", "Id": "default", "Statement": policies[qualifier]}
        return Answer(), {"Policy": json.dumps(document), "RevisionId": "r"}

    urls = [{"FunctionUrl": "https://g.lambda-url.us-east-1.on.aws/", "FunctionArn": f"{GATEWAY}:live",
             "AuthType": "AWS_IAM", "CreationTime": "t", "LastModifiedTime": "t"}]
    api = aws.api(REGION)
    _on(api, "before-call.lambda.ListFunctionUrlConfigs", lambda **_: (Answer(), {"FunctionUrlConfigs": urls}))
    _on(api, "before-call.lambda.GetPolicy", policy)
    emulate_missing_apis(aws, api)
    return api, asked


def test_the_policy_of_an_alias_the_scan_sees_is_read_from_getpolicys_own_quota(aws: Emulator) -> None:
    api, asked = _alias_account(aws)
    inventory = collect(api)
    assert asked == [None, "live"]  # the function's policy, then the alias its URL names; "canary" is not seen
    assert [(p.key, p.principal, p.function) for p in inventory.permissions] == [
        (f"{GATEWAY}#policy/gw", "apigateway.amazonaws.com", ResourceRef(GATEWAY, "Arn")),
        (f"{GATEWAY}:live#policy/public", "*", ResourceRef(GATEWAY, "Arn"))]
    assert api.stats.by_bucket() == {"lambda": 5, "lambda:GetFunction": 1, "lambda:GetPolicy": 2}
    report = evaluate(inventory, all_rules(), ScanSettings(now=FIXTURE_CLOCK))
    assert [(f.rule_id, f.resource_key) for f in report.findings if f.rule_id == "EXP003"] == [
        ("EXP003", f"{GATEWAY}:live#policy/public")]


def test_alias_policies_lists_every_alias_and_reads_what_its_policy_opens(aws: Emulator) -> None:
    api, asked = _alias_account(aws)
    inventory = collect(api, alias_policies=True)
    assert asked == [None, "canary", "live"]
    assert [p.key for p in inventory.permissions] == [
        f"{GATEWAY}#policy/gw", f"{GATEWAY}:canary#policy/uploads", f"{GATEWAY}:live#policy/public"]
    # S3 invokes the alias asynchronously: its event-invoke configs are read although the function's own
    # policy gave no reason to, and RES001 judges them (none: failed events are dropped).
    assert [(s.key, s.kind, s.invocation) for s in inventory.event_sources] == [
        (f"{GATEWAY}:canary#policy/uploads#source", "s3", "async")]
    assert api.stats.by_bucket() == {"lambda": 7, "lambda:GetFunction": 1, "lambda:GetPolicy": 3}
    assert (api.stats.calls[("lambda", "ListAliases")], api.stats.calls[("lambda", "GetPolicy")]) == (1, 3)
    report = evaluate(inventory, all_rules(), ScanSettings(now=FIXTURE_CLOCK))
    assert sorted((f.rule_id, f.resource_key) for f in report.findings if f.rule_id in {"EXP003", "RES001"}) == [
        ("EXP003", f"{GATEWAY}:live#policy/public"), ("RES001", GATEWAY)]


def test_skipping_event_invoke_configs_covers_an_alias_s3_invokes(aws: Emulator) -> None:
    """S3 invoking an alias is learnt from the alias's own policy, after the functions were read: with
    --skip-event-invoke-configs its configs are skipped there too, and RES001 says so."""
    log: list[tuple[str, str]] = []
    api, _ = _alias_account(aws)
    api.settings.request_log = log
    inventory = collect(api, alias_policies=True, skip_event_invoke_configs=True)
    assert ("lambda", "ListFunctionEventInvokeConfigs") not in log and api.gaps == []
    [fn] = inventory.functions
    assert (fn.unread, fn.skipped) == ([], ["event-invoke-configs"])
    report = evaluate(inventory, all_rules(), ScanSettings(now=FIXTURE_CLOCK))
    assert [(n.rule_id, n.reason) for n in report.not_evaluated if n.rule_id == "RES001"] == [
        ("RES001", "its event-invoke configs were not read (the scan ran with --skip-event-invoke-configs)")]
    assert not [f for f in report.findings if f.rule_id == "RES001"]


def test_a_failed_alias_listing_is_a_gap_and_the_policy_rules_say_not_evaluated(aws: Emulator) -> None:
    api, _ = _alias_account(aws)
    _on(api, "before-call.lambda.ListAliases", _fail("AccessDeniedException"), first=True)
    inventory = collect(api, alias_policies=True)
    [fn] = inventory.functions
    assert fn.unread == ["aliases"]
    assert [(g.kind, g.message.split(": ")[0]) for g in api.gaps] == [
        ("access-denied", f"account {ACCOUNT}, region {REGION}, lambda:ListAliases")]
    report = evaluate(inventory, all_rules(), ScanSettings(now=FIXTURE_CLOCK))
    reasons = {n.rule_id: n.reason for n in report.not_evaluated if n.resource_id == GATEWAY}
    assert reasons["EXP003"] == ("its aliases (whose own resource policies were to be read) could not be read "
                                 "(see the coverage gaps)")
    # What was read is still judged: the public policy of "live" (named by its URL) is a finding.
    assert ("EXP003", f"{GATEWAY}:live#policy/public") in {(f.rule_id, f.resource_key) for f in report.findings}


def test_an_alias_policy_that_cannot_be_read_is_a_gap_and_what_was_read_is_kept(aws: Emulator) -> None:
    api, asked = _alias_account(aws)

    def refuse_aliases(params: dict[str, Any], **_: Any) -> tuple[Answer, dict[str, Any]] | None:
        if params.get("query_string", {}).get("Qualifier"):
            return Answer(403), {"Error": {"Code": "AccessDeniedException", "Message": "injected by the test"}}
        return None  # the function's own policy: answered by the handler registered after this one

    _on(api, "before-call.lambda.GetPolicy", refuse_aliases, first=True)
    inventory = collect(api)
    [fn] = inventory.functions
    assert fn.unread == ["policy"]
    assert [(g.kind, g.message.split(": ")[0]) for g in api.gaps] == [
        ("access-denied", f"account {ACCOUNT}, region {REGION}, lambda:GetPolicy")]
    assert [p.key for p in inventory.permissions] == [f"{GATEWAY}#policy/gw"]
    report = evaluate(inventory, all_rules(), ScanSettings(now=FIXTURE_CLOCK))
    assert {n.rule_id for n in report.not_evaluated if n.resource_id == GATEWAY} >= {"EXP003", "RES001"}


# ---------------------------------------------------------------- the quota buckets side by side
def test_the_three_quota_buckets_are_read_side_by_side_with_the_same_result(seeded: Emulator) -> None:
    """GetFunction, GetPolicy and the shared bucket are throttled separately: each is walked by its own thread.
    Proven without timing: GetPolicy of the first function is held until every URL listing was sent, which only
    a walker of its own can do (one after the other, the wait would run out)."""
    api = seeded.api(REGION)
    emulate_missing_apis(seeded, api)
    listed: list[str] = []
    urls_sent = threading.Event()
    waited: list[bool] = []

    def count_urls(**_: Any) -> None:
        listed.append("url")
        if len(listed) == 2:
            urls_sent.set()

    def hold_first_policy(**_: Any) -> None:
        if not waited:
            waited.append(urls_sent.wait(timeout=30))

    _on(api, "before-call.lambda.ListFunctionUrlConfigs", count_urls, first=True)
    _on(api, "before-call.lambda.GetPolicy", hold_first_policy, first=True)
    side_by_side = collect(api)
    assert waited == [True]
    one_at_a_time_api = seeded.api(REGION)
    emulate_missing_apis(seeded, one_at_a_time_api)
    one_at_a_time = collect(one_at_a_time_api, max_workers=1)
    for bucket in ("functions", "permissions", "function_urls", "event_invoke_configs", "event_sources", "layers"):
        assert getattr(side_by_side, bucket) == getattr(one_at_a_time, bucket), bucket
    assert api.stats.by_bucket() == one_at_a_time_api.stats.by_bucket()


def test_aliases_policies_are_read_while_the_shared_bucket_is_still_walked(aws: Emulator) -> None:
    """The aliases the shared-bucket walker finds have their own policies read by the GetPolicy walker as they
    are found, not after the slowest walker is done. Proven without timing: the last ListAliases is held until
    the first alias's GetPolicy was sent, which only the GetPolicy walker can do meanwhile. moto keeps one policy
    per function (module docstring of the alias tests above), so GetPolicy is answered per qualifier."""
    aws.client("iam", REGION).create_role(RoleName="fn-role", AssumeRolePolicyDocument="{}")
    lam = aws.client("lambda", REGION)
    names = ("first", "second")
    for name in names:
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": ZIPS[TIDY]})
        lam.create_alias(FunctionName=name, Name="live", FunctionVersion=lam.publish_version(
            FunctionName=name)["Version"])
    alias_policy_sent = threading.Event()
    waited: list[bool] = []
    asked: list[tuple[str, str | None]] = []

    def policy(params: dict[str, Any], **_: Any) -> tuple[Answer, dict[str, Any]]:
        name = unquote(params["url_path"].split("/")[3]).rsplit(":", 1)[-1]
        qualifier = params.get("query_string", {}).get("Qualifier")
        asked.append((name, qualifier))
        if qualifier:
            alias_policy_sent.set()
        resource = f"{PREFIX}:function:{name}" + (f":{qualifier}" if qualifier else "")
        statement = _statement(f"{name}-{qualifier or 'fn'}", "*" if qualifier else "111122223333", resource)
        return Answer(), {"Policy": json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
                          "RevisionId": "r"}

    def hold_last_listing(params: dict[str, Any], **_: Any) -> None:
        if unquote(params["url_path"].split("/")[3]).endswith(":second"):
            waited.append(alias_policy_sent.wait(timeout=30))

    def scan(**options: Any) -> Inventory:
        api = aws.api(REGION)
        _on(api, "before-call.lambda.GetPolicy", policy)
        if "max_workers" not in options:  # one after the other, the wait would run out
            _on(api, "before-call.lambda.ListAliases", hold_last_listing)
        emulate_missing_apis(aws, api)
        return collect(api, alias_policies=True, **options)

    side_by_side = scan()
    assert waited == [True]
    assert sorted(asked, key=str) == [("first", "live"), ("first", None), ("second", "live"), ("second", None)]
    assert sorted(p.key for p in side_by_side.permissions) == [
        f"{PREFIX}:function:first#policy/first-fn", f"{PREFIX}:function:first:live#policy/first-live",
        f"{PREFIX}:function:second#policy/second-fn", f"{PREFIX}:function:second:live#policy/second-live"]
    asked.clear()
    one_at_a_time = scan(max_workers=1)
    assert asked == [("first", None), ("second", None), ("first", "live"), ("second", "live")]
    assert sorted(one_at_a_time.permissions, key=lambda p: p.key) == sorted(side_by_side.permissions,
                                                                             key=lambda p: p.key)
