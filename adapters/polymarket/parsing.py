"""Polymarket CLOB wire data -> nautilus objects (pure functions, no I/O).

Mirrors nautilus' `adapters.polymarket.common.parsing.parse_polymarket_instrument`, which we may
not import: that package's `__init__` pulls in `py-clob-client-v2`, only a test oracle here.

Differences from nautilus' parser, on purpose:
- `min_quantity` is the market's `minimum_order_size` (shares). nautilus leaves it unset because
  market orders have a separate $1 minimum; a market maker sends limit orders, where the venue
  enforces `minimum_order_size`, so the risk engine should know it.
- A missing `end_date_iso` expires 10 years after `ts_init` (not after "now"): parsing stays pure.
- A tick-size change keeps `min_quantity` (nautilus' `update_instrument` drops it).

Market data: WS `book` -> a snapshot (CLEAR + ADDs, all F_SNAPSHOT, F_LAST on the last),
`price_change` -> L2 updates/deletes (sizes are absolute), `last_trade_price` -> TradeTick with
an id hashed from its fields (the venue sends none), the local book's top -> QuoteTick.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pandas as pd
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.currencies import pUSD
from nautilus_trader.model.data import BookOrder
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import AssetClass
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import Symbol
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.instruments import BinaryOption
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

from adapters.polymarket.schemas import BookLevel
from adapters.polymarket.schemas import BookSummary
from adapters.polymarket.schemas import LastTradePrice
from adapters.polymarket.schemas import PriceChange

POLYMARKET_VENUE = Venue("POLYMARKET")

# Venue trades and balances are reported in 6-dp collateral units (as nautilus' parser assumes).
SIZE_INCREMENT = Quantity.from_str("0.000001")
_TEN_YEARS_NS = 10 * 365 * 24 * 3600 * 1_000_000_000
# Plain ints: combining RecordFlag members per delta costs more than building the delta.
_LAST = int(RecordFlag.F_LAST)
_SNAPSHOT = int(RecordFlag.F_SNAPSHOT)
_SNAPSHOT_LAST = int(RecordFlag.F_SNAPSHOT | RecordFlag.F_LAST)


def token_instrument_id(condition_id: str, token_id: str) -> InstrumentId:
    """`{condition_id}-{token_id}.POLYMARKET` (the same id in the catalog and live)."""
    return InstrumentId(Symbol(f"{condition_id}-{token_id}"), POLYMARKET_VENUE)


def taker_fee_rate(market: dict[str, Any]) -> Decimal:
    """The effective taker fee rate: our `fee_rate`, else Gamma's `feeSchedule.rate`, else 0.

    CLOB `maker_base_fee`/`taker_base_fee` are signing caps, not the rate charged: ignored.
    """
    rate = market.get("fee_rate")
    if rate is None:
        schedule = market.get("feeSchedule") or {}
        rate = schedule.get("rate")
    return Decimal(str(rate)) if rate is not None else Decimal(0)


def parse_binary_options(market: dict[str, Any], ts_init: int) -> list[BinaryOption]:
    """A CLOB `GET /markets/{condition_id}` body -> one `BinaryOption` per outcome token."""
    condition_id = str(market["condition_id"])
    price_increment = Price.from_str(_decimal_text(market["minimum_tick_size"]))
    min_size = market.get("minimum_order_size")
    min_quantity = (
        Quantity(Decimal(str(min_size)), SIZE_INCREMENT.precision) if min_size is not None else None
    )
    expiration_ns = _expiration_ns(market.get("end_date_iso"), ts_init)
    description = market.get("question") or None
    taker_fee = taker_fee_rate(market)

    instruments = []
    for token in market["tokens"]:
        token_id = str(token.get("token_id") or "")
        if not token_id:
            continue  # markets being set up list placeholder tokens without ids
        instruments.append(
            BinaryOption(
                instrument_id=token_instrument_id(condition_id, token_id),
                raw_symbol=Symbol(token_id),
                asset_class=AssetClass.ALTERNATIVE,
                currency=pUSD,
                price_precision=price_increment.precision,
                size_precision=SIZE_INCREMENT.precision,
                price_increment=price_increment,
                size_increment=SIZE_INCREMENT,
                activation_ns=0,
                expiration_ns=expiration_ns,
                min_quantity=min_quantity,
                maker_fee=Decimal(0),
                taker_fee=taker_fee,
                outcome=str(token.get("outcome")) if token.get("outcome") else None,
                description=description,
                ts_event=ts_init,
                ts_init=ts_init,
                info=dict(market),
            )
        )
    return instruments


def _expiration_ns(end_date_iso: str | None, ts_init: int) -> int:
    if not end_date_iso:
        return ts_init + _TEN_YEARS_NS
    stamp = pd.Timestamp(end_date_iso)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return int(stamp.value)


def split_instrument_id(instrument_id: InstrumentId) -> tuple[str, str]:
    """`{condition_id}-{token_id}.POLYMARKET` -> (condition_id, token_id)."""
    condition_id, dash, token_id = instrument_id.symbol.value.partition("-")
    if not dash or not condition_id or not token_id:
        raise ValueError(
            f"not a Polymarket instrument id: {instrument_id} "
            "(expected {condition_id}-{token_id}.POLYMARKET)"
        )
    return condition_id, token_id


def market_info(clob_market: Mapping[str, Any], gamma_market: Mapping[str, Any] | None) -> dict:
    """
    A CLOB `/markets/{condition_id}` body completed with Gamma's fields: the taker fee schedule
    (`feeSchedule`, absent from the CLOB body), the slug, and the liquidity-reward parameters as
    `rewardsMinSize` (shares) / `rewardsMaxSpread` (cents, as the venue states them) for the
    strategy. The CLOB values win where both exist: they are what the matching engine enforces.
    """
    info = dict(clob_market)
    gamma = gamma_market or {}
    if gamma.get("feeSchedule") is not None:
        info["feeSchedule"] = gamma["feeSchedule"]
    if not info.get("end_date_iso") and gamma.get("endDate"):
        info["end_date_iso"] = gamma["endDate"]  # full timestamp; `endDateIso` is a date only
    if not info.get("market_slug") and gamma.get("slug"):
        info["market_slug"] = gamma["slug"]
    rewards = clob_market.get("rewards") or {}
    for key, gamma_key, clob_key in (
        ("rewardsMinSize", "rewardsMinSize", "min_size"),
        ("rewardsMaxSpread", "rewardsMaxSpread", "max_spread"),
    ):
        value = gamma.get(gamma_key)
        if value is None:
            value = rewards.get(clob_key)
        info[key] = _decimal_text(value) if value is not None else None
    return info


def with_tick_size(instrument: BinaryOption, tick_size: str, ts_init: int) -> BinaryOption:
    """The same instrument with a new price increment (WS `tick_size_change`, or a book's)."""
    price_increment = Price.from_str(_decimal_text(tick_size))
    info = dict(instrument.info or {})
    info["minimum_tick_size"] = _decimal_text(tick_size)
    return BinaryOption(
        instrument_id=instrument.id,
        raw_symbol=instrument.raw_symbol,
        asset_class=instrument.asset_class,
        currency=instrument.quote_currency,
        price_precision=price_increment.precision,
        size_precision=instrument.size_precision,
        price_increment=price_increment,
        size_increment=instrument.size_increment,
        activation_ns=instrument.activation_ns,
        expiration_ns=instrument.expiration_ns,
        max_quantity=instrument.max_quantity,
        min_quantity=instrument.min_quantity,
        maker_fee=instrument.maker_fee,
        taker_fee=instrument.taker_fee,
        outcome=instrument.outcome,
        description=instrument.description,
        ts_event=ts_init,
        ts_init=ts_init,
        info=info,
    )


def tick_size_differs(instrument: BinaryOption, tick_size: str | None) -> bool:
    """Whether the venue states a tick size other than the instrument's (None: not stated)."""
    if not tick_size:
        return False
    return Decimal(tick_size) != instrument.price_increment.as_decimal()


def millis_to_ns(value: str) -> int:
    """A venue timestamp (integer milliseconds as text) -> UNIX ns."""
    try:
        return int(value) * 1_000_000
    except ValueError:
        return int(Decimal(value) * 1_000_000)


def parse_book_snapshot(
    instrument: BinaryOption, book: BookSummary, ts_init: int
) -> OrderBookDeltas:
    """
    A WS `book` (or REST `/book`) -> CLEAR + one ADD per level, all F_SNAPSHOT, F_LAST on the
    last. The venue lists bids ascending and asks descending; an L2 snapshot does not care.

    An empty book is a CLEAR alone: near resolution both sides can be empty, and the local book
    must then be empty too, not left as it was.
    """
    ts_event = millis_to_ns(book.timestamp)
    instrument_id = instrument.id
    orders = [
        order
        for side, levels in ((OrderSide.BUY, book.bids), (OrderSide.SELL, book.asks))
        for order in (_book_order(instrument, side, level) for level in levels)
        if order is not None  # a snapshot lists live levels; a 0 would be an empty level
    ]
    clear_flags = _SNAPSHOT_LAST if not orders else _SNAPSHOT
    deltas = [
        OrderBookDelta(instrument_id, BookAction.CLEAR, None, clear_flags, 0, ts_event, ts_init)
    ]
    add = BookAction.ADD
    deltas.extend(
        OrderBookDelta(instrument_id, add, order, _SNAPSHOT, 0, ts_event, ts_init)
        for order in orders[:-1]
    )
    if orders:
        deltas.append(
            OrderBookDelta(instrument_id, add, orders[-1], _SNAPSHOT_LAST, 0, ts_event, ts_init)
        )
    return OrderBookDeltas(instrument_id, deltas)


def parse_price_changes(
    instrument: BinaryOption, changes: Sequence[PriceChange], ts_event: int, ts_init: int
) -> OrderBookDeltas:
    """
    The `price_change` entries of one token -> L2 deltas, F_LAST on the last.

    `size` is the level's new aggregate size: 0 deletes the level, anything else is an UPDATE
    (an upsert in nautilus' L2_MBP book).
    """
    instrument_id = instrument.id
    price_precision = instrument.price_precision
    size_precision = instrument.size_precision
    deltas = []
    last = len(changes) - 1
    for index, change in enumerate(changes):
        size = float(change.size)
        order = BookOrder(
            OrderSide.BUY if change.side == "BUY" else OrderSide.SELL,
            Price(float(change.price), price_precision),
            Quantity(size, size_precision),
            0,
        )
        action = BookAction.UPDATE if size > 0 else BookAction.DELETE
        flags = _LAST if index == last else 0
        deltas.append(OrderBookDelta(instrument_id, action, order, flags, 0, ts_event, ts_init))
    return OrderBookDeltas(instrument_id, deltas)


def trade_id(trade: LastTradePrice) -> TradeId:
    """
    A deterministic id for a `last_trade_price` (the venue sends none): a hash of the venue's own
    text of the fields that identify the trade, separated so "0.1"+"23" never equals "0.12"+"3".
    The same message always maps to the same id, so a replay or a duplicate can be recognised.
    """
    fields = (
        trade.asset_id,
        trade.side,
        trade.price,
        trade.size,
        trade.timestamp,
        trade.transaction_hash,
    )
    digest = hashlib.blake2b("\x1f".join(fields).encode(), digest_size=16).hexdigest()
    return TradeId(digest)


def parse_trade(instrument: BinaryOption, trade: LastTradePrice, ts_init: int) -> TradeTick:
    """A `last_trade_price` -> TradeTick; the aggressor is the taker's `side`."""
    return TradeTick(
        instrument.id,
        Price(float(trade.price), instrument.price_precision),
        Quantity(float(trade.size), instrument.size_precision),
        AggressorSide.BUYER if trade.side == "BUY" else AggressorSide.SELLER,
        trade_id(trade),
        millis_to_ns(trade.timestamp),
        ts_init,
    )


def quote_from_book(
    instrument: BinaryOption, book: OrderBook, ts_event: int, ts_init: int
) -> QuoteTick | None:
    """
    The best bid and ask of a local L2 book -> QuoteTick, or None when a side is empty or the
    book is crossed (neither is a quote a strategy should act on).
    """
    bid = book.best_bid_price()
    ask = book.best_ask_price()
    if bid is None or ask is None or bid >= ask:
        return None
    return QuoteTick(
        instrument.id,
        bid,
        ask,
        book.best_bid_size(),
        book.best_ask_size(),
        ts_event,
        ts_init,
    )


def top_agrees_with_venue(book: OrderBook, change: PriceChange, price_precision: int) -> bool:
    """
    Whether the local book's best bid and ask are those the venue stated with `change`.

    Polymarket has no sequence numbers, so this is the only way to notice a lost message. The
    venue writes an empty bid side as best bid "0" and an empty ask side as best ask "1"; a value
    it leaves out (or empty) is not checked.
    """
    half_tick = 0.5 * 10.0**-price_precision
    return _side_agrees(book.best_bid_price(), change.best_bid, 0.0, half_tick) and _side_agrees(
        book.best_ask_price(), change.best_ask, 1.0, half_tick
    )


def _side_agrees(local: Price | None, venue: str | None, empty: float, half_tick: float) -> bool:
    if not venue:
        return True
    stated = float(venue)
    if local is None:
        return abs(stated - empty) < half_tick
    return abs(local.as_double() - stated) < half_tick


def _book_order(instrument: BinaryOption, side: OrderSide, level: BookLevel) -> BookOrder | None:
    size = float(level.size)
    if size <= 0:
        return None
    return BookOrder(
        side,
        Price(float(level.price), instrument.price_precision),
        Quantity(size, instrument.size_precision),
        0,
    )


def _decimal_text(value: Any) -> str:
    """A venue number (text or number) as plain decimal text: 1E-3 -> "0.001"."""
    return format(Decimal(str(value)), "f")
