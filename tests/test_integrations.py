"""The pre-commit hook (.pre-commit-hooks.yaml) and the GitHub Action (action.yml), offline: their structure, and
their commands run the way pre-commit and the Actions runner would (docs/integrations.md)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import click
import pytest
import yaml

from .conftest import FIXTURES, REPO

HOOKS_FILE = REPO / ".pre-commit-hooks.yaml"
ACTION_FILE = REPO / "action.yml"
DOCS_FILE = REPO / "docs" / "integrations.md"

# Options of the hook's entry that `lambdasec scan` is still to get, with the number of values each takes. Until the
# CLI has one, the tests run the entry without it; the tests of what it adds are skipped until then.
PENDING_OPTIONS = {"--quiet-on-success": 0, "--relative-to": 1, "--tf-module-dirs": 0}

INSECURE = FIXTURES / "IAM001.fail.yaml"  # a role allowing '*' on '*' (critical), line 15
CLEAN = FIXTURES / "OBS003.pass.yaml"  # a CloudTrail trail: nothing to report
UNRELATED = {  # YAML and JSON files of other tools that the hook's file pattern lets through
    ".github/workflows/ci.yml": """\
name: ci
on: [push, pull_request]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
      - run: pytest
""",
    "package.json": '{"name": "orders", "version": "1.0.0", "dependencies": {"left-pad": "^1.3.0"}}\n',
    "docker-compose.yml": "services:\n  web:\n    image: nginx:1.27\n    ports: ['8080:80']\n",
    "k8s/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n---\n"
                       "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n",
    "tsconfig.json": '{\n  // comments: not JSON\n  "compilerOptions": {"strict": true,},\n}\n',
    "mkdocs.yml": "site_name: docs\nmarkdown_extensions:\n  - pymdownx.emoji:\n"
                  "      emoji_index: !!python/name:material.extensions.emoji.twemoji\n",
    "chart/templates/service.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\n",
}
BROKEN_TEMPLATE = 'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Fn: [unclosed\n'
IAM_TF = """\
resource "aws_iam_role" "fn" {
  name = "orders-function"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "lambda.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role_policy" "everything" {
  name   = "everything"
  role   = aws_iam_role.fn.id
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }] })
}
"""
LAMBDA_TF = """\
resource "aws_lambda_function" "orders" {
  function_name = "orders"
  role          = aws_iam_role.fn.arn
  runtime       = "python3.13"
  handler       = "index.handler"
  s3_bucket     = "artifacts-123456789012"
  s3_key        = "orders.zip"
}
"""


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _hook() -> dict[str, Any]:
    hooks = _load(HOOKS_FILE)
    assert isinstance(hooks, list) and len(hooks) == 1
    hook: dict[str, Any] = hooks[0]
    return hook


def _scan_options() -> set[str]:
    from lambdasec.cli import main

    command = main.get_command(click.Context(main), "scan")
    assert command is not None
    return {name for param in command.params for name in (*param.opts, *param.secondary_opts)}


def _without_pending(words: list[str]) -> list[str]:
    known, kept, skip = _scan_options(), [], 0
    for word in words:
        if skip:
            skip -= 1
        elif word in PENDING_OPTIONS and word not in known:
            skip = PENDING_OPTIONS[word]
        else:
            kept.append(word)
    return kept


def run_hook(repo: Path, files: list[str], args: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """What pre-commit runs: shlex.split(entry) + the hook's args + the file names, from the repository root.
    `lambdasec` is the console script of the hook's environment: here, this interpreter's `-m lambdasec`."""
    words = shlex.split(_hook()["entry"])
    assert words[0] == "lambdasec"
    command = [sys.executable, "-m", "lambdasec", *_without_pending(words[1:]), *(args or []), *files]
    return subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=120)


def _write(repo: Path, files: dict[str, str]) -> list[str]:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text, encoding="utf-8")
    return list(files)


# --- .pre-commit-hooks.yaml -----------------------------------------------------------------------------------------

def test_hook_manifest() -> None:
    hook = _hook()
    assert {"id", "name", "entry", "language"} <= hook.keys()
    assert hook["id"] == "lambdasec"
    assert hook["language"] == "python"
    assert hook["entry"] == "lambdasec scan --quiet-on-success --relative-to . --tf-module-dirs"
    assert hook["pass_filenames"] is True
    assert hook["require_serial"] is True  # one report; a Terraform module read once (docs/integrations.md)
    assert hook["types"] == ["text"]
    assert hook["files"] == r"(?i)\.(ya?ml|json|template|tf)$"
    assert hook["exclude"] == r"(^|/)(node_modules|\.aws-sam|\.serverless|\.terraform)/"


@pytest.mark.parametrize(("name", "passed"), [
    ("template.yaml", True), ("infra/app.YML", True), ("stack.template", True), ("main.tf", True),
    ("main.tf.json", True), ("plan.json", True), ("serverless.yml", True), ("svc/serverless.json", True),
    (".github/workflows/ci.yml", True), ("package.json", True), ("docker-compose.yml", True),
    ("serverless.ts", False), ("serverless.js", False), ("README.md", False), ("prod.tfvars", False),
    ("src/app.py", False), ("node_modules/pkg/template.yaml", False), (".aws-sam/build/template.yaml", False),
    (".terraform/modules/vpc/main.tf", False), ("svc/.serverless/cloudformation-template-update-stack.json", False),
])
def test_hook_file_pattern(name: str, passed: bool) -> None:
    hook = _hook()
    assert (bool(re.search(hook["files"], name)) and not re.search(hook["exclude"], name)) == passed


def test_hook_manifest_as_pre_commit_reads_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clientlib = pytest.importorskip("pre_commit.clientlib", reason="pre-commit is not installed")
    from pre_commit.commands.run import Classifier

    (manifest,) = clientlib.load_manifest(str(HOOKS_FILE))  # raises on an invalid manifest
    names = _write(tmp_path, {**UNRELATED, "infra/template.yaml": "x: 1\n", "main.tf": "", "README.md": "# r\n",
                              "node_modules/p/template.yaml": "x: 1\n", "serverless.ts": "export {}\n"})
    monkeypatch.chdir(tmp_path)
    chosen = Classifier(names).filenames_for_hook(SimpleNamespace(**manifest))
    assert sorted(chosen) == sorted([*UNRELATED, "infra/template.yaml", "main.tf"])


@pytest.mark.skip(reason="pre-commit run/try-repo needs a git repository, and installs the hook's environment "
                         "(lambdasec and its dependencies) with pip from PyPI: not possible offline")
def test_pre_commit_try_repo() -> None:
    """Would run `pre-commit try-repo <this repo> lambdasec --files <template>` in a scratch git repository."""


def test_hook_fails_on_a_changed_insecure_template(tmp_path: Path) -> None:
    files = _write(tmp_path, {"infra/template.yaml": INSECURE.read_text(encoding="utf-8")})
    result = run_hook(tmp_path, files)
    assert (result.returncode, result.stderr) == (1, "")
    assert "IAM001" in result.stdout and "role-full-admin" in result.stdout
    assert "template.yaml:15" in result.stdout


def test_hook_passes_a_clean_template(tmp_path: Path) -> None:
    files = _write(tmp_path, {"infra/template.yaml": CLEAN.read_text(encoding="utf-8")})
    result = run_hook(tmp_path, files)
    assert (result.returncode, result.stderr) == (0, "")


def test_hook_passes_unrelated_yaml_and_json(tmp_path: Path) -> None:
    result = run_hook(tmp_path, _write(tmp_path, UNRELATED))
    assert (result.returncode, result.stderr) == (0, "")
    assert not re.search(r"\b[A-Z]{3}\d{3}\b", result.stdout) and "coverage gap" not in result.stdout


def test_hook_fails_on_a_template_that_does_not_parse(tmp_path: Path) -> None:
    result = run_hook(tmp_path, _write(tmp_path, {"template.yaml": BROKEN_TEMPLATE, **UNRELATED}))
    assert result.returncode == 3  # incomplete scan
    assert "parse-error" in result.stdout


def test_hook_entry_options_exist() -> None:
    entry = shlex.split(_hook()["entry"])
    assert {word for word in entry if word.startswith("-")} <= _scan_options()


def test_hook_prints_nothing_when_it_passes(tmp_path: Path) -> None:
    files = _write(tmp_path, {**UNRELATED, "infra/template.yaml": CLEAN.read_text(encoding="utf-8")})
    result = run_hook(tmp_path, files)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_hook_locations_are_repository_paths(tmp_path: Path) -> None:
    files = _write(tmp_path, {"a/template.yaml": INSECURE.read_text(encoding="utf-8"),
                              "b/template.yaml": (FIXTURES / "INT001.fail.yaml").read_text(encoding="utf-8")})
    result = run_hook(tmp_path, files)
    assert result.returncode == 1
    assert "a/template.yaml:15" in result.stdout and "b/template.yaml:" in result.stdout


def test_hook_reads_a_changed_tf_file_with_its_module(tmp_path: Path) -> None:
    _write(tmp_path, {"infra/iam.tf": IAM_TF, "infra/lambda.tf": LAMBDA_TF})
    result = run_hook(tmp_path, ["infra/lambda.tf"], ["--fail-on", "critical"])
    assert (result.returncode, result.stderr) == (1, "")
    assert "IAM001" in result.stdout  # the role of lambda.tf's function, declared in iam.tf


def test_hook_passes_a_serverless_file_of_another_cloud(tmp_path: Path) -> None:
    files = _write(tmp_path, {"serverless.yml": "service: gcf\nprovider:\n  name: google\n  runtime: nodejs20\n"
                                                "functions:\n  first:\n    handler: http\n"})
    result = run_hook(tmp_path, files)
    assert (result.returncode, result.stderr) == (0, "")


# --- action.yml -----------------------------------------------------------------------------------------------------

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_PINNED = re.compile(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@v\d+")
# Outputs of the actions the composite action uses (from their action.yml), keyed by the action.
_USED_OUTPUTS = {"actions/setup-python": {"python-version", "python-path", "cache-hit"}}


def _action() -> dict[str, Any]:
    action: dict[str, Any] = _load(ACTION_FILE)
    return action


def _steps() -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = _action()["runs"]["steps"]
    return steps


def _step(step_id: str) -> dict[str, Any]:
    (step,) = [s for s in _steps() if s.get("id") == step_id]
    return step


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def test_action_structure() -> None:
    action = _action()
    assert {"name", "description", "inputs", "outputs", "runs"} <= action.keys()
    assert action["runs"]["using"] == "composite"
    for name, spec in action["inputs"].items():
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", name) and spec["description"] and "default" in spec, name
        assert isinstance(spec["default"], str), name
    assert action["outputs"] == {
        "sarif-file": {"description": action["outputs"]["sarif-file"]["description"],
                       "value": "${{ steps.scan.outputs.sarif-file }}"},
        "exit-code": {"description": action["outputs"]["exit-code"]["description"],
                      "value": "${{ steps.scan.outputs.exit-code }}"},
    }
    uses = [step["uses"] for step in _steps() if "uses" in step]
    assert uses == ["actions/setup-python@v6", "github/codeql-action/upload-sarif@v4"]
    assert all(_PINNED.fullmatch(u) for u in uses)
    for step in _steps():
        assert ("uses" in step) != ("run" in step), step.get("name")
        if "run" in step:
            assert step["shell"] == "bash"
            assert "${{" not in step["run"], "inputs reach scripts through env, never pasted into them"


def test_action_uploads_sarif_even_when_the_scan_fails() -> None:
    upload = _steps()[-1]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["if"] == "always() && inputs.upload-sarif == 'true' && steps.scan.outputs.sarif-file != ''"
    assert upload["with"] == {"sarif_file": "${{ steps.scan.outputs.sarif-file }}",
                              "category": "${{ inputs.category }}"}


def test_action_expressions_refer_to_what_exists() -> None:
    action = _action()
    inputs = set(action["inputs"])
    used_inputs: set[str] = set()
    seen_steps: dict[str, dict[str, Any]] = {}
    for step in [*_steps(), {"outputs": action["outputs"]}]:  # the action's outputs read the steps too
        texts = [*_strings(step.get("with")), *_strings(step.get("env")), *_strings(step.get("outputs")),
                 step.get("if", ""), step.get("working-directory", "")]
        expressions = [e for text in texts for e in _EXPRESSION.findall(text)]
        expressions += [step["if"]] if "if" in step else []  # a step's `if` is an expression without ${{ }}
        for expression in expressions:
            for name in re.findall(r"\binputs\.([\w-]+)", expression):
                assert name in inputs, expression
                used_inputs.add(name)
            for step_id, output in re.findall(r"\bsteps\.([\w-]+)\.outputs\.([\w-]+)", expression):
                assert step_id in seen_steps, f"{expression}: no earlier step {step_id}"
                earlier = seen_steps[step_id]
                if "run" in earlier:
                    assert f'echo "{output}=' in earlier["run"], expression
                else:
                    assert output in _USED_OUTPUTS[earlier["uses"].split("@")[0]], expression
            leftover = re.sub(r"\b(inputs|steps)\.[\w.-]+|\b(github\.action_path|runner\.temp)\b|always\(\)|"
                              r"'[^']*'|&&|==|!=|\s", "", expression)
            assert leftover == "", expression
        if "id" in step:
            seen_steps[step["id"]] = step
    assert used_inputs == inputs  # no input is declared and then ignored


def test_action_against_the_schemastore_schema() -> None:
    vendor = pytest.importorskip("check_jsonschema.builtin_schemas.vendor",
                                 reason="check-jsonschema (which ships the schema) is not installed")
    _validate(_action(), Path(vendor.__file__).parent / "github-actions.json")


def _validate(document: Any, schema_file: Path) -> None:
    import jsonschema

    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    errors = [e.message for e in jsonschema.validators.validator_for(schema)(schema).iter_errors(document)]
    assert errors == []


def _context(temp: Path, **inputs: str) -> dict[str, str]:
    """Values of the ${{ }} expressions of the action, as the runner would evaluate them for these inputs."""
    declared = _action()["inputs"]
    assert inputs.keys() <= declared.keys()
    values = {f"inputs.{name}": inputs.get(name, spec["default"]) for name, spec in declared.items()}
    return {**values, "github.action_path": str(REPO), "runner.temp": str(temp),
            "steps.install.outputs.python": sys.executable, "steps.python.outputs.python-path": sys.executable}


def _evaluate(text: str, context: dict[str, str]) -> str:
    return _EXPRESSION.sub(lambda m: context[m.group(1)], text)


def run_step(step_id: str, workspace: Path, temp: Path, context: dict[str, str],
             path: str | None = None) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """A run step as the runner does it: `bash --noprofile --norc -eo pipefail` on the script, in the step's
    working directory, with the step's env and the runner's variables. Returns the result and $GITHUB_OUTPUT."""
    step = _step(step_id)
    script = temp / f"{step_id}.sh"
    script.write_text(step["run"], encoding="utf-8")
    output = temp / f"{step_id}.output"
    output.write_text("", encoding="utf-8")
    env = {**os.environ, "NO_COLOR": "1", "RUNNER_TEMP": str(temp), "GITHUB_WORKSPACE": str(workspace),
           "GITHUB_OUTPUT": str(output), **{k: _evaluate(str(v), context) for k, v in step.get("env", {}).items()}}
    if path is not None:
        env["PATH"] = path
    cwd = workspace / _evaluate(step.get("working-directory", "."), context)
    result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=180)
    outputs = dict(line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines())
    return result, outputs


def _uris(sarif: dict[str, Any]) -> set[str]:
    run = sarif["runs"][0]
    locations = [loc for result in run["results"] for loc in result["locations"]]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    locations += [loc for note in notes for loc in note.get("locations", [])]
    return {loc["physicalLocation"]["artifactLocation"]["uri"] for loc in locations}


needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="the action's steps are bash scripts")


@needs_bash
def test_action_scan_step_writes_sarif_and_fails_on_findings(tmp_path: Path) -> None:
    context = _context(tmp_path, path="examples/sam-app")
    result, outputs = run_step("scan", REPO, tmp_path, context)
    sarif_file = tmp_path / "lambdasec-results" / "lambdasec.sarif"
    assert result.returncode == 1
    assert outputs == {"exit-code": "1", "sarif-file": str(sarif_file)}
    assert "IAM001" in result.stdout  # the table, in the log
    assert result.stdout.endswith("::error::lambdasec: findings at or above the fail-on severity (exit 1)\n")
    sarif = json.loads(sarif_file.read_text(encoding="utf-8"))
    uris = _uris(sarif)
    # Relative to the repository, as code scanning needs, not to the scanned directory.
    assert "examples/sam-app/template.yaml" in uris
    assert all(uri.startswith("examples/sam-app/") for uri in uris), uris


@needs_bash
def test_action_scan_step_inputs_reach_lambdasec(tmp_path: Path) -> None:
    context = _context(tmp_path, path="examples/sam-app/template.yaml", **{
        "fail-on": "none", "severity": "high", "args": "--skip-rule 'IAM001' --min-confidence high",
        "output-dir": str(tmp_path / "reports")})
    result, outputs = run_step("scan", REPO, tmp_path, context)
    sarif_file = tmp_path / "reports" / "lambdasec.sarif"
    assert (result.returncode, outputs) == (0, {"exit-code": "0", "sarif-file": str(sarif_file)})
    sarif = json.loads(sarif_file.read_text(encoding="utf-8"))
    assert all(uri.startswith("examples/sam-app/") for uri in _uris(sarif))  # a file's folder is the scan root
    results = sarif["runs"][0]["results"]
    assert results and "IAM001" not in {r["ruleId"] for r in results}
    assert {r["properties"]["severity"] for r in results} <= {"critical", "high"}
    assert {r["properties"]["confidence"] for r in results} == {"high"}
    assert "::error::" not in result.stdout


@needs_bash
def test_action_scan_step_incomplete_scan_fails_and_is_uploaded(tmp_path: Path) -> None:
    workspace, temp = tmp_path / "repo", tmp_path / "temp"
    temp.mkdir()
    _write(workspace, {"infra/template.yaml": BROKEN_TEMPLATE, "infra/ok.yaml": CLEAN.read_text(encoding="utf-8")})
    context = _context(temp, **{"working-directory": "infra", "fail-on": "none"})
    result, outputs = run_step("scan", workspace, temp, context)
    sarif_file = temp / "lambdasec-results" / "lambdasec.sarif"
    assert (result.returncode, outputs) == (3, {"exit-code": "3", "sarif-file": str(sarif_file)})
    assert "::error::lambdasec: incomplete scan (exit 3): see the coverage gaps above" in result.stdout
    sarif = json.loads(sarif_file.read_text(encoding="utf-8"))
    assert _uris(sarif) == {"infra/template.yaml"}  # the gap's file, relative to the repository


@needs_bash
@pytest.mark.parametrize(("inputs", "message"), [
    ({"severity": "severe"}, "::error::lambdasec: usage error (exit 2): check the action's inputs and the config file"),
    ({"args": "--skip-rule 'IAM001"}, "::error::lambdasec: the args input is not valid shell syntax"),
])
def test_action_scan_step_usage_errors_fail_without_sarif(tmp_path: Path, inputs: dict[str, str],
                                                          message: str) -> None:
    stale = tmp_path / "lambdasec-results" / "lambdasec.sarif"
    stale.parent.mkdir()
    stale.write_text("{}", encoding="utf-8")
    result, outputs = run_step("scan", REPO, tmp_path, _context(tmp_path, path="examples/sam-app", **inputs))
    assert (result.returncode, outputs) == (2, {"exit-code": "2"})
    assert message in result.stdout
    assert not stale.exists()  # removed before anything else: an earlier run's report is never uploaded


FAKE_PYTHON = """\
#!/usr/bin/env bash
# Stands for a Python interpreter: logs its arguments; `-m venv DIR` makes DIR/bin/python, another fake.
echo "$0 $*" >> "$FAKE_LOG"
if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; fi
if [ "$1 $2 $3" = "-m lambdasec --version" ]; then echo "lambdasec, version 0.1.0"; fi
"""


@needs_bash
@pytest.mark.parametrize(("version", "installed"), [
    ("", str(REPO)), ("0.1.0", "lambdasec==0.1.0"), ("latest", "lambdasec"),
])
def test_action_install_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str, installed: str) -> None:
    fake = tmp_path / "python3.12"
    fake.write_text(FAKE_PYTHON, encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "log"
    context = {**_context(tmp_path, version=version), "steps.python.outputs.python-path": str(fake)}
    monkeypatch.setenv("FAKE_LOG", str(log))
    result, outputs = run_step("install", tmp_path, tmp_path, context)
    venv_python = tmp_path / "lambdasec-venv" / "bin" / "python"
    assert (result.returncode, result.stdout, outputs) == (0, "lambdasec, version 0.1.0\n",
                                                          {"python": str(venv_python)})
    assert log.read_text(encoding="utf-8").splitlines() == [
        f"{fake} -m venv {tmp_path / 'lambdasec-venv'}",
        f"{venv_python} -m pip install --disable-pip-version-check --quiet {installed}",
        f"{venv_python} -m lambdasec --version",
    ]


# --- docs/integrations.md -------------------------------------------------------------------------------------------

def _doc_blocks() -> list[Any]:
    text = DOCS_FILE.read_text(encoding="utf-8")
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)]


def test_docs_pre_commit_examples_match_the_manifest() -> None:
    remote, local = [b for b in _doc_blocks() if isinstance(b, dict) and "repos" in b]
    (repo,) = remote["repos"]
    assert repo["repo"] == "https://github.com/OWNER/lambdasec" and re.fullmatch(r"v\d+\.\d+\.\d+", repo["rev"])
    assert [h["id"] for h in repo["hooks"]] == [_hook()["id"]]
    (local_hook,) = local["repos"][0]["hooks"]
    hook = _hook()
    for key in ("id", "entry", "files", "exclude", "types", "require_serial"):
        assert local_hook[key] == hook[key], key
    clientlib = pytest.importorskip("pre_commit.clientlib", reason="pre-commit is not installed")
    import cfgv

    for config in (remote, local):
        cfgv.validate(config, clientlib.CONFIG_SCHEMA)


def test_docs_workflow_uses_the_action_as_declared() -> None:
    (workflow,) = [b for b in _doc_blocks() if isinstance(b, dict) and "jobs" in b]
    assert workflow["permissions"]["security-events"] == "write"
    steps = workflow["jobs"]["lambdasec"]["steps"]
    (ours,) = [step for step in steps if step.get("uses", "").startswith("OWNER/lambdasec@")]
    assert re.fullmatch(r"OWNER/lambdasec@v\d+\.\d+\.\d+", ours["uses"])  # a release tag
    assert all(_PINNED.fullmatch(step["uses"]) for step in steps if "uses" in step and step is not ours)
    assert set(ours["with"]) <= set(_action()["inputs"])
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", DOCS_FILE.read_text(encoding="utf-8"), re.MULTILINE))
    assert documented == set(_action()["inputs"])  # the inputs table lists every input
    vendor = pytest.importorskip("check_jsonschema.builtin_schemas.vendor",
                                 reason="check-jsonschema (which ships the schema) is not installed")
    # YAML reads the key `on` as True; the schema wants the text.
    _validate({("on" if k is True else k): v for k, v in workflow.items()},
              Path(vendor.__file__).parent / "github-workflows.json")
