"""Falls found after an earlier incident: the retail series of 5 or more orders a day
(bench/retail.py), each copy with a fall to half for 14 days from an onset every 21 days of the
second half-year, and 21 days before it an earlier fall to `--earlier` of the orders for 5 days
(1 = none). Prints the share found within 7 days; not a test. Figures are in docs/DETECTION.md
("Slow days").

    .venv/bin/python bench/after_incident.py [--earlier 0.3] [--budget 0.2] [--jobs 2]

The earlier fall's days stay in the history the baseline learns from: what they cost the next
fall's recall is what this measures.
"""
from __future__ import annotations

import argparse
import multiprocessing
import sys
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import retail  # noqa: E402

BEFORE, EARLY_DAYS = 21, 5


def found(job: tuple[str, np.ndarray, float, float]) -> tuple[int, int]:
    """(copies whose fall was found within 7 days, copies) of one series."""
    code, values, earlier, budget = job
    rng = np.random.default_rng(zlib.crc32(code.encode()))
    open_ = retail.trading(values)
    hits = total = 0
    for onset in retail.onsets(len(values)):
        if not open_[onset:onset + retail.WITHIN].any():
            continue
        copy = values.copy()
        early = slice(onset - BEFORE, onset - BEFORE + EARLY_DAYS)
        copy[early] = rng.binomial(copy[early].astype(int), earlier)
        copy = retail.injected(copy, onset, 0.5, rng)
        total += 1
        hits += any(onset <= seen < onset + retail.WITHIN for _, seen in retail.episodes(copy, budget))
    return hits, total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--earlier", type=float, default=0.3, help="the earlier fall leaves this share (1: none)")
    parser.add_argument("--budget", type=float, default=0.2, help="detect's false alarms per month")
    parser.add_argument("--jobs", type=int, default=2, help="processes")
    args = parser.parse_args()
    products = retail.load(200)
    series = {code: values for code, values in {**products, **retail.grouped(products, 10)}.items()
              if values[retail.trading(values)].mean() >= 5}
    with multiprocessing.Pool(args.jobs) as pool:
        results = pool.map(found, [(code, values, args.earlier, args.budget) for code, values in series.items()])
    hits, total = sum(h for h, _ in results), sum(t for _, t in results)
    print(f"{len(series)} series of 5 or more orders a day: a fall to half {BEFORE} days after a {EARLY_DAYS}-day fall "
          f"to {args.earlier:.0%}: found within 7 days in {hits} of {total} copies ({hits / total:.2f})")


if __name__ == "__main__":
    main()
