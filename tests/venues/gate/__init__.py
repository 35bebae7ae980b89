"""Local Gate.io venue simulator: USDT perpetuals and spot market data (REST `/api/v4` + WS v4)."""

from tests.venues.gate.server import DEFAULT_ACCOUNTS
from tests.venues.gate.server import GateSimulator

__all__ = ["DEFAULT_ACCOUNTS", "GateSimulator"]
