"""
The quoting strategy: one nautilus `Strategy` that runs unchanged in backtests and live.

The maths lives in `pricing.py` (book -> target ladder) and `quotes.py` (ladder vs resting orders ->
commands); this module wires them to nautilus events. Order commands cost hundreds of microseconds
each in the engine while a book event costs about ten, so the callbacks are built to do nothing most
of the time: a requote happens only when the fair value moved past a tolerance, inventory changed,
or an order went away, and never more often than `min_requote_interval_ms`.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated
from typing import Literal

import msgspec
from msgspec import Meta
from nautilus_trader.common.messages import TradingStateChanged
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.enums import TradingState
from nautilus_trader.model.events import OrderCanceled
from nautilus_trader.model.events import OrderCancelRejected
from nautilus_trader.model.events import OrderDenied
from nautilus_trader.model.events import OrderEvent
from nautilus_trader.model.events import OrderExpired
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.events import OrderModifyRejected
from nautilus_trader.model.events import OrderRejected
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import BinaryOption
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.orders import Order
from nautilus_trader.trading.strategy import Strategy

from strategies.capabilities import VenueCapabilities
from strategies.pricing import InstrumentSpec
from strategies.pricing import Ladder
from strategies.pricing import LadderParams
from strategies.pricing import build_ladder
from strategies.pricing import ewma_variance
from strategies.pricing import microprice
from strategies.pricing import mid_price
from strategies.quotes import BUY
from strategies.quotes import SELL
from strategies.quotes import LiveOrder
from strategies.quotes import Plan
from strategies.quotes import Target
from strategies.quotes import Tolerance
from strategies.quotes import cap_exposure
from strategies.quotes import diff_quotes
from strategies.quotes import split_batches
from strategies.timers import on_loop_thread

_STALE_TIMER = "quotekit-stale-book"
# What nautilus' Strategy logs as a warning itself (its `_warning_events`).
_WARNED_EVENTS = (OrderDenied, OrderRejected, OrderCancelRejected, OrderModifyRejected)
_DEFERRED_REQUOTE = "quotekit-deferred-requote"
_NANOS_PER_MS = 1_000_000
# Events after which the resting ladder no longer matches what the strategy last decided.
_LADDER_CHANGING_EVENTS = (
    OrderFilled,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    OrderModifyRejected,
)


class QuotingConfig(StrategyConfig, frozen=True, kw_only=True):
    """
    Parameters of the quoting strategy; the `strategy:` section of the YAML config.

    Sizes are in the instrument's own units: contracts on Gate perpetuals (1 BTC_USDT contract =
    0.0001 BTC), shares on Polymarket.
    """

    instrument_id: InstrumentId
    complement_id: InstrumentId | None = None
    capabilities: VenueCapabilities = VenueCapabilities()

    order_size: Annotated[float, Meta(gt=0, description="size of the first level")]
    max_position: Annotated[
        float,
        Meta(gt=0, description="absolute inventory limit, counting open and in-flight orders"),
    ]
    levels: Annotated[int, Meta(ge=1, le=50, description="price levels quoted per side")] = 1
    level_spacing_ticks: Annotated[
        float, Meta(ge=0, description="extra distance between consecutive levels, in ticks")
    ] = 1.0
    size_growth: Annotated[
        float, Meta(gt=0, description="size multiplier from one level to the next")
    ] = 1.0
    fair_value: Annotated[
        Literal["mid", "microprice"],
        Meta(description="fair value: mid, or size-weighted microprice of the touch"),
    ] = "microprice"
    min_half_spread_ticks: Annotated[
        float, Meta(ge=0.5, description="floor of the half-spread, in ticks")
    ] = 1.0
    half_spread_bps: Annotated[
        float, Meta(ge=0, description="proportional part of the half-spread, in bps of fair value")
    ] = 0.0
    vol_multiplier: Annotated[
        float, Meta(ge=0, description="half-spread += vol_multiplier x sigma x sqrt(horizon)")
    ] = 0.0
    vol_halflife_s: Annotated[
        float, Meta(gt=0, description="half-life of the EWMA volatility of mid returns, seconds")
    ] = 60.0
    risk_aversion: Annotated[
        float,
        Meta(ge=0, description="Avellaneda-Stoikov gamma: inventory skew of the reservation price"),
    ] = 0.0
    horizon_s: Annotated[
        float, Meta(gt=0, description="Avellaneda-Stoikov horizon tau, seconds")
    ] = 1.0
    post_only: Annotated[bool, Meta(description="quotes never take liquidity")] = True
    requote_tolerance_ticks: Annotated[
        float,
        Meta(ge=0, description="a resting quote within this many ticks of its target is kept"),
    ] = 1.0
    size_tolerance: Annotated[
        float, Meta(ge=0, le=1, description="relative size difference tolerated on a resting quote")
    ] = 0.25
    min_requote_interval_ms: Annotated[
        int, Meta(ge=0, description="minimum time between two requotes")
    ] = 100
    stale_book_ms: Annotated[
        int, Meta(gt=0, description="quotes are pulled when the book has not updated for this long")
    ] = 5_000


class QuotingStrategy(Strategy):
    """
    A post-only ladder quoter with volatility-scaled spreads and Avellaneda-Stoikov inventory skew.

    For a binary-option token it never sells what it does not hold: the ask side of the YES
    ladder is expressed as a buy of the complementary NO token at 1 - p (and the bid side as a
    sell of held NO tokens), which is the same economic exposure.
    """

    def __init__(self, config: QuotingConfig) -> None:
        # nautilus writes the event and command log lines before a command leaves, in the middle
        # of the tick-to-order path; the strategy writes the same audit lines itself, and holds
        # those of a requote until its commands are sent.
        super().__init__(msgspec.structs.replace(config, log_events=False, log_commands=False))
        self._audit_events = config.log_events
        self._audit_commands = config.log_commands
        # (prefix, what) pairs: formatting an event is most of the cost of logging it.
        self._held_audit: list[tuple[str, object]] | None = None
        self._iid = config.instrument_id
        self._params = LadderParams(
            order_size=config.order_size,
            max_position=config.max_position,
            levels=config.levels,
            level_spacing_ticks=config.level_spacing_ticks,
            min_half_spread_ticks=config.min_half_spread_ticks,
            half_spread_bps=config.half_spread_bps,
            vol_multiplier=config.vol_multiplier,
            risk_aversion=config.risk_aversion,
            horizon_s=config.horizon_s,
            size_growth=config.size_growth,
            post_only=config.post_only,
        )
        self._use_microprice = config.fair_value == "microprice"
        self._requote_interval_ns = config.min_requote_interval_ms * _NANOS_PER_MS
        self._stale_ns = config.stale_book_ms * _NANOS_PER_MS
        self._halflife_s = config.vol_halflife_s

        self._instrument: Instrument | None = None
        self._complement: Instrument | None = None
        self._spec: InstrumentSpec | None = None
        self._tolerance: Tolerance | None = None
        self._book: OrderBook | None = None
        self._no_short = False

        self._best_bid = math.nan
        self._best_ask = math.nan
        self._fair = math.nan
        self._last_mid = math.nan
        self._last_mid_ns = 0
        self._variance = 0.0
        self._last_book_ns = 0

        self._quoted_fair = math.nan
        self._requote_distance = 0.0
        self._next_requote_ns = 0
        self._deferred_alert: str | None = None
        self._deferred_count = 0
        self._deferred_callback = self._on_deferred_requote  # on the loop thread once started
        self._dirty = True
        self._pulled_reason: str | None = None

        self.submits = 0
        self.modifies = 0
        self.cancels = 0

    # -- lifecycle -----------------------------------------------------------------------------

    def on_start(self) -> None:
        instrument = self.cache.instrument(self._iid)
        if instrument is None:
            self.log.error(f"Instrument {self._iid} not in the cache; strategy not started")
            self.stop()
            return
        self._complement = self._find_complement(instrument)
        self._no_short = isinstance(instrument, BinaryOption)
        self._use_instrument(instrument)

        # A venue can change the tick size (Polymarket near 0 and 1): the grid follows it.
        self.subscribe_instrument(self._iid)
        self.subscribe_order_book_deltas(self._iid, book_type=BookType.L2_MBP)
        if self._complement is not None:
            # Kept in the cache so the complementary token's own book can be read and marked.
            self.subscribe_order_book_deltas(self._complement.id, book_type=BookType.L2_MBP)
        self.subscribe_trade_ticks(self._iid)
        # Back to ACTIVE after a halt: quote again now, not at the next price move.
        self.msgbus.subscribe(topic="events.risk", handler=self._on_trading_state)
        if self._audit_events:
            for topic in (f"events.order.{self.id}", f"events.position.{self.id}"):
                self.msgbus.subscribe(topic=topic, handler=self._audit_event)
        self._deferred_callback = on_loop_thread(self._on_deferred_requote)
        check_every_ms = max(self.config.stale_book_ms // 2, 100)
        self.clock.set_timer(
            _STALE_TIMER,
            interval=dt.timedelta(milliseconds=check_every_ms),
            callback=on_loop_thread(self._on_stale_check),
        )

    def _use_instrument(self, instrument: Instrument) -> None:
        self._instrument = instrument
        self._spec = instrument_spec(instrument)
        self._tolerance = Tolerance(
            price=self.config.requote_tolerance_ticks * self._spec.tick + 1e-9 * self._spec.tick,
            size_frac=self.config.size_tolerance,
        )
        self._requote_distance = max(self.config.requote_tolerance_ticks, 0.5) * self._spec.tick

    def on_instrument(self, instrument: Instrument) -> None:
        previous = self._instrument.price_increment
        if instrument.id != self._iid or instrument.price_increment == previous:
            return
        self.log.warning(
            f"{self._iid} tick size {previous} -> "
            f"{instrument.price_increment}: requoting on the new grid"
        )
        self._use_instrument(instrument)
        self._dirty = True
        self._defer_requote()

    def _on_trading_state(self, event: TradingStateChanged) -> None:
        if event.state == TradingState.ACTIVE:
            self._dirty = True
            self._defer_requote()

    def on_stop(self) -> None:
        for timer in (_STALE_TIMER, self._deferred_alert):
            if timer in self.clock.timer_names:
                self.clock.cancel_timer(timer)
        self._deferred_alert = None
        self.msgbus.unsubscribe(topic="events.risk", handler=self._on_trading_state)
        for instrument_id in self._quoted_ids():
            self.cancel_all_orders(instrument_id)
            self._audit_command(f"CancelAll {instrument_id}")

    def on_reset(self) -> None:
        self._book = None
        self._quoted_fair = math.nan
        self._variance = 0.0
        self._last_mid = math.nan
        self._dirty = True

    # -- market data ---------------------------------------------------------------------------

    def on_order_book_deltas(self, deltas: OrderBookDeltas) -> None:
        if self._complement is not None and deltas.instrument_id != self._iid:
            return
        book = self._book
        if book is None:
            book = self._book = self.cache.order_book(self._iid)
        now = deltas.ts_init
        self._last_book_ns = now
        touch = self._touch(book)
        if touch is None:
            return
        bid, ask = touch
        mid = 0.5 * (bid + ask)
        if mid != self._last_mid:
            if self._last_mid_ns:
                dt_s = (now - self._last_mid_ns) * 1e-9
                self._variance = ewma_variance(
                    self._variance, math.log(mid / self._last_mid), dt_s, self._halflife_s
                )
            self._last_mid = mid
            self._last_mid_ns = now
        self._pulled_reason = None
        self._consider_requote(now, book, bid, ask)

    def _touch(self, book: OrderBook) -> tuple[float, float] | None:
        """The best bid and ask, or None (after pulling the quotes) when the book is unusable."""
        bid_price = book.best_bid_price()
        ask_price = book.best_ask_price()
        if bid_price is None or ask_price is None:
            self._pull_quotes("one-sided book")
            return None
        bid = bid_price.as_double()
        ask = ask_price.as_double()
        if bid >= ask:
            self._pull_quotes("crossed book")
            return None
        return bid, ask

    def _consider_requote(self, now: int, book: OrderBook, bid: float, ask: float) -> None:
        if now < self._next_requote_ns:
            # Not dropped: in a quiet book no later event may come to pick the change up.
            self._defer_requote()
            return
        # The touch sizes are read only when a requote is allowed: most events stop above.
        if self._use_microprice:
            fair = microprice(
                bid, book.best_bid_size().as_double(), ask, book.best_ask_size().as_double()
            )
        else:
            fair = mid_price(bid, ask)
        if not self._dirty and abs(fair - self._quoted_fair) < self._requote_distance:
            return
        self._fair = fair
        self._best_bid = bid
        self._best_ask = ask
        self._requote(now)

    def _defer_requote(self) -> None:
        if self._deferred_alert is not None:
            return
        # A fresh name each time: the live clock may still hold the last alert's name while its
        # callback runs.
        self._deferred_count += 1
        self._deferred_alert = f"{_DEFERRED_REQUOTE}-{self._deferred_count}"
        self.clock.set_time_alert_ns(
            self._deferred_alert,
            self._next_requote_ns,
            callback=self._deferred_callback,
        )

    def _on_deferred_requote(self, event) -> None:
        self._deferred_alert = None
        if not self.is_running:
            return  # fired just before the stop cancelled it, and reached the loop after
        if self._book is None or self._pulled_reason is not None:
            return  # a pulled ladder comes back only on fresh book data
        touch = self._touch(self._book)
        if touch is not None:
            self._consider_requote(event.ts_event, self._book, *touch)

    def on_trade_tick(self, tick: TradeTick) -> None:
        # Trades prove the market is alive even when the book is quiet.
        self._last_book_ns = tick.ts_init

    def _on_stale_check(self, event) -> None:
        if self._last_book_ns and event.ts_event - self._last_book_ns > self._stale_ns:
            self._pull_quotes("stale book")

    # -- audit log -----------------------------------------------------------------------------

    def _audit_event(self, event) -> None:
        # On the bus, not in `on_event`: that one is not called once the strategy has stopped,
        # and the cancels of a stop come in after. Rejections and denials nautilus logs itself,
        # as warnings, except post-only rejections when told not to.
        if isinstance(event, _WARNED_EVENTS) and not (
            isinstance(event, OrderRejected)
            and event.due_post_only
            and not self.config.log_rejected_due_post_only_as_warning
        ):
            return
        self._audit("<--[EVT] ", event)

    def _audit_command(self, line: str) -> None:
        if self._audit_commands:
            self._audit("[CMD]--> ", line)

    def _audit(self, prefix: str, what: object) -> None:
        if self._held_audit is not None:
            self._held_audit.append((prefix, what))
        else:
            self.log.info(f"{prefix}{what}")

    # -- order events --------------------------------------------------------------------------

    def on_order_event(self, event: OrderEvent) -> None:
        if isinstance(event, _LADDER_CHANGING_EVENTS):
            self._dirty = True
            self._defer_requote()
        elif isinstance(event, OrderDenied):
            # Denied by a risk limit or a halt: try again with the next book event (once a
            # halt is lifted the ladder comes back without waiting for the price to move).
            self._dirty = True

    # -- quoting -------------------------------------------------------------------------------

    def _requote(self, now: int) -> None:
        self._held_audit = []
        try:
            self._send_requote(now)
        finally:
            held, self._held_audit = self._held_audit, None
            for prefix, what in held:
                self.log.info(f"{prefix}{what}")

    def _send_requote(self, now: int) -> None:
        # Read once per requote: the portfolio works each one out afresh.
        positions = {iid: self._position(iid) for iid in self._quoted_ids()}
        inventory = positions[self._iid]
        if self._complement is not None:
            inventory -= positions[self._complement.id]
        ladder = build_ladder(
            self._fair,
            math.sqrt(self._variance),
            inventory,
            self._best_bid,
            self._best_ask,
            self._spec,
            self._params,
        )
        for instrument_id, targets in self._targets(ladder, positions).items():
            live, orders = self._live_orders(instrument_id)
            plan = diff_quotes(targets, live, self._tolerance, self.config.capabilities.can_amend)
            if plan.empty:
                continue
            plan = cap_exposure(
                plan,
                live,
                positions[instrument_id],
                self.config.max_position,
                size_step=self._spec.size_step,
                min_size=self._spec.min_size,
                # An outcome token can only be sold out of inventory.
                max_short=0.0 if self._no_short else None,
            )
            self._execute(instrument_id, plan, orders)
        self._quoted_fair = self._fair
        self._dirty = False
        self._next_requote_ns = now + self._requote_interval_ns

    def _targets(
        self, ladder: Ladder, positions: dict[InstrumentId, float]
    ) -> dict[InstrumentId, list[Target]]:
        if self._complement is None:
            targets = [Target(BUY, q.price, q.size) for q in ladder.bids]
            targets += [Target(SELL, q.price, q.size) for q in ladder.asks]
            return {self._iid: targets}
        return self._binary_targets(ladder, positions)

    def _binary_targets(
        self, ladder: Ladder, positions: dict[InstrumentId, float]
    ) -> dict[InstrumentId, list[Target]]:
        # A YES bid at p is a YES buy, or a sale of held NO at 1 - p; a YES ask at p is a sale of
        # held YES, or a NO buy at 1 - p. Selling what is held first frees capital.
        digits = self._instrument.price_precision
        yes_free = max(positions[self._iid], 0.0)
        no_free = max(positions[self._complement.id], 0.0)
        yes: list[Target] = []
        no: list[Target] = []
        for quote in ladder.bids:
            if no_free >= quote.size:
                no.append(Target(SELL, round(1.0 - quote.price, digits), quote.size))
                no_free -= quote.size
            else:
                yes.append(Target(BUY, quote.price, quote.size))
        for quote in ladder.asks:
            if yes_free >= quote.size:
                yes.append(Target(SELL, quote.price, quote.size))
                yes_free -= quote.size
            else:
                no.append(Target(BUY, round(1.0 - quote.price, digits), quote.size))
        return {self._iid: yes, self._complement.id: no}

    def _live_orders(self, instrument_id: InstrumentId) -> tuple[list[LiveOrder], dict[str, Order]]:
        orders: dict[str, Order] = {}
        for order in self.cache.orders_open(instrument_id=instrument_id, strategy_id=self.id):
            orders[order.client_order_id.value] = order
        for order in self.cache.orders_inflight(instrument_id=instrument_id, strategy_id=self.id):
            orders[order.client_order_id.value] = order
        live = [_live_order(key, order) for key, order in orders.items()]
        return live, orders

    def _execute(self, instrument_id: InstrumentId, plan: Plan, orders: dict[str, Order]) -> None:
        caps = self.config.capabilities
        instrument = self.cache.instrument(instrument_id)
        if plan.cancels:
            to_cancel = [orders[key] for key in plan.cancels]
            for batch in split_batches(to_cancel, caps.batch_cancel_max):
                if len(batch) == 1:
                    self.cancel_order(batch[0])
                else:
                    self.cancel_orders(batch)
                self._audit_command(f"Cancel {', '.join(o.client_order_id.value for o in batch)}")
            self.cancels += len(to_cancel)
        for amend in plan.amends:
            order = orders[amend.key]
            quantity = instrument.make_qty(order.filled_qty.as_double() + amend.size)
            price = instrument.make_price(amend.price)
            self.modify_order(order, quantity=quantity, price=price)
            self._audit_command(f"Modify {order.client_order_id} to {quantity} @ {price}")
            self.modifies += 1
        if plan.submits:
            new_orders = [
                self.order_factory.limit(
                    instrument_id=instrument_id,
                    order_side=OrderSide.BUY if target.side == BUY else OrderSide.SELL,
                    quantity=instrument.make_qty(target.size),
                    price=instrument.make_price(target.price),
                    time_in_force=TimeInForce.GTC,
                    post_only=self.config.post_only,
                )
                for target in plan.submits
            ]
            for batch in split_batches(new_orders, caps.batch_submit_max):
                if len(batch) == 1:
                    self.submit_order(batch[0])
                else:
                    self.submit_order_list(self.order_factory.create_list(batch))
                for order in batch:
                    self._audit_command(f"Submit {order}")
            self.submits += len(new_orders)

    def _pull_quotes(self, reason: str) -> None:
        if self._pulled_reason == reason:
            return
        self._pulled_reason = reason
        self._quoted_fair = math.nan
        self._dirty = True
        for instrument_id in self._quoted_ids():
            open_count = self.cache.orders_open_count(
                instrument_id=instrument_id, strategy_id=self.id
            )
            if open_count:
                self.log.warning(f"Pulling {open_count} quotes on {instrument_id}: {reason}")
                self.cancel_all_orders(instrument_id)
                self._audit_command(f"CancelAll {instrument_id}")
                self.cancels += open_count

    # -- helpers -------------------------------------------------------------------------------

    def _quoted_ids(self) -> list[InstrumentId]:
        ids = [self._iid]
        if self._complement is not None:
            ids.append(self._complement.id)
        return ids

    def _position(self, instrument_id: InstrumentId) -> float:
        return float(self.portfolio.net_position(instrument_id))

    def _find_complement(self, instrument: Instrument) -> Instrument | None:
        if not isinstance(instrument, BinaryOption):
            return None
        complement_id = self.config.complement_id
        if complement_id is None:
            complement_id = _complement_id_in_cache(
                instrument, self.cache.instruments(instrument.venue)
            )
        complement = self.cache.instrument(complement_id) if complement_id is not None else None
        if complement is None:
            self.log.warning(
                f"No complementary token for {instrument.id} ({complement_id or 'none found'} "
                "not in the cache): the ask side is quoted only against held inventory"
            )
        return complement


def instrument_spec(instrument: Instrument) -> InstrumentSpec:
    """The venue constraints the pricing functions need, read off a nautilus instrument."""
    tick = float(instrument.price_increment)
    size_step = float(instrument.size_increment)
    min_size = float(instrument.min_quantity) if instrument.min_quantity is not None else size_step
    if isinstance(instrument, BinaryOption):
        # Prediction-market prices are probabilities: the venue accepts [tick, 1 - tick].
        return InstrumentSpec(tick, size_step, min_size, min_price=tick, max_price=1.0 - tick)
    return InstrumentSpec(tick, size_step, min_size)


def _complement_id_in_cache(instrument: BinaryOption, candidates: list) -> InstrumentId | None:
    # Outcome tokens of one market share the condition id before the '-' in the symbol.
    condition = instrument.id.symbol.value.split("-", 1)[0]
    for other in candidates:
        if (
            isinstance(other, BinaryOption)
            and other.id != instrument.id
            and other.id.symbol.value.split("-", 1)[0] == condition
        ):
            return other.id
    return None


def _live_order(key: str, order: Order) -> LiveOrder:
    status = order.status
    return LiveOrder(
        key=key,
        side=BUY if order.side == OrderSide.BUY else SELL,
        price=order.price.as_double(),
        size=order.leaves_qty.as_double(),
        pending=status
        in (OrderStatus.SUBMITTED, OrderStatus.PENDING_UPDATE, OrderStatus.PENDING_CANCEL),
        closing=status == OrderStatus.PENDING_CANCEL,
    )
