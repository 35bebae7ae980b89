"""
Gate bulk files -> catalog: the book replay, each kind's parsing, and the transactional writer, on
small hand-written CSVs (and the sample's book simulator where a long realistic book is needed).
"""

from __future__ import annotations

import gzip
import itertools
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import BarType
from nautilus_trader.model.data import FundingRateUpdate
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from adapters.gate.parsing import parse_spot_currency_pair
from catalog import sample
from catalog.ingest.errors import IngestError
from catalog.ingest.errors import IngestUsageError
from catalog.ingest.formats import IngestHints
from catalog.ingest.gate_book import MAKE
from catalog.ingest.gate_book import SET
from catalog.ingest.gate_book import TAKE
from catalog.ingest.gate_book import BookReplayError
from catalog.ingest.gate_book import BookRows
from catalog.ingest.gate_book import GateBookReplay
from catalog.ingest.gate_book import message_boundary
from catalog.ingest.gate_book import split_unsigned_snapshot
from catalog.ingest.gate_files import describe_file
from catalog.ingest.gate_files import plan_files
from catalog.ingest.ledger import LEDGER_FILE
from catalog.ingest.pipeline import ingest_files
from tests.venues.gate_bulk import gate_orderbook_files
from tests.venues.gate_bulk import gzip_csv

pytestmark = pytest.mark.catalog

ADD, UPDATE, DELETE, CLEAR = (int(a) for a in (BookAction.ADD, BookAction.UPDATE,
                                               BookAction.DELETE, BookAction.CLEAR))  # fmt: skip
BUY, SELL = int(OrderSide.BUY), int(OrderSide.SELL)
F_LAST, F_SNAPSHOT = int(RecordFlag.F_LAST), int(RecordFlag.F_SNAPSHOT)
PERP = sample.gate_sample_instrument()  # BTC_USDT-PERP.GATE: tick 0.1, whole contracts
HOUR0 = "BTC_USDT-2026010500.csv.gz"
T0 = 1767571200  # 2026-01-05T00:00:00Z
NS = 1_000_000_000


# -- the book replay --------------------------------------------------------------------------


def rows_of(spec: list[tuple[int, int, int, int]]) -> BookRows:
    """(ts, action, price, signed size) tuples -> BookRows (sequence = row index)."""
    ts, action, price, size = (np.array(col, dtype=np.int64) for col in zip(*spec, strict=True))
    return BookRows(ts, action, price, size, np.arange(len(spec), dtype=np.uint64))


def deltas_of(rows: BookRows, replay: GateBookReplay | None = None) -> list[tuple[int, ...]]:
    out = (replay or GateBookReplay()).replay(rows)
    columns = (out.action, out.side, out.price, out.size, out.flags, out.ts)
    return list(zip(*(c.tolist() for c in columns), strict=True))


def test_snapshot_then_changes_become_absolute_level_sizes() -> None:
    replay = GateBookReplay()
    got = deltas_of(
        rows_of(
            [
                (0, SET, 99, 5),  # bid 5 @ 99
                (0, SET, 98, 3),
                (0, SET, 101, -4),  # ask 4 @ 101
                (0, SET, 102, 0),  # an empty level in the snapshot: no ADD
                (1, MAKE, 99, 2),  # bid 99: 5 + 2
                (1, TAKE, 101, -4),  # ask 101: 4 - 4 -> gone
                (2, MAKE, 100, -7),  # a new ask level
                (2, TAKE, 98, 1),
            ]
        ),
        replay,
    )
    assert got == [
        (CLEAR, 0, 0, 0, F_SNAPSHOT, 0),
        (ADD, BUY, 99, 5, F_SNAPSHOT, 0),
        (ADD, BUY, 98, 3, F_SNAPSHOT, 0),
        (ADD, SELL, 101, 4, F_SNAPSHOT | F_LAST, 0),
        (UPDATE, BUY, 99, 7, 0, 1),
        (DELETE, SELL, 101, 0, F_LAST, 1),
        (ADD, SELL, 100, 7, 0, 2),
        (UPDATE, BUY, 98, 2, F_LAST, 2),
    ]
    assert replay.stats.anomalies == 0


def test_takes_past_zero_and_on_empty_levels_floor_at_zero_and_are_counted() -> None:
    replay = GateBookReplay()
    got = deltas_of(
        rows_of(
            [
                (0, SET, 99, 5),
                (0, SET, 101, -4),
                (1, TAKE, 99, 8),  # more than the level holds: the level is gone, not -3
                (2, MAKE, 99, 2),  # ... so it comes back at 2
                (3, TAKE, 97, 1),  # a level that is not there: no delta
                (3, MAKE, 101, 0),  # size 0: no side, no change
            ]
        ),
        replay,
    )
    assert got[3:] == [(DELETE, BUY, 99, 0, F_LAST, 1), (ADD, BUY, 99, 2, F_LAST, 2)]
    assert replay.stats.anomalies == 3
    assert replay.stats.unchanged == 2


def test_unsigned_snapshot_is_split_where_the_following_signed_changes_agree() -> None:
    rows = rows_of(
        [
            (0, SET, 98, 3),
            (0, SET, 99, 5),
            (0, SET, 101, 4),  # all positive: no side given
            (0, SET, 102, 6),
            (1, MAKE, 99, 1),  # 99 is a bid
            (1, TAKE, 101, -1),  # 101 is an ask
        ]
    )
    got = deltas_of(rows)
    assert [(a, s, p) for a, s, p, *_ in got[1:5]] == [
        (ADD, BUY, 98),
        (ADD, BUY, 99),
        (ADD, SELL, 101),
        (ADD, SELL, 102),
    ]
    assert got[5:] == [(UPDATE, BUY, 99, 6, 0, 1), (UPDATE, SELL, 101, 3, F_LAST, 1)]


def test_unsigned_split_follows_the_earliest_changes_on_snapshot_levels() -> None:
    levels = np.array([10, 11, 12, 13, 14, 15])
    # At t=1 the changes on the snapshot's levels say 12 is a bid and 13 an ask; a stray bid at
    # 14 is outvoted; the change at 12.5 is not a snapshot level; by t=2 the touch has moved up.
    ts = np.array([1, 1, 1, 1, 1, 1, 1, 2, 2])
    prices = np.array([12, 12, 13, 14, 13, 11, 125, 14, 14])
    sizes = np.array([1, 2, -1, 3, -2, 1, -5, 4, 4])
    assert split_unsigned_snapshot(levels, ts, prices, sizes).tolist() == [
        False, False, False, True, True, True,
    ]  # fmt: skip


def test_unsigned_snapshot_without_signed_changes_on_both_sides_is_refused() -> None:
    rows = rows_of([(0, SET, 98, 3), (0, SET, 101, 4), (1, MAKE, 98, 1)])
    with pytest.raises(BookReplayError, match="bids cannot be told from its asks"):
        GateBookReplay().replay(rows)


def test_signed_snapshot_that_would_be_crossed_is_refused() -> None:
    rows = rows_of([(0, SET, 101, 3), (0, SET, 99, -4), (1, MAKE, 98, 1)])
    with pytest.raises(BookReplayError, match="crossed"):
        GateBookReplay().replay(rows)


def test_a_file_must_open_with_a_snapshot() -> None:
    with pytest.raises(BookReplayError, match="does not start with a `set` snapshot"):
        GateBookReplay().replay(rows_of([(0, MAKE, 99, 1)]))


def test_a_second_snapshot_clears_the_book() -> None:
    got = deltas_of(
        rows_of(
            [
                (0, SET, 99, 5),
                (0, SET, 101, -4),
                (1, MAKE, 99, 1),
                (2, SET, 98, 2),
                (2, SET, 100, -1),
                (3, TAKE, 98, 2),
            ]
        )
    )
    actions = [(a, ts) for a, _s, _p, _q, _f, ts in got]
    assert actions == [
        (CLEAR, 0), (ADD, 0), (ADD, 0), (UPDATE, 1), (CLEAR, 2), (ADD, 2), (ADD, 2), (DELETE, 3),
    ]  # fmt: skip


def test_message_boundary_keeps_the_trailing_timestamp_for_the_next_chunk() -> None:
    assert message_boundary(np.array([0, 0, 1, 1, 2, 2])) == 4
    assert message_boundary(np.array([0, 0, 1, 2, 3, 3, 3])) == 4
    assert message_boundary(np.array([5, 5, 5])) == 0


def test_a_level_listed_twice_in_a_snapshot_counts_once_the_last_time() -> None:
    got = deltas_of(rows_of([(0, SET, 99, 5), (0, SET, 101, -4), (0, SET, 99, 0),
                             (1, MAKE, 99, 2)]))  # fmt: skip
    assert got == [
        (CLEAR, 0, 0, 0, F_SNAPSHOT, 0),
        (ADD, SELL, 101, 4, F_SNAPSHOT | F_LAST, 0),
        (ADD, BUY, 99, 2, F_LAST, 1),
    ]


def reference_replay(spec: list[tuple[int, int, int, int]]) -> list[tuple[int, ...]]:
    """
    The obvious row-by-row replay (signed snapshots only): set rows at one timestamp are a
    snapshot (the last listing of a level counts); flags by the same message rule.
    """
    book: dict[int, dict[int, int]] = {BUY: {}, SELL: {}}
    out: list[tuple[int, int, int, int, int, bool]] = []
    for i, (ts, action, price, size) in enumerate(spec):
        side = BUY if size > 0 else SELL
        if action == SET:
            if i == 0 or spec[i - 1][1] != SET or spec[i - 1][0] != ts:
                book = {BUY: {}, SELL: {}}
                out.append((CLEAR, 0, 0, 0, ts, True))
            run = [r for r in spec[i + 1 :] if r[1] == SET and r[0] == ts]
            listed_again = any(r[2] == price and (r[3] > 0) == (size > 0) for r in run)
            if size != 0 and not listed_again:
                book[side][price] = abs(size)
                out.append((ADD, side, price, abs(size), ts, True))
        elif size != 0:
            before = book[side].get(price, 0)
            after = max(0, before + (abs(size) if action == MAKE else -abs(size)))
            if after != before:
                kind = ADD if before == 0 else DELETE if after == 0 else UPDATE
                out.append((kind, side, price, after, ts, False))
                if after:
                    book[side][price] = after
                else:
                    del book[side][price]
    result = []
    for i, (kind, side, price, size, ts, snapshot) in enumerate(out):
        last = i == len(out) - 1 or out[i + 1][4] != ts or out[i + 1][5] != snapshot
        flags = (F_LAST if last else 0) | (F_SNAPSHOT if snapshot else 0)
        result.append((kind, side, price, size, flags, ts))
    return result


@st.composite
def book_files(draw) -> tuple[list[tuple[int, int, int, int]], list[int]]:
    """A snapshot, changes (some past zero, some of size 0), maybe more snapshots; cut points."""

    def snapshot(ts: int) -> list[tuple[int, int, int, int]]:
        bids = draw(st.lists(st.integers(90, 99), unique=True, min_size=1, max_size=6))
        asks = draw(st.lists(st.integers(100, 109), unique=True, min_size=1, max_size=6))
        # Asks always hold something: a snapshot with no negative size reads as unsigned.
        bid_rows = [(ts, SET, p, draw(st.integers(0, 9))) for p in bids]
        return bid_rows + [(ts, SET, p, -draw(st.integers(1, 9))) for p in asks]

    spec = snapshot(0)
    ts = 0
    for _ in range(draw(st.integers(0, 60))):
        ts += draw(st.integers(0, 2))
        if draw(st.integers(0, 30)) == 0:
            ts += 1
            spec += snapshot(ts)
            continue
        bid = draw(st.booleans())
        price = draw(st.integers(90, 99) if bid else st.integers(100, 109))
        size = draw(st.integers(0, 12))
        spec.append((ts, draw(st.sampled_from([MAKE, TAKE])), price, size if bid else -size))
    cuts = [i for i in range(1, len(spec)) if spec[i][0] != spec[i - 1][0]]
    chosen = draw(st.lists(st.sampled_from(cuts), unique=True) if cuts else st.just([]))
    return spec, sorted(chosen)


@settings(max_examples=150, deadline=None)
@given(book_files())
def test_vectorised_replay_matches_row_by_row_replay_in_any_chunking(case) -> None:
    spec, cuts = case
    expected = reference_replay(spec)
    assert deltas_of(rows_of(spec)) == expected
    replay = GateBookReplay()
    chunked: list[tuple[int, ...]] = []
    for start, end in zip([0, *cuts], [*cuts, len(spec)], strict=True):
        chunked += deltas_of(rows_of(spec[start:end]), replay)
    assert chunked == expected


# -- files: names, periods, URLs ---------------------------------------------------------------


def test_plan_files_are_hours_for_books_and_months_otherwise() -> None:
    from datetime import UTC
    from datetime import datetime

    start = datetime(2026, 1, 31, 22, tzinfo=UTC)
    end = datetime(2026, 2, 1, 1, 30, tzinfo=UTC)
    books = plan_files("futures", "orderbooks", "BTC_USDT", start, end)
    assert [f.name for f in books] == [
        "BTC_USDT-2026013122.csv.gz", "BTC_USDT-2026013123.csv.gz",
        "BTC_USDT-2026020100.csv.gz", "BTC_USDT-2026020101.csv.gz",
    ]  # fmt: skip
    assert books[2].url("https://h/") == (
        "https://h/futures_usdt/orderbooks/202602/BTC_USDT-2026020100.csv.gz"
    )
    deals = plan_files("spot", "trades", "ETH_USDT", start, end)
    assert [f.url("https://h") for f in deals] == [
        "https://h/spot/deals/202601/ETH_USDT-202601.csv.gz",
        "https://h/spot/deals/202602/ETH_USDT-202602.csv.gz",
    ]
    candles = plan_files("futures", "candles", "BTC_USDT", start, start, "5m")
    assert candles[0].url("h") == "h/futures_usdt/candlesticks_5m/202601/BTC_USDT-202601.csv.gz"
    funding = plan_files("futures", "funding", "BTC_USDT", start, start)
    assert "/futures_usdt/funding_applies/202601/" in funding[0].url("h")
    with pytest.raises(IngestUsageError, match="spot funding are not supported"):
        plan_files("spot", "funding", "BTC_USDT", start, end)
    with pytest.raises(IngestUsageError, match="is before --from"):
        plan_files("futures", "trades", "BTC_USDT", end, start)
    with pytest.raises(IngestUsageError, match=r"e\.g\. BTC_USDT"):
        plan_files("futures", "trades", "btc-usdt", start, end)


def test_describe_file_reads_gate_names_and_folders_and_refuses_contradictions(
    tmp_path: Path,
) -> None:
    tree = tmp_path / "spot" / "candlesticks_1h" / "202601" / "ETH_USDT-202601.csv.gz"
    described = describe_file(tree)
    assert (described.market, described.kind, described.interval, described.symbol) == (
        "spot", "candles", "1h", "ETH_USDT",
    )  # fmt: skip
    assert described.ledger_kind == "candles_1h"
    hourly = describe_file(tmp_path / HOUR0)
    assert (hourly.market, hourly.kind, hourly.period) == ("futures", "orderbooks", "2026010500")
    with pytest.raises(IngestUsageError, match="pass --kind"):
        describe_file(tmp_path / "BTC_USDT-202601.csv.gz")
    with pytest.raises(IngestUsageError, match="--symbol ETH_USDT contradicts"):
        describe_file(tmp_path / HOUR0, symbol="ETH_USDT")
    with pytest.raises(IngestUsageError, match="--kind trades contradicts"):
        describe_file(tmp_path / HOUR0, kind="trades")
    with pytest.raises(IngestUsageError, match="a monthly file, which Gate does not publish for"):
        describe_file(tmp_path / "BTC_USDT-202601.csv.gz", kind="orderbooks")
    with pytest.raises(IngestUsageError, match="pass --symbol"):
        describe_file(tmp_path / "mine.csv", kind="trades")


# -- kinds, end to end into a catalog ----------------------------------------------------------


def write_gz(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(text.encode()))
    return path


def ingest(catalog: Path, *paths: Path, instrument=PERP, **hints: str) -> None:
    ingest_files(
        catalog,
        list(paths),
        format_name="gate-bulk",
        hints=IngestHints(**hints),
        fetch_instrument=lambda _source: instrument,
        progress=False,
    )


def orderbook_text(t0: int, body: str) -> str:
    return body.replace("T", str(t0))


BOOK = """T,set,94000.1,120,500,0
T,set,94000.0,80,500,0
T,set,94000.3,-50,500,0
T.1,make,94000.1,30,501,2
T.1,take,94000.3,-50,503,1
T.2,make,94000.2,-7,504,1
"""


def test_futures_orderbook_file_to_deltas_with_exact_times_and_sequence(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    ingest(catalog, write_gz(tmp_path / HOUR0, orderbook_text(T0, BOOK)))
    got = ParquetDataCatalog(str(catalog)).order_book_deltas(instrument_ids=[PERP.id.value])
    rows = [
        (
            int(d.action),
            int(d.order.side),
            str(d.order.price),
            str(d.order.size),
            d.flags,
            d.sequence,
            d.ts_event,
        )
        for d in got
    ]
    t = T0 * NS
    assert rows == [
        (CLEAR, 0, "0.0", "0", F_SNAPSHOT, 500, t),
        (ADD, BUY, "94000.1", "120", F_SNAPSHOT, 500, t),
        (ADD, BUY, "94000.0", "80", F_SNAPSHOT, 500, t),
        (ADD, SELL, "94000.3", "50", F_SNAPSHOT | F_LAST, 500, t),
        (UPDATE, BUY, "94000.1", "150", 0, 501, t + NS // 10),
        (DELETE, SELL, "94000.3", "0", F_LAST, 503, t + NS // 10),
        (ADD, SELL, "94000.2", "7", F_LAST, 504, t + 2 * NS // 10),
    ]
    ts_init = [d.ts_init for d in got]
    assert all(a < b for a, b in itertools.pairwise(ts_init))


def test_replayed_file_equals_the_simulated_book_at_every_window(tmp_path: Path) -> None:
    deltas, _ = sample.generate_gate_perp_events(PERP, sample.SAMPLE_START_NS, 120, seed=3)
    hours = gate_orderbook_files(deltas, signed_snapshot=False)
    path = tmp_path / HOUR0
    path.write_bytes(gzip_csv(hours[sample.SAMPLE_START_NS]))
    catalog = tmp_path / "catalog"
    ingest(catalog, path)
    got = ParquetDataCatalog(str(catalog)).order_book_deltas(instrument_ids=[PERP.id.value])

    def levels(book: OrderBook) -> tuple[list, list]:
        return (
            [(lv.price, lv.size()) for lv in book.bids()],
            [(lv.price, lv.size()) for lv in book.asks()],
        )

    ours, simulated = OrderBook(PERP.id, BookType.L2_MBP), OrderBook(PERP.id, BookType.L2_MBP)
    ours_iter, sim_iter = iter(got), iter(deltas)
    pending_ours, pending_sim = next(ours_iter), next(sim_iter)
    checked = 0
    for window_end in range(sample.SAMPLE_START_NS, deltas[-1].ts_event + NS, NS // 10):
        while pending_ours is not None and pending_ours.ts_event <= window_end:
            ours.apply_delta(pending_ours)
            pending_ours = next(ours_iter, None)
        while pending_sim is not None and pending_sim.ts_event <= window_end:
            simulated.apply_delta(pending_sim)
            pending_sim = next(sim_iter, None)
        assert levels(ours) == levels(simulated), window_end
        checked += 1
    assert checked > 1000


def test_futures_trades_aggressor_from_sign_sizes_in_contracts_exact_times(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    text = (
        "1769904000.424738,687159738,94000.1,5\n"
        "1769904000.829937,687159739,94000.0,-1283\n"
        "1769904000.829937,687159740,94000.0,0\n"  # no size, no side: skipped
        "1769904001,687159741,94000.2,10\n"
    )
    ingest(catalog, write_gz(tmp_path / "BTC_USDT-202602.csv.gz", text), kind="trades")
    trades = ParquetDataCatalog(str(catalog)).trade_ticks(instrument_ids=[PERP.id.value])
    assert [
        (str(t.trade_id), str(t.price), str(t.size), t.aggressor_side, t.ts_event) for t in trades
    ] == [
        ("687159738", "94000.1", "5", AggressorSide.BUYER, 1769904000_424738000),
        ("687159739", "94000.0", "1283", AggressorSide.SELLER, 1769904000_829937000),
        ("687159741", "94000.2", "10", AggressorSide.BUYER, 1769904001_000000000),
    ]
    assert all(t.ts_init == t.ts_event for t in trades)


SPOT = parse_spot_currency_pair(
    {"id": "ETH_USDT", "base": "ETH", "quote": "USDT", "fee": "0.2", "min_base_amount": "0.001",
     "min_quote_amount": "1", "amount_precision": 4, "precision": 2, "trade_status": "tradable"},
    0,
)  # fmt: skip


def test_spot_deals_side_is_the_takers(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    text = "1577830575.771538,215782675,130.11,0.5000,1\n1577830576.1,215782676,130.12,2.25,2\n"
    path = write_gz(tmp_path / "spot" / "deals" / "202001" / "ETH_USDT-202001.csv.gz", text)
    ingest(catalog, path, instrument=SPOT)
    trades = ParquetDataCatalog(str(catalog)).trade_ticks(instrument_ids=["ETH_USDT.GATE"])
    assert [(str(t.price), str(t.size), t.aggressor_side) for t in trades] == [
        ("130.11", "0.5000", AggressorSide.SELLER),
        ("130.12", "2.2500", AggressorSide.BUYER),
    ]


def test_spot_deals_with_an_unknown_side_are_refused(tmp_path: Path) -> None:
    path = write_gz(tmp_path / "spot" / "deals" / "202001" / "ETH_USDT-202001.csv.gz",
                    "1577830575.771538,1,130.11,0.5,3\n")  # fmt: skip
    with pytest.raises(IngestError, match=r"line 1: side 3 is neither 1 \(sell\) nor 2 \(buy\)"):
        ingest(tmp_path / "catalog", path, instrument=SPOT)


def test_candles_become_bars_stamped_at_their_close(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    text = (
        f"{T0},97151.6,94000.5,94001.0,93999.0,94000.0\n"
        f"{T0 + 60},10,94000.6,94000.9,94000.1,94000.5\n"
    )
    folder = tmp_path / "futures_usdt" / "candlesticks_1m" / "202601"
    ingest(catalog, write_gz(folder / "BTC_USDT-202601.csv.gz", text))
    bar_type = BarType.from_str("BTC_USDT-PERP.GATE-1-MINUTE-LAST-EXTERNAL")
    bars = ParquetDataCatalog(str(catalog)).query(Bar, identifiers=[str(bar_type)])
    assert [(str(b.open), str(b.high), str(b.low), str(b.close), str(b.volume), b.ts_event)
            for b in bars] == [
        ("94000.0", "94001.0", "93999.0", "94000.5", "97152", (T0 + 60) * NS),  # volume rounded
        ("94000.5", "94000.9", "94000.1", "94000.6", "10", (T0 + 120) * NS),
    ]  # fmt: skip


def test_a_candle_with_high_below_its_close_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "futures_usdt" / "candlesticks_1m" / "202601"
    text = f"{T0},1,94000.5,94001.0,93999.0,94000.0\n{T0 + 60},1,94002.0,94001.0,93999.0,94000.0\n"
    with pytest.raises(IngestError, match="line 2: not a valid candle"):
        ingest(tmp_path / "catalog", write_gz(folder / "BTC_USDT-202601.csv.gz", text))


def test_funding_applies_become_funding_rate_updates(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    folder = tmp_path / "futures_usdt" / "funding_applies" / "202601"
    text = f"{T0},0.000086,0.0003\n{T0 + 28800},-0.0000125,0.0003\n"  # extra columns ignored
    ingest(catalog, write_gz(folder / "BTC_USDT-202601.csv.gz", text))
    updates = ParquetDataCatalog(str(catalog)).query(FundingRateUpdate, identifiers=[PERP.id.value])
    # nautilus' own serializer stores the Decimal as JSON text and reads it back as a str.
    assert [(Decimal(str(u.rate)), u.interval, u.ts_event) for u in updates] == [
        (Decimal("0.000086"), 480, T0 * NS),
        (Decimal("-0.0000125"), 480, (T0 + 28800) * NS),
    ]


# -- bad files: one clear message, nothing written --------------------------------------------


def assert_untouched(catalog: Path) -> None:
    assert not (catalog / "data").exists() or not any((catalog / "data").rglob("*.parquet"))
    assert not (catalog / LEDGER_FILE).exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("T,set,94000.15,1,1,0\n", r"column 3 \(price\).*more decimals than the instrument allows"),
        ("T,set,94000.1,1,1,0\nT.2,make,94000.1,1,2,1\nT.1,make,94000.1,1,3,1\n",
         r"line 3: the timestamp goes back in time"),
        ("T,set,94000.1,1,1,0\nT.1,cancel,94000.1,1,2,1\n",
         r"line 2: action cancel is not one of set, make, take"),
        ("T,make,94000.1,1,1,1\n", r"line 1: the file does not start with a `set` snapshot"),
        ("T,set,94000.1,1\n", r"does not have the columns of a Gate futures orderbooks file"),
        ("T,set,,1,1,0\n", r"line 1: the price field is empty"),
    ],
)  # fmt: skip
def test_bad_orderbook_files_are_named_with_line_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    catalog = tmp_path / "catalog"
    good = write_gz(tmp_path / "BTC_USDT-2026010423.csv.gz", orderbook_text(T0 - 3600, BOOK))
    bad = write_gz(tmp_path / HOUR0, orderbook_text(T0, text))
    with pytest.raises(IngestError, match=message) as failure:
        ingest(catalog, good, bad)
    assert HOUR0 in str(failure.value)
    assert_untouched(catalog)


def test_truncated_gzip_is_reported_by_file_and_nothing_is_written(tmp_path: Path) -> None:
    body = gzip.compress((orderbook_text(T0, BOOK) * 2000).encode())
    path = tmp_path / HOUR0
    path.write_bytes(body[: len(body) // 2])
    catalog = tmp_path / "catalog"
    with pytest.raises(IngestError, match=f"{HOUR0} is not a readable gzip/CSV file"):
        ingest(catalog, path)
    assert_untouched(catalog)


# -- the writer: ledger, overlaps, boundaries --------------------------------------------------


def test_rerun_skips_ingested_files_and_changes_nothing(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    path = write_gz(tmp_path / HOUR0, orderbook_text(T0, BOOK))
    ingest(catalog, path)
    files = sorted(p.relative_to(catalog) for p in catalog.rglob("*.parquet"))
    ledger = json.loads((catalog / LEDGER_FILE).read_text())
    entry = ledger["sources"]["BTC_USDT-PERP.GATE"]["orderbooks"][HOUR0]
    assert entry["state"] == "done" and entry["rows"] == {"order_book_deltas": 7}
    summary = ingest_files(catalog, [path], format_name="gate-bulk", hints=IngestHints(),
                           fetch_instrument=lambda _s: PERP, progress=False)  # fmt: skip
    assert [r.status for r in summary.results] == ["skipped"]
    assert sorted(p.relative_to(catalog) for p in catalog.rglob("*.parquet")) == files


def test_data_overlapping_other_data_is_refused_with_both_named(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    ingest(catalog, write_gz(tmp_path / HOUR0, orderbook_text(T0, BOOK)))
    before = sorted(catalog.rglob("*"))
    other = write_gz(tmp_path / "mine.csv.gz", orderbook_text(T0, BOOK))
    with pytest.raises(IngestError, match=f"would overlap data already there: {HOUR0}"):
        ingest(catalog, other, kind="orderbooks", symbol="BTC_USDT")
    assert sorted(catalog.rglob("*")) == before


def test_an_hour_ending_on_the_next_snapshots_instant_continues_without_overlap(
    tmp_path: Path,
) -> None:
    # Gate stamps a 100 ms window with its end: an hour's last changes can carry the next hour's
    # snapshot time. Ingested in two runs, the second continues right after the first.
    catalog = tmp_path / "catalog"
    first = BOOK + f"{T0 + 3600},make,94000.1,1,600,1\n"
    ingest(catalog, write_gz(tmp_path / "a" / HOUR0, orderbook_text(T0, first)))
    second = "BTC_USDT-2026010501.csv.gz"
    ingest(catalog, write_gz(tmp_path / "b" / second, orderbook_text(T0 + 3600, BOOK)))
    got = ParquetDataCatalog(str(catalog)).order_book_deltas(instrument_ids=[PERP.id.value])
    ts_init = [d.ts_init for d in got]
    assert all(a < b for a, b in itertools.pairwise(ts_init))
    assert [int(d.action) for d in got].count(CLEAR) == 2


def test_an_interrupted_commit_is_rolled_back_by_the_next_run(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    path = write_gz(tmp_path / HOUR0, orderbook_text(T0, BOOK))
    ingest(catalog, path)
    ledger_path = catalog / LEDGER_FILE
    ledger = json.loads(ledger_path.read_text())
    ledger["sources"]["BTC_USDT-PERP.GATE"]["orderbooks"][HOUR0]["state"] = "committing"
    ledger_path.write_text(json.dumps(ledger))  # as if the process died while moving files in
    ingest(catalog, path)  # rolls the half commit back, then ingests the file again
    got = ParquetDataCatalog(str(catalog)).order_book_deltas(instrument_ids=[PERP.id.value])
    assert len(got) == 7
    entry = json.loads(ledger_path.read_text())["sources"]["BTC_USDT-PERP.GATE"]["orderbooks"]
    assert entry[HOUR0]["state"] == "done"


def test_the_sample_catalog_is_not_an_ingest_target(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / sample.MARKER_FILE).write_text(json.dumps({"format": "quotekit-sample"}))
    with pytest.raises(IngestError, match="holds the embedded sample catalog"):
        ingest(catalog, write_gz(tmp_path / HOUR0, orderbook_text(T0, BOOK)))


def test_instrument_already_in_the_catalog_is_not_fetched_again(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    ingest(catalog, write_gz(tmp_path / HOUR0, orderbook_text(T0, BOOK)))

    def no_fetch(_source):
        raise AssertionError("the catalog has the instrument")

    trades = write_gz(tmp_path / "BTC_USDT-202601.csv.gz", f"{T0}.5,1,94000.1,5\n")
    ingest_files(catalog, [trades], format_name="gate-bulk", hints=IngestHints(kind="trades"),
                 fetch_instrument=no_fetch, progress=False)  # fmt: skip
    assert len(ParquetDataCatalog(str(catalog)).instruments()) == 1


def test_deltas_query_back_as_the_engine_reads_them(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    ingest(catalog, write_gz(tmp_path / HOUR0, orderbook_text(T0, BOOK)))
    queried = ParquetDataCatalog(str(catalog)).query(
        OrderBookDelta, identifiers=[PERP.id.value], start=T0 * NS + 1, end=(T0 + 1) * NS
    )
    assert [int(d.action) for d in queried] == [ADD, ADD, ADD, UPDATE, DELETE, ADD]
