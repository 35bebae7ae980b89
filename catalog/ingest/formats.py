"""
The source formats `catalog ingest` reads, behind one small interface.

A format describes a file (what it holds, under which name the ledger remembers it) and turns it
into nautilus Arrow tables; `pipeline` does the rest (instrument, staged writes, ledger, progress).
A new format (e.g. the raw JSONL of `catalog record`) implements `SourceFormat` and registers
itself in `FORMATS`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import Protocol

import pyarrow as pa
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument

from catalog.ingest.errors import IngestUsageError


@dataclass(frozen=True)
class IngestHints:
    """What the command line says about the files (None: infer it from the file)."""

    market: str | None = None
    kind: str | None = None
    symbol: str | None = None
    interval: str | None = None


@dataclass(frozen=True)
class Source:
    """One file to ingest."""

    path: Path
    format: str
    venue: str
    market: str  # "futures" | "spot" | ...: which instrument family the symbol names
    symbol: str  # the venue's name, e.g. BTC_USDT
    instrument_id: InstrumentId
    kind: str  # the ledger's kind, e.g. "orderbooks", "candles_1m"
    name: str  # the ledger's key for the file (the venue's file name)
    nominal_range_ns: tuple[int, int] | None  # [start, end) the file covers by its name
    outputs: tuple[tuple[type, str], ...]  # the catalog streams it writes: (data class, identifier)
    detail: Any = None  # the format's own description of the file
    # The column rows come sorted by: venue files "ts_event"; live recordings "ts_init" (the
    # receive time, which never goes back where venue times may).
    order_by: str = "ts_event"


@dataclass
class SourceNotes:
    """What reading one source found besides rows: anomalies, skipped rows, remarks."""

    rows_read: int = 0
    skipped_rows: int = 0
    anomalies: int = 0
    remarks: list[str] = field(default_factory=list)


# One table for one catalog stream: (nautilus data class, identifier, rows).
TableChunk = tuple[type, str, pa.Table]


class SourceFormat(Protocol):
    name: str

    def describe(self, path: Path, hints: IngestHints) -> Source: ...

    def tables(
        self, source: Source, instrument: Instrument, notes: SourceNotes
    ) -> Iterator[TableChunk]: ...


FORMATS: dict[str, SourceFormat] = {}


def register_format(source_format: SourceFormat) -> SourceFormat:
    FORMATS[source_format.name] = source_format
    return source_format


def get_format(name: str) -> SourceFormat:
    try:
        return FORMATS[name]
    except KeyError:
        known = ", ".join(sorted(FORMATS)) or "none"
        message = f"unknown source format {name!r}: known formats are {known}"
        raise IngestUsageError(message) from None
