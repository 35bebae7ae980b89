"""
L2 order book replay over the columns of catalog `order_book_deltas` files.

One pass over NumPy-decoded columns keeps each side as a dict of price -> size (integer units),
and records the top of book at the end of every venue message (the delta flagged F_LAST; when a
feed sets no flags, the last delta of a ts_event), which is where a book is meant to be consistent.
On this machine the sample's 1.05M Gate deltas load in 0.55 s and replay in 0.96 s (nautilus
objects: 1.2 s to query, 2.0 s through `OrderBook`), and the arrays feed NumPy directly.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag

from catalog.columns import fixed_to_units
from catalog.columns import read_table
from catalog.columns import timestamps
from catalog.inspect import DataSeries

_ADD = int(BookAction.ADD)
_UPDATE = int(BookAction.UPDATE)
_DELETE = int(BookAction.DELETE)
_CLEAR = int(BookAction.CLEAR)
_BUY = int(OrderSide.BUY)
F_LAST = int(RecordFlag.F_LAST)
F_SNAPSHOT = int(RecordFlag.F_SNAPSHOT)

DELTA_COLUMNS = ["action", "side", "price", "size", "flags", "sequence", "ts_event", "ts_init"]


@dataclass(frozen=True)
class Deltas:
    """The deltas of one instrument in replay order; prices and sizes in integer units."""

    instrument_id: str
    price_precision: int  # price units are 10**-price_precision
    size_precision: int
    action: np.ndarray
    side: np.ndarray
    price: np.ndarray  # int64 units
    size: np.ndarray  # int64 units
    flags: np.ndarray
    sequence: np.ndarray
    ts_event: np.ndarray
    ts_init: np.ndarray
    files: tuple[Path, ...]
    file_starts: np.ndarray  # row index where each file's rows begin

    def __len__(self) -> int:
        return len(self.ts_init)

    def file_of(self, row: int) -> Path:
        return self.files[int(np.searchsorted(self.file_starts, row, side="right")) - 1]


def load_deltas(series: DataSeries, *, end_ns: int | None = None) -> Deltas:
    """Every delta of `series` up to `end_ns` (a book needs its history: no start filter)."""
    if series.data_type != "order_book_deltas":
        raise ValueError(f"{series.data_type} is not order_book_deltas")
    tables = [read_table([path], DELTA_COLUMNS, end_ns=end_ns) for path in series.paths]
    return deltas_from_tables(series, tables)


def deltas_from_tables(series: DataSeries, tables: list[pa.Table]) -> Deltas:
    """`Deltas` from the tables read from each of `series`' files (same order)."""
    price_precision = max((f.price_precision or 0) for f in series.files)
    size_precision = max((f.size_precision or 0) for f in series.files)
    lengths = np.array([t.num_rows for t in tables], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])

    def column(name: str) -> np.ndarray:
        parts = [t.column(name) for t in tables]
        if name in ("price", "size"):
            precision = price_precision if name == "price" else size_precision
            decoded = [fixed_to_units(p, precision) for p in parts]
        elif name.startswith("ts_"):
            decoded = [timestamps(p) for p in parts]
        else:
            decoded = [p.to_numpy().astype(np.int64) for p in parts]
        return np.concatenate(decoded) if decoded else np.empty(0, dtype=np.int64)

    return Deltas(
        instrument_id=series.instrument_id,
        price_precision=price_precision,
        size_precision=size_precision,
        action=column("action"),
        side=column("side"),
        price=column("price"),
        size=column("size"),
        flags=column("flags"),
        sequence=column("sequence"),
        ts_event=column("ts_event"),
        ts_init=column("ts_init"),
        files=tuple(series.paths),
        file_starts=starts,
    )


def message_ends(deltas: Deltas) -> np.ndarray:
    """True on the last delta of each venue message."""
    n = len(deltas)
    if n == 0:
        return np.zeros(0, dtype=bool)
    if (deltas.flags & F_LAST).any():
        ends = (deltas.flags & F_LAST) != 0
    else:
        ends = np.empty(n, dtype=bool)
        ends[:-1] = deltas.ts_event[1:] != deltas.ts_event[:-1]
    ends[-1] = True
    return ends


@dataclass(frozen=True)
class Replay:
    """Top of book after every message, and depth at the requested snapshot times."""

    ts: np.ndarray  # ts_init of each message's last delta
    row: np.ndarray  # index of that delta
    bid: np.ndarray  # best bid (price units, float; NaN when the side is empty)
    ask: np.ndarray
    bid_size: np.ndarray  # size at the touch (size units, float)
    ask_size: np.ndarray
    snapshot_times: np.ndarray
    bid_depth: np.ndarray  # summed size of the best `depth_levels` levels at each snapshot time
    ask_depth: np.ndarray


def _depth(levels: dict[int, int], count: int, best_high: bool) -> int:
    chosen = heapq.nlargest(count, levels) if best_high else heapq.nsmallest(count, levels)
    return sum(levels[p] for p in chosen)


def replay(
    deltas: Deltas, snapshot_times: np.ndarray | None = None, depth_levels: int = 5
) -> Replay:
    """Apply the deltas in order (L2: a price level's size is replaced; size 0 deletes it)."""
    times = np.sort(np.asarray(snapshot_times if snapshot_times is not None else [], np.int64))
    wanted = times.tolist()
    next_snapshot = 0
    bid_depth: list[float] = []
    ask_depth: list[float] = []

    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    best_bid: int | None = None
    best_ask: int | None = None
    stale_bid = stale_ask = False
    out_ts: list[int] = []
    out_row: list[int] = []
    out_bid: list[float] = []
    out_ask: list[float] = []
    out_bid_size: list[float] = []
    out_ask_size: list[float] = []
    nan = float("nan")
    at_boundary = True
    rows = zip(
        deltas.action.tolist(),
        deltas.side.tolist(),
        deltas.price.tolist(),
        deltas.size.tolist(),
        message_ends(deltas).tolist(),
        deltas.ts_init.tolist(),
        strict=True,
    )
    for index, (action, side, price, size, last, ts) in enumerate(rows):
        if at_boundary and next_snapshot < len(wanted) and wanted[next_snapshot] < ts:
            # The book as of every snapshot time before this message starts.
            while next_snapshot < len(wanted) and wanted[next_snapshot] < ts:
                bid_depth.append(_depth(bids, depth_levels, True))
                ask_depth.append(_depth(asks, depth_levels, False))
                next_snapshot += 1
        if action == _CLEAR:
            bids.clear()
            asks.clear()
            best_bid = best_ask = None
            stale_bid = stale_ask = False
        elif side == _BUY:
            if action == _DELETE or size <= 0:
                if bids.pop(price, None) is not None and price == best_bid:
                    stale_bid = True
            else:
                bids[price] = size
                if best_bid is None or price > best_bid:
                    best_bid = price
        elif action == _DELETE or size <= 0:
            if asks.pop(price, None) is not None and price == best_ask:
                stale_ask = True
        else:
            asks[price] = size
            if best_ask is None or price < best_ask:
                best_ask = price
        at_boundary = last
        if not last:
            continue
        if stale_bid:
            best_bid = max(bids) if bids else None
            stale_bid = False
        if stale_ask:
            best_ask = min(asks) if asks else None
            stale_ask = False
        out_ts.append(ts)
        out_row.append(index)
        if best_bid is None:
            out_bid.append(nan)
            out_bid_size.append(nan)
        else:
            out_bid.append(best_bid)
            out_bid_size.append(bids[best_bid])
        if best_ask is None:
            out_ask.append(nan)
            out_ask_size.append(nan)
        else:
            out_ask.append(best_ask)
            out_ask_size.append(asks[best_ask])
    for _ in range(next_snapshot, len(wanted)):
        bid_depth.append(_depth(bids, depth_levels, True))
        ask_depth.append(_depth(asks, depth_levels, False))

    price_scale = 10.0**deltas.price_precision
    size_scale = 10.0**deltas.size_precision
    return Replay(
        ts=np.array(out_ts, dtype=np.int64),
        row=np.array(out_row, dtype=np.int64),
        bid=np.array(out_bid) / price_scale,
        ask=np.array(out_ask) / price_scale,
        bid_size=np.array(out_bid_size) / size_scale,
        ask_size=np.array(out_ask_size) / size_scale,
        snapshot_times=times,
        bid_depth=np.array(bid_depth, dtype=np.float64) / size_scale,
        ask_depth=np.array(ask_depth, dtype=np.float64) / size_scale,
    )
