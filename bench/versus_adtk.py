"""Speed of `detect`'s detectors against ADTK's PersistAD on the same series. Prints a table;
not a test. Figures are recorded in docs/PERFORMANCE.md.

    .venv/bin/python bench/versus_adtk.py [--adtk-python PATH] [--repeat 5]

Series: a year of daily and a year of hourly order counts, and a year of hourly levels,
from the simulator. Ours is the whole causal run of `rules.detect.detect` (learning the
intensity day by day, the change scans at every point, the stop detector, the episodes).
ADTK needs pandas < 2 (0.6.2 fails on pandas 2), so it runs in its own interpreter, e.g. a
venv made with `python -m venv ../adtk-venv && ../adtk-venv/bin/pip install adtk "pandas<2"
"numpy<2"`; its time is `PersistAD(window=24 or 7, c=3, side="both").fit_detect` alone,
imports excluded. Medians of `--repeat` runs, CPU time.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.simulator import Scenario, World  # noqa: E402
from monitor.simulator.world import MSK  # noqa: E402
from rules.detect import TimeSeries, detect  # noqa: E402

START = datetime(2025, 11, 3, tzinfo=MSK)
ADTK = """
import sys, time, json
import pandas as pd
from adtk.data import validate_series
from adtk.detector import PersistAD
series = pd.read_csv(sys.argv[1], index_col=0, parse_dates=True).iloc[:, 0].astype(float)
series = validate_series(series)
times = []
for _ in range(int(sys.argv[3])):
    began = time.process_time()
    PersistAD(window=int(sys.argv[2]), c=3.0, side="both").fit_detect(series)
    times.append(time.process_time() - began)
print(json.dumps(sorted(times)[len(times) // 2]))
"""


def make_series() -> dict[str, tuple[TimeSeries, str, int]]:
    world = World(Scenario(seed=12, skus=150, orders_per_day=300))
    end = START + timedelta(days=365)
    stamps = np.array([o.created_at.timestamp() for o in world.orders(START, end, end)])
    found = {}
    for name, step, window in (("daily counts", 86400, 7), ("hourly counts", 3600, 24)):
        bins = int(365 * 86400 // step)
        counts = np.bincount(((stamps - START.timestamp()) // step).astype(int), minlength=bins)[:bins]
        found[name] = (TimeSeries(START, timedelta(seconds=step), counts.astype(float)), "count", window)
    hourly = found["hourly counts"][0].values
    revenue = hourly * 1500 + np.random.default_rng(1).normal(0, 500, len(hourly))
    found["hourly levels"] = (TimeSeries(START, timedelta(hours=1), revenue), "level", 24)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--adtk-python", help="an interpreter with adtk and pandas < 2 installed")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'series':<15}{'points':>8}{'ours s':>9}{'ADTK s':>9}{'ADTK / ours':>13}")
    for name, (series, kind, window) in make_series().items():
        times = []
        for _ in range(args.repeat):
            began = time.process_time()
            detect(series, kind, MSK)  # type: ignore[arg-type]
            times.append(time.process_time() - began)
        ours = statistics.median(times)
        theirs = "-"
        ratio = "-"
        if args.adtk_python:
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "series.csv"
                index = [(series.start + series.step * i).astimezone(timezone.utc).replace(tzinfo=None).isoformat()
                         for i in range(len(series.values))]
                path.write_text("timestamp,value\n" + "".join(f"{t},{v}\n" for t, v in zip(index, series.values)))
                done = subprocess.run([args.adtk_python, "-c", ADTK, str(path), str(window), str(args.repeat)],
                                      capture_output=True, text=True, check=True)
                seconds = json.loads(done.stdout)
            theirs, ratio = f"{seconds:.3f}", f"{seconds / ours:.2f}"
        print(f"{name:<15}{len(series.values):>8}{ours:>9.3f}{theirs:>9}{ratio:>13}")


if __name__ == "__main__":
    main()
