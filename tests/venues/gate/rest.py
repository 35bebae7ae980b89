"""Gate API v4 REST routes (`/api/v4/...`) plus the middleware that logs, injects faults,
authenticates over the raw request bytes and applies rate limits."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from tests.venues.common import arrival_ns
from tests.venues.gate import render
from tests.venues.gate.auth import AuthFailure
from tests.venues.gate.auth import verify_rest
from tests.venues.gate.book import ASK
from tests.venues.gate.book import BID
from tests.venues.gate.contracts import contract_json
from tests.venues.gate.contracts import fmt
from tests.venues.gate.exchange import Exchange
from tests.venues.gate.faults import Faults
from tests.venues.gate.models import Account
from tests.venues.gate.models import ApiError
from tests.venues.gate.ratelimit import RateLimiter
from tests.venues.gate.ratelimit import classify

PREFIX = "/api/v4"
SETTLE = f"{PREFIX}/futures/usdt"
RAW_BODY = web.RequestKey("raw_body", bytes)
ACCOUNT = web.RequestKey("account", Account)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class RequestRecord:
    t_ns: int  # arrival at the socket read, time.time_ns()
    handled_ns: int  # when the simulator's middleware got to it (after its own HTTP parsing)
    method: str
    path: str  # as received, including /api/v4
    query: str
    key: str | None


def private(fn: Handler) -> Handler:
    fn.private = True  # type: ignore[attr-defined]
    return fn


def error(status: int, label: str, message: str) -> web.Response:
    return web.json_response({"label": label, "message": message}, status=status)


def size_decimal(request: web.Request) -> bool:
    return request.headers.get("X-Gate-Size-Decimal") == "1"


def account(request: web.Request) -> Account:
    return request[ACCOUNT]


async def json_body(request: web.Request) -> Any:
    raw = request[RAW_BODY]
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(400, "INVALID_REQUEST_BODY", "Request body is not valid JSON") from None


def int_param(request: web.Request, name: str, default: int, maximum: int = 1000) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(
            400, "INVALID_PARAM_VALUE", f"Invalid parameter `{name}` with value: {raw}"
        ) from None
    if value < 0 or value > maximum:
        raise ApiError(400, "INVALID_PARAM_VALUE", f"Invalid parameter `{name}` with value: {raw}")
    return value


def page(request: web.Request, items: list[Any], default_limit: int = 100) -> list[Any]:
    limit = int_param(request, "limit", default_limit)
    offset = int_param(request, "offset", 0, maximum=10**9)
    return items[offset : offset + limit]


class RestApi:
    def __init__(
        self,
        exchange: Exchange,
        faults: Faults,
        limiter: RateLimiter,
        *,
        time_window_s: float = 60.0,
        clock_offset_s: float = 0.0,
    ) -> None:
        self.ex = exchange
        # The venue's clock runs this far ahead of the machine's: a client that signs with its
        # own clock drifts out of the timestamp window.
        self.clock_offset_s = clock_offset_s
        self.faults = faults
        self.limiter = limiter
        self.time_window_s = time_window_s
        self.requests: list[RequestRecord] = []

    # ---- middleware ----------------------------------------------------------------------
    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        raw_path = request.raw_path.split("?", 1)[0]
        if not raw_path.startswith(PREFIX):
            return await handler(request)
        handled_ns = time.time_ns()
        t_ns = arrival_ns(request)
        raw_query = request.raw_path.split("?", 1)[1] if "?" in request.raw_path else ""
        self.requests.append(
            RequestRecord(
                t_ns, handled_ns, request.method, raw_path, raw_query, request.headers.get("KEY")
            )
        )
        rel = raw_path[len(PREFIX) :]
        fault = self.faults.take_rest(request.method, rel)
        if fault is not None:
            if fault.kind == "429":
                return error(429, "TOO_MANY_REQUESTS", "Request Rate limit Exceeded (311)")
            if fault.kind == "5xx" and not fault.after:
                return error(fault.status, "SERVER_ERROR", "Internal server error")
            await asyncio.sleep(fault.delay_s)
        request[RAW_BODY] = await request.read()
        route_handler = request.match_info.route.handler
        who = request.remote or "?"
        headers: dict[str, str] = {}
        try:
            if getattr(route_handler, "private", False):
                key = verify_rest(
                    {k: a.secret for k, a in self.ex.accounts.items()},
                    key=request.headers.get("KEY"),
                    sign=request.headers.get("SIGN"),
                    timestamp=request.headers.get("Timestamp"),
                    method=request.method,
                    path=raw_path,
                    queries=(raw_query, unquote(raw_query), request.query_string),
                    body=request[RAW_BODY],
                    window_s=self.time_window_s,
                    now=time.time() + self.clock_offset_s,
                )
                request[ACCOUNT] = self.ex.accounts[key]
                who = key
            bucket = classify(request.method, rel)
            if bucket == "public":
                resource = request.match_info.route.resource
                who = f"{who}:{resource.canonical if resource else rel}"  # per endpoint per IP
            decision = self.limiter.hit(bucket, who, cost=self._cost(request, rel))
            headers = {
                "X-Gate-RateLimit-Requests-Remain": str(decision.remain),
                "X-Gate-RateLimit-Limit": str(decision.limit),
                "X-Gate-RateLimit-Reset-Timestamp": str(decision.reset_ms),
                "X-In-Time": str(t_ns // 1000),
                "X-Gate-Trace-ID": f"{t_ns:x}",
            }
            if not decision.allowed:
                response: web.StreamResponse = error(
                    429, "TOO_MANY_REQUESTS", "Request Rate limit Exceeded (311)"
                )
            else:
                response = await handler(request)
        except AuthFailure as exc:
            return error(401, exc.label, exc.message)
        except ApiError as exc:
            response = error(exc.status, exc.label, exc.message)
        except web.HTTPException as exc:
            label = "NOT_FOUND" if exc.status == 404 else "METHOD_NOT_ALLOWED"
            return error(exc.status, label, exc.reason)
        if fault is not None and fault.kind == "5xx":
            response = error(fault.status, "SERVER_ERROR", "Internal server error")
        response.headers.update(headers)
        response.headers["X-Out-Time"] = str(time.time_ns() // 1000)
        return response

    @staticmethod
    def _cost(request: web.Request, rel: str) -> int:
        # Gate counts batch endpoints per order.
        if rel.endswith(("batch_orders", "batch_cancel_orders", "batch_amend_orders")):
            try:
                body = json.loads(request[RAW_BODY] or b"[]")
                return max(1, len(body)) if isinstance(body, list) else 1
            except ValueError:
                return 1
        return 1

    def routes(self) -> list[web.RouteDef]:
        s = SETTLE
        return [
            web.get(f"{PREFIX}/spot/time", self.spot_time),
            web.get(f"{PREFIX}/spot/currencies", self.spot_currencies),
            web.get(f"{s}/contracts", self.contracts),
            web.get(f"{s}/contracts/{{contract}}", self.contract),
            web.get(f"{s}/order_book", self.order_book),
            web.get(f"{s}/trades", self.trades),
            web.get(f"{s}/tickers", self.tickers),
            web.get(f"{s}/accounts", self.accounts),
            web.get(f"{s}/positions", self.positions),
            web.get(f"{s}/positions/{{contract}}", self.position),
            web.post(f"{s}/positions/{{contract}}/leverage", self.leverage),
            web.get(f"{s}/fee", self.fee),
            web.post(f"{s}/orders", self.place_order),
            web.get(f"{s}/orders", self.list_orders),
            web.delete(f"{s}/orders", self.cancel_all),
            web.get(f"{s}/orders/{{order_id}}", self.get_order),
            web.delete(f"{s}/orders/{{order_id}}", self.cancel_order),
            web.put(f"{s}/orders/{{order_id}}", self.amend_order),
            web.post(f"{s}/batch_orders", self.batch_orders),
            web.post(f"{s}/batch_cancel_orders", self.batch_cancel),
            web.post(f"{s}/batch_amend_orders", self.batch_amend),
            web.get(f"{s}/my_trades", self.my_trades),
            web.get(f"{s}/my_trades_timerange", self.my_trades),
            web.post(f"{s}/countdown_cancel_all", self.countdown),
        ]

    # ---- public --------------------------------------------------------------------------
    async def spot_time(self, request: web.Request) -> web.Response:
        return web.json_response({"server_time": int((time.time() + self.clock_offset_s) * 1000)})

    async def spot_currencies(self, request: web.Request) -> web.Response:
        coins = sorted({"USDT", *(n.split("_")[0] for n in self.ex.specs)})
        return web.json_response([_currency(c) for c in coins])

    def _contract_json(self, name: str, dec: bool) -> dict[str, Any]:
        return contract_json(
            self.ex.specs[name],
            last_price=self.ex.last_price[name],
            mark_price=self.ex.mark_price(name).quantize(self.ex.specs[name].mark_price_round),
            orderbook_id=self.ex.books[name].id,
            trade_id=self.ex._next_trade_id,
            funding_rate=self.ex.funding_rates[name],
            size_decimal=dec,
            now=time.time(),
        )

    async def contracts(self, request: web.Request) -> web.Response:
        dec = size_decimal(request)
        return web.json_response(
            page(request, [self._contract_json(n, dec) for n in self.ex.specs])
        )

    async def contract(self, request: web.Request) -> web.Response:
        spec = self.ex.spec(request.match_info["contract"])
        return web.json_response(self._contract_json(spec.name, size_decimal(request)))

    async def order_book(self, request: web.Request) -> web.Response:
        spec = self.ex.spec(request.query.get("contract"))
        limit = int_param(request, "limit", 10, maximum=300)
        book = self.ex.books[spec.name]
        dec = size_decimal(request)

        def levels(side: int) -> list[dict[str, Any]]:
            return [{"p": fmt(p), "s": render.size_out(s, dec)} for p, s in book.depth(side, limit)]

        out: dict[str, Any] = {}
        if request.query.get("with_id") == "true":
            out["id"] = book.id
        out.update(
            current=round(time.time(), 3),
            update=round(book.update_time, 3),
            asks=levels(ASK),
            bids=levels(BID),
        )
        return web.json_response(out)

    async def trades(self, request: web.Request) -> web.Response:
        spec = self.ex.spec(request.query.get("contract"))
        dec = size_decimal(request)
        trades = [render.public_trade(t, dec) for t in reversed(self.ex.public_trades[spec.name])]
        return web.json_response(page(request, trades))

    async def tickers(self, request: web.Request) -> web.Response:
        names = (
            [self.ex.spec(request.query["contract"]).name]
            if "contract" in request.query
            else list(self.ex.specs)
        )
        return web.json_response([self.ex.ticker(n) for n in names])

    # ---- private: account ----------------------------------------------------------------
    @private
    async def accounts(self, request: web.Request) -> web.Response:
        acct = account(request)
        return web.json_response(render.account_rest(acct, self.ex.summary(acct)))

    def _position_json(self, acct: Account, contract: str, dec: bool) -> dict[str, Any]:
        pending = sum(1 for o in self.ex.open_orders[acct.key].values() if o.contract == contract)
        return render.position_rest(
            acct.position(contract),
            acct,
            self.ex.specs[contract],
            self.ex.mark_price(contract).quantize(self.ex.specs[contract].mark_price_round),
            pending,
            dec,
        )

    @private
    async def positions(self, request: web.Request) -> web.Response:
        acct = account(request)
        dec = size_decimal(request)
        rows = [self._position_json(acct, c, dec) for c in self.ex.specs]
        if request.query.get("holding") == "true":
            rows = [r for r in rows if str(r["size"]) != "0"]
        return web.json_response(page(request, rows))

    @private
    async def position(self, request: web.Request) -> web.Response:
        spec = self.ex.spec(request.match_info["contract"])
        return web.json_response(
            self._position_json(account(request), spec.name, size_decimal(request))
        )

    @private
    async def leverage(self, request: web.Request) -> web.Response:
        spec = self.ex.spec(request.match_info["contract"])
        acct = account(request)
        raw = request.query.get("leverage", "10")
        try:
            lev = int(float(raw))
        except ValueError:
            raise ApiError(
                400, "INVALID_PARAM_VALUE", f"Invalid parameter `leverage` with value: {raw}"
            ) from None
        # Gate: leverage 0 = cross; model cross as the contract's cross_leverage_limit (default 10).
        acct.position(spec.name).leverage = lev or int(
            float(request.query.get("cross_leverage_limit", "10"))
        )
        return web.json_response(self._position_json(acct, spec.name, size_decimal(request)))

    @private
    async def fee(self, request: web.Request) -> web.Response:
        names = (
            [self.ex.spec(request.query["contract"]).name]
            if "contract" in request.query
            else list(self.ex.specs)
        )
        return web.json_response(
            {
                n: {
                    "taker_fee": fmt(self.ex.specs[n].taker_fee_rate),
                    "maker_fee": fmt(self.ex.specs[n].maker_fee_rate),
                }
                for n in names
            }
        )

    # ---- private: orders -----------------------------------------------------------------
    @private
    async def place_order(self, request: web.Request) -> web.Response:
        order = self.ex.place(account(request), await json_body(request))
        delay = self.faults.take_order_timeout()
        if delay is not None:
            # Fault: the venue accepted the order but the answer arrives after the client gave up.
            await asyncio.sleep(delay)
        return web.json_response(render.order_rest(order, size_decimal(request)), status=201)

    @private
    async def list_orders(self, request: web.Request) -> web.Response:
        status = request.query.get("status")
        if status not in ("open", "finished"):
            raise ApiError(
                400, "INVALID_PARAM_VALUE", f"Invalid parameter `status` with value: {status}"
            )
        orders = self.ex.list_orders(account(request), status, request.query.get("contract"))
        dec = size_decimal(request)
        return web.json_response(page(request, [render.order_rest(o, dec) for o in orders]))

    @private
    async def cancel_all(self, request: web.Request) -> web.Response:
        side = request.query.get("side")
        if side not in (None, "bid", "ask"):
            raise ApiError(
                400, "INVALID_PARAM_VALUE", f"Invalid parameter `side` with value: {side}"
            )
        orders = self.ex.cancel_all(
            account(request),
            request.query.get("contract"),
            side,
            request.query.get("exclude_reduce_only") == "true",
        )
        dec = size_decimal(request)
        return web.json_response([render.order_rest(o, dec) for o in orders])

    @private
    async def get_order(self, request: web.Request) -> web.Response:
        order = self.ex.find_order(account(request), request.match_info["order_id"])
        return web.json_response(render.order_rest(order, size_decimal(request)))

    @private
    async def cancel_order(self, request: web.Request) -> web.Response:
        order = self.ex.cancel(account(request), request.match_info["order_id"])
        return web.json_response(render.order_rest(order, size_decimal(request)))

    @private
    async def amend_order(self, request: web.Request) -> web.Response:
        order = self.ex.amend(
            account(request), request.match_info["order_id"], await json_body(request)
        )
        return web.json_response(render.order_rest(order, size_decimal(request)))

    @private
    async def batch_orders(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        if not isinstance(body, list) or not 1 <= len(body) <= 10:
            raise ApiError(
                400, "INVALID_PARAM_VALUE", "batch_orders takes a list of 1 to 10 orders"
            )
        dec = size_decimal(request)
        out: list[dict[str, Any]] = []
        for item in body:
            try:
                order = self.ex.place(account(request), item)
                out.append({"succeeded": True, **render.order_rest(order, dec)})
            except ApiError as exc:
                text = item.get("text", "") if isinstance(item, dict) else ""
                out.append(
                    {
                        "succeeded": False,
                        "label": exc.label,
                        "detail": exc.message,
                        "message": exc.message,
                        "text": text,
                    }
                )
        delay = self.faults.take_order_timeout()
        if delay is not None:
            # Same fault as for a single placement: the whole batch's answer arrives too late.
            await asyncio.sleep(delay)
        return web.json_response(out, status=201)

    @private
    async def batch_cancel(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        if not isinstance(body, list) or not 1 <= len(body) <= 20:
            raise ApiError(
                400, "INVALID_PARAM_VALUE", "batch_cancel_orders takes a list of 1 to 20 ids"
            )
        acct = account(request)
        out = []
        for ref in body:
            try:
                order = self.ex.cancel(acct, str(ref))
                out.append(
                    {"user_id": acct.uid, "id": str(order.id), "succeeded": True, "message": ""}
                )
            except ApiError as exc:
                out.append(
                    {
                        "user_id": acct.uid,
                        "id": str(ref),
                        "succeeded": False,
                        "message": exc.label,
                        "label": exc.label,
                    }
                )
        return web.json_response(out)

    @private
    async def batch_amend(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        if not isinstance(body, list) or not 1 <= len(body) <= 10:
            raise ApiError(
                400, "INVALID_PARAM_VALUE", "batch_amend_orders takes a list of 1 to 10 amendments"
            )
        dec = size_decimal(request)
        out: list[dict[str, Any]] = []
        for item in body:
            ref = (
                str(item.get("order_id") or item.get("text") or "")
                if isinstance(item, dict)
                else ""
            )
            try:
                order = self.ex.amend(account(request), ref, item)
                out.append({"succeeded": True, **render.order_rest(order, dec)})
            except ApiError as exc:
                out.append(
                    {
                        "succeeded": False,
                        "label": exc.label,
                        "detail": exc.message,
                        "message": exc.message,
                    }
                )
        return web.json_response(out)

    @private
    async def my_trades(self, request: web.Request) -> web.Response:
        acct = account(request)
        contract = request.query.get("contract")
        order = request.query.get("order")
        trades = [
            t
            for t in reversed(acct.trades)
            if (not contract or t.contract == contract) and (not order or str(t.order_id) == order)
        ]
        dec = size_decimal(request)
        return web.json_response(page(request, [render.user_trade_rest(t, dec) for t in trades]))

    @private
    async def countdown(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        if not isinstance(body, dict) or "timeout" not in body:
            raise ApiError(400, "MISSING_REQUIRED_PARAM", "Missing required parameter: timeout")
        trigger_ms = self.ex.countdown(account(request), body["timeout"], body.get("contract"))
        return web.json_response({"triggerTime": str(trigger_ms)})


def _currency(code: str) -> dict[str, Any]:
    chain = {"name": "ETH" if code != "BTC" else "BTC", "addr": "", "withdraw_disabled": False,
             "withdraw_delayed": False, "deposit_disabled": False}  # fmt: skip
    return {
        "currency": code,
        "name": code,
        "delisted": False,
        "withdraw_disabled": False,
        "withdraw_delayed": False,
        "deposit_disabled": False,
        "trade_disabled": False,
        "fixed_rate": "",
        "chain": chain["name"],
        "chains": [chain],
    }
