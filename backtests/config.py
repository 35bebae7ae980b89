"""
The quotekit YAML config: one file holds the strategy, the instrument and venue, the backtest setup
and the live setup (live/config.py), so backtest, paper and live share parameters.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated
from typing import Any
from typing import Literal

import msgspec
import pandas as pd
import yaml
from msgspec import Meta
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Money

from backtests.schema import ConfigError
from backtests.schema import build
from backtests.schema import key_error
from live.config import LiveSection
from live.config import check_live_section
from strategies.capabilities import VENUE_CAPABILITIES
from strategies.quoting import QuotingConfig

CATALOG_ENV = "QUOTEKIT_CATALOG"
DEFAULT_CATALOG = Path("data/catalog")

# The strategy keys a user may set: QuotingConfig's own fields, minus the wiring the loader fills.
_WIRING = frozenset({"instrument_id", "complement_id", "capabilities"})
STRATEGY_KEYS = (
    frozenset(QuotingConfig.__struct_fields__)
    - frozenset(QuotingConfig.__mro__[1].__struct_fields__)
    - _WIRING
)


class Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class LatencySection(Section):
    base_ms: Annotated[float, Meta(ge=0, description="one-way latency of every order command")]
    insert_ms: Annotated[float, Meta(ge=0, description="added to base for submits")] = 0.0
    modify_ms: Annotated[float, Meta(ge=0, description="added to base for amends")] = 0.0
    cancel_ms: Annotated[float, Meta(ge=0, description="added to base for cancels")] = 0.0


class FeeSection(Section):
    model: Annotated[
        Literal["maker_taker", "polymarket", "none"],
        Meta(description="maker_taker: rate x notional; polymarket: taker rate x p(1-p) per share"),
    ]
    maker_rate: Annotated[
        float | None,
        Meta(description="maker fee rate (negative = rebate); default: the instrument's"),
    ] = None
    taker_rate: Annotated[
        float | None, Meta(description="taker fee rate; default: the instrument's")
    ] = None


class VenueSection(Section):
    account_type: Annotated[
        Literal["MARGIN", "CASH"], Meta(description="MARGIN for perps, CASH for tokens")
    ]
    starting_balance: Annotated[str, Meta(description="e.g. '100000 USDT' or '10000 pUSD'")]
    latency: LatencySection
    fees: FeeSection
    oms_type: Literal["NETTING", "HEDGING"] = "NETTING"
    leverage: Annotated[float, Meta(gt=0, description="default leverage on a MARGIN account")] = 1.0
    book_type: Annotated[
        Literal["L1_MBP", "L2_MBP", "L3_MBO"],
        Meta(description="depth the simulated venue matches against"),
    ] = "L2_MBP"
    queue_position: Annotated[
        bool, Meta(description="resting orders queue behind displayed size")
    ] = True
    trade_execution: Annotated[
        bool, Meta(description="trades through a price fill resting orders")
    ] = True
    liquidity_consumption: Annotated[
        bool, Meta(description="our fills consume the displayed liquidity until the next update")
    ] = False


class RiskSection(Section):
    max_order_submit_rate: Annotated[
        str, Meta(description="nautilus throttle, 'count/HH:MM:SS'")
    ] = "1000/00:00:01"
    max_order_modify_rate: Annotated[
        str, Meta(description="nautilus throttle, 'count/HH:MM:SS'")
    ] = "1000/00:00:01"
    max_notional_per_order: Annotated[
        float | None, Meta(gt=0, description="deny orders above this notional (quote currency)")
    ] = None


class BacktestSection(Section):
    venue: VenueSection
    catalog: Annotated[
        str | None, Meta(description=f"catalog path; default ${CATALOG_ENV} or {DEFAULT_CATALOG}")
    ] = None
    start: Annotated[str | None, Meta(description="ISO time, UTC; default: start of the data")] = (
        None
    )
    end: Annotated[str | None, Meta(description="ISO time, UTC; default: end of the data")] = None
    chunk_size: Annotated[
        int, Meta(ge=1_000, description="events streamed into the engine per chunk")
    ] = 200_000
    risk: RiskSection = RiskSection()


class RunConfig(msgspec.Struct, frozen=True, kw_only=True):
    """A validated config file, with everything a run needs resolved."""

    source: str
    venue: str
    instrument_id: InstrumentId
    complement_id: InstrumentId | None
    strategy: QuotingConfig
    backtest: BacktestSection
    live: LiveSection
    raw: dict[str, Any]

    @property
    def catalog_path(self) -> Path:
        return resolve_catalog_path(self.backtest.catalog)

    @property
    def start(self) -> pd.Timestamp | None:
        return _timestamp(self.backtest.start)

    @property
    def end(self) -> pd.Timestamp | None:
        return _timestamp(self.backtest.end)


class _TopLevel(Section):
    venue: Annotated[Literal["gate", "polymarket"], Meta(description="the venue quoted")]
    instrument: Annotated[str, Meta(description="instrument id, e.g. BTC_USDT-PERP.GATE")]
    strategy: dict[str, Any]
    backtest: BacktestSection
    complement: Annotated[
        str | None,
        Meta(description="binary options: the complementary token; default: found in the market"),
    ] = None
    live: LiveSection = LiveSection()


def resolve_catalog_path(configured: str | None) -> Path:
    if configured:
        return Path(configured).expanduser()
    return Path(os.environ.get(CATALOG_ENV) or DEFAULT_CATALOG)


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a config file; raises `ConfigError` naming the key and the fix."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise ConfigError(
            f"{source}: no such config file. "
            "Fix: pass the path of a YAML file, e.g. configs/mm.yaml."
        )
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(
            f"{source}: not valid YAML{where}. Fix: correct the syntax there."
        ) from None
    return parse_config(raw, source=source)


def parse_config(raw: Any, *, source: str) -> RunConfig:
    top = build(_TopLevel, raw, source=source, path="")
    instrument_id = _instrument_id(top.instrument, source=source, key="instrument")
    complement_id = (
        _instrument_id(top.complement, source=source, key="complement") if top.complement else None
    )
    strategy = build(
        QuotingConfig,
        top.strategy,
        source=source,
        path="strategy",
        only=STRATEGY_KEYS,
        extra={
            "instrument_id": instrument_id,
            "complement_id": complement_id,
            "capabilities": VENUE_CAPABILITIES[top.venue],
        },
    )
    _check_backtest(top.backtest, source=source)
    check_live_section(top.live, strategy, source=source)
    return RunConfig(
        source=source,
        venue=top.venue,
        instrument_id=instrument_id,
        complement_id=complement_id,
        strategy=strategy,
        backtest=top.backtest,
        live=top.live,
        raw=raw,
    )


def _check_backtest(section: BacktestSection, *, source: str) -> None:
    start = _parse_time(section.start, source=source, key="backtest.start")
    end = _parse_time(section.end, source=source, key="backtest.end")
    if start is not None and end is not None and end <= start:
        raise key_error(
            source,
            "backtest.end",
            f"({end.isoformat()}) is not after backtest.start ({start.isoformat()})",
            "set backtest.end later than backtest.start",
        )
    try:
        Money.from_str(section.venue.starting_balance)
    except Exception:
        raise key_error(
            source,
            "backtest.venue.starting_balance",
            f"is {section.venue.starting_balance!r}, not an amount and currency",
            "write it as '<amount> <CURRENCY>', e.g. '100000 USDT'",
        ) from None
    for key in ("max_order_submit_rate", "max_order_modify_rate"):
        value = getattr(section.risk, key)
        count, _, window = value.partition("/")
        if not (count.isdigit() and int(count) > 0 and _is_hms(window)):
            raise key_error(
                source,
                f"backtest.risk.{key}",
                f"is {value!r}",
                "write it as 'count/HH:MM:SS', e.g. '1000/00:00:01'",
            )


def _instrument_id(value: str, *, source: str, key: str) -> InstrumentId:
    try:
        return InstrumentId.from_str(value)
    except ValueError:
        raise key_error(
            source,
            key,
            f"is {value!r}, not an instrument id",
            "write it as SYMBOL.VENUE, e.g. BTC_USDT-PERP.GATE",
        ) from None


def _parse_time(value: str | None, *, source: str, key: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        return _timestamp(value)
    except (ValueError, TypeError):
        raise key_error(
            source, key, f"is {value!r}, not a date/time", "use ISO 8601, e.g. 2026-01-05T00:30:00Z"
        ) from None


def _timestamp(value: str | None) -> pd.Timestamp | None:
    if value is None:
        return None
    stamp = pd.Timestamp(str(value))
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _is_hms(text: str) -> bool:
    parts = text.split(":")
    return len(parts) == 3 and all(p.isdigit() for p in parts)
