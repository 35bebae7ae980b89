"""
Gate's two public market-data lines, USDT perpetuals and spot, as the wire names that differ.

Both speak the same WebSocket envelope and the same book sync rule (U/u against the REST snapshot
`id`, venues.md 1.5/1.6); they differ in the socket URL, the channel prefix, the REST snapshot
path and the field that names the market. The data client looks these up instead of branching.
"""

from __future__ import annotations

from dataclasses import dataclass

from nautilus_trader.model.identifiers import InstrumentId

from adapters.gate.parsing import PERP_SUFFIX
from adapters.gate.parsing import perp_instrument_id
from adapters.gate.parsing import spot_instrument_id

FUTURES_TICKERS = "futures.tickers"  # mark price, index price and funding rate of a perpetual


@dataclass(frozen=True, slots=True)
class GateMarket:
    kind: str  # "futures" | "spot"
    book_channel: str
    quote_channel: str
    trades_channel: str
    snapshot_path: str  # REST order book below /api/v4
    symbol_param: str  # its query parameter naming the market
    trade_symbol_field: str  # the field naming the market in a public trade

    def instrument_id(self, symbol: str) -> InstrumentId:
        """A wire name (`BTC_USDT`) -> `BTC_USDT-PERP.GATE` or `BTC_USDT.GATE`."""
        if self.kind == "futures":
            return perp_instrument_id(symbol)
        return spot_instrument_id(symbol)

    def book_payload(self, symbol: str, frequency: str, depth: str) -> list[str]:
        """
        The book channel's subscribe payload. Futures name the depth; spot ties it to the
        frequency (`20ms` pushes 20 levels, `100ms` 100).
        """
        if self.kind == "futures":
            return [symbol, frequency, depth]
        return [symbol, frequency]


FUTURES = GateMarket(
    kind="futures",
    book_channel="futures.order_book_update",
    quote_channel="futures.book_ticker",
    trades_channel="futures.trades",
    snapshot_path="/futures/usdt/order_book",
    symbol_param="contract",
    trade_symbol_field="contract",
)
SPOT = GateMarket(
    kind="spot",
    book_channel="spot.order_book_update",
    quote_channel="spot.book_ticker",
    trades_channel="spot.trades",
    snapshot_path="/spot/order_book",
    symbol_param="currency_pair",
    trade_symbol_field="currency_pair",
)

CHANNEL_MARKETS: dict[str, GateMarket] = {
    channel: market
    for market in (FUTURES, SPOT)
    for channel in (market.book_channel, market.quote_channel, market.trades_channel)
}


def market_of(instrument_id: InstrumentId) -> GateMarket:
    """Perpetuals are `...-PERP.GATE`, every other Gate instrument is a spot pair."""
    return FUTURES if instrument_id.symbol.value.endswith(PERP_SUFFIX) else SPOT
