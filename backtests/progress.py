"""A progress bar over simulated time, driven by an engine timer: the data path stays untouched."""

from __future__ import annotations

import datetime as dt

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from tqdm import tqdm

_TIMER = "quotekit-progress"


class ProgressConfig(ActorConfig, frozen=True):
    start_ns: int
    end_ns: int
    step_s: int = 60


class ProgressActor(Actor):
    """
    Advances a bar in simulated minutes. A timer costs one callback per step, where a data
    subscription would cost one per event.
    """

    def __init__(self, config: ProgressConfig) -> None:
        super().__init__(config)
        self._start_ns = config.start_ns
        self._total_s = max((config.end_ns - config.start_ns) // 1_000_000_000, 1)
        self._bar: tqdm | None = None
        self._done_s = 0

    def on_start(self) -> None:
        # disable=None hides the bar when stderr is not a terminal (CI logs, pipes).
        self._bar = tqdm(
            total=self._total_s, unit="sim-s", desc="backtest", disable=None, leave=False
        )
        self.clock.set_timer(
            _TIMER,
            interval=dt.timedelta(seconds=self.config.step_s),
            callback=self._on_tick,
        )

    def _on_tick(self, event) -> None:
        elapsed = min((event.ts_event - self._start_ns) // 1_000_000_000, self._total_s)
        if self._bar is not None and elapsed > self._done_s:
            self._bar.update(elapsed - self._done_s)
            self._done_s = elapsed

    def on_stop(self) -> None:
        if self._bar is not None:
            self._bar.update(self._total_s - self._done_s)
            self._bar.close()
            self._bar = None
