"""
Timestamps that keep a book message's deltas in order through catalog queries.

The deltas of one venue message share `ts_event`, and their order matters (a CLEAR first, a DELETE
before the ADD that replaces it, F_LAST on the last). nautilus' catalog sorts by `ts_init`, and a
query with a time filter does not keep the written order of equal `ts_init` rows (seen in 1.231:
a filtered query of the sample replayed into a crossed book). So every delta written to the
catalog gets its own `ts_init`: the venue time, nudged forward by as many nanoseconds as needed to
be strictly increasing.
"""

from __future__ import annotations

import numpy as np


def strictly_increasing_ts_init(ts_event: np.ndarray) -> np.ndarray:
    """ts_init[k] = max(ts_event[k], ts_init[k-1] + 1), vectorised."""
    ts_event = np.asarray(ts_event, dtype=np.int64)
    steps = np.arange(len(ts_event), dtype=np.int64)
    return np.maximum.accumulate(ts_event - steps) + steps
