"""Fail CI when a test was skipped for a reason `tests/skips.py` does not document.

`.ci/run` tees `pytest -rs` into a log and runs ``python hack/check_skips.py LOG``. The
"short test summary info" section lists each skip as pytest folds it
(``SKIPPED [2] tests/charts/conftest.py:23: no Helm v3 binary: …``) or, under
``--no-fold-skipped``, one line per test (``SKIPPED tests/x.py::test_y - reason``). Exit
status: 0 when every skip is documented, 1 when one is not, 2 when the log is unreadable.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `tests.skips` holds the documented reasons

from tests import skips  # noqa: E402

_SUMMARY_HEADER = re.compile(r"^=+ short test summary info =+$")
_FOLDED = re.compile(r"^SKIPPED \[(?P<count>\d+)\] (?P<where>\S+?(?::\d+)?): (?P<reason>.*)$")
_UNFOLDED = re.compile(r"^SKIPPED (?P<where>\S.*?) - (?P<reason>.*)$")
# Colour codes, in case a CI runner forces colour into the log.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclasses.dataclass(frozen=True)
class Skip:
    """One line of the skip summary.

    Attributes:
        count: how many tests pytest folded into this line (1 when unfolded).
        where: file and line of the skip call, or the test's node id when unfolded.
        reason: the skip's message as pytest reported it.
    """

    count: int
    where: str
    reason: str


def parse_skips(output: str) -> list[Skip]:
    """Every SKIPPED line in the short test summary sections of ``pytest -rs`` output.

    Args:
        output: pytest's terminal output.

    Returns:
        The skips in the order pytest printed them; empty when there is no summary.
    """
    found: list[Skip] = []
    in_summary = False
    for raw in output.splitlines():
        line = _ANSI.sub("", raw).rstrip()
        if _SUMMARY_HEADER.match(line):
            in_summary = True
            continue
        if not in_summary:
            continue
        if line.startswith("="):  # the final "=== 3 passed, 1 skipped in 2s ===" line
            in_summary = False
            continue
        if folded := _FOLDED.match(line):
            found.append(
                Skip(int(folded["count"]), folded["where"], _without_prefix(folded["reason"]))
            )
        elif unfolded := _UNFOLDED.match(line):
            found.append(Skip(1, unfolded["where"], _without_prefix(unfolded["reason"])))
        elif line.startswith("SKIPPED"):
            # A shape we do not know (a newer pytest?): report it rather than let it pass.
            found.append(Skip(1, "(unparsed summary line)", line))
    return found


def _without_prefix(reason: str) -> str:
    return reason.removeprefix("Skipped: ")


def undocumented(found: list[Skip]) -> list[Skip]:
    """The skips whose reason starts with none of `tests.skips.ALLOWED`."""
    return [skip for skip in found if skips.allowed_reason(skip.reason) is None]


def report(found: list[Skip]) -> tuple[int, str]:
    """The exit status and the message for ``found``.

    Returns:
        (0, a tally by reason) when every skip is documented, else (1, a message naming each
        undocumented skip and where the documented reasons live).
    """
    bad = undocumented(found)
    if bad:
        lines = [
            f"FAILED: {sum(s.count for s in bad)} test(s) skipped for an undocumented reason:",
            *(f"  {s.where} ({s.count}x): {s.reason}" for s in bad),
            "A skip hides a missing check. Make the test run here, or, if no machine of ours can",
            "run it, document the reason in tests/skips.py (with why) and skip with that text.",
            "Documented reasons: " + ", ".join(skips.ALLOWED),
        ]
        return 1, "\n".join(lines)
    tally: dict[str, int] = {}
    for skip in found:
        name = skips.allowed_reason(skip.reason) or ""
        tally[name] = tally.get(name, 0) + skip.count
    counted = ", ".join(f"{name} x{count}" for name, count in tally.items())
    return 0, f"skips: {sum(tally.values())}, all documented" + (f" ({counted})" if tally else "")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: check_skips.py PYTEST_LOG", file=sys.stderr)
        return 2
    try:
        output = Path(argv[0]).read_text(errors="replace")
    except OSError as exc:
        print(f"check_skips: cannot read the pytest log: {exc}", file=sys.stderr)
        return 2
    status, message = report(parse_skips(output))
    print(message, file=sys.stderr if status else sys.stdout)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
