"""The Terraform HCL reader: real parsing of small configurations into TfBlocks, exact assertions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lambdasec.collectors.options import CollectOptions
from lambdasec.collectors.terraform.blocks import TfBlock
from lambdasec.collectors.terraform.hcl import read_module
from lambdasec.model.inventory import CoverageGap, Parameter
from lambdasec.model.location import Location
from lambdasec.model.values import ResourceRef, Unresolved

PARTLY = "parts of the string are known only at apply time"


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def read(root: Path, directory: str = ".", options: CollectOptions | None = None,
         only: str | None = None) -> tuple[dict[str, TfBlock], list[CoverageGap]]:
    folder = root / directory
    files = [folder / only] if only else sorted(folder.glob("*.tf"))
    blocks, gaps = read_module(files, root, options or CollectOptions())
    by_address = {block.address: block for block in blocks}
    assert len(by_address) == len(blocks), "addresses must be unique"
    return by_address, gaps


def gap_summary(gaps: list[CoverageGap]) -> list[tuple[str, str, str, int | None]]:
    return [(g.kind, g.message, g.location.file, g.location.line) for g in gaps]


# ---------------------------------------------------------------- blocks, attributes, locations
def test_resource_attributes_nested_blocks_and_locations(tmp_path: Path) -> None:
    write(tmp_path, {"svc/main.tf": (
        'resource "aws_lambda_function" "api" {\n'          # 1
        '  function_name = "orders-api"\n'                   # 2
        '  runtime       = "python3.12"\n'                   # 3
        "  memory_size   = 256\n"                            # 4
        "  publish       = true\n"                           # 5
        "  layers        = []\n"                             # 6
        "  kms_key_arn   = null\n"                           # 7
        "  environment {\n"                                  # 8
        "    variables = {\n"                                # 9
        '      TOKEN   = "abc"\n'                            # 10
        '      "X-ID" = "1"\n'                               # 11
        "    }\n"                                            # 12
        "  }\n"                                              # 13
        "  vpc_config {\n"                                   # 14
        '    subnet_ids = ["subnet-1", "subnet-2"]\n'        # 15
        "  }\n"                                              # 16
        "  lifecycle {\n"                                    # 17
        "    create_before_destroy = true\n"                 # 18
        "  }\n"                                              # 19
        "  depends_on = [aws_iam_role.x]\n"                  # 20
        "}\n"
    )})
    blocks, gaps = read(tmp_path, "svc", only="main.tf")
    assert gaps == []
    block = blocks["aws_lambda_function.api"]
    assert (block.mode, block.type, block.name, block.key) == (
        "managed", "aws_lambda_function", "api", "svc#aws_lambda_function.api")
    assert block.attributes == {
        "function_name": "orders-api", "runtime": "python3.12", "memory_size": 256, "publish": True, "layers": [],
        "kms_key_arn": None,
        "environment": [{"variables": {"TOKEN": "abc", "X-ID": "1"}}],
        "vpc_config": [{"subnet_ids": ["subnet-1", "subnet-2"]}],
    }
    assert block.location == Location("svc/main.tf", 1, None, ("aws_lambda_function.api",))
    lines = {path: loc.line for path, loc in block.attribute_locations.items()}
    assert lines == {
        "function_name": 2, "runtime": 3, "memory_size": 4, "publish": 5, "layers": 6, "kms_key_arn": 7,
        "environment.0": 8, "environment.0.variables": 9, "environment.0.variables.TOKEN": 10,
        "environment.0.variables.X-ID": 11, "vpc_config.0": 14, "vpc_config.0.subnet_ids": 15,
        "vpc_config.0.subnet_ids.0": 15, "vpc_config.0.subnet_ids.1": 15,
    }
    token = block.attribute_locations["environment.0.variables.TOKEN"]
    assert token.path == ("aws_lambda_function.api", "environment", "0", "variables", "TOKEN")
    assert block.at("environment.0.variables.MISSING").line == 9


def test_module_directory_key_and_data_blocks(tmp_path: Path) -> None:
    write(tmp_path, {
        "stack/iam.tf": (
            'data "aws_iam_policy_document" "assume" {\n'
            "  statement {\n"
            '    actions = ["sts:AssumeRole"]\n'
            "    principals {\n"
            '      type        = "Service"\n'
            '      identifiers = ["lambda.amazonaws.com"]\n'
            "    }\n"
            "  }\n"
            "}\n"
            'resource "aws_iam_role" "fn" {\n'
            "  assume_role_policy = data.aws_iam_policy_document.assume.json\n"
            "}\n"
        ),
        "stack/main.tf": (
            'resource "aws_lambda_function" "fn" {\n'
            "  role = aws_iam_role.fn.arn\n"
            "}\n"
            'resource "aws_lambda_permission" "api" {\n'
            "  function_name = aws_lambda_function.fn.function_name\n"
            '  source_arn    = "${aws_api_gateway_rest_api.api.execution_arn}/*"\n'
            "  qualifier     = aws_lambda_function.fn.version\n"
            "  other         = aws_lambda_function.fn.environment[0].variables\n"
            "}\n"
        ),
    })
    blocks, gaps = read(tmp_path, "stack")
    assert gaps == []
    assert list(blocks) == ["data.aws_iam_policy_document.assume", "aws_iam_role.fn", "aws_lambda_function.fn",
                            "aws_lambda_permission.api"]
    document = blocks["data.aws_iam_policy_document.assume"]
    assert (document.mode, document.key) == ("data", "stack#data.aws_iam_policy_document.assume")
    assert document.attributes == {"statement": [{
        "actions": ["sts:AssumeRole"],
        "principals": [{"type": "Service", "identifiers": ["lambda.amazonaws.com"]}],
    }]}
    assert blocks["aws_iam_role.fn"].attributes == {
        "assume_role_policy": ResourceRef("stack#data.aws_iam_policy_document.assume", "json")}
    assert blocks["aws_lambda_function.fn"].attributes == {"role": ResourceRef("stack#aws_iam_role.fn", "arn")}
    assert blocks["aws_lambda_function.fn"].location.file == "stack/main.tf"
    assert blocks["aws_lambda_permission.api"].attributes == {
        "function_name": ResourceRef("stack#aws_lambda_function.fn", "function_name"),
        "source_arn": Unresolved("${aws_api_gateway_rest_api.api.execution_arn}/*", PARTLY),
        "qualifier": ResourceRef("stack#aws_lambda_function.fn", "version"),
        "other": Unresolved("aws_lambda_function.fn.environment[0].variables",
                            "aws_lambda_function.fn.environment is known only after apply"),
    }


def test_directory_at_scan_root_has_dot_module_id(tmp_path: Path) -> None:
    write(tmp_path, {"a.tf": 'resource "aws_sqs_queue" "q" {}\n', "b.tf": 'resource "aws_sqs_queue" "r" {}\n'})
    blocks, gaps = read(tmp_path)
    assert [b.key for b in blocks.values()] == [".#aws_sqs_queue.q", ".#aws_sqs_queue.r"]
    assert gaps == []


# ---------------------------------------------------------------- variables and tfvars
def test_variable_values_defaults_tfvars_and_user_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TF_VAR_secret", "from-the-environment")
    write(tmp_path, {
        "main.tf": (
            'variable "stage" {\n  default = "dev"\n}\n'
            'variable "region" {\n  default = "eu-west-1"\n}\n'
            'variable "size" {\n  default = 128\n}\n'
            'variable "tier" {}\n'
            'variable "owner" {}\n'
            'variable "secret" {}\n'
            'variable "nothing" {\n  default = null\n}\n'
            'resource "aws_lambda_function" "fn" {\n'
            '  function_name = "${var.stage}-${var.region}-fn"\n'
            "  memory_size   = var.size\n"
            "  tier          = var.tier\n"
            "  owner         = var.owner\n"
            "  secret        = var.secret\n"
            "  nothing       = var.nothing\n"
            "  undeclared    = var.undeclared\n"
            "}\n"
        ),
        "terraform.tfvars": 'stage = "prod"\nregion = "us-east-1"\ntier = "gold"\n',
        "terraform.tfvars.json": '{"size": 512}',
        "a.auto.tfvars": 'region = "eu-central-1"\n',
        "b.auto.tfvars.json": '{"region": "ap-south-1"}',
        "prod.tfvars": 'owner = "not loaded"\n',  # only -var-file loads it
    })
    blocks, gaps = read(tmp_path, options=CollectOptions(parameter_values={"tier": "platinum"}))
    assert gaps == []
    assert blocks["aws_lambda_function.fn"].attributes == {
        "function_name": "prod-ap-south-1-fn",
        "memory_size": 512,
        "tier": "platinum",
        "owner": Unresolved("var.owner", "variable owner has no default and is not set in terraform.tfvars or "
                                         "*.auto.tfvars"),
        "secret": Unresolved("var.secret", "variable secret has no default and is not set in terraform.tfvars "
                                           "or *.auto.tfvars"),
        "nothing": None,
        "undeclared": Unresolved("var.undeclared", "variable undeclared is not declared"),
    }


def test_tfvars_references_are_not_evaluated(tmp_path: Path) -> None:
    write(tmp_path, {
        "main.tf": 'variable "name" {}\nresource "aws_sqs_queue" "q" {\n  name = var.name\n}\n',
        "terraform.tfvars": "name = local.x\n",
    })
    blocks, gaps = read(tmp_path)
    assert blocks["aws_sqs_queue.q"].attributes == {
        "name": Unresolved("local.x", "invalid expression: local.x: only literal values are allowed here")}
    assert gaps == []


# ---------------------------------------------------------------- expressions
def test_locals_interpolation_functions_and_conditionals(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": (
        'variable "env" {\n  default = "prod"\n}\n'
        'variable "regions" {\n  default = ["eu-west-1", "us-east-1"]\n}\n'
        "locals {\n"
        '  prefix  = "${var.env}-orders"\n'
        "  is_prod = var.env == \"prod\"\n"
        '  tags    = merge({ team = "a" }, { env = var.env }, { team = "b" })\n'
        '  sizes   = { small = 128, large = 1024 }\n'
        "}\n"
        'resource "test" "t" {\n'
        '  concat    = concat(["a"], var.regions)\n'
        "  merge     = local.tags\n"
        '  lookup    = lookup(local.sizes, "large", 0)\n'
        '  lookup2   = lookup(local.sizes, "huge", 64)\n'
        '  format    = format("%s-%03d", local.prefix, 7)\n'
        '  join      = join(",", var.regions)\n'
        '  split     = split("-", local.prefix)\n'
        "  lower     = lower(\"ABC\")\n"
        "  upper     = upper(local.prefix)\n"
        '  tolist    = tolist(["x"])\n'
        '  toset     = toset(["b", "a", "b"])\n'
        "  tostring  = tostring(42)\n"
        "  length    = length(var.regions)\n"
        "  element   = element(var.regions, 3)\n"
        '  coalesce  = coalesce("", null, "z")\n'
        '  cond      = local.is_prod ? "big" : "small"\n'
        "  math      = 7 / 2 + 1\n"
        "  index     = var.regions[1]\n"
        '  for_list  = [for r in var.regions : upper(r) if r != "us-east-1"]\n'
        "  for_map   = { for k, v in local.sizes : k => v * 2 }\n"
        "  splat     = var.regions[*]\n"
        '  try       = try(local.sizes.medium, "fallback")\n'
        '  template  = "%{ if local.is_prod }on%{ else }off%{ endif }/%{ for r in var.regions }${r};%{ endfor }"\n'
        '  escapes   = "a\\tb $${literal} %%{x}"\n'
        "}\n"
    )})
    blocks, gaps = read(tmp_path)
    assert gaps == []
    assert blocks["test.t"].attributes == {
        "concat": ["a", "eu-west-1", "us-east-1"],
        "merge": {"team": "b", "env": "prod"},
        "lookup": 1024,
        "lookup2": 64,
        "format": "prod-orders-007",
        "join": "eu-west-1,us-east-1",
        "split": ["prod", "orders"],
        "lower": "abc",
        "upper": "PROD-ORDERS",
        "tolist": ["x"],
        "toset": ["a", "b"],
        "tostring": "42",
        "length": 2,
        "element": "us-east-1",
        "coalesce": "z",
        "cond": "big",
        "math": 4.5,
        "index": "us-east-1",
        "for_list": ["EU-WEST-1"],
        "for_map": {"large": 2048, "small": 256},
        "splat": ["eu-west-1", "us-east-1"],
        "try": "fallback",
        "template": "on/eu-west-1;us-east-1;",
        "escapes": "a\tb ${literal} %{x}",
    }


def test_unknown_parts_stay_unresolved(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": (
        'variable "account" {}\n'
        'variable "flag" {}\n'
        "locals {\n"
        '  layer = "arn:aws:lambda:eu-west-1:${var.account}:layer:deps:3"\n'
        "}\n"
        'resource "test" "t" {\n'
        "  partial   = local.layer\n"
        '  nested    = "${local.layer}/x"\n'
        '  cond      = var.flag ? "a" : "b"\n'
        "  function  = timestamp()\n"
        "  provfn    = provider::aws::arn_parse(\"x\")\n"
        '  join      = join(",", [var.account, "x"])\n'
        '  mixed     = ["known", var.account]\n'
        "  whole_ref = \"${aws_iam_role.r.arn}\"\n"
        "  path_cwd  = path.cwd\n"
        "  workspace = terraform.workspace\n"
        "}\n"
        'resource "aws_iam_role" "r" {}\n'
    )})
    blocks, gaps = read(tmp_path)
    assert gaps == []
    no_value = "variable {} has no default and is not set in terraform.tfvars or *.auto.tfvars"
    assert blocks["test.t"].attributes == {
        "partial": Unresolved("arn:aws:lambda:eu-west-1:${var.account}:layer:deps:3", PARTLY),
        "nested": Unresolved("arn:aws:lambda:eu-west-1:${var.account}:layer:deps:3/x", PARTLY),
        "cond": Unresolved('var.flag ? "a" : "b"', "condition var.flag is not known statically"),
        "function": Unresolved("timestamp()", "function timestamp is not evaluated"),
        "provfn": Unresolved('provider::aws::arn_parse("x")', "function provider::aws::arn_parse is not evaluated"),
        "join": Unresolved('join(",", [var.account, "x"])', no_value.format("account")),
        "mixed": ["known", Unresolved("var.account", no_value.format("account"))],
        "whole_ref": ResourceRef(".#aws_iam_role.r", "arn"),
        "path_cwd": Unresolved("path.cwd", "path.cwd is the directory Terraform runs in"),
        "workspace": Unresolved("terraform.workspace", "terraform.* is known only when Terraform runs"),
    }


def test_jsonencode_and_heredoc_policies(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": (
        'resource "aws_iam_role_policy" "encoded" {\n'
        "  policy = jsonencode({\n"                              # 2
        '    Version = "2012-10-17"\n'                           # 3
        "    Statement = [{\n"                                   # 4
        '      Effect   = "Allow"\n'                             # 5
        '      Action   = ["s3:GetObject"]\n'                    # 6
        "      Resource = aws_s3_bucket.b.arn\n"                 # 7
        "    }]\n"
        "  })\n"
        "}\n"
        'resource "aws_iam_role_policy" "heredoc" {\n'           # 11
        "  policy = <<EOF\n"
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}\n'
        "EOF\n"
        "}\n"
        'resource "aws_iam_role_policy" "heredoc_refs" {\n'      # 16
        "  policy = <<-EOT\n"
        "    {\n"
        '      "Statement": [{"Effect": "Allow", "Action": "s3:*",\n'
        '        "Resource": ["${aws_s3_bucket.b.arn}", "${aws_s3_bucket.b.arn}/*"]}]\n'
        "    }\n"
        "    EOT\n"
        "}\n"
        'resource "aws_s3_bucket" "b" {}\n'
    )})
    blocks, gaps = read(tmp_path)
    assert gaps == []
    bucket = ResourceRef(".#aws_s3_bucket.b", "arn")
    encoded = blocks["aws_iam_role_policy.encoded"]
    assert encoded.attributes == {"policy": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": bucket}],
    }}
    assert {p: loc.line for p, loc in encoded.attribute_locations.items()} == {
        "policy": 2, "policy.Version": 3, "policy.Statement": 4, "policy.Statement.0": 4,
        "policy.Statement.0.Effect": 5, "policy.Statement.0.Action": 6, "policy.Statement.0.Action.0": 6,
        "policy.Statement.0.Resource": 7,
    }
    assert blocks["aws_iam_role_policy.heredoc"].attributes == {"policy": (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}\n')}
    assert blocks["aws_iam_role_policy.heredoc_refs"].attributes == {"policy": {
        "Statement": [{"Effect": "Allow", "Action": "s3:*",
                       "Resource": [bucket, Unresolved("${aws_s3_bucket.b.arn}/*", PARTLY)]}],
    }}


def test_heredoc_indentation_and_strip_markers(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": (
        'locals {\n  items = ["a", "b"]\n}\n'
        'resource "test" "t" {\n'
        "  flush = <<-EOT\n"
        "    first\n"
        "      indented ${upper(\"x\")}\n"
        "    %{ for i in local.items ~}\n"
        "    - ${i}\n"
        "    %{ endfor ~}\n"
        "    last\n"
        "    EOT\n"
        '  strip = "x ${~ "y" ~} z"\n'
        "  empty = <<EOT\nEOT\n"
        "}\n"
    )})
    blocks, gaps = read(tmp_path)
    assert gaps == []
    assert blocks["test.t"].attributes == {
        "flush": "first\n  indented X\n- a\n- b\nlast\n",
        "strip": "xyz",
        "empty": "",
    }


def test_file_and_templatefile_stay_inside_the_scan_root(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(tmp_path, {"outside.json": '{"secret": true}'})
    write(root, {
        "stack/main.tf": (
            'resource "aws_iam_role" "r" {\n'
            '  assume_role_policy = file("${path.module}/policies/trust.json")\n'
            '  description        = templatefile("policies/desc.tpl", { name = "orders", items = ["a", "b"] })\n'
            '  tags_json          = jsondecode(file("policies/tags.json"))\n'
            '  outside            = file("../../outside.json")\n'
            '  missing            = file("policies/nope.json")\n'
            "}\n"
        ),
        "stack/policies/trust.json": '{"Version": "2012-10-17"}\n',
        "stack/policies/desc.tpl": "Role of ${name}:%{ for i in items } ${i}%{ endfor }",
        "stack/policies/tags.json": '{"team": "core"}',
    })
    blocks, gaps = read(root, "stack")
    assert blocks["aws_iam_role.r"].attributes == {
        "assume_role_policy": '{"Version": "2012-10-17"}\n',
        "description": "Role of orders: a b",
        "tags_json": {"team": "core"},
        "outside": Unresolved('file("../../outside.json")', "../../outside.json is outside the scan root"),
        "missing": Unresolved('file("policies/nope.json")', "file policies/nope.json not found"),
    }
    assert gap_summary(gaps) == [
        ("unsupported", "file(../../outside.json) is outside the scan root and not read", "stack/main.tf", 5),
        ("missing-file", "file: file policies/nope.json not found", "stack/main.tf", 6),
    ]


def test_file_over_the_size_limit_is_not_read(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": 'resource "t" "t" {\n  big = file("big.json")\n}\n', "big.json": "x" * 2000})
    blocks, gaps = read(tmp_path, options=CollectOptions(max_template_bytes=1000))
    assert blocks["t.t"].attributes == {"big": Unresolved('file("big.json")', "file big.json could not be read")}
    assert gap_summary(gaps) == [("too-large", "file big.json is 2000 bytes, over the 1000 byte limit", "big.json",
                                  None)]


# ---------------------------------------------------------------- count and for_each
def test_count_and_for_each_expand_into_instances(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": (
        'variable "regions" {\n  default = ["us-east-1", "eu-west-1"]\n}\n'
        'resource "aws_subnet" "private" {\n'
        "  count      = 2\n"
        '  cidr_block = cidrsubnet("10.0.0.0/16", 8, count.index)\n'
        "}\n"
        'resource "aws_lambda_function" "w" {\n'
        "  for_each      = toset(var.regions)\n"
        '  function_name = "worker-${each.key}"\n'
        "  region        = each.value\n"
        "  vpc_config {\n"
        "    subnet_ids = aws_subnet.private[*].id\n"
        "  }\n"
        "}\n"
        'resource "aws_lambda_function" "m" {\n'
        "  for_each      = { small = 128, big = 1024 }\n"
        "  memory_size   = each.value\n"
        "}\n"
        'resource "aws_lambda_permission" "p" {\n'
        '  function_name = aws_lambda_function.w["eu-west-1"].function_name\n'
        "  first_subnet  = aws_subnet.private[0].id\n"
        "}\n"
        'resource "aws_sqs_queue" "none" {\n  count = 0\n}\n'
    )})
    blocks, gaps = read(tmp_path)
    assert gaps == []
    assert list(blocks) == [
        "aws_subnet.private[0]", "aws_subnet.private[1]",
        'aws_lambda_function.w["eu-west-1"]', 'aws_lambda_function.w["us-east-1"]',
        'aws_lambda_function.m["big"]', 'aws_lambda_function.m["small"]',
        "aws_lambda_permission.p",
    ]
    assert blocks["aws_subnet.private[1]"].attributes == {"cidr_block": "10.0.1.0/24"}
    assert blocks["aws_subnet.private[1]"].key == ".#aws_subnet.private[1]"
    subnets = [ResourceRef(".#aws_subnet.private[0]", "id"), ResourceRef(".#aws_subnet.private[1]", "id")]
    assert blocks['aws_lambda_function.w["eu-west-1"]'].attributes == {
        "function_name": "worker-eu-west-1", "region": "eu-west-1", "vpc_config": [{"subnet_ids": subnets}]}
    assert blocks['aws_lambda_function.w["eu-west-1"]'].key == '.#aws_lambda_function.w["eu-west-1"]'
    assert blocks['aws_lambda_function.m["big"]'].attributes == {"memory_size": 1024}
    assert blocks["aws_lambda_permission.p"].attributes == {
        "function_name": ResourceRef('.#aws_lambda_function.w["eu-west-1"]', "function_name"),
        "first_subnet": subnets[0],
    }


def test_unknown_instances_give_one_star_block_and_a_gap(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": (
        'variable "names" {}\n'
        'resource "aws_lambda_function" "w" {\n'
        "  for_each      = var.names\n"
        '  function_name = "fn-${each.key}"\n'
        "}\n"
        'resource "aws_sqs_queue" "q" {\n'
        "  count = length(aws_subnet.x.ids)\n"
        "  name  = count.index\n"
        "}\n"
        'resource "aws_lambda_permission" "p" {\n'
        "  function_name = aws_lambda_function.w[\"a\"].function_name\n"
        "  all           = aws_lambda_function.w[*].arn\n"
        "}\n"
    )})
    blocks, gaps = read(tmp_path)
    reason = ("for_each = var.names is not known statically (variable names has no default and is not set in "
              "terraform.tfvars or *.auto.tfvars)")
    count_reason = "count = length(aws_subnet.x.ids) is not known statically (aws_subnet.x is not declared in " \
                   "root module)"
    assert list(blocks) == ["aws_lambda_function.w[*]", "aws_sqs_queue.q[*]", "aws_lambda_permission.p"]
    assert blocks["aws_lambda_function.w[*]"].key == ".#aws_lambda_function.w[*]"
    assert blocks["aws_lambda_function.w[*]"].attributes == {
        "function_name": Unresolved("fn-${each.key}", PARTLY)}
    assert blocks["aws_sqs_queue.q[*]"].attributes == {"name": Unresolved("count.index", count_reason)}
    assert blocks["aws_lambda_permission.p"].attributes == {
        "function_name": ResourceRef(".#aws_lambda_function.w[*]", "function_name"),
        "all": Unresolved("aws_lambda_function.w[*].arn",
                          "the instances of aws_lambda_function.w are not known statically"),
    }
    assert gap_summary(gaps) == [
        ("unresolved", f"aws_lambda_function.w: {reason}; analyzed once as aws_lambda_function.w[*]", "main.tf", 2),
        ("unresolved", f"aws_sqs_queue.q: {count_reason}; analyzed once as aws_sqs_queue.q[*]", "main.tf", 6),
    ]


def test_dynamic_blocks(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": (
        'variable "ports" {\n  default = [443, 8443]\n}\n'
        'variable "unknown" {}\n'
        'resource "aws_security_group" "sg" {\n'
        '  dynamic "ingress" {\n'
        "    for_each = var.ports\n"
        "    iterator = port\n"
        "    content {\n"
        "      from_port = port.value\n"
        "      index     = port.key\n"
        "    }\n"
        "  }\n"
        '  dynamic "egress" {\n'
        "    for_each = var.unknown\n"
        "    content {\n"
        "      from_port = egress.value\n"
        "    }\n"
        "  }\n"
        "}\n"
    )})
    blocks, gaps = read(tmp_path)
    assert gaps == []
    block = blocks["aws_security_group.sg"]
    assert block.attributes == {
        "ingress": [{"from_port": 443, "index": 0}, {"from_port": 8443, "index": 1}],
        "egress": Unresolved('dynamic "egress" for_each = var.unknown',
                             "variable unknown has no default and is not set in terraform.tfvars or *.auto.tfvars"),
    }
    assert block.attribute_locations["ingress.1.from_port"].line == 10
    assert block.attribute_locations["egress"].line == 14


# ---------------------------------------------------------------- modules
def test_local_module_addresses_keys_arguments_and_outputs(tmp_path: Path) -> None:
    write(tmp_path, {
        "stacks/orders/main.tf": (
            'variable "stage" {\n  default = "prod"\n}\n'
            'module "worker" {\n'
            '  source   = "../../modules/fn"\n'
            '  for_each = toset(["eu", "us"])\n'
            '  name     = "${var.stage}-${each.key}"\n'
            "  queue    = aws_sqs_queue.jobs.arn\n"
            "}\n"
            'module "single" {\n'
            '  source = "../../modules/fn"\n'
            '  name   = "single"\n'
            "}\n"
            'resource "aws_sqs_queue" "jobs" {}\n'
            'resource "aws_lambda_permission" "p" {\n'
            '  function_name = module.worker["eu"].function_name\n'
            "  role          = module.single.role_arn\n"
            "  missing       = module.single.nope\n"
            "}\n"
        ),
        "modules/fn/main.tf": (
            'variable "name" {}\n'
            'variable "queue" {\n  default = null\n}\n'
            'resource "aws_iam_role" "this" {\n  name = "${var.name}-role"\n}\n'
            'resource "aws_lambda_function" "this" {\n'
            "  function_name = var.name\n"
            "  role          = aws_iam_role.this.arn\n"
            "  queue         = var.queue\n"
            '  code          = "${path.module}/build.zip"\n'
            "}\n"
            'output "function_name" {\n  value = aws_lambda_function.this.function_name\n}\n'
            'output "role_arn" {\n  value = aws_iam_role.this.arn\n}\n'
        ),
    })
    blocks, gaps = read(tmp_path, "stacks/orders")
    assert gaps == []
    assert list(blocks) == [
        'module.worker["eu"].aws_iam_role.this', 'module.worker["eu"].aws_lambda_function.this',
        'module.worker["us"].aws_iam_role.this', 'module.worker["us"].aws_lambda_function.this',
        "module.single.aws_iam_role.this", "module.single.aws_lambda_function.this",
        "aws_sqs_queue.jobs", "aws_lambda_permission.p",
    ]
    eu = blocks['module.worker["eu"].aws_lambda_function.this']
    assert eu.key == 'stacks/orders#module.worker["eu"].aws_lambda_function.this'
    assert (eu.mode, eu.type, eu.name) == ("managed", "aws_lambda_function", "this")
    assert eu.location == Location("modules/fn/main.tf", 8, None, ('module.worker["eu"].aws_lambda_function.this',))
    assert eu.attributes == {
        "function_name": "prod-eu",
        "role": ResourceRef('stacks/orders#module.worker["eu"].aws_iam_role.this', "arn"),
        "queue": ResourceRef("stacks/orders#aws_sqs_queue.jobs", "arn"),
        "code": "../../modules/fn/build.zip",
    }
    assert blocks["module.single.aws_lambda_function.this"].attributes["queue"] is None
    assert blocks["aws_lambda_permission.p"].attributes == {
        "function_name": ResourceRef('stacks/orders#module.worker["eu"].aws_lambda_function.this', "function_name"),
        "role": ResourceRef("stacks/orders#module.single.aws_iam_role.this", "arn"),
        "missing": Unresolved("module.single.nope", "module.single has no output nope"),
    }


def test_remote_missing_and_escaping_modules_are_gaps(tmp_path: Path) -> None:
    write(tmp_path, {"repo/stack/main.tf": (
        'module "lambda" {\n'
        '  source  = "terraform-aws-modules/lambda/aws"\n'
        '  version = "7.0.0"\n'
        "}\n"
        'module "gone" {\n  source = "./modules/gone"\n}\n'
        'module "escape" {\n  source = "../../elsewhere"\n}\n'
        'module "git" {\n  source = "git::https://example.com/m.git"\n}\n'
        'resource "aws_lambda_permission" "p" {\n'
        "  function_name = module.lambda.lambda_function_name\n"
        "}\n"
    )})
    (tmp_path / "elsewhere").mkdir()
    blocks, gaps = read(tmp_path / "repo", "stack")
    assert blocks["aws_lambda_permission.p"].attributes == {"function_name": Unresolved(
        "module.lambda.lambda_function_name", "module lambda (terraform-aws-modules/lambda/aws) is not analyzed")}
    assert gap_summary(gaps) == [
        ("unsupported", "module lambda from registry or remote source terraform-aws-modules/lambda/aws not analyzed",
         "stack/main.tf", 1),
        ("missing-file", "module gone: directory ./modules/gone not found", "stack/main.tf", 5),
        ("unsupported", "module escape: source ../../elsewhere is outside the scan root (scan a parent directory)",
         "stack/main.tf", 8),
        ("unsupported", "module git from registry or remote source git::https://example.com/m.git not analyzed",
         "stack/main.tf", 11),
    ]


def test_module_including_itself_is_a_gap(tmp_path: Path) -> None:
    write(tmp_path, {
        "main.tf": 'module "a" {\n  source = "./a"\n}\n',
        "a/main.tf": 'module "back" {\n  source = "../a"\n}\nresource "aws_sqs_queue" "q" {}\n',
    })
    blocks, gaps = read(tmp_path)
    assert list(blocks) == ["module.a.aws_sqs_queue.q"]
    assert gap_summary(gaps) == [("invalid-template", "module back includes itself", "a/main.tf", 1)]


# ---------------------------------------------------------------- cycles and limits
def test_reference_cycles_are_gaps_not_recursion(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": (
        "locals {\n"
        "  a = local.b\n"
        "  b = local.a\n"
        '  self = "${local.self}-x"\n'
        "}\n"
        'resource "test" "t" {\n'
        "  a    = local.a\n"
        "  self = local.self\n"
        "}\n"
        'resource "aws_sqs_queue" "q" {\n  count = length(aws_sqs_queue.q)\n}\n'
    )})
    blocks, gaps = read(tmp_path)
    assert blocks["test.t"].attributes == {
        "a": Unresolved("local.a", "circular reference"),
        "self": Unresolved("${local.self}-x", PARTLY),
    }
    assert list(blocks) == ["test.t", "aws_sqs_queue.q[*]"]
    assert gap_summary(gaps) == [
        ("invalid-template", "circular reference: local.a -> local.b -> local.a", "main.tf", 2),
        ("invalid-template", "circular reference: local.self -> local.self", "main.tf", 4),
        ("invalid-template", "circular reference: aws_sqs_queue.q (count/for_each) -> aws_sqs_queue.q "
                             "(count/for_each)", "main.tf", 10),
        ("unresolved", "aws_sqs_queue.q: count = length(aws_sqs_queue.q) is not known statically (the instances "
                       "of aws_sqs_queue.q are not known statically); analyzed once as aws_sqs_queue.q[*]",
         "main.tf", 10),
    ]


def test_long_local_chains_and_huge_counts_are_bounded(tmp_path: Path) -> None:
    chain = "".join(f"  l{i} = local.l{i + 1}\n" for i in range(200)) + '  l200 = "end"\n'
    write(tmp_path, {"main.tf": (
        f"locals {{\n{chain}}}\n"
        'resource "test" "t" {\n  v = local.l0\n}\n'
        'resource "aws_sqs_queue" "q" {\n  count = 100000000\n}\n'
        'resource "test" "r" {\n  big = range(100000000)\n}\n'
    )})
    blocks, gaps = read(tmp_path)
    # The chain stops at the 48th nested local; that Unresolved comes back up unchanged.
    assert blocks["test.t"].attributes == {"v": Unresolved("local.l48", "references nested too deeply")}
    assert list(blocks) == ["test.t", "aws_sqs_queue.q[*]", "test.r"]
    assert blocks["test.r"].attributes == {"big": Unresolved(
        "range(100000000)", "range of more than 10000 elements is not evaluated")}
    assert gap_summary(gaps) == [
        ("invalid-template", "references nested more than 48 levels deep", "main.tf", 50),
        ("unresolved", "aws_sqs_queue.q: count 100000000 is over the 1000 instance limit; analyzed once as "
                       "aws_sqs_queue.q[*]", "main.tf", 207),
    ]


# ---------------------------------------------------------------- suppressions
def test_suppression_comments(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": (
        "# Public on purpose.\n"                                    # 1
        "# lambdasec: ignore[EXP001] public webhook, checked by signature\n"
        "// lambdasec: ignore[EXP002, EXP003] same reason\n"        # 3
        'resource "aws_lambda_permission" "public" {\n'             # 4
        '  principal = "*" # lambdasec: ignore[EXP004] inline works too\n'
        "  /* lambdasec: ignore[EXP005] block comment */\n"
        "}\n"
        "# lambdasec: ignore[SEC001]\n"                             # 8
        "\n"
        "# lambdasec: ignore[SEC002] not directly above: a blank line separates it\n"
        "\n"
        'resource "aws_lambda_function" "fn" {\n'                   # 12
        "  # lambdasec: ignore[SEC003]\n"
        "}\n"
    )})
    blocks, gaps = read(tmp_path)
    assert blocks["aws_lambda_permission.public"].suppressions == {
        "EXP001": "public webhook, checked by signature",
        "EXP002": "same reason",
        "EXP003": "same reason",
        "EXP004": "inline works too",
        "EXP005": "block comment",
    }
    assert blocks["aws_lambda_function.fn"].suppressions == {}
    assert gap_summary(gaps) == [
        ("invalid-suppression", "suppression comment ignored: it needs a reason", "main.tf", 13),
    ]


def test_suppression_without_reason_above_a_block(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": '# lambdasec: ignore[EXP001]\nresource "aws_sqs_queue" "q" {\n  count = 2\n}\n'})
    blocks, gaps = read(tmp_path)
    assert blocks["aws_sqs_queue.q[0]"].suppressions == {}
    assert gap_summary(gaps) == [
        ("invalid-suppression", "suppression comment ignored: it needs a reason", "main.tf", 1)]


# ---------------------------------------------------------------- bad input
def test_malformed_file_is_a_parse_error_and_other_files_are_read(tmp_path: Path) -> None:
    write(tmp_path, {
        "a_broken.tf": 'resource "aws_sqs_queue" "x" {\n  name = \n}\n',
        "b_unclosed.tf": 'resource "aws_sqs_queue" "y" {\n  name = "y"\n',
        "c_good.tf": 'resource "aws_sqs_queue" "ok" {\n  name = "ok"\n}\n',
        "d_binary.tf": b"\xff\xfe\x00garbage",
    })
    blocks, gaps = read(tmp_path)
    assert list(blocks) == ["aws_sqs_queue.ok"]
    assert gap_summary(gaps) == [
        ("parse-error", "invalid HCL near 'name ='", "a_broken.tf", 2),
        ("parse-error", "invalid HCL: missing '}'", "b_unclosed.tf", 3),
        ("parse-error", "file is not valid UTF-8", "d_binary.tf", None),
    ]


def test_too_large_file_and_deep_nesting_are_gaps(tmp_path: Path) -> None:
    deep = "[" * 500 + "]" * 500
    write(tmp_path, {
        "big.tf": 'resource "aws_sqs_queue" "big" {}\n' + "# padding\n" * 200,
        "deep.tf": f'resource "aws_sqs_queue" "deep" {{\n  v = {deep}\n}}\nresource "aws_sqs_queue" "next" {{}}\n',
        "ok.tf": 'resource "aws_sqs_queue" "ok" {}\n',
    })
    blocks, gaps = read(tmp_path, options=CollectOptions(max_template_bytes=1500))
    assert list(blocks) == ["aws_sqs_queue.next", "aws_sqs_queue.ok"]
    assert gap_summary(gaps) == [
        ("too-large", "Terraform file is 2034 bytes, over the 1500 byte limit", "big.tf", None),
        ("parse-error", "nested more than 100 levels deep", "deep.tf", 2),
    ]


def test_invalid_declarations_are_gaps(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": (
        'resource "aws_sqs_queue" {}\n'
        'resource "aws_sqs_queue" "q" {\n  name = "a"\n  name = "b"\n}\n'
        'resource "aws_sqs_queue" "q" {}\n'
        'module "m" {\n  source = var.dir\n}\n'
    )})
    blocks, gaps = read(tmp_path)
    assert list(blocks) == ["aws_sqs_queue.q"]
    assert blocks["aws_sqs_queue.q"].attributes == {"name": "a"}
    assert gap_summary(gaps) == [
        ("invalid-template", "resource block needs 2 label(s)", "main.tf", 1),
        ("invalid-template", "aws_sqs_queue.q is declared twice", "main.tf", 6),
        ("invalid-template", "module m has no literal source", "main.tf", 7),
    ]


def test_no_files(tmp_path: Path) -> None:
    assert read_module([], tmp_path, CollectOptions()) == ([], [])


def test_parser_is_imported_only_when_a_file_is_read() -> None:
    code = ("import sys, lambdasec.collectors.terraform.hcl\n"
            "print('tree_sitter' in sys.modules, 'tree_sitter_hcl' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------- module ids and more module shapes
def test_file_given_alone_next_to_others_is_its_own_module(tmp_path: Path) -> None:
    write(tmp_path, {
        "fixtures/EXP001.fail.tf": 'resource "aws_lambda_permission" "fail_public" {\n  principal = "*"\n}\n',
        "fixtures/EXP001.pass.tf": ('resource "aws_lambda_permission" "fail_public" {\n'
                                    '  principal = "s3.amazonaws.com"\n}\n'),
    })
    folder = tmp_path / "fixtures"
    fail, _ = read_module([folder / "EXP001.fail.tf"], folder, CollectOptions())
    passing, _ = read_module([folder / "EXP001.pass.tf"], folder, CollectOptions())
    assert [b.key for b in fail] == ["EXP001.fail.tf#aws_lambda_permission.fail_public"]
    assert [b.key for b in passing] == ["EXP001.pass.tf#aws_lambda_permission.fail_public"]
    assert fail[0].attributes == {"principal": "*"}


def test_two_root_modules_calling_one_child_get_distinct_keys(tmp_path: Path) -> None:
    call = 'module "fn" {\n  source = "../modules/fn"\n}\n'
    write(tmp_path, {"a/main.tf": call, "b/main.tf": call, "modules/fn/main.tf": 'resource "aws_sqs_queue" "q" {}\n'})
    a, _ = read(tmp_path, "a")
    b, _ = read(tmp_path, "b")
    assert [x.key for x in a.values()] == ["a#module.fn.aws_sqs_queue.q"]
    assert [x.key for x in b.values()] == ["b#module.fn.aws_sqs_queue.q"]
    assert a["module.fn.aws_sqs_queue.q"].location.file == "modules/fn/main.tf"


def test_module_count_and_unknown_module_instances(tmp_path: Path) -> None:
    write(tmp_path, {
        "main.tf": (
            'variable "n" {}\n'
            'module "counted" {\n  source = "./m"\n  count  = 2\n  name   = "c${count.index}"\n}\n'
            'module "unknown" {\n  source = "./m"\n  count  = var.n\n  name   = "u"\n}\n'
            'resource "aws_sqs_queue" "uses" {\n'
            "  a = module.counted[1].queue\n"
            "  b = module.unknown[0].queue\n"
            "  c = module.counted[*].queue\n"
            "}\n"
        ),
        "m/main.tf": ('variable "name" {}\nresource "aws_sqs_queue" "q" {\n  name = var.name\n}\n'
                      'output "queue" {\n  value = aws_sqs_queue.q.arn\n}\n'),
    })
    blocks, gaps = read(tmp_path)
    assert list(blocks) == ["module.counted[0].aws_sqs_queue.q", "module.counted[1].aws_sqs_queue.q",
                            "module.unknown[*].aws_sqs_queue.q", "aws_sqs_queue.uses"]
    assert blocks["module.counted[1].aws_sqs_queue.q"].attributes == {"name": "c1"}
    assert blocks["aws_sqs_queue.uses"].attributes == {
        "a": ResourceRef(".#module.counted[1].aws_sqs_queue.q", "arn"),
        "b": ResourceRef(".#module.unknown[*].aws_sqs_queue.q", "arn"),
        "c": [ResourceRef(".#module.counted[0].aws_sqs_queue.q", "arn"),
              ResourceRef(".#module.counted[1].aws_sqs_queue.q", "arn")],
    }
    reason = ("count = var.n is not known statically (variable n has no default and is not set in terraform.tfvars "
              "or *.auto.tfvars)")
    assert gap_summary(gaps) == [
        ("unresolved", f"module.unknown: {reason}; analyzed once as module.unknown[*]", "main.tf", 7)]


def test_json_configuration_files_are_reported(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": 'resource "aws_sqs_queue" "q" {}\n', "extra.tf.json": '{"resource": {}}'})
    blocks, gaps = read(tmp_path)
    assert list(blocks) == ["aws_sqs_queue.q"]
    assert gap_summary(gaps) == [
        ("unsupported", "Terraform JSON configuration files are not read", "extra.tf.json", None)]


def test_crlf_files_and_count_outside_a_counted_block(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": (
        b'resource "aws_sqs_queue" "q" {\r\n'
        b'  name  = "q"\r\n'
        b"  index = count.index\r\n"
        b"  tags = {\r\n    a = 1\r\n  }\r\n"
        b"}\r\n"
    )})
    blocks, gaps = read(tmp_path)
    assert gaps == []
    assert blocks["aws_sqs_queue.q"].attributes == {
        "name": "q",
        "index": Unresolved("count.index", "invalid expression: count is only available in a block with count"),
        "tags": {"a": 1},
    }
    assert blocks["aws_sqs_queue.q"].attribute_locations["tags.a"].line == 5


def test_environment_variables_written_as_input_variables_are_linked(tmp_path: Path) -> None:
    write(tmp_path, {
        "main.tf": (
            'variable "db_password" {\n  default   = "hunter2-hunter2"\n  sensitive = true\n}\n'  # 1
            'variable "api_key" {}\n'                                                              # 5
            'variable "stage" {}\n'                                                                # 6
            'resource "aws_lambda_function" "fn" {\n'
            "  environment {\n"
            "    variables = {\n"
            "      DB_PASSWORD = var.db_password\n"
            '      API_KEY     = "${var.api_key}"\n'
            "      STAGE       = var.stage\n"
            '      PLAIN       = "x-${var.stage}"\n'
            "    }\n"
            "  }\n"
            "}\n"
            'module "child" {\n  source = "./child"\n  secret = var.db_password\n  other = "literal"\n}\n'
        ),
        "terraform.tfvars": 'api_key = "sk_live_abcdefabcdef"\n',
        "child/main.tf": (
            'variable "secret" {}\nvariable "other" {}\n'
            'resource "aws_lambda_function" "inner" {\n'
            "  environment {\n    variables = {\n      SECRET = var.secret\n      OTHER = var.other\n    }\n  }\n"
            "}\n"
        ),
    })
    links: dict = {}
    blocks, gaps = read_module(sorted(tmp_path.glob("*.tf")), tmp_path, CollectOptions(
        parameter_values={"stage": "prod"}), parameter_links=links)
    assert gaps == []
    db = Parameter("db_password", True, "hunter2-hunter2", True, Location("main.tf", 1))
    assert links == {
        (".#aws_lambda_function.fn", "environment.0.variables.DB_PASSWORD"): db,
        (".#aws_lambda_function.fn", "environment.0.variables.API_KEY"): Parameter(
            "api_key", False, "sk_live_abcdefabcdef", True, Location("terraform.tfvars", 1)),
        (".#aws_lambda_function.fn", "environment.0.variables.STAGE"): Parameter(
            "stage", False, None, False, Location("main.tf", 6)),
        (".#module.child.aws_lambda_function.inner", "environment.0.variables.SECRET"): db,
    }
    assert blocks[0].attributes["environment"] == [{"variables": {
        "DB_PASSWORD": "hunter2-hunter2", "API_KEY": "sk_live_abcdefabcdef", "STAGE": "prod", "PLAIN": "x-prod"}}]


def test_deployment_data_sources_read_like_cloudformation_pseudo_parameters(tmp_path: Path) -> None:
    """The deploying account/region and the n-th zone are written as CloudFormation writes them, so rules that
    recognise "this account" or "different zones" judge Terraform the same way."""
    import lambdasec

    main = tmp_path / "main.tf"
    main.write_text(
        'data "aws_caller_identity" "me" {}\ndata "aws_region" "here" {}\ndata "aws_availability_zones" "az" {}\n'
        'resource "aws_subnet" "a" {\n  vpc_id = "vpc-1"\n'
        '  availability_zone = data.aws_availability_zones.az.names[0]\n}\n'
        'resource "aws_subnet" "b" {\n  vpc_id = "vpc-1"\n'
        '  availability_zone = data.aws_availability_zones.az.names[1]\n}\n'
        'resource "aws_lambda_function" "f" {\n  function_name = "f"\n  runtime = "python3.12"\n  handler = "a.b"\n'
        '  role = "arn:aws:iam::123456789012:role/x"\n  filename = "x.zip"\n'
        '  layers = ["arn:aws:lambda:${data.aws_region.here.name}:'
        '${data.aws_caller_identity.me.account_id}:layer:l:1"]\n'
        '  vpc_config {\n    subnet_ids = [aws_subnet.a.id, aws_subnet.b.id]\n'
        '    security_group_ids = ["sg-1"]\n  }\n}\n')
    report = lambdasec.scan_paths([tmp_path], rules=["INT004", "NET002"])
    assert (report.findings, report.not_evaluated, report.coverage_gaps) == ([], [], [])
