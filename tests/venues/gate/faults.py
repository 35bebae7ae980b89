"""Fault injection state: forced REST errors/delays, order-placement timeouts, WS faults.

The simulator object and the `/_sim/...` control API both write here; the REST middleware and the
exchange read it.
"""

from __future__ import annotations

from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from typing import Any

KINDS = ("429", "5xx", "slow")


@dataclass
class RestFault:
    kind: str  # "429" | "5xx" | "slow"
    remaining: int
    method: str | None = None  # only requests with this method
    path: str | None = None  # only paths containing this (relative to /api/v4)
    status: int = 502  # for 5xx
    delay_s: float = 0.0  # for slow
    # 5xx only: process the request first, then answer 5xx (the ambiguous outcome: the order
    # may exist although the client saw an error).
    after: bool = False

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return not (self.path and self.path not in path)


@dataclass
class Faults:
    rest: list[RestFault] = field(default_factory=list)
    order_timeouts: int = 0  # next N placements are accepted but answered late
    order_timeout_delay_s: float = 30.0

    def add_rest(self, fault: RestFault) -> None:
        if fault.kind not in KINDS:
            raise ValueError(f"fault kind must be one of {KINDS}, not {fault.kind!r}")
        self.rest.append(fault)

    def take_rest(self, method: str, path: str) -> RestFault | None:
        for fault in self.rest:
            if fault.remaining > 0 and fault.matches(method, path):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.rest.remove(fault)
                return fault
        return None

    def take_order_timeout(self) -> float | None:
        if self.order_timeouts <= 0:
            return None
        self.order_timeouts -= 1
        return self.order_timeout_delay_s

    def clear(self) -> None:
        self.rest.clear()
        self.order_timeouts = 0

    def describe(self) -> dict[str, Any]:
        return {
            "rest": [asdict(f) for f in self.rest],
            "order_timeouts": self.order_timeouts,
            "order_timeout_delay_s": self.order_timeout_delay_s,
        }
