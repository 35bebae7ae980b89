"""
Atomic, checked writes into a nautilus ParquetDataCatalog: staged next to it, moved in at commit.

One `CatalogTransaction` is one ingest run. It holds the catalog lock (the one `catalog sample`
takes), writes every Parquet file into a staging directory beside the catalog
(`.{name}.ingest-{pid}-{hex}`, same file system, so moving in is a rename), and commits only when
the run finished: files moved in, ledger updated (see `ledger`). A failure anywhere leaves the
catalog as it was.

Files follow nautilus' layout and naming (`data/{type}/{identifier}/{first}_{last}.parquet`, the
ts_init range), so the catalog, `BacktestNode` and `consolidate_catalog` see them as their own.
Before a file is placed, its ts_init range is checked against the catalog's files of the same type
and identifier (nautilus refuses overlapping files; we refuse them earlier, with the source named).

ts_init: OrderBookDelta rows get strictly increasing values (venue time nudged by nanoseconds, see
`catalog/ordering.py`); other types keep ts_init = ts_event. A stream opened with
`order_by="ts_init"` (live recordings, where venue times may go back a little but the receive
time does not) keeps the rows' own ts_init instead, nudged the same way. Where new data starts at
the very instant existing data ends (Gate stamps a 100 ms window with its end, so an hour's last
changes can share the next hour's snapshot time), it continues right after the existing range
instead of being an overlap.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.persistence.catalog.parquet import ParquetDataCatalog

# nautilus' own file naming (private in 1.231, which is pinned): must match what it parses back.
from nautilus_trader.persistence.catalog.parquet import _timestamps_to_filename
from nautilus_trader.persistence.funcs import class_to_filename
from nautilus_trader.persistence.funcs import urisafe_identifier

from catalog.ingest.errors import IngestError
from catalog.ingest.ledger import Ledger
from catalog.ingest.ledger import LedgerEntry
from catalog.ordering import strictly_increasing_ts_init
from catalog.sample import MARKER_FILE
from catalog.sample import catalog_lock
from catalog.sample import fresh_dir
from catalog.sample import read_sample_marker
from catalog.sample import remove_stale_builds

STAGING_TAG = ".ingest-"
ROW_GROUP_ROWS = 100_000
_STRICT_TS_INIT = (OrderBookDelta,)


def parquet_options(schema: pa.Schema) -> dict[str, Any]:
    """
    Writer settings that keep writing cheap (about 3x faster than pyarrow's defaults here):
    statistics only on the time columns (what queries prune on), dictionaries only for the small
    enum columns, byte-stream-split for fixed-point values and delta encoding for the
    monotonic integers. nautilus' Rust and pyarrow readers both read these encodings.
    """
    names = set(schema.names)
    small = [f.name for f in schema if f.type in (pa.uint8(), pa.int8())]
    fixed_point = [f.name for f in schema if pa.types.is_fixed_size_binary(f.type)]
    encoding = dict.fromkeys(fixed_point, "BYTE_STREAM_SPLIT")
    for name in ("ts_event", "ts_init", "sequence"):
        if name in names:
            encoding[name] = "DELTA_BINARY_PACKED"
    return {
        "use_dictionary": small,
        "write_statistics": [n for n in ("ts_event", "ts_init") if n in names],
        "column_encoding": encoding,
        "compression": "snappy",
    }


def iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class _Interval:
    start: int  # ts_init, both ends inclusive
    end: int
    label: str  # where it came from, for messages
    max_ts_event: Callable[[], int]


class CatalogTransaction:
    """
    Staged writes to the catalog at `path`; commits on a clean exit of the `with` block.

        with CatalogTransaction(path) as txn:
            txn.add_instrument(instrument)
            with txn.stream(OrderBookDelta, "BTC_USDT-PERP.GATE", label="file.csv.gz") as out:
                out.write(table)              # nautilus-schema Arrow tables, in time order
            txn.record_source(instrument.id, "orderbooks", "file.csv.gz", files, rows=n)
    """

    def __init__(self, path: Path | str, *, row_group_rows: int = ROW_GROUP_ROWS) -> None:
        self.root = Path(path).expanduser().absolute()
        self.row_group_rows = row_group_rows
        self._stack = contextlib.ExitStack()
        self._staging: Path | None = None
        self._ledger: Ledger | None = None
        self._entries: list[LedgerEntry] = []
        self._staged: dict[tuple[type, str], list[_Interval]] = {}
        self._staged_instruments: dict[str, Instrument] = {}

    # -- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> CatalogTransaction:
        self.root.parent.mkdir(parents=True, exist_ok=True)
        self._stack.enter_context(catalog_lock(self.root))
        try:
            _check_target(self.root)
            remove_stale_builds(self.root, tags=(STAGING_TAG,))
            self._ledger = Ledger.load(self.root)
            self._ledger.roll_back_unfinished()
            prefix = f".{self.root.name}{STAGING_TAG}{os.getpid()}-"
            self._staging = fresh_dir(self.root.parent, prefix)
            self._stack.callback(shutil.rmtree, self._staging, ignore_errors=True)
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._commit()
        finally:
            self._stack.close()

    @property
    def ledger(self) -> Ledger:
        assert self._ledger is not None, "use the transaction in a `with` block"
        return self._ledger

    @property
    def staging(self) -> Path:
        assert self._staging is not None, "use the transaction in a `with` block"
        return self._staging

    # -- instruments and sources --------------------------------------------------------------

    def instrument(self, instrument_id: InstrumentId) -> Instrument | None:
        """The instrument as the catalog (or this transaction) has it, else None."""
        staged = self._staged_instruments.get(instrument_id.value)
        if staged is not None or not (self.root / "data").is_dir():
            return staged
        found = ParquetDataCatalog(str(self.root)).instruments(instrument_ids=[instrument_id.value])
        return found[-1] if found else None

    def add_instrument(self, instrument: Instrument) -> None:
        ParquetDataCatalog(str(self.staging)).write_data([instrument])
        self._staged_instruments[instrument.id.value] = instrument

    def is_ingested(self, instrument_id: InstrumentId, kind: str, name: str) -> bool:
        return self.ledger.is_done(instrument_id.value, kind, name)

    def record_source(
        self, instrument_id: InstrumentId, kind: str, name: str, files: list[str], **info: Any
    ) -> None:
        """Remember (at commit) that source `name` was ingested into `files`."""
        stamp = datetime.now(tz=UTC).isoformat(timespec="seconds")
        details = {"files": files, "ingested_at": stamp, **info}
        self._entries.append(LedgerEntry(instrument_id.value, kind, name, details))

    @contextlib.contextmanager
    def stream(
        self, data_cls: type, identifier: str, *, label: str, order_by: str = "ts_event"
    ) -> Iterator[StagedStream]:
        """One staged Parquet file of `data_cls` rows for `identifier`, from source `label`."""
        out = StagedStream(self, data_cls, identifier, label, order_by)
        try:
            yield out
        except BaseException:
            out.abort()
            raise
        out.close()

    # -- intervals ------------------------------------------------------------------------------

    def relative_dir(self, data_cls: type, identifier: str) -> Path:
        return Path("data") / class_to_filename(data_cls) / urisafe_identifier(identifier)

    def intervals(self, data_cls: type, identifier: str) -> list[_Interval]:
        """The ts_init ranges already taken: catalog files and files staged by this run."""
        found = list(self._staged.get((data_cls, identifier), []))
        directory = self.root / self.relative_dir(data_cls, identifier)
        if directory.is_dir():
            catalog = ParquetDataCatalog(str(self.root))
            for start, end in catalog.get_intervals(data_cls, identifier):
                path = directory / _timestamps_to_filename(start, end)
                relative = str(path.relative_to(self.root))
                source = self.ledger.source_of(relative)
                label = f"{source} (in {relative})" if source else relative
                found.append(_Interval(start, end, label, _max_ts_event_reader(path)))
        return sorted(found, key=lambda i: i.start)

    def add_staged_interval(self, data_cls: type, identifier: str, interval: _Interval) -> None:
        self._staged.setdefault((data_cls, identifier), []).append(interval)

    # -- commit ---------------------------------------------------------------------------------

    def _commit(self) -> None:
        staged_root = self.staging
        moves = sorted(p.relative_to(staged_root) for p in staged_root.rglob("*") if p.is_file())
        moves = [m for m in moves if m.parts[0] == "data"]
        for relative in moves:
            if (self.root / relative).exists():
                raise IngestError(
                    f"{self.root / relative} appeared while this ingest ran: another writer "
                    "used the catalog without its lock; nothing was written, re-run"
                )
        if not moves and not self._entries:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self.ledger.mark(self._entries, "committing")
        for relative in moves:
            (self.root / relative).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged_root / relative, self.root / relative)
        self.ledger.mark(self._entries, "done")


class StagedStream:
    """Rows of one type and identifier, written as they come into one staged Parquet file."""

    def __init__(
        self,
        txn: CatalogTransaction,
        data_cls: type,
        identifier: str,
        label: str,
        order_by: str = "ts_event",
    ):
        self.txn = txn
        self.order_by = order_by  # the column rows come sorted by, and ts_init derives from
        self.data_cls = data_cls
        self.identifier = identifier
        self.label = label
        self.rows = 0
        self.relative_path: str | None = None
        self._strict = data_cls in _STRICT_TS_INIT
        self._directory = txn.staging / txn.relative_dir(data_cls, identifier)
        self._temp = self._directory / f".{os.getpid()}-{id(self)}.parquet.tmp"
        self._writer: pq.ParquetWriter | None = None
        # One write in flight on a thread: pyarrow encodes and compresses without the GIL, so it
        # overlaps the conversion of the next chunk.
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-write")
        self._in_flight: Future | None = None
        self._first_ts_init: int | None = None
        self._last_ts_init: int | None = None
        self._last_order = 0
        self._last_ts_event = 0

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        ts_event = table.column("ts_event").to_numpy().astype(np.int64)
        order = table.column(self.order_by).to_numpy().astype(np.int64)
        if order[0] < self._last_order or (np.diff(order) < 0).any():
            raise IngestError(
                f"{self.label}: {class_to_filename(self.data_cls)} rows for {self.identifier} "
                f"are not in time order ({self.order_by} goes back); sort them before writing"
            )
        ts_init = self._stamp(order)
        index = table.schema.get_field_index("ts_init")
        table = table.set_column(index, table.schema.field(index), pa.array(ts_init, pa.uint64()))
        if self._writer is None:
            self._directory.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(
                self._temp, table.schema, **parquet_options(table.schema)
            )
            self._first_ts_init = int(ts_init[0])
        self._wait()
        self._in_flight = self._io.submit(
            self._writer.write_table, table, row_group_size=self.txn.row_group_rows
        )
        self.rows += table.num_rows
        self._last_ts_init = int(ts_init[-1])
        self._last_order = int(order[-1])
        self._last_ts_event = max(self._last_ts_event, int(ts_event.max()))

    def _stamp(self, order: np.ndarray) -> np.ndarray:
        """ts_init from the ordering column (ts_event, or the rows' own ts_init)."""
        if self._last_ts_init is None:
            lower = self._start_after(int(order[0]))
            exclusive = True
        else:
            lower, exclusive = self._last_ts_init, self._strict
        if self._strict:
            if lower is None:
                return strictly_increasing_ts_init(order)
            return strictly_increasing_ts_init(np.concatenate([[lower], order]))[1:]
        if lower is None:
            return order
        return np.maximum(order, lower + 1 if exclusive else lower)

    def _start_after(self, first: int) -> int | None:
        """The ts_init this stream must start after: the end of data it continues, if any."""
        for taken in self.txn.intervals(self.data_cls, self.identifier):
            if taken.start <= first <= taken.end:
                if self.order_by == "ts_event" and first >= taken.max_ts_event():
                    return taken.end
                raise self._overlap(first, None, taken)
        return None

    def _wait(self) -> None:
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            in_flight.result()

    def close(self) -> None:
        self._wait()
        self._io.shutdown()
        if self._writer is None:
            return
        self._writer.close()
        first, last = self._first_ts_init, self._last_ts_init
        assert first is not None and last is not None
        for taken in self.txn.intervals(self.data_cls, self.identifier):
            if taken.start <= last and first <= taken.end:
                self.abort()
                raise self._overlap(first, last, taken)
        final = self._directory / _timestamps_to_filename(first, last)
        os.replace(self._temp, final)
        self.relative_path = str(final.relative_to(self.txn.staging))
        last_event = self._last_ts_event
        self.txn.add_staged_interval(
            self.data_cls,
            self.identifier,
            _Interval(first, last, self.label, lambda: last_event),
        )

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._wait()
        self._io.shutdown()
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
        self._temp.unlink(missing_ok=True)

    def _overlap(self, first: int, last: int | None, taken: _Interval) -> IngestError:
        span = f"from {iso(first)}" + (f" to {iso(last)}" if last is not None else "")
        return IngestError(
            f"{class_to_filename(self.data_cls)} for {self.identifier} {span} ({self.label}) "
            f"would overlap data already there: {taken.label}, {iso(taken.start)} to "
            f"{iso(taken.end)}. Nothing was written. Fix: ingest into another catalog "
            "(--catalog PATH), or delete the overlapping data first "
            "(ParquetDataCatalog.delete_data_range)"
        )


def _max_ts_event_reader(path: Path) -> Callable[[], int]:
    def read() -> int:
        metadata = pq.read_metadata(path)
        index = metadata.schema.names.index("ts_event")
        best = None
        for group in range(metadata.num_row_groups):
            stats = metadata.row_group(group).column(index).statistics
            if stats is None or not stats.has_min_max:
                best = None
                break
            best = stats.max if best is None else max(best, stats.max)
        if best is None:
            column = pq.read_table(path, columns=["ts_event"]).column("ts_event")
            best = int(np.max(column.to_numpy()))
        return int(best)

    return read


def _check_target(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise IngestError(f"{root} is not a directory: pass a catalog directory (--catalog PATH)")
    if read_sample_marker(root) is not None:
        raise IngestError(
            f"{root} holds the embedded sample catalog ({MARKER_FILE}): real data would mix with "
            "synthetic data there, and a sample rebuild replaces the whole directory. Fix: pass "
            "--catalog PATH (or set $QUOTEKIT_CATALOG) to another directory"
        )
