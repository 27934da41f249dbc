"""The secrets detector and the SEC001 / SEC002 / ENC001 rules on hand-built inventories.

Provider tokens are assembled from pieces so that secret scanners do not flag this file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from lambdasec.analysis.secrets import (
    MIN_GENERIC_ENTROPY,
    SecretMatch,
    describe,
    detect,
    is_non_secret_value,
    redact,
    shannon_entropy,
)
from lambdasec.model.findings import Confidence, Finding, Severity
from lambdasec.model.inventory import EnvVar, Function, Inventory, Parameter
from lambdasec.model.location import Location
from lambdasec.model.values import ResourceRef, Unresolved, Value
from lambdasec.rules import encryption, secrets
from lambdasec.rules.base import Context
from lambdasec.rules.encryption import ENV_WITHOUT_CUSTOMER_KMS_KEY
from lambdasec.rules.secrets import ENV_PLAINTEXT_SECRET, NOECHO_PARAMETER_DEFAULT

HIGH, MEDIUM = Confidence.HIGH, Confidence.MEDIUM
NOW = dt.datetime(2026, 11, 29, tzinfo=dt.timezone.utc)

AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documented example
GITHUB = "gh" + "p_" + "A1b2C3d4" * 4 + "E5f6"
JWT = ("eyJ" + "hbGciOiJIUzI1NiJ9" + ".eyJ" + "zdWIiOiIxMjM0NTY3ODkwIn0" + "."
       + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U")


# ---------------------------------------------------------------- detector: true positives
@pytest.mark.parametrize(
    ("name", "value", "kind", "confidence"),
    [
        ("AWS_ACCESS_KEY_ID", AWS_KEY_ID, "aws-access-key-id", HIGH),
        ("CONFIG", "ASIA" + "Y34FZKBOKMUTVV7A", "aws-access-key-id", HIGH),
        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET, "aws-secret-access-key", HIGH),
        ("awsSecretKey", AWS_SECRET, "aws-secret-access-key", HIGH),
        ("CREDENTIALS_FILE_BODY", f"aws_secret_access_key = {AWS_SECRET}", "aws-secret-access-key", HIGH),
        ("GH", GITHUB, "github-token", HIGH),
        ("GH_APP", "gh" + "s_" + "Zz09" * 9, "github-token", HIGH),
        ("GITHUB", "github" + "_pat_" + "11ABCDEFG0" * 4, "github-token", HIGH),
        ("GITLAB", "gl" + "pat-" + "x1Y2z3W4v5U6t7S8r9Q0", "gitlab-token", HIGH),
        ("SLACK_BOT", "xo" + "xb-" + "123456789012-1234567890123-AbCdEfGhIjKl", "slack-token", HIGH),
        ("ALERTS", "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
         "slack-webhook", HIGH),
        ("PAYMENTS", "sk" + "_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "stripe-live-key", HIGH),
        ("PAYMENTS_RESTRICTED", "rk" + "_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "stripe-live-key", HIGH),
        ("PAYMENTS", "sk" + "_test_" + "4eC39HqLyjWDarjtT1zdp7dc", "stripe-test-key", MEDIUM),
        ("SMS", "S" + "K" + "0123456789abcdef" * 2, "twilio-api-key", HIGH),
        ("SMS", "A" + "C" + "0123456789abcdef" * 2 + ":" + "fedcba9876543210" * 2, "twilio-credentials",
         HIGH),
        ("TWILIO_AUTH_TOKEN", "fedcba9876543210" * 2, "twilio-auth-token", HIGH),
        ("MAIL", "S" + "G." + "abcdefghijKLMNOPQRST12" + "." + "abcdefghijKLMNOPQRST12abcdefghijKLMNOPQRST1",
         "sendgrid-api-key", HIGH),
        ("MAPS", "AI" + "za" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "google-api-key", HIGH),
        ("SIGNING", "-----BEGIN RSA PRIVATE " + "KEY-----\nMIIEow...", "private-key", HIGH),
        ("SSH", "-----BEGIN OPENSSH PRIVATE " + "KEY-----", "private-key", HIGH),
        ("GPG", "-----BEGIN PGP PRIVATE " + "KEY BLOCK-----", "private-key", HIGH),
        ("SESSION", JWT, "jwt", HIGH),
        ("HEADER", "Bearer " + JWT, "jwt", HIGH),
        ("DATABASE_URL", "postgres://app:Example-Passw0rd@db.example.com:5432/app", "database-url-password",
         HIGH),
        ("DSN", "postgresql://app:pw@db/app", "database-url-password", HIGH),
        ("DSN", "mysql://root:hunter2@db:3306/shop", "database-url-password", HIGH),
        ("MONGO", "mongodb+srv://app:Example-Passw0rd@cluster0.example.net/db", "database-url-password",
         HIGH),
        ("MONGO", "mongodb://app:Example-Passw0rd@h1,h2/db", "database-url-password", HIGH),
        ("CACHE", "redis://:Example-Passw0rd@cache.example.com:6379/0", "database-url-password", HIGH),
        ("BROKER", "amqps://app:Example-Passw0rd@mq.example.com:5671", "database-url-password", HIGH),
        ("JDBC", "jdbc:postgresql://app:Example-Passw0rd@db/app", "database-url-password", HIGH),
        ("WEBDAV", "https://bob:Example-Passw0rd@files.example.com/dav", "url-password", MEDIUM),
        ("NPM", "np" + "m_" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2", "npm-token", HIGH),
        ("LLM", "sk" + "-proj-" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8", "openai-api-key", MEDIUM),
        ("STORAGE", "DefaultEndpointsProtocol=https;AccountName=acct;Account" + "Key="
         + "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy==;EndpointSuffix=core.windows.net",
         "azure-storage-key", HIGH),
        ("BUS", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccess" + "Key="
         + "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy=", "azure-shared-access-key", HIGH),
        # Sensitive names: any real literal is a hard-coded password, however weak.
        ("DB_PASSWORD", "changeme", "password", MEDIUM),
        ("DB_PASS", "hunter2", "password", MEDIUM),
        ("dbPassword", "Tr0ub4dor&3", "password", MEDIUM),
        ("DBPassword", "correct horse battery staple", "password", MEDIUM),
        ("smtp-passwd", "p@ss", "password", MEDIUM),
        ("ADMIN_PWD", "letmein1", "password", MEDIUM),
        # Other sensitive names need a random-looking value.
        ("API_KEY", "Zx9qW2rT7yU4iO1p", "api-key", MEDIUM),
        ("ApiKey", "Zx9qW2rT7yU4iO1p", "api-key", MEDIUM),
        ("SERVICE_APIKEY", "Zx9qW2rT7yU4iO1p", "api-key", MEDIUM),
        ("AUTH_TOKEN", "3f2b8c1e-9a4d-4e7b-8f21-6c5d4e3b2a19", "token", MEDIUM),
        ("REFRESH_TOKEN", "Zx9qW2rT7yU4iO1p", "token", MEDIUM),
        ("CLIENT_SECRET", "Zx9qW2rT7yU4iO1p", "secret", MEDIUM),
        ("PRIVATE_KEY", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "secret", MEDIUM),
        ("HMAC_KEY", "a9f3c2e17b4d8f60", "secret", MEDIUM),
        ("CREDENTIALS", "svc:Zx9qW2rT7yU4", "secret", MEDIUM),
        ("BASIC_AUTH", "admin:S3cr3tValue", "secret", MEDIUM),
    ],
)
def test_detects_secret(name: str, value: str, kind: str, confidence: Confidence) -> None:
    match = detect(name, value)
    assert match is not None
    assert (match.kind, match.confidence) == (kind, confidence)


# ---------------------------------------------------------------- detector: false positives
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DB_PASSWORD", "{{resolve:secretsmanager:prod/db:SecretString:password}}"),
        ("API_KEY", "{{resolve:ssm-secure:/app/prod/api-key:3}}"),
        ("API_KEY", "{{resolve:ssm:/app/prod/api-key}}"),
        ("DATABASE_URL", "postgres://app:{{resolve:secretsmanager:db:SecretString:password}}@db/app"),
        ("DATABASE_URL", "postgres://app:${DbPassword}@db/app"),
        ("DATABASE_URL", "postgres://db.example.com:5432/app"),
        ("DATABASE_URL", "postgres://app@db.example.com/app"),
        ("DB_PASSWORD", "${DB_PASSWORD}"),
        ("DB_PASSWORD", "$(DB_PASSWORD)"),
        ("DB_PASSWORD", "<your-password>"),
        ("DB_PASSWORD", ""),
        ("DB_PASSWORD", "   "),
        ("DB_PASSWORD", "********"),
        ("DB_PASSWORD", "xxxxxxxxxx"),
        ("DB_PASSWORD", "none"),
        ("DB_PASSWORD", "TODO"),
        ("DB_PASSWORD", "12345678"),
        ("DB_PASSWORD", "true"),
        ("DB_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-Ab12Cd"),
        ("API_KEY", "arn:aws:ssm:eu-west-1:123456789012:parameter/app/api-key"),
        ("DB_PASSWORD_PARAM", "/app/prod/db-password"),
        ("DB_PASSWORD", "/app/prod/db-password"),
        ("API_KEY_PATH", "/app/prod/api-key"),
        ("PWD", "/var/task"),
        ("TOKEN_URL", "https://auth.example.com/oauth2/token"),
        ("AUTH_ENDPOINT", "https://auth.example.com"),
        ("API_TOKEN", "https://api.example.com/v1?region=eu"),
        ("CLIENT_ID", "3f2b8c1e-9a4d-4e7b-8f21-6c5d4e3b2a19"),
        ("API_KEY_ID", "Zx9qW2rT7yU4iO1p"),
        ("SECRET_NAME", "prod/Orders/Db2"),
        ("TOKEN_TTL", "3600"),
        ("PASSWORD_MIN_LENGTH", "12"),
        ("SESSION_TOKEN_REGION", "eu-west-1"),
        ("AUTH_MODE", "cognito"),
        ("AUTH_TYPE", "AWS_IAM"),
        ("ENABLE_AUTH", "true"),
        ("COGNITO_AUTH_FLOW", "USER_PASSWORD_AUTH"),
        ("AUTH_USER_POOL", "eu-west-1_AbC123xyz"),
        ("ADMIN_PASSWORD_HASH", "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"),
        ("API_KEY", "short1"),
        ("API_KEY", "my-service-prod"),
        ("SECRET", "not a secret at all 42"),
        ("TOKEN", "abcdefgh"),
        ("ENCRYPTION_KEY", "alias/orders-2024"),
        ("PUBLIC_KEY", "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A"),
        ("PARTITION_KEY", "userId1234AB"),
        ("TABLE_NAME", "Orders2024Table"),
        ("LOG_LEVEL", "DEBUG"),
        ("ACCOUNT_SID", "A" + "C" + "0123456789abcdef" * 2),
        ("VERSION", "3f2b8c1e9a4d4e7b8f216c5d4e3b2a19"),
        ("MESSAGE", "the task-runner-service-account-id is configured"),
    ],
)
def test_ignores_non_secret(name: str, value: str) -> None:
    assert detect(name, value) is None


def test_provider_formats_do_not_depend_on_the_name() -> None:
    for name in ("X", "TABLE_NAME", "AWS_ACCESS_KEY_ID", "CLIENT_ID"):
        match = detect(name, AWS_KEY_ID)
        assert match is not None and match.kind == "aws-access-key-id"


def test_tokens_glued_to_longer_words_are_not_provider_matches() -> None:
    assert detect("NOTE", "X" + AWS_KEY_ID + "X") is None
    assert detect("NOTE", "task-" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8") is None


def test_strongest_match_wins_when_a_value_holds_several() -> None:
    value = "https://bob:Example-Passw0rd@files.example.com/?key=" + AWS_KEY_ID
    match = detect("CONFIG", value)
    assert match == SecretMatch("aws-access-key-id", HIGH, "AK****LE")


def test_preview_is_redacted_from_the_secret_part_only() -> None:
    match = detect("DATABASE_URL", "postgres://app:Example-Passw0rd@db.example.com/app")
    assert match is not None and match.preview == "Ex****rd"
    short = detect("DB_PASSWORD", "changeme")
    assert short is not None and short.preview == "****"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "****"),
        ("abc", "****"),
        ("123456789", "****"),
        ("0123456789", "01****89"),
        (AWS_KEY_ID, "AK****LE"),
    ],
)
def test_redact(value: str, expected: str) -> None:
    assert redact(value) == expected


def test_redact_never_reveals_the_length() -> None:
    assert len(redact("a" * 10)) == len(redact("a" * 500))


def test_shannon_entropy() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd1234") == pytest.approx(3.0)
    assert shannon_entropy("my-service-prod") > MIN_GENERIC_ENTROPY  # rejected for lacking mixed classes
    assert shannon_entropy(AWS_SECRET) > 4.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", True),
        ("{{resolve:secretsmanager:db}}", True),
        ("${Token}", True),
        ("arn:aws:kms:eu-west-1:123456789012:key/1234", True),
        ("/app/prod/token", True),
        ("https://example.com", True),
        ("false", True),
        ("42", True),
        ("changeme", False),
        ("Example-Passw0rd", False),
    ],
)
def test_is_non_secret_value(value: str, expected: bool) -> None:
    assert is_non_secret_value(value) is expected


def test_describe_gives_readable_kinds() -> None:
    assert describe("aws-access-key-id") == "AWS access key ID"
    assert describe("password") == "password"
    assert describe("some-new-kind") == "some new kind"


# ---------------------------------------------------------------- rules
def _function(logical_id: str, env: dict[str, Value | tuple[Value, Parameter]] | None = None,
              kms_key_arn: Value | None = None) -> Function:
    fn = Function(
        key=f"template.yaml#{logical_id}",
        id=logical_id,
        type="AWS::Lambda::Function",
        location=Location(file="template.yaml", line=10),
        property_locations={
            f"Environment.Variables.{name}": Location("template.yaml", 20 + line)
            for line, name in enumerate(env or {})
        } | ({"Environment": Location("template.yaml", 19)} if env else {}),
        kms_key_arn=kms_key_arn,
    )
    for name, spec in (env or {}).items():
        value, parameter = spec if isinstance(spec, tuple) else (spec, None)
        fn.environment[name] = EnvVar(name, value, fn.at(f"Environment.Variables.{name}"), parameter)
    return fn


def _parameter(name: str, *, no_echo: bool = False, default: object = None, has_default: bool = True,
               line: int = 3) -> Parameter:
    return Parameter(name, no_echo=no_echo, default=default, has_default=has_default,
                     location=Location("template.yaml", line, None, ("Parameters", name)))


def _inventory(*functions: Function) -> Inventory:
    inventory = Inventory()
    for fn in functions:
        inventory.add(inventory.functions, fn)
    return inventory


def _findings(rule, inventory: Inventory) -> list[Finding]:
    outcomes = rule.run(inventory, Context(now=NOW))
    assert all(isinstance(o, Finding) for o in outcomes)
    return outcomes


def test_rule_modules_export_their_rules() -> None:
    assert secrets.RULES == (ENV_PLAINTEXT_SECRET, NOECHO_PARAMETER_DEFAULT)
    assert encryption.RULES == (ENV_WITHOUT_CUSTOMER_KMS_KEY,)
    assert [(r.code, r.slug, r.severity, r.category) for r in (*secrets.RULES, *encryption.RULES)] == [
        ("SEC001", "env-plaintext-secret", Severity.HIGH, "secrets"),
        ("SEC002", "noecho-parameter-default", Severity.HIGH, "secrets"),
        ("ENC001", "env-without-customer-kms-key", Severity.LOW, "encryption"),
    ]
    for rule in (*secrets.RULES, *encryption.RULES):
        assert set(rule.snippets) == {"cloudformation", "sam", "terraform"}
        assert rule.references and rule.rationale and rule.remediation


def test_sec001_flags_literal_secrets_with_exact_message_location_and_evidence() -> None:
    fn = _function("Orders", {"DB_PASSWORD": "changeme", "AWS_ACCESS_KEY_ID": AWS_KEY_ID, "TABLE": "orders"})
    findings = _findings(ENV_PLAINTEXT_SECRET, _inventory(fn))
    assert [(f.resource_id, f.message, f.confidence, f.location.line, f.evidence) for f in findings] == [
        ("Orders", "Environment variable DB_PASSWORD holds a plaintext password (****)", MEDIUM, 20,
         {"kind": "password", "variable": "DB_PASSWORD", "preview": "****"}),
        ("Orders", "Environment variable AWS_ACCESS_KEY_ID holds a plaintext AWS access key ID (AK****LE)",
         HIGH, 21, {"kind": "aws-access-key-id", "variable": "AWS_ACCESS_KEY_ID", "preview": "AK****LE"}),
    ]
    assert findings[0].functions == ["Orders"]
    assert all(AWS_KEY_ID not in f.message and "changeme" not in f.message for f in findings)


def test_sec001_ignores_references_and_parameters() -> None:
    with_default = _parameter("DbPassword", no_echo=True, default="Example-Passw0rd")
    without_default = _parameter("ApiToken", no_echo=True, has_default=False)
    fn = _function("Orders", {
        "DB_PASSWORD": ("Example-Passw0rd", with_default),  # SEC002's business
        "API_TOKEN": (Unresolved("!Ref ApiToken"), without_default),
        "DB_SECRET": ResourceRef("template.yaml#DbSecret"),
        "DB_SECRET_ARN": Unresolved("!ImportValue DbSecretArn"),
        "SEARCH_KEY": "{{resolve:ssm-secure:/search/key}}",
    })
    assert _findings(ENV_PLAINTEXT_SECRET, _inventory(fn)) == []


def test_sec002_noecho_default_is_reported_on_the_function_at_the_parameter() -> None:
    password = _parameter("DbPassword", no_echo=True, default="Example-Passw0rd", line=4)
    fn = _function("Orders", {"DB_PASSWORD": ("Example-Passw0rd", password),
                              "DB_PASSWORD_COPY": ("Example-Passw0rd", password)})
    findings = _findings(NOECHO_PARAMETER_DEFAULT, _inventory(fn))
    assert [(f.resource_id, f.message, f.confidence, f.location, f.evidence) for f in findings] == [
        ("Orders",
         "Parameter DbPassword, declared secret (NoEcho / sensitive), has a default value (Ex****rd) passed to "
         "environment variables DB_PASSWORD, DB_PASSWORD_COPY",
         HIGH, password.location,
         {"kind": "password", "parameter": "DbPassword", "variables": ["DB_PASSWORD", "DB_PASSWORD_COPY"],
          "no_echo": True, "preview": "Ex****rd"}),
    ]


def test_sec002_noecho_default_of_any_shape_is_a_shipped_secret() -> None:
    parameter = _parameter("Pin", no_echo=True, default="orders-service")
    fn = _function("Fn", {"PIN": ("orders-service", parameter)})
    findings = _findings(NOECHO_PARAMETER_DEFAULT, _inventory(fn))
    assert [(f.evidence["kind"], f.confidence, f.evidence["preview"]) for f in findings] == [
        ("secret", HIGH, "or****ce"),
    ]


def test_sec002_plain_parameter_with_a_secret_default() -> None:
    key = _parameter("DeployKeyId", default=AWS_KEY_ID)
    token = _parameter("SlackToken", default="Zx9qW2rT7yU4iO1p")
    stage = _parameter("Stage", default="prod")
    fn = _function("Deployer", {"KEY_ID": (AWS_KEY_ID, key), "SLACK": ("Zx9qW2rT7yU4iO1p", token),
                                "STAGE": ("prod", stage)})
    findings = _findings(NOECHO_PARAMETER_DEFAULT, _inventory(fn))
    assert [(f.message, f.confidence, f.evidence["kind"]) for f in findings] == [
        ("Parameter DeployKeyId defaults to a plaintext AWS access key ID (AK****LE) passed to environment "
         "variable KEY_ID", HIGH, "aws-access-key-id"),
        # The parameter name says "token" even though the variable name does not.
        ("Parameter SlackToken defaults to a plaintext token (Zx****1p) passed to environment variable SLACK",
         MEDIUM, "token"),
    ]


@pytest.mark.parametrize(
    "parameter",
    [
        _parameter("DbPassword", no_echo=True, has_default=False),
        _parameter("DbPassword", no_echo=True, default=""),
        _parameter("DbPassword", no_echo=True, default="{{resolve:ssm-secure:/db/password}}"),
        _parameter("DbPasswordParam", default="/orders/prod/db-password"),
        _parameter("DbPassword", default=None, has_default=False),
        _parameter("LogLevel", default="INFO"),
        _parameter("Retries", default=3),
    ],
)
def test_sec002_ignores_parameters_without_a_secret_default(parameter: Parameter) -> None:
    fn = _function("Orders", {"VALUE": (Unresolved(f"!Ref {parameter.name}"), parameter)})
    assert _findings(NOECHO_PARAMETER_DEFAULT, _inventory(fn)) == []


def test_sec002_reports_each_function_using_the_parameter() -> None:
    password = _parameter("DbPassword", no_echo=True, default="Example-Passw0rd")
    functions = [_function(name, {"DB_PASSWORD": ("Example-Passw0rd", password)}) for name in ("A", "B")]
    findings = _findings(NOECHO_PARAMETER_DEFAULT, _inventory(*functions))
    assert [(f.resource_id, f.functions) for f in findings] == [("A", ["A"]), ("B", ["B"])]


@pytest.mark.parametrize(
    ("env", "kms_key_arn", "flagged"),
    [
        ({"TABLE": "orders"}, None, True),
        ({"TABLE": "orders"}, "", True),
        ({"TABLE": "orders"}, "arn:aws:kms:eu-west-1:123456789012:key/1234abcd", False),
        ({"TABLE": "orders"}, ResourceRef("template.yaml#Key", "Arn"), False),
        ({"TABLE": "orders"}, Unresolved("!Ref KeyArn"), False),
        (None, None, False),
        ({}, None, False),
    ],
)
def test_enc001(env: dict[str, Value] | None, kms_key_arn: Value | None, flagged: bool) -> None:
    fn = _function("Orders", dict(env) if env is not None else None, kms_key_arn)
    findings = _findings(ENV_WITHOUT_CUSTOMER_KMS_KEY, _inventory(fn))
    assert {f.resource_id for f in findings} == ({"Orders"} if flagged else set())


def test_enc001_message_and_location() -> None:
    fn = _function("Orders", {"TABLE": "orders", "STAGE": "prod"})
    [finding] = _findings(ENV_WITHOUT_CUSTOMER_KMS_KEY, _inventory(fn))
    assert finding.message == (
        "Function Orders encrypts its 2 environment variables with the AWS managed key aws/lambda "
        "(no KmsKeyArn)"
    )
    assert finding.location.line == 19
    assert finding.evidence == {"variables": ["STAGE", "TABLE"]}


def test_a_secret_in_the_literal_part_of_a_partly_known_value_is_found(tmp_path: Path) -> None:
    """`!Sub "postgres://app:PW@${Host}"` and `"...@${var.host}"` are known only at deploy time, yet their written
    password is as exposed as any literal; a value that is only a reference stays clean, whatever its name."""
    import lambdasec

    from .conftest import FIXTURE_CLOCK

    (tmp_path / "t.yaml").write_text(
        "Parameters:\n  Host: {Type: String}\nResources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n"
        "      Runtime: python3.12\n      Handler: a.h\n      Role: arn:aws:iam::123456789012:role/r\n"
        "      Code: {S3Bucket: b, S3Key: k}\n      Environment:\n        Variables:\n"
        '          DATABASE_URL: !Sub "postgres://app:Xq9vT2mLp7Rz@${Host}:5432/app"\n'
        '          DB_PASSWORD: !Sub "${Host}"\n          API_TOKEN: !Ref Host\n')
    (tmp_path / "main.tf").write_text(
        'variable "host" {}\nresource "aws_lambda_function" "f" {\n  function_name = "f"\n'
        '  role = "arn:aws:iam::123456789012:role/r"\n  runtime = "python3.12"\n  handler = "a.h"\n'
        '  s3_bucket = "b"\n  s3_key = "k"\n  environment {\n    variables = {\n'
        '      DATABASE_URL = "postgres://app:Xq9vT2mLp7Rz@${var.host}:5432/app"\n      PASSWORD = var.host\n'
        "    }\n  }\n}\n")
    report = lambdasec.scan_paths([tmp_path], rules=["SEC001"], now=FIXTURE_CLOCK)
    assert sorted((f.location.file, f.message) for f in report.findings) == [
        (name, "Environment variable DATABASE_URL holds a plaintext database URL password (Xq****Rz)")
        for name in ("main.tf", "t.yaml")]
