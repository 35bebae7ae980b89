"""
A built node's life: start it, quote until SIGINT or SIGTERM, then stop cleanly: cancel every
order, optionally close the position, disconnect, and say what was left.

nautilus installs its own signal handlers, which only schedule a stop. Ours replace them so the
stop is awaited here and the process can exit with a status saying whether it was clean.

Flattening closes the position with reduce-only immediate-or-cancel market orders, each within
the per-order size and notional limits (nautilus' own market exit sends the whole position as one
order, which a size cap would deny over and over).
"""

from __future__ import annotations

import asyncio
import math
import signal
from dataclasses import dataclass
from typing import Any

from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Quantity

from live.config import RiskLimits

# How long a cancel-all gets to show before the orders still resting are cancelled again.
_RECANCEL_S = 0.5
_POLL_S = 0.1


@dataclass(frozen=True)
class RunResult:
    started: bool
    open_orders_left: int
    summary: dict[str, Any]


def close_chunk(
    position: float,
    *,
    size_step: float,
    price: float | None,
    multiplier: float,
    max_order_size: float | None,
    max_order_notional: float | None,
) -> float:
    """The size of the next closing order: all of `position` or as much as one order may be."""
    size = abs(position)
    if max_order_size is not None:
        size = min(size, max_order_size)
    if max_order_notional is not None and price:
        size = min(size, max_order_notional / (price * multiplier))
    return math.floor(size / size_step + 1e-9) * size_step


async def run_until_stopped(
    node: TradingNode,
    *,
    instrument_ids: list[InstrumentId],
    flatten: bool,
    risk: RiskLimits,
    stop_timeout_s: float,
) -> RunResult:
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_requested.set)
    await node.kernel.start_async()
    # start_async returns quietly when connection, reconciliation or the portfolio fail.
    started = node.trader.is_running
    if started:
        await stop_requested.wait()
        node.kernel.logger.warning("Stop requested: cancelling all orders")
        if flatten:
            await _flatten(node, instrument_ids, risk, stop_timeout_s)
        await _cancel_until_none_open(node, stop_timeout_s)
    await node.stop_async()
    return RunResult(
        started=started,
        open_orders_left=len(node.cache.orders_open()),
        summary=run_summary(node, instrument_ids),
    )


async def _flatten(
    node: TradingNode, instrument_ids: list[InstrumentId], risk: RiskLimits, timeout_s: float
) -> None:
    strategies = node.trader.strategies()
    # Stopped, the strategy quotes no more and cancels its orders; it can still send the closes.
    for strategy in strategies:
        node.trader.stop_strategy(strategy.id)
    closer = strategies[0]
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        if node.cache.orders_open() or node.cache.orders_inflight():
            await asyncio.sleep(_POLL_S)
            continue
        open_positions = [
            (i, float(node.portfolio.net_position(i)))
            for i in instrument_ids
            if node.portfolio.net_position(i)
        ]
        if not open_positions:
            node.kernel.logger.warning("Flattened: no open position")
            return
        for instrument_id, position in open_positions:
            instrument = node.cache.instrument(instrument_id)
            book = node.cache.order_book(instrument_id)
            mid = book.midpoint() if book is not None else None
            size = close_chunk(
                position,
                size_step=float(instrument.size_increment),
                price=float(mid) if mid is not None else None,
                multiplier=float(instrument.multiplier),
                max_order_size=risk.max_order_size,
                max_order_notional=risk.max_order_notional,
            )
            if size <= 0:
                node.kernel.logger.error(f"Cannot flatten {instrument_id}: limits allow no order")
                return
            closer.submit_order(
                closer.order_factory.market(
                    instrument_id=instrument_id,
                    order_side=OrderSide.SELL if position > 0 else OrderSide.BUY,
                    quantity=Quantity(size, instrument.size_precision),
                    time_in_force=TimeInForce.IOC,
                    reduce_only=True,
                )
            )
        await asyncio.sleep(_POLL_S)
    node.kernel.logger.error(f"Flattening did not finish within {timeout_s}s")


async def _cancel_until_none_open(node: TradingNode, timeout_s: float) -> None:
    """Stop the strategies (they cancel their orders), then cancel again whatever still rests:
    a submit in flight when the first cancel-all went out lands after it."""
    strategies = node.trader.strategies()
    for strategy in strategies:
        if strategy.is_running:
            node.trader.stop_strategy(strategy.id)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    next_cancel = loop.time() + _RECANCEL_S
    while loop.time() < deadline:
        resting = [o for o in node.cache.orders_open() if o.status != OrderStatus.PENDING_CANCEL]
        if not resting and not node.cache.orders_inflight():
            return
        if resting and loop.time() >= next_cancel:
            for instrument_id in {o.instrument_id for o in resting}:
                strategies[0].cancel_all_orders(instrument_id)
            next_cancel = loop.time() + _RECANCEL_S
        await asyncio.sleep(_POLL_S)
    node.kernel.logger.error(f"Orders still open {timeout_s}s after the stop began")


def run_summary(node: TradingNode, instrument_ids: list[InstrumentId]) -> dict[str, Any]:
    orders = node.cache.orders()
    fills = [e for order in orders for e in order.events if type(e).__name__ == "OrderFilled"]
    return {
        "orders": len(orders),
        "fills": len(fills),
        "open_orders": len(node.cache.orders_open()),
        "positions": {str(i): float(node.portfolio.net_position(i)) for i in instrument_ids},
    }
