"""Gate.io wire shapes -> nautilus data, reports and ids (sizes in contracts)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume
from hypothesis import given
from hypothesis import strategies as st
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.data import FundingRateUpdate
from nautilus_trader.model.data import MarkPriceUpdate
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import LiquiditySide
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import OrderType
from nautilus_trader.model.enums import PositionSide
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.identifiers import AccountId
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import PositionId
from nautilus_trader.model.instruments import CryptoPerpetual
from nautilus_trader.model.objects import Money
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

from adapters.gate.parsing import TEXT_MAX_LEN
from adapters.gate.parsing import client_order_id_to_text
from adapters.gate.parsing import parse_account_balances
from adapters.gate.parsing import parse_book_snapshot
from adapters.gate.parsing import parse_book_ticker
from adapters.gate.parsing import parse_book_update
from adapters.gate.parsing import parse_fill_report
from adapters.gate.parsing import parse_funding_rate
from adapters.gate.parsing import parse_futures_contract
from adapters.gate.parsing import parse_mark_price
from adapters.gate.parsing import parse_order_status_report
from adapters.gate.parsing import parse_position_status_report
from adapters.gate.parsing import parse_spot_currency_pair
from adapters.gate.parsing import parse_trade
from adapters.gate.parsing import text_to_client_order_id
from adapters.gate.parsing import time_to_ns
from catalog.sample import GATE_BTC_USDT_CONTRACT
from tests.conftest import shared_data

pytestmark = pytest.mark.gate

TS = 1_767_571_200_000_000_000  # 2026-01-05T00:00:00Z
ACCOUNT = AccountId("GATE-001")
F_LAST = int(RecordFlag.F_LAST)
F_SNAPSHOT = int(RecordFlag.F_SNAPSHOT)


def contract(**overrides: Any) -> dict[str, Any]:
    return {**GATE_BTC_USDT_CONTRACT, **overrides}


@pytest.fixture(scope="module")
def btc() -> CryptoPerpetual:
    return parse_futures_contract(contract(order_price_round="0.1"), TS)


@pytest.fixture(scope="module")
def ltc() -> CryptoPerpetual:
    # The ccxt captures trade LTC_USDT (tick 0.01, 0.1 LTC per contract).
    return parse_futures_contract(
        contract(name="LTC_USDT", order_price_round="0.01", quanto_multiplier="0.1"), TS
    )


@pytest.fixture(scope="module")
def decimal_contract() -> CryptoPerpetual:
    return parse_futures_contract(
        contract(name="ETH_USDT", enable_decimal=True, order_size_min="0.1"), TS
    )


def ccxt_shape(name: str) -> Any:
    return json.loads(shared_data("api_responses", "ccxt_gate", name).read_text())


# -- time and spot instruments --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1546569968, 1_546_569_968_000_000_000),
        ("1705950365.663", 1_705_950_365_663_000_000),
        (1546569968.12, 1_546_569_968_120_000_000),
        (1541505434123, 1_541_505_434_123_000_000),
        ("1648725035923.0", 1_648_725_035_923_000_000),
        ("1767352659205927", 1_767_352_659_205_927_000),
    ],
)
def test_time_to_ns_reads_seconds_ms_and_us(value: Any, expected: int) -> None:
    assert time_to_ns(value) == expected


def test_spot_currency_pair() -> None:
    pair = {
        "id": "ETH_USDT",
        "base": "ETH",
        "quote": "USDT",
        "fee": "0.2",
        "min_base_amount": "0.001",
        "min_quote_amount": "1.0",
        "amount_precision": 3,
        "precision": 6,
        "trade_status": "tradable",
    }
    instrument = parse_spot_currency_pair(pair, TS)
    assert instrument.id == InstrumentId.from_str("ETH_USDT.GATE")
    assert instrument.price_precision == 6
    assert instrument.price_increment == Price.from_str("0.000001")
    assert instrument.size_precision == 3
    assert instrument.size_increment == Quantity.from_str("0.001")
    assert instrument.min_quantity == Quantity.from_str("0.001")
    assert instrument.min_notional == Money(Decimal("1.0"), USDT)
    assert instrument.maker_fee == instrument.taker_fee == Decimal("0.002")
    assert instrument.base_currency.code == "ETH"


# -- order book -----------------------------------------------------------------------------------

FUTURES_SNAPSHOT = {
    "id": 123456,
    "current": 1623898993.123,
    "update": 1623898993.121,
    "asks": [{"p": "1.52", "s": 100}, {"p": "1.53", "s": 40}],
    "bids": [{"p": "1.17", "s": 150}, {"p": "1.16", "s": 203}],
}


def test_book_snapshot_is_clear_plus_adds(ltc: CryptoPerpetual) -> None:
    deltas = parse_book_snapshot(ltc, FUTURES_SNAPSHOT, TS).deltas
    assert [d.action for d in deltas] == [BookAction.CLEAR] + [BookAction.ADD] * 4
    assert all(d.flags & F_SNAPSHOT for d in deltas)
    assert [bool(d.flags & F_LAST) for d in deltas] == [False] * 4 + [True]
    assert {d.sequence for d in deltas} == {123456}
    assert {d.ts_event for d in deltas} == {1_623_898_993_121_000_000}
    bids = [(d.order.price, d.order.size) for d in deltas if d.order.side == OrderSide.BUY]
    assert bids == [
        (Price.from_str("1.17"), Quantity.from_int(150)),
        (Price.from_str("1.16"), Quantity.from_int(203)),
    ]
    assert all(d.order.price.precision == ltc.price_precision for d in deltas[1:])


def test_spot_shaped_snapshot(ltc: CryptoPerpetual) -> None:
    snapshot = {
        "id": 7,
        "current": 1623898993123,
        "update": 1623898993121,
        "asks": [["1.52", "1.151"]],
        "bids": [["1.17", "201.863"]],
    }
    deltas = parse_book_snapshot(ltc, snapshot, TS).deltas
    assert len(deltas) == 3
    assert deltas[0].ts_event == 1_623_898_993_121_000_000


def test_empty_snapshot_is_a_lone_clear(ltc: CryptoPerpetual) -> None:
    deltas = parse_book_snapshot(ltc, {"id": 5, "bids": [], "asks": []}, TS).deltas
    assert len(deltas) == 1
    assert deltas[0].action == BookAction.CLEAR
    assert deltas[0].flags == F_SNAPSHOT | F_LAST


BOOK_UPDATE = {
    "t": 1615366381417,
    "s": "BTC_USD",
    "U": 2517661101,
    "u": 2517661113,
    "b": [{"p": "54672.1", "s": 0}, {"p": "54664.5", "s": 58794}],
    "a": [{"p": "54743.6", "s": 0}, {"p": "54742", "s": 95}],
    "l": "100",
}


def test_book_update(btc: CryptoPerpetual) -> None:
    deltas = parse_book_update(btc, BOOK_UPDATE, TS).deltas
    assert [(d.action, d.order.side) for d in deltas] == [
        (BookAction.DELETE, OrderSide.BUY),
        (BookAction.UPDATE, OrderSide.BUY),
        (BookAction.DELETE, OrderSide.SELL),
        (BookAction.UPDATE, OrderSide.SELL),
    ]
    assert [d.flags for d in deltas] == [0, 0, 0, F_LAST]
    assert {d.sequence for d in deltas} == {2517661113}
    assert {d.ts_event for d in deltas} == {1_615_366_381_417_000_000}
    assert {d.ts_init for d in deltas} == {TS}
    assert deltas[3].order.price == Price.from_str("54742.0")
    assert deltas[1].order.size == Quantity.from_int(58794)


def test_book_update_with_decimal_string_sizes(decimal_contract: CryptoPerpetual) -> None:
    update = {"t": 1, "U": 1, "u": 2, "b": [{"p": "100.1", "s": "0.5"}], "a": [["101", "0"]]}
    deltas = parse_book_update(decimal_contract, update, TS).deltas
    assert deltas[0].order.size == Quantity.from_str("0.5")
    assert deltas[1].action == BookAction.DELETE


def test_full_book_update_is_a_snapshot(btc: CryptoPerpetual) -> None:
    update = {**BOOK_UPDATE, "full": True}
    deltas = parse_book_update(btc, update, TS).deltas
    assert deltas[0].action == BookAction.CLEAR
    assert [d.action for d in deltas[1:]] == [BookAction.ADD, BookAction.ADD]  # zeros skipped
    assert all(d.flags & F_SNAPSHOT for d in deltas)
    assert deltas[-1].flags & F_LAST


def test_empty_book_update_is_none(btc: CryptoPerpetual) -> None:
    assert parse_book_update(btc, {"t": 1, "U": 3, "u": 4, "b": [], "a": []}, TS) is None


def test_snapshot_then_updates_in_a_nautilus_book(ltc: CryptoPerpetual) -> None:
    book = OrderBook(ltc.id, BookType.L2_MBP)
    book.apply_deltas(parse_book_snapshot(ltc, FUTURES_SNAPSHOT, TS))
    update = {
        "t": 1623898994000,
        "U": 123457,
        "u": 123458,
        "b": [{"p": "1.17", "s": 0}, {"p": "1.18", "s": 7}, {"p": "1.16", "s": 1}],
        "a": [{"p": "1.52", "s": 60}],
    }
    book.apply_deltas(parse_book_update(ltc, update, TS))
    assert [(float(lv.price), lv.size()) for lv in book.bids()] == [(1.18, 7.0), (1.16, 1.0)]
    assert [(float(lv.price), lv.size()) for lv in book.asks()] == [(1.52, 60.0), (1.53, 40.0)]
    assert book.sequence == 123458


def test_book_ticker(btc: CryptoPerpetual) -> None:
    result = {
        "t": 1615366379123,
        "u": 2517661076,
        "s": "BTC_USD",
        "b": "54696.6",
        "B": 37000,
        "a": "54696.7",
        "A": 47061,
    }
    quote = parse_book_ticker(btc, result, TS)
    assert quote is not None
    assert quote.bid_price == Price.from_str("54696.6")
    assert quote.ask_price == Price.from_str("54696.7")
    assert quote.bid_size == Quantity.from_int(37000)
    assert quote.ask_size == Quantity.from_int(47061)
    assert quote.ts_event == 1_615_366_379_123_000_000


def test_book_ticker_with_an_empty_side_is_none(btc: CryptoPerpetual) -> None:
    result = {"t": 1, "u": 2, "s": "BTC_USDT", "b": "", "B": 0, "a": "54696.7", "A": 3}
    assert parse_book_ticker(btc, result, TS) is None


# -- trades, funding, mark ------------------------------------------------------------------------


def test_futures_trade_sign_is_the_aggressor(btc: CryptoPerpetual) -> None:
    trade = {
        "size": -108,
        "id": 27753479,
        "create_time": 1545136464,
        "create_time_ms": 1545136464123,
        "price": "96.4",
        "contract": "BTC_USD",
    }
    tick = parse_trade(btc, trade, TS)
    assert tick.aggressor_side == AggressorSide.SELLER
    assert tick.size == Quantity.from_int(108)
    assert tick.price == Price.from_str("96.4")
    assert tick.trade_id.value == "27753479"
    assert tick.ts_event == 1_545_136_464_123_000_000
    buy = parse_trade(btc, {**trade, "size": "3"}, TS)
    assert buy.aggressor_side == AggressorSide.BUYER


def test_spot_trade_shape() -> None:
    pair = parse_spot_currency_pair(
        {"id": "BTC_USDT", "base": "BTC", "quote": "USDT", "precision": 1, "amount_precision": 5},
        TS,
    )
    trades = ccxt_shape("spot_trades_BTC_USDT_response.json")
    tick = parse_trade(pair, trades[0], TS)
    assert tick.aggressor_side == AggressorSide.BUYER
    assert tick.size == Quantity.from_str("0.00020")
    assert tick.ts_event == 1_710_327_648_162_035_000


def test_funding_rate_from_a_contract(btc: CryptoPerpetual) -> None:
    update = parse_funding_rate(
        btc,
        {"funding_rate": "0.002053", "funding_interval": 28800, "funding_next_apply": 1610035200},
        TS,
    )
    assert isinstance(update, FundingRateUpdate)
    assert update.rate == Decimal("0.002053")
    assert update.interval == 480
    assert update.next_funding_ns == 1_610_035_200_000_000_000
    assert update.ts_event == TS


def test_funding_rate_and_mark_from_a_ticker(btc: CryptoPerpetual) -> None:
    ticker = {
        "contract": "BTC_USDT",
        "last": "6432",
        "mark_price": "6534.27",
        "funding_rate": "0.0001",
    }
    funding = parse_funding_rate(btc, ticker, TS, ts_event=TS - 5)
    assert funding.rate == Decimal("0.0001")
    assert funding.interval is None
    assert funding.ts_event == TS - 5
    mark = parse_mark_price(btc, ticker, TS)
    assert isinstance(mark, MarkPriceUpdate)
    assert mark.value == Price.from_str("6534.3")  # the instrument's precision
    assert mark.instrument_id == btc.id


# -- orders ---------------------------------------------------------------------------------------

REST_ORDER = {
    "id": 15675394,
    "user": 100000,
    "contract": "BTC_USDT",
    "create_time": 1546569968,
    "size": 6024,
    "iceberg": 0,
    "left": 6024,
    "price": "3765",
    "fill_price": "0",
    "mkfr": "-0.00025",
    "tkfr": "0.00075",
    "tif": "gtc",
    "refu": 0,
    "is_reduce_only": False,
    "is_close": False,
    "is_liq": False,
    "text": "t-my-custom-id",
    "status": "open",
    "stp_id": 0,
    "stp_act": "-",
    "amend_text": "-",
    "update_time": 1546569968.12,
}


def order(**overrides: Any) -> dict[str, Any]:
    return {**REST_ORDER, **overrides}


def test_open_order_report(btc: CryptoPerpetual) -> None:
    report = parse_order_status_report(btc, REST_ORDER, ACCOUNT, TS)
    assert report.venue_order_id.value == "15675394"
    assert report.client_order_id == ClientOrderId("my-custom-id")
    assert report.order_side == OrderSide.BUY
    assert report.order_type == OrderType.LIMIT
    assert report.time_in_force == TimeInForce.GTC
    assert report.order_status == OrderStatus.ACCEPTED
    assert report.quantity == Quantity.from_int(6024)
    assert report.filled_qty == Quantity.from_int(0)
    assert report.price == Price.from_str("3765.0")
    assert report.avg_px is None
    assert not report.post_only and not report.reduce_only
    assert report.ts_accepted == 1_546_569_968_000_000_000
    assert report.ts_last == 1_546_569_968_120_000_000
    assert report.ts_init == TS
    assert report.account_id == ACCOUNT


@pytest.mark.parametrize(
    ("overrides", "status", "filled"),
    [
        ({"left": 6000, "fill_price": "3765"}, OrderStatus.PARTIALLY_FILLED, 24),
        (
            {"status": "finished", "finish_as": "filled", "left": 0, "fill_price": "3765"},
            OrderStatus.FILLED,
            6024,
        ),
        ({"status": "finished", "finish_as": "cancelled"}, OrderStatus.CANCELED, 0),
        ({"status": "finished", "finish_as": "cancelled", "left": 24}, OrderStatus.CANCELED, 6000),
        ({"status": "finished", "finish_as": "ioc", "tif": "ioc"}, OrderStatus.CANCELED, 0),
        ({"status": "finished", "finish_as": "stp"}, OrderStatus.CANCELED, 0),
        ({"status": "finished", "finish_as": "reduce_only"}, OrderStatus.CANCELED, 0),
        ({"status": "finished", "finish_as": "position_closed"}, OrderStatus.CANCELED, 0),
        ({"status": "finished", "finish_as": "reduce_out"}, OrderStatus.CANCELED, 0),
        ({"status": "finished", "finish_as": "liquidated", "left": 0}, OrderStatus.FILLED, 6024),
        ({"status": "finished", "finish_as": "poc"}, OrderStatus.REJECTED, 0),
    ],
)
def test_order_status_mapping(
    btc: CryptoPerpetual, overrides: dict[str, Any], status: OrderStatus, filled: int
) -> None:
    report = parse_order_status_report(btc, order(**overrides), ACCOUNT, TS)
    assert report.order_status == status
    assert report.filled_qty == Quantity.from_int(filled)
    if status in (OrderStatus.CANCELED, OrderStatus.REJECTED):
        assert report.cancel_reason == overrides["finish_as"]


@pytest.mark.parametrize(
    ("tif", "expected", "post_only"),
    [
        ("gtc", TimeInForce.GTC, False),
        ("ioc", TimeInForce.IOC, False),
        ("poc", TimeInForce.GTC, True),
        ("fok", TimeInForce.FOK, False),
    ],
)
def test_time_in_force(
    btc: CryptoPerpetual, tif: str, expected: TimeInForce, post_only: bool
) -> None:
    report = parse_order_status_report(btc, order(tif=tif), ACCOUNT, TS)
    assert report.time_in_force == expected
    assert report.post_only is post_only


def test_sell_reduce_only_order_with_signed_left(btc: CryptoPerpetual) -> None:
    report = parse_order_status_report(
        btc, order(size=-10, left=-4, is_reduce_only=True, fill_price="3766.5"), ACCOUNT, TS
    )
    assert report.order_side == OrderSide.SELL
    assert report.quantity == Quantity.from_int(10)
    assert report.filled_qty == Quantity.from_int(6)
    assert report.order_status == OrderStatus.PARTIALLY_FILLED
    assert report.avg_px == Decimal("3766.5")
    assert report.reduce_only


def test_order_without_our_text_has_no_client_id(btc: CryptoPerpetual) -> None:
    for text in ("api", "web", "-", "", None):
        assert parse_order_status_report(btc, order(text=text), ACCOUNT, TS).client_order_id is None


def test_ws_order_shape_with_floats_and_ms(btc: CryptoPerpetual) -> None:
    ws_order = {
        "contract": "BTC_USD",
        "create_time": 1628736847,
        "create_time_ms": 1628736847325,
        "fill_price": 40000.4,
        "finish_as": "filled",
        "finish_time": 1628736848,
        "finish_time_ms": 1628736848321,
        "iceberg": 0,
        "id": 4872460,
        "is_close": False,
        "is_liq": False,
        "is_reduce_only": False,
        "left": 0,
        "mkfr": -0.00025,
        "price": 40000.4,
        "size": 1,
        "status": "finished",
        "text": "-",
        "tif": "gtc",
        "tkfr": 0.0005,
        "update_id": 1,
        "update_time": 1541505434123,
    }
    report = parse_order_status_report(btc, ws_order, ACCOUNT, TS)
    assert report.order_status == OrderStatus.FILLED
    assert report.price == Price.from_str("40000.4")
    assert report.avg_px == Decimal("40000.4")
    assert report.ts_accepted == 1_628_736_847_325_000_000
    assert report.ts_last == 1_628_736_848_321_000_000


def test_ws_new_order_event(btc: CryptoPerpetual) -> None:
    report = parse_order_status_report(
        btc, order(finish_as="_new", finish_time=0, text="t-abc"), ACCOUNT, TS
    )
    assert report.order_status == OrderStatus.ACCEPTED
    assert report.ts_last == 1_546_569_968_120_000_000


def test_market_order_and_close_order(btc: CryptoPerpetual) -> None:
    report = parse_order_status_report(btc, order(price="0", tif="ioc"), ACCOUNT, TS)
    assert report.order_type == OrderType.MARKET
    assert report.price is None
    with pytest.raises(ValueError, match="size 0"):
        parse_order_status_report(btc, order(size=0, is_close=True), ACCOUNT, TS)


def test_unknown_status_raises(btc: CryptoPerpetual) -> None:
    with pytest.raises(ValueError, match="unknown status"):
        parse_order_status_report(btc, order(status="weird"), ACCOUNT, TS)


def test_spot_order_shape() -> None:
    pair = parse_spot_currency_pair(
        {"id": "BTC_USDT", "base": "BTC", "quote": "USDT", "precision": 1, "amount_precision": 4},
        TS,
    )
    spot_order = {
        "id": "12345",
        "text": "t-abc",
        "create_time_ms": 1630000000123,
        "update_time_ms": 1630000000456,
        "status": "cancelled",
        "currency_pair": "BTC_USDT",
        "type": "limit",
        "side": "sell",
        "amount": "0.01",
        "price": "65000",
        "time_in_force": "poc",
        "left": "0.01",
        "filled_amount": "0",
        "avg_deal_price": "0",
        "finish_as": "poc",
    }
    report = parse_order_status_report(pair, spot_order, ACCOUNT, TS)
    assert report.order_side == OrderSide.SELL
    assert report.quantity == Quantity.from_str("0.0100")
    assert report.order_status == OrderStatus.REJECTED
    assert report.post_only
    closed = parse_order_status_report(
        pair,
        {
            **spot_order,
            "status": "closed",
            "finish_as": "filled",
            "left": "0",
            "filled_amount": "0.01",
            "avg_deal_price": "65000",
        },
        ACCOUNT,
        TS,
    )
    assert closed.order_status == OrderStatus.FILLED
    assert closed.avg_px == Decimal("65000")


def test_ccxt_finished_order_shape(ltc: CryptoPerpetual) -> None:
    (row,) = ccxt_shape("futures_usdt_orders_finished_response.json")
    report = parse_order_status_report(ltc, row, ACCOUNT, TS)
    assert report.venue_order_id.value == "402052804778"
    assert report.order_side == OrderSide.SELL
    assert report.order_type == OrderType.MARKET
    assert report.time_in_force == TimeInForce.IOC
    assert report.order_status == OrderStatus.FILLED
    assert report.quantity == report.filled_qty == Quantity.from_int(1)
    assert report.avg_px == Decimal("68.42")
    assert report.client_order_id is None  # text "api"
    assert report.ts_last == 1_705_950_365_664_000_000


def test_ccxt_market_ioc_create_response(ltc: CryptoPerpetual) -> None:
    row = ccxt_shape("futures_usdt_create_order_market_ioc_response.json")
    report = parse_order_status_report(ltc, row, ACCOUNT, TS)
    assert report.order_side == OrderSide.BUY
    assert report.order_status == OrderStatus.FILLED
    assert report.quantity == Quantity.from_int(100)
    assert report.avg_px == Decimal("0.005416")


# -- fills, positions, balances -------------------------------------------------------------------


def test_ws_usertrade_fill(btc: CryptoPerpetual) -> None:
    trade = {
        "id": "3335259",
        "create_time": 1628736848,
        "create_time_ms": 1628736848321,
        "contract": "BTC_USD",
        "order_id": "4872460",
        "size": 1,
        "price": "40000.4",
        "role": "maker",
        "text": "t-O.t8d6un.001-000-173",
        "fee": 0.0009290592,
        "point_fee": 0,
    }
    fill = parse_fill_report(btc, trade, ACCOUNT, TS)
    assert fill.venue_order_id.value == "4872460"
    assert fill.trade_id.value == "3335259"
    assert fill.order_side == OrderSide.BUY
    assert fill.last_qty == Quantity.from_int(1)
    assert fill.last_px == Price.from_str("40000.4")
    assert fill.liquidity_side == LiquiditySide.MAKER
    assert fill.commission == Money(Decimal("0.0009290592"), USDT)
    assert fill.client_order_id == ClientOrderId("O-20260105-000359-001-000-173")
    assert fill.ts_event == 1_628_736_848_321_000_000


def test_maker_rebate_is_a_negative_commission(btc: CryptoPerpetual) -> None:
    trade = {
        "id": 1,
        "create_time": 1514764800.123,
        "order_id": "9",
        "size": -3,
        "price": "100.1",
        "role": "maker",
        "fee": "-0.0075",
    }
    fill = parse_fill_report(btc, trade, ACCOUNT, TS)
    assert fill.order_side == OrderSide.SELL
    assert fill.commission == Money(Decimal("-0.0075"), USDT)
    assert fill.ts_event == 1_514_764_800_123_000_000


def test_ccxt_my_trades_shape(ltc: CryptoPerpetual) -> None:
    (row,) = ccxt_shape("futures_usdt_my_trades_response.json")
    fill = parse_fill_report(ltc, row, ACCOUNT, TS)
    assert fill.trade_id.value == "29768497"  # newer REST names it `trade_id`
    assert fill.venue_order_id.value == "402052804778"
    assert fill.order_side == OrderSide.SELL
    assert fill.last_qty == Quantity.from_int(1)
    assert fill.last_px == Price.from_str("68.42")
    assert fill.liquidity_side == LiquiditySide.TAKER
    assert fill.commission == Money(Decimal("0.003421"), USDT)
    assert fill.client_order_id is None


def test_ccxt_spot_my_trades_shape() -> None:
    pair = parse_spot_currency_pair(
        {"id": "LTC_USDT", "base": "LTC", "quote": "USDT", "precision": 2, "amount_precision": 4},
        TS,
    )
    rows = ccxt_shape("spot_my_trades_LTC_USDT_response.json")
    fill = parse_fill_report(pair, rows[0], ACCOUNT, TS)
    assert fill.order_side == OrderSide.BUY
    assert fill.last_qty == Quantity.from_str("0.0250")
    assert fill.commission.currency.code == "LTC"


def test_ccxt_positions_shape(ltc: CryptoPerpetual) -> None:
    (row,) = ccxt_shape("futures_usdt_positions_response.json")
    report = parse_position_status_report(ltc, row, ACCOUNT, TS)
    assert report.position_side == PositionSide.LONG
    assert report.quantity == Quantity.from_int(1)
    assert report.avg_px_open == Decimal("74.35")
    assert report.venue_position_id is None
    assert report.ts_last == 1_705_052_585_000_000_000


def test_short_flat_and_dual_positions(btc: CryptoPerpetual) -> None:
    short = parse_position_status_report(
        btc,
        {"contract": "BTC_USDT", "size": -9440, "entry_price": "3779.55", "mode": "single"},
        ACCOUNT,
        TS,
    )
    assert short.position_side == PositionSide.SHORT
    assert short.quantity == Quantity.from_int(9440)
    assert short.signed_decimal_qty == Decimal(-9440)
    flat = parse_position_status_report(
        btc, {"contract": "BTC_USDT", "size": 0, "entry_price": "0"}, ACCOUNT, TS
    )
    assert flat.position_side == PositionSide.FLAT
    assert flat.avg_px_open is None
    assert flat.ts_last == TS
    dual = parse_position_status_report(
        btc,
        {
            "contract": "BTC_USDT",
            "size": 5,
            "entry_price": 40000.36666661111,
            "mode": "dual_long",
            "time_ms": 1628736848321,
        },
        ACCOUNT,
        TS,
    )
    assert dual.venue_position_id == PositionId("BTC_USDT-PERP.GATE-LONG")
    assert dual.ts_last == 1_628_736_848_321_000_000


def test_account_balances() -> None:
    account = {
        "user": 1666,
        "currency": "USDT",
        "total": "9707.803567115145",
        "unrealised_pnl": "3371.248828",
        "position_margin": "38.712189181",
        "order_margin": "0",
        "available": "9669.091377934145",
        "point": "0",
    }
    (balance,), (margin,) = parse_account_balances(account)
    assert balance.total == Money(Decimal("9707.80356712"), USDT)
    assert balance.free == Money(Decimal("9669.09137793"), USDT)
    assert balance.locked == Money(Decimal("38.71218919"), USDT)
    assert margin.initial == Money(Decimal("38.712189181"), USDT)
    assert margin.maintenance == Money(0, USDT)
    assert margin.instrument_id is None


def test_account_available_above_total_is_all_free() -> None:
    account = {
        "currency": "usdt",
        "total": "100",
        "available": "120",
        "position_margin": "5",
        "order_margin": "1",
    }
    (balance,), (margin,) = parse_account_balances(account)
    assert balance.total == balance.free == Money(120, USDT)
    assert balance.locked == Money(0, USDT)
    assert margin.initial == Money(6, USDT)


# -- client order id <-> text ---------------------------------------------------------------------

GATE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_.-"
TAG_ALPHABET = GATE_ALPHABET.replace("-", "")


def assert_valid_text(text: str) -> None:
    assert text.startswith("t-")
    body = text[2:]
    assert 1 <= len(body) <= TEXT_MAX_LEN
    assert set(body) <= set(GATE_ALPHABET)


def test_default_nautilus_id_is_compacted() -> None:
    client_order_id = ClientOrderId("O-20260105-000359-001-000-173")  # 29 chars: too long
    text = client_order_id_to_text(client_order_id)
    assert text == "t-O.t8d6un.001-000-173"
    assert text_to_client_order_id(text) == client_order_id


def test_ids_that_fit_are_sent_verbatim() -> None:
    for value in ("abc", "O20260105000359001000173", "O-20260105-000359-1-1-1", "x" * 28):
        assert client_order_id_to_text(ClientOrderId(value)) == "t-" + value


def test_unmappable_ids_raise() -> None:
    for value in (
        "x" * 29,
        "has space",
        "a/b",
        "O-20261399-000359-001-000-1234567",
        "O.abc.x",
        "U.abc",
    ):
        with pytest.raises(ValueError, match="client order id"):
            client_order_id_to_text(ClientOrderId(value))


def test_foreign_texts() -> None:
    assert text_to_client_order_id("api") is None
    assert text_to_client_order_id("t-") is None
    assert text_to_client_order_id(None) is None
    assert text_to_client_order_id("t-my-custom-id") == ClientOrderId("my-custom-id")


@given(st.text(alphabet=GATE_ALPHABET, min_size=1, max_size=TEXT_MAX_LEN))
def test_round_trip_of_ids_that_fit(value: str) -> None:
    client_order_id = ClientOrderId(value)
    try:
        text = client_order_id_to_text(client_order_id)
    except ValueError:
        # Only ids shaped like the compact forms are refused.
        assume(False)
    assert text == "t-" + value
    assert text_to_client_order_id(text) == client_order_id


@given(
    moment=st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31)),
    trader=st.text(alphabet=TAG_ALPHABET, min_size=1, max_size=6),
    strategy=st.text(alphabet=TAG_ALPHABET, min_size=1, max_size=6),
    count=st.integers(min_value=1, max_value=10**12),
)
def test_round_trip_of_default_ids(
    moment: datetime, trader: str, strategy: str, count: int
) -> None:
    value = f"O-{moment:%Y%m%d-%H%M%S}-{trader}-{strategy}-{count}"
    client_order_id = ClientOrderId(value)
    try:
        text = client_order_id_to_text(client_order_id)
    except ValueError:
        # Only when even the compact form is too long.
        assert len(value) > TEXT_MAX_LEN
        return
    assert_valid_text(text)
    assert text_to_client_order_id(text) == client_order_id


def test_default_ids_up_to_eleven_digit_counts_fit() -> None:
    moment = datetime(2038, 12, 23, 23, 59, 59, tzinfo=UTC)  # last 6-char base-36 second
    value = f"O-{moment:%Y%m%d-%H%M%S}-001-000-{10**11 - 1}"
    assert text_to_client_order_id(client_order_id_to_text(ClientOrderId(value))).value == value


@given(st.uuids(), st.booleans())
def test_round_trip_of_uuid_ids(value: uuid.UUID, hyphens: bool) -> None:
    client_order_id = ClientOrderId(str(value) if hyphens else value.hex)
    text = client_order_id_to_text(client_order_id)
    assert_valid_text(text)
    assert text_to_client_order_id(text) == client_order_id


@given(st.text(alphabet=GATE_ALPHABET, min_size=1, max_size=TEXT_MAX_LEN))
def test_any_valid_text_decodes_to_an_id(body: str) -> None:
    # Orders placed elsewhere (web, other tools) must never crash the parser.
    client_order_id = text_to_client_order_id("t-" + body)
    assert client_order_id is not None
