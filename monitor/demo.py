"""`ozon-monitor demo`: the real monitor cycle against the built-in simulator, start to finish.

A seller with a few hundred SKUs and ten weeks of history whose orders stopped a few hours ago,
with a few slower problems brewing: a card blocked by moderation, returns piling up on one SKU,
a rating sliding towards its threshold and the API key about to expire. Three cycles: the first
sends one digest with every new alert and its support request; the second, ten minutes later,
sends nothing (open alerts are not repeated); the third, hours later when orders have come back,
sends the "resolved" message.
"""
from __future__ import annotations

import shutil
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from monitor.cli import print_result
from monitor.config import load_config
from monitor.cycle import run_cycle
from monitor.simulator import Incident, Scenario, Simulator, SimulatorServer, World
from monitor.simulator.world import MSK

ACCOUNT = "demo-shop"


def run_demo(output: Path, seed: int, language: str) -> int:
    # The simulated clock stands at the last 15:00 Moscow time, so the demo tells the same story
    # at any hour (a stop that began at night shows only in the morning, when orders are due).
    moscow = datetime.now(timezone.utc).astimezone(MSK)
    afternoon = moscow.replace(hour=15, minute=0, second=0, microsecond=0)
    now = (afternoon if afternoon <= moscow else afternoon - timedelta(days=1)).astimezone(timezone.utc)
    probe = World(Scenario(seed=seed))
    busy = sorted(probe.products, key=lambda p: -p.weight)
    scenario = Scenario(seed=seed, incidents=[
        Incident("sales_stop", start=now - timedelta(hours=5), end=now + timedelta(hours=1)),
        Incident("card_blocked", start=now - timedelta(hours=30), skus=(busy[1].sku,)),
        Incident("returns_spike", start=now - timedelta(days=14), skus=(busy[2].sku,), rate=0.45,
                 reason="Брак или повреждение"),
        Incident("rating_slide", start=now - timedelta(days=6), rating="rating_on_time", days=10),
        Incident("key_expiry", start=now - timedelta(hours=1), days_left=9),
    ])
    output.mkdir(parents=True, exist_ok=True)
    for stale in ("state", "notifications"):
        shutil.rmtree(output / stale, ignore_errors=True)
    clock = {"now": now}
    with SimulatorServer(Simulator(World(scenario), clock=lambda: clock["now"])) as server:
        (output / "api-key.txt").write_text(scenario.api_key + "\n", encoding="utf-8")
        config = output / "config.toml"
        config.write_text(
            f'[monitor]\nstate_dir = "state"\nlanguage = "{language}"\n\n'
            f'[[accounts]]\nname = "{ACCOUNT}"\nclient_id = {scenario.client_id}\n'
            f'api_key_file = "api-key.txt"\nbase_url = "{server.base_url}"\n\n'
            f'[[channels]]\ntype = "file"\nname = "demo-files"\ndirectory = "notifications"\n',
            encoding="utf-8")
        settings = load_config(config)
        print(f"Simulated time: {now.astimezone(settings.monitor.tz):%Y-%m-%d %H:%M} ({settings.monitor.timezone}).")
        print(f"Simulated Ozon Seller API on {server.base_url}: {scenario.skus} SKUs, "
              f"~{scenario.orders_per_day:.0f} orders/day, {settings.monitor.history_days} days of history.")
        print("Scripted incidents:")
        for incident in scenario.incidents:
            skus = f" (SKU {', '.join(map(str, incident.skus))})" if incident.skus else ""
            print(f"  {incident.kind}{skus} since {incident.start.astimezone(settings.monitor.tz):%Y-%m-%d %H:%M}")
        print()
        cycles = []
        for title, later in (("Cycle 1: first sync (backfill), evaluation, one digest", timedelta(0)),
                             ("Cycle 2, ten minutes later: the same problems, nothing is repeated",
                              timedelta(minutes=10)),
                             ("Cycle 3, eight hours later: orders came back an hour after cycle 1",
                              timedelta(hours=8))):
            clock["now"] = now + later
            print(f"== {title} ==")
            cycles.append(run_cycle(settings, ACCOUNT, now=clock["now"]))
            print_result(cycles[-1])
            print()
    first, second, third = cycles
    print(f"Alert events sent in cycle 1: {len(first.notified)}; in cycle 2: {len(second.notified)}; "
          f"in cycle 3: {len(third.notified)} ({', '.join(e['event'] + ' ' + e['rule'] for e in third.notified)}).")
    print(f"Config: {config}\nState: {settings.monitor.state_dir}\n"
          f"Support request drafts: {settings.monitor.state_dir / 'drafts'}\n"
          f"Delivered notifications: {output / 'notifications'}")
    failed = any(c.sync.errors for c in cycles) or not first.findings
    if not first.findings:
        print("The demo expected an alert and raised none; please report this.", file=sys.stderr)
    return 1 if failed else 0
