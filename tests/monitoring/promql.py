"""The metric names a PromQL expression reads, and the Grafana variables a panel uses.

promtool checks that an expression parses (tests/monitoring/test_*.py run it); this reads the
names out of an expression that parses: identifiers that are neither functions, aggregations,
keywords nor label names (inside ``{...}``, or in the ``(...)`` list after ``by``,
``without``, ``on``, ``ignoring``, ``group_left`` and ``group_right``).
"""

from __future__ import annotations

import re

KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"})
# Aggregations may put `by (...)` between their name and their argument.
AGGREGATIONS = frozenset(
    {"sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "topk", "bottomk",
     "quantile", "count_values", "limitk", "limit_ratio"}
)  # fmt: skip
LABEL_LISTS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_NUMBER = re.compile(r"[0-9][0-9.eE+\-]*[A-Za-z]*")
# Grafana's variables, replaced by what they stand for before promtool parses a query.
GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
    "$namespace": ".*",
}


def substitute(expr: str) -> str:
    """A Grafana panel query as Prometheus will receive it (variables filled in)."""
    for name in sorted(GRAFANA_VARIABLES, key=len, reverse=True):
        expr = expr.replace(name, GRAFANA_VARIABLES[name]).replace(
            "${" + name[1:] + "}", GRAFANA_VARIABLES[name]
        )
    assert "$" not in expr, f"an unknown Grafana variable is left in {expr!r}"
    return expr


def _skip_string(expr: str, i: int) -> int:
    quote = expr[i]
    i += 1
    while i < len(expr) and expr[i] != quote:
        i += 2 if expr[i] == "\\" and quote != "`" else 1
    return i + 1


def _skip_group(expr: str, i: int, opening: str, closing: str) -> int:
    """From ``expr[i] == opening`` to just past its matching ``closing``."""
    depth = 0
    while i < len(expr):
        char = expr[i]
        if char in "\"'`":
            i = _skip_string(expr, i)
            continue
        if char == opening:
            depth += 1
        elif char == closing:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError(f"unbalanced {opening}{closing} in {expr!r}")


def _next_char(expr: str, i: int) -> str:
    while i < len(expr) and expr[i].isspace():
        i += 1
    return expr[i] if i < len(expr) else ""


def metric_names(expr: str) -> set[str]:
    """Every metric name ``expr`` selects (``{__name__=...}`` selectors are not supported)."""
    assert "__name__" not in expr, "name matchers are not read; name the metric instead"
    names: set[str] = set()
    i = 0
    while i < len(expr):
        char = expr[i]
        if char in "\"'`":
            i = _skip_string(expr, i)
        elif char == "{":
            i = _skip_group(expr, i, "{", "}")
        elif char == "[":
            i = _skip_group(expr, i, "[", "]")
        elif char == "#":
            newline = expr.find("\n", i)
            i = len(expr) if newline < 0 else newline
        elif char.isdigit() or (char == "." and expr[i + 1 : i + 2].isdigit()):
            match = _NUMBER.match(expr, i)
            i = match.end() if match else i + 1
        elif match := _IDENT.match(expr, i):
            word = match.group()
            i = match.end()
            follows = _next_char(expr, i)
            if word in LABEL_LISTS:
                if follows == "(":
                    i = expr.index("(", i)
                    i = _skip_group(expr, i, "(", ")")
            elif word.lower() in KEYWORDS or word in AGGREGATIONS or follows == "(":
                continue  # a keyword, or a function or aggregation being called
            else:
                names.add(word)
        else:
            i += 1
    return names
