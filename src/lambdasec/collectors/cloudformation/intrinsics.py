"""Resolve CloudFormation intrinsic functions as far as the template alone allows.

What is known statically (parameter defaults, literals, mappings, determinable
conditions) is computed; a reference to a resource becomes a :class:`ResourceRef`;
everything else becomes :class:`Unresolved` with the expression it came from.
Nothing is ever guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ...model.values import ResourceRef, Unresolved

NO_VALUE = object()  # AWS::NoValue: the enclosing key or item disappears
MAX_DEPTH = 100

_KNOWN_PSEUDO = {"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com", "AWS::NoValue": NO_VALUE}
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def render(node: Any) -> str:
    """A short human form of an intrinsic, for Unresolved.expression."""
    if isinstance(node, Mapping) and len(node) == 1:
        (name, arg), = node.items()
        short = name.replace("Fn::", "")
        if isinstance(arg, str):
            return f"!{short} {arg}"
        if isinstance(arg, list) and short == "GetAtt" and all(isinstance(a, str) for a in arg):
            return f"!GetAtt {'.'.join(arg)}"
        return f"!{short} {json.dumps(arg, default=str)[:120]}"
    return json.dumps(node, default=str)[:120]


class Resolver:
    def __init__(
        self,
        file_key: str,
        resources: Mapping[str, Any],
        parameters: Mapping[str, Any],
        mappings: Mapping[str, Any] | None = None,
        conditions: Mapping[str, Any] | None = None,
        parameter_values: Mapping[str, Any] | None = None,
    ) -> None:
        self.file_key = file_key
        self.resources = resources
        self.parameters = parameters
        self.mappings = mappings or {}
        self.conditions = conditions or {}
        self.parameter_values = parameter_values or {}
        self._condition_cache: dict[str, bool | None] = {}
        self._evaluating: set[str] = set()

    # ------------------------------------------------------------ entry points
    def key(self, logical_id: str) -> str:
        return f"{self.file_key}#{logical_id}"

    def resolve(self, node: Any, depth: int = 0) -> Any:
        """Resolve every intrinsic inside ``node``; containers are rebuilt as plain dict/list."""
        if depth > MAX_DEPTH:
            return Unresolved("...", "expression nested too deeply")
        if isinstance(node, dict):  # template nodes are dicts: the Mapping ABC check costs 4x more, per node
            if len(node) == 1:
                (name, arg), = node.items()
                if name == "Ref" or (isinstance(name, str) and name.startswith("Fn::")):
                    return self._intrinsic(name, arg, node, depth)
            out = {}
            for key, value in node.items():
                resolved = self.resolve(value, depth + 1)
                if resolved is not NO_VALUE:
                    out[key] = resolved
            return out
        if isinstance(node, list):
            items = [self.resolve(item, depth + 1) for item in node]
            return [item for item in items if item is not NO_VALUE]
        return node

    def parameter_name(self, node: Any) -> str | None:
        """The parameter a ``{"Ref": name}`` points at, if any."""
        if isinstance(node, Mapping) and len(node) == 1 and "Ref" in node:
            name = node["Ref"]
            if isinstance(name, str) and name in self.parameters:
                return name
        return None

    def condition(self, name: str) -> bool | None:
        """True/False when a named condition is determinable from the template, else None."""
        if name in self._condition_cache:
            return self._condition_cache[name]
        if name in self._evaluating or name not in self.conditions:
            return None  # a cycle or an unknown condition: not determinable
        self._evaluating.add(name)
        try:
            value = self._evaluate_condition(self.conditions[name], 0)
        finally:
            self._evaluating.discard(name)
        self._condition_cache[name] = value
        return value

    # ------------------------------------------------------------ intrinsics
    def _intrinsic(self, name: str, arg: Any, node: Any, depth: int) -> Any:
        handler = getattr(self, "_fn_" + name.replace("Fn::", "").lower(), None)
        if handler is None:
            return Unresolved(render(node), f"{name} is not evaluated statically")
        return handler(arg, node, depth)

    def _fn_ref(self, arg: Any, node: Any, depth: int) -> Any:
        if not isinstance(arg, str):
            return Unresolved(render(node), "Ref to a non-string")
        if arg in _KNOWN_PSEUDO:
            return _KNOWN_PSEUDO[arg]
        if arg.startswith("AWS::"):
            return Unresolved(f"!Ref {arg}", "pseudo parameter known only at deploy time")
        if arg in self.parameters:
            return self._parameter_value(arg)
        if arg in self.resources:
            return ResourceRef(self.key(arg))
        return Unresolved(f"!Ref {arg}", "reference to an unknown name")

    def _parameter_value(self, name: str) -> Any:
        if name in self.parameter_values:
            return self.parameter_values[name]
        declared = self.parameters.get(name)
        kind = str(declared.get("Type", "")) if isinstance(declared, Mapping) else ""
        if kind.startswith("AWS::SSM::Parameter::Value<"):  # the default names an SSM parameter, it is not the value
            where = declared.get("Default", "") if isinstance(declared, Mapping) else ""
            return Unresolved(f"!Ref {name}", f"{kind} parameter {where!r}, read from SSM at deploy time")
        if isinstance(declared, Mapping) and "Default" in declared:
            default = declared["Default"]
            if declared.get("Type") == "CommaDelimitedList" or str(declared.get("Type", "")).startswith("List<"):
                return [item.strip() for item in str(default).split(",")] if default != "" else []
            return default
        return Unresolved(f"!Ref {name}", "parameter without a default value")

    def _fn_getatt(self, arg: Any, node: Any, depth: int) -> Any:
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and arg[0] in self.resources:
            attribute = self.resolve(arg[1], depth + 1)
            if isinstance(attribute, str):
                return ResourceRef(self.key(arg[0]), attribute)
        return Unresolved(render(node), "GetAtt of an unknown resource")

    def _fn_sub(self, arg: Any, node: Any, depth: int) -> Any:
        variables: Mapping[str, Any] = {}
        if isinstance(arg, list) and len(arg) == 2:
            arg, variables = arg[0], arg[1] if isinstance(arg[1], Mapping) else {}
        if not isinstance(arg, str):
            return Unresolved(render(node), "Fn::Sub of a non-string")
        unknown = False

        def substitute(match: re.Match[str]) -> str:
            nonlocal unknown
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # ${!Literal} escapes a literal ${Literal}
            if name in variables:
                value = self.resolve(variables[name], depth + 1)
            elif "." in name and name.split(".", 1)[0] in self.resources:
                value = Unresolved("${" + name + "}")
            else:
                value = self._fn_ref(name, {"Ref": name}, depth)
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                return str(value)
            unknown = True
            if isinstance(value, ResourceRef):  # a variable naming a resource: show which (SAM policy templates)
                return "${" + str(value) + "}"
            return "${" + name + "}"

        text = _SUB_VARIABLE.sub(substitute, arg)
        return Unresolved(text, "Fn::Sub with parts known only at deploy time") if unknown else text

    def _fn_join(self, arg: Any, node: Any, depth: int) -> Any:
        if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str)):
            return Unresolved(render(node), "malformed Fn::Join")
        parts = self.resolve(arg[1], depth + 1)
        if not isinstance(parts, list):
            return Unresolved(render(node), "Fn::Join of an unknown list")
        if all(isinstance(p, (str, int, float)) and not isinstance(p, bool) for p in parts):
            return arg[0].join(str(p) for p in parts)
        shown = [str(p) if isinstance(p, (str, int, float)) else "${" + str(getattr(p, "expression", p)) + "}"
                 for p in parts]
        return Unresolved(arg[0].join(shown), "Fn::Join with parts known only at deploy time")

    def _fn_select(self, arg: Any, node: Any, depth: int) -> Any:
        if not (isinstance(arg, list) and len(arg) == 2):
            return Unresolved(render(node), "malformed Fn::Select")
        index = self.resolve(arg[0], depth + 1)
        items = self.resolve(arg[1], depth + 1)
        if isinstance(items, list) and str(index).isdigit() and int(index) < len(items):
            return items[int(index)]
        if isinstance(items, Unresolved) and items.expression.startswith("!GetAZs"):
            # Different indexes of GetAZs are different zones: keep the index in the expression.
            return Unresolved(f"!Select [{index}, !GetAZs]", "availability zone chosen at deploy time")
        return Unresolved(render(node), "Fn::Select of an unknown list")

    def _fn_getazs(self, arg: Any, node: Any, depth: int) -> Any:
        return Unresolved("!GetAZs", "availability zones known only at deploy time")

    def _fn_if(self, arg: Any, node: Any, depth: int) -> Any:
        if not (isinstance(arg, list) and len(arg) == 3 and isinstance(arg[0], str)):
            return Unresolved(render(node), "malformed Fn::If")
        decided = self.condition(arg[0])
        if decided is None:
            return Unresolved(render(node), f"condition {arg[0]} is not determinable statically")
        return self.resolve(arg[1] if decided else arg[2], depth + 1)

    def _fn_findinmap(self, arg: Any, node: Any, depth: int) -> Any:
        if isinstance(arg, list) and len(arg) >= 3:
            keys = [self.resolve(part, depth + 1) for part in arg[:3]]
            if all(isinstance(k, str) for k in keys):
                try:
                    return self.resolve(self.mappings[keys[0]][keys[1]][keys[2]], depth + 1)
                except (KeyError, TypeError):
                    pass
        return Unresolved(render(node), "Fn::FindInMap with unknown keys")

    def _fn_base64(self, arg: Any, node: Any, depth: int) -> Any:
        return self.resolve(arg, depth + 1)  # the content matters, not its encoding

    def _fn_split(self, arg: Any, node: Any, depth: int) -> Any:
        if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str):
            source = self.resolve(arg[1], depth + 1)
            if isinstance(source, str):
                return source.split(arg[0])
        return Unresolved(render(node), "Fn::Split of an unknown string")

    def _fn_importvalue(self, arg: Any, node: Any, depth: int) -> Any:
        return Unresolved(render(node), "value imported from another stack")

    # ------------------------------------------------------------ conditions
    def _evaluate_condition(self, node: Any, depth: int) -> bool | None:
        if depth > MAX_DEPTH or not isinstance(node, Mapping) or len(node) != 1:
            return None
        (name, arg), = node.items()
        if name == "Condition" and isinstance(arg, str):
            return self.condition(arg)
        if name == "Fn::Equals" and isinstance(arg, list) and len(arg) == 2:
            left, right = (self.resolve(a, depth + 1) for a in arg)
            if isinstance(left, (Unresolved, ResourceRef)) or isinstance(right, (Unresolved, ResourceRef)):
                return None
            return str(left) == str(right)
        if name in ("Fn::And", "Fn::Or", "Fn::Not") and isinstance(arg, list):
            values = [self._evaluate_condition(a, depth + 1) for a in arg]
            if name == "Fn::Not":
                return None if len(values) != 1 or values[0] is None else not values[0]
            if name == "Fn::And":
                return False if False in values else (None if None in values else True)
            return True if True in values else (None if None in values else False)
        return None
