"""``python -m bench [name ...]`` — run benchmarks and print their reports (``make bench``: the goals table).

Each benchmark measures our code next to its baselines in the same run and prints the ratios;
see ``bench/README.md``.  Names: goals (the default: every hot-path goal beside the official SDK, with
pass/fail), signing, cache, storage, ratelimit; ``all`` runs every one.
"""

from __future__ import annotations

import runpy
import sys

ALL = ("goals", "signing", "cache", "storage", "ratelimit")


def main(argv: list[str]) -> int:
    names = [a for a in argv if not a.startswith("-")] or ["goals"]
    if names == ["all"]:
        names = list(ALL)
    unknown = [n for n in names if n not in ALL]
    if unknown:
        sys.stderr.write(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(ALL)}\n")
        return 2
    status = 0
    for name in names:
        sys.stdout.write(f"\n===== bench.{name} =====\n")
        sys.stdout.flush()
        saved = sys.argv
        sys.argv = [f"bench.{name}"]
        try:
            runpy.run_module(f"bench.{name}", run_name="__main__")
        except SystemExit as exc:
            if exc.code not in (0, None):
                status = 1
        finally:
            sys.argv = saved
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
