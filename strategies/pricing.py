"""Pure quoting maths: fair value, volatility, Avellaneda-Stoikov skew, tick rounding, the ladder.

Nothing here imports nautilus_trader: plain floats in, small frozen dataclasses out, so the maths is
unit-tested without an engine. It runs inside a strategy callback thousands of times per second, so
it avoids numpy for scalars, logging and allocations that are not the result itself.

Units: ``sigma`` is the volatility of log returns per sqrt(second) (the square root of
``ewma_variance``); inventory, sizes and ``max_position`` share one unit (the order quantity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "InstrumentSpec",
    "Ladder",
    "LadderParams",
    "Quote",
    "build_ladder",
    "ewma_variance",
    "half_spread",
    "microprice",
    "mid_price",
    "reservation_price",
    "round_ask",
    "round_bid",
    "round_size",
]

_floor = math.floor
_ceil = math.ceil
_isfinite = math.isfinite
_sqrt = math.sqrt

# A quotient within this many units of an integer is that integer: 0.3 / 0.1 is 2.9999999999999996
# and must floor to 3, not 2. The relative part covers large quotients (a 1e-8 tick on a 1e5
# price), whose division error grows with their magnitude.
_SNAP_ABS = 1e-9
_SNAP_REL = 1e-12

# The per-second variance divides by dt: the floor keeps two updates in the same nanosecond (or the
# same timestamp) from dividing by zero and keeps alpha * r**2 / dt out of 0 * inf territory.
_MIN_DT_S = 1e-3


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    """Venue constraints of one instrument, as floats."""

    tick: float
    size_step: float
    min_size: float
    min_price: float | None = None
    max_price: float | None = None

    def __post_init__(self) -> None:
        # Validate once at construction so the hot path can trust the fields.
        if not (self.tick > 0.0 and _isfinite(self.tick)):
            raise ValueError(f"InstrumentSpec.tick must be a positive number, got {self.tick!r}")
        if not (self.size_step >= 0.0 and _isfinite(self.size_step)):
            raise ValueError(f"InstrumentSpec.size_step must be >= 0, got {self.size_step!r}")
        if not (self.min_size >= 0.0 and _isfinite(self.min_size)):
            raise ValueError(f"InstrumentSpec.min_size must be >= 0, got {self.min_size!r}")
        lo, hi = self.min_price, self.max_price
        for name, bound in (("min_price", lo), ("max_price", hi)):
            if bound is not None and not _isfinite(bound):
                raise ValueError(f"InstrumentSpec.{name} must be a finite number or None")
        if lo is not None and hi is not None and not lo <= hi:
            raise ValueError(
                f"InstrumentSpec.min_price ({lo!r}) must not exceed max_price ({hi!r})"
            )


@dataclass(frozen=True, slots=True)
class LadderParams:
    """How the quote ladder is shaped; see ``build_ladder``."""

    order_size: float
    max_position: float
    levels: int = 1
    level_spacing_ticks: float = 1.0
    min_half_spread_ticks: float = 1.0
    half_spread_bps: float = 0.0
    vol_multiplier: float = 0.0
    risk_aversion: float = 0.0
    horizon_s: float = 1.0
    size_growth: float = 1.0
    post_only: bool = True

    def __post_init__(self) -> None:
        if not (self.order_size > 0.0 and _isfinite(self.order_size)):
            raise ValueError(f"LadderParams.order_size must be > 0, got {self.order_size!r}")
        if not (self.size_growth > 0.0 and _isfinite(self.size_growth)):
            raise ValueError(f"LadderParams.size_growth must be > 0, got {self.size_growth!r}")
        if self.levels < 0:
            raise ValueError(f"LadderParams.levels must be >= 0, got {self.levels!r}")
        for name in (
            "max_position",
            "level_spacing_ticks",
            "min_half_spread_ticks",
            "half_spread_bps",
            "vol_multiplier",
            "risk_aversion",
            "horizon_s",
        ):
            value = getattr(self, name)
            if not (value >= 0.0 and _isfinite(value)):
                raise ValueError(f"LadderParams.{name} must be a number >= 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class Quote:
    price: float
    size: float


@dataclass(frozen=True, slots=True)
class Ladder:
    bids: tuple[Quote, ...]  # best (highest) first, strictly decreasing prices
    asks: tuple[Quote, ...]  # best (lowest) first, strictly increasing prices


_EMPTY = Ladder((), ())


def mid_price(bid: float, ask: float) -> float:
    return (bid + ask) * 0.5


def microprice(bid: float, bid_size: float, ask: float, ask_size: float) -> float:
    """Size-weighted mid: a heavy bid queue pulls the fair value towards the ask."""
    total = bid_size + ask_size
    if total <= 0.0:
        return (bid + ask) * 0.5
    # == (bid * ask_size + ask * bid_size) / total, but a weight in [0, 1] keeps the result
    # between bid and ask even when the products underflow.
    return bid + (ask - bid) * (bid_size / total)


def ewma_variance(prev_var: float, log_return: float, dt_s: float, halflife_s: float) -> float:
    """
    Time-decayed EWMA of the per-second variance of log returns.

    The weight of a new observation grows with the time it covers
    (``alpha = 1 - 2**(-dt/halflife)``), so irregularly spaced updates are weighted fairly.
    ``dt_s`` is floored at 1 ms when converting the squared return to a rate: updates that share a
    timestamp would otherwise divide by zero, and sub-millisecond bursts would turn one tick of
    bid-ask bounce into an enormous rate. A zero or negative ``dt_s`` gives ``alpha = 0`` (the
    estimate is unchanged); a ``halflife_s <= 0`` keeps no memory.
    """
    if halflife_s <= 0.0:
        alpha = 1.0
    elif dt_s <= 0.0:
        return prev_var
    else:
        alpha = 1.0 - 2.0 ** (-dt_s / halflife_s)
    dt = dt_s if dt_s > _MIN_DT_S else _MIN_DT_S
    return (1.0 - alpha) * prev_var + alpha * (log_return * log_return / dt)


def reservation_price(fair: float, inventory: float, sigma: float, params: LadderParams) -> float:
    """Avellaneda-Stoikov indifference price: long inventory lowers it, so we sell more readily."""
    q = inventory / params.order_size
    return fair * (1.0 - q * params.risk_aversion * sigma * sigma * params.horizon_s)


def half_spread(fair: float, sigma: float, spec: InstrumentSpec, params: LadderParams) -> float:
    """
    Distance from the reservation price to level 0: the larger of ``min_half_spread_ticks`` ticks
    and a proportional part (fixed bps + ``vol_multiplier`` sigma-over-the-horizon moves + the
    Avellaneda-Stoikov risk term), never under half a tick. ``sigma`` is >= 0.
    """
    horizon = params.horizon_s
    proportional = fair * (
        params.half_spread_bps * 1e-4
        + params.vol_multiplier * sigma * _sqrt(horizon)
        + 0.5 * params.risk_aversion * sigma * sigma * horizon
    )
    tick = spec.tick
    floor = params.min_half_spread_ticks * tick
    # Half a tick at least: then floor(r - h) and ceil(r + h) are always a tick or more apart.
    if floor < 0.5 * tick:
        floor = 0.5 * tick
    return proportional if proportional > floor else floor


# unit -> (numerator, 10**decimals): the unit's shortest decimal form (0.1 -> (1, 10), 0.25 ->
# (25, 100), 1e-05 -> (1, 100000)). A handful of distinct ticks exist per process.
_GRID: dict[float, tuple[int, int]] = {}


def _grid(unit: float) -> tuple[int, int]:
    g = _GRID.get(unit)
    if g is None:
        # repr is the shortest decimal that round-trips, i.e. what the venue wrote.
        exact = Decimal(repr(unit))
        decimals = max(0, -int(exact.as_tuple().exponent))
        g = (int(exact.scaleb(decimals)), 10**decimals)
        if len(_GRID) > 1024:  # hypothesis or a storm of tick-size changes: stay bounded
            _GRID.clear()
        _GRID[unit] = g
    return g


def _on_grid(k: int, num: int, scale: int) -> float:
    # Integer true division is correctly rounded: k * num / 10**d is the float nearest the decimal
    # price (94000.1, where 940001 * 0.1 == 94000.09999999999), so it compares equal to prices
    # parsed from the venue.
    return k * num / scale


def _floor_units(x: float) -> int:
    return _floor(x + (_SNAP_ABS + _SNAP_REL * (x if x > 0.0 else -x)))


def _ceil_units(x: float) -> int:
    return _ceil(x - (_SNAP_ABS + _SNAP_REL * (x if x > 0.0 else -x)))


def round_bid(price: float, tick: float) -> float:
    """Floor to the tick grid (a bid may only get less aggressive); 0.3 stays 0.3 on 0.1 ticks."""
    num, scale = _grid(tick)
    return _on_grid(_floor_units(price / tick), num, scale)


def round_ask(price: float, tick: float) -> float:
    """Ceil to the tick grid (an ask may only get less aggressive)."""
    num, scale = _grid(tick)
    return _on_grid(_ceil_units(price / tick), num, scale)


def round_size(size: float, step: float) -> float:
    """Floor to the size grid, never below zero; a ``step <= 0`` means no grid."""
    if size <= 0.0:
        return 0.0
    if step <= 0.0:
        return size
    num, scale = _grid(step)
    return _on_grid(_floor_units(size / step), num, scale)


# build_ladder is called with the same params and spec objects over and over; their level sizes
# (rounding, min_size filter, total) are computed once per pair. One entry, replaced atomically.
_LAST_SIZES: tuple = (None, None, (), 0.0)


def _base_sizes(
    spec: InstrumentSpec, params: LadderParams
) -> tuple[tuple[tuple[int, float], ...], float]:
    global _LAST_SIZES
    last = _LAST_SIZES
    if last[0] is params and last[1] is spec:
        return last[2], last[3]
    out = []
    total = 0.0
    for i in range(params.levels):
        size = round_size(params.order_size * params.size_growth**i, spec.size_step)
        if size > 0.0 and size >= spec.min_size:
            out.append((i, size))
            total += size
    levels = tuple(out)
    _LAST_SIZES = (params, spec, levels, total)
    return levels, total


def _fit(
    levels: tuple[tuple[int, float], ...], total: float, room: float, spec: InstrumentSpec
) -> tuple[tuple[int, float], ...] | list[tuple[int, float]]:
    """(level index, size) of the levels that fit in ``room``; dropped levels keep their index."""
    if total <= room:
        return levels
    out = []
    if room <= 0.0:
        return out
    for i, size in levels:
        if size > room:
            # The level that overflows the position limit is trimmed; everything deeper goes.
            size = round_size(room, spec.size_step)
            if size > 0.0 and size >= spec.min_size:
                out.append((i, size))
            break
        out.append((i, size))
        room -= size
    return out


_new = object.__new__
# A frozen dataclass __init__ sets each field through object.__setattr__, twice as slow as the
# slot descriptors; quotes are built on every book update.
_set_price = Quote.price.__set__  # type: ignore[attr-defined]
_set_size = Quote.size.__set__  # type: ignore[attr-defined]


def _quote(price: float, size: float) -> Quote:
    q = _new(Quote)
    _set_price(q, price)
    _set_size(q, size)
    return q


def build_ladder(
    fair: float,
    sigma: float,
    inventory: float,
    best_bid: float,
    best_ask: float,
    spec: InstrumentSpec,
    params: LadderParams,
) -> Ladder:
    """
    Target quotes around the reservation price ``r`` with half-spread ``h``.

    Level i bids at ``floor(r - h - i * spacing * tick)`` and asks at ``ceil(r + h + i * spacing *
    tick)``, sized ``order_size * size_growth**i`` floored to the size grid (a level below
    ``min_size`` is dropped). Each side's cumulative size stays within the position room
    (``max_position -/+ inventory``). Post-only quotes are clamped a tick behind the opposite best
    (skipped when that side of the book is empty, i.e. NaN); deeper levels are pushed so prices stay
    strictly monotone; bids below ``min_price`` and asks above ``max_price`` are dropped, and a
    level beyond the other bound is clamped onto it. Every price is at least one tick, whatever
    ``min_price`` says: no venue we trade accepts a zero or negative price.

    A non-finite or non-positive fair value, or a non-finite sigma or inventory, gives an empty
    ladder: no quotes is the safe answer to a broken input.
    """
    if (
        not (fair > 0.0 and _isfinite(fair) and _isfinite(sigma) and _isfinite(inventory))
        or params.levels <= 0
    ):
        return _EMPTY
    tick = spec.tick
    r = reservation_price(fair, inventory, sigma, params)
    h = half_spread(fair, sigma, spec, params)
    if not (_isfinite(r) and _isfinite(h)):
        return _EMPTY

    # Prices are worked out as integer tick counts: clamps and the monotone push are then exact,
    # and each price is converted to a float once.
    num, scale = _grid(tick)
    spacing = params.level_spacing_ticks
    min_price = spec.min_price
    max_price = spec.max_price
    lo_k = _ceil_units(min_price / tick) if min_price is not None else 1
    if lo_k < 1:
        lo_k = 1
    hi_k = _floor_units(max_price / tick) if max_price is not None else None
    post_only = params.post_only
    base, total = _base_sizes(spec, params)

    bids: list[Quote] = []
    levels = _fit(base, total, params.max_position - inventory, spec)
    if levels:
        x = (r - h) / tick
        snap = _SNAP_ABS + _SNAP_REL * (x if x > 0.0 else -x)
        cap = hi_k
        if post_only and _isfinite(best_ask):
            c = _floor_units(best_ask / tick) - 1
            if cap is None or c < cap:
                cap = c
        prev = None
        for i, size in levels:
            k = _floor(x - i * spacing + snap)
            if cap is not None and k > cap:
                k = cap
            if prev is not None and k >= prev:
                k = prev - 1
            if k < lo_k:
                break  # deeper levels are lower still
            bids.append(_quote(k * num / scale, size))
            prev = k

    asks: list[Quote] = []
    levels = _fit(base, total, params.max_position + inventory, spec)
    if levels:
        x = (r + h) / tick
        snap = _SNAP_ABS + _SNAP_REL * (x if x > 0.0 else -x)
        floor = lo_k
        if post_only and _isfinite(best_bid):
            f = _ceil_units(best_bid / tick) + 1
            if f > floor:
                floor = f
        prev = None
        for i, size in levels:
            k = _ceil(x + i * spacing - snap)
            if k < floor:
                k = floor
            if prev is not None and k <= prev:
                k = prev + 1
            if hi_k is not None and k > hi_k:
                break  # deeper levels are higher still
            asks.append(_quote(k * num / scale, size))
            prev = k

    # Bids only move down and asks only up from a raw spread of >= 2h >= one tick, so this cannot
    # trigger; it is the one invariant a venue would punish (self-cross), so it is checked anyway.
    if bids and asks and bids[0].price >= asks[0].price:
        best_ask_price = asks[0].price
        bids = [q for q in bids if q.price < best_ask_price]
    return Ladder(tuple(bids), tuple(asks))
