"""
The kill switch: halt trading, cancel every open order at the venue, and remember it.

The state is a small JSON file, `<state_dir>/killswitch.json`, written atomically (temporary file,
fsync, rename, fsync of the directory), so a crash never leaves half a file and a restarted node
comes back HALTED until `live resume`. The file is the source of truth: `live kill` with no node
running writes it directly, and a running node re-reads it on every tick (a hundred bytes).

A file that cannot be read counts as HALTED: failing closed is the safe side for a market maker.

The state directory must be ours and writable by no one else (nobody may swap the file); its
files are 0600, and the control socket sits in a 0700 subdirectory of it (`live/control.py`).
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Callable
from pathlib import Path

import msgspec

KILL_FILE = "killswitch.json"
STATE_DIR_ENV = "QUOTEKIT_STATE_DIR"
DEFAULT_STATE_DIR = Path("runs/live-state")


class StateDirError(Exception):
    """The state directory cannot be used safely; the message names it and the fix."""


class KillState(msgspec.Struct, frozen=True, kw_only=True):
    """What the kill switch says, as persisted and as reported by `live status`."""

    halted: bool
    reason: str = ""
    source: str = ""
    changed_at: str = ""


ACTIVE = KillState(halted=False)


def default_state_dir() -> Path:
    return Path(os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR)


def ensure_state_dir(path: Path) -> Path:
    """Create `path` (mode 0700), or check that an existing one is ours and only we write to it."""
    return _ensure_dir(Path(path), forbidden=0o022)


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (mode 0700), or check that an existing one is ours and closed to others."""
    return _ensure_dir(Path(path), forbidden=0o077)


def _ensure_dir(path: Path, forbidden: int) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise StateDirError(f"{path}: not a directory. Fix: point the state dir elsewhere.")
    if info.st_uid != os.getuid():
        raise StateDirError(
            f"{path}: owned by uid {info.st_uid}, not by you. Fix: use a state dir of your own."
        )
    if info.st_mode & forbidden:
        mode = stat.S_IMODE(info.st_mode)
        raise StateDirError(f"{path}: mode {mode:o} is too open. Fix: chmod 700 {path}")
    return path


def write_json_atomic(path: Path, body: bytes) -> None:
    """Replace `path` with `body` so that readers see the old or the new file, never a mix."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(descriptor, body)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)


def read_kill_state(state_dir: Path) -> KillState:
    path = Path(state_dir) / KILL_FILE
    try:
        return msgspec.json.decode(path.read_bytes(), type=KillState)
    except FileNotFoundError:
        return ACTIVE
    except (OSError, msgspec.DecodeError) as error:
        return KillState(
            halted=True, reason=f"unreadable {path} ({error}); `live resume` rewrites it"
        )


def write_kill_state(state_dir: Path, state: KillState) -> None:
    write_json_atomic(Path(state_dir) / KILL_FILE, msgspec.json.encode(state))


def halted_state(reason: str, source: str) -> KillState:
    return KillState(halted=True, reason=reason, source=source, changed_at=_now())


def active_state(source: str) -> KillState:
    return KillState(halted=False, source=source, changed_at=_now())


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class KillSwitch:
    """
    The node side: applies the persisted state to the node and cancels at the venue.

    `set_halted` puts nautilus' RiskEngine in `HALTED` (it then denies every submit and amend;
    cancels still pass) or back to `ACTIVE`; `cancel_all` sends a venue-wide cancel-all per quoted
    instrument. The state is written before anything
    else, so a crash half-way through a kill still restarts halted.
    """

    def __init__(
        self,
        state_dir: Path,
        set_halted: Callable[[bool], None],
        cancel_all: Callable[[], None],
        on_change: Callable[[KillState], None],
    ) -> None:
        self._state_dir = Path(state_dir)
        self._set_halted = set_halted
        self._cancel_all = cancel_all
        self._on_change = on_change
        self._state = ACTIVE

    @property
    def state(self) -> KillState:
        return self._state

    @property
    def halted(self) -> bool:
        return self._state.halted

    def restore(self) -> KillState:
        """Apply the persisted state (at start-up, before any strategy can quote)."""
        self._apply(read_kill_state(self._state_dir), cancel=False)
        return self._state

    def engage(self, reason: str, source: str) -> KillState:
        """Halt and cancel everything; an engaged switch keeps its first reason."""
        if not self._state.halted:
            state = halted_state(reason, source)
            write_kill_state(self._state_dir, state)
            self._apply(state, cancel=False)
        self._cancel_all()
        return self._state

    def release(self, source: str) -> KillState:
        state = active_state(source)
        write_kill_state(self._state_dir, state)
        self._apply(state, cancel=False)
        return self._state

    def poll_file(self) -> None:
        """Pick up a state written by another process (e.g. `live kill` while we were busy)."""
        state = read_kill_state(self._state_dir)
        if state != self._state:
            self._apply(state, cancel=state.halted)

    def _apply(self, state: KillState, *, cancel: bool) -> None:
        changed = state != self._state
        self._state = state
        self._set_halted(state.halted)
        if cancel:
            self._cancel_all()
        if changed:
            self._on_change(state)
