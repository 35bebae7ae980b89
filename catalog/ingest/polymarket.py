"""
`catalog download polymarket`: one market's public history into the catalog.

- Instruments: both outcome tokens as `BinaryOption`s, read through the live adapter's provider
  (CLOB + Gamma), so the ids and specs are the ones live trading uses.
- Trades: the Data API's `GET /trades?market={condition_id}` (newest first, `offset` paging, which
  the venue caps: about 20k trades of a market are reachable) -> `TradeTick`s per token. The API
  stamps trades in whole seconds: the trades of one second are nudged 1 ns apart in the order they
  happened, and the trade id is nautilus' `polymarket_trade_id(tx hash, token, n-th fill of that
  token in the tx)`. The aggressor is the taker's side on that token.
- Price history: the CLOB's `GET /prices-history?market={token_id}&startTs&endTs&fidelity=1`, a
  day per request (the venue allows at most 15) -> one `Bar` per point, bar type
  `{instrument_id}-1-MINUTE-MID-EXTERNAL`: open = high = low = close = the venue's price (its
  displayed price: the midpoint, or the last trade when the spread is wide), volume 0 (the series
  has none), ts_event = the point's time. Bars are stored with 6 decimals (pUSD's), so every
  price the venue states is exact, midpoints between two ticks included.

Resumable: each run covers its market up to a cutoff (the start of the current second for trades,
of the current minute for prices: later ones may still change) and records that in the catalog's
ledger, per token and kind; the next run asks only for what came after. The first run starts at
`--from` (default: 7 days ago) for prices and at the oldest trade the venue still serves. A run
that finds nothing at all for a new market fails with "no data", and writes nothing.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from decimal import ROUND_HALF_EVEN
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from nautilus_trader.core.nautilus_pyo3 import polymarket_trade_id
from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import BarSpecification
from nautilus_trader.model.data import BarType
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggregationSource
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BarAggregation
from nautilus_trader.model.enums import PriceType
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import BinaryOption
from tqdm import tqdm

from adapters.polymarket.config import PolymarketEndpoints
from adapters.polymarket.http import PolymarketApiError
from adapters.polymarket.http import PolymarketHttpClient
from adapters.polymarket.http import PolymarketTransportError
from adapters.polymarket.parsing import split_instrument_id
from adapters.polymarket.providers import MarketNotFound
from adapters.polymarket.providers import PolymarketInstrumentProvider
from catalog.ingest.errors import IngestError
from catalog.ingest.errors import IngestUsageError
from catalog.ingest.formats import Source
from catalog.ingest.formats import SourceNotes
from catalog.ingest.pipeline import IngestSummary
from catalog.ingest.pipeline import SourceResult
from catalog.ingest.tables import bars_table
from catalog.ingest.tables import decimal_type
from catalog.ingest.tables import to_raw
from catalog.ingest.tables import trade_ticks_table
from catalog.ingest.writer import CatalogTransaction
from catalog.ingest.writer import iso

CLOB_URL_ENV = "QUOTEKIT_POLYMARKET_CLOB_URL"
GAMMA_URL_ENV = "QUOTEKIT_POLYMARKET_GAMMA_URL"
DATA_API_URL_ENV = "QUOTEKIT_POLYMARKET_DATA_API_URL"
WS_URL_ENV = "QUOTEKIT_POLYMARKET_WS_URL"

TRADES_KIND = "trades"
PRICES_KIND = "prices_1m"
DEFAULT_DAYS = 7
BAR_PRICE_PRECISION = 6
TRADES_PAGE = 10_000  # the Data API's largest page
MAX_OFFSET = 10_000  # the Data API refuses offsets beyond this
_OFFSET_CAP_TEXT = "max historical activity offset"
_PRICE_WINDOW_S = 86_400
_CONDITION_ID = re.compile(r"0x[0-9a-fA-F]{64}")
_SIDES = {"BUY": int(AggressorSide.BUYER), "SELL": int(AggressorSide.SELLER)}
_NS = 1_000_000_000


def price_bar_type(instrument_id: InstrumentId) -> BarType:
    spec = BarSpecification(1, BarAggregation.MINUTE, PriceType.MID)
    return BarType(instrument_id, spec, AggregationSource.EXTERNAL)


@dataclass(frozen=True)
class _Plan:
    """What this run asks the venue for: [from, to) per kind, in whole seconds."""

    trades_from: int  # 0: as far back as the venue serves
    prices_from: int
    trades_to: int
    prices_to: int


@dataclass
class _Fetched:
    trades: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    capped: bool = False  # the venue's offset cap ended the paging before `trades_from`
    prices: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # token -> points


def resolve_market(endpoints: PolymarketEndpoints, market: str) -> list[BinaryOption]:
    """The market's outcome tokens; an unknown slug or condition id is a usage error."""
    return asyncio.run(_resolve(endpoints, market))


async def _resolve(endpoints: PolymarketEndpoints, market: str) -> list[BinaryOption]:
    http = PolymarketHttpClient(endpoints)
    provider = PolymarketInstrumentProvider(http)
    by_id = bool(_CONDITION_ID.fullmatch(market))
    try:
        if by_id:
            return await provider.load_markets_async(condition_ids=[market])
        return await provider.load_markets_async(slugs=[market])
    except MarketNotFound as error:
        raise IngestUsageError(
            f"Polymarket has no market {market!r} (venue at {endpoints.clob_http}: {error}). "
            "Fix: --market takes the market's slug (as in its polymarket.com URL) or its "
            "condition id (0x and 64 hex digits)"
        ) from error
    except (PolymarketApiError, PolymarketTransportError) as error:
        raise IngestError(
            f"cannot look up Polymarket market {market!r} ({error}): check the network, or "
            f"--clob-url (${CLOB_URL_ENV}) and --gamma-url (${GAMMA_URL_ENV})"
        ) from error
    finally:
        await http.close()


@dataclass
class PolymarketDownload:
    """What one run did: per token and kind a result (rows, remarks), and the periods asked."""

    condition_id: str
    tokens: list[str]
    summary: IngestSummary
    trades_from_s: int  # 0: as far back as the venue serves
    trades_until_s: int
    prices_from_s: int
    prices_until_s: int


def download_polymarket(
    catalog_path: Path,
    *,
    market: str,
    endpoints: PolymarketEndpoints,
    start: datetime | None = None,
    page_size: int = TRADES_PAGE,
    max_offset: int = MAX_OFFSET,
    progress: bool = True,
) -> PolymarketDownload:
    """Download the market's trades and price history not yet in the catalog (see module doc)."""
    started = time.perf_counter()
    tokens = resolve_market(endpoints, market)
    condition_id = split_instrument_id(tokens[0].id)[0]
    now_s = int(time.time())
    first_s = int(start.timestamp()) if start else now_s - DEFAULT_DAYS * 86_400
    summary = IngestSummary(catalog_path)
    with CatalogTransaction(catalog_path) as txn:
        for token in tokens:
            _check_precision(txn, token)
        had_data = _has_coverage(txn, tokens)
        plan = _Plan(
            trades_from=min(_covered_until(txn, t.id, TRADES_KIND) for t in tokens),
            prices_from=max(first_s, min(_covered_until(txn, t.id, PRICES_KIND) for t in tokens)),
            trades_to=now_s,
            prices_to=now_s - now_s % 60,
        )
        fetched = asyncio.run(
            _fetch(endpoints, tokens, condition_id, plan, page_size, max_offset, progress)
        )
        for token in tokens:
            if txn.instrument(token.id) is None:
                txn.add_instrument(token)
                summary.instruments_added.append(token.id.value)
            if plan.trades_from < plan.trades_to:
                summary.results.append(_write_trades(txn, token, fetched, plan))
            if plan.prices_from < plan.prices_to:
                summary.results.append(_write_prices(txn, token, fetched, plan))
        if not had_data and not any(r.rows for r in summary.results):
            raise IngestError(
                f"no data: Polymarket has no trades and no price history for market {market} "
                f"({condition_id}) from {iso(plan.prices_from * _NS)} to "
                f"{iso(plan.prices_to * _NS)}. Nothing was written. Fix: check --market, or "
                "pass an earlier --from"
            )
    summary.elapsed_s = time.perf_counter() - started
    return PolymarketDownload(
        condition_id=condition_id,
        tokens=[t.id.value for t in tokens],
        summary=summary,
        trades_from_s=plan.trades_from,
        trades_until_s=plan.trades_to,
        prices_from_s=plan.prices_from,
        prices_until_s=plan.prices_to,
    )


def _check_precision(txn: CatalogTransaction, token: BinaryOption) -> None:
    known = txn.instrument(token.id)
    if known is not None and known.price_precision != token.price_precision:
        # nautilus reads a series only when all its files share one precision.
        raise IngestError(
            f"{token.id} is now quoted in ticks of {token.price_increment}, but the catalog has "
            f"it with ticks of {known.price_increment}: one series cannot mix precisions. "
            "Nothing was written. Fix: download into another catalog (--catalog PATH)"
        )


def _covered_until(txn: CatalogTransaction, instrument_id: InstrumentId, kind: str) -> int:
    """Seconds: where this token's `kind` data in the catalog ends (0: none yet)."""
    entries = txn.ledger.sources.get(instrument_id.value, {}).get(kind, {})
    ends = [int(info["until_s"]) for info in entries.values() if info.get("state") == "done"]
    return max(ends, default=0)


def _has_coverage(txn: CatalogTransaction, tokens: list[BinaryOption]) -> bool:
    return any(
        _covered_until(txn, token.id, kind)
        for token in tokens
        for kind in (TRADES_KIND, PRICES_KIND)
    )


# -- fetching -----------------------------------------------------------------------------------


async def _fetch(
    endpoints: PolymarketEndpoints,
    tokens: list[BinaryOption],
    condition_id: str,
    plan: _Plan,
    page_size: int,
    max_offset: int,
    progress: bool,
) -> _Fetched:
    http = PolymarketHttpClient(endpoints, timeout_s=30.0)
    fetched = _Fetched()
    try:
        fetched.trades, fetched.capped = await _fetch_trades(
            http, condition_id, plan, page_size, max_offset, progress
        )
        windows = list(_windows(plan.prices_from, plan.prices_to))
        with _progress(len(windows) * len(tokens), "price history", "day", progress) as bar:
            for token in tokens:
                points: list[tuple[int, float]] = []
                for window_start, window_end in windows:
                    points += await _fetch_prices(http, token, window_start, window_end)
                    bar.update(1)
                fetched.prices[token.raw_symbol.value] = points
    except PolymarketTransportError as error:
        raise IngestError(
            f"cannot reach Polymarket ({error}): check the network, or --data-api-url "
            f"(${DATA_API_URL_ENV}) and --clob-url (${CLOB_URL_ENV}); then re-run (what the "
            "catalog has is kept and not fetched again)"
        ) from error
    finally:
        await http.close()
    return fetched


async def _fetch_trades(
    http: PolymarketHttpClient,
    condition_id: str,
    plan: _Plan,
    page_size: int,
    max_offset: int,
    progress: bool,
) -> tuple[list[dict[str, Any]], bool]:
    """Trades with trades_from <= timestamp < trades_to, oldest first; and whether capped."""
    rows: list[dict[str, Any]] = []
    offset = 0
    with _progress(None, "trades", "trade", progress) as bar:
        while True:
            if offset > max_offset:
                return _window(rows, plan), True
            params = {"market": condition_id, "limit": page_size, "offset": offset}
            try:
                page = await http.request("GET", "/trades", service="data", params=params)
            except PolymarketApiError as error:
                if _OFFSET_CAP_TEXT in error.message:
                    return _window(rows, plan), True
                raise IngestError(
                    f"the Data API refused the trades of {condition_id}: {error}"
                ) from error
            rows.extend(page)
            bar.update(len(page))
            offset += len(page)
            if len(page) < page_size or (page and int(page[-1]["timestamp"]) < plan.trades_from):
                return _window(rows, plan), False


def _window(rows: list[dict[str, Any]], plan: _Plan) -> list[dict[str, Any]]:
    """Newest-first rows -> those of [trades_from, trades_to), oldest first."""
    kept = [r for r in rows if plan.trades_from <= int(r["timestamp"]) < plan.trades_to]
    return kept[::-1]


async def _fetch_prices(
    http: PolymarketHttpClient, token: BinaryOption, start: int, end: int
) -> list[tuple[int, float]]:
    params = {"market": token.raw_symbol.value, "startTs": start, "endTs": end - 1, "fidelity": 1}
    try:
        reply = await http.request("GET", "/prices-history", params=params)
    except PolymarketApiError as error:
        raise IngestError(
            f"the CLOB refused the price history of {token.id} from {iso(start * _NS)}: {error}"
        ) from error
    points = reply.get("history", []) if isinstance(reply, dict) else []
    return [(int(p["t"]), float(p["p"])) for p in points if start <= int(p["t"]) < end]


def _windows(start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end:
        yield start, min(start + _PRICE_WINDOW_S, end)
        start += _PRICE_WINDOW_S


def _progress(total: int | None, label: str, unit: str, enabled: bool) -> tqdm:
    return tqdm(total=total, desc=label, unit=unit, file=sys.stderr, disable=not enabled or None)


# -- writing ------------------------------------------------------------------------------------


def _source(token: BinaryOption, kind: str, name: str, output: tuple[type, str]) -> Source:
    return Source(
        path=Path(name),
        format="polymarket-api",
        venue="polymarket",
        market="binary",
        symbol=token.raw_symbol.value,
        instrument_id=token.id,
        kind=kind,
        name=name,
        nominal_range_ns=None,
        outputs=(output,),
    )


def _record(
    txn: CatalogTransaction, source: Source, files: list[str], rows: int, start: int, until: int
) -> SourceResult:
    kind = {TRADES_KIND: "trade_tick", PRICES_KIND: "bar"}[source.kind]
    txn.record_source(
        source.instrument_id,
        source.kind,
        source.name,
        files,
        rows=rows,
        from_s=start,
        until_s=until,
    )
    return SourceResult(source, "ingested", rows={kind: rows} if rows else {})


def _write_trades(
    txn: CatalogTransaction, token: BinaryOption, fetched: _Fetched, plan: _Plan
) -> SourceResult:
    name = f"data-api trades until {iso(plan.trades_to * _NS)}"
    source = _source(token, TRADES_KIND, name, (TradeTick, token.id.value))
    rows = [r for r in fetched.trades if r.get("asset") == token.raw_symbol.value]
    notes = SourceNotes(rows_read=len(rows))
    if fetched.capped:
        oldest = iso(int(rows[0]["timestamp"]) * _NS) if rows else "-"
        notes.remarks.append(
            f"{token.id}: the Data API serves only the newest ~{MAX_OFFSET * 2:,} trades of a "
            f"market: older trades than {oldest} are not available"
        )
    files = []
    if rows:
        with txn.stream(TradeTick, token.id.value, label=name) as out:
            out.write(_trades_table(token, rows, notes))
        files = [out.relative_path] if out.relative_path else []
    result = _record(txn, source, files, len(rows), plan.trades_from, plan.trades_to)
    result.notes = notes
    return result


def _trades_table(token: BinaryOption, rows: list[dict[str, Any]], notes: SourceNotes) -> pa.Table:
    ts_event, trade_ids = [], []
    per_second: dict[int, int] = {}
    per_tx: dict[str, int] = {}
    for row in rows:
        second = int(row["timestamp"])
        nth = per_second[second] = per_second.get(second, -1) + 1
        ts_event.append(second * _NS + nth)
        tx = str(row["transactionHash"])
        fill = per_tx[tx] = per_tx.get(tx, -1) + 1
        trade_ids.append(polymarket_trade_id(tx, token.raw_symbol.value, fill))
    prices = _decimals([row["price"] for row in rows], token.price_precision, notes, "price")
    sizes = _decimals([row["size"] for row in rows], token.size_precision, notes, "size")
    return trade_ticks_table(
        token,
        price=prices,
        size=sizes,
        aggressor_side=np.asarray([_SIDES.get(str(r["side"]).upper(), 0) for r in rows]),
        trade_id=pa.array(trade_ids, pa.string()),
        ts_event=np.asarray(ts_event, dtype=np.int64),
    )


def _decimals(values: list[Any], precision: int, notes: SourceNotes, what: str) -> pa.Array:
    """JSON numbers -> raw fixed-point at `precision`; values off that grid are rounded, counted."""
    step = Decimal(1).scaleb(-precision)
    exact = [Decimal(str(v)) for v in values]
    rounded = [v.quantize(step, rounding=ROUND_HALF_EVEN) for v in exact]
    off_grid = sum(a != b for a, b in zip(exact, rounded, strict=True))
    if off_grid:
        notes.anomalies += off_grid
        notes.remarks.append(f"{off_grid:,} {what}(s) had more than {precision} decimals: rounded")
    return to_raw(pa.array(rounded, decimal_type(precision)))


def _write_prices(
    txn: CatalogTransaction, token: BinaryOption, fetched: _Fetched, plan: _Plan
) -> SourceResult:
    start, until = plan.prices_from, plan.prices_to
    name = f"prices-history {iso(start * _NS)} to {iso(until * _NS)}"
    bar_type = price_bar_type(token.id)
    source = _source(token, PRICES_KIND, name, (Bar, str(bar_type)))
    points = dict(sorted(fetched.prices.get(token.raw_symbol.value, [])))  # one per second
    notes = SourceNotes(rows_read=len(points))
    files = []
    if points:
        with txn.stream(Bar, str(bar_type), label=name) as out:
            out.write(_bars_table(token, bar_type, points, notes))
        files = [out.relative_path] if out.relative_path else []
    elif until > start:
        notes.remarks.append(
            f"{token.id}: no price history from {iso(start * _NS)} to {iso(until * _NS)}"
        )
    result = _record(txn, source, files, len(points), start, until)
    result.notes = notes
    return result


def _bars_table(
    token: BinaryOption, bar_type: BarType, points: dict[int, float], notes: SourceNotes
) -> pa.Table:
    prices = _decimals(list(points.values()), BAR_PRICE_PRECISION, notes, "history price")
    zero = to_raw(pa.array([Decimal(0)] * len(points), decimal_type(token.size_precision)))
    table = bars_table(
        token,
        bar_type,
        open_=prices,
        high=prices,
        low=prices,
        close=prices,
        volume=zero,
        ts_event=np.asarray(list(points), dtype=np.int64) * _NS,
    )
    metadata = {**table.schema.metadata, b"price_precision": str(BAR_PRICE_PRECISION).encode()}
    return table.replace_schema_metadata(metadata)


def polymarket_endpoints(
    clob_url: str | None = None,
    gamma_url: str | None = None,
    data_api_url: str | None = None,
    ws_url: str | None = None,
) -> PolymarketEndpoints:
    """The venue's URLs, each overridable (a simulator, a proxy); the rest are the live ones."""
    given = {
        "clob_http": clob_url,
        "gamma_http": gamma_url,
        "data_api_http": data_api_url,
        "clob_ws": ws_url,
    }
    return PolymarketEndpoints(**{k: v for k, v in given.items() if v})
