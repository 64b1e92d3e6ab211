"""Significance tests for the shift insights, in plain Python (no SciPy in the API).

- `welch`: Welch's unequal-variances t-test, two-sided, with the Welch-Satterthwaite
  degrees of freedom; the p-value comes from Student's t distribution through the
  regularised incomplete beta function (`_betainc`, a Lentz continued fraction).
- `two_proportions`: the pooled two-proportion z-test, two-sided (normal approximation).
- `benjamini_hochberg`: adjusted p-values that control the false discovery rate over a
  family of tests.

Pure functions; called by `services/shifts.py` and checked against known values in the
tests.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

_EPSILON = 1e-14
_TINY = 1e-300
_MAX_ITERATIONS = 300


@dataclasses.dataclass(frozen=True)
class Result:
    statistic: float  # t or z; positive when the first sample is larger
    p_value: float  # two-sided
    df: float | None = None  # Welch's degrees of freedom


def _mean_variance(sample: Sequence[float]) -> tuple[float, float]:
    mean = math.fsum(sample) / len(sample)
    return mean, math.fsum((x - mean) ** 2 for x in sample) / (len(sample) - 1)


def _continued_fraction(a: float, b: float, x: float) -> float:
    # Numerical Recipes' betacf, by the modified Lentz method.
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, _MAX_ITERATIONS + 1):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            result *= d * c
        if abs(d * c - 1.0) < _EPSILON:
            break
    return result


def _betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
        + a * math.log(x) + b * math.log1p(-x)
    )  # fmt: skip
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _continued_fraction(a, b, x) / a
    return 1.0 - front * _continued_fraction(b, a, 1.0 - x) / b


def t_two_sided(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with ``df`` degrees of freedom."""
    return min(1.0, _betainc(df / 2.0, 0.5, df / (df + t * t)))


def welch(first: Sequence[float], second: Sequence[float]) -> Result:
    """Welch's t-test of mean(first) != mean(second); each sample needs 2 values or more.

    Two samples without any spread are no evidence of anything: p = 1.
    """
    if len(first) < 2 or len(second) < 2:
        raise ValueError("each sample needs at least two values")
    m1, v1 = _mean_variance(first)
    m2, v2 = _mean_variance(second)
    s1, s2 = v1 / len(first), v2 / len(second)
    if s1 + s2 == 0.0:
        return Result(statistic=0.0, p_value=1.0, df=None)
    t = (m1 - m2) / math.sqrt(s1 + s2)
    df = (s1 + s2) ** 2 / (s1**2 / (len(first) - 1) + s2**2 / (len(second) - 1))
    return Result(statistic=t, p_value=t_two_sided(t, df), df=df)


def two_proportions(hits1: int, n1: int, hits2: int, n2: int) -> Result:
    """The pooled two-proportion z-test of hits1/n1 != hits2/n2 (two-sided)."""
    if n1 <= 0 or n2 <= 0:
        raise ValueError("both samples need at least one trial")
    pooled = (hits1 + hits2) / (n1 + n2)
    spread = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    if spread == 0.0:
        return Result(statistic=0.0, p_value=1.0)
    z = (hits1 / n1 - hits2 / n2) / spread
    return Result(statistic=z, p_value=math.erfc(abs(z) / math.sqrt(2.0)))


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the order given: a test is a
    discovery at false discovery rate alpha when its adjusted p-value is <= alpha."""
    count = len(p_values)
    order = sorted(range(count), key=lambda i: p_values[i])
    adjusted = [1.0] * count
    running = 1.0
    for rank in range(count, 0, -1):
        index = order[rank - 1]
        running = min(running, p_values[index] * count / rank)
        adjusted[index] = min(1.0, running)
    return adjusted
