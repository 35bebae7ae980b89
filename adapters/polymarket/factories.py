"""nautilus factories for the Polymarket clients (register them under the name "POLYMARKET")."""

from __future__ import annotations

import asyncio

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.live.factories import LiveDataClientFactory
from nautilus_trader.live.factories import LiveExecClientFactory

from adapters.polymarket.config import PRIVATE_KEY_ENV
from adapters.polymarket.config import MissingCredentials
from adapters.polymarket.config import PolymarketDataClientConfig
from adapters.polymarket.config import PolymarketExecClientConfig
from adapters.polymarket.config import polymarket_credentials
from adapters.polymarket.data import PolymarketDataClient
from adapters.polymarket.execution import PolymarketExecutionClient
from adapters.polymarket.http import PolymarketHttpClient
from adapters.polymarket.providers import PolymarketInstrumentProvider


class PolymarketLiveDataClientFactory(LiveDataClientFactory):
    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: PolymarketDataClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> PolymarketDataClient:
        # Market data is public: no credentials are read.
        http = PolymarketHttpClient(config.endpoints, timeout_s=config.http_timeout_s)
        provider = PolymarketInstrumentProvider(
            http,
            config.instrument_provider,
            market_slugs=config.market_slugs,
            condition_ids=config.condition_ids,
        )
        return PolymarketDataClient(loop, http, msgbus, cache, clock, provider, config, name=name)


class PolymarketLiveExecClientFactory(LiveExecClientFactory):
    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: PolymarketExecClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> PolymarketExecutionClient:
        credentials = polymarket_credentials()
        if credentials is None:
            raise MissingCredentials(f"set {PRIVATE_KEY_ENV} in the environment to trade")
        # Instruments are public: the provider's client needs no credentials.
        provider = PolymarketInstrumentProvider(
            PolymarketHttpClient(config.endpoints, timeout_s=config.http_timeout_s),
            config.instrument_provider,
            market_slugs=config.market_slugs,
            condition_ids=config.condition_ids,
        )
        return PolymarketExecutionClient(
            loop, msgbus, cache, clock, provider, config, credentials, name=name
        )
