"""
A nautilus TradingNode running the quoting strategy of configs/mm.yaml against the local Gate
simulator: both in their own processes, talking over real sockets on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.venues.gate.process import SimulatorProcess

pytestmark = [pytest.mark.gate, pytest.mark.integration]

ENV = dict(os.environ, GATE_API_KEY="test-key", GATE_API_SECRET="test-secret")
KEY = "test-key"


def _driver(sim: SimulatorProcess, tmp_path: Path, scenario: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "tests.integration.gate_node_driver",
        "--base", sim.base_url, "--rest", sim.rest_url, "--ws", sim.ws_url,
        "--logs", str(tmp_path), "--scenario", scenario, *extra,
    ]  # fmt: skip


def _run(sim: SimulatorProcess, tmp_path: Path, scenario: str) -> dict:
    done = subprocess.run(
        _driver(sim, tmp_path, scenario),
        capture_output=True,
        text=True,
        env=ENV,
        cwd=ROOT,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_quotes_rest_amend_fill_and_stop_cancels_everything(tmp_path: Path) -> None:
    with SimulatorProcess.start(tmp_path, "--updates-per-s", "5") as sim:
        result = _run(sim, tmp_path, "trade")
        assert result["quotes_rested"]
        assert result["commands"]["modifies"] > 0, "the moving market should have amended quotes"
        assert result["fills"] >= 2 and result["fill_sides"] == ["BUY", "SELL"]
        assert result["node_position"] == result["venue_position"]
        assert result["open_after_stop"] == 0
        assert sim.control.get("orders", key=KEY, status="open") == []


def test_gap_and_dropped_socket_resync_the_book(tmp_path: Path) -> None:
    with SimulatorProcess.start(tmp_path, "--updates-per-s", "10") as sim:
        result = _run(sim, tmp_path, "faults")
        assert result["resyncs_after_gap"] >= 1
        assert result["resyncs_after_drop"] > result["resyncs_after_gap"]
        assert result["node_top"] == result["venue_top"]


@pytest.mark.parametrize("honoured", [True, False], ids=["countdown", "countdown-ignored"])
def test_dead_man_switch_cancels_at_the_venue_when_the_process_freezes(
    tmp_path: Path, honoured: bool
) -> None:
    with SimulatorProcess.start(tmp_path, "--updates-per-s", "2", "--min-countdown-s", "1") as sim:
        if not honoured:
            # Control: a venue that ignores the countdown keeps the frozen node's quotes.
            sim.control.post("countdown", honour=False)
        driver = subprocess.Popen(
            _driver(sim, tmp_path, "dead_man", "--dead-man-s", "2"),
            stdout=subprocess.PIPE, text=True, env=ENV, cwd=ROOT,
        )  # fmt: skip
        try:
            assert driver.stdout.readline().strip() == "READY"
            assert sim.control.get("orders", key=KEY, status="open"), "quotes should rest"
            driver.send_signal(signal.SIGSTOP)  # frozen: no more countdown refreshes
            # The switch is armed for 2 s and re-armed every ~0.7 s; 6 s is plenty either way.
            deadline = time.monotonic() + 6
            while sim.control.get("orders", key=KEY, status="open") and time.monotonic() < deadline:
                time.sleep(0.2)
            still_open = sim.control.get("orders", key=KEY, status="open")
            assert (still_open == []) is honoured
        finally:
            driver.kill()
            driver.wait()


def test_restart_adopts_resting_quotes_instead_of_duplicating(tmp_path: Path) -> None:
    with SimulatorProcess.start(tmp_path, "--updates-per-s", "0") as sim:
        first = subprocess.Popen(
            _driver(sim, tmp_path, "dead_man", "--dead-man-s", "60"),
            stdout=subprocess.PIPE, text=True, env=ENV, cwd=ROOT,
        )  # fmt: skip
        try:
            assert first.stdout.readline().strip() == "READY"
            resting = sim.control.get("orders", key=KEY, status="open")
            assert resting
        finally:
            first.kill()  # SIGKILL: no cleanup, the quotes stay at the venue
            first.wait()
        result = _run(sim, tmp_path, "adopt")
        assert result["strategy_open"] == len(resting)
        assert result["venue_open"] == len(resting), "a second ladder was quoted"


def test_submit_timeouts_stay_in_flight_and_resolve_without_rejection(tmp_path: Path) -> None:
    with SimulatorProcess.start(tmp_path, "--updates-per-s", "0") as sim:
        # The first quotes are accepted at the venue but answered after the client gave up.
        sim.control.post("order_timeout", n=2, delay_s=8.0)
        result = _run(sim, tmp_path, "outcomes")
        assert result["rejected"] == 0
        assert result["venue_open"] == result["strategy_open"] > 0
        assert "SUBMITTED" not in result["statuses"]


def test_insufficient_margin_is_a_rejection_with_the_venue_label(tmp_path: Path) -> None:
    account = f"{KEY}:test-secret:10001:5"  # 5 USDT cannot margin a 200-contract BTC quote
    with SimulatorProcess.start(tmp_path, "--updates-per-s", "0", "--account", account) as sim:
        result = _run(sim, tmp_path, "outcomes")
        assert result["rejected"] > 0
        assert result["reject_reasons"] == ["INSUFFICIENT_AVAILABLE"]
        assert result["venue_open"] == result["strategy_open"] == 0


def test_requotes_off_a_lagging_book_are_post_only_rejections(tmp_path: Path) -> None:
    with SimulatorProcess.start(tmp_path) as sim:
        result = _run(sim, tmp_path, "stale_view")
    assert result["rejected"] > 0
    assert result["post_only_rejections"] == result["rejected"]
    assert result["reject_reasons"] == ["ORDER_POC_IMMEDIATE"]
    # Once the feed catches up the ladder is priced off the real book again: nothing crosses it.
    venue_bid, venue_ask = result["venue_top"]
    our_bid, our_ask = result["our_top"]
    assert our_bid is not None and our_bid < venue_ask
    assert our_ask is not None and our_ask > venue_bid
    assert result["node_position"] == result["venue_position"] != 0


def test_a_fill_missed_on_the_websocket_is_recovered_once(tmp_path: Path) -> None:
    with SimulatorProcess.start(tmp_path) as sim:
        result = _run(sim, tmp_path, "lost_fill")
    assert result["fills_while_muted"] > 0, "the amend of the filled order did not recover it"
    assert result["modify_rejected"] == result["cancel_rejected"] == result["rejected"] == 0
    assert result["node_position"] == result["venue_position"] != 0


def test_orders_the_venue_forgot_resolve_as_cancelled(tmp_path: Path) -> None:
    with SimulatorProcess.start(tmp_path, "--updates-per-s", "0") as sim:
        result = _run(sim, tmp_path, "forgotten")
    assert result["venue_cancelled"] == result["forgotten"] > 0
    assert result["changed_forgotten"] > 0
    assert result["queried_forgotten"] == result["changed_forgotten"]
    assert result["forgotten_statuses"] == ["CANCELED"]
    assert result["modify_rejected"] == result["cancel_rejected"] == result["rejected"] == 0
    assert result["venue_open"] == result["strategy_open"] > 0
