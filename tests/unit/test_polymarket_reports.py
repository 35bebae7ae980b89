"""Polymarket order and trade records -> our fills and nautilus reports (pure, no engine)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from nautilus_trader.model.enums import LiquiditySide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.identifiers import AccountId

from adapters.polymarket.parsing import parse_binary_options
from adapters.polymarket.reports import fill_report
from adapters.polymarket.reports import order_status_report
from adapters.polymarket.reports import our_fills
from strategies.quotes import uncovered_sell

pytestmark = pytest.mark.polymarket

ME, OTHER = "key-me", "key-other"
ACCOUNT = AccountId("POLYMARKET-001")
MARKET = {
    "condition_id": "0x" + "ab" * 32,
    "question": "Will it?",
    "minimum_tick_size": "0.01",
    "minimum_order_size": "5",
    "end_date_iso": "2027-01-01T00:00:00Z",
    "tokens": [{"token_id": "111", "outcome": "Yes"}, {"token_id": "222", "outcome": "No"}],
}
YES, NO = parse_binary_options(MARKET, ts_init=0)


def _trade(owner: str, trader_side: str, makers: list[dict]) -> dict:
    return {
        "id": "28c4d2eb-bbea-40e7-a9f0-b2fdb56b2c2e",
        "taker_order_id": "0xtaker",
        "market": MARKET["condition_id"],
        "asset_id": "222",
        "side": "BUY",
        "size": "30",
        "price": "0.45",
        "fee_rate_bps": "200",
        "status": "MATCHED",
        "match_time": "1700000000",
        "owner": owner,
        "trader_side": trader_side,
        "maker_orders": makers,
    }


def _maker(owner: str, order_id: str, asset: str, side: str, price: str, size: str) -> dict:
    return {
        "order_id": order_id,
        "owner": owner,
        "asset_id": asset,
        "side": side,
        "price": price,
        "matched_amount": size,
        "fee_rate_bps": "0",
    }


def test_a_maker_leg_on_the_complementary_token_keeps_its_own_asset_side_and_price() -> None:
    # A taker BUY NO at 0.45 mints against our maker BUY YES at 0.55.
    trade = _trade(
        OTHER,
        "MAKER",
        [
            _maker(ME, "0xmine", "111", "BUY", "0.55", "20"),
            _maker(OTHER, "0xtheirs", "111", "BUY", "0.55", "10"),
        ],
    )
    (fill,) = our_fills(trade, ME)
    assert (fill.order_id, fill.asset_id, fill.side) == ("0xmine", "111", "BUY")
    assert (fill.price, fill.size) == (Decimal("0.55"), Decimal(20))
    assert fill.liquidity == LiquiditySide.MAKER
    assert fill.commission() == 0


def test_the_taker_leg_is_ours_only_when_we_took_and_pays_the_fee_curve() -> None:
    assert our_fills(_trade(OTHER, "TAKER", []), ME) == []
    (fill,) = our_fills(_trade(ME, "TAKER", []), ME)
    assert (fill.order_id, fill.asset_id, fill.liquidity) == ("0xtaker", "222", LiquiditySide.TAKER)
    # 30 shares x 2% x 0.45 x 0.55
    assert fill.commission() == Decimal("0.1485")


def test_fill_ids_are_stable_per_leg_and_fit_nautilus() -> None:
    trade = _trade(
        ME,
        "TAKER",
        [
            _maker(ME, "0xa", "111", "BUY", "0.55", "5"),
            _maker(ME, "0xb", "111", "BUY", "0.55", "5"),
        ],
    )
    ids = [f.fill_id for f in our_fills(trade, ME)]
    assert len(set(ids)) == 3 and all(len(i) <= 36 for i in ids)
    assert ids == [f.fill_id for f in our_fills(trade, ME)]
    report = fill_report(our_fills(trade, ME)[1], YES, ACCOUNT, None, ts_init=5)
    assert report.ts_event == 1_700_000_000 * 1_000_000_000
    assert str(report.last_qty) == "5.000000"


@pytest.mark.parametrize(
    ("status", "matched", "expected"),
    [
        ("LIVE", "0", OrderStatus.ACCEPTED),
        ("LIVE", "2.5", OrderStatus.PARTIALLY_FILLED),
        ("MATCHED", "10", OrderStatus.FILLED),
        ("CANCELED", "0", OrderStatus.CANCELED),
    ],
)
def test_order_records_map_to_status_reports(status: str, matched: str, expected) -> None:
    record = {
        "id": "0xabc",
        "status": status,
        "market": MARKET["condition_id"],
        "asset_id": "111",
        "side": "BUY",
        "original_size": "10",
        "size_matched": matched,
        "price": "0.45",
        "created_at": 1705322096,
        "expiration": "0",
        "order_type": "GTC",
    }
    report = order_status_report(record, YES, ACCOUNT, None, ts_init=1)
    assert report.order_status == expected
    assert str(report.filled_qty) == Decimal(matched).quantize(Decimal("0.000001")).to_eng_string()


@pytest.mark.parametrize(
    ("held", "resting", "quantity", "uncovered"),
    [
        ("100", "0", "50", "0"),
        ("100", "60", "50", "10"),
        ("0", "0", "5", "5"),
        ("10", "30", "5", "5"),
    ],
)
def test_uncovered_sell(held: str, resting: str, quantity: str, uncovered: str) -> None:
    assert uncovered_sell(Decimal(held), Decimal(resting), Decimal(quantity)) == Decimal(uncovered)
