"""
Order commands through a running TradingNode's risk and execution engines with direct dispatch
(`live/dispatch.py`): in the sender's call on the loop thread, in order from other threads, and
through nautilus' queues while the engines do not run; and the quoting strategy's timer callbacks
on the loop thread, not the live clock's.

The execution client is a small recording venue client: what is under test is how commands reach
it, not what a venue does with them. nautilus runs one node per process, so each scenario runs
this file as a script in its own process.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.common.events import TimeEvent
from nautilus_trader.common.providers import InstrumentProvider
from nautilus_trader.config import LiveExecEngineConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.messages import CancelAllOrders
from nautilus_trader.execution.messages import ModifyOrder
from nautilus_trader.execution.messages import SubmitOrder
from nautilus_trader.execution.messages import SubmitOrderList
from nautilus_trader.live.execution_client import LiveExecutionClient
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import BookOrder
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import AccountType
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import OmsType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import AccountId
from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.identifiers import VenueOrderId
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.test_kit.stubs.data import TestDataStubs
from nautilus_trader.trading.strategy import Strategy

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from live.dispatch import DirectDispatch
from live.node import build_node
from strategies.capabilities import VENUE_CAPABILITIES
from strategies.quoting import QuotingConfig
from strategies.quoting import QuotingStrategy

INSTRUMENT = TestInstrumentProvider.btcusdt_binance()


class RecordingVenueClient(LiveExecutionClient):
    """Acknowledges every order at once and records each command with the thread it ran on."""

    def __init__(self, loop, msgbus: MessageBus, cache, clock: LiveClock) -> None:
        super().__init__(
            loop=loop,
            client_id=ClientId("BINANCE"),
            venue=INSTRUMENT.venue,
            oms_type=OmsType.NETTING,
            account_type=AccountType.CASH,
            base_currency=None,
            instrument_provider=InstrumentProvider(),
            msgbus=msgbus,
            cache=cache,
            clock=clock,
        )
        self._set_account_id(AccountId("BINANCE-001"))
        self.seen: list[tuple[str, str, int]] = []  # (command, client order id, thread)
        self.fail_on: set[str] = set()

    def _record(self, kind: str, client_order_id: str) -> None:
        self.seen.append((kind, client_order_id, threading.get_ident()))
        if client_order_id in self.fail_on:
            raise RuntimeError(f"venue client failed on {client_order_id}")

    def submit_order(self, command: SubmitOrder) -> None:
        self._accept(command.order)

    def submit_order_list(self, command: SubmitOrderList) -> None:
        for order in command.order_list.orders:
            self._accept(order)

    def _accept(self, order) -> None:
        self._record("submit", order.client_order_id.value)
        ts = self._clock.timestamp_ns()
        ids = (order.strategy_id, order.instrument_id, order.client_order_id)
        self.generate_order_submitted(*ids, ts)
        self.generate_order_accepted(*ids, VenueOrderId(f"V-{order.client_order_id.value}"), ts)

    def modify_order(self, command: ModifyOrder) -> None:
        self._record("modify", command.client_order_id.value)

    def cancel_all_orders(self, command: CancelAllOrders) -> None:
        self._record("cancel_all", command.instrument_id.value)

    async def _connect(self) -> None:
        self._set_connected(True)

    async def _disconnect(self) -> None:
        self._set_connected(False)


class Orders(Strategy):
    """Sends what the test asks for; nothing of its own."""

    def limit(self, price: str):
        return self.order_factory.limit(
            instrument_id=INSTRUMENT.id,
            order_side=OrderSide.BUY,
            quantity=INSTRUMENT.make_qty(0.01),
            price=INSTRUMENT.make_price(float(price)),
        )


def _built_node(
    direct: bool = True, graceful: bool = False, strategy: Strategy | None = None
) -> tuple:
    """A built node trading INSTRUMENT through the recording client; not started."""
    loop = asyncio.get_running_loop()
    config = TradingNodeConfig(
        trader_id="DISPATCH-001",
        logging=LoggingConfig(log_level="ERROR"),
        exec_engine=LiveExecEngineConfig(
            reconciliation=False, graceful_shutdown_on_exception=graceful
        ),
    )
    node = build_node(config, loop=loop, direct_dispatch=direct)
    kernel = node.kernel
    kernel.cache.add_instrument(INSTRUMENT)
    client = RecordingVenueClient(loop, kernel.msgbus, kernel.cache, kernel.clock)
    kernel.exec_engine.register_client(client)
    strategy = strategy or Orders()
    node.trader.add_strategy(strategy)
    return node, client, strategy


async def _running_node(
    direct: bool, graceful: bool = False, strategy: Strategy | None = None
) -> tuple:
    node, client, strategy = _built_node(direct, graceful, strategy)
    runner = asyncio.get_running_loop().create_task(node.run_async())
    await _until(lambda: strategy.is_running and node.kernel.exec_engine.is_running)
    return node, client, strategy, runner


async def _stop(node, runner) -> None:
    await node.stop_async()
    await asyncio.sleep(0.2)
    runner.cancel()


async def _until(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition never held")
        await asyncio.sleep(0.01)


async def scenario_commands_on_the_loop_thread_reach_the_client_in_the_senders_call() -> None:
    node, client, strategy, runner = await _running_node(direct=True)
    try:
        order = strategy.limit("10000")
        strategy.submit_order(order)
        # Through the RiskGate-free endpoint, the risk engine and the execution engine: no
        # loop iteration has passed.
        assert client.seen == [("submit", order.client_order_id.value, threading.get_ident())]
        await _until(lambda: order.is_open)
        strategy.modify_order(order, price=INSTRUMENT.make_price(10001.0))
        assert client.seen[-1][:2] == ("modify", order.client_order_id.value)
    finally:
        await _stop(node, runner)


async def scenario_market_data_reaches_subscribers_in_the_senders_call() -> None:
    node, _, _, runner = await _running_node(direct=True)
    try:
        received: list[QuoteTick] = []
        topic = f"data.quotes.{INSTRUMENT.venue}.{INSTRUMENT.id.symbol}"
        node.kernel.msgbus.subscribe(topic=topic, handler=received.append)
        tick = TestDataStubs.quote_tick(INSTRUMENT, bid_price=10_000.0, ask_price=10_001.0)
        node.kernel.msgbus.send(endpoint="DataEngine.process", msg=tick)
        assert received == [tick]
        assert node.kernel.cache.quote_tick(INSTRUMENT.id) == tick
    finally:
        await _stop(node, runner)


async def scenario_queued_dispatch_waits_for_the_engine_queues() -> None:
    node, client, strategy, runner = await _running_node(direct=False)
    try:
        order = strategy.limit("10000")
        strategy.submit_order(order)
        assert client.seen == []  # nautilus' queues: a later loop iteration
        await _until(lambda: len(client.seen) == 1)
    finally:
        await _stop(node, runner)


async def scenario_commands_from_other_threads_run_on_the_loop_in_the_order_sent() -> None:
    node, client, strategy, runner = await _running_node(direct=True)
    try:
        orders = [strategy.limit(str(10000 + i)) for i in range(4)]
        # Two from another thread (as the live clock's timer callbacks send them), then one
        # from the loop thread while those are still being handed over: it must not overtake.
        sent = threading.Event()

        def from_timer_thread() -> None:
            strategy.submit_order(orders[0])
            strategy.submit_order(orders[1])
            sent.set()

        thread = threading.Thread(target=from_timer_thread)
        thread.start()
        thread.join()
        assert sent.is_set() and client.seen == []
        strategy.submit_order(orders[2])
        assert client.seen == []  # queued behind the two handed over
        await _until(lambda: len(client.seen) == 3)
        strategy.submit_order(orders[3])  # nothing pending: straight through again
        assert [cid for _, cid, _ in client.seen] == [o.client_order_id.value for o in orders]
        assert {thread for _, _, thread in client.seen} == {threading.get_ident()}
    finally:
        await _stop(node, runner)


async def scenario_a_failing_command_ends_the_node_as_nautilus_queue_would() -> None:
    # nautilus' queue task reports an exception and, with `graceful_shutdown_on_exception`,
    # shuts the system down (without it the process exits at once): the direct path does the same
    # and never raises into the strategy's callback.
    node, client, strategy, runner = await _running_node(direct=True, graceful=True)
    try:
        bad = strategy.limit("10000")
        client.fail_on.add(bad.client_order_id.value)
        strategy.submit_order(bad)
        assert [cid for _, cid, _ in client.seen] == [bad.client_order_id.value]
        dispatch = node.kernel.exec_engine.execute
        assert isinstance(dispatch, DirectDispatch) and dispatch.direct == 1
        await _until(lambda: not node.trader.is_running)
    finally:
        await _stop(node, runner)


async def scenario_before_the_engines_run_commands_take_nautilus_queue() -> None:
    node, client, strategy = _built_node()
    kernel = node.kernel
    order = strategy.limit("10000")
    strategy.submit_order(order)
    await asyncio.sleep(0.05)
    assert client.seen == [] and kernel.risk_engine.cmd_qsize() == 1
    runner = asyncio.get_running_loop().create_task(node.run_async())
    try:
        # Once running, the queue drains through the engines as nautilus always did.
        await _until(lambda: len(client.seen) == 1)
        assert kernel.risk_engine.execute.direct == 0
    finally:
        await _stop(node, runner)


class TimerThreads(QuotingStrategy):
    """The quoting strategy, noting the thread each of its timer callbacks runs on."""

    def __init__(self) -> None:
        super().__init__(
            QuotingConfig(
                instrument_id=INSTRUMENT.id,
                capabilities=VENUE_CAPABILITIES["gate"],
                order_size=0.01,
                max_position=1.0,
                stale_book_ms=200,
            )
        )
        self.timer_threads: dict[str, set[int]] = {"stale": set(), "deferred": set()}

    def _on_stale_check(self, event) -> None:
        self.timer_threads["stale"].add(threading.get_ident())
        super()._on_stale_check(event)

    def _on_deferred_requote(self, event) -> None:
        self.timer_threads["deferred"].add(threading.get_ident())
        super()._on_deferred_requote(event)


async def scenario_the_quoting_strategys_timers_call_back_on_the_loop_thread() -> None:
    # nautilus' live clock calls back on its own thread; the strategy's state is the loop's.
    strategy = TimerThreads()
    node, _, _, runner = await _running_node(direct=True, strategy=strategy)
    try:
        strategy._next_requote_ns = node.kernel.clock.timestamp_ns() + 20_000_000
        strategy._defer_requote()
        await _until(lambda: all(strategy.timer_threads.values()))
        assert strategy.timer_threads == {
            "stale": {threading.get_ident()},
            "deferred": {threading.get_ident()},
        }
    finally:
        await _stop(node, runner)


async def scenario_a_deferred_requote_that_reaches_the_loop_after_the_stop_sends_nothing() -> None:
    # The alert can fire just before on_stop cancels it; its hand-over then runs after the stop.
    strategy = TimerThreads()
    node, client, _, runner = await _running_node(direct=True, strategy=strategy)
    try:
        book = OrderBook(INSTRUMENT.id, BookType.L2_MBP)
        for side, price in ((OrderSide.BUY, 10_000.0), (OrderSide.SELL, 10_001.0)):
            order = BookOrder(side, INSTRUMENT.make_price(price), INSTRUMENT.make_qty(1.0), 0)
            book.add(order, 0, 0)
        strategy._book = book
        now = node.kernel.clock.timestamp_ns()
        alert = TimeEvent("deferred", UUID4(), now, now)
        strategy._on_deferred_requote(alert)
        submitted = [kind for kind, _, _ in client.seen]
        assert submitted and set(submitted) == {"submit"}  # running: the ladder goes out
        strategy.stop()
        await _until(lambda: strategy.is_stopped)
        seen = len(client.seen)
        strategy._dirty = True
        strategy._next_requote_ns = 0
        strategy._on_deferred_requote(alert)
        assert client.seen[seen:] == []
    finally:
        await _stop(node, runner)


SCENARIOS = {name: fn for name, fn in globals().items() if name.startswith("scenario_")}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_direct_dispatch(scenario: str) -> None:
    done = subprocess.run(
        [sys.executable, __file__, scenario],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


if __name__ == "__main__":
    asyncio.run(SCENARIOS[sys.argv[1]]())
