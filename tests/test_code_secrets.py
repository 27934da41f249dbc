"""Secrets in code and layers: the one-pass scanner (analysis/code_secrets.py), the third-party skip, and SEC003 and
INT008 through the real scanner on packages built in tmp_path (directories, zips, inline code, installed wheels).

Provider tokens are assembled from pieces so that secret scanners do not flag this file.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import importlib.metadata
import shutil
import time
import zipfile
from pathlib import Path

import pytest

import lambdasec
from lambdasec.analysis.code_secrets import CodeSecret, node_package_files, scan_package, scan_text
from lambdasec.analysis.packages import ArchiveLimits, open_package, package_targets
from lambdasec.analysis.records import published_files
from lambdasec.collectors.discovery import collect
from lambdasec.collectors.options import CollectOptions
from lambdasec.engine import ScanSettings, scan
from lambdasec.model.findings import Confidence, Report

HIGH, MEDIUM, LOW = Confidence.HIGH, Confidence.MEDIUM, Confidence.LOW
NOW = dt.datetime(2026, 11, 29, tzinfo=dt.timezone.utc)

AWS_ID = "AKIA" + "Q3EGRTZ5LMXPWN7K"
AWS_SECRET = "k7Rt2/Wq9xZa" + "pL4mN8vB3cX6yH1jG5fD0sA9eT2u"
GITHUB = "gh" + "p_" + "Zq8Lr2Vt6Xw0Ab4Cd8Ef2Gh6Ij0Kl4Mn8Op2"
SLACK = "xo" + "xb-" + "417305928163-5820394716253-QwErTyUiOpAs"
STRIPE = "sk" + "_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
JWT = ("eyJ" + "hbGciOiJIUzI1NiJ9" + ".eyJ" + "zdWIiOiJvcmRlcnMiLCJzY29wZSI6InJ3In0" + "."
       + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U")
PEM = "-----BEGIN RSA PRIVATE " + "KEY-----"
PEM_BODY = "MIIEowIBAAKCAQEAwYSiPeJLSi6k8J4xQ2pRt7LmN9vB3cX6yH1jG5fD0sA9eT2uZq8L"
DB_PASSWORD = "Vq3-Lp9x" + "-Tz4w"
TOKEN = "f3Kq8Zr2Lm7X" + "v4Tn9Pw1Hs6J"
SENDGRID = "S" + "G." + "qWeRtYuIoPkLmNbVcXzA12" + "." + "zXcVbNmAsDfGhJkLqWeRtY12uIoPzXcVbNmAsDfGhJ1"
GOOGLE = "AI" + "za" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"


def found(text: str, path: str = "app.py") -> list[tuple[str, Confidence, int, int]]:
    return [(s.kind, s.confidence, s.line, s.column) for s in scan_text(text, path)]


# ---------------------------------------------------------------- what is found
@pytest.mark.parametrize(
    ("text", "path", "expected"),
    [
        (f'KEY_ID = "{AWS_ID}"\nSECRET = "{AWS_SECRET}"\n', "app.py", [("aws-access-key-pair", HIGH, 1, 11)]),
        (f'aws_access_key_id = {AWS_ID}\n\n\n\naws_secret_access_key = {AWS_SECRET}\n', "credentials",
         [("aws-access-key-pair", HIGH, 1, 21)]),
        (f'const s = "{AWS_SECRET}";\nconst id = "{AWS_ID}";\n', "index.js", [("aws-access-key-pair", HIGH, 2, 13)]),
        (f'x = "{AWS_ID}"\n', "app.py", [("aws-access-key-id", MEDIUM, 1, 6)]),
        (f'AWS_SECRET_ACCESS_KEY = "{AWS_SECRET}"\n', "app.py", [("aws-secret-access-key", HIGH, 1, 26)]),
        (f'token = "{GITHUB}"\n', "app.py", [("github-token", HIGH, 1, 10)]),
        (f'headers = {{"Authorization": "Bearer {GITHUB}"}}\n', "app.py", [("github-token", HIGH, 1, 37)]),
        (f"slack: {SLACK}\n", "config.yaml", [("slack-token", HIGH, 1, 8)]),
        (f"stripe.api_key = '{STRIPE}'\n", "pay.py", [("stripe-live-key", HIGH, 1, 19)]),
        (f"const session = '{JWT}'\n", "a.mjs", [("jwt", HIGH, 1, 18)]),
        (f'KEY = """{PEM}\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----"""\n', "keys.py", [("private-key", HIGH, 1, 10)]),
        (f'KEY = "{PEM}\\n{PEM_BODY}\\n-----END"\n', "keys.py", [("private-key", HIGH, 1, 8)]),
        (f'DB = "postgresql://orders:{DB_PASSWORD}@db.internal:5432/orders"\n', "db.py",
         [("database-url-password", HIGH, 1, 27)]),
        (f"mail.send(key='{SENDGRID}')\n", "mail.py", [("sendgrid-api-key", HIGH, 1, 16)]),
        (f"MAPS_KEY: {GOOGLE}\n", "maps.yml", [("google-api-key", HIGH, 1, 11)]),
        # Assignments to sensitive names: medium.
        ('DB_PASSWORD = "k9#Rw2!mQx7z"\n', "app.py", [("password", MEDIUM, 1, 16)]),
        (f'self.client_secret = "{TOKEN}"\n', "app.py", [("secret", MEDIUM, 1, 23)]),
        (f'api_key: str = "{TOKEN}"\n', "app.py", [("api-key", MEDIUM, 1, 17)]),
        (f'{{"apiToken": "{TOKEN}"}}\n', "settings.json", [("token", MEDIUM, 1, 15)]),
        (f"const apiKey = `{TOKEN}`;\n", "index.ts", [("api-key", MEDIUM, 1, 17)]),
        (f"password := \"Hunter2-{TOKEN}\"\n", "main.go", [("password", MEDIUM, 1, 14)]),
        (f"PAYMENTS_API_TOKEN={TOKEN}\nLOG_LEVEL=INFO\n", "settings.env", [("token", MEDIUM, 1, 20)]),
        ("export DB_PASS='k9#Rw2!mQx7z'\n", "run.sh", [("password", MEDIUM, 1, 17)]),
        ("[db]\npassword = k9#Rw2!mQx7z\n", "app.ini", [("password", MEDIUM, 2, 12)]),
        # Test and example files: one level lower.
        (f'x = "{GITHUB}"\n', "tests/test_client.py", [("github-token", MEDIUM, 1, 6)]),
        ('DB_PASSWORD = "k9#Rw2!mQx7z"\n', "app.spec.js", [("password", LOW, 1, 16)]),
        (f"token: {GITHUB}\n", "README.md", [("github-token", MEDIUM, 1, 8)]),
    ],
)
def test_finds(text: str, path: str, expected: list[tuple[str, Confidence, int, int]]) -> None:
    assert found(text, path) == expected


def test_an_id_too_far_from_the_secret_is_alone_and_each_secret_pairs_once() -> None:
    far = f'ID = "{AWS_ID}"\n' + "pass\n" * 6 + f'S = "{AWS_SECRET}"\n'
    assert found(far) == [("aws-access-key-id", MEDIUM, 1, 7)]
    second = "AKIA" + "ZZ3EGRTZ5LMXPWN7"
    two_ids = f'A = "{AWS_ID}"\nS = "{AWS_SECRET}"\nB = "{second}"\n'
    assert found(two_ids) == [("aws-access-key-pair", HIGH, 1, 6), ("aws-access-key-id", MEDIUM, 3, 6)]


def test_a_named_secret_key_is_preferred_over_a_nearer_random_value() -> None:
    other = "Zr8Qw3Lx9Vt2Np5Ks7Hm4Jc1Zr8Qw3Lx9Vt2Np5K"
    text = f'aws_secret_access_key = "{AWS_SECRET}"\n\nid = "{AWS_ID}"\nchecksum = "{other}"\n'
    (secret,) = scan_text(text, "app.py")
    assert (secret.kind, secret.preview) == ("aws-access-key-pair", "AK****7K / k7****2u")


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('password = os.environ["DB_PASSWORD"]\n', "app.py"),
        ("password = get_password()\n", "app.py"),
        ('password: str = Field(..., description="the password")\n', "models.py"),
        ('if password == "k9#Rw2!mQx7z":\n    pass\n', "app.py"),
        ('TOKEN_URL = "https://auth.example.com/oauth2/token"\n', "app.py"),
        ('DB_PASSWORD_SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-Ab12Cd"\n', "app.py"),
        ("PASSWORD_MIN_LENGTH = 12\n", "app.py"),
        ('password = "changeme"\n', "app.py"),
        ('api_key = "<your-api-key>"\n', "app.py"),
        ('API_KEY = "${API_KEY}"\n', "app.py"),
        ("api_key: {{resolve:ssm-secure:/orders/api-key}}\n", "config.yml"),
        ("DB_PASSWORD=${DB_PASSWORD}\n", "settings.env"),
        ('secret = "xxxxxxxxxxxxxxxx"\n', "app.py"),
        ('token = "test-token-1234567"\n', "app.py"),
        ('TEST_PASSWORD = "k9#Rw2!mQx7z"\n', "app.py"),
        ('password = "password123"\n', "app.py"),
        ('"input_token": "NextToken",\n', "paginators.json"),
        ('"AWS::IAM::AccessKey": "62d91b17309e76c8",\n', "providers.py"),
        ('prompt_password = "Enter your password: %s"\n', "cli.py"),
        ('key = "AKIAIOSFODNN7EXAMPLE"\n', "app.py"),  # AWS's documented example key
        ('url = "postgresql://reports:{password}@db:5432/reports"\n', "db.py"),
        ('url = "postgres://postgres:postgres@localhost:5432/app"\n', "db.py"),
        ('url = "https://user:pass@host/path"\n', "db.py"),
        (f'if line.startswith("{PEM}"):\n    pass\n', "parse.py"),
        (f'KEY = "{PEM}\\n...\\n-----END"\n', "docs.py"),
        ('"integrity": "sha512-Zr8Qw3Lx9Vt2Np5Ks7Hm4Jc1Zr8Qw3Lx9Vt2Np5Ks7Hm4Jc1Zr8Qw3Lx9Vt2Np5Ks7Hm4Jc1=="\n',
         "package-lock.json"),
        (f'"secret": "{TOKEN}"\n', "package-lock.json"),  # lock files: provider formats only
        (f"password: {TOKEN}1\n", "README.md"),
        (f"client_secret = {TOKEN}\n", "app.py"),  # a bare word in code is an identifier
        (f"token = {TOKEN}\n", "orders-1.0.dist-info/METADATA"),
        (f'"password": "{TOKEN}1"\n', "examples-1.json"),
        ("const blob = 'eyJhbGciOiJub25lIn0AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';\n", "a.js"),
        (f"{'A' * 40}\n{AWS_SECRET}\n", "data.txt"),  # a secret key shape alone is not reported
    ],
)
def test_does_not_find(text: str, path: str) -> None:
    assert found(text, path) == []


def test_previews_never_hold_the_secret() -> None:
    text = "\n".join([f'a = "{AWS_ID}"', f'b = "{AWS_SECRET}"', f't = "{GITHUB}"', f'p = "{DB_PASSWORD}1!"',
                      f'DB = "postgresql://o:{DB_PASSWORD}@db.internal/o"', f"token = '{TOKEN}'"])
    secrets = scan_text(text, "app.py")
    assert len(secrets) == 4
    for secret in secrets:
        for value in (AWS_ID, AWS_SECRET, GITHUB, DB_PASSWORD, TOKEN):
            assert value not in secret.preview
        assert "****" in secret.preview


def test_a_large_file_is_scanned_in_linear_time() -> None:
    """Hang guard only (no speed assertion): 4 MB of code-like text with many anchors and no secret."""
    line = 'auth_key = config["token"]  # the secret passes through https://example.com/x?key=value\n'
    text = line * (4_000_000 // len(line))
    started = time.perf_counter()
    assert scan_text(text, "big.py") == []
    assert time.perf_counter() - started < 30


# ---------------------------------------------------------------- packages: what is skipped
def record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def vendor(site: Path, name: str, version: str, files: dict[str, str]) -> None:
    info = site / f"{name}-{version}.dist-info"
    files = {**files, f"{info.name}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"}
    rows = []
    for relative, text in files.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_text(text)
        rows.append(f"{relative},{record_hash(text.encode())},{len(text.encode())}")
    rows.append(f"{info.name}/RECORD,,")
    (info / "RECORD").write_text("\n".join(rows) + "\n")


def test_published_and_node_files_are_skipped_unless_all_files(tmp_path: Path) -> None:
    vendored = {"authlib/__init__.py": f'EXAMPLE_KEY = "{GITHUB}"\n'}
    vendor(tmp_path, "authlib", "1.0", vendored)
    (tmp_path / "node_modules" / "@scope" / "sdk").mkdir(parents=True)
    (tmp_path / "node_modules" / "@scope" / "sdk" / "package.json").write_text('{"name": "@scope/sdk"}')
    (tmp_path / "node_modules" / "@scope" / "sdk" / "index.js").write_text(f"const t = '{GITHUB}';\n")
    (tmp_path / "node_modules" / "loose.js").write_text(f"const t = '{GITHUB}';\n")  # no package.json
    (tmp_path / "handler.py").write_text(f'TOKEN = "{GITHUB}"\n')
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\0\0" + GITHUB.encode())
    package = open_package(tmp_path, "code")
    assert node_package_files(package) == frozenset({"node_modules/@scope/sdk/index.js",
                                                      "node_modules/@scope/sdk/package.json"})
    result = scan_package(package, all_files=False)
    assert sorted(s.path for s in result.secrets) == ["handler.py", "node_modules/loose.js"]
    assert (result.files_scanned, result.files_skipped_third_party, result.files_skipped_binary) == (2, 5, 1)
    assert result.bytes_skipped_third_party == sum(f.size for f in package.files if f.path.startswith(
        ("authlib", "node_modules/@scope")))
    everything = scan_package(package, all_files=True)
    assert sorted(s.path for s in everything.secrets) == [
        "authlib/__init__.py", "handler.py", "node_modules/@scope/sdk/index.js", "node_modules/loose.js"]
    assert (everything.files_skipped_third_party, everything.files_skipped_binary) == (0, 1)


def test_a_modified_vendored_file_is_scanned(tmp_path: Path) -> None:
    vendor(tmp_path, "authlib", "1.0", {"authlib/__init__.py": "x = 1\n"})
    (tmp_path / "authlib" / "__init__.py").write_text(f'x = "{GITHUB}"\n')
    result = scan_package(open_package(tmp_path, "code"), all_files=False)
    assert [(s.path, s.kind) for s in result.secrets] == [("authlib/__init__.py", "github-token")]


def test_files_over_the_read_limit_are_counted_not_read(tmp_path: Path) -> None:
    (tmp_path / "big.py").write_text(f'TOKEN = "{GITHUB}"\n' + "#" * 5000)
    (tmp_path / "small.py").write_text(f'TOKEN = "{GITHUB}"\n')
    result = scan_package(open_package(tmp_path, "code", ArchiveLimits(max_file_bytes=1000)), all_files=False)
    assert [s.path for s in result.secrets] == ["small.py"]
    assert (result.files_scanned, result.files_unreadable) == (1, 1)


def test_a_zip_with_a_nested_zip_is_scanned_without_extracting(tmp_path: Path) -> None:
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("lib/conf.py", f'API_TOKEN = "{TOKEN}"\n')
    outer = tmp_path / "function.zip"
    with zipfile.ZipFile(outer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", f'import os\n\nGH = "{GITHUB}"\n')
        archive.write(inner, "vendor/inner.zip")
    result = scan_package(open_package(outer, "function.zip"), all_files=False)
    assert [(s.path, s.kind, s.line) for s in result.secrets] == [
        ("app.py", "github-token", 3), ("vendor/inner.zip!/lib/conf.py", "token", 1)]


# ---------------------------------------------------------------- SEC003 through the scanner
SAM = """\
Transform: AWS::Serverless-2016-10-31
Resources:
{functions}
"""


def sam_function(name: str, code_uri: str, runtime: str = "python3.12") -> str:
    return (f"  {name}:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: {runtime}\n"
            f"      Handler: app.handler\n      CodeUri: {code_uri}\n")


def run(root: Path, rules: tuple[str, ...] = ("SEC003",), **options: object) -> Report:
    return scan([root], ScanSettings(rules=rules, now=NOW, rule_options=options))


def test_sec003_directory_code_points_at_the_file(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(f'import os\n\nGH = "{GITHUB}"\n')
    (tmp_path / "template.yaml").write_text(SAM.format(functions=sam_function("Orders", "src/")))
    report = run(tmp_path)
    assert report.coverage_gaps == []
    (finding,) = report.findings
    assert (finding.rule_id, finding.resource_id, finding.location.file, finding.location.line,
            finding.location.column, finding.confidence) == ("SEC003", "Orders", "src/app.py", 3, 7, HIGH)
    assert finding.message == "GitHub token (gh****p2) in the code of Orders: src/app.py line 3"
    assert finding.evidence == {
        "kind": "github-token", "preview": "gh****p2", "package": "src", "path": "app.py", "line": 3, "column": 7,
        "used_by": ["Orders"], "files_scanned": 1, "third_party_files_skipped": 0, "third_party_bytes_skipped": 0,
    }
    assert finding.functions == ["Orders"]


def test_sec003_zip_code_points_at_the_template_and_names_the_path_inside(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "orders.zip", "w") as archive:
        archive.writestr("pkg/settings.py", f'\nAPI_TOKEN = "{TOKEN}"\n')
    (tmp_path / "template.yaml").write_text(SAM.format(functions=sam_function("Orders", "orders.zip")))
    (finding,) = run(tmp_path).findings
    inventory, _ = collect([tmp_path], CollectOptions())
    (target,) = package_targets(inventory)  # the template line naming the code
    assert finding.location == target.where and target.where.file == "template.yaml"
    assert finding.message == "Token (f3****6J) in the code of Orders: orders.zip: pkg/settings.py line 2"
    assert (finding.evidence["package"], finding.evidence["path"], finding.evidence["line"]) == (
        "orders.zip", "pkg/settings.py", 2)
    assert finding.confidence == MEDIUM


def test_sec003_shared_code_is_reported_once_for_every_function(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(f'GH = "{GITHUB}"\n')
    functions = sam_function("Orders", "src/") + sam_function("Billing", "src/")
    (tmp_path / "template.yaml").write_text(SAM.format(functions=functions))
    (finding,) = run(tmp_path).findings
    assert (finding.resource_id, finding.functions) == ("Billing", ["Billing", "Orders"])
    assert finding.evidence["used_by"] == ["Billing", "Orders"]
    assert finding.message == "GitHub token (gh****p2) in the code of Billing, Orders: src/app.py line 1"


def test_sec003_code_elsewhere_is_not_evaluated_and_missing_code_is_a_gap(tmp_path: Path) -> None:
    functions = sam_function("Remote", "s3://artifacts/orders.zip") + sam_function("Missing", "build/none/")
    (tmp_path / "template.yaml").write_text(SAM.format(functions=functions))
    report = run(tmp_path)
    assert report.findings == []
    assert [(n.rule_id, n.resource_id) for n in report.not_evaluated] == [("SEC003", "Remote"), ("SEC003", "Missing")]
    # The collector already reports the missing CodeUri; the rule does not repeat it.
    assert [gap.kind for gap in report.coverage_gaps] == ["missing-file"]


def test_sec003_scans_third_party_files_when_asked(tmp_path: Path) -> None:
    vendor(tmp_path / "src", "authlib", "1.0", {"authlib/keys.py": f'DEMO = "{GITHUB}"\n'})
    (tmp_path / "src" / "app.py").write_text("import authlib\n")
    (tmp_path / "template.yaml").write_text(SAM.format(functions=sam_function("Orders", "src/")))
    skipped = run(tmp_path)
    assert skipped.findings == []
    # What was not searched is said, even when nothing was found.
    assert [(n.rule_id, n.resource_id, n.reason) for n in skipped.not_evaluated] == [(
        "SEC003", "Orders", "src: 3 file(s) (0.3 KiB) of unmodified installed third-party packages were not searched "
        "for secrets (--scan-all-files searches them)")]
    everything = run(tmp_path, secrets_all_files=True)
    (finding,) = everything.findings
    assert finding.location.file == "src/authlib/keys.py"
    assert everything.not_evaluated == []


# ---------------------------------------------------------------- the proof: a realistic package
# Installed with lambdasec (boto3 -> botocore -> urllib3, jmespath, python-dateutil, six); requests and its
# dependencies too when the environment has them. Not certifi: sandboxes and corporate machines append their own
# CA to its installed cacert.pem, which INT008 rightly reports as a modified file.
VENDORED = ("urllib3", "jmespath", "python-dateutil", "six", "requests", "idna", "charset-normalizer")
REQUIRED = frozenset({"urllib3", "jmespath", "python-dateutil", "six"})


def pip_install_t(target: Path) -> dict[str, str]:
    """Copy installed distributions into ``target`` as `pip install -t` lays them out: every file RECORD lists
    inside site-packages, .dist-info included (scripts recorded as ../../bin are left out). Name -> version."""
    copied = {}
    for name in VENDORED:
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            assert name not in REQUIRED
            continue
        for file in distribution.files or []:
            source = Path(str(distribution.locate_file(file)))
            if ".." in file.parts or not source.is_file():
                continue
            (target / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target / file)
        copied[distribution.metadata["Name"]] = distribution.version
    return copied


HANDLER = """\
import json
import urllib3

# Written here "for now": the secrets the test plants.
GITHUB_TOKEN = "{github}"
DATABASE_URL = "postgresql://orders:{password}@orders-db.internal:5432/orders"
aws_access_key_id = "{key_id}"
aws_secret_access_key = "{secret}"


def handler(event, context):
    http = urllib3.PoolManager()
    return {{"statusCode": http.request("GET", "https://example.com").status, "body": json.dumps(event)}}
"""


def realistic_package(root: Path) -> dict[str, str]:
    code = root / "build" / "orders"
    versions = pip_install_t(code)
    (code / "app.py").write_text(HANDLER.format(github=GITHUB, password=DB_PASSWORD, key_id=AWS_ID,
                                                secret=AWS_SECRET))
    (root / "template.yaml").write_text(SAM.format(functions=sam_function("Orders", "build/orders/")))
    return versions


def test_realistic_package_planted_secrets_are_found_and_vendored_code_is_silent(tmp_path: Path) -> None:
    versions = realistic_package(tmp_path)
    assert {name.lower() for name in versions} >= REQUIRED
    report = run(tmp_path, ("SEC003", "INT008"))
    assert report.coverage_gaps == []
    assert [(f.rule_id, f.location.file, f.location.line, f.evidence["kind"]) for f in report.findings] == [
        ("SEC003", "build/orders/app.py", 5, "github-token"),
        ("SEC003", "build/orders/app.py", 6, "database-url-password"),
        ("SEC003", "build/orders/app.py", 7, "aws-access-key-pair"),
    ]
    package = open_package(tmp_path / "build" / "orders", "build/orders")
    result = scan_package(package, all_files=False)
    assert result.files_scanned == 1  # only the handler: every vendored file matches its RECORD
    unpublished = {f.path for f in package.files} - published_files(package)
    assert sorted(path for path in unpublished if not path.endswith(".pyc")) == ["app.py"]
    assert result.files_skipped_third_party + result.files_skipped_binary + result.files_scanned == len(
        package.files)


def test_realistic_package_one_edited_vendored_file_is_one_tampered_dependency(tmp_path: Path) -> None:
    versions = realistic_package(tmp_path)
    edited = tmp_path / "build" / "orders" / "urllib3" / "connectionpool.py"
    edited.write_text(edited.read_text().replace("import", "import os  # hook\nimport", 1))
    report = run(tmp_path, ("INT008",))
    (finding,) = report.findings
    version = versions["urllib3"]
    assert (finding.rule_id, finding.resource_id, finding.location.file, finding.location.line) == (
        "INT008", "Orders", "build/orders/urllib3/connectionpool.py", 1)
    assert finding.message == (
        f"Python distribution urllib3 {version} in build/orders (code of Orders) differs from its installation "
        f"record urllib3-{version}.dist-info/RECORD: 1 modified (urllib3/connectionpool.py)")
    assert (finding.evidence["distribution"], finding.evidence["version"], finding.evidence["modified"],
            finding.evidence["added"], finding.evidence["missing"]) == (
        "urllib3", version, ["urllib3/connectionpool.py"], [], [])
    assert finding.confidence == HIGH
    # The edited file is no longer "published": the secrets scan reads it again.
    package = open_package(tmp_path / "build" / "orders", "build/orders")
    assert scan_package(package, all_files=False).files_scanned == 2


def test_realistic_package_as_a_zip_given_on_the_command_line(tmp_path: Path) -> None:
    realistic_package(tmp_path)
    code = tmp_path / "build" / "orders"
    archive = tmp_path / "orders.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(code.rglob("*")):
            if path.is_file():
                bundle.write(path, path.relative_to(code).as_posix())
    report = lambdasec.scan_paths([archive], rules=["SEC003", "INT008"], now=NOW)
    assert report.coverage_gaps == []
    assert sorted((f.rule_id, f.evidence["path"], f.evidence["kind"]) for f in report.findings) == [
        ("SEC003", "app.py", "aws-access-key-pair"), ("SEC003", "app.py", "database-url-password"),
        ("SEC003", "app.py", "github-token"),
    ]
    assert all(f.message.endswith(("app.py line 5", "app.py line 6", "app.py line 7")) for f in report.findings)


def test_code_secret_is_a_value_object() -> None:
    assert CodeSecret("a.py", 1, 2, "jwt", HIGH, "ey****3U") == CodeSecret("a.py", 1, 2, "jwt", HIGH, "ey****3U")


# ---------------------------------------------------------------- the anchors find what the combined expression finds
PROVIDER_SAMPLES = [
    AWS_ID, GITHUB, "github" + "_pat_" + "11ABCDEFG0" * 4, "gl" + "pat-" + "x1Y2z3W4v5U6t7S8r9Q0", SLACK,
    "https://hooks.slack.com/services/T0" + "4K7QZ9/B0J8X2L1/Zr8Qw3Lx9Vt2Np5Ks7Hm4Jc1", STRIPE,
    "rk" + "_test_" + "4eC39HqLyjWDarjtT1zdp7dc", "S" + "K" + "9f3a1c7e5b2d8f4a6c0e9b1d3f5a7c2e", SENDGRID, GOOGLE,
    JWT, "np" + "m_" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2", "GOC" + "SPX-" + "Zr8Qw3Lx9Vt2Np5Ks7Hm4Jc1Qw3L",
    "Ab1" + "8Q~" + "Zr8Qw3Lx9Vt2Np5Ks7Hm4Jc1Qw3Lx9V", "pypi-AgEIcHlwaS5vcmc" + "Zr8Qw3Lx9Vt2Np5Ks7Hm4Jc1" * 3,
    "https://discord.com/api/webhooks/" + "1234509876/" + "Zr8Qw3Lx9Vt2Np5Ks7Hm4Jc1" * 3,
    "AccountKey=" + "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy==", "mongodb+srv://app:" + DB_PASSWORD + "@c0.mongo.net",
    "https://bob:" + DB_PASSWORD + "@files.internal/dav", "sk" + "-proj-" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8",
    f"aws_secret_access_key = {AWS_SECRET}",
]


@pytest.mark.parametrize("sample", PROVIDER_SAMPLES)
def test_each_provider_format_is_found_through_its_anchor(sample: str) -> None:
    from lambdasec.analysis.secrets import detect

    expected = detect("NOTE", sample)
    assert expected is not None
    (secret,) = scan_text(f"note {sample} end\n", "notes.cfg")
    assert (secret.kind, secret.preview) == (expected.kind, expected.preview)


def test_every_provider_format_has_an_anchor() -> None:
    from lambdasec.analysis import secrets

    assert [fmt.kind for fmt in secrets._FORMATS if not fmt.anchors] == []
