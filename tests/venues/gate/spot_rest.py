"""Spot public REST routes (`/api/v4/spot/...`) over the simulator's spot market.

They sit behind the same middleware as the futures routes (request log, faults, rate limits).
"""

from __future__ import annotations

from aiohttp import web

from tests.venues.gate.models import ApiError
from tests.venues.gate.rest import PREFIX
from tests.venues.gate.rest import int_param
from tests.venues.gate.spot import SpotExchange
from tests.venues.gate.spot import currency_pair_json


class SpotRestApi:
    def __init__(self, spot: SpotExchange) -> None:
        self.spot = spot

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(f"{PREFIX}/spot/currency_pairs", self.currency_pairs),
            web.get(f"{PREFIX}/spot/order_book", self.order_book),
            web.get(f"{PREFIX}/margin/currency_pairs", self.margin_currency_pairs),
        ]

    async def currency_pairs(self, request: web.Request) -> web.Response:
        return web.json_response([currency_pair_json(s) for s in self.spot.specs.values()])

    async def margin_currency_pairs(self, request: web.Request) -> web.Response:
        # No margin trading here; ccxt reads this list next to the spot pairs when loading spot.
        return web.json_response([])

    async def order_book(self, request: web.Request) -> web.Response:
        pair = request.query.get("currency_pair")
        if pair not in self.spot.specs:
            raise ApiError(400, "INVALID_CURRENCY_PAIR", f"Invalid currency pair {pair}")
        limit = int_param(request, "limit", 10)
        with_id = request.query.get("with_id") == "true"
        return web.json_response(self.spot.order_book_json(pair, limit, with_id))
