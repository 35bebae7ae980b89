"""
A nautilus `TradingNode` for the quoting strategy on one venue: the same `QuotingConfig` the
backtest uses, the venue's data and execution clients (or, on paper, a simulated exchange fed by
the venue's public data), reconciliation at start-up and periodic open-order and position checks
while running.

Venues plug in through `VENUES`: each entry names its credentials, loads its client factories
and builds its client configs from the `live:` section.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from nautilus_trader.common.config import LoggingConfig
from nautilus_trader.config import ImportableStrategyConfig
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.config import LiveDataClientConfig
from nautilus_trader.config import LiveDataEngineConfig
from nautilus_trader.config import LiveExecClientConfig
from nautilus_trader.config import LiveExecEngineConfig
from nautilus_trader.config import LiveRiskEngineConfig
from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.live.factories import LiveDataClientFactory
from nautilus_trader.live.factories import LiveExecClientFactory
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.identifiers import InstrumentId

from adapters.gate import config as gate_config
from adapters.gate.parsing import contract_name
from backtests.config import RunConfig
from backtests.schema import ConfigError
from backtests.schema import key_error
from live.config import LiveSection
from live.dispatch import install_direct_dispatch
from live.logs import logging_config
from live.paper import SandboxLiveExecClientFactory
from live.paper import paper_exec_config
from strategies.quoting import QuotingConfig

Factories = tuple[type[LiveDataClientFactory], type[LiveExecClientFactory]]
ClientConfigs = tuple[LiveDataClientConfig, LiveExecClientConfig]


@dataclass(frozen=True)
class VenueEntry:
    """How the live commands reach one venue."""

    name: str  # the YAML's `venue:`
    client_name: str  # nautilus client name = the instruments' venue, e.g. GATE
    default_config: str
    credential_vars: tuple[str, ...]
    missing_credentials: Callable[[], list[str]]
    # The adapter's client factories. Imported on demand: ccxt alone takes seconds to import,
    # and a command refused for bad input or missing credentials should not wait for it.
    load_factories: Callable[[], Factories]
    # (run config, testnet, provider config) -> data and execution client configs
    client_configs: Callable[[RunConfig, bool, InstrumentProviderConfig], ClientConfigs]
    # (live section, testnet) -> the URLs the clients will use
    endpoints: Callable[[LiveSection, bool], dict[str, str]]
    has_testnet: bool
    # Binary markets: the complementary token carries the ask side, and live it is not looked up.
    needs_complement: bool
    # (run config, testnet) -> how many of our resting orders were cancelled at the venue, for
    # `live.reconciliation.on_start: cancel`; None where the venue cannot do it yet
    cancel_resting_orders: Callable[[RunConfig, bool], Awaitable[int]] | None


# ---- Gate -------------------------------------------------------------------------------------


def _gate_missing_credentials() -> list[str]:
    key, secret = gate_config.gate_credentials(required=False)
    pairs = ((gate_config.API_KEY_ENV, key), (gate_config.API_SECRET_ENV, secret))
    return [name for name, value in pairs if not value]


def _gate_factories() -> Factories:
    from adapters.gate.factories import GateLiveDataClientFactory
    from adapters.gate.factories import GateLiveExecClientFactory

    return GateLiveDataClientFactory, GateLiveExecClientFactory


def _gate_endpoints(live: LiveSection, testnet: bool) -> dict[str, str]:
    section = live.endpoints.gate
    rest, ws = gate_config.endpoints(testnet or section.testnet, section.rest_url, section.ws_url)
    return {"rest_url": rest, "ws_url": ws}


def _gate_client_configs(
    run_config: RunConfig, testnet: bool, provider: InstrumentProviderConfig
) -> ClientConfigs:
    section = run_config.live.endpoints.gate
    urls = {
        "base_url_http": section.rest_url,
        "base_url_ws": section.ws_url,
        "testnet": testnet or section.testnet,
    }
    data = gate_config.GateDataClientConfig(
        instrument_provider=provider, base_url_ws_spot=section.spot_ws_url, **urls
    )
    execution = gate_config.GateExecClientConfig(
        instrument_provider=provider, dead_man_timeout_s=run_config.live.dead_man_timeout_s, **urls
    )
    return data, execution


async def _gate_cancel_resting_orders(run_config: RunConfig, testnet: bool) -> int:
    from adapters.gate.http import GateHttpClient

    key, secret = gate_config.gate_credentials(required=True)
    http = GateHttpClient(
        _gate_endpoints(run_config.live, testnet)["rest_url"], api_key=key, api_secret=secret
    )
    try:
        await http.sync_clock()
        cancelled = 0
        for instrument_id in instrument_ids(run_config):
            replies = await http.request(
                "DELETE",
                "/futures/usdt/orders",
                params={"contract": contract_name(instrument_id)},
                signed=True,
                limit="cancel",
            )
            cancelled += len(replies)
        return cancelled
    finally:
        await http.close()


# ---- Polymarket -------------------------------------------------------------------------------


def _polymarket_missing_credentials() -> list[str]:
    from adapters.polymarket import config

    missing = [] if os.environ.get(config.PRIVATE_KEY_ENV) else [config.PRIVATE_KEY_ENV]
    api = (config.API_KEY_ENV, config.API_SECRET_ENV, config.PASSPHRASE_ENV)
    unset = [name for name in api if not os.environ.get(name)]
    # The API trio works only whole; with none of it, it is derived from the key.
    return missing + (unset if len(unset) < len(api) else [])


def _polymarket_factories() -> Factories:
    from adapters.polymarket.factories import PolymarketLiveDataClientFactory
    from adapters.polymarket.factories import PolymarketLiveExecClientFactory

    return PolymarketLiveDataClientFactory, PolymarketLiveExecClientFactory


def _polymarket_urls(live: LiveSection) -> dict[str, str]:
    section = live.endpoints.polymarket
    urls = {
        "clob_http": section.rest_url,
        "clob_ws": section.ws_url,
        "gamma_http": section.gamma_url,
        "data_api_http": section.data_api_url,
    }
    return {key: value for key, value in urls.items() if value}


def _polymarket_endpoints(live: LiveSection, testnet: bool) -> dict[str, str]:
    from adapters.polymarket.config import PolymarketEndpoints

    return msgspec.structs.asdict(PolymarketEndpoints(**_polymarket_urls(live)))


def _polymarket_client_configs(
    run_config: RunConfig, testnet: bool, provider: InstrumentProviderConfig
) -> ClientConfigs:
    from adapters.polymarket import config as polymarket_config

    endpoints = polymarket_config.PolymarketEndpoints(**_polymarket_urls(run_config.live))
    condition_id = run_config.instrument_id.symbol.value.split("-", 1)[0]
    market = {"endpoints": endpoints, "condition_ids": (condition_id,)}
    data = polymarket_config.PolymarketDataClientConfig(instrument_provider=provider, **market)
    execution = polymarket_config.PolymarketExecClientConfig(instrument_provider=provider, **market)
    return data, execution


VENUES: dict[str, VenueEntry] = {
    "gate": VenueEntry(
        name="gate",
        client_name="GATE",
        default_config="configs/mm.yaml",
        credential_vars=(gate_config.API_KEY_ENV, gate_config.API_SECRET_ENV),
        missing_credentials=_gate_missing_credentials,
        load_factories=_gate_factories,
        client_configs=_gate_client_configs,
        endpoints=_gate_endpoints,
        has_testnet=True,
        needs_complement=False,
        cancel_resting_orders=_gate_cancel_resting_orders,
    ),
    "polymarket": VenueEntry(
        name="polymarket",
        client_name="POLYMARKET",
        default_config="configs/mm_polymarket.yaml",
        credential_vars=("POLYMARKET_PK",),
        missing_credentials=_polymarket_missing_credentials,
        load_factories=_polymarket_factories,
        client_configs=_polymarket_client_configs,
        endpoints=_polymarket_endpoints,
        has_testnet=False,
        needs_complement=True,
        cancel_resting_orders=None,
    ),
}


# ---- node configs -----------------------------------------------------------------------------


def instrument_ids(run_config: RunConfig) -> list[InstrumentId]:
    ids = [run_config.instrument_id]
    if run_config.complement_id is not None:
        ids.append(run_config.complement_id)
    return ids


def node_config(
    strategy: QuotingConfig,
    *,
    client_name: str,
    data_client: LiveDataClientConfig,
    exec_client: LiveExecClientConfig,
    risk_engine: LiveRiskEngineConfig,
    exec_engine: LiveExecEngineConfig,
    trader_id: str,
    logging: LoggingConfig,
) -> TradingNodeConfig:
    return TradingNodeConfig(
        trader_id=trader_id,
        logging=logging,
        data_engine=LiveDataEngineConfig(),
        risk_engine=risk_engine,
        exec_engine=exec_engine,
        data_clients={client_name: data_client},
        exec_clients={client_name: exec_client},
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


def _exec_engine(
    open_check_interval_s: float = 5.0,
    position_check_interval_s: float = 30.0,
    lookback_mins: int | None = None,
) -> LiveExecEngineConfig:
    return LiveExecEngineConfig(
        reconciliation=True,
        reconciliation_lookback_mins=lookback_mins,
        open_check_interval_secs=open_check_interval_s,
        position_check_interval_secs=position_check_interval_s,
        reconciliation_startup_delay_secs=0.0,
        inflight_check_interval_ms=1_000,
        inflight_check_threshold_ms=3_000,
    )


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
    return node_config(
        strategy,
        client_name="GATE",
        data_client=gate_config.GateDataClientConfig(instrument_provider=provider, **endpoints),
        exec_client=gate_config.GateExecClientConfig(
            instrument_provider=provider, dead_man_timeout_s=dead_man_timeout_s, **endpoints
        ),
        risk_engine=LiveRiskEngineConfig(
            max_order_submit_rate="90/00:00:01", max_order_modify_rate="90/00:00:01"
        ),
        exec_engine=_exec_engine(),
        trader_id=trader_id,
        logging=logging or LoggingConfig(log_level="INFO"),
    )


def build_node(
    config: TradingNodeConfig,
    loop: asyncio.AbstractEventLoop | None = None,
    *,
    direct_dispatch: bool = True,
) -> TradingNode:
    """
    A built node; call on the thread that will run its loop. `direct_dispatch` hands market data
    and order commands through nautilus' engines in the sender's call (`live/dispatch.py`).
    """
    node = TradingNode(config=config, loop=loop)
    for entry in VENUES.values():
        if entry.client_name in config.data_clients:
            data_factory, exec_factory = entry.load_factories()
            node.add_data_client_factory(entry.client_name, data_factory)
            node.add_exec_client_factory(entry.client_name, exec_factory)
    node.build()
    if direct_dispatch:
        install_direct_dispatch(node.kernel)
    return node


# ---- live and paper ---------------------------------------------------------------------------


def venue_entry(venue: str) -> VenueEntry:
    try:
        return VENUES[venue]
    except KeyError:
        raise ConfigError(
            f"--venue {venue!r} is not a known venue. Fix: use one of {', '.join(VENUES)}."
        ) from None


def check_run_config(run_config: RunConfig, entry: VenueEntry) -> None:
    """The YAML must describe the venue asked for on the command line."""
    if run_config.venue != entry.name:
        default = VENUES[run_config.venue].default_config if run_config.venue in VENUES else None
        raise key_error(
            run_config.source,
            "venue",
            f"is {run_config.venue}, but --venue is {entry.name}",
            f"pass --config {VENUES[entry.name].default_config} (a {entry.name} config)"
            + (f", or --venue {run_config.venue} for this file" if default else ""),
        )
    if entry.needs_complement and run_config.complement_id is None:
        raise key_error(
            run_config.source,
            "complement",
            f"is needed to trade {entry.name} (the complementary token carries the ask side)",
            "set it to the other outcome token of the market",
        )
    for key, instrument_id in (
        ("instrument", run_config.instrument_id),
        ("complement", run_config.complement_id),
    ):
        if instrument_id is not None and instrument_id.venue.value != entry.client_name:
            raise key_error(
                run_config.source,
                key,
                f"is {instrument_id}, which is not a {entry.client_name} instrument",
                f"use an instrument id ending in .{entry.client_name}",
            )


def live_strategy_config(run_config: RunConfig, *, claim_resting: bool) -> QuotingConfig:
    changes: dict[str, Any] = {
        # A flattening stop closes the position with market orders, which Gate and Polymarket
        # only take as immediate-or-cancel.
        "market_exit_time_in_force": TimeInForce.IOC,
    }
    if claim_resting:
        # Reconciliation hands the venue's resting orders on these instruments to the strategy,
        # which keeps, amends or cancels them like its own instead of quoting a second ladder.
        changes["external_order_claims"] = instrument_ids(run_config)
    return msgspec.structs.replace(run_config.strategy, **changes)


def risk_engine_config(run_config: RunConfig) -> LiveRiskEngineConfig:
    risk = run_config.live.risk
    notional = (
        {str(i): risk.max_order_notional for i in instrument_ids(run_config)}
        if risk.max_order_notional is not None
        else {}
    )
    return LiveRiskEngineConfig(
        max_order_submit_rate=risk.max_order_submit_rate,
        max_order_modify_rate=risk.max_order_modify_rate,
        max_notional_per_order=notional,
    )


def build_live_node(
    run_config: RunConfig,
    venue: str,
    *,
    paper: bool,
    testnet: bool,
    state_dir: Path,
    run_dir: Path,
    log_level: str = "INFO",
    loop: asyncio.AbstractEventLoop | None = None,
) -> TradingNode:
    """
    A built (not yet started) node quoting `run_config`'s instrument on `venue`.

    `paper`: the venue's public data, fills simulated with the backtest's venue models.
    `testnet`: the venue's testnet (as does `live.endpoints.<venue>.testnet`).
    `state_dir`: kept across runs for the supervisor (live/supervisor.py, when present): the
    kill switch's state and the control socket.
    `run_dir`: this run's outputs; the JSON log goes there.
    """
    entry = venue_entry(venue)
    check_run_config(run_config, entry)
    data_factory, exec_factory = entry.load_factories()
    live = run_config.live
    provider = InstrumentProviderConfig(load_ids=frozenset(instrument_ids(run_config)))
    data_client, exec_client = entry.client_configs(run_config, testnet, provider)
    if paper:
        exec_client = paper_exec_config(entry.client_name, run_config.backtest.venue)
        exec_factory = SandboxLiveExecClientFactory
    claim = not paper and live.reconciliation.on_start == "adopt"
    config = node_config(
        live_strategy_config(run_config, claim_resting=claim),
        client_name=entry.client_name,
        data_client=data_client,
        exec_client=exec_client,
        risk_engine=risk_engine_config(run_config),
        exec_engine=_exec_engine(
            live.reconciliation.open_check_interval_s,
            live.reconciliation.position_check_interval_s,
            live.reconciliation.lookback_mins,
        ),
        trader_id=live.trader_id,
        logging=logging_config(run_dir, log_level),
    )
    node = TradingNode(config=config, loop=loop)
    node.add_data_client_factory(entry.client_name, data_factory)
    node.add_exec_client_factory(entry.client_name, exec_factory)
    node.build()
    install_direct_dispatch(node.kernel)  # before the risk gate, which forwards to it
    # Risk gate, kill switch, control endpoint and metrics.
    from live.supervisor import install_supervisor

    install_supervisor(node, run_config, state_dir)
    return node
