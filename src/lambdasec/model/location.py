"""Where an inventory object or a finding comes from."""

from __future__ import annotations

from lambdasec.fast_dataclass import dataclass, field


@dataclass(frozen=True)
class Location:
    """A place in a source file (IaC) or in an account (live scans).

    ``file`` is relative to the scan root; ``path`` is the path inside the document
    (e.g. ``("Resources", "Fn", "Properties", "Environment")``) so that a line can be
    resolved precisely and a fingerprint survives line shifts.
    """

    file: str = ""
    line: int | None = None
    column: int | None = None
    path: tuple[str, ...] = field(default=())
    arn: str | None = None
    region: str | None = None

    def __reduce__(self) -> tuple[type[Location], tuple[object, ...]]:
        # Positional arguments pickle in about two thirds of the space and time of the default state dict:
        # collector workers send hundreds of thousands of locations to the main process.
        return Location, (self.file, self.line, self.column, self.path, self.arn, self.region)

    def display(self) -> str:
        if self.file:
            return f"{self.file}:{self.line}" if self.line else self.file
        if self.arn:
            return f"{self.arn} ({self.region})" if self.region else self.arn
        return "<unknown>"

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"file": self.file, "line": self.line, "column": self.column}
        if self.path:
            out["path"] = "/".join(self.path)
        if self.arn:
            out["arn"] = self.arn
        if self.region:
            out["region"] = self.region
        return out
