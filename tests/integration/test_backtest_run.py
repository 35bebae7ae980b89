"""
`backtest run` end to end, as a user runs it (a subprocess: nautilus allows one kernel per process),
over short slices of the sample catalog for both venues.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

BACKTEST = Path(sys.executable).parent / "backtest"
SLICES = {
    "mm.yaml": ("2026-01-05T00:00:00Z", "2026-01-05T00:20:00Z"),
    "mm_polymarket.yaml": ("2026-01-05T00:00:00Z", "2026-01-05T12:00:00Z"),
}


def _run(config: str, catalog: Path, workdir: Path) -> tuple[dict, pd.DataFrame, Path]:
    data = yaml.safe_load((ROOT / "configs" / config).read_text())
    start, end = SLICES[config]
    data["backtest"].update(catalog=str(catalog), start=start, end=end)
    path = workdir / config
    path.write_text(yaml.safe_dump(data))
    out = workdir / f"run-{path.stem}"
    done = subprocess.run(
        [str(BACKTEST), "run", str(path), "--output", str(out)],
        capture_output=True,
        text=True,
        cwd=workdir,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "pnl total" in done.stdout
    summary = json.loads((out / "summary.json").read_text())
    return summary, pd.read_csv(out / "fills.csv"), out


@pytest.fixture(scope="module")
def gate_run(sample_catalog: Path, tmp_path_factory: pytest.TempPathFactory):
    return _run("mm.yaml", sample_catalog, tmp_path_factory.mktemp("gate"))


@pytest.fixture(scope="module")
def polymarket_run(sample_catalog: Path, tmp_path_factory: pytest.TempPathFactory):
    return _run("mm_polymarket.yaml", sample_catalog, tmp_path_factory.mktemp("polymarket"))


def _accounting_total(summary: dict, fills: pd.DataFrame) -> float:
    """Cash flows + marked position - fees, recomputed from the fills ledger alone."""
    sign = fills["side"].map({"BUY": 1.0, "SELL": -1.0})
    cash = float((-sign * fills["quantity"] * fills["price"] * fills["multiplier"]).sum())
    position = (sign * fills["quantity"]).groupby(fills["instrument_id"]).sum()
    multiplier = fills.groupby("instrument_id")["multiplier"].first()
    marked = sum(
        position[iid] * summary["mark_prices"][iid] * multiplier[iid] for iid in position.index
    )
    return cash + marked - float(fills["commission"].sum())


@pytest.mark.parametrize("run_name", ["gate_run", "polymarket_run"])
def test_run_writes_every_output(run_name: str, request: pytest.FixtureRequest) -> None:
    summary, _fills, out = request.getfixturevalue(run_name)
    for name in ("config.yaml", "orders.csv", "fills.csv", "positions.csv", "account.csv"):
        assert (out / name).stat().st_size > 0, name
    required = {
        "events", "wall_seconds", "order_commands", "fills_buy", "fills_sell", "volume_quote",
        "fees", "pnl_realized", "pnl_unrealized", "pnl_total", "max_abs_position",
    }  # fmt: skip
    assert required <= summary.keys()
    assert summary["events"] > 10_000
    assert (
        summary["order_commands"] == summary["submits"] + summary["modifies"] + summary["cancels"]
    )
    resolved = yaml.safe_load((out / "config.yaml").read_text())
    assert resolved["backtest"]["venue"]["latency"]["base_ms"] > 0
    assert not list(out.parent.glob(".*.partial"))


@pytest.mark.parametrize("run_name", ["gate_run", "polymarket_run"])
def test_quotes_fill_on_both_sides(run_name: str, request: pytest.FixtureRequest) -> None:
    summary, fills, _ = request.getfixturevalue(run_name)
    assert summary["fills_buy"] > 5 and summary["fills_sell"] > 5
    assert summary["fills_buy"] == int((fills["side"] == "BUY").sum())
    # Post-only quotes: every fill is a maker fill.
    assert set(fills["liquidity_side"]) == {"MAKER"}


@pytest.mark.parametrize("run_name", ["gate_run", "polymarket_run"])
def test_accounting_identity(run_name: str, request: pytest.FixtureRequest) -> None:
    summary, fills, _ = request.getfixturevalue(run_name)
    expected = _accounting_total(summary, fills)
    assert summary["pnl_total"] == pytest.approx(expected, abs=1e-4)
    assert summary["fees"] == pytest.approx(fills["commission"].sum(), abs=1e-6)
    assert summary["volume_quote"] == pytest.approx(fills["notional"].sum(), rel=1e-9)


def test_gate_position_stays_within_limit(gate_run) -> None:
    summary, fills, out = gate_run
    limit = yaml.safe_load((out / "config.yaml").read_text())["strategy"]["max_position"]
    sign = fills["side"].map({"BUY": 1.0, "SELL": -1.0})
    path = (sign * fills["quantity"]).cumsum()
    assert path.abs().max() <= limit
    assert summary["max_abs_position"] == pytest.approx(path.abs().max())
    # Gate's maker rebate: maker fills earn fees back.
    assert summary["fees"] < 0


def test_polymarket_never_sells_tokens_it_does_not_hold(polymarket_run) -> None:
    _summary, fills, _ = polymarket_run
    sign = fills["side"].map({"BUY": 1.0, "SELL": -1.0})
    holdings = (sign * fills["quantity"]).groupby(fills["instrument_id"]).cumsum()
    assert holdings.min() >= -1e-9, "a token was sold short"
    assert len(set(fills["instrument_id"])) == 2, "the NO token should carry part of the quoting"
    assert (fills["price"] > 0).all() and (fills["price"] < 1).all()
