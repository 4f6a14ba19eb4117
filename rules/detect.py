"""One rule's detector over any regular time series (`ozon-monitor detect`): causal, so each
point is judged only on the points before it, as the monitor would have judged it live."""
from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rules.stats import high_count_p_value, low_count_p_value, robust_level

WEEK, DAY = timedelta(days=7), timedelta(days=1)


@dataclass(frozen=True)
class Detection:
    timestamp: datetime
    direction: Literal["down", "up"]
    score: float  # -log10(p) for count tests, robust sigmas for levels
    value: float
    expected: float


def seasonal_lags(step: timedelta, depth: int) -> list[int]:
    """Lags (in points) of the same position in previous weeks, or days, or simply the
    previous points when the step divides neither."""
    for period in (WEEK, DAY):
        if step <= period and (period / step).is_integer():
            size = int(period / step)
            return [size * k for k in range(1, depth + 1)]
    return list(range(1, depth + 1))


def count_drops(times: Sequence[datetime], values: Sequence[float], step: timedelta, config: Any) -> list[Detection]:
    """sales_drop / traffic_drop: a count far below the same slot in previous weeks."""
    lags = seasonal_lags(step, getattr(config, "baseline_weeks", 4))
    found = []
    for i in range(len(values)):
        if i < lags[-1]:
            continue
        baseline = [values[i - lag] for lag in lags]
        expected, p = low_count_p_value(int(round(values[i])), baseline, config.dispersion)
        if expected >= getattr(config, "min_expected", 1.0) and values[i] <= (1 - config.min_drop) * expected \
                and p < config.alpha:
            found.append(Detection(times[i], "down", round(-math.log10(max(p, 1e-300)), 2), values[i], round(expected, 2)))
    return found


def count_spikes(times: Sequence[datetime], values: Sequence[float], step: timedelta, config: Any) -> list[Detection]:
    """returns_spike: a count far above the mean of the preceding four weeks of points."""
    depth = max(2, int(4 * WEEK / step))
    found = []
    for i in range(depth, len(values)):
        expected = float(np.mean(values[i - depth:i]))
        p = high_count_p_value(int(round(values[i])), expected, config.dispersion)
        if values[i] >= max(config.min_returns, config.min_ratio * expected) and p < config.alpha:
            found.append(Detection(times[i], "up", round(-math.log10(max(p, 1e-300)), 2), values[i], round(expected, 2)))
    return found


def level_rises(times: Sequence[datetime], values: Sequence[float], step: timedelta, config: Any) -> list[Detection]:
    """finance_anomaly: a share (or any level) well above the median of the preceding points."""
    depth = max(3, int(timedelta(days=config.baseline_days) / step))
    found = []
    for i in range(depth // 2, len(values)):
        median, scale = robust_level(values[max(0, i - depth):i])
        if values[i] - median >= max(config.min_increase, config.sigmas * scale):
            found.append(Detection(times[i], "up", round((values[i] - median) / scale, 2), values[i], round(median, 4)))
    return found


DETECTORS = {"sales_drop": count_drops, "traffic_drop": count_drops, "returns_spike": count_spikes,
             "finance_anomaly": level_rises}


def read_series(path: Path) -> tuple[list[datetime], list[float], timedelta]:
    """Read `timestamp,value` rows (ISO-8601, a header line allowed) at a regular step; raise
    ValueError naming the file and line of the first problem."""
    times: list[datetime] = []
    values: list[float] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror}") from None
    for number, row in enumerate(csv.reader(lines), start=1):
        if not row or (number == 1 and row[0].strip().lower() == "timestamp"):
            continue
        try:
            moment, value = datetime.fromisoformat(row[0].strip()), float(row[1])
        except (ValueError, IndexError):
            raise ValueError(f"{path}:{number}: expected 'timestamp,value' with an ISO-8601 timestamp and a "
                             f"number, got {','.join(row)[:80]!r}") from None
        times.append(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))
        values.append(value)
    if len(times) < 3:
        raise ValueError(f"{path}: needs at least 3 points")
    steps = [b - a for a, b in zip(times, times[1:])]
    step = sorted(steps)[len(steps) // 2]
    for index, gap in enumerate(steps):
        if gap != step:
            raise ValueError(f"{path}: the series must have a regular step ({step}); the gap after point "
                             f"{index + 1} ({times[index].isoformat()}) is {gap}")
    return times, values, step
