"""Account, order and position state: the venue's business logic behind REST and WS.

All methods are synchronous and run on the simulator's event loop thread, so one operation (a
placement with its fills, a market move) is atomic with respect to every client. Each operation
ends by flushing the touched books, so a REST snapshot never contains a change that has not been
published on the WebSocket.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any

from tests.venues.gate import render
from tests.venues.gate.book import ASK
from tests.venues.gate.book import BID
from tests.venues.gate.book import BookDelta
from tests.venues.gate.book import MakerFill
from tests.venues.gate.book import OrderBook
from tests.venues.gate.contracts import DEFAULT_FUNDING_RATE
from tests.venues.gate.contracts import ContractSpec
from tests.venues.gate.contracts import fmt
from tests.venues.gate.events import Event
from tests.venues.gate.events import EventSink
from tests.venues.gate.models import ZERO
from tests.venues.gate.models import Account
from tests.venues.gate.models import ApiError
from tests.venues.gate.models import Order
from tests.venues.gate.models import UserTrade
from tests.venues.gate.render import PublicTrade

TEXT_RE = re.compile(r"^t-[0-9A-Za-z_.\-]{1,28}$")
TIFS = ("gtc", "ioc", "poc", "fok")


def bad_param(name: str, value: Any) -> ApiError:
    return ApiError(400, "INVALID_PARAM_VALUE", f"Invalid parameter `{name}` with value: {value}")


def parse_size(value: Any, name: str = "size") -> int:
    """Sizes arrive as JSON ints or numeric strings (decimal-size clients)."""
    if isinstance(value, bool) or value is None:
        raise bad_param(name, value)
    try:
        dec = Decimal(str(value))
    except InvalidOperation:
        raise bad_param(name, value) from None
    if dec != dec.to_integral_value():
        # Our contracts have enable_decimal=false: fractional contracts are invalid.
        raise bad_param(name, value)
    return int(dec)


def parse_price(value: Any, spec: ContractSpec) -> Decimal:
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        raise bad_param("price", value) from None
    if price < 0 or (price % spec.order_price_round) != 0:
        raise bad_param("price", value)
    return price


class Exchange:
    def __init__(
        self,
        specs: dict[str, ContractSpec],
        accounts: list[Account],
        sink: EventSink,
        *,
        min_countdown_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.specs = specs
        self.accounts: dict[str, Account] = {a.key: a for a in accounts}
        self.sink = sink
        self.min_countdown_s = min_countdown_s
        self.clock = clock
        # Realistic-looking magnitudes; deterministic so runs are comparable.
        self.books = {
            name: OrderBook(name, 38_008_856_556 + i * 10**9) for i, name in enumerate(specs)
        }
        self.orders: dict[int, Order] = {}
        self.open_orders: dict[str, dict[int, Order]] = {a.key: {} for a in accounts}
        self.texts: dict[tuple[str, str], int] = {}
        self.public_trades: dict[str, deque[PublicTrade]] = {n: deque(maxlen=1000) for n in specs}
        self.last_price: dict[str, Decimal] = {n: s.initial_ask for n, s in specs.items()}
        self._next_order_id = 402_052_804_778
        self._next_trade_id = 202_356_208
        self._tops: dict[str, tuple[Any, ...]] = {}
        self.funding_rates: dict[str, Decimal] = {n: DEFAULT_FUNDING_RATE for n in specs}
        self._countdowns: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self.honour_countdown = True

    # ---- helpers -------------------------------------------------------------------------
    def spec(self, contract: str | None) -> ContractSpec:
        spec = self.specs.get(contract or "")
        if spec is None:
            raise ApiError(400, "CONTRACT_NOT_FOUND", f"Contract {contract} not found")
        return spec

    def account(self, key: str) -> Account:
        return self.accounts[key]

    def mark_price(self, contract: str) -> Decimal:
        book = self.books[contract]
        bid, ask = book.best(BID), book.best(ASK)
        if bid is not None and ask is not None:
            return (bid + ask) / 2
        return self.last_price[contract]

    def ticker(self, contract: str) -> dict[str, Any]:
        """REST `tickers` item and `futures.tickers` push: mark (= index) from the live book."""
        spec, book = self.specs[contract], self.books[contract]
        bid, ask = book.best(BID), book.best(ASK)
        return render.ticker(
            contract,
            last=self.last_price[contract],
            mark=self.mark_price(contract).quantize(spec.mark_price_round),
            funding_rate=self.funding_rates[contract],
            top=(
                bid,
                book.level_size(BID, bid) if bid is not None else 0,
                ask,
                book.level_size(ASK, ask) if ask is not None else 0,
            ),
        )

    def set_funding_rate(self, contract: str, rate: Decimal) -> None:
        """A new funding rate: contracts and tickers show it, and it is pushed."""
        self.spec(contract)
        self.funding_rates[contract] = rate
        self._publish_ticker(contract)

    def _publish_ticker(self, contract: str) -> None:
        ticker = self.ticker(contract)
        self.sink.publish(Event("futures.tickers", contract, lambda _d: [ticker]))

    def _trade_id(self) -> int:
        self._next_trade_id += 1
        return self._next_trade_id

    def find_order(self, acct: Account, ref: str) -> Order:
        order: Order | None = None
        if ref.startswith("t-"):
            oid = self.texts.get((acct.key, ref))
            order = self.orders.get(oid) if oid is not None else None
        elif ref.isdigit():
            order = self.orders.get(int(ref))
        if order is None or order.key != acct.key:
            raise ApiError(404, "ORDER_NOT_FOUND", "Order not found")
        return order

    # ---- margin --------------------------------------------------------------------------
    def summary(self, acct: Account, extra: Order | None = None) -> render.AccountSummary:
        upnl = pos_margin = order_margin = ZERO
        for contract, pos in acct.positions.items():
            if pos.size:
                _, margin, u = render.position_values(
                    pos, self.specs[contract], self.mark_price(contract)
                )
                upnl += u
                pos_margin += margin
        per_side: dict[tuple[str, int], Decimal] = {}
        orders = list(self.open_orders[acct.key].values()) + ([extra] if extra else [])
        for o in orders:
            if o.reduce_only:
                continue
            spec = self.specs[o.contract]
            price = o.price if o.price else self.mark_price(o.contract)
            lev = acct.position(o.contract).leverage
            k = (o.contract, o.side)
            per_side[k] = per_side.get(k, ZERO) + o.left * spec.quanto_multiplier * price / lev
        for contract in {c for c, _ in per_side}:
            # Gate reserves margin for the larger side: both sides cannot fill into one position.
            order_margin += max(
                per_side.get((contract, 1), ZERO), per_side.get((contract, -1), ZERO)
            )
        return render.AccountSummary(acct.balance, upnl, pos_margin, order_margin)

    # ---- orders --------------------------------------------------------------------------
    def place(self, acct: Account, body: Any) -> Order:
        order = self._validate(acct, body)
        self._publish_order(order, "_new")
        self._execute(order)
        self._flush(order.contract)
        return order

    def _validate(self, acct: Account, body: Any) -> Order:
        if not isinstance(body, dict):
            raise ApiError(400, "INVALID_REQUEST_BODY", "Request body must be a JSON object")
        if "contract" not in body:
            raise ApiError(400, "MISSING_REQUIRED_PARAM", "Missing required parameter: contract")
        spec = self.spec(body["contract"])
        book = self.books[spec.name]
        pos = acct.position(spec.name)
        size = parse_size(body.get("size", 0))
        is_close = bool(body.get("close", False))
        reduce_only = bool(body.get("reduce_only", False))
        if size == 0:
            if not is_close:
                raise bad_param("size", body.get("size"))
            if pos.size == 0:
                raise ApiError(400, "POSITION_EMPTY", "Position is empty")
            size, reduce_only = -pos.size, True
        qty = abs(size)
        if qty < spec.order_size_min:
            raise ApiError(400, "SIZE_TOO_SMALL", f"Order size {qty} below {spec.order_size_min}")
        if qty > spec.order_size_max:
            raise ApiError(400, "SIZE_TOO_LARGE", f"Order size {qty} above {spec.order_size_max}")
        if "price" not in body:
            raise ApiError(400, "MISSING_REQUIRED_PARAM", "Missing required parameter: price")
        price = parse_price(body["price"], spec)
        tif = str(body.get("tif", "gtc")).lower()
        if tif not in TIFS:
            raise bad_param("tif", body.get("tif"))
        if price == 0 and tif not in ("ioc", "fok"):
            raise ApiError(400, "INVALID_PARAM_VALUE", "market order must use tif ioc or fok")
        if price:
            mark = self.mark_price(spec.name)
            if abs(price - mark) > mark * spec.order_price_deviate:
                raise ApiError(
                    400, "PRICE_TOO_DEVIATED", f"price {price} deviates from mark {mark}"
                )
        text = body.get("text") or "api"
        if text != "api" and not (isinstance(text, str) and TEXT_RE.match(text)):
            raise bad_param("text", text)
        side = 1 if size > 0 else -1
        limit = price if price else None
        if tif == "poc" and book.would_cross(side, limit):
            counter = book.best(-side)
            raise ApiError(
                400,
                "ORDER_POC_IMMEDIATE",
                f"order price {fmt(price)} while counter price {counter}",
            )
        if tif == "fok" and book.available(side, limit) < qty:
            raise ApiError(400, "ORDER_FOK", "FOK order could not be filled completely")
        if reduce_only:
            if pos.size == 0:
                raise ApiError(
                    400, "POSITION_EMPTY", "Position is empty, reduce-only order rejected"
                )
            if (pos.size > 0) == (side > 0):
                raise ApiError(
                    400, "INCREASE_POSITION", "reduce-only order would increase position"
                )
            if qty > abs(pos.size):
                raise ApiError(400, "REDUCE_EXCEEDED", "reduce-only order exceeds position size")
        open_count = sum(1 for o in self.open_orders[acct.key].values() if o.contract == spec.name)
        if open_count >= spec.orders_limit and tif in ("gtc", "poc"):
            raise ApiError(400, "TOO_MANY_ORDERS", f"Too many open orders on {spec.name}")
        now = self.clock()
        self._next_order_id += 1
        order = Order(
            id=self._next_order_id, user=acct.uid, key=acct.key, contract=spec.name, side=side,
            qty=qty, price=price, tif=tif, text=text, reduce_only=reduce_only, is_close=is_close,
            mkfr=spec.maker_fee_rate, tkfr=spec.taker_fee_rate, create_time=now, update_time=now,
            left=qty,
        )  # fmt: skip
        if not reduce_only and self.summary(acct, extra=order).available < 0:
            self._next_order_id -= 1
            raise ApiError(400, "INSUFFICIENT_AVAILABLE", "Insufficient available margin")
        self.orders[order.id] = order
        self.open_orders[acct.key][order.id] = order
        if text != "api":
            self.texts[(acct.key, text)] = order.id
        return order

    def _execute(self, order: Order) -> None:
        """Match an open order as taker, then rest or finish what is left."""
        book = self.books[order.contract]
        fills = book.take(order.side, order.price or None, order.left)
        for fill in fills:
            self._match(order.contract, order, fill, order.side)
        if order.left == 0:
            self._finish(order, "filled")
        elif order.tif in ("gtc", "poc"):
            book.add(order)
        else:  # ioc (fok never gets here unfilled, it was checked up front)
            self._finish(order, "ioc")

    def _match(self, contract: str, taker: Order | None, fill: MakerFill, taker_side: int) -> None:
        """Book one match: our maker and/or our taker get fills; the tape prints the trade."""
        if fill.order is not None:
            self._fill(fill.order, fill.price, fill.size, "maker")
            if fill.order.left == 0:
                self._finish(fill.order, "filled")
        if taker is not None:
            self._fill(taker, fill.price, fill.size, "taker")
        self._print(contract, taker_side * fill.size, fill.price)

    def _print(self, contract: str, signed: int, price: Decimal) -> None:
        trade = PublicTrade(self._trade_id(), self.clock(), contract, signed, price)
        self.public_trades[contract].append(trade)
        self.last_price[contract] = price
        self.sink.publish(
            Event("futures.trades", contract, lambda dec: [render.public_trade(trade, dec)])
        )

    def _fill(self, order: Order, price: Decimal, size: int, role: str) -> None:
        acct = self.accounts[order.key]
        spec = self.specs[order.contract]
        now = self.clock()
        order.left -= size
        order.fill_value += price * size
        order.update_time = now
        order.update_id += 1
        rate = order.mkfr if role == "maker" else order.tkfr
        fee = size * spec.quanto_multiplier * price * rate
        signed = order.side * size
        pnl, close_size = self._apply_position(acct, order.contract, signed, price, now)
        pos = acct.position(order.contract)
        pos.pnl_fee -= fee
        pos.realised_pnl += pnl - fee
        acct.balance += pnl - fee
        acct.fees -= fee
        acct.pnl += pnl
        trade = UserTrade(
            self._trade_id(),
            now,
            order.contract,
            order.id,
            signed,
            price,
            order.text,
            fee,
            role,
            close_size,
        )
        acct.trades.append(trade)
        uid, contract = acct.uid, order.contract
        self.sink.publish(
            Event("futures.usertrades", contract, lambda d: [render.user_trade_ws(trade, d)], uid)
        )
        if order.left:
            self._publish_order(order, "_update")
        snap = render.position_ws(pos, acct, spec, False)
        snap_dec = render.position_ws(pos, acct, spec, True)
        self.sink.publish(
            Event("futures.positions", contract, lambda d: [snap_dec if d else snap], uid)
        )
        text = f"{contract}:{order.id}"
        events = [render.balance_ws(acct, -fee, "fee", text, now)]
        if pnl:
            events.append(render.balance_ws(acct, pnl, "pnl", text, now))
        self.sink.publish(Event("futures.balances", "", lambda _d: events, uid))

    def _apply_position(
        self, acct: Account, contract: str, signed: int, price: Decimal, now: float
    ) -> tuple[Decimal, int]:
        """Single-mode position update; returns (realised PnL before fees, closed size signed)."""
        pos = acct.position(contract)
        mult = self.specs[contract].quanto_multiplier
        pnl = ZERO
        close_size = 0
        if pos.size == 0 or (pos.size > 0) == (signed > 0):
            total = abs(pos.size) + abs(signed)
            pos.entry_price = (abs(pos.size) * pos.entry_price + abs(signed) * price) / total
            if pos.size == 0:
                pos.open_time = now
            pos.size += signed
        else:
            closing = min(abs(signed), abs(pos.size))
            direction = 1 if pos.size > 0 else -1
            pnl = closing * mult * (price - pos.entry_price) * direction
            close_size = -direction * closing
            pos.size += signed
            pos.pnl_pnl += pnl
            pos.history_pnl += pnl
            pos.last_close_pnl = pnl
            if pos.size == 0:
                pos.entry_price = ZERO
            elif (pos.size > 0) != (direction > 0):
                pos.entry_price = price  # flipped: the remainder opened at this price
                pos.open_time = now
        pos.update_id += 1
        pos.update_time = now
        return pnl, close_size

    def _finish(self, order: Order, finish_as: str) -> None:
        now = self.clock()
        order.status = "finished"
        order.finish_as = finish_as
        order.finish_time = now
        order.update_time = now
        order.update_id += 1
        self.open_orders[order.key].pop(order.id, None)
        self._publish_order(order, finish_as)

    def _publish_order(self, order: Order, finish_as: str) -> None:
        plain = render.order_ws(order, False, finish_as)
        dec = render.order_ws(order, True, finish_as)
        self.sink.publish(
            Event("futures.orders", order.contract, lambda d: [dec if d else plain], order.user)
        )

    def cancel(self, acct: Account, ref: str) -> Order:
        order = self.find_order(acct, ref)
        if not order.is_open:
            raise ApiError(400, "ORDER_FINISHED", "Order finished")
        self._cancel(order)
        self._flush(order.contract)
        return order

    def _cancel(self, order: Order) -> None:
        self.books[order.contract].remove(order.id)
        self._finish(order, "cancelled")

    def cancel_all(
        self,
        acct: Account,
        contract: str | None,
        side: str | None = None,
        exclude_reduce_only: bool = False,
    ) -> list[Order]:
        if contract:
            self.spec(contract)
        cancelled = []
        for order in list(self.open_orders[acct.key].values()):
            if contract and order.contract != contract:
                continue
            if side and (order.side > 0) != (side == "bid"):
                continue
            if exclude_reduce_only and order.reduce_only:
                continue
            self._cancel(order)
            cancelled.append(order)
        for name in {o.contract for o in cancelled}:
            self._flush(name)
        return cancelled

    def forget_unfilled_finished(self, acct: Account) -> int:
        """Drop the account's finished zero-fill orders, as Gate does after its retention time
        (they then answer ORDER_NOT_FOUND); returns how many were forgotten."""
        gone = [
            o for o in self.orders.values() if o.key == acct.key and not o.is_open and not o.filled
        ]
        for order in gone:
            del self.orders[order.id]
            self.texts.pop((acct.key, order.text), None)
        return len(gone)

    def amend(self, acct: Account, ref: str, body: Any) -> Order:
        order = self.find_order(acct, ref)
        if not isinstance(body, dict):
            raise ApiError(400, "INVALID_REQUEST_BODY", "Request body must be a JSON object")
        if not order.is_open:
            raise ApiError(400, "ORDER_FINISHED", "Order finished")
        spec = self.specs[order.contract]
        new_qty = abs(parse_size(body["size"])) if body.get("size") is not None else order.qty
        new_price = (
            parse_price(body["price"], spec) if body.get("price") not in (None, "") else order.price
        )
        if new_qty == order.qty and new_price == order.price:
            raise ApiError(400, "NO_CHANGE", "No change")
        if body.get("amend_text"):
            order.amend_text = str(body["amend_text"])
        book = self.books[order.contract]
        if new_qty <= order.filled:
            # Gate: a new size at or below the filled part cancels the order.
            self._cancel(order)
            self._flush(order.contract)
            return order
        if (
            new_price != order.price
            and order.tif == "poc"
            and book.would_cross(order.side, new_price)
        ):
            raise ApiError(400, "ORDER_POC_IMMEDIATE", "amended price would take liquidity")
        now = self.clock()
        new_left = new_qty - order.filled
        if new_price == order.price and new_left < order.left:
            book.resize(order.id, new_left)  # same price, smaller: keeps queue priority
            order.left, order.qty = new_left, new_qty
            order.update_time, order.update_id = now, order.update_id + 1
            self._publish_order(order, "_update")
        else:
            book.remove(order.id)  # price change or size increase: back of the queue
            order.left, order.qty, order.price = new_left, new_qty, new_price
            order.update_time, order.update_id = now, order.update_id + 1
            self._publish_order(order, "_update")
            self._execute(order)
        self._flush(order.contract)
        return order

    def list_orders(self, acct: Account, status: str, contract: str | None) -> list[Order]:
        if status == "open":
            orders = list(self.open_orders[acct.key].values())
        else:
            orders = [o for o in self.orders.values() if o.key == acct.key and not o.is_open]
        if contract:
            orders = [o for o in orders if o.contract == contract]
        return sorted(orders, key=lambda o: o.id, reverse=True)

    # ---- dead-man switch -----------------------------------------------------------------
    def countdown(self, acct: Account, timeout: Any, contract: str | None) -> int:
        try:
            seconds = float(timeout)
        except (TypeError, ValueError):
            raise bad_param("timeout", timeout) from None
        if contract:
            self.spec(contract)
        slot = (acct.key, contract or "")
        handle = self._countdowns.pop(slot, None)
        if handle is not None:
            handle.cancel()
        if seconds == 0:
            return 0
        if seconds < self.min_countdown_s:
            raise bad_param("timeout", timeout)
        loop = asyncio.get_running_loop()
        self._countdowns[slot] = loop.call_later(seconds, self._countdown_fired, slot)
        return int((self.clock() + seconds) * 1000)

    def _countdown_fired(self, slot: tuple[str, str]) -> None:
        self._countdowns.pop(slot, None)
        if not self.honour_countdown:
            return  # fault injection: the dead-man switch silently does nothing
        key, contract = slot
        self.cancel_all(self.accounts[key], contract or None)

    def cancel_timers(self) -> None:
        for handle in self._countdowns.values():
            handle.cancel()
        self._countdowns.clear()

    # ---- scripted market hooks -----------------------------------------------------------
    def scripted_take(
        self, contract: str, taker_side: int, limit: Decimal | None, qty: int
    ) -> list[MakerFill]:
        """A crowd taker: consumes the book FIFO (scripted chunks and our orders) and prints."""
        fills = self.books[contract].take(taker_side, limit, qty)
        for fill in fills:
            self._match(contract, None, fill, taker_side)
        return fills

    def sweep_through(self, contract: str, side: int, price: Decimal) -> None:
        """The market moved across our orders on `side` at or through `price`: fill them."""
        book = self.books[contract]
        for order in book.resting_through(side, price):
            book.remove(order.id)
            size = order.left
            self._fill(order, order.price, size, "maker")
            self._print(contract, -order.side * size, order.price)
            self._finish(order, "filled")

    def flush(self, contract: str) -> None:
        self._flush(contract)

    def _flush(self, contract: str) -> None:
        book = self.books[contract]
        delta = book.flush()
        if delta is None:
            return
        self.sink.publish(Event("futures.order_book_update", contract, lambda _d: ("delta", delta)))
        bid, ask = book.best(BID), book.best(ASK)
        top = (
            bid,
            book.level_size(BID, bid) if bid else 0,
            ask,
            book.level_size(ASK, ask) if ask else 0,
        )
        if top != self._tops.get(contract):
            self._tops[contract] = top
            ticker = {"t": delta.t_ms, "u": delta.last_id, "s": contract, "top": top}
            self.sink.publish(Event("futures.book_ticker", contract, lambda _d: ("ticker", ticker)))
            self._publish_ticker(contract)  # the mark price follows the touch


def book_delta_json(contract: str, delta: BookDelta, level: str, dec: bool) -> dict[str, Any]:
    def levels(rows: list[tuple[Decimal, int]]) -> list[dict[str, Any]]:
        return [{"p": fmt(p), "s": render.size_out(s, dec)} for p, s in rows]

    return {
        "t": delta.t_ms,
        "s": contract,
        "U": delta.first_id,
        "u": delta.last_id,
        "b": levels(delta.bids),
        "a": levels(delta.asks),
        "l": level,
    }


def book_ticker_json(ticker: dict[str, Any], dec: bool) -> dict[str, Any]:
    bid, bid_size, ask, ask_size = ticker["top"]
    return {
        "t": ticker["t"],
        "u": ticker["u"],
        "s": ticker["s"],
        "b": fmt(bid) if bid is not None else "",
        "B": render.size_out(bid_size, dec),
        "a": fmt(ask) if ask is not None else "",
        "A": render.size_out(ask_size, dec),
    }
