"""Gate.io wire data -> nautilus objects (pure functions, no I/O).

Quantity convention (decided for the whole project): **nautilus quantities for Gate perpetuals are
CONTRACTS, not coins.** Gate's futures API speaks contracts everywhere (order `size`, position
`size`, book levels `s`, trade `size`, `order_size_min/max`), and one contract is
`quanto_multiplier` coins (BTC_USDT: 1 contract = 0.0001 BTC). So the instrument carries
`multiplier = quanto_multiplier`, and nautilus computes notional as `qty * multiplier * price` and
position PnL with the same multiplier, which is exactly Gate's contract maths.

The classic Gate integration bug is to mix the two units: send or book quantities in coins on one
path and contracts on another, which leaves positions, PnL and risk limits off by the multiplier
(10000x for BTC_USDT). Never convert contracts to coins at the adapter boundary; only for display.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import msgspec
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.reports import FillReport
from nautilus_trader.execution.reports import OrderStatusReport
from nautilus_trader.execution.reports import PositionStatusReport
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.data import BookOrder
from nautilus_trader.model.data import FundingRateUpdate
from nautilus_trader.model.data import IndexPriceUpdate
from nautilus_trader.model.data import MarkPriceUpdate
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookAction
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
from nautilus_trader.model.identifiers import Symbol
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.identifiers import VenueOrderId
from nautilus_trader.model.instruments import CryptoPerpetual
from nautilus_trader.model.instruments import CurrencyPair
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import AccountBalance
from nautilus_trader.model.objects import Currency
from nautilus_trader.model.objects import MarginBalance
from nautilus_trader.model.objects import Money
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

GATE_VENUE = Venue("GATE")
PERP_SUFFIX = "-PERP"


# One decoder for every WebSocket frame: about twice as fast as `json.loads` on book updates.
decode_frame = msgspec.json.Decoder().decode


def to_decimal(value: Any) -> Decimal:
    """Gate sends numbers as strings or numbers; `str()` first so floats add no binary noise."""
    return Decimal(str(value))


def plain(value: Any) -> str:
    """A decimal string without exponent: `Decimal("1E-11")` must become "0.00000000001"."""
    return format(to_decimal(value), "f")


def contract_name(instrument_id: InstrumentId) -> str:
    """`BTC_USDT-PERP.GATE` -> `BTC_USDT`, the contract name Gate's API speaks."""
    return instrument_id.symbol.value.removesuffix(PERP_SUFFIX)


@lru_cache(maxsize=4096)
def perp_instrument_id(contract_name: str) -> InstrumentId:
    """`BTC_USDT` -> `BTC_USDT-PERP.GATE` (the same id in the catalog and live)."""
    # Cached: every book frame and order report names its contract, and building the id (two
    # validated identifiers) costs more than the rest of routing the message.
    return InstrumentId(Symbol(f"{contract_name}{PERP_SUFFIX}"), GATE_VENUE)


def parse_futures_contract(contract: dict[str, Any], ts_init: int) -> CryptoPerpetual:
    """One item of `GET /futures/usdt/contracts` -> a `CryptoPerpetual` sized in contracts."""
    name = str(contract["name"])
    base_code, _, quote_code = name.partition("_")
    if not base_code or quote_code != "USDT":
        raise ValueError(f"not a USDT-settled Gate contract name: {name!r}")

    price_increment = Price.from_str(plain(contract["order_price_round"]))
    size_increment = _size_increment(contract)
    size_precision = size_increment.precision
    leverage_max = to_decimal(contract["leverage_max"])

    return CryptoPerpetual(
        instrument_id=perp_instrument_id(name),
        raw_symbol=Symbol(name),
        base_currency=Currency.from_str(base_code),
        quote_currency=USDT,
        settlement_currency=USDT,
        is_inverse=False,
        price_precision=price_increment.precision,
        size_precision=size_precision,
        price_increment=price_increment,
        size_increment=size_increment,
        multiplier=Quantity.from_str(plain(contract["quanto_multiplier"])),
        lot_size=size_increment,
        max_quantity=Quantity(to_decimal(contract["order_size_max"]), size_precision),
        min_quantity=Quantity(to_decimal(contract["order_size_min"]), size_precision),
        margin_init=Decimal(1) / leverage_max,
        margin_maint=to_decimal(contract["maintenance_rate"]),
        maker_fee=to_decimal(contract["maker_fee_rate"]),
        taker_fee=to_decimal(contract["taker_fee_rate"]),
        ts_event=ts_init,
        ts_init=ts_init,
        info=dict(contract),
    )


def _size_increment(contract: dict[str, Any]) -> Quantity:
    # Classic contracts trade whole contracts; `enable_decimal` ones trade in steps of the minimum.
    if contract.get("enable_decimal"):
        return Quantity.from_str(plain(contract["order_size_min"]))
    return Quantity.from_int(1)


# == Shared helpers ================================================================================


@lru_cache(maxsize=4096)
def spot_instrument_id(pair: str) -> InstrumentId:
    """`BTC_USDT` -> `BTC_USDT.GATE`."""
    return InstrumentId(Symbol(pair), GATE_VENUE)


def time_to_ns(value: Any) -> int:
    """
    A Gate timestamp -> UNIX ns.

    Gate mixes units across endpoints and versions: REST orders carry float seconds
    (`1546569968.12`), WS orders `update_time` in ms, trades `create_time_ms` as
    `"1648725035923.0"`, conditional orders µs. The magnitude tells them apart (seconds stay
    below 1e11 until year 5138). Decimal, not float, so `1705950365.663` s is exactly
    ...663_000_000 ns.
    """
    # Integers (book frames' `t`) are exact already: only strings and floats go through Decimal.
    number = value if type(value) is int else to_decimal(value)
    if number < 100_000_000_000:
        scale = 1_000_000_000
    elif number < 100_000_000_000_000:
        scale = 1_000_000
    elif number < 100_000_000_000_000_000:
        scale = 1_000
    else:
        scale = 1
    return int(number * scale)


def _first_time_ns(data: dict[str, Any], *fields: str) -> int | None:
    # The `_ms` twin of a field is preferred by listing it first; 0 and "" mean "not set"
    # (Gate sends `finish_time: 0` for open orders).
    for field in fields:
        value = data.get(field)
        if value not in (None, "", 0, "0"):
            return time_to_ns(value)
    return None


def _level(level: Any) -> tuple[Any, Any]:
    # Futures levels are `{"p", "s"}`; spot and `obu` levels are `[price, size]`.
    if isinstance(level, dict):
        return level["p"], level["s"]
    return level[0], level[1]


def _price(instrument: Instrument, value: Any) -> Price:
    return Price(float(value), instrument.price_precision)


def _quantity(instrument: Instrument, value: Any) -> Quantity:
    # Contracts for perpetuals (see the module docstring), base amounts for spot pairs; `abs`
    # because futures sign them.
    return Quantity(abs(float(value)), instrument.size_precision)


# == Spot instruments ==============================================================================


def parse_spot_currency_pair(pair: dict[str, Any], ts_init: int) -> CurrencyPair:
    """One item of `GET /spot/currency_pairs` -> a `CurrencyPair` (`BTC_USDT.GATE`), in base."""
    name = str(pair["id"])
    price_precision = int(pair["precision"])
    size_precision = int(pair["amount_precision"])
    price_increment = Price(Decimal(1).scaleb(-price_precision), price_precision)
    size_increment = Quantity(Decimal(1).scaleb(-size_precision), size_precision)
    quote_currency = Currency.from_str(str(pair["quote"]))
    # Gate's `fee` is a percentage ("0.2" = 0.2 %), the same for maker and taker at the base tier.
    fee = to_decimal(pair.get("fee", "0")) / 100

    min_base = pair.get("min_base_amount")
    max_base = pair.get("max_base_amount")
    min_quote = pair.get("min_quote_amount")
    max_quote = pair.get("max_quote_amount")
    return CurrencyPair(
        instrument_id=spot_instrument_id(name),
        raw_symbol=Symbol(name),
        base_currency=Currency.from_str(str(pair["base"])),
        quote_currency=quote_currency,
        price_precision=price_precision,
        size_precision=size_precision,
        price_increment=price_increment,
        size_increment=size_increment,
        lot_size=None,
        min_quantity=Quantity(to_decimal(min_base), size_precision) if min_base else None,
        max_quantity=Quantity(to_decimal(max_base), size_precision) if max_base else None,
        min_notional=Money(to_decimal(min_quote), quote_currency) if min_quote else None,
        max_notional=Money(to_decimal(max_quote), quote_currency) if max_quote else None,
        margin_init=Decimal(0),
        margin_maint=Decimal(0),
        maker_fee=fee,
        taker_fee=fee,
        ts_event=ts_init,
        ts_init=ts_init,
        info=dict(pair),
    )


# == Order book ====================================================================================


def _snapshot_deltas(
    instrument: Instrument,
    bids: list[Any],
    asks: list[Any],
    sequence: int,
    ts_event: int,
    ts_init: int,
) -> OrderBookDeltas:
    # CLEAR then ADDs, all F_SNAPSHOT (consumers tell a rebuild from incremental updates by it);
    # the last delta of the batch also carries F_LAST.
    instrument_id = instrument.id
    deltas = [
        OrderBookDelta(
            instrument_id,
            BookAction.CLEAR,
            None,
            RecordFlag.F_SNAPSHOT,
            sequence,
            ts_event,
            ts_init,
        )
    ]
    for side, levels in ((OrderSide.BUY, bids), (OrderSide.SELL, asks)):
        for level in levels:
            price, size = _level(level)
            if not float(size):
                continue  # a snapshot lists live levels; a 0 would be an empty level
            order = BookOrder(side, _price(instrument, price), _quantity(instrument, size), 0)
            deltas.append(
                OrderBookDelta(
                    instrument_id,
                    BookAction.ADD,
                    order,
                    RecordFlag.F_SNAPSHOT,
                    sequence,
                    ts_event,
                    ts_init,
                )
            )
    _flag_last(deltas)
    return OrderBookDeltas(instrument_id, deltas)


def _flag_last(deltas: list[OrderBookDelta]) -> None:
    last = deltas[-1]
    deltas[-1] = OrderBookDelta(
        last.instrument_id,
        last.action,
        last.order,
        last.flags | RecordFlag.F_LAST,
        last.sequence,
        last.ts_event,
        last.ts_init,
    )


def parse_book_snapshot(
    instrument: Instrument, snapshot: dict[str, Any], ts_init: int
) -> OrderBookDeltas:
    """
    REST `order_book?with_id=true` -> CLEAR + ADDs, all F_SNAPSHOT, F_LAST on the last; sequence
    is the snapshot `id`. Futures books carry float seconds and `{p, s}` levels, spot books ms and
    `[p, s]` pairs; both work.
    """
    sequence = int(snapshot.get("id", 0))
    ts_event = _first_time_ns(snapshot, "update", "current") or ts_init
    return _snapshot_deltas(
        instrument,
        snapshot.get("bids", []),
        snapshot.get("asks", []),
        sequence,
        ts_event,
        ts_init,
    )


def parse_book_update(
    instrument: Instrument, result: dict[str, Any], ts_init: int
) -> OrderBookDeltas | None:
    """
    A `futures.order_book_update` / `spot.order_book_update` result -> deltas with sequence `u`.

    Futures send `{t, s, U, u, b, a, l}` with `{p, s}` levels; spot `{t, e, E, s, U, u, b, a}`
    with `[price, amount]` levels; `t` is ms in both. Sizes are absolute level sizes: 0 deletes
    the level, anything else is an L2 UPDATE (which upserts in nautilus' L2_MBP book). A
    `"full": true` message replaces the book and is emitted as a snapshot. Returns None for a
    message with no level (nautilus rejects an empty batch).
    """
    sequence = int(result["u"])
    ts_event = time_to_ns(result["t"]) if result.get("t") else ts_init
    if result.get("full"):
        return _snapshot_deltas(
            instrument, result.get("b", []), result.get("a", []), sequence, ts_event, ts_init
        )

    instrument_id = instrument.id
    price_precision = instrument.price_precision
    size_precision = instrument.size_precision
    bids = result.get("b", ())
    asks = result.get("a", ())
    last = len(bids) + len(asks) - 1
    if last < 0:
        return None
    deltas: list[OrderBookDelta] = []
    for side, levels in ((OrderSide.BUY, bids), (OrderSide.SELL, asks)):
        for level in levels:
            price, size = _level(level)
            size_f = abs(float(size))
            order = BookOrder(
                side, Price(float(price), price_precision), Quantity(size_f, size_precision), 0
            )
            deltas.append(
                OrderBookDelta(
                    instrument_id,
                    BookAction.UPDATE if size_f else BookAction.DELETE,
                    order,
                    RecordFlag.F_LAST if len(deltas) == last else 0,
                    sequence,
                    ts_event,
                    ts_init,
                )
            )
    return OrderBookDeltas(instrument_id, deltas)


def parse_book_ticker(
    instrument: Instrument, result: dict[str, Any], ts_init: int
) -> QuoteTick | None:
    """`futures.book_ticker` / `spot.book_ticker` `{t, u, s, b, B, a, A}` -> QuoteTick.

    Gate sends `""` prices (size 0) for an empty side; a one-sided quote is not a quote, so None.
    """
    bid, ask = result.get("b"), result.get("a")
    if not bid or not ask or not float(result.get("B") or 0) or not float(result.get("A") or 0):
        return None
    return QuoteTick(
        instrument.id,
        _price(instrument, bid),
        _price(instrument, ask),
        _quantity(instrument, result["B"]),
        _quantity(instrument, result["A"]),
        time_to_ns(result["t"]) if result.get("t") else ts_init,
        ts_init,
    )


# == Trades, funding, mark =========================================================================


def parse_trade(instrument: Instrument, trade: dict[str, Any], ts_init: int) -> TradeTick:
    """
    A public trade (REST `trades`, WS `futures.trades` / `spot.trades`) -> TradeTick.

    Futures sign the size by the taker (+ bought, - sold); spot trades carry `side` and `amount`.
    """
    if "size" in trade:
        signed = to_decimal(trade["size"])
        aggressor = AggressorSide.BUYER if signed > 0 else AggressorSide.SELLER
        size: Any = abs(signed)
    else:
        aggressor = AggressorSide.BUYER if trade["side"] == "buy" else AggressorSide.SELLER
        size = trade["amount"]
    ts_event = _first_time_ns(trade, "create_time_ms", "create_time") or ts_init
    return TradeTick(
        instrument.id,
        _price(instrument, trade["price"]),
        _quantity(instrument, size),
        aggressor,
        TradeId(str(trade["id"])),
        ts_event,
        ts_init,
    )


def parse_funding_rate(
    instrument: Instrument, data: dict[str, Any], ts_init: int, ts_event: int | None = None
) -> FundingRateUpdate:
    """
    A ticker or contract dict -> FundingRateUpdate.

    Contracts also carry `funding_interval` (s) and `funding_next_apply` (s); tickers only the rate,
    and neither has its own timestamp, so `ts_event` defaults to `ts_init` (pass the WS `time_ms`).
    """
    interval_s = data.get("funding_interval")
    next_apply = data.get("funding_next_apply")
    return FundingRateUpdate(
        instrument.id,
        to_decimal(data["funding_rate"]),
        ts_event if ts_event is not None else ts_init,
        ts_init,
        interval=int(interval_s) // 60 if interval_s else None,
        next_funding_ns=time_to_ns(next_apply) if next_apply else None,
    )


def parse_mark_price(
    instrument: Instrument, data: dict[str, Any], ts_init: int, ts_event: int | None = None
) -> MarkPriceUpdate:
    """A ticker or contract dict -> MarkPriceUpdate at the instrument's price precision."""
    return MarkPriceUpdate(
        instrument.id,
        _price(instrument, data["mark_price"]),
        ts_event if ts_event is not None else ts_init,
        ts_init,
    )


def parse_index_price(
    instrument: Instrument, data: dict[str, Any], ts_init: int, ts_event: int | None = None
) -> IndexPriceUpdate:
    """A ticker or contract dict -> IndexPriceUpdate at the instrument's price precision."""
    return IndexPriceUpdate(
        instrument.id,
        _price(instrument, data["index_price"]),
        ts_event if ts_event is not None else ts_init,
        ts_init,
    )


# == Client order id <-> Gate `text` ===============================================================
#
# Gate's `text` must be `t-` + at most 28 chars of [0-9A-Za-z_.-]. nautilus' default ids are
# `O-YYYYMMDD-HHMMSS-{trader tag}-{strategy tag}-{count}`: 29 chars at count 100, and longer as
# the count grows. The encoding (a bijection between the ids below and their texts):
#
# 1. An id that already fits (<= 28 chars of the alphabet) is sent verbatim: `t-` + id.
# 2. A longer nautilus default id becomes `O.{unix seconds in base 36}.{rest}`: the date-time
#    becomes 6 base-36 chars (7 after 2038-12-24), so `O-20260105-000359-001-000-173` ->
#    `t-O.t8d6un.001-000-173` (20 chars), which leaves room for counts up to 11 digits (10 after
#    2038) with 3-char trader and strategy tags.
# 3. A longer UUID id (`use_uuid_client_order_ids`) becomes `U.{int in base 36}` (hyphenated form)
#    or `u.{...}` (hex form): 25 base-36 chars hold 128 bits.
#
# Texts matching the compact patterns of 2 and 3 decode to the long form, so a short id that itself
# looks like one (`O.abc.x`, `U.xyz`) cannot be sent verbatim and raises; any other id that fits is
# unaffected. Other long ids raise a ValueError: the strategy must use shorter ids.

TEXT_PREFIX = "t-"
TEXT_MAX_LEN = 28
_TEXT_BODY = re.compile(r"[0-9A-Za-z_.\-]{1,28}")
_DEFAULT_ID = re.compile(r"O-(\d{8})-(\d{6})-([0-9A-Za-z_.\-]+)")
_COMPACT_DEFAULT = re.compile(r"O\.([0-9a-z]+)\.([0-9A-Za-z_.\-]+)")
_COMPACT_UUID = re.compile(r"([Uu])\.([0-9a-z]{1,25})")
_UUID_HYPHENATED = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_UUID_HEX = re.compile(r"[0-9a-f]{32}")
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _to_base36(number: int) -> str:
    digits = []
    while True:
        number, digit = divmod(number, 36)
        digits.append(_BASE36[digit])
        if not number:
            return "".join(reversed(digits))


def _compact(value: str) -> str | None:
    match = _DEFAULT_ID.fullmatch(value)
    if match is not None:
        date, time_of_day, rest = match.groups()
        stamp = date + time_of_day
        try:
            moment = datetime(
                int(stamp[0:4]),
                int(stamp[4:6]),
                int(stamp[6:8]),
                int(stamp[8:10]),
                int(stamp[10:12]),
                int(stamp[12:14]),
                tzinfo=UTC,
            )
        except ValueError:
            return None  # not a real date-time (month 13, second 60...): cannot map back
        seconds = int(moment.timestamp())
        if seconds < 0:
            return None
        return f"O.{_to_base36(seconds)}.{rest}"
    if _UUID_HYPHENATED.fullmatch(value):
        return "U." + _to_base36(uuid.UUID(value).int)
    if _UUID_HEX.fullmatch(value):
        return "u." + _to_base36(int(value, 16))
    return None


def _expand(body: str) -> str:
    match = _COMPACT_DEFAULT.fullmatch(body)
    if match is not None:
        seconds, rest = match.groups()
        try:
            moment = datetime.fromtimestamp(int(seconds, 36), tz=UTC)
        except (OverflowError, ValueError, OSError):
            return body  # not one of ours (no such date): keep the text as the id
        return f"O-{moment:%Y%m%d-%H%M%S}-{rest}"
    match = _COMPACT_UUID.fullmatch(body)
    if match is not None:
        kind, digits = match.groups()
        number = int(digits, 36)
        if number >= 1 << 128:
            return body
        value = uuid.UUID(int=number)
        return str(value) if kind == "U" else value.hex
    return body


def _is_compact_form(body: str) -> bool:
    return bool(_COMPACT_DEFAULT.fullmatch(body) or _COMPACT_UUID.fullmatch(body))


def client_order_id_to_text(client_order_id: ClientOrderId) -> str:
    """A ClientOrderId -> Gate order `text` (`t-...`); `text_to_client_order_id` reverses it."""
    value = client_order_id.value
    if _TEXT_BODY.fullmatch(value):
        if _is_compact_form(value):
            raise ValueError(
                f"client order id {value!r} looks like Gate's compact id form (`O.<b36>.<rest>`, "
                "`U.<b36>`, `u.<b36>`) and would not map back: use another id"
            )
        return TEXT_PREFIX + value
    compact = _compact(value)
    if compact is None or len(compact) > TEXT_MAX_LEN:
        raise ValueError(
            f"client order id {value!r} cannot be sent as a Gate order text: Gate allows at most "
            f"{TEXT_MAX_LEN} chars of [0-9A-Za-z_.-]; nautilus default ids (O-YYYYMMDD-HHMMSS-...) "
            "and UUID ids are compacted, other ids must already fit"
        )
    return TEXT_PREFIX + compact


def text_to_client_order_id(text: str | None) -> ClientOrderId | None:
    """
    Gate order `text` -> ClientOrderId, or None for orders not placed with our ids.

    Gate fills in `api`, `web`, `app`, `liquidation`... for orders without a `t-` text.
    """
    if not text or not text.startswith(TEXT_PREFIX):
        return None
    body = text[len(TEXT_PREFIX) :]
    # Checked before constructing: nautilus aborts the process on non-ASCII id strings.
    if not _TEXT_BODY.fullmatch(body):
        return None
    return ClientOrderId(_expand(body))


# == Execution: orders, fills, positions, balances =================================================

_TIME_IN_FORCE: dict[str, TimeInForce] = {
    "gtc": TimeInForce.GTC,
    "ioc": TimeInForce.IOC,
    "poc": TimeInForce.GTC,  # post-only: rests like GTC, flagged `post_only`
    "fok": TimeInForce.FOK,
}
_FINISHED = frozenset({"finished", "closed", "cancelled"})


def _side_from_order(order: dict[str, Any]) -> tuple[OrderSide, Decimal, Decimal]:
    # Futures: signed `size` and `left` in contracts. Spot: `side` + unsigned `amount`/`left`.
    if "size" in order:
        size = to_decimal(order["size"])
        if size == 0:
            raise ValueError(
                f"Gate order {order.get('id')}: size 0 (a close-position order) has no quantity"
            )
        side = OrderSide.BUY if size > 0 else OrderSide.SELL
        return side, abs(size), abs(to_decimal(order.get("left", 0)))
    side = OrderSide.BUY if order["side"] == "buy" else OrderSide.SELL
    return side, to_decimal(order["amount"]), abs(to_decimal(order.get("left", 0)))


def _order_status(order: dict[str, Any], quantity: Decimal, filled: Decimal) -> OrderStatus:
    status = order.get("status")
    if status == "open":
        return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED
    if status not in _FINISHED:
        raise ValueError(f"Gate order {order.get('id')}: unknown status {status!r}")
    if filled >= quantity:
        return OrderStatus.FILLED  # finish_as filled, or liquidated/auto_deleveraged when complete
    if order.get("finish_as") == "poc":
        return OrderStatus.REJECTED  # spot post-only that would have taken: it never rested
    # cancelled, ioc, fok, stp, reduce_only, position_closed, reduce_out, spot `small`... and
    # partially filled liquidations: the remainder is gone.
    return OrderStatus.CANCELED


def parse_order_status_report(
    instrument: Instrument,
    order: dict[str, Any],
    account_id: AccountId,
    ts_init: int,
) -> OrderStatusReport:
    """
    A Gate order (REST `FuturesOrder`, WS `futures.orders` item, or a spot order) -> report.

    Numbers may be strings, ints or floats (WS sends floats for prices and fees). Quantities are
    contracts for perpetuals; `filled = |size| - |left|`.
    """
    side, quantity, left = _side_from_order(order)
    filled = quantity - left
    if "filled_amount" in order:
        filled = to_decimal(order["filled_amount"])
    order_status = _order_status(order, quantity, filled)

    tif_code = str(order.get("tif") or order.get("time_in_force") or "gtc")
    price = to_decimal(order.get("price") or 0)
    is_market = price == 0 or order.get("type") == "market"
    avg_px = to_decimal(order.get("fill_price") or order.get("avg_deal_price") or 0)

    ts_accepted = _first_time_ns(order, "create_time_ms", "create_time") or ts_init
    ts_last = (
        _first_time_ns(order, "finish_time_ms", "finish_time", "update_time_ms", "update_time")
        or ts_accepted
    )
    canceled = order_status in (OrderStatus.CANCELED, OrderStatus.REJECTED)
    return OrderStatusReport(
        account_id=account_id,
        instrument_id=instrument.id,
        venue_order_id=VenueOrderId(str(order["id"])),
        order_side=side,
        order_type=OrderType.MARKET if is_market else OrderType.LIMIT,
        time_in_force=_TIME_IN_FORCE.get(tif_code, TimeInForce.GTC),
        order_status=order_status,
        quantity=Quantity(quantity, instrument.size_precision),
        filled_qty=Quantity(filled, instrument.size_precision),
        report_id=UUID4(),
        ts_accepted=ts_accepted,
        ts_last=ts_last,
        ts_init=ts_init,
        client_order_id=text_to_client_order_id(order.get("text")),
        price=None if is_market else Price(price, instrument.price_precision),
        avg_px=avg_px if avg_px else None,
        post_only=tif_code == "poc",
        reduce_only=bool(order.get("is_reduce_only", False)),
        cancel_reason=order.get("finish_as") if canceled else None,
    )


def parse_fill_report(
    instrument: Instrument,
    trade: dict[str, Any],
    account_id: AccountId,
    ts_init: int,
) -> FillReport:
    """
    One of our fills (REST `my_trades`, WS `futures.usertrades`, spot `my_trades`) -> FillReport.

    The trade id is `id` (WS, docs) or `trade_id` (newer REST). `fee` is in the settlement currency
    (USDT) for perpetuals, positive when paid and negative for a maker rebate, which is nautilus'
    commission sign too; spot fills name their `fee_currency`.
    """
    if "size" in trade:
        size = to_decimal(trade["size"])
        side = OrderSide.BUY if size > 0 else OrderSide.SELL
        quantity = abs(size)
    else:
        side = OrderSide.BUY if trade["side"] == "buy" else OrderSide.SELL
        quantity = to_decimal(trade["amount"])

    fee_currency = trade.get("fee_currency")
    currency = (
        Currency.from_str(str(fee_currency).upper())
        if fee_currency
        else instrument.get_settlement_currency()
    )
    trade_id = trade.get("id") or trade.get("trade_id")
    return FillReport(
        account_id=account_id,
        instrument_id=instrument.id,
        venue_order_id=VenueOrderId(str(trade["order_id"])),
        trade_id=TradeId(str(trade_id)),
        order_side=side,
        last_qty=Quantity(quantity, instrument.size_precision),
        last_px=_price(instrument, trade["price"]),
        commission=Money(to_decimal(trade.get("fee") or 0), currency),
        liquidity_side=LiquiditySide.MAKER if trade.get("role") == "maker" else LiquiditySide.TAKER,
        report_id=UUID4(),
        ts_event=_first_time_ns(trade, "create_time_ms", "create_time") or ts_init,
        ts_init=ts_init,
        client_order_id=text_to_client_order_id(trade.get("text")),
    )


def parse_position_status_report(
    instrument: Instrument,
    position: dict[str, Any],
    account_id: AccountId,
    ts_init: int,
) -> PositionStatusReport:
    """
    A Gate position (REST `positions`, WS `futures.positions`) -> report.

    Signed `size` in contracts gives LONG/SHORT/FLAT. In dual mode each side is its own position, so
    it gets a venue position id; in single (netting) mode there is none.
    """
    size = to_decimal(position.get("size", 0))
    if size > 0:
        position_side = PositionSide.LONG
    elif size < 0:
        position_side = PositionSide.SHORT
    else:
        position_side = PositionSide.FLAT
    entry_price = to_decimal(position.get("entry_price") or 0)
    mode = str(position.get("mode", "single"))
    venue_position_id = None
    if mode.startswith("dual_"):
        venue_position_id = PositionId(f"{instrument.id}-{mode.removeprefix('dual_').upper()}")
    return PositionStatusReport(
        account_id=account_id,
        instrument_id=instrument.id,
        position_side=position_side,
        quantity=Quantity(abs(size), instrument.size_precision),
        report_id=UUID4(),
        ts_last=_first_time_ns(position, "time_ms", "update_time", "time") or ts_init,
        ts_init=ts_init,
        venue_position_id=venue_position_id,
        avg_px_open=entry_price if entry_price and size else None,
    )


def parse_account_balances(
    account: dict[str, Any],
) -> tuple[list[AccountBalance], list[MarginBalance]]:
    """
    The futures `accounts` object -> one balance and one account-wide margin in its currency.

    `free = available` (what Gate lets new orders use) and `locked = total - free`, which is
    `position_margin + order_margin` in classic accounts. Rounded to the currency first so that
    nautilus' `total - locked == free` check holds exactly; if `available` exceeds `total` (cross
    margin counting unrealised profit), the balance is all free rather than negative locked.
    """
    currency = Currency.from_str(str(account.get("currency", "USDT")).upper())
    total = Money(to_decimal(account["total"]), currency)
    free = Money(to_decimal(account["available"]), currency)
    if free > total:
        total = free
    locked = Money(total.as_decimal() - free.as_decimal(), currency)
    balance = AccountBalance(total=total, locked=locked, free=free)

    initial = to_decimal(account.get("position_margin") or 0) + to_decimal(
        account.get("order_margin") or 0
    )
    maintenance = to_decimal(account.get("maintenance_margin") or 0)
    margin = MarginBalance(
        initial=Money(max(initial, Decimal(0)), currency),
        maintenance=Money(max(maintenance, Decimal(0)), currency),
    )
    return [balance], [margin]
