"""The venue's spot market: one scripted public book and tape per currency pair.

There are no spot accounts or orders (the simulator trades perpetuals); the books exist so that
clients sync spot market data against them exactly as against the futures books: the same
one-id-per-level-change book ids behind `U`/`u` on `spot.order_book_update` and `id` on
`GET /spot/order_book?with_id=true`, with spot's shapes (venues.md 1.6): `[price, amount]` string
levels, times in ms, one trade per `spot.trades` message with a `side`.

Book sizes are whole amount steps (`10^-amount_precision` of the base currency), so the shared
`OrderBook` and the scripted market work on integers as for contracts; JSON shows base amounts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tests.venues.gate.book import ASK
from tests.venues.gate.book import BID
from tests.venues.gate.book import BookDelta
from tests.venues.gate.book import MakerFill
from tests.venues.gate.book import OrderBook
from tests.venues.gate.contracts import fmt
from tests.venues.gate.events import Event
from tests.venues.gate.events import EventSink

BOOK_UPDATE = "spot.order_book_update"
BOOK_TICKER = "spot.book_ticker"
TRADES = "spot.trades"


@dataclass(frozen=True)
class SpotPairSpec:
    name: str
    precision: int  # price decimals
    amount_precision: int  # base amount decimals
    initial_bid: Decimal
    initial_ask: Decimal
    fee: str = "0.2"  # percent
    min_base_amount: str = "0.00001"
    min_quote_amount: str = "3"
    max_quote_amount: str = "5000000"

    @property
    def order_price_round(self) -> Decimal:
        """The price tick (the scripted market steps by it)."""
        return Decimal(1).scaleb(-self.precision)

    def amount(self, steps: int) -> str:
        return fmt(Decimal(steps).scaleb(-self.amount_precision))


# Spot trades a little apart from the perpetual (a basis), so a client that mixed up the two
# books would show it.
DEFAULT_PAIRS: dict[str, SpotPairSpec] = {
    "BTC_USDT": SpotPairSpec(
        "BTC_USDT", 1, 5, initial_bid=Decimal("26690.0"), initial_ask=Decimal("26690.1")
    ),
    "ETH_USDT": SpotPairSpec(
        "ETH_USDT", 2, 5, initial_bid=Decimal("1814.52"), initial_ask=Decimal("1814.53")
    ),
}


class SpotExchange:
    """Spot books and tapes; the scripted market drives it through the same hooks as `Exchange`."""

    def __init__(
        self,
        specs: dict[str, SpotPairSpec],
        sink: EventSink,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.specs = specs
        self.sink = sink
        self.clock = clock
        self.books = {
            name: OrderBook(name, 14_286_201_633 + i * 10**9) for i, name in enumerate(specs)
        }
        self._next_trade_id = 9_861_114_302
        self._tops: dict[str, tuple[Any, ...]] = {}

    # ---- scripted market hooks -----------------------------------------------------------
    def sweep_through(self, pair: str, side: int, price: Decimal) -> None:
        """Nothing of ours rests on spot, so a move through a price fills nothing."""

    def scripted_take(
        self, pair: str, taker_side: int, limit: Decimal | None, qty: int
    ) -> list[MakerFill]:
        """A crowd taker consumes the book; each maker match prints one public trade."""
        fills = self.books[pair].take(taker_side, limit, qty)
        for fill in fills:
            self._print(pair, taker_side, fill)
        return fills

    def flush(self, pair: str) -> None:
        """Publish the level changes since the last flush, and the touch if it moved."""
        book = self.books[pair]
        delta = book.flush()
        if delta is None:
            return
        spec = self.specs[pair]
        update = book_update_json(spec, delta)
        self.sink.publish(Event(BOOK_UPDATE, pair, lambda _d: update))
        bid, ask = book.best(BID), book.best(ASK)
        top = (
            bid,
            book.level_size(BID, bid) if bid is not None else 0,
            ask,
            book.level_size(ASK, ask) if ask is not None else 0,
        )
        if top != self._tops.get(pair):
            self._tops[pair] = top
            ticker = book_ticker_json(spec, delta, top)
            self.sink.publish(Event(BOOK_TICKER, pair, lambda _d: ticker))

    def _print(self, pair: str, taker_side: int, fill: MakerFill) -> None:
        self._next_trade_id += 1
        trade = trade_json(
            self.specs[pair], self._next_trade_id, self.clock(), taker_side, fill.price, fill.size
        )
        self.sink.publish(Event(TRADES, pair, lambda _d: trade))

    # ---- REST ----------------------------------------------------------------------------
    def order_book_json(self, pair: str, limit: int, with_id: bool) -> dict[str, Any]:
        """`GET /spot/order_book`: `id` with `with_id=true`, times in ms, `[price, amount]`."""
        spec, book = self.specs[pair], self.books[pair]
        out: dict[str, Any] = {"id": book.id} if with_id else {}
        out.update(
            current=round(time.time() * 1000),
            update=round(book.update_time * 1000),
            asks=_levels(spec, book.depth(ASK, limit)),
            bids=_levels(spec, book.depth(BID, limit)),
        )
        return out


def _levels(spec: SpotPairSpec, rows: list[tuple[Decimal, int]]) -> list[list[str]]:
    return [[fmt(price), spec.amount(size)] for price, size in rows]


def book_update_json(spec: SpotPairSpec, delta: BookDelta) -> dict[str, Any]:
    """A `spot.order_book_update` result: absolute amounts, "0" deletes the level."""
    return {
        "t": delta.t_ms,
        "e": "depthUpdate",
        "E": delta.t_ms // 1000,
        "s": spec.name,
        "U": delta.first_id,
        "u": delta.last_id,
        "b": _levels(spec, delta.bids),
        "a": _levels(spec, delta.asks),
    }


def book_ticker_json(spec: SpotPairSpec, delta: BookDelta, top: tuple[Any, ...]) -> dict[str, Any]:
    """A `spot.book_ticker` result; an empty side is `""` with amount "0", as on Gate."""
    bid, bid_size, ask, ask_size = top
    return {
        "t": delta.t_ms,
        "u": delta.last_id,
        "s": spec.name,
        "b": fmt(bid) if bid is not None else "",
        "B": spec.amount(bid_size),
        "a": fmt(ask) if ask is not None else "",
        "A": spec.amount(ask_size),
    }


def trade_json(
    spec: SpotPairSpec, trade_id: int, at: float, taker_side: int, price: Decimal, size: int
) -> dict[str, Any]:
    """A `spot.trades` result (one object per message; `create_time_ms` is a string)."""
    return {
        "id": trade_id,
        "create_time": int(at),
        "create_time_ms": f"{at * 1000:.1f}",
        "side": "buy" if taker_side > 0 else "sell",
        "currency_pair": spec.name,
        "amount": spec.amount(size),
        "price": fmt(price),
        "range": f"{trade_id}-{trade_id}",
    }


def currency_pair_json(spec: SpotPairSpec) -> dict[str, Any]:
    """One item of `GET /spot/currency_pairs`."""
    base, quote = spec.name.split("_", 1)
    return {
        "id": spec.name,
        "base": base,
        "base_name": base,
        "quote": quote,
        "quote_name": quote,
        "fee": spec.fee,
        "min_base_amount": spec.min_base_amount,
        "min_quote_amount": spec.min_quote_amount,
        "max_quote_amount": spec.max_quote_amount,
        "amount_precision": spec.amount_precision,
        "precision": spec.precision,
        "trade_status": "tradable",
        "sell_start": 0,
        "buy_start": 0,
        "type": "normal",
        "trade_url": "",
    }
