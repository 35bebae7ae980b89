"""
What happened to a recorded feed, stored beside the data: `FeedEvent` rows in the catalog.

`catalog record` writes one row per event and instrument under
`data/custom_feed_event/{instrument_id}/` (a nautilus custom data type, so
`ParquetDataCatalog.query(FeedEvent, identifiers=[...])` reads it back):

- `start` / `stop`: a recording session of the instrument began / ended cleanly. Between a `stop`
  and the next `start` nothing was recorded (each session opens with a fresh book snapshot).
- `resync`: the data client distrusted its book (a gap in the venue's update ids, a stale snapshot,
  a reconnect, a top of book that disagreed with the venue, a tick-size change) and rebuilt it
  from a snapshot. The deltas carry that rebuild as a CLEAR + F_SNAPSHOT batch at `ts_init`;
  `since_ns` is the receive time of the last book update before it, so the book replayed from
  `since_ns` to `ts_init` may be stale. `detail` says why, as far as the recorder could tell.
- `reconnect`: the venue connection dropped and was re-established (a resync follows).

`catalog validate` lists them (`feed_event_notes`): they are facts about the recording, not errors.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from nautilus_trader.core.data import Data
from nautilus_trader.model.custom import customdataclass
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.persistence.funcs import class_to_filename

from catalog.inspect import DATA_DIR
from catalog.inspect import format_ns

START = "start"
STOP = "stop"
RESYNC = "resync"
RECONNECT = "reconnect"
KINDS = (START, STOP, RESYNC, RECONNECT)


@customdataclass
class FeedEvent(Data):
    instrument_id: InstrumentId
    kind: str
    detail: str = ""
    since_ns: int = 0

    # Timestamps as nautilus' own data types store them (uint64), so the ingest writer treats
    # these rows like any other.
    _schema = pa.schema(
        {
            "instrument_id": pa.string(),
            "kind": pa.string(),
            "detail": pa.string(),
            "since_ns": pa.int64(),
            "ts_event": pa.uint64(),
            "ts_init": pa.uint64(),
        }
    )


FEED_EVENT_DIR = class_to_filename(FeedEvent)  # "custom_feed_event"


@dataclass(frozen=True)
class FeedEventColumns:
    kind: list[str]
    detail: list[str]
    since_ns: list[int]
    ts_event: list[int]
    ts_init: list[int]


def feed_events_table(instrument_id: str, columns: FeedEventColumns) -> pa.Table:
    """The catalog table of one instrument's events (ts_init non-decreasing)."""
    schema = FeedEvent._schema.with_metadata({"instrument_id": instrument_id})
    rows = len(columns.kind)
    arrays = [
        pa.array([instrument_id] * rows, pa.string()),
        pa.array(columns.kind, pa.string()),
        pa.array(columns.detail, pa.string()),
        pa.array(columns.since_ns, pa.int64()),
        pa.array(np.asarray(columns.ts_event, dtype=np.uint64), pa.uint64()),
        pa.array(np.asarray(columns.ts_init, dtype=np.uint64), pa.uint64()),
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def read_feed_events(root: Path, instrument_id: str | None = None) -> pa.Table | None:
    """The feed events of the catalog at `root` (or of one instrument) by ts_init; None: none."""
    directory = root / DATA_DIR / FEED_EVENT_DIR
    files = sorted(directory.glob("*/*.parquet")) if directory.is_dir() else []
    tables = [
        pq.read_table(f, columns=["instrument_id", "kind", "detail", "ts_init"]) for f in files
    ]
    if not tables:
        return None
    table = pa.concat_tables([t.replace_schema_metadata(None) for t in tables])
    if instrument_id is not None:
        table = table.filter(pc.equal(table.column("instrument_id"), instrument_id))
    return table.sort_by([("instrument_id", "ascending"), ("ts_init", "ascending")])


def feed_event_notes(root: Path, instrument_id: str | None = None) -> list[str]:
    """One line per instrument with recorded feed events: sessions, resyncs and why, reconnects."""
    table = read_feed_events(root, instrument_id)
    if table is None or table.num_rows == 0:
        return []
    notes = []
    rows = table.to_pylist()
    for name in sorted({row["instrument_id"] for row in rows}):
        mine = [row for row in rows if row["instrument_id"] == name]
        kinds = Counter(row["kind"] for row in mine)
        parts = [f"{kinds[START]} recording session(s)"]
        resyncs = [row for row in mine if row["kind"] == RESYNC]
        if resyncs:
            reasons = Counter(row["detail"] or "unknown" for row in resyncs)
            why = ", ".join(f"{reason} x{count}" for reason, count in reasons.most_common())
            parts.append(
                f"{len(resyncs)} book resync(s) rebuilt from a snapshot ({why}), first at "
                f"{format_ns(resyncs[0]['ts_init'])}"
            )
        reconnects = [row for row in mine if row["kind"] == RECONNECT]
        if reconnects:
            parts.append(
                f"{len(reconnects)} reconnect(s), first at {format_ns(reconnects[0]['ts_init'])}"
            )
        notes.append(f"{name}: " + "; ".join(parts))
    return notes
