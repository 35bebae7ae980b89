"""
Market series for the research notebooks, read from the catalog with the project's own readers.

Top of book, spread and depth on a time grid (an L2 replay of the catalog's deltas), trades and
trade flow, realised volatility; plus where the notebooks find the project and its catalog.
Backtest runs are analysed in `catalog.run_analysis`.

Times are UTC `pd.Timestamp`s (or nanosecond ints); prices and sizes are floats in the instrument's
units; distances are in ticks (the instrument's price increment), positive when behind the touch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from catalog.book import Replay
from catalog.book import load_deltas
from catalog.book import replay
from catalog.columns import fixed_to_float
from catalog.columns import read_table
from catalog.columns import timestamps
from catalog.inspect import DataSeries
from catalog.inspect import InstrumentEntry
from catalog.inspect import find_instrument
from catalog.inspect import instrument_definition
from catalog.inspect import list_instruments
from catalog.inspect import require_catalog

SECONDS_PER_YEAR = 365.25 * 24 * 3600


# -- locations --------------------------------------------------------------------------------


def project_root(start: Path | None = None) -> Path:
    """The quotekit checkout holding `start` (default: the working directory).

    Notebooks start in `notebooks/`; the project's relative defaults (`data/catalog`, `runs/`,
    `configs/`) are relative to the root, as for the command line.
    """
    here = (start or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and 'name = "quotekit"' in pyproject.read_text():
            return folder
    raise FileNotFoundError(
        f"{here} is not inside the quotekit checkout (no pyproject.toml naming quotekit above it). "
        "Fix: start Jupyter from the checkout or one of its folders."
    )


def default_catalog(path: Path | str | None = None) -> Path:
    """`path`, else $QUOTEKIT_CATALOG, else data/catalog, as a catalog root.

    The embedded sample is built at the default location when nothing is there yet (a fresh
    clone), and refreshed wherever a sample of an older format is found.
    """
    from backtests.config import CATALOG_ENV
    from backtests.config import resolve_catalog_path
    from catalog.sample import ensure_sample_catalog
    from catalog.sample import read_sample_marker

    explicit = path or os.environ.get(CATALOG_ENV)
    resolved = resolve_catalog_path(str(path) if path else None).expanduser().absolute()
    is_sample = read_sample_marker(resolved) is not None
    if is_sample or (not explicit and not (resolved / "data").is_dir()):
        ensure_sample_catalog(resolved, progress=False)
    return require_catalog(resolved)


# -- the market: catalog series ---------------------------------------------------------------


def instruments_table(catalog: Path | str) -> pd.DataFrame:
    """One row per instrument and data type: class, rows, files, first and last ts_init."""
    rows = [
        {
            "instrument_id": entry.instrument_id,
            "kind": entry.kind,
            "data_type": series.data_type,
            "rows": series.rows,
            "files": len(series.files),
            "start": _utc(series.first_ts),
            "end": _utc(series.last_ts),
        }
        for entry in list_instruments(catalog)
        for series in entry.series
    ]
    return pd.DataFrame(rows)


def instrument_label(catalog: Path | str, instrument_id: str) -> str:
    """A short name for plots: the id, or for an outcome token its outcome and market prefix."""
    definition = instrument_definition(find_instrument(catalog, instrument_id))
    outcome = definition.get("outcome")
    return f"{outcome} ({instrument_id[:10]}…)" if outcome else instrument_id


@dataclass(frozen=True)
class TopOfBook:
    """Best bid and ask after every book message of one instrument."""

    instrument_id: str
    tick: float
    ts: np.ndarray  # ns, the end of each message
    bid: np.ndarray
    ask: np.ndarray
    bid_size: np.ndarray
    ask_size: np.ndarray

    def at(self, times: Any) -> pd.DataFrame:
        """The book in force at each time (NaN before the first message)."""
        stamps = _ns(times)
        index = np.searchsorted(self.ts, stamps, side="right") - 1
        valid = index >= 0
        safe = np.where(valid, index, 0)

        def pick(values: np.ndarray) -> np.ndarray:
            return np.where(valid, values[safe], np.nan) if len(values) else stamps * np.nan

        bid, ask = pick(self.bid), pick(self.ask)
        return pd.DataFrame(
            {
                "bid": bid,
                "ask": ask,
                "bid_size": pick(self.bid_size),
                "ask_size": pick(self.ask_size),
                "mid": (bid + ask) / 2,
                "spread": ask - bid,
                "spread_ticks": np.round((ask - bid) / self.tick),
            },
            index=pd.DatetimeIndex(pd.to_datetime(stamps, utc=True), name="time"),
        )

    def mid_at(self, times: Any) -> np.ndarray:
        return self.at(times)["mid"].to_numpy()

    @classmethod
    def from_replay(cls, entry: InstrumentEntry, book: Replay) -> TopOfBook:
        return cls(
            entry.instrument_id,
            _tick(entry),
            book.ts,
            book.bid,
            book.ask,
            book.bid_size,
            book.ask_size,
        )


def top_of_book(catalog: Path | str, instrument_id: str, *, end: Any = None) -> TopOfBook:
    """Replay the instrument's deltas (up to `end`) into its top of book."""
    entry, series = _deltas_series(catalog, instrument_id)
    return TopOfBook.from_replay(entry, replay(load_deltas(series, end_ns=_ns_or_none(end))))


def book_series(
    catalog: Path | str,
    instrument_id: str,
    *,
    interval: str = "1s",
    start: Any = None,
    end: Any = None,
    depth_levels: int = 5,
) -> pd.DataFrame:
    """Top of book, mid, spread and the depth of the best `depth_levels` levels per side, sampled
    every `interval` (the book in force at each sample time)."""
    entry, series = _deltas_series(catalog, instrument_id)
    first = _ns_or_none(start) or series.first_ts
    last = _ns_or_none(end) or series.last_ts
    grid = time_grid(first, last, interval)
    book = replay(load_deltas(series, end_ns=last), grid, depth_levels)
    frame = TopOfBook.from_replay(entry, book).at(grid)
    frame["bid_depth"] = book.bid_depth
    frame["ask_depth"] = book.ask_depth
    return frame


def trades(
    catalog: Path | str, instrument_id: str, *, start: Any = None, end: Any = None
) -> pd.DataFrame:
    """The instrument's trades: price, size, side (+1 buyer aggressor, -1 seller), trade_id."""
    entry = find_instrument(catalog, instrument_id)
    series = _require(entry, "trade_tick")
    table = read_table(
        series.paths,
        ["price", "size", "aggressor_side", "trade_id", "ts_init"],
        start_ns=_ns_or_none(start),
        end_ns=_ns_or_none(end),
    )
    aggressor = table.column("aggressor_side").to_numpy()
    return pd.DataFrame(
        {
            "price": fixed_to_float(table.column("price")),
            "size": fixed_to_float(table.column("size")),
            "side": np.select([aggressor == 1, aggressor == 2], [1, -1], 0),
            "trade_id": table.column("trade_id").to_pylist(),
        },
        index=pd.DatetimeIndex(
            pd.to_datetime(timestamps(table.column("ts_init")), utc=True), name="time"
        ),
    )


def trade_flow(trade_table: pd.DataFrame, interval: str = "1min") -> pd.DataFrame:
    """Per interval: buy and sell volume (by aggressor), net volume, imbalance, count and VWAP."""
    signed = trade_table["size"] * trade_table["side"]
    frame = pd.DataFrame(
        {
            "buy_volume": trade_table["size"].where(trade_table["side"] > 0, 0.0),
            "sell_volume": trade_table["size"].where(trade_table["side"] < 0, 0.0),
            "net_volume": signed,
            "trades": 1,
            "notional": trade_table["size"] * trade_table["price"],
            "volume": trade_table["size"],
        }
    )
    flow = frame.resample(interval).sum()
    flow["imbalance"] = flow["net_volume"] / flow["volume"].where(flow["volume"] > 0)
    flow["vwap"] = flow["notional"] / flow["volume"].where(flow["volume"] > 0)
    return flow.drop(columns=["notional"])


def realized_volatility(mid: pd.Series, window: str = "5min") -> pd.Series:
    """Annualised realised volatility of log mid returns over a rolling time `window`.

    `mid` is sampled on a regular grid (e.g. `book_series(...)["mid"]`); the sum of squared
    returns in each window is scaled from the window's length to a year.
    """
    span = pd.Timedelta(window)
    returns = np.log(mid).diff()
    variance = (returns**2).rolling(span).sum()
    # The first window is partial: its sum would understate the variance.
    variance = variance[variance.index >= mid.index[0] + span]
    return np.sqrt(variance * SECONDS_PER_YEAR / span.total_seconds())


# -- helpers ----------------------------------------------------------------------------------


def _deltas_series(catalog: Path | str, instrument_id: str) -> tuple[InstrumentEntry, DataSeries]:
    entry = find_instrument(catalog, instrument_id)
    return entry, _require(entry, "order_book_deltas")


def _require(entry: InstrumentEntry, data_type: str) -> DataSeries:
    series = entry.get(data_type)
    if series is None:
        held = ", ".join(s.data_type for s in entry.series) or "no data"
        raise ValueError(
            f"{entry.instrument_id} has no {data_type} in the catalog (it has {held}). "
            "Fix: ingest that data, or pick an instrument that has it (`catalog ls`)."
        )
    return series


def _tick(entry: InstrumentEntry) -> float:
    increment = instrument_definition(entry).get("price_increment")
    if increment is not None:
        return float(increment)
    precision = max((f.price_precision or 0) for s in entry.series for f in s.files)
    return 10.0**-precision


def _ns(times: Any) -> np.ndarray:
    """Timestamps (ints in ns, datetimes, strings) as an int64 ns array."""
    values = np.asarray(times)
    if values.dtype.kind in "iu":
        return values.astype(np.int64)
    if not values.ndim:
        return np.array([_one_ns(times)])
    # as_unit: pandas may keep datetimes in microseconds, and asi8 counts in the array's unit.
    return pd.to_datetime(values, utc=True).as_unit("ns").asi8


def _one_ns(value: Any) -> int:
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).value


def _ns_or_none(value: Any) -> int | None:
    if value is None:
        return None
    return int(value) if isinstance(value, (int, np.integer)) else _one_ns(value)


def _utc(ns: int | None) -> pd.Timestamp | None:
    return pd.Timestamp(ns, tz="UTC") if ns is not None else None


def time_grid(first: int, last: int, interval: str, *, include_end: bool = False) -> np.ndarray:
    """Nanosecond times every `interval` from `first` to `last` (and `last` itself if asked)."""
    step = pd.Timedelta(interval).value
    grid = np.arange(first, last + 1, step, dtype=np.int64)
    if include_end and (not len(grid) or grid[-1] != last):
        grid = np.append(grid, last)
    return grid
