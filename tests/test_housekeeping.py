"""Housekeeping and backup on a real state file: old rows go, recent ones and open alerts stay,
the space goes back to the disk, and a backup taken while another connection writes is whole."""
from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import load_config
from monitor.cycle import housekeeping, run_cycle
from monitor.store import Store, iso
from monitor.sources import TABLES, coverage
from monitor.sources.products import PRICE_HISTORY
from monitor.sources.stocks import STOCK_HISTORY
from monitor.sources.postings import POSTINGS
from tests.conftest import NOW


def test_housekeeping_drops_what_is_past_keeping_and_keeps_the_rest(simulator, write_config, tmp_path: Path) -> None:
    config = write_config("", base_url=simulator.base_url)
    config.write_text(config.read_text().replace("history_days = 35\n",
                                                 "history_days = 35\nkeep_raw_days = 35\nkeep_alerts_days = 30\n"))
    settings = load_config(config)
    run_cycle(settings, "shop", now=NOW)
    store = Store.in_dir(settings.monitor.state_dir)
    later = NOW + timedelta(days=10)
    cutoff = later - timedelta(days=35)
    before = {n: store.db.execute(f"select count(*) from postings where created_at {op} ?", [iso(cutoff)]).fetchone()[0]
              for n, op in (("old", "<"), ("recent", ">="))}
    for fingerprint, status, resolved in (("gone", "resolved", NOW - timedelta(days=40)),
                                          ("kept", "resolved", NOW - timedelta(days=5)), ("open", "firing", None)):
        store.save_alert({"fingerprint": fingerprint, "account": "shop", "rule": "stock_out", "status": status,
                          "severity": "warning", "started_at": iso(NOW - timedelta(days=60)),
                          "resolved_at": iso(resolved), "finding": "{}"})
    store.close()
    assert before["old"] > 0 and before["recent"] > 0

    deleted = housekeeping(settings, now=later)

    store = Store.in_dir(settings.monitor.state_dir)
    assert deleted["postings"] == before["old"] and deleted["alerts"] == 1
    assert store.db.execute("select count(*) from postings where created_at < ?", [iso(cutoff)]).fetchone()[0] == 0
    assert store.db.execute("select count(*) from postings").fetchone()[0] == before["recent"]
    assert {r["fingerprint"] for r in store.alerts(include_resolved=True)} >= {"kept", "open"}
    assert store.alert("gone") is None
    assert coverage(store, "shop")[0] == cutoff  # the rules are told where the history now starts
    assert store.db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    assert store.db.execute("PRAGMA freelist_count").fetchone()[0] == 0  # freed pages went back to the disk


def test_a_daily_history_the_rules_read_a_week_of_is_kept_two_weeks(tmp_path: Path) -> None:
    """100k SKUs a day for `keep_raw_days` would be 18 million rows of price history."""
    store = Store(tmp_path / "state.db")
    day = {age: (NOW - timedelta(days=age)).date().isoformat() for age in (5, 20)}
    store.save(PRICE_HISTORY, [{"account": "shop", "sku": 1, "day": day[age], "color_index": "GREEN", "tariffs": "{}"}
                               for age in day])
    store.save(STOCK_HISTORY, [{"account": "shop", "sku": 1, "type": "fbs", "day": day[20], "present": 3,
                                "reserved": 0}])
    deleted = store.prune(TABLES, NOW, timedelta(days=35), timedelta(days=730))
    assert deleted.get("price_history") == 1 and "stock_history" not in deleted
    assert [r[0] for r in store.db.execute("select day from price_history")] == [day[5]]


def test_an_old_state_file_is_converted_to_incremental_vacuum(tmp_path: Path) -> None:
    path = tmp_path / "ozon-monitor.db"
    with sqlite3.connect(path) as old:  # a file made before incremental vacuum was set
        old.execute("create table leftover (a)")
    store = Store(path)
    assert store.db.execute("PRAGMA auto_vacuum").fetchone()[0] == 0
    assert store.convert_to_incremental_vacuum() is True
    assert store.db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    assert store.convert_to_incremental_vacuum() is False  # once
    assert Store(tmp_path / "new.db").db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2


def test_backup_is_whole_while_another_connection_writes(synced_shop, tmp_path: Path, capsys) -> None:
    settings, _, _ = synced_shop
    config = str(tmp_path / "config.toml")
    stop = threading.Event()

    def write() -> None:
        writing, n = Store.in_dir(settings.monitor.state_dir), 0
        while not stop.is_set():
            n += 1
            writing.log_api_errors("shop", [(NOW, "/v1/roles", str(n))] * 50)
        writing.close()
    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert main(["backup", str(tmp_path / "copy.db"), "--config", config]) == 0
    finally:
        stop.set()
        writer.join()
    assert "Копия файла состояния записана в" in capsys.readouterr().out
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = Store.in_dir(settings.monitor.state_dir)
    assert copy.execute("select count(*) from postings").fetchone()[0] == stored.count(POSTINGS, "shop")
    assert copy.execute("select count(*) from api_errors").fetchone()[0] % 50 == 0  # whole transactions only
    assert main(["backup", str(tmp_path / "no" / "such" / "copy.db"), "--config", config]) == 3
    err = capsys.readouterr().err
    assert err.startswith(f"Копию не удалось записать в {tmp_path / 'no' / 'such' / 'copy.db'} (SQLite: ")
    assert "проверьте, что папка есть и в неё можно писать. Файл состояния не затронут." in err
    assert not list((tmp_path).glob(".copy.db.partial"))
    assert main(["backup", str(tmp_path), "--config", config]) == 2  # a folder: the copy needs a file name
    assert f"{tmp_path} — это папка; укажите имя файла копии, например {tmp_path / 'ozon-monitor-copy.db'}" \
        in capsys.readouterr().err


@pytest.mark.parametrize("command", [["status"], ["status", "--json"], ["alerts", "list"], ["alerts", "silences"],
                                     ["backup", "COPY"]])
def test_a_read_only_command_names_a_damaged_state_file_and_moves_nothing(write_config, tmp_path: Path, capsys,
                                                                          command: list[str]) -> None:
    config = write_config()
    state = tmp_path / "state"
    state.mkdir()
    (state / "ozon-monitor.db").write_text("not a database")
    argv = [str(tmp_path / "copy.db") if word == "COPY" else word for word in command]
    assert main([*argv, "--config", str(config)]) == 3
    err = capsys.readouterr().err
    assert f"{state / 'ozon-monitor.db'}: файл повреждён" in err and "ozon-monitor check" in err
    assert [p.name for p in state.iterdir()] == ["ozon-monitor.db"]  # nothing moved aside, nothing created
    assert (state / "ozon-monitor.db").read_text() == "not a database"
    assert not (tmp_path / "copy.db").exists()


def test_status_before_the_first_run_says_the_state_file_is_missing_and_creates_nothing(write_config,
                                                                                       tmp_path: Path, capsys) -> None:
    config = write_config()
    assert main(["status", "--config", str(config)]) == 3
    assert "ozon-monitor.db: файла нет" in capsys.readouterr().err
    assert not (tmp_path / "state" / "ozon-monitor.db").exists()


def test_shops_opening_a_new_state_file_at_once_all_get_it(tmp_path: Path) -> None:
    """`check` runs its shops side by side: each opens the state file, and on a first run they
    all find it new. Switching a file to WAL fails at once, without waiting, while another
    connection does the same; one in twenty such starts used to end in "locked"."""
    for attempt in range(40):
        path = tmp_path / f"{attempt}" / "ozon-monitor.db"
        path.parent.mkdir()
        failures: list[Exception] = []

        def open_it() -> None:
            try:
                Store(path).close()
            except Exception as exc:  # noqa: BLE001 (collected and asserted below)
                failures.append(exc)
        threads = [threading.Thread(target=open_it) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == [], f"attempt {attempt}: {failures[0]}"
        assert sqlite3.connect(path).execute("pragma journal_mode").fetchone()[0] == "wal"
