"""Values that a collector could or could not resolve statically.

A collector never guesses: a parameter without default, an imported value or an
expression it cannot evaluate becomes an :class:`Unresolved`, and rules decide
what that means (usually: a low-confidence finding or "not evaluated").
"""

from __future__ import annotations

from typing import Any, TypeVar

from lambdasec.fast_dataclass import dataclass

T = TypeVar("T")


@dataclass(frozen=True)
class Unresolved:
    """A value known to exist but not known statically."""

    expression: str  # what the source said, e.g. "!Ref DbPassword" or "var.subnet_ids"
    reason: str = ""  # why it could not be resolved

    def __str__(self) -> str:
        return f"<unresolved {self.expression}>"

    @property
    def may_be_absent(self) -> bool:
        """An undecidable condition (``!If``) may turn into AWS::NoValue: the property may not be set at all."""
        return self.expression.startswith("!If")


@dataclass(frozen=True)
class ResourceRef:
    """A reference to another object of the same inventory (Ref / GetAtt / Terraform address).

    ``key`` is the inventory key of the target (see :attr:`Resource.key`), ``attribute``
    is the attribute asked for (``Arn``, ``name``...) or None for a plain ``Ref``.
    """

    key: str
    attribute: str | None = None

    def __str__(self) -> str:
        target = self.key.rsplit("#", 1)[-1]
        return f"{target}.{self.attribute}" if self.attribute else target


# A scalar that a template may hold: a literal, a link to another resource, or unknown.
Value = str | ResourceRef | Unresolved


def is_resolved(value: Any) -> bool:
    return not isinstance(value, Unresolved)


def literal(value: Any) -> str | None:
    """The value as a plain string when it is a literal, else None."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None
