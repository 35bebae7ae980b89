"""Denying an order before it reaches a venue, the way nautilus' RiskEngine does."""

from __future__ import annotations

from nautilus_trader.common.component import Clock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.events import OrderDenied
from nautilus_trader.model.orders import Order


def deny_order(msgbus: MessageBus, clock: Clock, order: Order, reason: str) -> None:
    """Send `OrderDenied` with `reason` to the execution engine: the order ends DENIED and its
    strategy gets the event."""
    denied = OrderDenied(
        trader_id=order.trader_id,
        strategy_id=order.strategy_id,
        instrument_id=order.instrument_id,
        client_order_id=order.client_order_id,
        reason=reason,
        event_id=UUID4(),
        ts_init=clock.timestamp_ns(),
    )
    msgbus.send(endpoint="ExecEngine.process", msg=denied)
