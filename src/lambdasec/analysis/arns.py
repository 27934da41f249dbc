"""Turn an :class:`~lambdasec.iam.operations.ArnTemplate` into ARN patterns, resolving what the code left open.

A request value is a :class:`Text`: literals, environment variables and parts unknown statically. With a
template, an environment variable takes the value the function's ``Environment`` gives it: a literal, or a
reference to a resource of the template, kept symbolic as ``${OrdersTable}`` (CloudFormation ``!Sub`` syntax) or
``${aws_dynamodb_table.orders.name}`` (Terraform interpolation), so the pattern can be pasted back into the
template. Whatever stays unknown becomes ``*`` in the pattern, with a note saying why; a resource unknown in
every part is ``*``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from typing import Final

from lambdasec.fast_dataclass import dataclass

from ..iam.operations import ArnTemplate
from ..model.values import ResourceRef, Unresolved, Value
from .sdk_calls import EnvRef, Opaque, ParamValue, Seq, Text

_SENTINEL: Final = "\x00"
_MAX_COMBINATIONS: Final = 32
_QUEUE_URL: Final = re.compile(r"^https?://([^/]*)/([^/]*)/([^/?#]+)")
_PLACEHOLDER: Final = re.compile(r"\{([A-Za-z0-9]+)(?:\|([a-z_]+))?\}")


@dataclass(frozen=True)
class Sym:
    """A resource of the template, by reference."""

    ref: ResourceRef

    @property
    def terraform(self) -> bool:
        return "." in self.ref.key.rsplit("#", 1)[-1]  # CloudFormation logical ids hold no dot

    @property
    def is_arn(self) -> bool:
        return (self.ref.attribute or "").lower().endswith("arn")

    def arn(self) -> Sym:
        """The same resource's ARN attribute (``!GetAtt X.Arn`` / ``aws_x.y.arn``)."""
        return Sym(ResourceRef(self.ref.key, "arn" if self.terraform else "Arn"))

    def shown(self) -> str:
        return "${" + str(self.ref) + "}"


@dataclass(frozen=True)
class Wild:
    """A part not known statically; ``reason`` goes into the notes."""

    reason: str


RPiece = str | Sym | Wild
Resolved = tuple[RPiece, ...]


@dataclass(frozen=True)
class ResourceArn:
    """A resource pattern, with equivalent spellings used to compare it with the role's grants."""

    pattern: str
    equivalents: tuple[str, ...] = ()


@dataclass
class Resolver:
    """Resolves texts against one function's environment variables (None: no template, values unknown)."""

    environment: Mapping[str, Value] | None = None

    def text(self, text: Text) -> Resolved:
        out: list[RPiece] = []
        for piece in text.pieces:
            if isinstance(piece, str):
                out.append(piece)
            elif isinstance(piece, EnvRef):
                out.extend(self._env(piece))
            else:
                out.append(Wild(piece.hint))
        return tuple(out)

    def _env(self, ref: EnvRef) -> Resolved:
        if self.environment is None:
            return (Wild(f"environment variable {ref.name} (its value is set outside the code)"),)
        value = self.environment.get(ref.name)
        if value is None:
            if ref.default is not None:
                return (ref.default,)
            return (Wild(f"environment variable {ref.name} is not set by the template"),)
        if isinstance(value, str):
            return (value,)
        if isinstance(value, ResourceRef):
            return (Sym(value),)
        assert isinstance(value, Unresolved)
        return (Wild(f"environment variable {ref.name} = {value.expression}"),)

    def arns(self, template: ArnTemplate, service: str = "") -> tuple[list[ResourceArn], list[str]]:
        """The ARN patterns of a template (several when a value is a list), and notes on unknown parts;
        ``service`` (an IAM prefix) adds the other spellings of a template resource's ARN."""
        values = dict(template.values)
        placeholders = template.placeholders()
        choices = [self._choices(values.get(name), name) for name, _ in placeholders]
        notes = [piece.reason for options in choices for resolved in options for piece in resolved
                 if isinstance(piece, Wild)]
        out: list[ResourceArn] = []
        if len(placeholders) == 1 and placeholders[0][1] and template.pattern.startswith("{"):
            convert = CONVERTERS[placeholders[0][1]]
            found = [ResourceArn("*") if _unknown(resolved) else _whole(option, service)
                     for resolved in choices[0] for option in convert(resolved)]
        else:
            combinations = itertools.islice(itertools.product(*choices), _MAX_COMBINATIONS)
            found = [_fill(template.pattern, list(combination)) for combination in combinations]
        for arn in found:
            if arn not in out:
                out.append(arn)
        return out, list(dict.fromkeys(notes))

    def _choices(self, value: ParamValue | None, name: str) -> list[Resolved]:
        if isinstance(value, Text):
            return [self.text(value)]
        if isinstance(value, Seq) and value.items:
            return [self.text(item) if isinstance(item, Text) else (Wild(f"an item of {name}"),)
                    for item in value.items]
        if isinstance(value, Opaque):
            return [(Wild(value.hint),)]
        return [(Wild(f"the {name} parameter"),)]


def _unknown(value: Resolved) -> bool:
    return all(isinstance(piece, Wild) for piece in value)


def _whole(value: Resolved, service: str) -> ResourceArn:
    """A converter's result: an ARN, maybe built around a template resource's name (then equivalent to that
    resource's ARN attribute), or a template resource's ARN (then equivalent to the ARN built from its name)."""
    symbols = [piece for piece in value if isinstance(piece, Sym)]
    if len(symbols) == 1 and not symbols[0].is_arn and len(value) > 1:
        return ResourceArn(_render(value), (symbols[0].arn().shown(),))
    if len(value) == 1 and symbols and symbols[0].is_arn:
        return ResourceArn(_render(value), arn_equivalents(symbols[0], service))
    return ResourceArn(_render(value))


def _fill(pattern: str, values: list[Resolved]) -> ResourceArn:
    """A plain template with each placeholder replaced by its resolved value."""
    if values and all(_unknown(value) for value in values):
        return ResourceArn("*")
    matches = list(_PLACEHOLDER.finditer(pattern))
    head: list[RPiece] = []
    equivalents: list[str] = []
    position = 0
    for index, (match, value) in enumerate(zip(matches, values, strict=True)):
        before = pattern[position:match.start()]
        prefix = _render((*head, before))
        if prefix.startswith("arn:") and _is_arn(value):
            head = list(value)  # a name parameter given a whole ARN (DynamoDB and Lambda accept both)
        else:
            if index == 0 and prefix.startswith("arn:") and len(value) == 1 and isinstance(value[0], Sym):
                rest = _fill_plain(pattern[match.end():], matches[1:], values[1:], match.end())
                equivalents.append(value[0].arn().shown() + rest)
            head.extend((before, *value))
        position = match.end()
    head.append(pattern[position:])
    return ResourceArn(_render(tuple(head)), tuple(equivalents))


def _fill_plain(rest: str, matches: list[re.Match[str]], values: list[Resolved], offset: int) -> str:
    out: list[RPiece] = []
    position = 0
    for match, value in zip(matches, values, strict=True):
        out.append(rest[position:match.start() - offset])
        out.extend(value)
        position = match.end() - offset
    out.append(rest[position:])
    return _render(tuple(out))


def _is_arn(value: Resolved) -> bool:
    if len(value) == 1 and isinstance(value[0], Sym):
        return value[0].is_arn
    return bool(value) and isinstance(value[0], str) and value[0].startswith("arn:")


def _render(pieces: Resolved) -> str:
    return "".join(p if isinstance(p, str) else p.shown() if isinstance(p, Sym) else "*" for p in pieces)


# ---------------------------------------------------------------- converters
def _flat(value: Resolved) -> tuple[str, list[RPiece]]:
    text: list[str] = []
    parts: list[RPiece] = []
    for piece in value:
        if isinstance(piece, str):
            text.append(piece.replace(_SENTINEL, ""))
        else:
            text.append(f"{_SENTINEL}{len(parts)}{_SENTINEL}")
            parts.append(piece)
    return "".join(text), parts


def _unflat(text: str, parts: list[RPiece]) -> Resolved:
    out: list[RPiece] = []
    for index, chunk in enumerate(text.split(_SENTINEL)):
        if index % 2:
            out.append(parts[int(chunk)])
        elif chunk:
            out.append(chunk)
    return tuple(out)


def _as_arn_or(prefix: str, suffix: str = "", *, ref_is_arn: bool = False) -> Callable[[Resolved], list[Resolved]]:
    """A value that is an ARN already, else a name put into ``prefix<name>suffix``."""

    def convert(value: Resolved) -> list[Resolved]:
        if _is_arn(value):
            return [value]
        if ref_is_arn and len(value) == 1 and isinstance(value[0], Sym) and not value[0].terraform:
            return [value]  # CloudFormation's Ref of this resource type returns its ARN
        if ref_is_arn and len(value) == 1 and isinstance(value[0], Sym) and value[0].ref.attribute == "id":
            return [value]  # the Terraform id of this resource type is its ARN
        return [(prefix, *value, suffix)]

    return convert


def _queue_url(value: Resolved) -> list[Resolved]:
    if len(value) == 1 and isinstance(value[0], Sym):
        return [value] if value[0].is_arn else [(value[0].arn(),)]
    if _is_arn(value):
        return [value]
    text, parts = _flat(value)
    match = _QUEUE_URL.match(text)
    if match is None:
        return [(Wild("a queue URL lambdasec could not read"),)]
    host, account, name = match.groups()
    region_match = re.match(r"^(?:sqs\.([^.]+)\.|([^.]+)\.queue\.)", host)
    region = (region_match.group(1) or region_match.group(2)) if region_match else "*"
    region_part = _unflat(region, parts) if _SENTINEL not in region else (Wild("the queue's region"),)
    account_part = _unflat(account, parts) if _SENTINEL not in account else (Wild("the queue's account"),)
    return [("arn:aws:sqs:", *region_part, ":", *account_part, ":", *_unflat(name, parts))]


def _ssm_parameter(value: Resolved) -> list[Resolved]:
    if _is_arn(value):
        return [value]
    starts_with_slash = bool(value) and isinstance(value[0], str) and value[0].startswith("/")
    return [("arn:aws:ssm:*:*:parameter" + ("" if starts_with_slash else "/"), *value)]


def _ssm_path(value: Resolved) -> list[Resolved]:
    base = _ssm_parameter(value)[0]
    if base and isinstance(base[-1], str):
        base = (*base[:-1], base[-1].rstrip("/"))
    return [base, (*base, "/*")]


def _kms_key(value: Resolved) -> list[Resolved]:
    if _is_arn(value):
        return [value]
    if value and isinstance(value[0], str) and value[0].startswith("alias/"):
        return [("arn:aws:kms:*:*:", *value)]
    return [("arn:aws:kms:*:*:key/", *value)]


def _bedrock_model(value: Resolved) -> list[Resolved]:
    if _is_arn(value):
        return [value]
    text = value[0] if len(value) == 1 and isinstance(value[0], str) else None
    if text is not None and re.match(r"^(us|eu|apac|us-gov|global|jp|au|ca)\.", text):
        # A cross-region inference profile id: the profile, and the model it routes to in any region.
        model = text.split(".", 1)[1]
        return [(f"arn:aws:bedrock:*:*:inference-profile/{text}",), (f"arn:aws:bedrock:*::foundation-model/{model}",)]
    return [("arn:aws:bedrock:*::foundation-model/", *value)]


CONVERTERS: Final[dict[str, Callable[[Resolved], list[Resolved]]]] = {
    "sqs_queue_url": _queue_url,
    "lambda_function": _as_arn_or("arn:aws:lambda:*:*:function:"),
    "secret": _as_arn_or("arn:aws:secretsmanager:*:*:secret:", "-??????", ref_is_arn=True),
    "ssm_parameter": _ssm_parameter,
    "ssm_path": _ssm_path,
    "kms_key": _kms_key,
    "event_bus": _as_arn_or("arn:aws:events:*:*:event-bus/"),
    "bedrock_model": _bedrock_model,
}


# How a resource's ARN is written from its name, by service: (ARN prefix, CloudFormation attribute giving the name
# (None: its Ref), Terraform attribute giving the name).
_NAMED_ARNS: Final = {
    "sqs": ("arn:aws:sqs:*:*:", "QueueName", "name"),
    "dynamodb": ("arn:aws:dynamodb:*:*:table/", None, "name"),
    "kinesis": ("arn:aws:kinesis:*:*:stream/", None, "name"),
    "kms": ("arn:aws:kms:*:*:key/", None, "key_id"),
    "s3": ("arn:aws:s3:::", None, "bucket"),
    "lambda": ("arn:aws:lambda:*:*:function:", None, "function_name"),
}


def arn_equivalents(symbol: Sym, service: str) -> tuple[str, ...]:
    """Other spellings of a template resource's ARN (``${Queue.Arn}`` is ``arn:aws:sqs:*:*:${Queue.QueueName}``),
    so a need written one way matches a grant written the other."""
    known = _NAMED_ARNS.get(service)
    if known is None or not symbol.is_arn:
        return ()
    prefix, cloudformation, terraform = known
    name = Sym(ResourceRef(symbol.ref.key, terraform if symbol.terraform else cloudformation))
    return (prefix + name.shown(),)
