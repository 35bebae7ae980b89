"""PolymarketSimulator: wires exchange, key registry, scripted crowd, REST (CLOB, Gamma, Data
API), WebSocket and control API into one aiohttp app on one port.

URL layout (`base` = http://127.0.0.1:PORT):
    CLOB REST   {base}                (as https://clob.polymarket.com; `clob_url`)
    Gamma       {base}/gamma          (as https://gamma-api.polymarket.com; `gamma_url`)
    Data API    {base}/data-api       (as https://data-api.polymarket.com; `data_api_url`)
    WebSocket   ws://127.0.0.1:PORT/ws/market and /ws/user (`ws_url` is the ".../ws/" base)
    Control     {base}/_sim/...       (`control_url`; see control.py)

Three ways to run it: `async with PolymarketSimulator(...) as sim` inside an event loop,
`sim.start_in_thread()` / `sim.stop()` from synchronous code (e.g. with py-clob-client-v2), or
`python -m tests.venues.polymarket` as a child process (see __main__.py and process.py).
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from aiohttp import web
from eth_account import Account
from eth_utils import is_address
from eth_utils import to_checksum_address

from tests.venues.common import FaultPlan
from tests.venues.common import RestFault
from tests.venues.common import SimulatorServer
from tests.venues.common import rest_fault
from tests.venues.polymarket import render
from tests.venues.polymarket.auth import KeyRegistry
from tests.venues.polymarket.control import ControlApi
from tests.venues.polymarket.data_api import DataApi
from tests.venues.polymarket.exchange import Exchange
from tests.venues.polymarket.gamma import GammaApi
from tests.venues.polymarket.market import ScriptedMarket
from tests.venues.polymarket.market_state import book_summary
from tests.venues.polymarket.markets import MarketSpec
from tests.venues.polymarket.markets import default_markets
from tests.venues.polymarket.markets import fmt
from tests.venues.polymarket.rest import RequestRecord
from tests.venues.polymarket.rest import RestApi
from tests.venues.polymarket.signing import POLYGON
from tests.venues.polymarket.signing import ApiCreds
from tests.venues.polymarket.ws import MARKET_PATH
from tests.venues.polymarket.ws import USER_PATH
from tests.venues.polymarket.ws import WsHub

# Well-known anvil/hardhat development keys (public test keys, never funded on a real chain).
ANVIL_KEYS = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
)
# Private key (or address) -> starting pUSD.
DEFAULT_ACCOUNTS: dict[str, float | int | str] = {key: 10_000 for key in ANVIL_KEYS}


def address_of(key_or_address: str) -> str:
    """The checksummed address of a private key or of an address."""
    if is_address(key_or_address):
        return to_checksum_address(key_or_address)
    return Account.from_key(key_or_address).address


class PolymarketSimulator(SimulatorServer):
    thread_name = "polymarket-simulator"

    def __init__(
        self,
        accounts: dict[str, float | int | str] | None = None,
        *,
        markets: list[MarketSpec] | None = None,
        seed: int = 0,
        updates_per_s: float = 10.0,
        depth: int = 10,
        host: str = "127.0.0.1",
        port: int = 0,
        chain_id: int = POLYGON,
        heartbeat_timeout_s: float = 10.0,
        mined_after_s: float = 1.0,
        confirmed_after_s: float = 3.0,
        time_window_s: float = 60.0,
        page_limit: int = 100,
        max_ws_assets: int = 500,
        clock_offset_s: float = 0.0,
    ) -> None:
        super().__init__(host, port)
        self.faults = FaultPlan()
        self.exchange = Exchange(
            markets if markets is not None else default_markets(),
            self,
            seed=seed,
            chain_id=chain_id,
            mined_after_s=mined_after_s,
            confirmed_after_s=confirmed_after_s,
            heartbeat_timeout_s=heartbeat_timeout_s,
        )
        for key, pusd in (DEFAULT_ACCOUNTS if accounts is None else accounts).items():
            self.exchange.set_balance(address_of(key), collateral=Decimal(str(pusd)))
        self.keys = KeyRegistry(
            server_salt=f"quotekit-sim:{seed}",
            chain_id=chain_id,
            time_window_s=time_window_s,
            clock=lambda: time.time() + clock_offset_s,
        )
        self.hub = WsHub(self.exchange, self.keys, max_assets=max_ws_assets)
        self.market = ScriptedMarket(
            self.exchange, seed=seed, updates_per_s=updates_per_s, depth=depth
        )
        self.market.dispatch = self._dispatch
        self.rest = RestApi(
            self.exchange,
            self.keys,
            self.faults,
            page_limit=page_limit,
            clock_offset_s=clock_offset_s,
        )
        self.gamma = GammaApi(self.exchange)
        self.data_api = DataApi(self.exchange)
        self.control = ControlApi(self)

    # ---- EventSink -----------------------------------------------------------------------
    def publish_market(self, market: str, message: dict[str, Any]) -> None:
        self.hub.publish_market(market, message)

    def publish_user(self, user: str, market: str, message: dict[str, Any]) -> None:
        self.hub.publish_user(user, market, message)

    # ---- lifecycle -----------------------------------------------------------------------
    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self.rest.middleware], client_max_size=4 * 1024**2)
        app.add_routes(self.rest.routes())
        app.add_routes(self.gamma.routes())
        app.add_routes(self.data_api.routes())
        app.add_routes(self.control.routes())
        app.router.add_get(MARKET_PATH, self.hub.handle_market)
        app.router.add_get(USER_PATH, self.hub.handle_user)
        return app

    def _started(self) -> None:
        self.market.start()

    async def _stopping(self) -> None:
        await self.market.stop()
        self.exchange.cancel_timers()
        await self.hub.close_all()

    # ---- addresses -----------------------------------------------------------------------
    @property
    def clob_url(self) -> str:
        return self.base_url

    @property
    def gamma_url(self) -> str:
        return f"{self.base_url}/gamma"

    @property
    def data_api_url(self) -> str:
        return f"{self.base_url}/data-api"

    @property
    def ws_url(self) -> str:
        """Base of both channels, like nautilus' `base_url_ws` ("wss://…/ws/")."""
        return f"ws://{self.host}:{self.port}/ws/"

    def info(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "clob_url": self.clob_url,
            "gamma_url": self.gamma_url,
            "data_api_url": self.data_api_url,
            "ws_url": self.ws_url,
            "ws_market_url": f"{self.ws_url}market",
            "ws_user_url": f"{self.ws_url}user",
            "control_url": self.control_url,
            "port": self.port,
            "chain_id": self.exchange.chain_id,
            "ws_connections_total": self.hub.connections_total,
            "markets": [
                {
                    "condition_id": s.spec.condition_id,
                    "slug": s.spec.slug,
                    "token_ids": list(s.spec.token_ids),
                    "outcomes": list(s.spec.outcomes),
                    "neg_risk": s.spec.neg_risk,
                    "tick_size": fmt(s.tick),
                    "min_order_size": fmt(s.spec.min_order_size),
                }
                for s in self.exchange.markets.values()
            ],
        }

    # ---- accounts ------------------------------------------------------------------------
    def api_creds(self, key_or_address: str, nonce: int = 0) -> ApiCreds:
        """The API key of (address, nonce), created if needed (what L1 creation returns)."""
        address = address_of(key_or_address)
        return self._dispatch(lambda: self.keys.register(address, nonce))

    def set_balance(
        self,
        key_or_address: str,
        *,
        collateral: float | str | Decimal | None = None,
        tokens: dict[str, float | str | Decimal] | None = None,
    ) -> dict[str, Any]:
        """Set a funder's pUSD and/or outcome-token balances (shares)."""
        address = address_of(key_or_address)

        def apply() -> dict[str, Any]:
            self.exchange.set_balance(
                address,
                Decimal(str(collateral)) if collateral is not None else None,
                {t: Decimal(str(v)) for t, v in (tokens or {}).items()},
            )
            return self._balances(address)

        return self._dispatch(apply)

    def set_funder(self, signer: str, funder: str) -> None:
        """Let `signer` trade for the proxy wallet `funder` (signature types 1 and 2)."""
        self._dispatch(lambda: self.exchange.set_funder(address_of(signer), address_of(funder)))

    # ---- faults --------------------------------------------------------------------------
    def drop_ws(self) -> int:
        """Cut every WebSocket connection now (TCP abort, no close frame); returns how many."""
        return self._dispatch(self.hub.drop_all)

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 429,
        method: str | None = None,
        path: str | None = None,
        after: bool = False,
    ) -> None:
        """Answer the next `n` matching HTTP requests (CLOB, Gamma or Data API) with 429 or a
        5xx. `path` matches a substring of the request path. `after=True` (5xx only) processes
        the request first, so e.g. the order really exists although the client saw an error."""
        fault = rest_fault(n, status=status, method=method, path=path, after=after)
        self._dispatch(lambda: self.faults.add_rest(fault))

    def slow_next(
        self, n: int, delay_s: float, *, method: str | None = None, path: str | None = None
    ) -> None:
        """Delay the next `n` matching HTTP requests by `delay_s` before handling them."""
        fault = RestFault("slow", n, method, path, delay_s=delay_s)
        self._dispatch(lambda: self.faults.add_rest(fault))

    def order_timeout_next(self, n: int = 1, delay_s: float = 30.0) -> None:
        """Accept the next `n` POST /order(s) requests but answer only after `delay_s`."""

        def apply() -> None:
            self.faults.order_timeouts += n
            self.faults.order_timeout_delay_s = delay_s

        self._dispatch(apply)

    def heartbeats(self, *, honour: bool = True, timeout_s: float | None = None) -> None:
        """`honour=False`: a heartbeat lapse no longer cancels orders (a broken dead-man
        switch). `timeout_s` changes the lapse timeout for heartbeats from now on."""

        def apply() -> None:
            self.exchange.dead_man.honour = honour
            if timeout_s is not None:
                self.exchange.dead_man.timeout_s = timeout_s

        self._dispatch(apply)

    def fail_next_trades(self, n: int = 1) -> None:
        """The next `n` trades involving a user go MATCHED -> RETRYING -> FAILED and their
        settlement is reversed."""
        self._dispatch(lambda: setattr(self.exchange, "fail_next_trades", n))

    def set_tick_size(self, tick_size: str | Decimal, market: str | None = None) -> None:
        """Change a market's tick size (default: the first market); pushes `tick_size_change`."""
        condition_id = market or next(iter(self.exchange.markets))
        self._dispatch(lambda: self.exchange.set_tick_size(condition_id, Decimal(str(tick_size))))

    def clear_faults(self) -> None:
        def apply() -> None:
            self.faults.clear()
            self.exchange.dead_man.honour = True
            self.exchange.fail_next_trades = 0

        self._dispatch(apply)

    # ---- inspection ----------------------------------------------------------------------
    @property
    def requests(self) -> list[RequestRecord]:
        """HTTP requests received (all APIs, not the control API), in arrival order."""
        return list(self.rest.requests)

    def orders(self, key_or_address: str, status: str | None = None) -> list[dict[str, Any]]:
        """Every order of a user (signer), oldest first, as `GET /data/order/{id}` renders
        it; `status` LIVE | MATCHED | CANCELED filters."""
        user = address_of(key_or_address).lower()

        def collect() -> list[dict[str, Any]]:
            mine = [o for o in self.exchange.orders.values() if o.user == user]
            return [
                render.open_order(o)
                for o in sorted(mine, key=lambda o: o.seq)
                if status is None or o.status == status
            ]

        return self._dispatch(collect)

    def trades(self, key_or_address: str) -> list[dict[str, Any]]:
        """A user's trades, newest first, as `GET /data/trades` renders them."""
        user = address_of(key_or_address).lower()

        def collect() -> list[dict[str, Any]]:
            pairs = self.exchange.user_trades.get(user, [])
            return [render.trade_view(t, o) for t, o in reversed(pairs)]

        return self._dispatch(collect)

    def _balances(self, address: str) -> dict[str, Any]:
        ex = self.exchange
        wallet = ex.wallet(address)
        return {
            "address": wallet.address,
            "collateral": fmt(wallet.collateral),
            "free_collateral": fmt(ex.free_collateral(address)),
            "positions": {
                token_id: {
                    "size": fmt(p.size),
                    "free": fmt(ex.free_tokens(address, token_id)),
                    "avg_price": fmt(p.avg_price),
                    "realized_pnl": fmt(p.realized_pnl),
                }
                for token_id, p in wallet.positions.items()
            },
        }

    def balances(self, key_or_address: str) -> dict[str, Any]:
        """A funder's pUSD (total and free of open BUY orders) and token positions."""
        address = address_of(key_or_address)
        return self._dispatch(lambda: self._balances(address))

    def heartbeat_state(self, key_or_address: str) -> dict[str, Any]:
        """The user's heartbeat chain: active, heartbeat_id, lapses, timeout_s, honour."""
        user = address_of(key_or_address).lower()
        return self._dispatch(lambda: self.exchange.dead_man.state(user))

    def book(self, token_id: str) -> dict[str, Any]:
        """The token's book as `GET /book` renders it (best level last)."""

        def collect() -> dict[str, Any]:
            state = self.exchange.token(token_id)
            return book_summary(state, state.index_of(token_id), 0)

        return self._dispatch(collect)
