"""
Gate.io USDT-perpetual market data client.

Books: `futures.order_book_update` synced to the REST snapshot with Gate's U/u rule
(`book.GateBookSync`). A gap, a stale snapshot or a reconnect makes the book unusable until a
fresh snapshot arrives, and the strategy then receives a clean CLEAR + book rather than a silently
wrong one. Quotes, trades, mark prices and funding rates map one channel each.
"""

from __future__ import annotations

import asyncio

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.data.messages import SubscribeFundingRates
from nautilus_trader.data.messages import SubscribeMarkPrices
from nautilus_trader.data.messages import SubscribeOrderBook
from nautilus_trader.data.messages import SubscribeQuoteTicks
from nautilus_trader.data.messages import SubscribeTradeTicks
from nautilus_trader.data.messages import UnsubscribeOrderBook
from nautilus_trader.data.messages import UnsubscribeQuoteTicks
from nautilus_trader.data.messages import UnsubscribeTradeTicks
from nautilus_trader.live.data_client import LiveMarketDataClient
from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument

from adapters.gate.book import ApplySnapshot
from adapters.gate.book import ApplyUpdate
from adapters.gate.book import GateBookSync
from adapters.gate.book import RequestSnapshot
from adapters.gate.config import GateDataClientConfig
from adapters.gate.http import GateApiError
from adapters.gate.http import GateHttpClient
from adapters.gate.http import GateTransportError
from adapters.gate.parsing import GATE_VENUE
from adapters.gate.parsing import contract_name
from adapters.gate.parsing import decode_frame
from adapters.gate.parsing import parse_book_snapshot
from adapters.gate.parsing import parse_book_ticker
from adapters.gate.parsing import parse_book_update
from adapters.gate.parsing import parse_funding_rate
from adapters.gate.parsing import parse_mark_price
from adapters.gate.parsing import parse_trade
from adapters.gate.parsing import perp_instrument_id
from adapters.gate.providers import GateInstrumentProvider
from adapters.gate.websocket import GateWebSocketClient

BOOK = "futures.order_book_update"
TICKER = "futures.book_ticker"
TRADES = "futures.trades"
TICKERS = "futures.tickers"  # mark price and funding rate


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
        _, ws_url = config.endpoints()
        self._ws = GateWebSocketClient(
            ws_url,
            self._on_message,
            loop,
            on_reconnect=self._on_reconnect,
            name=f"{name}-DataWebSocket",
        )
        self._books: dict[str, GateBookSync] = {}
        self._snapshot_tasks: dict[str, asyncio.Task] = {}
        self._tickers: set[str] = set()  # contracts whose tickers feed mark prices and/or funding
        self._mark_price_ids: set[InstrumentId] = set()
        self._funding_ids: set[InstrumentId] = set()
        self.last_message_ns = 0
        self.resyncs = 0

    # -- connection ----------------------------------------------------------------------------

    async def _connect(self) -> None:
        await self._instrument_provider.initialize()
        for instrument in self._instrument_provider.list_all():
            self._handle_data(instrument)
        await self._ws.connect()

    async def _disconnect(self) -> None:
        for task in self._snapshot_tasks.values():
            task.cancel()
        await self._ws.disconnect()
        await self._http.close()

    def _on_reconnect(self) -> None:
        # Messages were lost while disconnected: every book is suspect until resnapshotted.
        for contract, sync in self._books.items():
            self._apply(contract, sync.reset("reconnected"))

    # -- subscriptions -------------------------------------------------------------------------

    async def _subscribe_order_book_deltas(self, command: SubscribeOrderBook) -> None:
        contract = contract_name(command.instrument_id)
        self._books[contract] = GateBookSync()
        await self._ws.subscribe(
            BOOK, [contract, self._config.book_frequency, self._config.book_depth]
        )
        self._request_snapshot(contract, "subscribed")

    async def _unsubscribe_order_book_deltas(self, command: UnsubscribeOrderBook) -> None:
        contract = contract_name(command.instrument_id)
        self._books.pop(contract, None)
        await self._ws.unsubscribe(
            BOOK, [contract, self._config.book_frequency, self._config.book_depth]
        )

    async def _subscribe_quote_ticks(self, command: SubscribeQuoteTicks) -> None:
        await self._ws.subscribe(TICKER, [contract_name(command.instrument_id)])

    async def _unsubscribe_quote_ticks(self, command: UnsubscribeQuoteTicks) -> None:
        await self._ws.unsubscribe(TICKER, [contract_name(command.instrument_id)])

    async def _subscribe_trade_ticks(self, command: SubscribeTradeTicks) -> None:
        await self._ws.subscribe(TRADES, [contract_name(command.instrument_id)])

    async def _unsubscribe_trade_ticks(self, command: UnsubscribeTradeTicks) -> None:
        await self._ws.unsubscribe(TRADES, [contract_name(command.instrument_id)])

    async def _subscribe_mark_prices(self, command: SubscribeMarkPrices) -> None:
        self._mark_price_ids.add(command.instrument_id)
        await self._subscribe_tickers(command.instrument_id)

    async def _subscribe_funding_rates(self, command: SubscribeFundingRates) -> None:
        self._funding_ids.add(command.instrument_id)
        await self._subscribe_tickers(command.instrument_id)

    async def _subscribe_tickers(self, instrument_id: InstrumentId) -> None:
        contract = contract_name(instrument_id)
        if contract not in self._tickers:
            self._tickers.add(contract)
            await self._ws.subscribe(TICKERS, [contract])

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
        if channel == BOOK:
            contract = result["s"]
            sync = self._books.get(contract)
            if sync is not None:
                self._apply(contract, sync.on_update(result))
        elif channel == TICKER:
            instrument = self._find(result["s"])
            if instrument is not None:
                quote = parse_book_ticker(instrument, result, self.last_message_ns)
                if quote is not None:
                    self._handle_data(quote)
        elif channel == TRADES:
            for trade in result:
                instrument = self._find(trade["contract"])
                if instrument is not None:
                    self._handle_data(parse_trade(instrument, trade, self.last_message_ns))
        elif channel == TICKERS:
            for ticker in result:
                self._on_ticker(ticker)

    def _on_ticker(self, ticker: dict) -> None:
        instrument = self._find(ticker["contract"])
        if instrument is None:
            return
        if instrument.id in self._mark_price_ids and ticker.get("mark_price"):
            self._handle_data(parse_mark_price(instrument, ticker, self.last_message_ns))
        if instrument.id in self._funding_ids and ticker.get("funding_rate") is not None:
            self._handle_data(parse_funding_rate(instrument, ticker, self.last_message_ns))

    def _apply(self, contract: str, actions: list) -> None:
        instrument = self._find(contract)
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
                self._log.warning(f"{contract} book resync: {action.reason}")
                self._request_snapshot(contract, action.reason)

    def _request_snapshot(self, contract: str, reason: str) -> None:
        running = self._snapshot_tasks.get(contract)
        if running is not None and not running.done():
            return
        self._snapshot_tasks[contract] = self.create_task(
            self._fetch_snapshot(contract), log_msg=f"{contract} snapshot ({reason})"
        )

    async def _fetch_snapshot(self, contract: str) -> None:
        # Subscribed first, snapshot second: the stream is buffered meanwhile, so the snapshot's
        # id lands inside it (Gate's sync rule).
        delay = 0.05
        while contract in self._books:
            try:
                snapshot = await self._http.request(
                    "GET",
                    "/futures/usdt/order_book",
                    params={
                        "contract": contract,
                        "limit": self._config.snapshot_depth,
                        "with_id": "true",
                    },
                    limit="public",
                )
            except (GateApiError, GateTransportError) as error:
                self._log.warning(f"{contract} snapshot failed ({error}); retrying")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            sync = self._books.get(contract)
            if sync is None:
                return
            actions = sync.on_snapshot(snapshot)
            # Forget this task first, so a RequestSnapshot among `actions` starts a new one.
            self._snapshot_tasks.pop(contract, None)
            self._apply(contract, actions)
            return

    def _find(self, contract: str) -> Instrument | None:
        return self._instrument_provider.find(perp_instrument_id(contract))
