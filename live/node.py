"""
A nautilus `TradingNode` for the quoting strategy on one venue: the same `QuotingConfig` the
backtest uses, the venue's data and execution clients, reconciliation at start-up and periodic
open-order and position checks while running.
"""

from __future__ import annotations

import asyncio
import json

import msgspec
from nautilus_trader.common.config import LoggingConfig
from nautilus_trader.config import ImportableStrategyConfig
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.config import LiveDataEngineConfig
from nautilus_trader.config import LiveExecEngineConfig
from nautilus_trader.config import LiveRiskEngineConfig
from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.live.node import TradingNode

from adapters.gate.config import GateDataClientConfig
from adapters.gate.config import GateExecClientConfig
from adapters.gate.factories import GateLiveDataClientFactory
from adapters.gate.factories import GateLiveExecClientFactory
from strategies.quoting import QuotingConfig

FACTORIES = {"GATE": (GateLiveDataClientFactory, GateLiveExecClientFactory)}


def gate_node_config(
    strategy: QuotingConfig,
    *,
    trader_id: str = "QUOTEKIT-001",
    rest_url: str | None = None,
    ws_url: str | None = None,
    testnet: bool = False,
    dead_man_timeout_s: int = 30,
    logging: LoggingConfig | None = None,
) -> TradingNodeConfig:
    provider = InstrumentProviderConfig(load_ids=frozenset([strategy.instrument_id]))
    # After a restart the venue still holds our quotes: the strategy adopts them (and keeps,
    # amends or cancels them like any of its orders) instead of quoting a second ladder.
    strategy = msgspec.structs.replace(strategy, external_order_claims=[strategy.instrument_id])
    endpoints = {"base_url_http": rest_url, "base_url_ws": ws_url, "testnet": testnet}
    return TradingNodeConfig(
        trader_id=trader_id,
        logging=logging or LoggingConfig(log_level="INFO"),
        data_engine=LiveDataEngineConfig(),
        risk_engine=LiveRiskEngineConfig(
            max_order_submit_rate="90/00:00:01", max_order_modify_rate="90/00:00:01"
        ),
        exec_engine=LiveExecEngineConfig(
            reconciliation=True,
            open_check_interval_secs=5.0,
            position_check_interval_secs=30.0,
            reconciliation_startup_delay_secs=0.0,
            inflight_check_interval_ms=1_000,
            inflight_check_threshold_ms=3_000,
        ),
        data_clients={"GATE": GateDataClientConfig(instrument_provider=provider, **endpoints)},
        exec_clients={
            "GATE": GateExecClientConfig(
                instrument_provider=provider, dead_man_timeout_s=dead_man_timeout_s, **endpoints
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
        timeout_portfolio=5.0,
        timeout_disconnection=5.0,
        timeout_post_stop=2.0,
    )


def build_node(
    config: TradingNodeConfig, loop: asyncio.AbstractEventLoop | None = None
) -> TradingNode:
    node = TradingNode(config=config, loop=loop)
    for name, (data_factory, exec_factory) in FACTORIES.items():
        if name in config.data_clients:
            node.add_data_client_factory(name, data_factory)
        if name in config.exec_clients:
            node.add_exec_client_factory(name, exec_factory)
    node.build()
    return node
