"""
`live status`, `live kill`, `live resume`: talk to a running node from another terminal through
its control socket (`live/control.py`). With no node running, `kill` and `resume` write the kill
switch file in the state dir directly, so the next start begins halted (or quoting).

Kept free of nautilus imports so the commands answer at once.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import NoReturn

import click
import msgspec

from live.control import ControlError
from live.control import NodeNotRunning
from live.control import NodeStatus
from live.control import request
from live.killswitch import KILL_FILE
from live.killswitch import STATE_DIR_ENV
from live.killswitch import KillState
from live.killswitch import StateDirError
from live.killswitch import active_state
from live.killswitch import default_state_dir
from live.killswitch import ensure_state_dir
from live.killswitch import halted_state
from live.killswitch import read_kill_state
from live.killswitch import write_kill_state

_POLL_S = 0.02

_state_dir_option = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"The node's state directory (default: ${STATE_DIR_ENV}, else runs/live-state).",
)


@click.command(help="Show a running node's trading state, orders, position, PnL and data age.")
@_state_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
def status(state_dir: Path | None, as_json: bool) -> None:
    state_dir = state_dir or default_state_dir()
    try:
        node = request(state_dir, "status")
    except NodeNotRunning:
        persisted = read_kill_state(state_dir)
        if as_json:
            body = {"running": False, "kill_switch": msgspec.to_builtins(persisted)}
            click.echo(msgspec.json.encode(body).decode())
        else:
            click.echo(f"no node running on {state_dir}")
            click.echo(f"kill switch: {_describe_kill(persisted)}")
        return
    except ControlError as error:
        _fail(str(error))
    if as_json:
        body = {"running": True, **msgspec.to_builtins(node)}
        click.echo(msgspec.json.encode(body).decode())
    else:
        click.echo(_describe_node(node))


@click.command(help="Halt trading and cancel every open order at the venue; stays halted.")
@_state_dir_option
@click.option("--reason", default="manual kill from the command line", show_default=True)
@click.option(
    "--wait-s",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="How long to wait for the node to hold no open order.",
)
def kill(state_dir: Path | None, reason: str, wait_s: float) -> None:
    state_dir = state_dir or default_state_dir()
    started = time.monotonic()
    try:
        node = request(state_dir, "kill", reason=reason)
    except NodeNotRunning:
        _persist(state_dir, halted_state(reason, source="cli"))
        click.echo(
            f"no node running on {state_dir}: HALTED written to {state_dir / KILL_FILE}; "
            "the next start stays halted until `live resume`"
        )
        return
    except ControlError as error:
        # Still written: a node that is alive but slow picks the file up on its next tick.
        _persist(state_dir, halted_state(reason, source="cli"))
        _fail(f"{error}; HALTED written to {state_dir / KILL_FILE}")
    deadline = started + wait_s
    try:
        while node.open_orders and time.monotonic() < deadline:
            time.sleep(_POLL_S)
            node = request(state_dir, "status")
    except ControlError as error:
        _fail(f"HALTED, but the node stopped answering ({error}): check the venue")
    elapsed_ms = (time.monotonic() - started) * 1000
    click.echo(f"trading {node.trading_state}: {node.kill_switch.reason}")
    if node.open_orders:
        _fail(f"{node.open_orders} order(s) still open after {wait_s:g} s: check the venue")
    click.echo(f"no open orders at the venue ({elapsed_ms:.0f} ms after the kill)")


@click.command(help="Release the kill switch: trading resumes (or will, at the next start).")
@_state_dir_option
def resume(state_dir: Path | None) -> None:
    state_dir = state_dir or default_state_dir()
    try:
        node = request(state_dir, "resume")
    except NodeNotRunning:
        _persist(state_dir, active_state(source="cli"))
        click.echo(f"no node running on {state_dir}: ACTIVE written; the next start quotes")
        return
    except ControlError as error:
        _fail(str(error))
    click.echo(f"trading {node.trading_state}")


def _persist(state_dir: Path, state: KillState) -> None:
    try:
        write_kill_state(ensure_state_dir(state_dir), state)
    except (StateDirError, OSError) as error:
        _fail(str(error))


def _describe_kill(state: KillState) -> str:
    if not state.halted:
        return "ACTIVE"
    return f"HALTED since {state.changed_at} ({state.source}): {state.reason}"


def _describe_node(node: NodeStatus) -> str:
    lines = [
        f"node pid {node.pid} ({node.trader_id}): trading {node.trading_state}",
        f"kill switch: {_describe_kill(node.kill_switch)}",
        f"metrics: {node.metrics_url or 'off'}",
        f"open orders: {node.open_orders}   day PnL: {node.day_pnl:,.2f}",
    ]
    for i in node.instruments:
        lines.append(
            f"{i.instrument}: position {i.position:g}, {i.open_orders} open, "
            f"PnL realized {_num(i.realized_pnl)} unrealized {_num(i.unrealized_pnl)}, "
            f"data age {_num(i.data_age_ms, '.0f')} ms"
        )
        lines.append(
            f"  bid {_num(i.best_bid, 'g')} (ours {_num(i.our_bid, 'g')}, "
            f"{_num(i.bid_distance_ticks, 'g')} ticks behind, {_num(i.bid_quote_age_ms, '.0f')} ms"
            f" old)   ask {_num(i.best_ask, 'g')} (ours {_num(i.our_ask, 'g')}, "
            f"{_num(i.ask_distance_ticks, 'g')} ticks behind, {_num(i.ask_quote_age_ms, '.0f')} ms"
            " old)"
        )
    return "\n".join(lines)


def _num(value: float | None, spec: str = ",.2f") -> str:
    return "-" if value is None else format(value, spec)


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)
