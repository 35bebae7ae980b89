"""Parsing a `POST /order` body and the order maths (pure functions).

Amounts are 6-dp integers. A BUY gives `makerAmount` pUSD for `takerAmount` shares, a SELL gives
`makerAmount` shares for `takerAmount` pUSD, so the limit price is maker/taker (BUY) or
taker/maker (SELL) and the size in shares is the share amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any

from tests.venues.polymarket.models import BUY
from tests.venues.polymarket.models import SELL
from tests.venues.polymarket.models import ApiError
from tests.venues.polymarket.signing import SignedOrderFields

ORDER_TYPES = ("GTC", "GTD", "FOK", "FAK")
RESTING_TYPES = ("GTC", "GTD")
SIGNATURE_TYPES = (0, 1, 2)  # EOA, POLY_PROXY, POLY_GNOSIS_SAFE
UNIT = Decimal(1_000_000)
SIX_DP = Decimal("0.000001")
# Market orders' amounts are rounded by the client, so their implied price sits a hair off the
# grid; anything within this fraction of a tick counts as on the grid.
TICK_TOLERANCE = Decimal("0.01")
INVALID_PAYLOAD = "Invalid order payload"


@dataclass(frozen=True)
class OrderRequest:
    fields: SignedOrderFields
    token_id: str
    side: str  # BUY | SELL
    signature: str
    expiration: int
    owner: str
    order_type: str
    post_only: bool


def _invalid() -> ApiError:
    return ApiError(400, INVALID_PAYLOAD)


def _uint(value: Any) -> int:
    if isinstance(value, bool):
        raise _invalid()
    try:
        number = int(str(value))
    except ValueError:
        raise _invalid() from None
    if number < 0:
        raise _invalid()
    return number


def _bytes32(value: Any) -> bytes:
    text = str(value)
    if not text.startswith("0x") or len(text) != 66:
        raise _invalid()
    try:
        return bytes.fromhex(text[2:])
    except ValueError:
        raise _invalid() from None


def _address(value: Any) -> str:
    text = str(value)
    if not text.startswith("0x") or len(text) != 42:
        raise _invalid()
    try:
        bytes.fromhex(text[2:])
    except ValueError:
        raise _invalid() from None
    return text


def parse_order_request(body: Any) -> OrderRequest:
    """One element of `POST /orders` (or the `POST /order` body); ApiError 400 if malformed."""
    if not isinstance(body, dict) or not isinstance(body.get("order"), dict):
        raise _invalid()
    order = body["order"]
    try:
        side = order["side"]
        if side in (0, 1):  # some clients send the signed integer
            side = (BUY, SELL)[side]
        if side not in (BUY, SELL):
            raise _invalid()
        fields = SignedOrderFields(
            salt=_uint(order["salt"]),
            maker=_address(order["maker"]),
            signer=_address(order["signer"]),
            token_id=_uint(order["tokenId"]),
            maker_amount=_uint(order["makerAmount"]),
            taker_amount=_uint(order["takerAmount"]),
            side=0 if side == BUY else 1,
            signature_type=_uint(order["signatureType"]),
            timestamp_ms=_uint(order["timestamp"]),
            metadata=_bytes32(order["metadata"]),
            builder=_bytes32(order["builder"]),
        )
        signature = str(order["signature"])
        expiration = _uint(order.get("expiration", "0"))
    except KeyError:
        raise _invalid() from None
    order_type = body.get("orderType", "GTC")
    if order_type not in ORDER_TYPES or fields.maker_amount == 0 or fields.taker_amount == 0:
        raise _invalid()
    post_only = body.get("postOnly", False) is True
    if post_only and order_type not in RESTING_TYPES:
        raise _invalid()
    return OrderRequest(
        fields=fields,
        token_id=str(fields.token_id),
        side=side,
        signature=signature,
        expiration=expiration,
        owner=str(body.get("owner", "")),
        order_type=order_type,
        post_only=post_only,
    )


def implied_price_and_size(
    side: str, maker_amount: int, taker_amount: int
) -> tuple[Decimal, Decimal]:
    """(limit price, size in shares) of a signed order."""
    maker, taker = Decimal(maker_amount) / UNIT, Decimal(taker_amount) / UNIT
    if side == BUY:
        return maker / taker, taker
    return taker / maker, maker


def snap_to_tick(price: Decimal, tick: Decimal) -> Decimal | None:
    """The grid price `price` stands for, or None when it is off the tick grid."""
    try:
        steps = (price / tick).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return None
    snapped = steps * tick
    return snapped if abs(price - snapped) <= tick * TICK_TOLERANCE else None


def taker_fee(size: Decimal, price: Decimal, rate: Decimal, exponent: Decimal) -> Decimal:
    """shares * rate * (p * (1 - p)) ** exponent, in pUSD, to 6 dp."""
    if not rate:
        return Decimal(0)
    variance = price * (1 - price)
    factor = variance if exponent == 1 else Decimal(float(variance) ** float(exponent))
    return (size * rate * factor).quantize(SIX_DP, rounding=ROUND_HALF_UP)


def fee_rate_bps(rate: Decimal) -> int:
    return int(rate * 10_000)
