"""Every skip the suite can take names a reason documented in tests/skips.py.

CI (hack/check_skips.py) catches an undocumented skip only on a machine where it fires; this
reads every ``pytest.skip(...)``, ``pytest.mark.skip(reason=...)`` and
``pytest.mark.skipif(..., reason=...)`` in tests/ so that a skip CI never takes is held to the
same list. ``pytest.importorskip`` is not checked here: its reason is pytest's own
("could not import ..."), which CI fails on whenever it fires.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests import skips

TESTS_DIR = Path(__file__).resolve().parents[1]


def _skip_message(call: ast.Call) -> ast.expr | None:
    """The message argument of a skip call, or None when ``call`` is no skip."""
    func = ast.unparse(call.func)
    keywords = {k.arg: k.value for k in call.keywords}
    if func == "pytest.skip":
        return call.args[0] if call.args else keywords.get("reason")
    if func in {"pytest.mark.skip", "pytest.mark.skipif"}:
        return keywords.get("reason")
    return None


def _leading_text(message: ast.expr) -> str | None:
    """The text a message starts with, as far as it is known before the test runs.

    A literal, a ``skips.NAME`` constant, or an f-string's leading literal or constant; None
    when the start is computed at run time.
    """
    if isinstance(message, ast.Constant) and isinstance(message.value, str):
        return message.value
    if isinstance(message, ast.Attribute) and ast.unparse(message.value) == "skips":
        value = getattr(skips, message.attr, None)
        return value if isinstance(value, str) else None
    if isinstance(message, ast.JoinedStr) and message.values:
        first = message.values[0]
        if isinstance(first, ast.FormattedValue):
            return _leading_text(first.value)
        return _leading_text(first)
    return None


def _skip_calls() -> list[tuple[str, ast.expr | None]]:
    found = []
    for path in sorted(TESTS_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in {
                "pytest.skip",
                "pytest.mark.skip",
                "pytest.mark.skipif",
            }:
                where = f"{path.relative_to(TESTS_DIR.parent)}:{node.lineno}"
                found.append((where, _skip_message(node)))
    return found


SKIP_CALLS = _skip_calls()


def test_the_suite_has_skip_calls_to_check() -> None:
    # Guards the scan itself: if it found nothing, every other test here would pass vacuously.
    assert len(SKIP_CALLS) >= 5


@pytest.mark.parametrize(("where", "message"), SKIP_CALLS, ids=[w for w, _ in SKIP_CALLS])
def test_skip_reasons_documented(where: str, message: ast.expr | None) -> None:
    assert message is not None, f"{where}: a skip without a reason"
    text = _leading_text(message)
    assert text is not None, (
        f"{where}: the reason {ast.unparse(message)} is computed at run time; start it with a "
        "tests.skips constant"
    )
    assert skips.allowed_reason(text) is not None, (
        f"{where}: {text!r} is not a documented skip reason (tests/skips.py)"
    )


def test_every_documented_reason_is_distinct() -> None:
    # One reason must not swallow another: a prefix of a prefix would make the tally lie.
    reasons = list(skips.ALLOWED.values())
    for reason in reasons:
        assert [r for r in reasons if r.startswith(reason)] == [reason]
