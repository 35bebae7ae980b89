"""
Configs of the Gate.io data and execution clients, and where credentials come from.

Credentials are never config values: they are read from `GATE_API_KEY` / `GATE_API_SECRET` when a
client is built, so they cannot end up in a YAML file, a resolved-config dump or a log line.
"""

from __future__ import annotations

import os
from typing import Annotated
from typing import Literal

from msgspec import Meta
from nautilus_trader.config import LiveDataClientConfig
from nautilus_trader.config import LiveExecClientConfig

API_KEY_ENV = "GATE_API_KEY"
API_SECRET_ENV = "GATE_API_SECRET"

LIVE_REST = "https://api.gateio.ws/api/v4"
LIVE_WS_FUTURES = "wss://fx-ws.gateio.ws/v4/ws/usdt"
LIVE_WS_SPOT = "wss://api.gateio.ws/ws/v4/"
TESTNET_REST = "https://api-testnet.gateapi.io/api/v4"
TESTNET_WS_FUTURES = "wss://ws-testnet.gate.com/v4/ws/futures/usdt"
TESTNET_WS_SPOT = "wss://ws-testnet.gate.com/v4/ws/spot"


class MissingCredentials(Exception):
    pass


def gate_credentials(required: bool = True) -> tuple[str | None, str | None]:
    key = os.environ.get(API_KEY_ENV) or None
    secret = os.environ.get(API_SECRET_ENV) or None
    if required and not (key and secret):
        missing = [
            name for name, value in ((API_KEY_ENV, key), (API_SECRET_ENV, secret)) if not value
        ]
        raise MissingCredentials(f"set {' and '.join(missing)} in the environment")
    return key, secret


def endpoints(testnet: bool, rest: str | None, ws: str | None) -> tuple[str, str]:
    """REST base and futures WebSocket URL: explicit ones win (simulators), else live or testnet."""
    default_rest, default_ws = (
        (TESTNET_REST, TESTNET_WS_FUTURES) if testnet else (LIVE_REST, LIVE_WS_FUTURES)
    )
    return rest or default_rest, ws or default_ws


def spot_ws_endpoint(testnet: bool, rest: str | None, ws: str | None, spot_ws: str | None) -> str:
    """
    Spot WebSocket URL: the explicit one, else live or testnet. When REST or the futures socket
    point elsewhere (a simulator, a proxy) the spot default would be the real Gate, so that is an
    error rather than a guess.
    """
    if spot_ws:
        return spot_ws
    if rest or ws:
        raise ValueError(
            "base_url_ws_spot is not set while base_url_http/base_url_ws are: set "
            "base_url_ws_spot to the same venue's spot WebSocket URL (Gate: .../ws/v4/)"
        )
    return TESTNET_WS_SPOT if testnet else LIVE_WS_SPOT


class GateDataClientConfig(LiveDataClientConfig, frozen=True, kw_only=True):
    testnet: bool = False
    base_url_http: str | None = None
    base_url_ws: str | None = None
    base_url_ws_spot: str | None = None
    book_frequency: Literal["20ms", "100ms"] = "100ms"
    book_depth: Literal["20", "50", "100"] = "100"
    snapshot_depth: Annotated[int, Meta(ge=1, le=1000)] = 100
    http_timeout_s: Annotated[float, Meta(gt=0)] = 5.0

    def endpoints(self) -> tuple[str, str]:
        return endpoints(self.testnet, self.base_url_http, self.base_url_ws)

    def spot_ws_url(self) -> str:
        return spot_ws_endpoint(
            self.testnet, self.base_url_http, self.base_url_ws, self.base_url_ws_spot
        )


class GateExecClientConfig(LiveExecClientConfig, frozen=True, kw_only=True):
    testnet: bool = False
    base_url_http: str | None = None
    base_url_ws: str | None = None
    account_id: str = "GATE-001"
    http_timeout_s: Annotated[float, Meta(gt=0)] = 5.0
    dead_man_timeout_s: Annotated[
        int, Meta(ge=0, description="countdown_cancel_all timeout; 0 disables the dead-man switch")
    ] = 30
    dead_man_refresh_s: Annotated[float, Meta(gt=0)] = 10.0
    order_rate_per_s: Annotated[float, Meta(gt=0, le=100)] = 90.0

    def endpoints(self) -> tuple[str, str]:
        return endpoints(self.testnet, self.base_url_http, self.base_url_ws)
