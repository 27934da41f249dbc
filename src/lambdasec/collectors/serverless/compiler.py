"""Compile a (variable-resolved) serverless.yml into the CloudFormation resources the Framework deploys.

The result is a CloudFormation ``Resources`` mapping that the CloudFormation collector then reads like
any template, plus, for each generated resource, its :class:`Origin`: the id users see (the function key,
``IamRoleLambdaExecution``, the layer key), a key unique in the scan, and the lines of the serverless
file its properties come from. Only what matters for security is generated: functions, execution
roles, function URLs, the permissions the Framework adds to resource policies, event source mappings,
asynchronous invoke configurations, log groups and layers. API routes are returned as specs: their
CloudFormation form is a tree of API resources that says nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lambdasec.fast_dataclass import dataclass, field

from ...model.inventory import CoverageGap
from ...model.location import Location
from ...model.values import ResourceRef, Unresolved
from ..cloudformation.loader import LineDict, LineList
from . import naming

_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com"]},
                   "Action": ["sts:AssumeRole"]}],
}
_VPC_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
_URL_AUTH = {"aws_iam": "AWS_IAM", "none": "NONE"}
_DEFAULT_CORS_HEADERS = ["Content-Type", "X-Amz-Date", "Authorization", "X-Api-Key", "X-Amz-Security-Token"]
ROLES_PER_FUNCTION_PLUGIN = "serverless-iam-roles-per-function"
_DESTINATION_ACTIONS = {"function": "lambda:InvokeFunction", "sqs": "sqs:SendMessage", "sns": "sns:Publish",
                        "eventBus": "events:PutEvents"}
_DESTINATION_MARKERS = ((":function:", "lambda:InvokeFunction"), (":sqs:", "sqs:SendMessage"),
                        (":sns:", "sns:Publish"), (":event-bus/", "events:PutEvents"))


@dataclass
class Origin:
    """Who a generated resource is in the serverless file."""

    id: str
    key: str
    type: str
    location: Location
    properties: dict[str, Location] = field(default_factory=dict)
    source: str = ""  # the element (function key, role, layer) whose suppression comments apply


@dataclass
class RouteSpec:
    logical_id: str  # its origin
    api: str
    method: str
    path: str
    function: ResourceRef
    authorization: str
    api_key_required: bool = False


@dataclass
class Config:
    """The resolved sections the compiler reads."""

    service: Any
    stage: Any
    region: Any
    provider: Mapping[str, Any]
    provider_line: int | None
    functions: Mapping[str, Any]
    layers: Mapping[str, Any]
    package: Mapping[str, Any]
    plugins: list[str] = field(default_factory=list)
    roles_inherit_default: bool = False  # custom.serverless-iam-roles-per-function.defaultInherit


@dataclass
class Compiled:
    resources: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict)
    local_code: dict[str, str] = field(default_factory=dict)
    routes: list[RouteSpec] = field(default_factory=list)
    # Invocations without a resource policy (EventBridge Scheduler uses a role): (origin, function).
    direct_sources: list[tuple[str, ResourceRef]] = field(default_factory=list)
    elements: dict[str, int] = field(default_factory=dict)  # element -> line, for suppression comments


@dataclass
class _RoleSettings:
    where: Location
    statements: Any = None
    statements_where: Location | None = None
    managed: Any = None
    managed_where: Location | None = None
    name: Any = None
    boundary: Any = None


@dataclass
class _RoleNeeds:
    """What the Framework adds to the execution role of a function (events, tracing, destinations, VPC)."""

    statements: list[Any] = field(default_factory=list)
    vpc: Location | None = None


def is_intrinsic(node: Any) -> bool:
    """``{"Ref": ...}`` / ``{"Fn::GetAtt": ...}``: a CloudFormation value, not a settings mapping."""
    if not isinstance(node, Mapping) or len(node) != 1:
        return False
    name = next(iter(node))
    return name == "Ref" or (isinstance(name, str) and name.startswith("Fn::"))


def settings(node: Any) -> Mapping[str, Any]:
    return node if isinstance(node, Mapping) and not is_intrinsic(node) else {}


def text_of(value: Any) -> str:
    return value.expression if isinstance(value, Unresolved) else str(value)


def joined(*parts: Any) -> Any:
    """``service-stage-...``: a string when every part is known, else Unresolved with the parts shown."""
    text = "-".join(text_of(part) for part in parts)
    unknown = any(not isinstance(part, (str, int)) or isinstance(part, bool) for part in parts)
    return Unresolved(text, "service or stage known only at deploy time") if unknown else text


class Compiler:
    def __init__(
        self, rel: str, directory: Path, root: Path, config: Config, user_resources: Mapping[str, Any],
        gaps: list[CoverageGap],
    ) -> None:
        self.rel, self.directory, self.root = rel, directory, root
        self.config = config
        self.provider = config.provider
        self.user_resources = user_resources
        self.gaps = gaps
        self.out = Compiled()
        self.needs: dict[str, _RoleNeeds] = {}
        self.shared_users: list[str] = []
        self.own_role_users: list[str] = []  # functions with a serverless-iam-roles-per-function role

    # ------------------------------------------------------------ helpers
    def at(self, path: tuple[str, ...], container: Any, key: str | int) -> Location:
        """Location of ``container[key]`` (a key of a mapping or an item of a list)."""
        line = None
        if isinstance(container, LineDict) and isinstance(key, str):
            line = container.key_lines.get(key)
        elif isinstance(container, LineList) and isinstance(key, int) and key < len(container.item_lines):
            line = container.item_lines[key]
        return Location(self.rel, line if line is not None else getattr(container, "line", None), None, path)

    def gap(self, kind: str, message: str, where: Location) -> None:
        self.gaps.append(CoverageGap(kind, message, Location(self.rel, where.line)))

    def function_key(self, key: str) -> str:
        """The function's inventory key; a resource of the resources section may already use the plain form."""
        if key in self.user_resources or key == naming.SHARED_ROLE:
            return f"{self.rel}#functions.{key}"
        return f"{self.rel}#{key}"

    def add(self, logical_id: str, kind: str, properties: dict[str, Any], origin: Origin) -> None:
        self.out.resources[logical_id] = {"Type": kind, "Properties": properties}
        self.out.origins[logical_id] = origin

    def list_locations(self, origin: Origin, name: str, value: Any, where: Location) -> None:
        """``Layers.0``, ``Cors.AllowOrigins.1``...: each item of a list property at its own line."""
        origin.properties[name] = where
        for index, line in enumerate(getattr(value, "item_lines", [])):
            origin.properties[f"{name}.{index}"] = Location(self.rel, line, None, (*where.path, str(index)))

    def needs_of(self, key: str) -> _RoleNeeds:
        return self.needs.setdefault(key, _RoleNeeds())

    def permission(self, key: str, logical_id: str, suffix: str, where: Location, **properties: Any) -> None:
        """A statement of the function's resource policy, as the Framework writes it."""
        props: dict[str, Any] = {"FunctionName": {"Fn::GetAtt": [naming.function(key), "Arn"]},
                                 "Action": "lambda:InvokeFunction", **properties}
        origin = Origin(key, f"{self.function_key(key)}#{suffix}", "serverless:permission", where,
                        dict.fromkeys(props, where), source=key)
        self.add(logical_id, "AWS::Lambda::Permission", props, origin)

    def setting(self, fn: Mapping[str, Any], key: str, name: str) -> tuple[Any, Location | None]:
        """A function setting, else the provider's default, with where it is written."""
        if fn.get(name) is not None:
            return fn[name], self.at(("functions", key, name), fn, name)
        if self.provider.get(name) is not None:
            return self.provider[name], self.at(("provider", name), self.provider, name)
        return None, None

    # ------------------------------------------------------------ driver
    def compile(self) -> Compiled:
        from .events import compile_events

        for key, layer in self.config.layers.items():
            self._layer(str(key), settings(layer))
        for key, fn in self.config.functions.items():
            where = self.at(("functions", str(key)), self.config.functions, str(key))
            if not isinstance(fn, Mapping):
                self.gap("unresolved", f"function {key} is not known statically", where)
                continue
            self._function(str(key), fn, where)
            compile_events(self, str(key), fn)
        for key in self.own_role_users:
            self._own_role(key, self.config.functions[key])
        if self.shared_users:
            self._shared_role()
        return self.out

    # ------------------------------------------------------------ functions
    def _function(self, key: str, fn: Mapping[str, Any], where: Location) -> None:
        logical = naming.function(key)
        origin = Origin(key, self.function_key(key), "serverless:function", where, source=key)
        self.out.elements[key] = where.line or 0
        props: dict[str, Any] = {"FunctionName": self._function_name(key, fn)}
        if fn.get("name") is not None:
            origin.properties["FunctionName"] = self.at(("functions", key, "name"), fn, "name")
        if fn.get("image") is not None:
            self._image(key, fn, props, origin)
        else:
            self._zip(logical, key, fn, props, origin)
        self._copy(props, origin, key, fn, "Architectures", "architecture", wrap=True)
        environment = self._environment(key, fn, origin)
        if environment is not None:
            props["Environment"] = {"Variables": environment}
        self._copy(props, origin, key, fn, "KmsKeyArn", "kmsKeyArn")
        self._vpc(key, fn, props, origin)
        self._copy(props, origin, key, fn, "Layers", "layers")
        self._tracing(key, fn, props, origin)
        self._dead_letter(key, fn, props, origin)
        if fn.get("reservedConcurrency") is not None:
            props["ReservedConcurrentExecutions"] = fn["reservedConcurrency"]
            origin.properties["ReservedConcurrentExecutions"] = self.at(
                ("functions", key, "reservedConcurrency"), fn, "reservedConcurrency")
        # stackTags are the stack's: CloudFormation gives them to every resource it creates, the function too.
        props["Tags"] = {**settings(self.provider.get("stackTags")), **settings(self.provider.get("tags")),
                         **settings(fn.get("tags"))}
        props["Role"] = self._function_role(key, fn, origin)
        self.add(logical, "AWS::Lambda::Function", props, origin)
        self._url(key, fn)
        self._log_group(key, fn, props["FunctionName"])
        self._invoke_config(key, fn)

    def _function_name(self, key: str, fn: Mapping[str, Any]) -> Any:
        if fn.get("name") is not None:
            return fn["name"]
        return joined(self.config.service, self.config.stage, key)

    def _copy(self, props: dict[str, Any], origin: Origin, key: str, fn: Mapping[str, Any], cfn: str, sls: str,
              wrap: bool = False) -> None:
        value, where = self.setting(fn, key, sls)
        if value is None or where is None:
            return
        props[cfn] = [value] if wrap else value
        self.list_locations(origin, cfn, value, where)

    def _image(self, key: str, fn: Mapping[str, Any], props: dict[str, Any], origin: Origin) -> None:
        image = fn["image"]
        where = self.at(("functions", key, "image"), fn, "image")
        uri, uri_where = image, where
        if isinstance(image, Mapping) and not is_intrinsic(image):
            uri = image.get("uri")
            if uri is not None:
                uri_where = self.at((*where.path, "uri"), image, "uri")
            else:
                uri = self._built_image(image.get("name"), where)
        elif isinstance(image, str) and "/" not in image and "@" not in image:
            uri = self._built_image(image, where)
        props["PackageType"] = "Image"
        props["Code"] = {"ImageUri": uri}
        origin.properties.update({"PackageType": where, "Code": where, "Code.ImageUri": uri_where})

    def _built_image(self, name: Any, where: Location) -> Any:
        """An image the Framework builds from provider.ecr.images, pushes to its own repository, pins by digest."""
        ecr = settings(self.provider.get("ecr"))
        image = settings(ecr.get("images")).get(name) if isinstance(name, str) else None
        if isinstance(image, str):
            return image
        if isinstance(image, Mapping) and image.get("uri") is not None:
            return image["uri"]
        if image is None:
            self.gap("unresolved", f"image {text_of(name)} is not defined in provider.ecr.images", where)
            return Unresolved(f"image {text_of(name)}", "image not defined in provider.ecr.images")
        repository = joined("serverless", self.config.service, self.config.stage)
        return Unresolved(
            f"${{AWS::AccountId}}.dkr.ecr.{text_of(self.config.region)}.amazonaws.com/{text_of(repository)}"
            "@sha256:${digest}", "image built and pushed by the Framework, referenced by its digest")

    def _zip(self, logical: str, key: str, fn: Mapping[str, Any], props: dict[str, Any], origin: Origin) -> None:
        if fn.get("handler") is not None:
            props["Handler"] = fn["handler"]
            origin.properties["Handler"] = self.at(("functions", key, "handler"), fn, "handler")
        runtime, where = self.setting(fn, key, "runtime")
        # The default runtime changed between Framework versions: not known from the file alone.
        props["Runtime"] = runtime if runtime is not None else Unresolved(
            "default runtime", "no runtime set: the Framework's default depends on its version")
        origin.properties["Runtime"] = where or origin.location
        artifact, artifact_where = self._artifact(key, fn)
        origin.properties["Code"] = artifact_where or origin.location
        if isinstance(artifact, str) and artifact.startswith("s3://"):
            bucket, _, object_key = artifact[len("s3://"):].partition("/")
            props["Code"] = {"S3Bucket": bucket, "S3Key": object_key}
        elif isinstance(artifact, str) and not artifact.startswith(("https://", "http://")):
            self.out.local_code[logical] = self._local_path(artifact)
            props["Code"] = {}
        else:
            props["Code"] = {"S3Bucket": Unresolved(text_of(artifact), "artifact URL"), "S3Key": ""}

    def _artifact(self, key: str, fn: Mapping[str, Any]) -> tuple[Any, Location | None]:
        own = settings(fn.get("package"))
        service = settings(self.config.package)
        if own.get("artifact") is not None:
            return own["artifact"], self.at(("functions", key, "package", "artifact"), own, "artifact")
        individually = own.get("individually", service.get("individually"))
        if individually is True:
            return f".serverless/{key}.zip", None
        if service.get("artifact") is not None:
            return service["artifact"], self.at(("package", "artifact"), service, "artifact")
        name = self.config.service if isinstance(self.config.service, str) else "service"
        return f".serverless/{name}.zip", None

    def _local_path(self, relative: str) -> str:
        """A path of the service directory, shown relative to the scan root (as written when outside it)."""
        target = (self.directory / relative).resolve()
        try:
            return target.relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return relative

    def _environment(self, key: str, fn: Mapping[str, Any], origin: Origin) -> Any:
        """Provider variables overridden key by key by the function's."""
        merged = LineDict()
        found = False
        for path, owner in ((("provider",), self.provider), (("functions", key), fn)):
            environment = owner.get("environment")
            if environment is None:
                continue
            found = True
            origin.properties["Environment"] = self.at((*path, "environment"), owner, "environment")
            if not isinstance(environment, Mapping) or is_intrinsic(environment):
                return environment  # known only at deploy time: the CloudFormation collector reports it
            for name, value in environment.items():
                merged[name] = value
                origin.properties[f"Environment.Variables.{name}"] = self.at(
                    (*path, "environment", str(name)), environment, str(name))
        return merged if found else None

    def _vpc(self, key: str, fn: Mapping[str, Any], props: dict[str, Any], origin: Origin) -> None:
        vpc, where = self.setting(fn, key, "vpc")
        if vpc is None or where is None:
            return
        origin.properties["VpcConfig"] = where
        self.needs_of(key).vpc = where
        if not isinstance(vpc, Mapping) or is_intrinsic(vpc):
            props["VpcConfig"] = vpc
            return
        config: dict[str, Any] = {}
        for cfn, sls in (("SubnetIds", "subnetIds"), ("SecurityGroupIds", "securityGroupIds")):
            if vpc.get(sls) is not None:
                config[cfn] = vpc[sls]
                self.list_locations(origin, f"VpcConfig.{cfn}", vpc[sls], self.at((*where.path, sls), vpc, sls))
        props["VpcConfig"] = config

    def _tracing(self, key: str, fn: Mapping[str, Any], props: dict[str, Any], origin: Origin) -> None:
        if fn.get("tracing") is not None:
            mode, where = fn["tracing"], self.at(("functions", key, "tracing"), fn, "tracing")
        else:
            tracing = settings(self.provider.get("tracing"))
            mode = tracing.get("lambda")
            where = self.at(("provider", "tracing", "lambda"), tracing, "lambda")
        if mode is True:
            mode = "Active"
        if mode is None or mode is False:
            return
        props["TracingConfig"] = {"Mode": mode}
        origin.properties["TracingConfig"] = origin.properties["TracingConfig.Mode"] = where
        self.needs_of(key).statements.append(
            {"Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": ["*"]})

    def _dead_letter(self, key: str, fn: Mapping[str, Any], props: dict[str, Any], origin: Origin) -> None:
        target = fn.get("onError")
        if target is None:
            return
        props["DeadLetterConfig"] = {"TargetArn": target}
        where = self.at(("functions", key, "onError"), fn, "onError")
        origin.properties["DeadLetterConfig"] = origin.properties["DeadLetterConfig.TargetArn"] = where
        action = {":sns:": "sns:Publish", ":sqs:": "sqs:SendMessage"}
        for marker, name in action.items():
            if isinstance(target, str) and marker in target:
                self.needs_of(key).statements.append({"Effect": "Allow", "Action": [name], "Resource": [target]})

    # ------------------------------------------------------------ roles
    def _function_role(self, key: str, fn: Mapping[str, Any], origin: Origin) -> Any:
        if fn.get("role") is not None:
            where = origin.properties["Role"] = self.at(("functions", key, "role"), fn, "role")
            return self._role_reference(fn["role"], where)
        provider_role = self._provider_role()
        if provider_role is not None:
            origin.properties["Role"] = provider_role[1]
            return self._role_reference(*provider_role)
        if ROLES_PER_FUNCTION_PLUGIN in self.config.plugins and fn.get("iamRoleStatements") is not None:
            self.own_role_users.append(key)
            origin.properties["Role"] = self.at(("functions", key, "iamRoleStatements"), fn, "iamRoleStatements")
            return {"Fn::GetAtt": [naming.function_role(key), "Arn"]}
        self.shared_users.append(key)
        origin.properties["Role"] = origin.location
        return {"Fn::GetAtt": [naming.SHARED_ROLE, "Arn"]}

    def _provider_role(self) -> tuple[Any, Location] | None:
        """``provider.iam.role`` (or the legacy ``provider.role``) naming an existing role instead of settings."""
        iam = settings(self.provider.get("iam"))
        role = iam.get("role")
        if role is not None and (not isinstance(role, Mapping) or is_intrinsic(role)):
            return role, self.at(("provider", "iam", "role"), iam, "role")
        if self.provider.get("role") is not None:
            return self.provider["role"], self.at(("provider", "role"), self.provider, "role")
        return None

    def _role_reference(self, value: Any, where: Location) -> Any:
        if not isinstance(value, str):
            return value  # !GetAtt Role.Arn, !ImportValue...: resolved like CloudFormation
        if value.startswith("arn:"):
            return value
        if value in self.user_resources:
            return {"Fn::GetAtt": [value, "Arn"]}
        self.gap("unresolved", f"role {value} is neither an ARN nor a resource of the resources section", where)
        return Unresolved(value, "role not defined in the file")

    def _role_settings(self) -> _RoleSettings:
        """The provider's settings for the shared role: v3 ``iam.role`` or the legacy keys."""
        iam = settings(self.provider.get("iam"))
        role = settings(iam.get("role"))
        if role:
            path = ("provider", "iam", "role")
            return _RoleSettings(
                self.at(path, iam, "role"), role.get("statements"), self._where(path, role, "statements"),
                role.get("managedPolicies"), self._where(path, role, "managedPolicies"), role.get("name"),
                role.get("permissionsBoundary"))
        keys = ("iam", "iamRoleStatements", "iamManagedPolicies")
        where = next((self.at(("provider", k), self.provider, k) for k in keys if self.provider.get(k) is not None),
                     Location(self.rel, self.config.provider_line, None, ("provider",)))
        provider = self.provider
        return _RoleSettings(
            where, provider.get("iamRoleStatements"), self._where(("provider",), provider, "iamRoleStatements"),
            provider.get("iamManagedPolicies"), self._where(("provider",), provider, "iamManagedPolicies"),
            None, provider.get("rolePermissionsBoundary"))

    def _where(self, path: tuple[str, ...], container: Mapping[str, Any], key: str) -> Location | None:
        return self.at((*path, key), container, key) if container.get(key) is not None else None

    def _shared_role(self) -> None:
        """The one role the Framework creates for every function that does not name its own."""
        role = self._role_settings()
        origin = Origin(naming.SHARED_ROLE, f"{self.rel}#{naming.SHARED_ROLE}", "serverless:iam-role", role.where,
                        source=naming.SHARED_ROLE)
        self.out.elements[naming.SHARED_ROLE] = role.where.line or 0
        self._add_role(naming.SHARED_ROLE, origin, role.statements_where or role.where, [role.statements],
                       [(role.managed, role.managed_where)], [self.needs_of(key) for key in self.shared_users],
                       role.name, role.boundary)

    def _own_role(self, key: str, fn: Mapping[str, Any]) -> None:
        """The serverless-iam-roles-per-function plugin: one role per function declaring iamRoleStatements."""
        logical = naming.function_role(key)
        where = self.at(("functions", key, "iamRoleStatements"), fn, "iamRoleStatements")
        origin = Origin(logical, f"{self.function_key(key)}#role", "serverless:iam-role", where, source=key)
        statements: list[Any] = [fn.get("iamRoleStatements")]
        managed: list[tuple[Any, Location | None]] = [
            (fn.get("iamManagedPolicies"), self._where(("functions", key), fn, "iamManagedPolicies"))]
        if fn.get("iamRoleStatementsInherit", self.config.roles_inherit_default) is True:
            role = self._role_settings()
            statements.append(role.statements)
            managed.append((role.managed, role.managed_where))
        self._add_role(logical, origin, where, statements, managed, [self.needs_of(key)],
                       fn.get("iamRoleStatementsName"), None)

    def _add_role(
        self, logical: str, origin: Origin, statements_where: Location, statement_lists: list[Any],
        managed_lists: list[tuple[Any, Location | None]], needs: list[_RoleNeeds], name: Any, boundary: Any,
    ) -> None:
        statements: list[Any] = self._log_statements()
        for listed in statement_lists:
            if isinstance(listed, list):
                statements.extend(listed)
            elif listed is not None:
                statements.append(listed)  # known only at deploy time: an unreadable statement
        for need in needs:
            statements.extend(need.statements)
        origin.properties["Policies"] = origin.properties["Policies.0"] = statements_where
        managed: list[Any] = []
        for listed, where in managed_lists:
            for index, arn in enumerate(listed if isinstance(listed, list) else [] if listed is None else [listed]):
                lines = getattr(listed, "item_lines", [])
                line = lines[index] if index < len(lines) else (where.line if where else None)
                origin.properties[f"ManagedPolicyArns.{len(managed)}"] = Location(
                    self.rel, line, None, (*(where.path if where else origin.location.path), str(index)))
                managed.append(arn)
        vpc = next((need.vpc for need in needs if need.vpc is not None), None)
        if vpc is not None:
            origin.properties[f"ManagedPolicyArns.{len(managed)}"] = vpc
            managed.append(_VPC_POLICY)
        props: dict[str, Any] = {
            "AssumeRolePolicyDocument": _TRUST, "Path": "/",
            "Policies": [{"PolicyName": text_of(joined(self.config.service, self.config.stage, "lambda")),
                          "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}],
            "RoleName": name if name is not None else joined(
                self.config.service, self.config.stage, self.config.region, "lambdaRole"),
        }
        if managed:
            props["ManagedPolicyArns"] = managed
        if boundary is not None:
            props["PermissionsBoundary"] = boundary
        self.add(logical, "AWS::IAM::Role", props, origin)

    def _log_statements(self) -> list[dict[str, Any]]:
        """What the Framework always grants: writing the logs of the service's functions."""
        prefix = text_of(joined(self.config.service, self.config.stage))
        groups = f"arn:aws:logs:{text_of(self.config.region)}:${{AWS::AccountId}}:log-group:/aws/lambda/{prefix}*"
        reason = "log groups of the service's functions"
        return [
            {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:CreateLogGroup"],
             "Resource": [Unresolved(groups + ":*", reason)]},
            {"Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": [Unresolved(groups + ":*:*", reason)]},
        ]

    # ------------------------------------------------------------ per-function resources
    def _url(self, key: str, fn: Mapping[str, Any]) -> None:
        url = fn.get("url")
        if url is None or url is False:
            return
        where = self.at(("functions", key, "url"), fn, "url")
        config = settings(url)
        auth: Any = "NONE"
        origin = Origin(key, f"{self.function_key(key)}#url", "serverless:function-url", where,
                        {"AuthType": where}, source=key)
        authorizer = config.get("authorizer")
        if isinstance(url, Unresolved):
            auth = url  # whether there is a URL at all is known only at deploy time
        elif authorizer is not None:
            origin.properties["AuthType"] = self.at((*where.path, "authorizer"), config, "authorizer")
            auth = _URL_AUTH.get(authorizer.lower()) if isinstance(authorizer, str) else None
            if auth is None:
                auth = authorizer if isinstance(authorizer, Unresolved) else Unresolved(
                    text_of(authorizer), "function URL authorizer not understood")
        props: dict[str, Any] = {"AuthType": auth, "TargetFunctionArn": {"Fn::GetAtt": [naming.function(key), "Arn"]}}
        self._cors(config, where, props, origin)
        self.add(naming.function_url(key), "AWS::Lambda::Url", props, origin)
        if auth == "NONE":
            # A public URL needs both statements since October 2025; the Framework and SAM write both.
            stem = naming.normalized(key)
            self.permission(key, f"{stem}LambdaPermissionFnUrl", "url-permission", where,
                            Action="lambda:InvokeFunctionUrl", Principal="*", FunctionUrlAuthType="NONE")
            self.permission(key, f"{stem}LambdaFnUrlInvokeFunctionPermission", "url-invoke-permission", where,
                            Principal="*", InvokedViaFunctionUrl=True)

    def _cors(self, url: Mapping[str, Any], url_where: Location, props: dict[str, Any], origin: Origin) -> None:
        cors = url.get("cors")
        if cors is None or cors is False:
            return
        where = self.at((*url_where.path, "cors"), url, "cors")
        origin.properties["Cors"] = where
        if isinstance(cors, Unresolved):
            props["Cors"] = cors
            return
        config = settings(cors)  # `cors: true` takes every default, the object overrides them one by one
        origins = config.get("allowedOrigins", ["*"])
        if "allowedOrigins" in config:
            self.list_locations(origin, "Cors.AllowOrigins", origins,
                                self.at((*where.path, "allowedOrigins"), config, "allowedOrigins"))
        else:
            origin.properties["Cors.AllowOrigins"] = origin.properties["Cors.AllowOrigins.0"] = where
        props["Cors"] = {"AllowOrigins": origins, "AllowMethods": config.get("allowedMethods", ["*"]),
                         "AllowHeaders": config.get("allowedHeaders", _DEFAULT_CORS_HEADERS)}

    def _log_group(self, key: str, fn: Mapping[str, Any], function_name: Any) -> None:
        if fn.get("disableLogs") is True or self.provider.get("disableLogs") is True:
            return
        retention, where = self.setting(fn, key, "logRetentionInDays")
        location = where or self.out.origins[naming.function(key)].location
        name = f"/aws/lambda/{function_name}" if isinstance(function_name, str) else Unresolved(
            f"/aws/lambda/{text_of(function_name)}", "function name known only at deploy time")
        props: dict[str, Any] = {"LogGroupName": name}
        if retention is not None:
            props["RetentionInDays"] = retention
        origin = Origin(key, f"{self.function_key(key)}#log-group", "serverless:log-group", location,
                        {"RetentionInDays": location}, source=key)
        self.add(naming.log_group(key), "AWS::Logs::LogGroup", props, origin)

    def _invoke_config(self, key: str, fn: Mapping[str, Any]) -> None:
        present = [name for name in ("destinations", "maximumRetryAttempts", "maximumEventAge")
                   if fn.get(name) is not None]
        if not present:
            return
        where = self.at(("functions", key, present[0]), fn, present[0])
        props: dict[str, Any] = {"FunctionName": {"Ref": naming.function(key)}, "Qualifier": "$LATEST"}
        destinations = settings(fn.get("destinations"))
        config: dict[str, Any] = {}
        for cfn, sls in (("OnSuccess", "onSuccess"), ("OnFailure", "onFailure")):
            if destinations.get(sls) is not None:
                target = self._destination(key, destinations[sls])
                config[cfn] = {"Destination": target}
        props["DestinationConfig"] = config
        if fn.get("maximumRetryAttempts") is not None:
            props["MaximumRetryAttempts"] = fn["maximumRetryAttempts"]
        origin = Origin(key, f"{self.function_key(key)}#invoke-config", "serverless:invoke-config", where,
                        {"DestinationConfig": where}, source=key)
        self.add(naming.event_invoke_config(key), "AWS::Lambda::EventInvokeConfig", props, origin)

    def _destination(self, key: str, target: Any) -> Any:
        """An ARN, a function of the service (by key) or ``{type, arn}``; the role may send to it."""
        kind = None
        if isinstance(target, Mapping) and not is_intrinsic(target):
            kind, target = target.get("type"), target.get("arn")
        granted = target
        if isinstance(target, str) and not target.startswith("arn:"):
            other = self.config.functions.get(target)
            if not isinstance(other, Mapping):
                return Unresolved(target, "destination function not in this service")
            # The role addresses the function by name, as the Framework does: a GetAtt would be circular.
            name = text_of(self._function_name(target, other))
            granted = Unresolved(f"arn:aws:lambda:{text_of(self.config.region)}:${{AWS::AccountId}}:function:{name}",
                                 "function of the service")
            target, kind = {"Fn::GetAtt": [naming.function(target), "Arn"]}, "function"
        action = _DESTINATION_ACTIONS.get(str(kind)) or next(
            (name for marker, name in _DESTINATION_MARKERS if isinstance(target, str) and marker in target), None)
        if action is not None:
            self.needs_of(key).statements.append({"Effect": "Allow", "Action": [action], "Resource": [granted]})
        return target

    # ------------------------------------------------------------ layers
    def _layer(self, key: str, layer: Mapping[str, Any]) -> None:
        logical = naming.layer(key)
        where = self.at(("layers", key), self.config.layers, key)
        element = f"layers.{key}"
        self.out.elements[element] = where.line or 0
        origin = Origin(key, f"{self.rel}#{element}", "serverless:layer", where, source=element)
        props: dict[str, Any] = {"LayerName": layer.get("name", key), "Content": {}}
        if layer.get("compatibleRuntimes") is not None:
            props["CompatibleRuntimes"] = layer["compatibleRuntimes"]
        content = settings(layer.get("package")).get("artifact") or layer.get("path")
        if isinstance(content, str):
            self.out.local_code[logical] = self._local_path(content)
        self.add(logical, "AWS::Lambda::LayerVersion", props, origin)
        accounts = layer.get("allowedAccounts")
        for index, account in enumerate(accounts if isinstance(accounts, list) else []):
            account_where = self.at((*where.path, "allowedAccounts", str(index)), accounts, index)
            grant = Origin(key, f"{origin.key}#permission{index}", "serverless:layer-permission", account_where,
                           {"Principal": account_where}, source=element)
            self.add(f"{naming.normalized(key)}{index}LambdaLayerPermission", "AWS::Lambda::LayerVersionPermission",
                     {"Action": "lambda:GetLayerVersion", "LayerVersionArn": {"Ref": logical}, "Principal": account},
                     grant)

