"""
Backtest throughput: the quoting strategy against a bare nautilus replay of the same data.

    uv run python benchmarks/backtest_throughput.py [--config configs/mm.yaml] [--catalog PATH]

The standard dataset is the Gate part of the embedded sample (about 1.05M L2 deltas and 40k
trades for BTC_USDT-PERP.GATE), built if missing. Both runs go through the same nautilus
`BacktestNode` path (same venue models, chunked catalog streaming), each in its own process since
nautilus allows one kernel per process. The last line printed is a JSON object with
`bare_events_per_s`, `quoting_events_per_s`, `ratio` and `order_commands_per_1k_events`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _config(config_path: Path, catalog: Path):
    import msgspec

    from backtests.config import load_config

    cfg = load_config(config_path)
    backtest = msgspec.structs.replace(cfg.backtest, catalog=str(catalog), start=None, end=None)
    return msgspec.structs.replace(cfg, backtest=backtest)


def run_bare(config_path: Path, catalog: Path) -> dict:
    import msgspec
    from nautilus_trader.backtest.node import BacktestNode

    from backtests.run import build_run_config
    from backtests.run import plan_run

    cfg = _config(config_path, catalog)
    plan = plan_run(cfg, progress=False)
    with tempfile.TemporaryDirectory() as log_dir:
        run_config = build_run_config(cfg, plan, log_dir=Path(log_dir), progress=False)
        engine_config = msgspec.structs.replace(run_config.engine, strategies=[])
        run_config = msgspec.structs.replace(run_config, engine=engine_config)
        node = BacktestNode(configs=[run_config])
        started = time.perf_counter()
        node.run()
        wall = time.perf_counter() - started
        events = node.get_engine(run_config.id).iteration
        node.dispose()
    return {"events": events, "wall_seconds": wall, "events_per_s": events / wall}


def run_quoting(config_path: Path, catalog: Path) -> dict:
    from backtests.run import run_backtest

    cfg = _config(config_path, catalog)
    with tempfile.TemporaryDirectory() as out:
        summary = run_backtest(cfg, output=Path(out) / "run", progress=False).summary
    return {
        "events": summary["events"],
        "wall_seconds": summary["wall_seconds"],
        "events_per_s": summary["events"] / summary["wall_seconds"],
        "order_commands": summary["order_commands"],
        "fills": summary["fills_buy"] + summary["fills_sell"],
    }


def _in_subprocess(mode: str, config: Path, catalog: Path) -> dict:
    command = [
        sys.executable,
        __file__,
        "--mode",
        mode,
        "--config",
        str(config),
        "--catalog",
        str(catalog),
    ]
    completed = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "mm.yaml")
    parser.add_argument("--catalog", type=Path, default=ROOT / "data" / "catalog")
    parser.add_argument("--mode", choices=["bare", "quoting"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.mode == "bare":
        print(json.dumps(run_bare(args.config, args.catalog)))
        return
    if args.mode == "quoting":
        print(json.dumps(run_quoting(args.config, args.catalog)))
        return

    from catalog.sample import ensure_sample_catalog

    ensure_sample_catalog(args.catalog, progress=True)
    bare = _in_subprocess("bare", args.config, args.catalog)
    print(f"bare replay : {bare['events']:,} events in {bare['wall_seconds']:.2f} s")
    quoting = _in_subprocess("quoting", args.config, args.catalog)
    print(
        f"quoting     : {quoting['events']:,} events in {quoting['wall_seconds']:.2f} s, "
        f"{quoting['order_commands']:,} order commands, {quoting['fills']:,} fills"
    )
    result = {
        "bare_events_per_s": round(bare["events_per_s"]),
        "quoting_events_per_s": round(quoting["events_per_s"]),
        "ratio": round(quoting["events_per_s"] / bare["events_per_s"], 3),
        "order_commands_per_1k_events": round(
            1000 * quoting["order_commands"] / quoting["events"], 2
        ),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
