"""The fault suite: a dead, throttling, hanging or lying API, a damaged state directory, stuck
channels. After each: a clear line or alert about the fault, nothing stored overwritten with
emptiness, nothing lost or doubled, and never "no problems found" while the monitor is blind.
Real sockets, files, processes; docs/RELIABILITY.md lists every case."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx

from monitor import watchdog
from monitor.cli import main
from monitor.config import load_config
from monitor.cycle import deliver_all, run_cycle
from monitor.daemon import STOP_GRACE_SECONDS
from monitor.ozon import endpoints as api
from monitor.ozon.client import AccountBlocked, AuthError, BadResponse, MethodGone, OzonClient
from monitor.simulator import Fault, Incident, Scenario, Simulator, SimulatorServer, World
from monitor.sources import TABLES
from monitor.sources.postings import POSTINGS
from monitor.sources.stocks import stocks
from monitor.store import StorageError, Store
from monitor.texts import ERROR_KINDS
from tests.conftest import NOW, Daemon, FakeTime
from tests.receiver import Receiver

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
BASE = "https://api-seller.example"


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor", *args], env=ENV, capture_output=True, text=True,
                          timeout=timeout)


# --- a dead, throttling or hanging API ---------------------------------------------------------

def test_a_closed_port_is_said_within_seconds_and_never_reads_as_no_problems(write_config, capsys) -> None:
    config = write_config(base_url="http://127.0.0.1:9")
    started = time.monotonic()
    assert main(["check", "--config", str(config)]) == 1
    took = time.monotonic() - started
    out = capsys.readouterr().out
    assert took < 15, took
    assert "не удаётся подключиться к серверу Ozon" in out and "ничего не загружено" in out
    assert "проблем не найдено" not in out and "ничего нового" not in out and "Монитор не видит заказы" in out
    assert main(["check", "--config", str(config), "--json"]) == 1
    answer = json.loads(capsys.readouterr().out)
    assert {u["source"] for u in answer["unchecked"]} >= {"fbs", "fbo", "returns"}
    assert all("could not connect" in u["reason"] for u in answer["unchecked"])


def test_a_429_storm_ends_at_the_budget_and_says_rate_limit(write_config, capsys) -> None:
    world = World(Scenario(seed=3, skus=30, orders_per_day=30, history_days=10))
    with SimulatorServer(Simulator(world, clock=lambda: NOW)) as server:
        server.simulator.add_fault(Fault(method="*", status=429, retry_after=0.5, times=10_000))
        config = write_config("", base_url=server.base_url)
        config.write_text(config.read_text().replace("[monitor]\n", "[monitor]\ncycle_budget_seconds = 10\n"))
        started = time.monotonic()
        assert main(["check", "--config", str(config)]) == 1
        took = time.monotonic() - started
        calls = len(server.simulator.requests)
    out = capsys.readouterr().out
    assert took < 15, took
    assert "Ozon ограничивает частоту запросов (HTTP 429)" in out and "проблем не найдено" not in out
    assert calls == 0  # every call was answered 429 by the fault before it reached the API


@pytest.mark.parametrize("api", ["hanging", "closed port"])
def test_the_daemon_stops_within_10_s_of_sigterm_whatever_the_network_does(write_config, tmp_path: Path,
                                                                             api: str) -> None:
    with SimulatorServer(Simulator(World(Scenario(seed=3, skus=30, orders_per_day=30, history_days=10)))) as server:
        server.simulator.add_fault(Fault(method="*", kind="timeout", delay=60, times=10_000))
        config = write_config(base_url=server.base_url if api == "hanging" else "http://127.0.0.1:9")
        with Daemon(config, verbose=True) as daemon:
            daemon.wait_for("cycle started: account=shop")  # under way (and stuck, when the API hangs)
            time.sleep(0.5)  # into its first request
            took = daemon.stop(timeout=12)
    assert daemon.process.returncode == 0 and took < 10, (took, daemon.text[-1500:])
    assert "Traceback" not in daemon.text


def test_a_burst_of_stop_signals_still_stops_the_daemon(write_config) -> None:
    """`timeout` sends SIGTERM twice, a seller may press Ctrl+C twice: a signal that lands while
    the last one's handler runs must not deadlock the stop, nor one that lands while the stopped
    daemon exits kill it (here SIGTERM every few microseconds until it is gone, twice)."""
    config = write_config()  # a dead API: the daemon idles between its cycles
    for _ in range(2):
        with Daemon(config) as daemon:
            daemon.wait_for("запущен: магазины=shop")
            daemon.wait_for("проверка завершена: магазин=shop ")
            rng, deadline = random.Random(7), time.monotonic() + 10
            while daemon.process.poll() is None and time.monotonic() < deadline:
                daemon.process.send_signal(signal.SIGTERM)
                until = time.perf_counter() + rng.uniform(0, 10e-6)
                while time.perf_counter() < until:
                    pass
            daemon.process.wait(timeout=1)
        assert daemon.process.returncode == 0 and "остановлен" in daemon.text, daemon.text[-1500:]


# --- answers that lie ------------------------------------------------------------------------

@pytest.fixture
def client() -> OzonClient:
    return OzonClient(BASE, 123456, "KEY", retry_budget=5, sleep=lambda s: None)


@respx.mock
@pytest.mark.parametrize("status, body, error, words", [
    (400, {"code": 9, "message": "obsolete method cannot be used"}, MethodGone, "update ozon-monitor"),
    (403, {"code": 7, "message": "Company is blocked, please contact support"}, AccountBlocked, "seller support"),
    (400, {"code": 3, "message": "Client-Id header value should be positive integer"}, AuthError, "client_id"),
])
def test_ozons_real_error_bodies_mean_what_ozon_means(client, status, body, error, words) -> None:
    respx.post(f"{BASE}/v3/posting/fbo/list").mock(return_value=httpx.Response(status, json=body))
    with pytest.raises(error, match=words):
        list(api.fbo_postings(client, NOW - timedelta(days=1), NOW))


@respx.mock
@pytest.mark.parametrize("response, words", [
    (httpx.Response(200, json={"code": 13, "message": "internal"}), "HTTP 200 with an error instead of data"),
    (httpx.Response(200, json={"has_next": False}), "missing postings"),
    (httpx.Response(200, json={"postings": {"a": 1}}), "postings"),
    (httpx.Response(200, text="<html><body>502 Bad Gateway</body></html>"), "not valid JSON"),
    (httpx.Response(200, text='{"postings": [{"posting_number": "01'), "not valid JSON"),
])
def test_a_200_without_the_documented_structure_is_a_bad_response(client, response, words) -> None:
    respx.post(f"{BASE}/v3/posting/fbo/list").mock(return_value=response)
    with pytest.raises(BadResponse, match=words):
        list(api.fbo_postings(client, NOW - timedelta(days=1), NOW))


@respx.mock
def test_a_list_wrapped_in_result_reads_like_a_bare_one(client) -> None:
    posting = {"posting_number": "1-1-1", "status": "delivered", "in_process_at": "2026-11-18T10:00:00Z",
               "products": [{"sku": 1, "offer_id": "A", "quantity": 1}]}
    respx.post(f"{BASE}/v4/posting/fbs/list").mock(return_value=httpx.Response(
        200, json={"result": {"postings": [posting], "has_next": False, "cursor": ""}}))
    [page] = list(api.fbs_postings(client, NOW - timedelta(days=1), NOW))
    assert [p.posting_number for p in page] == ["1-1-1"]


def test_an_error_body_never_overwrites_stored_stock_with_zero(synced_shop) -> None:
    settings, simulator, _ = synced_shop
    store = Store.in_dir(settings.monitor.state_dir)
    before = [s for s in stocks(store, "shop", NOW.date()) if s.scheme != "fbo"]
    store.close()
    simulator.simulator.add_fault(Fault(method=api.FBS_STOCKS, status=200, body='{"code": 13, "message": "x"}',
                                        times=100))
    later = run_cycle(settings, "shop", now=NOW + timedelta(minutes=40))
    assert "HTTP 200 with an error instead of data" in later.sync.errors["fbs_stocks"].message
    store = Store.in_dir(settings.monitor.state_dir)
    assert [s for s in stocks(store, "shop", NOW.date()) if s.scheme != "fbo"] == before and sum(s.available for s in before) > 0
    store.close()


def test_an_empty_page_that_claims_more_is_a_bad_response_not_a_loop(settings, simulator) -> None:
    simulator.simulator.add_fault(Fault(method=api.FBS_LIST, status=200, times=100,
                                        body='{"postings": [], "has_next": true, "cursor": "same"}'))
    result = run_cycle(settings, "shop", now=NOW)
    assert "did not advance" in result.sync.errors["fbs"].message
    assert any(f.rule == "api_access" and f.entity == "postings" for f in result.findings)


@pytest.fixture
def quick(simulator, write_config):
    """Settings against the simulator with a 10 s cycle budget, so a fault outlasting it is quick."""
    config = write_config(base_url=simulator.base_url)
    config.write_text(config.read_text().replace("[monitor]\n", "[monitor]\ncycle_budget_seconds = 10\n"))
    return load_config(config)


def test_5xx_for_minutes_then_recovery_loses_and_doubles_nothing(quick, simulator) -> None:
    settings = quick
    simulator.simulator.add_fault(Fault(method=api.FBS_LIST, status=503, times=10_000))
    fake = FakeTime()  # minutes of backoff on fake time
    failing = run_cycle(settings, "shop", now=NOW, clock=fake.clock, sleep=fake.sleep)
    assert [f.severity for f in failing.findings if f.entity == "postings"] == ["critical"]  # at once, not in 3 h
    simulator.simulator.clear_faults()
    healed = run_cycle(settings, "shop", now=NOW + timedelta(minutes=10))
    assert "fbs" in healed.sync.fetched and not healed.sync.unchecked
    db = sqlite3.connect(settings.monitor.state_dir / Store.FILENAME)
    stored = [r[0] for r in db.execute("select posting_number from postings where scheme = 'fbs'")]
    later = NOW + timedelta(minutes=10)
    served = {o.posting_number for o in simulator.simulator.world.orders(later - timedelta(days=35), later, later)
              if o.scheme == "fbs"}  # the history starts at the first sync that worked
    assert len(stored) == len(served) and set(stored) == served


def test_the_key_revoked_mid_cycle_stops_the_account_and_is_one_critical_alert(settings, simulator) -> None:
    simulator.simulator.add_fault(Fault(method=api.FBO_LIST, kind="auth", times=100))
    result = run_cycle(settings, "shop", now=NOW)
    assert "Invalid Api-Key" in result.sync.errors["fbo"].message
    assert set(result.sync.skipped) >= {"returns", "products", "finance"}  # not tried with a rejected key
    rejected = [f for f in result.findings if f.rule == "api_access" and f.entity == "key_rejected"]
    assert [f.severity for f in rejected] == ["critical"]
    assert result.rendered[rejected[0].fingerprint].title.startswith("Ozon не принимает API-ключ")


# --- a damaged state directory ----------------------------------------------------------------

def test_a_state_dir_that_is_a_file_is_named_with_exit_3_by_every_command_and_validate_refuses_it(write_config, tmp_path) -> None:
    (tmp_path / "state").write_text("not a folder")
    config = write_config()
    checked = cli("check", "--config", str(config))
    assert checked.returncode == 3 and "Traceback" not in checked.stderr
    assert f"{tmp_path / 'state'}: это файл, а не папка" in checked.stderr
    validated = cli("config", "validate", str(config))
    assert validated.returncode == 2 and "monitor.state_dir" in validated.stderr and "это файл, а нужна папка" in validated.stderr
    for reader in ("status", "alerts"):  # the read-only commands say the same, not "run check": it refuses too
        read = cli(reader, *(["list"] if reader == "alerts" else []), "--config", str(config))
        assert read.returncode == 3 and f"{tmp_path / 'state'}: это файл, а не папка" in read.stderr


def test_a_corrupted_state_file_is_moved_aside_and_rebuilt_from_the_api(settings, simulator, caplog) -> None:
    settings.monitor.state_dir.mkdir(parents=True)
    (settings.monitor.state_dir / Store.FILENAME).write_bytes(b"garbage, not SQLite" * 100)
    result = run_cycle(settings, "shop", now=NOW)
    damaged = list(settings.monitor.state_dir.glob("ozon-monitor.db.damaged-*"))
    assert len(damaged) == 1 and damaged[0].read_bytes().startswith(b"garbage")
    assert "moved to" in caplog.text and str(damaged[0]) in caplog.text
    assert result.sync.fetched["fbs"] > 0 and not result.sync.unchecked


def test_accounts_finding_the_state_file_damaged_at_once_keep_the_damaged_copy(tmp_path) -> None:
    """Each account's job opens the state file: one moves a damaged file aside, none moves the
    new file over the damaged copy."""
    garbage = b"garbage, not SQLite" * 100
    (tmp_path / Store.FILENAME).write_bytes(garbage)

    def open_and_close(_: int) -> Path | None:
        store = Store(tmp_path / Store.FILENAME)
        store.close()
        return store.moved_aside
    with ThreadPoolExecutor(4) as pool:
        moved = [path for path in pool.map(open_and_close, range(4)) if path]
    assert [p.read_bytes() for p in tmp_path.glob("ozon-monitor.db.damaged-*")] == [garbage]
    assert len(moved) == 1


@pytest.mark.skipif(os.geteuid() == 0 and shutil.which("setpriv") is None, reason="needs setpriv to drop root")
def private_mounts() -> bool:
    """Whether this machine lets a test mount a small or read-only disk in its own namespace."""
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True) if shutil.which("unshare") else None
    return probe is not None and probe.returncode == 0


def test_an_unwritable_state_dir_is_named_with_exit_3(write_config, tmp_path) -> None:
    """Permission bits do not stop root: as root the state directory is a read-only mount in a
    private namespace instead, so the test holds wherever the checkout lives."""
    state = tmp_path / "state"
    state.mkdir()
    config = write_config()
    check = f"{sys.executable} -m monitor check --config {config}"
    if os.geteuid() != 0:
        state.chmod(0o555)
        command = ["sh", "-c", check]
    elif private_mounts():
        command = ["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o ro tmpfs {state} && {check}"]
    else:
        pytest.skip("as root, needs a private mount namespace (unshare -m) to make the folder read-only")
    result = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=60)
    assert result.returncode == 3 and "Traceback" not in result.stderr, result.stderr
    assert str(state) in result.stderr and "нет прав на запись" in result.stderr


def test_a_full_disk_is_named_with_exit_3_and_nothing_committed_is_lost(write_config, tmp_path, simulator) -> None:
    state = tmp_path / "state"
    state.mkdir()
    config = write_config(base_url=simulator.base_url)
    if not private_mounts():
        pytest.skip("needs a private mount namespace (unshare -m) to make a small disk")
    script = (f"mount -t tmpfs -o size=900k tmpfs {state} && {sys.executable} -m monitor check --config {config}; "
              f"echo rc=$?; {sys.executable} -c \"import sqlite3; "
              f"print('rows', sqlite3.connect('{state}/ozon-monitor.db').execute('select count(*) from postings')"
              f".fetchone()[0])\"")
    result = subprocess.run(["unshare", "-m", "sh", "-c", script], env=ENV, capture_output=True, text=True,
                            timeout=120)
    assert "rc=3" in result.stdout and "закончилось место на диске" in result.stderr, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert int(result.stdout.split("rows ")[1]) > 0  # the pages committed before the disk filled stay


def test_a_storage_fault_is_told_through_the_channels_at_most_every_few_hours(write_config, tmp_path,
                                                                                receiver: Receiver) -> None:
    config = write_config(f'[[channels]]\ntype = "webhook"\nname = "hook"\nurl = "{receiver.url}"\n')
    settings = load_config(config)
    now = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)
    error = StorageError.of(settings.monitor.state_dir / Store.FILENAME, sqlite3.OperationalError(
        "database or disk is full"))
    assert watchdog.storage_fault(settings, error, now)
    assert not watchdog.storage_fault(settings, error, now + timedelta(hours=1))
    assert watchdog.storage_fault(settings, error, now + watchdog.STORAGE_NOTICE_EVERY)
    [first, _] = receiver.accepted().values()
    assert first["alerts"][0]["title"] == "ozon-monitor не может записать своё состояние"
    assert first["alerts"][0]["explanation"] == (
        f"{settings.monitor.state_dir / Store.FILENAME}: закончилось место на диске. Пока это так, мониторинг не "
        "работает. Освободите место: ничего не потеряно, следующий цикл продолжит.")
    assert (tmp_path / "out" / "notifications.jsonl").exists()  # the file channel too, without the state file


# --- the dead man's switch -------------------------------------------------------------------

def test_a_blind_account_and_a_stuck_channel_are_said_once_each_and_their_recovery_once(
        simulator, write_config, tmp_path, receiver: Receiver) -> None:
    config = write_config(f'[[channels]]\ntype = "webhook"\nname = "dead"\nurl = "http://127.0.0.1:9/x"\n'
                          f'timeout_seconds = 2\n[[channels]]\ntype = "webhook"\nname = "hook"\n'
                          f'url = "{receiver.url}"\n', base_url=simulator.base_url)
    settings = load_config(config)
    run_cycle(settings, "shop", now=NOW)  # a sales stop: one message per channel
    deliver_all(settings, NOW)  # "dead" fails, "hook" and the file channel take it
    store = Store.in_dir(settings.monitor.state_dir)
    later = NOW + timedelta(hours=4)  # no sync for 4 hours, and "dead" stuck since NOW
    assert sorted(watchdog.check(settings, store, later)) == ["blind:shop", "undeliverable:dead"]
    assert watchdog.check(settings, store, later + timedelta(minutes=10)) == []  # said once
    titles = [b["alerts"][0]["title"] for b in receiver.accepted().values() if b["id"].startswith("monitor-")]
    assert titles == ["ozon-monitor не может следить за магазином"] * 2
    store.close()
    run_cycle(settings, "shop", now=later + timedelta(minutes=20))  # the sync works again
    store = Store.in_dir(settings.monitor.state_dir)
    assert watchdog.check(settings, store, later + timedelta(minutes=20)) == ["blind:shop"]  # recovered, once
    assert watchdog.check(settings, store, later + timedelta(minutes=30)) == []
    store.close()
    said = [b for b in receiver.accepted().values() if b["id"].startswith("monitor-")]
    assert [b["alerts"][0]["event"] for b in said] == ["firing", "firing", "resolved"]
    lines = (tmp_path / "out" / "notifications.jsonl").read_text(encoding="utf-8").splitlines()
    assert sum('"rule": "monitor"' in line for line in lines) == 3  # the file channel heard all three


def test_a_webhook_that_hangs_is_a_retryable_failure_and_the_message_is_not_lost(
        write_config, receiver: Receiver, tmp_path) -> None:
    receiver.hold_first = 5
    config = write_config(f'[[channels]]\ntype = "webhook"\nname = "hook"\nurl = "{receiver.url}"\n'
                          'timeout_seconds = 1\n')
    settings = load_config(config)
    store = Store.in_dir(settings.monitor.state_dir)
    from tests.test_shops import make_event
    from monitor import outbox
    with store.transaction():
        outbox.enqueue(store, "shop", [make_event("shop", 1)], settings.channels, settings.alerts,
                       settings.monitor.tz, NOW)
    store.close()
    first = deliver_all(settings, NOW)
    again = deliver_all(settings, NOW + timedelta(minutes=5))
    assert (first.delivered, first.failed) == (1, 1) and (again.delivered, again.failed) == (1, 0)
    ids = receiver.ids()
    assert len(ids) == 2 and len(set(ids)) == 1  # the retry carries the same id: a receiver drops the repeat


def test_a_state_file_locked_by_another_process_is_waited_for_not_failed(synced_shop) -> None:
    settings, _, _ = synced_shop
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sqlite3, sys, time; db = sqlite3.connect(sys.argv[1], isolation_level=None); "
        "db.execute('begin exclusive'); print('locked', flush=True); time.sleep(3); db.execute('commit')"),
        str(settings.monitor.state_dir / Store.FILENAME)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    started = time.monotonic()
    result = run_cycle(settings, "shop", now=NOW + timedelta(minutes=10))
    assert holder.wait(timeout=10) == 0
    assert time.monotonic() - started >= 2 and not result.sync.unchecked and "fbs" in result.sync.fetched


def test_a_second_daemon_on_the_same_state_refuses_and_names_the_first(write_config, tmp_path) -> None:
    config = write_config(base_url="http://127.0.0.1:9")
    with Daemon(config, log=tmp_path / "first.log") as first:
        first.wait_for("запущен:", timeout=20)
        second = cli("run", "--config", str(config), timeout=30)
        assert second.returncode == 3 and "Traceback" not in second.stderr
        assert f"Монитор уже запущен (процесс {first.process.pid}) с папкой состояния {tmp_path / 'state'}" \
            in second.stderr
        first.stop()
    assert first.process.returncode == 0
    with Daemon(config, log=tmp_path / "again.log") as again:
        again.wait_for("запущен:", timeout=20)  # the lock went with the first daemon
        again.stop()
    assert again.process.returncode == 0


def test_an_account_that_never_syncs_is_said_blind_once_after_blind_after_minutes(write_config, tmp_path) -> None:
    settings = load_config(write_config(base_url="http://127.0.0.1:9"))  # every cycle fails from the start
    start = datetime.now(timezone.utc)
    said = []
    for minutes in range(0, 220, 20):  # failing cycles rewrite their cursors each time
        fake = FakeTime()  # the second connection try waits a second: fake
        run_cycle(settings, "shop", now=start + timedelta(minutes=minutes), clock=fake.clock, sleep=fake.sleep)
        store = Store.in_dir(settings.monitor.state_dir)
        said += watchdog.check(settings, store, start + timedelta(minutes=minutes))
        store.close()
    assert said == ["blind:shop"]  # at 180+ minutes of the first failure, once
    notices = [json.loads(line) for line in (tmp_path / "out" / "notifications.jsonl").read_text().splitlines()
               if '"rule": "monitor"' in line]
    assert len(notices) == 1 and "Since" not in notices[0]["events"][0]["explanation"]
    assert "не удаётся загрузить заказы магазина «shop»" in notices[0]["events"][0]["explanation"]


# --- every error class, through a whole cycle, as the seller sees it ---------------------------

LATER = NOW + timedelta(hours=1)  # every source is due again, the sales stop is five hours old
ERROR_CLASSES = {  # kind -> (fault, the finding's entity, its severity, the sales rules still judge)
    "key_rejected": (Fault(method="*", kind="auth", times=1000), "key_rejected", "critical", False),
    "account_blocked": (Fault(method="*", kind="blocked", times=1000), "account_blocked", "critical", False),
    "missing_role": (Fault(method=api.RETURNS_LIST, kind="missing_role"), "sources:missing_role", "warning", True),
    "method_retired": (Fault(method=api.FBO_STOCKS, kind="gone"), "sources:method_retired", "warning", True),
    "bad_request": (Fault(method=api.FBS_LIST, status=400, times=1000), "postings", "critical", False),
    "rate_limited": (Fault(method=api.FBS_LIST, status=429, retry_after=1, times=1000), "postings", "critical",
                     False),
    "server_error": (Fault(method=api.FBS_LIST, status=503, times=1000), "postings", "critical", False),
    "bad_response": (Fault(method=api.FBS_LIST, kind="malformed", times=1000), "postings", "critical", False),
    "unreachable": (None, "postings", "critical", False),  # the API's port is closed
}


@pytest.mark.parametrize("kind", ERROR_CLASSES)
def test_each_error_class_reaches_the_seller_as_its_own_finding(synced_shop, kind: str) -> None:
    """The client's error class is what the seller is told (habit 17): a missing role on returns
    is a warning naming the method, never a rejected key, and the sales stop is still reported;
    a failing postings feed is the critical "cannot see orders" with its cause and holds back the
    sales rules. Budgets and backoff run on fake time."""
    settings, server, clock = synced_shop
    fault, entity, severity, sales_judged = ERROR_CLASSES[kind]
    if fault is None:
        settings = settings.model_copy(update={"accounts": [settings.accounts[0].model_copy(
            update={"base_url": "http://127.0.0.1:9"})]})
    else:
        server.simulator.add_fault(fault)
    clock.now = LATER
    fake = FakeTime()
    result = run_cycle(settings, "shop", now=LATER, clock=fake.clock, sleep=fake.sleep)
    access = [f for f in result.findings if f.rule == "api_access"]
    assert [(f.entity, f.severity) for f in access] == [(entity, severity)]
    [found] = access
    assert found.evidence.error_kind == kind
    rendered = result.rendered[found.fingerprint]
    said = f"{rendered.title}\n{rendered.explanation}"
    if kind in ("missing_role", "method_retired"):
        assert fault is not None and fault.method in rendered.title
        assert ("добавьте ключу роль" if kind == "missing_role" else "Обновите ozon-monitor") in said
    elif entity == "postings":
        assert rendered.title.startswith("Монитор не видит заказы") and ERROR_KINDS["ru"][kind] in said
    sales = [f for f in result.findings if f.rule in ("sales_drop", "sales_stopped") and f.severity == "critical"]
    assert bool(sales) == sales_judged  # the stop is a critical sales_drop of the whole shop when judged
    stored = Store.in_dir(settings.monitor.state_dir)
    try:
        source = next(iter(found.evidence.sources))
        assert stored.cursor("shop", source).error_kind == kind
    finally:
        stored.close()


# --- a harsher world: the second round (docs/RELIABILITY.md) -----------------------------------

@pytest.mark.parametrize("source", ["file with BOM and CRLF", "variable with a newline"])
def test_a_secret_saved_by_a_windows_editor_or_echo_is_read(write_config, synced_shop, monkeypatch, tmp_path,
                                                             capsys, source: str) -> None:
    settings, server, _ = synced_shop
    config = settings.monitor.state_dir.parent / "config.toml"
    if source.startswith("file"):
        (config.parent / "key.txt").write_bytes("\ufeffdemo-key\r\n".encode())
    else:
        monkeypatch.setenv("SHOP_KEY", "demo-key\n")
        config.write_text(config.read_text().replace('api_key_file = "key.txt"', 'api_key_env = "SHOP_KEY"'))
    assert main(["check", "--config", str(config)]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("content, said", [("demo-key\nother-key\n", "в файле несколько строк"),
                                           ("demo key", "в ключе пробелы")])
def test_a_secret_that_cannot_be_a_key_names_its_file(write_config, tmp_path, capsys, content: str,
                                                      said: str) -> None:
    config = write_config()
    (tmp_path / "key.txt").write_text(content)
    assert main(["check", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"api_key_file: {tmp_path / 'key.txt'}: {said}" in err and "Traceback" not in err
    assert "demo" not in err


def test_a_config_saved_with_a_byte_order_mark_and_crlf_is_read(write_config) -> None:
    config = write_config()
    config.write_bytes(b"\xef\xbb\xbf" + config.read_bytes().replace(b"\n", b"\r\n"))
    assert load_config(config).accounts[0].name == "shop"


def test_no_bot_token_in_the_output_at_any_verbosity(write_config, tmp_path, receiver: Receiver) -> None:
    """httpx logs every request's URL at -v, and a Bot API URL carries the token in its path."""
    token = "8123456789:AAF-secret-part-of-the-token"
    (tmp_path / "bot").write_text(token)
    base = receiver.url.removesuffix("/hook")
    config = write_config(f'[[channels]]\ntype = "telegram"\nname = "tg"\napi_url = "{base}"\ntoken_file = "bot"\n'
                          f'chat_id = "42"\n')
    outputs = [cli("-v", *command, "--config", str(config)) for command in (["test-alert"], ["check"])]
    assert len(receiver.received) == 2  # both reached the bot API (so their URLs were logged)
    for done in outputs:
        text = done.stdout + done.stderr
        assert "/bot***/sendMessage" in text
        assert token not in text and token.split(":")[0] not in text


def _numbers_as_strings(value: object) -> object:
    if isinstance(value, dict):
        return {k: _numbers_as_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers_as_strings(v) for v in value]
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _nested_nulls(value: object, depth: int = 0) -> object:
    if isinstance(value, dict):
        return {k: None if isinstance(v, dict) and depth > 1 else _nested_nulls(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_nested_nulls(v, depth + 1) for v in value]
    return value


def _naive_times(value: object) -> object:
    if isinstance(value, str) and len(value) > 19 and value[4:5] == "-" and value[10:11] == "T":
        return value[:19]
    if isinstance(value, dict):
        return {k: _naive_times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_naive_times(v) for v in value]
    return value


@pytest.fixture
def far_east_host() -> Iterator[None]:
    """The process's local zone is Vladivostok's (UTC+10) for the test."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Vladivostok"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.mark.parametrize("change", [_numbers_as_strings, _nested_nulls, _naive_times],
                         ids=["numbers as strings", "null nested objects", "times without a zone"])
def test_plausible_answers_are_read_not_refused(change, write_config, tmp_path, far_east_host) -> None:
    """Every answer of every method changed as Ozon might: the whole sync still stores every
    source, and the stored times are the same as from the original answers (UTC, on a host in
    Vladivostok as anywhere)."""
    world = World(Scenario(seed=3, skus=30, orders_per_day=30, history_days=10,
                           incidents=[Incident("returns_spike", start=NOW - timedelta(days=8), rate=0.5)]))
    simulator = Simulator(world, clock=lambda: NOW)
    plain = simulator.api.routes.copy()
    simulator.api.routes = {method: (lambda route: lambda body, now: change(route(body, now)))(route)
                            for method, route in plain.items()}
    with SimulatorServer(simulator) as server:
        settings = load_config(write_config(base_url=server.base_url))
        result = run_cycle(settings, "shop", now=NOW)
    assert result.sync.unchecked == {}, result.sync.unchecked
    store = Store.in_dir(settings.monitor.state_dir)
    try:
        for table in TABLES:
            if change is _nested_nulls and table.name in ("fees", "price_timers"):
                continue  # a charge line, a product's prices are nested objects: nulled, none has a floor to time
            assert store.count(table, "shop") > 0, table.name
        stored = {n: at for n, at in store.tuples(POSTINGS, "select posting_number, created_at from postings")}
    finally:
        store.close()
    truth = {o.posting_number: o.created_at for o in world.orders(NOW - timedelta(days=35), NOW, NOW)}
    assert {n: datetime.fromisoformat(at) for n, at in stored.items()} == \
        {n: at.replace(microsecond=0) if change is _naive_times else at for n, at in truth.items()}


def test_an_unreadable_item_is_skipped_and_said_and_the_rest_is_kept(caplog) -> None:
    from monitor.ozon import models as m
    from monitor.ozon.client import parse
    good = {"posting_number": "1-1-1", "status": "delivered", "in_process_at": "2026-11-18T10:00:00Z",
            "products": [{"sku": 1, "quantity": 1}]}
    page = parse(api.FBO_LIST, {"postings": [good, {"status": "delivered"}]}, m.PostingPage)
    assert [p.posting_number for p in page.postings] == ["1-1-1"]
    assert "1 record(s) of this page could not be read" in caplog.text and "postings.1.posting_number" in caplog.text


def test_a_429_on_the_once_a_minute_method_defers_it_instead_of_outwaiting_the_budget(synced_shop) -> None:
    """`/v1/analytics/data` is allowed once a minute: its retry's slot falls after a 20 s budget,
    so it is deferred to the next cycle and said so, never waited for."""
    settings, server, clock = synced_shop
    settings = settings.model_copy(update={"monitor": settings.monitor.model_copy(
        update={"cycle_budget_seconds": 20.0})})
    server.simulator.add_fault(Fault(method=api.ANALYTICS_DATA, status=429))
    clock.now = LATER
    fake = FakeTime()
    result = run_cycle(settings, "shop", now=LATER, clock=fake.clock, sleep=fake.sleep)
    assert fake.now <= 20, fake.sleeps
    assert result.sync.errors["analytics"].kind == "out_of_time"
    assert "deferred to the next cycle" in result.sync.errors["analytics"].message
    assert set(result.sync.unchecked) == {"analytics"}  # the rest was read
    stored = Store.in_dir(settings.monitor.state_dir)
    try:
        assert stored.cursor("shop", "analytics").error_kind == "out_of_time"  # recorded, not silently dropped
    finally:
        stored.close()


def test_a_paging_cursor_that_cycles_fails_the_source_and_says_the_monitor_is_blind(synced_shop) -> None:
    settings, server, clock = synced_shop
    posting = {"posting_number": "0-0-1", "status": "delivered", "in_process_at": "2026-11-18T10:00:00Z",
               "products": [{"sku": 1, "quantity": 1, "offer_id": "A", "name": "a"}]}
    before = server.simulator.faulted.count(api.FBS_LIST)
    for cursor in ("b", "a", "b", "a"):  # the cursor goes round: "" -> b -> a -> b ...
        server.simulator.add_fault(Fault(method=api.FBS_LIST, status=200, body=json.dumps(
            {"postings": [posting], "has_next": True, "cursor": cursor})))
    clock.now = LATER
    result = run_cycle(settings, "shop", now=LATER)
    assert "came back to an earlier page" in result.sync.errors["fbs"].message
    assert server.simulator.faulted.count(api.FBS_LIST) - before == 3
    assert [(f.entity, f.severity) for f in result.findings if f.rule == "api_access"] == [("postings", "critical")]


def test_an_api_answering_a_byte_a_second_is_cut_off_by_the_requests_time_limit(write_config, drip_http,
                                                                                  capsys) -> None:
    config = write_config(base_url=f"http://127.0.0.1:{drip_http.port}", monitor="cycle_budget_seconds = 10\n")
    config.write_text(config.read_text().replace("timeout_seconds = 30.0", "timeout_seconds = 3.0"))
    started = time.monotonic()
    assert main(["check", "--config", str(config)]) == 1
    took = time.monotonic() - started
    out = capsys.readouterr().out
    assert took < 20, took  # one budget, not minutes of bytes
    assert "Ozon не отвечает вовремя" in out and "Монитор не видит заказы" in out


def _queue(store: Store, channels: list, now: datetime, long: bool = False) -> None:
    from monitor.config import AlertsSection
    from monitor.message import Event
    from monitor.outbox import enqueue
    text = "12 отправлений не переданы в доставку" + "".join(f"\nотправление {i}-1" for i in range(1500) if long)
    event = Event(event="firing", rule="shipment_deadline", severity="critical", fingerprint="fp", account="shop",
                  client_id=123456, title="Просрочена отгрузка", explanation=text, support_request=None,
                  started_at="2026-11-18T08:00:00+00:00", notified_at="2026-11-18T09:00:00+00:00",
                  support_topic=None, evidence={})
    with store.transaction():
        enqueue(store, "shop", [event], channels, AlertsSection(), ZoneInfo("Europe/Moscow"), now)


def test_a_smtp_server_that_greets_a_byte_a_second_never_holds_back_another_channel(tmp_path, drip_smtp) -> None:
    from monitor.channels import EmailConfig, FileConfig, build
    from monitor.outbox import deliver
    now = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)
    configs = [EmailConfig(type="email", name="mail", host="127.0.0.1", port=drip_smtp.port, security="plain",
                           sender="m@shop.example", to=["o@shop.example"], timeout_seconds=3),
               FileConfig(type="file", name="file", directory=tmp_path / "out")]
    store = Store(tmp_path / "state.db")
    _queue(store, configs, now)
    started = time.monotonic()
    done = deliver(store, build(configs), "ru", now, 24)
    took = time.monotonic() - started
    written = (tmp_path / "out" / "notifications.jsonl").stat().st_mtime - (time.time() - took)
    assert sorted(done.outcomes) == [("file", True), ("mail", False)]
    assert took < 5, took  # the mail's limit, not minutes of greeting
    assert written < 1.5, written  # the file channel did not wait for the mail server
    [row] = [r for r in store.undelivered() if r["channel"] == "mail"]
    assert "нет полного ответа за 3 с" in row["last_error"]
    store.close()


def test_a_recipient_the_smtp_server_refuses_is_named_and_retried_alone(tmp_path) -> None:
    from aiosmtpd.controller import Controller

    from monitor.channels import EmailConfig, build
    from monitor.outbox import deliver

    class Mailbox:
        def __init__(self) -> None:
            self.got: list[str] = []
            self.busy = {"ops@shop.example"}

        async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802 (aiosmtpd's name)
            if address in self.busy:
                return "450 4.2.1 mailbox busy, try later"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            self.got += envelope.rcpt_tos
            return "250 OK"
    box = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        now = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)
        configs = [EmailConfig(type="email", name="mail", host="127.0.0.1", port=port, security="plain",
                               sender="m@shop.example", to=["owner@shop.example", "ops@shop.example"])]
        store = Store(tmp_path / "state.db")
        _queue(store, configs, now)
        first = deliver(store, build(configs), "ru", now, 24)
        [row] = store.undelivered()
        assert first.failed == 1 and box.got == ["owner@shop.example"]
        assert "не принял адреса ops@shop.example (450 4.2.1 mailbox busy" in row["last_error"]
        assert "доставлено: owner@shop.example" in row["last_error"] and row["parked_at"] is None
        box.busy.clear()
        later = deliver(store, build(configs), "ru", now + timedelta(hours=1), 24)
        assert later.delivered == 1 and store.undelivered() == []
        assert box.got == ["owner@shop.example", "ops@shop.example"]  # the owner got it once
        store.close()
    finally:
        controller.stop()


def test_a_long_telegram_message_failing_midway_resumes_after_the_last_part_taken(tmp_path) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from monitor.channels import TelegramConfig, build
    from monitor.outbox import deliver
    taken: list[str] = []
    fail = {"at": 2}

    class Bot(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if len(taken) + 1 == fail["at"]:
                fail["at"] = 0
                answer, status = {"ok": False, "error_code": 502, "description": "Bad Gateway"}, 502
            else:
                taken.append(body["text"])
                answer, status = {"ok": True, "result": {"message_id": len(taken)}}, 200
            raw = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: object) -> None:
            pass
    server = ThreadingHTTPServer(("127.0.0.1", 0), Bot)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        (tmp_path / "bot").write_text("8123456789:AAF-token")
        now = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)
        configs = [TelegramConfig(type="telegram", name="tg", chat_id="42", token_file=tmp_path / "bot",
                                  api_url=f"http://127.0.0.1:{server.server_address[1]}")]
        store = Store(tmp_path / "state.db")
        _queue(store, configs, now, long=True)
        first = deliver(store, build(configs), "ru", now, 24)
        [row] = store.undelivered()
        assert first.failed == 1 and len(taken) == 1 and "часть 2 из" in row["last_error"]
        later = deliver(store, build(configs), "ru", now + timedelta(hours=1), 24)
        assert later.delivered == 1 and store.undelivered() == []
        assert len(taken) == len(set(taken)) >= 3  # every part once, none repeated
        store.close()
    finally:
        server.shutdown()


def test_sigterm_during_a_sync_against_a_fast_api_stops_at_once(write_config, live_simulator) -> None:
    """The cycle stops at the next page; the scheduler's shutdown must not then wait on the job
    (which once asked the stopping scheduler for its next run, and both waited out the grace).
    The page in flight is still awaited: on a loaded machine the in-process simulator may take
    seconds to answer it, so the bound is the grace, not a guess at the machine's speed."""
    config = write_config(base_url=live_simulator.base_url)
    with Daemon(config, verbose=True) as daemon:
        daemon.wait_for("/v4/posting/fbs/list")  # the first pages of postings are in
        took = daemon.stop()
    assert daemon.process.returncode == 0 and took < STOP_GRACE_SECONDS, (took, daemon.text[-1500:])
    assert "проверка прервана остановкой службы: магазин=shop" in daemon.text and "ждала ответа сети" not in daemon.text


def test_status_after_the_state_file_was_deleted_under_the_daemon_says_it_is_gone(synced_shop, capsys) -> None:
    settings, _, _ = synced_shop
    daemon_side = Store.in_dir(settings.monitor.state_dir)  # the daemon keeps its connection open
    try:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{settings.monitor.state_dir / Store.FILENAME}{suffix}").unlink(missing_ok=True)
        config = settings.monitor.state_dir.parent / "config.toml"
        assert main(["status", "--config", str(config)]) == 3
        err = capsys.readouterr().err
        assert f"{settings.monitor.state_dir / Store.FILENAME}: файла нет" in err and "disk I/O" not in err
    finally:
        daemon_side.close()
