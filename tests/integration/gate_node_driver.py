"""
Runs a nautilus `TradingNode` with the quoting strategy against a running Gate simulator, scripts
the market through both sides of the quotes, stops the node and prints one JSON line:

    python -m tests.integration.gate_node_driver --base URL --rest URL --ws URL --logs DIR

A separate process because nautilus allows one kernel per process. Credentials come from
GATE_API_KEY / GATE_API_SECRET, as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import msgspec
from nautilus_trader.common.config import LoggingConfig
from nautilus_trader.model.identifiers import ClientId

from backtests.config import load_config
from live.node import build_node
from live.node import gate_node_config
from strategies.quoting import QuotingStrategy
from tests.venues.gate.process import SimControl

ROOT = Path(__file__).resolve().parents[2]
KEY = "test-key"


def _open_orders(control: SimControl) -> list[dict]:
    return control.get("orders", key=KEY, status="open")


async def _wait_for(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.1)
    return False


def _sides(orders: list[dict]) -> tuple[list[float], list[float]]:
    bids = sorted((float(o["price"]) for o in orders if float(o["size"]) > 0), reverse=True)
    asks = sorted(float(o["price"]) for o in orders if float(o["size"]) < 0)
    return bids, asks


async def trade(node, control: SimControl, instrument_id, result: dict) -> None:
    """Quotes rest, get amended as the market moves, then fill on both sides."""
    await asyncio.sleep(3.0)
    bids, _ = _sides(_open_orders(control))
    if bids:
        # Sell down through our best bid: it fills as maker.
        control.post("market/move", bid=round(bids[0] - 0.5, 1), ask=round(bids[0], 1))
    await asyncio.sleep(2.0)
    _, asks = _sides(_open_orders(control))
    if asks:
        control.post("market/move", bid=round(asks[0], 1), ask=round(asks[0] + 0.5, 1))
    await asyncio.sleep(2.0)


async def faults(node, control: SimControl, instrument_id, result: dict) -> None:
    """A gap in book update ids, then a dropped socket: both end in a resynchronised book."""
    data_client = node.kernel.data_engine._clients[ClientId("GATE")]
    control.post("gap", n=1)
    await asyncio.sleep(2.0)
    result["resyncs_after_gap"] = data_client.resyncs
    control.post("drop_ws")
    await _wait_for(lambda: data_client.resyncs > result["resyncs_after_gap"], 15)
    await asyncio.sleep(1.5)
    result["resyncs_after_drop"] = data_client.resyncs
    control.post("market/pause")
    await asyncio.sleep(1.0)
    venue = control.get("book", contract="BTC_USDT", limit=5)
    book = node.cache.order_book(instrument_id)
    result["venue_top"] = [float(venue["bids"][0][0]), float(venue["asks"][0][0])]
    result["node_top"] = [book.best_bid_price().as_double(), book.best_ask_price().as_double()]


async def dead_man(node, control: SimControl, instrument_id, result: dict) -> None:
    """Signal readiness, then keep running until the test freezes or kills this process."""
    print("READY", flush=True)
    await asyncio.sleep(120)


async def adopt(node, control: SimControl, instrument_id, result: dict) -> None:
    """A restart with quotes still resting at the venue: they are adopted, not duplicated."""
    await asyncio.sleep(4.0)
    strategy = next(s for s in node.trader.strategies() if isinstance(s, QuotingStrategy))
    result["strategy_open"] = len(
        node.cache.orders_open(instrument_id=instrument_id, strategy_id=strategy.id)
    )
    result["venue_open"] = len(_open_orders(control))


async def outcomes(node, control: SimControl, instrument_id, result: dict) -> None:
    """Let submits that time out (set up by the caller) be resolved by the in-flight checks."""
    await asyncio.sleep(9.0)
    strategy = next(s for s in node.trader.strategies() if isinstance(s, QuotingStrategy))
    orders = node.cache.orders(instrument_id=instrument_id, strategy_id=strategy.id)
    rejections = [e for o in orders for e in o.events if type(e).__name__ == "OrderRejected"]
    result["rejected"] = len(rejections)
    result["reject_reasons"] = sorted({e.reason.split(":")[0] for e in rejections})
    result["statuses"] = sorted(o.status.name for o in orders)
    result["strategy_open"] = len(
        node.cache.orders_open(instrument_id=instrument_id, strategy_id=strategy.id)
    )
    result["venue_open"] = len(_open_orders(control))


PUBLIC_BOOK = ["futures.order_book_update", "futures.book_ticker", "futures.trades"]
PRIVATE = ["futures.orders", "futures.usertrades", "futures.positions", "futures.balances"]


def _strategy(node) -> QuotingStrategy:
    return next(s for s in node.trader.strategies() if isinstance(s, QuotingStrategy))


def _top(control: SimControl) -> tuple[float, float]:
    venue = control.get("book", contract="BTC_USDT", limit=1)
    return float(venue["bids"][0][0]), float(venue["asks"][0][0])


def _events(node, instrument_id, name: str) -> list:
    orders = node.cache.orders(instrument_id=instrument_id, strategy_id=_strategy(node).id)
    return [e for o in orders for e in o.events if type(e).__name__ == name]


def _order_events(node, instrument_id, result: dict) -> None:
    rejections = _events(node, instrument_id, "OrderRejected")
    result["rejected"] = len(rejections)
    result["post_only_rejections"] = sum(e.due_post_only for e in rejections)
    result["reject_reasons"] = sorted({e.reason.split(":")[0] for e in rejections})
    result["modify_rejected"] = len(_events(node, instrument_id, "OrderModifyRejected"))
    result["cancel_rejected"] = len(_events(node, instrument_id, "OrderCancelRejected"))


async def stale_view(node, control: SimControl, instrument_id, result: dict) -> None:
    """The public book lags while the market falls through our bids: requotes priced off the
    lagging book cross, and the venue turns them away as post-only."""
    control.post("lag", channels=PUBLIC_BOOK, delay_s=2.0)
    await asyncio.sleep(0.5)
    bids, _ = _sides(_open_orders(control))
    control.post("market/move", bid=round(bids[-1] - 1.0, 1), ask=round(bids[-1] - 0.5, 1))
    await asyncio.sleep(3.0)
    control.post("lag", channels=PUBLIC_BOOK, delay_s=0)
    await asyncio.sleep(3.0)
    _order_events(node, instrument_id, result)
    control.post("market/pause")
    await asyncio.sleep(1.0)
    ours_bids, ours_asks = _sides(_open_orders(control))
    result["venue_top"] = list(_top(control))
    result["our_top"] = [max(ours_bids, default=None), min(ours_asks, default=None)]


async def lost_fill(node, control: SimControl, instrument_id, result: dict) -> None:
    """Private pushes stall while our best bid fills: the next amend finds the order finished,
    and the fill is recovered from my_trades, once."""
    control.post("market/pause")
    control.post("mute", channels=PRIVATE)
    bids, _ = _sides(_open_orders(control))
    control.post("market/move", bid=round(bids[0] - 0.5, 1), ask=round(bids[0], 1))
    await asyncio.sleep(3.0)
    result["fills_while_muted"] = len(_events(node, instrument_id, "OrderFilled"))
    control.post("mute", channels=PRIVATE, muted=False)
    await asyncio.sleep(2.0)
    _order_events(node, instrument_id, result)


async def forgotten(node, control: SimControl, instrument_id, result: dict) -> None:
    """The venue cancels our quotes while private pushes stall, then forgets them (no fills):
    amends and cancels answer ORDER_NOT_FOUND, a query confirms it, the orders end cancelled
    and a fresh ladder rests."""
    since_ns = time.time_ns()
    control.post("mute", channels=PRIVATE)
    gone = {str(o["id"]) for o in _open_orders(control)}
    result["venue_cancelled"] = control.post("venue_cancel_all", key=KEY)["cancelled"]
    result["forgotten"] = control.post("forget_finished", key=KEY)["forgotten"]
    bid, ask = _top(control)
    control.post("market/move", bid=round(bid + 3.0, 1), ask=round(ask + 3.0, 1))
    await asyncio.sleep(3.0)
    control.post("mute", channels=PRIVATE, muted=False)
    await asyncio.sleep(1.0)
    requests = control.get("requests", since_ns=since_ns)
    changed = {r["path"].rsplit("/", 1)[-1] for r in requests if r["method"] in ("PUT", "DELETE")}
    queried = {r["path"].rsplit("/", 1)[-1] for r in requests if r["method"] == "GET"}
    result["changed_forgotten"] = len(changed & gone)
    result["queried_forgotten"] = len(changed & gone & queried)
    orders = node.cache.orders(instrument_id=instrument_id, strategy_id=_strategy(node).id)
    result["forgotten_statuses"] = sorted(
        {o.status.name for o in orders if o.venue_order_id and o.venue_order_id.value in gone}
    )
    _order_events(node, instrument_id, result)
    result["strategy_open"] = len(
        node.cache.orders_open(instrument_id=instrument_id, strategy_id=_strategy(node).id)
    )
    result["venue_open"] = len(_open_orders(control))


SCENARIOS = {
    "trade": trade,
    "faults": faults,
    "dead_man": dead_man,
    "adopt": adopt,
    "outcomes": outcomes,
    "stale_view": stale_view,
    "lost_fill": lost_fill,
    "forgotten": forgotten,
}


async def run(args: argparse.Namespace) -> dict:
    control = SimControl(args.base)
    # The strategy section of configs/mm.yaml, requoting faster so a few seconds show amends.
    strategy = msgspec.structs.replace(
        load_config(ROOT / "configs" / "mm.yaml").strategy,
        min_requote_interval_ms=200,
        requote_tolerance_ticks=2,
        log_events=True,
    )
    config = gate_node_config(
        strategy,
        rest_url=args.rest,
        ws_url=args.ws,
        dead_man_timeout_s=args.dead_man_s,
        logging=LoggingConfig(
            log_level="WARNING",
            log_level_file="INFO",
            log_directory=args.logs,
            log_file_name="node",
        ),
    )
    node = build_node(config, loop=asyncio.get_running_loop())
    node.run()
    result: dict = {"node": node}
    try:
        rested = await _wait_for(lambda: len(_sides(_open_orders(control))[0]) > 0, 20)
        result["quotes_rested"] = rested
        first = _open_orders(control)
        result["first_quotes"] = len(first)
        await SCENARIOS[args.scenario](node, control, strategy.instrument_id, result)

        strategy_obj = next(s for s in node.trader.strategies() if isinstance(s, QuotingStrategy))
        result["commands"] = {
            "submits": strategy_obj.submits,
            "modifies": strategy_obj.modifies,
            "cancels": strategy_obj.cancels,
        }
        instrument_id = strategy.instrument_id
        result["node_position"] = float(node.portfolio.net_position(instrument_id))
        result["venue_position"] = float(
            control.get("position", key=KEY, contract="BTC_USDT")["size"]
        )
        fills = [
            e
            for order in node.cache.orders(instrument_id=instrument_id)
            for e in order.events
            if type(e).__name__ == "OrderFilled"
        ]
        result["fills"] = len(fills)
        result["fill_sides"] = sorted({e.order_side.name for e in fills})
    finally:
        await node.stop_async()
    await asyncio.sleep(0.5)
    result["open_after_stop"] = len(_open_orders(control))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--rest", required=True)
    parser.add_argument("--ws", required=True)
    parser.add_argument("--logs", required=True)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="trade")
    parser.add_argument("--dead-man-s", type=int, default=10)
    args = parser.parse_args()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    result = loop.run_until_complete(run(args))
    node = result.pop("node")
    node.dispose()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
