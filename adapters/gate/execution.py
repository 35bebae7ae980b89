"""
Gate.io USDT-perpetual execution client.

Orders go out over signed REST (batched where nautilus batches), their life comes back over the
private WebSocket channels, and either path may arrive first: every event is generated once, from
whichever report shows it first. Outcome policy: a `GateTransportError` (timeout, 5xx, broken
connection) never becomes a rejection or a cancel; the order stays in flight until a report
(WebSocket, in-flight check or reconciliation) says what happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Coroutine
from typing import Any

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.common.enums import LogColor
from nautilus_trader.execution.messages import BatchCancelOrders
from nautilus_trader.execution.messages import CancelAllOrders
from nautilus_trader.execution.messages import CancelOrder
from nautilus_trader.execution.messages import GenerateFillReports
from nautilus_trader.execution.messages import GenerateOrderStatusReport
from nautilus_trader.execution.messages import GenerateOrderStatusReports
from nautilus_trader.execution.messages import GeneratePositionStatusReports
from nautilus_trader.execution.messages import ModifyOrder
from nautilus_trader.execution.messages import SubmitOrder
from nautilus_trader.execution.messages import SubmitOrderList
from nautilus_trader.execution.reports import FillReport
from nautilus_trader.execution.reports import OrderStatusReport
from nautilus_trader.execution.reports import PositionStatusReport
from nautilus_trader.live.execution_client import LiveExecutionClient
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.enums import AccountType
from nautilus_trader.model.enums import OmsType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.identifiers import AccountId
from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import VenueOrderId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.orders import Order

from adapters.gate.config import GateExecClientConfig
from adapters.gate.http import GateApiError
from adapters.gate.http import GateHttpClient
from adapters.gate.http import GateTransportError
from adapters.gate.parsing import GATE_VENUE
from adapters.gate.parsing import client_order_id_to_text
from adapters.gate.parsing import contract_name
from adapters.gate.parsing import decode_frame
from adapters.gate.parsing import parse_account_balances
from adapters.gate.parsing import parse_fill_report
from adapters.gate.parsing import parse_order_status_report
from adapters.gate.parsing import parse_position_status_report
from adapters.gate.parsing import perp_instrument_id
from adapters.gate.parsing import plain
from adapters.gate.providers import GateInstrumentProvider
from adapters.gate.websocket import GateWebSocketClient
from adapters.seen import SeenSet

ORDERS = "/futures/usdt/orders"
BATCH_PLACE_MAX = 10
BATCH_CANCEL_MAX = 20
_TIF = {TimeInForce.GTC: "gtc", TimeInForce.IOC: "ioc", TimeInForce.FOK: "fok"}
# Labels that say the order is already gone: ask the venue what became of it.
_GONE = {"ORDER_NOT_FOUND", "ORDER_FINISHED", "ORDER_CLOSED", "ORDER_CANCELLED"}


class GateExecutionClient(LiveExecutionClient):
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        http: GateHttpClient,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        instrument_provider: GateInstrumentProvider,
        config: GateExecClientConfig,
        api_key: str,
        api_secret: str,
        name: str = "GATE",
    ) -> None:
        super().__init__(
            loop=loop,
            client_id=ClientId(name),
            venue=GATE_VENUE,
            oms_type=OmsType.NETTING,
            account_type=AccountType.MARGIN,
            base_currency=USDT,
            instrument_provider=instrument_provider,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            config=config,
        )
        self._set_account_id(AccountId(config.account_id))
        self._config = config
        self._http = http
        _, ws_url = config.endpoints()
        self._ws = GateWebSocketClient(
            ws_url,
            self._on_ws_message,
            loop,
            api_key=api_key,
            api_secret=api_secret,
            on_reconnect=self._on_ws_reconnect,
            name=f"{name}-ExecWebSocket",
        )
        self._uid: str | None = None
        self._seen_trades = SeenSet()
        # Events handed to the engine are applied later, so the cache can lag behind: remember
        # which acks and cancels this client already generated, whichever path reported first.
        self._acked = SeenSet()
        self._ended = SeenSet()
        self._dead_man: asyncio.Task | None = None

    # -- connection ----------------------------------------------------------------------------

    async def _connect(self) -> None:
        await self._http.sync_clock()
        await self._http.connect_orders()
        await self._instrument_provider.initialize()
        for instrument in self._instrument_provider.list_all():
            self._cache.add_instrument(instrument)
        account = await self._http.request("GET", "/futures/usdt/accounts", signed=True)
        self._uid = str(account.get("user", ""))
        self._publish_account(account)
        await self._ws.connect()
        for channel in (
            "futures.orders",
            "futures.usertrades",
            "futures.positions",
            "futures.balances",
        ):
            await self._ws.subscribe(channel, [self._uid, "!all"], private=True)
        await self._await_account_registered()
        if self._config.dead_man_timeout_s:
            self._dead_man = self.create_task(self._refresh_dead_man(), log_msg="dead-man switch")

    async def _disconnect(self) -> None:
        if self._dead_man is not None:
            self._dead_man.cancel()
            self._dead_man = None
            # A deliberate shutdown has already cancelled what it wanted to: disarm the switch.
            await self._countdown(0)
        await self._ws.disconnect()
        await self._http.close()

    async def _refresh_dead_man(self) -> None:
        """Re-arm countdown_cancel_all while healthy; if the process dies, the venue cancels."""
        while True:
            if self._ws.is_connected():
                await self._countdown(self._config.dead_man_timeout_s)
            # Re-arm well before the venue's timer can lapse, whatever the configured refresh.
            await asyncio.sleep(
                min(self._config.dead_man_refresh_s, self._config.dead_man_timeout_s / 3)
            )

    async def _countdown(self, timeout_s: int) -> None:
        try:
            await self._http.request(
                "POST",
                "/futures/usdt/countdown_cancel_all",
                body={"timeout": timeout_s},
                signed=True,
            )
        except (GateApiError, GateTransportError) as error:
            self._log.warning(f"countdown_cancel_all({timeout_s}) failed: {error}")

    def _on_ws_reconnect(self) -> None:
        # Whatever happened during the gap is recovered from REST: open orders and recent fills.
        self.create_task(self._resync_after_gap(), log_msg="resync after reconnect")

    async def _resync_after_gap(self) -> None:
        for instrument_id in {
            order.instrument_id for order in self._cache.orders_open(venue=GATE_VENUE)
        }:
            instrument = self._instrument(instrument_id)
            trades = await self._http.request(
                "GET",
                "/futures/usdt/my_trades",
                params={"contract": contract_name(instrument_id), "limit": 100},
                signed=True,
            )
            for trade in trades:
                self._on_user_trade(trade, instrument)
            for order in list(self._cache.orders_open(instrument_id=instrument_id)):
                await self._resolve(order)

    # -- commands ------------------------------------------------------------------------------

    # Single-order commands override LiveExecutionClient's, which only start a task: the request
    # is written to the venue while the engine hands the command over, and a task awaits the
    # answer. Starting the task first would cost a loop pass and a coroutine chain per order.

    def submit_order(self, command: SubmitOrder) -> None:
        order = command.order
        self.generate_order_submitted(
            command.strategy_id,
            order.instrument_id,
            order.client_order_id,
            self._clock.timestamp_ns(),
        )
        reply = self._http.send_order("POST", ORDERS, body=self._order_body(order))
        self._log.info(f"Submit {order}", LogColor.BLUE)
        self.create_task(
            self._route_submit(order, reply), log_msg=f"submit_order {order.client_order_id}"
        )

    async def _route_submit(self, order: Order, reply: Awaitable[Any]) -> None:
        try:
            data = await reply
        except GateApiError as error:
            self._reject(order, error.label, error.message)
        except GateTransportError as error:
            self._log.warning(
                f"{order.client_order_id}: submit outcome unknown ({error}); kept in flight"
            )
        else:
            self._on_order(data)

    def modify_order(self, command: ModifyOrder) -> None:
        order = self._cache.order(command.client_order_id)
        if order is None:
            return
        quantity = command.quantity or order.quantity
        price = command.price or order.price
        body = {"size": _signed_size(order.side, quantity), "price": plain(price)}
        reply = self._http.send_order("PUT", f"{ORDERS}/{self._order_ref(order)}", body=body)
        self._log.info(f"Modify {order.client_order_id!r} {order.venue_order_id!r}", LogColor.BLUE)
        self.create_task(
            self._route_change(order, reply, "amend", self.generate_order_modify_rejected),
            log_msg=f"modify_order {order.client_order_id}",
        )

    def cancel_order(self, command: CancelOrder) -> None:
        order = self._cache.order(command.client_order_id)
        if order is None or order.is_closed:
            return
        routed = self._cancel_now(order)
        self._log.info(f"Cancel {order.client_order_id!r} {order.venue_order_id!r}", LogColor.BLUE)
        self.create_task(routed, log_msg=f"cancel_order {order.client_order_id}")

    def _cancel_now(self, order: Order) -> Coroutine[Any, Any, None]:
        """Send the cancel of `order` now; the returned coroutine routes the venue's answer."""
        reply = self._http.send_order(
            "DELETE", f"{ORDERS}/{self._order_ref(order)}", limit="cancel"
        )
        return self._route_change(order, reply, "cancel", self.generate_order_cancel_rejected)

    async def _route_change(
        self, order: Order, reply: Awaitable[Any], what: str, refuse: Callable[..., None]
    ) -> None:
        """The answer to an amend or cancel: applied, refused, gone, or unknown."""
        try:
            data = await reply
        except GateApiError as error:
            if error.label in _GONE:
                await self._resolve(order)  # filled or cancelled meanwhile: ask what happened
                return
            refuse(
                order.strategy_id,
                order.instrument_id,
                order.client_order_id,
                order.venue_order_id,
                f"{error.label}: {error.message}",
                self._clock.timestamp_ns(),
            )
        except GateTransportError as error:
            self._log.warning(
                f"{order.client_order_id}: {what} outcome unknown ({error}); kept pending"
            )
        else:
            self._on_order(data)

    async def _submit_order_list(self, command: SubmitOrderList) -> None:
        orders = command.order_list.orders
        now = self._clock.timestamp_ns()
        for order in orders:
            self.generate_order_submitted(
                command.strategy_id, order.instrument_id, order.client_order_id, now
            )
        for start in range(0, len(orders), BATCH_PLACE_MAX):
            batch = orders[start : start + BATCH_PLACE_MAX]
            body = [self._order_body(order) for order in batch]
            try:
                replies = await self._http.request(
                    "POST",
                    "/futures/usdt/batch_orders",
                    body=body,
                    signed=True,
                    limit="order",
                    direct=True,
                    weight=len(batch),
                )
            except GateApiError as error:
                for order in batch:
                    self._reject(order, error.label, error.message)
                continue
            except GateTransportError as error:
                self._log.warning(
                    f"batch of {len(batch)}: submit outcome unknown ({error}); kept in flight"
                )
                continue
            for order, reply in zip(batch, replies, strict=False):
                if reply.get("succeeded", True):
                    self._on_order(reply)
                else:
                    self._reject(
                        order,
                        str(reply.get("label")),
                        str(reply.get("detail") or reply.get("message") or ""),
                    )

    async def _batch_cancel_orders(self, command: BatchCancelOrders) -> None:
        orders = [
            o
            for o in (self._cache.order(c.client_order_id) for c in command.cancels)
            if o is not None
        ]
        orders = [o for o in orders if not o.is_closed and o.venue_order_id is not None]
        for start in range(0, len(orders), BATCH_CANCEL_MAX):
            batch = orders[start : start + BATCH_CANCEL_MAX]
            try:
                replies = await self._http.request(
                    "POST",
                    "/futures/usdt/batch_cancel_orders",
                    body=[o.venue_order_id.value for o in batch],
                    signed=True,
                    limit="cancel",
                    direct=True,
                    weight=len(batch),
                )
            except (GateApiError, GateTransportError) as error:
                self._log.warning(
                    f"batch cancel of {len(batch)} failed ({error}); cancelling one by one"
                )
                for order in batch:
                    await self._cancel_now(order)
                continue
            by_id = {str(r.get("id")): r for r in replies}
            for order in batch:
                reply = by_id.get(order.venue_order_id.value, {})
                if reply.get("succeeded"):
                    self._canceled(order, self._clock.timestamp_ns())
                else:
                    await self._resolve(order)

    async def _cancel_all_orders(self, command: CancelAllOrders) -> None:
        params: dict[str, Any] = {"contract": contract_name(command.instrument_id)}
        if command.order_side != OrderSide.NO_ORDER_SIDE:
            params["side"] = "bid" if command.order_side == OrderSide.BUY else "ask"
        try:
            replies = await self._http.request(
                "DELETE", ORDERS, params=params, signed=True, limit="cancel", direct=True
            )
        except (GateApiError, GateTransportError) as error:
            self._log.warning(
                f"cancel all on {command.instrument_id} failed ({error}); reconciliation will retry"
            )
            return
        for reply in replies:
            self._on_order(reply)
        # Orders the venue did not list were already gone there (filled or cancelled while we
        # were not looking): ask about each rather than leave them pending cancel for ever.
        listed = {str(reply.get("id")) for reply in replies}
        any_side = command.order_side == OrderSide.NO_ORDER_SIDE
        for order in self._cache.orders_open(instrument_id=command.instrument_id):
            unlisted = order.venue_order_id is None or order.venue_order_id.value not in listed
            if unlisted and (any_side or order.side == command.order_side):
                await self._resolve(order)

    # -- venue reports -------------------------------------------------------------------------

    def _on_ws_message(self, raw: bytes) -> None:
        message = decode_frame(raw)
        channel = message.get("channel")
        event = message.get("event")
        if event != "update":
            if message.get("error"):
                self._log.error(f"{channel} {event}: {message['error']}")
            return
        result = message.get("result") or []
        if channel == "futures.orders":
            for order in result:
                self._on_order(order)
        elif channel == "futures.usertrades":
            for trade in result:
                instrument = self._instrument_provider.find(perp_instrument_id(trade["contract"]))
                if instrument is not None:
                    self._on_user_trade(trade, instrument)
        elif channel == "futures.balances":
            self.create_task(self._refresh_account(), log_msg="account refresh")

    def _on_order(self, data: dict) -> None:
        """One venue view of an order (REST reply or WS update) -> the events it implies."""
        instrument = self._instrument_provider.find(perp_instrument_id(data["contract"]))
        if instrument is None:
            return
        report = parse_order_status_report(
            instrument, data, self.account_id, self._clock.timestamp_ns()
        )
        order = self._find_order(report.client_order_id, report.venue_order_id)
        if order is None:
            # Not ours in this session (another process, or before a restart): let the engine
            # reconcile it like any external order.
            self._send_order_status_report(report)
            return
        ts = report.ts_last
        if report.order_status != OrderStatus.REJECTED:
            self._accepted(order, report.venue_order_id, ts)
        if report.order_status == OrderStatus.CANCELED and report.filled_qty < order.quantity:
            self._canceled(order, ts)
        elif report.order_status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED) and (
            order.status == OrderStatus.PENDING_UPDATE
            or report.quantity != order.quantity
            or (order.has_price and report.price != order.price)
        ):
            self.generate_order_updated(
                order.strategy_id,
                order.instrument_id,
                order.client_order_id,
                report.venue_order_id,
                report.quantity,
                report.price,
                None,
                ts,
            )

    def _on_user_trade(self, trade: dict, instrument: Instrument) -> None:
        if not self._seen_trades.add(str(trade["id"])):
            return  # already reported by the other path (WS vs REST)
        report = parse_fill_report(instrument, trade, self.account_id, self._clock.timestamp_ns())
        order = self._find_order(report.client_order_id, report.venue_order_id)
        if order is None:
            self._send_fill_report(report)
            return
        self._accepted(order, report.venue_order_id, report.ts_event)
        self.generate_order_filled(
            strategy_id=order.strategy_id,
            instrument_id=order.instrument_id,
            client_order_id=order.client_order_id,
            venue_order_id=report.venue_order_id,
            venue_position_id=None,
            trade_id=report.trade_id,
            order_side=order.side,
            order_type=order.order_type,
            last_qty=report.last_qty,
            last_px=report.last_px,
            quote_currency=instrument.quote_currency,
            commission=report.commission,
            liquidity_side=report.liquidity_side,
            ts_event=report.ts_event,
        )

    async def _resolve(self, order: Order) -> None:
        """Ask the venue what became of `order` and turn the answer into events."""
        try:
            data = await self._http.request(
                "GET", f"{ORDERS}/{self._order_ref(order)}", signed=True
            )
        except GateApiError as error:
            if error.label == "ORDER_NOT_FOUND" and order.venue_order_id is not None:
                # The venue acknowledged it once and keeps every order with fills, so an order
                # it no longer knows was cancelled with nothing filled (Gate forgets those).
                self._canceled(order, self._clock.timestamp_ns())
            else:
                self._log.warning(f"{order.client_order_id}: cannot resolve ({error})")
            return
        except GateTransportError as error:
            self._log.warning(f"{order.client_order_id}: cannot resolve yet ({error})")
            return
        if float(data.get("size", 0) or 0) != float(data.get("left", 0) or 0):
            instrument = self._instrument(order.instrument_id)
            trades = await self._http.request(
                "GET",
                "/futures/usdt/my_trades",
                params={"contract": data["contract"], "order": data["id"]},
                signed=True,
            )
            for trade in trades:
                self._on_user_trade(trade, instrument)
        self._on_order(data)

    async def _refresh_account(self) -> None:
        account = await self._http.request("GET", "/futures/usdt/accounts", signed=True)
        self._publish_account(account)

    def _publish_account(self, account: dict) -> None:
        balances, margins = parse_account_balances(account)
        self.generate_account_state(
            balances, margins, reported=True, ts_event=self._clock.timestamp_ns()
        )

    # -- reconciliation ------------------------------------------------------------------------

    async def generate_order_status_report(
        self, command: GenerateOrderStatusReport
    ) -> OrderStatusReport | None:
        ref = command.venue_order_id.value if command.venue_order_id else None
        if ref is None and command.client_order_id is not None:
            ref = client_order_id_to_text(command.client_order_id)
        if ref is None:
            return None
        try:
            data = await self._http.request("GET", f"{ORDERS}/{ref}", signed=True)
        except GateApiError as error:
            if error.label == "ORDER_NOT_FOUND":
                return None
            raise
        instrument = self._instrument(perp_instrument_id(data["contract"]))
        return parse_order_status_report(
            instrument, data, self.account_id, self._clock.timestamp_ns()
        )

    async def generate_order_status_reports(
        self, command: GenerateOrderStatusReports
    ) -> list[OrderStatusReport]:
        statuses = ["open"] if command.open_only else ["open", "finished"]
        reports = []
        for contract in self._contracts(command.instrument_id):
            for status in statuses:
                rows = await self._http.request(
                    "GET",
                    ORDERS,
                    params={"contract": contract, "status": status, "limit": 1000},
                    signed=True,
                )
                instrument = self._instrument(perp_instrument_id(contract))
                ts = self._clock.timestamp_ns()
                reports += [
                    parse_order_status_report(instrument, row, self.account_id, ts) for row in rows
                ]
        return [r for r in reports if _in_window(r.ts_last, command.start, command.end)]

    async def generate_fill_reports(self, command: GenerateFillReports) -> list[FillReport]:
        reports = []
        for contract in self._contracts(command.instrument_id):
            params: dict[str, Any] = {"contract": contract, "limit": 1000}
            if command.venue_order_id is not None:
                params["order"] = command.venue_order_id.value
            rows = await self._http.request(
                "GET", "/futures/usdt/my_trades", params=params, signed=True
            )
            instrument = self._instrument(perp_instrument_id(contract))
            ts = self._clock.timestamp_ns()
            for row in rows:
                self._seen_trades.add(str(row["id"]))
                reports.append(parse_fill_report(instrument, row, self.account_id, ts))
        return [r for r in reports if _in_window(r.ts_event, command.start, command.end)]

    async def generate_position_status_reports(
        self, command: GeneratePositionStatusReports
    ) -> list[PositionStatusReport]:
        rows = await self._http.request("GET", "/futures/usdt/positions", signed=True)
        reports = []
        ts = self._clock.timestamp_ns()
        for row in rows:
            instrument_id = perp_instrument_id(row["contract"])
            if command.instrument_id is not None and instrument_id != command.instrument_id:
                continue
            instrument = self._instrument_provider.find(instrument_id)
            if instrument is not None:
                reports.append(parse_position_status_report(instrument, row, self.account_id, ts))
        return reports

    # -- helpers -------------------------------------------------------------------------------

    def _order_body(self, order: Order) -> dict[str, Any]:
        body: dict[str, Any] = {
            "contract": contract_name(order.instrument_id),
            "size": _signed_size(order.side, order.quantity),
            "price": plain(order.price) if order.has_price else "0",
            "tif": "poc" if order.is_post_only else _TIF.get(order.time_in_force, "gtc"),
            "text": client_order_id_to_text(order.client_order_id),
        }
        if order.is_reduce_only:
            body["reduce_only"] = True
        return body

    def _reject(self, order: Order, label: str, message: str) -> None:
        self.generate_order_rejected(
            order.strategy_id,
            order.instrument_id,
            order.client_order_id,
            f"{label}: {message}",
            self._clock.timestamp_ns(),
            due_post_only=label == "ORDER_POC_IMMEDIATE",
        )

    def _accepted(self, order: Order, venue_order_id: VenueOrderId, ts: int) -> None:
        unacked = order.status in (OrderStatus.SUBMITTED, OrderStatus.INITIALIZED)
        if unacked and self._acked.add(order.client_order_id):
            self.generate_order_accepted(
                order.strategy_id, order.instrument_id, order.client_order_id, venue_order_id, ts
            )

    def _canceled(self, order: Order, ts: int) -> None:
        if not order.is_closed and self._ended.add(order.client_order_id):
            self.generate_order_canceled(
                order.strategy_id,
                order.instrument_id,
                order.client_order_id,
                order.venue_order_id,
                ts,
            )

    def _find_order(
        self, client_order_id: ClientOrderId | None, venue_order_id: VenueOrderId | None
    ) -> Order | None:
        if client_order_id is not None:
            order = self._cache.order(client_order_id)
            if order is not None:
                return order
        if venue_order_id is not None:
            client_order_id = self._cache.client_order_id(venue_order_id)
            if client_order_id is not None:
                return self._cache.order(client_order_id)
        return None

    def _order_ref(self, order: Order) -> str:
        # Gate accepts the numeric id or the `t-` text wherever an order id goes in a path; the
        # text works before the venue id is known (an order whose submit reply was lost).
        if order.venue_order_id is not None:
            return order.venue_order_id.value
        return client_order_id_to_text(order.client_order_id)

    def _instrument(self, instrument_id: InstrumentId) -> Instrument:
        instrument = self._instrument_provider.find(instrument_id)
        if instrument is None:
            raise KeyError(f"{instrument_id} is not a loaded Gate instrument")
        return instrument

    def _contracts(self, instrument_id: InstrumentId | None) -> list[str]:
        if instrument_id is not None:
            return [contract_name(instrument_id)]
        # After a restart the cache is empty: what the venue may hold is known only from the
        # instruments this client trades, so ask about every one of them.
        ids = {i.id for i in self._instrument_provider.list_all()}
        ids |= {o.instrument_id for o in self._cache.orders(venue=GATE_VENUE)}
        ids |= {p.instrument_id for p in self._cache.positions(venue=GATE_VENUE)}
        return sorted(contract_name(i) for i in ids)


def _signed_size(side: OrderSide, quantity) -> int | str:
    value = quantity.as_decimal()
    signed = value if side == OrderSide.BUY else -value
    return int(signed) if signed == signed.to_integral_value() else format(signed, "f")


def _in_window(ts: int, start, end) -> bool:
    if start is not None and ts < start.value:
        return False
    return not (end is not None and ts > end.value)
