"""
The direct order path of `GateHttpClient` (our signer + `adapters.http1`) against a stand-in venue
on 127.0.0.1: signed requests as Gate checks them, and every outcome sorted into a definite answer
(`GateApiError` with the venue's label) or an unknown one (`GateTransportError`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.gate.http import GateApiError
from adapters.gate.http import GateHttpClient
from adapters.gate.http import GateTransportError
from adapters.gate.signing import rest_signature

pytestmark = pytest.mark.gate

KEY, SECRET = "order-key", "order-secret"
ORDERS = "/futures/usdt/orders"


class StandIn:
    """Answers `PUT /api/v4/futures/usdt/orders/{id}` as told by `next_outcome`."""

    def __init__(self) -> None:
        self.next_outcome = "ok"
        self.amends: list[dict] = []
        self.peers: set[tuple[str, int]] = set()
        self.app = web.Application()
        self.app.router.add_put("/api/v4/futures/usdt/orders/{id}", self.amend)

    async def amend(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.peers.add(request.transport.get_extra_info("peername")[:2])
        expected = rest_signature(
            SECRET,
            request.method,
            request.path,
            request.query_string,
            body,
            request.headers["Timestamp"],
        )
        if request.headers.get("KEY") != KEY or request.headers.get("SIGN") != expected:
            return web.json_response({"label": "INVALID_SIGNATURE", "message": "bad"}, status=401)
        outcome, self.next_outcome = self.next_outcome, "ok"
        if outcome == "refuse":
            return web.json_response({"label": "ORDER_NOT_FOUND", "message": "gone"}, status=404)
        if outcome == "5xx":
            return web.json_response({"label": "SERVER_ERROR"}, status=503)
        if outcome.startswith("html"):
            status = int(outcome.removeprefix("html"))
            return web.Response(status=status, text="<html>proxy says no</html>")
        if outcome == "drop":
            request.transport.close()
            await asyncio.sleep(1)
        if outcome == "slow":
            await asyncio.sleep(5)
        order = json.loads(body)
        self.amends.append({"id": request.match_info["id"], **order})
        return web.json_response({"id": int(request.match_info["id"]), **order})


@pytest.fixture
async def venue() -> AsyncIterator[tuple[StandIn, GateHttpClient]]:
    stand_in = StandIn()
    server = TestServer(stand_in.app, host="127.0.0.1")
    await server.start_server()
    http = GateHttpClient(
        f"http://127.0.0.1:{server.port}/api/v4", api_key=KEY, api_secret=SECRET, timeout_s=0.5
    )
    await http.connect_orders()
    try:
        yield stand_in, http
    finally:
        await http.close()
        await server.close()


async def amend(http: GateHttpClient, order_id: int, price: str) -> dict:
    body = {"size": 2, "price": price}
    return await http.request(
        "PUT", f"{ORDERS}/{order_id}", body=body, signed=True, limit="order", direct=True
    )


async def test_signed_amends_share_a_kept_alive_connection(venue) -> None:
    stand_in, http = venue
    for i in range(3):
        reply = await amend(http, 7, f"100.{i}")
        assert reply == {"id": 7, "size": 2, "price": f"100.{i}"}
    assert [a["price"] for a in stand_in.amends] == ["100.0", "100.1", "100.2"]
    assert len(stand_in.peers) == 1


async def test_a_venue_refusal_is_a_definite_answer_with_its_label(venue) -> None:
    stand_in, http = venue
    stand_in.next_outcome = "refuse"
    with pytest.raises(GateApiError) as refusal:
        await amend(http, 7, "100.1")
    assert (refusal.value.status, refusal.value.label) == (404, "ORDER_NOT_FOUND")


async def test_a_refusal_without_json_is_still_definite(venue) -> None:
    stand_in, http = venue
    stand_in.next_outcome = "html403"
    with pytest.raises(GateApiError) as refusal:
        await amend(http, 7, "100.1")
    assert (refusal.value.status, refusal.value.label) == (403, "UNKNOWN")
    assert "proxy says no" in refusal.value.message


@pytest.mark.parametrize("outcome", ["5xx", "drop", "slow", "html200"])
async def test_no_definite_answer_is_a_transport_error_and_the_path_recovers(
    venue, outcome: str
) -> None:
    stand_in, http = venue
    stand_in.next_outcome = outcome
    with pytest.raises(GateTransportError):
        await amend(http, 7, "100.1")
    assert (await amend(http, 7, "100.2"))["price"] == "100.2"


async def test_without_credentials_nothing_is_sent(venue) -> None:
    stand_in, http = venue
    anonymous = GateHttpClient(http.base_url)
    try:
        with pytest.raises(GateApiError, match="MISSING_CREDENTIALS"):
            await amend(anonymous, 7, "100.1")
    finally:
        await anonymous.close()
    assert stand_in.amends == []
