"""Run outputs: orders, fills, positions and account tables, `summary.json`, the terminal table."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import liquidity_side_to_str
from nautilus_trader.model.events import OrderAccepted
from nautilus_trader.model.events import OrderCanceled
from nautilus_trader.model.events import OrderExpired
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.events import OrderInitialized
from nautilus_trader.model.events import OrderRejected
from nautilus_trader.model.events import OrderUpdated
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Price

FILL_COLUMNS = [
    "ts_event",
    "time",
    "instrument_id",
    "client_order_id",
    "venue_order_id",
    "trade_id",
    "side",
    "quantity",
    "price",
    "multiplier",
    "notional",
    "commission",
    "commission_currency",
    "liquidity_side",
]


@dataclass(frozen=True)
class Marks:
    """End-of-run mark price per instrument (book mid) and the sign of each in the net inventory."""

    prices: dict[str, float]
    inventory_sign: dict[str, int]


def fills_table(engine: BacktestEngine, instruments: list[Instrument]) -> pd.DataFrame:
    """One row per fill, numeric columns, in time order: the ledger the accounting check reads."""
    multipliers = {str(i.id): float(i.multiplier) for i in instruments}
    rows = []
    for order in engine.cache.orders():
        for event in order.events:
            if not isinstance(event, OrderFilled):
                continue
            instrument_id = str(event.instrument_id)
            quantity = event.last_qty.as_double()
            price = event.last_px.as_double()
            multiplier = multipliers.get(instrument_id, 1.0)
            rows.append(
                (
                    event.ts_event,
                    pd.Timestamp(event.ts_event, tz="UTC").isoformat(),
                    instrument_id,
                    event.client_order_id.value,
                    event.venue_order_id.value,
                    event.trade_id.value,
                    "BUY" if event.order_side == OrderSide.BUY else "SELL",
                    quantity,
                    price,
                    multiplier,
                    quantity * price * multiplier,
                    event.commission.as_double(),
                    event.commission.currency.code,
                    liquidity_side_to_str(event.liquidity_side),
                )
            )
    table = pd.DataFrame(rows, columns=FILL_COLUMNS)
    return table.sort_values(["ts_event", "trade_id"], kind="stable").reset_index(drop=True)


def orders_table(engine: BacktestEngine) -> pd.DataFrame:
    return _flat(engine.trader.generate_orders_report())


ORDER_EVENT_COLUMNS = [
    "ts_event",
    "instrument_id",
    "client_order_id",
    "side",
    "event",
    "price",
    "quantity",
    "last_qty",
    "last_px",
]
# The events that change what rests at the venue; the orders report keeps only the final state.
_VENUE_EVENTS = {
    OrderAccepted: "ACCEPTED",
    OrderUpdated: "UPDATED",
    OrderFilled: "FILLED",
    OrderCanceled: "CANCELED",
    OrderExpired: "EXPIRED",
    OrderRejected: "REJECTED",
}


def order_events_table(engine: BacktestEngine) -> pd.DataFrame:
    """Every venue-side order event with the order's price and quantity after it, in time order."""
    rows = []
    for order in engine.cache.orders():
        side = "BUY" if order.side == OrderSide.BUY else "SELL"
        price = quantity = math.nan
        for event in order.events:
            if isinstance(event, OrderInitialized):
                price = float(event.options.get("price") or math.nan)
                quantity = event.quantity.as_double()
            elif isinstance(event, OrderUpdated):
                price = event.price.as_double() if event.price is not None else price
                quantity = event.quantity.as_double()
            name = _VENUE_EVENTS.get(type(event))
            if name is None:
                continue
            filled = isinstance(event, OrderFilled)
            rows.append(
                (
                    event.ts_event,
                    str(event.instrument_id),
                    event.client_order_id.value,
                    side,
                    name,
                    price,
                    quantity,
                    event.last_qty.as_double() if filled else math.nan,
                    event.last_px.as_double() if filled else math.nan,
                )
            )
    table = pd.DataFrame(rows, columns=ORDER_EVENT_COLUMNS)
    return table.sort_values(["ts_event", "client_order_id"], kind="stable").reset_index(drop=True)


def positions_table(engine: BacktestEngine) -> pd.DataFrame:
    return _flat(engine.trader.generate_positions_report())


def account_table(engine: BacktestEngine, venue: Venue) -> pd.DataFrame:
    return _flat(engine.trader.generate_account_report(venue))


def max_abs_inventory(fills: pd.DataFrame, inventory_sign: dict[str, int]) -> float:
    """Largest absolute net inventory reached, replaying the fills in order."""
    if fills.empty:
        return 0.0
    side = fills["side"].map({"BUY": 1.0, "SELL": -1.0})
    sign = fills["instrument_id"].map(inventory_sign).fillna(1.0)
    return float((side * sign * fills["quantity"]).cumsum().abs().max())


def summarize(
    *,
    engine: BacktestEngine,
    fills: pd.DataFrame,
    instruments: list[Instrument],
    marks: Marks,
    wall_seconds: float,
    commands: dict[str, int],
    run_id: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> dict[str, Any]:
    realized = 0.0
    unrealized = 0.0
    positions: dict[str, float] = {}
    for instrument in instruments:
        iid = instrument.id
        mark = marks.prices.get(str(iid), math.nan)
        realized += _money(engine.portfolio.realized_pnl(iid))
        if not math.isnan(mark):
            # One more digit than the tick: a mid between two ticks must not be rounded away.
            price = Price(mark, instrument.price_precision + 1)
            unrealized += _money(engine.portfolio.unrealized_pnl(iid, price=price))
        positions[str(iid)] = float(engine.portfolio.net_position(iid))
    events = engine.iteration
    order_commands = commands["submits"] + commands["modifies"] + commands["cancels"]
    currency = instruments[0].quote_currency.code
    return {
        "run_id": run_id,
        "instruments": [str(i.id) for i in instruments],
        "start": start.isoformat(),
        "end": end.isoformat(),
        "currency": currency,
        "events": events,
        "wall_seconds": round(wall_seconds, 3),
        "events_per_s": round(events / wall_seconds, 1) if wall_seconds > 0 else None,
        "order_commands": order_commands,
        "submits": commands["submits"],
        "modifies": commands["modifies"],
        "cancels": commands["cancels"],
        "order_commands_per_1k_events": round(1000 * order_commands / events, 3) if events else 0.0,
        "fills_buy": int((fills["side"] == "BUY").sum()),
        "fills_sell": int((fills["side"] == "SELL").sum()),
        "maker_fills": int((fills["liquidity_side"] == "MAKER").sum()),
        "volume_quote": round(float(fills["notional"].sum()), 8),
        "fees": round(float(fills["commission"].sum()), 8),
        "pnl_realized": round(realized, 8),
        "pnl_unrealized": round(unrealized, 8),
        "pnl_total": round(realized + unrealized, 8),
        "max_abs_position": max_abs_inventory(fills, marks.inventory_sign),
        "final_positions": positions,
        "mark_prices": marks.prices,
    }


def render_summary(summary: dict[str, Any]) -> str:
    currency = summary["currency"]
    rows = [
        *(("instrument", iid) for iid in summary["instruments"]),
        ("period", f"{summary['start']} -> {summary['end']}"),
        ("events", f"{summary['events']:,}"),
        (
            "wall time",
            f"{summary['wall_seconds']:.2f} s ({summary['events_per_s'] or 0:,.0f} events/s)",
        ),
        (
            "order commands",
            f"{summary['order_commands']:,} (submit {summary['submits']:,}, modify "
            f"{summary['modifies']:,}, cancel {summary['cancels']:,})",
        ),
        ("fills", f"{summary['fills_buy']:,} buy / {summary['fills_sell']:,} sell"),
        ("volume", f"{summary['volume_quote']:,.2f} {currency}"),
        ("fees", f"{summary['fees']:,.4f} {currency}"),
        ("pnl realized", f"{summary['pnl_realized']:,.4f} {currency}"),
        ("pnl unrealized", f"{summary['pnl_unrealized']:,.4f} {currency}"),
        ("pnl total", f"{summary['pnl_total']:,.4f} {currency}"),
        ("max |position|", f"{summary['max_abs_position']:,.6g}"),
    ]
    width = max(len(name) for name, _ in rows)
    rule = "-" * min(width + 2 + max(len(value) for _, value in rows), 100)
    lines = [rule, *(f"{name:<{width}}  {value}" for name, value in rows), rule]
    return "\n".join(lines)


def _money(value) -> float:
    return value.as_double() if value is not None else 0.0


def _flat(table: pd.DataFrame) -> pd.DataFrame:
    return table.reset_index() if not table.empty else table
