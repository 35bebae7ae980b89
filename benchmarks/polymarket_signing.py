"""
Cost of turning (token, side, price, size) into a signed Polymarket CLOB V2 limit order: our
signer (`adapters.polymarket.amounts` + `adapters.polymarket.signing`) against py-clob-client-v2's
`OrderBuilder.build_order` (amount rounding + EIP-712 signing, as nautilus' adapter calls it).

    uv run python benchmarks/polymarket_signing.py [--orders 2000] [--seed 7]

Both sign the same seeded random orders (one EOA wallet on Polygon, random tokens, sides, ticks,
on-grid prices, sizes in cents, neg-risk or not) one at a time, in alternating blocks of 200. The
SDK picks its own salt and clock; ours signs with the same salt and timestamp, and every order id
and signature must match the SDK's (checked after the timed loops) or the run fails.

The SDK's own dependencies give eth-keys its pure-Python backend (about 5.5 ms an order); our
signer brings coincurve (libsecp256k1), which eth-keys then also picks up in this environment. So
the oracle is measured both ways: as a plain install of the SDK has it (`oracle_us`, in a child
process with `ECC_BACKEND_CLASS=eth_keys.backends.NativeECCBackend`) and riding on our coincurve
(`oracle_on_coincurve_us`). The last line is one JSON object: orders, ours_us, oracle_us, speedup,
oracle_on_coincurve_us, speedup_vs_oracle_on_coincurve (per order, medians over blocks).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from py_clob_client_v2.clob_types import CreateOrderOptions
from py_clob_client_v2.clob_types import OrderArgsV2
from py_clob_client_v2.config import get_contract_config
from py_clob_client_v2.order_builder.builder import ROUNDING_CONFIG
from py_clob_client_v2.order_builder.builder import OrderBuilder
from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2
from py_clob_client_v2.signer import Signer

from adapters.polymarket.amounts import limit_order_amounts
from adapters.polymarket.signing import POLYGON
from adapters.polymarket.signing import OrderSigner

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
PROGRESS_EVERY = 500
BLOCK = 200


def random_orders(
    rng: random.Random, count: int
) -> list[tuple[str, str, Decimal, Decimal, str, bool]]:
    """(token_id, side, price, size, tick, neg_risk) tuples."""
    orders = []
    while len(orders) < count:
        tick = rng.choice(list(ROUNDING_CONFIG))
        steps = int(1 / Decimal(tick))
        price = rng.randint(1, steps - 1) * Decimal(tick)
        cents = rng.randint(500, 1_000_000)
        size = Decimal(cents).scaleb(-2)
        # The SDK floors sizes in floats and loses a cent on ~1 in 22 of them (amounts.py): such
        # orders differ by design, so they are drawn again to keep the id check strict.
        if math.floor(float(size) * 100) != cents:
            continue
        token_id = str(rng.getrandbits(256))
        side = rng.choice(["BUY", "SELL"])
        orders.append((token_id, side, price, size, tick, rng.random() < 0.5))
    return orders


@contextmanager
def timed() -> Iterator[list[int]]:
    """Nanoseconds spent in the block, with the cyclic GC off (as `timeit` does).

    Otherwise collections triggered by the oracle's many objects land in either side's timing.
    """
    gc.collect()
    gc.disable()
    elapsed = [0]
    started = time.perf_counter_ns()
    try:
        yield elapsed
    finally:
        elapsed[0] = time.perf_counter_ns() - started
        gc.enable()


def oracle_block(builder: OrderBuilder, orders: list) -> tuple[int, list]:
    inputs = [
        (
            OrderArgsV2(token_id=token, price=float(price), size=float(size), side=side),
            CreateOrderOptions(tick_size=tick, neg_risk=neg_risk),
        )
        for token, side, price, size, tick, neg_risk in orders
    ]
    with timed() as elapsed:
        signed = [builder.build_order(args, options) for args, options in inputs]
    return elapsed[0], signed


def ours_block(signer: OrderSigner, orders: list, oracle_orders: list) -> tuple[int, list]:
    inputs = [
        (token, side, price, size, Decimal(tick), neg_risk, int(sdk.salt), int(sdk.timestamp))
        for (token, side, price, size, tick, neg_risk), sdk in zip(
            orders, oracle_orders, strict=True
        )
    ]
    signed = []
    with timed() as elapsed:
        for token, side, price, size, tick, neg_risk, salt, timestamp_ms in inputs:
            maker_amount, taker_amount = limit_order_amounts(side, price, size, tick)
            signed.append(
                signer.sign(
                    token,
                    side,
                    maker_amount,
                    taker_amount,
                    neg_risk=neg_risk,
                    salt=salt,
                    timestamp_ms=timestamp_ms,
                )
            )
    return elapsed[0], signed


def run_interleaved(private_key: str, orders: list) -> tuple[float, float, list, list]:
    """µs per order (oracle, ours): the median over alternating blocks; and both order lists.

    Alternating blocks keep load swings on this shared machine from favouring either side, and
    the median keeps blocks hit by other processes from skewing the figure.
    """
    builder = OrderBuilder(Signer(private_key, POLYGON))
    signer = OrderSigner(private_key, POLYGON)
    oracle_us: list[float] = []
    ours_us: list[float] = []
    oracle_orders: list = []
    ours: list = []
    for start in range(0, len(orders), BLOCK):
        block = orders[start : start + BLOCK]
        elapsed, sdk_signed = oracle_block(builder, block)
        oracle_us.append(elapsed / len(block) / 1000)
        elapsed, our_signed = ours_block(signer, block, sdk_signed)
        ours_us.append(elapsed / len(block) / 1000)
        oracle_orders += sdk_signed
        ours += our_signed
        if len(ours) % PROGRESS_EVERY == 0 or len(ours) == len(orders):
            print(f"signed {len(ours)}/{len(orders)} orders with both", flush=True)
    return statistics.median(oracle_us), statistics.median(ours_us), oracle_orders, ours


def check_identical(private_key: str, orders: list, oracle_orders: list, ours: list) -> None:
    contracts = get_contract_config(POLYGON)
    sdk_signer = Signer(private_key, POLYGON)
    exchanges = {
        neg_risk: ExchangeOrderBuilderV2(
            contracts.neg_risk_exchange_v2 if neg_risk else contracts.exchange_v2,
            POLYGON,
            sdk_signer,
        )
        for neg_risk in (False, True)
    }
    for index, (order, sdk, mine) in enumerate(zip(orders, oracle_orders, ours, strict=True)):
        exchange = exchanges[order[5]]
        sdk_id = exchange.build_order_hash(exchange.build_order_typed_data(sdk))
        if (mine.order_id, mine.signature) != (sdk_id, sdk.signature):
            sys.exit(
                f"order {index} {order}: ours {mine.order_id} / {mine.signature} "
                f"!= SDK {sdk_id} / {sdk.signature}"
            )
    print(f"checked: {len(ours)} order ids and signatures identical to the SDK's", flush=True)


def measure(orders_count: int, seed: int) -> tuple[float, float]:
    rng = random.Random(seed)
    private_key = f"0x{rng.randrange(1, SECP256K1_N):064x}"
    orders = random_orders(rng, orders_count)
    oracle_us, ours_us, oracle_orders, ours = run_interleaved(private_key, orders)
    check_identical(private_key, orders, oracle_orders, ours)
    return ours_us, oracle_us


def measure_with_sdk_backend(orders_count: int, seed: int) -> tuple[float, float]:
    """The same run in a child process whose eth-keys uses its own pure-Python backend, as a
    plain `pip install py-clob-client-v2` has it (coincurve comes with our signer, not the SDK)."""
    env = dict(os.environ, ECC_BACKEND_CLASS="eth_keys.backends.NativeECCBackend")
    command = [
        sys.executable,
        __file__,
        "--orders",
        str(orders_count),
        "--seed",
        str(seed),
        "--single",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"SDK-backend run failed: {done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["ours_us"], result["oracle_us"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--single", action="store_true", help="only this process's backend")
    options = parser.parse_args()
    if options.orders < 1:
        parser.error("--orders must be at least 1")

    ours_us, oracle_fast_us = measure(options.orders, options.seed)
    print(f"eth-keys on coincurve: ours {ours_us:.1f} µs, oracle {oracle_fast_us:.1f} µs")
    if options.single:
        print(json.dumps({"ours_us": ours_us, "oracle_us": oracle_fast_us}))
        return
    print("oracle with its own dependencies (pure-Python eth-keys backend) ...", flush=True)
    _, oracle_us = measure_with_sdk_backend(options.orders, options.seed)
    print(f"per order: ours {ours_us:.1f} µs, oracle {oracle_us:.1f} µs", flush=True)
    print(
        json.dumps(
            {
                "orders": options.orders,
                "ours_us": round(ours_us, 1),
                "oracle_us": round(oracle_us, 1),
                "speedup": round(oracle_us / ours_us, 1),
                "oracle_on_coincurve_us": round(oracle_fast_us, 1),
                "speedup_vs_oracle_on_coincurve": round(oracle_fast_us / ours_us, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
