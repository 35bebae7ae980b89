"""
Async Polymarket REST client (aiohttp): the public CLOB and Gamma endpoints the instrument
provider and the data client need, and one `request` method that signed calls go through.

Every failure is sorted into "the venue said no" (`PolymarketApiError`, a definite answer) or
"we do not know what happened" (`PolymarketTransportError`: timeout, 5xx, broken connection). An
order whose submit ends in the second stays in flight until reconciliation resolves it. Reads are
retried on the second; writes never are (a write that timed out may have taken effect).

Private calls: pass `l2_headers`, a callback `(method, request_path, body) -> headers` that signs
with the API secret (HMAC over timestamp + method + path without query + body); `request(...,
signed=True)` sends exactly the body bytes it signed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from typing import Literal

import aiohttp
import msgspec

from adapters.polymarket.config import PolymarketEndpoints
from adapters.polymarket.schemas import BookSummary
from adapters.polymarket.schemas import decode_book_summary

Service = Literal["clob", "gamma", "data"]
L2HeaderCallback = Callable[[str, str, bytes], Mapping[str, str]]

# Gamma rejects more than 100 condition ids per request.
GAMMA_MAX_IDS_PER_REQUEST = 100
_READ_ATTEMPTS = 3


class PolymarketApiError(Exception):
    """A definite answer from the venue: the request was refused (`status`, venue `message`)."""

    def __init__(self, status: int, message: str, path: str = "") -> None:
        super().__init__(f"{path}: HTTP {status}: {message}" if path else f"{status}: {message}")
        self.status = status
        self.message = message


class PolymarketTransportError(Exception):
    """No definite answer: timeout, 5xx or a broken connection. The request may have happened."""


class PolymarketHttpClient:
    def __init__(
        self,
        endpoints: PolymarketEndpoints,
        *,
        timeout_s: float = 10.0,
        l2_headers: L2HeaderCallback | None = None,
    ) -> None:
        self._bases: dict[Service, str] = {
            "clob": endpoints.clob_http.rstrip("/"),
            "gamma": endpoints.gamma_http.rstrip("/"),
            "data": endpoints.data_api_http.rstrip("/"),
        }
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._l2_headers = l2_headers
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        service: Service = "clob",
        params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
        body: Any = None,
        signed: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """
        Send one request and return the decoded JSON body. `path` is below the service's base
        ("/book"); `params` may repeat keys as (key, value) pairs; `body` is JSON-encoded unless
        already bytes.
        """
        raw = await self.request_raw(
            method, path, service=service, params=params, body=body, signed=signed, headers=headers
        )
        return msgspec.json.decode(raw) if raw else None

    async def request_raw(
        self,
        method: str,
        path: str,
        *,
        service: Service = "clob",
        params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
        body: Any = None,
        signed: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> bytes:
        """`request`, returning the body undecoded (to decode straight into a struct).
        `headers` are sent as given (e.g. the L1 wallet signature of the auth endpoints)."""
        if isinstance(body, bytes):
            payload = body
        else:
            payload = msgspec.json.encode(body) if body is not None else b""
        headers = {**({"Content-Type": "application/json"} if payload else {}), **(headers or {})}
        if signed:
            if self._l2_headers is None:
                raise PolymarketApiError(
                    401, "no API credentials: set POLYMARKET_API_KEY/SECRET/PASSPHRASE", path
                )
            headers.update(self._l2_headers(method, path, payload))
        url = self._bases[service] + path
        query = _query(params)
        attempts = _READ_ATTEMPTS if method == "GET" else 1
        attempt = 1
        while True:
            try:
                return await self._send(method, url, query, payload, headers, path)
            except PolymarketTransportError:
                if attempt >= attempts:
                    raise
                await asyncio.sleep(0.1 * attempt)
                attempt += 1

    async def _send(
        self,
        method: str,
        url: str,
        query: list[tuple[str, str]],
        payload: bytes,
        headers: Mapping[str, str],
        path: str,
    ) -> bytes:
        session = self._session
        if session is None:
            # Created on first use: an aiohttp session belongs to the running event loop.
            session = self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with session.request(
                method, url, params=query, data=payload or None, headers=headers
            ) as response:
                status = response.status
                raw = await response.read()
        except (TimeoutError, aiohttp.ClientError) as error:
            raise PolymarketTransportError(
                f"{method} {path}: {type(error).__name__}: {error}"
            ) from error
        if status >= 500:
            raise PolymarketTransportError(f"{method} {path}: HTTP {status}")
        if status >= 400:
            raise PolymarketApiError(status, _error_message(raw), f"{method} {path}")
        return raw

    # -- CLOB (public) -------------------------------------------------------------------------

    async def clob_market(self, condition_id: str) -> dict[str, Any]:
        """`GET /markets/{condition_id}`: tokens, tick size, minimum order size, neg-risk flag."""
        return await self.request("GET", f"/markets/{condition_id}")

    async def clob_markets_page(self, next_cursor: str = "MA==") -> dict[str, Any]:
        """One page of `GET /markets`: `{"data": [...], "next_cursor": ...}` ("LTE=" at the end)."""
        return await self.request("GET", "/markets", params={"next_cursor": next_cursor})

    async def book(self, token_id: str) -> BookSummary:
        """`GET /book`: the token's full book (bids ascending, asks descending)."""
        return decode_book_summary(
            await self.request_raw("GET", "/book", params={"token_id": token_id})
        )

    async def tick_size(self, token_id: str) -> Decimal:
        reply = await self.request("GET", "/tick-size", params={"token_id": token_id})
        return Decimal(str(reply["minimum_tick_size"]))

    async def neg_risk(self, token_id: str) -> bool:
        reply = await self.request("GET", "/neg-risk", params={"token_id": token_id})
        return bool(reply["neg_risk"])

    # -- Gamma ---------------------------------------------------------------------------------

    async def gamma_markets(
        self, *, slugs: Iterable[str] = (), condition_ids: Iterable[str] = ()
    ) -> list[dict[str, Any]]:
        """
        Gamma `GET /markets` for these slugs and condition ids (camelCase bodies carrying
        `feeSchedule`, `rewardsMinSize`, `rewardsMaxSpread`), batched under Gamma's id limit.
        """
        markets: list[dict[str, Any]] = []
        for key, values in (("slug", list(slugs)), ("condition_ids", list(condition_ids))):
            for start in range(0, len(values), GAMMA_MAX_IDS_PER_REQUEST):
                batch = values[start : start + GAMMA_MAX_IDS_PER_REQUEST]
                params = [(key, value) for value in batch] + [("limit", len(batch))]
                page = await self.request("GET", "/markets", service="gamma", params=params)
                markets.extend(page)
        return markets


def _query(params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> list[tuple[str, str]]:
    items = params.items() if isinstance(params, Mapping) else (params or ())
    return [(key, _param(value)) for key, value in items if value is not None]


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _error_message(raw: bytes) -> str:
    """The venue words errors as `{"error": "..."}`; anything else is shown as text."""
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return raw.decode(errors="replace")[:500]
    if isinstance(data, dict):
        return str(data.get("error") or data.get("message") or data)
    return str(data)
