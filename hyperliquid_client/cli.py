"""The ``hyperliquid`` command line.

::

    hyperliquid info l2Book coin=BTC            # any info type, wire or snake_case name; --json for JSON
    hyperliquid stream trades coin=BTC --count 5
    hyperliquid endpoints [--context info]      # every endpoint and channel, from the generated registry
    hyperliquid codegen [--spec DIR] [--out DIR] [--check]
    hyperliquid demo                            # the guided demo on the built-in fake exchange
    hyperliquid storage migrate --dsn ...       # apply (or `sql`: print) the storage migrations
    hyperliquid spec diff main [--fail-on breaking]  # classified changelog of the spec (docs/maintaining.md)
    hyperliquid spec probe --network testnet    # call every info endpoint and channel, report drift

Global options go anywhere on the line (before or after the command): ``--network mainnet|testnet``
or ``--url http://...`` select the server (default: the ``HYPERLIQUID_*`` environment, else mainnet;
the demo defaults to its own fake exchange), ``--json`` prints JSON.  A private key comes from
``$HYPERLIQUID_PRIVATE_KEY`` or ``--key-file PATH``; ``--key`` works too, but a command line is
readable by every local user (``ps``, ``/proc/<pid>/cmdline``) and lands in shell history.
Wrong arguments print the command's usage and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from hyperliquid_client.runtime import errors
from hyperliquid_client.runtime.errors import HyperliquidError
from hyperliquid_client.runtime.registry import ChannelSpec, EndpointSpec
from hyperliquid_client.runtime.struct import to_wire

__all__ = ["StreamTable", "build_parser", "format_table", "main", "parse_assignments", "private_key"]


class UsageError(Exception):
    """Bad command-line arguments (exit status 2)."""


def parse_assignments(items: Sequence[str], params: Sequence[Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``["coin=BTC", "nSigFigs=5"]`` → ``{"coin": "BTC", "n_sig_figs": 5}`` for the given parameters.

    Keys may be wire or snake_case names; values are JSON when they parse as JSON, else strings.
    Also returns, for each parameter given, the key as the user typed it (error messages use it).
    """
    by_name = {p.name: p for p in params}
    by_wire = {p.wire: p for p in params}
    out: dict[str, Any] = {}
    typed: dict[str, str] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UsageError(f"expected key=value, got {item!r}")
        param = by_name.get(key) or by_wire.get(key)
        if param is None:
            known = ", ".join(p.name for p in params) or "none"
            raise UsageError(f"unknown parameter {key!r} (parameters: {known})")
        if param.name in out:
            raise UsageError(f"parameter {key!r} given twice")
        value: Any = raw
        if param.type not in ("str", "coin", "address", "address_text", "hash", "cloid"):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = raw
        out[param.name] = value
        typed[param.name] = key
    missing = [
        p.name if p.name == p.wire else f"{p.name} ({p.wire})" for p in params if p.required and p.name not in out
    ]
    if missing:
        raise UsageError(f"missing required parameter(s): {', '.join(missing)}")
    return out, typed


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


# ------------------------------------------------------------------------------------------------ tables
_MAX_CELL = 60


def _cell(v: Any) -> str:
    if isinstance(v, Decimal):
        text = format(v, "f")
    elif isinstance(v, dict | list | tuple):
        text = json.dumps(to_wire(v), default=str)
    else:
        text = "" if v is None else str(v)
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 3] + "..."


def _is_levels(v: Any) -> bool:
    """An order book's ``levels``: ``[bids, asks]``, each a list of ``{px, sz, ...}``."""
    return (
        isinstance(v, list)
        and len(v) == 2
        and all(isinstance(side, list) for side in v)
        and all(isinstance(lv, dict) and "px" in lv and "sz" in lv for side in v for lv in side)
    )


def _is_rows(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(r, dict) for r in v)


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """One row of cells: nested objects become dotted columns, a book its best bid and ask."""
    out: dict[str, str] = {}
    for k, v in d.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(_flat(v, f"{name}."))
        elif _is_levels(v):
            for side, (px, sz) in zip(v, (("bid", "bid sz"), ("ask", "ask sz")), strict=True):
                out[px] = _cell(side[0]["px"]) if side else ""
                out[sz] = _cell(side[0]["sz"]) if side else ""
        elif isinstance(v, list) and v and all(not isinstance(x, dict | list) for x in v):
            out[name] = _cell(",".join(_cell(x) for x in v))
        elif _is_rows(v):
            out[name] = f"[{len(v)} items]"
        else:
            out[name] = _cell(v)
    return out


def _grid(rows: list[dict[str, str]], columns: list[str] | None = None) -> list[str]:
    if columns is None:
        columns = []
        for r in rows:
            columns.extend(k for k in r if k not in columns)
    cells = [[r.get(c, "") for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells)
    return lines


def _book(levels: list[list[dict[str, Any]]], max_rows: int) -> list[str]:
    bids, asks = levels
    rows = []
    for i in range(min(max_rows, max(len(bids), len(asks)))):
        b = bids[i] if i < len(bids) else {}
        a = asks[i] if i < len(asks) else {}
        rows.append(
            {
                "bid n": _cell(b.get("n")),
                "bid sz": _cell(b.get("sz")),
                "bid": _cell(b.get("px")),
                "ask": _cell(a.get("px")),
                "ask sz": _cell(a.get("sz")),
                "ask n": _cell(a.get("n")),
            }
        )
    return _grid(rows) if rows else ["(empty book)"]


def _more(total: int, max_rows: int) -> list[str]:
    return [f"... {total - max_rows} more rows (use --json for everything)"] if total > max_rows else []


def _indent(lines: list[str]) -> list[str]:
    return ["  " + line if line else "" for line in lines]


def _render(wire: Any, max_rows: int) -> list[str]:
    if wire is None:
        return ["null (nothing found)"]
    if isinstance(wire, list | dict) and not wire:
        return ["(empty)"]
    if _is_levels(wire):
        return _book(wire, max_rows)
    if _is_rows(wire):
        return _grid([_flat(r) for r in wire[:max_rows]]) + _more(len(wire), max_rows)
    if isinstance(wire, list):
        if all(not isinstance(x, dict | list) for x in wire):
            return _grid([{"value": _cell(x)} for x in wire[:max_rows]]) + _more(len(wire), max_rows)
        lines: list[str] = []
        for i, item in enumerate(wire[:max_rows]):
            lines += [*([""] if lines else []), f"[{i}]", *_indent(_render(item, max_rows))]
        return lines + _more(len(wire), max_rows)
    if isinstance(wire, dict):
        scalars: dict[str, str] = {}
        sections: list[tuple[str, Any]] = []
        for k, v in wire.items():
            if _is_levels(v) or _is_rows(v) or (isinstance(v, list) and any(isinstance(x, list) for x in v)):
                sections.append((k, v))
            else:
                scalars.update(_flat({k: v}))
        lines = _grid([{"key": k, "value": v} for k, v in scalars.items()]) if scalars else []
        for k, v in sections:
            lines += [*([""] if lines else []), f"{k}:", *_indent(_render(v, max_rows))]
        return lines
    return [_cell(wire)]


def format_table(value: Any, *, max_rows: int = 50) -> str:
    """Render a structured result as readable text: tables for lists of records, a book as bids beside asks,
    nested objects as dotted keys and sub-tables (``--json`` prints everything exactly)."""
    return "\n".join(_render(to_wire(value), max_rows))


class StreamTable:
    """Rows of a stream's messages under one header, printed as they arrive (again only if the columns change)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.columns: list[str] = []
        self.widths: list[int] = []

    @staticmethod
    def rows(data: Any) -> list[dict[str, str]]:
        """The rows of one message: its records, the one list of records it carries, or itself as one row."""
        wire = to_wire(data)
        if _is_rows(wire):
            return [_flat(r) for r in wire]
        if isinstance(wire, dict):
            lists = [v for v in wire.values() if isinstance(v, list) and not _is_levels(v)]
            if len(lists) == 1 and all(isinstance(r, dict) for r in lists[0]):
                return [_flat(r) for r in lists[0]]  # e.g. the fills of a userFills message
            return [_flat(wire)]
        return [{"value": _cell(wire)}]

    def write(self, data: Any) -> None:
        """Print the rows of one message."""
        rows = self.rows(data)
        new = [k for r in rows for k in r if k not in self.columns]
        if new or not self.columns:
            self.columns = [*self.columns, *dict.fromkeys(new)]
            self.widths = [max(len(c), *(len(r.get(c, "")) for r in rows)) for c in self.columns]
            self.out.write(self._line(self.columns) + "\n" + "  ".join("-" * w for w in self.widths) + "\n")
        for r in rows:
            self.out.write(self._line([r.get(c, "") for c in self.columns]) + "\n")

    def _line(self, cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, self.widths, strict=True)).rstrip()


# ------------------------------------------------------------------------------------------------ parser
KEY_ENV = "HYPERLIQUID_PRIVATE_KEY"


def _global_options(suppress: bool) -> argparse.ArgumentParser:
    """Options accepted before or after the command: the main parser holds the defaults, each command's
    parser the same options with suppressed defaults (so a value given after the command wins, and an
    absent one does not overwrite a value given before it)."""
    unset: Any = argparse.SUPPRESS if suppress else None
    g = argparse.ArgumentParser(add_help=False)
    opts = g.add_argument_group("global options (anywhere on the line)")
    opts.add_argument(
        "--network", default=unset, help="mainnet or testnet (default: $HYPERLIQUID_NETWORK, else mainnet)"
    )
    opts.add_argument("--url", default=unset, help="base HTTP URL of a custom server, e.g. the fake exchange")
    opts.add_argument("--ws-url", default=unset, help="WebSocket URL (default: derived from --url)")
    opts.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS if suppress else False, help="print JSON"
    )
    opts.add_argument(
        "--key-file", default=unset, metavar="PATH", help=f"file holding the private key (or set ${KEY_ENV})"
    )
    opts.add_argument(
        "--key",
        default=unset,
        help=f"private key; visible to other local users in the process list: prefer ${KEY_ENV} or --key-file",
    )
    return g


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(
        prog="hyperliquid", description="Hyperliquid client command line.", parents=[_global_options(False)]
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    common = [_global_options(True)]

    p = sub.add_parser("info", help="send an info request", parents=common)
    p.add_argument("type", help="request type, wire (l2Book) or snake_case (l2_book) name")
    p.add_argument("params", nargs="*", default=[], help="key=value parameters (optional)")
    p.add_argument("--timeout", type=_positive_float, help="seconds")

    p = sub.add_parser("stream", help="print messages of a WebSocket subscription", parents=common)
    p.add_argument("channel", help="subscription type, wire or snake_case name")
    p.add_argument("params", nargs="*", default=[], help="key=value parameters (optional)")
    p.add_argument("--count", type=_positive_int, default=10, help="stop after N messages (default 10)")
    p.add_argument(
        "--timeout",
        type=_positive_float,
        default=30.0,
        help="give up after this many seconds without a message (default 30)",
    )

    p = sub.add_parser("endpoints", help="list every endpoint and channel", parents=common)
    p.add_argument("--context", choices=["info", "exchange", "explorer", "stats", "channel"])

    p = sub.add_parser("codegen", help="regenerate the client from a spec folder", parents=common)
    p.add_argument("--spec", default="spec")
    p.add_argument("--out", default="hyperliquid_client/generated")
    p.add_argument("--check", action="store_true", help="only check that the output is up to date")

    p = sub.add_parser(
        "demo",
        help="run the demo (default: on the built-in fake exchange)",
        parents=common,
        description="The guided demo.  Without --network/--url it runs on a built-in fake exchange.  On a real "
        f"network it needs a funded account's key (${KEY_ENV}, --key-file or --key), cancels every order it "
        "placed before it ends, and on mainnet asks for confirmation unless --yes.",
    )
    p.add_argument("--seconds", type=_positive_float, default=3.0, help="how long to watch live trades and books")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation on mainnet")

    p = sub.add_parser("storage", help="storage migrations", parents=common)
    p.add_argument("action", choices=["migrate", "sql"])
    p.add_argument(
        "--dsn",
        help="PostgreSQL connection string (migrate); with a password it is visible to other local users in the "
        "process list: prefer $HYPERLIQUID_STORAGE_DSN (the default) or a ~/.pgpass file",
    )

    from hyperliquid_client.spec_command import add_spec_command

    add_spec_command(sub, parents=common)
    for command in sub.choices.values():  # errors found after parsing print the command's own usage
        command.set_defaults(command_parser=command)
    return parser


def private_key(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> str | None:
    """The private key from ``--key-file``, ``--key`` or ``$HYPERLIQUID_PRIVATE_KEY`` (in that order), if any."""
    if args.key_file and args.key:
        raise UsageError("give the key once: --key-file or --key")
    if args.key_file:
        try:
            text = Path(args.key_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(f"cannot read --key-file {args.key_file}: {exc.strerror or exc}") from None
        if not text:
            raise UsageError(f"--key-file {args.key_file} is empty")
        return text
    if args.key:
        return str(args.key)
    return (os.environ if environ is None else environ).get(KEY_ENV) or None


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


@contextmanager
def _as_typed(typed: Mapping[str, str]) -> Iterator[None]:
    """Report a refused parameter value as a usage error naming the parameter as the user typed it."""
    try:
        yield
    except errors.InvalidInputError as exc:
        root = re.split(r"[.\[]", exc.field, maxsplit=1)[0]
        if root not in typed:
            raise
        field = typed[root] + exc.field[len(root) :]
        raise UsageError(str(exc).replace(f"invalid {exc.field}", f"invalid {field}", 1)) from None


def _cmd_info(args: argparse.Namespace, out: TextIO) -> int:
    ep = _find(args.type, ("info", "explorer", "stats"))
    assert isinstance(ep, EndpointSpec)
    kwargs, typed = parse_assignments(args.params, ep.params)
    with _client(args) as client:
        api = getattr(client, ep.context)
        with _as_typed(typed):
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
    kwargs, typed = parse_assignments(args.params, ch.params)
    table = StreamTable(out)
    seen = 0
    with _client(args) as client:
        with _as_typed(typed):
            sub = getattr(client.streams, ch.name)(**kwargs)
        with sub:
            while seen < args.count:
                try:
                    item = sub.get(timeout=args.timeout)
                except TimeoutError as exc:  # the stream's message says why (not connected, silent, ...)
                    raise errors.TimeoutError(
                        f"no message on {ch.wire} within {args.timeout:g} s: {exc}", timeout=args.timeout
                    ) from None
                if not isinstance(item, Message):
                    out.write(f"# {type(item).__name__}: {item}\n")
                    continue
                seen += 1
                if args.json:
                    out.write(json.dumps(to_wire(item.data)) + "\n")
                else:
                    table.write(item.data)
                out.flush()
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
            "weight": str(getattr(e, "weight", "")),
            "params": " ".join(p.name if p.required else f"[{p.name}]" for p in e.params),
        }
        for e in entries
    ]
    out.write("\n".join(_grid(table)) + f"\n{len(entries)} entries\n")
    return 0


def _cmd_codegen(args: argparse.Namespace, out: TextIO) -> int:
    from hyperliquid_client.codegen.cli import run

    return run("check" if args.check else "generate", args.spec, args.out)


def _cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from hyperliquid_client.demo import run_demo

    real = bool(args.network or args.url)
    key = private_key(args) if real else None
    if real and not key:
        raise UsageError(f"a real network needs a funded account's private key: ${KEY_ENV}, --key-file or --key")
    return run_demo(out, network=args.network, url=args.url, key=key, seconds=args.seconds, yes=args.yes)


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


def _cmd_spec(args: argparse.Namespace, out: TextIO) -> int:
    from hyperliquid_client.spec_command import run_spec_command

    return run_spec_command(args, out)


#: commands whose output has no JSON form, and what they print instead (--json is refused, not ignored)
_NO_JSON = {
    "demo": "prints a narrated walk-through, not data",
    "codegen": "writes files and reports on stderr",
    "storage": "prints SQL or a count of migrations",
}

_COMMANDS = {
    "spec": _cmd_spec,
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
        command: argparse.ArgumentParser = args.command_parser
        # key=value parameters may come after options (`info l2Book coin=BTC --json nSigFigs=3`)
        params = [t for t in extra if "=" in t and not t.startswith("-")]
        if params and args.command in ("info", "stream"):
            args.params = [*args.params, *params]
            extra = [t for t in extra if t not in params]
        if extra:
            command.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        if getattr(args, "json", False) and args.command in _NO_JSON:
            raise UsageError(f"--json: {args.command} {_NO_JSON[args.command]}")
        return _COMMANDS[args.command](args, stream)
    except UsageError as exc:
        command.print_usage(sys.stderr)
        sys.stderr.write(f"hyperliquid {args.command}: error: {exc}\n")
        return 2
    except HyperliquidError as exc:
        sys.stderr.write(f"hyperliquid {args.command}: {type(exc).__name__}: {exc}\n")
        return 1
    except ModuleNotFoundError as exc:
        if exc.name != "aiohttp":  # only a missing optional extra is an expected condition
            raise
        sys.stderr.write(f"hyperliquid {args.command}: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130
