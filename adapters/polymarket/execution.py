"""
Polymarket CLOB V2 execution client (async; our own signer).

Orders are signed locally (`signing.py`) and posted over L2-authenticated REST, batched 15 a call
for `SubmitOrderList`; their life comes back on the user WebSocket channel and from REST, and each
event is generated once, whichever path shows it first. The venue has no client order ids, but an
order's id is the EIP-712 digest we compute before sending: every order is registered under its
expected id first, so an ambiguous submit (timeout, 5xx, dropped connection) stays in flight and
the first report about that id resolves it, never a rejection.

Outcome tokens are held, never owed: a sell of more than the position not already offered by
resting sells is denied here with the reason, before anything is signed. No amend exists on the
venue; the strategy knows that from its capabilities, and a `ModifyOrder` is refused.

Heartbeats: while connected, `POST /v1/heartbeats` every `heartbeat_interval_s`; if the process
dies or hangs the heartbeats stop and the venue cancels every open order of the account.
"""

from __future__ import annotations

import asyncio
import random
import time
from decimal import Decimal
from typing import Any

import msgspec
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
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
from nautilus_trader.model.currencies import pUSD
from nautilus_trader.model.enums import AccountType
from nautilus_trader.model.enums import OmsType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import OrderType
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.identifiers import AccountId
from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import VenueOrderId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import AccountBalance
from nautilus_trader.model.objects import Money
from nautilus_trader.model.orders import Order

from adapters.denial import deny_order
from adapters.polymarket.amounts import limit_order_amounts
from adapters.polymarket.auth import api_credentials
from adapters.polymarket.config import PolymarketCredentials
from adapters.polymarket.config import PolymarketExecClientConfig
from adapters.polymarket.http import PolymarketApiError
from adapters.polymarket.http import PolymarketHttpClient
from adapters.polymarket.http import PolymarketTransportError
from adapters.polymarket.parsing import POLYMARKET_VENUE
from adapters.polymarket.parsing import split_instrument_id
from adapters.polymarket.parsing import token_instrument_id
from adapters.polymarket.providers import PolymarketInstrumentProvider
from adapters.polymarket.reports import FAILED_TRADE_STATUS
from adapters.polymarket.reports import OurFill
from adapters.polymarket.reports import fill_report
from adapters.polymarket.reports import order_status_report
from adapters.polymarket.reports import our_fills
from adapters.polymarket.reports import position_status_report
from adapters.polymarket.signing import MAX_BATCH_ORDERS
from adapters.polymarket.signing import SALT_LIMIT
from adapters.polymarket.signing import ApiCredentials
from adapters.polymarket.signing import OrderSigner
from adapters.polymarket.signing import l2_headers
from adapters.polymarket.signing import order_payload
from adapters.polymarket.signing import orders_body
from adapters.polymarket.websocket import PolymarketUserWebSocket
from adapters.seen import SeenSet
from strategies.quotes import uncovered_sell

_ORDER_TYPES = {TimeInForce.GTC: "GTC", TimeInForce.GTD: "GTD", TimeInForce.FOK: "FOK"}
_TOKEN_UNIT = Decimal(1_000_000)  # balances are 6-dp integers
_END_CURSOR = "LTE="
_POST_ONLY_WORDS = ("post-only", "post only")


class PolymarketExecutionClient(LiveExecutionClient):
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        instrument_provider: PolymarketInstrumentProvider,
        config: PolymarketExecClientConfig,
        credentials: PolymarketCredentials,
        name: str = "POLYMARKET",
    ) -> None:
        super().__init__(
            loop=loop,
            client_id=ClientId(name),
            venue=POLYMARKET_VENUE,
            oms_type=OmsType.NETTING,
            account_type=AccountType.CASH,
            base_currency=pUSD,
            instrument_provider=instrument_provider,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            config=config,
        )
        self._set_account_id(AccountId(config.account_id))
        self._config = config
        self._credentials = credentials
        self._signer = OrderSigner(
            credentials.private_key,
            chain_id=config.chain_id,
            signature_type=config.signature_type,
            funder=credentials.funder,
        )
        self._api: ApiCredentials | None = None
        self._http = PolymarketHttpClient(
            config.endpoints, timeout_s=config.http_timeout_s, l2_headers=self._l2_headers
        )
        self._ws = PolymarketUserWebSocket(
            config.endpoints.ws_user_url(),
            self._on_ws_message,
            loop,
            on_reconnect=self._on_ws_reconnect,
            ping_interval_s=config.ws_ping_interval_s,
            name=f"{name}-UserWebSocket",
        )
        # Our orders by venue order id, registered before the order is sent.
        self._client_ids: dict[str, ClientOrderId] = {}
        self._seen_fills = SeenSet()
        self._acked = SeenSet()
        self._ended = SeenSet()
        self._salts = random.SystemRandom()
        self._heartbeat: asyncio.Task | None = None
        self._heartbeat_id = ""
        self.heartbeats_sent = 0
        # Submits and cancels whose outcome the venue never told us (left to reports).
        self.unknown_outcomes = 0

    @property
    def signer_address(self) -> str:
        return self._signer.address

    # -- connection ----------------------------------------------------------------------------

    async def _connect(self) -> None:
        await self._instrument_provider.initialize()
        for instrument in self._instrument_provider.list_all():
            self._cache.add_instrument(instrument)
        self._api, source = await api_credentials(self._http, self._signer, self._credentials)
        self._log.info(f"API credentials from {source}")
        await self._refresh_account()
        markets = sorted(
            {split_instrument_id(i.id)[0] for i in self._instrument_provider.list_all()}
        )
        await self._ws.connect(
            {
                "apiKey": self._api.api_key,
                "secret": self._api.api_secret,
                "passphrase": self._api.passphrase,
            },
            markets,
        )
        self._heartbeat = self.create_task(self._send_heartbeats(), log_msg="heartbeats")
        await self._await_account_registered()

    async def _disconnect(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None
        await self._ws.disconnect()
        await self._http.close()

    def _l2_headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        if self._api is None:
            raise PolymarketApiError(401, "API credentials not loaded yet", path)
        return l2_headers(self._signer.address, self._api, int(time.time()), method, path, body)

    async def _send_heartbeats(self) -> None:
        while True:
            try:
                reply = await self._http.request(
                    "POST", "/v1/heartbeats", body={"heartbeat_id": self._heartbeat_id}, signed=True
                )
                self._heartbeat_id = str((reply or {}).get("heartbeat_id") or "")
                self.heartbeats_sent += 1
            except (PolymarketApiError, PolymarketTransportError) as error:
                self._log.warning(f"heartbeat failed ({error}); the venue may cancel our orders")
            await asyncio.sleep(self._config.heartbeat_interval_s)

    def _on_ws_reconnect(self) -> None:
        # Events of the gap are lost: the in-flight and open-order checks resolve what changed,
        # and the balance is read again now.
        self.create_task(self._refresh_account(), log_msg="account refresh after reconnect")

    # -- commands ------------------------------------------------------------------------------

    async def _submit_order(self, command: SubmitOrder) -> None:
        await self._submit([command.order])

    async def _submit_order_list(self, command: SubmitOrderList) -> None:
        await self._submit(list(command.order_list.orders))

    async def _submit(self, orders: list[Order]) -> None:
        ready: list[tuple[Order, str, dict]] = []
        selling: dict[InstrumentId, Decimal] = {}
        for order in orders:
            reason = self._refusal(order, selling.get(order.instrument_id, Decimal(0)))
            if reason is not None:
                self._deny(order, reason)
                continue
            try:
                order_id, payload = self._signed_payload(order)
            except ValueError as error:
                self._deny(order, str(error))
                continue
            if order.side == OrderSide.SELL:
                selling[order.instrument_id] = (
                    selling.get(order.instrument_id, Decimal(0)) + order.quantity.as_decimal()
                )
            self._client_ids[order_id] = order.client_order_id
            self.generate_order_submitted(
                order.strategy_id,
                order.instrument_id,
                order.client_order_id,
                self._clock.timestamp_ns(),
            )
            ready.append((order, order_id, payload))
        for start in range(0, len(ready), MAX_BATCH_ORDERS):
            await self._post(ready[start : start + MAX_BATCH_ORDERS])

    async def _post(self, batch: list[tuple[Order, str, dict]]) -> None:
        single = len(batch) == 1
        body = msgspec.json.encode(batch[0][2]) if single else orders_body([p for *_, p in batch])
        try:
            reply = await self._http.request(
                "POST", "/order" if single else "/orders", body=body, signed=True
            )
        except PolymarketApiError as error:
            for order, _, _ in batch:
                self._reject(order, error.message)
            return
        except PolymarketTransportError as error:
            self.unknown_outcomes += 1
            self._log.warning(
                f"submit of {len(batch)} order(s) outcome unknown ({error}); kept in flight "
                "under their order ids"
            )
            return
        replies = [reply] if single else list(reply or [])
        by_id = {str(r.get("orderID")): r for r in replies if r.get("orderID")}
        for index, (order, order_id, _) in enumerate(batch):
            answer = by_id.get(order_id) or (replies[index] if index < len(replies) else None)
            if answer is None:
                self._log.warning(f"{order.client_order_id}: no answer in the batch; in flight")
                continue
            self._on_post_answer(order, order_id, answer)

    def _on_post_answer(self, order: Order, order_id: str, answer: dict) -> None:
        error = answer.get("errorMsg") or answer.get("error_msg") or ""
        if answer.get("success") is False or error:
            self._reject(order, str(error or "rejected"))
            return
        ts = self._clock.timestamp_ns()
        self._accepted(order, VenueOrderId(str(answer.get("orderID") or order_id)), ts)
        if str(answer.get("status", "")).lower() == "unmatched":
            # An immediate-or-cancel order that found nothing to match.
            self._canceled(order, ts)

    async def _modify_order(self, command: ModifyOrder) -> None:
        order = self._cache.order(command.client_order_id)
        if order is None:
            return
        self.generate_order_modify_rejected(
            order.strategy_id,
            order.instrument_id,
            order.client_order_id,
            order.venue_order_id,
            "Polymarket has no amend: cancel and submit instead",
            self._clock.timestamp_ns(),
        )

    async def _cancel_order(self, command: CancelOrder) -> None:
        order = self._cache.order(command.client_order_id)
        if order is not None and not order.is_closed:
            await self._cancel([order])

    async def _batch_cancel_orders(self, command: BatchCancelOrders) -> None:
        orders = [self._cache.order(c.client_order_id) for c in command.cancels]
        await self._cancel([o for o in orders if o is not None and not o.is_closed])

    async def _cancel_all_orders(self, command: CancelAllOrders) -> None:
        orders = self._cache.orders_open(instrument_id=command.instrument_id)
        orders += self._cache.orders_inflight(instrument_id=command.instrument_id)
        if command.order_side != OrderSide.NO_ORDER_SIDE:
            await self._cancel([o for o in orders if o.side == command.order_side])
            return
        # The venue's own cancel of a token's orders also reaches orders this node never knew
        # (another process, a lost submit answer).
        token_id = split_instrument_id(command.instrument_id)[1]
        try:
            reply = await self._http.request(
                "DELETE", "/cancel-market-orders", body={"asset_id": token_id}, signed=True
            )
        except PolymarketTransportError as error:
            self.unknown_outcomes += 1
            self._log.warning(f"cancel of {command.instrument_id} outcome unknown ({error})")
            return
        except PolymarketApiError as error:
            self._log.warning(f"cancel of {command.instrument_id} refused ({error}); one by one")
            await self._cancel(orders)
            return
        await self._apply_cancel_reply(reply, {self._order_id(o): o for o in orders})

    async def _cancel(self, orders: list[Order]) -> None:
        ids = {self._order_id(o): o for o in orders}
        ids.pop(None, None)
        if not ids:
            return
        try:
            if len(ids) == 1:
                reply = await self._http.request(
                    "DELETE", "/order", body={"orderID": next(iter(ids))}, signed=True
                )
            else:
                reply = await self._http.request("DELETE", "/orders", body=list(ids), signed=True)
        except PolymarketTransportError as error:
            self.unknown_outcomes += 1
            self._log.warning(f"cancel of {len(ids)} order(s) outcome unknown ({error}); pending")
            return
        except PolymarketApiError as error:
            reply = {"canceled": [], "not_canceled": dict.fromkeys(ids, error.message)}
        await self._apply_cancel_reply(reply, ids)

    async def _apply_cancel_reply(self, reply: dict, ids: dict[str | None, Order]) -> None:
        ids.pop(None, None)
        canceled = set(reply.get("canceled") or ())
        ts = self._clock.timestamp_ns()
        for order_id, order in ids.items():
            if order_id in canceled:
                self._canceled(order, ts)
            else:
                # Already cancelled, matched, or unknown: ask what became of it.
                await self._resolve(order, order_id)

    async def _resolve(self, order: Order, order_id: str) -> None:
        try:
            record = await self._http.request("GET", f"/data/order/{order_id}", signed=True)
        except PolymarketApiError as error:
            if error.status == 404 and order.venue_order_id is not None:
                self._canceled(order, self._clock.timestamp_ns())
            else:
                self._log.warning(f"{order.client_order_id}: cannot resolve ({error})")
            return
        except PolymarketTransportError as error:
            self._log.warning(f"{order.client_order_id}: cannot resolve yet ({error})")
            return
        if not record:
            return
        await self._recover_fills(record)
        self._on_order_record(record, order)

    async def _recover_fills(self, record: dict) -> None:
        """Fills of an order the WebSocket may not have shown (its trades, from REST)."""
        matched = Decimal(str(record.get("size_matched") or 0))
        if matched <= 0:
            return
        for trade_id in record.get("associate_trades") or ():
            page = await self._http.request(
                "GET", "/data/trades", params={"id": trade_id}, signed=True
            )
            for trade in _rows(page):
                self._on_trade(trade)

    # -- venue reports -------------------------------------------------------------------------

    def _on_ws_message(self, raw: bytes) -> None:
        try:
            message = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            self._log.warning(f"undecodable user-channel frame: {raw[:200]!r}")
            return
        for event in message if isinstance(message, list) else [message]:
            kind = event.get("event_type")
            if kind == "order":
                self._on_order_record(event, None)
            elif kind == "trade":
                self._on_trade(event)

    def _on_order_record(self, record: dict, order: Order | None) -> None:
        order_id = str(record.get("id", ""))
        order = order or self._find_order(order_id)
        if order is None:
            return  # not ours to track: reconciliation reports it
        ts = self._clock.timestamp_ns()
        kind = str(record.get("type", "")).upper()
        status = str(record.get("status", "")).upper()
        if kind == "CANCELLATION" or status in ("CANCELED", "CANCELED_MARKET_RESOLVED"):
            self._accepted(order, VenueOrderId(order_id), ts)
            self._canceled(order, ts)
        elif status in ("LIVE", "DELAYED", "MATCHED") or kind in ("PLACEMENT", "UPDATE"):
            self._accepted(order, VenueOrderId(order_id), ts)
        elif status == "UNMATCHED":
            self._accepted(order, VenueOrderId(order_id), ts)
            self._canceled(order, ts)

    def _on_trade(self, trade: dict) -> None:
        status = str(trade.get("status", "")).upper()
        if status == FAILED_TRADE_STATUS:
            self._log.error(
                f"trade {trade.get('id')} FAILED on chain after matching: its fills stand in "
                "the cache; the position check will show the venue's holdings"
            )
            return
        for fill in our_fills(trade, self._api.api_key if self._api else ""):
            if fill.fill_id in self._seen_fills:
                continue
            order = self._find_order(fill.order_id)
            instrument = self._cache.instrument(
                token_instrument_id(str(trade.get("market")), fill.asset_id)
            )
            if order is None or instrument is None:
                continue  # reconciliation reports fills of orders we do not know
            self._seen_fills.add(fill.fill_id)
            self._fill(order, fill, instrument)

    def _fill(self, order: Order, fill: OurFill, instrument: Instrument) -> None:
        ts = self._clock.timestamp_ns()
        report = fill_report(fill, instrument, self.account_id, order.client_order_id, ts)
        self._accepted(order, report.venue_order_id, ts)
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
        self.create_task(self._refresh_account(), log_msg="account refresh")

    async def _refresh_account(self) -> None:
        try:
            reply = await self._http.request(
                "GET",
                "/balance-allowance",
                params={"asset_type": "COLLATERAL", "signature_type": self._config.signature_type},
                signed=True,
            )
        except (PolymarketApiError, PolymarketTransportError) as error:
            self._log.warning(f"balance refresh failed: {error}")
            return
        total = Money(Decimal(str(reply.get("balance") or 0)) / _TOKEN_UNIT, pUSD)
        self.generate_account_state(
            [AccountBalance(total, Money(0, pUSD), total)],
            [],
            reported=True,
            ts_event=self._clock.timestamp_ns(),
        )

    # -- reconciliation ------------------------------------------------------------------------

    async def generate_order_status_report(
        self, command: GenerateOrderStatusReport
    ) -> OrderStatusReport | None:
        order = self._cache.order(command.client_order_id) if command.client_order_id else None
        order_id = (
            command.venue_order_id.value
            if command.venue_order_id is not None
            else self._order_id(order)
            if order is not None
            else None
        )
        if order_id is None:
            return None
        try:
            record = await self._http.request("GET", f"/data/order/{order_id}", signed=True)
        except PolymarketApiError as error:
            if error.status == 404:
                return None
            raise
        return self._status_report(record) if record else None

    async def generate_order_status_reports(
        self, command: GenerateOrderStatusReports
    ) -> list[OrderStatusReport]:
        params: dict[str, Any] = {}
        if command.instrument_id is not None:
            params["asset_id"] = split_instrument_id(command.instrument_id)[1]
        records = await self._pages("/data/orders", params)
        reports = [self._status_report(r) for r in records]
        return [r for r in reports if r is not None]

    async def generate_fill_reports(self, command: GenerateFillReports) -> list[FillReport]:
        params: dict[str, Any] = {"maker_address": self._signer.maker}
        if command.instrument_id is not None:
            # Filter by market, not asset: a maker fill on the complementary token is listed
            # under the taker's asset.
            params["market"] = split_instrument_id(command.instrument_id)[0]
        if command.start is not None:
            params["after"] = int(command.start.timestamp())
        reports = []
        ts = self._clock.timestamp_ns()
        for trade in await self._pages("/data/trades", params):
            for fill in our_fills(trade, self._api.api_key if self._api else ""):
                instrument = self._cache.instrument(
                    token_instrument_id(str(trade.get("market")), fill.asset_id)
                )
                if instrument is None:
                    continue
                if command.venue_order_id and command.venue_order_id.value != fill.order_id:
                    continue
                self._seen_fills.add(fill.fill_id)
                client_id = self._client_ids.get(fill.order_id)
                reports.append(fill_report(fill, instrument, self.account_id, client_id, ts))
        return reports

    async def generate_position_status_reports(
        self, command: GeneratePositionStatusReports
    ) -> list[PositionStatusReport]:
        instruments = (
            [self._cache.instrument(command.instrument_id)]
            if command.instrument_id is not None
            else self._instrument_provider.list_all()
        )
        reports = []
        for instrument in instruments:
            if instrument is None:
                continue
            reply = await self._http.request(
                "GET",
                "/balance-allowance",
                params={
                    "asset_type": "CONDITIONAL",
                    "token_id": split_instrument_id(instrument.id)[1],
                    "signature_type": self._config.signature_type,
                },
                signed=True,
            )
            shares = Decimal(str(reply.get("balance") or 0)) / _TOKEN_UNIT
            reports.append(
                position_status_report(
                    instrument.id, instrument, shares, self.account_id, self._clock.timestamp_ns()
                )
            )
        return reports

    async def _pages(self, path: str, params: dict[str, Any]) -> list[dict]:
        rows: list[dict] = []
        cursor = "MA=="
        while cursor != _END_CURSOR:
            page = await self._http.request(
                "GET", path, params={**params, "next_cursor": cursor}, signed=True
            )
            rows += _rows(page)
            cursor = str((page or {}).get("next_cursor") or _END_CURSOR)
        return rows

    def _status_report(self, record: dict) -> OrderStatusReport | None:
        instrument = self._cache.instrument(
            token_instrument_id(str(record["market"]), str(record["asset_id"]))
        )
        if instrument is None:
            return None
        order_id = str(record["id"])
        return order_status_report(
            record,
            instrument,
            self.account_id,
            self._client_ids.get(order_id),
            self._clock.timestamp_ns(),
        )

    # -- helpers -------------------------------------------------------------------------------

    def _refusal(self, order: Order, selling_in_batch: Decimal) -> str | None:
        if order.order_type != OrderType.LIMIT:
            return f"only LIMIT orders are supported on Polymarket, not {order.order_type.name}"
        if order.time_in_force not in _ORDER_TYPES and order.time_in_force != TimeInForce.IOC:
            return f"time in force {order.time_in_force.name} is not supported on Polymarket"
        if order.side != OrderSide.SELL:
            return None
        held = sum(
            (
                p.quantity.as_decimal()
                for p in self._cache.positions_open(instrument_id=order.instrument_id)
            ),
            Decimal(0),
        )
        resting = sum(
            (
                o.leaves_qty.as_decimal()
                for o in self._cache.orders_open(instrument_id=order.instrument_id)
                if o.side == OrderSide.SELL and o.client_order_id != order.client_order_id
            ),
            Decimal(0),
        )
        excess = uncovered_sell(held, resting + selling_in_batch, order.quantity.as_decimal())
        if excess > 0:
            return (
                f"no naked sells: selling {order.quantity} {order.instrument_id} with "
                f"{held} held and {resting + selling_in_batch} already offered ({excess} uncovered)"
            )
        return None

    def _signed_payload(self, order: Order) -> tuple[str, dict]:
        instrument = self._cache.instrument(order.instrument_id)
        if instrument is None:
            raise ValueError(f"{order.instrument_id} is not a loaded instrument")
        side = "BUY" if order.side == OrderSide.BUY else "SELL"
        maker_amount, taker_amount = limit_order_amounts(
            side,
            order.price.as_decimal(),
            order.quantity.as_decimal(),
            instrument.price_increment.as_decimal(),
        )
        signed = self._signer.sign(
            split_instrument_id(order.instrument_id)[1],
            side,
            maker_amount,
            taker_amount,
            neg_risk=bool((instrument.info or {}).get("neg_risk")),
            salt=self._salts.randrange(1, SALT_LIMIT),
            timestamp_ms=self._clock.timestamp_ms(),
        )
        order_type = (
            "FAK" if order.time_in_force == TimeInForce.IOC else _ORDER_TYPES[order.time_in_force]
        )
        expiration = int(order.expire_time_ns // 1_000_000_000) if order_type == "GTD" else 0
        payload = order_payload(
            signed,
            self._api.api_key,
            order_type,
            post_only=order.is_post_only,
            expiration=expiration,
        )
        return signed.order_id, payload

    def _order_id(self, order: Order) -> str | None:
        if order.venue_order_id is not None:
            return order.venue_order_id.value
        for order_id, client_id in self._client_ids.items():
            if client_id == order.client_order_id:
                return order_id
        return None

    def _find_order(self, order_id: str) -> Order | None:
        client_id = self._client_ids.get(order_id)
        if client_id is None:
            client_id = self._cache.client_order_id(VenueOrderId(order_id))
        return self._cache.order(client_id) if client_id is not None else None

    def _deny(self, order: Order, reason: str) -> None:
        self._log.warning(f"{order.client_order_id} denied: {reason}")
        deny_order(self._msgbus, self._clock, order, reason)

    def _reject(self, order: Order, message: str) -> None:
        self.generate_order_rejected(
            order.strategy_id,
            order.instrument_id,
            order.client_order_id,
            message,
            self._clock.timestamp_ns(),
            due_post_only=any(word in message.lower() for word in _POST_ONLY_WORDS),
        )

    def _accepted(self, order: Order, venue_order_id: VenueOrderId, ts: int) -> None:
        unacked = order.status in (OrderStatus.SUBMITTED, OrderStatus.INITIALIZED)
        if unacked and self._acked.add(order.client_order_id):
            self._client_ids[venue_order_id.value] = order.client_order_id
            self.generate_order_accepted(
                order.strategy_id, order.instrument_id, order.client_order_id, venue_order_id, ts
            )

    def _canceled(self, order: Order, ts: int) -> None:
        if not order.is_closed and self._ended.add(order.client_order_id):
            self.generate_order_canceled(
                order.strategy_id,
                order.instrument_id,
                order.client_order_id,
                order.venue_order_id or self._venue_id(order),
                ts,
            )

    def _venue_id(self, order: Order) -> VenueOrderId | None:
        order_id = self._order_id(order)
        return VenueOrderId(order_id) if order_id else None


def _rows(page: Any) -> list[dict]:
    if isinstance(page, list):
        return page
    return list((page or {}).get("data") or [])
