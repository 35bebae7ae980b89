"""Pure quoting maths: examples for the edge cases, hypothesis for the ladder's invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from strategies.pricing import InstrumentSpec
from strategies.pricing import Ladder
from strategies.pricing import LadderParams
from strategies.pricing import Quote
from strategies.pricing import build_ladder
from strategies.pricing import ewma_variance
from strategies.pricing import half_spread
from strategies.pricing import microprice
from strategies.pricing import mid_price
from strategies.pricing import reservation_price
from strategies.pricing import round_ask
from strategies.pricing import round_bid
from strategies.pricing import round_size

NAN = float("nan")
PERP = InstrumentSpec(tick=0.1, size_step=0.001, min_size=0.001)
BINARY = InstrumentSpec(tick=0.01, size_step=1.0, min_size=5.0, min_price=0.01, max_price=0.99)


def on_grid(x: float, unit: float) -> bool:
    return abs(x / unit - round(x / unit)) < 1e-6


def check_ladder(ladder: Ladder, spec: InstrumentSpec) -> None:
    """Invariants every ladder must satisfy whatever the inputs."""
    for a, b in zip(ladder.bids, ladder.bids[1:], strict=False):
        assert a.price > b.price
    for a, b in zip(ladder.asks, ladder.asks[1:], strict=False):
        assert a.price < b.price
    if ladder.bids and ladder.asks:
        assert ladder.bids[0].price < ladder.asks[0].price
    for q in ladder.bids + ladder.asks:
        assert q.price > 0
        assert on_grid(q.price, spec.tick), q
        assert q.size > 0
        assert q.size >= spec.min_size
        if spec.size_step > 0:
            assert on_grid(q.size, spec.size_step), q
        if spec.min_price is not None:
            assert q.price >= spec.min_price - 1e-12
        if spec.max_price is not None:
            assert q.price <= spec.max_price + 1e-12


# --- scalar helpers ---------------------------------------------------------------------------


def test_mid_and_microprice():
    assert mid_price(100.0, 101.0) == 100.5
    # A heavy bid queue pulls the fair value towards the ask.
    assert microprice(100.0, 9.0, 101.0, 1.0) == pytest.approx(100.9)
    assert microprice(100.0, 1.0, 101.0, 9.0) == pytest.approx(100.1)
    assert microprice(100.0, 0.0, 101.0, 0.0) == 100.5


@settings(max_examples=200)
@given(
    bid=st.floats(1e-3, 1e6),
    spread=st.floats(0.0, 1e3),
    bid_size=st.floats(0.0, 1e6),
    ask_size=st.floats(0.0, 1e6),
)
def test_microprice_between_bid_and_ask(bid, spread, bid_size, ask_size):
    ask = bid + spread
    m = microprice(bid, bid_size, ask, ask_size)
    eps = 1e-12 * ask
    assert bid - eps <= m <= ask + eps


def test_ewma_converges_to_constant_variance():
    # Returns of +-r every dt seconds have per-second variance r*r/dt.
    r, dt = 1e-4, 0.1
    var = 0.0
    for i in range(2000):
        var = ewma_variance(var, r if i % 2 else -r, dt, halflife_s=5.0)
    assert var == pytest.approx(r * r / dt, rel=1e-9)


def test_ewma_time_weighting_and_edges():
    # One half-life of data moves the estimate half way.
    assert ewma_variance(0.0, 1.0, 2.0, 2.0) == pytest.approx(0.5 * 1.0 / 2.0)
    # Same timestamp: no update, and no division by zero.
    assert ewma_variance(3.0, 0.5, 0.0, 10.0) == 3.0
    # dt is floored at 1 ms when turning r*r into a rate.
    v = ewma_variance(0.0, 1e-3, 1e-9, 1e-9)
    assert math.isfinite(v)
    assert v == pytest.approx(0.5 * 1e-6 / 1e-3)
    # No memory with a non-positive half-life.
    assert ewma_variance(5.0, 0.1, 1.0, 0.0) == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("price", "tick", "bid", "ask"),
    [
        (0.3, 0.1, 0.3, 0.3),  # 0.3 / 0.1 == 2.9999999999999996
        (0.1 + 0.2, 0.1, 0.3, 0.3),  # 0.30000000000000004
        (94000.1, 0.1, 94000.1, 94000.1),
        (94000.15, 0.1, 94000.1, 94000.2),
        (94000.0 + 0.1, 0.1, 94000.1, 94000.1),
        (0.7, 0.01, 0.7, 0.7),
        (1.005, 0.01, 1.0, 1.01),
        (0.57, 0.01, 0.57, 0.57),  # 0.57 / 0.01 == 56.99999999999999
        (123.456, 0.25, 123.25, 123.5),
        (3.0, 1.0, 3.0, 3.0),
        (1e-7 * 3, 1e-7, 3e-7, 3e-7),
    ],
)
def test_round_price_float_noise(price, tick, bid, ask):
    assert round_bid(price, tick) == bid
    assert round_ask(price, tick) == ask


def test_rounded_prices_are_canonical_floats():
    # 940001 * 0.1 == 94000.09999999999 in binary; the result must be the float for "94000.1".
    assert round_bid(94000.1000001, 0.1) == 94000.1
    assert repr(round_ask(94000.05, 0.1)) == "94000.1"
    assert repr(round_bid(0.29, 0.01)) == "0.29"


def test_round_size():
    assert round_size(0.3, 0.1) == 0.3
    assert round_size(0.35, 0.1) == 0.3
    assert round_size(0.0299, 0.001) == 0.029
    assert round_size(7.9, 1.0) == 7.0
    assert round_size(-1.0, 0.1) == 0.0
    assert round_size(0.123, 0.0) == 0.123  # no grid


@settings(max_examples=200)
@given(
    k=st.integers(-(10**9), 10**9),
    tick=st.sampled_from([1e-4, 0.001, 0.01, 0.1, 0.25, 0.5, 1.0, 5.0]),
    noise=st.floats(-1e-13, 1e-13),  # float noise: a few hundred ulps at most
)
def test_round_on_grid_is_identity(k, tick, noise):
    price = k * tick * (1 + noise)
    assert round_bid(price, tick) == round_ask(price, tick)
    assert on_grid(round_bid(price, tick), tick)


@settings(max_examples=200)
@given(
    # Up to 1e9 ticks: beyond that float division alone is ~1e-6 of a tick off.
    price=st.floats(1e-3, 1e5),
    tick=st.sampled_from([1e-4, 0.001, 0.01, 0.1, 0.25, 0.5, 1.0, 5.0]),
)
def test_round_bid_ask_bracket(price, tick):
    b, a = round_bid(price, tick), round_ask(price, tick)
    slack = 1e-9 * tick + 1e-12 * price
    assert b <= price + slack
    assert a >= price - slack
    assert a - b <= tick * (1 + 1e-6)
    assert on_grid(b, tick)
    assert on_grid(a, tick)


def test_reservation_price_skews_against_inventory():
    p = LadderParams(order_size=1.0, max_position=10.0, risk_aversion=0.5, horizon_s=2.0)
    sigma = 0.01
    assert reservation_price(100.0, 0.0, sigma, p) == 100.0
    # 2 units long: 100 * (1 - 2 * 0.5 * 1e-4 * 2)
    assert reservation_price(100.0, 2.0, sigma, p) == pytest.approx(99.98)
    assert reservation_price(100.0, -2.0, sigma, p) == pytest.approx(100.02)


def test_half_spread_terms_and_floor():
    spec = InstrumentSpec(tick=0.5, size_step=1.0, min_size=0.0)
    p = LadderParams(order_size=1.0, max_position=1.0, min_half_spread_ticks=2.0)
    assert half_spread(100.0, 0.0, spec, p) == 1.0  # floor: 2 ticks
    p = LadderParams(
        order_size=1.0,
        max_position=1.0,
        min_half_spread_ticks=0.0,
        half_spread_bps=10.0,
        vol_multiplier=2.0,
        risk_aversion=1.0,
        horizon_s=4.0,
    )
    # 10 bps + 2 * 0.01 * 2 + 0.5 * 1 * 1e-4 * 4 of 1000
    assert half_spread(1000.0, 0.01, spec, p) == pytest.approx(1.0 + 40.0 + 0.2)
    p = LadderParams(order_size=1.0, max_position=1.0, min_half_spread_ticks=0.0)
    assert half_spread(1000.0, 0.0, spec, p) == 0.25  # never below half a tick


def test_spec_and_params_validation():
    with pytest.raises(ValueError, match="tick"):
        InstrumentSpec(tick=0.0, size_step=1.0, min_size=0.0)
    with pytest.raises(ValueError, match="min_price"):
        InstrumentSpec(tick=0.01, size_step=1.0, min_size=0.0, min_price=0.9, max_price=0.1)
    with pytest.raises(ValueError, match="order_size"):
        LadderParams(order_size=0.0, max_position=1.0)
    with pytest.raises(ValueError, match="risk_aversion"):
        LadderParams(order_size=1.0, max_position=1.0, risk_aversion=-1.0)


# --- build_ladder examples --------------------------------------------------------------------


def test_basic_symmetric_ladder():
    p = LadderParams(order_size=0.01, max_position=1.0, levels=3, min_half_spread_ticks=2.0)
    lad = build_ladder(94000.05, 0.0, 0.0, 94000.0, 94000.1, PERP, p)
    assert [q.price for q in lad.bids] == [93999.8, 93999.7, 93999.6]
    assert [q.price for q in lad.asks] == [94000.3, 94000.4, 94000.5]
    assert all(q.size == 0.01 for q in lad.bids + lad.asks)


def test_size_growth_and_min_size():
    spec = InstrumentSpec(tick=1.0, size_step=1.0, min_size=3.0)
    p = LadderParams(order_size=2.0, max_position=100.0, levels=3, size_growth=2.0)
    lad = build_ladder(100.0, 0.0, 0.0, NAN, NAN, spec, p)
    # Level 0 (2 < min 3) is dropped; levels 1 and 2 keep their own distance.
    assert lad.bids == (Quote(98.0, 4.0), Quote(97.0, 8.0))
    assert lad.asks == (Quote(102.0, 4.0), Quote(103.0, 8.0))


def test_position_room_trims_then_drops():
    spec = InstrumentSpec(tick=1.0, size_step=1.0, min_size=1.0)
    p = LadderParams(order_size=2.0, max_position=5.0, levels=4)
    lad = build_ladder(100.0, 0.0, 2.0, NAN, NAN, spec, p)
    assert [q.size for q in lad.bids] == [2.0, 1.0]  # room 3: 2 + trimmed 1, rest dropped
    assert [q.size for q in lad.asks] == [2.0, 2.0, 2.0, 1.0]  # room 7
    lad = build_ladder(100.0, 0.0, 5.0, NAN, NAN, spec, p)
    assert lad.bids == ()  # at the limit: no bids
    lad = build_ladder(100.0, 0.0, 9.0, NAN, NAN, spec, p)
    assert lad.bids == ()


def test_post_only_clamp_pushes_deeper_levels():
    spec = InstrumentSpec(tick=1.0, size_step=1.0, min_size=0.0)
    p = LadderParams(order_size=1.0, max_position=10.0, levels=3, min_half_spread_ticks=1.0)
    # Fair far above a book whose ask is 95: bids must stay at <= 94 and stay distinct.
    lad = build_ladder(100.0, 0.0, 0.0, 94.0, 95.0, spec, p)
    assert [q.price for q in lad.bids] == [94.0, 93.0, 92.0]
    assert [q.price for q in lad.asks] == [101.0, 102.0, 103.0]
    # Without post_only the bids sit on the reservation price.
    lad = build_ladder(100.0, 0.0, 0.0, 94.0, 95.0, spec, _replace(p, post_only=False))
    assert [q.price for q in lad.bids] == [99.0, 98.0, 97.0]


def test_zero_spacing_levels_are_still_distinct():
    spec = InstrumentSpec(tick=0.5, size_step=1.0, min_size=0.0)
    p = LadderParams(order_size=1.0, max_position=10.0, levels=3, level_spacing_ticks=0.0)
    lad = build_ladder(100.0, 0.0, 0.0, NAN, NAN, spec, p)
    assert [q.price for q in lad.bids] == [99.5, 99.0, 98.5]
    assert [q.price for q in lad.asks] == [100.5, 101.0, 101.5]


def test_empty_book_side_skips_clamp():
    spec = InstrumentSpec(tick=1.0, size_step=1.0, min_size=0.0)
    p = LadderParams(order_size=1.0, max_position=10.0)
    lad = build_ladder(100.0, 0.0, 0.0, NAN, 95.0, spec, p)
    assert lad.bids[0].price == 94.0
    assert lad.asks[0].price == 101.0
    lad = build_ladder(100.0, 0.0, 0.0, 105.0, NAN, spec, p)
    assert lad.asks[0].price == 106.0
    assert lad.bids[0].price == 99.0


def test_binary_bounds():
    p = LadderParams(order_size=10.0, max_position=100.0, levels=3)
    # Near 1: asks above 0.99 are dropped, bids stay.
    lad = build_ladder(0.985, 0.0, 0.0, 0.98, 0.99, BINARY, p)
    assert lad.asks == ()
    assert [q.price for q in lad.bids] == [0.97, 0.96, 0.95]
    # Near 0: bids below 0.01 are dropped.
    lad = build_ladder(0.015, 0.0, 0.0, 0.01, 0.02, BINARY, p)
    assert [q.price for q in lad.bids] == []
    assert [q.price for q in lad.asks] == [0.03, 0.04, 0.05]
    # Deep levels stop at the bound.
    lad = build_ladder(0.025, 0.0, 0.0, NAN, NAN, BINARY, p)
    assert [q.price for q in lad.bids] == [0.01]
    check_ladder(lad, BINARY)


def test_binary_clamp_onto_bound():
    p = LadderParams(order_size=10.0, max_position=100.0, levels=2, post_only=False)
    # Fair above 1 (a stale or wrong fair): bids that would sit above max_price are clamped onto
    # it and pushed apart; the asks all fall outside and are dropped.
    lad = build_ladder(1.2, 0.0, 0.0, NAN, NAN, BINARY, p)
    assert [q.price for q in lad.bids] == [0.99, 0.98]
    assert lad.asks == ()
    # Mirror image: a long position skews r below zero; asks are clamped up onto min_price.
    skewed = _replace(p, risk_aversion=1.0, horizon_s=1.0)
    assert reservation_price(0.02, 100.0, 0.5, skewed) < 0
    lad = build_ladder(0.02, 0.5, 100.0, NAN, NAN, BINARY, skewed)
    assert lad.bids == ()
    assert [q.price for q in lad.asks] == [0.01, 0.02]


def test_broken_inputs_give_empty_ladder():
    p = LadderParams(order_size=1.0, max_position=10.0)
    for fair, sigma, inv in [(NAN, 0.0, 0.0), (100.0, NAN, 0.0), (100.0, 0.0, NAN), (0.0, 0, 0)]:
        assert build_ladder(fair, sigma, inv, NAN, NAN, PERP, p) == Ladder((), ())
    assert build_ladder(100.0, 0.0, 0.0, NAN, NAN, PERP, _replace(p, levels=0)) == Ladder((), ())


def _replace(params: LadderParams, **kw) -> LadderParams:
    from dataclasses import replace

    return replace(params, **kw)


# --- build_ladder properties ------------------------------------------------------------------

TICKS = st.sampled_from([1e-4, 0.001, 0.01, 0.1, 0.25, 0.5, 1.0])


@st.composite
def specs(draw) -> InstrumentSpec:
    tick = draw(TICKS)
    step = draw(st.sampled_from([0.0, 0.001, 0.01, 0.1, 1.0]))
    min_size = draw(st.sampled_from([0.0, step, 2 * step, 5 * step]))
    return InstrumentSpec(tick=tick, size_step=step, min_size=min_size)


@st.composite
def params(draw, order_size: float | None = None) -> LadderParams:
    return LadderParams(
        order_size=order_size or draw(st.sampled_from([0.001, 0.01, 0.1, 1.0, 3.0, 10.0])),
        max_position=draw(st.floats(0.0, 100.0)),
        levels=draw(st.integers(1, 5)),
        level_spacing_ticks=draw(st.floats(0.0, 5.0)),
        min_half_spread_ticks=draw(st.floats(0.0, 5.0)),
        half_spread_bps=draw(st.floats(0.0, 50.0)),
        vol_multiplier=draw(st.floats(0.0, 5.0)),
        risk_aversion=draw(st.floats(0.0, 2.0)),
        horizon_s=draw(st.floats(0.0, 30.0)),
        size_growth=draw(st.floats(0.5, 2.0)),
        post_only=draw(st.booleans()),
    )


@st.composite
def books(draw, tick: float, fair_ticks: int) -> tuple[float, float]:
    """A valid book (bid < ask) near fair, either side possibly empty (NaN)."""
    bid_k = fair_ticks + draw(st.integers(-50, 10))
    ask_k = bid_k + draw(st.integers(1, 20))
    bid = round(bid_k * tick, 10)
    ask = round(ask_k * tick, 10)
    if draw(st.integers(0, 9)) == 0:
        bid = NAN
    if draw(st.integers(0, 9)) == 0:
        ask = NAN
    if bid_k <= 0:
        bid = NAN
    return bid, ask


@st.composite
def scenarios(draw):
    spec = draw(specs())
    p = draw(params())
    fair_ticks = draw(st.integers(20, 2_000_000))
    fair = fair_ticks * spec.tick + draw(st.floats(0.0, 1.0)) * spec.tick
    bid, ask = draw(books(spec.tick, fair_ticks))
    sigma = draw(st.floats(0.0, 0.01))
    inventory = draw(st.floats(-150.0, 150.0))
    return spec, p, fair, sigma, inventory, bid, ask


@settings(max_examples=200)
@given(scenarios())
def test_ladder_invariants(sc):
    spec, p, fair, sigma, inventory, bid, ask = sc
    lad = build_ladder(fair, sigma, inventory, bid, ask, spec, p)
    check_ladder(lad, spec)
    # The position room bounds each side's cumulative size.
    slack = 1e-9 * (1.0 + p.max_position)
    assert sum(q.size for q in lad.bids) <= max(0.0, p.max_position - inventory) + slack
    assert sum(q.size for q in lad.asks) <= max(0.0, p.max_position + inventory) + slack
    if p.post_only:
        if not math.isnan(ask):
            assert all(q.price < ask for q in lad.bids)
        if not math.isnan(bid):
            assert all(q.price > bid for q in lad.asks)


@st.composite
def binary_scenarios(draw):
    tick = draw(st.sampled_from([0.01, 0.001]))
    spec = InstrumentSpec(
        tick=tick, size_step=1.0, min_size=5.0, min_price=tick, max_price=round(1 - tick, 3)
    )
    p = draw(params(order_size=draw(st.sampled_from([5.0, 10.0, 50.0]))))
    n = round(1 / tick)
    fair = draw(st.floats(0.0, 1.0, exclude_min=True, exclude_max=True))
    bid_k = draw(st.integers(1, n - 2))
    ask_k = draw(st.integers(bid_k + 1, n - 1))
    bid = NAN if draw(st.integers(0, 9)) == 0 else round(bid_k * tick, 3)
    ask = NAN if draw(st.integers(0, 9)) == 0 else round(ask_k * tick, 3)
    sigma = draw(st.floats(0.0, 0.05))
    inventory = draw(st.floats(-500.0, 500.0))
    return spec, p, fair, sigma, inventory, bid, ask


@settings(max_examples=200)
@given(binary_scenarios())
def test_binary_ladder_invariants(sc):
    spec, p, fair, sigma, inventory, bid, ask = sc
    lad = build_ladder(fair, sigma, inventory, bid, ask, spec, p)
    check_ladder(lad, spec)  # includes min_price <= every price <= max_price
    if p.post_only:
        assert all(q.price < ask for q in lad.bids) or math.isnan(ask)
        assert all(q.price > bid for q in lad.asks) or math.isnan(bid)


@settings(max_examples=200)
@given(sc=scenarios(), inv=st.floats(1e-3, 50.0))
def test_inventory_skews_quotes_against_it(sc, inv):
    spec, p, fair, sigma, _, bid, ask = sc
    p = _replace(p, max_position=100.0)  # room on both sides at every inventory tested
    flat = build_ladder(fair, sigma, 0.0, bid, ask, spec, p)
    long = build_ladder(fair, sigma, inv, bid, ask, spec, p)
    short = build_ladder(fair, sigma, -inv, bid, ask, spec, p)
    # Long: both quotes (weakly) lower, to sell more readily; short: both higher.
    if flat.bids and long.bids:
        assert long.bids[0].price <= flat.bids[0].price
    if flat.asks and long.asks:
        assert long.asks[0].price <= flat.asks[0].price
    if flat.bids and short.bids:
        assert short.bids[0].price >= flat.bids[0].price
    if flat.asks and short.asks:
        assert short.asks[0].price >= flat.asks[0].price


def test_inventory_skew_example():
    p = LadderParams(order_size=1.0, max_position=10.0, risk_aversion=1.0, horizon_s=1.0)
    spec = InstrumentSpec(tick=0.01, size_step=1.0, min_size=0.0)
    flat = build_ladder(100.0, 0.01, 0.0, NAN, NAN, spec, p)
    long = build_ladder(100.0, 0.01, 5.0, NAN, NAN, spec, p)
    assert long.bids[0].price < flat.bids[0].price
    assert long.asks[0].price < flat.asks[0].price


@settings(max_examples=200)
@given(sc=scenarios(), extra=st.floats(0.0, 0.01))
def test_wider_vol_weakly_wider_spread(sc, extra):
    spec, p, fair, sigma, _, bid, ask = sc
    assert half_spread(fair, sigma + extra, spec, p) >= half_spread(fair, sigma, spec, p)
    narrow = build_ladder(fair, sigma, 0.0, bid, ask, spec, p)
    wide = build_ladder(fair, sigma + extra, 0.0, bid, ask, spec, p)
    if narrow.bids and wide.bids:
        assert wide.bids[0].price <= narrow.bids[0].price
    if narrow.asks and wide.asks:
        assert wide.asks[0].price >= narrow.asks[0].price


def test_ladder_prices_are_exact_decimals():
    p = LadderParams(order_size=0.01, max_position=1.0, levels=3, half_spread_bps=0.37)
    lad = build_ladder(94000.123, 0.0, 0.0, NAN, NAN, PERP, p)
    for q in lad.bids + lad.asks:
        assert repr(q.price) == f"{q.price:.1f}"
    spec = InstrumentSpec(tick=0.001, size_step=0.1, min_size=0.0)
    lad = build_ladder(0.5573, 0.0, 0.0, NAN, NAN, spec, _replace(p, order_size=0.3))
    for q in lad.bids + lad.asks:
        assert len(repr(q.price)) <= len("0.123")
        assert repr(q.size) == "0.3"
