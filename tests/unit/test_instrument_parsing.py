"""Venue instrument JSON -> nautilus instruments (Gate perps in contracts, Polymarket tokens)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.currencies import pUSD
from nautilus_trader.model.instruments import BinaryOption
from nautilus_trader.model.instruments import CryptoPerpetual

from adapters.gate.parsing import parse_futures_contract
from adapters.polymarket.parsing import parse_binary_options
from catalog.sample import GATE_BTC_USDT_CONTRACT
from tests.conftest import shared_data

TS = 1_767_571_200_000_000_000  # 2026-01-05T00:00:00Z

# Contract spec fields (not market state such as prices, funding or open interest).
SPEC_FIELDS = (
    "name",
    "type",
    "quanto_multiplier",
    "order_price_round",
    "mark_price_round",
    "order_size_min",
    "order_size_max",
    "maker_fee_rate",
    "taker_fee_rate",
    "maintenance_rate",
    "leverage_min",
    "leverage_max",
    "funding_interval",
    "order_price_deviate",
    "orders_limit",
    "mark_type",
    "risk_limit_base",
    "risk_limit_step",
    "risk_limit_max",
)


@pytest.fixture(scope="module")
def captured_contracts() -> list[dict[str, Any]]:
    """The real `/futures/usdt/contracts` list (line 1 is `<url> -> <recv_ts>: <JSON list>`)."""
    path = shared_data("gate_futures_capture", "GATEIO_FUTURES.0")
    first_line = path.read_text().splitlines()[0]
    _, _, body = first_line.partition(": ")
    return json.loads(body)


def _by_name(contracts: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(c for c in contracts if c["name"] == name)


# -- Gate -------------------------------------------------------------------------------------


def test_every_captured_contract_parses(captured_contracts: list[dict[str, Any]]) -> None:
    assert len(captured_contracts) == 302
    instruments = [parse_futures_contract(c, TS) for c in captured_contracts]
    for contract, instrument in zip(captured_contracts, instruments, strict=True):
        assert isinstance(instrument, CryptoPerpetual)
        assert instrument.id.value == f"{contract['name']}-PERP.GATE"
        assert instrument.raw_symbol.value == contract["name"]
        assert instrument.multiplier.as_decimal() == Decimal(contract["quanto_multiplier"])
        assert instrument.price_increment.as_decimal() == Decimal(contract["order_price_round"])
        assert instrument.min_quantity.as_decimal() == Decimal(str(contract["order_size_min"]))
        assert instrument.max_quantity.as_decimal() == Decimal(str(contract["order_size_max"]))
        assert instrument.quote_currency == USDT
        assert instrument.settlement_currency == USDT
        assert not instrument.is_inverse
    assert len({i.id for i in instruments}) == 302


def test_btc_usdt_from_the_capture(captured_contracts: list[dict[str, Any]]) -> None:
    btc = parse_futures_contract(_by_name(captured_contracts, "BTC_USDT"), TS)
    assert btc.id.value == "BTC_USDT-PERP.GATE"
    assert btc.base_currency.code == "BTC"
    assert btc.price_increment.as_decimal() == Decimal("0.1")
    assert btc.price_precision == 1
    assert btc.multiplier.as_decimal() == Decimal("0.0001")
    assert btc.size_increment.as_decimal() == 1
    assert btc.size_precision == 0
    assert btc.min_quantity.as_decimal() == 1
    assert btc.max_quantity.as_decimal() == 1_000_000
    assert btc.maker_fee == Decimal("-0.000152")
    assert btc.taker_fee == Decimal("0.00075")
    assert btc.margin_init == Decimal("0.01")
    assert btc.margin_maint == Decimal("0.005")
    assert btc.info["name"] == "BTC_USDT"
    assert btc.ts_init == btc.ts_event == TS


def test_embedded_sample_contract_matches_the_capture(
    captured_contracts: list[dict[str, Any]],
) -> None:
    real = _by_name(captured_contracts, "BTC_USDT")
    for key in SPEC_FIELDS:
        assert str(GATE_BTC_USDT_CONTRACT[key]) == str(real[key]), key


def test_quantities_are_contracts_and_notional_uses_the_multiplier() -> None:
    btc = parse_futures_contract(GATE_BTC_USDT_CONTRACT, TS)
    # 10,000 contracts of 0.0001 BTC = 1 BTC: at 94,000 USDT that is 94,000 USDT of notional.
    notional = btc.notional_value(btc.make_qty(10_000), btc.make_price(94_000))
    assert notional.as_decimal() == Decimal(94_000)
    assert notional.currency == USDT


def test_numbers_and_strings_parse_alike() -> None:
    as_numbers = {
        **GATE_BTC_USDT_CONTRACT,
        "quanto_multiplier": 0.0001,
        "order_price_round": 0.1,
        "maker_fee_rate": -0.000152,
        "taker_fee_rate": 0.00075,
        "maintenance_rate": 0.005,
        "leverage_max": 100,
        "order_size_min": "1",
        "order_size_max": "1000000",
    }
    a = parse_futures_contract(GATE_BTC_USDT_CONTRACT, TS)
    b = parse_futures_contract(as_numbers, TS)
    for attr in (
        "price_increment",
        "size_increment",
        "multiplier",
        "min_quantity",
        "max_quantity",
        "maker_fee",
        "taker_fee",
        "margin_init",
        "margin_maint",
    ):
        assert getattr(a, attr) == getattr(b, attr), attr


def test_decimal_size_contracts_step_in_the_minimum() -> None:
    contract = {**GATE_BTC_USDT_CONTRACT, "enable_decimal": True, "order_size_min": "0.001"}
    instrument = parse_futures_contract(contract, TS)
    assert instrument.size_increment.as_decimal() == Decimal("0.001")
    assert instrument.size_precision == 3
    assert instrument.min_quantity.as_decimal() == Decimal("0.001")


def test_tiny_ticks_in_exponent_form_parse() -> None:
    contract = {**GATE_BTC_USDT_CONTRACT, "name": "PEPE_USDT", "order_price_round": "1E-11"}
    instrument = parse_futures_contract(contract, TS)
    assert instrument.price_increment.as_decimal() == Decimal("0.00000000001")
    assert instrument.price_precision == 11


def test_non_usdt_contract_is_rejected() -> None:
    with pytest.raises(ValueError, match="BTC_USD"):
        parse_futures_contract({**GATE_BTC_USDT_CONTRACT, "name": "BTC_USD"}, TS)


# -- Polymarket -------------------------------------------------------------------------------

CONDITION = "0x" + "ab" * 32
YES_TOKEN = "1" * 77
NO_TOKEN = "2" * 77


def _market(**overrides: Any) -> dict[str, Any]:
    market = {
        "enable_order_book": True,
        "active": True,
        "closed": False,
        "accepting_orders": True,
        "minimum_order_size": "5",
        "minimum_tick_size": "0.01",
        "condition_id": CONDITION,
        "question_id": "0x" + "cd" * 32,
        "question": "Will it rain in Lisbon on 2026-01-07?",
        "market_slug": "rain-lisbon-2026-01-07",
        "end_date_iso": "2026-01-08T00:00:00Z",
        "maker_base_fee": 0,
        "taker_base_fee": 0,
        "neg_risk": False,
        "rewards": {"rates": None, "min_size": 50, "max_spread": 3.5},
        "tokens": [
            {"token_id": YES_TOKEN, "outcome": "Yes", "price": 0.4, "winner": False},
            {"token_id": NO_TOKEN, "outcome": "No", "price": 0.6, "winner": False},
        ],
    }
    market.update(overrides)
    return market


def test_one_binary_option_per_token() -> None:
    yes, no = parse_binary_options(_market(), TS)
    assert isinstance(yes, BinaryOption) and isinstance(no, BinaryOption)
    assert yes.id.value == f"{CONDITION}-{YES_TOKEN}.POLYMARKET"
    assert no.id.value == f"{CONDITION}-{NO_TOKEN}.POLYMARKET"
    assert yes.raw_symbol.value == YES_TOKEN
    assert (yes.outcome, no.outcome) == ("Yes", "No")
    assert yes.quote_currency == pUSD
    assert yes.price_increment.as_decimal() == Decimal("0.01")
    assert yes.price_precision == 2
    assert yes.size_increment.as_decimal() == Decimal("0.000001")
    assert yes.size_precision == 6
    assert yes.min_quantity.as_decimal() == 5
    assert yes.expiration_ns == pd.Timestamp("2026-01-08T00:00:00Z").value
    assert yes.description == "Will it rain in Lisbon on 2026-01-07?"
    assert yes.maker_fee == 0
    assert yes.taker_fee == 0
    assert yes.info["rewards"] == {"rates": None, "min_size": 50, "max_spread": 3.5}
    assert yes.ts_init == yes.ts_event == TS


def test_taker_fee_from_fee_rate_or_fee_schedule() -> None:
    (yes, _) = parse_binary_options(_market(fee_rate="0.02"), TS)
    assert yes.taker_fee == Decimal("0.02")
    assert yes.maker_fee == 0
    (yes, _) = parse_binary_options(_market(feeSchedule={"rate": 0.03}), TS)
    assert yes.taker_fee == Decimal("0.03")


def test_fine_tick_and_numeric_fields() -> None:
    (yes, _) = parse_binary_options(_market(minimum_tick_size=0.001, minimum_order_size=15), TS)
    assert yes.price_increment.as_decimal() == Decimal("0.001")
    assert yes.price_precision == 3
    assert yes.min_quantity.as_decimal() == 15


def test_missing_end_date_is_deterministic() -> None:
    a = parse_binary_options(_market(end_date_iso=None), TS)[0]
    b = parse_binary_options(_market(end_date_iso=None), TS)[0]
    assert a.expiration_ns == b.expiration_ns > TS


def test_tokens_without_ids_are_skipped() -> None:
    market = _market(tokens=[{"token_id": YES_TOKEN, "outcome": "Yes"}, {"token_id": ""}])
    assert [i.outcome for i in parse_binary_options(market, TS)] == ["Yes"]
