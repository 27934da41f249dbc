"""Small Terraform plan documents shaped like `terraform show -json` output (format 1.2).

A resource is given by its known values, its unknown attributes (`after_unknown` leaves) and its
configuration expressions; the helper lays them out in `planned_values`, `resource_changes` and
`configuration` the way Terraform does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Res:
    address: str
    values: dict[str, Any]
    expressions: dict[str, Any] = field(default_factory=dict)
    unknown: dict[str, Any] = field(default_factory=dict)
    sensitive: dict[str, Any] = field(default_factory=dict)
    mode: str = "managed"
    index: Any = None

    @property
    def type(self) -> str:
        return self._own().split(".")[-2]

    @property
    def name(self) -> str:
        return self._own().split(".")[-1].split("[")[0]

    @property
    def module(self) -> str:
        own = self._own()
        return self.address[: -len(own)].rstrip(".") if self.address != own else ""

    def _own(self) -> str:
        parts = self.address.split(".")
        while parts and parts[0] == "module":
            parts = parts[2:]
        return ".".join(parts)

    def state(self) -> dict[str, Any]:
        out: dict[str, Any] = {"address": self.address, "mode": self.mode, "type": self.type, "name": self.name}
        if self.index is not None:
            out["index"] = self.index
        out.update({"provider_name": "registry.terraform.io/hashicorp/aws", "schema_version": 0,
                    "values": self.values, "sensitive_values": self.sensitive})
        return out

    def change(self) -> dict[str, Any]:
        out: dict[str, Any] = {"address": self.address}
        if self.module:
            out["module_address"] = self.module
        out.update({"mode": self.mode, "type": self.type, "name": self.name})
        if self.index is not None:
            out["index"] = self.index
        out.update({
            "provider_name": "registry.terraform.io/hashicorp/aws",
            "change": {"actions": ["create"], "before": None, "after": self.values, "after_unknown": self.unknown,
                       "before_sensitive": False, "after_sensitive": self.sensitive},
        })
        return out

    def config(self) -> dict[str, Any]:
        return {"address": self._own().split("[")[0], "mode": self.mode, "type": self.type, "name": self.name,
                "provider_config_key": "aws", "expressions": self.expressions, "schema_version": 0}


def ref(*references: str) -> dict[str, Any]:
    """Expression of an attribute that references other objects (Terraform lists `x.y.attr` then `x.y`)."""
    out: list[str] = []
    for reference in references:
        out.append(reference)
        parts = reference.split(".")
        base = ".".join(parts[:3] if parts[0] == "data" else parts[:2])
        if base != reference:
            out.append(base)
    return {"references": out}


def const(value: Any) -> dict[str, Any]:
    return {"constant_value": value}


def plan(resources: list[Res], data: list[Res] | tuple[Res, ...] = (), variables: dict[str, Any] | None = None,
         declared: dict[str, Any] | None = None, modules: dict[str, Any] | None = None,
         version: str = "1.2") -> dict[str, Any]:
    root = [r for r in resources if not r.module]
    children: dict[str, list[Res]] = {}
    for resource in resources:
        if resource.module:
            children.setdefault(resource.module, []).append(resource)
    data_root = [d for d in data if not d.module]
    return {
        "format_version": version,
        "terraform_version": "1.9.5",
        "variables": {name: {"value": value} for name, value in (variables or {}).items()},
        "planned_values": {"root_module": {
            "resources": [r.state() for r in root],
            **({"child_modules": [{"resources": [r.state() for r in members], "address": address}
                                  for address, members in children.items()]} if children else {}),
        }},
        "resource_changes": [r.change() for r in resources],
        **({"prior_state": {"format_version": "1.0", "terraform_version": "1.9.5", "values": {"root_module": {
            "resources": [d.state() for d in data_root],
        }}}} if data_root else {}),
        "configuration": {
            "provider_config": {"aws": {"name": "aws", "full_name": "registry.terraform.io/hashicorp/aws",
                                        "expressions": {"region": const("eu-west-1")}}},
            "root_module": {
                "resources": [r.config() for r in [*root, *data_root]],
                **({"module_calls": modules} if modules else {}),
                **({"variables": declared} if declared else {}),
            },
        },
        "timestamp": "2026-11-28T10:00:00Z",
        "applyable": True,
        "complete": True,
        "errored": False,
    }


def write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(compact(document) + "\n")
    return path


def compact(node: Any, indent: int = 0) -> str:
    """Pretty-printed JSON with small objects and lists kept on one line (like `jq` output, shorter)."""
    flat = json.dumps(node)
    if len(flat) + indent <= 100 or not isinstance(node, (dict, list)) or not node:
        return flat
    pad = " " * (indent + 2)
    if isinstance(node, list):
        items = [pad + compact(item, indent + 2) for item in node]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    items = [f"{pad}{json.dumps(key)}: {compact(value, indent + 2)}" for key, value in node.items()]
    return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"


# ---------------------------------------------------------------- common pieces
LAMBDA_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Sid": "", "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}]})
BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
FUNCTION_COMPUTED = {
    "arn": True, "id": True, "invoke_arn": True, "qualified_arn": True, "version": True, "tags_all": True,
    "architectures": True, "logging_config": True, "tracing_config": True,
}


def trust_document() -> Res:
    return Res("data.aws_iam_policy_document.lambda_assume", mode="data", values={
        "id": "2690255455", "json": LAMBDA_TRUST, "minified_json": LAMBDA_TRUST.replace(" ", ""),
        "override_policy_documents": None, "policy_id": None, "source_policy_documents": None,
        "statement": [{"actions": ["sts:AssumeRole"], "condition": [], "effect": "Allow", "not_actions": [],
                       "not_principals": [], "not_resources": [], "resources": [], "sid": "",
                       "principals": [{"identifiers": ["lambda.amazonaws.com"], "type": "Service"}]}],
        "version": "2012-10-17",
    }, expressions={"statement": [{"actions": const(["sts:AssumeRole"]), "principals": [
        {"identifiers": const(["lambda.amazonaws.com"]), "type": const("Service")}]}]})


def role(name: str, role_name: str, trust: dict[str, Any] | None = None) -> Res:
    """A role whose trust policy is `data.aws_iam_policy_document.lambda_assume.json` (or `trust`: jsonencode)."""
    return Res(f"aws_iam_role.{name}", values={
        "assume_role_policy": json.dumps(trust) if trust else LAMBDA_TRUST, "name": role_name, "path": "/",
        "permissions_boundary": None,
    }, unknown={"arn": True, "id": True, "inline_policy": True, "managed_policy_arns": True},
        expressions={"assume_role_policy": {} if trust else ref("data.aws_iam_policy_document.lambda_assume.json"),
                     "name": const(role_name)})


def function(name: str, function_name: str, role_address: str, env: dict[str, str] | None = None,
             env_expression: dict[str, Any] | None = None, **values: Any) -> Res:
    known: dict[str, Any] = {
        "dead_letter_config": [], "environment": [{"variables": env}] if env is not None else [],
        "filename": f"build/{function_name}.zip", "function_name": function_name, "handler": "app.handler",
        "kms_key_arn": None, "layers": None, "package_type": "Zip", "reserved_concurrent_executions": -1,
        "runtime": "python3.12", "vpc_config": [],
    }
    known.update(values)
    expressions: dict[str, Any] = {
        "filename": const(f"build/{function_name}.zip"), "function_name": const(function_name),
        "handler": const("app.handler"), "role": ref(f"{role_address}.arn"), "runtime": const("python3.12"),
    }
    if env is not None:
        expressions["environment"] = [{"variables": env_expression or const(env)}]
    return Res(f"aws_lambda_function.{name}", values=known, unknown={**FUNCTION_COMPUTED, "role": True},
               expressions=expressions)
