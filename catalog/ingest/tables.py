"""
Nautilus catalog Arrow tables built straight from columns: no per-row Python objects.

nautilus 1.231 stores prices and sizes as 16-byte little-endian fixed-point integers (the value
times 10**FIXED_PRECISION). Arrow's decimal128 has exactly that memory layout, so an exact decimal
column (parsed from text by pyarrow.csv) becomes a nautilus column by one rescaling cast and a
zero-copy reinterpretation of its buffer. The schemas and their metadata are nautilus' own
(`NAUTILUS_ARROW_SCHEMA`, instrument id and precisions), so the catalog reads these tables like
the ones its own serializer writes.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import BarType
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import FIXED_PRECISION
from nautilus_trader.serialization.arrow.schema import NAUTILUS_ARROW_SCHEMA

from catalog.ingest.errors import IngestError

_RAW_TYPE = pa.binary(16)
_RAW_DECIMAL = pa.decimal128(38, FIXED_PRECISION)


def decimal_type(scale: int) -> pa.Decimal128Type:
    """The widest exact decimal with `scale` digits after the point."""
    return pa.decimal128(38, scale)


def decimals_to_int64(values: pa.Array, what: str) -> np.ndarray:
    """decimal128 values -> their unscaled integers (value * 10**scale) as int64."""
    words = np.frombuffer(values.buffers()[1], dtype=np.int64)
    words = words[2 * values.offset : 2 * (values.offset + len(values))]
    low, high = words[0::2], words[1::2]
    # A value fits int64 when its high word is just the sign extension of the low one.
    if not np.array_equal(high, low >> 63):
        raise IngestError(f"{what}: a value is too large for this instrument's precision")
    return low.copy()


def int64_to_decimals(values: np.ndarray, scale: int) -> pa.Array:
    """Unscaled integers -> decimal128 values with `scale` digits (the inverse of the above)."""
    values = np.ascontiguousarray(values, dtype=np.int64)
    words = np.empty((len(values), 2), dtype=np.int64)
    words[:, 0] = values
    words[:, 1] = values >> 63
    return pa.Array.from_buffers(decimal_type(scale), len(values), [None, pa.py_buffer(words)])


def to_raw(values: pa.Array) -> pa.Array:
    """Exact decimals -> nautilus raw fixed-point values (FixedSizeBinary(16))."""
    if values.null_count:
        raise IngestError("a price or size is missing (null): every row needs one")
    scaled = pc.cast(values, _RAW_DECIMAL)
    return pa.Array.from_buffers(
        _RAW_TYPE, len(scaled), [None, scaled.buffers()[1]], offset=scaled.offset
    )


def raw_from_int64(values: np.ndarray, scale: int) -> pa.Array:
    """Unscaled integers at `scale` -> nautilus raw fixed-point values."""
    return to_raw(int64_to_decimals(values, scale))


def _metadata(instrument: Instrument) -> dict[str, str]:
    return {
        "instrument_id": instrument.id.value,
        "price_precision": str(instrument.price_precision),
        "size_precision": str(instrument.size_precision),
    }


def _table(data_cls: type, columns: dict[str, pa.Array], metadata: dict[str, str]) -> pa.Table:
    schema = NAUTILUS_ARROW_SCHEMA[data_cls].with_metadata(metadata)
    return pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)


def _u64(values: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values).astype(np.uint64, copy=False), type=pa.uint64())


def _u8(values: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values).astype(np.uint8, copy=False), type=pa.uint8())


def order_book_deltas_table(
    instrument: Instrument,
    *,
    action: np.ndarray,
    side: np.ndarray,
    price: pa.Array,
    size: pa.Array,
    flags: np.ndarray,
    sequence: np.ndarray,
    ts_event: np.ndarray,
    ts_init: np.ndarray | None = None,
) -> pa.Table:
    """`price` and `size` are raw fixed-point columns; ts_init defaults to ts_event."""
    return _table(
        OrderBookDelta,
        {
            "action": _u8(action),
            "side": _u8(side),
            "price": price,
            "size": size,
            "order_id": pa.array(np.zeros(len(action), dtype=np.uint64)),
            "flags": _u8(flags),
            "sequence": _u64(sequence),
            "ts_event": _u64(ts_event),
            "ts_init": _u64(ts_event if ts_init is None else ts_init),
        },
        _metadata(instrument),
    )


def trade_ticks_table(
    instrument: Instrument,
    *,
    price: pa.Array,
    size: pa.Array,
    aggressor_side: np.ndarray,
    trade_id: pa.Array,
    ts_event: np.ndarray,
    ts_init: np.ndarray | None = None,
) -> pa.Table:
    return _table(
        TradeTick,
        {
            "price": price,
            "size": size,
            "aggressor_side": _u8(aggressor_side),
            "trade_id": trade_id.cast(pa.string()),
            "ts_event": _u64(ts_event),
            "ts_init": _u64(ts_event if ts_init is None else ts_init),
        },
        _metadata(instrument),
    )


def quote_ticks_table(
    instrument: Instrument,
    *,
    bid_price: pa.Array,
    ask_price: pa.Array,
    bid_size: pa.Array,
    ask_size: pa.Array,
    ts_event: np.ndarray,
    ts_init: np.ndarray,
) -> pa.Table:
    """Prices and sizes are raw fixed-point columns."""
    return _table(
        QuoteTick,
        {
            "bid_price": bid_price,
            "ask_price": ask_price,
            "bid_size": bid_size,
            "ask_size": ask_size,
            "ts_event": _u64(ts_event),
            "ts_init": _u64(ts_init),
        },
        _metadata(instrument),
    )


def bars_table(
    instrument: Instrument,
    bar_type: BarType,
    *,
    open_: pa.Array,
    high: pa.Array,
    low: pa.Array,
    close: pa.Array,
    volume: pa.Array,
    ts_event: np.ndarray,
) -> pa.Table:
    return _table(
        Bar,
        {
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
            "ts_event": _u64(ts_event),
            "ts_init": _u64(ts_event),
        },
        {"bar_type": str(bar_type), **_metadata(instrument)},
    )
