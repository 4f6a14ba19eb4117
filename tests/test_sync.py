"""Every data source through the real client and the simulator over loopback: what is stored,
what a second run fetches, and how faults and missing rights are handled."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import Settings, load_config
from monitor.ozon import endpoints as api
from monitor.ozon.client import BadResponse, OzonClient
from monitor.simulator import Fault, Scenario, Simulator, SimulatorServer, World
from monitor.store import Store, Table
from monitor.sources import SOURCES, TABLES, sync_account
from monitor.sources.analytics import ANALYTICS_SKU_DAILY
from monitor.sources.base import account_info
from monitor.sources.postings import POSTINGS
from tests.conftest import NOW, FakeTime



def sync(settings: Settings, now=NOW, client: OzonClient | None = None):
    account = settings.accounts[0]
    store = Store.in_dir(settings.monitor.state_dir)
    own = client or OzonClient(account.base_url, account.client_id, account.secret().get_secret_value())
    try:
        return sync_account(own, store, account.name, settings.monitor, now), store
    finally:
        if client is None:
            own.close()


def test_first_run_stores_every_source(settings: Settings) -> None:
    report, store = sync(settings)
    assert report.errors == {}
    empty = [t.name for t in TABLES if store.count(t, "shop") == 0]
    assert empty == []
    info = account_info(store, "shop")
    assert info["subscription"] == "PREMIUM_LITE" and info["key_expires_at"] > NOW.isoformat()
    assert info["fbs_error_index"] is not None
    thresholds = {r["rating"]: r for r in store.db.query("select * from rating_thresholds")}
    assert thresholds["rating_on_time"]["danger"] == 90.0  # read from Ozon's answer, not hard-coded


def test_second_run_fetches_only_what_changed(settings: Settings, simulator: SimulatorServer) -> None:
    first, _ = sync(settings)
    calls_before = len(simulator.simulator.requests)
    second, store = sync(settings, NOW + timedelta(minutes=10))
    fresh = simulator.simulator.requests[calls_before:]
    assert set(second.fetched) == {"fbs", "fbo", "analytics"}  # the rest, the unfulfilled list too, is not due yet
    assert second.fetched["fbs"] < first.fetched["fbs"] / 20
    fbs_filter = next(body for method, body in fresh if method == api.FBS_LIST)["filter"]
    assert fbs_filter["last_changed_status_date"]["from"].startswith(
        (NOW - timedelta(minutes=settings.monitor.overlap_minutes)).strftime("%Y-%m-%dT%H:%M"))
    later = NOW + timedelta(minutes=10)
    served = {o.posting_number for o in simulator.simulator.world.orders(NOW - timedelta(days=35), later, later)}
    stored = [r["posting_number"] for r in store.db.query("select posting_number from postings")]
    assert len(stored) == len(served) and set(stored) == served  # the overlap re-read added no second row


def test_analytics_is_one_call_a_cycle_at_most_and_resumes_sku_pages(settings: Settings,
                                                                     simulator: SimulatorServer) -> None:
    sim = simulator.simulator
    sync(settings)
    first = sim.calls(api.ANALYTICS_DATA)
    assert [(b["dimension"], b["offset"]) for b in first] == [(["sku", "day"], 0)]
    assert first[0]["metrics"] == ["revenue", "ordered_units"]
    sync(settings, NOW + timedelta(seconds=30))  # a restart within the minute: no second call
    assert len(sim.calls(api.ANALYTICS_DATA)) == 1
    _, store = sync(settings, NOW + timedelta(minutes=2))
    assert [b["offset"] for b in sim.calls(api.ANALYTICS_DATA)] == [0, 1000]  # the next page, not a new job
    assert store.count(ANALYTICS_SKU_DAILY, "shop") > 0


def test_premium_plus_accounts_get_traffic_metrics(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    world = World(Scenario(seed=3, skus=40, orders_per_day=60, subscription="PREMIUM_PLUS"))
    with SimulatorServer(Simulator(world, clock=lambda: NOW)) as server:
        settings = load_config(write_config(base_url=server.base_url))
        sync(settings)
        _, store = sync(settings, NOW + timedelta(minutes=2))
        metrics = server.simulator.calls(api.ANALYTICS_DATA)[-1]["metrics"]
    assert "hits_view" in metrics and "conv_tocart" in metrics and len(metrics) <= 14
    assert store.db.execute("select count(*) from analytics_sku_daily where hits_view > 0").fetchone()[0] > 0


def test_a_missing_role_switches_one_source_off_and_says_which(settings: Settings,
                                                               simulator: SimulatorServer) -> None:
    simulator.simulator.add_fault(Fault(method=api.RETURNS_LIST, kind="missing_role"))
    report, store = sync(settings)
    assert set(report.errors) == {"returns"}
    assert "no role that allows this method (its roles: Admin read only)" in report.errors["returns"].message
    assert "products" in report.fetched and "fbs" in report.fetched
    later, _ = sync(settings, NOW + timedelta(hours=1))
    assert "switched off until" in later.errors["returns"].message
    assert len(simulator.simulator.calls(api.RETURNS_LIST)) == 0  # not asked again while switched off
    again, _ = sync(settings, NOW + timedelta(hours=7))
    assert "returns" in again.fetched


def test_a_retired_method_is_reported_and_not_retried(settings: Settings, simulator: SimulatorServer) -> None:
    simulator.simulator.add_fault(Fault(method=api.FBO_STOCKS, kind="gone", times=5))
    report, _ = sync(settings)
    assert "switched this method off" in report.errors["fbo_stocks"].message
    assert simulator.simulator.faulted.count(api.FBO_STOCKS) == 1  # asked once, not retried
    later, _ = sync(settings, NOW + timedelta(hours=23))
    assert "switched off until" in later.errors["fbo_stocks"].message
    assert simulator.simulator.faulted.count(api.FBO_STOCKS) == 1  # not asked again while switched off


def test_malformed_json_fails_one_source_and_the_next_run_recovers(settings: Settings,
                                                                   simulator: SimulatorServer) -> None:
    simulator.simulator.add_fault(Fault(method=api.FBO_LIST, kind="malformed"))
    report, _ = sync(settings)
    assert "not valid JSON" in report.errors["fbo"].message and "fbs" in report.fetched
    again, store = sync(settings, NOW + timedelta(minutes=5))
    assert "fbo" in again.fetched and again.fetched["fbo"] > 100  # the whole history, as it never synced
    assert store.db.execute("select count(*) from postings where scheme = 'fbo'").fetchone()[0] > 100


def test_unknown_extra_fields_are_ignored(settings: Settings, simulator: SimulatorServer) -> None:
    simulator.simulator.add_fault(Fault(method="*", kind="extra_fields", times=1000))
    report, store = sync(settings)
    assert report.errors == {} and store.count(POSTINGS, "shop") > 0


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def fast_client(settings: Settings, simulator: SimulatorServer, fake_time: FakeTime) -> OzonClient:
    """A client on the simulator whose backoff and pacing do not really sleep. The world's
    history is generated first, so only injected timeouts can outlast the client's timeout."""
    simulator.simulator.world.orders(NOW - timedelta(days=170), NOW, NOW)  # returns look back this far
    account = settings.accounts[0]
    return OzonClient(account.base_url, account.client_id, "demo-key", timeout=2.0, retry_budget=30,
                      sleep=fake_time.sleep, clock=fake_time.clock)


@pytest.mark.parametrize("fault, waits", [
    (Fault(method=api.FBS_LIST, status=429, times=2, retry_after=3), [3.0, 3.0]),
    (Fault(method=api.FBS_LIST, status=429, times=2), None),
    (Fault(method=api.FBS_LIST, status=503, times=3), None),
    (Fault(method=api.FBS_LIST, kind="timeout", delay=3.0, times=1), None),
])
def test_throttling_5xx_bursts_and_timeouts_are_ridden_out(settings: Settings, simulator: SimulatorServer,
                                                           fast_client: OzonClient, fake_time: FakeTime,
                                                           fault: Fault, waits: list[float] | None) -> None:
    simulator.simulator.add_fault(fault)
    report, store = sync(settings, client=fast_client)
    assert report.errors == {} and report.fetched["fbs"] > 0
    backoffs = [s for s in fake_time.sleeps if s > 0.1]  # pacing waits are 20 ms; backoffs are longer
    assert len(backoffs) == fault.times
    if waits:
        assert backoffs == waits


def test_a_5xx_storm_longer_than_the_budget_is_reported_and_loses_nothing(settings: Settings,
                                                                          simulator: SimulatorServer) -> None:
    account = settings.accounts[0]
    simulator.simulator.add_fault(Fault(method=api.FBS_LIST, status=500, times=50))
    fake = FakeTime()
    storm = OzonClient(account.base_url, account.client_id, "demo-key", retry_budget=20, sleep=fake.sleep,
                       clock=fake.clock)
    report, store = sync(settings, client=storm)
    assert "HTTP 500" in report.errors["fbs"].message and store.cursor("shop", "fbs").synced_until is None
    simulator.simulator.clear_faults()
    again, store = sync(settings, NOW + timedelta(minutes=10))
    assert again.fetched["fbs"] > 100  # the whole backfill, since the stormy run never completed it


def test_cursor_that_never_advances_is_a_bad_response(simulator: SimulatorServer) -> None:
    client = OzonClient(simulator.base_url, 123456, "demo-key")
    simulator.simulator.add_fault(Fault(method=api.FBS_LIST, status=200, times=10,
                                        body='{"postings": [], "cursor": "", "has_next": true}'))
    with pytest.raises(BadResponse, match="cursor did not advance"):
        list(api.fbs_postings(client, NOW - timedelta(days=1), NOW))


def test_each_source_declares_the_tables_the_migrations_made(tmp_path: Path) -> None:
    """A source's `Table` is what its pulls write and its readers read: on a migrated file
    every declared table has exactly its columns and primary key, so the two never drift."""
    store = Store(tmp_path / "state.db")
    for table in TABLES:
        handle = store.db.table(table.name)
        assert handle.columns_dict.keys() == table.columns.keys(), table.name
        assert tuple(handle.pks) == table.pk, table.name


def test_a_new_sources_table_is_made_by_its_first_save_and_extended_by_a_new_column(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    first = Table("campaigns", {"account": str, "id": int, "title": str}, pk=("account", "id"))
    assert store.rows(first, "select * from campaigns") == []
    assert store.save(first, [{"account": "a", "id": 1, "title": "x"}]) == 1
    later = Store(tmp_path / "state.db")  # a newer version of the source adds a column
    grown = Table("campaigns", {"account": str, "id": int, "title": str, "ends_at": str}, pk=("account", "id"))
    later.save(grown, [{"account": "a", "id": 2, "title": "y", "ends_at": "2026-12-01"}])
    assert [r["ends_at"] for r in later.rows(grown, "select * from campaigns order by id")] == [None, "2026-12-01"]


def test_a_source_comes_after_the_sources_it_needs() -> None:
    seen: set[str] = set()
    for source in SOURCES:
        assert set(source.needs) <= seen, source.name
        seen.add(source.name)
