"""
`catalog ingest FILES...`, `catalog download gate ...` and `catalog download polymarket ...`.

Exit codes: 2 (click usage error) when the request is wrong (unknown symbol, dates, a kind that
cannot be told); 1 when the data or the catalog refuses it (no data, a damaged file, an overlap).
Either way one message says what, where and the fix, and the catalog is left as it was.
"""

from __future__ import annotations

import calendar
import contextlib
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import click

from adapters.gate.config import LIVE_REST
from catalog.ingest.download import BULK_URL_ENV
from catalog.ingest.download import GATE_BULK_URL
from catalog.ingest.download import REST_URL_ENV
from catalog.ingest.download import download_gate
from catalog.ingest.download import fetch_gate_instrument
from catalog.ingest.errors import IngestError
from catalog.ingest.errors import IngestUsageError
from catalog.ingest.formats import IngestHints
from catalog.ingest.formats import Source
from catalog.ingest.gate_bulk import GATE_BULK
from catalog.ingest.gate_files import CANDLE_INTERVALS
from catalog.ingest.gate_files import KINDS
from catalog.ingest.gate_files import MARKETS
from catalog.ingest.jsonl import SUFFIX as JOURNAL_SUFFIX
from catalog.ingest.jsonl import ingest_recordings
from catalog.ingest.pipeline import IngestSummary
from catalog.ingest.pipeline import ingest_files
from catalog.ingest.polymarket import CLOB_URL_ENV
from catalog.ingest.polymarket import DATA_API_URL_ENV
from catalog.ingest.polymarket import GAMMA_URL_ENV
from catalog.ingest.polymarket import download_polymarket
from catalog.ingest.polymarket import polymarket_endpoints
from catalog.ingest.writer import iso
from catalog.sample import default_catalog_path

_VENUE_FORMATS = {"gate": GATE_BULK}


class UtcMoment(click.ParamType):
    """`2026-01`, `2026-01-05`, `2026-01-05T13` or `2026-01-05T13:30`, in UTC."""

    name = "date"
    _FORMATS = (("%Y-%m-%dT%H:%M", "minute"), ("%Y-%m-%dT%H", "hour"), ("%Y-%m-%d", "day"))

    def convert(self, value, param, ctx) -> tuple[datetime, str]:
        if isinstance(value, tuple):
            return value
        formats = (*self._FORMATS, ("%Y-%m", "month"))
        for fmt, unit in formats:
            with contextlib.suppress(ValueError):
                return datetime.strptime(value, fmt).replace(tzinfo=UTC), unit
        self.fail(f"{value!r} is not a date: use YYYY-MM-DD (or YYYY-MM, YYYY-MM-DDTHH)", param)


def _end_of(moment: datetime, unit: str) -> datetime:
    """The last instant of the day/hour/month `moment` names (so --to is inclusive)."""
    if unit == "month":
        days = calendar.monthrange(moment.year, moment.month)[1]
        return moment.replace(day=days) + timedelta(days=1, microseconds=-1)
    step = {"day": timedelta(days=1), "hour": timedelta(hours=1), "minute": timedelta(minutes=1)}
    return moment + step[unit] - timedelta(microseconds=1)


@contextlib.contextmanager
def _clear_errors() -> Iterator[None]:
    try:
        yield
    except IngestUsageError as error:
        raise click.UsageError(str(error)) from error
    except IngestError as error:
        raise click.ClickException(str(error)) from error


def _catalog_option(function):
    return click.option(
        "--catalog",
        "catalog_path",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Catalog directory. Default: $QUOTEKIT_CATALOG, else ./data/catalog.",
    )(function)


def _rest_option(function):
    return click.option(
        "--rest-url",
        envvar=REST_URL_ENV,
        default=LIVE_REST,
        show_default=True,
        help=f"Gate REST base (instrument specs); env ${REST_URL_ENV}.",
    )(function)


@click.command("ingest")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--venue", type=click.Choice(sorted(_VENUE_FORMATS)), default="gate", show_default=True
)
@click.option("--symbol", default=None, help="e.g. BTC_USDT. Default: from the file names.")
@click.option(
    "--market",
    type=click.Choice(MARKETS),
    default=None,
    help="Default: from the folders, else futures.",
)
@click.option("--kind", type=click.Choice(KINDS), default=None, help="Default: from the folders.")
@click.option("--interval", type=click.Choice(CANDLE_INTERVALS), default=None, help="Candles only.")
@_catalog_option
@_rest_option
def ingest_command(
    files: tuple[Path, ...],
    venue: str,
    symbol: str | None,
    market: str | None,
    kind: str | None,
    interval: str | None,
    catalog_path: Path | None,
    rest_url: str,
) -> None:
    """Ingest venue bulk files already on disk (Gate: {PAIR}-{YYYYMM[DDHH]}.csv.gz), or the
    .jsonl journals of `catalog record`."""
    target = (catalog_path or default_catalog_path()).expanduser().absolute()
    journals = [f for f in files if f.name.endswith(JOURNAL_SUFFIX)]
    if journals:
        if len(journals) != len(files):
            raise click.UsageError(
                "recording journals (.jsonl) and venue files cannot be ingested in one run: "
                "pass each kind in its own `catalog ingest`"
            )
        with _clear_errors():
            _report("Ingested", ingest_recordings(target, list(files)))
        return

    def fetch(source: Source):
        return fetch_gate_instrument(rest_url, source.market, source.symbol)

    with _clear_errors():
        summary = ingest_files(
            target,
            list(files),
            format_name=_VENUE_FORMATS[venue],
            hints=IngestHints(market=market, kind=kind, symbol=symbol, interval=interval),
            fetch_instrument=fetch,
        )
    _report("Ingested", summary)


@click.group("download")
def download_group() -> None:
    """Download a venue's bulk historical data into the catalog."""


@download_group.command("gate")
@click.option("--symbol", required=True, help="Gate's market name, e.g. BTC_USDT.")
@click.option("--market", type=click.Choice(MARKETS), default="futures", show_default=True)
@click.option("--kind", type=click.Choice(KINDS), required=True)
@click.option("--interval", type=click.Choice(CANDLE_INTERVALS), default="1m", show_default=True)
@click.option(
    "--from",
    "start",
    type=UtcMoment(),
    required=True,
    help="First day, UTC: YYYY-MM-DD (or YYYY-MM-DDTHH for order book hours, or YYYY-MM).",
)
@click.option(
    "--to", "end", type=UtcMoment(), default=None, help="Last day or hour, inclusive. [--from]"
)
@_catalog_option
@click.option(
    "--bulk-url",
    envvar=BULK_URL_ENV,
    default=GATE_BULK_URL,
    show_default=True,
    help=f"Gate bulk data host; env ${BULK_URL_ENV}.",
)
@_rest_option
def download_gate_command(
    symbol: str,
    market: str,
    kind: str,
    interval: str,
    start: tuple[datetime, str],
    end: tuple[datetime, str] | None,
    catalog_path: Path | None,
    bulk_url: str,
    rest_url: str,
) -> None:
    """
    Download Gate's public bulk files (monthly trades, candles and funding; hourly order books)
    for --from..--to into the catalog. Re-runs skip files already ingested.
    """
    target = (catalog_path or default_catalog_path()).expanduser().absolute()
    first, last = start[0], _end_of(*(end or start))
    with _clear_errors():
        summary = download_gate(
            target,
            market=market,
            kind=kind,
            symbol=symbol,
            start=first,
            end=last,
            interval=interval if kind == "candles" else None,
            bulk_url=bulk_url,
            rest_url=rest_url,
        )
    _report("Downloaded", summary)


@download_group.command("polymarket")
@click.option(
    "--market", required=True, help="The market's slug (as in its URL) or condition id (0x...)."
)
@click.option(
    "--from",
    "start",
    type=UtcMoment(),
    default=None,
    help="Price history from this day, UTC (trades: all the venue serves). Default: 7 days ago.",
)
@_catalog_option
@click.option("--clob-url", envvar=CLOB_URL_ENV, default=None, help=f"env ${CLOB_URL_ENV}.")
@click.option("--gamma-url", envvar=GAMMA_URL_ENV, default=None, help=f"env ${GAMMA_URL_ENV}.")
@click.option(
    "--data-api-url", envvar=DATA_API_URL_ENV, default=None, help=f"env ${DATA_API_URL_ENV}."
)
def download_polymarket_command(
    market: str,
    start: tuple[datetime, str] | None,
    catalog_path: Path | None,
    clob_url: str | None,
    gamma_url: str | None,
    data_api_url: str | None,
) -> None:
    """
    Download a Polymarket market: both outcome tokens, their trades (Data API) and one-minute
    price history (CLOB, as bars). Re-runs fetch only what is newer than the catalog has.
    """
    target = (catalog_path or default_catalog_path()).expanduser().absolute()
    endpoints = polymarket_endpoints(clob_url, gamma_url, data_api_url)
    with _clear_errors():
        done = download_polymarket(
            target, market=market, endpoints=endpoints, start=start[0] if start else None
        )
    summary = done.summary
    rows = summary.rows_by_type()
    since = iso(done.trades_from_s * 10**9) if done.trades_from_s else "the oldest served"
    click.echo(
        f"Downloaded market {done.condition_id} into {summary.catalog} in "
        f"{summary.elapsed_s:.1f} s: trades from {since} to {iso(done.trades_until_s * 10**9)}, "
        f"prices from {iso(done.prices_from_s * 10**9)} to {iso(done.prices_until_s * 10**9)}."
    )
    for instrument_id in done.tokens:
        trades = rows.get((instrument_id, "trade_tick"), 0)
        bars = rows.get((instrument_id, "bar"), 0)
        click.echo(f"  {instrument_id}: {trades:,} new trades, {bars:,} new price bars")
    for instrument_id in summary.instruments_added:
        click.echo(f"  instrument added: {instrument_id}")
    for result in summary.results:
        for remark in result.notes.remarks:
            click.echo(f"  note: {remark}")


def _report(verb: str, summary: IngestSummary) -> None:
    done = summary.with_status("ingested")
    skipped = summary.with_status("skipped")
    missing = summary.with_status("missing")
    extras = []
    if skipped:
        extras.append(f"{len(skipped)} already in the catalog, skipped")
    if missing:
        extras.append(f"{len(missing)} not published by the venue")
    tail = f" ({'; '.join(extras)})" if extras else ""
    click.echo(
        f"{verb} {len(done)} file(s) into {summary.catalog} in {summary.elapsed_s:.1f} s{tail}."
    )
    for (instrument_id, data_type), rows in sorted(summary.rows_by_type().items()):
        click.echo(f"  {instrument_id} {data_type}: {rows:,} rows")
    for instrument_id in summary.instruments_added:
        click.echo(f"  instrument added: {instrument_id}")
    if missing:
        click.echo("  not published: " + ", ".join(r.source.name for r in missing))
    for result in done:
        notes = result.notes
        if notes.anomalies:
            click.echo(
                f"  {result.source.name}: {notes.anomalies:,} anomalous row(s) (a take larger "
                "than its level, on an empty level, or of size 0); levels were floored at 0"
            )
        for remark in notes.remarks:
            click.echo(f"  note: {remark}")
