"""
A nautilus TradingNode with our Polymarket data client, run against the local Polymarket simulator
(in another process) through a scenario; prints one JSON line of findings for the test to assert.

    python -m tests.integration.polymarket_data_driver --info <sim info json> --logs <dir>

The node's books (its cache, fed by the DataEngine) are compared level by level with the venue's
own (`/_sim/book`) while the scripted crowd is paused, so each comparison is exact.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import LoggingConfig
from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument

from adapters.polymarket.config import PolymarketDataClientConfig
from adapters.polymarket.config import PolymarketEndpoints
from adapters.polymarket.data import PolymarketDataClient
from adapters.polymarket.factories import PolymarketLiveDataClientFactory
from adapters.polymarket.parsing import token_instrument_id
from tests.venues.common import SimControl

Levels = list[tuple[str, str]]


class Recorder(Actor):
    """Subscribes deltas, quotes and trades of the given tokens and remembers what arrived."""

    def __init__(self, instrument_ids: list[InstrumentId]) -> None:
        super().__init__()
        self.ids = instrument_ids
        self.snapshots: dict[str, int] = {i.value: 0 for i in instrument_ids}
        self.updates: dict[str, int] = {i.value: 0 for i in instrument_ids}
        self.quotes: dict[str, QuoteTick] = {}
        self.trades: list[TradeTick] = []
        self.tick_sizes: list[tuple[str, str]] = []

    def on_start(self) -> None:
        for instrument_id in self.ids:
            self.subscribe_instrument(instrument_id)
            self.subscribe_order_book_deltas(instrument_id, BookType.L2_MBP)
            self.subscribe_quote_ticks(instrument_id)
            self.subscribe_trade_ticks(instrument_id)

    def on_order_book_deltas(self, deltas: OrderBookDeltas) -> None:
        counts = self.snapshots if deltas.deltas[0].action == BookAction.CLEAR else self.updates
        counts[deltas.instrument_id.value] += 1

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self.quotes[tick.instrument_id.value] = tick

    def on_trade_tick(self, tick: TradeTick) -> None:
        self.trades.append(tick)

    def on_instrument(self, instrument: Instrument) -> None:
        self.tick_sizes.append((instrument.id.value, str(instrument.price_increment)))


def _node(info: dict, condition_id: str, logs: str) -> TradingNode:
    endpoints = PolymarketEndpoints(
        clob_http=info["clob_url"], clob_ws=info["ws_url"], gamma_http=info["gamma_url"]
    )
    config = TradingNodeConfig(
        logging=LoggingConfig(
            log_level="WARNING", log_level_file="INFO", log_directory=logs, log_file_name="node"
        ),
        data_clients={
            "POLYMARKET": PolymarketDataClientConfig(
                endpoints=endpoints, condition_ids=(condition_id,), snapshot_grace_s=0.5
            )
        },
        timeout_connection=20.0,
        timeout_disconnection=5.0,
        timeout_post_stop=0.5,
    )
    node = TradingNode(config=config, loop=asyncio.get_running_loop())
    node.add_data_client_factory("POLYMARKET", PolymarketLiveDataClientFactory)
    node.build()
    return node


def _node_levels(node: TradingNode, instrument_id: InstrumentId) -> tuple[Levels, Levels]:
    book = node.cache.order_book(instrument_id)
    if book is None:
        return [], []

    def side(levels) -> Levels:
        return sorted((_num(level.price), _num(level.size())) for level in levels)

    return side(book.bids()), side(book.asks())


def _venue_levels(control: SimControl, token_id: str) -> tuple[Levels, Levels]:
    book = control.get("book", token_id=token_id)

    def side(levels: list[dict]) -> Levels:
        return sorted((_num(level["price"]), _num(level["size"])) for level in levels)

    return side(book["bids"]), side(book["asks"])


def _num(value) -> str:
    return str(Decimal(str(value)).normalize())


async def _wait_for(predicate: Callable[[], bool], timeout_s: float = 15.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


async def _books_match(node: TradingNode, control: SimControl, tokens: dict) -> bool:
    """Pause the crowd, then wait until every node book equals the venue's, level by level."""
    control.post("market/pause")
    await asyncio.sleep(0.3)  # messages of the last crowd step are still in flight
    try:
        return await _wait_for(
            lambda: all(
                _node_levels(node, iid) == _venue_levels(control, token)
                for token, iid in tokens.items()
            )
        )
    finally:
        control.post("market/resume")


async def run(args: argparse.Namespace) -> dict:
    info = json.loads(Path(args.info).read_text())
    control = SimControl(info["base_url"])
    market = info["markets"][0]
    condition_id = market["condition_id"]
    tokens = {t: token_instrument_id(condition_id, t) for t in market["token_ids"]}
    yes_id = tokens[market["token_ids"][0]]

    node = _node(info, condition_id, args.logs)
    recorder = Recorder(list(tokens.values()))
    node.trader.add_actor(recorder)
    node.run()
    result: dict = {"node": node}
    try:
        client: PolymarketDataClient = node.kernel.data_engine._clients[ClientId("POLYMARKET")]
        synced = await _wait_for(lambda: all(client.book_synced(i) for i in tokens.values()))
        result["initial_synced"] = synced
        result["initial_match"] = await _books_match(node, control, tokens)

        # price_change: the crowd moves the touch; the node follows level by level.
        before = dict(recorder.updates)
        control.post("market/move", bid="0.40", ask="0.45", market=condition_id)
        await _wait_for(lambda: recorder.updates[yes_id.value] > before[yes_id.value])
        result["updates_after_move"] = recorder.updates[yes_id.value] - before[yes_id.value]
        result["move_match"] = await _books_match(node, control, tokens)
        quote = recorder.quotes.get(yes_id.value)
        bids, asks = _node_levels(node, yes_id)
        result["quote_is_top"] = quote is not None and (
            (_num(quote.bid_price), _num(quote.ask_price)) == (bids[-1][0], asks[0][0])
        )

        # A crowd taker trades: a TradeTick per token, then fresh books.
        control.post("market/pause")
        await asyncio.sleep(0.3)
        best_ask = control.get("book", token_id=market["token_ids"][0])["asks"][-1]["price"]
        result["traded_at"] = _num(best_ask)
        trades_before = len(recorder.trades)
        control.post("market/trade", side="buy", price=best_ask, size="7", market=condition_id)
        await _wait_for(lambda: len(recorder.trades) >= trades_before + 2)
        result["trades"] = sorted(
            (
                t.instrument_id.value == yes_id.value,
                _num(t.price),
                _num(t.size),
                t.aggressor_side.name,
            )
            for t in recorder.trades[trades_before:]
        )
        control.post("market/resume")
        result["trade_match"] = await _books_match(node, control, tokens)

        # Tick size change: the instrument is republished, the book resynced on the new grid.
        resyncs = client.resyncs
        snapshots = dict(recorder.snapshots)
        control.post("tick_size", tick_size="0.001", market=condition_id)
        await _wait_for(
            lambda: all(recorder.snapshots[i.value] > snapshots[i.value] for i in tokens.values())
        )
        result["tick_sizes"] = sorted(set(recorder.tick_sizes))
        result["cache_tick"] = str(node.cache.instrument(yes_id).price_increment)
        result["resyncs_after_tick"] = client.resyncs - resyncs
        control.post("market/move", bid="0.412", ask="0.447", market=condition_id)
        result["tick_match"] = await _books_match(node, control, tokens)

        # A dropped socket: reconnect, resubscribe, fresh snapshots, the same books as the venue.
        reconnects, resyncs = client.websocket.reconnects, client.resyncs
        snapshots = dict(recorder.snapshots)
        dropped_ns = client._clock.timestamp_ns()
        result["dropped"] = control.post("drop_ws")["dropped"]
        await _wait_for(
            lambda: all(recorder.snapshots[i.value] > snapshots[i.value] for i in tokens.values())
        )
        result["reconnects"] = client.websocket.reconnects - reconnects
        result["resyncs_after_drop"] = client.resyncs - resyncs
        result["drop_match"] = await _books_match(node, control, tokens)
        result["desyncs"] = client.desyncs
        result["data_after_drop"] = client.last_message_ns > dropped_ns
        result["last_update_after_drop"] = all(
            client.last_update_ns(i) > dropped_ns for i in tokens.values()
        )
    finally:
        await node.stop_async()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--info", required=True, help="the simulator's ready file (JSON)")
    parser.add_argument("--logs", required=True)
    args = parser.parse_args()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    result = loop.run_until_complete(run(args))
    node = result.pop("node")
    node.dispose()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
