"""kill -9 at random points of a cycle, many times: after each kill a restart must lose and
double nothing. Each iteration starts `ozon-monitor check` on a fresh state directory against
the simulator (a seller whose orders stopped, so there is an alert to deliver to a webhook),
kills it after a random delay (during the backfill, the rules or the delivery), runs `check`
again to the end, and verifies: stored postings equal the simulator's; every alert reached the
receiver under exactly one message id; the outbox is empty. Prints a line per iteration and a
summary; exits 1 if any iteration broke an invariant. Not a test (it takes minutes).

    .venv/bin/python bench/kill_loop.py [--iterations 50] [--max-delay 6] [--seed 1]
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.simulator import Incident, Scenario, Simulator, SimulatorServer, World  # noqa: E402
from tests.receiver import Receiver, serve  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--max-delay", type=float, default=6.0, help="kill within this many seconds of the start")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    now = datetime.now(timezone.utc)
    scenario = Scenario(seed=5, skus=120, orders_per_day=250, history_days=40,
                        incidents=[Incident("sales_stop", start=now - timedelta(hours=30))])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    broken = 0
    with SimulatorServer(Simulator(World(scenario))) as server:
        world = server.simulator.world
        for iteration in range(1, args.iterations + 1):
            receiver = Receiver()
            http = serve(receiver)
            with tempfile.TemporaryDirectory() as folder:
                home = Path(folder)
                (home / "key.txt").write_text(scenario.api_key)
                config = home / "config.toml"
                config.write_text(f'[monitor]\nstate_dir = "state"\nhistory_days = 35\n\n[[accounts]]\nname = "shop"\n'
                                  f'client_id = {scenario.client_id}\napi_key_file = "key.txt"\n'
                                  f'base_url = "{server.base_url}"\n\n[[channels]]\ntype = "webhook"\nname = "hook"\n'
                                  f'url = "{receiver.url}"\n', encoding="utf-8")
                command = [sys.executable, "-m", "monitor", "check", "--config", str(config)]
                delay = rng.uniform(0.3, args.max_delay)
                process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(delay)
                killed = process.poll() is None
                process.send_signal(signal.SIGKILL)
                process.wait()
                started = datetime.now(timezone.utc)
                subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
                problems = verify(home / "state" / "ozon-monitor.db", world, started, receiver)
            http.shutdown()
            broken += bool(problems)
            print(f"{iteration:3d}  kill after {delay:4.1f} s{'' if killed else ' (had finished)'}  "
                  f"messages {len(receiver.ids())} ({len(set(receiver.ids()))} ids)  "
                  f"{'; '.join(problems) or 'ok'}", flush=True)
    print(f"{args.iterations - broken}/{args.iterations} iterations kept every invariant")
    return 1 if broken else 0


def verify(db_path: Path, world: World, restarted: datetime, receiver: Receiver) -> list[str]:
    problems = []
    db = sqlite3.connect(db_path)
    stored = [r[0] for r in db.execute("select posting_number from postings")]
    truth = {o.posting_number for o in world.orders(restarted - timedelta(days=35) + timedelta(minutes=1),
                                                    restarted, restarted)}
    everything = {o.posting_number for o in world.orders(restarted - timedelta(days=40), restarted, restarted)}
    if not truth <= set(stored):
        problems.append(f"{len(truth - set(stored))} postings lost")
    if not set(stored) <= everything:
        problems.append("postings made up")
    if db.execute("select count(*) from outbox where delivered_at is null").fetchone()[0]:
        problems.append("undelivered rows left")
    ids_per_alert: dict[str, set[str]] = defaultdict(set)
    for received in receiver.received:
        for alert in received.body["alerts"]:
            if alert["event"] == "firing":
                ids_per_alert[alert["fingerprint"]].add(received.id)
    if not ids_per_alert:
        problems.append("no alert delivered")
    doubled = [f for f, ids in ids_per_alert.items() if len(ids) > 1]
    if doubled:
        problems.append(f"{len(doubled)} alerts sent under two message ids")
    stored_alerts = {r[0] for r in db.execute("select fingerprint from alerts where status = 'firing'")}
    if stored_alerts - set(ids_per_alert):
        problems.append(f"{len(stored_alerts - set(ids_per_alert))} alerts never delivered")
    return problems


if __name__ == "__main__":
    sys.exit(main())
