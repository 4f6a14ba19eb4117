"""Requests the monitor sends per cycle, per Seller API method, for the demo seller (300 SKUs,
~200 orders/day): the first run (backfill), the next cycle, and the hourly and three-hourly
cycles when slower sources come due. Prints a table; not a test.

    .venv/bin/python bench/requests.py [--history-days 60]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.config import load_config  # noqa: E402
from monitor.cycle import run_cycle  # noqa: E402
from monitor.simulator import Scenario, Simulator, SimulatorServer, World  # noqa: E402

START = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)
CYCLES = [("first run", timedelta(0)), ("+10 min", timedelta(minutes=10)), ("+20 min", timedelta(minutes=20)),
          ("+1 h", timedelta(hours=1)), ("+3 h", timedelta(hours=3))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--history-days", type=int, default=60)
    args = parser.parse_args()
    clock = {"now": START}
    with SimulatorServer(Simulator(World(Scenario()), clock=lambda: clock["now"])) as server, \
            tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "key").write_text("demo-key")
        config = Path(folder) / "config.toml"
        config.write_text(f'[monitor]\nstate_dir = "state"\nhistory_days = {args.history_days}\n'
                          f'[[accounts]]\nname = "bench"\nclient_id = 123456\napi_key_file = "key"\n'
                          f'base_url = "{server.base_url}"\n')
        settings = load_config(config)
        columns: list[tuple[str, Counter[str], float]] = []
        for label, offset in CYCLES:
            clock["now"] = START + offset
            before = len(server.simulator.requests)
            started = time.perf_counter()
            run_cycle(settings, "bench", now=clock["now"])
            seconds = time.perf_counter() - started
            columns.append((label, Counter(m for m, _ in server.simulator.requests[before:]), seconds))
    methods = sorted({m for _, counts, _ in columns for m in counts})
    print(f"{'method':<36}" + "".join(f"{label:>11}" for label, _, _ in columns))
    for method in methods:
        print(f"{method:<36}" + "".join(f"{counts[method]:>11}" for _, counts, _ in columns))
    print(f"{'total requests':<36}" + "".join(f"{sum(c.values()):>11}" for _, c, _ in columns))
    print(f"{'cycle seconds (simulator in-process)':<36}" + "".join(f"{s:>11.1f}" for _, _, s in columns))


if __name__ == "__main__":
    main()
