"""
Gate.io market data client: USDT perpetuals (`BTC_USDT-PERP.GATE`) and spot pairs
(`BTC_USDT.GATE`).

Books: `futures.order_book_update` / `spot.order_book_update` synced to the REST snapshot with
Gate's U/u rule (`book.GateBookSync`). A gap, a stale snapshot or a reconnect makes the book
unusable until a fresh snapshot arrives, and the strategy then receives a clean CLEAR + book rather
than a silently wrong one. Quotes and trades map one channel each; `futures.tickers` feeds mark
prices, index prices and funding rates.

Spot lives on its own socket (another URL), opened on the first spot subscription, so a
perpetuals-only node never connects to it.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.data.messages import SubscribeFundingRates
from nautilus_trader.data.messages import SubscribeIndexPrices
from nautilus_trader.data.messages import SubscribeInstrument
from nautilus_trader.data.messages import SubscribeMarkPrices
from nautilus_trader.data.messages import SubscribeOrderBook
from nautilus_trader.data.messages import SubscribeQuoteTicks
from nautilus_trader.data.messages import SubscribeTradeTicks
from nautilus_trader.data.messages import UnsubscribeFundingRates
from nautilus_trader.data.messages import UnsubscribeIndexPrices
from nautilus_trader.data.messages import UnsubscribeInstrument
from nautilus_trader.data.messages import UnsubscribeMarkPrices
from nautilus_trader.data.messages import UnsubscribeOrderBook
from nautilus_trader.data.messages import UnsubscribeQuoteTicks
from nautilus_trader.data.messages import UnsubscribeTradeTicks
from nautilus_trader.live.data_client import LiveMarketDataClient
from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.identifiers import InstrumentId

from adapters.gate.book import ApplySnapshot
from adapters.gate.book import ApplyUpdate
from adapters.gate.book import BookSyncAction
from adapters.gate.book import GateBookSync
from adapters.gate.book import RequestSnapshot
from adapters.gate.config import GateDataClientConfig
from adapters.gate.http import GateApiError
from adapters.gate.http import GateHttpClient
from adapters.gate.http import GateTransportError
from adapters.gate.markets import CHANNEL_MARKETS
from adapters.gate.markets import FUTURES
from adapters.gate.markets import FUTURES_TICKERS
from adapters.gate.markets import GateMarket
from adapters.gate.markets import market_of
from adapters.gate.parsing import GATE_VENUE
from adapters.gate.parsing import contract_name
from adapters.gate.parsing import decode_frame
from adapters.gate.parsing import parse_book_snapshot
from adapters.gate.parsing import parse_book_ticker
from adapters.gate.parsing import parse_book_update
from adapters.gate.parsing import parse_funding_rate
from adapters.gate.parsing import parse_index_price
from adapters.gate.parsing import parse_mark_price
from adapters.gate.parsing import parse_trade
from adapters.gate.parsing import perp_instrument_id
from adapters.gate.parsing import to_decimal
from adapters.gate.providers import GateInstrumentProvider
from adapters.gate.websocket import GateWebSocketClient


class GateDataClient(LiveMarketDataClient):
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        http: GateHttpClient,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        instrument_provider: GateInstrumentProvider,
        config: GateDataClientConfig,
        name: str = "GATE",
    ) -> None:
        super().__init__(
            loop=loop,
            client_id=ClientId(name),
            venue=GATE_VENUE,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            instrument_provider=instrument_provider,
            config=config,
        )
        self._config = config
        self._http = http
        self._name = name
        _, ws_url = config.endpoints()
        self._sockets: dict[GateMarket, GateWebSocketClient] = {
            FUTURES: self._socket_for(FUTURES, ws_url)
        }
        self._spot_connecting = asyncio.Lock()
        self._books: dict[InstrumentId, GateBookSync] = {}
        self._snapshot_tasks: dict[InstrumentId, asyncio.Task] = {}
        # Perpetuals whose `futures.tickers` feed each kind of update.
        self._mark_price_ids: set[InstrumentId] = set()
        self._index_price_ids: set[InstrumentId] = set()
        self._funding_ids: set[InstrumentId] = set()
        self._last_funding_rate: dict[InstrumentId, Decimal] = {}
        self.last_message_ns = 0
        self.resyncs = 0

    def _socket_for(self, market: GateMarket, url: str) -> GateWebSocketClient:
        return GateWebSocketClient(
            url,
            self._on_message,
            self._loop,
            on_reconnect=lambda: self._on_reconnect(market),
            name=f"{self._name}-{market.kind.capitalize()}DataWebSocket",
        )

    # -- connection ----------------------------------------------------------------------------

    async def _connect(self) -> None:
        await self._instrument_provider.initialize()
        for instrument in self._instrument_provider.list_all():
            self._handle_data(instrument)
        await self._sockets[FUTURES].connect()

    async def _disconnect(self) -> None:
        for task in self._snapshot_tasks.values():
            task.cancel()
        for socket in self._sockets.values():
            await socket.disconnect()
        await self._http.close()

    async def _socket(self, market: GateMarket) -> GateWebSocketClient:
        socket = self._sockets.get(market)
        if socket is not None:
            return socket
        # Several subscriptions arrive at once (book, quotes, trades): one connection for all.
        async with self._spot_connecting:
            socket = self._sockets.get(market)
            if socket is None:
                socket = self._socket_for(market, self._config.spot_ws_url())
                await socket.connect()
                self._sockets[market] = socket
        return socket

    def _on_reconnect(self, market: GateMarket) -> None:
        # Messages were lost while disconnected: every book of that socket is suspect.
        for instrument_id, sync in list(self._books.items()):
            if market_of(instrument_id) is market:
                self._apply(instrument_id, sync.reset("reconnected"))

    # -- subscriptions -------------------------------------------------------------------------

    async def _subscribe_instrument(self, command: SubscribeInstrument) -> None:
        pass  # Gate pushes no instrument changes; the definitions come from the provider

    async def _unsubscribe_instrument(self, command: UnsubscribeInstrument) -> None:
        pass

    async def _subscribe_order_book_deltas(self, command: SubscribeOrderBook) -> None:
        instrument_id = command.instrument_id
        market = market_of(instrument_id)
        socket = await self._socket(market)
        self._books[instrument_id] = GateBookSync()
        await socket.subscribe(market.book_channel, self._book_payload(instrument_id))
        self._request_snapshot(instrument_id, "subscribed")

    async def _unsubscribe_order_book_deltas(self, command: UnsubscribeOrderBook) -> None:
        instrument_id = command.instrument_id
        market = market_of(instrument_id)
        self._books.pop(instrument_id, None)
        await self._unsubscribe(market, market.book_channel, self._book_payload(instrument_id))

    def _book_payload(self, instrument_id: InstrumentId) -> list[str]:
        return market_of(instrument_id).book_payload(
            contract_name(instrument_id), self._config.book_frequency, self._config.book_depth
        )

    async def _subscribe_quote_ticks(self, command: SubscribeQuoteTicks) -> None:
        market = market_of(command.instrument_id)
        socket = await self._socket(market)
        await socket.subscribe(market.quote_channel, [contract_name(command.instrument_id)])

    async def _unsubscribe_quote_ticks(self, command: UnsubscribeQuoteTicks) -> None:
        market = market_of(command.instrument_id)
        symbol = contract_name(command.instrument_id)
        await self._unsubscribe(market, market.quote_channel, [symbol])

    async def _subscribe_trade_ticks(self, command: SubscribeTradeTicks) -> None:
        market = market_of(command.instrument_id)
        socket = await self._socket(market)
        await socket.subscribe(market.trades_channel, [contract_name(command.instrument_id)])

    async def _unsubscribe_trade_ticks(self, command: UnsubscribeTradeTicks) -> None:
        market = market_of(command.instrument_id)
        symbol = contract_name(command.instrument_id)
        await self._unsubscribe(market, market.trades_channel, [symbol])

    async def _unsubscribe(self, market: GateMarket, channel: str, payload: list[str]) -> None:
        socket = self._sockets.get(market)
        if socket is not None:  # never opened: nothing to take back
            await socket.unsubscribe(channel, payload)

    async def _subscribe_mark_prices(self, command: SubscribeMarkPrices) -> None:
        await self._subscribe_tickers(command.instrument_id, self._mark_price_ids)

    async def _unsubscribe_mark_prices(self, command: UnsubscribeMarkPrices) -> None:
        await self._unsubscribe_tickers(command.instrument_id, self._mark_price_ids)

    async def _subscribe_index_prices(self, command: SubscribeIndexPrices) -> None:
        await self._subscribe_tickers(command.instrument_id, self._index_price_ids)

    async def _unsubscribe_index_prices(self, command: UnsubscribeIndexPrices) -> None:
        await self._unsubscribe_tickers(command.instrument_id, self._index_price_ids)

    async def _subscribe_funding_rates(self, command: SubscribeFundingRates) -> None:
        await self._subscribe_tickers(command.instrument_id, self._funding_ids)

    async def _unsubscribe_funding_rates(self, command: UnsubscribeFundingRates) -> None:
        self._last_funding_rate.pop(command.instrument_id, None)
        await self._unsubscribe_tickers(command.instrument_id, self._funding_ids)

    async def _subscribe_tickers(
        self, instrument_id: InstrumentId, feed: set[InstrumentId]
    ) -> None:
        if market_of(instrument_id) is not FUTURES:
            raise ValueError(
                f"{instrument_id}: mark/index prices and funding rates exist for perpetuals only "
                "(`...-PERP.GATE`)"
            )
        already = self._wants_tickers(instrument_id)
        feed.add(instrument_id)
        if not already:
            await self._sockets[FUTURES].subscribe(FUTURES_TICKERS, [contract_name(instrument_id)])

    async def _unsubscribe_tickers(
        self, instrument_id: InstrumentId, feed: set[InstrumentId]
    ) -> None:
        feed.discard(instrument_id)
        if not self._wants_tickers(instrument_id):
            await self._unsubscribe(FUTURES, FUTURES_TICKERS, [contract_name(instrument_id)])

    def _wants_tickers(self, instrument_id: InstrumentId) -> bool:
        return any(
            instrument_id in feed
            for feed in (self._mark_price_ids, self._index_price_ids, self._funding_ids)
        )

    # -- stream --------------------------------------------------------------------------------

    def _on_message(self, raw: bytes) -> None:
        message = decode_frame(raw)
        if message.get("event") not in ("update", "all"):
            if message.get("error"):
                self._log.error(f"{message.get('channel')}: {message['error']}")
            return
        self.last_message_ns = self._clock.timestamp_ns()
        channel = message.get("channel")
        result = message.get("result")
        if channel == FUTURES_TICKERS:
            for ticker in result:
                self._on_ticker(ticker)
            return
        market = CHANNEL_MARKETS.get(channel)
        if market is None:
            return
        if channel == market.book_channel:
            instrument_id = market.instrument_id(result["s"])
            sync = self._books.get(instrument_id)
            if sync is not None:
                self._apply(instrument_id, sync.on_update(result))
        elif channel == market.quote_channel:
            instrument = self._instrument_provider.find(market.instrument_id(result["s"]))
            if instrument is not None:
                quote = parse_book_ticker(instrument, result, self.last_message_ns)
                if quote is not None:
                    self._handle_data(quote)
        elif channel == market.trades_channel:
            self._on_trades(market, result)

    def _on_trades(self, market: GateMarket, result: Any) -> None:
        # Futures push a list of trades per message, spot one trade object.
        for trade in result if isinstance(result, list) else (result,):
            instrument = self._instrument_provider.find(
                market.instrument_id(trade[market.trade_symbol_field])
            )
            if instrument is not None:
                self._handle_data(parse_trade(instrument, trade, self.last_message_ns))

    def _on_ticker(self, ticker: dict) -> None:
        instrument_id = perp_instrument_id(ticker["contract"])
        instrument = self._instrument_provider.find(instrument_id)
        if instrument is None:
            return
        ts = self.last_message_ns
        if instrument_id in self._mark_price_ids and ticker.get("mark_price"):
            self._handle_data(parse_mark_price(instrument, ticker, ts))
        if instrument_id in self._index_price_ids and ticker.get("index_price"):
            self._handle_data(parse_index_price(instrument, ticker, ts))
        if instrument_id in self._funding_ids and ticker.get("funding_rate") not in (None, ""):
            # Every ticker repeats the rate: only a new rate is news.
            rate = to_decimal(ticker["funding_rate"])
            if self._last_funding_rate.get(instrument_id) != rate:
                self._last_funding_rate[instrument_id] = rate
                self._handle_data(parse_funding_rate(instrument, ticker, ts))

    def _apply(self, instrument_id: InstrumentId, actions: list[BookSyncAction]) -> None:
        instrument = self._instrument_provider.find(instrument_id)
        if instrument is None:
            return
        for action in actions:
            if isinstance(action, ApplyUpdate):
                deltas = parse_book_update(instrument, action.update, self._clock.timestamp_ns())
                if deltas is not None:
                    self._handle_data(deltas)
            elif isinstance(action, ApplySnapshot):
                self._handle_data(
                    parse_book_snapshot(instrument, action.snapshot, self._clock.timestamp_ns())
                )
            elif isinstance(action, RequestSnapshot):
                self.resyncs += 1
                self._log.warning(f"{instrument_id} book resync: {action.reason}")
                self._request_snapshot(instrument_id, action.reason)

    def _request_snapshot(self, instrument_id: InstrumentId, reason: str) -> None:
        running = self._snapshot_tasks.get(instrument_id)
        if running is not None and not running.done():
            return
        self._snapshot_tasks[instrument_id] = self.create_task(
            self._fetch_snapshot(instrument_id), log_msg=f"{instrument_id} snapshot ({reason})"
        )

    async def _fetch_snapshot(self, instrument_id: InstrumentId) -> None:
        # Subscribed first, snapshot second: the stream is buffered meanwhile, so the snapshot's
        # id lands inside it (Gate's sync rule).
        market = market_of(instrument_id)
        params = {
            market.symbol_param: contract_name(instrument_id),
            "limit": self._config.snapshot_depth,
            "with_id": "true",
        }
        delay = 0.05
        while instrument_id in self._books:
            try:
                snapshot = await self._http.request(
                    "GET", market.snapshot_path, params=params, limit="public"
                )
            except (GateApiError, GateTransportError) as error:
                self._log.warning(f"{instrument_id} snapshot failed ({error}); retrying")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            sync = self._books.get(instrument_id)
            if sync is None:
                return
            actions = sync.on_snapshot(snapshot)
            # Forget this task first, so a RequestSnapshot among `actions` starts a new one.
            self._snapshot_tasks.pop(instrument_id, None)
            self._apply(instrument_id, actions)
            return
