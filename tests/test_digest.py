"""The daily summary: what it says on a synced shop, that a blind feed is said rather than shown
as zeros, that it is due once a day at its hour in the seller's time, and that the daemon's step
queues it once and a channel gets it."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from monitor.cli import main
from monitor.config import load_config
from monitor.cycle import deliver_all
from monitor.digest import due, send_due, summary
from monitor.store import Store

from .conftest import NOW, account, config_file
from .test_end_to_end import messages

MSK = ZoneInfo("Europe/Moscow")


def test_the_summary_of_a_synced_shop_says_its_day_its_alerts_and_its_health(synced_shop, capsys) -> None:
    settings, _, _ = synced_shop
    store = Store.in_dir(settings.monitor.state_dir)
    try:
        event = summary(settings, store, "shop", NOW)  # synced at NOW: yesterday is whole
    finally:
        store.close()
    text = event.explanation
    assert event.title == "Сводка за 17.11.2026"
    assert "Заказы за 17.11.2026:" in text and "обычно в этот день недели" in text and " ₽" in text
    assert re.search(r"^Возвраты: \d+; отмены заказов: \d+ \(обычно \d+\)\.$", text, re.M), text
    assert "Открытые проблемы: 1" in text and "Падение продаж" in text and "Монитор работает" in text
    config = str(settings.monitor.state_dir.parent / "config.toml")
    assert main(["digest", "--config", config]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Магазин «shop» (Client-Id 123456): Сводка за ")
    assert main(["digest", "--config", config, "--shop", "nope"]) == 2


def test_a_feed_behind_the_day_is_said_not_shown_as_zeros(synced_shop) -> None:
    settings, _, _ = synced_shop
    store = Store.in_dir(settings.monitor.state_dir)
    try:
        text = summary(settings, store, "shop", NOW + timedelta(days=3)).explanation  # synced up to NOW only
    finally:
        store.close()
    assert "загружены не полностью" in text and "₽ (обычно" not in text and "не обновляются с 18.11.2026" in text


def test_a_summary_is_due_once_a_day_at_its_hour_in_the_sellers_time() -> None:
    nine = datetime(2026, 11, 18, 9, 0, tzinfo=MSK)
    assert not due("daily", "09:00", MSK, None, nine - timedelta(minutes=1))
    assert due("daily", "09:00", MSK, None, nine)
    assert not due("daily", "09:00", MSK, nine, nine + timedelta(hours=5))  # sent today
    assert due("daily", "09:00", MSK, nine, nine + timedelta(days=1))
    assert not due("off", "09:00", MSK, None, nine)
    monday = datetime(2026, 11, 16, 9, 0, tzinfo=MSK)
    assert due("weekly", "09:00", MSK, monday - timedelta(days=2), nine)  # Wednesday: Monday's is still owed
    assert not due("weekly", "09:00", MSK, monday, nine)


def test_the_daemon_step_queues_it_once_and_the_channel_gets_it_in_quiet_hours(synced_world, tmp_path) -> None:
    import shutil

    shutil.copytree(synced_world.state_dir, tmp_path / "state")
    config = config_file(tmp_path, account(base_url=synced_world.server.base_url), digest='every = "daily"',
                         body='[alerts]\nquiet_hours = "08:00-23:00"\n')
    settings = load_config(config)
    store = Store.in_dir(settings.monitor.state_dir)
    store.record_cycle("shop", NOW, NOW, None)  # the shop's first check is done: a summary may follow
    store.close()
    nine = datetime.combine((NOW + timedelta(days=1)).astimezone(MSK).date(), datetime.min.time(), MSK) \
        + timedelta(hours=9, minutes=3)
    assert send_due(settings, nine.astimezone(timezone.utc)) == 1
    assert send_due(settings, nine.astimezone(timezone.utc) + timedelta(minutes=5)) == 0  # once
    deliver_all(settings, nine.astimezone(timezone.utc))
    [sent] = [e for m in messages(tmp_path / "out") for e in m["events"] if e["rule"] == "digest"]
    assert sent["title"] == "Сводка за 18.11.2026" and "Открытые проблемы: 1" in sent["explanation"]
