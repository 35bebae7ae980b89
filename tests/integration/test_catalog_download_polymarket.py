"""
`catalog download polymarket` against the local Polymarket simulator (127.0.0.1): instruments as
live trading builds them, Data API trades and CLOB price history into the catalog, resumed runs
that ask only for what is new, and one clear error for a market the venue does not have.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from click.testing import Result
from nautilus_trader.model.data import Bar
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from adapters.polymarket.parsing import token_instrument_id
from catalog.cli import main as catalog_cli
from catalog.ingest.ledger import LEDGER_FILE
from catalog.ingest.polymarket import PRICES_KIND
from catalog.ingest.polymarket import TRADES_KIND
from catalog.ingest.polymarket import download_polymarket
from catalog.ingest.polymarket import polymarket_endpoints
from catalog.ingest.polymarket import price_bar_type
from tests.venues.polymarket.process import PolymarketSimulatorProcess

pytestmark = [pytest.mark.catalog, pytest.mark.integration]


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory):
    # No scripted crowd: the trades are exactly the ones the tests make.
    with PolymarketSimulatorProcess.start(
        tmp_path_factory.mktemp("pm-download"), "--updates-per-s", "0"
    ) as process:
        yield process


def trade(sim: PolymarketSimulatorProcess, market: dict, side: str, size: str) -> None:
    """A crowd taker at the YES touch."""
    book = sim.control.get("book", token_id=market["token_ids"][0])
    price = book["asks"][-1]["price"] if side == "buy" else book["bids"][-1]["price"]
    sim.control.post(
        "market/trade", side=side, price=price, size=size, market=market["condition_id"]
    )


def get(url: str, **query) -> object:
    with urllib.request.urlopen(f"{url}?{urllib.parse.urlencode(query)}", timeout=10) as reply:
        return json.loads(reply.read())


def download(sim: PolymarketSimulatorProcess, catalog: Path, market: str, *args: str) -> Result:
    return CliRunner().invoke(
        catalog_cli,
        [
            "download",
            "polymarket",
            "--market",
            market,
            "--catalog",
            str(catalog),
            "--clob-url",
            sim.clob_url,
            "--gamma-url",
            sim.gamma_url,
            "--data-api-url",
            sim.data_api_url,
            *args,
        ],
        catch_exceptions=False,
    )


def ledger_until(catalog: Path, instrument_id: str, kind: str) -> int:
    sources = json.loads((catalog / LEDGER_FILE).read_text())["sources"][instrument_id][kind]
    return max(info["until_s"] for info in sources.values())


def requests_since(sim: PolymarketSimulatorProcess, since_ns: int, path: str) -> list[dict]:
    return [
        dict(urllib.parse.parse_qsl(r["query"]))
        for r in sim.control.get("requests", since_ns=since_ns)
        if r["path"].endswith(path)
    ]


def test_download_then_resume_adds_only_what_is_new(
    sim: PolymarketSimulatorProcess, tmp_path: Path
) -> None:
    market = sim.markets[0]
    condition_id = market["condition_id"]
    yes, no = (token_instrument_id(condition_id, t).value for t in market["token_ids"])
    for side, size in (("buy", "7"), ("sell", "5.5"), ("buy", "12")):
        trade(sim, market, side, size)
    time.sleep(1.1)  # a run takes trades up to the start of its second: these are older
    catalog = tmp_path / "catalog"

    first = download(sim, catalog, market["slug"])
    assert first.exit_code == 0, first.output
    assert f"instrument added: {yes}" in first.output and f"instrument added: {no}" in first.output
    store = ParquetDataCatalog(str(catalog))
    instruments = {i.id.value: i for i in store.instruments()}
    assert sorted(instruments) == sorted([yes, no])
    assert instruments[yes].outcome == "Yes" and str(instruments[yes].price_increment) == "0.01"

    served = get(f"{sim.data_api_url}/trades", market=condition_id)[::-1]  # oldest first
    got = store.trade_ticks(instrument_ids=[yes, no])
    assert [
        (t.instrument_id.value, t.price.as_decimal(), t.size.as_decimal(), t.aggressor_side)
        for t in sorted(got, key=lambda t: t.ts_event)
    ] == [
        (
            token_instrument_id(condition_id, row["asset"]).value,
            Decimal(str(row["price"])),
            Decimal(str(row["size"])),
            AggressorSide.BUYER if row["side"] == "BUY" else AggressorSide.SELLER,
        )
        for row in served
    ]
    assert len({t.trade_id for t in got}) == len(got) == 3
    assert len({t.ts_event for t in got}) == 3  # same-second trades are nudged apart

    until = ledger_until(catalog, yes, PRICES_KIND)
    history = get(f"{sim.clob_url}/prices-history", market=market["token_ids"][0],
                  interval="max", fidelity=1)["history"]  # fmt: skip
    bars = store.query(Bar, identifiers=[str(price_bar_type(instruments[yes].id))])
    assert [(b.ts_event // 10**9, b.close.as_decimal()) for b in bars] == [
        (p["t"], Decimal(str(p["p"]))) for p in history if p["t"] < until
    ]
    assert all(b.open == b.high == b.low == b.close and b.volume == 0 for b in bars)
    assert CliRunner().invoke(catalog_cli, ["validate", "--catalog", str(catalog)]).exit_code == 0

    # A later run asks only for what came after the first one's cutoffs.
    trade(sim, market, "buy", "9")
    time.sleep(1.1)
    since = time.time_ns()
    second = download(sim, catalog, condition_id)
    assert second.exit_code == 0, second.output
    asked = requests_since(sim, since, "/prices-history")
    assert all(int(q["startTs"]) >= until for q in asked)  # none within the same minute
    assert len(requests_since(sim, since, "/trades")) == 1
    got = ParquetDataCatalog(str(catalog)).trade_ticks(instrument_ids=[yes, no])
    assert sorted(t.size.as_decimal() for t in got) == [Decimal("5.5"), 7, 9, 12]
    assert f"{yes}: 1 new trades" in second.output
    assert ledger_until(catalog, yes, TRADES_KIND) > ledger_until(catalog, yes, PRICES_KIND)
    assert CliRunner().invoke(catalog_cli, ["validate", "--catalog", str(catalog)]).exit_code == 0


def test_trades_page_by_offset_up_to_the_venue_cap(
    sim: PolymarketSimulatorProcess, tmp_path: Path
) -> None:
    market = sim.markets[0]
    for size in range(5, 13):
        trade(sim, market, "buy", str(size))
    time.sleep(1.1)
    since = time.time_ns()
    endpoints = polymarket_endpoints(sim.clob_url, sim.gamma_url, sim.data_api_url)
    done = download_polymarket(
        tmp_path / "catalog",
        market=market["slug"],
        endpoints=endpoints,
        page_size=3,
        max_offset=3,
        progress=False,
    )
    offsets = [int(q["offset"]) for q in requests_since(sim, since, "/trades")]
    assert offsets == [0, 3]  # the next page would start beyond the cap
    remarks = [r for result in done.summary.results for r in result.notes.remarks]
    assert any("serves only the newest" in r for r in remarks)
    got = ParquetDataCatalog(str(tmp_path / "catalog")).trade_ticks()
    assert sorted(t.size.as_decimal() for t in got) == [7, 8, 9, 10, 11, 12]  # the newest six


def test_unknown_market_is_a_usage_error_and_writes_nothing(
    sim: PolymarketSimulatorProcess, tmp_path: Path
) -> None:
    catalog = tmp_path / "catalog"
    result = download(sim, catalog, "no-such-market")
    assert result.exit_code == 2
    assert "Polymarket has no market 'no-such-market'" in result.output
    assert "--market takes the market's slug" in result.output
    assert not catalog.exists()
    unknown_id = "0x" + "ab" * 32
    assert download(sim, catalog, unknown_id).exit_code == 2
    assert not catalog.exists()


def test_no_trades_and_no_history_is_an_error_and_writes_nothing(
    sim: PolymarketSimulatorProcess, tmp_path: Path
) -> None:
    quiet = sim.markets[1]  # never traded here
    catalog = tmp_path / "catalog"
    result = download(sim, catalog, quiet["slug"], "--from", "2099-01-01")
    assert result.exit_code == 1
    assert "no data: Polymarket has no trades and no price history" in result.output
    assert not list(catalog.rglob("*.parquet")) and not (catalog / LEDGER_FILE).exists()
