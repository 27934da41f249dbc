"""Terraform blocks -> inventory, with the CloudFormation collector's semantics.

Both Terraform readers (HCL configurations and `terraform show -json` plans) hand their resources here as
:class:`TfBlock` objects, so a configuration and its plan give the same inventory. Each Terraform type is
mapped onto the object its CloudFormation equivalent gives, and Terraform attribute paths are renamed to the
CloudFormation-style property names rules point at (``environment.0.variables.TOKEN`` becomes
``Environment.Variables.TOKEN``).

Where Terraform differs from CloudFormation the difference is modelled, not papered over:

* ``reserved_concurrent_executions = -1`` is Terraform's "unreserved": ``reserved_concurrency`` is None.
* ``retention_in_days = 0`` (or unset) keeps log events forever: ``retention_days`` is None.
* A VPC security group managed by Terraform has NO egress rule unless ``egress`` blocks are declared:
  the AWS provider revokes AWS's default allow-all egress rule right after creating the group
  ("Terraform will remove this default rule"). So ``SecurityGroup.egress`` is ``[]`` (nothing allowed)
  when no egress block is declared, never None; standalone egress rule resources are appended to it.
* Plans show unset optional strings as ``""`` and unset blocks as ``[]``: both count as "not set".
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ...model.inventory import (
    ApiRoute,
    CodeLocation,
    CodeSigningConfig,
    CoverageGap,
    EnvVar,
    EventInvokeConfig,
    EventSource,
    Function,
    FunctionUrl,
    Group,
    GuardDutyDetector,
    Inventory,
    KmsKey,
    LayerPermission,
    LayerVersion,
    LogGroup,
    Parameter,
    Permission,
    Policy,
    PolicyDocument,
    PolicyStatement,
    Role,
    Route,
    RouteTableAssociation,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
    Trail,
    User,
    VpcConfig,
    VpcEndpoint,
)
from ...model.location import Location
from ...model.values import ResourceRef, Unresolved, Value
from .blocks import TfBlock

if TYPE_CHECKING:
    from ...iam.managed import ManagedPolicy

# (block key, Terraform attribute path such as "environment.0.variables.TOKEN") -> the input variable it
# comes from; readers that know where a value came from fill it so SEC001/SEC002 split like for templates.
ParameterLinks = Mapping[tuple[str, str], Parameter]

_MAX_DEPTH = 8
_FUNCTION_ARN = re.compile(r"arn:[\w-]+:lambda:[\w-]*:\d{12}:function:[\w-]+(?::[\w$-]+)?")
# `aws_x.name`, `data.aws_x.name` or `module.m.aws_x.name` inside an expression text such as
# "integrations/${aws_apigatewayv2_integration.lambda.id}".
_ADDRESS_IN_TEXT = re.compile(r"(?<![\w.])((?:data\.)?aws_[a-z0-9_]+\.[A-Za-z_][\w-]*)(?:\[[^\]]*\])?")
_FUNCTION_TYPES = ("aws_lambda_function", "aws_lambda_alias")
_SOURCE_KINDS = {
    "aws_sqs_queue": "sqs", "aws_kinesis_stream": "kinesis", "aws_dynamodb_table": "dynamodb",
    "aws_msk_cluster": "kafka", "aws_msk_serverless_cluster": "kafka", "aws_mq_broker": "mq",
    "aws_docdb_cluster": "docdb",
}
# The Terraform type of each IAM principal the inventory models.
_PRINCIPAL_TYPES = {"role": "aws_iam_role", "user": "aws_iam_user", "group": "aws_iam_group"}
_Principal = Role | User | Group
# Attachment resources naming one principal -> the kind of principal.
_ATTACHED_TO = {
    "aws_iam_role_policy": "role", "aws_iam_user_policy": "user", "aws_iam_group_policy": "group",
    "aws_iam_role_policy_attachment": "role", "aws_iam_user_policy_attachment": "user",
    "aws_iam_group_policy_attachment": "group",
}
_ARN_KINDS = ((":sqs:", "sqs"), (":kinesis:", "kinesis"), (":dynamodb:", "dynamodb"), (":kafka:", "kafka"),
              (":mq:", "mq"), (":rds:", "docdb"))


# ---------------------------------------------------------------- attribute names
# Terraform attribute -> (CloudFormation property, children, single nested block). Children is a nested spec,
# KEEP (copy the rest of the path: map keys, list indexes) or None (a leaf).
KEEP = "keep"
_Node = tuple[str, Any, bool]


def _leaf(name: str) -> _Node:
    return (name, None, False)


def _kept(name: str) -> _Node:
    return (name, KEEP, False)


def _single(name: str, children: Mapping[str, _Node]) -> _Node:
    return (name, dict(children), True)


_PROPERTY_NAMES: dict[str, dict[str, _Node]] = {
    "aws_lambda_function": {
        "function_name": _leaf("FunctionName"), "runtime": _leaf("Runtime"), "handler": _leaf("Handler"),
        "role": _leaf("Role"), "kms_key_arn": _leaf("KmsKeyArn"), "layers": _kept("Layers"),
        "package_type": _leaf("PackageType"), "architectures": _kept("Architectures"),
        "environment": _single("Environment", {"variables": _kept("Variables")}),
        "tracing_config": _single("TracingConfig", {"mode": _leaf("Mode")}),
        "vpc_config": _single("VpcConfig", {
            "subnet_ids": _kept("SubnetIds"), "security_group_ids": _kept("SecurityGroupIds")}),
        "dead_letter_config": _single("DeadLetterConfig", {"target_arn": _leaf("TargetArn")}),
        "reserved_concurrent_executions": _leaf("ReservedConcurrentExecutions"),
        "code_signing_config_arn": _leaf("CodeSigningConfigArn"),
        "image_uri": _leaf("Code.ImageUri"), "filename": _leaf("Code"), "s3_bucket": _leaf("Code.S3Bucket"),
        "s3_key": _leaf("Code.S3Key"), "tags": _kept("Tags"),
        "logging_config": _single("LoggingConfig", {"log_group": _leaf("LogGroup")}),
    },
    "aws_lambda_permission": {
        "function_name": _leaf("FunctionName"), "action": _leaf("Action"), "principal": _leaf("Principal"),
        "source_arn": _leaf("SourceArn"), "source_account": _leaf("SourceAccount"),
        "principal_org_id": _leaf("PrincipalOrgID"), "event_source_token": _leaf("EventSourceToken"),
        "function_url_auth_type": _leaf("FunctionUrlAuthType"),
    },
    "aws_lambda_function_url": {
        "function_name": _leaf("TargetFunctionArn"), "authorization_type": _leaf("AuthType"),
        "qualifier": _leaf("Qualifier"),
        "cors": _single("Cors", {"allow_origins": _kept("AllowOrigins"), "allow_methods": _kept("AllowMethods")}),
    },
    "aws_lambda_layer_version": {
        "layer_name": _leaf("LayerName"), "compatible_runtimes": _kept("CompatibleRuntimes"),
        "filename": _leaf("Content"), "s3_bucket": _leaf("Content.S3Bucket"), "s3_key": _leaf("Content.S3Key"),
    },
    "aws_lambda_layer_version_permission": {
        "layer_name": _leaf("LayerVersionArn"), "action": _leaf("Action"), "principal": _leaf("Principal"),
        "organization_id": _leaf("OrganizationId"),
    },
    "aws_lambda_code_signing_config": {
        "allowed_publishers": _single("AllowedPublishers", {
            "signing_profile_version_arns": _kept("SigningProfileVersionArns")}),
        "policies": _single("CodeSigningPolicies", {
            "untrusted_artifact_on_deployment": _leaf("UntrustedArtifactOnDeployment")}),
    },
    "aws_lambda_event_source_mapping": {
        "function_name": _leaf("FunctionName"), "event_source_arn": _leaf("EventSourceArn"),
    },
    "aws_lambda_function_event_invoke_config": {
        "function_name": _leaf("FunctionName"), "maximum_retry_attempts": _leaf("MaximumRetryAttempts"),
        "destination_config": _single("DestinationConfig", {
            "on_failure": _single("OnFailure", {"destination": _leaf("Destination")}),
            "on_success": _single("OnSuccess", {"destination": _leaf("Destination")}),
        }),
    },
    "aws_iam_role": {
        "name": _leaf("RoleName"), "assume_role_policy": _leaf("AssumeRolePolicyDocument"),
        "inline_policy": _kept("Policies"), "managed_policy_arns": _kept("ManagedPolicyArns"),
        "permissions_boundary": _leaf("PermissionsBoundary"),
    },
    "aws_iam_user": {"name": _leaf("UserName"), "permissions_boundary": _leaf("PermissionsBoundary")},
    "aws_iam_group": {"name": _leaf("GroupName")},
    "aws_security_group": {"vpc_id": _leaf("VpcId"), "egress": _kept("SecurityGroupEgress")},
    "aws_subnet": {
        "vpc_id": _leaf("VpcId"), "availability_zone": _leaf("AvailabilityZone"),
        "availability_zone_id": _leaf("AvailabilityZoneId"), "cidr_block": _leaf("CidrBlock"),
        "map_public_ip_on_launch": _leaf("MapPublicIpOnLaunch"),
    },
    "aws_route": {
        "route_table_id": _leaf("RouteTableId"), "destination_cidr_block": _leaf("DestinationCidrBlock"),
        "destination_ipv6_cidr_block": _leaf("DestinationIpv6CidrBlock"), "gateway_id": _leaf("GatewayId"),
        "nat_gateway_id": _leaf("NatGatewayId"),
    },
    "aws_route_table_association": {"route_table_id": _leaf("RouteTableId"), "subnet_id": _leaf("SubnetId")},
    "aws_vpc_endpoint": {
        "vpc_id": _leaf("VpcId"), "service_name": _leaf("ServiceName"), "vpc_endpoint_type": _leaf("VpcEndpointType"),
    },
    "aws_cloudtrail": {
        "enable_logging": _leaf("IsLogging"), "is_multi_region_trail": _leaf("IsMultiRegionTrail"),
        "event_selector": _kept("EventSelectors"), "advanced_event_selector": _kept("AdvancedEventSelectors"),
    },
    "aws_guardduty_detector": {"enable": _leaf("Enable")},
    "aws_kms_key": {"policy": _leaf("KeyPolicy"), "enable_key_rotation": _leaf("EnableKeyRotation")},
    "aws_cloudwatch_log_group": {"name": _leaf("LogGroupName"), "retention_in_days": _leaf("RetentionInDays")},
    "aws_apigatewayv2_route": {
        "api_id": _leaf("ApiId"), "route_key": _leaf("RouteKey"), "target": _leaf("Target"),
        "authorization_type": _leaf("AuthorizationType"),
    },
    "aws_apigatewayv2_api": {"target": _leaf("Target")},
    "aws_api_gateway_method": {
        "rest_api_id": _leaf("RestApiId"), "resource_id": _leaf("ResourceId"), "http_method": _leaf("HttpMethod"),
        "authorization": _leaf("AuthorizationType"), "api_key_required": _leaf("ApiKeyRequired"),
    },
}


def property_name(block_type: str, tf_path: str) -> str | None:
    """The CloudFormation-style property name of a Terraform attribute path, or None when it has none."""
    spec: Any = _PROPERTY_NAMES.get(block_type)
    segments = tf_path.split(".")
    out: list[str] = []
    index = 0
    while index < len(segments):
        if spec == KEEP:
            out.extend(segments[index:])
            break
        if not isinstance(spec, dict) or segments[index] not in spec:
            return None
        name, children, single = spec[segments[index]]
        out.append(name)
        index += 1
        if single and index < len(segments) and segments[index].isdigit():
            index += 1  # a nested block Terraform allows once: CloudFormation has a plain object there
        spec = children
    return ".".join(out)


# ---------------------------------------------------------------- value helpers
def value(node: Any) -> Value | None:
    """A single value: literal string, link or unknown (numbers and booleans as their text, like templates)."""
    if node is None:
        return None
    if isinstance(node, (str, ResourceRef, Unresolved)):
        return node
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, int):
        return str(node)
    if isinstance(node, float):
        return str(int(node)) if node.is_integer() else str(node)
    return Unresolved(f"<{type(node).__name__}>", "expected a single value")  # never the content: it may be secret


def text(node: Any) -> Value | None:
    """Like :func:`value`, an empty string meaning "not set" (plans show unset optional strings as "")."""
    found = value(node)
    return None if found == "" else found


def values(node: Any) -> list[Value] | Unresolved:
    if node is None:
        return []
    if isinstance(node, Unresolved):
        return node
    items = node if isinstance(node, (list, tuple, set, frozenset)) else [node]
    out: list[Value] = []
    for item in items:
        found = text(item)
        if found is not None:
            out.append(found)
    return out


def integer(node: Any) -> int | Unresolved | None:
    if node is None or node == "":
        return None
    if isinstance(node, bool):
        return int(node)
    if isinstance(node, int):
        return node
    if isinstance(node, float) and node.is_integer():
        return int(node)
    if isinstance(node, str) and node.strip().lstrip("-").isdigit():
        return int(node)
    return node if isinstance(node, Unresolved) else Unresolved(_short(node), "not an integer")


def boolean(node: Any, default: bool) -> bool | Unresolved:
    if node is None or node == "":
        return default
    if isinstance(node, bool):
        return node
    if isinstance(node, str) and node.lower() in ("true", "false"):
        return node.lower() == "true"
    return node if isinstance(node, Unresolved) else Unresolved(_short(node), "not a boolean")


def nested(attributes: Mapping[str, Any], name: str) -> Mapping[str, Any] | Unresolved | None:
    """The first (usually only) `name { ... }` nested block; None when absent."""
    node = attributes.get(name)
    if isinstance(node, list):
        node = node[0] if node else None
    if isinstance(node, (Mapping, Unresolved)):
        return node
    return None


def nested_all(attributes: Mapping[str, Any], name: str) -> list[Mapping[str, Any] | Unresolved]:
    node = attributes.get(name)
    items = node if isinstance(node, list) else [node] if node is not None else []
    return [item for item in items if isinstance(item, (Mapping, Unresolved))]


def _short(node: Any) -> str:
    return (node.expression if isinstance(node, Unresolved) else str(node))[:120]


def _shown(node: Any) -> str:
    return node.expression if isinstance(node, Unresolved) else str(node)


def build_inventory(blocks: list[TfBlock], inventory: Inventory, *, parameters: ParameterLinks | None = None) -> None:
    """Map every block of one configuration (or plan) onto the inventory."""
    _Mapper(blocks, inventory, parameters or {}).run()


class _Mapper:
    def __init__(self, blocks: list[TfBlock], inventory: Inventory, parameters: ParameterLinks) -> None:
        self.blocks = blocks
        self.by_key = {block.key: block for block in blocks}
        self.inventory = inventory
        self.parameters = parameters

    # ------------------------------------------------------------ driver
    def run(self) -> None:
        builders: dict[str, Callable[[TfBlock, Mapping[str, Any]], None]] = {
            "aws_lambda_function": self._function,
            "aws_lambda_permission": self._permission,
            "aws_lambda_function_url": self._url,
            "aws_lambda_layer_version": self._layer,
            "aws_lambda_layer_version_permission": self._layer_permission,
            "aws_lambda_code_signing_config": self._code_signing,
            "aws_lambda_event_source_mapping": self._event_source_mapping,
            "aws_lambda_function_event_invoke_config": self._event_invoke,
            "aws_lambda_alias": self._alias,
            "aws_iam_role": self._role,
            "aws_iam_user": self._user,
            "aws_iam_group": self._iam_group,
            "aws_security_group": self._security_group,
            "aws_subnet": self._subnet,
            "aws_route_table": self._route_table,
            "aws_route": self._route,
            "aws_route_table_association": self._route_association,
            "aws_vpc_endpoint": self._vpc_endpoint,
            "aws_cloudtrail": self._trail,
            "aws_guardduty_detector": self._guardduty,
            "aws_kms_key": self._kms_key,
            "aws_cloudwatch_log_group": self._log_group,
            "aws_s3_bucket_notification": self._bucket_notifications,
            "aws_cloudwatch_event_target": self._event_target,
        }
        # These attach to objects built in the first pass.
        late: dict[str, Callable[[TfBlock, Mapping[str, Any]], None]] = {
            "aws_iam_role_policy": self._inline_policy,
            "aws_iam_user_policy": self._inline_policy,
            "aws_iam_group_policy": self._inline_policy,
            "aws_iam_role_policy_attachment": self._policy_attachment,
            "aws_iam_user_policy_attachment": self._policy_attachment,
            "aws_iam_group_policy_attachment": self._policy_attachment,
            "aws_iam_policy_attachment": self._policy_attachment,
            "aws_iam_group_membership": self._group_membership,
            "aws_iam_user_group_membership": self._user_group_membership,
            "aws_security_group_rule": self._security_group_rule,
            "aws_vpc_security_group_egress_rule": self._vpc_egress_rule,
            "aws_guardduty_detector_feature": self._guardduty_feature,
            "aws_kms_key_policy": self._kms_key_policy,
        }
        for table in (builders, late):
            for block in self.blocks:
                builder = table.get(block.type) if block.mode == "managed" else None
                if builder is not None:
                    builder(block, block.attributes)
        for block in self.blocks:
            if block.mode == "data" and block.type == "aws_caller_identity":
                account = block.attributes.get("account_id")
                if isinstance(account, str) and account.isdigit() and len(account) == 12:
                    self.inventory.own_accounts.add(account)
            elif block.mode == "data" and block.type == "aws_lambda_layer_version":
                self._looked_up_layer(block)
        for route in self._api_routes():
            self.inventory.add(self.inventory.api_routes, route)

    def _looked_up_layer(self, block: TfBlock) -> None:
        """`data "aws_lambda_layer_version"` finds a layer version when Terraform plans, the latest one when it has
        no `version`. A function's `layers` entry naming its `arn` becomes the ARN it evaluates to, unknown parts as
        placeholders (the version placeholder names the lookup when it floats), so rules see which layer and which
        version: `arn:...:layer:deps:4`, or `arn:...:layer:deps:${data.aws_lambda_layer_version.deps.version}`."""
        a = block.attributes
        name, version = text(a.get("layer_name")), text(a.get("version"))
        if version is not None and not isinstance(name, str):
            return  # a pinned lookup of a layer known only at plan time: nothing more to say than the reference
        if isinstance(name, str):
            layer = name if name.startswith("arn:") else (
                f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:layer:{name}")
        else:
            layer = f"${{{block.address}.layer_arn}}"
        if version is None:
            arn: Value = Unresolved(f"{layer}:${{{block.address}.version}}",
                                    f"{block.address} has no version: the latest version when Terraform plans")
        elif isinstance(version, str) and version.isdigit() and "${" not in layer:
            arn = f"{layer}:{version}"
        else:
            arn = Unresolved(f"{layer}:{version if isinstance(version, str) else '${' + _shown(version) + '}'}",
                             f"layer version looked up by {block.address} when Terraform plans")
        for fn in self.inventory.functions:
            fn.layers = [arn if isinstance(item, ResourceRef) and item.key == block.key and item.attribute == "arn"
                         else item for item in fn.layers]

    def base(self, block: TfBlock) -> dict[str, Any]:
        """The common Resource fields: key, id, type, locations (CloudFormation-style names) and suppressions."""
        locations: dict[str, Location] = {}
        for tf_path, location in sorted(block.attribute_locations.items(), key=lambda i: (i[0].count("."), i[0])):
            name = property_name(block.type, tf_path)
            if name is not None:
                locations.setdefault(name, location)
        return {
            "key": block.key, "id": block.address, "type": block.type, "location": block.location,
            "property_locations": locations, "suppressions": dict(block.suppressions),
        }

    def _gap(self, kind: str, message: str, location: Location) -> None:
        self.inventory.coverage_gaps.append(CoverageGap(kind, message, location))

    def target(self, node: Any) -> TfBlock | None:
        """The block a reference points at (ResourceRef, or an address written inside an expression's text)."""
        if isinstance(node, ResourceRef):
            return self.by_key.get(node.key)
        return None

    def target_in_text(self, source: TfBlock, node: Any, types: tuple[str, ...]) -> TfBlock | None:
        """A block of one of `types` named inside an unresolved expression (`"${aws_x.y.id}/..."`)."""
        if not isinstance(node, Unresolved):
            return None
        prefix, _, address = source.key.rpartition("#")
        module = address[: len(address) - len(_own_part(source))]
        for match in _ADDRESS_IN_TEXT.finditer(node.expression):
            found = self.by_key.get(f"{prefix}#{module}{match.group(1)}")
            if found is not None and found.type in types:
                return found
        return None

    def by_literal(self, types: tuple[str, ...], literal: Any, attributes: tuple[str, ...]) -> TfBlock | None:
        """A block whose known `id`/`arn`/`name`... equals a literal (plans of existing resources know them)."""
        if not isinstance(literal, str) or not literal:
            return None
        for block in self.blocks:
            if block.type in types and any(block.attributes.get(a) == literal for a in attributes):
                return block
        return None

    def reference_to(self, source: TfBlock, node: Any, types: tuple[str, ...],
                     attributes: tuple[str, ...] = ("id", "arn")) -> TfBlock | None:
        found = self.target(node)
        if found is not None:
            return found if found.type in types else None
        return self.target_in_text(source, node, types) or self.by_literal(types, node, attributes)

    # ------------------------------------------------------------ Lambda
    def _function(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        fn = Function(**self.base(block))
        fn.name = text(a.get("function_name"))
        fn.runtime = text(a.get("runtime"))
        fn.handler = text(a.get("handler"))
        fn.package_type = "Image" if a.get("package_type") == "Image" else "Zip"
        architectures = values(a.get("architectures"))
        if isinstance(architectures, list) and architectures:
            fn.architectures = [item for item in architectures if isinstance(item, str)]
        fn.environment = self._environment(block, fn, a)
        fn.kms_key_arn = text(a.get("kms_key_arn"))
        fn.vpc = self._vpc_config(fn, nested(a, "vpc_config"))
        layers = values(a.get("layers"))
        fn.layers = layers if isinstance(layers, list) else [layers]
        tracing = nested(a, "tracing_config")
        fn.tracing_mode = text(tracing.get("mode")) if isinstance(tracing, Mapping) else (
            tracing if isinstance(tracing, Unresolved) else None)
        dlq = nested(a, "dead_letter_config")
        fn.dead_letter_target = text(dlq.get("target_arn")) if isinstance(dlq, Mapping) else (
            dlq if isinstance(dlq, Unresolved) else None)
        reserved = integer(a.get("reserved_concurrent_executions"))
        fn.reserved_concurrency = None if reserved == -1 else reserved  # -1: Terraform's "unreserved"
        fn.code_signing_config = text(a.get("code_signing_config_arn"))
        # tags_all: the provider's default_tags merged in (plan JSON; the HCL reader computes it the same way)
        tags = a["tags_all"] if isinstance(a.get("tags_all"), (Mapping, Unresolved)) else a.get("tags")
        fn.tags = self._tags(tags)
        fn.tags_unknown = tags if isinstance(tags, Unresolved) else None
        fn.code = self._code(block, a, fn.package_type)
        fn.role = text(a.get("role"))
        logging = nested(a, "logging_config")
        fn.log_group = text(logging.get("log_group")) if isinstance(logging, Mapping) else None
        self.inventory.add(self.inventory.functions, fn)

    def _environment(self, block: TfBlock, fn: Function, a: Mapping[str, Any]) -> dict[str, EnvVar]:
        environment = nested(a, "environment")
        variables = environment.get("variables") if isinstance(environment, Mapping) else environment
        if variables is None:
            return {}
        if not isinstance(variables, Mapping):
            self._gap("unresolved", f"environment of {fn.id} is not known statically", fn.location)
            return {}
        out = {}
        for name, raw in variables.items():
            found = value(raw)
            out[str(name)] = EnvVar(
                name=str(name), value=found if found is not None else "",
                location=fn.at(f"Environment.Variables.{name}"),
                parameter=self.parameters.get((block.key, f"environment.0.variables.{name}")),
            )
        return out

    def _vpc_config(self, fn: Function, config: Mapping[str, Any] | Unresolved | None) -> VpcConfig | None:
        if config is None:
            return None
        if isinstance(config, Unresolved):
            return VpcConfig(config, config, fn.at("VpcConfig"))
        subnets = values(config.get("subnet_ids"))
        if not subnets:  # `vpc_config { subnet_ids = [] }` detaches the function, like an empty VpcConfig
            return None
        return VpcConfig(subnets, values(config.get("security_group_ids")), fn.at("VpcConfig"))

    def _tags(self, node: Any) -> dict[str, Value]:
        if not isinstance(node, Mapping):
            return {}
        out: dict[str, Value] = {}
        for key, raw in node.items():
            found = value(raw)
            out[str(key)] = found if found is not None else ""
        return out

    def _code(self, block: TfBlock, a: Mapping[str, Any], package_type: str) -> CodeLocation:
        if package_type == "Image" or text(a.get("image_uri")) is not None:
            return CodeLocation("image", text(a.get("image_uri")))
        filename = text(a.get("filename"))
        archive = self.reference_to(block, filename, ("archive_file",), ("output_path",))
        if archive is not None and getattr(filename, "attribute", "output_path") in ("output_path", None):
            return _archive_source(archive)
        if filename is not None:
            return CodeLocation("local", _local_path(block, filename))
        bucket, key = text(a.get("s3_bucket")), text(a.get("s3_key"))
        if isinstance(bucket, str) and isinstance(key, str):
            return CodeLocation("s3", f"s3://{bucket}/{key}")
        if bucket is not None or key is not None:
            return CodeLocation("s3", Unresolved("s3 code location", "bucket or key known only at apply time"))
        return CodeLocation("unknown", None)

    def _alias(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        target = text(a.get("function_name"))
        if target is not None:
            self.inventory.aliases[block.key] = target

    def _permission(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        from ..lambda_semantics import ASYNC_SERVICE_PRINCIPALS

        permission = Permission(**self.base(block))
        permission.function = text(a.get("function_name")) or ""
        permission.action = text(a.get("action")) or ""
        permission.principal = text(a.get("principal")) or ""
        permission.source_arn = text(a.get("source_arn"))
        permission.source_account = text(a.get("source_account"))
        permission.principal_org_id = text(a.get("principal_org_id"))
        permission.event_source_token = text(a.get("event_source_token"))
        permission.function_url_auth_type = text(a.get("function_url_auth_type"))
        permission.invoked_via_function_url = boolean(a.get("invoked_via_function_url"), False) is True
        self.inventory.add(self.inventory.permissions, permission)
        kind = ASYNC_SERVICE_PRINCIPALS.get(permission.principal) if isinstance(permission.principal, str) else None
        if kind:
            source = EventSource(**self.base(block))
            source.key += "#source"
            source.function, source.kind, source.invocation = permission.function, kind, "async"
            source.source = permission.source_arn
            self.inventory.add(self.inventory.event_sources, source)

    def _url(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        url = FunctionUrl(**self.base(block))
        url.function = text(a.get("function_name")) or ""
        url.auth_type = text(a.get("authorization_type")) or "AWS_IAM"
        url.qualifier = text(a.get("qualifier"))
        cors = nested(a, "cors")
        if isinstance(cors, Mapping) and cors.get("allow_origins") is not None:
            origins = values(cors["allow_origins"])
            url.cors_allow_origins = origins if isinstance(origins, list) else [origins]
        self.inventory.add(self.inventory.function_urls, url)

    def _layer(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        layer = LayerVersion(**self.base(block))
        layer.name = text(a.get("layer_name"))
        layer.content = self._code(block, a, "Zip")
        runtimes = values(a.get("compatible_runtimes"))
        layer.compatible_runtimes = runtimes if isinstance(runtimes, list) else [runtimes]
        self.inventory.add(self.inventory.layers, layer)

    def _layer_permission(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        grant = LayerPermission(**self.base(block))
        grant.layer = text(a.get("layer_name")) or ""
        grant.action = text(a.get("action")) or ""
        grant.principal = text(a.get("principal")) or ""
        grant.organization_id = text(a.get("organization_id"))
        self.inventory.add(self.inventory.layer_permissions, grant)

    def _code_signing(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        config = CodeSigningConfig(**self.base(block))
        policies = nested(a, "policies")
        if isinstance(policies, Unresolved):
            config.untrusted_artifact_on_deployment = policies
        elif isinstance(policies, Mapping):
            config.untrusted_artifact_on_deployment = text(policies.get("untrusted_artifact_on_deployment")) or "Warn"
        publishers = nested(a, "allowed_publishers")
        if isinstance(publishers, Unresolved):
            config.allowed_publishers = [publishers]
        elif isinstance(publishers, Mapping):
            arns = values(publishers.get("signing_profile_version_arns"))
            config.allowed_publishers = arns if isinstance(arns, list) else [arns]
        self.inventory.add(self.inventory.code_signing_configs, config)

    def _event_invoke(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        config = EventInvokeConfig(**self.base(block))
        config.function = text(a.get("function_name")) or ""
        destinations = nested(a, "destination_config")
        if isinstance(destinations, Mapping):
            for attribute, name in (("on_failure", "on_failure"), ("on_success", "on_success")):
                target = nested(destinations, name)
                if isinstance(target, Mapping):
                    setattr(config, attribute, text(target.get("destination")))
                elif isinstance(target, Unresolved):
                    setattr(config, attribute, target)
        config.maximum_retry_attempts = integer(a.get("maximum_retry_attempts"))
        self.inventory.add(self.inventory.event_invoke_configs, config)

    def _event_source_mapping(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        source = EventSource(**self.base(block))
        source.function = text(a.get("function_name")) or ""
        source.source = text(a.get("event_source_arn"))
        source.invocation = "poll"
        source.kind = self._source_kind(block, source.source)
        if nested(a, "self_managed_event_source") is not None:
            source.kind = "kafka"
        self.inventory.add(self.inventory.event_sources, source)

    def _source_kind(self, block: TfBlock, arn: Value | None) -> str:
        found = self.target(arn) or self.target_in_text(block, arn, tuple(_SOURCE_KINDS))
        if found is not None:
            return _SOURCE_KINDS.get(found.type, "other")
        shown = arn if isinstance(arn, str) else getattr(arn, "expression", "")
        return next((kind for marker, kind in _ARN_KINDS if marker in shown), "other")

    def _bucket_notifications(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        for index, config in enumerate(nested_all(a, "lambda_function")):
            if not isinstance(config, Mapping):
                continue
            source = EventSource(**self.base(block))
            source.key += f"#notification{index}"
            source.location = block.at(f"lambda_function.{index}")
            source.function = text(config.get("lambda_function_arn")) or ""
            source.kind, source.invocation, source.source = "s3", "async", text(a.get("bucket"))
            self.inventory.add(self.inventory.event_sources, source)

    def _event_target(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        arn = text(a.get("arn"))
        if self.reference_to(block, arn, _FUNCTION_TYPES, ("arn",)) is None and not (
                isinstance(arn, str) and ":function:" in arn):
            return
        source = EventSource(**self.base(block))
        source.function = arn or ""
        source.kind, source.invocation, source.source = "events", "async", text(a.get("rule"))
        self.inventory.add(self.inventory.event_sources, source)

    # ------------------------------------------------------------ IAM
    def _role(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        role = Role(**self.base(block))
        role.name = text(a.get("name"))
        if a.get("assume_role_policy") not in (None, ""):
            role.trust_policy = self.document(a["assume_role_policy"])
        role.permissions_boundary = text(a.get("permissions_boundary"))
        for index, inline in enumerate(nested_all(a, "inline_policy")):
            location = block.at(f"inline_policy.{index}")
            if isinstance(inline, Unresolved):
                role.policies.append(Policy(f"inline policy {index}", "inline", inline, location))
            elif inline.get("policy") not in (None, ""):  # `inline_policy {}` only says "no inline policies"
                name = text(inline.get("name"))
                role.policies.append(Policy(name if isinstance(name, str) else f"inline policy {index}", "inline",
                                            self.document(inline["policy"]), location))
        arns = values(a.get("managed_policy_arns"))
        for index, arn in enumerate(arns if isinstance(arns, list) else [arns]):
            _add_policy(role, self.managed_policy(block, arn, block.at(f"managed_policy_arns.{index}")))
        self.inventory.add(self.inventory.roles, role)

    def managed_policy(self, source: TfBlock, arn: Value, location: Location) -> Policy:
        """A policy attached by ARN: a customer managed policy of the configuration, or an AWS managed one."""
        from ...iam.managed import managed_policy

        policy_block = self.reference_to(source, arn, ("aws_iam_policy",), ("arn",))
        if policy_block is not None and policy_block.mode == "data":
            return self._looked_up_policy(policy_block, location)
        if policy_block is not None:
            name = text(policy_block.attributes.get("name"))
            literal_arn = policy_block.attributes.get("arn")
            return Policy(name if isinstance(name, str) else policy_block.address, "customer-managed",
                          self.document(policy_block.attributes.get("policy")), location,
                          arn=literal_arn if isinstance(literal_arn, str) else None)
        if isinstance(arn, ResourceRef):
            return Policy(str(arn), "customer-managed", Unresolved(str(arn), "not a managed policy"), location)
        if isinstance(arn, Unresolved):
            return Policy(arn.expression, "customer-managed", arn, location)
        known = managed_policy(arn)
        if known is not None:
            return _catalogued(known, location)
        is_aws = ":iam::aws:policy/" in arn
        reason = ("AWS managed policy not in lambdasec's catalogue" if is_aws
                  else "customer managed policy outside the configuration")
        return Policy(arn.rsplit("/", 1)[-1], "aws-managed" if is_aws else "customer-managed",
                      Unresolved(arn, reason), location, arn=arn)

    def _looked_up_policy(self, block: TfBlock, location: Location) -> Policy:
        """`data "aws_iam_policy"` (by ARN or name): AWS managed policies are commonly attached this way, and
        the catalogue knows them; any other policy's document is in the AWS account (a plan shows it)."""
        from ...iam.managed import managed_policy

        a = block.attributes
        arn, name = text(a.get("arn")), text(a.get("name"))
        for wanted in (arn, name):
            known = managed_policy(wanted) if isinstance(wanted, str) else None
            if known is not None:
                return _catalogued(known, location)
        label = name if isinstance(name, str) else arn if isinstance(arn, str) else block.address
        document = (self.document(a["policy"]) if a.get("policy") not in (None, "")
                    else Unresolved(block.address, "customer managed policy read from the AWS account"))
        return Policy(label, "customer-managed", document, location, arn=arn if isinstance(arn, str) else None)

    def role_named(self, source: TfBlock, node: Any) -> Role | None:
        """The role an attachment names: a reference to it, its name, or its ARN."""
        found = self.principal_named(source, node, "role")
        return found if isinstance(found, Role) else None

    def principal_named(self, source: TfBlock, node: Any, kind: str) -> _Principal | None:
        """The role, user or group (`kind`) an attachment names: a reference to it, its name, or its ARN."""
        buckets: dict[str, Sequence[_Principal]] = {
            "role": self.inventory.roles, "user": self.inventory.users, "group": self.inventory.groups}
        bucket = buckets[kind]
        found = self.reference_to(source, node, (_PRINCIPAL_TYPES[kind],), ("id", "name", "arn"))
        if found is not None:
            return next((item for item in bucket if item.key == found.key), None)
        if isinstance(node, str):
            name = node.rsplit("/", 1)[-1] if node.startswith("arn:") else node
            return next((item for item in bucket if item.name == name), None)
        return None

    def _user(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        user = User(**self.base(block))
        user.name = text(a.get("name"))
        user.permissions_boundary = text(a.get("permissions_boundary"))
        self.inventory.add(self.inventory.users, user)

    def _iam_group(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        group = Group(**self.base(block))
        group.name = text(a.get("name"))
        self.inventory.add(self.inventory.groups, group)

    def _inline_policy(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        """aws_iam_role_policy / aws_iam_user_policy / aws_iam_group_policy."""
        kind = _ATTACHED_TO[block.type]
        principal = self.principal_named(block, text(a.get(kind)), kind)  # `role`, `user` or `group`
        if principal is None:
            return
        name = text(a.get("name"))
        label = name if isinstance(name, str) else block.address
        _add_policy(principal, Policy(label, "inline", self.document(a.get("policy")), block.at("policy")))

    def _policy_attachment(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        arn = text(a.get("policy_arn"))
        if arn is None:
            return
        targets: list[tuple[str, list[Value]]]
        if block.type == "aws_iam_policy_attachment":  # one policy, lists of `roles`, `users` and `groups`
            targets = [(kind, _listed(a.get(f"{kind}s"))) for kind in _PRINCIPAL_TYPES]
        else:
            kind = _ATTACHED_TO[block.type]
            targets = [(kind, _listed(a.get(kind)))]
        for kind, names in targets:
            for target in names:
                principal = self.principal_named(block, target, kind)
                if principal is not None:
                    _add_policy(principal, self.managed_policy(block, arn, block.at("policy_arn")))

    def _group_membership(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        """aws_iam_group_membership: one group, its users."""
        group = text(a.get("group"))
        if group is not None:
            for member in _listed(a.get("users")):
                self._join(block, member, group)

    def _user_group_membership(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        """aws_iam_user_group_membership: one user, groups it joins."""
        user = text(a.get("user"))
        if user is not None:
            for group in _listed(a.get("groups")):
                self._join(block, user, group)

    def _join(self, block: TfBlock, member: Value, group_name: Value) -> None:
        """Record a membership on both sides, as a link when the object is in the inventory, else by name."""
        found_user = self.principal_named(block, member, "user")
        found_group = self.principal_named(block, group_name, "group")
        user = found_user if isinstance(found_user, User) else None
        group = found_group if isinstance(found_group, Group) else None
        if user is not None:
            _add_unique(user.groups, ResourceRef(group.key) if group is not None else group_name)
        if group is not None:
            _add_unique(group.members, ResourceRef(user.key) if user is not None else member)

    def document(self, node: Any, depth: int = 0) -> PolicyDocument | Unresolved:
        """A policy given as JSON text, as an object (jsonencode), or as a reference to a policy document."""
        from ...iam.policy import parse_document

        if node is None or node == "":
            return Unresolved("", "policy document not set")
        if isinstance(node, ResourceRef):
            found = self.by_key.get(node.key)
            if found is None or depth > _MAX_DEPTH:
                return Unresolved(str(node), "policy document outside the scanned configuration")
            if found.type == "aws_iam_policy_document":
                return self._policy_document_block(found, depth + 1)
            if found.type in ("aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy"):
                return self.document(found.attributes.get("policy"), depth + 1)
            return Unresolved(str(node), "not a policy document")
        return parse_document(node)

    def _policy_document_block(self, block: TfBlock, depth: int) -> PolicyDocument | Unresolved:
        """`data "aws_iam_policy_document"`: its rendered `json` when the reader knows it, else its statements."""
        from ...iam.policy import parse_document

        rendered = block.attributes.get("json")
        if isinstance(rendered, str) and rendered:
            return parse_document(rendered)
        statements = block.attributes.get("statement")
        if isinstance(statements, Unresolved):
            return statements
        document = PolicyDocument()
        for source in _listed(block.attributes.get("source_policy_documents")):
            document.statements.extend(_statements(self.document(source, depth + 1)))
        own = parse_document({"Statement": [_raw_statement(s) for s in nested_all(block.attributes, "statement")]})
        if isinstance(own, Unresolved):
            return own
        document.statements.extend(own.statements)
        for override in _listed(block.attributes.get("override_policy_documents")):
            for statement in _statements(self.document(override, depth + 1)):
                document.statements = [s for s in document.statements if not (s.sid and s.sid == statement.sid)]
                document.statements.append(statement)
        return document

    # ------------------------------------------------------------ network
    def _subnet(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        subnet = Subnet(**self.base(block))
        subnet.vpc = text(a.get("vpc_id"))
        subnet.availability_zone = text(a.get("availability_zone")) or text(a.get("availability_zone_id"))
        subnet.cidr = text(a.get("cidr_block"))
        subnet.map_public_ip = boolean(a.get("map_public_ip_on_launch"), False) is True
        self.inventory.add(self.inventory.subnets, subnet)

    def _route_table(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        """Inline `route` blocks: one Route each, in the table (associations reference the table)."""
        for index, inline in enumerate(nested_all(a, "route")):
            if not isinstance(inline, Mapping):
                continue
            route = Route(**self.base(block))
            route.key += f"#route{index}"
            route.location = block.at(f"route.{index}")
            route.route_table = ResourceRef(block.key, "id")
            self._fill_route(block, route, inline, "cidr_block", "ipv6_cidr_block")
            self.inventory.add(self.inventory.routes, route)

    def _route(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        route = Route(**self.base(block))
        route.route_table = text(a.get("route_table_id")) or ""
        self._fill_route(block, route, a, "destination_cidr_block", "destination_ipv6_cidr_block")
        self.inventory.add(self.inventory.routes, route)

    def _fill_route(self, block: TfBlock, route: Route, a: Mapping[str, Any], ipv4: str, ipv6: str) -> None:
        route.destination = text(a.get(ipv4)) or text(a.get(ipv6))
        route.gateway = text(a.get("gateway_id"))
        route.nat_gateway = text(a.get("nat_gateway_id"))
        if route.gateway is not None:
            gateway = self.target(route.gateway) or self.target_in_text(block, route.gateway, ("aws_internet_gateway",))
            if gateway is not None:
                route.target_kind = "internet-gateway" if gateway.type == "aws_internet_gateway" else "other"
            elif isinstance(route.gateway, str):
                route.target_kind = "internet-gateway" if route.gateway.startswith("igw-") else "other"
            else:
                route.target_kind = "unknown"
        elif route.nat_gateway is not None:
            route.target_kind = "nat-gateway"
        elif text(a.get("egress_only_gateway_id")) is not None:
            route.target_kind = "egress-only"
        else:
            route.target_kind = "other"

    def _route_association(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        subnet = text(a.get("subnet_id"))
        if subnet is None:
            return  # a gateway association (edge route table)
        association = RouteTableAssociation(**self.base(block))
        association.route_table = text(a.get("route_table_id")) or ""
        association.subnet = subnet
        self.inventory.add(self.inventory.route_table_associations, association)

    def _security_group(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        group = SecurityGroup(**self.base(block))
        group.vpc = text(a.get("vpc_id"))
        # Terraform revokes AWS's default allow-all egress rule: without egress blocks nothing may leave.
        group.egress = []
        egress = a.get("egress")
        if isinstance(egress, Unresolved):
            group.egress.append(SecurityGroupRule(egress, egress, egress, location=block.at("egress")))
        for index, rule in enumerate(nested_all(a, "egress")):
            location = block.at(f"egress.{index}")
            if isinstance(rule, Unresolved):
                group.egress.append(SecurityGroupRule(rule, rule, rule, location=location))
            else:
                group.egress.extend(_expand_rule(rule, "protocol", "security_groups", group, location))
        self.inventory.add(self.inventory.security_groups, group)

    def _security_group_rule(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        if a.get("type") != "egress":
            return
        group = self._group(block, a.get("security_group_id"))
        if group is not None:
            assert group.egress is not None
            group.egress.extend(_expand_rule(a, "protocol", "source_security_group_id", group, block.location))

    def _vpc_egress_rule(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        group = self._group(block, a.get("security_group_id"))
        if group is None:
            return
        assert group.egress is not None
        group.egress.append(SecurityGroupRule(
            protocol=text(a.get("ip_protocol")) or "-1",
            from_port=integer(a.get("from_port")),
            to_port=integer(a.get("to_port")),
            cidr_ipv4=text(a.get("cidr_ipv4")),
            cidr_ipv6=text(a.get("cidr_ipv6")),
            destination_group=text(a.get("referenced_security_group_id")),
            destination_prefix_list=text(a.get("prefix_list_id")),
            location=block.location,
        ))

    def _group(self, block: TfBlock, node: Any) -> SecurityGroup | None:
        found = self.reference_to(block, text(node), ("aws_security_group",), ("id",))
        group = self.inventory.resolve(found.key, SecurityGroup) if found is not None else None
        if group is not None and group.egress is None:
            group.egress = []
        return group

    def _vpc_endpoint(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        endpoint = VpcEndpoint(**self.base(block))
        endpoint.vpc = text(a.get("vpc_id"))
        endpoint.service = text(a.get("service_name"))
        endpoint_type = a.get("vpc_endpoint_type")
        endpoint.endpoint_type = endpoint_type if isinstance(endpoint_type, str) and endpoint_type else "Gateway"
        self.inventory.add(self.inventory.vpc_endpoints, endpoint)

    # ------------------------------------------------------------ posture
    def _trail(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        trail = Trail(**self.base(block))
        trail.is_logging = boolean(a.get("enable_logging"), True)
        trail.multi_region = boolean(a.get("is_multi_region_trail"), False) is True
        trail.event_selectors = [_event_selector(s) for s in nested_all(a, "event_selector")]
        trail.advanced_event_selectors = [_advanced_selector(s) for s in nested_all(a, "advanced_event_selector")]
        self.inventory.add(self.inventory.trails, trail)

    def _guardduty(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        detector = GuardDutyDetector(**self.base(block))
        detector.enabled = boolean(a.get("enable"), True)
        self.inventory.add(self.inventory.guardduty_detectors, detector)

    def _guardduty_feature(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        found = self.reference_to(block, text(a.get("detector_id")), ("aws_guardduty_detector",))
        detector = self.inventory.resolve(found.key, GuardDutyDetector) if found is not None else None
        name = a.get("name")
        if detector is not None and isinstance(name, str):
            detector.features[name] = str(a.get("status") or "")

    def _kms_key(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        key = KmsKey(**self.base(block))
        if a.get("policy") not in (None, ""):
            key.key_policy = self.document(a["policy"])
        key.rotation_enabled = boolean(a.get("enable_key_rotation"), False)
        self.inventory.add(self.inventory.kms_keys, key)

    def _kms_key_policy(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        found = self.reference_to(block, text(a.get("key_id")), ("aws_kms_key",), ("id", "key_id", "arn"))
        key = self.inventory.resolve(found.key, KmsKey) if found is not None else None
        if key is not None:
            key.key_policy = self.document(a.get("policy"))

    def _log_group(self, block: TfBlock, a: Mapping[str, Any]) -> None:
        group = LogGroup(**self.base(block))
        group.name = text(a.get("name"))
        retention = integer(a.get("retention_in_days"))
        group.retention_days = None if retention == 0 else retention  # 0: never expire
        self.inventory.add(self.inventory.log_groups, group)

    # ------------------------------------------------------------ API Gateway
    def _api_routes(self) -> Iterator[ApiRoute]:
        for block in self.blocks:
            if block.mode != "managed":
                continue
            if block.type == "aws_apigatewayv2_route":
                route = self._http_route(block)
            elif block.type == "aws_api_gateway_method":
                route = self._rest_method(block)
            elif block.type == "aws_apigatewayv2_api":
                route = self._quick_create_route(block)
            else:
                continue
            if route is not None:
                yield route

    def function_of_uri(self, source: TfBlock, uri: Any) -> Value | None:
        """The function an integration URI (function `invoke_arn`/`arn`, or a literal URI) points at."""
        found = self.target(uri) or self.target_in_text(source, uri, _FUNCTION_TYPES)
        if found is not None:
            if found.type not in _FUNCTION_TYPES:
                return None
            return uri if isinstance(uri, ResourceRef) else ResourceRef(found.key, "invoke_arn")
        shown = uri if isinstance(uri, str) else None
        match = _FUNCTION_ARN.search(shown) if shown else None
        return match.group(0) if match else None

    def _http_route(self, block: TfBlock) -> ApiRoute | None:
        a = block.attributes
        target = text(a.get("target"))
        integration = self.reference_to(block, target, ("aws_apigatewayv2_integration",))
        if integration is None and isinstance(target, str) and target.startswith("integrations/"):
            integration = self.by_literal(("aws_apigatewayv2_integration",), target.split("/", 1)[1], ("id",))
        if integration is None:
            return None
        function = self.function_of_uri(integration, text(integration.attributes.get("integration_uri")))
        if function is None:
            return None
        route = ApiRoute(**self.base(block))
        route.api = self._api_name(a.get("api_id"))
        route_key = str(text(a.get("route_key")) or "$default")
        route.method, _, route.path = route_key.partition(" ") if " " in route_key else ("ANY", "", route_key)
        route.function = function
        route.authorization = str(text(a.get("authorization_type")) or "NONE").upper()
        route.api_key_required = boolean(a.get("api_key_required"), False) is True
        return route

    def _quick_create_route(self, block: TfBlock) -> ApiRoute | None:
        """An HTTP API created with `target` gets a `$default` route with no authorization."""
        function = self.function_of_uri(block, text(block.attributes.get("target")))
        if function is None:
            return None
        route = ApiRoute(**self.base(block))
        route.key += "#$default"
        route.api, route.method, route.path, route.function = block.address, "ANY", "$default", function
        route.location = block.at("target")
        return route

    def _rest_method(self, block: TfBlock) -> ApiRoute | None:
        a = block.attributes
        integration = next((b for b in self.blocks if b.type == "aws_api_gateway_integration"
                            and self._integrates(b, block)), None)
        if integration is None:
            return None
        function = self.function_of_uri(integration, text(integration.attributes.get("uri")))
        if function is None:
            return None
        route = ApiRoute(**self.base(block))
        route.api = self._api_name(a.get("rest_api_id"))
        route.method = str(text(a.get("http_method")) or "ANY").upper()
        route.path = self._rest_path(block, a.get("resource_id"))
        route.function = function
        route.authorization = str(text(a.get("authorization")) or "NONE").upper()
        route.api_key_required = boolean(a.get("api_key_required"), False) is True
        return route

    def _integrates(self, integration: TfBlock, method: TfBlock) -> bool:
        """An integration belongs to a method by reference (`http_method = aws_api_gateway_method.x.http_method`)
        or by the same API, resource and HTTP method."""
        ia, ma = integration.attributes, method.attributes
        if any(self.target(ia.get(name)) is method for name in ("http_method", "resource_id")):
            return True
        return all(_same(text(ia.get(name)), text(ma.get(name))) for name in ("rest_api_id", "resource_id",
                                                                               "http_method"))

    def _rest_path(self, source: TfBlock, resource_id: Any, depth: int = 0) -> str:
        resource = self.reference_to(source, text(resource_id), ("aws_api_gateway_resource",))
        if resource is None or depth > 30:
            return "/"  # the API's root resource (`root_resource_id`), or not known
        known = resource.attributes.get("path")
        if isinstance(known, str) and known:
            return known
        parent = self._rest_path(resource, resource.attributes.get("parent_id"), depth + 1)
        return parent.rstrip("/") + "/" + str(text(resource.attributes.get("path_part")) or "")

    def _api_name(self, node: Any) -> str:
        found = self.target(node)
        if found is not None:
            return found.address
        shown = text(node)
        return "" if shown is None else _shown(shown)


# ---------------------------------------------------------------- helpers
def _own_part(block: TfBlock) -> str:
    """`aws_x.y["k"]` of `module.m.aws_x.y["k"]` (the part after the module path)."""
    address = block.address
    marker = f"{'data.' if block.mode == 'data' else ''}{block.type}.{block.name}"
    position = address.rfind(marker)
    return address[position:] if position >= 0 else address


def _local_path(block: TfBlock, filename: Value) -> Value:
    """A local package path, relative to the scan root (Terraform paths are relative to the module)."""
    if not isinstance(filename, str) or filename.startswith("/"):
        return filename
    origin = block.key.rsplit("#", 1)[0]
    # A plan's paths are relative to the directory Terraform ran in: take the plan file's directory.
    directory = posixpath.dirname(origin) if origin.endswith(".json") else origin
    return posixpath.normpath(posixpath.join(directory, filename)) if directory else posixpath.normpath(filename)


def _archive_source(archive: TfBlock) -> CodeLocation:
    """What an `archive_file` zips: its zip only exists after `terraform apply`, its source is here now.

    ``source_dir`` is a directory package, ``source_file`` a one-file package (the file keeps its name in the zip),
    ``source_content`` (or one ``source`` block) inline code with its file name.
    """
    a = archive.attributes
    source_dir, source_file = text(a.get("source_dir")), text(a.get("source_file"))
    excludes = values(a.get("excludes"))
    if source_dir is not None:
        kept = tuple(item for item in excludes if isinstance(item, str)) if isinstance(excludes, list) else ()
        return CodeLocation("local", _local_path(archive, source_dir), excludes=kept)
    if source_file is not None:
        return CodeLocation("local", _local_path(archive, source_file), single_file=True)
    content, name = a.get("source_content"), text(a.get("source_content_filename"))
    sources = nested_all(a, "source")
    if content is None and len(sources) == 1 and isinstance(sources[0], Mapping):
        content, name = sources[0].get("content"), text(sources[0].get("filename"))
    if isinstance(content, str) and isinstance(name, str):
        return CodeLocation("inline", name, content)
    shown = archive.address
    reason = "several source blocks" if len(sources) > 1 else "its content is not known statically"
    return CodeLocation("local", Unresolved(shown, f"{shown}: {reason}"))


def _catalogued(known: ManagedPolicy, location: Location) -> Policy:
    """An AWS managed policy from lambdasec's catalogue, with its document."""
    from ...iam.policy import parse_document

    return Policy(known.name, "aws-managed", parse_document(known.document), location, arn=known.arn)


def _statements(document: PolicyDocument | Unresolved) -> list[PolicyStatement]:
    """A document's statements; an unknown one counts as a statement that could not be read."""
    if isinstance(document, Unresolved):
        return [PolicyStatement(effect="Allow", unresolved=[document])]
    return document.statements


def _listed(node: Any) -> list[Value]:
    found = values(node)
    return found if isinstance(found, list) else [found]


def _add_policy(principal: Role | User | Group, policy: Policy) -> None:
    """Attach unless the same policy is there already (a plan's role state lists its attachments too)."""
    for existing in principal.policies:
        if existing.kind == policy.kind and (existing.arn or existing.name) == (policy.arn or policy.name):
            return
    principal.policies.append(policy)


def _add_unique(items: list[Value], item: Value) -> None:
    if item not in items:
        items.append(item)


def _same(left: Value | None, right: Value | None) -> bool:
    if isinstance(left, ResourceRef) and isinstance(right, ResourceRef):
        return left.key == right.key
    return left is not None and not isinstance(left, Unresolved) and left == right


def _raw_statement(block: Mapping[str, Any] | Unresolved) -> Any:
    """A `statement { ... }` block as the IAM JSON statement it renders to."""
    if isinstance(block, Unresolved):
        return block
    raw: dict[str, Any] = {"Effect": block.get("effect") or "Allow"}
    for attribute, key in (("sid", "Sid"), ("actions", "Action"), ("not_actions", "NotAction"),
                           ("resources", "Resource"), ("not_resources", "NotResource")):
        found = block.get(attribute)
        if found not in (None, "", []):
            raw[key] = sorted(found) if isinstance(found, (set, frozenset)) else found
    for attribute, key in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
        principals = _principals(nested_all(block, attribute))
        if principals is not None:
            raw[key] = principals
    conditions: dict[str, Any] = {}
    for condition in nested_all(block, "condition"):
        if isinstance(condition, Unresolved):
            raw["Condition"] = condition
            return raw
        test, variable = condition.get("test"), condition.get("variable")
        test_key = test if isinstance(test, str) else _shown(test)
        variable_key = variable if isinstance(variable, str) else _shown(variable)
        conditions.setdefault(test_key, {})[variable_key] = condition.get("values")
    if conditions:
        raw["Condition"] = conditions
    return raw


def _principals(blocks: list[Mapping[str, Any] | Unresolved]) -> Any:
    if not blocks:
        return None
    merged: dict[str, list[Any]] = {}
    for block in blocks:
        if isinstance(block, Unresolved):
            return block
        kind = block.get("type")
        identifiers = block.get("identifiers")
        if isinstance(identifiers, Unresolved):
            identifiers = [identifiers]
        if kind == "*":
            return "*"  # `type = "*"` renders as `"Principal": "*"`
        merged.setdefault(_shown(kind), []).extend(identifiers if isinstance(identifiers, (list, tuple)) else
                                                   [identifiers] if identifiers is not None else [])
    return merged


def _event_selector(selector: Mapping[str, Any] | Unresolved) -> dict[str, Any]:
    """A Terraform `event_selector` block in CloudFormation's EventSelector shape (what OBS003 reads)."""
    if isinstance(selector, Unresolved):
        return {"DataResources": [{"Type": selector}]}  # not known: the rule must not call it "no selector"
    out: dict[str, Any] = {}
    _put(out, "ReadWriteType", selector.get("read_write_type"))
    _put(out, "IncludeManagementEvents", selector.get("include_management_events"))
    _put(out, "ExcludeManagementEventSources", selector.get("exclude_management_event_sources"))
    resources = [
        {"Type": r.get("type"), "Values": r.get("values")} if isinstance(r, Mapping) else {"Type": r}
        for r in nested_all(selector, "data_resource")
    ]
    if resources:
        out["DataResources"] = resources
    return out


def _advanced_selector(selector: Mapping[str, Any] | Unresolved) -> dict[str, Any]:
    """A Terraform `advanced_event_selector` block in CloudFormation's AdvancedEventSelector shape."""
    if isinstance(selector, Unresolved):
        return {"FieldSelectors": [{"Field": "eventCategory", "Equals": selector},
                                   {"Field": "resources.type", "Equals": selector}]}
    out: dict[str, Any] = {}
    _put(out, "Name", selector.get("name"))
    fields = []
    for field in nested_all(selector, "field_selector"):
        if isinstance(field, Unresolved):
            fields.extend([{"Field": "eventCategory", "Equals": field}, {"Field": "resources.type", "Equals": field}])
            continue
        converted: dict[str, Any] = {}
        for attribute, key in (("field", "Field"), ("equals", "Equals"), ("not_equals", "NotEquals"),
                               ("starts_with", "StartsWith"), ("not_starts_with", "NotStartsWith"),
                               ("ends_with", "EndsWith"), ("not_ends_with", "NotEndsWith")):
            _put(converted, key, field.get(attribute))
        fields.append(converted)
    out["FieldSelectors"] = fields
    return out


def _put(out: dict[str, Any], key: str, node: Any) -> None:
    if node in (None, "", []):
        return
    out[key] = sorted(node) if isinstance(node, (set, frozenset)) else node


def _expand_rule(rule: Mapping[str, Any], protocol_key: str, group_key: str, group: SecurityGroup,
                 location: Location) -> list[SecurityGroupRule]:
    """One Terraform egress rule lists several destinations; AWS keeps one rule per destination."""
    def make(**destination: Any) -> SecurityGroupRule:
        return SecurityGroupRule(
            protocol=text(rule.get(protocol_key)) or "-1", from_port=integer(rule.get("from_port")),
            to_port=integer(rule.get("to_port")), location=location, **destination)

    out: list[SecurityGroupRule] = []
    for attribute, field in (("cidr_blocks", "cidr_ipv4"), ("ipv6_cidr_blocks", "cidr_ipv6"),
                             ("prefix_list_ids", "destination_prefix_list"), (group_key, "destination_group")):
        found = values(rule.get(attribute))
        for destination in found if isinstance(found, list) else [found]:
            out.append(make(**{field: destination}))
    if boolean(rule.get("self"), False) is True:
        out.append(make(destination_group=ResourceRef(group.key, "id")))
    return out or [make()]

