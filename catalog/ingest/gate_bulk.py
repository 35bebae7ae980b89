"""
Gate bulk CSV(.gz) files -> nautilus Arrow tables, one converter per kind (venues.md 1.8).

- futures `trades` (`timestamp, dealid, price, size`) -> TradeTick: size in contracts (|size|),
  aggressor BUYER when size > 0 (the taker bought), SELLER when < 0.
- spot `deals` (`timestamp, dealid, price, amount, side`) -> TradeTick: side 2 buy -> BUYER,
  1 sell -> SELLER (the taker's side).
- futures `orderbooks` -> OrderBookDelta through `gate_book` (snapshot, then absolute level sizes).
- `candlesticks_{interval}` (`timestamp, volume, close, high, low, open`) -> Bar
  `{instrument}-{step}-{unit}-LAST-EXTERNAL`. Gate stamps a candle with its open time; nautilus
  stamps a bar when it closes, so ts_event = timestamp + interval. The volume (contracts for
  futures) is rounded half-even to the instrument's size precision: it is an aggregate.
- futures `funding_applies` (`timestamp, funding_rate, ...`) -> nautilus `FundingRateUpdate`
  (stored by the catalog's own serializer: a few rows a day), with the contract's interval.
  Note: nautilus 1.231 reads `rate` back as a str (its serializer stores the Decimal as JSON
  text): readers take `Decimal(str(update.rate))`.

Times are parsed exactly (decimal seconds -> ns). ts_init is set by the writer (= ts_event, nudged
where the catalog needs strictly increasing values: see `catalog/ordering.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import BarSpecification
from nautilus_trader.model.data import BarType
from nautilus_trader.model.data import FundingRateUpdate
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggregationSource
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BarAggregation
from nautilus_trader.model.enums import PriceType
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.serialization.arrow.serializer import ArrowSerializer

from adapters.gate.parsing import perp_instrument_id
from adapters.gate.parsing import spot_instrument_id
from catalog.ingest.errors import IngestError
from catalog.ingest.formats import IngestHints
from catalog.ingest.formats import Source
from catalog.ingest.formats import SourceNotes
from catalog.ingest.formats import TableChunk
from catalog.ingest.formats import register_format
from catalog.ingest.gate_book import ACTIONS
from catalog.ingest.gate_book import BookReplayError
from catalog.ingest.gate_book import BookRows
from catalog.ingest.gate_book import GateBookReplay
from catalog.ingest.gate_book import message_boundary
from catalog.ingest.gate_csv import TIMESTAMP
from catalog.ingest.gate_csv import Chunk
from catalog.ingest.gate_csv import Column
from catalog.ingest.gate_csv import read_chunks
from catalog.ingest.gate_files import GateBulkFile
from catalog.ingest.gate_files import describe_file
from catalog.ingest.tables import bars_table
from catalog.ingest.tables import decimal_type
from catalog.ingest.tables import order_book_deltas_table
from catalog.ingest.tables import raw_from_int64
from catalog.ingest.tables import to_raw
from catalog.ingest.tables import trade_ticks_table

GATE_BULK = "gate-bulk"
_BUYER = int(AggressorSide.BUYER)
_SELLER = int(AggressorSide.SELLER)
_UNITS = {
    "s": (BarAggregation.SECOND, 1),
    "m": (BarAggregation.MINUTE, 60),
    "h": (BarAggregation.HOUR, 3600),
    "d": (BarAggregation.DAY, 86400),
}
_SPOT_SIDES = {1: _SELLER, 2: _BUYER}
_DATA_CLASSES = {"trades": TradeTick, "orderbooks": OrderBookDelta, "funding": FundingRateUpdate}


def source_for(file: GateBulkFile, path: Path) -> Source:
    """The pipeline's view of a Gate bulk file stored at `path`."""
    if file.market == "futures":
        instrument_id = perp_instrument_id(file.symbol)
    else:
        instrument_id = spot_instrument_id(file.symbol)
    output: tuple[type, str]
    if file.kind == "candles":
        output = (Bar, str(bar_type_for(instrument_id, file.interval or "1m")[0]))
    else:
        output = (_DATA_CLASSES[file.kind], instrument_id.value)
    return Source(
        path=path,
        format=GATE_BULK,
        venue="gate",
        market=file.market,
        symbol=file.symbol,
        instrument_id=instrument_id,
        kind=file.ledger_kind,
        name=file.name,
        nominal_range_ns=file.nominal_range_ns(),
        outputs=(output,),
        detail=file,
    )


class GateBulkFormat:
    name = GATE_BULK

    def describe(self, path: Path, hints: IngestHints) -> Source:
        file = describe_file(
            path,
            market=hints.market,
            kind=hints.kind,
            symbol=hints.symbol,
            interval=hints.interval,
        )
        return source_for(file, path)

    def tables(
        self, source: Source, instrument: Instrument, notes: SourceNotes
    ) -> Iterator[TableChunk]:
        file: GateBulkFile = source.detail
        converter = {
            "trades": trade_tables,
            "orderbooks": order_book_tables,
            "candles": bar_tables,
            "funding": funding_tables,
        }[file.kind]
        return converter(file, source.path, instrument, notes)


register_format(GateBulkFormat())


class _TimeOrder:
    """Rows must never go back in time (Gate writes each file in time order)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.last: int | None = None

    def check(self, ts: np.ndarray, first_row: int, *, upto: int | None = None) -> None:
        """Check `ts` against itself and the rows before; remember it up to row `upto`."""
        if not len(ts):
            return
        series = ts if self.last is None else np.concatenate([[self.last], ts])
        back = np.flatnonzero(np.diff(series) < 0)
        if len(back):
            line = first_row + int(back[0]) + (1 if self.last is None else 0)
            raise IngestError(
                f"{self.name}, line {line}: the timestamp goes back in time; a Gate file is in "
                "time order, so this one is damaged or was concatenated: use the original file"
            )
        end = len(ts) if upto is None else upto
        if end:
            self.last = int(ts[end - 1])


def _prices(instrument: Instrument) -> pa.DataType:
    return decimal_type(instrument.price_precision)


def _sizes(instrument: Instrument) -> pa.DataType:
    return decimal_type(instrument.size_precision)


# -- trades -----------------------------------------------------------------------------------


def trade_tables(
    file: GateBulkFile, path: Path, instrument: Instrument, notes: SourceNotes
) -> Iterator[TableChunk]:
    spot = file.market == "spot"
    columns = [
        Column("timestamp", TIMESTAMP),
        Column("dealid", pa.string()),
        Column("price", _prices(instrument)),
        Column("amount" if spot else "size", _sizes(instrument)),
    ]
    if spot:
        columns.append(Column("side", pa.int64()))
    order = _TimeOrder(file.name)
    what = "spot deals" if spot else "futures trades"
    for chunk in read_chunks(path, what, columns):
        ts = chunk.int64("timestamp")
        order.check(ts, chunk.first_row)
        size = chunk.int64(columns[3].name)
        if spot:
            aggressor = _spot_aggressor(chunk, file.name)
        else:
            aggressor = np.where(size > 0, _BUYER, _SELLER)
        keep = size != 0  # a zero-size trade has no side and no quantity
        notes.rows_read += len(ts)
        notes.skipped_rows += int((~keep).sum())
        price = chunk.array("price")
        trade_id = chunk.array("dealid")
        if not keep.all():
            mask = pa.array(keep)
            price, trade_id = price.filter(mask), trade_id.filter(mask)
        table = trade_ticks_table(
            instrument,
            price=to_raw(price),
            size=raw_from_int64(np.abs(size[keep]), instrument.size_precision),
            aggressor_side=aggressor[keep],
            trade_id=trade_id,
            ts_event=ts[keep],
        )
        yield TradeTick, instrument.id.value, table


def _spot_aggressor(chunk: Chunk, name: str) -> np.ndarray:
    sides = chunk.array("side").to_numpy()
    aggressor = np.zeros(len(sides), dtype=np.int64)
    for gate_side, nautilus_side in _SPOT_SIDES.items():
        aggressor[sides == gate_side] = nautilus_side
    bad = np.flatnonzero(aggressor == 0)
    if len(bad):
        raise IngestError(
            f"{name}, line {chunk.first_row + int(bad[0])}: side {sides[bad[0]]} is neither "
            "1 (sell) nor 2 (buy): is this a Gate spot deals file?"
        )
    return aggressor


# -- order books ------------------------------------------------------------------------------


def order_book_tables(
    file: GateBulkFile, path: Path, instrument: Instrument, notes: SourceNotes
) -> Iterator[TableChunk]:
    columns = [
        Column("timestamp", TIMESTAMP),
        Column("action", pa.string()),
        Column("price", _prices(instrument)),
        Column("size", _sizes(instrument)),
        Column("begin_id", pa.uint64()),
        Column("merged", pa.int64()),
    ]
    replay = GateBookReplay()
    order = _TimeOrder(file.name)
    pending: Chunk | None = None
    for chunk in read_chunks(path, "futures orderbooks", columns):
        if pending is not None:
            chunk = Chunk(pending.first_row, pa.concat_tables([pending.table, chunk.table]))
        rows = _book_rows(chunk, file.name)
        cut = message_boundary(rows.ts)
        order.check(rows.ts, chunk.first_row, upto=cut)
        if cut == 0:  # one message so far: wait for the rest of it
            pending = chunk
            continue
        yield _deltas(replay, _head(rows, cut), chunk.first_row, file.name, instrument)
        notes.rows_read += cut
        pending = Chunk(chunk.first_row + cut, chunk.table.slice(cut))
    if pending is not None and pending.table.num_rows:
        rows = _book_rows(pending, file.name)
        order.check(rows.ts, pending.first_row)
        yield _deltas(replay, rows, pending.first_row, file.name, instrument)
        notes.rows_read += len(rows.ts)
    notes.anomalies += replay.stats.anomalies
    notes.skipped_rows += replay.stats.unchanged
    if replay.stats.unsigned_snapshots:
        notes.remarks.append(
            f"{file.name}: {replay.stats.unsigned_snapshots} snapshot(s) had no signs; "
            "their sides were split at the mid the following changes show"
        )


def _book_rows(chunk: Chunk, name: str) -> BookRows:
    action = pc.index_in(chunk.array("action"), value_set=pa.array(ACTIONS))
    if action.null_count:
        bad = int(np.flatnonzero(action.is_null().to_numpy(zero_copy_only=False))[0])
        raise IngestError(
            f"{name}, line {chunk.first_row + bad}: action {chunk.array('action')[bad]} is not "
            "one of set, make, take: is this a Gate futures orderbooks file?"
        )
    return BookRows(
        ts=chunk.int64("timestamp"),
        action=action.to_numpy().astype(np.int64),
        price=chunk.int64("price"),
        size=chunk.int64("size"),
        sequence=chunk.array("begin_id").to_numpy(),
    )


def _head(rows: BookRows, end: int) -> BookRows:
    return BookRows(
        rows.ts[:end], rows.action[:end], rows.price[:end], rows.size[:end], rows.sequence[:end]
    )


def _deltas(
    replay: GateBookReplay, rows: BookRows, first_row: int, name: str, instrument: Instrument
) -> TableChunk:
    try:
        deltas = replay.replay(rows)
    except BookReplayError as error:
        raise IngestError(f"{name}, line {first_row + error.row}: {error.reason}") from error
    table = order_book_deltas_table(
        instrument,
        action=deltas.action,
        side=deltas.side,
        price=raw_from_int64(deltas.price, instrument.price_precision),
        size=raw_from_int64(deltas.size, instrument.size_precision),
        flags=deltas.flags,
        sequence=deltas.sequence,
        ts_event=deltas.ts,
    )
    return OrderBookDelta, instrument.id.value, table


# -- candles ----------------------------------------------------------------------------------


def bar_type_for(instrument_id: InstrumentId, interval: str) -> tuple[BarType, int]:
    """`1m` -> (`{id}-1-MINUTE-LAST-EXTERNAL`, 60 s in ns)."""
    step, unit = int(interval[:-1]), interval[-1]
    aggregation, seconds = _UNITS[unit]
    spec = BarSpecification(step, aggregation, PriceType.LAST)
    return BarType(instrument_id, spec, AggregationSource.EXTERNAL), step * seconds * 10**9


def bar_tables(
    file: GateBulkFile, path: Path, instrument: Instrument, notes: SourceNotes
) -> Iterator[TableChunk]:
    bar_type, interval_ns = bar_type_for(instrument.id, file.interval or "1m")
    prices = _prices(instrument)
    columns = [
        Column("timestamp", TIMESTAMP),
        Column("volume", decimal_type(18)),
        Column("close", prices),
        Column("high", prices),
        Column("low", prices),
        Column("open", prices),
    ]
    order = _TimeOrder(file.name)
    for chunk in read_chunks(path, "candlesticks", columns):
        ts = chunk.int64("timestamp")
        order.check(ts, chunk.first_row)
        _check_bars(chunk, file.name)
        volume = pc.round(chunk.array("volume"), ndigits=instrument.size_precision)
        volume = pc.cast(volume, _sizes(instrument))
        table = bars_table(
            instrument,
            bar_type,
            open_=to_raw(chunk.array("open")),
            high=to_raw(chunk.array("high")),
            low=to_raw(chunk.array("low")),
            close=to_raw(chunk.array("close")),
            volume=to_raw(volume),
            ts_event=ts + interval_ns,
        )
        notes.rows_read += len(ts)
        yield Bar, str(bar_type), table


def _check_bars(chunk: Chunk, name: str) -> None:
    o, h, low, c = (chunk.int64(n) for n in ("open", "high", "low", "close"))
    volume_negative = pc.less(chunk.array("volume"), pa.scalar(Decimal(0))).to_numpy(
        zero_copy_only=False
    )
    bad = np.flatnonzero(
        (h < np.maximum(o, c)) | (low > np.minimum(o, c)) | (low > h) | volume_negative
    )
    if len(bad):
        raise IngestError(
            f"{name}, line {chunk.first_row + int(bad[0])}: not a valid candle (high below "
            "open/close, low above them, or a negative volume); the columns must be "
            "timestamp, volume, close, high, low, open: is this a Gate candlesticks file?"
        )


# -- funding ----------------------------------------------------------------------------------


def funding_tables(
    file: GateBulkFile, path: Path, instrument: Instrument, notes: SourceNotes
) -> Iterator[TableChunk]:
    columns = [Column("timestamp", TIMESTAMP), Column("funding_rate", pa.string())]
    interval_s = (instrument.info or {}).get("funding_interval")
    interval_min = int(interval_s) // 60 if interval_s else None
    order = _TimeOrder(file.name)
    for chunk in read_chunks(path, "funding_applies", columns):
        ts = chunk.int64("timestamp")
        order.check(ts, chunk.first_row)
        rates = chunk.array("funding_rate").to_pylist()
        updates = [
            FundingRateUpdate(
                instrument.id,
                _rate(rate, chunk.first_row + i, file.name),
                t,
                t,
                interval=interval_min,
            )
            for i, (rate, t) in enumerate(zip(rates, ts.tolist(), strict=True))
        ]
        notes.rows_read += len(updates)
        yield FundingRateUpdate, instrument.id.value, _funding_table(updates)


def _funding_table(updates: list[FundingRateUpdate]) -> pa.Table:
    return ArrowSerializer.serialize_batch(updates, FundingRateUpdate)


def _rate(text: str, line: int, name: str) -> Decimal:
    try:
        rate = Decimal(text)
    except ArithmeticError:
        rate = None
    if rate is None or not rate.is_finite():
        raise IngestError(f"{name}, line {line}: funding rate {text!r} is not a number")
    return rate
