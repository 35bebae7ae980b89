"""The CLOB WebSocket: `/ws/market` (public book, trades, ticks) and `/ws/user` (own orders and
trades).

Market channel: the first message `{"assets_ids": [...], "type": "market"}` (optionally
`"custom_feature_enabled": true` for `best_bid_ask`, `"initial_dump": false` to skip snapshots)
answers with one JSON array holding a `book` per known asset; later
`{"assets_ids": [...], "operation": "subscribe"|"unsubscribe"}` change the set (at most
`max_assets` per connection, else the server closes with 1008). Pushes are single JSON objects.
User channel: `{"auth": {"apiKey", "secret", "passphrase"}, "type": "user", "markets": [...]}`
(`[]` = every market), then `{"markets": [...], "operation": "subscribe"|"unsubscribe"}`. A bad
key closes the connection with 1008. Text `PING` is answered `PONG`; protocol pings are answered by
aiohttp. Each connection has its own writer task, so pushes keep their order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from aiohttp import WSCloseCode
from aiohttp import WSMsgType
from aiohttp import web

from tests.venues.polymarket.auth import INVALID_API_KEY
from tests.venues.polymarket.auth import KeyRegistry
from tests.venues.polymarket.exchange import Exchange
from tests.venues.polymarket.market_events import book_event

MARKET_PATH = "/ws/market"
USER_PATH = "/ws/user"
MAX_ASSETS = 500


@dataclass(eq=False)
class Conn:
    ws: web.WebSocketResponse
    transport: asyncio.BaseTransport | None
    channel: str  # "market" | "user"
    queue: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    assets: set[str] = field(default_factory=set)
    best_bid_ask: bool = False  # custom_feature_enabled
    user: str | None = None  # lower-case address of the authenticated API key
    markets: set[str] = field(default_factory=set)
    all_markets: bool = False

    def send(self, payload: Any) -> None:
        self.queue.put_nowait(json.dumps(payload, separators=(",", ":")))

    async def writer(self) -> None:
        while True:
            text = await self.queue.get()
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return


class WsHub:
    def __init__(self, exchange: Exchange, keys: KeyRegistry, *, max_assets: int = MAX_ASSETS):
        self.ex = exchange
        self.keys = keys
        self.max_assets = max_assets
        self.conns: set[Conn] = set()
        self.connections_total = 0

    # ---- server side ---------------------------------------------------------------------
    async def handle_market(self, request: web.Request) -> web.WebSocketResponse:
        return await self._serve(request, "market")

    async def handle_user(self, request: web.Request) -> web.WebSocketResponse:
        return await self._serve(request, "user")

    async def _serve(self, request: web.Request, channel: str) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()  # autoping answers clients' protocol pings
        await ws.prepare(request)
        conn = Conn(ws, request.transport, channel)
        self.conns.add(conn)
        self.connections_total += 1
        writer = asyncio.get_running_loop().create_task(conn.writer())
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                        break
                    continue
                if msg.data.strip() == "PING":
                    conn.queue.put_nowait("PONG")
                    continue
                reason = self._on_text(conn, msg.data)
                if reason is not None:
                    await asyncio.sleep(0)  # let the writer flush what is queued
                    await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=reason.encode())
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
    def _on_text(self, conn: Conn, data: str) -> str | None:
        """Handle one client message; returns a close reason when the connection must end."""
        try:
            msg = json.loads(data)
        except ValueError:
            msg = None
        if not isinstance(msg, dict):
            return "INVALID OPERATION: expected a JSON object"
        if conn.channel == "market":
            return self._on_market(conn, msg)
        return self._on_user(conn, msg)

    def _on_market(self, conn: Conn, msg: dict[str, Any]) -> str | None:
        assets = msg.get("assets_ids")
        if not isinstance(assets, list) or not all(isinstance(a, str) for a in assets):
            return "INVALID OPERATION: assets_ids must be a list of token ids"
        operation = msg.get("operation", "subscribe")
        if operation == "unsubscribe":
            conn.assets.difference_update(assets)
            return None
        if operation != "subscribe":
            return f"INVALID OPERATION: unknown operation {operation!r}"
        new = [a for a in dict.fromkeys(assets) if a not in conn.assets]
        if len(conn.assets) + len(new) > self.max_assets:
            return f"too many assets: at most {self.max_assets} per connection"
        conn.assets.update(new)
        if msg.get("custom_feature_enabled") is True:
            conn.best_bid_ask = True
        if msg.get("initial_dump", True) is not False:
            ts_ms = int(time.time() * 1000)
            books = [
                book_event(state, state.index_of(asset), ts_ms)
                for asset in new
                if (state := self.ex.tokens.get(asset)) is not None
            ]
            if books:
                conn.send(books)
        return None

    def _on_user(self, conn: Conn, msg: dict[str, Any]) -> str | None:
        if "auth" in msg or conn.user is None:
            creds = self.keys.for_ws(msg.get("auth"))
            if creds is None:
                return INVALID_API_KEY
            conn.user = creds.address.lower()
        markets = msg.get("markets", [])
        if not isinstance(markets, list) or not all(isinstance(m, str) for m in markets):
            return "INVALID OPERATION: markets must be a list of condition ids"
        operation = msg.get("operation")
        if operation is None:
            conn.all_markets = not markets
            conn.markets = set(markets)
        elif operation == "subscribe":
            conn.markets.update(markets)
        elif operation == "unsubscribe":
            conn.markets.difference_update(markets)
        else:
            return f"INVALID OPERATION: unknown operation {operation!r}"
        return None

    # ---- pushes --------------------------------------------------------------------------
    def publish_market(self, market: str, message: dict[str, Any]) -> None:
        is_price_change = message["event_type"] == "price_change"
        is_best_bid_ask = message["event_type"] == "best_bid_ask"
        for conn in self.conns:
            if conn.channel != "market" or (is_best_bid_ask and not conn.best_bid_ask):
                continue
            if is_price_change:
                changes = [c for c in message["price_changes"] if c["asset_id"] in conn.assets]
                if changes:
                    conn.send({**message, "price_changes": changes})
            elif message["asset_id"] in conn.assets:
                conn.send(message)

    def publish_user(self, user: str, market: str, message: dict[str, Any]) -> None:
        for conn in self.conns:
            wanted = conn.all_markets or market in conn.markets
            if conn.channel == "user" and conn.user == user and wanted:
                conn.send(message)
