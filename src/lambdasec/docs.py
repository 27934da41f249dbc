"""Rule documentation generated from the rule objects and their own fixtures.

`lambdasec explain ID` prints the same page that `docs/rules/<ID>.md` holds; a test fails
when the committed pages are stale (regenerate with `python -m lambdasec.docs docs/rules`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from .rules.base import Rule

_ANCHOR_NAMES = {"checkov": "Checkov", "prowler": "Prowler", "kics": "KICS", "securityhub": "AWS Security Hub"}
_SNIPPET_NAMES = {
    "cloudformation": ("CloudFormation", "yaml"), "sam": ("SAM", "yaml"), "terraform": ("Terraform", "hcl"),
}


_LONGEST_SHOWN_FIXTURE = 150  # lines


def fixtures(rule: Rule) -> list[tuple[str, str, str]]:
    """(file name, "fail" | "pass", text) of the rule's fixtures, fail ones first."""
    folder = resources.files("lambdasec.rules") / "fixtures"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        stem = name.split(".", 1)[0]
        if stem == rule.code or stem.startswith(rule.code + "-"):
            verdict = "fail" if ".fail." in name else "pass" if ".pass." in name else ""
            if verdict:
                found.append((name, verdict, entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda item: (item[1] != "fail", item[0]))


def fixture_config(rule: Rule) -> str | None:
    """The configuration the rule's fixtures are scanned with (``<CODE>.lambdasec.toml``), when it needs one."""
    entry = resources.files("lambdasec.rules") / "fixtures" / f"{rule.code}.lambdasec.toml"
    return entry.read_text(encoding="utf-8") if entry.is_file() else None


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    return {
        "code": rule.code, "slug": rule.slug, "title": rule.title, "severity": rule.severity.label,
        "confidence": rule.confidence.label, "category": rule.category, "rationale": rule.rationale,
        "remediation": rule.remediation, "snippets": dict(rule.snippets), "references": list(rule.references),
        "anchors": {k: list(v) for k, v in rule.anchors.items()},
    }


def rule_markdown(rule: Rule) -> str:
    lines = [
        f"# {rule.code} `{rule.slug}`: {rule.title}", "",
        f"Severity **{rule.severity.label}** · confidence **{rule.confidence.label}** · category "
        f"**{rule.category}**", "",
        "## Why it matters", "", rule.rationale, "",
        "## How to fix it", "", rule.remediation, "",
    ]
    for key, (label, lang) in _SNIPPET_NAMES.items():
        if rule.snippets.get(key):
            lines += [f"### {label}", "", f"```{lang}", rule.snippets[key].rstrip(), "```", ""]
    examples = fixtures(rule)
    # Plan JSON fixtures are machine output, and some fixtures test dozens of cases at once: both are named
    # (they are in src/lambdasec/rules/fixtures/), not shown, so a page stays readable.
    plans = [name for name, _, text in examples
             if name.endswith(".tfplan.json") or text.count("\n") > _LONGEST_SHOWN_FIXTURE]
    shown = [example for example in examples if example[0] not in plans]
    if shown:
        lines += ["## Examples", ""]
        config = fixture_config(rule)
        if config is not None:
            lines += ["Scanned with this configuration (`.lambdasec.toml`, [configuration.md](../configuration.md)):",
                      "", "```toml", config.rstrip(), "```", ""]
        for name, verdict, text in shown:
            heading = "Flagged" if verdict == "fail" else "Not flagged"
            lang = "json" if name.endswith(".json") else "hcl" if name.endswith(".tf") else "yaml"
            lines += [f"### {heading}: `{name}`", "", f"```{lang}", text.rstrip(), "```", ""]
    if plans:
        lines += ["Also tested on these fixtures (Terraform plans and long multi-case files, in "
                  "`src/lambdasec/rules/fixtures/`): " + ", ".join(f"`{name}`" for name in plans) + ".", ""]
    anchors = [(k, v) for k, v in rule.anchors.items() if v]
    if anchors:
        lines += ["## Equivalent checks in other tools", ""]
        lines += [f"- {_ANCHOR_NAMES.get(k, k)}: {', '.join(f'`{i}`' for i in v)}" for k, v in anchors]
        lines.append("")
    if rule.references:
        lines += ["## References", ""] + [f"- <{ref}>" for ref in rule.references] + [""]
    return "\n".join(lines)


def index_markdown(rules: Sequence[Rule]) -> str:
    lines = ["# Rules", "", "Generated from the rule objects by `python -m lambdasec.docs docs/rules`; do not edit.",
             "",
             "| code | slug | severity | category | title |", "|---|---|---|---|---|"]
    lines += [f"| [{r.code}]({r.code}.md) | `{r.slug}` | {r.severity.label} | {r.category} | {r.title} |"
              for r in rules]
    return "\n".join(lines) + "\n"


def generate(rules: Sequence[Rule]) -> dict[str, str]:
    """File name -> content of every page."""
    pages = {f"{rule.code}.md": rule_markdown(rule) for rule in rules}
    pages["README.md"] = index_markdown(rules)
    return pages


def main(argv: Sequence[str]) -> int:
    from .rules.registry import all_rules

    target = Path(argv[0] if argv else "docs/rules")
    target.mkdir(parents=True, exist_ok=True)
    pages = generate(all_rules())
    for stale in target.glob("*.md"):
        if stale.name not in pages:
            stale.unlink()
    for name, text in pages.items():
        (target / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(pages)} pages to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
