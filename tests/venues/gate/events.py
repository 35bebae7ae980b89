"""Events the exchange publishes for the WebSocket hub.

The payload is a function of the subscriber's size format (decimal strings vs integers), so each
connection renders it with its own `X-Gate-Size-Decimal` choice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Protocol


@dataclass
class Event:
    channel: str
    contract: str  # "" for account-wide events (balances)
    render: Callable[[bool], Any]
    uid: int | None = None  # set for private channels
    _cache: dict[bool, Any] = field(default_factory=dict, repr=False)

    def result(self, size_decimal: bool) -> Any:
        if size_decimal not in self._cache:
            self._cache[size_decimal] = self.render(size_decimal)
        return self._cache[size_decimal]


class EventSink(Protocol):
    def publish(self, event: Event) -> None: ...


class NullSink:
    def publish(self, event: Event) -> None:
        pass
