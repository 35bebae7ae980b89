"""
`catalog ls` / `catalog info` on the sample catalog, their errors, and the readers underneath:
footers-only listing, fixed-point column decoding and the L2 book replay (checked against
nautilus' own OrderBook).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from catalog.book import load_deltas
from catalog.book import replay
from catalog.cli import main
from catalog.columns import fixed_to_float
from catalog.inspect import CatalogError
from catalog.inspect import find_instrument
from catalog.inspect import format_ns
from catalog.inspect import list_instruments
from catalog.inspect import parse_file_name
from catalog.sample import GATE_PERP_ID
from catalog.sample import POLYMARKET_NO_ID
from catalog.sample import POLYMARKET_YES_ID
from catalog.sample import SAMPLE_START_NS
from catalog.sample import read_sample_marker

pytestmark = pytest.mark.catalog

SAMPLE_IDS = {GATE_PERP_ID, POLYMARKET_YES_ID, POLYMARKET_NO_ID}


def test_listing_matches_what_the_sample_wrote(sample_catalog: Path) -> None:
    written = read_sample_marker(sample_catalog)["instruments"]
    entries = list_instruments(sample_catalog)
    assert {e.instrument_id for e in entries} == SAMPLE_IDS
    kinds = {e.instrument_id: e.kind for e in entries}
    assert kinds[GATE_PERP_ID] == "CryptoPerpetual"
    assert kinds[POLYMARKET_YES_ID] == kinds[POLYMARKET_NO_ID] == "BinaryOption"
    for entry in entries:
        counts = {s.data_type: s.rows for s in entry.series}
        assert counts == written[entry.instrument_id]


def test_time_ranges_are_the_rows_own(sample_catalog: Path) -> None:
    """Footer statistics agree with the ts_init column itself."""
    for entry in list_instruments(sample_catalog):
        for series in entry.series:
            column = pq.read_table(series.paths, columns=["ts_init"]).column("ts_init")
            low, high = pc.min_max(column).values()
            assert (series.first_ts, series.last_ts) == (low.as_py(), high.as_py())
            assert series.files[0].named_range == (series.first_ts, series.last_ts)
    gate = find_instrument(sample_catalog, GATE_PERP_ID).get("order_book_deltas")
    assert gate.first_ts == SAMPLE_START_NS


def test_file_names_parse_to_nanoseconds() -> None:
    name = "2026-01-05T00-00-00-250694621Z_2026-01-05T01-59-59-969699823Z.parquet"
    first, last = parse_file_name(name)
    assert format_ns(first) == "2026-01-05T00:00:00.250694621Z"
    assert format_ns(last) == "2026-01-05T01:59:59.969699823Z"
    assert parse_file_name("part-0.parquet") is None


def test_fixed_point_prices_decode_like_nautilus(sample_catalog: Path) -> None:
    catalog = ParquetDataCatalog(str(sample_catalog))
    for instrument_id in (GATE_PERP_ID, POLYMARKET_YES_ID):
        trades = catalog.trade_ticks(instrument_ids=[instrument_id])[:500]
        series = find_instrument(sample_catalog, instrument_id).get("trade_tick")
        table = pq.read_table(series.paths[0]).slice(0, 500)
        assert fixed_to_float(table.column("price")).tolist() == [
            t.price.as_double() for t in trades
        ]
        assert fixed_to_float(table.column("size")).tolist() == [t.size.as_double() for t in trades]


@pytest.mark.parametrize(("instrument_id", "minutes"), [(GATE_PERP_ID, 2), (POLYMARKET_NO_ID, 180)])
def test_book_replay_matches_nautilus_order_book(
    sample_catalog: Path, instrument_id: str, minutes: int
) -> None:
    """Top of book after every message of the first minutes, against nautilus' L2 book."""
    end = SAMPLE_START_NS + minutes * 60 * 1_000_000_000
    series = find_instrument(sample_catalog, instrument_id).get("order_book_deltas")
    ours = replay(load_deltas(series, end_ns=end))
    catalog = ParquetDataCatalog(str(sample_catalog))
    book = OrderBook(catalog.instruments(instrument_ids=[instrument_id])[0].id, BookType.L2_MBP)
    expected = []
    for delta in catalog.order_book_deltas(instrument_ids=[instrument_id], end=end):
        book.apply_delta(delta)
        if delta.flags & RecordFlag.F_LAST:
            bid, ask = book.best_bid_price(), book.best_ask_price()
            expected.append(
                (
                    delta.ts_init,
                    bid.as_double() if bid else np.nan,
                    ask.as_double() if ask else np.nan,
                    book.best_bid_size().as_double() if bid else np.nan,
                )
            )
    assert len(expected) == len(ours.ts) > 1000
    ts, bid, ask, bid_size = (np.array(column) for column in zip(*expected, strict=True))
    np.testing.assert_array_equal(ours.ts, ts)
    np.testing.assert_allclose(ours.bid, bid, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.ask, ask, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.bid_size, bid_size, rtol=0, atol=1e-9)


def test_depth_sums_the_best_levels(sample_catalog: Path) -> None:
    series = find_instrument(sample_catalog, GATE_PERP_ID).get("order_book_deltas")
    at = SAMPLE_START_NS + 30 * 1_000_000_000
    ours = replay(load_deltas(series, end_ns=at), np.array([at]), depth_levels=3)
    catalog = ParquetDataCatalog(str(sample_catalog))
    book = OrderBook(catalog.instruments(instrument_ids=[GATE_PERP_ID])[0].id, BookType.L2_MBP)
    for delta in catalog.order_book_deltas(instrument_ids=[GATE_PERP_ID], end=at):
        book.apply_delta(delta)
    assert ours.bid_depth[0] == sum(level.size() for level in book.bids()[:3])
    assert ours.ask_depth[0] == sum(level.size() for level in book.asks()[:3])


# -- the commands -----------------------------------------------------------------------------


def test_ls_lists_instruments_types_ranges_and_rows(sample_catalog: Path) -> None:
    result = CliRunner().invoke(main, ["ls", "--catalog", str(sample_catalog)])
    assert result.exit_code == 0, result.output
    written = read_sample_marker(sample_catalog)["instruments"]
    for instrument_id, counts in written.items():
        assert instrument_id in result.output
        for data_type, rows in counts.items():
            assert f"{data_type} " in result.output and f"{rows:,} rows" in result.output
    assert format_ns(SAMPLE_START_NS) in result.output
    assert result.output.rstrip().endswith(
        "3 instruments, 6 data series, "
        + (f"{sum(n for c in written.values() for n in c.values()):,} rows")
    )


def test_ls_honours_the_catalog_env_var(
    sample_catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QUOTEKIT_CATALOG", str(sample_catalog))
    result = CliRunner().invoke(main, ["ls"])
    assert result.exit_code == 0, result.output
    assert f"catalog: {sample_catalog}" in result.output


def test_info_shows_the_definition_and_files(sample_catalog: Path) -> None:
    result = CliRunner().invoke(main, ["info", GATE_PERP_ID, "--catalog", str(sample_catalog)])
    assert result.exit_code == 0, result.output
    assert "class: CryptoPerpetual" in result.output
    assert "price_increment: 0.1" in result.output
    assert "multiplier: 0.0001" in result.output
    series = find_instrument(sample_catalog, GATE_PERP_ID).get("order_book_deltas")
    assert str(series.paths[0].relative_to(sample_catalog)) in result.output


def test_an_unknown_id_names_it_and_lists_the_known_ones(sample_catalog: Path) -> None:
    result = CliRunner().invoke(
        main, ["info", "ETH_USDT-PERP.GATE", "--catalog", str(sample_catalog)]
    )
    assert result.exit_code == 2
    assert "instrument 'ETH_USDT-PERP.GATE' is not in the catalog" in result.output
    assert all(iid in result.output for iid in SAMPLE_IDS)
    with pytest.raises(CatalogError, match="catalog ls"):
        find_instrument(sample_catalog, "nope")


@pytest.mark.parametrize("command", [["ls"], ["info", GATE_PERP_ID], ["validate"]])
def test_a_missing_catalog_names_the_path_and_the_fix(command: list[str], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = CliRunner().invoke(main, [*command, "--catalog", str(missing)])
    assert result.exit_code == 2
    assert f"no catalog at {missing}" in result.output
    assert "catalog sample" in result.output
    assert len(result.output.strip().splitlines()) == 1
