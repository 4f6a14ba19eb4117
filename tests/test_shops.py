"""Several shops in one config: each message names one shop and carries only its alerts, a
failing shop never holds up the others, concurrent jobs share the state file, and two delivery
workers never send the same outbox row. Real simulators, a real receiver, a real SQLite file."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor import outbox
from monitor.channels import WebhookChannel, WebhookConfig
from monitor.cli import main
from monitor.config import AlertsSection, load_config
from monitor.cycle import deliver_all
from monitor.message import Event
from monitor.simulator import Incident, Scenario, Simulator, SimulatorServer, World
from monitor.store import Store
from tests.conftest import Daemon, account, config_file
from tests.receiver import Receiver

MSK = ZoneInfo("Europe/Moscow")


def shop_scenarios(now: datetime) -> dict[str, tuple[Scenario, str]]:
    """Five shops, each on its own simulated API: (scenario, the key the config gives)."""
    small = {"skus": 60, "orders_per_day": 60, "history_days": 36}
    return {
        "locked": (Scenario(seed=11, client_id=500001, api_key="right", **small), "revoked"),  # 401 on every call
        "stopped": (Scenario(seed=12, client_id=500002, **small,
                             incidents=[Incident("sales_stop", start=now - timedelta(hours=30))]), "demo-key"),
        "late": (Scenario(seed=13, client_id=500003, fbo_share=0.0, **small,
                          incidents=[Incident("late_shipments", start=now - timedelta(days=2), delay_hours=40)]),
                 "demo-key"),
        "quiet": (Scenario(seed=14, client_id=500004, **small), "demo-key"),
        "blocked": (Scenario(seed=15, client_id=500005, **small, incidents=[
            Incident("card_blocked", start=now - timedelta(hours=30), skus=(busiest(Scenario(seed=15, **small)),))]),
            "demo-key"),
    }


def busiest(scenario: Scenario) -> int:
    return max(World(scenario).products, key=lambda p: p.weight).sku


@pytest.fixture(scope="module")
def five_shops() -> Iterator[dict[str, tuple[SimulatorServer, Scenario, str]]]:
    """The five simulators on the real clock (the CLI and the daemon read it themselves)."""
    now = datetime.now(timezone.utc)
    with ExitStack() as stack:
        servers = {}
        for name, (scenario, key) in shop_scenarios(now).items():
            servers[name] = (stack.enter_context(SimulatorServer(Simulator(World(scenario)))), scenario, key)
        yield servers


def write_shops_config(tmp_path: Path, shops: dict[str, tuple[SimulatorServer, Scenario, str]], names: list[str],
                       url: str) -> Path:
    accounts = ""
    for name in names:
        server, scenario, key = shops[name]
        (tmp_path / f"{name}.key").write_text(key)
        accounts += account(name, server.base_url, f"{name}.key", client_id=scenario.client_id)
    return config_file(tmp_path, accounts, monitor="poll_minutes = 60\n",
                       channels=f'[[channels]]\ntype = "webhook"\nname = "hook"\nurl = "{url}"\n')


def assert_one_shop_per_message(receiver: Receiver, names: list[str]) -> dict[str, list[dict]]:
    """Every message names one configured shop and carries only that shop's alerts; return the
    alerts delivered per shop."""
    per_shop: dict[str, list[dict]] = {}
    for body in receiver.accepted().values():
        assert body["account"] in names
        assert {a["account"] for a in body["alerts"]} == {body["account"]}
        assert {a["client_id"] for a in body["alerts"]} == {body["client_id"]}
        per_shop.setdefault(body["account"], []).extend(body["alerts"])
    return per_shop


def test_check_with_several_shops_sends_one_shop_per_message_and_a_backlog_stays_apart(
        five_shops, tmp_path: Path, receiver: Receiver, capsys) -> None:
    names = ["locked", "stopped", "late", "quiet", "blocked"]
    receiver.refuse_first = 1  # the first message fails, so a backlog forms
    config = write_shops_config(tmp_path, five_shops, names, receiver.url)
    started = time.monotonic()
    assert main(["check", "--config", str(config)]) == 1  # a message failed (and the locked shop's key)
    took = time.monotonic() - started
    out = capsys.readouterr().out
    blocks = {block.split("»")[0]: block for block in out.split("Магазин «")[1:]}
    for name in names:
        failed = "\n  ! " in blocks[name]
        assert failed == (name == "locked"), f"{name}: {blocks[name][:300]}"
    assert "Ozon не принимает API-ключ или Client-Id" in blocks["locked"]
    settings = load_config(config)
    later = deliver_all(settings, datetime.now(timezone.utc) + timedelta(minutes=3))  # the retry of the backlog
    assert later.delivered == 1 and later.failed == 0
    per_shop = assert_one_shop_per_message(receiver, names)
    expected_rules = {"stopped": {"sales_drop"}, "late": {"shipment_deadline"}, "blocked": {"card_problems"}}
    for name in names:
        rules = {a["rule"] for a in per_shop.get(name, [])}
        assert expected_rules.get(name, set()) <= rules, (name, rules)
    assert "quiet" not in per_shop
    # the rejected key is said at once, in one alert, not one per source
    assert [(a["rule"], a["severity"], a["title"]) for a in per_shop["locked"]] == [
        ("api_access", "critical", "Ozon не принимает API-ключ магазина")]
    store = Store.in_dir(settings.monitor.state_dir)
    assert store.undelivered() == []
    store.close()
    assert took < 120


def test_the_daemon_runs_every_shop_at_once_without_locking_errors(five_shops, tmp_path: Path,
                                                                    receiver: Receiver) -> None:
    names = ["locked", "stopped", "late", "quiet", "blocked"]
    config = write_shops_config(tmp_path, five_shops, names, receiver.url)
    with Daemon(config) as daemon:
        daemon.wait_for(lambda: {"stopped", "late", "blocked", "locked"} <= {
            body["account"] for body in receiver.accepted().values()}, 120)
        daemon.stop(timeout=30)
    err = daemon.text
    assert daemon.process.returncode == 0, err[-2000:]
    assert "Traceback" not in err and "database is locked" not in err
    for name in ("stopped", "late", "quiet", "blocked"):
        assert f"проверка завершена: магазин={name} " in err
        assert f"account={name} source=" not in err  # no source of a healthy shop failed
    assert "account=locked" in err
    per_shop = assert_one_shop_per_message(receiver, names)
    assert {"stopped", "late", "blocked", "locked"} <= set(per_shop) and "quiet" not in per_shop


def make_event(account: str, number: int) -> Event:
    now = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc).isoformat()
    return Event(event="firing", rule="stock_out", severity="critical", fingerprint=f"{account}-{number}",
                 account=account, client_id=100 + number, title=f"{account} {number}", explanation="-",
                 started_at=now, notified_at=now, support_topic=None, support_request=None, evidence={})


def test_two_delivery_workers_started_together_send_each_row_once(tmp_path: Path, receiver: Receiver) -> None:
    receiver.delay = 0.05  # each send takes a moment, so the two workers overlap
    path = tmp_path / "state.db"
    now = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)
    configs = [WebhookConfig(type="webhook", name=f"hook{i}", url=receiver.url) for i in range(3)]
    store = Store(path)
    for shop in range(8):
        for round_ in range(2):  # two rows per channel and shop: they go out merged
            with store.transaction():
                outbox.enqueue(store, f"shop{shop}", [make_event(f"shop{shop}", round_)], configs, AlertsSection(),
                               MSK, now)
    rows = {r["id"] for r in store.undelivered()}
    store.close()
    channels = {c.name: WebhookChannel(c) for c in configs}
    barrier = threading.Barrier(2)
    results: list[outbox.Delivery] = []

    def worker() -> None:
        own = Store(path)
        barrier.wait()
        results.append(outbox.deliver(own, channels, "ru", now, 24))
        own.close()
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    ids = receiver.ids()
    assert len(ids) == len(set(ids)) == 8 * 3  # one message per channel and shop, none sent twice
    assert sum(r.delivered for r in results) == 24 and all(r.failed == 0 for r in results)
    parts = [part for r in results for message in r.sent for part in message.parts]
    assert sorted(parts) == sorted(rows)  # every row went out exactly once
    assert all(r.delivered > 0 for r in results), "one worker did everything: the race was not exercised"


def test_a_claim_of_a_live_worker_elsewhere_holds_until_it_expires_then_the_same_id_goes(
        tmp_path: Path, receiver: Receiver) -> None:
    store = Store(tmp_path / "state.db")
    now = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)
    config = WebhookConfig(type="webhook", name="hook", url=receiver.url)
    with store.transaction():
        outbox.enqueue(store, "shop", [make_event("shop", 1)], [config], AlertsSection(), MSK, now)
    [row] = store.undelivered()
    assert store.claim([row["id"]], "m-1", "another-host:4242:abcd", now, now + outbox.CLAIM_TTL)
    channels = {"hook": WebhookChannel(config)}
    assert outbox.deliver(store, channels, "ru", now + timedelta(minutes=1), 24).delivered == 0
    assert outbox.deliver(store, channels, "ru", now + outbox.CLAIM_TTL, 24).delivered == 1
    assert receiver.ids() == ["m-1"]  # the id the first worker chose: a receiver can drop a repeat
    store.close()
