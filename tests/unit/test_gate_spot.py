"""Gate spot market data: frame parsing, the market table, endpoints, and book sync with a gap."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import IndexPriceUpdate
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import CurrencyPair
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

from adapters.gate.book import ApplySnapshot
from adapters.gate.book import ApplyUpdate
from adapters.gate.book import BookSyncAction
from adapters.gate.book import BookSyncState
from adapters.gate.book import GateBookSync
from adapters.gate.book import RequestSnapshot
from adapters.gate.config import LIVE_WS_SPOT
from adapters.gate.config import TESTNET_WS_SPOT
from adapters.gate.config import GateDataClientConfig
from adapters.gate.markets import CHANNEL_MARKETS
from adapters.gate.markets import FUTURES
from adapters.gate.markets import SPOT
from adapters.gate.markets import market_of
from adapters.gate.parsing import decode_frame
from adapters.gate.parsing import parse_book_snapshot
from adapters.gate.parsing import parse_book_ticker
from adapters.gate.parsing import parse_book_update
from adapters.gate.parsing import parse_futures_contract
from adapters.gate.parsing import parse_index_price
from adapters.gate.parsing import parse_spot_currency_pair
from adapters.gate.parsing import parse_trade
from catalog.sample import GATE_BTC_USDT_CONTRACT
from tests.venues.gate.events import Event
from tests.venues.gate.market import ScriptedMarket
from tests.venues.gate.spot import DEFAULT_PAIRS
from tests.venues.gate.spot import SpotExchange
from tests.venues.gate.spot import currency_pair_json

pytestmark = pytest.mark.gate

TS = 1_767_571_200_000_000_000


def pair(name: str, precision: int, amount_precision: int) -> CurrencyPair:
    base, quote = name.split("_")
    fields = {"id": name, "base": base, "quote": quote}
    return parse_spot_currency_pair(
        {**fields, "precision": precision, "amount_precision": amount_precision}, TS
    )


def frame(channel: str, result: Any) -> dict[str, Any]:
    """A pushed frame as it comes off the wire, decoded by the client's own decoder."""
    raw = {"time": 1, "time_ms": 1000, "channel": channel, "event": "update", "result": result}
    return decode_frame(json.dumps(raw).encode())


# -- spot frames (shapes from venues.md 1.6) -------------------------------------------------------


def test_spot_book_update_levels_are_price_amount_pairs() -> None:
    gmt = pair("GMT_USDT", 5, 3)
    message = frame(
        "spot.order_book_update",
        {
            "t": 1650189272515,
            "e": "depthUpdate",
            "E": 1650189272,
            "s": "GMT_USDT",
            "U": 140595902,
            "u": 140595903,
            "b": [["2.51518", "228.119"], ["2.5151", "0"]],
            "a": [["2.5182", "4.199"]],
        },
    )
    assert CHANNEL_MARKETS[message["channel"]] is SPOT
    result = message["result"]
    assert SPOT.instrument_id(result["s"]) == gmt.id
    deltas = parse_book_update(gmt, result, TS).deltas
    rows = [(d.action, d.order.side, d.order.price, d.order.size) for d in deltas]
    assert rows == [
        (BookAction.UPDATE, OrderSide.BUY, Price.from_str("2.51518"), Quantity.from_str("228.119")),
        (BookAction.DELETE, OrderSide.BUY, Price.from_str("2.51510"), Quantity.from_str("0.000")),
        (BookAction.UPDATE, OrderSide.SELL, Price.from_str("2.51820"), Quantity.from_str("4.199")),
    ]
    assert {d.sequence for d in deltas} == {140595903}
    assert {d.ts_event for d in deltas} == {1_650_189_272_515_000_000}  # `t` is ms
    assert [bool(d.flags & RecordFlag.F_LAST) for d in deltas] == [False, False, True]


def test_spot_rest_snapshot_then_update_in_a_nautilus_book() -> None:
    gmt = pair("GMT_USDT", 2, 3)
    snapshot = {
        "id": 123456,
        "current": 1623898993123,
        "update": 1623898993121,
        "asks": [["1.52", "1.151"], ["1.53", "2"]],
        "bids": [["1.17", "201.863"]],
    }
    book = OrderBook(gmt.id, BookType.L2_MBP)
    book.apply_deltas(parse_book_snapshot(gmt, snapshot, TS))
    update = {"t": 1623898994000, "s": "GMT_USDT", "U": 123457, "u": 123457}
    book.apply_deltas(parse_book_update(gmt, {**update, "b": [], "a": [["1.52", "0"]]}, TS))
    assert [(float(lv.price), lv.size()) for lv in book.asks()] == [(1.53, 2.0)]
    assert [(float(lv.price), lv.size()) for lv in book.bids()] == [(1.17, 201.863)]
    assert book.sequence == 123457


def test_spot_book_ticker_amounts_are_strings() -> None:
    btc = pair("BTC_USDT", 1, 4)
    message = frame(
        "spot.book_ticker",
        {"t": 1671363004228, "u": 9793320464, "s": "BTC_USDT", "b": "16716.8", "B": "0.0134",
         "a": "16716.9", "A": "0.0353"},
    )  # fmt: skip
    assert CHANNEL_MARKETS[message["channel"]] is SPOT
    quote = parse_book_ticker(btc, message["result"], TS)
    assert quote is not None and quote.instrument_id == InstrumentId.from_str("BTC_USDT.GATE")
    assert (quote.bid_price, quote.bid_size) == (
        Price.from_str("16716.8"),
        Quantity.from_str("0.0134"),
    )
    assert (quote.ask_price, quote.ask_size) == (
        Price.from_str("16716.9"),
        Quantity.from_str("0.0353"),
    )
    assert quote.ts_event == 1_671_363_004_228_000_000


def test_spot_trade_is_one_object_with_a_side() -> None:
    ltc = pair("LTC_USDT", 2, 4)
    message = frame(
        "spot.trades",
        {"id": 3130257995, "create_time": 1648725035, "create_time_ms": "1648725035923.0",
         "side": "sell", "currency_pair": "LTC_USDT", "amount": "0.0116", "price": "130.11"},
    )  # fmt: skip
    trade = message["result"]
    assert SPOT.instrument_id(trade[SPOT.trade_symbol_field]) == ltc.id
    tick = parse_trade(ltc, trade, TS)
    assert tick.aggressor_side == AggressorSide.SELLER
    assert (tick.price, tick.size) == (Price.from_str("130.11"), Quantity.from_str("0.0116"))
    assert tick.trade_id.value == "3130257995"
    assert tick.ts_event == 1_648_725_035_923_000_000
    assert parse_trade(ltc, {**trade, "side": "buy"}, TS).aggressor_side == AggressorSide.BUYER


def test_index_price_from_a_ticker() -> None:
    btc = parse_futures_contract({**GATE_BTC_USDT_CONTRACT, "order_price_round": "0.1"}, TS)
    ticker = {"contract": "BTC_USDT", "mark_price": "6534.27", "index_price": "6531.04"}
    update = parse_index_price(btc, ticker, TS, ts_event=TS - 7)
    assert isinstance(update, IndexPriceUpdate)
    assert update.instrument_id == btc.id
    assert update.value == Price.from_str("6531.0")  # the instrument's precision
    assert update.ts_event == TS - 7


# -- which market, which socket --------------------------------------------------------------------


def test_market_table() -> None:
    perp, spot = InstrumentId.from_str("BTC_USDT-PERP.GATE"), InstrumentId.from_str("BTC_USDT.GATE")
    assert market_of(perp) is FUTURES and market_of(spot) is SPOT
    assert FUTURES.instrument_id("BTC_USDT") == perp and SPOT.instrument_id("BTC_USDT") == spot
    assert FUTURES.book_payload("BTC_USDT", "100ms", "50") == ["BTC_USDT", "100ms", "50"]
    assert SPOT.book_payload("BTC_USDT", "100ms", "50") == ["BTC_USDT", "100ms"]
    assert (SPOT.snapshot_path, SPOT.symbol_param) == ("/spot/order_book", "currency_pair")
    assert {c for c, m in CHANNEL_MARKETS.items() if m is SPOT} == {
        "spot.order_book_update",
        "spot.book_ticker",
        "spot.trades",
    }


def test_spot_ws_url_defaults_and_overrides() -> None:
    assert GateDataClientConfig().spot_ws_url() == LIVE_WS_SPOT
    assert GateDataClientConfig(testnet=True).spot_ws_url() == TESTNET_WS_SPOT
    local = "ws://127.0.0.1:1/ws/v4/"
    config = GateDataClientConfig(base_url_ws="ws://127.0.0.1:1/v4/ws/usdt", base_url_ws_spot=local)
    assert config.spot_ws_url() == local
    # A simulator's futures endpoints with no spot URL must not fall back to the real Gate.
    with pytest.raises(ValueError, match="base_url_ws_spot"):
        GateDataClientConfig(base_url_http="http://127.0.0.1:1/api/v4").spot_ws_url()


# -- spot book sync against the simulator's spot market, including a gap --------------------------


class Tape:
    """Collects the spot market's pushes, serialised and decoded as on the wire."""

    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []

    def publish(self, event: Event) -> None:
        if event.channel == "spot.order_book_update":
            self.updates.append(frame(event.channel, event.result(False))["result"])


class LocalBook:
    """The client side: the sync machine feeding a nautilus L2 book."""

    def __init__(self, instrument: CurrencyPair) -> None:
        self.instrument = instrument
        self.sync = GateBookSync()
        self.book = OrderBook(instrument.id, BookType.L2_MBP)
        self.requests: list[str] = []

    def run(self, actions: list[BookSyncAction]) -> None:
        for action in actions:
            if isinstance(action, RequestSnapshot):
                self.requests.append(action.reason)
            elif isinstance(action, ApplySnapshot):
                self.book.apply_deltas(
                    parse_book_snapshot(self.instrument, dict(action.snapshot), TS)
                )
            elif isinstance(action, ApplyUpdate):
                deltas = parse_book_update(self.instrument, dict(action.update), TS)
                if deltas is not None:
                    self.book.apply_deltas(deltas)
        if self.sync.state is BookSyncState.SYNCED:
            bid, ask = self.book.best_bid_price(), self.book.best_ask_price()
            assert bid is None or ask is None or bid < ask, f"crossed: {bid}/{ask}"


def levels(rows: Any) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(str(lv.price)), Decimal(str(lv.size()))) for lv in rows]


def venue_levels(rows: list[list[str]]) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(price), Decimal(amount)) for price, amount in rows]


def test_spot_book_syncs_resyncs_after_a_gap_and_matches_the_venue() -> None:
    tape = Tape()
    spot = SpotExchange({"BTC_USDT": DEFAULT_PAIRS["BTC_USDT"]}, tape)
    market = ScriptedMarket(spot, seed=5, updates_per_s=0)  # stepped by hand below
    venue = spot.books["BTC_USDT"]
    # The instrument comes from the simulator's own `/spot/currency_pairs` item.
    local = LocalBook(parse_spot_currency_pair(currency_pair_json(spot.specs["BTC_USDT"]), TS))
    delivered = 0

    def deliver() -> None:
        nonlocal delivered
        for update in tape.updates[delivered:]:
            local.run(local.sync.on_update(update))
        delivered = len(tape.updates)

    def snapshot() -> dict[str, Any]:
        return json.loads(json.dumps(spot.order_book_json("BTC_USDT", 100, with_id=True)))

    # Subscribed first: the stream is buffered and a snapshot requested; the snapshot is taken a
    # few updates later, so its id lands inside the buffered stream.
    for _ in range(5):
        market.step()
    deliver()
    assert local.requests == ["initial sync"]
    for _ in range(3):
        market.step()
    taken = snapshot()
    for _ in range(4):
        market.step()
    deliver()
    local.run(local.sync.on_snapshot(taken))
    assert local.sync.state is BookSyncState.SYNCED
    assert local.sync.last_update_id == venue.id

    # Ids lost on the wire: the next update leaves a hole, the book is dropped and resnapshotted.
    venue.skip_ids(2)
    market.step()
    while len(tape.updates) == delivered:
        market.step()
    deliver()
    assert local.sync.state is BookSyncState.AWAITING_SNAPSHOT
    assert local.requests[-1].startswith("gap: ")
    for _ in range(6):
        market.step()
    deliver()
    local.run(local.sync.on_snapshot(snapshot()))
    for _ in range(6):
        market.step()
    deliver()

    assert len(local.requests) == 2
    assert local.sync.state is BookSyncState.SYNCED
    assert local.book.sequence == local.sync.last_update_id == venue.id
    final = spot.order_book_json("BTC_USDT", 1000, with_id=True)
    assert levels(local.book.bids()) == venue_levels(final["bids"])
    assert levels(local.book.asks()) == venue_levels(final["asks"])
