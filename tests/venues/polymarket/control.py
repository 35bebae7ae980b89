"""HTTP control API under `/_sim/...`, so a test in another process can drive faults and the
market and read venue state. Every route maps onto one PolymarketSimulator method; bodies are JSON
objects of that method's keywords, queries its arguments."""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING

from aiohttp import web

from tests.venues.common import read_json_object

if TYPE_CHECKING:
    from tests.venues.polymarket.server import PolymarketSimulator

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _ok() -> web.Response:
    return web.json_response({"ok": True})


def _checked(handler: Handler) -> Handler:
    """Bad control input answers 400 naming the problem instead of a bare 500."""

    async def run(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except KeyError as exc:
            return web.json_response({"error": f"missing {exc.args[0]!r}"}, status=400)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)

    return run


class ControlApi:
    def __init__(self, sim: PolymarketSimulator) -> None:
        self.sim = sim

    def routes(self) -> list[web.RouteDef]:
        routes = [
            web.get("/_sim/info", self.info),
            web.post("/_sim/drop_ws", self.drop_ws),
            web.post("/_sim/fail", self.fail),
            web.post("/_sim/slow", self.slow),
            web.post("/_sim/order_timeout", self.order_timeout),
            web.post("/_sim/heartbeats", self.heartbeats),
            web.post("/_sim/fail_trades", self.fail_trades),
            web.post("/_sim/tick_size", self.tick_size),
            web.post("/_sim/clear_faults", self.clear_faults),
            web.post("/_sim/market/move", self.move),
            web.post("/_sim/market/trade", self.trade),
            web.post("/_sim/market/pause", self.pause),
            web.post("/_sim/market/resume", self.resume),
            web.post("/_sim/balance", self.set_balance),
            web.post("/_sim/funder", self.set_funder),
            web.post("/_sim/api_key", self.api_key),
            web.get("/_sim/orders", self.orders),
            web.get("/_sim/trades", self.trades),
            web.get("/_sim/balances", self.balances),
            web.get("/_sim/heartbeat", self.heartbeat),
            web.get("/_sim/book", self.book),
            web.get("/_sim/requests", self.requests),
        ]
        return [web.route(r.method, r.path, _checked(r.handler)) for r in routes]

    async def info(self, request: web.Request) -> web.Response:
        return web.json_response(self.sim.info())

    async def drop_ws(self, request: web.Request) -> web.Response:
        return web.json_response({"dropped": self.sim.drop_ws()})

    async def fail(self, request: web.Request) -> web.Response:
        b = await read_json_object(request)
        self.sim.fail_next(
            int(b.get("n", 1)),
            status=int(b.get("status", 429)),
            method=b.get("method"),
            path=b.get("path"),
            after=bool(b.get("after", False)),
        )
        return _ok()

    async def slow(self, request: web.Request) -> web.Response:
        b = await read_json_object(request)
        self.sim.slow_next(
            int(b.get("n", 1)), float(b.get("delay_s", 1.0)), method=b.get("method"),
            path=b.get("path"),
        )  # fmt: skip
        return _ok()

    async def order_timeout(self, request: web.Request) -> web.Response:
        b = await read_json_object(request)
        self.sim.order_timeout_next(int(b.get("n", 1)), float(b.get("delay_s", 30.0)))
        return _ok()

    async def heartbeats(self, request: web.Request) -> web.Response:
        b = await read_json_object(request)
        timeout = b.get("timeout_s")
        self.sim.heartbeats(
            honour=bool(b.get("honour", True)),
            timeout_s=float(timeout) if timeout is not None else None,
        )
        return _ok()

    async def fail_trades(self, request: web.Request) -> web.Response:
        b = await read_json_object(request)
        self.sim.fail_next_trades(int(b.get("n", 1)))
        return _ok()

    async def tick_size(self, request: web.Request) -> web.Response:
        b = await read_json_object(request)
        self.sim.set_tick_size(str(b["tick_size"]), b.get("market"))
        return _ok()

    async def clear_faults(self, request: web.Request) -> web.Response:
        self.sim.clear_faults()
        return _ok()

    async def move(self, request: web.Request) -> web.Response:
        b = await read_json_object(request)
        self.sim.market.move_to(b["bid"], b["ask"], market=b.get("market"))
        return _ok()

    async def trade(self, request: web.Request) -> web.Response:
        b = await read_json_object(request)
        self.sim.market.trade(b["side"], b["price"], b["size"], market=b.get("market"))
        return _ok()

    async def pause(self, request: web.Request) -> web.Response:
        self.sim.market.pause()
        return _ok()

    async def resume(self, request: web.Request) -> web.Response:
        self.sim.market.resume()
        return _ok()

    async def set_balance(self, request: web.Request) -> web.Response:
        b = await read_json_object(request)
        return web.json_response(
            self.sim.set_balance(
                b["address"], collateral=b.get("collateral"), tokens=b.get("tokens")
            )
        )

    async def set_funder(self, request: web.Request) -> web.Response:
        b = await read_json_object(request)
        self.sim.set_funder(b["signer"], b["funder"])
        return _ok()

    async def api_key(self, request: web.Request) -> web.Response:
        b = await read_json_object(request)
        creds = self.sim.api_creds(b["address"], int(b.get("nonce", 0)))
        return web.json_response(creds.json())

    async def orders(self, request: web.Request) -> web.Response:
        q = request.query
        return web.json_response(self.sim.orders(q["address"], status=q.get("status")))

    async def trades(self, request: web.Request) -> web.Response:
        return web.json_response(self.sim.trades(request.query["address"]))

    async def balances(self, request: web.Request) -> web.Response:
        return web.json_response(self.sim.balances(request.query["address"]))

    async def heartbeat(self, request: web.Request) -> web.Response:
        return web.json_response(self.sim.heartbeat_state(request.query["address"]))

    async def book(self, request: web.Request) -> web.Response:
        return web.json_response(self.sim.book(request.query["token_id"]))

    async def requests(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since_ns", 0))
        return web.json_response([asdict(r) for r in self.sim.requests if r.t_ns >= since])
