"""GOV001 and what it reads: tags from every source, Terraform's provider default_tags through modules, and the
required_tags option (its fail/pass fixtures are in src/lambdasec/rules/fixtures)."""

from __future__ import annotations

from pathlib import Path

import pytest

import lambdasec
from lambdasec.collectors.discovery import collect
from lambdasec.collectors.options import CollectOptions
from lambdasec.config import ConfigError, load_config

from .conftest import FIXTURE_CLOCK

FUNCTION = """\
resource "aws_lambda_function" "{name}" {{
  {provider}function_name = "{name}"
  runtime       = "python3.13"
  handler       = "index.handler"
  role          = "arn:aws:iam::123456789012:role/r"
  s3_bucket     = "b"
  s3_key        = "k.zip"
  {tags}
}}
"""


def _function(name: str, provider: str = "", tags: str = "") -> str:
    return FUNCTION.format(name=name, provider=f"provider = {provider}\n  " if provider else "", tags=tags)


def _tags(directory: Path) -> dict[str, object]:
    inventory, _ = collect([directory], CollectOptions())
    assert inventory.coverage_gaps == []
    return {fn.id: (fn.tags, fn.tags_unknown.expression if fn.tags_unknown else None) for fn in inventory.functions}


def test_terraform_default_tags_reach_functions_through_providers_and_modules(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'provider "aws" {\n  default_tags {\n    tags = { owner = "a", env = var.env }\n  }\n}\n'
        'provider "aws" {\n  alias = "west"\n  default_tags {\n    tags = { owner = "w" }\n  }\n}\n'
        'provider "aws" {\n  alias = "bare"\n}\n'
        'variable "env" {\n  default = "prod"\n}\n'
        + _function("own", tags='tags = { owner = "me", app = "x" }')
        + _function("west", provider="aws.west")
        + _function("bare", provider="aws.bare")
        + 'module "inherits" {\n  source = "./m"\n}\n'
        + 'module "passed" {\n  source = "./m"\n  providers = { aws = aws.west }\n}\n')
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "main.tf").write_text(_function("inner", tags="tags = var.extra")
                                            + 'variable "extra" {\n  default = null\n}\n')
    assert _tags(tmp_path) == {
        "aws_lambda_function.own": ({"owner": "me", "env": "prod", "app": "x"}, None),
        "aws_lambda_function.west": ({"owner": "w"}, None),
        "aws_lambda_function.bare": ({}, None),
        "module.inherits.aws_lambda_function.inner": ({"owner": "a", "env": "prod"}, None),
        "module.passed.aws_lambda_function.inner": ({"owner": "w"}, None),
    }


def test_tags_not_known_statically_are_not_evaluated(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(_function("f", tags="tags = data.external.t.result") + _function("g"))
    (tmp_path / ".lambdasec.toml").write_text('required_tags = ["owner"]\n')
    report = lambdasec.scan_paths([tmp_path / "main.tf"], rules=["GOV001"], now=FIXTURE_CLOCK,
                                  config_file=tmp_path / ".lambdasec.toml")
    assert [(f.resource_id, f.message) for f in report.findings] == [
        ("aws_lambda_function.g", "Function aws_lambda_function.g lacks the required tag(s) owner")]
    assert [(n.resource_id, n.rule_id) for n in report.not_evaluated] == [("aws_lambda_function.f", "GOV001")]


def test_cloudformation_tags_behind_a_condition_are_not_evaluated(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(
        "Parameters:\n  Tagged: {Type: String}\nConditions:\n  On: !Equals [!Ref Tagged, 'yes']\nResources:\n"
        "  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Runtime: python3.13\n      Handler: i.h\n"
        "      Role: arn:aws:iam::123456789012:role/r\n      Code: {S3Bucket: b, S3Key: k}\n"
        "      Tags: !If [On, [{Key: owner, Value: a}], !Ref AWS::NoValue]\n")
    (tmp_path / ".lambdasec.toml").write_text('required_tags = ["owner"]\n')
    report = lambdasec.scan_paths([tmp_path / "t.yaml"], rules=["GOV001"], now=FIXTURE_CLOCK,
                                  config_file=tmp_path / ".lambdasec.toml")
    assert report.findings == []
    assert [n.resource_id for n in report.not_evaluated] == ["Fn"]


def test_without_the_option_the_rule_does_not_run(tmp_path: Path) -> None:
    """Nothing to check: not run, so no report (JUnit, SARIF, HTML) lists it as checked and passed."""
    (tmp_path / "main.tf").write_text(_function("f"))
    report = lambdasec.scan_paths([tmp_path], now=FIXTURE_CLOCK)
    assert "GOV001" not in report.rules_run
    assert [f for f in report.findings if f.rule_id == "GOV001"] == []
    (tmp_path / ".lambdasec.toml").write_text('required_tags = ["owner"]\n')
    configured = lambdasec.scan_paths([tmp_path / "main.tf"], now=FIXTURE_CLOCK,
                                      config_file=tmp_path / ".lambdasec.toml")
    assert "GOV001" in configured.rules_run
    assert [f.message for f in configured.findings if f.rule_id == "GOV001"] == [
        "Function aws_lambda_function.f lacks the required tag(s) owner"]


@pytest.mark.parametrize(("text", "loaded"), [
    ('required_tags = ["owner", "team"]\n', {"owner": [], "team": []}),
    ('[required_tags]\nowner = []\nenv = ["prod", "dev"]\n', {"owner": [], "env": ["prod", "dev"]}),
])
def test_required_tags_option(tmp_path: Path, text: str, loaded: dict[str, list[str]]) -> None:
    (tmp_path / ".lambdasec.toml").write_text(text)
    assert load_config(None, tmp_path).rule_options["required_tags"] == loaded


@pytest.mark.parametrize("text", ['required_tags = "owner"\n', "required_tags = [1]\n",
                                  '[required_tags]\nowner = "x"\n'])
def test_a_malformed_required_tags_option_is_an_error(tmp_path: Path, text: str) -> None:
    (tmp_path / ".lambdasec.toml").write_text(text)
    with pytest.raises(ConfigError, match="'required_tags' must be a list of tag keys or a table"):
        load_config(None, tmp_path)
