"""
Signed Gate.io REST client: rate limits kept before the venue enforces them, clock offset used for
signing, and every failure sorted into "the venue said no" or "we do not know what happened".

That split is what the execution client's outcome policy rests on: a `GateApiError` is a definite
answer (an order can be rejected), a `GateTransportError` (timeout, 5xx, broken connection) is not,
and an order in that state stays in flight until reconciliation resolves it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode
from urllib.parse import urlsplit

import aiohttp

from adapters.gate.signing import rest_headers

# Gate's published limits (per UID): order place + amend 100 r/s, cancel 200 r/s, other private
# endpoints 200 r / 10 s, public 200 r / 10 s per endpoint. We stay a little under each.
DEFAULT_RATES: dict[str, tuple[float, int]] = {
    "order": (90.0, 20),
    "cancel": (180.0, 40),
    "private": (18.0, 20),
    "public": (18.0, 20),
}
_RETRYABLE_GET_ATTEMPTS = 3


class GateApiError(Exception):
    """A definite answer from the venue: the request was refused for the reason in `label`."""

    def __init__(self, status: int, label: str, message: str) -> None:
        super().__init__(f"{status} {label}: {message}")
        self.status = status
        self.label = label
        self.message = message


class GateTransportError(Exception):
    """No definite answer: timeout, 5xx or a broken connection. The request may have happened."""


class RateLimiter:
    """Token bucket: `acquire` waits until a request may go, so the venue never has to say 429."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self._rate = rate_per_s
        self._capacity = float(burst)
        self._tokens = float(burst)
        self._updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self, tokens: int = 1) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(
                    self._capacity, self._tokens + (now - self._updated) * self._rate
                )
                self._updated = now
                if self._tokens >= tokens:
                    self._tokens -= tokens
                    return
                await asyncio.sleep((tokens - self._tokens) / self._rate)

    def penalise(self, seconds: float) -> None:
        """After a 429: spend the bucket so nothing else goes out for `seconds`."""
        self._tokens = -seconds * self._rate
        self._updated = time.monotonic()


class GateHttpClient:
    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        timeout_s: float = 5.0,
        rates: Mapping[str, tuple[float, int]] | None = None,
        backoff_429_s: float = 1.0,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._path_prefix = urlsplit(self._base_url).path  # "/api/v4": part of the signed path
        self._api_key = api_key
        self._api_secret = api_secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._limiters = {k: RateLimiter(*v) for k, v in (rates or DEFAULT_RATES).items()}
        self._backoff_429_s = backoff_429_s
        self._session: aiohttp.ClientSession | None = None
        self.clock_offset_ms = 0.0

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def has_credentials(self) -> bool:
        return bool(self._api_key and self._api_secret)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def sync_clock(self, samples: int = 3) -> float:
        """
        Measure the venue clock against ours (midpoint of the round trip, best of a few) and keep
        the offset for signing, so drift never makes the venue answer REQUEST_EXPIRED.
        """
        best_rtt = float("inf")
        for _ in range(samples):
            sent = time.time()
            reply = await self.request("GET", "/spot/time", limit="public")
            received = time.time()
            rtt = received - sent
            if rtt < best_rtt:
                best_rtt = rtt
                self.clock_offset_ms = float(reply["server_time"]) - (sent + received) * 500.0
        return self.clock_offset_ms

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        signed: bool = False,
        limit: str = "private",
        weight: int = 1,
    ) -> Any:
        """Send one request; `limit` names the rate bucket it counts against."""
        query = (
            urlencode({k: _param(v) for k, v in params.items() if v is not None}) if params else ""
        )
        payload = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
        limiter = self._limiters[limit]
        transport_attempts = _RETRYABLE_GET_ATTEMPTS if method == "GET" else 1
        resends_after_429 = 1
        attempt = 0
        while True:
            attempt += 1
            await limiter.acquire(weight)
            try:
                return await self._send(method, path, query, payload, signed)
            except GateApiError as error:
                # A 429 is refused before anything happened: pause, then resend once.
                if error.status != 429 or resends_after_429 == 0:
                    raise
                resends_after_429 -= 1
                limiter.penalise(self._backoff_429_s)
            except GateTransportError:
                # Only reads are retried: a write that timed out may have taken effect.
                if attempt >= transport_attempts:
                    raise
                await asyncio.sleep(0.1 * attempt)

    async def _send(self, method: str, path: str, query: str, payload: bytes, signed: bool) -> Any:
        url = f"{self._base_url}{path}" + (f"?{query}" if query else "")
        headers = {"Content-Type": "application/json", "X-Gate-Size-Decimal": "1"}
        if signed:
            if not self.has_credentials:
                raise GateApiError(
                    401, "MISSING_CREDENTIALS", "set GATE_API_KEY and GATE_API_SECRET"
                )
            timestamp = str(int((time.time() * 1000 + self.clock_offset_ms) / 1000))
            headers = rest_headers(
                self._api_key,
                self._api_secret,
                method,
                self._path_prefix + path,
                query,
                payload,
                timestamp,
            )
        session = self._session
        if session is None:
            session = self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with session.request(
                method, url, data=payload or None, headers=headers
            ) as response:
                text = await response.text()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as error:
            raise GateTransportError(f"{method} {path}: {type(error).__name__}: {error}") from error
        if status >= 500:
            raise GateTransportError(f"{method} {path}: HTTP {status} {text[:200]}")
        data = json.loads(text) if text else None
        if status >= 400:
            data = data if isinstance(data, dict) else {}
            raise GateApiError(
                status,
                str(data.get("label", "UNKNOWN")),
                str(data.get("message") or data.get("detail") or ""),
            )
        return data


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
