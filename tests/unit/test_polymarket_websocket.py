"""
The Polymarket market-channel connection pool over real sockets: a stand-in market channel on
127.0.0.1 records what the client sends and can drop a connection.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

import pytest
from aiohttp import WSMsgType
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.polymarket.websocket import PolymarketMarketWebSocket

pytestmark = pytest.mark.polymarket


class StandInChannel:
    """Answers text PING with PONG and every subscription with a `book` per token."""

    def __init__(self) -> None:
        self.sockets: list[web.WebSocketResponse] = []
        self.received: list[list] = []  # per socket, in order
        app = web.Application()
        app.router.add_get("/ws/market", self._handle)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def url(self) -> str:
        return str(self.server.make_url("/ws/market")).replace("http://", "ws://")

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        received: list = []
        self.received.append(received)
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            if message.data == "PING":
                received.append("PING")
                await ws.send_str("PONG")
                continue
            body = json.loads(message.data)
            received.append(body)
            if body.get("operation") != "unsubscribe":
                books = [{"event_type": "book", "asset_id": a} for a in body["assets_ids"]]
                await ws.send_str(json.dumps(books))
        return ws


async def _wait_for(predicate: Callable[[], bool]) -> None:
    # Bounded so a broken client fails the test instead of hanging it.
    for _ in range(500):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


@pytest.fixture
async def channel():
    stand_in = StandInChannel()
    await stand_in.server.start_server()
    yield stand_in
    await stand_in.server.close()


@dataclass
class Pool:
    ws: PolymarketMarketWebSocket
    frames: list[bytes] = field(default_factory=list)
    reconnected: list[list[str]] = field(default_factory=list)


@pytest.fixture
async def pool(channel: StandInChannel):
    frames: list[bytes] = []
    reconnected: list[list[str]] = []
    ws = PolymarketMarketWebSocket(
        channel.url,
        frames.append,
        asyncio.get_running_loop(),
        on_reconnect=reconnected.append,
        max_assets_per_connection=2,
        ping_interval_s=1,
    )
    yield Pool(ws, frames, reconnected)
    await ws.disconnect()
    await asyncio.sleep(0.1)  # let the Rust client finish before the event loop closes


def _books(frames: list[bytes]) -> list[str]:
    return [book["asset_id"] for frame in frames for book in json.loads(frame)]


async def test_tokens_beyond_the_limit_open_another_connection(
    channel: StandInChannel, pool: Pool
) -> None:
    await pool.ws.subscribe(["a", "b", "c"])
    await _wait_for(lambda: len(_books(pool.frames)) == 3)
    assert pool.ws.connection_count == 2 and pool.ws.is_connected()
    assert channel.received[0][0] == {"assets_ids": ["a", "b"], "type": "market"}
    assert channel.received[1][0] == {"assets_ids": ["c"], "type": "market"}

    await pool.ws.subscribe(["c", "d"])  # "c" is carried already
    await _wait_for(lambda: "d" in _books(pool.frames))
    assert channel.received[1][1] == {"assets_ids": ["d"], "operation": "subscribe"}
    assert pool.ws.asset_ids == ["a", "b", "c", "d"]

    await pool.ws.unsubscribe(["a"])
    await _wait_for(lambda: len(channel.received[0]) > 1)
    assert {"assets_ids": ["a"], "operation": "unsubscribe"} in channel.received[0]
    await pool.ws.unsubscribe(["c", "d"])  # empties the second connection: it is closed
    assert pool.ws.connection_count == 1 and pool.ws.asset_ids == ["b"]


async def test_text_ping_keeps_the_connection_alive_and_pong_is_swallowed(
    channel: StandInChannel, pool: Pool
) -> None:
    await pool.ws.subscribe(["a"])
    await _wait_for(lambda: channel.received and channel.received[0].count("PING") >= 2)
    assert all(frame != b"PONG" for frame in pool.frames)


async def test_a_dropped_connection_resubscribes_its_tokens(
    channel: StandInChannel, pool: Pool
) -> None:
    await pool.ws.subscribe(["a", "b", "c"])
    await _wait_for(lambda: len(_books(pool.frames)) == 3)
    await channel.sockets[0].close()
    await _wait_for(lambda: len(channel.sockets) == 3 and len(_books(pool.frames)) == 5)
    assert pool.reconnected == [["a", "b"]] and pool.ws.reconnects == 1
    assert channel.received[2][0] == {"assets_ids": ["a", "b"], "type": "market"}
    assert _books(pool.frames)[3:] == ["a", "b"]  # the fresh snapshots


async def test_the_venue_limit_is_enforced() -> None:
    with pytest.raises(ValueError, match="1 to 500"):
        PolymarketMarketWebSocket(
            "ws://127.0.0.1:9", print, asyncio.get_running_loop(), max_assets_per_connection=501
        )
