"""
A local stand-in for Gate's bulk historical data host and the REST instrument endpoints, plus
generators of bulk files in the real layout (venues.md 1.8; generated, never copied).

- `GateBulkServer`: serves `/{biz}/{type}/{YYYYMM}/{file}` bodies put into it (404 otherwise)
  and the public instrument endpoints the download reads: `GET /api/v4/futures/usdt/contracts`,
  `.../contracts/{contract}` (400 `CONTRACT_NOT_FOUND` for an unknown one, as the venue says) and
  `GET /api/v4/spot/currency_pairs`, with the simulator's contract and pair shapes. Every
  request path is logged, so tests can tell what was fetched.
- `gate_orderbook_files`: L2 deltas (e.g. the sample generator's) -> hourly `orderbooks` rows:
  each hour opens with a `set` snapshot of the whole book, then the changes merged per 100 ms
  window, stamped with the window's end, as `make` (+size) / `take` (-size) rows whose sign is the
  side (+ bid, - ask).
- `gate_trade_rows`, `gzip_csv`: trades in the futures `trades` layout; CSV rows -> .csv.gz bytes.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterable
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from aiohttp import web
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.serialization.arrow.serializer import ArrowSerializer

from tests.venues.common import SimulatorServer
from tests.venues.gate.contracts import DEFAULT_CONTRACTS
from tests.venues.gate.contracts import contract_json
from tests.venues.gate.spot import DEFAULT_PAIRS
from tests.venues.gate.spot import currency_pair_json

HOUR_NS = 3_600 * 1_000_000_000
WINDOW_NS = 100_000_000  # Gate merges book changes per 100 ms
_F_SNAPSHOT = int(RecordFlag.F_SNAPSHOT)
_CLEAR = int(BookAction.CLEAR)
_DELETE = int(BookAction.DELETE)
_API = "/api/v4"


class GateBulkServer(SimulatorServer):
    thread_name = "gate-bulk"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []

    @property
    def rest_url(self) -> str:
        return f"{self.base_url}{_API}"

    def put(self, path: str, body: bytes) -> None:
        """Serve `body` at `path`, e.g. `/futures_usdt/trades/202601/BTC_USDT-202601.csv.gz`."""
        self.files[path] = body

    def bulk_requests(self) -> list[str]:
        return [p for p in self.requests if not p.startswith(_API)]

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._log])
        app.add_routes(
            [
                web.get(f"{_API}/futures/usdt/contracts", self._contracts),
                web.get(f"{_API}/futures/usdt/contracts/{{contract}}", self._contract),
                web.get(f"{_API}/spot/currency_pairs", self._pairs),
                web.get("/{path:.*}", self._file),
            ]
        )
        return app

    @web.middleware
    async def _log(self, request: web.Request, handler) -> web.StreamResponse:
        self.requests.append(request.path)
        return await handler(request)

    async def _contracts(self, request: web.Request) -> web.Response:
        return web.json_response([_contract(name) for name in DEFAULT_CONTRACTS])

    async def _contract(self, request: web.Request) -> web.Response:
        name = request.match_info["contract"]
        if name not in DEFAULT_CONTRACTS:
            body = {"label": "CONTRACT_NOT_FOUND", "message": f"Contract {name} not found"}
            return web.json_response(body, status=400)
        return web.json_response(_contract(name))

    async def _pairs(self, request: web.Request) -> web.Response:
        return web.json_response([currency_pair_json(spec) for spec in DEFAULT_PAIRS.values()])

    async def _file(self, request: web.Request) -> web.Response:
        body = self.files.get(request.path)
        if body is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=body, content_type="application/gzip")


def _contract(name: str) -> dict[str, Any]:
    spec = DEFAULT_CONTRACTS[name]
    return contract_json(
        spec,
        last_price=spec.initial_ask,
        mark_price=spec.initial_bid,
        orderbook_id=1,
        trade_id=1,
        size_decimal=False,
        now=1_767_571_200.0,
    )


# -- files ------------------------------------------------------------------------------------


def gzip_csv(rows: Iterable[Sequence[Any]]) -> bytes:
    """Rows -> the bytes of a header-less .csv.gz, as Gate publishes them."""
    text = "".join(",".join(str(v) for v in row) + "\n" for row in rows)
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=6, mtime=0) as out:
        out.write(text.encode())
    return buffer.getvalue()


def gate_time(ns: int) -> str:
    """ns -> Gate's seconds text: `1767571200`, `1767571200.1`, `1767571200.123456`."""
    seconds, rest = divmod(ns, 1_000_000_000)
    micros = rest // 1_000
    if micros == 0:
        return str(seconds)
    return f"{seconds}.{micros:06d}".rstrip("0")


def bulk_path(biz: str, kind: str, name: str) -> str:
    """`/{biz}/{type}/{YYYYMM}/{name}` for a file named `{PAIR}-{YYYYMM...}.csv.gz`."""
    period = name.rsplit("-", 1)[1].split(".", 1)[0]
    return f"/{biz}/{kind}/{period[:6]}/{name}"


def gate_orderbook_files(
    deltas: Sequence[OrderBookDelta],
    *,
    signed_snapshot: bool = True,
    time_scale: float = 1.0,
    first_id: int = 92_440_547_527,
) -> dict[int, list[tuple[str, str, str, str, int, int]]]:
    """
    L2 deltas (first message a snapshot) -> {hour start ns: rows of that hour's file}. Times are
    compressed by `time_scale` around the first delta (a denser hour for benchmarks).
    `signed_snapshot=False` writes the `set` sizes all positive (the other reading in venues.md).
    """
    action_col, side_col, price_col, size_col, flags_col, ts_col = _columns(deltas)
    origin = ts_col[0]
    buy, sell = int(OrderSide.BUY), int(OrderSide.SELL)
    book: dict[int, dict[str, int]] = {buy: {}, sell: {}}  # side -> price text -> size
    files: dict[int, list[tuple[str, str, str, str, int, int]]] = {}
    current_hour = -1
    next_id = first_id
    window: dict[tuple[int, str], list[int]] = {}  # level -> [size before, changes merged]
    window_stamp = -1

    def flush() -> None:
        nonlocal next_id
        rows = files.get(current_hour)
        stamp = gate_time(window_stamp)
        for (side, price), (before, merged) in window.items():
            net = book[side].get(price, 0) - before
            if net == 0 or rows is None:
                continue
            size = abs(net) if side == buy else -abs(net)  # the sign is the side
            action = "make" if net > 0 else "take"  # the action says add or remove
            rows.append((stamp, action, price, str(size), next_id, merged))
            next_id += merged
        window.clear()

    for action, side, price, size, flags, ts in zip(
        action_col, side_col, price_col, size_col, flags_col, ts_col, strict=True
    ):
        if action == _CLEAR:
            book[buy].clear()
            book[sell].clear()
            continue
        if flags & _F_SNAPSHOT:
            book[side][price] = size
            continue
        ts = origin + int((ts - origin) * time_scale)
        stamp = -(-ts // WINDOW_NS) * WINDOW_NS
        if stamp != window_stamp:
            flush()
            window_stamp = stamp
            hour = (stamp - 1) // HOUR_NS * HOUR_NS  # a window ending on the hour closes that hour
            if hour != current_hour:
                current_hour = hour
                files[hour] = _snapshot_rows(book, hour, next_id, signed_snapshot)
                next_id += 1
        level = (side, price)
        entry = window.get(level)
        if entry is None:
            entry = window[level] = [book[side].get(price, 0), 0]
        entry[1] += 1
        if action == _DELETE:
            book[side].pop(price, None)
        else:
            book[side][price] = size
    flush()
    return files


def _columns(deltas: Sequence[OrderBookDelta]) -> tuple[list, ...]:
    """Delta fields as plain lists (through nautilus' Arrow encoder: fast for a million)."""
    table = ArrowSerializer.serialize_batch(list(deltas), OrderBookDelta)
    meta = table.schema.metadata
    price_precision, size_precision = int(meta[b"price_precision"]), int(meta[b"size_precision"])
    prices = _fixed_to_decimal(table.column("price"), price_precision)
    sizes = _fixed_to_decimal(table.column("size"), size_precision)
    price_text = [format(p, "f") for p in pc.unique(prices).to_pylist()]
    index = pc.index_in(prices, value_set=pc.unique(prices)).to_pylist()
    return (
        table.column("action").to_pylist(),
        table.column("side").to_pylist(),
        [price_text[i] for i in index],
        [int(v) for v in sizes.to_pylist()],
        table.column("flags").to_pylist(),
        table.column("ts_event").to_pylist(),
    )


def _fixed_to_decimal(column: pa.ChunkedArray, precision: int) -> pa.Array:
    """nautilus raw fixed-point (16-byte LE, value * 1e16) -> decimals with `precision` digits."""
    array = column.combine_chunks()
    raw = pa.Array.from_buffers(
        pa.decimal128(38, 16), len(array), [None, array.buffers()[1]], offset=array.offset
    )
    return pc.cast(raw, pa.decimal128(38, precision))


def _snapshot_rows(
    book: dict[int, dict[str, int]], hour: int, seq: int, signed: bool
) -> list[tuple[str, str, str, str, int, int]]:
    rows = []
    stamp = gate_time(hour)
    for side, levels in book.items():
        sign = -1 if (signed and side == int(OrderSide.SELL)) else 1
        for price in sorted(levels, key=Decimal, reverse=side == int(OrderSide.BUY)):
            rows.append((stamp, "set", price, str(sign * levels[price]), seq, 0))
    return rows


def gate_trade_rows(
    trades: Sequence[TradeTick], *, origin: int | None = None, time_scale: float = 1.0
) -> list[tuple[str, str, str, str]]:
    """
    Trades -> futures `trades` rows: `timestamp, dealid, price, size` (+ taker buy), times in
    whole microseconds, compressed by `time_scale` around `origin` like the book's.
    """
    rows = []
    origin = trades[0].ts_event if origin is None else origin
    for trade in trades:
        sign = 1 if trade.aggressor_side == AggressorSide.BUYER else -1
        ts = origin + int((trade.ts_event - origin) * time_scale)
        price, size = str(trade.price), str(sign * int(trade.size))
        rows.append((gate_time(ts // 1_000 * 1_000), str(trade.trade_id), price, size))
    return rows
