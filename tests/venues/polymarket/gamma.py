"""Gamma API (market and event metadata) under `/gamma`, as https://gamma-api.polymarket.com.

Markets are camelCase and carry `outcomes`, `outcomePrices` and `clobTokenIds` as JSON-encoded
strings, as the real API does. Routes: `/markets` (filters + offset), `/markets/keyset`
(cursor pages, rejects `offset`), `/markets/slug/{slug}`, `/markets/{id}`, `/events`,
`/events/slug/{slug}`.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aiohttp import web

from tests.venues.polymarket.exchange import Exchange
from tests.venues.polymarket.market_state import MarketState
from tests.venues.polymarket.markets import fmt
from tests.venues.polymarket.models import ApiError
from tests.venues.polymarket.rest import fee_schedule

PREFIX = "/gamma"
KEYSET_MAX_LIMIT = 100
START_DATE = "2026-01-01T00:00:00Z"


def _flag(value: str | None) -> bool | None:
    return None if value is None else value.lower() == "true"


def _int(query: Any, name: str, default: int) -> int:
    try:
        value = int(query.get(name, default))
    except ValueError:
        raise ApiError(400, f"invalid {name}") from None
    if value < 0:
        raise ApiError(400, f"invalid {name}")
    return value


def gamma_market(state: MarketState) -> dict[str, Any]:
    spec = state.spec
    bid, ask = state.top(0)
    out: dict[str, Any] = {
        "id": str(spec.gamma_id),
        "question": spec.question,
        "conditionId": spec.condition_id,
        "questionID": spec.question_id,
        "slug": spec.slug,
        "description": spec.description,
        "startDate": START_DATE,
        "startDateIso": START_DATE[:10],
        "endDate": spec.end_date,
        "endDateIso": spec.end_date[:10],
        "outcomes": json.dumps(list(spec.outcomes)),
        "outcomePrices": json.dumps([fmt(state.midpoint(0)), fmt(state.midpoint(1))]),
        "clobTokenIds": json.dumps(list(spec.token_ids)),
        "active": True,
        "closed": False,
        "archived": False,
        "restricted": False,
        "enableOrderBook": True,
        "acceptingOrders": True,
        "acceptingOrdersTimestamp": START_DATE,
        "orderPriceMinTickSize": float(state.tick),
        "orderMinSize": float(spec.min_order_size),
        "negRisk": spec.neg_risk,
        "negRiskRequestID": spec.question_id if spec.neg_risk else "",
        "negRiskMarketID": spec.neg_risk_market_id or None,
        "bestBid": float(bid) if bid is not None else None,
        "bestAsk": float(ask) if ask is not None else None,
        "spread": float(ask - bid) if bid is not None and ask is not None else None,
        "lastTradePrice": float(state.last_trades[0].price),
        "volume": "0",
        "volumeNum": 0,
        "liquidity": "0",
        "liquidityNum": 0,
        "rewardsMinSize": 0,
        "rewardsMaxSpread": 0,
        "feesEnabled": bool(spec.fee_rate),
        "feeType": "taker" if spec.fee_rate else None,
        "secondsDelay": 0,
        "eventStartTime": None,
        "umaResolutionStatus": None,
        "marketMakerAddress": "",
        "icon": "",
        "image": "",
    }
    if spec.fee_rate:
        out["feeSchedule"] = fee_schedule(state)
    return out


class GammaApi:
    def __init__(self, exchange: Exchange) -> None:
        self.ex = exchange
        # Events in first-seen order of their markets; ids are stable per slug order.
        self.events: dict[str, list[MarketState]] = {}
        for state in exchange.markets.values():
            self.events.setdefault(state.spec.event_slug, []).append(state)

    def routes(self) -> list[web.RouteDef]:
        p = PREFIX
        return [
            web.get(f"{p}/markets", self.markets),
            web.get(f"{p}/markets/keyset", self.markets_keyset),
            web.get(f"{p}/markets/slug/{{slug}}", self.market_by_slug),
            web.get(f"{p}/markets/{{id}}", self.market_by_id),
            web.get(f"{p}/events", self.list_events),
            web.get(f"{p}/events/slug/{{slug}}", self.event_by_slug),
        ]

    def _filtered(self, query: Any) -> list[MarketState]:
        ids = set(query.getall("id", []))
        slugs = set(query.getall("slug", []))
        tokens = {t for v in query.getall("clob_token_ids", []) for t in v.split(",")}
        conditions = {c for v in query.getall("condition_ids", []) for c in v.split(",")}
        active, closed, archived = (
            _flag(query.get("active")),
            _flag(query.get("closed")),
            _flag(query.get("archived")),
        )
        out = []
        for state in self.ex.markets.values():
            spec = state.spec
            if ids and str(spec.gamma_id) not in ids:
                continue
            if slugs and spec.slug not in slugs:
                continue
            if tokens and not tokens & set(spec.token_ids):
                continue
            if conditions and spec.condition_id not in conditions:
                continue
            # Every simulated market is active, open and not archived.
            if active is False or closed is True or archived is True:
                continue
            out.append(state)
        return out

    async def markets(self, request: web.Request) -> web.Response:
        states = self._filtered(request.query)
        offset = _int(request.query, "offset", 0)
        limit = _int(request.query, "limit", 500)
        return web.json_response([gamma_market(s) for s in states[offset : offset + limit]])

    async def markets_keyset(self, request: web.Request) -> web.Response:
        q = request.query
        if "offset" in q:
            raise ApiError(400, "offset is not supported by keyset pagination; use after_cursor")
        limit = _int(q, "limit", 20)
        if not 1 <= limit <= KEYSET_MAX_LIMIT:
            raise ApiError(400, f"limit must be between 1 and {KEYSET_MAX_LIMIT}")
        start = 0
        if q.get("after_cursor"):
            try:
                start = int(base64.b64decode(q["after_cursor"]).decode())
            except (ValueError, binascii.Error):
                raise ApiError(400, "invalid after_cursor") from None
        states = self._filtered(q)
        page = states[start : start + limit]
        end = start + limit
        cursor = base64.b64encode(str(end).encode()).decode() if end < len(states) else None
        return web.json_response(
            {"markets": [gamma_market(s) for s in page], "next_cursor": cursor}
        )

    async def market_by_slug(self, request: web.Request) -> web.Response:
        for state in self.ex.markets.values():
            if state.spec.slug == request.match_info["slug"]:
                return web.json_response(gamma_market(state))
        raise ApiError(404, "market not found")

    async def market_by_id(self, request: web.Request) -> web.Response:
        for state in self.ex.markets.values():
            if str(state.spec.gamma_id) == request.match_info["id"]:
                return web.json_response(gamma_market(state))
        raise ApiError(404, "market not found")

    def _event(self, slug: str, number: int) -> dict[str, Any]:
        states = self.events[slug]
        first = states[0].spec
        return {
            "id": str(900_001 + number),
            "ticker": slug,
            "slug": slug,
            "title": first.event_title,
            "description": first.description,
            "startDate": START_DATE,
            "endDate": first.end_date,
            "active": True,
            "closed": False,
            "archived": False,
            "restricted": False,
            "enableOrderBook": True,
            "negRisk": first.neg_risk,
            "negRiskMarketID": first.neg_risk_market_id or None,
            "markets": [gamma_market(s) for s in states],
        }

    async def list_events(self, request: web.Request) -> web.Response:
        q = request.query
        slugs = set(q.getall("slug", []))
        ids = set(q.getall("id", []))
        events = [self._event(slug, i) for i, slug in enumerate(self.events)]
        events = [
            e for e in events if (not slugs or e["slug"] in slugs) and (not ids or e["id"] in ids)
        ]
        if _flag(q.get("active")) is False or _flag(q.get("closed")) is True:
            events = []
        offset = _int(q, "offset", 0)
        limit = _int(q, "limit", 500)
        return web.json_response(events[offset : offset + limit])

    async def event_by_slug(self, request: web.Request) -> web.Response:
        slug = request.match_info["slug"]
        if slug not in self.events:
            raise ApiError(404, "event not found")
        return web.json_response(self._event(slug, list(self.events).index(slug)))
