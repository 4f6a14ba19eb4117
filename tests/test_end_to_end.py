"""The whole monitor against the simulator over loopback: CLI, alert state, crash safety, daemon."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo
from pathlib import Path

from monitor import drafts
from monitor.cli import main
from monitor.config import load_config
from monitor.cycle import deliver_all, run_cycle
from monitor.simulator import Incident, Scenario, Simulator, SimulatorServer, World
from monitor.sources.postings import POSTINGS
from monitor.store import Store
from tests.conftest import NOW, Daemon
from tests.receiver import Receiver

ROOT = Path(__file__).resolve().parent.parent


def messages(directory: Path) -> list[dict]:
    """The complete lines of the file channel's log (the daemon may be writing the next one)."""
    log = directory / "notifications.jsonl"
    return [json.loads(line) for line in log.read_text(encoding="utf-8").split("\n")[:-1]] if log.exists() else []


def notifications(directory: Path) -> list[dict]:
    """Every alert event delivered to a file channel, across its digests."""
    return [event for message in messages(directory) for event in message["events"]]


def test_check_finds_the_stop_with_a_support_request_and_notifies_once(
        live_simulator: SimulatorServer, write_config: Callable[..., Path], tmp_path: Path, capsys) -> None:
    config = write_config(base_url=live_simulator.base_url)
    assert main(["check", "--config", str(config), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["unchecked"] == [] and answer["delivery"] == {"delivered": 1, "failed": 0}
    [finding] = answer["findings"]
    assert {"rule", "account", "severity", "fingerprint", "title", "started_at", "evidence",
            "support_request"} <= finding.keys()
    assert finding["rule"] == "sales_drop" and finding["severity"] == "critical"
    request = finding["support_request"]
    assert "Seller ID (Client-Id): 123456" in request and "МСК" in request and "Europe/Moscow" not in request
    assert f"{finding['evidence']['observed']} заказов" in request

    assert main(["check", "--config", str(config), "--json"]) == 0
    [again] = json.loads(capsys.readouterr().out)["findings"]
    assert again["fingerprint"] == finding["fingerprint"]
    sent = notifications(tmp_path / "out")
    assert [m["event"] for m in sent] == ["firing"]
    assert sent[0]["support_request"] == request
    drafts = list((tmp_path / "state" / "drafts").glob("*.txt"))
    assert len(drafts) == 1 and "Seller ID" in drafts[0].read_text(encoding="utf-8")


def test_check_text_output_is_in_english_when_configured(
        live_simulator: SimulatorServer, write_config: Callable[..., Path], capsys) -> None:
    config = write_config(base_url=live_simulator.base_url)
    config.write_text(config.read_text().replace("[monitor]\n", '[monitor]\nlanguage = "en"\n'))
    assert main(["check", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "No orders since " in out and 'In the support chat pick the section "Technical"' in out
    assert 'Shop "shop": synced' in out and "sent: 1 message" in out


def test_alert_resolves_once_when_sales_come_back(write_config: Callable[..., Path], tmp_path: Path) -> None:
    clock = {"now": NOW}
    scenario = Scenario(seed=3, orders_per_day=200, history_days=40,
                        incidents=[Incident("sales_stop", start=NOW - timedelta(hours=4), end=NOW + timedelta(hours=1))])
    with SimulatorServer(Simulator(World(scenario), clock=lambda: clock["now"])) as server:
        settings = load_config(write_config(base_url=server.base_url))
        first = run_cycle(settings, "shop", now=clock["now"])
        deliver_all(settings, clock["now"])
        clock["now"] = NOW + timedelta(hours=8)
        second = run_cycle(settings, "shop", now=clock["now"])
        third = run_cycle(settings, "shop", now=clock["now"] + timedelta(minutes=10))
        deliver_all(settings, clock["now"] + timedelta(minutes=10))
    assert [m.event for m in first.notified] == ["firing"]
    assert second.findings == [] and [m.event for m in second.notified] == ["resolved"]
    assert third.notified == []
    assert [m["event"] for m in notifications(tmp_path / "out")] == ["firing", "resolved"]
    [draft] = drafts.listed(settings.monitor.state_dir)
    assert draft.resolved and draft.subject.startswith("Тема обращения: Нет заказов с ")
    assert draft.path.read_text(encoding="utf-8").startswith("[РЕШЕНО] Больше не наблюдается")


def test_auth_failure_is_reported_and_nothing_is_judged(simulator: SimulatorServer,
                                                       write_config: Callable[..., Path], capsys) -> None:
    config = write_config(base_url=simulator.base_url, key="expired-key")
    assert main(["check", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "Ozon не принимает API-ключ или Client-Id" in out and "expired-key" not in out
    assert main(["-v", "check", "--config", str(config)]) == 1  # --verbose adds what Ozon said
    assert "Invalid Api-Key" in capsys.readouterr().out


def test_interrupted_sync_resumes_without_loss_or_duplicates(simulator: SimulatorServer,
                                                             write_config: Callable[..., Path]) -> None:
    settings = load_config(write_config(base_url=simulator.base_url))
    stop = threading.Event()

    def stop_after_three_pages(source: str, count: int) -> None:
        if count >= 300:
            stop.set()
    interrupted = run_cycle(settings, "shop", now=NOW, stop=stop, progress=stop_after_three_pages)
    assert interrupted.interrupted
    store = Store.in_dir(settings.monitor.state_dir)
    assert 0 < store.count(POSTINGS, "shop") < 1000
    store.close()
    run_cycle(settings, "shop", now=NOW)
    world = simulator.simulator.world
    truth = {o.posting_number for o in world.orders(NOW - timedelta(days=35), NOW, NOW)}
    db = sqlite3.connect(settings.monitor.state_dir / Store.FILENAME)
    stored = [row[0] for row in db.execute("select posting_number from postings")]
    assert set(stored) == truth


def test_kill_9_in_the_middle_of_a_sync_loses_and_duplicates_nothing(
        live_simulator: SimulatorServer, write_config: Callable[..., Path], tmp_path: Path) -> None:
    config = write_config(base_url=live_simulator.base_url)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "monitor", "check", "--config", str(config)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db_path = tmp_path / "state" / Store.FILENAME
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if sqlite3.connect(db_path).execute("select count(*) from postings").fetchone()[0] > 0:
                break
        except sqlite3.OperationalError:
            pass
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, "the sync finished before it could be killed"
    before = datetime.now(timezone.utc)
    assert main(["check", "--config", str(config)]) == 0
    db = sqlite3.connect(db_path)
    stored = {row[0] for row in db.execute("select posting_number from postings")}
    world = live_simulator.simulator.world
    truth = {o.posting_number for o in world.orders(before - timedelta(days=35) + timedelta(minutes=1), before, before)}
    assert truth <= stored  # nothing lost ...
    assert stored <= {o.posting_number for o in world.orders(before - timedelta(days=40), before, before)}  # or made up
    assert len(notifications(tmp_path / "out")) == 1


def test_daemon_runs_a_cycle_sends_the_summary_at_its_hour_and_stops_cleanly_on_sigterm(
        live_simulator: SimulatorServer, write_config: Callable[..., Path], tmp_path: Path) -> None:
    moscow = datetime.now(timezone.utc).astimezone(ZoneInfo("Europe/Moscow"))
    hour = max(moscow - timedelta(minutes=1), moscow.replace(hour=0, minute=0))  # its hour has just come
    config = write_config(base_url=live_simulator.base_url, digest=f'every = "daily"\nat = "{hour:%H:%M}"')
    with Daemon(config) as daemon:
        daemon.wait_for(lambda: bool(notifications(tmp_path / "out")))  # the first cycle notified
        daemon.wait_for(lambda: any(e["rule"] == "digest" for e in notifications(tmp_path / "out")))
        took = daemon.stop()
    [summary] = [e for e in notifications(tmp_path / "out") if e["rule"] == "digest"]
    assert summary["title"].startswith("Сводка за ") and "Монитор" in summary["explanation"]
    assert daemon.process.returncode == 0 and took < 10
    assert "остановлен" in daemon.text and "demo-key" not in daemon.text


def test_demo_shows_an_alert_with_its_support_request(tmp_path: Path, capsys) -> None:
    assert main(["-v", "demo", "--output", str(tmp_path / "demo")]) == 0
    captured = capsys.readouterr()
    out = captured.out
    demo_key = Scenario().api_key  # never printed, logged or written, even at -v
    assert demo_key not in out + captured.err
    assert not [p for p in (tmp_path / "demo").rglob("*")  # but in the key file the demo writes for itself
                if p.is_file() and p.suffix != ".key" and demo_key.encode() in p.read_bytes()]
    assert "[СРОЧНО] Падение продаж: Нет заказов с " in out and "Seller ID (Client-Id): 123456" in out
    for rule in ("Проблемы с карточками", "Всплеск возвратов", "Рейтинг продавца", "Доступ к данным Ozon"):
        assert f"] {rule}:" in out
    sent = messages(tmp_path / "demo" / "notifications")
    shops = [m["account"] for m in sent]
    # One message per shop; then the first shop's stop resolved, and the second's overdue postings
    # grew by half (47 to 70), which is said as a worsening, its draft rewritten with the new count.
    assert shops == ["demo-shop", "second-shop", "demo-shop", "second-shop"]
    [worse] = sent[3]["events"]
    assert (worse["event"], worse["rule"]) == ("escalated", "shipment_deadline")
    late = [d for d in drafts.listed(tmp_path / "demo" / "state") if d.name.startswith("shipment_deadline")]
    assert any(worse["title"] in d.path.read_text(encoding="utf-8") for d in late)
    for m in sent:
        assert {e["account"] for e in m["events"]} == {m["account"]}
    assert [e["event"] for e in sent[2]["events"]] == ["resolved"] and sent[2]["events"][0]["rule"] == "sales_drop"
    first_demo = [e for e in sent[0]["events"] if e["event"] == "firing"]
    assert len(first_demo) >= 5 and "Проверка 2: событий по магазинам demo-shop — 0, second-shop — 0; отправлено сообщений: 0." in out


def test_alert_and_draft_commands_work_on_the_synced_state(synced_shop, capsys) -> None:
    settings, _, _ = synced_shop
    deliver_all(settings, NOW)
    config = str(settings.monitor.state_dir.parent / "config.toml")
    capsys.readouterr()
    store = Store.in_dir(settings.monitor.state_dir)
    [alert] = store.open_alerts("shop")
    fingerprint = alert["fingerprint"]
    assert main(["alerts", "list", "--config", config]) == 0
    title, since, hint = capsys.readouterr().out.splitlines()
    assert title.startswith("  1. [СРОЧНО] открыта · shop · Падение продаж: Нет заказов с ")
    assert since.strip().startswith("с ") and since.endswith(f"МСК; код {fingerprint}") and "alerts ack НОМЕР" in hint
    assert main(["alerts", "ack", "2", "--config", config]) == 1  # no alert numbered 2, no fingerprint "2..."
    assert "Открытой проблемы «2» нет" in capsys.readouterr().err
    assert main(["alerts", "ack", "1", "--config", config, "--note", "looking"]) == 0
    assert capsys.readouterr().out.startswith("Проблема 1 принята")
    acked = store.alert(fingerprint)
    assert acked is not None and acked["ack_note"] == "looking" and acked["acked_at"] is not None
    assert main(["alerts", "ack", "1", "--config", config, "--note", "again"]) == 0  # said once, kept as it was
    assert capsys.readouterr().out.startswith("Проблема 1 уже принята ")
    assert store.alert(fingerprint) == acked
    before = datetime.now(timezone.utc)
    assert main(["alerts", "silence", "--config", config, "--rule", "stock_out", "--for", "2d",
                 "--reason", "supply booked"]) == 0
    [silence] = store.silences(before)
    until = datetime.fromisoformat(silence["until"])
    assert (silence["rule"], silence["reason"]) == ("stock_out", "supply booked")
    assert timedelta(days=2) <= until - before < timedelta(days=2, minutes=1)
    assert main(["alerts", "silence", "--config", config, "--rule", "nope", "--for", "2d", "--reason", "x"]) == 2
    assert "Правила nope нет" in capsys.readouterr().err and len(store.silences(before)) == 1
    assert main(["alerts", "silences", "--config", config]) == 0
    assert capsys.readouterr().out.startswith(f"#{silence['id']}  Заканчивается товар  до ")
    assert main(["alerts", "list", "--config", config]) == 0
    listed = capsys.readouterr().out
    assert "  1. [СРОЧНО] принята · shop" in listed and "; принята " in listed
    [draft] = drafts.listed(settings.monitor.state_dir)
    assert main(["drafts", "list", "--config", config]) == 0
    assert capsys.readouterr().out.startswith(f"{draft.name}  открыта  Тема обращения: Нет заказов")
    assert main(["drafts", "show", fingerprint, "--config", config]) == 0
    assert capsys.readouterr().out == draft.path.read_text(encoding="utf-8")
    assert main(["drafts", "show", "1", "--config", config]) == 0  # the number `alerts list` shows
    assert capsys.readouterr().out == draft.path.read_text(encoding="utf-8")
    assert main(["drafts", "show", "2", "--config", config]) == 1
    assert "Обращения «2» нет" in capsys.readouterr().err
    assert "Seller ID (Client-Id): 123456" in draft.path.read_text(encoding="utf-8")
    assert main(["status", "--config", config]) == 0
    status = capsys.readouterr().out
    assert "Очередь уведомлений: ждут отправки 0, не доставляются 0" in status
    store.close()


def test_check_exits_1_and_says_so_when_a_channel_is_down(live_simulator: SimulatorServer,
                                                          write_config: Callable[..., Path], capsys) -> None:
    config = write_config('[[channels]]\ntype = "webhook"\nname = "dead"\nurl = "http://127.0.0.1:9/hook"\n',
                          base_url=live_simulator.base_url)
    assert main(["check", "--config", str(config)]) == 1
    assert "не удалось отправить: 1 сообщение" in capsys.readouterr().out
    assert main(["status", "--config", str(config)]) == 0  # waiting for a retry, not yet undeliverable
    assert "Очередь уведомлений: ждут отправки 1, не доставляются 0" in capsys.readouterr().out


def test_test_alert_reports_each_channel_and_says_it_is_a_test(write_config, tmp_path, capsys) -> None:
    path = write_config('[[channels]]\ntype = "webhook"\nname = "dead"\nurl = "http://127.0.0.1:9/hook"\n'
                        'timeout_seconds = 2\n')
    assert main(["test-alert", "--config", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"file: записано в папку {tmp_path / 'out'}" in out and "dead: НЕ ОТПРАВЛЕНО: POST http://127.0.0.1:9/hook: не удалось связаться (ConnectError)" in out
    assert main(["test-alert", "--config", str(path), "--channel", "file"]) == 0
    [text] = [p.read_text() for p in (tmp_path / "out").glob("*.txt")][:1]
    assert text.startswith("Магазин «shop»: Проверка связи: уведомления ozon-monitor приходят сюда\n") and "[" not in text


def test_kill_9_between_state_change_and_delivery_delivers_once_with_the_same_id(
        live_simulator: SimulatorServer, write_config: Callable[..., Path], tmp_path: Path, receiver: Receiver) -> None:
    receiver.hold_first = 5  # long enough to kill the sender mid-delivery
    (tmp_path / "hook-secret").write_text("whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQ=")
    config = write_config(f'[[channels]]\ntype = "webhook"\nname = "hook"\n'
                          f'url = "{receiver.url}"\nsecret_file = "hook-secret"\n',
                          base_url=live_simulator.base_url)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "monitor", "check", "--config", str(config)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not receiver.received and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # the alert is committed, the delivery is in flight
    assert process.wait() == -signal.SIGKILL and len(receiver.ids()) == 1
    assert main(["check", "--config", str(config)]) == 0  # the restart finds the undelivered message
    ids = receiver.ids()
    assert len(ids) == 2 and ids[0] == ids[1]  # the same id: receivers dedupe
    db = sqlite3.connect(tmp_path / "state" / Store.FILENAME)
    assert db.execute("select count(*) from outbox where channel = 'hook' and delivered_at is null").fetchone()[0] == 0
    assert [e["event"] for e in notifications(tmp_path / "out")] == ["firing"]  # the file channel: once
