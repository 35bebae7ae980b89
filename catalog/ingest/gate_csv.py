"""
Reading Gate bulk CSV(.gz) files with pyarrow.csv: typed, exact, streamed, with clear errors.

Numbers are parsed straight into exact decimals at the instrument's precision (timestamps at 9
digits, so `1769904000.829937` is exactly ...829_937_000 ns): no float ever touches a price, a
size or a time. A value with more digits than the instrument allows is an error, not a rounding.
The file is read in ~1 MB blocks (pyarrow parses them on all cores) and handed on in chunks of a
few hundred thousand rows, so memory stays flat however large the file is.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from queue import Full
from queue import Queue

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from catalog.ingest.errors import IngestError
from catalog.ingest.tables import decimal_type
from catalog.ingest.tables import decimals_to_int64

TIMESTAMP = decimal_type(9)  # seconds with up to nanosecond digits -> exact ns
_BLOCK_BYTES = 1 << 20
CHUNK_ROWS = 1 << 18


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType


@dataclass(frozen=True)
class Chunk:
    """Consecutive rows of one file; `first_row` is the 1-based line number of the first."""

    first_row: int
    table: pa.Table

    def int64(self, name: str) -> np.ndarray:
        """A decimal column as unscaled int64 (e.g. timestamps as ns)."""
        return decimals_to_int64(self.table.column(name).combine_chunks(), name)

    def array(self, name: str) -> pa.Array:
        return self.table.column(name).combine_chunks()


def read_chunks(
    path: Path, what: str, columns: list[Column], *, chunk_rows: int = CHUNK_ROWS
) -> Iterator[Chunk]:
    """
    The rows of `path` (no header row; extra trailing columns ignored) in chunks of at least
    `chunk_rows` rows (the last one may be smaller). `what` names the file kind in errors.
    The next chunk is parsed on a thread while the caller converts this one.
    """
    return _read_ahead(_read_chunks(path, what, columns, chunk_rows))


_END = object()


def _read_ahead(chunks: Iterator[Chunk], depth: int = 2) -> Iterator[Chunk]:
    # pyarrow parses and decompresses without the GIL, so reading overlaps the caller's numpy
    # work (about a third less wall time for a large order book file on two cores).
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> None:
        while not stop.is_set():
            with contextlib.suppress(Full):
                queue.put(item, timeout=0.1)
                return

    def produce() -> None:
        try:
            for chunk in chunks:
                put(chunk)
                if stop.is_set():
                    break
            put(_END)
        except BaseException as error:
            put(error)
        finally:
            chunks.close()

    reader = threading.Thread(target=produce, name="csv-read-ahead", daemon=True)
    reader.start()
    try:
        while (item := queue.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


def _read_chunks(path: Path, what: str, columns: list[Column], chunk_rows: int) -> Iterator[Chunk]:
    generated = [f"f{i}" for i in range(len(columns))]
    read_options = pcsv.ReadOptions(autogenerate_column_names=True, block_size=_BLOCK_BYTES)
    convert_options = pcsv.ConvertOptions(
        column_types={g: c.type for g, c in zip(generated, columns, strict=True)},
        include_columns=generated,
        strings_can_be_null=False,
    )
    names = [c.name for c in columns]
    next_row = 1
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    try:
        stream = pa.input_stream(str(path), compression="detect")
        with pcsv.open_csv(stream, read_options=read_options, convert_options=convert_options) as r:
            for batch in r:
                pending.append(batch)
                pending_rows += batch.num_rows
                if pending_rows >= chunk_rows:
                    yield _chunk(path, next_row, pending, names)
                    next_row += pending_rows
                    pending, pending_rows = [], 0
    except (pa.ArrowException, OSError) as error:
        raise _explain(path, what, columns, error) from error
    if pending_rows:
        yield _chunk(path, next_row, pending, names)


def _chunk(path: Path, first_row: int, batches: list[pa.RecordBatch], names: list[str]) -> Chunk:
    table = pa.Table.from_batches(batches).rename_columns(names).combine_chunks()
    for name, column in zip(names, table.columns, strict=True):
        if column.null_count:
            nulls = column.is_null().to_numpy(zero_copy_only=False)
            row = first_row + int(np.flatnonzero(nulls)[0])
            raise IngestError(f"{path.name}, line {row}: the {name} field is empty")
    return Chunk(first_row, table)


_COLUMN_ERROR = re.compile(r"In CSV column #(\d+): (.*)", re.DOTALL)


def _explain(path: Path, what: str, columns: list[Column], error: Exception) -> IngestError:
    text = str(error).strip()
    layout = ", ".join(c.name for c in columns)
    if isinstance(error, OSError) and not isinstance(error, pa.ArrowInvalid):
        return IngestError(
            f"{path.name} is not a readable gzip/CSV file ({text}): the download was cut short "
            "or the file is damaged; delete it and download it again"
        )
    column = _COLUMN_ERROR.search(text)
    if column:
        index, detail = int(column[1]), column[2].strip()
        name = columns[index].name if index < len(columns) else f"#{index + 1}"
        hint = (
            "it has more decimals than the instrument allows: is the file for this symbol?"
            if "data loss" in detail
            else f"expected a {what} file with columns {layout}: check --kind"
        )
        return IngestError(f"{path.name}: column {index + 1} ({name}): {detail}; {hint}")
    if "include_columns" in text or "Expected" in text:
        return IngestError(
            f"{path.name} does not have the columns of a Gate {what} file ({layout}): {text}. "
            "Fix: check --kind and --market, or download the file again if it is damaged"
        )
    return IngestError(f"{path.name}: cannot read it as a Gate {what} file: {text}")
