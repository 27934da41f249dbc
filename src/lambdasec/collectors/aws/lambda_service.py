"""AWS Lambda of one account and region -> the inventory, normalized as the CloudFormation collector would.

Every call goes through :class:`~lambdasec.collectors.aws.api.Api` (read-only, counted, rate limited, failures
kept as gaps). Lambda throttles its control plane per account and region: ``GetFunction`` and ``GetPolicy``
have quotas of their own, every other read shares one bucket of about 15 requests per second. The module keeps
that shared bucket near one call per function:

* account-wide listings, paginated: ``ListFunctions``, ``ListEventSourceMappings``, ``ListLayers`` (+
  ``ListLayerVersions`` per layer), ``ListCodeSigningConfigs`` (+ ``ListFunctionsByCodeSigningConfig`` per
  config: which functions use a config is read per config, in bulk, not per function);
* per function: ``GetFunction`` (own bucket: code location, image digest, tags, reserved concurrency),
  ``GetPolicy`` (own bucket; no policy = ``ResourceNotFoundException``) and ``ListFunctionUrlConfigs`` (the one
  shared-bucket call per function);
* ``ListFunctionEventInvokeConfigs`` only for the functions that can be invoked asynchronously as far as the
  account says: their resource policy lets an asynchronous AWS service (S3, SNS, EventBridge, CloudWatch Logs,
  IoT, SES, Config, CodeCommit, CloudFormation: ``lambda_semantics.ASYNC_SERVICE_PRINCIPALS``) invoke them, or
  they have a dead-letter queue (set only for asynchronous use), or their policy could not be read (then we do
  not know, so we look). Every AWS service that invokes a function asynchronously needs such a policy
  statement; what is not read is the config of a function only invoked asynchronously by IAM principals of its
  own account (no resource policy needed): such a config is not in the inventory. ``--skip-event-invoke-configs``
  reads none (one shared-bucket call per function): the functions whose configs would have been read carry
  "event-invoke-configs" in ``Function.skipped``, and RES001 and least privilege say "not evaluated" for them;
* layers: ``GetLayerVersionPolicy`` per layer version of the account (who it is shared with) and
  ``GetLayerVersion`` for each of the account's layer versions that a collected function uses (its
  ``CodeSha256``, and its content with ``--download-code``).

Normalization (same field meanings as ``collectors/cloudformation/collector.py``):

* keys and ids are ARNs: the unqualified function ARN; ``<function ARN>#policy/<Sid>`` for each statement of
  its resource policy (an ``AWS::Lambda::Permission``; an Allow statement naming several principals or actions
  gives one Permission each, the second and later ones keyed ``...#policy/<Sid>/<n>``); ``<function ARN>#url``
  (``#url/<alias>`` for a URL of an alias); ``<function ARN>#event-invoke/<qualifier>``; the event source
  mapping ARN; the layer version ARN and ``<layer version ARN>#policy/<Sid>``; the code-signing config ARN.
  A policy statement granting invocation to an asynchronous AWS service also gives an asynchronous
  :class:`EventSource` keyed ``<permission key>#source``, as the CloudFormation collector does for an
  ``AWS::Lambda::Permission``.
* principals as ``AWS::Lambda::Permission`` writes them: ``"*"``, a service (``"s3.amazonaws.com"``), an account
  id (``arn:aws:iam::<account>:root`` becomes ``"<account>"``), or the IAM ARN. Conditions: ``AWS:SourceArn``
  (``ArnLike`` / ``ArnEquals`` / ``StringEquals``...), ``AWS:SourceAccount``, ``aws:PrincipalOrgID``,
  ``lambda:FunctionUrlAuthType``, ``lambda:EventSourceToken``, ``lambda:InvokedViaFunctionUrl`` (Bool true).
* links are :class:`ResourceRef` to ARNs of types some live module collects (role, own-account layer version,
  code-signing config, subnet, security group, KMS key, function, signing profile version); the core's link
  pass turns those whose target was not collected into plain strings. Layer versions of OTHER accounts stay
  plain ARN strings and are not read (no ``GetLayerVersion``): a ResourceRef means "a layer of your own" to the
  code-integrity rules, and a foreign layer version has no policy we may read; its content is immutable and
  its version is in its ARN. Dead-letter queues, queues and streams of event source mappings, and non-Lambda
  destinations are plain ARN strings (no module collects them).
* an empty ``VpcConfig`` (no subnet) is "not in a VPC": ``vpc`` None. ``reserved_concurrency`` None when
  unreserved. Container images: ``CodeLocation("image", ImageUri, resolved_image=ResolvedImageUri)``, no runtime
  or handler. Zip packages: ``CodeLocation("live", <function ARN>)``, or with ``--download-code``
  ``CodeLocation("local", <path of the downloaded zip>)`` so the package rules read it.
* unknowns are never guessed: when ``GetFunction`` fails, tags stay empty and ``reserved_concurrency`` is an
  :class:`Unresolved`; when the code-signing configs cannot be listed, ``code_signing_config`` is an
  :class:`Unresolved` (the code-signing rules then say "not evaluated" rather than "missing"); an environment
  Lambda could not decrypt for the scanner is a gap.

Aliases and versions: their function URLs and event-invoke configs are listed with the function and attached to
it. Each alias or version has a resource policy of its own (``add-permission --qualifier live`` opens the alias,
not the function): ``GetPolicy`` with a ``Qualifier`` (GetPolicy's own bucket) is read for every alias and
version the scan sees (a URL, an event-invoke config or an event source mapping names it), its statements keyed
``<function ARN>:<qualifier>#policy/<Sid>`` and attributed to the function. ``--alias-policies`` also lists
every function's aliases (``ListAliases``: one more shared-bucket call per function) so that the policy of an
alias nothing else points at is read too. Not read: published versions' configurations, and without
``--alias-policies`` the policy of an alias that no URL, event-invoke config or mapping names.

``--download-code``: ``Code.Location`` / ``Content.Location`` are presigned HTTPS URLs (plain HTTP is accepted
only on the loopback interface, for emulators). Each is streamed into ``options.code_dir`` as
``<sha256 of the ARN>.zip``, at most ``archive_limits.max_total_bytes`` bytes, checked against ``CodeSha256``;
any failure is a ``download-failed`` gap and the code stays ``live``.

``lambda`` is recorded complete for the scope (:class:`ScannedScope`) only when every Lambda call succeeded; if
``ListFunctions`` fails there are no function objects at all.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import queue
import re
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

from ...model.inventory import (
    CodeLocation,
    CodeSigningConfig,
    CoverageGap,
    EnvVar,
    EventInvokeConfig,
    EventSource,
    Function,
    FunctionUrl,
    Inventory,
    LayerPermission,
    LayerVersion,
    Permission,
    PolicyStatement,
    ScannedScope,
    VpcConfig,
)
from ...model.location import Location
from ...model.values import ResourceRef, Unresolved, Value
from ..lambda_semantics import ASYNC_SERVICE_PRINCIPALS
from .api import Api

OPERATIONS: Final = (
    ("lambda", "ListFunctions"),
    ("lambda", "GetFunction"),
    ("lambda", "GetPolicy"),
    ("lambda", "ListFunctionUrlConfigs"),
    ("lambda", "ListFunctionEventInvokeConfigs"),
    ("lambda", "ListEventSourceMappings"),
    ("lambda", "ListCodeSigningConfigs"),
    ("lambda", "ListFunctionsByCodeSigningConfig"),
    ("lambda", "ListLayers"),
    ("lambda", "ListLayerVersions"),
    ("lambda", "GetLayerVersion"),
    ("lambda", "GetLayerVersionPolicy"),
    ("lambda", "ListAliases"),
)

_ABSENT: Final = ("ResourceNotFoundException",)
_DOWNLOAD_TIMEOUT: Final = 60.0
_CHUNK: Final = 1 << 20
_DEFAULT_MAX_BYTES: Final = 1 << 30
_LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})
# The queue, stream or cluster an event source mapping polls, by the service named in its ARN.
_SOURCE_KINDS: Final = (("sqs", "sqs"), ("kinesis", "kinesis"), ("dynamodb", "dynamodb"), ("kafka", "kafka"),
                        ("mq", "mq"), ("rds", "docdb"), ("docdb", "docdb"))


def collect_lambda(api: Api, inventory: Inventory, options: Any) -> None:
    """Add the scope's functions, policies, URLs, layers, code-signing configs and triggers to ``inventory``."""
    _Collector(api, inventory, options).run()


@dataclass
class _Reads:
    """What the per-function reads of one function answered (None: the call failed, a gap)."""

    details: dict[str, Any] | None = None  # GetFunction ({}: the function was deleted since the listing)
    policy: dict[str, Any] | None = None  # GetPolicy ({}: no policy)
    urls: list[Any] | None = None  # ListFunctionUrlConfigs
    aliases: list[Any] | None = None  # ListAliases (--alias-policies)


class _Collector:
    def __init__(self, api: Api, inventory: Inventory, options: Any) -> None:
        self.api = api
        self.inventory = inventory
        self.account = api.scope.account
        self.region = api.scope.region
        self.download = bool(getattr(options, "download_code", False))
        self.code_dir: str | None = getattr(options, "code_dir", None)
        limits = getattr(options, "archive_limits", None)
        self.max_bytes = int(getattr(limits, "max_total_bytes", _DEFAULT_MAX_BYTES) or _DEFAULT_MAX_BYTES)
        self.list_aliases = bool(getattr(options, "alias_policies", False))
        self.skip_invoke_configs = bool(getattr(options, "skip_event_invoke_configs", False))
        self.one_at_a_time = int(getattr(options, "max_workers", 8) or 8) <= 1
        # Function ARN -> the aliases and versions seen for it (URLs, event-invoke configs, event source
        # mappings, ListAliases): each may carry a resource policy of its own.
        self.qualifiers: dict[str, set[str]] = {}
        self.functions: dict[str, Function] = {}
        self.invoke_configs_read: set[str] = set()
        # (function ARN, qualifier) -> the alias's or version's own GetPolicy answer, read while the shared-bucket
        # walker was still going (None: the call failed); the rest are read by _qualified_policies.
        self.qualified_read: dict[tuple[str, str], dict[str, Any] | None] = {}

    # ------------------------------------------------------------ orchestration
    def run(self) -> None:
        signing = self._code_signing_configs()
        own_layers = self._layers()
        listed = [item for item in self.api.pages("lambda", "ListFunctions", "Functions") or []
                  if unqualified(str(item.get("FunctionArn", "")))]
        reads = self._per_function_reads([unqualified(str(item["FunctionArn"])) for item in listed])
        used_layers: dict[str, LayerVersion] = {}
        for item, read in zip(listed, reads, strict=True):
            fn = self._function(item, signing, read)
            if fn is None:
                continue
            for layer in fn.layers:
                if isinstance(layer, ResourceRef) and layer.key in own_layers:
                    used_layers.setdefault(layer.key, own_layers[layer.key])
        self._event_source_mappings()
        self._qualified_policies()
        for arn in sorted(used_layers):
            self._layer_details(used_layers[arn])
        if self.api.ok("lambda"):
            self.inventory.scopes.append(ScannedScope(self.account, self.region, ["lambda"]))

    def _where(self, arn: str) -> Location:
        return Location(arn=arn, region=self.region)

    def _gap(self, kind: str, detail: str, arn: str) -> None:
        self.inventory.coverage_gaps.append(CoverageGap(
            kind, f"account {self.account}, region {self.region}, lambda: {detail}"[:400], self._where(arn)))

    # ------------------------------------------------------------ functions
    def _per_function_reads(self, arns: list[str]) -> list[_Reads]:
        """GetFunction, GetPolicy and the shared-bucket listings (URLs; aliases with --alias-policies) of every
        function. Each quota bucket is walked by a thread of its own: the buckets are throttled separately, so read
        side by side they take as long as the slowest (the shared one), not the sum of the three. With
        ``--max-workers 1`` they are walked one after the other.

        The shared bucket holds the most calls per function, so its walker finishes last. The aliases and
        versions it finds (URLs of an alias, ``ListAliases``) have policies of their own, read from GetPolicy's
        quota: the GetPolicy walker reads them as they are found, once it is done with the functions, instead of
        after every walker is (with ``--alias-policies``, a third of the functions may have an alias)."""
        reads = [_Reads() for _ in arns]
        side_by_side = not (self.one_at_a_time or len(arns) < 2)
        found: queue.SimpleQueue[tuple[str, str] | None] = queue.SimpleQueue()

        def details() -> None:
            for read, arn in zip(reads, arns, strict=True):
                read.details = self.api.call("lambda", "GetFunction", absent=_ABSENT, FunctionName=arn)

        def policies() -> None:
            for read, arn in zip(reads, arns, strict=True):
                read.policy = self.api.call("lambda", "GetPolicy", absent=_ABSENT, FunctionName=arn)
            while side_by_side and (named := found.get()) is not None:
                if named not in self.qualified_read:
                    self.qualified_read[named] = self.api.call("lambda", "GetPolicy", absent=_ABSENT,
                                                               FunctionName=named[0], Qualifier=named[1])

        def shared_bucket() -> None:
            try:
                for read, arn in zip(reads, arns, strict=True):
                    read.urls = self.api.pages("lambda", "ListFunctionUrlConfigs", "FunctionUrlConfigs",
                                               absent=_ABSENT, FunctionName=arn)
                    if self.list_aliases:
                        read.aliases = self.api.pages("lambda", "ListAliases", "Aliases", absent=_ABSENT,
                                                      FunctionName=arn)
                    for qualifier in _qualifiers_named(read):
                        found.put((arn, qualifier))
            finally:
                found.put(None)  # the GetPolicy walker stops waiting, whatever happened here

        walkers = (details, policies, shared_bucket)
        if not side_by_side:
            for walk in walkers:
                walk()
        else:
            with ThreadPoolExecutor(max_workers=len(walkers), thread_name_prefix="lambdasec-lambda") as pool:
                for future in [pool.submit(walk) for walk in walkers]:
                    future.result()  # Api turns failed calls into gaps; anything else is the module's crash
        return reads

    def _function(self, item: Mapping[str, Any], signing: dict[str, str] | Unresolved,
                  read: _Reads) -> Function | None:
        arn = unqualified(str(item.get("FunctionArn", "")))
        name = str(item.get("FunctionName") or arn.rsplit(":", 1)[-1])
        details = read.details
        if details == {}:
            return None  # deleted since ListFunctions: nothing to scan
        config: Mapping[str, Any] = item
        if details and isinstance(details.get("Configuration"), Mapping):
            config = {**item, **details["Configuration"]}
        fn = Function(key=arn, id=arn, type="AWS::Lambda::Function", location=self._where(arn))
        fn.name = name
        fn.package_type = "Image" if config.get("PackageType") == "Image" else "Zip"
        if fn.package_type == "Zip":
            fn.runtime = _text(config.get("Runtime"))
            fn.handler = _text(config.get("Handler"))
        architectures = [a for a in config.get("Architectures") or [] if isinstance(a, str)]
        if architectures:
            fn.architectures = architectures
        fn.environment = self._environment(arn, config.get("Environment"))
        kms = _text(config.get("KMSKeyArn"))
        fn.kms_key_arn = ResourceRef(kms, "Arn") if kms else None
        fn.vpc = self._vpc(arn, config.get("VpcConfig"))
        fn.layers = [self._layer_ref(layer) for layer in config.get("Layers") or [] if isinstance(layer, Mapping)
                     and isinstance(layer.get("Arn"), str)]
        tracing = config.get("TracingConfig")
        fn.tracing_mode = _text(tracing.get("Mode")) if isinstance(tracing, Mapping) else None
        dlq = config.get("DeadLetterConfig")
        fn.dead_letter_target = _text(dlq.get("TargetArn")) if isinstance(dlq, Mapping) else None
        if isinstance(signing, Unresolved):
            fn.code_signing_config = signing
            fn.unread.append("code-signing")
        elif arn in signing:
            fn.code_signing_config = ResourceRef(signing[arn], "CodeSigningConfigArn")
        fn.role = ResourceRef(config["Role"], "Arn") if isinstance(config.get("Role"), str) else None
        logging = config.get("LoggingConfig")
        fn.log_group = _text(logging.get("LogGroup")) if isinstance(logging, Mapping) else None
        fn.version = _text(config.get("Version")) or "$LATEST"
        fn.code_sha256 = _text(config.get("CodeSha256"))
        fn.signing_job = _text(config.get("SigningJobArn"))
        if details is None:  # GetFunction failed (a gap): what only it tells stays unknown
            fn.reserved_concurrency = Unresolved("ReservedConcurrentExecutions", "GetFunction failed")
            fn.tags_unknown = Unresolved("Tags", "GetFunction failed")
            fn.unread.append("details")
            fn.code = CodeLocation("live", arn)
        else:
            concurrency = details.get("Concurrency")
            reserved = concurrency.get("ReservedConcurrentExecutions") if isinstance(concurrency, Mapping) else None
            fn.reserved_concurrency = reserved if isinstance(reserved, int) else None
            tags = details.get("Tags")
            fn.tags = {str(k): str(v) for k, v in tags.items()} if isinstance(tags, Mapping) else {}
            fn.code = self._code(arn, fn, details.get("Code"))
        self.inventory.add(self.inventory.functions, fn)
        async_invokers = self._add_policy(arn, None, read.policy)
        if async_invokers is None:
            fn.unread.append("policy")
        # Always listed, although only a statement of a policy can open a URL to anyone: the URLs are how the
        # scan learns of most aliases, whose own policies it then reads.
        if not self._add_urls(arn, read.urls):
            fn.unread.append("urls")
        for qualifier in _qualifiers_named(read):
            self._saw(arn, qualifier)
        if async_invokers is None or async_invokers or fn.dead_letter_target is not None:
            self._read_invoke_configs(fn)
        if self.list_aliases and read.aliases is None:
            fn.unread.append("aliases")  # asked for every alias's policy: a failed listing leaves them unknown
        self.functions[arn] = fn
        return fn

    def _environment(self, arn: str, node: Any) -> dict[str, EnvVar]:
        if not isinstance(node, Mapping):
            return {}
        error = node.get("Error")
        if isinstance(error, Mapping):
            code = str(error.get("ErrorCode", ""))
            self._gap("access-denied" if "AccessDenied" in code else "aws-error",
                      f"the environment variables of {arn} could not be read: {code}: {error.get('Message', '')}",
                      arn)
        variables = node.get("Variables")
        if not isinstance(variables, Mapping):
            return {}
        where = self._where(arn)
        return {str(name): EnvVar(str(name), str(value), where) for name, value in variables.items()}

    def _vpc(self, arn: str, node: Any) -> VpcConfig | None:
        if not isinstance(node, Mapping) or not node.get("SubnetIds"):
            return None  # Lambda returns an empty VpcConfig for a function outside any VPC
        partition = arn.split(":")[1]  # the function's own partition: aws, aws-cn, aws-us-gov...
        prefix = f"arn:{partition}:ec2:{self.region}:{self.account}"
        subnets: list[Value] = [ResourceRef(f"{prefix}:subnet/{s}") for s in node["SubnetIds"] if isinstance(s, str)]
        groups: list[Value] = [ResourceRef(f"{prefix}:security-group/{g}", "GroupId")
                               for g in node.get("SecurityGroupIds") or [] if isinstance(g, str)]
        return VpcConfig(subnets, groups, self._where(arn))

    def _layer_ref(self, layer: Mapping[str, Any]) -> Value:
        arn = str(layer["Arn"])
        parts = arn.split(":")
        own = len(parts) == 8 and parts[3] == self.region and parts[4] == self.account
        return ResourceRef(arn) if own else arn

    def _code(self, arn: str, fn: Function, code: Any) -> CodeLocation:
        code = code if isinstance(code, Mapping) else {}
        if fn.package_type == "Image":
            return CodeLocation("image", _text(code.get("ImageUri")),
                                resolved_image=_text(code.get("ResolvedImageUri")))
        location = code.get("Location")
        if self.download and isinstance(location, str):
            path = self._fetch(arn, location, fn.code_sha256, f"the code of {arn}")
            if path is not None:
                return CodeLocation("local", path)
        return CodeLocation("live", arn)

    # ------------------------------------------------------------ resource policy
    def _policy(self, fn_arn: str, qualifier: str) -> set[str] | None:
        """Add the own policy of one alias or version of the function, read now unless it was read with the
        functions' policies (see :meth:`_add_policy`)."""
        if (fn_arn, qualifier) in self.qualified_read:
            response = self.qualified_read[(fn_arn, qualifier)]
        else:
            response = self.api.call("lambda", "GetPolicy", absent=_ABSENT, FunctionName=fn_arn,
                                     Qualifier=qualifier)
        return self._add_policy(fn_arn, qualifier, response)

    def _add_policy(self, fn_arn: str, qualifier: str | None, response: dict[str, Any] | None) -> set[str] | None:
        """Add the Permissions of the function's policy (or of one alias's or version's own policy); the
        asynchronous services they let invoke it (None: the policy could not be read)."""
        if response is None:
            return None
        kinds: set[str] = set()
        owner = f"{fn_arn}:{qualifier}" if qualifier else fn_arn
        for key, statement, principal, action in _grants(owner, response.get("Policy")):
            permission = Permission(key=key, id=key, type="AWS::Lambda::Permission", location=self._where(fn_arn))
            permission.function = ResourceRef(fn_arn, "Arn")
            permission.action = action
            permission.principal = principal
            conditions = statement.conditions
            permission.source_arn = _condition(conditions, "aws:sourcearn")
            permission.source_account = _condition(conditions, "aws:sourceaccount")
            permission.principal_org_id = _condition(conditions, "aws:principalorgid")
            permission.event_source_token = _condition(conditions, "lambda:eventsourcetoken")
            permission.function_url_auth_type = _condition(conditions, "lambda:functionurlauthtype")
            via_url = _condition(conditions, "lambda:invokedviafunctionurl")
            permission.invoked_via_function_url = isinstance(via_url, str) and via_url.lower() == "true"
            self.inventory.add(self.inventory.permissions, permission)
            kind = ASYNC_SERVICE_PRINCIPALS.get(principal) if isinstance(principal, str) else None
            if kind:
                kinds.add(kind)
                source = EventSource(key=f"{key}#source", id=key, type="AWS::Lambda::Permission",
                                     location=self._where(fn_arn))
                source.function, source.kind, source.invocation = permission.function, kind, "async"
                source.source = permission.source_arn
                self.inventory.add(self.inventory.event_sources, source)
        return kinds

    # ------------------------------------------------------------ function URLs, event-invoke configs
    def _add_urls(self, fn_arn: str, configs: list[Any] | None) -> bool:
        """Add the function's URLs; False when they could not be listed."""
        for config in configs or []:
            qualifier = _qualifier(str(config.get("FunctionArn", "")))
            key = f"{fn_arn}#url" + (f"/{qualifier}" if qualifier else "")
            url = FunctionUrl(key=key, id=key, type="AWS::Lambda::Url", location=self._where(fn_arn))
            url.function = ResourceRef(fn_arn, "Arn")
            url.auth_type = _text(config.get("AuthType")) or "AWS_IAM"
            url.qualifier = qualifier
            cors = config.get("Cors")
            if isinstance(cors, Mapping) and "AllowOrigins" in cors:
                url.cors_allow_origins = [str(origin) for origin in cors.get("AllowOrigins") or []]
            self.inventory.add(self.inventory.function_urls, url)
        return configs is not None

    def _read_invoke_configs(self, fn: Function) -> None:
        """Add the function's event-invoke configs once, or record why they are unknown."""
        if fn.key in self.invoke_configs_read:
            return
        self.invoke_configs_read.add(fn.key)
        if self.skip_invoke_configs:
            fn.skipped.append("event-invoke-configs")
        elif not self._event_invoke_configs(fn.key):
            fn.unread.append("event-invoke-configs")

    def _event_invoke_configs(self, fn_arn: str) -> bool:
        """Add the function's event-invoke configs; False when they could not be listed."""
        configs = self.api.pages("lambda", "ListFunctionEventInvokeConfigs", "FunctionEventInvokeConfigs",
                                 absent=_ABSENT, FunctionName=fn_arn)
        for item in configs or []:
            self._saw(fn_arn, _qualifier(str(item.get("FunctionArn", ""))))
            qualifier = _qualifier(str(item.get("FunctionArn", ""))) or "$LATEST"
            key = f"{fn_arn}#event-invoke/{qualifier}"
            config = EventInvokeConfig(key=key, id=key, type="AWS::Lambda::EventInvokeConfig",
                                       location=self._where(fn_arn))
            config.function = ResourceRef(fn_arn, "Arn")
            destinations = item.get("DestinationConfig")
            if isinstance(destinations, Mapping):
                for attr, name in (("on_failure", "OnFailure"), ("on_success", "OnSuccess")):
                    target = destinations.get(name)
                    if isinstance(target, Mapping) and isinstance(target.get("Destination"), str):
                        setattr(config, attr, _destination(target["Destination"]))
            retries = item.get("MaximumRetryAttempts")
            config.maximum_retry_attempts = retries if isinstance(retries, int) else None
            self.inventory.add(self.inventory.event_invoke_configs, config)
        return configs is not None

    # ------------------------------------------------------------ aliases and versions
    def _saw(self, fn_arn: str, qualifier: str | None) -> None:
        if qualifier:
            self.qualifiers.setdefault(fn_arn, set()).add(qualifier)

    def _qualified_policies(self) -> None:
        """Read the own resource policy of every alias and version seen for a collected function.

        An alias (or version) has a policy of its own: ``add-permission --qualifier live`` opens the alias, not the
        function, and the function's policy does not show it. ``GetPolicy`` has its own quota, so these reads cost
        nothing in Lambda's shared bucket; the aliases themselves come from the reads the scan makes anyway
        (URLs, event-invoke configs, event source mappings) and, with ``--alias-policies``, from ``ListAliases``.
        """
        for fn_arn in sorted(self.qualifiers):
            fn = self.functions.get(fn_arn)
            if fn is None:
                continue  # a mapping of a function not collected (deleted meanwhile, or listing failed)
            done: set[str] = set()
            while pending := sorted(self.qualifiers[fn_arn] - done):
                for qualifier in pending:
                    done.add(qualifier)
                    kinds = self._policy(fn_arn, qualifier)
                    if kinds is None and "policy" not in fn.unread:
                        fn.unread.append("policy")
                    # S3 or SNS invoking the alias: its failure destination is in the event-invoke configs,
                    # which the function's own policy gave no reason to read (they may name more qualifiers).
                    if kinds:
                        self._read_invoke_configs(fn)

    # ------------------------------------------------------------ event source mappings
    def _event_source_mappings(self) -> None:
        for item in self.api.pages("lambda", "ListEventSourceMappings", "EventSourceMappings") or []:
            uuid = str(item.get("UUID", ""))
            function = unqualified(str(item.get("FunctionArn", "")))
            self._saw(function, _qualifier(str(item.get("FunctionArn", ""))))
            partition = function.split(":")[1] if function.startswith("arn:") else "aws"
            arn = _text(item.get("EventSourceMappingArn")) or (
                f"arn:{partition}:lambda:{self.region}:{self.account}:event-source-mapping:{uuid}")
            source = EventSource(key=arn, id=arn, type="AWS::Lambda::EventSourceMapping", location=self._where(arn))
            source.function = ResourceRef(function, "Arn") if function else ""
            source.source = _text(item.get("EventSourceArn"))
            source.invocation = "poll"
            source.kind = "kafka" if item.get("SelfManagedEventSource") else _source_kind(source.source)
            self.inventory.add(self.inventory.event_sources, source)

    # ------------------------------------------------------------ code signing
    def _code_signing_configs(self) -> dict[str, str] | Unresolved:
        """Add the configs; function ARN -> the config it uses (Unresolved when that could not be read)."""
        configs = self.api.pages("lambda", "ListCodeSigningConfigs", "CodeSigningConfigs")
        if configs is None:
            return Unresolved("CodeSigningConfigArn", "the code-signing configs could not be listed")
        users: dict[str, str] = {}
        failed = False
        for item in configs:
            arn = _text(item.get("CodeSigningConfigArn"))
            if not arn:
                continue
            config = CodeSigningConfig(key=arn, id=arn, type="AWS::Lambda::CodeSigningConfig",
                                       location=self._where(arn))
            policies = item.get("CodeSigningPolicies")
            if isinstance(policies, Mapping) and isinstance(policies.get("UntrustedArtifactOnDeployment"), str):
                config.untrusted_artifact_on_deployment = policies["UntrustedArtifactOnDeployment"]
            publishers = item.get("AllowedPublishers")
            versions = publishers.get("SigningProfileVersionArns") if isinstance(publishers, Mapping) else None
            config.allowed_publishers = [ResourceRef(v, "ProfileVersionArn") for v in versions or []
                                         if isinstance(v, str)]
            self.inventory.add(self.inventory.code_signing_configs, config)
            functions = self.api.pages("lambda", "ListFunctionsByCodeSigningConfig", "FunctionArns",
                                       absent=_ABSENT, CodeSigningConfigArn=arn)
            if functions is None:
                failed = True
            for function in functions or []:
                users[unqualified(str(function))] = arn
        if failed:
            return Unresolved("CodeSigningConfigArn", "the functions of a code-signing config could not be listed")
        return users

    # ------------------------------------------------------------ layers
    def _layers(self) -> dict[str, LayerVersion]:
        """Add every layer version of the account in this region (and who each is shared with)."""
        found: dict[str, LayerVersion] = {}
        for item in self.api.pages("lambda", "ListLayers", "Layers") or []:
            name = _text(item.get("LayerName"))
            if not name:
                continue
            versions = self.api.pages("lambda", "ListLayerVersions", "LayerVersions", absent=_ABSENT,
                                      LayerName=name)
            for version in versions or []:
                arn = _text(version.get("LayerVersionArn"))
                if not arn or arn in found:
                    continue
                layer = LayerVersion(key=arn, id=arn, type="AWS::Lambda::LayerVersion", location=self._where(arn))
                layer.name = name
                layer.content = CodeLocation("live", arn)
                layer.compatible_runtimes = [str(r) for r in version.get("CompatibleRuntimes") or []]
                self.inventory.add(self.inventory.layers, layer)
                found[arn] = layer
                self._layer_policy(arn, name, version.get("Version"))
        return found

    def _layer_policy(self, arn: str, name: str, number: Any) -> None:
        if not isinstance(number, int):
            return
        response = self.api.call("lambda", "GetLayerVersionPolicy", absent=_ABSENT, LayerName=name,
                                 VersionNumber=number)
        for key, statement, principal, action in _grants(arn, (response or {}).get("Policy")):
            grant = LayerPermission(key=key, id=key, type="AWS::Lambda::LayerVersionPermission",
                                    location=self._where(arn))
            grant.layer = ResourceRef(arn)
            grant.action = action
            grant.principal = principal
            grant.organization_id = _condition(statement.conditions, "aws:principalorgid")
            self.inventory.add(self.inventory.layer_permissions, grant)

    def _layer_details(self, layer: LayerVersion) -> None:
        """CodeSha256 (and the content with --download-code) of a layer version a function uses."""
        parts = layer.key.split(":")
        response = self.api.call("lambda", "GetLayerVersion", absent=_ABSENT, LayerName=":".join(parts[:7]),
                                 VersionNumber=int(parts[7]))
        content = (response or {}).get("Content")
        if not isinstance(content, Mapping):
            return
        layer.code_sha256 = _text(content.get("CodeSha256"))
        location = content.get("Location")
        if self.download and isinstance(location, str):
            path = self._fetch(layer.key, location, layer.code_sha256, f"the content of layer {layer.key}")
            if path is not None:
                layer.content = CodeLocation("local", path)

    # ------------------------------------------------------------ --download-code
    def _fetch(self, arn: str, url: str, sha256: str | None, what: str) -> str | None:
        """Stream a presigned URL into the code directory; the path, or None after a gap."""
        if not self.code_dir:
            self._gap("download-failed", f"{what} was not downloaded: no code directory was given", arn)
            return None
        # Named after the ARN in the code directory (the scan's root for code): findings in the code name
        # `<account>/<region>/function/<name>.zip`, the same in every scan, not a temporary name.
        target = os.path.join(self.code_dir, download_name(arn))
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            download(url, target, self.max_bytes, sha256)
        except (DownloadError, OSError) as exc:
            self._gap("download-failed", f"{what} could not be downloaded: {exc}", arn)
            return None
        return target


# ---------------------------------------------------------------- downloads
def download_name(arn: str) -> str:
    """``arn:aws:lambda:us-east-1:123456789012:function:f`` -> ``123456789012/us-east-1/function/f.zip`` (layer
    versions: ``.../layer/<name>/<version>.zip``); anything unsafe in a path becomes ``_``."""
    parts = arn.split(":")
    names = [parts[4], parts[3], *parts[5:]] if len(parts) > 5 else [hashlib.sha256(arn.encode()).hexdigest()]
    safe = [re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "_" for name in names]
    return "/".join(safe) + ".zip"


class DownloadError(Exception):
    """A package that could not be fetched completely and intact."""


def _allowed_url(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK)


class _SafeRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        if not _allowed_url(newurl):
            raise DownloadError(f"redirected to a URL that is not HTTPS ({urllib.parse.urlsplit(newurl).scheme})")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def download(url: str, target: str, max_bytes: int, sha256: str | None = None,
             timeout: float = _DOWNLOAD_TIMEOUT) -> int:
    """Stream ``url`` to ``target`` (written only when complete); at most ``max_bytes``; checked against
    ``sha256`` (base64, as Lambda gives CodeSha256) when given. Returns the size; raises DownloadError."""
    if not _allowed_url(url):
        raise DownloadError(f"not an HTTPS URL ({urllib.parse.urlsplit(url).scheme or 'no scheme'})")
    opener = urllib.request.build_opener(_SafeRedirects)
    digest = hashlib.sha256()
    size = 0
    try:
        handle, partial = tempfile.mkstemp(prefix=".part-", dir=os.path.dirname(target) or ".")
    except OSError as exc:
        raise DownloadError(f"cannot write into {os.path.dirname(target)}: {exc}") from exc
    try:
        with os.fdopen(handle, "wb") as out, opener.open(url, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise DownloadError(f"{declared} bytes, more than the limit of {max_bytes}")
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise DownloadError(f"more than the limit of {max_bytes} bytes")
                digest.update(chunk)
                out.write(chunk)
        if sha256 and base64.b64encode(digest.digest()).decode() != sha256:
            raise DownloadError("the content does not match its CodeSha256")
        os.replace(partial, target)
    except DownloadError:
        _remove(partial)
        raise
    except (OSError, ValueError) as exc:  # URLError, HTTPError and timeouts are OSErrors
        _remove(partial)
        raise DownloadError(f"{type(exc).__name__}: {exc}") from exc
    return size


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


# ---------------------------------------------------------------- helpers
def unqualified(arn: str) -> str:
    """``arn:aws:lambda:r:a:function:name[:qualifier]`` -> the function ARN without its version or alias."""
    parts = arn.split(":")
    return ":".join(parts[:7]) if len(parts) > 7 and parts[5] == "function" else arn


def _qualifiers_named(read: _Reads) -> list[str]:
    """The aliases and versions a function's URL and alias (--alias-policies) listings name: each has a policy
    of its own to read."""
    named = [_qualifier(str(config.get("FunctionArn", ""))) for config in read.urls or []
             if isinstance(config, Mapping)]
    named += [_text(alias.get("Name")) for alias in read.aliases or [] if isinstance(alias, Mapping)]
    return sorted({name for name in named if name})


def _qualifier(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[7] if len(parts) > 7 and parts[5] == "function" and parts[7] != "$LATEST" else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _statements(policy: Any) -> Iterable[PolicyStatement]:
    """The statements of a resource policy (a JSON string, as Lambda returns it)."""
    import json

    from ...iam.policy import parse_document

    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return []
    if not isinstance(policy, Mapping):
        return []
    raw = [_normalized_statement(s) for s in _as_list(policy.get("Statement")) if isinstance(s, Mapping)]
    document = parse_document({**policy, "Statement": raw})
    return [] if isinstance(document, Unresolved) else document.statements


def _normalized_statement(statement: Mapping[str, Any]) -> dict[str, Any]:
    """A statement in IAM's canonical form: principals as a mapping, conditions under ``Condition``.

    Lambda returns ``{"AWS": "arn:aws:iam::<account>:root"}``; emulators also return the AddPermission
    arguments as given (a bare account id or service name, ``FunctionUrlAuthType`` / ``PrincipalOrgID`` /
    ``OrganizationId`` beside the statement): both read the same."""
    out = dict(statement)
    principal = out.get("Principal")
    if isinstance(principal, str) and principal != "*":
        out["Principal"] = {"Service" if principal.endswith((".amazonaws.com", ".amazonaws.com.cn")) else "AWS":
                            principal}
    condition = dict(out["Condition"]) if isinstance(out.get("Condition"), Mapping) else {}
    for name, key in (("FunctionUrlAuthType", "lambda:FunctionUrlAuthType"), ("PrincipalOrgID", "aws:PrincipalOrgID"),
                      ("OrganizationId", "aws:PrincipalOrgID"), ("EventSourceToken", "lambda:EventSourceToken")):
        if isinstance(out.get(name), str):
            equals = dict(condition.get("StringEquals") or {})
            equals.setdefault(key, out.pop(name))
            condition["StringEquals"] = equals
    if condition:
        out["Condition"] = condition
    return out


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _grants(owner: str, policy: Any) -> Iterator[tuple[str, PolicyStatement, Value, Value]]:
    """(key, statement, principal, action) of every Allow of a resource policy: one per principal and action, as
    ``AWS::Lambda::Permission`` has them, keyed ``<owner>#policy/<Sid>`` (later ones of a statement ``.../<n>``)."""
    for index, statement in enumerate(_statements(policy)):
        if statement.effect != "Allow":
            continue
        sid = statement.sid or str(index)
        grants = [(principal, action) for principal in _principal_values(statement)
                  for action in statement.actions or [""]]
        for number, (principal, action) in enumerate(grants):
            yield f"{owner}#policy/{sid}" + (f"/{number}" if number else ""), statement, principal, action


def _principal_values(statement: PolicyStatement) -> list[Value]:
    """Each principal as AWS::Lambda::Permission writes it: "*", a service, an account id or an IAM ARN."""
    out: list[Value] = []
    for kind, members in sorted(statement.principals.items()):
        for member in members:
            if not isinstance(member, str):
                out.append(member)
            elif kind == "*" or member == "*":
                out.append("*")
            elif kind == "AWS" and member.startswith("arn:") and member.endswith(":root") and "::" in member:
                out.append(member.split(":")[4])  # arn:aws:iam::<account>:root -> <account>
            else:
                out.append(member)
    return out or [""]


def _condition(conditions: Mapping[str, Any], key: str) -> str | None:
    """The value a condition key is pinned to, whatever the operator (keys compare case-insensitively)."""
    for operator in sorted(conditions):
        block = conditions[operator]
        if not isinstance(block, Mapping):
            continue
        for name, value in block.items():
            if str(name).lower() == key:
                values = _as_list(value)
                if values and isinstance(values[0], (str, bool)):
                    first = values[0]
                    return ("true" if first else "false") if isinstance(first, bool) else first
    return None


def _destination(arn: str) -> Value:
    """An asynchronous destination: a ResourceRef to a function (a collected type), else the ARN."""
    parts = arn.split(":")
    if len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function":
        return ResourceRef(unqualified(arn), "Arn")
    return arn


def _source_kind(arn: str | None) -> str:
    parts = (arn or "").split(":")
    service = parts[2] if len(parts) > 2 else ""
    return next((kind for name, kind in _SOURCE_KINDS if name == service), "other")
