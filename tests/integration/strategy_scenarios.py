"""
Hand-made market scenarios for the quoting strategy, each run in a fresh process:

    python -m tests.integration.strategy_scenarios SCENARIO

prints one JSON line describing what the strategy did. nautilus allows one engine per process, so
the tests call this module through a subprocess.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal

from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.backtest.engine import BacktestEngineConfig
from nautilus_trader.backtest.models import LatencyModel
from nautilus_trader.config import DataEngineConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.config import RiskEngineConfig
from nautilus_trader.model.data import BookOrder
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.enums import AccountType
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import OmsType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.events import OrderCanceled
from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.objects import Money
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity
from nautilus_trader.trading.strategy import Strategy

from backtests.models import NotionalFeeModel
from catalog.sample import gate_sample_instrument
from catalog.sample import polymarket_sample_instruments
from live.config import RiskLimits
from live.risk import RiskGate
from strategies.capabilities import VENUE_CAPABILITIES
from strategies.quoting import QuotingConfig
from strategies.quoting import QuotingStrategy

SECOND = 1_000_000_000
T0 = 1_767_571_200 * SECOND  # 2026-01-05T00:00:00Z


class Feed:
    """Builds L2 messages on a 0.1 tick book: each message's last delta carries F_LAST."""

    def __init__(self, instrument) -> None:
        self.instrument = instrument
        self.deltas: list[OrderBookDelta] = []
        self.sequence = 0

    def message(
        self,
        ts: int,
        changes: list[tuple[BookAction, OrderSide, float, float]],
        snapshot: bool = False,
    ) -> None:
        rows = []
        if snapshot:
            rows.append(OrderBookDelta.clear(self.instrument.id, self.sequence, ts, ts))
        for action, side, price, size in changes:
            self.sequence += 1
            order = BookOrder(
                side, self.instrument.make_price(price), self.instrument.make_qty(size), 0
            )
            flags = RecordFlag.F_SNAPSHOT if snapshot else 0
            rows.append(
                OrderBookDelta(self.instrument.id, action, order, flags, self.sequence, ts, ts)
            )
        last = rows[-1]
        rows[-1] = OrderBookDelta(
            last.instrument_id,
            last.action,
            last.order,
            last.flags | RecordFlag.F_LAST,
            last.sequence,
            ts,
            ts,
        )
        self.deltas.extend(rows)

    def book(self, ts: int, bid: float, ask: float, levels: int = 10, size: float = 5_000) -> None:
        changes = [(BookAction.ADD, OrderSide.BUY, bid - i, size) for i in range(levels)]
        changes += [(BookAction.ADD, OrderSide.SELL, ask + i, size) for i in range(levels)]
        self.message(ts, changes, snapshot=True)

    def churn(
        self, start: int, end: int, bid: float, ask: float, every: int = SECOND // 10
    ) -> None:
        """Size updates on the touch that leave prices where they are: a quiet, live market."""
        for k, ts in enumerate(range(start, end, every)):
            self.message(ts, [(BookAction.UPDATE, OrderSide.BUY, bid, 5_000 + (k % 7) * 100)])


def _engine(instrument) -> BacktestEngine:
    engine = BacktestEngine(
        BacktestEngineConfig(
            logging=LoggingConfig(log_level="ERROR"),
            data_engine=DataEngineConfig(buffer_deltas=True),
            risk_engine=RiskEngineConfig(
                max_order_submit_rate="1000/00:00:01", max_order_modify_rate="1000/00:00:01"
            ),
        )
    )
    engine.add_venue(
        venue=Venue("GATE"),
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,
        starting_balances=[Money(100_000, instrument.quote_currency)],
        base_currency=instrument.quote_currency,
        default_leverage=Decimal(10),
        book_type=BookType.L2_MBP,
        latency_model=LatencyModel(base_latency_nanos=10_000_000),
        fee_model=NotionalFeeModel(),
    )
    engine.add_instrument(instrument)
    return engine


def _strategy(instrument, **overrides) -> QuotingStrategy:
    params = {
        "order_size": 100.0,
        "max_position": 1_000.0,
        "levels": 2,
        "min_half_spread_ticks": 5.0,
        "level_spacing_ticks": 5.0,
        "requote_tolerance_ticks": 2.0,
        "min_requote_interval_ms": 0,
        "stale_book_ms": 2_000,
        "log_events": False,
        "log_commands": False,
    } | overrides
    return QuotingStrategy(
        QuotingConfig(
            instrument_id=instrument.id, capabilities=VENUE_CAPABILITIES["gate"], **params
        )
    )


def _cancel_times(engine: BacktestEngine) -> list[float]:
    times = []
    for order in engine.cache.orders():
        times += [(e.ts_event - T0) / SECOND for e in order.events if isinstance(e, OrderCanceled)]
    return sorted(times)


def _run(feed: Feed, strategy: QuotingStrategy, end_s: float) -> BacktestEngine:
    engine = _engine(feed.instrument)
    engine.add_strategy(strategy)
    engine.add_data(feed.deltas)
    engine.run(end=_timestamp(end_s))
    return engine


def _timestamp(seconds: float):
    import pandas as pd

    return pd.Timestamp(T0 + int(seconds * SECOND), tz="UTC")


def stale() -> dict:
    """The feed stops at 3 s (one more message at 20 s): quotes are pulled once it is stale."""
    instrument = gate_sample_instrument()
    feed = Feed(instrument)
    feed.book(T0, 94_000.0, 94_000.1)
    feed.churn(T0 + SECOND // 10, T0 + 3 * SECOND, 94_000.0, 94_000.1)
    feed.message(T0 + 20 * SECOND, [(BookAction.UPDATE, OrderSide.SELL, 94_000.1, 4_000)])
    strategy = _strategy(instrument)
    engine = _run(feed, strategy, 19)
    open_orders = engine.cache.orders_open(instrument_id=instrument.id)
    return {
        "cancel_times": _cancel_times(engine),
        "open_at_19s": len(open_orders),
        "submits": strategy.submits,
    }


def crossed() -> dict:
    """At 2 s the book locks (bid == ask) for a second: quotes are pulled, then restored."""
    instrument = gate_sample_instrument()
    feed = Feed(instrument)
    feed.book(T0, 94_000.0, 94_000.1)
    feed.churn(T0 + SECOND // 10, T0 + 2 * SECOND, 94_000.0, 94_000.1)
    feed.message(T0 + 2 * SECOND, [(BookAction.ADD, OrderSide.BUY, 94_000.1, 50)])
    feed.churn(T0 + 2 * SECOND + SECOND // 10, T0 + 3 * SECOND, 94_000.0, 94_000.1)
    feed.message(T0 + 3 * SECOND, [(BookAction.DELETE, OrderSide.BUY, 94_000.1, 0)])
    feed.churn(T0 + 3 * SECOND + SECOND // 10, T0 + 5 * SECOND, 94_000.0, 94_000.1)
    strategy = _strategy(instrument)
    engine = _run(feed, strategy, 5)
    open_orders = engine.cache.orders_open(instrument_id=instrument.id)
    return {
        "cancel_times": _cancel_times(engine),
        "open_at_end": len(open_orders),
        "submits": strategy.submits,
    }


def stop() -> dict:
    """Stopping the strategy cancels every resting quote at the venue."""
    instrument = gate_sample_instrument()
    feed = Feed(instrument)
    feed.book(T0, 94_000.0, 94_000.1)
    feed.churn(T0 + SECOND // 10, T0 + 3 * SECOND, 94_000.0, 94_000.1)
    strategy = _strategy(instrument)
    engine = _run(feed, strategy, 3)
    before = len(engine.cache.orders_open(instrument_id=instrument.id))
    engine.end()
    statuses = [order.status for order in engine.cache.orders(instrument_id=instrument.id)]
    return {
        "open_before_stop": before,
        "open_after_stop": sum(
            1 for s in statuses if s in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)
        ),
    }


def tick_change() -> dict:
    """At 2 s the venue coarsens the tick from 0.1 to 0.5: later quotes sit on the new grid."""
    instrument = gate_sample_instrument()
    feed = Feed(instrument)
    feed.book(T0, 94_000.0, 94_000.5)
    feed.churn(T0 + SECOND // 10, T0 + 4 * SECOND, 94_000.0, 94_000.5)
    coarse = type(instrument).from_dict(
        type(instrument).to_dict(instrument)
        | {"price_increment": "0.5", "ts_event": T0 + 2 * SECOND, "ts_init": T0 + 2 * SECOND}
    )
    strategy = _strategy(
        instrument, min_half_spread_ticks=1.0, level_spacing_ticks=1.0, requote_tolerance_ticks=0.2
    )
    engine = _engine(instrument)
    engine.add_strategy(strategy)
    engine.add_data(feed.deltas)
    engine.add_data([coarse], client_id=ClientId("GATE"))
    engine.run(end=_timestamp(4))
    prices_before, prices_after = [], []
    for order in engine.cache.orders(instrument_id=instrument.id):
        for event in order.events:
            price = getattr(event, "price", None) or getattr(event, "options", {}).get("price")
            if price is not None:
                bucket = prices_after if event.ts_event >= T0 + 2 * SECOND else prices_before
                bucket.append(float(price))
    return {
        "tick_in_cache": str(engine.cache.instrument(instrument.id).price_increment),
        "prices_before": prices_before,
        "prices_after": prices_after,
    }


class _Seller(Strategy):
    """Sells outcome tokens it does not hold, and buys some: the gate must tell them apart."""

    def __init__(self, instrument_id) -> None:
        super().__init__()
        self.instrument_id = instrument_id
        self.orders = []

    def on_start(self) -> None:
        for side, quantity in ((OrderSide.SELL, "50"), (OrderSide.BUY, "50")):
            order = self.order_factory.limit(
                instrument_id=self.instrument_id,
                order_side=side,
                quantity=Quantity.from_str(quantity),
                price=Price.from_str("0.40"),
                post_only=True,
            )
            self.orders.append(order)
            self.submit_order(order)


def naked_sell() -> dict:
    """In a backtest as live, a sell of outcome tokens not held is denied with the reason."""
    yes, no = polymarket_sample_instruments()
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR")))
    engine.add_venue(
        venue=Venue("POLYMARKET"),
        oms_type=OmsType.NETTING,
        account_type=AccountType.CASH,
        starting_balances=[Money(10_000, yes.quote_currency)],
        book_type=BookType.L2_MBP,
    )
    engine.add_instrument(yes)
    engine.add_instrument(no)
    feed = Feed(yes)
    feed.message(
        T0,
        [(BookAction.ADD, OrderSide.BUY, 0.38, 100), (BookAction.ADD, OrderSide.SELL, 0.45, 100)],
        snapshot=True,
    )
    RiskGate.for_kernel(engine.kernel, RiskLimits()).install()
    seller = _Seller(yes.id)
    engine.add_strategy(seller)
    engine.add_data(feed.deltas)
    engine.run(end=_timestamp(1))
    sell, buy = seller.orders
    denied = [e.reason for e in sell.events if type(e).__name__ == "OrderDenied"]
    return {"sell": sell.status.name, "reason": denied[0] if denied else "", "buy": buy.status.name}


SCENARIOS = {
    "stale": stale,
    "crossed": crossed,
    "stop": stop,
    "tick_change": tick_change,
    "naked_sell": naked_sell,
}


if __name__ == "__main__":
    print(json.dumps(SCENARIOS[sys.argv[1]]()))
