"""
`catalog record`: live market data through our own data clients into the catalog.

A nautilus `TradingNode` runs the venue's data client and nothing else, plus `RecorderActor`,
subscribed to book deltas, quotes, trades and (Gate perpetuals) funding rates. Every event goes to
the raw journal first (`record_journal`, JSONL flushed per line); at each chunk boundary (hourly by
default) and on stop, the chunk's files are committed to the catalog by ingesting them
(`catalog.ingest.jsonl`), in a background thread, each chunk in one `CatalogTransaction`. So:

- Ctrl-C (SIGINT) or SIGTERM stops the node, which commits what it has; the catalog then holds
  everything recorded. A harder end (SIGKILL, power) leaves the catalog as of the last committed
  chunk, and the journal files of the chunk in progress (`catalog ingest` them).
- `catalog ingest` of the journal gives the same catalog rows the recorder committed.
- Book rebuilds (resyncs: CLEAR + F_SNAPSHOT batches in the deltas) and reconnects are recorded as
  `FeedEvent`s (`catalog.feed_events`), which `catalog validate` lists.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import pandas as pd
from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.instruments import Instrument

from catalog.ingest.errors import IngestError
from catalog.ingest.jsonl import ingest_recordings
from catalog.ingest.pipeline import IngestSummary
from catalog.ingest.writer import CatalogTransaction
from catalog.record_journal import Journal
from catalog.record_venues import RecordVenue
from catalog.recorder_actor import RecorderActor
from live.logs import logging_config

_TICK_S = 0.25  # how often reconnects and the chunk boundary are checked

Report = Callable[[str], None]


class RecordError(Exception):
    """The recording could not start, or ended with chunks not committed."""


@dataclass(frozen=True)
class RecordRequest:
    venue: RecordVenue
    catalog_path: Path
    run_dir: Path  # the node's log goes here
    raw_dir: Path  # the journal
    duration_s: float | None  # None: until SIGINT/SIGTERM
    rotate_s: float = 3600.0
    console_log_level: str = "WARNING"


@dataclass
class RecordSummary:
    catalog: Path
    raw_dir: Path
    run_dir: Path
    instruments: list[str] = field(default_factory=list)
    chunks: list[IngestSummary] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    events: Counter[str] = field(default_factory=Counter)  # journal lines by kind
    journal_files: list[Path] = field(default_factory=list)
    elapsed_s: float = 0.0

    def rows_by_type(self) -> dict[tuple[str, str], int]:
        totals: Counter[tuple[str, str]] = Counter()
        for chunk in self.chunks:
            totals.update(chunk.rows_by_type())
        return dict(totals)


def default_run_dir(venue: str, runs_root: Path = Path("runs")) -> Path:
    return runs_root / f"{pd.Timestamp.now(tz='UTC'):%Y%m%d-%H%M%S}-record-{venue}"


def record(request: RecordRequest, report: Report) -> RecordSummary:
    """Record until the duration is over or a stop signal comes; commit; say what was written."""
    started = time.perf_counter()
    # The catalog's problems (the embedded sample there, a stale lock...) surface before anything
    # connects: an empty transaction takes the lock, checks the target and commits nothing.
    with CatalogTransaction(request.catalog_path):
        pass
    instruments = request.venue.load_instruments()
    request.run_dir.mkdir(parents=True, exist_ok=True)
    summary = RecordSummary(
        request.catalog_path,
        request.raw_dir,
        request.run_dir,
        instruments=[i.id.value for i in instruments],
    )
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    node = TradingNode(config=_node_config(request), loop=loop)
    try:
        node.add_data_client_factory(request.venue.client_name, request.venue.factory)
        node.build()
        loop.run_until_complete(_run(node, request, instruments, summary, report))
    finally:
        node.dispose()
        loop.close()
    summary.elapsed_s = time.perf_counter() - started
    return summary


async def _run(
    node: TradingNode,
    request: RecordRequest,
    instruments: list[Instrument],
    summary: RecordSummary,
    report: Report,
) -> None:
    venue = request.venue
    loop = asyncio.get_running_loop()
    # nautilus 1.231 (pinned) keeps the built clients in a private dict; the probe only reads.
    client = node.kernel.data_engine._clients[ClientId(venue.client_name)]
    journal = Journal(request.raw_dir, int(request.rotate_s * 1e9))
    committer = ChunkCommitter(request.catalog_path, report)
    actor = RecorderActor(
        instruments,
        journal,
        venue.probe(client),
        committer.submit,
        funding_ids=venue.funding_ids,
    )
    node.trader.add_actor(actor)

    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await node.kernel.start_async()
        if not node.trader.is_running:
            raise RecordError(
                f"the {venue.client_name} data client did not start: see the node log in "
                f"{request.run_dir}"
            )
        report(
            f"Recording {', '.join(summary.instruments)} into {request.catalog_path} "
            f"(journal: {request.raw_dir}); Ctrl-C stops and commits."
        )
        await _wait(stop, request.duration_s, actor.tick)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await node.stop_async()
        committer.submit(journal.close())  # when the actor never ran (it closes it on stop)
        summary.chunks, summary.failures = committer.close()
        summary.events = actor.events
        summary.journal_files = journal.files


async def _wait(stop: asyncio.Event, duration_s: float | None, tick: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()
    deadline = None if duration_s is None else loop.time() + duration_s
    while not stop.is_set():
        timeout = _TICK_S if deadline is None else min(_TICK_S, deadline - loop.time())
        if timeout <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout)
        tick()


def _node_config(request: RecordRequest) -> TradingNodeConfig:
    return TradingNodeConfig(
        trader_id="RECORDER-001",
        logging=logging_config(request.run_dir, request.console_log_level),
        data_clients={request.venue.client_name: request.venue.config},
        timeout_connection=30.0,
        timeout_disconnection=5.0,
        timeout_post_stop=0.5,
    )


class ChunkCommitter:
    """Commits journal chunks to the catalog one after another, off the event loop."""

    def __init__(self, catalog_path: Path, report: Report) -> None:
        self._catalog = catalog_path
        self._report = report
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="record-commit")
        self._pending: list[tuple[list[Path], Future[IngestSummary]]] = []

    def submit(self, files: list[Path]) -> None:
        if files:
            self._pending.append((files, self._pool.submit(self._commit, files)))

    def _commit(self, files: list[Path]) -> IngestSummary:
        try:
            summary = ingest_recordings(self._catalog, files, progress=False)
        except IngestError as error:
            self._report(f"error: chunk not committed ({error})")
            raise
        rows = sum(sum(r.rows.values()) for r in summary.results)
        self._report(f"Committed a chunk of {len(files)} file(s), {rows:,} rows.")
        return summary

    def close(self) -> tuple[list[IngestSummary], list[str]]:
        """Wait for every commit: (summaries, failures naming the journal files not committed)."""
        self._pool.shutdown(wait=True)
        done, failures = [], []
        for files, future in self._pending:
            error = future.exception()
            if error is None:
                done.append(future.result())
            else:
                names = ", ".join(f.name for f in files)
                failures.append(f"{names}: {error}")
        return done, failures
