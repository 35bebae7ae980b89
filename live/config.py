"""
The `live:` section of the YAML config: venue endpoints, reconciliation at start-up, risk limits
and how a run stops. Typed msgspec structs, validated by `backtests.schema` like the rest of the
file, so the same YAML drives backtest, paper and live with one set of strategy parameters.

Only the structs and their validation live here; the risk gate, kill switch and metrics that
enforce the limits read them from `RunConfig.live`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from typing import Annotated
from typing import Literal

import msgspec
from msgspec import Meta

from backtests.schema import key_error

if TYPE_CHECKING:
    from strategies.quoting import QuotingConfig

# nautilus throttles are written "count/HH:MM:SS"; trader ids "NAME-TAG".
_RATE = re.compile(r"^([1-9][0-9]*)/([0-9]+):([0-5][0-9]):([0-5][0-9])$")
_TRADER_ID = re.compile(r"^[A-Za-z0-9_]+-[A-Za-z0-9_]+$")
_URL_SCHEMES = {"rest_url": ("http://", "https://"), "ws_url": ("ws://", "wss://")}


class LiveStruct(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class GateEndpoints(LiveStruct):
    rest_url: Annotated[
        str | None, Meta(description="REST base, e.g. https://api.gateio.ws/api/v4")
    ] = None
    ws_url: Annotated[str | None, Meta(description="futures WebSocket URL")] = None
    spot_ws_url: Annotated[
        str | None, Meta(description="spot WebSocket URL (needed with rest_url/ws_url for spot)")
    ] = None
    testnet: Annotated[bool, Meta(description="Gate's testnet instead of the live venue")] = False


class PolymarketEndpoints(LiveStruct):
    rest_url: Annotated[str | None, Meta(description="CLOB REST base")] = None
    ws_url: Annotated[str | None, Meta(description="CLOB WebSocket base (…/ws/)")] = None
    gamma_url: Annotated[str | None, Meta(description="Gamma markets API base")] = None
    data_api_url: Annotated[str | None, Meta(description="Data API base")] = None


class EndpointsSection(LiveStruct):
    gate: GateEndpoints = GateEndpoints()
    polymarket: PolymarketEndpoints = PolymarketEndpoints()


class ReconciliationSection(LiveStruct):
    on_start: Annotated[
        Literal["adopt", "cancel"],
        Meta(
            description="orders resting at the venue at start-up: adopt them as the strategy's "
            "own, or cancel them before quoting"
        ),
    ] = "adopt"
    lookback_mins: Annotated[
        int | None,
        Meta(
            ge=1, description="orders and fills reconciled at start-up; default: all the venue has"
        ),
    ] = None
    open_check_interval_s: Annotated[
        float, Meta(gt=0, description="how often open orders are checked against the venue")
    ] = 5.0
    position_check_interval_s: Annotated[
        float, Meta(gt=0, description="how often positions are checked against the venue")
    ] = 30.0


class RiskLimits(LiveStruct):
    """
    Hard limits, enforced by the supervisor's risk gate and kill switch (live/risk.py,
    live/supervisor.py) and, for the throttles and per-order notional, by nautilus' RiskEngine.
    Unset = not enforced.
    """

    max_order_size: Annotated[
        float | None, Meta(gt=0, description="largest order, in the instrument's units")
    ] = None
    max_order_notional: Annotated[
        float | None, Meta(gt=0, description="largest order notional, quote currency")
    ] = None
    max_exposure_notional: Annotated[
        float | None,
        Meta(
            gt=0,
            description="worst-case notional over positions plus open and in-flight orders, "
            "quote currency",
        ),
    ] = None
    max_position: Annotated[
        float | None,
        Meta(
            gt=0,
            description="absolute position per instrument, instrument units; a fill past it "
            "trips the kill switch; >= strategy.max_position",
        ),
    ] = None
    max_order_submit_rate: Annotated[
        str, Meta(description="submits allowed, 'count/HH:MM:SS'; excess is denied")
    ] = "50/00:00:01"
    max_order_modify_rate: Annotated[
        str, Meta(description="amends allowed, 'count/HH:MM:SS'; excess is denied")
    ] = "50/00:00:01"
    max_daily_loss: Annotated[
        float | None,
        Meta(gt=0, description="loss over the UTC day that trips the kill switch, quote currency"),
    ] = None
    stale_data_ms: Annotated[
        int | None, Meta(gt=0, description="orders are denied while market data is older")
    ] = None
    stale_data_kill_ms: Annotated[
        int | None,
        Meta(gt=0, description="market data older than this trips the kill switch"),
    ] = None
    reconciliation_check_s: Annotated[
        float | None,
        Meta(gt=0, description="the supervisor compares positions with the venue this often"),
    ] = 10.0
    max_reconciliation_mismatches: Annotated[
        int, Meta(ge=1, description="position checks in a row that disagree and trip the switch")
    ] = 3


# Without these a live run has no hard cap on what one order, the book of orders or a day can cost.
ESSENTIAL_LIMITS = ("max_order_notional", "max_exposure_notional", "max_daily_loss")


class LiveSection(LiveStruct):
    trader_id: Annotated[
        str, Meta(description="nautilus trader id, NAME-TAG; one per running node")
    ] = "QUOTEKIT-001"
    dead_man_timeout_s: Annotated[
        int,
        Meta(ge=0, description="the venue cancels our orders this long after we go silent; 0 off"),
    ] = 30
    flatten_on_stop: Annotated[
        bool, Meta(description="on stop, close the position as well as cancelling orders")
    ] = False
    stop_timeout_s: Annotated[
        float, Meta(gt=0, description="how long a stop may take to cancel and flatten")
    ] = 30.0
    metrics_port: Annotated[
        int | None,
        Meta(ge=0, le=65535, description="Prometheus /metrics port; 0 any free port, null none"),
    ] = 0
    metrics_host: Annotated[str, Meta(description="address /metrics listens on")] = "127.0.0.1"
    endpoints: EndpointsSection = EndpointsSection()
    reconciliation: ReconciliationSection = ReconciliationSection()
    risk: RiskLimits = RiskLimits()


def parse_rate(text: str) -> tuple[int, int] | None:
    """'count/HH:MM:SS' -> (count, window seconds), None when malformed or the window is 0."""
    match = _RATE.match(text)
    if match is None:
        return None
    count, hours, minutes, seconds = (int(g) for g in match.groups())
    window = hours * 3600 + minutes * 60 + seconds
    return (count, window) if window > 0 else None


def ladder_sizes(strategy: QuotingConfig) -> list[float]:
    """Size of each level of one side, before rounding to the instrument's size step."""
    return [strategy.order_size * strategy.size_growth**i for i in range(strategy.levels)]


def check_live_section(live: LiveSection, strategy: QuotingConfig, *, source: str) -> None:
    """What the types cannot say: formats, and limits that would refuse every quote."""
    if not _TRADER_ID.match(live.trader_id):
        raise key_error(
            source,
            "live.trader_id",
            f"is {live.trader_id!r}",
            "write it as NAME-TAG, e.g. QUOTEKIT-001",
        )
    for key in ("max_order_submit_rate", "max_order_modify_rate"):
        value = getattr(live.risk, key)
        if parse_rate(value) is None:
            raise key_error(
                source,
                f"live.risk.{key}",
                f"is {value!r}",
                "write it as 'count/HH:MM:SS', e.g. '50/00:00:01'",
            )
    for venue in EndpointsSection.__struct_fields__:
        endpoints = getattr(live.endpoints, venue)
        for field in endpoints.__struct_fields__:
            _check_url(getattr(endpoints, field), field, f"live.endpoints.{venue}.{field}", source)
    _check_strategy_fits(live.risk, strategy, source)


def _check_url(value: object, field: str, key: str, source: str) -> None:
    if not isinstance(value, str):
        return
    schemes = _URL_SCHEMES.get(field.removeprefix("spot_"), ("http://", "https://"))
    if not value.startswith(schemes):
        raise key_error(
            source, key, f"is {value!r}", f"give a URL starting with {' or '.join(schemes)}"
        )


def _check_strategy_fits(risk: RiskLimits, strategy: QuotingConfig, source: str) -> None:
    if risk.max_position is not None and risk.max_position < strategy.max_position:
        raise key_error(
            source,
            "live.risk.max_position",
            f"({risk.max_position:g}) is below strategy.max_position "
            f"({strategy.max_position:g}): the strategy would quote into positions the risk gate "
            "refuses",
            "raise live.risk.max_position or lower strategy.max_position",
        )
    largest = max(ladder_sizes(strategy))
    if risk.max_order_size is not None and risk.max_order_size < largest:
        raise key_error(
            source,
            "live.risk.max_order_size",
            f"({risk.max_order_size:g}) is below the strategy's largest level ({largest:g} = "
            "order_size x size_growth^(levels-1)): that level would always be refused",
            "raise live.risk.max_order_size or shrink the strategy's ladder",
        )


def missing_limits(risk: RiskLimits) -> list[str]:
    return [name for name in ESSENTIAL_LIMITS if getattr(risk, name) is None]


def notional_problems(
    risk: RiskLimits, strategy: QuotingConfig, *, price: float, multiplier: float
) -> list[str]:
    """Limits that would refuse the strategy's quotes at this price (empty: they fit)."""
    sizes = ladder_sizes(strategy)
    problems = []
    largest = max(sizes) * price * multiplier
    if risk.max_order_notional is not None and risk.max_order_notional < largest:
        problems.append(
            f"max_order_notional {risk.max_order_notional:g} < largest level's notional "
            f"{largest:.2f}"
        )
    one_side = min(sum(sizes), strategy.max_position) * price * multiplier
    if risk.max_exposure_notional is not None and risk.max_exposure_notional < one_side:
        problems.append(
            f"max_exposure_notional {risk.max_exposure_notional:g} < one side of the ladder "
            f"{one_side:.2f}"
        )
    return problems
