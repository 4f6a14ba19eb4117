"""Statistical tests shared by the rules, on plain numbers.

Built on `scipy.special` (the functions `scipy.stats` itself calls for these distributions),
not `scipy.stats`: importing that costs a resident daemon some 70 MB for three formulas."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special


def _cdf(k: float, expected: float, variance: float) -> float:
    """P(X <= k) under a negative binomial with this mean and variance when overdispersed, else
    Poisson."""
    k = math.floor(k)
    if k < 0:
        return 0.0
    if variance > expected:
        p = expected / variance
        return float(special.betainc(expected * p / (1 - p), k + 1, p))  # = nbinom.cdf
    return float(special.pdtr(k, expected))  # = poisson.cdf


@dataclass(frozen=True)
class Line:
    slope: float
    intercept: float
    pvalue: float  # two-sided, for "no trend"


def linregress(x: Sequence[float], y: Sequence[float]) -> Line:
    """Least-squares line and the p-value of its slope, as `scipy.stats.linregress` computes them."""
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ssxm, ssxym, _, ssym = np.cov(xs, ys, bias=True).flat
    r = 0.0 if ssxm == 0 or ssym == 0 else max(-1.0, min(1.0, ssxym / math.sqrt(ssxm * ssym)))
    slope = ssxym / ssxm if ssxm else 0.0
    df = len(xs) - 2
    t = r * math.sqrt(df / ((1.0 - r + 1e-20) * (1.0 + r + 1e-20)))
    return Line(float(slope), float(ys.mean() - slope * xs.mean()), float(2 * special.stdtr(df, -abs(t))))


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
    fit = linregress(days, values)
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
