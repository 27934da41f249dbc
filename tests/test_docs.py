"""Rule metadata is well formed, and the committed rule docs are exactly what the rule objects generate."""

from __future__ import annotations

import re

from lambdasec.docs import generate
from lambdasec.model.findings import CATEGORIES
from lambdasec.rules import registry
from lambdasec.rules.registry import all_rules

from .conftest import REPO


def test_codes_and_slugs_are_unique_and_well_formed() -> None:
    rules = all_rules()
    assert len({r.code for r in rules}) == len(rules)
    assert len({r.slug for r in rules}) == len(rules)
    for rule in rules:
        assert re.fullmatch(r"[A-Z]{3}\d{3}", rule.code), rule.code
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", rule.slug), rule.slug
        assert rule.category in CATEGORIES
        assert not rule.title.lower().startswith("ensure")
        assert rule.rationale and rule.remediation and rule.references
        assert set(rule.snippets) == {"cloudformation", "sam", "terraform"}, rule.code
        assert set(rule.anchors) <= {"checkov", "prowler", "kics", "securityhub"}, rule.code


def test_every_rule_module_is_listed_and_non_empty() -> None:
    modules = {p.stem for p in (REPO / "src" / "lambdasec" / "rules").glob("*.py")} - {
        "__init__", "base", "registry"}
    assert modules == set(registry.RULE_MODULES)
    import importlib

    for name in registry.RULE_MODULES:
        assert importlib.import_module(f"lambdasec.rules.{name}").RULES, name


def test_committed_docs_are_current() -> None:
    docs = REPO / "docs" / "rules"
    expected = generate(all_rules())
    committed = {p.name: p.read_text(encoding="utf-8") for p in docs.glob("*.md")}
    stale = sorted(name for name in expected.keys() | committed.keys() if expected.get(name) != committed.get(name))
    assert stale == [], "run: python -m lambdasec.docs docs/rules"


def test_the_policy_docs_live_md_prints_is_the_one_lambdasec_permissions_prints() -> None:
    """docs/live.md shows the scanner's policy; a read added to a module must show there too."""
    import json

    from click.testing import CliRunner

    from lambdasec.commands.live import permissions

    text = (REPO / "docs" / "live.md").read_text(encoding="utf-8")
    shown = re.search(r"`lambdasec permissions` prints the policy.*?```json\n(.*?)```", text, re.S)
    assert shown is not None, "docs/live.md: the policy block after 'lambdasec permissions prints the policy'"
    result = CliRunner().invoke(permissions, ["-f", "json"], catch_exceptions=False)
    assert json.loads(shown[1]) == json.loads(result.output)
