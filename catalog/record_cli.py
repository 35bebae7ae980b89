"""
`catalog record --venue gate|polymarket --instrument ID...`: live data into the catalog.

Exit codes: 2 for a wrong request (an unknown instrument, a URL for the other venue, the sample
catalog as target); 1 when the node could not start or a chunk could not be committed (its
journal files are named: `catalog ingest` them once the cause is fixed).
"""

from __future__ import annotations

import re
from pathlib import Path

import click
from nautilus_trader.model.identifiers import InstrumentId

from catalog.ingest.download import REST_URL_ENV
from catalog.ingest.errors import IngestError
from catalog.ingest.errors import IngestUsageError
from catalog.ingest.polymarket import CLOB_URL_ENV
from catalog.ingest.polymarket import GAMMA_URL_ENV
from catalog.ingest.polymarket import WS_URL_ENV
from catalog.sample import default_catalog_path

GATE_WS_URL_ENV = "QUOTEKIT_GATE_WS_URL"
GATE_SPOT_WS_URL_ENV = "QUOTEKIT_GATE_SPOT_WS_URL"
_VENUE_IDS = {"gate": "GATE", "polymarket": "POLYMARKET"}
_URL_OPTIONS = {
    "gate": ("rest_url", "ws_url", "spot_ws_url"),
    "polymarket": ("clob_url", "gamma_url", "clob_ws_url"),
}
_UNITS_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)")


class Duration(click.ParamType):
    """`90s`, `10m`, `2h`, `1d` or plain seconds -> seconds."""

    name = "duration"

    def convert(self, value, param, ctx) -> float:
        if isinstance(value, float):
            return value
        match = _DURATION.fullmatch(str(value).strip())
        seconds = float(match.group(1)) * _UNITS_S[match.group(2)] if match else 0.0
        if seconds <= 0:
            self.fail(f"{value!r} is not a duration: use e.g. 90s, 10m, 2h", param, ctx)
        return seconds


def _url_option(name: str, envvar: str, text: str):
    return click.option(name, envvar=envvar, default=None, help=f"{text}; env ${envvar}.")


@click.command("record")
@click.option("--venue", type=click.Choice(sorted(_VENUE_IDS)), required=True)
@click.option(
    "--instrument",
    "instrument_ids",
    multiple=True,
    required=True,
    metavar="ID",
    help="Instrument to record; repeat for more. BTC_USDT-PERP.GATE, BTC_USDT.GATE or "
    "{condition_id}-{token_id}.POLYMARKET.",
)
@click.option(
    "--duration", type=Duration(), default=None, help="e.g. 90s, 10m, 2h. Default: until Ctrl-C."
)
@click.option(
    "--catalog",
    "catalog_path",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Catalog directory. Default: $QUOTEKIT_CATALOG, else ./data/catalog.",
)
@click.option(
    "--raw-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the raw JSONL journal goes. Default: OUTPUT/raw.",
)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Run directory (node log, journal). Default: runs/<run-id>/.",
)
@click.option(
    "--rotate",
    type=Duration(),
    default="1h",
    show_default=True,
    help="Commit a chunk to the catalog this often (on the clock: 1h rotates on the hour).",
)
@_url_option("--rest-url", REST_URL_ENV, "Gate REST base")
@_url_option("--ws-url", GATE_WS_URL_ENV, "Gate futures WebSocket URL")
@_url_option("--spot-ws-url", GATE_SPOT_WS_URL_ENV, "Gate spot WebSocket URL")
@_url_option("--clob-url", CLOB_URL_ENV, "Polymarket CLOB REST base")
@_url_option("--gamma-url", GAMMA_URL_ENV, "Polymarket Gamma base")
@_url_option("--clob-ws-url", WS_URL_ENV, "Polymarket CLOB WebSocket base (.../ws)")
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
    default="WARNING",
    show_default=True,
    help="Console level of the node's log (the run directory gets INFO).",
)
@click.pass_context
def record_command(
    ctx: click.Context,
    venue: str,
    instrument_ids: tuple[str, ...],
    duration: float | None,
    catalog_path: Path | None,
    raw_dir: Path | None,
    output: Path | None,
    rotate: float,
    log_level: str,
    **urls: str | None,
) -> None:
    """
    Record live order book deltas, quotes, trades (and funding rates of Gate perpetuals) through
    our data clients into the catalog, committing a chunk every --rotate and on Ctrl-C. Book
    resyncs and reconnects are recorded too (`catalog validate` lists them), and every event goes
    to a JSONL journal that `catalog ingest` loads back.
    """
    from catalog.record import RecordError
    from catalog.record import RecordRequest
    from catalog.record import default_run_dir
    from catalog.record import record

    ids = [_instrument_id(text, venue) for text in instrument_ids]
    _refuse_other_venue_urls(ctx, venue)
    run_dir = (output or default_run_dir(venue)).absolute()
    request = RecordRequest(
        venue=_venue(venue, ids, urls),
        catalog_path=(catalog_path or default_catalog_path()).expanduser().absolute(),
        run_dir=run_dir,
        raw_dir=(raw_dir or run_dir / "raw").absolute(),
        duration_s=duration,
        rotate_s=rotate,
        console_log_level=log_level,
    )
    try:
        summary = record(request, report=lambda line: click.echo(line, err=True))
    except IngestUsageError as error:
        raise click.UsageError(str(error)) from error
    except (IngestError, RecordError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"Recorded {summary.elapsed_s:.1f} s: {len(summary.chunks)} chunk(s) committed into "
        f"{summary.catalog}."
    )
    for (instrument_id, data_type), rows in sorted(summary.rows_by_type().items()):
        click.echo(f"  {instrument_id} {data_type}: {rows:,} rows")
    feed = ", ".join(
        f"{summary.events[k]} {k}" for k in ("resync", "reconnect") if k in summary.events
    )
    click.echo(f"  feed events: {feed or 'no resync, no reconnect'}")
    click.echo(f"  journal: {summary.raw_dir} ({len(summary.journal_files)} file(s))")
    click.echo(f"  node log: {summary.run_dir}")
    if summary.failures:
        raise click.ClickException(
            f"{len(summary.failures)} chunk(s) not committed: "
            + "; ".join(summary.failures)
            + f". Their journal files are in {summary.raw_dir}: fix the cause, then "
            "`catalog ingest` them"
        )


def _instrument_id(text: str, venue: str) -> InstrumentId:
    try:
        instrument_id = InstrumentId.from_str(text)
    except ValueError as error:
        raise click.BadParameter(
            f"{text!r} is not an instrument id ({error})", param_hint="--instrument"
        ) from error
    if instrument_id.venue.value != _VENUE_IDS[venue]:
        raise click.BadParameter(
            f"{text} is not a {venue} instrument (ids end in .{_VENUE_IDS[venue]})",
            param_hint="--instrument",
        )
    return instrument_id


def _refuse_other_venue_urls(ctx: click.Context, venue: str) -> None:
    for other, names in _URL_OPTIONS.items():
        for name in names:
            source = ctx.get_parameter_source(name)
            if other != venue and source is click.core.ParameterSource.COMMANDLINE:
                option = "--" + name.replace("_", "-")
                raise click.UsageError(f"{option} is for --venue {other}, not {venue}")


def _venue(venue: str, ids: list[InstrumentId], urls: dict[str, str | None]):
    from adapters.gate.markets import SPOT
    from adapters.gate.markets import market_of
    from catalog.ingest.polymarket import polymarket_endpoints
    from catalog.record_venues import gate_venue
    from catalog.record_venues import polymarket_venue

    if venue == "polymarket":
        endpoints = polymarket_endpoints(
            clob_url=urls["clob_url"], gamma_url=urls["gamma_url"], ws_url=urls["clob_ws_url"]
        )
        return polymarket_venue(ids, endpoints)
    spec = gate_venue(
        ids, rest_url=urls["rest_url"], ws_url=urls["ws_url"], spot_ws_url=urls["spot_ws_url"]
    )
    if any(market_of(i) is SPOT for i in ids):
        try:
            spec.config.spot_ws_url()
        except ValueError as error:
            raise click.UsageError(f"{error} (pass --spot-ws-url)") from error
    return spec
