"""Property-based tests of the IAM analysis: wildcard expansion over the whole catalogue and policy evaluation.

Expansion (iam/catalogue.py ``Catalogue.expand``, iam/actions.py): for patterns made from real action names with
characters replaced by ``*`` and ``?`` and random case, the expansion is exactly what case-insensitive fnmatch
picks out of the catalogue; a union of patterns expands to the union; a ``NotAction`` grants the catalogue minus
the expansion; ``action_matches`` agrees with the expansion.

Evaluation (iam/effective.py ``effective_permissions(role, inventory)``), on generated roles, policies and
boundaries, observed through ``allows`` on a fixed set of probe actions and resources: adding a Deny never adds
a permission, adding an Allow never removes one, an unconditional Deny removes what it names, a permissions
boundary only narrows (and an allow-everything boundary changes nothing), statement and policy order do not
matter, and resource patterns cover ARNs the way fnmatch does, part by part.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambdasec.iam.actions import action_matches, expanded_actions
from lambdasec.iam.catalogue import catalogue
from lambdasec.iam.effective import EffectivePermissions, effective_permissions, resource_covers
from lambdasec.iam.policy import parse_document
from lambdasec.model.inventory import Inventory, Policy, Role
from lambdasec.model.location import Location

# Deterministic and CI-friendly: the same examples on every run, nothing stored between runs, no timing limit.
PROPERTY = settings(derandomize=True, deadline=None, database=None, max_examples=100,
                    suppress_health_check=[HealthCheck.too_slow])
# Evaluating generated roles computes their grants two or three times per example: fewer examples.
EVALUATION = settings(PROPERTY, max_examples=60)

FILE = "template.yaml"
ACCOUNT = "111122223333"
PROBE_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:PutBucketPolicy", "lambda:InvokeFunction",
                 "lambda:UpdateFunctionCode", "iam:PassRole", "iam:CreateRole", "sts:AssumeRole",
                 "dynamodb:GetItem", "sqs:SendMessage", "ec2:RunInstances")
PROBE_ARNS = ("arn:aws:s3:::uploads", "arn:aws:s3:::uploads/2026/report.pdf", "arn:aws:s3:::other/key",
              f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders",
              f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders:live", f"arn:aws:iam::{ACCOUNT}:role/worker",
              f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/orders", f"arn:aws:sqs:eu-west-1:{ACCOUNT}:jobs")
# An action of each probe ARN's service that can act on it.
SERVICE_ACTION = {"s3": "s3:GetObject", "lambda": "lambda:InvokeFunction", "iam": "iam:PassRole",
                  "dynamodb": "dynamodb:GetItem", "sqs": "sqs:SendMessage"}
ACTION_PATTERNS = ("s3:GetObject", "s3:Put*", "s3:*", "S3:?etObject", "lambda:Invoke*", "lambda:*", "iam:PassRole",
                   "iam:*", "sts:AssumeRole", "dynamodb:Get*", "sqs:*", "*", "ec2:Run*", "s3*")
RESOURCE_PATTERNS = ("*", "arn:aws:s3:::uploads", "arn:aws:s3:::uploads/*", "arn:aws:s3:::*",
                     f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders", "arn:aws:lambda:*:*:function:*",
                     f"arn:aws:iam::{ACCOUNT}:role/worker", "arn:aws:iam::*:role/*", "arn:aws:*:*:*:*",
                     f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/orders", "arn:aws:sqs:*:*:jobs")
CONDITION = {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}


@functools.cache
def all_actions() -> tuple[str, ...]:
    """Every catalogue action, sorted (read on first use, not at import)."""
    return tuple(sorted(catalogue().all_actions()))


def fnmatch_expansion(pattern: str) -> frozenset[str]:
    """The reference: case-insensitive fnmatch of the whole name, over the whole catalogue."""
    regex = re.compile(fnmatch.translate(pattern.lower()))
    return frozenset(action for action in all_actions() if regex.match(action.lower()))


def wildcarded(text: str, marks: list[str]) -> str:
    """``text`` with each character kept, case-changed, or replaced by ``*`` or ``?`` as ``marks`` says."""
    out = []
    for char, mark in zip(text, marks, strict=True):
        out.append({"keep": char, "upper": char.upper(), "lower": char.lower(), "*": "*", "?": "?"}[mark])
    return "".join(out)


MARK = st.sampled_from(["keep"] * 6 + ["upper", "lower", "*", "?"])


@st.composite
def action_patterns(draw: st.DrawFn) -> str:
    name = draw(st.deferred(lambda: st.sampled_from(all_actions())))
    return wildcarded(name, draw(st.lists(MARK, min_size=len(name), max_size=len(name))))


@st.composite
def arn_patterns(draw: st.DrawFn) -> str:
    arn = draw(st.sampled_from(PROBE_ARNS))
    return wildcarded(arn, draw(st.lists(st.sampled_from(["keep"] * 5 + ["*", "?"]), min_size=len(arn),
                                         max_size=len(arn))))


# ---------------------------------------------------------------- builders
STATEMENT = st.builds(
    lambda effect, actions, not_action, resources, conditional: {
        "Effect": effect, ("NotAction" if not_action else "Action"): actions, "Resource": resources,
        **({"Condition": CONDITION} if conditional else {})},
    st.sampled_from(["Allow", "Deny"]), st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=3),
    st.sampled_from([False, False, False, True]),  # NotAction in one statement out of four
    st.lists(st.sampled_from(RESOURCE_PATTERNS), min_size=1, max_size=2), st.booleans())
POLICIES = st.lists(st.lists(STATEMENT, min_size=1, max_size=4), min_size=1, max_size=3)


def policy(name: str, statements: list[dict[str, Any]]) -> Policy:
    document = parse_document({"Version": "2012-10-17", "Statement": statements})
    return Policy(name, "inline", document, Location(FILE, 10))


def role(policies: list[list[dict[str, Any]]], boundary: list[dict[str, Any]] | None = None) -> Role:
    the_role = Role(key=f"{FILE}#Role", id="Role", type="AWS::IAM::Role", location=Location(FILE, 3),
                    policies=[policy(f"p{index}", statements) for index, statements in enumerate(policies)])
    if boundary is not None:
        the_role.permissions_boundary = "arn:aws:iam::111122223333:policy/boundary"
        the_role.boundary_policy = policy("boundary", boundary)
    return the_role


def effective(policies: list[list[dict[str, Any]]], boundary: list[dict[str, Any]] | None = None,
              ) -> EffectivePermissions:
    the_role = role(policies, boundary)
    inventory = Inventory()
    inventory.add(inventory.roles, the_role)
    return effective_permissions(the_role, inventory)


def permissions(granted: EffectivePermissions) -> set[tuple[str, str, bool]]:
    """What the role may do on the probes: (action, resource, counting conditional grants)."""
    return {(action, resource, conditional) for action in PROBE_ACTIONS for resource in ("*", *PROBE_ARNS)
            for conditional in (False, True) if granted.allows(action, resource, include_conditional=conditional)}


def grants(granted: EffectivePermissions) -> dict[tuple[str, bool], frozenset[str]]:
    """Every (action, resource, conditional) grant, as actions per (resource, conditional) ("*" is 22,000 grants)."""
    found: dict[tuple[str, bool], frozenset[str]] = {}
    for group in granted.groups:
        key = (group.resource, group.conditional)
        found[key] = found.get(key, frozenset()) | group.actions
    return found


# ---------------------------------------------------------------- expansion
@PROPERTY
@given(action_patterns())
def test_expansion_is_case_insensitive_fnmatch_over_the_catalogue(pattern: str) -> None:
    expected = fnmatch_expansion(pattern)
    assert catalogue().expand(pattern) == expected
    assert expanded_actions(pattern) == sorted(expected)


@PROPERTY
@given(action_patterns(), st.sampled_from(PROBE_ACTIONS))
def test_action_matches_agrees_with_the_expansion(pattern: str, action: str) -> None:
    assert action_matches(pattern, action) == (action in catalogue().expand(pattern))


@PROPERTY
@given(st.lists(action_patterns(), min_size=1, max_size=3))
def test_allowing_several_patterns_grants_the_union_of_their_expansions(patterns: list[str]) -> None:
    granted = effective([[{"Effect": "Allow", "Action": patterns, "Resource": "*"}]])
    assert granted.actions() == frozenset().union(*map(catalogue().expand, patterns))
    assert granted.unknown_actions == [p for p in dict.fromkeys(patterns) if not catalogue().expand(p)]


@PROPERTY
@given(st.lists(action_patterns(), min_size=1, max_size=2))
def test_not_action_grants_the_catalogue_minus_the_expansion(patterns: list[str]) -> None:
    granted = effective([[{"Effect": "Allow", "NotAction": patterns, "Resource": "*"}]])
    assert granted.actions() == frozenset(all_actions()) - frozenset().union(*map(catalogue().expand, patterns))


# ---------------------------------------------------------------- evaluation
@EVALUATION
@given(POLICIES, STATEMENT.map(lambda s: {**s, "Effect": "Deny"}), st.integers(0, 2))
def test_adding_a_deny_never_adds_a_permission(policies: list[list[dict[str, Any]]], deny: dict[str, Any],
                                               where: int) -> None:
    before = permissions(effective(policies))
    policies[where % len(policies)] = [*policies[where % len(policies)], deny]
    assert permissions(effective(policies)) <= before


@EVALUATION
@given(POLICIES, STATEMENT.map(lambda s: {**s, "Effect": "Allow"}), st.booleans())
def test_adding_an_allow_never_removes_a_permission(policies: list[list[dict[str, Any]]], allow: dict[str, Any],
                                                    own_policy: bool) -> None:
    before = permissions(effective(policies))
    after = [*policies, [allow]] if own_policy else [[*policies[0], allow], *policies[1:]]
    assert before <= permissions(effective(after))


@EVALUATION
@given(POLICIES, st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=2),
       st.sampled_from(RESOURCE_PATTERNS))
def test_an_unconditional_deny_removes_what_it_names(policies: list[list[dict[str, Any]]], actions: list[str],
                                                     resource: str) -> None:
    denied = frozenset().union(*map(catalogue().expand, actions))
    granted = effective([*policies, [{"Effect": "Deny", "Action": actions, "Resource": resource}]])
    assert {on: actions & denied for (on, _), actions in grants(granted).items() if resource_covers(resource, on)
            and actions & denied} == {}
    if resource == "*":
        assert {(action, on) for action, on, _ in permissions(granted) if action in denied} == set()


@EVALUATION
@given(POLICIES, st.lists(STATEMENT, min_size=1, max_size=3))
def test_a_permissions_boundary_only_narrows(policies: list[list[dict[str, Any]]],
                                             boundary: list[dict[str, Any]]) -> None:
    assert permissions(effective(policies, boundary)) <= permissions(effective(policies))


@EVALUATION
@given(POLICIES)
def test_a_boundary_allowing_everything_changes_nothing(policies: list[list[dict[str, Any]]]) -> None:
    everything = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    assert permissions(effective(policies, everything)) == permissions(effective(policies))


@EVALUATION
@given(POLICIES, st.randoms(use_true_random=False))
def test_statement_and_policy_order_do_not_matter(policies: list[list[dict[str, Any]]], shuffler: Any) -> None:
    reordered = [shuffler.sample(statements, len(statements)) for statements in policies]
    reordered = shuffler.sample(reordered, len(reordered))
    assert grants(effective(reordered)) == grants(effective(policies))


# ---------------------------------------------------------------- resource patterns
def fnmatch_covers(pattern: str, arn: str) -> bool:
    """The reference: fnmatch, case-sensitive, on each of the six parts when the pattern has six (wildcards do not
    cross the colons between them), else on the whole text."""
    parts = pattern.split(":", 5)
    if len(parts) != 6:
        return fnmatch.fnmatchcase(arn, pattern)
    pieces = arn.split(":", 5)
    return len(pieces) == 6 and all(map(fnmatch.fnmatchcase, pieces, parts))


@PROPERTY
@given(arn_patterns(), st.sampled_from(PROBE_ARNS))
def test_resource_patterns_cover_arns_like_fnmatch(pattern: str, arn: str) -> None:
    assert resource_covers(pattern, arn) == fnmatch_covers(pattern, arn)


@PROPERTY
@given(arn_patterns())
def test_a_grant_on_a_resource_pattern_allows_the_arns_fnmatch_covers(pattern: str) -> None:
    services = {arn.split(":")[2] for arn in PROBE_ARNS if fnmatch_covers(pattern, arn)} or {"s3"}
    actions = sorted(SERVICE_ACTION[service] for service in services)
    granted = effective([[{"Effect": "Allow", "Action": actions, "Resource": pattern}]])
    for action in actions:
        service = action.split(":")[0]
        assert [granted.allows(action, arn) for arn in PROBE_ARNS if arn.split(":")[2] == service] == \
            [fnmatch_covers(pattern, arn) for arn in PROBE_ARNS if arn.split(":")[2] == service]


_GLOB_TEXT = st.text(alphabet="ab:", max_size=12)


@PROPERTY
@given(pattern=st.text(alphabet="ab:*?", max_size=10), text=_GLOB_TEXT)
def test_the_regex_free_glob_agrees_with_fnmatch(pattern: str, text: str) -> None:
    """action_matches matches without compiling a regex per pattern: the same answers as fnmatch's translation."""
    from lambdasec.iam.actions import glob_matches

    # fnmatch's [ ] classes are not IAM syntax: the alphabet has none, so translate() gives only * and ?.
    assert glob_matches(pattern, text) == (re.fullmatch(fnmatch.translate(pattern), text, re.DOTALL) is not None)


@PROPERTY
@given(names=st.lists(st.text(alphabet="ab-*", min_size=1, max_size=6), max_size=12),
       resource=st.text(alphabet="ab-*?:", max_size=8), region=st.sampled_from(["*", "us-east-1", "eu-west-1"]))
def test_the_name_index_finds_exactly_what_matching_every_function_finds(names: list[str], resource: str,
                                                                         region: str) -> None:
    """NameIndex narrows the functions an ARN pattern may cover by bisection: never more, never fewer."""
    from lambdasec.iam.principals import NameIndex, function_arn_resource
    from lambdasec.iam.principals import resource_covers as covers
    from lambdasec.model.inventory import Function

    functions = [Function(key=f"k{i}", id=f"F{i}", type="AWS::Lambda::Function", location=Location("t.yaml"),
                          name=name) for i, name in enumerate(names)]
    pattern = f"arn:aws:lambda:{region}:123456789012:function:{resource}"
    expected = [fn for fn in functions if covers(pattern, fn, "lambda", function_arn_resource(fn))]
    assert NameIndex(functions, "lambda", function_arn_resource).covered(pattern) == expected
