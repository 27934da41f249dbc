"""The curated AWS managed policy catalog."""

from __future__ import annotations

import pytest

from lambdasec.iam.managed import catalog_as_of, is_admin_policy, known_managed_policy_arns, managed_policy

BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"

SERVICE_ROLE_POLICIES = {
    "AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole", "AWSLambdaKinesisExecutionRole",
    "AWSLambdaDynamoDBExecutionRole", "AWSLambdaSQSQueueExecutionRole", "AWSLambdaMSKExecutionRole",
    "AWSLambdaRole",
}
TOP_LEVEL_POLICIES = {
    "AdministratorAccess", "PowerUserAccess", "ReadOnlyAccess", "AWSLambdaExecute", "AWSLambda_FullAccess",
    "AWSLambda_ReadOnlyAccess", "AWSXRayDaemonWriteAccess", "AWSXrayWriteOnlyAccess",
    "CloudWatchLambdaInsightsExecutionRolePolicy", "AmazonS3FullAccess", "AmazonS3ReadOnlyAccess",
    "AmazonDynamoDBFullAccess", "AmazonDynamoDBReadOnlyAccess", "AmazonSQSFullAccess", "AmazonSNSFullAccess",
    "SecretsManagerReadWrite", "AmazonSSMReadOnlyAccess", "AmazonSSMFullAccess", "AmazonKinesisFullAccess",
    "AmazonEC2FullAccess", "IAMFullAccess", "CloudWatchLogsFullAccess", "AmazonEventBridgeFullAccess",
    "AWSStepFunctionsFullAccess", "AmazonAPIGatewayInvokeFullAccess", "AWSKeyManagementServicePowerUser",
}


def test_catalog_is_dated_and_complete_with_right_paths() -> None:
    assert catalog_as_of() == "2026-11-29"
    expected = {f"arn:aws:iam::aws:policy/service-role/{name}" for name in SERVICE_ROLE_POLICIES} | {
        f"arn:aws:iam::aws:policy/{name}" for name in TOP_LEVEL_POLICIES
    }
    assert set(known_managed_policy_arns()) == expected


def test_basic_execution_role_document() -> None:
    policy = managed_policy(BASIC)
    assert policy is not None
    assert (policy.name, policy.arn, policy.version) == ("AWSLambdaBasicExecutionRole", BASIC, "v1")
    assert policy.document == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*",
            }
        ],
    }


@pytest.mark.parametrize(
    "reference",
    [
        BASIC,
        "arn:aws-us-gov:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:aws-cn:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "AWSLambdaBasicExecutionRole",
        "service-role/AWSLambdaBasicExecutionRole",
        "  AWSLambdaBasicExecutionRole ",
    ],
)
def test_every_way_of_naming_a_policy_gives_the_canonical_arn(reference: str) -> None:
    policy = managed_policy(reference)
    assert policy is not None
    assert policy.arn == BASIC


@pytest.mark.parametrize(
    "reference",
    [
        "arn:aws:iam::aws:policy/AWSLambdaBasicExecutionRole",  # missing service-role/ path: no such policy
        "arn:aws:iam::aws:policy/service-role/AdministratorAccess",
        "other-path/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::123456789012:policy/AWSLambdaBasicExecutionRole",  # customer managed
        "arn:aws:iam::aws:role/AWSLambdaBasicExecutionRole",
        "arn:aws:s3:::bucket",
        "arn:aws:iam",
        "NoSuchPolicy",
        "",
    ],
)
def test_unknown_or_malformed_references(reference: str) -> None:
    assert managed_policy(reference) is None


def test_callers_get_their_own_copy() -> None:
    first = managed_policy(BASIC)
    assert first is not None
    first.document["Statement"].clear()
    second = managed_policy(BASIC)
    assert second is not None
    assert len(second.document["Statement"]) == 1


def test_read_only_access_is_the_full_document() -> None:
    policy = managed_policy("ReadOnlyAccess")
    assert policy is not None
    actions = [a for s in policy.document["Statement"] for a in s["Action"]]
    # The real policy lists thousands of per-service read actions, not an abbreviation.
    assert len(actions) > 2000
    assert {"s3:Get*", "lambda:Get*", "secretsmanager:GetResourcePolicy"} <= set(actions)
    assert "secretsmanager:GetSecretValue" not in actions


def test_power_user_excludes_iam_with_not_action() -> None:
    policy = managed_policy("PowerUserAccess")
    assert policy is not None
    first = policy.document["Statement"][0]
    assert first["NotAction"] == ["iam:*", "organizations:*", "account:*"]
    assert first["Resource"] == "*"


@pytest.mark.parametrize(
    ("reference", "admin"),
    [
        ("arn:aws:iam::aws:policy/AdministratorAccess", True),
        ("arn:aws-us-gov:iam::aws:policy/AdministratorAccess", True),
        ("AdministratorAccess", True),
        ("arn:aws:iam::aws:policy/PowerUserAccess", False),
        ("arn:aws:iam::aws:policy/IAMFullAccess", False),
        (BASIC, False),
        ("arn:aws:iam::123456789012:policy/AdministratorAccess", False),
        ("NoSuchPolicy", False),
    ],
)
def test_is_admin_policy(reference: str, admin: bool) -> None:
    assert is_admin_policy(reference) is admin
