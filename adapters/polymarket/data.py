"""
Polymarket market data client: order book deltas, quotes and trades per outcome token.

Every subscribed token has a local L2 book, kept from the market channel's `book` snapshots and
`price_change` updates. Quotes are that book's top; book deltas are published as they are applied.
The channel has no sequence numbers, so the book is distrusted (`book.PolymarketBookSync`) after a
reconnect, after a tick-size change (the instrument is republished with its new increment and
`price_change` is held back until the next snapshot) and when its top disagrees with the best
bid/ask the venue states in each `price_change`. A distrusted book waits `snapshot_grace_s` for
the stream's own `book`, then fetches `/book` over REST; the strategy then receives a clean
CLEAR + book rather than a silently wrong one.

Staleness is visible: `last_message_ns` (any market message), `last_update_ns(instrument_id)`,
`book_synced(instrument_id)`, and the `resyncs` / `desyncs` counters.
"""

from __future__ import annotations

import asyncio

import msgspec
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.data.messages import SubscribeInstrument
from nautilus_trader.data.messages import SubscribeOrderBook
from nautilus_trader.data.messages import SubscribeQuoteTicks
from nautilus_trader.data.messages import SubscribeTradeTicks
from nautilus_trader.data.messages import UnsubscribeInstrument
from nautilus_trader.data.messages import UnsubscribeOrderBook
from nautilus_trader.data.messages import UnsubscribeQuoteTicks
from nautilus_trader.data.messages import UnsubscribeTradeTicks
from nautilus_trader.live.data_client import LiveMarketDataClient
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import BinaryOption

from adapters.polymarket.book import PolymarketBookSync
from adapters.polymarket.config import PolymarketDataClientConfig
from adapters.polymarket.http import PolymarketApiError
from adapters.polymarket.http import PolymarketHttpClient
from adapters.polymarket.http import PolymarketTransportError
from adapters.polymarket.parsing import POLYMARKET_VENUE
from adapters.polymarket.parsing import millis_to_ns
from adapters.polymarket.parsing import parse_book_snapshot
from adapters.polymarket.parsing import parse_price_changes
from adapters.polymarket.parsing import parse_trade
from adapters.polymarket.parsing import quote_from_book
from adapters.polymarket.parsing import split_instrument_id
from adapters.polymarket.parsing import tick_size_differs
from adapters.polymarket.parsing import top_agrees_with_venue
from adapters.polymarket.parsing import with_tick_size
from adapters.polymarket.providers import PolymarketInstrumentProvider
from adapters.polymarket.schemas import BookMessage
from adapters.polymarket.schemas import BookSummary
from adapters.polymarket.schemas import LastTradePrice
from adapters.polymarket.schemas import PriceChange
from adapters.polymarket.schemas import PriceChangeMessage
from adapters.polymarket.schemas import TickSizeChange
from adapters.polymarket.schemas import decode_market_frame
from adapters.polymarket.websocket import PolymarketMarketWebSocket

_BOOK, _QUOTES, _TRADES = "book", "quotes", "trades"


class _Token:
    """One subscribed outcome token: what is wanted from it, its instrument and local book."""

    __slots__ = (
        "book",
        "instrument",
        "last_quote",
        "last_update_ns",
        "snapshot_task",
        "streams",
        "sync",
    )

    def __init__(self, instrument: BinaryOption) -> None:
        self.instrument = instrument
        self.streams: set[str] = set()
        self.sync = PolymarketBookSync()
        self.book = OrderBook(instrument.id, BookType.L2_MBP)
        self.last_quote: QuoteTick | None = None
        self.last_update_ns = 0
        self.snapshot_task: asyncio.Task | None = None


class PolymarketDataClient(LiveMarketDataClient):
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        http: PolymarketHttpClient,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        instrument_provider: PolymarketInstrumentProvider,
        config: PolymarketDataClientConfig,
        name: str = "POLYMARKET",
    ) -> None:
        super().__init__(
            loop=loop,
            client_id=ClientId(name),
            venue=POLYMARKET_VENUE,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            instrument_provider=instrument_provider,
            config=config,
        )
        self._config = config
        self._http = http
        self._provider = instrument_provider
        self._ws = PolymarketMarketWebSocket(
            config.endpoints.ws_market_url(),
            self._on_frame,
            loop,
            on_reconnect=self._on_reconnect,
            max_assets_per_connection=config.ws_max_assets_per_connection,
            ping_interval_s=config.ws_ping_interval_s,
            name=f"{name}-MarketWebSocket",
        )
        self._tokens: dict[str, _Token] = {}
        self.last_message_ns = 0
        self.resyncs = 0
        self.desyncs = 0

    @property
    def websocket(self) -> PolymarketMarketWebSocket:
        return self._ws

    def last_update_ns(self, instrument_id: InstrumentId) -> int:
        """When the token's book or trades last changed (0: never, or not subscribed)."""
        token = self._tokens.get(split_instrument_id(instrument_id)[1])
        return token.last_update_ns if token is not None else 0

    def book_synced(self, instrument_id: InstrumentId) -> bool:
        token = self._tokens.get(split_instrument_id(instrument_id)[1])
        return token is not None and token.sync.synced

    # -- connection ----------------------------------------------------------------------------

    async def _connect(self) -> None:
        config = self._config
        if config.market_slugs or config.condition_ids:
            await self._provider.load_all_async()
        load_ids = config.instrument_provider.load_ids
        if load_ids:
            await self._provider.load_ids_async(list(load_ids))
        if not self._provider.count:
            self._log.warning(
                "No Polymarket markets selected (market_slugs, condition_ids or "
                "instrument_provider.load_ids): instruments load when subscribed to"
            )
        for instrument in self._provider.list_all():
            self._handle_data(instrument)
        # The market channel opens on the first subscription: the venue expects tokens at once.

    async def _disconnect(self) -> None:
        for token in self._tokens.values():
            if token.snapshot_task is not None:
                token.snapshot_task.cancel()
        self._tokens.clear()
        await self._ws.disconnect()
        await self._http.close()

    # -- subscriptions -------------------------------------------------------------------------

    async def _subscribe_instrument(self, command: SubscribeInstrument) -> None:
        pass  # instrument updates (a tick-size change) are published whether asked for or not

    async def _unsubscribe_instrument(self, command: UnsubscribeInstrument) -> None:
        pass

    async def _subscribe_order_book_deltas(self, command: SubscribeOrderBook) -> None:
        await self._want(command.instrument_id, _BOOK)

    async def _unsubscribe_order_book_deltas(self, command: UnsubscribeOrderBook) -> None:
        await self._unwant(command.instrument_id, _BOOK)

    async def _subscribe_quote_ticks(self, command: SubscribeQuoteTicks) -> None:
        await self._want(command.instrument_id, _QUOTES)

    async def _unsubscribe_quote_ticks(self, command: UnsubscribeQuoteTicks) -> None:
        await self._unwant(command.instrument_id, _QUOTES)

    async def _subscribe_trade_ticks(self, command: SubscribeTradeTicks) -> None:
        await self._want(command.instrument_id, _TRADES)

    async def _unsubscribe_trade_ticks(self, command: UnsubscribeTradeTicks) -> None:
        await self._unwant(command.instrument_id, _TRADES)

    async def _want(self, instrument_id: InstrumentId, stream: str) -> None:
        _, token_id = split_instrument_id(instrument_id)
        token = self._tokens.get(token_id)
        if token is None:
            instrument = await self._instrument(instrument_id)
            if instrument is None:
                return
            token = self._tokens.get(token_id)  # another subscription may have won the await
            if token is None:
                await self._add_token(token_id, instrument, stream)
                return
        first_book = stream == _BOOK and _BOOK not in token.streams
        token.streams.add(stream)
        if first_book and token.sync.synced:
            # Deltas are wanted from a token already streaming: they must start with a snapshot.
            self._resync(token_id, token, "book subscribed", delay_s=0)

    async def _add_token(self, token_id: str, instrument: BinaryOption, stream: str) -> None:
        # Wanted before subscribing: the venue's first book may arrive during the await.
        token = self._tokens[token_id] = _Token(instrument)
        token.streams.add(stream)
        try:
            await self._ws.subscribe([token_id])
        except Exception:
            del self._tokens[token_id]
            raise
        # The venue sends the book on subscribe; REST only if it does not come.
        self._schedule_snapshot(token_id, token, self._config.snapshot_grace_s)

    async def _unwant(self, instrument_id: InstrumentId, stream: str) -> None:
        _, token_id = split_instrument_id(instrument_id)
        token = self._tokens.get(token_id)
        if token is None:
            return
        token.streams.discard(stream)
        if token.streams:
            return
        del self._tokens[token_id]
        if token.snapshot_task is not None:
            token.snapshot_task.cancel()
        await self._ws.unsubscribe([token_id])

    async def _instrument(self, instrument_id: InstrumentId) -> BinaryOption | None:
        instrument = self._provider.find(instrument_id)
        if instrument is not None:
            return instrument
        condition_id, _ = split_instrument_id(instrument_id)
        try:
            loaded = await self._provider.load_markets_async(condition_ids=[condition_id])
        except Exception as error:
            self._log.error(f"Cannot load {instrument_id}: {error}")
            return None
        for instrument in loaded:
            self._handle_data(instrument)
        instrument = self._provider.find(instrument_id)
        if instrument is None:
            self._log.error(f"{instrument_id}: market {condition_id} has no such token")
        return instrument

    # -- stream --------------------------------------------------------------------------------

    def _on_frame(self, raw: bytes) -> None:
        now = self._clock.timestamp_ns()
        self.last_message_ns = now
        try:
            messages = decode_market_frame(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            self._log.error(f"Undecodable market message ({error}): {raw[:300]!r}")
            return
        for message in messages:
            if isinstance(message, PriceChangeMessage):
                self._on_price_change(message, now)
            elif isinstance(message, BookMessage):
                self._on_book(message, now)
            elif isinstance(message, LastTradePrice):
                self._on_trade(message, now)
            elif isinstance(message, TickSizeChange):
                self._on_tick_size_change(message, now)
            # best_bid_ask carries no sizes: quotes come from the local book. Unknown event
            # types (custom features) are not market data we publish.

    def _on_book(self, message: BookMessage, now: int) -> None:
        token = self._tokens.get(message.asset_id)
        if token is None:
            return
        token.sync.on_stream_book()
        self._apply_snapshot(token, message, now)

    def _on_price_change(self, message: PriceChangeMessage, now: int) -> None:
        by_token: dict[str, list[PriceChange]] = {}
        for change in message.price_changes:
            by_token.setdefault(change.asset_id, []).append(change)
        ts_event = millis_to_ns(message.timestamp)
        ts_ms = ts_event // 1_000_000
        for token_id, changes in by_token.items():
            token = self._tokens.get(token_id)
            if token is None or not token.sync.on_price_changes(ts_ms, changes):
                continue  # not ours, or held back until the next snapshot
            self._apply_changes(token, changes, ts_event, now)
            if not top_agrees_with_venue(token.book, changes[-1], token.instrument.price_precision):
                self.desyncs += 1
                self._resync(token_id, token, "top of book differs from the venue's", delay_s=0)

    def _on_trade(self, message: LastTradePrice, now: int) -> None:
        token = self._tokens.get(message.asset_id)
        if token is None or _TRADES not in token.streams:
            return
        token.last_update_ns = now
        self._handle_data(parse_trade(token.instrument, message, now))

    def _on_tick_size_change(self, message: TickSizeChange, now: int) -> None:
        token = self._tokens.get(message.asset_id)
        if token is None or not tick_size_differs(token.instrument, message.new_tick_size):
            return  # not ours, or a repeat of the tick size we already have
        self._update_tick_size(token, message.new_tick_size, now)
        self._resync(
            message.asset_id,
            token,
            f"tick size {message.old_tick_size} -> {message.new_tick_size}",
            delay_s=self._config.snapshot_grace_s,
        )

    def _on_reconnect(self, token_ids: list[str]) -> None:
        # Messages were lost while the socket was down: the books it carries are suspect until
        # the snapshots the resubscription brings.
        for token_id in token_ids:
            token = self._tokens.get(token_id)
            if token is not None:
                self._resync(token_id, token, "reconnected", self._config.snapshot_grace_s)

    # -- book upkeep ---------------------------------------------------------------------------

    def _apply_snapshot(self, token: _Token, book: BookSummary, now: int) -> None:
        tick_size = book.tick_size
        if tick_size is not None and tick_size_differs(token.instrument, tick_size):
            # The book is on a grid the instrument does not know yet: the tick-size change was
            # missed (or is still to come); take it from the book.
            self._update_tick_size(token, tick_size, now)
        deltas = parse_book_snapshot(token.instrument, book, now)
        token.book.apply_deltas(deltas)
        token.last_update_ns = now
        if _BOOK in token.streams:
            self._handle_data(deltas)
        self._publish_quote(token, deltas.ts_event, now)

    def _apply_changes(
        self, token: _Token, changes: list[PriceChange], ts_event: int, now: int
    ) -> None:
        deltas = parse_price_changes(token.instrument, changes, ts_event, now)
        token.book.apply_deltas(deltas)
        token.last_update_ns = now
        if _BOOK in token.streams:
            self._handle_data(deltas)
        self._publish_quote(token, ts_event, now)

    def _publish_quote(self, token: _Token, ts_event: int, now: int) -> None:
        if _QUOTES not in token.streams:
            return
        quote = quote_from_book(token.instrument, token.book, ts_event, now)
        last = token.last_quote
        if quote is None or (
            last is not None
            and quote.bid_price == last.bid_price
            and quote.ask_price == last.ask_price
            and quote.bid_size == last.bid_size
            and quote.ask_size == last.ask_size
        ):
            return  # no quote, or the top did not change
        token.last_quote = quote
        self._handle_data(quote)

    def _update_tick_size(self, token: _Token, tick_size: str, now: int) -> None:
        instrument = with_tick_size(token.instrument, tick_size, now)
        token.instrument = instrument
        token.last_quote = None
        self._provider.add(instrument)
        # Into the cache at once: orders priced from here on must use the new increment.
        self._cache.add_instrument(instrument)
        self._handle_data(instrument)
        self._log.warning(f"{instrument.id} tick size is now {instrument.price_increment}")

    def _resync(self, token_id: str, token: _Token, reason: str, delay_s: float) -> None:
        self.resyncs += 1
        self._log.warning(f"{token.instrument.id} book resync: {reason}")
        token.sync.invalidate(reason)
        self._schedule_snapshot(token_id, token, delay_s)

    def _schedule_snapshot(self, token_id: str, token: _Token, delay_s: float) -> None:
        running = token.snapshot_task
        if running is not None and not running.done():
            return
        token.snapshot_task = self.create_task(
            self._fetch_snapshot(token_id, token, delay_s),
            log_msg=f"{token.instrument.id} snapshot",
        )

    async def _fetch_snapshot(self, token_id: str, token: _Token, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        backoff_s = 0.25
        while self._tokens.get(token_id) is token and not token.sync.synced:
            try:
                book = await self._http.book(token_id)
            except (PolymarketApiError, PolymarketTransportError) as error:
                self._log.warning(f"{token.instrument.id} snapshot failed ({error}); retrying")
                await asyncio.sleep(backoff_s)
                backoff_s = min(2 * backoff_s, 5.0)
                continue
            if self._tokens.get(token_id) is not token:
                return
            replay = token.sync.on_rest_book(millis_to_ns(book.timestamp) // 1_000_000)
            if replay is None:
                continue  # synced from the stream meanwhile (loop ends), or must fetch again
            now = self._clock.timestamp_ns()
            self._apply_snapshot(token, book, now)
            for ts_ms, changes in replay:
                self._apply_changes(token, list(changes), ts_ms * 1_000_000, now)
