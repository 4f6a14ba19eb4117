"""The seller's usual intensity of orders (or any count), and the two detectors that judge a
stream against it at the information limit.

A shop's orders are close to a Poisson stream whose rate is a level (drifting, growing) times
a weekday factor times an hour-of-day shape, plus day-to-day variation beyond Poisson (weather,
promotions elsewhere, paydays) with coefficient of variation `dispersion`. `learn` estimates
that model causally: the expected count of each bin on a day uses only the days before it, so
a replay over history says exactly what the monitor would have said live. Listed holidays and
the seller's own unusual days (promotions, closed days) are left out of what is learnt;
holidays are not judged at all.

Two detectors use it:
- a stop: how unlikely the silence since the last order is (`silence_surprise`, its due orders
  split by local day) against the budget's chance (`stop_chance`). Each order resets it, so it
  speaks as soon as the silence is long enough, day or night.
- a fall or a rise: `change_scan`, the generalised likelihood ratio over every onset in the
  last week, negative binomial where the day-to-day variation needs it (a CUSUM that does not
  need to be told how deep the fall is), against `change_threshold`.
Both are pure functions of numpy arrays; thresholds come from a false-alarm budget per month.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo

import numpy as np

DAY = 86400.0
HOURS_PER_MONTH = 720.0
MEMORY_DAYS = 28.0  # the time constant of the baseline's memory (bench/retail.py measured 14, 28, 42)
MIN_DISPERSION = 0.05  # a few weeks never show all of the day-to-day variation


@dataclass(frozen=True)
class Baseline:
    """Expected counts per bin, each as known at the start of its day, and how much whole days
    vary beyond Poisson noise."""

    start: float  # epoch seconds of bin 0
    step: float  # seconds per bin
    expected: np.ndarray  # per bin; 0 where not judged (holidays, too little history before)
    dispersion: float  # day-to-day coefficient of variation beyond Poisson
    per_day: float  # expected count on a usual day, as of the last bin
    day_of_bin: np.ndarray  # local day of each bin, from 0
    day_totals: np.ndarray  # observed count per local day
    usable: np.ndarray  # whole, non-holiday days
    uncertainty: float  # relative standard error of the learnt level
    level: np.ndarray  # the level each bin's day was judged with (0 where not judged)
    dispersions: np.ndarray  # per bin: the dispersion its day was judged with (what was known then)
    uncertainties: np.ndarray  # per bin: the level's standard error its day was judged with

    def due(self, begin: np.ndarray | float, end: np.ndarray | float) -> np.ndarray:
        """Counts due between moments (epoch seconds), bins spread evenly over their span."""
        cumulative = np.concatenate(([0.0], np.cumsum(self.expected)))
        edges = self.start + self.step * np.arange(len(cumulative))
        return np.maximum(np.interp(end, edges, cumulative) - np.interp(begin, edges, cumulative), 0.0)

    @property
    def per_hour(self) -> float:
        return self.per_day / 24


@dataclass(frozen=True)
class Calendar:
    """Local day index and position of every bin."""

    day: np.ndarray  # local day number of each bin (days since 1970-01-01, local)
    slot: np.ndarray  # position within the day (0 for daily or longer bins)
    slots: int  # positions per day


def calendar(start: float, step: float, count: int, tz: tzinfo | None) -> Calendar:
    """Where each bin falls in local time. Offsets are looked up per day, so daylight-saving
    changes and any zone are handled; bins are assumed to align with local hours."""
    stamps = start + step * np.arange(count)
    offsets = _offsets(stamps, tz)
    local = stamps + offsets
    day = np.floor(local / DAY).astype(np.int64)
    if step >= DAY:  # a daily bin is a day, whatever daylight saving did to its clock time
        index = np.arange(count, dtype=np.int64)
        return Calendar(index + (day[0] if count and step == DAY else 0), np.zeros(count, dtype=np.int64), 1)
    slots = max(1, int(round(DAY / step)))
    slot = np.floor((local - day * DAY) / step).astype(np.int64).clip(0, slots - 1)
    return Calendar(day, slot, slots)


def _offsets(stamps: np.ndarray, tz: tzinfo | None) -> np.ndarray:
    if tz is None or not len(stamps):
        return np.zeros(len(stamps))
    hours = np.floor(stamps / 3600).astype(np.int64)
    unique, inverse = np.unique(hours, return_inverse=True)
    offsets = np.array([_offset(datetime.fromtimestamp(int(h) * 3600, tz=timezone.utc).astimezone(tz))
                        for h in unique])
    return offsets[inverse]


def _offset(moment: datetime) -> float:
    """Seconds the aware `moment`'s zone is ahead of UTC."""
    offset = moment.utcoffset()
    return offset.total_seconds() if offset is not None else 0.0


def learn(counts: np.ndarray, start: float, step: float, tz: tzinfo | None, *, history_days: int = 56,
          min_history_days: int = 14, holidays: frozenset[date] = frozenset(), judge_from: int = 0) -> Baseline:
    """Expected count per bin from the whole days before each day. `counts` may hold NaN for
    missing bins. Days before the one holding bin `judge_from` are not judged and stay 0 (a live
    cycle needs only the last week)."""
    cal = calendar(start, step, len(counts), tz)
    if not len(counts):
        return Baseline(start, step, np.zeros(0), MIN_DISPERSION, 0.0, cal.day, np.zeros(0), np.zeros(0, bool), 0.0,
                        np.zeros(0), np.zeros(0), np.zeros(0))
    first_day = int(cal.day[0])
    day_index = cal.day - first_day
    days = int(day_index[-1]) + 1
    present = ~np.isnan(counts)
    values = np.where(present, counts, 0.0)
    totals = np.bincount(day_index, weights=values, minlength=days)
    covered = np.bincount(day_index, weights=present.astype(float), minlength=days)
    whole = covered >= 0.8 * cal.slots
    if cal.slots > 1:  # the first and last day may be cut: never learn from them
        whole &= np.bincount(day_index, minlength=days) == cal.slots
    weekday = (np.arange(days) + first_day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    holiday = np.array([_as_date(first_day + d) in holidays for d in range(days)], dtype=bool)
    holiday |= _closed_a_year_ago(totals, whole, first_day)
    usable = whole & ~holiday
    by_slot = np.bincount(day_index * cal.slots + cal.slot, weights=values,
                          minlength=days * cal.slots).reshape(days, cal.slots)
    expected, levels = np.zeros(len(counts)), np.zeros(len(counts))
    dispersions, uncertainties = np.full(len(counts), MIN_DISPERSION), np.zeros(len(counts))
    dispersion, per_day, weight = MIN_DISPERSION, 0.0, 1.0
    for d in range(max(int(day_index[judge_from]), min_history_days), days):
        lo = max(0, d - history_days)
        if holiday[d] or usable[lo:d].sum() < min_history_days // 2:
            continue
        fit = _fit(totals[lo:d], weekday[lo:d], usable[lo:d], d - np.arange(lo, d), by_slot[lo:d])
        if fit is None:
            continue
        level, factors, shape, dispersion, weight = fit
        bins = day_index == d
        expected[bins] = level * factors[weekday[d]] * shape[cal.slot[bins]]
        levels[bins] = level
        per_day = level
        dispersions[bins], uncertainties[bins] = dispersion, _uncertainty(dispersion, level, weight)
    uncertainty = _uncertainty(dispersion, per_day, weight) if per_day else 0.0
    return Baseline(start, step, expected, dispersion, per_day, day_index, totals, usable, uncertainty, levels,
                    dispersions, uncertainties)


def _uncertainty(dispersion: float, level: float, weight: float) -> float:
    """The relative standard error of a level learnt from `weight` effective days."""
    return math.sqrt((dispersion**2 + 1 / max(level, 1e-9)) / weight)


def _closed_a_year_ago(totals: np.ndarray, whole: np.ndarray, first_day: int) -> np.ndarray:
    """Days whose date a year before was a whole day with nothing at all while the week around
    it traded: a yearly closure (Christmas Day, New Year, a stocktaking) is expected again and
    not judged. Only the year before is read, so it is known at the start of the day."""
    closed = np.zeros(len(totals), dtype=bool)
    for d in range(len(totals)):
        moment = _as_date(first_day + d)
        try:
            before = (moment.replace(year=moment.year - 1) - date(1970, 1, 1)).days - first_day
        except ValueError:  # 29 February
            continue
        if before < 3 or not whole[before] or totals[before] > 0:
            continue
        around = np.concatenate((totals[max(0, before - 3):before], totals[before + 1:before + 4]))
        closed[d] = len(around) > 0 and float(np.median(around)) >= 3
    return closed


def _as_date(local_day: int) -> date:
    return date(1970, 1, 1) + timedelta(days=local_day)


def _fit(totals: np.ndarray, weekday: np.ndarray, usable: np.ndarray, age: np.ndarray, by_slot: np.ndarray
         ) -> tuple[float, np.ndarray, np.ndarray, float, float] | None:
    """(level per day, weekday factors, shape per slot, dispersion, effective days behind the
    level) from whole days of history. Unusual days (closed, or far off the usual level) are
    set aside first."""
    t, wd, ages, slots = totals[usable], weekday[usable], age[usable], by_slot[usable]
    if t.sum() <= 0:
        return None
    factors = np.ones(7)
    normal = np.ones(len(t), dtype=bool)
    for j in range(7):  # a weekday the shop is closed: none on most of them, too many to be chance
        on = wd == j
        zeros = int((t[on] == 0).sum())
        if on.sum() >= 2 and zeros > on.sum() / 2 and float(t[~on].mean() if (~on).any() else 0) * zeros >= 4.6:
            factors[j] = 0.0
            normal &= ~on
    if not normal.any():
        return None
    log_t = np.log(t + 0.5)
    centre = float(np.median(log_t[normal]))
    spread = 1.4826 * float(np.median(np.abs(log_t[normal] - centre)))
    # Promotions and bulk (over 2.5x) and days of next to nothing (a closure, a stop: under a tenth)
    # are set aside. A slow day at 40% is variation the model must know, or it calls such days falls
    # (bench/retail.py: setting aside days under 1/2.5 cost 2-7 points of falls to half at 5-20 a
    # day and raised the false alarms; docs/DETECTION.md, "Slow days").
    normal &= (log_t - centre <= max(3.5 * spread, math.log(2.5))) & (centre - log_t <= max(3.5 * spread, math.log(10)))
    if normal.sum() < 5:
        return None
    t, wd, ages, slots = t[normal], wd[normal], ages[normal], slots[normal]
    weights = np.exp(-ages / MEMORY_DAYS)  # recent weeks count more: growth, decline and the week's shape are followed
    in_days = weights * len(t) / weights.sum()  # each day's weight, the days learnt from adding up to their number
    mean = float((in_days * t).sum() / len(t))
    prior = 1.0  # a pseudo-day at the overall mean: a few weeks of a small or uneven shop are noisy
    for day in np.flatnonzero(factors):
        on = wd == day
        factors[day] = ((in_days[on] * t[on]).sum() + prior * mean) / ((in_days[on].sum() + prior) * mean) \
            if mean > 0 else 1.0
    factors = factors / factors[factors > 0].mean()
    level = float((weights * t / np.where(factors[wd] > 0, factors[wd], 1.0)).sum() / weights.sum())
    ratio = t / np.maximum(level * factors[wd], 1e-9)  # unusual days are already out: the plain spread
    dispersion = min(1.0, max(MIN_DISPERSION, math.sqrt(max(float(ratio.var(ddof=1)) - 1 / max(level, 1e-9), 0.0))))
    shape = slots.sum(axis=0) + 0.5 / len(slots[0])  # half an order spread: no hour is ever impossible
    if shape.sum() < 10 * len(shape):  # very thin data: lean on the neighbouring hours a little
        shape = (np.roll(shape, 1) + 4 * shape + np.roll(shape, -1)) / 6
    return level, factors, shape / shape.sum(), dispersion, float(weights.sum()**2 / (weights**2).sum())


def share_baseline(shop: Baseline, counts: np.ndarray, history_days: int = 28, judge_from: int = 0
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One SKU's (or each SKU's, rows of `counts`) expected counts as its share of the shop's:
    it inherits the shop's weekly and daily shape, and only its share over the usual days
    before each day and its own day-to-day variation are learnt. Returns (expected [rows x
    bins], dispersion [rows], per-day [rows])."""
    counts = np.atleast_2d(counts)
    days = len(shop.day_totals)
    sku_totals = np.zeros((len(counts), days))
    for row in range(len(counts)):
        sku_totals[row] = np.bincount(shop.day_of_bin, weights=counts[row], minlength=days)
    use = shop.usable.astype(float)
    sku_cum = np.concatenate((np.zeros((len(counts), 1)), np.cumsum(sku_totals * use, axis=1)), axis=1)
    shop_cum = np.concatenate(([0.0], np.cumsum(shop.day_totals * use)))
    day_share = np.zeros((len(counts), days))
    for d in range(days):
        lo = max(0, d - history_days)
        if shop_cum[d] - shop_cum[lo] > 0:
            day_share[:, d] = (sku_cum[:, d] - sku_cum[:, lo]) / (shop_cum[d] - shop_cum[lo])
    expected = day_share[:, shop.day_of_bin] * shop.expected[None, :]
    expected[:, :judge_from] = 0.0
    last = np.flatnonzero(shop.usable)[-history_days:]
    share = day_share[:, -1]
    usual = share[:, None] * shop.day_totals[None, last]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(usual > 0, sku_totals[:, last] / usual, 1.0)
    spread = 1.4826 * np.median(np.abs(ratio - np.median(ratio, axis=1, keepdims=True)), axis=1)
    per_day = share * shop.per_day
    dispersion = np.clip(np.sqrt(np.maximum(spread**2 - 1 / np.maximum(per_day, 1e-9), 0.0)), MIN_DISPERSION, 1.0)
    return expected, dispersion, per_day


# --- detectors ------------------------------------------------------------------------------

def stop_chance(per_hour: float, false_alarms_per_month: float) -> float:
    """The chance below which a silence is called a stop: every order ends a silence, so a
    month holds `720 * per_hour` of them and the budget is shared among them."""
    return min(false_alarms_per_month / max(HOURS_PER_MONTH * per_hour, 1e-9), 0.5)


def stop_threshold(per_hour: float, dispersion: float, false_alarms_per_month: float,
                   seen: float = 0.0, due: float = 0.0) -> float:
    """Orders due since the last one at which a silence within one day is called a stop.

    Under normal trading a silence of `h` due orders happens `720 * per_hour * e^-h` times a
    month (every order ends one silence), so h = ln(720 * per_hour / F). When whole days vary,
    today's level g is uncertain (gamma, mean 1, CV `dispersion`, sharpened by `seen` orders
    today against `due` expected so far) and the chance becomes (1 + h/b)^-a."""
    chance = stop_chance(per_hour, false_alarms_per_month)
    shape = 1 / max(dispersion, 1e-6) ** 2 + seen
    rate = 1 / max(dispersion, 1e-6) ** 2 + due
    return float(rate * (chance ** (-1 / shape) - 1))


def silence_surprise(dues: Sequence[float], dispersion: float, uncertainty: float, seen: float = 0.0,
                     due_before: float = 0.0) -> float:
    """-log P(no order in a silence) whose due orders fall on `dues`, one entry per local day it
    touches, oldest first. The days wholly inside the silence each draw their own level (gamma,
    CV the day-to-day variation); the two partial days at its ends share one draw, uncertain by
    the level's uncertainty too and sharpened by the `seen` orders of the first day against
    `due_before` expected before the silence (`stop_threshold`'s draw, exactly, for a silence
    within a day or over one night). So a small shop's week without an order is told from its
    usual quiet days, while one slow day is not."""
    c2 = max(dispersion, 1e-6) ** 2
    shared = c2 + uncertainty ** 2
    ends = dues[0] + (dues[-1] if len(dues) > 1 else 0.0)
    return (1 / shared + seen) * math.log1p(ends / (1 / shared + due_before)) + \
        sum(math.log1p(d * c2) / c2 for d in dues[1:-1])


def nb_llr(observed: np.ndarray, due: np.ndarray, share: np.ndarray, size: np.ndarray) -> np.ndarray:
    """log P(observed | mean share*due) - log P(observed | mean due) for negative binomial counts
    of size `size` (inf: Poisson)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_share = observed * np.log(share)
        finite = np.isfinite(size)
        if finite.all():
            return log_share + (observed + size) * np.log1p((1 - share) * due / (size + share * due))
        nb = log_share + (observed + np.where(finite, size, 0)) * np.log1p(
            (1 - share) * due / (np.where(finite, size, 1) + share * due))
        return np.where(finite, nb, log_share + (1 - share) * due)


@dataclass(frozen=True)
class Scan:
    """The strongest evidence of a change ending at one bin."""

    statistic: float  # log likelihood ratio
    onset: int  # first bin of the changed stretch
    observed: float
    due: float

    @property
    def share(self) -> float:
        return self.observed / self.due if self.due > 0 else 1.0


def window_size(due: np.ndarray, dispersion: float | np.ndarray, per_day: float,
                uncertainty: float | np.ndarray = 0.0) -> np.ndarray:
    """Negative binomial size of a window's count: variance = due + c^2 * due * min(due, a day's
    due) + u^2 * due^2. Day-to-day variation is shared within a day and averages out over
    several; the error of the learnt level `u` is shared by every window. `dispersion` and
    `uncertainty` may be given per window."""
    if per_day <= 0:
        return np.full(due.shape, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        extra = np.square(dispersion) * np.minimum(due, per_day) / np.maximum(due, 1e-12) + np.square(uncertainty)
        return np.where((due > 0) & (extra > 0), 1 / extra, np.inf)


def change_scan(observed: np.ndarray, expected: np.ndarray, dispersion: float | np.ndarray, per_day: float, *,
                uncertainty: float | np.ndarray = 0.0, direction: int = -1, min_change: float = 0.3,
                max_bins: int = 168, at: np.ndarray | None = None, level: np.ndarray | None = None,
                day: np.ndarray | None = None) -> list[Scan]:
    """For each bin in `at` (default: the last), the GLR over onsets up to `max_bins` back of
    "the count since the onset is a share rho of what was due", rho <= 1 - min_change for
    falls (direction -1), >= 1 + min_change for rises (+1). Not-judged bins (expected 0) add
    nothing. With `level` (the baseline's per-bin level), what was due since an onset is
    reckoned at the level known at the onset; with `day` (each bin's local day), the part of
    the window on the onset's own day is reckoned at that day's level as its earlier hours
    showed it. `dispersion` and `uncertainty` given per bin (the baseline's) are taken at the
    onset too: the days of a fall must not widen the variation it is judged against."""
    ends = np.array([len(observed) - 1]) if at is None else np.asarray(at)
    obs_cum = np.concatenate(([0.0], np.cumsum(np.where(expected > 0, np.nan_to_num(observed), 0.0))))
    lags = np.arange(1, max_bins + 1)
    onsets = ends[:, None] + 1 - lags[None, :]  # [ends x lags]
    valid = onsets >= 0
    onsets = np.maximum(onsets, 0)
    n = obs_cum[ends + 1][:, None] - obs_cum[onsets]
    if level is None:
        due_cum = np.concatenate(([0.0], np.cumsum(expected)))
        due = due_cum[ends + 1][:, None] - due_cum[onsets]
    else:  # what was due at the level known at the onset: the baseline must not chase the change
        with np.errstate(divide="ignore", invalid="ignore"):
            unit = np.where(level > 0, expected / level, 0.0)
        unit_cum = np.concatenate(([0.0], np.cumsum(unit)))
        onset_level = np.where(level[onsets] > 0, level[onsets], level[np.minimum(onsets + 1, len(level) - 1)])
        due = onset_level * (unit_cum[ends + 1][:, None] - unit_cum[onsets])
    dispersion, uncertainty = _at_onsets(dispersion, onsets, ends, level), _at_onsets(uncertainty, onsets, ends, level)
    if day is not None and np.min(dispersion) > 0:
        due, size = _today_known(obs_cum, expected, day, onsets, due, dispersion, per_day, uncertainty)
    else:
        size = window_size(due, dispersion, per_day, uncertainty)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(due > 0, n / due, 1.0)
    bound = 1 - min_change if direction < 0 else 1 + min_change
    rho = np.minimum(rho, bound) if direction < 0 else np.maximum(rho, bound)
    rho = np.maximum(rho, 1e-9)
    llr = np.where(valid & (due > 0), nb_llr(n, due, rho, size), -np.inf)
    best = np.argmax(llr, axis=1)
    rows = np.arange(len(ends))
    return [Scan(float(llr[i, b]), int(onsets[i, b]), float(n[i, b]), float(due[i, b])) for i, b in zip(rows, best)]


def _at_onsets(value: float | np.ndarray, onsets: np.ndarray, ends: np.ndarray, level: np.ndarray | None
               ) -> float | np.ndarray:
    """A per-bin value as known at each window's onset (at its end where the onset was not
    judged: no `level` there); a single value as it is."""
    if not isinstance(value, np.ndarray):
        return value
    if level is None:
        return value[onsets]
    return np.where(level[onsets] > 0, value[onsets], value[ends][:, None])


def _today_known(obs_cum: np.ndarray, expected: np.ndarray, day: np.ndarray, onsets: np.ndarray, due: np.ndarray,
                 dispersion: float | np.ndarray, per_day: float, uncertainty: float | np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(mean, negative binomial size) of each window's count when the onset day's own level
    is learnt from its hours before the onset: a gamma prior of CV `dispersion` updated by the
    orders seen against those due. Days after the onset's keep the prior."""
    due_cum = np.concatenate(([0.0], np.cumsum(expected)))
    first = np.searchsorted(day, day, "left")[onsets]
    following = np.searchsorted(day, day, "right")[onsets]
    prior = 1 / np.square(dispersion)
    shape = prior + obs_cum[onsets] - obs_cum[first]
    ratio = shape / (prior + due_cum[onsets] - due_cum[first])  # today's level against the usual
    today = np.minimum(due, due_cum[following] - due_cum[onsets])
    rest = due - today
    mean = ratio * today + rest
    extra = (ratio * today) ** 2 / shape + np.square(dispersion) * rest * np.minimum(rest, per_day) \
        + np.square(uncertainty * due)
    with np.errstate(divide="ignore", invalid="ignore"):
        return mean, np.where(extra > 0, mean**2 / extra, np.inf)


def recent_share(observed: np.ndarray, expected: np.ndarray, min_due: float = 10.0,
                 at: np.ndarray | None = None) -> np.ndarray:
    """Observed over due in the shortest stretch ending at each bin of `at` (default: the last)
    that had `min_due` counts due: whether a fall is still going on, or over."""
    ends = np.array([len(observed) - 1]) if at is None else np.asarray(at)
    obs_cum = np.concatenate(([0.0], np.cumsum(np.where(expected > 0, np.nan_to_num(observed), 0.0))))
    due_cum = np.concatenate(([0.0], np.cumsum(expected)))
    begin = np.searchsorted(due_cum, due_cum[ends + 1] - min_due, side="right") - 1
    begin = np.clip(begin, 0, ends)
    due = due_cum[ends + 1] - due_cum[begin]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(due > 0, (obs_cum[ends + 1] - obs_cum[begin]) / due, 1.0)


GLR_PRICE = 1.5  # nats: not knowing the onset or the depth, measured on incident-free streams


def change_threshold(false_alarms_per_month: float, step_hours: float = 1.0) -> float:
    """GLR threshold for a budget of false alarms a month: Lorden's ln(bins a month / F) plus
    the price of scanning every onset and depth (bench/floors.py measures the false alarms)."""
    return math.log(max(HOURS_PER_MONTH / step_hours / max(false_alarms_per_month, 1e-9), 2.0)) + GLR_PRICE


# --- floors ---------------------------------------------------------------------------------

def stop_floor_orders(per_hour: float, false_alarms_per_month: float = 1.0) -> float:
    """Orders that must have been due since a stop before any detector can call it at this
    budget (Poisson): ln(720 * per_hour / F)."""
    return math.log(max(HOURS_PER_MONTH * per_hour / false_alarms_per_month, 1.0))


def drop_floor_orders(share: float, false_alarms_per_month: float = 1.0) -> float:
    """Orders due since a fall to `share` before it can be told from chance (Lorden's bound for
    CUSUM with the Poisson Kullback-Leibler rate per due order)."""
    kl = share * math.log(share) - share + 1 if share > 0 else 1.0
    return math.log(HOURS_PER_MONTH / false_alarms_per_month) / kl


def hours_until_due(expected: np.ndarray, start: float, step: float, begin: float, orders: float) -> float | None:
    """Hours from `begin` until `orders` are due, or None beyond the last bin."""
    cumulative = np.concatenate(([0.0], np.cumsum(expected)))
    target = float(np.interp(begin, start + step * np.arange(len(cumulative)), cumulative)) + orders
    index = int(np.searchsorted(cumulative, target))  # first edge at or past the target
    if index > len(expected) or index == 0:
        return None
    fraction = (target - cumulative[index - 1]) / expected[index - 1] if expected[index - 1] > 0 else 0.0
    return (start + (index - 1 + fraction) * step - begin) / 3600
