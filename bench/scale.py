"""What one account costs the daemon by catalogue size: the simulator runs in its own process
(so only the monitor's CPU is counted), and each cycle runs in a fresh worker process that
reports its own CPU per phase, wall time, peak RSS and requests. Prints a table; not a test.

    .venv/bin/python bench/scale.py [--sizes 1000,10000,100000] [--idle]

Per size (orders a day = SKUs / 10, 60 days of history): the first backfill (in one cycle: the
budget is raised, where the daemon would spread it over several), then an incremental cycle
right after it. `--idle`: a daemon's resident memory and CPU between jobs,
after its first cycle at the smallest size.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
PAGE = {"fbs": 100, "fbo": 100, "returns": 500}  # what one request can carry, for the page-limit minimum


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--idle", action="store_true")
    parser.add_argument("--shops", type=int, default=0, help="also run this many 1k-SKU shops in one daemon")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker)
    rows = []
    for skus in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as folder, simulator(Path(folder), skus) as url:
            config = write_config(Path(folder), url)
            for label in ("first run", "incremental"):
                rows.append((skus, label, run_worker(config)))
                print_row(*rows[-1], flush=True)
    print_growth(rows)
    if args.idle:
        with tempfile.TemporaryDirectory() as folder, simulator(Path(folder), int(args.sizes.split(",")[0])) as url:
            idle(write_config(Path(folder), url))
    if args.shops:
        with tempfile.TemporaryDirectory() as folder, simulator(Path(folder), 1000) as url:
            many_shops(Path(folder), url, args.shops)


def print_growth(rows: list[tuple[int, str, dict]]) -> None:
    """Cost fitted as size^k (least squares on logs) for each phase, over the sizes run."""
    for label in ("first run", "incremental"):
        picked = [(skus, r) for skus, name, r in rows if name == label]
        if len(picked) < 2:
            continue
        sizes = np.log([skus for skus, _ in picked])
        fits = []
        for phase in ("cycle", "load", "rules", "rss_mb"):
            values = np.array([max(r[phase], 1e-3) for _, r in picked])
            fits.append(f"{phase} k={np.polyfit(sizes, np.log(values), 1)[0]:.2f}")
        print(f"growth over {picked[0][0]}-{picked[-1][0]} SKUs, {label}: " + ", ".join(fits))


class simulator:  # noqa: N801 (used as a context manager, like open)
    def __init__(self, folder: Path, skus: int) -> None:
        self.folder, self.skus = folder, skus

    def __enter__(self) -> str:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        scenario = self.folder / "scenario.toml"
        scenario.write_text(f"seed = 5\nskus = {self.skus}\norders_per_day = {self.skus / 10}\nhistory_days = 62\n")
        self.process = subprocess.Popen([sys.executable, "-m", "monitor", "simulator", "--port", str(port),
                                         "--scenario", str(scenario)], env=ENV, stdout=subprocess.PIPE, text=True)
        self.process.stdout.readline()  # "... simulator on http://..."
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait()


def write_config(folder: Path, url: str) -> Path:
    (folder / "key").write_text("demo-key")
    config = folder / "config.toml"
    config.write_text(f'[monitor]\nstate_dir = "state"\ncycle_budget_seconds = 3600\n\n[[accounts]]\nname = "shop"\nclient_id = 123456\n'
                      f'api_key_file = "key"\nbase_url = "{url}"\n')
    return config


def run_worker(config: Path) -> dict:
    started = time.monotonic()
    done = subprocess.run([sys.executable, __file__, "--worker", str(config)], env=ENV, capture_output=True,
                          text=True, check=True)
    answer = json.loads(done.stdout.splitlines()[-1])
    answer["wall"] = time.monotonic() - started
    return answer


def worker(config: Path) -> None:
    """One cycle in this process: its CPU by phase, the process's peak RSS, the requests."""
    begun = time.process_time()
    from monitor import metrics
    from monitor.config import load_config
    from monitor.cycle import run_cycle
    from monitor.sources.postings import POSTINGS
    from monitor.store import Store

    imports = time.process_time() - begun
    settings = load_config(config)
    before = time.process_time()
    result = run_cycle(settings, "shop")
    cycle = time.process_time() - before
    calls: dict[str, int] = {}
    for metric in metrics.API_CALLS.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                calls[sample.labels["method"]] = calls.get(sample.labels["method"], 0) + int(sample.value)
    store = Store.in_dir(settings.monitor.state_dir)
    size, orders = store.size_bytes(), store.count(POSTINGS, "shop")
    store.close()
    minimum = sum(math.ceil(result.sync.fetched[source] / page) or 1 for source, page in PAGE.items()
                  if source in result.sync.fetched)
    actual = sum(n for m, n in calls.items() if "posting/fb" in m and "unfulfilled" not in m or "returns" in m)
    print(json.dumps({"imports": imports, "cycle": cycle, **result.cpu, "requests": sum(calls.values()),
                      "postings_requests": actual, "postings_minimum": minimum,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "db_mb": size / 1e6,
                      "orders": orders, "unchecked": sorted(result.sync.unchecked)}))


def print_row(skus: int, label: str, r: dict, flush: bool = False) -> None:
    if not getattr(print_row, "header", False):
        print(f"{'SKUs':>7} {'cycle':<12} {'CPU s':>7} {'sync':>6} {'load':>6} {'rules':>6} {'alerts':>6} "
              f"{'import':>6} {'wall s':>7} {'RSS MB':>7} {'requests':>8} {'postings req/min':>17} {'DB MB':>7}")
        print_row.header = True  # type: ignore[attr-defined]
    print(f"{skus:>7} {label:<12} {r['cycle']:>7.2f} {r['sync']:>6.2f} {r['load']:>6.2f} {r['rules']:>6.2f} "
          f"{r['alerts']:>6.2f} {r['imports']:>6.2f} {r['wall']:>7.1f} {r['rss_mb']:>7.0f} {r['requests']:>8} "
          f"{r['postings_requests']:>8}/{r['postings_minimum']:<8} {r['db_mb']:>7.1f}"
          + (f"  unchecked: {', '.join(r['unchecked'])}" if r["unchecked"] else ""), flush=flush)


def idle(config: Path) -> None:
    """Start the daemon, let its first cycle finish, then watch it between jobs."""
    log = config.parent / "daemon.log"
    with open(log, "w") as sink:
        daemon = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(config)], env=ENV,
                                  stdout=sink, stderr=sink)
    try:
        while "проверка завершена: магазин=" not in log.read_text():
            time.sleep(0.5)
        time.sleep(5)
        ticks = os.sysconf("SC_CLK_TCK")

        def cpu() -> float:
            fields = Path(f"/proc/{daemon.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / ticks
        start, watch = cpu(), 50
        time.sleep(watch)
        rss = next(line for line in Path(f"/proc/{daemon.pid}/status").read_text().splitlines()
                   if line.startswith("VmRSS")).split()[1]
        print(f"idle daemon after its first cycle: RSS {int(rss) / 1024:.0f} MB, CPU {cpu() - start:.2f} s "
              f"over {watch} s between jobs (the delivery job runs once a minute)")
    finally:
        daemon.terminate()
        daemon.wait()


def many_shops(folder: Path, url: str, count: int, rounds: int = 3) -> None:
    """`count` shops of 1k SKUs in one daemon polling every minute, plus one whose API hangs:
    how long the first backfills take, whether each later round keeps inside its minute, and
    the daemon's CPU and peak memory. (All shops read the same simulated seller.)"""
    with socket.socket() as hang:
        hang.bind(("127.0.0.1", 0))
        hang.listen(1024)
        (folder / "key").write_text("demo-key")
        accounts = "".join(f'[[accounts]]\nname = "shop{i:03d}"\nclient_id = 123456\napi_key_file = "key"\n'
                           f'base_url = "{url}"\n\n' for i in range(count))
        accounts += (f'[[accounts]]\nname = "hanging"\nclient_id = 123456\napi_key_file = "key"\n'
                     f'base_url = "http://127.0.0.1:{hang.getsockname()[1]}"\n\n')
        config = folder / "config.toml"
        config.write_text(f'[monitor]\nstate_dir = "state"\npoll_minutes = 1\n\n{accounts}')
        log = folder / "daemon.log"
        started = time.monotonic()
        with open(log, "w") as sink:
            daemon = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(config)], env=ENV,
                                      stdout=sink, stderr=sink)
        done: dict[str, list[float]] = {}
        seen = 0
        try:
            while time.monotonic() - started < 1800:
                lines = log.read_text().splitlines()
                for line in lines[seen:]:
                    if "проверка завершена: магазин=shop" in line:
                        done.setdefault(line.split("проверка завершена: магазин=")[1].split()[0], []).append(
                            time.monotonic() - started)
                seen = len(lines)
                if len(done) == count and all(len(t) > rounds for t in done.values()):
                    break
                time.sleep(1)
            status = Path(f"/proc/{daemon.pid}/status").read_text()
            fields = Path(f"/proc/{daemon.pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        finally:
            daemon.terminate()
            daemon.wait()
    firsts = sorted(t[0] for t in done.values())
    gaps = [b - a for t in done.values() for a, b in zip(t[1:], t[2:])]
    peak = next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]
    print(f"{count} shops of 1k SKUs + 1 hanging, one daemon, poll 1 min: {len(done)} backfilled, the last "
          f"after {firsts[-1]:.0f} s (median {firsts[len(firsts) // 2]:.0f} s); later rounds every "
          f"{min(gaps):.0f}-{max(gaps):.0f} s (median {sorted(gaps)[len(gaps) // 2]:.0f} s); daemon CPU "
          f"{cpu:.0f} s in all; peak RSS {int(peak) / 1024:.0f} MB")


if __name__ == "__main__":
    main()
