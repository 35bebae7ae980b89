"""Venue state records: orders, trades, wallets and positions, and the CLOB error type.

Prices are kept twice: `price` in the order's own token (what the client signed) and `yes_price`
in the market's first outcome, where the single per-market book lives (BUY NO at q rests as an ask
at 1 - q, so a BUY YES at 1 - q fills it by minting).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)
BUY = "BUY"
SELL = "SELL"
BID = 1  # book side in YES terms
ASK = -1


class ApiError(Exception):
    """A CLOB error: HTTP status plus `{"error": message, **extra}`."""

    def __init__(self, status: int, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        return {"error": self.message, **self.extra}


@dataclass(eq=False)
class Order:
    id: str
    market: str  # condition id
    token_id: str
    outcome: str
    outcome_index: int  # 0 = first outcome (YES), 1 = second (NO)
    side: str  # BUY | SELL, in the order's own token
    price: Decimal  # own-token price
    size: Decimal  # original shares
    order_type: str  # GTC | GTD | FOK | FAK
    user: str  # lower-case address of the API key owner (the signer); the crowd's address
    maker: str  # checksummed funder address that pays and receives
    owner: str  # API key ("" for the crowd)
    created_at: float
    expiration: int = 0  # unix seconds, GTD only
    seq: int = 0  # arrival order, for time priority
    matched: Decimal = ZERO
    status: str = "LIVE"  # LIVE | MATCHED | CANCELED
    trade_ids: list[str] = field(default_factory=list)

    @property
    def remaining(self) -> Decimal:
        return self.size - self.matched

    @property
    def is_live(self) -> bool:
        return self.status == "LIVE"

    @property
    def is_yes(self) -> bool:
        """Whether the order is on the market's first outcome token."""
        return self.outcome_index == 0

    @property
    def book_side(self) -> int:
        """BID or ASK in YES terms: BUY YES and SELL NO bid for YES, the others offer it."""
        return BID if (self.side == BUY) == self.is_yes else ASK

    @property
    def yes_price(self) -> Decimal:
        return self.price if self.is_yes else 1 - self.price


@dataclass(eq=False)
class Fill:
    """One maker order's part of a trade, at the maker's own-token price."""

    order: Order
    size: Decimal
    price: Decimal


@dataclass(eq=False)
class Trade:
    """A taker order matched against makers at one price (all `makers` share `taker_price`)."""

    id: str
    market: str
    taker: Order
    taker_price: Decimal  # in the taker's token
    size: Decimal
    makers: list[Fill]
    match_time: float
    taker_fee: Decimal
    fee_rate_bps: int
    status: str = "MATCHED"  # MATCHED -> MINED -> CONFIRMED, or RETRYING -> FAILED
    last_update: float = 0.0
    transaction_hash: str = ""
    will_fail: bool = False


@dataclass
class Position:
    size: Decimal = ZERO
    cost: Decimal = ZERO  # cost basis of `size`, for the average price
    realized_pnl: Decimal = ZERO
    total_bought: Decimal = ZERO

    @property
    def avg_price(self) -> Decimal:
        return self.cost / self.size if self.size else ZERO

    def buy(self, size: Decimal, price: Decimal) -> None:
        self.size += size
        self.cost += size * price
        self.total_bought += size

    def sell(self, size: Decimal, price: Decimal) -> None:
        avg = self.avg_price
        self.realized_pnl += (price - avg) * size
        self.cost -= avg * size
        self.size -= size


@dataclass
class Wallet:
    """Balances of one funder address: pUSD collateral and outcome tokens (both in shares/$)."""

    address: str  # checksummed
    collateral: Decimal = ZERO
    positions: dict[str, Position] = field(default_factory=dict)  # token id -> position

    def position(self, token_id: str) -> Position:
        pos = self.positions.get(token_id)
        if pos is None:
            pos = self.positions[token_id] = Position()
        return pos

    def tokens(self, token_id: str) -> Decimal:
        pos = self.positions.get(token_id)
        return pos.size if pos else ZERO
