"""Start the simulator in a child process and drive it through its `/_sim` control API.

Tests and benchmarks use this to keep the simulator's CPU out of the process under test:

    with SimulatorProcess.start(tmp_path) as sim:
        sim.rest_url, sim.ws_url
        sim.control.post("fail", n=2, status=502)
"""

from __future__ import annotations

import subprocess
from typing import Any

from tests.venues.common import SimControl
from tests.venues.common import SimulatorProcessBase

__all__ = ["SimControl", "SimulatorProcess"]


class SimulatorProcess(SimulatorProcessBase):
    module = "tests.venues.gate"

    def __init__(self, proc: subprocess.Popen[bytes], info: dict[str, Any]) -> None:
        super().__init__(proc, info)
        self.rest_url: str = info["rest_url"]
        self.ws_url: str = info["ws_url"]
        self.spot_ws_url: str = info["spot_ws_url"]
