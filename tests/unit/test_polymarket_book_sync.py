"""When a Polymarket token's local book is trusted (`adapters.polymarket.book`), and what a REST
snapshot plus the replayed `price_change` messages rebuild."""

from __future__ import annotations

import pytest
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.enums import BookType

from adapters.polymarket.book import PolymarketBookSync
from adapters.polymarket.parsing import parse_binary_options
from adapters.polymarket.parsing import parse_book_snapshot
from adapters.polymarket.parsing import parse_price_changes
from adapters.polymarket.schemas import BookLevel
from adapters.polymarket.schemas import BookSummary
from adapters.polymarket.schemas import PriceChange

pytestmark = pytest.mark.polymarket

TOKEN = "123"


def _change(price: str, size: str, side: str = "BUY") -> tuple[PriceChange]:
    return (PriceChange(asset_id=TOKEN, price=price, size=size, side=side),)


def test_starts_unsynced_and_a_stream_book_syncs() -> None:
    sync = PolymarketBookSync()
    assert not sync.synced and sync.reason
    assert sync.on_price_changes(1, _change("0.5", "1")) is False
    sync.on_stream_book()
    assert sync.synced and sync.reason == "" and sync.buffered == 0
    assert sync.on_price_changes(2, _change("0.5", "2")) is True


def test_invalidate_holds_changes_back_until_a_snapshot() -> None:
    sync = PolymarketBookSync()
    sync.on_stream_book()
    sync.invalidate("tick size 0.01 -> 0.001")
    assert not sync.synced and sync.reason == "tick size 0.01 -> 0.001"
    assert sync.on_price_changes(10, _change("0.5", "1")) is False
    assert sync.buffered == 1
    sync.on_stream_book()  # a stream book supersedes what came before it
    assert sync.synced and sync.buffered == 0


def test_rest_snapshot_replays_changes_stamped_at_or_after_it() -> None:
    sync = PolymarketBookSync()
    older, same, newer = _change("0.4", "1"), _change("0.5", "2"), _change("0.6", "3")
    for ts, change in ((100, older), (200, same), (300, newer)):
        sync.on_price_changes(ts, change)
    assert sync.on_rest_book(200) == [(200, same), (300, newer)]
    assert sync.synced
    assert sync.on_rest_book(400) is None  # synced already: a later snapshot is not needed


def test_rest_snapshot_after_a_dropped_change_is_refused() -> None:
    sync = PolymarketBookSync(max_buffer=2)
    for ts in (100, 200, 300):
        sync.on_price_changes(ts, _change("0.5", str(ts)))
    assert sync.buffered == 2
    # ts=100 was dropped: a snapshot from before it cannot be completed, fetch a newer one.
    assert sync.on_rest_book(50) is None and not sync.synced
    # A snapshot from after it already holds that change.
    assert [ts for ts, _ in sync.on_rest_book(150)] == [200, 300] and sync.synced


def test_snapshot_plus_replay_equals_the_live_book() -> None:
    """Absolute sizes: replaying a change the snapshot already holds changes nothing."""
    (instrument,) = parse_binary_options(
        {
            "condition_id": "0xc",
            "question": "?",
            "minimum_tick_size": "0.01",
            "minimum_order_size": "5",
            "end_date_iso": None,
            "tokens": [{"token_id": TOKEN, "outcome": "Yes"}],
        },
        0,
    )
    stream = [
        (200, _change("0.45", "10")),
        (300, _change("0.47", "5")),
        (300, _change("0.45", "0")),
    ]
    # The venue's book at ts=300 after the first change at 300: the 0.45 level still there.
    rest = BookSummary(
        market="0xc",
        asset_id=TOKEN,
        timestamp="300",
        bids=[BookLevel("0.45", "10"), BookLevel("0.47", "5")],
        asks=[BookLevel("0.55", "4")],
    )
    sync = PolymarketBookSync()
    for ts, change in stream:
        sync.on_price_changes(ts, change)
    replay = sync.on_rest_book(300)
    book = OrderBook(instrument.id, BookType.L2_MBP)
    book.apply_deltas(parse_book_snapshot(instrument, rest, 0))
    for ts, changes in replay:
        book.apply_deltas(parse_price_changes(instrument, changes, ts, 0))
    assert [(str(level.price), level.size()) for level in book.bids()] == [("0.47", 5.0)]
    assert str(book.best_ask_price()) == "0.55"
