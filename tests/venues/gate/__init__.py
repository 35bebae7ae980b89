"""Local Gate.io USDT-perpetual venue simulator (REST `/api/v4` + futures WebSocket v4)."""

from tests.venues.gate.server import DEFAULT_ACCOUNTS
from tests.venues.gate.server import GateSimulator

__all__ = ["DEFAULT_ACCOUNTS", "GateSimulator"]
