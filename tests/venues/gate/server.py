"""GateSimulator: wires exchange, scripted market, REST, WS and control API into one aiohttp app.

Three ways to run it: `async with GateSimulator(...) as sim` inside an event loop,
`sim.start_in_thread()` / `sim.stop()` for synchronous code, or `python -m tests.venues.gate` as a
separate process (see __main__.py and process.py).
"""

from __future__ import annotations

import asyncio
from collections import deque
from decimal import Decimal
from typing import Any

from aiohttp import web

from tests.venues.common import RestFault
from tests.venues.common import SimulatorServer
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
from tests.venues.gate.market import ScriptedMarket
from tests.venues.gate.models import Account
from tests.venues.gate.ratelimit import RateLimiter
from tests.venues.gate.rest import RequestRecord
from tests.venues.gate.rest import RestApi
from tests.venues.gate.spot import DEFAULT_PAIRS
from tests.venues.gate.spot import SpotExchange
from tests.venues.gate.spot import SpotPairSpec
from tests.venues.gate.spot_rest import SpotRestApi
from tests.venues.gate.ws import WS_PATHS
from tests.venues.gate.ws import WsHub

AccountSpec = tuple[str, int, float | int | str]  # (secret, uid, starting USDT)
DEFAULT_ACCOUNTS: dict[str, AccountSpec] = {"test-key": ("test-secret", 10001, 100_000)}


class GateSimulator(SimulatorServer):
    thread_name = "gate-simulator"

    def __init__(
        self,
        accounts: dict[str, AccountSpec] | None = None,
        *,
        contracts: list[str] | dict[str, ContractSpec] | None = None,
        pairs: list[str] | dict[str, SpotPairSpec] | None = None,
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
        super().__init__(host, port)
        self.faults = Faults()
        self._lagged: deque[Event] = deque()
        self.exchange = Exchange(specs, accts, self, min_countdown_s=min_countdown_s)
        if pairs is None or isinstance(pairs, dict):
            pair_specs = dict(DEFAULT_PAIRS if pairs is None else pairs)
        else:
            pair_specs = {name: DEFAULT_PAIRS[name] for name in pairs}
        self.spot = SpotExchange(pair_specs, self)
        self.hub = WsHub(self.exchange, spot=self.spot, heartbeat_s=ws_heartbeat_s)
        self.market = ScriptedMarket(
            self.exchange, seed=seed, updates_per_s=updates_per_s, depth=depth
        )
        self.market.dispatch = self._dispatch
        # Its own random stream (seed + 1), so the spot books do not mirror the perpetuals'.
        self.spot_market = ScriptedMarket(
            self.spot, seed=seed + 1, updates_per_s=updates_per_s, depth=depth
        )
        self.spot_market.dispatch = self._dispatch
        self.rest = RestApi(
            self.exchange,
            self.faults,
            RateLimiter(rate_limits),
            time_window_s=time_window_s,
            clock_offset_s=clock_offset_s,
        )
        self.control = ControlApi(self)

    # ---- EventSink -----------------------------------------------------------------------
    def publish(self, event: Event) -> None:
        if event.channel in self.faults.muted_channels:
            return
        lag_s = self.faults.lagged_channels.get(event.channel)
        if lag_s:
            # Each timer sends the oldest pending event, so a lagged channel keeps its order.
            self._lagged.append(event)
            asyncio.get_running_loop().call_later(
                lag_s, lambda: self.hub.publish(self._lagged.popleft())
            )
            return
        self.hub.publish(event)

    # ---- lifecycle -----------------------------------------------------------------------
    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self.rest.middleware], client_max_size=4 * 1024**2)
        app.add_routes(self.rest.routes())
        app.add_routes(SpotRestApi(self.spot).routes())
        app.add_routes(self.control.routes())
        for path in WS_PATHS:
            app.router.add_get(path, self.hub.handle)
        return app

    def _started(self) -> None:
        self.market.start()
        self.spot_market.start()

    async def _stopping(self) -> None:
        await self.market.stop()
        await self.spot_market.stop()
        self.exchange.cancel_timers()
        await self.hub.close_all()

    # ---- addresses -----------------------------------------------------------------------
    @property
    def rest_url(self) -> str:
        return f"{self.base_url}/api/v4"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/v4/ws/futures/usdt"

    @property
    def spot_ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws/v4/"

    def info(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "rest_url": self.rest_url,
            "ws_url": self.ws_url,
            "spot_ws_url": self.spot_ws_url,
            "control_url": self.control_url,
            "port": self.port,
            "accounts": {k: a.uid for k, a in self.exchange.accounts.items()},
            "contracts": list(self.exchange.specs),
            "pairs": list(self.spot.specs),
        }

    # ---- faults --------------------------------------------------------------------------
    def drop_ws(self) -> int:
        """Cut every WebSocket connection now (TCP abort, no close frame); returns how many."""
        return self._dispatch(self.hub.drop_all)

    def skip_book_ids(
        self, n: int = 1, contract: str | None = None, *, market: str = "futures"
    ) -> None:
        """Burn `n` order-book ids: the next order_book_update has U > previous u + 1.
        `market="spot"` burns them in the spot books (`contract` is then a currency pair)."""
        if market not in ("futures", "spot"):
            raise ValueError(f"market must be 'futures' or 'spot', not {market!r}")
        books = self.spot.books if market == "spot" else self.exchange.books
        names = [contract] if contract else list(books)
        self._dispatch(lambda: [books[c].skip_ids(n) for c in names])

    def set_funding_rate(self, rate: str | Decimal, contract: str = "BTC_USDT") -> None:
        """Set the contract's funding rate; a `futures.tickers` push carries it at once."""
        self._dispatch(lambda: self.exchange.set_funding_rate(contract, Decimal(str(rate))))

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

    def mute(self, channels: list[str], muted: bool = True) -> None:
        """Silently drop (or resume) pushes on these WS channels while the exchange moves on."""

        def apply() -> None:
            if muted:
                self.faults.muted_channels.update(channels)
            else:
                self.faults.muted_channels.difference_update(channels)

        self._dispatch(apply)

    def lag(self, channels: list[str], delay_s: float) -> None:
        """Deliver pushes on these WS channels `delay_s` late (0 = on time again)."""

        def apply() -> None:
            for channel in channels:
                if delay_s > 0:
                    self.faults.lagged_channels[channel] = delay_s
                else:
                    self.faults.lagged_channels.pop(channel, None)

        self._dispatch(apply)

    def venue_cancel_all(self, key: str) -> int:
        """Cancel the account's open orders from the venue side (web UI, venue risk engine)."""
        return self._dispatch(
            lambda: len(self.exchange.cancel_all(self.exchange.account(key), None))
        )

    def forget_finished(self, key: str) -> int:
        """Let Gate's retention time pass: finished zero-fill orders become ORDER_NOT_FOUND."""
        return self._dispatch(
            lambda: self.exchange.forget_unfilled_finished(self.exchange.account(key))
        )

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

    def spot_book(self, pair: str = "BTC_USDT", limit: int = 20) -> dict[str, Any]:
        """The spot book as `GET /spot/order_book?with_id=true` shows it."""
        return self._dispatch(lambda: self.spot.order_book_json(pair, limit, with_id=True))

    def book(self, contract: str = "BTC_USDT", limit: int = 20) -> dict[str, Any]:
        def collect() -> dict[str, Any]:
            b = self.exchange.books[contract]
            return {
                "id": b.id,
                "bids": [[fmt(p), s] for p, s in b.depth(BID, limit)],
                "asks": [[fmt(p), s] for p, s in b.depth(ASK, limit)],
            }

        return self._dispatch(collect)
