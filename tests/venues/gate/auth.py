"""Gate API v4 signing and verification (REST and WebSocket channel auth).

The simulator verifies over the raw bytes it received (path, query string, body) because clients
differ in how they serialise: gate-api signs `json.dumps` output with spaces, ccxt signs compact
JSON, and re-serialising would break one of them.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

EMPTY_BODY_HASH = hashlib.sha512(b"").hexdigest()


def hashed_payload(body: bytes) -> str:
    return hashlib.sha512(body).hexdigest()


def sign_rest(
    secret: str, method: str, path: str, query: str, body: bytes | str, timestamp: str
) -> str:
    """SIGN header value: hex HMAC-SHA512 over METHOD\\npath\\nquery\\nsha512(body)\\ntimestamp."""
    raw = body.encode() if isinstance(body, str) else body
    message = f"{method.upper()}\n{path}\n{query}\n{hashed_payload(raw)}\n{timestamp}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha512).hexdigest()


def sign_ws_channel(secret: str, channel: str, event: str, ts: int) -> str:
    """Per-subscribe auth SIGN for private WS channels."""
    message = f"channel={channel}&event={event}&time={ts}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha512).hexdigest()


@dataclass(frozen=True)
class AuthFailure(Exception):
    """An authentication failure as Gate reports it (HTTP 401 + label)."""

    label: str
    message: str


def verify_rest(
    secrets: dict[str, str],
    *,
    key: str | None,
    sign: str | None,
    timestamp: str | None,
    method: str,
    path: str,
    queries: tuple[str, ...],
    body: bytes,
    window_s: float = 60.0,
    now: float | None = None,
) -> str:
    """Return the API key when the request is correctly signed, else raise AuthFailure.

    `queries` holds the candidate query strings: the raw one as received and its percent-decoded
    form, because gate-api signs the unquoted query but sends it quoted, while ccxt signs what it
    sends.
    """
    if not key or not sign or not timestamp:
        missing = [n for n, v in (("KEY", key), ("SIGN", sign), ("Timestamp", timestamp)) if not v]
        raise AuthFailure(
            "MISSING_REQUIRED_HEADER", f"Missing required header: {', '.join(missing)}"
        )
    secret = secrets.get(key)
    if secret is None:
        raise AuthFailure("INVALID_KEY", "Invalid key provided")
    try:
        ts = float(timestamp)
    except ValueError:
        raise AuthFailure("INVALID_PARAM_VALUE", f"Invalid Timestamp header: {timestamp}") from None
    current = time.time() if now is None else now
    if abs(current - ts) > window_s:
        raise AuthFailure(
            "REQUEST_EXPIRED", f"gap between request Timestamp and server time exceeds {window_s:g}"
        )
    for query in dict.fromkeys(queries):
        expected = sign_rest(secret, method, path, query, body, timestamp)
        if hmac.compare_digest(expected, sign.lower()):
            return key
    raise AuthFailure("INVALID_SIGNATURE", "Signature mismatch")
