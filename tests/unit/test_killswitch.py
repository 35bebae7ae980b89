"""
The kill switch's persisted state, the owner-only control socket and the `live kill/resume/status`
commands when no node runs. The node side end to end is in tests/integration/test_live_supervisor.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from live.cli import main as live_cli
from live.control import ControlError
from live.control import ControlServer
from live.control import InstrumentStatus
from live.control import NodeNotRunning
from live.control import NodeStatus
from live.control import Request
from live.control import claim_socket
from live.control import request
from live.control import socket_path
from live.killswitch import KILL_FILE
from live.killswitch import KillSwitch
from live.killswitch import StateDirError
from live.killswitch import active_state
from live.killswitch import ensure_state_dir
from live.killswitch import halted_state
from live.killswitch import read_kill_state
from live.killswitch import write_kill_state


class Node:
    """What a KillSwitch drives: records the trading state it is told and the cancel-alls sent."""

    def __init__(self) -> None:
        self.halted = False
        self.cancel_alls = 0
        self.changes: list[bool] = []

    def switch(self, state_dir: Path) -> KillSwitch:
        return KillSwitch(
            state_dir,
            set_halted=self._set_halted,
            cancel_all=self._cancel_all,
            on_change=lambda state: self.changes.append(state.halted),
        )

    def _set_halted(self, halted: bool) -> None:
        self.halted = halted

    def _cancel_all(self) -> None:
        self.cancel_alls += 1


def test_no_file_means_active_and_a_written_state_reads_back(tmp_path: Path) -> None:
    assert not read_kill_state(tmp_path).halted
    state = halted_state("max_daily_loss: day PnL -101", source="breach")
    write_kill_state(tmp_path, state)
    assert read_kill_state(tmp_path) == state
    path = tmp_path / KILL_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [KILL_FILE], "a temporary file was left"


def test_an_unreadable_state_file_fails_closed(tmp_path: Path) -> None:
    (tmp_path / KILL_FILE).write_text('{"halted": fal')
    state = read_kill_state(tmp_path)
    assert state.halted
    assert KILL_FILE in state.reason and "live resume" in state.reason


def test_a_kill_survives_a_restart_until_resume(tmp_path: Path) -> None:
    first = Node()
    switch = first.switch(tmp_path)
    assert not switch.restore().halted
    switch.engage("manual", source="control")
    assert first.halted and first.cancel_alls == 1
    # A second breach keeps the first reason, but cancels again.
    switch.engage("max_position: 400 > 300", source="breach")
    assert switch.state.reason == "manual" and first.cancel_alls == 2

    restarted = Node()
    switch = restarted.switch(tmp_path)
    assert switch.restore().halted and restarted.halted
    assert switch.state.reason == "manual"
    assert restarted.cancel_alls == 0, "restore runs before the node can reach the venue"
    switch.release(source="control")
    assert not restarted.halted

    again = Node()
    assert not again.switch(tmp_path).restore().halted


def test_a_running_node_picks_up_a_kill_written_by_another_process(tmp_path: Path) -> None:
    node = Node()
    switch = node.switch(tmp_path)
    switch.restore()
    switch.poll_file()
    assert node.changes == [] and node.cancel_alls == 0
    write_kill_state(tmp_path, halted_state("written while unreachable", source="cli"))
    switch.poll_file()
    assert node.halted and node.cancel_alls == 1
    switch.poll_file()
    assert node.cancel_alls == 1, "an unchanged file is not applied twice"
    write_kill_state(tmp_path, active_state(source="cli"))
    switch.poll_file()
    assert not node.halted
    assert node.changes == [True, False]


def test_a_state_dir_others_can_write_to_is_refused(tmp_path: Path) -> None:
    created = ensure_state_dir(tmp_path / "new" / "state")
    assert stat.S_IMODE(created.stat().st_mode) == 0o700
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    with pytest.raises(StateDirError, match=f"chmod 700 {open_dir}"):
        ensure_state_dir(open_dir)


def _status(trading_state: str) -> NodeStatus:
    return NodeStatus(
        pid=os.getpid(),
        trader_id="QUOTEKIT-001",
        trading_state=trading_state,
        kill_switch=halted_state("manual", "control")
        if trading_state == "HALTED"
        else active_state(""),
        open_orders=0,
        day_pnl=0.0,
        metrics_url=None,
        instruments=[
            InstrumentStatus(
                instrument="BTC_USDT-PERP.GATE",
                position=0.0,
                open_orders=0,
                realized_pnl=None,
                unrealized_pnl=None,
                data_age_ms=None,
                best_bid=None,
                best_ask=None,
                our_bid=None,
                our_ask=None,
                bid_quote_age_ms=None,
                ask_quote_age_ms=None,
                bid_distance_ticks=None,
                ask_distance_ticks=None,
            )
        ],
    )


async def test_the_control_socket_answers_its_owner_only(tmp_path: Path) -> None:
    state_dir = ensure_state_dir(tmp_path / "state")
    seen: list[Request] = []

    def handle(req: Request) -> NodeStatus:
        seen.append(req)
        return _status("HALTED" if req.cmd == "kill" else "ACTIVE")

    server = ControlServer(state_dir, handle)
    await server.start()
    try:
        path = socket_path(state_dir)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        status = await asyncio.to_thread(request, state_dir, "kill", reason="from a test")
        assert status.trading_state == "HALTED" and status.instruments[0].position == 0.0
        assert seen == [Request(cmd="kill", reason="from a test")]
        with pytest.raises(ControlError, match="unknown cmd 'flatten'"):
            await asyncio.to_thread(request, state_dir, "flatten")
        with pytest.raises(ControlError, match="another node is running"):
            claim_socket(state_dir)
    finally:
        server.close()
    assert not socket_path(state_dir).exists()
    with pytest.raises(NodeNotRunning):
        request(state_dir, "status")


async def test_a_stale_socket_from_a_killed_node_is_replaced(tmp_path: Path) -> None:
    state_dir = ensure_state_dir(tmp_path / "state")
    claim_socket(state_dir)  # creates the private control dir
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(socket_path(state_dir)))  # bound, never listening: what a SIGKILL leaves
    stale.close()
    with pytest.raises(NodeNotRunning):
        request(state_dir, "status")
    server = ControlServer(state_dir, lambda req: _status("ACTIVE"))
    await server.start()
    try:
        assert (await asyncio.to_thread(request, state_dir, "status")).trading_state == "ACTIVE"
    finally:
        server.close()


async def test_a_silent_peer_does_not_block_the_server(tmp_path: Path) -> None:
    """A client that connects and says nothing does not hold up the next one."""
    state_dir = ensure_state_dir(tmp_path / "state")
    server = ControlServer(state_dir, lambda req: _status("ACTIVE"))
    await server.start()
    try:
        _reader, idle = await asyncio.open_unix_connection(str(socket_path(state_dir)))
        status = await asyncio.to_thread(request, state_dir, "status")
        assert status.trading_state == "ACTIVE"
        idle.close()
        await idle.wait_closed()
    finally:
        server.close()


def test_kill_and_resume_with_no_node_running_persist_the_state(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    runner = CliRunner()
    killed = runner.invoke(
        live_cli, ["kill", "--state-dir", str(state_dir), "--reason", "going home"]
    )
    assert killed.exit_code == 0, killed.output
    assert "no node running" in killed.output and "next start stays halted" in killed.output
    assert read_kill_state(state_dir).reason == "going home"

    shown = runner.invoke(live_cli, ["status", "--state-dir", str(state_dir), "--json"])
    body = json.loads(shown.output)
    assert body["running"] is False and body["kill_switch"]["halted"] is True

    resumed = runner.invoke(live_cli, ["resume", "--state-dir", str(state_dir)])
    assert resumed.exit_code == 0, resumed.output
    assert not read_kill_state(state_dir).halted
    shown = runner.invoke(live_cli, ["status", "--state-dir", str(state_dir)])
    assert "kill switch: ACTIVE" in shown.output


def _serve_once(state_dir: Path, then: Callable[[socket.socket], None]) -> threading.Thread:
    """A listener on the control socket that accepts one client and does `then` with it."""
    claim_socket(state_dir)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(socket_path(state_dir)))
    listener.listen(1)

    def serve() -> None:
        with listener:
            client, _ = listener.accept()
            with client:
                then(client)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_a_node_that_dies_mid_request_is_a_clear_error(tmp_path: Path) -> None:
    state_dir = ensure_state_dir(tmp_path / "state")

    def reset(client: socket.socket) -> None:
        time.sleep(0.1)  # the request is in the node's buffer, unread: closing resets
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    server = _serve_once(state_dir, reset)
    with pytest.raises(ControlError, match="closed the connection without answering"):
        request(state_dir, "status")
    server.join()


def test_a_node_that_never_answers_is_a_clear_error(tmp_path: Path) -> None:
    state_dir = ensure_state_dir(tmp_path / "state")
    answered = threading.Event()
    server = _serve_once(state_dir, lambda _client: answered.wait(5))
    with pytest.raises(ControlError, match=r"did not answer within 0.2 s"):
        request(state_dir, "status", timeout_s=0.2)
    answered.set()
    server.join()
