"""
When one token's local book can be trusted (pure: no I/O, no clock).

Polymarket's market channel has no sequence numbers: a `book` message is a full snapshot, and each
`price_change` sets absolute level sizes. The book becomes untrustworthy after a reconnect (messages
were lost), a tick-size change (levels move to a new price grid) or a top-of-book that disagrees
with the venue's stated best bid/ask (a lost message). It is trusted again after the next
snapshot: either a `book` from the stream, which supersedes everything before it, or a REST
`/book` fetched by the caller.

A REST snapshot is not in the stream's order, so the `price_change` messages that arrive while
waiting are kept and those stamped at or after the snapshot are replayed on top of it. Sizes are
absolute, so replaying a change the snapshot already contains is harmless, and the result is
exact as long as the venue stamps both with one clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from adapters.polymarket.schemas import PriceChange

BufferedChanges = tuple[int, Sequence[PriceChange]]  # (venue timestamp ms, one token's changes)


class PolymarketBookSync:
    """
    The sync state of one token's book. It starts unsynced: the first snapshot comes on subscribe.

    Parameters
    ----------
    max_buffer : int
        `price_change` messages kept while waiting for a snapshot; beyond it the oldest go, and a
        REST snapshot older than a dropped message cannot be completed (the caller fetches again).
    """

    def __init__(self, max_buffer: int = 10_000) -> None:
        self._synced = False
        self._reason = "awaiting the first snapshot"
        self._buffer: deque[BufferedChanges] = deque()
        self._max_buffer = max_buffer
        self._dropped_until_ms = -1

    @property
    def synced(self) -> bool:
        return self._synced

    @property
    def reason(self) -> str:
        """Why the book is not synced ("" when it is)."""
        return self._reason

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def invalidate(self, reason: str) -> None:
        """The local book is no longer exact: wait for a snapshot."""
        self._synced = False
        self._reason = reason
        self._buffer.clear()
        self._dropped_until_ms = -1

    def on_stream_book(self) -> None:
        """A `book` from the stream: the book is exact, anything buffered is superseded."""
        self._synced = True
        self._reason = ""
        self._buffer.clear()
        self._dropped_until_ms = -1

    def on_price_changes(self, ts_ms: int, changes: Sequence[PriceChange]) -> bool:
        """True: apply `changes` now; False: they were kept for a REST snapshot to come."""
        if self._synced:
            return True
        if len(self._buffer) >= self._max_buffer:
            dropped_ts, _ = self._buffer.popleft()
            self._dropped_until_ms = max(self._dropped_until_ms, dropped_ts)
        self._buffer.append((ts_ms, changes))
        return False

    def on_rest_book(self, book_ts_ms: int) -> list[BufferedChanges] | None:
        """
        A REST snapshot stamped `book_ts_ms` arrived. None: do not apply it (already synced, or
        a change it would need was dropped from the buffer); otherwise apply it, then replay the
        returned changes in order.
        """
        if self._synced or self._dropped_until_ms >= book_ts_ms:
            return None
        replay = [item for item in self._buffer if item[0] >= book_ts_ms]
        self.on_stream_book()
        return replay
