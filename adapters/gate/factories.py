"""nautilus factories for the Gate.io clients (register them under the name "GATE")."""

from __future__ import annotations

import asyncio

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.live.factories import LiveDataClientFactory
from nautilus_trader.live.factories import LiveExecClientFactory

from adapters.gate.config import GateDataClientConfig
from adapters.gate.config import GateExecClientConfig
from adapters.gate.config import gate_credentials
from adapters.gate.data import GateDataClient
from adapters.gate.execution import GateExecutionClient
from adapters.gate.http import GateHttpClient
from adapters.gate.http import rate_buckets
from adapters.gate.providers import GateInstrumentProvider


class GateLiveDataClientFactory(LiveDataClientFactory):
    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: GateDataClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> GateDataClient:
        # Market data is public: keys are used when present, never required.
        key, secret = gate_credentials(required=False)
        rest_url, _ = config.endpoints()
        http = GateHttpClient(
            rest_url, api_key=key, api_secret=secret, timeout_s=config.http_timeout_s
        )
        provider = GateInstrumentProvider(http, config.instrument_provider)
        return GateDataClient(loop, http, msgbus, cache, clock, provider, config, name=name)


class GateLiveExecClientFactory(LiveExecClientFactory):
    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: GateExecClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> GateExecutionClient:
        key, secret = gate_credentials(required=True)
        rest_url, _ = config.endpoints()
        rates = rate_buckets(config.order_rate_per_s)
        http = GateHttpClient(
            rest_url, api_key=key, api_secret=secret, timeout_s=config.http_timeout_s, rates=rates
        )
        provider = GateInstrumentProvider(http, config.instrument_provider)
        return GateExecutionClient(
            loop,
            http,
            msgbus,
            cache,
            clock,
            provider,
            config,
            api_key=key,
            api_secret=secret,
            name=name,
        )
