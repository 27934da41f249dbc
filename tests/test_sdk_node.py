"""The AWS SDK for JavaScript analyser (v2 and v3), parsed with tree-sitter.

The corpus (tests/data/handlers/js_*) pins whole policies written out by hand; the tests below pin the pieces
and the bad inputs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lambdasec.analysis.code_source import MAX_SOURCE_BYTES, open_source
from lambdasec.analysis.sdk_calls import CodeAnalysis, Text
from lambdasec.analysis.sdk_models import service_for_v2_class, service_for_v3_package
from lambdasec.analysis.sdk_node import analyse_node

from .handler_corpus import cases, expected, observed, run


@pytest.mark.parametrize("case", cases("js_"), ids=lambda p: p.name)
def test_corpus(case: Path) -> None:
    spec = expected(case)
    assert observed(run(case, "javascript")) == {key: spec[key] for key in ("policy", "free", "unmapped", "notes")}


def _analyse(tmp_path: Path, files: dict[str, str | bytes], handler: str | None = "index.handler") -> CodeAnalysis:
    for name, content in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    return analyse_node(open_source(tmp_path), handler)


def _calls(analysis: CodeAnalysis) -> list[tuple[str, str | None, str, int | None]]:
    return [(c.service, c.operation, c.location.file, c.location.line) for c in analysis.calls]


@pytest.mark.parametrize(("package", "service"), [
    ("@aws-sdk/client-s3", "s3"), ("@aws-sdk/client-sfn", "stepfunctions"), ("@aws-sdk/client-eventbridge", "events"),
    ("@aws-sdk/client-secrets-manager", "secretsmanager"), ("@aws-sdk/client-cloudwatch-logs", "logs"),
    ("@aws-sdk/client-cognito-identity-provider", "cognito-idp"), ("@aws-sdk/client-dynamodb-streams",
                                                                   "dynamodbstreams"),
    ("@aws-sdk/client-apigatewaymanagementapi", "apigatewaymanagementapi"), ("@aws-sdk/client-no-such", None),
    ("@aws-sdk/lib-dynamodb", None),
])
def test_v3_packages(package: str, service: str | None) -> None:
    assert service_for_v3_package(package) == service


@pytest.mark.parametrize(("name", "service"), [
    ("S3", "s3"), ("DynamoDB", "dynamodb"), ("StepFunctions", "stepfunctions"), ("CloudWatchLogs", "logs"),
    ("CognitoIdentityServiceProvider", "cognito-idp"), ("IotData", "iot-data"), ("SecretsManager", "secretsmanager"),
    ("RDSDataService", "rds-data"), ("config", None),
])
def test_v2_classes(name: str, service: str | None) -> None:
    assert service_for_v2_class(name) == service


def test_a_file_with_syntax_errors_is_reported_and_still_analysed(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, {"index.js": (
        "const { SQSClient, ListQueuesCommand } = require('@aws-sdk/client-sqs');\n"
        "exports.handler = async () => { await new SQSClient({}).send(new ListQueuesCommand({})); };\n"
        "function broken( {\n"
    )})
    assert _calls(analysis) == [("sqs", "ListQueues", "index.js", 2)]
    assert [(n.kind, n.location.file) for n in analysis.notes] == [("parse-error", "index.js")]


def test_binary_huge_and_typescript_sources(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, {
        "index.js": "const blob = require('./blob');\nconst big = require('./big');\nrequire('aws-sdk');\n",
        "blob.js": b"require('aws-sdk')\x00\x00",
        "big.js": "require('aws-sdk');\n" + "let x = 1;\n" * (MAX_SOURCE_BYTES // 11 + 1),
    })
    assert sorted((n.kind, n.location.file) for n in analysis.notes) == [
        ("skipped-file", "big.js"), ("skipped-file", "blob.js")]
    typescript = _analyse(tmp_path / "ts", {"app.ts": "import { S3 } from '@aws-sdk/client-s3';\n"},
                          handler="app.handler")
    assert [n.kind for n in typescript.notes] == ["unsupported"] and typescript.calls == []


def test_dynamic_and_unknown_calls_are_listed(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, {"index.js": (
        "const AWS = require('aws-sdk');\nconst { S3Client } = require('@aws-sdk/client-s3');\n"
        "const s3 = new AWS.S3();\nconst v3 = new S3Client({});\n"
        "exports.handler = async (event) => {\n"
        "  await s3.teleportObject({ Bucket: 'b' }).promise();\n"
        "  await v3.send(event.command);\n"
        "  s3.getSignedUrl(event.operation, {});\n"
        "};\n"
    )})
    assert analysis.calls == []
    assert [(n.kind, n.location.line) for n in analysis.notes] == [
        ("unknown-method", 6), ("dynamic-call", 7), ("dynamic-call", 8)]


def test_environment_variables_in_every_spelling(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, {"index.mjs": (
        "import { SNSClient, PublishCommand } from '@aws-sdk/client-sns';\n"
        "const { TOPIC = 'fallback' } = process.env;\nconst sns = new SNSClient({});\n"
        "export const handler = async () => {\n"
        "  await sns.send(new PublishCommand({ TopicArn: TOPIC, Message: 'a' }));\n"
        "  await sns.send(new PublishCommand({ TopicArn: process.env['OTHER'] ?? 'x', Message: 'b' }));\n"
        "  await sns.send(new PublishCommand({ TopicArn: `arn:aws:sns:${process.env.REGION}:1:t`, Message: 'c' }));\n"
        "};\n"
    )})
    from lambdasec.analysis.sdk_calls import EnvRef

    assert [c.params.text("TopicArn") for c in analysis.calls] == [
        Text((EnvRef("TOPIC", "fallback"),)), Text((EnvRef("OTHER", "x"),)),
        Text(("arn:aws:sns:", EnvRef("REGION"), ":1:t"))]


def test_only_code_reached_from_the_handler_is_analysed(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, {
        "index.js": "const lib = require('./lib');\nexports.handler = async () => lib.run();\n",
        "lib.js": ("const { KinesisClient, PutRecordCommand } = require('@aws-sdk/client-kinesis');\n"
                   "exports.run = () => new KinesisClient({}).send(new PutRecordCommand({ StreamName: 's' }));\n"),
        "scripts/admin.js": ("const { IAMClient, CreateUserCommand } = require('@aws-sdk/client-iam');\n"
                             "new IAMClient({}).send(new CreateUserCommand({ UserName: 'x' }));\n"),
    })
    assert _calls(analysis) == [("kinesis", "PutRecord", "lib.js", 2)]
    everything = analyse_node(open_source(tmp_path), None)
    assert [c.service for c in everything.calls] == ["kinesis", "iam"]  # by file: lib.js, scripts/admin.js


def test_clients_with_credentials_of_their_own_are_flagged(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, {"index.js": (
        "const AWS = require('aws-sdk');\n"
        "const archive = new AWS.S3({ accessKeyId: 'k', secretAccessKey: 's' });\n"
        "exports.handler = async () => {\n"
        "  await archive.putObject({ Bucket: 'b', Key: 'k' }).promise();\n"
        "  await new AWS.S3().getObject({ Bucket: 'b', Key: 'k' }).promise();\n"
        "};\n"
    )})
    assert [(c.operation, c.explicit_credentials) for c in analysis.calls] == [
        ("PutObject", True), ("GetObject", False)]
