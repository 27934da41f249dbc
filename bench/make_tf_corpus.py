#!/usr/bin/env python3
"""Generate a deterministic Terraform repository for benchmarking HCL parsing and the Terraform collector.

The repository holds ``--stacks`` root modules (``stacks/<name>/``), each a small serverless service split the
way real projects split it (main.tf, iam.tf, network.tf, variables.tf, outputs.tf, terraform.tfvars), plus a
shared local module (``modules/function``) that some stacks call. The configurations use the features a reader
has to cope with: variables with defaults and tfvars, locals, string interpolation, references between
resources, ``data.aws_iam_policy_document``, ``jsonencode``, heredoc JSON policies, ``count`` and ``for_each``,
conditionals, ``dynamic`` blocks, ``merge``/``concat``/``format``, comments of every style. Some functions carry
weaknesses (fake hard-coded secrets, public permissions, unauthenticated URLs, wildcard policies, old runtimes).
All secrets are random fakes.

Python standard library only; the same arguments always produce byte-identical files.

    python3 bench/make_tf_corpus.py --out bench/.work/tf-corpus --stacks 120 --seed 7
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import string
from pathlib import Path

RUNTIMES = ("python3.12", "python3.11", "nodejs20.x", "nodejs18.x", "java21", "python3.7", "nodejs14.x")
REGIONS = ("eu-west-1", "us-east-1", "eu-central-1", "ap-southeast-2")
BLOCK_START = re.compile(r"^(?:resource|data) ", re.MULTILINE)
WORDS = ("orders", "billing", "users", "search", "reports", "images", "events", "audit", "mail", "sync",
         "export", "import", "notify", "ingest", "render", "score", "quota", "ledger", "catalog", "inventory")


def q(text: str) -> str:
    """An HCL quoted string (JSON escaping is valid HCL for the characters we generate)."""
    return json.dumps(text)


def fake_secret(rng: random.Random, prefix: str, length: int) -> str:
    return prefix + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(length))


def hcl_map(entries: dict[str, str], indent: str) -> str:
    """A map literal whose values are already HCL expressions."""
    inner = "\n".join(f"{indent}  {key} = {value}" for key, value in entries.items())
    return "{\n" + inner + f"\n{indent}}}"


# --------------------------------------------------------------------------------------------------
# One stack
# --------------------------------------------------------------------------------------------------


class Stack:
    def __init__(self, rng: random.Random, index: int) -> None:
        self.rng = rng
        self.name = f"{rng.choice(WORDS)}-{index:03d}"
        self.functions = [f"{rng.choice(WORDS)}_{n}" for n in range(rng.randint(2, 6))]

    # ---------------------------------------------------------------- files
    def variables_tf(self) -> str:
        return "\n".join([
            'variable "env" {\n  type    = string\n  default = "dev"\n}\n',
            'variable "region" {\n  type    = string\n  default = "eu-west-1"\n}\n',
            'variable "log_retention_days" {\n  type    = number\n  default = 14\n}\n',
            'variable "tags" {\n  type = map(string)\n  default = {\n    team = "platform"\n  }\n}\n',
            'variable "replica_regions" {\n  type    = list(string)\n  default = []\n}\n',
            'variable "kms_key_arn" {\n  description = "Key for environment variables (set per environment)"\n'
            '  type        = string\n  default     = null\n}\n',
        ])

    def tfvars(self) -> str:
        regions = self.rng.sample(REGIONS, self.rng.randint(1, 3))
        return (f"env    = {q(self.rng.choice(['prod', 'staging', 'dev']))}\n"
                f"region = {q(regions[0])}\n"
                f"replica_regions = [{', '.join(q(r) for r in regions[1:])}]\n"
                f"tags = {{\n  team    = {q(self.rng.choice(WORDS))}\n  service = {q(self.name)}\n}}\n")

    def main_tf(self) -> str:
        parts = [
            "terraform {\n  required_providers {\n    aws = {\n      source  = \"hashicorp/aws\"\n"
            "      version = \"~> 5.0\"\n    }\n  }\n}\n",
            "provider \"aws\" {\n  region = var.region\n}\n",
            "locals {\n"
            f"  service = {q(self.name)}\n"
            "  prefix  = \"${local.service}-${var.env}\"\n"
            "  common_tags = merge(var.tags, {\n    env       = var.env\n    managedBy = \"terraform\"\n  })\n"
            "  is_prod = var.env == \"prod\"\n"
            "}\n",
        ]
        for position, function in enumerate(self.functions):
            parts.append(self.function(function, position))
        if self.rng.random() < 0.3:
            parts.append(self.module_call())
        parts.append(self.queue())
        return "\n".join(parts)

    def function(self, name: str, position: int) -> str:
        rng = self.rng
        runtime = rng.choice(RUNTIMES)
        env = {"STAGE": "var.env", "TABLE": f"\"${{local.prefix}}-{name}\"", "LOG_LEVEL": q("info")}
        if rng.random() < 0.25:
            env["API_TOKEN"] = q(fake_secret(rng, "sk_live_", 24))
        if rng.random() < 0.2:
            env["AWS_ACCESS_KEY_ID"] = q(fake_secret(rng, "AKIA", 16).upper())
        vpc = ""
        if rng.random() < 0.4:
            vpc = ("\n  vpc_config {\n    subnet_ids         = aws_subnet.private[*].id\n"
                   "    security_group_ids = [aws_security_group.lambda.id]\n  }\n")
        tracing = "\n  tracing_config {\n    mode = \"Active\"\n  }\n" if rng.random() < 0.5 else ""
        replicas = ""
        if position == 0:
            replicas = "  for_each = toset(concat([var.region], var.replica_regions))\n\n"
        comment = "# Handles " + name.replace("_", " ") + " requests.\n" if rng.random() < 0.5 else ""
        name_expr = f"\"${{local.prefix}}-{name}-${{each.key}}\"" if replicas else f"\"${{local.prefix}}-{name}\""
        out = [
            f"{comment}resource \"aws_lambda_function\" \"{name}\" {{\n{replicas}"
            f"  function_name = {name_expr}\n"
            f"  role          = aws_iam_role.{name}.arn\n"
            f"  runtime       = {q(runtime)}\n"
            f"  handler       = {q('index.handler' if runtime.startswith('node') else 'app.handler')}\n"
            f"  filename      = \"${{path.module}}/build/{name}.zip\"\n"
            f"  memory_size   = {rng.choice([128, 256, 512, 1024])}\n"
            f"  timeout       = local.is_prod ? 30 : 10\n"
            f"  kms_key_arn   = var.kms_key_arn\n"
            f"  reserved_concurrent_executions = {rng.choice(['-1', '10', '50'])}\n"
            f"\n  environment {{\n    variables = {hcl_map(env, '    ')}\n  }}\n{vpc}{tracing}"
            f"\n  tags = merge(local.common_tags, {{ function = {q(name)} }})\n}}\n",
            f"resource \"aws_cloudwatch_log_group\" \"{name}\" {{\n"
            f"  name              = \"/aws/lambda/${{local.prefix}}-{name}\"\n"
            f"  retention_in_days = var.log_retention_days\n}}\n",
        ]
        target = f"aws_lambda_function.{name}[var.region]" if replicas else f"aws_lambda_function.{name}"
        if rng.random() < 0.35:
            auth = rng.choice(["NONE", "AWS_IAM"])
            out.append(
                f"resource \"aws_lambda_function_url\" \"{name}\" {{\n  function_name      = {target}.function_name\n"
                f"  authorization_type = {q(auth)}\n\n  cors {{\n    allow_origins = [\"*\"]\n"
                f"    allow_methods = [\"GET\", \"POST\"]\n  }}\n}}\n")
        if rng.random() < 0.5:
            principal = rng.choice(["apigateway.amazonaws.com", "s3.amazonaws.com", "*", "events.amazonaws.com"])
            source = ("  source_arn    = \"arn:aws:execute-api:${var.region}:123456789012:abc123/*\"\n"
                      if principal.startswith("apigateway") else "")
            out.append(
                f"resource \"aws_lambda_permission\" \"{name}_invoke\" {{\n  statement_id  = \"AllowInvoke\"\n"
                f"  action        = \"lambda:InvokeFunction\"\n  function_name = {target}.function_name\n"
                f"  principal     = {q(principal)}\n{source}}}\n")
        if rng.random() < 0.3:
            out.append(
                f"resource \"aws_lambda_event_source_mapping\" \"{name}\" {{\n"
                f"  event_source_arn = aws_sqs_queue.jobs.arn\n  function_name    = {target}.arn\n"
                f"  batch_size       = 10\n}}\n")
        return "\n".join(out)

    def module_call(self) -> str:
        return (f"module \"worker\" {{\n  source = \"../../modules/function\"\n\n"
                f"  name    = \"${{local.prefix}}-worker\"\n  runtime = {q(self.rng.choice(RUNTIMES))}\n"
                f"  environment = {{\n    QUEUE_URL = aws_sqs_queue.jobs.url\n  }}\n  tags = local.common_tags\n}}\n")

    def queue(self) -> str:
        return ("resource \"aws_sqs_queue\" \"jobs\" {\n  name                      = \"${local.prefix}-jobs\"\n"
                "  kms_master_key_id         = \"alias/aws/sqs\"\n  message_retention_seconds = 345600\n"
                "  redrive_policy = jsonencode({\n    deadLetterTargetArn = aws_sqs_queue.jobs_dlq.arn\n"
                "    maxReceiveCount     = 5\n  })\n}\n\n"
                "resource \"aws_sqs_queue\" \"jobs_dlq\" {\n  name = \"${local.prefix}-jobs-dlq\"\n}\n")

    def iam_tf(self) -> str:
        parts = [
            "data \"aws_iam_policy_document\" \"assume\" {\n  statement {\n    actions = [\"sts:AssumeRole\"]\n\n"
            "    principals {\n      type        = \"Service\"\n      identifiers = [\"lambda.amazonaws.com\"]\n"
            "    }\n  }\n}\n",
        ]
        for name in self.functions:
            style = self.rng.choice(["document", "jsonencode", "heredoc"])
            action = "\"*\"" if self.rng.random() < 0.15 else "[\"dynamodb:GetItem\", \"dynamodb:PutItem\"]"
            parts.append(
                f"resource \"aws_iam_role\" \"{name}\" {{\n  name               = \"${{local.prefix}}-{name}\"\n"
                f"  assume_role_policy = data.aws_iam_policy_document.assume.json\n}}\n")
            parts.append(
                f"resource \"aws_iam_role_policy_attachment\" \"{name}_logs\" {{\n"
                f"  role       = aws_iam_role.{name}.name\n"
                f"  policy_arn = \"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole\"\n}}\n")
            if style == "document":
                parts.append(
                    f"data \"aws_iam_policy_document\" \"{name}\" {{\n  statement {{\n    sid       = \"Table\"\n"
                    f"    actions   = {action if action.startswith('[') else '[' + action + ']'}\n"
                    f"    resources = [\"arn:aws:dynamodb:${{var.region}}:*:table/${{local.prefix}}-{name}\"]\n"
                    f"  }}\n}}\n\n"
                    f"resource \"aws_iam_role_policy\" \"{name}\" {{\n  name   = \"table-access\"\n"
                    f"  role   = aws_iam_role.{name}.id\n  policy = data.aws_iam_policy_document.{name}.json\n}}\n")
            elif style == "jsonencode":
                parts.append(
                    f"resource \"aws_iam_role_policy\" \"{name}\" {{\n  name = \"table-access\"\n"
                    f"  role = aws_iam_role.{name}.id\n\n  policy = jsonencode({{\n    Version = \"2012-10-17\"\n"
                    f"    Statement = [{{\n      Effect   = \"Allow\"\n      Action   = {action}\n"
                    f"      Resource = \"arn:aws:dynamodb:*:*:table/${{local.prefix}}-{name}\"\n    }}]\n  }})\n}}\n")
            else:
                parts.append(
                    f"resource \"aws_iam_role_policy\" \"{name}\" {{\n  name = \"table-access\"\n"
                    f"  role = aws_iam_role.{name}.id\n\n  policy = <<EOF\n{{\n  \"Version\": \"2012-10-17\",\n"
                    f"  \"Statement\": [\n    {{\n      \"Effect\": \"Allow\",\n      \"Action\": {action},\n"
                    f"      \"Resource\": \"*\"\n    }}\n  ]\n}}\nEOF\n}}\n")
        return "\n".join(parts)

    def network_tf(self) -> str:
        return (
            "/* Private network for the functions that talk to databases. */\n"
            "resource \"aws_vpc\" \"main\" {\n  cidr_block = \"10.0.0.0/16\"\n}\n\n"
            "resource \"aws_subnet\" \"private\" {\n  count             = 2\n  vpc_id            = aws_vpc.main.id\n"
            "  cidr_block        = cidrsubnet(aws_vpc.main.cidr_block, 8, count.index)\n"
            "  availability_zone = \"${var.region}${element([\"a\", \"b\"], count.index)}\"\n}\n\n"
            "resource \"aws_security_group\" \"lambda\" {\n  name   = \"${local.prefix}-lambda\"\n"
            "  vpc_id = aws_vpc.main.id\n\n  dynamic \"ingress\" {\n    for_each = local.is_prod ? [] : [443]\n"
            "    content {\n      from_port   = ingress.value\n      to_port     = ingress.value\n"
            "      protocol    = \"tcp\"\n      cidr_blocks = [\"10.0.0.0/8\"]\n    }\n  }\n\n"
            "  egress {\n    from_port   = 0\n    to_port     = 0\n    protocol    = \"-1\"\n"
            "    cidr_blocks = [\"0.0.0.0/0\"] // all egress\n  }\n}\n\n"
            "resource \"aws_vpc_endpoint\" \"dynamodb\" {\n  vpc_id       = aws_vpc.main.id\n"
            "  service_name = \"com.amazonaws.${var.region}.dynamodb\"\n}\n"
        )

    def outputs_tf(self) -> str:
        first = self.functions[0]
        return ("output \"function_arns\" {\n"
                f"  value = {{ for k, f in aws_lambda_function.{first} : k => f.arn }}\n}}\n\n"
                "output \"queue_url\" {\n  value = aws_sqs_queue.jobs.url\n}\n")


def function_module() -> dict[str, str]:
    return {
        "variables.tf": ('variable "name" {\n  type = string\n}\n\nvariable "runtime" {\n  type    = string\n'
                         '  default = "python3.12"\n}\n\nvariable "environment" {\n  type    = map(string)\n'
                         '  default = {}\n}\n\nvariable "tags" {\n  type    = map(string)\n  default = {}\n}\n'),
        "main.tf": ('resource "aws_iam_role" "this" {\n  name = "${var.name}-role"\n'
                    '  assume_role_policy = jsonencode({\n    Version = "2012-10-17"\n    Statement = [{\n'
                    '      Effect    = "Allow"\n      Action    = "sts:AssumeRole"\n'
                    '      Principal = { Service = "lambda.amazonaws.com" }\n    }]\n  })\n}\n\n'
                    'resource "aws_lambda_function" "this" {\n  function_name = var.name\n'
                    '  role          = aws_iam_role.this.arn\n  runtime       = var.runtime\n'
                    '  handler       = "app.handler"\n  filename      = "${path.module}/build.zip"\n\n'
                    '  environment {\n    variables = var.environment\n  }\n\n  tags = var.tags\n}\n\n'
                    'resource "aws_cloudwatch_log_group" "this" {\n  name = "/aws/lambda/${var.name}"\n}\n'),
        "outputs.tf": 'output "arn" {\n  value = aws_lambda_function.this.arn\n}\n',
    }


def generate(out: Path, stacks: int, seed: int) -> tuple[int, int]:
    """Write the repository; returns (files, resource and data blocks written in the stacks)."""
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    files = 0
    resources = 0
    for name, text in function_module().items():
        path = out / "modules" / "function" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        files += 1
    for index in range(stacks):
        stack = Stack(rng, index)
        directory = out / "stacks" / stack.name
        directory.mkdir(parents=True, exist_ok=True)
        contents = {"main.tf": stack.main_tf(), "iam.tf": stack.iam_tf(), "network.tf": stack.network_tf(),
                    "variables.tf": stack.variables_tf(), "outputs.tf": stack.outputs_tf(),
                    "terraform.tfvars": stack.tfvars()}
        for name, text in contents.items():
            (directory / name).write_text(text)
            files += 1
            resources += len(BLOCK_START.findall(text))
    return files, resources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("bench/.work/tf-corpus"))
    parser.add_argument("--stacks", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    files, resources = generate(args.out, args.stacks, args.seed)
    print(f"wrote {files} files, {resources} resource/data blocks (before count/for_each) into {args.out}")


if __name__ == "__main__":
    main()
