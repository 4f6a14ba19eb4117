"""Detection on demand as uneven as real shops': the simulator's `demand = "irregular"` world,
series as sellers export them (daily and hourly orders of the shop and of its top SKUs), with
drops, level shifts and ramps injected. Prints a table; not a test. Figures are recorded in
docs/DETECTION.md.

    .venv/bin/python bench/real.py [--sellers 4] [--sizes 20,100,500]

Each series is judged by `ozon-monitor detect`'s count detector (the live rules' intensity and
change scan) at the default budget of 0.2 false alarms per series-month. An incident is found
when a falling episode is detected within 7 days of its start. The clean series give the false
alarms. A series is "findable" when the information its usual volume carries in 7 days (the
Poisson Kullback-Leibler rate of the fall, discounted for the series' own day-to-day
variation) reaches Lorden's ln(looks a month / budget); recall is reported for those and
for all.

Beside it, a plain Poisson CUSUM for a fall to half against the mean of the same position over
the previous four weeks (weekday for daily series, hour of the week for hourly ones), restarted
after each alarm, its threshold set so that its false alarms on the clean series equal
`detect`'s, scored on the same copies the same way.
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cusum import cusum_alarms, cusum_steps, matched_threshold  # noqa: E402
from monitor.simulator import Scenario, World  # noqa: E402
from monitor.simulator.world import MSK  # noqa: E402
from rules import intensity  # noqa: E402
from rules.detect import TimeSeries, count_episodes  # noqa: E402

BEGIN = datetime(2026, 3, 2, tzinfo=MSK)  # series in local days, as exports are
DAYS, ONSET_DAY = 120, 100
BUDGET = 0.2
INCIDENTS = {  # share of normal demand, days after the onset -> factor
    "drop to half for 7 days": lambda d: np.where(d < 7, 0.5, 1.0),
    "level shift to 60%": lambda d: np.full_like(d, 0.6),
    "ramp down to 30% over 10 days": lambda d: np.clip(1 - 0.07 * d, 0.3, 1.0),
}


LOOKS_PER_MONTH = {"daily": 30, "hourly": 720}


def information_per_day(usual: float, dispersion: float, factor) -> float:
    """Nats a day that tell the fallen demand from the usual, over the first 7 days: the
    Poisson Kullback-Leibler rate, scaled down by how much more than Poisson whole days vary
    (Gaussian approximation of the negative binomial)."""
    shares = np.clip(factor(np.linspace(0, 7, 50)), 1e-6, None)
    poisson = float(np.mean(shares * np.log(shares) - shares + 1)) * usual
    return poisson / (1 + dispersion**2 * usual)


def series(times: np.ndarray, step: float, start: float, bins: int) -> np.ndarray:
    index = ((times - start) // step).astype(np.int64)
    return np.bincount(index[(index >= 0) & (index < bins)], minlength=bins).astype(float)


def judge(times: np.ndarray, step: float) -> list:
    start = BEGIN.timestamp()
    bins = int(DAYS * 86400 // step)
    counts = series(times, step, start, bins)
    return count_episodes(TimeSeries(BEGIN, timedelta(seconds=step), counts), MSK, ("down",), BUDGET, 0.3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="20,100,500")
    parser.add_argument("--sellers", type=int, default=4)
    parser.add_argument("--skus", type=int, default=5, help="top SKUs per seller judged as their own series")
    args = parser.parse_args()
    began = time.perf_counter()
    onset = BEGIN.timestamp() + ONSET_DAY * 86400
    rows: dict[tuple[str, str], list[tuple[bool, bool]]] = {}
    false_alarms: dict[str, list[int]] = {"daily": [], "hourly": []}
    volumes: list[tuple[float, float, float]] = []
    clean_steps: dict[str, list[np.ndarray]] = {"daily": [], "hourly": []}
    copies: dict[tuple[str, str], list[np.ndarray]] = {}
    for size in map(float, args.sizes.split(",")):
        for seller in range(args.sellers):
            world = World(Scenario(seed=9000 + seller + int(size), skus=150, orders_per_day=size, demand="irregular"))
            end = BEGIN + timedelta(days=DAYS)
            orders = world.orders(BEGIN, end, end)
            times = np.array([o.created_at.timestamp() for o in orders])
            thin = np.array([o.u_thin for o in orders])
            skus = np.array([o.sku for o in orders])
            top = [s for s, _ in sorted(((s, (skus == s).sum()) for s in set(skus.tolist())), key=lambda r: -r[1])]
            for name, mask in [("shop", np.ones(len(times), bool))] + [(f"sku{s}", skus == s) for s in top[:args.skus]]:
                t, u = times[mask], thin[mask]
                daily = series(t, 86400, BEGIN.timestamp(), DAYS)
                dispersion = intensity.learn(daily[:ONSET_DAY + 1], BEGIN.timestamp(), 86400, MSK).dispersion
                usual = float(np.median(daily[ONSET_DAY - 28:ONSET_DAY]))
                cv = float(np.std(daily[:ONSET_DAY]) / max(np.mean(daily[:ONSET_DAY]), 1e-9))
                volumes.append((usual, cv, 1.0 if name == "shop" else 0.0))
                for label, step in (("daily", 86400.0), ("hourly", 3600.0)):
                    false_alarms[label].append(len(judge(t, step)))
                    period = int(7 * 86400 // step)
                    bins = int(DAYS * 86400 // step)
                    clean_steps[label].append(cusum_steps(series(t, step, BEGIN.timestamp(), bins), period))
                    for kind, factor in INCIDENTS.items():
                        days_after = (t - onset) / 86400
                        keep = (t < onset) | (u < factor(np.maximum(days_after, 0)))
                        episodes = judge(t[keep], step)
                        found = any(onset <= e.detected.timestamp() <= onset + 7 * 86400 for e in episodes)
                        findable = 7 * information_per_day(usual, dispersion, factor) >= \
                            math.log(LOOKS_PER_MONTH[label] / BUDGET)
                        rows.setdefault((kind, label), []).append((found, findable))
                        copies.setdefault((kind, label), []).append(
                            cusum_steps(series(t[keep], step, BEGIN.timestamp(), bins), period))
    thresholds = {}
    for label, step in (("daily", 86400.0), ("hourly", 3600.0)):
        first = int(14 * 86400 // step)  # as detect: the first 14 days are learnt, not judged
        thresholds[label] = (matched_threshold(clean_steps[label], first, sum(false_alarms[label])), first,
                             int(ONSET_DAY * 86400 // step), int(7 * 86400 // step))
    print(f"{'incident':<32}{'series':<8}{'recall (findable)':>20}{'recall (all)':>14}{'CUSUM (all)':>13}")
    for (kind, label), results in rows.items():
        of_findable = [f for f, ok in results if ok]
        h, first, at, week = thresholds[label]
        caught = sum(any(at <= a <= at + week for a in cusum_alarms(steps, h, first)) for steps in copies[(kind, label)])
        print(f"{kind:<32}{label:<8}{sum(of_findable):>9}/{len(of_findable):<10}{sum(f for f, _ in results):>7}/{len(results):<6}"
              f"{caught:>7}/{len(results):<6}")
    months = len(false_alarms["daily"]) * (DAYS - 14) / 30  # the first 14 days are learnt, not judged
    for label, counts in false_alarms.items():
        h, first, _, _ = thresholds[label]
        cusum = sum(len(cusum_alarms(steps, h, first)) for steps in clean_steps[label])
        print(f"incident-free {label}: {sum(counts)} false alarms in {months:.0f} series-months = "
              f"{sum(counts) / months:.2f} per series-month (CUSUM at h = {h:.2f}: {cusum / months:.2f})")
    shops = [cv for _, cv, shop in volumes if shop]
    items = [cv for _, cv, shop in volumes if not shop]
    print(f"day-to-day CV: shops median {statistics.median(shops):.2f} ({min(shops):.2f}-{max(shops):.2f}), "
          f"top SKUs median {statistics.median(items):.2f} ({min(items):.2f}-{max(items):.2f})")
    print(f"took {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
