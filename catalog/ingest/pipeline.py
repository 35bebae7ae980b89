"""
Sources -> catalog: the steps `catalog ingest` and `catalog download` share.

Per run: describe the files, skip those the ledger says are in the catalog already, refuse early
when a file's period is already covered by other data, then convert each file into staged
Parquet (one transaction: nothing reaches the catalog unless every file went through).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from nautilus_trader.model.instruments import Instrument
from nautilus_trader.persistence.funcs import class_to_filename
from tqdm import tqdm

import catalog.ingest.gate_bulk  # noqa: F401  (registers the gate-bulk format)
from catalog.ingest.errors import IngestError
from catalog.ingest.errors import IngestUsageError
from catalog.ingest.formats import IngestHints
from catalog.ingest.formats import Source
from catalog.ingest.formats import SourceNotes
from catalog.ingest.formats import get_format
from catalog.ingest.writer import CatalogTransaction
from catalog.ingest.writer import StagedStream
from catalog.ingest.writer import iso

# A file's nominal period may touch neighbouring data at its edges (shared boundary instants,
# nudged ts_init): only overlaps beyond this count when checking before any work is done.
_EDGE_NS = 1_000_000_000

InstrumentFetcher = Callable[[Source], Instrument]


@dataclass
class SourceResult:
    source: Source
    status: str  # "ingested" | "skipped" (already in the catalog) | "missing" (venue has none)
    rows: dict[str, int] = field(default_factory=dict)  # catalog data type -> rows written
    notes: SourceNotes = field(default_factory=SourceNotes)


@dataclass
class IngestSummary:
    catalog: Path
    results: list[SourceResult] = field(default_factory=list)
    instruments_added: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def with_status(self, status: str) -> list[SourceResult]:
        return [r for r in self.results if r.status == status]

    def rows_by_type(self) -> dict[tuple[str, str], int]:
        """(instrument id, catalog data type) -> rows written by this run."""
        totals: dict[tuple[str, str], int] = {}
        for result in self.with_status("ingested"):
            for data_type, rows in result.rows.items():
                key = (result.source.instrument_id.value, data_type)
                totals[key] = totals.get(key, 0) + rows
        return totals


def describe_sources(paths: list[Path], format_name: str, hints: IngestHints) -> list[Source]:
    """Each file described by its format, in the order to ingest them (per stream, in time)."""
    source_format = get_format(format_name)
    sources = [source_format.describe(path, hints) for path in paths]
    seen: dict[tuple[str, str, str], Path] = {}
    for source in sources:
        key = (source.instrument_id.value, source.kind, source.name)
        if key in seen:
            raise IngestUsageError(
                f"{source.path} and {seen[key]} are the same source ({source.name}): pass it once"
            )
        seen[key] = source.path
    return sorted(sources, key=_ingest_order)


def _ingest_order(source: Source) -> tuple:
    start = source.nominal_range_ns[0] if source.nominal_range_ns else 0
    return (source.instrument_id.value, source.kind, start, source.name)


def ensure_instrument(
    txn: CatalogTransaction, source: Source, fetch: InstrumentFetcher, added: list[str]
) -> Instrument:
    """The catalog's instrument for `source`, else the venue's (then staged with the data)."""
    instrument = txn.instrument(source.instrument_id)
    if instrument is None:
        instrument = fetch(source)
        txn.add_instrument(instrument)
        added.append(instrument.id.value)
    return instrument


def check_periods_free(txn: CatalogTransaction, sources: list[Source]) -> None:
    """Refuse before any download or parsing when a file's period is already covered."""
    for source in sources:
        if source.nominal_range_ns is None:
            continue
        start, end = source.nominal_range_ns
        for data_cls, identifier in source.outputs:
            for taken in txn.intervals(data_cls, identifier):
                if taken.start < end - _EDGE_NS and start + _EDGE_NS < taken.end:
                    raise IngestError(
                        f"{source.name} covers {iso(start)} to {iso(end)}, but the catalog "
                        f"already has {class_to_filename(data_cls)} for {identifier} from "
                        f"{iso(taken.start)} to {iso(taken.end)} ({taken.label}). Nothing was "
                        "written. Fix: ingest into another catalog (--catalog PATH), or delete "
                        "that data first (ParquetDataCatalog.delete_data_range)"
                    )


def ingest_source(txn: CatalogTransaction, source: Source, instrument: Instrument) -> SourceResult:
    """Convert one file into staged catalog files and record it for the ledger."""
    result = SourceResult(source, "ingested")
    streams: dict[tuple[type, str], StagedStream] = {}
    tables = get_format(source.format).tables(source, instrument, result.notes)
    with contextlib.ExitStack() as stack:
        for data_cls, identifier, table in tables:
            out = streams.get((data_cls, identifier))
            if out is None:
                out = stack.enter_context(
                    txn.stream(data_cls, identifier, label=source.name, order_by=source.order_by)
                )
                streams[(data_cls, identifier)] = out
            out.write(table)
    result.rows = {class_to_filename(cls): s.rows for (cls, _), s in streams.items()}
    files = [s.relative_path for s in streams.values() if s.relative_path]
    txn.record_source(
        source.instrument_id,
        source.kind,
        source.name,
        files,
        format=source.format,
        rows=result.rows,
        rows_read=result.notes.rows_read,
        anomalies=result.notes.anomalies,
    )
    return result


def progress_bar(total: int, label: str, enabled: bool, unit: str = "file") -> tqdm:
    return tqdm(total=total, desc=label, unit=unit, file=sys.stderr, disable=not enabled or None)


def ingest_files(
    catalog_path: Path,
    paths: list[Path],
    *,
    format_name: str,
    hints: IngestHints,
    fetch_instrument: InstrumentFetcher,
    progress: bool = True,
) -> IngestSummary:
    """`catalog ingest`: local files into the catalog, all or nothing."""
    started = time.perf_counter()
    sources = describe_sources(paths, format_name, hints)
    summary = IngestSummary(catalog_path)
    with CatalogTransaction(catalog_path) as txn:
        todo = []
        for source in sources:
            if txn.is_ingested(source.instrument_id, source.kind, source.name):
                summary.results.append(SourceResult(source, "skipped"))
            else:
                todo.append(source)
        check_periods_free(txn, todo)
        with progress_bar(len(todo), "Ingesting", progress) as bar:
            for source in todo:
                bar.set_postfix_str(source.name)
                instrument = ensure_instrument(
                    txn, source, fetch_instrument, summary.instruments_added
                )
                summary.results.append(ingest_source(txn, source, instrument))
                bar.update(1)
    summary.elapsed_s = time.perf_counter() - started
    return summary
