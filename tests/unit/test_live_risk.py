"""The live node's hard risk limits as pure functions: no engine, no venue."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backtests.schema import ConfigError
from live.config import RiskLimits
from live.metrics import RoundTrips
from live.metrics import denial_label
from live.risk import DayPnlTracker
from live.risk import Exposure
from live.risk import OrderCheck
from live.risk import check_engine_rates
from live.risk import command_breach
from live.risk import daily_loss_breach
from live.risk import naked_sell_breach
from live.risk import next_mismatch_streak
from live.risk import position_breach
from live.risk import positions_differ
from live.risk import reconciliation_breach
from live.risk import stale_data_breach

PERP = "BTC_USDT-PERP.GATE"
SPOT = "BTC_USDT.GATE"
MULT = 0.0001  # one BTC_USDT contract is 0.0001 BTC
PRICE = 50_000.0


def order(side: int = 1, size: float = 200, *, added: float | None = None, price: float = PRICE):
    return OrderCheck(
        instrument=PERP,
        side=side,
        leaves=size,
        added=size if added is None else added,
        price=price,
        multiplier=MULT,
    )


def flat(position: float = 0.0, buys: float = 0.0, sells: float = 0.0) -> dict[str, Exposure]:
    return {PERP: Exposure(position, buys, sells, PRICE, MULT)}


def breach(orders, exposures=None, age_ms=None, **limits) -> str | None:
    return command_breach(orders, exposures or flat(), age_ms, RiskLimits(**limits))


def test_no_limits_pass_everything() -> None:
    assert breach([order(size=1e9)], flat(position=1e9, buys=1e9), age_ms=1e9) is None


def test_order_size_cap_names_the_limit_and_the_sizes() -> None:
    assert breach([order(size=300)], max_order_size=300) is None
    reason = breach([order(size=300.5)], max_order_size=300)
    assert reason == f"max_order_size: 300.5 > 300 ({PERP})"


def test_order_notional_is_contracts_times_multiplier_times_price() -> None:
    # 200 contracts x 0.0001 BTC x 50,000 = 1,000 USDT
    assert breach([order(size=200)], max_order_notional=1_000) is None
    reason = breach([order(size=201)], max_order_notional=1_000)
    assert reason is not None and reason.startswith("max_order_notional: 1,005.00 > 1,000.00")


def test_max_position_checks_each_order_against_the_current_position() -> None:
    # Resting orders are the exposure limit's business: each of two 200 bids passes at 0.
    assert breach([order(size=200), order(size=200)], flat(buys=200), max_position=300) is None
    reason = breach([order(size=200)], flat(position=200), max_position=300)
    assert reason == f"max_position: a fill would leave 400 > 300 ({PERP})"
    # A sell reduces a long position: never denied for position.
    assert breach([order(side=-1, size=200)], flat(position=200), max_position=300) is None


def test_an_amend_that_does_not_grow_the_order_is_not_a_position_risk() -> None:
    assert breach([order(size=200, added=0)], flat(position=200), max_position=300) is None


def test_exposure_counts_position_open_in_flight_and_new_orders_worst_side() -> None:
    # 1 contract = 5 USDT. Buy side: long 100 + resting buys 300 + new buy 200 = 600 contracts
    # (3,000 USDT); sell side: 100 - 800 = -700 contracts (3,500 USDT): the worse side counts.
    exposures = flat(position=100, buys=300, sells=800)
    reason = breach([order(size=200)], exposures, max_exposure_notional=3_400)
    assert reason == "max_exposure_notional: worst case 3,500.00 > 3,400.00"
    assert breach([order(size=200)], exposures, max_exposure_notional=3_500) is None
    # Once the new buys outweigh the sells, they are what counts.
    assert breach([order(size=500)], exposures, max_exposure_notional=4_400) is not None
    assert breach([order(size=500)], exposures, max_exposure_notional=4_500) is None


def test_exposure_adds_every_order_of_a_batch_and_sums_instruments() -> None:
    exposures = {**flat(), SPOT: Exposure(0.02, 0.0, 0.0, PRICE, 1.0)}  # 0.02 BTC = 1,000 USDT
    batch = [order(size=200), order(size=200)]  # 400 contracts = 2,000 USDT
    assert breach(batch, exposures, max_exposure_notional=3_000) is None
    assert breach([*batch, order(size=1)], exposures, max_exposure_notional=3_000) is not None


def test_shrinking_commands_are_never_denied_for_exposure() -> None:
    exposures = flat(position=1_000, buys=1_000)
    assert breach([order(size=100, added=0)], exposures, max_exposure_notional=1) is None


def test_stale_market_data_denies_until_it_is_fresh_again() -> None:
    assert breach([order()], age_ms=5_000, stale_data_ms=5_000) is None
    reason = breach([order()], age_ms=5_001, stale_data_ms=5_000)
    assert reason == "stale_data_ms: market data is 5001 ms old > 5000"
    assert breach([order()], age_ms=None, stale_data_ms=5_000) is None  # no data yet: no quotes


@given(
    position=st.floats(-1_000, 1_000),
    buys=st.floats(0, 1_000),
    sells=st.floats(0, 1_000),
    size=st.floats(0.1, 1_000),
    side=st.sampled_from([1, -1]),
)
def test_adding_an_order_never_lowers_the_worst_case(position, buys, sells, size, side) -> None:
    before = Exposure(position, buys, sells, PRICE, MULT)
    assert before.adding(side, size).worst_case() >= before.worst_case()


def test_a_fill_past_max_position_trips_only_when_the_position_grew() -> None:
    assert position_breach(200, 400, 300) == "max_position: position 400 > 300 after a fill"
    assert position_breach(-200, -301, 300) is not None
    assert position_breach(500, 400, 300) is None  # reducing, though still beyond
    assert position_breach(0, 300, 300) is None
    assert position_breach(0, 1e9, None) is None


def test_daily_loss_and_stale_data_thresholds() -> None:
    assert daily_loss_breach(-100.0, 100.0) is None
    assert daily_loss_breach(-100.01, 100.0) == "max_daily_loss: day PnL -100.01 < -100.00"
    assert daily_loss_breach(-1e9, None) is None
    assert stale_data_breach(30_000, 30_000) is None
    assert stale_data_breach(30_001, 30_000) == (
        "stale_data_kill_ms: no market data for 30001 ms > 30000"
    )
    assert stale_data_breach(1e9, None) is None


def test_reconciliation_kills_after_consecutive_mismatches_only() -> None:
    assert not positions_differ(200.0, 200.0000001, 1.0)
    assert positions_differ(200.0, 199.0, 1.0)
    streak = 0
    for mismatched in (True, True, False, True, True):
        streak = next_mismatch_streak(streak, mismatched)
        assert reconciliation_breach(streak, "x", 3) is None
    streak = next_mismatch_streak(streak, True)
    assert reconciliation_breach(streak, "node 1 != venue 0", 3) == (
        "reconciliation: node 1 != venue 0, 3 checks in a row"
    )


def test_day_pnl_carries_over_a_restart_the_same_day_only() -> None:
    first = DayPnlTracker(None, "2026-01-05", pnl_now=1_000.0)  # realized from earlier days
    assert first.update("2026-01-05", 950.0) == -50.0
    saved = first.snapshot(950.0)
    # Restarted: nautilus' PnL starts from whatever was rebuilt, the loss so far is carried.
    second = DayPnlTracker(saved, "2026-01-05", pnl_now=0.0)
    assert second.update("2026-01-05", -30.0) == -80.0
    assert DayPnlTracker(saved, "2026-01-06", pnl_now=0.0).update("2026-01-06", -30.0) == -30.0
    # Midnight while running: the new day starts from the PnL at that moment.
    assert second.update("2026-01-06", -40.0) == 0.0
    assert second.update("2026-01-06", -45.0) == -5.0


def test_engine_throttles_must_match_the_configured_rates() -> None:
    limits = RiskLimits(max_order_submit_rate="50/00:00:01", max_order_modify_rate="20/00:00:02")
    one_s, two_s = pd.Timedelta(seconds=1), pd.Timedelta(seconds=2)
    check_engine_rates(
        limits, {"max_order_submit_rate": (50, one_s), "max_order_modify_rate": (20, two_s)}
    )
    with pytest.raises(ConfigError, match=r"live\.risk\.max_order_modify_rate is 20/00:00:02"):
        check_engine_rates(
            limits, {"max_order_submit_rate": (50, one_s), "max_order_modify_rate": (20, one_s)}
        )


def test_denials_are_labelled_by_the_limit_that_denied() -> None:
    assert denial_label("max_position: a fill would leave 400 > 300 (X)") == "max_position"
    assert denial_label("stale_data_ms: market data is 6000 ms old > 5000") == "stale_data_ms"
    assert denial_label("Exceeded MAX_ORDER_SUBMIT_RATE") == "max_order_submit_rate"
    assert denial_label("TradingState.HALTED") == "halted"
    assert denial_label("Instrument for X not found") == "engine"


def test_round_trips_time_each_command_once() -> None:
    trips = RoundTrips(capacity=2)
    trips.start("submit", "O-1", 1_000_000)
    assert trips.finish("submit", "O-1", 3_500_000) == pytest.approx(0.0025)
    assert trips.finish("submit", "O-1", 4_000_000) is None
    trips.start("modify", "O-1", 0)
    trips.start("cancel", "O-2", 0)
    trips.start("cancel", "O-3", 0)  # over capacity: the oldest is dropped
    assert trips.finish("modify", "O-1", 1) is None
    trips.forget("O-2")
    assert trips.finish("cancel", "O-2", 1) is None
    assert trips.finish("cancel", "O-3", 1_000) == pytest.approx(1e-6)


def _sell(size: float, instrument: str = "YES") -> OrderCheck:
    return OrderCheck(
        instrument=instrument, side=-1, leaves=size, added=size, price=0.5, multiplier=1.0
    )


@pytest.mark.parametrize(
    ("held", "resting", "sells", "denied"),
    [
        (100.0, 0.0, [100.0], False),
        (100.0, 60.0, [50.0], True),  # resting sells already offer most of the holding
        (100.0, 0.0, [60.0, 50.0], True),  # the second sell of the same list is naked
        (0.0, 0.0, [1.0], True),
    ],
)
def test_naked_sells_of_outcome_tokens(
    held: float, resting: float, sells: list[float], denied: bool
) -> None:
    exposures = {"YES": Exposure(held, 0.0, resting, 0.5, 1.0)}
    reason = naked_sell_breach([_sell(s) for s in sells], exposures, {"YES"})
    assert (reason is not None) == denied
    # The same sells of an instrument that can be shorted are not this rule's business.
    assert naked_sell_breach([_sell(s) for s in sells], exposures, set()) is None
