"""The boto3 analyser, the operation -> IAM action mapping and resource ARNs.

The corpus (tests/data/handlers/py_*) pins whole policies written out by hand; the tests below pin the pieces
and the bad inputs (files that do not parse, binary or huge files, dependencies, dynamic code).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from lambdasec.analysis import sdk_models
from lambdasec.analysis.arns import Resolver
from lambdasec.analysis.code_source import MAX_SOURCE_BYTES, SourceError, open_source, third_party_roots
from lambdasec.analysis.least_privilege import needed_policy
from lambdasec.analysis.sdk_calls import EnvRef, Opaque, Seq, Struct, Text
from lambdasec.analysis.sdk_python import analyse_python
from lambdasec.iam.catalogue import catalogue
from lambdasec.iam.operations import ArnTemplate, curated_actions, iam_prefix, map_operation, parse_partiql
from lambdasec.model.values import ResourceRef, Unresolved

from .handler_corpus import cases, expected, observed, run


@pytest.mark.parametrize("case", cases("py_"), ids=lambda p: p.name)
def test_corpus(case: Path) -> None:
    spec = expected(case)
    assert observed(run(case, "python")) == {key: spec[key] for key in ("policy", "free", "unmapped", "notes")}


def _analyse(tmp_path: Path, files: dict[str, str | bytes], handler: str | None = "app.handler"):  # type: ignore[no-untyped-def]
    for name, content in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    return analyse_python(open_source(tmp_path), handler)


def _calls(analysis) -> list[tuple[str, str | None, str, int | None]]:  # type: ignore[no-untyped-def]
    return [(c.service, c.operation, c.location.file, c.location.line) for c in analysis.calls]


# ---------------------------------------------------------------- bad input
def test_a_file_that_does_not_parse_is_reported_and_the_rest_analysed(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, {
        "app.py": "import boto3\nimport broken\ndef handler(e, c):\n    boto3.client('s3').list_buckets()\n",
        "broken.py": "import boto3\ndef oops(:\n    pass\n",
    })
    assert _calls(analysis) == [("s3", "ListBuckets", "app.py", 4)]
    assert [(n.kind, n.location.file, n.location.line) for n in analysis.notes] == [("parse-error", "broken.py", 2)]


def test_binary_and_huge_files_are_skipped_with_a_note(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, {
        "app.py": "import boto3\nimport blob, big\ndef handler(e, c):\n    boto3.client('sqs').list_queues()\n",
        "blob.py": b"import boto3\x00\x01\x02",
        "big.py": "import boto3\n" + "x = 1\n" * (MAX_SOURCE_BYTES // 6 + 1),
    })
    assert _calls(analysis) == [("sqs", "ListQueues", "app.py", 4)]
    assert sorted((n.kind, n.location.file) for n in analysis.notes) == [
        ("skipped-file", "big.py"), ("skipped-file", "blob.py")]


def test_a_missing_handler_module_analyses_every_file(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, {"lib.py": "import boto3\nboto3.client('sns').list_topics()\n"},
                        handler="missing.handler")
    assert _calls(analysis) == [("sns", "ListTopics", "lib.py", 2)]
    assert [n.kind for n in analysis.notes] == ["missing-handler"]


def test_installed_dependencies_are_not_analysed(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, {
        "app.py": "import boto3, vendored\ndef handler(e, c):\n    boto3.client('s3').list_buckets()\n",
        "vendored/__init__.py": "import boto3\nboto3.client('iam').create_user(UserName='x')\n",
        "vendored-1.0.dist-info/RECORD": "vendored/__init__.py,sha256=x,10\nvendored-1.0.dist-info/RECORD,,\n",
    })
    assert _calls(analysis) == [("s3", "ListBuckets", "app.py", 3)]
    assert analysis.files == ["app.py"]


def test_modules_not_touching_the_sdk_are_not_interpreted(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, {
        "app.py": "import boto3, util\ndef handler(e, c):\n    boto3.client('s3').list_buckets()\n",
        "util.py": "def fmt(x):\n    return str(x)\n",
    })
    assert analysis.files == ["app.py"]


def test_recursion_and_deep_chains_terminate(tmp_path: Path) -> None:
    chain = "".join(f"def f{i}(c):\n    return f{i + 1}(c)\n" for i in range(30))
    analysis = _analyse(tmp_path, {"app.py": (
        "import boto3\n"
        "def ping(c, n):\n    return pong(c, n)\n"
        "def pong(c, n):\n    c.list_queues()\n    return ping(c, n)\n"
        f"{chain}def f30(c):\n    c.list_queues()\n"
        "def handler(e, ctx):\n    ping(boto3.client('sqs'), 1)\n    f0(boto3.client('sqs'))\n"
    )})
    assert ("sqs", "ListQueues", "app.py", 5) in _calls(analysis)


def test_a_helper_called_with_known_values_is_not_also_counted_with_unknown_ones(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, {"app.py": (
        "import boto3\nddb = boto3.client('dynamodb')\n"
        "def read(table):\n    return ddb.get_item(TableName=table, Key={})\n"
        "def handler(e, c):\n    read('orders')\n"
    )})
    assert [c.params.text("TableName") for c in analysis.calls] == [Text.of("orders")]


def test_callbacks_and_inherited_clients_are_followed(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, {"app.py": (
        "import boto3\nfrom concurrent.futures import ThreadPoolExecutor\n"
        "class Base:\n    def __init__(self):\n        self.sqs = boto3.client('sqs')\n"
        "class Worker(Base):\n    def run(self):\n        self.sqs.purge_queue(QueueUrl='u')\n"
        "def handler(e, c):\n    s3 = boto3.client('s3')\n"
        "    def delete(key):\n        s3.delete_object(Bucket='b', Key=key)\n"
        "    with ThreadPoolExecutor() as pool:\n        pool.map(delete, e['keys'])\n"
        "    Worker().run()\n"
    )})
    assert _calls(analysis) == [("sqs", "PurgeQueue", "app.py", 8), ("s3", "DeleteObject", "app.py", 12)]


def test_inline_code_and_syntax_in_strings_do_not_confuse_imports(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, {"app.py": (
        'DOC = """\nimport missing_module\n"""\nimport boto3\n'
        "def handler(e, c):\n    boto3.client('kinesis').put_record(StreamName='clicks', Data=b'', PartitionKey='k')\n"
    )})
    assert _calls(analysis) == [("kinesis", "PutRecord", "app.py", 6)]
    assert analysis.notes == []


# ---------------------------------------------------------------- operations -> IAM actions
def test_every_curated_action_exists_in_the_catalogue() -> None:
    unknown = sorted({action for action in curated_actions() if catalogue().info(action) is None})
    assert unknown == []


def test_every_curated_operation_and_service_exists_in_the_sdk_models() -> None:
    table = sdk_models.curated()
    missing = [f"{service}.{operation}" for service, operations in table["operations"].items()
               for operation in operations if operation not in sdk_models.operations(service)]
    assert missing == []
    names = sdk_models.service_names()
    assert sorted(set(table["iam_prefixes"]) - names) == []
    assert sorted(set(table["node_v3_packages"].values()) - names) == []
    assert sorted(set(table["node_v2_classes"].values()) - names) == []
    assert sorted(set(table["iam_prefixes"].values()) - catalogue().services()) == []


@pytest.mark.parametrize(("service", "prefix"), [
    ("s3", "s3"), ("stepfunctions", "states"), ("sesv2", "ses"), ("dynamodbstreams", "dynamodb"),
    ("iot-data", "iot"), ("apigatewaymanagementapi", "execute-api"), ("cloudwatch", "cloudwatch"),
    ("resourcegroupstaggingapi", "tag"),
])
def test_iam_prefixes(service: str, prefix: str) -> None:
    assert iam_prefix(service) == prefix


def _struct(**values: object) -> Struct:
    return Struct(tuple((Text.of(name), value) for name, value in values.items()))  # type: ignore[misc]


def _actions(service: str, operation: str, **params: object) -> list[tuple[str, str]]:
    mapping = map_operation(service, operation, _struct(**params))
    return [(r.action, r.reason) for r in mapping.requirements]


def test_operations_whose_actions_differ_from_their_names() -> None:
    assert _actions("s3", "ListObjectsV2", Bucket=Text.of("b")) == [("s3:ListBucket", "")]
    assert _actions("s3", "HeadObject", Bucket=Text.of("b"), Key=Text.of("k")) == [("s3:GetObject", "")]
    assert _actions("lambda", "Invoke", FunctionName=Text.of("f")) == [("lambda:InvokeFunction", "")]
    assert _actions("sqs", "SendMessageBatch", QueueUrl=Text.of("u")) == [("sqs:SendMessage", "")]
    assert _actions("apigatewaymanagementapi", "PostToConnection") == [("execute-api:ManageConnections", "")]
    assert _actions("kms", "ReEncrypt") == [("kms:ReEncryptFrom", ""), ("kms:ReEncryptTo", "")]


def test_request_parameters_add_actions() -> None:
    assert _actions("s3", "PutObject", Bucket=Text.of("b"), Key=Text.of("k"), ACL=Text.of("public-read"),
                    Tagging=Text.of("a=b")) == [
        ("s3:PutObject", ""), ("s3:PutObjectAcl", "ACL set"), ("s3:PutObjectTagging", "Tagging set")]
    assert _actions("s3", "GetObject", Bucket=Text.of("b"), Key=Text.of("k"), VersionId=Text.of("v")) == [
        ("s3:GetObject", ""), ("s3:GetObjectVersion", "VersionId set")]
    assert _actions("s3", "CreateMultipartUpload", Bucket=Text.of("b"), Key=Text.of("k"),
                    SSEKMSKeyId=Text.of("k")) == [
        ("s3:PutObject", ""), ("kms:GenerateDataKey", "SSEKMSKeyId set"), ("kms:Decrypt", "SSEKMSKeyId set")]


def test_operations_needing_no_permission_are_told_apart() -> None:
    assert map_operation("sts", "GetCallerIdentity", Struct()).no_permission
    assert map_operation("cognito-idp", "InitiateAuth", Struct()).no_permission
    assert map_operation("cognito-idp", "AdminGetUser", Struct()).requirements[0].action == "cognito-idp:AdminGetUser"


def test_unknown_operations_are_unmapped_not_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    assert map_operation("s3", "Teleport", Struct()).unmapped == "s3 has no operation Teleport in the botocore model"
    # A service botocore knows but the catalogue gives no IAM prefix for: which services those are changes with
    # every botocore release, so the lookup is made to fail on a stable one.
    import lambdasec.iam.operations as operations_module

    monkeypatch.setattr(operations_module, "iam_prefix", lambda service: None)
    mapping = map_operation("sqs", "ListQueues", Struct())
    assert mapping.requirements == [] and mapping.unmapped == "no IAM service prefix known for sqs"


@pytest.mark.parametrize(("statement", "verb", "table", "index"), [
    ('SELECT * FROM "orders" WHERE id = ?', "SELECT", "orders", None),
    ("select * from orders.byDate", "SELECT", "orders", "byDate"),
    ('INSERT INTO "audit" VALUE {}', "INSERT", "audit", None),
    ('UPDATE "carts" SET n = 1 WHERE id = ?', "UPDATE", "carts", None),
    ('DELETE FROM sessions WHERE id = ?', "DELETE", "sessions", None),
    ('EXISTS(SELECT * FROM "stock" WHERE sku = ?)', "EXISTS", "stock", None),
])
def test_partiql_statements(statement: str, verb: str, table: str, index: str | None) -> None:
    parsed = parse_partiql(Text.of(statement))
    assert parsed is not None
    assert (parsed[0], parsed[1].literal(), parsed[2].literal() if parsed[2] else None) == (verb, table, index)


def test_a_partiql_statement_built_from_the_environment_keeps_its_table() -> None:
    parsed = parse_partiql(Text(('SELECT * FROM "', EnvRef("TABLE"), '" WHERE id = ?')))
    assert parsed == ("SELECT", Text((EnvRef("TABLE"),)), None)
    unknown = map_operation("dynamodb", "ExecuteStatement", _struct(Statement=Opaque("event['q']")))
    assert [r.action for r in unknown.requirements] == [
        "dynamodb:PartiQLDelete", "dynamodb:PartiQLInsert", "dynamodb:PartiQLSelect", "dynamodb:PartiQLUpdate"]
    assert all(r.resource is None and r.note for r in unknown.requirements)


# ---------------------------------------------------------------- resources
def _arns(pattern: str, environment: dict[str, object] | None = None, **values: object) -> list[tuple[str, ...]]:
    resolver = Resolver(environment)  # type: ignore[arg-type]
    found, _ = resolver.arns(ArnTemplate(pattern, tuple(values.items())))  # type: ignore[arg-type]
    return [(arn.pattern, *arn.equivalents) for arn in found]


def test_resource_arns_from_literals_and_parts() -> None:
    assert _arns("{QueueUrl|sqs_queue_url}", QueueUrl=Text.of("https://sqs.eu-west-1.amazonaws.com/111122223333/q")) \
        == [("arn:aws:sqs:eu-west-1:111122223333:q",)]
    assert _arns("{SecretId|secret}", SecretId=Text.of("db")) == [("arn:aws:secretsmanager:*:*:secret:db-??????",)]
    assert _arns("{FunctionName|lambda_function}", FunctionName=Text.of("arn:aws:lambda:eu-west-1:1:function:f")) \
        == [("arn:aws:lambda:eu-west-1:1:function:f",)]
    assert _arns("{Names|ssm_parameter}", Names=Seq((Text.of("/a"), Text.of("b")))) == [
        ("arn:aws:ssm:*:*:parameter/a",), ("arn:aws:ssm:*:*:parameter/b",)]
    assert _arns("arn:aws:s3:::{Bucket}/{Key}", Bucket=Text.of("b"), Key=Text(("in/", Opaque("k")))) == [
        ("arn:aws:s3:::b/in/*",)]
    assert _arns("arn:aws:s3:::{Bucket}/{Key}", Bucket=Opaque("b"), Key=Opaque("k")) == [("*",)]


def test_resource_arns_from_the_environment() -> None:
    environment = {"T": ResourceRef("t.yaml#Orders"), "Q": ResourceRef("main.tf#aws_sqs_queue.q", "url"),
                   "B": "bucket", "U": Unresolved("!ImportValue x")}
    assert _arns("arn:aws:dynamodb:*:*:table/{TableName}", environment, TableName=Text((EnvRef("T"),))) == [
        ("arn:aws:dynamodb:*:*:table/${Orders}", "${Orders.Arn}")]
    assert _arns("{QueueUrl|sqs_queue_url}", environment, QueueUrl=Text((EnvRef("Q"),))) == [
        ("${aws_sqs_queue.q.arn}",)]
    assert _arns("arn:aws:s3:::{Bucket}", environment, Bucket=Text((EnvRef("B"),))) == [("arn:aws:s3:::bucket",)]
    assert _arns("arn:aws:s3:::{Bucket}", environment, Bucket=Text((EnvRef("U"),))) == [("*",)]
    assert _arns("arn:aws:s3:::{Bucket}", None, Bucket=Text((EnvRef("B"),))) == [("*",)]


def test_code_without_a_template_keeps_environment_values_unknown(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, {"app.py": (
        "import os, boto3\ndef handler(e, c):\n"
        "    boto3.client('s3').get_object(Bucket=os.environ['B'], Key='k')\n")})
    policy = needed_policy(analysis)
    assert policy.document()["Statement"] == [{"Effect": "Allow", "Action": ["s3:GetObject"],
                                               "Resource": ["arn:aws:s3:::*/k"]}]
    assert [n.message for n in policy.notes] == [
        "s3:GetObject on arn:aws:s3:::*/k: environment variable B (its value is set outside the code) is not "
        "known statically"]


# ---------------------------------------------------------------- code sources
def test_zip_is_read_in_memory_and_escaping_entries_are_ignored(tmp_path: Path) -> None:
    archive = tmp_path / "fn.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("app.py", "import boto3\ndef handler(e, c):\n    boto3.client('s3').list_buckets()\n")
        z.writestr("../evil.py", "import boto3\nboto3.client('iam').delete_user(UserName='x')\n")
        z.writestr("node_modules/x/index.js", "require('aws-sdk')\n")
    source = open_source(archive)
    assert source.files() == ["app.py"]
    analysis = analyse_python(source, None)
    assert _calls(analysis) == [("s3", "ListBuckets", "app.py", 3)]
    assert not (tmp_path / "evil.py").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["fn.zip"]


def test_a_file_that_is_not_a_zip_is_a_source_error(tmp_path: Path) -> None:
    bad = tmp_path / "fn.zip"
    bad.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(SourceError, match="not a zip"):
        open_source(bad)
    with pytest.raises(SourceError, match="no such file"):
        open_source(tmp_path / "missing")


def test_a_zip_entry_larger_than_declared_is_cut_at_the_limit(tmp_path: Path) -> None:
    archive = tmp_path / "fn.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.py", "x = 1\n" * (MAX_SOURCE_BYTES // 6 + 10))
    source = open_source(archive)
    assert source.read("big.py") is None and source.size("big.py") is not None


def test_third_party_packages_are_read_from_dist_info(tmp_path: Path) -> None:
    (tmp_path / "requests-2.0.dist-info").mkdir()
    (tmp_path / "requests-2.0.dist-info" / "RECORD").write_text("requests/__init__.py,,\nsix.py,,\n")
    (tmp_path / "attrs-1.0.dist-info").mkdir()
    (tmp_path / "attrs-1.0.dist-info" / "top_level.txt").write_text("attr\nattrs\n")
    assert third_party_roots(open_source(tmp_path)) == frozenset({"requests", "six", "attr", "attrs"})


def test_clients_with_credentials_of_their_own_are_not_the_roles(tmp_path: Path) -> None:
    analysis = _analyse(tmp_path, {"app.py": (
        "import boto3\nother = boto3.client('s3', aws_access_key_id='k', aws_secret_access_key='s')\n"
        "session = boto3.Session(profile_name='archive')\n"
        "def handler(e, c):\n    other.put_object(Bucket='b', Key='k')\n"
        "    session.client('sqs').send_message(QueueUrl='u', MessageBody='x')\n"
        "    boto3.client('sns').publish(TopicArn='arn:aws:sns:us-east-1:111122223333:t', Message='x')\n")})
    policy = needed_policy(analysis)
    assert [s["Action"] for s in policy.document()["Statement"]] == [["sns:Publish"]]
    assert [(n.kind, n.location.line) for n in policy.notes] == [("other-credentials", 5), ("other-credentials", 6)]
