"""Encryption of what a function stores: its environment variables."""

from __future__ import annotations

from collections.abc import Iterator

from ..model.findings import Confidence, Severity
from ..model.inventory import Inventory
from .base import Context, Outcome, Rule


def _check_env_without_customer_kms_key(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for fn in inventory.functions:
        # An unresolved KmsKeyArn still names a customer key; only a missing (or empty) one falls back
        # to aws/lambda.
        if not fn.environment or fn.kms_key_arn not in (None, ""):
            continue
        count = len(fn.environment)
        noun = "variable" if count == 1 else "variables"
        yield ENV_WITHOUT_CUSTOMER_KMS_KEY.finding(
            inventory, fn,
            f"Function {fn.id} encrypts its {count} environment {noun} with the AWS managed key "
            "aws/lambda (no KmsKeyArn)",
            location=fn.at("Environment"),
            evidence={"variables": sorted(fn.environment)},
        )


ENV_WITHOUT_CUSTOMER_KMS_KEY = Rule(
    code="ENC001",
    slug="env-without-customer-kms-key",
    title="Environment variables encrypted only with the AWS managed key",
    severity=Severity.LOW,
    confidence=Confidence.HIGH,
    category="encryption",
    rationale=(
        "Without KmsKeyArn, Lambda encrypts environment variables with the AWS managed key aws/lambda, "
        "whose key policy you cannot change: every principal allowed lambda:GetFunctionConfiguration "
        "sees the values in clear text. With a customer managed key, only principals that the key "
        "policy allows to use the key can view or change the variables, key use is logged in "
        "CloudTrail, and disabling the key cuts access at once."
    ),
    remediation=(
        "Create a customer managed KMS key whose key policy allows the teams and pipelines that deploy "
        "the function, and set it as the function's KmsKeyArn. Keep real secrets out of environment "
        "variables altogether (see SEC001): the key protects configuration at rest, not a secret that "
        "every reader of the template already knows."
    ),
    check=_check_env_without_customer_kms_key,
    snippets={
        "cloudformation": (
            "EnvKey:\n"
            "  Type: AWS::KMS::Key\n"
            "  Properties:\n"
            "    EnableKeyRotation: true\n"
            "    KeyPolicy:  # keep IAM in charge; narrow it to the deployers if needed\n"
            "      Version: '2012-10-17'\n"
            "      Statement:\n"
            "        - Effect: Allow\n"
            "          Principal:\n"
            "            AWS: !Sub arn:${AWS::Partition}:iam::${AWS::AccountId}:root\n"
            "          Action: kms:*\n"
            "          Resource: '*'\n"
            "Function:\n"
            "  Type: AWS::Lambda::Function\n"
            "  Properties:\n"
            "    KmsKeyArn: !GetAtt EnvKey.Arn\n"
        ),
        "sam": (
            "Function:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    KmsKeyArn: !GetAtt EnvKey.Arn\n"
        ),
        "terraform": (
            'resource "aws_lambda_function" "app" {\n'
            "  # ...\n"
            "  kms_key_arn = aws_kms_key.lambda_env.arn\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-lambda-function.html",
    ),
    anchors={"checkov": ("CKV_AWS_173",), "prowler": (), "kics": (), "securityhub": ()},
)


RULES: tuple[Rule, ...] = (ENV_WITHOUT_CUSTOMER_KMS_KEY,)
