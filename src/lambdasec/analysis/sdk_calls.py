"""What the static analysis of a function's code finds: the AWS SDK calls it makes and what it could not tell.

Both analysers (sdk_python.py for boto3, sdk_node.py for the AWS SDK for JavaScript v2 and v3) produce the same
records, so the policy builder (least_privilege.py) does not care which language the code is in.

Request parameters are kept as small immutable trees of abstract values: a :class:`Text` is a string known in
parts (literals, environment variables, parts unknown statically), a :class:`Struct` a dict literal, a
:class:`Seq` a list literal. Nothing here ever runs the analysed code.
"""

from __future__ import annotations

from collections.abc import Iterator

from lambdasec.fast_dataclass import dataclass, field

from ..model.location import Location


@dataclass(frozen=True)
class EnvRef:
    """The value of an environment variable (``os.environ['X']``, ``process.env.X``)."""

    name: str
    default: str | None = None  # a literal fallback (``os.environ.get('X', 'orders')``)


@dataclass(frozen=True)
class Opaque:
    """A part whose value is not known statically; ``hint`` is what the code said, for notes."""

    hint: str


Piece = str | EnvRef | Opaque


@dataclass(frozen=True)
class Text:
    """A string known in parts: ``f"arn:aws:sns:{REGION}:{ACCOUNT}:orders"`` is five pieces."""

    pieces: tuple[Piece, ...]

    @staticmethod
    def of(value: str) -> Text:
        return Text((value,) if value else ())

    @staticmethod
    def unknown(hint: str) -> Text:
        return Text((Opaque(hint),))

    def literal(self) -> str | None:
        """The whole string when every piece is a literal."""
        if all(isinstance(piece, str) for piece in self.pieces):
            return "".join(piece for piece in self.pieces if isinstance(piece, str))
        return None

    def concat(self, other: Text) -> Text:
        return Text(_merge((*self.pieces, *other.pieces)))

    def shown(self) -> str:
        """A readable form: ``arn:aws:sns:${env:REGION}:<unknown account>``."""
        out = []
        for piece in self.pieces:
            if isinstance(piece, str):
                out.append(piece)
            elif isinstance(piece, EnvRef):
                out.append(f"${{env:{piece.name}}}")
            else:
                out.append(f"<{piece.hint}>")
        return "".join(out)


def join_texts(parts: list[Text]) -> Text:
    pieces: list[Piece] = []
    for part in parts:
        pieces.extend(part.pieces)
    return Text(_merge(tuple(pieces)))


def _merge(pieces: tuple[Piece, ...]) -> tuple[Piece, ...]:
    """Adjacent literals joined, empty literals dropped, so equal strings compare equal."""
    out: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, str):
            if not piece:
                continue
            if out and isinstance(out[-1], str):
                out[-1] = out[-1] + piece
                continue
        out.append(piece)
    return tuple(out)


@dataclass(frozen=True)
class Struct:
    """A mapping written in the code (a dict or object literal). Keys are texts: ``RequestItems`` keys are
    table names that may come from the environment."""

    items: tuple[tuple[Text, ParamValue], ...] = ()

    def get(self, name: str) -> ParamValue | None:
        for key, value in self.items:
            if key.literal() == name:
                return value
        return None

    def text(self, name: str) -> Text | None:
        found = self.get(name)
        return found if isinstance(found, Text) else None

    def merged(self, other: Struct) -> Struct:
        """This mapping with ``other``'s keys added (``other`` wins): ``ExtraArgs`` merged into a request."""
        names = {key.literal() for key, _ in other.items}
        kept = tuple((key, value) for key, value in self.items if key.literal() not in names)
        return Struct(kept + other.items)


@dataclass(frozen=True)
class Seq:
    """A list written in the code."""

    items: tuple[ParamValue, ...] = ()


ParamValue = Text | Struct | Seq | Opaque


@dataclass(frozen=True)
class SdkCall:
    """One AWS API operation the code calls (or a helper that calls it: paginator, waiter, transfer)."""

    service: str  # botocore service name ("s3", "dynamodb", "stepfunctions")
    operation: str | None  # botocore operation name ("GetObject"); None when the method is not an operation
    method: str  # as written: "get_object", "getObject", "GetObjectCommand", "upload_file"
    params: Struct
    location: Location
    via: str = ""  # how it is reached when not directly: "paginator", "waiter", "resource Table", "S3 transfer"
    # Made through a client given its own credentials in the code (``aws_access_key_id=...``), not the role's.
    explicit_credentials: bool = False

    def shown(self) -> str:
        what = f"{self.service}.{self.method}"
        return f"{what} ({self.via})" if self.via else what


@dataclass(frozen=True)
class CodeNote:
    """Something the analysis could not tell, listed in the output (never silently dropped)."""

    kind: str  # "parse-error" | "skipped-file" | "dynamic-client" | "dynamic-call" | "unknown-method" | ...
    message: str
    location: Location


@dataclass
class CodeAnalysis:
    """The SDK calls found in one function's code, with what could not be analysed."""

    calls: list[SdkCall] = field(default_factory=list)
    notes: list[CodeNote] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # source files analysed, relative to the code root
    languages: set[str] = field(default_factory=set)  # "python" | "javascript"

    def extend(self, other: CodeAnalysis) -> None:
        self.calls.extend(other.calls)
        self.notes.extend(other.notes)
        self.files.extend(other.files)
        self.languages |= other.languages

    def sorted(self) -> CodeAnalysis:
        """Duplicates dropped, in a stable order (file, line, column), so reports are deterministic."""
        calls = sorted(set(self.calls), key=_call_key)
        notes = sorted(set(self.notes), key=lambda n: (_where(n.location), n.kind, n.message))
        return CodeAnalysis(calls, notes, sorted(set(self.files)), set(self.languages))


def _where(location: Location) -> tuple[str, int, int]:
    return location.file, location.line or 0, location.column or 0


def _call_key(call: SdkCall) -> tuple[object, ...]:
    return (*_where(call.location), call.service, call.operation or "", call.method, call.via, repr(call.params))


def walk_texts(value: ParamValue | None) -> Iterator[Text]:
    """Every text inside a parameter value (keys included), depth first."""
    if isinstance(value, Text):
        yield value
    elif isinstance(value, Struct):
        for key, item in value.items:
            yield key
            yield from walk_texts(item)
    elif isinstance(value, Seq):
        for item in value.items:
            yield from walk_texts(item)
