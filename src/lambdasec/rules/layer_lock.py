"""The layer lock file: layers the team has not locked (INT011), layers that differ from the lock (INT012), and
layer references that do not pin a version at all (INT013).

INT011 and INT012 speak only when a lock is in play: the ``layer_lock`` option (``--lock``, or ``layer_lock`` in
the configuration file), else the nearest ``lambdasec.lock`` from a function's template directory up to its scan
root. A lock that cannot be read is a coverage gap, and nothing is compared. INT013 needs no lock file.
See analysis/layer_lock.py for the keys and docs/layer-lock.md for the format.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lambdasec.fast_dataclass import dataclass, field

from ..model.findings import Confidence, Severity
from ..model.inventory import CoverageGap, Inventory
from ..model.location import Location
from ..model.values import Unresolved
from .base import Context, Outcome, Rule

if TYPE_CHECKING:
    from ..analysis.layer_lock import LayerUse, Mismatch, Verification

CATEGORY = "code-integrity"


@dataclass
class _LockCheck:
    """Every lock in play compared with the layers of the functions it governs (shared by INT011 and INT012)."""

    verifications: list[Verification] = field(default_factory=list)
    gaps: list[CoverageGap] = field(default_factory=list)


def _lock_check(inventory: Inventory, context: Context) -> _LockCheck:
    explicit = context.option("layer_lock", None)
    if not explicit and not any(fn.layers for fn in inventory.functions):
        return _LockCheck()  # no layer to verify: spare a single-template scan the lock machinery's imports
    roots = tuple(Path(root) for root in context.roots) or (Path("."),)
    memo_key = f"layer_lock|{explicit}|{'|'.join(map(str, roots))}"
    memo = inventory.derived.get(memo_key)
    if not isinstance(memo, _LockCheck):
        from ..analysis.packages import limits_from_options

        memo = inventory.derived[memo_key] = _compare(inventory, roots, explicit, limits_from_options(context.options))
    return memo


def _compare(inventory: Inventory, roots: tuple[Path, ...], explicit: Any, limits: Any) -> _LockCheck:
    from ..analysis.layer_lock import LayerCollector, LockFileError, functions_by_lock, read_lock, verify

    check = _LockCheck()
    named = Path(str(explicit)) if explicit else None
    for lock_path, functions in sorted(functions_by_lock(inventory, roots, named).items()):
        try:
            lock = read_lock(lock_path)
        except LockFileError as exc:
            check.gaps.append(CoverageGap("lock-error", f"layer lock not used: {exc}", _where(lock_path, roots)))
            continue
        layers = LayerCollector(inventory, roots, lock_path.parent, limits).layers(functions)
        for layer in layers:
            check.gaps.extend(layer.gaps)
        check.verifications.append(verify(lock, layers, lock_path))
    return check


def _where(path: Path, roots: tuple[Path, ...]) -> Location:
    return Location(_shown(path, roots))


def _shown(path: Path, roots: tuple[Path, ...]) -> str:
    """A lock file's path as users see it: relative to the scan root holding it."""
    for root in roots:
        if path.resolve().is_relative_to(root.resolve()):
            return path.resolve().relative_to(root.resolve()).as_posix()
    return str(path)


def _reference(use: LayerUse) -> str:
    return use.reference.expression if isinstance(use.reference, Unresolved) else str(use.reference)


def _mismatch_findings(rule: Rule, inventory: Inventory, check: _LockCheck, kinds: tuple[str, ...],
                       roots: tuple[Path, ...]) -> Iterator[Outcome]:
    for verification in check.verifications:
        lock_name = _shown(verification.lock, roots)
        for mismatch in verification.mismatches:
            if mismatch.kind in kinds:
                yield from _findings(rule, inventory, mismatch, lock_name)
        if rule is LAYER_LOCK_MISMATCH:
            for layer in verification.not_compared:
                if layer.layer is not None:
                    yield rule.not_evaluated(layer.layer, f"content not compared with {lock_name}: {layer.unread}")


def _findings(rule: Rule, inventory: Inventory, mismatch: Mismatch, lock_name: str) -> Iterator[Outcome]:
    current, locked = mismatch.layer, mismatch.locked
    evidence: dict[str, Any] = {
        "lock": lock_name, "layer": current.key, "kind": current.kind, "mismatch": mismatch.kind,
        "versions": list(current.versions), "sha256": current.sha256,
        "locked_versions": list(locked.versions) if locked else None,
        "locked_sha256": locked.sha256 if locked else None,
    }
    variant = f"{mismatch.kind}:{current.key}"
    if current.layer is not None:  # a layer of the templates: one finding on it, naming every function using it
        users = ", ".join(sorted({use.function.id for use in mismatch.uses}))
        yield rule.finding(
            inventory, current.layer, f"Layer {current.key} (used by {users}) {mismatch.message} ({lock_name})",
            functions=[use.function for use in mismatch.uses], evidence=evidence, variant=variant)
        return
    for use in mismatch.uses:
        yield rule.finding(
            inventory, use.function,
            f"Layer {_reference(use)} of function {use.function.id} {mismatch.message} ({lock_name})",
            location=use.where, functions=[use.function], evidence=evidence, variant=variant)


def _check_not_locked(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    check = _lock_check(inventory, context)
    yield from check.gaps
    roots = tuple(Path(root) for root in context.roots) or (Path("."),)
    yield from _mismatch_findings(LAYER_NOT_LOCKED, inventory, check, ("new",), roots)


def _check_lock_mismatch(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    check = _lock_check(inventory, context)
    yield from check.gaps
    roots = tuple(Path(root) for root in context.roots) or (Path("."),)
    yield from _mismatch_findings(LAYER_LOCK_MISMATCH, inventory, check, ("version", "content"), roots)


def _check_unpinned(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    from ..analysis.layer_lock import layer_uses, unpinned

    for use in layer_uses(inventory.functions):
        found = unpinned(use)
        if found is None:
            continue
        reference = _reference(use)
        yield LAYER_UNPINNED.finding(
            inventory, use.function, f"Layer {found.shown or reference} of function {use.function.id} {found.reason}",
            location=use.where, confidence=found.confidence, functions=[use.function],
            evidence={"reference": reference}, variant=reference)


_LOCK_SNIPPET = (
    "# lambdasec layers lock . -o lambdasec.lock   (review the layers, then commit lambdasec.lock)\n"
    "# lambdasec layers verify .                   (in CI; `lambdasec scan` finds lambdasec.lock too)\n"
)
_REFERENCES = (
    "https://docs.aws.amazon.com/lambda/latest/dg/chapter-layers.html",
    "https://docs.aws.amazon.com/lambda/latest/dg/adding-layers.html",
)

LAYER_NOT_LOCKED = Rule(
    code="INT011",
    slug="layer-not-locked",
    title="Function uses a layer that is not in the layer lock file",
    severity=Severity.MEDIUM,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "A layer's code runs inside every function that uses it, with the function's role, environment and "
        "events. The layer lock file (lambdasec.lock) lists the layers the team has reviewed, each pinned to its "
        "versions and the sha256 of its content. A layer that is not in it was added without going through that "
        "review: a new dependency, a copy-pasted ARN, or a layer slipped in by someone who can edit templates but "
        "not the lock. Checked only when a lock file is in use (--lock, the layer_lock option, or lambdasec.lock "
        "in the template's directory or a parent directory up to the scan root)."
    ),
    remediation=(
        "Review the layer (who publishes it, what it contains: `lambdasec scan` reads its content for secrets, "
        "tampered dependencies and extensions), then record it with `lambdasec layers lock` and commit the "
        "updated lambdasec.lock together with the template change. If the layer is not meant to be there, "
        "remove it from the function."
    ),
    check=_check_not_locked,
    reads_code=True,
    snippets={"cloudformation": _LOCK_SNIPPET, "sam": _LOCK_SNIPPET, "terraform": _LOCK_SNIPPET},
    references=_REFERENCES,
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)

LAYER_LOCK_MISMATCH = Rule(
    code="INT012",
    slug="layer-lock-mismatch",
    title="Layer version or content differs from the layer lock file",
    severity=Severity.HIGH,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "The lock file pins each layer to the versions and the content digest the team reviewed. A function now "
        "using another version of a locked layer, or a layer whose local content (directory or zip) no longer "
        "has the locked sha256, runs code nobody reviewed: an upgrade that skipped review, a build that pulled "
        "different dependencies, or a file changed in the layer's directory, which is exactly how a compromised "
        "layer reaches every function that shares it."
    ),
    remediation=(
        "Find out why the layer changed (diff its content, check the publisher's release notes for a new "
        "version). If the change is intended, review it and update the lock with `lambdasec layers lock`; "
        "otherwise restore the locked version or content and investigate how it changed."
    ),
    check=_check_lock_mismatch,
    reads_code=True,
    snippets={"cloudformation": _LOCK_SNIPPET, "sam": _LOCK_SNIPPET, "terraform": _LOCK_SNIPPET},
    references=_REFERENCES,
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)

_PINNED_ARN = "arn:aws:lambda:eu-west-1:123456789012:layer:shared-deps:7"

LAYER_UNPINNED = Rule(
    code="INT013",
    slug="layer-unpinned",
    title="Layer reference does not pin a layer version",
    severity=Severity.MEDIUM,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "Lambda runs a layer version, and a version's content never changes. A reference that does not name "
        "the version (a Terraform data source without `version`, which takes the latest one at each plan; a "
        "CloudFormation {{resolve:ssm:...}} dynamic reference or AWS::SSM::Parameter::Value<String> parameter; "
        "a serverless ${ssm:...} or ${cf:...} variable; an ARN without a version suffix) lets whoever can publish "
        "a layer version, or write the parameter or the other stack, decide which code the function runs at "
        "the next deployment, with no change in the repository and nothing for a review or a lock file to "
        "catch."
    ),
    remediation=(
        "Name the layer version explicitly: a full layer version ARN (…:layer:name:7), `version` on the "
        "Terraform data source, or a parameter version in the dynamic reference ({{resolve:ssm:/name:3}}). "
        "Upgrade by changing that number in a reviewed commit, and lock it with `lambdasec layers lock`."
    ),
    check=_check_unpinned,
    snippets={
        "cloudformation": (
            "Function:\n"
            "  Type: AWS::Lambda::Function\n"
            "  Properties:\n"
            "    Layers:\n"
            f"      - {_PINNED_ARN}\n"
            "      - '{{resolve:ssm:/layers/observability-arn:3}}'  # a parameter version, not the latest\n"
        ),
        "sam": (
            "Function:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    Layers:\n"
            f"      - {_PINNED_ARN}\n"
        ),
        "terraform": (
            'data "aws_lambda_layer_version" "shared_deps" {\n'
            '  layer_name = "shared-deps"\n'
            "  version    = 7\n"
            "}\n"
            'resource "aws_lambda_function" "app" {\n'
            "  # ...\n"
            "  layers = [data.aws_lambda_layer_version.shared_deps.arn]\n"
            "}\n"
        ),
    },
    references=(
        *_REFERENCES,
        "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/data-sources/lambda_layer_version",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references-ssm.html",
    ),
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)


RULES: tuple[Rule, ...] = (LAYER_NOT_LOCKED, LAYER_LOCK_MISMATCH, LAYER_UNPINNED)
