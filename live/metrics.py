"""
Prometheus metrics of a live node, served at `http://127.0.0.1:<port>/metrics` (port 0 picks a
free one; `live status` and the log show which).

Counters and the round-trip histogram are fed order events by the supervisor Actor (it listens on
`events.order.*`); the gauges are set from the node's status snapshot on the supervisor's tick
(every 0.5 s), so market data costs nothing here.

Metrics (labels in brackets):

- `quotekit_quote_age_seconds` [instrument, side]: since our best quote last changed
- `quotekit_distance_to_touch_ticks` [instrument, side]: our best quote behind the touch
- `quotekit_inventory` [instrument]: net position
- `quotekit_open_orders` [instrument]
- `quotekit_order_round_trip_seconds` histogram [command]: submit->accepted,
  modify->updated, cancel->canceled
- `quotekit_rejects_total` [command]: venue rejections of submits, amends and cancels
- `quotekit_denied_total` [limit]: pre-trade denials, by the limit that denied
- `quotekit_cancels_total` [instrument], `quotekit_fills_total` [instrument, side]
- `quotekit_pnl` [instrument, kind=realized|unrealized]; `quotekit_day_pnl`: the UTC day's
  PnL as the daily loss limit sees it
- `quotekit_market_data_age_seconds` [instrument]: since the last book update, quote or trade
- `quotekit_reconciliation_mismatches_total`: position checks that disagreed with the venue
- `quotekit_kill_switch`: 1 when HALTED
"""

from __future__ import annotations

import math
from collections import OrderedDict
from wsgiref.simple_server import WSGIServer

from nautilus_trader.model.events import OrderAccepted
from nautilus_trader.model.events import OrderCanceled
from nautilus_trader.model.events import OrderCancelRejected
from nautilus_trader.model.events import OrderDenied
from nautilus_trader.model.events import OrderEvent
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.events import OrderModifyRejected
from nautilus_trader.model.events import OrderPendingCancel
from nautilus_trader.model.events import OrderPendingUpdate
from nautilus_trader.model.events import OrderRejected
from nautilus_trader.model.events import OrderSubmitted
from nautilus_trader.model.events import OrderUpdated
from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Gauge
from prometheus_client import Histogram
from prometheus_client import start_http_server

from live.config import RiskLimits
from live.control import NodeStatus

_NANOS = 1e-9
_MS = 1e-3
# Order round trips on a colocated venue are milliseconds; over the internet tens to hundreds.
_ROUND_TRIP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_ENGINE_DENIALS = {
    "MAX_ORDER_SUBMIT_RATE": "max_order_submit_rate",
    "MAX_ORDER_MODIFY_RATE": "max_order_modify_rate",
    "HALTED": "halted",
}


def denial_label(reason: str) -> str:
    """The limit that denied an order, from its reason: ours start with the limit's name."""
    head = reason.split(":", 1)[0].strip()
    if head in RiskLimits.__struct_fields__:
        return head
    for marker, label in _ENGINE_DENIALS.items():
        if marker in reason:
            return label
    return "engine"


class RoundTrips:
    """When each command was sent, so its acknowledgement can be timed; bounded in size."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._started: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._capacity = capacity

    def start(self, command: str, order: str, ts_ns: int) -> None:
        self._started[(command, order)] = ts_ns
        if len(self._started) > self._capacity:
            self._started.popitem(last=False)

    def finish(self, command: str, order: str, ts_ns: int) -> float | None:
        started = self._started.pop((command, order), None)
        return None if started is None else (ts_ns - started) * _NANOS

    def forget(self, order: str) -> None:
        for command in ("submit", "modify", "cancel"):
            self._started.pop((command, order), None)


class NodeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.quote_age = Gauge(
            "quotekit_quote_age_seconds",
            "Seconds since our best quote on this side last changed at the venue",
            ["instrument", "side"],
            registry=r,
        )
        self.distance_to_touch = Gauge(
            "quotekit_distance_to_touch_ticks",
            "How many ticks our best quote sits behind the touch",
            ["instrument", "side"],
            registry=r,
        )
        self.inventory = Gauge("quotekit_inventory", "Net position", ["instrument"], registry=r)
        self.open_orders = Gauge("quotekit_open_orders", "Open orders", ["instrument"], registry=r)
        self.round_trip = Histogram(
            "quotekit_order_round_trip_seconds",
            "Order command to venue acknowledgement",
            ["command"],
            buckets=_ROUND_TRIP_BUCKETS,
            registry=r,
        )
        self.rejects = Counter("quotekit_rejects", "Venue rejections", ["command"], registry=r)
        self.denied = Counter(
            "quotekit_denied", "Orders denied before the venue", ["limit"], registry=r
        )
        self.cancels = Counter("quotekit_cancels", "Orders cancelled", ["instrument"], registry=r)
        self.fills = Counter("quotekit_fills", "Fills", ["instrument", "side"], registry=r)
        self.pnl = Gauge("quotekit_pnl", "PnL", ["instrument", "kind"], registry=r)
        self.day_pnl = Gauge("quotekit_day_pnl", "The UTC day's PnL", registry=r)
        self.data_age = Gauge(
            "quotekit_market_data_age_seconds",
            "Seconds since the last book update or trade",
            ["instrument"],
            registry=r,
        )
        self.reconciliation_mismatches = Counter(
            "quotekit_reconciliation_mismatches",
            "Position checks that disagreed with the venue",
            registry=r,
        )
        self.kill_switch = Gauge("quotekit_kill_switch", "1 when trading is HALTED", registry=r)
        self._round_trips = RoundTrips()
        self._server: WSGIServer | None = None

    # -- serving -------------------------------------------------------------------------------

    def serve(self, host: str, port: int) -> int:
        """Start the /metrics endpoint in a daemon thread; returns the port it listens on."""
        self._server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return self._server.server_port

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- feeding -------------------------------------------------------------------------------

    def on_order_event(self, event: OrderEvent) -> None:
        order = event.client_order_id.value
        ts = event.ts_init
        if isinstance(event, OrderSubmitted):
            self._round_trips.start("submit", order, ts)
        elif isinstance(event, OrderAccepted):
            self._observe("submit", order, ts)
        elif isinstance(event, OrderPendingUpdate):
            self._round_trips.start("modify", order, ts)
        elif isinstance(event, OrderUpdated):
            self._observe("modify", order, ts)
        elif isinstance(event, OrderPendingCancel):
            self._round_trips.start("cancel", order, ts)
        elif isinstance(event, OrderCanceled):
            self._observe("cancel", order, ts)
            self.cancels.labels(event.instrument_id.value).inc()
            self._round_trips.forget(order)
        elif isinstance(event, OrderFilled):
            self.fills.labels(event.instrument_id.value, event.order_side.name.lower()).inc()
        elif isinstance(event, OrderRejected):
            self.rejects.labels("submit").inc()
            self._round_trips.forget(order)
        elif isinstance(event, OrderModifyRejected):
            self.rejects.labels("modify").inc()
            self._round_trips.finish("modify", order, ts)
        elif isinstance(event, OrderCancelRejected):
            self.rejects.labels("cancel").inc()
            self._round_trips.finish("cancel", order, ts)
        elif isinstance(event, OrderDenied):
            self.denied.labels(denial_label(event.reason)).inc()

    def on_reconciliation_mismatch(self) -> None:
        self.reconciliation_mismatches.inc()

    def refresh(self, status: NodeStatus) -> None:
        self.kill_switch.set(1 if status.kill_switch.halted else 0)
        self.day_pnl.set(status.day_pnl)
        for s in status.instruments:
            i = s.instrument
            self.inventory.labels(i).set(s.position)
            self.open_orders.labels(i).set(s.open_orders)
            self.pnl.labels(i, "realized").set(_value(s.realized_pnl))
            self.pnl.labels(i, "unrealized").set(_value(s.unrealized_pnl))
            self.data_age.labels(i).set(_value(s.data_age_ms) * _MS)
            self.quote_age.labels(i, "bid").set(_value(s.bid_quote_age_ms) * _MS)
            self.quote_age.labels(i, "ask").set(_value(s.ask_quote_age_ms) * _MS)
            self.distance_to_touch.labels(i, "bid").set(_value(s.bid_distance_ticks))
            self.distance_to_touch.labels(i, "ask").set(_value(s.ask_distance_ticks))

    def _observe(self, command: str, order: str, ts_ns: int) -> None:
        seconds = self._round_trips.finish(command, order, ts_ns)
        if seconds is not None:
            self.round_trip.labels(command).observe(seconds)


def _value(value: float | None) -> float:
    # Prometheus' way to say "no value now" (no quote on that side, no data yet).
    return math.nan if value is None else value
