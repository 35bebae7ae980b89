"""Gate.io order book synchronisation: REST snapshot + `*.order_book_update` stream (pure).

Perpetuals (`futures.order_book_update` + `/futures/usdt/order_book`) and spot pairs
(`spot.order_book_update` + `/spot/order_book`) follow the same rule and the same ids, so one
machine serves both; only the level shapes differ, and those are the parser's business.

Gate's rule (venues.md 1.5, 1.6): buffer the stream, fetch `order_book?with_id=true` (`id`), drop
updates with `u < id + 1`, the first applied update must have `U <= id + 1 <= u`, and each next one
must continue the sequence. If `id + 1 < U` of the earliest buffered update the snapshot is older
than the stream (stale): fetch again. A gap means the local book is wrong: drop it, start over.

`GateBookSync` decides, the caller acts: each input returns a list of actions (apply this
snapshot, apply this update, request a snapshot) to execute in order, so the machine has no I/O and
no clock and every transition is a unit test. Updates are the raw `result` dicts (`U`, `u`,
`full`...), passed through untouched to `parse_book_update`.

Overlapping updates (`U <= last + 1 <= u` with `U < last + 1`) are accepted after the first too:
sizes are absolute, so a message covering ids already applied carries the final state of every level
it touches, and applying it is exact. A duplicate (`u <= last`) is dropped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any


class BookSyncState(Enum):
    AWAITING_SNAPSHOT = "awaiting_snapshot"  # buffering updates until a usable snapshot arrives
    SYNCED = "synced"  # the local book is exact as of `last_update_id`


@dataclass(frozen=True, slots=True)
class ApplySnapshot:
    """Replace the book (CLEAR + levels) with this REST snapshot."""

    snapshot: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ApplyUpdate:
    """Apply this stream message (a `"full": true` one replaces the book)."""

    update: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RequestSnapshot:
    """Fetch a REST snapshot and pass it to `on_snapshot`; the book is unusable until then."""

    reason: str


BookSyncAction = ApplySnapshot | ApplyUpdate | RequestSnapshot


class GateBookSync:
    """
    The sync state machine for one market's book (a perpetual or a spot pair).

    Parameters
    ----------
    max_buffer : int
        Updates kept while waiting for a snapshot; the oldest go first (if that loses the sync
        point, the stale-snapshot check asks for a newer snapshot).
    """

    def __init__(self, max_buffer: int = 10_000) -> None:
        self._state = BookSyncState.AWAITING_SNAPSHOT
        self._last_id: int | None = None
        self._buffer: deque[Mapping[str, Any]] = deque(maxlen=max_buffer)
        self._snapshot_requested = False

    @property
    def state(self) -> BookSyncState:
        return self._state

    @property
    def last_update_id(self) -> int | None:
        """The book id the local book is exact at (None while not synced)."""
        return self._last_id

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def reset(self, reason: str) -> list[BookSyncAction]:
        """Drop everything (reconnect, failed snapshot fetch) and ask for a fresh snapshot."""
        self._to_awaiting()
        self._snapshot_requested = True
        return [RequestSnapshot(reason)]

    def on_update(self, update: Mapping[str, Any]) -> list[BookSyncAction]:
        u = int(update["u"])
        if update.get("full"):
            return self._on_full(update, u)
        if self._state is BookSyncState.AWAITING_SNAPSHOT:
            self._buffer.append(update)
            if self._snapshot_requested:
                return []
            self._snapshot_requested = True
            return [RequestSnapshot("initial sync")]

        last = self._last_id
        assert last is not None  # SYNCED always has an id
        if u <= last:
            return []  # duplicate or already covered by the snapshot
        first = int(update["U"])
        if first > last + 1:
            self._to_awaiting()
            self._buffer.append(update)
            self._snapshot_requested = True
            return [RequestSnapshot(f"gap: book at {last}, update covers {first}..{u}")]
        self._last_id = u
        return [ApplyUpdate(update)]

    def on_snapshot(self, snapshot: Mapping[str, Any]) -> list[BookSyncAction]:
        snapshot_id = int(snapshot["id"])
        self._snapshot_requested = False
        if self._state is BookSyncState.SYNCED:
            assert self._last_id is not None
            if snapshot_id <= self._last_id:
                return []  # older than the local book: nothing to learn
            self._last_id = snapshot_id
            return [ApplySnapshot(snapshot)]

        while self._buffer and int(self._buffer[0]["u"]) <= snapshot_id:
            self._buffer.popleft()
        if not self._buffer:
            # Nothing buffered yet: the first update to come must bridge `id + 1` (checked then).
            self._synced_at(snapshot_id)
            return [ApplySnapshot(snapshot)]

        earliest = int(self._buffer[0]["U"])
        if earliest > snapshot_id + 1:
            self._snapshot_requested = True
            return [
                RequestSnapshot(f"stale snapshot: id {snapshot_id}, stream starts at {earliest}")
            ]

        chain, gap_at, last_id = self._chain(snapshot_id)
        if gap_at is not None:
            # This snapshot cannot bridge a hole in the buffered stream: keep only what follows
            # the hole and wait for a snapshot taken after it.
            for _ in range(gap_at):
                self._buffer.popleft()
            self._snapshot_requested = True
            return [RequestSnapshot("gap in the buffered updates")]

        actions: list[BookSyncAction] = [ApplySnapshot(snapshot)]
        actions.extend(ApplyUpdate(update) for update in chain)
        self._synced_at(last_id)
        return actions

    def _on_full(self, update: Mapping[str, Any], u: int) -> list[BookSyncAction]:
        # A full message is a snapshot in the stream: anything buffered before it is superseded.
        if self._state is BookSyncState.SYNCED and self._last_id is not None and u <= self._last_id:
            return []
        self._synced_at(u)
        return [ApplyUpdate(update)]

    def _chain(self, snapshot_id: int) -> tuple[list[Mapping[str, Any]], int | None, int]:
        """
        The buffered updates to apply on top of the snapshot, the index of the first one that
        leaves a gap (None if none), and the book id after the chain.
        """
        current = snapshot_id
        chain: list[Mapping[str, Any]] = []
        for index, update in enumerate(self._buffer):
            u = int(update["u"])
            if u <= current:
                continue  # a duplicate: re-applying it would roll levels back
            if int(update["U"]) > current + 1:
                return chain, index, current
            chain.append(update)
            current = u
        return chain, None, current

    def _synced_at(self, last_id: int) -> None:
        self._state = BookSyncState.SYNCED
        self._last_id = last_id
        self._buffer.clear()
        self._snapshot_requested = False

    def _to_awaiting(self) -> None:
        self._state = BookSyncState.AWAITING_SNAPSHOT
        self._last_id = None
        self._buffer.clear()
