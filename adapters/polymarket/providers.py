"""
Polymarket instruments: one `BinaryOption` per outcome token,
`{condition_id}-{token_id}.POLYMARKET`.

A market is read from two services: the CLOB (`/markets/{condition_id}`: tokens, tick size,
minimum order size, neg-risk flag, end date: what the matching engine enforces) and Gamma (the
taker fee schedule, the slug, the liquidity-reward parameters). Selection is by slug and/or
condition id; Polymarket lists hundreds of thousands of markets, so there is no "load all".
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from nautilus_trader.common.providers import InstrumentProvider
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import BinaryOption

from adapters.polymarket.http import PolymarketApiError
from adapters.polymarket.http import PolymarketHttpClient
from adapters.polymarket.parsing import market_info
from adapters.polymarket.parsing import parse_binary_options
from adapters.polymarket.parsing import split_instrument_id


class MarketNotFound(Exception):
    pass


class PolymarketInstrumentProvider(InstrumentProvider):
    """
    Loads the selected markets' outcome tokens.

    `load_all_async` loads the selection given here (`market_slugs`, `condition_ids`);
    `load_ids_async` loads the markets of the given instrument ids (every token of each market,
    so a binary market's complementary token is always there too).
    """

    def __init__(
        self,
        client: PolymarketHttpClient,
        config: InstrumentProviderConfig | None = None,
        *,
        market_slugs: Iterable[str] = (),
        condition_ids: Iterable[str] = (),
    ) -> None:
        super().__init__(config=config)
        self._client = client
        self._market_slugs = tuple(market_slugs)
        self._condition_ids = tuple(condition_ids)

    async def load_all_async(self, filters: dict | None = None) -> None:
        if not self._market_slugs and not self._condition_ids:
            raise ValueError(
                "no Polymarket markets selected: set market_slugs or condition_ids in the "
                "data client config (Polymarket has too many markets to load them all)"
            )
        await self.load_markets_async(slugs=self._market_slugs, condition_ids=self._condition_ids)

    async def load_ids_async(
        self, instrument_ids: list[InstrumentId], filters: dict | None = None
    ) -> None:
        condition_ids = [split_instrument_id(i)[0] for i in instrument_ids]
        await self.load_markets_async(condition_ids=condition_ids)

    async def load_async(self, instrument_id: InstrumentId, filters: dict | None = None) -> None:
        await self.load_ids_async([instrument_id], filters)

    async def load_markets_async(
        self, *, slugs: Iterable[str] = (), condition_ids: Iterable[str] = ()
    ) -> list[BinaryOption]:
        """Load these markets (all their tokens), add them, and return the instruments."""
        slugs = list(dict.fromkeys(slugs))
        wanted = list(dict.fromkeys(condition_ids))
        gamma: dict[str, dict] = {}
        if slugs:
            by_slug = {m.get("slug"): m for m in await self._client.gamma_markets(slugs=slugs)}
            missing = [slug for slug in slugs if slug not in by_slug]
            if missing:
                raise MarketNotFound(f"no Polymarket market with slug {', '.join(missing)}")
            for market in by_slug.values():
                gamma[str(market["conditionId"])] = market
                if market["conditionId"] not in wanted:
                    wanted.append(str(market["conditionId"]))
        # Slug lookups may omit `feeSchedule`: ask by condition id for every market.
        for market in await self._client.gamma_markets(condition_ids=wanted):
            gamma[str(market["conditionId"])] = market

        ts_init = time.time_ns()
        instruments: list[BinaryOption] = []
        for condition_id in wanted:
            try:
                clob = await self._client.clob_market(condition_id)
            except PolymarketApiError as error:
                if error.status == 404:
                    raise MarketNotFound(f"no Polymarket market {condition_id}") from error
                raise
            info = market_info(clob, gamma.get(condition_id))
            if condition_id not in gamma:
                self._log.warning(
                    f"{condition_id} not on Gamma: taker fee taken as 0, no reward parameters"
                )
            if info.get("closed") or not info.get("accepting_orders", True):
                self._log.warning(f"{condition_id} is closed or not accepting orders")
            for instrument in parse_binary_options(info, ts_init):
                self.add_currency(instrument.quote_currency)
                self.add(instrument)
                instruments.append(instrument)
        return instruments
