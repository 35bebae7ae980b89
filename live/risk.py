"""
Hard risk limits for a live node: pure checks, and the pre-trade gate that enforces them.

The limits are `live.config.RiskLimits` (the `live.risk` config section):

- per order: `max_order_size` (instrument units) and `max_order_notional` (quote currency),
  checked on submits and on amends (nautilus' own `max_notional_per_order` skips amends);
- `max_position` per instrument: an order that on its own would take the position past it is
  denied, and a fill that takes the position past it trips the kill switch;
- `max_exposure_notional`: the worst case over all instruments if every open, in-flight and new
  order filled on its side, `sum(max(|pos + buys|, |pos - sells|) x price x multiplier)`;
- `max_order_submit_rate` / `max_order_modify_rate`: nautilus' own throttles (configured through
  `LiveRiskEngineConfig`), which deny the excess with a reason;
- `max_daily_loss`: the UTC day's PnL (realized + unrealized, carried across restarts) below
  `-max_daily_loss` trips the kill switch;
- `stale_data_ms`: new orders and amends are denied while market data is older than this;
  `stale_data_kill_ms`: older than this trips the kill switch;
- `reconciliation_check_s` / `max_reconciliation_mismatches`: the node's position is compared
  with the venue's that often, and that many mismatches in a row trip the kill switch.

Where the gate sits, and why there. Strategies (through their OrderManager), exec algorithms and
the order emulator all send SubmitOrder, SubmitOrderList and ModifyOrder to the message-bus
endpoint `RiskEngine.execute`; cancels go straight to `ExecEngine.execute`. The kernel constructs
`LiveRiskEngine` itself (`system/kernel.py` has no way to choose the class), and swapping the
engine object after the build would leave the kernel and trader holding the old one. Endpoints,
though, are looked up on every send, so `RiskGate.install` deregisters the engine's handler and
registers the gate's in its place through the public `MessageBus.deregister/register`. Each
command is checked against our limits first, synchronously in the sender's call on the event-loop
thread (so it sees the cache the strategy saw). A breach is denied exactly as nautilus denies: an
`OrderDenied` (or `OrderModifyRejected` for an amend) carrying the reason is sent to
`ExecEngine.process`, so the order ends DENIED and the strategy gets the event. Everything else is
handed to the engine unchanged, which still applies its own checks (precision, trading state,
throttles). Cancels are never held up: pulling quotes is always allowed.

Reasons start with the limit's name (`max_position: ...`), which the metrics use as a label.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from decimal import Decimal
from typing import Any

import msgspec
from nautilus_trader.common.component import MessageBus
from nautilus_trader.core.message import Command
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.messages import ModifyOrder
from nautilus_trader.execution.messages import SubmitOrder
from nautilus_trader.execution.messages import SubmitOrderList
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import TradingState
from nautilus_trader.model.events import OrderModifyRejected
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import BinaryOption
from nautilus_trader.model.orders import Order

from adapters.denial import deny_order
from backtests.schema import ConfigError
from live.config import RiskLimits
from live.config import parse_rate
from strategies.quotes import uncovered_sell

ENDPOINT = "RiskEngine.execute"
_BUY = 1
_SELL = -1


def check_engine_rates(limits: RiskLimits, engine_rates: Mapping[str, tuple[int, Any]]) -> None:
    """Refuse a node whose RiskEngine throttles differ from the configured limits."""
    for key, configured in (
        ("max_order_submit_rate", limits.max_order_submit_rate),
        ("max_order_modify_rate", limits.max_order_modify_rate),
    ):
        count, interval = engine_rates[key]
        seconds = interval.total_seconds()
        if parse_rate(configured) != (count, seconds):
            raise ConfigError(
                f"live.risk.{key} is {configured} but the node's RiskEngine throttles at "
                f"{count}/{seconds:g}s. Fix: build the node's risk_engine with "
                "live.node.risk_engine_config(run_config)."
            )


# -- pure checks -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderCheck:
    """One order of a command as the limits see it."""

    instrument: str
    side: int  # +1 buy, -1 sell
    leaves: float  # resting size once the command is applied
    added: float  # size the command adds to what may fill (0 for a shrinking amend)
    price: float
    multiplier: float

    @property
    def notional(self) -> float:
        return self.leaves * self.price * self.multiplier


@dataclass(frozen=True, slots=True)
class Exposure:
    """One instrument's position and the orders that may still fill, with a reference price."""

    position: float
    buys: float
    sells: float
    price: float
    multiplier: float

    def worst_case(self) -> float:
        return max(abs(self.position + self.buys), abs(self.position - self.sells))

    def worst_case_notional(self) -> float:
        return self.worst_case() * self.price * self.multiplier

    def adding(self, side: int, size: float) -> Exposure:
        if side == _BUY:
            return replace(self, buys=self.buys + size)
        return replace(self, sells=self.sells + size)


def command_breach(
    orders: Sequence[OrderCheck],
    exposures: Mapping[str, Exposure],
    data_age_ms: float | None,
    limits: RiskLimits,
) -> str | None:
    """The first limit a command (one or more orders) would break, as a reason; else None."""
    stale_ms = limits.stale_data_ms
    if stale_ms is not None and data_age_ms is not None and data_age_ms > stale_ms:
        return f"stale_data_ms: market data is {data_age_ms:.0f} ms old > {stale_ms}"
    for order in orders:
        if limits.max_order_size is not None and order.leaves > limits.max_order_size:
            return (
                f"max_order_size: {order.leaves:g} > {limits.max_order_size:g} ({order.instrument})"
            )
        if limits.max_order_notional is not None and order.notional > limits.max_order_notional:
            return (
                f"max_order_notional: {order.notional:,.2f} > {limits.max_order_notional:,.2f} "
                f"({order.instrument})"
            )
        if limits.max_position is not None and order.added > 0:
            after = exposures[order.instrument].position + order.side * order.leaves
            if abs(after) > limits.max_position:
                return (
                    f"max_position: a fill would leave {after:g} > {limits.max_position:g} "
                    f"({order.instrument})"
                )
    if limits.max_exposure_notional is not None and any(o.added > 0 for o in orders):
        after = dict(exposures)
        for order in orders:
            after[order.instrument] = after[order.instrument].adding(order.side, order.added)
        total = sum(e.worst_case_notional() for e in after.values())
        if total > limits.max_exposure_notional:
            return (
                f"max_exposure_notional: worst case {total:,.2f} > "
                f"{limits.max_exposure_notional:,.2f}"
            )
    return None


def naked_sell_breach(
    orders: Sequence[OrderCheck], exposures: Mapping[str, Exposure], outcome_tokens: set[str]
) -> str | None:
    """A sell of outcome tokens beyond what is held, once resting sells (and earlier sells of the
    same command) are counted against the holding: tokens cannot be owed."""
    offered: dict[str, float] = {}
    for order in orders:
        if order.side != _SELL or order.added <= 0 or order.instrument not in outcome_tokens:
            continue
        exposure = exposures[order.instrument]
        resting = exposure.sells + offered.get(order.instrument, 0.0)
        excess = uncovered_sell(
            Decimal(repr(exposure.position)), Decimal(repr(resting)), Decimal(repr(order.added))
        )
        if excess > 0:
            return (
                f"no_naked_sells: selling {order.added:g} {order.instrument} with "
                f"{exposure.position:g} held and {resting:g} already offered"
            )
        offered[order.instrument] = offered.get(order.instrument, 0.0) + order.added
    return None


def position_breach(previous: float, current: float, max_position: float | None) -> str | None:
    """A fill that grew the position past `max_position` (a shrinking fill never trips it)."""
    if max_position is None:
        return None
    if abs(current) > max_position and abs(current) > abs(previous):
        return f"max_position: position {current:g} > {max_position:g} after a fill"
    return None


def daily_loss_breach(day_pnl: float, max_daily_loss: float | None) -> str | None:
    if max_daily_loss is not None and day_pnl < -max_daily_loss:
        return f"max_daily_loss: day PnL {day_pnl:,.2f} < -{max_daily_loss:,.2f}"
    return None


def stale_data_breach(data_age_ms: float, kill_ms: int | None) -> str | None:
    if kill_ms is not None and data_age_ms > kill_ms:
        return f"stale_data_kill_ms: no market data for {data_age_ms:.0f} ms > {kill_ms}"
    return None


def positions_differ(node: float, venue: float, size_increment: float) -> bool:
    """More than half a size step apart: float noise is not a mismatch, one lot is."""
    return abs(node - venue) > 0.5 * size_increment


def next_mismatch_streak(streak: int, mismatched: bool) -> int:
    return streak + 1 if mismatched else 0


def reconciliation_breach(streak: int, detail: str, max_mismatches: int) -> str | None:
    if streak >= max_mismatches:
        return f"reconciliation: {detail}, {streak} checks in a row"
    return None


class DailyPnl(msgspec.Struct, frozen=True, kw_only=True):
    """The UTC day's PnL from earlier sessions of the node, persisted across restarts."""

    day: str
    carried: float = 0.0


class DayPnlTracker:
    """
    The UTC day's PnL: what earlier sessions carried over plus this session's change.

    Session PnL is measured against its value at start-up (or at midnight), because a restarted
    node's realized PnL starts from whatever reconciliation or the cache database rebuilt.
    """

    def __init__(self, persisted: DailyPnl | None, today: str, pnl_now: float) -> None:
        same_day = persisted is not None and persisted.day == today
        self._day = today
        self._carried = persisted.carried if same_day else 0.0
        self._baseline = pnl_now

    def update(self, today: str, pnl_now: float) -> float:
        if today != self._day:
            self._day = today
            self._carried = 0.0
            self._baseline = pnl_now
        return self._carried + pnl_now - self._baseline

    def snapshot(self, pnl_now: float) -> DailyPnl:
        return DailyPnl(day=self._day, carried=self._carried + pnl_now - self._baseline)


# -- the gate ------------------------------------------------------------------------------------


class RiskGate:
    """Checks order commands against `RiskLimits` before nautilus' RiskEngine sees them."""

    def __init__(
        self,
        limits: RiskLimits,
        *,
        cache: Any,
        portfolio: Any,
        msgbus: MessageBus,
        clock: Any,
        risk_engine: Any,
        data_age_ms: Callable[[InstrumentId], float | None],
    ) -> None:
        self._limits = limits
        self._cache = cache
        self._portfolio = portfolio
        self._msgbus = msgbus
        self._clock = clock
        self._engine = risk_engine
        self._data_age_ms = data_age_ms
        # Orders passed on but not yet marked SUBMITTED by an execution client: still INITIALIZED,
        # so the cache lists them neither as open nor in flight. They count until they move on.
        self._passed: dict[ClientOrderId, Order] = {}
        self._needs_exposure = limits.max_position is not None or (
            limits.max_exposure_notional is not None
        )

    @classmethod
    def for_kernel(
        cls,
        kernel: Any,
        limits: RiskLimits,
        data_age_ms: Callable[[InstrumentId], float | None] = lambda _: None,
    ) -> RiskGate:
        """A gate over a nautilus kernel (a TradingNode's or a BacktestEngine's)."""
        return cls(
            limits,
            cache=kernel.cache,
            portfolio=kernel.portfolio,
            msgbus=kernel.msgbus,
            clock=kernel.clock,
            risk_engine=kernel.risk_engine,
            data_age_ms=data_age_ms,
        )

    def install(self) -> None:
        self._msgbus.deregister(ENDPOINT, self._engine.execute)
        self._msgbus.register(ENDPOINT, self.execute)

    def execute(self, command: Command) -> None:
        # HALTED: nautilus denies submits and amends itself, with "TradingState.HALTED".
        if self._engine.trading_state != TradingState.HALTED:
            reason = self._breach(command)
            if reason is not None:
                self._deny(command, reason)
                return
        if isinstance(command, SubmitOrder):
            self._passed[command.order.client_order_id] = command.order
        elif isinstance(command, SubmitOrderList):
            for order in command.order_list.orders:
                self._passed[order.client_order_id] = order
        self._engine.execute(command)

    # -- checks --------------------------------------------------------------------------------

    def _breach(self, command: Command) -> str | None:
        if isinstance(command, SubmitOrder):
            checks = [self._submit_check(command.order)]
        elif isinstance(command, SubmitOrderList):
            checks = [self._submit_check(order) for order in command.order_list.orders]
        elif isinstance(command, ModifyOrder):
            order = self._cache.order(command.client_order_id)
            if order is None or order.is_closed:
                return None  # nautilus rejects it with its own reason
            checks = [self._modify_check(order, command)]
        else:
            return None
        if any(check is None for check in checks):
            return None  # unknown instrument: nautilus denies it with its own reason
        prices = {instrument_id: check.price for instrument_id, check in checks}
        ages = [age for i in prices if (age := self._data_age_ms(i)) is not None]
        tokens = {i.value for i in prices if isinstance(self._cache.instrument(i), BinaryOption)}
        # The exposure limits and the naked-sell rule only weigh orders that add size: an amend
        # that moves a price or shrinks an order (most requotes) needs no exposure at all.
        grows = any(check.added > 0 for _, check in checks)
        exposures = self._exposures(prices) if grows and (self._needs_exposure or tokens) else {}
        naked = naked_sell_breach([check for _, check in checks], exposures, tokens)
        if naked is not None:
            return naked
        return command_breach(
            [check for _, check in checks],
            exposures,
            max(ages) if ages else None,
            self._limits,
        )

    def _submit_check(self, order: Order) -> tuple[InstrumentId, OrderCheck] | None:
        instrument = self._cache.instrument(order.instrument_id)
        if instrument is None:
            return None
        leaves = order.leaves_qty.as_double()
        check = OrderCheck(
            instrument=order.instrument_id.value,
            side=_side(order.side),
            leaves=leaves,
            added=leaves,
            price=self._order_price(order.instrument_id, order.price if order.has_price else None),
            multiplier=float(instrument.multiplier),
        )
        return order.instrument_id, check

    def _modify_check(
        self, order: Order, command: ModifyOrder
    ) -> tuple[InstrumentId, OrderCheck] | None:
        instrument = self._cache.instrument(order.instrument_id)
        if instrument is None:
            return None
        quantity = command.quantity if command.quantity is not None else order.quantity
        leaves = max(quantity.as_double() - order.filled_qty.as_double(), 0.0)
        price = command.price if command.price is not None else order.price
        check = OrderCheck(
            instrument=order.instrument_id.value,
            side=_side(order.side),
            leaves=leaves,
            # The amend can lose the race to a fill at the old size: count only the growth.
            added=max(leaves - order.leaves_qty.as_double(), 0.0),
            price=self._order_price(order.instrument_id, price),
            multiplier=float(instrument.multiplier),
        )
        return order.instrument_id, check

    def _order_price(self, instrument_id: InstrumentId, price: Any) -> float:
        if price is not None:
            return price.as_double()
        return self._reference_price(instrument_id) or 0.0

    def _exposures(self, command_prices: dict[InstrumentId, float]) -> dict[str, Exposure]:
        self._passed = {
            key: order
            for key, order in self._passed.items()
            if order.status == OrderStatus.INITIALIZED
        }
        orders: dict[ClientOrderId, Order] = dict(self._passed)
        for order in self._cache.orders_open():
            orders[order.client_order_id] = order
        for order in self._cache.orders_inflight():
            orders[order.client_order_id] = order
        # Every command runs this: each side is summed first and each Exposure built once.
        resting: dict[InstrumentId, list[float]] = {}  # instrument -> [buys, sells]
        for order in orders.values():
            if order.is_closed:
                continue
            sides = resting.get(order.instrument_id)
            if sides is None:
                sides = resting[order.instrument_id] = [0.0, 0.0]
            sides[0 if _side(order.side) == _BUY else 1] += order.leaves_qty.as_double()
        instrument_ids = {order.instrument_id for order in orders.values()}
        instrument_ids |= {p.instrument_id for p in self._cache.positions_open()}
        instrument_ids |= set(command_prices)
        exposures: dict[str, Exposure] = {}
        for instrument_id in instrument_ids:
            instrument = self._cache.instrument(instrument_id)
            buys, sells = resting.get(instrument_id, (0.0, 0.0))
            exposures[instrument_id.value] = Exposure(
                position=float(self._portfolio.net_position(instrument_id)),
                buys=buys,
                sells=sells,
                price=self._reference_price(instrument_id)
                or command_prices.get(instrument_id)
                or _order_price_of(orders, instrument_id),
                multiplier=float(instrument.multiplier) if instrument is not None else 1.0,
            )
        return exposures

    def _reference_price(self, instrument_id: InstrumentId) -> float | None:
        book = self._cache.order_book(instrument_id)
        if book is None:
            return None
        mid = book.midpoint()
        return float(mid) if mid is not None else None

    # -- denials -------------------------------------------------------------------------------

    def _deny(self, command: Command, reason: str) -> None:
        if isinstance(command, ModifyOrder):
            self._reject_modify(command, reason)
            return
        orders = [command.order] if isinstance(command, SubmitOrder) else command.order_list.orders
        for order in orders:
            self._deny_order(order, reason)

    def _deny_order(self, order: Order, reason: str) -> None:
        if order.status != OrderStatus.INITIALIZED:
            return  # already denied (the only transition from INITIALIZED we may make)
        if not self._cache.order_exists(order.client_order_id):
            self._cache.add_order(order)
        deny_order(self._msgbus, self._clock, order, reason)

    def _reject_modify(self, command: ModifyOrder, reason: str) -> None:
        order = self._cache.order(command.client_order_id)
        now = self._clock.timestamp_ns()
        rejected = OrderModifyRejected(
            trader_id=order.trader_id,
            strategy_id=order.strategy_id,
            instrument_id=order.instrument_id,
            client_order_id=order.client_order_id,
            venue_order_id=order.venue_order_id,
            account_id=order.account_id,
            reason=reason,
            event_id=UUID4(),
            ts_event=now,
            ts_init=now,
        )
        self._msgbus.send(endpoint="ExecEngine.process", msg=rejected)


def _order_price_of(orders: dict[ClientOrderId, Order], instrument_id: InstrumentId) -> float:
    """Without a book, an instrument's exposure is valued at any of its orders' prices."""
    for order in orders.values():
        if order.instrument_id == instrument_id and order.has_price:
            return order.price.as_double()
    return 0.0


def _side(side: OrderSide) -> int:
    return _BUY if side == OrderSide.BUY else _SELL
