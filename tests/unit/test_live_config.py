"""The `live:` section: its keys, defaults and errors, and the pure checks the live commands use."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pytest
import yaml
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.identifiers import InstrumentId

from backtests.config import load_config
from backtests.config import parse_config
from backtests.schema import ConfigError
from live.cli import VENUE_NAMES
from live.config import EndpointsSection
from live.config import GateEndpoints
from live.config import LiveSection
from live.config import PolymarketEndpoints
from live.config import ReconciliationSection
from live.config import RiskLimits
from live.config import ladder_sizes
from live.config import missing_limits
from live.config import notional_problems
from live.config import parse_rate
from live.lifecycle import close_chunk
from live.node import VENUES
from live.node import check_run_config
from live.node import live_strategy_config
from live.node import risk_engine_config
from live.paper import paper_exec_config
from tests.conftest import ROOT

MM = ROOT / "configs" / "mm.yaml"


def _raw() -> dict[str, Any]:
    return yaml.safe_load(MM.read_text())


def _parse(mutate=None):
    raw = _raw()
    if mutate is not None:
        mutate(raw)
    return parse_config(raw, source="mm.yaml")


def test_the_shipped_config_sets_hard_limits() -> None:
    live = load_config(MM).live
    assert live.risk.max_order_notional == 10_000
    assert live.risk.max_exposure_notional == 50_000
    assert live.risk.max_daily_loss == 1_000
    assert live.reconciliation.on_start == "adopt"
    assert missing_limits(live.risk) == []


def test_an_empty_live_section_takes_the_defaults() -> None:
    run_config = _parse(lambda raw: raw.update(live={}))
    assert run_config.live == LiveSection()
    assert missing_limits(run_config.live.risk) == [
        "max_order_notional",
        "max_exposure_notional",
        "max_daily_loss",
    ]


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("risk", "max_order_notional", -1, "`live.risk.max_order_notional` is -1"),
        ("risk", "max_order_modify_rate", "100/s", "`live.risk.max_order_modify_rate` is '100/s'"),
        ("risk", "max_order_submit_rate", "0/00:00:01", "count/HH:MM:SS"),
        ("risk", "max_daily_los", 5, "did you mean `max_daily_loss`"),
        ("risk", "max_order_size", 100, "below the strategy's largest level (300"),
        ("reconciliation", "on_start", "keep", "is 'keep', which is not one of: adopt, cancel"),
        (
            "reconciliation",
            "open_check_interval_s",
            0,
            "`live.reconciliation.open_check_interval_s`",
        ),
        (None, "trader_id", "QUOTEKIT", "write it as NAME-TAG"),
        (None, "metrics_port", 70_000, "`live.metrics_port` is 70000"),
        ("endpoints.gate", "rest_url", "api.gateio.ws", "starting with http:// or https://"),
        ("endpoints.gate", "ws_url", "https://fx-ws.gateio.ws", "starting with ws:// or wss://"),
        ("endpoints.polymarket", "gamma_url", "gamma-api", "`live.endpoints.polymarket.gamma_url`"),
    ],
)
def test_a_bad_value_is_one_error_naming_the_key(
    section: str | None, key: str, value: Any, expected: str
) -> None:
    def mutate(raw: dict[str, Any]) -> None:
        target = raw["live"]
        for part in filter(None, (section or "").split(".")):
            target = target.setdefault(part, {})
        target[key] = value

    with pytest.raises(ConfigError) as error:
        _parse(mutate)
    assert expected in str(error.value)
    assert "Fix:" in str(error.value)


def test_the_risk_gate_may_not_be_tighter_than_the_strategy_position() -> None:
    with pytest.raises(ConfigError, match=r"max_position` \(1000\) is below strategy"):
        _parse(lambda raw: raw["live"]["risk"].update(max_position=1000))


def test_parse_rate() -> None:
    assert parse_rate("50/00:00:01") == (50, 1)
    assert parse_rate("600/00:01:00") == (600, 60)
    assert parse_rate("5/00:00:00") is None
    assert parse_rate("50/1s") is None
    assert parse_rate("-1/00:00:01") is None


def test_notional_problems_are_priced_at_the_market() -> None:
    strategy = load_config(MM).strategy  # levels of 200 and 300 contracts, max_position 2000
    assert ladder_sizes(strategy) == [200.0, 300.0]
    limits = RiskLimits(max_order_notional=800.0, max_exposure_notional=1_200.0)
    # 1 contract = 0.0001 BTC: at 30,000 the largest level is 900 USDT, one side 1,500 USDT.
    problems = notional_problems(limits, strategy, price=30_000.0, multiplier=0.0001)
    assert problems == [
        "max_order_notional 800 < largest level's notional 900.00",
        "max_exposure_notional 1200 < one side of the ladder 1500.00",
    ]
    assert notional_problems(limits, strategy, price=20_000.0, multiplier=0.0001) == []


@pytest.mark.parametrize(
    ("position", "price", "expected"),
    [
        (120.0, 3.0, 120.0),  # fits in one order
        (-1_700.0, None, 500.0),  # capped by max_order_size (no price: notional unknown)
        (480.0, 3.0, 333.0),  # capped by notional: 10 / (3 x 0.01) = 333.3, floored to the step
    ],
)
def test_a_flattening_order_stays_within_the_per_order_limits(
    position: float, price: float | None, expected: float
) -> None:
    size = close_chunk(
        position,
        size_step=1.0,
        price=price,
        multiplier=0.01,
        max_order_size=500.0,
        max_order_notional=10.0,
    )
    assert size == expected


def test_the_strategy_adopts_resting_orders_and_exits_immediate_or_cancel() -> None:
    run_config = load_config(MM)
    adopting = live_strategy_config(run_config, claim_resting=True)
    assert adopting.external_order_claims == [InstrumentId.from_str("BTC_USDT-PERP.GATE")]
    assert adopting.market_exit_time_in_force == TimeInForce.IOC
    # Every quoting parameter is the backtest's.
    assert msgspec.structs.replace(adopting, external_order_claims=None) == msgspec.structs.replace(
        run_config.strategy, market_exit_time_in_force=TimeInForce.IOC
    )
    assert not live_strategy_config(run_config, claim_resting=False).external_order_claims


def test_nautilus_enforces_the_throttles_and_per_order_notional() -> None:
    engine = risk_engine_config(load_config(MM))
    assert engine.max_order_submit_rate == "50/00:00:01"
    assert engine.max_order_modify_rate == "50/00:00:01"
    assert engine.max_notional_per_order == {"BTC_USDT-PERP.GATE": 10_000}


def test_paper_fills_use_the_backtest_venue_models() -> None:
    venue = load_config(MM).backtest.venue
    config = paper_exec_config("GATE", venue)
    assert config.venue == "GATE" and config.starting_balances == ["100000.00000000 USDT"]
    assert config.book_type == "L2_MBP" and config.queue_position and config.trade_execution
    assert config.fee_model.fee_model_path == "backtests.models:NotionalFeeModel"
    assert config.latency_model.config["base_latency_nanos"] == 15_000_000


def test_the_yaml_venue_and_instrument_must_match_the_command_line() -> None:
    run_config = load_config(MM)
    check_run_config(run_config, VENUES["gate"])
    with pytest.raises(ConfigError, match="`venue` is gate, but --venue is polymarket"):
        check_run_config(run_config, VENUES["polymarket"])


def test_the_command_line_offers_every_registered_venue() -> None:
    assert tuple(VENUES) == VENUE_NAMES


def _keys(cls: type[msgspec.Struct]) -> set[str]:
    return set(cls.__struct_fields__)


def test_the_readme_documents_every_live_key() -> None:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Live and paper trading")
    section = readme[start : readme.index("\n## ", start)]
    keys = (
        _keys(LiveSection)
        | _keys(RiskLimits)
        | _keys(ReconciliationSection)
        | _keys(EndpointsSection)
        | _keys(GateEndpoints)
        | _keys(PolymarketEndpoints)
    )
    missing = sorted(k for k in keys if not re.search(rf"`(\w+\.)*{k}[`.]", section))
    assert not missing, f"README's live section lacks: {missing}"


def test_no_live_key_is_a_credential() -> None:
    names = " ".join(
        _keys(LiveSection) | _keys(RiskLimits) | _keys(GateEndpoints) | _keys(PolymarketEndpoints)
    )
    assert not re.search(r"secret|passphrase|private|api_key|password", names)
