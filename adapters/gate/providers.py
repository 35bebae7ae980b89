"""Gate.io instruments: USDT perpetuals and spot pairs, as nautilus instruments."""

from __future__ import annotations

import time

from nautilus_trader.common.providers import InstrumentProvider
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.model.identifiers import InstrumentId

from adapters.gate.http import GateHttpClient
from adapters.gate.parsing import PERP_SUFFIX
from adapters.gate.parsing import contract_name
from adapters.gate.parsing import parse_futures_contract
from adapters.gate.parsing import parse_spot_currency_pair


class GateInstrumentProvider(InstrumentProvider):
    """
    Loads perpetuals as `CryptoPerpetual` (sized in contracts) and spot pairs as `CurrencyPair`.

    Contracts that are not trading (delisting, pre-launch) are skipped: quoting them would only
    collect rejections.
    """

    def __init__(
        self,
        client: GateHttpClient,
        config: InstrumentProviderConfig | None = None,
        *,
        load_spot: bool = False,
    ) -> None:
        super().__init__(config=config)
        self._client = client
        self._load_spot = load_spot

    async def load_all_async(self, filters: dict | None = None) -> None:
        await self._load_perpetuals()
        if self._load_spot:
            await self._load_spot_pairs()

    async def load_ids_async(
        self, instrument_ids: list[InstrumentId], filters: dict | None = None
    ) -> None:
        perps = [i for i in instrument_ids if i.symbol.value.endswith(PERP_SUFFIX)]
        spot = [i for i in instrument_ids if not i.symbol.value.endswith(PERP_SUFFIX)]
        for instrument_id in perps:
            name = contract_name(instrument_id)
            contract = await self._client.request(
                "GET", f"/futures/usdt/contracts/{name}", limit="public"
            )
            self._add(parse_futures_contract(contract, time.time_ns()))
        if spot:
            wanted = {i.symbol.value for i in spot}
            await self._load_spot_pairs(wanted)

    async def load_async(self, instrument_id: InstrumentId, filters: dict | None = None) -> None:
        await self.load_ids_async([instrument_id], filters)

    async def _load_perpetuals(self) -> None:
        contracts = await self._client.request("GET", "/futures/usdt/contracts", limit="public")
        ts = time.time_ns()
        for contract in contracts:
            if contract.get("status", "trading") == "trading" and not contract.get("in_delisting"):
                self._add(parse_futures_contract(contract, ts))

    async def _load_spot_pairs(self, wanted: set[str] | None = None) -> None:
        pairs = await self._client.request("GET", "/spot/currency_pairs", limit="public")
        ts = time.time_ns()
        for pair in pairs:
            if pair.get("trade_status", "tradable") != "tradable":
                continue
            if wanted is None or pair["id"] in wanted:
                self._add(parse_spot_currency_pair(pair, ts))

    def _add(self, instrument) -> None:
        self.add_currency(instrument.quote_currency)
        if getattr(instrument, "base_currency", None) is not None:
            self.add_currency(instrument.base_currency)
        self.add(instrument)
