"""
The local control endpoint of a running node: `live status`, `live kill`, `live resume`.

Transport: a Unix domain socket, `<state_dir>/control/control.sock`, served by an asyncio server
on the node's own event loop, so requests are handled on the same thread as every nautilus
component. Only the owner can use it, three ways over: the `control/` directory is 0700 (created
so, and refused when it is not), the socket is chmod 0600, and on Linux each connection's peer
uid (SO_PEERCRED) must be ours.

Protocol: one request per connection. The client writes one line of JSON and reads one line back.

    -> {"cmd": "status"}
    -> {"cmd": "kill", "reason": "manual"}
    -> {"cmd": "resume"}
    <- {"ok": true, "status": {...NodeStatus...}}
    <- {"ok": false, "error": "unknown cmd 'x': use status, kill or resume"}

`kill` answers once the node is HALTED and the venue cancel-all is sent; the client then polls
`status` until the node holds no open order. A missing socket, or one nobody listens on, means no
node is running (a stale socket left by a killed node is replaced at the next start).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from live.killswitch import KillState
from live.killswitch import ensure_private_dir

CONTROL_DIR = "control"
SOCKET_NAME = "control.sock"
COMMANDS = ("status", "kill", "resume")
MAX_LINE_BYTES = 64 * 1024
_READ_TIMEOUT_S = 5.0
# sockaddr_un.sun_path holds 108 bytes on Linux (104 on macOS), including the final NUL.
_MAX_SOCKET_PATH = 103


class ControlError(Exception):
    """The control endpoint could not be used; the message says why and what to do."""


class NodeNotRunning(ControlError):
    pass


class InstrumentStatus(msgspec.Struct, frozen=True, kw_only=True):
    instrument: str
    position: float
    open_orders: int
    realized_pnl: float | None
    unrealized_pnl: float | None
    data_age_ms: float | None
    best_bid: float | None
    best_ask: float | None
    our_bid: float | None
    our_ask: float | None
    bid_quote_age_ms: float | None
    ask_quote_age_ms: float | None
    bid_distance_ticks: float | None
    ask_distance_ticks: float | None


class NodeStatus(msgspec.Struct, frozen=True, kw_only=True):
    pid: int
    trader_id: str
    trading_state: str
    kill_switch: KillState
    open_orders: int
    day_pnl: float
    metrics_url: str | None
    instruments: list[InstrumentStatus]


class Request(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    cmd: str
    reason: str = "manual kill"


def socket_path(state_dir: Path) -> Path:
    return Path(state_dir) / CONTROL_DIR / SOCKET_NAME


Handler = Callable[[Request], NodeStatus]


class ControlServer:
    """Serves `handler` on the state dir's socket, on the running event loop."""

    def __init__(self, state_dir: Path, handler: Handler) -> None:
        self._state_dir = Path(state_dir)
        self._path = socket_path(state_dir)
        self._handler = handler
        self._server: asyncio.AbstractServer | None = None

    @property
    def path(self) -> Path:
        return self._path

    async def start(self) -> None:
        claim_socket(self._state_dir)
        self._server = await asyncio.start_unix_server(
            self._serve, path=str(self._path), limit=MAX_LINE_BYTES
        )
        os.chmod(self._path, 0o600)

    def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        self._server = None
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if not _peer_is_owner(writer.get_extra_info("socket")):
                return
            try:
                line = await asyncio.wait_for(reader.readline(), _READ_TIMEOUT_S)
            except (TimeoutError, ValueError):  # ValueError: longer than MAX_LINE_BYTES
                return
            writer.write(self._answer(line) + b"\n")
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def _answer(self, line: bytes) -> bytes:
        try:
            request = msgspec.json.decode(line, type=Request)
        except msgspec.DecodeError as error:
            return msgspec.json.encode({"ok": False, "error": f"bad request: {error}"})
        if request.cmd not in COMMANDS:
            return msgspec.json.encode(
                {"ok": False, "error": f"unknown cmd {request.cmd!r}: use {', '.join(COMMANDS)}"}
            )
        try:
            status = self._handler(request)
        except Exception as error:  # the node keeps running; the client hears what went wrong
            return msgspec.json.encode({"ok": False, "error": f"{type(error).__name__}: {error}"})
        return msgspec.json.encode({"ok": True, "status": status})


def check_socket_path(path: Path) -> None:
    if len(os.fsencode(path)) > _MAX_SOCKET_PATH:
        raise ControlError(
            f"{path}: too long for a Unix socket ({len(os.fsencode(path))} bytes, at most "
            f"{_MAX_SOCKET_PATH}). Fix: use a shorter state dir."
        )


def request(state_dir: Path, cmd: str, *, timeout_s: float = 10.0, **fields: Any) -> NodeStatus:
    """Send one command to the node using `state_dir`; raises NodeNotRunning if there is none."""
    path = socket_path(state_dir)
    check_socket_path(path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError) as error:
            raise NodeNotRunning(f"no node is listening on {path}") from error
        except PermissionError as error:
            raise ControlError(
                f"{path}: permission denied. Fix: run as the node's user."
            ) from error
        try:
            sock.sendall(msgspec.json.encode({"cmd": cmd, **fields}) + b"\n")
            reply = _read_line(sock)
        except TimeoutError as error:
            raise ControlError(
                f"the node on {path} did not answer within {timeout_s:g} s: it may be "
                "overloaded or hung; see its log"
            ) from error
        except ConnectionError:  # reset or broken pipe: the node went away mid-request
            reply = b""
    if not reply:
        raise ControlError(
            f"the node on {path} closed the connection without answering: it may have "
            "exited; see its log"
        )
    answer = msgspec.json.decode(reply)
    if not answer.get("ok"):
        raise ControlError(f"the node refused {cmd!r}: {answer.get('error')}")
    return msgspec.convert(answer["status"], NodeStatus)


def _read_line(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            break
    return b"".join(chunks).strip()


def claim_socket(state_dir: Path) -> None:
    """Remove a stale socket; refuse to start next to a node that still answers on it."""
    path = socket_path(state_dir)
    check_socket_path(path)
    ensure_private_dir(path.parent)
    if not path.exists() and not path.is_symlink():
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except (ConnectionRefusedError, FileNotFoundError):
            path.unlink(missing_ok=True)
            return
    raise ControlError(
        f"{path}: another node is running with this state dir. "
        "Fix: stop it, or give this node its own state dir."
    )


def _peer_is_owner(sock: socket.socket | None) -> bool:
    peercred = getattr(socket, "SO_PEERCRED", None)
    if sock is None or peercred is None:
        return True  # no peer credentials on this OS: the 0700 dir and 0600 socket still hold
    _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, peercred, 12))
    return uid == os.getuid()
