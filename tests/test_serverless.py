"""The Serverless Framework collector: inventory objects, variables, the resources section, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from lambdasec.collectors.options import CollectOptions
from lambdasec.collectors.serverless import collect_file, is_serverless_file
from lambdasec.collectors.serverless.variables import MAX_DEPTH
from lambdasec.engine import ScanSettings, evaluate
from lambdasec.model.inventory import (
    CodeLocation,
    Function,
    Inventory,
    PolicyDocument,
    PolicyStatement,
    VpcConfig,
)
from lambdasec.model.location import Location
from lambdasec.model.values import ResourceRef, Unresolved
from lambdasec.rules.registry import all_rules

from .conftest import FIXTURE_CLOCK

LOG_GROUPS = "arn:aws:logs:us-east-1:${AWS::AccountId}:log-group:/aws/lambda/orders-dev*"
LOG_REASON = "log groups of the service's functions"
API_REASON = "the service's API, known at deploy time"
CREATED = "created by the Framework at deploy time"


def _collect(tmp_path: Path, text: str, name: str = "serverless.yml", files: dict[str, str] | None = None,
             **options: int) -> Inventory:
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    for relative, content in (files or {}).items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(content)
    path = tmp_path / name
    path.write_text(text)
    inventory = collect_file(path, tmp_path, CollectOptions(**options))
    assert inventory is not None
    return inventory


def _function(inventory: Inventory, key: str) -> Function:
    return next(fn for fn in inventory.functions if fn.id == key)


def _gaps(inventory: Inventory) -> list[tuple[str, str, int | None]]:
    return [(gap.kind, gap.message, gap.location.line) for gap in inventory.coverage_gaps]


def _findings(inventory: Inventory, *codes: str) -> list[tuple[str, str, int | None]]:
    rules = [rule for rule in all_rules() if rule.code in codes]
    report = evaluate(inventory, rules, ScanSettings(now=FIXTURE_CLOCK))
    return sorted((f.rule_id, f.resource_id, f.location.line) for f in report.findings)


# ---------------------------------------------------------------- functions: provider defaults merged
MERGED = """\
service: orders
provider:
  name: aws
  runtime: python3.12
  architecture: arm64
  environment:
    TABLE: orders
    LOG_LEVEL: info
  kmsKeyArn: arn:aws:kms:us-east-1:123456789012:key/provider
  vpc:
    securityGroupIds: [sg-provider]
    subnetIds: [subnet-a, subnet-b]
  layers:
    - arn:aws:lambda:us-east-1:123456789012:layer:shared:4
  tracing:
    lambda: true
  tags:
    team: orders
functions:
  api:
    handler: app.api
    runtime: python3.13
    environment:
      LOG_LEVEL: debug
      PORT: 8080
    vpc:
      securityGroupIds: [sg-api]
      subnetIds: [subnet-c]
    layers:
      - arn:aws:lambda:us-east-1:123456789012:layer:api:1
    tracing: PassThrough
    kmsKeyArn: arn:aws:kms:us-east-1:123456789012:key/api
    reservedConcurrency: 10
    onError: arn:aws:sns:us-east-1:123456789012:dlq
    tags:
      tier: web
  worker:
    handler: app.worker
    name: orders-worker
"""


def test_function_settings_merge_provider_defaults_function_wins(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, MERGED)
    api, worker = _function(inventory, "api"), _function(inventory, "worker")
    assert (api.key, api.type, api.location) == (
        "serverless.yml#api", "serverless:function", Location("serverless.yml", 20, None, ("functions", "api")))
    assert (api.name, api.runtime, api.handler, api.architectures) == (
        "orders-dev-api", "python3.13", "app.api", ["arm64"])
    assert {name: var.value for name, var in api.environment.items()} == {
        "TABLE": "orders", "LOG_LEVEL": "debug", "PORT": "8080"}
    assert api.environment["TABLE"].location.line == 7
    assert api.environment["LOG_LEVEL"].location == Location(
        "serverless.yml", 24, None, ("functions", "api", "environment", "LOG_LEVEL"))
    assert api.environment["TABLE"].parameter is None
    assert api.vpc == VpcConfig(["subnet-c"], ["sg-api"], Location("serverless.yml", 26, None, (
        "functions", "api", "vpc")))
    assert api.layers == ["arn:aws:lambda:us-east-1:123456789012:layer:api:1"]
    assert (api.tracing_mode, api.kms_key_arn, api.reserved_concurrency, api.dead_letter_target) == (
        "PassThrough", "arn:aws:kms:us-east-1:123456789012:key/api", 10, "arn:aws:sns:us-east-1:123456789012:dlq")
    assert api.tags == {"team": "orders", "tier": "web"}
    assert api.code == CodeLocation("local", ".serverless/orders.zip")
    assert api.role == ResourceRef("serverless.yml#IamRoleLambdaExecution", "Arn")
    assert [api.at(p).line for p in ("Runtime", "VpcConfig.SubnetIds.0", "Layers.0", "TracingConfig.Mode",
                                     "ReservedConcurrentExecutions", "DeadLetterConfig")] == [22, 28, 30, 31, 33, 34]
    assert (worker.name, worker.runtime, worker.tracing_mode, worker.kms_key_arn, worker.layers) == (
        "orders-worker", "python3.12", "Active", "arn:aws:kms:us-east-1:123456789012:key/provider",
        ["arn:aws:lambda:us-east-1:123456789012:layer:shared:4"])
    assert {name: var.value for name, var in worker.environment.items()} == {"TABLE": "orders", "LOG_LEVEL": "info"}
    assert worker.vpc is not None and worker.vpc.subnet_ids == ["subnet-a", "subnet-b"]
    assert [worker.at(p).line for p in ("Runtime", "TracingConfig.Mode", "VpcConfig", "Environment")] == [
        4, 16, 10, 6]
    assert (worker.reserved_concurrency, worker.dead_letter_target) == (None, None)
    assert _gaps(inventory) == []


def test_shared_execution_role_as_the_framework_creates_it(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, MERGED.replace("  tags:\n    team: orders\n", """\
  iam:
    role:
      name: orders-lambda
      permissionsBoundary: arn:aws:iam::123456789012:policy/boundary
      statements:
        - Effect: Allow
          Action: [dynamodb:GetItem]
          Resource: arn:aws:dynamodb:us-east-1:123456789012:table/orders
      managedPolicies:
        - arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess
"""))
    (role,) = inventory.roles
    assert (role.key, role.id, role.type, role.location.line, role.location.path) == (
        "serverless.yml#IamRoleLambdaExecution", "IamRoleLambdaExecution", "serverless:iam-role", 18,
        ("provider", "iam", "role"))
    assert (role.name, role.permissions_boundary) == ("orders-lambda", "arn:aws:iam::123456789012:policy/boundary")
    assert role.trust_policy == PolicyDocument([PolicyStatement(
        "Allow", ["sts:AssumeRole"], principals={"Service": ["lambda.amazonaws.com"]})])
    inline, s3, vpc = role.policies
    assert (inline.name, inline.kind, inline.location.line) == ("orders-dev-lambda", "inline", 21)
    assert isinstance(inline.document, PolicyDocument)
    assert [(st.actions, st.resources) for st in inline.document.statements] == [
        (["logs:CreateLogStream", "logs:CreateLogGroup"], [Unresolved(LOG_GROUPS + ":*", LOG_REASON)]),
        (["logs:PutLogEvents"], [Unresolved(LOG_GROUPS + ":*:*", LOG_REASON)]),
        (["dynamodb:GetItem"], ["arn:aws:dynamodb:us-east-1:123456789012:table/orders"]),
        (["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]),  # tracing on
        (["sns:Publish"], ["arn:aws:sns:us-east-1:123456789012:dlq"]),  # onError
        (["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]),
    ]
    assert (s3.name, s3.kind, s3.location.line) == ("AmazonS3ReadOnlyAccess", "aws-managed", 26)
    # Functions in a VPC: the Framework attaches the VPC access policy, located on the VPC settings.
    assert (vpc.name, vpc.kind, vpc.location.line) == ("AWSLambdaVPCAccessExecutionRole", "aws-managed", 34)
    assert sorted(fn.id for fn in inventory.functions_using_role(role)) == ["api", "worker"]
    # One role for every function is the Framework's behaviour: IAM005 reports it.
    assert _findings(inventory, "IAM005", "IAM007") == [("IAM005", "IamRoleLambdaExecution", 18)]


def test_legacy_role_keys(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, """\
service: orders
provider:
  name: aws
  runtime: python3.13
  iamRoleStatements:
    - Effect: Allow
      Action: "*"
      Resource: "*"
  iamManagedPolicies:
    - arn:aws:iam::aws:policy/ReadOnlyAccess
functions:
  api:
    handler: app.api
""")
    (role,) = inventory.roles
    assert (role.location.line, role.location.path, role.name) == (
        5, ("provider", "iamRoleStatements"), "orders-dev-us-east-1-lambdaRole")
    assert [(p.name, p.location.line) for p in role.policies] == [("orders-dev-lambda", 5), ("ReadOnlyAccess", 10)]
    assert _findings(inventory, "IAM001") == [("IAM001", "IamRoleLambdaExecution", 5)]


def test_role_given_by_arn_or_by_name_replaces_the_shared_role(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, """\
service: orders
provider:
  name: aws
  runtime: python3.13
  iam:
    role: arn:aws:iam::123456789012:role/existing
functions:
  api:
    handler: app.api
  worker:
    handler: app.worker
    role: WorkerRole
  other:
    handler: app.other
    role: !GetAtt WorkerRole.Arn
resources:
  Resources:
    WorkerRole:
      Type: AWS::IAM::Role
      Properties:
        AssumeRolePolicyDocument:
          Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]
""")
    assert [role.id for role in inventory.roles] == ["WorkerRole"]  # no IamRoleLambdaExecution
    assert [(fn.id, fn.role, fn.at("Role").line) for fn in inventory.functions] == [
        ("api", "arn:aws:iam::123456789012:role/existing", 6),
        ("worker", ResourceRef("serverless.yml#WorkerRole", "Arn"), 12),
        ("other", ResourceRef("serverless.yml#WorkerRole", "Arn"), 15),
    ]
    assert _gaps(inventory) == []


def test_role_name_not_in_the_file_is_a_gap(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, """\
service: orders
provider: {name: aws, runtime: python3.13}
functions:
  api:
    handler: app.api
    role: MissingRole
""")
    assert _function(inventory, "api").role == Unresolved("MissingRole", "role not defined in the file")
    assert _gaps(inventory) == [
        ("unresolved", "role MissingRole is neither an ARN nor a resource of the resources section", 6)]


def test_roles_per_function_plugin(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, """\
service: orders
plugins: [serverless-iam-roles-per-function]
provider:
  name: aws
  runtime: python3.13
functions:
  api:
    handler: app.api
    iamRoleStatements:
      - {Effect: Allow, Action: "s3:*", Resource: "*"}
  worker:
    handler: app.worker
""")
    assert sorted((role.id, role.key) for role in inventory.roles) == [
        ("ApiIamRoleLambdaExecution", "serverless.yml#api#role"),
        ("IamRoleLambdaExecution", "serverless.yml#IamRoleLambdaExecution")]
    assert _function(inventory, "api").role == ResourceRef("serverless.yml#api#role", "Arn")
    assert _findings(inventory, "IAM002") == [("IAM002", "ApiIamRoleLambdaExecution", 9)]


# ---------------------------------------------------------------- packaging
def test_code_locations(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, """\
service: orders
provider:
  name: aws
  runtime: python3.13
  ecr:
    images:
      app:
        path: ./image
package:
  individually: true
functions:
  individual:
    handler: a.h
  artifact:
    handler: a.h
    package:
      artifact: build/artifact.zip
  s3:
    handler: a.h
    package:
      artifact: s3://builds/orders/s3.zip
  image:
    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:v1
  imageUri:
    image:
      uri: 123456789012.dkr.ecr.us-east-1.amazonaws.com/orders@sha256:abc
  built:
    image: app
""", name="svc/serverless.yml")
    code = {fn.id: (fn.package_type, fn.code) for fn in inventory.functions}
    assert code == {
        "individual": ("Zip", CodeLocation("local", "svc/.serverless/individual.zip")),
        "artifact": ("Zip", CodeLocation("local", "svc/build/artifact.zip")),
        "s3": ("Zip", CodeLocation("s3", "s3://builds/orders/s3.zip")),
        "image": ("Image", CodeLocation("image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:v1")),
        "imageUri": ("Image", CodeLocation("image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders@sha256:abc")),
        "built": ("Image", CodeLocation("image", Unresolved(
            "${AWS::AccountId}.dkr.ecr.us-east-1.amazonaws.com/serverless-orders-dev@sha256:${digest}",
            "image built and pushed by the Framework, referenced by its digest"))),
    }
    assert _function(inventory, "image").runtime is None
    assert _function(inventory, "imageUri").at("Code.ImageUri").line == 26
    # Only the image selected by a mutable tag is reported.
    assert _findings(inventory, "INT005") == [("INT005", "image", 23)]


def test_runtime_left_to_the_framework_default_is_not_judged(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, "service: orders\nprovider: {name: aws}\nfunctions:\n  api: {handler: a.h}\n")
    assert _function(inventory, "api").runtime == Unresolved(
        "default runtime", "no runtime set: the Framework's default depends on its version")
    assert _findings(inventory, "RUN001", "RUN002") == []


# ---------------------------------------------------------------- function URLs
def test_function_urls_and_the_public_permissions_of_a_none_url(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, """\
service: orders
provider: {name: aws, runtime: python3.13}
functions:
  public:
    handler: a.h
    url: true
  corsAll:
    handler: a.h
    url:
      cors: true
  signed:
    handler: a.h
    url:
      authorizer: aws_iam
      cors:
        allowedOrigins: [https://app.example.com, "*"]
""")
    urls = {url.id: (url.key, url.type, url.auth_type, url.cors_allow_origins, url.function, url.at("AuthType").line)
            for url in inventory.function_urls}
    assert urls == {
        "public": ("serverless.yml#public#url", "serverless:function-url", "NONE", None,
                   ResourceRef("serverless.yml#public", "Arn"), 6),
        "corsAll": ("serverless.yml#corsAll#url", "serverless:function-url", "NONE", ["*"],
                    ResourceRef("serverless.yml#corsAll", "Arn"), 9),
        "signed": ("serverless.yml#signed#url", "serverless:function-url", "AWS_IAM",
                   ["https://app.example.com", "*"], ResourceRef("serverless.yml#signed", "Arn"), 14),
    }
    public = [p for p in inventory.permissions if p.id == "public"]
    assert [(p.key, p.action, p.principal, p.function_url_auth_type, p.invoked_via_function_url, p.source_arn)
            for p in public] == [
        ("serverless.yml#public#url-permission", "lambda:InvokeFunctionUrl", "*", "NONE", False, None),
        ("serverless.yml#public#url-invoke-permission", "lambda:InvokeFunction", "*", None, True, None)]
    assert all(inventory.function_for(p.function) is _function(inventory, "public") for p in public)
    assert sorted({p.id for p in inventory.permissions}) == ["corsAll", "public"]  # none for the IAM URL
    assert _findings(inventory, "EXP001", "EXP002") == [
        ("EXP001", "corsAll", 9), ("EXP001", "public", 6), ("EXP002", "corsAll", 10), ("EXP002", "signed", 16)]


# ---------------------------------------------------------------- events
EVENTS = """\
service: orders
provider:
  name: aws
  runtime: python3.13
  s3:
    uploads:
      name: orders-uploads-prod
  httpApi:
    authorizers:
      jwtAuth: {type: jwt, issuerUrl: https://issuer.example.com, audience: [a]}
      lambdaAuth: {type: request, functionName: authorize}
functions:
  authorize:
    handler: auth.h
  api:
    handler: a.h
    events:
      - http: GET /orders
      - http: {path: "/orders/{id}", method: delete, authorizer: aws_iam}
      - http: {path: orders, method: put, private: true}
      - http: {path: /pools, method: get, authorizer: {arn: "arn:aws:cognito-idp:us-east-1:1:userpool/p"}}
      - http: {path: /custom, method: any, authorizer: authorize}
      - http: {path: /proxy, method: get, integration: http-proxy}
      - httpApi: "*"
      - httpApi: {method: GET, path: /jwt, authorizer: {name: jwtAuth}}
      - httpApi: {method: GET, path: /lambda, authorizer: lambdaAuth}
      - httpApi: {method: GET, path: /iam, authorizer: {type: aws_iam}}
  async:
    handler: a.h
    events:
      - s3: uploads
      - s3: {bucket: !Ref ExistingBucket, existing: true}
      - sns: orders-topic
      - sns: {arn: arn:aws:sns:us-east-1:123456789012:other}
      - schedule: rate(1 hour)
      - schedule: {rate: [cron(0 1 * * ? *)], method: scheduler}
      - eventBridge: {pattern: {source: [orders]}}
      - cloudwatchEvent: {event: {source: [aws.ec2]}}
      - cloudwatchLog: /aws/lambda/other
      - alexaSkill: amzn1.ask.skill.1234
  poll:
    handler: a.h
    events:
      - sqs: arn:aws:sqs:us-east-1:123456789012:jobs
      - stream: arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000
      - stream: {type: kinesis, arn: !GetAtt Stream.Arn}
      - kafka: {topic: orders, bootstrapServers: [b-1.example.com:9092]}
      - msk: {arn: "arn:aws:kafka:us-east-1:123456789012:cluster/orders/abc", topic: orders}
      - rabbitmq: {arn: "arn:aws:mq:us-east-1:123456789012:broker:orders:b-1", queue: q}
      - iotFleetProvisioning: {templateBody: {}}
resources:
  Resources:
    Stream: {Type: AWS::Kinesis::Stream, Properties: {ShardCount: 1}}
    ExistingBucket: {Type: AWS::S3::Bucket}
"""


def test_api_events_become_routes(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, EVENTS)
    routes = [(r.key, r.type, r.api, r.method, r.path, r.authorization, r.api_key_required, r.location.line)
              for r in inventory.api_routes]
    assert routes == [
        ("serverless.yml#api#http0", "serverless:http", "ApiGatewayRestApi", "GET", "/orders", "NONE", False, 18),
        ("serverless.yml#api#http1", "serverless:http", "ApiGatewayRestApi", "DELETE", "/orders/{id}", "AWS_IAM",
         False, 19),
        ("serverless.yml#api#http2", "serverless:http", "ApiGatewayRestApi", "PUT", "/orders", "NONE", True, 20),
        ("serverless.yml#api#http3", "serverless:http", "ApiGatewayRestApi", "GET", "/pools", "COGNITO_USER_POOLS",
         False, 21),
        ("serverless.yml#api#http4", "serverless:http", "ApiGatewayRestApi", "ANY", "/custom", "CUSTOM", False, 22),
        ("serverless.yml#api#httpApi6", "serverless:httpApi", "HttpApi", "ANY", "$default", "NONE", False, 24),
        ("serverless.yml#api#httpApi7", "serverless:httpApi", "HttpApi", "GET", "/jwt", "JWT", False, 25),
        ("serverless.yml#api#httpApi8", "serverless:httpApi", "HttpApi", "GET", "/lambda", "CUSTOM", False, 26),
        ("serverless.yml#api#httpApi9", "serverless:httpApi", "HttpApi", "GET", "/iam", "AWS_IAM", False, 27),
    ]
    assert {r.function for r in inventory.api_routes} == {ResourceRef("serverless.yml#api", "Arn")}
    api_permissions = [(p.key, p.principal, p.source_arn) for p in inventory.permissions if p.id == "api"]
    assert api_permissions == [
        ("serverless.yml#api#apigateway", "apigateway.amazonaws.com", Unresolved(
            "arn:aws:execute-api:us-east-1:${AWS::AccountId}:${ApiGatewayRestApi}/*/*", API_REASON)),
        ("serverless.yml#api#httpapi", "apigateway.amazonaws.com", Unresolved(
            "arn:aws:execute-api:us-east-1:${AWS::AccountId}:${HttpApi}/*", API_REASON)),
    ]
    assert _findings(inventory, "EXP008") == [("EXP008", "api", 18), ("EXP008", "api", 20), ("EXP008", "api", 24)]


def test_push_events_become_restricted_permissions_and_async_sources(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, EVENTS)
    permissions = [(p.key, p.principal, p.source_arn, p.source_account, p.event_source_token)
                   for p in inventory.permissions if p.id == "async"]
    account = Unresolved("!Ref AWS::AccountId", "pseudo parameter known only at deploy time")
    assert permissions == [
        ("serverless.yml#async#event0", "s3.amazonaws.com", "arn:aws:s3:::orders-uploads-prod", account, None),
        ("serverless.yml#async#event1", "s3.amazonaws.com",
         Unresolved("arn:aws:s3:::${ExistingBucket}", "Fn::Join with parts known only at deploy time"), account,
         None),
        ("serverless.yml#async#event2", "sns.amazonaws.com",
         Unresolved("arn:aws:sns:us-east-1:${AWS::AccountId}:orders-topic", "topic created by the Framework"), None,
         None),
        ("serverless.yml#async#event3", "sns.amazonaws.com", "arn:aws:sns:us-east-1:123456789012:other", None, None),
        ("serverless.yml#async#event4", "events.amazonaws.com",
         Unresolved("!GetAtt AsyncEventsRuleSchedule5.Arn", CREATED), None, None),
        ("serverless.yml#async#event6", "events.amazonaws.com",
         Unresolved("!GetAtt AsyncEventsRule7.Arn", CREATED), None, None),
        ("serverless.yml#async#event7", "events.amazonaws.com",
         Unresolved("!GetAtt AsyncEventsRule8.Arn", CREATED), None, None),
        ("serverless.yml#async#event8", "logs.amazonaws.com",
         Unresolved("arn:aws:logs:us-east-1:${AWS::AccountId}:log-group:/aws/lambda/other:*",
                    "log group of the subscription"), None, None),
        ("serverless.yml#async#event9", "alexa-appkit.amazon.com", None, None, "amzn1.ask.skill.1234"),
    ]
    sources = sorted((s.key, s.kind, s.invocation) for s in inventory.event_sources if s.id == "async")
    assert sources == [
        ("serverless.yml#async#event0#source", "s3", "async"),
        ("serverless.yml#async#event1#source", "s3", "async"),
        ("serverless.yml#async#event2#source", "sns", "async"),
        ("serverless.yml#async#event3#source", "sns", "async"),
        ("serverless.yml#async#event4#source", "events", "async"),
        ("serverless.yml#async#event5", "events", "async"),  # EventBridge Scheduler: a role, no permission
        ("serverless.yml#async#event6#source", "events", "async"),
        ("serverless.yml#async#event7#source", "events", "async"),
        ("serverless.yml#async#event8#source", "logs", "async"),
    ]
    # Nothing the Framework generates is public or unrestricted.
    assert _findings(inventory, "EXP003", "EXP004", "EXP006") == []
    assert _findings(inventory, "RES001") == [("RES001", "async", 28)]


def test_queue_and_stream_events_become_mappings(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, EVENTS)
    sources = [(s.key, s.kind, s.invocation, s.source, s.location.line)
               for s in inventory.event_sources if s.id == "poll"]
    assert sources == [
        ("serverless.yml#poll#event0", "sqs", "poll", "arn:aws:sqs:us-east-1:123456789012:jobs", 44),
        ("serverless.yml#poll#event1", "dynamodb", "poll",
         "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000", 45),
        ("serverless.yml#poll#event2", "kinesis", "poll", ResourceRef("serverless.yml#Stream", "Arn"), 46),
        ("serverless.yml#poll#event3", "kafka", "poll", None, 47),
        ("serverless.yml#poll#event4", "kafka", "poll", "arn:aws:kafka:us-east-1:123456789012:cluster/orders/abc", 48),
        ("serverless.yml#poll#event5", "mq", "poll", "arn:aws:mq:us-east-1:123456789012:broker:orders:b-1", 49),
    ]
    role = inventory.roles[0]
    assert isinstance(role.policies[0].document, PolicyDocument)
    added = [(st.actions, st.resources) for st in role.policies[0].document.statements[2:]]
    assert added == [
        (["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
         ["arn:aws:sqs:us-east-1:123456789012:jobs"]),
        (["dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream", "dynamodb:ListStreams"],
         ["arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000"]),
        (["kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:DescribeStream", "kinesis:ListStreams"],
         [ResourceRef("serverless.yml#Stream", "Arn")]),
    ]
    assert _gaps(inventory) == [("unsupported", "iotFleetProvisioning event of function poll is not modelled", 50)]


def test_destinations_and_retries_become_an_event_invoke_config(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, """\
service: orders
provider: {name: aws, runtime: python3.13}
functions:
  resize:
    handler: a.h
    maximumRetryAttempts: 1
    destinations:
      onSuccess: notify
      onFailure: arn:aws:sqs:us-east-1:123456789012:failed
    events:
      - s3: uploads-example
  notify:
    handler: a.h
""")
    (config,) = inventory.event_invoke_configs
    assert (config.key, config.id, config.function, config.on_success, config.on_failure,
            config.maximum_retry_attempts, config.location.line) == (
        "serverless.yml#resize#invoke-config", "resize", ResourceRef("serverless.yml#resize"),
        ResourceRef("serverless.yml#notify", "Arn"), "arn:aws:sqs:us-east-1:123456789012:failed", 1, 7)
    role_statements = inventory.roles[0].policies[0].document
    assert isinstance(role_statements, PolicyDocument)
    assert [(st.actions, st.resources) for st in role_statements.statements[2:]] == [
        (["lambda:InvokeFunction"], [Unresolved(
            "arn:aws:lambda:us-east-1:${AWS::AccountId}:function:orders-dev-notify", "function of the service")]),
        (["sqs:SendMessage"], ["arn:aws:sqs:us-east-1:123456789012:failed"]),
    ]
    assert _findings(inventory, "RES001") == []
    assert _gaps(inventory) == []


# ---------------------------------------------------------------- log groups and layers
def test_log_groups_and_their_retention(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, """\
service: orders
provider:
  name: aws
  runtime: python3.13
  stage: prod
  logRetentionInDays: 30
functions:
  inherited:
    handler: a.h
  own:
    handler: a.h
    logRetentionInDays: 7
  silent:
    handler: a.h
    disableLogs: true
""")
    groups = [(g.key, g.type, g.name, g.retention_days, g.location.line) for g in inventory.log_groups]
    assert groups == [
        ("serverless.yml#inherited#log-group", "serverless:log-group", "/aws/lambda/orders-prod-inherited", 30, 6),
        ("serverless.yml#own#log-group", "serverless:log-group", "/aws/lambda/orders-prod-own", 7, 12),
    ]
    unset = _collect(tmp_path, "service: orders\nprovider: {name: aws, runtime: python3.13}\nfunctions:\n"
                               "  api: {handler: a.h}\n")
    assert [(g.name, g.retention_days, g.location.line) for g in unset.log_groups] == [
        ("/aws/lambda/orders-dev-api", None, 4)]
    assert _findings(unset, "OBS002") == [("OBS002", "api", 4)]


def test_layers_of_the_service(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, """\
service: orders
provider: {name: aws, runtime: python3.13}
layers:
  common:
    path: layers/common
    compatibleRuntimes: [python3.13]
    allowedAccounts:
      - "*"
functions:
  api:
    handler: a.h
    layers:
      - !Ref CommonLambdaLayer
""")
    (layer,) = inventory.layers
    assert (layer.key, layer.id, layer.type, layer.content, layer.compatible_runtimes) == (
        "serverless.yml#layers.common", "common", "serverless:layer", CodeLocation("local", "layers/common"),
        ["python3.13"])
    (grant,) = inventory.layer_permissions
    assert (grant.key, grant.layer, grant.principal, grant.action, grant.location.line) == (
        "serverless.yml#layers.common#permission0", ResourceRef("serverless.yml#layers.common"), "*",
        "lambda:GetLayerVersion", 8)
    assert _function(inventory, "api").layers == [ResourceRef("serverless.yml#layers.common")]
    assert _findings(inventory, "EXP007", "INT004") == [("EXP007", "common", 8)]


# ---------------------------------------------------------------- the resources section
def test_resources_section_links_both_ways(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, """\
service: orders
provider: {name: aws, runtime: python3.13}
functions:
  api:
    handler: a.h
    environment:
      TABLE: !Ref Table
resources:
  Resources:
    Table: {Type: AWS::DynamoDB::Table}
    PublicInvoke:
      Type: AWS::Lambda::Permission
      Properties:
        FunctionName: !GetAtt ApiLambdaFunction.Arn
        Action: lambda:InvokeFunction
        Principal: "*"
    ExtraPolicy:
      Type: AWS::IAM::Policy
      Properties:
        PolicyName: extra
        Roles: [!Ref IamRoleLambdaExecution]
        PolicyDocument:
          Statement: [{Effect: Allow, Action: "iam:*", Resource: "*"}]
    Trail:
      Type: AWS::CloudTrail::Trail
      Properties: {IsLogging: true, S3BucketName: trail-bucket}
""")
    api = _function(inventory, "api")
    assert api.environment["TABLE"].value == ResourceRef("serverless.yml#Table")
    permission = next(p for p in inventory.permissions if p.id == "PublicInvoke")
    assert (permission.type, permission.function, permission.location.line) == (
        "AWS::Lambda::Permission", ResourceRef("serverless.yml#api", "Arn"), 11)
    assert inventory.function_for(permission.function) is api
    role = inventory.roles[0]
    assert [(p.name, p.kind, p.location.line) for p in role.policies] == [
        ("orders-dev-lambda", "inline", 2), ("extra", "inline", 17)]
    assert [t.id for t in inventory.trails] == ["Trail"]
    assert _findings(inventory, "EXP003", "IAM002") == [
        ("EXP003", "PublicInvoke", 16), ("IAM002", "IamRoleLambdaExecution", 17)]


def test_overrides_and_extensions_of_generated_resources(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, """\
service: orders
provider: {name: aws, runtime: python3.13}
functions:
  api:
    handler: a.h
  worker:
    handler: a.h
resources:
  Resources:
    ApiLambdaFunction:
      Properties:
        ReservedConcurrentExecutions: 5
  extensions:
    WorkerLambdaFunction:
      Properties:
        CodeSigningConfigArn: arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-1
    IamRoleLambdaExecution:
      Properties:
        PermissionsBoundary: arn:aws:iam::123456789012:policy/boundary
""")
    api, worker = _function(inventory, "api"), _function(inventory, "worker")
    assert [fn.id for fn in inventory.functions] == ["api", "worker"]  # the override is no extra function
    assert (api.reserved_concurrency, api.at("ReservedConcurrentExecutions").line, api.runtime) == (
        5, 12, "python3.13")
    assert (worker.code_signing_config, worker.at("CodeSigningConfigArn").line) == (
        "arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-1", 16)
    assert inventory.roles[0].permissions_boundary == "arn:aws:iam::123456789012:policy/boundary"
    assert _findings(inventory, "INT001", "RES002") == [("INT001", "api", 4), ("RES002", "worker", 6)]
    assert _gaps(inventory) == []


def test_resources_from_files(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, """\
service: orders
provider: {name: aws, runtime: python3.13, role: LambdaRole}
functions:
  api: {handler: a.h}
resources:
  - Resources:
      LambdaRole: ${file(./resources/role.yml)}
      Database: ${file(./resources/missing.yml)}
  - ${file(./resources/more.yml)}
""", files={
        "resources/role.yml": "Type: AWS::IAM::Role\nProperties:\n  RoleName: ${self:service}-lambda\n",
        "resources/more.yml": "Resources:\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n"
                              "    Properties: {GroupDescription: x}\n",
    })
    roles = [(role.id, role.name, role.location.line) for role in inventory.roles]
    assert roles == [("LambdaRole", "orders-lambda", 7)]
    assert _function(inventory, "api").role == ResourceRef("serverless.yml#LambdaRole", "Arn")
    assert [(group.id, group.location.line) for group in inventory.security_groups] == [("Sg", 9)]
    assert _gaps(inventory) == [
        ("missing-file", "file ./resources/missing.yml does not exist", 8),
        ("unresolved", "resource Database is not known statically (file ./resources/missing.yml does not exist)", 8),
    ]


def test_parameters_of_the_resources_section_and_stack_parameters(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, """\
service: orders
provider:
  name: aws
  runtime: python3.13
  stackParameters:
    - ParameterKey: DbPassword
      ParameterValue: ${ssm:/orders/db-password}
functions:
  api:
    handler: a.h
    environment:
      DB_PASSWORD: !Ref DbPassword
      API_KEY: !Ref ApiKey
      LOG_LEVEL: !Ref LogLevel
resources:
  Parameters:
    DbPassword: {Type: String, NoEcho: true, Default: Example-Passw0rd}
    ApiKey: {Type: String, NoEcho: true}
    LogLevel: {Type: String, Default: INFO}
""")
    environment = _function(inventory, "api").environment
    values = {name: (var.value, var.parameter.name if var.parameter else None) for name, var in environment.items()}
    assert values == {
        "DB_PASSWORD": (Unresolved("${ssm:/orders/db-password}", "read from SSM Parameter Store at deploy time"),
                        "DbPassword"),
        "API_KEY": (Unresolved("!Ref ApiKey", "parameter without a default value"), "ApiKey"),
        "LOG_LEVEL": ("INFO", "LogLevel"),
    }
    parameter = environment["DB_PASSWORD"].parameter
    assert parameter is not None
    assert (parameter.no_echo, parameter.default, parameter.location) == (
        True, "Example-Passw0rd", Location("serverless.yml", 17, None, ("resources", "Parameters", "DbPassword")))
    # The default still ships in the template, whatever value the deployment passes.
    assert _findings(inventory, "SEC001", "SEC002") == [("SEC002", "api", 17)]
    assert _gaps(inventory) == []


def test_extension_of_an_unknown_resource_is_a_gap(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, """\
service: orders
provider: {name: aws}
resources:
  extensions:
    NopeLambdaFunction:
      Properties: {MemorySize: 128}
""")
    assert _gaps(inventory) == [
        ("invalid-template", "extensions.NopeLambdaFunction extends no generated resource", None)]


# ---------------------------------------------------------------- variables
VARIABLES = """\
service: orders
custom:
  table: orders-${sls:stage}
  sizes:
    dev: small
  size: ${self:custom.sizes.${opt:stage, 'dev'}}
  common: ${file(./config/common.yml)}
provider:
  name: aws
  runtime: python3.13
  stage: ${opt:stage, 'dev'}
  region: ${opt:region, 'eu-west-1'}
functions:
  api:
    handler: a.h
    environment:
      TABLE: ${self:custom.table}
      SIZE: ${self:custom.size}
      FROM_FILE: ${self:custom.common.greeting}
      FILE_KEY: ${file(./config/common.yml):nested.value}
      REGION: ${aws:region}
      ACCOUNT: arn:aws:sns:${aws:region}:${aws:accountId}:topic
      FALLBACK: ${self:custom.missing, 'plan-b'}
      CHAINED: ${self:custom.missing, self:custom.table}
      NUMBER: ${self:custom.missing, 3}
      SSM: ${ssm:/orders/key}
      SSM_DEFAULT: ${ssm:/orders/key, 'not-used'}
      STACK: ${cf:other-stack.Output}
      PARAM: ${param:token}
      FROM_ENV: ${env:ORDERS_SECRET}
      FROM_ENV_DEFAULT: ${env:ORDERS_SECRET, 'dflt'}
      OPTION: ${opt:token}
      SUB: !Sub arn:aws:s3:::${AWS::AccountId}-bucket
"""


def test_variables_resolved_from_the_files(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, VARIABLES, files={
        "config/common.yml": "greeting: hello-${sls:stage}\nnested:\n  value: 42\n"})
    values = {name: var.value for name, var in _function(inventory, "api").environment.items()}
    assert values == {
        "TABLE": "orders-dev",
        "SIZE": "small",
        "FROM_FILE": "hello-dev",
        "FILE_KEY": "42",
        "REGION": "eu-west-1",
        "ACCOUNT": Unresolved("arn:aws:sns:eu-west-1:${AWS::AccountId}:topic",
                              "the deploying account, known at deploy time"),
        "FALLBACK": "plan-b",
        "CHAINED": "orders-dev",
        "NUMBER": "3",
        "SSM": Unresolved("${ssm:/orders/key}", "read from SSM Parameter Store at deploy time"),
        "SSM_DEFAULT": Unresolved("${ssm:/orders/key, 'not-used'}", "read from SSM Parameter Store at deploy time; "
                                  "the default after the comma is not the deployed value"),
        "STACK": Unresolved("${cf:other-stack.Output}", "output of another CloudFormation stack, read at deploy time"),
        "PARAM": Unresolved("${param:token}", "Serverless parameter, known at deploy time"),
        "FROM_ENV": Unresolved("${env:ORDERS_SECRET}",
                               "environment variable ORDERS_SECRET of the deploying machine (never read)"),
        "FROM_ENV_DEFAULT": Unresolved("${env:ORDERS_SECRET, 'dflt'}",
                                       "environment variable ORDERS_SECRET of the deploying machine (never read); "
                                       "the default after the comma is not the deployed value"),
        "OPTION": Unresolved("${opt:token}", "command-line option --token known only at deploy time"),
        "SUB": Unresolved("arn:aws:s3:::${AWS::AccountId}-bucket", "Fn::Sub with parts known only at deploy time"),
    }
    assert _function(inventory, "api").name == "orders-dev-api"
    assert _gaps(inventory) == []


def test_environment_of_the_scanning_machine_is_never_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "ci-secret-value-0123456789"
    monkeypatch.setenv("ORDERS_SECRET", secret)
    monkeypatch.setenv("STAGE", secret)
    inventory = _collect(tmp_path, VARIABLES.replace("stage: ${opt:stage, 'dev'}", "stage: ${env:STAGE}"), files={
        "config/common.yml": "greeting: hi\nnested: {value: 1}\n"})
    dump = repr([*inventory.resources(), *inventory.coverage_gaps])
    assert secret not in dump
    api = _function(inventory, "api")
    assert api.environment["FROM_ENV"].value == Unresolved(
        "${env:ORDERS_SECRET}", "environment variable ORDERS_SECRET of the deploying machine (never read)")
    assert api.name == Unresolved("orders-${env:STAGE}-api", "service or stage known only at deploy time")


def test_cyclic_variables_are_a_gap_not_a_loop(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, """\
service: orders
custom:
  a: ${self:custom.b}
  b: ${self:custom.a}
provider:
  name: aws
  runtime: python3.13
  stage: ${sls:stage}
functions:
  api:
    handler: a.h
    environment:
      LOOP: ${self:custom.a}
""")
    api = _function(inventory, "api")
    assert api.environment["LOOP"].value == Unresolved("${self:custom.a}", "cyclic variable reference")
    assert api.name == Unresolved("orders-${self:provider.stage}-api", "service or stage known only at deploy time")
    assert _gaps(inventory) == [
        ("invalid-template", "cyclic variables: self:provider.stage -> self:provider.stage", 8),
        ("invalid-template", "cyclic variables: self:custom.a -> self:custom.b -> self:custom.a", 4),
    ]


def test_variables_nested_too_deeply_are_a_gap(tmp_path: Path) -> None:
    chain = "\n".join(f"  v{i}: ${{self:custom.v{i + 1}}}" for i in range(MAX_DEPTH + 5))
    inventory = _collect(tmp_path, f"service: orders\ncustom:\n{chain}\n  v{MAX_DEPTH + 5}: end\n"
                                   "provider: {name: aws, runtime: python3.13}\nfunctions:\n  api:\n    handler: a.h\n"
                                   "    environment:\n      DEEP: ${self:custom.v0}\n")
    value = _function(inventory, "api").environment["DEEP"].value
    assert isinstance(value, Unresolved) and value.reason == "variables nested too deeply"
    assert [(kind, message) for kind, message, _ in _gaps(inventory)] == [
        ("invalid-template", f"variables nested more than {MAX_DEPTH} levels deep")]


def test_variables_that_expand_exponentially_are_refused(tmp_path: Path) -> None:
    levels = "\n".join(f'  l{i}: ["${{self:custom.l{i - 1}}}", "${{self:custom.l{i - 1}}}"]' for i in range(1, 31))
    inventory = _collect(tmp_path, f"service: orders\ncustom:\n  l0: [x, y]\n{levels}\n"
                                   "provider: {name: aws}\nfunctions:\n  api:\n    handler: a.h\n"
                                   "    environment: {BOMB: '${self:custom.l30}'}\n")
    assert inventory.functions == []
    assert _gaps(inventory) == [("invalid-template", "variables expand to more than 2000000 nodes", None)]


def test_hostile_variable_strings_are_refused_quickly(tmp_path: Path) -> None:
    nested = "${AWS::Region}" * 600  # nested ones are refused by the loader already (bracket depth)
    inventory = _collect(tmp_path, f"service: orders\nprovider: {{name: aws}}\ncustom:\n  x: '{nested}'\n"
                                   "functions:\n  api:\n    handler: a.h\n    environment: {X: '${self:custom.x}'}\n")
    assert _gaps(inventory) == [("invalid-template", "a string holds more than 500 variables", None)]


def test_variable_scanning_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lambdasec.collectors.serverless import variables

    monkeypatch.setattr(variables, "MAX_SCANNED", 2000)
    nested = "${self:custom." * 30 + "x" + "}" * 30  # every level rescans the text inside it
    inventory = _collect(tmp_path, f"service: orders\nprovider: {{name: aws}}\nfunctions:\n  api:\n    handler: a.h\n"
                                   f"    environment: {{X: '{nested}'}}\n")
    assert inventory.functions == []
    assert _gaps(inventory)[-1] == ("invalid-template", "variables need more than 2000 characters of scanning", None)


def test_variable_problems_are_gaps(tmp_path: Path) -> None:
    (tmp_path.parent / "outside.yml").write_text("secret: nope\n")
    inventory = _collect(tmp_path, """\
service: orders
provider: {name: aws, runtime: python3.13}
functions:
  api:
    handler: a.h
    environment:
      MISSING_KEY: ${self:custom.nothing}
      MISSING_FILE: ${file(./nope.yml):x}
      OUTSIDE: ${file(../outside.yml):secret}
      CODE: ${file(./values.js):x}
      UNKNOWN: ${vault:secret/data/x}
      BROKEN: ${file(./broken.yml):x}
""", files={"values.js": "module.exports = {x: 1}", "broken.yml": "a: [unclosed\n"})
    values = {name: var.value for name, var in _function(inventory, "api").environment.items()}
    assert values == {
        "MISSING_KEY": Unresolved("${self:custom.nothing}",
                                  "variable ${self:custom.nothing} has no value: custom is not set"),
        "MISSING_FILE": Unresolved("${file(./nope.yml):x}", "file ./nope.yml does not exist"),
        "OUTSIDE": Unresolved("${file(../outside.yml):secret}", "file outside the scan root"),
        "CODE": Unresolved("${file(./values.js):x}", "value computed by code"),
        "UNKNOWN": Unresolved("${vault:secret/data/x}", "unknown variable source 'vault'"),
        "BROKEN": Unresolved("${file(./broken.yml):x}", "file not parsable"),
    }
    assert _gaps(inventory) == [
        ("unresolved", "variable ${self:custom.nothing} has no value: custom is not set", 7),
        ("missing-file", "file ./nope.yml does not exist", 8),
        ("unsupported", "${file(../outside.yml):secret}: file outside the scan root is not read", 9),
        ("unsupported", "${file(./values.js):x}: JavaScript/TypeScript files are never run", 10),
        ("unresolved", "unknown variable source 'vault' in ${vault:secret/data/x}: value not known", 11),
        ("parse-error", "./broken.yml: invalid YAML: line 2: did not find expected ',' or ']'", 12),
    ]


def test_gaps_never_show_a_fallback_default(tmp_path: Path) -> None:
    default = "sk_live_" + "0123456789abcdefABCDEF"  # a default may be a real secret
    inventory = _collect(tmp_path, f"""\
service: orders
provider: {{name: aws, runtime: python3.13}}
functions:
  api:
    handler: a.h
    environment:
      KEY: ${{vault:payments/key, '{default}'}}
""")
    assert _function(inventory, "api").environment["KEY"].value == Unresolved(
        f"${{vault:payments/key, '{default}'}}",
        "unknown variable source 'vault'; the default after the comma is not the deployed value")
    assert _gaps(inventory) == [
        ("unresolved", "unknown variable source 'vault' in ${vault:payments/key, ...}: value not known", 7)]


def test_cloudformation_sub_syntax_is_not_a_variable(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, """\
service: orders
provider: {name: aws, runtime: python3.13}
functions:
  api:
    handler: a.h
    environment:
      QUEUE: !Sub https://sqs.${AWS::Region}.amazonaws.com/${AWS::AccountId}/jobs-${self:provider.stage}
""")
    assert _function(inventory, "api").environment["QUEUE"].value == Unresolved(
        "https://sqs.${AWS::Region}.amazonaws.com/${AWS::AccountId}/jobs-dev",
        "Fn::Sub with parts known only at deploy time")
    assert _gaps(inventory) == []


# ---------------------------------------------------------------- suppressions
def test_comment_suppressions_cover_what_the_function_generates(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, """\
service: orders
provider:
  name: aws
  runtime: python3.13
  # lambdasec: ignore[IAM007] the role is audited elsewhere
  iamRoleStatements: []
functions:
  # lambdasec: ignore[EXP001, EXP003] public webhook, verified by signature
  hook:
    handler: a.h
    url: true
  other:  # lambdasec: ignore[RES002]
    handler: a.h
""")
    assert {(type(r).__name__, r.key): r.suppressions for r in inventory.resources()} == {
        ("Function", "serverless.yml#hook"): {"EXP001": "public webhook, verified by signature",
                                              "EXP003": "public webhook, verified by signature"},
        ("FunctionUrl", "serverless.yml#hook#url"): {"EXP001": "public webhook, verified by signature",
                                                     "EXP003": "public webhook, verified by signature"},
        ("Permission", "serverless.yml#hook#url-permission"): {"EXP001": "public webhook, verified by signature",
                                                               "EXP003": "public webhook, verified by signature"},
        ("Permission", "serverless.yml#hook#url-invoke-permission"): {
            "EXP001": "public webhook, verified by signature", "EXP003": "public webhook, verified by signature"},
        ("LogGroup", "serverless.yml#hook#log-group"): {"EXP001": "public webhook, verified by signature",
                                                        "EXP003": "public webhook, verified by signature"},
        ("Function", "serverless.yml#other"): {},
        ("LogGroup", "serverless.yml#other#log-group"): {},
        ("Role", "serverless.yml#IamRoleLambdaExecution"): {"IAM007": "the role is audited elsewhere"},
    }
    assert _gaps(inventory) == [("invalid-suppression", "suppression comment ignored: it needs a reason", 12)]
    report = evaluate(inventory, [r for r in all_rules() if r.code in ("EXP001", "EXP003")],
                      ScanSettings(now=FIXTURE_CLOCK))
    assert (report.findings, len(report.suppressed)) == ([], 3)


# ---------------------------------------------------------------- formats and bad input
def test_json_configuration(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, """{
  "service": "orders",
  "provider": {"name": "aws", "runtime": "python3.8"},
  "functions": {
    "api": {"handler": "a.h", "url": true}
  }
}
""", name="serverless.json")
    assert [(fn.id, fn.location.line, fn.at("Runtime").line) for fn in inventory.functions] == [("api", 5, 3)]
    assert _findings(inventory, "EXP001", "RUN001") == [("EXP001", "api", 5), ("RUN001", "api", 3)]


def test_short_provider_form_and_name_check(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, "service: orders\nprovider: aws\nfunctions:\n  api: {handler: a, runtime: go1.x}\n")
    assert [(fn.id, fn.runtime) for fn in inventory.functions] == [("api", "go1.x")]
    assert _gaps(inventory) == []
    names = ["serverless.yml", "Serverless.YAML", "serverless.json", "EXP001.fail.serverless.yml", "serverless.ts",
             "template.yaml", "my-serverless.yml", "serverless.yml.bak"]
    assert [is_serverless_file(Path(name)) for name in names] == [True, True, True, True, True, False, False, False]


@pytest.mark.parametrize("name", ["template.yaml", "serverless-old.yml", "config.json", "serverless.yml.bak"])
def test_other_files_are_not_ours(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("service: orders\nprovider: {name: aws}\n")
    assert collect_file(path, tmp_path, CollectOptions()) is None


@pytest.mark.parametrize("text", [
    "service: x\nprovider: {name: azure}\n",
    "service: x\nprovider: google\n",
    "service: x\ncustom: {cloud: openwhisk}\nprovider: {name: '${self:custom.cloud}'}\nfunctions: {f: {handler: h}}\n",
])
def test_a_configuration_for_another_cloud_is_not_ours(tmp_path: Path, text: str,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "serverless.yml"
    path.write_text(text)
    with caplog.at_level("INFO", logger="lambdasec"):
        assert collect_file(path, tmp_path, CollectOptions()) is None
    assert [r.getMessage() for r in caplog.records][-1].startswith("serverless.yml: provider ")
    assert caplog.records[-1].getMessage().endswith(" is not AWS, skipped")


@pytest.mark.parametrize(("name", "text", "gap"), [
    ("serverless.yml", "service: [unclosed\n",
     ("parse-error", "invalid YAML: line 2: did not find expected ',' or ']'")),
    ("serverless.yml", "- just\n- a list\n",
     ("invalid-template", "not a Serverless Framework configuration: the document is not a mapping")),
    ("serverless.yml", "Resources: {}\n",
     ("invalid-template", "not a Serverless Framework configuration: no 'service' key")),
    ("serverless.json", '{"service": "x",}',
     ("parse-error", "invalid JSON: line 1: Expecting property name enclosed in double quotes")),
    ("serverless.ts", "export default {service: 'x'}", ("unsupported", "serverless.ts is code, which lambdasec never "
                                                       "runs: scan the output of `serverless print` instead")),
    ("api.serverless.js", "module.exports = {}", ("unsupported", "api.serverless.js is code, which lambdasec never "
                                                 "runs: scan the output of `serverless print` instead")),
])
def test_bad_input_is_one_gap(tmp_path: Path, name: str, text: str, gap: tuple[str, str]) -> None:
    inventory = _collect(tmp_path, text, name=name)
    assert [(g.kind, g.message) for g in inventory.coverage_gaps] == [gap]
    assert list(inventory.resources()) == []


def test_alias_bomb_and_size_limits(tmp_path: Path) -> None:
    bomb = "service: x\na: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8))
    inventory = _collect(tmp_path, bomb)
    assert [(g.kind, g.message) for g in inventory.coverage_gaps] == [
        ("parse-error", "document expands to more than 2000000 nodes (YAML alias bomb?)")]
    big = _collect(tmp_path, "service: x\n" + "# padding\n" * 200, max_template_bytes=100)
    assert [(g.kind, g.message) for g in big.coverage_gaps] == [
        ("too-large", "configuration is 2011 bytes, over the 100 byte limit")]
    (tmp_path / "serverless.yml").write_bytes(b"service: \xff\n")
    broken = collect_file(tmp_path / "serverless.yml", tmp_path, CollectOptions())
    assert broken is not None
    assert [(g.kind, g.message) for g in broken.coverage_gaps] == [("parse-error", "file is not valid UTF-8")]


def test_unexpected_shapes_never_raise(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, """\
service: orders
provider:
  name: aws
  environment: [not, a, mapping]
  vpc: just-a-string
  iam: {role: {statements: not-a-list}}
functions:
  api:
    handler: a.h
    events: not-a-list
    url: {authorizer: custom}
    destinations: {onFailure: unknownFunction}
  broken: just-a-string
  weird:
    handler: a.h
    events:
      - {http: GET /x, sqs: arn:aws:sqs:us-east-1:1:q}
      - http: {method: [get]}
layers: [not, a, mapping]
resources: just-text
""")
    assert [fn.id for fn in inventory.functions] == ["api", "weird"]
    assert _gaps(inventory) == [
        ("unresolved", "resources section is not known statically", None),
        ("unresolved", "layers section is not known statically", None),
        ("unresolved", "events of function api are not known statically", 10),
        ("unresolved", "function broken is not known statically", 13),
        ("invalid-template", "event 0 of function weird is not a mapping of one event type", 17),
        ("unresolved", "http event 1 of function weird has no static method and path", 18),
        ("unresolved", "environment of api is not known statically", 8),
        ("unresolved", "environment of weird is not known statically", 14),
    ]
    url = inventory.function_urls[0]
    assert url.auth_type == Unresolved("custom", "function URL authorizer not understood")
    assert not any(gap.kind == "internal-error" for gap in inventory.coverage_gaps)


def test_rules_see_no_difference_with_the_sam_equivalent(tmp_path: Path) -> None:
    """The same function written for SAM and for the Framework gets the same findings from function rules."""
    sam = tmp_path / "template.yaml"
    sam.write_text("""\
Transform: AWS::Serverless-2016-10-31
Resources:
  api:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.8
      Handler: a.h
      CodeUri: s3://b/k.zip
      Environment:
        Variables: {GITHUB_TOKEN: ghp_0123456789abcdefghijklmnopqrstuvwxyz}
      FunctionUrlConfig: {AuthType: NONE}
""")
    from lambdasec.collectors.cloudformation.collector import collect_file as collect_cloudformation

    sam_inventory = collect_cloudformation(sam, tmp_path, CollectOptions())
    assert sam_inventory is not None
    serverless = _collect(tmp_path, """\
service: orders
provider: {name: aws, runtime: python3.8}
functions:
  api:
    handler: a.h
    url: true
    environment: {GITHUB_TOKEN: ghp_0123456789abcdefghijklmnopqrstuvwxyz}
""")
    codes = ("EXP001", "EXP003", "SEC001", "RUN001", "ENC001", "OBS001", "NET001", "RES002", "INT001")

    def verdicts(inventory: Inventory) -> list[tuple[str, list[str]]]:
        """Which rule reports which function: resource ids differ (SAM's `apiUrl`, the serverless `api`)."""
        report = evaluate(inventory, [r for r in all_rules() if r.code in codes], ScanSettings(now=FIXTURE_CLOCK))
        return sorted((f.rule_id, f.functions) for f in report.findings)

    assert verdicts(serverless) == verdicts(sam_inventory) == [
        ("ENC001", ["api"]), ("EXP001", ["api"]), ("EXP003", ["api"]), ("EXP003", ["api"]), ("INT001", ["api"]),
        ("NET001", ["api"]), ("OBS001", ["api"]), ("RES002", ["api"]), ("RUN001", ["api"]), ("SEC001", ["api"])]


def test_inventory_types(tmp_path: Path) -> None:
    inventory = _collect(tmp_path, EVENTS)
    kinds = {(type(r).__name__, r.type) for r in inventory.resources()}
    assert {(name, kind) for name, kind in kinds if kind.startswith("serverless:")} == {
        ("Function", "serverless:function"), ("LogGroup", "serverless:log-group"),
        ("Role", "serverless:iam-role"), ("Permission", "serverless:permission"),
        ("EventSource", "serverless:permission"), ("EventSource", "serverless:event"),
        ("ApiRoute", "serverless:http"), ("ApiRoute", "serverless:httpApi"),
    }
    assert {(name, kind) for name, kind in kinds if not kind.startswith("serverless:")} == set()
