"""CLOB REST routes (mounted at the server root, like https://clob.polymarket.com) plus the
middleware that logs requests, injects faults, authenticates (L1/L2 over the raw request) and
turns errors into the CLOB's `{"error": "..."}` bodies.

Gamma and Data API routes live in gamma.py and data_api.py under their own prefixes; the
middleware serves them too (faults, request log), but they need no authentication.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiohttp import web

from tests.venues.common import FaultPlan
from tests.venues.common import arrival_ns
from tests.venues.polymarket import render
from tests.venues.polymarket.auth import KeyRegistry
from tests.venues.polymarket.exchange import Exchange
from tests.venues.polymarket.market_state import MarketState
from tests.venues.polymarket.market_state import book_summary
from tests.venues.polymarket.markets import fmt
from tests.venues.polymarket.models import BUY
from tests.venues.polymarket.models import SELL
from tests.venues.polymarket.models import ApiError
from tests.venues.polymarket.models import Order
from tests.venues.polymarket.models import Trade
from tests.venues.polymarket.orders import fee_rate_bps
from tests.venues.polymarket.orders import parse_order_request
from tests.venues.polymarket.signing import EXCHANGE_V2
from tests.venues.polymarket.signing import MAX_UINT256
from tests.venues.polymarket.signing import NEG_RISK_ADAPTER
from tests.venues.polymarket.signing import NEG_RISK_EXCHANGE_V2
from tests.venues.polymarket.signing import ApiCreds

RAW_BODY = web.RequestKey("raw_body", bytes)
CREDS = web.RequestKey("creds", ApiCreds)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
INITIAL_CURSOR = "MA=="  # base64("0")
END_CURSOR = "LTE="  # base64("-1")
MAX_BATCH_ORDERS = 15
MAX_BATCH_CANCELS = 3000
INTERVALS_S = {"1h": 3600, "6h": 6 * 3600, "1d": 86400, "1w": 7 * 86400, "1m": 30 * 86400}
UNPROTECTED_PREFIXES = ("/_sim", "/ws/")


@dataclass(frozen=True)
class RequestRecord:
    t_ns: int  # arrival at the socket read, time.time_ns()
    method: str
    path: str
    query: str
    api_key: str | None


def private(fn: Handler) -> Handler:
    """Needs L2 auth: HMAC-signed with an API key (checked by the middleware)."""
    fn.auth = "l2"  # type: ignore[attr-defined]
    return fn


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def creds_of(request: web.Request) -> ApiCreds:
    return request[CREDS]


def user_of(request: web.Request) -> str:
    return request[CREDS].address.lower()


def json_body(request: web.Request, message: str = "Invalid payload") -> Any:
    raw = request[RAW_BODY]
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        raise ApiError(400, message) from None


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        offset = int(base64.b64decode(cursor).decode())
    except (ValueError, binascii.Error):
        raise ApiError(400, "invalid next_cursor") from None
    return max(offset, 0)


def paginate(items: list[Any], cursor: str | None, limit: int) -> dict[str, Any]:
    """The CLOB's cursor page: `next_cursor` is base64(offset), "LTE=" after the last page."""
    if cursor == END_CURSOR:
        return {"data": [], "next_cursor": END_CURSOR, "limit": limit, "count": 0}
    offset = decode_cursor(cursor)
    page = items[offset : offset + limit]
    end = offset + limit >= len(items)
    next_cursor = END_CURSOR if end else base64.b64encode(str(offset + limit).encode()).decode()
    return {"data": page, "next_cursor": next_cursor, "limit": limit, "count": len(page)}


class RestApi:
    def __init__(
        self,
        exchange: Exchange,
        keys: KeyRegistry,
        faults: FaultPlan,
        *,
        page_limit: int = 100,
        clock_offset_s: float = 0.0,
    ) -> None:
        self.ex = exchange
        self.keys = keys
        self.faults = faults
        self.page_limit = page_limit
        self.clock_offset_s = clock_offset_s
        self.requests: list[RequestRecord] = []

    # ---- middleware ----------------------------------------------------------------------
    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.raw_path.split("?", 1)[0]
        if path.startswith(UNPROTECTED_PREFIXES):
            return await handler(request)
        query = request.raw_path.split("?", 1)[1] if "?" in request.raw_path else ""
        self.requests.append(
            RequestRecord(
                arrival_ns(request),
                request.method,
                path,
                query,
                request.headers.get("POLY_API_KEY"),
            )
        )
        fault = self.faults.take_rest(request.method, path)
        if fault is not None:
            if fault.kind == "429":
                return error(429, "Too Many Requests")
            if fault.kind == "5xx" and not fault.after:
                return error(fault.status, "Internal server error")
            await asyncio.sleep(fault.delay_s)
        request[RAW_BODY] = await request.read()
        route_handler = request.match_info.route.handler
        try:
            auth = getattr(route_handler, "auth", None)
            if auth == "l2":
                request[CREDS] = self.keys.verify_l2(
                    request.headers, request.method, path, request[RAW_BODY]
                )
            response = await handler(request)
        except ApiError as exc:
            response = web.json_response(exc.body(), status=exc.status)
        except web.HTTPException as exc:
            response = error(exc.status, exc.reason)
        if fault is not None and fault.kind == "5xx":
            response = error(fault.status, "Internal server error")
        return response

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/ok", self.ok),
            web.get("/version", self.version),
            web.get("/time", self.server_time),
            web.get("/markets", self.list_markets),
            web.get("/markets/{condition_id}", self.get_market),
            web.get("/clob-markets/{condition_id}", self.clob_market),
            web.get("/markets-by-token/{token_id}", self.market_by_token),
            web.get("/book", self.book),
            web.post("/books", self.books),
            web.get("/price", self.price),
            web.get("/prices", self.all_prices),
            web.post("/prices", self.prices),
            web.get("/midpoint", self.midpoint),
            web.post("/midpoints", self.midpoints),
            web.get("/spread", self.spread),
            web.post("/spreads", self.spreads),
            web.get("/last-trade-price", self.last_trade_price),
            web.post("/last-trades-prices", self.last_trades_prices),
            web.get("/tick-size", self.tick_size),
            web.get("/neg-risk", self.neg_risk),
            web.get("/fee-rate", self.fee_rate),
            web.get("/prices-history", self.prices_history),
            web.post("/auth/api-key", self.create_api_key),
            web.get("/auth/derive-api-key", self.derive_api_key),
            web.get("/auth/api-keys", self.api_keys),
            web.delete("/auth/api-key", self.delete_api_key),
            web.get("/auth/ban-status/closed-only", self.closed_only),
            web.post("/order", self.post_order),
            web.post("/orders", self.post_orders),
            web.delete("/order", self.cancel_order),
            web.delete("/orders", self.cancel_orders),
            web.delete("/cancel-all", self.cancel_all),
            web.delete("/cancel-market-orders", self.cancel_market_orders),
            web.get("/data/orders", self.open_orders),
            web.get("/data/order/{order_id}", self.get_order),
            web.get("/data/trades", self.user_trades),
            web.post("/v1/heartbeats", self.heartbeat),
            web.post("/heartbeats", self.heartbeat),
            web.get("/balance-allowance", self.balance_allowance),
            web.get("/balance-allowance/update", self.balance_allowance),
        ]

    # ---- server ----------------------------------------------------------------------------
    async def ok(self, request: web.Request) -> web.Response:
        return web.json_response("OK")

    async def version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": 2})

    async def server_time(self, request: web.Request) -> web.Response:
        return web.json_response(int(time.time() + self.clock_offset_s))

    # ---- markets -------------------------------------------------------------------------
    def market_json(self, state: MarketState) -> dict[str, Any]:
        """`GET /markets/{condition_id}` body (snake_case CLOB market)."""
        spec = state.spec
        out: dict[str, Any] = {
            "enable_order_book": True,
            "active": True,
            "closed": False,
            "archived": False,
            "accepting_orders": True,
            "accepting_order_timestamp": "2026-01-01T00:00:00Z",
            "minimum_order_size": fmt(spec.min_order_size),
            "minimum_tick_size": fmt(state.tick),
            "condition_id": spec.condition_id,
            "question_id": spec.question_id,
            "question": spec.question,
            "description": spec.description,
            "market_slug": spec.slug,
            "end_date_iso": spec.end_date,
            "game_start_time": None,
            "seconds_delay": 0,
            "fpmm": "",
            "maker_base_fee": 0,
            "taker_base_fee": fee_rate_bps(spec.fee_rate),
            "notifications_enabled": True,
            "neg_risk": spec.neg_risk,
            "neg_risk_market_id": spec.neg_risk_market_id,
            "neg_risk_request_id": spec.question_id if spec.neg_risk else "",
            "icon": "",
            "image": "",
            "rewards": {"rates": None, "min_size": 0, "max_spread": 0},
            "is_50_50_outcome": False,
            "tokens": [
                {
                    "token_id": token_id,
                    "outcome": outcome,
                    "price": float(state.midpoint(i)),
                    "winner": False,
                }
                for i, (token_id, outcome) in enumerate(
                    zip(spec.token_ids, spec.outcomes, strict=True)
                )
            ],
            "tags": ["Simulated"],
        }
        if spec.fee_rate:
            out["feeSchedule"] = fee_schedule(state)
        return out

    async def list_markets(self, request: web.Request) -> web.Response:
        items = [self.market_json(s) for s in self.ex.markets.values()]
        return web.json_response(paginate(items, request.query.get("next_cursor"), self.page_limit))

    async def get_market(self, request: web.Request) -> web.Response:
        state = self.ex.market(request.match_info["condition_id"])
        return web.json_response(self.market_json(state))

    async def clob_market(self, request: web.Request) -> web.Response:
        state = self.ex.market(request.match_info["condition_id"])
        spec = state.spec
        fees = (
            {"r": float(spec.fee_rate), "e": float(spec.fee_exponent), "to": True}
            if spec.fee_rate
            else None
        )
        return web.json_response(
            {
                "c": spec.condition_id,
                "t": [{"t": t, "o": o} for t, o in zip(spec.token_ids, spec.outcomes, strict=True)],
                "mts": float(state.tick),
                "nr": spec.neg_risk,
                "fd": fees,
                "mbf": 0,
                "tbf": fee_rate_bps(spec.fee_rate),
                "r": None,
                "ao": True,
                "mos": float(spec.min_order_size),
                "sd": 0,
            }
        )

    async def market_by_token(self, request: web.Request) -> web.Response:
        state = self.ex.token(request.match_info["token_id"])
        yes, no = state.spec.token_ids
        return web.json_response(
            {"condition_id": state.condition_id, "primary_token_id": yes, "secondary_token_id": no}
        )

    # ---- book and prices -----------------------------------------------------------------
    def _summary(self, token_id: str | None) -> dict[str, Any]:
        state = self.ex.token(token_id)
        return book_summary(state, state.index_of(str(token_id)), int(time.time() * 1000))

    def _token_params(self, request: web.Request) -> list[dict[str, Any]]:
        body = json_body(request)
        if not isinstance(body, list) or not all(
            isinstance(p, dict) and p.get("token_id") for p in body
        ):
            raise ApiError(400, "Invalid payload")
        if len(body) > 500:
            raise ApiError(400, "Payload exceeds the limit")
        return body

    async def book(self, request: web.Request) -> web.Response:
        return web.json_response(self._summary(request.query.get("token_id")))

    async def books(self, request: web.Request) -> web.Response:
        params = self._token_params(request)
        return web.json_response([self._summary(p["token_id"]) for p in params])

    def _price(self, token_id: str | None, side: str | None) -> str:
        """BUY -> best bid, SELL -> best ask (as the CLOB's /price documents)."""
        if side not in (BUY, SELL):
            raise ApiError(400, "Invalid side")
        state = self.ex.token(token_id)
        bid, ask = state.top(state.index_of(str(token_id)))
        price = bid if side == BUY else ask
        if price is None:
            raise ApiError(404, "No orderbook exists for the requested token id")
        return fmt(price)

    async def price(self, request: web.Request) -> web.Response:
        q = request.query
        return web.json_response({"price": self._price(q.get("token_id"), q.get("side"))})

    async def all_prices(self, request: web.Request) -> web.Response:
        out = {}
        for token_id in self.ex.tokens:
            out[token_id] = {side: self._price(token_id, side) for side in (BUY, SELL)}
        return web.json_response(out)

    async def prices(self, request: web.Request) -> web.Response:
        out: dict[str, dict[str, str]] = {}
        for p in self._token_params(request):
            side = p.get("side")
            out.setdefault(p["token_id"], {})[str(side)] = self._price(p["token_id"], side)
        return web.json_response(out)

    def _mid(self, token_id: str | None) -> str:
        state = self.ex.token(token_id)
        return fmt(state.midpoint(state.index_of(str(token_id))))

    async def midpoint(self, request: web.Request) -> web.Response:
        return web.json_response({"mid": self._mid(request.query.get("token_id"))})

    async def midpoints(self, request: web.Request) -> web.Response:
        params = self._token_params(request)
        return web.json_response({p["token_id"]: self._mid(p["token_id"]) for p in params})

    def _spread(self, token_id: str | None) -> str:
        state = self.ex.token(token_id)
        bid, ask = state.top(state.index_of(str(token_id)))
        if bid is None or ask is None:
            return "1"
        return fmt(ask - bid)

    async def spread(self, request: web.Request) -> web.Response:
        return web.json_response({"spread": self._spread(request.query.get("token_id"))})

    async def spreads(self, request: web.Request) -> web.Response:
        params = self._token_params(request)
        return web.json_response({p["token_id"]: self._spread(p["token_id"]) for p in params})

    def _last_trade(self, token_id: str | None) -> dict[str, str]:
        state = self.ex.token(token_id)
        last = state.last_trades[state.index_of(str(token_id))]
        return {"price": fmt(last.price), "side": last.side}

    async def last_trade_price(self, request: web.Request) -> web.Response:
        return web.json_response(self._last_trade(request.query.get("token_id")))

    async def last_trades_prices(self, request: web.Request) -> web.Response:
        params = self._token_params(request)
        return web.json_response(
            [{"token_id": p["token_id"], **self._last_trade(p["token_id"])} for p in params]
        )

    def _market_of_token(self, request: web.Request) -> MarketState:
        token_id = request.query.get("token_id")
        if not token_id:
            raise ApiError(400, "Invalid token id")
        state = self.ex.tokens.get(token_id)
        if state is None:
            raise ApiError(404, "market not found")
        return state

    async def tick_size(self, request: web.Request) -> web.Response:
        state = self._market_of_token(request)
        return web.json_response({"minimum_tick_size": float(state.tick)})

    async def neg_risk(self, request: web.Request) -> web.Response:
        return web.json_response({"neg_risk": self._market_of_token(request).spec.neg_risk})

    async def fee_rate(self, request: web.Request) -> web.Response:
        state = self._market_of_token(request)
        return web.json_response({"base_fee": fee_rate_bps(state.spec.fee_rate)})

    async def prices_history(self, request: web.Request) -> web.Response:
        q = request.query
        state = self.ex.tokens.get(q.get("market", ""))
        if state is None:
            raise ApiError(400, "invalid filters: market must be a known token id")
        now = int(time.time())
        try:
            fidelity_s = int(q.get("fidelity", "1")) * 60
            if "startTs" in q or "endTs" in q:
                start, end = int(q.get("startTs", 0)), int(q.get("endTs", now))
            elif q.get("interval") in INTERVALS_S:
                start, end = now - INTERVALS_S[q["interval"]], now
            elif q.get("interval") == "max":
                start, end = 0, now
            else:
                raise ValueError
        except ValueError:
            raise ApiError(
                400, "invalid filters: need interval (1h,6h,1d,1w,1m,max) or startTs/endTs"
            ) from None
        if fidelity_s <= 0:
            raise ApiError(400, "invalid filters: fidelity must be a positive number of minutes")
        buckets: dict[int, tuple[int, Decimal]] = {}
        for t, p in state.history[state.index_of(q["market"])]:
            if start <= t <= end:
                buckets[t // fidelity_s] = (t, p)  # the last point of each bucket
        return web.json_response(
            {"history": [{"t": t, "p": float(p)} for t, p in buckets.values()]}
        )

    # ---- API keys ------------------------------------------------------------------------
    async def create_api_key(self, request: web.Request) -> web.Response:
        # L1: the wallet's EIP-712 `ClobAuth` signature, checked by the key registry.
        return web.json_response(self.keys.create(request.headers).json())

    async def derive_api_key(self, request: web.Request) -> web.Response:
        return web.json_response(self.keys.derive(request.headers).json())

    @private
    async def api_keys(self, request: web.Request) -> web.Response:
        return web.json_response({"apiKeys": self.keys.keys_of(creds_of(request).address)})

    @private
    async def delete_api_key(self, request: web.Request) -> web.Response:
        self.keys.keys.pop(creds_of(request).api_key, None)
        return web.json_response("OK")

    @private
    async def closed_only(self, request: web.Request) -> web.Response:
        return web.json_response({"closed_only": False})

    # ---- orders --------------------------------------------------------------------------
    @private
    async def post_order(self, request: web.Request) -> web.Response:
        body = json_body(request, "Invalid order payload")
        order, trades = self.ex.place(creds_of(request), parse_order_request(body))
        await self._maybe_answer_late()
        return web.json_response(render.post_order_response(order, trades))

    @private
    async def post_orders(self, request: web.Request) -> web.Response:
        body = json_body(request, "Invalid order payload")
        if not isinstance(body, list) or not body:
            raise ApiError(400, "Invalid order payload")
        if len(body) > MAX_BATCH_ORDERS:
            raise ApiError(
                400, f"Too many orders in payload: {len(body)}, max allowed: {MAX_BATCH_ORDERS}"
            )
        out = []
        for item in body:
            order_id = ""
            try:
                order_request = parse_order_request(item)
                order_id = self.ex.order_id(order_request)
                order, trades = self.ex.place(creds_of(request), order_request)
                out.append(render.post_order_response(order, trades))
            except ApiError as exc:
                out.append(render.post_order_failure(exc.message, order_id))
        await self._maybe_answer_late()
        return web.json_response(out)

    async def _maybe_answer_late(self) -> None:
        delay = self.faults.take_order_timeout()
        if delay is not None:
            # Fault: the venue accepted the order(s) but the answer comes after the client gave up.
            await asyncio.sleep(delay)

    @private
    async def cancel_order(self, request: web.Request) -> web.Response:
        body = json_body(request, "Invalid order payload")
        if not isinstance(body, dict) or not isinstance(body.get("orderID"), str):
            raise ApiError(400, "Invalid order payload")
        return web.json_response(self.ex.cancel(user_of(request), [body["orderID"]]))

    @private
    async def cancel_orders(self, request: web.Request) -> web.Response:
        body = json_body(request, "Invalid order payload")
        if not isinstance(body, list) or not all(isinstance(i, str) for i in body):
            raise ApiError(400, "Invalid order payload")
        if len(body) > MAX_BATCH_CANCELS:
            raise ApiError(400, f"Too many orders in payload, max allowed: {MAX_BATCH_CANCELS}")
        return web.json_response(self.ex.cancel(user_of(request), body))

    @private
    async def cancel_all(self, request: web.Request) -> web.Response:
        return web.json_response(self.ex.cancel_all(user_of(request)))

    @private
    async def cancel_market_orders(self, request: web.Request) -> web.Response:
        body = json_body(request, "Invalid order payload") or {}
        if not isinstance(body, dict):
            raise ApiError(400, "Invalid order payload")
        return web.json_response(
            self.ex.cancel_market(user_of(request), body.get("market"), body.get("asset_id"))
        )

    @private
    async def open_orders(self, request: web.Request) -> web.Response:
        q = request.query
        orders = [
            o
            for o in self.ex.user_open_orders(user_of(request)).values()
            if (not q.get("id") or o.id == q["id"])
            and (not q.get("market") or o.market == q["market"])
            and (not q.get("asset_id") or o.token_id == q["asset_id"])
        ]
        orders.sort(key=lambda o: o.seq)
        return web.json_response(
            paginate([render.open_order(o) for o in orders], q.get("next_cursor"), self.page_limit)
        )

    @private
    async def get_order(self, request: web.Request) -> web.Response:
        order_id = request.match_info["order_id"]
        if not (order_id.startswith("0x") and len(order_id) == 66):
            raise ApiError(400, "Invalid orderID")
        order: Order | None = self.ex.orders.get(order_id)
        if order is None or order.user != user_of(request):
            raise ApiError(404, "order not found")
        return web.json_response(render.open_order(order))

    @private
    async def user_trades(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            after = int(q.get("after", 0))
            before = int(q.get("before", 0))
        except ValueError:
            raise ApiError(400, "Invalid trade params payload") from None

        def wanted(trade: Trade, own: Order) -> bool:
            return (
                (not q.get("id") or trade.id == q["id"])
                and (not q.get("market") or trade.market == q["market"])
                and (not q.get("asset_id") or q["asset_id"] in _assets(trade))
                and (not q.get("maker_address") or own.maker.lower() == q["maker_address"].lower())
                and (not after or trade.match_time >= after)
                and (not before or trade.match_time <= before)
            )

        rows = [
            render.trade_view(trade, own)
            for trade, own in reversed(self.ex.user_trades.get(user_of(request), []))
            if wanted(trade, own)
        ]
        return web.json_response(paginate(rows, q.get("next_cursor"), self.page_limit))

    # ---- heartbeats and balances ---------------------------------------------------------
    @private
    async def heartbeat(self, request: web.Request) -> web.Response:
        body = json_body(request) or {}
        heartbeat_id = body.get("heartbeat_id") if isinstance(body, dict) else None
        new_id = self.ex.dead_man.beat(user_of(request), str(heartbeat_id or ""))
        return web.json_response({"heartbeat_id": new_id, "status": "ok"})

    @private
    async def balance_allowance(self, request: web.Request) -> web.Response:
        q = request.query
        asset_type = q.get("asset_type", "COLLATERAL").upper()
        if asset_type not in ("COLLATERAL", "CONDITIONAL"):
            raise ApiError(400, "Invalid asset type")
        try:
            signature_type = int(q.get("signature_type", "0"))
        except ValueError:
            signature_type = -1
        if signature_type not in (0, 1, 2):
            raise ApiError(400, "Invalid signature_type")
        address = self.ex.funder_of(creds_of(request).address, signature_type)
        wallet = self.ex.wallet(address)
        if asset_type == "COLLATERAL":
            amount = wallet.collateral
        else:
            token_id = q.get("token_id", "")
            self.ex.token(token_id)
            amount = wallet.tokens(token_id)
        # Allowances are always granted: the simulator has no approval step.
        spenders = (EXCHANGE_V2, NEG_RISK_EXCHANGE_V2, NEG_RISK_ADAPTER)
        return web.json_response(
            {
                "balance": str(int(amount * 1_000_000)),
                "allowances": {s: str(MAX_UINT256) for s in spenders},
            }
        )


def fee_schedule(state: MarketState) -> dict[str, Any]:
    """Gamma/CLOB `feeSchedule` of a fee-enabled market (read by nautilus' fee model)."""
    spec = state.spec
    return {"rate": float(spec.fee_rate), "exponent": float(spec.fee_exponent), "takerOnly": True}


def _assets(trade: Trade) -> set[str]:
    return {trade.taker.token_id, *(f.order.token_id for f in trade.makers)}
