from __future__ import annotations

import pytest

from backtests.models import notional_fee
from backtests.models import polymarket_fee


def test_notional_fee_uses_contract_multiplier() -> None:
    # 1,000 BTC_USDT contracts (0.1 BTC) at 94,000 USDT, taker 0.075%
    assert notional_fee(1_000, 94_000.0, 0.0001, 0.00075) == pytest.approx(7.05)


def test_negative_maker_rate_is_a_rebate() -> None:
    assert notional_fee(1_000, 94_000.0, 0.0001, -0.000152) == pytest.approx(-1.4288)


def test_polymarket_fee_peaks_at_even_odds_and_vanishes_at_extremes() -> None:
    rate = 0.02
    assert polymarket_fee(100, 0.5, rate) == pytest.approx(0.5)
    assert polymarket_fee(100, 0.1, rate) == pytest.approx(polymarket_fee(100, 0.9, rate))
    assert polymarket_fee(100, 0.99, rate) < polymarket_fee(100, 0.5, rate) / 20
