"""Serverless Framework collector."""

from .collector import collect_file, is_serverless_file

__all__ = ["collect_file", "is_serverless_file"]
