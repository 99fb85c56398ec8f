"""95 % intervals over seeds: what every number of the lab report carries.

A mean gets Student's t interval, a difference of two means Welch's, a share of runs
Wilson's score interval (it stays inside [0, 1] and is not zero-width at 0 of 10). The
verdicts compare these intervals, never point values, so a claim's verdict only changes
when the evidence does.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """A mean (or share) with its 95 % interval [low, high] over ``n`` runs."""

    mean: float
    low: float
    high: float
    n: int

    def above(self, other: Interval, margin: float = 0.0) -> bool:
        """Clearly above ``other``: this interval starts more than ``margin`` past its end."""
        return self.low > other.high + margin

    def below(self, other: Interval, margin: float = 0.0) -> bool:
        """Clearly below ``other``: this interval ends more than ``margin`` before its start."""
        return self.high < other.low - margin

    def within(self, low: float, high: float) -> bool:
        """Entirely inside [low, high]."""
        return low <= self.low and self.high <= high

    def text(self, digits: int = 3) -> str:
        """``0.981 [0.970, 0.992]``."""
        return f"{_g(self.mean, digits)} [{_g(self.low, digits)}, {_g(self.high, digits)}]"


def _g(value: float, digits: int) -> str:
    return f"{value:.{digits}g}" if abs(value) < 1e-3 and value else f"{value:.{digits}f}"


def mean_interval(values: Iterable[float]) -> Interval:
    """The mean of finite ``values`` with Student's t interval (NaN with fewer than 2)."""
    finite = [float(value) for value in values if math.isfinite(value)]
    n = len(finite)
    if n < 2:
        mean = finite[0] if finite else math.nan
        return Interval(mean, math.nan, math.nan, n)
    mean = statistics.fmean(finite)
    half = _t(n - 1) * statistics.stdev(finite) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n)


def difference_interval(first: Iterable[float], second: Iterable[float]) -> Interval:
    """mean(first) - mean(second) with Welch's t interval (unequal variances)."""
    a = [float(value) for value in first if math.isfinite(value)]
    b = [float(value) for value in second if math.isfinite(value)]
    if len(a) < 2 or len(b) < 2:
        return Interval(math.nan, math.nan, math.nan, min(len(a), len(b)))
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    difference = statistics.fmean(a) - statistics.fmean(b)
    if va + vb == 0:
        return Interval(difference, difference, difference, min(len(a), len(b)))
    freedom = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = _t(freedom) * math.sqrt(va + vb)
    return Interval(difference, difference - half, difference + half, min(len(a), len(b)))


def paired_difference_interval(first: Iterable[float], second: Iterable[float]) -> Interval:
    """The mean of ``first[i] - second[i]`` (the same seed in two settings), Student's t."""
    return mean_interval(a - b for a, b in zip(first, second, strict=True))


def proportion_interval(successes: int, n: int) -> Interval:
    """The share ``successes / n`` with Wilson's score interval."""
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + CONFIDENCE / 2))
    share = successes / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Interval(share, max(0.0, centre - half), min(1.0, centre + half), n)


def _t(freedom: float) -> float:
    from scipy.stats import t

    return float(t.ppf(0.5 + CONFIDENCE / 2, freedom))
