"""Order diffing: turn the open orders into the target ladder with as few commands as possible.

Every order command costs the engine (and the venue's rate limit) far more than this arithmetic,
and a resting order that is kept keeps its queue priority, so the differ keeps whatever is still
good enough, amends where the venue allows it, and only then cancels and submits. Pure Python, no
nautilus imports: it is unit-tested without an engine and runs in the strategy's hot path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter

from strategies.pricing import round_size

__all__ = [
    "BUY",
    "SELL",
    "Amend",
    "LiveOrder",
    "Plan",
    "Target",
    "Tolerance",
    "cap_exposure",
    "diff_quotes",
    "split_batches",
    "uncovered_sell",
]

BUY = 1
SELL = -1

# Prices and sizes arrive as floats derived from tick arithmetic: 100.2 - 100.1 is
# 0.10000000000000853, which must still count as "within one tick of 0.1".
_REL_SLACK = 1e-9

_PRICE = attrgetter("price")
_PRICE_KEY = attrgetter("price", "key")


@dataclass(frozen=True, slots=True)
class LiveOrder:
    key: str  # client order id
    side: int  # BUY or SELL
    price: float  # intended price (the new price while an amend is in flight)
    size: float  # leaves (open) quantity
    pending: bool  # in flight: cannot be amended or cancelled again now
    closing: bool = False  # a cancel is in flight: it will go away, but may still fill


@dataclass(frozen=True, slots=True)
class Target:
    side: int
    price: float
    size: float


@dataclass(frozen=True, slots=True)
class Amend:
    key: str
    price: float
    size: float


@dataclass(slots=True)
class Plan:
    cancels: list[str]
    amends: list[Amend]
    submits: list[Target]

    @property
    def n_commands(self) -> int:
        return len(self.cancels) + len(self.amends) + len(self.submits)

    @property
    def empty(self) -> bool:
        return not (self.cancels or self.amends or self.submits)


@dataclass(frozen=True, slots=True)
class Tolerance:
    price: float  # absolute price distance within which a resting order is kept
    size_frac: float  # relative size difference (of the target size) within which it is kept


def diff_quotes(
    targets: Sequence[Target], live: Sequence[LiveOrder], tol: Tolerance, can_amend: bool
) -> Plan:
    """
    Commands that turn ``live`` into ``targets``, fewest first.

    Per side: (1) a target keeps a live order within ``tol`` (closest price first, maximum number
    of kept orders); pending orders take part at their intended price, so an in-flight submit is
    never duplicated, and closing orders take no part; (2) if ``can_amend``, remaining targets and
    remaining non-pending orders are paired, nearest price first, into amends; (3) remaining
    non-pending orders are cancelled and remaining targets submitted. Output is ordered by side
    (buys first), then best price first. Targets with a non-positive size are ignored.
    """
    cancels: list[str] = []
    amends: list[Amend] = []
    submits: list[Target] = []
    buy_t: list[Target] = []
    sell_t: list[Target] = []
    for t in targets:
        if t.size > 0.0:
            (buy_t if t.side == BUY else sell_t).append(t)
    buy_l: list[LiveOrder] = []
    sell_l: list[LiveOrder] = []
    for o in live:
        if not o.closing:
            (buy_l if o.side == BUY else sell_l).append(o)
    if buy_t or buy_l:
        _diff_side(True, buy_t, buy_l, tol, can_amend, cancels, amends, submits)
    if sell_t or sell_l:
        _diff_side(False, sell_t, sell_l, tol, can_amend, cancels, amends, submits)
    return Plan(cancels, amends, submits)


def _diff_side(
    is_buy: bool,
    ts: list[Target],
    ls: list[LiveOrder],
    tol: Tolerance,
    can_amend: bool,
    cancels: list[str],
    amends: list[Amend],
    submits: list[Target],
) -> None:
    # Best first: bids highest, asks lowest.
    if len(ts) > 1:
        ts.sort(key=_PRICE, reverse=is_buy)
    if len(ls) > 1:
        ls.sort(key=_PRICE_KEY, reverse=is_buy)
    price_tol = tol.price
    size_tol = tol.size_frac + _REL_SLACK
    if len(ts) == len(ls):
        # Steady state: level i still rests where target i wants it. Every order is then kept,
        # whatever a full matching would pair up, and the side needs no command.
        for t, o in zip(ts, ls, strict=True):
            tp = t.price
            lim = price_tol + _REL_SLACK * (tp if tp > 0.0 else -tp)
            d = o.price - tp
            if d > lim or d < -lim:
                break
            lim = size_tol * t.size
            d = o.size - t.size
            if d > lim or d < -lim:
                break
        else:
            return

    nt = len(ts)
    nl = len(ls)
    t_match = [-1] * nt
    l_match = [-1] * nl

    # (1) keep orders that are still good enough.
    if nt and nl:
        pairs = []
        for ti in range(nt):
            t = ts[ti]
            tp = t.price
            tsz = t.size
            ptol = price_tol + _REL_SLACK * (tp if tp > 0.0 else -tp)
            stol = size_tol * tsz
            for li in range(nl):
                o = ls[li]
                d = o.price - tp
                if d < 0.0:
                    d = -d
                if d <= ptol:
                    ds = o.size - tsz
                    if -stol <= ds <= stol:
                        pairs.append((d, ti, li))
        if pairs:
            if len(pairs) > 1:
                pairs.sort()
            matched = 0
            for _, ti, li in pairs:
                if t_match[ti] < 0 and l_match[li] < 0:
                    t_match[ti] = li
                    l_match[li] = ti
                    matched += 1
            if matched < nt and matched < nl and len(pairs) > matched:
                _augment_all(pairs, nt, t_match, l_match)

    # (2) amend what is left, nearest first; pending orders cannot be touched.
    amended_to: dict[int, int] = {}
    amended: set[int] = set()
    if can_amend:
        rem_t = [ti for ti in range(nt) if t_match[ti] < 0]
        if rem_t:
            rem_l = [li for li in range(nl) if l_match[li] < 0 and not ls[li].pending]
            if len(rem_l) == len(rem_t):
                # All of them move; indices are best-first on both sides, so zipping pairs level
                # i's order with level i's target.
                amended_to = dict(zip(rem_t, rem_l, strict=True))
                amended = set(rem_l)
            elif rem_l:
                pairs = []
                for ti in rem_t:
                    tp = ts[ti].price
                    for li in rem_l:
                        d = ls[li].price - tp
                        pairs.append((d if d >= 0.0 else -d, ti, li))
                pairs.sort()
                for _, ti, li in pairs:
                    if ti not in amended_to and li not in amended:
                        amended_to[ti] = li
                        amended.add(li)
                if len(amended) > 1:
                    # Nearest-first chose which orders move; pairing them in price order is no
                    # farther in total and keeps level i's order at level i instead of crossing a
                    # shifted ladder over itself (top target <- bottom order).
                    amended_to = dict(zip(sorted(amended_to), sorted(amended), strict=True))

    # (3) cancel and submit the rest, best price first.
    for li in range(nl):
        if l_match[li] < 0:
            o = ls[li]
            if not o.pending and li not in amended:
                cancels.append(o.key)
    for ti in range(nt):
        if t_match[ti] < 0:
            t = ts[ti]
            li = amended_to.get(ti)
            if li is None:
                submits.append(t)
            else:
                amends.append(Amend(ls[li].key, t.price, t.size))


def _augment_all(
    pairs: list[tuple[float, int, int]], nt: int, t_match: list[int], l_match: list[int]
) -> None:
    # The greedy closest-first pass can strand a target whose only candidate was taken by a target
    # that had another option; augmenting paths (Kuhn) recover the maximum number of kept orders,
    # i.e. the fewest commands, while the greedy pass decided the closeness preference.
    adj: list[list[int]] = [[] for _ in range(nt)]
    for _, ti, li in pairs:  # already sorted by distance
        adj[ti].append(li)
    for ti in range(nt):
        if t_match[ti] < 0 and adj[ti]:
            _augment(ti, adj, t_match, l_match, set())


def _augment(ti: int, adj: list[list[int]], t_match: list[int], l_match: list[int], seen) -> bool:
    for li in adj[ti]:
        if li in seen:
            continue
        seen.add(li)
        owner = l_match[li]
        if owner < 0 or _augment(owner, adj, t_match, l_match, seen):
            l_match[li] = ti
            t_match[ti] = li
            return True
    return False


def cap_exposure(
    plan: Plan,
    live: Sequence[LiveOrder],
    position: float,
    max_position: float,
    *,
    size_step: float = 0.0,
    min_size: float = 0.0,
    max_short: float | None = None,
) -> Plan:
    """
    Trim ``plan`` so the worst case stays within ``max_position`` on each side.

    Worst case on the buy side: ``position`` plus every buy that may still fill once the plan is
    sent: all live orders whatever their state (open, pending, closing, or cancelled by this very
    plan, because a cancel can lose the race to a fill), amended orders at the larger of their old
    and new size (an amend can lose that race too), and new submits. The sell side mirrors it
    against ``-max_short`` (default ``max_position``; 0 for a token that must never be sold
    short). Over the limit, new submits are shrunk or dropped deepest first, then amend size
    increases are shrunk deepest first. Exposure is never increased and no
    command is added; when the live orders alone are over the limit the plan cannot fix that
    (only cancels can, and choosing them is the strategy's call).

    ``size_step``/``min_size`` (keyword-only, optional) keep shrunk sizes on the venue's size grid;
    a shrunk order below ``min_size`` is dropped. An amend of an order missing from ``live`` is
    dropped: its side, hence its exposure, is unknown.
    """
    if not plan.amends and not plan.submits:
        return Plan(list(plan.cancels), [], [])
    by_key: dict[str, LiveOrder] = {}
    buy_fixed = 0.0
    sell_fixed = 0.0
    for o in live:
        by_key[o.key] = o
        if o.side == BUY:
            buy_fixed += o.size
        else:
            sell_fixed += o.size

    amends: list[Amend | None] = []
    amend_side: list[LiveOrder] = []
    buy_extra = 0.0
    sell_extra = 0.0
    for a in plan.amends:
        o = by_key.get(a.key)
        if o is None:
            continue
        amends.append(a)
        amend_side.append(o)
        if a.size > o.size:
            if o.side == BUY:
                buy_extra += a.size - o.size
            else:
                sell_extra += a.size - o.size
    submits: list[Target | None] = list(plan.submits)
    for t in plan.submits:
        if t.side == BUY:
            buy_extra += t.size
        else:
            sell_extra += t.size

    # Sizes are sums of floats: an excess of 1e-16 is noise, not a reason to drop a size step.
    slack = _REL_SLACK * (1.0 + abs(max_position))
    for side, fixed, extra, room in (
        (BUY, buy_fixed, buy_extra, max_position - position),
        (
            SELL,
            sell_fixed,
            sell_extra,
            (max_position if max_short is None else max_short) + position,
        ),
    ):
        excess = fixed + extra - room
        if extra > 0.0 and excess > slack:
            excess = _trim_submits(submits, side, excess, slack, size_step, min_size)
            if excess > slack:
                _trim_amends(amends, amend_side, side, excess, slack, size_step)

    return Plan(
        list(plan.cancels),
        [a for a in amends if a is not None],
        [t for t in submits if t is not None],
    )


def _trim_submits(
    submits: list[Target | None],
    side: int,
    excess: float,
    slack: float,
    size_step: float,
    min_size: float,
) -> float:
    # Deepest first: the quotes least likely to trade are the cheapest to give up.
    idx = [i for i, t in enumerate(submits) if t is not None and t.side == side]
    idx.sort(key=lambda i: side * submits[i].price)  # bids: lowest first; asks: highest first
    for i in idx:
        if excess <= slack:
            break
        t = submits[i]
        new = round_size(t.size - excess, size_step)
        if new <= 0.0 or new < min_size:
            submits[i] = None
            excess -= t.size
        else:
            submits[i] = Target(t.side, t.price, new)
            excess -= t.size - new
    return excess


def _trim_amends(
    amends: list[Amend | None],
    olds: list[LiveOrder],
    side: int,
    excess: float,
    slack: float,
    size_step: float,
) -> None:
    idx = [i for i, o in enumerate(olds) if o.side == side and amends[i].size > o.size]
    idx.sort(key=lambda i: side * amends[i].price)
    for i in idx:
        if excess <= slack:
            break
        a = amends[i]
        o = olds[i]
        increase = a.size - o.size
        if increase <= excess:
            new = o.size
        else:
            new = round_size(a.size - excess, size_step)
            if new < o.size:  # an off-grid old size: never shrink below what already rests
                new = o.size
        excess -= a.size - new
        if new == o.size and a.price == o.price:
            amends[i] = None  # nothing left to change
        else:
            amends[i] = Amend(a.key, a.price, new)


def split_batches[T](items: Sequence[T], max_batch: int) -> list[list[T]]:
    """Chunk ``items`` for a venue's batch limit, preserving order."""
    if max_batch < 1:
        raise ValueError(f"max_batch must be >= 1, got {max_batch!r}")
    n = len(items)
    if n <= max_batch:
        return [list(items)] if n else []
    return [list(items[i : i + max_batch]) for i in range(0, n, max_batch)]


def uncovered_sell(held: Decimal, resting_sells: Decimal, quantity: Decimal) -> Decimal:
    """
    How much of a sell of ``quantity`` is not covered by what is held, once the sells already
    resting are counted against the holding: 0 when covered. Outcome tokens cannot be owed, so a
    positive result is a naked sell to deny.
    """
    free = max(held - resting_sells, Decimal(0))
    return max(quantity - free, Decimal(0))
