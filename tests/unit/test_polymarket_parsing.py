"""Polymarket market-channel decoding and parsing: venues.md 2.5 shapes and real captures."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import BinaryOption

from adapters.polymarket.parsing import market_info
from adapters.polymarket.parsing import millis_to_ns
from adapters.polymarket.parsing import parse_binary_options
from adapters.polymarket.parsing import parse_book_snapshot
from adapters.polymarket.parsing import parse_price_changes
from adapters.polymarket.parsing import parse_trade
from adapters.polymarket.parsing import quote_from_book
from adapters.polymarket.parsing import split_instrument_id
from adapters.polymarket.parsing import tick_size_differs
from adapters.polymarket.parsing import token_instrument_id
from adapters.polymarket.parsing import top_agrees_with_venue
from adapters.polymarket.parsing import trade_id
from adapters.polymarket.parsing import with_tick_size
from adapters.polymarket.schemas import BookLevel
from adapters.polymarket.schemas import BookMessage
from adapters.polymarket.schemas import BookSummary
from adapters.polymarket.schemas import LastTradePrice
from adapters.polymarket.schemas import PriceChangeMessage
from adapters.polymarket.schemas import TickSizeChange
from adapters.polymarket.schemas import UnknownMessage
from adapters.polymarket.schemas import decode_book_summary
from adapters.polymarket.schemas import decode_market_frame
from tests.conftest import shared_data

pytestmark = pytest.mark.polymarket

TS = 1_770_000_000_000_000_000
MARKET = "0xbd31dc8a20211944f6b70f31557f1001557b59905b7738480ca09bd4532f84af"
YES = "65818619657568813474341868652308942079804919287380422192892211131408793125422"
NO = "52114319501245915516055106046884209969926127482827954674443846427813813222426"

# venues.md 2.5, as the docs print them (".48" prices; asks ascending in this example).
DOC_BOOK = (
    b'{"event_type":"book","asset_id":"' + YES.encode() + b'","market":"' + MARKET.encode() + b'",'
    b'"timestamp":"123456789000","hash":"0x0",'
    b'"bids":[{"price":".48","size":"30"},{"price":".49","size":"20"},{"price":".50","size":"15"}],'
    b'"asks":[{"price":".52","size":"25"},{"price":".53","size":"60"},{"price":".54","size":"10"}]}'
)
DOC_PRICE_CHANGE = (
    b'{"event_type":"price_change","market":"' + MARKET.encode() + b'","timestamp":"1757908892351",'
    b'"price_changes":['
    b'{"asset_id":"' + YES.encode() + b'","price":"0.5","size":"200","side":"BUY",'
    b'"hash":"56621a12","best_bid":"0.5","best_ask":"1"},'
    b'{"asset_id":"' + NO.encode() + b'","price":"0.5","size":"200","side":"SELL",'
    b'"hash":"1","best_bid":"0","best_ask":"0.5"}]}'
)
DOC_TRADE = (
    b'{"event_type":"last_trade_price","asset_id":"'
    + YES.encode()
    + b'","market":"'
    + MARKET.encode()
    + b'","price":"0.456","side":"BUY","size":"219.217767","fee_rate_bps":"0",'
    b'"timestamp":"1750428146322"}'
)
DOC_TICK_CHANGE = (
    b'{"event_type":"tick_size_change","asset_id":"'
    + YES.encode()
    + b'","market":"'
    + MARKET.encode()
    + b'","old_tick_size":"0.01","new_tick_size":"0.001","timestamp":"100000000"}'
)


def _clob_market(condition_id: str, tokens: list[str], tick: str = "0.01") -> dict:
    return {
        "condition_id": condition_id,
        "question": "Will it?",
        "minimum_tick_size": tick,
        "minimum_order_size": "5",
        "end_date_iso": "2026-12-31T00:00:00Z",
        "neg_risk": False,
        "rewards": {"rates": None, "min_size": 10, "max_spread": 0.05},
        "tokens": [
            {"token_id": token, "outcome": outcome}
            for token, outcome in zip(tokens, ("Yes", "No"), strict=False)
        ],
    }


def _instrument(tick: str = "0.01", token: str = YES, market: str = MARKET) -> BinaryOption:
    return parse_binary_options(_clob_market(market, [token], tick), TS)[0]


def _book(instrument: BinaryOption, deltas) -> OrderBook:
    book = OrderBook(instrument.id, BookType.L2_MBP)
    book.apply_deltas(deltas)
    return book


# -- frames --------------------------------------------------------------------------------------


def test_a_frame_is_one_message_or_an_array_of_them() -> None:
    (single,) = decode_market_frame(DOC_TRADE)
    assert isinstance(single, LastTradePrice)
    many = decode_market_frame(b"[" + DOC_BOOK + b"," + DOC_PRICE_CHANGE + b"]")
    assert [type(m) for m in many] == [BookMessage, PriceChangeMessage]


def test_unknown_event_types_are_skipped_not_fatal() -> None:
    frame = b'[{"event_type":"market_resolved","winning_asset_id":"1"},' + DOC_TICK_CHANGE + b"]"
    unknown, change = decode_market_frame(frame)
    assert unknown == UnknownMessage("market_resolved")
    assert isinstance(change, TickSizeChange) and change.new_tick_size == "0.001"


def test_a_malformed_known_message_names_the_field() -> None:
    broken = DOC_TRADE.replace(b'"price":"0.456",', b"")
    with pytest.raises(msgspec.ValidationError, match="price"):
        decode_market_frame(broken)


# -- book ----------------------------------------------------------------------------------------


def test_book_is_a_flagged_snapshot() -> None:
    instrument = _instrument()
    (message,) = decode_market_frame(DOC_BOOK)
    deltas = parse_book_snapshot(instrument, message, TS)
    first, *adds = deltas.deltas
    assert first.action == BookAction.CLEAR
    assert [d.action for d in adds] == [BookAction.ADD] * 6
    assert all(d.flags & RecordFlag.F_SNAPSHOT for d in deltas.deltas)
    assert [bool(d.flags & RecordFlag.F_LAST) for d in deltas.deltas] == [False] * 6 + [True]
    assert all(d.ts_event == 123456789000 * 1_000_000 and d.ts_init == TS for d in deltas.deltas)
    book = _book(instrument, deltas)
    # Ordering on the wire does not matter: the docs list asks ascending, the venue descending.
    assert str(book.best_bid_price()) == "0.50" and book.best_bid_size().as_double() == 15
    assert str(book.best_ask_price()) == "0.52" and book.best_ask_size().as_double() == 25


def test_an_empty_book_clears_the_local_book() -> None:
    instrument = _instrument()
    book = _book(instrument, parse_book_snapshot(instrument, decode_market_frame(DOC_BOOK)[0], TS))
    empty = BookSummary(market=MARKET, asset_id=YES, timestamp="1", bids=[], asks=[])
    (clear,) = parse_book_snapshot(instrument, empty, TS).deltas
    assert clear.action == BookAction.CLEAR
    assert clear.flags == RecordFlag.F_SNAPSHOT | RecordFlag.F_LAST
    book.apply_deltas(parse_book_snapshot(instrument, empty, TS))
    assert book.best_bid_price() is None and book.best_ask_price() is None


def test_rest_book_decodes_into_the_same_shape() -> None:
    # venues.md 2.2 `GET /book` body.
    body = (
        b'{"market":"0x42d4","asset_id":"5347","timestamp":"1777541385018",'
        b'"hash":"bfb61f58","bids":[{"price":"0.001","size":"3147.19"},'
        b'{"price":"0.002","size":"1432.11"}],"asks":[{"price":"0.999","size":"73.68"},'
        b'{"price":"0.998","size":"7"}],"min_order_size":"5","tick_size":"0.001",'
        b'"neg_risk":false,"last_trade_price":"0.002"}'
    )
    summary = decode_book_summary(body)
    instrument = _instrument("0.001", "5347", "0x42d4")
    book = _book(instrument, parse_book_snapshot(instrument, summary, TS))
    assert str(book.best_bid_price()) == "0.002" and str(book.best_ask_price()) == "0.998"
    assert summary.tick_size == "0.001" and summary.neg_risk is False


def _captured(name: str) -> list:
    path: Path = shared_data("polymarket_ws", name)
    return [m for line in path.read_bytes().splitlines() for m in decode_market_frame(line)]


def test_captured_books_replay_into_valid_uncrossed_books() -> None:
    books = _captured("polymarket_book.jsonl")
    assert books and all(isinstance(m, BookMessage) for m in books)
    for message in books:
        instrument = _instrument(message.tick_size, message.asset_id, message.market)
        deltas = parse_book_snapshot(instrument, message, TS)
        live = [lvl for lvl in message.bids + message.asks if Decimal(lvl.size) > 0]
        assert len(deltas.deltas) == len(live) + 1
        book = _book(instrument, deltas)
        book.check_integrity()
        bid, ask = book.best_bid_price(), book.best_ask_price()
        # The venue lists bids ascending and asks descending: the best level comes last.
        assert (bid is None) == (not message.bids) and (ask is None) == (not message.asks)
        if message.bids:
            assert bid.as_decimal() == Decimal(message.bids[-1].price)
            assert bid.as_decimal() == max(Decimal(lvl.price) for lvl in message.bids)
        if message.asks:
            assert ask.as_decimal() == Decimal(message.asks[-1].price)
        if bid is not None and ask is not None:
            assert bid < ask
            quote = quote_from_book(instrument, book, deltas.ts_event, TS)
            assert (quote.bid_price, quote.ask_price) == (bid, ask)
        # Every level sits on the instrument's tick grid.
        tick = instrument.price_increment.as_decimal()
        assert all(Decimal(lvl.price) % tick == 0 for lvl in message.bids + message.asks)


def test_captured_trades_parse_with_unique_deterministic_ids() -> None:
    trades = _captured("polymarket_trade.jsonl")
    assert trades and all(isinstance(m, LastTradePrice) for m in trades)
    ticks = []
    for message in trades:
        instrument = _instrument("0.01", message.asset_id, message.market)
        tick = parse_trade(instrument, message, TS)
        assert tick.instrument_id == token_instrument_id(message.market, message.asset_id)
        assert tick.price.as_decimal() == Decimal(message.price)
        assert tick.size.as_decimal() == Decimal(message.size)
        expected = AggressorSide.BUYER if message.side == "BUY" else AggressorSide.SELLER
        assert tick.aggressor_side == expected
        assert tick.ts_event == int(message.timestamp) * 1_000_000
        assert tick.trade_id == parse_trade(instrument, message, TS + 1).trade_id
        ticks.append(tick)
    assert len({t.trade_id for t in ticks}) == len(ticks)


# -- price changes and trades --------------------------------------------------------------------


def test_batched_price_change_maps_to_updates_and_deletes_per_token() -> None:
    (message,) = decode_market_frame(DOC_PRICE_CHANGE)
    assert [c.asset_id for c in message.price_changes] == [YES, NO]
    yes = _instrument()
    changes = [
        message.price_changes[0],
        msgspec.structs.replace(message.price_changes[0], price="0.49", size="0"),
    ]
    deltas = parse_price_changes(yes, changes, millis_to_ns(message.timestamp), TS)
    update, delete = deltas.deltas
    assert update.action == BookAction.UPDATE and update.order.size.as_double() == 200
    assert str(update.order.price) == "0.50"
    assert delete.action == BookAction.DELETE and str(delete.order.price) == "0.49"
    assert (update.flags, delete.flags) == (0, RecordFlag.F_LAST)
    assert update.ts_event == 1757908892351 * 1_000_000


def test_price_change_on_a_book_moves_the_top() -> None:
    instrument = _instrument()
    book = _book(instrument, parse_book_snapshot(instrument, decode_market_frame(DOC_BOOK)[0], TS))
    (message,) = decode_market_frame(DOC_PRICE_CHANGE)
    change = message.price_changes[0]
    book.apply_deltas(parse_price_changes(instrument, [change], TS, TS))
    assert str(book.best_bid_price()) == "0.50" and book.best_bid_size().as_double() == 200
    gone = msgspec.structs.replace(change, size="0")
    book.apply_deltas(parse_price_changes(instrument, [gone], TS, TS))
    assert str(book.best_bid_price()) == "0.49"


def test_trade_ids_separate_fields() -> None:
    (trade,) = decode_market_frame(DOC_TRADE)
    shifted = msgspec.structs.replace(trade, price="0.45", size="6219.217767")
    assert trade_id(trade) != trade_id(shifted)
    assert trade_id(trade) == trade_id(msgspec.structs.replace(trade, market="0xother"))
    assert trade_id(trade) != trade_id(msgspec.structs.replace(trade, transaction_hash="0x1"))
    assert len(trade_id(trade).value) == 32


# -- tick size -----------------------------------------------------------------------------------


def test_tick_size_change_updates_the_instrument_and_keeps_the_rest() -> None:
    instrument = _instrument("0.01")
    (change,) = decode_market_frame(DOC_TICK_CHANGE)
    assert tick_size_differs(instrument, change.new_tick_size)
    assert not tick_size_differs(instrument, change.old_tick_size)
    assert not tick_size_differs(instrument, None)
    updated = with_tick_size(instrument, change.new_tick_size, TS + 5)
    assert updated.id == instrument.id
    assert updated.price_increment.as_decimal() == Decimal("0.001")
    assert updated.price_precision == 3
    assert updated.min_quantity == instrument.min_quantity
    assert updated.expiration_ns == instrument.expiration_ns
    assert (updated.outcome, updated.taker_fee) == (instrument.outcome, instrument.taker_fee)
    assert updated.info["minimum_tick_size"] == "0.001"
    assert instrument.info["minimum_tick_size"] == "0.01"  # the old one is untouched
    assert updated.ts_event == updated.ts_init == TS + 5


def test_a_finer_tick_book_replaces_a_coarser_one() -> None:
    coarse = _instrument("0.01")
    book = _book(coarse, parse_book_snapshot(coarse, decode_market_frame(DOC_BOOK)[0], TS))
    fine = with_tick_size(coarse, "0.001", TS)
    snapshot = BookSummary(
        market=MARKET,
        asset_id=YES,
        timestamp="2",
        bids=[BookLevel(price="0.501", size="7")],
        asks=[],
    )
    book.apply_deltas(parse_book_snapshot(fine, snapshot, TS))
    assert str(book.best_bid_price()) == "0.501" and book.best_ask_price() is None


# -- quotes and the venue's stated top -----------------------------------------------------------


def test_quote_needs_two_uncrossed_sides() -> None:
    instrument = _instrument()
    (message,) = decode_market_frame(DOC_BOOK)
    one_sided = msgspec.structs.replace(message, asks=[])
    book = _book(instrument, parse_book_snapshot(instrument, one_sided, TS))
    assert quote_from_book(instrument, book, TS, TS) is None
    book = _book(instrument, parse_book_snapshot(instrument, message, TS))
    quote = quote_from_book(instrument, book, 7, TS)
    assert (str(quote.bid_price), str(quote.ask_price)) == ("0.50", "0.52")
    assert (quote.bid_size.as_double(), quote.ask_size.as_double()) == (15, 25)
    assert quote.ts_event == 7


def test_venue_top_check() -> None:
    instrument = _instrument()
    (message,) = decode_market_frame(DOC_BOOK)
    book = _book(instrument, parse_book_snapshot(instrument, message, TS))
    (change, _) = decode_market_frame(DOC_PRICE_CHANGE)[0].price_changes
    agrees = msgspec.structs.replace(change, best_bid="0.5", best_ask="0.52")
    assert top_agrees_with_venue(book, agrees, 2)
    assert not top_agrees_with_venue(book, msgspec.structs.replace(agrees, best_bid="0.49"), 2)
    assert not top_agrees_with_venue(book, msgspec.structs.replace(agrees, best_ask="1"), 2)
    assert top_agrees_with_venue(book, msgspec.structs.replace(agrees, best_bid=None), 2)
    # The venue writes an empty bid side as "0" and an empty ask side as "1".
    empty = _book(
        instrument,
        parse_book_snapshot(instrument, msgspec.structs.replace(message, bids=[], asks=[]), TS),
    )
    assert top_agrees_with_venue(
        empty, msgspec.structs.replace(change, best_bid="0", best_ask="1"), 2
    )
    assert not top_agrees_with_venue(empty, agrees, 2)


# -- instruments and ids -------------------------------------------------------------------------


def test_gamma_completes_the_clob_market() -> None:
    clob = _clob_market(MARKET, [YES, NO])
    gamma = {
        "conditionId": MARKET,
        "slug": "will-it",
        "feeSchedule": {"rate": 0.03},
        "rewardsMinSize": 100,
        "rewardsMaxSpread": "3.5",
        "endDate": "2027-01-01T00:00:00Z",
    }
    info = market_info(clob, gamma)
    assert (info["rewardsMinSize"], info["rewardsMaxSpread"]) == ("100", "3.5")
    assert info["market_slug"] == "will-it"
    assert info["end_date_iso"] == "2026-12-31T00:00:00Z"  # the CLOB's own wins
    yes, no = parse_binary_options(info, TS)
    assert yes.taker_fee == no.taker_fee == Decimal("0.03") and yes.maker_fee == 0
    assert yes.info["neg_risk"] is False and yes.min_quantity.as_double() == 5
    # Without Gamma: the CLOB's reward block, no fee schedule.
    info = market_info(clob, None)
    assert (info["rewardsMinSize"], info["rewardsMaxSpread"]) == ("10", "0.05")
    assert parse_binary_options(info, TS)[0].taker_fee == 0
    info = market_info({**clob, "end_date_iso": None}, gamma)
    assert info["end_date_iso"] == "2027-01-01T00:00:00Z"


def test_instrument_id_round_trip() -> None:
    instrument_id = token_instrument_id(MARKET, YES)
    assert split_instrument_id(instrument_id) == (MARKET, YES)
    with pytest.raises(ValueError, match="condition_id"):
        split_instrument_id(InstrumentId.from_str("BTC_USDT.POLYMARKET"))


def test_millis() -> None:
    assert millis_to_ns("1770921570954") == 1_770_921_570_954_000_000
    assert millis_to_ns("1770921570954.5") == 1_770_921_570_954_500_000
