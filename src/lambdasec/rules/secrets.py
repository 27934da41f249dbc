"""Secrets written into a function's configuration or into the template that deploys it."""

from __future__ import annotations

from collections.abc import Iterator

from ..analysis.secrets import SecretMatch, describe, detect, detect_in_expression, is_non_secret_value, redact
from ..model.findings import Confidence, Severity
from ..model.inventory import Function, Inventory, Parameter, RedactedSecret
from ..model.values import Unresolved, literal
from .base import Context, Outcome, Rule


# ---------------------------------------------------------------- SEC001
def _check_env_plaintext_secret(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for fn in inventory.functions:
        for var in fn.environment.values():
            if var.parameter is not None:
                continue  # values that come from a template parameter are SEC002's
            value = literal(var.value)
            if var.secret is not None:  # read from a snapshot, which keeps the verdict, not the value
                match: SecretMatch | None = _kept(var.secret)
            elif isinstance(var.value, Unresolved):  # the literal parts of a partly known value may hold one
                match = detect_in_expression(var.value.expression)
            else:
                match = detect(var.name, value) if value is not None else None
            if match is None:
                continue
            yield ENV_PLAINTEXT_SECRET.finding(
                inventory, fn,
                f"Environment variable {var.name} holds a plaintext {describe(match.kind)} ({match.preview})",
                location=fn.at(f"Environment.Variables.{var.name}"),
                confidence=match.confidence,
                evidence={"kind": match.kind, "variable": var.name, "preview": match.preview},
            )


ENV_PLAINTEXT_SECRET = Rule(
    code="SEC001",
    slug="env-plaintext-secret",
    title="Plaintext secret in a function environment variable",
    severity=Severity.HIGH,
    confidence=Confidence.HIGH,
    category="secrets",
    rationale=(
        "Environment variables are part of the function configuration: anyone allowed "
        "lambda:GetFunctionConfiguration (or to read the template, its repository, the deployment "
        "artifacts and the CloudFormation stack) reads them in clear text. A secret stored there cannot "
        "be rotated without a redeployment and leaks through every copy of the template. Confidence is "
        "high for provider formats (AWS keys, GitHub tokens, private keys...) and medium when only the "
        "variable name says the value is a password or token."
    ),
    remediation=(
        "Remove the value from the template and rotate it, since it is already exposed. Store the secret "
        "in AWS Secrets Manager (or a SecureString in Systems Manager Parameter Store), pass only its ARN "
        "or name in the environment, grant the execution role secretsmanager:GetSecretValue on that one "
        "secret, and read it at run time with the AWS Parameters and Secrets Lambda Extension or "
        "Powertools for AWS Lambda so it is cached between invocations."
    ),
    check=_check_env_plaintext_secret,
    snippets={
        "cloudformation": (
            "DbSecret:\n"
            "  Type: AWS::SecretsManager::Secret\n"
            "  Properties:\n"
            "    GenerateSecretString:\n"
            "      PasswordLength: 32\n"
            "      ExcludePunctuation: true\n"
            "Function:\n"
            "  Type: AWS::Lambda::Function\n"
            "  Properties:\n"
            "    Environment:\n"
            "      Variables:\n"
            "        DB_SECRET_ARN: !Ref DbSecret  # the code fetches the value at run time\n"
        ),
        "sam": (
            "Function:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    Environment:\n"
            "      Variables:\n"
            "        DB_SECRET_ARN: !Ref DbSecret\n"
            "    Policies:\n"
            "      - AWSSecretsManagerGetSecretValuePolicy:\n"
            "          SecretArn: !Ref DbSecret\n"
        ),
        "terraform": (
            'resource "aws_lambda_function" "app" {\n'
            "  # ...\n"
            "  environment {\n"
            "    variables = {\n"
            "      DB_SECRET_ARN = aws_secretsmanager_secret.db.arn\n"
            "    }\n"
            "  }\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html",
        "https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html",
    ),
    anchors={
        "checkov": ("CKV_AWS_45",),
        "prowler": ("awslambda_function_no_secrets_in_variables",),
        "kics": (),
        "securityhub": (),
    },
)


# ---------------------------------------------------------------- SEC002
def _check_noecho_parameter_default(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for fn in inventory.functions:
        for parameter, variables in _parameters_of(fn):
            outcome = _parameter_secret(parameter, variables)
            if outcome is None:
                continue
            match, message = outcome
            yield NOECHO_PARAMETER_DEFAULT.finding(
                inventory, fn, message,
                location=parameter.location,
                confidence=match.confidence,
                evidence={
                    "kind": match.kind,
                    "parameter": parameter.name,
                    "variables": variables,
                    "no_echo": parameter.no_echo,
                    "preview": match.preview,
                },
            )


def _parameters_of(fn: Function) -> list[tuple[Parameter, list[str]]]:
    """The template parameters a function's environment uses, each with the variables that use it."""
    users: dict[str, tuple[Parameter, list[str]]] = {}
    for var in fn.environment.values():
        if var.parameter is not None:
            users.setdefault(var.parameter.name, (var.parameter, []))[1].append(var.name)
    return [(parameter, sorted(names)) for parameter, names in users.values()]


def _parameter_secret(parameter: Parameter, variables: list[str]) -> tuple[SecretMatch, str] | None:
    """The secret a parameter's default ships, with the message that explains it, or None."""
    noun = "environment variables" if len(variables) > 1 else "environment variable"
    used_by = f"{noun} {', '.join(variables)}"
    if isinstance(parameter.default, RedactedSecret):  # read from a snapshot, which keeps the verdict, not the value
        match: SecretMatch | None = _kept(parameter.default)
        preview_of_default = parameter.default.preview
    else:
        default = literal(parameter.default) if parameter.has_default else None
        if default is None or is_non_secret_value(default):
            return None
        match = _best(detect(name, default) for name in (parameter.name, *variables))
        preview_of_default = redact(default.strip())
    if parameter.no_echo:
        # The author declared the value sensitive, so any real default is a shipped secret.
        kind = match.kind if match else "secret"
        preview = match.preview if match else preview_of_default
        message = (f"Parameter {parameter.name}, declared secret (NoEcho / sensitive), has a default value "
                   f"({preview}) passed to {used_by}")
        return SecretMatch(kind, Confidence.HIGH, preview), message
    if match is None:
        return None
    message = (f"Parameter {parameter.name} defaults to a plaintext {describe(match.kind)} "
               f"({match.preview}) passed to {used_by}")
    return match, message


def _kept(secret: RedactedSecret) -> SecretMatch:
    """The detector's verdict a snapshot kept in place of a secret value."""
    return SecretMatch(secret.kind, Confidence.parse(secret.confidence), secret.preview)


def _best(matches: Iterator[SecretMatch | None]) -> SecretMatch | None:
    found = [m for m in matches if m is not None]
    return max(found, key=lambda m: m.confidence) if found else None


NOECHO_PARAMETER_DEFAULT = Rule(
    code="SEC002",
    slug="noecho-parameter-default",
    title="Secret template parameter with a hard-coded default",
    severity=Severity.HIGH,
    confidence=Confidence.HIGH,
    category="secrets",
    rationale=(
        "NoEcho only masks a parameter in the console and API output; a Default written in the template "
        "is stored in clear text wherever the template goes (repository, artifact bucket, stack "
        "history), and it is used silently whenever nobody overrides it. A parameter without NoEcho "
        "whose default is a recognizable secret leaks the same way. When the parameter feeds a function's "
        "environment, the secret also ends up readable in the function configuration."
    ),
    remediation=(
        "Remove the Default and rotate the value it contained. Better, do not pass the secret through a "
        "parameter at all: create it in AWS Secrets Manager (GenerateSecretString lets CloudFormation "
        "generate it), give the function only the secret's ARN, and read the value at run time."
    ),
    check=_check_noecho_parameter_default,
    snippets={
        "cloudformation": (
            "Parameters:\n"
            "  DbPassword:\n"
            "    Type: String\n"
            "    NoEcho: true  # no Default: supplied at deploy time only\n"
            "Resources:\n"
            "  DbSecret:\n"
            "    Type: AWS::SecretsManager::Secret\n"
            "    Properties:\n"
            "      SecretString: !Ref DbPassword\n"
        ),
        "sam": (
            "Resources:\n"
            "  DbSecret:\n"
            "    Type: AWS::SecretsManager::Secret\n"
            "    Properties:\n"
            "      GenerateSecretString:\n"
            "        PasswordLength: 32\n"
            "  Function:\n"
            "    Type: AWS::Serverless::Function\n"
            "    Properties:\n"
            "      Environment:\n"
            "        Variables:\n"
            "          DB_SECRET_ARN: !Ref DbSecret\n"
        ),
        "terraform": (
            'variable "db_password" {\n'
            "  type      = string\n"
            "  sensitive = true  # no default: set it from a secret store at apply time\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/security-best-practices.html",
    ),
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)


RULES: tuple[Rule, ...] = (ENV_PLAINTEXT_SECRET, NOECHO_PARAMETER_DEFAULT)
