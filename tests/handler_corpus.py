"""The handler corpus (tests/data/handlers/): each case is code plus the policy it needs, written out by hand.

A case directory holds the code (in ``code/`` when it spans several folders, else beside the expectation) and
``expected.json``:

  handler      the handler (module.function), as a template would give it
  environment  optional: the function's environment variables as a template gives them: a string, or
               {"ref": "OrdersTable"} / {"ref": "aws_sqs_queue.jobs", "attribute": "url"} for a reference to a
               template resource, or {"unresolved": "!ImportValue x"}
  policy       the exact IAM policy document the code needs
  free         calls that need no permission ("service.method")
  unmapped     calls without a known IAM action ("service.method (Operation)")
  notes        [kind, file, line] of every note, in order
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lambdasec.analysis.code_source import open_source
from lambdasec.analysis.function_code import FunctionCode, analyse
from lambdasec.analysis.least_privilege import NeededPolicy, needed_policy
from lambdasec.model.inventory import EnvVar, Function
from lambdasec.model.location import Location
from lambdasec.model.values import ResourceRef, Unresolved, Value

CORPUS = Path(__file__).parent / "data" / "handlers"


def cases(prefix: str) -> list[Path]:
    return sorted(path for path in CORPUS.iterdir() if path.is_dir() and path.name.startswith(prefix))


def expected(case: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((case / "expected.json").read_text())
    return data


def _value(raw: Any) -> Value:
    if isinstance(raw, str):
        return raw
    if "ref" in raw:
        file = "main.tf" if "." in raw["ref"] else "template.yaml"
        return ResourceRef(f"{file}#{raw['ref']}", raw.get("attribute"))
    return Unresolved(raw["unresolved"], "known at deploy time")


def _function(environment: dict[str, Any]) -> Function:
    fn = Function(key="template.yaml#Fn", id="Fn", type="AWS::Lambda::Function",
                  location=Location("template.yaml", 1))
    fn.environment = {name: EnvVar(name, _value(raw), Location("template.yaml", 2))
                      for name, raw in environment.items()}
    return fn


def run(case: Path, language: str) -> NeededPolicy:
    spec = expected(case)
    code_dir = case / "code" if (case / "code").is_dir() else case
    source = open_source(code_dir)
    analysis = analyse(FunctionCode(source, code_dir.name, spec["handler"], language))
    function = _function(spec["environment"]) if "environment" in spec else None
    return needed_policy(analysis, function, None)


def observed(policy: NeededPolicy) -> dict[str, Any]:
    """What a case's expectation describes, taken from the analysis."""
    return {
        "policy": policy.document(),
        "free": [f"{call.service}.{call.method}" for call, _ in policy.free],
        "unmapped": [u.call for u in policy.unmapped],
        "notes": [[n.kind, n.location.file, n.location.line] for n in policy.notes],
    }
