"""Terraform built-in functions that can be evaluated safely and exactly from the configuration alone.

Each function takes evaluated arguments. It raises `NotStatic` when an argument it needs is not known
statically, and `EvalError` when Terraform itself would reject the call. Functions that depend on the
machine, the clock, randomness or regular expressions are deliberately absent: their calls stay Unresolved.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Callable
from typing import Any

from .hcl_values import (
    Encoded,
    EvalError,
    NotStatic,
    equal,
    require_known,
    to_bool,
    to_int,
    to_number,
    to_string,
    type_name,
)

MAX_RANGE = 10_000
_FORMAT_VERB = re.compile(r"%(?:(%)|([-+# 0]*)(\d+)?(?:\.(\d+))?([sdvqtfb]))")


def _arity(args: list[Any], low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(args) <= high:
        raise EvalError(f"expected {low}{'' if high == low else f' to {high}'} arguments, got {len(args)}")


def _list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, Encoded):
        raise EvalError("a JSON string is not a list")
    require_known(value)
    raise EvalError(f"a {type_name(value)} is not a list")


def _map(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    require_known(value)
    raise EvalError(f"a {type_name(value)} is not a map")


def _strings(values: list[Any]) -> list[str]:
    return [to_string(require_known(v)) for v in values]


def _set(values: list[Any]) -> list[Any]:
    """Sets have no duplicates and iterate in order (strings lexically), as Terraform orders them."""
    require_known(values)
    unique: list[Any] = []
    for value in values:
        if not any(equal(value, seen) for seen in unique):
            unique.append(value)
    if all(isinstance(v, str) for v in unique):
        return sorted(unique)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in unique):
        return sorted(unique)
    return unique


# ---------------------------------------------------------------- strings
def _lower(args: list[Any]) -> Any:
    _arity(args, 1)
    return to_string(args[0]).lower()


def _upper(args: list[Any]) -> Any:
    _arity(args, 1)
    return to_string(args[0]).upper()


def _title(args: list[Any]) -> Any:
    _arity(args, 1)
    return re.sub(r"\b[a-z]", lambda m: m.group(0).upper(), to_string(args[0]))


def _trimspace(args: list[Any]) -> Any:
    _arity(args, 1)
    return to_string(args[0]).strip()


def _trim(args: list[Any]) -> Any:
    _arity(args, 2)
    return to_string(args[0]).strip(to_string(args[1]))


def _trimprefix(args: list[Any]) -> Any:
    _arity(args, 2)
    text, prefix = to_string(args[0]), to_string(args[1])
    return text[len(prefix):] if prefix and text.startswith(prefix) else text


def _trimsuffix(args: list[Any]) -> Any:
    _arity(args, 2)
    text, suffix = to_string(args[0]), to_string(args[1])
    return text[: -len(suffix)] if suffix and text.endswith(suffix) else text


def _chomp(args: list[Any]) -> Any:
    _arity(args, 1)
    return re.sub(r"(?:\r\n|\n)+$", "", to_string(args[0]))


def _startswith(args: list[Any]) -> Any:
    _arity(args, 2)
    return to_string(args[0]).startswith(to_string(args[1]))


def _endswith(args: list[Any]) -> Any:
    _arity(args, 2)
    return to_string(args[0]).endswith(to_string(args[1]))


def _strrev(args: list[Any]) -> Any:
    _arity(args, 1)
    return to_string(args[0])[::-1]


def _substr(args: list[Any]) -> Any:
    _arity(args, 3)
    text, offset, length = to_string(args[0]), to_int(args[1]), to_int(args[2])
    if offset < 0:
        offset = max(0, len(text) + offset)
    return text[offset:] if length < 0 else text[offset:offset + length]


def _replace(args: list[Any]) -> Any:
    _arity(args, 3)
    text, search, replacement = to_string(args[0]), to_string(args[1]), to_string(args[2])
    if len(search) > 1 and search.startswith("/") and search.endswith("/"):
        raise NotStatic("replace with a regular expression is not evaluated")
    return text.replace(search, replacement)


def _join(args: list[Any]) -> Any:
    if len(args) < 2:
        raise EvalError("join needs a separator and at least one list")
    separator = to_string(args[0])
    items: list[str] = []
    for value in args[1:]:
        items.extend(_strings(_list(value)))
    return separator.join(items)


def _split(args: list[Any]) -> Any:
    _arity(args, 2)
    separator, text = to_string(args[0]), to_string(args[1])
    if separator == "":
        return list(text)
    return text.split(separator)


def _format_one(spec: re.Match[str], value: Any) -> str:
    flags, width, precision, verb = spec.group(2) or "", spec.group(3), spec.group(4), spec.group(5)
    if (width and int(width) > 1000) or (precision and int(precision) > 1000):
        raise EvalError("format width too large")
    if verb in ("s", "v") and not isinstance(value, (list, dict)):
        text = to_string(require_known(value))
    elif verb == "q":
        text = json.dumps(to_string(require_known(value)), ensure_ascii=False)
    elif verb == "t":
        text = "true" if to_bool(value) else "false"
    elif verb == "d":
        text = str(to_int(value))
    elif verb == "b":
        text = format(to_int(value), "b")
    elif verb == "f":
        number = to_number(value)
        return f"{number:{flags}{width or ''}.{precision or 6}f}"
    elif verb == "v":
        text = json.dumps(require_known(value), separators=(",", ":"))
    else:
        raise EvalError(f"unsupported format verb %{verb}")
    if precision and verb in ("s", "v", "q"):
        text = text[: int(precision)]
    if width:
        text = text.ljust(int(width)) if "-" in flags else text.rjust(int(width), "0" if "0" in flags else " ")
    return text


def _format(args: list[Any]) -> Any:
    if not args:
        raise EvalError("format needs a format string")
    spec = to_string(args[0])
    values = iter(args[1:])
    out: list[str] = []
    position = 0
    for match in _FORMAT_VERB.finditer(spec):
        out.append(spec[position:match.start()])
        position = match.end()
        if match.group(1):
            out.append("%")
            continue
        try:
            value = next(values)
        except StopIteration:
            raise EvalError("not enough arguments for the format string") from None
        out.append(_format_one(match, value))
    out.append(spec[position:])
    return "".join(out)


def _tostring(args: list[Any]) -> Any:
    _arity(args, 1)
    value = args[0]
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        raise EvalError(f"a {type_name(value)} cannot be converted to a string")
    try:
        return to_string(value)
    except NotStatic:
        return value  # a conversion keeps the (unknown) value


# ---------------------------------------------------------------- collections
def _length(args: list[Any]) -> Any:
    _arity(args, 1)
    value = args[0]
    if isinstance(value, (list, dict)):
        return len(value)
    return len(to_string(value))


def _concat(args: list[Any]) -> Any:
    out: list[Any] = []
    for value in args:
        out.extend(_list(value))
    return out


def _merge(args: list[Any]) -> Any:
    out: dict[str, Any] = {}
    for value in args:
        if value is not None:
            out.update(_map(value))
    return out


def _lookup(args: list[Any]) -> Any:
    _arity(args, 2, 3)
    mapping, key = _map(args[0]), to_string(args[1])
    if key in mapping:
        return mapping[key]
    if len(args) == 3:
        return args[2]
    raise EvalError(f"key {key!r} is not in the map")


def _element(args: list[Any]) -> Any:
    _arity(args, 2)
    items, index = _list(args[0]), to_int(args[1])
    if not items:
        raise EvalError("element of an empty list")
    if index < 0:
        raise EvalError("element index must not be negative")
    return items[index % len(items)]


def _coalesce(args: list[Any]) -> Any:
    for value in args:
        if value is None or value == "":
            continue
        if isinstance(value, (list, dict)) or not isinstance(value, (str, int, float, bool)):
            return require_known(value)
        return value
    raise EvalError("no non-null, non-empty argument")


def _coalescelist(args: list[Any]) -> Any:
    for value in args:
        if _list(value):
            return value
    return []


def _compact(args: list[Any]) -> Any:
    _arity(args, 1)
    return [v for v in _strings(_list(args[0])) if v != ""]


def _contains(args: list[Any]) -> Any:
    _arity(args, 2)
    return any(equal(item, args[1]) for item in _list(args[0]))


def _distinct(args: list[Any]) -> Any:
    _arity(args, 1)
    out: list[Any] = []
    for item in require_known(_list(args[0])):
        if not any(equal(item, seen) for seen in out):
            out.append(item)
    return out


def _flatten(args: list[Any]) -> Any:
    _arity(args, 1)

    def flat(items: list[Any]) -> list[Any]:
        out: list[Any] = []
        for item in items:
            if isinstance(item, list):
                out.extend(flat(item))
            elif isinstance(item, dict) or item is None or isinstance(item, (str, int, float, bool)):
                out.append(item)
            else:
                raise NotStatic("flatten of a value not known statically")
        return out

    return flat(_list(args[0]))


def _keys(args: list[Any]) -> Any:
    _arity(args, 1)
    return sorted(_map(args[0]))


def _values(args: list[Any]) -> Any:
    _arity(args, 1)
    mapping = _map(args[0])
    return [mapping[key] for key in sorted(mapping)]


def _tolist(args: list[Any]) -> Any:
    _arity(args, 1)
    return args[0] if args[0] is None else _list(args[0])


def _toset(args: list[Any]) -> Any:
    _arity(args, 1)
    return _set(_list(args[0]))


def _tomap(args: list[Any]) -> Any:
    _arity(args, 1)
    return args[0] if args[0] is None else _map(args[0])


def _tonumber(args: list[Any]) -> Any:
    _arity(args, 1)
    return None if args[0] is None else to_number(args[0])


def _tobool(args: list[Any]) -> Any:
    _arity(args, 1)
    return None if args[0] is None else to_bool(args[0])


def _zipmap(args: list[Any]) -> Any:
    _arity(args, 2)
    keys, values = _strings(_list(args[0])), _list(args[1])
    if len(keys) != len(values):
        raise EvalError("zipmap needs lists of the same length")
    return dict(zip(keys, values, strict=True))


def _range(args: list[Any]) -> Any:
    _arity(args, 1, 3)
    numbers = [to_number(a) for a in args]
    start, stop, step = (0, numbers[0], 1) if len(numbers) == 1 else (
        numbers[0], numbers[1], numbers[2] if len(numbers) == 3 else (1 if numbers[1] >= numbers[0] else -1))
    if step == 0:
        raise EvalError("range step must not be zero")
    count = max(0, math.ceil((stop - start) / step))
    if count > MAX_RANGE:
        raise NotStatic(f"range of more than {MAX_RANGE} elements is not evaluated")
    return [start + i * step for i in range(count)]


def _reverse(args: list[Any]) -> Any:
    _arity(args, 1)
    return list(reversed(_list(args[0])))


def _slice(args: list[Any]) -> Any:
    _arity(args, 3)
    items, start, end = _list(args[0]), to_int(args[1]), to_int(args[2])
    if not 0 <= start <= end <= len(items):
        raise EvalError("slice indexes out of range")
    return items[start:end]


def _sort(args: list[Any]) -> Any:
    _arity(args, 1)
    return sorted(_strings(_list(args[0])))


def _one(args: list[Any]) -> Any:
    _arity(args, 1)
    items = _list(args[0])
    if len(items) > 1:
        raise EvalError("one() of a list with more than one element")
    return items[0] if items else None


def _index(args: list[Any]) -> Any:
    _arity(args, 2)
    for position, item in enumerate(_list(args[0])):
        if equal(item, args[1]):
            return position
    raise EvalError("value not in the list")


def _sum(args: list[Any]) -> Any:
    _arity(args, 1)
    return sum(to_number(v) for v in _list(args[0]))


def _max(args: list[Any]) -> Any:
    if not args:
        raise EvalError("max needs at least one number")
    return max(to_number(v) for v in args)


def _min(args: list[Any]) -> Any:
    if not args:
        raise EvalError("min needs at least one number")
    return min(to_number(v) for v in args)


def _abs(args: list[Any]) -> Any:
    _arity(args, 1)
    return abs(to_number(args[0]))


def _ceil(args: list[Any]) -> Any:
    _arity(args, 1)
    return math.ceil(to_number(args[0]))


def _floor(args: list[Any]) -> Any:
    _arity(args, 1)
    return math.floor(to_number(args[0]))


# ---------------------------------------------------------------- encoding and networks
def _jsonencode(args: list[Any]) -> Any:
    _arity(args, 1)
    return Encoded(args[0])


def _jsondecode(args: list[Any]) -> Any:
    _arity(args, 1)
    if isinstance(args[0], Encoded):
        return args[0].value
    try:
        return json.loads(to_string(args[0]))
    except ValueError as exc:
        raise EvalError(f"invalid JSON: {exc}") from None


def _identity(args: list[Any]) -> Any:
    _arity(args, 1)
    return args[0]


def _cidrsubnet(args: list[Any]) -> Any:
    _arity(args, 3)
    try:
        network = ipaddress.ip_network(to_string(args[0]), strict=False)
        newbits, number = to_int(args[1]), to_int(args[2])
        prefix = network.prefixlen + newbits
        if newbits < 0 or prefix > network.max_prefixlen or not 0 <= number < 2 ** newbits:
            raise EvalError("cidrsubnet arguments out of range")
        size = 2 ** (network.max_prefixlen - prefix)
        address = ipaddress.ip_address(int(network.network_address) + number * size)
        return f"{address}/{prefix}"
    except ValueError as exc:
        raise EvalError(f"invalid CIDR: {exc}") from None


FUNCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "abs": _abs, "ceil": _ceil, "chomp": _chomp, "cidrsubnet": _cidrsubnet, "coalesce": _coalesce,
    "coalescelist": _coalescelist, "compact": _compact, "concat": _concat, "contains": _contains,
    "distinct": _distinct, "element": _element, "endswith": _endswith, "flatten": _flatten, "floor": _floor,
    "format": _format, "index": _index, "join": _join, "jsondecode": _jsondecode, "jsonencode": _jsonencode,
    "keys": _keys, "length": _length, "lookup": _lookup, "lower": _lower, "max": _max, "merge": _merge,
    "min": _min, "nonsensitive": _identity, "one": _one, "range": _range, "replace": _replace,
    "reverse": _reverse, "sensitive": _identity, "slice": _slice, "sort": _sort, "split": _split,
    "startswith": _startswith, "strrev": _strrev, "substr": _substr, "sum": _sum, "title": _title,
    "tobool": _tobool, "tolist": _tolist, "tomap": _tomap, "tonumber": _tonumber, "toset": _toset,
    "tostring": _tostring, "trim": _trim, "trimprefix": _trimprefix, "trimspace": _trimspace,
    "trimsuffix": _trimsuffix, "upper": _upper, "values": _values, "zipmap": _zipmap,
}
