"""
What a Parquet data catalog holds: instruments, data types, time ranges and row counts.

Everything here reads Parquet footers only (row counts, ts_init statistics, schema metadata), so
listing a catalog of millions of rows takes milliseconds. The layout is nautilus':
`{root}/data/{type}/{identifier}/{first}_{last}.parquet`, where `identifier` is an instrument id or
a bar type and the file name carries the file's first and last `ts_init`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

DATA_DIR = "data"

# Schema metadata keys nautilus writes on data files (instrument definitions carry only "class").
_IDENTIFIER_KEYS = (b"instrument_id", b"bar_type")
_BAR_TYPE_PARTS = 5  # {instrument_id}-{step}-{aggregation}-{price_type}-{source}


class CatalogError(Exception):
    """A catalog or instrument that is not there; the message names it and the fix."""


@dataclass(frozen=True)
class DataFile:
    path: Path
    data_type: str  # directory name, e.g. "order_book_deltas", "trade_tick", "bar"
    identifier: str  # instrument id, or bar type for bars
    instrument_id: str
    rows: int
    first_ts: int | None  # smallest ts_init, from the row-group statistics
    last_ts: int | None
    named_range: tuple[int, int] | None  # (first, last) ts_init encoded in the file name
    price_precision: int | None
    size_precision: int | None
    size_bytes: int


@dataclass(frozen=True)
class DataSeries:
    """All files of one data type for one identifier, in time order."""

    data_type: str
    identifier: str
    instrument_id: str
    files: tuple[DataFile, ...]

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def first_ts(self) -> int | None:
        stamps = [f.first_ts for f in self.files if f.first_ts is not None]
        return min(stamps) if stamps else None

    @property
    def last_ts(self) -> int | None:
        stamps = [f.last_ts for f in self.files if f.last_ts is not None]
        return max(stamps) if stamps else None

    @property
    def paths(self) -> list[Path]:
        return [f.path for f in self.files]


@dataclass(frozen=True)
class InstrumentEntry:
    instrument_id: str
    kind: str | None  # nautilus class, e.g. "CryptoPerpetual"; None: data without a definition
    definition: Path | None
    series: tuple[DataSeries, ...]

    def get(self, data_type: str) -> DataSeries | None:
        return next((s for s in self.series if s.data_type == data_type), None)


def require_catalog(path: Path | str) -> Path:
    """`path` as a catalog root, or `CatalogError` saying how to get one."""
    root = Path(path).expanduser()
    if not (root / DATA_DIR).is_dir():
        raise CatalogError(
            f"no catalog at {root} (no {DATA_DIR}/ directory in it). Fix: build the sample with "
            "`catalog sample`, or pass --catalog PATH (or set $QUOTEKIT_CATALOG) to a catalog "
            "directory."
        )
    return root


def parse_file_name(name: str) -> tuple[int, int] | None:
    """`2026-01-05T00-00-00-000000000Z_2026-01-05T01-59-59-969699824Z.parquet` -> (ns, ns)."""
    stem = name.removesuffix(".parquet")
    parts = stem.split("_")
    if len(parts) != 2:
        return None
    try:
        first, last = (_name_stamp(part) for part in parts)
    except ValueError:
        return None
    return first, last


def _name_stamp(text: str) -> int:
    date, sep, clock = text.partition("T")
    if not sep or not clock.endswith("Z"):
        raise ValueError(text)
    hours, minutes, seconds, nanos = clock.removesuffix("Z").split("-")
    return pd.Timestamp(f"{date}T{hours}:{minutes}:{seconds}.{nanos}Z").value


def format_ns(ns: int | None) -> str:
    """A nanosecond timestamp as ISO 8601 UTC (`-` when unknown)."""
    if ns is None:
        return "-"
    return pd.Timestamp(ns, tz="UTC").isoformat().replace("+00:00", "Z")


def _ts_init_range(metadata: pq.FileMetaData) -> tuple[int | None, int | None]:
    names = metadata.schema.names
    if "ts_init" not in names or metadata.num_rows == 0:
        return None, None
    column = names.index("ts_init")
    lows, highs = [], []
    for index in range(metadata.num_row_groups):
        stats = metadata.row_group(index).column(column).statistics
        if stats is None or not stats.has_min_max:
            return None, None
        lows.append(int(stats.min))
        highs.append(int(stats.max))
    return min(lows), max(highs)


def _instrument_of(identifier: str, metadata: dict[bytes, bytes]) -> str:
    if b"bar_type" in metadata:
        return identifier.rsplit("-", _BAR_TYPE_PARTS - 1)[0]
    return metadata.get(b"instrument_id", identifier.encode()).decode()


def _precision(metadata: dict[bytes, bytes], key: bytes) -> int | None:
    value = metadata.get(key)
    return int(value) if value is not None and value.isdigit() else None


def _parquet_files(root: Path) -> list[Path]:
    return sorted((root / DATA_DIR).glob("*/**/*.parquet"))


def scan(path: Path | str) -> tuple[list[DataFile], dict[str, tuple[str, Path]]]:
    """(data files, {instrument id: (class name, definition file)}) of the catalog at `path`."""
    root = require_catalog(path)
    data: list[DataFile] = []
    definitions: dict[str, tuple[str, Path]] = {}
    for file in _parquet_files(root):
        metadata = pq.read_metadata(file)
        schema_meta = metadata.schema.to_arrow_schema().metadata or {}
        relative = file.relative_to(root / DATA_DIR).parts
        data_type = relative[0]
        identifier = relative[1] if len(relative) > 2 else data_type
        if not any(key in schema_meta for key in _IDENTIFIER_KEYS) and b"class" in schema_meta:
            definitions[identifier] = (schema_meta[b"class"].decode(), file)
            continue
        first, last = _ts_init_range(metadata)
        data.append(
            DataFile(
                path=file,
                data_type=data_type,
                identifier=identifier,
                instrument_id=_instrument_of(identifier, schema_meta),
                rows=metadata.num_rows,
                first_ts=first,
                last_ts=last,
                named_range=parse_file_name(file.name),
                price_precision=_precision(schema_meta, b"price_precision"),
                size_precision=_precision(schema_meta, b"size_precision"),
                size_bytes=file.stat().st_size,
            )
        )
    return data, definitions


def group_series(files: list[DataFile]) -> list[DataSeries]:
    """Files grouped by (data type, identifier), each group ordered by first ts_init, then name."""
    groups: dict[tuple[str, str], list[DataFile]] = {}
    for file in files:
        groups.setdefault((file.data_type, file.identifier), []).append(file)
    return [
        DataSeries(
            data_type=data_type,
            identifier=identifier,
            instrument_id=members[0].instrument_id,
            files=tuple(sorted(members, key=lambda f: (f.first_ts or 0, f.path.name))),
        )
        for (data_type, identifier), members in sorted(groups.items())
    ]


def list_instruments(path: Path | str) -> list[InstrumentEntry]:
    """Every instrument of the catalog (defined, or only referenced by data), sorted by id."""
    files, definitions = scan(path)
    series = group_series(files)
    ids = sorted(set(definitions) | {s.instrument_id for s in series})
    entries = []
    for instrument_id in ids:
        kind, definition = definitions.get(instrument_id, (None, None))
        entries.append(
            InstrumentEntry(
                instrument_id=instrument_id,
                kind=kind,
                definition=definition,
                series=tuple(s for s in series if s.instrument_id == instrument_id),
            )
        )
    return entries


def find_instrument(path: Path | str, instrument_id: str) -> InstrumentEntry:
    """The entry of `instrument_id`, or `CatalogError` listing the ids the catalog knows."""
    entries = list_instruments(path)
    for entry in entries:
        if entry.instrument_id == instrument_id:
            return entry
    known = ", ".join(e.instrument_id for e in entries) or "none (the catalog is empty)"
    raise CatalogError(
        f"instrument {instrument_id!r} is not in the catalog at {Path(path)}. "
        f"Fix: use one of the ids `catalog ls` lists: {known}"
    )


def instrument_definition(entry: InstrumentEntry) -> dict[str, Any]:
    """The fields of the instrument's definition row (the raw venue payload `info` left out)."""
    if entry.definition is None:
        return {}
    table = pq.read_table(entry.definition)
    row = table.slice(table.num_rows - 1).to_pylist()[0]  # the latest definition
    row.pop("info", None)
    return row
