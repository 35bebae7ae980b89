"""
Checks that a catalog replays correctly: time order, file layout, duplicates and sane values.

Each check returns `Finding`s, one per problem kind and file, with the count and the first
offending timestamp, so a broken file of a million rows gives one line, not a million. Checks read
columns with pyarrow and work on whole arrays; the crossed-book check replays the L2 book
(`catalog.book`), a second or two for the sample's million Gate deltas.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from nautilus_trader.model.enums import BookAction

from catalog.book import F_SNAPSHOT
from catalog.book import Deltas
from catalog.book import deltas_from_tables
from catalog.book import message_ends
from catalog.book import replay
from catalog.columns import fixed_to_float
from catalog.columns import read_table
from catalog.columns import timestamps
from catalog.inspect import DataSeries
from catalog.inspect import format_ns
from catalog.inspect import group_series
from catalog.inspect import scan

_CLEAR = int(BookAction.CLEAR)


@dataclass(frozen=True)
class Finding:
    check: str  # e.g. "crossed book", "duplicate rows"
    instrument_id: str
    data_type: str
    file: Path | None
    ts: int | None  # the first offending ts_init
    detail: str
    count: int = 1

    def render(self, root: Path | None = None) -> str:
        where = self.file
        if where is not None and root is not None and where.is_relative_to(root):
            where = where.relative_to(root)
        times = f" x{self.count:,}" if self.count > 1 else ""
        return (
            f"{self.check}{times}: {self.instrument_id} {self.data_type} "
            f"file={where or '-'} first at {format_ns(self.ts)}: {self.detail}"
        )


@dataclass(frozen=True)
class _Rows:
    """One series read whole: the table, its ts_init, and where each file's rows begin."""

    series: DataSeries
    tables: list[pa.Table]  # one per file
    table: pa.Table
    ts_init: np.ndarray
    file_starts: np.ndarray

    def file_of(self, row: int) -> Path:
        return self.series.paths[int(np.searchsorted(self.file_starts, row, side="right")) - 1]

    def finding(self, check: str, rows: np.ndarray, detail: str) -> Finding:
        """A finding at the first of `rows` (indices into the series), counting all of them."""
        first = int(rows[0])
        return Finding(
            check=check,
            instrument_id=self.series.instrument_id,
            data_type=self.series.data_type,
            file=self.file_of(first),
            ts=int(self.ts_init[first]),
            detail=detail,
            count=len(rows),
        )


def _read_rows(series: DataSeries) -> _Rows:
    tables = [read_table([path]) for path in series.paths]
    lengths = np.array([t.num_rows for t in tables], dtype=np.int64)
    table = pa.concat_tables(tables)
    return _Rows(
        series=series,
        tables=tables,
        table=table,
        ts_init=timestamps(table.column("ts_init")),
        file_starts=np.concatenate([[0], np.cumsum(lengths)[:-1]]),
    )


# -- layout (footers only) --------------------------------------------------------------------


def check_layout(series: DataSeries) -> list[Finding]:
    """File names that disagree with their contents, and files whose time ranges overlap."""
    findings = []
    for file in series.files:
        content = (file.first_ts, file.last_ts)
        if file.named_range is None:
            detail = (
                "file name is not {first ts_init}_{last ts_init}.parquet: nautilus cannot tell "
                "its time range"
            )
        elif file.rows and file.named_range != content:
            detail = (
                f"file name says {format_ns(file.named_range[0])}..{format_ns(file.named_range[1])}"
                f" but the rows span {format_ns(content[0])}..{format_ns(content[1])}; "
                "time-filtered queries select files by name"
            )
        else:
            continue
        findings.append(
            Finding("file name range", file.instrument_id, file.data_type, file.path, None, detail)
        )
    ordered = [f for f in series.files if f.first_ts is not None]
    for previous, current in itertools.pairwise(ordered):
        if current.first_ts <= previous.last_ts:
            findings.append(
                Finding(
                    "overlapping files",
                    current.instrument_id,
                    current.data_type,
                    current.path,
                    current.first_ts,
                    f"starts at or before the end of {previous.path.name} "
                    f"({format_ns(previous.last_ts)}); nautilus needs disjoint files per series",
                )
            )
    return findings


# -- generic row checks -----------------------------------------------------------------------


def check_monotone(rows: _Rows) -> list[Finding]:
    """ts_init and ts_event never decrease within a file (order across files: `check_layout`)."""
    findings = []
    ends = [*rows.file_starts[1:].tolist(), len(rows.ts_init)]
    for name in ("ts_init", "ts_event"):
        if name not in rows.table.column_names:
            continue
        stamps = timestamps(rows.table.column(name))
        for begin, end in zip(rows.file_starts.tolist(), ends, strict=True):
            back = np.flatnonzero(np.diff(stamps[begin:end]) < 0) + begin + 1
            if len(back):
                first = int(back[0])
                findings.append(
                    rows.finding(
                        f"non-monotone {name}",
                        back,
                        f"{name} goes back from {format_ns(int(stamps[first - 1]))} "
                        f"to {format_ns(int(stamps[first]))} (row {first - begin} of the file)",
                    )
                )
    return findings


def _key_columns(table: pa.Table) -> list[np.ndarray]:
    """Every column as integer arrays that are equal exactly when the values are."""
    keys = []
    for column in table.columns:
        array = column.combine_chunks()
        if pa.types.is_dictionary(array.type):
            array = array.cast(array.type.value_type)
        if pa.types.is_fixed_size_binary(array.type):
            words = array.type.byte_width // 8
            data = np.frombuffer(array.buffers()[1], dtype="<i8")
            data = data[array.offset * words : (array.offset + len(array)) * words]
            keys.extend(data.reshape(-1, words).T)
        elif pa.types.is_integer(array.type):
            # Optional columns (a funding rate's interval) hold nulls: null is its own value.
            if array.null_count:
                keys.append(array.is_null().to_numpy(zero_copy_only=False).astype(np.int64))
            keys.append(array.fill_null(0).to_numpy().astype(np.int64, copy=False))
        else:
            indices = pc.dictionary_encode(array).indices.fill_null(-1)
            keys.append(indices.to_numpy().astype(np.int64))
    return keys


def _duplicates(keys: list[np.ndarray], ts_init: np.ndarray) -> np.ndarray:
    """Rows equal in every key to an earlier row (indices, ascending)."""
    # Equal rows share ts_init, so only rows with a ts_init seen twice are compared in full.
    order = np.argsort(ts_init, kind="stable")
    same = np.diff(ts_init[order]) == 0
    shared = np.zeros(len(order), dtype=bool)
    shared[1:] |= same
    shared[:-1] |= same
    candidates = np.sort(order[shared])
    if len(candidates) < 2:
        return np.empty(0, dtype=np.int64)
    subset = [key[candidates] for key in keys]
    ranked = np.lexsort([np.arange(len(candidates)), *subset[::-1]])
    equal = np.ones(len(ranked) - 1, dtype=bool)
    for key in subset:
        column = key[ranked]
        equal &= column[1:] == column[:-1]
    return np.sort(candidates[ranked[1:][equal]])


def duplicate_rows(rows: _Rows) -> np.ndarray:
    """Rows repeated in full (all columns equal), e.g. the same data ingested twice."""
    return _duplicates(_key_columns(rows.table), rows.ts_init)


# -- per data type ----------------------------------------------------------------------------


def check_trades(rows: _Rows, duplicate_rows: np.ndarray) -> list[Finding]:
    """Prices and sizes above zero; trade ids unique (besides rows repeated in full)."""
    findings = []
    for name in ("price", "size"):
        bad = np.flatnonzero(fixed_to_float(rows.table.column(name)) <= 0)
        if len(bad):
            value = fixed_to_float(rows.table.column(name).slice(int(bad[0]), 1))[0]
            findings.append(
                rows.finding(f"non-positive trade {name}", bad, f"trade {name} is {value:g}")
            )
    ids = pc.dictionary_encode(rows.table.column("trade_id").combine_chunks()).indices
    codes = ids.to_numpy()
    _unique, first_index = np.unique(codes, return_index=True)
    repeated = np.setdiff1d(np.arange(len(codes)), first_index)
    only_id = np.setdiff1d(repeated, duplicate_rows)
    if len(only_id):
        trade_id = rows.table.column("trade_id")[int(only_id[0])].as_py()
        findings.append(
            rows.finding(
                "duplicate trade id",
                only_id,
                f"trade id {trade_id} is used by different trades",
            )
        )
    return findings


def check_bars(rows: _Rows) -> list[Finding]:
    high = fixed_to_float(rows.table.column("high"))
    low = fixed_to_float(rows.table.column("low"))
    bad = np.flatnonzero(high < low)
    if not len(bad):
        return []
    first = int(bad[0])
    return [rows.finding("bar high < low", bad, f"high {high[first]:g} < low {low[first]:g}")]


def check_crossed_book(deltas: Deltas) -> list[Finding]:
    """Best bid >= best ask after a complete message (inside one, a book may cross briefly)."""
    book = replay(deltas)
    crossed = np.flatnonzero(book.bid >= book.ask)
    if not len(crossed):
        return []
    first = int(crossed[0])
    row = int(book.row[first])
    return [
        Finding(
            "crossed book",
            deltas.instrument_id,
            "order_book_deltas",
            deltas.file_of(row),
            int(book.ts[first]),
            f"best bid {book.bid[first]:g} >= best ask {book.ask[first]:g} after the message "
            f"ending at row {row - _file_start(deltas.file_starts, row)} of the file",
            count=len(crossed),
        )
    ]


def _file_start(file_starts: np.ndarray, row: int) -> int:
    return int(file_starts[np.searchsorted(file_starts, row, side="right") - 1])


_COUNTER_SHARE = 0.95


def check_sequence(deltas: Deltas) -> list[Finding]:
    """Message sequence numbers: never backwards, and no gaps when they count messages.

    A sequence that counts messages (95 % of steps +1) has gaps where it jumps by more. Venue update
    ids that advance by varying steps (Gate's `u`) are only checked for going backwards. A step
    into a snapshot (a CLEAR) is a resync and is not a gap.
    """
    if not deltas.sequence.any():
        return []
    ends = np.flatnonzero(message_ends(deltas))
    starts = np.concatenate([[0], ends[:-1] + 1])
    sequence = deltas.sequence[ends]
    resync = (deltas.action[starts] == _CLEAR) | ((deltas.flags[starts] & F_SNAPSHOT) != 0)
    steps = np.diff(sequence)
    checked = ~resync[1:]
    findings = []

    def finding(check: str, at: np.ndarray, detail: Callable[[int], str]) -> Finding:
        first = int(at[0])
        row = int(starts[first + 1])
        return Finding(
            check,
            deltas.instrument_id,
            "order_book_deltas",
            deltas.file_of(row),
            int(deltas.ts_init[row]),
            detail(first),
            count=len(at),
        )

    back = np.flatnonzero(checked & (steps < 0))
    if len(back):
        findings.append(
            finding(
                "sequence goes back",
                back,
                lambda i: f"sequence {sequence[i + 1]} follows {sequence[i]}",
            )
        )
    positive = steps[checked & (steps > 0)]
    # A message counter steps by 1 nearly always; venue update ids (Gate's `u`) step by the
    # number of changes in a message, which on a quiet book is often, but far from always, 1.
    counts_messages = bool(len(positive)) and (positive == 1).mean() >= _COUNTER_SHARE
    gaps = np.flatnonzero(checked & (steps > 1)) if counts_messages else np.empty(0, int)
    if len(gaps):
        findings.append(
            finding(
                "sequence gap",
                gaps,
                lambda i: (
                    f"sequence jumps from {sequence[i]} to {sequence[i + 1]} "
                    f"({sequence[i + 1] - sequence[i] - 1} messages missing)"
                ),
            )
        )
    return findings


def validate_series(series: DataSeries) -> list[Finding]:
    findings = check_layout(series)
    rows = _read_rows(series)
    findings += check_monotone(rows)
    repeated = duplicate_rows(rows)
    if len(repeated):
        findings.append(
            rows.finding("duplicate rows", repeated, "the same row appears more than once")
        )
    if series.data_type == "trade_tick":
        findings += check_trades(rows, repeated)
    elif series.data_type == "bar":
        findings += check_bars(rows)
    elif series.data_type == "order_book_deltas":
        deltas = deltas_from_tables(series, rows.tables)
        findings += check_crossed_book(deltas)
        findings += check_sequence(deltas)
    return findings


def validate_catalog(
    path: Path | str,
    *,
    instrument_id: str | None = None,
    on_series: Callable[[DataSeries], None] | None = None,
) -> list[Finding]:
    """Every finding for the catalog at `path` (or only `instrument_id`'s data)."""
    files, definitions = scan(path)
    series = [
        s for s in group_series(files) if instrument_id is None or s.instrument_id == instrument_id
    ]
    undefined = {s.instrument_id: s for s in series if s.instrument_id not in definitions}
    findings = [
        Finding(
            "missing instrument",
            s.instrument_id,
            s.data_type,
            None,
            s.first_ts,
            "data without an instrument definition: backtests cannot load it",
        )
        for s in undefined.values()
    ]
    for one in series:
        findings += validate_series(one)
        if on_series is not None:
            on_series(one)
    return findings
