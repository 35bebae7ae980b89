"""
Order-path latency of four ways to send a signed Gate REST order, against the same local server.

    uv run python benchmarks/gate_rest_client.py [--requests 2000] [--pace-ms 0]

A stub venue in its own process answers `POST /api/v4/futures/usdt/orders` with a canned order, so
server cost is identical for every client and none of it lands in the client process. Each client
sends the same signed order sequentially (`--pace-ms` apart: idle gaps make every request start
cold, as a quoter's do); the round trip is timed on the client. Clients: ccxt's async `gate`
implicit endpoint (rate limiter off), a lean aiohttp session with our signer, nautilus' Rust
`HttpClient` with our signer, and our order path (`GateHttpClient.send_order`: signer +
`adapters.http1`). All run on uvloop, as a live node does. The last line is a JSON object of
p50/p99 in µs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import uvloop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ORDER = {"contract": "BTC_USDT", "size": 1, "price": "94000", "tif": "poc", "text": "t-bench"}
REPLY = {
    "id": 1, "user": 1, "contract": "BTC_USDT", "create_time": 1.0, "size": 1, "left": 1,
    "price": "94000", "fill_price": "0", "tif": "poc", "text": "t-bench", "status": "open",
    "is_reduce_only": False, "mkfr": "-0.000152", "tkfr": "0.00075",
}  # fmt: skip


def serve(port_file: Path) -> None:
    from aiohttp import web

    body = json.dumps(REPLY).encode()

    async def order(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=201, body=body, content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/api/v4/futures/usdt/orders", order)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_file.write_text(str(site._server.sockets[0].getsockname()[1]))
        await asyncio.Event().wait()

    asyncio.run(main())


async def bench_ccxt(base: str, n: int, pace_s: float) -> list[float]:
    import ccxt.async_support as ccxt

    exchange = ccxt.gate({"apiKey": "key", "secret": "secret", "enableRateLimit": False})
    for access in ("public", "private"):
        for key in exchange.urls["api"][access]:
            exchange.urls["api"][access][key] = f"{base}/api/v4"
    try:
        order = {"settle": "usdt", **ORDER}
        return await _timed(n, pace_s, lambda: exchange.privateFuturesPostSettleOrders(order))
    finally:
        await exchange.close()


async def bench_aiohttp(base: str, n: int, pace_s: float) -> list[float]:
    import aiohttp

    from adapters.gate.signing import rest_headers

    path = "/api/v4/futures/usdt/orders"
    async with aiohttp.ClientSession() as session:

        async def send() -> dict:
            body = json.dumps(ORDER, separators=(",", ":")).encode()
            headers = rest_headers("key", "secret", "POST", path, "", body, str(int(time.time())))
            async with session.post(base + path, data=body, headers=headers) as response:
                return await response.json()

        return await _timed(n, pace_s, send)


async def bench_nautilus(base: str, n: int, pace_s: float) -> list[float]:
    from nautilus_trader.core.nautilus_pyo3 import HttpClient
    from nautilus_trader.core.nautilus_pyo3 import HttpMethod

    from adapters.gate.signing import rest_headers

    path = "/api/v4/futures/usdt/orders"
    client = HttpClient()

    async def send() -> dict:
        body = json.dumps(ORDER, separators=(",", ":")).encode()
        headers = rest_headers("key", "secret", "POST", path, "", body, str(int(time.time())))
        response = await client.request(HttpMethod.POST, base + path, headers=headers, body=body)
        return json.loads(response.body)

    return await _timed(n, pace_s, send)


async def bench_order_path(base: str, n: int, pace_s: float) -> list[float]:
    from adapters.gate.http import GateHttpClient

    # The rate bucket is widened: this measures the transport, not Gate's limits.
    rates = {"order": (1e9, 1_000_000), "cancel": (1e9, 1), "private": (1e9, 1), "public": (1e9, 1)}
    client = GateHttpClient(f"{base}/api/v4", api_key="key", api_secret="secret", rates=rates)
    await client.connect_orders()
    path = "/futures/usdt/orders"
    try:
        return await _timed(n, pace_s, lambda: client.send_order("POST", path, body=ORDER))
    finally:
        await client.close()


async def _timed(n: int, pace_s: float, send) -> list[float]:
    for _ in range(50):  # warm up connections and code paths
        await send()
    samples = []
    for _ in range(n):
        if pace_s:
            await asyncio.sleep(pace_s)
        started = time.perf_counter_ns()
        reply = await send()
        samples.append((time.perf_counter_ns() - started) / 1000)
        assert reply["text"] == "t-bench"
    return samples


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(0.99 * (len(ordered) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--pace-ms", type=float, default=0.0, help="idle time between requests")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return

    port_file = Path(f"/tmp/gate-rest-bench-{time.time_ns()}.port")
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port_file)])
    try:
        while not port_file.exists() or not port_file.read_text():
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port_file.read_text()}"
        result = {}
        benches = (
            ("ccxt", bench_ccxt),
            ("aiohttp", bench_aiohttp),
            ("nautilus", bench_nautilus),
            ("http1", bench_order_path),
        )
        for name, bench in benches:
            p50, p99 = _stats(uvloop.run(bench(base, args.requests, args.pace_ms / 1000)))
            print(f"{name:9s} p50 {p50:8.0f} us   p99 {p99:8.0f} us")
            result[f"{name}_p50_us"] = round(p50)
            result[f"{name}_p99_us"] = round(p99)
        print(json.dumps(result))
    finally:
        server.terminate()
        port_file.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
