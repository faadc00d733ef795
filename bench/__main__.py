"""``python -m bench [name ...] [--option ...]`` — run benchmarks and print their reports.

``make bench`` prints the goals table (``make bench ARGS="goals --rounds 3"`` hands it options).

Each benchmark measures our code next to its baselines in the same run and prints the ratios;
see ``bench/README.md``.  Names: goals (the default: every hot-path goal beside the official SDK, with
pass/fail), signing, cache, storage, ratelimit; ``all`` runs every one.  Names come first; the options after
them (after a ``--``, if given) are handed to every benchmark named, and each refuses an option it does not have
(``python -m bench goals --rounds 3``; ``python -m bench signing --help`` lists that one's options).  The exit
status is 1 when a benchmark fails or, for goals, when a goal is not met.
"""

from __future__ import annotations

import runpy
import sys

ALL = ("goals", "signing", "cache", "storage", "ratelimit")


def main(argv: list[str]) -> int:
    if argv in (["-h"], ["--help"]):
        sys.stdout.write(__doc__ or "")
        return 0
    names, options = [], []
    for arg in argv:  # names come first; everything from the first option on belongs to the benchmarks
        (options if options or arg.startswith("-") else names).append(arg)
    if options[:1] == ["--"]:  # ``python -m bench signing -- --help``: the separator is ours
        options = options[1:]
    late = [a for a in options if a in ALL or a == "all"]
    if late:
        sys.stderr.write(
            f"benchmark names come before the options: {' '.join([*names, *late])} first"
            " (an option's value spelled like a name goes as --option=value)\n"
        )
        return 2
    names = names or ["goals"]
    if names == ["all"]:
        names = list(ALL)
    unknown = [n for n in names if n not in ALL]
    if unknown:
        sys.stderr.write(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(ALL)} (or all alone)\n")
        return 2
    status = 0
    for name in names:
        sys.stdout.write(f"\n===== bench.{name} =====\n")
        sys.stdout.flush()
        saved = sys.argv
        sys.argv = [f"bench.{name}", *options]
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
