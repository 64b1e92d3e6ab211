"""`python -m journal_inference {serve,train}`.

`serve` needs only the serving dependencies; `train` imports torch and runs in the training
environment (`make train`). Nothing heavy is imported until a command is chosen.
"""

from __future__ import annotations

import sys

USAGE = """usage: python -m journal_inference {serve,train} [options]

  serve   start the KServe model server (settings: JOURNAL_INFERENCE_* variables; --help)
  train   fine-tune, export and evaluate; writes a versioned artifact with its model card
"""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in {"-h", "--help"}:
        print(USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "serve":
        from journal_inference import serving

        return serving.main(rest)
    if command == "train":
        from journal_inference.training import run

        return run.main(rest)
    print(f"unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
