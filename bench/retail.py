"""`detect` on a real seller's product series, beside a plain Poisson CUSUM measured the same
way. Prints a table; not a test. Figures are recorded in docs/DETECTION.md.

    .venv/bin/python bench/retail.py [--products 200] [--groups 10] [--budget 0.2] [--jobs 2] [--least 0]

The data: the daily orders of the 200 products a UK online retailer sold on the most days
(UCI "Online Retail", 2010-12-01 .. 2011-12-09; `bench/data/SOURCE.md`). The shop does not trade
on Saturdays (learnt as a closed weekday) and was shut over Christmas, on the UK bank holidays
and on Easter Sunday: those days are given as the shop's own closed days, as a seller would give
them.
Few products sell 5 or more a day, so `--groups` of 2, 3, 4 and 6 products drawn at random
(seeded) are added up into series of 5-20 orders a day, as a small seller's shop adds up its
products, with the real data's own day-to-day variation.

Per product: false alarms on the clean series (episodes per series-month after eight weeks of
warm-up); then copies with a stop, or a fall to 30% or 50% (orders thinned binomially) for 14
days from an onset every 21 days of the second half of the year. A detection is the first
falling episode detected within 7 days of the onset, wherever it places its own onset (a stop
of a slow product begins at its last order, often a quiet day before the injected onset), as
the CUSUM's first alarm in that week is; its delay counts from the onset. The
causal check: in how many copies the episodes detected before the onset differ from the clean
series' (0 if `detect` judges each day only on what came before it).

The CUSUM baseline: each day's usual orders is the mean of the same weekday over the previous
four weeks (closed days left out); S = max(0, S + (1 - r) * usual + x * ln r) with r = 0.5,
restarted after each alarm, run from the end of the warm-up; its threshold is set for each band
of orders a day so that its false alarms on the band's clean series are as many as `detect`'s
(or the nearest number below), and it is then scored on the same copies. "difference" is
`detect`'s share found minus the CUSUM's on the same copies, with its standard error (clustered
by series: the copies of one series are not independent).
"""
from __future__ import annotations

import argparse
import csv
import gzip
import multiprocessing
import statistics
import sys
import time
import zlib
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cusum import cusum_alarms, cusum_steps, matched_threshold  # noqa: E402
from rules import detect  # noqa: E402

DATA = Path(__file__).resolve().parent / "data" / "online_retail_daily_by_product.csv.gz"
FIRST = date(2010, 12, 1)
CLOSED = frozenset([FIRST + timedelta(days=k) for k in range((date(2011, 1, 3) - FIRST).days + 1)
                    if FIRST + timedelta(days=k) >= date(2010, 12, 24)]
                   + [date(2011, 4, 22), date(2011, 4, 24), date(2011, 4, 25), date(2011, 4, 29), date(2011, 5, 2), date(2011, 5, 30),
                      date(2011, 8, 29)])
WARMUP = 56  # days before anything is scored
INCIDENTS = {"stop": 0.0, "fall to 30%": 0.3, "fall to 50%": 0.5}
LENGTH, WITHIN, EVERY = 14, 7, 21
BANDS = ((0.0, 1.0, "under 1"), (1.0, 5.0, "1-5"), (5.0, 20.0, "5-20"), (20.0, 1e9, "20+"))
GROUP_SIZES = (2, 3, 4, 6)


def load(limit: int) -> dict[str, np.ndarray]:
    days = (date(2011, 12, 9) - FIRST).days + 1
    series: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(days))
    with gzip.open(DATA, "rt", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            series[row["stock_code"]][(date.fromisoformat(row["date"]) - FIRST).days] = float(row["orders"])
    ranked = sorted(series, key=lambda code: -(series[code] > 0).sum())
    return {code: series[code] for code in ranked[:limit]}


def grouped(products: dict[str, np.ndarray], per_size: int) -> dict[str, np.ndarray]:
    """Sums of products drawn at random: series of a few products' orders together."""
    rng = np.random.default_rng(11)
    codes = list(products)
    groups = {}
    for size in GROUP_SIZES:
        for _ in range(per_size):
            picked = [codes[i] for i in rng.choice(len(codes), size, replace=False)]
            groups["+".join(picked)] = np.sum([products[c] for c in picked], axis=0)
    return groups


def trading(values: np.ndarray) -> np.ndarray:
    day = [FIRST + timedelta(days=k) for k in range(len(values))]
    return np.array([d.weekday() != 5 and d not in CLOSED for d in day])


def episodes(values: np.ndarray, budget: float) -> list[tuple[int, int]]:
    """(onset day, detected day) of each falling episode `detect` reports."""
    start = datetime.combine(FIRST, datetime.min.time(), timezone.utc)
    found = detect.detect(detect.TimeSeries(start, timedelta(days=1), values), "count", timezone.utc, ("down",),
                          budget, closed=CLOSED)
    return [((e.onset - start).days, (e.detected - start).days - 1) for e in found]


def steps(values: np.ndarray) -> np.ndarray:
    """The CUSUM's (bench/cusum.py) daily increments on a product's orders, closed days not judged."""
    return cusum_steps(np.where(trading(values), values, np.nan), 7)


def cusum(values: np.ndarray, h: float) -> list[int]:
    """Days after the warm-up on which the CUSUM alarms."""
    return cusum_alarms(steps(values), h, WARMUP)


def onsets(length: int) -> list[int]:
    return list(range(length // 2, length - LENGTH, EVERY))


def injected(values: np.ndarray, onset: int, factor: float, rng: np.random.Generator) -> np.ndarray:
    copy = values.copy()
    span = slice(onset, onset + LENGTH)
    copy[span] = rng.binomial(copy[span].astype(int), factor) if factor > 0 else 0.0
    return copy


Copy = tuple[str, int, np.ndarray, int | None, list[tuple[int, int]]]  # kind, onset, series, delay, episodes before


def judged(job: tuple[str, np.ndarray, float]) -> tuple[str, list[tuple[int, int]], list[Copy]]:
    """One series: detect's episodes on the clean series, and on each copy its delay."""
    code, values, budget = job
    rng = np.random.default_rng(zlib.crc32(code.encode()))
    open_ = trading(values)
    copies: list[Copy] = []
    for onset in onsets(len(values)):
        if not open_[onset:onset + WITHIN].any():
            continue
        for kind, factor in INCIDENTS.items():
            copy = injected(values, onset, factor, rng)
            found = episodes(copy, budget)
            delay = next((seen - onset for _, seen in found if onset <= seen < onset + WITHIN), None)
            copies.append((kind, onset, copy, delay, [e for e in found if e[1] < onset]))
    return code, episodes(values, budget), copies


def difference(by_series: dict[str, list[int]]) -> str:
    """detect's recall minus the CUSUM's on the same copies, with its standard error (copies of
    one series are not independent: the error is clustered by series)."""
    totals = np.array([sum(d) for d in by_series.values()], dtype=float)
    sizes = np.array([len(d) for d in by_series.values()], dtype=float)
    if len(totals) < 2:
        return "-"
    mean = totals.sum() / sizes.sum()
    error = np.sqrt(((totals - mean * sizes) ** 2).sum() * len(totals) / (len(totals) - 1)) / sizes.sum()
    return f"{mean:+.2f} \u00b1 {error:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--groups", type=int, default=10, help="sums of 2, 3, 4 and 6 products, of each size")
    parser.add_argument("--budget", type=float, default=0.2, help="detect's false alarms per month")
    parser.add_argument("--jobs", type=int, default=2, help="processes")
    parser.add_argument("--least", type=float, default=0.0,
                        help="judge only series of at least this many orders a trading day (5: the 5-20 cell alone)")
    args = parser.parse_args()
    began = time.perf_counter()
    products = load(args.products)
    series = {code: values for code, values in {**products, **grouped(products, args.groups)}.items()
              if values[trading(values)].mean() >= args.least}
    with multiprocessing.Pool(args.jobs) as pool:
        results = pool.map(judged, [(code, values, args.budget) for code, values in series.items()])
    months = 0.0
    band_of: dict[str, str] = {}
    false_detect: dict[str, int] = defaultdict(int)
    band_months: dict[str, float] = defaultdict(float)
    for code, clean, _ in results:
        values = series[code]
        rate = float(values[trading(values)].mean())
        band_of[code] = next(label for lo, hi, label in BANDS if lo <= rate < hi)
        span = (len(values) - WARMUP) / 30
        months += span
        band_months[band_of[code]] += span
        false_detect[band_of[code]] += sum(1 for _, seen in clean if seen >= WARMUP)
    # The CUSUM's threshold, one per band (as a seller would tune it for the shop's size): as many
    # false alarms on the band's clean series as detect's.
    threshold: dict[str, float] = {}
    false_cusum: dict[str, int] = defaultdict(int)
    bands = [label for _, _, label in BANDS if label in band_of.values()]
    for label in bands:
        band = [steps(values) for code, values in series.items() if band_of[code] == label]
        threshold[label] = matched_threshold(band, WARMUP, false_detect[label])
        false_cusum[label] = sum(len(cusum_alarms(s, threshold[label], WARMUP)) for s in band)
    hits: dict[tuple[str, str, str], list[float | None]] = defaultdict(list)
    paired: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    causal_breaks = copies = 0
    for code, clean, judged_copies in results:
        for kind, onset, copy, delay, before in judged_copies:
            copies += 1
            causal_breaks += before != [e for e in clean if e[1] < onset]
            hits[(band_of[code], kind, "detect")].append(delay)
            alarm = next((day - onset for day in cusum(copy, threshold[band_of[code]])
                          if onset <= day < onset + WITHIN), None)
            hits[(band_of[code], kind, "cusum")].append(alarm)
            paired[(band_of[code], kind)][code].append((delay is not None) - (alarm is not None))
    kept = sum(code in series for code in products)
    print(f"{kept} products and {len(series) - kept} groups of them, {months:.0f} series-months after warm-up")
    print(f"{'orders a day':<14}{'series':>7}{'false/month detect':>20}{'CUSUM':>8}{'its threshold':>15}")
    for label in bands:
        n = sum(1 for b in band_of.values() if b == label)
        m = band_months[label] or 1
        print(f"{label:<14}{n:>7}{false_detect[label] / m:>20.2f}{false_cusum[label] / m:>8.2f}{threshold[label]:>15.2f}")
    print(f"\n{'orders a day':<14}{'incident':<14}{'detect: found in 7 d / median d':>34}{'CUSUM':>22}"
          f"{'difference':>18}")
    for label in bands:
        for kind in INCIDENTS:
            cells = []
            for method in ("detect", "cusum"):
                delays = hits[(label, kind, method)]
                found = [d for d in delays if d is not None]
                cells.append(f"{len(found) / len(delays):.2f} / {statistics.median(found):.0f} d" if found
                             else "0.00 / -")
            print(f"{label:<14}{kind:<14}{cells[0]:>34}{cells[1]:>22}{difference(paired[(label, kind)]):>18}")
    print(f"\ncausal check: {causal_breaks} of {copies} copies have alarms before the onset that differ from "
          f"the clean series'")
    print(f"took {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
