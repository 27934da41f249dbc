"""The native SAM expander against aws-sam-translator: same inventory, or an honest fallback."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lambdasec import scan_paths
from lambdasec.collectors.cloudformation import sam
from lambdasec.collectors.cloudformation.collector import collect_file
from lambdasec.collectors.cloudformation.loader import load_template_text
from lambdasec.collectors.cloudformation.sam_native import expand
from lambdasec.collectors.options import CollectOptions

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "src" / "lambdasec" / "rules" / "fixtures"
# Templates of the repository that use a SAM feature the native expander leaves to the translator.
KNOWN_FALLBACKS = {"RES001.pass.yaml"}  # EventInvokeConfig


def _is_sam(path: Path) -> bool:
    return "AWS::Serverless-2016-10-31" in path.read_text(errors="replace")


def _repository_sam_templates() -> list[Path]:
    candidates = [*FIXTURES.glob("*.y*ml"), *FIXTURES.glob("*.json"), *(REPO / "examples").rglob("*.y*ml"),
                  *(REPO / "tests" / "data").rglob("*.y*ml")]
    return sorted(p for p in candidates if _is_sam(p))


def _prepared(path: Path) -> dict[str, Any]:
    source = load_template_text(path.read_text(), is_json=path.suffix == ".json")
    preparer = sam._Preparer(path.parent, path.parent, path.name, source)
    template: dict[str, Any] = sam._plain(source)
    preparer.prepare(template)
    return template


def _inventory(path: Path, expander: str) -> dict[str, Any]:
    inventory = collect_file(path, path.parent, CollectOptions(sam_expander=expander))
    assert inventory is not None
    out = dataclasses.asdict(inventory)
    # The translator orders OpenAPI paths like a Python 2.7 dict (kept for compatibility); the routes are the same.
    out["api_routes"] = sorted(out["api_routes"], key=lambda route: route["key"])
    return out


def _assert_same(path: Path) -> None:
    native, official = _inventory(path, "native"), _inventory(path, "official")
    for field in official:
        assert native[field] == official[field], f"{path.name}: {field} differs"


@pytest.mark.parametrize("path", _repository_sam_templates(), ids=lambda p: p.name)
def test_repository_templates_expand_like_the_translator(path: Path) -> None:
    assert (expand(_prepared(path)) is None) == (path.name in KNOWN_FALLBACKS)
    _assert_same(path)


def test_generated_projects_expand_like_the_translator(tmp_path: Path) -> None:
    """Realistic projects from the benchmark generator: Globals, policy templates, every event type, aliases,
    URLs, layers, explicit and implicit APIs, dead-letter queues, VPCs, JSON and YAML."""
    subprocess.run([sys.executable, str(REPO / "bench" / "make_corpus.py"), "--out", str(tmp_path / "corpus"),
                    "-n", "60", "--seed", "11"], check=True, capture_output=True)
    templates = sorted(p for p in (tmp_path / "corpus").rglob("*.*")
                       if p.suffix in (".yaml", ".yml", ".json") and _is_sam(p))
    assert len(templates) >= 20
    for path in templates:
        assert expand(_prepared(path)) is not None, path.name
        _assert_same(path)


SAM_HEAD = "Transform: AWS::Serverless-2016-10-31\nResources:\n"
FUNCTION = """\
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      InlineCode: "def handler(e, c): pass"
"""


@pytest.mark.parametrize("extra", [
    "      DeploymentPreference:\n        Type: AllAtOnce\n      AutoPublishAlias: live\n",
    "      Policies:\n        - !If [IsProd, AdministratorAccess, !Ref AWS::NoValue]\n",
    "      Events:\n        Q:\n          Type: SQS\n          Properties:\n            Queue: !GetAtt Q.Arn\n"
    "            DestinationConfig:\n              OnFailure:\n                Type: SQS\n",
    "      Events:\n        Api:\n          Type: Api\n          Properties:\n            Path: /x\n"
    "            Method: get\n            Auth:\n              Authorizer: MyCognito\n",
    "      Policies:\n        - SomeUnknownPolicyName\n",
])
def test_unsupported_features_fall_back_to_the_translator(tmp_path: Path, extra: str) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(SAM_HEAD + FUNCTION + extra + "  Q:\n    Type: AWS::SQS::Queue\n"
                    "Conditions:\n  IsProd: !Equals [a, a]\n")
    assert expand(_prepared(path)) is None
    _assert_same(path)


def test_other_serverless_resource_types_fall_back(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(SAM_HEAD + FUNCTION + "  Machine:\n    Type: AWS::Serverless::StateMachine\n"
                    "    Properties:\n      Definition: {StartAt: A, States: {A: {Type: Pass, End: true}}}\n")
    assert expand(_prepared(path)) is None
    inventory = collect_file(path, tmp_path, CollectOptions())
    assert inventory is not None and [f.id for f in inventory.functions] == ["Fn"]


def test_templates_the_translator_rejects_are_still_reported(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(SAM_HEAD + FUNCTION.replace("      Runtime: python3.12\n", ""))
    assert expand(_prepared(path)) is None  # no Runtime for a zip function
    report = scan_paths([path])
    assert [(g.kind, g.message.split(":")[0]) for g in report.coverage_gaps] == [
        ("parse-error", "SAM template is invalid")]


RESOURCE_LEVEL = sorted((REPO / "tests" / "data" / "sam_native").glob("*.yaml"))


@pytest.mark.parametrize("path", RESOURCE_LEVEL, ids=lambda p: p.name)
def test_expanded_resources_match_the_translator(path: Path) -> None:
    """Resource by resource: hashed logical ids, renamed layer references, passthrough attributes, generated
    roles, permissions and API bodies. The one intended difference: no AWS::ApiGateway::Deployment."""
    template = _prepared(path)
    native = expand(template)
    official = sam._run_translator(sam._plain(template))
    assert native is not None and isinstance(official, dict)
    deployment = [k for k, v in official["Resources"].items() if v["Type"] == "AWS::ApiGateway::Deployment"]
    assert sorted(native["Resources"]) == sorted(set(official["Resources"]) - set(deployment))
    for logical_id, resource in native["Resources"].items():
        expected = official["Resources"][logical_id]
        if resource["Type"] == "AWS::ApiGateway::Stage":
            resource = {**resource, "Properties": {**resource["Properties"], "DeploymentId": {"Ref": deployment[0]}}}
        if isinstance(expected.get("DependsOn"), list):  # the translator builds it from a set: no stable order
            expected = {**expected, "DependsOn": sorted(expected["DependsOn"])}
            resource = {**resource, "DependsOn": sorted(resource["DependsOn"])}
        assert resource == expected, logical_id
    assert {k: v for k, v in native.items() if k != "Resources"} == {
        k: v for k, v in official.items() if k != "Resources"}


def test_the_official_translator_can_be_forced(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(SAM_HEAD + FUNCTION)
    native = scan_paths([path])
    official = scan_paths([path], sam_expander="official")
    assert [f.fingerprint for f in native.findings] == [f.fingerprint for f in official.findings]
    with pytest.raises(ValueError, match="sam_expander"):
        scan_paths([path], sam_expander="fast")
