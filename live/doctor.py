"""
`live doctor`: is this machine, account and config ready to trade? Each check is one line, `ok` or
`FAIL`, with the detail a person needs to fix it: credentials present, the clock against the
venue's, the instrument at the venue, balances, and risk limits that fit the strategy's ladder.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.model.instruments import Instrument

from adapters.gate.config import gate_credentials
from adapters.gate.http import GateApiError
from adapters.gate.http import GateHttpClient
from adapters.gate.http import GateTransportError
from adapters.gate.parsing import contract_name
from adapters.gate.parsing import parse_account_balances
from adapters.gate.providers import GateInstrumentProvider
from adapters.polymarket.auth import ApiCredentialsUnavailable
from adapters.polymarket.auth import api_credentials
from adapters.polymarket.config import PolymarketCredentials
from adapters.polymarket.config import PolymarketEndpoints
from adapters.polymarket.config import polymarket_credentials
from adapters.polymarket.http import PolymarketApiError
from adapters.polymarket.http import PolymarketHttpClient
from adapters.polymarket.http import PolymarketTransportError
from adapters.polymarket.parsing import split_instrument_id
from adapters.polymarket.providers import MarketNotFound
from adapters.polymarket.providers import PolymarketInstrumentProvider
from adapters.polymarket.signing import OrderSigner
from adapters.polymarket.signing import l2_headers
from backtests.config import RunConfig
from live.config import missing_limits
from live.config import notional_problems
from live.node import VenueEntry
from live.node import instrument_ids

DEFAULT_MAX_CLOCK_OFFSET_MS = 1_000.0
_AUTH_LABELS = {"INVALID_KEY", "INVALID_SIGNATURE", "REQUEST_EXPIRED", "FORBIDDEN"}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok' if self.ok else 'FAIL':<5} {self.name:<12} {self.detail}"


def credentials_check(entry: VenueEntry) -> Check:
    missing = entry.missing_credentials()
    if missing:
        return Check("credentials", False, f"{' and '.join(missing)} not set in the environment")
    return Check("credentials", True, f"{' and '.join(entry.credential_vars)} set")


def clock_check(offset_ms: float, max_offset_ms: float) -> Check:
    detail = f"venue clock {round(offset_ms):+d} ms from ours (limit {max_offset_ms:.0f} ms)"
    if abs(offset_ms) > max_offset_ms:
        return Check("clock", False, detail + ": synchronise this machine's clock (NTP)")
    return Check("clock", True, detail)


def risk_check(run_config: RunConfig, instrument: Instrument | None, price: float | None) -> Check:
    risk = run_config.live.risk
    problems = [f"{name} is not set" for name in missing_limits(risk)]
    if instrument is None or price is None:
        problems.append("ladder notional not checked: no instrument or price")
    else:
        problems += notional_problems(
            risk, run_config.strategy, price=price, multiplier=float(instrument.multiplier)
        )
    if problems:
        return Check(
            "limits", False, "; ".join(problems) + " (set them under live.risk in the config)"
        )
    currency = instrument.quote_currency.code
    return Check(
        "limits",
        True,
        f"per order <= {risk.max_order_notional:g} {currency}, exposure <= "
        f"{risk.max_exposure_notional:g} {currency}, daily loss <= {risk.max_daily_loss:g} "
        f"{currency}; the ladder fits at {price:g}",
    )


async def gate_checks(
    run_config: RunConfig, entry: VenueEntry, *, testnet: bool, max_clock_offset_ms: float
) -> list[Check]:
    checks = [credentials_check(entry)]
    key, secret = gate_credentials(required=False)
    rest_url = entry.endpoints(run_config.live, testnet)["rest_url"]
    http = GateHttpClient(rest_url, api_key=key, api_secret=secret)
    try:
        checks.append(await _gate_clock(http, rest_url, max_clock_offset_ms))
        instrument, check = await _gate_instrument(http, run_config)
        checks.append(check)
        checks.append(await _gate_balance(http, checks[0]))
        price = await _gate_price(http, instrument) if instrument is not None else None
        checks.append(risk_check(run_config, instrument, price))
    finally:
        await http.close()
    return checks


async def _gate_clock(http: GateHttpClient, rest_url: str, max_offset_ms: float) -> Check:
    try:
        offset_ms = await http.sync_clock()
    except (GateApiError, GateTransportError) as error:
        return Check("clock", False, f"cannot reach {rest_url}: {error}")
    return clock_check(offset_ms, max_offset_ms)


async def _gate_instrument(
    http: GateHttpClient, run_config: RunConfig
) -> tuple[Instrument | None, Check]:
    provider = GateInstrumentProvider(http, InstrumentProviderConfig())
    instrument_id = run_config.instrument_id
    try:
        await provider.load_ids_async(instrument_ids(run_config))
    except GateApiError as error:
        return None, Check(
            "instrument", False, f"{instrument_id}: the venue does not list it ({error.label})"
        )
    except GateTransportError as error:
        return None, Check("instrument", False, f"{instrument_id}: {error}")
    instrument = provider.find(instrument_id)
    if instrument is None:
        return None, Check("instrument", False, f"{instrument_id}: not trading at the venue")
    return instrument, Check(
        "instrument",
        True,
        f"{instrument_id}: tick {instrument.price_increment}, size step "
        f"{instrument.size_increment}, multiplier {instrument.multiplier}",
    )


async def _gate_balance(http: GateHttpClient, credentials: Check) -> Check:
    if not credentials.ok:
        return Check("balance", False, f"not checked: {credentials.detail}")
    try:
        account = await http.request("GET", "/futures/usdt/accounts", signed=True)
    except GateApiError as error:
        if error.label in _AUTH_LABELS or error.status in (401, 403):
            return Check(
                "balance",
                False,
                f"the venue refused the credentials ({error.label}: {error.message}): check "
                "GATE_API_KEY and GATE_API_SECRET",
            )
        return Check("balance", False, f"futures account: {error}")
    except GateTransportError as error:
        return Check("balance", False, f"futures account: {error}")
    balances, _ = parse_account_balances(account)
    balance = balances[0]
    currency = balance.currency.code
    detail = (
        f"futures account: total {balance.total.as_double():,.2f} {currency}, "
        f"available {balance.free.as_double():,.2f} {currency}"
    )
    if balance.free.as_double() <= 0:
        return Check("balance", False, detail + ": nothing available to margin quotes")
    return Check("balance", True, detail)


async def _gate_price(http: GateHttpClient, instrument: Instrument) -> float | None:
    try:
        tickers: list[dict[str, Any]] = await http.request(
            "GET",
            "/futures/usdt/tickers",
            params={"contract": contract_name(instrument.id)},
            limit="public",
        )
    except (GateApiError, GateTransportError):
        return None
    return float(tickers[0]["mark_price"] or tickers[0]["last"]) if tickers else None


async def polymarket_checks(
    run_config: RunConfig, entry: VenueEntry, *, testnet: bool, max_clock_offset_ms: float
) -> list[Check]:
    checks = [credentials_check(entry)]
    endpoints = PolymarketEndpoints(**entry.endpoints(run_config.live, testnet))
    http = PolymarketHttpClient(endpoints)
    try:
        checks.append(await _polymarket_clock(http, endpoints.clob_http, max_clock_offset_ms))
        instrument, check = await _polymarket_instrument(http, run_config)
        checks.append(check)
        credentials = polymarket_credentials() if checks[0].ok else None
        checks.append(await _polymarket_balance(endpoints, credentials, checks[0]))
        price = await _polymarket_price(http, instrument) if instrument is not None else None
        checks.append(risk_check(run_config, instrument, price))
    finally:
        await http.close()
    return checks


async def _polymarket_clock(
    http: PolymarketHttpClient, clob_url: str, max_offset_ms: float
) -> Check:
    try:
        before = time.time()
        venue_s = await http.request("GET", "/time")
        after = time.time()
    except (PolymarketApiError, PolymarketTransportError) as error:
        return Check("clock", False, f"cannot reach {clob_url}: {error}")
    # The venue answers in whole seconds: allow for that resolution and the round trip.
    ours = (before + after) / 2
    offset_ms = (float(venue_s) + 0.5 - ours) * 1000
    resolution_ms = 500 + (after - before) * 500
    return clock_check(offset_ms, max_offset_ms + resolution_ms)


async def _polymarket_instrument(
    http: PolymarketHttpClient, run_config: RunConfig
) -> tuple[Instrument | None, Check]:
    instrument_id = run_config.instrument_id
    condition_id, _ = split_instrument_id(instrument_id)
    provider = PolymarketInstrumentProvider(
        http, InstrumentProviderConfig(), condition_ids=(condition_id,)
    )
    try:
        instruments = await provider.load_markets_async(condition_ids=(condition_id,))
    except (PolymarketApiError, PolymarketTransportError, MarketNotFound) as error:
        return None, Check("instrument", False, f"{instrument_id}: {error}")
    found = {i.id: i for i in instruments}
    missing = [str(i) for i in instrument_ids(run_config) if i not in found]
    if missing:
        return None, Check("instrument", False, f"not in market {condition_id}: {missing}")
    instrument = found[instrument_id]
    neg_risk = bool((instrument.info or {}).get("neg_risk"))
    return instrument, Check(
        "instrument",
        True,
        f"{instrument_id.symbol.value[:18]}...: tick {instrument.price_increment}, min size "
        f"{instrument.min_quantity}, neg risk {neg_risk}",
    )


async def _polymarket_balance(
    endpoints: PolymarketEndpoints,
    credentials: PolymarketCredentials | None,
    credentials_check_: Check,
) -> Check:
    if credentials is None:
        return Check("balance", False, f"not checked: {credentials_check_.detail}")
    signer = OrderSigner(credentials.private_key, funder=credentials.funder)
    api = None
    http = PolymarketHttpClient(
        endpoints,
        l2_headers=lambda m, p, b: l2_headers(signer.address, api, int(time.time()), m, p, b),
    )
    try:
        api, _ = await api_credentials(http, signer, credentials)
        reply = await http.request(
            "GET",
            "/balance-allowance",
            params={"asset_type": "COLLATERAL", "signature_type": 0},
            signed=True,
        )
    except (ApiCredentialsUnavailable, PolymarketApiError, PolymarketTransportError) as error:
        return Check("balance", False, f"{signer.address}: {error}")
    finally:
        await http.close()
    balance = float(reply.get("balance") or 0) / 1e6
    allowances = reply.get("allowances") or {}
    approved = [a for a, v in allowances.items() if int(v or 0) > 0]
    detail = f"{balance:,.2f} pUSD, allowances set for {len(approved)} exchange contract(s)"
    if balance <= 0:
        return Check("balance", False, detail + ": deposit pUSD to quote")
    if allowances and not approved:
        return Check("balance", False, detail + ": approve the exchange contracts to trade")
    return Check("balance", True, detail)


async def _polymarket_price(http: PolymarketHttpClient, instrument: Instrument) -> float | None:
    try:
        book = await http.book(split_instrument_id(instrument.id)[1])
    except Exception:
        return None
    if not book.bids or not book.asks:
        return None
    # Best level last, as the venue sends them.
    return (float(book.bids[-1].price) + float(book.asks[-1].price)) / 2


VenueChecks = Callable[..., Awaitable[list[Check]]]
VENUE_CHECKS: dict[str, VenueChecks] = {"gate": gate_checks, "polymarket": polymarket_checks}
