"""
Paper trading: live public data from the venue's data client, fills from a simulated exchange in
the same process, with the backtest's fee model, latency model, book depth, queue position and
trade execution (the `backtest.venue` section of the same YAML).

nautilus' `SandboxExecutionClient` builds its `SimulatedExchange` with a default `FillModel`,
`MakerTakerFeeModel` and zero latency, and processes commands the moment they arrive. The client
here keeps the sandbox's data handling and command routing and builds the exchange itself: commands
wait in the exchange's in-flight queue for their latency, and a timer drains them on time even when
no market data arrives to move the simulated clock.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from nautilus_trader.adapters.sandbox.config import SandboxExecutionClientConfig
from nautilus_trader.adapters.sandbox.execution import SandboxExecutionClient
from nautilus_trader.backtest.config import FeeModelFactory
from nautilus_trader.backtest.config import ImportableFeeModelConfig
from nautilus_trader.backtest.config import ImportableLatencyModelConfig
from nautilus_trader.backtest.config import LatencyModelFactory
from nautilus_trader.backtest.engine import SimulatedExchange
from nautilus_trader.backtest.execution_client import BacktestExecClient
from nautilus_trader.backtest.models import FillModel
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.common.component import TestClock
from nautilus_trader.common.providers import InstrumentProvider
from nautilus_trader.live.execution_client import LiveExecutionClient
from nautilus_trader.live.factories import LiveExecClientFactory
from nautilus_trader.model.enums import account_type_from_str
from nautilus_trader.model.enums import book_type_from_str
from nautilus_trader.model.enums import oms_type_from_str
from nautilus_trader.model.identifiers import AccountId
from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.objects import Currency
from nautilus_trader.model.objects import Money
from nautilus_trader.portfolio.base import PortfolioFacade

from backtests.config import VenueSection
from backtests.models import fee_model_config
from backtests.models import latency_model_config

_NANOS_PER_S = 1e9


class PaperExecClientConfig(SandboxExecutionClientConfig, frozen=True, kw_only=True):
    fee_model: ImportableFeeModelConfig
    latency_model: ImportableLatencyModelConfig
    queue_position: bool = True
    liquidity_consumption: bool = False


def paper_exec_config(client_name: str, venue: VenueSection) -> PaperExecClientConfig:
    """The simulated venue of the backtest section, under the live venue's name."""
    balance = Money.from_str(venue.starting_balance)
    return PaperExecClientConfig(
        venue=client_name,
        starting_balances=[str(balance)],
        base_currency=balance.currency.code,
        oms_type=venue.oms_type,
        account_type=venue.account_type,
        default_leverage=Decimal(str(venue.leverage)),
        book_type=venue.book_type,
        trade_execution=venue.trade_execution,
        bar_execution=False,
        fee_model=fee_model_config(venue.fees),
        latency_model=latency_model_config(venue.latency),
        queue_position=venue.queue_position,
        liquidity_consumption=venue.liquidity_consumption,
    )


class PaperExecutionClient(SandboxExecutionClient):
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        portfolio: PortfolioFacade,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        config: PaperExecClientConfig,
    ) -> None:
        # The sandbox's own __init__ would build a second exchange with its fixed models.
        LiveExecutionClient.__init__(
            self,
            loop=loop,
            client_id=ClientId(config.venue),
            venue=Venue(config.venue),
            oms_type=oms_type_from_str(config.oms_type),
            account_type=account_type_from_str(config.account_type),
            base_currency=Currency.from_str(config.base_currency) if config.base_currency else None,
            instrument_provider=InstrumentProvider(),
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            config=None,
        )
        self._set_account_id(AccountId(f"{config.venue}-001"))
        self.test_clock = TestClock()
        latency = LatencyModelFactory.create(config.latency_model)
        self._delays_s = {
            "insert": latency.insert_latency_nanos / _NANOS_PER_S,
            "update": latency.update_latency_nanos / _NANOS_PER_S,
            "cancel": latency.cancel_latency_nanos / _NANOS_PER_S,
        }
        self.exchange = SimulatedExchange(
            venue=self.venue,
            oms_type=self.oms_type,
            account_type=self.account_type,
            starting_balances=[Money.from_str(b) for b in config.starting_balances],
            base_currency=self.base_currency,
            default_leverage=config.default_leverage,
            leverages=config.leverages or {},
            modules=[],
            portfolio=portfolio,
            msgbus=self._msgbus,
            cache=cache,
            clock=self.test_clock,
            fill_model=FillModel(),  # the backtest's venue has no fill model configured either
            fee_model=FeeModelFactory.create(config.fee_model),
            latency_model=latency,
            book_type=book_type_from_str(config.book_type),
            frozen_account=config.frozen_account,
            bar_execution=config.bar_execution,
            trade_execution=config.trade_execution,
            reject_stop_orders=config.reject_stop_orders,
            support_gtd_orders=config.support_gtd_orders,
            support_contingent_orders=config.support_contingent_orders,
            use_position_ids=config.use_position_ids,
            use_random_ids=config.use_random_ids,
            use_reduce_only=config.use_reduce_only,
            use_message_queue=True,  # commands wait in flight for their latency
            liquidity_consumption=config.liquidity_consumption,
            queue_position=config.queue_position,
        )
        self._client = BacktestExecClient(
            exchange=self.exchange, msgbus=msgbus, cache=cache, clock=self.test_clock
        )
        self.exchange.register_client(self._client)
        self.exchange.initialize_account()

    def submit_order(self, command):
        self._client.submit_order(command)
        self._drain_after(self._delays_s["insert"])

    def submit_order_list(self, command):
        self._client.submit_order_list(command)
        self._drain_after(self._delays_s["insert"])

    def modify_order(self, command):
        self._client.modify_order(command)
        self._drain_after(self._delays_s["update"])

    def cancel_order(self, command):
        self._client.cancel_order(command)
        self._drain_after(self._delays_s["cancel"])

    def cancel_all_orders(self, command):
        self._client.cancel_all_orders(command)
        self._drain_after(self._delays_s["cancel"])

    def batch_cancel_orders(self, command):
        self._client.batch_cancel_orders(command)
        self._drain_after(self._delays_s["cancel"])

    def _drain_after(self, delay_s: float) -> None:
        self._loop.call_later(delay_s, self._drain)

    def _drain(self) -> None:
        self.exchange.process(self._clock.timestamp_ns())


class SandboxLiveExecClientFactory(LiveExecClientFactory):
    """
    Creates `PaperExecutionClient`s. The name is nautilus' own: its node builder hands the
    portfolio (which the simulated exchange needs) only to a factory of this class name.
    """

    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: PaperExecClientConfig,
        portfolio: PortfolioFacade,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> PaperExecutionClient:
        return PaperExecutionClient(loop, portfolio, msgbus, cache, clock, config)
