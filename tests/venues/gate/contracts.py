"""Contract specifications served by the simulator.

BTC_USDT and ETH_USDT carry the real values seen in a Gate capture (multiplier, tick, fees, risk
limits); the dynamic fields (last/mark/index price, orderbook_id, trade_id) come from the live book.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class ContractSpec:
    name: str
    quanto_multiplier: Decimal
    order_price_round: Decimal
    mark_price_round: Decimal
    maker_fee_rate: Decimal
    taker_fee_rate: Decimal
    initial_bid: Decimal
    initial_ask: Decimal
    order_size_min: int = 1
    order_size_max: int = 1_000_000
    order_price_deviate: Decimal = Decimal("0.5")
    maintenance_rate: Decimal = Decimal("0.005")
    leverage_max: int = 100
    orders_limit: int = 100
    static: dict[str, Any] = field(default_factory=dict)


# Static fields that are the same shape for every USDT perpetual on Gate.
_COMMON_STATIC: dict[str, Any] = {
    "type": "direct",
    "ref_discount_rate": "0",
    "mark_type": "index",
    "funding_offset": 0,
    "in_delisting": False,
    "interest_rate": "0.0003",
    "ref_rebate_rate": "0.2",
    "funding_interval": 28800,
    "leverage_min": "1",
    "risk_limit_base": "1000000",
    "risk_limit_step": "1000000",
    "risk_limit_max": "30000000",
    "enable_bonus": True,
    "enable_credit": True,
    "enable_decimal": False,
    "status": "trading",
    "contract_type": "",
    "market_order_slip_ratio": "0.05",
    "market_order_size_max": "1000000",
    "funding_rate_limit": "0.02",
    "funding_cap_ratio": "0.75",
    "launch_time": 1609899548,
    "create_time": 0,
    "config_change_time": 1682318841,
}

DEFAULT_CONTRACTS: dict[str, ContractSpec] = {
    "BTC_USDT": ContractSpec(
        name="BTC_USDT",
        quanto_multiplier=Decimal("0.0001"),
        order_price_round=Decimal("0.1"),
        mark_price_round=Decimal("0.01"),
        maker_fee_rate=Decimal("-0.000152"),
        taker_fee_rate=Decimal("0.00075"),
        initial_bid=Decimal("26699.9"),
        initial_ask=Decimal("26700.0"),
        static={**_COMMON_STATIC, "funding_impact_value": "60000"},
    ),
    "ETH_USDT": ContractSpec(
        name="ETH_USDT",
        quanto_multiplier=Decimal("0.01"),
        order_price_round=Decimal("0.05"),
        mark_price_round=Decimal("0.01"),
        maker_fee_rate=Decimal("-0.0001368"),
        taker_fee_rate=Decimal("0.00075"),
        initial_bid=Decimal("1814.80"),
        initial_ask=Decimal("1814.85"),
        static={
            **_COMMON_STATIC,
            "funding_impact_value": "20000",
            "config_change_time": 1682318747,
        },
    ),
}


_DP = Decimal("1e-12")
DEFAULT_FUNDING_RATE = Decimal("0.0001")  # per funding interval, until a test sets another


def fmt(value: Decimal) -> str:
    """Gate-style decimal string: no exponent, no trailing zeros ("26700", "0.0001"), at most
    12 decimals (averages and PnL would otherwise print 28 significant digits)."""
    text = format(value.quantize(_DP).normalize(), "f")
    return text if text != "-0" else "0"


def contract_json(
    spec: ContractSpec,
    *,
    last_price: Decimal,
    mark_price: Decimal,
    orderbook_id: int,
    trade_id: int,
    funding_rate: Decimal = DEFAULT_FUNDING_RATE,
    size_decimal: bool,
    now: float,
) -> dict[str, Any]:
    size_min: Any = str(spec.order_size_min) if size_decimal else spec.order_size_min
    size_max: Any = str(spec.order_size_max) if size_decimal else spec.order_size_max
    interval = int(spec.static.get("funding_interval", 28800))
    return {
        **spec.static,
        "name": spec.name,
        "quanto_multiplier": fmt(spec.quanto_multiplier),
        "order_price_round": fmt(spec.order_price_round),
        "mark_price_round": fmt(spec.mark_price_round),
        "order_size_min": size_min,
        "order_size_max": size_max,
        "order_price_deviate": fmt(spec.order_price_deviate),
        "maintenance_rate": fmt(spec.maintenance_rate),
        "leverage_max": str(spec.leverage_max),
        "maker_fee_rate": fmt(spec.maker_fee_rate),
        "taker_fee_rate": fmt(spec.taker_fee_rate),
        "orders_limit": spec.orders_limit,
        "last_price": fmt(last_price),
        "mark_price": fmt(mark_price),
        "index_price": fmt(mark_price),
        "funding_rate": fmt(funding_rate),
        "funding_rate_indicative": fmt(funding_rate),
        "funding_next_apply": (int(now) // interval + 1) * interval,
        "orderbook_id": orderbook_id,
        "trade_id": trade_id,
        "trade_size": 215705969894,
        "position_size": 169531691,
        "long_users": 5706,
        "short_users": 2559,
    }
