"""Data API (public trades and positions) under `/data-api`, as https://data-api.polymarket.com.

`/trades` lists a market's (or user's) trades newest first, taker rows only unless
`takerOnly=false`, with the real offset cap. `/positions` lists a funder's token positions with
the fields nautilus' reconciliation reads (`asset`, `conditionId`, `size`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from tests.venues.polymarket.exchange import Exchange
from tests.venues.polymarket.models import ZERO
from tests.venues.polymarket.models import ApiError
from tests.venues.polymarket.models import Order
from tests.venues.polymarket.models import Trade

PREFIX = "/data-api"
MAX_LIMIT = 10_000
MAX_OFFSET = 10_000


def _int(query: Any, name: str, default: int) -> int:
    try:
        value = int(query.get(name, default))
    except ValueError:
        raise ApiError(400, f"invalid {name}") from None
    if value < 0:
        raise ApiError(400, f"invalid {name}")
    return value


class DataApi:
    def __init__(self, exchange: Exchange) -> None:
        self.ex = exchange

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(f"{PREFIX}/trades", self.trades),
            web.get(f"{PREFIX}/positions", self.positions),
        ]

    def _row(self, trade: Trade, order: Order, size: Decimal, price: Decimal) -> dict[str, Any]:
        spec = self.ex.markets[trade.market].spec
        return {
            "proxyWallet": order.maker,
            "side": order.side,
            "asset": order.token_id,
            "conditionId": trade.market,
            "size": float(size),
            "price": float(price),
            "timestamp": int(trade.match_time),
            "title": spec.question,
            "slug": spec.slug,
            "icon": "",
            "eventSlug": spec.event_slug,
            "outcome": order.outcome,
            "outcomeIndex": order.outcome_index,
            "name": "",
            "pseudonym": "",
            "bio": "",
            "profileImage": "",
            "profileImageOptimized": "",
            "transactionHash": trade.transaction_hash,
        }

    async def trades(self, request: web.Request) -> web.Response:
        q = request.query
        limit = min(_int(q, "limit", 100), MAX_LIMIT)
        offset = _int(q, "offset", 0)
        if offset > MAX_OFFSET:
            raise ApiError(400, f"max historical activity offset of {MAX_OFFSET} exceeded")
        markets = {m for v in q.getall("market", []) for m in v.split(",") if m}
        user = q.get("user", "").lower()
        side = q.get("side", "").upper()
        taker_only = q.get("takerOnly", "true").lower() != "false"
        rows = []
        for market, trades in self.ex.public_trades.items():
            if markets and market not in markets:
                continue
            for trade in trades:
                if trade.status == "FAILED":
                    continue
                parts = [(trade.taker, trade.size, trade.taker_price)]
                if not taker_only:
                    parts += [(f.order, f.size, f.price) for f in trade.makers]
                for order, size, price in parts:
                    if user and order.maker.lower() != user:
                        continue
                    if side and order.side != side:
                        continue
                    rows.append((trade.match_time, self._row(trade, order, size, price)))
        rows.sort(key=lambda r: r[0], reverse=True)  # newest first
        return web.json_response([row for _, row in rows[offset : offset + limit]])

    async def positions(self, request: web.Request) -> web.Response:
        q = request.query
        user = q.get("user", "")
        if not user:
            raise ApiError(400, "user is required")
        limit = min(_int(q, "limit", 100), 500)
        offset = _int(q, "offset", 0)
        try:
            threshold = Decimal(q.get("sizeThreshold", "1") or "0")
        except ArithmeticError:
            raise ApiError(400, "invalid sizeThreshold") from None
        wallet = self.ex.wallets.get(user.lower())
        if wallet is None:
            return web.json_response([])
        rows = []
        for token_id, pos in wallet.positions.items():
            if pos.size <= 0 or pos.size < threshold:
                continue
            state = self.ex.tokens[token_id]
            index = state.index_of(token_id)
            other = state.spec.token_ids[1 - index]
            price = state.midpoint(index)
            value = pos.size * price
            cost = pos.cost
            rows.append(
                {
                    "proxyWallet": wallet.address,
                    "asset": token_id,
                    "conditionId": state.condition_id,
                    "size": float(pos.size),
                    "avgPrice": float(pos.avg_price),
                    "initialValue": float(cost),
                    "currentValue": float(value),
                    "cashPnl": float(value - cost),
                    "percentPnl": float((value - cost) / cost * 100) if cost else 0.0,
                    "totalBought": float(pos.total_bought),
                    "realizedPnl": float(pos.realized_pnl),
                    "percentRealizedPnl": 0.0,
                    "curPrice": float(price),
                    "redeemable": False,
                    "mergeable": wallet.tokens(other) > ZERO,
                    "title": state.spec.question,
                    "slug": state.spec.slug,
                    "icon": "",
                    "eventSlug": state.spec.event_slug,
                    "outcome": state.spec.outcomes[index],
                    "outcomeIndex": index,
                    "oppositeOutcome": state.spec.outcomes[1 - index],
                    "oppositeAsset": other,
                    "endDate": state.spec.end_date[:10],
                    "negativeRisk": state.spec.neg_risk,
                }
            )
        rows.sort(key=lambda r: r["size"], reverse=q.get("sortDirection", "DESC") == "DESC")
        return web.json_response(rows[offset : offset + limit])
