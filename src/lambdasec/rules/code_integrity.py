"""Placeholder until the module lands."""

from .base import Rule

RULES: tuple[Rule, ...] = ()
