"""
The recorder's raw journal: one JSONL file per instrument and chunk, one line per event.

A chunk ends at every multiple of the rotation period (hourly by default, on the clock), when the
recorder stops, and for one instrument when its definition changes precision (a Polymarket
tick-size change), so each file is recorded at one precision. Every file starts with the
instrument's definition (see `catalog.ingest.jsonl` for the line format). Lines are flushed as
they are written, and a file is fsynced when it closes, before the chunk is committed.

Used from the event loop thread only (the recording actor's handlers and its periodic tick).
"""

from __future__ import annotations

import os
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument

from catalog.ingest.jsonl import instrument_line
from catalog.ingest.jsonl import journal_file_name

_VOLATILE = ("ts_event", "ts_init")  # fields that change without the instrument changing


def _definition(instrument: Instrument) -> dict:
    fields = type(instrument).to_dict(instrument)
    return {k: v for k, v in fields.items() if k not in _VOLATILE}


def _stamp(ns: int) -> str:
    """`20260105T130000.000000123Z`: names sort in time, and two files never share one."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y%m%dT%H%M%S.") + f"{nanos:09d}Z"


class Journal:
    def __init__(self, directory: Path, rotate_ns: int) -> None:
        if rotate_ns <= 0:
            raise ValueError("rotate_ns must be positive")
        self.directory = directory
        self.rotate_ns = rotate_ns
        self.files: list[Path] = []  # every file written, in the order opened
        self._instruments: dict[InstrumentId, tuple[Instrument, int]] = {}
        self._open: dict[InstrumentId, tuple[BinaryIO, Path]] = {}
        self._finished: list[Path] = []  # closed, not yet handed out
        self._chunk: int | None = None

    def define(self, instrument: Instrument, ts_init: int) -> None:
        """The instrument's (new) definition; a file opened from now on starts with it."""
        previous = self._instruments.get(instrument.id)
        self._instruments[instrument.id] = (instrument, ts_init)
        if previous is None or instrument.id not in self._open:
            return
        if _definition(previous[0]) == _definition(instrument):
            return
        before = (previous[0].price_precision, previous[0].size_precision)
        if before != (instrument.price_precision, instrument.size_precision):
            self._close(instrument.id)  # the next event opens a file at the new precision
        else:
            self._write(instrument.id, [instrument_line(instrument, ts_init)])

    def write(self, instrument_id: InstrumentId, lines: list[bytes], now_ns: int) -> None:
        if instrument_id not in self._open:
            self._start_file(instrument_id, now_ns)
        self._write(instrument_id, lines)

    def rotate_if_due(self, now_ns: int) -> list[Path]:
        """At a chunk boundary: close every file; returns the files finished since last asked."""
        chunk = now_ns // self.rotate_ns
        if self._chunk is not None and chunk != self._chunk:
            for instrument_id in list(self._open):
                self._close(instrument_id)
            self._chunk = None
        return self._take_finished()

    def close(self) -> list[Path]:
        """Close every file; returns the files finished since last asked."""
        for instrument_id in list(self._open):
            self._close(instrument_id)
        return self._take_finished()

    def _start_file(self, instrument_id: InstrumentId, now_ns: int) -> None:
        known = self._instruments.get(instrument_id)
        if known is None:
            raise KeyError(f"{instrument_id}: define the instrument before writing its events")
        if self._chunk is None:
            self._chunk = now_ns // self.rotate_ns
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / journal_file_name(instrument_id, _stamp(now_ns))
        # Never appends to another session's journal; closed by `_close`.
        handle = open(path, "xb")  # noqa: SIM115
        self._open[instrument_id] = (handle, path)
        self.files.append(path)
        instrument, ts_init = known
        self._write(instrument_id, [instrument_line(instrument, ts_init)])

    def _write(self, instrument_id: InstrumentId, lines: list[bytes]) -> None:
        handle, _ = self._open[instrument_id]
        for line in lines:
            handle.write(line)
        handle.flush()

    def _close(self, instrument_id: InstrumentId) -> None:
        handle, path = self._open.pop(instrument_id)
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        self._finished.append(path)

    def _take_finished(self) -> list[Path]:
        finished, self._finished = self._finished, []
        return finished
