"""Code integrity: is the code a function runs the code its owners meant to deploy?

Code signing (INT001-INT003), where layers and images come from (INT004-INT006) and
environment variables that make the runtime load extra code (INT007).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Final

from lambdasec.fast_dataclass import dataclass

from ..model.findings import Confidence, Severity
from ..model.inventory import CodeSigningConfig, EcrRepository, EnvVar, Function, Inventory
from ..model.values import ResourceRef, Unresolved, Value
from .base import Context, Outcome, Rule, not_found_where

CATEGORY = "code-integrity"

# Accounts AWS uses to publish public Lambda layers, each checked against the publisher's own
# documentation. Several products publish from other accounts in some regions (opt-in regions,
# GovCloud, China): those are left out rather than guessed; users add them with `trusted_accounts`.
_AWS_LAYER_ACCOUNTS: Mapping[str, str] = MappingProxyType({
    "aws": "AWS",  # "aws" in the account field of a layer ARN: a layer owned by AWS itself
    "017000801446": "Powertools for AWS Lambda (Python)",
    "094274105915": "Powertools for AWS Lambda (TypeScript)",
    "580247275435": "Amazon CloudWatch Lambda Insights",
    "177933569100": "AWS Parameters and Secrets Lambda Extension",  # us-east-1
    "590474943231": "AWS Parameters and Secrets Lambda Extension",  # us-east-2
    "027255383542": "AWS AppConfig Lambda extension",  # us-east-1
    "728743619870": "AWS AppConfig Lambda extension",  # us-east-2
    "901920570463": "AWS Distro for OpenTelemetry (ADOT)",
    "615299751070": "AWS Distro for OpenTelemetry (Application Signals)",
})


def aws_layer_publisher(account: str) -> str | None:
    """The AWS product that publishes layers from ``account``, e.g. "Powertools for AWS Lambda (Python)
    (AWS-published)", or None when the account is not a known AWS publisher."""
    name = _AWS_LAYER_ACCOUNTS.get(account)
    return f"{name} (AWS-published)" if name else None


# ---------------------------------------------------------------- ownership of layers and images
@dataclass(frozen=True)
class _Owner:
    """Which account a layer or an image belongs to, as far as the template says."""

    account: str | None = None  # 12-digit account id, "aws", or None when own/unknown
    own: bool = False  # the deploying account itself: ${AWS::AccountId} or a resource of the template
    unknown: str = ""  # why the account cannot be told, when it cannot

    def is_foreign(self, trusted: set[str]) -> bool:
        if self.account is None or self.account in trusted:
            return False
        return aws_layer_publisher(self.account) is None


_PLACEHOLDER = r"\$\{[^}]*\}"
_LAYER_ARN = re.compile(
    rf"arn:(?:[\w-]+|{_PLACEHOLDER}):lambda:(?:[\w-]*|{_PLACEHOLDER}):(?P<account>\d{{12}}|aws):layer:"
    rf"(?P<name>(?:[\w-]|{_PLACEHOLDER})+)(?::(?P<version>\d+|{_PLACEHOLDER}))?$"
)
_ECR_HOST = re.compile(
    rf"(?P<account>\d{{12}})\.dkr\.ecr(?:-fips)?\.(?:[a-z0-9-]+|{_PLACEHOLDER})\."
    rf"(?:amazonaws\.com(?:\.cn)?|{_PLACEHOLDER})/"
)
# ${Repo.RepositoryUri} (a GetAtt in a Sub) is the URI of a repository of the same template.
_TEMPLATE_REPOSITORY = re.compile(r"\$\{[A-Za-z0-9]+\.RepositoryUri\}")


def _partly_known(expression: str) -> bool:
    """True for the text of a Fn::Sub / Fn::Join whose unknown parts are ${...} placeholders; False
    for the rendering of another intrinsic (!Ref Param, !ImportValue, !If ...), which says nothing."""
    return not expression.startswith("!") and "${" in expression


def _layer_owner(layer: Value) -> _Owner | None:
    """The owner of a layer reference; None when the reference cannot be a layer version at all."""
    if isinstance(layer, ResourceRef):
        return _Owner(own=True)  # an AWS::Lambda::LayerVersion of the template
    text = layer.expression if isinstance(layer, Unresolved) else layer
    if isinstance(layer, Unresolved) and not _partly_known(text):
        return _Owner(unknown=f"layer {text} is not known statically")
    if "AWS::AccountId" in text:
        return _Owner(own=True)
    match = _LAYER_ARN.match(text)
    if match is None:
        return _Owner(unknown=f"layer {text} is not a layer version ARN")
    if match["version"] is None:
        return None  # CloudFormation rejects unversioned layer ARNs: nothing runs from it
    return _Owner(account=match["account"])


def _image_owner(uri: Value) -> _Owner:
    if isinstance(uri, ResourceRef):
        return _Owner(own=True)
    text = uri.expression if isinstance(uri, Unresolved) else uri
    if isinstance(uri, Unresolved) and not _partly_known(text):
        return _Owner(unknown=f"ImageUri {text} is not known statically")
    host = text.split("/", 1)[0]
    if "AWS::AccountId" in host or _TEMPLATE_REPOSITORY.match(text):
        return _Owner(own=True)
    match = _ECR_HOST.match(text)
    if match is None:
        return _Owner(unknown=f"ImageUri {text} does not name an Amazon ECR registry")
    return _Owner(account=match["account"])


def _trusted_accounts(inventory: Inventory, context: Context) -> set[str]:
    option = context.option("trusted_accounts", [])
    configured = [option] if isinstance(option, (str, int)) else list(option or [])
    return {str(account).strip() for account in configured} | inventory.own_accounts


# ---------------------------------------------------------------- image references
@dataclass(frozen=True)
class _ImageReference:
    kind: str  # "digest" | "tag" | "none" (no tag: Docker reads it as "latest") | "unknown"
    tag: str = ""


_TRAILING_TAG = re.compile(r":(?P<tag>\w[\w.-]{0,127})$")


def _image_reference(uri: str, resolved: bool) -> _ImageReference:
    """How an image URI selects the image; ``resolved`` is False for an Unresolved expression."""
    if not resolved and not _partly_known(uri):
        return _ImageReference("unknown")
    name = uri.rsplit("/", 1)[-1]
    if "@" in name:
        return _ImageReference("digest")
    tag = _TRAILING_TAG.search(name)
    if tag is not None:
        return _ImageReference("tag", tag["tag"])
    if not resolved and "${" in name:
        return _ImageReference("unknown")  # e.g. ${Repo.RepositoryUri}:${Tag}: a tag or a digest
    return _ImageReference("none") if ":" not in name else _ImageReference("unknown")


def image_tag(uri: str) -> tuple[str, str]:
    """How a concrete image URI (a live function's) selects its image: ("digest", ""), ("tag", the tag; "latest"
    when it names none, as Docker reads it) or ("unknown", "")."""
    reference = _image_reference(uri, resolved=True)
    if reference.kind == "none":
        return "tag", "latest"
    return reference.kind, reference.tag


def tag_is_mutable(repository: EcrRepository, tag: str) -> bool | None:
    """Whether ``tag`` can be moved to another image in the repository (None: not known).

    MUTABLE: every tag; IMMUTABLE: none. The ``*_WITH_EXCLUSION`` kinds list wildcard filters (``*`` matches any
    run of characters; tags are case-sensitive) naming the exceptions: in IMMUTABLE_WITH_EXCLUSION the tags they
    match stay mutable, in MUTABLE_WITH_EXCLUSION the tags they match are immutable. Without the filters (a snapshot
    of an older lambdasec, a filter type not understood), such a repository is not known."""
    kind = repository.tag_mutability
    if kind in ("MUTABLE", "IMMUTABLE"):
        return kind == "MUTABLE"
    patterns = repository.tag_mutability_exclusions
    if kind not in ("IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION") or patterns is None:
        return None
    excluded = any(re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), tag) for pattern in patterns)
    return excluded if kind == "IMMUTABLE_WITH_EXCLUSION" else not excluded


def _image_functions(inventory: Inventory) -> Iterator[Function]:
    return (fn for fn in inventory.functions if fn.package_type == "Image")


def _zip_functions(inventory: Inventory) -> Iterator[Function]:
    # Lambda does not support code signing for container images: their integrity is checked elsewhere.
    return (fn for fn in inventory.functions if fn.package_type != "Image")


def _image_uri(fn: Function) -> Value | None:
    return fn.code.value if fn.code is not None and fn.code.kind == "image" else None


# ---------------------------------------------------------------- checks
def _check_code_signing_missing(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for fn in _zip_functions(inventory):
        if fn.code_signing_config in (None, ""):
            yield CODE_SIGNING_MISSING.finding(
                inventory, fn,
                f"Function {fn.id} has no CodeSigningConfigArn: Lambda accepts any code package for it "
                "without checking who built it",
            )


def _check_code_signing_warn_only(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for config in inventory.code_signing_configs:
        yield from _warn_only_config(inventory, config)
    for fn in _zip_functions(inventory):
        ref = fn.code_signing_config
        if ref in (None, "") or isinstance(inventory.get(ref), CodeSigningConfig):
            continue
        shown = ref.expression if isinstance(ref, Unresolved) else str(ref)
        yield CODE_SIGNING_WARN_ONLY.not_evaluated(
            fn, f"code signing config {shown} {not_found_where(fn)}"
        )


def _warn_only_config(inventory: Inventory, config: CodeSigningConfig) -> Iterator[Outcome]:
    mode = config.untrusted_artifact_on_deployment
    if not isinstance(mode, str):
        yield CODE_SIGNING_WARN_ONLY.not_evaluated(
            config, f"UntrustedArtifactOnDeployment is not known statically ({mode})"
        )
        return
    if mode.strip().lower() != "warn":
        return
    prop = "CodeSigningPolicies.UntrustedArtifactOnDeployment"
    how = "is set to Warn" if prop in config.property_locations else "is not set, and AWS defaults it to Warn"
    yield CODE_SIGNING_WARN_ONLY.finding(
        inventory, config,
        f"Code signing config {config.id} only warns: UntrustedArtifactOnDeployment {how}, so unsigned "
        "or tampered code is still deployed",
        location=config.at(prop),
        evidence={"untrusted_artifact_on_deployment": "Warn"},
    )


def _check_code_signing_no_publishers(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for config in inventory.code_signing_configs:
        if not config.allowed_publishers:
            yield CODE_SIGNING_NO_PUBLISHERS.finding(
                inventory, config,
                f"Code signing config {config.id} lists no signing profile in "
                "AllowedPublishers.SigningProfileVersionArns",
                location=config.at("AllowedPublishers.SigningProfileVersionArns"),
            )


def _check_layer_foreign_account(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    trusted = _trusted_accounts(inventory, context)
    for fn in inventory.functions:
        for index, layer in enumerate(fn.layers):
            owner = _layer_owner(layer)
            if owner is None or owner.own:
                continue
            if owner.unknown:
                yield LAYER_FOREIGN_ACCOUNT.not_evaluated(fn, owner.unknown)
            elif owner.is_foreign(trusted):
                shown = layer.expression if isinstance(layer, Unresolved) else str(layer)
                yield LAYER_FOREIGN_ACCOUNT.finding(
                    inventory, fn,
                    f"Function {fn.id} runs layer {shown} published by account {owner.account}, which is "
                    "neither this account, a trusted account nor an AWS publisher",
                    location=fn.at(f"Layers.{index}"),
                    evidence={"layer": shown, "account": owner.account},
                )


_ECR_IMAGE: Final = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/([^:@]+)")


def ecr_repository_key(image: str) -> tuple[str, str, str, str] | None:
    """(repository ARN, account, region, name) of an ECR image URI; None for other registries."""
    match = _ECR_IMAGE.match(image)
    if match is None:
        return None
    account, region, china, name = match.groups()
    partition = "aws-cn" if china else "aws"
    return f"arn:{partition}:ecr:{region}:{account}:repository/{name}", account, region, name


def _repository_was_read(inventory: Inventory, image: str) -> bool:
    """A live scan read the image's ECR repository: INT016 then says whether the tag can really move (one finding
    for one movable tag, not two)."""
    found = ecr_repository_key(image)
    return found is not None and isinstance(inventory.get(found[0]), EcrRepository)


def _check_image_mutable_tag(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for fn in _image_functions(inventory):
        uri = _image_uri(fn)
        if not isinstance(uri, (str, Unresolved)) or uri == "":
            yield IMAGE_MUTABLE_TAG.not_evaluated(fn, "the ImageUri is missing or a bare repository URI")
            continue
        text = uri.expression if isinstance(uri, Unresolved) else uri
        reference = _image_reference(text, resolved=isinstance(uri, str))
        if reference.kind == "unknown":
            yield IMAGE_MUTABLE_TAG.not_evaluated(fn, f"the image reference is not known statically ({text})")
        elif reference.kind in ("tag", "none") and not _repository_was_read(inventory, text):
            what = f"tag '{reference.tag}'" if reference.kind == "tag" else "no tag (read as 'latest')"
            yield IMAGE_MUTABLE_TAG.finding(
                inventory, fn,
                f"Function {fn.id} selects its container image by {what} instead of an @sha256 digest",
                location=fn.at("Code.ImageUri"),
                evidence={"image": text, "tag": reference.tag or "latest"},
            )


def _check_image_foreign_registry(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    trusted = _trusted_accounts(inventory, context)
    for fn in _image_functions(inventory):
        uri = _image_uri(fn)
        if uri is None or uri == "":
            yield IMAGE_FOREIGN_REGISTRY.not_evaluated(fn, "the function has no ImageUri")
            continue
        owner = _image_owner(uri)
        if owner.unknown:
            yield IMAGE_FOREIGN_REGISTRY.not_evaluated(fn, owner.unknown)
        elif not owner.own and owner.account is not None and owner.account not in trusted:
            yield IMAGE_FOREIGN_REGISTRY.finding(
                inventory, fn,
                f"Function {fn.id} pulls its container image from the ECR registry of account "
                f"{owner.account}, which is neither this account nor a trusted account",
                location=fn.at("Code.ImageUri"),
                evidence={"account": owner.account},
            )


# Variables whose mere presence makes the runtime load code from outside the deployment package.
# PYTHONSTARTUP is left out on purpose: Python reads it only in interactive sessions, never in Lambda.
_CODE_LOADING_VARIABLES = frozenset({
    "AWS_LAMBDA_EXEC_WRAPPER",  # a script that starts the runtime in its place
    "LD_PRELOAD",  # shared objects loaded into every process
    "PYTHONPATH",  # modules searched before the function's own
    "PYTHONHOME",  # the whole standard library, site.py included, loaded from another place
    "PERL5OPT",  # switches such as -M that load modules at startup
    "DOTNET_STARTUP_HOOKS",  # assemblies run before Main
})
_JAVA_AGENT_FLAGS = ("-javaagent", "-agentlib", "-agentpath")
# Variables that only inject code when they carry one of these flags.
_CODE_LOADING_FLAGS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "NODE_OPTIONS": ("--require", "-r", "--import", "--loader", "--experimental-loader"),
    "JAVA_TOOL_OPTIONS": _JAVA_AGENT_FLAGS,
    "_JAVA_OPTIONS": _JAVA_AGENT_FLAGS,
    "JDK_JAVA_OPTIONS": _JAVA_AGENT_FLAGS,
    "RUBYOPT": ("-r",),
})


def _matching_flag(value: str, flags: Iterable[str]) -> str | None:
    """The first flag of ``flags`` used in a command-line style value (``--require x``, ``-rx``,
    ``--import=x``, ``-javaagent:x``)."""
    for token in value.split():
        token = token.strip("'\"")
        for flag in flags:
            rest = token[len(flag):] if token.startswith(flag) else None
            # A one-letter switch takes its argument glued on (-rfoo); a long one needs = or :.
            if rest is not None and (len(flag) == 2 or rest[:1] in ("", "=", ":")):
                return flag
    return None


def _code_injection(inventory: Inventory, fn: Function, variable: EnvVar) -> Outcome | None:
    name, value = variable.name, variable.value
    if name in _CODE_LOADING_VARIABLES:
        if value == "":
            return None
        return ENV_CODE_INJECTION.finding(
            inventory, fn,
            f"Function {fn.id} sets {name}, which makes the runtime load code from outside its "
            "deployment package",
            location=fn.at(f"Environment.Variables.{name}"),
            evidence={"variable": name},
        )
    flags = _CODE_LOADING_FLAGS.get(name)
    if flags is None:
        return None
    if not isinstance(value, str):
        return ENV_CODE_INJECTION.not_evaluated(fn, f"the value of {name} is not known statically")
    flag = _matching_flag(value, flags)
    if flag is None:
        return None
    return ENV_CODE_INJECTION.finding(
        inventory, fn,
        f"Function {fn.id} sets {name} with {flag}, which preloads code into the runtime",
        location=fn.at(f"Environment.Variables.{name}"),
        evidence={"variable": name, "flag": flag},
    )


def _check_env_code_injection(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for fn in inventory.functions:
        for variable in fn.environment.values():
            outcome = _code_injection(inventory, fn, variable)
            if outcome is not None:
                yield outcome


# ---------------------------------------------------------------- rules
_SIGNING_REFERENCES = (
    "https://docs.aws.amazon.com/lambda/latest/dg/configuration-codesigning.html",
    "https://docs.aws.amazon.com/lambda/latest/dg/configuration-codesigning-create.html",
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-lambda-codesigningconfig.html",
)

_SIGNING_CFN = (
    "SigningProfile:\n"
    "  Type: AWS::Signer::SigningProfile\n"
    "  Properties:\n"
    "    PlatformId: AWSLambda-SHA384-ECDSA\n"
    "CodeSigning:\n"
    "  Type: AWS::Lambda::CodeSigningConfig\n"
    "  Properties:\n"
    "    AllowedPublishers:\n"
    "      SigningProfileVersionArns:\n"
    "        - !GetAtt SigningProfile.ProfileVersionArn\n"
    "    CodeSigningPolicies:\n"
    "      UntrustedArtifactOnDeployment: Enforce\n"
)
_SIGNING_TERRAFORM = (
    'resource "aws_signer_signing_profile" "lambda" {\n'
    '  platform_id = "AWSLambda-SHA384-ECDSA"\n'
    "}\n"
    'resource "aws_lambda_code_signing_config" "enforce" {\n'
    "  allowed_publishers {\n"
    "    signing_profile_version_arns = [aws_signer_signing_profile.lambda.version_arn]\n"
    "  }\n"
    "  policies {\n"
    '    untrusted_artifact_on_deployment = "Enforce"\n'
    "  }\n"
    "}\n"
)

CODE_SIGNING_MISSING = Rule(
    code="INT001",
    slug="code-signing-missing",
    title="Function deploys code without signature verification",
    severity=Severity.MEDIUM,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "Without a code signing configuration, Lambda deploys whatever .zip package a caller uploads: "
        "anyone who obtains lambda:UpdateFunctionCode, or who can write to the artifact bucket or the "
        "build pipeline, can replace the function's code with their own and inherit its role and "
        "triggers. Code signing makes Lambda check that every package was signed by an AWS Signer "
        "profile you trust before it is deployed. Container image functions are not covered: Lambda "
        "does not support code signing for them."
    ),
    remediation=(
        "Create an AWS Signer signing profile for the AWSLambda-SHA384-ECDSA platform, sign the "
        "deployment packages in your pipeline (sam deploy --signing-profiles, or a Signer signing job), "
        "and attach a code signing configuration that allows that profile and enforces it "
        "(UntrustedArtifactOnDeployment: Enforce) through the function's CodeSigningConfigArn. Inline "
        "code (ZipFile / InlineCode) cannot be signed: move it to a signed package."
    ),
    check=_check_code_signing_missing,
    needs=("code-signing",),
    snippets={
        "cloudformation": (
            _SIGNING_CFN
            + "Function:\n"
            "  Type: AWS::Lambda::Function\n"
            "  Properties:\n"
            "    CodeSigningConfigArn: !GetAtt CodeSigning.CodeSigningConfigArn\n"
        ),
        "sam": (
            "Function:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    CodeSigningConfigArn: !GetAtt CodeSigning.CodeSigningConfigArn\n"
            "# deploy with: sam deploy --signing-profiles Function=<SigningProfileName>\n"
        ),
        "terraform": (
            _SIGNING_TERRAFORM
            + 'resource "aws_lambda_function" "app" {\n'
            "  # ...\n"
            "  code_signing_config_arn = aws_lambda_code_signing_config.enforce.arn\n"
            "}\n"
        ),
    },
    references=_SIGNING_REFERENCES,
    anchors={"checkov": ("CKV_AWS_272",), "prowler": (), "kics": (), "securityhub": ()},
)

CODE_SIGNING_WARN_ONLY = Rule(
    code="INT002",
    slug="code-signing-warn-only",
    title="Code signing configuration only warns on untrusted code",
    severity=Severity.MEDIUM,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "With UntrustedArtifactOnDeployment set to Warn, which is also the AWS default when the "
        "policy is not set, Lambda deploys unsigned, expired or tampered packages anyway and only emits "
        "a CloudWatch metric and a CloudTrail entry. The function looks protected by code signing while "
        "anyone able to update its code can still run their own."
    ),
    remediation=(
        "Set CodeSigningPolicies.UntrustedArtifactOnDeployment to Enforce once every function using the "
        "configuration deploys signed packages, so that Lambda rejects any package that is not signed by "
        "an allowed profile. Watch the Warn-mode CloudTrail events first to find the functions that "
        "would break."
    ),
    check=_check_code_signing_warn_only,
    needs=("code-signing",),
    snippets={
        "cloudformation": (
            "CodeSigning:\n"
            "  Type: AWS::Lambda::CodeSigningConfig\n"
            "  Properties:\n"
            "    AllowedPublishers:\n"
            "      SigningProfileVersionArns:\n"
            "        - !GetAtt SigningProfile.ProfileVersionArn\n"
            "    CodeSigningPolicies:\n"
            "      UntrustedArtifactOnDeployment: Enforce\n"
        ),
        "sam": (
            "CodeSigning:\n"
            "  Type: AWS::Lambda::CodeSigningConfig\n"
            "  Properties:\n"
            "    AllowedPublishers:\n"
            "      SigningProfileVersionArns:\n"
            "        - !GetAtt SigningProfile.ProfileVersionArn\n"
            "    CodeSigningPolicies:\n"
            "      UntrustedArtifactOnDeployment: Enforce\n"
        ),
        "terraform": _SIGNING_TERRAFORM,
    },
    references=_SIGNING_REFERENCES,
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)

CODE_SIGNING_NO_PUBLISHERS = Rule(
    code="INT003",
    slug="code-signing-no-publishers",
    title="Code signing configuration allows no signing profile",
    severity=Severity.MEDIUM,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "A code signing configuration trusts exactly the signing profiles listed in AllowedPublishers. "
        "An empty list usually comes from a list parameter left empty or a condition that removed every "
        "profile; AWS requires at least one profile, so the deployment fails and the usual quick fix is "
        "to detach code signing altogether, leaving the functions without any signature check."
    ),
    remediation=(
        "List the signing profile version ARNs of your build pipeline in "
        "AllowedPublishers.SigningProfileVersionArns (for example !GetAtt SigningProfile.ProfileVersionArn) "
        "and make sure every environment passes at least one."
    ),
    check=_check_code_signing_no_publishers,
    needs=("code-signing",),
    snippets={
        "cloudformation": _SIGNING_CFN,
        "sam": _SIGNING_CFN,
        "terraform": _SIGNING_TERRAFORM,
    },
    references=_SIGNING_REFERENCES,
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)

LAYER_FOREIGN_ACCOUNT = Rule(
    code="INT004",
    slug="layer-foreign-account",
    title="Function runs a layer published by another account",
    severity=Severity.MEDIUM,
    confidence=Confidence.MEDIUM,
    category=CATEGORY,
    rationale=(
        "A layer's code runs inside the function with the function's role, environment variables and "
        "event data, and an extension layer even runs as its own process for the whole lifetime of the "
        "execution environment. A layer published by an account you do not control is code you neither "
        "build nor review: whoever controls that account decides what a new version contains and can "
        "delete the version you pinned. Layers published by AWS and by accounts listed in the "
        "trusted_accounts option are not reported."
    ),
    remediation=(
        "Copy the layers you rely on into a layer version of your own account (after reviewing them), or "
        "bundle the dependency into the deployment package, and reference that version. If the "
        "publisher is a vendor you trust, add its account id to the trusted_accounts option so the "
        "decision is recorded."
    ),
    check=_check_layer_foreign_account,
    snippets={
        "cloudformation": (
            "VendorSdkLayer:  # a reviewed copy, owned by this account\n"
            "  Type: AWS::Lambda::LayerVersion\n"
            "  Properties:\n"
            "    Content: { S3Bucket: my-artifacts, S3Key: layers/vendor-sdk-4.zip }\n"
            "Function:\n"
            "  Type: AWS::Lambda::Function\n"
            "  Properties:\n"
            "    Layers:\n"
            "      - !Ref VendorSdkLayer\n"
        ),
        "sam": (
            "Function:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    Layers:\n"
            "      - !Sub arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:layer:vendor-sdk:4\n"
        ),
        "terraform": (
            'resource "aws_lambda_function" "app" {\n'
            "  # ...\n"
            "  layers = [aws_lambda_layer_version.vendor_sdk.arn]\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/chapter-layers.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/adding-layers.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/lambda-extensions.html",
    ),
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)

_DIGEST = "sha256:5f2b0c3a9d8e7f6a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f607182"

IMAGE_MUTABLE_TAG = Rule(
    code="INT005",
    slug="image-mutable-tag",
    title="Container image selected by a mutable tag",
    severity=Severity.MEDIUM,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "Lambda resolves an image tag such as :latest or :v1 to a digest when the function is created "
        "or updated. A tag can be moved to another image at any time, so the same template deploys "
        "whatever the tag points to on the day of the next deployment: anyone who can push to the "
        "repository decides what the function will run, and a rollback does not bring the previous "
        "code back. Container images are not covered by Lambda code signing, so the digest is the only "
        "thing that pins the code. Where a live scan read the image's ECR repository, INT016 judges the tag "
        "instead, from the repository's tag mutability: it reports the tags that can really be moved there."
    ),
    remediation=(
        "Reference the image by digest (repository@sha256:...), as produced by the build that pushed it, "
        "and set the ECR repository's ImageTagMutability to IMMUTABLE so that tags cannot be moved "
        "either."
    ),
    check=_check_image_mutable_tag,
    snippets={
        "cloudformation": (
            "Function:\n"
            "  Type: AWS::Lambda::Function\n"
            "  Properties:\n"
            "    PackageType: Image\n"
            "    Code:\n"
            f"      ImageUri: !Sub ${{OrdersRepository.RepositoryUri}}@{_DIGEST}\n"
            "OrdersRepository:\n"
            "  Type: AWS::ECR::Repository\n"
            "  Properties:\n"
            "    ImageTagMutability: IMMUTABLE\n"
        ),
        "sam": (
            "Function:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    PackageType: Image\n"
            f"    ImageUri: !Sub ${{OrdersRepository.RepositoryUri}}@{_DIGEST}\n"
        ),
        "terraform": (
            'resource "aws_lambda_function" "app" {\n'
            '  package_type = "Image"\n'
            f'  image_uri    = "${{aws_ecr_repository.orders.repository_url}}@{_DIGEST}"\n'
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/images-create.html",
        "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-lambda-function-code.html",
    ),
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)

IMAGE_FOREIGN_REGISTRY = Rule(
    code="INT006",
    slug="image-foreign-registry",
    title="Container image pulled from another account's registry",
    severity=Severity.MEDIUM,
    confidence=Confidence.MEDIUM,
    category=CATEGORY,
    rationale=(
        "A function image stored in the ECR registry of another account is code whose repository "
        "permissions, tag mutability, scanning and lifecycle are controlled by that account. Whoever "
        "administers it can push a new image under the same tag, or delete the image so that the "
        "function can no longer be updated or scaled into new environments."
    ),
    remediation=(
        "Replicate the image into an ECR repository of the deploying account (ECR replication or a "
        "pipeline step), scan it there, and reference that copy by digest. If the other account is one "
        "of your own, add it to the trusted_accounts option."
    ),
    check=_check_image_foreign_registry,
    snippets={
        "cloudformation": (
            "Function:\n"
            "  Type: AWS::Lambda::Function\n"
            "  Properties:\n"
            "    PackageType: Image\n"
            "    Code:\n"
            "      ImageUri: !Sub\n"
            f"        ${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.amazonaws.com/orders@{_DIGEST}\n"
        ),
        "sam": (
            "Function:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    PackageType: Image\n"
            "    ImageUri: !Sub\n"
            f"      ${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.amazonaws.com/orders@{_DIGEST}\n"
        ),
        "terraform": (
            'resource "aws_lambda_function" "app" {\n'
            '  package_type = "Image"\n'
            f'  image_uri    = "${{aws_ecr_repository.orders.repository_url}}@{_DIGEST}"\n'
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/images-create.html",
        "https://docs.aws.amazon.com/AmazonECR/latest/userguide/replication.html",
    ),
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)

ENV_CODE_INJECTION = Rule(
    code="INT007",
    slug="env-code-injection",
    title="Environment variable makes the runtime load extra code",
    severity=Severity.HIGH,
    confidence=Confidence.MEDIUM,
    category=CATEGORY,
    rationale=(
        "Variables such as AWS_LAMBDA_EXEC_WRAPPER, LD_PRELOAD, NODE_OPTIONS=--require, "
        "JAVA_TOOL_OPTIONS=-javaagent or DOTNET_STARTUP_HOOKS make the runtime run code before the "
        "handler, with the function's role and event data. That code is outside the signed deployment "
        "package, so code signing does not check it, and anyone allowed lambda:UpdateFunctionConfiguration "
        "can change it without touching the code. Legitimate tools (tracing agents, wrappers shipped in "
        "layers) use these variables too, so each use should be deliberate and reviewed."
    ),
    remediation=(
        "Remove the variable, or make sure it points only at code you ship and review: a file of the "
        "signed deployment package or of a layer of your own account. Initialise instrumentation from "
        "the handler code where possible, and restrict lambda:UpdateFunctionConfiguration to the "
        "deployment pipeline."
    ),
    check=_check_env_code_injection,
    snippets={
        "cloudformation": (
            "Function:\n"
            "  Type: AWS::Lambda::Function\n"
            "  Properties:\n"
            "    Environment:\n"
            "      Variables:\n"
            "        # no AWS_LAMBDA_EXEC_WRAPPER, LD_PRELOAD, NODE_OPTIONS=--require...: bundle the code\n"
            "        NODE_OPTIONS: --enable-source-maps\n"
        ),
        "sam": (
            "Globals:\n"
            "  Function:\n"
            "    Environment:\n"
            "      Variables:\n"
            "        NODE_OPTIONS: --enable-source-maps  # no --require / --import of outside code\n"
        ),
        "terraform": (
            'resource "aws_lambda_function" "app" {\n'
            "  environment {\n"
            "    variables = {\n"
            '      NODE_OPTIONS = "--enable-source-maps" # no --require / --import\n'
            "    }\n"
            "  }\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/runtimes-modify.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html",
    ),
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)


RULES: tuple[Rule, ...] = (
    CODE_SIGNING_MISSING,
    CODE_SIGNING_WARN_ONLY,
    CODE_SIGNING_NO_PUBLISHERS,
    LAYER_FOREIGN_ACCOUNT,
    IMAGE_MUTABLE_TAG,
    IMAGE_FOREIGN_REGISTRY,
    ENV_CODE_INJECTION,
)
