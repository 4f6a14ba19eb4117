"""The daemon as systemd runs it: a real `ozon-monitor run` subprocess against the simulator,
with $NOTIFY_SOCKET pointing at a socket the test reads (READY, STATUS, WATCHDOG, STOPPING),
reload on SIGHUP, metrics and health on a loopback port, per-account isolation, and the unit
file judged by `systemd-analyze` where it exists."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor import texts
from monitor.cli import main
from monitor.report import print_status
from monitor.simulator import Incident, Scenario, Simulator, SimulatorServer, World
from tests.conftest import ROOT, Daemon, account, config_file



@pytest.fixture
def shop() -> Iterator[SimulatorServer]:
    """A small shop on the real clock whose orders stopped 30 hours ago."""
    now = datetime.now(timezone.utc)
    scenario = Scenario(seed=21, skus=60, orders_per_day=60,
                        incidents=[Incident("sales_stop", start=now - timedelta(hours=30))])
    with SimulatorServer(Simulator(World(scenario))) as server:
        yield server


class NotifySocket:
    """What a Type=notify service tells systemd, as systemd would receive it."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="notify-", dir="/tmp"))  # AF_UNIX paths are short
        self.path = self.folder / "sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.sock.settimeout(0.2)
        self.received: list[tuple[float, str]] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._done.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            for line in data.decode().splitlines():
                self.received.append((time.monotonic(), line))

    def lines(self, prefix: str = "") -> list[str]:
        return [line for _, line in list(self.received) if line.startswith(prefix)]

    def wait_for(self, predicate: Callable[[], bool], seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"{what} did not happen in {seconds} s; systemd was told: {self.lines()[-10:]}")

    def close(self) -> None:
        self._done.set()
        self.sock.close()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def notify_socket() -> Iterator[NotifySocket]:
    sock = NotifySocket()
    yield sock
    sock.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write(path: Path, accounts: str, port: int, tmp_path: Path) -> None:
    config_file(tmp_path, accounts, monitor=f'metrics_listen = "127.0.0.1:{port}"\n', name=path.name)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_the_daemon_speaks_systemd_reloads_and_stops(shop: SimulatorServer, notify_socket: NotifySocket,
                                                      tmp_path: Path) -> None:
    config, port = tmp_path / "config.toml", free_port()
    write(config, account("shop", shop.base_url), port, tmp_path)

    def pinging() -> None:  # WATCHDOG=1 every half WatchdogSec (1 s here)
        pings = len(notify_socket.lines("WATCHDOG=1"))
        notify_socket.wait_for(lambda: len(notify_socket.lines("WATCHDOG=1")) >= pings + 2, 5, "two more pings")
    with Daemon(config, env={"NOTIFY_SOCKET": str(notify_socket.path), "WATCHDOG_USEC": "1000000"}) as daemon:
        process = daemon.process
        notify_socket.wait_for(lambda: "READY=1" in notify_socket.lines(), 30, "READY=1")
        assert (tmp_path / "state" / "ozon-monitor.db").exists()  # the state was open before READY
        notify_socket.wait_for(lambda: any("загрузка: shop" in s for s in notify_socket.lines("STATUS=")), 30,
                               "a STATUS line saying the first cycle runs")
        daemon.wait_for("проверка завершена: магазин=shop ", 120)
        pinging()

        status, metrics = get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        assert 'ozon_monitor_api_calls_total{account="shop",method="/v4/posting/fbs/list",outcome="200"}' in metrics
        assert 'ozon_monitor_last_sync_timestamp_seconds{account="shop",source="fbs"}' in metrics
        assert 'ozon_monitor_findings{account="shop",rule="sales_drop"} 1.0' in metrics
        assert 'ozon_monitor_sync_seconds_count{account="shop",source="fbs"} 1.0' in metrics
        assert get(f"http://127.0.0.1:{port}/healthz") == (200, "ok\n")

        write(config, account("shop", shop.base_url) + account("second", shop.base_url), port, tmp_path)
        process.send_signal(signal.SIGHUP)
        daemon.wait_for("проверка завершена: магазин=second ", 120)
        assert "перечитаны" in daemon.text and "добавлены=second" in daemon.text

        config.write_text(config.read_text().replace("client_id = 123456", "client_id = -5", 1))
        process.send_signal(signal.SIGHUP)
        notify_socket.wait_for(lambda: any("новые настройки не приняты" in s for s in notify_socket.lines("STATUS=")), 10,
                               "the refused reload said in STATUS")
        refused = next(s for s in notify_socket.lines("STATUS=") if "новые настройки не приняты" in s)
        assert "accounts[0].client_id" in refused and str(config) in refused
        pinging()  # still going
        took = daemon.stop()
    err = daemon.text
    assert process.returncode == 0, err[-3000:]
    assert took < 10
    assert "STOPPING=1" in notify_socket.lines()
    assert "Traceback" not in err and "demo-key" not in err
    for line in err.splitlines():  # one event per line, each saying its level, job and account
        assert " job=" in line and " account=" in line, line


def test_one_hanging_account_never_holds_up_the_others(shop: SimulatorServer, tmp_path: Path) -> None:
    """The hanging host accepts connections and never answers."""
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(64)
    hanging = f"http://127.0.0.1:{hang.getsockname()[1]}"
    config = tmp_path / "config.toml"
    write(config, account("hangs", hanging, timeout=60) + account("one", shop.base_url) +
          account("two", shop.base_url), free_port(), tmp_path)
    try:
        with Daemon(config) as daemon:  # leaving kills it: here it would wait out the hanging call
            daemon.wait_for(lambda: all(f"проверка завершена: магазин={n} " in daemon.text for n in ("one", "two")), 120)
            assert "проверка завершена: магазин=hangs " not in daemon.text  # it was still waiting on its host meanwhile
    finally:
        hang.close()


def test_check_runs_the_accounts_side_by_side(shop: SimulatorServer, tmp_path: Path, capsys) -> None:
    """Three shops whose host never answers, each with a 15 s budget: in turn that is 45 s
    before the healthy shop is even tried; side by side it is one budget (and the healthy
    shop, read meanwhile, is read whole even on a loaded machine)."""
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(64)
    hanging = f"http://127.0.0.1:{hang.getsockname()[1]}"
    config = tmp_path / "config.toml"
    write(config, "".join(account(f"hangs{i}", hanging, timeout=15) for i in range(3)) + account("one", shop.base_url),
          free_port(), tmp_path)
    config.write_text(config.read_text().replace("[monitor]\n", "[monitor]\ncycle_budget_seconds = 15\n"))
    started = time.monotonic()
    try:
        code = main(["check", "--config", str(config), "--json"])
    finally:
        hang.close()
    took = time.monotonic() - started
    out = capsys.readouterr()
    assert out.out, f"exit {code}, nothing on stdout; stderr: {out.err}"
    result = json.loads(out.out)
    assert code == 1
    assert {f["account"] for f in result["findings"] if f["rule"] == "sales_drop"} == {"one"}
    assert {f["rule"] for f in result["findings"] if f["account"].startswith("hangs")} == {"api_access"}
    assert {u["account"] for u in result["unchecked"]} == {"hangs0", "hangs1", "hangs2"}
    assert took < 35, took  # in turn it could not be under 45


def test_status_tells_what_a_seller_needs_to_know(shop: SimulatorServer, tmp_path: Path, capsys) -> None:
    (tmp_path / "key.txt").write_text("demo-key")
    (tmp_path / "bad.txt").write_text("wrong-key")
    config = tmp_path / "config.toml"
    write(config, account("shop", shop.base_url) + account("locked", shop.base_url, "bad.txt"), free_port(),
          tmp_path)
    main(["check", "--config", str(config)])
    capsys.readouterr()
    assert main(["status", "--config", str(config), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    shop_, locked = status["accounts"]
    assert status["daemon"] == {"running": False, "pid": None}
    assert status["state_file"]["bytes"] > 100_000
    assert shop_["key_expires_at"] and {s["source"] for s in shop_["sources"]} >= {"fbs", "fbo", "returns"}
    assert all(s["error"] is None for s in shop_["sources"]) and shop_["open_alerts"].get("critical", 0) >= 1
    assert shop_["api_errors_24h"] == []
    assert locked["api_errors_24h"] == [{"method": "/v1/roles", "outcome": "404", "count": 1,  # Ozon's "Invalid Api-Key"
                                         "last": locked["api_errors_24h"][0]["last"]}]
    assert status["outbox"] == {"waiting": 0, "undeliverable": 0, "messages": []}
    floor = shop_["detection_floor"]  # the shop's own: from its volume, as a stop needs ln(720 * rate) orders due
    assert 40 < floor["orders_per_day"] < 90 and 0.3 < floor["stop_hours"] < floor["half_hours"] < 24
    assert locked["detection_floor"] is None  # nothing synced
    assert main(["status", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert "Монитор: не запущен" in text and "неудачных запросов к API за сутки (считая повторы): 0" in text
    assert f"нельзя отличить от затишья быстрее чем за {texts.count(round(floor['stop_hours']), 'hour', 'ru')}" in text
    assert "неудачных запросов к API за сутки (считая повторы): 1\n    /v1/roles — HTTP 404: 1, последний " in text
    assert "  открытых проблем: 1 (срочно — 1)\n" in text
    assert "; следующая: после запуска службы\n" in text  # the daemon is not running: no cycle is due
    shop_["open_alerts"] = {}  # the same shop once its alert resolved
    print_status(status, "ru", ZoneInfo("Europe/Moscow"))
    assert "  открытых проблем нет\n" in capsys.readouterr().out


SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd = pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed here: the "
                                   "unit's exposure and verify checks need it")


@needs_systemd
def test_the_unit_is_hardened() -> None:
    out = subprocess.run([SYSTEMD_ANALYZE, "security", "--offline=true", "--no-pager",
                          str(ROOT / "systemd" / "ozon-monitor.service")], capture_output=True, text=True)
    line = next(line for line in out.stdout.splitlines() if "Overall exposure level" in line)
    exposure = float(line.split(":")[1].split()[0])
    assert exposure <= 1.5, out.stdout


@needs_systemd
def test_the_unit_verifies_in_the_installed_layout(tmp_path: Path) -> None:
    """As INSTALL.md lays it out on Debian: the program in /opt/ozon-monitor, the unit in
    /etc/systemd/system, beside this machine's own systemd units and kill(1)."""
    if not Path("/usr/lib/systemd/system/sysinit.target").exists() or not Path("/usr/bin/kill").exists():
        pytest.skip("this machine has no systemd units or kill(1) to lay the Debian layout out with")
    root = tmp_path / "root"
    (root / "usr" / "lib" / "systemd").mkdir(parents=True)
    shutil.copytree("/usr/lib/systemd/system", root / "usr" / "lib" / "systemd" / "system", symlinks=True)
    (root / "usr" / "bin").mkdir()
    shutil.copy("/usr/bin/kill", root / "usr" / "bin" / "kill")
    (root / "bin").symlink_to("usr/bin")
    program = root / "opt" / "ozon-monitor" / "bin" / "ozon-monitor"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    units = root / "etc" / "systemd" / "system"
    units.mkdir(parents=True)
    shutil.copy(ROOT / "systemd" / "ozon-monitor.service", units)
    out = subprocess.run([SYSTEMD_ANALYZE, "verify", f"--root={root}", "--man=no",
                          str(units / "ozon-monitor.service")], capture_output=True, text=True)
    problems = [line for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    assert out.returncode == 0 and not problems, "\n".join(problems)


API_KEY, SMTP_PASSWORD = "api-key-7f3c9e1d", "smtp-pass-5b2a8c4e"
WEBHOOK_SECRET, BOT_TOKEN = "whsec_c2VjcmV0LXdlYmhvb2stOWQ0ZQ==", "987654:bot-token-2e6f0a7b"


def test_no_secret_ever_reaches_a_log_an_output_or_a_file(tmp_path: Path) -> None:
    """The fault cases with every kind of secret set: a rejected key, a dead port, a 429 storm
    (also in a daemon stopped by SIGTERM), and channels that all fail. (The demo's own run is
    checked in test_end_to_end.)"""
    from monitor.simulator import Fault

    outputs = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def cli(*args: str) -> None:
        done = subprocess.run([sys.executable, "-m", "monitor", "-v", *args], env=env, capture_output=True,
                              text=True, timeout=300)
        outputs.append(done.stdout + done.stderr)
    sku = World(Scenario(seed=3, skus=30)).products[1].sku
    blocked = Incident("card_blocked", start=datetime.now(timezone.utc) - timedelta(hours=2), skus=(sku,))
    world = World(Scenario(seed=3, skus=30, orders_per_day=30, history_days=10, api_key=API_KEY, incidents=[blocked]))
    with SimulatorServer(Simulator(world)) as good, SimulatorServer(Simulator(World(Scenario(seed=4)))) as throttled:
        throttled.simulator.add_fault(Fault(method="*", status=429, retry_after=0.5, times=10_000))
        for name, value in (("key", API_KEY), ("smtp", SMTP_PASSWORD), ("hook", WEBHOOK_SECRET), ("bot", BOT_TOKEN)):
            (tmp_path / name).write_text(value)
        closed = f"http://127.0.0.1:{free_port()}"
        accounts = "".join(account(n, url, "key", timeout=5) for n, url in (
            ("good", good.base_url), ("dead", closed), ("throttled", throttled.base_url)))
        accounts += account("rejected", good.base_url, "hook")  # the wrong secret sent as an API key
        config = config_file(tmp_path, accounts, monitor="cycle_budget_seconds = 10\n", channels=(
            f'[[channels]]\ntype = "email"\nhost = "127.0.0.1"\nport = {free_port()}\nsecurity = "plain"\n'
            f'username = "shop"\npassword_file = "smtp"\nsender = "m@shop.example"\nto = ["o@shop.example"]\n\n'
            f'[[channels]]\ntype = "webhook"\nurl = "{closed}/hook"\nsecret_file = "hook"\n\n'
            f'[[channels]]\ntype = "telegram"\nname = "tg"\napi_url = "{closed}"\n'
            f'token_file = "bot"\nchat_id = "1"\n'))
        for command in (["config", "validate", "--strict", str(config)], ["check", "--config", str(config)],
                        ["test-alert", "--config", str(config)], ["status", "--config", str(config)]):
            cli(*command)
        with Daemon(config, verbose=True) as daemon:
            daemon.wait_for("проверка завершена: магазин=good ")
            daemon.stop()
        outputs.append(daemon.text)
    assert "(HTTP 429)" in outputs[1] and "не удалось отправить" in outputs[1] and "НЕ ОТПРАВЛЕНО" in outputs[2]
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name not in ("key", "smtp", "hook", "bot")
             and p.suffix != ".key"]
    assert any(p.name == "ozon-monitor.db" for p in files) and any("drafts" in p.parts for p in files)
    for secret in (API_KEY, SMTP_PASSWORD, WEBHOOK_SECRET, BOT_TOKEN):
        for text in outputs:
            assert secret not in text, f"{secret!r} leaked into the output"
        for path in files:
            assert secret.encode() not in path.read_bytes(), f"{secret!r} leaked into {path}"


def test_healthz_fails_exactly_when_the_dead_mans_switch_would_speak(settings, tmp_path: Path) -> None:
    from monitor import metrics
    from monitor.cycle import run_cycle
    from tests.conftest import NOW

    current = {"settings": settings}
    server = metrics.serve(f"127.0.0.1:{free_port()}", lambda: current["settings"])
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert get(f"{url}/healthz") == (200, "ok\n")  # never synced: blind only once blind_after_minutes pass
        run_cycle(settings, "shop", now=NOW)  # the simulator's clock stands weeks ago: the postings are that old
        status, body = get(f"{url}/healthz")
        assert status == 503 and body.startswith("blind:shop: ")
        assert get(f"{url}/nothing")[0] == 404
        (tmp_path / "a-file").write_text("")
        current["settings"] = settings.model_copy(update={"monitor": settings.monitor.model_copy(
            update={"state_dir": tmp_path / "a-file"})})
        status, body = get(f"{url}/healthz")
        assert status == 503 and body.startswith(f"state file: {tmp_path / 'a-file'}")
        assert "ozon_monitor_state_file_ok 0.0" in get(f"{url}/metrics")[1]
    finally:
        server.shutdown()
