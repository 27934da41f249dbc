"""The layer lock file: `lambdasec layers lock` / `verify`, and INT011-INT013 in `lambdasec scan`."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import lambdasec
from lambdasec.analysis.layer_lock import (
    LayerCollector,
    LayerUse,
    LockFileError,
    new_lock,
    parse_lock,
    unpinned,
)
from lambdasec.collectors.discovery import collect
from lambdasec.collectors.options import CollectOptions
from lambdasec.commands.layers import layers, scan_layers, write_lock
from lambdasec.engine import ScanSettings, scan
from lambdasec.model.findings import Confidence, Report
from lambdasec.model.inventory import Function
from lambdasec.model.location import Location
from lambdasec.model.values import ResourceRef, Unresolved

from .conftest import FIXTURE_CLOCK

EPOCH = "1795910400"  # 2026-11-29T00:00:00Z
POWERTOOLS = "arn:aws:lambda:eu-west-1:123456789012:layer:powertools"

SAM = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  DepsLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layers/deps
      Description: shared dependencies
  Api:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src
      Layers:
        - !Ref DepsLayer
        - {powertools}:4
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src
      Layers:
        - !Ref DepsLayer
""".replace("{powertools}", POWERTOOLS)

TERRAFORM = """\
data "archive_file" "tools" {
  type        = "zip"
  source_dir  = "${path.module}/layer"
  output_path = "${path.module}/build/tools.zip"
}

resource "aws_lambda_layer_version" "tools" {
  layer_name = "tools"
  filename   = data.archive_file.tools.output_path
}

data "aws_lambda_layer_version" "insights" {
  layer_name = "arn:aws:lambda:eu-west-1:580247275435:layer:LambdaInsightsExtension"
  version    = 53
}

resource "aws_lambda_function" "reports" {
  function_name = "reports"
  runtime       = "python3.12"
  handler       = "app.handler"
  role          = "arn:aws:iam::123456789012:role/reports"
  s3_bucket     = "artifacts"
  s3_key        = "reports.zip"
  layers        = [aws_lambda_layer_version.tools.arn, data.aws_lambda_layer_version.insights.arn]
}
"""

SERVERLESS = """\
service: orders
provider:
  name: aws
  runtime: python3.12
layers:
  common:
    path: layers/common
functions:
  orders:
    handler: app.handler
    layers:
      - { Ref: CommonLambdaLayer }
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A SAM template, a Terraform module and a serverless service, each with a layer whose content is local."""
    root = tmp_path / "project"
    _write(root / "template.yaml", SAM)
    _write(root / "src" / "app.py", "def handler(event, context):\n    return None\n")
    _write(root / "layers" / "deps" / "python" / "deps.py", "VERSION = '1.0'\n")
    _write(root / "infra" / "main.tf", TERRAFORM)
    _write(root / "infra" / "layer" / "bin" / "tool.sh", "#!/bin/sh\necho tool\n")
    _write(root / "svc" / "serverless.yml", SERVERLESS)
    _write(root / "svc" / "layers" / "common" / "nodejs" / "common.js", "module.exports = {};\n")
    return root


def _cli(*args: str) -> Result:
    return CliRunner().invoke(layers, list(args), env={"SOURCE_DATE_EPOCH": EPOCH})


def _lock(root: Path, *extra: str) -> dict[str, object]:
    result = _cli("lock", str(root), *extra)
    assert result.exit_code == 0, result.stdout + result.stderr
    return json.loads((root / "lambdasec.lock").read_text())


def _scan(root: Path, rules: list[str], **options: object) -> Report:
    settings = ScanSettings(rules=rules, now=FIXTURE_CLOCK, rule_options=options)
    return scan([root], settings)


def _found(report: Report) -> list[tuple[str, str, str]]:
    return sorted((f.rule_id, f.resource_id, f.evidence.get("mismatch", "")) for f in report.findings)


# ---------------------------------------------------------------- the lock file
def test_lock_records_every_layer_with_its_key_version_digest_and_functions(project: Path) -> None:
    document = _lock(project)
    assert document["schema_version"] == 1
    assert (document["created"], document["generator"]) == ("2026-11-29", f"lambdasec {lambdasec.__version__}")
    entries = document["layers"]
    assert isinstance(entries, dict)
    assert sorted(entries) == [
        POWERTOOLS,
        "arn:aws:lambda:eu-west-1:580247275435:layer:LambdaInsightsExtension",
        "infra#aws_lambda_layer_version.tools",
        "svc/serverless.yml#common",
        "template.yaml#DepsLayer",  # SAM's generated id DepsLayer<hash> is not the key
    ]
    deps = entries["template.yaml#DepsLayer"]
    assert deps["kind"] == "template" and deps["versions"] == [] and deps["content"] == "layers/deps"
    assert deps["functions"] == ["template.yaml#Api", "template.yaml#Worker"]
    assert len(deps["sha256"]) == 64
    assert entries[POWERTOOLS] == {"kind": "arn", "versions": [4], "sha256": None, "content": None,
                                   "functions": ["template.yaml#Api"]}
    insights = entries["arn:aws:lambda:eu-west-1:580247275435:layer:LambdaInsightsExtension"]
    assert insights["versions"] == [53]  # the Terraform lookup pinned to version 53
    assert entries["infra#aws_lambda_layer_version.tools"]["content"] == "infra/layer"
    assert entries["svc/serverless.yml#common"]["functions"] == ["svc/serverless.yml#orders"]
    assert all(len(entry["sha256"]) == 64 for key, entry in entries.items() if entry["kind"] == "template")


def test_the_lock_text_is_sorted_indented_by_two_and_ends_with_a_newline(project: Path) -> None:
    _lock(project)
    text = (project / "lambdasec.lock").read_text()
    document = json.loads(text)
    assert text == json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert text.startswith('{\n  "created": "2026-11-29",\n  "generator": ')


def test_locking_twice_gives_byte_identical_files(project: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "first.lock", tmp_path / "second.lock"
    day = dt.date(2026, 11, 29)
    write_lock(scan_layers([project]), first, day)
    write_lock(scan_layers([project]), second, day)
    assert first.read_bytes() == second.read_bytes()


def test_an_up_to_date_lock_is_not_rewritten_even_on_another_day(project: Path) -> None:
    _lock(project)
    before = (project / "lambdasec.lock").read_bytes()
    result = write_lock(scan_layers([project]), project / "lambdasec.lock", dt.date(2031, 1, 1))
    assert not result.written
    assert (project / "lambdasec.lock").read_bytes() == before
    result = CliRunner().invoke(layers, ["lock", str(project)])
    assert result.exit_code == 0 and "up to date, not rewritten" in result.stdout
    assert (project / "lambdasec.lock").read_bytes() == before


def test_keys_do_not_depend_on_lines_nor_on_how_the_scan_was_started(project: Path) -> None:
    _lock(project)
    template = project / "template.yaml"
    shifted = SAM.replace("Resources:\n", "Description: lines shift\nResources:\n  # a comment\n")
    template.write_text(shifted.replace("shared dependencies", "renamed, so SAM hashes the layer id again"))
    assert _cli("verify", str(project)).exit_code == 0
    # The template scanned alone is relative to its own directory: the lock beside it is found and still matches.
    assert _cli("verify", str(template)).exit_code == 0
    assert _cli("verify", "--lock", str(project / "lambdasec.lock"), str(project / "infra")).exit_code == 0


# ---------------------------------------------------------------- verify
def test_lock_then_verify_round_trip(project: Path) -> None:
    _lock(project)
    result = _cli("verify", str(project))
    assert result.exit_code == 0, result.stdout
    assert result.stdout.endswith("5 of 5 layer(s) match, 0 mismatch(es), 0 unused lock entries\n")
    report = _scan(project, ["INT011", "INT012", "INT013"])
    assert report.findings == [] and report.coverage_gaps == []


def test_a_new_layer_is_not_locked(project: Path) -> None:
    _lock(project)
    _write(project / "template.yaml", SAM + f"        - {POWERTOOLS}-next:1\n")  # Worker's last layer
    result = _cli("verify", str(project))
    assert result.exit_code == 1
    assert f"new       {POWERTOOLS}-next: is not in the lock file (Worker)" in result.stdout
    assert _found(_scan(project, ["INT011", "INT012"])) == [("INT011", "Worker", "new")]


def test_a_new_template_layer_is_reported_on_the_layer_with_its_functions(project: Path) -> None:
    _lock(project)
    (project / "template.yaml").write_text(SAM.replace("DepsLayer", "SharedLayer"))
    report = _scan(project, ["INT011"])
    [finding] = report.findings
    assert finding.resource_id.startswith("SharedLayer") and finding.functions == ["Api", "Worker"]
    assert finding.location.file == "template.yaml" and finding.location.line == 4
    assert finding.message.startswith("Layer template.yaml#SharedLayer (used by Api, Worker) is not in the lock")
    rows = _cli("verify", str(project)).stdout
    assert "unused    template.yaml#DepsLayer: in lambdasec.lock but no longer used by any function" in rows


def test_a_changed_version_is_a_mismatch(project: Path) -> None:
    _lock(project)
    (project / "template.yaml").write_text(SAM.replace(f"{POWERTOOLS}:4", f"{POWERTOOLS}:5"))
    result = _cli("verify", str(project))
    assert result.exit_code == 1
    assert f"version   {POWERTOOLS}: uses version 5, the lock has 4 (Api)" in result.stdout
    report = _scan(project, ["INT011", "INT012"])
    assert _found(report) == [("INT012", "Api", "version")]
    assert report.findings[0].location.line == 17  # the layer's own line in the template
    assert report.findings[0].evidence["locked_versions"] == [4] and report.findings[0].evidence["versions"] == [5]


def test_a_terraform_lookup_moved_to_another_version_is_a_mismatch(project: Path) -> None:
    _lock(project)
    (project / "infra" / "main.tf").write_text(TERRAFORM.replace("version    = 53", "version    = 60"))
    assert _found(_scan(project, ["INT011", "INT012"])) == [("INT012", "aws_lambda_function.reports", "version")]


@pytest.mark.parametrize("layer_file", [
    "layers/deps/python/deps.py", "infra/layer/bin/tool.sh", "svc/layers/common/nodejs/common.js",
])
def test_editing_one_file_of_a_layer_directory_changes_its_digest(project: Path, layer_file: str) -> None:
    document = _lock(project)
    (project / layer_file).write_text((project / layer_file).read_text() + "# changed\n")
    report = _scan(project, ["INT011", "INT012"])
    [finding] = report.findings
    assert (finding.rule_id, finding.evidence["mismatch"]) == ("INT012", "content")
    locked = document["layers"][finding.evidence["layer"]]  # type: ignore[index]
    assert finding.evidence["locked_sha256"] == locked["sha256"] != finding.evidence["sha256"]
    result = _cli("verify", str(project))
    assert result.exit_code == 1 and result.stdout.count("content   ") == 1


def test_an_added_file_changes_the_digest_too(project: Path) -> None:
    _lock(project)
    _write(project / "layers" / "deps" / "python" / "sitecustomize.py", "import os\n")
    assert _found(_scan(project, ["INT012"])) == [("INT012", _sam_layer_id(project), "content")]


def _sam_layer_id(root: Path) -> str:
    inventory, _ = collect([root / "template.yaml"], CollectOptions())
    [layer] = inventory.layers
    return layer.id


def test_a_zip_layer_is_identified_by_the_sha256_of_its_bytes(tmp_path: Path) -> None:
    archive = tmp_path / "build" / "layer.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("python/lib.py", "A = 1\n")
    _write(tmp_path / "main.tf", TERRAFORM.replace("data.archive_file.tools.output_path", '"build/layer.zip"'))
    document = _lock(tmp_path)
    import hashlib

    entry = document["layers"][".#aws_lambda_layer_version.tools"]  # type: ignore[index]
    assert entry["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert entry["content"] == "build/layer.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("python/lib.py", "A = 2\n")
    assert _found(_scan(tmp_path, ["INT012"])) == [("INT012", "aws_lambda_layer_version.tools", "content")]


def test_a_lock_without_digest_reports_content_that_is_now_available(project: Path) -> None:
    _lock(project)
    document = json.loads((project / "lambdasec.lock").read_text())
    document["layers"]["template.yaml#DepsLayer"]["sha256"] = None
    (project / "lambdasec.lock").write_text(json.dumps(document))
    [finding] = _scan(project, ["INT012"]).findings
    assert "the lock records no digest for it" in finding.message


def test_unreadable_content_of_a_locked_layer_makes_the_comparison_incomplete(project: Path) -> None:
    import shutil

    _lock(project)
    shutil.rmtree(project / "layers" / "deps")
    result = _cli("verify", str(project))
    assert result.exit_code == 3
    assert "unread    template.yaml#DepsLayer: content not compared" in result.stdout
    report = _scan(project, ["INT012"])
    assert report.findings == []
    assert [gap.kind for gap in report.coverage_gaps] == ["missing-file", "package-missing"]
    assert [n.rule_id for n in report.not_evaluated] == ["INT012"]


def test_verify_json(project: Path) -> None:
    _lock(project)
    (project / "template.yaml").write_text(SAM.replace(f"{POWERTOOLS}:4", f"{POWERTOOLS}:5"))
    result = _cli("verify", str(project), "-f", "json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["result"] == "mismatch" and document["unpinned"] == [] and document["coverage_gaps"] == []
    [lock] = document["locks"]
    statuses = {layer["key"]: layer["status"] for layer in lock["layers"]}
    assert statuses[POWERTOOLS] == "version"
    assert sorted(set(statuses.values())) == ["ok", "version"]
    [powertools] = [layer for layer in lock["layers"] if layer["key"] == POWERTOOLS]
    assert powertools["problems"] == [{"kind": "version", "message": "uses version 5, the lock has 4",
                                       "functions": ["Api"]}]


def test_verify_reports_unpinned_references(project: Path) -> None:
    _write(project / "infra" / "main.tf", TERRAFORM.replace("  version    = 53\n", ""))
    _lock(project)
    result = _cli("verify", str(project))
    assert result.exit_code == 1
    assert ("unpinned  data.aws_lambda_layer_version.insights.arn: is looked up by "
            "data.aws_lambda_layer_version.insights, which has no version argument") in result.stdout


# ---------------------------------------------------------------- which lock, and usage errors
def test_without_a_lock_int011_and_int012_say_nothing(project: Path) -> None:
    report = _scan(project, ["INT011", "INT012"])
    assert (report.findings, report.coverage_gaps, report.not_evaluated) == ([], [], [])
    result = _cli("verify", str(project))
    assert result.exit_code == 2 and "no lambdasec.lock found" in result.stderr


def test_the_nearest_lock_up_to_the_scan_root_governs_a_template(project: Path, tmp_path: Path) -> None:
    assert _cli("lock", str(project / "infra")).exit_code == 0  # infra/lambdasec.lock: the Terraform layers only
    assert _found(_scan(project, ["INT011"])) == []  # the others have no lock: nothing to say about them
    _lock(project)  # project/lambdasec.lock: every layer
    (project / "infra" / "lambdasec.lock").write_text('{"schema_version": 1, "layers": {}}\n')
    assert _found(_scan(project, ["INT011"])) == [("INT011", "aws_lambda_function.reports", "new"),
                                                 ("INT011", "aws_lambda_layer_version.tools", "new")]
    # An explicit lock file governs every function.
    named = tmp_path / "named.lock"
    assert _cli("lock", str(project), "-o", str(named)).exit_code == 0
    assert _found(_scan(project, ["INT011"], layer_lock=str(named))) == []


def test_a_lock_that_cannot_be_read_is_a_coverage_gap_in_scan_and_a_usage_error_in_verify(project: Path) -> None:
    (project / "lambdasec.lock").write_text("{not json")
    report = _scan(project, ["INT011", "INT012"])
    assert report.findings == []
    assert [(gap.kind, gap.location.file) for gap in report.coverage_gaps] == [("lock-error", "lambdasec.lock")]
    assert "is not valid JSON" in report.coverage_gaps[0].message
    result = _cli("verify", str(project))
    assert result.exit_code == 2 and "is not valid JSON" in result.stderr
    assert _cli("verify", "--lock", str(project / "missing.lock"), str(project)).exit_code == 2


@pytest.mark.parametrize(("text", "error"), [
    ("[]", "a JSON object is expected"),
    ('{"schema_version": 2, "layers": {}}', "unsupported schema_version 2"),
    ('{"schema_version": true, "layers": {}}', "unsupported schema_version True"),
    ('{"schema_version": 1}', "'layers' must be an object"),
    ('{"schema_version": 1, "layers": {"x": {"kind": "zip"}}}', "kind must be one of"),
    ('{"schema_version": 1, "layers": {"x": {"kind": "arn", "versions": [0]}}}', "positive integers"),
    ('{"schema_version": 1, "layers": {"x": {"kind": "arn", "versions": "4"}}}', "positive integers"),
    ('{"schema_version": 1, "layers": {"x": {"kind": "template", "sha256": "ABC"}}}', "64 lowercase"),
    ('{"schema_version": 1, "layers": {"x": {"kind": "template", "functions": [1]}}}', "list of strings"),
])
def test_malformed_lock_files_are_refused(text: str, error: str) -> None:
    with pytest.raises(LockFileError, match=error):
        parse_lock(text)


def test_parse_and_render_round_trip(project: Path) -> None:
    scanned = scan_layers([project])
    current = LayerCollector(scanned.inventory, scanned.roots, project).layers(scanned.inventory.functions)
    lock = new_lock(current, dt.date(2026, 11, 29))
    assert parse_lock(lock.render()) == lock


def test_lock_usage_errors() -> None:
    runner = CliRunner()
    assert runner.invoke(layers, ["lock", "/nonexistent/path"]).exit_code == 2
    result = runner.invoke(layers, ["lock", "."], env={"SOURCE_DATE_EPOCH": "yesterday"})
    assert result.exit_code == 2 and "SOURCE_DATE_EPOCH" in result.stderr


def test_lock_needs_an_output_when_paths_are_in_several_directories(project: Path) -> None:
    result = _cli("lock", str(project / "infra"), str(project / "svc"))
    assert result.exit_code == 2 and "name the lock file with -o" in result.stderr


def test_lock_exits_3_when_layer_content_cannot_be_read(project: Path) -> None:
    import shutil

    shutil.rmtree(project / "svc" / "layers")
    result = _cli("lock", str(project))
    assert result.exit_code == 3
    document = json.loads((project / "lambdasec.lock").read_text())
    assert document["layers"]["svc/serverless.yml#common"]["sha256"] is None
    assert "coverage gap" in result.stderr


# ---------------------------------------------------------------- INT013
def _use(reference: str | Unresolved | ResourceRef, function_type: str = "AWS::Lambda::Function") -> LayerUse:
    fn = Function(key="t.yaml#Fn", id="Fn", type=function_type, location=Location("t.yaml", 1))
    return LayerUse(fn, 0, reference, fn.location)


@pytest.mark.parametrize(("reference", "function_type", "confidence"), [
    (f"{POWERTOOLS}", "AWS::Lambda::Function", Confidence.MEDIUM),
    ("{{resolve:ssm:/layers/deps}}", "AWS::Lambda::Function", Confidence.HIGH),
    ("{{resolve:ssm:arn:aws:ssm:eu-west-1:123456789012:parameter/layers/deps}}", "AWS::Lambda::Function",
     Confidence.HIGH),
    (f"{POWERTOOLS}:{{{{resolve:ssm:/layers/deps-version}}}}", "AWS::Lambda::Function", Confidence.HIGH),
    ("/layers/deps", "AWS::Lambda::Function", Confidence.MEDIUM),  # an SSM parameter type's default
    (Unresolved("!Ref DepsArn", "AWS::SSM::Parameter::Value<String> parameter /layers/deps, read at deploy time"),
     "AWS::Lambda::Function", Confidence.HIGH),
    (Unresolved("${ssm:/layers/deps}", "read from SSM Parameter Store at deploy time"), "serverless:function",
     Confidence.HIGH),
    (Unresolved("${cf(eu-west-1):layers.DepsArn}", "another stack's output"), "serverless:function",
     Confidence.HIGH),
    (Unresolved(f"{POWERTOOLS}:${{ssm:/layers/deps-version}}", "deploy time"), "serverless:function",
     Confidence.HIGH),
    (Unresolved("arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:layer:deps:"
                "${module.m.data.aws_lambda_layer_version.deps.version}", "no version"), "aws_lambda_function",
     Confidence.HIGH),
])
def test_unpinned_references(reference: str | Unresolved, function_type: str, confidence: Confidence) -> None:
    found = unpinned(_use(reference, function_type))
    assert found is not None and found.confidence == confidence


@pytest.mark.parametrize(("reference", "function_type"), [
    (f"{POWERTOOLS}:4", "AWS::Lambda::Function"),
    ("{{resolve:ssm:/layers/deps:3}}", "AWS::Lambda::Function"),
    (ResourceRef("t.yaml#DepsLayer"), "AWS::Lambda::Function"),
    (Unresolved("arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:layer:deps:7", "deploy time"),
     "AWS::Lambda::Function"),
    (Unresolved(f"{POWERTOOLS}:${{LayerVersion}}", "parameter"), "AWS::Lambda::Function"),  # an input, not drift
    (Unresolved("!Ref LayerArn", "parameter without a default value"), "AWS::Lambda::Function"),
    (Unresolved("${env:LAYER_ARN}", "environment of the deploying machine"), "serverless:function"),
    ("/layers/deps", "aws_lambda_function"),  # not an SSM parameter type outside CloudFormation
])
def test_pinned_or_undecidable_references(reference: str | Unresolved | ResourceRef, function_type: str) -> None:
    assert unpinned(_use(reference, function_type)) is None


def test_terraform_layer_lookups_become_the_arn_they_evaluate_to(tmp_path: Path) -> None:
    _write(tmp_path / "main.tf", """\
data "aws_lambda_layer_version" "by_arn" {
  layer_name = "arn:aws:lambda:eu-west-1:111122223333:layer:vendor"
  version    = 4
}
data "aws_lambda_layer_version" "by_name" {
  layer_name = "deps"
  version    = 2
}
data "aws_lambda_layer_version" "latest" {
  layer_name = "arn:aws:lambda:eu-west-1:111122223333:layer:vendor"
}
resource "aws_lambda_function" "fn" {
  function_name = "fn"
  runtime       = "python3.12"
  handler       = "app.handler"
  role          = "arn:aws:iam::123456789012:role/fn"
  s3_bucket     = "artifacts"
  s3_key        = "fn.zip"
  layers = [data.aws_lambda_layer_version.by_arn.arn, data.aws_lambda_layer_version.by_name.arn,
            data.aws_lambda_layer_version.latest.arn, data.aws_lambda_layer_version.latest.version]
}
""")
    inventory, _ = collect([tmp_path], CollectOptions())
    [fn] = inventory.functions
    assert fn.layers[0] == "arn:aws:lambda:eu-west-1:111122223333:layer:vendor:4"
    assert isinstance(fn.layers[1], Unresolved)
    assert fn.layers[1].expression == "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:layer:deps:2"
    assert isinstance(fn.layers[2], Unresolved)
    assert fn.layers[2].expression == ("arn:aws:lambda:eu-west-1:111122223333:layer:vendor:"
                                       "${data.aws_lambda_layer_version.latest.version}")
    assert fn.layers[3] == ResourceRef(".#data.aws_lambda_layer_version.latest", "version")  # not an ARN: left
    report = lambdasec.scan_paths([tmp_path], rules=["INT013", "INT004"], now=FIXTURE_CLOCK)
    # INT004 now sees the vendor account behind the lookups (a ResourceRef used to count as the deployer's own).
    assert sorted((f.rule_id, f.location.line) for f in report.findings) == [
        ("INT004", 19), ("INT004", 20), ("INT013", 20)]


def test_lambdasec_scan_finds_the_lock_or_takes_it_from_the_command_line(project: Path, tmp_path: Path) -> None:
    from lambdasec.cli import main

    def scan_exit(*args: str) -> int:
        return CliRunner().invoke(main, ["scan", str(project), "--rule", "INT011", "--rule", "INT012", "-q",
                                         *args]).exit_code

    elsewhere = tmp_path / "elsewhere.lock"
    _lock(project)
    assert _cli("lock", str(project), "-o", str(elsewhere)).exit_code == 0  # keys relative to its own directory
    (project / "layers" / "deps" / "python" / "deps.py").write_text("VERSION = '6.6.6'\n")
    result = CliRunner().invoke(main, ["scan", str(project), "--rule", "INT012", "-f", "json"])
    assert result.exit_code == 1
    [finding] = json.loads(result.stdout)["findings"]
    assert (finding["rule_id"], finding["evidence"]["layer"]) == ("INT012", "template.yaml#DepsLayer")
    (project / "lambdasec.lock").unlink()
    assert scan_exit() == 0  # no lock in play
    assert scan_exit("--lock", str(elsewhere)) == 1
    assert json.loads(elsewhere.read_text())["layers"]["project/template.yaml#DepsLayer"]["kind"] == "template"
    assert scan_exit("--lock", str(tmp_path / "none.lock")) == 2
