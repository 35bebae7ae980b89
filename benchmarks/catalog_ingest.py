"""
Catalog ingest throughput: one Gate futures order-book file through `catalog ingest`'s code path,
against plain pyarrow.csv parsing of the same file.

    uv run python benchmarks/catalog_ingest.py [--rows 1000000] [--repeat 3] [--seed 7]

The file (seeded, in a temp dir) has Gate's real hourly layout (`{PAIR}-{YYYYMMDDHH}.csv.gz`,
`timestamp, action, price, size, begin_id, merged`, a `set` snapshot then make/take rows merged
per 100 ms): the sample catalog's BTC_USDT book simulator, run long enough for about `--rows` rows
and compressed into the hour. The ingest is `catalog.ingest.pipeline.ingest_files` into a fresh
temp catalog (exact decimal parsing, book replay, Arrow tables, staged Parquet, ledger, commit);
the instrument is the sample's, so no network is timed. The baseline is `pyarrow.csv.read_csv`
of the same .csv.gz with default options. Each is timed `--repeat` times; the best run counts.
The last line printed is a JSON object with `rows`, `rows_per_s`, `pyarrow_rows_per_s` and
`ratio` (ingest / parse; the target is >= 0.25).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_ROWS_PER_SIMULATED_S = 78.0  # measured: rows per second of simulated book, merged per 100 ms


def write_orderbook_file(folder: Path, rows: int, seed: int) -> Path:
    from catalog.sample import SAMPLE_START_NS
    from catalog.sample import gate_sample_instrument
    from catalog.sample import generate_gate_perp_events
    from tests.venues.gate_bulk import gate_orderbook_files
    from tests.venues.gate_bulk import gzip_csv

    duration_s = max(60, round(rows / _ROWS_PER_SIMULATED_S))
    deltas, _trades = generate_gate_perp_events(
        gate_sample_instrument(), SAMPLE_START_NS, duration_s, seed
    )
    hours = gate_orderbook_files(deltas, time_scale=min(1.0, 3600 / duration_s))
    del deltas
    path = folder / "futures_usdt" / "orderbooks" / "202601" / "BTC_USDT-2026010500.csv.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip_csv(hours[min(hours)]))
    return path


def time_ingest(path: Path, folder: Path) -> tuple[float, int]:
    from catalog.ingest.formats import IngestHints
    from catalog.ingest.gate_bulk import GATE_BULK
    from catalog.ingest.pipeline import ingest_files
    from catalog.sample import gate_sample_instrument

    instrument = gate_sample_instrument()
    catalog = folder / "catalog"
    shutil.rmtree(catalog, ignore_errors=True)
    started = time.perf_counter()
    summary = ingest_files(
        catalog,
        [path],
        format_name=GATE_BULK,
        hints=IngestHints(),
        fetch_instrument=lambda _source: instrument,
        progress=False,
    )
    elapsed = time.perf_counter() - started
    return elapsed, summary.results[0].notes.rows_read


def time_pyarrow(path: Path) -> tuple[float, int]:
    import pyarrow.csv as pcsv

    started = time.perf_counter()
    table = pcsv.read_csv(path, read_options=pcsv.ReadOptions(autogenerate_column_names=True))
    return time.perf_counter() - started, table.num_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="catalog-ingest-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        path = write_orderbook_file(folder, args.rows, args.seed)
        print(
            f"generated {path.name} ({path.stat().st_size / 1e6:.1f} MB gz) "
            f"in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        ingest_runs, parse_runs = [], []
        for _ in range(args.repeat):
            ingest_runs.append(time_ingest(path, folder))
            parse_runs.append(time_pyarrow(path))
        ingest_s = min(seconds for seconds, _ in ingest_runs)
        parse_s = min(seconds for seconds, _ in parse_runs)
        rows = parse_runs[0][1]
        assert ingest_runs[0][1] == rows, (ingest_runs[0][1], rows)

    print(f"ingest: {ingest_s:.3f} s ({rows / ingest_s:,.0f} rows/s)")
    print(f"pyarrow.csv parse: {parse_s:.3f} s ({rows / parse_s:,.0f} rows/s)")
    result = {
        "rows": rows,
        "rows_per_s": round(rows / ingest_s),
        "pyarrow_rows_per_s": round(rows / parse_s),
        "ratio": round(parse_s / ingest_s, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
