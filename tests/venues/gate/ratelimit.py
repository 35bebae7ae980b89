"""Per-key (or per-IP for public endpoints) fixed-window rate limiter with Gate's header values."""

from __future__ import annotations

import time
from dataclasses import dataclass

# Gate's documented perpetual limits: place+amend 100 r/s per UID, cancel 200 r/s,
# other private endpoints 200 r/10 s, public 200 r/10 s per endpoint per IP.
DEFAULT_LIMITS: dict[str, tuple[int, float]] = {
    "order": (100, 1.0),
    "cancel": (200, 1.0),
    "private": (200, 10.0),
    "public": (200, 10.0),
}


def classify(method: str, path: str) -> str:
    """Rate-limit class of a request to `/api/v4/...` (path without the prefix)."""
    if not path.startswith("/futures/"):
        return "public" if path.startswith("/spot/") else "private"
    tail = path.split("/", 3)[-1] if path.count("/") >= 3 else ""
    if tail in ("orders", "batch_orders") and method == "POST":
        return "order"
    if (tail.startswith("orders/") and method == "PUT") or tail == "batch_amend_orders":
        return "order"
    if (tail == "orders" or tail.startswith("orders/")) and method == "DELETE":
        return "cancel"
    if tail == "batch_cancel_orders":
        return "cancel"
    public = ("contracts", "order_book", "trades", "tickers", "candlesticks", "funding_rate")
    if method == "GET" and tail.split("/", 1)[0] in public:
        return "public"
    return "private"


@dataclass
class Decision:
    allowed: bool
    limit: int
    remain: int
    reset_ms: int


class RateLimiter:
    def __init__(self, limits: dict[str, tuple[int, float]] | None = None) -> None:
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    def hit(self, bucket: str, who: str, cost: int = 1, now: float | None = None) -> Decision:
        limit, window = self.limits[bucket]
        now = time.time() if now is None else now
        start, used = self._windows.get((bucket, who), (now, 0))
        if now - start >= window:
            start, used = now, 0
        reset_ms = int((start + window) * 1000)
        if used + cost > limit:
            self._windows[(bucket, who)] = (start, used)
            return Decision(False, limit, max(0, limit - used), reset_ms)
        used += cost
        self._windows[(bucket, who)] = (start, used)
        # "now" when not limited, per Gate's docs.
        return Decision(True, limit, limit - used, int(now * 1000))
