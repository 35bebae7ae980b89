"""
Polymarket market-channel WebSocket: a pool of connections on nautilus' Rust WebSocket client.

Each connection carries up to `max_assets_per_connection` tokens (the venue allows 500); more
tokens open more connections. A connection opens with `{"assets_ids": [...], "type": "market"}`,
later tokens are added and removed with `{"assets_ids": [...], "operation": "subscribe"|
"unsubscribe"}`. Keep-alive is the venue's text `PING` every 10 s (answered with a text `PONG`,
swallowed here). After the Rust client reconnects, the connection's tokens are subscribed again,
which makes the venue send a fresh `book` for each; `on_reconnect` tells the owner first, so it
stops trusting those books before the new snapshots can arrive.

Frames are handed raw to the owner's handler: decoding belongs to the data client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from collections.abc import Iterable

import msgspec
from nautilus_trader.common.component import Logger
from nautilus_trader.core.nautilus_pyo3 import WebSocketClient
from nautilus_trader.core.nautilus_pyo3 import WebSocketConfig

from adapters.polymarket.config import VENUE_MAX_ASSETS_PER_CONNECTION

PING = "PING"
PONG = b"PONG"


def subscribe_message(asset_ids: Iterable[str]) -> dict:
    """The first message of a market-channel connection."""
    return {"assets_ids": list(asset_ids), "type": "market"}


def operation_message(asset_ids: Iterable[str], operation: str) -> dict:
    """Add (`subscribe`) or remove (`unsubscribe`) tokens on an open connection."""
    return {"assets_ids": list(asset_ids), "operation": operation}


class _Connection:
    """One socket and the tokens it carries."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.assets: list[str] = []
        self.client: WebSocketClient | None = None
        self.opening: asyncio.Event | None = None


class PolymarketMarketWebSocket:
    def __init__(
        self,
        url: str,
        handler: Callable[[bytes], None],
        loop: asyncio.AbstractEventLoop,
        *,
        on_reconnect: Callable[[list[str]], None] | None = None,
        max_assets_per_connection: int = 200,
        ping_interval_s: int = 10,
        name: str = "PolymarketMarketWebSocket",
    ) -> None:
        if not 1 <= max_assets_per_connection <= VENUE_MAX_ASSETS_PER_CONNECTION:
            raise ValueError(
                f"max_assets_per_connection={max_assets_per_connection}: the venue allows 1 to "
                f"{VENUE_MAX_ASSETS_PER_CONNECTION}"
            )
        self._url = url
        self._handler = handler
        self._loop = loop
        self._on_reconnect = on_reconnect
        self._max_assets = max_assets_per_connection
        self._ping_interval_s = ping_interval_s
        self._log = Logger(name)
        self._connections: list[_Connection] = []
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()
        self._next_index = 0
        self.reconnects = 0

    @property
    def url(self) -> str:
        return self._url

    @property
    def asset_ids(self) -> list[str]:
        return [asset for connection in self._connections for asset in connection.assets]

    @property
    def connection_count(self) -> int:
        return sum(1 for c in self._connections if c.client is not None)

    def is_connected(self) -> bool:
        """At least one connection, and every one is up."""
        return bool(self._connections) and all(
            c.client is not None and c.client.is_active() for c in self._connections
        )

    async def subscribe(self, asset_ids: Iterable[str]) -> None:
        """Add tokens (already carried ones are ignored), opening connections as needed."""
        async with self._lock:
            carried = set(self.asset_ids)
            new = [a for a in dict.fromkeys(asset_ids) if a not in carried]
            while new:
                connection = self._connection_with_room()
                room = self._max_assets - len(connection.assets)
                batch, new = new[:room], new[room:]
                connection.assets.extend(batch)
                if connection.client is not None:
                    await self._send(connection, operation_message(batch, "subscribe"))
                    continue
                try:
                    await self._open(connection)
                except Exception:
                    self._connections.remove(connection)
                    raise

    async def unsubscribe(self, asset_ids: Iterable[str]) -> None:
        """Remove tokens; a connection left without tokens is closed."""
        async with self._lock:
            gone = set(asset_ids)
            for connection in list(self._connections):
                removed = [a for a in connection.assets if a in gone]
                if not removed:
                    continue
                connection.assets = [a for a in connection.assets if a not in gone]
                if connection.assets:
                    await self._send(connection, operation_message(removed, "unsubscribe"))
                else:
                    self._connections.remove(connection)
                    await self._close(connection)

    async def disconnect(self) -> None:
        async with self._lock:
            connections, self._connections = self._connections, []
            for connection in connections:
                await self._close(connection)
        for task in list(self._tasks):
            task.cancel()

    def _connection_with_room(self) -> _Connection:
        for connection in self._connections:
            if len(connection.assets) < self._max_assets:
                return connection
        connection = _Connection(self._next_index)
        self._next_index += 1
        self._connections.append(connection)
        return connection

    async def _open(self, connection: _Connection) -> None:
        config = WebSocketConfig(
            url=self._url,
            headers=[],
            heartbeat=self._ping_interval_s,
            heartbeat_msg=PING,
            reconnect_delay_initial_ms=250,
            reconnect_delay_max_ms=5_000,
            reconnect_jitter_ms=50,
        )
        connection.client = await WebSocketClient.connect(
            loop_=self._loop,
            config=config,
            handler=self._on_frame,
            post_reconnection=lambda: self._on_reconnected(connection),
        )
        await self._send(connection, subscribe_message(connection.assets))
        self._log.info(
            f"Connected to {self._url} (connection {connection.index}, "
            f"{len(connection.assets)} tokens)"
        )

    async def _close(self, connection: _Connection) -> None:
        client, connection.client = connection.client, None
        if client is not None:
            await client.disconnect()

    async def _send(self, connection: _Connection, message: dict) -> None:
        # A send that fails while the socket is down is not lost: the tokens are on the
        # connection, and the resubscription after the reconnect carries them all.
        if connection.client is None:
            return
        try:
            await connection.client.send_text(msgspec.json.encode(message))
        except Exception as error:
            self._log.warning(f"{self._url} (connection {connection.index}): send failed: {error}")

    def _on_frame(self, raw: bytes) -> None:
        if raw == PONG:
            return
        self._handler(raw)

    def _on_reconnected(self, connection: _Connection) -> None:
        # The Rust client calls this from its own thread (measured): hop onto the event loop,
        # behind any frame of the old socket still queued there.
        self._loop.call_soon_threadsafe(self._resubscribe, connection)

    def _resubscribe(self, connection: _Connection) -> None:
        # The owner distrusts the books first, then the resubscription makes the venue send
        # fresh ones, which can only arrive after this returns.
        if connection.client is None or not connection.assets:
            return
        self.reconnects += 1
        self._log.warning(
            f"Reconnected to {self._url} (connection {connection.index}); "
            f"resubscribing {len(connection.assets)} tokens"
        )
        if self._on_reconnect is not None:
            self._on_reconnect(list(connection.assets))
        task = self._loop.create_task(self._send(connection, subscribe_message(connection.assets)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def user_subscribe_message(credentials: dict[str, str], markets: Iterable[str]) -> dict:
    """The first message of a user-channel connection; `markets: []` means every market."""
    return {"auth": credentials, "type": "user", "markets": list(markets)}


class PolymarketUserWebSocket:
    """
    The authenticated user channel (order and trade events of our API key), one connection.

    After the Rust client reconnects, the subscription is sent again and `on_reconnect` runs on the
    loop: events of the gap are lost, so the owner asks REST what happened meanwhile.
    """

    def __init__(
        self,
        url: str,
        handler: Callable[[bytes], None],
        loop: asyncio.AbstractEventLoop,
        *,
        on_reconnect: Callable[[], None] | None = None,
        ping_interval_s: int = 10,
        name: str = "PolymarketUserWebSocket",
    ) -> None:
        self._url = url
        self._handler = handler
        self._loop = loop
        self._on_reconnect = on_reconnect
        self._ping_interval_s = ping_interval_s
        self._log = Logger(name)
        self._client: WebSocketClient | None = None
        self._subscription: bytes = b""
        self._tasks: set[asyncio.Task] = set()
        self.reconnects = 0

    def is_connected(self) -> bool:
        return self._client is not None and self._client.is_active()

    async def connect(self, credentials: dict[str, str], markets: Iterable[str]) -> None:
        self._subscription = msgspec.json.encode(user_subscribe_message(credentials, markets))
        config = WebSocketConfig(
            url=self._url,
            headers=[],
            heartbeat=self._ping_interval_s,
            heartbeat_msg=PING,
            reconnect_delay_initial_ms=250,
            reconnect_delay_max_ms=5_000,
            reconnect_jitter_ms=50,
        )
        self._client = await WebSocketClient.connect(
            loop_=self._loop,
            config=config,
            handler=self._on_frame,
            post_reconnection=self._on_reconnected,
        )
        await self._client.send_text(self._subscription)
        self._log.info(f"Connected to {self._url}")

    async def disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.disconnect()
        for task in list(self._tasks):
            task.cancel()

    def _on_frame(self, raw: bytes) -> None:
        if raw != PONG:
            self._handler(raw)

    def _on_reconnected(self) -> None:
        # Called on the Rust client's thread: hop onto the loop.
        self._loop.call_soon_threadsafe(self._resubscribe)

    def _resubscribe(self) -> None:
        if self._client is None:
            return
        self.reconnects += 1
        self._log.warning(f"Reconnected to {self._url}; resubscribing")
        task = self._loop.create_task(self._send_subscription())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_subscription(self) -> None:
        try:
            await self._client.send_text(self._subscription)
        except Exception as error:
            self._log.warning(f"{self._url}: resubscribe failed: {error}")
            return
        if self._on_reconnect is not None:
            self._on_reconnect()
