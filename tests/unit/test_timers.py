import asyncio
import threading

from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import TestClock

from strategies.timers import on_loop_thread

ALERT_IN_NS = 2_000_000


def _fire_both(clock: LiveClock) -> dict[str, int]:
    """One alert with the bare callback, one through on_loop_thread: the threads they ran on."""

    async def main() -> dict[str, int]:
        ran_on: dict[str, int] = {"loop": threading.get_ident()}
        both = asyncio.Event()
        loop = asyncio.get_running_loop()

        def record(name: str):
            def callback(_event) -> None:
                ran_on[name] = threading.get_ident()
                if {"bare", "handed"} <= ran_on.keys():
                    loop.call_soon_threadsafe(both.set)

            return callback

        at = clock.timestamp_ns() + ALERT_IN_NS
        clock.set_time_alert_ns("bare", at, callback=record("bare"))
        clock.set_time_alert_ns("handed", at, callback=on_loop_thread(record("handed")))
        await asyncio.wait_for(both.wait(), 10)
        return ran_on

    return asyncio.run(main())


def test_a_live_clock_alert_runs_on_the_loop_thread_when_handed_over() -> None:
    ran_on = _fire_both(LiveClock())
    # The premise: nautilus' live clock calls back on a thread of its own.
    assert ran_on["bare"] != ran_on["loop"]
    assert ran_on["handed"] == ran_on["loop"]


def test_on_the_loop_thread_the_callback_runs_at_once() -> None:
    async def main() -> list[str]:
        calls: list[str] = []
        on_loop_thread(calls.append)("event")
        return calls

    assert asyncio.run(main()) == ["event"]


def test_without_a_running_loop_the_callback_is_used_as_it_is() -> None:
    clock = TestClock()
    calls: list[int] = []

    def callback(event) -> None:
        calls.append(event.ts_event)

    assert on_loop_thread(callback) is callback
    clock.set_time_alert_ns("alert", 5, callback=on_loop_thread(callback))
    for handler in clock.advance_time(10):
        handler.handle()
    assert calls == [5]


def test_a_timer_firing_after_the_loop_closed_is_dropped_quietly() -> None:
    async def make() -> object:
        return on_loop_thread(lambda _event: None)

    loop = asyncio.new_event_loop()
    handed = loop.run_until_complete(make())
    loop.close()
    errors: list[BaseException] = []

    def fire() -> None:
        try:
            handed("event")
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=fire)
    thread.start()
    thread.join()
    assert errors == []
