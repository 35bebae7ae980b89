"""
The recording actor: everything our data client publishes for the recorded instruments goes to
the journal, one line per event, and each book rebuild or reconnect is marked as a `FeedEvent`.

The data clients rebuild a distrusted book as a CLEAR + F_SNAPSHOT batch, which the journal keeps
as received. Which snapshots are rebuilds, and why, the actor learns from the client's counters
(`FeedProbe`): on Gate every snapshot after the first is a rebuild (the venue sends none
otherwise); Polymarket also sends a `book` after trades, so there a snapshot is a rebuild only
while the client has resyncs the actor has not yet seen snapshots for (counted across tokens, so
with several tokens resyncing at once the reason may land on the wrong one).

Chunks: `tick()` (called a few times a second from the recorder's loop) closes the journal's
files at each chunk boundary and hands them to `on_chunk`, which commits them to the catalog;
`on_stop` hands over the last ones.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.model.data import FundingRateUpdate
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument

from catalog.feed_events import RECONNECT
from catalog.feed_events import RESYNC
from catalog.feed_events import START
from catalog.feed_events import STOP
from catalog.feed_events import FeedEvent
from catalog.ingest.jsonl import event_lines
from catalog.record_journal import Journal


class FeedProbe(Protocol):
    """What a data client tells about its feed's health (read-only)."""

    # True when the venue also sends book snapshots that are not rebuilds (Polymarket).
    routine_snapshots: bool
    # Why a rebuild happened when neither a reconnect nor a disagreement with the venue explains it.
    default_reason: str

    def reconnects(self, instrument_id: InstrumentId) -> int: ...

    def resyncs(self) -> int: ...

    def desyncs(self) -> int: ...


@dataclass
class _Book:
    """What the actor knows of one instrument's book since its last snapshot."""

    snapshots: int = 0
    last_update_ns: int = 0
    reconnects: int = 0
    desyncs: int = 0
    tick_changed: bool = False


class RecorderActor(Actor):
    def __init__(
        self,
        instruments: list[Instrument],
        journal: Journal,
        probe: FeedProbe,
        on_chunk: Callable[[list[Path]], None],
        *,
        funding_ids: frozenset[InstrumentId] = frozenset(),
    ) -> None:
        super().__init__(ActorConfig(component_id="RECORDER"))
        self._instruments = {i.id: i for i in instruments}
        self._journal = journal
        self._probe = probe
        self._on_chunk = on_chunk
        self._funding_ids = funding_ids
        self._books = {i.id: _Book() for i in instruments}
        self._reconnects_seen: dict[InstrumentId, int] = {}
        self._resyncs_seen = 0
        self.events: Counter[str] = Counter()  # lines written, by kind

    # -- lifecycle ------------------------------------------------------------------------------

    def on_start(self) -> None:
        now = self.clock.timestamp_ns()
        self._resyncs_seen = self._probe.resyncs()
        for instrument_id, instrument in self._instruments.items():
            self._journal.define(instrument, now)
            self._reconnects_seen[instrument_id] = self._probe.reconnects(instrument_id)
            self._books[instrument_id].reconnects = self._reconnects_seen[instrument_id]
            self._feed_event(instrument_id, START, "recording started", now)
            self.subscribe_instrument(instrument_id)
            self.subscribe_order_book_deltas(instrument_id, BookType.L2_MBP)
            self.subscribe_quote_ticks(instrument_id)
            self.subscribe_trade_ticks(instrument_id)
            if instrument_id in self._funding_ids:
                self.subscribe_funding_rates(instrument_id)

    def on_stop(self) -> None:
        now = self.clock.timestamp_ns()
        self._check_reconnects(now)
        for instrument_id in self._instruments:
            self._feed_event(instrument_id, STOP, "recording stopped", now)
        self._on_chunk(self._journal.close())

    def tick(self) -> None:
        """Note reconnects, and commit the chunk when its period is over."""
        now = self.clock.timestamp_ns()
        self._check_reconnects(now)
        finished = self._journal.rotate_if_due(now)
        if finished:
            self._on_chunk(finished)

    # -- data -----------------------------------------------------------------------------------

    def on_instrument(self, instrument: Instrument) -> None:
        known = self._instruments.get(instrument.id)
        if known is None:
            return
        if known.price_increment != instrument.price_increment:
            self._books[instrument.id].tick_changed = True
        self._instruments[instrument.id] = instrument
        self._journal.define(instrument, instrument.ts_init)

    def on_order_book_deltas(self, deltas: OrderBookDeltas) -> None:
        instrument_id = deltas.instrument_id
        book = self._books.get(instrument_id)
        if book is None:
            return
        if deltas.deltas[0].action == BookAction.CLEAR:
            self._on_snapshot(instrument_id, book, deltas.ts_init)
        self._record(instrument_id, "book", deltas, deltas.ts_init)
        book.last_update_ns = deltas.ts_init

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self._record(tick.instrument_id, "quote", tick, tick.ts_init)

    def on_trade_tick(self, tick: TradeTick) -> None:
        self._record(tick.instrument_id, "trade", tick, tick.ts_init)

    def on_funding_rate(self, funding_rate: FundingRateUpdate) -> None:
        self._record(funding_rate.instrument_id, "funding", funding_rate, funding_rate.ts_init)

    # -- feed events ----------------------------------------------------------------------------

    def _on_snapshot(self, instrument_id: InstrumentId, book: _Book, ts_init: int) -> None:
        self._check_reconnects(ts_init)
        if book.snapshots:
            pending = self._probe.resyncs() - self._resyncs_seen
            if pending > 0:
                self._resyncs_seen += 1
            if pending > 0 or not self._probe.routine_snapshots:
                reason = self._reason(instrument_id, book)
                self._feed_event(instrument_id, RESYNC, reason, ts_init, book.last_update_ns)
        book.snapshots += 1
        book.reconnects = self._probe.reconnects(instrument_id)
        book.desyncs = self._probe.desyncs()
        book.tick_changed = False

    def _reason(self, instrument_id: InstrumentId, book: _Book) -> str:
        if self._probe.reconnects(instrument_id) > book.reconnects:
            return "reconnected"
        if self._probe.desyncs() > book.desyncs:
            return "top of book disagreed with the venue's (a lost update)"
        if book.tick_changed:
            return "tick size changed"
        return self._probe.default_reason

    def _check_reconnects(self, now: int) -> None:
        for instrument_id, seen in self._reconnects_seen.items():
            count = self._probe.reconnects(instrument_id)
            if count > seen:
                self._reconnects_seen[instrument_id] = count
                detail = f"connection dropped and re-established ({count - seen}x)"
                self._feed_event(instrument_id, RECONNECT, detail, now)

    def _feed_event(
        self, instrument_id: InstrumentId, kind: str, detail: str, now: int, since_ns: int = 0
    ) -> None:
        event = FeedEvent(
            now, now, instrument_id=instrument_id, kind=kind, detail=detail, since_ns=since_ns
        )
        self._record(instrument_id, kind, event, now)
        if kind in (RESYNC, RECONNECT):
            self.log.warning(f"{instrument_id} {kind} recorded: {detail}")

    def _record(self, instrument_id: InstrumentId, kind: str, data: object, now: int) -> None:
        if instrument_id not in self._instruments:
            return
        self._journal.write(instrument_id, event_lines(data), now)
        self.events[kind] += 1
