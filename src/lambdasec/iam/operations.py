"""From an AWS API operation (and its request parameters) to the IAM actions it needs and the resources they act on.

Most operations need the IAM action of the same name in the service's IAM prefix (``dynamodb:PutItem``); the
prefix comes from the botocore model (signing name, then endpoint prefix) and the action is checked against the
IAM catalogue. ``data/sdk_operations.json`` holds the reviewed exceptions: actions that differ (S3
``ListObjectsV2`` -> ``s3:ListBucket``), extra actions some parameters call for (an ``ACL`` ->
``s3:PutObjectAcl``), operations needing several actions (``CopyObject``), none (``GetCallerIdentity``), and the
DynamoDB operations whose actions depend on the request (PartiQL statements, transactions). An operation that
maps to nothing known is reported as unmapped, never dropped.

Resources are described, not resolved: an :class:`ArnTemplate` names the ARN pattern and the request values to put
in it; analysis/arns.py turns the values (literals, environment variables known from a template, unknown parts)
into ARN patterns.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any, Final

from lambdasec.fast_dataclass import dataclass, field

from ..analysis.sdk_calls import ParamValue, Piece, Seq, Struct, Text
from ..analysis.sdk_models import curated, is_unauthenticated, metadata, operations

_PLACEHOLDER: Final = re.compile(r"\{([A-Za-z0-9]+)(?:\|([a-z_]+))?\}")
_PARTIQL_ACTIONS: Final = {"SELECT": "dynamodb:PartiQLSelect", "INSERT": "dynamodb:PartiQLInsert",
                           "UPDATE": "dynamodb:PartiQLUpdate", "DELETE": "dynamodb:PartiQLDelete",
                           "EXISTS": "dynamodb:PartiQLSelect"}
_TRANSACT_WRITE_ACTIONS: Final = {"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem",
                                  "Delete": "dynamodb:DeleteItem", "ConditionCheck": "dynamodb:ConditionCheckItem"}
_TABLE: Final = "arn:aws:dynamodb:*:*:table/{TableName}"
_SENTINEL: Final = "\x00"


@dataclass(frozen=True)
class ArnTemplate:
    """An ARN pattern with placeholders (``arn:aws:s3:::{Bucket}/{Key}``, ``{QueueUrl|sqs_queue_url}``) and the
    request values that fill them (None: the request does not say)."""

    pattern: str
    values: tuple[tuple[str, ParamValue | None], ...] = ()

    def placeholders(self) -> list[tuple[str, str]]:
        """(name, converter) of each placeholder, in order."""
        return [(m.group(1), m.group(2) or "") for m in _PLACEHOLDER.finditer(self.pattern)]


@dataclass(frozen=True)
class Requirement:
    action: str  # canonical IAM action name
    resource: ArnTemplate | None  # None: "*" (the action has no resource type, or it could not be derived)
    reason: str = ""  # why this action beyond the operation's own: "ACL set", "PartiQL SELECT"
    note: str = ""  # why the resource is "*" although the action could be scoped


@dataclass
class OperationMapping:
    requirements: list[Requirement] = field(default_factory=list)
    unmapped: str = ""  # why no IAM action is known for the operation
    no_permission: str = ""  # why the operation needs no IAM permission


# ---------------------------------------------------------------- prefixes and validation
@functools.cache
def iam_prefix(service: str) -> str | None:
    """The IAM service prefix of a botocore service (``stepfunctions`` -> ``states``), None when unknown."""
    from .catalogue import catalogue

    known = curated()["iam_prefixes"].get(service)
    if known is not None:
        return str(known)
    prefixes = catalogue().services()
    meta = metadata(service)
    for candidate in (meta.get("signingName"), meta.get("endpointPrefix"), service):
        if isinstance(candidate, str) and candidate.lower() in prefixes:
            return candidate.lower()
    return None


def canonical_action(action: str) -> str | None:
    from .catalogue import catalogue

    info = catalogue().info(action)
    return info.name if info is not None else None


# ---------------------------------------------------------------- the mapping
def map_operation(service: str, operation: str, params: Struct) -> OperationMapping:
    """The IAM actions (with resource templates) an operation called with ``params`` needs."""
    if operation not in operations(service):
        return OperationMapping(unmapped=f"{service} has no operation {operation} in the botocore model")
    if is_unauthenticated(service, operation):
        return OperationMapping(no_permission=f"{service} {operation} is called without AWS credentials")
    exempt = curated()["no_permission"].get(service, {}).get(operation)
    if exempt:
        return OperationMapping(no_permission=str(exempt))
    entry = curated()["operations"].get(service, {}).get(operation)
    if entry is not None and "special" in entry:
        return _special(str(entry["special"]), operation, params)
    prefix = iam_prefix(service)
    if entry is None:
        if prefix is None:
            return OperationMapping(unmapped=f"no IAM service prefix known for {service}")
        declared: list[Any] = [f"{prefix}:{operation}"]
    else:
        declared = list(entry.get("actions", ()))
    out = OperationMapping()
    for spec in declared:
        _add(out, spec, params, "")
    for condition in (entry or {}).get("when", ()):
        reason = _condition_met(condition, params)
        if reason:
            for spec in condition["add"]:
                _add(out, spec, params, reason)
    return out


def _add(out: OperationMapping, spec: Any, params: Struct, reason: str) -> None:
    name = spec if isinstance(spec, str) else str(spec["action"])
    builder = None if isinstance(spec, str) else spec.get("resource")
    action = canonical_action(name)
    if action is None:
        out.unmapped = out.unmapped or f"no IAM action {name} in the catalogue"
        return
    if builder:
        templates, note = _built(str(builder), params)
        if not templates:
            out.requirements.append(Requirement(action, None, reason, note))
        for template in templates:
            out.requirements.append(Requirement(action, template, reason, note))
        return
    found, note = resource_template(action, params)
    out.requirements.append(Requirement(action, found, reason, note))


def _condition_met(condition: dict[str, Any], params: Struct) -> str:
    """Why an extra action applies ("ACL set"), or "" when the request does not call for it."""
    for name in condition.get("any_param", ()):
        if params.get(name) is not None:
            return f"{name} set"
    return ""


# ---------------------------------------------------------------- resources
def resource_template(action: str, params: Struct) -> tuple[ArnTemplate | None, str]:
    """The ARN template for an action from the request, and a note when it stays ``*`` but need not."""
    from .catalogue import catalogue

    info = catalogue().info(action)
    if info is None or not info.resource_types:
        return None, ""
    prefix = action.partition(":")[0]
    kinds = {kind.lower() for kind in info.resource_types}
    candidates = [spec for spec in curated()["resources"].get(prefix, ()) if spec["type"].lower() in kinds]
    if not candidates:
        return None, f"{action}: no resource pattern known for this service"
    for require_all in (True, False):
        for spec in candidates:
            names = [name for name, _ in ArnTemplate(spec["arn"]).placeholders()]
            present = [params.get(name) is not None for name in names]
            if (all(present) if require_all else present[:1] == [True]):
                return ArnTemplate(spec["arn"], tuple((name, params.get(name)) for name in names)), ""
    wanted = ", ".join(dict.fromkeys(name for spec in candidates for name, _ in
                                     ArnTemplate(spec["arn"]).placeholders()))
    return None, f"{action}: the request does not name its resource ({wanted})"


def _built(builder: str, params: Struct) -> tuple[list[ArnTemplate], str]:
    """Templates of the named resource builders of the curated table."""
    if builder == "copy_source":
        return _copy_source(params.get("CopySource"))
    if builder == "request_items":
        return _tables_of_keys(params.get("RequestItems"), "RequestItems")
    if builder == "sse_kms_key":
        return _single("{SSEKMSKeyId|kms_key}", "SSEKMSKeyId", params)
    if builder == "source_key":
        return _single("{SourceKeyId|kms_key}", "SourceKeyId", params)
    if builder == "destination_key":
        return _single("{DestinationKeyId|kms_key}", "DestinationKeyId", params)
    if builder == "data_api_secret":
        return _single("{secretArn|secret}", "secretArn", params)
    if builder == "secret_list":
        return _single("{SecretIdList|secret}", "SecretIdList", params)
    if builder == "event_entries":
        return _event_buses(params.get("Entries"))
    raise ValueError(f"unknown resource builder {builder}")


def _single(pattern: str, name: str, params: Struct) -> tuple[list[ArnTemplate], str]:
    value = params.get(name)
    if value is None:
        return [], f"the request does not name its resource ({name})"
    return [ArnTemplate(pattern, ((name, value),))], ""


def _copy_source(value: ParamValue | None) -> tuple[list[ArnTemplate], str]:
    if isinstance(value, Struct):
        bucket, key = value.get("Bucket"), value.get("Key")
        return [ArnTemplate("arn:aws:s3:::{Bucket}/{Key}", (("Bucket", bucket), ("Key", key)))], ""
    if isinstance(value, Text):
        pieces = value.pieces
        if pieces and isinstance(pieces[0], str):  # "/bucket/key?versionId=..." -> "bucket/key"
            pieces = (pieces[0].lstrip("/"), *pieces[1:])
        if pieces and isinstance(pieces[-1], str) and "?" in pieces[-1]:
            pieces = (*pieces[:-1], pieces[-1].split("?", 1)[0])
        return [ArnTemplate("arn:aws:s3:::{CopySource}", (("CopySource", Text(pieces)),))], ""
    return [], "the copy source is not known statically"


def _tables_of_keys(value: ParamValue | None, name: str) -> tuple[list[ArnTemplate], str]:
    if not isinstance(value, Struct) or not value.items:
        return [], f"the tables of {name} are not known statically"
    return [ArnTemplate(_TABLE, (("TableName", key),)) for key, _ in value.items], ""


def _event_buses(value: ParamValue | None) -> tuple[list[ArnTemplate], str]:
    if not isinstance(value, Seq) or not all(isinstance(item, Struct) for item in value.items):
        return [], "the event buses of Entries are not known statically"
    templates: list[ArnTemplate] = []
    for entry in value.items:
        assert isinstance(entry, Struct)
        bus = entry.get("EventBusName") or Text.of("default")
        template = ArnTemplate("{EventBusName|event_bus}", (("EventBusName", bus),))
        if template not in templates:
            templates.append(template)
    return templates, ""


# ---------------------------------------------------------------- DynamoDB specials
def _special(kind: str, operation: str, params: Struct) -> OperationMapping:
    if kind == "partiql":
        return _partiql(operation, params)
    if kind == "transact_get":
        return _transact(params, {"Get": "dynamodb:GetItem"})
    if kind == "transact_write":
        return _transact(params, _TRANSACT_WRITE_ACTIONS)
    raise ValueError(f"unknown special mapping {kind}")


def _statements(operation: str, params: Struct) -> list[ParamValue | None]:
    if operation == "ExecuteStatement":
        return [params.get("Statement")]
    listed = params.get("Statements" if operation == "BatchExecuteStatement" else "TransactStatements")
    if not isinstance(listed, Seq):
        return [None]
    return [item.get("Statement") if isinstance(item, Struct) else None for item in listed.items] or [None]


def _partiql(operation: str, params: Struct) -> OperationMapping:
    out = OperationMapping()
    for statement in _statements(operation, params):
        parsed = parse_partiql(statement) if isinstance(statement, Text) else None
        if parsed is None:
            note = "the PartiQL statement is not known statically: every PartiQL action on every table"
            for action in sorted(set(_PARTIQL_ACTIONS.values())):
                out.requirements.append(Requirement(action, None, "PartiQL", note))
            continue
        verb, table, index = parsed
        values: tuple[tuple[str, ParamValue | None], ...] = (("TableName", table),)
        pattern = _TABLE
        if index is not None:
            pattern, values = _TABLE + "/index/{IndexName}", (*values, ("IndexName", index))
        out.requirements.append(Requirement(_PARTIQL_ACTIONS[verb], ArnTemplate(pattern, values), f"PartiQL {verb}"))
    return out


_PARTIQL_SHAPE: Final = re.compile(
    r'^\s*(?:UPDATE\s+|(?P<verb>SELECT|INSERT|DELETE|EXISTS)\b.*?\b(?:FROM|INTO)\s+)'
    r'(?P<table>"[^"]+"|[A-Za-z0-9_.\-\x00]+?)(?:\s*\.\s*(?P<index>"[^"]+"|[A-Za-z0-9_.\-\x00]+))?(?:\s|$|\()',
    re.IGNORECASE | re.DOTALL,
)


def parse_partiql(statement: Text) -> tuple[str, Text, Text | None] | None:
    """(verb, table, index) of a PartiQL statement known at least around its table name, else None.

    Non-literal pieces (an environment variable as the table name) stand in the text as sentinels, so that
    ``f'SELECT * FROM "{TABLE}"'`` gives the table ``TABLE``.
    """
    flat, pieces = _flatten(statement)
    match = _PARTIQL_SHAPE.match(flat)
    if match is None:
        return None
    verb = (match.group("verb") or "UPDATE").upper()
    table = _unflatten(match.group("table").strip('"'), pieces)
    index_text = match.group("index")
    index = _unflatten(index_text.strip('"'), pieces) if index_text else None
    return verb, table, index


def _flatten(text: Text) -> tuple[str, list[Piece]]:
    out: list[str] = []
    pieces: list[Piece] = []
    for piece in text.pieces:
        if isinstance(piece, str):
            out.append(piece.replace(_SENTINEL, ""))
        else:
            out.append(f"{_SENTINEL}{len(pieces)}{_SENTINEL}")
            pieces.append(piece)
    return "".join(out), pieces


def _unflatten(flat: str, pieces: list[Piece]) -> Text:
    parts: list[Piece] = []
    for index, chunk in enumerate(flat.split(_SENTINEL)):
        if index % 2 == 0:
            parts.append(chunk)
        else:
            parts.append(pieces[int(chunk)])
    return Text(tuple(p for p in parts if p != ""))


def _transact(params: Struct, actions: dict[str, str]) -> OperationMapping:
    out = OperationMapping()
    items = params.get("TransactItems")
    known = isinstance(items, Seq) and items.items and all(isinstance(item, Struct) for item in items.items)
    if not known:
        note = "the transaction's items are not known statically: every item action it may use, on every table"
        for action in sorted(set(actions.values())):
            out.requirements.append(Requirement(action, None, "transaction item", note))
        return out
    assert isinstance(items, Seq)
    for item in items.items:
        assert isinstance(item, Struct)
        for key, body in item.items:
            chosen = actions.get(key.literal() or "")
            if chosen is None:
                continue
            table = body.get("TableName") if isinstance(body, Struct) else None
            template = ArnTemplate(_TABLE, (("TableName", table),)) if table is not None else None
            note = "" if template else f"the table of a {key.literal()} item is not known statically"
            requirement = Requirement(chosen, template, f"transaction {key.literal()}", note)
            if requirement not in out.requirements:
                out.requirements.append(requirement)
    return out


def curated_actions() -> Iterator[str]:
    """Every action named by the curated table (for tests: each must exist in the catalogue)."""
    for service in curated()["operations"].values():
        for entry in service.values():
            for spec in entry.get("actions", ()):
                yield spec if isinstance(spec, str) else spec["action"]
            for condition in entry.get("when", ()):
                for spec in condition["add"]:
                    yield spec if isinstance(spec, str) else spec["action"]
    yield from _PARTIQL_ACTIONS.values()
    yield from _TRANSACT_WRITE_ACTIONS.values()

