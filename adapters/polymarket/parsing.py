"""Polymarket CLOB wire data -> nautilus objects (pure functions, no I/O).

Mirrors nautilus' `adapters.polymarket.common.parsing.parse_polymarket_instrument`, which we may
not import: that package's `__init__` pulls in `py-clob-client-v2`, which we do not install.

Differences from nautilus' parser, on purpose:
- `min_quantity` is the market's `minimum_order_size` (shares). nautilus leaves it unset because
  market orders have a separate $1 minimum; a market maker sends limit orders, where the venue
  enforces `minimum_order_size`, so the risk engine should know it.
- A missing `end_date_iso` expires 10 years after `ts_init` (not after "now"): parsing stays pure.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
from nautilus_trader.model.currencies import pUSD
from nautilus_trader.model.enums import AssetClass
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import Symbol
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.instruments import BinaryOption
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

POLYMARKET_VENUE = Venue("POLYMARKET")

# Venue trades and balances are reported in 6-dp collateral units (as nautilus' parser assumes).
SIZE_INCREMENT = Quantity.from_str("0.000001")
_TEN_YEARS_NS = 10 * 365 * 24 * 3600 * 1_000_000_000


def token_instrument_id(condition_id: str, token_id: str) -> InstrumentId:
    """`{condition_id}-{token_id}.POLYMARKET` (the same id in the catalog and live)."""
    return InstrumentId(Symbol(f"{condition_id}-{token_id}"), POLYMARKET_VENUE)


def taker_fee_rate(market: dict[str, Any]) -> Decimal:
    """The effective taker fee rate: our `fee_rate`, else Gamma's `feeSchedule.rate`, else 0.

    CLOB `maker_base_fee`/`taker_base_fee` are signing caps, not the rate charged: ignored.
    """
    rate = market.get("fee_rate")
    if rate is None:
        schedule = market.get("feeSchedule") or {}
        rate = schedule.get("rate")
    return Decimal(str(rate)) if rate is not None else Decimal(0)


def parse_binary_options(market: dict[str, Any], ts_init: int) -> list[BinaryOption]:
    """A CLOB `GET /markets/{condition_id}` body -> one `BinaryOption` per outcome token."""
    condition_id = str(market["condition_id"])
    price_increment = Price.from_str(format(Decimal(str(market["minimum_tick_size"])), "f"))
    min_size = market.get("minimum_order_size")
    min_quantity = (
        Quantity(Decimal(str(min_size)), SIZE_INCREMENT.precision) if min_size is not None else None
    )
    expiration_ns = _expiration_ns(market.get("end_date_iso"), ts_init)
    description = market.get("question") or None
    taker_fee = taker_fee_rate(market)

    instruments = []
    for token in market["tokens"]:
        token_id = str(token.get("token_id") or "")
        if not token_id:
            continue  # markets being set up list placeholder tokens without ids
        instruments.append(
            BinaryOption(
                instrument_id=token_instrument_id(condition_id, token_id),
                raw_symbol=Symbol(token_id),
                asset_class=AssetClass.ALTERNATIVE,
                currency=pUSD,
                price_precision=price_increment.precision,
                size_precision=SIZE_INCREMENT.precision,
                price_increment=price_increment,
                size_increment=SIZE_INCREMENT,
                activation_ns=0,
                expiration_ns=expiration_ns,
                min_quantity=min_quantity,
                maker_fee=Decimal(0),
                taker_fee=taker_fee,
                outcome=str(token.get("outcome")) if token.get("outcome") else None,
                description=description,
                ts_event=ts_init,
                ts_init=ts_init,
                info=dict(market),
            )
        )
    return instruments


def _expiration_ns(end_date_iso: str | None, ts_init: int) -> int:
    if not end_date_iso:
        return ts_init + _TEN_YEARS_NS
    stamp = pd.Timestamp(end_date_iso)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return int(stamp.value)
