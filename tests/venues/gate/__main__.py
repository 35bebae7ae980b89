"""Run the Gate simulator as a standalone process.

    python -m tests.venues.gate --port 0 --ready-file /tmp/gate.json \
        [--account KEY:SECRET:UID:USDT ...] [--seed 0] [--updates-per-s 20] [--min-countdown-s 5]

When it is listening, it writes its URLs as JSON to --ready-file (atomically: write then rename),
then serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from tests.venues.common import serve_until_signalled
from tests.venues.gate.server import DEFAULT_ACCOUNTS
from tests.venues.gate.server import AccountSpec
from tests.venues.gate.server import GateSimulator


def parse_account(text: str) -> tuple[str, AccountSpec]:
    parts = text.split(":")
    if len(parts) != 4:
        raise argparse.ArgumentTypeError(f"--account must be KEY:SECRET:UID:USDT, got {text!r}")
    key, secret, uid, usdt = parts
    return key, (secret, int(uid), usdt)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tests.venues.gate", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--ready-file", type=Path, help="write the URLs as JSON here when ready")
    p.add_argument("--account", type=parse_account, action="append", default=[])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--updates-per-s", type=float, default=20.0, help="0 = no background market")
    p.add_argument("--depth", type=int, default=20)
    p.add_argument("--min-countdown-s", type=float, default=5.0)
    p.add_argument("--ws-heartbeat-s", type=float, default=10.0)
    p.add_argument("--order-rate-limit", type=int, default=100, help="orders per second per key")
    p.add_argument(
        "--clock-offset-s", type=float, default=0.0, help="the venue clock runs this far ahead"
    )
    return p


async def serve(args: argparse.Namespace) -> None:
    sim = GateSimulator(
        dict(args.account) or DEFAULT_ACCOUNTS,
        seed=args.seed,
        updates_per_s=args.updates_per_s,
        depth=args.depth,
        host=args.host,
        port=args.port,
        min_countdown_s=args.min_countdown_s,
        ws_heartbeat_s=args.ws_heartbeat_s,
        rate_limits={"order": (args.order_rate_limit, 1.0)},
        clock_offset_s=args.clock_offset_s,
    )
    await serve_until_signalled(sim, args.ready_file)


def main(argv: list[str] | None = None) -> int:
    asyncio.run(serve(build_parser().parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
