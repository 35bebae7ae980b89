"""Polymarket CLOB V2 signing: published vectors, and bit-for-bit agreement with py-clob-client-v2.

The SDK (a test-only dependency) is the oracle. Its clock and salt source are pinned so that each
example is reproducible; everything else runs through its public builder code unchanged.
"""

from __future__ import annotations

import base64
import functools
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import ROUND_FLOOR
from decimal import Decimal
from types import SimpleNamespace
from unittest import mock

import pytest
from eth_utils import to_checksum_address
from hypothesis import assume
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from py_clob_client_v2.clob_types import ApiCreds
from py_clob_client_v2.clob_types import CreateOrderOptions
from py_clob_client_v2.clob_types import OrderArgsV2
from py_clob_client_v2.clob_types import RequestArgs
from py_clob_client_v2.config import get_contract_config
from py_clob_client_v2.headers.headers import create_level_1_headers
from py_clob_client_v2.headers.headers import create_level_2_headers
from py_clob_client_v2.order_builder import builder as sdk_builder
from py_clob_client_v2.order_builder.builder import ROUNDING_CONFIG
from py_clob_client_v2.order_builder.builder import OrderBuilder
from py_clob_client_v2.order_utils import exchange_order_builder_v2 as sdk_exchange
from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2
from py_clob_client_v2.order_utils.model.signature_type_v2 import SignatureTypeV2
from py_clob_client_v2.signer import Signer

from adapters.polymarket.amounts import ROUNDING
from adapters.polymarket.amounts import limit_order_amounts
from adapters.polymarket.amounts import market_order_amounts
from adapters.polymarket.signing import AMOY
from adapters.polymarket.signing import EXCHANGE_V2
from adapters.polymarket.signing import NEG_RISK_EXCHANGE_V2
from adapters.polymarket.signing import POLYGON
from adapters.polymarket.signing import SALT_LIMIT
from adapters.polymarket.signing import ZERO32
from adapters.polymarket.signing import ApiCredentials
from adapters.polymarket.signing import OrderSigner
from adapters.polymarket.signing import checksum_address
from adapters.polymarket.signing import l1_headers
from adapters.polymarket.signing import l2_headers
from adapters.polymarket.signing import l2_signature
from adapters.polymarket.signing import order_body
from adapters.polymarket.signing import order_payload
from adapters.polymarket.signing import orders_body

pytestmark = pytest.mark.polymarket

# Published vectors (venues.md 2.3 and 2.4).
PK = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
ORDER_SIGNATURE = (
    "0xe97768bb140d3b37317c5471a89ef0a9c0a3e62cdda15cd904cae5575602226256958df124fe9843af599d5"
    "b9f2502065f8974a5e609e9bc05dac5ff04fc8f2a1c"
)
ORDER_ID = "0xa01c20da0196bb511232cd0728a42deeb7a6debb8c5b747c90bb33eb7dae486c"
L1_AMOY_SIGNATURE = (
    "0xf62319a987514da40e57e2f4d7529f7bac38f0355bd88bb5adbb3768d80de6c1682518e0af677d5260366425f"
    "4361e7b70c25ae232aff0ab2331e2b164a1aedc1b"
)
L1_POLYGON_SIGNATURE = (
    "0x659ed4b28ae28e0f038fdf0023c00863c9559caacb9ebc83f44eea87059a099a36f1e1dee110e7faa1c4f65d1"
    "7489b2da1333ebef78bbe2116d81207b975052d1c"
)
ZERO_SECRET = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
OWNER = "00000000-0000-0000-0000-000000000001"

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
TICKS = [Decimal(tick) for tick in ROUNDING_CONFIG]
# Beyond ~1e5 shares the SDK's float rounding runs out of digits at 6-dp amounts (amounts.py).
MAX_SHARES = 100_000


def sdk_float_floor(value: Decimal, decimals: int) -> Decimal:
    """What the SDK's `floor(x * 10**d) / 10**d` on floats makes of `value` (1.13 -> 1.12)."""
    return Decimal(math.floor(float(value) * 10**decimals)).scaleb(-decimals)


@contextmanager
def pinned_oracle(salt: int, timestamp_ms: int) -> Iterator[None]:
    """The SDK's order builder with a fixed clock and salt."""
    clock = SimpleNamespace(time_ns=lambda: timestamp_ms * 1_000_000)
    exchange_builder = functools.partial(
        sdk_exchange.ExchangeOrderBuilderV2, generate_salt=lambda: str(salt)
    )
    with (
        mock.patch.object(sdk_builder, "time", clock),
        mock.patch.object(sdk_builder, "ExchangeOrderBuilderV2", exchange_builder),
    ):
        yield


def oracle_order_id(order, chain_id: int, neg_risk: bool, signer: Signer) -> str:
    contracts = get_contract_config(chain_id)
    exchange = contracts.neg_risk_exchange_v2 if neg_risk else contracts.exchange_v2
    exchange_builder = sdk_exchange.ExchangeOrderBuilderV2(exchange, chain_id, signer)
    return exchange_builder.build_order_hash(exchange_builder.build_order_typed_data(order))


def sdk_body(payload) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


# ---------------------------------------------------------------- published vectors


def test_order_vector() -> None:
    signer = OrderSigner(PK, chain_id=POLYGON)
    maker_amount, taker_amount = limit_order_amounts(
        "BUY", Decimal("0.42"), Decimal("10.5"), Decimal("0.01")
    )
    assert (maker_amount, taker_amount) == (4_410_000, 10_500_000)
    signed = signer.sign(
        "1234567890",
        "BUY",
        maker_amount,
        taker_amount,
        neg_risk=False,
        salt=123456789,
        timestamp_ms=1700000000000,
    )
    assert signed.signature == ORDER_SIGNATURE
    assert signed.order_id == ORDER_ID
    assert signed.maker == signed.signer == ADDRESS


@pytest.mark.parametrize(
    ("chain_id", "timestamp", "nonce", "signature"),
    [(AMOY, 10000000, 23, L1_AMOY_SIGNATURE), (POLYGON, 1700000000, 0, L1_POLYGON_SIGNATURE)],
)
def test_l1_vectors(chain_id: int, timestamp: int, nonce: int, signature: str) -> None:
    signer = OrderSigner(PK.removeprefix("0x"), chain_id=chain_id)
    assert l1_headers(signer, timestamp, nonce) == {
        "POLY_ADDRESS": ADDRESS,
        "POLY_SIGNATURE": signature,
        "POLY_TIMESTAMP": str(timestamp),
        "POLY_NONCE": str(nonce),
    }


@pytest.mark.parametrize(
    ("timestamp", "method", "path", "body", "signature"),
    [
        (
            1000000,
            "test-sign",
            "/orders",
            b'{"hash": "0x123"}',
            "ZwAdJKvoYRlEKDkNMwd5BuwNNtg93kNaR_oU2HrfVvc=",
        ),
        (1700000000, "POST", "/order", b'{"a":1}', "cLK0Q2Ed2O7DADp_5dDi2ytUgLoAal-l_plGYO-Tnzs="),
    ],
)
def test_l2_vectors(timestamp: int, method: str, path: str, body: bytes, signature: str) -> None:
    creds = ApiCredentials("key-1", ZERO_SECRET, "pass-1")
    assert l2_headers(ADDRESS, creds, timestamp, method, path, body) == {
        "POLY_ADDRESS": ADDRESS,
        "POLY_SIGNATURE": signature,
        "POLY_TIMESTAMP": str(timestamp),
        "POLY_API_KEY": "key-1",
        "POLY_PASSPHRASE": "pass-1",
    }


def test_l2_signature_ignores_the_query_string() -> None:
    creds = ApiCredentials("key-1", ZERO_SECRET, "pass-1")
    with_query = l2_signature(creds, 1700000000, "GET", "/data/orders?next_cursor=MA==")
    assert with_query == l2_signature(creds, 1700000000, "GET", "/data/orders")
    assert with_query != l2_signature(creds, 1700000000, "GET", "/data/trades")


def test_reprs_hide_secrets() -> None:
    creds = ApiCredentials("key-1", ZERO_SECRET, "very-secret-passphrase")
    assert "key-1" in repr(creds)
    assert ZERO_SECRET not in repr(creds) and "very-secret-passphrase" not in repr(creds)
    assert PK[2:] not in repr(OrderSigner(PK))


# ---------------------------------------------------------------- against the SDK


def signature_setups():
    """(signature_type, funder): EOA, or a proxy/safe wallet funding an EOA signer."""
    funder = st.binary(min_size=20, max_size=20).map(lambda raw: "0x" + raw.hex())
    return st.one_of(
        st.tuples(st.just(0), st.none()),
        st.tuples(st.sampled_from([1, 2]), funder),
    )


bytes32 = st.one_of(
    st.just(ZERO32), st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex())
)


@st.composite
def sizes(draw) -> Decimal:
    """Whole shares, cents (the venue's size step) or finer sizes that must be truncated."""
    decimals = draw(st.sampled_from([0, 2, 4]))
    units = draw(st.integers(10**decimals, MAX_SHARES * 10**decimals))
    return Decimal(units).scaleb(-decimals)


@st.composite
def limit_orders(draw):
    tick = draw(st.sampled_from(TICKS))
    steps = int(1 / tick)
    order_type = draw(st.sampled_from(["GTC", "GTD", "FOK", "FAK"]))
    return SimpleNamespace(
        private_key=draw(st.integers(1, SECP256K1_N - 1)),
        chain_id=draw(st.sampled_from([POLYGON, AMOY])),
        setup=draw(signature_setups()),
        token_id=str(draw(st.integers(0, 2**256 - 1))),
        side=draw(st.sampled_from(["BUY", "SELL"])),
        tick=tick,
        price=draw(st.integers(1, steps - 1)) * tick,
        size=draw(sizes()),
        neg_risk=draw(st.booleans()),
        salt=draw(st.integers(0, SALT_LIMIT - 1)),
        timestamp_ms=draw(st.integers(1_600_000_000_000, 2_000_000_000_000)),
        metadata=draw(bytes32),
        builder=draw(bytes32),
        order_type=order_type,
        post_only=order_type in ("GTC", "GTD") and draw(st.booleans()),
        expiration=draw(st.integers(1, 2**40)) if order_type == "GTD" else 0,
        defer_exec=draw(st.booleans()),
    )


@settings(max_examples=300, deadline=None)
@given(limit_orders())
def test_limit_orders_match_the_sdk_bit_for_bit(case) -> None:
    signature_type, funder = case.setup
    private_key = f"0x{case.private_key:064x}"
    sdk_signer = Signer(private_key, case.chain_id)
    sdk_funder = to_checksum_address(funder) if funder else None
    sdk_order_builder = OrderBuilder(sdk_signer, SignatureTypeV2(signature_type), sdk_funder)
    args = OrderArgsV2(
        token_id=case.token_id,
        price=float(case.price),
        size=float(case.size),
        side=case.side,
        expiration=case.expiration,
        builder_code=case.builder,
        metadata=case.metadata,
    )
    with pinned_oracle(case.salt, case.timestamp_ms):
        expected = sdk_order_builder.build_order(
            args, CreateOrderOptions(tick_size=str(case.tick), neg_risk=case.neg_risk)
        )

    amounts = limit_order_amounts(case.side, case.price, case.size, case.tick)
    # The SDK floors sizes in binary floats; from there on its amounts are ours exactly.
    sdk_size = sdk_float_floor(case.size, 2)
    assert (int(expected.makerAmount), int(expected.takerAmount)) == limit_order_amounts(
        case.side, case.price, sdk_size, case.tick
    )
    if sdk_size == case.size.quantize(Decimal("0.01"), rounding=ROUND_FLOOR):
        assert (int(expected.makerAmount), int(expected.takerAmount)) == amounts

    signer = OrderSigner(
        private_key.removeprefix("0x"), case.chain_id, signature_type, funder=funder
    )
    signed = signer.sign(
        case.token_id,
        case.side,
        int(expected.makerAmount),
        int(expected.takerAmount),
        neg_risk=case.neg_risk,
        salt=case.salt,
        timestamp_ms=case.timestamp_ms,
        metadata=case.metadata,
        builder=case.builder,
    )
    assert signed.signature == expected.signature
    assert signed.order_id == oracle_order_id(expected, case.chain_id, case.neg_risk, sdk_signer)
    assert (signed.maker, signed.signer) == (expected.maker, expected.signer)
    assert signer.address == sdk_signer.address()

    payload = order_payload(
        signed, OWNER, case.order_type, case.post_only, case.expiration, case.defer_exec
    )
    sdk_payload = order_to_json_v2(
        expected, OWNER, case.order_type, case.post_only, case.defer_exec
    )
    assert order_body(
        signed, OWNER, case.order_type, case.post_only, case.expiration, case.defer_exec
    ) == sdk_body(sdk_payload)
    assert orders_body([payload, payload]) == sdk_body([sdk_payload, sdk_payload])


@st.composite
def market_orders(draw):
    tick = draw(st.sampled_from(TICKS))
    micros = draw(st.integers(int(tick * 10**6), int((1 - tick) * 10**6)))
    return SimpleNamespace(
        side=draw(st.sampled_from(["BUY", "SELL"])),
        tick=tick,
        price=Decimal(micros).scaleb(-6),
        amount=Decimal(draw(st.integers(100, MAX_SHARES * 100))).scaleb(-2),
    )


@settings(max_examples=500, deadline=None)
@given(market_orders())
def test_market_order_amounts_match_the_sdk(case) -> None:
    rounding = ROUNDING[case.tick]
    sdk_price = sdk_float_floor(case.price, rounding.price_decimals)
    sdk_amount = sdk_float_floor(case.amount, rounding.size_decimals)
    shares = sdk_amount / sdk_price if case.side == "BUY" else sdk_amount
    assume(shares <= MAX_SHARES)
    _, maker_amount, taker_amount = OrderBuilder(None).get_market_order_amounts(
        case.side, float(case.amount), float(case.price), ROUNDING_CONFIG[str(case.tick)]
    )
    # The SDK truncates price and amount in binary floats; from there on it is ours exactly.
    assert (maker_amount, taker_amount) == market_order_amounts(
        case.side, sdk_amount, sdk_price, case.tick
    )
    ours = market_order_amounts(case.side, case.amount, case.price, case.tick)
    if (sdk_price, sdk_amount) == (
        case.price.quantize(Decimal(1).scaleb(-rounding.price_decimals), rounding=ROUND_FLOOR),
        case.amount,
    ):
        assert (maker_amount, taker_amount) == ours


def test_sdk_float_artifacts_are_not_reproduced() -> None:
    # floor(1.13 * 100) is 112 in floats: the SDK would rest 1.12 shares instead of 1.13.
    sdk = OrderBuilder(None).get_order_amounts("BUY", 1.13, 0.5, ROUNDING_CONFIG["0.01"])
    assert sdk[1:] == (560_000, 1_120_000)
    ours = limit_order_amounts("BUY", Decimal("0.5"), Decimal("1.13"), Decimal("0.01"))
    assert ours == (565_000, 1_130_000)
    # A large SELL at a 4-dp tick: the SDK loses a micro-unit, implying an off-grid price.
    price, size = Decimal("0.6545"), Decimal("945574.7")
    sdk = OrderBuilder(None).get_order_amounts(
        "SELL", float(size), float(price), ROUNDING_CONFIG["0.0001"]
    )
    exact = int(size * price * 10**6)
    assert sdk[2] == exact - 1
    assert limit_order_amounts("SELL", price, size, Decimal("0.0001")) == (int(size * 10**6), exact)


@settings(max_examples=100, deadline=None)
@given(
    private_key=st.integers(1, SECP256K1_N - 1),
    chain_id=st.sampled_from([POLYGON, AMOY]),
    timestamp=st.integers(0, 2**40),
    nonce=st.integers(0, 2**64),
)
def test_l1_headers_match_the_sdk(private_key: int, chain_id: int, timestamp: int, nonce: int):
    key = f"0x{private_key:064x}"
    expected = create_level_1_headers(Signer(key, chain_id), nonce=nonce, timestamp=timestamp)
    assert l1_headers(OrderSigner(key, chain_id), timestamp, nonce) == expected


@settings(max_examples=200, deadline=None)
@given(
    secret=st.binary(min_size=32, max_size=32),
    timestamp=st.integers(0, 2**40),
    method=st.sampled_from(["GET", "POST", "DELETE"]),
    path=st.from_regex(r"/[a-z\-/0-9]{0,30}", fullmatch=True),
    body=st.text(alphabet=st.characters(codec="utf-8", exclude_characters="'"), max_size=200),
)
def test_l2_headers_match_the_sdk(
    secret: bytes, timestamp: int, method: str, path: str, body: str
) -> None:
    encoded_secret = base64.urlsafe_b64encode(secret).decode()
    creds = ApiCreds("key-1", encoded_secret, "pass-1")
    request = RequestArgs(method, path, body or None, serialized_body=body or None)
    expected = create_level_2_headers(Signer(PK, POLYGON), creds, request, timestamp=timestamp)
    ours = l2_headers(
        ADDRESS,
        ApiCredentials("key-1", encoded_secret, "pass-1"),
        timestamp,
        method,
        path,
        body.encode(),
    )
    assert ours == expected


@given(st.binary(min_size=20, max_size=20))
def test_checksum_address_matches_eip55(raw: bytes) -> None:
    assert checksum_address("0x" + raw.hex()) == to_checksum_address(raw)


def test_exchange_addresses_match_the_sdk() -> None:
    for chain_id in (POLYGON, AMOY):
        contracts = get_contract_config(chain_id)
        assert (
            contracts.exchange_v2,
            contracts.neg_risk_exchange_v2,
        ) == (EXCHANGE_V2, NEG_RISK_EXCHANGE_V2)


# ---------------------------------------------------------------- rejections


@pytest.mark.parametrize(
    ("price", "size", "tick", "match"),
    [
        (Decimal("0.425"), Decimal(10), Decimal("0.01"), "price 0.425 is not a multiple"),
        (Decimal("0.0125"), Decimal(10), Decimal("0.005"), "price 0.0125 is not a multiple"),
        (Decimal("0.001"), Decimal(10), Decimal("0.01"), r"price 0.001 is outside \[0.01, 0.99\]"),
        (Decimal("0.995"), Decimal(10), Decimal("0.01"), "price 0.995 is outside"),
        (Decimal(0), Decimal(10), Decimal("0.1"), "price 0 is outside"),
        (Decimal(1), Decimal(10), Decimal("0.1"), "price 1 is outside"),
        (Decimal("NaN"), Decimal(10), Decimal("0.1"), "price must be a finite number"),
        (0.5, Decimal(10), Decimal("0.1"), "price must be a Decimal"),
        (Decimal("0.5"), Decimal(0), Decimal("0.1"), "size 0 must be at least 0.01"),
        (Decimal("0.5"), Decimal(-5), Decimal("0.1"), "size -5 must be at least 0.01"),
        (Decimal("0.5"), Decimal("0.009"), Decimal("0.1"), "size 0.009 must be at least 0.01"),
        (Decimal("0.5"), 10.0, Decimal("0.1"), "size must be a Decimal"),
        (Decimal("0.5"), Decimal(10), Decimal("0.02"), "tick_size Decimal\\('0.02'\\)"),
    ],
)
def test_limit_amounts_reject_bad_input(price, size, tick, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        limit_order_amounts("BUY", price, size, tick)


def test_amounts_reject_bad_side_and_market_input() -> None:
    with pytest.raises(ValueError, match="side must be 'BUY' or 'SELL', got 'buy'"):
        limit_order_amounts("buy", Decimal("0.5"), Decimal(10), Decimal("0.01"))
    with pytest.raises(ValueError, match=r"amount 0\.001 must be at least 0\.01"):
        market_order_amounts("BUY", Decimal("0.001"), Decimal("0.5"), Decimal("0.01"))
    with pytest.raises(ValueError, match=r"price 0\.999 is outside"):
        market_order_amounts("SELL", Decimal(10), Decimal("0.999"), Decimal("0.01"))


@pytest.mark.parametrize(
    "private_key",
    [
        PK[:-2],
        PK[:-1] + "g",
        "0x" + "00" * 32,
        f"0x{SECP256K1_N:064x}",
        "0x" + "ab" * 16 + " " + "ab" * 15 + "a",
    ],
)
def test_bad_private_key_is_named_and_not_echoed(private_key: str) -> None:
    with pytest.raises(ValueError, match="private_key must be 64 hex digits") as error:
        OrderSigner(private_key)
    assert private_key[4:20] not in str(error.value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"signature_type": 3}, "signature_type 3 \\(POLY_1271 deposit wallet\\) is not supported"),
        ({"signature_type": 7}, "signature_type must be 0, 1 or 2"),
        ({"signature_type": 1}, "funder .* is required for signature_type 1"),
        ({"signature_type": 2, "funder": "0x1234"}, "funder must be 0x followed by 40 hex"),
        ({"funder": "0x" + "11" * 20}, "funder must be unset or the signer's own address"),
        ({"chain_id": 1}, "chain_id must be 137 \\(Polygon\\) or 80002 \\(Amoy\\)"),
    ],
)
def test_bad_signer_setup_is_rejected(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        OrderSigner(PK, **kwargs)


def test_eoa_funder_may_be_the_signer_itself() -> None:
    assert OrderSigner(PK, funder=ADDRESS.lower()).maker == ADDRESS


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"token_id": "0x12"}, "token_id must be a decimal CLOB token id"),
        ({"token_id": str(2**256)}, "token_id must be an integer in"),
        ({"side": "buy"}, "side must be 'BUY' or 'SELL'"),
        ({"maker_amount": 0}, "maker_amount and taker_amount must be positive"),
        ({"taker_amount": 2**256}, "taker_amount must be an integer in"),
        ({"salt": SALT_LIMIT}, "salt must be in \\[0, 2\\*\\*53\\)"),
        ({"salt": -1}, "salt must be in"),
        ({"timestamp_ms": -1}, "timestamp_ms must be an integer in"),
        ({"metadata": "0x12"}, "metadata must be 0x followed by 64 hex digits"),
        ({"builder": "0x" + "zz" * 32}, "builder must be 0x followed by 64 hex digits"),
    ],
)
def test_bad_order_fields_are_rejected(overrides: dict, match: str) -> None:
    fields = {
        "token_id": "1234567890",
        "side": "BUY",
        "maker_amount": 4_410_000,
        "taker_amount": 10_500_000,
        "neg_risk": False,
        "salt": 1,
        "timestamp_ms": 1700000000000,
    } | overrides
    with pytest.raises(ValueError, match=match):
        OrderSigner(PK).sign(**fields)


@pytest.mark.parametrize(
    ("order_type", "post_only", "expiration", "match"),
    [
        ("GTX", False, 0, "order_type must be one of GTC, GTD, FOK, FAK"),
        ("FOK", True, 0, "post_only needs order_type GTC or GTD"),
        ("GTD", False, 0, "expiration must be > 0 exactly for GTD orders"),
        ("GTC", False, 1700000000, "expiration must be > 0 exactly for GTD orders"),
    ],
)
def test_bad_body_options_are_rejected(
    order_type: str, post_only: bool, expiration: int, match: str
) -> None:
    signed = OrderSigner(PK).sign(
        "1", "SELL", 10, 5, neg_risk=True, salt=1, timestamp_ms=1700000000000
    )
    with pytest.raises(ValueError, match=match):
        order_body(signed, OWNER, order_type, post_only, expiration)


def test_batch_size_and_secret_format_are_checked() -> None:
    signed = OrderSigner(PK).sign("1", "SELL", 10, 5, neg_risk=True, salt=1, timestamp_ms=1)
    payload = order_payload(signed, OWNER, "GTC")
    with pytest.raises(ValueError, match="a batch holds 1 to 15 orders, got 16"):
        orders_body([payload] * 16)
    with pytest.raises(ValueError, match="a batch holds 1 to 15 orders, got 0"):
        orders_body([])
    with pytest.raises(ValueError, match="api_secret must be url-safe base64"):
        ApiCredentials("key-1", "not base64!", "pass-1")
