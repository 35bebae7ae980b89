"""Local Polymarket CLOB V2 venue simulator: CLOB REST, Gamma, Data API and WebSocket on one
127.0.0.1 port (URL layout in server.py)."""

from tests.venues.polymarket.markets import MarketSpec
from tests.venues.polymarket.markets import default_markets
from tests.venues.polymarket.server import ANVIL_KEYS
from tests.venues.polymarket.server import DEFAULT_ACCOUNTS
from tests.venues.polymarket.server import PolymarketSimulator

__all__ = ["ANVIL_KEYS", "DEFAULT_ACCOUNTS", "MarketSpec", "PolymarketSimulator", "default_markets"]
