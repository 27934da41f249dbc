"""Code integrity rules (INT001-INT007) on hand-built inventories: edge cases and unresolved values."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from lambdasec.model.findings import Finding, NotEvaluated
from lambdasec.model.inventory import CodeLocation, CodeSigningConfig, EcrRepository, EnvVar, Function, Inventory
from lambdasec.model.location import Location
from lambdasec.model.values import ResourceRef, Unresolved, Value
from lambdasec.rules.base import Context, Outcome, Rule
from lambdasec.rules.code_integrity import (
    CODE_SIGNING_MISSING,
    CODE_SIGNING_NO_PUBLISHERS,
    CODE_SIGNING_WARN_ONLY,
    ENV_CODE_INJECTION,
    IMAGE_FOREIGN_REGISTRY,
    IMAGE_MUTABLE_TAG,
    LAYER_FOREIGN_ACCOUNT,
    RULES,
    aws_layer_publisher,
    image_tag,
    tag_is_mutable,
)

NOW = dt.datetime(2026, 11, 29, tzinfo=dt.timezone.utc)
FILE = "template.yaml"
DIGEST = "sha256:5f2b0c3a9d8e7f6a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f607182"
SUB = "Fn::Sub with parts known only at deploy time"
CSC_ARN = "arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0123456789abcdef0"


# ---------------------------------------------------------------- builders
def _key(logical_id: str) -> str:
    return f"{FILE}#{logical_id}"


def _function(logical_id: str, **fields: Any) -> Function:
    return Function(key=_key(logical_id), id=logical_id, type="AWS::Lambda::Function",
                    location=Location(FILE, 10), **fields)


def _image_function(logical_id: str, uri: Value | None) -> Function:
    return _function(logical_id, package_type="Image", code=CodeLocation("image", uri))


def _config(logical_id: str, mode: Value = "Warn", publishers: list[Value] | None = None,
            explicit: bool = False) -> CodeSigningConfig:
    config = CodeSigningConfig(
        key=_key(logical_id), id=logical_id, type="AWS::Lambda::CodeSigningConfig",
        location=Location(FILE, 3), untrusted_artifact_on_deployment=mode,
        allowed_publishers=["arn:aws:signer:us-east-1:123456789012:/signing-profiles/p/abc"]
        if publishers is None else publishers,
    )
    if explicit:
        config.property_locations["CodeSigningPolicies.UntrustedArtifactOnDeployment"] = Location(FILE, 7)
    return config


def _inventory(*objects: Function | CodeSigningConfig, own: set[str] | None = None) -> Inventory:
    inventory = Inventory(own_accounts=set(own or ()))
    for obj in objects:
        if isinstance(obj, Function):
            inventory.add(inventory.functions, obj)
        else:
            inventory.add(inventory.code_signing_configs, obj)
    return inventory


def _run(rule: Rule, inventory: Inventory, **options: Any) -> list[Outcome]:
    return rule.run(inventory, Context(now=NOW, options=options))


def _findings(outcomes: list[Outcome]) -> list[Finding]:
    return [o for o in outcomes if isinstance(o, Finding)]


def _flagged(outcomes: list[Outcome]) -> set[str]:
    return {o.resource_id for o in _findings(outcomes)}


def _not_evaluated(outcomes: list[Outcome]) -> set[str]:
    return {o.resource_id for o in outcomes if isinstance(o, NotEvaluated)}


# ---------------------------------------------------------------- metadata
def test_rules_metadata() -> None:
    assert [r.code for r in RULES] == [f"INT00{i}" for i in range(1, 8)]
    assert [r.slug for r in RULES] == [
        "code-signing-missing", "code-signing-warn-only", "code-signing-no-publishers",
        "layer-foreign-account", "image-mutable-tag", "image-foreign-registry", "env-code-injection",
    ]
    for rule in RULES:
        assert rule.category == "code-integrity"
        assert set(rule.snippets) == {"cloudformation", "sam", "terraform"}
        assert set(rule.anchors) == {"checkov", "prowler", "kics", "securityhub"}
        assert rule.references and all(u.startswith("https://docs.aws.amazon.com/") for u in rule.references)
    assert CODE_SIGNING_MISSING.anchors["checkov"] == ("CKV_AWS_272",)


# ---------------------------------------------------------------- INT001
def test_int001_flags_zip_functions_without_config_and_skips_images() -> None:
    inventory = _inventory(
        _function("Unsigned"),
        _function("EmptyArn", code_signing_config=""),
        _function("Signed", code_signing_config=ResourceRef(_key("Csc"), "CodeSigningConfigArn")),
        _function("SignedElsewhere", code_signing_config=Unresolved("!ImportValue SharedCsc")),
        _function("LiteralArn", code_signing_config=CSC_ARN),
        _image_function("Image", f"123456789012.dkr.ecr.us-east-1.amazonaws.com/app@{DIGEST}"),
    )
    outcomes = _run(CODE_SIGNING_MISSING, inventory)
    assert _flagged(outcomes) == {"Unsigned", "EmptyArn"}
    assert _not_evaluated(outcomes) == set()


# ---------------------------------------------------------------- INT002
def test_int002_flags_warn_and_default_configs() -> None:
    inventory = _inventory(
        _config("ExplicitWarn", explicit=True),
        _config("DefaultWarn"),
        _config("LowerWarn", mode="warn", explicit=True),
        _config("Enforced", mode="Enforce", explicit=True),
        _function("Fn", code_signing_config=ResourceRef(_key("ExplicitWarn"), "CodeSigningConfigArn")),
    )
    outcomes = _run(CODE_SIGNING_WARN_ONLY, inventory)
    assert _flagged(outcomes) == {"ExplicitWarn", "DefaultWarn", "LowerWarn"}
    by_id = {f.resource_id: f for f in _findings(outcomes)}
    assert "is set to Warn" in by_id["ExplicitWarn"].message
    assert by_id["ExplicitWarn"].location == Location(FILE, 7)
    assert "not set, and AWS defaults it to Warn" in by_id["DefaultWarn"].message
    assert by_id["ExplicitWarn"].functions == ["Fn"]
    assert by_id["DefaultWarn"].functions == []


def test_int002_unknown_mode_and_unknown_config_are_not_evaluated() -> None:
    inventory = _inventory(
        _config("ParamMode", mode=Unresolved("!Ref SigningMode")),
        _function("ByRef", code_signing_config=ResourceRef(_key("ParamMode"))),
        _function("ByLiteral", code_signing_config=CSC_ARN),
        _function("ByImport", code_signing_config=Unresolved("!ImportValue SharedCsc")),
        _function("Unsigned"),
        _function("Image", package_type="Image", code_signing_config=CSC_ARN),
    )
    outcomes = _run(CODE_SIGNING_WARN_ONLY, inventory)
    assert _flagged(outcomes) == set()
    assert _not_evaluated(outcomes) == {"ParamMode", "ByLiteral", "ByImport"}


# ---------------------------------------------------------------- INT003
def test_int003_flags_only_empty_publisher_lists() -> None:
    inventory = _inventory(
        _config("Empty", mode="Enforce", publishers=[]),
        _config("FromParameter", mode="Enforce", publishers=[Unresolved("!Ref ProfileArns")]),
        _config("One", mode="Enforce"),
    )
    outcomes = _run(CODE_SIGNING_NO_PUBLISHERS, inventory)
    assert _flagged(outcomes) == {"Empty"}
    assert _not_evaluated(outcomes) == set()


# ---------------------------------------------------------------- INT004
FOREIGN_LAYER = "arn:aws:lambda:us-east-1:111122223333:layer:vendor-sdk:4"


@pytest.mark.parametrize(
    ("layer", "options", "own", "expected"),
    [
        (FOREIGN_LAYER, {}, set(), "finding"),
        ("arn:aws-cn:lambda:cn-north-1:111122223333:layer:vendor-sdk:4", {}, set(), "finding"),
        (FOREIGN_LAYER, {}, {"111122223333"}, "ok"),
        (FOREIGN_LAYER, {"trusted_accounts": ["111122223333"]}, set(), "ok"),
        (FOREIGN_LAYER, {"trusted_accounts": "111122223333"}, set(), "ok"),
        (FOREIGN_LAYER, {"trusted_accounts": ["444455556666"]}, set(), "finding"),
        ("arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:7",
         {}, set(), "ok"),
        ("arn:aws:lambda:eu-west-1:094274105915:layer:AWSLambdaPowertoolsTypeScriptV2:20", {}, set(), "ok"),
        ("arn:aws:lambda:us-east-1:580247275435:layer:LambdaInsightsExtension:53", {}, set(), "ok"),
        ("arn:aws:lambda:us-east-1:aws:layer:SomeAwsLayer:1", {}, set(), "ok"),
        (ResourceRef(_key("SharedLayer")), {}, set(), "ok"),
        (Unresolved("arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:layer:shared:3", SUB), {}, set(), "ok"),
        (Unresolved("arn:aws:lambda:${!Ref AWS::Region}:${!Ref AWS::AccountId}:layer:shared:3", SUB),
         {}, set(), "ok"),
        (Unresolved("arn:aws:lambda:${AWS::Region}:017000801446:layer:AWSLambdaPowertoolsPythonV3:7", SUB),
         {}, set(), "ok"),
        (Unresolved("arn:${AWS::Partition}:lambda:${AWS::Region}:111122223333:layer:vendor-sdk:4", SUB),
         {}, set(), "finding"),
        (Unresolved("arn:aws:lambda:${AWS::Region}:${LayerAccount}:layer:vendor-sdk:4", SUB),
         {}, set(), "not-evaluated"),
        (Unresolved("!Ref VendorLayerArn", "parameter without a default value"), {}, set(), "not-evaluated"),
        (Unresolved(f'!If ["UseShared", "${{AWS::AccountId}}", "{FOREIGN_LAYER}"]'),
         {}, set(), "not-evaluated"),
        ("{{resolve:ssm:/layers/vendor-sdk}}", {}, set(), "not-evaluated"),
        ("arn:aws:lambda:us-east-1:111122223333:layer:vendor-sdk", {}, set(), "ok"),  # unversioned: invalid
    ],
)
def test_int004_layer_owner(layer: Value, options: dict[str, Any], own: set[str], expected: str) -> None:
    inventory = _inventory(_function("Fn", layers=[layer]), own=own)
    outcomes = _run(LAYER_FOREIGN_ACCOUNT, inventory, **options)
    assert _flagged(outcomes) == ({"Fn"} if expected == "finding" else set())
    assert _not_evaluated(outcomes) == ({"Fn"} if expected == "not-evaluated" else set())


def test_int004_one_finding_per_foreign_layer_located_on_the_layer() -> None:
    fn = _function("Fn", layers=[
        FOREIGN_LAYER,
        "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:7",
        "arn:aws:lambda:us-east-1:444455556666:layer:metrics:12",
    ])
    fn.property_locations["Layers"] = Location(FILE, 20)
    fn.property_locations["Layers.2"] = Location(FILE, 23)
    findings = _findings(_run(LAYER_FOREIGN_ACCOUNT, _inventory(fn)))
    assert [(f.evidence["account"], f.location.line) for f in findings] == [
        ("111122223333", 20), ("444455556666", 23),
    ]
    assert FOREIGN_LAYER in findings[0].message and "111122223333" in findings[0].message


def test_aws_layer_publisher_names_the_product() -> None:
    assert aws_layer_publisher("017000801446") == "Powertools for AWS Lambda (Python) (AWS-published)"
    assert aws_layer_publisher("aws") == "AWS (AWS-published)"
    assert aws_layer_publisher("111122223333") is None


# ---------------------------------------------------------------- INT005
@pytest.mark.parametrize(
    ("uri", "expected", "tag"),
    [
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:latest", "finding", "latest"),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/orders:v1", "finding", "v1"),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/orders", "finding", "latest"),
        ("registry.example.com:5000/orders", "finding", "latest"),
        (f"123456789012.dkr.ecr.us-east-1.amazonaws.com/orders@{DIGEST}", "ok", ""),
        (f"123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:v1@{DIGEST}", "ok", ""),
        (Unresolved("${OrdersRepository.RepositoryUri}:v1.4.2", SUB), "finding", "v1.4.2"),
        (Unresolved("${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/orders", SUB),
         "finding", "latest"),
        (Unresolved(f"${{OrdersRepository.RepositoryUri}}@{DIGEST}", SUB), "ok", ""),
        (Unresolved("${OrdersRepository.RepositoryUri}@${ImageDigest}", SUB), "ok", ""),
        (Unresolved("${OrdersRepository.RepositoryUri}:${ImageTag}", SUB), "not-evaluated", ""),
        (Unresolved("${ImageUri}", SUB), "not-evaluated", ""),
        (Unresolved("!Ref ImageUri", "parameter without a default value"), "not-evaluated", ""),
        (ResourceRef(_key("OrdersRepository"), "RepositoryUri"), "not-evaluated", ""),
        (None, "not-evaluated", ""),
    ],
)
def test_int005_image_reference(uri: Value | None, expected: str, tag: str) -> None:
    outcomes = _run(IMAGE_MUTABLE_TAG, _inventory(_image_function("Fn", uri)))
    assert _flagged(outcomes) == ({"Fn"} if expected == "finding" else set())
    assert _not_evaluated(outcomes) == ({"Fn"} if expected == "not-evaluated" else set())
    if expected == "finding":
        assert _findings(outcomes)[0].evidence["tag"] == tag


def test_int005_ignores_zip_functions() -> None:
    assert _run(IMAGE_MUTABLE_TAG, _inventory(_function("Zip"))) == []


def _repository(mutability: str, exclusions: list[str] | None = None) -> EcrRepository:
    arn = "arn:aws:ecr:us-east-1:123456789012:repository/orders"
    return EcrRepository(key=arn, id=arn, type="AWS::ECR::Repository", location=Location(arn=arn), name="orders",
                         tag_mutability=mutability, tag_mutability_exclusions=exclusions)


@pytest.mark.parametrize(
    ("mutability", "exclusions", "tag", "expected"),
    [
        ("MUTABLE", None, "v1", True),
        ("IMMUTABLE", None, "v1", False),
        # IMMUTABLE_WITH_EXCLUSION: the tags the filters match stay movable, the others are fixed
        ("IMMUTABLE_WITH_EXCLUSION", ["dev-*", "latest"], "dev-42", True),
        ("IMMUTABLE_WITH_EXCLUSION", ["dev-*", "latest"], "latest", True),
        ("IMMUTABLE_WITH_EXCLUSION", ["dev-*", "latest"], "v1", False),
        ("IMMUTABLE_WITH_EXCLUSION", ["dev-*"], "Dev-42", False),  # tags are case-sensitive
        ("IMMUTABLE_WITH_EXCLUSION", ["*-rc*"], "v2-rc1", True),  # * anywhere, any run of characters
        ("IMMUTABLE_WITH_EXCLUSION", ["v1.*"], "v1x2", False),  # "." is a character, not a pattern
        # MUTABLE_WITH_EXCLUSION: only the tags the filters match are fixed
        ("MUTABLE_WITH_EXCLUSION", ["v*"], "v3", False),
        ("MUTABLE_WITH_EXCLUSION", ["v*"], "latest", True),
        # the filters not known, or a kind lambdasec does not know: nothing guessed
        ("IMMUTABLE_WITH_EXCLUSION", None, "v1", None),
        ("MUTABLE_WITH_EXCLUSION", None, "v1", None),
        ("SOMETHING_NEW", [], "v1", None),
    ],
)
def test_tag_mutability_with_exclusion_filters(mutability: str, exclusions: list[str] | None, tag: str,
                                               expected: bool | None) -> None:
    assert tag_is_mutable(_repository(mutability, exclusions), tag) is expected


def test_image_tag_of_a_concrete_uri() -> None:
    base = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/orders"
    assert [image_tag(f"{base}:v1.2"), image_tag(base), image_tag(f"{base}@{DIGEST}"),
            image_tag(f"{base}:v1@{DIGEST}")] == [("tag", "v1.2"), ("tag", "latest"), ("digest", ""), ("digest", "")]


def test_int005_leaves_a_tag_of_a_repository_the_live_scan_read_to_int016() -> None:
    """A live scan read the repository: INT016 says, from its tag mutability, whether the tag can move (one
    finding for one movable tag); a repository not read is INT005's, whatever it is."""
    uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders"
    for mutability, exclusions in (("IMMUTABLE", None), ("MUTABLE", None), ("IMMUTABLE_WITH_EXCLUSION", None)):
        inventory = _inventory(_image_function("Fn", f"{uri}:v1"))
        inventory.add(inventory.ecr_repositories, _repository(mutability, exclusions))
        assert _run(IMAGE_MUTABLE_TAG, inventory) == [], mutability
    other = _inventory(_image_function("Fn", "123456789012.dkr.ecr.us-east-1.amazonaws.com/billing:v1"))
    other.add(other.ecr_repositories, _repository("IMMUTABLE"))
    assert _flagged(_run(IMAGE_MUTABLE_TAG, other)) == {"Fn"}


# ---------------------------------------------------------------- INT006
@pytest.mark.parametrize(
    ("uri", "options", "own", "expected"),
    [
        (f"444455556666.dkr.ecr.us-east-1.amazonaws.com/orders@{DIGEST}", {}, set(), "finding"),
        (f"444455556666.dkr.ecr-fips.us-east-1.amazonaws.com/orders@{DIGEST}", {}, set(), "finding"),
        (f"444455556666.dkr.ecr.cn-north-1.amazonaws.com.cn/orders@{DIGEST}", {}, set(), "finding"),
        (f"444455556666.dkr.ecr.us-east-1.amazonaws.com/orders@{DIGEST}", {}, {"444455556666"}, "ok"),
        (f"444455556666.dkr.ecr.us-east-1.amazonaws.com/orders@{DIGEST}",
         {"trusted_accounts": ["444455556666"]}, set(), "ok"),
        (Unresolved(f"444455556666.dkr.ecr.${{AWS::Region}}.amazonaws.com/orders@{DIGEST}", SUB),
         {}, set(), "finding"),
        (Unresolved(f"${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.amazonaws.com/orders@{DIGEST}", SUB),
         {}, set(), "ok"),
        (Unresolved("${OrdersRepository.RepositoryUri}:v1", SUB), {}, set(), "ok"),
        (ResourceRef(_key("OrdersRepository"), "RepositoryUri"), {}, set(), "ok"),
        (Unresolved("${Registry}/orders:v1", SUB), {}, set(), "not-evaluated"),
        (Unresolved("!Ref ImageUri", "parameter without a default value"), {}, set(), "not-evaluated"),
        (f"docker.io/library/python@{DIGEST}", {}, set(), "not-evaluated"),
        (None, {}, set(), "not-evaluated"),
    ],
)
def test_int006_registry_owner(
    uri: Value | None, options: dict[str, Any], own: set[str], expected: str
) -> None:
    outcomes = _run(IMAGE_FOREIGN_REGISTRY, _inventory(_image_function("Fn", uri), own=own), **options)
    assert _flagged(outcomes) == ({"Fn"} if expected == "finding" else set())
    assert _not_evaluated(outcomes) == ({"Fn"} if expected == "not-evaluated" else set())


# ---------------------------------------------------------------- INT007
def _env_function(name: str, value: Value) -> Function:
    fn = _function("Fn")
    fn.environment[name] = EnvVar(name, value, Location(FILE, 30))
    fn.property_locations[f"Environment.Variables.{name}"] = Location(FILE, 30)
    return fn


@pytest.mark.parametrize(
    ("name", "value", "flag"),
    [
        ("AWS_LAMBDA_EXEC_WRAPPER", "/opt/wrapper", None),
        ("AWS_LAMBDA_EXEC_WRAPPER", Unresolved("!Ref WrapperPath"), None),
        ("LD_PRELOAD", "/opt/lib/libhook.so", None),
        ("PYTHONPATH", "/opt/overrides", None),
        ("PYTHONHOME", "/opt/python", None),
        ("PERL5OPT", "-MHook", None),
        ("DOTNET_STARTUP_HOOKS", "/opt/Hook.dll", None),
        ("NODE_OPTIONS", "--require /opt/hook.js", "--require"),
        ("NODE_OPTIONS", "--enable-source-maps --require=/opt/hook.js", "--require"),
        ("NODE_OPTIONS", "-r /opt/hook.js", "-r"),
        ("NODE_OPTIONS", "--import=/opt/hook.mjs", "--import"),
        ("NODE_OPTIONS", "--loader /opt/loader.mjs", "--loader"),
        ("NODE_OPTIONS", "--experimental-loader=/opt/loader.mjs", "--experimental-loader"),
        ("NODE_OPTIONS", "'--require' /opt/hook.js", "--require"),
        ("JAVA_TOOL_OPTIONS", "-XX:+TieredCompilation -javaagent:/opt/agent.jar", "-javaagent"),
        ("_JAVA_OPTIONS", "-agentpath:/opt/libagent.so", "-agentpath"),
        ("JDK_JAVA_OPTIONS", "-agentlib:jdwp=transport=dt_socket,server=y", "-agentlib"),
        ("RUBYOPT", "-rbundler/setup", "-r"),
        ("RUBYOPT", "-W0 -r /opt/hook.rb", "-r"),
    ],
)
def test_int007_flags_code_loading_variables(name: str, value: Value, flag: str | None) -> None:
    findings = _findings(_run(ENV_CODE_INJECTION, _inventory(_env_function(name, value))))
    assert len(findings) == 1
    finding = findings[0]
    assert finding.resource_id == "Fn" and finding.location == Location(FILE, 30)
    assert finding.evidence == ({"variable": name} if flag is None else {"variable": name, "flag": flag})
    assert name in finding.message
    if isinstance(value, str):
        # The message names the variable and the flag, never the value.
        assert value.split()[-1].split("=")[-1] not in finding.message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NODE_OPTIONS", "--enable-source-maps --max-old-space-size=512"),
        ("NODE_OPTIONS", "--report-on-signal --redirect-warnings=/tmp/w"),
        ("JAVA_TOOL_OPTIONS", "-XX:+TieredCompilation -XX:TieredStopAtLevel=1"),
        ("RUBYOPT", "-W0"),
        ("PYTHONSTARTUP", "/opt/startup.py"),  # only read by interactive interpreters
        ("LD_LIBRARY_PATH", "/opt/lib"),
        ("AWS_LAMBDA_EXEC_WRAPPER", ""),
        ("TABLE_NAME", "orders"),
    ],
)
def test_int007_ignores_harmless_values(name: str, value: str) -> None:
    assert _run(ENV_CODE_INJECTION, _inventory(_env_function(name, value))) == []


def test_int007_unknown_option_values_are_not_evaluated() -> None:
    fn = _env_function("NODE_OPTIONS", Unresolved("!Ref NodeOptions"))
    outcomes = _run(ENV_CODE_INJECTION, _inventory(fn))
    assert _flagged(outcomes) == set()
    assert _not_evaluated(outcomes) == {"Fn"}


def test_int007_one_finding_per_variable() -> None:
    fn = _env_function("AWS_LAMBDA_EXEC_WRAPPER", "/opt/wrapper")
    fn.environment["NODE_OPTIONS"] = EnvVar("NODE_OPTIONS", "--require /opt/a.js", Location(FILE, 31))
    fn.environment["LD_PRELOAD"] = EnvVar("LD_PRELOAD", "/opt/b.so", Location(FILE, 32))
    findings = _findings(_run(ENV_CODE_INJECTION, _inventory(fn)))
    variables = sorted(f.evidence["variable"] for f in findings)
    assert variables == ["AWS_LAMBDA_EXEC_WRAPPER", "LD_PRELOAD", "NODE_OPTIONS"]
