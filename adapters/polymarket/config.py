"""
Configs of the Polymarket clients: venue endpoints (all overridable, so tests point every service
at a simulator on 127.0.0.1), market selection, and where credentials come from.

Credentials are never config values: they are read from the environment when a client is built,
so they cannot end up in a YAML file, a resolved-config dump or a log line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from dataclasses import field
from typing import Annotated

import msgspec
from msgspec import Meta
from nautilus_trader.config import LiveDataClientConfig
from nautilus_trader.config import LiveExecClientConfig
from nautilus_trader.config import NautilusConfig

PRIVATE_KEY_ENV = "POLYMARKET_PK"
FUNDER_ENV = "POLYMARKET_FUNDER"
API_KEY_ENV = "POLYMARKET_API_KEY"
API_SECRET_ENV = "POLYMARKET_API_SECRET"
PASSPHRASE_ENV = "POLYMARKET_PASSPHRASE"

LIVE_CLOB = "https://clob.polymarket.com"
LIVE_WS = "wss://ws-subscriptions-clob.polymarket.com/ws"
LIVE_GAMMA = "https://gamma-api.polymarket.com"
LIVE_DATA_API = "https://data-api.polymarket.com"

# The venue accepts at most 500 assets on one market-channel connection.
VENUE_MAX_ASSETS_PER_CONNECTION = 500


class MissingCredentials(Exception):
    pass


@dataclass(frozen=True)
class PolymarketCredentials:
    """
    The signing key and, when already created, the L2 API credentials.

    `funder` is the address holding the funds (a proxy wallet); None means the signer's own address.
    The API trio may be absent: it can be derived from the key (`/auth/derive-api-key`).
    """

    private_key: str = field(repr=False)
    funder: str | None = None
    api_key: str | None = field(default=None, repr=False)
    api_secret: str | None = field(default=None, repr=False)
    passphrase: str | None = field(default=None, repr=False)

    @property
    def has_api_credentials(self) -> bool:
        return bool(self.api_key and self.api_secret and self.passphrase)


def polymarket_credentials() -> PolymarketCredentials | None:
    """
    Credentials from `POLYMARKET_PK` (+ `POLYMARKET_FUNDER` and the API trio), None without a key.

    The API key, secret and passphrase work only together: a partial set raises, naming what is
    missing, rather than failing later with a signature error at the venue.
    """
    private_key = os.environ.get(PRIVATE_KEY_ENV) or None
    if private_key is None:
        return None
    api = {
        name: os.environ.get(name) or None for name in (API_KEY_ENV, API_SECRET_ENV, PASSPHRASE_ENV)
    }
    missing = [name for name, value in api.items() if value is None]
    if missing and len(missing) < len(api):
        raise MissingCredentials(
            f"set {' and '.join(missing)} in the environment too, or unset all three API "
            f"variables to derive the API credentials from {PRIVATE_KEY_ENV}"
        )
    return PolymarketCredentials(
        private_key=private_key,
        funder=os.environ.get(FUNDER_ENV) or None,
        api_key=api[API_KEY_ENV],
        api_secret=api[API_SECRET_ENV],
        passphrase=api[PASSPHRASE_ENV],
    )


class PolymarketEndpoints(NautilusConfig, frozen=True, kw_only=True):
    """
    Base URLs of the venue's services, shared by the data and execution clients.

    `clob_ws` is the WebSocket base: the market channel is `{clob_ws}/market`, the user channel
    `{clob_ws}/user`.
    """

    clob_http: str = LIVE_CLOB
    clob_ws: str = LIVE_WS
    gamma_http: str = LIVE_GAMMA
    data_api_http: str = LIVE_DATA_API

    def ws_market_url(self) -> str:
        return f"{self.clob_ws.rstrip('/')}/market"

    def ws_user_url(self) -> str:
        return f"{self.clob_ws.rstrip('/')}/user"


class PolymarketDataClientConfig(LiveDataClientConfig, frozen=True, kw_only=True):
    """
    Market data client config.

    Markets are selected by slug (`market_slugs`) and/or condition id (`condition_ids`); every
    outcome token of a selected market is loaded (a binary market's two tokens quote each other).
    Instruments named in `instrument_provider.load_ids` are loaded as well, and an instrument
    subscribed to without being selected is loaded on demand.
    """

    endpoints: PolymarketEndpoints = msgspec.field(default_factory=PolymarketEndpoints)
    market_slugs: tuple[str, ...] = ()
    condition_ids: tuple[str, ...] = ()
    ws_max_assets_per_connection: Annotated[int, Meta(ge=1, le=VENUE_MAX_ASSETS_PER_CONNECTION)] = (
        200
    )
    ws_ping_interval_s: Annotated[int, Meta(ge=1)] = 10
    snapshot_grace_s: Annotated[
        float,
        Meta(
            ge=0,
            description="after a reconnect or tick-size change, how long to wait for the stream's "
            "own book before fetching one over REST",
        ),
    ] = 2.0
    http_timeout_s: Annotated[float, Meta(gt=0)] = 10.0


class PolymarketExecClientConfig(LiveExecClientConfig, frozen=True, kw_only=True):
    """
    Execution client config. Keys come from the environment (`polymarket_credentials`), never
    from here; `signature_type` 0 signs as the key's own address, 1/2 for a proxy wallet whose
    address is `POLYMARKET_FUNDER`.
    """

    endpoints: PolymarketEndpoints = msgspec.field(default_factory=PolymarketEndpoints)
    market_slugs: tuple[str, ...] = ()
    condition_ids: tuple[str, ...] = ()
    account_id: str = "POLYMARKET-001"
    chain_id: Annotated[int, Meta(description="137 Polygon, 80002 Amoy")] = 137
    signature_type: Annotated[int, Meta(ge=0, le=2)] = 0
    heartbeat_interval_s: Annotated[
        float,
        Meta(
            gt=0,
            description="how often the venue's dead-man switch is fed; if heartbeats stop, "
            "the venue cancels every open order of the account",
        ),
    ] = 5.0
    ws_ping_interval_s: Annotated[int, Meta(ge=1)] = 10
    http_timeout_s: Annotated[float, Meta(gt=0)] = 10.0
