"""Venue-neutral plumbing shared by the local venue simulators (Gate, Polymarket).

- `SimulatorServer`: the aiohttp lifecycle. Run a simulator with `async with Sim(...) as sim`,
  `sim.start_in_thread()` / `sim.stop()` from synchronous code, or as a child process.
- `RestFault` / `FaultPlan`: forced 429 / 5xx / slow answers and late order acknowledgements.
- `read_json_object`: the body of a `/_sim/...` control request.
- `serve_until_signalled`: the body of a simulator's `__main__` (ready file, SIGTERM).
- `SimControl` / `SimulatorProcessBase`: drive a simulator in another process over `/_sim/...`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import ClassVar
from typing import Protocol
from typing import Self
from typing import TypeVar

from aiohttp import web
from aiohttp import web_protocol
from aiohttp import web_server

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
FAULT_KINDS = ("429", "5xx", "slow")


# ---- server lifecycle ------------------------------------------------------------------------


class _ReadStampedRequestHandler(web_protocol.RequestHandler):
    """aiohttp's HTTP protocol, noting when bytes were last read off the socket (`read_ns`).

    A venue's gateway stamps a request when it reaches it (Gate's `X-In-Time`), before any of its
    own parsing; by the time an aiohttp middleware runs, the simulator has also parsed the request
    and woken a handler task. Requests are not pipelined by the clients we test, so the last read
    before a request's handler ran is the one that carried it.
    """

    read_ns = 0

    def data_received(self, data: bytes) -> None:
        self.read_ns = time.time_ns()
        super().data_received(data)


# aiohttp builds each connection's protocol from this module-level name; there is no hook for it.
web_server.RequestHandler = _ReadStampedRequestHandler  # type: ignore[misc]


def arrival_ns(request: web.Request) -> int:
    """When `request`'s bytes reached the simulator's socket read (time.time_ns())."""
    return getattr(request.protocol, "read_ns", 0) or time.time_ns()


class SimulatorServer:
    """One aiohttp app on `host:port` (0 = a free port) plus the simulator's background tasks.

    Subclasses build the app in `_app()`, start background work in `_started()` and stop it in
    `_stopping()`. Venue state is only touched on the server's event loop; `_dispatch` runs a
    function there from any thread.
    """

    thread_name: ClassVar[str] = "venue-simulator"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def _app(self) -> web.Application:
        raise NotImplementedError

    def _started(self) -> None:
        """Called on the loop once the socket listens."""

    async def _stopping(self) -> None:
        """Called on the loop before the app shuts down."""

    async def astart(self) -> Self:
        self._loop = asyncio.get_running_loop()
        self._runner = web.AppRunner(
            # Short shutdown: in-flight handlers (e.g. an injected order timeout) are cut off.
            self._app(),
            handle_signals=False,
            access_log=None,
            shutdown_timeout=0.5,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._started()
        return self

    async def astop(self) -> None:
        await self._stopping()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.astart()

    async def __aexit__(self, *exc: object) -> None:
        await self.astop()

    def start_in_thread(self, timeout_s: float = 10.0) -> Self:
        """Run the simulator on its own event loop in a daemon thread (for synchronous code)."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.astart())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name=self.thread_name, daemon=True)
        self._thread.start()
        if not ready.wait(timeout_s):
            raise TimeoutError(f"{self.thread_name} did not start")
        if failure:
            raise failure[0]
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop a simulator started with start_in_thread()."""
        if self._thread is None or self._loop is None:
            raise RuntimeError(
                "stop() is for start_in_thread(); use `await sim.astop()` in async code"
            )
        asyncio.run_coroutine_threadsafe(self.astop(), self._loop).result(timeout_s)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout_s)
        self._thread = None

    def _dispatch(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the simulator's loop thread (state is only touched there)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or threading.get_ident() == thread.ident:
            return fn()

        async def call() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), loop).result(30)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def control_url(self) -> str:
        return f"{self.base_url}/_sim"


# ---- faults ----------------------------------------------------------------------------------


@dataclass
class RestFault:
    kind: str  # "429" | "5xx" | "slow"
    remaining: int
    method: str | None = None  # only requests with this method
    path: str | None = None  # only paths containing this (relative to the venue's API root)
    status: int = 502  # for 5xx
    delay_s: float = 0.0  # for slow
    # 5xx only: process the request first, then answer 5xx (the ambiguous outcome: the order
    # may exist although the client saw an error).
    after: bool = False

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return not (self.path and self.path not in path)


def rest_fault(
    n: int,
    *,
    status: int,
    method: str | None = None,
    path: str | None = None,
    after: bool = False,
) -> RestFault:
    """A fault answering the next `n` matching requests with 429 or a 5xx status."""
    kind = "429" if status == 429 else "5xx"
    if kind == "5xx" and status < 500:
        raise ValueError("status must be 429 or >= 500")
    return RestFault(kind, n, method, path, status=status, after=after)


@dataclass
class FaultPlan:
    """Forced REST answers and late order acknowledgements, consumed request by request."""

    rest: list[RestFault] = field(default_factory=list)
    order_timeouts: int = 0  # next N placements are accepted but answered late
    order_timeout_delay_s: float = 30.0

    def add_rest(self, fault: RestFault) -> None:
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}, not {fault.kind!r}")
        self.rest.append(fault)

    def take_rest(self, method: str, path: str) -> RestFault | None:
        for fault in self.rest:
            if fault.remaining > 0 and fault.matches(method, path):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.rest.remove(fault)
                return fault
        return None

    def take_order_timeout(self) -> float | None:
        if self.order_timeouts <= 0:
            return None
        self.order_timeouts -= 1
        return self.order_timeout_delay_s

    def clear(self) -> None:
        self.rest.clear()
        self.order_timeouts = 0

    def describe(self) -> dict[str, Any]:
        return {
            "rest": [asdict(f) for f in self.rest],
            "order_timeouts": self.order_timeouts,
            "order_timeout_delay_s": self.order_timeout_delay_s,
        }


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The JSON object body of a control request ({} when there is none)."""
    if not request.can_read_body:
        return {}
    data = await request.json()
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(reason="body must be a JSON object")
    return data


# ---- standalone process ----------------------------------------------------------------------


class Serving(Protocol):
    async def __aenter__(self) -> Any: ...

    async def __aexit__(self, *exc: object) -> None: ...

    def info(self) -> dict[str, Any]: ...


async def serve_until_signalled(sim: Serving, ready_file: Path | None) -> None:
    """Serve until SIGTERM/SIGINT; once listening, write `sim.info()` (+ pid) as JSON to
    `ready_file` atomically (write, then rename), or print it when there is no ready file."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with sim:
        info = {**sim.info(), "pid": os.getpid()}
        if ready_file:
            tmp = ready_file.with_name(ready_file.name + ".tmp")
            tmp.write_text(json.dumps(info))
            tmp.replace(ready_file)
        else:
            print(json.dumps(info), flush=True)
        await stop.wait()


class SimControl:
    """Tiny synchronous client for the control API (stdlib only, usable from any process)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.base_url}/_sim/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def post(self, route: str, /, **body: Any) -> Any:
        """POST /_sim/{route} with `body` as JSON (route is positional: a body may hold "path")."""
        return self._call("POST", route, body)

    def get(self, route: str, /, **query: Any) -> Any:
        qs = urllib.parse.urlencode(query)
        return self._call("GET", f"{route}?{qs}" if qs else route)


class SimulatorProcessBase:
    """A simulator started as `python -m <module>` in a child process (keeps its CPU out of the
    process under test). Subclasses set `module` and read their URLs from `info`."""

    module: ClassVar[str]

    def __init__(self, proc: subprocess.Popen[bytes], info: dict[str, Any]) -> None:
        self.proc = proc
        self.info = info
        self.base_url: str = info["base_url"]
        self.control = SimControl(self.base_url)

    @classmethod
    def start(cls, workdir: Path | None = None, *args: str, timeout_s: float = 20.0) -> Self:
        label = cls.module.rsplit(".", 1)[-1]
        workdir = Path(workdir or tempfile.mkdtemp(prefix=f"{label}-sim-"))
        ready = workdir / f"{label}-sim-{os.getpid()}-{time.time_ns()}.json"
        proc = subprocess.Popen(
            [sys.executable, "-m", cls.module, "--port", "0", "--ready-file", str(ready), *args],
            cwd=ROOT,
        )
        deadline = time.monotonic() + timeout_s
        while not ready.exists():
            if proc.poll() is not None:
                raise RuntimeError(f"{label} simulator exited with {proc.returncode}")
            if time.monotonic() > deadline:
                proc.kill()
                raise TimeoutError(f"{label} simulator did not become ready")
            time.sleep(0.02)
        return cls(proc, json.loads(ready.read_text()))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class MarketLoop:
    """The background task of a scripted market: `step()` every scripted script
    `updates_per_s` times a second unless paused. Subclasses set `scripts` (objects with a
    `step()`) and call `MarketLoop.__init__`."""

    scripts: dict[str, Any]

    def __init__(self, updates_per_s: float) -> None:
        self.updates_per_s = updates_per_s
        self.paused = False
        self.steps = 0
        self._task: asyncio.Task[None] | None = None

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    def step(self) -> None:
        for script in self.scripts.values():
            script.step()
        self.steps += 1

    def start(self) -> None:
        if self.updates_per_s > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        interval = 1.0 / self.updates_per_s
        while True:
            await asyncio.sleep(interval)
            if not self.paused:
                try:
                    self.step()
                except Exception:
                    # Keep the market alive: one bad step must not freeze every later test.
                    logging.getLogger(type(self).__module__).exception(
                        "scripted market step failed"
                    )
