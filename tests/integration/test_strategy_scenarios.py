"""The quoting strategy's safety behaviour on hand-made markets (see strategy_scenarios.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def _scenario(name: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.strategy_scenarios", name],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_quotes_are_pulled_when_the_book_goes_stale() -> None:
    result = _scenario("stale")
    # Feed stops at 3 s; stale after 2 s, checked every second.
    assert result["submits"] == 4
    assert len(result["cancel_times"]) == 4
    assert all(4.9 <= t <= 7.1 for t in result["cancel_times"]), result
    assert result["open_at_19s"] == 0


def test_quotes_are_pulled_on_a_crossed_book_and_restored_after() -> None:
    result = _scenario("crossed")
    # The book locks at 2.0 s; the cancels land with the next venue update.
    assert len(result["cancel_times"]) == 4
    assert all(2.0 <= t <= 2.2 for t in result["cancel_times"]), result
    assert result["submits"] == 8
    assert result["open_at_end"] == 4


def test_stop_cancels_every_quote() -> None:
    result = _scenario("stop")
    assert result["open_before_stop"] == 4
    assert result["open_after_stop"] == 0


def test_quotes_follow_a_tick_size_change() -> None:
    result = _scenario("tick_change")
    assert result["tick_in_cache"] == "0.5"
    # Quotes one tick apart on the fine grid before, on the coarse grid after.
    assert any(round(p * 10) % 5 for p in result["prices_before"]), result["prices_before"]
    assert result["prices_after"], "nothing was requoted after the change"
    assert all(round(p * 10) % 5 == 0 for p in result["prices_after"]), result["prices_after"]


def test_naked_sells_of_outcome_tokens_are_denied_in_the_backtest() -> None:
    result = _scenario("naked_sell")
    assert result["sell"] == "DENIED"
    assert result["reason"].startswith("no_naked_sells: selling 50 ")
    assert result["buy"] == "ACCEPTED"
