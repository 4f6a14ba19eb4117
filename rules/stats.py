"""Statistical tests shared by the rules, on plain numbers."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats


def _cdf(k: float, expected: float, variance: float) -> float:
    """P(X <= k) under a negative binomial with this mean and variance when overdispersed, else
    Poisson. (Called directly: freezing a scipy distribution costs more than the test.)"""
    if variance > expected:
        p = expected / variance
        return float(stats.nbinom.cdf(k, expected * p / (1 - p), p))
    return float(stats.poisson.cdf(k, expected))


def low_count_p_value(observed: int, baseline: Sequence[float], min_dispersion: float = 0.0) -> tuple[float, float]:
    """Given an observed count and the same-period counts from history, return (expected,
    p-value of seeing `observed` or fewer).

    Counts of orders are overdispersed (promotions, weather, paydays), so when the history varies
    more than a Poisson process would, a negative binomial with the same mean and variance is
    used; otherwise Poisson. A few weeks of history under-estimate that variation, so the
    variance is at least `expected + min_dispersion * expected**2` (day-to-day demand varying by
    sqrt(min_dispersion) on top of Poisson noise). A small p says the count is implausibly low.
    """
    values = np.asarray(baseline, dtype=float)
    expected = float(values.mean())
    if expected <= 0:
        return expected, 1.0
    variance = float(values.var(ddof=1)) if len(values) > 1 else expected
    variance = max(variance, expected + min_dispersion * expected**2)
    return expected, _cdf(observed, expected, variance)


def high_count_p_value(observed: int, expected: float, dispersion: float = 0.0) -> float:
    """P(X >= observed) for a count expected to be `expected`, with extra variation `dispersion`."""
    if expected <= 0:
        return 0.0 if observed > 0 else 1.0
    return 1.0 - _cdf(observed - 1, expected, expected + dispersion * expected**2)


def zero_count_p_value(expected: float, dispersion: float = 0.0) -> float:
    """P(X = 0): the chance of a gap with no events at all when `expected` were due."""
    if expected <= 0:
        return 1.0
    return _cdf(0, expected, expected + dispersion * expected**2)


def days_to_cross(days: Sequence[float], values: Sequence[float], threshold: float,
                  higher_is_better: bool, min_points: int = 5) -> float | None:
    """Fit a straight line to the recent values and return in how many days (from the last
    point) it reaches `threshold` from the good side, or None when the trend is flat, improving,
    not significant (p >= 0.05), or there are too few points."""
    if len(values) < min_points:
        return None
    fit = stats.linregress(days, values)
    worsening = fit.slope < 0 if higher_is_better else fit.slope > 0
    if not worsening or fit.pvalue >= 0.05:
        return None
    last_fit = fit.intercept + fit.slope * days[-1]
    remaining = (threshold - last_fit) / fit.slope
    return max(0.0, float(remaining))


def robust_level(values: Sequence[float]) -> tuple[float, float]:
    """(median, scale) where scale is the MAD scaled to a normal sigma, floored at 1% of the median."""
    array = np.asarray(values, dtype=float)
    median = float(np.median(array))
    mad = float(np.median(np.abs(array - median))) * 1.4826
    return median, max(mad, abs(median) * 0.01, 1e-9)
