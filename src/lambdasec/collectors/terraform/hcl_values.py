"""Values an HCL expression evaluates to, and the conversions between them.

Besides plain Python values (str, int, float, bool, None, list, dict) an evaluation may produce:
- `Unresolved` / `ResourceRef` from the model: a value not known statically / an attribute of another block;
- `ResourceObject`: one instance of a resource or data block (an attribute of it becomes a ResourceRef);
- `UnknownInstances`: a resource or module whose `count` / `for_each` is not known;
- `Encoded`: the result of `jsonencode`, kept as the value it encodes.
`finalize` turns all of these into the shapes `TfBlock.attributes` holds.
"""

from __future__ import annotations

import json
import math
from typing import Any, Protocol

from lambdasec.fast_dataclass import dataclass

from ...model.values import ResourceRef, Unresolved

# The reason of an Unresolved string whose expression is the string itself with its unknown parts left as
# `${...}` (like a CloudFormation Fn::Sub): rules can still read the known parts.
PARTLY_KNOWN = "parts of the string are known only at apply time"


class EvalError(Exception):
    """The configuration is wrong for this operation (Terraform itself would reject it)."""


class NotStatic(Exception):
    """The value exists but is not known statically."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ResourceObject:
    key: str
    address: str


@dataclass(frozen=True)
class UnknownInstances:
    """A resource or module with unknown instances; any single instance stands for `target`."""

    address: str
    target: Any


@dataclass(frozen=True)
class Encoded:
    value: Any


class HasOutputs(Protocol):
    address: str

    def output(self, name: str) -> Any: ...


UNKNOWN_TYPES = (Unresolved, ResourceRef, ResourceObject, UnknownInstances)


def unknown_reason(value: Any) -> str | None:
    """Why a value (or a part of it) is not known statically; None when it is fully known."""
    if isinstance(value, Unresolved):
        return value.reason or f"{value.expression} is not known statically"
    if isinstance(value, (ResourceRef, ResourceObject)):
        return f"{value} is known only after apply"
    if isinstance(value, UnknownInstances):
        return f"the instances of {value.address} are not known statically"
    if isinstance(value, Encoded):
        return unknown_reason(value.value)
    if isinstance(value, list):
        return next((r for r in map(unknown_reason, value) if r), None)
    if isinstance(value, dict):
        return next((r for r in map(unknown_reason, value.values()) if r), None)
    if hasattr(value, "output"):
        return f"{value.address} is a whole module"
    return None


def require_known(value: Any) -> Any:
    reason = unknown_reason(value)
    if reason:
        raise NotStatic(reason)
    return value


def is_unknown(value: Any) -> bool:
    return isinstance(value, UNKNOWN_TYPES) or hasattr(value, "output")


def number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def to_string(value: Any) -> str:
    """The string conversion Terraform applies in templates and string functions."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return number_text(value)
    if isinstance(value, Encoded):
        return json_text(value.value)
    if value is None:
        raise EvalError("a null value cannot be used as a string")
    require_known(value)
    raise EvalError(f"a {type_name(value)} cannot be used as a string")


def to_number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise EvalError("a bool cannot be used as a number")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise EvalError(f"{value!r} is not a number") from None
        return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    require_known(value)
    raise EvalError(f"a {type_name(value)} cannot be used as a number")


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    require_known(value)
    raise EvalError(f"a {type_name(value)} cannot be used as a bool")


def to_int(value: Any) -> int:
    number = to_number(value)
    if isinstance(number, float):
        if not number.is_integer() or math.isinf(number):
            raise EvalError(f"{number_text(number)} is not a whole number")
        return int(number)
    return number


def type_name(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return "string" if isinstance(value, str) else "value"


def json_text(value: Any) -> str:
    """jsonencode output: compact, object keys sorted, like Terraform."""
    require_known(value)
    return json.dumps(_plain(value), separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _plain(value: Any) -> Any:
    if isinstance(value, Encoded):
        return json_text(value.value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def finalize(value: Any) -> Any:
    """The shape stored in TfBlock.attributes: plain data, ResourceRef and Unresolved only."""
    if isinstance(value, ResourceObject):
        return ResourceRef(value.key, None)
    if isinstance(value, UnknownInstances):
        return Unresolved(value.address, "the instances are not known statically")
    if isinstance(value, Encoded):
        inner = value.value
        if isinstance(inner, (dict, list)):
            return finalize(inner)
        return json_text(inner) if unknown_reason(inner) is None else finalize(inner)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, list):
        return [finalize(v) for v in value]
    if isinstance(value, dict):
        return {k: finalize(v) for k, v in value.items()}
    if hasattr(value, "output"):
        return Unresolved(value.address, "a whole module object")
    return value


def equal(left: Any, right: Any) -> bool:
    require_known(left)
    require_known(right)
    return bool(_plain(left) == _plain(right)) and type_name(left) == type_name(right)
