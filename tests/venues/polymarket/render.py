"""Venue records -> the CLOB's JSON shapes (REST bodies and WS events).

Field sets are supersets of what nautilus' msgspec schemas require (`PolymarketOpenOrder`,
`PolymarketTradeReport`, `PolymarketUserOrder`, `PolymarketUserTrade`, `PolymarketMakerOrder`).
Times: REST `created_at` is int seconds; trade `match_time`/`last_update` are second strings;
WS `timestamp` is a millisecond string (nautilus parses the order's as ms).
"""

from __future__ import annotations

from typing import Any

from tests.venues.polymarket.markets import fmt
from tests.venues.polymarket.models import ZERO
from tests.venues.polymarket.models import Fill
from tests.venues.polymarket.models import Order
from tests.venues.polymarket.models import Trade


def open_order(order: Order) -> dict[str, Any]:
    """`GET /data/orders` / `GET /data/order/{id}` element."""
    return {
        "id": order.id,
        "status": order.status,
        "owner": order.owner,
        "maker_address": order.maker,
        "market": order.market,
        "asset_id": order.token_id,
        "side": order.side,
        "original_size": fmt(order.size),
        "size_matched": fmt(order.matched),
        "price": fmt(order.price),
        "associate_trades": list(order.trade_ids),
        "outcome": order.outcome,
        "created_at": int(order.created_at),
        "expiration": str(order.expiration),
        "order_type": order.order_type,
    }


def order_event(order: Order, event_type: str, now: float) -> dict[str, Any]:
    """User-channel `order` event: PLACEMENT | UPDATE | CANCELLATION."""
    return {
        "event_type": "order",
        "type": event_type,
        "id": order.id,
        "asset_id": order.token_id,
        "market": order.market,
        "owner": order.owner,
        "order_owner": order.owner,
        "maker_address": order.maker,
        "side": order.side,
        "price": fmt(order.price),
        "original_size": fmt(order.size),
        "size_matched": fmt(order.matched),
        "outcome": order.outcome,
        "associate_trades": list(order.trade_ids) or None,
        "order_type": order.order_type,
        "status": order.status,
        "created_at": str(int(order.created_at)),
        "expiration": str(order.expiration),
        "timestamp": str(int(now * 1000)),
    }


def _maker_order(fill: Fill) -> dict[str, Any]:
    return {
        "order_id": fill.order.id,
        "owner": fill.order.owner,
        "maker_address": fill.order.maker,
        "matched_amount": fmt(fill.size),
        "price": fmt(fill.price),
        "fee_rate_bps": "0",
        "asset_id": fill.order.token_id,
        "outcome": fill.order.outcome,
        "side": fill.order.side,
    }


def trade_view(trade: Trade, owner: Order) -> dict[str, Any]:
    """`GET /data/trades` element as seen by the owner of `owner` (the taker order, or one of
    the maker orders). The trade-level asset/side/price/size are the taker's, as on the CLOB."""
    taker = trade.taker
    is_taker = owner is taker
    return {
        "id": trade.id,
        "taker_order_id": taker.id,
        "market": trade.market,
        "asset_id": taker.token_id,
        "side": taker.side,
        "size": fmt(trade.size),
        "fee_rate_bps": str(trade.fee_rate_bps),
        "price": fmt(trade.taker_price),
        "status": trade.status,
        "match_time": str(int(trade.match_time)),
        "last_update": str(int(trade.last_update)),
        "outcome": taker.outcome,
        "bucket_index": 0,
        "owner": owner.owner,
        "maker_address": owner.maker,
        "transaction_hash": trade.transaction_hash,
        "trader_side": "TAKER" if is_taker else "MAKER",
        "maker_orders": [_maker_order(f) for f in trade.makers],
    }


def trade_event(trade: Trade, owner: Order, now: float) -> dict[str, Any]:
    """User-channel `trade` event (sent again on every status change, same id)."""
    view = trade_view(trade, owner)
    return {
        "event_type": "trade",
        "type": "TRADE",
        **view,
        "matchtime": view["match_time"],
        "trade_owner": view["owner"],
        "timestamp": str(int(now * 1000)),
    }


def post_order_response(order: Order, trades: list[Trade]) -> dict[str, Any]:
    """`POST /order` success body; making/taking are what the order gave/got in its matches."""
    matched = sum((t.size for t in trades), ZERO)
    cash = sum((t.size * t.taker_price for t in trades), ZERO)
    making, taking = (cash, matched) if order.side == "BUY" else (matched, cash)
    if order.status == "MATCHED" or (trades and not order.is_live):
        status = "matched"
    elif order.is_live:
        status = "live"
    else:
        status = "unmatched"
    return {
        "success": True,
        "errorMsg": "",
        "orderID": order.id,
        "status": status,
        "makingAmount": fmt(making) if trades else "",
        "takingAmount": fmt(taking) if trades else "",
        "transactionsHashes": [t.transaction_hash for t in trades if t.transaction_hash],
        "tradeIDs": [t.id for t in trades],
    }


def post_order_failure(message: str, order_id: str = "") -> dict[str, Any]:
    """A failed element of a `POST /orders` answer (HTTP 200, per-order error)."""
    return {
        "success": False,
        "errorMsg": message,
        "orderID": order_id,
        "status": "",
        "makingAmount": "",
        "takingAmount": "",
        "transactionsHashes": [],
        "tradeIDs": [],
    }
