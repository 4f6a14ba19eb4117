"""The usual-intensity model and its detectors on synthetic streams with known answers."""
from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import pytest

from rules import intensity

START = datetime(2026, 6, 1, tzinfo=timezone.utc).timestamp()  # a Monday
WEEKDAYS = np.array([1.2, 1.0, 1.0, 1.0, 1.0, 0.9, 0.9])
HOURS = np.array([0.2] * 7 + [1.5] * 12 + [1.0] * 5)
HOURS = HOURS / HOURS.sum()


def hourly_rates(days: int, per_day: float) -> np.ndarray:
    hours = np.arange(days * 24)
    return per_day * WEEKDAYS[(hours // 24) % 7] * HOURS[hours % 24]


def poisson(rates: np.ndarray, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).poisson(rates).astype(float)


def test_learns_the_weekly_and_daily_shape_and_the_level() -> None:
    rates = hourly_rates(70, 500)
    baseline = intensity.learn(poisson(rates), START, 3600, timezone.utc)
    judged = baseline.expected > 0
    assert judged[-7 * 24:].all() and not judged[:14 * 24].any()  # never judged without history
    assert baseline.per_day == pytest.approx(500 * WEEKDAYS.mean(), rel=0.05)
    assert np.corrcoef(baseline.expected[judged], rates[judged])[0, 1] > 0.99
    assert baseline.dispersion == pytest.approx(intensity.MIN_DISPERSION)  # Poisson: nothing beyond


def test_promotion_days_are_not_learnt_as_the_usual_level() -> None:
    rates = hourly_rates(70, 200)
    rates[60 * 24:63 * 24] *= 4  # a three-day promotion just before
    counts = poisson(rates)
    baseline = intensity.learn(counts, START, 3600, timezone.utc)
    assert baseline.per_day == pytest.approx(200 * WEEKDAYS.mean(), rel=0.08)


def test_a_weekday_the_shop_is_closed_is_expected_to_bring_nothing() -> None:
    rates = hourly_rates(70, 100)
    sundays = (np.arange(len(rates)) // 24) % 7 == 6
    rates[sundays] = 0
    baseline = intensity.learn(poisson(rates), START, 3600, timezone.utc)
    last_week = slice(len(rates) - 7 * 24, len(rates))
    assert baseline.expected[last_week][sundays[last_week]].sum() == 0
    assert baseline.expected[last_week][~sundays[last_week]].min() > 0


def test_a_week_that_changed_five_weeks_ago_is_expected_as_it_is_now() -> None:
    """The weekday factors follow recent weeks as the level does: a shop whose weekend turned
    from its busiest days into its quietest is not told its weekend fell."""
    busy_weekend, quiet_weekend = np.array([0.8] * 5 + [1.5] * 2), np.array([1.1] * 5 + [0.75] * 2)
    days = np.arange(84)
    rates = 100 * np.where(days < 49, busy_weekend[days % 7], quiet_weekend[days % 7])
    baseline = intensity.learn(poisson(rates, seed=3), START, 86400, timezone.utc)
    last_week = baseline.expected[-7:]
    assert last_week[5:].mean() < last_week[:5].mean()


def test_day_to_day_variation_is_measured() -> None:
    rates = hourly_rates(70, 400)
    levels = np.random.default_rng(2).gamma(1 / 0.3**2, 0.3**2, 70)
    baseline = intensity.learn(poisson(rates * np.repeat(levels, 24)), START, 3600, timezone.utc)
    assert 0.2 < baseline.dispersion < 0.4


def test_the_stop_threshold_holds_its_false_alarm_budget_on_a_poisson_stream() -> None:
    """The floor formula by simulation: silences of h due orders come 720 * rate * e^-h times a
    month, so the threshold for a budget F is crossed F times a month."""
    rate, months = 2.0, 400  # orders an hour
    gaps = np.random.default_rng(3).exponential(1.0, int(rate * 720 * months))  # due orders between orders
    for budget in (0.3, 1.0, 3.0):
        h = intensity.stop_threshold(rate, 1e-6, budget)
        assert h == pytest.approx(intensity.stop_floor_orders(rate, budget), rel=1e-3)
        assert (gaps >= h).sum() / months == pytest.approx(budget, rel=0.25)


def test_day_to_day_variation_and_a_slow_day_raise_the_stop_threshold() -> None:
    poisson_h = intensity.stop_threshold(5.0, 1e-6, 0.4)
    varied = intensity.stop_threshold(5.0, 0.2, 0.4)
    assert varied > poisson_h
    assert intensity.stop_threshold(5.0, 0.2, 0.4, seen=20, due=40) > varied  # today runs at half
    assert intensity.stop_threshold(5.0, 0.2, 0.4, seen=80, due=40) < varied


def test_negative_binomial_ratio_tends_to_poisson() -> None:
    n, due, share = np.array([3.0]), np.array([10.0]), np.array([0.4])
    poisson = n * math.log(0.4) + (1 - 0.4) * due
    assert intensity.nb_llr(n, due, share, np.array([1e9]))[0] == pytest.approx(poisson[0], rel=1e-6)
    assert intensity.nb_llr(n, due, share, np.array([np.inf]))[0] == pytest.approx(poisson[0])
    assert intensity.nb_llr(n, due, share, np.array([5.0]))[0] < poisson[0]  # doubt when days vary


def test_change_scan_finds_a_fall_and_its_onset_and_is_quiet_without_one() -> None:
    expected = np.full(400, 10.0)
    counts = poisson(expected, seed=4)
    counts[350:] = poisson(expected[350:] * 0.4, seed=5)
    [scan] = intensity.change_scan(counts, expected, 0.05, 240)
    assert scan.statistic > intensity.change_threshold(0.3)
    assert abs(scan.onset - 350) <= 3 and scan.share == pytest.approx(0.4, abs=0.1)
    [calm] = intensity.change_scan(poisson(expected, seed=6), expected, 0.05, 240)
    assert calm.statistic < intensity.change_threshold(0.3)
    [rise] = intensity.change_scan(counts, expected, 0.05, 240, direction=+1)
    assert rise.statistic < intensity.change_threshold(0.3)


def test_hours_until_due_counts_from_inside_a_bin_and_across_uneven_ones() -> None:
    rates = np.full(100, 2.0)
    assert intensity.hours_until_due(rates, 0.0, 3600, 1800.0, 5.0) == pytest.approx(2.5)
    night = np.array([0.5, 0.5, 4.0, 4.0])  # two quiet hours, then busy ones
    assert intensity.hours_until_due(night, 0.0, 3600, 0.0, 3.0) == pytest.approx(2.5)
    assert intensity.hours_until_due(night, 0.0, 3600, 0.0, 50.0) is None  # beyond the bins
