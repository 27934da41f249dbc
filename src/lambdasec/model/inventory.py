"""The normalized inventory every rule reads.

Collectors (CloudFormation/SAM today; Terraform, Serverless Framework and live
accounts later) only fill these objects; rules never see raw files. Every object
carries its :class:`Location`. Links between objects are :class:`ResourceRef`
values whose ``key`` is the target's :attr:`Resource.key`; a link that cannot be
followed statically is an :class:`Unresolved`.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any, TypeVar

from lambdasec.fast_dataclass import dataclass, field

from .location import Location
from .values import ResourceRef, Unresolved, Value


@dataclass
class Resource:
    """Common part of all inventory objects.

    ``id`` is what users see (CloudFormation logical id, Terraform address,
    serverless function key or ARN); ``key`` is unique across the whole scan
    (``<file>#<id>`` for IaC, the ARN for live resources).
    """

    key: str
    id: str
    type: str  # the source type, e.g. "AWS::Lambda::Function"
    location: Location
    # Paths inside the template of the object's properties, so a finding about a
    # property can point at its own line (filled by collectors when known).
    property_locations: MutableMapping[str, Location] = field(default_factory=dict, repr=False)
    # Suppressions declared on the resource itself: {"EXP001": "reason", ...}
    suppressions: dict[str, str] = field(default_factory=dict)

    def at(self, prop: str) -> Location:
        """Location of a property (dotted name, e.g. "Environment.Variables.TOKEN"), falling back to the resource."""
        while prop:
            if prop in self.property_locations:
                return self.property_locations[prop]
            prop = prop.rpartition(".")[0]
        return self.location


# ---------------------------------------------------------------- IAM
@dataclass
class PolicyStatement:
    effect: str  # "Allow" | "Deny"
    actions: list[str] = field(default_factory=list)
    not_actions: list[str] = field(default_factory=list)
    resources: list[Value] = field(default_factory=list)
    not_resources: list[Value] = field(default_factory=list)
    # principal type ("AWS", "Service", "Federated", "CanonicalUser", "*") -> values
    principals: dict[str, list[Value]] = field(default_factory=dict)
    not_principals: dict[str, list[Value]] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)
    sid: str | None = None
    # Parts of the statement that could not be resolved (e.g. an !If on the action list).
    unresolved: list[Unresolved] = field(default_factory=list)


@dataclass
class PolicyDocument:
    statements: list[PolicyStatement] = field(default_factory=list)


@dataclass
class Policy:
    """A policy attached to a role: inline, customer managed (in the template) or AWS managed."""

    name: str
    kind: str  # "inline" | "customer-managed" | "aws-managed"
    document: PolicyDocument | Unresolved
    location: Location
    arn: str | None = None


@dataclass
class Role(Resource):
    name: Value | None = None
    trust_policy: PolicyDocument | Unresolved | None = None
    policies: list[Policy] = field(default_factory=list)
    permissions_boundary: Value | None = None
    # The boundary as a policy with its document, when the collector read it (live scans); else None.
    boundary_policy: Policy | None = None


@dataclass
class User(Resource):
    """An IAM user: its own policies, and the groups whose policies it also gets."""

    name: Value | None = None
    policies: list[Policy] = field(default_factory=list)
    permissions_boundary: Value | None = None
    boundary_policy: Policy | None = None  # as on Role
    # Groups it belongs to: a ResourceRef to a Group of the inventory, else the group name as written.
    groups: list[Value] = field(default_factory=list)


@dataclass
class Group(Resource):
    name: Value | None = None
    policies: list[Policy] = field(default_factory=list)
    # Its users: a ResourceRef to a User of the inventory, else the user name as written.
    members: list[Value] = field(default_factory=list)


# ---------------------------------------------------------------- Lambda
@dataclass(frozen=True)
class RedactedSecret:
    """A secret a snapshot did not keep (model/snapshot.py): what SEC001 / SEC002 report, never the value."""

    kind: str  # the detector's kind, e.g. "aws-access-key-id"
    preview: str  # redacted as the detector shows it, e.g. "AK****LE"
    confidence: str  # "high" | "medium" | "low"


@dataclass
class EnvVar:
    name: str
    value: Value
    location: Location
    # Set when the value is a reference to a template parameter.
    parameter: Parameter | None = None
    # Read from a snapshot, which never keeps secrets: what the value was (``value`` is then an Unresolved).
    secret: RedactedSecret | None = None


@dataclass
class VpcConfig:
    subnet_ids: list[Value] | Unresolved = field(default_factory=list)
    security_group_ids: list[Value] | Unresolved = field(default_factory=list)
    location: Location | None = None


@dataclass
class CodeLocation:
    # "s3" | "inline" | "local" | "image" | "unknown"; "live": deployed code of a live function or layer, not
    # downloaded (value: its ARN)
    kind: str
    value: Value | None = None  # s3 uri, local path (relative to the scan root), image uri; inline: the file name
    inline: str | None = None  # CloudFormation Code.ZipFile source
    # A local path naming one source file that is the whole package (Terraform archive_file `source_file`),
    # rather than a directory or a zip.
    single_file: bool = False
    # Paths or glob patterns left out of a local directory when it is zipped (Terraform archive_file `excludes`).
    excludes: tuple[str, ...] = ()
    # Container images of live functions: the image the tag resolved to (repository@sha256:digest).
    resolved_image: str | None = None


@dataclass
class Function(Resource):
    name: Value | None = None
    runtime: Value | None = None
    handler: Value | None = None
    package_type: str = "Zip"  # "Zip" | "Image"
    architectures: list[str] = field(default_factory=lambda: ["x86_64"])
    environment: dict[str, EnvVar] = field(default_factory=dict)
    kms_key_arn: Value | None = None
    vpc: VpcConfig | None = None
    layers: list[Value] = field(default_factory=list)
    tracing_mode: Value | None = None  # "Active" | "PassThrough" | None (not set)
    dead_letter_target: Value | None = None
    reserved_concurrency: int | Unresolved | None = None
    code_signing_config: Value | None = None
    tags: dict[str, Value] = field(default_factory=dict)
    # The tags as a whole are not known statically (`Tags: !If ...`, a Terraform `tags = var.tags`): `tags` is
    # then empty and says nothing about which keys the function has.
    tags_unknown: Unresolved | None = None
    code: CodeLocation | None = None
    role: Value | None = None
    log_group: Value | None = None  # LoggingConfig.LogGroup when set
    version: str | None = None  # live functions: "$LATEST"
    code_sha256: str | None = None  # live functions: the deployed package's hash (base64, as Lambda gives it)
    # Live functions whose code was signed: the AWS Signer job that signed it (SigningJobArn), else None.
    signing_job: str | None = None
    # Live functions: the parts a failed call left unknown ("details": GetFunction, "policy" (its own or an
    # alias's), "aliases" (ListAliases), "urls", "event-invoke-configs", "code-signing", "role"): the rules
    # judging them say "not evaluated", not "clean".
    unread: list[str] = field(default_factory=list)
    # Live functions: the parts a scan option chose not to read (``--skip-event-invoke-configs`` leaves
    # "event-invoke-configs" here, for the functions whose configs it would have read): judged as "not
    # evaluated" too, with the option as the reason, and no coverage gap (nothing failed).
    skipped: list[str] = field(default_factory=list)

    def not_read(self, part: str) -> bool:
        """Whether a part of this live function is unknown, because its read failed or was skipped."""
        return part in self.unread or part in self.skipped


@dataclass
class Permission(Resource):
    """A statement of a function's resource policy (AWS::Lambda::Permission)."""

    function: Value = ""
    action: Value = ""
    principal: Value = ""
    source_arn: Value | None = None
    source_account: Value | None = None
    principal_org_id: Value | None = None
    event_source_token: Value | None = None
    function_url_auth_type: Value | None = None
    # lambda:InvokeFunction granted only for calls that come through the function URL.
    invoked_via_function_url: bool = False


@dataclass
class FunctionUrl(Resource):
    function: Value = ""
    auth_type: Value = "AWS_IAM"
    cors_allow_origins: list[Value] | None = None
    qualifier: Value | None = None


@dataclass
class LayerVersion(Resource):
    name: Value | None = None
    content: CodeLocation | None = None
    compatible_runtimes: list[Value] = field(default_factory=list)
    code_sha256: str | None = None  # live layer versions: the content's hash (base64, as Lambda gives it)


@dataclass
class LayerPermission(Resource):
    layer: Value = ""
    action: Value = ""
    principal: Value = ""
    organization_id: Value | None = None


@dataclass
class CodePackage(Resource):
    """A deployment package or layer named directly on the command line (``lambdasec scan layer.zip``).

    No template says what it is: ``role`` is "function", "layer" or "unknown". Its ``type`` is
    ``lambdasec::Package``.
    """

    content: CodeLocation = field(default_factory=lambda: CodeLocation("unknown"))
    role: str = "unknown"


@dataclass
class CodeSigningConfig(Resource):
    untrusted_artifact_on_deployment: Value = "Warn"  # AWS default when unset
    allowed_publishers: list[Value] = field(default_factory=list)


@dataclass
class EventInvokeConfig(Resource):
    function: Value = ""
    on_failure: Value | None = None
    on_success: Value | None = None
    maximum_retry_attempts: int | Unresolved | None = None


@dataclass
class EventSource(Resource):
    """Something that invokes a function: a mapping, a notification, a schedule, an API."""

    function: Value = ""
    kind: str = ""  # "sqs" | "kinesis" | "dynamodb" | "kafka" | "mq" | "s3" | "sns" | "events" | "api" ...
    invocation: str = "sync"  # "sync" | "async" | "poll"
    source: Value | None = None  # ARN of the queue/topic/bucket/rule when known


@dataclass
class ApiRoute(Resource):
    """An API Gateway route or method integrated with a function."""

    api: str = ""  # id of the API
    method: str = "ANY"
    path: str = "/"
    function: Value = ""
    authorization: str = "NONE"  # "NONE" | "AWS_IAM" | "CUSTOM" | "COGNITO_USER_POOLS" | "JWT"
    api_key_required: bool = False


# ---------------------------------------------------------------- network
@dataclass
class Subnet(Resource):
    vpc: Value | None = None
    availability_zone: Value | None = None
    cidr: Value | None = None
    map_public_ip: bool = False


@dataclass
class Route(Resource):
    route_table: Value = ""
    destination: Value | None = None  # IPv4 or IPv6 CIDR
    gateway: Value | None = None  # GatewayId
    nat_gateway: Value | None = None
    target_kind: str = ""  # "internet-gateway" | "nat-gateway" | "egress-only" | "other" | "unknown"


@dataclass
class RouteTableAssociation(Resource):
    route_table: Value = ""
    subnet: Value = ""


@dataclass
class SecurityGroupRule:
    protocol: Value  # "-1" means all
    from_port: int | Unresolved | None
    to_port: int | Unresolved | None
    cidr_ipv4: Value | None = None
    cidr_ipv6: Value | None = None
    destination_group: Value | None = None
    destination_prefix_list: Value | None = None
    location: Location | None = None


@dataclass
class SecurityGroup(Resource):
    vpc: Value | None = None
    # None: nothing declared, so AWS's default allow-all egress rule applies (CloudFormation). An empty list: no
    # egress at all (Terraform removes the default rule from the groups it manages).
    egress: list[SecurityGroupRule] | None = None


@dataclass
class VpcEndpoint(Resource):
    vpc: Value | None = None
    service: Value | None = None
    endpoint_type: str = "Gateway"


# ---------------------------------------------------------------- account posture
@dataclass
class Trail(Resource):
    is_logging: bool | Unresolved = True
    multi_region: bool = False
    event_selectors: list[dict[str, Any]] = field(default_factory=list)
    advanced_event_selectors: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class GuardDutyDetector(Resource):
    enabled: bool | Unresolved = True
    features: dict[str, str] = field(default_factory=dict)  # feature name -> "ENABLED" | "DISABLED"


@dataclass
class KmsKey(Resource):
    key_policy: PolicyDocument | Unresolved | None = None
    rotation_enabled: bool | Unresolved = False


@dataclass
class LogGroup(Resource):
    name: Value | None = None
    retention_days: int | Unresolved | None = None


@dataclass
class EcrRepository(Resource):
    """An ECR repository holding a container-image function's image (live scans)."""

    name: str = ""
    # "MUTABLE" | "IMMUTABLE" | "IMMUTABLE_WITH_EXCLUSION" | "MUTABLE_WITH_EXCLUSION", as ECR gives it
    tag_mutability: str = "MUTABLE"
    scan_on_push: bool = False
    # The wildcard filters of the *_WITH_EXCLUSION kinds: tags they match are the exceptions (mutable in an
    # IMMUTABLE_WITH_EXCLUSION repository, immutable in a MUTABLE_WITH_EXCLUSION one). None: not read.
    tag_mutability_exclusions: list[str] | None = None


@dataclass
class SigningProfile(Resource):
    """An AWS Signer profile named by a code-signing config (live scans)."""

    name: str = ""
    status: str = "Active"  # "Active" | "Canceled" | "Revoked"
    expires: str | None = None  # ISO 8601 end of the signature validity period, when known


@dataclass
class SigningJob(Resource):
    """An AWS Signer signing job that signed the code of a live function (DescribeSigningJob), key = its ARN."""

    status: str = ""  # the job's own status: "Succeeded" | "Failed" | "InProgress"
    profile_name: str = ""
    profile_version: str = ""
    # The signature was revoked (the job has a revocationRecord): when (ISO 8601) and why, as far as Signer says.
    revoked: bool = False
    revoked_at: str | None = None
    revocation_reason: str | None = None
    signature_expires_at: str | None = None  # ISO 8601 end of the signature's validity, when Signer gives it
    # False: the job was asked for and Signer does not know it (ResourceNotFoundException). A job never asked for
    # has no object at all (its region was not read, or, with --shard, another shard reads it).
    found: bool = True


@dataclass
class ScannedScope:
    """One account and region of a live scan, and the services read completely there (rules that need a
    service's data in that scope say "not evaluated" when it is missing from ``complete``)."""

    account: str
    region: str
    complete: list[str] = field(default_factory=list)  # "lambda", "iam", "ec2", "cloudtrail", "guardduty"...


@dataclass
class Parameter:
    """A template input (CloudFormation parameter, Terraform variable)."""

    name: str
    no_echo: bool = False
    default: Any = None
    has_default: bool = False
    location: Location = field(default_factory=Location)


# ---------------------------------------------------------------- coverage
@dataclass(frozen=True)
class CoverageGap:
    """Something the scan could not see: a file that failed to parse, a missing reference..."""

    kind: str  # "parse-error" | "unresolved" | "missing-file" | "unsupported" | "access-denied" ...
    message: str  # one line, for humans
    location: Location = field(default_factory=Location)

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "message": self.message, "location": self.location.to_dict()}


R = TypeVar("R", bound=Resource)


@dataclass
class Inventory:
    functions: list[Function] = field(default_factory=list)
    roles: list[Role] = field(default_factory=list)
    permissions: list[Permission] = field(default_factory=list)
    function_urls: list[FunctionUrl] = field(default_factory=list)
    layers: list[LayerVersion] = field(default_factory=list)
    layer_permissions: list[LayerPermission] = field(default_factory=list)
    code_signing_configs: list[CodeSigningConfig] = field(default_factory=list)
    event_invoke_configs: list[EventInvokeConfig] = field(default_factory=list)
    event_sources: list[EventSource] = field(default_factory=list)
    api_routes: list[ApiRoute] = field(default_factory=list)
    subnets: list[Subnet] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    route_table_associations: list[RouteTableAssociation] = field(default_factory=list)
    security_groups: list[SecurityGroup] = field(default_factory=list)
    vpc_endpoints: list[VpcEndpoint] = field(default_factory=list)
    trails: list[Trail] = field(default_factory=list)
    guardduty_detectors: list[GuardDutyDetector] = field(default_factory=list)
    kms_keys: list[KmsKey] = field(default_factory=list)
    log_groups: list[LogGroup] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    packages: list[CodePackage] = field(default_factory=list)
    ecr_repositories: list[EcrRepository] = field(default_factory=list)
    signing_profiles: list[SigningProfile] = field(default_factory=list)
    signing_jobs: list[SigningJob] = field(default_factory=list)
    coverage_gaps: list[CoverageGap] = field(default_factory=list)
    # Live scans: the accounts and regions read (empty for IaC scans).
    scopes: list[ScannedScope] = field(default_factory=list)
    # Account ids known to be the scanned account's own (from config or live scans).
    own_accounts: set[str] = field(default_factory=set)
    # Versions and aliases: their key -> the function they belong to.
    aliases: dict[str, Value] = field(default_factory=dict)
    _index: dict[str, Resource] = field(default_factory=dict, repr=False)
    _role_users: dict[str, list[Function]] | None = field(default=None, repr=False)
    # Analyses several rules need (effective permissions of each role, attack-path priorities), computed once
    # per scan and kept with the inventory they describe, never in module state.
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        """Collector workers send inventories to the main process: the index and memos are rebuilt there."""
        state = dict(self.__dict__)
        state.update(_index={}, _role_users=None, derived={})
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for name in _BUCKETS:
            for obj in getattr(self, name):
                self._index[obj.key] = obj

    def add(self, bucket: list[R], obj: R) -> R:
        bucket.append(obj)
        self._index[obj.key] = obj
        self._role_users = None
        return obj

    def get(self, ref: Any) -> Resource | None:
        """Follow a reference; returns None for literals and unresolved values."""
        if isinstance(ref, ResourceRef):
            return self._index.get(ref.key)
        if isinstance(ref, str):
            return self._index.get(ref)
        return None

    def resolve(self, ref: Any, kind: type[R]) -> R | None:
        obj = self.get(ref)
        return obj if isinstance(obj, kind) else None

    def resources(self) -> Iterator[Resource]:
        yield from self._index.values()

    def function_for(self, ref: Any) -> Function | None:
        """The function a Permission/URL/mapping points at (by Ref, GetAtt, alias, version or literal name/ARN)."""
        for _ in range(5):  # an alias points at a version which points at the function
            if isinstance(ref, ResourceRef) and ref.key in self.aliases:
                ref = self.aliases[ref.key]
        found = self.resolve(ref, Function)
        if found is not None or not isinstance(ref, str):
            return found
        for fn in self.functions:
            if isinstance(fn.name, str) and (ref == fn.name or ref.endswith(f":function:{fn.name}")):
                return fn
        return None

    def functions_using_role(self, role: Role) -> list[Function]:
        if self._role_users is None:  # built on first use, dropped whenever an object is added
            self._role_users = {}
            for fn in self.functions:
                user_of = self.resolve(fn.role, Role)
                if user_of is not None:
                    self._role_users.setdefault(user_of.key, []).append(fn)
        return list(self._role_users.get(role.key, []))

    def role_of(self, fn: Function) -> Role | None:
        return self.resolve(fn.role, Role)

    def merge(self, other: Inventory) -> None:
        for name in _BUCKETS:
            for obj in getattr(other, name):
                self.add(getattr(self, name), obj)
        self.coverage_gaps.extend(other.coverage_gaps)
        self.scopes.extend(other.scopes)
        self.own_accounts |= other.own_accounts
        self.aliases.update(other.aliases)


_BUCKETS = (
    "functions", "roles", "permissions", "function_urls", "layers", "layer_permissions",
    "code_signing_configs", "event_invoke_configs", "event_sources", "api_routes", "subnets", "routes",
    "route_table_associations", "security_groups", "vpc_endpoints", "trails", "guardduty_detectors",
    "kms_keys", "log_groups", "users", "groups", "packages", "ecr_repositories", "signing_profiles", "signing_jobs",
)
