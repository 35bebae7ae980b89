"""Gate.io wire data -> nautilus objects (pure functions, no I/O).

Quantity convention (decided for the whole project): **nautilus quantities for Gate perpetuals are
CONTRACTS, not coins.** Gate's futures API speaks contracts everywhere (order `size`, position
`size`, book levels `s`, trade `size`, `order_size_min/max`), and one contract is
`quanto_multiplier` coins (BTC_USDT: 1 contract = 0.0001 BTC). So the instrument carries
`multiplier = quanto_multiplier`, and nautilus computes notional as `qty * multiplier * price` and
position PnL with the same multiplier, which is exactly Gate's contract maths.

The classic Gate integration bug is to mix the two units: send or book quantities in coins on one
path and contracts on another, which leaves positions, PnL and risk limits off by the multiplier
(10000x for BTC_USDT). Never convert contracts to coins at the adapter boundary; only for display.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import Symbol
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.instruments import CryptoPerpetual
from nautilus_trader.model.objects import Currency
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

GATE_VENUE = Venue("GATE")
PERP_SUFFIX = "-PERP"


def to_decimal(value: Any) -> Decimal:
    """Gate sends numbers as strings or numbers; `str()` first so floats add no binary noise."""
    return Decimal(str(value))


def plain(value: Any) -> str:
    """A decimal string without exponent: `Decimal("1E-11")` must become "0.00000000001"."""
    return format(to_decimal(value), "f")


def perp_instrument_id(contract_name: str) -> InstrumentId:
    """`BTC_USDT` -> `BTC_USDT-PERP.GATE` (the same id in the catalog and live)."""
    return InstrumentId(Symbol(f"{contract_name}{PERP_SUFFIX}"), GATE_VENUE)


def parse_futures_contract(contract: dict[str, Any], ts_init: int) -> CryptoPerpetual:
    """One item of `GET /futures/usdt/contracts` -> a `CryptoPerpetual` sized in contracts."""
    name = str(contract["name"])
    base_code, _, quote_code = name.partition("_")
    if not base_code or quote_code != "USDT":
        raise ValueError(f"not a USDT-settled Gate contract name: {name!r}")

    price_increment = Price.from_str(plain(contract["order_price_round"]))
    size_increment = _size_increment(contract)
    size_precision = size_increment.precision
    leverage_max = to_decimal(contract["leverage_max"])

    return CryptoPerpetual(
        instrument_id=perp_instrument_id(name),
        raw_symbol=Symbol(name),
        base_currency=Currency.from_str(base_code),
        quote_currency=USDT,
        settlement_currency=USDT,
        is_inverse=False,
        price_precision=price_increment.precision,
        size_precision=size_precision,
        price_increment=price_increment,
        size_increment=size_increment,
        multiplier=Quantity.from_str(plain(contract["quanto_multiplier"])),
        lot_size=size_increment,
        max_quantity=Quantity(to_decimal(contract["order_size_max"]), size_precision),
        min_quantity=Quantity(to_decimal(contract["order_size_min"]), size_precision),
        margin_init=Decimal(1) / leverage_max,
        margin_maint=to_decimal(contract["maintenance_rate"]),
        maker_fee=to_decimal(contract["maker_fee_rate"]),
        taker_fee=to_decimal(contract["taker_fee_rate"]),
        ts_event=ts_init,
        ts_init=ts_init,
        info=dict(contract),
    )


def _size_increment(contract: dict[str, Any]) -> Quantity:
    # Classic contracts trade whole contracts; `enable_decimal` ones trade in steps of the minimum.
    if contract.get("enable_decimal"):
        return Quantity.from_str(plain(contract["order_size_min"]))
    return Quantity.from_int(1)
