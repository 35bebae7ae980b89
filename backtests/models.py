"""
Venue fee models for the simulated exchange, and the latency model built from the config.

The fee curves are pure functions so they are tested without an engine; the `FeeModel` subclasses
only adapt them to nautilus' `get_commission` hook.
"""

from __future__ import annotations

from nautilus_trader.backtest.config import FeeModelConfig
from nautilus_trader.backtest.config import ImportableFeeModelConfig
from nautilus_trader.backtest.config import ImportableLatencyModelConfig
from nautilus_trader.backtest.models import FeeModel
from nautilus_trader.model.enums import LiquiditySide
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Money
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity
from nautilus_trader.model.orders import Order

from backtests.config import FeeSection
from backtests.config import LatencySection

_NANOS_PER_MS = 1_000_000


def notional_fee(quantity: float, price: float, multiplier: float, rate: float) -> float:
    """Fee on a linear contract: rate x notional (negative rate = maker rebate)."""
    return quantity * multiplier * price * rate


def polymarket_fee(shares: float, price: float, rate: float) -> float:
    """
    Polymarket's fee curve: rate x shares x p x (1 - p).

    It is symmetric around 0.5 and vanishes at the extremes, where an outcome is nearly certain.
    """
    return shares * rate * price * (1.0 - price)


class RateFeeModelConfig(FeeModelConfig, frozen=True):
    """Rates that override the instrument's own maker/taker fees (None keeps the instrument's)."""

    maker_rate: float | None = None
    taker_rate: float | None = None


class _RateFeeModel(FeeModel):
    def __init__(self, config: RateFeeModelConfig | None = None) -> None:
        config = config or RateFeeModelConfig()
        self._maker_rate = config.maker_rate
        self._taker_rate = config.taker_rate

    def _rate(self, order: Order, instrument: Instrument) -> float:
        if order.liquidity_side == LiquiditySide.MAKER:
            rate = self._maker_rate if self._maker_rate is not None else instrument.maker_fee
        else:
            rate = self._taker_rate if self._taker_rate is not None else instrument.taker_fee
        return float(rate)


class NotionalFeeModel(_RateFeeModel):
    """Maker/taker rate on notional, as Gate charges on USDT perpetuals and spot."""

    def get_commission(
        self, order: Order, fill_qty: Quantity, fill_px: Price, instrument: Instrument
    ) -> Money:
        fee = notional_fee(
            fill_qty.as_double(),
            fill_px.as_double(),
            float(instrument.multiplier),
            self._rate(order, instrument),
        )
        return Money(fee, instrument.quote_currency)


class PolymarketFeeModel(_RateFeeModel):
    """Polymarket's probability-weighted fee; a negative maker rate models liquidity rebates."""

    def get_commission(
        self, order: Order, fill_qty: Quantity, fill_px: Price, instrument: Instrument
    ) -> Money:
        fee = polymarket_fee(
            fill_qty.as_double(), fill_px.as_double(), self._rate(order, instrument)
        )
        return Money(fee, instrument.quote_currency)


class ZeroFeeModel(_RateFeeModel):
    def get_commission(
        self, order: Order, fill_qty: Quantity, fill_px: Price, instrument: Instrument
    ) -> Money:
        return Money(0, instrument.quote_currency)


_FEE_MODELS = {
    "maker_taker": NotionalFeeModel,
    "polymarket": PolymarketFeeModel,
    "none": ZeroFeeModel,
}


def fee_model_config(fees: FeeSection) -> ImportableFeeModelConfig:
    model = _FEE_MODELS[fees.model]
    return ImportableFeeModelConfig(
        fee_model_path=f"{__name__}:{model.__name__}",
        config_path=f"{__name__}:{RateFeeModelConfig.__name__}",
        config={"maker_rate": fees.maker_rate, "taker_rate": fees.taker_rate},
    )


def latency_model_config(latency: LatencySection) -> ImportableLatencyModelConfig:
    # Always explicit: nautilus' LatencyModelConfig defaults to a 1 s base latency.
    return ImportableLatencyModelConfig(
        latency_model_path="nautilus_trader.backtest.models:LatencyModel",
        config_path="nautilus_trader.backtest.config:LatencyModelConfig",
        config={
            "base_latency_nanos": round(latency.base_ms * _NANOS_PER_MS),
            "insert_latency_nanos": round(latency.insert_ms * _NANOS_PER_MS),
            "update_latency_nanos": round(latency.modify_ms * _NANOS_PER_MS),
            "cancel_latency_nanos": round(latency.cancel_ms * _NANOS_PER_MS),
        },
    )
