"""
Files -> catalog: venue bulk files (Gate's `download.gatedata.org` CSVs today) into the Parquet
data catalog, through one transactional writer (`writer.CatalogTransaction`).

- `formats`: the source formats `catalog ingest` reads (a new format registers itself there).
- `gate_files`, `gate_csv`, `gate_book`, `gate_bulk`: Gate's bulk layout, CSV columns, order book
  replay and the per-kind conversions into nautilus Arrow tables.
- `tables`: nautilus catalog Arrow tables built from columns (no per-row Python objects).
- `writer`, `ledger`: atomic staged writes, overlap checks and the record of ingested files.
- `pipeline`: sources -> transaction; `download`: Gate's HTTP side; `cli`: the click commands.
- `jsonl`: the raw journal `catalog record` writes, as a format `catalog ingest` reads.
- `polymarket`: `catalog download polymarket` (instruments, Data API trades, price history).
"""
