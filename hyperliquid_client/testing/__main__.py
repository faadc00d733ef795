"""Run the fake exchange standalone: ``python -m hyperliquid_client.testing --port 0 --seed``.

Writes one line ``<http_url> <ws_url>`` to stdout once listening (the program's output), logs
through ``logging``, and runs until interrupted (SIGINT / SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from hyperliquid_client.runtime.errors import HyperliquidError
from hyperliquid_client.runtime.log import get_logger, log
from hyperliquid_client.testing.server import FakeExchange

_log = get_logger("hyperliquid_client.testing.cli")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m hyperliquid_client.testing", description="Local fake Hyperliquid exchange."
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default 0 = any free port)")
    p.add_argument("--seed", dest="seed", action="store_true", default=True, help="built-in market data (default)")
    p.add_argument("--no-seed", dest="seed", action="store_false", help="start with no market data")
    p.add_argument("--fixtures", metavar="DIR", help="also serve recorded payloads from DIR")
    p.add_argument("--idle-timeout", type=float, default=60.0, help="WS idle close in seconds (0 = never)")
    p.add_argument(
        "--market-snapshots",
        dest="market_snapshots",
        action="store_true",
        default=True,
        help="send the first message the real server sends after each subscribe ack (default)",
    )
    p.add_argument(
        "--no-market-snapshots",
        dest="market_snapshots",
        action="store_false",
        help="send nothing after the ack of market-data and state subscriptions (only published data)",
    )
    p.add_argument("--chain", choices=("Testnet", "Mainnet"), default="Testnet", help="signatures accepted")
    p.add_argument(
        "--weight-limit", type=int, default=1200, help="IP weight per window, then 429 (default 1200; 0 = no limit)"
    )
    p.add_argument("--weight-window", type=float, default=60.0, help="seconds of a weight window (default 60)")
    p.add_argument("--fund", metavar="ADDR=USDC", action="append", default=[], help="fund an account (repeatable)")
    p.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return p


async def _run(args: argparse.Namespace) -> None:
    fx = FakeExchange(
        seed=args.seed,
        host=args.host,
        port=args.port,
        idle_timeout=args.idle_timeout or None,
        market_snapshots=args.market_snapshots,
        chain=args.chain,
        weight_limit=args.weight_limit or None,
        weight_window=args.weight_window,
    )
    for item in args.fund:
        address, _, amount = item.partition("=")
        fx.fund(address, amount or "0")
    if args.fixtures:
        fx.load_fixtures(args.fixtures)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - non-Unix
            pass
    async with fx:
        sys.stdout.write(f"{fx.http_url} {fx.ws_url}\n")
        sys.stdout.flush()
        log(_log, logging.INFO, "fake exchange ready", http_url=fx.http_url, ws_url=fx.ws_url)
        await stop.wait()


#: the option of a setting the fake refuses (its error names the setting)
_OPTIONS = {"address": "--fund", "usdc": "--fund", "port": "--port", "host": "--host", "chain": "--chain"}


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit status (2 for a bad argument, 1 when it cannot listen)."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        asyncio.run(_run(args))
    except KeyboardInterrupt:
        pass
    except HyperliquidError as exc:  # a value the fake refuses: a usage error naming the option
        field = getattr(exc, "field", None) or getattr(exc, "setting", None)
        option = _OPTIONS.get(field, f"--{field.replace('_', '-')}") if isinstance(field, str) else None
        parser.error(f"argument {option}: {exc}" if option else str(exc))
    except OSError as exc:  # the port is taken, the address is not this host's, ...
        parser.exit(1, f"{parser.prog}: error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
