"""`ozon-monitor demo`: the real monitor cycle against the built-in simulator, start to finish.

Two shops in one config, each on its own simulated Seller API. The first has a few hundred SKUs
and ten weeks of history; its orders stopped a few hours ago, with slower problems brewing: a
card blocked by moderation, returns piling up on one SKU, a rating sliding towards its
threshold and the API key about to expire. The second, smaller shop has FBS postings that were
not handed over in time. Three cycles: the first sends one message per shop with every new
alert and its support request; the second, ten minutes later, sends nothing (open alerts are
not repeated); the third, hours later when the first shop's orders have come back, sends the
"resolved" message.
"""
from __future__ import annotations

import shutil
import sys
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path

from monitor.config import load_config
from monitor.cycle import deliver_all, run_cycle
from monitor.report import print_delivery, print_result
from monitor.simulator import Incident, Scenario, Simulator, SimulatorServer, World
from monitor.simulator.world import MSK
from monitor.texts import count, say, when

SHOPS = ("demo-shop", "second-shop")


def run_demo(output: Path, seed: int, language: str) -> int:
    # The simulated clock stands at the last 15:00 Moscow time, so the demo tells the same story
    # at any hour (a stop that began at night shows only in the morning, when orders are due).
    moscow = datetime.now(timezone.utc).astimezone(MSK)
    afternoon = moscow.replace(hour=15, minute=0, second=0, microsecond=0)
    now = (afternoon if afternoon <= moscow else afternoon - timedelta(days=1)).astimezone(timezone.utc)
    probe = World(Scenario(seed=seed))
    busy = sorted(probe.products, key=lambda p: -p.weight)
    scenarios = {
        SHOPS[0]: Scenario(seed=seed, incidents=[
            Incident("sales_stop", start=now - timedelta(hours=5), end=now + timedelta(hours=1)),
            Incident("card_blocked", start=now - timedelta(hours=30), skus=(busy[1].sku,)),
            Incident("returns_spike", start=now - timedelta(days=14), skus=(busy[2].sku,), rate=0.45,
                     reason="Брак или повреждение"),
            Incident("rating_slide", start=now - timedelta(days=6), rating="rating_on_time", days=10),
            Incident("key_expiry", start=now - timedelta(hours=1), days_left=9),
            Incident("charges", start=now - timedelta(days=4), rate=0.05, amount=500.0),
            Incident("acceptance_acts", start=now - timedelta(hours=36), days_left=3, rate=0.1),
        ]),
        SHOPS[1]: Scenario(seed=seed + 1, client_id=654321, api_key="second-key", skus=80, orders_per_day=60,
                           fbo_share=0.0, history_days=40, incidents=[
                               Incident("late_shipments", start=now - timedelta(days=2), delay_hours=40),
                               Incident("auto_promotions", start=now - timedelta(hours=12))]),
    }
    output.mkdir(parents=True, exist_ok=True)
    for stale in ("state", "notifications"):
        shutil.rmtree(output / stale, ignore_errors=True)
    clock = {"now": now}
    with ExitStack() as servers:
        accounts = ""
        for shop, scenario in scenarios.items():
            server = servers.enter_context(SimulatorServer(Simulator(World(scenario), clock=lambda: clock["now"])))
            (output / f"{shop}.key").write_text(scenario.api_key + "\n", encoding="utf-8")
            accounts += (f'[[accounts]]\nname = "{shop}"\nclient_id = {scenario.client_id}\n'
                         f'api_key_file = "{shop}.key"\nbase_url = "{server.base_url}"\n\n')
        config = output / "config.toml"
        config.write_text(
            f'[monitor]\nstate_dir = "state"\nlanguage = "{language}"\n\n{accounts}'
            f'[[channels]]\ntype = "file"\nname = "demo-files"\ndirectory = "{output.resolve() / "notifications"}"\n',
            encoding="utf-8")
        settings = load_config(config)
        tz = settings.monitor.tz
        print(say(language, "demo.time", at=when(now, language, tz)))
        for shop, scenario in scenarios.items():
            print(say(language, "demo.shop", shop=shop, client_id=scenario.client_id, skus=scenario.skus,
                      orders=count(scenario.orders_per_day, "order", language),
                      days=count(scenario.history_days, "day", language)))
            for incident in scenario.incidents:
                skus = f" (SKU {', '.join(map(str, incident.skus))})" if incident.skus else ""
                print("  " + say(language, "demo.since", what=say(language, f"demo.{incident.kind}"), skus=skus,
                                 at=when(incident.start, language, tz)))
        print()
        cycles = []
        for title, later in (("demo.cycle_1", timedelta(0)), ("demo.cycle_2", timedelta(minutes=10)),
                             ("demo.cycle_3", timedelta(hours=8))):
            clock["now"] = now + later
            print(f"== {say(language, title)} ==")
            results = [run_cycle(settings, shop, now=clock["now"]) for shop in SHOPS]
            for result in results:
                print_result(result, language, tz)
            delivery = deliver_all(settings, clock["now"])
            print_delivery(delivery, language)
            cycles.append((results, delivery))
            print()
    for number, (results, delivery) in enumerate(cycles, start=1):
        said = ", ".join(f"{r.account} — {len(r.notified)}" for r in results)
        print(say(language, "demo.total", number=number, said=said, sent=delivery.delivered))
    print(say(language, "demo.where", config=config, state=settings.monitor.state_dir,
              drafts=settings.monitor.state_dir / "drafts", sent=output / "notifications"))
    first_results = cycles[0][0]
    failed = any(r.sync.errors for results, _ in cycles for r in results) or any(d.failed for _, d in cycles)
    if not all(r.findings for r in first_results):
        print(say(language, "demo.nothing"), file=sys.stderr)
        failed = True
    return 1 if failed else 0
