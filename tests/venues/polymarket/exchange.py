"""The CLOB's business logic: order checks, matching, balances, trade settlement, heartbeats.

All methods are synchronous and run on the simulator's event loop thread, so one operation (a
placement with its fills, a scripted market move) is atomic for every client. Each operation ends
by flushing the touched markets, so a REST snapshot never contains a change not yet published.

Money model: one wallet per funder address with pUSD collateral and outcome-token positions. A
BUY needs free collateral (balance minus what its open BUY orders may spend), a SELL needs free
tokens (no naked sells). Fills settle at once (MATCHED); the trade then goes MINED and CONFIRMED
on timers, or RETRYING and FAILED, which reverses its settlement. Takers pay
`shares * rate * p(1-p)` in pUSD on fee-enabled markets; makers pay nothing.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from typing import Protocol

from eth_utils import keccak
from eth_utils import to_checksum_address

from tests.venues.polymarket import render
from tests.venues.polymarket.heartbeats import DeadManSwitch
from tests.venues.polymarket.market_events import best_bid_ask_event
from tests.venues.polymarket.market_events import book_event
from tests.venues.polymarket.market_events import last_trade_events
from tests.venues.polymarket.market_events import price_change_event
from tests.venues.polymarket.market_events import tick_size_events
from tests.venues.polymarket.market_state import MarketState
from tests.venues.polymarket.markets import TICK_SIZES
from tests.venues.polymarket.markets import MarketSpec
from tests.venues.polymarket.markets import fmt
from tests.venues.polymarket.models import BID
from tests.venues.polymarket.models import BUY
from tests.venues.polymarket.models import SELL
from tests.venues.polymarket.models import ZERO
from tests.venues.polymarket.models import ApiError
from tests.venues.polymarket.models import Fill
from tests.venues.polymarket.models import Order
from tests.venues.polymarket.models import Trade
from tests.venues.polymarket.models import Wallet
from tests.venues.polymarket.orders import RESTING_TYPES
from tests.venues.polymarket.orders import SIGNATURE_TYPES
from tests.venues.polymarket.orders import OrderRequest
from tests.venues.polymarket.orders import fee_rate_bps
from tests.venues.polymarket.orders import implied_price_and_size
from tests.venues.polymarket.orders import snap_to_tick
from tests.venues.polymarket.orders import taker_fee
from tests.venues.polymarket.signing import ApiCreds
from tests.venues.polymarket.signing import exchange_for
from tests.venues.polymarket.signing import message_digest
from tests.venues.polymarket.signing import order_message
from tests.venues.polymarket.signing import recover_signer

# The scripted market's participants trade from one unchecked wallet under one API key.
CROWD_ADDRESS = to_checksum_address("0x" + keccak(text="quotekit-sim:crowd")[-20:].hex())
CROWD_API_KEY = "c20dc20d-0000-4000-8000-00000000c20d"
GTD_SECURITY_S = 60  # a GTD order lives until `expiration - 60 s`
CANCEL_GONE = "order can't be found - already canceled or matched"
PUBLIC_TRADES_KEPT = 10_000


class EventSink(Protocol):
    def publish_market(self, market: str, message: dict[str, Any]) -> None: ...

    def publish_user(self, user: str, market: str, message: dict[str, Any]) -> None: ...


@dataclass
class Settlement:
    """One wallet change of a fill, kept so a FAILED trade can be reversed exactly."""

    wallet: Wallet
    token_id: str
    collateral: Decimal
    size: Decimal
    cost: Decimal
    realized: Decimal
    bought: Decimal


class Exchange:
    def __init__(
        self,
        markets: list[MarketSpec],
        sink: EventSink,
        *,
        seed: int = 0,
        chain_id: int = 137,
        mined_after_s: float = 1.0,
        confirmed_after_s: float = 3.0,
        heartbeat_timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        now = clock()
        self.sink = sink
        self.chain_id = chain_id
        self.clock = clock
        self.mined_after_s = mined_after_s
        self.confirmed_after_s = confirmed_after_s
        self.markets: dict[str, MarketState] = {}
        self.tokens: dict[str, MarketState] = {}
        for i, spec in enumerate(markets):
            spec.gamma_id = spec.gamma_id or 700_001 + i
            state = MarketState.create(spec, seed, now)
            self.markets[spec.condition_id] = state
            for token_id in spec.token_ids:
                self.tokens[token_id] = state
        self.wallets: dict[str, Wallet] = {}
        self.funders: dict[str, str] = {}  # signer (lower) -> funder proxy (checksummed)
        self.orders: dict[str, Order] = {}
        self.open_orders: dict[str, dict[str, Order]] = {}  # user (lower) -> id -> order
        self.user_trades: dict[str, list[tuple[Trade, Order]]] = {}  # user -> (trade, own order)
        self.public_trades: dict[str, deque[Trade]] = {
            cid: deque(maxlen=PUBLIC_TRADES_KEPT) for cid in self.markets
        }
        self.dead_man = DeadManSwitch(self.cancel_all, heartbeat_timeout_s, self._later)
        self.fail_next_trades = 0
        self._settlements: dict[str, list[Settlement]] = {}
        self._timers: set[asyncio.TimerHandle] = set()
        self._expiries: dict[str, asyncio.TimerHandle] = {}
        self._seq = 0

    # ---- lookups -------------------------------------------------------------------------
    def market(self, condition_id: str) -> MarketState:
        state = self.markets.get(condition_id)
        if state is None:
            raise ApiError(404, "market not found")
        return state

    def token(self, token_id: str | None) -> MarketState:
        if not token_id:
            raise ApiError(400, "Invalid token id")
        state = self.tokens.get(token_id)
        if state is None:
            raise ApiError(404, "No orderbook exists for the requested token id")
        return state

    def wallet(self, address: str) -> Wallet:
        key = address.lower()
        wallet = self.wallets.get(key)
        if wallet is None:
            wallet = self.wallets[key] = Wallet(to_checksum_address(address))
        return wallet

    def set_funder(self, signer: str, funder: str) -> None:
        """Let `signer` sign orders (types 1/2) for the proxy wallet `funder`."""
        self.funders[signer.lower()] = to_checksum_address(funder)

    def funder_of(self, user: str, signature_type: int) -> str:
        """The address whose balances an order of this user and signature type uses."""
        if signature_type == 0:
            return to_checksum_address(user)
        return self.funders.get(user.lower(), to_checksum_address(user))

    def user_open_orders(self, user: str) -> dict[str, Order]:
        return self.open_orders.setdefault(user.lower(), {})

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # ---- balances ------------------------------------------------------------------------
    def free_collateral(self, address: str) -> Decimal:
        wallet = self.wallet(address)
        reserved = sum(
            (o.remaining * o.price for o in self._open_of_maker(address) if o.side == BUY), ZERO
        )
        return wallet.collateral - reserved

    def free_tokens(self, address: str, token_id: str) -> Decimal:
        reserved = sum(
            (
                o.remaining
                for o in self._open_of_maker(address)
                if o.side == SELL and o.token_id == token_id
            ),
            ZERO,
        )
        return self.wallet(address).tokens(token_id) - reserved

    def _open_of_maker(self, address: str) -> Iterable[Order]:
        key = address.lower()
        for orders in self.open_orders.values():
            for order in orders.values():
                if order.maker.lower() == key:
                    yield order

    def set_balance(
        self,
        address: str,
        collateral: Decimal | None = None,
        tokens: dict[str, Decimal] | None = None,
    ) -> Wallet:
        wallet = self.wallet(address)
        if collateral is not None:
            wallet.collateral = collateral
        for token_id, size in (tokens or {}).items():
            self.token(token_id)
            pos = wallet.position(token_id)
            if size > pos.size:
                # Tokens handed over (e.g. split from collateral) are priced at the midpoint.
                state = self.tokens[token_id]
                pos.buy(size - pos.size, state.midpoint(state.index_of(token_id)))
            else:
                pos.sell(pos.size - size, pos.avg_price)
        return wallet

    # ---- placement -----------------------------------------------------------------------
    def place(self, creds: ApiCreds, request: OrderRequest) -> tuple[Order, list[Trade]]:
        """Check, sign-verify, match and rest one order; ApiError (400) when it is refused."""
        order = self._validate(creds, request)
        return order, self._execute(order)

    def order_id(self, request: OrderRequest) -> str:
        """The order id (EIP-712 digest) a request would get; "" when its token is unknown."""
        state = self.tokens.get(request.token_id)
        if state is None:
            return ""
        message = order_message(request.fields, exchange_for(state.spec.neg_risk), self.chain_id)
        return message_digest(message)

    def _validate(self, creds: ApiCreds, request: OrderRequest) -> Order:
        fields = request.fields
        if request.owner != creds.api_key:
            raise ApiError(400, "the order owner has to be the owner of the API KEY")
        if fields.signature_type not in SIGNATURE_TYPES:
            raise ApiError(400, "Invalid order payload")
        if fields.signer.lower() != creds.address.lower():
            raise ApiError(400, "the order signer address has to be the address of the API KEY")
        funder = self.funder_of(creds.address, fields.signature_type)
        if fields.maker.lower() != funder.lower():
            raise ApiError(400, "the order owner has to be the owner of the API KEY")
        state = self.tokens.get(request.token_id)
        if state is None:
            raise ApiError(404, "market not found")
        message = order_message(fields, exchange_for(state.spec.neg_risk), self.chain_id)
        order_id = message_digest(message)
        signer = recover_signer(message, request.signature)
        if signer is None or signer.lower() != fields.signer.lower():
            raise ApiError(400, "invalid signature")
        if order_id in self.orders:
            raise ApiError(400, f"order {order_id} is invalid. Duplicated.")
        raw_price, size = implied_price_and_size(
            request.side, fields.maker_amount, fields.taker_amount
        )
        tick = state.tick
        price = snap_to_tick(raw_price, tick)
        if price is None or not tick <= price <= 1 - tick:
            raise ApiError(
                400,
                f"order {order_id} is invalid. Price ({fmt(raw_price)}) breaks minimum tick size "
                f"rule: {fmt(tick)}",
            )
        if request.order_type in RESTING_TYPES and size < state.spec.min_order_size:
            raise ApiError(
                400,
                f"order {order_id} is invalid. Size ({fmt(size)}) lower than the minimum: "
                f"{fmt(state.spec.min_order_size)}",
            )
        now = self.clock()
        if request.order_type == "GTD":
            if request.expiration <= now + GTD_SECURITY_S:
                raise ApiError(400, "invalid expiration")
        elif request.expiration != 0:
            raise ApiError(400, "invalid expiration")
        index = state.index_of(request.token_id)
        order = Order(
            id=order_id,
            market=state.condition_id,
            token_id=request.token_id,
            outcome=state.spec.outcomes[index],
            outcome_index=index,
            side=request.side,
            price=price,
            size=size,
            order_type=request.order_type,
            user=creds.address.lower(),
            maker=to_checksum_address(fields.maker),
            owner=creds.api_key,
            created_at=now,
            expiration=request.expiration,
        )
        if request.side == BUY:
            enough = self.free_collateral(order.maker) >= size * price
        else:
            enough = self.free_tokens(order.maker, order.token_id) >= size
        if not enough:
            raise ApiError(400, "not enough balance / allowance")
        book = state.book
        if request.post_only and book.would_cross(order.book_side, order.yes_price):
            raise ApiError(400, "invalid post-only order: order crosses book")
        if request.order_type == "FOK" and book.available(order.book_side, order.yes_price) < size:
            raise ApiError(
                400, "order couldn't be fully filled. FOK orders are fully filled or killed."
            )
        if request.order_type == "FAK" and not book.would_cross(order.book_side, order.yes_price):
            raise ApiError(
                400,
                "no orders found to match with FAK order. FAK orders are partially filled or "
                "killed if no match is found.",
            )
        return order

    def crowd_order(
        self, condition_id: str, book_side: int, yes_price: Decimal, size: Decimal,
        order_type: str, outcome_index: int,
    ) -> Order:  # fmt: skip
        """A scripted participant's order (no signature, unchecked wallet): `book_side` and
        `yes_price` in YES terms, placed on the outcome `outcome_index`. The caller flushes."""
        state = self.markets[condition_id]
        is_yes = outcome_index == 0
        side = BUY if (book_side == BID) == is_yes else SELL
        seq = self._seq + 1
        order = Order(
            id="0x" + keccak(text=f"quotekit-sim:crowd-order:{condition_id}:{seq}").hex(),
            market=condition_id,
            token_id=state.spec.token_ids[outcome_index],
            outcome=state.spec.outcomes[outcome_index],
            outcome_index=outcome_index,
            side=side,
            price=yes_price if is_yes else 1 - yes_price,
            size=size,
            order_type=order_type,
            user=CROWD_ADDRESS.lower(),
            maker=CROWD_ADDRESS,
            owner=CROWD_API_KEY,
            created_at=self.clock(),
        )
        self._execute(order, flush=False)
        return order

    def _execute(self, order: Order, *, flush: bool = True) -> list[Trade]:
        state = self.tokens[order.token_id]
        order.seq = self._next_seq()
        if order.owner != CROWD_API_KEY:  # crowd orders are never looked up by id
            self.orders[order.id] = order
        self._user_event(order, render.order_event(order, "PLACEMENT", self.clock()))
        trades = self._match(state, order)
        if order.remaining > 0 and order.order_type in RESTING_TYPES:
            state.book.add(order)
            self.user_open_orders(order.user)[order.id] = order
            if order.order_type == "GTD":
                self._schedule_expiry(order)
        elif order.remaining > 0:
            order.status = "CANCELED"  # the unfilled part of a FAK order
            self._user_event(order, render.order_event(order, "CANCELLATION", self.clock()))
        else:
            order.status = "MATCHED"
        if flush:
            self.flush(state.condition_id)
        return trades

    # ---- matching ------------------------------------------------------------------------
    def _match(self, state: MarketState, taker: Order) -> list[Trade]:
        """Fill `taker` against resting orders in price-time priority; one trade per price."""
        trades: list[Trade] = []
        fills: list[Fill] = []
        level: Decimal | None = None
        for maker in state.book.makers(taker.book_side, taker.yes_price):
            if taker.remaining <= 0:
                break
            if level is not None and maker.yes_price != level:
                trades.append(self._trade(state, taker, level, fills))
                fills = []
            level = maker.yes_price
            size = min(taker.remaining, maker.remaining)
            maker.matched += size
            taker.matched += size
            if maker.remaining <= 0:
                state.book.remove(maker)
                maker.status = "MATCHED"
                self.user_open_orders(maker.user).pop(maker.id, None)
                self._cancel_expiry(maker.id)
            else:
                state.book.touch(maker)
            fills.append(Fill(maker, size, maker.price))
        if fills and level is not None:
            trades.append(self._trade(state, taker, level, fills))
        return trades

    def _trade(
        self, state: MarketState, taker: Order, yes_price: Decimal, fills: list[Fill]
    ) -> Trade:
        now = self.clock()
        size = sum((f.size for f in fills), ZERO)
        price = yes_price if taker.is_yes else 1 - yes_price
        spec = state.spec
        trade = Trade(
            id=str(uuid.uuid4()),
            market=state.condition_id,
            taker=taker,
            taker_price=price,
            size=size,
            makers=fills,
            match_time=now,
            taker_fee=taker_fee(size, price, spec.fee_rate, spec.fee_exponent),
            fee_rate_bps=fee_rate_bps(spec.fee_rate),
            last_update=now,
        )
        settlements = [self._settle(taker, size, price, trade.taker_fee)]
        settlements += [self._settle(f.order, f.size, f.price, ZERO) for f in fills]
        participants = [taker, *(f.order for f in fills)]
        for order in participants:
            order.trade_ids.append(trade.id)
        for order in self._trade_owner_orders(trade):
            self.user_trades.setdefault(order.user, []).append((trade, order))
        has_users = any(o.owner != CROWD_API_KEY for o in participants)
        if has_users:
            self._settlements[trade.id] = settlements  # until final, in case it fails
        if has_users and self.fail_next_trades > 0:
            self.fail_next_trades -= 1
            trade.will_fail = True
        if taker.remaining <= 0:
            taker.status = "MATCHED"
        state.record_trade(taker.outcome_index, price, taker.side, size, int(now))
        self.public_trades[state.condition_id].append(trade)
        for order in dict.fromkeys(f.order for f in fills):
            self._user_event(order, render.order_event(order, "UPDATE", now))
        self._user_event(taker, render.order_event(taker, "UPDATE", now))
        self._publish_trade(trade)
        for event in last_trade_events(state, size, trade.fee_rate_bps, int(now * 1000)):
            self.sink.publish_market(state.condition_id, event)
        if has_users:
            self._later(self.mined_after_s, self._advance, trade)
        else:
            # Nobody watches the crowd's own trades settle: they are final at once.
            trade.status, trade.transaction_hash = "CONFIRMED", _tx_hash(trade.id)
        return trade

    def _settle(self, order: Order, size: Decimal, price: Decimal, fee: Decimal) -> Settlement:
        wallet = self.wallet(order.maker)
        pos = wallet.position(order.token_id)
        before = (wallet.collateral, pos.size, pos.cost, pos.realized_pnl, pos.total_bought)
        if order.side == BUY:
            wallet.collateral -= size * price
            pos.buy(size, price)
        else:
            wallet.collateral += size * price
            pos.sell(size, price)
        wallet.collateral -= fee
        return Settlement(
            wallet,
            order.token_id,
            wallet.collateral - before[0],
            pos.size - before[1],
            pos.cost - before[2],
            pos.realized_pnl - before[3],
            pos.total_bought - before[4],
        )

    def _reverse(self, trade: Trade) -> None:
        for s in self._settlements.pop(trade.id, []):
            pos = s.wallet.position(s.token_id)
            s.wallet.collateral -= s.collateral
            pos.size -= s.size
            pos.cost -= s.cost
            pos.realized_pnl -= s.realized
            pos.total_bought -= s.bought

    # ---- trade settlement timeline -------------------------------------------------------
    def _advance(self, trade: Trade) -> None:
        """MATCHED -> MINED -> CONFIRMED, or (a failing trade) MATCHED -> RETRYING -> FAILED."""
        step_s = max(self.confirmed_after_s - self.mined_after_s, 0.0)
        if trade.will_fail:
            if trade.status == "MATCHED":
                trade.status = "RETRYING"
                self._later(step_s, self._advance, trade)
            else:
                trade.status = "FAILED"
                self._reverse(trade)
        elif trade.status == "MATCHED":
            trade.status = "MINED"
            trade.transaction_hash = _tx_hash(trade.id)
            self._later(step_s, self._advance, trade)
        else:
            trade.status = "CONFIRMED"
            self._settlements.pop(trade.id, None)
        trade.last_update = self.clock()
        self._publish_trade(trade)

    def _publish_trade(self, trade: Trade) -> None:
        now = self.clock()
        for order in self._trade_owner_orders(trade):
            self.sink.publish_user(order.user, trade.market, render.trade_event(trade, order, now))

    @staticmethod
    def _trade_owner_orders(trade: Trade) -> list[Order]:
        """One order per participating user (their view of the trade), the crowd excluded."""
        seen: dict[str, Order] = {}
        for order in [trade.taker, *(f.order for f in trade.makers)]:
            if order.owner != CROWD_API_KEY:
                seen.setdefault(order.user, order)
        return list(seen.values())

    # ---- cancels and expiry --------------------------------------------------------------
    def cancel(self, user: str, order_ids: Iterable[str]) -> dict[str, Any]:
        canceled: list[str] = []
        not_canceled: dict[str, str] = {}
        touched: set[str] = set()
        for order_id in order_ids:
            order = self.user_open_orders(user).get(order_id)
            if order is None:
                not_canceled[order_id] = CANCEL_GONE
                continue
            self._cancel(order)
            canceled.append(order_id)
            touched.add(order.market)
        for market in touched:
            self.flush(market)
        return {"canceled": canceled, "not_canceled": not_canceled}

    def cancel_all(self, user: str) -> dict[str, Any]:
        return self.cancel(user, list(self.user_open_orders(user)))

    def cancel_market(self, user: str, market: str | None, asset_id: str | None) -> dict[str, Any]:
        ids = [
            o.id
            for o in self.user_open_orders(user).values()
            if (not market or o.market == market) and (not asset_id or o.token_id == asset_id)
        ]
        return self.cancel(user, ids)

    def _cancel(self, order: Order) -> None:
        self.tokens[order.token_id].book.remove(order)
        order.status = "CANCELED"
        self.user_open_orders(order.user).pop(order.id, None)
        self._cancel_expiry(order.id)
        self._user_event(order, render.order_event(order, "CANCELLATION", self.clock()))

    def crowd_cancel(self, order: Order) -> None:
        if order.is_live:
            self._cancel(order)

    def _schedule_expiry(self, order: Order) -> None:
        delay = order.expiration - GTD_SECURITY_S - self.clock()
        self._expiries[order.id] = self._later(delay, self._expire, order)

    def _expire(self, order: Order) -> None:
        self._expiries.pop(order.id, None)
        if order.is_live:
            self._cancel(order)
            self.flush(order.market)

    def _cancel_expiry(self, order_id: str) -> None:
        handle = self._expiries.pop(order_id, None)
        if handle is not None:
            handle.cancel()

    # ---- market administration -----------------------------------------------------------
    def set_tick_size(self, condition_id: str, tick: Decimal) -> None:
        if str(tick) not in TICK_SIZES:
            raise ValueError(f"tick size must be one of {TICK_SIZES}, not {tick}")
        state = self.market(condition_id)
        old, state.tick = state.tick, tick
        for event in tick_size_events(state, old, tick, int(self.clock() * 1000)):
            self.sink.publish_market(condition_id, event)

    # ---- publication ---------------------------------------------------------------------
    def _user_event(self, order: Order, message: dict[str, Any]) -> None:
        if order.owner != CROWD_API_KEY:
            self.sink.publish_user(order.user, order.market, message)

    def flush(self, condition_id: str) -> None:
        """Publish what changed: a `book` per token after trades, else one batched
        `price_change`; `best_bid_ask` when a token's top moved."""
        state = self.markets[condition_id]
        changes = state.book.take_changes()
        ts_ms = int(self.clock() * 1000)
        if state.traded:
            state.traded = False
            for index in (0, 1):
                self.sink.publish_market(condition_id, book_event(state, index, ts_ms))
        elif changes:
            self.sink.publish_market(
                condition_id, price_change_event(state, sorted(changes), ts_ms)
            )
        for index in (0, 1):
            top = state.top(index)
            if top != state.last_tops[index]:
                state.last_tops[index] = top
                self.sink.publish_market(condition_id, best_bid_ask_event(state, index, ts_ms))

    # ---- timers --------------------------------------------------------------------------
    def _later(self, delay_s: float, fn: Callable[..., None], *args: Any) -> asyncio.TimerHandle:
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.discard(handle)
            fn(*args)

        handle = loop.call_later(max(delay_s, 0.0), fire)
        self._timers.add(handle)
        return handle

    def cancel_timers(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        self._expiries.clear()
        self.dead_man.chains.clear()


def _tx_hash(trade_id: str) -> str:
    return "0x" + keccak(text=f"quotekit-sim:tx:{trade_id}").hex()
