"""Every rule runs on its own fail/pass fixtures through the real scanner.

In a `.fail.` fixture the rule flags exactly the resources whose logical id starts with
`Fail` (SAM-generated resources count as the SAM resource they come from); in a
`.pass.` fixture it flags nothing. Fixtures must scan without coverage gaps.

Rules that only a live scan can judge (rules/live.py) have inventory snapshots as fixtures
(`<CODE>.fail.snapshot.json`, docs/snapshot.md): their resources are named by the last part of their ARN.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import lambdasec
from lambdasec.collectors.cloudformation.loader import load_template_text
from lambdasec.collectors.discovery import collect
from lambdasec.collectors.options import CollectOptions
from lambdasec.model.findings import Finding
from lambdasec.rules.registry import all_rules

from .conftest import FIXTURE_CLOCK, FIXTURES

FIXTURE_FILES = sorted(p for p in FIXTURES.iterdir() if ".fail." in p.name or ".pass." in p.name)


def _code(path: Path) -> str:
    return path.name.split(".", 1)[0].split("-", 1)[0]


def _is_cloudformation(path: Path) -> bool:
    return not path.name.endswith((".tf", ".serverless.yml", ".tfplan.json", ".snapshot.json"))


def _is_snapshot(path: Path) -> bool:
    return path.name.endswith(".snapshot.json")


def _live_only(code: str) -> bool:
    """A rule whose fixtures are all snapshots: it judges live accounts, which templates do not describe."""
    own = [p for p in FIXTURE_FILES if _code(p) == code]
    return bool(own) and all(_is_snapshot(p) for p in own)


def _source_ids(path: Path) -> list[str]:
    """Names of the fixture's own resources: logical ids, Terraform resource names, serverless keys."""
    if _is_cloudformation(path):
        document = load_template_text(path.read_text(), is_json=path.suffix == ".json")
        return list(document["Resources"])
    inventory, _ = collect([path], CollectOptions())
    return sorted({_name(resource.id) for resource in inventory.resources()})


def _name(resource_id: str) -> str:
    """`module.m.aws_lambda_function.fail_x["k"]` -> `fail_x`; an ARN (live resources) -> its last part
    (`arn:aws:lambda:us-east-1:123456789012:function:FailX` -> `FailX`); other ids unchanged."""
    if resource_id.startswith("arn:"):
        return re.split(r"[:/#]", resource_id)[-1]
    return re.sub(r"\[.*\]$", "", resource_id).rsplit(".", 1)[-1]


def _origin(finding: Finding, source_ids: list[str]) -> str:
    path = finding.location.path
    generated = path[1] if len(path) > 1 and path[0] == "Resources" else _name(finding.resource_id)
    for source_id in sorted(source_ids, key=len, reverse=True):
        if generated.startswith(source_id):
            return source_id
    return generated


def test_every_rule_has_fail_and_pass_fixtures() -> None:
    missing = []
    for rule in all_rules():
        kinds = {".fail." if ".fail." in p.name else ".pass." for p in FIXTURE_FILES if _code(p) == rule.code}
        if kinds != {".fail.", ".pass."}:
            missing.append(rule.code)
    assert missing == []


@pytest.mark.parametrize("source", [".tf", ".serverless.yml"])
def test_every_rule_has_terraform_and_serverless_variants(source: str) -> None:
    """Rules are written once for every source: each one proves it on Terraform and serverless.yml too."""
    missing = []
    for rule in all_rules():
        if _live_only(rule.code):
            continue
        names = [p.name for p in FIXTURE_FILES if _code(p) == rule.code and p.name.endswith(source)]
        if not (any(".fail." in n for n in names) and any(".pass." in n for n in names)):
            missing.append(rule.code)
    assert missing == []


def test_every_fixture_belongs_to_a_rule() -> None:
    codes = {rule.code for rule in all_rules()}
    assert sorted(p.name for p in FIXTURE_FILES if _code(p) not in codes) == []
    configs = sorted(FIXTURES.glob("*.lambdasec.toml"))
    assert [p.name for p in configs if p.name.split(".", 1)[0] not in codes] == []


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_fixture(path: Path) -> None:
    code = _code(path)
    # A rule whose check needs options is scanned with its fixtures' configuration (<CODE>.lambdasec.toml).
    config = FIXTURES / f"{code}.lambdasec.toml"
    report = lambdasec.scan_paths([path], rules=[code], now=FIXTURE_CLOCK,
                                  config_file=config if config.is_file() else None)
    assert [g.message for g in report.coverage_gaps] == []
    source_ids = _source_ids(path)
    flagged = {_origin(f, source_ids) for f in report.findings}
    expected = {i for i in source_ids if i.lower().startswith("fail")} if ".fail." in path.name else set()
    assert flagged == expected
    if ".fail." in path.name:
        assert expected, "a fail fixture needs at least one resource named Fail*"
    for finding in report.findings:
        assert finding.rule_id == code
        assert finding.message
        if _is_snapshot(path):  # live resources are located in the account, not in a file
            assert finding.location.arn and finding.location.region
            continue
        # Rules reading code point at the code itself when it is a file in the repository (fixtures/code/...).
        assert finding.location.file.endswith(path.name) or finding.location.file.startswith("code/")
        assert finding.location.line is not None and finding.location.line > 0
