"""Our Gate REST client and instrument provider against the local Gate simulator (real sockets)."""

from __future__ import annotations

import asyncio

import pytest

from adapters.gate.http import GateApiError
from adapters.gate.http import GateHttpClient
from adapters.gate.http import GateTransportError
from adapters.gate.parsing import perp_instrument_id
from adapters.gate.providers import GateInstrumentProvider
from tests.venues.gate import GateSimulator

pytestmark = pytest.mark.gate

KEY, SECRET = "test-key", "test-secret"
ORDER = {"contract": "BTC_USDT", "size": 3, "tif": "poc", "text": "t-http-1"}


@pytest.fixture
async def sim():
    async with GateSimulator(updates_per_s=0, seed=1) as simulator:
        yield simulator


@pytest.fixture(params=[False, True], ids=["ccxt", "direct"])
def direct(request: pytest.FixtureRequest) -> bool:
    """Order commands go both ways: ccxt, and the direct low-latency path."""
    return request.param


@pytest.fixture
async def client(sim: GateSimulator):
    http = GateHttpClient(sim.rest_url, api_key=KEY, api_secret=SECRET, timeout_s=2.0)
    yield http
    await http.close()


def _passive_bid(sim: GateSimulator) -> str:
    bid = float(sim.book("BTC_USDT")["bids"][0][0])
    return f"{bid - 1.0:.1f}"


async def test_clock_offset_is_measured(client: GateHttpClient) -> None:
    offset = await client.sync_clock()
    assert abs(offset) < 1_000  # same machine: well under a second


async def test_place_amend_cancel(sim: GateSimulator, client: GateHttpClient, direct: bool) -> None:
    price = _passive_bid(sim)
    placed = await client.request(
        "POST", "/futures/usdt/orders", body={**ORDER, "price": price}, signed=True, direct=direct
    )
    assert placed["status"] == "open" and placed["text"] == "t-http-1"
    amended = await client.request(
        "PUT",
        f"/futures/usdt/orders/{placed['id']}",
        body={"size": 5, "price": price},
        signed=True,
        direct=direct,
    )
    assert float(amended["size"]) == 5
    cancelled = await client.request(
        "DELETE", "/futures/usdt/orders/t-http-1", signed=True, direct=direct, limit="cancel"
    )
    assert cancelled["finish_as"] == "cancelled"
    assert sim.orders(KEY, status="open") == []


async def test_post_only_cross_is_a_definite_rejection(
    sim: GateSimulator, client: GateHttpClient, direct: bool
) -> None:
    ask = sim.book("BTC_USDT")["asks"][0][0]
    with pytest.raises(GateApiError) as error:
        await client.request(
            "POST", "/futures/usdt/orders", body={**ORDER, "price": ask}, signed=True, direct=direct
        )
    assert error.value.label == "ORDER_POC_IMMEDIATE"


async def test_429_pauses_then_resends(
    sim: GateSimulator, client: GateHttpClient, direct: bool
) -> None:
    sim.fail_next(1, status=429, path="/futures/usdt/orders")
    placed = await client.request(
        "POST",
        "/futures/usdt/orders",
        body={**ORDER, "price": _passive_bid(sim)},
        signed=True,
        direct=direct,
    )
    assert placed["status"] == "open"
    posts = [r for r in sim.requests if r.method == "POST" and r.path.endswith("/orders")]
    assert len(posts) == 2


async def test_5xx_on_a_write_is_ambiguous_and_not_retried(
    sim: GateSimulator, client: GateHttpClient, direct: bool
) -> None:
    # The venue processed the order, then answered 502: the client must not claim a rejection.
    sim.fail_next(1, status=502, path="/futures/usdt/orders", after=True)
    with pytest.raises(GateTransportError):
        await client.request(
            "POST",
            "/futures/usdt/orders",
            body={**ORDER, "price": _passive_bid(sim)},
            signed=True,
            direct=direct,
        )
    assert [o["text"] for o in sim.orders(KEY, status="open")] == ["t-http-1"]
    posts = [r for r in sim.requests if r.method == "POST" and r.path.endswith("/orders")]
    assert len(posts) == 1


async def test_5xx_on_a_read_is_retried(sim: GateSimulator, client: GateHttpClient) -> None:
    sim.fail_next(2, status=503, method="GET", path="/futures/usdt/positions")
    positions = await client.request("GET", "/futures/usdt/positions", signed=True)
    assert isinstance(positions, list)
    reads = [r for r in sim.requests if r.method == "GET" and r.path.endswith("/positions")]
    assert len(reads) == 3  # two 503s, then the answer


async def test_timeout_keeps_the_outcome_unknown(
    sim: GateSimulator, client: GateHttpClient, direct: bool
) -> None:
    sim.order_timeout_next(1, delay_s=5.0)
    with pytest.raises(GateTransportError):
        await client.request(
            "POST",
            "/futures/usdt/orders",
            body={**ORDER, "price": _passive_bid(sim)},
            signed=True,
            direct=direct,
        )
    # The order exists at the venue and can be found by its text.
    found = await client.request("GET", "/futures/usdt/orders/t-http-1", signed=True)
    assert found["status"] == "open"


async def test_wrong_secret_is_an_auth_error(sim: GateSimulator, direct: bool) -> None:
    http = GateHttpClient(sim.rest_url, api_key=KEY, api_secret="wrong")
    try:
        with pytest.raises(GateApiError) as error:
            await http.request(
                "POST", "/futures/usdt/orders", body=ORDER, signed=True, direct=direct
            )
        assert error.value.label == "INVALID_SIGNATURE"
        assert error.value.status == 401
    finally:
        await http.close()


async def test_batch_place_and_cancel(
    sim: GateSimulator, client: GateHttpClient, direct: bool
) -> None:
    price = float(_passive_bid(sim))
    body = [{**ORDER, "text": f"t-b{i}", "price": f"{price - i:.1f}"} for i in range(3)]
    placed = await client.request(
        "POST", "/futures/usdt/batch_orders", body=body, signed=True, direct=direct, weight=3
    )
    assert all(item["succeeded"] for item in placed)
    ids = [str(item["id"]) for item in placed]
    cancelled = await client.request(
        "POST", "/futures/usdt/batch_cancel_orders", body=ids, signed=True, direct=direct
    )
    assert sorted(str(item["id"]) for item in cancelled if item["succeeded"]) == sorted(ids)


async def test_client_side_limit_prevents_429(sim: GateSimulator) -> None:
    sim_limited = GateHttpClient(
        sim.rest_url,
        api_key=KEY,
        api_secret=SECRET,
        rates={"order": (4.0, 1), "private": (50.0, 5)},
    )
    try:
        price = float(_passive_bid(sim))
        await asyncio.gather(
            *(
                sim_limited.request(
                    "POST",
                    "/futures/usdt/orders",
                    body={**ORDER, "text": f"t-r{i}", "price": f"{price - i:.1f}"},
                    signed=True,
                    limit="order",
                )
                for i in range(6)
            )
        )
    finally:
        await sim_limited.close()
    posts = [r for r in sim.requests if r.method == "POST"]
    span = (posts[-1].t_ns - posts[0].t_ns) / 1e9
    assert span >= 1.0  # 6 orders at 4/s with a burst of 1 take at least 1.25 s


async def test_provider_loads_perpetuals_in_contracts(client: GateHttpClient) -> None:
    provider = GateInstrumentProvider(client)
    await provider.load_all_async()
    btc = provider.find(perp_instrument_id("BTC_USDT"))
    assert btc is not None
    assert float(btc.multiplier) == 0.0001
    assert str(btc.price_increment) == "0.1"
    assert btc.size_increment == 1


async def test_clock_drift_never_expires_requests(direct: bool) -> None:
    # The venue runs two minutes ahead: unsynced signatures fall outside its 60 s window.
    async with GateSimulator(updates_per_s=0, clock_offset_s=120.0) as drifted:
        http = GateHttpClient(drifted.rest_url, api_key=KEY, api_secret=SECRET)
        try:
            with pytest.raises(GateApiError) as error:
                await http.request(
                    "POST", "/futures/usdt/orders", body=ORDER, signed=True, direct=direct
                )
            assert error.value.label == "REQUEST_EXPIRED"
            offset_ms = await http.sync_clock()
            assert offset_ms == pytest.approx(120_000, abs=1_000)
            body = {**ORDER, "price": _passive_bid(drifted)}
            placed = await http.request(
                "POST", "/futures/usdt/orders", body=body, signed=True, direct=direct
            )
            assert placed["status"] == "open"
        finally:
            await http.close()
