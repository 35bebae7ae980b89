"""The local Gate.io simulator, checked with independent clients (ccxt, ccxt.pro, raw aiohttp).

If ccxt, which knows nothing of the simulator, can trade against it and sees Gate's errors as
the right exception types, then the simulator speaks Gate's protocol well enough to test our own
adapters against it.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import ccxt.async_support as ccxt
import ccxt.pro as ccxtpro
import pytest

from tests.venues.gate import GateSimulator
from tests.venues.gate.auth import sign_rest
from tests.venues.gate.auth import sign_ws_channel
from tests.venues.gate.contracts import fmt
from tests.venues.gate.process import SimulatorProcess

pytestmark = [pytest.mark.gate]

KEY, SECRET, UID = "test-key", "test-secret", 10001
OTHER_KEY, OTHER_SECRET, OTHER_UID = "other-key", "other-secret", 10002
ACCOUNTS = {KEY: (SECRET, UID, 100_000), OTHER_KEY: (OTHER_SECRET, OTHER_UID, 50_000)}
SYMBOL = "BTC/USDT:USDT"


def ccxt_options(cls: type, sim: GateSimulator, secret: str = SECRET) -> Any:
    """ccxt gate pointed at the simulator, as in venues.md 1.7."""
    ex = cls(
        {
            "apiKey": KEY,
            "secret": secret,
            "uid": str(UID),
            "options": {
                "fetchMarkets": {"types": ["swap"]},
                "swap": {"fetchMarkets": {"settlementCurrencies": ["usdt"]}},
                "unifiedAccount": False,
            },
        }
    )
    for api in ("public", "private"):
        for k in ex.urls["api"][api]:
            ex.urls["api"][api][k] = sim.rest_url
    return ex


@pytest.fixture
async def sim() -> AsyncIterator[GateSimulator]:
    # A paused market: the tests script every move, so results are exact.
    async with GateSimulator(ACCOUNTS, seed=7, updates_per_s=50, min_countdown_s=1.0) as s:
        s.market.pause()
        yield s


@pytest.fixture
async def gate(sim: GateSimulator) -> AsyncIterator[Any]:
    ex = ccxt_options(ccxt.gate, sim)
    await ex.load_markets()
    try:
        yield ex
    finally:
        await ex.close()


async def signed(
    session: aiohttp.ClientSession,
    sim: GateSimulator,
    method: str,
    path: str,
    *,
    query: str = "",
    body: Any = None,
    key: str = KEY,
    secret: str = SECRET,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, aiohttp.typedefs.LooseHeaders]:
    """A hand-signed Gate v4 request (independent of ccxt's signer)."""
    raw = json.dumps(body) if body is not None else ""  # gate-api style: spaces after , and :
    ts = str(time.time())
    full = f"/api/v4{path}"
    sign = sign_rest(secret, method, full, query, raw, ts)
    hdrs = {"KEY": key, "Timestamp": ts, "SIGN": sign, "Content-Type": "application/json"}
    url = f"{sim.base_url}{full}" + (f"?{query}" if query else "")
    async with session.request(method, url, data=raw, headers={**hdrs, **(headers or {})}) as r:
        return r.status, await r.json(), r.headers


# ---- signing -------------------------------------------------------------------------------


def test_official_signing_vectors() -> None:
    ts = "1541993715"
    get = sign_rest(
        "secret",
        "GET",
        "/api/v4/futures/orders",
        "contract=BTC_USD&status=finished&limit=50",
        b"",
        ts,
    )
    assert get == (
        "55f84ea195d6fe57ce62464daaa7c3c02fa9d1dde954e4c898289c9a2407a3d6"
        "fb3faf24deff16790d726b66ac9f74526668b13bd01029199cc4fcc522418b8a"
    )
    body = '{"contract":"BTC_USD","type":"limit","size":100,"price":6800,"time_in_force":"gtc"}'
    post = sign_rest("secret", "POST", "/api/v4/futures/orders", "", body, ts)
    assert post == (
        "eae42da914a590ddf727473aff25fc87d50b64783941061f47a3fdb92742541f"
        "c4c2c14017581b4199a1418d54471c269c03a38d788d802e2c306c37636389f0"
    )
    ws = sign_ws_channel("secret", "futures.orders", "subscribe", 1541993715)
    assert ws == (
        "4cdab02f21aba635fce8684a050806325cb4aa74a93d00c39f2084da73614d2e"
        "1d25878ca7c9ebcbde9541cddfc5ae36b1ccde10982eb82fd09f7a30a6d43d84"
    )


# ---- REST through ccxt ---------------------------------------------------------------------


async def test_markets_and_order_book(sim: GateSimulator, gate: Any) -> None:
    market = gate.market(SYMBOL)
    assert market["contractSize"] == 0.0001
    assert market["precision"]["price"] == 0.1
    assert market["info"]["maker_fee_rate"] == "-0.000152"
    book = await gate.fetch_order_book(SYMBOL)
    bids, asks = book["bids"], book["asks"]
    assert bids[0][0] < asks[0][0]
    assert [b[0] for b in bids] == sorted((b[0] for b in bids), reverse=True)
    assert [a[0] for a in asks] == sorted(a[0] for a in asks)
    assert book["nonce"] == sim.exchange.books["BTC_USDT"].id
    # ccxt sends X-Gate-Size-Decimal: 1 -> sizes as strings; without it, integers.
    async with aiohttp.ClientSession() as s:
        url = f"{sim.rest_url}/futures/usdt/order_book?contract=BTC_USDT&limit=5&with_id=true"
        async with s.get(url) as r:
            plain = await r.json()
        async with s.get(url, headers={"X-Gate-Size-Decimal": "1"}) as r:
            dec = await r.json()
    assert isinstance(plain["bids"][0]["s"], int) and isinstance(dec["bids"][0]["s"], str)
    assert set(plain) == {"id", "current", "update", "asks", "bids"} and len(plain["asks"]) == 5


async def test_order_lifecycle(sim: GateSimulator, gate: Any) -> None:
    bid, ask = sim.market.top()
    below = float(bid - 10)
    order = await gate.create_order(
        SYMBOL, "limit", "buy", 3, below, {"postOnly": True, "clientOrderId": "abc123"}
    )
    assert order["status"] == "open" and order["clientOrderId"] == "t-abc123"
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        await gate.create_order(SYMBOL, "limit", "buy", 1, float(ask), {"postOnly": True})
    with pytest.raises(ccxt.InsufficientFunds):
        await gate.create_order(SYMBOL, "limit", "buy", 1_000_000, below)

    open_orders = await gate.fetch_open_orders(SYMBOL)
    assert [o["id"] for o in open_orders] == [order["id"]]

    amended = await gate.edit_order(order["id"], SYMBOL, "limit", "buy", 5, below - 1)
    assert amended["price"] == below - 1 and amended["amount"] == 5
    # Fetch by client text works too (Gate accepts t-... in place of the id).
    async with aiohttp.ClientSession() as s:
        status, by_text, _ = await signed(s, sim, "GET", "/futures/usdt/orders/t-abc123")
    assert status == 200 and str(by_text["id"]) == order["id"]

    cancelled = await gate.cancel_order(order["id"], SYMBOL)
    assert cancelled["status"] == "canceled"
    with pytest.raises(ccxt.OrderNotFound):
        await gate.cancel_order("12345", SYMBOL)

    await gate.create_order(SYMBOL, "limit", "buy", 1, below, {"postOnly": True})
    await gate.create_order(SYMBOL, "limit", "sell", 1, float(ask + 10), {"postOnly": True})
    result = await gate.cancel_all_orders(SYMBOL)
    assert len(result) == 2
    assert await gate.fetch_open_orders(SYMBOL) == []
    finished = sim.orders(KEY, status="finished")
    assert {o["finish_as"] for o in finished} == {"cancelled"}


async def test_queue_priority_fills_positions_and_balance(sim: GateSimulator, gate: Any) -> None:
    bid, _ = sim.market.top()
    book = sim.exchange.books["BTC_USDT"]
    crowd = book.level_size(1, bid)
    order = await gate.create_order(SYMBOL, "limit", "buy", 3, float(bid), {"postOnly": True})
    assert book.queue_ahead(int(order["id"])) == crowd  # behind the displayed liquidity

    sim.market.trade("sell", bid, crowd)  # eats exactly the crowd ahead of us
    assert (await gate.fetch_order(order["id"], SYMBOL))["filled"] == 0
    sim.market.trade("sell", bid, 2)
    partial = await gate.fetch_order(order["id"], SYMBOL)
    assert partial["filled"] == 2 and partial["status"] == "open"
    sim.market.move_to(bid - Decimal("1"), bid)  # the ask comes down onto our bid: fills the rest
    assert (await gate.fetch_order(order["id"], SYMBOL))["status"] == "closed"

    trades = await gate.fetch_my_trades(SYMBOL)
    assert sum(t["amount"] for t in trades) == 3
    assert {t["takerOrMaker"] for t in trades} == {"maker"}
    rebate = sum(t["fee"]["cost"] for t in trades)
    assert rebate < 0  # maker fee is negative: a rebate
    expected = -3 * 0.0001 * float(bid) * -0.000152
    assert rebate == pytest.approx(-expected, rel=1e-9)

    positions = await gate.fetch_positions([SYMBOL])
    pos = next(p for p in positions if p["symbol"] == SYMBOL)
    assert pos["contracts"] == 3 and pos["side"] == "long"
    assert pos["entryPrice"] == float(bid)

    # Close as taker at a higher price: realised PnL and taker fee land in the balance.
    sim.market.move_to(bid + 10, bid + Decimal("10.1"))
    await gate.create_order(SYMBOL, "market", "sell", 3, None, {"reduceOnly": True})
    assert sim.position(KEY)["size"] == 0
    balance = await gate.fetch_balance({"type": "swap"})
    pnl = 3 * 0.0001 * 10
    taker_fee = 3 * 0.0001 * float(bid + 10) * 0.00075
    assert balance["USDT"]["total"] == pytest.approx(100_000 + pnl - taker_fee - rebate, abs=1e-9)


async def test_amend_queue_priority(sim: GateSimulator, gate: Any) -> None:
    bid, _ = sim.market.top()
    book = sim.exchange.books["BTC_USDT"]
    crowd = book.level_size(1, bid)
    a = await gate.create_order(SYMBOL, "limit", "buy", 5, float(bid), {"postOnly": True})
    b = await gate.create_order(SYMBOL, "limit", "buy", 4, float(bid), {"postOnly": True})
    a_id, b_id = int(a["id"]), int(b["id"])
    assert (book.queue_ahead(a_id), book.queue_ahead(b_id)) == (crowd, crowd + 5)
    await gate.edit_order(a["id"], SYMBOL, "limit", "buy", 3, float(bid))  # smaller: keeps place
    assert (book.queue_ahead(a_id), book.queue_ahead(b_id)) == (crowd, crowd + 3)
    await gate.edit_order(a["id"], SYMBOL, "limit", "buy", 6, float(bid))  # bigger: back of queue
    assert (book.queue_ahead(a_id), book.queue_ahead(b_id)) == (crowd + 4, crowd)
    # Amending to at most the filled part cancels the order.
    sim.market.trade("sell", bid, crowd + 4 + 1)
    amended = await gate.edit_order(a["id"], SYMBOL, "limit", "buy", 1, float(bid))
    assert amended["status"] == "canceled" and amended["filled"] == 1


async def test_countdown_cancel_all(sim: GateSimulator, gate: Any) -> None:
    bid, _ = sim.market.top()
    await gate.create_order(SYMBOL, "limit", "buy", 1, float(bid - 5), {"postOnly": True})
    resp = await gate.privateFuturesPostSettleCountdownCancelAll(
        {"settle": "usdt", "timeout": 1, "contract": "BTC_USDT"}
    )
    assert int(resp["triggerTime"]) > time.time() * 1000
    await asyncio.sleep(1.3)
    assert await gate.fetch_open_orders(SYMBOL) == []
    assert sim.orders(KEY)[0]["finish_as"] == "cancelled"

    # Timeout 0 disables; and a venue that silently ignores the switch leaves orders alone.
    await gate.create_order(SYMBOL, "limit", "buy", 1, float(bid - 5), {"postOnly": True})
    sim.honour_countdown(False)
    await gate.privateFuturesPostSettleCountdownCancelAll({"settle": "usdt", "timeout": 1})
    await asyncio.sleep(1.3)
    assert len(await gate.fetch_open_orders(SYMBOL)) == 1
    with pytest.raises(ccxt.BadRequest):
        await gate.privateFuturesPostSettleCountdownCancelAll({"settle": "usdt", "timeout": 0.5})


async def test_faults_surface_as_ccxt_errors(sim: GateSimulator, gate: Any) -> None:
    sim.fail_next(1, status=429, path="/order_book")
    with pytest.raises(ccxt.RateLimitExceeded):
        await gate.fetch_order_book(SYMBOL)
    sim.fail_next(1, status=502, method="GET")
    with pytest.raises(ccxt.ExchangeNotAvailable):
        await gate.fetch_open_orders(SYMBOL)
    assert len(await gate.fetch_open_orders(SYMBOL)) == 0  # fault consumed

    sim.slow_next(1, 0.3, path="/accounts")
    t0 = time.perf_counter()
    await gate.fetch_balance({"type": "swap"})
    assert time.perf_counter() - t0 >= 0.3

    bid, _ = sim.market.top()
    sim.order_timeout_next(1, delay_s=5)
    gate.timeout = 300  # ms
    with pytest.raises(ccxt.RequestTimeout):
        await gate.create_order(SYMBOL, "limit", "buy", 1, float(bid - 5))
    gate.timeout = 10_000
    assert len(await gate.fetch_open_orders(SYMBOL)) == 1  # accepted despite the timeout
    sim.fail_next(1, status=500, path="/orders", method="POST", after=True)
    with pytest.raises(ccxt.ExchangeNotAvailable):
        await gate.create_order(SYMBOL, "limit", "buy", 1, float(bid - 6))
    assert len(await gate.fetch_open_orders(SYMBOL)) == 2  # the 500 hid a real placement

    wrong = ccxt_options(ccxt.gate, sim, secret="wrong")
    wrong.markets, wrong.markets_by_id = gate.markets, gate.markets_by_id
    wrong.currencies = gate.currencies
    try:
        with pytest.raises(ccxt.AuthenticationError, match="INVALID_SIGNATURE"):
            await wrong.fetch_open_orders(SYMBOL)
    finally:
        await wrong.close()
    log = sim.requests
    assert log and all(r.t_ns > 0 and r.path.startswith("/api/v4/") for r in log)


async def test_auth_errors_and_real_rate_limiter() -> None:
    async with (
        GateSimulator(ACCOUNTS, updates_per_s=0, rate_limits={"order": (5, 1.0)}) as sim,
        aiohttp.ClientSession() as s,
    ):
        bid, _ = sim.market.top()
        body = {"contract": "BTC_USDT", "size": "1", "price": str(bid - 5), "tif": "gtc"}
        status, resp, _ = await signed(
            s, sim, "POST", "/futures/usdt/orders", body=body, key="nope"
        )
        assert (status, resp["label"]) == (401, "INVALID_KEY")
        # Expired timestamp.
        ts = str(int(time.time()) - 120)
        hdrs = {
            "KEY": KEY,
            "Timestamp": ts,
            "SIGN": sign_rest(SECRET, "GET", "/api/v4/futures/usdt/accounts", "", "", ts),
        }
        async with s.get(f"{sim.rest_url}/futures/usdt/accounts", headers=hdrs) as r:
            assert (r.status, (await r.json())["label"]) == (401, "REQUEST_EXPIRED")

        statuses, remains = [], []
        for _ in range(7):
            status, resp, headers = await signed(s, sim, "POST", "/futures/usdt/orders", body=body)
            statuses.append(status)
            remains.append(headers.get("X-Gate-RateLimit-Requests-Remain"))
        assert statuses == [201] * 5 + [429] * 2
        assert remains[:5] == ["4", "3", "2", "1", "0"]
        assert resp["label"] == "TOO_MANY_REQUESTS"
        # Integer sizes without the decimal header; the order has the Gate shape.
        status, orders, _ = await signed(s, sim, "GET", "/futures/usdt/orders", query="status=open")
        assert status == 200 and len(orders) == 5
        assert (
            orders[0]["size"] == 1 and orders[0]["text"] == "api" and "finish_as" not in orders[0]
        )

        # Batch endpoints: per-item success.
        bad = {**body, "text": "no-prefix"}
        status, res, _ = await signed(
            s,
            sim,
            "POST",
            "/futures/usdt/batch_cancel_orders",
            body=[str(o["id"]) for o in orders[:2]] + ["1"],
        )
        assert [r["succeeded"] for r in res] == [True, True, False]
        await asyncio.sleep(1.0)  # next rate-limit window
        status, res, _ = await signed(
            s, sim, "POST", "/futures/usdt/batch_orders", body=[body, bad]
        )
        assert status == 201 and [r["succeeded"] for r in res] == [True, False]
        assert res[1]["label"] == "INVALID_PARAM_VALUE"


async def test_poc_fok_ioc_and_self_cross(sim: GateSimulator) -> None:
    bid, ask = sim.market.top()
    book = sim.exchange.books["BTC_USDT"]
    async with aiohttp.ClientSession() as s:
        order = {"contract": "BTC_USDT", "price": str(ask), "text": "t-x"}
        st, res, _ = await signed(
            s, sim, "POST", "/futures/usdt/orders", body={**order, "size": 1, "tif": "poc"}
        )
        assert (st, res["label"]) == (400, "ORDER_POC_IMMEDIATE")
        off_tick = {**order, "size": 1, "price": str(ask + Decimal("0.05"))}
        st, res, _ = await signed(s, sim, "POST", "/futures/usdt/orders", body=off_tick)
        assert (st, res["label"]) == (400, "INVALID_PARAM_VALUE")
        too_big = book.level_size(-1, ask) + 1
        st, res, _ = await signed(
            s, sim, "POST", "/futures/usdt/orders", body={**order, "size": too_big, "tif": "fok"}
        )
        assert (st, res["label"]) == (400, "ORDER_FOK")
        st, res, _ = await signed(
            s, sim, "POST", "/futures/usdt/orders", body={**order, "size": too_big, "tif": "ioc"}
        )
        assert st == 201 and res["finish_as"] == "ioc" and res["left"] == 1
        # Two accounts cross each other inside the spread: maker and taker both fill.
        sim.market.move_to(bid - 5, ask + 5)  # open a wide spread; trade inside it
        mid = bid
        st, maker, _ = await signed(
            s,
            sim,
            "POST",
            "/futures/usdt/orders",
            body={"contract": "BTC_USDT", "size": -2, "price": str(mid), "tif": "poc"},
        )
        assert st == 201 and maker["status"] == "open"
        st, taker, _ = await signed(
            s,
            sim,
            "POST",
            "/futures/usdt/orders",
            key=OTHER_KEY,
            secret=OTHER_SECRET,
            body={"contract": "BTC_USDT", "size": 2, "price": str(mid), "tif": "ioc"},
        )
        assert st == 201 and taker["finish_as"] == "filled" and taker["fill_price"] == fmt(mid)
        assert sim.position(OTHER_KEY)["size"] == 2


# ---- WebSocket ----------------------------------------------------------------------------


async def ws_request(
    ws: aiohttp.ClientWebSocketResponse, channel: str, event: str, payload: list[Any], **extra: Any
) -> dict[str, Any]:
    """Send a request and return its ack (skipping interleaved updates)."""
    msg_id = int(time.time_ns() % 2**31)
    await ws.send_json(
        {
            "id": msg_id,
            "time": int(time.time()),
            "channel": channel,
            "event": event,
            "payload": payload,
            **extra,
        }
    )
    while True:
        msg = await asyncio.wait_for(ws.receive_json(), 5)
        if msg.get("id") == msg_id:
            return msg


def private_auth(channel: str, event: str = "subscribe", secret: str = SECRET) -> dict[str, Any]:
    ts = int(time.time())
    return {
        "time": ts,
        "auth": {
            "method": "api_key",
            "KEY": KEY,
            "SIGN": sign_ws_channel(secret, channel, event, ts),
        },
    }


async def test_ws_book_sync_matches_rest_and_gap_detection() -> None:
    async with (
        GateSimulator(ACCOUNTS, seed=3, updates_per_s=100) as sim,
        aiohttp.ClientSession() as s,
        s.ws_connect(sim.ws_url) as ws,
    ):
        ack = await ws_request(
            ws, "futures.order_book_update", "subscribe", ["BTC_USDT", "100ms", "100"]
        )
        assert ack["result"] == {"status": "success"} and ack["error"] is None
        buffered: list[dict[str, Any]] = []
        reader_done = asyncio.Event()

        async def reader() -> None:
            async for msg in ws:
                data = json.loads(msg.data)
                if data.get("event") == "update":
                    buffered.append(data["result"])
            reader_done.set()

        task = asyncio.create_task(reader())
        await asyncio.sleep(0.2)
        async with s.get(
            f"{sim.rest_url}/futures/usdt/order_book?contract=BTC_USDT&limit=100&with_id=true"
        ) as r:
            snap = await r.json()
        await asyncio.sleep(0.5)
        sim.market.pause()
        await asyncio.sleep(0.1)

        # Gate's sync rule: drop u < id+1; the first applied has U <= id+1 <= u;
        # every later one has U == previous u + 1.
        book = {
            1: {lv["p"]: lv["s"] for lv in snap["bids"]},
            -1: {lv["p"]: lv["s"] for lv in snap["asks"]},
        }
        local_id = snap["id"]
        applied = 0
        for upd in buffered:
            if upd["u"] < local_id + 1:
                continue
            if applied == 0:
                assert upd["U"] <= local_id + 1 <= upd["u"]
            else:
                assert upd["U"] == local_id + 1, "unexpected gap"
            for side, key in ((1, "b"), (-1, "a")):
                for lv in upd[key]:
                    if lv["s"] == 0:
                        book[side].pop(lv["p"], None)
                    else:
                        book[side][lv["p"]] = lv["s"]
            local_id = upd["u"]
            applied += 1
        assert applied > 10
        async with s.get(
            f"{sim.rest_url}/futures/usdt/order_book?contract=BTC_USDT&limit=100&with_id=true"
        ) as r:
            fresh = await r.json()
        assert fresh["id"] == local_id
        assert book[1] == {lv["p"]: lv["s"] for lv in fresh["bids"]}
        assert book[-1] == {lv["p"]: lv["s"] for lv in fresh["asks"]}

        # A skipped id range shows up as a gap in U/u.
        n_before = len(buffered)
        sim.skip_book_ids(5)
        sim.market.trade("buy", sim.market.top()[1], 1)
        await asyncio.sleep(0.1)
        gap = buffered[n_before]
        assert gap["U"] == local_id + 6

        # drop_ws cuts the socket.
        assert sim.drop_ws() == 1
        await asyncio.wait_for(reader_done.wait(), 5)
        task.cancel()


async def test_ws_public_channels_and_ping(sim: GateSimulator) -> None:
    async with (
        aiohttp.ClientSession() as s,
        s.ws_connect(sim.ws_url.replace("/futures/usdt", "/usdt")) as ws,
    ):
        await ws.send_json({"time": int(time.time()), "channel": "futures.ping"})
        pong = await asyncio.wait_for(ws.receive_json(), 5)
        assert pong["channel"] == "futures.pong" and pong["result"] is None
        bad = await ws_request(ws, "futures.trades", "subscribe", ["NOPE_USDT"])
        assert bad["result"] == {"status": "fail"} and bad["error"]["code"] == 2
        await ws_request(ws, "futures.trades", "subscribe", ["BTC_USDT"])
        await ws_request(ws, "futures.book_ticker", "subscribe", ["BTC_USDT"])
        bid, ask = sim.market.top()
        sim.market.trade("sell", bid, 5)
        got: dict[str, Any] = {}
        while len(got) < 2:
            msg = await asyncio.wait_for(ws.receive_json(), 5)
            if msg["event"] == "update":
                got[msg["channel"]] = msg["result"]
        trade = got["futures.trades"][0]
        assert (
            trade["size"] == -5 and trade["price"] == fmt(bid) and trade["contract"] == "BTC_USDT"
        )
        ticker = got["futures.book_ticker"]
        assert set(ticker) == {"t", "u", "s", "b", "B", "a", "A"} and ticker["a"] == fmt(ask)


async def test_ws_private_auth_and_fill_events(sim: GateSimulator, gate: Any) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(sim.ws_url) as ws:
        bad = await ws_request(
            ws,
            "futures.orders",
            "subscribe",
            [str(UID), "!all"],
            **private_auth("futures.orders", secret="wrong"),
        )
        assert bad["result"] == {"status": "fail"} and bad["error"]["code"] == 4
        assert "INVALID_SIGNATURE" in bad["error"]["message"]
        for channel, payload in (
            ("futures.orders", [str(UID), "!all"]),
            ("futures.usertrades", [str(UID), "BTC_USDT"]),
            ("futures.positions", [str(UID), "BTC_USDT"]),
            ("futures.balances", [str(UID)]),
        ):
            ack = await ws_request(ws, channel, "subscribe", payload, **private_auth(channel))
            assert ack["result"] == {"status": "success"}, ack

        bid, _ = sim.market.top()
        order = await gate.create_order(
            SYMBOL, "limit", "buy", 2, float(bid), {"postOnly": True, "clientOrderId": "ws1"}
        )
        sim.market.move_to(bid - 1, bid)  # the market trades down through our bid
        seen: dict[str, list[Any]] = {}
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (
            {"futures.usertrades", "futures.positions", "futures.balances"} <= set(seen)
            and any(o["finish_as"] == "filled" for o in seen.get("futures.orders", []))
        ):
            msg = await asyncio.wait_for(ws.receive_json(), 5)
            if msg["event"] == "update":
                seen.setdefault(msg["channel"], []).extend(msg["result"])
        orders = seen["futures.orders"]
        assert [o["finish_as"] for o in orders] == ["_new", "filled"]
        assert all(str(o["id"]) == order["id"] and o["text"] == "t-ws1" for o in orders)
        trade = seen["futures.usertrades"][0]
        assert trade["role"] == "maker" and trade["size"] == 2 and trade["order_id"] == order["id"]
        assert trade["fee"] < 0
        assert seen["futures.positions"][-1]["size"] == 2
        assert seen["futures.balances"][0]["type"] == "fee"


async def test_ccxt_pro_watch_order_book_and_orders(sim: GateSimulator) -> None:
    ex = ccxt_options(ccxtpro.gate, sim)
    ex.urls["api"]["swap"]["usdt"] = sim.ws_url
    sim.market.resume()
    try:
        await ex.load_markets()
        nonces = []
        for _ in range(3):
            book = await asyncio.wait_for(ex.watch_order_book(SYMBOL), 5)
            nonces.append(book["nonce"])
            assert book["bids"][0][0] < book["asks"][0][0]
        assert nonces == sorted(nonces)
        watcher = asyncio.create_task(ex.watch_orders(SYMBOL))
        await asyncio.sleep(0.2)
        sim.market.pause()
        bid, _ = sim.market.top()
        await ex.create_order(SYMBOL, "limit", "buy", 1, float(bid - 20), {"postOnly": True})
        orders = await asyncio.wait_for(watcher, 5)
        assert orders[-1]["status"] == "open"
    finally:
        await ex.close()


# ---- ways to run it --------------------------------------------------------------------------


def test_thread_mode_and_standalone_process(tmp_path: Path) -> None:
    sim = GateSimulator(ACCOUNTS, updates_per_s=0).start_in_thread()
    try:
        sim.market.move_to("30000.0", "30000.5")
        with urllib.request.urlopen(
            f"{sim.rest_url}/futures/usdt/order_book?contract=BTC_USDT&limit=1"
        ) as r:
            book = json.loads(r.read())
        assert book["bids"][0]["p"] == "30000" and book["asks"][0]["p"] == "30000.5"
    finally:
        sim.stop()

    with SimulatorProcess.start(
        tmp_path, "--account", f"{KEY}:{SECRET}:{UID}:1000", "--updates-per-s", "0"
    ) as proc:
        assert (
            proc.rest_url.startswith("http://127.0.0.1:") and "/v4/ws/futures/usdt" in proc.ws_url
        )
        proc.control.post("fail", n=1, status=503)
        req = urllib.request.Request(f"{proc.rest_url}/spot/time")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req)
        assert err.value.code == 503 and json.loads(err.value.read())["label"] == "SERVER_ERROR"
        with urllib.request.urlopen(req) as r:
            assert abs(json.loads(r.read())["server_time"] - time.time() * 1000) < 5000
        assert proc.control.get("account", key=KEY)["total"] == "1000"
        assert [r["path"] for r in proc.control.get("requests")] == ["/api/v4/spot/time"] * 2
