"""The embedded, deterministic sample catalog: realistic enough to exercise a market maker.

Two markets, both synthetic but shaped like the real venues:

- `BTC_USDT-PERP.GATE` (Gate's real BTC_USDT contract spec; quantities in CONTRACTS of
  0.0001 BTC): 2 hours of L2 deltas and trades from `SAMPLE_START`.
- One Polymarket binary market (YES and NO tokens, quantities in shares): 1 day of L2 deltas and
  trades. The NO book and trades are the exact mirror of YES (bid p <-> ask 1-p, same sizes and
  timestamps).

The model, per market (all prices in integer ticks):

- A latent fair value F: a random walk whose variance follows a stochastic-volatility process
  (mean-reverting log-vol, so calm and busy periods cluster as in a GARCH), with Student-t
  increments. Gate: arithmetic walk at ~50% annualised vol. Polymarket: walk in logit space plus
  rare jumps.
- Event intensities (touch moves, queue churn, trades) rise with the current volatility.
- The touch tracks F (spread usually 1 tick, sometimes wider, more often when busy). A move
  deletes the levels it crosses, adds the new touch and a few levels in the gap it uncovers, and
  keeps a band of levels a side by trimming or extending the deep end. Churn updates sizes at and
  near the touch and adds or removes levels in the gaps.
- Trades hit the current touch (the aggressor side is autocorrelated and partly informed by the
  next move; sizes are Pareto), consume touch size, and the matching UPDATE/DELETE (plus a new
  touch when an exhausted level leaves a gap) follows 1 ns later. Trades have a small permanent
  impact on F.

A realism trade-off, on purpose: ~50% vol at a 0.1 USDT tick moves BTC by ~80 ticks a second,
which a tick-dense book could only follow with thousands of deltas a second. The Gate book so has
a dense touch (1-tick spread) and sparser levels behind it (a few ticks apart near the touch,
wider deeper). About 150 deltas in 50 book messages a second (~1.05M deltas for 2 hours): an
event density closer to a live BTC perp feed, so a quoter's command budget per event is
realistic, still built in about ten seconds.

Everything is drawn from `numpy.random.default_rng` streams spawned from one seed: the same seed
gives identical rows. The catalog is written atomically (temp dir + rename), marker file last.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import itertools
import json
import math
import os
import secrets
import shutil
import sys
import time
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import NamedTuple

import click
import numpy as np
import pandas as pd
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.instruments import BinaryOption
from nautilus_trader.model.instruments import CryptoPerpetual
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from adapters.gate.parsing import parse_futures_contract
from adapters.polymarket.parsing import parse_binary_options
from catalog.ordering import strictly_increasing_ts_init

# -- public constants -------------------------------------------------------------------------

SAMPLE_SEED = 20260105
SAMPLE_START = pd.Timestamp("2026-01-05T00:00:00Z")
SAMPLE_START_NS = int(SAMPLE_START.value)
# Bump whenever the generated rows change: older samples then count as incomplete and rebuild.
SAMPLE_FORMAT_VERSION = 3
MARKER_FILE = "sample.json"

GATE_SAMPLE_DURATION_S = 2 * 3600
POLYMARKET_SAMPLE_DURATION_S = 24 * 3600

GATE_PERP_ID = "BTC_USDT-PERP.GATE"

# Deterministic ids shaped like the venue's: sha256 of fixed labels (a 0x + 64-hex condition id and
# 77-digit decimal token ids), written out so they can be grepped and pasted into configs.
POLYMARKET_CONDITION_ID = "0xeab144b60620c93f264629a01a3c9260fb6e7365773995b8aab25d7076f4f40c"
POLYMARKET_YES_TOKEN = (
    "21935857217516905301670463029463053858342730837269812216391731428764113194917"
)
POLYMARKET_NO_TOKEN = (
    "29030676879170581246053389216976100237644927436217350571477520605782258127122"
)
POLYMARKET_YES_ID = f"{POLYMARKET_CONDITION_ID}-{POLYMARKET_YES_TOKEN}.POLYMARKET"
POLYMARKET_NO_ID = f"{POLYMARKET_CONDITION_ID}-{POLYMARKET_NO_TOKEN}.POLYMARKET"

# Gate's real BTC_USDT contract spec (`GET /futures/usdt/contracts`), volatile fields left out.
GATE_BTC_USDT_CONTRACT: dict[str, Any] = {
    "name": "BTC_USDT",
    "type": "direct",
    "quanto_multiplier": "0.0001",
    "order_price_round": "0.1",
    "mark_price_round": "0.01",
    "order_size_min": 1,
    "order_size_max": 1000000,
    "maker_fee_rate": "-0.000152",
    "taker_fee_rate": "0.00075",
    "maintenance_rate": "0.005",
    "leverage_min": "1",
    "leverage_max": "100",
    "funding_interval": 28800,
    "funding_rate": "0.000086",
    "order_price_deviate": "0.5",
    "enable_decimal": False,
    "status": "trading",
    "orders_limit": 100,
    "mark_type": "index",
    "risk_limit_base": "1000000",
    "risk_limit_step": "1000000",
    "risk_limit_max": "30000000",
}

# A CLOB `GET /markets/{condition_id}` body (snake_case), synthetic but complete.
POLYMARKET_SAMPLE_MARKET: dict[str, Any] = {
    "enable_order_book": True,
    "active": True,
    "closed": False,
    "archived": False,
    "accepting_orders": True,
    "accepting_order_timestamp": "2025-12-29T00:00:00Z",
    "minimum_order_size": "5",
    "minimum_tick_size": "0.01",
    "condition_id": POLYMARKET_CONDITION_ID,
    "question_id": "0x7f0c1b3a5e21c4d8a0f2b6e9d3c5a7b1e4f8d2c6a9b3e7f1d5c8a2b6e0f4d9c3",
    "question": "Will BTC trade above $95,000 on January 8, 2026? (quotekit sample)",
    "description": (
        "Synthetic market generated by quotekit's embedded sample catalog; not a real Polymarket "
        "market. Resolves Yes if the sample's BTC price is above $95,000 at expiry."
    ),
    "market_slug": "quotekit-sample-btc-above-95k-jan-8-2026",
    "end_date_iso": "2026-01-08T17:00:00Z",
    "game_start_time": None,
    "seconds_delay": 0,
    "fpmm": "",
    "maker_base_fee": 0,
    "taker_base_fee": 0,
    "notifications_enabled": True,
    "neg_risk": False,
    "neg_risk_market_id": "",
    "neg_risk_request_id": "",
    "icon": "",
    "image": "",
    "rewards": {"rates": None, "min_size": 50, "max_spread": 3.5},
    "is_50_50_outcome": False,
    "tokens": [
        {"token_id": POLYMARKET_YES_TOKEN, "outcome": "Yes", "price": 0.62, "winner": False},
        {"token_id": POLYMARKET_NO_TOKEN, "outcome": "No", "price": 0.38, "winner": False},
    ],
    "tags": ["crypto"],
    "fee_rate": "0.02",
}

_GATE_FIRST_TRADE_ID = 300_000_001  # Gate trade ids are increasing integers


def gate_sample_instrument() -> CryptoPerpetual:
    return parse_futures_contract(GATE_BTC_USDT_CONTRACT, SAMPLE_START_NS)


def polymarket_sample_instruments() -> tuple[BinaryOption, BinaryOption]:
    """(yes, no) of the sample market."""
    yes, no = parse_binary_options(POLYMARKET_SAMPLE_MARKET, SAMPLE_START_NS)
    return yes, no


def default_catalog_path() -> Path:
    """`$QUOTEKIT_CATALOG`, else `data/catalog` under the current directory."""
    env = os.environ.get("QUOTEKIT_CATALOG")
    path = Path(env).expanduser() if env else Path("data") / "catalog"
    return path.absolute()


# -- the book simulator -----------------------------------------------------------------------

_ADD = int(BookAction.ADD)
_UPDATE = int(BookAction.UPDATE)
_DELETE = int(BookAction.DELETE)
_CLEAR = int(BookAction.CLEAR)
_BUY = 1  # OrderSide.BUY / AggressorSide.BUYER
_SELL = 2  # OrderSide.SELL / AggressorSide.SELLER
_F_LAST = int(RecordFlag.F_LAST)
_F_SNAPSHOT = int(RecordFlag.F_SNAPSHOT)

_MOVE, _CHURN, _TRADE = 0, 1, 2


@dataclass(frozen=True)
class BookModel:
    """Shape of one venue's book, in ticks and size units (contracts, or 0.01 shares)."""

    lo_tick: int
    hi_tick: int
    levels: int  # levels a side in the initial snapshot
    min_levels: int  # extend the deep end below this
    max_levels: int  # trim the deep end above this
    near_gap: float  # mean distance (ticks) between levels next to the touch
    deep_gap: float  # ... and at `levels` deep
    size_median: float  # median level size at the touch (units)
    size_sigma: float  # lognormal dispersion of level sizes
    depth_growth: float  # level size grows by this fraction per level of depth
    fill_prob: float  # chance a tick uncovered by a move gets a new level
    max_fill: int  # at most this many such levels per move
    wide_spread_prob: float  # chance a move leaves a spread > 1 tick (scaled by vol)
    wide_spread_extra: float  # mean extra ticks of a wide spread beyond 2
    trade_xm: float  # Pareto scale of trade sizes (units)
    trade_alpha: float  # Pareto tail index (smaller: heavier)
    min_size: int  # smallest size (units) of a level or a trade
    impact_ticks: float  # permanent impact on F of a trade that exhausts the touch
    refill_gap: int  # after a touch is exhausted, a new touch appears if the next level is further


class Schedule(NamedTuple):
    """Events in time order; `fair` is the latent fair value (ticks) after each event."""

    times: list[int]
    kinds: list[int]
    fair: list[float]
    aggressor: list[int]  # +1 buyer, -1 seller, 0 for non-trades
    vol: list[float]  # current vol relative to its mean


class _Rand:
    """Endless pre-drawn uniform and normal streams (`next()` is far cheaper than numpy scalars)."""

    def __init__(self, rng: np.random.Generator, chunk: int = 1 << 16) -> None:
        self.u: Iterator[float] = itertools.chain.from_iterable(
            iter(lambda: rng.random(chunk).tolist(), None)
        )
        self.z: Iterator[float] = itertools.chain.from_iterable(
            iter(lambda: rng.standard_normal(chunk).tolist(), None)
        )


class BookSim:
    """Replays a `Schedule` into L2 delta rows `(action, side, tick, size, ts)` and trade rows."""

    def __init__(self, model: BookModel, rand: _Rand) -> None:
        self.m = model
        self.r = rand
        # Each side: prices ordered from the touch outward, and price -> size.
        self.levels: dict[int, list[int]] = {_BUY: [], _SELL: []}
        self.sizes: dict[int, dict[int, int]] = {_BUY: {}, _SELL: {}}
        self.spread = 1
        self.impact = 0.0
        self.deltas: list[tuple[int, int, int, int, int]] = []
        self.trades: list[tuple[int, int, int, int]] = []
        # Mean distance from the touch of the level at each depth, and how far the deep end may be.
        gaps = [self._gap_mean(depth) for depth in range(model.max_levels + 1)]
        self.offsets = [0.0, *itertools.accumulate(gaps)]
        self.max_span = 1.25 * self.offsets[model.max_levels]

    # - helpers ------------------------------------------------------------------------------

    @staticmethod
    def _away(side: int) -> int:
        """+1 if deeper levels have higher prices (asks), -1 for bids."""
        return 1 if side == _SELL else -1

    def _size(self, depth: int) -> int:
        m = self.m
        size = (
            m.size_median * (1.0 + m.depth_growth * depth) * math.exp(m.size_sigma * next(self.r.z))
        )
        return max(m.min_size, int(size))

    def _gap_mean(self, depth: int) -> float:
        m = self.m
        return m.near_gap + (m.deep_gap - m.near_gap) * min(depth, m.levels) / m.levels

    def _gap(self, depth: int) -> int:
        return 1 + int(-math.log(1.0 - next(self.r.u)) * (self._gap_mean(depth) - 1.0))

    def _in_range(self, tick: int) -> bool:
        return self.m.lo_tick <= tick <= self.m.hi_tick

    def _add(self, side: int, index: int, tick: int, depth: int, ts: int) -> None:
        size = self._size(depth)
        self.levels[side].insert(index, tick)
        self.sizes[side][tick] = size
        self.deltas.append((_ADD, side, tick, size, ts))

    def _delete(self, side: int, index: int, ts: int) -> None:
        tick = self.levels[side].pop(index)
        del self.sizes[side][tick]
        self.deltas.append((_DELETE, side, tick, 0, ts))

    def _set_size(self, side: int, tick: int, size: int, ts: int) -> None:
        self.sizes[side][tick] = size
        self.deltas.append((_UPDATE, side, tick, size, ts))

    # - events -------------------------------------------------------------------------------

    def snapshot(self, fair: float, ts: int) -> None:
        """CLEAR + the initial book around `fair` (all one message)."""
        self.deltas.append((_CLEAR, 0, 0, 0, ts))
        bid, ask = self._touch_targets(fair)
        for side, touch in ((_BUY, bid), (_SELL, ask)):
            tick = touch
            for depth in range(self.m.levels):
                if not self._in_range(tick):
                    break
                self._add(side, depth, tick, depth, ts)
                tick += self._away(side) * self._gap(depth)

    def _touch_targets(self, fair: float) -> tuple[int, int]:
        m = self.m
        bid = math.floor(fair - self.spread / 2.0 + 0.5)
        bid = max(m.lo_tick, min(bid, m.hi_tick - self.spread))
        return bid, bid + self.spread

    def _draw_spread(self, vol: float) -> int:
        if next(self.r.u) >= min(0.9, self.m.wide_spread_prob * vol):
            return 1
        return 2 + int(-math.log(1.0 - next(self.r.u)) * self.m.wide_spread_extra)

    def realign(self, fair: float, ts: int) -> None:
        """Move the touch to where `fair` says: deletes first (never crossed), adds, then depth."""
        bid, ask = self._touch_targets(fair)
        bids, asks = self.levels[_BUY], self.levels[_SELL]
        if bids and asks and bids[0] == bid and asks[0] == ask:
            return
        while bids and bids[0] > bid:
            self._delete(_BUY, 0, ts)
        while asks and asks[0] < ask:
            self._delete(_SELL, 0, ts)
        self._set_touch(_BUY, bid, ts)
        self._set_touch(_SELL, ask, ts)
        self._fix_depth(_BUY, ts)
        self._fix_depth(_SELL, ts)

    def _set_touch(self, side: int, target: int, ts: int) -> None:
        """Make `target` the touch; the gap it uncovers gets only a few levels (a thin book)."""
        lv = self.levels[side]
        if lv and lv[0] == target:
            return
        away = self._away(side)
        if lv:
            uncovered = abs(lv[0] - target) - 1
            if uncovered > 0:
                m = self.m
                count = min(m.max_fill, uncovered, int(uncovered * m.fill_prob + next(self.r.u)))
                offsets = sorted({1 + int(next(self.r.u) * uncovered) for _ in range(count)})
                for offset in reversed(offsets):  # deepest first so each insert lands at the front
                    self._add(side, 0, target + away * offset, 1, ts)
        self._add(side, 0, target, 0, ts)

    def _fix_depth(self, side: int, ts: int) -> None:
        """Keep min..max levels within a stationary distance of the touch (no drift outward)."""
        lv, m = self.levels[side], self.m
        while len(lv) > m.max_levels or (
            len(lv) > m.min_levels and abs(lv[-1] - lv[0]) > self.max_span
        ):
            self._delete(side, len(lv) - 1, ts)
        away = self._away(side)
        for _ in range(m.max_levels):  # bounded: near the price grid's ends there may be no room
            if len(lv) >= m.min_levels:
                break
            depth = len(lv)
            distance = max(1, int(self.offsets[depth] * (0.75 + 0.5 * next(self.r.u))))
            tick = lv[0] + away * distance
            while tick in self.sizes[side]:
                tick += away
            if not self._in_range(tick):
                continue
            touch = lv[0]
            index = bisect.bisect_left(lv, abs(tick - touch), key=lambda p: abs(p - touch))
            self._add(side, index, tick, depth, ts)

    def churn(self, ts: int) -> None:
        """1..n queue changes at and near the touch, at one timestamp."""
        u = self.r.u
        ops = 1 + (next(u) < 0.3) + (next(u) < 0.1)
        for _ in range(ops):
            side = _BUY if next(u) < 0.5 else _SELL
            r = next(u)
            if r < 0.45:
                self._resize(side, 0, ts)
            elif r < 0.70:
                self._resize(side, 1 + int(next(u) * 4), ts)
            elif r < 0.85:
                self._insert_in_gap(side, ts)
            elif r < 0.95:
                self._remove_level(side, ts)
            else:
                self._resize(side, 5 + int(next(u) * 15), ts)

    def _resize(self, side: int, depth: int, ts: int) -> None:
        """New size for a level: log-size mean-reverts to its depth's typical size (no blow-up)."""
        lv, m = self.levels[side], self.m
        depth = min(depth, len(lv) - 1)
        tick = lv[depth]
        old = self.sizes[side][tick]
        typical = m.size_median * (1.0 + m.depth_growth * depth)
        log_new = math.log(old) + 0.2 * (math.log(typical) - math.log(old)) + 0.4 * next(self.r.z)
        new = max(m.min_size, int(math.exp(log_new)))
        if new == old:
            new = old + m.min_size
        self._set_size(side, tick, new, ts)

    def _insert_in_gap(self, side: int, ts: int) -> None:
        lv = self.levels[side]
        depth = int(next(self.r.u) * min(6, len(lv) - 1))
        if len(lv) < 2 or abs(lv[depth + 1] - lv[depth]) < 2:
            self._resize(side, depth, ts)
            return
        span = abs(lv[depth + 1] - lv[depth]) - 1
        tick = lv[depth] + self._away(side) * (1 + int(next(self.r.u) * span))
        self._add(side, depth + 1, tick, depth + 1, ts)
        self._fix_depth(side, ts)

    def _remove_level(self, side: int, ts: int) -> None:
        lv = self.levels[side]
        if len(lv) <= self.m.min_levels:
            self._resize(side, 1, ts)
            return
        self._delete(side, 1 + int(next(self.r.u) * (len(lv) - 1)), ts)

    def trade(self, aggressor: int, ts: int) -> None:
        """A trade at the touch at `ts`, then the book message it causes at `ts + 1`."""
        m = self.m
        side = _SELL if aggressor > 0 else _BUY  # a buyer lifts the ask
        lv = self.levels[side]
        tick = lv[0]
        available = self.sizes[side][tick]
        size = int(m.trade_xm * (1.0 - next(self.r.u)) ** (-1.0 / m.trade_alpha))
        size = min(max(m.min_size, size), available)  # dust below min_size can still trade
        self.trades.append((tick, size, _BUY if aggressor > 0 else _SELL, ts))
        book_ts = ts + 1
        if size < available:
            self._set_size(side, tick, available - size, book_ts)
            return
        self._delete(side, 0, book_ts)
        if not lv or abs(lv[0] - tick) > m.refill_gap:
            new_touch = tick + self._away(side) * (1 + int(next(self.r.u) * m.refill_gap))
            # At the end of the price grid the only room left is the exhausted price itself.
            self._add(side, 0, new_touch if self._in_range(new_touch) else tick, 0, book_ts)
        self._fix_depth(side, book_ts)
        self.impact += aggressor * m.impact_ticks

    def run(self, schedule: Schedule, start_ns: int, fair0: float) -> None:
        self.snapshot(fair0, start_ns)
        last = start_ns
        for t, kind, fair, aggressor, vol in zip(*schedule, strict=True):
            ts = t if t > last else last + 1  # strictly increasing per message
            if kind == _TRADE:
                self.trade(aggressor, ts)
                last = ts + 1
                continue
            if kind == _MOVE:
                self.spread = self._draw_spread(vol)
            count = len(self.deltas)
            self.realign(fair + self.impact, ts)
            if kind == _CHURN:
                self.churn(ts)
            if len(self.deltas) > count:
                last = ts


# -- schedules (vectorised) -------------------------------------------------------------------


def _check_duration(duration_s: int) -> None:
    if int(duration_s) != duration_s or duration_s < 1:
        raise ValueError(f"duration_s must be a whole number of seconds >= 1, got {duration_s!r}")


def _stochastic_vol(
    rng: np.random.Generator, seconds: int, half_life_s: float, log_sd: float
) -> np.ndarray:
    """Per-second vol multiplier: exp of an OU process, normalised so mean(vol**2) == 1."""
    theta = math.log(2.0) / half_life_s
    noise = rng.standard_normal(seconds) * log_sd * math.sqrt(2.0 * theta)
    x = np.empty(seconds)
    level = rng.standard_normal() * log_sd
    decay = 1.0 - theta
    # A linear recursion: a Python loop over seconds is cheap (7200..86400 steps).
    for i, eps in enumerate(noise.tolist()):
        level = level * decay + eps
        x[i] = level
    vol = np.exp(x)
    return vol / math.sqrt(float(np.mean(vol**2)))


def _poisson_times(rng: np.random.Generator, rate: np.ndarray, start_ns: int) -> np.ndarray:
    counts = rng.poisson(rate)
    seconds = np.repeat(np.arange(len(rate), dtype=np.int64), counts)
    offsets = rng.integers(1, 1_000_000_000, size=len(seconds), dtype=np.int64)
    return np.sort(start_ns + seconds * 1_000_000_000 + offsets)


def _student_t(rng: np.random.Generator, n: int, dof: float = 4.0) -> np.ndarray:
    """Unit-variance fat-tailed shocks."""
    return rng.standard_t(dof, n) / math.sqrt(dof / (dof - 2.0))


def _aggressors(
    rng: np.random.Generator, n: int, stay: float, informed: float, next_move: np.ndarray
) -> np.ndarray:
    """Markov-chain aggressor sides (runs of buys or sells), a share following the next move."""
    flips = rng.random(n) >= stay
    chain = np.where(np.cumsum(flips) % 2 == 0, 1, -1) * (1 if rng.random() < 0.5 else -1)
    follow = (rng.random(n) < informed) & (next_move != 0)
    return np.where(follow, np.sign(next_move), chain).astype(np.int64)


def _merge(
    rng: np.random.Generator,
    start_ns: int,
    vol: np.ndarray,
    moves: tuple[np.ndarray, np.ndarray],
    churn_rate: np.ndarray,
    trade_rate: np.ndarray,
    fair0: float,
    stay: float,
    informed: float,
) -> Schedule:
    """Interleave moves (times, fair-value increments), churn and trades, in time order."""
    move_t, move_df = moves
    churn_t = _poisson_times(rng, churn_rate, start_ns)
    trade_t = _poisson_times(rng, trade_rate, start_ns)
    times = np.concatenate([move_t, churn_t, trade_t])
    kinds = np.concatenate(
        [
            np.full(len(move_t), _MOVE, dtype=np.int64),
            np.full(len(churn_t), _CHURN, dtype=np.int64),
            np.full(len(trade_t), _TRADE, dtype=np.int64),
        ]
    )
    dfair = np.concatenate([move_df, np.zeros(len(churn_t) + len(trade_t))])
    order = np.lexsort((kinds, times))
    times, kinds, dfair = times[order], kinds[order], dfair[order]
    fair = fair0 + np.cumsum(dfair)

    # For each trade, the fair-value change of the next move (informed flow trades ahead of it).
    move_pos = np.flatnonzero(kinds == _MOVE)
    trade_pos = np.flatnonzero(kinds == _TRADE)
    nxt = np.searchsorted(move_pos, trade_pos)
    next_move = np.zeros(len(trade_pos))
    has_next = nxt < len(move_pos)
    next_move[has_next] = dfair[move_pos[nxt[has_next]]]
    aggressor = np.zeros(len(times), dtype=np.int64)
    aggressor[trade_pos] = _aggressors(rng, len(trade_pos), stay, informed, next_move)

    second = np.clip((times - start_ns) // 1_000_000_000, 0, len(vol) - 1)
    return Schedule(
        times.tolist(), kinds.tolist(), fair.tolist(), aggressor.tolist(), vol[second].tolist()
    )


# Gate BTC_USDT: 0.1 USDT tick, ~94k USDT, ~50% annualised vol.
_GATE_PRICE = 94_000.0
_GATE_TICK = 0.1
_GATE_ANNUAL_VOL = 0.5
_GATE_MOVE_RATE = 8.0  # touch moves per second at mean vol
_GATE_CHURN_RATE = 40.0
_GATE_TRADE_RATE = 6.0

GATE_BOOK = BookModel(
    lo_tick=1,
    hi_tick=10**12,
    levels=20,
    min_levels=16,
    max_levels=26,
    near_gap=5.0,
    deep_gap=15.0,
    size_median=7_000,
    size_sigma=0.85,
    depth_growth=0.08,
    fill_prob=0.25,
    max_fill=3,
    wide_spread_prob=0.12,
    wide_spread_extra=1.2,
    trade_xm=60,
    trade_alpha=1.15,
    min_size=1,
    impact_ticks=2.0,
    refill_gap=3,
)


def gate_schedule(start_ns: int, duration_s: int, rng: np.random.Generator) -> Schedule:
    _check_duration(duration_s)
    vol = _stochastic_vol(rng, duration_s, half_life_s=900.0, log_sd=0.5)
    tick_vol = _GATE_PRICE * _GATE_ANNUAL_VOL / math.sqrt(365 * 86400) / _GATE_TICK  # ticks/sqrt(s)
    move_rate = _GATE_MOVE_RATE * vol
    move_t = _poisson_times(rng, move_rate, start_ns)
    second = (move_t - start_ns) // 1_000_000_000
    # Per move variance vol^2/rate, so each second's variance is vol^2 whatever the move count.
    scale = tick_vol * vol[second] / np.sqrt(move_rate[second])
    move_df = scale * _student_t(rng, len(move_t))
    return _merge(
        rng,
        start_ns,
        vol,
        (move_t, move_df),
        churn_rate=_GATE_CHURN_RATE * vol**0.7,
        trade_rate=_GATE_TRADE_RATE * vol,
        fair0=_GATE_PRICE / _GATE_TICK,
        stay=0.7,
        informed=0.25,
    )


# Polymarket: 0.01 tick on [0.01, 0.99], YES around 0.62, logit-space walk with jumps.
_PM_TICK = 0.01
_PM_START_PRICE = 0.62
_PM_DAILY_LOGIT_VOL = 0.3
_PM_JUMPS_PER_DAY = 5.0
_PM_JUMP_SD = 0.35
_PM_MOVE_RATE = 0.3
_PM_CHURN_RATE = 0.5
_PM_TRADE_RATE = 0.06
_PM_SIZE_UNIT = 100  # size units per share: book sizes in 0.01 shares

POLYMARKET_BOOK = BookModel(
    lo_tick=1,
    hi_tick=99,
    levels=16,
    min_levels=12,
    max_levels=20,
    near_gap=1.15,
    deep_gap=1.8,
    size_median=250 * _PM_SIZE_UNIT,
    size_sigma=1.0,
    depth_growth=0.15,
    fill_prob=0.6,
    max_fill=3,
    wide_spread_prob=0.15,
    wide_spread_extra=0.6,
    trade_xm=10 * _PM_SIZE_UNIT,
    trade_alpha=1.1,
    min_size=_PM_SIZE_UNIT,
    impact_ticks=0.1,
    refill_gap=1,
)


def polymarket_schedule(start_ns: int, duration_s: int, rng: np.random.Generator) -> Schedule:
    _check_duration(duration_s)
    vol = _stochastic_vol(rng, duration_s, half_life_s=3600.0, log_sd=0.5)
    logit_vol = _PM_DAILY_LOGIT_VOL / math.sqrt(86400)
    move_rate = _PM_MOVE_RATE * vol
    move_t = _poisson_times(rng, move_rate, start_ns)
    second = (move_t - start_ns) // 1_000_000_000
    dlogit = logit_vol * vol[second] / np.sqrt(move_rate[second]) * _student_t(rng, len(move_t))
    jumps = rng.random(len(move_t)) < _PM_JUMPS_PER_DAY / 86400 / _PM_MOVE_RATE
    dlogit[jumps] += rng.normal(0.0, _PM_JUMP_SD, int(jumps.sum()))
    logit0 = math.log(_PM_START_PRICE / (1.0 - _PM_START_PRICE))
    # Keep the walk away from the grid's ends so the YES and NO books both keep levels.
    logit = np.clip(logit0 + np.cumsum(dlogit), -3.0, 3.0)
    price_ticks = 1.0 / (1.0 + np.exp(-logit)) / _PM_TICK
    move_df = np.diff(price_ticks, prepend=_PM_START_PRICE / _PM_TICK)
    return _merge(
        rng,
        start_ns,
        vol,
        (move_t, move_df),
        churn_rate=_PM_CHURN_RATE * vol**0.7,
        trade_rate=_PM_TRADE_RATE * vol,
        fair0=_PM_START_PRICE / _PM_TICK,
        stay=0.65,
        informed=0.2,
    )


# -- rows -> nautilus objects -----------------------------------------------------------------


def _streams(seed: int, venue: int) -> tuple[np.random.Generator, _Rand]:
    schedule_seq, loop_seq = np.random.SeedSequence([seed, venue]).spawn(2)
    return np.random.default_rng(schedule_seq), _Rand(np.random.default_rng(loop_seq))


def _check_tick(instrument: Instrument, tick: float) -> None:
    if instrument.price_increment != instrument.make_price(tick):
        raise ValueError(
            f"{instrument.id} has tick {instrument.price_increment}; this generator needs {tick}"
        )


def _units(instrument: Instrument, tick: float, size_unit: float) -> tuple[int, int]:
    """Raw fixed-point values of one price tick and one size unit."""
    price_unit = instrument.make_price(tick).raw
    size_raw = instrument.make_qty(size_unit).raw
    return price_unit, size_raw


def _to_deltas(
    instrument: Instrument,
    rows: list[tuple[int, int, int, int, int]],
    size_unit: float,
) -> list[OrderBookDelta]:
    """Delta rows -> `OrderBookDelta`s.

    Every message has its own ts, so F_LAST marks each change of ts; the first message (at the
    start ts) is the snapshot.
    """
    actions, sides, ticks, sizes, stamps = zip(*rows, strict=True)
    ts = np.asarray(stamps, dtype=np.int64)
    last = np.ones(len(ts), dtype=bool)
    last[:-1] = ts[1:] != ts[:-1]
    flags = np.where(last, _F_LAST, 0)
    flags[ts == ts[0]] |= _F_SNAPSHOT
    sequence = np.concatenate([[1], 1 + np.cumsum(last[:-1])])
    ts_init = strictly_increasing_ts_init(ts).tolist()

    iid = instrument.id
    price_unit, size_raw = _units(instrument, float(instrument.price_increment), size_unit)
    pp, sp = instrument.price_precision, instrument.size_precision
    from_raw = OrderBookDelta.from_raw
    deltas = [
        from_raw(iid, a, s, p * price_unit, pp, q * size_raw, sp, 0, f, n, t, ti)
        if a != _CLEAR
        else OrderBookDelta(iid, BookAction.CLEAR, None, f, n, t, ti)
        for a, s, p, q, f, n, t, ti in zip(
            actions,
            sides,
            ticks,
            sizes,
            flags.tolist(),
            sequence.tolist(),
            stamps,
            ts_init,
            strict=True,
        )
    ]
    return deltas


def _to_trades(
    instrument: Instrument,
    rows: list[tuple[int, int, int, int]],
    size_unit: float,
    trade_ids: list[str],
) -> list[TradeTick]:
    iid = instrument.id
    price_unit, size_raw = _units(instrument, float(instrument.price_increment), size_unit)
    pp, sp = instrument.price_precision, instrument.size_precision
    from_raw = TradeTick.from_raw
    return [
        from_raw(iid, p * price_unit, pp, q * size_raw, sp, side, TradeId(tid), t, t)
        for (p, q, side, t), tid in zip(rows, trade_ids, strict=True)
    ]


def generate_gate_perp_events(
    instrument: CryptoPerpetual, start_ns: int, duration_s: int, seed: int
) -> tuple[list[OrderBookDelta], list[TradeTick]]:
    """BTC_USDT-like L2 deltas and trades for `duration_s` seconds (cost is linear in it).

    `instrument` is a BTC_USDT-like perp with a 0.1 tick (normally `gate_sample_instrument()`):
    the model's gaps, spreads and vol are in such ticks.
    """
    _check_tick(instrument, _GATE_TICK)
    rng, rand = _streams(seed, 1)
    schedule = gate_schedule(start_ns, duration_s, rng)
    sim = BookSim(GATE_BOOK, rand)
    sim.run(schedule, start_ns, _GATE_PRICE / _GATE_TICK)
    deltas = _to_deltas(instrument, sim.deltas, 1.0)
    trade_ids = [str(_GATE_FIRST_TRADE_ID + i) for i in range(len(sim.trades))]
    return deltas, _to_trades(instrument, sim.trades, 1.0, trade_ids)


class PolymarketEvents(NamedTuple):
    yes_deltas: list[OrderBookDelta]
    yes_trades: list[TradeTick]
    no_deltas: list[OrderBookDelta]
    no_trades: list[TradeTick]


def _mirror_deltas(rows: list[tuple[int, int, int, int, int]], top: int) -> list[tuple]:
    """YES bid at p of size s <-> NO ask at 1-p of size s (`top` is 1.0 in ticks)."""
    flip = {_BUY: _SELL, _SELL: _BUY, 0: 0}
    return [(a, flip[s], top - p if a != _CLEAR else 0, q, t) for a, s, p, q, t in rows]


def _pm_trade_id(seed: int, outcome: str, index: int) -> str:
    # Deterministic hex ids, like nautilus' blake2b-derived Polymarket trade ids.
    return hashlib.blake2b(f"{seed}:{outcome}:{index}".encode(), digest_size=16).hexdigest()


def generate_polymarket_events(
    yes: BinaryOption, no: BinaryOption, start_ns: int, duration_s: int, seed: int
) -> PolymarketEvents:
    """YES book and trades, and the NO side as their exact mirror at the same timestamps."""
    _check_tick(yes, _PM_TICK)
    _check_tick(no, _PM_TICK)
    rng, rand = _streams(seed, 2)
    schedule = polymarket_schedule(start_ns, duration_s, rng)
    sim = BookSim(POLYMARKET_BOOK, rand)
    sim.run(schedule, start_ns, _PM_START_PRICE / _PM_TICK)
    top = round(1.0 / _PM_TICK)
    unit = 1.0 / _PM_SIZE_UNIT
    no_rows = _mirror_deltas(sim.deltas, top)
    no_trade_rows = [
        (top - p, q, _SELL if side == _BUY else _BUY, t) for p, q, side, t in sim.trades
    ]
    n = len(sim.trades)
    return PolymarketEvents(
        _to_deltas(yes, sim.deltas, unit),
        _to_trades(yes, sim.trades, unit, [_pm_trade_id(seed, "yes", i) for i in range(n)]),
        _to_deltas(no, no_rows, unit),
        _to_trades(no, no_trade_rows, unit, [_pm_trade_id(seed, "no", i) for i in range(n)]),
    )


# -- writing the catalog ----------------------------------------------------------------------


class SampleCatalogError(Exception):
    """The target cannot take the sample (it holds other data); the message says what to do."""


@dataclass
class SampleSummary:
    path: Path
    seed: int
    rows: dict[str, dict[str, int]]  # instrument id -> {"order_book_deltas": n, "trade_tick": n}
    elapsed_s: float = 0.0
    files: list[str] = field(default_factory=list)

    @property
    def total_deltas(self) -> int:
        return sum(r["order_book_deltas"] for r in self.rows.values())

    @property
    def total_trades(self) -> int:
        return sum(r["trade_tick"] for r in self.rows.values())


_BUILD_TAG = ".sample-build-"
_OLD_TAG = ".sample-old-"


def _write_instrument_data(
    catalog: ParquetDataCatalog,
    deltas: list[OrderBookDelta],
    trades: list[TradeTick],
    rows: dict[str, dict[str, int]],
) -> None:
    catalog.write_data(deltas)
    catalog.write_data(trades)
    rows[str(deltas[0].instrument_id)] = {
        "order_book_deltas": len(deltas),
        "trade_tick": len(trades),
    }


def _write_sample(root: Path, seed: int, step: Callable[[str], None]) -> dict[str, dict[str, int]]:
    catalog = ParquetDataCatalog(str(root))
    rows: dict[str, dict[str, int]] = {}

    step("Gate BTC_USDT perp: generating 2 h of book and trades")
    gate = gate_sample_instrument()
    deltas, trades = generate_gate_perp_events(gate, SAMPLE_START_NS, GATE_SAMPLE_DURATION_S, seed)
    step("Gate BTC_USDT perp: writing")
    catalog.write_data([gate])
    _write_instrument_data(catalog, deltas, trades, rows)
    del deltas, trades

    step("Polymarket YES/NO: generating 1 day of book and trades")
    yes, no = polymarket_sample_instruments()
    events = generate_polymarket_events(
        yes, no, SAMPLE_START_NS, POLYMARKET_SAMPLE_DURATION_S, seed
    )
    step("Polymarket YES/NO: writing")
    catalog.write_data([yes, no])
    _write_instrument_data(catalog, events.yes_deltas, events.yes_trades, rows)
    _write_instrument_data(catalog, events.no_deltas, events.no_trades, rows)
    return rows


def _relative_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _marker(seed: int, rows: dict[str, dict[str, int]], files: list[str]) -> dict[str, Any]:
    return {
        "format": "quotekit-sample",
        "version": SAMPLE_FORMAT_VERSION,
        "seed": seed,
        "start": SAMPLE_START.isoformat(),
        "instruments": rows,
        "files": files,
    }


def read_sample_marker(path: Path | str) -> dict[str, Any] | None:
    """The marker of a sample catalog at `path`, or None if there is none (or it is unreadable)."""
    try:
        marker = json.loads((Path(path) / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return None
    return (
        marker if isinstance(marker, dict) and marker.get("format") == "quotekit-sample" else None
    )


def is_sample_catalog_complete(path: Path | str, *, seed: int | None = None) -> bool:
    """True if `path` holds a sample of the current format (and `seed`) with all its files."""
    marker = read_sample_marker(path)
    if marker is None or marker.get("version") != SAMPLE_FORMAT_VERSION:
        return False
    if seed is not None and marker.get("seed") != seed:
        return False
    files = marker.get("files") or []
    return bool(files) and all((Path(path) / f).is_file() for f in files)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_builds(target: Path, tags: tuple[str, ...] = (_BUILD_TAG, _OLD_TAG)) -> None:
    """Temp dirs left by crashed builds (their process is gone) are deleted."""
    for leftover in target.parent.iterdir():
        for tag in tags:
            prefix = f".{target.name}{tag}"
            if not leftover.name.startswith(prefix):
                continue
            pid_text = leftover.name.removeprefix(prefix).split("-", 1)[0]
            if pid_text.isdigit() and int(pid_text) != os.getpid() and _pid_alive(int(pid_text)):
                continue  # another process is building right now
            shutil.rmtree(leftover, ignore_errors=True)


def _sample_owned(relative: str) -> bool:
    """Whether a file under a catalog is one the sample writes (so replacing it loses nothing)."""
    parts = Path(relative).parts
    if relative == MARKER_FILE:
        return True
    ids = {GATE_PERP_ID, POLYMARKET_YES_ID, POLYMARKET_NO_ID}
    return len(parts) >= 3 and parts[0] == "data" and parts[2] in ids


def _check_replaceable(target: Path) -> None:
    if not target.exists() or read_sample_marker(target) is not None:
        return
    if not target.is_dir():
        raise SampleCatalogError(f"{target} exists and is not a directory: choose another path")
    foreign = [f for f in _relative_files(target) if not _sample_owned(f)]
    if foreign:
        raise SampleCatalogError(
            f"{target} already holds a catalog that is not the sample (e.g. {foreign[0]}); "
            "pass another path, or --force to delete it and build the sample there"
        )


def fresh_dir(parent: Path, prefix: str) -> Path:
    """A new directory with umask permissions (`tempfile.mkdtemp` would make the catalog 0700)."""
    while True:
        path = parent / f"{prefix}{secrets.token_hex(4)}"
        with contextlib.suppress(FileExistsError):
            path.mkdir()
            return path


def _install(built: Path, target: Path) -> None:
    """Rename the finished build into place; an existing target is swapped out, then deleted."""
    if target.exists() and not (target.is_dir() and not any(target.iterdir())):
        old = fresh_dir(target.parent, f".{target.name}{_OLD_TAG}{os.getpid()}-")
        os.replace(target, old / "catalog")
        os.replace(built, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(built, target)


@contextlib.contextmanager
def catalog_lock(target: Path) -> Iterator[None]:
    """One writer per catalog at a time (sample builds, ingests; parallel tests or backtests)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; builds are still atomic
        yield
        return
    lock_path = target.parent / f".{target.name}.sample.lock"
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_STEPS = 5  # the `step(...)` calls of one build


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str], None]]:
    """A `step(label)` callback that advances a click progress bar on stderr (or does nothing)."""
    if not enabled:
        yield lambda _label: None
        return
    bar = click.progressbar(
        length=_STEPS,
        label="Building sample catalog",
        file=sys.stderr,
        item_show_func=lambda label: label,
        show_eta=False,
    )
    done = 0

    def step(label: str) -> None:
        nonlocal done
        # Each label names the step now running; the bar counts the ones finished.
        bar.update(min(1, done), label)
        done += 1

    with bar:
        yield step
        bar.update(1, "done")


def build_sample_catalog(
    path: Path | str, *, seed: int = SAMPLE_SEED, progress: bool = False, force: bool = False
) -> SampleSummary:
    """Build the sample into a temp dir next to `path`, then rename it into place (atomic).

    An existing sample (complete or not) is replaced. Any other existing catalog is refused unless
    `force`, so user data is never deleted by accident.
    """
    target = _target(path)
    with catalog_lock(target):
        return _build_locked(target, seed=seed, progress=progress, force=force)


def ensure_sample_catalog(
    path: Path | str, *, seed: int = SAMPLE_SEED, progress: bool = True
) -> bool:
    """Build the sample at `path` unless a complete one is there. True if it built."""
    target = _target(path)
    if is_sample_catalog_complete(target, seed=seed):
        return False
    with catalog_lock(target):
        # Another process may have finished the build while we waited for the lock.
        if is_sample_catalog_complete(target, seed=seed):
            return False
        _build_locked(target, seed=seed, progress=progress, force=False)
    return True


def _target(path: Path | str) -> Path:
    target = Path(path).expanduser().absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _build_locked(target: Path, *, seed: int, progress: bool, force: bool) -> SampleSummary:
    started = time.perf_counter()
    if not force:
        _check_replaceable(target)
    remove_stale_builds(target)
    prefix = f".{target.name}{_BUILD_TAG}{os.getpid()}-"
    build = fresh_dir(target.parent, prefix)
    try:
        with _progress(progress) as step:
            rows = _write_sample(build, seed, step)
            step("finishing")
            files = _relative_files(build)
            marker = _marker(seed, rows, files)
            # The marker is written last: without it the catalog counts as incomplete.
            (build / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n")
            _install(build, target)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return SampleSummary(
        path=target,
        seed=seed,
        rows=rows,
        elapsed_s=time.perf_counter() - started,
        files=[*files, MARKER_FILE],
    )
