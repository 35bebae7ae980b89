"""
`catalog download gate`: Gate's public bulk files, streamed to disk, then ingested.

The instrument comes from the venue's REST API (`GET /futures/usdt/contracts/{contract}` for a
perpetual, the `/spot/currency_pairs` list for a pair) through the adapter's own provider, so the
catalog and live trading build it the same way. Each bulk file is streamed into the transaction's
staging directory (1 MB at a time, with a byte progress bar), converted, and deleted; files the
ledger lists are not fetched again. A file the venue does not have (404) is reported and skipped;
when none of the range exists, the run fails with a message saying when Gate publishes.
"""

from __future__ import annotations

import asyncio
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from http.client import IncompleteRead
from pathlib import Path

from nautilus_trader.model.instruments import Instrument
from tqdm import tqdm

from catalog.ingest.errors import IngestError
from catalog.ingest.errors import IngestUsageError
from catalog.ingest.formats import Source
from catalog.ingest.gate_bulk import source_for
from catalog.ingest.gate_files import plan_files
from catalog.ingest.pipeline import IngestSummary
from catalog.ingest.pipeline import SourceResult
from catalog.ingest.pipeline import check_periods_free
from catalog.ingest.pipeline import ensure_instrument
from catalog.ingest.pipeline import ingest_source
from catalog.ingest.pipeline import progress_bar
from catalog.ingest.writer import CatalogTransaction

GATE_BULK_URL = "https://download.gatedata.org"
BULK_URL_ENV = "QUOTEKIT_GATE_BULK_URL"
REST_URL_ENV = "QUOTEKIT_GATE_REST_URL"
# S3-style hosts answer 403 for a key that does not exist when listing is not public.
_MISSING_STATUSES = (403, 404)
_ATTEMPTS = 3
_READ_BYTES = 1 << 20


def fetch_gate_instrument(rest_url: str, market: str, symbol: str) -> Instrument:
    """The venue's current spec of a perpetual or spot pair, as the live adapter parses it."""
    return asyncio.run(_fetch_gate_instrument(rest_url, market, symbol))


async def _fetch_gate_instrument(rest_url: str, market: str, symbol: str) -> Instrument:
    # ccxt is imported here: `catalog sample` and `catalog ingest` of known instruments skip it.
    from adapters.gate.http import GateApiError
    from adapters.gate.http import GateHttpClient
    from adapters.gate.http import GateTransportError
    from adapters.gate.parsing import perp_instrument_id
    from adapters.gate.parsing import spot_instrument_id
    from adapters.gate.providers import GateInstrumentProvider

    spot = market == "spot"
    instrument_id = spot_instrument_id(symbol) if spot else perp_instrument_id(symbol)
    client = GateHttpClient(rest_url)
    what = "spot pair" if spot else "USDT perpetual contract"
    try:
        provider = GateInstrumentProvider(client, load_spot=spot)
        await provider.load_async(instrument_id)
    except GateApiError as error:
        if error.status == 404 or error.label in ("INVALID_CURRENCY_PAIR", "NOT_FOUND"):
            raise _not_found(symbol, what, rest_url, error.label) from error
        raise IngestError(f"Gate REST at {rest_url} refused the {what} lookup: {error}") from error
    except GateTransportError as error:
        raise IngestError(
            f"cannot reach Gate REST at {rest_url} ({error}): check the network, or --rest-url "
            f"(${REST_URL_ENV})"
        ) from error
    finally:
        await client.close()
    instrument = provider.find(instrument_id)
    if instrument is None:
        raise _not_found(symbol, what, rest_url, "not listed")
    return instrument


def _not_found(symbol: str, what: str, rest_url: str, label: str) -> IngestUsageError:
    return IngestUsageError(
        f"Gate has no {what} named {symbol!r} (venue at {rest_url} says {label}): check --symbol "
        "(Gate's spelling, e.g. BTC_USDT) and --market"
    )


def fetch_bulk_file(url: str, dest: Path, *, progress: bool = True) -> int | None:
    """
    Stream `url` into `dest`. Returns the bytes written, or None when the venue has no such
    file. Transport failures and 5xx are retried; a short body (fewer bytes than announced)
    counts as one.
    """
    request = urllib.request.Request(url, headers={"User-Agent": "quotekit-catalog"})
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            return _stream(request, dest, progress)
        except urllib.error.HTTPError as error:
            if error.code in _MISSING_STATUSES:
                return None
            failure: Exception = error
            retryable = error.code >= 500
        except (urllib.error.URLError, OSError, IncompleteRead) as error:
            failure, retryable = error, True
        if not retryable or attempt == _ATTEMPTS:
            raise IngestError(
                f"cannot download {url} ({failure}): check the network or --bulk-url "
                f"(${BULK_URL_ENV}), then re-run (files already ingested are skipped)"
            ) from failure
        time.sleep(0.5 * attempt)


def _stream(request: urllib.request.Request, dest: Path, progress: bool) -> int:
    with urllib.request.urlopen(request, timeout=60) as response:
        announced = response.headers.get("Content-Length")
        total = int(announced) if announced else None
        written = 0
        with (
            open(dest, "wb") as out,
            tqdm(
                total=total,
                desc=dest.name,
                unit="B",
                unit_scale=True,
                leave=False,
                file=sys.stderr,
                disable=not progress or None,
            ) as bar,
        ):
            while block := response.read(_READ_BYTES):
                out.write(block)
                written += len(block)
                bar.update(len(block))
    if total is not None and written != total:
        raise IncompleteRead(b"", total - written)
    return written


def download_gate(
    catalog_path: Path,
    *,
    market: str,
    kind: str,
    symbol: str,
    start: datetime,
    end: datetime,
    interval: str | None = None,
    bulk_url: str = GATE_BULK_URL,
    rest_url: str,
    progress: bool = True,
) -> IngestSummary:
    """Download and ingest every Gate bulk file of [start, end] not yet in the catalog."""
    started = time.perf_counter()
    files = plan_files(market, kind, symbol, start, end, interval)
    summary = IngestSummary(catalog_path)
    with CatalogTransaction(catalog_path) as txn:
        downloads = txn.staging / "downloads"
        downloads.mkdir()
        todo: list[Source] = []
        for file in files:
            source = source_for(file, downloads / file.name)
            if txn.is_ingested(source.instrument_id, source.kind, source.name):
                summary.results.append(SourceResult(source, "skipped"))
            else:
                todo.append(source)
        if not todo:
            summary.elapsed_s = time.perf_counter() - started
            return summary

        def fetch(_source: Source) -> Instrument:
            return fetch_gate_instrument(rest_url, market, symbol)

        instrument = ensure_instrument(txn, todo[0], fetch, summary.instruments_added)
        check_periods_free(txn, todo)
        with progress_bar(len(todo), f"Downloading {symbol} {kind}", progress) as bar:
            for source in todo:
                bar.set_postfix_str(source.name)
                url = source.detail.url(bulk_url)
                if fetch_bulk_file(url, source.path, progress=progress) is None:
                    summary.results.append(SourceResult(source, "missing"))
                else:
                    summary.results.append(ingest_source(txn, source, instrument))
                    source.path.unlink()
                bar.update(1)
        if not summary.with_status("ingested") and not summary.with_status("skipped"):
            first, last = todo[0].detail.url(bulk_url), todo[-1].detail.url(bulk_url)
            raise IngestError(
                f"no data: Gate has none of the {len(todo)} {kind} file(s) for {symbol} "
                f"from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} ({first} ... {last}: "
                "not found). Fix: choose dates Gate has published (monthly files appear "
                "after the month ends, hourly order books 1-2 hours after the hour), and check "
                "--market and --bulk-url"
            )
    summary.elapsed_s = time.perf_counter() - started
    return summary
