"""
Tick-to-order latency of the live Gate path, and the data path's parse + book throughput.

    uv run python benchmarks/gate_tick_to_order.py [--moves 1150] [--pace-ms 30] [--frames 20000]

Tick to order: the local Gate simulator (own process, background market off) and a nautilus
`TradingNode` with our Gate clients and the quoting strategy (own process, one quote a side,
requoting on every half-tick move of the mid, no minimum interval) talk over 127.0.0.1. The node is
set up as `live run` sets it up: the supervisor (risk gate, kill switch, control socket, metrics) in
front of the engines and every INFO line written as JSON (`--bare` leaves both out). This process
moves the crowd's touch by 1-2 ticks every `--pace-ms` through the control API; each move is one
`futures.order_book_update` frame, and the strategy answers with one amend per side. The simulator
stamps every book frame just before the socket write and every REST request when its bytes are
read off the socket, as Gate's gateway stamps `X-In-Time` (both `time.time_ns()` in the simulator),
so the latency of a requote is the arrival of the first order request after a move's frame minus
that frame's send time. The first `--warmup` are dropped. The `handled` row measures to the
simulator's request handler instead, which adds the simulator's own HTTP parsing and task wake-up.

The node process stamps, with the same wall clock, a frame's arrival in the data client's handler,
the engines' hand-overs, the exec client's `modify_order` and its direct order path, so the latency
splits into: WS in (simulator write -> our handler), node (parse, book, engines, strategy, exec
client) and HTTP out (signing, the keep-alive write, loopback, the simulator's socket read). The
node hands data and commands through nautilus' engines directly, as `live run` does
(`live/dispatch.py`); `--queued-dispatch` measures nautilus' own engine queues instead.

Throughput: `--frames` realistic `futures.order_book_update` frames (raw bytes, 5-20 levels each,
consistent U/u after a snapshot) through `decode_frame` + `GateBookSync.on_update` +
`parse_book_update` + `OrderBook(L2_MBP).apply_deltas`, in-process.

Floor: before the node starts, a zero-work reactor takes its place for `--floor-moves` moves (on
each book frame it writes one ready-made request: no parsing, signing or decision), so the run also
shows what this machine's loopback and process wake-ups cost on their own.

The last line is one JSON object: p50_us, p99_us, requotes, messages_per_s, floor_p50_us.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KEY = "test-key"
CONTRACT = "BTC_USDT"
ORDERS_PATH = "/api/v4/futures/usdt/orders"
ORDER_METHODS = ("POST", "PUT", "DELETE")


# -- throughput: parse + book update ---------------------------------------------------------------


def _instrument():
    from adapters.gate.parsing import parse_futures_contract
    from tests.venues.gate.contracts import DEFAULT_CONTRACTS
    from tests.venues.gate.contracts import contract_json

    spec = DEFAULT_CONTRACTS[CONTRACT]
    contract = contract_json(
        spec,
        last_price=spec.initial_ask,
        mark_price=spec.initial_ask,
        orderbook_id=1,
        trade_id=1,
        size_decimal=True,
        now=time.time(),
    )
    return parse_futures_contract(contract, 0)


def build_frames(n: int, seed: int = 7) -> tuple[dict, list[bytes], dict]:
    """A REST snapshot and `n` raw WS book frames that follow it, plus the final levels."""
    rng = random.Random(seed)
    best_bid = 266_999  # in ticks of 0.1
    depth = 30
    levels: dict[tuple[str, int], int] = {}
    for i in range(20):
        levels[("b", best_bid - i)] = rng.randint(1, 2000)
        levels[("a", best_bid + 1 + i)] = rng.randint(1, 2000)

    def price(ticks: int) -> str:
        return f"{ticks // 10}.{ticks % 10}"

    book_id = 1_000_000
    now = time.time()
    snapshot = {
        "id": book_id,
        "current": now,
        "update": now,
        "bids": [
            {"p": price(t), "s": str(s)} for (sd, t), s in sorted(levels.items()) if sd == "b"
        ],
        "asks": [
            {"p": price(t), "s": str(s)} for (sd, t), s in sorted(levels.items()) if sd == "a"
        ],
    }
    frames: list[bytes] = []
    u = book_id
    for i in range(n):
        changes: dict[tuple[str, int], int] = {}
        wanted = rng.randint(5, 20)
        while len(changes) < wanted:
            side = "b" if rng.random() < 0.5 else "a"
            # Activity concentrates near the touch, as on the real book.
            offset = min(int(rng.expovariate(0.25)), depth - 1)
            ticks = best_bid - offset if side == "b" else best_bid + 1 + offset
            key = (side, ticks)
            size = 0 if key in levels and rng.random() < 0.25 else rng.randint(1, 2000)
            changes[key] = size
        for key, size in changes.items():
            if size:
                levels[key] = size
            else:
                levels.pop(key, None)
        first = u + 1
        u = first + rng.randint(0, 3)
        t_ms = int(now * 1000) + i * 20
        result = {
            "t": t_ms,
            "s": CONTRACT,
            "U": first,
            "u": u,
            "b": [{"p": price(t), "s": str(s)} for (sd, t), s in changes.items() if sd == "b"],
            "a": [{"p": price(t), "s": str(s)} for (sd, t), s in changes.items() if sd == "a"],
            "l": "100",
        }
        envelope = {
            "time": t_ms // 1000,
            "time_ms": t_ms,
            "channel": "futures.order_book_update",
            "event": "update",
            "result": result,
        }
        frames.append(json.dumps(envelope, separators=(",", ":")).encode())
    return snapshot, frames, levels


def messages_per_s(n_frames: int, repeats: int = 3) -> tuple[float, list[float], float]:
    """Frames/s of decode_frame + GateBookSync + parse_book_update + OrderBook.apply_deltas."""
    from nautilus_trader.common.component import LiveClock
    from nautilus_trader.model.book import OrderBook
    from nautilus_trader.model.enums import BookType

    from adapters.gate.book import ApplySnapshot
    from adapters.gate.book import ApplyUpdate
    from adapters.gate.book import GateBookSync
    from adapters.gate.parsing import decode_frame
    from adapters.gate.parsing import parse_book_snapshot
    from adapters.gate.parsing import parse_book_update

    instrument = _instrument()
    snapshot, frames, final = build_frames(n_frames)
    mean_levels = statistics.fmean(f.count(b'"p"') for f in frames)
    clock = LiveClock()
    rates = []
    for _ in range(repeats):
        sync = GateBookSync()
        book = OrderBook(instrument.id, BookType.L2_MBP)
        for action in sync.on_snapshot(snapshot):
            assert isinstance(action, ApplySnapshot)
            book.apply_deltas(parse_book_snapshot(instrument, action.snapshot, 0))
        loads = decode_frame
        started = time.perf_counter()
        for raw in frames:
            message = loads(raw)
            if message.get("event") != "update":
                continue
            result = message["result"]
            for action in sync.on_update(result):
                if isinstance(action, ApplyUpdate):
                    deltas = parse_book_update(instrument, action.update, clock.timestamp_ns())
                    if deltas is not None:
                        book.apply_deltas(deltas)
        rates.append(len(frames) / (time.perf_counter() - started))
        best_bid = max(t for s, t in final if s == "b") / 10
        best_ask = min(t for s, t in final if s == "a") / 10
        assert book.best_bid_price().as_double() == best_bid, "book diverged from the model"
        assert book.best_ask_price().as_double() == best_ask, "book diverged from the model"
        assert len(book.bids()) == sum(1 for s, _ in final if s == "b")
    return statistics.median(rates), rates, mean_levels


# -- the node process ------------------------------------------------------------------------------


# Stages of the node's path, in order: (stamp name, what happened just before it).
STAGES = (
    ("recv", "simulator write -> WS handler entry (socket, Rust client, loop wake-up)"),
    ("parsed", "decode_frame + GateBookSync + parse_book_update (to the DataEngine endpoint)"),
    ("strategy", "(queue hop,) DataEngine, cache book, to on_order_book_deltas"),
    ("execute", "strategy: fair value, ladder, diff against the resting orders"),
    ("risk", "Strategy.modify_order: command, OrderPendingUpdate event, cache (to the risk gate)"),
    ("exec", "our risk gate, (queue hop,) nautilus' pre-trade checks (to the ExecEngine endpoint)"),
    ("modify", "(queue hop,) ExecEngine, to the exec client's modify_order"),
    ("send", "exec client: cache look-up, request body, rate bucket (to the direct order path)"),
    ("arrival", "signing, keep-alive socket write, loopback, simulator's socket read"),
)


def _stamp_endpoints(node, stamps: dict[str, list], risk_handler) -> None:
    """Stamp the data, risk and execution endpoints (queued or direct, gated), once built."""
    kernel = node.kernel
    for name, endpoint, handler in (
        ("parsed", "DataEngine.process", kernel.data_engine.process),
        ("risk", "RiskEngine.execute", risk_handler),
        ("exec", "ExecEngine.execute", kernel.exec_engine.execute),
    ):
        kernel.msgbus.deregister(endpoint, handler)
        kernel.msgbus.register(endpoint, _stamped_call(stamps[name], handler))


def _stamped_call(stamps: list, handler):
    now = time.time_ns

    def stamped(message) -> None:
        stamps.append(now())
        handler(message)

    return stamped


def _instrument_node(stamps: dict[str, list]) -> None:
    """Wall-clock stamps along the node's tick-to-order path (thin wrappers, a few µs in all)."""

    from adapters.gate.book import GateBookSync
    from adapters.gate.data import GateDataClient
    from adapters.gate.execution import GateExecutionClient
    from adapters.gate.http import GateHttpClient
    from strategies.quoting import QuotingStrategy

    now = time.time_ns
    entry = [0]
    recv = stamps["recv"]
    on_message = GateDataClient._on_message
    on_update = GateBookSync.on_update
    on_deltas = QuotingStrategy.on_order_book_deltas
    execute = QuotingStrategy._execute
    modify = GateExecutionClient.modify_order
    write_direct = GateHttpClient._write_direct

    def stamped_on_message(self, raw: bytes) -> None:
        entry[0] = now()
        on_message(self, raw)

    def stamped_on_update(self, update):
        recv.append((entry[0], int(update["u"])))
        return on_update(self, update)

    def stamped_on_deltas(self, deltas) -> None:
        stamps["strategy"].append(now())
        on_deltas(self, deltas)

    def stamped_execute(self, *args) -> None:
        stamps["execute"].append(now())
        execute(self, *args)

    def stamped_modify(self, command) -> None:
        stamps["modify"].append(now())
        modify(self, command)

    def stamped_write_direct(self, method: str, path: str, *args):
        if method in ORDER_METHODS:
            stamps["send"].append(now())
        return write_direct(self, method, path, *args)

    GateDataClient._on_message = stamped_on_message
    GateBookSync.on_update = stamped_on_update
    QuotingStrategy.on_order_book_deltas = stamped_on_deltas
    QuotingStrategy._execute = stamped_execute
    GateExecutionClient.modify_order = stamped_modify
    GateHttpClient._write_direct = stamped_write_direct


async def _node(args: argparse.Namespace) -> None:
    import msgspec
    from nautilus_trader.common.config import LoggingConfig

    from backtests.config import load_config
    from live.logs import logging_config
    from live.node import build_node
    from live.node import gate_node_config
    from live.supervisor import install_supervisor
    from tests.venues.gate.process import SimControl

    workdir = Path(args.workdir)
    stamps: dict[str, list] = {name: [] for name, _ in STAGES[:-1]}
    _instrument_node(stamps)
    control = SimControl(args.base)
    # One quote a side, requoted on every move of the mid by half a tick or more. The half-spread
    # (5 ticks) is wider than any move (2 ticks), so the post-only quotes are never crossed.
    run_config = load_config(ROOT / "configs" / "mm.yaml")
    strategy = msgspec.structs.replace(
        run_config.strategy,
        levels=1,
        fair_value="mid",
        min_half_spread_ticks=5,
        vol_multiplier=0.0,
        requote_tolerance_ticks=0.5,
        min_requote_interval_ms=0,
        stale_book_ms=60_000,
    )
    overrides = dict(_override(item) for item in args.set or ())
    strategy = msgspec.structs.replace(strategy, **overrides)
    # The risk gate's rates must be the engine's (gate_node_config throttles at 90/s): two amends
    # every 30 ms stay under it.
    risk = msgspec.structs.replace(
        run_config.live.risk,
        max_order_submit_rate="90/00:00:01",
        max_order_modify_rate="90/00:00:01",
    )
    live = msgspec.structs.replace(run_config.live, risk=risk, metrics_port=0)
    run_config = msgspec.structs.replace(run_config, strategy=strategy, live=live)
    # As `live run` has it: every INFO line as JSON in the run directory, and the supervisor (risk
    # gate, kill switch, control socket, metrics) in front of the engines.
    config = gate_node_config(
        strategy,
        rest_url=args.rest,
        ws_url=args.ws,
        dead_man_timeout_s=60,
        logging=(
            LoggingConfig(log_level="WARNING") if args.bare else logging_config(workdir, "WARNING")
        ),
    )
    node = build_node(
        config, loop=asyncio.get_running_loop(), direct_dispatch=not args.queued_dispatch
    )
    if args.bare:
        risk_endpoint = node.kernel.risk_engine.execute
    else:
        risk_endpoint = install_supervisor(node, run_config, workdir / "state").gate.execute
    _stamp_endpoints(node, stamps, risk_endpoint)
    node.run()
    profiler = None
    try:
        deadline = time.monotonic() + 60
        while len(control.get("orders", key=KEY, status="open")) < 2:
            if time.monotonic() > deadline:
                raise TimeoutError("the node never quoted both sides")
            await asyncio.sleep(0.1)
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        (workdir / "ready").write_text("1")
        stop = workdir / "stop"
        while not stop.exists():
            await asyncio.sleep(0.05)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(workdir / "node.prof"))
        # Written aside, then renamed: the driver reads the file as soon as it exists.
        (workdir / "stamps.part").write_text(json.dumps(stamps))
        (workdir / "stamps.part").rename(workdir / "stamps.json")
    finally:
        await node.stop_async()
    await asyncio.sleep(0.3)
    node.dispose()


def _override(item: str) -> tuple[str, object]:
    key, _, text = item.partition("=")
    try:
        return key, json.loads(text)
    except ValueError:
        return key, text


# -- the zero-work reactor: this machine's floor for the whole round trip -------------------------


async def _reactor(args: argparse.Namespace) -> None:
    """
    The least a client can do in the node's place: on every BTC_USDT book frame, write one
    ready-made order request on a kept-alive connection. Neither parsing, nor signing, nor a
    decision: what is left is the two loopback hops and the wake-ups of the processes.
    """
    from urllib.parse import urlsplit

    import aiohttp

    workdir = Path(args.workdir)
    url = urlsplit(args.base)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    body = b'{"price":"26690.1"}'
    request = (
        f"PUT {ORDERS_PATH}/1 HTTP/1.1\r\nHost: {url.netloc}\r\nKEY: {KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    marker = b'"channel":"futures.order_book_update","event":"update"'
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(args.ws, headers={"X-Gate-Size-Decimal": "1"}) as ws,
    ):
        await ws.send_json(
            {
                "time": int(time.time()),
                "channel": "futures.order_book_update",
                "event": "subscribe",
                "payload": [CONTRACT, "20ms", "20"],
            }
        )
        (workdir / "reactor-ready").write_text("1")
        stop = workdir / "reactor-stop"

        async def react() -> None:
            async for message in ws:
                data = message.data
                if isinstance(data, str):
                    data = data.encode()
                if marker in data:
                    writer.write(request)

        async def discard_answers() -> None:
            while await reader.read(65536):
                pass

        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(react()), loop.create_task(discard_answers())]
        while not stop.exists():
            await asyncio.sleep(0.05)
        for task in tasks:
            task.cancel()
    writer.close()


def reactor_main(args: argparse.Namespace) -> None:
    import uvloop

    uvloop.run(_reactor(args))


def reactor_floor(sim, workdir: Path, args: argparse.Namespace, moves: int) -> list[float]:
    """Tick to order with the zero-work reactor in the node's place, paced as the node is."""
    log = workdir / "reactor.log"
    command = [
        sys.executable, str(Path(__file__).resolve()), "--reactor", "--workdir", str(workdir),
        "--base", sim.base_url, "--ws", sim.ws_url,
    ]  # fmt: skip
    with log.open("wb") as sink:
        reactor = subprocess.Popen(command, cwd=ROOT, stdout=sink, stderr=sink)
    try:
        _wait_for(workdir / "reactor-ready", reactor, 60, log)
        time.sleep(0.3)
        since = time.time_ns()
        marks = drive_moves(sim.control, moves, args.pace_ms / 1000, seed=5)
        time.sleep(0.3)
        frames = sim.control.get("ws_sent", since_ns=since)
        requests = sim.control.get("requests", since_ns=since)
        (workdir / "reactor-stop").write_text("1")
        reactor.wait(30)
    finally:
        if reactor.poll() is None:
            reactor.kill()
            reactor.wait()
    pairs, _ = match(marks, frames, requests)
    return [(r["t_ns"] - f["t_ns"]) / 1e3 for f, r in pairs[args.warmup :]]


def node_main(args: argparse.Namespace) -> None:
    # nautilus' kernel installs uvloop's policy when imported (outside pytest), so a live node
    # runs on uvloop; `--loop asyncio` measures the standard loop instead.
    if args.loop == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.SelectorEventLoop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(_node(args))


# -- tick to order ---------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _wait_for(path: Path, proc: subprocess.Popen, timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"node exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"node not ready after {timeout_s} s:\n{log.read_text()[-4000:]}")
        time.sleep(0.05)


def drive_moves(control, n: int, pace_s: float, seed: int = 11) -> list[int]:
    """Move the crowd's touch by 1-2 ticks `n` times, `pace_s` apart; returns the send times."""
    from tests.venues.gate.contracts import DEFAULT_CONTRACTS

    spec = DEFAULT_CONTRACTS[CONTRACT]
    bid0 = int(spec.initial_bid * 10)
    spread = int((spec.initial_ask - spec.initial_bid) * 10)
    rng = random.Random(seed)
    offset = 0
    marks: list[int] = []
    next_at = time.monotonic()
    for _ in range(n):
        step = rng.choice((1, 2))
        # A bounded walk around the start: the quotes never drift far from the crowd's ladder.
        if offset >= 4 or (offset > -4 and rng.random() < 0.5):
            step = -step
        offset += step
        bid = bid0 + offset
        marks.append(time.time_ns())
        control.post("market/move", bid=f"{bid / 10:.1f}", ask=f"{(bid + spread) / 10:.1f}")
        next_at += pace_s
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    return marks


def match(marks: list[int], frames: list[dict], requests: list[dict]) -> tuple[list, dict]:
    """
    Per move: its book frame (the first BTC_USDT frame sent after the move was posted) and the
    first order request that arrived after that frame and before the next move. Returns
    (frame, request) pairs and counts of moves without a frame or without a requote.
    """
    frames = sorted((f for f in frames if f["contract"] == CONTRACT), key=lambda f: f["t_ns"])
    orders = sorted(
        (r for r in requests if r["method"] in ORDER_METHODS and r["path"].startswith(ORDERS_PATH)),
        key=lambda r: r["t_ns"],
    )
    pairs = []
    misses = {"no_frame": 0, "no_request": 0, "frame_between": 0}
    fi = oi = 0
    for i, mark in enumerate(marks):
        end = marks[i + 1] if i + 1 < len(marks) else float("inf")
        while fi < len(frames) and frames[fi]["t_ns"] < mark:
            fi += 1
        if fi == len(frames) or frames[fi]["t_ns"] >= end:
            misses["no_frame"] += 1
            continue
        frame = frames[fi]
        while oi < len(orders) and orders[oi]["t_ns"] <= frame["t_ns"]:
            oi += 1
        if oi == len(orders) or orders[oi]["t_ns"] >= end:
            misses["no_request"] += 1
            continue
        request = orders[oi]
        # The frame must be the latest one sent before the request (one requote per frame).
        if fi + 1 < len(frames) and frames[fi + 1]["t_ns"] < request["t_ns"]:
            misses["frame_between"] += 1
            continue
        pairs.append((frame, request))
    return pairs, misses


def breakdown(pairs: list, stamps: dict[str, list]) -> dict[str, list[float]]:
    """Split each (frame, request) latency at the node's stamps (µs per stage, see STAGES)."""
    recv = {u: t for t, u in stamps["recv"]}
    points = {name: sorted(stamps[name]) for name, _ in STAGES[1:-1]}
    out: dict[str, list[float]] = {name: [] for name, _ in STAGES}
    for frame, request in pairs:
        t = recv.get(frame["u"])
        if t is None:
            continue
        times = [frame["t_ns"], t]
        for name, _ in STAGES[1:-1]:
            # The first stamp of this stage after the previous stage: the requote's own.
            i = bisect.bisect_left(points[name], times[-1])
            if i == len(points[name]) or points[name][i] > request["t_ns"]:
                break
            times.append(points[name][i])
        else:
            times.append(request["t_ns"])
            for (name, _), before, after in zip(STAGES, times[:-1], times[1:], strict=True):
                out[name].append((after - before) / 1e3)
    return out


def calibrate_http(sim, pace_s: float, n: int = 300) -> dict[str, list[float]]:
    """
    Floors for the `arrival` stage, from this process: client stamp -> simulator arrival of a
    PUT on a kept-alive connection, with http.client (about the least a client can do) and with
    an aiohttp session, on the loop the node uses. Stamped before the client call, so they
    include that client's own work, as `arrival` includes signing and the socket write. The
    http.client series is also sent `pace_s` apart: the simulator then idles between requests as
    it does between moves, and its wake-up is part of every `arrival`.
    """
    import http.client
    from urllib.parse import urlsplit

    import aiohttp

    url = urlsplit(sim.base_url)
    path = f"{ORDERS_PATH}/1"
    body = json.dumps({"size": 200, "price": "26690.1"})
    headers = {"Content-Type": "application/json", "KEY": KEY}
    out: dict[str, list[float]] = {}

    def collect(name: str, since: int, sent: list[int]) -> None:
        arrived = [r["t_ns"] for r in sim.control.get("requests", since_ns=since)]
        if len(arrived) == len(sent):
            out[name] = [(a - t) / 1e3 for a, t in zip(arrived, sent, strict=True)][10:]

    for name, gap_s, count in (("http.client", 0.0, n), ("http.client paced", pace_s, n // 3)):
        since, sent = time.time_ns(), []
        conn = http.client.HTTPConnection(url.hostname, url.port)
        try:
            for _ in range(count):
                time.sleep(gap_s)
                sent.append(time.time_ns())
                conn.request("PUT", path, body, headers)
                conn.getresponse().read()
        finally:
            conn.close()
        collect(name, since, sent)

    async def with_aiohttp() -> list[int]:
        stamps = []
        async with aiohttp.ClientSession(sim.base_url) as session:
            for _ in range(n):
                stamps.append(time.time_ns())
                async with session.put(path, data=body, headers=headers) as response:
                    await response.read()
        return stamps

    import uvloop

    since = time.time_ns()
    collect("aiohttp", since, uvloop.run(with_aiohttp()))
    return out


def tick_to_order(args: argparse.Namespace) -> dict:
    from tests.venues.gate.process import SimulatorProcess

    workdir = Path(tempfile.mkdtemp(prefix="tick-to-order-"))
    env = dict(os.environ, GATE_API_KEY=KEY, GATE_API_SECRET="test-secret")
    sim = SimulatorProcess.start(workdir, "--updates-per-s", "0")
    node = None
    log = workdir / "node.log"
    try:
        floor = reactor_floor(sim, workdir, args, args.floor_moves)
        command = [
            sys.executable, str(Path(__file__).resolve()), "--node",
            "--workdir", str(workdir), "--base", sim.base_url, "--rest", sim.rest_url,
            "--ws", sim.ws_url, "--loop", args.loop,
        ]  # fmt: skip
        if args.profile:
            command.append("--profile")
        if args.queued_dispatch:
            command.append("--queued-dispatch")
        if args.bare:
            command.append("--bare")
        for item in args.set or ():
            command += ["--set", item]
        with log.open("wb") as sink:
            node = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=sink)
        started = time.monotonic()
        _wait_for(workdir / "ready", node, 90, log)
        print(
            f"node ({args.loop} loop) quoting after {time.monotonic() - started:.1f} s", flush=True
        )
        time.sleep(0.5)
        floors = calibrate_http(sim, args.pace_ms / 1000)
        since = time.time_ns()
        moves_started = time.monotonic()
        marks = drive_moves(sim.control, args.moves, args.pace_ms / 1000)
        moves_s = time.monotonic() - moves_started
        time.sleep(0.5)
        frames = sim.control.get("ws_sent", since_ns=since)
        requests = sim.control.get("requests", since_ns=since)
        (workdir / "stop").write_text("1")
        _wait_for(workdir / "stamps.json", node, 30, log)
        stamps = json.loads((workdir / "stamps.json").read_text())
        node.wait(30)
        open_after = len(sim.control.get("orders", key=KEY, status="open"))
        position = sim.control.get("position", key=KEY, contract=CONTRACT)["size"]
    finally:
        if node is not None and node.poll() is None:
            node.kill()
            node.wait()
        sim.stop()
        if not args.profile:
            shutil.rmtree(workdir, ignore_errors=True)

    pairs, misses = match(marks, frames, requests)
    kept = pairs[args.warmup :]
    latencies = [(r["t_ns"] - f["t_ns"]) / 1e3 for f, r in kept]
    handled = [(r["handled_ns"] - f["t_ns"]) / 1e3 for f, r in kept]
    methods: dict[str, int] = {}
    for _, r in kept:
        methods[r["method"]] = methods.get(r["method"], 0) + 1
    parts = breakdown(kept, stamps)
    return {
        "moves": len(marks),
        "moves_s": moves_s,
        "frames": len(frames),
        "order_requests": sum(
            1
            for r in requests
            if r["method"] in ORDER_METHODS and r["path"].startswith(ORDERS_PATH)
        ),
        "misses": misses,
        "methods": methods,
        "latencies": latencies,
        "handled": handled,
        "parts": parts,
        "open_after_stop": open_after,
        "venue_position": position,
        "workdir": str(workdir),
        "floors": floors,
        "floor": floor,
    }


def _row(name: str, values: list[float]) -> str:
    if not values:
        return f"  {name:<10} no samples"
    return (
        f"  {name:<10} p50 {_pct(values, 0.5):>8.0f}  p90 {_pct(values, 0.9):>8.0f}"
        f"  p99 {_pct(values, 0.99):>8.0f}  mean {statistics.fmean(values):>8.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--moves", type=int, default=1150)
    parser.add_argument("--pace-ms", type=float, default=30.0)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--profile", action="store_true", help="cProfile the node while moving")
    parser.add_argument(
        "--bare",
        action="store_true",
        help="without the supervisor (risk gate, metrics) and the JSON log, unlike live run",
    )
    parser.add_argument(
        "--queued-dispatch",
        action="store_true",
        help="order commands through nautilus' engine queues (live/dispatch.py explains)",
    )
    parser.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a strategy config field (JSON value), e.g. --set log_events=false",
    )
    parser.add_argument(
        "--floor-moves", type=int, default=350, help="moves for the zero-work reactor's floor"
    )
    parser.add_argument("--node", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--reactor", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--rest", help=argparse.SUPPRESS)
    parser.add_argument("--ws", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.node:
        node_main(args)
        return
    if args.reactor:
        reactor_main(args)
        return

    rate, rates, mean_levels = messages_per_s(args.frames)
    print(
        f"parse + book: {args.frames} frames ({mean_levels:.1f} levels each): "
        + ", ".join(f"{r:,.0f}" for r in rates)
        + " frames/s",
        flush=True,
    )

    result = tick_to_order(args)
    latencies = result["latencies"]
    print(
        f"{result['moves']} moves in {result['moves_s']:.1f} s, {result['frames']} book frames, "
        f"{result['order_requests']} order requests; measured requotes {len(latencies)} "
        f"(after {args.warmup} warm-up) {result['methods']}; misses {result['misses']}"
    )
    print(
        f"quotes open at the venue after stop: {result['open_after_stop']}, "
        f"venue position {result['venue_position']} (must be 0: nothing filled)"
    )
    print("tick to order, µs (simulator frame write -> order request read off the socket):")
    print(_row("total", latencies))
    print(
        _row("handled", result["handled"])
        + "   to the simulator's request handler instead (after its own HTTP parsing)"
    )
    floor = result["floor"]
    print(
        _row("floor", floor)
        + f"   zero-work reactor in the node's place ({len(floor)} moves): loopback and wake-ups"
    )
    parts = result["parts"]
    if parts["recv"]:
        print(f"split at the node's stamps (same wall clock, {len(parts['recv'])} requotes), µs:")
        for name, what in STAGES:
            print(_row(name, parts[name]) + f"   {what}")
        means = {name: statistics.fmean(values) for name, values in parts.items()}
        total = sum(means.values())
        client = total - means["recv"] - means["arrival"]
        print(
            f"client-side share of the mean (handler entry -> HTTP client): {client / total:.0%}; "
            f"sockets, Rust WS client and simulator (recv + arrival): {1 - client / total:.0%}"
        )
    for name, values in result["floors"].items():
        gap = f", {args.pace_ms:g} ms apart" if name.endswith("paced") else ", back to back"
        client = name.removesuffix(" paced")
        print(_row("arrival", values) + f"   floor: {client} PUT from the benchmark process{gap}")
    if args.profile:
        print(f"node profile: {result['workdir']}/node.prof")
    print(
        json.dumps(
            {
                "p50_us": round(_pct(latencies, 0.5), 1),
                "p99_us": round(_pct(latencies, 0.99), 1),
                "requotes": len(latencies),
                "messages_per_s": round(rate),
                "floor_p50_us": round(_pct(floor, 0.5), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
