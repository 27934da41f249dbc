"""A fast SAM expander for the common subset of SAM, checked against aws-sam-translator.

Importing the official translator costs about 0.4 s (boto3, pydantic, jsonschema) and translating a template
about 10-20 ms, which dominated a first scan of SAM projects. This module expands the SAM features most
templates use -- Globals, functions with their generated roles, policy templates, events, function URLs,
aliases, layers and REST/HTTP APIs -- into the same CloudFormation resources the translator generates, with
the same logical ids. Whatever it does not know (a property, an event type, an intrinsic where SAM needs a
literal) makes ``expand`` return None, and the caller falls back to the official translator, so a template is
never expanded approximately. tests/test_sam_native.py checks that both give the same inventory and findings.

Only the translator's data files (bundled managed policy names, policy templates) and its small logical-id
hash helper are used: none of them imports the heavy parts of the package.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import urllib.parse
from collections.abc import Mapping
from importlib import resources as package_resources
from typing import Any

_BASIC_ROLE = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
_VPC_ROLE = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
_XRAY = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"
_SAM_TAG = {"Key": "lambda:createdBy", "Value": "SAM"}
_POLLER_POLICIES = {
    "SQS": "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
    "Kinesis": "arn:aws:iam::aws:policy/service-role/AWSLambdaKinesisExecutionRole",
    "DynamoDB": "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole",
}
_POLLER_SOURCE = {"SQS": "Queue", "Kinesis": "Stream", "DynamoDB": "Stream"}
_POLLER_PASSTHROUGH = frozenset({
    "BatchSize", "Enabled", "StartingPosition", "StartingPositionTimestamp", "MaximumBatchingWindowInSeconds",
    "FunctionResponseTypes", "FilterCriteria", "ParallelizationFactor", "MaximumRetryAttempts",
    "BisectBatchOnFunctionError", "MaximumRecordAgeInSeconds", "TumblingWindowInSeconds", "ScalingConfig",
    "KmsKeyArn", "MetricsConfig",
})
# Function properties copied unchanged onto AWS::Lambda::Function.
_FUNCTION_PASSTHROUGH = (
    "Description", "FunctionName", "Handler", "MemorySize", "Runtime", "Timeout", "VpcConfig", "Environment",
    "KmsKeyArn", "ReservedConcurrentExecutions", "Layers", "Architectures", "CodeSigningConfigArn",
    "PackageType", "ImageConfig", "EphemeralStorage", "FileSystemConfigs", "SnapStart",
    "RuntimeManagementConfig", "LoggingConfig", "RecursiveLoop",
)
_FUNCTION_HANDLED = frozenset({
    *_FUNCTION_PASSTHROUGH, "CodeUri", "InlineCode", "ImageUri", "Role", "Policies", "Tracing", "DeadLetterQueue",
    "Tags", "Events", "FunctionUrlConfig", "AutoPublishAlias", "PermissionsBoundary", "RolePath",
    "AssumeRolePolicyDocument",
})
_LAYER_HANDLED = frozenset({"LayerName", "Description", "ContentUri", "CompatibleRuntimes", "CompatibleArchitectures",
                            "LicenseInfo", "RetentionPolicy"})
_API_HANDLED = frozenset({"StageName", "Auth", "MethodSettings", "TracingEnabled", "Cors", "Name", "Description",
                          "EndpointConfiguration", "AccessLogSetting", "Variables"})
_RESOURCE_ATTRIBUTES = ("Condition", "DeletionPolicy", "UpdateReplacePolicy")
_TABLE_HANDLED = frozenset({"PointInTimeRecoverySpecification", "PrimaryKey", "ProvisionedThroughput", "TableName",
                            "Tags", "SSESpecification"})
_KEY_TYPES = {"String": "S", "Number": "N", "Binary": "B"}
_INTRINSIC = re.compile(r"^(Ref|Condition|Fn::[A-Za-z]+)$")
_CORS_KEYS = frozenset({"AllowOrigin", "AllowMethods", "AllowHeaders", "MaxAge", "AllowCredentials"})


class Unsupported(Exception):
    """A SAM feature this expander does not reproduce: the official translator must do it."""


def expand(template: Mapping[str, Any]) -> dict[str, Any] | None:
    """The translated template, or None when it uses a feature outside the supported subset."""
    try:
        return _Expansion(template).run()
    except Unsupported:
        return None


def _is_intrinsic(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) == 1 and bool(_INTRINSIC.match(next(iter(value))))


def _literal(value: Any, what: str) -> Any:
    """SAM reads some properties as literals (after resolving parameters we do not resolve)."""
    if isinstance(value, (Mapping, list)) and (_is_intrinsic(value) or _has_intrinsic(value)):
        raise Unsupported(what)
    return value


def _has_intrinsic(node: Any) -> bool:
    if isinstance(node, Mapping):
        return _is_intrinsic(node) or any(_has_intrinsic(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_intrinsic(v) for v in node)
    return False


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or _is_intrinsic(value):
        raise Unsupported(what)
    return dict(value)


def _merge_globals(global_value: Any, local: Any) -> Any:
    """SAM Globals: maps merge key by key, lists concatenate (globals first), anything else is overridden."""
    if isinstance(global_value, Mapping) and isinstance(local, Mapping):
        if _is_intrinsic(global_value) or _is_intrinsic(local):
            return local
        merged = dict(global_value)
        for key, value in local.items():
            merged[key] = _merge_globals(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(local, list):
        return [*global_value, *local]
    return local


@functools.cache
def _bundled_managed_policies() -> dict[str, str]:
    text = package_resources.files("samtranslator").joinpath("internal/data/aws_managed_policies.json").read_text()
    data: dict[str, str] = json.loads(text)["aws"]
    return data


@functools.cache
def _policy_templates() -> dict[str, Any]:
    path = package_resources.files("samtranslator").joinpath("policy_templates_data/policy_templates.json")
    templates: dict[str, Any] = json.loads(path.read_text())["Templates"]
    return templates


def _logical_id(prefix: str, data: Any) -> str:
    from samtranslator.translator.logical_id_generator import LogicalIdGenerator  # small: hashlib and json

    generated: str = LogicalIdGenerator(prefix, data).gen()
    return generated


def _substitute(node: Any, values: Mapping[str, Any]) -> Any:
    """A policy template's definition with ``{"Ref": parameter}`` replaced by the given values."""
    if isinstance(node, Mapping):
        if len(node) == 1 and "Ref" in node and isinstance(node["Ref"], str) and node["Ref"] in values:
            return copy.deepcopy(values[node["Ref"]])
        return {k: _substitute(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, values) for v in node]
    return node


def _policy_template(name: str, values: Any) -> dict[str, Any]:
    template = _policy_templates().get(name)
    if template is None or not isinstance(values, Mapping) or _is_intrinsic(values):
        raise Unsupported(f"policy {name}")
    parameters = template.get("Parameters", {})
    if set(values) - set(parameters) or set(parameters) - set(values):
        raise Unsupported(f"parameters of policy template {name}")  # the translator reports the error
    document: dict[str, Any] = _substitute(template["Definition"], values)
    return document


class _Expansion:
    def __init__(self, template: Mapping[str, Any]) -> None:
        self.template = template
        self.source: dict[str, Any] = _mapping(template.get("Resources"), "Resources")
        globals_ = _mapping(template.get("Globals"), "Globals")
        if set(globals_) - {"Function", "Api"}:
            raise Unsupported("Globals section")
        self.function_globals = _mapping(globals_.get("Function"), "Globals.Function")
        self.api_globals = _mapping(globals_.get("Api"), "Globals.Api")
        if set(self.function_globals) - _FUNCTION_HANDLED - {"Layers"} or set(self.api_globals) - _API_HANDLED:
            raise Unsupported("Globals property")
        self.out: dict[str, Any] = {}
        self.renamed: dict[str, str] = {}  # layer logical id -> hashed id
        self.aliases: dict[str, str] = {}  # function logical id -> alias logical id
        self.rest_paths: dict[str, dict[str, Any]] = {}  # REST API logical id -> OpenAPI paths
        self.http_paths: dict[str, Any] = {}
        self.bucket_notifications: dict[str, list[tuple[dict[str, Any], str]]] = {}

    def run(self) -> dict[str, Any]:
        if not isinstance(self.template.get("Transform"), str):
            raise Unsupported("several transforms")
        for resource in self.source.values():
            if not isinstance(resource, Mapping) or not isinstance(resource.get("Type"), str):
                raise Unsupported("resource shape")
            kind = resource["Type"]
            if kind.startswith("AWS::Serverless::") and kind not in (
                    "AWS::Serverless::Function", "AWS::Serverless::LayerVersion", "AWS::Serverless::Api",
                    "AWS::Serverless::SimpleTable"):
                raise Unsupported(kind)
        # The translator's order: plain resources first, then functions, APIs and the other SAM resources.
        for logical_id, resource in self.source.items():
            if not resource["Type"].startswith("AWS::Serverless::"):
                self.out[logical_id] = copy.deepcopy(dict(resource))
        for logical_id, resource in self.source.items():
            if resource["Type"] == "AWS::Serverless::Function":
                self.function(logical_id, resource)
        for logical_id, resource in self.source.items():
            if resource["Type"] == "AWS::Serverless::Api":
                self.rest_api(logical_id, resource)
        if "ServerlessRestApi" in self.rest_paths:
            self.implicit_rest_api()
        if self.rest_paths:
            raise Unsupported("Api event on an API that is not in the template")
        if self.http_paths:
            self.implicit_http_api()
        for logical_id, resource in self.source.items():
            if resource["Type"] == "AWS::Serverless::LayerVersion":
                self.layer(logical_id, resource)
            elif resource["Type"] == "AWS::Serverless::SimpleTable":
                self.simple_table(logical_id, resource)
        self.apply_bucket_notifications()
        out = {k: copy.deepcopy(v) for k, v in self.template.items() if k not in ("Transform", "Globals", "Resources")}
        out["Resources"] = self.out
        return _rename_refs(out, self.renamed)

    # ------------------------------------------------------------------ tables
    def simple_table(self, logical_id: str, resource: Mapping[str, Any]) -> None:
        """An AWS::DynamoDB::Table keyed on one attribute (``id``, a string, unless PrimaryKey says otherwise),
        on-demand unless ProvisionedThroughput is given; same logical id."""
        props = _mapping(resource.get("Properties", {}), f"{logical_id}.Properties")
        if set(props) - _TABLE_HANDLED or set(resource) - {"Type", "Properties", "DependsOn", *_RESOURCE_ATTRIBUTES}:
            raise Unsupported(f"{logical_id} property")
        key = props.get("PrimaryKey")
        if key is None:
            attribute = {"AttributeName": "id", "AttributeType": "S"}
        elif isinstance(key, Mapping) and isinstance(key.get("Name"), str) and key.get("Type") in _KEY_TYPES:
            attribute = {"AttributeName": key["Name"], "AttributeType": _KEY_TYPES[key["Type"]]}
        else:
            raise Unsupported(f"{logical_id}.PrimaryKey")  # the translator reports what is wrong with it
        tags = props.get("Tags")
        if tags is not None and not isinstance(tags, Mapping) or _has_intrinsic(tags):
            raise Unsupported(f"{logical_id}.Tags")
        properties: dict[str, Any] = {"AttributeDefinitions": [attribute],
                                      "KeySchema": [{"AttributeName": attribute["AttributeName"], "KeyType": "HASH"}]}
        for name in ("PointInTimeRecoverySpecification", "ProvisionedThroughput", "SSESpecification", "TableName"):
            if props.get(name):
                properties[name] = copy.deepcopy(props[name])
        if not props.get("ProvisionedThroughput"):
            properties["BillingMode"] = "PAY_PER_REQUEST"
        if tags:
            properties["Tags"] = [{"Key": k, "Value": "" if v is None else copy.deepcopy(v)} for k, v in tags.items()]
        table: dict[str, Any] = {"Type": "AWS::DynamoDB::Table"}
        table.update({k: copy.deepcopy(resource[k]) for k in ("DependsOn", *_RESOURCE_ATTRIBUTES) if k in resource})
        table["Properties"] = properties
        self.out[logical_id] = table

    # ------------------------------------------------------------------ layers
    def layer(self, logical_id: str, resource: Mapping[str, Any]) -> None:
        props = _mapping(resource.get("Properties"), f"{logical_id}.Properties")
        if set(props) - _LAYER_HANDLED or set(resource) - {"Type", "Properties", *_RESOURCE_ATTRIBUTES, "Metadata"}:
            raise Unsupported(f"{logical_id} property")
        for name in ("LayerName", "LicenseInfo", "Description", "RetentionPolicy"):
            if _has_intrinsic(props.get(name)) and name != "LayerName" or name == "LayerName" and (
                    isinstance(props.get(name), Mapping) and "Ref" in props[name]):
                raise Unsupported(f"{logical_id}.{name}")  # SAM resolves parameters here
        attributes = {k: resource[k] for k in _RESOURCE_ATTRIBUTES if k in resource}
        retention = props.get("RetentionPolicy")
        hashed = {k: v for k, v in resource.items() if k not in ("DeletionPolicy", "UpdateReplacePolicy", "Metadata")}
        new_id = _logical_id(logical_id, {logical_id: hashed})
        layer: dict[str, Any] = {"Type": "AWS::Lambda::LayerVersion"}
        layer.update(attributes)
        layer.setdefault("DeletionPolicy", "Retain")
        if isinstance(retention, str):
            if retention.lower() not in ("retain", "delete"):
                raise Unsupported("RetentionPolicy")
            layer["DeletionPolicy"] = retention.capitalize()
        if "Metadata" in resource:
            layer["Metadata"] = copy.deepcopy(resource["Metadata"])
        properties: dict[str, Any] = {"LayerName": props.get("LayerName", logical_id)}
        for name in ("Description", "CompatibleArchitectures", "CompatibleRuntimes", "LicenseInfo"):
            if name in props:
                properties[name] = copy.deepcopy(props[name])
        properties["Content"] = _s3_location(props.get("ContentUri"), f"{logical_id}.ContentUri")
        layer["Properties"] = properties
        self.renamed[logical_id] = new_id
        self.out[new_id] = layer

    # ------------------------------------------------------------------ functions
    def function(self, logical_id: str, resource: Mapping[str, Any]) -> None:
        local = _mapping(resource.get("Properties"), f"{logical_id}.Properties")
        if set(resource) - {"Type", "Properties", *_RESOURCE_ATTRIBUTES, "Metadata", "DependsOn"}:
            raise Unsupported(f"{logical_id} attribute")
        props = dict(local)
        for name, value in self.function_globals.items():
            props[name] = _merge_globals(value, local[name]) if name in local else copy.deepcopy(value)
        if set(props) - _FUNCTION_HANDLED:
            raise Unsupported(f"{logical_id} property")
        _check_function(logical_id, props)
        # Passed on to every resource generated for the function, as the translator does.
        attributes = {k: copy.deepcopy(resource[k]) for k in (*_RESOURCE_ATTRIBUTES, "Metadata") if k in resource}
        function: dict[str, Any] = {"Type": "AWS::Lambda::Function", **copy.deepcopy(attributes)}
        if "DependsOn" in resource:
            function["DependsOn"] = copy.deepcopy(resource["DependsOn"])
        properties: dict[str, Any] = {"Code": self.code(logical_id, props)}
        for name in _FUNCTION_PASSTHROUGH:
            if name in props:
                properties[name] = copy.deepcopy(props[name])
        dlq = props.get("DeadLetterQueue")
        if dlq is not None:
            dlq = _mapping(dlq, "DeadLetterQueue")
            if set(dlq) != {"Type", "TargetArn"} or dlq["Type"] not in ("SQS", "SNS"):
                raise Unsupported("DeadLetterQueue")
            properties["DeadLetterConfig"] = {"TargetArn": copy.deepcopy(dlq["TargetArn"])}
        tracing = _literal(props.get("Tracing"), "Tracing")
        if tracing is not None:
            properties["TracingConfig"] = {"Mode": tracing}
        properties["Tags"] = _tags(props.get("Tags"))
        role: dict[str, Any] | None = None
        if "Role" in props:
            if any(k in props for k in ("Policies", "PermissionsBoundary", "RolePath", "AssumeRolePolicyDocument")):
                raise Unsupported("Role with Policies")  # the translator rejects or ignores these: let it say so
            properties["Role"] = copy.deepcopy(props["Role"])
        else:
            role = self.role(logical_id, props, attributes, dlq, tracing)
            properties["Role"] = {"Fn::GetAtt": [f"{logical_id}Role", "Arn"]}
        function["Properties"] = properties
        self.out[logical_id] = function
        target = {"Ref": logical_id}
        alias_name = props.get("AutoPublishAlias")
        if alias_name is not None:
            target = self.alias(logical_id, str(_literal(alias_name, "AutoPublishAlias")), properties, attributes)
        url = props.get("FunctionUrlConfig")
        if url is not None:
            self.function_url(logical_id, _mapping(url, "FunctionUrlConfig"), target, attributes)
        if role is not None:
            self.out[f"{logical_id}Role"] = role
        events = _mapping(props.get("Events"), "Events")
        for event_id, event in sorted(events.items(), key=_event_order):
            self.event(logical_id, str(event_id), _mapping(event, "event"), target, role, attributes)

    def code(self, logical_id: str, props: Mapping[str, Any]) -> dict[str, Any]:
        if "InlineCode" in props:
            return {"ZipFile": copy.deepcopy(props["InlineCode"])}
        if "ImageUri" in props:
            return {"ImageUri": copy.deepcopy(props["ImageUri"])}
        return _s3_location(props.get("CodeUri"), f"{logical_id}.CodeUri")

    def role(self, logical_id: str, props: Mapping[str, Any], attributes: Mapping[str, Any],
             dlq: Mapping[str, Any] | None, tracing: Any) -> dict[str, Any]:
        managed: list[Any] = [_BASIC_ROLE]
        if tracing and tracing != "Disabled":
            managed.append(_XRAY)
        if props.get("VpcConfig"):
            managed.append(_VPC_ROLE)
        inline: list[dict[str, Any]] = []
        if dlq is not None:
            action = "sqs:SendMessage" if dlq["Type"] == "SQS" else "sns:Publish"
            inline.append({"PolicyName": "DeadLetterQueuePolicy", "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Action": action, "Resource": copy.deepcopy(dlq["TargetArn"]), "Effect": "Allow"}]}})
        policies = props.get("Policies")
        entries = policies if isinstance(policies, list) else [] if policies is None else [policies]
        for index, entry in enumerate(entries):
            document = self.policy_entry(entry)
            if isinstance(document, dict) and not _is_intrinsic(document):
                inline.append({"PolicyName": f"{logical_id}RolePolicy{index}", "PolicyDocument": document})
            elif document not in managed:
                managed.append(document)
        properties: dict[str, Any] = {
            "AssumeRolePolicyDocument": copy.deepcopy(props["AssumeRolePolicyDocument"])
            if "AssumeRolePolicyDocument" in props else {
                "Version": "2012-10-17",
                "Statement": [{"Action": ["sts:AssumeRole"], "Effect": "Allow",
                               "Principal": {"Service": ["lambda.amazonaws.com"]}}]},
            "ManagedPolicyArns": managed,
        }
        if inline:
            properties["Policies"] = inline
        if "RolePath" in props:
            properties["Path"] = copy.deepcopy(props["RolePath"])
        if "PermissionsBoundary" in props:
            properties["PermissionsBoundary"] = copy.deepcopy(props["PermissionsBoundary"])
        properties["Tags"] = _tags(props.get("Tags"))
        role: dict[str, Any] = {"Type": "AWS::IAM::Role"}
        role.update(copy.deepcopy(dict(attributes)))
        role["Properties"] = properties
        return role

    @staticmethod
    def policy_entry(entry: Any) -> Any:
        """A managed policy ARN (or intrinsic), or an inline policy document."""
        if isinstance(entry, str):
            bundled = _bundled_managed_policies().get(entry)
            if bundled:
                return bundled
            if entry.startswith("arn:"):
                return entry
            raise Unsupported(f"managed policy {entry}")  # the translator asks IAM for unknown names
        if not isinstance(entry, Mapping):
            raise Unsupported("policy entry")
        if _is_intrinsic(entry):
            if "Fn::If" in entry:
                raise Unsupported("Fn::If policy")
            return copy.deepcopy(dict(entry))
        if "Statement" in entry:
            return copy.deepcopy(dict(entry))
        if len(entry) == 1:
            name, values = next(iter(entry.items()))
            return _policy_template(str(name), values)
        raise Unsupported("policy entry")

    def alias(self, logical_id: str, name: str, properties: Mapping[str, Any],
              attributes: Mapping[str, Any]) -> dict[str, Any]:
        if not re.fullmatch(r"[A-Za-z0-9]+", name):
            raise Unsupported("alias name")  # SAM strips other characters from the logical id
        hashed: dict[str, Any] = dict(copy.deepcopy(properties["Code"]))
        if _has_intrinsic(hashed):
            raise Unsupported("Code with intrinsics")  # SAM resolves parameters before hashing
        if properties.get("Environment"):
            hashed.update(properties["Environment"])
        if properties.get("MemorySize"):
            hashed["MemorySize"] = properties["MemorySize"]
        if properties.get("SnapStart"):
            raise Unsupported("SnapStart with AutoPublishAlias")
        version_id = _logical_id(f"{logical_id}Version", hashed)
        version: dict[str, Any] = {"Type": "AWS::Lambda::Version"}
        version.update(copy.deepcopy(dict(attributes)))
        version.setdefault("DeletionPolicy", "Retain")
        version["Properties"] = {"FunctionName": {"Ref": logical_id}}
        alias_id = f"{logical_id}Alias{name}"
        alias: dict[str, Any] = {"Type": "AWS::Lambda::Alias"}
        alias.update(copy.deepcopy(dict(attributes)))
        alias["Properties"] = {"Name": name, "FunctionName": {"Ref": logical_id},
                               "FunctionVersion": {"Fn::GetAtt": [version_id, "Version"]}}
        self.out[version_id] = version
        self.out[alias_id] = alias
        self.aliases[logical_id] = alias_id
        return {"Ref": alias_id}

    def function_url(self, logical_id: str, config: Mapping[str, Any], target: Any,
                     attributes: Mapping[str, Any]) -> None:
        if set(config) - {"AuthType", "Cors", "InvokeMode"}:
            raise Unsupported("FunctionUrlConfig")
        auth = _literal(config.get("AuthType"), "AuthType")
        if auth not in ("NONE", "AWS_IAM"):
            raise Unsupported("AuthType")
        url = {"TargetFunctionArn": copy.deepcopy(target), **copy.deepcopy(dict(config))}
        self.out[f"{logical_id}Url"] = {"Type": "AWS::Lambda::Url", **attributes, "Properties": url}
        if auth == "NONE":
            self.out[f"{logical_id}UrlPublicPermissions"] = {"Type": "AWS::Lambda::Permission", **attributes,
                                                             "Properties": {
                "Action": "lambda:InvokeFunctionUrl", "FunctionName": copy.deepcopy(target), "Principal": "*",
                "FunctionUrlAuthType": "NONE"}}
            self.out[f"{logical_id}URLInvokeAllowPublicAccess"] = {"Type": "AWS::Lambda::Permission", **attributes,
                                                                   "Properties": {
                "Action": "lambda:InvokeFunction", "FunctionName": copy.deepcopy(target), "Principal": "*",
                "InvokedViaFunctionUrl": True}}

    # ------------------------------------------------------------------ events
    def event(self, fn: str, event_id: str, event: Mapping[str, Any], target: Mapping[str, Any],
              role: dict[str, Any] | None, attributes: Mapping[str, Any]) -> None:
        kind = event.get("Type")
        props = _mapping(event.get("Properties"), f"{fn}.Events.{event_id}.Properties")
        if set(event) - {"Type", "Properties"}:
            raise Unsupported("event attribute")
        if _REQUIRED_EVENT_PROPERTIES.get(str(kind), set()) - set(props):
            raise Unsupported(f"{kind} event without its required properties")
        name = f"{fn}{event_id}"
        arn_target = target if fn in self.aliases else {"Fn::GetAtt": [fn, "Arn"]}
        if kind in _POLLER_POLICIES:
            self.poller(name, str(kind), props, target, attributes)
            if role is not None and _POLLER_POLICIES[kind] not in role["Properties"]["ManagedPolicyArns"]:
                role["Properties"]["ManagedPolicyArns"].append(_POLLER_POLICIES[kind])
        elif kind in ("Schedule", "EventBridgeRule", "CloudWatchEvent"):
            self.rule(name, str(kind), props, target, arn_target, attributes)
        elif kind == "SNS":
            if set(props) - {"Topic", "FilterPolicy", "Region", "FilterPolicyScope"}:
                raise Unsupported("SNS event property")
            self.permission(name, "sns.amazonaws.com", target, attributes, SourceArn=props.get("Topic"))
            subscription: dict[str, Any] = {"Endpoint": copy.deepcopy(arn_target), "Protocol": "lambda",
                                            "TopicArn": copy.deepcopy(props.get("Topic"))}
            for key in ("FilterPolicy", "Region", "FilterPolicyScope"):
                if key in props:
                    subscription[key] = copy.deepcopy(props[key])
            self.out[name] = {"Type": "AWS::SNS::Subscription", **attributes, "Properties": subscription}
        elif kind == "S3":
            self.s3(name, props, target, arn_target, attributes)
        elif kind == "Api":
            self.rest_event(fn, name, props, target, attributes)
        elif kind == "HttpApi":
            self.http_event(fn, name, props, target, attributes)
        else:
            raise Unsupported(f"event type {kind}")

    def permission(self, name: str, principal: str, target: Any, attributes: Mapping[str, Any], *,
                   suffix: str = "Permission", **extra: Any) -> None:
        properties: dict[str, Any] = {"Action": "lambda:InvokeFunction", "FunctionName": copy.deepcopy(target),
                                      "Principal": principal}
        properties.update({k: copy.deepcopy(v) for k, v in extra.items()})
        self.out[name + suffix] = {"Type": "AWS::Lambda::Permission", **attributes, "Properties": properties}

    def poller(self, name: str, kind: str, props: Mapping[str, Any], target: Any,
               attributes: Mapping[str, Any]) -> None:
        source = _POLLER_SOURCE[kind]
        if set(props) - _POLLER_PASSTHROUGH - {source} or source not in props:
            raise Unsupported(f"{kind} event property")
        mapping: dict[str, Any] = {}
        for key, value in props.items():
            mapping["EventSourceArn" if key == source else key] = copy.deepcopy(value)
        mapping["FunctionName"] = copy.deepcopy(target)
        self.out[name] = {"Type": "AWS::Lambda::EventSourceMapping", **attributes, "Properties": mapping}

    def rule(self, name: str, kind: str, props: Mapping[str, Any], target: Any, arn_target: Any,
             attributes: Mapping[str, Any]) -> None:
        rule: dict[str, Any] = {}
        if kind == "Schedule":
            if set(props) - {"Schedule", "Enabled", "Name", "Description", "Input", "State"}:
                raise Unsupported("Schedule event property")
            rule["ScheduleExpression"] = copy.deepcopy(props.get("Schedule"))
            enabled = props.get("Enabled")
            if "State" in props:
                rule["State"] = copy.deepcopy(props["State"])
            elif enabled is not None:
                if not isinstance(enabled, bool):
                    raise Unsupported("Schedule Enabled")
                rule["State"] = "ENABLED" if enabled else "DISABLED"
            for key in ("Name", "Description"):
                if key in props:
                    rule[key] = copy.deepcopy(props[key])
        else:
            if set(props) - {"Pattern", "EventBusName", "Input", "State", "RuleName"}:
                raise Unsupported("EventBridge event property")
            rule["EventPattern"] = copy.deepcopy(props.get("Pattern"))
            if "EventBusName" in props:
                rule["EventBusName"] = copy.deepcopy(props["EventBusName"])
            if "State" in props:
                rule["State"] = copy.deepcopy(props["State"])
            if "RuleName" in props:
                rule["Name"] = copy.deepcopy(props["RuleName"])
        rule_target: dict[str, Any] = {"Arn": copy.deepcopy(arn_target), "Id": f"{name}LambdaTarget"}
        if "Input" in props:
            rule_target["Input"] = copy.deepcopy(props["Input"])
        rule["Targets"] = [rule_target]
        self.out[name] = {"Type": "AWS::Events::Rule", **attributes, "Properties": rule}
        self.permission(name, "events.amazonaws.com", target, attributes, SourceArn={"Fn::GetAtt": [name, "Arn"]})

    def s3(self, name: str, props: Mapping[str, Any], target: Any, arn_target: Any,
           attributes: Mapping[str, Any]) -> None:
        if set(props) - {"Bucket", "Events", "Filter"}:
            raise Unsupported("S3 event property")
        bucket = props.get("Bucket")
        bucket_id = bucket.get("Ref") if isinstance(bucket, Mapping) and set(bucket) == {"Ref"} else None
        resource = self.source.get(bucket_id) if isinstance(bucket_id, str) else None
        if not isinstance(bucket_id, str) or not isinstance(resource, Mapping) or "Condition" in attributes or (
                resource.get("Type") != "AWS::S3::Bucket"):
            raise Unsupported("S3 event bucket")
        self.permission(name, "s3.amazonaws.com", target, attributes, SourceAccount={"Ref": "AWS::AccountId"})
        events = props.get("Events")
        for event in events if isinstance(events, list) else [events]:
            configuration: dict[str, Any] = {"Function": copy.deepcopy(arn_target)}
            if "Filter" in props:
                configuration["Filter"] = copy.deepcopy(props["Filter"])
            configuration["Event"] = copy.deepcopy(event)
            self.bucket_notifications.setdefault(bucket_id, []).append((configuration, name + "Permission"))

    def apply_bucket_notifications(self) -> None:
        for bucket_id, entries in self.bucket_notifications.items():
            bucket = self.out[bucket_id]
            depends = bucket.get("DependsOn", [])
            depends = [depends] if isinstance(depends, str) else list(depends)
            properties = bucket.setdefault("Properties", {})
            if not isinstance(properties, dict):
                raise Unsupported("bucket properties")
            notifications = properties.setdefault("NotificationConfiguration", {})
            if not isinstance(notifications, dict) or _is_intrinsic(notifications):
                raise Unsupported("bucket notifications")
            configurations = notifications.setdefault("LambdaConfigurations", [])
            if not isinstance(configurations, list):
                raise Unsupported("bucket notifications")
            for configuration, permission in entries:
                if configuration not in configurations:
                    configurations.append(configuration)
                if permission not in depends:  # the translator keeps a set here, in no stable order
                    depends.append(permission)
            bucket["DependsOn"] = depends
            ordered = {"Type": bucket["Type"], "DependsOn": depends}
            ordered.update({k: v for k, v in bucket.items() if k not in ordered})
            self.out[bucket_id] = ordered

    # ------------------------------------------------------------------ APIs
    def rest_event(self, fn: str, name: str, props: Mapping[str, Any], target: Any,
                   attributes: Mapping[str, Any]) -> None:
        if set(props) - {"Path", "Method", "RestApiId", "Auth"} or "Condition" in attributes or (
                "RestApiId" not in props and {"DeletionPolicy", "UpdateReplacePolicy"} & set(attributes)):
            raise Unsupported("Api event")  # the implicit API would take conditions and policies from functions
        path, method = _literal(props.get("Path"), "Path"), _literal(props.get("Method"), "Method")
        if not isinstance(path, str) or not isinstance(method, str):
            raise Unsupported("Api event path")
        api_ref = props.get("RestApiId")
        api_id: Any = "ServerlessRestApi"
        suffix = "Prod"
        if api_ref is not None:
            api_id = api_ref.get("Ref") if isinstance(api_ref, Mapping) and set(api_ref) == {"Ref"} else api_ref
            api = self.source.get(api_id) if isinstance(api_id, str) else None
            if not isinstance(api_id, str) or not isinstance(api, Mapping) or (
                    api.get("Type") != "AWS::Serverless::Api"):
                raise Unsupported("RestApiId")
            stage = _mapping(api.get("Properties"), "Api properties").get("StageName")
            suffix = stage if isinstance(stage, str) else "Stage"
        auth = _mapping(props.get("Auth"), "Api event Auth")
        if set(auth) - {"Authorizer", "ApiKeyRequired"} or auth.get("Authorizer", "AWS_IAM") not in ("NONE", "AWS_IAM"):
            raise Unsupported("Api event Auth")
        if auth.get("ApiKeyRequired", False) is not False:
            raise Unsupported("ApiKeyRequired")  # SAM adds an API key security scheme and usage plan
        verb = "*" if method.lower() == "any" else method.upper()
        permission_path = re.sub(r"{([a-zA-Z0-9._-]+|[a-zA-Z0-9._-]+\+|proxy\+)}", "*",
                                 re.sub(r"^(.+)/$", r"\1", path))
        self.permission(name, "apigateway.amazonaws.com", target, attributes, suffix=f"Permission{suffix}", SourceArn={
            "Fn::Sub": [f"arn:aws:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{__ApiId__}}/${{__Stage__}}/"
                        f"{verb}{permission_path}", {"__ApiId__": {"Ref": api_id}, "__Stage__": "*"}]})
        operation: dict[str, Any] = {"x-amazon-apigateway-integration": {
            "httpMethod": "POST", "type": "aws_proxy",
            "uri": {"Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
                               f"${{{self.aliases.get(fn, fn + '.Arn')}}}/invocations"}}, "responses": {}}
        operation["x-lambdasec-auth"] = auth  # resolved against the API's default in rest_api()
        verb_key = "x-amazon-apigateway-any-method" if method.lower() == "any" else method.lower()
        paths = self.rest_paths.setdefault(api_id, {})
        if verb_key in paths.setdefault(path, {}):
            raise Unsupported("duplicate API route")
        paths[path][verb_key] = operation

    def rest_api(self, logical_id: str, resource: Mapping[str, Any]) -> None:
        local = _mapping(resource.get("Properties"), f"{logical_id}.Properties")
        if set(resource) - {"Type", "Properties"}:
            raise Unsupported("Api attribute")
        props = dict(local)
        for name, value in self.api_globals.items():
            props[name] = _merge_globals(value, local[name]) if name in local else copy.deepcopy(value)
        if set(props) - _API_HANDLED:
            raise Unsupported("Api property")
        if "Cors" in props:
            raise Unsupported("Cors on an explicit Api")  # SAM adds OPTIONS methods and their responses
        self.api(logical_id, props, self.rest_paths.pop(logical_id, {}))

    def implicit_rest_api(self) -> None:
        props = copy.deepcopy(self.api_globals)
        props.pop("Cors", None)  # CORS adds mock OPTIONS methods, which invoke no function
        if "ServerlessRestApi" in self.source:
            raise Unsupported("ServerlessRestApi defined in the template")
        self.api("ServerlessRestApi", {**props, "StageName": "Prod"}, self.rest_paths.pop("ServerlessRestApi"))

    def api(self, logical_id: str, props: Mapping[str, Any], paths: dict[str, Any]) -> None:
        auth = _mapping(props.get("Auth"), "Api Auth")
        if set(auth) - {"DefaultAuthorizer"} or auth.get("DefaultAuthorizer", "NONE") not in ("NONE", "AWS_IAM"):
            raise Unsupported("Api Auth")
        default = auth.get("DefaultAuthorizer", "NONE")
        uses_iam = False
        for operations in paths.values():
            for operation in operations.values():
                event_auth = operation.pop("x-lambdasec-auth")
                chosen = event_auth.get("Authorizer", default)
                if chosen == "AWS_IAM":
                    operation["security"] = [{"AWS_IAM": []}]
                    # SAM's default InvokeRole, CALLER_CREDENTIALS: API Gateway calls with the caller's identity
                    operation["x-amazon-apigateway-integration"]["credentials"] = "arn:aws:iam::*:user/*"
                    uses_iam = True
                elif "Authorizer" in event_auth:
                    if default == "NONE":
                        raise Unsupported("Authorizer NONE without a DefaultAuthorizer")  # the translator rejects it
                    operation["security"] = [{"NONE": []}]  # opted out of the API's default authorizer
        body: dict[str, Any] = {"info": {"version": "1.0", "title": {"Ref": "AWS::StackName"}},
                                "paths": paths, "swagger": "2.0"}
        schemes: dict[str, Any] = {}
        if uses_iam:
            schemes["AWS_IAM"] = {"x-amazon-apigateway-authtype": "awsSigv4", "type": "apiKey",
                                  "name": "Authorization", "in": "header"}
        if schemes:
            body["securityDefinitions"] = schemes
        api: dict[str, Any] = {"Body": body}
        for key in ("Name", "Description", "EndpointConfiguration"):
            if key in props:
                api[key] = copy.deepcopy(props[key])
        self.out[logical_id] = {"Type": "AWS::ApiGateway::RestApi", "Properties": api}
        stage_name = props.get("StageName")
        stage: dict[str, Any] = {"RestApiId": {"Ref": logical_id}, "StageName": copy.deepcopy(stage_name)}
        for key in ("MethodSettings", "TracingEnabled", "AccessLogSetting", "Variables"):
            if key in props:
                stage[key] = copy.deepcopy(props[key])
        # The translator also generates an AWS::ApiGateway::Deployment (named by a hash of the whole body);
        # no rule reads deployments, so it is left out rather than approximated.
        suffix = stage_name if isinstance(stage_name, str) else "Stage"
        self.out[f"{logical_id}{suffix}Stage"] = {"Type": "AWS::ApiGateway::Stage", "Properties": stage}

    def http_event(self, fn: str, name: str, props: Mapping[str, Any], target: Any,
                   attributes: Mapping[str, Any]) -> None:
        if set(props) - {"Path", "Method"} or {"Condition", "DeletionPolicy", "UpdateReplacePolicy"} & set(attributes):
            raise Unsupported("HttpApi event")  # the implicit API would take conditions and policies from functions
        path, method = _literal(props.get("Path"), "Path"), _literal(props.get("Method"), "Method")
        if not isinstance(path, str) or not isinstance(method, str) or path == "$default":
            raise Unsupported("HttpApi event path")
        verb = "*" if method.lower() == "any" else method.upper()
        # Unlike REST APIs, only {name} and {proxy+} become * in an HTTP API permission.
        permission_path = re.sub(r"{([a-zA-Z0-9._-]+|proxy\+)}", "*", re.sub(r"^(.+)/$", r"\1", path))
        self.permission(name, "apigateway.amazonaws.com", target, attributes, SourceArn={
            "Fn::Sub": ["arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${__ApiId__}/"
                        f"${{__Stage__}}/{verb}{permission_path}",
                        {"__ApiId__": {"Ref": "ServerlessHttpApi"}, "__Stage__": "*"}]})
        verb_key = "x-amazon-apigateway-any-method" if method.lower() == "any" else method.lower()
        operations = self.http_paths.setdefault(path, {})
        if verb_key in operations:
            raise Unsupported("duplicate HTTP API route")
        operation: dict[str, Any] = {"x-amazon-apigateway-integration": {
            "httpMethod": "POST", "type": "aws_proxy",
            "uri": {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
                               f"${{{self.aliases.get(fn, fn + '.Arn')}}}/invocations"},
            "payloadFormatVersion": "2.0"}, "responses": {}}
        parameters = re.findall(r"{([^}]+)}", path)
        if parameters:
            operation["parameters"] = [{"in": "path", "name": p, "required": True} for p in parameters]
        operations[verb_key] = operation

    def implicit_http_api(self) -> None:
        if "ServerlessHttpApi" in self.source:
            raise Unsupported("ServerlessHttpApi defined in the template")
        self.out["ServerlessHttpApi"] = {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Body": {
            "info": {"version": "1.0", "title": {"Ref": "AWS::StackName"}}, "paths": self.http_paths,
            "openapi": "3.0.1", "tags": [{"name": "httpapi:createdBy", "x-amazon-apigateway-tag-value": "SAM"}]}}}
        self.out["ServerlessHttpApiApiGatewayDefaultStage"] = {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {
            "ApiId": {"Ref": "ServerlessHttpApi"}, "StageName": "$default", "Tags": {"httpapi:createdBy": "SAM"},
            "AutoDeploy": True}}


def _check_function(logical_id: str, props: Mapping[str, Any]) -> None:
    """Templates the translator rejects go to the translator, which reports why."""
    if sum(key in props for key in ("CodeUri", "InlineCode", "ImageUri")) != 1:
        raise Unsupported(f"{logical_id}: code")
    image = props.get("PackageType") == "Image"
    if image != ("ImageUri" in props) or props.get("PackageType", "Zip") not in ("Zip", "Image"):
        raise Unsupported(f"{logical_id}: PackageType")
    if not image and not (props.get("Runtime") and props.get("Handler")):
        raise Unsupported(f"{logical_id}: Runtime and Handler")
    if image and any(key in props for key in ("Runtime", "Handler", "Layers")):
        raise Unsupported(f"{logical_id}: image function")


_REQUIRED_EVENT_PROPERTIES = {
    "Schedule": {"Schedule"}, "SNS": {"Topic"}, "S3": {"Bucket", "Events"}, "EventBridgeRule": {"Pattern"},
    "CloudWatchEvent": {"Pattern"}, "Api": {"Path", "Method"}, "HttpApi": {"Path", "Method"},
}


def _event_order(item: tuple[str, Any]) -> str:
    """SAM expands events sorted by their Path (API events) or else their name."""
    event_id, event = item
    props = event.get("Properties") if isinstance(event, Mapping) else None
    path = props.get("Path", event_id) if isinstance(props, Mapping) else event_id
    if not isinstance(path, str):
        raise Unsupported("event Path")
    return path


def _s3_location(uri: Any, what: str) -> dict[str, Any]:
    """Code or layer content: an ``s3://bucket/key?versionId=v`` URI or a Bucket/Key/Version map."""
    if isinstance(uri, str) and uri.startswith("s3://"):
        parsed = urllib.parse.urlparse(uri)
        version = urllib.parse.parse_qs(parsed.query).get("versionId")
        uri = {"Bucket": parsed.netloc, "Key": parsed.path.lstrip("/"), **({"Version": version[0]} if version else {})}
    if not isinstance(uri, Mapping) or set(uri) - {"Bucket", "Key", "Version"} or not uri.get("Bucket") or (
            not uri.get("Key")):
        raise Unsupported(what)
    location = {"S3Bucket": copy.deepcopy(uri["Bucket"]), "S3Key": copy.deepcopy(uri["Key"])}
    if "Version" in uri:
        location["S3ObjectVersion"] = copy.deepcopy(uri["Version"])
    return location


def _tags(tags: Any) -> list[dict[str, Any]]:
    if tags is None:
        return [dict(_SAM_TAG)]
    if not isinstance(tags, Mapping) or _is_intrinsic(tags):
        raise Unsupported("Tags")
    return [dict(_SAM_TAG), *({"Key": k, "Value": copy.deepcopy(v)} for k, v in tags.items())]


def _rename_refs(node: Any, renamed: Mapping[str, str]) -> Any:
    """References to renamed (hashed) layers, as the translator rewrites them everywhere."""
    if not renamed:
        return node
    if isinstance(node, dict):
        if len(node) == 1 and "Ref" in node and node["Ref"] in renamed:
            return {"Ref": renamed[node["Ref"]]}
        return {k: _rename_refs(v, renamed) for k, v in node.items()}
    if isinstance(node, list):
        return [_rename_refs(v, renamed) for v in node]
    return node
