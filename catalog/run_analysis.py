"""
Analysis of a backtest run directory (`runs/<run-id>/`, written by `backtest run`) against the
catalog it replayed: PnL marked to the book mid, inventory, our quotes against the touch, markouts
of fills, and the fill probability of a resting quote by its distance from the touch.

Times are UTC; distances are in ticks (the instrument's price increment), positive when behind
the touch.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from catalog.research import TopOfBook
from catalog.research import time_grid
from catalog.research import top_of_book

RUN_DIR_ENV = "QUOTEKIT_RUN_DIR"
DEFAULT_HORIZONS = ("0s", "1s", "5s", "30s", "60s")


class RunError(Exception):
    """A directory that is not (or no longer) a usable backtest run; the message says the fix."""


@dataclass(frozen=True)
class Run:
    """The outputs of one `backtest run` (see backtests/run.py)."""

    path: Path
    config: dict[str, Any]
    summary: dict[str, Any]
    fills: pd.DataFrame
    orders: pd.DataFrame
    order_events: pd.DataFrame
    positions: pd.DataFrame
    account: pd.DataFrame

    @property
    def instruments(self) -> list[str]:
        return list(self.summary["instruments"])

    @property
    def start(self) -> pd.Timestamp:
        return pd.Timestamp(self.summary["start"])

    @property
    def end(self) -> pd.Timestamp:
        return pd.Timestamp(self.summary["end"])

    @property
    def catalog_path(self) -> Path:
        return Path(self.config["backtest"]["catalog"])

    @property
    def inventory_sign(self) -> dict[str, int]:
        """+1 for the quoted instrument, -1 for a binary market's complement (NO offsets YES)."""
        return {iid: 1 if index == 0 else -1 for index, iid in enumerate(self.instruments)}


_RUN_FILES = {
    "config": "config.yaml",
    "summary": "summary.json",
    "fills": "fills.csv",
    "orders": "orders.csv",
    "order_events": "order_events.csv",
    "positions": "positions.csv",
    "account": "account.csv",
}


def load_run(run_dir: Path | str) -> Run:
    """Read a run directory written by `backtest run`."""
    path = Path(run_dir).expanduser()
    if not (path / "summary.json").is_file():
        raise RunError(
            f"{path} is not a backtest run directory (no summary.json). Fix: point "
            f"${RUN_DIR_ENV} (or the notebook's RUN_DIR) at a runs/<run-id>/ directory written "
            "by `backtest run`, or unset it to use the latest run."
        )
    missing = [name for name in _RUN_FILES.values() if not (path / name).is_file()]
    if missing:
        raise RunError(
            f"{path} lacks {', '.join(missing)} (written by an older or interrupted run). "
            f"Fix: run `backtest run {path / 'config.yaml'}` again, or pick another run."
        )

    def csv(name: str) -> pd.DataFrame:
        file = path / _RUN_FILES[name]
        return pd.read_csv(file) if file.stat().st_size > 1 else pd.DataFrame()

    return Run(
        path=path,
        config=yaml.safe_load((path / _RUN_FILES["config"]).read_text()),
        summary=json.loads((path / _RUN_FILES["summary"]).read_text()),
        fills=csv("fills"),
        orders=csv("orders"),
        order_events=csv("order_events"),
        positions=csv("positions"),
        account=csv("account"),
    )


def latest_run(runs_root: Path | str = "runs") -> Path | None:
    """The most recently finished run under `runs_root` that has every output, if any."""
    root = Path(runs_root)
    if not root.is_dir():
        return None
    complete = [
        d
        for d in root.iterdir()
        if d.is_dir()
        and not d.name.startswith(".")
        and all((d / name).is_file() for name in _RUN_FILES.values())
    ]
    return max(complete, key=lambda d: (d / "summary.json").stat().st_mtime, default=None)


def short_backtest(
    config: Path | str = "configs/mm.yaml", *, minutes: float = 10, runs_root: Path | str = "runs"
) -> Path:
    """Run `config` over the first `minutes` of its data (in this process) and return the run."""
    from backtests.config import load_config
    from backtests.config import parse_config
    from backtests.run import plan_run
    from backtests.run import run_backtest

    cfg = load_config(config)
    plan = plan_run(cfg, progress=False)
    raw = copy.deepcopy(cfg.raw)
    raw["backtest"]["start"] = plan.start.isoformat()
    raw["backtest"]["end"] = (plan.start + pd.Timedelta(minutes=minutes)).isoformat()
    short = parse_config(raw, source=cfg.source)
    return run_backtest(short, runs_root=Path(runs_root), progress=False).run_dir


def resolve_run_dir(
    run_dir: Path | str | None = None,
    *,
    runs_root: Path | str = "runs",
    config: Path | str = "configs/mm.yaml",
    minutes: float = 10,
) -> Path:
    """`run_dir`, else $QUOTEKIT_RUN_DIR, else the latest run, else a fresh short backtest."""
    chosen = run_dir or os.environ.get(RUN_DIR_ENV)
    if chosen:
        return Path(chosen)
    return latest_run(runs_root) or short_backtest(config, minutes=minutes, runs_root=runs_root)


def run_books(run: Run, catalog: Path | str | None = None) -> dict[str, TopOfBook]:
    """The top of book of each instrument of the run, from the catalog it replayed."""
    source = catalog or run.catalog_path
    return {iid: top_of_book(source, iid, end=run.end) for iid in run.instruments}


def inventory(run: Run) -> pd.DataFrame:
    """Position per instrument after each fill, and `net` (a binary market's NO counts as -YES)."""
    fills = run.fills
    if fills.empty:
        return pd.DataFrame(columns=[*run.instruments, "net"])
    signed = fills["quantity"] * fills["side"].map({"BUY": 1.0, "SELL": -1.0})
    positions = (
        signed.groupby([fills["ts_event"], fills["instrument_id"]])
        .sum()
        .unstack(fill_value=0.0)
        .reindex(columns=run.instruments, fill_value=0.0)
        .cumsum()
    )
    positions["net"] = sum(positions[iid] * s for iid, s in run.inventory_sign.items())
    positions.index = pd.DatetimeIndex(pd.to_datetime(positions.index, utc=True), name="time")
    return positions


def pnl(run: Run, books: dict[str, TopOfBook], interval: str = "1s") -> pd.DataFrame:
    """PnL over the run on a time grid: cash flows + positions marked to the book mid - fees.

    Columns: `total`, `fees` (paid; negative is a rebate), `cash`, `position_value`. At the end
    of the run `total` equals the run summary's `pnl_total` (both mark to the final mid).
    """
    grid = time_grid(run.start.value, run.end.value, interval, include_end=True)
    fills = run.fills
    cash = np.zeros(len(grid))
    fees = np.zeros(len(grid))
    value = np.zeros(len(grid))
    for iid in run.instruments:
        own = fills[fills["instrument_id"] == iid]  # in time order, as fills.csv is
        if own.empty:
            continue
        mid = books[iid].mid_at(grid)
        sign = own["side"].map({"BUY": 1.0, "SELL": -1.0}).to_numpy()
        quantity = own["quantity"].to_numpy() * sign
        upto = np.searchsorted(own["ts_event"].to_numpy(), grid, side="right")
        cum = np.concatenate([[0.0], np.cumsum(quantity)])
        multiplier = own["multiplier"].to_numpy()
        flows = np.concatenate([[0.0], np.cumsum(-quantity * own["price"].to_numpy() * multiplier)])
        paid = np.concatenate([[0.0], np.cumsum(own["commission"].to_numpy())])
        cash += flows[upto]
        fees += paid[upto]
        held = cum[upto]
        value += np.where(held == 0, 0.0, held * mid * multiplier[0])
    return pd.DataFrame(
        {"total": cash + value - fees, "fees": fees, "cash": cash, "position_value": value},
        index=pd.DatetimeIndex(pd.to_datetime(grid, utc=True), name="time"),
    )


def quote_segments(run: Run) -> pd.DataFrame:
    """Each stretch of time one of our orders rested at the venue at one price and quantity.

    Built from `order_events.csv`: a segment starts at ACCEPTED, UPDATED or a partial fill and
    ends at the order's next event (or the run's end). `filled` says whether it ended in a fill.
    """
    events = run.order_events.sort_values(["client_order_id", "ts_event"], kind="stable")
    per_order = events.groupby("client_order_id", sort=False)
    filled_so_far = events["last_qty"].fillna(0.0).groupby(events["client_order_id"]).cumsum()
    remaining = events["quantity"] - filled_so_far
    live = events["event"].isin(["ACCEPTED", "UPDATED"]) | (
        (events["event"] == "FILLED") & (remaining > 1e-12)
    )
    next_ts = per_order["ts_event"].shift(-1)
    next_event = per_order["event"].shift(-1)
    segments = pd.DataFrame(
        {
            "instrument_id": events["instrument_id"],
            "client_order_id": events["client_order_id"],
            "side": events["side"],
            "price": events["price"],
            "quantity": remaining,
            "start": events["ts_event"],
            "end": next_ts.fillna(run.end.value).astype(np.int64),
            "filled": next_event == "FILLED",
        }
    )[live]
    return segments.sort_values("start", kind="stable").reset_index(drop=True)


def quote_observations(run: Run, books: dict[str, TopOfBook], interval: str = "1s") -> pd.DataFrame:
    """Our resting quotes seen every `interval`: each against the touch, and whether it filled.

    One row per (sample time, resting order): `touch` is the same-side best price in the
    catalog's book, `distance_ticks` how far behind it the quote rests (0 at the touch, negative
    inside the spread), `filled_next` whether the order got a fill within the next interval.
    """
    segments = quote_segments(run)
    step = pd.Timedelta(interval).value
    origin = run.start.value
    # Sample times k*step + origin inside [start, end) of each segment.
    first = -((origin - segments["start"].to_numpy(dtype=np.int64)) // step)
    last = (segments["end"].to_numpy(dtype=np.int64) - 1 - origin) // step
    counts = np.maximum(last - first + 1, 0)
    owner = np.repeat(np.arange(len(segments)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    times = origin + (np.repeat(first, counts) + offsets) * step
    obs = segments.iloc[owner].reset_index(drop=True)
    obs.insert(0, "time", times)
    obs["touch"] = np.nan
    for iid, book in books.items():
        mine = (obs["instrument_id"] == iid).to_numpy()
        top = book.at(obs.loc[mine, "time"].to_numpy())
        buys = (obs.loc[mine, "side"] == "BUY").to_numpy()
        obs.loc[mine, "touch"] = np.where(buys, top["bid"], top["ask"])
    ticks = obs["instrument_id"].map({iid: b.tick for iid, b in books.items()}).astype(float)
    behind = np.where(
        obs["side"] == "BUY", obs["touch"] - obs["price"], obs["price"] - obs["touch"]
    )
    obs["distance_ticks"] = np.round(behind / ticks)
    obs["filled_next"] = _filled_within(run, obs, step)
    obs["time"] = pd.to_datetime(obs["time"], utc=True)
    obs.attrs["interval"] = interval
    return obs


def _filled_within(run: Run, obs: pd.DataFrame, step: int) -> np.ndarray:
    fills = run.order_events[run.order_events["event"] == "FILLED"]
    if fills.empty or obs.empty:
        return np.zeros(len(obs), dtype=bool)
    fill_ts = fills.groupby("client_order_id")["ts_event"].apply(np.sort)
    result = np.zeros(len(obs), dtype=bool)
    for order_id, rows in obs.groupby("client_order_id").indices.items():
        stamps = fill_ts.get(order_id)
        if stamps is None:
            continue
        at = obs["time"].to_numpy()[rows]
        after = np.searchsorted(stamps, at, side="right")
        nxt = np.where(after < len(stamps), stamps[np.minimum(after, len(stamps) - 1)], np.inf)
        result[rows] = nxt - at <= step
    return result


def quotes_vs_touch(observations: pd.DataFrame) -> pd.DataFrame:
    """Per instrument and sample time: the touch and our best bid and ask (NaN when none)."""
    keys = ["instrument_id", "time"]
    buys = observations[observations["side"] == "BUY"].groupby(keys)
    sells = observations[observations["side"] == "SELL"].groupby(keys)
    bids = buys.agg(our_bid=("price", "max"), touch_bid=("touch", "first"))
    asks = sells.agg(our_ask=("price", "min"), touch_ask=("touch", "first"))
    both = bids.join(asks, how="outer")
    return both.reset_index(level="instrument_id")


def fill_probability(
    observations: pd.DataFrame, *, bin_ticks: int = 1, by: list[str] | None = None
) -> pd.DataFrame:
    """Fill probability of a resting quote within one interval, by distance from the touch.

    Distances are grouped in buckets of `bin_ticks` (labelled by their lower edge). Columns:
    `observations`, `fills`, `p_fill` (per interval), its binomial standard error, and the implied
    fill intensity per second (-ln(1 - p) / interval). `by` adds grouping columns (e.g. ["side"]).
    """
    known = observations.dropna(subset=["distance_ticks"])
    bucket = (np.floor(known["distance_ticks"] / bin_ticks) * bin_ticks).rename("distance_ticks")
    keys = [*(known[k] for k in by or []), bucket]
    grouped = known.groupby(keys)["filled_next"]
    table = grouped.agg(observations="size", fills="sum")
    p = table["fills"] / table["observations"]
    table["p_fill"] = p
    table["stderr"] = np.sqrt(p * (1 - p) / table["observations"])
    seconds = pd.Timedelta(observations.attrs["interval"]).total_seconds()
    table["fills_per_s"] = -np.log1p(-p.clip(upper=1 - 1e-9)) / seconds
    return table.reset_index()


def markouts(
    run: Run, books: dict[str, TopOfBook], horizons: tuple[str, ...] = DEFAULT_HORIZONS
) -> pd.DataFrame:
    """Each fill's markout at each horizon: the mid that long after it against the fill price.

    Signed so that positive is good for us (bought below, or sold above, the later mid).
    Columns per horizon h: `markout_{h}` in price units, `markout_{h}_bps`, and `pnl_{h}`
    (the markout times quantity and multiplier: the fill's PnL at that horizon, before fees).
    """
    fills = run.fills.copy()
    sign = fills["side"].map({"BUY": 1.0, "SELL": -1.0}).to_numpy()
    for horizon in horizons:
        later = fills["ts_event"].to_numpy() + pd.Timedelta(horizon).value
        mid = np.full(len(fills), np.nan)
        for iid, book in books.items():
            mine = (fills["instrument_id"] == iid).to_numpy()
            mid[mine] = book.mid_at(later[mine])
        move = sign * (mid - fills["price"].to_numpy())
        fills[f"markout_{horizon}"] = move
        fills[f"markout_{horizon}_bps"] = 1e4 * move / fills["price"]
        fills[f"pnl_{horizon}"] = move * fills["quantity"] * fills["multiplier"]
    fills["time"] = pd.to_datetime(fills["ts_event"], utc=True)
    return fills


def markout_summary(
    markout_table: pd.DataFrame, horizons: tuple[str, ...] = DEFAULT_HORIZONS
) -> pd.DataFrame:
    """Per horizon: fills marked, mean markout (price and bps), and total PnL at that horizon."""
    rows = []
    for horizon in horizons:
        known = markout_table[f"markout_{horizon}"].notna()
        rows.append(
            {
                "horizon": horizon,
                "fills": int(known.sum()),
                "mean_markout": markout_table.loc[known, f"markout_{horizon}"].mean(),
                "mean_bps": markout_table.loc[known, f"markout_{horizon}_bps"].mean(),
                "total_pnl": markout_table.loc[known, f"pnl_{horizon}"].sum(),
            }
        )
    return pd.DataFrame(rows).set_index("horizon")
