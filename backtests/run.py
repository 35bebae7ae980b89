"""
Runs one backtest from a validated config: catalog checks, nautilus configs, the run, the outputs.

Everything a run writes goes to a hidden staging directory that is renamed into place only when the
run has finished, so a failed or interrupted run never leaves a half-written `runs/<run-id>/`.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pandas as pd
import yaml
from nautilus_trader.backtest.config import BacktestDataConfig
from nautilus_trader.backtest.config import BacktestEngineConfig
from nautilus_trader.backtest.config import BacktestRunConfig
from nautilus_trader.backtest.config import BacktestVenueConfig
from nautilus_trader.backtest.node import BacktestNode
from nautilus_trader.common.config import LoggingConfig
from nautilus_trader.config import DataEngineConfig
from nautilus_trader.config import ImportableActorConfig
from nautilus_trader.config import ImportableStrategyConfig
from nautilus_trader.config import RiskEngineConfig
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.instruments import BinaryOption
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Money
from nautilus_trader.persistence.catalog.parquet import ParquetDataCatalog

from backtests import report
from backtests.config import STRATEGY_KEYS
from backtests.config import RunConfig
from backtests.models import fee_model_config
from backtests.models import latency_model_config
from backtests.progress import ProgressConfig
from backtests.schema import ConfigError
from backtests.schema import key_error
from catalog import sample
from live.config import RiskLimits
from live.risk import RiskGate
from strategies.quoting import QuotingStrategy


@dataclass(frozen=True)
class RunOutcome:
    run_dir: Path
    summary: dict[str, Any]


@dataclass(frozen=True)
class RunPlan:
    """What the config resolves to against the catalog: instruments and the time range to replay."""

    catalog_path: Path
    instruments: list[Instrument]
    start: pd.Timestamp
    end: pd.Timestamp


def plan_run(cfg: RunConfig, *, progress: bool = True) -> RunPlan:
    catalog_path = cfg.catalog_path
    _ensure_catalog(cfg, catalog_path, progress=progress)
    catalog = ParquetDataCatalog(str(catalog_path))
    instruments = _resolve_instruments(cfg, catalog)
    start, end = _resolve_time_range(cfg, catalog, instruments)
    return RunPlan(catalog_path=catalog_path, instruments=instruments, start=start, end=end)


def run_backtest(
    cfg: RunConfig,
    *,
    output: Path | None = None,
    runs_root: Path = Path("runs"),
    progress: bool = True,
) -> RunOutcome:
    plan = plan_run(cfg, progress=progress)
    run_id = f"{pd.Timestamp.now(tz='UTC'):%Y%m%d-%H%M%S}-{Path(cfg.source).stem}"
    final_dir = output if output is not None else runs_root / run_id
    if final_dir.exists() and any(final_dir.iterdir()):
        raise ConfigError(
            f"{final_dir}: output directory is not empty. Fix: choose another --output directory."
        )
    staging = final_dir.parent / f".{final_dir.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        summary = _run_into(cfg, plan, staging, run_id=run_id, progress=progress)
        if final_dir.exists():
            final_dir.rmdir()
        staging.rename(final_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return RunOutcome(run_dir=final_dir, summary=summary)


def build_run_config(
    cfg: RunConfig, plan: RunPlan, *, log_dir: Path, progress: bool
) -> BacktestRunConfig:
    venue = cfg.backtest.venue
    venue_name = cfg.instrument_id.venue.value
    balance = Money.from_str(venue.starting_balance)
    strategy_config = json.loads(cfg.strategy.json()) | {
        "complement_id": str(plan.instruments[1].id) if len(plan.instruments) > 1 else None,
        # Logging each order event at INFO costs more than the quoting itself in a backtest.
        "log_events": False,
        "log_commands": False,
    }
    actors = []
    if progress:
        actors.append(
            ImportableActorConfig(
                actor_path="backtests.progress:ProgressActor",
                config_path="backtests.progress:ProgressConfig",
                config=msgspec.to_builtins(
                    ProgressConfig(start_ns=plan.start.value, end_ns=plan.end.value)
                ),
            )
        )
    risk = cfg.backtest.risk
    max_notional = (
        {str(i.id): risk.max_notional_per_order for i in plan.instruments}
        if risk.max_notional_per_order is not None
        else {}
    )
    engine = BacktestEngineConfig(
        trader_id="BACKTESTER-001",
        logging=LoggingConfig(
            log_level="ERROR",
            log_level_file="WARNING",
            log_directory=str(log_dir),
            log_file_name="nautilus",
            log_colors=False,
        ),
        data_engine=DataEngineConfig(buffer_deltas=True),
        risk_engine=RiskEngineConfig(
            max_order_submit_rate=risk.max_order_submit_rate,
            max_order_modify_rate=risk.max_order_modify_rate,
            max_notional_per_order=max_notional,
        ),
        strategies=[
            ImportableStrategyConfig(
                strategy_path="strategies.quoting:QuotingStrategy",
                config_path="strategies.quoting:QuotingConfig",
                config=strategy_config,
            )
        ],
        actors=actors,
    )
    venues = [
        BacktestVenueConfig(
            name=venue_name,
            oms_type=venue.oms_type,
            account_type=venue.account_type,
            starting_balances=[str(balance)],
            base_currency=balance.currency.code,
            default_leverage=venue.leverage,
            book_type=venue.book_type,
            latency_model=latency_model_config(venue.latency),
            fee_model=fee_model_config(venue.fees),
            queue_position=venue.queue_position,
            trade_execution=venue.trade_execution,
            liquidity_consumption=venue.liquidity_consumption,
        )
    ]
    data = [
        BacktestDataConfig(
            catalog_path=str(plan.catalog_path),
            data_cls=data_cls,
            instrument_id=instrument.id,
            start_time=plan.start.isoformat(),
            end_time=plan.end.isoformat(),
        )
        for instrument in plan.instruments
        for data_cls in (OrderBookDelta, TradeTick)
    ]
    return BacktestRunConfig(
        engine=engine,
        venues=venues,
        data=data,
        chunk_size=cfg.backtest.chunk_size,
        dispose_on_completion=False,
        raise_exception=True,
        start=plan.start.isoformat(),
        end=plan.end.isoformat(),
    )


def resolved_config(cfg: RunConfig, plan: RunPlan) -> dict[str, Any]:
    """The config as the run used it: defaults filled in, paths and time range resolved."""
    strategy = msgspec.structs.asdict(cfg.strategy)
    backtest = msgspec.to_builtins(cfg.backtest) | {
        "catalog": str(plan.catalog_path),
        "start": plan.start.isoformat(),
        "end": plan.end.isoformat(),
    }
    return {
        "venue": cfg.venue,
        "instrument": str(cfg.instrument_id),
        "complement": str(plan.instruments[1].id) if len(plan.instruments) > 1 else None,
        "strategy": {key: strategy[key] for key in sorted(STRATEGY_KEYS)},
        "backtest": backtest,
        "live": msgspec.to_builtins(cfg.live),
    }


def _run_into(
    cfg: RunConfig, plan: RunPlan, run_dir: Path, *, run_id: str, progress: bool
) -> dict[str, Any]:
    run_config = build_run_config(cfg, plan, log_dir=run_dir, progress=progress)
    node = BacktestNode(configs=[run_config])
    try:
        node.build()
        if any(isinstance(i, BinaryOption) for i in plan.instruments):
            # Outcome tokens cannot be owed, in the backtest as live: naked sells are denied.
            kernel = node.get_engine(run_config.id).kernel
            RiskGate.for_kernel(kernel, RiskLimits()).install()
        started = time.perf_counter()
        node.run()
        wall_seconds = time.perf_counter() - started
        engine = node.get_engine(run_config.id)
        strategy = next(s for s in engine.trader.strategies() if isinstance(s, QuotingStrategy))
        commands = {
            "submits": strategy.submits,
            "modifies": strategy.modifies,
            "cancels": strategy.cancels,
        }
        marks = _marks(engine, plan.instruments)
        fills = report.fills_table(engine, plan.instruments)
        summary = report.summarize(
            engine=engine,
            fills=fills,
            instruments=plan.instruments,
            marks=marks,
            wall_seconds=wall_seconds,
            commands=commands,
            run_id=run_id,
            start=plan.start,
            end=plan.end,
        )
        venue = plan.instruments[0].id.venue
        (run_dir / "config.yaml").write_text(
            yaml.safe_dump(resolved_config(cfg, plan), sort_keys=False)
        )
        fills.to_csv(run_dir / "fills.csv", index=False)
        report.orders_table(engine).to_csv(run_dir / "orders.csv", index=False)
        report.order_events_table(engine).to_csv(run_dir / "order_events.csv", index=False)
        report.positions_table(engine).to_csv(run_dir / "positions.csv", index=False)
        report.account_table(engine, venue).to_csv(run_dir / "account.csv", index=False)
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        return summary
    finally:
        node.dispose()


def _marks(engine, instruments: list[Instrument]) -> report.Marks:
    prices: dict[str, float] = {}
    for instrument in instruments:
        book = engine.cache.order_book(instrument.id)
        mid = book.midpoint() if book is not None else None
        if mid is not None:
            prices[str(instrument.id)] = float(mid)
    sign = {
        str(instrument.id): (1 if index == 0 else -1)
        for index, instrument in enumerate(instruments)
    }
    return report.Marks(prices=prices, inventory_sign=sign)


def _ensure_catalog(cfg: RunConfig, path: Path, *, progress: bool) -> None:
    marker = sample.read_sample_marker(path)
    if marker is not None:
        # A sample from an older generator is rebuilt (same seed) rather than replayed.
        sample.ensure_sample_catalog(
            path, seed=marker.get("seed", sample.SAMPLE_SEED), progress=progress
        )
        return
    if _catalog_has_data(path):
        return
    sample_ids = {
        str(sample.GATE_PERP_ID),
        str(sample.POLYMARKET_YES_ID),
        str(sample.POLYMARKET_NO_ID),
    }
    if str(cfg.instrument_id) in sample_ids:
        # The default configs run on a fresh clone: the embedded sample is built on first use.
        sample.ensure_sample_catalog(path, progress=progress)
        return
    key = "backtest.catalog" if cfg.backtest.catalog else "backtest.catalog (or $QUOTEKIT_CATALOG)"
    raise key_error(
        cfg.source,
        key,
        f"points to {path}, which holds no catalog",
        "point it at a catalog directory, or fill one with `catalog ingest` / `catalog download`",
    )


def _catalog_has_data(path: Path) -> bool:
    return (path / "data").is_dir() and any((path / "data").iterdir())


def _resolve_instruments(cfg: RunConfig, catalog: ParquetDataCatalog) -> list[Instrument]:
    available = {str(i.id): i for i in catalog.instruments()}
    instrument = available.get(str(cfg.instrument_id))
    if instrument is None:
        listed = ", ".join(sorted(available)) or "none"
        raise key_error(
            cfg.source,
            "instrument",
            f"is {cfg.instrument_id}, which is not in the catalog at {cfg.catalog_path}",
            f"use one of: {listed}",
        )
    if not isinstance(instrument, BinaryOption):
        return [instrument]
    complement = _complement(cfg, instrument, available)
    return [instrument, complement] if complement is not None else [instrument]


def _complement(
    cfg: RunConfig, instrument: BinaryOption, available: dict[str, Instrument]
) -> Instrument | None:
    if cfg.complement_id is not None:
        complement = available.get(str(cfg.complement_id))
        if complement is None:
            raise key_error(
                cfg.source,
                "complement",
                f"is {cfg.complement_id}, which is not in the catalog",
                "name the other outcome token of the same market, or remove the key",
            )
        return complement
    condition = instrument.id.symbol.value.split("-", 1)[0]
    for iid, other in available.items():
        if (
            iid != str(instrument.id)
            and isinstance(other, BinaryOption)
            and other.id.symbol.value.startswith(condition + "-")
        ):
            return other
    return None


def _resolve_time_range(
    cfg: RunConfig, catalog: ParquetDataCatalog, instruments: list[Instrument]
) -> tuple[pd.Timestamp, pd.Timestamp]:
    first = catalog.query_first_timestamp(OrderBookDelta, str(instruments[0].id))
    last = catalog.query_last_timestamp(OrderBookDelta, str(instruments[0].id))
    if first is None or last is None:
        raise key_error(
            cfg.source,
            "instrument",
            f"({cfg.instrument_id}) has no order book data in {cfg.catalog_path}",
            "ingest book data for it, or pick an instrument that has some",
        )
    first, last = _utc(first), _utc(last)
    start = cfg.start or first
    end = cfg.end or last
    if start > last or end < first:
        raise key_error(
            cfg.source,
            "backtest.start/backtest.end",
            f"({start.isoformat()} to {end.isoformat()}) do not overlap the data "
            f"({first.isoformat()} to {last.isoformat()})",
            "choose a range inside the data, or remove both keys to replay everything",
        )
    return max(start, first), min(end, last)


def _utc(stamp: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(stamp)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
