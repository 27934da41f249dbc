"""Governance: the tags an organization requires on every function (owner, data classification, cost centre).

Tags are how incident responders find who owns a function and what data it handles, and how tag-based access
control (ABAC) and cost reports work. The required keys, and optionally their allowed values, come from the
``required_tags`` option; without it the rule has nothing to check.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ..model.findings import Confidence, Severity
from ..model.inventory import Function, Inventory
from .base import Context, Outcome, Rule


def required_tags(context: Context) -> dict[str, tuple[str, ...]]:
    """``required_tags``: a list of keys (any value), or a table of key -> allowed values (empty: any value)."""
    option = context.option("required_tags", ())
    if isinstance(option, Mapping):
        return {str(key): tuple(str(v) for v in values) if isinstance(values, (list, tuple)) else ()
                for key, values in option.items()}
    if isinstance(option, (list, tuple)):
        return {str(key): () for key in option}
    return {}


def _check_required_tags(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    required = required_tags(context)
    if not required:
        return
    for fn in inventory.functions:
        yield from _judge(inventory, fn, required)


def _judge(inventory: Inventory, fn: Function, required: dict[str, tuple[str, ...]]) -> Iterator[Outcome]:
    if fn.tags_unknown is not None:
        yield REQUIRED_TAGS.not_evaluated(fn, f"its tags are not known statically ({fn.tags_unknown.reason})")
        return
    missing = [key for key in required if key not in fn.tags]
    not_allowed = {key: value for key, allowed in required.items()
                   if allowed and isinstance(value := fn.tags.get(key), str) and value not in allowed}
    unknown = [key for key, allowed in required.items()
               if allowed and key in fn.tags and not isinstance(fn.tags[key], str)]
    if not missing and not not_allowed:
        if unknown:
            yield REQUIRED_TAGS.not_evaluated(fn, f"the value of its tag(s) {', '.join(unknown)} is not known "
                                                  "statically")
        return
    problems = []
    if missing:
        problems.append(f"lacks the required tag(s) {', '.join(missing)}")
    if not_allowed:
        problems.append("has " + ", ".join(f"{key}={value!r} (allowed: {', '.join(required[key])})"
                                           for key, value in not_allowed.items()))
    yield REQUIRED_TAGS.finding(
        inventory, fn, f"Function {fn.id} {' and '.join(problems)}",
        location=fn.at("Tags"), evidence={"missing": missing, "not_allowed": not_allowed},
    )


REQUIRED_TAGS = Rule(
    code="GOV001",
    slug="function-missing-required-tags",
    title="Function lacks a tag the organization requires",
    severity=Severity.LOW,
    # Tags given at deploy time outside the files (`aws cloudformation deploy --tags`, a pipeline's stack tags)
    # reach the function but not the scan: a live scan sees them all.
    confidence=Confidence.MEDIUM,
    category="governance",
    rationale=(
        "During an incident the first questions are who owns a function and what data it handles; tags answer "
        "them, and tag-based access control (ABAC conditions on aws:ResourceTag), cost reports and automated "
        "clean-up rely on them. A function without the organization's required tags is an orphan: nobody is "
        "paged when it is abused, and policies keyed on its tags do not apply to it. The required keys (and "
        "their allowed values) are the `required_tags` option of the configuration file; without it the rule "
        "does not run."
    ),
    remediation=(
        "Add the missing tags to the function (CloudFormation `Tags`, SAM `Tags` or `Globals`, Terraform `tags` "
        "or the provider's `default_tags`, Serverless `tags`, `provider.tags` or `provider.stackTags`) with one "
        "of the allowed values, and enforce them at the source with an AWS Organizations tag policy or an SCP "
        "condition on aws:RequestTag."
    ),
    check=_check_required_tags,
    needs=("details",),
    needs_option="required_tags",
    snippets={
        "cloudformation": (
            "Tags:\n  - Key: owner\n    Value: payments\n  - Key: data-classification\n    Value: internal\n"
        ),
        "terraform": (
            'provider "aws" {\n  default_tags {\n    tags = { owner = "payments", data-classification = "internal" }\n'
            "  }\n}\n"
        ),
        "sam": "Globals:\n  Function:\n    Tags:\n      owner: payments\n      data-classification: internal\n",
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/configuration-tags.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/attribute-based-access-control.html",
        "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_tag-policies.html",
    ),
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)

RULES = (REQUIRED_TAGS,)
