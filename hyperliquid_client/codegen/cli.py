"""Command line of the generator: ``generate`` writes the output, ``check`` fails when it is stale."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from hyperliquid_client.codegen.loader import SpecError, load_spec
from hyperliquid_client.codegen.render import check_output, generate

__all__ = ["build_parser", "main"]

_log = logging.getLogger("hyperliquid_client.codegen")


def build_parser(prog: str = "python -m hyperliquid_client.codegen") -> argparse.ArgumentParser:
    """The argument parser (shared with ``hyperliquid codegen``)."""
    parser = argparse.ArgumentParser(prog=prog, description="Generate the client from the endpoint spec.")
    parser.add_argument("command", choices=["generate", "check", "validate"], help="what to do")
    parser.add_argument("--spec", default="spec", help="spec folder (default: spec)")
    parser.add_argument(
        "--out", default="hyperliquid_client/generated", help="output folder (default: hyperliquid_client/generated)"
    )
    return parser


def run(command: str, spec_dir: str, out_dir: str) -> int:
    """Run one command; messages go to stderr; returns the exit status."""
    try:
        spec = load_spec(spec_dir)
    except SpecError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    if command == "validate":
        sys.stderr.write(
            f"spec OK: {len(spec.endpoints)} endpoints, {len(spec.channels)} channels, {len(spec.types)} types\n"
        )
        return 0
    if command == "generate":
        written = generate(spec, out_dir)
        sys.stderr.write(f"generated {len(written)} files into {out_dir}\n")
        return 0
    problems = check_output(spec, out_dir)
    if problems:
        sys.stderr.write("generated code is out of date with the spec (run `make generate`):\n")
        for p in problems:
            sys.stderr.write(f"  {p}\n")
        return 1
    sys.stderr.write(f"{out_dir} is up to date with {spec_dir}\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    return run(args.command, args.spec, args.out)
