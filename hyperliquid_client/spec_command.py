"""``hyperliquid spec ...``: the spec's life cycle from the command line (see ``docs/maintaining.md``).

* ``spec diff BASE [REVISION]`` — a classified changelog between two versions of the spec
  (:mod:`hyperliquid_client.codegen.specdiff`);
* ``spec probe`` — call every info endpoint and subscribe every public channel of a server, and
  report where its answers drift from the spec (:mod:`hyperliquid_client.probe`).
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

__all__ = ["add_spec_command", "run_spec_command"]


def add_spec_command(sub: Any, **parser_options: Any) -> argparse.ArgumentParser:
    """Add ``spec diff`` and ``spec probe`` to the subcommands ``sub`` of the ``hyperliquid`` parser."""
    from hyperliquid_client import probe
    from hyperliquid_client.codegen import specdiff

    spec = sub.add_parser("spec", help="review spec changes (diff) and check a server against the spec (probe)")
    commands = spec.add_subparsers(dest="spec_command", required=True, metavar="spec_command")
    specdiff.add_arguments(
        commands.add_parser(
            "diff",
            help="classified changelog between two versions of the spec",
            description="Compare the spec of BASE with REVISION (git revisions or folders; default REVISION: "
            "the working tree) and print each change classified as signing-breaking, breaking, "
            "non-breaking or info.",
            **parser_options,
        )
    )
    probe.add_arguments(
        commands.add_parser(
            "probe",
            help="call every info endpoint and public channel of a server and report drift from the spec",
            description="Call every info endpoint (sample parameters, or --user) and subscribe every public "
            "channel for a few seconds; print where the answers drift from the spec.  --network/--url choose "
            "the server.",
            **parser_options,
        )
    )
    return spec


def run_spec_command(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``spec diff`` or ``spec probe``; returns the exit status."""
    if args.spec_command == "diff":
        from hyperliquid_client.codegen import specdiff

        return specdiff.run(args, out)
    from hyperliquid_client import probe

    return probe.run(args, out)
