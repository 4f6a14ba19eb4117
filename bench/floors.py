"""Shop-wide sales detection against the information floor, by seller size. Prints a table;
not a test. Figures are recorded in docs/DETECTION.md.

    .venv/bin/python bench/floors.py [--sellers 4] [--starts 168] [--quiet-days 60]

For each size (orders a day), `--sellers` seeded simulator shops; on them, incidents (a full
stop, a fall to 30% and to 50%) starting at `--starts` hours spread over every hour of the
week (each on its own seller in turn). The monitor's sales_drop is judged every 5 minutes
(every minute from 1,000 orders a day, every 15 below 100) on the stream as it stands, exactly
as the live rule does: the detector's own delay; the daemon's poll interval adds half of
`poll_minutes` on average. The
floor of each incident is the time until the orders due since its start (at the simulator's
true rate) reach what the budget of one false alarm a month requires (see
rules/intensity.py); the "varied" floor is the same with the simulator's day-to-day
variation of 12%, which no detector can see through. Incident-free months, judged every 10 minutes, give the false alarms (an alert
resolves after an hour clear, as the daemon's `resolve_after_minutes`).
The previous detector (fixed windows against the same hours of past weeks, v0.1) and a naive
one ("orders so far today below half of yesterday's by the same hour") run on the same
streams.
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.simulator import Scenario, World  # noqa: E402
from monitor.simulator.world import HOUR_PROFILE, MSK, WEEKDAY_FACTOR  # noqa: E402
from rules import intensity  # noqa: E402
from rules.sales import HOUR, SalesDropConfig, judge_shop, learn_shop, shop_start, shop_stream  # noqa: E402
from rules.stats import low_count_p_value  # noqa: E402

SIZES = [10, 20, 40, 100, 200, 1000]
KINDS = {"stop": 0.0, "drop to 30%": 0.3, "drop to 50%": 0.5}
HISTORY = timedelta(days=60)
BEGIN = datetime(2026, 3, 2, tzinfo=timezone.utc)  # a Monday; incidents start after HISTORY
CONFIG = SalesDropConfig()
RESOLVE_AFTER_CHECKS = 6  # [alerts] resolve_after_minutes = 60 at 10-minute checks


@dataclass
class Seller:
    volume: float
    times: np.ndarray  # every order the world would take, epoch seconds, sorted
    thin: np.ndarray  # the simulator's own thinning draw per order: kept under a fall to rho if < rho
    start: float

    def stream(self, onset: float, share: float) -> np.ndarray:
        keep = (self.times < onset) | (self.thin < share)
        return self.times[keep]


def seller(volume: float, seed: int, days: float, scenario: dict | None = None) -> Seller:
    world = World(Scenario(seed=seed, skus=150, orders_per_day=volume, **(scenario or {})))
    end = BEGIN + timedelta(days=days)
    orders = world.orders(BEGIN, end, end)
    return Seller(volume, np.array([o.created_at.timestamp() for o in orders]),
                  np.array([o.u_thin for o in orders]), BEGIN.timestamp())


def true_rate(volume: float, begin: float, hours: int) -> np.ndarray:
    """The simulator's own expected orders per hour (its day-to-day variation averages 1)."""
    stamps = begin + 3600 * np.arange(hours)
    local = [datetime.fromtimestamp(s, tz=timezone.utc).astimezone(MSK) for s in stamps]
    return np.array([volume * WEEKDAY_FACTOR[m.weekday()] * HOUR_PROFILE[m.hour] for m in local])


DAY_NOISE = 0.12  # the simulator's day-to-day variation (Scenario.day_noise)


def floor_hours(volume: float, onset: float, share: float) -> float:
    """Hours until the orders due since `onset` reach the floor (Poisson, one false alarm a
    month)."""
    rate = true_rate(volume, math.floor(onset / 3600) * 3600, 24 * 40)
    orders = intensity.stop_floor_orders(volume / 24) if share == 0 else intensity.drop_floor_orders(share)
    return intensity.hours_until_due(rate, math.floor(onset / 3600) * 3600, 3600, onset, orders) or math.inf


def varied_floor_hours(volume: float, onset: float, share: float) -> float:
    """The same floor when whole days vary by DAY_NOISE: a stop needs the gamma-mixed silence
    (rules.intensity.stop_threshold); a fall's information per due order is discounted by
    1 + c^2 * min(due, a day's due), so within one day it saturates at about 1/c^2 orders."""
    begin = math.floor(onset / 3600) * 3600
    rate = true_rate(volume, begin, 24 * 40)
    if share == 0:
        orders = intensity.stop_threshold(volume / 24, DAY_NOISE, 1.0)
        return intensity.hours_until_due(rate, begin, 3600, onset, orders) or math.inf
    due = np.cumsum(rate) - rate[0] * (onset - begin) / 3600
    kl = share * math.log(share) - share + 1
    information = kl * due / (1 + DAY_NOISE**2 * np.minimum(due, volume))
    index = int(np.searchsorted(information, math.log(720)))
    return index + 1 - (onset - begin) / 3600 if index < len(due) else math.inf


def first_alarm(times: np.ndarray, history: float, onset: float, horizon: float, step: float,
                detector: str = "ours") -> float | None:
    """Hours from `onset` to the first check where the detector fires."""
    moment = onset + step
    while moment <= onset + horizon:
        if fires(times, history, moment, detector):
            return (moment - onset) / 3600
        moment += step
    return None


_learnt: dict[tuple[int, float, int], object] = {}


def ours(times: np.ndarray, history: float, moment: float) -> str | None:
    """The live rule's verdict; what it learns is kept per local day, as it does not change
    within one (the rule would learn it again every cycle, with the same result)."""
    start = shop_start(history, moment, CONFIG)
    day = int(datetime.fromtimestamp(moment, tz=MSK).replace(hour=0, minute=0, second=0).timestamp())
    key = (id(times), start, day)
    if key not in _learnt:
        if len(_learnt) > 64:
            _learnt.clear()
        end = day + 86400
        bins = int(math.ceil((end - start) / HOUR))
        seen = times[(times >= start) & (times < end)]
        counts = np.bincount(((seen - start) // HOUR).astype(np.int64), minlength=bins)[:bins].astype(float)
        _learnt[key] = learn_shop(counts, start, CONFIG, MSK)
    verdict = judge_shop(shop_stream(times, history, moment, CONFIG, MSK, _learnt[key]), CONFIG)  # type: ignore[arg-type]
    return verdict.kind if verdict else None


def fires(times: np.ndarray, history: float, moment: float, detector: str) -> bool:
    if detector == "ours":
        return ours(times, history, moment) is not None
    seen = times[: np.searchsorted(times, moment)]
    if detector == "naive":
        local = datetime.fromtimestamp(moment, tz=MSK)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        today = len(seen) - np.searchsorted(seen, midnight)
        yesterday = np.searchsorted(seen, moment - 86400) - np.searchsorted(seen, midnight - 86400)
        return bool(yesterday >= 4 and today < 0.5 * yesterday)
    return previous(seen, moment)


def previous(times: np.ndarray, moment: float) -> bool:
    """v0.1's sales_drop: trailing 1, 2, 3, 6 and 24 hours against the same hours 1-4 weeks
    back, negative binomial p < 1e-4, at least halved, at least 8 expected."""
    week = 7 * 86400
    for hours in (1, 2, 3, 6, 24):
        window = hours * 3600

        def count(end: float) -> int:
            return int(np.searchsorted(times, end) - np.searchsorted(times, end - window))
        baseline = [count(moment - k * week) for k in range(1, 5)]
        observed = count(moment)
        expected, p = low_count_p_value(observed, baseline, 0.02)
        if expected >= 8 and observed <= 0.5 * expected and p < 1e-4:
            return True
    return False


def openings(times: np.ndarray, history: float, begin: float, days: float, detector: str) -> dict[str, int]:
    """Alarms opened on an incident-free stream judged every 10 minutes, by kind."""
    count: dict[str, int] = {}
    quiet = RESOLVE_AFTER_CHECKS
    for k in range(int(days * 144)):
        moment = begin + 600 * k
        now = ours(times, history, moment) if detector == "ours" else (
            "alarm" if fires(times, history, moment, detector) else None)
        if now and quiet >= RESOLVE_AFTER_CHECKS:  # an alert resolves only after an hour clear
            count[now] = count.get(now, 0) + 1
        quiet = 0 if now else quiet + 1
    return count


def summary(delays: list[float | None], floors: list[float], varied: list[float]
            ) -> tuple[str, str, str, str, str, str, str]:
    """Median and p90 delay over every incident, a miss counting as never (so a detector cannot
    look fast by missing the hard cases), their ratio to the median floor, and recall."""
    ordered = sorted(math.inf if d is None else d for d in delays)
    median, p90 = statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    floor = statistics.median(floors)
    hit = sum(d is not None for d in delays)

    def show(value: float) -> str:
        return "never" if math.isinf(value) else f"{value:.2f}"
    floor_varied = statistics.median(varied)
    return show(median), show(p90), "-" if math.isinf(median) else f"{median / floor:.2f}", f"{floor:.2f}", \
        f"{hit}/{len(delays)}", f"{floor_varied:.2f}", "-" if math.isinf(median) else f"{median / floor_varied:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--sellers", type=int, default=4)
    parser.add_argument("--starts", type=int, default=168, help="incident start hours per size and kind")
    parser.add_argument("--quiet-days", type=float, default=60, help="incident-free days per seller")
    parser.add_argument("--compare", action="store_true", help="also the previous and the naive detector")
    parser.add_argument("--demand", default="regular", help="the simulator's demand model: regular or irregular")
    args = parser.parse_args()
    began = time.perf_counter()
    sizes = [float(s) for s in args.sizes.split(",")]
    detectors = ["ours", "previous", "naive"] if args.compare else ["ours"]
    span = HISTORY.days + args.starts * 25 / 24 + 12
    print(f"{'orders/day':>10} {'incident':<12} {'detector':<9} {'floor h':>8} {'median h':>9} {'p90 h':>7} "
          f"{'ratio':>6} {'recall':>8} {'varied floor h':>15} {'ratio':>6}")
    for volume in sizes:
        sellers = [seller(volume, 7000 + s, max(span, HISTORY.days + args.quiet_days), {"demand": args.demand})
                   for s in range(args.sellers)]
        step = 60.0 if volume >= 1000 else 300.0 if volume >= 100 else 900.0
        for kind, share in KINDS.items() if args.starts else ():
            onsets = [sellers[0].start + HISTORY.total_seconds() + 3600 * 25 * k for k in range(args.starts)]
            floors = [floor_hours(volume, t, share) for t in onsets]
            varied = [varied_floor_hours(volume, t, share) for t in onsets]
            for detector in detectors:
                delays = []
                for k, onset in enumerate(onsets):
                    s = sellers[k % len(sellers)]
                    horizon = min(max(3 * floors[k], 6.0), 14 * 24) * 3600
                    delays.append(first_alarm(s.stream(onset, share), s.start, onset, horizon, step, detector))
                median, p90, ratio, floor, recall, floor_varied, ratio_varied = summary(delays, floors, varied)
                print(f"{volume:>10.0f} {kind:<12} {detector:<9} {floor:>8} {median:>9} {p90:>7} {ratio:>6} "
                      f"{recall:>8} {floor_varied:>15} {ratio_varied:>6}", flush=True)
        for detector in detectors:
            kinds: dict[str, int] = {}
            for s in sellers:
                for kind, n in openings(s.times, s.start, s.start + HISTORY.total_seconds(), args.quiet_days,
                                        detector).items():
                    kinds[kind] = kinds.get(kind, 0) + n
            alarms, months = sum(kinds.values()), len(sellers) * args.quiet_days / 30
            print(f"{volume:>10.0f} {'no incident':<12} {detector:<9} false alarms {alarms} in {months:.0f} "
                  f"account-months = {alarms / months:.2f} per account-month {kinds}", flush=True)
    print(f"took {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
