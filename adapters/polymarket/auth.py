"""The L2 API credentials of a wallet: from the environment, else derived (or created) at the venue
with the wallet's L1 signature."""

from __future__ import annotations

import time

from adapters.polymarket.config import API_KEY_ENV
from adapters.polymarket.config import API_SECRET_ENV
from adapters.polymarket.config import PASSPHRASE_ENV
from adapters.polymarket.config import PolymarketCredentials
from adapters.polymarket.http import PolymarketApiError
from adapters.polymarket.http import PolymarketHttpClient
from adapters.polymarket.signing import ApiCredentials
from adapters.polymarket.signing import OrderSigner
from adapters.polymarket.signing import l1_headers


class ApiCredentialsUnavailable(Exception):
    pass


async def api_credentials(
    http: PolymarketHttpClient, signer: OrderSigner, credentials: PolymarketCredentials
) -> tuple[ApiCredentials, str]:
    """(credentials, where they came from). Derivation is deterministic per wallet, so deriving
    finds the key an earlier `create` made; `create` runs only for a wallet that has none."""
    if credentials.has_api_credentials:
        creds = ApiCredentials(credentials.api_key, credentials.api_secret, credentials.passphrase)
        return creds, "the environment"
    refusals = []
    for method, path in (("GET", "/auth/derive-api-key"), ("POST", "/auth/api-key")):
        headers = l1_headers(signer, int(time.time()))
        try:
            reply = await http.request(method, path, headers=headers)
        except PolymarketApiError as error:
            refusals.append(f"{path}: {error.message}")
            continue
        return ApiCredentials(reply["apiKey"], reply["secret"], reply["passphrase"]), path
    raise ApiCredentialsUnavailable(
        f"cannot derive or create API credentials for {signer.address} "
        f"({'; '.join(refusals)}): set {API_KEY_ENV}, {API_SECRET_ENV} and {PASSPHRASE_ENV}"
    )
