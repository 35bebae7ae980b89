"""
`live run` and `live doctor` as a user runs them: the real command in a child process, against the
local Gate simulator in another, over sockets on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from eth_account import Account

from live.cli import main
from tests.conftest import ROOT
from tests.venues.gate.process import SimulatorProcess
from tests.venues.polymarket.process import PolymarketSimulatorProcess
from tests.venues.polymarket.server import ANVIL_KEYS

pytestmark = [pytest.mark.live, pytest.mark.integration, pytest.mark.gate]

# Distinctive values, so finding them anywhere in the outputs means a leak.
KEY = "qk-live-key-4f2a9c"
SECRET = "qk-live-secret-8d1e7b3f"
ACCOUNT = f"{KEY}:{SECRET}:10001:100000"
CONFIG = ROOT / "configs" / "mm.yaml"
# A hang guard only: start-up takes seconds; these bound a broken run, not a slow one.
PATIENCE_S = 90


def _env(**credentials: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATE_", "POLYMARKET_"))}
    return env | credentials


def _live(*args: str) -> list[str]:
    return [sys.executable, "-m", "live.cli", *args]


def _endpoints(sim: SimulatorProcess) -> list[str]:
    return ["--rest-url", sim.rest_url, "--ws-url", sim.ws_url]


def _fast_config(tmp_path: Path, **live: Any) -> Path:
    """configs/mm.yaml, requoting faster so a few seconds show activity."""
    data = yaml.safe_load(CONFIG.read_text())
    data["strategy"] |= {"min_requote_interval_ms": 200, "requote_tolerance_ticks": 2}
    data["live"] |= live
    path = tmp_path / "mm.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _wait_for(predicate: Callable[[], Any], what: str, proc: subprocess.Popen) -> Any:
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc.poll() is not None:
            pytest.fail(f"the node exited ({proc.returncode}) before {what}")
        time.sleep(0.2)
    pytest.fail(f"gave up waiting for {what}")


def _stop(proc: subprocess.Popen) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=PATIENCE_S)
    return proc.returncode, out, err


def _log_lines(run_dir: Path) -> list[dict]:
    [log] = run_dir.glob("node.json*")
    return [json.loads(line) for line in log.read_text().splitlines()]


def _open_orders(sim: SimulatorProcess) -> list[dict]:
    return sim.control.get("orders", key=KEY, status="open")


def _assert_no_secrets(run_dir: Path, *streams: str) -> None:
    for path in run_dir.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert KEY not in text and SECRET not in text, f"{path.name} holds a credential"
    _assert_not_printed(*streams)


def _assert_not_printed(*streams: str) -> None:
    for stream in streams:
        assert KEY not in stream and SECRET not in stream, "a credential was printed"


def _check_lines(output: str) -> dict[str, str]:
    """check name -> its line (`ok    name   detail` or `FAIL  name   detail`)."""
    return {
        line.split()[1]: line for line in output.splitlines() if line.startswith(("ok ", "FAIL "))
    }


def test_live_without_credentials_exits_2_naming_them_and_writes_nothing(tmp_path: Path) -> None:
    output = tmp_path / "run"
    done = subprocess.run(
        _live("run", "--venue", "gate", "--config", str(CONFIG), "--output", str(output)),
        capture_output=True,
        text=True,
        env=_env(GATE_API_KEY=KEY),
        cwd=tmp_path,
        timeout=PATIENCE_S,
    )
    assert done.returncode == 2
    assert "GATE_API_SECRET" in done.stderr and "--paper" in done.stderr
    assert "GATE_API_KEY" not in done.stderr, "a variable that is set was named as missing"
    assert not output.exists() and not (tmp_path / "runs").exists()


def test_live_run_quotes_at_the_venue_then_sigint_flattens_and_cancels_everything(
    tmp_path: Path,
) -> None:
    output = tmp_path / "run"
    with SimulatorProcess.start(tmp_path, "--updates-per-s", "5", "--account", ACCOUNT) as sim:
        proc = subprocess.Popen(
            _live(
                "run", "--venue", "gate", "--config", str(_fast_config(tmp_path)),
                *_endpoints(sim), "--output", str(output), "--state-dir", str(tmp_path / "state"),
                "--flatten-on-stop",
            ),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
            env=_env(GATE_API_KEY=KEY, GATE_API_SECRET=SECRET),
        )  # fmt: skip
        try:
            resting = _wait_for(lambda: _open_orders(sim), "quotes resting at the venue", proc)
            # Sell down through our best bid: it fills, so the stop has a position to close.
            best_bid = max(float(o["price"]) for o in resting if float(o["size"]) > 0)
            sim.control.post("market/move", bid=round(best_bid - 0.5, 1), ask=best_bid)
            _wait_for(
                lambda: sim.control.get("position", key=KEY, contract="BTC_USDT")["size"],
                "a fill",
                proc,
            )
            code, out, err = _stop(proc)
        finally:
            proc.kill()
        assert code == 0, err[-3000:]
        assert _open_orders(sim) == []
        assert sim.control.get("position", key=KEY, contract="BTC_USDT")["size"] == 0
    assert "stopped cleanly" in out
    config = yaml.safe_load((output / "config.yaml").read_text())
    assert config["mode"] == "live" and config["endpoints"]["rest_url"] == sim.rest_url
    summary = json.loads((output / "summary.json").read_text())
    assert summary["fills"] >= 2 and summary["open_orders"] == 0
    assert summary["positions"] == {"BTC_USDT-PERP.GATE": 0.0}
    messages = [line["message"] for line in _log_lines(output)]
    assert any("OrderAccepted" in m for m in messages)
    _assert_no_secrets(output, out, err)


def test_on_start_cancel_clears_resting_orders_before_quoting(tmp_path: Path) -> None:
    output = tmp_path / "run"
    config = _fast_config(tmp_path, reconciliation={"on_start": "cancel"})
    with SimulatorProcess.start(tmp_path, "--updates-per-s", "0", "--account", ACCOUNT) as sim:
        # A quote left by an earlier process that died without cleaning up.
        stale = _place_order(sim, price="20000", size=7)
        proc = subprocess.Popen(
            _live(
                "run", "--venue", "gate", "--config", str(config), *_endpoints(sim),
                "--output", str(output), "--state-dir", str(tmp_path / "state"),
            ),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
            env=_env(GATE_API_KEY=KEY, GATE_API_SECRET=SECRET),
        )  # fmt: skip
        try:
            quotes = _wait_for(
                lambda: [o for o in _open_orders(sim) if o["id"] != stale["id"]],
                "fresh quotes",
                proc,
            )
            assert stale["id"] not in {o["id"] for o in _open_orders(sim)}
            code, out, err = _stop(proc)
        finally:
            proc.kill()
        assert code == 0, err[-3000:]
        [finished] = [o for o in sim.control.get("orders", key=KEY) if o["id"] == stale["id"]]
        assert finished["finish_as"] == "cancelled"
        assert finished["finish_time"] <= min(q["create_time"] for q in quotes)
        assert _open_orders(sim) == []
    assert "cancelled 1 resting order(s)" in out


def _place_order(sim: SimulatorProcess, *, price: str, size: int) -> dict:
    import asyncio

    from adapters.gate.http import GateHttpClient

    async def place() -> dict:
        http = GateHttpClient(sim.rest_url, api_key=KEY, api_secret=SECRET)
        try:
            body = {"contract": "BTC_USDT", "size": size, "price": price, "tif": "gtc"}
            return await http.request("POST", "/futures/usdt/orders", body=body, signed=True)
        finally:
            await http.close()

    return asyncio.run(place())


def test_paper_quotes_on_public_data_with_simulated_fills_and_no_venue_orders(
    tmp_path: Path,
) -> None:
    output = tmp_path / "run"
    with SimulatorProcess.start(tmp_path, "--updates-per-s", "5", "--account", ACCOUNT) as sim:
        proc = subprocess.Popen(
            _live(
                "run", "--venue", "gate", "--paper", "--config", str(_fast_config(tmp_path)),
                *_endpoints(sim), "--output", str(output), "--state-dir", str(tmp_path / "state"),
            ),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=_env(),
        )  # fmt: skip
        try:
            _wait_for(lambda: output.is_dir() and _accepted(output), "paper quotes accepted", proc)
            # The public market falls through our simulated bids, then rises through our asks.
            top = sim.control.get("book", contract="BTC_USDT", limit=1)
            bid = float(top["bids"][0][0])
            sim.control.post("market/move", bid=round(bid - 50, 1), ask=round(bid - 49.5, 1))
            time.sleep(1.0)
            sim.control.post("market/move", bid=round(bid + 50, 1), ask=round(bid + 50.5, 1))
            _wait_for(lambda: _filled(output), "a simulated fill", proc)
            code, out, err = _stop(proc)
        finally:
            proc.kill()
        assert code == 0, err[-3000:]
        assert all(r["key"] is None for r in sim.control.get("requests")), "a signed request"
        assert _open_orders(sim) == []
    summary = json.loads((output / "summary.json").read_text())
    assert summary["fills"] > 0 and summary["open_orders"] == 0
    config = yaml.safe_load((output / "config.yaml").read_text())
    assert config["mode"] == "paper"
    assert config["backtest"]["venue"]["latency"]["base_ms"] == 15.0
    fills = [m for m in _messages(output) if "OrderFilled(" in m]
    # The backtest's fee model: Gate's maker rebate on notional, so makers earn a commission.
    assert any("liquidity_side=MAKER" in m and "commission=-" in m for m in fills), fills[:2]
    _assert_no_secrets(output, out, err)


def _messages(run_dir: Path) -> list[str]:
    return [line["message"] for line in _log_lines(run_dir)]


def _accepted(run_dir: Path) -> bool:
    return any(run_dir.glob("node.json*")) and any("OrderAccepted" in m for m in _messages(run_dir))


def _filled(run_dir: Path) -> bool:
    return any("OrderFilled(" in m for m in _messages(run_dir))


def _doctor(sim: SimulatorProcess, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        _live("doctor", "--venue", "gate", "--config", str(CONFIG), *_endpoints(sim), *extra),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=PATIENCE_S,
    )


def test_doctor_passes_against_the_simulator_and_fails_a_wrong_secret(tmp_path: Path) -> None:
    with SimulatorProcess.start(tmp_path, "--updates-per-s", "0", "--account", ACCOUNT) as sim:
        good = _doctor(sim, _env(GATE_API_KEY=KEY, GATE_API_SECRET=SECRET))
        wrong = _doctor(sim, _env(GATE_API_KEY=KEY, GATE_API_SECRET="not-the-secret"))
    assert good.returncode == 0, good.stdout + good.stderr
    checks = _check_lines(good.stdout)
    assert list(checks) == ["credentials", "clock", "instrument", "balance", "limits"]
    assert all(line.startswith("ok ") for line in checks.values())
    assert "all 5 checks ok" in good.stdout
    _assert_not_printed(good.stdout, good.stderr)

    assert wrong.returncode == 1
    balance = _check_lines(wrong.stdout)["balance"]
    assert balance.startswith("FAIL") and "INVALID_SIGNATURE" in balance
    assert "GATE_API_SECRET" in balance
    assert "not-the-secret" not in wrong.stdout + wrong.stderr


def test_doctor_names_a_missing_credential(tmp_path: Path) -> None:
    with SimulatorProcess.start(tmp_path, "--updates-per-s", "0", "--account", ACCOUNT) as sim:
        done = _doctor(sim, _env(GATE_API_KEY=KEY))
    assert done.returncode == 1
    checks = _check_lines(done.stdout)
    assert checks["credentials"].startswith("FAIL")
    assert "GATE_API_SECRET not set" in checks["credentials"]
    assert checks["balance"].startswith("FAIL") and "not checked" in checks["balance"]
    assert checks["clock"].startswith("ok ") and checks["instrument"].startswith("ok ")


def test_doctor_fails_a_large_clock_offset(tmp_path: Path) -> None:
    from tests.venues.gate.__main__ import build_parser

    if "--clock-offset-s" not in build_parser().format_help():
        pytest.skip("the Gate simulator has no --clock-offset-s option yet")
    args = ("--updates-per-s", "0", "--account", ACCOUNT, "--clock-offset-s", "5")
    with SimulatorProcess.start(tmp_path, *args) as sim:
        done = _doctor(sim, _env(GATE_API_KEY=KEY, GATE_API_SECRET=SECRET))
    assert done.returncode == 1
    clock = _check_lines(done.stdout)["clock"]
    assert clock.startswith("FAIL") and "synchronise" in clock
    offset_ms = int(re.search(r"venue clock ([+-]\d+) ms", clock).group(1))
    assert 4_900 < offset_ms < 5_100


@pytest.mark.parametrize(
    ("args", "mutate", "expected"),
    [
        (
            ["--venue", "polymarket"],
            None,
            ["`venue` is gate, but --venue is polymarket", "configs/mm_polymarket.yaml"],
        ),
        (
            [],
            lambda d: d["live"]["risk"].update(max_order_submit_rate="fast"),
            ["`live.risk.max_order_submit_rate` is 'fast'", "count/HH:MM:SS"],
        ),
        (
            [],
            lambda d: d["live"]["risk"].update(max_positon=5),
            ["`live.risk.max_positon` is not a known key", "did you mean `max_position`"],
        ),
        (
            [],
            lambda d: d["live"]["risk"].update(max_position=100),
            ["`live.risk.max_position` (100) is below strategy.max_position (2000)"],
        ),
        (
            [],
            lambda d: d.update(instrument="BTC_USDT-PERP.BINANCE"),
            ["`instrument` is BTC_USDT-PERP.BINANCE, which is not a GATE instrument"],
        ),
        (["--rest-url", "localhost:8080"], None, ["'localhost:8080' is not a URL"]),
        (["--testnet", "--venue", "polymarket"], "polymarket", ["polymarket has no testnet"]),
    ],
    ids=["venue", "rate", "typo", "position", "instrument", "url", "testnet"],
)
def test_bad_input_is_one_clear_error_and_exit_2(
    tmp_path: Path, args: list[str], mutate, expected: list[str]
) -> None:
    if mutate == "polymarket":
        config = ROOT / "configs" / "mm_polymarket.yaml"
    else:
        data = yaml.safe_load(CONFIG.read_text())
        if mutate is not None:
            mutate(data)
        config = tmp_path / "bad.yaml"
        config.write_text(yaml.safe_dump(data))
    venue = [] if "--venue" in args else ["--venue", "gate"]
    output = tmp_path / "run"
    result = CliRunner().invoke(
        main,
        ["run", *venue, "--config", str(config), "--output", str(output), "--paper", *args],
    )
    assert result.exit_code == 2, result.output
    for text in expected:
        assert text in result.output
    assert not output.exists()


POLYMARKET_CONFIG = ROOT / "configs" / "mm_polymarket.yaml"


def test_polymarket_live_needs_the_complementary_token(tmp_path: Path) -> None:
    data = yaml.safe_load(POLYMARKET_CONFIG.read_text())
    del data["complement"]
    config = tmp_path / "no_complement.yaml"
    config.write_text(yaml.safe_dump(data))
    output = tmp_path / "run"
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--venue",
            "polymarket",
            "--paper",
            "--config",
            str(config),
            "--output",
            str(output),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "`complement` is needed to trade polymarket" in result.output
    assert not output.exists()


def _polymarket_sim_config(tmp_path: Path, sim: PolymarketSimulatorProcess) -> tuple[Path, dict]:
    """configs/mm_polymarket.yaml on the simulator's first market, at the simulator's URLs."""
    market = sim.markets[0]
    yes, no = (f"{market['condition_id']}-{t}.POLYMARKET" for t in market["token_ids"])
    data = yaml.safe_load(POLYMARKET_CONFIG.read_text())
    data |= {"instrument": yes, "complement": no}
    data["strategy"] |= {"order_size": 20, "min_requote_interval_ms": 200}
    data["live"] = (data.get("live") or {}) | {
        "endpoints": {
            "polymarket": {
                "rest_url": sim.clob_url,
                "ws_url": sim.ws_url,
                "gamma_url": sim.gamma_url,
                "data_api_url": sim.data_api_url,
            }
        }
    }
    config = tmp_path / "mm_polymarket.yaml"
    config.write_text(yaml.safe_dump(data))
    return config, market


def _polymarket_live(config: Path, output: Path, state_dir: Path) -> subprocess.Popen:
    return subprocess.Popen(
        _live(
            "run", "--venue", "polymarket", "--config", str(config),
            "--output", str(output), "--state-dir", str(state_dir),
        ),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env=_env(POLYMARKET_PK=ANVIL_KEYS[0]),
    )  # fmt: skip


@pytest.mark.polymarket
def test_polymarket_live_run_quotes_both_tokens_then_sigint_cancels_everything(
    tmp_path: Path,
) -> None:
    output = tmp_path / "run"
    with PolymarketSimulatorProcess.start(tmp_path, "--updates-per-s", "2") as sim:
        config, market = _polymarket_sim_config(tmp_path, sim)
        address = Account.from_key(ANVIL_KEYS[0]).address

        def live_orders() -> list[dict]:
            return sim.control.get("orders", address=address, status="LIVE")

        proc = _polymarket_live(config, output, tmp_path / "state")
        try:
            _wait_for(lambda: len(live_orders()) >= 4, "quotes on both tokens", proc)
            assert {o["asset_id"] for o in live_orders()} == set(market["token_ids"])
            code, out, err = _stop(proc)
        finally:
            proc.kill()
        assert code == 0, err[-3000:]
        assert live_orders() == []
    summary = json.loads((output / "summary.json").read_text())
    assert summary["open_orders"] == 0
    for path in output.rglob("*"):
        if path.is_file():
            assert ANVIL_KEYS[0][2:] not in path.read_text(errors="replace"), path.name
    assert ANVIL_KEYS[0][2:] not in out + err


@pytest.mark.polymarket
def test_polymarket_live_kill_cancels_at_the_venue_and_a_restart_stays_halted(
    tmp_path: Path,
) -> None:
    state_dir = tmp_path / "state"
    with PolymarketSimulatorProcess.start(tmp_path, "--updates-per-s", "0") as sim:
        config, _ = _polymarket_sim_config(tmp_path, sim)
        address = Account.from_key(ANVIL_KEYS[0]).address

        def live_orders() -> list[dict]:
            return sim.control.get("orders", address=address, status="LIVE")

        def control(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                _live(*args, "--state-dir", str(state_dir)),
                capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=PATIENCE_S,
            )  # fmt: skip

        first = _polymarket_live(config, tmp_path / "run1", state_dir)
        try:
            _wait_for(lambda: len(live_orders()) >= 4, "quotes", first)
            killed = control("kill", "--reason", "test")
            assert killed.returncode == 0, killed.stdout + killed.stderr
            assert live_orders() == [], "kill returned with orders still live at the venue"
            code, _, err = _stop(first)
            assert code == 0, err[-3000:]
        finally:
            first.kill()
        second = _polymarket_live(config, tmp_path / "run2", state_dir)
        try:
            _wait_for(lambda: "halted" in control("status").stdout.lower(), "status", second)
            time.sleep(2.0)
            assert live_orders() == [], "a halted node quoted after the restart"
            assert control("resume").returncode == 0
            _wait_for(lambda: len(live_orders()) >= 4, "quotes after resume", second)
            code, _, err = _stop(second)
            assert code == 0, err[-3000:]
        finally:
            second.kill()
        assert live_orders() == []


@pytest.mark.polymarket
def test_polymarket_doctor_against_the_simulator(tmp_path: Path) -> None:
    with PolymarketSimulatorProcess.start(tmp_path, "--updates-per-s", "0") as sim:
        market = sim.markets[0]
        yes, no = (f"{market['condition_id']}-{t}.POLYMARKET" for t in market["token_ids"])
        data = yaml.safe_load(POLYMARKET_CONFIG.read_text())
        data |= {"instrument": yes, "complement": no}
        data["live"] = (data.get("live") or {}) | {
            "endpoints": {"polymarket": {"rest_url": sim.clob_url, "gamma_url": sim.gamma_url}},
            "risk": {
                "max_order_notional": 500,
                "max_exposure_notional": 5_000,
                "max_daily_loss": 200,
                "max_position": 2_000,
            },
        }
        config = tmp_path / "mm_polymarket.yaml"
        config.write_text(yaml.safe_dump(data))

        def doctor(env: dict[str, str]) -> subprocess.CompletedProcess:
            return subprocess.run(
                _live("doctor", "--venue", "polymarket", "--config", str(config)),
                capture_output=True, text=True, env=env, cwd=ROOT, timeout=PATIENCE_S,
            )  # fmt: skip

        ok = doctor(_env(POLYMARKET_PK=ANVIL_KEYS[0]))
        missing = doctor(_env())
    assert ok.returncode == 0, ok.stdout + ok.stderr
    lines = _check_lines(ok.stdout)
    assert set(lines) == {"credentials", "clock", "instrument", "balance", "limits"}
    assert "10,000.00 pUSD" in lines["balance"]
    assert ANVIL_KEYS[0][2:] not in ok.stdout + ok.stderr
    assert missing.returncode == 1
    failed = _check_lines(missing.stdout)
    assert failed["credentials"].startswith("FAIL") and "POLYMARKET_PK" in failed["credentials"]


@pytest.mark.polymarket
def test_polymarket_paper_quotes_on_public_data_with_simulated_fills(tmp_path: Path) -> None:
    output = tmp_path / "run"
    with PolymarketSimulatorProcess.start(tmp_path, "--updates-per-s", "5") as sim:
        config, _ = _polymarket_sim_config(tmp_path, sim)
        proc = subprocess.Popen(
            _live(
                "run", "--venue", "polymarket", "--paper", "--config", str(config),
                "--output", str(output), "--state-dir", str(tmp_path / "state"),
            ),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=_env(),
        )  # fmt: skip
        try:
            _wait_for(lambda: output.is_dir() and _accepted(output), "paper quotes accepted", proc)
            # The public market falls through our simulated YES bids, then rises through the asks.
            sim.control.post("market/move", bid="0.30", ask="0.32")
            time.sleep(1.0)
            sim.control.post("market/move", bid="0.60", ask="0.62")
            _wait_for(lambda: _filled(output), "a simulated fill", proc)
            code, _, err = _stop(proc)
        finally:
            proc.kill()
        assert code == 0, err[-3000:]
        private = [r for r in sim.control.get("requests") if r.get("api_key")]
        assert private == [], "paper trading sent an authenticated request"
    summary = json.loads((output / "summary.json").read_text())
    assert summary["fills"] > 0 and summary["open_orders"] == 0
