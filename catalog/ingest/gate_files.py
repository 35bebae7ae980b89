"""
Gate's bulk historical files (`download.gatedata.org`, venues.md 1.8): names, periods and URLs.

    {base}/{biz}/{type}/{YYYYMM}/{PAIR}-{YYYYMM}.csv.gz          monthly: trades, candles, funding
    {base}/{biz}/orderbooks/{YYYYMM}/{PAIR}-{YYYYMMDDHH}.csv.gz  hourly (UTC): order books

Our kinds map onto Gate's types: futures `trades`, `orderbooks`, `candlesticks_{interval}` and
`funding_applies` (the rates actually charged; `funding_updates` are the running estimates); spot
`deals` and `candlesticks_{interval}`. Spot order books are not read: their make/take semantics
are unconfirmed (venues.md 3.4), and a wrong guess would silently corrupt every level.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

from catalog.ingest.errors import IngestUsageError

MARKETS = ("futures", "spot")
KINDS = ("trades", "orderbooks", "candles", "funding")
CANDLE_INTERVALS = ("10s", "1m", "5m", "15m", "30m", "1h", "4h", "8h", "1d", "7d")

_BIZ = {"futures": "futures_usdt", "spot": "spot"}
_TYPES = {
    ("futures", "trades"): "trades",
    ("futures", "orderbooks"): "orderbooks",
    ("futures", "funding"): "funding_applies",
    ("spot", "trades"): "deals",
}
_SYMBOL = re.compile(r"^[A-Z0-9]+_[A-Z0-9]+$")
_FILE_NAME = re.compile(r"^(?P<symbol>[A-Z0-9]+_[A-Z0-9]+)-(?P<period>\d{6}|\d{10})\.csv(\.gz)?$")


def check_symbol(symbol: str) -> str:
    if not _SYMBOL.match(symbol):
        raise IngestUsageError(
            f"symbol {symbol!r} is not a Gate market name: use the venue's spelling, e.g. BTC_USDT"
        )
    return symbol


def venue_type(market: str, kind: str, interval: str | None = None) -> str:
    """Gate's folder name for one of our kinds, e.g. ("futures", "funding") -> "funding_applies"."""
    if kind == "candles":
        if interval not in CANDLE_INTERVALS:
            raise IngestUsageError(
                f"candle interval {interval!r} is not one of Gate's: {', '.join(CANDLE_INTERVALS)}"
            )
        return f"candlesticks_{interval}"
    venue = _TYPES.get((market, kind))
    if venue is None:
        supported = ", ".join(k for m, k in _TYPES if m == market) + ", candles"
        raise IngestUsageError(f"{market} {kind} are not supported: {market} kinds are {supported}")
    return venue


def _kind_of(venue: str) -> tuple[str, str, str | None] | None:
    """Gate folder name -> (market or "", kind, interval); "" when the folder does not say."""
    if venue.startswith("candlesticks_"):
        return "", "candles", venue.removeprefix("candlesticks_")
    for (market, kind), name in _TYPES.items():
        if name == venue:
            # `trades` and `orderbooks` exist for both markets in Gate's tree; `deals` is spot's.
            return (market if venue in ("deals", "funding_applies") else ""), kind, None
    return None


@dataclass(frozen=True)
class GateBulkFile:
    """One bulk file: what it holds and, when named as Gate names them, which period."""

    market: str
    kind: str
    symbol: str
    name: str
    period: str | None = None  # "YYYYMM" (monthly) or "YYYYMMDDHH" (hourly)
    interval: str | None = None  # candles only

    @property
    def ledger_kind(self) -> str:
        """The kind under which the ledger remembers this file (candles per interval)."""
        return f"candles_{self.interval}" if self.kind == "candles" else self.kind

    def url(self, base_url: str) -> str:
        if self.period is None:
            raise IngestUsageError(f"{self.name} has no Gate period in its name: cannot fetch it")
        folder = venue_type(self.market, self.kind, self.interval)
        return f"{base_url.rstrip('/')}/{_BIZ[self.market]}/{folder}/{self.period[:6]}/{self.name}"

    def nominal_range_ns(self) -> tuple[int, int] | None:
        """[start, end) of the period the file covers by its name, or None if unnamed."""
        if self.period is None:
            return None
        start = _period_start(self.period)
        end = _next_month(start) if len(self.period) == 6 else start + timedelta(hours=1)
        return _ns(start), _ns(end)


def _period_start(period: str) -> datetime:
    fmt = "%Y%m" if len(period) == 6 else "%Y%m%d%H"
    return datetime.strptime(period, fmt).replace(tzinfo=UTC)


def _next_month(moment: datetime) -> datetime:
    return (moment.replace(day=1) + timedelta(days=32)).replace(day=1, hour=0)


def _ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000


def plan_files(
    market: str,
    kind: str,
    symbol: str,
    start: datetime,
    end: datetime,
    interval: str | None = None,
) -> list[GateBulkFile]:
    """The files covering [start, end] (UTC, both inclusive): hours for books, else months."""
    venue_type(market, kind, interval)  # refuses unsupported combinations up front
    check_symbol(symbol)
    if end < start:
        raise IngestUsageError(f"--to {end:%Y-%m-%d %H:%M} is before --from {start:%Y-%m-%d %H:%M}")
    periods: list[str] = []
    if kind == "orderbooks":
        hour = start.replace(minute=0, second=0, microsecond=0)
        while hour <= end:
            periods.append(f"{hour:%Y%m%d%H}")
            hour += timedelta(hours=1)
    else:
        month = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        while month <= end:
            periods.append(f"{month:%Y%m}")
            month = _next_month(month)
    return [
        GateBulkFile(market, kind, symbol, f"{symbol}-{p}.csv.gz", p, interval) for p in periods
    ]


def describe_file(
    path: Path,
    *,
    market: str | None = None,
    kind: str | None = None,
    symbol: str | None = None,
    interval: str | None = None,
) -> GateBulkFile:
    """
    What a local bulk file holds: from its name (`{PAIR}-{YYYYMM}.csv.gz`, hourly names are order
    books) and Gate's folders (`{biz}/{type}/{YYYYMM}/`), or the options; they must agree.
    """
    match = _FILE_NAME.match(path.name)
    named_symbol = match["symbol"] if match else None
    period = match["period"] if match else None
    folder_market, folder_kind, folder_interval = _from_folders(path)
    if period is not None and len(period) == 10:
        folder_kind = folder_kind or "orderbooks"

    resolved_symbol = _agree(path, "symbol", symbol, named_symbol)
    resolved_kind = _agree(path, "kind", kind, folder_kind)
    resolved_market = _agree(path, "market", market, folder_market) or "futures"
    resolved_interval = _agree(path, "interval", interval, folder_interval)
    if resolved_symbol is None:
        raise IngestUsageError(
            f"cannot tell the symbol of {path} from its name: pass --symbol (e.g. BTC_USDT), or "
            "keep Gate's file names ({PAIR}-{YYYYMM}.csv.gz)"
        )
    if resolved_kind is None:
        raise IngestUsageError(
            f"cannot tell what {path} holds from its name or folders: pass --kind "
            f"({'|'.join(KINDS)}), or keep Gate's folders ({{biz}}/{{type}}/{{YYYYMM}}/)"
        )
    if resolved_kind == "candles" and resolved_interval is None:
        resolved_interval = "1m"
    if resolved_kind != "candles":
        resolved_interval = None
    if period is not None and (len(period) == 10) != (resolved_kind == "orderbooks"):
        raise IngestUsageError(
            f"{path.name} is named as {'an hourly' if len(period) == 10 else 'a monthly'} file, "
            f"which Gate does not publish for {resolved_kind}: check --kind"
        )
    venue_type(resolved_market, resolved_kind, resolved_interval)
    return GateBulkFile(
        resolved_market,
        resolved_kind,
        check_symbol(resolved_symbol),
        path.name,
        period,
        resolved_interval,
    )


def _from_folders(path: Path) -> tuple[str | None, str | None, str | None]:
    parts = path.absolute().parts
    if len(parts) < 4 or not re.fullmatch(r"\d{6}", parts[-2]):
        return None, None, None
    known = _kind_of(parts[-3])
    if known is None:
        return None, None, None
    market, kind, interval = known
    biz_market = {v: k for k, v in _BIZ.items()}.get(parts[-4])
    return (biz_market or market or None), kind, interval


def _agree(path: Path, field: str, option: str | None, inferred: str | None) -> str | None:
    if option is not None and inferred is not None and option != inferred:
        raise IngestUsageError(
            f"--{field} {option} contradicts {path} (its name or folder says {inferred}): "
            f"drop --{field}, or pass the right file"
        )
    return option if option is not None else inferred
