"""
msgspec structs for the Polymarket CLOB market channel and the REST book (venues.md 2.2, 2.5).

Every number is a decimal string on the wire and stays one here: parsing turns prices and sizes
into nautilus values at the instrument's precision, and the trade id hashes the venue's own text.

A frame holds one message or a JSON array of them, told apart by `event_type`. Event types added
by the venue later (or custom features such as `new_market`) must not break the stream, so
`decode_market_frame` skips messages it does not know instead of failing the whole frame.
"""

from __future__ import annotations

import msgspec


class BookLevel(msgspec.Struct, frozen=True):
    price: str
    size: str


class BookSummary(msgspec.Struct, frozen=True, kw_only=True):
    """`GET /book` body; also the body of the WS `book` message."""

    market: str
    asset_id: str
    timestamp: str  # ms
    bids: list[BookLevel]
    asks: list[BookLevel]
    hash: str = ""
    tick_size: str | None = None
    min_order_size: str | None = None
    neg_risk: bool | None = None
    last_trade_price: str | None = None


class BookMessage(BookSummary, tag="book", tag_field="event_type", frozen=True, kw_only=True):
    """A full book for one token: sent on subscribe and after trades."""


class PriceChange(msgspec.Struct, frozen=True, kw_only=True):
    """One level of one token: `size` is the new aggregate size at `price` (0 = level gone)."""

    asset_id: str
    price: str
    size: str
    side: str  # "BUY" (bid) | "SELL" (ask)
    hash: str = ""
    best_bid: str | None = None
    best_ask: str | None = None


class PriceChangeMessage(msgspec.Struct, tag="price_change", tag_field="event_type", frozen=True):
    """Batched level changes; one message may carry both tokens of a market."""

    market: str
    timestamp: str  # ms
    price_changes: list[PriceChange]


class LastTradePrice(
    msgspec.Struct, tag="last_trade_price", tag_field="event_type", frozen=True, kw_only=True
):
    """A trade (no trade id on the wire); `side` is the taker's."""

    market: str
    asset_id: str
    price: str
    size: str
    side: str
    timestamp: str  # ms
    fee_rate_bps: str = "0"
    transaction_hash: str = ""


class TickSizeChange(msgspec.Struct, tag="tick_size_change", tag_field="event_type", frozen=True):
    market: str
    asset_id: str
    old_tick_size: str
    new_tick_size: str
    timestamp: str  # ms


class BestBidAsk(
    msgspec.Struct, tag="best_bid_ask", tag_field="event_type", frozen=True, kw_only=True
):
    """Top-of-book prices (custom feature `custom_feature_enabled`); carries no sizes."""

    market: str
    asset_id: str
    best_bid: str
    best_ask: str
    timestamp: str  # ms
    spread: str = ""


MarketMessage = BookMessage | PriceChangeMessage | LastTradePrice | TickSizeChange | BestBidAsk

_decode_known = msgspec.json.Decoder(MarketMessage | list[MarketMessage]).decode
_decode_one = msgspec.json.Decoder(MarketMessage).decode
_decode_parts = msgspec.json.Decoder(list[msgspec.Raw]).decode
_decode_event_type = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode
decode_book_summary = msgspec.json.Decoder(BookSummary).decode

_KNOWN_EVENT_TYPES = frozenset(
    (b'"book"', b'"price_change"', b'"last_trade_price"', b'"tick_size_change"', b'"best_bid_ask"')
)


class UnknownMessage(msgspec.Struct, frozen=True):
    """A message of an event type we do not handle (kept so callers can count it)."""

    event_type: str


def decode_market_frame(raw: bytes) -> list[MarketMessage | UnknownMessage]:
    """
    A market-channel frame -> its messages, in order.

    The fast path decodes straight into the tagged union; only a frame containing an unknown
    event type is taken apart message by message. A malformed known message still raises
    `msgspec.ValidationError` naming the field.
    """
    try:
        decoded = _decode_known(raw)
    except msgspec.ValidationError:
        return [_decode_tolerant(part) for part in _parts(raw)]
    return decoded if isinstance(decoded, list) else [decoded]


def _parts(raw: bytes) -> list[msgspec.Raw]:
    if raw.lstrip()[:1] == b"[":
        return _decode_parts(raw)
    return [msgspec.Raw(raw)]


def _decode_tolerant(part: msgspec.Raw) -> MarketMessage | UnknownMessage:
    event_type = _decode_event_type(part).get("event_type")
    if event_type is None or bytes(event_type) not in _KNOWN_EVENT_TYPES:
        name = msgspec.json.decode(event_type) if event_type is not None else ""
        return UnknownMessage(str(name))
    return _decode_one(part)
