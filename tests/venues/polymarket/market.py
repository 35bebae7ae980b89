"""A seeded, deterministic crowd that quotes, cancels and takes in every market.

The crowd keeps one order at each of `depth` levels either side of a scripted best bid/ask (in
YES prices), each randomly on the YES or the NO token, so users' orders fill by transfer and by
mint/merge alike. A background task steps the script `updates_per_s` times a second: the touch
moves a tick (crossing users' resting orders, which then fill), a crowd taker trades at the touch,
or a few level sizes change. Tests script exact moves with `move_to`, `trade`, `pause`/`resume`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import ROUND_CEILING
from decimal import ROUND_FLOOR
from decimal import Decimal
from typing import Any

from tests.venues.common import MarketLoop
from tests.venues.polymarket.exchange import Exchange
from tests.venues.polymarket.models import ASK
from tests.venues.polymarket.models import BID
from tests.venues.polymarket.models import Order

Dispatcher = Callable[[Callable[[], Any]], Any]
MIN_LEVEL_SIZE, MAX_LEVEL_SIZE = 20, 2000
MIN_TAKE, MAX_TAKE = 5, 150


def _direct[R](fn: Callable[[], R]) -> R:
    return fn()


def _on_grid(price: Decimal, tick: Decimal, rounding: str) -> Decimal:
    return (price / tick).quantize(Decimal(1), rounding=rounding) * tick


class MarketScript:
    def __init__(self, exchange: Exchange, condition_id: str, seed: int, depth: int) -> None:
        self.exchange = exchange
        self.state = exchange.markets[condition_id]
        self.condition_id = condition_id
        self.depth = depth
        self.rng = random.Random(f"{seed}:{condition_id}")  # str seeds hash deterministically
        self.bid = self.state.spec.initial_bid
        self.ask = self.state.spec.initial_ask
        self.levels: dict[tuple[int, Decimal], Order] = {}
        self.apply()

    @property
    def tick(self) -> Decimal:
        return self.state.tick

    def _ladder(self) -> list[tuple[int, Decimal]]:
        tick = self.tick
        bid = _on_grid(self.bid, tick, ROUND_FLOOR)
        ask = _on_grid(self.ask, tick, ROUND_CEILING)
        out = [(BID, bid - i * tick) for i in range(self.depth)]
        out += [(ASK, ask + i * tick) for i in range(self.depth)]
        return [(side, p) for side, p in out if tick <= p <= 1 - tick]

    def _place(self, side: int, price: Decimal, size: Decimal) -> None:
        order = self.exchange.crowd_order(
            self.condition_id, side, price, size, "GTC", self.rng.randrange(2)
        )
        if order.is_live:
            self.levels[(side, price)] = order

    def apply(self) -> None:
        """Make the crowd's resting orders match the ladder around the scripted bid/ask. A new
        crowd order that crosses a user's resting order trades with it first."""
        wanted = set(self._ladder())
        for level, order in list(self.levels.items()):
            if level not in wanted or not order.is_live:
                self.exchange.crowd_cancel(order)
                del self.levels[level]
        # Nearest levels first, so a crossing order meets users' orders at the touch first.
        missing = sorted(wanted - set(self.levels), key=lambda lv: (abs(lv[1] - self.mid), lv))
        for side, price in missing:
            self._place(side, price, Decimal(self.rng.randint(MIN_LEVEL_SIZE, MAX_LEVEL_SIZE)))
        self.exchange.flush(self.condition_id)

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2

    def move_to(self, bid: Decimal, ask: Decimal) -> None:
        tick = self.tick
        if not tick <= bid < ask <= 1 - tick:
            raise ValueError(f"need {tick} <= bid {bid} < ask {ask} <= {1 - tick}")
        for p in (bid, ask):
            if p % tick:
                raise ValueError(f"price {p} is not a multiple of tick {tick}")
        self.bid, self.ask = bid, ask
        self.apply()

    def trade(self, side: int, limit: Decimal, size: Decimal) -> None:
        """A crowd taker buying (`side` BID) or selling YES up to `limit`, fill-and-kill."""
        self.exchange.crowd_order(self.condition_id, side, limit, size, "FAK", 0)
        self.exchange.flush(self.condition_id)

    def step(self) -> None:
        r = self.rng.random()
        tick = self.tick
        if r < 0.2:
            shift = tick if self.rng.random() < 0.5 else -tick
            if tick <= self.bid + shift and self.ask + shift <= 1 - tick:
                self.bid, self.ask = self.bid + shift, self.ask + shift
                self.apply()
        elif r < 0.45:
            side = BID if self.rng.random() < 0.5 else ASK
            touch = self.ask if side == BID else self.bid
            self.trade(side, touch, Decimal(self.rng.randint(MIN_TAKE, MAX_TAKE)))
            self.apply()  # the crowd refills the level it just took
        elif self.levels:
            for _ in range(self.rng.randint(1, 3)):
                level = self.rng.choice(sorted(self.levels))
                self.exchange.crowd_cancel(self.levels.pop(level))
                self._place(*level, Decimal(self.rng.randint(MIN_LEVEL_SIZE, MAX_LEVEL_SIZE)))
            self.exchange.flush(self.condition_id)


class ScriptedMarket(MarketLoop):
    """All markets' scripts plus the background task. Methods are safe to call from any thread."""

    def __init__(
        self, exchange: Exchange, *, seed: int = 0, updates_per_s: float = 10.0, depth: int = 10
    ) -> None:
        self.exchange = exchange
        super().__init__(updates_per_s)
        self.scripts = {cid: MarketScript(exchange, cid, seed, depth) for cid in exchange.markets}
        self.dispatch: Dispatcher = _direct  # the server swaps in a loop-thread dispatcher

    def _script(self, condition_id: str | None) -> MarketScript:
        return self.scripts[condition_id or next(iter(self.scripts))]

    def move_to(
        self, bid: float | str | Decimal, ask: float | str | Decimal, market: str | None = None
    ) -> None:
        """Move the crowd's YES touch (default: the first market)."""
        script = self._script(market)
        self.dispatch(lambda: script.move_to(Decimal(str(bid)), Decimal(str(ask))))

    def trade(
        self,
        side: str,
        price: float | str | Decimal,
        size: float | str | Decimal,
        market: str | None = None,
    ) -> None:
        """A crowd taker: `side` "buy" or "sell" YES, up to the YES `price`, for `size` shares."""
        if side not in ("buy", "sell"):
            raise ValueError(f"side must be 'buy' or 'sell', not {side!r}")
        script = self._script(market)
        book_side = BID if side == "buy" else ASK
        self.dispatch(lambda: script.trade(book_side, Decimal(str(price)), Decimal(str(size))))

    def top(self, market: str | None = None) -> tuple[Decimal, Decimal]:
        """The scripted YES best bid/ask (the crowd's touch, ignoring users' orders)."""
        script = self._script(market)
        return script.bid, script.ask
