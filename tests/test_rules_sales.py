"""sales_drop on data from the simulator's world model (pure Python, no HTTP)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from scipy import stats

from monitor.simulator import Incident, Scenario, World
from monitor.simulator.world import MSK
from rules import AccountData, Order
from rules.sales import SalesDropConfig, sales_drop
from rules.stats import low_count_p_value
from tests.conftest import NOW

HISTORY = timedelta(days=35)


def account_data(scenario: Scenario, now: datetime = NOW, history: timedelta = HISTORY,
                 keep=lambda order: True) -> AccountData:
    orders = [Order(o.posting_number, o.created_at, (o.sku,))
              for o in World(scenario).orders(now - history, now, now) if keep(o)]
    return AccountData("shop", 123456, now, orders, now - history, tz=MSK)


def test_fires_critical_on_a_full_stop_and_dates_it_by_the_last_order() -> None:
    stop = NOW - timedelta(hours=4)
    data = account_data(Scenario(seed=1, orders_per_day=150, incidents=[Incident("sales_stop", start=stop)]))
    [finding] = sales_drop(data, SalesDropConfig())
    assert finding.severity == "critical"
    assert finding.evidence.observed == 0
    assert stop - timedelta(hours=1) < finding.started_at <= stop
    assert finding.evidence.window_hours == 4  # whole hours since the last order: none in them
    assert finding.evidence.expected >= 20  # orders due since the last one
    assert finding.affected_skus  # the SKUs that usually sell in these hours


def test_a_stop_is_called_once_enough_orders_were_due_not_after_fixed_hours() -> None:
    """Night hours bring few orders: the same silence means less at 03:00 than at 13:00."""
    config = SalesDropConfig()
    night = datetime(2026, 11, 18, 0, 0, tzinfo=MSK)  # a stop at midnight Moscow time
    scenario = Scenario(seed=3, orders_per_day=200, incidents=[Incident("sales_stop", start=night)])
    assert sales_drop(account_data(scenario, now=night + timedelta(hours=1)), config) == []
    day = datetime(2026, 11, 18, 13, 0, tzinfo=MSK)
    scenario = Scenario(seed=3, orders_per_day=200, incidents=[Incident("sales_stop", start=day)])
    [finding] = sales_drop(account_data(scenario, now=day + timedelta(hours=1)), config)
    assert finding.severity == "critical"


def test_fires_warning_on_a_large_partial_drop_and_dates_it_near_its_onset() -> None:
    onset = NOW - timedelta(hours=8)
    incident = Incident("sales_drop", start=onset, factor=0.25)
    [finding] = sales_drop(account_data(Scenario(seed=2, orders_per_day=200, incidents=[incident])), SalesDropConfig())
    assert finding.severity == "warning"
    assert 0.5 <= finding.evidence.drop_share < 0.95
    assert abs(finding.started_at - onset) <= timedelta(hours=3)


@pytest.mark.parametrize("factor", [0.9, 0.8])
def test_quiet_on_a_near_miss_drop_smaller_than_min_drop(factor: float) -> None:
    incident = Incident("sales_drop", start=NOW - timedelta(hours=30), factor=factor)
    assert sales_drop(account_data(Scenario(seed=4, orders_per_day=300, incidents=[incident])), SalesDropConfig()) == []


@pytest.mark.parametrize("seed", range(8))
def test_quiet_on_normal_noise_at_any_hour_of_the_week(seed: int) -> None:
    world = World(Scenario(seed=100 + seed, orders_per_day=120, day_noise=0.15))
    for hours in range(0, 7 * 24, 7):  # 24 moments spread over a week, night and day
        now = NOW + timedelta(hours=hours)
        orders = [Order(o.posting_number, o.created_at, (o.sku,)) for o in world.orders(now - HISTORY, now, now)]
        data = AccountData("shop", 1, now, orders, now - HISTORY, tz=MSK)
        assert sales_drop(data, SalesDropConfig()) == [], f"false alarm at {now}"


def test_quiet_when_history_is_shorter_than_min_history_days() -> None:
    scenario = Scenario(seed=1, orders_per_day=150, incidents=[Incident("sales_stop", start=NOW - timedelta(hours=6))])
    assert sales_drop(account_data(scenario, history=timedelta(days=10)), SalesDropConfig()) == []
    assert sales_drop(account_data(scenario, history=timedelta(days=20)), SalesDropConfig())


def test_quiet_on_a_low_volume_seller_where_a_stop_cannot_be_told_from_chance() -> None:
    scenario = Scenario(seed=1, orders_per_day=4, incidents=[Incident("sales_stop", start=NOW - timedelta(hours=5))])
    assert sales_drop(account_data(scenario), SalesDropConfig()) == []


def test_a_listed_holiday_is_not_judged() -> None:
    scenario = Scenario(seed=1, orders_per_day=150, incidents=[Incident("sales_stop", start=NOW - timedelta(hours=4))])
    holiday = NOW.astimezone(MSK).date()
    assert sales_drop(account_data(scenario), SalesDropConfig(holidays=[holiday])) == []
    assert sales_drop(account_data(scenario), SalesDropConfig(holidays=[date(2026, 1, 1)]))


def test_a_shop_closed_on_sundays_is_not_called_stopped_on_a_sunday() -> None:
    sunday = datetime(2026, 11, 22, 15, 0, tzinfo=MSK)
    closed = lambda order: order.created_at.astimezone(MSK).weekday() != 6  # noqa: E731
    assert sales_drop(account_data(Scenario(seed=5, orders_per_day=150), now=sunday, keep=closed),
                      SalesDropConfig()) == []
    monday = sunday + timedelta(days=1)
    stopped = Scenario(seed=5, orders_per_day=150, incidents=[Incident("sales_stop", start=monday - timedelta(hours=4))])
    [finding] = sales_drop(account_data(stopped, now=monday, keep=closed), SalesDropConfig())
    assert finding.evidence.observed == 0


def test_one_busy_sku_falling_is_found_while_the_shop_is_fine_and_a_stopped_one_left_to_sales_stopped() -> None:
    probe = World(Scenario(seed=6, skus=40, orders_per_day=300))
    busy = sorted(probe.products, key=lambda p: -p.weight)[2].sku  # about a tenth of the shop's orders
    incident = Incident("sales_drop", start=NOW - timedelta(hours=30), skus=(busy,), factor=0.2)
    findings = sales_drop(account_data(Scenario(seed=6, skus=40, orders_per_day=300, incidents=[incident])),
                          SalesDropConfig())
    assert [f.entity for f in findings] == [f"sku:{busy}"] and findings[0].evidence.observed > 0
    stopped = Incident("sales_stop", start=NOW - timedelta(hours=30), skus=(busy,))  # none at all: sales_stopped's
    assert sales_drop(account_data(Scenario(seed=6, skus=40, orders_per_day=300, incidents=[stopped])),
                      SalesDropConfig()) == []


def test_fingerprint_is_stable_across_cycles() -> None:
    scenario = Scenario(seed=1, orders_per_day=150, incidents=[Incident("sales_stop", start=NOW - timedelta(hours=4))])
    first = sales_drop(account_data(scenario), SalesDropConfig())
    later = sales_drop(account_data(scenario, now=NOW + timedelta(minutes=30)), SalesDropConfig())
    assert first[0].fingerprint == later[0].fingerprint


def test_overdispersed_history_is_judged_less_harshly_than_poisson() -> None:
    _, steady = low_count_p_value(10, [20, 20, 21, 19])
    _, volatile = low_count_p_value(10, [8, 35, 12, 25])
    assert steady == pytest.approx(stats.poisson.cdf(10, 20))
    assert volatile > steady * 10
