"""The plain baseline the detection benches measure `detect` against: a Poisson CUSUM for a fall
to half against the mean of the same position (weekday, or hour of the week) over the previous
four periods, restarted after each alarm. Not a test; imported by bench/real.py and
bench/retail.py."""
from __future__ import annotations

import math

import numpy as np


def cusum_steps(counts: np.ndarray, period: int, r: float = 0.5) -> np.ndarray:
    """Each bin's CUSUM increment for a fall to `r` of the usual (NaN where the usual is unknown:
    fewer than two of the same position in the last four periods, or where the count is NaN, a
    closed day, which is neither judged nor part of a usual)."""
    lags = np.full((4, len(counts)), np.nan)
    for k in range(1, 5):
        lags[k - 1, period * k:] = counts[:-period * k]
    known = (~np.isnan(lags)).sum(axis=0)
    with np.errstate(invalid="ignore"):
        usual = np.where(known >= 2, np.nanmean(np.where(known >= 2, lags, 0.0), axis=0), np.nan)
    return (1 - r) * usual + counts * math.log(r)


def cusum_alarms(steps: np.ndarray, h: float, first: int = 0) -> list[int]:
    """The bins from `first` on where the CUSUM of `steps` reaches `h` (restarting there)."""
    alarms, s = [], 0.0
    for i in range(first, len(steps)):
        if steps[i] != steps[i]:  # NaN: not judged
            continue
        s = max(0.0, s + steps[i])
        if s >= h:
            alarms.append(i)
            s = 0.0
    return alarms


def matched_threshold(clean: list[np.ndarray], first: int, target: int) -> float:
    """The CUSUM threshold at which the clean series give `target` alarms (as near as can be)."""
    low, high = 0.5, 2000.0
    for _ in range(24):
        middle = (low + high) / 2
        if sum(len(cusum_alarms(steps, middle, first)) for steps in clean) > target:
            low = middle
        else:
            high = middle
    return high
