"""`backtest` command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from backtests.schema import ConfigError


@click.group(help="Backtest the quoting strategy over a Parquet data catalog.")
def main() -> None:
    pass


@main.command(help="Run the backtest described by CONFIG (a YAML file, e.g. configs/mm.yaml).")
@click.argument("config", type=click.Path(path_type=Path))
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for the run's outputs (default: runs/<run-id>/).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def run(config: Path, output: Path | None, quiet: bool) -> None:
    # Imported here so `--help` stays instant: nautilus takes a second or two to import.
    from backtests.config import load_config
    from backtests.report import render_summary
    from backtests.run import run_backtest

    try:
        cfg = load_config(config)
        outcome = run_backtest(cfg, output=output, progress=not quiet)
    except ConfigError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    click.echo(render_summary(outcome.summary))
    click.echo(f"outputs: {outcome.run_dir}")
