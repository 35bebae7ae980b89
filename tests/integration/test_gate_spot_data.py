"""
The Gate data client against the local simulator over real sockets: spot book, quotes and trades
on the spot WebSocket, and mark/index prices and funding rates from `futures.tickers`.

The client runs under nautilus' own `LiveDataEngine` (which keeps the managed order book in the
cache), built from its parts in this process: no kernel, so no one-node-per-process limit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.common.data_topics import TopicCache
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.data.messages import SubscribeFundingRates
from nautilus_trader.data.messages import SubscribeIndexPrices
from nautilus_trader.data.messages import SubscribeMarkPrices
from nautilus_trader.data.messages import SubscribeOrderBook
from nautilus_trader.data.messages import SubscribeQuoteTicks
from nautilus_trader.data.messages import SubscribeTradeTicks
from nautilus_trader.data.messages import UnsubscribeFundingRates
from nautilus_trader.data.messages import UnsubscribeIndexPrices
from nautilus_trader.data.messages import UnsubscribeMarkPrices
from nautilus_trader.live.data_engine import LiveDataEngine
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import FundingRateUpdate
from nautilus_trader.model.data import IndexPriceUpdate
from nautilus_trader.model.data import MarkPriceUpdate
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import TraderId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

from adapters.gate.config import GateDataClientConfig
from adapters.gate.data import GateDataClient
from adapters.gate.factories import GateLiveDataClientFactory
from adapters.gate.parsing import GATE_VENUE
from tests.venues.gate import GateSimulator

pytestmark = [pytest.mark.gate, pytest.mark.integration]

SPOT = InstrumentId.from_str("BTC_USDT.GATE")
PERP = InstrumentId.from_str("BTC_USDT-PERP.GATE")
CLIENT = ClientId("GATE")
WAIT_S = 20.0  # generous: a condition that never comes true fails the test, it is not a timing


async def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.02)


@dataclass
class Feed:
    """A data client under a live data engine, and everything it delivered."""

    client: GateDataClient
    engine: LiveDataEngine
    msgbus: MessageBus
    cache: Cache
    clock: LiveClock
    received: dict[type, list[Any]] = field(default_factory=dict)
    topics: dict[type, str] = field(default_factory=dict)
    crossed: list[tuple[float, float]] = field(default_factory=list)

    def of(self, kind: type) -> list[Any]:
        return self.received.setdefault(kind, [])

    def listen(self, kind: type, topic: str) -> None:
        self.topics[kind] = topic
        self.msgbus.subscribe(topic=topic, handler=self.of(kind).append)

    def stop_listening(self, kind: type) -> None:
        # The engine keeps a venue subscription while anyone still listens on its topic.
        self.msgbus.unsubscribe(topic=self.topics[kind], handler=self.of(kind).append)

    def send(self, command_type: type, instrument_id: InstrumentId, **extra: Any) -> None:
        self.engine.execute(
            command_type(
                instrument_id=instrument_id,
                client_id=CLIENT,
                venue=GATE_VENUE,
                command_id=UUID4(),
                ts_init=self.clock.timestamp_ns(),
                **extra,
            )
        )

    def book(self) -> OrderBook:
        return self.cache.order_book(SPOT)


@pytest.fixture
async def sim() -> AsyncIterator[GateSimulator]:
    async with GateSimulator(seed=11, updates_per_s=40) as simulator:
        yield simulator


@pytest.fixture
async def feed(sim: GateSimulator) -> AsyncIterator[Feed]:
    loop = asyncio.get_running_loop()
    clock = LiveClock()
    msgbus = MessageBus(TraderId("TESTER-001"), clock)
    cache = Cache()
    engine = LiveDataEngine(loop, msgbus, cache, clock)
    config = GateDataClientConfig(
        instrument_provider=InstrumentProviderConfig(load_ids=frozenset([SPOT, PERP])),
        base_url_http=sim.rest_url,
        base_url_ws=sim.ws_url,
        base_url_ws_spot=sim.spot_ws_url,
    )
    client = GateLiveDataClientFactory.create(loop, "GATE", config, msgbus, cache, clock)
    engine.register_client(client)
    feed = Feed(client, engine, msgbus, cache, clock)

    topics = TopicCache()
    for topic, kind in (
        (topics.get_deltas_topic(SPOT), OrderBookDeltas),
        (topics.get_quotes_topic(SPOT), QuoteTick),
        (topics.get_trades_topic(SPOT), TradeTick),
        (topics.get_mark_prices_topic(PERP), MarkPriceUpdate),
        (topics.get_index_prices_topic(PERP), IndexPriceUpdate),
        (topics.get_funding_rates_topic(PERP), FundingRateUpdate),
    ):
        feed.listen(kind, topic)
    # Runs after the engine's own book handler (priority 10): sees the book each batch left.
    msgbus.subscribe(topic=topics.get_deltas_topic(SPOT), handler=lambda _: _check_uncrossed(feed))

    engine.start()
    engine.connect()
    await wait_until(lambda: client.is_connected, "client connected")
    try:
        yield feed
    finally:
        engine.stop()
        client.disconnect()
        await wait_until(lambda: not client.is_connected, "client disconnected")
        engine.dispose()


def _check_uncrossed(feed: Feed) -> None:
    book = feed.book()
    bid, ask = book.best_bid_price(), book.best_ask_price()
    if bid is not None and ask is not None and bid >= ask:
        feed.crossed.append((bid.as_double(), ask.as_double()))


def _levels(rows: Any) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(str(level.price)), Decimal(str(level.size()))) for level in rows]


def _venue_levels(rows: list[list[str]]) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(price), Decimal(amount)) for price, amount in rows]


async def _settled_book_matches_venue(sim: GateSimulator, feed: Feed) -> int:
    """Pause the spot market, let the client catch up with the venue's last id, compare every
    level; returns the id."""
    sim.spot_market.pause()
    venue = sim.spot_book("BTC_USDT", limit=1000)
    await wait_until(lambda: feed.book().sequence == venue["id"], f"client book at {venue['id']}")
    assert _levels(feed.book().bids()) == _venue_levels(venue["bids"])
    assert _levels(feed.book().asks()) == _venue_levels(venue["asks"])
    return venue["id"]


async def test_spot_book_quotes_and_trades_follow_the_venue_through_a_gap_and_a_drop(
    sim: GateSimulator, feed: Feed
) -> None:
    feed.send(SubscribeOrderBook, SPOT, book_data_type=OrderBookDelta, book_type=BookType.L2_MBP)
    feed.send(SubscribeQuoteTicks, SPOT)
    feed.send(SubscribeTradeTicks, SPOT)
    await wait_until(
        lambda: len(feed.of(OrderBookDeltas)) > 20 and len(feed.of(TradeTick)) > 3,
        "spot book updates and trades",
    )
    first_id = await _settled_book_matches_venue(sim, feed)

    # The last quote is the venue's touch; a scripted crowd sale prints at the bid.
    venue = sim.spot_book("BTC_USDT", limit=1)
    bid, bid_amount = _venue_levels(venue["bids"])[0]
    ask, ask_amount = _venue_levels(venue["asks"])[0]

    def last_quote() -> tuple[Decimal, ...] | None:
        if not feed.of(QuoteTick):
            return None
        q = feed.of(QuoteTick)[-1]
        return tuple(x.as_decimal() for x in (q.bid_price, q.bid_size, q.ask_price, q.ask_size))

    await wait_until(lambda: last_quote() == (bid, bid_amount, ask, ask_amount), "the touch")
    trades_before = len(feed.of(TradeTick))
    sim.spot_market.trade("sell", bid, 7)
    await wait_until(lambda: len(feed.of(TradeTick)) > trades_before, "the scripted trade")
    trade = feed.of(TradeTick)[trades_before]
    assert trade.instrument_id == SPOT
    assert trade.aggressor_side == AggressorSide.SELLER
    assert trade.price == Price.from_str(f"{bid:.1f}")
    assert trade.size == Quantity.from_str("0.00007")  # 7 amount steps of 10^-5 BTC
    assert len({t.trade_id for t in feed.of(TradeTick)}) == len(feed.of(TradeTick))

    # A gap in the spot ids: the client notices, resnapshots and ends exact again.
    resyncs = feed.client.resyncs
    sim.spot_market.resume()
    sim.skip_book_ids(3, "BTC_USDT", market="spot")
    await wait_until(lambda: feed.client.resyncs > resyncs, "a resync after the gap")
    await asyncio.sleep(0.5)  # let the market move on from the resnapshot
    after_gap = await _settled_book_matches_venue(sim, feed)
    assert after_gap > first_id + 3

    # A dropped socket: the spot socket reconnects, resubscribes and resnapshots.
    resyncs = feed.client.resyncs
    sim.spot_market.resume()
    assert sim.drop_ws() >= 1
    await wait_until(lambda: feed.client.resyncs > resyncs, "a resync after the drop")
    await asyncio.sleep(0.5)
    await _settled_book_matches_venue(sim, feed)

    assert feed.crossed == [], "the client's spot book crossed"
    # Nothing of the perpetual leaked into the spot instrument.
    assert {d.instrument_id for d in feed.of(OrderBookDeltas)} == {SPOT}
    assert {q.instrument_id for q in feed.of(QuoteTick)} == {SPOT}


async def test_futures_tickers_feed_mark_index_and_funding(sim: GateSimulator, feed: Feed) -> None:
    for command in (SubscribeMarkPrices, SubscribeIndexPrices, SubscribeFundingRates):
        feed.send(command, PERP)
    await wait_until(lambda: bool(feed.of(MarkPriceUpdate)), "a mark price")

    sim.market.pause()
    sim.market.move_to("30000.0", "30000.2")  # mid 30000.1: exact at the contract's tick
    mark = Price.from_str("30000.1")
    await wait_until(lambda: feed.of(MarkPriceUpdate)[-1].value == mark, "the moved mark")
    await wait_until(lambda: feed.of(IndexPriceUpdate)[-1].value == mark, "the moved index")

    sim.set_funding_rate("0.00031")
    await wait_until(
        lambda: feed.of(FundingRateUpdate)[-1].rate == Decimal("0.00031"), "the new funding rate"
    )
    # Every ticker repeats the rate; only changes arrive.
    assert [u.rate for u in feed.of(FundingRateUpdate)] == [Decimal("0.0001"), Decimal("0.00031")]
    assert {u.instrument_id for u in feed.of(MarkPriceUpdate)} == {PERP}

    # The ticker channel is given back once nothing needs it any more.
    def ticker_subscribed() -> bool:
        return any(("futures.tickers", "BTC_USDT") in conn.public for conn in sim.hub.conns)

    assert ticker_subscribed()
    for kind, command in (
        (MarkPriceUpdate, UnsubscribeMarkPrices),
        (IndexPriceUpdate, UnsubscribeIndexPrices),
    ):
        feed.stop_listening(kind)
        feed.send(command, PERP)
    await wait_until(lambda: not feed.client.subscribed_mark_prices(), "mark prices dropped")
    await wait_until(lambda: not feed.client.subscribed_index_prices(), "index prices dropped")
    assert ticker_subscribed(), "funding rates still need the tickers"
    feed.stop_listening(FundingRateUpdate)
    feed.send(UnsubscribeFundingRates, PERP)
    await wait_until(lambda: not ticker_subscribed(), "futures.tickers unsubscribed")
