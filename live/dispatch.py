"""
Market data and order commands go straight through nautilus' engines on the event-loop thread.

A live node's engines take every data point and command through an asyncio queue:
`LiveDataEngine.process`, `LiveRiskEngine.execute` and `LiveExecutionEngine.execute` schedule a put
with `call_soon_threadsafe` (a write to the loop's wake-up pipe), the put wakes the queue's task on
a later loop iteration, and only then does the engine handle the message. A book update therefore
waits two loop iterations before the strategy sees it, and the amend it causes four more before
our execution client does: the largest share of nautilus' part of the tick-to-order path
(`benchmarks/gate_tick_to_order.py` measures it). A backtest runs the same engines synchronously,
so the strategy, the risk checks and the clients already work that way.

`install_direct_dispatch` re-registers the three endpoints with a `DirectDispatch` that, on the
loop thread, calls the engine's own synchronous method (the Cython base class's, which handles the
message at once) in the sender's call. Messages to one engine keep one order:

- a message from another thread (nautilus' live clock runs timer callbacks on its own thread: the
  risk engine's throttle releases, and any actor timer not handed to the loop with
  `strategies/timers.py`) is handed to the loop with `call_soon_threadsafe` and handled there in
  turn;
- a message sent on the loop thread while such hand-overs are still pending joins the end of the
  loop's ready queue behind them instead of overtaking them;
- while the engine is not running (building, stopping, stopped) nautilus' queue is used, as before.

An exception is reported through the engine's own queue-exception handler, as the queue task would
(nautilus then shuts the node down, or exits when `graceful_shutdown_on_exception` is off).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from nautilus_trader.data.engine import DataEngine
from nautilus_trader.execution.engine import ExecutionEngine
from nautilus_trader.risk.engine import RiskEngine

# (message-bus endpoint, kernel attribute of the engine, engine method, its synchronous base)
ENDPOINTS = (
    ("DataEngine.process", "data_engine", "process", DataEngine.process),
    ("RiskEngine.execute", "risk_engine", "execute", RiskEngine.execute),
    ("ExecEngine.execute", "exec_engine", "execute", ExecutionEngine.execute),
)


class DirectDispatch:
    """One live engine's endpoint, handled in the sender's call on the loop thread."""

    def __init__(
        self,
        engine: Any,
        method: str,
        run_now: Callable[[Any, Any], None],
        loop: asyncio.AbstractEventLoop,
        loop_thread: int,
    ) -> None:
        self._engine = engine
        self._run_now = run_now
        self._label = f"{method} (direct)"
        self._queued = getattr(engine, method)  # nautilus' path, for when the engine is not running
        self._loop = loop
        self._loop_thread = loop_thread
        # Messages handed to the loop and not yet handled; senders on several threads update it.
        self._pending = 0
        self._pending_lock = threading.Lock()
        self.direct = 0  # messages handled in the sender's call

    def __call__(self, message: Any) -> None:
        if not self._engine.is_running:
            self._queued(message)
        elif threading.get_ident() != self._loop_thread:
            with self._pending_lock:
                self._pending += 1
            self._loop.call_soon_threadsafe(self._run_handed_over, message)
        elif self._pending:
            with self._pending_lock:
                self._pending += 1
            self._loop.call_soon(self._run_handed_over, message)
        else:
            self.direct += 1
            self._run(message)

    def _run_handed_over(self, message: Any) -> None:
        with self._pending_lock:
            self._pending -= 1
        if self._engine.is_running:
            self._run(message)
        else:
            self._queued(message)

    def _run(self, message: Any) -> None:
        try:
            self._run_now(self._engine, message)
        except Exception as e:  # reported as the engine's queue task reports it
            self._engine._handle_queue_exception(e, self._label)


def install_direct_dispatch(
    kernel: Any, loop_thread: int | None = None
) -> dict[str, DirectDispatch]:
    """
    Replace a live kernel's queued data, risk and execution endpoints, by endpoint name. Call on
    the thread that runs the kernel's loop (or name it), before any `RiskGate` is installed: the
    gate forwards to `risk_engine.execute`, which this rebinds.
    """
    thread = threading.get_ident() if loop_thread is None else loop_thread
    dispatches = {}
    for endpoint, attribute, method, run_now in ENDPOINTS:
        engine = getattr(kernel, attribute)
        dispatch = DirectDispatch(engine, method, run_now, kernel.loop, thread)
        kernel.msgbus.deregister(endpoint, getattr(engine, method))
        kernel.msgbus.register(endpoint, dispatch)
        # Whatever holds the engine itself (the RiskGate) reaches the same path.
        setattr(engine, method, dispatch)
        dispatches[endpoint] = dispatch
    return dispatches
