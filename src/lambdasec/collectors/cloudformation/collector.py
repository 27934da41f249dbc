"""CloudFormation / SAM templates -> inventory.

The collector only reads and normalizes: it parses the file, expands SAM through the
official translator, resolves what the template alone determines, and maps each
resource type it knows onto the inventory model. Problems become coverage gaps.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ...model.inventory import (
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
from ...model.location import Location, PropertyLocations
from ...model.values import ResourceRef, Unresolved, Value
from ..lambda_semantics import ASYNC_SERVICE_PRINCIPALS
from ..options import CollectOptions
from . import apis
from .intrinsics import Resolver
from .loader import LineDict, LineList, TemplateError, load_template_text
from .locator import Locator
from .suppressions import comment_suppressions, metadata_suppressions

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
_Principal = Role | User | Group
_CFN_HINT = re.compile(r"AWS::|Custom::|AWSTemplateFormatVersion")



def looks_like_template(text: str) -> bool:
    return "Resources" in text and bool(_CFN_HINT.search(text))


def is_template(document: Any) -> bool:
    if not isinstance(document, Mapping):
        return False
    resources = document.get("Resources")
    if not isinstance(resources, Mapping):
        return False
    return any(
        isinstance(r, Mapping) and isinstance(r.get("Type"), str) and "::" in r["Type"] for r in resources.values()
    )


def _transforms(document: Mapping[str, Any]) -> list[str]:
    value = document.get("Transform")
    items = value if isinstance(value, list) else [value]
    return [t for t in items if isinstance(t, str)]


def collect_file(path: Path, root: Path, options: CollectOptions) -> Inventory | None:
    """Inventory of one template, or None when the file is not a CloudFormation template at all."""
    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()
    inventory = Inventory()
    where = Location(rel)
    try:
        size = path.stat().st_size
        if size > options.max_template_bytes:
            if looks_like_template(path.open("rb").read(65536).decode("utf-8", "replace")):
                inventory.coverage_gaps.append(CoverageGap(
                    "too-large", f"template is {size} bytes, over the {options.max_template_bytes} byte limit", where))
                return inventory
            return None
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        head = path.read_bytes()[:65536]
        if head.startswith((b"\xff\xfe", b"\xfe\xff")) and looks_like_template(head.decode("utf-16", "replace")):
            return _gap(inventory, "parse-error", "file is UTF-16, not UTF-8", where)
        return None if not looks_like_template(head.decode("utf-8", "replace")) else _gap(
            inventory, "parse-error", "file is not valid UTF-8", where)
    except OSError as exc:
        return _gap(inventory, "read-error", f"cannot read file: {exc.strerror}", where)
    if not looks_like_template(text):
        return None
    try:
        document = load_template_text(text, is_json=path.suffix.lower() in (".json", ".template"))
    except TemplateError as exc:
        return _gap(inventory, "parse-error", str(exc), where)
    if not is_template(document):
        if isinstance(document, Mapping) and "AWSTemplateFormatVersion" in document:
            return _gap(inventory, "parse-error", "template has no valid Resources section", where)
        wrapped = _wrapped_template(document)
        return _gap(inventory, "parse-error", wrapped, where) if wrapped else None
    try:
        TemplateCollector(rel, root, path, text, document, options, inventory).collect()
    except RecursionError:
        return _gap(inventory, "parse-error", "template is nested too deeply", where)
    except Exception as exc:  # a template shape we did not foresee must not end the whole scan
        partial = Inventory(coverage_gaps=inventory.coverage_gaps)
        return _gap(partial, "internal-error", f"could not read template: {type(exc).__name__}: {exc}"[:300], where)
    return inventory


def _wrapped_template(document: Any) -> str | None:
    """A template inside a list, or encoded twice (a string holding it): not read, but not silently skipped."""
    if isinstance(document, str) and looks_like_template(document):
        return "the document is a string holding a template (encoded twice?), not a template"
    if isinstance(document, list) and any(is_template(item) for item in document):
        return "the document is a list holding a template, not a template"
    return None


def _gap(inventory: Inventory, kind: str, message: str, where: Location) -> Inventory:
    inventory.coverage_gaps.append(CoverageGap(kind, message, where))
    return inventory


class TemplateCollector:
    def __init__(
        self, rel: str, root: Path, path: Path, text: str, source: Mapping[str, Any],
        options: CollectOptions, inventory: Inventory,
    ) -> None:
        self.rel, self.root, self.path, self.text = rel, root, path, text
        self.source = source
        self.options = options
        self.inventory = inventory
        self.local_code: dict[str, str] = {}  # generated logical id -> local CodeUri/ContentUri
        self.document: Mapping[str, Any] = source
        sam_resources: Mapping[str, Any] | None = None
        if SAM_TRANSFORM in _transforms(source):
            from .sam import translate

            translated = translate(source, self.path.parent, root, self.rel, options.cache_dir,
                                   options.sam_expander)
            self.inventory.coverage_gaps.extend(translated.gaps)
            self.document, self.local_code = translated.template, translated.local_code
            sam_resources = source.get("Resources") or {}
        self.locator = Locator(rel, source, sam_resources)
        resources = self.document.get("Resources")
        self.resources: Mapping[str, Any] = resources if isinstance(resources, Mapping) else {}
        params = self.document.get("Parameters")
        self.raw_parameters: Mapping[str, Any] = params if isinstance(params, Mapping) else {}
        self.resolver = Resolver(
            rel, self.resources, self.raw_parameters, _mapping(self.document.get("Mappings")),
            _mapping(self.document.get("Conditions")), options.parameter_values,
        )
        self.parameters = {name: self._parameter(name, decl) for name, decl in self.raw_parameters.items()}
        self.suppressions = comment_suppressions(text, self.locator, self.inventory.coverage_gaps)

    # ------------------------------------------------------------ driver
    def collect(self) -> None:
        builders: dict[str, Callable[[str, Mapping[str, Any]], None]] = {
            "AWS::Lambda::Function": self._function,
            "AWS::IAM::Role": self._role,
            "AWS::IAM::User": self._user,
            "AWS::IAM::Group": self._group,
            "AWS::Lambda::Permission": self._permission,
            "AWS::Lambda::Url": self._url,
            "AWS::Lambda::LayerVersion": self._layer,
            "AWS::Lambda::LayerVersionPermission": self._layer_permission,
            "AWS::Lambda::CodeSigningConfig": self._code_signing,
            "AWS::Lambda::EventInvokeConfig": self._event_invoke,
            "AWS::Lambda::EventSourceMapping": self._event_source_mapping,
            "AWS::EC2::Subnet": self._subnet,
            "AWS::EC2::Route": self._route,
            "AWS::EC2::SubnetRouteTableAssociation": self._route_association,
            "AWS::EC2::SecurityGroup": self._security_group,
            "AWS::EC2::VPCEndpoint": self._vpc_endpoint,
            "AWS::CloudTrail::Trail": self._trail,
            "AWS::GuardDuty::Detector": self._guardduty,
            "AWS::KMS::Key": self._kms_key,
            "AWS::Logs::LogGroup": self._log_group,
            "AWS::S3::Bucket": self._bucket_notifications,
            "AWS::Events::Rule": self._event_rule,
            "AWS::Lambda::Alias": self._alias,
            "AWS::Lambda::Version": self._alias,
        }
        # These attach to objects built in the first pass.
        late: dict[str, Callable[[str, Mapping[str, Any]], None]] = {
            "AWS::IAM::Policy": self._attached_policy,
            "AWS::IAM::ManagedPolicy": self._attached_policy,
            "AWS::IAM::RolePolicy": self._principal_policy,
            "AWS::IAM::UserPolicy": self._principal_policy,
            "AWS::IAM::GroupPolicy": self._principal_policy,
            "AWS::IAM::UserToGroupAddition": self._group_addition,
            "AWS::EC2::SecurityGroupEgress": self._standalone_egress,
        }
        for logical_id, resource in self.resources.items():
            if not isinstance(resource, Mapping):
                self._gap("parse-error", f"resource {logical_id} is not a mapping", self.locator.resource(logical_id))
                continue
            kind = resource.get("Type")
            builder = builders.get(kind) if isinstance(kind, str) else None
            if builder is not None:
                builder(logical_id, self._properties(logical_id, resource))
        self._link_user_groups()
        for logical_id, resource in self.resources.items():
            kind = resource.get("Type") if isinstance(resource, Mapping) else None
            attach = late.get(kind) if isinstance(kind, str) else None
            if attach is not None:
                attach(logical_id, self._properties(logical_id, resource))
        for route in apis.collect_routes(self):
            self.inventory.add(self.inventory.api_routes, route)
        self._check_cycles()
        self._check_shape()

    def _properties(self, logical_id: str, resource: Mapping[str, Any]) -> Mapping[str, Any]:
        condition = resource.get("Condition")
        if isinstance(condition, str) and self.resolver.condition(condition) is False:
            return {}
        properties = resource.get("Properties", {})
        if not isinstance(properties, Mapping):
            self._gap("unresolved", f"properties of {logical_id} are not known statically",
                      self.locator.resource(logical_id))
            return {}
        return properties

    # ------------------------------------------------------------ helpers
    def key(self, logical_id: str) -> str:
        return f"{self.rel}#{logical_id}"

    def _gap(self, kind: str, message: str, location: Location) -> None:
        self.inventory.coverage_gaps.append(CoverageGap(kind, message, location))

    def resolve(self, node: Any) -> Any:
        return self.resolver.resolve(node)

    def value(self, node: Any) -> Value | None:
        resolved = self.resolve(node)
        if resolved is None:
            return None
        if isinstance(resolved, str) and "${AWS::" in resolved:
            return Unresolved(resolved, "pseudo parameter known only at deploy time")
        if isinstance(resolved, (str, ResourceRef, Unresolved)):
            return resolved
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        if isinstance(resolved, (int, float)):
            return str(resolved)
        return Unresolved(str(resolved)[:120], "expected a single value")

    def values(self, node: Any) -> list[Value] | Unresolved:
        resolved = self.resolve(node)
        if resolved is None:
            return []
        if isinstance(resolved, Unresolved):
            return resolved
        items = resolved if isinstance(resolved, list) else [resolved]
        out: list[Value] = []
        for item in items:
            if isinstance(item, str) and "${AWS::" in item:
                out.append(Unresolved(item, "pseudo parameter known only at deploy time"))
            elif isinstance(item, (str, ResourceRef, Unresolved)):
                out.append(item)
            elif isinstance(item, (int, float)):
                out.append(str(item))
        return out

    def integer(self, node: Any) -> int | Unresolved | None:
        resolved = self.resolve(node)
        if resolved is None:
            return None
        if isinstance(resolved, bool):
            return int(resolved)
        if isinstance(resolved, int):
            return resolved
        if isinstance(resolved, str) and resolved.strip().lstrip("-").isdigit():
            return int(resolved)
        return resolved if isinstance(resolved, Unresolved) else Unresolved(str(resolved), "not an integer")

    def boolean(self, node: Any, default: bool) -> bool | Unresolved:
        resolved = self.resolve(node)
        if resolved is None:
            return default
        if isinstance(resolved, bool):
            return resolved
        if isinstance(resolved, str) and resolved.lower() in ("true", "false"):
            return resolved.lower() == "true"
        return resolved if isinstance(resolved, Unresolved) else Unresolved(str(resolved), "not a boolean")

    def base(self, logical_id: str, properties: Mapping[str, Any]) -> dict[str, Any]:
        """The common Resource fields: key, id, type, locations and suppressions."""
        resource = self.resources.get(logical_id, {})
        kind = resource.get("Type", "") if isinstance(resource, Mapping) else ""
        origin = self.locator.origin(logical_id)
        if isinstance(properties, LineDict):  # read straight from the source: the lines are on the nodes
            property_locations = PropertyLocations(self.rel, ("Resources", logical_id, "Properties"))
            for path, line in _located_paths(properties, (), properties.line or 0):
                property_locations.add(path, line)
        else:  # generated by the SAM translator: find each property in the SAM source
            property_locations = self.locator.props(logical_id, _paths(properties), kind)
        suppressions = dict(self.suppressions.get(origin, {}))
        source_resource = self.locator.resources.get(origin)
        if isinstance(source_resource, Mapping):
            suppressions.update(metadata_suppressions(
                source_resource.get("Metadata"), self.locator.resource(origin), self.inventory.coverage_gaps))
        return {
            "key": self.key(logical_id), "id": logical_id, "type": kind,
            "location": self.locator.resource(logical_id, kind),
            "property_locations": property_locations, "suppressions": suppressions,
        }

    def _parameter(self, name: str, declaration: Any) -> Parameter:
        declaration = declaration if isinstance(declaration, Mapping) else {}
        no_echo = declaration.get("NoEcho", False)
        location = Location(self.rel, _key_line(self.source.get("Parameters"), name), None, ("Parameters", name))
        return Parameter(
            name=name,
            no_echo=no_echo is True or str(no_echo).lower() == "true",
            default=declaration.get("Default"),
            has_default="Default" in declaration,
            location=location,
        )

    # ------------------------------------------------------------ Lambda
    def _function(self, logical_id: str, p: Mapping[str, Any]) -> None:
        fn = Function(**self.base(logical_id, p))
        fn.name = self.value(p.get("FunctionName"))
        fn.runtime = self.value(p.get("Runtime"))
        fn.handler = self.value(p.get("Handler"))
        fn.package_type = "Image" if self.resolve(p.get("PackageType")) == "Image" else "Zip"
        architectures = self.values(p.get("Architectures"))
        if isinstance(architectures, list) and architectures:
            fn.architectures = [a for a in architectures if isinstance(a, str)]
        fn.environment = self._environment(fn, p.get("Environment"))
        fn.kms_key_arn = self.value(p.get("KmsKeyArn"))
        fn.vpc = self._vpc_config(fn, p.get("VpcConfig"))
        layers = self.values(p.get("Layers"))
        fn.layers = layers if isinstance(layers, list) else [layers]
        tracing = self.resolve(p.get("TracingConfig"))
        fn.tracing_mode = self.value(tracing.get("Mode")) if isinstance(tracing, Mapping) else (
            tracing if isinstance(tracing, Unresolved) else None)
        dlq = self.resolve(p.get("DeadLetterConfig"))
        fn.dead_letter_target = self.value(dlq.get("TargetArn")) if isinstance(dlq, Mapping) else (
            dlq if isinstance(dlq, Unresolved) else None)
        fn.reserved_concurrency = self.integer(p.get("ReservedConcurrentExecutions"))
        fn.code_signing_config = self.value(p.get("CodeSigningConfigArn"))
        fn.tags = self._tags(p.get("Tags"))
        tags = self.resolve(p.get("Tags"))
        fn.tags_unknown = tags if isinstance(tags, Unresolved) else None
        fn.code = self._code(logical_id, p.get("Code"), fn.package_type)
        fn.role = self.value(p.get("Role"))
        logging = self.resolve(p.get("LoggingConfig"))
        fn.log_group = self.value(logging.get("LogGroup")) if isinstance(logging, Mapping) else None
        self.inventory.add(self.inventory.functions, fn)

    def _environment(self, fn: Function, node: Any) -> dict[str, EnvVar]:
        environment = node.get("Variables") if isinstance(node, Mapping) else None
        if environment is None:
            return {}
        if not isinstance(environment, Mapping):
            self._gap("unresolved", f"environment of {fn.id} is not known statically", fn.location)
            return {}
        out = {}
        for name, raw in environment.items():
            parameter_name = self.resolver.parameter_name(raw)
            value = self.value(raw)
            out[str(name)] = EnvVar(
                name=str(name),
                value=value if value is not None else "",
                location=fn.at(f"Environment.Variables.{name}"),
                parameter=self.parameters.get(parameter_name) if parameter_name else None,
            )
        return out

    def _vpc_config(self, fn: Function, node: Any) -> VpcConfig | None:
        resolved = self.resolve(node)
        if resolved is None:
            return None
        if isinstance(resolved, Unresolved):
            return VpcConfig(resolved, resolved, fn.at("VpcConfig"))
        if not isinstance(resolved, Mapping) or not resolved.get("SubnetIds"):
            return None
        return VpcConfig(
            subnet_ids=self.values(node.get("SubnetIds")),
            security_group_ids=self.values(node.get("SecurityGroupIds")),
            location=fn.at("VpcConfig"),
        )

    def _tags(self, node: Any) -> dict[str, Value]:
        resolved = self.resolve(node)
        if isinstance(resolved, Mapping):  # SAM style
            return {str(k): v if isinstance(v, (str, ResourceRef, Unresolved)) else str(v) for k, v in resolved.items()}
        out: dict[str, Value] = {}
        for tag in resolved if isinstance(resolved, list) else []:
            if isinstance(tag, Mapping) and isinstance(tag.get("Key"), str):
                value = tag.get("Value")
                out[tag["Key"]] = value if isinstance(value, (str, ResourceRef, Unresolved)) else str(value)
        return out

    def _code(self, logical_id: str, node: Any, package_type: str) -> CodeLocation:
        if logical_id in self.local_code:
            return CodeLocation("local", self.local_code[logical_id])
        resolved = self.resolve(node)
        if not isinstance(resolved, Mapping):
            return CodeLocation("unknown", resolved if isinstance(resolved, Unresolved) else None)
        if "ImageUri" in resolved or package_type == "Image":
            return CodeLocation("image", self.value(node.get("ImageUri")))
        if "ZipFile" in resolved:
            inline = resolved["ZipFile"]
            return CodeLocation("inline", None, inline if isinstance(inline, str) else None)
        bucket, key = resolved.get("S3Bucket"), resolved.get("S3Key")
        if isinstance(bucket, str) and isinstance(key, str):
            return CodeLocation("s3", f"s3://{bucket}/{key}")
        return CodeLocation("s3", Unresolved("s3 code location", "bucket or key known only at deploy time"))

    def _alias(self, logical_id: str, p: Mapping[str, Any]) -> None:
        target = self.value(p.get("FunctionName"))
        if target is not None:
            self.inventory.aliases[self.key(logical_id)] = target

    def _permission(self, logical_id: str, p: Mapping[str, Any]) -> None:
        permission = Permission(**self.base(logical_id, p))
        permission.function = self.value(p.get("FunctionName")) or ""
        permission.action = self.value(p.get("Action")) or ""
        permission.principal = self.value(p.get("Principal")) or ""
        permission.source_arn = self.value(p.get("SourceArn"))
        permission.source_account = self.value(p.get("SourceAccount"))
        permission.principal_org_id = self.value(p.get("PrincipalOrgID"))
        permission.event_source_token = self.value(p.get("EventSourceToken"))
        permission.function_url_auth_type = self.value(p.get("FunctionUrlAuthType"))
        permission.invoked_via_function_url = self.boolean(p.get("InvokedViaFunctionUrl"), False) is True
        self.inventory.add(self.inventory.permissions, permission)
        principal = permission.principal if isinstance(permission.principal, str) else ""
        kind = ASYNC_SERVICE_PRINCIPALS.get(principal)
        if kind:
            source = EventSource(**self.base(logical_id, p))
            source.function, source.kind, source.invocation = permission.function, kind, "async"
            source.source = permission.source_arn
            source.key += "#source"
            self.inventory.add(self.inventory.event_sources, source)

    def _url(self, logical_id: str, p: Mapping[str, Any]) -> None:
        url = FunctionUrl(**self.base(logical_id, p))
        url.function = self.value(p.get("TargetFunctionArn")) or ""
        url.auth_type = self.value(p.get("AuthType")) or "AWS_IAM"
        url.qualifier = self.value(p.get("Qualifier"))
        cors = p.get("Cors")
        if isinstance(cors, Mapping) and "AllowOrigins" in cors:
            origins = self.values(cors["AllowOrigins"])
            url.cors_allow_origins = origins if isinstance(origins, list) else [origins]
        self.inventory.add(self.inventory.function_urls, url)

    def _layer(self, logical_id: str, p: Mapping[str, Any]) -> None:
        layer = LayerVersion(**self.base(logical_id, p))
        layer.name = self.value(p.get("LayerName"))
        if logical_id in self.local_code:
            layer.content = CodeLocation("local", self.local_code[logical_id])
        else:
            layer.content = self._code(logical_id, p.get("Content"), "Zip")
        runtimes = self.values(p.get("CompatibleRuntimes"))
        layer.compatible_runtimes = runtimes if isinstance(runtimes, list) else [runtimes]
        self.inventory.add(self.inventory.layers, layer)

    def _layer_permission(self, logical_id: str, p: Mapping[str, Any]) -> None:
        permission = LayerPermission(**self.base(logical_id, p))
        permission.layer = self.value(p.get("LayerVersionArn")) or ""
        permission.action = self.value(p.get("Action")) or ""
        permission.principal = self.value(p.get("Principal")) or ""
        permission.organization_id = self.value(p.get("OrganizationId"))
        self.inventory.add(self.inventory.layer_permissions, permission)

    def _code_signing(self, logical_id: str, p: Mapping[str, Any]) -> None:
        config = CodeSigningConfig(**self.base(logical_id, p))
        policies = self.resolve(p.get("CodeSigningPolicies"))
        if isinstance(policies, Unresolved):
            config.untrusted_artifact_on_deployment = policies
        elif isinstance(policies, Mapping) and "UntrustedArtifactOnDeployment" in policies:
            config.untrusted_artifact_on_deployment = self.value(policies["UntrustedArtifactOnDeployment"]) or "Warn"
        publishers = self.resolve(p.get("AllowedPublishers"))
        if isinstance(publishers, Unresolved):
            config.allowed_publishers = [publishers]
        elif isinstance(publishers, Mapping):
            arns = self.values(publishers.get("SigningProfileVersionArns"))
            config.allowed_publishers = arns if isinstance(arns, list) else [arns]
        self.inventory.add(self.inventory.code_signing_configs, config)

    def _event_invoke(self, logical_id: str, p: Mapping[str, Any]) -> None:
        config = EventInvokeConfig(**self.base(logical_id, p))
        config.function = self.value(p.get("FunctionName")) or ""
        destinations = p.get("DestinationConfig")
        if isinstance(destinations, Mapping):
            for attr, key in (("on_failure", "OnFailure"), ("on_success", "OnSuccess")):
                target = destinations.get(key)
                if isinstance(target, Mapping):
                    setattr(config, attr, self.value(target.get("Destination")))
        config.maximum_retry_attempts = self.integer(p.get("MaximumRetryAttempts"))
        self.inventory.add(self.inventory.event_invoke_configs, config)

    def _event_source_mapping(self, logical_id: str, p: Mapping[str, Any]) -> None:
        source = EventSource(**self.base(logical_id, p))
        source.function = self.value(p.get("FunctionName")) or ""
        source.source = self.value(p.get("EventSourceArn"))
        source.invocation = "poll"
        source.kind = _source_kind(source.source, self.inventory, self.resources)
        if "SelfManagedEventSource" in p:
            source.kind = "kafka"
        self.inventory.add(self.inventory.event_sources, source)

    def _bucket_notifications(self, logical_id: str, p: Mapping[str, Any]) -> None:
        notifications = p.get("NotificationConfiguration")
        configs = notifications.get("LambdaConfigurations") if isinstance(notifications, Mapping) else None
        for index, config in enumerate(configs if isinstance(configs, list) else []):
            if not isinstance(config, Mapping):
                continue
            source = EventSource(**self.base(logical_id, p))
            source.key += f"#notification{index}"
            source.function = self.value(config.get("Function")) or ""
            source.kind, source.invocation, source.source = "s3", "async", ResourceRef(self.key(logical_id))
            self.inventory.add(self.inventory.event_sources, source)

    def _event_rule(self, logical_id: str, p: Mapping[str, Any]) -> None:
        targets = p.get("Targets")
        for index, target in enumerate(targets if isinstance(targets, list) else []):
            if not isinstance(target, Mapping):
                continue
            arn = self.value(target.get("Arn"))
            if self.inventory.function_for(arn) is None and not _is_function_ref(arn, self.resources):
                continue
            source = EventSource(**self.base(logical_id, p))
            source.key += f"#target{index}"
            source.function = arn or ""
            source.kind, source.invocation, source.source = "events", "async", ResourceRef(self.key(logical_id))
            self.inventory.add(self.inventory.event_sources, source)

    # ------------------------------------------------------------ IAM
    def _role(self, logical_id: str, p: Mapping[str, Any]) -> None:
        from ...iam.policy import parse_document

        role = Role(**self.base(logical_id, p))
        role.name = self.value(p.get("RoleName"))
        if "AssumeRolePolicyDocument" in p:
            role.trust_policy = parse_document(self.resolve(p["AssumeRolePolicyDocument"]))
        role.permissions_boundary = self.value(p.get("PermissionsBoundary"))
        role.policies = self._own_policies(role, p)
        self.inventory.add(self.inventory.roles, role)

    def _user(self, logical_id: str, p: Mapping[str, Any]) -> None:
        user = User(**self.base(logical_id, p))
        user.name = self.value(p.get("UserName"))
        user.permissions_boundary = self.value(p.get("PermissionsBoundary"))
        user.policies = self._own_policies(user, p)
        groups = self.values(p.get("Groups"))
        user.groups = groups if isinstance(groups, list) else [groups]  # linked to Group objects later
        self.inventory.add(self.inventory.users, user)

    def _group(self, logical_id: str, p: Mapping[str, Any]) -> None:
        group = Group(**self.base(logical_id, p))
        group.name = self.value(p.get("GroupName"))
        group.policies = self._own_policies(group, p)
        self.inventory.add(self.inventory.groups, group)

    def _own_policies(self, principal: Role | User | Group, p: Mapping[str, Any]) -> list[Policy]:
        """The `Policies` (inline) and `ManagedPolicyArns` of a role, user or group."""
        from ...iam.policy import parse_document

        out: list[Policy] = []
        policies = p.get("Policies")
        for index, policy in enumerate(policies if isinstance(policies, list) else []):
            policy = self.resolve(policy)
            location = principal.at(f"Policies.{index}")
            if isinstance(policy, Mapping):
                name = policy.get("PolicyName")
                out.append(Policy(
                    str(name) if isinstance(name, str) else f"policy {index}", "inline",
                    parse_document(policy.get("PolicyDocument")), location))
            else:
                out.append(Policy(f"policy {index}", "inline", Unresolved(str(policy)[:120]), location))
        arns = self.values(p.get("ManagedPolicyArns"))
        for index, arn in enumerate(arns if isinstance(arns, list) else [arns]):
            out.append(self._managed_policy(arn, principal.at(f"ManagedPolicyArns.{index}")))
        return out

    def _managed_policy(self, arn: Value, location: Location) -> Policy:
        from ...iam.managed import managed_policy
        from ...iam.policy import parse_document

        if isinstance(arn, ResourceRef):
            target = self.resources.get(arn.key.rsplit("#", 1)[-1])
            if isinstance(target, Mapping) and target.get("Type") == "AWS::IAM::ManagedPolicy":
                props = target.get("Properties")
                props = props if isinstance(props, Mapping) else {}
                document = parse_document(self.resolve(props.get("PolicyDocument")))
                return Policy(str(arn), "customer-managed", document, location)
            return Policy(str(arn), "customer-managed", Unresolved(str(arn), "not a managed policy"), location)
        if isinstance(arn, Unresolved):
            return Policy(arn.expression, "customer-managed", arn, location)
        known = managed_policy(arn, shared=True)  # parse_document only reads it
        if known is not None:
            return Policy(known.name, "aws-managed", parse_document(known.document), location, arn=known.arn)
        is_aws = ":iam::aws:policy/" in arn
        reason = ("AWS managed policy not in lambdasec's catalogue" if is_aws
                  else "customer managed policy outside the template")
        return Policy(arn.rsplit("/", 1)[-1], "aws-managed" if is_aws else "customer-managed",
                      Unresolved(arn, reason), location, arn=arn)

    def _attached_policy(self, logical_id: str, p: Mapping[str, Any]) -> None:
        """AWS::IAM::Policy and AWS::IAM::ManagedPolicy resources attach themselves to roles, users and groups."""
        from ...iam.policy import parse_document

        document = parse_document(self.resolve(p.get("PolicyDocument")))
        name = self.value(p.get("PolicyName") or p.get("ManagedPolicyName"))
        label = name if isinstance(name, str) else logical_id
        location = self.locator.resource(logical_id)
        resource = self.resources.get(logical_id)
        policy_kind = "inline" if isinstance(resource, Mapping) and resource.get("Type") == "AWS::IAM::Policy" else (
            "customer-managed")
        for prop, bucket in self._principal_buckets(("Roles", "Users", "Groups")):
            targets = self.values(p.get(prop))
            for target in targets if isinstance(targets, list) else []:
                principal = self._principal_by_reference(target, bucket)
                if principal is not None and not any(pol.location == location for pol in principal.policies):
                    principal.policies.append(Policy(label, policy_kind, document, location))

    def _principal_policy(self, logical_id: str, p: Mapping[str, Any]) -> None:
        """AWS::IAM::RolePolicy / UserPolicy / GroupPolicy: one inline policy of the principal it names."""
        from ...iam.policy import parse_document

        principal: _Principal | None = None
        for prop, bucket in self._principal_buckets(("RoleName", "UserName", "GroupName")):
            if prop in p:
                principal = self._principal_by_reference(self.value(p[prop]), bucket)
        if principal is None:
            return
        name = self.value(p.get("PolicyName"))
        principal.policies.append(Policy(name if isinstance(name, str) else logical_id, "inline",
                                         parse_document(self.resolve(p.get("PolicyDocument"))),
                                         self.locator.resource(logical_id)))

    def _link_user_groups(self) -> None:
        """A user's `Groups` property names groups: link the ones of this template both ways."""
        for user in self.inventory.users:
            declared, user.groups = user.groups, []
            for group in declared:
                self._join(user, ResourceRef(user.key), group)

    def _group_addition(self, logical_id: str, p: Mapping[str, Any]) -> None:
        """AWS::IAM::UserToGroupAddition adds users (this template's or others') to one group."""
        group = self.value(p.get("GroupName"))
        users = self.values(p.get("Users"))
        if group is None:
            return
        for member in users if isinstance(users, list) else [users]:
            user = self._principal_by_reference(member, self.inventory.users)
            self._join(user if isinstance(user, User) else None, member, group)

    def _join(self, user: User | None, member: Value, group_name: Value) -> None:
        found = self._principal_by_reference(group_name, self.inventory.groups)
        group = found if isinstance(found, Group) else None
        if user is not None:
            _add_unique(user.groups, ResourceRef(group.key) if group is not None else group_name)
        if group is not None:
            _add_unique(group.members, ResourceRef(user.key) if user is not None else member)

    def _principal_buckets(self, properties: tuple[str, str, str]) -> list[tuple[str, Sequence[_Principal]]]:
        """The three properties naming roles, users and groups, each with the inventory list it designates."""
        return list(zip(properties, (self.inventory.roles, self.inventory.users, self.inventory.groups), strict=True))

    @staticmethod
    def _principal_by_reference(target: Value | None, bucket: Sequence[_Principal]) -> _Principal | None:
        """The role, user or group of `bucket` a reference or a name (or an ARN ending in the name) designates."""
        if isinstance(target, ResourceRef):
            return next((item for item in bucket if item.key == target.key), None)
        if not isinstance(target, str):
            return None
        name = target.rsplit("/", 1)[-1] if target.startswith("arn:") else target
        return next((item for item in bucket if item.name == name), None)

    # ------------------------------------------------------------ network
    def _subnet(self, logical_id: str, p: Mapping[str, Any]) -> None:
        subnet = Subnet(**self.base(logical_id, p))
        subnet.vpc = self.value(p.get("VpcId"))
        subnet.availability_zone = self.value(p.get("AvailabilityZone") or p.get("AvailabilityZoneId"))
        subnet.cidr = self.value(p.get("CidrBlock"))
        subnet.map_public_ip = self.boolean(p.get("MapPublicIpOnLaunch"), False) is True
        self.inventory.add(self.inventory.subnets, subnet)

    def _route(self, logical_id: str, p: Mapping[str, Any]) -> None:
        route = Route(**self.base(logical_id, p))
        route.route_table = self.value(p.get("RouteTableId")) or ""
        route.destination = self.value(p.get("DestinationCidrBlock") or p.get("DestinationIpv6CidrBlock"))
        route.gateway = self.value(p.get("GatewayId"))
        route.nat_gateway = self.value(p.get("NatGatewayId"))
        route.target_kind = self._route_target_kind(route, p)
        self.inventory.add(self.inventory.routes, route)

    def _route_target_kind(self, route: Route, p: Mapping[str, Any]) -> str:
        if route.gateway is not None:
            if isinstance(route.gateway, ResourceRef):
                target = self.resources.get(route.gateway.key.rsplit("#", 1)[-1])
                kind = target.get("Type") if isinstance(target, Mapping) else None
                return "internet-gateway" if kind == "AWS::EC2::InternetGateway" else "other"
            if isinstance(route.gateway, str):
                return "internet-gateway" if route.gateway.startswith("igw-") else "other"
            return "unknown"
        if route.nat_gateway is not None:
            return "nat-gateway"
        if "EgressOnlyInternetGatewayId" in p:
            return "egress-only"
        return "other"

    def _route_association(self, logical_id: str, p: Mapping[str, Any]) -> None:
        association = RouteTableAssociation(**self.base(logical_id, p))
        association.route_table = self.value(p.get("RouteTableId")) or ""
        association.subnet = self.value(p.get("SubnetId")) or ""
        self.inventory.add(self.inventory.route_table_associations, association)

    def _security_group(self, logical_id: str, p: Mapping[str, Any]) -> None:
        group = SecurityGroup(**self.base(logical_id, p))
        group.vpc = self.value(p.get("VpcId"))
        if "SecurityGroupEgress" in p:
            rules = self.resolve(p["SecurityGroupEgress"])
            group.egress = [
                self._egress_rule(rule, group.at(f"SecurityGroupEgress.{index}"))
                for index, rule in enumerate(rules if isinstance(rules, list) else [])
                if isinstance(rule, Mapping)
            ]
            if isinstance(rules, Unresolved):
                group.egress.append(SecurityGroupRule(rules, rules, rules, location=group.at("SecurityGroupEgress")))
            if not group.egress:  # an empty list declares nothing: AWS keeps its default allow-all rule
                group.egress = None
        self.inventory.add(self.inventory.security_groups, group)

    def _egress_rule(self, rule: Mapping[str, Any], location: Location) -> SecurityGroupRule:
        return SecurityGroupRule(
            protocol=self.value(rule.get("IpProtocol")) or "-1",
            from_port=self.integer(rule.get("FromPort")),
            to_port=self.integer(rule.get("ToPort")),
            cidr_ipv4=self.value(rule.get("CidrIp")),
            cidr_ipv6=self.value(rule.get("CidrIpv6")),
            destination_group=self.value(rule.get("DestinationSecurityGroupId")),
            destination_prefix_list=self.value(rule.get("DestinationPrefixListId")),
            location=location,
        )

    def _standalone_egress(self, logical_id: str, p: Mapping[str, Any]) -> None:
        group = self.inventory.resolve(self.value(p.get("GroupId")), SecurityGroup)
        if group is None:
            return
        rule = self._egress_rule(self.resolve(dict(p)), self.locator.resource(logical_id))
        if group.egress is None:
            # Without inline SecurityGroupEgress, AWS keeps its default allow-all rule next to standalone ones.
            group.egress = [SecurityGroupRule("-1", None, None, cidr_ipv4="0.0.0.0/0", location=group.location)]
        group.egress.append(rule)

    def _vpc_endpoint(self, logical_id: str, p: Mapping[str, Any]) -> None:
        endpoint = VpcEndpoint(**self.base(logical_id, p))
        endpoint.vpc = self.value(p.get("VpcId"))
        endpoint.service = self.value(p.get("ServiceName"))
        endpoint_type = self.resolve(p.get("VpcEndpointType"))
        endpoint.endpoint_type = endpoint_type if isinstance(endpoint_type, str) else "Gateway"
        self.inventory.add(self.inventory.vpc_endpoints, endpoint)

    # ------------------------------------------------------------ posture
    def _trail(self, logical_id: str, p: Mapping[str, Any]) -> None:
        trail = Trail(**self.base(logical_id, p))
        trail.is_logging = self.boolean(p.get("IsLogging"), True)
        trail.multi_region = self.boolean(p.get("IsMultiRegionTrail"), False) is True
        selectors = self.resolve(p.get("EventSelectors"))
        trail.event_selectors = [s for s in selectors if isinstance(s, dict)] if isinstance(selectors, list) else []
        advanced = self.resolve(p.get("AdvancedEventSelectors"))
        trail.advanced_event_selectors = [s for s in advanced if isinstance(s, dict)] if isinstance(
            advanced, list) else []
        self.inventory.add(self.inventory.trails, trail)

    def _guardduty(self, logical_id: str, p: Mapping[str, Any]) -> None:
        detector = GuardDutyDetector(**self.base(logical_id, p))
        detector.enabled = self.boolean(p.get("Enable"), True)
        features = self.resolve(p.get("Features"))
        for feature in features if isinstance(features, list) else []:
            if isinstance(feature, Mapping) and isinstance(feature.get("Name"), str):
                detector.features[feature["Name"]] = str(feature.get("Status", ""))
        self.inventory.add(self.inventory.guardduty_detectors, detector)

    def _kms_key(self, logical_id: str, p: Mapping[str, Any]) -> None:
        from ...iam.policy import parse_document

        key = KmsKey(**self.base(logical_id, p))
        if "KeyPolicy" in p:
            key.key_policy = parse_document(self.resolve(p["KeyPolicy"]))
        key.rotation_enabled = self.boolean(p.get("EnableKeyRotation"), False)
        self.inventory.add(self.inventory.kms_keys, key)

    def _log_group(self, logical_id: str, p: Mapping[str, Any]) -> None:
        group = LogGroup(**self.base(logical_id, p))
        group.name = self.value(p.get("LogGroupName"))
        group.retention_days = self.integer(p.get("RetentionInDays"))
        self.inventory.add(self.inventory.log_groups, group)

    # ------------------------------------------------------------ integrity
    def _check_cycles(self) -> None:
        """A circular dependency makes CloudFormation reject the template: say so instead of looping."""
        graph = {lid: _references(res, self.resources) for lid, res in self.resources.items()}
        state: dict[str, int] = {}
        for start in graph:
            cycle = _find_cycle(start, graph, state)
            if cycle:
                self._gap("invalid-template", "circular dependency: " + " -> ".join(cycle),
                          self.locator.resource(cycle[0]))
                return

    def _check_shape(self) -> None:
        """What CloudFormation would reject, or would read from elsewhere, is a gap rather than silently skipped."""
        for section in ("Parameters", "Mappings", "Conditions", "Outputs"):
            if section in self.source and not isinstance(self.source[section], Mapping):
                self._gap("invalid-template", f"the {section} section is not a mapping",
                          Location(self.rel, _key_line(self.source, section)))
        for logical_id, resource in self.resources.items():
            if isinstance(resource, Mapping) and not isinstance(resource.get("Type"), str):
                self._gap("invalid-template", f"resource {logical_id} has no Type name",
                          self.locator.resource(logical_id))
        conditions = _mapping(self.source.get("Conditions"))
        graph = {name: _named_conditions(node) for name, node in conditions.items()}
        state: dict[str, int] = {}
        for start in graph:
            cycle = _find_cycle(start, graph, state)
            if cycle:
                self._gap("invalid-template", "circular condition: " + " -> ".join(cycle),
                          Location(self.rel, _key_line(conditions, cycle[0])))
                break
        if "AWS::Include" in self.text:
            for location in _includes(self.source):
                self._gap("unsupported", f"AWS::Include of {location} is not read: what it adds is not scanned",
                          Location(self.rel))


def _named_conditions(node: Any) -> set[str]:
    """The conditions a condition's expression names (``{"Condition": name}``)."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "Condition" and isinstance(value, str):
                    found.add(value)
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _includes(node: Any) -> list[str]:
    """The locations of the ``AWS::Include`` transforms anywhere in the template, in order."""
    found: list[str] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("Name") == "AWS::Include":
                parameters = item.get("Parameters")
                location = parameters.get("Location") if isinstance(parameters, Mapping) else None
                found.append(str(location) if isinstance(location, str) else "an unknown location")
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return found


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _add_unique(values: list[Value], item: Value) -> None:
    if item not in values:
        values.append(item)


def _key_line(mapping: Any, key: str) -> int | None:
    return mapping.key_lines.get(key) if isinstance(mapping, LineDict) else None


# Findings point at properties at most this deep (Environment.Variables.NAME, Cors.AllowOrigins.0); deeper
# paths (an inline OpenAPI body, policy statements) would only cost time.
MAX_LOCATED_DEPTH = 4


def _paths(node: Any, prefix: tuple[str, ...] = (), depth: int = 0) -> Iterator[tuple[str, ...]]:
    """Every property path of a resource, to locate findings on the property they are about."""
    if depth >= MAX_LOCATED_DEPTH:
        return
    if isinstance(node, dict):  # template nodes are dicts; the Mapping ABC check is slower
        if len(node) == 1 and next(iter(node)) in ("Ref", "Fn::GetAtt", "Fn::Sub", "Fn::If", "Fn::Join"):
            return
        for key, value in node.items():
            path = (*prefix, str(key))
            yield path
            yield from _paths(value, path, depth + 1)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            path = (*prefix, str(index))
            yield path
            yield from _paths(value, path, depth + 1)


def _located_paths(node: Any, prefix: tuple[str, ...], line: int, depth: int = 0) -> Iterator[
        tuple[tuple[str, ...], int]]:
    """Like _paths, with the source line of each path (the line of its key or list item)."""
    if depth >= MAX_LOCATED_DEPTH:
        return
    if isinstance(node, LineDict):
        if len(node) == 1 and next(iter(node)) in ("Ref", "Fn::GetAtt", "Fn::Sub", "Fn::If", "Fn::Join"):
            return
        for key, value in node.items():
            path, key_line = (*prefix, str(key)), node.key_lines.get(key, line)
            yield path, key_line
            yield from _located_paths(value, path, key_line, depth + 1)
    elif isinstance(node, LineList):
        for index, value in enumerate(node):
            item_line = node.item_lines[index] if index < len(node.item_lines) else None
            path = (*prefix, str(index))
            yield path, item_line or line
            yield from _located_paths(value, path, item_line or line, depth + 1)


def _source_kind(arn: Any, inventory: Inventory, resources: Mapping[str, Any]) -> str:
    if isinstance(arn, ResourceRef):
        target = resources.get(arn.key.rsplit("#", 1)[-1])
        kind = target.get("Type", "") if isinstance(target, Mapping) else ""
        return {
            "AWS::SQS::Queue": "sqs", "AWS::Kinesis::Stream": "kinesis", "AWS::DynamoDB::Table": "dynamodb",
            "AWS::MSK::Cluster": "kafka", "AWS::AmazonMQ::Broker": "mq", "AWS::DocDB::DBCluster": "docdb",
        }.get(kind, "other")
    text = arn if isinstance(arn, str) else getattr(arn, "expression", "")
    for marker, kind in ((":sqs:", "sqs"), (":kinesis:", "kinesis"), (":dynamodb:", "dynamodb"),
                         (":kafka:", "kafka"), (":mq:", "mq"), (":rds:", "docdb")):
        if marker in text:
            return kind
    return "other"


def _is_function_ref(value: Any, resources: Mapping[str, Any]) -> bool:
    if isinstance(value, ResourceRef):
        target = resources.get(value.key.rsplit("#", 1)[-1])
        return isinstance(target, Mapping) and target.get("Type") in ("AWS::Lambda::Function",
                                                                        "AWS::Serverless::Function")
    return isinstance(value, str) and ":function:" in value


def _references(node: Any, resources: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):  # template nodes are dicts (LineDict); an ABC check costs 4x more here
            for key, value in item.items():
                if key == "Ref" and isinstance(value, str) and value in resources:
                    found.add(value)
                elif key == "Fn::GetAtt":
                    target = value.split(".", 1)[0] if isinstance(value, str) else (
                        value[0] if isinstance(value, list) and value else None)
                    if isinstance(target, str) and target in resources:
                        found.add(target)
                elif key == "DependsOn":
                    for dep in value if isinstance(value, list) else [value]:
                        if isinstance(dep, str) and dep in resources:
                            found.add(dep)
                elif key == "Fn::Sub":
                    text = value[0] if isinstance(value, list) and value else value
                    if isinstance(text, str):
                        for name in re.findall(r"\$\{([A-Za-z0-9]+)(?:\.[^}]*)?\}", text):
                            if name in resources:
                                found.add(name)
                    stack.append(value)
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _find_cycle(start: str, graph: Mapping[str, set[str]], state: dict[str, int]) -> list[str] | None:
    """Iterative DFS; state 1 = on the current path, 2 = done."""
    if state.get(start):
        return None
    path: list[str] = [start]
    iterators = [iter(sorted(graph.get(start, ())))]
    state[start] = 1
    while iterators:
        nxt = next(iterators[-1], None)
        if nxt is None:
            state[path.pop()] = 2
            iterators.pop()
            continue
        if state.get(nxt) == 1:
            return [*path[path.index(nxt):], nxt]
        if not state.get(nxt):
            state[nxt] = 1
            path.append(nxt)
            iterators.append(iter(sorted(graph.get(nxt, ()))))
    return None
