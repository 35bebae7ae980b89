"""
`catalog download gate` and `catalog ingest` end to end: the real CLI against a local bulk-data
host and REST endpoints (127.0.0.1), generated files in Gate's layout, then a backtest over the
result.
"""

from __future__ import annotations

import gzip
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from click.testing import Result
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import BarType
from nautilus_trader.model.data import FundingRateUpdate
from nautilus_trader.model.enums import BookType
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from catalog import sample
from catalog.cli import main as catalog_cli
from catalog.ingest.ledger import LEDGER_FILE
from tests.conftest import ROOT
from tests.venues.gate_bulk import GateBulkServer
from tests.venues.gate_bulk import bulk_path
from tests.venues.gate_bulk import gate_orderbook_files
from tests.venues.gate_bulk import gate_trade_rows
from tests.venues.gate_bulk import gzip_csv

pytestmark = [pytest.mark.catalog, pytest.mark.integration]

PERP_ID = "BTC_USDT-PERP.GATE"
T0 = sample.SAMPLE_START_NS // 1_000_000_000  # 2026-01-05T00:00:00Z
SIM_SECONDS = 900
STRETCH = 8.0  # 15 simulated minutes spread over two hours: two hourly files
HOURS = ("BTC_USDT-2026010500.csv.gz", "BTC_USDT-2026010501.csv.gz")
BACKTEST = Path(sys.executable).parent / "backtest"


@pytest.fixture(scope="module")
def market() -> dict:
    """The book and trades the bulk files are made of, and the files themselves."""
    instrument = sample.gate_sample_instrument()
    deltas, trades = sample.generate_gate_perp_events(
        instrument, sample.SAMPLE_START_NS, SIM_SECONDS, seed=5
    )
    hours = gate_orderbook_files(deltas, time_scale=STRETCH)
    assert len(hours) == 2
    files = {
        bulk_path("futures_usdt", "orderbooks", name): gzip_csv(rows)
        for name, rows in zip(HOURS, (hours[h] for h in sorted(hours)), strict=True)
    }
    trade_rows = gate_trade_rows(trades, origin=sample.SAMPLE_START_NS, time_scale=STRETCH)
    files[bulk_path("futures_usdt", "trades", "BTC_USDT-202601.csv.gz")] = gzip_csv(trade_rows)
    files[bulk_path("spot", "deals", "BTC_USDT-202601.csv.gz")] = gzip_csv(
        [(f"{T0 + i}.25", 9_000 + i, f"94000.{i}", "0.01250", 1 + i % 2) for i in range(5)]
    )
    files[bulk_path("futures_usdt", "candlesticks_1m", "BTC_USDT-202601.csv.gz")] = gzip_csv(
        [(T0 + 60 * i, 100 + i, "94000.5", "94001.0", "93999.5", "94000.0") for i in range(3)]
    )
    files[bulk_path("futures_usdt", "funding_applies", "BTC_USDT-202601.csv.gz")] = gzip_csv(
        [(T0 + 28_800 * i, "0.0001") for i in range(3)]
    )
    # ETH_USDT: a good first hour, then a download cut short.
    eth = [(T0, "set", "1814.80", "10", 1, 0), (T0, "set", "1814.85", "-12", 1, 0)]
    files[bulk_path("futures_usdt", "orderbooks", "ETH_USDT-2026010500.csv.gz")] = gzip_csv(eth)
    broken = gzip_csv(eth * 5000)
    files[bulk_path("futures_usdt", "orderbooks", "ETH_USDT-2026010501.csv.gz")] = broken[:-100]
    return {"deltas": deltas, "trades": trades, "files": files}


@pytest.fixture
def venue(market: dict):
    server = GateBulkServer().start_in_thread()
    for path, body in market["files"].items():
        server.put(path, body)
    yield server
    server.stop()


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(catalog_cli, list(args), env=env, catch_exceptions=False)


def download(venue: GateBulkServer, catalog: Path, *args: str) -> Result:
    return cli(
        "download", "gate", *args, "--catalog", str(catalog),
        "--bulk-url", venue.base_url, "--rest-url", venue.rest_url,
    )  # fmt: skip


def books(catalog: Path) -> list:
    return ParquetDataCatalog(str(catalog)).order_book_deltas(instrument_ids=[PERP_ID])


def snapshot_of_catalog(catalog: Path) -> dict[str, int]:
    return {
        str(p.relative_to(catalog)): p.stat().st_size for p in catalog.rglob("*") if p.is_file()
    }


def assert_nothing_written(catalog: Path) -> None:
    assert not list(catalog.rglob("*.parquet")) and not (catalog / LEDGER_FILE).exists()


def final_levels(deltas) -> tuple[list, list]:
    book = OrderBook(deltas[0].instrument_id, BookType.L2_MBP)
    for delta in deltas:
        book.apply_delta(delta)
    return (
        [(lv.price, lv.size()) for lv in book.bids()],
        [(lv.price, lv.size()) for lv in book.asks()],
    )


# -- happy paths --------------------------------------------------------------------------------


def test_download_orderbooks_and_trades_rebuild_the_venue_book(
    venue: GateBulkServer, market: dict, tmp_path: Path
) -> None:
    catalog = tmp_path / "catalog"
    result = download(venue, catalog, "--symbol", "BTC_USDT", "--kind", "orderbooks",
                      "--from", "2026-01-05T00", "--to", "2026-01-05T01")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Downloaded 2 file(s)" in result.output
    assert "instrument added: BTC_USDT-PERP.GATE" in result.output
    assert "/api/v4/futures/usdt/contracts/BTC_USDT" in venue.requests

    got = books(catalog)
    assert f"{PERP_ID} order_book_deltas: {len(got):,} rows" in result.output
    assert final_levels(got) == final_levels(market["deltas"])
    ts_init = [d.ts_init for d in got]
    assert all(a < b for a, b in itertools.pairwise(ts_init))

    result = download(venue, catalog, "--symbol", "BTC_USDT", "--kind", "trades",
                      "--from", "2026-01-05")  # fmt: skip
    assert result.exit_code == 0, result.output
    trades = ParquetDataCatalog(str(catalog)).trade_ticks(instrument_ids=[PERP_ID])
    assert len(trades) == len(market["trades"])
    assert [(t.price, t.size, t.aggressor_side) for t in trades] == [
        (t.price, t.size, t.aggressor_side) for t in market["trades"]
    ]
    instrument = ParquetDataCatalog(str(catalog)).instruments()
    assert [str(i.id) for i in instrument] == [PERP_ID]
    assert str(instrument[0].multiplier) == "0.0001"  # contracts, as the venue spec says


def test_rerun_skips_what_the_catalog_has_and_a_wider_range_adds_only_new_files(
    venue: GateBulkServer, tmp_path: Path
) -> None:
    catalog = tmp_path / "catalog"
    args = ["--symbol", "BTC_USDT", "--kind", "orderbooks", "--from", "2026-01-05T00"]
    assert download(venue, catalog, *args, "--to", "2026-01-05T01").exit_code == 0
    before, rows = snapshot_of_catalog(catalog), len(books(catalog))
    fetched = len(venue.bulk_requests())

    again = download(venue, catalog, *args, "--to", "2026-01-05T01")
    assert again.exit_code == 0, again.output
    assert "Downloaded 0 file(s)" in again.output and "2 already in the catalog" in again.output
    assert len(venue.bulk_requests()) == fetched  # nothing fetched again
    assert snapshot_of_catalog(catalog) == before and len(books(catalog)) == rows

    wider = download(venue, catalog, *args, "--to", "2026-01-05T02")
    assert wider.exit_code == 0, wider.output
    assert "2 already in the catalog" in wider.output and "1 not published" in wider.output
    assert "not published: BTC_USDT-2026010502.csv.gz" in wider.output
    assert venue.bulk_requests()[fetched:] == [
        "/futures_usdt/orderbooks/202601/BTC_USDT-2026010502.csv.gz"
    ]
    assert len(books(catalog)) == rows


@pytest.mark.parametrize(
    ("args", "check"),
    [
        (["--market", "spot", "--kind", "trades"], "spot_deals"),
        (["--kind", "candles", "--interval", "1m"], "bars"),
        (["--kind", "funding"], "funding"),
    ],
)
def test_download_spot_deals_candles_and_funding(
    venue: GateBulkServer, tmp_path: Path, args: list[str], check: str
) -> None:
    catalog = tmp_path / "catalog"
    result = download(venue, catalog, "--symbol", "BTC_USDT", *args, "--from", "2026-01-05")
    assert result.exit_code == 0, result.output
    store = ParquetDataCatalog(str(catalog))
    if check == "spot_deals":
        assert "/api/v4/spot/currency_pairs" in venue.requests
        trades = store.trade_ticks(instrument_ids=["BTC_USDT.GATE"])
        assert [str(t.size) for t in trades] == ["0.01250"] * 5
        assert [t.aggressor_side.name for t in trades][:2] == ["SELLER", "BUYER"]
    elif check == "bars":
        bar_type = BarType.from_str(f"{PERP_ID}-1-MINUTE-LAST-EXTERNAL")
        bars = store.query(Bar, identifiers=[str(bar_type)])
        assert [b.ts_event // 1_000_000_000 - T0 for b in bars] == [60, 120, 180]
    else:
        updates = store.query(FundingRateUpdate, identifiers=[PERP_ID])
        assert [u.interval for u in updates] == [480, 480, 480]


def test_ingest_files_already_on_disk_infers_kind_and_symbol_from_gate_layout(
    venue: GateBulkServer, market: dict, tmp_path: Path
) -> None:
    files = []
    for path, body in market["files"].items():
        if path.startswith("/futures_usdt/") and "BTC_USDT" in path:
            files.append(tmp_path / "bulk" / path.lstrip("/"))
            files[-1].parent.mkdir(parents=True, exist_ok=True)
            files[-1].write_bytes(body)
    catalog = tmp_path / "catalog"
    result = cli(
        "ingest", *map(str, files), "--catalog", str(catalog), "--rest-url", venue.rest_url
    )
    assert result.exit_code == 0, result.output
    assert f"Ingested {len(files)} file(s)" in result.output
    assert final_levels(books(catalog)) == final_levels(market["deltas"])
    ledger = json.loads((catalog / LEDGER_FILE).read_text())["sources"][PERP_ID]
    assert sorted(ledger) == ["candles_1m", "funding", "orderbooks", "trades"]


def test_bulk_url_from_the_environment(venue: GateBulkServer, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    env = {"QUOTEKIT_GATE_BULK_URL": venue.base_url, "QUOTEKIT_GATE_REST_URL": venue.rest_url}
    result = cli("download", "gate", "--symbol", "BTC_USDT", "--kind", "funding",
                 "--from", "2026-01-05", "--catalog", str(catalog), env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "/futures_usdt/funding_applies/202601/BTC_USDT-202601.csv.gz" in venue.requests


# -- bad input: one clear message, a non-zero exit, nothing in the catalog -----------------------


def test_unknown_contract_is_a_usage_error(venue: GateBulkServer, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    result = download(venue, catalog, "--symbol", "NOPE_USDT", "--kind", "orderbooks",
                      "--from", "2026-01-05T00")  # fmt: skip
    assert result.exit_code == 2
    assert "Gate has no USDT perpetual contract named 'NOPE_USDT'" in result.output
    assert "check --symbol" in result.output
    assert venue.bulk_requests() == []
    assert_nothing_written(catalog)


def test_unknown_spot_pair_is_a_usage_error(venue: GateBulkServer, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    result = download(venue, catalog, "--market", "spot", "--symbol", "NOPE_USDT",
                      "--kind", "trades", "--from", "2026-01-05")  # fmt: skip
    assert result.exit_code == 2
    assert "Gate has no spot pair named 'NOPE_USDT'" in result.output
    assert_nothing_written(catalog)


def test_a_range_without_data_says_when_gate_publishes(
    venue: GateBulkServer, tmp_path: Path
) -> None:
    catalog = tmp_path / "catalog"
    result = download(venue, catalog, "--symbol", "BTC_USDT", "--kind", "orderbooks",
                      "--from", "2025-03-01")  # fmt: skip
    assert result.exit_code == 1
    assert "no data: Gate has none of the 24 orderbooks file(s) for BTC_USDT" in result.output
    assert "hourly order books 1-2 hours after the hour" in result.output
    assert_nothing_written(catalog)  # not even the instrument


def test_a_truncated_download_fails_the_whole_run(venue: GateBulkServer, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    result = download(venue, catalog, "--symbol", "ETH_USDT", "--kind", "orderbooks",
                      "--from", "2026-01-05T00", "--to", "2026-01-05T01")  # fmt: skip
    assert result.exit_code == 1
    assert "ETH_USDT-2026010501.csv.gz is not a readable gzip/CSV file" in result.output
    assert result.output.count("Error") == 1
    assert_nothing_written(catalog)  # the good first hour is not committed either
    assert not list(tmp_path.glob(".catalog.ingest-*"))  # staging cleaned up


def test_overlapping_data_is_refused_before_downloading(
    venue: GateBulkServer, market: dict, tmp_path: Path
) -> None:
    catalog = tmp_path / "catalog"
    mine = tmp_path / "recorded-hour.csv.gz"
    mine.write_bytes(market["files"][bulk_path("futures_usdt", "orderbooks", HOURS[0])])
    ingested = cli("ingest", str(mine), "--kind", "orderbooks", "--symbol", "BTC_USDT",
                   "--catalog", str(catalog), "--rest-url", venue.rest_url)  # fmt: skip
    assert ingested.exit_code == 0, ingested.output
    before = snapshot_of_catalog(catalog)

    result = download(venue, catalog, "--symbol", "BTC_USDT", "--kind", "orderbooks",
                      "--from", "2026-01-05T00", "--to", "2026-01-05T01")  # fmt: skip
    assert result.exit_code == 1
    assert "already has order_book_deltas for BTC_USDT-PERP.GATE" in result.output
    assert "recorded-hour.csv.gz" in result.output and "--catalog PATH" in result.output
    assert venue.bulk_requests() == []
    assert snapshot_of_catalog(catalog) == before


def test_dates_in_the_wrong_order_are_a_usage_error(venue: GateBulkServer, tmp_path: Path) -> None:
    result = download(venue, tmp_path / "catalog", "--symbol", "BTC_USDT", "--kind", "trades",
                      "--from", "2026-02-01", "--to", "2026-01-01")  # fmt: skip
    assert result.exit_code == 2
    assert "is before --from" in result.output


def test_ingest_of_a_file_whose_kind_cannot_be_told(venue: GateBulkServer, tmp_path: Path) -> None:
    path = tmp_path / "BTC_USDT-202601.csv.gz"
    path.write_bytes(gzip.compress(b"1,2,3,4\n"))
    result = cli("ingest", str(path), "--catalog", str(tmp_path / "catalog"))
    assert result.exit_code == 2
    assert "pass --kind" in result.output


# -- round trip: download, then backtest over it ------------------------------------------------


def test_downloaded_data_backtests(venue: GateBulkServer, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    for kind, start, end in (("orderbooks", "2026-01-05T00", "2026-01-05T01"),
                             ("trades", "2026-01-05", "2026-01-05")):  # fmt: skip
        result = download(venue, catalog, "--symbol", "BTC_USDT", "--kind", kind,
                          "--from", start, "--to", end)  # fmt: skip
        assert result.exit_code == 0, result.output

    config = yaml.safe_load((ROOT / "configs" / "mm.yaml").read_text())
    config["backtest"].update(
        catalog=str(catalog), start="2026-01-05T00:00:00Z", end="2026-01-05T00:30:00Z"
    )
    path = tmp_path / "mm.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "run"
    done = subprocess.run(
        [str(BACKTEST), "run", str(path), "--output", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "pnl total" in done.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["events"] > 5_000
    assert summary["order_commands"] > 0
    assert summary["fills_buy"] > 0 and summary["fills_sell"] > 0
