"""The explicit list of rule modules; nothing is discovered or registered at import time."""

from __future__ import annotations

import importlib
from functools import cache

from .base import Rule

# One module per concern, each exporting a RULES tuple.
RULE_MODULES = (
    "exposure",
    "identity",
    "escalation",
    "secrets",
    "encryption",
    "code_integrity",
    "runtime",
    "network",
    "observability",
    "resilience",
    "governance",
    "attack_paths",
    "least_privilege",
    "code_secrets",
    "supply_chain",
    "dependencies",
    "layer_lock",
    "live",
)


@cache
def all_rules() -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for name in RULE_MODULES:
        module = importlib.import_module(f"{__package__}.{name}")
        rules.extend(module.RULES)
    return tuple(sorted(rules, key=lambda r: r.code))


def find_rule(ident: str) -> Rule | None:
    ident = ident.strip()
    for rule in all_rules():
        if ident.upper() == rule.code or ident.lower() == rule.slug:
            return rule
    return None
