"""Gate.io API v4 request signing (pure, no I/O).

REST (docs `authentication.md`):
`SIGN = hex(HMAC_SHA512(secret, METHOD\\npath\\nquery\\nsha512hex(body)\\nts))` where `path`
includes `/api/v4`, `query` is the raw query string exactly as sent ("" if none) and `ts` is the
`Timestamp` header value verbatim. WS private channels sign `channel=%s&event=%s&time=%d`; the WS
trading API (`futures.login`, `futures.order_place`...) signs `api\\nchannel\\nreq_param\\nts`.

Speed: keying HMAC-SHA512 costs two extra SHA-512 block compressions plus object set-up on every
call. `GateSigner` keys once and `.copy()`s the keyed state per signature, and the empty-body hash
(every GET/DELETE) is a constant. The module-level functions share signers through a small cache so
callers holding only `(key, secret)` get the same speed.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

# sha512(b"").hexdigest(): the hashed payload of every bodyless request.
EMPTY_BODY_HASH = hashlib.sha512(b"").hexdigest()
SIZE_DECIMAL_HEADER = "X-Gate-Size-Decimal"


def hashed_payload(body: bytes) -> str:
    """Hex SHA-512 of the raw request body bytes (never of a re-serialised body)."""
    if not body:
        return EMPTY_BODY_HASH
    return hashlib.sha512(body).hexdigest()


class GateSigner:
    """Signs Gate REST requests and WS messages with one API key; the HMAC is keyed once."""

    __slots__ = ("_header_block", "_key", "_mac")

    def __init__(self, key: str, secret: str) -> None:
        if "\r" in key or "\n" in key:
            raise ValueError("GATE_API_KEY contains a line break: copy the key without it")
        self._key = key
        self._mac = hmac.new(secret.encode(), digestmod=hashlib.sha512)
        self._header_block = "".join(f"{k}: {v}\r\n" for k, v in self._fixed_headers().items())

    def __repr__(self) -> str:
        # Never show the secret; the key is masked too because reprs end up in logs.
        return f"GateSigner(key={self._key[:4]}...)"

    def _sign(self, message: bytes) -> str:
        mac = self._mac.copy()
        mac.update(message)
        return mac.hexdigest()

    def _fixed_headers(self) -> dict[str, str]:
        return {
            "KEY": self._key,
            "Content-Type": "application/json",
            # Sizes as decimal strings, never silently rounded-down integers (venues.md 1.3).
            SIZE_DECIMAL_HEADER: "1",
        }

    def rest_signature(
        self, method: str, path: str, query: str, body: bytes, timestamp: str
    ) -> str:
        message = f"{method.upper()}\n{path}\n{query}\n{hashed_payload(body)}\n{timestamp}"
        return self._sign(message.encode())

    def rest_headers(
        self, method: str, path: str, query: str, body: bytes, timestamp: str
    ) -> dict[str, str]:
        return {
            **self._fixed_headers(),
            "Timestamp": timestamp,
            "SIGN": self.rest_signature(method, path, query, body, timestamp),
        }

    def rest_header_block(
        self, method: str, path: str, query: str, body: bytes, timestamp: str
    ) -> bytes:
        """`rest_headers` as the header lines of an HTTP/1.1 request (all but two pre-built)."""
        sign = self.rest_signature(method, path, query, body, timestamp)
        return f"{self._header_block}Timestamp: {timestamp}\r\nSIGN: {sign}\r\n".encode()

    def ws_channel_signature(self, channel: str, event: str, time: int) -> str:
        return self._sign(f"channel={channel}&event={event}&time={int(time)}".encode())


@lru_cache(maxsize=16)
def signer(key: str, secret: str) -> GateSigner:
    """A shared keyed signer (a process holds a handful of API keys at most)."""
    return GateSigner(key, secret)


def rest_signature(
    secret: str, method: str, path: str, query: str, body: bytes, timestamp: str
) -> str:
    """`SIGN` header for a REST request (`path` includes `/api/v4`, `query` raw and unencoded)."""
    return signer("", secret).rest_signature(method, path, query, body, timestamp)


def rest_headers(
    key: str, secret: str, method: str, path: str, query: str, body: bytes, timestamp: str
) -> dict[str, str]:
    """All headers of a signed REST request: KEY, Timestamp, SIGN, Content-Type, size-decimal."""
    return signer(key, secret).rest_headers(method, path, query, body, timestamp)


def ws_channel_signature(secret: str, channel: str, event: str, time: int) -> str:
    """`auth.SIGN` of a private-channel (un)subscribe message; `time` is the message's `time`."""
    return signer("", secret).ws_channel_signature(channel, event, time)
