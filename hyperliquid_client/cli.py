"""The ``hyperliquid`` command line.

::

    hyperliquid info l2Book coin=BTC            # any info type, wire or snake_case name; --json for JSON
    hyperliquid stream trades coin=BTC --count 5
    hyperliquid endpoints [--context info]      # every endpoint and channel, from the generated registry
    hyperliquid codegen [--spec DIR] [--out DIR] [--check]
    hyperliquid demo                            # the guided demo on the built-in fake exchange
    hyperliquid storage migrate --dsn ...       # apply (or `sql`: print) the storage migrations

``--network mainnet|testnet`` or ``--url http://...`` select the server (default: the
``HYPERLIQUID_*`` environment, else mainnet; the demo defaults to its own fake exchange).
Wrong arguments print the usage and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TextIO

from hyperliquid_client.runtime import errors
from hyperliquid_client.runtime.errors import HyperliquidError
from hyperliquid_client.runtime.registry import ChannelSpec, EndpointSpec
from hyperliquid_client.runtime.struct import to_wire

__all__ = ["build_parser", "format_table", "main", "parse_assignments"]


class UsageError(Exception):
    """Bad command-line arguments (exit status 2)."""


def parse_assignments(items: Sequence[str], params: Sequence[Any]) -> dict[str, Any]:
    """``["coin=BTC", "nSigFigs=5"]`` → ``{"coin": "BTC", "n_sig_figs": 5}`` for the given parameters.

    Keys may be wire or snake_case names; values are JSON when they parse as JSON, else strings.
    """
    by_name = {p.name: p for p in params}
    by_wire = {p.wire: p for p in params}
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UsageError(f"expected key=value, got {item!r}")
        param = by_name.get(key) or by_wire.get(key)
        if param is None:
            known = ", ".join(p.name for p in params) or "none"
            raise UsageError(f"unknown parameter {key!r} (parameters: {known})")
        value: Any = raw
        if param.type not in ("str", "coin", "address", "address_text", "hash", "cloid"):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = raw
        out[param.name] = value
    missing = [p.name for p in params if p.required and p.name not in out]
    if missing:
        raise UsageError(f"missing required parameter(s): {', '.join(missing)}")
    return out


def _cell(v: Any) -> str:
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, dict | list | tuple):
        return json.dumps(to_wire(v), default=str)
    return "" if v is None else str(v)


def format_table(value: Any, *, max_rows: int = 50) -> str:
    """Render a structured result as a readable text table."""
    wire = to_wire(value)
    if wire is None:
        return "null (nothing found)"
    if isinstance(wire, list | dict) and not wire:
        return "(empty)"
    rows: list[dict[str, Any]]
    if isinstance(wire, list) and wire and all(isinstance(r, dict) for r in wire):
        rows = wire[:max_rows]
    elif isinstance(wire, dict):
        rows = [{"key": k, "value": v} for k, v in wire.items()]
    elif isinstance(wire, list):
        rows = [{"value": v} for v in wire[:max_rows]]
    else:
        return _cell(wire)
    columns: list[str] = []
    for r in rows:
        for k in r:
            if k not in columns:
                columns.append(k)
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    cells = [[c if len(c) <= 60 else c[:57] + "..." for c in row] for row in cells]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells)
    if isinstance(wire, list) and len(wire) > max_rows:
        lines.append(f"... {len(wire) - max_rows} more rows (use --json for everything)")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(prog="hyperliquid", description="Hyperliquid client command line.")
    parser.add_argument("--network", help="mainnet or testnet (default: $HYPERLIQUID_NETWORK, else mainnet)")
    parser.add_argument("--url", help="base HTTP URL of a custom server, e.g. the fake exchange")
    parser.add_argument("--ws-url", help="WebSocket URL (default: derived from --url)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("info", help="send an info request")
    p.add_argument("type", help="request type, wire (l2Book) or snake_case (l2_book) name")
    p.add_argument("params", nargs="*", help="key=value parameters")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--timeout", type=float, help="seconds")

    p = sub.add_parser("stream", help="print messages of a WebSocket subscription")
    p.add_argument("channel", help="subscription type, wire or snake_case name")
    p.add_argument("params", nargs="*", help="key=value parameters")
    p.add_argument("--count", type=int, default=10, help="stop after N messages (default 10)")
    p.add_argument("--timeout", type=float, default=30.0, help="give up after this many seconds without a message")
    p.add_argument("--json", action="store_true", help="print JSON lines")

    p = sub.add_parser("endpoints", help="list every endpoint and channel")
    p.add_argument("--context", choices=["info", "exchange", "explorer", "stats", "channel"])
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("codegen", help="regenerate the client from a spec folder")
    p.add_argument("--spec", default="spec")
    p.add_argument("--out", default="hyperliquid_client/generated")
    p.add_argument("--check", action="store_true", help="only check that the output is up to date")

    p = sub.add_parser("demo", help="run the demo (default: on the built-in fake exchange)")
    p.add_argument("--key", help="private key for a real network (with --network); default: the fake exchange")
    p.add_argument("--seconds", type=float, default=3.0, help="how long to watch live trades and books")

    p = sub.add_parser("storage", help="storage migrations")
    p.add_argument("action", choices=["migrate", "sql"])
    p.add_argument("--dsn", help="PostgreSQL connection string (migrate; default $HYPERLIQUID_STORAGE_DSN)")
    return parser


def _client(args: argparse.Namespace) -> Any:
    from hyperliquid_client.client import Client, ClientConfig

    return Client(args.network, http_url=args.url, ws_url=args.ws_url, config=ClientConfig(warm=False))


def _find(name: str, kinds: tuple[str, ...]) -> EndpointSpec | ChannelSpec:
    from hyperliquid_client.generated.registry import REGISTRY

    for ctx in kinds:
        hit = REGISTRY.find(name, ctx)
        if hit is not None:
            return hit
    raise UsageError(f"unknown {'/'.join(kinds)} type {name!r} (see `hyperliquid endpoints`)")


def _cmd_info(args: argparse.Namespace, out: TextIO) -> int:
    ep = _find(args.type, ("info", "explorer", "stats"))
    assert isinstance(ep, EndpointSpec)
    kwargs = parse_assignments(args.params, ep.params)
    with _client(args) as client:
        api = getattr(client, ep.context)
        result = getattr(api, ep.name)(**kwargs, timeout=args.timeout)
    if args.json:
        out.write(json.dumps(to_wire(result), indent=2) + "\n")
    else:
        out.write(format_table(result) + "\n")
    return 0


def _cmd_stream(args: argparse.Namespace, out: TextIO) -> int:
    from hyperliquid_client.runtime.ws import Message

    ch = _find(args.channel, ("channel",))
    assert isinstance(ch, ChannelSpec)
    kwargs = parse_assignments(args.params, ch.params)
    seen = 0
    with _client(args) as client:
        sub = getattr(client.streams, ch.name)(**kwargs)
        try:
            while seen < args.count:
                try:
                    item = sub.get(timeout=args.timeout)
                except TimeoutError:
                    raise errors.TimeoutError(
                        f"no message on {ch.wire} within {args.timeout:g} s", timeout=args.timeout
                    ) from None
                if not isinstance(item, Message):
                    out.write(f"# {type(item).__name__}: {item}\n")
                    continue
                seen += 1
                if args.json:
                    out.write(json.dumps(to_wire(item.data)) + "\n")
                else:
                    out.write(format_table(item.data, max_rows=10) + "\n\n")
                out.flush()
        finally:
            sub.close()
    return 0


def _cmd_endpoints(args: argparse.Namespace, out: TextIO) -> int:
    from hyperliquid_client.generated.registry import REGISTRY

    entries = list(REGISTRY.by_context(args.context)) if args.context else list(REGISTRY)
    if args.json:
        rows = [
            {
                "context": e.context,
                "wire": e.wire,
                "name": e.name,
                "weight": getattr(e, "weight", None),
                "params": [p.name for p in e.params],
                "summary": e.summary,
            }
            for e in entries
        ]
        out.write(json.dumps(rows, indent=2) + "\n")
        return 0
    table = [
        {
            "context": e.context,
            "wire": e.wire,
            "name": e.name,
            "weight": getattr(e, "weight", ""),
            "params": " ".join(p.name if p.required else f"[{p.name}]" for p in e.params),
        }
        for e in entries
    ]
    out.write(format_table(table, max_rows=10_000) + f"\n{len(entries)} entries\n")
    return 0


def _cmd_codegen(args: argparse.Namespace, out: TextIO) -> int:
    from hyperliquid_client.codegen.cli import run

    return run("check" if args.check else "generate", args.spec, args.out)


def _cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from hyperliquid_client.demo import run_demo

    return run_demo(out, network=args.network, url=args.url, key=args.key, seconds=args.seconds)


def _cmd_storage(args: argparse.Namespace, out: TextIO) -> int:
    from hyperliquid_client.runtime.storage import migrations

    if args.action == "sql":
        out.write(migrations.migrations_sql() + "\n")
        return 0
    dsn = args.dsn or os.environ.get("HYPERLIQUID_STORAGE_DSN")
    if not dsn:
        raise UsageError("storage migrate needs --dsn (or HYPERLIQUID_STORAGE_DSN)")
    applied = migrations.apply_migrations(dsn)
    out.write(f"applied {len(applied)} migration(s)\n")
    return 0


_COMMANDS = {
    "info": _cmd_info,
    "stream": _cmd_stream,
    "endpoints": _cmd_endpoints,
    "codegen": _cmd_codegen,
    "demo": _cmd_demo,
    "storage": _cmd_storage,
}


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status."""
    stream = out or sys.stdout
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        # key=value parameters may come after options (`info l2Book coin=BTC --json nSigFigs=3`)
        params = [t for t in extra if "=" in t and not t.startswith("-")]
        if params and args.command in ("info", "stream"):
            args.params = [*args.params, *params]
            extra = [t for t in extra if t not in params]
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        return _COMMANDS[args.command](args, stream)
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        sys.stderr.write(f"hyperliquid {args.command}: error: {exc}\n")
        return 2
    except HyperliquidError as exc:
        sys.stderr.write(f"hyperliquid {args.command}: {type(exc).__name__}: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130
