"""Run the Polymarket simulator as a standalone process.

    python -m tests.venues.polymarket --port 0 --ready-file /tmp/pm.json \
        [--account PRIVATE_KEY_OR_ADDRESS:PUSD ...] [--seed 0] [--updates-per-s 10] \
        [--heartbeat-timeout-s 10] [--mined-after-s 1] [--confirmed-after-s 3]

When it is listening, it writes its URLs as JSON to --ready-file (atomically: write then rename),
then serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from tests.venues.common import serve_until_signalled
from tests.venues.polymarket.server import DEFAULT_ACCOUNTS
from tests.venues.polymarket.server import PolymarketSimulator


def parse_account(text: str) -> tuple[str, str]:
    key, sep, pusd = text.rpartition(":")
    if not sep or not key.startswith("0x"):
        raise argparse.ArgumentTypeError(
            f"--account must be PRIVATE_KEY_OR_ADDRESS:PUSD (0x-prefixed), got {text!r}"
        )
    return key, pusd


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tests.venues.polymarket", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--ready-file", type=Path, help="write the URLs as JSON here when ready")
    p.add_argument("--account", type=parse_account, action="append", default=[])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--updates-per-s", type=float, default=10.0, help="0 = no scripted crowd moves")
    p.add_argument("--depth", type=int, default=10)
    p.add_argument("--heartbeat-timeout-s", type=float, default=10.0)
    p.add_argument("--mined-after-s", type=float, default=1.0)
    p.add_argument("--confirmed-after-s", type=float, default=3.0)
    p.add_argument("--time-window-s", type=float, default=60.0)
    p.add_argument("--page-limit", type=int, default=100)
    return p


async def serve(args: argparse.Namespace) -> None:
    sim = PolymarketSimulator(
        dict(args.account) or DEFAULT_ACCOUNTS,
        seed=args.seed,
        updates_per_s=args.updates_per_s,
        depth=args.depth,
        host=args.host,
        port=args.port,
        heartbeat_timeout_s=args.heartbeat_timeout_s,
        mined_after_s=args.mined_after_s,
        confirmed_after_s=args.confirmed_after_s,
        time_window_s=args.time_window_s,
        page_limit=args.page_limit,
    )
    await serve_until_signalled(sim, args.ready_file)


def main(argv: list[str] | None = None) -> int:
    asyncio.run(serve(build_parser().parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
