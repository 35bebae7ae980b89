"""Start the simulator in a child process and drive it through its `/_sim` control API.

Tests and benchmarks use this to keep the simulator's CPU out of the process under test:

    with SimulatorProcess.start(tmp_path) as sim:
        sim.rest_url, sim.ws_url
        sim.control.post("fail", n=2, status=502)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]


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

    def post(self, path: str, **body: Any) -> Any:
        return self._call("POST", path, body)

    def get(self, path: str, **query: Any) -> Any:
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        return self._call("GET", f"{path}?{qs}" if qs else path)


class SimulatorProcess:
    def __init__(self, proc: subprocess.Popen[bytes], info: dict[str, Any]) -> None:
        self.proc = proc
        self.info = info
        self.rest_url: str = info["rest_url"]
        self.ws_url: str = info["ws_url"]
        self.base_url: str = info["base_url"]
        self.control = SimControl(self.base_url)

    @classmethod
    def start(
        cls, workdir: Path | None = None, *args: str, timeout_s: float = 20.0
    ) -> SimulatorProcess:
        workdir = Path(workdir or tempfile.mkdtemp(prefix="gate-sim-"))
        ready = workdir / f"gate-sim-{os.getpid()}-{time.time_ns()}.json"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.venues.gate",
                "--port",
                "0",
                "--ready-file",
                str(ready),
                *args,
            ],
            cwd=ROOT,
        )
        deadline = time.monotonic() + timeout_s
        while not ready.exists():
            if proc.poll() is not None:
                raise RuntimeError(f"gate simulator exited with {proc.returncode}")
            if time.monotonic() > deadline:
                proc.kill()
                raise TimeoutError("gate simulator did not become ready")
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

    def __enter__(self) -> SimulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
