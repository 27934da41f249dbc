"""The generated bad-input corpus for IaC, IAM policies, and lambdasec's own files.

Each :class:`Case` writes its input files into an empty directory and states what lambdasec must answer:
the exit code, and either the exact coverage gaps (kind at file) of the JSON report or the exact one-line
error on stderr. Nothing here is a checked-in blob: every file is made by code, so a case says how its input is
broken. ``test_corpus_iac.py`` runs them; ``CASES`` is the whole corpus (docs/reliability.md states its size).

Grouped cases (``solo=False``) share one ``lambdasec scan`` of a directory holding one sub-directory per case;
the others (bombs, memory pairs, time bounds, commands other than a plain scan) run in their own process.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from tests.test_bad_input import GOOD

CLOUDFORMATION = "cloudformation"
TERRAFORM = "terraform"
SERVERLESS = "serverless"
IAM = "iam-policies"
OWN_FILES = "lambdasec-files"

SCAN_JSON = ("scan", ".", "-f", "json", "--fail-on", "none")
# A value planted in the scanning machine's environment: ${env:...} must never resolve to it.
PLANTED_ENV = {"LAMBDASEC_CORPUS_PLANTED": "planted-value-7f3a9c1e5b"}

Writer = Callable[[Path], None]
Gap = tuple[str, str]  # (file relative to the case directory, gap kind)


@dataclass(frozen=True)
class Case:
    name: str
    category: str
    write: Writer
    gaps: frozenset[Gap] = frozenset()
    exit_code: int = 3
    args: tuple[str, ...] = SCAN_JSON
    error: str = ""  # the exact stderr line of a usage error ({dir}: the case directory)
    solo: bool = False  # needs its own process (bomb, memory, time bound, not a plain scan)
    env: Mapping[str, str] = field(default_factory=dict)
    never_in_output: tuple[str, ...] = ()
    twin: str = ""  # the same bomb 10x smaller: peak memory must not grow with the bomb
    xfail: str = ""  # a known defect, left for a later fix: the test is xfail(strict=True) with this reason


def _files(**named: str | bytes) -> Writer:
    """A writer of text or bytes files; ``__`` in a keyword is a ``/`` and ``_DOT_`` a ``.``."""

    def write(directory: Path) -> None:
        for key, content in named.items():
            path = directory / key.replace("__", "/").replace("_DOT_", ".")
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")

    return write


def _file(name: str, content: str | bytes | Callable[[], str | bytes]) -> Writer:
    """A writer of one file; big contents are given as a function so that nothing is built at import."""

    def write(directory: Path) -> None:
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content() if callable(content) else content
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")

    return write


# ---------------------------------------------------------------- CloudFormation / SAM
GOOD_JSON = json.dumps({
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.12", "Handler": "app.handler", "Code": {"ZipFile": "x"},
            "Role": {"Fn::GetAtt": ["Role", "Arn"]}}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                        "Principal": {"Service": "lambda.amazonaws.com"}}]},
            "ManagedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}},
        "Url": {"Type": "AWS::Lambda::Url", "Properties": {"TargetFunctionArn": {"Ref": "Fn"}, "AuthType": "NONE"}},
    },
}, indent=1)

_QUEUE = "Resources:\n  Q: {Type: AWS::SQS::Queue}\n"
_HEADER = "AWSTemplateFormatVersion: '2010-09-09'\n"


def _truncations(text: str, pieces: int) -> list[int]:
    """Cut points spread over the text, the first past the point where it starts to look like a template."""
    step = max(len(text) // pieces, 1)
    return list(range(step, len(text) - 1, step))


def _truncated_template_gaps(name: str, prefix: str) -> frozenset[Gap]:
    """What a cut template must give, told by PyYAML's own composer (not libyaml, which lambdasec uses): no gap
    when the cut no longer looks like a template, a parse error when the rest is not YAML (or JSON), else a gap
    for each resource whose properties were cut down to a scalar."""
    if "Resources" not in prefix or not any(hint in prefix for hint in ("AWS::", "AWSTemplateFormatVersion")):
        return frozenset()
    try:
        json.loads(prefix) if name.endswith(".json") else None
        document = yaml.compose(prefix, Loader=yaml.SafeLoader)
    except (ValueError, yaml.YAMLError):
        return frozenset({(name, "parse-error")})
    resources = _mapping_value(document, "Resources")
    if not isinstance(resources, yaml.MappingNode):
        return frozenset({(name, "parse-error")}) if resources is not None else frozenset()
    scalar_properties = any(isinstance(_mapping_value(resource, "Properties"), yaml.ScalarNode)
                            for _, resource in resources.value)
    return frozenset({(name, "unresolved")}) if scalar_properties else frozenset()


def _mapping_value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((value for name, value in node.value if isinstance(name, yaml.ScalarNode) and name.value == key),
                None)


def _template(resources: str, head: str = _HEADER) -> str:
    return f"{head}Resources:\n{resources}"


def _alias_bomb(levels: int) -> str:
    """Billion laughs: each level lists the previous one ten times (10**levels leaves)."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return _QUEUE + "\n".join(lines) + "\n"


def _merge_bomb(levels: int) -> str:
    """Merge keys that each merge the previous mapping ten times."""
    lines = ["m0: &m0 {k0: v}"]
    lines += [f"m{i}: &m{i} {{<<: [{', '.join([f'*m{i - 1}'] * 10)}], k{i}: v}}" for i in range(1, levels)]
    return _QUEUE + "\n".join(lines) + "\n"


def _big_scalar(size: int) -> str:
    return _template(f"  Q:\n    Type: AWS::SQS::Queue\n    Metadata: {{Blob: {'x' * size}}}\n")


MISTYPED_TEMPLATES = {
    "resources-scalar": _template("") + "  7\n",
    "resource-list": _template("  Q: [AWS::SQS::Queue]\n"),
    "type-number": _template("  Q: {Type: 7}\n  R: {Type: AWS::SQS::Queue}\n"),
    "type-list": _template("  Q: {Type: [AWS::Lambda::Function]}\n  R: {Type: AWS::SQS::Queue}\n"),
    "properties-string": _template("  F: {Type: AWS::Lambda::Function, Properties: oops}\n"),
    "properties-list": _template("  F: {Type: AWS::Lambda::Function, Properties: [1, 2]}\n"),
    "parameters-list": "Parameters: [a, b]\n" + _template("  Q: {Type: AWS::SQS::Queue}\n"),
    "conditions-scalar": "Conditions: 7\n" + _template("  Q: {Type: AWS::SQS::Queue, Condition: C}\n"),
    "outputs-list": "Outputs: [1]\n" + _template("  Q: {Type: AWS::SQS::Queue}\n"),
    "mappings-scalar": "Mappings: x\n" + _template(
        "  Q: {Type: AWS::SQS::Queue, Properties: {QueueName: !FindInMap [M, a, b]}}\n"),
    "transform-number": "Transform: 7\n" + _template("  Q: {Type: AWS::SQS::Queue}\n"),
    "version-list": "AWSTemplateFormatVersion: [1]\nResources:\n  Q: {Type: AWS::SQS::Queue}\n",
    "dependson-map": _template("  Q: {Type: AWS::SQS::Queue, DependsOn: {a: b}}\n"),
    "env-variables-list": _template(
        "  F: {Type: AWS::Lambda::Function, Properties: {Environment: {Variables: [a, b]}}}\n"),
    "sam-events-list": "Transform: AWS::Serverless-2016-10-31\n" + _template(
        "  F: {Type: AWS::Serverless::Function, Properties: {Events: [a], Runtime: python3.12, Handler: h}}\n"),
}

CYCLE_TEMPLATES = {
    "dependson-cycle": _template("  A: {Type: AWS::SQS::Queue, DependsOn: B}\n"
                                 "  B: {Type: AWS::SQS::Queue, DependsOn: C}\n"
                                 "  C: {Type: AWS::SQS::Queue, DependsOn: A}\n"),
    "ref-cycle": _template("  A: {Type: AWS::SQS::Queue, Properties: {QueueName: !Ref B}}\n"
                           "  B: {Type: AWS::SQS::Queue, Properties: {QueueName: !Ref A}}\n"),
    "getatt-cycle": _template(
        "  F: {Type: AWS::Lambda::Function, Properties: {Role: !GetAtt R.Arn, Runtime: python3.12, Handler: h,"
        " Code: {ZipFile: x}}}\n"
        "  R: {Type: AWS::IAM::Role, Properties: {RoleName: !GetAtt F.Arn, AssumeRolePolicyDocument: {}}}\n"),
    "sub-cycle": _template("  A: {Type: AWS::SQS::Queue, Properties: {QueueName: !Sub '${B.Arn}-a'}}\n"
                           "  B: {Type: AWS::SQS::Queue, Properties: {QueueName: !Sub '${A.Arn}-b'}}\n"),
    "condition-cycle": "Conditions:\n  C1: !Condition C2\n  C2: !Not [!Condition C1]\n" + _template(
        "  Q: {Type: AWS::SQS::Queue, Condition: C1}\n"),
    "sam-globals-list": "Transform: AWS::Serverless-2016-10-31\nGlobals: [Function]\n" + _template(
        "  F: {Type: AWS::Serverless::Function, Properties: {Runtime: python3.12, Handler: h, CodeUri: .}}\n"),
    "sam-globals-function-scalar": "Transform: AWS::Serverless-2016-10-31\nGlobals: {Function: 7}\n" + _template(
        "  F: {Type: AWS::Serverless::Function, Properties: {Runtime: python3.12, Handler: h, CodeUri: .}}\n"),
    "sam-globals-self-ref": "Transform: AWS::Serverless-2016-10-31\n"
                            "Globals: {Function: {Environment: {Variables: {A: !GetAtt F.Arn}}}}\n" + _template(
        "  F: {Type: AWS::Serverless::Function, Properties: {Runtime: python3.12, Handler: h, CodeUri: .}}\n"),
}

ENCODING_TEMPLATES: dict[str, bytes] = {
    "utf16-bom.yaml": "\ufeff".encode("utf-16-le") + GOOD.encode("utf-16-le"),
    "utf16-bom.json": b"\xfe\xff" + GOOD_JSON.encode("utf-16-be"),
    "nul-bytes.yaml": GOOD.replace("Runtime: python3.12", "Runtime: python\x003.12").encode(),
    "nul-bytes.json": GOOD_JSON.replace("python3.12", "python\\u00003.12\x00").encode(),
    "invalid-utf8.json": GOOD_JSON.encode().replace(b"app.handler", b"app.\xc3\x28handler"),
    "string-document.json": json.dumps(GOOD_JSON).encode(),
    "string-document.yaml": ("--- |\n  " + GOOD.replace("\n", "\n  ")).encode(),
    "list-document.yaml": ("- " + GOOD.replace("\n", "\n  ")).encode(),
    "list-document.json": f"[{GOOD_JSON}]".encode(),
    "duplicate-keys.yaml": _template("  Q: {Type: AWS::SQS::Queue}\n  Q: {Type: AWS::Lambda::Url}\n").encode(),
    "duplicate-keys.json": b'{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}, "Q": {"Type": "AWS::SQS::Queue"}}}',
    "unknown-intrinsic-tag.yaml": _template(
        "  Q: {Type: AWS::SQS::Queue, Properties: {QueueName: !Nope x}}\n").encode(),
    "unknown-intrinsic.json": b'{"Resources": {"Q": {"Type": "AWS::SQS::Queue", '
                              b'"Properties": {"QueueName": {"Fn::Nope": ["x"]}}}}}',
    "include-missing.yaml": _template(
        "  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      Fn::Transform:\n        Name: AWS::Include\n"
        "        Parameters: {Location: ./missing.yaml}\n").encode(),
    "include-top-missing.yaml": ("Transform: {Name: AWS::Include, Parameters: {Location: s3://b/missing.yaml}}\n"
                                 + _template("  Q: {Type: AWS::SQS::Queue}\n")).encode(),
}


def _deep_yaml_flow(depth: int) -> str:
    return _template("  Q: {Type: AWS::SQS::Queue, Properties: {Tags: " + "[" * depth + "]" * depth + "}}\n")


def _deep_yaml_block(depth: int) -> str:
    return _template("  Q:\n    Type: AWS::SQS::Queue\n    Metadata:\n      Deep:\n      " + "- " * depth + "x\n")


def _deep_json(depth: int) -> str:
    return '{"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Metadata": ' + '{"a": ' * depth + "1" \
        + "}" * depth + "}}}"


def _cloudformation_cases() -> list[Case]:
    cases = [Case(f"cfn-truncated-yaml-{cut}", CLOUDFORMATION, _file("t.yaml", GOOD[:cut]),
                  _truncated_template_gaps("t.yaml", GOOD[:cut])) for cut in _truncations(GOOD, 16)]
    cases += [Case(f"cfn-truncated-json-{cut}", CLOUDFORMATION, _file("t.json", GOOD_JSON[:cut]),
                   _truncated_template_gaps("t.json", GOOD_JSON[:cut])) for cut in _truncations(GOOD_JSON, 16)]
    cases += [Case(f"cfn-mistyped-{name}", CLOUDFORMATION, _file("t.yaml", text))
              for name, text in MISTYPED_TEMPLATES.items()]
    cases += [Case(f"cfn-cycle-{name}", CLOUDFORMATION, _file("t.yaml", text))
              for name, text in CYCLE_TEMPLATES.items()]
    cases += [Case(f"cfn-{name.replace('.', '-')}", CLOUDFORMATION, _file(name, content))
              for name, content in ENCODING_TEMPLATES.items()]
    cases += [
        Case("cfn-deep-yaml-flow-100k", CLOUDFORMATION, _file("t.yaml", lambda: _deep_yaml_flow(100_000))),
        Case("cfn-deep-yaml-block-100k", CLOUDFORMATION, _file("t.yaml", lambda: _deep_yaml_block(100_000)), solo=True),
        Case("cfn-deep-json-100k", CLOUDFORMATION, _file("t.json", lambda: _deep_json(100_000))),
        Case("cfn-alias-bomb-1e8", CLOUDFORMATION, _file("t.yaml", _alias_bomb(8)), solo=True),
        Case("cfn-alias-bomb-1e9", CLOUDFORMATION, _file("t.yaml", _alias_bomb(9)), solo=True,
             twin="cfn-alias-bomb-1e8"),
        Case("cfn-merge-bomb-1e7", CLOUDFORMATION, _file("t.yaml", _merge_bomb(7)), solo=True),
        Case("cfn-merge-bomb-1e8", CLOUDFORMATION, _file("t.yaml", _merge_bomb(8)), solo=True,
             twin="cfn-merge-bomb-1e7"),
        Case("cfn-scalar-4mb", CLOUDFORMATION, _file("t.yaml", lambda: _big_scalar(4 << 20)), solo=True),
        Case("cfn-scalar-5mb-over-limit", CLOUDFORMATION, _file("t.yaml", lambda: _big_scalar(5 << 20)), solo=True),
        Case("cfn-scalar-50mb-over-limit", CLOUDFORMATION, _file("t.yaml", lambda: _big_scalar(50 << 20)), solo=True,
             twin="cfn-scalar-5mb-over-limit"),
    ]
    return cases


# ---------------------------------------------------------------- Terraform
GOOD_TF = """\
resource "aws_iam_role" "r" {
  name               = "r"
  assume_role_policy = jsonencode({Statement = [{Effect = "Allow", Action = "sts:AssumeRole",
    Principal = {Service = "lambda.amazonaws.com"}}]})
}

resource "aws_iam_role_policy_attachment" "admin" {
  role       = aws_iam_role.r.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}

resource "aws_lambda_function" "f" {
  function_name = "f"
  role          = aws_iam_role.r.arn
  runtime       = "python3.12"
  handler       = "app.handler"
  filename      = "f.zip"
  environment {
    variables = {
      MODE = <<-EOT
        production
      EOT
    }
  }
}

resource "aws_lambda_function_url" "u" {
  function_name      = aws_lambda_function.f.function_name
  authorization_type = "NONE"
}
"""

_TF_FUNCTION = 'resource "aws_lambda_function" "f" {\n  function_name = "f"\n  role = "arn:aws:iam::1:role/r"\n' \
               '  runtime = "python3.12"\n  handler = "h"\n  filename = "f.zip"\n'


def _tf_function(extra: str) -> str:
    return _TF_FUNCTION + extra + "}\n"


def _tf_list(count: int) -> str:
    items = ", ".join(f'"subnet-{i}"' for i in range(count))
    return _tf_function(f"  vpc_config {{\n    subnet_ids = [{items}]\n    security_group_ids = []\n  }}\n")


TERRAFORM_MODULES: dict[str, dict[str, str | bytes]] = {
    "unterminated-heredoc": {"main.tf": _tf_function('  description = <<EOT\n  never closed\n')},
    "unterminated-string": {"main.tf": _tf_function('  description = "never closed\n')},
    "unterminated-block": {"main.tf": _TF_FUNCTION},
    "deep-nesting-100k": {"main.tf": _tf_function("  description = " + "[" * 100_000 + "]" * 100_000 + "\n")},
    "deep-parens-100k": {"main.tf": _tf_function("  timeout = " + "(" * 100_000 + "1" + ")" * 100_000 + "\n")},
    "list-10k": {"main.tf": _tf_list(10_000)},
    "invalid-utf8": {"main.tf": _tf_function('  description = "caf\xe9"\n').encode("latin-1")},
    "nul-bytes": {"main.tf": _tf_function('  description = "a\x00b"\n')},
    "self-local": {"main.tf": 'locals {\n  a = local.a\n}\n' + _tf_function("  description = local.a\n")},
    "three-local-cycle": {"main.tf": 'locals {\n  a = local.b\n  b = local.c\n  c = "${local.a}x"\n}\n'
                          + _tf_function("  description = local.a\n")},
    "module-calls-itself": {"main.tf": 'module "me" {\n  source = "./"\n}\n' + _tf_function("")},
    "modules-call-each-other": {
        "main.tf": 'module "a" {\n  source = "./a"\n}\n' + _tf_function(""),
        "a/main.tf": 'module "b" {\n  source = "../b"\n}\n',
        "b/main.tf": 'module "a" {\n  source = "../a"\n}\n',
    },
    "count-1e9": {"main.tf": _tf_function("  count = 1e9\n")},
    "count-huge-int": {"main.tf": _tf_function("  count = 1000000000\n")},
    "count-negative": {"main.tf": _tf_function("  count = -1\n")},
    "count-string": {"main.tf": _tf_function('  count = "many"\n')},
    "for-each-range-1e9": {"main.tf": _tf_function("  for_each = toset([for i in range(1000000000) : tostring(i)])\n")},
    "for-each-number": {"main.tf": _tf_function("  for_each = 7\n")},
    "dynamic-block-huge": {"main.tf": _tf_function(
        '  dynamic "environment" {\n    for_each = range(1000000000)\n    content {\n'
        '      variables = {A = "x"}\n    }\n  }\n')},
    "plan-truncated": {"plan.json": json.dumps({"format_version": "1.2", "resource_changes": [
        {"address": "aws_lambda_function.f", "type": "aws_lambda_function", "change": {"after": {}}}]})[:70]},
    "plan-wrong-types": {"plan.json": json.dumps({
        "format_version": "1.2", "planned_values": [1], "resource_changes": "x", "configuration": 7})},
    "plan-resource-wrong-types": {"plan.json": json.dumps({
        "format_version": "1.2", "planned_values": {"root_module": {"resources": [
            {"address": 7, "type": ["aws_lambda_function"], "values": "x"}, "y", None]}},
        "resource_changes": [{"address": None, "change": []}]})},
}


def _tf_truncations() -> dict[str, dict[str, str | bytes]]:
    return {f"truncated-{cut}": {"main.tf": GOOD_TF[:cut]} for cut in _truncations(GOOD_TF, 10)}


def _plan(changes: int) -> str:
    """A plan of many small queues: parsed and mapped within the time bound, or refused by size."""
    resources = [{"address": f"aws_sqs_queue.q{i}", "mode": "managed", "type": "aws_sqs_queue", "name": f"q{i}",
                  "values": {"name": f"q{i}"}} for i in range(changes)]
    return json.dumps({"format_version": "1.2", "planned_values": {"root_module": {"resources": resources}}},
                      separators=(",", ":"))


def _terraform_cases() -> list[Case]:
    modules = {**_tf_truncations(), **TERRAFORM_MODULES}
    cases = [Case(f"tf-{name}", TERRAFORM, _files(**{k.replace("/", "__").replace(".", "_DOT_"): v
                                                     for k, v in files.items()}),
                  frozenset({("main.tf", "parse-error")}) if name.startswith("truncated-") else frozenset())
             for name, files in modules.items()]
    cases += [
        Case("tf-plan-20k-changes", TERRAFORM, _file("plan.json", lambda: _plan(20_000)), solo=True),
        Case("tf-plan-100k-changes", TERRAFORM, _file("plan.json", lambda: _plan(100_000)), solo=True),
    ]
    return cases


# ---------------------------------------------------------------- Serverless Framework
_SLS_HEAD = "service: s\nprovider:\n  name: aws\n  runtime: python3.12\n"
_SLS_FUNCTION = "functions:\n  f:\n    handler: h.h\n"


def _deep_self_chain(depth: int) -> str:
    path = ".".join(f"k{i}" for i in range(depth))
    nested = "".join(f"{'  ' * (i + 1)}k{i}:\n" for i in range(depth)) + f"{'  ' * (depth + 1)}value\n"
    return f"{_SLS_HEAD}  stage: ${{self:custom.{path}}}\ncustom:\n{nested}{_SLS_FUNCTION}"


def _huge_functions(count: int) -> str:
    functions = "".join(f"  f{i}:\n    handler: h.h{i}\n" for i in range(count))
    return f"{_SLS_HEAD}functions:\n{functions}"


SERVERLESS_FILES: dict[str, dict[str, str]] = {
    "self-recursive": {"serverless.yml": f"{_SLS_HEAD}  stage: ${{self:custom.a}}\ncustom:\n"
                                         f"  a: ${{self:custom.a}}\n{_SLS_FUNCTION}"},
    "self-whole-document": {"serverless.yml": f"{_SLS_HEAD}custom:\n  all: ${{self:}}\n{_SLS_FUNCTION}"},
    "file-includes-itself": {"serverless.yml": f"{_SLS_HEAD}custom: ${{file(./serverless.yml)}}\n{_SLS_FUNCTION}"},
    "files-include-each-other": {
        "serverless.yml": f"{_SLS_HEAD}custom: ${{file(./a.yml)}}\n{_SLS_FUNCTION}",
        "a.yml": "b: ${file(./b.yml)}\n",
        "b.yml": "a: ${file(./a.yml)}\n",
    },
    "file-missing": {"serverless.yml": f"{_SLS_HEAD}custom: ${{file(./missing.yml)}}\n{_SLS_FUNCTION}"},
    "file-outside": {"serverless.yml": f"{_SLS_HEAD}custom: ${{file(../../../../etc/passwd)}}\n{_SLS_FUNCTION}"},
    "deep-self-chain-300": {"serverless.yml": _deep_self_chain(300)},
    "truncated": {"serverless.yml": (_SLS_HEAD + _SLS_FUNCTION)[:40]},
    "functions-list": {"serverless.yml": f"{_SLS_HEAD}functions: [a, b]\n"},
    "function-scalar": {"serverless.yml": f"{_SLS_HEAD}functions:\n  f: 7\n"},
    "provider-scalar": {"serverless.yml": "service: s\nprovider: aws\n" + _SLS_FUNCTION},
}


def _serverless_cases() -> list[Case]:
    cases = [Case(f"sls-{name}", SERVERLESS, _files(**{k.replace(".", "_DOT_"): v for k, v in files.items()}))
             for name, files in SERVERLESS_FILES.items()]
    environment = "  environment:\n    PLANTED: ${env:LAMBDASEC_CORPUS_PLANTED}\n" \
                  "    DEFAULTED: ${env:LAMBDASEC_CORPUS_PLANTED, 'fallback'}\n"
    cases += [
        Case("sls-env-never-resolved", SERVERLESS, _file("serverless.yml", _SLS_HEAD + environment + _SLS_FUNCTION),
             solo=True, env=PLANTED_ENV, never_in_output=tuple(PLANTED_ENV.values())),
        Case("sls-functions-2k", SERVERLESS, _file("serverless.yml", lambda: _huge_functions(2_000)), solo=True),
    ]
    return cases


# ---------------------------------------------------------------- IAM policies
# Policies are evaluated for execution roles: each bad policy belongs to the role of a function.
_ROLE_USER = "  F: {Type: AWS::Lambda::Function, Properties: {Role: !GetAtt R.Arn, Runtime: python3.12, Handler: h," \
             " Code: {ZipFile: x}}}\n"
_TRUST = "{Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]}"


def _cfn_role(properties: str) -> str:
    return _template(f"{_ROLE_USER}  R:\n    Type: AWS::IAM::Role\n    Properties:\n{properties}")


def _cfn_policy(statement: str) -> str:
    return _cfn_role(f"      AssumeRolePolicyDocument: {_TRUST}\n"
                     f"      Policies: [{{PolicyName: p, PolicyDocument: {{Statement: [{statement}]}}}}]\n")


def _cfn_policy_json(actions: list[str]) -> str:
    return json.dumps({"Resources": {
        "F": {"Type": "AWS::Lambda::Function", "Properties": {
            "Role": {"Fn::GetAtt": ["R", "Arn"]}, "Runtime": "python3.12", "Handler": "h", "Code": {"ZipFile": "x"}}},
        "R": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                        "Principal": {"Service": "lambda.amazonaws.com"}}]},
            "Policies": [{"PolicyName": "p", "PolicyDocument": {
                "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}}]}}}})


IAM_TEMPLATES = {
    "cfn-policy-document-broken-json-string": _cfn_role(
        f"      AssumeRolePolicyDocument: {_TRUST}\n"
        "      Policies: [{PolicyName: p, PolicyDocument: '{\"Statement\": [{\"Effect\": \"Allow\"'}]\n"),
    "cfn-trust-policy-broken-json-string": _cfn_role("      AssumeRolePolicyDocument: '{\"Statement\": ['\n"),
    "cfn-policy-document-json-string": _cfn_role(
        f"      AssumeRolePolicyDocument: {_TRUST}\n"
        "      Policies: [{PolicyName: p, PolicyDocument: '{\"Statement\": [{\"Effect\": \"Allow\", "
        "\"Action\": \"*\", \"Resource\": \"*\"}]}'}]\n"),
    "cfn-policy-document-number": _cfn_role(
        f"      AssumeRolePolicyDocument: {_TRUST}\n      Policies: [{{PolicyName: p, PolicyDocument: [1]}}]\n"),
    "wildcard-question-marks": _cfn_policy('{Effect: Allow, Action: "*?*?*?*?*?*?*?*?*?*?*?", Resource: "*"}'),
    "wildcard-10k-stars": _cfn_policy('{Effect: Allow, Action: "s3:' + "*" * 10_000 + '", Resource: "*"}'),
    "wildcard-alternating": _cfn_policy('{Effect: Allow, Action: "' + "*a" * 2_000 + '", Resource: "*"}'),
    "condition-string": _cfn_policy("{Effect: Allow, Action: s3:GetObject, Resource: '*', Condition: oops}"),
    "condition-list": _cfn_policy("{Effect: Allow, Action: s3:GetObject, Resource: '*', Condition: [1]}"),
    "condition-operator-scalar": _cfn_policy(
        "{Effect: Allow, Action: s3:GetObject, Resource: '*', Condition: {StringEquals: x}}"),
    "condition-value-map": _cfn_policy(
        "{Effect: Allow, Action: s3:GetObject, Resource: '*', Condition: {StringEquals: {k: {a: b}}}}"),
    "notaction-non-strings": _cfn_policy("{Effect: Allow, NotAction: [1, {a: b}, null], Resource: '*'}"),
    "notresource-number": _cfn_policy("{Effect: Allow, Action: '*', NotResource: 7}"),
    "effect-list": _cfn_policy("{Effect: [Allow], Action: '*', Resource: '*'}"),
    "statement-scalar": _cfn_role(
        f"      AssumeRolePolicyDocument: {_TRUST}\n"
        "      Policies: [{PolicyName: p, PolicyDocument: {Statement: oops}}]\n"),
}

_TF_ROLE = 'resource "aws_lambda_function" "f" {\n  function_name = "f"\n  role = aws_iam_role.r.arn\n' \
           '  runtime = "python3.12"\n  handler = "h"\n  image_uri = "x"\n  package_type = "Image"\n}\n'
_TF_TRUST = 'resource "aws_iam_role" "r" {\n  assume_role_policy = jsonencode({Statement = [{Effect = "Allow",' \
            ' Action = "sts:AssumeRole", Principal = {Service = "lambda.amazonaws.com"}}]})\n}\n'


def _tf_policy(policy: str) -> str:
    return _TF_ROLE + _TF_TRUST + f'resource "aws_iam_role_policy" "p" {{\n  role = aws_iam_role.r.id\n{policy}}}\n'


IAM_TERRAFORM = {
    "tf-heredoc-broken-json": _tf_policy('  policy = <<EOF\n{"Statement": [{"Effect": "Allow", "Action": \nEOF\n'),
    "tf-string-broken-json": _tf_policy('  policy = "{not json"\n'),
    "tf-jsonencode-scalar": _tf_policy("  policy = jsonencode(7)\n"),
    "tf-assume-role-broken": _TF_ROLE + 'resource "aws_iam_role" "r" {\n  assume_role_policy = "[["\n}\n',
}


def _iam_cases() -> list[Case]:
    cases = [Case(f"iam-{name}", IAM, _file("t.yaml", text)) for name, text in IAM_TEMPLATES.items()]
    cases += [Case(f"iam-{name}", IAM, _file("main.tf", text)) for name, text in IAM_TERRAFORM.items()]
    cases += [
        Case("iam-action-list-100k", IAM, _file("t.json", lambda: _cfn_policy_json(
            [f"s3:Get{'*' if i % 2 else '?'}Object{i}" for i in range(100_000)])), solo=True),
    ]
    return cases


# ---------------------------------------------------------------- lambdasec's own files
def _gzip_bomb(megabytes: int) -> bytes:
    """A snapshot-looking gzip whose JSON string goes on for ``megabytes`` MiB of spaces: one member holding the
    start of the document, then the same 1 MiB member of spaces repeated (gzip members concatenate)."""
    head = gzip.compress(b'{"format": "lambdasec-snapshot", "schema_version": 1, "pad": "', mtime=0)
    return head + gzip.compress(b" " * (1 << 20), compresslevel=9, mtime=0) * megabytes


def _truncated_gzip() -> bytes:
    packed = gzip.compress(b'{"format": "lambdasec-snapshot", "schema_version": 1, "inventory": {}}', mtime=0)
    return packed[: len(packed) // 2]


def _corrupt_history(directory: Path) -> None:
    (directory / "history.sqlite").write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)


def _truncated_history(directory: Path) -> None:
    path = directory / "history.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("create table t (x)")
        connection.executemany("insert into t values (?)", [("x" * 1000,)] * 50)
    connection.close()
    path.write_bytes(path.read_bytes()[:5000])


def _own_file_cases() -> list[Case]:
    return [
        Case("config-broken-toml", OWN_FILES, _file(".lambdasec.toml", "[scan\nfail_on = "), exit_code=2,
             solo=True, ),
        Case("config-wrong-type", OWN_FILES, _file(".lambdasec.toml", "fail_on = 7\n"), exit_code=2,
             solo=True, ),
        Case("config-invalid-utf8", OWN_FILES, _file(".lambdasec.toml", b"[scan]\nfail_on = \"\xff\"\n"),
             exit_code=2, solo=True, ),
        Case("baseline-not-json", OWN_FILES, _file("baseline.json", "not json"), exit_code=2, solo=True,
             args=(*SCAN_JSON, "--baseline", "baseline.json"), ),
        Case("baseline-wrong-shape", OWN_FILES, _file("baseline.json", "[1, 2]"), exit_code=2, solo=True,
             args=(*SCAN_JSON, "--baseline", "baseline.json"), ),
        Case("snapshot-truncated-gzip", OWN_FILES, _file("snap.json.gz", _truncated_gzip()), solo=True,
             args=("scan", "snap.json.gz", "-f", "json", "--fail-on", "none")),
        Case("snapshot-gzip-bomb-100m", OWN_FILES, _file("snap.json.gz", lambda: _gzip_bomb(100)), solo=True,
             args=("scan", "snap.json.gz", "-f", "json", "--fail-on", "none")),
        Case("snapshot-gzip-bomb-1g", OWN_FILES, _file("snap.json.gz", lambda: _gzip_bomb(1000)), solo=True,
             args=("scan", "snap.json.gz", "-f", "json", "--fail-on", "none"), twin="snapshot-gzip-bomb-100m"),
        Case("render-truncated-report", OWN_FILES, _file("report.json", '{"schema_version": 1, "findings": ['),
             exit_code=2, solo=True, args=("render", "report.json"), ),
        Case("render-report-wrong-shape", OWN_FILES, _file("report.json", '{"findings": 7}'), exit_code=2,
             solo=True, args=("render", "report.json"), ),
        Case("diff-corrupt-history", OWN_FILES, _corrupt_history, exit_code=2, solo=True,
             args=("diff", "--history", "history.sqlite"), ),
        Case("diff-truncated-history", OWN_FILES, _truncated_history, exit_code=2, solo=True,
             args=("diff", "--history", "history.sqlite"), ),
    ]


_PARSE = "parse-error"
_INVALID = "invalid-template"
_UNRESOLVED = "unresolved"
_NO_PACKAGE = "package-missing"

# name -> (gaps: kind, or (file, kind) pairs; exit code; xfail reason). The file is the case's only file unless
# named. Truncated templates are not listed: _truncated_template_gaps says what they give.
EXPECTED: dict[str, tuple[tuple[str | Gap, ...], int, str]] = {
    **{f"cfn-mistyped-{name}": ((kind,) if kind else (), 3, "") for name, kind in {
        "resources-scalar": _PARSE, "resource-list": _PARSE, "type-number": _INVALID, "type-list": _INVALID,
        "properties-string": _UNRESOLVED, "properties-list": _UNRESOLVED, "parameters-list": _INVALID,
        "conditions-scalar": _INVALID, "outputs-list": _INVALID, "mappings-scalar": _INVALID,
        "transform-number": "", "version-list": "", "dependson-map": "", "env-variables-list": _UNRESOLVED}.items()},
    "cfn-mistyped-sam-events-list": (("missing-file", _PARSE), 3, ""),
    **{f"cfn-cycle-{name}": ((_INVALID,), 3, "") for name in (
        "dependson-cycle", "ref-cycle", "getatt-cycle", "sub-cycle", "condition-cycle", "sam-globals-self-ref")},
    "cfn-cycle-sam-globals-list": ((_PARSE,), 3, ""),
    "cfn-cycle-sam-globals-function-scalar": ((_PARSE,), 3, ""),
    **{f"cfn-{name}": ((_PARSE,), 3, "") for name in (
        "utf16-bom-yaml", "utf16-bom-json", "nul-bytes-yaml", "nul-bytes-json", "invalid-utf8-json",
        "string-document-json", "string-document-yaml", "list-document-yaml", "list-document-json",
        "unknown-intrinsic-tag-yaml", "deep-yaml-flow-100k", "deep-yaml-block-100k", "deep-json-100k",
        "alias-bomb-1e8", "alias-bomb-1e9", "merge-bomb-1e7", "merge-bomb-1e8")},
    # Both readers keep the last of duplicate keys (as PyYAML and json do); an unknown Fn:: is an unresolved value.
    "cfn-duplicate-keys-yaml": ((), 3, ""),
    "cfn-duplicate-keys-json": ((), 3, ""),
    "cfn-unknown-intrinsic-json": ((), 3, ""),
    "cfn-include-missing-yaml": (("unsupported",), 3, ""),
    "cfn-include-top-missing-yaml": (("unsupported",), 3, ""),
    "cfn-scalar-4mb": ((), 0, ""),
    "cfn-scalar-5mb-over-limit": (("too-large",), 3, ""),
    "cfn-scalar-50mb-over-limit": (("too-large",), 3, ""),
    **{f"tf-{name}": ((_PARSE,), 3, "") for name in (
        "unterminated-heredoc", "unterminated-string", "unterminated-block", "deep-nesting-100k", "deep-parens-100k",
        "invalid-utf8", "nul-bytes")},
    "tf-count-1e9": ((_PARSE,), 3, ""),  # the HCL grammar has no exponent: a (wrong) parse error, not a crash
    "tf-list-10k": ((_NO_PACKAGE,), 3, ""),
    **{f"tf-{name}": ((_INVALID, _NO_PACKAGE), 3, "") for name in (
        "self-local", "three-local-cycle", "module-calls-itself")},
    "tf-modules-call-each-other": ((("b/main.tf", _INVALID), ("main.tf", _NO_PACKAGE)), 3, ""),
    **{f"tf-{name}": ((_UNRESOLVED, _NO_PACKAGE), 3, "") for name in (
        "count-huge-int", "count-string", "for-each-number", "for-each-range-1e9", "dynamic-block-huge")},
    "tf-count-negative": ((_UNRESOLVED, _NO_PACKAGE), 3, ""),
    "tf-plan-truncated": ((_PARSE,), 3, ""),
    "tf-plan-wrong-types": ((_PARSE,), 3, ""),
    "tf-plan-resource-wrong-types": ((_PARSE,), 3, ""),
    "tf-plan-20k-changes": ((), 0, ""),
    "tf-plan-100k-changes": (("too-large",), 3, ""),
    **{f"sls-{name}": ((_INVALID,), 3, "") for name in (
        "self-recursive", "file-includes-itself", "files-include-each-other")},
    "sls-self-whole-document": ((), 3, ""),
    "sls-file-missing": (("missing-file",), 3, ""),
    "sls-file-outside": (("unsupported",), 3, ""),
    "sls-deep-self-chain-300": ((), 3, ""),
    "sls-truncated": ((_PARSE,), 3, ""),
    "sls-functions-list": ((_UNRESOLVED,), 3, ""),
    "sls-function-scalar": ((_UNRESOLVED,), 3, ""),
    "sls-provider-scalar": ((), 3, ""),
    "sls-env-never-resolved": ((), 0, ""),
    "sls-functions-2k": ((), 0, ""),
    **{f"iam-{name}": ((_PARSE,), 3, "") for name in (
        "cfn-policy-document-broken-json-string", "cfn-trust-policy-broken-json-string", "cfn-policy-document-number",
        "statement-scalar", "tf-heredoc-broken-json", "tf-string-broken-json", "tf-jsonencode-scalar",
        "tf-assume-role-broken")},
    # Odd statements are read without a crash, and within the time bound for absurd wildcards.
    **{f"iam-{name}": ((), 3, "") for name in (
        "cfn-policy-document-json-string", "wildcard-question-marks", "wildcard-10k-stars", "wildcard-alternating",
        "condition-string", "condition-list", "condition-operator-scalar", "condition-value-map",
        "notaction-non-strings", "notresource-number", "effect-list")},
    "iam-action-list-100k": ((), 0, ""),
    "snapshot-truncated-gzip": ((_PARSE,), 3, ""),
    "snapshot-gzip-bomb-100m": ((_PARSE,), 3, ""),
    "snapshot-gzip-bomb-1g": ((_PARSE,), 3, ""),
}

ERRORS = {
    "config-broken-toml": "cannot read config {dir}/.lambdasec.toml: Expected ']' at the end of a table declaration "
                          "(at line 1, column 6)",
    "config-wrong-type": "{dir}/.lambdasec.toml: 'fail_on' must be a string",
    "config-invalid-utf8": "cannot read config {dir}/.lambdasec.toml: 'utf-8' codec can't decode byte 0xff in "
                           "position 18: invalid start byte",
    "baseline-not-json": "cannot read baseline baseline.json: not JSON (Expecting value: line 1 column 1 (char 0))",
    "baseline-wrong-shape": "cannot read baseline baseline.json: not a lambdasec baseline (make one with "
                            "`lambdasec baseline create`)",
    "render-truncated-report": "cannot read report report.json: not JSON (Expecting value: line 1 column 36 (char 35))",
    "render-report-wrong-shape": "cannot read report report.json: not a lambdasec JSON report (lambdasec scan -f json)",
    "diff-corrupt-history": "cannot open history history.sqlite: file is not a database",
    "diff-truncated-history": "cannot open history history.sqlite: database disk image is malformed",
}

_ONLY_FILE = {CLOUDFORMATION: "t.yaml", IAM: "t.yaml", SERVERLESS: "serverless.yml", TERRAFORM: "main.tf"}


def _expected(case: Case) -> Case:
    if case.name in ERRORS:
        return replace(case, error=f"lambdasec: error: {ERRORS[case.name]}")
    if case.name not in EXPECTED:
        return case  # truncations: their gaps were given when they were made
    kinds, exit_code, xfail = EXPECTED[case.name]
    return replace(case, gaps=frozenset(k if isinstance(k, tuple) else (_only_file(case), k) for k in kinds),
                   exit_code=exit_code, xfail=xfail)


def _only_file(case: Case) -> str:
    """The one file a case writes (named by its case name for the encoding cases)."""
    with_suffix = case.name.removeprefix("cfn-")
    for suffix in ("yaml", "json"):
        if with_suffix.endswith(f"-{suffix}") and case.name.startswith("cfn-") and not case.name.startswith(
                ("cfn-truncated", "cfn-deep", "cfn-mistyped", "cfn-cycle")):
            return f"{with_suffix.removesuffix(f'-{suffix}')}.{suffix}"
    if case.name.startswith(("tf-plan-", "snapshot-")):
        return "plan.json" if case.name.startswith("tf-") else "snap.json.gz"
    if case.name in ("cfn-deep-json-100k", "iam-action-list-100k"):
        return "t.json"
    if case.name.startswith("iam-tf-"):
        return "main.tf"
    return _ONLY_FILE[case.category]


def all_cases() -> list[Case]:
    cases = [*_cloudformation_cases(), *_terraform_cases(), *_serverless_cases(), *_iam_cases(), *_own_file_cases()]
    return [_expected(case) for case in cases]


CASES: list[Case] = all_cases()
