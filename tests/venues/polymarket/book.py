"""One order book per market, kept in the first outcome's (YES) prices.

Both tokens' orders rest here: BUY YES p and SELL NO 1-p are bids at p, SELL YES p and BUY NO 1-p
are asks at p. Matching a bid against an ask is then a transfer (BUY YES vs SELL YES), a mint
(BUY YES vs BUY NO) or a merge (SELL YES vs SELL NO). Each token's public book is a view: the YES
book is this book, the NO book is its mirror (NO bids at 1 - YES asks).
Levels are FIFO queues (price-time priority). Changed levels are collected for the next
`price_change` push.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterator
from decimal import Decimal

from tests.venues.polymarket.models import ASK
from tests.venues.polymarket.models import BID
from tests.venues.polymarket.models import ZERO
from tests.venues.polymarket.models import Order


class Book:
    def __init__(self) -> None:
        self._queues: dict[int, dict[Decimal, deque[Order]]] = {BID: {}, ASK: {}}
        self._prices: dict[int, list[Decimal]] = {BID: [], ASK: []}  # ascending
        self.changed: set[tuple[int, Decimal]] = set()

    def add(self, order: Order) -> None:
        side, price = order.book_side, order.yes_price
        queue = self._queues[side].get(price)
        if queue is None:
            queue = self._queues[side][price] = deque()
            bisect.insort(self._prices[side], price)
        queue.append(order)
        self.changed.add((side, price))

    def remove(self, order: Order) -> None:
        side, price = order.book_side, order.yes_price
        queue = self._queues[side].get(price)
        if queue is None or order not in queue:
            return
        queue.remove(order)
        if not queue:
            del self._queues[side][price]
            self._prices[side].remove(price)
        self.changed.add((side, price))

    def touch(self, order: Order) -> None:
        """Record that a resting order's remaining size changed (a partial fill)."""
        self.changed.add((order.book_side, order.yes_price))

    def best(self, side: int) -> Decimal | None:
        prices = self._prices[side]
        if not prices:
            return None
        return prices[-1] if side == BID else prices[0]

    def level_size(self, side: int, price: Decimal) -> Decimal:
        queue = self._queues[side].get(price)
        return sum((o.remaining for o in queue), ZERO) if queue else ZERO

    def depth(self, side: int) -> list[tuple[Decimal, Decimal]]:
        """(price, size) levels, best first."""
        prices = reversed(self._prices[side]) if side == BID else iter(self._prices[side])
        return [(p, self.level_size(side, p)) for p in prices]

    def _crossed_prices(self, taker_side: int, limit: Decimal) -> list[Decimal]:
        """Opposite-side prices a taker on `taker_side` with YES limit `limit` can trade, best
        first."""
        if taker_side == BID:
            asks = self._prices[ASK]
            return asks[: bisect.bisect_right(asks, limit)]
        bids = self._prices[BID]
        return list(reversed(bids[bisect.bisect_left(bids, limit) :]))

    def makers(self, taker_side: int, limit: Decimal) -> Iterator[Order]:
        """Resting orders a taker would fill, in price-time priority (safe to fill while
        iterating: each level is copied before it is walked)."""
        maker_side = -taker_side
        for price in self._crossed_prices(taker_side, limit):
            yield from list(self._queues[maker_side].get(price, ()))

    def would_cross(self, taker_side: int, limit: Decimal) -> bool:
        return bool(self._crossed_prices(taker_side, limit))

    def available(self, taker_side: int, limit: Decimal) -> Decimal:
        return sum(
            (self.level_size(-taker_side, p) for p in self._crossed_prices(taker_side, limit)),
            ZERO,
        )

    def take_changes(self) -> set[tuple[int, Decimal]]:
        changed, self.changed = self.changed, set()
        return changed
