"""Fault injection state: forced REST errors/delays, order-placement timeouts, WS faults.

The simulator object and the `/_sim/...` control API both write here; the REST middleware and the
exchange read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

from tests.venues.common import FaultPlan


@dataclass
class Faults(FaultPlan):
    # WS channels whose pushes are silently dropped (a stalled feed: the venue state moves on).
    muted_channels: set[str] = field(default_factory=set)
    # WS channels whose pushes arrive this many seconds late (in order).
    lagged_channels: dict[str, float] = field(default_factory=dict)

    def clear(self) -> None:
        super().clear()
        self.muted_channels.clear()
        self.lagged_channels.clear()

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "muted_channels": sorted(self.muted_channels),
            "lagged_channels": dict(self.lagged_channels),
        }
