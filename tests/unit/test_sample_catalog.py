"""The embedded sample catalog: deterministic, never crossed, atomic and idempotent."""

from __future__ import annotations

import itertools
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import BinaryOption
from nautilus_trader.model.instruments import CryptoPerpetual
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from catalog import sample
from catalog.cli import main as catalog_cli

GATE = sample.GATE_PERP_ID
YES = sample.POLYMARKET_YES_ID
NO = sample.POLYMARKET_NO_ID
F_LAST = int(RecordFlag.F_LAST)
F_SNAPSHOT = int(RecordFlag.F_SNAPSHOT)


# -- fixtures ---------------------------------------------------------------------------------


TINY_GATE_S = 60
TINY_POLYMARKET_S = 600


def _shrink(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seconds of data instead of hours, so build-mechanics tests stay fast."""
    monkeypatch.setattr(sample, "GATE_SAMPLE_DURATION_S", TINY_GATE_S)
    monkeypatch.setattr(sample, "POLYMARKET_SAMPLE_DURATION_S", TINY_POLYMARKET_S)


@pytest.fixture
def tiny_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    _shrink(monkeypatch)


@pytest.fixture(scope="module")
def cli_catalog(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A (tiny) sample built through the CLI, kept for the module."""
    path = tmp_path_factory.mktemp("cli") / "catalog"
    with pytest.MonkeyPatch.context() as monkeypatch:
        _shrink(monkeypatch)
        result = CliRunner().invoke(catalog_cli, ["sample", "--path", str(path)])
    assert result.exit_code == 0, result.output
    return path, result.output


@pytest.fixture(scope="module")
def catalog(sample_catalog: Path) -> ParquetDataCatalog:
    return ParquetDataCatalog(str(sample_catalog))


@pytest.fixture(scope="module")
def data(catalog: ParquetDataCatalog) -> dict[str, tuple[list[OrderBookDelta], list[TradeTick]]]:
    out = {}
    for instrument_id in (GATE, YES, NO):
        deltas = catalog.order_book_deltas(instrument_ids=[instrument_id])
        trades = catalog.trade_ticks(instrument_ids=[instrument_id])
        out[instrument_id] = (deltas, trades)
    return out


def _delta_rows(deltas: list[OrderBookDelta]) -> list[tuple]:
    # Compare by value: `OrderBookDelta.__eq__` is False between a catalog-loaded delta and an
    # identical constructed one (nautilus 1.231), and a CLEAR comes back with the instrument's
    # precisions instead of 0.
    return [
        (
            d.action,
            d.order.side,
            d.order.price.raw,
            d.order.size.raw,
            d.flags,
            d.sequence,
            d.ts_event,
        )
        for d in deltas
    ]


def _trade_rows(trades: list[TradeTick]) -> list[tuple]:
    return [
        (t.price.raw, t.size.raw, t.aggressor_side, t.trade_id.value, t.ts_event) for t in trades
    ]


def _files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def _leftovers(target: Path) -> list[Path]:
    return [
        p for p in target.parent.iterdir() if ".sample-build-" in p.name or ".sample-old-" in p.name
    ]


# -- contents ---------------------------------------------------------------------------------


def test_instruments_round_trip(catalog: ParquetDataCatalog) -> None:
    instruments = {str(i.id): i for i in catalog.instruments()}
    assert set(instruments) == {GATE, YES, NO}
    gate = instruments[GATE]
    assert isinstance(gate, CryptoPerpetual)
    assert gate == sample.gate_sample_instrument()
    assert gate.multiplier.as_decimal() == sample.gate_sample_instrument().multiplier.as_decimal()
    assert gate.info["quanto_multiplier"] == "0.0001"
    yes, no = instruments[YES], instruments[NO]
    assert isinstance(yes, BinaryOption) and isinstance(no, BinaryOption)
    assert (yes.outcome, no.outcome) == ("Yes", "No")
    assert yes.info["condition_id"] == sample.POLYMARKET_CONDITION_ID
    assert yes.info["rewards"]["min_size"] == 50 and yes.info["rewards"]["max_spread"] == 3.5
    assert yes.expiration_ns > sample.SAMPLE_START_NS + sample.POLYMARKET_SAMPLE_DURATION_S * 10**9
    assert yes.taker_fee > 0 and yes.maker_fee == 0


def test_row_counts_are_in_the_intended_ranges(data: dict) -> None:
    gate_deltas, gate_trades = data[GATE]
    assert 900_000 <= len(gate_deltas) <= 1_200_000
    assert 25_000 <= len(gate_trades) <= 50_000
    yes_deltas, yes_trades = data[YES]
    assert 40_000 <= len(yes_deltas) <= 120_000
    assert len(yes_trades) > 1_000


def test_marker_records_the_build(sample_catalog: Path, data: dict) -> None:
    marker = json.loads((sample_catalog / sample.MARKER_FILE).read_text())
    assert marker["seed"] == sample.SAMPLE_SEED
    assert marker["version"] == sample.SAMPLE_FORMAT_VERSION
    for instrument_id, (deltas, trades) in data.items():
        counts = marker["instruments"][instrument_id]
        assert counts == {"order_book_deltas": len(deltas), "trade_tick": len(trades)}


def test_span_and_timestamps(data: dict) -> None:
    start = sample.SAMPLE_START_NS
    spans = {GATE: sample.GATE_SAMPLE_DURATION_S, YES: sample.POLYMARKET_SAMPLE_DURATION_S}
    spans[NO] = spans[YES]
    for instrument_id, (deltas, trades) in data.items():
        stamps = [d.ts_event for d in deltas]
        assert stamps[0] == start
        assert stamps[-1] < start + spans[instrument_id] * 10**9
        assert stamps[-1] > start + 0.95 * spans[instrument_id] * 10**9
        assert all(a <= b for a, b in itertools.pairwise(stamps))
        # Each delta has its own ts_init (see catalog/ordering.py), close to the venue time.
        assert all(a.ts_init < b.ts_init for a, b in itertools.pairwise(deltas))
        assert all(0 <= d.ts_init - d.ts_event < 1_000 for d in deltas)
        trade_stamps = [t.ts_event for t in trades]
        assert all(a < b for a, b in itertools.pairwise(trade_stamps))
        assert all(t.ts_init == t.ts_event for t in trades)
        assert len({t.trade_id.value for t in trades}) == len(trades)


def test_messages_are_framed_by_f_last(data: dict) -> None:
    for deltas, _ in data.values():
        first = deltas[0]
        assert first.action == BookAction.CLEAR and first.flags & F_SNAPSHOT
        snapshot = [d for d in deltas if d.ts_event == first.ts_event]
        assert all(d.flags & F_SNAPSHOT for d in snapshot)
        assert snapshot[-1].flags & F_LAST and not any(d.flags & F_LAST for d in snapshot[:-1])
        assert len(snapshot) > 20
        # One message per timestamp: F_LAST exactly where the next delta has a later ts.
        for a, b in itertools.pairwise(deltas):
            assert bool(a.flags & F_LAST) == (b.ts_event > a.ts_event)
            assert b.sequence >= a.sequence
        assert deltas[-1].flags & F_LAST


def _replay(
    instrument_id: str, deltas: list[OrderBookDelta], trades: list[TradeTick]
) -> dict[str, int]:
    """Replay into a nautilus L2 book: never crossed after F_LAST, trades at the touch."""
    book = OrderBook(InstrumentId.from_str(instrument_id), BookType.L2_MBP)
    pending = iter(trades)
    trade = next(pending, None)
    checked = {"messages": 0, "trades": 0}
    for delta in deltas:
        while trade is not None and trade.ts_event < delta.ts_event:
            touch = book.best_ask_price() if trade.aggressor_side == AggressorSide.BUYER else None
            touch = touch if touch is not None else book.best_bid_price()
            assert trade.price == touch, (trade, book.best_bid_price(), book.best_ask_price())
            side_size = (
                book.best_ask_size()
                if trade.aggressor_side == AggressorSide.BUYER
                else book.best_bid_size()
            )
            assert trade.size <= side_size
            checked["trades"] += 1
            trade = next(pending, None)
        book.apply_delta(delta)
        if delta.flags & F_LAST:
            bid, ask = book.best_bid_price(), book.best_ask_price()
            assert bid is not None and ask is not None, delta
            assert bid < ask, (delta, bid, ask)
            checked["messages"] += 1
    assert trade is None or trade.ts_event >= deltas[-1].ts_event
    return checked


@pytest.mark.parametrize("instrument_id", [GATE, YES, NO])
def test_books_never_cross_and_trades_hit_the_touch(data: dict, instrument_id: str) -> None:
    deltas, trades = data[instrument_id]
    checked = _replay(instrument_id, deltas, trades)
    assert checked["messages"] > 10_000
    assert checked["trades"] >= len(trades) - 1


@pytest.fixture(scope="module")
def gate_tape(data: dict) -> dict[str, np.ndarray]:
    """The Gate book after every message: time, mid, spread (ticks), bid depth, touch size."""
    book = OrderBook(InstrumentId.from_str(GATE), BookType.L2_MBP)
    rows = []
    for delta in data[GATE][0]:
        book.apply_delta(delta)
        if delta.flags & F_LAST:
            bid, ask = float(book.best_bid_price()), float(book.best_ask_price())
            rows.append(
                (delta.ts_event, (bid + ask) / 2, ask - bid, len(book.bids()), book.best_bid_size())
            )
    ts, mid, spread, depth, touch = zip(*rows, strict=True)
    return {
        "ts": np.array(ts, dtype=np.int64),
        "mid": np.array(mid),
        "spread_ticks": np.rint(np.array(spread) / 0.1),
        "depth": np.array(depth),
        "touch_size": np.array(touch, dtype=float),
    }


def test_gate_book_shape(data: dict, gate_tape: dict[str, np.ndarray]) -> None:
    one_tick = np.mean(gate_tape["spread_ticks"] == 1)
    assert 0.6 < one_tick < 0.98  # usually 1 tick, sometimes wider
    assert 12 <= gate_tape["depth"].mean() <= 28  # ~20 levels a side
    assert 1_000 < np.median(gate_tape["touch_size"]) < 50_000  # contracts of 0.0001 BTC
    assert gate_tape["mid"].min() > 80_000 and gate_tape["mid"].max() < 110_000
    trades = data[GATE][1]
    buyers = sum(t.aggressor_side == AggressorSide.BUYER for t in trades)
    assert 0.35 < buyers / len(trades) < 0.65
    sizes = np.array([float(t.size) for t in trades])
    assert sizes.max() > 20 * np.median(sizes)  # heavy tail


def test_gate_vol_is_realistic_and_clusters(gate_tape: dict[str, np.ndarray]) -> None:
    start, seconds = sample.SAMPLE_START_NS, sample.GATE_SAMPLE_DURATION_S
    grid = start + np.arange(seconds + 1, dtype=np.int64) * 1_000_000_000
    mid = gate_tape["mid"][np.searchsorted(gate_tape["ts"], grid, side="right") - 1]
    returns = np.diff(np.log(mid))
    per_minute = returns.reshape(-1, 60).sum(axis=1)
    annual = per_minute.std() * math.sqrt(365 * 24 * 60)
    assert 0.3 < annual < 0.8  # BTC: ~40-60% a year
    # Calm and busy 10-minute stretches, and busy ones carry more book events.
    bucket_vol = returns.reshape(12, -1).std(axis=1)
    assert bucket_vol.max() > 1.8 * bucket_vol.min()
    counts, _ = np.histogram(gate_tape["ts"], bins=12, range=(start, grid[-1]))
    assert np.corrcoef(bucket_vol, counts)[0, 1] > 0.5


def test_polymarket_prices_stay_on_the_grid(data: dict) -> None:
    for instrument_id in (YES, NO):
        deltas, trades = data[instrument_id]
        prices = [d.order.price for d in deltas if d.action != BookAction.CLEAR]
        prices += [t.price for t in trades]
        assert all(0.01 <= float(p) <= 0.99 for p in prices)
        assert all(p.precision == 2 for p in prices)


def test_no_is_the_mirror_of_yes(data: dict) -> None:
    yes_deltas, yes_trades = data[YES]
    no_deltas, no_trades = data[NO]
    assert len(yes_deltas) == len(no_deltas) and len(yes_trades) == len(no_trades)
    flip = {OrderSide.BUY: OrderSide.SELL, OrderSide.SELL: OrderSide.BUY}
    for y, n in zip(yes_deltas, no_deltas, strict=True):
        assert (y.ts_event, y.action, y.flags, y.sequence) == (
            n.ts_event,
            n.action,
            n.flags,
            n.sequence,
        )
        if y.action == BookAction.CLEAR:
            continue
        assert n.order.side == flip[y.order.side]
        assert n.order.price.as_decimal() == 1 - y.order.price.as_decimal()
        assert n.order.size == y.order.size
    aggressor_flip = {
        AggressorSide.BUYER: AggressorSide.SELLER,
        AggressorSide.SELLER: AggressorSide.BUYER,
    }
    for y, n in zip(yes_trades, no_trades, strict=True):
        assert n.ts_event == y.ts_event
        assert n.price.as_decimal() == 1 - y.price.as_decimal()
        assert n.size == y.size
        assert n.aggressor_side == aggressor_flip[y.aggressor_side]


# -- determinism ------------------------------------------------------------------------------


@pytest.mark.usefixtures("tiny_sample")
def test_same_seed_builds_identical_rows(tmp_path: Path, cli_catalog: tuple[Path, str]) -> None:
    first, _ = cli_catalog
    second = tmp_path / "again"
    sample.build_sample_catalog(second)
    files = sorted(str(p.relative_to(first)) for p in first.rglob("*.parquet"))
    assert files == sorted(str(p.relative_to(second)) for p in second.rglob("*.parquet"))
    assert len(files) == 9  # 3 instruments x (definition, deltas, trades)
    for name in files:
        assert pq.read_table(first / name).equals(pq.read_table(second / name)), name
    assert (first / sample.MARKER_FILE).read_text() == (second / sample.MARKER_FILE).read_text()


def test_full_sample_is_deterministic(data: dict) -> None:
    # The session catalog was built by `ensure_sample_catalog`; regenerating gives the same rows.
    yes, no = sample.polymarket_sample_instruments()
    events = sample.generate_polymarket_events(
        yes, no, sample.SAMPLE_START_NS, sample.POLYMARKET_SAMPLE_DURATION_S, sample.SAMPLE_SEED
    )
    assert _delta_rows(events.yes_deltas) == _delta_rows(data[YES][0])
    assert _trade_rows(events.no_trades) == _trade_rows(data[NO][1])


def test_different_seed_differs() -> None:
    instrument = sample.gate_sample_instrument()
    start = sample.SAMPLE_START_NS
    a_deltas, a_trades = sample.generate_gate_perp_events(instrument, start, 120, seed=1)
    b_deltas, b_trades = sample.generate_gate_perp_events(instrument, start, 120, seed=1)
    c_deltas, c_trades = sample.generate_gate_perp_events(instrument, start, 120, seed=2)
    assert _delta_rows(a_deltas) == _delta_rows(b_deltas)
    assert _trade_rows(a_trades) == _trade_rows(b_trades)
    assert _delta_rows(a_deltas) != _delta_rows(c_deltas)
    assert _trade_rows(a_trades) != _trade_rows(c_trades)
    yes, no = sample.polymarket_sample_instruments()
    p = sample.generate_polymarket_events(yes, no, start, 600, seed=1)
    q = sample.generate_polymarket_events(yes, no, start, 600, seed=2)
    assert _delta_rows(p.yes_deltas) != _delta_rows(q.yes_deltas)


def test_generator_scales_with_duration() -> None:
    instrument = sample.gate_sample_instrument()
    short, _ = sample.generate_gate_perp_events(instrument, sample.SAMPLE_START_NS, 300, seed=5)
    long, _ = sample.generate_gate_perp_events(instrument, sample.SAMPLE_START_NS, 1200, seed=5)
    assert 2.5 < len(long) / len(short) < 6
    assert long[-1].ts_event - sample.SAMPLE_START_NS < 1200 * 10**9


def test_bad_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="duration_s"):
        sample.generate_gate_perp_events(sample.gate_sample_instrument(), 0, 0, seed=1)


# -- building: idempotent and atomic ----------------------------------------------------------


def test_ensure_keeps_a_complete_catalog(sample_catalog: Path) -> None:
    before = _files(sample_catalog)
    assert sample.is_sample_catalog_complete(sample_catalog)
    assert sample.is_sample_catalog_complete(sample_catalog, seed=sample.SAMPLE_SEED)
    assert not sample.is_sample_catalog_complete(sample_catalog, seed=sample.SAMPLE_SEED + 1)
    assert sample.ensure_sample_catalog(sample_catalog, progress=False) is False
    assert _files(sample_catalog) == before


@pytest.mark.usefixtures("tiny_sample")
def test_catalog_without_marker_is_rebuilt(tmp_path: Path) -> None:
    target = tmp_path / "catalog"
    assert sample.ensure_sample_catalog(target, progress=False) is True
    assert sample.ensure_sample_catalog(target, progress=False) is False
    (target / sample.MARKER_FILE).unlink()
    assert not sample.is_sample_catalog_complete(target)
    assert sample.ensure_sample_catalog(target, progress=False) is True
    assert sample.is_sample_catalog_complete(target)
    assert _leftovers(target) == []


@pytest.mark.usefixtures("tiny_sample")
def test_catalog_missing_a_file_is_rebuilt(tmp_path: Path) -> None:
    target = tmp_path / "catalog"
    sample.ensure_sample_catalog(target, progress=False)
    next(target.rglob("*.parquet")).unlink()
    assert not sample.is_sample_catalog_complete(target)
    assert sample.ensure_sample_catalog(target, progress=False) is True
    assert sample.is_sample_catalog_complete(target)


@pytest.mark.usefixtures("tiny_sample")
def test_stale_half_built_dir_is_cleaned_and_rebuilt(tmp_path: Path) -> None:
    target = tmp_path / "catalog"
    dead_pid = 2**22 + 1  # above Linux's pid_max: no such process
    stale = tmp_path / f".catalog.sample-build-{dead_pid}-0badc0de"
    (stale / "data" / "order_book_deltas").mkdir(parents=True)
    (stale / "data" / "order_book_deltas" / "half.parquet").write_bytes(b"PAR1")
    assert sample.ensure_sample_catalog(target, progress=False) is True
    assert not stale.exists()
    assert sample.is_sample_catalog_complete(target)


@pytest.mark.usefixtures("tiny_sample")
def test_crash_mid_build_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "catalog"
    real_write = sample._write_instrument_data

    def crash_after_gate(*args, **kwargs):
        real_write(*args, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(sample, "_write_instrument_data", crash_after_gate)
    with pytest.raises(RuntimeError, match="disk full"):
        sample.build_sample_catalog(target)
    assert not target.exists()
    assert _leftovers(target) == []


@pytest.mark.usefixtures("tiny_sample")
def test_crash_during_rebuild_keeps_the_old_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "catalog"
    sample.build_sample_catalog(target)
    before = _files(target)

    def crash(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(sample, "_write_instrument_data", crash)
    with pytest.raises(RuntimeError):
        sample.build_sample_catalog(target, force=True)
    assert _files(target) == before
    assert sample.is_sample_catalog_complete(target)


@pytest.mark.usefixtures("tiny_sample")
def test_foreign_catalog_is_not_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "catalog"
    foreign = target / "data" / "quote_tick" / "ETH_USDT-PERP.GATE" / "x.parquet"
    foreign.parent.mkdir(parents=True)
    foreign.write_bytes(b"user data")
    with pytest.raises(sample.SampleCatalogError, match="not the sample"):
        sample.ensure_sample_catalog(target, progress=False)
    assert foreign.read_bytes() == b"user data"
    result = CliRunner().invoke(catalog_cli, ["sample", "--path", str(target)])
    assert result.exit_code != 0 and "--force" in result.output
    result = CliRunner().invoke(catalog_cli, ["sample", "--path", str(target), "--force"])
    assert result.exit_code == 0, result.output
    assert not foreign.exists() and sample.is_sample_catalog_complete(target)


# -- CLI --------------------------------------------------------------------------------------


def test_cli_builds_then_reports_existing(cli_catalog: tuple[Path, str]) -> None:
    path, output = cli_catalog
    assert f"Wrote sample catalog to {path}" in output
    assert GATE in output and "book deltas" in output and "trades" in output
    before = _files(path)
    again = CliRunner().invoke(catalog_cli, ["sample", "--path", str(path)])
    assert again.exit_code == 0, again.output
    assert "already exists" in again.output
    assert _files(path) == before


@pytest.mark.usefixtures("tiny_sample")
def test_cli_default_path_and_force(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("QUOTEKIT_CATALOG", raising=False)
    assert sample.default_catalog_path() == tmp_path / "data" / "catalog"
    monkeypatch.setenv("QUOTEKIT_CATALOG", str(tmp_path / "elsewhere"))
    assert sample.default_catalog_path() == tmp_path / "elsewhere"
    runner = CliRunner()
    assert runner.invoke(catalog_cli, ["sample"]).exit_code == 0
    assert sample.is_sample_catalog_complete(tmp_path / "elsewhere")
    assert "already exists" in runner.invoke(catalog_cli, ["sample"]).output
    result = runner.invoke(catalog_cli, ["sample", "--force"])
    assert result.exit_code == 0, result.output
    assert "Wrote sample catalog" in result.output


def test_copy_of_catalog_is_still_complete(sample_catalog: Path, tmp_path: Path) -> None:
    # Completeness is about the files, not the absolute path: a moved catalog is still complete.
    moved = tmp_path / "moved"
    shutil.copytree(sample_catalog, moved)
    assert sample.is_sample_catalog_complete(moved)


def test_time_filtered_query_keeps_message_order(catalog: ParquetDataCatalog, data: dict) -> None:
    # Backtests query the catalog with a time range; the deltas must come back in written order.
    start, end = sample.SAMPLE_START_NS + 300 * 10**9, sample.SAMPLE_START_NS + 900 * 10**9
    sliced = catalog.order_book_deltas(instrument_ids=[GATE], start=start, end=end)
    expected = [d for d in data[GATE][0] if start <= d.ts_init <= end]
    assert _delta_rows(sliced) == _delta_rows(expected)
