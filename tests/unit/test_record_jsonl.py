"""
The `catalog record` journal: events written as JSONL lines come back out of `catalog ingest` as
the same nautilus data, in the order received, and a damaged journal fails with its line named.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from nautilus_trader.model.data import BookOrder
from nautilus_trader.model.data import FundingRateUpdate
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from adapters.polymarket.parsing import with_tick_size
from catalog.cli import main as catalog_cli
from catalog.feed_events import FeedEvent
from catalog.feed_events import feed_event_notes
from catalog.ingest.errors import IngestError
from catalog.ingest.errors import IngestUsageError
from catalog.ingest.jsonl import event_lines
from catalog.ingest.jsonl import ingest_recordings
from catalog.ingest.jsonl import instrument_line
from catalog.ingest.ledger import LEDGER_FILE
from catalog.record_journal import Journal
from catalog.sample import gate_sample_instrument
from catalog.sample import polymarket_sample_instruments
from catalog.validate import validate_catalog

pytestmark = pytest.mark.catalog

T0 = 1_767_571_200_000_000_000  # 2026-01-05T00:00:00Z
SNAPSHOT = RecordFlag.F_SNAPSHOT
LAST = RecordFlag.F_LAST


def _delta(instrument, action, side, price, size, flags, sequence, ts_event, ts_init):
    order = BookOrder(
        side, Price(price, instrument.price_precision), Quantity(size, instrument.size_precision), 0
    )
    return OrderBookDelta(instrument.id, action, order, flags, sequence, ts_event, ts_init)


def _snapshot(instrument, bids, asks, sequence, ts_event, ts_init) -> OrderBookDeltas:
    clear = OrderBookDelta(
        instrument.id, BookAction.CLEAR, None, SNAPSHOT, sequence, ts_event, ts_init
    )
    levels = [(OrderSide.BUY, p, s) for p, s in bids] + [(OrderSide.SELL, p, s) for p, s in asks]
    adds = [
        _delta(instrument, BookAction.ADD, side, p, s, SNAPSHOT, sequence, ts_event, ts_init)
        for side, p, s in levels
    ]
    last = adds[-1]
    adds[-1] = OrderBookDelta(
        instrument.id, last.action, last.order, SNAPSHOT | LAST, sequence, ts_event, ts_init
    )
    return OrderBookDeltas(instrument.id, [clear, *adds])


def _update(instrument, changes, sequence, ts_event, ts_init) -> OrderBookDeltas:
    deltas = []
    for i, (side, price, size) in enumerate(changes):
        action = BookAction.UPDATE if size else BookAction.DELETE
        flags = LAST if i == len(changes) - 1 else 0
        deltas.append(
            _delta(instrument, action, side, price, size, flags, sequence, ts_event, ts_init)
        )
    return OrderBookDeltas(instrument.id, deltas)


def gate_events(instrument: Instrument) -> list:
    """A recording's worth of events, in arrival (ts_init) order; venue times go back once."""
    iid = instrument.id
    ms = 1_000_000
    return [
        FeedEvent(T0, T0, instrument_id=iid, kind="start", detail="recording started"),
        _snapshot(instrument, [(94000.0, 10), (93999.9, 4)], [(94000.1, 7)], 100, T0, T0 + ms),
        QuoteTick(
            iid,
            Price(94000.0, 1),
            Price(94000.1, 1),
            Quantity(10, 0),
            Quantity(7, 0),
            T0 + ms,
            T0 + 2 * ms,
        ),
        _update(
            instrument,
            [
                (OrderSide.BUY, 94000.0, 12),
                (OrderSide.SELL, 94000.1, 0),
                (OrderSide.SELL, 94000.2, 3),
            ],
            104,
            T0 + 5 * ms,
            T0 + 6 * ms,
        ),
        TradeTick(
            iid,
            Price(94000.1, 1),
            Quantity(7, 0),
            AggressorSide.BUYER,
            TradeId("900001"),
            T0 + 4 * ms,  # the venue stamped it before the book update it caused
            T0 + 7 * ms,
        ),
        TradeTick(
            iid,
            Price(94000.0, 1),
            Quantity(2, 0),
            AggressorSide.SELLER,
            TradeId("900002"),
            T0 + 8 * ms,
            T0 + 9 * ms,
        ),
        FundingRateUpdate(
            iid,
            Decimal("0.000125"),
            T0 + 9 * ms,
            T0 + 10 * ms,
            interval=480,
            next_funding_ns=T0 + 8 * 3600 * 10**9,
        ),
        FeedEvent(
            T0 + 20 * ms,
            T0 + 20 * ms,
            instrument_id=iid,
            kind="resync",
            detail="gap",
            since_ns=T0 + 6 * ms,
        ),
        _snapshot(instrument, [(94000.5, 1)], [(94000.6, 2)], 130, T0 + 19 * ms, T0 + 20 * ms),
        FeedEvent(T0 + 30 * ms, T0 + 30 * ms, instrument_id=iid, kind="stop", detail="stopped"),
    ]


def write_journal(path: Path, instrument: Instrument, events: list) -> Path:
    with open(path, "wb") as out:
        out.write(instrument_line(instrument, T0))
        for event in events:
            for line in event_lines(event):
                out.write(line)
    return path


def _book_rows(deltas) -> list[tuple]:
    return [
        (d.action, d.order.side, d.order.price, d.order.size, d.flags, d.sequence, d.ts_event)
        for d in deltas
    ]


def test_journal_round_trips_through_ingest(tmp_path: Path) -> None:
    instrument = gate_sample_instrument()
    events = gate_events(instrument)
    journal = write_journal(tmp_path / "BTC_USDT-PERP.GATE.20260105T000000.000Z.jsonl",
                            instrument, events)  # fmt: skip
    catalog = tmp_path / "catalog"
    summary = ingest_recordings(catalog, [journal], progress=False)
    assert [r.status for r in summary.results] == ["ingested"]
    assert summary.instruments_added == [instrument.id.value]

    store = ParquetDataCatalog(str(catalog))
    assert store.instruments() == [instrument]
    sent = [d for e in events if isinstance(e, OrderBookDeltas) for d in e.deltas]
    got = store.order_book_deltas(instrument_ids=[instrument.id.value])
    assert _book_rows(got) == _book_rows(sent)
    assert [d.ts_init for d in got] == sorted({d.ts_init for d in got})  # strictly increasing
    assert all(g.ts_init >= s.ts_init for g, s in zip(got, sent, strict=True))

    def same(cls) -> None:
        want = [e for e in events if isinstance(e, cls)]
        have = store.query(cls, identifiers=[instrument.id.value])
        assert [cls.to_dict(x) for x in have] == [cls.to_dict(x) for x in want]

    same(QuoteTick)
    same(TradeTick)  # ts_event goes back between the two: kept in arrival order
    funding = store.query(FundingRateUpdate, identifiers=[instrument.id.value])
    assert [(Decimal(str(f.rate)), f.interval, f.next_funding_ns, f.ts_init) for f in funding] == [
        (Decimal("0.000125"), 480, T0 + 8 * 3600 * 10**9, T0 + 10_000_000)
    ]
    feed = [c.data for c in store.query(FeedEvent, identifiers=[instrument.id.value])]
    assert [(f.kind, f.detail, f.since_ns, f.ts_init) for f in feed] == [
        (e.kind, e.detail, e.since_ns, e.ts_init) for e in events if isinstance(e, FeedEvent)
    ]
    notes = feed_event_notes(catalog)
    assert notes == [
        "BTC_USDT-PERP.GATE: 1 recording session(s); 1 book resync(s) rebuilt from a snapshot "
        "(gap x1), first at 2026-01-05T00:00:00.020000Z"
    ]

    again = ingest_recordings(catalog, [journal], progress=False)
    assert [r.status for r in again.results] == ["skipped"]


def test_a_polymarket_journal_validates_and_reads_back(tmp_path: Path) -> None:
    yes, _no = polymarket_sample_instruments()
    iid = yes.id
    events = [
        _snapshot(yes, [(0.61, 120.5)], [(0.63, 80.25)], 0, T0, T0 + 1),
        QuoteTick(
            iid, Price(0.61, 2), Price(0.63, 2), Quantity(120.5, 6), Quantity(80.25, 6), T0, T0 + 1
        ),
        _update(yes, [(OrderSide.BUY, 0.62, 10.0)], 0, T0 + 5, T0 + 10),
        TradeTick(
            iid,
            Price(0.63, 2),
            Quantity(5, 6),
            AggressorSide.BUYER,
            TradeId("ab" * 16),
            T0,
            T0 + 11,
        ),
    ]
    journal = write_journal(tmp_path / "yes.jsonl", yes, events)
    catalog = tmp_path / "catalog"
    ingest_recordings(catalog, [journal], progress=False)
    assert validate_catalog(catalog) == []
    store = ParquetDataCatalog(str(catalog))
    assert store.instruments() == [yes]
    quotes = store.quote_ticks(instrument_ids=[iid.value])
    assert [(q.bid_price, q.ask_size) for q in quotes] == [(Price(0.61, 2), Quantity(80.25, 6))]


def test_an_incomplete_last_line_is_skipped_with_a_remark(tmp_path: Path) -> None:
    instrument = gate_sample_instrument()
    journal = write_journal(tmp_path / "cut.jsonl", instrument, gate_events(instrument))
    body = journal.read_bytes()
    journal.write_bytes(body[: body.rindex(b"\n", 0, len(body) - 1) + 12])  # mid last line
    summary = ingest_recordings(tmp_path / "catalog", [journal], progress=False)
    notes = summary.results[0].notes
    assert notes.skipped_rows == 1
    assert any("incomplete last line" in remark for remark in notes.remarks)
    feed = ParquetDataCatalog(str(tmp_path / "catalog")).query(
        FeedEvent, identifiers=[instrument.id.value]
    )
    assert [f.data.kind for f in feed] == ["start", "resync"]  # the cut "stop" line is gone


def test_a_damaged_line_names_the_file_and_line_and_writes_nothing(tmp_path: Path) -> None:
    instrument = gate_sample_instrument()
    journal = write_journal(tmp_path / "bad.jsonl", instrument, gate_events(instrument))
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[3] = b'{"type":"quote","instrument_id":"BTC_USDT-PERP.GATE","bid_price":1}\n'
    journal.write_bytes(b"".join(lines))
    catalog = tmp_path / "catalog"
    with pytest.raises(IngestError, match=r"bad\.jsonl, line 4: not a journal line"):
        ingest_recordings(catalog, [journal], progress=False)
    assert not list(catalog.rglob("*.parquet")) and not (catalog / LEDGER_FILE).exists()


def test_a_file_that_is_not_a_journal_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "other.jsonl"
    path.write_text(json.dumps({"type": "quote"}) + "\n")
    with pytest.raises(IngestUsageError, match="is not a `catalog record` journal"):
        ingest_recordings(tmp_path / "catalog", [path], progress=False)


def test_a_clock_step_back_keeps_arrival_order(tmp_path: Path) -> None:
    instrument = gate_sample_instrument()
    iid = instrument.id
    trades = [
        TradeTick(
            iid,
            Price(94000.0, 1),
            Quantity(1, 0),
            AggressorSide.BUYER,
            TradeId(str(n)),
            T0 + n,
            ts_init,
        )
        for n, ts_init in enumerate([T0 + 100, T0 + 50, T0 + 200])
    ]
    journal = write_journal(tmp_path / "step.jsonl", instrument, trades)
    summary = ingest_recordings(tmp_path / "catalog", [journal], progress=False)
    assert any("clock stepped back" in r for r in summary.results[0].notes.remarks)
    got = ParquetDataCatalog(str(tmp_path / "catalog")).trade_ticks(instrument_ids=[iid.value])
    assert [(t.trade_id.value, t.ts_init) for t in got] == [
        ("0", T0 + 100),
        ("1", T0 + 100),
        ("2", T0 + 200),
    ]


def test_catalog_ingest_takes_journals_and_refuses_a_mix(tmp_path: Path) -> None:
    instrument = gate_sample_instrument()
    journal = write_journal(tmp_path / "a.jsonl", instrument, gate_events(instrument))
    catalog = tmp_path / "catalog"
    result = CliRunner().invoke(catalog_cli, ["ingest", str(journal), "--catalog", str(catalog)])
    assert result.exit_code == 0, result.output
    assert "Ingested 1 file(s)" in result.output
    assert "BTC_USDT-PERP.GATE order_book_deltas: 10 rows" in result.output

    other = tmp_path / "BTC_USDT-202601.csv.gz"
    other.write_bytes(b"")
    mixed = CliRunner().invoke(
        catalog_cli, ["ingest", str(journal), str(other), "--catalog", str(catalog)]
    )
    assert mixed.exit_code == 2
    assert "cannot be ingested in one run" in mixed.output


def test_the_journal_starts_a_file_per_chunk_and_per_precision(tmp_path: Path) -> None:
    yes, _no = polymarket_sample_instruments()
    hour = 3600 * 10**9
    journal = Journal(tmp_path / "raw", rotate_ns=hour)
    journal.define(yes, T0)

    def quote(instrument: Instrument, bid: str, ts: int) -> QuoteTick:
        precision = instrument.price_precision
        return QuoteTick(instrument.id, Price.from_str(bid), Price(0.63, precision),
                         Quantity(10, 6), Quantity(10, 6), ts, ts)  # fmt: skip

    journal.write(yes.id, event_lines(quote(yes, "0.61", T0 + 1)), T0 + 1)
    assert journal.rotate_if_due(T0 + hour - 1) == []  # same chunk: nothing finished
    first = journal.rotate_if_due(T0 + hour)
    assert [p.name for p in first] == [f"{yes.id.value}.20260105T000000.000000001Z.jsonl"]

    journal.write(yes.id, event_lines(quote(yes, "0.62", T0 + hour + 1)), T0 + hour + 1)
    finer = with_tick_size(yes, "0.001", T0 + hour + 2)
    journal.define(finer, T0 + hour + 2)  # a tick-size change: a new file at the new precision
    journal.write(yes.id, event_lines(quote(finer, "0.615", T0 + hour + 3)), T0 + hour + 3)
    rest = journal.close()
    assert len(rest) == 2 and journal.files == [*first, *rest]
    for path in [*first, *rest]:
        assert path.read_bytes().startswith(b'{"type":"instrument"')

    # nautilus reads a series only at one precision: the finer file goes to another catalog.
    catalog = tmp_path / "catalog"
    ingest_recordings(catalog, journal.files[:2], progress=False)
    quotes = ParquetDataCatalog(str(catalog)).quote_ticks(instrument_ids=[yes.id.value])
    assert [str(q.bid_price) for q in quotes] == ["0.61", "0.62"]
    with pytest.raises(IngestError, match="recorded at price/size precision 3/6, but the catalog"):
        ingest_recordings(catalog, journal.files[2:], progress=False)
    other = tmp_path / "after-the-tick-change"
    ingest_recordings(other, journal.files[2:], progress=False)
    quotes = ParquetDataCatalog(str(other)).quote_ticks(instrument_ids=[yes.id.value])
    assert [str(q.bid_price) for q in quotes] == ["0.615"]
