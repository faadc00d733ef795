"""Schema management from the command line.

``python -m hyperliquid_client.runtime.storage migrate --dsn DSN`` applies the shipped migrations the
database lacks (the DSN may also come from ``HYPERLIQUID_STORAGE_DSN``);
``python -m hyperliquid_client.runtime.storage sql`` prints the whole schema script.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from hyperliquid_client.runtime.errors import StorageError
from hyperliquid_client.runtime.storage.migrations import LATEST_VERSION, apply_migrations, migrations_sql

ENV_DSN = "HYPERLIQUID_STORAGE_DSN"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m hyperliquid_client.runtime.storage", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    mig = sub.add_parser("migrate", help="apply missing schema migrations")
    mig.add_argument(
        "--dsn",
        default=os.environ.get(ENV_DSN),
        help=f"libpq DSN or URL (default: ${ENV_DSN}); with a password it is visible to other local users in the "
        "process list: prefer the environment variable or a ~/.pgpass file",
    )
    mig.add_argument("--connect-timeout", type=float, default=10.0)
    sub.add_parser("sql", help="print the schema SQL")
    args = parser.parse_args(argv)
    if args.command == "sql":
        sys.stdout.write(migrations_sql())
        return 0
    if not args.dsn:
        parser.error(f"--dsn is required (or set {ENV_DSN})")
    try:
        applied = apply_migrations(args.dsn, connect_timeout=args.connect_timeout)
    except StorageError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    if applied:
        sys.stdout.write(
            f"applied migrations {', '.join(str(v) for v in applied)}; schema at version {LATEST_VERSION}\n"
        )
    else:
        sys.stdout.write(f"schema already at version {LATEST_VERSION}; nothing to do\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
