"""
The supervised live node against the local Gate simulator, driven from outside as an operator
would: `live kill/status/resume` from another process, the simulator's market, a /metrics scrape,
and a real redis-server for the cache database. Node, simulator and CLI each run in their own
process and talk over real sockets on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from prometheus_client.parser import text_string_to_metric_families

from live.killswitch import read_kill_state
from tests.conftest import ROOT
from tests.venues.gate.process import SimulatorProcess

pytestmark = [pytest.mark.gate, pytest.mark.live, pytest.mark.integration]

PERP = "BTC_USDT-PERP.GATE"
LIVE_CLI = str(Path(sys.executable).with_name("live"))
# Generous: these only stop a broken run from hanging; nothing is timed against them.
HANG_GUARD_S = 60.0


class Venue:
    """The simulator with an account whose credentials are fresh random strings, so that any
    occurrence of them in a log file can only be a leak."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.key = f"key{secrets.token_hex(12)}"
        self.secret = f"secret{secrets.token_hex(24)}"
        account = f"{self.key}:{self.secret}:10001:100000"
        self.sim = SimulatorProcess.start(tmp_path, "--account", account, *args)
        self.control = self.sim.control
        self.env = dict(os.environ, GATE_API_KEY=self.key, GATE_API_SECRET=self.secret)

    def open_orders(self) -> list[dict[str, Any]]:
        return self.control.get("orders", key=self.key, status="open")

    def bids(self) -> list[float]:
        return sorted(
            (float(o["price"]) for o in self.open_orders() if o["size"] > 0), reverse=True
        )

    def sell_through(self, price: float) -> None:
        """Move the market down so its ask meets `price`: our bids there fill as maker."""
        self.control.post("market/move", bid=round(price - 0.5, 1), ask=round(price, 1))

    def assert_no_leak(self, *roots: Path) -> None:
        for root in roots:
            for path in root.rglob("*"):
                if path.is_file():
                    text = path.read_bytes()
                    for secret in (self.key, self.secret):
                        assert secret.encode() not in text, f"credential written to {path}"


class SupervisedNode:
    """tests/integration/supervised_node_driver.py in a child process, until stop()."""

    def __init__(
        self, venue: Venue, work: Path, state_dir: Path, name: str, **options: Any
    ) -> None:
        self.ready_file = work / f"{name}-ready.json"
        self.result_file = work / f"{name}-result.json"
        self.output = work / f"{name}.out"
        args = [
            "--rest", venue.sim.rest_url, "--ws", venue.sim.ws_url,
            "--logs", str(work / "logs"), "--state-dir", str(state_dir),
            "--ready-file", str(self.ready_file), "--result-file", str(self.result_file),
            "--risk", json.dumps(options.get("risk", {})),
            "--strategy", json.dumps(options.get("strategy", {})),
            "--redis-port", str(options.get("redis_port", 0)),
        ]  # fmt: skip
        with self.output.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.integration.supervised_node_driver", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=venue.env,
                cwd=ROOT,
            )
        wait_for(lambda: self.ready_file.exists() or self.proc.poll() is not None)
        assert self.proc.poll() is None, self.output.read_text()[-4000:]
        self.ready = json.loads(self.ready_file.read_text())

    def stop(self) -> dict[str, Any]:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(HANG_GUARD_S)
        assert self.proc.returncode == 0, self.output.read_text()[-4000:]
        return json.loads(self.result_file.read_text())

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def metric(self, name: str, **labels: str) -> float | None:
        with urllib.request.urlopen(self.ready["metrics_url"], timeout=10) as response:
            text = response.read().decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    return sample.value
        return None


def wait_for(predicate: Callable[[], bool], timeout_s: float = HANG_GUARD_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout_s:g} s")
        time.sleep(0.05)


def live(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LIVE_CLI, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=HANG_GUARD_S
    )


def status(state_dir: Path) -> dict[str, Any]:
    done = live("status", "--state-dir", str(state_dir), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_kill_from_another_process_cancels_at_the_venue_and_a_restart_stays_halted(
    tmp_path: Path,
) -> None:
    venue = Venue(tmp_path, "--updates-per-s", "5")
    state_dir = tmp_path / "state"
    node = SupervisedNode(venue, tmp_path, state_dir, "first")
    try:
        wait_for(lambda: len(venue.open_orders()) == 4)  # two levels a side
        killed = live("kill", "--state-dir", str(state_dir), "--reason", "operator test")
        assert killed.returncode == 0, killed.stderr
        # `live kill` returns once the node holds no open order: the venue has cancelled them.
        assert venue.open_orders() == []
        print(killed.stdout.strip().splitlines()[-1])  # "... (N ms after the kill)"
        # The strategy tries to quote again at once and is refused: nothing reaches the venue.
        wait_for(lambda: (node.metric("quotekit_denied_total", limit="halted") or 0) > 0)
        assert venue.open_orders() == []
        shown = status(state_dir)
        assert shown["running"] and shown["trading_state"] == "HALTED"
        assert shown["kill_switch"]["reason"] == "operator test"
        assert node.metric("quotekit_kill_switch") == 1.0
        node.stop()
    finally:
        node.kill()
    kill_state = read_kill_state(state_dir)
    assert kill_state.halted and kill_state.source == "control"

    restarted = SupervisedNode(venue, tmp_path, state_dir, "restarted")
    try:
        shown = status(state_dir)
        assert shown["trading_state"] == "HALTED"
        assert shown["kill_switch"] == msgspec.to_builtins(kill_state)
        wait_for(lambda: (restarted.metric("quotekit_denied_total", limit="halted") or 0) > 0)
        assert venue.open_orders() == [], "a restarted node quoted while halted"
        resumed = live("resume", "--state-dir", str(state_dir))
        assert resumed.returncode == 0, resumed.stderr
        assert "ACTIVE" in resumed.stdout
        wait_for(lambda: len(venue.open_orders()) > 0)
        restarted.stop()
    finally:
        restarted.kill()
        venue.sim.stop()
    assert not read_kill_state(state_dir).halted
    venue.assert_no_leak(tmp_path / "logs", state_dir, *tmp_path.glob("*.out"))


def test_a_fill_past_max_position_kills_after_the_order_that_would_breach_was_denied(
    tmp_path: Path,
) -> None:
    venue = Venue(tmp_path, "--updates-per-s", "0")
    state_dir = tmp_path / "state"
    # Two bids of 200 each pass alone against a flat position; both filled make 400 > 300.
    node = SupervisedNode(
        venue,
        tmp_path,
        state_dir,
        "breach",
        strategy={"levels": 2, "size_growth": 1.0},
        risk={"max_position": 300},
    )
    try:
        wait_for(lambda: len(venue.open_orders()) == 4)
        # Gauges follow on the supervisor's next tick.
        wait_for(lambda: node.metric("quotekit_open_orders", instrument=PERP) == 4)
        assert node.metric("quotekit_fills_total", instrument=PERP, side="buy") is None

        venue.sell_through(venue.bids()[0])
        wait_for(lambda: status(state_dir)["instruments"][0]["position"] == 200)
        # Requoting the filled level would leave 400 if it filled too: denied with the reason.
        wait_for(lambda: (node.metric("quotekit_denied_total", limit="max_position") or 0) > 0)
        assert node.metric("quotekit_fills_total", instrument=PERP, side="buy") == 1
        wait_for(lambda: node.metric("quotekit_inventory", instrument=PERP) == 200)
        assert status(state_dir)["trading_state"] == "ACTIVE"

        venue.sell_through(min(venue.bids()))
        wait_for(lambda: status(state_dir)["trading_state"] == "HALTED")
        shown = status(state_dir)
        assert shown["instruments"][0]["position"] == 400
        assert shown["kill_switch"]["reason"].startswith("max_position: position 400 > 300")
        wait_for(lambda: venue.open_orders() == [])
        assert node.metric("quotekit_kill_switch") == 1.0
        assert node.metric("quotekit_fills_total", instrument=PERP, side="buy") == 2
        result = node.stop()
    finally:
        node.kill()
        venue.sim.stop()
    assert read_kill_state(state_dir).source == "breach"
    denied = [r for r in result["denied"] if r.startswith("max_position")]
    assert denied and denied[0] == f"max_position: a fill would leave 400 > 300 ({PERP})"
    venue.assert_no_leak(tmp_path / "logs", state_dir, *tmp_path.glob("*.out"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_orders_and_positions_survive_a_restart_in_redis(tmp_path: Path) -> None:
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        pytest.skip("redis-server is not installed (.ci/run installs it with apt-get)")
    port = _free_port()
    redis = subprocess.Popen(
        [redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    venue = Venue(tmp_path, "--updates-per-s", "0")
    state_dir = tmp_path / "state"
    try:
        wait_for(lambda: _accepts(port))
        first = SupervisedNode(venue, tmp_path, state_dir, "first", redis_port=port)
        try:
            assert first.ready["loaded_orders"] == [], "the database was not empty"
            wait_for(lambda: len(venue.open_orders()) == 4)
            venue.sell_through(venue.bids()[0])
            wait_for(lambda: status(state_dir)["instruments"][0]["position"] == 200)
            result = first.stop()
        finally:
            first.kill()
        second = SupervisedNode(venue, tmp_path, state_dir, "second", redis_port=port)
        try:
            assert set(result["client_order_ids"]) <= set(second.ready["loaded_orders"])
            assert second.ready["loaded_positions"] == {PERP: 200.0}
            second.stop()
        finally:
            second.kill()
    finally:
        venue.sim.stop()
        redis.terminate()
        redis.wait()


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
