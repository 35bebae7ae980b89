"""
The raw journal `catalog record` writes (`*.jsonl`), and its ingest (`catalog ingest *.jsonl`).

One file per instrument and recording chunk. The first line defines the instrument; every other
line is one event as the recording node received it (a book batch is one line), appended and
flushed as it arrives, so a recorder that dies loses at most the line it was writing (an
incomplete last line is skipped on ingest, with a remark). `type` tells the lines apart:

    {"type":"instrument","ts_init":I,"definition":{...}}    nautilus' `Instrument.to_dict()`
    {"type":"deltas","instrument_id":"BTC_USDT-PERP.GATE","sequence":S,"ts_event":E,"ts_init":I,
     "deltas":[[action,side,"price","size",order_id,flags],...]}   BookAction, OrderSide as ints
    {"type":"quote","instrument_id":..,"bid_price":"..","ask_price":"..","bid_size":"..",
     "ask_size":"..","ts_event":E,"ts_init":I}
    {"type":"trade","instrument_id":..,"price":"..","size":"..","aggressor_side":1,"trade_id":"..",
     "ts_event":E,"ts_init":I}                                         AggressorSide as an int
    {"type":"funding","instrument_id":..,"rate":"0.0001","interval":480,"next_funding_ns":N,...}
    {"type":"feed","instrument_id":..,"kind":"resync","detail":"..","since_ns":N,...}   FeedEvent

Prices and sizes are the exact decimal text. ts_event is the venue's time, ts_init the receive time
in the recording node: rows are ordered by ts_init (the order the node saw them, which a venue's
clock may not keep), and a receive time that goes back (a clock step) is held at the previous one.
Ingesting a journal gives the rows the recorder committed from it: the recorder commits each
chunk by ingesting its files.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
from nautilus_trader.model import instruments as nautilus_instruments
from nautilus_trader.model.data import FundingRateUpdate
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.persistence.funcs import urisafe_identifier
from nautilus_trader.serialization.arrow.serializer import ArrowSerializer

from catalog.feed_events import FeedEvent
from catalog.feed_events import FeedEventColumns
from catalog.feed_events import feed_events_table
from catalog.ingest.errors import IngestError
from catalog.ingest.errors import IngestUsageError
from catalog.ingest.formats import IngestHints
from catalog.ingest.formats import Source
from catalog.ingest.formats import SourceNotes
from catalog.ingest.formats import TableChunk
from catalog.ingest.formats import register_format
from catalog.ingest.pipeline import IngestSummary
from catalog.ingest.pipeline import ingest_files
from catalog.ingest.tables import decimal_type
from catalog.ingest.tables import order_book_deltas_table
from catalog.ingest.tables import quote_ticks_table
from catalog.ingest.tables import to_raw
from catalog.ingest.tables import trade_ticks_table

RECORD_JSONL = "record-jsonl"
SUFFIX = ".jsonl"
LEDGER_KIND = "recording"
_CHUNK_ROWS = 100_000  # rows of one type converted and written at a time


class _Line(msgspec.Struct, tag_field="type", frozen=True):
    pass


class InstrumentLine(_Line, tag="instrument"):
    ts_init: int
    definition: dict[str, Any]


class DeltasLine(_Line, tag="deltas"):
    instrument_id: str
    sequence: int
    ts_event: int
    ts_init: int
    deltas: list[tuple[int, int, str, str, int, int]]  # action, side, price, size, order_id, flags


class QuoteLine(_Line, tag="quote"):
    instrument_id: str
    bid_price: str
    ask_price: str
    bid_size: str
    ask_size: str
    ts_event: int
    ts_init: int


class TradeLine(_Line, tag="trade"):
    instrument_id: str
    price: str
    size: str
    aggressor_side: int
    trade_id: str
    ts_event: int
    ts_init: int


class FundingLine(_Line, tag="funding"):
    instrument_id: str
    rate: str
    interval: int | None
    next_funding_ns: int | None
    ts_event: int
    ts_init: int


class FeedLine(_Line, tag="feed"):
    instrument_id: str
    kind: str
    detail: str
    since_ns: int
    ts_event: int
    ts_init: int


Line = InstrumentLine | DeltasLine | QuoteLine | TradeLine | FundingLine | FeedLine
EventLine = DeltasLine | QuoteLine | TradeLine | FundingLine | FeedLine

_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(Line)


# -- writing ------------------------------------------------------------------------------------


def journal_file_name(instrument_id: InstrumentId, stamp: str) -> str:
    """`{instrument_id}.{stamp}.jsonl` (the id made safe for a file name)."""
    return f"{urisafe_identifier(instrument_id.value)}.{stamp}{SUFFIX}"


def encode(line: Line) -> bytes:
    return _ENCODER.encode(line) + b"\n"


def instrument_line(instrument: Instrument, ts_init: int) -> bytes:
    return encode(InstrumentLine(ts_init, type(instrument).to_dict(instrument)))


def event_lines(data: Any) -> list[bytes]:
    """The journal lines of one received event (an instrument is `instrument_line`'s job)."""
    if isinstance(data, OrderBookDeltas):
        return [encode(line) for line in _deltas_lines(data.deltas)]
    if isinstance(data, OrderBookDelta):
        return [encode(line) for line in _deltas_lines([data])]
    return [encode(_event_line(data))]


def _event_line(data: Any) -> EventLine:
    instrument_id = data.instrument_id.value
    if isinstance(data, QuoteTick):
        return QuoteLine(
            instrument_id,
            str(data.bid_price),
            str(data.ask_price),
            str(data.bid_size),
            str(data.ask_size),
            data.ts_event,
            data.ts_init,
        )
    if isinstance(data, TradeTick):
        return TradeLine(
            instrument_id,
            str(data.price),
            str(data.size),
            int(data.aggressor_side),
            data.trade_id.value,
            data.ts_event,
            data.ts_init,
        )
    if isinstance(data, FundingRateUpdate):
        return FundingLine(
            instrument_id,
            str(data.rate),
            data.interval,
            data.next_funding_ns,
            data.ts_event,
            data.ts_init,
        )
    if isinstance(data, FeedEvent):
        return FeedLine(
            instrument_id, data.kind, data.detail, data.since_ns, data.ts_event, data.ts_init
        )
    raise TypeError(f"{type(data).__name__} is not recorded in the journal")


def _deltas_lines(deltas: list[OrderBookDelta]) -> list[DeltasLine]:
    """One line per run of deltas sharing sequence and times (a venue message: one line)."""
    lines = []
    for (sequence, ts_event, ts_init), run in itertools.groupby(
        deltas, key=lambda d: (d.sequence, d.ts_event, d.ts_init)
    ):
        rows = [
            (
                int(d.action),
                int(d.order.side),
                str(d.order.price),
                str(d.order.size),
                d.order.order_id,
                d.flags,
            )
            for d in run
        ]
        lines.append(DeltasLine(deltas[0].instrument_id.value, sequence, ts_event, ts_init, rows))
    return lines


# -- reading ------------------------------------------------------------------------------------


def instrument_from_definition(definition: dict[str, Any]) -> Instrument:
    cls = getattr(nautilus_instruments, str(definition.get("type")), None)
    if not (isinstance(cls, type) and issubclass(cls, Instrument)):
        raise ValueError(f"unknown instrument type {definition.get('type')!r}")
    return cls.from_dict(definition)


def read_header(path: Path) -> Instrument:
    """The instrument a journal file records (its first line)."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline()
        line = _DECODER.decode(first)
        if not isinstance(line, InstrumentLine):
            raise ValueError(f"the first line is a {type(line).__name__}, not the instrument")
        return instrument_from_definition(line.definition)
    except (OSError, ValueError, msgspec.DecodeError, msgspec.ValidationError) as error:
        raise IngestUsageError(
            f"{path} is not a `catalog record` journal ({error}): its first line must define "
            "the instrument. Pass the .jsonl files a recording wrote, unchanged"
        ) from error


class RecordJsonlFormat:
    name = RECORD_JSONL

    def describe(self, path: Path, hints: IngestHints) -> Source:
        instrument = read_header(path)
        identifier = instrument.id.value
        return Source(
            path=path,
            format=RECORD_JSONL,
            venue=instrument.id.venue.value.lower(),
            market=type(instrument).__name__,
            symbol=instrument.raw_symbol.value,
            instrument_id=instrument.id,
            kind=LEDGER_KIND,
            name=path.name,
            nominal_range_ns=None,  # known only once read; the writer checks overlaps then
            outputs=tuple(
                (cls, identifier)
                for cls in (OrderBookDelta, QuoteTick, TradeTick, FundingRateUpdate, FeedEvent)
            ),
            detail=instrument,
            order_by="ts_init",
        )

    def tables(
        self, source: Source, instrument: Instrument, notes: SourceNotes
    ) -> Iterator[TableChunk]:
        recorded: Instrument = source.detail
        precisions = (recorded.price_precision, recorded.size_precision)
        if precisions != (instrument.price_precision, instrument.size_precision):
            # nautilus reads a series only when all its files share one precision.
            raise IngestError(
                f"{source.path} was recorded at price/size precision {precisions[0]}/"
                f"{precisions[1]}, but the catalog has {instrument.id} at "
                f"{instrument.price_precision}/{instrument.size_precision} (its tick size "
                "changed): one series cannot mix precisions. The journal keeps the data: ingest "
                "this file and the ones after it into another catalog (--catalog PATH)"
            )
        return _JournalReader(source.path, recorded, notes).tables()


register_format(RecordJsonlFormat())


def ingest_recordings(
    catalog_path: Path, paths: list[Path], *, progress: bool = True
) -> IngestSummary:
    """`catalog ingest` of journal files: each file's instrument comes from its first line."""
    return ingest_files(
        catalog_path,
        paths,
        format_name=RECORD_JSONL,
        hints=IngestHints(),
        fetch_instrument=lambda source: source.detail,
        progress=progress,
    )


class _JournalReader:
    """One journal file -> nautilus Arrow tables, a type at a time in chunks, in arrival order."""

    def __init__(self, path: Path, instrument: Instrument, notes: SourceNotes) -> None:
        self.path = path
        self.instrument = instrument
        self.notes = notes
        self.identifier = instrument.id.value
        self.rows: dict[type, list[Any]] = {}
        self.last_ts_init: dict[type, int] = {}
        self.clock_steps = 0

    def tables(self) -> Iterator[TableChunk]:
        with open(self.path, "rb") as handle:
            handle.readline()  # the header, read by `describe`
            for number, raw in enumerate(handle, start=2):
                line = self._decode(raw, number)
                if line is None:
                    continue
                kind = type(line)
                self.notes.rows_read += 1
                self.rows.setdefault(kind, []).append(self._in_order(kind, line))
                if len(self.rows[kind]) >= _CHUNK_ROWS:
                    yield self._table(kind, self.rows.pop(kind))
        for kind in list(self.rows):
            yield self._table(kind, self.rows.pop(kind))
        if self.clock_steps:
            self.notes.remarks.append(
                f"{self.path.name}: {self.clock_steps:,} event(s) received while the recording "
                "node's clock stepped back; kept in arrival order at the previous receive time"
            )

    def _decode(self, raw: bytes, number: int) -> EventLine | None:
        if not raw.endswith(b"\n"):
            # The recorder died while writing its last line: everything before it is whole.
            self.notes.skipped_rows += 1
            self.notes.remarks.append(
                f"{self.path.name}, line {number}: incomplete last line (the recorder stopped "
                "while writing it), skipped"
            )
            return None
        try:
            line = _DECODER.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            raise IngestError(
                f"{self.path}, line {number}: not a journal line ({error}). The file was changed "
                "after recording: restore it, or cut it before this line"
            ) from error
        if isinstance(line, InstrumentLine):
            self._check_definition(line, number)
            return None
        if isinstance(line, DeltasLine) and not line.deltas:
            return None  # an empty batch changes nothing (nautilus never sends one)
        if line.instrument_id != self.identifier:
            raise IngestError(
                f"{self.path}, line {number}: an event of {line.instrument_id} in the journal of "
                f"{self.identifier}. A journal file holds one instrument: pass the files a "
                "recording wrote, unchanged"
            )
        return line

    def _check_definition(self, line: InstrumentLine, number: int) -> None:
        later = instrument_from_definition(line.definition)
        if (later.price_precision, later.size_precision) != (
            self.instrument.price_precision,
            self.instrument.size_precision,
        ):
            raise IngestError(
                f"{self.path}, line {number}: the instrument's precision changes within the file "
                f"(price {self.instrument.price_precision} -> {later.price_precision}); the "
                "recorder starts a new file when it does, so this one was edited: split it there"
            )

    def _in_order(self, kind: type, line: EventLine) -> EventLine:
        last = self.last_ts_init.get(kind, 0)
        if line.ts_init < last:
            self.clock_steps += 1
            return msgspec.structs.replace(line, ts_init=last)
        self.last_ts_init[kind] = line.ts_init
        return line

    def _table(self, kind: type, lines: list[Any]) -> TableChunk:
        if kind is DeltasLine:
            return OrderBookDelta, self.identifier, self._deltas(lines)
        if kind is QuoteLine:
            return QuoteTick, self.identifier, self._quotes(lines)
        if kind is TradeLine:
            return TradeTick, self.identifier, self._trades(lines)
        if kind is FundingLine:
            return FundingRateUpdate, self.identifier, self._funding(lines)
        return FeedEvent, self.identifier, self._feed(lines)

    def _raw(self, values: list[str], precision: int, what: str) -> pa.Array:
        try:
            return to_raw(pa.array(values, pa.string()).cast(decimal_type(precision)))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise IngestError(
                f"{self.path}: a {what} is not a number with at most {precision} decimals "
                f"({error}); the journal does not match its instrument definition"
            ) from error

    def _prices(self, values: list[str]) -> pa.Array:
        return self._raw(values, self.instrument.price_precision, "price")

    def _sizes(self, values: list[str]) -> pa.Array:
        return self._raw(values, self.instrument.size_precision, "size")

    def _deltas(self, lines: list[DeltasLine]) -> pa.Table:
        counts = [len(line.deltas) for line in lines]
        rows = [row for line in lines for row in line.deltas]
        action, side, price, size, order_id, flags = (list(c) for c in zip(*rows, strict=True))
        if any(order_id):
            raise IngestError(
                f"{self.path}: book deltas with order ids (an L3 book); recordings are L2"
            )

        def per_row(values: list[int]) -> np.ndarray:
            return np.repeat(np.asarray(values, dtype=np.int64), counts)

        return order_book_deltas_table(
            self.instrument,
            action=np.asarray(action),
            side=np.asarray(side),
            price=self._prices(price),
            size=self._sizes(size),
            flags=np.asarray(flags),
            sequence=per_row([line.sequence for line in lines]),
            ts_event=per_row([line.ts_event for line in lines]),
            ts_init=per_row([line.ts_init for line in lines]),
        )

    def _quotes(self, lines: list[QuoteLine]) -> pa.Table:
        return quote_ticks_table(
            self.instrument,
            bid_price=self._prices([q.bid_price for q in lines]),
            ask_price=self._prices([q.ask_price for q in lines]),
            bid_size=self._sizes([q.bid_size for q in lines]),
            ask_size=self._sizes([q.ask_size for q in lines]),
            ts_event=np.asarray([q.ts_event for q in lines], dtype=np.int64),
            ts_init=np.asarray([q.ts_init for q in lines], dtype=np.int64),
        )

    def _trades(self, lines: list[TradeLine]) -> pa.Table:
        return trade_ticks_table(
            self.instrument,
            price=self._prices([t.price for t in lines]),
            size=self._sizes([t.size for t in lines]),
            aggressor_side=np.asarray([t.aggressor_side for t in lines]),
            trade_id=pa.array([t.trade_id for t in lines], pa.string()),
            ts_event=np.asarray([t.ts_event for t in lines], dtype=np.int64),
            ts_init=np.asarray([t.ts_init for t in lines], dtype=np.int64),
        )

    def _funding(self, lines: list[FundingLine]) -> pa.Table:
        updates = [
            FundingRateUpdate(
                self.instrument.id,
                Decimal(f.rate),
                f.ts_event,
                f.ts_init,
                interval=f.interval,
                next_funding_ns=f.next_funding_ns,
            )
            for f in lines
        ]
        return ArrowSerializer.serialize_batch(updates, FundingRateUpdate)

    def _feed(self, lines: list[FeedLine]) -> pa.Table:
        columns = FeedEventColumns(
            kind=[f.kind for f in lines],
            detail=[f.detail for f in lines],
            since_ns=[f.since_ns for f in lines],
            ts_event=[f.ts_event for f in lines],
            ts_init=[f.ts_init for f in lines],
        )
        return feed_events_table(self.identifier, columns)
