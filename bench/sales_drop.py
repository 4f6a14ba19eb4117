"""False alarms and detection delay of sales_drop on simulated sellers. Prints numbers; not a test.

    .venv/bin/python bench/sales_drop.py [--sellers 40] [--days 14]

Quiet months: sellers of 30, 120 and 400 orders/day with 15% day-to-day variation, checked every
5 hours over `--days`. Stops: a full sales stop at varying hours, checked every 20 minutes for a
day; delay is from the stop to the first check that fires.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.simulator import Incident, Scenario, World  # noqa: E402
from rules import AccountData, Order  # noqa: E402
from rules.sales import SalesDropConfig, sales_drop  # noqa: E402

START = datetime(2026, 11, 16, 0, 0, tzinfo=timezone.utc)
HISTORY = timedelta(days=35)


def fires(world: World, now: datetime, config: SalesDropConfig) -> bool:
    orders = [Order(o.posting_number, o.created_at, (o.sku,)) for o in world.orders(now - HISTORY, now, now)]
    return bool(sales_drop(AccountData("bench", 1, now, orders, now - HISTORY), config))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sellers", type=int, default=40)
    parser.add_argument("--days", type=int, default=14)
    args = parser.parse_args()
    config = SalesDropConfig()

    alarms = checks = 0
    for seed in range(args.sellers):
        world = World(Scenario(seed=500 + seed, orders_per_day=[30, 120, 400][seed % 3], day_noise=0.15))
        for hours in range(0, args.days * 24, 5):
            checks += 1
            alarms += fires(world, START + timedelta(hours=hours), config)
    print(f"quiet data: {alarms} false alarms in {checks} checks "
          f"({args.sellers} sellers x {args.days} days)")

    print(f"{'orders/day':>10} {'recall':>7} {'median h':>9} {'max h':>6}")
    for volume in (50, 150, 400):
        delays: list[float | None] = []
        for seed in range(30):
            stop = START + timedelta(hours=seed * 5)
            world = World(Scenario(seed=900 + seed, orders_per_day=volume, incidents=[Incident("sales_stop", start=stop)]))
            delays.append(next((m / 60 for m in range(20, 24 * 60, 20)
                                if fires(world, stop + timedelta(minutes=m), config)), None))
        found = [d for d in delays if d is not None]
        print(f"{volume:>10} {len(found) / len(delays):>7.2f} {statistics.median(found):>9.1f} {max(found):>6.1f}")


if __name__ == "__main__":
    main()
