"""
Gate futures `orderbooks` rows -> L2 deltas with absolute level sizes (pure numpy, no I/O).

The hourly file (venues.md 1.8): `timestamp, action, price, size, begin_id, merged`. It opens with a
full snapshot of `set` rows, then `make` / `take` rows merged per 100 ms. The size's sign is the
side (+ bid, - ask); `make` ADDS |size| to the level and `take` SUBTRACTS it (a third party's
replay of an hour this way matched the next hour's snapshot on every level). So the book is
rebuilt while reading: each change becomes the level's new absolute size, an ADD when the level
was empty, an UPDATE, or a DELETE when it reaches zero. A take larger than the level (it should
not happen) empties it; a take on an empty level changes nothing; both are counted as anomalies.

A run of consecutive `set` rows at one timestamp is a snapshot: CLEAR, then an ADD per level
(zero sizes are empty levels; a level listed twice counts once, the last time), all flagged
F_SNAPSHOT. Which side a `set` row is on is ambiguous in third-party notes (venues.md 3.4): one
reads negative `set` sizes as asks, another says `set` sizes are all positive and must be split
around the mid. Both are handled: a snapshot with any negative size is read by sign (and refused
if that leaves it crossed); an all-positive one is split at the price that best agrees with the
first signed `make`/`take` rows on its levels (bids below, asks above; `split_unsigned_snapshot`).

Vectorised: rows are grouped per (snapshot epoch, side, price) with a stable sort, each level's
sizes are a segmented cumulative sum (a `set` row restarts its level), and the few levels that go
negative are clamped by a reflection (R = C - min(0, running min C)), which equals applying
`max(0, level + change)` row by row. Level sizes carry over from one chunk to the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

import numpy as np
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag

SET, MAKE, TAKE = 0, 1, 2
ACTIONS = ("set", "make", "take")

_ADD = int(BookAction.ADD)
_UPDATE = int(BookAction.UPDATE)
_DELETE = int(BookAction.DELETE)
_CLEAR = int(BookAction.CLEAR)
_NONE = 0  # no action: the row leaves the book as it was
_BUY = int(OrderSide.BUY)
_SELL = int(OrderSide.SELL)
_F_LAST = int(RecordFlag.F_LAST)
_F_SNAPSHOT = int(RecordFlag.F_SNAPSHOT)


class BookReplayError(ValueError):
    """The rows cannot be replayed into a book: `row` (index in the chunk) says where."""

    def __init__(self, row: int, reason: str) -> None:
        super().__init__(reason)
        self.row = row
        self.reason = reason


@dataclass(frozen=True)
class BookRows:
    """A chunk of rows in file order; integers are unscaled (price * 10**price_precision ...)."""

    ts: np.ndarray  # int64 ns, non-decreasing
    action: np.ndarray  # SET / MAKE / TAKE
    price: np.ndarray  # int64
    size: np.ndarray  # int64, signed: + bid, - ask
    sequence: np.ndarray  # uint64 (Gate's begin_id)


@dataclass(frozen=True)
class BookDeltas:
    """nautilus OrderBookDelta columns, in order (CLEARs have price and size 0)."""

    action: np.ndarray
    side: np.ndarray
    price: np.ndarray  # int64, unscaled
    size: np.ndarray  # int64, unscaled, absolute level size (0 for DELETE and CLEAR)
    flags: np.ndarray
    sequence: np.ndarray
    ts: np.ndarray


@dataclass
class BookStats:
    snapshots: int = 0
    unsigned_snapshots: int = 0
    anomalies: int = 0  # takes past zero or on empty levels, zero-size changes
    unchanged: int = 0  # rows that left the book as it was (no delta written)


@dataclass
class GateBookReplay:
    """Replays consecutive chunks of one file; each chunk must end at a message boundary."""

    levels: tuple[np.ndarray, np.ndarray] = field(
        default_factory=lambda: (np.empty(0, np.int64), np.empty(0, np.int64))
    )  # sorted level keys and their sizes, carried between chunks
    started: bool = False
    stats: BookStats = field(default_factory=BookStats)

    def replay(self, rows: BookRows) -> BookDeltas:
        n = len(rows.ts)
        if n == 0:
            return _empty_deltas()
        is_set = rows.action == SET
        if not self.started and not is_set[0]:
            raise BookReplayError(
                0,
                "the file does not start with a `set` snapshot (it starts with "
                f"`{ACTIONS[int(rows.action[0])]}`), so the levels it changes are unknown",
            )
        self.started = True
        run_start = is_set.copy()
        run_start[1:] &= ~is_set[:-1] | (rows.ts[1:] != rows.ts[:-1])
        epoch = np.cumsum(run_start)  # 0: rows continuing the book carried from the last chunk
        side = np.where(rows.size < 0, _SELL, _BUY).astype(np.int64)
        for start in np.flatnonzero(run_start).tolist():
            self._resolve_snapshot_sides(rows, is_set, start, side)

        magnitude = np.abs(rows.size)
        zero_change = ~is_set & (magnitude == 0)
        self.stats.anomalies += int(zero_change.sum())
        change = np.where(rows.action == TAKE, -magnitude, magnitude)
        key = _level_key(rows.price, side)

        order = np.lexsort((key, epoch))  # stable: rows of a level stay in file order
        k, e, d, s = key[order], epoch[order], change[order], is_set[order]
        new_level = np.ones(n, dtype=bool)
        new_level[1:] = (k[1:] != k[:-1]) | (e[1:] != e[:-1])
        seg_start = new_level | s
        starts = np.flatnonzero(seg_start)
        initial = np.zeros(len(starts), dtype=np.int64)
        carried = (e[starts] == 0) & ~s[starts]
        initial[carried] = self._carried_sizes(k[starts[carried]])

        # Each row's level size after it: a cumulative sum per segment, then floored at zero.
        total = np.cumsum(d)
        base = total[starts] - d[starts] - initial
        lengths = np.diff(np.append(starts, n))
        size_after = total - np.repeat(base, lengths)
        size_after = self._clamp(size_after, starts, lengths)
        size_before = np.empty(n, dtype=np.int64)
        size_before[1:] = size_after[:-1]
        size_before[starts] = initial

        act = np.full(n, _NONE, dtype=np.int64)
        # A level listed twice in one snapshot: the last listing counts.
        superseded = np.zeros(n, dtype=bool)
        superseded[:-1] = s[:-1] & s[1:] & ~new_level[1:]
        act[s & ~superseded & (size_after > 0)] = _ADD
        moved = ~s & (size_after != size_before)
        act[moved & (size_before == 0)] = _ADD
        act[moved & (size_before > 0) & (size_after > 0)] = _UPDATE
        act[moved & (size_after == 0)] = _DELETE
        self.stats.unchanged += int((~s & ~moved).sum())

        self._carry(k, e, size_after, int(epoch[-1]))
        in_file_order = np.empty(n, dtype=np.int64)
        in_file_order[order] = act
        sizes = np.empty(n, dtype=np.int64)
        sizes[order] = size_after
        return _assemble(rows, in_file_order, side, sizes, run_start)

    # -- snapshots ------------------------------------------------------------------------------

    def _resolve_snapshot_sides(
        self, rows: BookRows, is_set: np.ndarray, start: int, side: np.ndarray
    ) -> None:
        """Sides of the snapshot starting at `start`: by sign, or split against later changes."""
        self.stats.snapshots += 1
        beyond = np.flatnonzero(~is_set[start:] | (rows.ts[start:] != rows.ts[start]))
        end = start + int(beyond[0]) if len(beyond) else len(is_set)
        sizes = rows.size[start:end]
        if (sizes < 0).any():
            _check_not_crossed(rows, start, end)
            return
        if not (sizes > 0).any():
            return  # an empty book: no side to tell
        self.stats.unsigned_snapshots += 1
        following = np.flatnonzero(is_set[end:])
        stop = end + int(following[0]) if len(following) else len(is_set)
        is_ask = split_unsigned_snapshot(
            rows.price[start:end],
            rows.ts[end:stop],
            rows.price[end:stop],
            rows.size[end:stop],
            row=start,
        )
        side[start:end] = np.where(is_ask, _SELL, _BUY)

    # -- level sizes carried across chunks --------------------------------------------------------

    def _carried_sizes(self, keys: np.ndarray) -> np.ndarray:
        known, sizes = self.levels
        if not len(known):
            return np.zeros(len(keys), dtype=np.int64)
        index = np.minimum(np.searchsorted(known, keys), len(known) - 1)
        return np.where(known[index] == keys, sizes[index], 0)

    def _carry(self, keys: np.ndarray, epochs: np.ndarray, sizes: np.ndarray, last: int) -> None:
        """Keep each level's final size; a snapshot in this chunk replaces the book carried."""
        in_last = epochs == last
        ends = np.ones(len(keys), dtype=bool)
        ends[:-1] = (keys[1:] != keys[:-1]) | (epochs[1:] != epochs[:-1])
        final = ends & in_last
        new_keys, new_sizes = keys[final], sizes[final]
        if last == 0:
            old_keys, old_sizes = self.levels
            stale = np.isin(old_keys, new_keys)
            merged_keys = np.concatenate([old_keys[~stale], new_keys])
            merged_sizes = np.concatenate([old_sizes[~stale], new_sizes])
            order = np.argsort(merged_keys, kind="stable")
            new_keys, new_sizes = merged_keys[order], merged_sizes[order]
        alive = new_sizes > 0
        self.levels = (new_keys[alive], new_sizes[alive])

    def _clamp(self, size_after: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        lowest = np.minimum.reduceat(size_after, starts)
        for segment in np.flatnonzero(lowest < 0).tolist():
            a = int(starts[segment])
            b = a + int(lengths[segment])
            level = size_after[a:b]
            floor = np.minimum(np.minimum.accumulate(level), 0)
            self.stats.anomalies += int(np.count_nonzero(np.diff(np.append(0, floor))))
            size_after[a:b] = level - floor
        return size_after


def _level_key(price: np.ndarray, side: np.ndarray) -> np.ndarray:
    if len(price) and np.abs(price).max() >= 1 << 61:
        raise BookReplayError(int(np.argmax(np.abs(price))), "the price is too large to index")
    return price * 2 + (side == _SELL)


def split_unsigned_snapshot(
    levels: np.ndarray,
    change_ts: np.ndarray,
    change_prices: np.ndarray,
    change_sizes: np.ndarray,
    *,
    row: int = 0,
) -> np.ndarray:
    """
    True for the snapshot levels that are asks. The evidence is the earliest signed changes at
    the snapshot's own prices (a change names its level's side), up to the first instant by which
    both sides have shown up: later ones may already see the touch moved. The split point between
    the sorted level prices is the one contradicted by the fewest of them (a bid at or above the
    lowest ask, an ask at or below the highest bid); ties take the middle of the tied range.
    """
    on_levels = np.isin(change_prices, levels) & (change_sizes != 0)
    ts, prices, sizes = change_ts[on_levels], change_prices[on_levels], change_sizes[on_levels]
    first_bid, first_ask = np.flatnonzero(sizes > 0)[:1], np.flatnonzero(sizes < 0)[:1]
    if not len(first_bid) or not len(first_ask):
        raise BookReplayError(
            row,
            "the snapshot's `set` sizes are all positive and no signed make/take rows on both "
            "sides of it follow, so its bids cannot be told from its asks",
        )
    early = ts <= ts[max(int(first_bid[0]), int(first_ask[0]))]
    bids = np.sort(prices[early & (sizes > 0)])
    asks = np.sort(prices[early & (sizes < 0)])
    grid = np.unique(levels)
    count = len(grid)
    conflicts = np.zeros(count + 1, dtype=np.int64)
    conflicts[:count] += len(bids) - np.searchsorted(bids, grid, side="left")
    conflicts[1:] += np.searchsorted(asks, grid, side="right")
    tied = np.flatnonzero(conflicts == conflicts.min())
    split = int(tied[len(tied) // 2])
    if split == count:
        return np.zeros(len(levels), dtype=bool)
    return levels >= grid[split]


def _check_not_crossed(rows: BookRows, start: int, end: int) -> None:
    sizes, prices = rows.size[start:end], rows.price[start:end]
    bids, asks = prices[sizes > 0], prices[sizes < 0]
    if len(bids) and len(asks) and bids.max() >= asks.min():
        raise BookReplayError(
            start,
            "the snapshot is crossed when read by sign (+ bid, - ask): its best bid is at or "
            "above its best ask, so this file does not follow Gate's sign convention",
        )


def _assemble(
    rows: BookRows,
    action: np.ndarray,
    side: np.ndarray,
    size: np.ndarray,
    run_start: np.ndarray,
) -> BookDeltas:
    """Rows that changed the book, in file order, with a CLEAR before each snapshot."""
    kept = action != _NONE
    clears = np.flatnonzero(run_start)
    is_set = rows.action == SET
    # Output position of each kept row: kept rows before it, plus CLEARs at or before it.
    clears_upto = np.cumsum(run_start)
    kept_before = np.cumsum(kept) - kept
    row_pos = kept_before + clears_upto
    clear_pos = kept_before[clears] + np.arange(len(clears))
    total = int(kept.sum()) + len(clears)

    out_action = np.empty(total, dtype=np.int64)
    out_side = np.zeros(total, dtype=np.int64)
    out_price = np.zeros(total, dtype=np.int64)
    out_size = np.zeros(total, dtype=np.int64)
    out_seq = np.empty(total, dtype=np.uint64)
    out_ts = np.empty(total, dtype=np.int64)
    snapshot = np.zeros(total, dtype=bool)

    idx = np.flatnonzero(kept)
    pos = row_pos[idx]
    out_action[pos] = action[idx]
    out_side[pos] = side[idx]
    out_price[pos] = rows.price[idx]
    out_size[pos] = np.where(action[idx] == _DELETE, 0, size[idx])
    out_seq[pos] = rows.sequence[idx]
    out_ts[pos] = rows.ts[idx]
    snapshot[pos] = is_set[idx]

    out_action[clear_pos] = _CLEAR
    out_seq[clear_pos] = rows.sequence[clears]
    out_ts[clear_pos] = rows.ts[clears]
    snapshot[clear_pos] = True

    # A message ends where the time or the snapshot/update kind changes (and at the chunk end).
    last = np.ones(total, dtype=bool)
    last[:-1] = (out_ts[1:] != out_ts[:-1]) | (snapshot[1:] != snapshot[:-1])
    flags = np.where(last, _F_LAST, 0) | np.where(snapshot, _F_SNAPSHOT, 0)
    return BookDeltas(out_action, out_side, out_price, out_size, flags, out_seq, out_ts)


def _empty_deltas() -> BookDeltas:
    empty = np.empty(0, dtype=np.int64)
    return BookDeltas(empty, empty, empty, empty, empty, empty.astype(np.uint64), empty)


def message_boundary(ts: np.ndarray) -> int:
    """
    Where the last complete message of a chunk ends: the start of its trailing run of equal
    timestamps (a snapshot shares one timestamp, so it is never cut). 0 if none is complete.
    """
    if len(ts) == 0:
        return 0
    return int(np.searchsorted(ts, ts[-1], side="left"))
