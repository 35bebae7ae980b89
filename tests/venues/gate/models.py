"""Venue state records: orders, user trades, positions, accounts, and the API error type."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal

ZERO = Decimal(0)


class ApiError(Exception):
    """A Gate REST error: HTTP status plus `{"label": ..., "message": ...}` body."""

    def __init__(self, status: int, label: str, message: str) -> None:
        super().__init__(f"{status} {label}: {message}")
        self.status = status
        self.label = label
        self.message = message


@dataclass(eq=False)
class Order:
    id: int
    user: int
    key: str
    contract: str
    side: int  # +1 buy, -1 sell (Gate encodes it as the sign of `size`)
    qty: int  # unsigned total size including the filled part
    price: Decimal  # 0 = market order
    tif: str
    text: str
    reduce_only: bool
    is_close: bool
    mkfr: Decimal
    tkfr: Decimal
    create_time: float
    update_time: float
    left: int = 0  # unsigned remaining size
    fill_value: Decimal = ZERO  # sum(price * size) of fills, for the average fill price
    status: str = "open"
    finish_as: str = ""
    finish_time: float = 0.0
    amend_text: str = "-"
    update_id: int = 1

    @property
    def filled(self) -> int:
        return self.qty - self.left

    @property
    def fill_price(self) -> Decimal:
        return self.fill_value / self.filled if self.filled else ZERO

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass
class UserTrade:
    id: int
    create_time: float
    contract: str
    order_id: int
    size: int  # signed: + bought, - sold
    price: Decimal
    text: str
    fee: Decimal
    role: str  # maker | taker
    close_size: int = 0


@dataclass
class Position:
    contract: str
    size: int = 0
    entry_price: Decimal = ZERO
    realised_pnl: Decimal = ZERO
    pnl_pnl: Decimal = ZERO
    pnl_fee: Decimal = ZERO
    last_close_pnl: Decimal = ZERO
    history_pnl: Decimal = ZERO
    leverage: int = 10
    update_id: int = 0
    update_time: float = 0.0
    open_time: float = 0.0


@dataclass
class Account:
    key: str
    secret: str
    uid: int
    balance: Decimal  # USDT: deposits + realised PnL - fees
    deposits: Decimal = ZERO
    pnl: Decimal = ZERO
    fees: Decimal = ZERO  # negative = paid, as in Gate's account history `fee`
    positions: dict[str, Position] = field(default_factory=dict)
    trades: list[UserTrade] = field(default_factory=list)

    def position(self, contract: str) -> Position:
        pos = self.positions.get(contract)
        if pos is None:
            pos = self.positions[contract] = Position(contract)
        return pos
