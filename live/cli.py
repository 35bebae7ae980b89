"""`live` command line: runs the quoting strategy on a venue, for real or on paper."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from typing import NoReturn

import click

from backtests.schema import ConfigError

if TYPE_CHECKING:
    from backtests.config import RunConfig
    from live.node import VenueEntry

# Kept in step with live.node.VENUES (imported lazily so `--help` stays instant).
VENUE_NAMES = ("gate", "polymarket")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://", "ws://", "wss://")):
        raise click.BadParameter(
            f"{value!r} is not a URL; give one starting with http(s):// or ws(s)://"
        )
    return value


def _venue_options(command):
    for option in reversed(
        [
            click.option("--venue", type=click.Choice(VENUE_NAMES), required=True),
            click.option(
                "--config",
                "config_path",
                type=click.Path(dir_okay=False, path_type=Path),
                default=None,
                help="YAML config (default: configs/mm.yaml for gate, configs/mm_polymarket.yaml "
                "for polymarket).",
            ),
            click.option("--testnet", is_flag=True, help="The venue's testnet."),
            click.option(
                "--rest-url", callback=_url, help="REST base URL (overrides live.endpoints)."
            ),
            click.option(
                "--ws-url", callback=_url, help="WebSocket URL (overrides live.endpoints)."
            ),
        ]
    ):
        command = option(command)
    return command


@click.group(help="Run the quoting strategy live or on paper (Gate.io, Polymarket).")
def main() -> None:
    pass


@main.command(help="Quote live (or with --paper, on live data with simulated fills) until Ctrl-C.")
@_venue_options
@click.option("--paper", is_flag=True, help="Live public data, simulated fills; no credentials.")
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for the run's outputs (default: runs/<run-id>/).",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Kept across runs: kill switch and control socket (default: $QUOTEKIT_STATE_DIR, else "
    "runs/live-state).",
)
@click.option(
    "--flatten-on-stop/--no-flatten-on-stop",
    default=None,
    help="On stop, also close the position (default: live.flatten_on_stop).",
)
@click.option("--log-level", type=click.Choice(LOG_LEVELS), default="INFO", help="Console level.")
def run(
    venue: str,
    config_path: Path | None,
    testnet: bool,
    rest_url: str | None,
    ws_url: str | None,
    paper: bool,
    output: Path | None,
    state_dir: Path | None,
    flatten_on_stop: bool | None,
    log_level: str,
) -> None:
    from live.lifecycle import run_until_stopped
    from live.logs import create_run_dir
    from live.logs import resolved_config
    from live.logs import write_resolved_config
    from live.logs import write_summary
    from live.node import build_live_node
    from live.node import instrument_ids

    entry, run_config = _prepare(venue, config_path, testnet, rest_url, ws_url)
    if flatten_on_stop is not None:
        run_config = _replace_live(run_config, flatten_on_stop=flatten_on_stop)
    cancel_first = not paper and run_config.live.reconciliation.on_start == "cancel"
    if not paper:
        _check_ready_for_live(entry, run_config, cancel_first=cancel_first)
    testnet = testnet or _section_testnet(run_config, venue)
    try:
        run_dir = create_run_dir(output, venue=venue, paper=paper, runs_root=Path("runs"))
    except ConfigError as error:
        _fail(str(error))
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # Until the node is built, a failure leaves nothing behind: the run never started.
    try:
        write_resolved_config(
            run_dir,
            resolved_config(
                run_config,
                paper=paper,
                testnet=testnet,
                endpoints=entry.endpoints(run_config.live, testnet),
            ),
        )
        click.echo(f"{'paper' if paper else 'live'} run on {venue}: outputs in {run_dir}")
        if cancel_first:
            assert entry.cancel_resting_orders is not None
            cancelled = loop.run_until_complete(entry.cancel_resting_orders(run_config, testnet))
            click.echo(f"cancelled {cancelled} resting order(s) before start-up")
        node = build_live_node(
            run_config,
            venue,
            paper=paper,
            testnet=testnet,
            state_dir=state_dir or _default_state_dir(run_dir),
            run_dir=run_dir,
            log_level=log_level,
            loop=loop,
        )
    except ConfigError as error:
        shutil.rmtree(run_dir, ignore_errors=True)
        loop.close()
        _fail(str(error))
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)
        loop.close()
        raise
    live = run_config.live
    result = loop.run_until_complete(
        run_until_stopped(
            node,
            instrument_ids=instrument_ids(run_config),
            flatten=live.flatten_on_stop,
            risk=live.risk,
            stop_timeout_s=live.stop_timeout_s,
        )
    )
    node.dispose()
    write_summary(run_dir, result.summary)
    if not result.started:
        _fail(f"the node did not start; see the log in {run_dir}", code=1)
    if result.open_orders_left:
        _fail(
            f"{result.open_orders_left} order(s) still open after the stop; check the venue "
            f"(log in {run_dir})",
            code=1,
        )
    click.echo(f"stopped cleanly: no open orders; outputs in {run_dir}")


@main.command(help="Check credentials, clock, instrument, balances and risk limits for a venue.")
@_venue_options
@click.option(
    "--max-clock-offset-ms",
    type=click.FloatRange(min=0),
    default=1000.0,
    show_default=True,
    help="Largest tolerated difference between the venue's clock and ours.",
)
def doctor(
    venue: str,
    config_path: Path | None,
    testnet: bool,
    rest_url: str | None,
    ws_url: str | None,
    max_clock_offset_ms: float,
) -> None:
    from live.doctor import VENUE_CHECKS

    entry, run_config = _prepare(venue, config_path, testnet, rest_url, ws_url)
    checks = VENUE_CHECKS.get(venue)
    if checks is None:
        _fail(f"live doctor has no checks for {venue} yet.")
    results = asyncio.run(
        checks(
            run_config,
            entry,
            testnet=testnet or _section_testnet(run_config, venue),
            max_clock_offset_ms=max_clock_offset_ms,
        )
    )
    for check in results:
        click.echo(check.line())
    failed = [check.name for check in results if not check.ok]
    if failed:
        click.echo(f"{len(failed)} of {len(results)} checks failed: {', '.join(failed)}")
        sys.exit(1)
    click.echo(f"all {len(results)} checks ok")


def _prepare(
    venue: str,
    config_path: Path | None,
    testnet: bool,
    rest_url: str | None,
    ws_url: str | None,
) -> tuple[VenueEntry, RunConfig]:
    """The venue entry and the validated config, with the command line's endpoint overrides."""
    from backtests.config import load_config
    from live.node import check_run_config
    from live.node import venue_entry

    try:
        entry = venue_entry(venue)
        if testnet and not entry.has_testnet:
            raise ConfigError(f"--testnet: {venue} has no testnet. Fix: drop --testnet.")
        run_config = load_config(config_path or entry.default_config)
        check_run_config(run_config, entry)
    except ConfigError as error:
        _fail(str(error))
    overrides = {k: v for k, v in (("rest_url", rest_url), ("ws_url", ws_url)) if v is not None}
    if overrides:
        endpoints = run_config.live.endpoints
        section = getattr(endpoints, venue)
        run_config = _replace_live(
            run_config,
            endpoints=_replace(endpoints, **{venue: _replace(section, **overrides)}),
        )
    return entry, run_config


def _check_ready_for_live(entry: VenueEntry, run_config: RunConfig, *, cancel_first: bool) -> None:
    from live.config import missing_limits

    missing = entry.missing_credentials()
    if missing:
        _fail(
            f"live trading on {entry.name} needs {' and '.join(missing)} in the environment. "
            "Fix: set them, or pass --paper to trade on live data with simulated fills."
        )
    if cancel_first and entry.cancel_resting_orders is None:
        _fail(
            f"{run_config.source}: `live.reconciliation.on_start` cancel is not available for "
            f"{entry.name} yet. Fix: use adopt."
        )
    unset = missing_limits(run_config.live.risk)
    if unset:
        click.echo(
            f"warning: {run_config.source} sets no live.risk.{', live.risk.'.join(unset)}: "
            "nothing caps those risks (see `live doctor`)",
            err=True,
        )


def _default_state_dir(run_dir: Path) -> Path:
    """The supervisor's default; without a supervisor nothing is kept, so the run dir will do."""
    try:
        from live.killswitch import default_state_dir
    except ModuleNotFoundError as error:
        if error.name != "live.killswitch":
            raise
        return run_dir
    return default_state_dir()


def _section_testnet(run_config: RunConfig, venue: str) -> bool:
    return bool(getattr(getattr(run_config.live.endpoints, venue), "testnet", False))


def _replace(struct, **changes):
    import msgspec

    return msgspec.structs.replace(struct, **changes)


def _replace_live(run_config: RunConfig, **changes) -> RunConfig:
    return _replace(run_config, live=_replace(run_config.live, **changes))


def _fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


from live import control_cli  # noqa: E402 (light: no nautilus import)

main.add_command(control_cli.status)
main.add_command(control_cli.kill)
main.add_command(control_cli.resume)

if __name__ == "__main__":
    main()
