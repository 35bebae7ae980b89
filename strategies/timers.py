"""
Timer callbacks that run on the thread the actor runs on.

nautilus' `LiveClock` calls a timer's callback on a thread of its own (its Rust runtime's), while
market data, order events and commands reach an actor on the event loop's thread. An actor's
state is not guarded against two threads: a timer callback that requotes while a book update
requotes on the loop interleaves their steps under the GIL. So a live timer's callback is handed
to the loop and runs there between two other messages, as a backtest's `TestClock` (which calls
back synchronously, on the caller's thread) already runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any


def on_loop_thread(callback: Callable[[Any], None]) -> Callable[[Any], None]:
    """
    `callback`, run on the event loop that is running now (call this from an actor's `on_start`
    or later, on the loop's thread). Without a running loop, as in a backtest, `callback` itself.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return callback
    loop_thread = threading.get_ident()

    def handed_to_loop(event: Any) -> None:
        if threading.get_ident() == loop_thread:
            callback(event)
        else:
            # A timer that fires after the node closed its loop has no one left to tell.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(callback, event)

    return handed_to_loop
