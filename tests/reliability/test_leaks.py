"""Planted secrets never appear in full, nor their middle part, in anything lambdasec writes.

Every place a secret can sit (:data:`PLACES`: environment variables in CloudFormation, SAM Globals, Terraform and
the Serverless Framework; code in zip packages, inline code and layers; CloudTrail request parameters read by
`detect`; lines that break a parser) is checked against every output (:data:`OUTPUTS`: each report format on
stdout, the files of --output-dir, `render` of the saved JSON, baseline files, --history databases and `diff`,
logs at -vv). Each (place, output) pair is its own test id; :func:`coverage_matrix` lists them for
docs/reliability.md. A leak test proves nothing when the secret was never read: every place also has a test that
the scan found each planted secret (a finding naming its redacted preview), or, for broken files, the coverage gap
the error became. Live snapshots are covered by tests/aws/test_leaks_live.py.

Secrets are assembled from pieces so that secret scanners of this repository do not flag the test itself.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from lambdasec.cli import _extension, main
from lambdasec.reporters import FORMATS

from ..conftest import zip_bytes


@dataclass(frozen=True)
class Secret:
    planted: str  # the text written into the input
    sensitive: str = ""  # the part that is the secret, when the planted text holds more (a URL's password)

    @property
    def needles(self) -> tuple[str, ...]:
        """What no output may contain: the planted text, its secret part, and the middle 10 characters of it
        (redaction shows at most the first and last 2)."""
        secret = self.sensitive or self.planted
        middle = len(secret) // 2
        return self.planted, secret, secret[middle - 5:middle + 5]


def leaks(secrets: tuple[Secret, ...], text: str) -> list[str]:
    return [needle for secret in secrets for needle in secret.needles if needle in text]


# ---------------------------------------------------------------- the planted secrets, one set per place
AWS_SECRET_KEY = Secret("wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYCfnEnvKEY0")
NOECHO_DEFAULT = Secret("Hunter2-" + "CfnParam-Default-7q")
GITHUB_TOKEN = Secret("ghp_" + "SamGlobals8Lr2Vt6Xw0Ab4Cd8Ef2Gh6Ij0Kl")
TF_DB_PASSWORD = "Tf7Leak-" + "Terra4orm-3c2d"
TF_DATABASE_URL = Secret(f"postgres://app:{TF_DB_PASSWORD}@db.internal:5432/app", TF_DB_PASSWORD)
SLACK_TOKEN = "SlsLeakXyZ9" + "876abcdQwer"
SLACK_WEBHOOK = Secret("https://hooks.slack.com/services/" + f"T0123ABCD/B0456EFGH/{SLACK_TOKEN}", SLACK_TOKEN)
PEM_HEADER = "-----BEGIN RSA PRIVATE " + "KEY-----"
PEM_BODY = "MIIEowIBAAKCAQEAzipLEAKmN9vB3cX6yH1jG5fD" + "0sA9eT2uZq8LwYSiPeJLSi6k8"
PRIVATE_KEY = Secret(f"{PEM_HEADER}\n{PEM_BODY}\n-----END RSA PRIVATE {'KEY'}-----", PEM_BODY)
ZIP_AWS_KEY_ID = Secret("AKIA" + "ZIPLEAKQ3EGRTZ5L")
ZIP_AWS_KEY_SECRET = Secret("k7Rt2/Wq9xZa" + "ZipLeak4mN8vB3cX6yH1jG5fD0sA9")
INLINE_TOKEN = Secret("InL9kQ8Zr2" + "Qa5Hc3Wd7Ue1")
LAYER_PASSWORD = Secret("Lyr9#Leak" + "Q!w7zM")
LAYER_STRIPE = Secret("sk_live_" + "LayerLeak4eC39HqLyjWDarj")
CT_GITHUB = Secret("ghp_" + "CloudTrail" + "Pq7Ws3Ed5Rf9Tg1Yh4Uj8Ik2Ol6")
CT_DB_PASSWORD = "CtLeak-" + "Tra1lPass-1b2c"
CT_DATABASE_URL = Secret(f"postgres://app:{CT_DB_PASSWORD}@db.internal:5432/app", CT_DB_PASSWORD)
YAML_ERROR_TOKEN = Secret("YmlLeak3Bf6" + "Rt8Gy2Jm4Np0")
HCL_ERROR_PASSWORD = Secret("HclLeak5Dk1" + "Vs9Xe3Lq7Mz2")
HCL_ERROR_TOKEN = Secret("ghp_" + "HclError" + "Mn3Bv7Cx1Za5Sd9Fg2Hj6Kl4Qw8Er")
SLS_ERROR_KEY = Secret("sk_live_" + "SlsErrLeak" + "7Gh2Jk5Lm8Np3Qr")
JSON_ERROR_TOKEN = Secret("JsnLeak2Hw8" + "Pc4Tb6Kf1Ry9")
CT_ERROR_TOKEN = Secret("ghp_" + "CtBrokenLine" + "Yu2Io6Pa4Sd8Fg3Hj7Kl1Zx5Cv")
CT_ERROR_PASSWORD = Secret("CtBadType-" + "Wr0ngTyp3-77aa")

ROLE = "arn:aws:iam::123456789012:role/fn"
CLEAN_HANDLER = "def handler(event, context):\n    return 1\n"


def _zip(path: Path, files: dict[str, str]) -> None:
    path.write_bytes(zip_bytes(files))


def _cfn_env(root: Path) -> None:
    (root / "template.yaml").write_text(f"""\
Parameters:
  ApiKey:
    Type: String
    NoEcho: true
    Default: {NOECHO_DEFAULT.planted}
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: {ROLE}
      Code: {{ZipFile: "def handler(e, c): return 1"}}
      Environment:
        Variables:
          AWS_SECRET_ACCESS_KEY: {AWS_SECRET_KEY.planted}
          API_KEY: !Ref ApiKey
""")


def _sam_globals_env(root: Path) -> None:
    (root / "template.yaml").write_text(f"""\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Environment:
      Variables:
        GITHUB_TOKEN: {GITHUB_TOKEN.planted}
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      InlineCode: "def handler(e, c): return 1"
""")


def _terraform_env(root: Path) -> None:
    _zip(root / "fn.zip", {"app.py": CLEAN_HANDLER})
    (root / "main.tf").write_text(f"""\
resource "aws_lambda_function" "fn" {{
  function_name = "fn"
  runtime       = "python3.12"
  handler       = "app.handler"
  role          = "{ROLE}"
  filename      = "fn.zip"
  environment {{
    variables = {{
      DATABASE_URL = "{TF_DATABASE_URL.planted}"
    }}
  }}
}}
""")


def _serverless_env(root: Path) -> None:
    (root / "app.py").write_text(CLEAN_HANDLER)
    (root / "serverless.yml").write_text(f"""\
service: orders
provider:
  name: aws
  runtime: python3.12
  environment:
    SLACK_WEBHOOK: {SLACK_WEBHOOK.planted}
functions:
  fn:
    handler: app.handler
""")


def _zip_code(root: Path) -> None:
    handler = (f'aws_access_key_id = "{ZIP_AWS_KEY_ID.planted}"\n'
               f'aws_secret_access_key = "{ZIP_AWS_KEY_SECRET.planted}"\n'
               f'SIGNING_KEY = """{PRIVATE_KEY.planted}"""\n\n\n' + CLEAN_HANDLER)
    _zip(root / "orders.zip", {"app.py": handler})
    (root / "template.yaml").write_text("""\
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: orders.zip
""")


def _inline_code(root: Path) -> None:
    (root / "template.yaml").write_text(f"""\
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: {ROLE}
      Code:
        ZipFile: |
          PAYMENTS_API_TOKEN = "{INLINE_TOKEN.planted}"
          def handler(event, context):
              return 1
""")


def _layer(root: Path) -> None:
    _zip(root / "layer.zip", {"python/settings.py": f'SMTP_PASSWORD = "{LAYER_PASSWORD.planted}"\n',
                              "python/billing.py": f'STRIPE = "{LAYER_STRIPE.planted}"\n'})
    (root / "template.yaml").write_text("""\
Transform: AWS::Serverless-2016-10-31
Resources:
  Shared:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layer.zip
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      InlineCode: "def handler(e, c): return 1"
      Layers: [!Ref Shared]
""")


def _yaml_error(root: Path) -> None:
    (root / "template.yaml").write_text(f"""\
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Environment:
        Variables:
          API_TOKEN: "{YAML_ERROR_TOKEN.planted}: [unclosed
          STAGE: prod
""")


def _terraform_error(root: Path) -> None:
    # a value written without quotes, then a stray second token: the parser stops on the secret itself
    (root / "main.tf").write_text(f"""\
resource "aws_lambda_function" "fn" {{
  function_name = "fn"
  environment {{
    variables = {{
      DB_PASSWORD = {HCL_ERROR_PASSWORD.planted} {HCL_ERROR_PASSWORD.planted}
    }}
  }}
}}
""")
    # an unclosed string on the line of a secret: the parser stops at the start of the line
    (root / "token.tf").write_text(f"""\
locals {{ token = "{HCL_ERROR_TOKEN.planted}", broken = "unclosed }}
""")


def _serverless_error(root: Path) -> None:
    (root / "serverless.yml").write_text(f"""\
service: orders
provider:
  name: aws
  environment:
    STRIPE_KEY: {SLS_ERROR_KEY.planted}
   misplaced: {SLS_ERROR_KEY.planted}
functions:
  fn:
    handler: app.handler
""")


def _json_error(root: Path) -> None:
    (root / "template.json").write_text(
        '{"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": '
        f'{{"API_TOKEN": "{JSON_ERROR_TOKEN.planted}" "STAGE": "prod"}}}}}}}}}}\n')


def _trail_event(number: int, name: str, function: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "eventVersion": "1.09", "eventTime": f"2026-03-01T10:0{number}:00Z", "eventSource": "lambda.amazonaws.com",
        "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.50",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLEDEV", "accountId": "111122223333",
                         "arn": "arn:aws:iam::111122223333:user/dev", "userName": "dev"},
        "userAgent": "aws-cli/2.15.0", "eventID": f"leak-{number}", "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333", "readOnly": False, "responseElements": None,
        "requestParameters": {"functionName": function, **parameters},
    }


FOREIGN_LAYER = "arn:aws:lambda:us-east-1:444455556666:layer:telemetry:3"


def _cloudtrail_parameters(root: Path) -> None:
    records = [
        _trail_event(1, "UpdateFunctionConfiguration20150331v2", "orders", {
            "environment": {"variables": {"GITHUB_TOKEN": CT_GITHUB.planted}}, "layers": [FOREIGN_LAYER]}),
        _trail_event(2, "CreateFunction20150331", "billing", {
            "role": "arn:aws:iam::111122223333:role/billing", "layers": [FOREIGN_LAYER],
            "environment": {"variables": {"DATABASE_URL": CT_DATABASE_URL.planted}}}),
    ]
    (root / "trail.json").write_text(json.dumps({"Records": records}))


def _cloudtrail_error(root: Path) -> None:
    good = _trail_event(1, "UpdateFunctionConfiguration20150331v2", "orders", {"layers": [FOREIGN_LAYER]})
    cut = json.dumps(_trail_event(2, "UpdateFunctionConfiguration20150331v2", "orders", {
        "environment": {"variables": {"GITHUB_TOKEN": CT_ERROR_TOKEN.planted}}}))
    cut = cut[:cut.index(CT_ERROR_TOKEN.planted) + 20]  # the record ends inside the secret
    (root / "lines.jsonl").write_text(json.dumps(good) + "\n" + cut + "\n")
    wrong = _trail_event(3, "UpdateFunctionConfiguration20150331v2", "orders", {})
    wrong["requestParameters"] = f"DB_PASSWORD={CT_ERROR_PASSWORD.planted}"  # a string, not an object
    wrong["eventTime"] = {"password": CT_ERROR_PASSWORD.planted}
    (root / "records.json").write_text(json.dumps({"Records": [good, wrong]}))


@dataclass(frozen=True)
class Place:
    name: str
    command: str  # "scan" or "detect"
    plant: Callable[[Path], None]
    secrets: tuple[Secret, ...]
    # (rule id or coverage gap kind, text of its message): proof that each planted secret was read
    found: tuple[tuple[str, str], ...]

    @property
    def broken(self) -> bool:
        """The place is a file lambdasec cannot read (the scan is incomplete: exit 3)."""
        return self.name.endswith("-error")


PLACES = (
    Place("cfn-env", "scan", _cfn_env, (AWS_SECRET_KEY, NOECHO_DEFAULT), (
        ("SEC001", "AWS_SECRET_ACCESS_KEY holds a plaintext AWS secret access key (wJ****Y0)"),
        ("SEC002", "(Hu****7q)"))),
    Place("sam-globals-env", "scan", _sam_globals_env, (GITHUB_TOKEN,), (
        ("SEC001", "GITHUB_TOKEN holds a plaintext GitHub token (gh****Kl)"),)),
    Place("terraform-env", "scan", _terraform_env, (TF_DATABASE_URL,), (
        ("SEC001", "DATABASE_URL holds a plaintext database URL password (Tf****2d)"),)),
    Place("serverless-env", "scan", _serverless_env, (SLACK_WEBHOOK,), (
        ("SEC001", "SLACK_WEBHOOK holds a plaintext Slack webhook URL (ht****er)"),
        ("SEC003", "Slack webhook URL (ht****er) in the code of fn: serverless.yml line 6"))),
    Place("zip-package", "scan", _zip_code, (ZIP_AWS_KEY_ID, ZIP_AWS_KEY_SECRET, PRIVATE_KEY), (
        ("SEC003", "(AK****5L) in the code of Fn: orders.zip: app.py line 1"),
        ("SEC003", "Private key (--****--) in the code of Fn: orders.zip: app.py line 3"))),
    Place("inline-code", "scan", _inline_code, (INLINE_TOKEN,), (
        ("SEC003", "Token (In****e1) in the code of Fn: inline code line 1"),)),
    Place("layer", "scan", _layer, (LAYER_PASSWORD, LAYER_STRIPE), (
        ("SEC003", "(Ly****zM) in the code of Shared"),
        ("SEC003", "(sk****rj) in the code of Shared"))),
    Place("cloudtrail-parameters", "detect", _cloudtrail_parameters, (CT_GITHUB, CT_DATABASE_URL), (
        ("DET002", f'layers ["{FOREIGN_LAYER}"] set on function orders'),
        ("DET002", f'layers ["{FOREIGN_LAYER}"] set on function billing'))),
    Place("yaml-error", "scan", _yaml_error, (YAML_ERROR_TOKEN,), (
        ("parse-error", "template.yaml: invalid YAML: line 9"),)),
    Place("terraform-error", "scan", _terraform_error, (HCL_ERROR_PASSWORD, HCL_ERROR_TOKEN), (
        ("parse-error", "main.tf: invalid HCL"), ("parse-error", "token.tf: invalid HCL near 'locals { token ='"))),
    Place("serverless-error", "scan", _serverless_error, (SLS_ERROR_KEY,), (
        ("parse-error", "serverless.yml: invalid YAML: line 6"),)),
    Place("json-error", "scan", _json_error, (JSON_ERROR_TOKEN,), (
        ("parse-error", "template.json: invalid JSON: line 1"),)),
    Place("cloudtrail-error", "detect", _cloudtrail_error, (CT_ERROR_TOKEN, CT_ERROR_PASSWORD), (
        ("malformed-records", "lines.jsonl: 1 of 2 cloudtrail records are malformed"),
        ("malformed-records", "records.json: 1 of 2 cloudtrail records are malformed"))),
)
# report-<fmt>: the file --output-dir writes for each format (the same text `-f FMT` prints); stderr: what that run
# printed (coverage gaps); table-stdout and log-vv: `-vv scan -f table`, stdout and stderr apart
OUTPUTS = (*(f"report-{fmt}" for fmt in FORMATS), "stderr", "table-stdout", "log-vv", "render", "baseline",
           "history", "diff")


def outputs_of(place: Place) -> tuple[str, ...]:
    """The outputs that hold something for ``place``: a scan that read everything prints nothing on stderr."""
    return OUTPUTS if place.broken else tuple(output for output in OUTPUTS if output != "stderr")


def coverage_matrix() -> list[tuple[str, str]]:
    """Every (place, output) pair the leak test checks, for docs/reliability.md."""
    return [(place.name, output) for place in PLACES for output in outputs_of(place)]


# ---------------------------------------------------------------- running lambdasec once per place
@contextmanager
def _library_logging() -> Iterator[None]:
    """-vv configures lambdasec's logger for the process: back to the library default afterwards."""
    try:
        yield
    finally:
        logger = logging.getLogger("lambdasec")
        logger.handlers.clear()
        logger.setLevel(logging.NOTSET)
        logger.propagate = True


def _files(directory: Path) -> str:
    """Every byte of every file under ``directory`` (binary ones too: an SQLite database)."""
    return "".join(path.read_bytes().decode("latin-1") for path in sorted(directory.rglob("*")) if path.is_file())


def _invoke(args: list[str], exit_code: int) -> Result:
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == exit_code, (args, result.exit_code, result.output[-2000:])
    return result


class Outputs:
    """What lambdasec wrote for each place: run once per place (a failure too) and kept for the module's tests."""

    def __init__(self, work: pytest.TempPathFactory) -> None:
        self._work = work
        self._runs: dict[str, dict[str, str] | BaseException] = {}
        self.reports: dict[str, dict[str, Any]] = {}

    def of(self, place: Place) -> dict[str, str]:
        if place.name not in self._runs:
            try:
                self._runs[place.name] = self._run(place)
            except (AssertionError, OSError) as exc:
                self._runs[place.name] = exc
        run = self._runs[place.name]
        if isinstance(run, BaseException):
            raise AssertionError(f"running lambdasec on {place.name} failed: {run}")
        return run

    def _run(self, place: Place) -> dict[str, str]:
        work = self._work.mktemp(place.name)
        (work / "input").mkdir()
        (work / "empty").mkdir()
        place.plant(work / "input")
        code = 3 if place.broken else 0  # --fail-on none: clean, or incomplete (the broken files)
        every_format = [arg for fmt in FORMATS for arg in ("-f", fmt)]
        history = ["--history", str(work / "history" / "runs.sqlite")]
        (work / "history").mkdir()
        run = _invoke([*_command(place, work / "input"), *every_format, "--output-dir", str(work / "out"),
                       *history], code)
        texts = {f"report-{fmt}": (work / "out" / f"lambdasec.{_extension(fmt)}").read_text() for fmt in FORMATS}
        texts["stderr"] = run.stdout + run.stderr
        with _library_logging():
            verbose = _invoke(["-vv", *_command(place, work / "input"), "-f", "table"], code)
        texts["table-stdout"], texts["log-vv"] = verbose.stdout, verbose.stderr
        report = work / "out" / "lambdasec.json"
        self.reports[place.name] = json.loads(report.read_text())
        texts["render"] = self._render(report, work / "rendered")
        texts["baseline"] = _invoke(["baseline", "create", "--from-report", str(report), "-o",
                                     str(work / "baseline.json")], code).output
        texts["baseline"] += (work / "baseline.json").read_text()
        # a second run with nothing found: the history holds both, and every finding of the first is fixed
        _invoke([*_command(place, work / "empty"), "-f", "json", "-o", str(work / "empty.json"), *history], 0)
        texts["history"] = _files(work / "history")
        texts["diff"] = "".join(_invoke(args, 0).output for args in (
            ["diff", *history, "--color", "never"], ["diff", *history, "-f", "json"],
            ["diff", str(report), str(work / "empty.json")]))
        return texts

    @staticmethod
    def _render(report: Path, out: Path) -> str:
        text = "".join(_invoke(["render", str(report), "-f", fmt, "--show-suppressed", "--color", "never"], 0).output
                       for fmt in FORMATS)
        every_format = [arg for fmt in FORMATS for arg in ("-f", fmt)]
        text += _invoke(["render", str(report), *every_format, "--output-dir", str(out)], 0).output
        return text + _files(out)


def _command(place: Place, root: Path) -> list[str]:
    common = [str(root), "--fail-on", "none", "--color", "never"]
    if place.command == "scan":
        return ["scan", *common, "-j", "1", "--no-cache", "--show-suppressed"]
    return ["detect", *common]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Outputs:
    return Outputs(tmp_path_factory)


# ---------------------------------------------------------------- the tests
def test_every_report_format_is_checked() -> None:
    for name in ("scan", "detect", "render"):
        command = main.get_command(click.Context(main), name)
        assert command is not None
        option = next(param for param in command.params if param.name == "fmt")
        assert isinstance(option.type, click.Choice)
        assert tuple(option.type.choices) == FORMATS
    assert {"html", "sarif", "junit", "csv", "markdown", "asff", "ocsf"} <= set(FORMATS)


def test_secrets_and_their_middles_are_distinct() -> None:
    """No needle of one place occurs in another place's secrets: a leak is attributed to its place."""
    for place in PLACES:
        others = [secret.planted for other in PLACES if other is not place for secret in other.secrets]
        assert [secret for secret in place.secrets if leaks((secret,), "\n".join(others))] == []


@pytest.mark.parametrize("place", PLACES, ids=[place.name for place in PLACES])
def test_every_planted_secret_is_found(outputs: Outputs, place: Place) -> None:
    outputs.of(place)
    report = outputs.reports[place.name]
    seen = [(finding["rule_id"], finding["message"]) for finding in report["findings"]]
    seen += [(gap["kind"], gap["location"].get("file", "") + ": " + gap["message"]) for gap in report["coverage_gaps"]]
    missing = list(place.found)
    for kind, message in seen:
        match = next((want for want in missing if want[0] == kind and want[1] in message), None)
        if match is not None:
            missing.remove(match)
    assert missing == [], seen


@pytest.mark.parametrize(("place", "output"), [(place, output) for place in PLACES for output in outputs_of(place)],
                         ids=[f"{place}-{output}" for place, output in coverage_matrix()])
def test_no_output_holds_a_planted_secret(outputs: Outputs, place: Place, output: str) -> None:
    text = outputs.of(place)[output]
    assert text.strip() != ""
    if not place.broken and output != "log-vv":  # the finding about the secret reached this output (-vv logs steps)
        assert [rule for rule, _ in place.found if rule not in text] == []
    assert leaks(place.secrets, text) == []
