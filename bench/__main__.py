"""`python -m bench [api|operator|inference|analysis|all] [suite options]`: run the suites.

Each suite is a module `bench/<suite>.py` with `main(argv)`. `all` (the default) runs
every suite that exists, one after the other; a suite added later (the operator's)
is picked up without changing this file.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util

SUITES = ("api", "operator", "inference", "analysis")


def available() -> list[str]:
    return [suite for suite in SUITES if importlib.util.find_spec(f"bench.{suite}") is not None]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("suite", nargs="?", default="all", choices=(*SUITES, "all"))
    args, rest = parser.parse_known_args()
    suites = available() if args.suite == "all" else [args.suite]
    for suite in suites:
        if suite not in available():
            parser.error(f"suite {suite!r} is not available yet (no bench/{suite}.py)")
        print(f"=== bench: {suite} ===", flush=True)
        importlib.import_module(f"bench.{suite}").main(rest)


if __name__ == "__main__":
    main()
