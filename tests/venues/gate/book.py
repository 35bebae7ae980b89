"""The venue's L2 book for one contract: FIFO queues per price level and the matching primitives.

Every level is a FIFO of entries. An entry is either a chunk of scripted liquidity (`order is None`,
the anonymous crowd the scripted market maintains) or one of our accounts' orders. Our orders join
the back of the queue, so they sit behind the displayed scripted liquidity at their price, and a
taker consumes a level front to back: that is price-time priority.

Each level change bumps `id` by one, which is what Gate's `U`/`u` and the REST `id` count; `flush()`
turns the changes made since the previous flush into one `order_book_update` delta.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from tests.venues.gate.models import Order

BID = 1  # resting buy liquidity; a buy taker (side +1) consumes ASK
ASK = -1


class Entry:
    __slots__ = ("order", "size")

    def __init__(self, size: int, order: Order | None) -> None:
        self.size = size
        self.order = order


class Level:
    __slots__ = ("price", "queue")

    def __init__(self, price: Decimal) -> None:
        self.price = price
        self.queue: deque[Entry] = deque()

    def total(self) -> int:
        return sum(e.size for e in self.queue)

    def scripted(self) -> int:
        return sum(e.size for e in self.queue if e.order is None)


@dataclass(frozen=True)
class MakerFill:
    """One match against a resting entry; `order is None` for scripted liquidity."""

    order: Order | None
    price: Decimal
    size: int


@dataclass(frozen=True)
class BookDelta:
    first_id: int  # U
    last_id: int  # u
    bids: list[tuple[Decimal, int]]  # absolute level sizes, 0 = delete
    asks: list[tuple[Decimal, int]]
    t_ms: int


def crosses(taker_side: int, limit: Decimal | None, price: Decimal) -> bool:
    """Whether a taker of `taker_side` with `limit` (None = market) may trade at `price`."""
    if limit is None:
        return True
    return price <= limit if taker_side > 0 else price >= limit


class OrderBook:
    def __init__(self, contract: str, start_id: int) -> None:
        self.contract = contract
        self.id = start_id
        self.update_time = time.time()
        self._sides: dict[int, dict[Decimal, Level]] = {BID: {}, ASK: {}}
        self._entries: dict[int, tuple[int, Entry]] = {}  # order id -> (side, entry)
        self._dirty: dict[tuple[int, Decimal], None] = {}
        self._first_dirty_id: int | None = None

    # ---- reading -------------------------------------------------------------------------
    def prices(self, side: int) -> list[Decimal]:
        """Prices with liquidity, best first (bids high->low, asks low->high)."""
        return sorted(self._sides[side], reverse=side == BID)

    def best(self, side: int) -> Decimal | None:
        levels = self._sides[side]
        if not levels:
            return None
        return max(levels) if side == BID else min(levels)

    def level_size(self, side: int, price: Decimal) -> int:
        level = self._sides[side].get(price)
        return level.total() if level else 0

    def scripted_size(self, side: int, price: Decimal) -> int:
        level = self._sides[side].get(price)
        return level.scripted() if level else 0

    def depth(self, side: int, limit: int | None = None) -> list[tuple[Decimal, int]]:
        prices = self.prices(side)
        if limit is not None:
            prices = prices[:limit]
        return [(p, self._sides[side][p].total()) for p in prices]

    def would_cross(self, taker_side: int, limit: Decimal | None) -> bool:
        best = self.best(-taker_side)
        return best is not None and crosses(taker_side, limit, best)

    def available(self, taker_side: int, limit: Decimal | None) -> int:
        """Liquidity a taker could reach (for FOK checks)."""
        levels = self._sides[-taker_side]
        return sum(lv.total() for p, lv in levels.items() if crosses(taker_side, limit, p))

    def resting_through(self, side: int, price: Decimal) -> list[Order]:
        """Our orders on `side` priced at or through `price`, best price first, FIFO within."""
        out: list[Order] = []
        for p in self.prices(side):
            if (side == BID and p < price) or (side == ASK and p > price):
                break
            out.extend(e.order for e in self._sides[side][p].queue if e.order is not None)
        return out

    def queue_ahead(self, order_id: int) -> int:
        """Size ahead of an order in its level's queue (for tests of queue priority)."""
        side, entry = self._entries[order_id]
        assert entry.order is not None
        ahead = 0
        for e in self._sides[side][entry.order.price].queue:
            if e is entry:
                return ahead
            ahead += e.size
        return ahead

    # ---- changing ------------------------------------------------------------------------
    def _touch(self, side: int, price: Decimal) -> None:
        self.id += 1
        if self._first_dirty_id is None:
            self._first_dirty_id = self.id
        self._dirty[(side, price)] = None
        self.update_time = time.time()

    def skip_ids(self, n: int) -> None:
        """Burn `n` ids without a change: subscribers see a gap in U/u."""
        self.id += n

    def _level(self, side: int, price: Decimal) -> Level:
        level = self._sides[side].get(price)
        if level is None:
            level = self._sides[side][price] = Level(price)
        return level

    def _drop_if_empty(self, side: int, level: Level) -> None:
        if not level.queue:
            del self._sides[side][level.price]

    def take(self, taker_side: int, limit: Decimal | None, qty: int) -> list[MakerFill]:
        """Consume opposite liquidity best price first, FIFO within a level, up to `qty`."""
        side = -taker_side
        fills: list[MakerFill] = []
        for price in self.prices(side):
            if qty <= 0 or not crosses(taker_side, limit, price):
                break
            level = self._sides[side][price]
            while qty > 0 and level.queue:
                entry = level.queue[0]
                n = min(qty, entry.size)
                entry.size -= n
                qty -= n
                fills.append(MakerFill(entry.order, price, n))
                if entry.size == 0:
                    level.queue.popleft()
                    if entry.order is not None:
                        self._entries.pop(entry.order.id, None)
            self._touch(side, price)
            self._drop_if_empty(side, level)
        return fills

    def add(self, order: Order) -> None:
        """Rest an order at the back of its price level."""
        side = BID if order.side > 0 else ASK
        entry = Entry(order.left, order)
        self._level(side, order.price).queue.append(entry)
        self._entries[order.id] = (side, entry)
        self._touch(side, order.price)

    def remove(self, order_id: int) -> bool:
        found = self._entries.pop(order_id, None)
        if found is None:
            return False
        side, entry = found
        assert entry.order is not None
        level = self._sides[side][entry.order.price]
        level.queue.remove(entry)
        self._touch(side, level.price)
        self._drop_if_empty(side, level)
        return True

    def resize(self, order_id: int, new_left: int) -> None:
        """Shrink an order in place: it keeps its queue position."""
        side, entry = self._entries[order_id]
        assert entry.order is not None
        entry.size = new_left
        self._touch(side, entry.order.price)

    def set_scripted(self, side: int, price: Decimal, size: int) -> None:
        """Set the scripted (crowd) liquidity at a level; additions join the back of the queue."""
        current = self.scripted_size(side, price)
        if size == current:
            return
        level = self._level(side, price)
        if size > current:
            level.queue.append(Entry(size - current, None))
        else:
            # Crowd cancellations come off the most recent scripted chunks first.
            excess = current - size
            for entry in reversed(list(level.queue)):
                if excess == 0:
                    break
                if entry.order is None:
                    n = min(excess, entry.size)
                    entry.size -= n
                    excess -= n
            level.queue = deque(e for e in level.queue if e.order is not None or e.size > 0)
        self._touch(side, price)
        self._drop_if_empty(side, level)

    def scripted_prices(self, side: int) -> list[Decimal]:
        return [p for p, lv in self._sides[side].items() if lv.scripted() > 0]

    def flush(self) -> BookDelta | None:
        if self._first_dirty_id is None:
            return None
        bids: list[tuple[Decimal, int]] = []
        asks: list[tuple[Decimal, int]] = []
        for side, price in self._dirty:
            (bids if side == BID else asks).append((price, self.level_size(side, price)))
        delta = BookDelta(self._first_dirty_id, self.id, bids, asks, int(self.update_time * 1000))
        self._dirty.clear()
        self._first_dirty_id = None
        return delta
