"""
Polymarket instruments over real HTTP: the provider and REST client against a stand-in venue on
127.0.0.1 that answers Gamma and CLOB routes with the bodies of venues.md 2.2; and where the
credentials come from.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.polymarket.config import MissingCredentials
from adapters.polymarket.config import PolymarketDataClientConfig
from adapters.polymarket.config import PolymarketEndpoints
from adapters.polymarket.config import polymarket_credentials
from adapters.polymarket.http import PolymarketApiError
from adapters.polymarket.http import PolymarketHttpClient
from adapters.polymarket.http import PolymarketTransportError
from adapters.polymarket.parsing import token_instrument_id
from adapters.polymarket.providers import MarketNotFound
from adapters.polymarket.providers import PolymarketInstrumentProvider

pytestmark = pytest.mark.polymarket

PLAIN = "0x3d69cc559693ee46ba58da16e43c4e75b8da67b99c2e9a9d2f72bb0222d0f137"
NEG_RISK = "0x5f65177b394277fd294cd75650044e32ba009a95022d88a0c1d565897d72f8f1"
TOKENS = {
    PLAIN: ("45601394554497090173642354630373884477724604907691447337031201817815960365378",
            "102652665954921241745169157447280060113772926009745753029489061659654862632571"),
    NEG_RISK: ("71321045679252212594626385532706912750332728571942532289631379312455583992563",
               "52114319501245915516055106046884209969926127482827954674443846427813813222426"),
}  # fmt: skip
SLUGS = {PLAIN: "will-trump-visit-china-by-october-31", NEG_RISK: "will-alice-win"}


def _clob_market(condition_id: str) -> dict:
    yes, no = TOKENS[condition_id]
    return {
        "enable_order_book": True,
        "active": True,
        "closed": False,
        "accepting_orders": True,
        "minimum_order_size": "5" if condition_id == PLAIN else "15",
        "minimum_tick_size": "0.01" if condition_id == PLAIN else "0.001",
        "condition_id": condition_id,
        "question": "Will it?",
        "market_slug": SLUGS[condition_id],
        "end_date_iso": "2026-10-31T00:00:00Z",
        "maker_base_fee": 0,
        "taker_base_fee": 0,
        "neg_risk": condition_id == NEG_RISK,
        "rewards": {"rates": None, "min_size": 10, "max_spread": 0.05},
        "tokens": [
            {"token_id": yes, "outcome": "Yes", "price": 0.55, "winner": False},
            {"token_id": no, "outcome": "No", "price": 0.45, "winner": False},
        ],
    }


def _gamma_market(condition_id: str, with_fees: bool) -> dict:
    market = {
        "id": "604489",
        "conditionId": condition_id,
        "slug": SLUGS[condition_id],
        "endDate": "2026-10-31T00:00:00Z",
        "endDateIso": "2026-10-31",
        "outcomes": '["Yes", "No"]',
        "clobTokenIds": msgspec.json.encode(list(TOKENS[condition_id])).decode(),
        "orderPriceMinTickSize": 0.01,
        "orderMinSize": 5,
        "negRisk": condition_id == NEG_RISK,
        "rewardsMinSize": 100,
        "rewardsMaxSpread": 3.5,
    }
    if with_fees and condition_id == NEG_RISK:
        market["feeSchedule"] = {"rate": 0.03}
    return market


class StandInVenue:
    """Gamma `/markets` and CLOB `/markets/{id}`, `/book`, `/tick-size`, `/neg-risk`, `/order`."""

    def __init__(self) -> None:
        self.requests: list[web.Request] = []
        self.bodies: list[bytes] = []
        self.fail_next: list[int] = []  # statuses to answer the next requests with
        app = web.Application()
        app.router.add_get("/gamma/markets", self._gamma_markets)
        app.router.add_get("/clob/markets/{condition_id}", self._clob_market)
        app.router.add_get("/clob/book", self._book)
        app.router.add_get("/clob/tick-size", self._tick_size)
        app.router.add_get("/clob/neg-risk", self._neg_risk)
        app.router.add_post("/clob/order", self._order)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def endpoints(self) -> PolymarketEndpoints:
        base = str(self.server.make_url("")).rstrip("/")
        return PolymarketEndpoints(
            clob_http=f"{base}/clob", gamma_http=f"{base}/gamma", clob_ws="ws://127.0.0.1:9/ws"
        )

    def _seen(self, request: web.Request) -> web.Response | None:
        self.requests.append(request)
        if self.fail_next:
            status = self.fail_next.pop(0)
            return web.json_response({"error": f"status {status}"}, status=status)
        return None

    async def _gamma_markets(self, request: web.Request) -> web.Response:
        if (failed := self._seen(request)) is not None:
            return failed
        slugs = request.query.getall("slug", [])
        ids = request.query.getall("condition_ids", [])
        found = [
            _gamma_market(cid, with_fees=bool(ids))  # slug lookups omit the fee schedule
            for cid, slug in SLUGS.items()
            if slug in slugs or cid in ids
        ]
        return web.json_response(found[: int(request.query.get("limit", 20))])

    async def _clob_market(self, request: web.Request) -> web.Response:
        if (failed := self._seen(request)) is not None:
            return failed
        condition_id = request.match_info["condition_id"]
        if condition_id not in TOKENS:
            return web.json_response({"error": "market not found"}, status=404)
        return web.json_response(_clob_market(condition_id))

    async def _book(self, request: web.Request) -> web.Response:
        if (failed := self._seen(request)) is not None:
            return failed
        return web.json_response(
            {
                "market": PLAIN,
                "asset_id": request.query["token_id"],
                "timestamp": "1777541385018",
                "hash": "bfb61f58",
                "bids": [{"price": "0.48", "size": "30"}, {"price": "0.49", "size": "20"}],
                "asks": [{"price": "0.52", "size": "25"}, {"price": "0.51", "size": "5"}],
                "tick_size": "0.01",
            }
        )

    async def _tick_size(self, request: web.Request) -> web.Response:
        self._seen(request)
        return web.json_response({"minimum_tick_size": 0.001})

    async def _neg_risk(self, request: web.Request) -> web.Response:
        self._seen(request)
        return web.json_response({"neg_risk": True})

    async def _order(self, request: web.Request) -> web.Response:
        if (failed := self._seen(request)) is not None:
            return failed
        self.bodies.append(await request.read())
        return web.json_response({"success": True, "headers": dict(request.headers)})


@pytest.fixture
async def venue():
    stand_in = StandInVenue()
    await stand_in.server.start_server()
    yield stand_in
    await stand_in.server.close()


@pytest.fixture
async def client(venue: StandInVenue):
    http = PolymarketHttpClient(venue.endpoints, timeout_s=5.0)
    yield http
    await http.close()


# -- provider ------------------------------------------------------------------------------------


async def test_selection_by_slug_and_condition_id(client: PolymarketHttpClient) -> None:
    provider = PolymarketInstrumentProvider(
        client, market_slugs=[SLUGS[PLAIN]], condition_ids=[NEG_RISK]
    )
    await provider.load_all_async()
    assert provider.count == 4
    yes = provider.find(token_instrument_id(PLAIN, TOKENS[PLAIN][0]))
    no = provider.find(token_instrument_id(PLAIN, TOKENS[PLAIN][1]))
    assert (yes.outcome, no.outcome) == ("Yes", "No")
    assert yes.price_increment.as_decimal() == Decimal("0.01")
    assert yes.min_quantity.as_decimal() == 5
    assert yes.info["neg_risk"] is False
    assert yes.expiration_ns == 1_793_404_800_000_000_000  # 2026-10-31T00:00:00Z
    assert yes.taker_fee == 0
    assert (yes.info["rewardsMinSize"], yes.info["rewardsMaxSpread"]) == ("100", "3.5")

    neg = provider.find(token_instrument_id(NEG_RISK, TOKENS[NEG_RISK][0]))
    assert neg.price_increment.as_decimal() == Decimal("0.001") and neg.price_precision == 3
    assert neg.min_quantity.as_decimal() == 15
    assert neg.info["neg_risk"] is True
    # Looked up by condition id, so Gamma's fee schedule is there.
    assert neg.taker_fee == Decimal("0.03") and neg.maker_fee == 0


async def test_fee_schedule_is_fetched_by_condition_id_for_slug_selections(
    venue: StandInVenue, client: PolymarketHttpClient
) -> None:
    provider = PolymarketInstrumentProvider(client, market_slugs=[SLUGS[NEG_RISK]])
    await provider.load_all_async()
    neg = provider.find(token_instrument_id(NEG_RISK, TOKENS[NEG_RISK][0]))
    assert neg.taker_fee == Decimal("0.03")
    gamma = [r for r in venue.requests if r.path == "/gamma/markets"]
    assert [sorted(r.query.keys()) for r in gamma] == [
        ["limit", "slug"],
        ["condition_ids", "limit"],
    ]


async def test_load_ids_loads_every_token_of_the_market(client: PolymarketHttpClient) -> None:
    provider = PolymarketInstrumentProvider(client)
    await provider.load_ids_async([token_instrument_id(PLAIN, TOKENS[PLAIN][1])])
    assert {i.id for i in provider.list_all()} == {
        token_instrument_id(PLAIN, token) for token in TOKENS[PLAIN]
    }


async def test_unknown_markets_fail_with_a_clear_error(client: PolymarketHttpClient) -> None:
    provider = PolymarketInstrumentProvider(client, market_slugs=["no-such-market"])
    with pytest.raises(MarketNotFound, match="no-such-market"):
        await provider.load_all_async()
    with pytest.raises(MarketNotFound, match="0xdead"):
        await provider.load_markets_async(condition_ids=["0xdead"])
    with pytest.raises(ValueError, match="market_slugs or condition_ids"):
        await PolymarketInstrumentProvider(client).load_all_async()


async def test_gamma_lookups_are_batched_under_the_id_limit(
    venue: StandInVenue, client: PolymarketHttpClient
) -> None:
    ids = [PLAIN] + [f"0x{n:064x}" for n in range(150)]
    markets = await client.gamma_markets(condition_ids=ids)
    assert [m["conditionId"] for m in markets] == [PLAIN]
    sizes = [len(r.query.getall("condition_ids")) for r in venue.requests]
    assert sizes == [100, 51]


# -- REST client ---------------------------------------------------------------------------------


async def test_public_clob_calls(client: PolymarketHttpClient) -> None:
    book = await client.book(TOKENS[PLAIN][0])
    assert book.asset_id == TOKENS[PLAIN][0] and book.bids[-1].price == "0.49"
    assert await client.tick_size(TOKENS[PLAIN][0]) == Decimal("0.001")
    assert await client.neg_risk(TOKENS[PLAIN][0]) is True


async def test_reads_are_retried_after_5xx_but_4xx_is_an_answer(
    venue: StandInVenue, client: PolymarketHttpClient
) -> None:
    venue.fail_next = [502, 503]
    market = await client.clob_market(PLAIN)
    assert market["condition_id"] == PLAIN and len(venue.requests) == 3

    venue.fail_next = [502, 502, 502]
    with pytest.raises(PolymarketTransportError, match="502"):
        await client.clob_market(PLAIN)

    with pytest.raises(PolymarketApiError, match="market not found") as refused:
        await client.clob_market("0xdead")
    assert refused.value.status == 404


async def test_writes_are_never_retried(venue: StandInVenue, client: PolymarketHttpClient) -> None:
    venue.fail_next = [502]
    with pytest.raises(PolymarketTransportError):
        await client.request("POST", "/order", body={"order": 1})
    assert len(venue.requests) == 1


async def test_signed_calls_send_the_bytes_they_signed(venue: StandInVenue) -> None:
    signed: list[tuple[str, str, bytes]] = []

    def l2_headers(method: str, path: str, body: bytes) -> dict[str, str]:
        signed.append((method, path, body))
        return {"POLY_SIGNATURE": f"sig-of-{len(body)}"}

    http = PolymarketHttpClient(venue.endpoints, l2_headers=l2_headers)
    try:
        reply = await http.request("POST", "/order", body={"order": {"price": "0.5"}}, signed=True)
    finally:
        await http.close()
    ((method, path, body),) = signed
    assert (method, path) == ("POST", "/order")
    assert venue.bodies == [body] and body == b'{"order":{"price":"0.5"}}'
    assert reply["headers"]["POLY_SIGNATURE"] == f"sig-of-{len(body)}"


async def test_signed_calls_without_credentials_fail_before_sending(
    venue: StandInVenue, client: PolymarketHttpClient
) -> None:
    with pytest.raises(PolymarketApiError, match="POLYMARKET_API_KEY"):
        await client.request("POST", "/order", body={}, signed=True)
    assert venue.requests == []


# -- config and credentials ----------------------------------------------------------------------

CREDENTIAL_ENV = (
    "POLYMARKET_PK",
    "POLYMARKET_FUNDER",
    "POLYMARKET_API_KEY",
    "POLYMARKET_API_SECRET",
    "POLYMARKET_PASSPHRASE",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in CREDENTIAL_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_no_key_means_no_credentials(clean_env: pytest.MonkeyPatch) -> None:
    assert polymarket_credentials() is None
    clean_env.setenv("POLYMARKET_API_KEY", "k")  # API credentials alone cannot sign orders
    assert polymarket_credentials() is None


def test_credentials_from_the_environment_never_in_repr(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("POLYMARKET_PK", "0xsecretkey")
    creds = polymarket_credentials()
    assert creds.private_key == "0xsecretkey" and creds.funder is None
    assert not creds.has_api_credentials
    for name, value in zip(CREDENTIAL_ENV[1:], ("0xfunder", "key", "secret", "pass"), strict=True):
        clean_env.setenv(name, value)
    creds = polymarket_credentials()
    assert creds.has_api_credentials and creds.funder == "0xfunder"
    assert (creds.api_key, creds.api_secret, creds.passphrase) == ("key", "secret", "pass")
    text = repr(creds)
    assert "0xfunder" in text
    assert not any(secret in text for secret in ("0xsecretkey", "key'", "secret", "pass'"))


def test_a_partial_api_trio_names_what_is_missing(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("POLYMARKET_PK", "0xsecretkey")
    clean_env.setenv("POLYMARKET_API_KEY", "key")
    with pytest.raises(MissingCredentials, match="POLYMARKET_API_SECRET and POLYMARKET_PASSPHRASE"):
        polymarket_credentials()


def test_endpoints_are_overridable_and_checked() -> None:
    config = msgspec.convert(
        {"endpoints": {"clob_ws": "ws://127.0.0.1:8080/ws/"}, "market_slugs": ["a"]},
        PolymarketDataClientConfig,
    )
    assert config.endpoints.ws_market_url() == "ws://127.0.0.1:8080/ws/market"
    assert config.endpoints.ws_user_url() == "ws://127.0.0.1:8080/ws/user"
    assert config.endpoints.clob_http == "https://clob.polymarket.com"
    with pytest.raises(msgspec.ValidationError, match="ws_max_assets_per_connection"):
        msgspec.convert({"ws_max_assets_per_connection": 501}, PolymarketDataClientConfig)
