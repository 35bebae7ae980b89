"""
Run analysis on a small hand-made run (fills, order events) against a hand-made book, where every
number can be worked out by hand; and the errors for directories that are not usable runs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from catalog.research import TopOfBook
from catalog.research import realized_volatility
from catalog.research import trade_flow
from catalog.run_analysis import Run
from catalog.run_analysis import RunError
from catalog.run_analysis import fill_probability
from catalog.run_analysis import inventory
from catalog.run_analysis import latest_run
from catalog.run_analysis import load_run
from catalog.run_analysis import markout_summary
from catalog.run_analysis import markouts
from catalog.run_analysis import pnl
from catalog.run_analysis import quote_observations
from catalog.run_analysis import quote_segments
from catalog.run_analysis import quotes_vs_touch
from catalog.run_analysis import resolve_run_dir

pytestmark = pytest.mark.catalog

IID = "TEST-PERP.SIM"
T0 = pd.Timestamp("2026-01-05T00:00:00Z")
S = 1_000_000_000


def ns(seconds: float) -> int:
    return T0.value + int(seconds * S)


# The book: 99.9 / 100.1 (mid 100.0) until 10 s, then 100.9 / 101.1 (mid 101.0); tick 0.1.
BOOK = TopOfBook(
    instrument_id=IID,
    tick=0.1,
    ts=np.array([ns(0), ns(10)]),
    bid=np.array([99.9, 100.9]),
    ask=np.array([100.1, 101.1]),
    bid_size=np.array([5.0, 5.0]),
    ask_size=np.array([5.0, 5.0]),
)


def fills_table(rows: list[tuple[float, str, str, float, float, float]]) -> pd.DataFrame:
    """rows: (seconds, order id, side, quantity, price, commission)."""
    return pd.DataFrame(
        [
            {
                "ts_event": ns(t),
                "instrument_id": IID,
                "client_order_id": order,
                "side": side,
                "quantity": qty,
                "price": price,
                "multiplier": 2.0,
                "commission": fee,
                "liquidity_side": "MAKER",
            }
            for t, order, side, qty, price, fee in rows
        ]
    )


def events_table(rows: list[tuple[float, str, str, str, float, float, float]]) -> pd.DataFrame:
    """rows: (seconds, order id, side, event, price, quantity, last_qty)."""
    return pd.DataFrame(
        [
            {
                "ts_event": ns(t),
                "instrument_id": IID,
                "client_order_id": order,
                "side": side,
                "event": event,
                "price": price,
                "quantity": qty,
                "last_qty": last if event == "FILLED" else np.nan,
                "last_px": price if event == "FILLED" else np.nan,
            }
            for t, order, side, event, price, qty, last in rows
        ]
    )


def make_run(fills: pd.DataFrame, events: pd.DataFrame, seconds: float = 20) -> Run:
    summary = {
        "instruments": [IID],
        "start": T0.isoformat(),
        "end": pd.Timestamp(ns(seconds), tz="UTC").isoformat(),
        "currency": "USD",
    }
    config = {"backtest": {"catalog": "unused"}}
    empty = pd.DataFrame()
    return Run(Path("run"), config, summary, fills, empty, events, empty, empty)


FILLS = fills_table(
    [
        (2.0, "A", "BUY", 3.0, 99.9, 0.1),  # bought below the mid
        (12.0, "B", "SELL", 1.0, 101.2, -0.05),  # a rebate
    ]
)
EVENTS = events_table(
    [
        (0.5, "A", "BUY", "ACCEPTED", 99.5, 3.0, 0),  # 4 ticks behind the 99.9 bid
        (1.5, "A", "BUY", "UPDATED", 99.9, 3.0, 0),
        (2.0, "A", "BUY", "FILLED", 99.9, 3.0, 3.0),
        (0.5, "B", "SELL", "ACCEPTED", 101.2, 2.0, 0),
        (12.0, "B", "SELL", "FILLED", 101.2, 2.0, 1.0),  # partly: 1 of 2 left resting
        (15.0, "B", "SELL", "CANCELED", 101.2, 2.0, 0),
    ]
)


def test_pnl_marks_positions_to_the_mid_and_nets_fees() -> None:
    table = pnl(make_run(FILLS, EVENTS), {IID: BOOK}, interval="1s")
    at = table["total"]
    # 5 s: long 3 at 99.9, mid 100, multiplier 2: 3*(100-99.9)*2 - 0.1.
    assert at[T0 + pd.Timedelta("5s")] == pytest.approx(3 * 0.1 * 2 - 0.1)
    # 15 s: long 2, mid 101; sold 1 at 101.2 with a 0.05 rebate.
    cash = -3 * 99.9 * 2 + 1 * 101.2 * 2
    assert at[T0 + pd.Timedelta("15s")] == pytest.approx(cash + 2 * 101.0 * 2 - 0.05)
    assert table["fees"].iloc[-1] == pytest.approx(0.05)
    assert at[T0 + pd.Timedelta("1s")] == 0.0
    assert table.index[-1] == T0 + pd.Timedelta("20s")


def test_inventory_steps_at_fills() -> None:
    table = inventory(make_run(FILLS, EVENTS))
    assert table[IID].tolist() == [3.0, 2.0]
    assert table["net"].tolist() == [3.0, 2.0]
    assert table.index[1] == T0 + pd.Timedelta("12s")


def test_markouts_are_signed_in_our_favour() -> None:
    table = markouts(make_run(FILLS, EVENTS), {IID: BOOK}, horizons=("0s", "5s", "60s"))
    buy, sell = table.iloc[0], table.iloc[1]
    assert buy["markout_0s"] == pytest.approx(100.0 - 99.9)
    assert buy["markout_5s"] == pytest.approx(100.0 - 99.9)  # 7 s: still mid 100
    assert sell["markout_0s"] == pytest.approx(101.2 - 101.0)
    assert buy["pnl_5s"] == pytest.approx(0.1 * 3 * 2)
    assert buy["markout_5s_bps"] == pytest.approx(1e4 * 0.1 / 99.9)
    # The book's last message is in force after it, so long horizons still mark.
    assert sell["markout_60s"] == pytest.approx(0.2)
    summary = markout_summary(table, ("0s", "5s"))
    assert summary.loc["0s", "fills"] == 2
    assert summary.loc["0s", "total_pnl"] == pytest.approx(0.1 * 3 * 2 + 0.2 * 1 * 2)


def test_quote_segments_follow_the_order_events() -> None:
    segments = quote_segments(make_run(FILLS, EVENTS))
    as_tuples = [
        (row.client_order_id, row.price, row.quantity, row.start, row.end, row.filled)
        for row in segments.itertuples()
    ]
    assert as_tuples == [
        ("A", 99.5, 3.0, ns(0.5), ns(1.5), False),
        ("B", 101.2, 2.0, ns(0.5), ns(12), True),
        ("A", 99.9, 3.0, ns(1.5), ns(2), True),
        ("B", 101.2, 1.0, ns(12), ns(15), False),  # the rest after the partial fill
    ]


def test_observations_measure_distance_and_next_second_fills() -> None:
    observations = quote_observations(make_run(FILLS, EVENTS), {IID: BOOK}, interval="1s")
    a = observations[observations["client_order_id"] == "A"]
    # A rests at 99.5 over [0.5, 1.5) -> seen at 1 s; at 99.9 over [1.5, 2) -> not seen.
    assert a["time"].tolist() == [T0 + pd.Timedelta("1s")]
    assert a["distance_ticks"].tolist() == [4.0]
    assert a["filled_next"].tolist() == [True]  # filled at 2 s, within (1 s, 2 s]
    b = observations[observations["client_order_id"] == "B"]
    assert b["time"].tolist() == [T0 + pd.Timedelta(f"{s}s") for s in range(1, 15)]
    # 11 ticks behind the 100.1 ask until 10 s, then 1 tick behind the 101.1 ask.
    assert b["distance_ticks"].tolist() == [11.0] * 9 + [1.0] * 5
    assert b["filled_next"].tolist() == [False] * 10 + [True] + [False] * 3

    table = fill_probability(observations)
    by_distance = table.set_index("distance_ticks")
    assert by_distance.loc[11.0, "observations"] == 9
    assert by_distance.loc[11.0, "fills"] == 0
    assert by_distance.loc[1.0, "observations"] == 5
    assert by_distance.loc[1.0, "fills"] == 1  # seen at 11 s, filled at 12 s
    assert by_distance.loc[4.0, "p_fill"] == 1.0
    p = 1 / 5
    assert by_distance.loc[1.0, "stderr"] == pytest.approx(np.sqrt(p * (1 - p) / 5))
    assert by_distance.loc[1.0, "fills_per_s"] == pytest.approx(-np.log(1 - p))
    binned = fill_probability(observations, bin_ticks=10).set_index("distance_ticks")
    assert binned["observations"].to_dict() == {0.0: 6, 10.0: 9}
    assert binned["fills"].to_dict() == {0.0: 2, 10.0: 0}

    quotes = quotes_vs_touch(observations)
    at_5 = quotes.loc[T0 + pd.Timedelta("5s")]
    assert (at_5["our_ask"], at_5["touch_ask"]) == (101.2, 100.1)
    assert np.isnan(at_5["our_bid"])


def test_trade_flow_and_volatility() -> None:
    times = pd.DatetimeIndex([T0 + pd.Timedelta(s, "s") for s in (1, 2, 61)], name="time")
    trades = pd.DataFrame(
        {"price": [10.0, 20.0, 30.0], "size": [1.0, 3.0, 2.0], "side": [1, -1, 1]}, index=times
    )
    flow = trade_flow(trades, "1min")
    assert flow["buy_volume"].tolist() == [1.0, 2.0]
    assert flow["sell_volume"].tolist() == [3.0, 0.0]
    assert flow["imbalance"].tolist() == [-0.5, 1.0]
    assert flow["vwap"].iloc[0] == pytest.approx((10 + 60) / 4)

    grid = pd.date_range(T0, periods=121, freq="1s")
    mid = pd.Series(100 * np.exp(0.001 * (np.arange(121) % 2)), index=grid)  # +-0.1% each second
    vol = realized_volatility(mid, "1min")
    assert vol.index[0] == T0 + pd.Timedelta("1min")
    expected = np.sqrt(60 * 0.001**2 * 365.25 * 24 * 3600 / 60)
    assert vol.iloc[-1] == pytest.approx(expected)


# -- run directories ----------------------------------------------------------------------------


def write_run(folder: Path, *, skip: str | None = None) -> Path:
    folder.mkdir(parents=True)
    files = {
        "config.yaml": yaml.safe_dump({"backtest": {"catalog": "data/catalog"}}),
        "summary.json": json.dumps({"instruments": [IID], "start": "x", "end": "y"}),
        "fills.csv": FILLS.to_csv(index=False),
        "orders.csv": "\n",
        "order_events.csv": EVENTS.to_csv(index=False),
        "positions.csv": "\n",
        "account.csv": "\n",
    }
    for name, text in files.items():
        if name != skip:
            (folder / name).write_text(text)
    return folder


def test_load_run_reads_every_table(tmp_path: Path) -> None:
    run = load_run(write_run(tmp_path / "r"))
    assert run.fills["price"].tolist() == FILLS["price"].tolist()
    assert len(run.order_events) == len(EVENTS)
    assert run.orders.empty
    assert run.catalog_path == Path("data/catalog")


def test_a_folder_that_is_not_a_run_says_so(tmp_path: Path) -> None:
    with pytest.raises(RunError, match=r"no summary\.json.*QUOTEKIT_RUN_DIR"):
        load_run(tmp_path)


def test_a_run_without_order_events_asks_for_a_rerun(tmp_path: Path) -> None:
    folder = write_run(tmp_path / "old", skip="order_events.csv")
    with pytest.raises(RunError, match=r"lacks order_events\.csv.*backtest run"):
        load_run(folder)


def test_the_latest_complete_run_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = tmp_path / "runs"
    older = write_run(runs / "a")
    newer = write_run(runs / "b")
    write_run(runs / "c", skip="order_events.csv")  # newest, but incomplete
    os.utime(older / "summary.json", (1, 1))
    monkeypatch.delenv("QUOTEKIT_RUN_DIR", raising=False)
    assert latest_run(runs) == newer
    assert resolve_run_dir(runs_root=runs) == newer
    monkeypatch.setenv("QUOTEKIT_RUN_DIR", str(older))
    assert resolve_run_dir(runs_root=runs) == older
    assert latest_run(tmp_path / "none") is None


def test_a_run_without_orders_gives_empty_tables() -> None:
    run = make_run(FILLS.iloc[0:0], EVENTS.iloc[0:0])
    books = {IID: BOOK}
    assert inventory(run).empty
    assert (pnl(run, books)["total"] == 0).all()
    observations = quote_observations(run, books)
    assert observations.empty and fill_probability(observations).empty
    assert quotes_vs_touch(observations).empty
    assert (markout_summary(markouts(run, books))["fills"] == 0).all()
