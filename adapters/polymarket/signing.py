"""Polymarket CLOB V2 signing (pure, no I/O): orders, L1 `ClobAuth` headers, L2 HMAC headers.

Orders (venues.md 2.4): the EIP-712 struct
`Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,
uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,
bytes32 builder)` under the domain `{"Polymarket CTF Exchange", "2", chainId, exchange}`, where the
exchange is the CTF exchange V2 or, for neg-risk markets, the neg-risk exchange V2. The order id is
the EIP-712 digest; the signature is `0x r s v` with v = 27/28. `expiration` is sent in the JSON
body but is not signed.

Speed: py-clob-client-v2 builds typed-data dicts and ABI-encodes them on every order (~5.5 ms).
Here the type hash and both domain separators are hashed once per signer, every struct field is a
fixed 32-byte word (the maker and signer words are precomputed), and the digest is signed by
libsecp256k1 through coincurve, whose RFC 6979 nonces and low-s form match eth-account's output.

L1 (venues.md 2.3): EIP-712 `ClobAuth(address address,string timestamp,uint256 nonce,
string message)` under `{"ClobAuthDomain", "1", chainId}` (no verifying contract).
L2: urlsafe-base64 HMAC-SHA256, keyed by the urlsafe-base64-decoded secret, over
`str(timestamp) + METHOD + path (without query) + body bytes`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from dataclasses import field

import msgspec
from coincurve import PrivateKey
from Crypto.Hash import keccak

from adapters.polymarket.amounts import BUY
from adapters.polymarket.amounts import SELL

POLYGON = 137
AMOY = 80002
# CTF exchange V2 contracts (py-clob-client-v2 `config.py`): the same on Polygon and Amoy.
EXCHANGE_V2 = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_EXCHANGE_V2 = "0xe2222d279d744050d28e00520010520000310F59"

EOA = 0
POLY_PROXY = 1
POLY_GNOSIS_SAFE = 2
POLY_1271 = 3

ZERO32 = "0x" + "00" * 32
# The salt travels as a JSON number: beyond 2**53 a parser may round it and break the signature.
SALT_LIMIT = 2**53
ORDER_TYPES = ("GTC", "GTD", "FOK", "FAK")
RESTING_ORDER_TYPES = ("GTC", "GTD")
MAX_BATCH_ORDERS = 15
CLOB_AUTH_MESSAGE = "This message attests that I control the given wallet"

POLY_ADDRESS = "POLY_ADDRESS"
POLY_SIGNATURE = "POLY_SIGNATURE"
POLY_TIMESTAMP = "POLY_TIMESTAMP"
POLY_NONCE = "POLY_NONCE"
POLY_API_KEY = "POLY_API_KEY"
POLY_PASSPHRASE = "POLY_PASSPHRASE"


def keccak256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def checksum_address(address: str, field_name: str = "address") -> str:
    """EIP-55 mixed-case form of a `0x` + 40 hex digit address."""
    digits = address[2:].lower() if address[:2] in ("0x", "0X") else ""
    if len(digits) != 40 or not _is_hex(digits):
        raise ValueError(f"{field_name} must be 0x followed by 40 hex digits, got {address!r}")
    # A letter is upper-case where the matching nibble of keccak(lower-case hex) is >= 8.
    nibbles = keccak256(digits.encode()).hex()[:40]
    return "0x" + "".join(
        char.upper() if nibble in "89abcdef" else char
        for char, nibble in zip(digits, nibbles, strict=True)
    )


_ORDER_TYPEHASH = keccak256(
    b"Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,"
    b"uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,"
    b"bytes32 builder)"
)
_CLOB_AUTH_TYPEHASH = keccak256(
    b"ClobAuth(address address,string timestamp,uint256 nonce,string message)"
)
_CLOB_AUTH_MESSAGE_HASH = keccak256(CLOB_AUTH_MESSAGE.encode())
_ZERO_WORD = bytes(32)
_SIDE_WORDS = {BUY: _ZERO_WORD, SELL: (1).to_bytes(32, "big")}
_DOMAIN_PREFIX = b"\x19\x01"
_HEX = re.compile("[0-9a-fA-F]*")


def _is_hex(text: str) -> bool:
    return _HEX.fullmatch(text) is not None


def _address_word(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:])


def _uint_word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _exchange_domain_separator(chain_id: int, exchange: str) -> bytes:
    return keccak256(
        keccak256(
            b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
        )
        + keccak256(b"Polymarket CTF Exchange")
        + keccak256(b"2")
        + _uint_word(chain_id)
        + _address_word(exchange)
    )


def _clob_auth_domain_separator(chain_id: int) -> bytes:
    return keccak256(
        keccak256(b"EIP712Domain(string name,string version,uint256 chainId)")
        + keccak256(b"ClobAuthDomain")
        + keccak256(b"1")
        + _uint_word(chain_id)
    )


@dataclass(frozen=True, slots=True)
class ApiCredentials:
    """CLOB L2 credentials. The secret and passphrase never appear in reprs."""

    api_key: str
    api_secret: str = field(repr=False)
    passphrase: str = field(repr=False)
    _mac: hmac.HMAC = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            key = base64.b64decode(self.api_secret, altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(
                "api_secret must be url-safe base64 (as returned by /auth/api-key)"
            ) from None
        object.__setattr__(self, "_mac", hmac.new(key, digestmod=hashlib.sha256))

    def sign(self, message: bytes) -> str:
        mac = self._mac.copy()
        mac.update(message)
        return base64.urlsafe_b64encode(mac.digest()).decode()


class SignedOrder(msgspec.Struct, frozen=True, gc=False):
    """A signed CLOB V2 order: the 11 signed fields, the signature and the order id."""

    salt: int
    maker: str
    signer: str
    token_id: str
    maker_amount: int
    taker_amount: int
    side: str
    signature_type: int
    timestamp_ms: int
    metadata: str
    builder: str
    signature: str
    order_id: str


class OrderSigner:
    """Signs CLOB V2 orders and L1 auth messages for one wallet on one chain.

    Signature type 0 (EOA): maker = signer = the key's address. Types 1 (Polymarket proxy) and
    2 (Gnosis safe): maker = `funder` (the wallet holding pUSD and tokens), signer = the key's
    address. Type 3 (deposit wallet, ERC-1271) is not supported.
    """

    __slots__ = (
        "_clob_auth_domain",
        "_domain",
        "_key",
        "_maker_word",
        "_neg_risk_domain",
        "_signature_type_word",
        "_signer_word",
        "address",
        "chain_id",
        "maker",
        "signature_type",
    )

    def __init__(
        self,
        private_key_hex: str,
        chain_id: int = POLYGON,
        signature_type: int = EOA,
        funder: str | None = None,
    ) -> None:
        if chain_id not in (POLYGON, AMOY):
            raise ValueError(
                f"chain_id must be {POLYGON} (Polygon) or {AMOY} (Amoy), got {chain_id!r}"
            )
        self._key = _private_key(private_key_hex)
        public_key = self._key.public_key.format(compressed=False)[1:]
        self.address = checksum_address("0x" + keccak256(public_key)[-20:].hex())
        self.chain_id = chain_id
        self.signature_type = signature_type
        self.maker = _maker(signature_type, funder, self.address)
        self._maker_word = _address_word(self.maker)
        self._signer_word = _address_word(self.address)
        self._signature_type_word = _uint_word(signature_type)
        self._domain = _exchange_domain_separator(chain_id, EXCHANGE_V2)
        self._neg_risk_domain = _exchange_domain_separator(chain_id, NEG_RISK_EXCHANGE_V2)
        self._clob_auth_domain = _clob_auth_domain_separator(chain_id)

    def __repr__(self) -> str:
        return (
            f"OrderSigner(address={self.address}, chain_id={self.chain_id}, "
            f"signature_type={self.signature_type}, maker={self.maker})"
        )

    def sign(
        self,
        token_id: str,
        side: str,
        maker_amount: int,
        taker_amount: int,
        *,
        neg_risk: bool,
        salt: int,
        timestamp_ms: int,
        metadata: str = ZERO32,
        builder: str = ZERO32,
    ) -> SignedOrder:
        """Sign an order for the CTF exchange V2 (or the neg-risk exchange V2 if `neg_risk`).

        Amounts are 6-dp integers (see `amounts.limit_order_amounts`); `token_id` is the decimal
        CLOB token id; `salt` (< 2**53) makes otherwise identical orders distinct.
        """
        side_word = _SIDE_WORDS.get(side)
        if side_word is None:
            raise ValueError(f"side must be {BUY!r} or {SELL!r}, got {side!r}")
        if maker_amount <= 0 or taker_amount <= 0:
            raise ValueError(
                "maker_amount and taker_amount must be positive, "
                f"got {maker_amount} and {taker_amount}"
            )
        if not 0 <= salt < SALT_LIMIT:
            raise ValueError(f"salt must be in [0, 2**53), got {salt}")
        struct = b"".join(
            (
                _ORDER_TYPEHASH,
                _uint_word(salt),
                self._maker_word,
                self._signer_word,
                _token_word(token_id),
                _checked_uint_word(maker_amount, "maker_amount"),
                _checked_uint_word(taker_amount, "taker_amount"),
                side_word,
                self._signature_type_word,
                _checked_uint_word(timestamp_ms, "timestamp_ms"),
                _bytes32_word(metadata, "metadata"),
                _bytes32_word(builder, "builder"),
            )
        )
        domain = self._neg_risk_domain if neg_risk else self._domain
        digest = keccak256(_DOMAIN_PREFIX + domain + keccak256(struct))
        return SignedOrder(
            salt=salt,
            maker=self.maker,
            signer=self.address,
            token_id=token_id,
            maker_amount=maker_amount,
            taker_amount=taker_amount,
            side=side,
            signature_type=self.signature_type,
            timestamp_ms=timestamp_ms,
            metadata=metadata,
            builder=builder,
            signature=self._sign_digest(digest),
            order_id="0x" + digest.hex(),
        )

    def clob_auth_signature(self, timestamp: int, nonce: int = 0) -> str:
        """The L1 `POLY_SIGNATURE` for `timestamp` (unix seconds) and `nonce`."""
        struct = b"".join(
            (
                _CLOB_AUTH_TYPEHASH,
                self._signer_word,
                keccak256(str(timestamp).encode()),
                _checked_uint_word(nonce, "nonce"),
                _CLOB_AUTH_MESSAGE_HASH,
            )
        )
        return self._sign_digest(
            keccak256(_DOMAIN_PREFIX + self._clob_auth_domain + keccak256(struct))
        )

    def _sign_digest(self, digest: bytes) -> str:
        signature = self._key.sign_recoverable(digest, hasher=None)
        # coincurve appends the recovery id (0/1); Ethereum wants v = 27/28.
        return "0x" + signature[:64].hex() + ("1b" if signature[64] == 0 else "1c")


def order_payload(
    signed: SignedOrder,
    owner: str,
    order_type: str,
    post_only: bool = False,
    expiration: int = 0,
    defer_exec: bool = False,
) -> dict:
    """One order object of a POST /order (or /orders) body, keys in the SDK's order.

    `owner` is the API key; `expiration` (unix seconds, unsigned) is required for GTD only.
    """
    if order_type not in ORDER_TYPES:
        raise ValueError(f"order_type must be one of {', '.join(ORDER_TYPES)}, got {order_type!r}")
    if post_only and order_type not in RESTING_ORDER_TYPES:
        raise ValueError(f"post_only needs order_type GTC or GTD, got {order_type}")
    if (order_type == "GTD") != (expiration > 0):
        raise ValueError(
            f"expiration must be > 0 exactly for GTD orders, got {expiration} with {order_type}"
        )
    return {
        "order": {
            "salt": signed.salt,
            "maker": signed.maker,
            "signer": signed.signer,
            "tokenId": signed.token_id,
            "makerAmount": str(signed.maker_amount),
            "takerAmount": str(signed.taker_amount),
            "side": signed.side,
            "expiration": str(expiration),
            "signatureType": signed.signature_type,
            "timestamp": str(signed.timestamp_ms),
            "metadata": signed.metadata,
            "builder": signed.builder,
            "signature": signed.signature,
        },
        "owner": owner,
        "orderType": order_type,
        "deferExec": defer_exec,
        "postOnly": post_only,
    }


def order_body(
    signed: SignedOrder,
    owner: str,
    order_type: str,
    post_only: bool = False,
    expiration: int = 0,
    defer_exec: bool = False,
) -> bytes:
    """The compact JSON bytes of POST /order: send exactly these and sign them with L2."""
    return msgspec.json.encode(
        order_payload(signed, owner, order_type, post_only, expiration, defer_exec)
    )


def orders_body(payloads: list[dict]) -> bytes:
    """The compact JSON bytes of POST /orders (a batch of `order_payload`s, at most 15)."""
    if not 1 <= len(payloads) <= MAX_BATCH_ORDERS:
        raise ValueError(f"a batch holds 1 to {MAX_BATCH_ORDERS} orders, got {len(payloads)}")
    return msgspec.json.encode(payloads)


def l1_headers(signer: OrderSigner, timestamp: int, nonce: int = 0) -> dict[str, str]:
    """Headers of POST /auth/api-key and GET /auth/derive-api-key."""
    return {
        POLY_ADDRESS: signer.address,
        POLY_SIGNATURE: signer.clob_auth_signature(timestamp, nonce),
        POLY_TIMESTAMP: str(timestamp),
        POLY_NONCE: str(nonce),
    }


def l2_signature(
    creds: ApiCredentials, timestamp: int, method: str, path: str, body: bytes = b""
) -> str:
    """`POLY_SIGNATURE` of an L2 request; a query string in `path` is not signed."""
    request_path = path.split("?", 1)[0]
    return creds.sign(f"{timestamp}{method}{request_path}".encode() + body)


def l2_headers(
    address: str,
    creds: ApiCredentials,
    timestamp: int,
    method: str,
    path: str,
    body: bytes = b"",
) -> dict[str, str]:
    """Headers of an L2 request; `address` is the API key owner's EOA, `body` the bytes sent."""
    return {
        POLY_ADDRESS: address,
        POLY_SIGNATURE: l2_signature(creds, timestamp, method, path, body),
        POLY_TIMESTAMP: str(timestamp),
        POLY_API_KEY: creds.api_key,
        POLY_PASSPHRASE: creds.passphrase,
    }


def _private_key(private_key_hex: str) -> PrivateKey:
    # The error never echoes the key.
    digits = private_key_hex[2:] if private_key_hex[:2] in ("0x", "0X") else private_key_hex
    try:
        if len(digits) != 64 or not _is_hex(digits):
            raise ValueError
        return PrivateKey(bytes.fromhex(digits))
    except (ValueError, TypeError):
        raise ValueError(
            "private_key must be 64 hex digits (optionally 0x-prefixed) of a valid secp256k1 key"
        ) from None


def _maker(signature_type: int, funder: str | None, address: str) -> str:
    if signature_type == EOA:
        if funder is not None and checksum_address(funder, "funder") != address:
            raise ValueError(
                "funder must be unset or the signer's own address for signature_type 0"
            )
        return address
    if signature_type in (POLY_PROXY, POLY_GNOSIS_SAFE):
        if funder is None:
            raise ValueError(
                f"funder (the proxy/safe wallet address) is required for signature_type "
                f"{signature_type}"
            )
        return checksum_address(funder, "funder")
    if signature_type == POLY_1271:
        raise ValueError(
            "signature_type 3 (POLY_1271 deposit wallet) is not supported: use 0 (EOA), "
            "1 (POLY_PROXY) or 2 (POLY_GNOSIS_SAFE)"
        )
    raise ValueError(f"signature_type must be 0, 1 or 2, got {signature_type!r}")


def _checked_uint_word(value: int, field_name: str) -> bytes:
    try:
        return value.to_bytes(32, "big")
    except (OverflowError, AttributeError):
        raise ValueError(f"{field_name} must be an integer in [0, 2**256), got {value!r}") from None


def _token_word(token_id: str) -> bytes:
    if not (token_id.isascii() and token_id.isdigit()):
        raise ValueError(f"token_id must be a decimal CLOB token id, got {token_id!r}")
    return _checked_uint_word(int(token_id), "token_id")


def _bytes32_word(value: str, field_name: str) -> bytes:
    if value == ZERO32:
        return _ZERO_WORD
    if len(value) != 66 or value[:2] != "0x" or not _is_hex(value[2:]):
        raise ValueError(f"{field_name} must be 0x followed by 64 hex digits, got {value!r}")
    return bytes.fromhex(value[2:])
