"""Gate.io request signing against the official vectors (venues.md 1.2 and 1.5)."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.gate.signing import EMPTY_BODY_HASH
from adapters.gate.signing import GateSigner
from adapters.gate.signing import hashed_payload
from adapters.gate.signing import rest_headers
from adapters.gate.signing import rest_signature
from adapters.gate.signing import ws_channel_signature

pytestmark = pytest.mark.gate

# Official vectors: key `key`, secret `secret`, timestamp 1541993715 (docs `authentication.md`).
KEY = "key"
SECRET = "secret"
TS = "1541993715"
GET_PATH = "/api/v4/futures/orders"
GET_QUERY = "contract=BTC_USD&status=finished&limit=50"
GET_SIGN = (
    "55f84ea195d6fe57ce62464daaa7c3c02fa9d1dde954e4c898289c9a2407a3d6"
    "fb3faf24deff16790d726b66ac9f74526668b13bd01029199cc4fcc522418b8a"
)
POST_BODY = b'{"contract":"BTC_USD","type":"limit","size":100,"price":6800,"time_in_force":"gtc"}'
POST_SIGN = (
    "eae42da914a590ddf727473aff25fc87d50b64783941061f47a3fdb92742541f"
    "c4c2c14017581b4199a1418d54471c269c03a38d788d802e2c306c37636389f0"
)
WS_SIGN = (
    "4cdab02f21aba635fce8684a050806325cb4aa74a93d00c39f2084da73614d2e"
    "1d25878ca7c9ebcbde9541cddfc5ae36b1ccde10982eb82fd09f7a30a6d43d84"
)


def test_hashed_payload_of_empty_and_official_body() -> None:
    assert hashed_payload(b"") == EMPTY_BODY_HASH
    assert EMPTY_BODY_HASH.startswith("cf83e135") and EMPTY_BODY_HASH.endswith("927da3e")
    digest = hashed_payload(POST_BODY)
    assert digest.startswith("ad3c1692") and digest.endswith("956cca")


def test_official_get_vector() -> None:
    assert rest_signature(SECRET, "GET", GET_PATH, GET_QUERY, b"", TS) == GET_SIGN


def test_official_post_vector() -> None:
    assert rest_signature(SECRET, "POST", GET_PATH, "", POST_BODY, TS) == POST_SIGN


def test_official_ws_channel_vector() -> None:
    assert ws_channel_signature(SECRET, "futures.orders", "subscribe", 1541993715) == WS_SIGN


def test_signer_matches_functions_and_is_reusable() -> None:
    # The keyed HMAC is copied per call: signing twice, or in another order, changes nothing.
    signer = GateSigner(KEY, SECRET)
    assert signer.rest_signature("POST", GET_PATH, "", POST_BODY, TS) == POST_SIGN
    assert signer.rest_signature("GET", GET_PATH, GET_QUERY, b"", TS) == GET_SIGN
    assert signer.rest_signature("POST", GET_PATH, "", POST_BODY, TS) == POST_SIGN
    assert signer.ws_channel_signature("futures.orders", "subscribe", 1541993715) == WS_SIGN


def test_method_is_upper_cased() -> None:
    assert rest_signature(SECRET, "get", GET_PATH, GET_QUERY, b"", TS) == GET_SIGN


def test_query_is_signed_raw_not_encoded() -> None:
    raw = "contract=BTC_USDT&text=t-a.b"
    encoded = "contract=BTC_USDT&text=t-a%2Eb"
    assert rest_signature(SECRET, "GET", GET_PATH, raw, b"", TS) != rest_signature(
        SECRET, "GET", GET_PATH, encoded, b"", TS
    )


def test_rest_headers() -> None:
    headers = rest_headers(KEY, SECRET, "POST", GET_PATH, "", POST_BODY, TS)
    assert headers == {
        "KEY": KEY,
        "Timestamp": TS,
        "SIGN": POST_SIGN,
        "Content-Type": "application/json",
        "X-Gate-Size-Decimal": "1",
    }


def test_rest_header_block_carries_the_same_headers() -> None:
    block = GateSigner(KEY, SECRET).rest_header_block("POST", GET_PATH, "", POST_BODY, TS)
    lines = block.decode().split("\r\n")
    assert lines[-1] == ""  # every line ends in CRLF
    parsed = dict(line.split(": ", 1) for line in lines[:-1])
    assert parsed == rest_headers(KEY, SECRET, "POST", GET_PATH, "", POST_BODY, TS)


def test_a_key_with_a_line_break_is_refused() -> None:
    with pytest.raises(ValueError, match="GATE_API_KEY"):
        GateSigner("key\r\nX-Injected: 1", SECRET)


def test_repr_hides_the_secret() -> None:
    assert "secret" not in repr(GateSigner("abcdef123", "secret"))


_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    path=_text,
    query=_text,
    body=st.binary(max_size=200),
    timestamp=st.integers(min_value=0, max_value=2**40).map(str),
    secret=st.text(min_size=1, max_size=64),
)
def test_matches_a_naive_implementation(
    method: str, path: str, query: str, body: bytes, timestamp: str, secret: str
) -> None:
    message = f"{method}\n{path}\n{query}\n{hashlib.sha512(body).hexdigest()}\n{timestamp}"
    expected = hmac.new(secret.encode(), message.encode(), hashlib.sha512).hexdigest()
    assert rest_signature(secret, method, path, query, body, timestamp) == expected
