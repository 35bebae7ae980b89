"""
What a live or paper run writes under `runs/<run-id>/` (or `--output`): the resolved config, the
node's JSON log and a summary at the end. Nothing here ever sees a credential: they are read from
the environment by the venue clients alone.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import msgspec
import pandas as pd
import yaml
from nautilus_trader.common.config import LoggingConfig

from backtests.config import STRATEGY_KEYS
from backtests.config import RunConfig
from backtests.schema import ConfigError

LOG_FILE_NAME = "node"
CONFIG_FILE = "config.yaml"
SUMMARY_FILE = "summary.json"


def logging_config(run_dir: Path, console_level: str) -> LoggingConfig:
    """Readable lines on the console at `console_level`; every INFO line as JSON in the run dir."""
    return LoggingConfig(
        log_level=console_level,
        log_level_file="INFO",
        log_directory=str(run_dir),
        log_file_name=LOG_FILE_NAME,
        log_file_format="json",
        log_colors=sys.stdout.isatty(),
    )


def run_id(venue: str, *, paper: bool) -> str:
    return f"{pd.Timestamp.now(tz='UTC'):%Y%m%d-%H%M%S}-{'paper' if paper else 'live'}-{venue}"


def create_run_dir(output: Path | None, *, venue: str, paper: bool, runs_root: Path) -> Path:
    run_dir = output if output is not None else runs_root / run_id(venue, paper=paper)
    if run_dir.exists() and any(run_dir.iterdir()):
        raise ConfigError(
            f"{run_dir}: output directory is not empty. Fix: choose another --output directory."
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def resolved_config(
    run_config: RunConfig,
    *,
    paper: bool,
    testnet: bool,
    endpoints: dict[str, str],
) -> dict[str, Any]:
    """The config as the run uses it: defaults filled in, mode and endpoints resolved."""
    strategy = msgspec.structs.asdict(run_config.strategy)
    resolved = {
        "venue": run_config.venue,
        "instrument": str(run_config.instrument_id),
        "complement": str(run_config.complement_id) if run_config.complement_id else None,
        "mode": "paper" if paper else "live",
        "testnet": testnet,
        "endpoints": endpoints,
        "strategy": {key: strategy[key] for key in sorted(STRATEGY_KEYS)},
        "live": msgspec.to_builtins(run_config.live),
    }
    if paper:
        # The simulated venue that fills paper orders.
        resolved["backtest"] = {"venue": msgspec.to_builtins(run_config.backtest.venue)}
    return resolved


def write_resolved_config(run_dir: Path, config: dict[str, Any]) -> Path:
    path = run_dir / CONFIG_FILE
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def write_summary(run_dir: Path, summary: dict[str, Any]) -> Path:
    path = run_dir / SUMMARY_FILE
    path.write_text(json.dumps(summary, indent=2) + "\n")
    return path
