"""JSON shapes of orders, trades, positions and accounts, for REST and for WebSocket pushes.

REST renders prices/fees as strings; WS pushes (per Gate's doc examples) use JSON numbers for
prices and fees. Sizes are integers unless the client asked for decimal sizes with
`X-Gate-Size-Decimal: 1`, in which case they are decimal strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tests.venues.gate.contracts import ContractSpec
from tests.venues.gate.contracts import fmt
from tests.venues.gate.models import Account
from tests.venues.gate.models import Order
from tests.venues.gate.models import Position
from tests.venues.gate.models import UserTrade


def size_out(n: int, size_decimal: bool) -> int | str:
    return str(n) if size_decimal else n


def _ms(t: float) -> int:
    return round(t * 1000)


def _t3(t: float) -> float:
    return round(t, 3)


@dataclass(frozen=True)
class PublicTrade:
    id: int
    create_time: float
    contract: str
    size: int  # + taker bought, - taker sold
    price: Decimal


def order_rest(o: Order, size_decimal: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": o.id,
        "user": o.user,
        "contract": o.contract,
        "create_time": _t3(o.create_time),
        "update_time": _t3(o.update_time),
        "size": size_out(o.side * o.qty, size_decimal),
        "iceberg": size_out(0, size_decimal),
        "left": size_out(o.side * o.left, size_decimal),
        "price": fmt(o.price),
        "fill_price": fmt(o.fill_price),
        "mkfr": fmt(o.mkfr),
        "tkfr": fmt(o.tkfr),
        "tif": o.tif,
        "refu": 0,
        "is_reduce_only": o.reduce_only,
        "is_close": o.is_close,
        "is_liq": False,
        "text": o.text,
        "status": o.status,
        "stp_id": 0,
        "stp_act": "-",
        "amend_text": o.amend_text,
        "update_id": o.update_id,
        "biz_info": "-",
    }
    # finish_time/finish_as are "not returned if order is open" (ccxt reads finish_as first).
    if not o.is_open:
        out["finish_time"] = _t3(o.finish_time)
        out["finish_as"] = o.finish_as
    return out


def order_ws(o: Order, size_decimal: bool, finish_as: str) -> dict[str, Any]:
    return {
        "contract": o.contract,
        "create_time": int(o.create_time),
        "create_time_ms": _ms(o.create_time),
        "fill_price": float(o.fill_price),
        "finish_as": finish_as,
        "finish_time": int(o.finish_time),
        "finish_time_ms": _ms(o.finish_time),
        "iceberg": size_out(0, size_decimal),
        "id": o.id,
        "is_close": o.is_close,
        "is_liq": False,
        "is_reduce_only": o.reduce_only,
        "left": size_out(o.side * o.left, size_decimal),
        "mkfr": float(o.mkfr),
        "price": float(o.price),
        "refr": 0,
        "refu": 0,
        "size": size_out(o.side * o.qty, size_decimal),
        "status": o.status,
        "text": o.text,
        "tif": o.tif,
        "tkfr": float(o.tkfr),
        "user": str(o.user),
        "update_id": o.update_id,
        "update_time": _ms(o.update_time),
        "stop_loss_price": "",
        "stop_profit_price": "",
        "stp_id": 0,
        "stp_act": "-",
        "amend_text": o.amend_text,
        "biz_info": "-",
    }


def user_trade_rest(t: UserTrade, size_decimal: bool) -> dict[str, Any]:
    return {
        "id": t.id,
        "trade_id": str(t.id),
        "create_time": _t3(t.create_time),
        "contract": t.contract,
        "order_id": str(t.order_id),
        "size": size_out(t.size, size_decimal),
        "close_size": size_out(t.close_size, size_decimal),
        "price": fmt(t.price),
        "role": t.role,
        "text": t.text,
        "fee": fmt(t.fee),
        "point_fee": "0",
        "amend_text": "-",
        "biz_info": "-",
    }


def user_trade_ws(t: UserTrade, size_decimal: bool) -> dict[str, Any]:
    return {
        "id": str(t.id),
        "create_time": int(t.create_time),
        "create_time_ms": _ms(t.create_time),
        "contract": t.contract,
        "order_id": str(t.order_id),
        "size": size_out(t.size, size_decimal),
        "price": fmt(t.price),
        "role": t.role,
        "text": t.text,
        "fee": float(t.fee),
        "point_fee": 0,
    }


def public_trade(t: PublicTrade, size_decimal: bool) -> dict[str, Any]:
    return {
        "id": t.id,
        "create_time": _t3(t.create_time),
        "create_time_ms": _ms(t.create_time),
        "contract": t.contract,
        "size": size_out(t.size, size_decimal),
        "price": fmt(t.price),
        "is_internal": False,
    }


def ticker(
    contract: str,
    *,
    last: Decimal,
    mark: Decimal,
    funding_rate: Decimal,
    top: tuple[Decimal | None, int, Decimal | None, int],
) -> dict[str, Any]:
    """A futures ticker: REST `tickers` item, and `futures.tickers` push (all strings)."""
    bid, bid_size, ask, ask_size = top
    return {
        "contract": contract,
        "last": fmt(last),
        "low_24h": fmt(last),
        "high_24h": fmt(last),
        "change_percentage": "0",
        "total_size": "169531691",
        "volume_24h": "0",
        "volume_24h_base": "0",
        "volume_24h_quote": "0",
        "volume_24h_settle": "0",
        "mark_price": fmt(mark),
        "index_price": fmt(mark),
        "funding_rate": fmt(funding_rate),
        "funding_rate_indicative": fmt(funding_rate),
        "highest_bid": fmt(bid) if bid is not None else "",
        "highest_size": str(bid_size),
        "lowest_ask": fmt(ask) if ask is not None else "",
        "lowest_size": str(ask_size),
    }


def position_values(
    pos: Position, spec: ContractSpec, mark: Decimal
) -> tuple[Decimal, Decimal, Decimal]:
    """(value, margin, unrealised pnl) of a position at `mark`."""
    coins = abs(pos.size) * spec.quanto_multiplier
    value = coins * mark
    margin = coins * pos.entry_price / pos.leverage
    upnl = pos.size * spec.quanto_multiplier * (mark - pos.entry_price)
    return value, margin, upnl


def _liq_price(pos: Position, spec: ContractSpec) -> Decimal:
    if pos.size == 0:
        return Decimal(0)
    move = pos.entry_price / pos.leverage
    return max(Decimal(0), pos.entry_price - move if pos.size > 0 else pos.entry_price + move)


def position_rest(
    pos: Position, acct: Account, spec: ContractSpec, mark: Decimal, pending: int, dec: bool
) -> dict[str, Any]:
    value, margin, upnl = position_values(pos, spec, mark)
    return {
        "user": acct.uid,
        "contract": pos.contract,
        "size": size_out(pos.size, dec),
        "leverage": str(pos.leverage),
        "risk_limit": "1000000",
        "leverage_max": str(spec.leverage_max),
        "maintenance_rate": fmt(spec.maintenance_rate),
        "value": fmt(value),
        "margin": fmt(margin),
        "entry_price": fmt(pos.entry_price),
        "liq_price": fmt(_liq_price(pos, spec)),
        "mark_price": fmt(mark),
        "unrealised_pnl": fmt(upnl),
        "realised_pnl": fmt(pos.realised_pnl),
        "pnl_pnl": fmt(pos.pnl_pnl),
        "pnl_fund": "0",
        "pnl_fee": fmt(pos.pnl_fee),
        "history_pnl": fmt(pos.history_pnl),
        "last_close_pnl": fmt(pos.last_close_pnl),
        "realised_point": "0",
        "history_point": "0",
        "adl_ranking": 5,
        "pending_orders": pending,
        "close_order": None,
        "mode": "single",
        "cross_leverage_limit": "0",
        "update_time": int(pos.update_time),
        "update_id": pos.update_id,
        "open_time": int(pos.open_time),
        "risk_limit_table": "BIG_HOT_COIN_50X_V2",
        "average_maintenance_rate": fmt(spec.maintenance_rate),
    }


def position_ws(pos: Position, acct: Account, spec: ContractSpec, dec: bool) -> dict[str, Any]:
    _, margin, _ = position_values(pos, spec, pos.entry_price)
    return {
        "contract": pos.contract,
        "cross_leverage_limit": 0,
        "entry_price": float(pos.entry_price),
        "history_pnl": float(pos.history_pnl),
        "history_point": 0,
        "last_close_pnl": float(pos.last_close_pnl),
        "leverage": pos.leverage,
        "leverage_max": spec.leverage_max,
        "liq_price": float(_liq_price(pos, spec)),
        "maintenance_rate": float(spec.maintenance_rate),
        "margin": float(margin),
        "mode": "single",
        "realised_pnl": float(pos.realised_pnl),
        "realised_point": 0,
        "risk_limit": 1000000,
        "size": size_out(pos.size, dec),
        "time": int(pos.update_time),
        "time_ms": _ms(pos.update_time),
        "user": str(acct.uid),
        "update_id": pos.update_id,
    }


@dataclass(frozen=True)
class AccountSummary:
    total: Decimal
    unrealised_pnl: Decimal
    position_margin: Decimal
    order_margin: Decimal

    @property
    def available(self) -> Decimal:
        return (
            self.total
            + min(self.unrealised_pnl, Decimal(0))
            - self.position_margin
            - self.order_margin
        )


def account_rest(acct: Account, s: AccountSummary) -> dict[str, Any]:
    return {
        "user": acct.uid,
        "currency": "USDT",
        "total": fmt(s.total),
        "unrealised_pnl": fmt(s.unrealised_pnl),
        "position_margin": fmt(s.position_margin),
        "order_margin": fmt(s.order_margin),
        "available": fmt(s.available),
        "point": "0",
        "bonus": "0",
        "in_dual_mode": False,
        "position_mode": "single",
        "margin_mode": 0,
        "enable_evolved_classic": False,
        "cross_initial_margin": "0",
        "cross_maintenance_margin": "0",
        "cross_order_margin": "0",
        "cross_unrealised_pnl": "0",
        "cross_available": fmt(s.available),
        "cross_margin_balance": fmt(s.total + s.unrealised_pnl),
        "isolated_position_margin": fmt(s.position_margin),
        "history": {
            "dnw": fmt(acct.deposits),
            "pnl": fmt(acct.pnl),
            "fee": fmt(acct.fees),
            "refr": "0",
            "fund": "0",
            "point_dnw": "0",
            "point_fee": "0",
            "point_refr": "0",
            "bonus_dnw": "0",
            "bonus_offset": "0",
        },
        "enable_tiered_mm": True,
    }


def balance_ws(acct: Account, change: Decimal, kind: str, text: str, now: float) -> dict[str, Any]:
    return {
        "balance": float(acct.balance),
        "change": float(change),
        "text": text,
        "time": int(now),
        "time_ms": _ms(now),
        "type": kind,
        "user": str(acct.uid),
        "currency": "usdt",
    }
