"""`live` command line: runs the quoting strategy on a venue, for real or on paper."""

from __future__ import annotations

import click


@click.group(help="Run the quoting strategy live or on paper (Gate.io, Polymarket).")
def main() -> None:
    pass
