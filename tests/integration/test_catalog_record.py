"""
`catalog record` end to end: the real command in a child process records from a local venue
simulator (127.0.0.1) through our data clients, faults are forced on the venue, and the catalog it
leaves is validated, replayed against the venue's own book, rebuilt from the raw journal and
backtested.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import FundingRateUpdate
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from catalog.book import load_deltas
from catalog.book import replay
from catalog.cli import main as catalog_cli
from catalog.feed_events import FeedEvent
from catalog.inspect import find_instrument
from tests.conftest import ROOT
from tests.venues.gate.process import SimulatorProcess
from tests.venues.polymarket.process import PolymarketSimulatorProcess

pytestmark = [pytest.mark.catalog, pytest.mark.integration]

BIN = Path(sys.executable).parent
PERP_ID = "BTC_USDT-PERP.GATE"
WAIT_S = 60.0  # a hang guard only

Levels = list[tuple[Decimal, Decimal]]


class Recording:
    """A `catalog record` child process whose output (its report and the node's log, both
    streams) is read as it comes."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [str(BIN / "catalog"), "record", "--rotate", "2s", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def count(self, text: str) -> int:
        return sum(text in line for line in list(self.lines))

    def wait_for(self, text: str, times: int = 1) -> None:
        deadline = time.monotonic() + WAIT_S
        while self.count(text) < times:
            assert self.proc.poll() is None, "".join(self.lines)[-4000:]
            assert time.monotonic() < deadline, f"no {text!r} in:\n" + "".join(self.lines)[-4000:]
            time.sleep(0.05)

    def stop(self, sig: signal.Signals) -> tuple[int, str]:
        self.proc.send_signal(sig)
        self.proc.wait(timeout=WAIT_S)
        self._reader.join(WAIT_S)
        return self.proc.returncode, "".join(self.lines)


def cli(*args: str):
    return CliRunner().invoke(catalog_cli, list(args), catch_exceptions=False)


def book_levels(catalog: Path, instrument_id: str) -> tuple[Levels, Levels]:
    deltas = ParquetDataCatalog(str(catalog)).order_book_deltas(instrument_ids=[instrument_id])
    book = OrderBook(deltas[0].instrument_id, BookType.L2_MBP)
    for delta in deltas:
        book.apply_delta(delta)
    return (
        sorted((level.price.as_decimal(), Decimal(str(level.size()))) for level in book.bids()),
        sorted((level.price.as_decimal(), Decimal(str(level.size()))) for level in book.asks()),
    )


def venue_levels(bids: list, asks: list, pick: Callable[[object], tuple[str, str]]) -> tuple:
    def side(levels: list) -> Levels:
        return sorted((Decimal(p), Decimal(s)) for p, s in map(pick, levels))

    return side(bids), side(asks)


def never_crossed(catalog: Path, instrument_id: str) -> bool:
    series = find_instrument(catalog, instrument_id).get("order_book_deltas")
    tops = replay(load_deltas(series))
    return len(tops.ts) > 0 and bool((tops.bid < tops.ask).all())


def feed_events(catalog: Path, instrument_id: str) -> list[FeedEvent]:
    found = ParquetDataCatalog(str(catalog)).query(FeedEvent, identifiers=[instrument_id])
    return [custom.data for custom in found]


def rows_of(catalog: Path, instrument_id: str) -> dict[str, list]:
    """Every row of the instrument's recorded types, as comparable tuples."""
    store = ParquetDataCatalog(str(catalog))
    deltas = store.order_book_deltas(instrument_ids=[instrument_id])
    rows = {
        "deltas": [
            (
                d.action,
                d.order.side,
                d.order.price,
                d.order.size,
                d.flags,
                d.sequence,
                d.ts_event,
                d.ts_init,
            )
            for d in deltas
        ],
        "feed": [FeedEvent.to_dict(e) for e in feed_events(catalog, instrument_id)],
    }
    for cls in (QuoteTick, TradeTick, FundingRateUpdate):
        rows[cls.__name__] = [cls.to_dict(x) for x in store.query(cls, identifiers=[instrument_id])]
    return rows


# -- Gate: a gap and a dropped socket, Ctrl-C, then validate, replay, re-ingest, backtest -------


@pytest.fixture(scope="module")
def gate_recording(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("record-gate")
    # 50 moves a second: several changes per 100 ms book message, like the real feed.
    with SimulatorProcess.start(tmp, "--updates-per-s", "50") as sim:
        recording = Recording(
            "--venue", "gate", "--instrument", PERP_ID, "--catalog", str(tmp / "catalog"),
            "--output", str(tmp / "run"), "--rest-url", sim.rest_url, "--ws-url", sim.ws_url,
            "--spot-ws-url", sim.spot_ws_url,
        )  # fmt: skip
        recording.wait_for("Recording ")
        recording.wait_for("Committed a chunk")
        sim.control.post("gap", n=1)
        recording.wait_for("resync recorded")
        sim.control.post("funding", rate="0.0005")
        sim.control.post("drop_ws")
        recording.wait_for("reconnect recorded")
        recording.wait_for("resync recorded", times=2)
        recording.wait_for("Committed a chunk", times=recording.count("Committed a chunk") + 1)
        sim.control.post("market/pause")
        time.sleep(1.0)  # the last crowd step's messages are on their way
        venue = sim.control.get("book", contract="BTC_USDT", limit=100)
        code, output = recording.stop(signal.SIGINT)
    return {"tmp": tmp, "code": code, "output": output, "venue": venue}


def test_ctrl_c_commits_a_catalog_that_validates_and_lists_the_resyncs(
    gate_recording: dict,
) -> None:
    output = gate_recording["output"]
    assert gate_recording["code"] == 0, output[-4000:]
    assert f"{PERP_ID} order_book_deltas:" in output and f"{PERP_ID} funding_rate_update:" in output
    assert "feed events: 2 resync, 1 reconnect" in output
    catalog = gate_recording["tmp"] / "catalog"

    result = cli("validate", "--catalog", str(catalog), "--quiet")
    assert result.exit_code == 0, result.output
    assert (
        f"note: {PERP_ID}: 1 recording session(s); 2 book resync(s) rebuilt from a snapshot "
        "(gap in the venue's update ids (or a stale snapshot) x1, reconnected x1)"
    ) in result.output
    assert "; 1 reconnect(s), first at" in result.output


def test_resyncs_are_clear_and_snapshot_batches_at_the_recorded_events(
    gate_recording: dict,
) -> None:
    catalog = gate_recording["tmp"] / "catalog"
    events = feed_events(catalog, PERP_ID)
    assert [e.kind for e in events] == ["start", "resync", "reconnect", "resync", "stop"]
    deltas = ParquetDataCatalog(str(catalog)).order_book_deltas(instrument_ids=[PERP_ID])
    clears = [d for d in deltas if d.action == BookAction.CLEAR]
    assert all(d.flags & RecordFlag.F_SNAPSHOT for d in clears)
    assert len(clears) == 3  # the first book, then one per resync
    for resync, clear in zip((e for e in events if e.kind == "resync"), clears[1:], strict=True):
        assert resync.ts_init <= clear.ts_init  # the event marks the rebuild that follows it
        assert 0 < resync.since_ns < resync.ts_init  # the last update before it


def test_the_recorded_book_replays_uncrossed_and_ends_as_the_venue_book(
    gate_recording: dict,
) -> None:
    catalog = gate_recording["tmp"] / "catalog"
    assert never_crossed(catalog, PERP_ID)
    venue = gate_recording["venue"]
    expected = venue_levels(venue["bids"], venue["asks"], lambda level: (level[0], level[1]))
    assert book_levels(catalog, PERP_ID) == expected
    funding = ParquetDataCatalog(str(catalog)).query(FundingRateUpdate, identifiers=[PERP_ID])
    assert Decimal(str(funding[-1].rate)) == Decimal("0.0005")


def test_the_raw_journal_ingests_into_the_same_catalog(gate_recording: dict) -> None:
    tmp = gate_recording["tmp"]
    journals = sorted((tmp / "run" / "raw").glob("*.jsonl"))
    assert len(journals) >= 3  # chunks of 2 s
    again = tmp / "from-journal"
    result = cli("ingest", *map(str, journals), "--catalog", str(again))
    assert result.exit_code == 0, result.output
    assert rows_of(again, PERP_ID) == rows_of(tmp / "catalog", PERP_ID)


def test_the_recording_backtests(gate_recording: dict) -> None:
    tmp = gate_recording["tmp"]
    catalog = tmp / "catalog"
    deltas = ParquetDataCatalog(str(catalog)).order_book_deltas(instrument_ids=[PERP_ID])
    start, end = (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t / 1e9))
                  for t in (deltas[0].ts_init, deltas[-1].ts_init + 1e9))  # fmt: skip
    config = yaml.safe_load((ROOT / "configs" / "mm.yaml").read_text())
    config["backtest"].update(catalog=str(catalog), start=start, end=end)
    path = tmp / "mm.yaml"
    path.write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [str(BIN / "backtest"), "run", str(path), "--output", str(tmp / "bt"), "--quiet"],
        capture_output=True,
        text=True,
        cwd=tmp,
        timeout=300,  # a hang guard only
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((tmp / "bt" / "summary.json").read_text())
    assert summary["events"] >= len(deltas)


# -- Polymarket: a dropped socket, then SIGKILL; the journal completes the catalog ---------------


def test_polymarket_kill_leaves_committed_chunks_and_the_journal_completes_them(
    tmp_path: Path,
) -> None:
    with PolymarketSimulatorProcess.start(tmp_path, "--updates-per-s", "5") as sim:
        market = sim.markets[0]
        ids = [f"{market['condition_id']}-{token}.POLYMARKET" for token in market["token_ids"]]
        catalog = tmp_path / "catalog"
        recording = Recording(
            "--venue", "polymarket", "--instrument", ids[0], "--instrument", ids[1],
            "--catalog", str(catalog), "--output", str(tmp_path / "run"),
            "--clob-url", sim.clob_url, "--gamma-url", sim.gamma_url, "--clob-ws-url", sim.ws_url,
        )  # fmt: skip
        recording.wait_for("Recording ")
        sim.control.post("market/pause")
        best_ask = sim.control.get("book", token_id=market["token_ids"][0])["asks"][-1]["price"]
        sim.control.post("market/trade", side="buy", price=best_ask, size="13.5",
                         market=market["condition_id"])  # fmt: skip
        sim.control.post("market/resume")
        recording.wait_for("Committed a chunk")
        sim.control.post("drop_ws")
        recording.wait_for("reconnect recorded")
        recording.wait_for("resync recorded", times=2)  # both tokens' books rebuilt
        recording.wait_for("Committed a chunk", times=recording.count("Committed a chunk") + 1)
        sim.control.post("market/pause")
        time.sleep(1.0)
        books = [sim.control.get("book", token_id=token) for token in market["token_ids"]]
        code, _ = recording.stop(signal.SIGKILL)
    assert code == -signal.SIGKILL

    # What was committed before the kill is a valid catalog on its own.
    committed = cli("validate", "--catalog", str(catalog), "--quiet")
    assert committed.exit_code == 0, committed.output
    journals = sorted((tmp_path / "run" / "raw").glob("*.jsonl"))
    result = cli("ingest", *map(str, journals), "--catalog", str(catalog))
    assert result.exit_code == 0, result.output
    assert "already in the catalog, skipped" in result.output  # the committed chunks

    after = cli("validate", "--catalog", str(catalog), "--quiet")
    assert after.exit_code == 0, after.output
    assert after.output.count("1 book resync(s) rebuilt from a snapshot (reconnected x1)") == 2
    for instrument_id, book in zip(ids, books, strict=True):
        assert never_crossed(catalog, instrument_id)
        pick = lambda level: (level["price"], level["size"])  # noqa: E731
        assert book_levels(catalog, instrument_id) == venue_levels(book["bids"], book["asks"], pick)
        events = feed_events(catalog, instrument_id)
        assert [e.kind for e in events] == ["start", "reconnect", "resync"]  # no stop: killed
    trades = ParquetDataCatalog(str(catalog)).trade_ticks(instrument_ids=ids)
    ours = sorted(t.instrument_id.value for t in trades if str(t.size) == "13.500000")
    assert ours == sorted(ids)  # the YES buy is a NO sell: one trade per token


def test_a_wrong_instrument_is_a_usage_error_before_anything_runs(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    with SimulatorProcess.start(tmp_path) as sim:
        unknown = cli("record", "--venue", "gate", "--instrument", "NOPE_USDT-PERP.GATE",
                      "--catalog", str(catalog), "--output", str(tmp_path / "run"),
                      "--rest-url", sim.rest_url, "--ws-url", sim.ws_url)  # fmt: skip
    assert unknown.exit_code == 2
    assert "Gate does not list NOPE_USDT-PERP.GATE" in unknown.output
    assert "check --instrument" in unknown.output
    other_venue = cli("record", "--venue", "polymarket", "--instrument", PERP_ID)
    assert other_venue.exit_code == 2
    assert "is not a polymarket instrument" in other_venue.output
    assert not catalog.exists() and not (tmp_path / "run" / "raw").exists()
