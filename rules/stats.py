"""Statistical tests shared by the rules, on plain numbers."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats


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
    if variance > expected:
        p = expected / variance
        n = expected * p / (1 - p)
        return expected, float(stats.nbinom.cdf(observed, n, p))
    return expected, float(stats.poisson.cdf(observed, expected))
