"""
The live node's supervisor: hard risk limits, the kill switch, the control endpoint and metrics.

Installed on a built node, before it runs:

    node = build_node(config)
    install_supervisor(node, run_config, state_dir)
    node.run()

`install_supervisor`
1. makes sure `state_dir` is ours and writable by no one else, and that no other node is
   serving from it;
2. applies the persisted kill switch: a HALTED node is halted in the RiskEngine now, before any
   strategy can quote, and cancels whatever rests at the venue as soon as it runs;
3. puts the `RiskGate` in front of nautilus' RiskEngine (`live/risk.py` says where and why);
4. adds the `Supervisor` Actor, which once the node runs serves the control socket
   (`live/control.py`) and `/metrics` (`live/metrics.py`), and trips the kill switch on a hard
   breach: a fill past `max_position`, the day's loss past `max_daily_loss`, market data older
   than `stale_data_kill_ms`, or the venue's position disagreeing with the node's for
   `max_reconciliation_mismatches` checks in a row. While halted it keeps cancelling anything
   still open at the venue (an order in flight when the switch tripped may land afterwards).

`state_dir` holds what must outlive the process: the kill switch (`killswitch.json`), the day's
PnL so far (`daily_pnl.json`) and the control socket (in the private `control/` directory). A
restarted node finds it halted only if it is given the same `state_dir`, so it must be stable
across runs of one trader (`live.killswitch.default_state_dir()`), not a per-run directory.

From `run_config` (a `backtests.config.RunConfig`, read duck-typed) it uses `live.risk` (a
`live.config.RiskLimits`), `live.metrics_port` (0: any free port; None: no endpoint),
`live.metrics_host`, and the instrument ids of `run_config` and of the node's strategies.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.common.data_topics import TopicCache
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.messages import CancelAllOrders
from nautilus_trader.execution.messages import GeneratePositionStatusReports
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import TradingState
from nautilus_trader.model.events import OrderEvent
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.events import PositionEvent
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import StrategyId

from live.config import RiskLimits
from live.control import ControlServer
from live.control import InstrumentStatus
from live.control import NodeStatus
from live.control import Request
from live.control import claim_socket
from live.killswitch import KillState
from live.killswitch import KillSwitch
from live.killswitch import ensure_state_dir
from live.killswitch import write_json_atomic
from live.metrics import NodeMetrics
from live.risk import DailyPnl
from live.risk import DayPnlTracker
from live.risk import RiskGate
from live.risk import check_engine_rates
from live.risk import daily_loss_breach
from live.risk import next_mismatch_streak
from live.risk import position_breach
from live.risk import positions_differ
from live.risk import reconciliation_breach
from live.risk import stale_data_breach
from strategies.timers import on_loop_thread

DAILY_PNL_FILE = "daily_pnl.json"
TICK = dt.timedelta(milliseconds=500)
_TICK_TIMER = "quotekit-supervisor-tick"
_RECONCILE_TIMER = "quotekit-supervisor-reconcile"
_NANOS_PER_MS = 1_000_000
_RECANCEL_NS = 1_000_000_000  # while halted, re-send the venue cancel-all at most once a second
_PERSIST_PNL_NS = 5_000_000_000
# A position check right after a fill races the fill's report: skip instruments that just traded.
_FILL_QUIET_NS = 5_000_000_000


def install_supervisor(node: TradingNode, run_config: Any, state_dir: Path | str) -> Supervisor:
    """Install the risk gate, kill switch, control endpoint and metrics on a built node."""
    live = _field(run_config, "live", None)
    limits = _field(live, "risk", None) or RiskLimits()
    metrics_port = _field(live, "metrics_port", 0)
    metrics_host = str(_field(live, "metrics_host", "127.0.0.1"))
    state_dir = ensure_state_dir(Path(state_dir))
    claim_socket(state_dir)
    risk_engine = node.kernel.risk_engine
    check_engine_rates(
        limits,
        {
            "max_order_submit_rate": risk_engine.max_order_submit_rate(),
            "max_order_modify_rate": risk_engine.max_order_modify_rate(),
        },
    )
    supervisor = Supervisor(
        node=node,
        limits=limits,
        state_dir=state_dir,
        instruments=_quoted_instruments(node, run_config),
        metrics_address=None if metrics_port is None else (metrics_host, int(metrics_port)),
    )
    node.trader.add_actor(supervisor)
    supervisor.kill_switch.restore()
    supervisor.gate.install()
    return supervisor


class Supervisor(Actor):
    """Watches the running node for hard breaches and serves `live status/kill/resume`."""

    def __init__(
        self,
        *,
        node: TradingNode,
        limits: RiskLimits,
        state_dir: Path,
        instruments: list[InstrumentId],
        metrics_address: tuple[str, int] | None,
    ) -> None:
        super().__init__(ActorConfig(component_id="QuotekitSupervisor"))
        kernel = node.kernel
        self._loop = kernel.loop
        self._risk_engine = kernel.risk_engine
        self._exec_engine = kernel.exec_engine
        self._node_trader = node.trader
        self._limits = limits
        self._state_dir = state_dir
        self._instruments = instruments
        self._control = ControlServer(state_dir, handler=self.handle)
        self._metrics_address = metrics_address
        self.metrics = NodeMetrics()
        self.metrics_port: int | None = None
        self.kill_switch = KillSwitch(
            state_dir,
            set_halted=self._set_halted,
            cancel_all=self._cancel_all_at_venue,
            on_change=self._on_kill_state,
        )
        self.gate = RiskGate.for_kernel(kernel, limits, self.data_age_ms)
        self._last_data_ns: dict[InstrumentId, int] = {}
        self._last_fill_ns: dict[InstrumentId, int] = {}
        self._positions: dict[InstrumentId, float] = {}
        self._mismatch_streak: dict[InstrumentId, int] = {}
        self._topics: list[tuple[str, Any]] = []
        self._started_ns = 0
        self._last_recancel_ns = 0
        self._last_pnl_persist_ns = 0
        self._day_pnl: DayPnlTracker | None = None
        self._reconciling = False

    # -- lifecycle -----------------------------------------------------------------------------

    def on_start(self) -> None:
        self._started_ns = self.clock.timestamp_ns()
        topics = TopicCache()
        for instrument_id in self._instruments:
            self._positions[instrument_id] = self._position(instrument_id)
            for topic in (
                topics.get_deltas_topic(instrument_id),
                topics.get_quotes_topic(instrument_id),
                topics.get_trades_topic(instrument_id),
            ):
                self._subscribe(topic, self._on_market_data)
        self._subscribe("events.order.*", self._on_order_event)
        self._subscribe("events.position.*", self._on_position_event)
        self._day_pnl = DayPnlTracker(self._read_day_pnl(), _today(), self._total_pnl())
        if self._metrics_address is not None:
            host, port = self._metrics_address
            self.metrics_port = self.metrics.serve(host, port)
            self.log.info(f"Metrics at {self._metrics_url()}")
        self._loop.create_task(self._start_control()).add_done_callback(self._log_failure)
        self.clock.set_timer(_TICK_TIMER, interval=TICK, callback=on_loop_thread(self._on_tick))
        if self._limits.reconciliation_check_s is not None:
            self.clock.set_timer(
                _RECONCILE_TIMER,
                interval=dt.timedelta(seconds=self._limits.reconciliation_check_s),
                callback=on_loop_thread(self._on_reconcile_timer),
            )
        # `live kill` may have written the file while the node was connecting.
        if self.kill_switch.restore().halted:
            self.log.warning(f"Starting HALTED ({self.kill_switch.state.reason}): `live resume`")
            self._cancel_all_at_venue()

    def on_stop(self) -> None:
        for timer in (_TICK_TIMER, _RECONCILE_TIMER):
            if timer in self.clock.timer_names:
                self.clock.cancel_timer(timer)
        for topic, handler in self._topics:
            self.msgbus.unsubscribe(topic, handler)
        self._topics.clear()
        self._persist_day_pnl()
        self._control.close()
        self.metrics.close()

    async def _start_control(self) -> None:
        await self._control.start()
        self.log.info(f"Control socket at {self._control.path}")

    def _log_failure(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.log.error(f"Control socket not served: {task.exception()}")

    def _subscribe(self, topic: str, handler: Any) -> None:
        self.msgbus.subscribe(topic=topic, handler=handler)
        self._topics.append((topic, handler))

    # -- control -------------------------------------------------------------------------------

    def handle(self, request: Request) -> NodeStatus:
        if request.cmd == "kill":
            self.kill_switch.engage(request.reason, source="control")
        elif request.cmd == "resume":
            self.kill_switch.release(source="control")
            self._mismatch_streak.clear()
        return self.status()

    def status(self) -> NodeStatus:
        now = self.clock.timestamp_ns()
        rows = [self._instrument_status(i, now) for i in self._status_instruments()]
        return NodeStatus(
            pid=os.getpid(),
            trader_id=self.trader_id.value,
            trading_state=self._risk_engine.trading_state.name,
            kill_switch=self.kill_switch.state,
            open_orders=sum(r.open_orders for r in rows),
            day_pnl=self._day_pnl.update(_today(), self._total_pnl()) if self._day_pnl else 0.0,
            metrics_url=self._metrics_url(),
            instruments=rows,
        )

    def data_age_ms(self, instrument_id: InstrumentId) -> float | None:
        last = self._last_data_ns.get(instrument_id)
        if last is None:
            return None
        return (self.clock.timestamp_ns() - last) / _NANOS_PER_MS

    # -- kill switch ---------------------------------------------------------------------------

    def _set_halted(self, halted: bool) -> None:
        state = TradingState.HALTED if halted else TradingState.ACTIVE
        if self._risk_engine.trading_state != state:
            self._risk_engine.set_trading_state(state)

    def _on_kill_state(self, state: KillState) -> None:
        self.metrics.kill_switch.set(1 if state.halted else 0)
        if state.halted:
            self.log.error(f"KILL SWITCH: trading HALTED ({state.source}): {state.reason}")
        else:
            self.log.warning(f"Kill switch released ({state.source}): trading ACTIVE")

    def _cancel_all_at_venue(self) -> None:
        """One venue-wide cancel-all per instrument, through the execution client's path."""
        if self._started_ns == 0:
            return  # not running yet: on_start cancels
        now = self.clock.timestamp_ns()
        self._last_recancel_ns = now
        cache = self.cache
        targets = set(self._instruments)
        targets |= {o.instrument_id for o in cache.orders_open()}
        targets |= {o.instrument_id for o in cache.orders_inflight()}
        for instrument_id in sorted(targets, key=str):
            self.msgbus.send(
                endpoint="ExecEngine.execute",
                msg=CancelAllOrders(
                    trader_id=self.trader_id,
                    strategy_id=self._owner(instrument_id),
                    instrument_id=instrument_id,
                    order_side=OrderSide.NO_ORDER_SIDE,
                    command_id=UUID4(),
                    ts_init=now,
                ),
            )

    def _owner(self, instrument_id: InstrumentId) -> StrategyId:
        for strategy in self._node_trader.strategies():
            if instrument_id in _strategy_instruments(strategy):
                return strategy.id
        return StrategyId("EXTERNAL")

    # -- events --------------------------------------------------------------------------------

    def _on_market_data(self, data: Any) -> None:
        self._last_data_ns[data.instrument_id] = data.ts_init

    def _on_order_event(self, event: OrderEvent) -> None:
        self.metrics.on_order_event(event)
        if isinstance(event, OrderFilled):
            self._last_fill_ns[event.instrument_id] = event.ts_init

    def _on_position_event(self, event: PositionEvent) -> None:
        instrument_id = event.instrument_id
        current = self._position(instrument_id)
        previous = self._positions.get(instrument_id, 0.0)
        self._positions[instrument_id] = current
        if not self.kill_switch.halted:
            reason = position_breach(previous, current, self._limits.max_position)
            if reason is not None:
                self.kill_switch.engage(f"{reason} ({instrument_id})", source="breach")

    def _on_tick(self, event: Any) -> None:
        self.kill_switch.poll_file()
        now = event.ts_event
        status = self.status()
        if self.kill_switch.halted:
            if status.open_orders and now - self._last_recancel_ns > _RECANCEL_NS:
                self._cancel_all_at_venue()
        else:
            reason = daily_loss_breach(status.day_pnl, self._limits.max_daily_loss)
            for instrument_id in self._instruments:
                if reason is not None:
                    break
                last = self._last_data_ns.get(instrument_id, self._started_ns)
                age_ms = (now - last) / _NANOS_PER_MS
                reason = stale_data_breach(age_ms, self._limits.stale_data_kill_ms)
                if reason is not None:
                    reason = f"{reason} ({instrument_id})"
            if reason is not None:
                self.kill_switch.engage(reason, source="breach")
        self.metrics.refresh(status)
        if now - self._last_pnl_persist_ns > _PERSIST_PNL_NS:
            self._persist_day_pnl()

    # -- reconciliation ------------------------------------------------------------------------

    def _on_reconcile_timer(self, event: Any) -> None:
        if not self._reconciling:
            self._reconciling = True
            task = self._loop.create_task(self._check_positions())
            task.add_done_callback(self._reconciled)

    def _reconciled(self, task: asyncio.Task) -> None:
        self._reconciling = False
        if not task.cancelled() and task.exception() is not None:
            self.log.warning(f"Position check with the venue failed: {task.exception()}")

    async def _check_positions(self) -> None:
        venues = {i.venue for i in self._instruments}
        venue_positions: dict[InstrumentId, float] = {}
        for client in self._exec_engine._clients.values():  # readonly attribute of the engine
            if client.venue not in venues:
                continue
            reports = await client.generate_position_status_reports(
                GeneratePositionStatusReports(
                    instrument_id=None,
                    start=None,
                    end=None,
                    command_id=UUID4(),
                    ts_init=self.clock.timestamp_ns(),
                )
            )
            for report in reports:
                venue_positions[report.instrument_id] = float(report.signed_decimal_qty)
        now = self.clock.timestamp_ns()
        for instrument_id in self._instruments:
            if now - self._last_fill_ns.get(instrument_id, 0) < _FILL_QUIET_NS:
                continue
            instrument = self.cache.instrument(instrument_id)
            node = self._position(instrument_id)
            venue = venue_positions.get(instrument_id, 0.0)
            step = float(instrument.size_increment) if instrument is not None else 0.0
            mismatched = positions_differ(node, venue, step)
            streak = next_mismatch_streak(self._mismatch_streak.get(instrument_id, 0), mismatched)
            self._mismatch_streak[instrument_id] = streak
            if not mismatched:
                continue
            self.metrics.on_reconciliation_mismatch()
            detail = f"{instrument_id} node position {node:g} != venue {venue:g}"
            self.log.warning(f"Position mismatch: {detail}")
            reason = reconciliation_breach(
                streak, detail, self._limits.max_reconciliation_mismatches
            )
            if reason is not None and not self.kill_switch.halted:
                self.kill_switch.engage(reason, source="breach")

    # -- snapshots -----------------------------------------------------------------------------

    def _status_instruments(self) -> list[InstrumentId]:
        ids = dict.fromkeys(self._instruments)
        ids.update(dict.fromkeys(o.instrument_id for o in self.cache.orders_open()))
        ids.update(dict.fromkeys(p.instrument_id for p in self.cache.positions_open()))
        return list(ids)

    def _instrument_status(self, instrument_id: InstrumentId, now: int) -> InstrumentStatus:
        cache = self.cache
        orders = cache.orders_open(instrument_id=instrument_id)
        bids = [o for o in orders if o.side == OrderSide.BUY and o.has_price]
        asks = [o for o in orders if o.side == OrderSide.SELL and o.has_price]
        our_bid = max(bids, key=lambda o: o.price, default=None)
        our_ask = min(asks, key=lambda o: o.price, default=None)
        book = cache.order_book(instrument_id)
        best_bid = _price(book.best_bid_price()) if book is not None else None
        best_ask = _price(book.best_ask_price()) if book is not None else None
        instrument = cache.instrument(instrument_id)
        tick = float(instrument.price_increment) if instrument is not None else None
        return InstrumentStatus(
            instrument=instrument_id.value,
            position=self._position(instrument_id),
            open_orders=len(orders),
            realized_pnl=_money(self.portfolio.realized_pnl(instrument_id)),
            unrealized_pnl=self._unrealized(instrument_id, book),
            data_age_ms=self.data_age_ms(instrument_id),
            best_bid=best_bid,
            best_ask=best_ask,
            our_bid=_price(our_bid.price) if our_bid else None,
            our_ask=_price(our_ask.price) if our_ask else None,
            bid_quote_age_ms=(now - our_bid.ts_last) / _NANOS_PER_MS if our_bid else None,
            ask_quote_age_ms=(now - our_ask.ts_last) / _NANOS_PER_MS if our_ask else None,
            bid_distance_ticks=_ticks(best_bid, _price(our_bid.price) if our_bid else None, tick),
            ask_distance_ticks=_ticks(_price(our_ask.price) if our_ask else None, best_ask, tick),
        )

    def _unrealized(self, instrument_id: InstrumentId, book: Any) -> float | None:
        instrument = self.cache.instrument(instrument_id)
        mid = book.midpoint() if book is not None else None
        if instrument is None or mid is None:
            return _money(self.portfolio.unrealized_pnl(instrument_id))
        price = instrument.make_price(mid)
        return _money(self.portfolio.unrealized_pnl(instrument_id, price=price))

    def _total_pnl(self) -> float:
        total = 0.0
        for instrument_id in self._instruments:
            total += _money(self.portfolio.realized_pnl(instrument_id)) or 0.0
            book = self.cache.order_book(instrument_id)
            total += self._unrealized(instrument_id, book) or 0.0
        return total

    def _position(self, instrument_id: InstrumentId) -> float:
        return float(self.portfolio.net_position(instrument_id))

    def _metrics_url(self) -> str | None:
        if self.metrics_port is None or self._metrics_address is None:
            return None
        return f"http://{self._metrics_address[0]}:{self.metrics_port}/metrics"

    def _read_day_pnl(self) -> DailyPnl | None:
        path = self._state_dir / DAILY_PNL_FILE
        try:
            return msgspec.json.decode(path.read_bytes(), type=DailyPnl)
        except FileNotFoundError:
            return None
        except (OSError, msgspec.DecodeError) as error:
            self.log.warning(f"{path} unreadable ({error}): the day's PnL restarts from zero")
            return None

    def _persist_day_pnl(self) -> None:
        if self._day_pnl is None:
            return
        self._last_pnl_persist_ns = self.clock.timestamp_ns()
        snapshot = self._day_pnl.snapshot(self._total_pnl())
        write_json_atomic(self._state_dir / DAILY_PNL_FILE, msgspec.json.encode(snapshot))


def _quoted_instruments(node: TradingNode, run_config: Any) -> list[InstrumentId]:
    ids: dict[InstrumentId, None] = {}
    for key in ("instrument_id", "complement_id"):
        value = _field(run_config, key, None)
        if value is not None:
            ids[value] = None
    for strategy in node.trader.strategies():
        ids.update(dict.fromkeys(_strategy_instruments(strategy)))
    return list(ids)


def _strategy_instruments(strategy: Any) -> list[InstrumentId]:
    config = strategy.config
    ids = [getattr(config, "instrument_id", None), getattr(config, "complement_id", None)]
    return [i for i in ids if isinstance(i, InstrumentId)]


def _field(container: Any, name: str, default: Any) -> Any:
    if container is None:
        return default
    if isinstance(container, Mapping):
        return container.get(name, default)
    return getattr(container, name, default)


def _today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def _price(price: Any) -> float | None:
    return None if price is None else price.as_double()


def _money(money: Any) -> float | None:
    return None if money is None else money.as_double()


def _ticks(higher: float | None, lower: float | None, tick: float | None) -> float | None:
    if higher is None or lower is None or not tick:
        return None
    return round((higher - lower) / tick, 6)
