#!/usr/bin/env python3
"""Generate a deterministic corpus of realistic CloudFormation / SAM templates for benchmarking.

The corpus mixes plain CloudFormation (YAML with short or long intrinsic syntax, and JSON) and SAM
templates with 1-8 Lambda functions each, plus the surrounding resources real projects carry (roles and
inline policies, permissions, function URLs, layers, VPCs with subnets and security groups, API Gateway,
queues, tables, buckets, alarms...). Some functions deliberately carry weaknesses (fake hard-coded
secrets, public permissions, unauthenticated URLs, wildcard policies, deprecated runtimes) so that the
scanners have something to report. All secrets are random fakes.

Python standard library only; the same seed always produces byte-identical files.

    python3 bench/make_corpus.py --out bench/.work/corpus -n 400 --seed 7
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import string
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# --------------------------------------------------------------------------------------------------
# Intrinsic functions and the YAML / JSON writers
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intrinsic:
    """A CloudFormation intrinsic, written as a short tag (!Ref) or long form (Fn::...) depending on style."""

    name: str
    arg: Any


def ref(name: str) -> Intrinsic:
    return Intrinsic("Ref", name)


def getatt(resource: str, attribute: str) -> Intrinsic:
    return Intrinsic("GetAtt", f"{resource}.{attribute}")


def sub(text: str, variables: dict[str, Any] | None = None) -> Intrinsic:
    return Intrinsic("Sub", text if variables is None else [text, variables])


def join(delimiter: str, items: list[Any]) -> Intrinsic:
    return Intrinsic("Join", [delimiter, items])


def select_az(index: int) -> Intrinsic:
    return Intrinsic("Select", [index, Intrinsic("GetAZs", "")])


def long_form(node: Any) -> Any:
    """Replace Intrinsic objects with their JSON / long YAML form."""
    if isinstance(node, Intrinsic):
        if node.name == "Ref":
            return {"Ref": node.arg}
        if node.name == "GetAtt":
            return {"Fn::GetAtt": node.arg.split(".", 1)}
        return {f"Fn::{node.name}": long_form(node.arg)}
    if isinstance(node, dict):
        return {key: long_form(value) for key, value in node.items()}
    if isinstance(node, list):
        return [long_form(item) for item in node]
    return node


_YAML_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~", ""}
_BLOCK_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./:*() -]*$")
_FLOW_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")
_BLOCK_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_:./-]*[A-Za-z0-9]$|^[A-Za-z]$")


def _quote(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid YAML double-quoted scalar


def _scalar(value: Any, *, flow: bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if text.lower() in _YAML_RESERVED:
        return _quote(text)
    if flow:
        return text if _FLOW_PLAIN.match(text) else _quote(text)
    plain_ok = (
        _BLOCK_PLAIN.match(text)
        and ": " not in text
        and " #" not in text
        and not text.endswith((" ", ":"))
    )
    return text if plain_ok else _quote(text)


def _key(key: str, *, flow: bool) -> str:
    if flow:
        return key if _FLOW_PLAIN.match(key) else _quote(key)
    return key if _BLOCK_KEY.match(key) and key.lower() not in _YAML_RESERVED else _quote(key)


def _flow(node: Any) -> str:
    if isinstance(node, Intrinsic):
        return f"!{node.name} {_flow(node.arg)}"
    if isinstance(node, list):
        return "[" + ", ".join(_flow(item) for item in node) + "]"
    if isinstance(node, dict):
        return "{" + ", ".join(f"{_key(k, flow=True)}: {_flow(v)}" for k, v in node.items()) + "}"
    return _scalar(node, flow=True)


def _inline(node: Any) -> str | None:
    """The one-line form of a node, or None when it needs a block."""
    if isinstance(node, Intrinsic):
        if isinstance(node.arg, str):
            return f"!{node.name} {_scalar(node.arg, flow=False)}"
        return f"!{node.name} {_flow(node.arg)}"
    if isinstance(node, dict):
        return "{}" if not node else None
    if isinstance(node, list):
        return "[]" if not node else None
    if isinstance(node, str) and "\n" in node:
        return None
    return _scalar(node, flow=False)


def _block(node: Any, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            head = f"{pad}{_key(key, flow=False)}:"
            if isinstance(value, str) and "\n" in value:
                lines.append(f"{head} |")
                lines.extend((pad + "  " + line) if line else "" for line in value.rstrip("\n").split("\n"))
                continue
            inline = _inline(value)
            if inline is not None:
                lines.append(f"{head} {inline}")
            else:
                lines.append(head)
                lines.extend(_block(value, indent + 2))
        return lines
    for item in node:
        inline = _inline(item) if not (isinstance(item, str) and "\n" in item) else _quote(item)
        if inline is not None:
            lines.append(f"{pad}- {inline}")
        else:
            nested = _block(item, indent + 2)
            nested[0] = f"{pad}- {nested[0][indent + 2:]}"
            lines.extend(nested)
    return lines


def to_yaml(template: dict[str, Any], *, short_tags: bool, header: str) -> str:
    body = template if short_tags else long_form(template)
    lines = [f"# {header}"]
    for index, (key, value) in enumerate(body.items()):
        if index and isinstance(value, dict):
            lines.append("")  # blank line between top-level sections, as people write them
        lines.extend(_block({key: value}, 0))
    return "\n".join(lines) + "\n"


def to_json(template: dict[str, Any], *, indent: int) -> str:
    return json.dumps(long_form(template), indent=indent) + "\n"


# --------------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------------

SERVICES = {
    "orders": ["Order", "Cart", "Checkout", "Invoice", "Refund"],
    "payments": ["Payment", "Charge", "Payout", "Ledger", "Webhook"],
    "users": ["User", "Profile", "Session", "Preference", "Avatar"],
    "inventory": ["Stock", "Sku", "Warehouse", "Reservation", "Supplier"],
    "notifications": ["Email", "Sms", "Push", "Digest", "Template"],
    "media": ["Thumbnail", "Transcode", "Upload", "Image", "Video"],
    "reports": ["Report", "Metric", "Dashboard", "Export", "Snapshot"],
    "auth": ["Token", "Login", "Mfa", "Password", "Authorizer"],
    "search": ["Index", "Query", "Suggestion", "Document", "Crawl"],
    "billing": ["Subscription", "Plan", "Usage", "Receipt", "Coupon"],
    "audit": ["AuditEvent", "Trail", "Finding", "Evidence", "Control"],
    "ingest": ["Record", "Batch", "Stream", "Partition", "Schema"],
    "scheduler": ["Job", "Task", "Cron", "Reminder", "Slot"],
    "catalog": ["Product", "Category", "Price", "Review", "Listing"],
    "shipping": ["Shipment", "Label", "Carrier", "Tracking", "Rate"],
}
VERBS = [
    "Create", "Get", "List", "Update", "Delete", "Process", "Sync", "Export", "Import", "Notify",
    "Validate", "Archive", "Aggregate", "Handle", "Dispatch", "Reconcile", "Refresh", "Generate", "Cleanup",
]
RUNTIMES = [
    ("python3.12", 18), ("python3.11", 10), ("python3.13", 8), ("python3.14", 5), ("nodejs24.x", 5),
    ("nodejs20.x", 10), ("nodejs22.x", 10),
    ("nodejs18.x", 8), ("java21", 4), ("java17", 3), ("provided.al2023", 4), ("dotnet8", 2), ("ruby3.3", 2),
    ("python3.9", 4), ("python3.8", 3), ("python3.7", 2), ("nodejs16.x", 2), ("nodejs14.x", 2), ("go1.x", 2),
]
MEMORY = [128, 128, 256, 256, 512, 512, 1024, 1769, 2048, 3008]
TIMEOUTS = [3, 6, 10, 15, 30, 30, 60, 120, 300, 900]
PYTHON_CODE = '''import json
import os


def lambda_handler(event, context):
    table = os.environ.get("TABLE_NAME")
    print(json.dumps({"table": table, "records": len(event.get("Records", []))}))
    return {"statusCode": 200, "body": json.dumps({"ok": True})}
'''
NODE_CODE = '''exports.handler = async (event) => {
  console.log(JSON.stringify({ records: (event.Records || []).length }));
  return { statusCode: 200, body: JSON.stringify({ ok: true }) };
};
'''


def runtime_family(runtime: str) -> str:
    return re.sub(r"[0-9.]+.*$", "", runtime)


def handler_for(runtime: str, service: str, noun: str) -> str:
    family = runtime_family(runtime)
    return {
        "python": "app.lambda_handler",
        "nodejs": "index.handler",
        "java": f"com.example.{service}.{noun}Handler::handleRequest",
        "provided": "bootstrap",
        "dotnet": f"{noun}::{noun}.Function::FunctionHandler",
        "ruby": "app.lambda_handler",
        "go": "main",
    }[family]


def source_files(family: str, service: str, noun: str) -> dict[str, str]:
    """A minimal but plausible source tree for one function of a SAM project."""
    if family == "python":
        return {"app.py": PYTHON_CODE, "requirements.txt": "boto3==1.35.49\n"}
    if family == "nodejs":
        package = {"name": f"{service}-{noun.lower()}", "version": "1.0.0", "main": "index.js",
                   "dependencies": {"@aws-sdk/client-dynamodb": "^3.600.0"}}
        return {"index.js": NODE_CODE, "package.json": json.dumps(package, indent=2) + "\n"}
    if family == "java":
        return {f"src/main/java/com/example/{service}/{noun}Handler.java":
                f"package com.example.{service};\n\npublic class {noun}Handler {{\n"
                "    public String handleRequest(Object event, Object context) { return \"ok\"; }\n}\n"}
    if family == "dotnet":
        return {"Function.cs": f"namespace {noun};\n\npublic class Function\n{{\n"
                "    public string FunctionHandler(string input) => input;\n}\n"}
    if family == "go":
        return {"main.go": "package main\n\nimport \"github.com/aws/aws-lambda-go/lambda\"\n\n"
                "func handler() (string, error) { return \"ok\", nil }\n\nfunc main() { lambda.Start(handler) }\n"}
    if family == "ruby":
        return {"app.rb": "def lambda_handler(event:, context:)\n  { statusCode: 200 }\nend\n"}
    return {"bootstrap": "#!/bin/sh\nset -eu\nexec ./handler\n"}


def camel_to_kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def camel_to_snake(name: str) -> str:
    return camel_to_kebab(name).replace("-", "_")


# --------------------------------------------------------------------------------------------------
# Template builder
# --------------------------------------------------------------------------------------------------


class Builder:
    """Accumulates one template; the helpers add shared resources on first use."""

    def __init__(self, rng: random.Random, *, sam: bool, index: int) -> None:
        self.rng = rng
        self.sam = sam
        self.service = rng.choice(sorted(SERVICES))
        self.Service = self.service.capitalize()
        self.nouns = SERVICES[self.service]
        self.index = index
        self.parameters: dict[str, Any] = {}
        self.conditions: dict[str, Any] = {}
        self.resources: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.globals: dict[str, Any] = {}
        self.function_ids: list[str] = []
        self.vpc: dict[str, Any] | None = None
        self.files: dict[str, str] = {}  # code next to a SAM template (CodeUri / ContentUri directories)
        self.stage_param()

    # ---- helpers -------------------------------------------------------------------------------
    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def add(self, logical_id: str, rtype: str, properties: dict[str, Any] | None = None, **extra: Any) -> str:
        resource: dict[str, Any] = {"Type": rtype}
        resource.update(extra)
        if properties is not None:
            resource["Properties"] = properties
        self.resources[logical_id] = resource
        return logical_id

    def tags(self) -> list[dict[str, Any]]:
        tags: list[dict[str, Any]] = [{"Key": "service", "Value": self.service},
                                      {"Key": "stage", "Value": ref("Stage")}]
        if self.chance(0.4):
            tags.append({"Key": "owner", "Value": self.rng.choice(["platform-team", "team-core", "data-eng"])})
        return tags

    def stage_param(self) -> None:
        self.parameters["Stage"] = {
            "Type": "String",
            "Default": self.rng.choice(["dev", "staging", "prod"]),
            "AllowedValues": ["dev", "staging", "prod"],
            "Description": "Deployment stage",
        }
        if self.chance(0.5):
            self.parameters["LogLevel"] = {"Type": "String", "Default": "INFO",
                                           "AllowedValues": ["DEBUG", "INFO", "WARN", "ERROR"]}
        if self.chance(0.3):
            self.conditions["IsProd"] = {"Fn::Equals": [ref("Stage"), "prod"]}

    def fake_secret(self, kind: str) -> str:
        rng = self.rng
        upper = string.ascii_uppercase + string.digits
        mixed = string.ascii_letters + string.digits
        if kind == "aws_key":
            return "AKIA" + "".join(rng.choice(upper) for _ in range(16))
        if kind == "aws_secret":
            return "".join(rng.choice(mixed + "/+") for _ in range(40))
        if kind == "github":
            return "ghp_" + "".join(rng.choice(mixed) for _ in range(36))
        if kind == "stripe":
            return "sk_live_" + "".join(rng.choice(mixed) for _ in range(24))
        if kind == "slack":
            return "xoxb-" + "-".join("".join(rng.choice(string.digits) for _ in range(12)) for _ in range(2)) + \
                "-" + "".join(rng.choice(mixed) for _ in range(24))
        return "".join(rng.choice(mixed) for _ in range(10)) + "!9"

    # ---- shared resources ----------------------------------------------------------------------
    def table(self) -> str:
        name = f"{self.Service}Table"
        if name not in self.resources:
            props: dict[str, Any] = {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                         {"AttributeName": "sk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                              {"AttributeName": "sk", "KeyType": "RANGE"}],
                "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            }
            if self.chance(0.5):
                props["SSESpecification"] = {"SSEEnabled": True}
            props["Tags"] = self.tags()
            self.add(name, "AWS::DynamoDB::Table", props, DeletionPolicy="Retain", UpdateReplacePolicy="Retain")
        return name

    def bucket(self) -> str:
        name = f"{self.Service}Bucket"
        if name not in self.resources:
            props: dict[str, Any] = {
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": self.rng.choice(["AES256", "aws:kms"])}}]},
                "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                   "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
                "VersioningConfiguration": {"Status": "Enabled"},
            }
            if self.chance(0.5):
                props["LifecycleConfiguration"] = {"Rules": [
                    {"Id": "expire-tmp", "Status": "Enabled", "Prefix": "tmp/", "ExpirationInDays": 7}]}
            self.add(name, "AWS::S3::Bucket", props)
        return name

    def uploads_bucket(self) -> str:
        """A bucket only used as an S3 event source: referencing it from the function's policy would be circular."""
        name = f"{self.Service}UploadsBucket"
        if name not in self.resources:
            self.add(name, "AWS::S3::Bucket", {"PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True}})
        return name

    def queue(self, purpose: str = "Work") -> str:
        name = f"{self.Service}{purpose}Queue"
        if name not in self.resources:
            props: dict[str, Any] = {"VisibilityTimeout": 960, "MessageRetentionPeriod": 1209600}
            if self.chance(0.5):
                props["SqsManagedSseEnabled"] = True
            elif self.chance(0.3):
                props["KmsMasterKeyId"] = "alias/aws/sqs"
            self.add(name, "AWS::SQS::Queue", props)
        return name

    def topic(self) -> str:
        name = f"{self.Service}Topic"
        if name not in self.resources:
            self.add(name, "AWS::SNS::Topic", {"TopicName": sub("${AWS::StackName}-" + self.service + "-events")})
        return name

    def kms_key(self) -> str:
        name = "AppKey"
        if name not in self.resources:
            self.add(name, "AWS::KMS::Key", {
                "Description": f"{self.service} application key",
                "EnableKeyRotation": True,
                "KeyPolicy": {"Version": "2012-10-17", "Statement": [{
                    "Sid": "EnableRootAccess", "Effect": "Allow",
                    "Principal": {"AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
                    "Action": "kms:*", "Resource": "*"}]},
            })
        return name

    def secret(self) -> str:
        name = f"{self.Service}DbSecret"
        if name not in self.resources:
            self.add(name, "AWS::SecretsManager::Secret", {
                "Description": f"{self.service} database credentials",
                "GenerateSecretString": {"SecretStringTemplate": "{\"username\": \"app\"}",
                                         "GenerateStringKey": "password", "PasswordLength": 32,
                                         "ExcludeCharacters": "\"@/\\"},
            })
        return name

    def signing(self) -> str:
        name = "CodeSigningConfig"
        if name not in self.resources:
            self.add("SigningProfile", "AWS::Signer::SigningProfile", {"PlatformId": "AWSLambda-SHA384-ECDSA"})
            self.add(name, "AWS::Lambda::CodeSigningConfig", {
                "AllowedPublishers": {"SigningProfileVersionArns": [getatt("SigningProfile", "ProfileVersionArn")]},
                "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": self.rng.choice(["Enforce", "Warn"])},
            })
        return name

    def layer(self) -> str:
        name = f"{self.Service}DepsLayer"
        if name not in self.resources:
            runtimes = ["python3.12", "python3.11"]
            if self.sam:
                self.files["layers/deps/requirements.txt"] = "aws-lambda-powertools==3.2.0\nrequests==2.32.3\n"
                self.add(name, "AWS::Serverless::LayerVersion", {
                    "LayerName": sub("${AWS::StackName}-deps"), "ContentUri": "layers/deps/",
                    "CompatibleRuntimes": runtimes, "RetentionPolicy": "Retain"})
            else:
                self.add(name, "AWS::Lambda::LayerVersion", {
                    "LayerName": sub("${AWS::StackName}-deps"),
                    "Content": {"S3Bucket": sub("artifacts-${AWS::AccountId}-${AWS::Region}"),
                                "S3Key": f"layers/{self.service}-deps.zip"},
                    "CompatibleRuntimes": runtimes})
            if self.chance(0.5):
                principal = self.rng.choice(["*", "*", "123456789012", "210987654321"])
                props: dict[str, Any] = {"Action": "lambda:GetLayerVersion", "LayerVersionArn": ref(name),
                                         "Principal": principal}
                if principal == "*" and self.chance(0.5):
                    props["OrganizationId"] = "o-a1b2c3d4e5"
                self.add(f"{name}Permission", "AWS::Lambda::LayerVersionPermission", props)
        return name

    def network(self) -> dict[str, Any]:
        """A VPC built in the template, or subnet / security-group ids taken as parameters."""
        if self.vpc is not None:
            return self.vpc
        if self.chance(0.45):
            self.parameters["SubnetIds"] = {"Type": "List<AWS::EC2::Subnet::Id>",
                                            "Description": "Private subnets for the functions"}
            self.parameters["SecurityGroupIds"] = {"Type": "List<AWS::EC2::SecurityGroup::Id>"}
            self.vpc = {"SubnetIds": ref("SubnetIds"), "SecurityGroupIds": ref("SecurityGroupIds")}
            return self.vpc
        self.add("Vpc", "AWS::EC2::VPC", {"CidrBlock": "10.20.0.0/16", "EnableDnsSupport": True,
                                          "EnableDnsHostnames": True, "Tags": self.tags()})
        self.add("InternetGateway", "AWS::EC2::InternetGateway", {})
        self.add("GatewayAttachment", "AWS::EC2::VPCGatewayAttachment",
                 {"VpcId": ref("Vpc"), "InternetGatewayId": ref("InternetGateway")})
        self.add("PublicSubnet", "AWS::EC2::Subnet", {"VpcId": ref("Vpc"), "CidrBlock": "10.20.0.0/24",
                                                      "AvailabilityZone": select_az(0),
                                                      "MapPublicIpOnLaunch": True})
        self.add("PublicRouteTable", "AWS::EC2::RouteTable", {"VpcId": ref("Vpc")})
        self.add("PublicDefaultRoute", "AWS::EC2::Route", {"RouteTableId": ref("PublicRouteTable"),
                                                           "DestinationCidrBlock": "0.0.0.0/0",
                                                           "GatewayId": ref("InternetGateway")},
                 DependsOn="GatewayAttachment")
        self.add("PublicSubnetRouteTableAssociation", "AWS::EC2::SubnetRouteTableAssociation",
                 {"SubnetId": ref("PublicSubnet"), "RouteTableId": ref("PublicRouteTable")})
        use_nat = self.chance(0.7)
        if use_nat:
            self.add("NatEip", "AWS::EC2::EIP", {"Domain": "vpc"}, DependsOn="GatewayAttachment")
            self.add("NatGateway", "AWS::EC2::NatGateway", {"AllocationId": getatt("NatEip", "AllocationId"),
                                                            "SubnetId": ref("PublicSubnet")})
        self.add("PrivateRouteTable", "AWS::EC2::RouteTable", {"VpcId": ref("Vpc")})
        route: dict[str, Any] = {"RouteTableId": ref("PrivateRouteTable"), "DestinationCidrBlock": "0.0.0.0/0"}
        if use_nat:
            route["NatGatewayId"] = ref("NatGateway")
        else:  # a "private" subnet routed straight to the internet gateway
            route["GatewayId"] = ref("InternetGateway")
        self.add("PrivateDefaultRoute", "AWS::EC2::Route", route)
        subnet_ids = []
        for az in range(self.rng.choice([1, 2, 2, 3])):
            subnet = f"PrivateSubnet{az + 1}"
            self.add(subnet, "AWS::EC2::Subnet", {"VpcId": ref("Vpc"), "CidrBlock": f"10.20.{10 + az}.0/24",
                                                  "AvailabilityZone": select_az(az), "Tags": self.tags()})
            self.add(f"{subnet}RouteTableAssociation", "AWS::EC2::SubnetRouteTableAssociation",
                     {"SubnetId": ref(subnet), "RouteTableId": ref("PrivateRouteTable")})
            subnet_ids.append(ref(subnet))
        sg: dict[str, Any] = {"GroupDescription": f"{self.service} functions", "VpcId": ref("Vpc")}
        egress = self.rng.choice(["absent", "all", "https", "https"])
        if egress == "all":
            sg["SecurityGroupEgress"] = [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}]
        elif egress == "https":
            sg["SecurityGroupEgress"] = [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                                          "CidrIp": "0.0.0.0/0", "Description": "HTTPS to AWS APIs"}]
        if self.chance(0.2):
            sg["SecurityGroupIngress"] = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                           "CidrIp": "0.0.0.0/0"}]
        self.add("FunctionSecurityGroup", "AWS::EC2::SecurityGroup", sg)
        if self.chance(0.4):
            self.add("DynamoDbEndpoint", "AWS::EC2::VPCEndpoint", {
                "VpcId": ref("Vpc"), "VpcEndpointType": "Gateway",
                "ServiceName": sub("com.amazonaws.${AWS::Region}.dynamodb"),
                "RouteTableIds": [ref("PrivateRouteTable")]})
        if self.chance(0.3):
            self.add("SecretsManagerEndpoint", "AWS::EC2::VPCEndpoint", {
                "VpcId": ref("Vpc"), "VpcEndpointType": "Interface", "PrivateDnsEnabled": True,
                "ServiceName": sub("com.amazonaws.${AWS::Region}.secretsmanager"),
                "SubnetIds": subnet_ids, "SecurityGroupIds": [ref("FunctionSecurityGroup")]})
        self.vpc = {"SecurityGroupIds": [ref("FunctionSecurityGroup")], "SubnetIds": subnet_ids}
        return self.vpc

    # ---- per-function pieces -------------------------------------------------------------------
    def environment(self, fn_id: str) -> dict[str, Any]:
        env: dict[str, Any] = {}
        if self.chance(0.7):
            env["TABLE_NAME"] = ref(self.table())
        if self.chance(0.3):
            env["BUCKET_NAME"] = ref(self.bucket())
        if self.chance(0.3):
            env["QUEUE_URL"] = ref(self.queue())
        if self.chance(0.5):
            env["STAGE"] = ref("Stage")
        if "LogLevel" in self.parameters and self.chance(0.7):
            env["LOG_LEVEL"] = ref("LogLevel")
        elif self.chance(0.4):
            env["LOG_LEVEL"] = self.rng.choice(["INFO", "DEBUG", "WARN"])
        if self.chance(0.4):
            env["POWERTOOLS_SERVICE_NAME"] = self.service
        if self.chance(0.2):
            env["SECRET_ARN"] = ref(self.secret())
        if self.chance(0.15):
            env["DB_PASSWORD"] = "{{resolve:secretsmanager:" + f"{self.service}/db:SecretString:password" + "}}"
        if self.chance(0.1):
            self.parameters.setdefault("ApiToken", {"Type": "String", "NoEcho": True})
            env["API_TOKEN"] = ref("ApiToken")
        if self.chance(0.14):  # the weakness the secret rules look for
            kind = self.rng.choice(["aws", "github", "stripe", "slack", "password"])
            if kind == "aws":
                # AWS_ACCESS_KEY_ID itself is reserved by Lambda, so leaked keys carry another name
                env["DEPLOY_AWS_ACCESS_KEY_ID"] = self.fake_secret("aws_key")
                env["DEPLOY_AWS_SECRET_ACCESS_KEY"] = self.fake_secret("aws_secret")
            elif kind == "github":
                env["GITHUB_TOKEN"] = self.fake_secret("github")
            elif kind == "stripe":
                env["STRIPE_SECRET_KEY"] = self.fake_secret("stripe")
            elif kind == "slack":
                env["SLACK_BOT_TOKEN"] = self.fake_secret("slack")
            else:
                env["DB_PASSWORD"] = self.fake_secret("password")
        if self.chance(0.3):
            env["DOWNSTREAM_URL"] = f"https://api.{self.service}.example.com/v{self.rng.randint(1, 3)}"
        return env

    def statements(self, fn_id: str) -> list[dict[str, Any]]:
        statements: list[dict[str, Any]] = []
        table = self.table()
        if self.chance(0.12):
            statements.append({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"})
        else:
            statements.append({"Effect": "Allow",
                               "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                                          "dynamodb:Query"],
                               "Resource": [getatt(table, "Arn"), sub("${" + table + ".Arn}/index/*")]})
        if self.chance(0.35):
            bucket = self.bucket()
            statements.append({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                               "Resource": sub("arn:${AWS::Partition}:s3:::${" + bucket + "}/*")})
        if self.chance(0.2):
            statements.append({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": getatt(self.queue(), "Arn")})
        if self.chance(0.15):
            statements.append({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                               "Resource": ref(self.secret())})
        if self.chance(0.05):
            statements.append({"Effect": "Allow", "Action": ["iam:PassRole", "iam:CreateRole"], "Resource": "*"})
        if self.chance(0.04):
            statements.append({"Effect": "Allow", "Action": "*", "Resource": "*"})
        if self.chance(0.1):
            statements.append({"Effect": "Allow", "Action": "lambda:UpdateFunctionCode",
                               "Resource": sub("arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}"
                                               ":function:*")})
        return statements

    def runtime(self) -> str:
        names, weights = zip(*RUNTIMES, strict=True)
        return self.rng.choices(names, weights=weights)[0]

    def new_function_id(self) -> tuple[str, str]:
        while True:
            noun = self.rng.choice(self.nouns)
            fn_id = f"{self.rng.choice(VERBS)}{noun}Function"
            if fn_id not in self.resources and fn_id not in self.function_ids:
                self.function_ids.append(fn_id)
                return fn_id, noun


# --------------------------------------------------------------------------------------------------
# Plain CloudFormation
# --------------------------------------------------------------------------------------------------


def cfn_role(b: Builder, role_id: str, fn_id: str, in_vpc: bool) -> None:
    basic = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    managed: list[Any] = [sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
                          if b.chance(0.5) else basic]
    if in_vpc:
        managed.append("arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")
    if b.chance(0.06):
        managed.append(b.rng.choice(["arn:aws:iam::aws:policy/AdministratorAccess",
                                     "arn:aws:iam::aws:policy/AmazonS3FullAccess",
                                     "arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess"]))
    if b.chance(0.15):
        managed.append("arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess")
    props: dict[str, Any] = {
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "ManagedPolicyArns": managed,
    }
    if b.chance(0.2):
        props["PermissionsBoundary"] = sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/app-boundary")
    statements = b.statements(fn_id)
    if b.chance(0.8):
        props["Policies"] = [{"PolicyName": f"{camel_to_kebab(fn_id)}-access",
                              "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}]
        b.add(role_id, "AWS::IAM::Role", props)
    else:
        b.add(role_id, "AWS::IAM::Role", props)
        b.add(f"{role_id}Policy", "AWS::IAM::Policy", {
            "PolicyName": f"{camel_to_kebab(fn_id)}-policy", "Roles": [ref(role_id)],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}})


def cfn_function(b: Builder, shared_role: str | None) -> None:
    fn_id, noun = b.new_function_id()
    rng = b.rng
    in_vpc = b.chance(0.55) if (b.vpc is not None or b.chance(0.35)) else False
    role_id = shared_role or f"{fn_id}Role"
    if shared_role is None:
        cfn_role(b, role_id, fn_id, in_vpc)
    runtime = b.runtime()
    props: dict[str, Any] = {}
    if rng.random() < 0.5:
        props["FunctionName"] = sub("${AWS::StackName}-" + camel_to_kebab(fn_id.removesuffix("Function")))
    props["Description"] = f"{fn_id.removesuffix('Function')} handler for the {b.service} service"
    image = rng.random() < 0.05
    if image:
        props["PackageType"] = "Image"
        props["Code"] = {"ImageUri": sub("${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/"
                                         + b.service + ":latest")}
    else:
        props["Runtime"] = runtime
        props["Handler"] = handler_for(runtime, b.service, noun)
        family = runtime_family(runtime)
        if family in ("python", "nodejs") and rng.random() < 0.25:
            props["Code"] = {"ZipFile": PYTHON_CODE if family == "python" else NODE_CODE}
        else:
            props["Code"] = {"S3Bucket": sub("artifacts-${AWS::AccountId}-${AWS::Region}"),
                             "S3Key": f"{b.service}/{camel_to_kebab(fn_id)}-{rng.randint(100, 999)}.zip"}
    props["Role"] = getatt(role_id, "Arn")
    props["MemorySize"] = rng.choice(MEMORY)
    props["Timeout"] = rng.choice(TIMEOUTS)
    if rng.random() < 0.3:
        props["Architectures"] = [rng.choice(["arm64", "x86_64"])]
    env = b.environment(fn_id)
    if env:
        props["Environment"] = {"Variables": env}
        if rng.random() < 0.25:
            props["KmsKeyArn"] = getatt(b.kms_key(), "Arn")
    if rng.random() < 0.4:
        props["TracingConfig"] = {"Mode": rng.choice(["Active", "Active", "PassThrough"])}
    if rng.random() < 0.2:
        props["DeadLetterConfig"] = {"TargetArn": getatt(b.queue("DeadLetter"), "Arn")}
    if rng.random() < 0.25:
        props["ReservedConcurrentExecutions"] = rng.choice([1, 5, 10, 25, 50, 100])
    if in_vpc:
        props["VpcConfig"] = b.network()
    if not image and rng.random() < 0.25:
        layers: list[Any] = [ref(b.layer())]
        if rng.random() < 0.5:
            layers.append(sub("arn:aws:lambda:${AWS::Region}:017000801446:layer:AWSLambdaPowertoolsPythonV2:79"))
        props["Layers"] = layers
    if rng.random() < 0.06:
        props["CodeSigningConfigArn"] = ref(b.signing())
    if rng.random() < 0.2:
        props["LoggingConfig"] = {"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN"}
    if rng.random() < 0.1:
        props["EphemeralStorage"] = {"Size": rng.choice([1024, 2048, 10240])}
    props["Tags"] = b.tags()
    b.add(fn_id, "AWS::Lambda::Function", props)

    if rng.random() < 0.5:
        log_props: dict[str, Any] = {"LogGroupName": sub("/aws/lambda/${" + fn_id + "}"),
                                     "RetentionInDays": rng.choice([7, 14, 30, 90, 365])}
        if "IsProd" in b.conditions:
            log_props["RetentionInDays"] = Intrinsic("If", ["IsProd", 365, 14])
        if rng.random() < 0.2:
            log_props["KmsKeyId"] = getatt(b.kms_key(), "Arn")
        b.add(f"{fn_id}LogGroup", "AWS::Logs::LogGroup", log_props)
    cfn_triggers(b, fn_id)
    if rng.random() < 0.15:
        cfn_url(b, fn_id)
    if rng.random() < 0.3:
        b.add(f"{fn_id}ErrorsAlarm", "AWS::CloudWatch::Alarm", {
            "AlarmDescription": f"Errors in {fn_id}", "Namespace": "AWS/Lambda", "MetricName": "Errors",
            "Dimensions": [{"Name": "FunctionName", "Value": ref(fn_id)}], "Statistic": "Sum", "Period": 300,
            "EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching"})
    if rng.random() < 0.1:
        b.add(f"{fn_id}EventInvokeConfig", "AWS::Lambda::EventInvokeConfig", {
            "FunctionName": ref(fn_id), "Qualifier": "$LATEST", "MaximumRetryAttempts": rng.choice([0, 1, 2]),
            "DestinationConfig": {"OnFailure": {"Destination": getatt(b.queue("DeadLetter"), "Arn")}}})
    if rng.random() < 0.1:
        b.add(f"{fn_id}Version", "AWS::Lambda::Version", {"FunctionName": ref(fn_id)})
        b.add(f"{fn_id}Alias", "AWS::Lambda::Alias", {"FunctionName": ref(fn_id), "Name": "live",
                                                      "FunctionVersion": getatt(f"{fn_id}Version", "Version")})
    b.outputs[f"{fn_id}Arn"] = {"Description": f"{fn_id} ARN", "Value": getatt(fn_id, "Arn"),
                                "Export": {"Name": sub("${AWS::StackName}-" + fn_id + "Arn")}}


def cfn_permission(b: Builder, fn_id: str, suffix: str, principal: str, source: dict[str, Any]) -> None:
    props: dict[str, Any] = {"Action": "lambda:InvokeFunction", "FunctionName": ref(fn_id) if b.chance(0.5)
                             else getatt(fn_id, "Arn"), "Principal": principal}
    props.update(source)
    b.add(f"{fn_id}{suffix}Permission", "AWS::Lambda::Permission", props)


def cfn_triggers(b: Builder, fn_id: str) -> None:
    rng = b.rng
    trigger = rng.choices(["rest", "http", "sqs", "stream", "schedule", "s3", "sns", "none", "public", "account"],
                          weights=[18, 12, 14, 6, 12, 8, 6, 14, 4, 6])[0]
    if trigger == "rest":
        cfn_rest_route(b, fn_id)
    elif trigger == "http":
        cfn_http_route(b, fn_id)
    elif trigger in ("sqs", "stream"):
        props: dict[str, Any] = {"FunctionName": ref(fn_id), "Enabled": True}
        if trigger == "sqs":
            props.update({"EventSourceArn": getatt(b.queue(), "Arn"), "BatchSize": rng.choice([1, 10, 25])})
        else:
            props.update({"EventSourceArn": getatt(b.table(), "StreamArn"), "StartingPosition": "LATEST",
                          "MaximumRetryAttempts": 3})
        b.add(f"{fn_id}EventSourceMapping", "AWS::Lambda::EventSourceMapping", props)
    elif trigger == "schedule":
        rule = f"{fn_id}Schedule"
        b.add(rule, "AWS::Events::Rule", {
            "ScheduleExpression": rng.choice(["rate(5 minutes)", "rate(1 hour)", "cron(0 3 * * ? *)"]),
            "State": "ENABLED", "Targets": [{"Arn": getatt(fn_id, "Arn"), "Id": "target"}]})
        cfn_permission(b, fn_id, "Schedule", "events.amazonaws.com", {"SourceArn": getatt(rule, "Arn")})
    elif trigger == "s3":
        source: dict[str, Any] = {"SourceAccount": ref("AWS::AccountId")}
        if rng.random() < 0.4:
            source = {}  # service principal without SourceArn / SourceAccount
        cfn_permission(b, fn_id, "S3", "s3.amazonaws.com", source)
    elif trigger == "sns":
        cfn_permission(b, fn_id, "Sns", "sns.amazonaws.com", {"SourceArn": ref(b.topic())})
        b.add(f"{fn_id}Subscription", "AWS::SNS::Subscription", {
            "TopicArn": ref(b.topic()), "Protocol": "lambda", "Endpoint": getatt(fn_id, "Arn")})
    elif trigger == "public":
        cfn_permission(b, fn_id, "Public", "*", {})
    elif trigger == "account":
        cfn_permission(b, fn_id, "CrossAccount", rng.choice(["123456789012", "arn:aws:iam::210987654321:root"]), {})


def cfn_rest_route(b: Builder, fn_id: str) -> None:
    if "RestApi" not in b.resources:
        b.add("RestApi", "AWS::ApiGateway::RestApi", {"Name": sub("${AWS::StackName}-api"),
                                                      "EndpointConfiguration": {"Types": ["REGIONAL"]}})
    resource = f"{fn_id}Resource"
    path = camel_to_kebab(fn_id.removesuffix("Function"))
    b.add(resource, "AWS::ApiGateway::Resource", {"RestApiId": ref("RestApi"),
                                                  "ParentId": getatt("RestApi", "RootResourceId"),
                                                  "PathPart": path})
    method = f"{fn_id}Method"
    b.add(method, "AWS::ApiGateway::Method", {
        "RestApiId": ref("RestApi"), "ResourceId": ref(resource), "HttpMethod": b.rng.choice(["GET", "POST", "ANY"]),
        "AuthorizationType": b.rng.choice(["NONE", "NONE", "AWS_IAM"]),
        "Integration": {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST",
                        "Uri": sub("arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31"
                                   "/functions/${" + fn_id + ".Arn}/invocations")}})
    deployment = b.resources.setdefault("ApiDeployment", {"Type": "AWS::ApiGateway::Deployment", "DependsOn": [],
                                                          "Properties": {"RestApiId": ref("RestApi")}})
    deployment["DependsOn"].append(method)
    if "ApiStage" not in b.resources:
        b.add("ApiStage", "AWS::ApiGateway::Stage", {"RestApiId": ref("RestApi"), "StageName": ref("Stage"),
                                                     "DeploymentId": ref("ApiDeployment"),
                                                     "TracingEnabled": b.chance(0.5)})
        b.outputs["ApiUrl"] = {"Value": sub("https://${RestApi}.execute-api.${AWS::Region}.amazonaws.com/${Stage}")}
    cfn_permission(b, fn_id, "Api", "apigateway.amazonaws.com", {
        "SourceArn": sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${RestApi}/*/*/*")})


def cfn_http_route(b: Builder, fn_id: str) -> None:
    if "HttpApi" not in b.resources:
        b.add("HttpApi", "AWS::ApiGatewayV2::Api", {"Name": sub("${AWS::StackName}-http"), "ProtocolType": "HTTP"})
        b.add("HttpApiStage", "AWS::ApiGatewayV2::Stage", {"ApiId": ref("HttpApi"), "StageName": "$default",
                                                           "AutoDeploy": True})
    integration = f"{fn_id}Integration"
    b.add(integration, "AWS::ApiGatewayV2::Integration", {
        "ApiId": ref("HttpApi"), "IntegrationType": "AWS_PROXY", "IntegrationUri": getatt(fn_id, "Arn"),
        "PayloadFormatVersion": "2.0"})
    b.add(f"{fn_id}Route", "AWS::ApiGatewayV2::Route", {
        "ApiId": ref("HttpApi"), "RouteKey": f"{b.rng.choice(['GET', 'POST'])} /{camel_to_kebab(fn_id)}",
        "AuthorizationType": b.rng.choice(["NONE", "NONE", "AWS_IAM"]),
        "Target": sub("integrations/${" + integration + "}")})
    source = {"SourceArn": sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*")}
    cfn_permission(b, fn_id, "HttpApi", "apigateway.amazonaws.com", source if b.chance(0.8) else {})


def cfn_url(b: Builder, fn_id: str) -> None:
    auth = b.rng.choice(["NONE", "NONE", "AWS_IAM"])
    props: dict[str, Any] = {"TargetFunctionArn": getatt(fn_id, "Arn"), "AuthType": auth}
    if b.chance(0.6):
        origins = ["*"] if b.chance(0.5) else [f"https://app.{b.service}.example.com"]
        props["Cors"] = {"AllowOrigins": origins, "AllowMethods": ["GET", "POST"], "MaxAge": 300}
    b.add(f"{fn_id}Url", "AWS::Lambda::Url", props)
    if auth == "NONE":
        b.add(f"{fn_id}UrlPermission", "AWS::Lambda::Permission", {
            "Action": "lambda:InvokeFunctionUrl", "FunctionName": ref(fn_id), "Principal": "*",
            "FunctionUrlAuthType": "NONE"})
    b.outputs[f"{fn_id}Url"] = {"Value": getatt(f"{fn_id}Url", "FunctionUrl")}


def build_cfn(b: Builder, functions: int) -> dict[str, Any]:
    shared_role = None
    if b.chance(0.3):
        shared_role = "LambdaExecutionRole"
        cfn_role(b, shared_role, "Shared", in_vpc=b.chance(0.4))
    for _ in range(functions):
        cfn_function(b, shared_role)
    if b.chance(0.06):
        b.add("AuditTrailBucket", "AWS::S3::Bucket", {})
        b.add("LambdaDataEventsTrail", "AWS::CloudTrail::Trail", {
            "IsLogging": True, "S3BucketName": ref("AuditTrailBucket"), "IsMultiRegionTrail": True,
            "EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True,
                                "DataResources": [{"Type": "AWS::Lambda::Function",
                                                   "Values": ["arn:aws:lambda"]}]}]})
    template: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09",
                                "Description": f"{b.service} service ({len(b.function_ids)} functions)"}
    return finish(b, template)


# --------------------------------------------------------------------------------------------------
# SAM
# --------------------------------------------------------------------------------------------------


def sam_policies(b: Builder, fn_id: str) -> list[Any]:
    rng = b.rng
    policies: list[Any] = []
    choice = rng.random()
    if choice < 0.5:
        policies.append({rng.choice(["DynamoDBCrudPolicy", "DynamoDBReadPolicy"]): {"TableName": ref(b.table())}})
    if rng.random() < 0.3:
        policies.append({rng.choice(["S3ReadPolicy", "S3CrudPolicy"]): {"BucketName": ref(b.bucket())}})
    if rng.random() < 0.2:
        policies.append({"SQSSendMessagePolicy": {"QueueName": getatt(b.queue(), "QueueName")}})
    if rng.random() < 0.15:
        policies.append({"SNSPublishMessagePolicy": {"TopicName": getatt(b.topic(), "TopicName")}})
    if rng.random() < 0.15:
        policies.append({"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": ref(b.secret())}})
    if rng.random() < 0.1:
        policies.append({"SSMParameterReadPolicy": {"ParameterName": f"{b.service}/config"}})
    if rng.random() < 0.08:
        policies.append(rng.choice(["AmazonDynamoDBFullAccess", "AmazonS3FullAccess", "AdministratorAccess"]))
    if rng.random() < 0.15:
        policies.append("AWSXrayWriteOnlyAccess")
    if rng.random() < 0.35:
        policies.append({"Version": "2012-10-17", "Statement": b.statements(fn_id)})
    return policies


def sam_events(b: Builder, fn_id: str, api_id: str | None) -> dict[str, Any]:
    rng = b.rng
    events: dict[str, Any] = {}
    base_path = "/" + camel_to_kebab(fn_id.removesuffix("Function"))
    routes_per_api: dict[str, int] = {}
    for _ in range(rng.choice([0, 1, 1, 1, 2, 2, 3])):
        kind = rng.choices(["Api", "HttpApi", "SQS", "Schedule", "S3", "SNS", "DynamoDB", "EventBridgeRule"],
                           weights=[24, 12, 14, 12, 8, 6, 6, 6])[0]
        name = kind if kind not in events else f"{kind}{len(events) + 1}"
        routes_per_api[kind] = routes_per_api.get(kind, 0) + 1  # one path per route: SAM rejects duplicates
        path = base_path if routes_per_api[kind] == 1 else f"{base_path}/{{id}}/v{routes_per_api[kind]}"
        if kind == "Api":
            props: dict[str, Any] = {"Path": path, "Method": rng.choice(["get", "post", "put", "any"])}
            if api_id:
                props["RestApiId"] = ref(api_id)
                if b.resources[api_id]["Properties"].get("Auth") and rng.random() < 0.3:
                    props["Auth"] = {"Authorizer": "NONE"}
            events[name] = {"Type": "Api", "Properties": props}
        elif kind == "HttpApi":
            events[name] = {"Type": "HttpApi", "Properties": {"Path": path, "Method": rng.choice(["GET", "POST"])}}
        elif kind == "SQS":
            events[name] = {"Type": "SQS", "Properties": {"Queue": getatt(b.queue(), "Arn"),
                                                          "BatchSize": rng.choice([1, 10])}}
        elif kind == "Schedule":
            events[name] = {"Type": "Schedule", "Properties": {
                "Schedule": rng.choice(["rate(5 minutes)", "rate(1 day)", "cron(0 12 * * ? *)"]),
                "Enabled": True}}
        elif kind == "S3":
            events[name] = {"Type": "S3", "Properties": {
                "Bucket": ref(b.uploads_bucket()), "Events": "s3:ObjectCreated:*",
                "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "uploads/"}]}}}}
        elif kind == "SNS":
            events[name] = {"Type": "SNS", "Properties": {"Topic": ref(b.topic())}}
        elif kind == "DynamoDB":
            events[name] = {"Type": "DynamoDB", "Properties": {"Stream": getatt(b.table(), "StreamArn"),
                                                               "StartingPosition": "TRIM_HORIZON",
                                                               "BatchSize": 100}}
        else:
            events[name] = {"Type": "EventBridgeRule", "Properties": {"Pattern": {
                "source": [f"com.example.{b.service}"], "detail-type": [f"{rng.choice(b.nouns)}Changed"]}}}
    return events


def sam_function(b: Builder, api_id: str | None, shared_role: str | None) -> None:
    fn_id, noun = b.new_function_id()
    rng = b.rng
    glob = b.globals.get("Function", {})
    props: dict[str, Any] = {}
    if rng.random() < 0.3:
        props["FunctionName"] = sub("${AWS::StackName}-" + camel_to_kebab(fn_id.removesuffix("Function")))
    props["Description"] = f"{fn_id.removesuffix('Function')} for {b.service}"
    runtime = glob.get("Runtime") if "Runtime" in glob and rng.random() < 0.85 else b.runtime()
    family = runtime_family(runtime)
    if family in ("python", "nodejs") and rng.random() < 0.1:
        props["InlineCode"] = PYTHON_CODE if family == "python" else NODE_CODE
    else:
        props["CodeUri"] = f"src/{camel_to_snake(fn_id.removesuffix('Function'))}/"
        for name, text in source_files(family, b.service, noun).items():
            b.files[props["CodeUri"] + name] = text
    props["Handler"] = handler_for(runtime, b.service, noun)
    if runtime != glob.get("Runtime"):
        props["Runtime"] = runtime
    if rng.random() < 0.5:
        props["MemorySize"] = rng.choice(MEMORY)
    if rng.random() < 0.4:
        props["Timeout"] = rng.choice(TIMEOUTS)
    env = b.environment(fn_id)
    if env:
        props["Environment"] = {"Variables": env}
        if rng.random() < 0.2:
            props["KmsKeyArn"] = getatt(b.kms_key(), "Arn")
    if shared_role is not None and rng.random() < 0.7:
        props["Role"] = getatt(shared_role, "Arn")
    else:
        policies = sam_policies(b, fn_id)
        if policies:
            props["Policies"] = policies
    events = sam_events(b, fn_id, api_id)
    if events:
        props["Events"] = events
    if rng.random() < 0.15:
        url: dict[str, Any] = {"AuthType": rng.choice(["NONE", "NONE", "AWS_IAM"])}
        if rng.random() < 0.6:
            url["Cors"] = {"AllowOrigins": ["*"] if rng.random() < 0.5 else [f"https://{b.service}.example.com"],
                           "AllowMethods": ["GET", "POST"]}
        props["FunctionUrlConfig"] = url
        b.outputs[f"{fn_id}Endpoint"] = {"Value": getatt(f"{fn_id}Url", "FunctionUrl")}
    if "Tracing" not in glob and rng.random() < 0.35:
        props["Tracing"] = "Active"
    if rng.random() < 0.2:
        props["DeadLetterQueue"] = {"Type": "SQS", "TargetArn": getatt(b.queue("DeadLetter"), "Arn")}
    if rng.random() < 0.25:
        props["ReservedConcurrentExecutions"] = rng.choice([1, 5, 10, 20, 50])
    if b.vpc is not None and rng.random() < 0.6 or b.vpc is None and rng.random() < 0.2:
        props["VpcConfig"] = b.network()
        if "Role" not in props:
            props.setdefault("Policies", []).append("AWSLambdaVPCAccessExecutionRole")
    if rng.random() < 0.25:
        props["Layers"] = [ref(b.layer())]
    if rng.random() < 0.05:
        props["CodeSigningConfigArn"] = ref(b.signing())
    if rng.random() < 0.2:
        props["AutoPublishAlias"] = "live"
    if "Architectures" not in glob and rng.random() < 0.2:
        props["Architectures"] = ["arm64"]
    b.add(fn_id, "AWS::Serverless::Function", props)
    if rng.random() < 0.3:
        b.add(f"{fn_id}LogGroup", "AWS::Logs::LogGroup", {"LogGroupName": sub("/aws/lambda/${" + fn_id + "}"),
                                                          "RetentionInDays": rng.choice([7, 14, 30, 90])})
    if rng.random() < 0.06:  # a hand-written permission next to the SAM events
        b.add(f"{fn_id}PartnerPermission", "AWS::Lambda::Permission", {
            "Action": "lambda:InvokeFunction", "FunctionName": ref(fn_id),
            "Principal": rng.choice(["*", "123456789012"])})
    b.outputs[f"{fn_id}Arn"] = {"Value": getatt(fn_id, "Arn")}
    if "IsProd" in b.conditions and f"{fn_id}LogGroup" in b.resources:
        b.resources[f"{fn_id}LogGroup"]["Condition"] = "IsProd"


def build_sam(b: Builder, functions: int) -> dict[str, Any]:
    rng = b.rng
    glob: dict[str, Any] = {}
    if rng.random() < 0.8:
        fn_glob: dict[str, Any] = {"Runtime": b.runtime(), "Timeout": rng.choice(TIMEOUTS[:6]),
                                   "MemorySize": rng.choice(MEMORY)}
        if rng.random() < 0.4:
            fn_glob["Tracing"] = "Active"
        if rng.random() < 0.5:
            fn_glob["Environment"] = {"Variables": {"STAGE": ref("Stage"), "POWERTOOLS_SERVICE_NAME": b.service}}
        if rng.random() < 0.3:
            fn_glob["Architectures"] = ["arm64"]
        glob["Function"] = fn_glob
    b.globals = glob
    api_id = None
    if rng.random() < 0.4:
        api_id = f"{b.Service}Api"
        api: dict[str, Any] = {"StageName": ref("Stage")}
        if rng.random() < 0.4:
            api["Auth"] = {"DefaultAuthorizer": "AWS_IAM"}
        if rng.random() < 0.3:
            api["MethodSettings"] = [{"ResourcePath": "/*", "HttpMethod": "*", "LoggingLevel": "INFO"}]
        b.add(api_id, "AWS::Serverless::Api", api)
    if rng.random() < 0.3:
        glob["Api"] = {"TracingEnabled": True}
        if api_id is None:  # SAM only accepts Cors for an explicit API with an inline DefinitionBody
            glob["Api"]["Cors"] = {"AllowOrigin": "'*'", "AllowMethods": "'GET,POST'"}
    shared_role = None
    if rng.random() < 0.12:
        shared_role = "SharedFunctionRole"
        cfn_role(b, shared_role, "Shared", in_vpc=False)
    for _ in range(functions):
        sam_function(b, api_id, shared_role)
    template: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09",
                                "Transform": "AWS::Serverless-2016-10-31",
                                "Description": f"{b.service} serverless application"}
    return finish(b, template)


def finish(b: Builder, template: dict[str, Any]) -> dict[str, Any]:
    template["Parameters"] = b.parameters
    if b.conditions:
        template["Conditions"] = b.conditions
    if b.globals:
        template["Globals"] = b.globals
    template["Resources"] = b.resources
    if b.outputs:
        template["Outputs"] = b.outputs
    return template


# --------------------------------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------------------------------

KINDS = [("sam-yaml", 45), ("cfn-yaml", 34), ("cfn-json", 16), ("sam-json", 5)]
FUNCTION_COUNT_WEIGHTS = [20, 18, 15, 12, 10, 9, 8, 8]  # 1..8 functions, small stacks are most common


def generate_one(seed: int, index: int) -> tuple[str, str, dict[str, Any], dict[str, str]]:
    """Return (relative path, text, manifest entry, source files by relative path) for template ``index``."""
    rng = random.Random(f"lambdasec-bench:{seed}:{index}")
    kind = rng.choices([k for k, _ in KINDS], weights=[w for _, w in KINDS])[0]
    functions = rng.choices(range(1, 9), weights=FUNCTION_COUNT_WEIGHTS)[0]
    sam = kind.startswith("sam")
    builder = Builder(rng, sam=sam, index=index)
    template = build_sam(builder, functions) if sam else build_cfn(builder, functions)
    folder = f"{index:04d}-{builder.service}"
    header = f"{builder.service} stack #{index}"
    if kind.endswith("json"):
        text = to_json(template, indent=rng.choice([2, 2, 4]))
        name = "template.json" if sam else f"{builder.service}-stack.json"
        style = "json"
    else:
        short = rng.random() < 0.75
        text = to_yaml(template, short_tags=short, header=header)
        name = rng.choice(["template.yaml", "template.yml"]) if sam else rng.choice(
            [f"{builder.service}.yaml", "cloudformation.yaml", f"cfn/{builder.service}-stack.yml"])
        style = "yaml-short" if short else "yaml-long"
    entry: dict[str, Any] = {"path": f"{folder}/{name}", "kind": "sam" if sam else "cfn", "syntax": style,
             "functions": len(builder.function_ids), "resources": len(template["Resources"]),
             "lines": text.count("\n"), "bytes": len(text.encode())}
    sources = {f"{folder}/{name.rsplit('/', 1)[0] + '/' if '/' in name else ''}{rel}": content
               for rel, content in builder.files.items()}
    return f"{folder}/{name}", text, entry, sources


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / ".work" / "corpus")
    parser.add_argument("-n", "--count", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--manifest", type=Path, help="default: <out>.manifest.json next to the corpus")
    args = parser.parse_args(argv)

    out: Path = args.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    entries = []
    for index in range(args.count):
        rel, text, entry, sources = generate_one(args.seed, index)
        for path, content in [(rel, text), *sources.items()]:
            target = out / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text if path == rel else content, encoding="utf-8")
        entries.append(entry)
    manifest = args.manifest or out.with_name(out.name + ".manifest.json")
    manifest.write_text(json.dumps({"seed": args.seed, "count": args.count, "templates": entries}, indent=1) + "\n")

    functions = sum(e["functions"] for e in entries)
    by_kind: dict[str, int] = {}
    for e in entries:
        by_kind[e["syntax"] if e["kind"] == "cfn" else f"sam/{e['syntax']}"] = \
            by_kind.get(e["syntax"] if e["kind"] == "cfn" else f"sam/{e['syntax']}", 0) + 1
    lines = sorted(e["lines"] for e in entries)
    print(f"wrote {len(entries)} templates to {out} (seed {args.seed}): {functions} functions, "
          f"{sum(e['resources'] for e in entries)} resources, {sum(e['bytes'] for e in entries) / 1e6:.1f} MB; "
          f"lines min/median/max {lines[0]}/{lines[len(lines) // 2]}/{lines[-1]}; "
          + ", ".join(f"{k}: {v}" for k, v in sorted(by_kind.items())), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
