"""What deployment packages and layers bring with them: Node.js packages that differ from their lock file (INT009)
and Lambda extensions shipped in layers (INT010).

Both read the code the templates point at (analysis/packages.py) without running it. A package that cannot be
fully read is a coverage gap; code that is not available offline (S3, container images) makes the resource "not
evaluated".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from lambdasec.fast_dataclass import dataclass, field

from ..model.findings import Confidence, Severity
from ..model.inventory import CoverageGap, Inventory, LayerVersion
from ..model.location import Location
from .base import Context, Outcome, Rule
from .code_integrity import aws_layer_publisher

if TYPE_CHECKING:
    from ..analysis.node_packages import NodeTree, PackageMismatch
    from ..analysis.packages import Package, PackageTarget

CATEGORY = "code-integrity"
_LAYER_ARN = re.compile(r"^arn:[\w-]+:lambda:[\w-]*:(?P<account>\d{12}|aws):layer:")
_VERSION_LINE = re.compile(rb'^\s*"version"\s*:', re.MULTILINE)


@dataclass
class _Read:
    """A package target and its content, or why it has none."""

    target: PackageTarget
    package: Package | None
    problem: str = ""
    gaps: list[CoverageGap] = field(default_factory=list)


def _read_packages(inventory: Inventory, context: Context,
                   wanted: Callable[[PackageTarget], bool]) -> Iterator[_Read]:
    """Every wanted package target with its content (each package is read once per scan, whichever rule asks)."""
    from ..analysis.packages import PackageError, limits_from_options, load_package, package_gaps, package_targets

    limits = limits_from_options(context.options)
    roots = [Path(root) for root in context.roots]
    for target in package_targets(inventory):
        if not wanted(target):
            continue
        package = load_package(target, inventory, roots, limits)
        gaps = package_gaps(target, package)
        if isinstance(package, PackageError):
            yield _Read(target, None, package.message, gaps)
        else:
            yield _Read(target, package, gaps=gaps)


def _file_location(target: PackageTarget, package: Package, path: str, line: int) -> Location:
    """The file itself when the package is a directory of the repository (SARIF then points at it), else the
    template line naming the code."""
    if package.kind != "directory":
        return target.where
    label = package.label.strip("/")
    return Location(f"{label}/{path}" if label not in ("", ".") else path, line)


# ---------------------------------------------------------------- INT009
def _node_trees(inventory: Inventory, package: Package) -> list[NodeTree]:
    """Memoized per package: several functions often share one code directory."""
    from ..analysis.node_packages import node_trees

    memo: dict[int, tuple[Package, list[NodeTree]]] = inventory.derived.setdefault("node_trees", {})
    if id(package) not in memo:  # the package is kept in the value, so its id is not reused during the scan
        memo[id(package)] = (package, node_trees(package))
    return memo[id(package)][1]


def _check_node_lock(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    from ..analysis.node_packages import compare_tree

    for read in _read_packages(inventory, context, lambda target: True):
        yield from read.gaps
        if read.package is None:
            continue  # code in S3 or an image: nothing of it is read (a local path that is missing is a gap)
        for tree in _node_trees(inventory, read.package):
            if not tree.comparable:
                yield NODE_LOCK_MISMATCH.not_evaluated(read.target.owner, _no_lock_reason(read.package, tree))
                continue
            for mismatch in compare_tree(tree):
                yield _node_finding(inventory, read.target, read.package, mismatch)


def _no_lock_reason(package: Package, tree: NodeTree) -> str:
    if package.kind == "directory":
        where = f"{package.label.strip('/')}/{tree.directory}node_modules".removeprefix("./")
    else:
        where = f"{tree.directory}node_modules of {package.label}"
    problems = [lock.problem for lock in (tree.lock, tree.hidden_lock) if lock is not None and lock.problem]
    if problems:
        return f"{where}: {problems[0]}"
    return (f"{where} has no package-lock.json, npm-shrinkwrap.json or node_modules/.package-lock.json: the "
            "installed Node.js packages cannot be compared with a lock")


def _version_line(package: Package, manifest: str) -> int:
    data = package.read(manifest) or b""
    match = _VERSION_LINE.search(data)
    return data.count(b"\n", 0, match.start()) + 1 if match else 1


def _node_finding(inventory: Inventory, target: PackageTarget, package: Package,
                  mismatch: PackageMismatch) -> Outcome:
    from ..analysis.packages import shown as printable

    installed = mismatch.package
    details = printable("; ".join(m.detail for m in mismatch.mismatches), 1000)
    inside = f" of {package.label}" if package.kind == "zip" else ""
    name = f"{installed.name}@{installed.version}" if installed.version else installed.name
    where = printable(installed.tree + installed.install_path)
    message = (f"{target.owner.id}: Node.js package {printable(name)} ({where}{inside}) differs from "
               f"{mismatch.lock}: {details}")
    finding = NODE_LOCK_MISMATCH.finding(
        inventory, target.owner, message,
        location=_file_location(target, package, installed.manifest, _version_line(package, installed.manifest)),
        evidence={
            "package": installed.name,
            "version": installed.version,
            "install_path": installed.install_path,
            "manifest": installed.manifest,
            "code": package.label,
            "lock": mismatch.lock,
            "mismatches": [{"kind": m.kind, "detail": m.detail, "expected": m.expected, "found": m.found}
                           for m in mismatch.mismatches],
        },
        # The location is a file of the code, which functions of several templates may share: the owner's key
        # (template and id) keeps their fingerprints apart.
        variant=f"{target.owner.key}|{installed.manifest}",
    )
    if mismatch.content_differs:  # another tarball than the pinned one, not only another version
        finding.severity = Severity.HIGH
    return finding


# ---------------------------------------------------------------- INT010
def _layer_account(target: PackageTarget) -> str | None:
    """The account owning a layer known by its ARN (live scans); None for a layer the scanned templates build."""
    owner = target.owner
    if not isinstance(owner, LayerVersion):
        return None
    for text in (owner.key, owner.location.arn or ""):
        match = _LAYER_ARN.match(text)
        if match:
            return match["account"]
    return None


def _trusted_accounts(inventory: Inventory, context: Context) -> set[str]:
    option = context.option("trusted_accounts", [])
    configured = [option] if isinstance(option, (str, int)) else list(option or [])
    return {str(account).strip() for account in configured} | inventory.own_accounts


def _check_layer_extension(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    from ..analysis.extensions import extension_files, may_start_extensions

    trusted = _trusted_accounts(inventory, context)
    for read in _read_packages(inventory, context, may_start_extensions):
        yield from read.gaps
        if read.package is None:
            yield LAYER_EXTENSION.not_evaluated(read.target.owner, f"the layer content is not available "
                                                                   f"({read.problem})")
            continue
        extensions = extension_files(read.package)
        if extensions:
            yield _extension_finding(inventory, read.target, read.package, extensions, trusted)


def _extension_finding(inventory: Inventory, target: PackageTarget, package: Package, extensions: list[str],
                       trusted: set[str]) -> Outcome:
    from ..analysis.packages import shown as printable

    account = _layer_account(target)
    foreign = account is not None and account not in trusted and aws_layer_publisher(account) is None
    what = "Layer" if target.role == "layer" else "Package"
    owner_text = f", published by account {account}," if foreign else ""
    names = printable(", ".join(extensions), 1000)
    deployed = "" if target.role == "layer" else " (if deployed as a layer)"
    message = (f"{what} {target.owner.id}{owner_text} ships {len(extensions)} Lambda extension(s) ({names}) in "
               f"{package.label}: each starts with every execution environment of the functions using it"
               f"{deployed}, beside their code, with their environment and credentials")
    finding = LAYER_EXTENSION.finding(
        inventory, target.owner, message,
        location=_file_location(target, package, extensions[0], 1),
        evidence={
            "extensions": extensions,
            "code": package.label,
            "account": account,
            "foreign_account": foreign,
            "sha256": {path: package.sha256(path) for path in extensions},
        },
        variant=target.owner.key,  # the location is a file layers of several templates may share
    )
    if foreign:
        finding.severity = Severity.HIGH
    return finding


NODE_LOCK_MISMATCH = Rule(
    code="INT009",
    slug="node-dependency-mismatch",
    title="Installed Node.js package differs from the lock file",
    severity=Severity.MEDIUM,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "A lock file (package-lock.json or npm-shrinkwrap.json) pins the exact version and tarball of every Node.js "
        "dependency: it is what the team reviewed, audited and scanned for vulnerabilities. The node_modules "
        "shipped in a deployment package or layer should be exactly that. lambdasec reads every installed "
        "package's package.json (node_modules/*/package.json, scoped and nested ones too) and reports a package "
        "at a path the lock does not list, with another name or version than the lock's, or whose installed "
        "tarball is recorded with another integrity hash than the pinned one (npm's own record of the install, "
        "node_modules/.package-lock.json, or the _integrity npm 6 wrote in package.json). Such a package was added "
        "or replaced after the locked install: a stale build, or tampering. The severity is high when the "
        "tarball itself differs, not only the version. A lock's integrity is the hash of the published tarball, "
        "which cannot be rebuilt from unpacked files: a file edited after installation is not detected (Python "
        "distributions are, by INT008). Without any lock beside node_modules the package is not evaluated."
    ),
    remediation=(
        "Rebuild node_modules from the lock in a clean environment (`npm ci --omit=dev`), never by copying or "
        "editing installed packages, and package what that produced. Commit package-lock.json; if a dependency "
        "must change, change it through npm so the lock records it."
    ),
    check=_check_node_lock,
    reads_code=True,
    snippets={
        "cloudformation": (
            "OrdersFunction:\n"
            "  Type: AWS::Lambda::Function\n"
            "  Properties:\n"
            "    Runtime: nodejs20.x\n"
            "    Handler: index.handler\n"
            "    # `aws cloudformation package` uploads this directory after `npm ci --omit=dev` ran in it\n"
            "    Code: build/orders/\n"
        ),
        "sam": (
            "OrdersFunction:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    Runtime: nodejs20.x\n"
            "    Handler: index.handler\n"
            "    CodeUri: src/orders/  # built by `npm ci --omit=dev` from the committed package-lock.json\n"
            "  Metadata:\n"
            "    BuildMethod: nodejs20.x  # sam build runs npm in a clean directory\n"
        ),
        "terraform": (
            "# Build in CI from the lock, then package what npm installed:\n"
            "#   npm ci --omit=dev --prefix src/orders\n"
            "data \"archive_file\" \"orders\" {\n"
            "  type        = \"zip\"\n"
            "  source_dir  = \"src/orders\"\n"
            "  output_path = \"build/orders.zip\"\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.npmjs.com/cli/v10/configuring-npm/package-lock-json",
        "https://docs.npmjs.com/cli/v10/commands/npm-ci",
    ),
)

LAYER_EXTENSION = Rule(
    code="INT010",
    slug="layer-extension",
    title="Layer ships a Lambda extension",
    severity=Severity.MEDIUM,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "Lambda starts every executable file directly under /opt/extensions, which is where a layer's "
        "extensions/ directory lands, when an execution environment starts, before the function's code. An "
        "external extension runs as its own process for the whole life of the environment: it is told of every "
        "invocation, reads the function's environment variables (secrets included) and the execution role's "
        "credentials, can subscribe to its logs, and with a wrapper script can sit between the runtime and "
        "every event and response. An extension is therefore code with the function's full power that is not "
        "in the function's own package, and one layer gives it to every function using the layer. lambdasec "
        "reports each layer (or zip given on the command line, which may be deployed as one) that ships an "
        "executable file, a script starting with #! or an ELF binary directly under extensions/, so each one is "
        "known and reviewed; the severity is high when the layer belongs to an account that is neither this "
        "one, a trusted account nor an AWS publisher. A function's own package is not reported: Lambda never "
        "starts extensions from a function's code directory (/var/task)."
    ),
    remediation=(
        "Keep only the extensions the team reviewed and needs, from publishers it trusts: build them from source "
        "into a layer the account owns, pin that layer version (and its content hash with `lambdasec layers "
        "lock`), and remove layers that carry an extension nobody accounts for. Suppress this finding with a "
        "reason for each extension that was reviewed."
    ),
    check=_check_layer_extension,
    reads_code=True,
    snippets={
        "cloudformation": (
            "TelemetryLayer:\n"
            "  Type: AWS::Lambda::LayerVersion\n"
            "  Metadata:\n"
            "    lambdasec:\n"
            "      ignore:\n"
            "        - id: INT010\n"
            "          reason: \"telemetry-forwarder built from our repository, reviewed in SEC-142\"\n"
            "  Properties:\n"
            "    Content:\n"
            "      S3Bucket: !Ref ArtifactBucket\n"
            "      S3Key: layers/telemetry-3.zip\n"
        ),
        "sam": (
            "TelemetryLayer:\n"
            "  Type: AWS::Serverless::LayerVersion\n"
            "  Metadata:\n"
            "    lambdasec:\n"
            "      ignore:\n"
            "        - id: INT010\n"
            "          reason: \"telemetry-forwarder built from our repository, reviewed in SEC-142\"\n"
            "  Properties:\n"
            "    ContentUri: layers/telemetry/  # extensions/telemetry-forwarder\n"
        ),
        "terraform": (
            "resource \"aws_lambda_layer_version\" \"telemetry\" {\n"
            "  # lambdasec: ignore[INT010] telemetry-forwarder built from our repository, reviewed in SEC-142\n"
            "  layer_name = \"telemetry\"\n"
            "  filename   = data.archive_file.telemetry.output_path\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/lambda-extensions.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html",
    ),
)

RULES = (NODE_LOCK_MISMATCH, LAYER_EXTENSION)
