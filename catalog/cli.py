"""`catalog`: build and manage the Parquet data catalog."""

from __future__ import annotations

from pathlib import Path

import click

from catalog.ingest.cli import download_group
from catalog.ingest.cli import ingest_command
from catalog.inspect_cli import info_command
from catalog.inspect_cli import ls_command
from catalog.inspect_cli import validate_command
from catalog.record_cli import record_command
from catalog.sample import SAMPLE_SEED
from catalog.sample import SampleCatalogError
from catalog.sample import build_sample_catalog
from catalog.sample import default_catalog_path
from catalog.sample import is_sample_catalog_complete
from catalog.sample import read_sample_marker


@click.group(help="Build and manage the Parquet data catalog.")
def main() -> None:
    pass


main.add_command(ls_command)
main.add_command(info_command)
main.add_command(validate_command)
main.add_command(ingest_command)
main.add_command(download_group)
main.add_command(record_command)


@main.command("sample")
@click.option(
    "--path",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Catalog directory. Default: $QUOTEKIT_CATALOG, else ./data/catalog.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Rebuild even if a complete sample is there (replaces everything under PATH).",
)
@click.option("--seed", type=int, default=SAMPLE_SEED, show_default=True, help="Random seed.")
def sample_command(path: Path | None, force: bool, seed: int) -> None:
    """Build the embedded sample catalog (Gate BTC_USDT perp, 2 h; Polymarket YES/NO, 1 day)."""
    target = (path or default_catalog_path()).expanduser().absolute()
    if not force and is_sample_catalog_complete(target, seed=seed):
        click.echo(
            f"Sample catalog already exists and is complete at {target} (use --force to rebuild)."
        )
        marker = read_sample_marker(target) or {}
        _echo_rows(marker.get("instruments", {}))
        return
    try:
        summary = build_sample_catalog(target, seed=seed, progress=True, force=force)
    except SampleCatalogError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"Wrote sample catalog to {summary.path} in {summary.elapsed_s:.1f} s (seed {seed})."
    )
    _echo_rows(summary.rows)


def _echo_rows(rows: dict[str, dict[str, int]]) -> None:
    for instrument_id, counts in rows.items():
        deltas, trades = counts.get("order_book_deltas", 0), counts.get("trade_tick", 0)
        click.echo(f"  {instrument_id}: {deltas:,} book deltas, {trades:,} trades")
