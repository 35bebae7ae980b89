"""
The simulator's spot market data and `futures.tickers`, checked over raw sockets and with ccxt.pro
(which knows nothing of the simulator): spot envelopes, U/u ids consistent with the REST snapshot,
the gap and drop faults on the spot socket, and the ticker's string fields.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import ccxt.pro as ccxtpro
import pytest

from tests.venues.gate import GateSimulator
from tests.venues.gate.process import SimulatorProcess

pytestmark = [pytest.mark.gate]

BOOK = "spot.order_book_update"


@pytest.fixture
async def sim() -> AsyncIterator[GateSimulator]:
    async with GateSimulator(seed=4, updates_per_s=100) as simulator:
        yield simulator


async def request(
    ws: aiohttp.ClientWebSocketResponse, channel: str, event: str, payload: list[Any]
) -> dict[str, Any]:
    """Send a request and return its ack (skipping interleaved updates)."""
    msg_id = int(time.time_ns() % 2**31)
    message = {"id": msg_id, "time": int(time.time()), "channel": channel, "event": event}
    await ws.send_json({**message, "payload": payload})
    while True:
        msg = await asyncio.wait_for(ws.receive_json(), 5)
        if msg.get("id") == msg_id:
            return msg


async def rest_book(session: aiohttp.ClientSession, sim: GateSimulator) -> dict[str, Any]:
    query = "currency_pair=BTC_USDT&limit=100&with_id=true"
    async with session.get(f"{sim.rest_url}/spot/order_book?{query}") as response:
        assert response.status == 200
        return await response.json()


def as_map(levels: list[list[str]]) -> dict[str, str]:
    return dict((price, amount) for price, amount in levels)


async def test_spot_socket_speaks_spot(sim: GateSimulator) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(sim.spot_ws_url) as ws:
        await ws.send_json({"time": int(time.time()), "channel": "spot.ping"})
        pong = await asyncio.wait_for(ws.receive_json(), 5)
        assert pong["channel"] == "spot.pong" and pong["result"] is None
        unknown = await request(ws, "spot.trades", "subscribe", ["NOPE_USDT"])
        assert unknown["result"] == {"status": "fail"} and unknown["error"]["code"] == 2
        futures = await request(ws, "futures.trades", "subscribe", ["BTC_USDT"])
        assert futures["result"] == {"status": "fail"}, "futures channels live on the futures URL"
        bad_interval = await request(ws, BOOK, "subscribe", ["BTC_USDT", "5ms"])
        assert bad_interval["error"]["code"] == 2
        for channel, payload in (
            (BOOK, ["BTC_USDT", "100ms"]),
            ("spot.book_ticker", ["BTC_USDT"]),
            ("spot.trades", ["BTC_USDT"]),
        ):
            ack = await request(ws, channel, "subscribe", payload)
            assert ack["result"] == {"status": "success"} and ack["error"] is None

        got: dict[str, dict[str, Any]] = {}
        while len(got) < 3:
            msg = await asyncio.wait_for(ws.receive_json(), 5)
            if msg["event"] == "update":
                got.setdefault(msg["channel"], msg["result"])
        update = got[BOOK]
        assert set(update) == {"t", "e", "E", "s", "U", "u", "b", "a"}
        assert update["e"] == "depthUpdate" and update["s"] == "BTC_USDT"
        assert update["E"] == update["t"] // 1000  # `t` ms, `E` s
        for price, amount in update["b"] + update["a"]:
            assert isinstance(price, str) and isinstance(amount, str)
        ticker = got["spot.book_ticker"]
        assert set(ticker) == {"t", "u", "s", "b", "B", "a", "A"}
        assert all(isinstance(ticker[k], str) for k in "bBaA")
        trade = got["spot.trades"]  # one object per message, not a list
        assert trade["side"] in ("buy", "sell") and trade["currency_pair"] == "BTC_USDT"
        assert isinstance(trade["amount"], str) and isinstance(trade["create_time_ms"], str)


async def test_spot_ids_match_the_rest_snapshot_and_faults_reach_spot(sim: GateSimulator) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(sim.spot_ws_url) as ws:
        await request(ws, BOOK, "subscribe", ["BTC_USDT", "100ms"])
        buffered: list[dict[str, Any]] = []
        closed = asyncio.Event()

        async def reader() -> None:
            async for msg in ws:
                data = json.loads(msg.data)
                if data.get("event") == "update":
                    buffered.append(data["result"])
            closed.set()

        task = asyncio.create_task(reader())
        await asyncio.sleep(0.2)
        snapshot = await rest_book(s, sim)
        await asyncio.sleep(0.5)
        sim.spot_market.pause()
        await asyncio.sleep(0.1)

        # Gate's rule: drop u < id+1; the first applied has U <= id+1 <= u; then U == u_prev + 1.
        book = {"b": as_map(snapshot["bids"]), "a": as_map(snapshot["asks"])}
        local_id = snapshot["id"]
        applied = 0
        for update in buffered:
            if update["u"] < local_id + 1:
                continue
            if applied == 0:
                assert update["U"] <= local_id + 1 <= update["u"]
            else:
                assert update["U"] == local_id + 1, "unexpected gap"
            for side in "ba":
                for price, amount in update[side]:
                    if amount == "0":
                        book[side].pop(price, None)
                    else:
                        book[side][price] = amount
            local_id = update["u"]
            applied += 1
        assert applied > 10
        fresh = await rest_book(s, sim)
        assert fresh["id"] == local_id
        assert book == {"b": as_map(fresh["bids"]), "a": as_map(fresh["asks"])}

        # A burnt id range in the spot book shows up as a hole in U/u on the spot socket.
        seen = len(buffered)
        sim.skip_book_ids(4, "BTC_USDT", market="spot")
        sim.spot_market.trade("buy", sim.spot_market.top()[1], 1)
        while len(buffered) == seen:
            await asyncio.sleep(0.01)
        assert buffered[seen]["U"] == local_id + 5

        assert sim.drop_ws() == 1
        await asyncio.wait_for(closed.wait(), 5)
        task.cancel()


async def test_futures_tickers_push_mark_index_and_funding_as_strings(sim: GateSimulator) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(sim.ws_url) as ws:
        ack = await request(ws, "futures.tickers", "subscribe", ["BTC_USDT"])
        assert ack["result"] == {"status": "success"}
        sim.market.pause()
        sim.market.move_to("30000.0", "30000.3")
        sim.set_funding_rate("-0.000125")
        pushes: list[dict[str, Any]] = []
        while not pushes or pushes[-1]["funding_rate"] != "-0.000125":
            msg = await asyncio.wait_for(ws.receive_json(), 5)
            if msg["event"] == "update":
                assert msg["channel"] == "futures.tickers" and isinstance(msg["result"], list)
                pushes.extend(msg["result"])
        ticker = pushes[-1]
        assert ticker["contract"] == "BTC_USDT"
        assert (ticker["mark_price"], ticker["index_price"]) == ("30000.15", "30000.15")
        for name in ("last", "mark_price", "index_price", "funding_rate", "volume_24h"):
            assert isinstance(ticker[name], str), name
        async with s.get(f"{sim.rest_url}/futures/usdt/tickers?contract=BTC_USDT") as r:
            assert (await r.json()) == [ticker]  # the REST ticker is the same record
        async with s.get(f"{sim.rest_url}/futures/usdt/contracts/BTC_USDT") as r:
            assert (await r.json())["funding_rate"] == "-0.000125"


async def test_ccxt_pro_follows_the_spot_book_trades_and_touch(sim: GateSimulator) -> None:
    ex = ccxtpro.gate({"options": {"fetchMarkets": {"types": ["spot"]}}})
    for api in ("public", "private"):
        for key in ex.urls["api"][api]:
            ex.urls["api"][api][key] = sim.rest_url
    # ccxt.pro takes `spot.order_book_update` (rather than `spot.obu`) on Gate's EU host, which it
    # recognises by "gateeu" in the URL: a query parameter says so without changing the path.
    ex.urls["api"]["spot"] = f"{sim.spot_ws_url}?host=gateeu"
    try:
        await ex.load_markets()
        nonces = []
        for _ in range(3):
            book = await asyncio.wait_for(ex.watch_order_book("BTC/USDT"), 5)
            nonces.append(book["nonce"])
            assert book["bids"][0][0] < book["asks"][0][0]
        assert nonces == sorted(nonces)
        trades = await asyncio.wait_for(ex.watch_trades("BTC/USDT"), 5)
        assert trades[-1]["symbol"] == "BTC/USDT" and trades[-1]["side"] in ("buy", "sell")

        sim.spot_market.pause()
        venue = sim.spot_book("BTC_USDT", limit=100)
        while book["nonce"] != venue["id"]:
            book = await asyncio.wait_for(ex.watch_order_book("BTC/USDT"), 5)
        assert [[float(p), float(a)] for p, a in venue["bids"]] == book["bids"][
            : len(venue["bids"])
        ]
        assert [[float(p), float(a)] for p, a in venue["asks"]] == book["asks"][
            : len(venue["asks"])
        ]
    finally:
        await ex.close()


def test_control_api_reaches_spot_and_funding(tmp_path: Path) -> None:
    """A test in another process drives the spot gap and the funding rate over `/_sim`."""
    with SimulatorProcess.start(tmp_path, "--updates-per-s", "0") as proc:
        assert proc.spot_ws_url.endswith("/ws/v4/")

        def get(path: str) -> Any:
            with urllib.request.urlopen(f"{proc.rest_url}{path}") as response:
                return json.loads(response.read())

        book_id = get("/spot/order_book?currency_pair=BTC_USDT&with_id=true")["id"]
        futures_id = get("/futures/usdt/order_book?contract=BTC_USDT&with_id=true")["id"]
        proc.control.post("gap", n=2, contract="BTC_USDT", market="spot")
        assert get("/spot/order_book?currency_pair=BTC_USDT&with_id=true")["id"] == book_id + 2
        assert get("/futures/usdt/order_book?contract=BTC_USDT&with_id=true")["id"] == futures_id
        proc.control.post("funding", rate="0.0002", contract="BTC_USDT")
        assert get("/futures/usdt/contracts/BTC_USDT")["funding_rate"] == "0.0002"
        assert get("/futures/usdt/tickers?contract=BTC_USDT")[0]["funding_rate"] == "0.0002"
