"""A seeded, deterministic scripted market that moves each contract's book and prints trades.

It drives any `ScriptedVenue`: the perpetuals (`Exchange`) and the spot pairs (`SpotExchange`)
each get their own `ScriptedMarket`.

The crowd's liquidity lives at `depth` levels either side of a scripted best bid/ask. A background
task steps the script `updates_per_s` times a second: the touch moves a tick, a crowd taker trades
at the touch (consuming the queue front to back, so our orders behind the crowd fill in turn), or a
few level sizes change. Tests script exact moves with `move_to`, `trade`, `pause`/`resume`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from typing import Protocol

from tests.venues.common import MarketLoop
from tests.venues.gate.book import ASK
from tests.venues.gate.book import BID
from tests.venues.gate.book import MakerFill
from tests.venues.gate.book import OrderBook

Dispatcher = Callable[[Callable[[], Any]], Any]


def _direct[R](fn: Callable[[], R]) -> R:
    return fn()


class ScriptedVenue(Protocol):
    """What a script moves: books keyed like `specs` (each spec has `order_price_round`,
    `initial_bid`, `initial_ask`), a crowd taker that prints trades, and a publishing flush."""

    specs: Mapping[str, Any]
    books: dict[str, OrderBook]

    def sweep_through(self, contract: str, side: int, price: Decimal) -> None: ...

    def scripted_take(
        self, contract: str, taker_side: int, limit: Decimal | None, qty: int
    ) -> list[MakerFill]: ...

    def flush(self, contract: str) -> None: ...


class ContractScript:
    def __init__(self, exchange: ScriptedVenue, contract: str, seed: int, depth: int) -> None:
        spec = exchange.specs[contract]
        self.exchange = exchange
        self.contract = contract
        self.tick = spec.order_price_round
        self.depth = depth
        self.rng = random.Random(f"{seed}:{contract}")  # str seeds hash deterministically
        self.max_size = 2000
        self.bid = spec.initial_bid
        self.ask = spec.initial_ask
        self.sizes: dict[tuple[int, Decimal], int] = {}
        self.apply()

    def _ladder(self) -> list[tuple[int, Decimal]]:
        out = [(BID, self.bid - i * self.tick) for i in range(self.depth)]
        out += [(ASK, self.ask + i * self.tick) for i in range(self.depth)]
        return [(side, p) for side, p in out if p > 0]

    def apply(self) -> None:
        """Make the crowd's liquidity match the ladder around the scripted bid/ask."""
        ex, book = self.exchange, self.exchange.books[self.contract]
        # Aggressive crowd flow fills our orders the new touch has crossed.
        ex.sweep_through(self.contract, BID, self.ask)
        ex.sweep_through(self.contract, ASK, self.bid)
        wanted = dict.fromkeys(self._ladder())
        for side in (BID, ASK):
            for price in book.scripted_prices(side):
                if (side, price) not in wanted:
                    book.set_scripted(side, price, 0)
                    self.sizes.pop((side, price), None)
        for level in wanted:
            if level not in self.sizes:
                self.sizes[level] = self.rng.randint(1, self.max_size)
            book.set_scripted(level[0], level[1], self.sizes[level])
        ex.flush(self.contract)

    def move_to(self, bid: Decimal, ask: Decimal) -> None:
        if bid >= ask:
            raise ValueError(f"bid {bid} must be below ask {ask}")
        for p in (bid, ask):
            if p % self.tick:
                raise ValueError(f"price {p} is not a multiple of tick {self.tick}")
        self.bid, self.ask = bid, ask
        self.apply()

    def trade(self, side: int, price: Decimal, size: int) -> None:
        """A crowd taker of `side` (+1 buy) up to `price`; consumed crowd levels stay consumed."""
        fills = self.exchange.scripted_take(self.contract, side, price, size)
        for fill in fills:
            if fill.order is None:
                key = (-side, fill.price)
                self.sizes[key] = max(0, self.sizes.get(key, 0) - fill.size)
        self.exchange.flush(self.contract)

    def step(self) -> None:
        r = self.rng.random()
        if r < 0.2:
            shift = self.tick if self.rng.random() < 0.5 else -self.tick
            if self.bid + shift > 0:
                self.bid, self.ask = self.bid + shift, self.ask + shift
                self.apply()
        elif r < 0.45:
            side = 1 if self.rng.random() < 0.5 else -1
            touch = self.ask if side > 0 else self.bid
            self.trade(side, touch, self.rng.randint(1, 50))
        else:
            book = self.exchange.books[self.contract]
            ladder = self._ladder()
            for _ in range(self.rng.randint(1, 3)):
                level = ladder[self.rng.randrange(len(ladder))]
                self.sizes[level] = self.rng.randint(1, self.max_size)
                book.set_scripted(level[0], level[1], self.sizes[level])
            self.exchange.flush(self.contract)


class ScriptedMarket(MarketLoop):
    """All contracts' scripts plus the background task. Methods are safe to call from any thread."""

    def __init__(
        self,
        exchange: ScriptedVenue,
        *,
        seed: int = 0,
        updates_per_s: float = 20.0,
        depth: int = 20,
        default_contract: str = "BTC_USDT",
    ) -> None:
        self.exchange = exchange
        super().__init__(updates_per_s)
        self.default_contract = default_contract
        self.scripts = {c: ContractScript(exchange, c, seed, depth) for c in exchange.specs}
        self.dispatch: Dispatcher = _direct  # the server swaps in a loop-thread dispatcher

    def _script(self, contract: str | None) -> ContractScript:
        return self.scripts[contract or self.default_contract]

    def move_to(
        self, bid: float | str | Decimal, ask: float | str | Decimal, contract: str | None = None
    ) -> None:
        script = self._script(contract)
        self.dispatch(lambda: script.move_to(Decimal(str(bid)), Decimal(str(ask))))

    def trade(
        self, side: str, price: float | str | Decimal, size: int, contract: str | None = None
    ) -> None:
        """Print a crowd trade: `side` is the taker's side, "buy" or "sell"."""
        if side not in ("buy", "sell"):
            raise ValueError(f"side must be 'buy' or 'sell', not {side!r}")
        script = self._script(contract)
        sign = 1 if side == "buy" else -1
        self.dispatch(lambda: script.trade(sign, Decimal(str(price)), int(size)))

    def top(self, contract: str | None = None) -> tuple[Decimal, Decimal]:
        """The scripted best bid/ask (the crowd's touch, ignoring our orders)."""
        script = self._script(contract)
        return script.bid, script.ask
