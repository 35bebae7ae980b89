"""API keys and request authentication: L1 (EIP-712 `ClobAuth`, recovers the wallet) for key
creation/derivation, L2 (HMAC over the raw request) for every private call, and the user WS
channel's key/secret/passphrase check."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from eth_utils import is_address
from eth_utils import to_checksum_address

from tests.venues.polymarket.models import ApiError
from tests.venues.polymarket.signing import ApiCreds
from tests.venues.polymarket.signing import derive_api_creds
from tests.venues.polymarket.signing import hmac_signature
from tests.venues.polymarket.signing import recover_clob_auth_signer

INVALID_API_KEY = "Unauthorized/Invalid api key"
INVALID_L1 = "Invalid L1 Request headers"


class KeyRegistry:
    def __init__(
        self,
        *,
        server_salt: str,
        chain_id: int,
        time_window_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.server_salt = server_salt
        self.chain_id = chain_id
        self.time_window_s = time_window_s
        self.clock = clock
        self.keys: dict[str, ApiCreds] = {}

    # ---- L1 ------------------------------------------------------------------------------
    def _l1_identity(self, headers: Mapping[str, str]) -> tuple[str, int]:
        """(checksummed address, nonce) of a correctly L1-signed request, else 401."""
        address = headers.get("POLY_ADDRESS", "")
        signature = headers.get("POLY_SIGNATURE", "")
        timestamp = headers.get("POLY_TIMESTAMP", "")
        nonce_text = headers.get("POLY_NONCE", "0") or "0"
        if not (is_address(address) and signature and timestamp):
            raise ApiError(401, INVALID_L1)
        try:
            nonce = int(nonce_text)
            ts = float(timestamp)
        except ValueError:
            raise ApiError(401, INVALID_L1) from None
        if abs(self.clock() - ts) > self.time_window_s:
            raise ApiError(401, INVALID_L1)
        checksummed = to_checksum_address(address)
        try:
            signer = recover_clob_auth_signer(
                checksummed, timestamp, nonce, signature, self.chain_id
            )
        except Exception:  # malformed signature bytes
            raise ApiError(401, INVALID_L1) from None
        if signer != checksummed:
            raise ApiError(401, INVALID_L1)
        return checksummed, nonce

    def create(self, headers: Mapping[str, str]) -> ApiCreds:
        """`POST /auth/api-key`: a new key for (address, nonce); 400 if it already exists."""
        address, nonce = self._l1_identity(headers)
        creds = derive_api_creds(address, nonce, self.server_salt)
        if creds.api_key in self.keys:
            raise ApiError(400, "Could not create api key")
        self.keys[creds.api_key] = creds
        return creds

    def derive(self, headers: Mapping[str, str]) -> ApiCreds:
        """`GET /auth/derive-api-key`: the (deterministic) key of (address, nonce)."""
        address, nonce = self._l1_identity(headers)
        creds = derive_api_creds(address, nonce, self.server_salt)
        self.keys[creds.api_key] = creds
        return creds

    def register(self, address: str, nonce: int = 0) -> ApiCreds:
        """Pre-create a key (what L1 creation would give), for tests and the control API."""
        creds = derive_api_creds(to_checksum_address(address), nonce, self.server_salt)
        self.keys[creds.api_key] = creds
        return creds

    # ---- L2 ------------------------------------------------------------------------------
    def verify_l2(
        self, headers: Mapping[str, str], method: str, path: str, body: bytes
    ) -> ApiCreds:
        """The API key of a correctly HMAC-signed request, else 401 Unauthorized."""
        creds = self.keys.get(headers.get("POLY_API_KEY", ""))
        signature = headers.get("POLY_SIGNATURE", "")
        timestamp = headers.get("POLY_TIMESTAMP", "")
        if creds is None or not signature or not timestamp:
            raise ApiError(401, INVALID_API_KEY)
        if not hmac.compare_digest(headers.get("POLY_PASSPHRASE", ""), creds.passphrase):
            raise ApiError(401, INVALID_API_KEY)
        # py-clob-client sends the checksummed address, rs-clob-client the lower-case one.
        if headers.get("POLY_ADDRESS", "").lower() != creds.address.lower():
            raise ApiError(401, INVALID_API_KEY)
        try:
            ts = float(timestamp)
        except ValueError:
            raise ApiError(401, INVALID_API_KEY) from None
        if abs(self.clock() - ts) > self.time_window_s:
            raise ApiError(401, INVALID_API_KEY)
        expected = hmac_signature(
            creds.secret, timestamp, method, path, body.decode("utf-8", "replace")
        )
        if not hmac.compare_digest(expected, signature):
            raise ApiError(401, INVALID_API_KEY)
        return creds

    def for_ws(self, auth: Any) -> ApiCreds | None:
        """The key of a user-channel `auth` object, or None when it does not match."""
        if not isinstance(auth, dict):
            return None
        creds = self.keys.get(str(auth.get("apiKey", "")))
        if creds is None:
            return None
        ok_secret = hmac.compare_digest(str(auth.get("secret", "")), creds.secret)
        ok_pass = hmac.compare_digest(str(auth.get("passphrase", "")), creds.passphrase)
        return creds if ok_secret and ok_pass else None

    def keys_of(self, address: str) -> list[str]:
        return [k for k, c in self.keys.items() if c.address.lower() == address.lower()]
