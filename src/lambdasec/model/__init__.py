"""The normalized inventory, locations, unresolved values and coverage gaps."""

from .inventory import *  # noqa: F403
from .inventory import CoverageGap, Inventory, Resource
from .location import Location
from .values import ResourceRef, Unresolved, Value, is_resolved, literal

__all__ = [
    "CoverageGap", "Inventory", "Location", "Resource", "ResourceRef", "Unresolved", "Value",
    "is_resolved", "literal",
]
