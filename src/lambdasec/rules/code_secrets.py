"""SEC003: secrets written into a function's code, a layer, or a package given on the command line.

Every deployment package the inventory names is read (analysis/packages.py, never executed) and its text files
scanned (analysis/code_secrets.py). Files that belong unmodified to an installed third-party distribution are
skipped unless the ``secrets_all_files`` option (``--scan-all-files``) asks for everything. A package read by
several functions is scanned once and each secret reported once, on the first of them, naming all.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from lambdasec.fast_dataclass import dataclass

from ..analysis.secrets import describe
from ..model.findings import Confidence, Severity
from ..model.inventory import Function, Inventory
from ..model.location import Location
from .base import Context, Outcome, Rule, affected_functions

if TYPE_CHECKING:
    from ..analysis.code_secrets import CodeSecret, CodeSecretsScan
    from ..analysis.packages import Package, PackageTarget


@dataclass
class SharedPackage:
    """One package and every target reading it (several functions often share one code directory)."""

    package: Package
    targets: list[PackageTarget]


def shared_packages(inventory: Inventory, context: Context, rule: Rule,
                    report_unavailable: bool = True) -> Iterator[Outcome | SharedPackage]:
    """Gaps and "not evaluated" outcomes (``rule``'s) of every package target, then each readable package once
    with the targets reading it, the first of them the one findings are reported on, followed by its gaps (known
    once it has been read). Code that is not available (in S3, an image) is "not evaluated" only when
    ``report_unavailable``: one rule saying so per function is enough (SEC003, the first thing to check in code,
    does)."""
    from ..analysis.packages import PackageError, limits_from_options, load_package, package_gaps, package_targets

    limits = limits_from_options(context.options)
    roots = [Path(root) for root in context.roots]
    shared: dict[int, SharedPackage] = {}
    for target in package_targets(inventory):
        package = load_package(target, inventory, roots, limits)
        if isinstance(package, PackageError):
            yield from package_gaps(target, package)
            if report_unavailable:
                yield rule.not_evaluated(target.owner, f"the code of {target.owner.id} is not available ({package})")
            continue
        shared.setdefault(id(package), SharedPackage(package, [])).targets.append(target)
    for entry in shared.values():
        entry.targets.sort(key=lambda t: (t.owner.location.file, t.owner.id, t.owner.key))
        yield entry
        # Resumed once the rule has read the package: damage found while reading (a bad CRC only shows then) is
        # in its gaps too.
        for target in entry.targets:
            yield from package_gaps(target, entry.package)


def scanned(inventory: Inventory, package: Package, all_files: bool) -> CodeSecretsScan:
    """The package's secrets, memoized per scan (``inventory.derived``): other rules may ask again."""
    from ..analysis.code_secrets import scan_package

    memo: dict[tuple[int, bool], tuple[Package, CodeSecretsScan]] = inventory.derived.setdefault("code_secrets", {})
    key = (id(package), all_files)  # the package is kept in the value: its id is not reused during the scan
    if key not in memo:
        memo[key] = (package, scan_package(package, all_files=all_files))
    return memo[key][1]


def _check_code_secrets(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    all_files = bool(context.option("secrets_all_files", False))
    for item in shared_packages(inventory, context, CODE_PLAINTEXT_SECRET):
        if not isinstance(item, SharedPackage):
            yield item
            continue
        scan = scanned(inventory, item.package, all_files)
        ordinals: dict[tuple[str, str], int] = {}
        for secret in scan.secrets:
            ordinal = ordinals.get((secret.path, secret.kind), 0)
            ordinals[(secret.path, secret.kind)] = ordinal + 1
            yield _finding(inventory, item, scan, secret, ordinal)
        if scan.files_skipped_third_party:  # say what was left unread, clean package or not
            yield CODE_PLAINTEXT_SECRET.not_evaluated(item.targets[0].owner, (
                f"{item.package.label}: {scan.files_skipped_third_party} file(s) "
                f"({_size(scan.bytes_skipped_third_party)}) of unmodified installed third-party packages were not "
                "searched for secrets (--scan-all-files searches them)"))


def _size(count: int) -> str:
    return f"{count / (1 << 20):.1f} MiB" if count >= 1 << 20 else f"{count / 1024:.1f} KiB"


def _finding(inventory: Inventory, shared: SharedPackage, scan: CodeSecretsScan, secret: CodeSecret,
             ordinal: int) -> Outcome:
    package, first = shared.package, shared.targets[0]
    functions: dict[str, Function] = {}
    for target in shared.targets:
        for fn in affected_functions(inventory, target.owner):
            functions.setdefault(fn.key, fn)
    where = _where(package, secret.path)
    if where is not None:
        place = f"{where.file} line {secret.line}"
        location = Location(where.file, secret.line, secret.column)
    else:
        place = (f"inline code line {secret.line}" if package.kind == "inline"
                 else f"{package.label}: {secret.path} line {secret.line}")
        location = first.where
    owners = ", ".join(dict.fromkeys(target.owner.id for target in shared.targets))
    label = describe(secret.kind)
    message = f"{label[:1].upper()}{label[1:]} ({secret.preview}) in the code of {owners}: {place}"
    evidence = {
        "kind": secret.kind,
        "preview": secret.preview,
        "package": package.label,
        "path": secret.path,
        "line": secret.line,
        "column": secret.column,
        "used_by": sorted(dict.fromkeys(target.owner.id for target in shared.targets)),
        "files_scanned": scan.files_scanned,
        "third_party_files_skipped": scan.files_skipped_third_party,
        "third_party_bytes_skipped": scan.bytes_skipped_third_party,
    }
    return CODE_PLAINTEXT_SECRET.finding(
        inventory, first.owner, message, location=location, confidence=secret.confidence,
        functions=list(functions.values()), evidence=evidence, variant=f"{secret.path}#{secret.kind}#{ordinal}",
    )


def _where(package: Package, path: str) -> Location | None:
    """The file in the repository for a directory package (so SARIF points at the code), None for a zip, a file
    inside a nested zip, or inline code (the template line naming the code is used instead)."""
    if package.kind != "directory" or "!/" in path:
        return None
    label = package.label.strip("/")
    return Location(f"{label}/{path}" if label not in ("", ".") else path)


CODE_PLAINTEXT_SECRET = Rule(
    code="SEC003",
    slug="code-plaintext-secret",
    title="Plaintext secret in a function's code or layer",
    severity=Severity.HIGH,
    confidence=Confidence.HIGH,
    category="secrets",
    rationale=(
        "A secret written into source code or a configuration file ships in every deployment package and layer "
        "built from it: anyone allowed lambda:GetFunction or lambda:GetLayerVersion downloads the code with a "
        "presigned URL, and the secret also sits in the repository, its history, the artifact bucket and every "
        "copy of the zip. It cannot be rotated without a rebuild. lambdasec reads each function's code, its "
        "layers and any zip given on the command line without running them, and looks in every text file for "
        "provider formats (AWS access key pairs, GitHub, GitLab, Slack, Stripe, Twilio, SendGrid, Google and Azure "
        "credentials, private keys, JSON web tokens, URLs with a password...) and for high-entropy values assigned "
        "to sensitive names (password, token, api_key, client_secret...). Confidence is high for provider formats "
        "and for an AWS access key id next to its secret key, medium for an access key id alone and for values "
        "recognized by their name; one level lower in test, example and documentation files. References "
        "(${...}, {{resolve:...}}, os.environ[...]), placeholders and documented examples are not reported. Files "
        "of installed third-party packages are skipped unless --scan-all-files is given: a Python file whose "
        "sha256 matches its distribution's RECORD, and Node.js packages under node_modules."
    ),
    remediation=(
        "Remove the secret from the code and rotate it: it has already been copied wherever the code went. Store "
        "it in AWS Secrets Manager (or a SecureString parameter), give the function only its name or ARN in an "
        "environment variable, grant the execution role secretsmanager:GetSecretValue on that secret, and read it "
        "at run time with the AWS Parameters and Secrets Lambda Extension or Powertools for AWS Lambda so it is "
        "cached between invocations. Never use long-term access keys in Lambda at all: the execution role "
        "already provides temporary credentials."
    ),
    check=_check_code_secrets,
    reads_code=True,
    snippets={
        "cloudformation": (
            "ApiKeySecret:\n"
            "  Type: AWS::SecretsManager::Secret\n"
            "OrdersFunction:\n"
            "  Type: AWS::Lambda::Function\n"
            "  Properties:\n"
            "    Environment:\n"
            "      Variables:\n"
            "        API_KEY_SECRET_ARN: !Ref ApiKeySecret  # the code reads the value at run time\n"
        ),
        "sam": (
            "OrdersFunction:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    CodeUri: src/orders/\n"
            "    Environment:\n"
            "      Variables:\n"
            "        API_KEY_SECRET_ARN: !Ref ApiKeySecret\n"
            "    Policies:\n"
            "      - AWSSecretsManagerGetSecretValuePolicy:\n"
            "          SecretArn: !Ref ApiKeySecret\n"
            "# src/orders/app.py\n"
            "# from aws_lambda_powertools.utilities import parameters\n"
            "# api_key = parameters.get_secret(os.environ[\"API_KEY_SECRET_ARN\"])\n"
        ),
        "terraform": (
            'resource "aws_lambda_function" "orders" {\n'
            "  # ...\n"
            "  environment {\n"
            "    variables = {\n"
            "      API_KEY_SECRET_ARN = aws_secretsmanager_secret.api_key.arn\n"
            "    }\n"
            "  }\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html",
        "https://cwe.mitre.org/data/definitions/798.html",
    ),
    anchors={
        "checkov": (),
        "prowler": ("awslambda_function_no_secrets_in_code",),
        "kics": (),
        "securityhub": (),
    },
)


RULES: tuple[Rule, ...] = (CODE_PLAINTEXT_SECRET,)
