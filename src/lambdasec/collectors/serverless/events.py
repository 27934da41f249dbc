"""Function events -> what the Framework deploys for them.

Services that push events get a statement in the function's resource policy, written as the Framework
writes it (with SourceArn, and SourceAccount for S3): no public or unrestricted grant is invented.
Queues and streams get an event source mapping, and the shared role the read permissions the Framework
adds. ``http`` and ``httpApi`` events become API routes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lambdasec.fast_dataclass import dataclass

from ...model.location import Location
from ...model.values import ResourceRef, Unresolved
from . import naming
from .compiler import Compiler, Origin, RouteSpec, settings, text_of

_LAMBDA_INTEGRATIONS = ("lambda", "lambda-proxy", "aws", "aws-proxy")


@dataclass(frozen=True)
class _Event:
    key: str  # the function's key
    index: int
    kind: str  # "http", "s3", ...
    value: Any  # the string form, the settings mapping, or an intrinsic
    where: Location

    @property
    def config(self) -> Mapping[str, Any]:
        return settings(self.value)

    @property
    def stem(self) -> str:
        return naming.normalized(self.key)

    def at(self, compiler: Compiler, name: str) -> Location:
        return compiler.at((*self.where.path, self.kind, name), self.config, name)

    def arn(self) -> Any:
        """``sqs: arn:...`` / ``sqs: !GetAtt Queue.Arn`` / ``sqs: {arn: ...}``."""
        return self.config.get("arn") if self.config else self.value


def compile_events(compiler: Compiler, key: str, fn: Mapping[str, Any]) -> None:
    events = fn.get("events")
    if events is None:
        return
    path = ("functions", key, "events")
    if not isinstance(events, list):
        where = compiler.at(path, fn, "events")
        compiler.gap("unresolved", f"events of function {key} are not known statically", where)
        return
    for index, item in enumerate(events):
        where = compiler.at((*path, str(index)), events, index)
        if not isinstance(item, Mapping) or len(item) != 1:
            compiler.gap("invalid-template", f"event {index} of function {key} is not a mapping of one event type",
                         where)
            continue
        (kind, value), = item.items()
        handler = _HANDLERS.get(str(kind))
        if handler is None:
            compiler.gap("unsupported", f"{kind} event of function {key} is not modelled", where)
            continue
        handler(compiler, _Event(key, index, str(kind), value, where))


# ---------------------------------------------------------------- APIs
def _http(compiler: Compiler, event: _Event) -> None:
    """A REST API (API Gateway v1) method."""
    method: Any
    path: Any
    if isinstance(event.value, str):
        method, _, path = event.value.strip().partition(" ")
    else:
        method, path = event.config.get("method"), event.config.get("path")
    if not isinstance(method, str) or not isinstance(path, str):
        compiler.gap("unresolved", f"http event {event.index} of function {event.key} has no static method and path",
                     event.where)
        return
    integration = str(event.config.get("integration") or "lambda-proxy").lower().replace("_", "-")
    if integration not in _LAMBDA_INTEGRATIONS:
        return  # an HTTP or mock integration does not invoke the function
    authorization, where = _rest_authorization(compiler, event)
    api = _api_id(compiler, "apiGateway", "restApiId", naming.REST_API)
    _route(compiler, event, api, method, path, authorization, where, event.config.get("private") is True)
    _api_permission(compiler, event, "ApiGateway", api, "/*/*")


def _rest_authorization(compiler: Compiler, event: _Event) -> tuple[str, Location]:
    authorizer = event.config.get("authorizer")
    if authorizer is None:
        return "NONE", event.where
    where = event.at(compiler, "authorizer")
    if isinstance(authorizer, str):  # aws_iam, a function of the service or an authorizer ARN
        return _authorizer_kind(authorizer, ""), where
    config = settings(authorizer)
    arn = config.get("arn")
    # An authorizer known only at deploy time is still an authorizer: CUSTOM unless said otherwise.
    return _authorizer_kind(arn if isinstance(arn, str) else "", str(config.get("type") or "")), where


def _authorizer_kind(text: str, kind: str) -> str:
    if kind.lower() == "aws_iam" or text.lower() == "aws_iam":
        return "AWS_IAM"
    if kind.lower() == "cognito_user_pools" or ":cognito-idp:" in text:
        return "COGNITO_USER_POOLS"
    return "CUSTOM"


def _http_api(compiler: Compiler, event: _Event) -> None:
    """An HTTP API (API Gateway v2) route."""
    if isinstance(event.value, str):
        route = event.value.strip()
        method, _, path = ("*", "", "$default") if route == "*" else route.partition(" ")
    else:
        method, path = event.config.get("method", "*"), event.config.get("path", "$default")
    if not isinstance(method, str) or not isinstance(path, str):
        compiler.gap("unresolved", f"httpApi event {event.index} of function {event.key} has no static route",
                     event.where)
        return
    authorization, where = _http_api_authorization(compiler, event)
    api = _api_id(compiler, "httpApi", "id", naming.HTTP_API)
    _route(compiler, event, api, method, "$default" if path == "*" else path, authorization, where, False)
    _api_permission(compiler, event, "HttpApi", api, "/*")


def _http_api_authorization(compiler: Compiler, event: _Event) -> tuple[str, Location]:
    authorizer = event.config.get("authorizer")
    if authorizer is None:
        return "NONE", event.where
    where = event.at(compiler, "authorizer")
    config = settings(authorizer)
    kind = str(config.get("type") or "").lower()
    if kind == "aws_iam":
        return "AWS_IAM", where
    if config.get("id") is not None:  # an authorizer created outside the service
        return ("CUSTOM" if kind == "request" else "JWT"), where
    name = authorizer if isinstance(authorizer, str) else config.get("name")
    authorizers = settings(settings(compiler.provider.get("httpApi")).get("authorizers"))
    declared = settings(authorizers.get(name)) if isinstance(name, str) else {}
    if not declared:
        compiler.gap("invalid-template", f"authorizer {text_of(name)} of function {event.key} is not declared in "
                     "provider.httpApi.authorizers", where)
        return "CUSTOM", where
    lambda_backed = declared.get("functionName") is not None or declared.get("functionArn") is not None
    declared_kind = str(declared.get("type") or ("request" if lambda_backed else "jwt")).lower()
    return ("CUSTOM" if declared_kind == "request" else "JWT"), where


def _api_id(compiler: Compiler, section: str, key: str, default: str) -> str:
    """The service's own API, or the existing one ``provider.apiGateway.restApiId`` / ``httpApi.id`` names."""
    existing = settings(compiler.provider.get(section)).get(key)
    return existing if isinstance(existing, str) else default


def _route(compiler: Compiler, event: _Event, api: str, method: str, path: str, authorization: str,
           where: Location, api_key: bool) -> None:
    logical = f"{event.stem}Route{naming.capitalized(event.kind)}{event.index}"
    function_key = compiler.function_key(event.key)
    compiler.out.origins[logical] = Origin(
        event.key, f"{function_key}#{event.kind}{event.index}", f"serverless:{event.kind}", event.where,
        {"AuthorizationType": where}, source=event.key)
    verb = method.strip().upper()
    shown = path if path.startswith("$") else "/" + path.strip().strip("/")
    compiler.out.routes.append(RouteSpec(logical, api, "ANY" if verb == "*" else verb, shown,
                                         ResourceRef(function_key, "Arn"), authorization, api_key))


def _api_permission(compiler: Compiler, event: _Event, kind: str, api: str, tail: str) -> None:
    """One statement per function and API type, limited to the service's API."""
    logical = f"{event.stem}LambdaPermission{kind}"
    if logical in compiler.out.resources:
        return
    arn = Unresolved(f"arn:aws:execute-api:{text_of(compiler.config.region)}:${{AWS::AccountId}}:${{{api}}}{tail}",
                     "the service's API, known at deploy time")
    compiler.permission(event.key, logical, kind.lower(), event.where, Principal="apigateway.amazonaws.com",
                        SourceArn=arn)


# ---------------------------------------------------------------- services that push events
def _service(compiler: Compiler, event: _Event, principal: str, **properties: Any) -> None:
    logical = f"{event.stem}LambdaPermission{naming.capitalized(event.kind)}{event.index}"
    compiler.permission(event.key, logical, f"event{event.index}", event.where, Principal=principal, **properties)


def _created(event: _Event, what: str) -> Unresolved:
    """The ARN of a rule, pool or target group the Framework creates along with the event."""
    return Unresolved(f"!GetAtt {event.stem}{what}{event.index + 1}.Arn", "created by the Framework at deploy time")


def _s3(compiler: Compiler, event: _Event) -> None:
    bucket = event.config.get("bucket") if event.config else event.value
    if isinstance(bucket, str):
        declared = settings(settings(compiler.provider.get("s3")).get(bucket))
        bucket = declared.get("name", bucket)
    arn = f"arn:aws:s3:::{bucket}" if isinstance(bucket, str) else {"Fn::Join": ["", ["arn:aws:s3:::", bucket]]}
    _service(compiler, event, "s3.amazonaws.com", SourceArn=arn, SourceAccount={"Ref": "AWS::AccountId"})


def _sns(compiler: Compiler, event: _Event) -> None:
    value, config = event.value, event.config
    topic: Any = None
    if isinstance(value, str):
        arn: Any = value if value.startswith("arn:") else None
        topic = None if arn else value
    elif config:
        arn, topic = config.get("arn"), config.get("topicName")
    else:
        arn = value
    if arn is None:
        arn = Unresolved(f"arn:aws:sns:{text_of(compiler.config.region)}:${{AWS::AccountId}}:{text_of(topic)}",
                         "topic created by the Framework")
    _service(compiler, event, "sns.amazonaws.com", SourceArn=arn)


def _schedule(compiler: Compiler, event: _Event) -> None:
    if str(event.config.get("method") or "").lower() == "scheduler":
        # EventBridge Scheduler invokes with a role of its own: no resource-policy statement.
        logical = f"{event.stem}Schedule{event.index}"
        function_key = compiler.function_key(event.key)
        compiler.out.origins[logical] = Origin(event.key, f"{function_key}#event{event.index}", "serverless:event",
                                               event.where, source=event.key)
        compiler.out.direct_sources.append((logical, ResourceRef(function_key)))
        return
    _service(compiler, event, "events.amazonaws.com", SourceArn=_created(event, "EventsRuleSchedule"))


def _event_rule(compiler: Compiler, event: _Event) -> None:
    _service(compiler, event, "events.amazonaws.com", SourceArn=_created(event, "EventsRule"))


def _cloudwatch_log(compiler: Compiler, event: _Event) -> None:
    group = event.config.get("logGroup") if event.config else event.value
    arn = Unresolved(f"arn:aws:logs:{text_of(compiler.config.region)}:${{AWS::AccountId}}:log-group:"
                     f"{text_of(group)}:*", "log group of the subscription")
    _service(compiler, event, "logs.amazonaws.com", SourceArn=arn)


def _pushed_by(principal: str, created: str) -> Callable[[Compiler, _Event], None]:
    def handler(compiler: Compiler, event: _Event) -> None:
        _service(compiler, event, principal, SourceArn=_created(event, created))

    return handler


def _alexa(principal: str) -> Callable[[Compiler, _Event], None]:
    def handler(compiler: Compiler, event: _Event) -> None:
        app = event.config.get("appId") if event.config else event.value
        _service(compiler, event, principal, **({"EventSourceToken": app} if app is not None else {}))

    return handler


def _no_resource_policy(compiler: Compiler, event: _Event) -> None:
    """Lambda@Edge: CloudFront replicates the function, nothing is added to its resource policy."""


# ---------------------------------------------------------------- queues and streams
def _mapping(compiler: Compiler, event: _Event, properties: dict[str, Any]) -> None:
    props: dict[str, Any] = {"FunctionName": {"Fn::GetAtt": [naming.function(event.key), "Arn"]}, **properties}
    if event.config.get("enabled") is not None:
        props["Enabled"] = event.config["enabled"]
    origin = Origin(event.key, f"{compiler.function_key(event.key)}#event{event.index}", "serverless:event",
                    event.where, dict.fromkeys(props, event.where), source=event.key)
    compiler.add(f"{event.stem}EventSourceMapping{naming.capitalized(event.kind)}{event.index}",
                 "AWS::Lambda::EventSourceMapping", props, origin)


def _sqs(compiler: Compiler, event: _Event) -> None:
    arn = event.arn()
    _mapping(compiler, event, {"EventSourceArn": arn})
    compiler.needs_of(event.key).statements.append({
        "Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
        "Resource": [arn]})


def _stream(compiler: Compiler, event: _Event) -> None:
    arn = event.arn()
    guess = "dynamodb" if isinstance(arn, str) and ":dynamodb:" in arn else "kinesis"
    service = str(event.config.get("type") or guess).lower()
    _mapping(compiler, event, {"EventSourceArn": arn})
    compiler.needs_of(event.key).statements.append({
        "Effect": "Allow", "Resource": [arn],
        "Action": [f"{service}:{action}" for action in ("GetRecords", "GetShardIterator", "DescribeStream",
                                                          "ListStreams")]})


def _kafka(compiler: Compiler, event: _Event) -> None:
    servers = event.config.get("bootstrapServers")
    _mapping(compiler, event, {"SelfManagedEventSource": {"Endpoints": {"KafkaBootstrapServers": servers}},
                               "Topics": [event.config.get("topic")]})


def _broker(compiler: Compiler, event: _Event) -> None:
    """MSK, Amazon MQ (ActiveMQ, RabbitMQ): a mapping on the cluster or broker ARN."""
    _mapping(compiler, event, {"EventSourceArn": event.arn()})


_HANDLERS: dict[str, Callable[[Compiler, _Event], None]] = {
    "http": _http,
    "httpApi": _http_api,
    "s3": _s3,
    "sns": _sns,
    "schedule": _schedule,
    "eventBridge": _event_rule,
    "cloudwatchEvent": _event_rule,
    "cloudwatchLog": _cloudwatch_log,
    "iot": _pushed_by("iot.amazonaws.com", "IotTopicRule"),
    "cognitoUserPool": _pushed_by("cognito-idp.amazonaws.com", "CognitoUserPool"),
    "alb": _pushed_by("elasticloadbalancing.amazonaws.com", "AlbTargetGroup"),
    "websocket": _pushed_by("apigateway.amazonaws.com", "WebsocketsApi"),
    "alexaSkill": _alexa("alexa-appkit.amazon.com"),
    "alexaSmartHome": _alexa("alexa-connectedhome.amazon.com"),
    "cloudFront": _no_resource_policy,
    "sqs": _sqs,
    "stream": _stream,
    "kafka": _kafka,
    "msk": _broker,
    "activemq": _broker,
    "rabbitmq": _broker,
}
