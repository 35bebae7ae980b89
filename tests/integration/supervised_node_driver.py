"""
Runs a supervised nautilus `TradingNode` (risk gate, kill switch, control socket, metrics) with
the quoting strategy against a running Gate simulator, until SIGTERM:

    python -m tests.integration.supervised_node_driver --rest URL --ws URL --logs DIR \
        --state-dir DIR --ready-file F --result-file F [--risk JSON] [--strategy JSON] \
        [--redis-port N]

Once the node runs and its control socket answers it writes `--ready-file` (JSON: the metrics
URL and what the cache database held before start-up); after SIGTERM and a clean stop it writes
`--result-file` (JSON: the denial reasons the orders carry, fills, position). Files rather than
stdout, which the node's console log shares. The test drives everything else from outside, as an
operator would: `live status/kill/resume`, the simulator's control API, a /metrics scrape.

A separate process because nautilus allows one kernel per process. Credentials come from
GATE_API_KEY / GATE_API_SECRET, as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from pathlib import Path
from typing import Any

import msgspec
from nautilus_trader.common.config import LoggingConfig
from nautilus_trader.config import CacheConfig
from nautilus_trader.config import DatabaseConfig

from backtests.config import RunConfig
from backtests.config import load_config
from live.config import RiskLimits
from live.control import socket_path
from live.node import build_node
from live.node import gate_node_config
from live.supervisor import install_supervisor

ROOT = Path(__file__).resolve().parents[2]
# gate_node_config's RiskEngine throttles: the supervisor refuses limits that say otherwise.
RATE = "90/00:00:01"


def _run_config(args: argparse.Namespace) -> RunConfig:
    run_config = load_config(ROOT / "configs" / "mm.yaml")
    # configs/mm.yaml's strategy, requoting faster so a few seconds show the effects; a long
    # stale-book time so a paused simulator does not make the strategy pull its quotes.
    strategy = msgspec.structs.replace(
        run_config.strategy,
        min_requote_interval_ms=200,
        requote_tolerance_ticks=2,
        stale_book_ms=60_000,
        **json.loads(args.strategy),
    )
    risk = RiskLimits(
        max_order_submit_rate=RATE, max_order_modify_rate=RATE, **json.loads(args.risk)
    )
    live = msgspec.structs.replace(run_config.live, risk=risk)
    return msgspec.structs.replace(run_config, strategy=strategy, live=live)


def _write_json(path: Path, body: dict[str, Any]) -> None:
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(json.dumps(body))
    temp.replace(path)


async def _wait_for(predicate, timeout_s: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return False


def _result(node, run_config: RunConfig) -> dict[str, Any]:
    orders = node.cache.orders()
    events = [e for order in orders for e in order.events]
    return {
        "denied": [e.reason for e in events if type(e).__name__ == "OrderDenied"],
        "modify_rejected": [e.reason for e in events if type(e).__name__ == "OrderModifyRejected"],
        "fills": sum(type(e).__name__ == "OrderFilled" for e in events),
        "position": float(node.portfolio.net_position(run_config.instrument_id)),
        "trading_state": node.kernel.risk_engine.trading_state.name,
        "client_order_ids": sorted(o.client_order_id.value for o in orders),
    }


async def run(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    run_config = _run_config(args)
    config = gate_node_config(
        run_config.strategy,
        rest_url=args.rest,
        ws_url=args.ws,
        dead_man_timeout_s=10,
        logging=LoggingConfig(
            log_level="WARNING",
            log_level_file="INFO",
            log_directory=args.logs,
            log_file_name="node",
        ),
    )
    if args.redis_port:
        database = DatabaseConfig(type="redis", host="127.0.0.1", port=args.redis_port)
        config = msgspec.structs.replace(config, cache=CacheConfig(database=database))
    loop = asyncio.get_running_loop()
    node = build_node(config, loop=loop)
    # Built, not started: what the cache holds now came from the cache database.
    loaded = {
        "loaded_orders": sorted(o.client_order_id.value for o in node.cache.orders()),
        "loaded_positions": {
            p.instrument_id.value: float(p.signed_qty) for p in node.cache.positions()
        },
    }
    supervisor = install_supervisor(node, run_config, args.state_dir)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    node.run()
    control = socket_path(args.state_dir)
    if not await _wait_for(lambda: supervisor.is_running and control.exists(), 60):
        raise RuntimeError("the supervised node did not start")
    _write_json(args.ready_file, {"metrics_url": supervisor.status().metrics_url, **loaded})
    await stop.wait()
    result = _result(node, run_config)
    await node.stop_async()
    return node, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rest", required=True)
    parser.add_argument("--ws", required=True)
    parser.add_argument("--logs", required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--result-file", type=Path, required=True)
    parser.add_argument("--risk", default="{}", help="RiskLimits fields as JSON")
    parser.add_argument("--strategy", default="{}", help="QuotingConfig overrides as JSON")
    parser.add_argument("--redis-port", type=int, default=0)
    args = parser.parse_args()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    node, result = loop.run_until_complete(run(args))
    node.dispose()
    _write_json(args.result_file, result)


if __name__ == "__main__":
    main()
