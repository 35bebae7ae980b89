"""Market-channel WebSocket events of one market (pure functions of its state).

Books are published per token in that token's prices; a YES level change is also a NO level
change (a YES bid at p is a NO ask at 1 - p), so one `price_change` carries both tokens.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from tests.venues.polymarket.market_state import MarketState
from tests.venues.polymarket.market_state import book_summary
from tests.venues.polymarket.markets import fmt
from tests.venues.polymarket.models import BID
from tests.venues.polymarket.models import BUY
from tests.venues.polymarket.models import SELL


def book_event(state: MarketState, index: int, ts_ms: int) -> dict[str, Any]:
    summary = book_summary(state, index, ts_ms)
    return {
        "event_type": "book",
        "asset_id": summary["asset_id"],
        "market": summary["market"],
        "timestamp": summary["timestamp"],
        "hash": summary["hash"],
        "bids": summary["bids"],
        "asks": summary["asks"],
    }


def price_change_event(
    state: MarketState, changes: list[tuple[int, Decimal]], ts_ms: int
) -> dict[str, Any]:
    """One batched `price_change` for changed YES levels (side, price): `size` is the level's
    new aggregate size (0 = gone), with each token's best bid/ask after the change."""
    entries = []
    tops = [state.top(0), state.top(1)]
    for side, yes_price in changes:
        size = state.book.level_size(side, yes_price)
        for index, token_id in enumerate(state.spec.token_ids):
            price = yes_price if index == 0 else 1 - yes_price
            is_bid = (side == BID) == (index == 0)
            bid, ask = tops[index]
            entries.append(
                {
                    "asset_id": token_id,
                    "price": fmt(price),
                    "size": fmt(size),
                    "side": BUY if is_bid else SELL,
                    "hash": hashlib.sha1(f"{token_id}:{price}:{size}:{ts_ms}".encode()).hexdigest(),
                    "best_bid": fmt(bid) if bid is not None else "0",
                    "best_ask": fmt(ask) if ask is not None else "1",
                }
            )
    return {
        "event_type": "price_change",
        "market": state.condition_id,
        "price_changes": entries,
        "timestamp": str(ts_ms),
    }


def best_bid_ask_event(state: MarketState, index: int, ts_ms: int) -> dict[str, Any]:
    bid, ask = state.top(index)
    return {
        "event_type": "best_bid_ask",
        "market": state.condition_id,
        "asset_id": state.spec.token_ids[index],
        "best_bid": fmt(bid) if bid is not None else "0",
        "best_ask": fmt(ask) if ask is not None else "1",
        "spread": fmt(ask - bid) if bid is not None and ask is not None else "1",
        "timestamp": str(ts_ms),
    }


def last_trade_events(
    state: MarketState, size: Decimal, fee_rate_bps: int, ts_ms: int
) -> list[dict[str, Any]]:
    """`last_trade_price` for both tokens (a BUY YES at p is a SELL NO at 1 - p)."""
    return [
        {
            "event_type": "last_trade_price",
            "asset_id": token_id,
            "market": state.condition_id,
            "price": fmt(last.price),
            "side": last.side,
            "size": fmt(size),
            "fee_rate_bps": str(fee_rate_bps),
            "timestamp": str(ts_ms),
        }
        for token_id, last in zip(state.spec.token_ids, state.last_trades, strict=True)
    ]


def tick_size_events(
    state: MarketState, old: Decimal, new: Decimal, ts_ms: int
) -> list[dict[str, Any]]:
    return [
        {
            "event_type": "tick_size_change",
            "asset_id": token_id,
            "market": state.condition_id,
            "old_tick_size": fmt(old),
            "new_tick_size": fmt(new),
            "timestamp": str(ts_ms),
        }
        for token_id in state.spec.token_ids
    ]
