"""`catalog ls`, `catalog info ID`, `catalog validate`: what a catalog holds, and is it sound."""

from __future__ import annotations

import sys
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from catalog.inspect import CatalogError
from catalog.inspect import DataSeries
from catalog.inspect import find_instrument
from catalog.inspect import format_ns
from catalog.inspect import instrument_definition
from catalog.inspect import list_instruments
from catalog.inspect import require_catalog

EXIT_PROBLEMS = 1  # validate found something wrong
EXIT_USAGE = 2  # no catalog, unknown instrument

catalog_option = click.option(
    "--catalog",
    "catalog_path",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Catalog directory. Default: $QUOTEKIT_CATALOG, else ./data/catalog (as backtests use).",
)


def _catalog_root(path: Path | None) -> Path:
    # The backtest config's resolution, so `catalog ls` shows what `backtest run` replays.
    from backtests.config import resolve_catalog_path

    return require_catalog((path or resolve_catalog_path(None)).expanduser().absolute())


@contextmanager
def _user_errors() -> Iterator[None]:
    try:
        yield
    except CatalogError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_USAGE)


def _series_line(series: DataSeries) -> str:
    files = f"{len(series.files)} file" + ("s" if len(series.files) != 1 else "")
    return (
        f"  {series.data_type:<20} {series.rows:>12,} rows  {files:<8} "
        f"{format_ns(series.first_ts)} .. {format_ns(series.last_ts)}"
    )


@click.command("ls")
@catalog_option
def ls_command(catalog_path: Path | None) -> None:
    """List instruments, their data types, time ranges and row counts."""
    with _user_errors():
        root = _catalog_root(catalog_path)
        entries = list_instruments(root)
    click.echo(f"catalog: {root}")
    for entry in entries:
        click.echo(f"{entry.instrument_id} ({entry.kind or 'no instrument definition'})")
        for series in entry.series:
            click.echo(_series_line(series))
    series_count = sum(len(e.series) for e in entries)
    rows = sum(s.rows for e in entries for s in e.series)
    click.echo(f"{len(entries)} instruments, {series_count} data series, {rows:,} rows")


def _field(name: str, value: Any) -> str:
    if name.startswith("ts_") or (name.endswith("_ns") and value):
        return format_ns(int(value))
    return str(value)


@click.command("info")
@click.argument("instrument_id")
@catalog_option
def info_command(instrument_id: str, catalog_path: Path | None) -> None:
    """Show one instrument: its definition and, per data type, its files and time ranges."""
    with _user_errors():
        root = _catalog_root(catalog_path)
        entry = find_instrument(root, instrument_id)
    click.echo(entry.instrument_id)
    click.echo(f"  class: {entry.kind or '- (no instrument definition in the catalog)'}")
    if entry.definition is not None:
        click.echo(f"  definition: {entry.definition.relative_to(root)}")
    for name, value in instrument_definition(entry).items():
        click.echo(f"  {name}: {_field(name, value)}")
    click.echo("data:")
    for series in entry.series:
        click.echo(_series_line(series))
        for file in series.files:
            click.echo(
                f"    {file.path.relative_to(root)}  {file.rows:,} rows  "
                f"{file.size_bytes / 1e6:.1f} MB"
            )


@contextmanager
def _progress(total: int, enabled: bool) -> Iterator[Callable[[DataSeries], None]]:
    if not enabled:
        yield lambda _series: None
        return
    with click.progressbar(
        length=total,
        label="Validating",
        file=sys.stderr,
        item_show_func=lambda series: series and f"{series.data_type} {series.instrument_id}",
    ) as bar:
        yield lambda series: bar.update(1, series)


@click.command("validate")
@catalog_option
@click.option("--instrument", "instrument_id", default=None, help="Check only this instrument.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def validate_command(catalog_path: Path | None, instrument_id: str | None, quiet: bool) -> None:
    """Check time order, file layout, crossed books, sequence gaps, duplicates and values.

    Exits 1 when anything is wrong, listing each problem with its instrument, data type, file and
    first timestamp. Book resyncs and reconnects recorded by `catalog record` are listed as notes.
    """
    from catalog.feed_events import feed_event_notes
    from catalog.validate import validate_catalog

    with _user_errors():
        root = _catalog_root(catalog_path)
        entries = (
            [find_instrument(root, instrument_id)] if instrument_id else list_instruments(root)
        )
    series = [s for e in entries for s in e.series]
    with _progress(len(series), enabled=not quiet) as advance:
        findings = validate_catalog(root, instrument_id=instrument_id, on_series=advance)
    rows = sum(s.rows for s in series)
    for finding in findings:
        click.echo(finding.render(root))
    # Recorded book resyncs and reconnects are facts about the data, not problems.
    for note in feed_event_notes(root, instrument_id):
        click.echo(f"note: {note}")
    if findings:
        click.echo(
            f"{len(findings)} problem(s) in {root} ({len(series)} data series, {rows:,} rows)."
        )
        sys.exit(EXIT_PROBLEMS)
    click.echo(f"OK: {len(series)} data series, {rows:,} rows in {root}: no problems found.")
