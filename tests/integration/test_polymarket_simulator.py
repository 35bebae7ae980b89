"""The local Polymarket CLOB V2 simulator, checked with an independent client (py-clob-client-v2,
the official SDK) and raw aiohttp/urllib requests.

If the official SDK, which knows nothing of the simulator, can create keys, read books, sign and
post orders and follow their trades against it, and the venue's published signing vectors verify,
then the simulator speaks Polymarket's protocol well enough to test our own clients against it.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import ApiCreds as SdkCreds
from py_clob_client_v2.clob_types import AssetType
from py_clob_client_v2.clob_types import BalanceAllowanceParams
from py_clob_client_v2.clob_types import MarketOrderArgsV2
from py_clob_client_v2.clob_types import OrderArgsV2
from py_clob_client_v2.clob_types import OrderMarketCancelParams
from py_clob_client_v2.clob_types import OrderPayload
from py_clob_client_v2.clob_types import OrderType
from py_clob_client_v2.clob_types import PartialCreateOrderOptions
from py_clob_client_v2.clob_types import PostOrdersV2Args
from py_clob_client_v2.clob_types import PricesHistoryParams
from py_clob_client_v2.clob_types import TradeParams
from py_clob_client_v2.exceptions import PolyApiException
from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2
from py_clob_client_v2.order_utils.model.order_data_v2 import OrderDataV2
from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2
from py_clob_client_v2.order_utils.model.side import Side
from py_clob_client_v2.signer import Signer

from tests.venues.polymarket import ANVIL_KEYS
from tests.venues.polymarket import PolymarketSimulator
from tests.venues.polymarket.markets import MarketSpec
from tests.venues.polymarket.orders import implied_price_and_size
from tests.venues.polymarket.orders import snap_to_tick
from tests.venues.polymarket.orders import taker_fee
from tests.venues.polymarket.process import PolymarketSimulatorProcess
from tests.venues.polymarket.signing import EXCHANGE_V2
from tests.venues.polymarket.signing import NEG_RISK_EXCHANGE_V2
from tests.venues.polymarket.signing import SignedOrderFields
from tests.venues.polymarket.signing import hmac_signature
from tests.venues.polymarket.signing import message_digest
from tests.venues.polymarket.signing import order_message
from tests.venues.polymarket.signing import recover_clob_auth_signer
from tests.venues.polymarket.signing import sign_clob_auth
from tests.venues.polymarket.signing import sign_message

pytestmark = [pytest.mark.polymarket]
sockets = pytest.mark.integration

PK_A, PK_B = ANVIL_KEYS[0], ANVIL_KEYS[1]
ADDR_A = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
START_PUSD = Decimal(10_000)
# Fields nautilus' msgspec schemas require (adapters/polymarket/schemas/{user,trade,order}.py).
USER_ORDER_FIELDS = {
    "asset_id", "associate_trades", "created_at", "expiration", "id", "maker_address", "market",
    "order_owner", "order_type", "original_size", "outcome", "owner", "price", "side",
    "size_matched", "status", "timestamp", "type",
}  # fmt: skip
USER_TRADE_FIELDS = {
    "asset_id", "bucket_index", "fee_rate_bps", "id", "last_update", "maker_address",
    "maker_orders", "market", "match_time", "outcome", "owner", "price", "side", "size", "status",
    "taker_order_id", "timestamp", "trade_owner", "trader_side", "type",
}  # fmt: skip
TRADE_REPORT_FIELDS = {
    "id", "taker_order_id", "market", "asset_id", "side", "size", "fee_rate_bps", "price",
    "status", "match_time", "last_update", "outcome", "bucket_index", "owner", "maker_address",
    "transaction_hash", "maker_orders", "trader_side",
}  # fmt: skip
MAKER_ORDER_FIELDS = {
    "asset_id", "fee_rate_bps", "maker_address", "matched_amount", "order_id", "outcome", "owner",
    "price",
}  # fmt: skip
OPEN_ORDER_FIELDS = {
    "associate_trades", "id", "status", "market", "original_size", "outcome", "maker_address",
    "owner", "price", "side", "size_matched", "asset_id", "expiration", "order_type",
    "created_at",
}  # fmt: skip


# ---- fixtures and helpers --------------------------------------------------------------------


@pytest.fixture
def sim() -> Iterator[PolymarketSimulator]:
    # No background crowd moves (tests script every move), fast settlement and heartbeat timers,
    # and two-row pages so cursor pagination is exercised.
    s = PolymarketSimulator(
        seed=3,
        updates_per_s=0,
        mined_after_s=0.05,
        confirmed_after_s=0.1,
        heartbeat_timeout_s=1.0,
        page_limit=2,
    ).start_in_thread()
    yield s
    s.stop()


def tokens(sim: PolymarketSimulator, market: int = 0) -> tuple[str, str, str]:
    """(condition id, YES token, NO token) of a market."""
    m = sim.info()["markets"][market]
    return m["condition_id"], m["token_ids"][0], m["token_ids"][1]


def client(sim: PolymarketSimulator, key: str = PK_A) -> ClobClient:
    """The official SDK with L2 credentials obtained through L1 (create, else derive)."""
    c = ClobClient(sim.clob_url, chain_id=137, key=key)
    c.set_api_creds(c.create_or_derive_api_key())
    return c


def buy(token_id: str, price: float, size: float) -> OrderArgsV2:
    return OrderArgsV2(token_id=token_id, price=price, size=size, side="BUY")


def sell(token_id: str, price: float, size: float) -> OrderArgsV2:
    return OrderArgsV2(token_id=token_id, price=price, size=size, side="SELL")


def api_error(call: Callable[[], Any]) -> tuple[int | None, str]:
    """(status, error message) of an SDK call the venue refuses."""
    with pytest.raises(PolyApiException) as err:
        call()
    body = err.value.error_msg
    return err.value.status_code, body["error"] if isinstance(body, dict) else str(body)


def l2_request(
    sim: PolymarketSimulator,
    c: ClobClient,
    method: str,
    path: str,
    body: Any = None,
    *,
    secret: str | None = None,
    timestamp: int | None = None,
    timeout_s: float = 5.0,
) -> httpx.Response:
    """A hand-signed L2 request (the simulator's own HMAC helper, independent of the SDK's)."""
    raw = json.dumps(body, separators=(",", ":")) if body is not None else ""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    creds = c.creds
    headers = {
        "POLY_ADDRESS": c.get_address(),
        "POLY_API_KEY": creds.api_key,
        "POLY_PASSPHRASE": creds.api_passphrase,
        "POLY_TIMESTAMP": ts,
        "POLY_SIGNATURE": hmac_signature(secret or creds.api_secret, ts, method, path, raw),
        "Content-Type": "application/json",
    }
    return httpx.request(
        method, f"{sim.clob_url}{path}", content=raw, headers=headers, timeout=timeout_s
    )


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def wait_until(check: Callable[[], Any], what: str, timeout_s: float = 10.0) -> Any:
    """Poll a venue state that changes on the simulator's timers."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def collateral(sim: PolymarketSimulator, key: str = PK_A) -> Decimal:
    return Decimal(sim.balances(key)["collateral"])


def book_level(c: ClobClient, token_id: str, price: str) -> Decimal:
    sizes = {b["price"]: b["size"] for b in c.get_order_book(token_id)["bids"]}
    return Decimal(sizes.get(price, "0"))


def raw_order(key: str, token_id: str, *, maker_amount: int, taker_amount: int) -> Any:
    """A BUY signed by the SDK's order builder from raw amounts (no client-side checks)."""
    signer = Signer(key, 137)
    return ExchangeOrderBuilderV2(EXCHANGE_V2, 137, signer).build_signed_order(
        OrderDataV2(
            maker=signer.address(),
            tokenId=token_id,
            makerAmount=str(maker_amount),
            takerAmount=str(taker_amount),
            side=Side.BUY,
        )
    )


# ---- pure: signing vectors and order maths ---------------------------------------------------


def test_published_signing_vectors() -> None:
    # L1 ClobAuth (venues.md 2.3: the official test vector, and one computed with the SDK).
    address, sig = sign_clob_auth(PK_A, "10000000", 23, chain_id=80002)
    assert address == ADDR_A
    assert sig == (
        "0xf62319a987514da40e57e2f4d7529f7bac38f0355bd88bb5adbb3768d80de6c1"
        "682518e0af677d5260366425f4361e7b70c25ae232aff0ab2331e2b164a1aedc1b"
    )
    polygon_sig = (
        "0x659ed4b28ae28e0f038fdf0023c00863c9559caacb9ebc83f44eea87059a099a"
        "36f1e1dee110e7faa1c4f65d17489b2da1333ebef78bbe2116d81207b975052d1c"
    )
    assert recover_clob_auth_signer(ADDR_A, "1700000000", 0, polygon_sig) == ADDR_A
    assert recover_clob_auth_signer(ADDR_A, "1700000001", 0, polygon_sig) != ADDR_A
    # L2 HMAC (official vectors).
    assert (
        hmac_signature(
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "1000000",
            "test-sign",
            "/orders",
            '{"hash": "0x123"}',
        )
        == "ZwAdJKvoYRlEKDkNMwd5BuwNNtg93kNaR_oU2HrfVvc="
    )
    assert (
        hmac_signature(
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "1700000000",
            "POST",
            "/order",
            '{"a":1}',
        )
        == "cLK0Q2Ed2O7DADp_5dDi2ytUgLoAal-l_plGYO-Tnzs="
    )
    # V2 order: signature and order id (= EIP-712 digest) of the venues.md 2.4 vector.
    fields = SignedOrderFields(
        salt=123456789, maker=ADDR_A, signer=ADDR_A, token_id=1234567890, maker_amount=4410000,
        taker_amount=10500000, side=0, signature_type=0, timestamp_ms=1700000000000,
        metadata=bytes(32), builder=bytes(32),
    )  # fmt: skip
    message = order_message(fields, EXCHANGE_V2, 137)
    assert message_digest(message) == (
        "0xa01c20da0196bb511232cd0728a42deeb7a6debb8c5b747c90bb33eb7dae486c"
    )
    assert sign_message(message, PK_A) == (
        "0xe97768bb140d3b37317c5471a89ef0a9c0a3e62cdda15cd904cae5575602226256"
        "958df124fe9843af599d5b9f2502065f8974a5e609e9bc05dac5ff04fc8f2a1c"
    )
    # The neg-risk exchange is another EIP-712 domain: another id.
    assert message_digest(order_message(fields, NEG_RISK_EXCHANGE_V2, 137)) != message_digest(
        message
    )


def test_order_maths_and_market_ids() -> None:
    assert implied_price_and_size("BUY", 4_410_000, 10_500_000) == (
        Decimal("0.42"),
        Decimal("10.5"),
    )
    assert implied_price_and_size("SELL", 10_000_000, 5_700_000) == (Decimal("0.57"), Decimal(10))
    tick = Decimal("0.01")
    assert snap_to_tick(Decimal("0.42"), tick) == Decimal("0.42")
    assert snap_to_tick(Decimal(10) / Decimal("19.2307"), tick) == Decimal("0.52")  # market BUY
    assert snap_to_tick(Decimal("0.425"), tick) is None
    assert taker_fee(Decimal(100), Decimal("0.5"), Decimal("0.02"), Decimal(1)) == Decimal("0.5")
    assert taker_fee(Decimal(100), Decimal("0.5"), Decimal(0), Decimal(1)) == 0
    spec = MarketSpec(slug="x", question="x?")
    assert spec.condition_id.startswith("0x") and len(spec.condition_id) == 66
    assert all(len(t) == 77 and t.isdigit() for t in spec.token_ids)
    assert MarketSpec(slug="x", question="y?").token_ids == spec.token_ids  # from the slug
    with pytest.raises(ValueError, match="tick_size"):
        MarketSpec(slug="x", question="x?", tick_size=Decimal("0.02"))


# ---- REST: auth ------------------------------------------------------------------------------


@sockets
def test_l1_create_and_derive_api_keys(sim: PolymarketSimulator) -> None:
    c = ClobClient(sim.clob_url, chain_id=137, key=PK_A)
    created = c.create_api_key()
    assert len(created.api_key) == 36 and len(created.api_passphrase) == 64
    assert api_error(c.create_api_key) == (400, "Could not create api key")
    assert c.derive_api_key() == created  # deterministic per (address, nonce)
    second = c.derive_api_key(nonce=1)
    assert second != created
    assert c.create_or_derive_api_key() == created
    # L1 signed by another wallet than POLY_ADDRESS claims.
    _, forged = sign_clob_auth(PK_B, str(int(time.time())), 0)
    headers = {
        "POLY_ADDRESS": ADDR_A,
        "POLY_SIGNATURE": forged,
        "POLY_TIMESTAMP": str(int(time.time())),
        "POLY_NONCE": "0",
    }
    r = httpx.get(f"{sim.clob_url}/auth/derive-api-key", headers=headers)
    assert (r.status_code, r.json()) == (401, {"error": "Invalid L1 Request headers"})
    c.set_api_creds(created)
    assert sorted(c.get_api_keys()["apiKeys"]) == sorted([created.api_key, second.api_key])
    assert c.get_closed_only_mode() == {"closed_only": False}


@sockets
def test_bad_l2_requests_are_unauthorized(sim: PolymarketSimulator) -> None:
    c = client(sim)
    assert l2_request(sim, c, "GET", "/data/orders").status_code == 200
    unauthorized = {"error": "Unauthorized/Invalid api key"}
    wrong_secret = "B" * 43 + "="
    for r in (
        l2_request(sim, c, "GET", "/data/orders", secret=wrong_secret),
        l2_request(sim, c, "GET", "/data/orders", timestamp=int(time.time()) - 3600),
        l2_request(sim, c, "DELETE", "/cancel-all", secret=wrong_secret),
    ):
        assert (r.status_code, r.json()) == (401, unauthorized)
    # The signature covers the body: a body changed after signing is refused.
    good = l2_request(sim, c, "DELETE", "/order", {"orderID": "0x" + "1" * 64})
    assert good.status_code == 200 and good.json()["not_canceled"]
    c.creds = SdkCreds(c.creds.api_key, c.creds.api_secret, "wrong-passphrase")
    assert api_error(c.get_open_orders)[0] == 401


# ---- REST: market data -----------------------------------------------------------------------


@sockets
def test_markets_book_and_prices(sim: PolymarketSimulator) -> None:
    c = ClobClient(sim.clob_url, chain_id=137)
    cid, yes, no = tokens(sim)
    neg_cid, neg_yes, _ = tokens(sim, 1)
    assert c.get_version() == 2 and c.get_ok() == "OK"
    assert abs(c.get_server_time() - time.time()) < 5
    markets = c.get_markets()
    assert markets["count"] == 2 and markets["next_cursor"] == "LTE="
    market = c.get_market(cid)
    assert [t["token_id"] for t in market["tokens"]] == [yes, no]
    assert market["minimum_tick_size"] == "0.01" and market["neg_risk"] is False
    assert c.get_clob_market_info(neg_cid)["nr"] is True
    assert get_json(f"{sim.clob_url}/markets-by-token/{no}")["condition_id"] == cid
    assert (c.get_tick_size(yes), c.get_neg_risk(yes)) == ("0.01", False)
    assert (c.get_tick_size(neg_yes), c.get_neg_risk(neg_yes)) == ("0.001", True)

    book = c.get_order_book(yes)
    bids = [Decimal(b["price"]) for b in book["bids"]]
    asks = [Decimal(a["price"]) for a in book["asks"]]
    assert bids == sorted(bids) and asks == sorted(asks, reverse=True)  # best level last
    assert (bids[-1], asks[-1]) == (Decimal("0.48"), Decimal("0.52"))
    assert book["hash"] == c.get_order_book_hash(dict(book))  # the SDK's server-compatible hash
    no_book = c.get_order_book(no)  # the mirror of the YES book
    assert (no_book["bids"][-1]["price"], no_book["asks"][-1]["price"]) == ("0.48", "0.52")
    assert no_book["bids"][-1]["size"] == book["asks"][-1]["size"]
    assert c.get_midpoint(yes) == {"mid": "0.5"} and c.get_spread(yes) == {"spread": "0.04"}
    assert c.get_price(yes, "BUY") == {"price": "0.48"}
    assert c.get_last_trade_price(yes) == {"price": "0.5", "side": ""}
    assert [b["asset_id"] for b in c.get_order_books([{"token_id": yes}, {"token_id": no}])] == [
        yes,
        no,
    ]
    history = c.get_prices_history(PricesHistoryParams(market=yes, interval="1h", fidelity=10))
    points = history["history"]
    assert 5 <= len(points) <= 7 and all(0 < p["p"] < 1 for p in points)
    assert api_error(lambda: c.get_order_book("123"))[0] == 404


@sockets
def test_gamma_and_data_api_shapes(sim: PolymarketSimulator) -> None:
    cid, yes, no = tokens(sim)
    gamma = get_json(f"{sim.gamma_url}/markets?condition_ids={cid}")
    assert len(gamma) == 1
    market = gamma[0]
    assert json.loads(market["clobTokenIds"]) == [yes, no]  # JSON-encoded strings, as Gamma
    assert json.loads(market["outcomes"]) == ["Yes", "No"]
    assert market["orderPriceMinTickSize"] == 0.01 and market["negRisk"] is False
    page = get_json(f"{sim.gamma_url}/markets/keyset?limit=1")
    assert len(page["markets"]) == 1 and page["next_cursor"]
    last = get_json(f"{sim.gamma_url}/markets/keyset?limit=1&after_cursor={page['next_cursor']}")
    assert last["next_cursor"] is None and last["markets"][0]["negRisk"] is True
    assert last["markets"][0]["feeSchedule"]["rate"] == 0.02
    with pytest.raises(urllib.error.HTTPError) as err:
        get_json(f"{sim.gamma_url}/markets/keyset?offset=1")
    assert err.value.code == 400
    slug = market["slug"]
    assert get_json(f"{sim.gamma_url}/markets/slug/{slug}")["conditionId"] == cid
    events = get_json(f"{sim.gamma_url}/events?slug=simville-election-winner")
    assert events[0]["negRisk"] is True and len(events[0]["markets"]) == 1

    c = client(sim)
    c.create_and_post_order(buy(yes, 0.52, 10))  # takes the crowd's ask
    trades = get_json(f"{sim.data_api_url}/trades?market={cid}")
    assert trades[0]["proxyWallet"] == ADDR_A and trades[0]["side"] == "BUY"
    assert (trades[0]["size"], trades[0]["price"], trades[0]["asset"]) == (10.0, 0.52, yes)
    positions = get_json(f"{sim.data_api_url}/positions?user={ADDR_A}&sizeThreshold=0")
    assert [(p["asset"], p["conditionId"], p["size"]) for p in positions] == [(yes, cid, 10.0)]
    assert positions[0]["avgPrice"] == 0.52


# ---- REST: orders ----------------------------------------------------------------------------


@sockets
def test_gtc_order_post_only_and_cancel(sim: PolymarketSimulator) -> None:
    c = client(sim)
    cid, yes, _ = tokens(sim)
    level_before = book_level(c, yes, "0.45")
    signed = c.create_order(buy(yes, 0.45, 10))
    builder = ExchangeOrderBuilderV2(EXCHANGE_V2, 137, Signer(PK_A, 137))
    expected_id = builder.build_order_hash(builder.build_order_typed_data(signed))
    placed = c.post_order(signed, OrderType.GTC, post_only=True)
    assert placed["success"] and placed["status"] == "live"
    assert placed["orderID"] == expected_id  # the order id is the EIP-712 digest

    open_orders = c.get_open_orders()
    assert [o["id"] for o in open_orders] == [expected_id]
    order = open_orders[0]
    assert set(order) >= OPEN_ORDER_FIELDS
    assert (order["status"], order["price"], order["original_size"]) == ("LIVE", "0.45", "10")
    assert (order["market"], order["asset_id"], order["maker_address"]) == (cid, yes, ADDR_A)
    assert c.get_order(expected_id)["status"] == "LIVE"
    assert book_level(c, yes, "0.45") == level_before + 10  # joins the crowd's level

    status, message = api_error(lambda: c.create_and_post_order(buy(yes, 0.52, 10), post_only=True))
    assert (status, message) == (400, "invalid post-only order: order crosses book")
    assert (
        api_error(lambda: c.post_order(signed))[1] == f"order {expected_id} is invalid. Duplicated."
    )

    assert c.cancel_order(OrderPayload(orderID=expected_id)) == {
        "canceled": [expected_id],
        "not_canceled": {},
    }
    again = c.cancel_order(OrderPayload(orderID=expected_id))
    assert again["not_canceled"][expected_id].endswith("already canceled or matched")
    assert c.get_open_orders() == [] and c.get_order(expected_id)["status"] == "CANCELED"


@sockets
def test_batch_post_pagination_and_cancels(sim: PolymarketSimulator) -> None:
    c = client(sim)
    _, yes, no = tokens(sim)
    neg_cid, neg_yes, _ = tokens(sim, 1)
    args = [
        PostOrdersV2Args(order=c.create_order(buy(yes, 0.40 + i / 100, 5)), orderType=OrderType.GTC)
        for i in range(4)
    ]
    args.append(PostOrdersV2Args(order=c.create_order(buy(no, 0.30, 4))))  # below minimum size
    result = c.post_orders(args)
    assert [r["success"] for r in result] == [True, True, True, True, False]
    assert result[4]["errorMsg"].endswith("Size (4) lower than the minimum: 5")
    assert result[4]["orderID"].startswith("0x")  # the id the order would have had
    too_many = [PostOrdersV2Args(order=c.create_order(buy(yes, 0.30, 5)))] * 16
    assert api_error(lambda: c.post_orders(too_many)) == (
        400,
        "Too many orders in payload: 16, max allowed: 15",
    )
    c.create_and_post_order(buy(neg_yes, 0.2, 5), options=PartialCreateOrderOptions(neg_risk=True))
    # Pages hold two orders here: the SDK follows next_cursor to the end ("LTE=").
    assert len(c.get_open_orders()) == 5
    page = l2_request(sim, c, "GET", "/data/orders").json()
    assert (page["count"], page["limit"]) == (2, 2) and page["next_cursor"] == "Mg=="

    ids = [r["orderID"] for r in result[:4]]
    assert c.cancel_orders(ids[:2])["canceled"] == ids[:2]
    assert c.cancel_market_orders(OrderMarketCancelParams(market=neg_cid))["canceled"]
    assert set(c.cancel_all()["canceled"]) == set(ids[2:])
    assert c.get_open_orders() == []
    assert sim.orders(PK_A, status="LIVE") == []


@sockets
def test_order_rules(sim: PolymarketSimulator) -> None:
    c, other = client(sim), client(sim, PK_B)
    _, yes, no = tokens(sim)
    # Off the tick grid: amounts implying 0.455 in a 0.01 market (the SDK itself refuses these).
    off_grid = raw_order(PK_A, yes, maker_amount=4_550_000, taker_amount=10_000_000)
    r = l2_request(sim, c, "POST", "/order", order_to_json_v2(off_grid, c.creds.api_key, "GTC"))
    assert r.status_code == 400
    assert r.json()["error"].endswith("Price (0.455) breaks minimum tick size rule: 0.01")
    assert (
        "lower than the minimum: 5"
        in api_error(lambda: c.create_and_post_order(buy(yes, 0.4, 4.99)))[1]
    )
    # No naked sells, and BUYs need free collateral (open BUY orders reserve theirs).
    assert api_error(lambda: c.create_and_post_order(sell(no, 0.6, 5)))[1] == (
        "not enough balance / allowance"
    )
    c.create_and_post_order(buy(yes, 0.40, 20_000))  # reserves 8,000 of 10,000 pUSD
    assert api_error(lambda: c.create_and_post_order(buy(yes, 0.40, 5_001)))[1] == (
        "not enough balance / allowance"
    )
    # The order's signer must be the API key's address, its owner the API key.
    foreign = other.create_order(buy(yes, 0.3, 5))
    assert api_error(lambda: c.post_order(foreign))[1] == (
        "the order signer address has to be the address of the API KEY"
    )
    body = order_to_json_v2(c.create_order(buy(yes, 0.3, 5)), other.creds.api_key, "GTC")
    r = l2_request(sim, c, "POST", "/order", body)
    assert r.json() == {"error": "the order owner has to be the owner of the API KEY"}
    # A signature that does not cover the amounts sent is refused.
    tampered = order_to_json_v2(c.create_order(buy(yes, 0.3, 5)), c.creds.api_key, "GTC")
    tampered["order"]["takerAmount"] = "6000000"
    r = l2_request(sim, c, "POST", "/order", tampered)
    assert (r.status_code, r.json()) == (400, {"error": "invalid signature"})
    # Expirations: GTC must not carry one, GTD needs one beyond the 60 s security threshold.
    gtc = OrderArgsV2(
        token_id=yes, price=0.3, size=5, side="BUY", expiration=int(time.time()) + 600
    )
    assert api_error(lambda: c.create_and_post_order(gtc))[1] == "invalid expiration"
    soon = OrderArgsV2(
        token_id=yes, price=0.3, size=5, side="BUY", expiration=int(time.time()) + 30
    )
    assert api_error(lambda: c.create_and_post_order(soon, order_type=OrderType.GTD))[1] == (
        "invalid expiration"
    )


@sockets
def test_gtd_expiry_fok_and_fak(sim: PolymarketSimulator) -> None:
    c = client(sim)
    _, yes, _ = tokens(sim)
    gtd = OrderArgsV2(token_id=yes, price=0.3, size=5, side="BUY", expiration=int(time.time()) + 62)
    placed = c.create_and_post_order(gtd, order_type=OrderType.GTD)
    assert c.get_order(placed["orderID"])["order_type"] == "GTD"
    # It lives until expiration - 60 s.
    wait_until(lambda: c.get_order(placed["orderID"])["status"] == "CANCELED", "GTD expiry")

    ask_size = Decimal(c.get_order_book(yes)["asks"][-1]["size"])  # 0.52, then 0.53, ...
    fok = MarketOrderArgsV2(token_id=yes, amount=5_000, side="BUY", price=0.52)
    assert api_error(lambda: c.create_and_post_market_order(fok, order_type=OrderType.FOK))[1] == (
        "order couldn't be fully filled. FOK orders are fully filled or killed."
    )
    fak = OrderArgsV2(token_id=yes, price=0.52, size=float(ask_size) + 100, side="BUY")
    placed = c.create_and_post_order(fak, order_type=OrderType.FAK)
    assert placed["status"] == "matched" and Decimal(placed["takingAmount"]) == ask_size
    order = c.get_order(placed["orderID"])
    assert order["status"] == "CANCELED" and Decimal(order["size_matched"]) == ask_size
    none_left = OrderArgsV2(token_id=yes, price=0.52, size=5, side="BUY")
    assert api_error(lambda: c.create_and_post_order(none_left, order_type=OrderType.FAK))[1] == (
        "no orders found to match with FAK order. FAK orders are partially filled or killed if "
        "no match is found."
    )
    market_buy = MarketOrderArgsV2(token_id=yes, amount=5.3, side="BUY")  # $ amount, SDK prices it
    placed = c.create_and_post_market_order(market_buy, order_type=OrderType.FOK)
    assert placed["status"] == "matched" and placed["makingAmount"] == "5.3"


# ---- fills, trades and balances --------------------------------------------------------------


@sockets
def test_fills_trade_statuses_and_balances(sim: PolymarketSimulator) -> None:
    c = client(sim)
    cid, yes, _ = tokens(sim)
    # Taker: BUY YES through the crowd's ask (a SELL YES or a BUY NO: a transfer or a mint).
    taken = c.create_and_post_order(buy(yes, 0.53, 10))
    assert taken["status"] == "matched"
    assert (taken["makingAmount"], taken["takingAmount"]) == ("5.2", "10")
    assert taken["transactionsHashes"]  # the SDK polled /data/trades until the trade was mined
    assert collateral(sim) == START_PUSD - Decimal("5.2")
    trade = c.get_trades(TradeParams(id=taken["tradeIDs"][0]))[0]
    assert set(trade) >= TRADE_REPORT_FIELDS
    assert all(set(m) >= MAKER_ORDER_FIELDS for m in trade["maker_orders"])
    assert (trade["trader_side"], trade["side"], trade["price"], trade["size"]) == (
        "TAKER", "BUY", "0.52", "10",
    )  # fmt: skip
    assert trade["owner"] == c.creds.api_key and trade["maker_address"] == ADDR_A
    wait_until(
        lambda: c.get_trades(TradeParams(id=trade["id"]))[0]["status"] == "CONFIRMED",
        "CONFIRMED",
    )
    balance = c.get_balance_allowance(BalanceAllowanceParams(asset_type=AssetType.COLLATERAL))
    assert balance["balance"] == str(int((START_PUSD - Decimal("5.2")) * 1_000_000))
    held = c.get_balance_allowance(
        BalanceAllowanceParams(asset_type=AssetType.CONDITIONAL, token_id=yes)
    )
    assert held["balance"] == "10000000"

    # Maker: a resting SELL of the YES just bought fills when the crowd's bid moves through it.
    resting = c.create_and_post_order(sell(yes, 0.55, 10))
    sim.market.move_to("0.56", "0.60", market=cid)
    assert c.get_order(resting["orderID"])["status"] == "MATCHED"
    made = c.get_trades(TradeParams(market=cid))[0]  # newest first
    assert made["trader_side"] == "MAKER" and made["owner"] == c.creds.api_key
    mine = [m for m in made["maker_orders"] if m["owner"] == c.creds.api_key]
    assert [(m["side"], m["price"], m["matched_amount"]) for m in mine] == [("SELL", "0.55", "10")]
    assert collateral(sim) == START_PUSD - Decimal("5.2") + Decimal("5.5")
    assert sim.balances(PK_A)["positions"][yes]["size"] == "0"
    assert len(c.get_trades()) == 2


@sockets
def test_failed_trade_reverses_its_settlement(sim: PolymarketSimulator) -> None:
    c = client(sim)
    _, yes, _ = tokens(sim)
    sim.fail_next_trades(1)
    placed = c.create_and_post_order(buy(yes, 0.52, 10), defer_exec=True)
    assert collateral(sim) == START_PUSD - Decimal("5.2")  # settled at MATCHED
    trade_id = placed["tradeIDs"][0]
    wait_until(
        lambda: [t["status"] for t in c.get_trades(TradeParams(id=trade_id))] == ["FAILED"],
        "FAILED",
    )
    assert collateral(sim) == START_PUSD
    assert sim.balances(PK_A)["positions"][yes]["size"] == "0"
    trade = c.get_trades(TradeParams(id=trade_id))[0]
    assert trade["transaction_hash"] == ""


@sockets
def test_neg_risk_market_signs_for_its_exchange_and_charges_taker_fees(
    sim: PolymarketSimulator,
) -> None:
    c = client(sim)
    _, neg_yes, _ = tokens(sim, 1)
    wrong_domain = c.create_order(
        buy(neg_yes, 0.2, 5), options=PartialCreateOrderOptions(neg_risk=False)
    )
    assert api_error(lambda: c.post_order(wrong_domain))[1] == "invalid signature"
    placed = c.create_and_post_order(buy(neg_yes, 0.33, 10))  # the SDK asks /neg-risk
    assert placed["status"] == "matched"
    fee = taker_fee(Decimal(10), Decimal("0.325"), Decimal("0.02"), Decimal(1))
    assert fee > 0
    assert collateral(sim) == START_PUSD - Decimal("3.25") - fee
    assert c.get_trades()[0]["fee_rate_bps"] == "200"


@sockets
def test_scripted_crowd_fills_resting_quotes() -> None:
    # A running crowd: resting quotes at the touch fill as the scripted market moves.
    sim = PolymarketSimulator(seed=11, updates_per_s=200, mined_after_s=0.05).start_in_thread()
    try:
        c = client(sim)
        _, yes, no = tokens(sim)
        c.create_and_post_order(buy(yes, 0.48, 5))
        c.create_and_post_order(buy(no, 0.48, 5))  # the best NO bid: the YES ask at 0.52
        wait_until(lambda: c.get_trades(), "a fill from the scripted market")
        assert sim.market.steps > 0
        trade = c.get_trades()[0]
        assert trade["trader_side"] == "MAKER"
    finally:
        sim.stop()


@sockets
def test_heartbeat_lapse_cancels_orders(sim: PolymarketSimulator) -> None:
    c = client(sim)
    _, yes, _ = tokens(sim)
    placed = c.create_and_post_order(buy(yes, 0.40, 5))
    first = c.post_heartbeat("")["heartbeat_id"]
    second = c.post_heartbeat(first)["heartbeat_id"]
    assert second != first  # the id rotates
    status, message = api_error(lambda: c.post_heartbeat("not-the-current-id"))
    assert (status, message) == (400, "Invalid Heartbeat ID")
    c.post_heartbeat(second)
    # Heartbeats stop: after the timeout (1 s here) every open order is cancelled.
    wait_until(lambda: sim.heartbeat_state(PK_A)["lapses"] == 1, "heartbeat lapse")
    assert c.get_order(placed["orderID"])["status"] == "CANCELED"
    assert sim.heartbeat_state(PK_A)["active"] is False

    # Control case: a venue that does not honour the lapse keeps the orders.
    sim.heartbeats(honour=False)
    kept = c.create_and_post_order(buy(yes, 0.40, 5))
    c.post_heartbeat("")
    wait_until(lambda: sim.heartbeat_state(PK_A)["lapses"] == 2, "second lapse")
    assert c.get_order(kept["orderID"])["status"] == "LIVE"


# ---- faults and ways to run ------------------------------------------------------------------


@sockets
def test_http_faults_and_order_timeout(sim: PolymarketSimulator) -> None:
    c = client(sim)
    _, yes, _ = tokens(sim)
    sim.fail_next(1, status=503, path="/book")
    assert api_error(lambda: c.get_order_book(yes)) == (503, "Internal server error")
    assert c.get_order_book(yes)["asset_id"] == yes
    sim.fail_next(1, status=429)
    assert api_error(c.get_open_orders) == (429, "Too Many Requests")
    # After-5xx: the order is placed although the client sees an error (an ambiguous outcome).
    sim.fail_next(1, status=500, path="/order", method="POST", after=True)
    assert api_error(lambda: c.create_and_post_order(buy(yes, 0.41, 5)))[0] == 500
    assert len(c.get_open_orders()) == 1
    # Order timeout: accepted at once, answered too late for the client.
    sim.order_timeout_next(1, delay_s=2.0)
    body = order_to_json_v2(c.create_order(buy(yes, 0.42, 5)), c.creds.api_key, "GTC")
    with pytest.raises(httpx.TimeoutException):
        l2_request(sim, c, "POST", "/order", body, timeout_s=0.3)
    assert len(c.get_open_orders()) == 2
    assert [r.path for r in sim.requests if r.method == "POST"].count("/order") >= 2


@sockets
def test_standalone_process(tmp_path: Path) -> None:
    with PolymarketSimulatorProcess.start(
        tmp_path, "--updates-per-s", "0", "--account", f"{ADDR_A}:123.5"
    ) as proc:
        assert proc.clob_url.startswith("http://127.0.0.1:") and proc.ws_url.endswith("/ws/")
        assert get_json(f"{proc.clob_url}/version") == {"version": 2}
        proc.control.post("fail", n=1, status=503, path="/time")
        with pytest.raises(urllib.error.HTTPError) as err:
            get_json(f"{proc.clob_url}/time")
        assert err.value.code == 503
        assert proc.control.get("balances", address=ADDR_A)["collateral"] == "123.5"
        assert [r["path"] for r in proc.control.get("requests")] == ["/version", "/time"]
        assert len(proc.markets) == 2


# ---- WebSocket -------------------------------------------------------------------------------


async def receive(
    ws: aiohttp.ClientWebSocketResponse, want: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The next pushed event (messages may be JSON arrays) that `want` accepts."""
    while True:
        msg = await asyncio.wait_for(ws.receive(), 10)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        if msg.data == "PONG":
            continue
        data = json.loads(msg.data)
        for event in data if isinstance(data, list) else [data]:
            if want(event):
                return event


async def until_pong(ws: aiohttp.ClientWebSocketResponse) -> list[Any]:
    """Send PING; the messages received before its PONG."""
    await ws.send_str("PING")
    seen = []
    while (msg := await asyncio.wait_for(ws.receive(), 10)).data != "PONG":
        seen.append(json.loads(msg.data))
    return seen


def kind(event_type: str, **fields: Any) -> Callable[[dict[str, Any]], bool]:
    return lambda e: (
        e.get("event_type") == event_type and all(e.get(k) == v for k, v in fields.items())
    )


@sockets
async def test_ws_market_channel(sim: PolymarketSimulator) -> None:
    c = await asyncio.to_thread(client, sim)
    cid, yes, no = tokens(sim)
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{sim.ws_url}market") as ws:
            await ws.send_str(
                json.dumps({"assets_ids": [yes], "type": "market", "custom_feature_enabled": True})
            )
            first = await ws.receive()
            snapshot = json.loads(first.data)
            assert isinstance(snapshot, list) and snapshot[0]["event_type"] == "book"
            book = snapshot[0]
            assert (book["asset_id"], book["market"]) == (yes, cid)
            assert book["bids"][-1]["price"] == "0.48" and book["asks"][-1]["price"] == "0.52"
            await ws.send_str("PING")
            assert (await ws.receive()).data == "PONG"

            await asyncio.to_thread(c.create_and_post_order, buy(yes, 0.49, 7))
            change = await receive(ws, kind("price_change", market=cid))
            assert [
                (p["asset_id"], p["price"], p["size"], p["side"]) for p in change["price_changes"]
            ] == [(yes, "0.49", "7", "BUY")]  # only the subscribed token's side of the batch
            assert change["price_changes"][0]["best_bid"] == "0.49"
            top = await receive(ws, kind("best_bid_ask", asset_id=yes))
            assert (top["best_bid"], top["best_ask"]) == ("0.49", "0.52")

            # Subscribe the NO token too: its snapshot, then both tokens in one price_change.
            await ws.send_str(json.dumps({"assets_ids": [no], "operation": "subscribe"}))
            no_book = await receive(ws, kind("book", asset_id=no))
            assert no_book["asks"][-1]["price"] == "0.51"  # 1 - our YES bid
            await asyncio.to_thread(c.cancel_all)
            change = await receive(ws, kind("price_change", market=cid))
            assert {p["asset_id"] for p in change["price_changes"]} == {yes, no}

            # A trade: last_trade_price, then fresh book snapshots.
            await asyncio.to_thread(c.create_and_post_order, buy(yes, 0.52, 5))
            last = await receive(ws, kind("last_trade_price", asset_id=yes))
            assert (last["price"], last["side"], last["size"]) == ("0.52", "BUY", "5")
            after = await receive(ws, kind("book", asset_id=yes))
            assert Decimal(after["asks"][-1]["size"]) == Decimal(book["asks"][-1]["size"]) - 5

            await asyncio.to_thread(sim.set_tick_size, "0.001", cid)
            tick = await receive(ws, kind("tick_size_change", asset_id=yes))
            assert (tick["old_tick_size"], tick["new_tick_size"]) == ("0.01", "0.001")

            await ws.send_str(json.dumps({"assets_ids": [yes, no], "operation": "unsubscribe"}))
            await until_pong(ws)  # the unsubscribe is applied
            await asyncio.to_thread(c.create_and_post_order, buy(yes, 0.49, 7))
            assert await until_pong(ws) == []  # no push for the unsubscribed tokens
        async with session.ws_connect(f"{sim.ws_url}market") as ws:
            await ws.send_str(json.dumps({"assets_ids": [str(i) for i in range(501)]}))
            closed = await ws.receive()
            assert closed.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 1008


@sockets
async def test_ws_user_channel_order_and_trade_events(sim: PolymarketSimulator) -> None:
    c = await asyncio.to_thread(client, sim)
    cid, yes, _ = tokens(sim)
    _, neg_yes, _ = tokens(sim, 1)
    auth = {
        "apiKey": c.creds.api_key,
        "secret": c.creds.api_secret,
        "passphrase": c.creds.api_passphrase,
    }
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{sim.ws_url}user") as ws:
            await ws.send_str(json.dumps({"auth": auth, "type": "user", "markets": [cid]}))
            placed = await asyncio.to_thread(c.create_and_post_order, buy(yes, 0.45, 10))
            event = await receive(ws, kind("order", type="PLACEMENT"))
            assert set(event) >= USER_ORDER_FIELDS
            assert (event["id"], event["status"], event["owner"]) == (
                placed["orderID"], "LIVE", c.creds.api_key,
            )  # fmt: skip
            assert abs(int(event["timestamp"]) - time.time() * 1000) < 60_000  # milliseconds

            # The crowd's ask moves onto our bid: we are the maker of a fill.
            await asyncio.to_thread(sim.market.move_to, "0.40", "0.44", cid)
            update = await receive(ws, kind("order", type="UPDATE"))
            assert (update["status"], update["size_matched"]) == ("MATCHED", "10")
            statuses = []
            while len(statuses) < 3:
                trade = await receive(ws, kind("trade"))
                assert set(trade) >= USER_TRADE_FIELDS and trade["match_time"] == trade["matchtime"]
                statuses.append(trade["status"])
            assert statuses == ["MATCHED", "MINED", "CONFIRMED"]
            assert trade["trader_side"] == "MAKER" and trade["transaction_hash"].startswith("0x")
            assert trade["maker_orders"][0]["order_id"] == placed["orderID"]

            # Orders in markets outside the filter are not pushed; cancellations are.
            await asyncio.to_thread(
                c.create_and_post_order, buy(neg_yes, 0.2, 5),
                PartialCreateOrderOptions(neg_risk=True),
            )  # fmt: skip
            other = await asyncio.to_thread(c.create_and_post_order, buy(yes, 0.30, 5))
            await asyncio.to_thread(c.cancel_order, OrderPayload(orderID=other["orderID"]))
            event = await receive(ws, kind("order", type="PLACEMENT"))
            assert event["id"] == other["orderID"]
            cancel = await receive(ws, kind("order", type="CANCELLATION"))
            assert (cancel["id"], cancel["status"]) == (other["orderID"], "CANCELED")
        async with session.ws_connect(f"{sim.ws_url}user") as ws:
            bad = {**auth, "secret": "A" * 44}
            await ws.send_str(json.dumps({"auth": bad, "type": "user", "markets": []}))
            assert (await ws.receive()).type == aiohttp.WSMsgType.CLOSE and ws.close_code == 1008


@sockets
async def test_ws_protocol_ping_and_dropped_connections(sim: PolymarketSimulator) -> None:
    _, yes, _ = tokens(sim)
    url = f"{sim.ws_url}market"
    async with aiohttp.ClientSession() as session, session.ws_connect(url, autoping=False) as ws:
        await ws.ping(b"keepalive")  # a protocol-level ping (nautilus' Rust client sends these)
        pong = await asyncio.wait_for(ws.receive(), 10)
        assert (pong.type, pong.data) == (aiohttp.WSMsgType.PONG, b"keepalive")
        await ws.send_str(json.dumps({"assets_ids": [yes], "type": "market"}))
        await ws.receive()  # the snapshot
        assert await asyncio.to_thread(sim.drop_ws) == 1
        msg = await asyncio.wait_for(ws.receive(), 10)
        assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
