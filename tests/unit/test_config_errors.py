"""Each bad config ends with one message naming the key and the fix, exit code 2, no outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from backtests.cli import main
from tests.conftest import ROOT


def _config(tmp_path: Path, mutate=None, catalog: Path | None = None) -> Path:
    data: dict[str, Any] = yaml.safe_load((ROOT / "configs" / "mm.yaml").read_text())
    if catalog is not None:
        data["backtest"]["catalog"] = str(catalog)
    if mutate is not None:
        mutate(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _run(tmp_path: Path, config: Path) -> tuple[int, str]:
    output = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(config), "--output", str(output), "--quiet"])
    assert not output.exists() or not any(output.iterdir()), "a failed run left outputs behind"
    assert not list(tmp_path.glob(".*.partial")), "a failed run left a staging directory behind"
    return result.exit_code, result.output


def _set(section: str, key: str, value: Any):
    def mutate(data: dict[str, Any]) -> None:
        target = data
        for part in filter(None, section.split(".")):
            target = target[part]
        target[key] = value

    return mutate


def _delete(section: str, key: str):
    def mutate(data: dict[str, Any]) -> None:
        del data[section][key]

    return mutate


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            _set("strategy", "levls", 2),
            ["`strategy.levls` is not a known key", "did you mean `levels`"],
        ),
        (
            _set("backtest.venue", "queue_positon", True),
            ["backtest.venue.queue_positon", "queue_position"],
        ),
        (
            _set("strategy", "levels", "two"),
            ["`strategy.levels` must be a whole number", "got str 'two'"],
        ),
        (_set("strategy", "post_only", "yes"), ["`strategy.post_only` must be true or false"]),
        (_set("strategy", "levels", 0), ["`strategy.levels` is 0", ">= 1"]),
        (
            _set("strategy", "half_spread_bps", -1),
            ["`strategy.half_spread_bps` is -1.0", "cannot be negative"],
        ),
        (
            _set("strategy", "min_half_spread_ticks", -2),
            ["`strategy.min_half_spread_ticks`", ">= 0.5"],
        ),
        (_set("strategy", "size_tolerance", 3), ["`strategy.size_tolerance` is 3.0", "<= 1"]),
        (
            _set("strategy", "fair_value", "vwap"),
            ["`strategy.fair_value` is 'vwap'", "mid, microprice"],
        ),
        (
            _delete("strategy", "order_size"),
            ["`strategy.order_size` is required", "add `order_size:`"],
        ),
        (_set("", "venue", "binance"), ["`venue` is 'binance'", "gate, polymarket"]),
        (_set("", "instrument", "BTCUSDT"), ["`instrument` is 'BTCUSDT', not an instrument id"]),
        (
            lambda d: d["backtest"].update(
                start="2026-01-05T01:00:00Z", end="2026-01-05T00:30:00Z"
            ),
            ["`backtest.end`", "is not after backtest.start"],
        ),
        (
            _set("backtest", "start", "yesterday-ish"),
            ["`backtest.start` is 'yesterday-ish', not a date/time"],
        ),
        (
            _set("backtest.venue", "starting_balance", "lots"),
            ["`backtest.venue.starting_balance`", "'100000 USDT'"],
        ),
        (
            _set("backtest.venue", "account_type", "SPOT"),
            ["`backtest.venue.account_type` is 'SPOT'"],
        ),
        (
            _set("backtest.venue.latency", "base_ms", -5),
            ["`backtest.venue.latency.base_ms` is -5.0"],
        ),
        (
            _set("backtest.risk", "max_order_submit_rate", "fast"),
            ["`backtest.risk.max_order_submit_rate`"],
        ),
        (lambda d: d["backtest"]["venue"].pop("latency"), ["`backtest.venue.latency` is required"]),
    ],
)
def test_bad_value_names_key_and_fix(tmp_path: Path, mutate, expected: list[str]) -> None:
    code, output = _run(tmp_path, _config(tmp_path, mutate))
    assert code == 2, output
    assert output.startswith("error: ")
    assert "Fix:" in output
    for fragment in expected:
        assert fragment in output


def test_missing_config_file(tmp_path: Path) -> None:
    code, output = _run(tmp_path, tmp_path / "nope.yaml")
    assert code == 2
    assert "no such config file" in output


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("venue: gate\nstrategy: [unclosed\n")
    code, output = _run(tmp_path, path)
    assert code == 2
    assert "not valid YAML at line" in output


def test_instrument_not_in_catalog(tmp_path: Path, sample_catalog: Path) -> None:
    config = _config(tmp_path, _set("", "instrument", "ETH_USDT-PERP.GATE"), catalog=sample_catalog)
    code, output = _run(tmp_path, config)
    assert code == 2
    assert "ETH_USDT-PERP.GATE, which is not in the catalog" in output
    assert "BTC_USDT-PERP.GATE" in output


def test_missing_catalog_for_non_sample_instrument(tmp_path: Path) -> None:
    config = _config(
        tmp_path, _set("", "instrument", "ETH_USDT-PERP.GATE"), catalog=tmp_path / "nowhere"
    )
    code, output = _run(tmp_path, config)
    assert code == 2
    assert "holds no catalog" in output


def test_time_range_outside_data(tmp_path: Path, sample_catalog: Path) -> None:
    def mutate(data: dict[str, Any]) -> None:
        data["backtest"].update(start="2030-01-01T00:00:00Z", end="2030-01-02T00:00:00Z")

    code, output = _run(tmp_path, _config(tmp_path, mutate, catalog=sample_catalog))
    assert code == 2
    assert "do not overlap the data" in output
