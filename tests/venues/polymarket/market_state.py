"""Runtime state of one market: its spec, current tick, book, last trades and price history, and
the per-token views of the book that REST and WS publish."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal
from typing import Any

from tests.venues.polymarket.book import Book
from tests.venues.polymarket.markets import MarketSpec
from tests.venues.polymarket.markets import fmt
from tests.venues.polymarket.models import ASK
from tests.venues.polymarket.models import BID

Level = tuple[Decimal, Decimal]  # (price, size)
HISTORY_POINTS = 24 * 60  # a day of one-minute points before the simulator starts


@dataclass
class LastTrade:
    price: Decimal
    side: str  # "" before the first trade
    size: Decimal = Decimal(0)


@dataclass(eq=False)
class MarketState:
    spec: MarketSpec
    tick: Decimal
    book: Book = field(default_factory=Book)
    last_trades: list[LastTrade] = field(default_factory=list)  # per outcome index
    history: list[list[tuple[int, Decimal]]] = field(default_factory=list)  # per outcome index
    last_tops: list[tuple[Decimal | None, Decimal | None]] = field(default_factory=list)
    traded: bool = False  # a trade happened since the last flush: publish `book` snapshots

    @classmethod
    def create(cls, spec: MarketSpec, seed: int, now: float) -> MarketState:
        mid = (spec.initial_bid + spec.initial_ask) / 2
        yes_history = synthetic_history(f"{seed}:{spec.slug}", mid, int(now), spec.tick_size)
        state = cls(spec, spec.tick_size)
        state.last_trades = [LastTrade(mid, ""), LastTrade(1 - mid, "")]
        state.history = [yes_history, [(t, 1 - p) for t, p in yes_history]]
        state.last_tops = [(None, None), (None, None)]
        return state

    @property
    def condition_id(self) -> str:
        return self.spec.condition_id

    def index_of(self, token_id: str) -> int:
        return self.spec.token_ids.index(token_id)

    def levels(self, index: int) -> tuple[list[Level], list[Level]]:
        """(bids, asks) of one token, best first, in that token's prices."""
        bids, asks = self.book.depth(BID), self.book.depth(ASK)
        if index == 0:
            return bids, asks
        return [(1 - p, s) for p, s in asks], [(1 - p, s) for p, s in bids]

    def top(self, index: int) -> tuple[Decimal | None, Decimal | None]:
        bid, ask = self.book.best(BID), self.book.best(ASK)
        if index == 0:
            return bid, ask
        return (1 - ask if ask is not None else None), (1 - bid if bid is not None else None)

    def midpoint(self, index: int) -> Decimal:
        bid, ask = self.top(index)
        if bid is not None and ask is not None:
            return (bid + ask) / 2
        return self.last_trades[index].price

    def record_trade(self, index: int, price: Decimal, side: str, size: Decimal, t: int) -> None:
        """A trade at `price` of token `index`; the other token traded at 1 - price with the
        opposite side (a BUY YES is a SELL NO)."""
        other_side = {"BUY": "SELL", "SELL": "BUY"}[side]
        self.last_trades[index] = LastTrade(price, side, size)
        self.last_trades[1 - index] = LastTrade(1 - price, other_side, size)
        self.history[index].append((t, price))
        self.history[1 - index].append((t, 1 - price))
        self.traded = True


def book_hash(summary: dict[str, Any]) -> str:
    """SHA-1 of the compact JSON summary with `hash` blanked (the server's book hash)."""
    payload = {**summary, "hash": ""}
    return hashlib.sha1(
        json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()


def level_json(levels: list[Level]) -> list[dict[str, str]]:
    """Wire order: worst first, so the best level is the LAST element (as the real CLOB)."""
    return [{"price": fmt(p), "size": fmt(s)} for p, s in reversed(levels)]


def book_summary(state: MarketState, index: int, ts_ms: int) -> dict[str, Any]:
    """The REST `GET /book` body, keys in the order the server hashes them."""
    bids, asks = state.levels(index)
    summary: dict[str, Any] = {
        "market": state.condition_id,
        "asset_id": state.spec.token_ids[index],
        "timestamp": str(ts_ms),
        "hash": "",
        "bids": level_json(bids),
        "asks": level_json(asks),
        "min_order_size": fmt(state.spec.min_order_size),
        "tick_size": fmt(state.tick),
        "neg_risk": state.spec.neg_risk,
        "last_trade_price": fmt(state.last_trades[index].price),
    }
    summary["hash"] = book_hash(summary)
    return summary


def synthetic_history(
    seed: str, end_price: Decimal, end_ts: int, tick: Decimal
) -> list[tuple[int, Decimal]]:
    """A seeded one-minute random walk that ends at `end_price` at `end_ts`."""
    rng = random.Random(seed)
    price = end_price
    points = []
    for i in range(HISTORY_POINTS):
        points.append((end_ts - 60 * i, price))
        step = tick * rng.choice((-1, 0, 0, 1))
        price = min(max(price + step, tick), 1 - tick)
    points.reverse()
    return points
