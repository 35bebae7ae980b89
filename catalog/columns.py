"""
Columns of catalog Parquet files as NumPy arrays, without building nautilus objects.

nautilus stores prices and sizes as fixed-point integers in `fixed_size_binary` columns (16-byte
little-endian i128 in the high-precision build, 8-byte i64 otherwise), scaled by `FIXED_SCALAR`.
Decoding them from the Arrow buffer is a few vector operations, and gives NumPy arrays rather than
a million `OrderBookDelta` objects to read one field at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from nautilus_trader.model.objects import FIXED_PRECISION
from nautilus_trader.model.objects import FIXED_SCALAR

_TWO_64 = float(2**64)


def fixed_to_float(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A nautilus fixed-point price/quantity column as float64 values."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    width = array.type.byte_width
    words = width // 8
    data = np.frombuffer(array.buffers()[1], dtype="<i8")
    data = data[array.offset * words : (array.offset + len(array)) * words]
    if words == 1:
        return data / FIXED_SCALAR
    if words != 2:
        raise ValueError(f"unexpected fixed-point width {width} bytes (want 8 or 16)")
    low = data[0::2].view("<u8").astype(np.float64)
    high = data[1::2].astype(np.float64)
    return (high * _TWO_64 + low) / FIXED_SCALAR


def fixed_to_units(column: pa.Array | pa.ChunkedArray, precision: int) -> np.ndarray:
    """The column as integers in units of 10**-precision (exact for prices on that grid)."""
    if not 0 <= precision <= FIXED_PRECISION:
        raise ValueError(f"precision {precision} outside 0..{FIXED_PRECISION}")
    return np.rint(fixed_to_float(column) * 10.0**precision).astype(np.int64)


def timestamps(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A uint64 nanosecond column as int64 (nanoseconds since the epoch fit until 2262)."""
    return column.to_numpy().astype(np.int64, copy=False)


def read_table(
    files: Sequence[Path],
    columns: list[str] | None = None,
    *,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> pa.Table:
    """The rows of `files` (in the given order) with start_ns <= ts_init <= end_ns."""
    filters = []
    if start_ns is not None:
        filters.append(("ts_init", ">=", int(start_ns)))
    if end_ns is not None:
        filters.append(("ts_init", "<=", int(end_ns)))
    tables = [pq.read_table(path, columns=columns, filters=filters or None) for path in files]
    if not tables:
        raise ValueError("no files to read")
    # Files of one series share a schema except for their metadata (precisions may differ).
    return pa.concat_tables([t.replace_schema_metadata(None) for t in tables])
