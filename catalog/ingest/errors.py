"""Ingest failures, each worded as what is wrong, where, and the fix."""

from __future__ import annotations


class IngestError(Exception):
    """The data or the catalog cannot take this ingest (a bad file, an overlap, no data)."""


class IngestUsageError(IngestError):
    """The request itself is wrong (an unknown symbol, a bad range, a kind that cannot be told)."""
