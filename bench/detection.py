"""Detection quality of the rules on seeded simulator scenarios with ground truth. Prints a
table; not a test. Figures are recorded in docs/DETECTION.md.

    .venv/bin/python bench/detection.py [--seeds 4] [--quiet-sellers 3] [--quiet-days 30]

For every incident kind, scenarios at two sizes of seller (40 and 200 orders/day) with the
incident starting at varying hours; the rules run as the monitor would, every `step` after the
start, on the world as it stands at that moment. A detection is the first alert of the
expected rule on the expected entity; its delay counts from the incident's start. Incident-free
months give the false alarms per account-month (new alerts of any rule). The naive baseline for
sales is "orders so far today below 50% of yesterday's by the same hour"; ADTK's detectors are
tried where the package imports and runs.
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.simulator import Incident, Scenario, World  # noqa: E402
from monitor.simulator.snapshot import account_data  # noqa: E402
from monitor.simulator.world import BASE_RETURN_RATE, HOUR_PROFILE, MSK, WEEKDAY_FACTOR  # noqa: E402
import numpy as np  # noqa: E402

from rules import RULES, AccountData, Finding, Order, intensity, run_rules  # noqa: E402
from rules.sales import sales_drop  # noqa: E402

START = datetime(2026, 11, 2, 0, 0, tzinfo=timezone.utc)  # a Monday
CONFIGS = {name: rule.Config() for name, rule in RULES.items()}
VOLUMES = [20, 40, 200, 600]  # orders a day of the incident-free sellers


@dataclass(frozen=True)
class Case:
    """An incident kind, how to script it, which rule should catch it, and how to look."""

    kind: str
    rule: str
    make: Callable[[datetime, int], Incident]  # (start, busy SKU) -> incident
    step: timedelta
    horizon: timedelta
    per_sku: bool = False
    subscription: str = "PREMIUM_LITE"


CASES = [
    Case("sales_stop (shop)", "sales_drop", lambda t, s: Incident("sales_stop", start=t), timedelta(minutes=30),
         timedelta(hours=24)),
    Case("sales_drop to 30% (shop)", "sales_drop", lambda t, s: Incident("sales_drop", start=t, factor=0.3),
         timedelta(hours=1), timedelta(hours=48)),
    Case("sales_stop (one SKU)", "sales_stopped", lambda t, s: Incident("sales_stop", start=t, skus=(s,)),
         timedelta(hours=2), timedelta(days=4), per_sku=True),
    Case("returns_spike 40% (one SKU)", "returns_spike",
         lambda t, s: Incident("returns_spike", start=t, skus=(s,), rate=0.4), timedelta(hours=12),
         timedelta(days=21), per_sku=True),
    Case("late_shipments", "shipment_deadline", lambda t, s: Incident("late_shipments", start=t),
         timedelta(hours=1), timedelta(hours=48)),
    Case("seller_cancellations 10%", "cancellations", lambda t, s: Incident("seller_cancellations", start=t, rate=0.1),
         timedelta(hours=12), timedelta(days=14)),
    Case("stock_out (one SKU)", "stock_out", lambda t, s: Incident("stock_out", start=t, skus=(s,), days_left=10),
         timedelta(hours=6), timedelta(days=10), per_sku=True),
    Case("card_blocked (one SKU)", "card_problems", lambda t, s: Incident("card_blocked", start=t, skus=(s,)),
         timedelta(minutes=30), timedelta(hours=6), per_sku=True),
    Case("rating_slide over 10 days", "rating_risk",
         lambda t, s: Incident("rating_slide", start=t, rating="rating_on_time", days=10), timedelta(hours=12),
         timedelta(days=12)),
    Case("commission_jump to 25%", "finance_anomaly", lambda t, s: Incident("commission_jump", start=t, factor=0.25),
         timedelta(hours=6), timedelta(days=5)),
    Case("key_expiry in 10 days", "api_access", lambda t, s: Incident("key_expiry", start=t, days_left=10),
         timedelta(hours=6), timedelta(days=10)),
    Case("views of one SKU fall to 30%", "traffic_drop",
         lambda t, s: Incident("traffic_drop", start=t, skus=(s,), factor=0.3), timedelta(hours=6),
         timedelta(days=3), per_sku=True, subscription="PREMIUM_PLUS"),
    Case("5% of parcels lost", "stuck_in_delivery", lambda t, s: Incident("lost_parcels", start=t, rate=0.05),
         timedelta(hours=12), timedelta(days=20)),
    Case("10% of FBO postings stuck", "stuck_in_delivery",
         lambda t, s: Incident("fbo_stuck_delivering", start=t, rate=0.1), timedelta(hours=12), timedelta(days=20)),
    Case("fines on 5% of postings", "charges", lambda t, s: Incident("charges", start=t, rate=0.05),
         timedelta(hours=6), timedelta(days=5)),
    Case("half the returns await a decision", "return_decisions",
         lambda t, s: Incident("return_decisions", start=t, rate=0.5), timedelta(hours=3), timedelta(days=5)),
    Case("returns left at the pick-up place", "returns_storage",
         lambda t, s: Incident("returns_storage", start=t, days_left=10), timedelta(hours=6), timedelta(days=6)),
    Case("surplus of one SKU to take away", "stock_health",
         lambda t, s: Incident("stock_health", start=t, skus=(s,), amount=20), timedelta(hours=3), timedelta(days=2),
         per_sku=True),
    Case("price index of one SKU turns red", "price_index",
         lambda t, s: Incident("price_index", start=t, skus=(s,), factor=0.8), timedelta(hours=3), timedelta(days=2),
         per_sku=True),
    Case("commission of one SKU +3 points", "tariffs",
         lambda t, s: Incident("tariffs", start=t, skus=(s,), points=3.0), timedelta(hours=3), timedelta(days=2),
         per_sku=True),
    Case("Ozon cancels 10% of postings", "ozon_cancellations",
         lambda t, s: Incident("ozon_cancellations", start=t, rate=0.1), timedelta(hours=2), timedelta(days=3)),
    Case("a promotion takes one SKU below its floor", "auto_promotions",
         lambda t, s: Incident("auto_promotions", start=t, skus=(s,)), timedelta(hours=3), timedelta(days=8),
         per_sku=True),
    Case("minimum prices lapse in 3 days", "price_guard",
         lambda t, s: Incident("price_guard", start=t, days_left=3), timedelta(hours=3), timedelta(days=4)),
    Case("supplies get acts of shortage", "acceptance_acts",
         lambda t, s: Incident("acceptance_acts", start=t, rate=0.1), timedelta(hours=3), timedelta(days=6)),
    Case("FBS hand-overs get acts of mismatch", "acceptance_acts",
         lambda t, s: Incident("acceptance_acts", start=t, scheme="fbs"), timedelta(hours=3), timedelta(days=3)),
    Case("supplies stuck in transit", "supplies_stuck", lambda t, s: Incident("supplies_stuck", start=t),
         timedelta(hours=6), timedelta(days=12)),
]


def busy_sku(world: World, rank: int) -> int:
    return sorted(world.products, key=lambda p: -p.weight)[rank].sku


def new_alerts(world: World, moments: list[datetime]) -> Iterator[tuple[datetime, Finding]]:
    """Alerts as the monitor would open them: a fingerprint that was not firing a step before."""
    firing: set[str] = set()
    for moment in moments:
        findings = run_rules(account_data(world, moment), CONFIGS, checked_at=moment).findings
        yield from ((moment, f) for f in findings if f.fingerprint not in firing)
        firing = {f.fingerprint for f in findings}


def naive_sales(world: World, moment: datetime) -> bool:
    """'Orders so far today below 50% of yesterday's by the same hour'."""
    local = moment.astimezone(MSK)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    today = len(world.orders(midnight, moment, moment))
    yesterday = len(world.orders(midnight - timedelta(days=1), moment - timedelta(days=1), moment))
    return yesterday >= 4 and today < 0.5 * yesterday


def adtk_sales(world: World, moment: datetime) -> bool | str:
    """ADTK's PersistAD on hourly orders (negative side); a string says why it could not run."""
    try:
        import pandas as pd
        from adtk.detector import PersistAD
    except ImportError:
        return "not installed (pip install adtk)"
    hours = pd.date_range(moment - timedelta(days=14), moment, freq="h", inclusive="left")
    counts = [len(world.orders(h.to_pydatetime(), (h + pd.Timedelta(hours=1)).to_pydatetime(), moment)) for h in hours]
    try:
        flags = PersistAD(window=24, c=3.0, side="negative").fit_detect(pd.Series(counts, index=hours, dtype=float))
    except Exception as exc:  # ADTK 0.6 breaks on pandas 2
        return f"fails: {type(exc).__name__}: {exc}"
    return bool(flags.iloc[-3:].fillna(False).any())


def floor_of(kind: str, world: World, sku: int, start: datetime) -> float | None:
    """Hours before any detector could tell this incident from chance at one false alarm a
    month: one SKU stopping, from its own rate (ln(720 * rate) orders due); a SKU's returns
    jumping, from the return delays of its orders since the start (the base returns due by
    then, times the Poisson Kullback-Leibler rate of the jump, reaching ln 720)."""
    hours = 24 * 40
    begin = start.replace(minute=0, second=0, microsecond=0)
    stamps = [begin + timedelta(hours=h) for h in range(hours)]
    share = world.by_sku[sku].weight
    if kind.startswith("sales_stop (one SKU)"):
        rate = np.array([world.scenario.orders_per_day * share * WEEKDAY_FACTOR[m.astimezone(MSK).weekday()]
                         * HOUR_PROFILE[m.astimezone(MSK).hour] for m in stamps])
        orders = intensity.stop_floor_orders(float(rate[:168].mean()))
        return intensity.hours_until_due(rate, begin.timestamp(), 3600, start.timestamp(), orders)
    if kind.startswith("returns_spike"):
        incident = world.incidents("returns_spike")[0]
        far = start + timedelta(days=60)
        back = sorted(world.status(o, far).delivered + timedelta(days=o.return_days)  # type: ignore[operator]
                      for o in world.orders(start, start + timedelta(days=30), far)
                      if o.sku == sku and world.status(o, far).delivered is not None)
        jump = incident.rate / BASE_RETURN_RATE
        needed = math.log(720) / (jump * math.log(jump) - jump + 1) / BASE_RETURN_RATE  # returnable orders
        index = math.ceil(needed) - 1
        return (back[index] - start) / timedelta(hours=1) if index < len(back) else None
    return None


def run_case(case: Case, seeds: int) -> dict[str, object]:
    delays, misses, false_in_runs, true_alerts, floors = [], 0, 0, 0, []
    naive_delays, adtk_delays, adtk_note = [], [], ""
    for seed in range(seeds):
        volume = 40 if seed % 2 else 200
        probe = World(Scenario(seed=1000 + seed, skus=150, orders_per_day=volume))
        sku = busy_sku(probe, 2 + seed % 3)
        start = START + timedelta(days=36, hours=7 + 5 * seed)
        incident = case.make(start, sku)
        world = World(Scenario(seed=1000 + seed, skus=150, orders_per_day=volume, incidents=[incident],
                               subscription=case.subscription))
        moments = [start + case.step * k for k in range(1, int(case.horizon / case.step) + 1)]
        found = None
        for moment, alert in new_alerts(world, [start - case.step] + moments):
            expected = alert.rule == case.rule and (not case.per_sku or sku in alert.affected_skus)
            if expected and moment > start:
                found = moment
                true_alerts += 1
                break  # later alerts of the same run are not needed
            if not expected and alert.rule == case.rule:
                false_in_runs += 1
        if found is None:
            misses += 1
        else:
            delays.append((found - start) / timedelta(hours=1))
        floor = floor_of(case.kind, world, sku, start)
        if floor is not None:
            floors.append(floor)
        if case.rule == "sales_drop":
            hit = next((m for m in moments if naive_sales(world, m)), None)
            naive_delays.append((hit - start) / timedelta(hours=1) if hit else None)
            if not adtk_note:
                verdicts = [(m, adtk_sales(world, m)) for m in moments[:: max(1, len(moments) // 12)]]
                note = next((v for _, v in verdicts if isinstance(v, str)), "")
                if note:
                    adtk_note = note
                else:
                    hit = next((m for m, v in verdicts if v is True), None)
                    adtk_delays.append((hit - start) / timedelta(hours=1) if hit else None)
    return {"delays": delays, "misses": misses, "runs": seeds, "false_in_runs": false_in_runs, "floors": floors,
            "true_alerts": true_alerts, "naive": naive_delays, "adtk": adtk_delays, "adtk_note": adtk_note}


def quiet_months(sellers: int, days: int, demand: str = "regular") -> tuple[dict[str, int], float]:
    """New alerts of every rule on incident-free sellers, checked every 3 hours."""
    counts: dict[str, int] = defaultdict(int)
    for seed in range(sellers):
        world = World(Scenario(seed=3000 + seed, skus=150, orders_per_day=VOLUMES[seed % len(VOLUMES)], demand=demand))
        moments = [START + timedelta(days=36, hours=3 * k) for k in range(days * 8)]
        for _, alert in new_alerts(world, moments):
            counts[alert.rule] += 1
    return counts, sellers * days / 30


def quiet_sales(sellers: int, days: int) -> tuple[int, int, float]:
    """Sales alarms on incident-free sellers checked every 20 minutes, as the daemon would:
    (sales_drop openings, naive baseline openings, account-months)."""
    ours = naive = 0
    for seed in range(sellers):
        world = World(Scenario(seed=4000 + seed, skus=150, orders_per_day=VOLUMES[seed % len(VOLUMES)]))
        was_ours = was_naive = False
        for k in range(days * 72):
            moment = START + timedelta(days=36, minutes=20 * k)
            orders = [Order(o.posting_number, o.created_at, (o.sku,))
                      for o in world.orders(moment - timedelta(days=35), moment, moment)]
            data = AccountData("bench", 1, moment, orders, moment - timedelta(days=35), tz=MSK)
            now_ours, now_naive = bool(sales_drop(data, CONFIGS["sales_drop"])), naive_sales(world, moment)
            ours += now_ours and not was_ours
            naive += now_naive and not was_naive
            was_ours, was_naive = now_ours, now_naive
    return ours, naive, sellers * days / 30


def stop_delay(volume: int, seed: int) -> float | None:
    """Hours from a daytime full stop to sales_drop firing (checked every 10 minutes), or None."""
    start = START + timedelta(days=36 + seed, hours=7 + seed % 8)  # 10:00-17:00 Moscow
    world = World(Scenario(seed=5000 + seed, skus=150, orders_per_day=volume,
                           incidents=[Incident("sales_stop", start=start)]))
    for k in range(1, 24 * 6 + 1):
        moment = start + timedelta(minutes=10 * k)
        orders = [Order(o.posting_number, o.created_at, (o.sku,))
                  for o in world.orders(moment - timedelta(days=35), moment, moment)]
        if sales_drop(AccountData("bench", 1, moment, orders, moment - timedelta(days=35), tz=MSK),
                      CONFIGS["sales_drop"]):
            return k / 6
    return None


def describe(delays: list[float | None]) -> str:
    hit = [d for d in delays if d is not None]
    if not delays:
        return "-"
    if not hit:
        return f"recall 0/{len(delays)}"
    return f"recall {len(hit)}/{len(delays)}, median {statistics.median(hit):.1f} h"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=4, help="scenarios per incident kind (half at 40, half at 200 orders/day)")
    parser.add_argument("--quiet-sellers", type=int, default=3)
    parser.add_argument("--quiet-days", type=int, default=30)
    parser.add_argument("--demand", default="regular", help="the quiet sellers' demand: regular or irregular")
    parser.add_argument("--rules", default="", help="only the incidents these rules catch (comma-separated)")
    args = parser.parse_args()
    only = set(filter(None, args.rules.split(",")))
    began = time.perf_counter()
    print(f"{'incident':<38}{'rule':<19}{'recall':>8}{'median h':>10}{'p90 h':>8}{'precision':>11}{'floor h':>9}"
          f"{'ratio':>7}")
    notes = []
    for case in (c for c in CASES if not only or c.rule in only):
        r = run_case(case, args.seeds)
        delays = sorted(r["delays"])  # type: ignore[arg-type]
        recall = len(delays) / r["runs"]  # type: ignore[operator]
        precision = r["true_alerts"] / max(r["true_alerts"] + r["false_in_runs"], 1)  # type: ignore[operator]
        median = f"{statistics.median(delays):.1f}" if delays else "-"
        p90 = f"{delays[min(len(delays) - 1, int(0.9 * len(delays)))]:.1f}" if delays else "-"
        floors = r["floors"]  # type: ignore[assignment]
        floor = f"{statistics.median(floors):.1f}" if floors else "-"
        ratio = f"{statistics.median(delays) / statistics.median(floors):.2f}" if floors and delays else "-"
        print(f"{case.kind:<38}{case.rule:<19}{recall:>8.2f}{median:>10}{p90:>8}{precision:>11.2f}{floor:>9}{ratio:>7}")
        if r["naive"]:
            notes.append(f"  naive 'today < 50% of yesterday' on {case.kind}: {describe(r['naive'])}")  # type: ignore[arg-type]
            notes.append(f"  ADTK PersistAD on {case.kind}: {r['adtk_note'] or describe(r['adtk'])}")  # type: ignore[arg-type]
    print("\n".join(notes))
    counts, months = quiet_months(args.quiet_sellers, args.quiet_days, args.demand)
    total = sum(counts.values())
    print(f"incident-free ({args.demand}), all rules every 3 h: {total} alerts in {months:.1f} account-months = "
          f"{total / months:.2f} per account-month"
          + (f" ({', '.join(f'{k}={v}' for k, v in sorted(counts.items()))})" if counts else ""))
    ours, naive, months = quiet_sales(args.quiet_sellers, args.quiet_days)
    print(f"incident-free, sales every 20 min: sales_drop {ours / months:.2f} and naive baseline "
          f"{naive / months:.2f} false alarms per account-month ({months:.1f} account-months)")
    print("full shop stop by seller size, stop during the day (10:00-18:00 Moscow), checked every 10 min:")
    for volume in (20, 40, 100, 200):
        delays = [stop_delay(volume, seed) for seed in range(args.seeds)]
        print(f"  {volume:>4} orders/day: {describe(delays)}, "
              f"within 2 h: {sum(1 for d in delays if d is not None and d <= 2)}/{len(delays)}")
    print(f"took {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
