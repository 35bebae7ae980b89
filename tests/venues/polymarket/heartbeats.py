"""The heartbeat dead-man switch: if a user's heartbeats stop, all their open orders are cancelled.

Protocol (as probed on the real CLOB): `{"heartbeat_id": ""}` starts a chain and returns an id;
each later heartbeat must send the last id returned and gets a new one; any other id is refused
with 400 `Invalid Heartbeat ID` (echoing it). Each accepted heartbeat re-arms the timer; when it
lapses the chain ends and, unless the fault `honour=False` is set, the user's orders are cancelled.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.venues.polymarket.models import ApiError

Scheduler = Callable[..., asyncio.TimerHandle]  # (delay_s, fn, *args) -> handle


@dataclass
class Chain:
    id: str
    handle: asyncio.TimerHandle


class DeadManSwitch:
    def __init__(
        self, on_lapse: Callable[[str], Any], timeout_s: float, schedule: Scheduler
    ) -> None:
        self.on_lapse = on_lapse
        self.timeout_s = timeout_s
        self.schedule = schedule
        self.honour = True
        self.chains: dict[str, Chain] = {}  # user (lower-case address) -> live chain
        self.lapses: dict[str, int] = {}

    def beat(self, user: str, heartbeat_id: str) -> str:
        """Accept a heartbeat and return the next id, or raise ApiError 400."""
        current = self.chains.get(user)
        if heartbeat_id and (current is None or heartbeat_id != current.id):
            raise ApiError(400, "Invalid Heartbeat ID", {"heartbeat_id": heartbeat_id})
        if current is not None:
            current.handle.cancel()
        chain = Chain(str(uuid.uuid4()), self.schedule(self.timeout_s, self._lapsed, user))
        self.chains[user] = chain
        return chain.id

    def _lapsed(self, user: str) -> None:
        self.chains.pop(user, None)
        self.lapses[user] = self.lapses.get(user, 0) + 1
        if self.honour:
            self.on_lapse(user)

    def state(self, user: str) -> dict[str, Any]:
        chain = self.chains.get(user)
        return {
            "active": chain is not None,
            "heartbeat_id": chain.id if chain else None,
            "lapses": self.lapses.get(user, 0),
            "timeout_s": self.timeout_s,
            "honour": self.honour,
        }
