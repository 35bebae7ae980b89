"""
What `catalog record` needs from each venue: the data client (factory and config), the
instruments looked up before anything starts (an unknown id is a usage error, not a node that
fails to connect), and a `FeedProbe` on the built client.

The probes read the clients' public counters (`resyncs`, `desyncs`, the Polymarket socket's
`reconnects`); Gate's per-socket reconnect count is only on its sockets (`_sockets`), read here
and nowhere else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.config import LiveDataClientConfig
from nautilus_trader.live.data_client import LiveMarketDataClient
from nautilus_trader.live.factories import LiveDataClientFactory
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument

from adapters.gate.config import GateDataClientConfig
from adapters.gate.data import GateDataClient
from adapters.gate.factories import GateLiveDataClientFactory
from adapters.gate.markets import FUTURES
from adapters.gate.markets import market_of
from adapters.gate.parsing import contract_name
from adapters.polymarket.config import PolymarketDataClientConfig
from adapters.polymarket.config import PolymarketEndpoints
from adapters.polymarket.data import PolymarketDataClient
from adapters.polymarket.factories import PolymarketLiveDataClientFactory
from adapters.polymarket.http import PolymarketApiError
from adapters.polymarket.http import PolymarketHttpClient
from adapters.polymarket.http import PolymarketTransportError
from adapters.polymarket.parsing import split_instrument_id
from adapters.polymarket.providers import MarketNotFound
from adapters.polymarket.providers import PolymarketInstrumentProvider
from catalog.ingest.download import fetch_gate_instrument
from catalog.ingest.errors import IngestError
from catalog.ingest.errors import IngestUsageError
from catalog.recorder_actor import FeedProbe


@dataclass(frozen=True)
class RecordVenue:
    client_name: str  # the node's name for the data client ("GATE")
    factory: type[LiveDataClientFactory]
    config: LiveDataClientConfig
    load_instruments: Callable[[], list[Instrument]]  # the recorded instruments, from the venue
    probe: Callable[[LiveMarketDataClient], FeedProbe]
    funding_ids: frozenset[InstrumentId]  # instruments with funding rates to record


# -- Gate ---------------------------------------------------------------------------------------


class GateFeedProbe:
    routine_snapshots = False
    default_reason = "gap in the venue's update ids (or a stale snapshot)"

    def __init__(self, client: GateDataClient) -> None:
        self._client = client

    def reconnects(self, instrument_id: InstrumentId) -> int:
        socket = self._client._sockets.get(market_of(instrument_id))
        return socket.reconnects if socket is not None else 0

    def resyncs(self) -> int:
        return self._client.resyncs

    def desyncs(self) -> int:
        return 0  # Gate's update ids find every lost message: a gap, never a disagreement


def gate_venue(
    instrument_ids: list[InstrumentId],
    *,
    rest_url: str | None,
    ws_url: str | None,
    spot_ws_url: str | None,
) -> RecordVenue:
    config = GateDataClientConfig(
        base_url_http=rest_url,
        base_url_ws=ws_url,
        base_url_ws_spot=spot_ws_url,
        instrument_provider=InstrumentProviderConfig(load_ids=frozenset(instrument_ids)),
    )
    rest, _ = config.endpoints()

    def load() -> list[Instrument]:
        return [_load_gate(rest, instrument_id) for instrument_id in instrument_ids]

    return RecordVenue(
        client_name="GATE",
        factory=GateLiveDataClientFactory,
        config=config,
        load_instruments=load,
        probe=GateFeedProbe,
        funding_ids=frozenset(i for i in instrument_ids if market_of(i) is FUTURES),
    )


def _load_gate(rest_url: str, instrument_id: InstrumentId) -> Instrument:
    try:
        return fetch_gate_instrument(
            rest_url, market_of(instrument_id).kind, contract_name(instrument_id)
        )
    except IngestUsageError as error:
        raise IngestUsageError(
            f"Gate does not list {instrument_id} (venue at {rest_url}). Fix: check --instrument: "
            "a perpetual is BTC_USDT-PERP.GATE, a spot pair BTC_USDT.GATE"
        ) from error


# -- Polymarket ---------------------------------------------------------------------------------


class PolymarketFeedProbe:
    routine_snapshots = True
    default_reason = "resync requested by the data client"

    def __init__(self, client: PolymarketDataClient) -> None:
        self._client = client

    def reconnects(self, instrument_id: InstrumentId) -> int:
        return self._client.websocket.reconnects

    def resyncs(self) -> int:
        return self._client.resyncs

    def desyncs(self) -> int:
        return self._client.desyncs


def polymarket_venue(
    instrument_ids: list[InstrumentId], endpoints: PolymarketEndpoints
) -> RecordVenue:
    condition_ids = tuple(dict.fromkeys(split_instrument_id(i)[0] for i in instrument_ids))
    config = PolymarketDataClientConfig(endpoints=endpoints, condition_ids=condition_ids)

    def load() -> list[Instrument]:
        loaded = asyncio.run(_load_polymarket(endpoints, condition_ids))
        by_id = {i.id: i for i in loaded}
        missing = [i.value for i in instrument_ids if i not in by_id]
        if missing:
            raise IngestUsageError(
                f"no such outcome token: {', '.join(missing)}. Fix: --instrument takes "
                "{condition_id}-{token_id}.POLYMARKET ids of the market's tokens: "
                + ", ".join(sorted(i.value for i in loaded))
            )
        return [by_id[i] for i in instrument_ids]

    return RecordVenue(
        client_name="POLYMARKET",
        factory=PolymarketLiveDataClientFactory,
        config=config,
        load_instruments=load,
        probe=PolymarketFeedProbe,
        funding_ids=frozenset(),
    )


async def _load_polymarket(
    endpoints: PolymarketEndpoints, condition_ids: tuple[str, ...]
) -> list[Instrument]:
    http = PolymarketHttpClient(endpoints)
    try:
        provider = PolymarketInstrumentProvider(http)
        return list(await provider.load_markets_async(condition_ids=condition_ids))
    except MarketNotFound as error:
        raise IngestUsageError(f"{error}: check --instrument (the condition id part)") from error
    except (PolymarketApiError, PolymarketTransportError) as error:
        raise IngestError(
            f"cannot load the Polymarket markets ({error}): check the network, or --clob-url "
            "and --gamma-url"
        ) from error
    finally:
        await http.close()
