"""Where an inventory object or a finding comes from."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping

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


class PropertyLocations(MutableMapping[str, Location]):
    """Where each property of a resource is written, by dotted path (``Environment.Variables.TOKEN``).

    A template resource has dozens of located properties and a large scan hundreds of thousands: they are kept
    as one line per path under a common file and document prefix, and a :class:`Location` is built only when a
    finding asks for one (collector workers also send them to the main process in a third of the space). A path
    whose segments hold dots, or a location set afterwards, is kept as written.
    """

    __slots__ = ("file", "prefix", "lines", "explicit")

    def __init__(self, file: str, prefix: tuple[str, ...], lines: dict[str, int | None] | None = None,
                 explicit: dict[str, Location] | None = None) -> None:
        self.file = file
        self.prefix = prefix
        self.lines: dict[str, int | None] = {} if lines is None else lines
        self.explicit: dict[str, Location] = {} if explicit is None else explicit

    def add(self, path: tuple[str, ...], line: int | None) -> None:
        dotted = ".".join(path)
        if any("." in segment for segment in path):
            self.lines.pop(dotted, None)  # the later of two paths written alike wins, as in a dict
            self.explicit[dotted] = Location(self.file, line, None, (*self.prefix, *path))
        else:
            self.explicit.pop(dotted, None)
            self.lines[dotted] = line

    def __getitem__(self, dotted: str) -> Location:
        found = self.explicit.get(dotted)
        if found is not None:
            return found
        return Location(self.file, self.lines[dotted], None, (*self.prefix, *dotted.split(".")))

    def __setitem__(self, dotted: str, location: Location) -> None:
        self.lines.pop(dotted, None)
        self.explicit[dotted] = location

    def __delitem__(self, dotted: str) -> None:
        if dotted in self.explicit:
            del self.explicit[dotted]
        else:
            del self.lines[dotted]

    def __contains__(self, dotted: object) -> bool:
        return dotted in self.lines or dotted in self.explicit

    def __iter__(self) -> Iterator[str]:
        yield from self.lines
        yield from self.explicit

    def __len__(self) -> int:
        return len(self.lines) + len(self.explicit)

    def __reduce__(self) -> tuple[type[PropertyLocations], tuple[object, ...]]:
        return PropertyLocations, (self.file, self.prefix, self.lines, self.explicit)
