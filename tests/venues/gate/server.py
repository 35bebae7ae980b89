"""GateSimulator: wires exchange, scripted market, REST, WS and control API into one aiohttp app.

Three ways to run it: `async with GateSimulator(...) as sim` inside an event loop,
`sim.start_in_thread()` / `sim.stop()` for synchronous code, or `python -m tests.venues.gate` as a
separate process (see __main__.py and process.py).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from typing import TypeVar

from aiohttp import web

from tests.venues.gate import render
from tests.venues.gate.book import ASK
from tests.venues.gate.book import BID
from tests.venues.gate.contracts import DEFAULT_CONTRACTS
from tests.venues.gate.contracts import ContractSpec
from tests.venues.gate.contracts import fmt
from tests.venues.gate.control import ControlApi
from tests.venues.gate.events import Event
from tests.venues.gate.exchange import Exchange
from tests.venues.gate.faults import Faults
from tests.venues.gate.faults import RestFault
from tests.venues.gate.market import ScriptedMarket
from tests.venues.gate.models import Account
from tests.venues.gate.ratelimit import RateLimiter
from tests.venues.gate.rest import RequestRecord
from tests.venues.gate.rest import RestApi
from tests.venues.gate.ws import WS_PATHS
from tests.venues.gate.ws import WsHub

T = TypeVar("T")
AccountSpec = tuple[str, int, float | int | str]  # (secret, uid, starting USDT)
DEFAULT_ACCOUNTS: dict[str, AccountSpec] = {"test-key": ("test-secret", 10001, 100_000)}


class GateSimulator:
    def __init__(
        self,
        accounts: dict[str, AccountSpec] | None = None,
        *,
        contracts: list[str] | dict[str, ContractSpec] | None = None,
        seed: int = 0,
        updates_per_s: float = 20.0,
        depth: int = 20,
        host: str = "127.0.0.1",
        port: int = 0,
        min_countdown_s: float = 5.0,
        ws_heartbeat_s: float = 10.0,
        rate_limits: dict[str, tuple[int, float]] | None = None,
        time_window_s: float = 60.0,
        clock_offset_s: float = 0.0,
    ) -> None:
        if contracts is None:
            specs = dict(DEFAULT_CONTRACTS)
        elif isinstance(contracts, dict):
            specs = dict(contracts)
        else:
            specs = {name: DEFAULT_CONTRACTS[name] for name in contracts}
        accts = [
            Account(key, secret, uid, Decimal(str(usdt)), deposits=Decimal(str(usdt)))
            for key, (secret, uid, usdt) in (accounts or DEFAULT_ACCOUNTS).items()
        ]
        self.host = host
        self.port = port
        self.faults = Faults()
        self.exchange = Exchange(specs, accts, self, min_countdown_s=min_countdown_s)
        self.hub = WsHub(self.exchange, heartbeat_s=ws_heartbeat_s)
        self.market = ScriptedMarket(
            self.exchange, seed=seed, updates_per_s=updates_per_s, depth=depth
        )
        self.market.dispatch = self._dispatch
        self.rest = RestApi(
            self.exchange,
            self.faults,
            RateLimiter(rate_limits),
            time_window_s=time_window_s,
            clock_offset_s=clock_offset_s,
        )
        self.control = ControlApi(self)
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # ---- EventSink -----------------------------------------------------------------------
    def publish(self, event: Event) -> None:
        self.hub.publish(event)

    # ---- lifecycle -----------------------------------------------------------------------
    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self.rest.middleware], client_max_size=4 * 1024**2)
        app.add_routes(self.rest.routes())
        app.add_routes(self.control.routes())
        for path in WS_PATHS:
            app.router.add_get(path, self.hub.handle)
        return app

    async def astart(self) -> GateSimulator:
        self._loop = asyncio.get_running_loop()
        self._runner = web.AppRunner(
            # Short shutdown: in-flight handlers (e.g. an injected order timeout) are cut off.
            self._app(),
            handle_signals=False,
            access_log=None,
            shutdown_timeout=0.5,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.market.start()
        return self

    async def astop(self) -> None:
        await self.market.stop()
        self.exchange.cancel_timers()
        await self.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> GateSimulator:
        return await self.astart()

    async def __aexit__(self, *exc: object) -> None:
        await self.astop()

    def start_in_thread(self, timeout_s: float = 10.0) -> GateSimulator:
        """Run the simulator on its own event loop in a daemon thread (for synchronous code)."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.astart())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="gate-simulator", daemon=True)
        self._thread.start()
        if not ready.wait(timeout_s):
            raise TimeoutError("gate simulator did not start")
        if failure:
            raise failure[0]
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop a simulator started with start_in_thread()."""
        if self._thread is None or self._loop is None:
            raise RuntimeError(
                "stop() is for start_in_thread(); use `await sim.astop()` in async code"
            )
        asyncio.run_coroutine_threadsafe(self.astop(), self._loop).result(timeout_s)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout_s)
        self._thread = None

    def _dispatch(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the simulator's loop thread (state is only touched there)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or threading.get_ident() == thread.ident:
            return fn()

        async def call() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), loop).result(30)

    # ---- addresses -----------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def rest_url(self) -> str:
        return f"{self.base_url}/api/v4"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/v4/ws/futures/usdt"

    @property
    def control_url(self) -> str:
        return f"{self.base_url}/_sim"

    def info(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "rest_url": self.rest_url,
            "ws_url": self.ws_url,
            "control_url": self.control_url,
            "port": self.port,
            "accounts": {k: a.uid for k, a in self.exchange.accounts.items()},
            "contracts": list(self.exchange.specs),
        }

    # ---- faults --------------------------------------------------------------------------
    def drop_ws(self) -> int:
        """Cut every WebSocket connection now (TCP abort, no close frame); returns how many."""
        return self._dispatch(self.hub.drop_all)

    def skip_book_ids(self, n: int = 1, contract: str | None = None) -> None:
        """Burn `n` order-book ids: the next order_book_update has U > previous u + 1."""
        names = [contract] if contract else list(self.exchange.books)
        self._dispatch(lambda: [self.exchange.books[c].skip_ids(n) for c in names])

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 429,
        method: str | None = None,
        path: str | None = None,
        after: bool = False,
    ) -> None:
        """Answer the next `n` matching REST requests with 429 TOO_MANY_REQUESTS or a 5xx
        SERVER_ERROR (status >= 500). `path` matches a substring of the path after /api/v4.
        `after=True` (5xx only) processes the request first, so e.g. the order really exists."""
        kind = "429" if status == 429 else "5xx"
        if kind == "5xx" and status < 500:
            raise ValueError("status must be 429 or >= 500")
        fault = RestFault(kind, n, method, path, status=status, after=after)
        self._dispatch(lambda: self.faults.add_rest(fault))

    def slow_next(
        self, n: int, delay_s: float, *, method: str | None = None, path: str | None = None
    ) -> None:
        """Delay the next `n` matching REST requests by `delay_s` before handling them."""
        fault = RestFault("slow", n, method, path, delay_s=delay_s)
        self._dispatch(lambda: self.faults.add_rest(fault))

    def order_timeout_next(self, n: int = 1, delay_s: float = 30.0) -> None:
        """Accept the next `n` order placements but answer only after `delay_s`."""

        def apply() -> None:
            self.faults.order_timeouts += n
            self.faults.order_timeout_delay_s = delay_s

        self._dispatch(apply)

    def honour_countdown(self, honour: bool = True) -> None:
        """False = the countdown_cancel_all dead-man switch silently does nothing when it lapses."""
        self._dispatch(lambda: setattr(self.exchange, "honour_countdown", honour))

    def clear_faults(self) -> None:
        def apply() -> None:
            self.faults.clear()
            self.exchange.honour_countdown = True

        self._dispatch(apply)

    # ---- inspection ----------------------------------------------------------------------
    @property
    def requests(self) -> list[RequestRecord]:
        """REST requests received under /api/v4, in arrival order."""
        return list(self.rest.requests)

    def ws_sent(self, since_ns: int = 0) -> list[dict[str, Any]]:
        """`futures.order_book_update` frames sent (all connections, last 50,000), oldest first:
        `t_ns` (time.time_ns() just before the socket write), `contract` and the frame's `u`."""

        def collect() -> list[dict[str, Any]]:
            return [
                {"t_ns": t, "contract": c, "u": u}
                for t, c, u in self.hub.sent_books
                if t >= since_ns
            ]

        return self._dispatch(collect)

    def orders(self, key: str, status: str | None = None) -> list[dict[str, Any]]:
        """All orders of an account (REST JSON shape, newest first); status open|finished."""

        def collect() -> list[dict[str, Any]]:
            acct = self.exchange.account(key)
            statuses = [status] if status else ["open", "finished"]
            out = [o for s in statuses for o in self.exchange.list_orders(acct, s, None)]
            return [render.order_rest(o, False) for o in sorted(out, key=lambda o: -o.id)]

        return self._dispatch(collect)

    def position(self, key: str, contract: str = "BTC_USDT") -> dict[str, Any]:
        def collect() -> dict[str, Any]:
            acct = self.exchange.account(key)
            pending = sum(
                1 for o in self.exchange.open_orders[key].values() if o.contract == contract
            )
            spec = self.exchange.specs[contract]
            mark = self.exchange.mark_price(contract)
            return render.position_rest(acct.position(contract), acct, spec, mark, pending, False)

        return self._dispatch(collect)

    def account(self, key: str) -> dict[str, Any]:
        def collect() -> dict[str, Any]:
            acct = self.exchange.account(key)
            return render.account_rest(acct, self.exchange.summary(acct))

        return self._dispatch(collect)

    def book(self, contract: str = "BTC_USDT", limit: int = 20) -> dict[str, Any]:
        def collect() -> dict[str, Any]:
            b = self.exchange.books[contract]
            return {
                "id": b.id,
                "bids": [[fmt(p), s] for p, s in b.depth(BID, limit)],
                "asks": [[fmt(p), s] for p, s in b.depth(ASK, limit)],
            }

        return self._dispatch(collect)
