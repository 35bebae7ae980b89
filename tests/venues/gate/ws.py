"""Gate WebSocket v4 server: subscriptions, per-subscribe private auth, pushes, faults.

The futures paths serve `futures.*` channels; the spot path (`/ws/v4/`) serves the public
`spot.*` market-data channels. Both share the envelope, the ping and the fault injection.

Each connection has an outbound queue drained by its own writer task, so pushes keep the order in
which the exchange published them and a slow client never blocks the matching engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import secrets
import time
from collections import deque
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from aiohttp import WSMsgType
from aiohttp import web

from tests.venues.gate.auth import sign_ws_channel
from tests.venues.gate.events import Event
from tests.venues.gate.exchange import Exchange
from tests.venues.gate.exchange import book_delta_json
from tests.venues.gate.exchange import book_ticker_json
from tests.venues.gate.spot import BOOK_UPDATE as SPOT_BOOK_UPDATE
from tests.venues.gate.spot import SpotExchange

FUTURES_WS_PATHS = ("/v4/ws/futures/usdt", "/v4/ws/usdt", "/ws/futures/usdt", "/v4/ws/fx/usdt")
SPOT_WS_PATHS = ("/ws/v4/", "/ws/v4", "/v4/ws/spot")
WS_PATHS = FUTURES_WS_PATHS + SPOT_WS_PATHS
PUBLIC = ("futures.order_book_update", "futures.book_ticker", "futures.trades", "futures.tickers")
SPOT_PUBLIC = (SPOT_BOOK_UPDATE, "spot.book_ticker", "spot.trades")
SPOT_BOOK_INTERVALS = ("20ms", "100ms")  # 20 and 100 levels
PRIVATE = ("futures.orders", "futures.usertrades", "futures.positions", "futures.balances")
# Accepted so clients that subscribe to them do not fail; the simulator never pushes on them.
QUIET_PRIVATE = (
    "futures.liquidates",
    "futures.auto_deleverages",
    "futures.position_closes",
    "futures.reduce_risk_limits",
    "futures.autoorders",
)
BOOK_UPDATE = "futures.order_book_update"
# (t_ns just before the socket write, contract, u) of each book update frame sent, newest last.
SentBook = tuple[int, str, int]
SENT_LOG_SIZE = 50_000


def _envelope(channel: str, event: str, **extra: Any) -> dict[str, Any]:
    now = time.time()
    return {
        "time": int(now),
        "time_ms": int(now * 1000),
        "channel": channel,
        "event": event,
        **extra,
    }


class SubscribeError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(eq=False)
class Conn:
    ws: web.WebSocketResponse
    transport: asyncio.BaseTransport | None
    size_decimal: bool
    conn_id: str
    sent_books: deque[SentBook] | None = None
    market: str = "futures"  # "futures" | "spot": which channels this endpoint serves
    # (frame, (contract, u) for a book update else None)
    queue: asyncio.Queue[tuple[str, tuple[str, int] | None]] = field(default_factory=asyncio.Queue)
    public: dict[tuple[str, str], str] = field(default_factory=dict)  # (channel, contract) -> level
    private: dict[str, set[tuple[int, str]]] = field(default_factory=dict)  # channel -> {(uid, c)}

    def send(self, message: dict[str, Any], book: tuple[str, int] | None = None) -> None:
        self.queue.put_nowait((json.dumps(message, separators=(",", ":")), book))

    async def writer(self) -> None:
        while True:
            text, book = await self.queue.get()
            if book is not None and self.sent_books is not None:
                self.sent_books.append((time.time_ns(), *book))
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return


class WsHub:
    def __init__(
        self, exchange: Exchange, *, spot: SpotExchange | None = None, heartbeat_s: float = 10.0
    ) -> None:
        self.ex = exchange
        self.spot = spot
        self.heartbeat_s = heartbeat_s
        self.conns: set[Conn] = set()
        self.connections_total = 0
        self.sent_books: deque[SentBook] = deque(maxlen=SENT_LOG_SIZE)

    # ---- server side ---------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        # aiohttp sends protocol-level pings every heartbeat_s and drops peers that do not pong.
        ws = web.WebSocketResponse(heartbeat=self.heartbeat_s)
        await ws.prepare(request)
        conn = Conn(
            ws,
            request.transport,
            request.headers.get("X-Gate-Size-Decimal") == "1",
            secrets.token_hex(8),
            self.sent_books,
            "spot" if request.path in SPOT_WS_PATHS else "futures",
        )
        self.conns.add(conn)
        self.connections_total += 1
        writer = asyncio.get_running_loop().create_task(conn.writer())
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_text(conn, msg.data)
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            self.conns.discard(conn)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return ws

    def drop_all(self) -> int:
        """Fault: cut every connection at the TCP level, without a close frame."""
        dropped = 0
        for conn in list(self.conns):
            if conn.transport is not None:
                conn.transport.abort()
                dropped += 1
            self.conns.discard(conn)
        return dropped

    async def close_all(self) -> None:
        for conn in list(self.conns):
            with contextlib.suppress(Exception):
                await conn.ws.close()
        self.conns.clear()

    # ---- requests ------------------------------------------------------------------------
    def _on_text(self, conn: Conn, data: str) -> None:
        try:
            msg = json.loads(data)
        except ValueError:
            conn.send(
                _envelope(
                    "", "", error={"code": 1, "message": "invalid json"}, result={"status": "fail"}
                )
            )
            return
        if not isinstance(msg, dict):
            conn.send(
                _envelope(
                    "",
                    "",
                    error={"code": 1, "message": "invalid argument struct"},
                    result={"status": "fail"},
                )
            )
            return
        channel = str(msg.get("channel", ""))
        event = str(msg.get("event", ""))
        echo: dict[str, Any] = {"id": msg["id"]} if "id" in msg else {}
        if channel == f"{conn.market}.ping":
            conn.send(_envelope(f"{conn.market}.pong", "", **echo, result=None))
            return
        payload = msg.get("payload")
        base = {
            **echo,
            "conn_id": conn.conn_id,
            "trace_id": secrets.token_hex(16),
            "payload": payload,
        }
        try:
            if event == "subscribe" and conn.market == "spot":
                self._subscribe_spot(conn, channel, payload)
            elif event == "subscribe":
                self._subscribe(conn, channel, payload, msg)
            elif event == "unsubscribe":
                self._unsubscribe(conn, channel, payload)
            else:
                raise SubscribeError(1, f"unsupported event {event!r}")
        except SubscribeError as exc:
            conn.send(
                _envelope(
                    channel,
                    event,
                    **base,
                    error={"code": exc.code, "message": exc.message},
                    result={"status": "fail"},
                )
            )
            return
        conn.send(_envelope(channel, event, **base, error=None, result={"status": "success"}))

    def _contract(self, value: Any) -> str:
        if not isinstance(value, str) or value not in self.ex.specs:
            raise SubscribeError(2, f"unknown contract {value}")
        return value

    def _subscribe(self, conn: Conn, channel: str, payload: Any, msg: dict[str, Any]) -> None:
        if not isinstance(payload, list) or not payload:
            raise SubscribeError(1, "invalid argument struct: payload")
        if channel == "futures.order_book_update":
            contract = self._contract(payload[0])
            freq = payload[1] if len(payload) > 1 else "100ms"
            level = str(payload[2]) if len(payload) > 2 else ("20" if freq == "20ms" else "100")
            if freq not in ("20ms", "100ms") or level not in ("20", "50", "100"):
                raise SubscribeError(2, f"invalid frequency/level {freq}/{level}")
            conn.public[(channel, contract)] = level
        elif channel in PUBLIC:
            for contract in payload:
                conn.public[(channel, self._contract(contract))] = ""
        elif channel in PRIVATE or channel in QUIET_PRIVATE:
            uid = self._authenticate(channel, msg)
            targets = payload[1:] or ["!all"]
            for contract in targets:
                if contract != "!all":
                    self._contract(contract)
                conn.private.setdefault(channel, set()).add((uid, contract))
        else:
            raise SubscribeError(2, f"unknown channel {channel}")

    def _pair(self, value: Any) -> str:
        if self.spot is None or not isinstance(value, str) or value not in self.spot.specs:
            raise SubscribeError(2, f"unknown currency pair {value}")
        return value

    def _subscribe_spot(self, conn: Conn, channel: str, payload: Any) -> None:
        if not isinstance(payload, list) or not payload:
            raise SubscribeError(1, "invalid argument struct: payload")
        if channel == SPOT_BOOK_UPDATE:
            pair = self._pair(payload[0])
            interval = payload[1] if len(payload) > 1 else "100ms"
            if interval not in SPOT_BOOK_INTERVALS:
                raise SubscribeError(2, f"invalid interval {interval}")
            conn.public[(channel, pair)] = interval
        elif channel in SPOT_PUBLIC:
            for pair in payload:
                conn.public[(channel, self._pair(pair))] = ""
        else:
            raise SubscribeError(2, f"unknown channel {channel}")

    def _authenticate(self, channel: str, msg: dict[str, Any]) -> int:
        auth = msg.get("auth")
        if not isinstance(auth, dict) or auth.get("method") != "api_key":
            raise SubscribeError(
                4, json.dumps({"label": "MISSING_REQUIRED_HEADER", "message": "auth required"})
            )
        acct = self.ex.accounts.get(str(auth.get("KEY")))
        if acct is None:
            raise SubscribeError(
                4, json.dumps({"label": "INVALID_KEY", "message": "Invalid key provided"})
            )
        try:
            ts = int(msg.get("time", 0))
        except (TypeError, ValueError):
            ts = 0
        if abs(time.time() - ts) > 60:
            raise SubscribeError(
                4, json.dumps({"label": "REQUEST_EXPIRED", "message": "time out of window"})
            )
        expected = sign_ws_channel(acct.secret, channel, str(msg.get("event")), ts)
        if not hmac.compare_digest(expected, str(auth.get("SIGN", "")).lower()):
            raise SubscribeError(
                4, json.dumps({"label": "INVALID_SIGNATURE", "message": "Signature mismatch"})
            )
        return acct.uid

    def _unsubscribe(self, conn: Conn, channel: str, payload: Any) -> None:
        if channel in PRIVATE or channel in QUIET_PRIVATE:
            conn.private.pop(channel, None)
            return
        books = ("futures.order_book_update", SPOT_BOOK_UPDATE)
        contracts = payload[:1] if channel in books else (payload or [])
        for contract in contracts:
            conn.public.pop((channel, contract), None)

    # ---- pushes --------------------------------------------------------------------------
    def publish(self, event: Event) -> None:
        for conn in self.conns:
            if event.uid is None:
                level = conn.public.get((event.channel, event.contract))
                if level is None:
                    continue
                result = self._public_result(event, conn.size_decimal, level)
            else:
                subs = conn.private.get(event.channel)
                if not subs or not any(
                    uid == event.uid and (c == "!all" or not event.contract or c == event.contract)
                    for uid, c in subs
                ):
                    continue
                result = event.result(conn.size_decimal)
            book = (event.contract, result["u"]) if event.channel == BOOK_UPDATE else None
            conn.send(_envelope(event.channel, "update", result=result), book)

    @staticmethod
    def _public_result(event: Event, dec: bool, level: str) -> Any:
        result = event.result(dec)
        if event.channel == BOOK_UPDATE:
            return book_delta_json(event.contract, result[1], level, dec)
        if event.channel == "futures.book_ticker":
            return book_ticker_json(result[1], dec)
        return result
