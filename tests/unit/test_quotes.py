"""Order diffing and exposure capping: examples for the cases, hypothesis for the guarantees."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from strategies.quotes import BUY
from strategies.quotes import SELL
from strategies.quotes import Amend
from strategies.quotes import LiveOrder
from strategies.quotes import Plan
from strategies.quotes import Target
from strategies.quotes import Tolerance
from strategies.quotes import cap_exposure
from strategies.quotes import diff_quotes
from strategies.quotes import split_batches

TOL = Tolerance(price=0.1, size_frac=0.25)


def ladder(mid: float, n: int = 3, size: float = 1.0, tick: float = 0.1) -> list[Target]:
    bids = [Target(BUY, round(mid - (i + 1) * tick, 6), size) for i in range(n)]
    asks = [Target(SELL, round(mid + (i + 1) * tick, 6), size) for i in range(n)]
    return bids + asks


def resting(targets: list[Target], prefix: str = "o") -> list[LiveOrder]:
    return [
        LiveOrder(f"{prefix}{i}", t.side, t.price, t.size, False) for i, t in enumerate(targets)
    ]


def apply_plan(plan: Plan, live: list[LiveOrder]) -> list[LiveOrder]:
    """The live set once every command has been acknowledged."""
    cancelled = set(plan.cancels)
    amended = {a.key: a for a in plan.amends}
    out = []
    for o in live:
        if o.key in cancelled:
            continue
        a = amended.get(o.key)
        if a is not None:
            o = LiveOrder(o.key, o.side, a.price, a.size, False, o.closing)
        out.append(LiveOrder(o.key, o.side, o.price, o.size, False, o.closing))
    for i, t in enumerate(plan.submits):
        out.append(LiveOrder(f"new{i}", t.side, t.price, t.size, False))
    return out


def within(o: LiveOrder, t: Target, tol: Tolerance) -> bool:
    return (
        o.side == t.side
        and not o.closing
        and abs(o.price - t.price) <= tol.price + 1e-9 * abs(t.price)
        and abs(o.size - t.size) <= (tol.size_frac + 1e-9) * t.size
    )


def covers(targets: list[Target], orders: list[LiveOrder], tol: Tolerance) -> bool:
    """Every target has its own order within tolerance (maximum bipartite matching)."""
    owner: dict[int, int] = {}

    def augment(ti: int, seen: set[int]) -> bool:
        for li, o in enumerate(orders):
            if li in seen or not within(o, targets[ti], tol):
                continue
            seen.add(li)
            if li not in owner or augment(owner[li], seen):
                owner[li] = ti
                return True
        return False

    return all(augment(ti, set()) for ti in range(len(targets)))


def worst_case(live: list[LiveOrder], plan: Plan, position: float) -> tuple[float, float]:
    """Position if every buy (sell) that may still fill does: amends at max(old, new) size."""
    amended = {a.key: a for a in plan.amends}
    buys = sells = 0.0
    for o in live:
        size = o.size
        a = amended.get(o.key)
        if a is not None:
            size = max(size, a.size)
        if o.side == BUY:
            buys += size
        else:
            sells += size
    for t in plan.submits:
        if t.side == BUY:
            buys += t.size
        else:
            sells += t.size
    return position + buys, position - sells


# --- diff_quotes examples ---------------------------------------------------------------------


def test_identical_ladder_is_empty_plan():
    targets = ladder(100.0)
    plan = diff_quotes(targets, resting(targets), TOL, can_amend=True)
    assert plan.empty
    assert plan.n_commands == 0


def test_within_tolerance_is_empty_plan():
    targets = ladder(100.0, size=1.0)
    live = [LiveOrder(f"o{i}", t.side, t.price, t.size, False) for i, t in enumerate(targets)]
    # One tick off and 20 % smaller: still good enough to keep the queue position.
    live[0] = LiveOrder("o0", BUY, round(live[0].price - 0.1, 6), 0.8, False)
    live[3] = LiveOrder("o3", SELL, round(live[3].price + 0.1, 6), 1.25, False)
    assert diff_quotes(targets, live, TOL, can_amend=True).empty
    assert diff_quotes(targets, live, TOL, can_amend=False).empty


def test_moved_ladder_amends_only():
    live = resting(ladder(100.0))
    targets = ladder(101.0)
    plan = diff_quotes(targets, live, TOL, can_amend=True)
    assert plan.cancels == []
    assert plan.submits == []
    assert len(plan.amends) == 6
    # Level i's order becomes level i: no crossing of the ladder over itself.
    assert plan.amends[:3] == [
        Amend("o0", 100.9, 1.0),
        Amend("o1", 100.8, 1.0),
        Amend("o2", 100.7, 1.0),
    ]
    assert plan.amends[3:] == [
        Amend("o3", 101.1, 1.0),
        Amend("o4", 101.2, 1.0),
        Amend("o5", 101.3, 1.0),
    ]


def test_moved_ladder_without_amend_cancels_and_submits():
    live = resting(ladder(100.0))
    targets = ladder(101.0)
    plan = diff_quotes(targets, live, TOL, can_amend=False)
    assert plan.amends == []
    assert sorted(plan.cancels) == [o.key for o in live]
    assert plan.submits == targets


def test_small_shift_keeps_overlapping_levels():
    # Up two ticks: bids 99.9/99.8/99.7 -> 100.1/100.0/99.9, so the old 99.9 is kept as-is.
    live = resting(ladder(100.0))
    targets = ladder(100.2)
    plan = diff_quotes(targets, live, TOL, can_amend=False)
    assert plan.n_commands < 12
    assert covers(targets, apply_plan(plan, live), TOL)


def test_size_change_beyond_tolerance_is_amended():
    targets = [Target(BUY, 99.9, 2.0)]
    live = [LiveOrder("a", BUY, 99.9, 1.0, False)]
    plan = diff_quotes(targets, live, TOL, can_amend=True)
    assert plan == Plan([], [Amend("a", 99.9, 2.0)], [])


def test_extra_and_missing_levels():
    targets = ladder(100.0, n=2)
    live = resting(ladder(100.0, n=3))
    plan = diff_quotes(targets, live, TOL, can_amend=True)
    assert plan == Plan(["o2", "o5"], [], [])
    plan = diff_quotes(ladder(100.0, n=3), resting(targets), TOL, can_amend=True)
    assert plan.submits == [Target(BUY, 99.7, 1.0), Target(SELL, 100.3, 1.0)]
    assert plan.n_commands == 2


def test_pending_order_is_never_duplicated_nor_touched():
    targets = [Target(BUY, 99.9, 1.0), Target(SELL, 100.1, 1.0)]
    live = [
        LiveOrder("b", BUY, 99.9, 1.0, True),  # submit in flight, at the target
        LiveOrder("s", SELL, 105.0, 1.0, True),  # in flight, far from the target
    ]
    plan = diff_quotes(targets, live, TOL, can_amend=True)
    # The bid is covered by its in-flight order; the far ask cannot be amended or cancelled, so the
    # target ask is submitted fresh.
    assert plan == Plan([], [], [Target(SELL, 100.1, 1.0)])


def test_closing_orders_are_ignored():
    targets = [Target(BUY, 99.9, 1.0)]
    live = [LiveOrder("c", BUY, 99.9, 1.0, True, closing=True)]
    plan = diff_quotes(targets, live, TOL, can_amend=True)
    assert plan == Plan([], [], [Target(BUY, 99.9, 1.0)])
    # A closing order that is not (yet) flagged pending is still never cancelled again.
    live = [LiveOrder("c", BUY, 95.0, 1.0, False, closing=True)]
    assert diff_quotes([], live, TOL, can_amend=True).empty


def test_keeps_the_maximum_number_of_orders():
    # Greedy closest-first would give 100.4 to the 100 target and strand the 101 target; the
    # augmenting pass moves 100 onto 99.5 so nothing needs a command.
    tol = Tolerance(price=0.6, size_frac=0.0)
    targets = [Target(BUY, 101.0, 1.0), Target(BUY, 100.0, 1.0)]
    live = [LiveOrder("x", BUY, 100.4, 1.0, False), LiveOrder("y", BUY, 99.5, 1.0, False)]
    assert diff_quotes(targets, live, tol, can_amend=True).empty


def test_closest_order_is_kept():
    targets = [Target(SELL, 100.0, 1.0)]
    live = [LiveOrder("far", SELL, 100.1, 1.0, False), LiveOrder("near", SELL, 100.0, 1.0, False)]
    assert diff_quotes(targets, live, TOL, can_amend=True) == Plan(["far"], [], [])


def test_output_is_deterministic_best_price_first():
    targets = list(reversed(ladder(100.0)))
    plan = diff_quotes(targets, [], TOL, can_amend=True)
    assert [t.price for t in plan.submits] == [99.9, 99.8, 99.7, 100.1, 100.2, 100.3]
    live = list(reversed(resting(ladder(100.0))))
    plan = diff_quotes([], live, TOL, can_amend=True)
    assert plan.cancels == ["o0", "o1", "o2", "o3", "o4", "o5"]


def test_empty_inputs():
    assert diff_quotes([], [], TOL, can_amend=True).empty


# --- diff_quotes properties -------------------------------------------------------------------

TICK = 0.5


@st.composite
def side_targets(draw, side: int) -> list[Target]:
    ks = sorted(draw(st.sets(st.integers(190, 210), max_size=5)), reverse=side == BUY)
    sizes = st.sampled_from([1.0, 1.5, 2.0, 3.0])
    return [Target(side, k * TICK, draw(sizes)) for k in ks]


@st.composite
def live_orders(draw) -> list[LiveOrder]:
    n = draw(st.integers(0, 10))
    out = []
    for i in range(n):
        pending = draw(st.integers(0, 3)) == 0
        closing = pending and draw(st.booleans())
        out.append(
            LiveOrder(
                key=f"k{i}",
                side=draw(st.sampled_from([BUY, SELL])),
                price=draw(st.integers(185, 215)) * TICK,
                size=draw(st.sampled_from([0.5, 1.0, 1.2, 1.5, 2.0, 3.0])),
                pending=pending,
                closing=closing,
            )
        )
    return out


@st.composite
def diff_cases(draw):
    targets = draw(side_targets(BUY)) + draw(side_targets(SELL))
    live = draw(live_orders())
    tol = Tolerance(
        price=draw(st.sampled_from([0.0, TICK, 2 * TICK])),
        size_frac=draw(st.sampled_from([0.0, 0.25, 0.5])),
    )
    return targets, live, tol


@settings(max_examples=200)
@given(case=diff_cases(), can_amend=st.booleans())
def test_plan_reaches_the_targets(case, can_amend):
    targets, live, tol = case
    plan = diff_quotes(targets, live, tol, can_amend)
    after = apply_plan(plan, live)
    assert covers(targets, after, tol)

    touchable = {o.key for o in live if not o.pending and not o.closing}
    assert plan.n_commands <= len(targets) + len(touchable)
    # Pending and closing orders are never amended or cancelled; nothing is touched twice.
    assert set(plan.cancels) <= touchable
    assert {a.key for a in plan.amends} <= touchable
    assert len(set(plan.cancels)) == len(plan.cancels)
    assert len({a.key for a in plan.amends}) == len(plan.amends)
    assert not set(plan.cancels) & {a.key for a in plan.amends}
    if not can_amend:
        assert plan.amends == []
    # An amend never moves an order to the other side of the book.
    side_of = {o.key: o.side for o in live}
    for a in plan.amends:
        assert any(
            t.side == side_of[a.key] and t.price == a.price and t.size == a.size for t in targets
        )

    # Once acknowledged, a second pass has nothing left to do except cancel orders that were
    # in flight (untouchable) the first time round.
    again = diff_quotes(targets, after, tol, can_amend)
    assert again.amends == []
    assert again.submits == []
    was_pending = {o.key for o in live if o.pending}
    assert set(again.cancels) <= was_pending


@settings(max_examples=200)
@given(case=diff_cases(), can_amend=st.booleans(), seed=st.randoms(use_true_random=False))
def test_plan_is_independent_of_input_order(case, can_amend, seed):
    targets, live, tol = case
    plan = diff_quotes(targets, live, tol, can_amend)
    targets2, live2 = list(targets), list(live)
    seed.shuffle(targets2)
    seed.shuffle(live2)
    assert diff_quotes(targets2, live2, tol, can_amend) == plan


@settings(max_examples=200)
@given(case=diff_cases())
def test_amending_never_costs_more_commands(case):
    targets, live, tol = case
    with_amend = diff_quotes(targets, live, tol, can_amend=True)
    without = diff_quotes(targets, live, tol, can_amend=False)
    assert with_amend.n_commands <= without.n_commands
    # Keeping a resting order does not depend on the venue's amend support.
    assert len(with_amend.submits) <= len(without.submits)


@settings(max_examples=200)
@given(targets=st.builds(lambda b, s: b + s, side_targets(BUY), side_targets(SELL)))
def test_pending_at_target_is_not_resubmitted(targets):
    live = [LiveOrder(f"p{i}", t.side, t.price, t.size, True) for i, t in enumerate(targets)]
    assert diff_quotes(targets, live, TOL, can_amend=True).empty
    assert diff_quotes(targets, live, TOL, can_amend=False).empty


# --- cap_exposure -----------------------------------------------------------------------------


def test_cap_within_limit_is_unchanged():
    live = [LiveOrder("a", BUY, 99.0, 1.0, False)]
    plan = Plan([], [Amend("a", 99.5, 1.0)], [Target(BUY, 98.0, 1.0), Target(SELL, 101.0, 1.0)])
    assert cap_exposure(plan, live, position=0.0, max_position=2.0) == plan


def test_cap_drops_deepest_submit_first():
    plan = Plan(
        [],
        [],
        [Target(BUY, 99.0, 1.0), Target(BUY, 98.0, 1.0), Target(BUY, 97.0, 1.0)],
    )
    capped = cap_exposure(plan, [], position=0.0, max_position=2.0)
    assert capped.submits == [Target(BUY, 99.0, 1.0), Target(BUY, 98.0, 1.0)]
    capped = cap_exposure(plan, [], position=0.5, max_position=2.0)
    assert capped.submits == [Target(BUY, 99.0, 1.0), Target(BUY, 98.0, 0.5)]
    # Sells mirror it: deepest = highest.
    plan = Plan([], [], [Target(SELL, 101.0, 1.0), Target(SELL, 102.0, 1.0)])
    capped = cap_exposure(plan, [], position=-1.5, max_position=2.0)
    assert capped.submits == [Target(SELL, 101.0, 0.5)]


def test_cap_max_short_zero_sells_only_held_inventory():
    # A binary-option token: 1.5 held, a live sell of 1.0 being cancelled may still fill.
    live = [LiveOrder("old", SELL, 0.60, 1.0, pending=True, closing=True)]
    plan = Plan([], [], [Target(SELL, 0.58, 1.0), Target(SELL, 0.59, 1.0)])
    capped = cap_exposure(plan, live, position=1.5, max_position=10.0, max_short=0.0)
    assert capped.submits == [Target(SELL, 0.58, 0.5)]
    assert cap_exposure(plan, live, position=0.0, max_position=10.0, max_short=0.0).submits == []
    # Buys keep the symmetric limit.
    buys = Plan([], [], [Target(BUY, 0.55, 4.0)])
    assert cap_exposure(buys, [], position=1.5, max_position=10.0, max_short=0.0) == buys


def test_cap_counts_orders_being_cancelled_and_in_flight():
    live = [
        LiveOrder("old", BUY, 95.0, 1.0, False),  # cancelled by the plan: may still fill
        LiveOrder("inflight", BUY, 96.0, 0.5, True),
        LiveOrder("closing", BUY, 94.0, 0.25, True, closing=True),
    ]
    plan = Plan(["old"], [], [Target(BUY, 99.0, 1.0)])
    capped = cap_exposure(plan, live, position=0.0, max_position=2.0)
    assert capped == Plan(["old"], [], [Target(BUY, 99.0, 0.25)])


def test_cap_size_grid_and_min_size():
    plan = Plan([], [], [Target(BUY, 99.0, 1.0)])
    capped = cap_exposure(plan, [], position=0.0, max_position=0.37, size_step=0.1)
    assert capped.submits == [Target(BUY, 99.0, 0.3)]
    capped = cap_exposure(plan, [], position=0.0, max_position=0.37, size_step=0.1, min_size=0.5)
    assert capped.submits == []


def test_cap_shrinks_amend_increases_after_submits():
    live = [LiveOrder("a", BUY, 99.0, 1.0, False), LiveOrder("b", BUY, 98.0, 1.0, False)]
    plan = Plan([], [Amend("a", 99.5, 2.0), Amend("b", 98.0, 2.0)], [Target(BUY, 97.0, 1.0)])
    capped = cap_exposure(plan, live, position=0.0, max_position=2.5)
    # Room 2.5, live 2: the submit goes, then the deepest increase (b) goes and a's shrinks.
    assert capped.submits == []
    assert capped.amends == [Amend("a", 99.5, 1.5)]  # b's amend became a no-op: dropped


def test_cap_counts_amend_decrease_at_old_size():
    # Shrinking "a" does not make room for a new order until the shrink is acknowledged: the old
    # size may fill first.
    live = [LiveOrder("a", BUY, 99.0, 2.0, False)]
    plan = Plan([], [Amend("a", 99.0, 1.0)], [Target(BUY, 98.0, 1.0)])
    capped = cap_exposure(plan, live, position=0.0, max_position=2.0)
    assert capped == Plan([], [Amend("a", 99.0, 1.0)], [])


def test_cap_over_limit_never_adds_exposure():
    live = [LiveOrder("a", BUY, 99.0, 1.0, False), LiveOrder("s", SELL, 101.0, 1.0, False)]
    plan = Plan(["a"], [Amend("s", 101.5, 1.0)], [Target(BUY, 98.0, 1.0), Target(SELL, 102.0, 1.0)])
    capped = cap_exposure(plan, live, position=5.0, max_position=4.0)
    assert capped == Plan(["a"], [Amend("s", 101.5, 1.0)], [Target(SELL, 102.0, 1.0)])


def test_cap_drops_amend_of_unknown_order():
    plan = Plan([], [Amend("ghost", 99.0, 1.0)], [])
    assert cap_exposure(plan, [], position=0.0, max_position=10.0) == Plan([], [], [])


@settings(max_examples=200)
@given(
    case=diff_cases(),
    can_amend=st.booleans(),
    position=st.floats(-6.0, 6.0),
    max_position=st.floats(0.0, 15.0),
    step=st.sampled_from([0.0, 0.1, 0.5]),
)
def test_cap_keeps_worst_case_within_limit(case, can_amend, position, max_position, step):
    targets, live, tol = case
    plan = diff_quotes(targets, live, tol, can_amend)
    capped = cap_exposure(plan, live, position, max_position, size_step=step)
    slack = 1e-9 * (1 + max_position)

    long_before, short_before = worst_case(live, Plan([], [], []), position)
    long_after, short_after = worst_case(live, capped, position)
    long_planned, short_planned = worst_case(live, plan, position)
    if long_before <= max_position:
        assert long_after <= max_position + slack
    if short_before >= -max_position:
        assert short_after >= -max_position - slack
    # Never more exposure than before or than planned.
    assert long_after <= max(long_before, long_planned) + slack
    assert short_after >= min(short_before, short_planned) - slack

    # Never adds commands or changes prices; only removes or shrinks.
    assert capped.n_commands <= plan.n_commands
    assert capped.cancels == plan.cancels
    planned = {a.key: a for a in plan.amends}
    for a in capped.amends:
        assert a.price == planned[a.key].price
        assert a.size <= planned[a.key].size
    remaining = list(plan.submits)
    for t in capped.submits:
        match = next(s for s in remaining if s.side == t.side and s.price == t.price)
        assert 0 < t.size <= match.size
        remaining.remove(match)


# --- split_batches ----------------------------------------------------------------------------


def test_split_batches():
    assert split_batches([], 10) == []
    assert split_batches([1, 2, 3], 10) == [[1, 2, 3]]
    assert split_batches(list(range(20)), 10) == [list(range(10)), list(range(10, 20))]
    assert split_batches(list(range(16)), 15) == [list(range(15)), [15]]
    assert split_batches(("a", "b", "c"), 1) == [["a"], ["b"], ["c"]]
    with pytest.raises(ValueError, match="max_batch"):
        split_batches([1], 0)


@settings(max_examples=100)
@given(items=st.lists(st.integers()), n=st.integers(1, 20))
def test_split_batches_preserves_items(items, n):
    batches = split_batches(items, n)
    assert [x for b in batches for x in b] == items
    assert all(1 <= len(b) <= n for b in batches)
