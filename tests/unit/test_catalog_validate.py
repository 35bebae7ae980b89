"""
`catalog validate`: the sample passes, and small hand-made catalogs with one defect each fail with
a finding that names the check, the instrument, the data type, the file and the time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import BarType
from nautilus_trader.model.data import BookOrder
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from catalog.cli import main
from catalog.sample import gate_sample_instrument
from catalog.sample import read_sample_marker
from catalog.validate import validate_catalog

pytestmark = pytest.mark.catalog

INSTRUMENT = gate_sample_instrument()
IID = INSTRUMENT.id
T0 = 1_767_571_200_000_000_000
SECOND = 1_000_000_000
LAST = int(RecordFlag.F_LAST)
SNAPSHOT = int(RecordFlag.F_SNAPSHOT)

# A message is (seconds after T0, sequence, [(action, side, price, size), ...]).
Message = tuple[int, int, list[tuple[BookAction, OrderSide, str, int]]]

SNAPSHOT_MESSAGE: Message = (
    0,
    1,
    [
        (BookAction.CLEAR, OrderSide.NO_ORDER_SIDE, "0", 0),
        (BookAction.ADD, OrderSide.BUY, "100.0", 10),
        (BookAction.ADD, OrderSide.BUY, "99.9", 20),
        (BookAction.ADD, OrderSide.SELL, "100.1", 10),
        (BookAction.ADD, OrderSide.SELL, "100.2", 20),
    ],
)
QUIET_MESSAGES: list[Message] = [
    (1, 2, [(BookAction.UPDATE, OrderSide.BUY, "100.0", 15)]),
    # Inside one message the book may cross for a moment (new ask first, then the old bid goes).
    (
        2,
        3,
        [
            (BookAction.ADD, OrderSide.SELL, "99.9", 5),
            (BookAction.DELETE, OrderSide.BUY, "100.0", 0),
            (BookAction.DELETE, OrderSide.BUY, "99.9", 0),
            (BookAction.ADD, OrderSide.BUY, "99.8", 7),
        ],
    ),
    (3, 4, [(BookAction.UPDATE, OrderSide.SELL, "99.9", 8)]),
]


def deltas(messages: list[Message]) -> list[OrderBookDelta]:
    out = []
    for seconds, sequence, rows in messages:
        ts = T0 + seconds * SECOND
        snapshot = rows[0][0] == BookAction.CLEAR
        for index, (action, side, price, size) in enumerate(rows):
            flags = (LAST if index == len(rows) - 1 else 0) | (SNAPSHOT if snapshot else 0)
            order = BookOrder(side, Price.from_str(price), Quantity.from_int(size), 0)
            # Strictly increasing ts_init inside a message, as catalog/ordering.py writes them.
            out.append(OrderBookDelta(IID, action, order, flags, sequence, ts, ts + index))
    return out


def trades(seconds: list[int], first_id: int = 1) -> list[TradeTick]:
    return [
        TradeTick(
            IID,
            Price.from_str("100.0"),
            Quantity.from_int(3),
            AggressorSide.BUYER,
            TradeId(str(first_id + i)),
            T0 + s * SECOND,
            T0 + s * SECOND,
        )
        for i, s in enumerate(seconds)
    ]


def bars(count: int) -> list[Bar]:
    bar_type = BarType.from_str(f"{IID}-1-MINUTE-LAST-EXTERNAL")
    price = Price.from_str
    return [
        Bar(
            bar_type,
            price("100.0"),
            price("100.5"),
            price("99.5"),
            price("100.2"),
            Quantity.from_int(10),
            T0 + i * 60 * SECOND,
            T0 + i * 60 * SECOND,
        )
        for i in range(1, count + 1)
    ]


def write_catalog(root: Path, *batches: list, define: bool = True) -> Path:
    catalog = ParquetDataCatalog(str(root))
    if define:
        catalog.write_data([INSTRUMENT])
    for batch in batches:
        catalog.write_data(batch, skip_disjoint_check=True)
    return root


def only_file(root: Path, data_type: str) -> Path:
    (path,) = (root / "data" / data_type).glob("*/*.parquet")
    return path


def rewrite(path: Path, change: Callable[[pa.Table], pa.Table]) -> None:
    table = pq.read_table(path)
    pq.write_table(change(table), path)


def clean(root: Path) -> Path:
    return write_catalog(root, deltas([SNAPSHOT_MESSAGE, *QUIET_MESSAGES]), trades([1, 2, 3]))


# -- one defect each ------------------------------------------------------------------------


def crossed_book(root: Path) -> tuple[str, str]:
    crossing: Message = (4, 5, [(BookAction.ADD, OrderSide.BUY, "100.0", 1)])  # ask is 99.9
    write_catalog(root, deltas([SNAPSHOT_MESSAGE, *QUIET_MESSAGES, crossing]))
    return "crossed book", "2026-01-05T00:00:04Z"


def non_monotone(root: Path) -> tuple[str, str]:
    clean(root)

    def swap_last_two_ts_init(table: pa.Table) -> pa.Table:
        stamps = table.column("ts_init").to_pylist()
        stamps[1], stamps[2] = stamps[2], stamps[1]
        index = table.schema.get_field_index("ts_init")
        column = pa.array(stamps, type=pa.uint64())
        return table.set_column(index, table.schema.field("ts_init"), column)

    # ts_init goes back at the third trade (ts_event stays in order).
    rewrite(only_file(root, "trade_tick"), swap_last_two_ts_init)
    return "non-monotone ts_init", "2026-01-05T00:00:02Z"


def rows_out_of_order(root: Path) -> tuple[str, str]:
    clean(root)
    rewrite(only_file(root, "trade_tick"), lambda t: t.take([0, 2, 1]))
    return "non-monotone ts_init+non-monotone ts_event", "2026-01-05T00:00:02Z"


def duplicate_rows(root: Path) -> tuple[str, str]:
    clean(root)
    # The one-delta message at 1 s written twice.
    twice = [0, 1, 2, 3, 4, 5, *range(5, 11)]
    rewrite(only_file(root, "order_book_deltas"), lambda t: t.take(twice))
    return "duplicate rows", "2026-01-05T00:00:01Z"


def overlapping_files(root: Path) -> tuple[str, str]:
    write_catalog(root, trades([1, 2, 5]), trades([3, 4], first_id=10))
    return "overlapping files", "2026-01-05T00:00:03Z"


def sequence_gap(root: Path) -> tuple[str, str]:
    # A message counter: it steps by 1 (nearly) always, so a jump is a lost message.
    counted: list[Message] = [
        (4 + k, 5 + k, [(BookAction.UPDATE, OrderSide.SELL, "99.9", 9 + k)]) for k in range(30)
    ]
    gap: Message = (34, 36, [(BookAction.UPDATE, OrderSide.SELL, "99.9", 5)])  # 35 missing
    write_catalog(root, deltas([SNAPSHOT_MESSAGE, *QUIET_MESSAGES, *counted, gap]))
    return "sequence gap", "2026-01-05T00:00:34Z"


def sequence_back(root: Path) -> tuple[str, str]:
    back: Message = (4, 2, [(BookAction.UPDATE, OrderSide.SELL, "99.9", 9)])
    write_catalog(root, deltas([SNAPSHOT_MESSAGE, *QUIET_MESSAGES, back]))
    return "sequence goes back", "2026-01-05T00:00:04Z"


def zero_trade_size(root: Path) -> tuple[str, str]:
    clean(root)

    def zero_second_size(table: pa.Table) -> pa.Table:
        sizes = table.column("size").to_pylist()
        sizes[1] = bytes(len(sizes[1]))
        index = table.schema.get_field_index("size")
        column = pa.array(sizes, type=table.schema.field("size").type)
        return table.set_column(index, table.schema.field("size"), column)

    rewrite(only_file(root, "trade_tick"), zero_second_size)
    return "non-positive trade size", "2026-01-05T00:00:02Z"


def reused_trade_id(root: Path) -> tuple[str, str]:
    write_catalog(root, [*trades([1, 2]), *trades([3], first_id=2)])
    return "duplicate trade id", "2026-01-05T00:00:03Z"


def bar_high_below_low(root: Path) -> tuple[str, str]:
    write_catalog(root, bars(3))

    def swap(table: pa.Table) -> pa.Table:
        high, low = table.column("high"), table.column("low")
        table = table.set_column(table.schema.get_field_index("high"), "high", low)
        return table.set_column(table.schema.get_field_index("low"), "low", high)

    rewrite(only_file(root, "bar"), swap)
    return "bar high < low", "2026-01-05T00:01:00Z"


def misnamed_file(root: Path) -> tuple[str, str]:
    clean(root)
    path = only_file(root, "trade_tick")
    # Named as if it ended at 1 s; its rows run to 3 s.
    path.rename(path.with_name(f"{path.name.split('_')[0]}_2026-01-05T00-00-01-000000000Z.parquet"))
    return "file name range", "-"


def undefined_instrument(root: Path) -> tuple[str, str]:
    write_catalog(root, trades([1, 2]), define=False)
    return "missing instrument", "2026-01-05T00:00:01Z"


DEFECTS = [
    crossed_book,
    non_monotone,
    rows_out_of_order,
    duplicate_rows,
    overlapping_files,
    sequence_gap,
    sequence_back,
    zero_trade_size,
    reused_trade_id,
    bar_high_below_low,
    misnamed_file,
    undefined_instrument,
]


def test_a_clean_hand_made_catalog_passes(tmp_path: Path) -> None:
    root = clean(tmp_path / "catalog")
    assert validate_catalog(root) == []
    result = CliRunner().invoke(main, ["validate", "--catalog", str(root), "--quiet"])
    assert result.exit_code == 0, result.output
    rows = len(deltas([SNAPSHOT_MESSAGE, *QUIET_MESSAGES])) + 3
    assert result.output.startswith(f"OK: 2 data series, {rows} rows")


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.__name__)
def test_each_defect_is_reported_with_a_non_zero_exit(
    defect: Callable[[Path], tuple[str, str]], tmp_path: Path
) -> None:
    root = tmp_path / "catalog"
    checks, first_time = defect(root)
    findings = validate_catalog(root)
    assert [f.check for f in findings] == checks.split("+")
    result = CliRunner().invoke(main, ["validate", "--catalog", str(root), "--quiet"])
    assert result.exit_code == 1, result.output
    line = result.output.splitlines()[0]
    assert re.match(rf"{findings[0].check}( x\d+)?: {IID} ", line), line
    assert f"first at {first_time}" in line
    where = findings[0].file.relative_to(root) if findings[0].file else "-"
    assert f"file={where} " in line
    assert f"{len(findings)} problem(s)" in result.output


def test_crossed_book_counts_each_crossed_message(tmp_path: Path) -> None:
    crossing: list[Message] = [
        (4, 5, [(BookAction.ADD, OrderSide.BUY, "100.0", 1)]),
        (5, 6, [(BookAction.UPDATE, OrderSide.BUY, "100.0", 2)]),
        (6, 7, [(BookAction.DELETE, OrderSide.BUY, "100.0", 0)]),  # uncrossed again
    ]
    root = write_catalog(tmp_path / "c", deltas([SNAPSHOT_MESSAGE, *QUIET_MESSAGES, *crossing]))
    (finding,) = validate_catalog(root)
    assert finding.count == 2
    assert "best bid 100 >= best ask 99.9" in finding.detail


def test_venue_update_ids_that_skip_are_not_gaps(tmp_path: Path) -> None:
    # Gate's `u` advances by the number of updates folded into a message, not by one.
    messages = [SNAPSHOT_MESSAGE, *QUIET_MESSAGES]
    sparse = [(s, 100 + 17 * i, rows) for i, (s, _seq, rows) in enumerate(messages)]
    root = write_catalog(tmp_path / "c", deltas(sparse))
    assert validate_catalog(root) == []


def test_a_snapshot_resyncs_the_sequence(tmp_path: Path) -> None:
    resync: Message = (4, 40, SNAPSHOT_MESSAGE[2])  # a fresh snapshot after lost messages
    root = write_catalog(tmp_path / "c", deltas([SNAPSHOT_MESSAGE, *QUIET_MESSAGES, resync]))
    assert validate_catalog(root) == []


def test_only_the_named_instrument_is_checked(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    crossed_book(root)
    result = CliRunner().invoke(
        main, ["validate", "--catalog", str(root), "--instrument", "ETH_USDT-PERP.GATE"]
    )
    assert result.exit_code == 2
    assert "'ETH_USDT-PERP.GATE' is not in the catalog" in result.output
    assert str(IID) in result.output


def test_the_sample_catalog_validates(sample_catalog: Path) -> None:
    result = CliRunner().invoke(main, ["validate", "--catalog", str(sample_catalog), "--quiet"])
    assert result.exit_code == 0, result.output
    counts = read_sample_marker(sample_catalog)["instruments"].values()
    rows = sum(n for per_type in counts for n in per_type.values())
    assert result.output.startswith(f"OK: 6 data series, {rows:,} rows")
