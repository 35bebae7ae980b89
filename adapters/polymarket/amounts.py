"""Price/size -> the 6-dp `makerAmount`/`takerAmount` integers of a CLOB V2 order (pure).

The rule is py-clob-client-v2's `ROUNDING_CONFIG` table (venues.md 2.4): per tick size, prices
have `price` decimals, sizes `size` decimals, and the pUSD side at most `amount` decimals. A
product or quotient with more decimals is rounded up at `amount + 4` decimals, then truncated to
`amount` decimals. In exact arithmetic the rounding up never changes anything: products of a price
and a size never have more than `amount` decimals, and a BUY quotient `pUSD / price` in units of
`10**-amount` is a fraction over the price's integer units (< 10**4), so it is never within 10**-4
of the next integer. That step only absorbs float noise; truncation is the whole rule here.

We apply that rule in exact integer arithmetic. The SDK applies it to binary floats, which drifts:
`floor(1.13 * 100)` is 112, so about 1 in 22 two-decimal sizes loses a cent of shares (the venue
then holds a smaller order than the strategy asked for), and notionals of several 1e5 pUSD at
4-dp ticks can lose a micro-unit (an implied price off the tick grid). Everywhere else the results
are bit for bit the SDK's (tests/unit/test_polymarket_signing.py checks this against the SDK).

BUY: maker = pUSD paid, taker = shares received. SELL: maker = shares given, taker = pUSD received.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

BUY = "BUY"
SELL = "SELL"
TOKEN_DECIMALS = 6  # pUSD and outcome tokens


class Rounding(NamedTuple):
    price_decimals: int
    size_decimals: int
    amount_decimals: int


ROUNDING: dict[Decimal, Rounding] = {
    Decimal("0.1"): Rounding(1, 2, 3),
    Decimal("0.01"): Rounding(2, 2, 4),
    Decimal("0.005"): Rounding(3, 2, 5),
    Decimal("0.0025"): Rounding(4, 2, 6),
    Decimal("0.001"): Rounding(3, 2, 5),
    Decimal("0.0001"): Rounding(4, 2, 6),
}
_TICKS = ", ".join(str(tick) for tick in ROUNDING)


def limit_order_amounts(
    side: str, price: Decimal, size: Decimal, tick_size: Decimal
) -> tuple[int, int]:
    """(maker_amount, taker_amount) of a limit order of `size` shares at `price`.

    `price` must lie on the tick grid within [tick, 1 - tick]; `size` is truncated to the tick's
    size decimals (2) like the SDK and must stay positive.
    """
    rounding = _rounding(tick_size)
    _check_side(side)
    tick = Decimal(tick_size)
    _check_price_range(price, tick)
    if price % tick:
        raise ValueError(f"price {price} is not a multiple of the tick size {tick}: round it first")
    price_units = _truncate(price, rounding.price_decimals)
    shares = _positive_truncated(size, rounding.size_decimals, "size")
    share_amount = shares * 10 ** (TOKEN_DECIMALS - rounding.size_decimals)
    cash_amount = _token_amount(
        shares * price_units,
        10 ** (rounding.size_decimals + rounding.price_decimals),
        rounding.amount_decimals,
    )
    return (cash_amount, share_amount) if side == BUY else (share_amount, cash_amount)


def market_order_amounts(
    side: str, amount: Decimal, price: Decimal, tick_size: Decimal
) -> tuple[int, int]:
    """(maker_amount, taker_amount) of a market (FOK/FAK) order with worst price `price`.

    `amount` is the pUSD to spend for a BUY and the shares to sell for a SELL. Like the SDK,
    `price` must lie within [tick, 1 - tick] and is truncated to the tick's price decimals.
    """
    rounding = _rounding(tick_size)
    _check_side(side)
    _check_price_range(price, Decimal(tick_size))
    price_units = _truncate(price, rounding.price_decimals)
    given = _positive_truncated(amount, rounding.size_decimals, "amount")
    maker_amount = given * 10 ** (TOKEN_DECIMALS - rounding.size_decimals)
    if side == BUY:
        # shares = pUSD / price
        numerator = given * 10**rounding.price_decimals
        denominator = price_units * 10**rounding.size_decimals
    else:
        numerator = given * price_units
        denominator = 10 ** (rounding.size_decimals + rounding.price_decimals)
    return maker_amount, _token_amount(numerator, denominator, rounding.amount_decimals)


def _token_amount(numerator: int, denominator: int, decimals: int) -> int:
    """numerator/denominator truncated to `decimals` decimals, in 1e-6 token units."""
    return numerator * 10**decimals // denominator * 10 ** (TOKEN_DECIMALS - decimals)


def _rounding(tick_size: Decimal) -> Rounding:
    try:
        return ROUNDING[Decimal(tick_size)]
    except (KeyError, ArithmeticError, TypeError, ValueError):
        raise ValueError(
            f"tick_size {tick_size!r} is not a Polymarket tick; use one of {_TICKS}"
        ) from None


def _check_side(side: str) -> None:
    if side != BUY and side != SELL:
        raise ValueError(f"side must be {BUY!r} or {SELL!r}, got {side!r}")


def _check_price_range(price: Decimal, tick: Decimal) -> None:
    _check_decimal(price, "price")
    if not tick <= price <= 1 - tick:
        raise ValueError(f"price {price} is outside [{tick}, {1 - tick}] for tick size {tick}")


def _positive_truncated(value: Decimal, decimals: int, field: str) -> int:
    """`value` truncated to `decimals` decimals, as an integer count of 10**-decimals units."""
    _check_decimal(value, field)
    units = _truncate(value, decimals) if value > 0 else 0
    if units <= 0:
        raise ValueError(f"{field} {value} must be at least {Decimal(1).scaleb(-decimals)}")
    return units


def _truncate(value: Decimal, decimals: int) -> int:
    # Exact: integer ratio, no Decimal context precision involved.
    numerator, denominator = value.as_integer_ratio()
    return numerator * 10**decimals // denominator


def _check_decimal(value: Decimal, field: str) -> None:
    # Floats are refused: a binary float cannot carry a price or size exactly.
    if not isinstance(value, Decimal | int) or isinstance(value, bool):
        raise ValueError(f"{field} must be a Decimal, got {type(value).__name__} {value!r}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"{field} must be a finite number, got {value}")
