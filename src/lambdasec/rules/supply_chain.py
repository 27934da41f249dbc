"""Supply-chain integrity of what deployment packages and layers ship.

INT008: an installed Python distribution (``*.dist-info``) whose files no longer match its RECORD: a file modified,
added in its directories, or missing after installation (analysis/records.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

from ..model.findings import Confidence, Severity
from ..model.inventory import Inventory
from ..model.location import Location
from .base import Context, Outcome, Rule

if TYPE_CHECKING:
    from ..analysis.packages import Package, PackageTarget
    from ..analysis.records import RecordCheck
    from .code_secrets import SharedPackage

CATEGORY: Final = "code-integrity"
_LISTED: Final = 5  # files named in a message; the evidence lists up to EVIDENCE_LISTED
EVIDENCE_LISTED: Final = 100


def record_checks(inventory: Inventory, package: Package) -> list[RecordCheck]:
    """Every distribution of the package verified against its RECORD, memoized per scan."""
    from ..analysis.records import verify_all

    memo: dict[int, tuple[Package, list[RecordCheck]]] = inventory.derived.setdefault("record_checks", {})
    if id(package) not in memo:  # the package is kept in the value: its id is not reused during the scan
        memo[id(package)] = (package, verify_all(package))
    return memo[id(package)][1]


# ---------------------------------------------------------------- INT008
def _check_tampered_dependencies(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    from .code_secrets import SharedPackage, shared_packages

    for item in shared_packages(inventory, context, TAMPERED_DEPENDENCY, report_unavailable=False):
        if not isinstance(item, SharedPackage):
            yield item
            continue
        checks = record_checks(inventory, item.package)
        owner = item.targets[0].owner
        unverifiable = [check.distribution.label for check in checks if not check.distribution.has_record]
        if unverifiable:
            yield TAMPERED_DEPENDENCY.not_evaluated(
                owner, f"{item.package.label}: {', '.join(unverifiable)} installed without a readable RECORD: "
                       "their files cannot be verified")
        for check in checks:
            if check.tampered:
                yield _finding(inventory, item, check)


def _finding(inventory: Inventory, shared: SharedPackage, check: RecordCheck) -> Outcome:
    from .base import affected_functions

    dist, package, first = check.distribution, shared.package, shared.targets[0]
    parts = [f"{len(files)} {what} ({_listing(files)})"
             for what, files in (("modified", check.modified), ("added", check.added), ("missing", check.missing))
             if files]
    owners = list(dict.fromkeys(target.owner.id for target in shared.targets))
    message = (f"Python distribution {dist.name} {dist.version} in {package.label} (code of {', '.join(owners)}) "
               f"differs from its installation record {dist.record_path}: {'; '.join(parts)}")
    evidence = {
        "distribution": dist.name,
        "version": dist.version,
        "package": package.label,
        "record": dist.record_path,
        "used_by": owners,
        "modified": list(check.modified[:EVIDENCE_LISTED]),
        "added": list(check.added[:EVIDENCE_LISTED]),
        "missing": list(check.missing[:EVIDENCE_LISTED]),
        "counts": {"modified": len(check.modified), "added": len(check.added), "missing": len(check.missing),
                   "unmodified": len(check.unmodified), "unverified": len(check.unverified)},
    }
    functions = {fn.key: fn for target in shared.targets for fn in affected_functions(inventory, target.owner)}
    # Files only missing are more often a packaging step that strips files (tests, stubs) than an attack.
    confidence = Confidence.HIGH if check.modified or check.added else Confidence.MEDIUM
    return TAMPERED_DEPENDENCY.finding(
        inventory, first.owner, message, location=_location(first, package, check), confidence=confidence,
        functions=list(functions.values()), evidence=evidence, variant=dist.dist_info,
    )


def _listing(files: tuple[str, ...]) -> str:
    shown = ", ".join(files[:_LISTED])
    return shown + (f" and {len(files) - _LISTED} more" if len(files) > _LISTED else "")


def _location(target: PackageTarget, package: Package, check: RecordCheck) -> Location:
    """In a directory package, the first changed file (or the RECORD line of the first missing one), so SARIF
    points at it; otherwise the template line naming the code."""
    if package.kind != "directory" or "!/" in check.distribution.dist_info:
        return target.where
    label = package.label.strip("/")
    prefix = f"{label}/" if label not in ("", ".") else ""
    changed = [*check.modified, *check.added]
    if changed:
        return Location(prefix + min(changed), 1)
    line = next((entry.line for entry in check.distribution.entries if entry.path == check.missing[0]), 1)
    return Location(prefix + check.distribution.record_path, line)


TAMPERED_DEPENDENCY = Rule(
    code="INT008",
    slug="dependency-tampered",
    title="Installed Python dependency changed after installation",
    severity=Severity.HIGH,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "pip and every installer following the wheel format record, in each distribution's "
        "<name>-<version>.dist-info/RECORD, the sha256 and size of every file they install. In a deployment "
        "package or layer those files are third-party code the team did not write and rarely reads, which is "
        "what makes them a good place to hide a backdoor: a line added to requests/sessions.py runs in every "
        "function importing it, with the function's credentials. lambdasec checks each installed distribution "
        "against its RECORD, without network access: a listed file whose content differs (modified), a file "
        "inside the distribution's own directories that no distribution lists (added; bytecode caches are "
        "ignored) and a listed file that is absent (missing) are reported, naming the distribution, its version "
        "and the files. Confidence is medium when files are only missing, which packaging steps that strip "
        "files also cause. Rewriting a file and its RECORD line together is not detected: compare the versions "
        "in the SBOM (`lambdasec sbom`) with the index's published hashes for that."
    ),
    remediation=(
        "Rebuild the package from a clean install (`pip install -r requirements.txt --require-hashes -t build/`, "
        "or `sam build` in a container) instead of editing installed files, and find out who or what changed "
        "them: a build script patching a dependency, or a compromised build machine. A fix a dependency needs "
        "belongs in a fork published as its own distribution, with its own version and RECORD."
    ),
    check=_check_tampered_dependencies,
    reads_code=True,
    snippets={
        "cloudformation": (
            "# Build the package from hash-pinned requirements in a clean directory, then upload it:\n"
            "#   pip install -r requirements.txt --require-hashes --target build/orders\n"
            "#   aws cloudformation package --template-file template.yaml --s3-bucket artifacts ...\n"
            "OrdersFunction:\n"
            "  Type: AWS::Lambda::Function\n"
            "  Properties:\n"
            "    Code: build/orders/\n"
        ),
        "sam": (
            "OrdersFunction:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    CodeUri: src/orders/  # requirements.txt with --require-hashes pins\n"
            "  Metadata:\n"
            "    BuildMethod: python3.12  # `sam build --use-container` installs in a clean container\n"
        ),
        "terraform": (
            "# pip install -r requirements.txt --require-hashes --target build/orders (in CI, never edited)\n"
            'data "archive_file" "orders" {\n'
            '  type        = "zip"\n'
            '  source_dir  = "build/orders"\n'
            '  output_path = "build/orders.zip"\n'
            "}\n"
        ),
    },
    references=(
        "https://packaging.python.org/en/latest/specifications/recording-installed-packages/",
        "https://pip.pypa.io/en/stable/topics/secure-installs/",
        "https://slsa.dev/spec/v1.0/threats",
    ),
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)


RULES: tuple[Rule, ...] = (TAMPERED_DEPENDENCY,)
