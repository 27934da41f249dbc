"""The CloudFormation/SAM collector: what lands in the inventory, with which locations and gaps."""

from __future__ import annotations

from pathlib import Path

from lambdasec.collectors.discovery import collect
from lambdasec.collectors.options import CollectOptions
from lambdasec.model.inventory import Function, Inventory, Role
from lambdasec.model.values import ResourceRef, Unresolved

CFN = """\
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Stage:
    Type: String
    Default: prod
  DbPassword:
    Type: String
    NoEcho: true
  Subnets:
    Type: CommaDelimitedList
    Default: subnet-1,subnet-2
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {Service: lambda.amazonaws.com}
            Action: sts:AssumeRole
      ManagedPolicyArns:
        - !Sub arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole
        - arn:aws:iam::123456789012:policy/custom
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: !Sub orders-${Stage}
      Runtime: python3.12
      Handler: app.handler
      Role: !GetAtt Role.Arn
      Code:
        ZipFile: print('hi')
      Environment:
        Variables:
          DB_PASSWORD: !Ref DbPassword
          MODE: !If [IsProd, strict, lax]
          REGION: !Ref AWS::Region
      VpcConfig:
        SubnetIds: !Ref Subnets
        SecurityGroupIds: [!Ref Sg]
      Layers:
        - !Sub arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:layer:mine:3
  Sg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: fn
      VpcId: vpc-1
  Egress:
    Type: AWS::EC2::SecurityGroupEgress
    Properties:
      GroupId: !Ref Sg
      IpProtocol: tcp
      FromPort: 443
      ToPort: 443
      CidrIp: 10.0.0.0/8
  Perm:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !Ref Fn
      Action: lambda:InvokeFunction
      Principal: s3.amazonaws.com
      SourceAccount: !Ref AWS::AccountId
  Inline:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: extra
      Roles: [!Ref Role]
      PolicyDocument:
        Statement:
          - Effect: Allow
            Action: [s3:GetObject]
            Resource: !Sub arn:aws:s3:::bucket-${Stage}/*
"""


def _scan(tmp_path: Path, name: str, text: str) -> Inventory:
    (tmp_path / name).write_text(text)
    inventory, _ = collect([tmp_path], CollectOptions())
    return inventory


def test_cloudformation_resources_are_linked(tmp_path: Path) -> None:
    inv = _scan(tmp_path, "stack.yaml", CFN)
    assert inv.coverage_gaps == []
    fn = inv.functions[0]
    assert (fn.id, fn.key, fn.location.line, fn.name, fn.runtime) == (
        "Fn", "stack.yaml#Fn", 26, "orders-prod", "python3.12")
    role = inv.role_of(fn)
    assert isinstance(role, Role) and role.id == "Role"
    assert fn.role == ResourceRef("stack.yaml#Role", "Arn")
    assert [(p.name, p.kind) for p in role.policies] == [
        ("AWSLambdaBasicExecutionRole", "aws-managed"), ("custom", "customer-managed"), ("extra", "inline")]
    assert isinstance(role.policies[1].document, Unresolved)
    extra = role.policies[2].document
    assert not isinstance(extra, Unresolved)
    assert extra.statements[0].resources == ["arn:aws:s3:::bucket-prod/*"]


def test_environment_values_and_parameters(tmp_path: Path) -> None:
    fn = _scan(tmp_path, "stack.yaml", CFN).functions[0]
    env = fn.environment
    assert env["DB_PASSWORD"].value == Unresolved("!Ref DbPassword", "parameter without a default value")
    assert env["DB_PASSWORD"].parameter is not None and env["DB_PASSWORD"].parameter.no_echo
    assert env["DB_PASSWORD"].location.line == 37
    assert env["MODE"].value == "strict"  # the condition is determinable from the default
    assert isinstance(env["REGION"].value, Unresolved)


def test_vpc_layers_security_groups_and_triggers(tmp_path: Path) -> None:
    inv = _scan(tmp_path, "stack.yaml", CFN)
    fn = inv.functions[0]
    assert fn.vpc is not None and fn.vpc.subnet_ids == ["subnet-1", "subnet-2"]
    assert fn.vpc.security_group_ids == [ResourceRef("stack.yaml#Sg")]
    assert isinstance(fn.layers[0], Unresolved) and "${AWS::AccountId}" in fn.layers[0].expression
    group = inv.security_groups[0]
    # No inline egress: AWS's default allow-all rule stays next to the standalone one.
    assert group.egress is not None and [(r.protocol, r.from_port, r.cidr_ipv4) for r in group.egress] == [
        ("-1", None, "0.0.0.0/0"), ("tcp", 443, "10.0.0.0/8")]
    assert inv.function_for(inv.permissions[0].function) is fn
    assert [(s.kind, s.invocation) for s in inv.event_sources] == [("s3", "async")]


SAM = """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Environment:
      Variables:
        SHARED: value
Resources:
  Api:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      CodeUri: src/api
      AutoPublishAlias: live
      FunctionUrlConfig:
        AuthType: NONE
      Policies:
        - AWSLambdaBasicExecutionRole
      Events:
        Get:
          Type: Api
          Properties: {Path: /items, Method: get}
"""


def test_sam_is_translated_and_points_back_at_the_source(tmp_path: Path) -> None:
    (tmp_path / "src" / "api").mkdir(parents=True)
    inv = _scan(tmp_path, "template.yaml", SAM)
    assert inv.coverage_gaps == []
    fn = inv.functions[0]
    assert (fn.id, fn.location.line, fn.runtime) == ("Api", 9, "python3.12")
    assert fn.code is not None and (fn.code.kind, fn.code.value) == ("local", "src/api")
    assert fn.environment["SHARED"].location.line == 7  # from Globals
    role = inv.role_of(fn)
    assert role is not None and (role.id, role.location.line) == ("ApiRole", 17)
    url = inv.function_urls[0]
    assert (url.id, url.auth_type, url.at("AuthType").line) == ("ApiUrl", "NONE", 16)
    assert inv.function_for(url.function) is fn  # through the alias
    route = inv.api_routes[0]
    assert (route.method, route.path, route.authorization, route.location.line) == ("GET", "/items", "NONE", 19)
    assert {p.id: p.location.line for p in inv.permissions} == {
        "ApiGetPermissionProd": 20, "ApiUrlPublicPermissions": 15, "ApiURLInvokeAllowPublicAccess": 15}


def test_sam_missing_code_uri_is_a_gap_and_the_scan_goes_on(tmp_path: Path) -> None:
    inv = _scan(tmp_path, "template.yaml", SAM.replace("      CodeUri: src/api\n", ""))
    assert [g.message for g in inv.coverage_gaps] == ["function Api has no CodeUri, InlineCode or ImageUri"]
    assert [f.id for f in inv.functions] == ["Api"]


def test_sam_missing_code_directory_is_a_gap(tmp_path: Path) -> None:
    inv = _scan(tmp_path, "template.yaml", SAM)
    assert [(g.kind, g.message, g.location.line) for g in inv.coverage_gaps] == [
        ("missing-file", "CodeUri 'src/api' of Api does not exist", 9)]


def test_invalid_sam_is_a_gap_and_plain_resources_are_still_scanned(tmp_path: Path) -> None:
    text = SAM.replace("Type: Api", "Type: NotAnEvent") + (
        "  Plain:\n    Type: AWS::Lambda::Function\n    Properties:\n      Runtime: python3.8\n"
        "      Handler: a.b\n      Role: arn:aws:iam::123456789012:role/r\n      Code: {ZipFile: x}\n")
    (tmp_path / "src" / "api").mkdir(parents=True)
    inv = _scan(tmp_path, "template.yaml", text)
    assert len(inv.coverage_gaps) == 1
    assert inv.coverage_gaps[0].message.startswith("SAM template is invalid:")
    assert [f.id for f in inv.functions] == ["Plain"]


def test_broken_files_are_gaps_and_others_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n  bad: [\n")
    (tmp_path / "config.yaml").write_text("name: not a template\nitems: [1, 2]\n")
    (tmp_path / "package.json").write_text('{"name": "x"}')
    (tmp_path / "latin1.yaml").write_bytes(b"Resources:\n  X:\n    Type: AWS::SQS::Queue # caf\xe9\n")
    inv, scanned = collect([tmp_path], CollectOptions())
    assert sorted((g.location.file, g.kind) for g in inv.coverage_gaps) == [
        ("broken.yaml", "parse-error"), ("latin1.yaml", "parse-error")]
    assert sorted(scanned) == ["broken.yaml", "latin1.yaml"]


def test_circular_references_are_reported(tmp_path: Path) -> None:
    text = ("Resources:\n  A:\n    Type: AWS::SQS::Queue\n    DependsOn: B\n"
            "  B:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !GetAtt A.QueueName\n")
    inv = _scan(tmp_path, "cycle.yaml", text)
    assert [g.message for g in inv.coverage_gaps] == ["circular dependency: A -> B -> A"]


def test_huge_template_is_a_gap(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n" + "# padding\n" * 200)
    inv, _ = collect([path], CollectOptions(max_template_bytes=1000))
    assert [g.kind for g in inv.coverage_gaps] == ["too-large"]


def test_json_template_lines(tmp_path: Path) -> None:
    text = ('{\n  "Resources": {\n    "Fn": {\n      "Type": "AWS::Lambda::Function",\n'
            '      "Properties": {"Runtime": "nodejs20.x", "Role": "arn:aws:iam::1:role/r",\n'
            '        "Code": {"ZipFile": "x"}, "Handler": "i.h"}\n    }\n  }\n}\n')
    inv = _scan(tmp_path, "cdk.template.json", text)
    fn = inv.functions[0]
    assert isinstance(fn, Function) and (fn.location.line, fn.at("Runtime").line) == (3, 5)


def test_sam_translations_are_cached_by_content(tmp_path: Path) -> None:
    """Translations by aws-sam-translator are cached (the native expander is faster than reading a cache)."""
    (tmp_path / "src" / "api").mkdir(parents=True)
    (tmp_path / "template.yaml").write_text(SAM)
    cache = tmp_path / "cache"
    first, _ = collect([tmp_path / "template.yaml"], CollectOptions(cache_dir=str(cache), sam_expander="official"))
    entries = sorted((cache / "sam").glob("*.json"))
    assert len(entries) == 1
    second, _ = collect([tmp_path / "template.yaml"], CollectOptions(cache_dir=str(cache), sam_expander="official"))
    assert [(f.id, f.location, f.environment["SHARED"].value) for f in second.functions] == [
        (f.id, f.location, f.environment["SHARED"].value) for f in first.functions]
    assert [r.id for r in second.api_routes] == [r.id for r in first.api_routes]
    entries[0].write_text("{ damaged")  # a damaged entry is translated again, never trusted
    third, _ = collect([tmp_path / "template.yaml"], CollectOptions(cache_dir=str(cache), sam_expander="official"))
    assert [f.id for f in third.functions] == ["Api"]
    (tmp_path / "template.yaml").write_text(SAM.replace("python3.12", "python3.13"))
    collect([tmp_path / "template.yaml"], CollectOptions(cache_dir=str(cache), sam_expander="official"))
    assert len(list((cache / "sam").glob("*.json"))) == 2
    collect([tmp_path / "template.yaml"], CollectOptions(cache_dir=str(cache)))  # expanded natively: not cached
    assert len(list((cache / "sam").glob("*.json"))) == 2
