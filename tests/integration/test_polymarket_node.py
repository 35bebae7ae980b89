"""
A nautilus TradingNode running the quoting strategy of configs/mm_polymarket.yaml with our
Polymarket clients against the local Polymarket simulator: both in their own processes, talking
over real sockets on 127.0.0.1.
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
from eth_account import Account

from tests.conftest import ROOT
from tests.venues.polymarket.process import PolymarketSimulatorProcess
from tests.venues.polymarket.server import ANVIL_KEYS

pytestmark = [pytest.mark.polymarket, pytest.mark.integration]

ENV = {k: v for k, v in os.environ.items() if not k.startswith("POLYMARKET_")}
ENV["POLYMARKET_PK"] = ANVIL_KEYS[0]
ADDRESS = Account.from_key(ANVIL_KEYS[0]).address


def _live_orders(sim: PolymarketSimulatorProcess, address: str) -> list[dict]:
    return sim.control.get("orders", address=address, status="LIVE")


def _run(sim: PolymarketSimulatorProcess, tmp_path: Path, scenario: str, *extra: str) -> dict:
    info = tmp_path / "sim.json"
    info.write_text(json.dumps(sim.info))
    done = subprocess.run(
        [
            sys.executable, "-m", "tests.integration.polymarket_node_driver",
            "--info", str(info), "--logs", str(tmp_path), "--scenario", scenario, *extra,
        ],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=ROOT,
        timeout=180,  # a hang guard only
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_quotes_both_tokens_fills_and_stop_cancels_everything(tmp_path: Path) -> None:
    with PolymarketSimulatorProcess.start(tmp_path, "--updates-per-s", "0") as sim:
        result = _run(sim, tmp_path, "trade")
    assert result["quotes_rested"]
    # The YES ask is quoted as a NO bid: nothing is ever sold short.
    assert result["first_quotes"] == [["NO", "BUY"], ["NO", "BUY"], ["YES", "BUY"], ["YES", "BUY"]]
    assert result["fills"] > 0 and result["fill_ids_unique"]
    assert result["node_positions"] == result["venue_positions"]
    # YES bought at our bid and sold back at our ask, then NO bought (our ask quoted as a NO bid).
    assert len(result["fill_instruments"]) == 2
    assert result["node_positions"]["NO"] > 0
    assert result["modify_rejected"] == 0, "the strategy must not amend on Polymarket"
    assert result["heartbeats"] > 0
    assert result["open_after_stop"] == 0


def test_a_sell_of_tokens_not_held_is_denied_locally(tmp_path: Path) -> None:
    with PolymarketSimulatorProcess.start(tmp_path, "--updates-per-s", "0") as sim:
        result = _run(sim, tmp_path, "naked_sell")
    assert result["naked_status"] == "DENIED"
    assert result["naked_reason"].startswith("no naked sells: selling 50.000000")
    assert result["posts_for_naked"] == 0, "a denied order must never reach the venue"


def test_submits_that_time_out_stay_in_flight_and_resolve_without_rejection(
    tmp_path: Path,
) -> None:
    with PolymarketSimulatorProcess.start(tmp_path, "--updates-per-s", "0") as sim:
        # The first posts are accepted at the venue but answered after the client gave up.
        sim.control.post("order_timeout", n=2, delay_s=20.0)
        result = _run(sim, tmp_path, "submit_timeout")
    assert result["unknown_outcomes"] > 0
    assert result["rejected"] == 0
    assert "SUBMITTED" not in result["statuses"]
    assert result["open_after_stop"] == 0


def _start_quoting_node(sim: PolymarketSimulatorProcess, tmp_path: Path) -> subprocess.Popen:
    """A node that quotes and prints READY, then runs until it is frozen or killed."""
    info = tmp_path / "sim.json"
    info.write_text(json.dumps(sim.info))
    return subprocess.Popen(
        [
            sys.executable, "-m", "tests.integration.polymarket_node_driver",
            "--info", str(info), "--logs", str(tmp_path), "--scenario", "dead_man",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=ENV,
        cwd=ROOT,
    )  # fmt: skip


def test_heartbeats_lapse_when_the_process_freezes_and_the_venue_cancels(tmp_path: Path) -> None:
    with PolymarketSimulatorProcess.start(
        tmp_path, "--updates-per-s", "0", "--heartbeat-timeout-s", "3"
    ) as sim:
        node = _start_quoting_node(sim, tmp_path)
        try:
            assert node.stdout.readline().strip() == "READY"
            address = ADDRESS
            resting = _live_orders(sim, address)
            assert resting, "the node quoted nothing"
            node.send_signal(signal.SIGSTOP)  # frozen: no heartbeats, no cancels
            deadline = time.monotonic() + 20
            while _live_orders(sim, address) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert _live_orders(sim, address) == []
            lapses = sim.control.get("heartbeat", address=address)["lapses"]
            assert lapses >= 1
        finally:
            node.kill()
            node.wait()


def test_restart_adopts_resting_quotes_instead_of_duplicating(tmp_path: Path) -> None:
    with PolymarketSimulatorProcess.start(
        tmp_path, "--updates-per-s", "0", "--heartbeat-timeout-s", "60"
    ) as sim:
        first = _start_quoting_node(sim, tmp_path)
        try:
            assert first.stdout.readline().strip() == "READY"
            resting = _live_orders(sim, ADDRESS)
            assert resting
        finally:
            first.kill()  # SIGKILL: no cleanup, the quotes stay at the venue
            first.wait()
        result = _run(sim, tmp_path, "adopt")
    assert result["strategy_open"] == len(resting)
    assert result["venue_open"] == len(resting), "a second ladder was quoted"
    assert result["open_after_stop"] == 0


def test_an_ambiguous_503_and_dropped_sockets_resolve_without_rejection(tmp_path: Path) -> None:
    with PolymarketSimulatorProcess.start(tmp_path, "--updates-per-s", "0") as sim:
        result = _run(sim, tmp_path, "faults")
    assert result["unknown_outcomes"] > 0
    assert result["user_ws_reconnected"]
    assert result["rejected"] == 0
    assert "SUBMITTED" not in result["statuses"]
    assert result["fills"] > 0
    assert result["node_positions"] == result["venue_positions"]
    assert result["open_after_stop"] == 0
