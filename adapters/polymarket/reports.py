"""
Polymarket CLOB V2 order and trade records -> nautilus reports (pure functions, no I/O).

The same record shapes come from the user WebSocket channel (`order`, `trade` events) and from REST
(`/data/orders`, `/data/order/{id}`, `/data/trades`), so one set of parsers serves live events and
reconciliation, and a fill has the same trade id whichever path reported it.

A trade is seen from one participant's side: the trade-level asset, side, price and size are the
taker's; each `maker_orders` entry carries that maker order's own asset, side and price (a maker
BUY YES can match a taker BUY NO: a mint, where the maker's asset is not the trade's). Our fills
are the taker leg when the taker order is ours, and every maker leg whose `owner` is our API key.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any
from typing import NamedTuple

from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.reports import FillReport
from nautilus_trader.execution.reports import OrderStatusReport
from nautilus_trader.execution.reports import PositionStatusReport
from nautilus_trader.model.enums import LiquiditySide
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import OrderType
from nautilus_trader.model.enums import PositionSide
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.identifiers import AccountId
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.identifiers import VenueOrderId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Money

from backtests.models import polymarket_fee

_SIDES = {"BUY": OrderSide.BUY, "SELL": OrderSide.SELL}
_STATUSES = {
    "LIVE": OrderStatus.ACCEPTED,
    "DELAYED": OrderStatus.ACCEPTED,
    "MATCHED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "CANCELED_MARKET_RESOLVED": OrderStatus.CANCELED,
    "UNMATCHED": OrderStatus.CANCELED,
    "INVALID": OrderStatus.REJECTED,
}
_TIME_IN_FORCE = {
    "GTC": TimeInForce.GTC,
    "GTD": TimeInForce.GTD,
    "FOK": TimeInForce.FOK,
    "FAK": TimeInForce.IOC,
}
# Trade statuses after which a match will not be undone on chain.
FINAL_TRADE_STATUSES = frozenset({"MINED", "CONFIRMED"})
FAILED_TRADE_STATUS = "FAILED"
_NANOS = 1_000_000_000


class OurFill(NamedTuple):
    """One leg of a venue trade that belongs to one of our orders."""

    trade_id: str
    order_id: str
    asset_id: str
    side: str
    price: Decimal
    size: Decimal
    liquidity: LiquiditySide
    fee_rate_bps: Decimal
    match_time_s: int

    @property
    def fill_id(self) -> str:
        """A nautilus trade id (at most 36 chars) unique per (trade, order) leg."""
        digest = hashlib.blake2b(f"{self.trade_id}:{self.order_id}".encode(), digest_size=16)
        return digest.hexdigest()

    def commission(self) -> Decimal:
        if self.liquidity != LiquiditySide.TAKER:
            return Decimal(0)
        rate = float(self.fee_rate_bps) / 10_000
        return Decimal(str(round(polymarket_fee(float(self.size), float(self.price), rate), 6)))


def our_fills(trade: dict[str, Any], api_key: str) -> list[OurFill]:
    """The legs of a trade record (WS `trade` event or `/data/trades` item) that are ours."""
    trade_id = str(trade["id"])
    match_time = int(float(trade.get("match_time") or trade.get("matchtime") or 0))
    fills = []
    if trade.get("trader_side") == "TAKER" and trade.get("owner") == api_key:
        fills.append(
            OurFill(
                trade_id,
                str(trade["taker_order_id"]),
                str(trade["asset_id"]),
                str(trade["side"]).upper(),
                Decimal(str(trade["price"])),
                Decimal(str(trade["size"])),
                LiquiditySide.TAKER,
                Decimal(str(trade.get("fee_rate_bps") or 0)),
                match_time,
            )
        )
    for maker in trade.get("maker_orders") or ():
        if maker.get("owner") != api_key:
            continue
        fills.append(
            OurFill(
                trade_id,
                str(maker["order_id"]),
                str(maker["asset_id"]),
                str(maker["side"]).upper(),
                Decimal(str(maker["price"])),
                Decimal(str(maker["matched_amount"])),
                LiquiditySide.MAKER,
                Decimal(str(maker.get("fee_rate_bps") or 0)),
                match_time,
            )
        )
    return fills


def fill_report(
    fill: OurFill,
    instrument: Instrument,
    account_id: AccountId,
    client_order_id: ClientOrderId | None,
    ts_init: int,
) -> FillReport:
    return FillReport(
        account_id=account_id,
        instrument_id=instrument.id,
        venue_order_id=VenueOrderId(fill.order_id),
        trade_id=TradeId(fill.fill_id),
        order_side=_SIDES[fill.side],
        last_qty=instrument.make_qty(fill.size),
        last_px=instrument.make_price(fill.price),
        commission=Money(fill.commission(), instrument.quote_currency),
        liquidity_side=fill.liquidity,
        report_id=UUID4(),
        ts_event=fill.match_time_s * _NANOS or ts_init,
        ts_init=ts_init,
        client_order_id=client_order_id,
    )


def order_status_report(
    order: dict[str, Any],
    instrument: Instrument,
    account_id: AccountId,
    client_order_id: ClientOrderId | None,
    ts_init: int,
) -> OrderStatusReport:
    """An open-order record (`/data/orders`, `/data/order/{id}` or a WS `order` event)."""
    size = Decimal(str(order["original_size"]))
    matched = Decimal(str(order.get("size_matched") or 0))
    status = _STATUSES.get(str(order.get("status", "")).upper(), OrderStatus.ACCEPTED)
    if status == OrderStatus.ACCEPTED and matched > 0:
        status = OrderStatus.PARTIALLY_FILLED
    created_ns = int(float(order.get("created_at") or 0)) * _NANOS or ts_init
    expiration_s = int(float(order.get("expiration") or 0))
    time_in_force = _TIME_IN_FORCE.get(str(order.get("order_type", "GTC")), TimeInForce.GTC)
    return OrderStatusReport(
        account_id=account_id,
        instrument_id=instrument.id,
        client_order_id=client_order_id,
        venue_order_id=VenueOrderId(str(order["id"])),
        order_side=_SIDES[str(order["side"]).upper()],
        order_type=OrderType.LIMIT,
        time_in_force=time_in_force,
        order_status=status,
        quantity=instrument.make_qty(size),
        filled_qty=instrument.make_qty(matched),
        report_id=UUID4(),
        ts_accepted=created_ns,
        ts_last=ts_init,
        ts_init=ts_init,
        price=instrument.make_price(Decimal(str(order["price"]))),
        expire_time=None if time_in_force != TimeInForce.GTD else expiration_s * _NANOS,
    )


def position_status_report(
    instrument_id: InstrumentId,
    instrument: Instrument,
    shares: Decimal,
    account_id: AccountId,
    ts_init: int,
) -> PositionStatusReport:
    """Outcome tokens are held, never owed: a position is LONG or FLAT."""
    return PositionStatusReport(
        account_id=account_id,
        instrument_id=instrument_id,
        position_side=PositionSide.LONG if shares > 0 else PositionSide.FLAT,
        quantity=instrument.make_qty(max(shares, Decimal(0))),
        report_id=UUID4(),
        ts_last=ts_init,
        ts_init=ts_init,
    )
