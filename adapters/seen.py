"""A bounded "seen before?" set, for events that may arrive twice (WebSocket and REST)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class SeenSet:
    """Remembers the last `limit` keys; `add` says whether a key is new."""

    def __init__(self, limit: int = 10_000) -> None:
        self._keys: OrderedDict[Hashable, None] = OrderedDict()
        self._limit = limit

    def add(self, key: Hashable) -> bool:
        """Add `key`; False if it was already there."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._limit:
            self._keys.popitem(last=False)
        return True

    def __contains__(self, key: Hashable) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)
