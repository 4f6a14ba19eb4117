"""The monitor's detectors over any exported time series (`ozon-monitor detect`).

A seller's export is rarely clean: a header or none, extra columns, missing points, irregular
or repeated timestamps, rows out of order, local times across daylight-saving changes. It is
read into regular bins, then judged causally (each bin only on what came before it, as the
daemon would have judged it live) by the live rules' own detectors: for counts, the learnt
intensity with the stop and change scans of `rules.intensity`; for continuous values, a
two-sided CUSUM on robust residuals. What it finds is reported as episodes: once, at the
onset, with the end when it is over.
"""
from __future__ import annotations

import csv
import io
import math
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rules import intensity
from rules.base import Keyed, parse_day

Kind = Literal["count", "level"]
Direction = Literal["down", "up"]
DAY, WEEK = timedelta(days=1), timedelta(days=7)


@dataclass
class TimeSeries:
    """Regular bins from `start` every `step`; NaN where the export had no point."""

    start: datetime
    step: timedelta
    values: np.ndarray
    notes: list[Note] = field(default_factory=list)  # what reading had to repair

    def at(self, index: int) -> datetime:
        return self.start + self.step * index


@dataclass(frozen=True)
class Episode:
    direction: Direction
    onset: datetime
    detected: datetime  # when the detector would have said it
    end: datetime | None  # None: still going at the end of the series
    observed: float  # counts: total since the onset when detected; levels: the value
    expected: float
    score: float  # log likelihood ratio (counts) or CUSUM in robust sigmas (levels)
    what: str  # "stop", "change" (counts) or "shift" (levels)


Note = tuple[str, dict[str, Any]]  # a message id (`detect.*` in monitor/i18n) and its parameters


class UnreadableSeries(Keyed):
    """The file cannot be read as a series: a message id and its parameters for the seller."""


def _parse_time(text: str, tz: tzinfo) -> datetime:
    text = text.strip()
    for parse in (lambda t: datetime.fromisoformat(t.replace("Z", "+00:00")),
                  lambda t: datetime.strptime(t, "%d.%m.%Y %H:%M:%S"),
                  lambda t: datetime.strptime(t, "%d.%m.%Y %H:%M"),
                  lambda t: datetime.strptime(t, "%d.%m.%Y"),
                  lambda t: datetime.fromtimestamp(float(t), tz=timezone.utc)):
        try:
            moment = parse(text)
        except (ValueError, OverflowError, OSError):
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=tz)
    raise ValueError(text)


CURRENCY = re.compile(r"(?i)\s*(₽|руб\.?|р\.|rub)\s*$")


def _parse_value(text: str) -> float:
    """A number as Russian Excel writes it: "78 216,54", "1 234 ₽", "12,5 руб."."""
    text = CURRENCY.sub("", text.strip())
    text = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if not text:
        return math.nan
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # a decimal comma
    elif "," in text and text.index(",") < text.index("."):
        text = text.replace(",", "")  # "1,234.5": commas between thousands
    return float(text)


class _Semicolon(csv.excel):
    delimiter = ";"


def read_series(path: Path, tz: tzinfo, kind: Kind | None = None) -> tuple[TimeSeries, Kind]:
    """Read the first two columns as timestamp and value (a header allowed, other columns
    ignored; comma, semicolon or tab separated; UTF-8 or, as Russian Excel saves it,
    Windows-1251), put them on a regular step, and say what was repaired. Naive timestamps are local time in `tz`. Raises ValueError naming the file
    and line of the first unreadable row."""
    repaired: list[Note] = []
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UnreadableSeries("detect.unreadable", path=path, error=exc) from None
    if raw.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):  # a workbook (XLSX, XLS): Ozon's reports come so
        raise UnreadableSeries("detect.workbook", path=path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:  # Russian Excel saves CSV in Windows-1251
        text = raw.decode("cp1251")
        repaired.append(("detect.cp1251", {}))
    # A ";" or a tab on every line decides (Russian Excel writes ";" and decimal commas, and a
    # header such as "Выручка, руб." would make the sniffer pick ","); otherwise it guesses.
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    dialect: type[csv.Dialect] | csv.Dialect = csv.excel
    if lines and all(";" in line for line in lines):
        dialect = _Semicolon
    elif lines and all("\t" in line for line in lines):
        dialect = csv.excel_tab
    else:
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        except csv.Error:
            pass
    points: list[tuple[datetime, float]] = []
    for number, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
        if not row or not any(cell.strip() for cell in row):
            continue
        try:
            moment = _parse_time(row[0], tz)
            value = _parse_value(row[1]) if len(row) > 1 else math.nan
        except (ValueError, IndexError):
            if not points and number <= 2:  # a header
                continue
            raise UnreadableSeries("detect.bad_row", path=path, line=number, row=",".join(row)[:80]) from None
        points.append((moment.astimezone(timezone.utc), value))
    if len(points) < 3:
        raise UnreadableSeries("detect.too_short", path=path, found=len(points))
    series, kind = regularise(points, kind, str(path))
    return replace(series, notes=repaired + list(series.notes)) if repaired else series, kind


def regularise(points: list[tuple[datetime, float]], kind: Kind | None, name: str) -> tuple[TimeSeries, Kind]:
    notes: list[Note] = []
    if any(b[0] < a[0] for a, b in zip(points, points[1:])):
        notes.append(("detect.sorted", {}))
    by_time: dict[datetime, float] = {}
    for moment, value in points:
        by_time[moment] = value  # a repeated timestamp: the last row wins (exports repeat rows)
    if len(by_time) < len(points):
        notes.append(("detect.repeated", {"count": len(points) - len(by_time)}))
    times = sorted(by_time)
    values = np.array([by_time[t] for t in times])
    finite = values[~np.isnan(values)]
    if kind is None:
        kind = "count" if len(finite) and (finite >= 0).all() and np.allclose(finite, np.round(finite)) else "level"
    if kind == "count" and len(finite) and (finite < 0).any():
        raise UnreadableSeries("detect.negative", path=name, value=f"{finite.min():g}")
    gaps = Counter(b - a for a, b in zip(times, times[1:]))
    step = gaps.most_common(1)[0][0]
    if abs(step - DAY) <= timedelta(hours=1):
        step = DAY  # local midnights: 23 and 25 hours apart across daylight-saving changes
    start = times[0]
    index = np.array([round((t - start) / step) for t in times])
    slack = timedelta(hours=1) if step == DAY else timedelta(0)  # a local midnight moves by the DST hour
    moved = sum(1 for t, i in zip(times, index) if abs(t - (start + step * int(i))) > slack)
    if moved:
        notes.append(("detect.moved", {"count": moved, "minutes": int(step.total_seconds() // 60)}))
    bins = int(index[-1]) + 1
    total = np.bincount(index, weights=np.nan_to_num(values), minlength=bins)
    seen = np.bincount(index, weights=(~np.isnan(values)).astype(float), minlength=bins)
    if kind == "level":
        total = np.where(seen > 0, total / np.maximum(seen, 1), 0.0)
    merged = int(len(index) - len(np.unique(index)))
    if merged:
        notes.append(("detect.added" if kind == "count" else "detect.averaged", {"count": merged}))
    regular = np.where(seen > 0, total, np.nan)
    missing = int(np.isnan(regular).sum())
    if missing:
        notes.append(("detect.missing", {"count": missing, "of": bins}))
    return TimeSeries(start, step, regular, notes), kind


# Russia's public holidays (month, day): the days of the New Year and Christmas break, Defender
# of the Fatherland Day, Women's Day, Spring and Labour Day, Victory Day, Russia Day, Unity Day.
RUSSIAN_HOLIDAYS = ((1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7), (1, 8), (2, 23), (3, 8), (5, 1), (5, 9),
                    (6, 12), (11, 4))


def russian_holidays(first_year: int, last_year: int) -> frozenset[date]:
    return frozenset(date(year, month, day) for year in range(first_year, last_year + 1)
                     for month, day in RUSSIAN_HOLIDAYS)


def closed_days(text: str) -> frozenset[date]:
    """Days from "2026-12-31,2027-01-01..2027-01-08" (or "31.12.2026", as Russian sellers write
    dates): dates and ranges, comma-separated. A ValueError names the part that is not one."""
    days: set[date] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        first, _, last = part.partition("..")
        try:
            begin, end = parse_day(first), parse_day(last or first)
        except ValueError:
            raise ValueError(part) from None
        if end < begin:
            raise ValueError(part)
        days.update(begin + timedelta(days=k) for k in range((end - begin).days + 1))
    return frozenset(days)


def detect(series: TimeSeries, kind: Kind, tz: tzinfo, directions: tuple[Direction, ...] = ("down", "up"),
           false_alarms_per_month: float = 0.2, min_change: float = 0.3,
           closed: frozenset[date] = frozenset()) -> list[Episode]:
    """Every episode in the series, judged causally, oldest first. `closed` days are not judged
    (a closure ends an episode without an alarm); a day closed a year before is expected closed
    again; an unexpected closure is a stop."""
    if kind == "count":
        return count_episodes(series, tz, directions, false_alarms_per_month, min_change, closed)
    return level_episodes(series, directions, false_alarms_per_month)


def count_episodes(series: TimeSeries, tz: tzinfo, directions: tuple[Direction, ...], budget: float,
                   min_change: float, closed: frozenset[date] = frozenset()) -> list[Episode]:
    step = series.step.total_seconds()
    baseline = intensity.learn(series.values, series.start.timestamp(), step, tz, holidays=closed)
    if not baseline.expected.any():
        series.notes.append(("detect.too_little", {}))
    counts = np.nan_to_num(series.values)
    expected = np.where(np.isnan(series.values), 0.0, baseline.expected)  # a missing step is not judged
    # Onsets of the last week, as the live rule scans them (`max_onset_hours`), and at least 7 steps
    # of a coarser series: a longer reach adds slow declines (a product's season ending) more than
    # falls (bench/retail.py: at the same false alarms, 14 days found 3-4 points fewer falls to half;
    # docs/DETECTION.md, "Onsets of the last week").
    span = max(int(math.ceil(WEEK / series.step)), 7)
    threshold = intensity.change_threshold(budget / len(directions), step / 3600)
    recent = intensity.recent_share(counts, expected, at=np.arange(len(counts)))
    found = []
    judged = np.flatnonzero(baseline.level > 0)
    days = np.split(judged, np.flatnonzero(np.diff(baseline.day_of_bin[judged])) + 1) if len(judged) else []
    for direction in directions:
        # Each day is judged with what was learnt before it (as the live rule would have judged
        # it then), each onset with the level, dispersion and uncertainty known at the onset.
        scans: dict[int, intensity.Scan] = {}
        for bins in days:
            first = int(bins[0])
            for i, scan in zip(bins.tolist(), intensity.change_scan(
                    counts, expected, baseline.dispersions, float(baseline.level[first]),
                    uncertainty=baseline.uncertainties, direction=-1 if direction == "down" else 1,
                    min_change=min_change, max_bins=span, at=bins, level=baseline.level, day=baseline.day_of_bin)):
                scans[i] = scan
        bound = 1 - min_change if direction == "down" else 1 + min_change
        going = recent <= 1 - min_change / 2 if direction == "down" else recent >= 1 + min_change / 2
        firing = np.array([i in scans and scans[i].statistic >= threshold and
                           (scans[i].share <= bound if direction == "down" else scans[i].share >= bound)
                           for i in range(len(counts))], dtype=bool) & going
        ended = -1  # a new episode needs evidence that began after the last one ended
        for first, last in _runs(firing, gap=max(1, int(3600 // step))):
            first = next((i for i in range(first, last + 1) if i in scans and scans[i].onset > ended), -1)
            if first < 0:
                continue
            ended = last + 1
            s = scans[first]
            found.append(Episode(direction, series.at(s.onset), series.at(first + 1),
                                 series.at(last + 1) if last < len(counts) - 1 else None, s.observed,
                                 round(s.due, 2), round(s.statistic, 2),
                                 "stop" if direction == "down" and s.observed == 0 else "change"))
    if "down" in directions and len(judged):
        found += _stops(series, counts, expected, baseline, budget / len(directions))
    return sorted(_merge(found), key=lambda e: e.onset)


def _stops(series: TimeSeries, counts: np.ndarray, expected: np.ndarray, baseline: intensity.Baseline,
           budget: float) -> list[Episode]:
    """Steps with nothing at all for longer than chance allows, judged as the live rule judges a
    silence (`intensity.silence_surprise`, without sharpening the first day by its orders): the
    days wholly inside it draw their own levels, its partial first day and the current day one
    (in a daily series every day is whole). The level, dispersion and uncertainty are those
    known when the silence began: its own empty days must not lower what was due."""
    due_since, surprise, needed = np.zeros(len(counts)), np.zeros(len(counts)), np.full(len(counts), np.inf)
    running = first = inside = today = 0.0  # due: in all, on a partial first day; whole days' -log P; today
    whole_start = True  # the silence began with its first day (nothing of that day was seen)
    known = -1  # the silence's first judged bin: what was known then
    day_of, level = baseline.day_of_bin, baseline.level
    for i, (count, due) in enumerate(zip(counts, expected)):
        new_day = i > 0 and day_of[i] != day_of[i - 1]
        if count > 0:
            running = first = inside = today = 0.0
            known = -1
            continue
        if known < 0 and level[i] > 0:
            known = i
        if known < 0:
            continue
        c2 = max(float(baseline.dispersions[known]), 1e-6) ** 2
        due = due * level[known] / level[i] if level[i] > 0 else 0.0
        if running == 0:
            whole_start = i == 0 or new_day
        elif new_day:  # a day of the silence ended
            if first == 0 and not whole_start and inside == 0:
                first = today  # its partial first day: one draw with its current day
            else:
                inside += math.log1p(today * c2) / c2
            today = 0.0
        running += due
        today += due
        shared = c2 + float(baseline.uncertainties[known]) ** 2
        due_since[i] = running
        surprise[i] = inside + math.log1p((first + today) * shared) / shared  # -log P(the silence so far)
        needed[i] = -math.log(intensity.stop_chance(level[known] / 24, budget))
    firing = (level > 0) & (surprise >= needed)
    episodes = []
    for first, last in _runs(firing, gap=0):
        onset = first - int(np.argmax(due_since[first::-1] == 0)) + 1 if (due_since[:first + 1] == 0).any() else 0
        episodes.append(Episode("down", series.at(onset), series.at(first + 1),
                                series.at(last + 1) if last < len(counts) - 1 else None, 0.0,
                                round(float(due_since[first]), 2), round(float(due_since[first]), 2), "stop"))
    return episodes


def _merge(episodes: list[Episode]) -> list[Episode]:
    """A stop inside a change of the same direction is one episode: keep the earlier report."""
    kept: list[Episode] = []
    for e in sorted(episodes, key=lambda e: e.detected):
        overlap = next((k for k in kept if k.direction == e.direction and (k.end is None or k.end >= e.detected)
                        and k.detected <= e.detected), None)
        if overlap is None:
            kept.append(e)
        elif e.end is None or (overlap.end is not None and e.end > overlap.end):
            kept[kept.index(overlap)] = Episode(overlap.direction, min(overlap.onset, e.onset), overlap.detected,
                                                e.end, overlap.observed, overlap.expected, overlap.score, overlap.what)
    return kept


def _runs(firing: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """(first, last) index of each run of True, runs closer than `gap` steps joined."""
    runs: list[tuple[int, int]] = []
    for index in np.flatnonzero(firing):
        if runs and index - runs[-1][1] <= gap + 1:
            runs[-1] = (runs[-1][0], int(index))
        else:
            runs.append((int(index), int(index)))
    return runs


def seasonal_lags(step: timedelta, depth: int) -> list[int]:
    """Lags (in points) of the same position in previous weeks, or days, or simply the
    previous points when the step divides neither."""
    for period in (WEEK, DAY):
        if step <= period and (period / step).is_integer() and period / step > 1:
            size = int(period / step)
            return [size * k for k in range(1, depth + 1)]
    return list(range(1, depth + 1))


def level_episodes(series: TimeSeries, directions: tuple[Direction, ...], budget: float) -> list[Episode]:
    """Continuous values (revenue, a share, a price): each point against a robust usual value,
    the median of the same position in the previous six weeks (or days) or of the previous
    fourteen points, whichever has explained the recent points better, in robust sigmas of
    its recent residuals; a two-sided CUSUM (k = 0.5) with the threshold for the budget
    (Siegmund's approximation of the run length), an episode dated from where its step most
    likely began. While an episode lasts the usual value stays at its onset, so a shift is not
    learnt away; it ends when the values return, or after four weeks at the new level."""
    values = series.values
    usual = np.array([_lagged_median(values, lags) for lags in (seasonal_lags(series.step, 6), list(range(1, 15)))])
    spread = np.array([_trailing_mad(values - centre, 32, 14) for centre in usual])
    best = np.argmin(np.where(np.isnan(spread), np.inf, spread), axis=0)
    centre_of = usual[best, np.arange(len(values))]
    sigma_of = np.maximum(spread[best, np.arange(len(values))], np.abs(centre_of) * 0.005) + 1e-12
    judged = ~np.isnan(values) & ~np.isnan(centre_of) & ~np.isnan(sigma_of)
    per_month = max(timedelta(days=30) / series.step, 2.0)
    k = 0.5
    h = math.log(2 * k * k * per_month / (budget / len(directions))) / (2 * k)
    longest = int(4 * WEEK / series.step)
    high = low = 0.0
    starts = {"up": 0, "down": 0}
    frozen: tuple[float, float] | None = None
    open_: dict[Direction, tuple[int, int, float, float, float]] = {}  # direction -> onset, detected, value, usual, score
    found = []
    residuals: list[tuple[int, float]] = []  # (index, z) of every judged point: where a shift began
    for i in np.flatnonzero(judged).tolist():
        value = float(values[i])
        centre, sigma = frozen or (float(centre_of[i]), float(sigma_of[i]))
        z = (value - centre) / sigma
        residuals.append((i, z))
        starts["up"] = i if high == 0 else starts["up"]
        starts["down"] = i if low == 0 else starts["down"]
        high, low = max(0.0, high + z - k), max(0.0, low - z - k)
        scores: tuple[tuple[Direction, float], ...] = (("up", high), ("down", low))
        for direction, score in scores:
            if direction not in directions:
                continue
            if score >= h and direction not in open_:
                onset = _step_start(residuals, starts[direction], 1 if direction == "up" else -1)
                open_[direction] = (onset, int(i), value, centre, score)
                frozen = frozen or (centre, sigma)
            elif direction in open_ and (score == 0 or i - open_[direction][0] > longest):
                onset, detected, seen, before, top = open_.pop(direction)
                found.append(Episode(direction, series.at(onset), series.at(detected), series.at(int(i)),
                                     seen, round(before, 4), round(top, 2), "shift"))
                frozen = None
                high = low = 0.0
    for direction, (onset, detected, seen, before, top) in open_.items():
        found.append(Episode(direction, series.at(onset), series.at(detected), None, seen, round(before, 4),
                             round(top, 2), "shift"))
    return sorted(found, key=lambda e: e.onset)


def _step_start(residuals: list[tuple[int, float]], since: int, sign: int) -> int:
    """Where a shift most likely began among the points from `since` (the CUSUM's last zero,
    often a few noisy points early): the start of the trailing run whose summed residual, in
    standard errors, is largest."""
    best, best_score, total = since, -math.inf, 0.0
    for n, (index, z) in enumerate(reversed([r for r in residuals if r[0] >= since]), start=1):
        total += sign * z
        if total / math.sqrt(n) > best_score:
            best, best_score = index, total / math.sqrt(n)
    return best


def _lagged_median(values: np.ndarray, lags: list[int]) -> np.ndarray:
    """At each point, the median of the values `lags` points before it (NaN with fewer than 2)."""
    stack = np.full((len(lags), len(values)), np.nan)
    for row, lag in enumerate(lags):
        if lag < len(values):
            stack[row, lag:] = values[:len(values) - lag]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: no history yet
        median = np.nanmedian(stack, axis=0)
    median[(~np.isnan(stack)).sum(axis=0) < 2] = np.nan
    return median


def _trailing_mad(residuals: np.ndarray, window: int, least: int) -> np.ndarray:
    """At each point, the MAD (as a normal sigma) of the `window` residuals before it."""
    padded = np.concatenate((np.full(window, np.nan), residuals))
    windows = np.lib.stride_tricks.sliding_window_view(padded, window)[:len(residuals)]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(windows, axis=1)
        mad = 1.4826 * np.nanmedian(np.abs(windows - median[:, None]), axis=1)
    mad[(~np.isnan(windows)).sum(axis=1) < least] = np.nan
    return mad


RULE_DEFAULTS: dict[str, tuple[Kind, tuple[Direction, ...]]] = {
    "sales_drop": ("count", ("down",)), "traffic_drop": ("count", ("down",)),
    "returns_spike": ("count", ("up",)), "finance_anomaly": ("level", ("up",))}
