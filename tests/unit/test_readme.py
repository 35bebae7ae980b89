"""The README stays true: its config reference covers every key, and CI runs its test command."""

from __future__ import annotations

import re

import msgspec

from backtests.config import STRATEGY_KEYS
from backtests.config import BacktestSection
from backtests.config import VenueSection
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def _keys(cls: type[msgspec.Struct]) -> set[str]:
    return set(cls.__struct_fields__)


def test_config_reference_names_every_key() -> None:
    keys = STRATEGY_KEYS | _keys(BacktestSection) | _keys(VenueSection)
    missing = [k for k in sorted(keys) if not re.search(rf"`(venue\.)?{k}[`.]|, `{k}`", README)]
    assert not missing, f"README config reference lacks: {missing}"


def test_ci_runs_the_readme_test_command() -> None:
    assert "    uv run pytest\n" in README
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == "uv run pytest"
