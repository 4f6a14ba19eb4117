"""Statistical tests shared by the rules, on plain numbers.

The distributions are summed from their probability mass functions, and the t-test uses the
closed form for whole degrees of freedom: exact, and fast at the counts the rules test. Not
`scipy.special`: its compiled functions alone would cost a resident daemon 25 MB for three
formulas (the tests check these against `scipy.stats`)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def _cdf(k: float, expected: float, variance: float) -> float:
    """P(X <= k) under a negative binomial with this mean and variance when overdispersed, else
    Poisson: the sum of the masses of 0..k, each the one before times the ratio of successive
    masses (summed in logs, so large counts neither overflow nor underflow)."""
    k = math.floor(k)
    if k < 0:
        return 0.0
    j = np.arange(1, k + 1, dtype=float)
    if variance > expected * (1 + 1e-12):
        p = expected / variance
        r = expected * p / (1 - p)
        first, steps = r * math.log(p), np.log((j - 1 + r) * (1 - p) / j)
    else:
        first, steps = -expected, math.log(expected) - np.log(j)
    logs = np.concatenate(([first], first + np.cumsum(steps)))
    top = float(logs.max())
    return min(1.0, math.exp(top) * float(np.exp(logs - top).sum()))


def _t_two_sided(t: float, df: int) -> float:
    """P(|T| >= |t|) for Student's t with whole `df` degrees of freedom (Abramowitz and Stegun
    26.7.3-4: a finite sum in powers of cos(atan(t / sqrt(df))))."""
    if df < 1:
        return 1.0
    theta = math.atan(abs(t) / math.sqrt(df))
    cos2, term, total = math.cos(theta) ** 2, 1.0, 1.0
    for i in range(2 if df % 2 else 1, df - 1, 2):  # odd df: 2/3, 2*4/(3*5), ...; even: 1/2, 1*3/(2*4), ...
        term *= cos2 * i / (i + 1)
        total += term
    if df % 2 == 0:
        inside = math.sin(theta) * total
    else:
        inside = 2 / math.pi * (theta + (math.sin(theta) * math.cos(theta) * total if df > 1 else 0.0))
    return max(0.0, 1.0 - inside)


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
    return Line(float(slope), float(ys.mean() - slope * xs.mean()), _t_two_sided(t, df))


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
