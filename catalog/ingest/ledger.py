"""
The record of which source files a catalog holds, so a re-run skips them (`ingested.json`).

    {"format": "quotekit-ingest-ledger", "version": 1,
     "sources": {"BTC_USDT-PERP.GATE": {"orderbooks": {"BTC_USDT-2026010500.csv.gz": {
         "state": "done", "rows": 41234, "files": ["data/order_book_deltas/..."], ...}}}}}

A commit first records its sources as "committing", then moves the files in, then marks them
"done". A run that dies in between leaves "committing" entries: the next transaction removes the
files they list and forgets them, so a source is either wholly in the catalog or not at all.
A "done" entry stays even when its files are later merged or renamed (e.g. by nautilus'
`consolidate_catalog`): the data is still there.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.ingest.errors import IngestError

LEDGER_FILE = "ingested.json"
_FORMAT = "quotekit-ingest-ledger"
_VERSION = 1


@dataclass(frozen=True)
class LedgerEntry:
    instrument_id: str
    kind: str
    name: str
    info: dict[str, Any]  # rows, files (catalog-relative), format, ingested_at, ...


class Ledger:
    def __init__(self, root: Path, sources: dict[str, Any] | None = None) -> None:
        self.root = root
        self.sources: dict[str, dict[str, dict[str, dict[str, Any]]]] = sources or {}

    @classmethod
    def load(cls, root: Path) -> Ledger:
        path = root / LEDGER_FILE
        if not path.exists():
            return cls(root)
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise IngestError(
                f"{path} is unreadable ({error}): restore it from a backup, or delete it to "
                "forget which files were ingested (re-runs may then report overlaps)"
            ) from error
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise IngestError(f"{path} is not an ingest ledger: move it away and re-run")
        return cls(root, data.get("sources") or {})

    def entry(self, instrument_id: str, kind: str, name: str) -> dict[str, Any] | None:
        return self.sources.get(instrument_id, {}).get(kind, {}).get(name)

    def is_done(self, instrument_id: str, kind: str, name: str) -> bool:
        entry = self.entry(instrument_id, kind, name)
        return entry is not None and entry.get("state") == "done"

    def source_of(self, relative_file: str) -> str | None:
        """The source file whose ingest wrote `relative_file`, if the ledger knows it."""
        for kinds in self.sources.values():
            for names in kinds.values():
                for name, info in names.items():
                    if relative_file in info.get("files", ()):
                        return name
        return None

    def save(self) -> None:
        path = self.root / LEDGER_FILE
        temp = path.with_name(f".{LEDGER_FILE}.{os.getpid()}.tmp")
        body = {"format": _FORMAT, "version": _VERSION, "sources": self.sources}
        temp.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n")
        os.replace(temp, path)

    def mark(self, entries: list[LedgerEntry], state: str) -> None:
        for e in entries:
            names = self.sources.setdefault(e.instrument_id, {}).setdefault(e.kind, {})
            names[e.name] = {**e.info, "state": state}
        self.save()

    def roll_back_unfinished(self) -> list[str]:
        """Remove what interrupted commits moved in; returns the source names rolled back."""
        rolled_back = []
        for kinds in self.sources.values():
            for names in kinds.values():
                for name in [n for n, info in names.items() if info.get("state") != "done"]:
                    for relative in names[name].get("files", ()):
                        (self.root / relative).unlink(missing_ok=True)
                    del names[name]
                    rolled_back.append(name)
        if rolled_back:
            self.save()
        return rolled_back
