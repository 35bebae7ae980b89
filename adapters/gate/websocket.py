"""
One Gate.io WebSocket connection: subscriptions (public and signed private), resubscription after
a reconnect, and pong replies, on nautilus' Rust WebSocket client.

Frames are handed raw to the owner's handler; decoding belongs to the data and execution clients,
which know what each channel means.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from nautilus_trader.common.component import Logger
from nautilus_trader.core.nautilus_pyo3 import WebSocketClient
from nautilus_trader.core.nautilus_pyo3 import WebSocketConfig

from adapters.gate.signing import ws_channel_signature


@dataclass(frozen=True)
class Subscription:
    channel: str
    payload: tuple[str, ...]
    private: bool = False


class GateWebSocketClient:
    """
    A futures (or spot) WebSocket session that survives reconnects.

    Every subscription is remembered and replayed after the Rust client reconnects; `on_reconnect`
    then lets the owner resynchronise state that a gap may have broken (order books, orders).
    """

    def __init__(
        self,
        url: str,
        handler: Callable[[bytes], None],
        loop: asyncio.AbstractEventLoop,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        on_reconnect: Callable[[], None] | None = None,
        heartbeat_s: int = 10,
        name: str = "GateWebSocket",
    ) -> None:
        self._url = url
        self._handler = handler
        self._loop = loop
        self._api_key = api_key
        self._api_secret = api_secret
        self._on_reconnect = on_reconnect
        self._heartbeat_s = heartbeat_s
        self._log = Logger(name)
        self._client: WebSocketClient | None = None
        self._subscriptions: dict[tuple[str, tuple[str, ...]], Subscription] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task] = set()
        self.reconnects = 0

    @property
    def url(self) -> str:
        return self._url

    def is_connected(self) -> bool:
        return self._client is not None and self._client.is_active()

    async def connect(self) -> None:
        config = WebSocketConfig(
            url=self._url,
            headers=[("X-Gate-Size-Decimal", "1")],
            heartbeat=self._heartbeat_s,
            reconnect_delay_initial_ms=250,
            reconnect_delay_max_ms=5_000,
            reconnect_jitter_ms=50,
        )
        self._client = await WebSocketClient.connect(
            loop_=self._loop,
            config=config,
            handler=self._handler,
            ping_handler=self._on_ping,
            post_reconnection=self._on_reconnected,
        )
        self._log.info(f"Connected to {self._url}")

    async def disconnect(self) -> None:
        if self._client is not None:
            await self._client.disconnect()
            self._client = None
        for task in list(self._tasks):
            task.cancel()

    async def subscribe(self, channel: str, payload: list[str], *, private: bool = False) -> None:
        subscription = Subscription(channel, tuple(payload), private)
        self._subscriptions[(channel, subscription.payload)] = subscription
        await self._send_subscription(subscription, "subscribe")

    async def unsubscribe(self, channel: str, payload: list[str]) -> None:
        subscription = self._subscriptions.pop((channel, tuple(payload)), None)
        if subscription is not None:
            await self._send_subscription(subscription, "unsubscribe")

    async def send(self, message: dict) -> None:
        if self._client is None:
            raise RuntimeError(f"{self._url}: not connected")
        await self._client.send_text(json.dumps(message, separators=(",", ":")).encode())

    def subscribe_message(self, subscription: Subscription, event: str) -> dict:
        now = int(time.time())
        message: dict = {
            "time": now,
            "id": next(self._ids),
            "channel": subscription.channel,
            "event": event,
            "payload": list(subscription.payload),
        }
        if subscription.private:
            if not self._api_key or not self._api_secret:
                raise RuntimeError(f"{subscription.channel} needs API credentials")
            sign = ws_channel_signature(self._api_secret, subscription.channel, event, now)
            message["auth"] = {"method": "api_key", "KEY": self._api_key, "SIGN": sign}
        return message

    async def _send_subscription(self, subscription: Subscription, event: str) -> None:
        await self.send(self.subscribe_message(subscription, event))

    def _on_ping(self, raw: bytes) -> None:
        if self._client is not None:
            self._spawn(self._client.send_pong(raw))

    def _on_reconnected(self) -> None:
        # Called from the Rust client after it re-established the socket: replay subscriptions,
        # then let the owner resync whatever a gap may have broken.
        self.reconnects += 1
        self._log.warning(f"Reconnected to {self._url}; resubscribing {len(self._subscriptions)}")
        self._spawn(self._resubscribe())

    async def _resubscribe(self) -> None:
        for subscription in list(self._subscriptions.values()):
            await self._send_subscription(subscription, "subscribe")
        if self._on_reconnect is not None:
            self._on_reconnect()

    def _spawn(self, coroutine) -> None:
        # The Rust client runs the reconnect (and ping) callbacks on its own thread, where
        # `loop.create_task` is not safe: hop onto the loop first.
        self._loop.call_soon_threadsafe(self._start_task, coroutine)

    def _start_task(self, coroutine) -> None:
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
