"""Server-side Polymarket crypto (pure functions), written on eth-account's EIP-712 encoder so the
simulator checks clients with an implementation independent of theirs.

- L1: EIP-712 `ClobAuth` under `{"ClobAuthDomain", "1", chainId}`; the signer is recovered.
- Orders: EIP-712 `Order` (11 fields) under `{"Polymarket CTF Exchange", "2", chainId, exchange}`,
  exchange = CTF exchange V2, or the neg-risk exchange V2 for neg-risk markets. The order id is the
  EIP-712 digest.
- L2: urlsafe-base64 HMAC-SHA256 (keyed by the urlsafe-base64-decoded secret) over
  `timestamp + METHOD + path (no query) + raw body`.
- API credentials are derived deterministically from (address, nonce) and a server salt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage
from eth_account.messages import encode_typed_data
from eth_utils import keccak

POLYGON = 137
EXCHANGE_V2 = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_EXCHANGE_V2 = "0xe2222d279d744050d28e00520010520000310F59"
NEG_RISK_ADAPTER = "0xd91E80cF2E7be2e162c6513ceD06f1dD0dA35296"
CLOB_AUTH_MESSAGE = "This message attests that I control the given wallet"
MAX_UINT256 = 2**256 - 1

_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
]
_ORDER_FIELDS = [
    {"name": "salt", "type": "uint256"},
    {"name": "maker", "type": "address"},
    {"name": "signer", "type": "address"},
    {"name": "tokenId", "type": "uint256"},
    {"name": "makerAmount", "type": "uint256"},
    {"name": "takerAmount", "type": "uint256"},
    {"name": "side", "type": "uint8"},
    {"name": "signatureType", "type": "uint8"},
    {"name": "timestamp", "type": "uint256"},
    {"name": "metadata", "type": "bytes32"},
    {"name": "builder", "type": "bytes32"},
]


@dataclass(frozen=True)
class SignedOrderFields:
    """The signed part of a V2 order, parsed from its JSON body."""

    salt: int
    maker: str
    signer: str
    token_id: int
    maker_amount: int
    taker_amount: int
    side: int  # 0 BUY, 1 SELL
    signature_type: int
    timestamp_ms: int
    metadata: bytes
    builder: bytes


def clob_auth_message(address: str, timestamp: str, nonce: int, chain_id: int) -> SignableMessage:
    return encode_typed_data(
        full_message={
            "primaryType": "ClobAuth",
            "types": {
                "EIP712Domain": _DOMAIN_FIELDS,
                "ClobAuth": [
                    {"name": "address", "type": "address"},
                    {"name": "timestamp", "type": "string"},
                    {"name": "nonce", "type": "uint256"},
                    {"name": "message", "type": "string"},
                ],
            },
            "domain": {"name": "ClobAuthDomain", "version": "1", "chainId": chain_id},
            "message": {
                "address": address,
                "timestamp": timestamp,
                "nonce": nonce,
                "message": CLOB_AUTH_MESSAGE,
            },
        }
    )


def recover_clob_auth_signer(
    address: str, timestamp: str, nonce: int, signature: str, chain_id: int = POLYGON
) -> str:
    """The checksummed address that signed this `ClobAuth` (raises ValueError if malformed)."""
    return Account.recover_message(
        clob_auth_message(address, timestamp, nonce, chain_id), signature=signature
    )


def sign_clob_auth(
    private_key: str, timestamp: str, nonce: int, chain_id: int = POLYGON
) -> tuple[str, str]:
    """(address, POLY_SIGNATURE) for L1 headers: what a wallet client sends."""
    account = Account.from_key(private_key)
    message = clob_auth_message(account.address, timestamp, nonce, chain_id)
    return account.address, "0x" + Account.sign_message(message, private_key).signature.hex()


def exchange_for(neg_risk: bool) -> str:
    return NEG_RISK_EXCHANGE_V2 if neg_risk else EXCHANGE_V2


def order_message(order: SignedOrderFields, exchange: str, chain_id: int) -> SignableMessage:
    return encode_typed_data(
        full_message={
            "primaryType": "Order",
            "types": {
                "EIP712Domain": [*_DOMAIN_FIELDS, {"name": "verifyingContract", "type": "address"}],
                "Order": _ORDER_FIELDS,
            },
            "domain": {
                "name": "Polymarket CTF Exchange",
                "version": "2",
                "chainId": chain_id,
                "verifyingContract": exchange,
            },
            "message": {
                "salt": order.salt,
                "maker": order.maker,
                "signer": order.signer,
                "tokenId": order.token_id,
                "makerAmount": order.maker_amount,
                "takerAmount": order.taker_amount,
                "side": order.side,
                "signatureType": order.signature_type,
                "timestamp": order.timestamp_ms,
                "metadata": order.metadata,
                "builder": order.builder,
            },
        }
    )


def message_digest(message: SignableMessage) -> str:
    """`0x` + keccak256(0x19 ‖ version ‖ domain separator ‖ struct hash): the EIP-712 digest."""
    return "0x" + keccak(b"\x19" + message.version + message.header + message.body).hex()


def recover_signer(message: SignableMessage, signature: str) -> str | None:
    """The checksummed signer address, or None when the signature is malformed."""
    try:
        return Account.recover_message(message, signature=signature)
    except Exception:  # eth-account raises several types for junk signatures
        return None


def sign_message(message: SignableMessage, private_key: str) -> str:
    return "0x" + Account.sign_message(message, private_key).signature.hex()


def hmac_signature(secret: str, timestamp: str, method: str, path: str, body: str = "") -> str:
    """POLY_SIGNATURE of an L2 request (urlsafe base64, with padding)."""
    key = base64.urlsafe_b64decode(secret)
    message = f"{timestamp}{method}{path}{body}"
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()


@dataclass(frozen=True)
class ApiCreds:
    api_key: str
    secret: str
    passphrase: str
    address: str  # checksummed owner (the L1 signer)
    nonce: int

    def json(self) -> dict[str, Any]:
        return {"apiKey": self.api_key, "secret": self.secret, "passphrase": self.passphrase}


def derive_api_creds(address: str, nonce: int, server_salt: str) -> ApiCreds:
    """Deterministic credentials for (address, nonce): the same every time they are derived."""

    def part(label: str) -> bytes:
        text = f"{address.lower()}:{nonce}:{label}".encode()
        return hmac.new(server_salt.encode(), text, hashlib.sha256).digest()

    return ApiCreds(
        api_key=str(uuid.UUID(bytes=part("key")[:16], version=4)),
        secret=base64.urlsafe_b64encode(part("secret")).decode(),
        passphrase=part("passphrase").hex(),
        address=address,
        nonce=nonce,
    )
