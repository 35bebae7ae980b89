"""HTTP control API under `/_sim/...`, so a test in another process can drive faults and the market.

Every route maps onto one GateSimulator method; bodies are JSON objects of that method's keywords.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING
from typing import Any

from aiohttp import web

from tests.venues.common import read_json_object as _body

if TYPE_CHECKING:
    from tests.venues.gate.server import GateSimulator


def _channels(body: dict[str, Any]) -> list[str]:
    channels = body.get("channels")
    if not isinstance(channels, list) or not channels:
        raise web.HTTPBadRequest(reason="channels must be a non-empty list of WS channel names")
    return [str(c) for c in channels]


class ControlApi:
    def __init__(self, sim: GateSimulator) -> None:
        self.sim = sim

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/_sim/info", self.info),
            web.post("/_sim/drop_ws", self.drop_ws),
            web.post("/_sim/gap", self.gap),
            web.post("/_sim/funding", self.funding),
            web.post("/_sim/fail", self.fail),
            web.post("/_sim/slow", self.slow),
            web.post("/_sim/order_timeout", self.order_timeout),
            web.post("/_sim/countdown", self.countdown),
            web.post("/_sim/mute", self.mute),
            web.post("/_sim/lag", self.lag),
            web.post("/_sim/venue_cancel_all", self.venue_cancel_all),
            web.post("/_sim/forget_finished", self.forget_finished),
            web.post("/_sim/clear_faults", self.clear_faults),
            web.post("/_sim/market/move", self.move),
            web.post("/_sim/market/trade", self.trade),
            web.post("/_sim/market/pause", self.pause),
            web.post("/_sim/market/resume", self.resume),
            web.get("/_sim/orders", self.orders),
            web.get("/_sim/position", self.position),
            web.get("/_sim/account", self.account),
            web.get("/_sim/requests", self.requests),
            web.get("/_sim/ws_sent", self.ws_sent),
            web.get("/_sim/book", self.book),
        ]

    async def info(self, request: web.Request) -> web.Response:
        return web.json_response(self.sim.info())

    async def drop_ws(self, request: web.Request) -> web.Response:
        return web.json_response({"dropped": self.sim.drop_ws()})

    async def gap(self, request: web.Request) -> web.Response:
        b = await _body(request)
        self.sim.skip_book_ids(
            int(b.get("n", 1)), b.get("contract"), market=str(b.get("market", "futures"))
        )
        return web.json_response({"ok": True})

    async def funding(self, request: web.Request) -> web.Response:
        b = await _body(request)
        self.sim.set_funding_rate(str(b["rate"]), b.get("contract", "BTC_USDT"))
        return web.json_response({"ok": True})

    async def fail(self, request: web.Request) -> web.Response:
        b = await _body(request)
        self.sim.fail_next(
            int(b.get("n", 1)),
            status=int(b.get("status", 429)),
            method=b.get("method"),
            path=b.get("path"),
            after=bool(b.get("after", False)),
        )
        return web.json_response({"ok": True})

    async def slow(self, request: web.Request) -> web.Response:
        b = await _body(request)
        self.sim.slow_next(
            int(b.get("n", 1)),
            float(b.get("delay_s", 1.0)),
            method=b.get("method"),
            path=b.get("path"),
        )
        return web.json_response({"ok": True})

    async def order_timeout(self, request: web.Request) -> web.Response:
        b = await _body(request)
        self.sim.order_timeout_next(int(b.get("n", 1)), float(b.get("delay_s", 30.0)))
        return web.json_response({"ok": True})

    async def countdown(self, request: web.Request) -> web.Response:
        b = await _body(request)
        self.sim.honour_countdown(bool(b.get("honour", True)))
        return web.json_response({"ok": True})

    async def mute(self, request: web.Request) -> web.Response:
        b = await _body(request)
        self.sim.mute(_channels(b), bool(b.get("muted", True)))
        return web.json_response({"ok": True})

    async def lag(self, request: web.Request) -> web.Response:
        b = await _body(request)
        self.sim.lag(_channels(b), float(b.get("delay_s", 1.0)))
        return web.json_response({"ok": True})

    async def venue_cancel_all(self, request: web.Request) -> web.Response:
        b = await _body(request)
        return web.json_response({"cancelled": self.sim.venue_cancel_all(str(b["key"]))})

    async def forget_finished(self, request: web.Request) -> web.Response:
        b = await _body(request)
        return web.json_response({"forgotten": self.sim.forget_finished(str(b["key"]))})

    async def clear_faults(self, request: web.Request) -> web.Response:
        self.sim.clear_faults()
        return web.json_response({"ok": True})

    async def move(self, request: web.Request) -> web.Response:
        b = await _body(request)
        self.sim.market.move_to(b["bid"], b["ask"], contract=b.get("contract"))
        return web.json_response({"ok": True})

    async def trade(self, request: web.Request) -> web.Response:
        b = await _body(request)
        self.sim.market.trade(b["side"], b["price"], int(b["size"]), contract=b.get("contract"))
        return web.json_response({"ok": True})

    async def pause(self, request: web.Request) -> web.Response:
        self.sim.market.pause()
        return web.json_response({"ok": True})

    async def resume(self, request: web.Request) -> web.Response:
        self.sim.market.resume()
        return web.json_response({"ok": True})

    async def orders(self, request: web.Request) -> web.Response:
        q = request.query
        return web.json_response(self.sim.orders(q["key"], status=q.get("status")))

    async def position(self, request: web.Request) -> web.Response:
        q = request.query
        return web.json_response(self.sim.position(q["key"], q.get("contract", "BTC_USDT")))

    async def account(self, request: web.Request) -> web.Response:
        return web.json_response(self.sim.account(request.query["key"]))

    async def requests(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since_ns", 0))
        return web.json_response([asdict(r) for r in self.sim.requests if r.t_ns >= since])

    async def ws_sent(self, request: web.Request) -> web.Response:
        return web.json_response(self.sim.ws_sent(int(request.query.get("since_ns", 0))))

    async def book(self, request: web.Request) -> web.Response:
        q = request.query
        return web.json_response(
            self.sim.book(q.get("contract", "BTC_USDT"), int(q.get("limit", 20)))
        )
