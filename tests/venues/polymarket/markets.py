"""Market definitions: binary (YES/NO) markets with realistic, deterministic ids.

Ids look like the real ones: a condition id is `0x` + 32 bytes of hex and a token id is a 77-digit
decimal number. Both are derived by hashing the market's slug, so a market keeps its ids across
runs and processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal

from eth_utils import keccak

# The tick sizes the CLOB knows (venues.md 2.2).
TICK_SIZES = ("0.1", "0.01", "0.005", "0.0025", "0.001", "0.0001")


def _hash_hex(text: str) -> str:
    return "0x" + keccak(text=f"quotekit-sim:{text}").hex()


def _token_id(condition_id: str, index: int) -> str:
    digest = int.from_bytes(keccak(text=f"{condition_id}:{index}"), "big")
    return str(10**76 + digest % (9 * 10**76))  # always 77 digits


def fmt(value: Decimal) -> str:
    """Decimal -> wire string without exponent or trailing zeros ("0.5", "100", "0.001")."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


@dataclass
class MarketSpec:
    """One binary market. Prices here (`initial_bid/ask`) are for the first outcome (YES)."""

    slug: str
    question: str
    tick_size: Decimal = Decimal("0.01")
    min_order_size: Decimal = Decimal("5")
    neg_risk: bool = False
    initial_bid: Decimal = Decimal("0.48")
    initial_ask: Decimal = Decimal("0.52")
    # Taker fee: shares * rate * (p * (1 - p)) ** exponent, charged in pUSD; makers pay none.
    fee_rate: Decimal = Decimal(0)
    fee_exponent: Decimal = Decimal(1)
    outcomes: tuple[str, str] = ("Yes", "No")
    event_slug: str = ""  # Gamma event; defaults to the market's slug
    event_title: str = ""
    gamma_id: int = 0  # Gamma's numeric market id; 0 = assigned from the market's position
    end_date: str = "2027-12-31T12:00:00Z"
    description: str = "A simulated market for tests."
    condition_id: str = field(init=False)
    question_id: str = field(init=False)
    token_ids: tuple[str, str] = field(init=False)

    def __post_init__(self) -> None:
        if str(self.tick_size) not in TICK_SIZES:
            raise ValueError(f"tick_size of {self.slug} must be one of {TICK_SIZES}")
        if not self.tick_size <= self.initial_bid < self.initial_ask <= 1 - self.tick_size:
            raise ValueError(f"{self.slug}: need tick <= initial_bid < initial_ask <= 1 - tick")
        self.condition_id = _hash_hex(f"condition:{self.slug}")
        self.question_id = _hash_hex(f"question:{self.slug}")
        self.token_ids = (_token_id(self.condition_id, 0), _token_id(self.condition_id, 1))
        self.event_slug = self.event_slug or self.slug
        self.event_title = self.event_title or self.question

    @property
    def neg_risk_market_id(self) -> str:
        """The neg-risk event's id (shared by all markets of the event); "" when not neg-risk."""
        return _hash_hex(f"neg-risk:{self.event_slug}") if self.neg_risk else ""


def default_markets() -> list[MarketSpec]:
    """A plain binary market and one outcome of a neg-risk (multi-outcome) event."""
    return [
        MarketSpec(
            slug="will-it-rain-in-simville-on-2027-12-31",
            question="Will it rain in Simville on 31 December 2027?",
            gamma_id=700001,
        ),
        MarketSpec(
            slug="will-alice-win-the-simville-election",
            question="Will Alice win the Simville election?",
            tick_size=Decimal("0.001"),
            neg_risk=True,
            initial_bid=Decimal("0.315"),
            initial_ask=Decimal("0.325"),
            fee_rate=Decimal("0.02"),
            event_slug="simville-election-winner",
            event_title="Simville election winner",
            gamma_id=700002,
        ),
    ]
