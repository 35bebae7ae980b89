"""Start the Polymarket simulator in a child process and drive it through its `/_sim` API.

with PolymarketSimulatorProcess.start(tmp_path, "--updates-per-s", "0") as sim:
    sim.clob_url, sim.gamma_url, sim.data_api_url, sim.ws_url
    sim.control.post("fail", n=1, status=503, path="/order")
"""

from __future__ import annotations

import subprocess
from typing import Any

from tests.venues.common import SimulatorProcessBase


class PolymarketSimulatorProcess(SimulatorProcessBase):
    module = "tests.venues.polymarket"

    def __init__(self, proc: subprocess.Popen[bytes], info: dict[str, Any]) -> None:
        super().__init__(proc, info)
        self.clob_url: str = info["clob_url"]
        self.gamma_url: str = info["gamma_url"]
        self.data_api_url: str = info["data_api_url"]
        self.ws_url: str = info["ws_url"]
        self.markets: list[dict[str, Any]] = info["markets"]
