"""
Our Polymarket data client in a nautilus TradingNode against the local Polymarket simulator, both
in their own processes over real sockets on 127.0.0.1 (driver: polymarket_data_driver.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest

from tests.conftest import ROOT
from tests.venues.polymarket.process import PolymarketSimulatorProcess

pytestmark = [pytest.mark.polymarket, pytest.mark.integration]


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp_path = tmp_path_factory.mktemp("polymarket-data")
    with PolymarketSimulatorProcess.start(tmp_path, "--updates-per-s", "5") as sim:
        info = tmp_path / "sim.json"
        info.write_text(json.dumps(sim.info))
        done = subprocess.run(
            [
                sys.executable, "-m", "tests.integration.polymarket_data_driver",
                "--info", str(info), "--logs", str(tmp_path),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=180,  # a hang guard only
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_book_snapshots_on_subscribe_match_the_venue(result: dict) -> None:
    assert result["initial_synced"]
    assert result["initial_match"]


def test_price_changes_keep_the_book_and_quotes_exact(result: dict) -> None:
    assert result["updates_after_move"] >= 1
    assert result["move_match"]
    assert result["quote_is_top"]
    assert result["desyncs"] == 0  # the venue's stated best bid/ask always agreed


def test_trades_are_published_for_both_tokens(result: dict) -> None:
    # A crowd buy of YES at its best ask p is a sell of NO at 1 - p (the complementary book).
    price = Decimal(result["traded_at"])
    assert result["trades"] == [
        [False, str(1 - price), "7", "SELLER"],
        [True, str(price), "7", "BUYER"],
    ]
    assert result["trade_match"]


def test_tick_size_change_republishes_the_instrument_and_resyncs(result: dict) -> None:
    assert [tick for _, tick in result["tick_sizes"]] == ["0.001", "0.001"]
    assert result["cache_tick"] == "0.001"
    assert result["resyncs_after_tick"] == 2
    assert result["tick_match"]  # the crowd moved on the new grid; the node follows exactly


def test_dropped_socket_resubscribes_with_fresh_snapshots(result: dict) -> None:
    assert result["dropped"] >= 1
    assert result["reconnects"] == 1
    assert result["resyncs_after_drop"] == 2
    assert result["drop_match"]
    # Staleness is visible: the client's clocks of the last message and book update moved on.
    assert result["data_after_drop"] and result["last_update_after_drop"]
