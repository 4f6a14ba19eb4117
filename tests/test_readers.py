"""Nothing is synced for nothing: every table the sync fills is read by the rules' input, and the
data that used to lie unread now decides: Ozon's FBS error index for cancellations, the daily
stock history for replaying stock_out."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from monitor import facts
from monitor.config import load_config
from monitor.cycle import run_cycle
from monitor.simulator import Incident, Scenario, Simulator, SimulatorServer, World
from monitor.store import Store
from monitor.sources import coverage
from monitor.sources.fbs_index import fbs_index
from rules.base import StockDay
from rules.replay import as_of
from rules.stock import StockOutConfig, stock_out
from tests.conftest import NOW

BOOKKEEPING = {"cursors", "_sqlite_migrations", "alerts", "outbox", "silences", "suppressed"}


def test_every_table_the_sync_fills_is_read_by_the_rules_input(settings, simulator) -> None:
    assert run_cycle(settings, "shop", now=NOW).sync.errors == {}
    store = Store.in_dir(settings.monitor.state_dir)
    filled = {t for t in store.db.table_names() if t not in BOOKKEEPING and store.db[t].count > 0}
    read: set[str] = set()
    store.db.conn.set_trace_callback(
        lambda sql: read.update(re.findall(r"\b(?:from|join)\s+(\w+)", sql, re.I)) if sql.lstrip().lower()
        .startswith("select") else None)
    since, until = coverage(store, "shop")
    facts.account_data(store, "shop", 123456, until, since, settings.monitor.tz, replay=True)  # backtest's reading
    store.db.conn.set_trace_callback(None)
    store.close()
    assert len(filled) >= 12
    assert filled - read == set(), f"synced but never read: {sorted(filled - read)}"


def test_cancellations_follow_ozons_own_error_index_and_its_postings(write_config: Callable[..., Path]) -> None:
    scenario = Scenario(seed=8, skus=80, orders_per_day=200, fbo_share=0.0, history_days=40,
                        incidents=[Incident("seller_cancellations", start=NOW - timedelta(days=10), rate=0.12)])
    with SimulatorServer(Simulator(World(scenario), clock=lambda: NOW)) as server:
        settings = load_config(write_config(base_url=server.base_url))
        result = run_cycle(settings, "shop", now=NOW)
    [found] = [f for f in result.findings if f.rule == "cancellations"]
    assert found.evidence.measured_by == "ozon_index"
    store = Store.in_dir(settings.monitor.state_dir)
    index = fbs_index(store, "shop")
    assert index is not None
    counted = {e.posting_number for e in index.errors}
    store.close()
    assert found.evidence.share_percent == round(index.value, 2) and found.evidence.charges > 0
    assert set(found.affected_postings) <= counted and len(found.affected_postings) >= found.evidence.cancelled
    assert result.rendered[found.fingerprint].explanation.startswith("Индекс ошибок FBS по данным Ozon")


def test_stock_out_replays_from_the_daily_stock_history(synced_shop) -> None:
    settings, _, _ = synced_shop
    store = Store.in_dir(settings.monitor.state_dir)
    since, until = coverage(store, "shop")
    data = facts.account_data(store, "shop", 123456, until, since, settings.monitor.tz)
    store.close()
    sku = max({o.skus[0] for o in data.orders if o.scheme == "fbs"},
              key=lambda s: sum(s in o.skus for o in data.orders if o.scheme == "fbs"))
    yesterday = data.local_date(NOW) - timedelta(days=1)
    history = [StockDay(sku, "fbs", yesterday - timedelta(days=3), 500), StockDay(sku, "fbs", yesterday, 0)]
    replayed = as_of(data.__class__(**{**data.__dict__, "stock_history": history}), NOW)
    [found] = [f for f in stock_out(replayed, StockOutConfig()) if sku in f.affected_skus]
    assert found.severity == "critical" and found.entity == "empty:fbs"
    earlier = as_of(data.__class__(**{**data.__dict__, "stock_history": history}), NOW - timedelta(days=2))
    assert not [f for f in stock_out(earlier, StockOutConfig()) if sku in f.affected_skus]  # still 500 then
