from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from catalog.ordering import strictly_increasing_ts_init


def test_shared_timestamps_are_spread_by_nanoseconds() -> None:
    ts = np.array([100, 100, 100, 101, 200, 200])
    assert strictly_increasing_ts_init(ts).tolist() == [100, 101, 102, 103, 200, 201]


@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=200).map(sorted))
def test_strictly_increasing_and_never_before_the_event(events: list[int]) -> None:
    ts_init = strictly_increasing_ts_init(np.array(events))
    assert (np.diff(ts_init) > 0).all()
    assert (ts_init >= np.array(events)).all()
