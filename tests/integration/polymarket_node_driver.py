"""
Runs a nautilus `TradingNode` with our Polymarket data and execution clients and the quoting
strategy of configs/mm_polymarket.yaml (on the simulator's binary market) against a running
Polymarket simulator, plays a scenario, stops the node and prints one JSON line:

    python -m tests.integration.polymarket_node_driver --info SIM_INFO_JSON --logs DIR --scenario S

A separate process because nautilus allows one kernel per process. The key comes from
POLYMARKET_PK, as in production; the API credentials are derived from it at the venue.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from decimal import Decimal
from pathlib import Path

import msgspec
from nautilus_trader.common.config import LoggingConfig
from nautilus_trader.config import ImportableStrategyConfig
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.config import LiveExecEngineConfig
from nautilus_trader.config import LiveRiskEngineConfig
from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

from adapters.polymarket.config import PolymarketDataClientConfig
from adapters.polymarket.config import PolymarketEndpoints
from adapters.polymarket.config import PolymarketExecClientConfig
from adapters.polymarket.factories import PolymarketLiveDataClientFactory
from adapters.polymarket.factories import PolymarketLiveExecClientFactory
from adapters.polymarket.parsing import token_instrument_id
from backtests.config import load_config
from strategies.quoting import QuotingStrategy
from tests.venues.common import SimControl

ROOT = Path(__file__).resolve().parents[2]


def _node(info: dict, condition_id: str, yes_id, no_id, args) -> TradingNode:
    endpoints = PolymarketEndpoints(
        clob_http=info["clob_url"],
        clob_ws=info["ws_url"],
        gamma_http=info["gamma_url"],
        data_api_http=info["data_api_url"],
    )
    strategy = msgspec.structs.replace(
        load_config(ROOT / "configs" / "mm_polymarket.yaml").strategy,
        instrument_id=yes_id,
        complement_id=no_id,
        order_size=args.order_size,
        min_requote_interval_ms=200,
        log_events=True,
        # After a restart the venue still holds our quotes on both tokens: adopt them.
        external_order_claims=[yes_id, no_id],
    )
    provider = InstrumentProviderConfig(load_all=True)
    return _build(
        TradingNodeConfig(
            trader_id="QUOTEKIT-001",
            logging=LoggingConfig(
                log_level="WARNING",
                log_level_file="INFO",
                log_directory=args.logs,
                log_file_name="node",
            ),
            risk_engine=LiveRiskEngineConfig(
                max_order_submit_rate="90/00:00:01", max_order_modify_rate="90/00:00:01"
            ),
            exec_engine=LiveExecEngineConfig(
                reconciliation=True,
                open_check_interval_secs=3.0,
                reconciliation_startup_delay_secs=0.0,
                inflight_check_interval_ms=1_000,
                inflight_check_threshold_ms=3_000,
            ),
            data_clients={
                "POLYMARKET": PolymarketDataClientConfig(
                    endpoints=endpoints,
                    condition_ids=(condition_id,),
                    instrument_provider=provider,
                )
            },
            exec_clients={
                "POLYMARKET": PolymarketExecClientConfig(
                    endpoints=endpoints,
                    condition_ids=(condition_id,),
                    instrument_provider=provider,
                    heartbeat_interval_s=1.0,
                )
            },
            strategies=[
                ImportableStrategyConfig(
                    strategy_path="strategies.quoting:QuotingStrategy",
                    config_path="strategies.quoting:QuotingConfig",
                    config=json.loads(strategy.json()),
                )
            ],
            timeout_connection=20.0,
            timeout_reconciliation=10.0,
            timeout_disconnection=5.0,
            timeout_post_stop=1.0,
        )
    )


def _build(config: TradingNodeConfig) -> TradingNode:
    node = TradingNode(config=config, loop=asyncio.get_running_loop())
    node.add_data_client_factory("POLYMARKET", PolymarketLiveDataClientFactory)
    node.add_exec_client_factory("POLYMARKET", PolymarketLiveExecClientFactory)
    node.build()
    return node


async def _wait_for(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.1)
    return predicate()


def _strategy(node: TradingNode) -> QuotingStrategy:
    return next(s for s in node.trader.strategies() if isinstance(s, QuotingStrategy))


def _events(node: TradingNode, name: str) -> list:
    strategy = _strategy(node)
    orders = node.cache.orders(strategy_id=strategy.id)
    return [e for o in orders for e in o.events if type(e).__name__ == name]


async def trade(node, control: SimControl, market: dict, address: str, result: dict) -> None:
    """The crowd sells down through our YES bid, then buys up through our ask (NO bid)."""
    yes, _ = market["token_ids"]
    bids = sorted(
        (Decimal(o["price"]) for o in _open(control, address) if o["asset_id"] == yes),
        reverse=True,
    )
    if bids:
        control.post("market/trade", side="sell", price=str(bids[0]), size="150")
    await asyncio.sleep(2.0)
    # Our asks in YES terms: YES sells, and NO bids at 1 - p. Buy through all of them.
    asks = [
        Decimal(o["price"]) if o["asset_id"] == yes else 1 - Decimal(o["price"])
        for o in _open(control, address)
        if (o["asset_id"] == yes) == (o["side"] == "SELL")
    ]
    if asks:
        control.post("market/trade", side="buy", price=str(max(asks)), size="5000")
    await asyncio.sleep(3.0)


async def naked_sell(node, control: SimControl, market: dict, address: str, result: dict) -> None:
    """A sell of YES we do not hold is denied locally with the reason, never sent."""
    strategy = _strategy(node)
    yes_id = strategy.config.instrument_id
    order = strategy.order_factory.limit(
        instrument_id=yes_id,
        order_side=OrderSide.SELL,
        quantity=Quantity.from_str("50.000000"),
        price=Price.from_str("0.90"),
        time_in_force=TimeInForce.GTC,
        post_only=True,
    )
    posts_before = _posts(control)
    strategy.submit_order(order)
    await asyncio.sleep(1.0)
    denied = [e for e in order.events if type(e).__name__ == "OrderDenied"]
    result["naked_status"] = order.status.name
    result["naked_reason"] = denied[0].reason if denied else ""
    result["posts_for_naked"] = _posts(control) - posts_before


async def submit_timeout(node, control, market: dict, address: str, result: dict) -> None:
    """Set up by the caller: the first posts time out. The orders stay in flight under their
    expected ids and are resolved by reports, never rejected."""
    exec_client = node.kernel.exec_engine._clients[ClientId("POLYMARKET")]
    await _wait_for(lambda: exec_client.unknown_outcomes > 0, 15)
    await asyncio.sleep(4.0)  # the in-flight check resolves them
    result["unknown_outcomes"] = exec_client.unknown_outcomes
    result["rejected"] = len(_events(node, "OrderRejected"))
    result["statuses"] = sorted({o.status.name for o in node.cache.orders()})


async def dead_man(node, control, market: dict, address: str, result: dict) -> None:
    """Signal readiness, then keep running until the test freezes or kills this process."""
    print("READY", flush=True)
    await asyncio.sleep(120)


async def adopt(node, control, market: dict, address: str, result: dict) -> None:
    """A restart with quotes still resting at the venue: they are adopted, not duplicated."""
    await asyncio.sleep(4.0)
    strategy = _strategy(node)
    result["strategy_open"] = len(node.cache.orders_open(strategy_id=strategy.id))
    result["venue_open"] = len(_open(control, address))


async def faults(node, control, market: dict, address: str, result: dict) -> None:
    """A 503 after the venue took a batch of quotes, then both sockets dropped: the orders
    resolve without rejection and fills after the reconnect still arrive."""
    exec_client = node.kernel.exec_engine._clients[ClientId("POLYMARKET")]
    yes, _ = market["token_ids"]
    control.post("fail", n=1, status=503, path="/order", after=True)
    control.post("market/move", bid="0.44", ask="0.48")
    await _wait_for(lambda: exec_client.unknown_outcomes > 0, 10)
    await asyncio.sleep(4.0)  # the in-flight check resolves them
    result["unknown_outcomes"] = exec_client.unknown_outcomes
    reconnects = exec_client._ws.reconnects
    control.post("drop_ws")
    await _wait_for(lambda: exec_client._ws.reconnects > reconnects, 15)
    result["user_ws_reconnected"] = exec_client._ws.reconnects > reconnects
    await asyncio.sleep(2.0)
    bids = sorted(
        (Decimal(o["price"]) for o in _open(control, address) if o["asset_id"] == yes),
        reverse=True,
    )
    if bids:
        control.post("market/trade", side="sell", price=str(bids[0]), size="150")
    await asyncio.sleep(3.0)
    result["rejected"] = len(_events(node, "OrderRejected"))
    result["statuses"] = sorted({o.status.name for o in node.cache.orders()})


SCENARIOS = {
    "adopt": adopt,
    "faults": faults,
    "trade": trade,
    "naked_sell": naked_sell,
    "submit_timeout": submit_timeout,
    "dead_man": dead_man,
}


def _open(control: SimControl, address: str) -> list[dict]:
    return control.get("orders", address=address, status="LIVE")


def _posts(control: SimControl) -> int:
    return sum(
        1
        for r in control.get("requests")
        if r["method"] == "POST" and r["path"] in ("/order", "/orders")
    )


async def run(args: argparse.Namespace) -> dict:
    info = json.loads(Path(args.info).read_text())
    control = SimControl(info["base_url"])
    market = info["markets"][0]
    condition_id = market["condition_id"]
    yes_token, no_token = market["token_ids"]
    yes_id = token_instrument_id(condition_id, yes_token)
    no_id = token_instrument_id(condition_id, no_token)
    node = _node(info, condition_id, yes_id, no_id, args)
    exec_client = node.kernel.exec_engine._clients[ClientId("POLYMARKET")]
    address = exec_client.signer_address
    node.run()
    result: dict = {"node": node}
    try:
        # Two levels a side: two YES bids and two NO bids (the YES asks).
        result["quotes_rested"] = await _wait_for(lambda: len(_open(control, address)) >= 4, 20)
        result["first_quotes"] = sorted(
            ("YES" if o["asset_id"] == yes_token else "NO", o["side"])
            for o in _open(control, address)
        )
        await SCENARIOS[args.scenario](node, control, market, address, result)
        strategy = _strategy(node)
        result["commands"] = {
            "submits": strategy.submits,
            "modifies": strategy.modifies,
            "cancels": strategy.cancels,
        }
        result["modify_rejected"] = len(_events(node, "OrderModifyRejected"))
        fills = _events(node, "OrderFilled")
        result["fills"] = len(fills)
        result["fill_ids_unique"] = len({e.trade_id for e in fills}) == len(fills)
        result["fill_instruments"] = sorted({e.instrument_id.symbol.value[-6:] for e in fills})
        balances = control.get("balances", address=address)
        tokens = {t: p["size"] for t, p in balances.get("positions", {}).items()}
        result["node_positions"] = {
            "YES": float(node.portfolio.net_position(yes_id)),
            "NO": float(node.portfolio.net_position(no_id)),
        }
        result["venue_positions"] = {
            "YES": float(tokens.get(yes_token, 0)),
            "NO": float(tokens.get(no_token, 0)),
        }
        result["heartbeats"] = exec_client.heartbeats_sent
    finally:
        await node.stop_async()
    await asyncio.sleep(0.5)
    result["open_after_stop"] = len(_open(control, address))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--info", required=True, help="the simulator's ready file (JSON)")
    parser.add_argument("--logs", required=True)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="trade")
    parser.add_argument("--order-size", type=float, default=100.0)
    args = parser.parse_args()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    result = loop.run_until_complete(run(args))
    node = result.pop("node")
    node.dispose()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
