"""Money lost on a deadline: promotions below the seller's floor, the minimum-price guard
lapsing, acceptance acts waiting for an answer, supplies stuck on their way. End to end over
the simulator, then each rule on plain data."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from monitor.ozon import endpoints as api
from monitor.simulator import Fault, Incident, Scenario, World
from rules import Act, ActLine, Price, PromoProduct, Promotion, Supply
from rules.base import Override
from rules.promos import (AutoPromotionEvidence, AutoPromotionsConfig, CategoryFloor, PriceGuardConfig,
                          auto_promotions, floor_of, price_guard)
from rules.supplies import (AcceptanceActEvidence, AcceptanceActsConfig, StuckSuppliesEvidence, SuppliesStuckConfig,
                            acceptance_acts, supplies_stuck)
from tests.conftest import NOW
from tests.test_money import DEADLINE_RULES, busy, cycles, shop


SHOP = {"seed": 11, "skus": 50, "orders_per_day": 40}  # small: the deadlines do not need a big shop's history


def late_shop(*more: Incident) -> Scenario:
    probe = World(Scenario(**SHOP))
    return Scenario(**SHOP, history_days=10, incidents=[
        Incident("auto_promotions", start=NOW - timedelta(days=2), skus=(busy(probe, 0), busy(probe, 4))),
        Incident("price_guard", start=NOW - timedelta(days=1), days_left=3),
        Incident("acceptance_acts", start=NOW - timedelta(days=5), days_left=3, rate=0.25),
        Incident("supplies_stuck", start=NOW - timedelta(days=12), end=NOW - timedelta(days=9)),
        *more])


def test_each_deadline_is_found_over_http_with_its_money_and_date(write_config: Callable[..., Path]) -> None:
    scenario = late_shop(Incident("acceptance_acts", start=NOW - timedelta(days=2), scheme="fbs", days_left=5))
    _, result = cycles(scenario, write_config, NOW)  # the acts are read after the supplies in the same walk
    found: dict[str, list] = {}
    for f in result.findings:
        found.setdefault(f.rule, []).append(f)
    assert set(DEADLINE_RULES) <= found.keys(), sorted(found)
    [promo] = found["auto_promotions"]
    evidence = promo.evidence_as(AutoPromotionEvidence)
    probe = World(Scenario(**SHOP))
    assert {i.sku for i in evidence.items} == {busy(probe, 0), busy(probe, 4)}
    assert evidence.stage == "upcoming" and evidence.deadline is not None and evidence.deadline > NOW
    assert all(i.action_price < i.floor for i in evidence.items) and promo.at_stake is not None
    text = result.rendered[promo.fingerprint]
    assert "₽" in text.title and "Неделя скидок" in text.title and text.support_request is None
    fbo = [f for f in found["acceptance_acts"] if f.evidence_as(AcceptanceActEvidence).kind == "SHORTCOMING"]
    fbs = [f for f in found["acceptance_acts"] if f.evidence_as(AcceptanceActEvidence).kind == "FBS_MISMATCH"]
    assert fbo and fbs and all(f.at_stake is not None for f in fbo)
    first = min(fbo, key=lambda f: f.evidence_as(AcceptanceActEvidence).hours_left or 0)
    act = first.evidence_as(AcceptanceActEvidence)
    request = result.rendered[first.fingerprint].support_request or ""
    assert act.number in request and act.supply in request and f"заявлено {act.declared}" in request
    assert f"принято {act.accepted}" in request and act.units == act.declared - act.accepted > 0
    [stuck] = found["supplies_stuck"]
    supplies = stuck.evidence_as(StuckSuppliesEvidence)
    assert supplies.state == "IN_TRANSIT" and all(NOW - s.since >= timedelta(days=7) for s in supplies.supplies)
    assert supplies.supplies[0].number in (result.rendered[stuck.fingerprint].support_request or "")
    guard = [f.entity for f in found["price_guard"]]
    assert guard == ["guard:expiring"]


def test_a_key_without_the_role_for_the_acts_is_told_and_the_supplies_are_still_watched(
        write_config: Callable[..., Path]) -> None:
    _, result = cycles(late_shop(), write_config, NOW,
                       faults=[Fault(method=api.SUPPLY_ACTS, kind="missing_role", times=20)])
    assert "supply_acts" in result.sync.errors and "supplies" in result.sync.fetched
    [access] = [f for f in result.findings if f.rule == "api_access"]
    assert api.SUPPLY_ACTS in result.rendered[access.fingerprint].title
    assert {"supplies_stuck", "auto_promotions"} <= {f.rule for f in result.findings}
    assert "acceptance_acts" not in {f.rule for f in result.findings}


# --- the rules on plain data -------------------------------------------------------------------

NOON = datetime(2026, 11, 18, 12, tzinfo=timezone.utc)
PROMO = Promotion(7, "Чёрная пятница", NOON + timedelta(days=5), NOON + timedelta(days=12),
                  (NOON + timedelta(days=2),), NOON + timedelta(days=4))


def test_the_floor_is_the_sellers_own_then_the_cost_then_the_minimum_price() -> None:
    price = Price(5, 1000.0, 800.0, 500.0, 17, True)
    config = AutoPromotionsConfig(margin=0.2, categories=[CategoryFloor(ids=[17], margin=0.5)],
                                  overrides=[Override(skus=[9], floor=950.0)])
    assert floor_of(price, "", config) == (750.0, "cost")  # the category's margin over the cost
    assert floor_of(Price(9, 1000.0, 800.0, 500.0, 17, True), "", config) == (950.0, "floor")
    assert floor_of(Price(6, 1000.0, 800.0, 500.0, 3, True), "", config) == (600.0, "cost")
    assert floor_of(Price(6, 1000.0, 800.0, 0.0, 3, True), "", config) == (800.0, "min_price")
    assert floor_of(Price(6, 1000.0, 0.0, 0.0, 3, True), "", config) is None
    assert floor_of(Price(6, 1000.0, 0.0, 0.0, 3, True), "", AutoPromotionsConfig(floor=900.0)) == (900.0, "floor")


def test_a_promotion_is_told_days_before_its_auto_add_date_and_only_below_the_floor() -> None:
    data = shop(promotions=[PROMO], prices=[Price(5, 1000.0, 800.0, 0.0, 0, True), Price(6, 400.0, 300.0, 0.0, 0, True)],
                promo_products=[PromoProduct(7, 5, 600.0, False, PROMO.auto_add_at[0]),
                                PromoProduct(7, 6, 350.0, False, PROMO.auto_add_at[0])])
    [found] = auto_promotions(data, AutoPromotionsConfig())
    assert found.affected_skus == [5] and found.severity == "warning"
    assert auto_promotions(data, AutoPromotionsConfig(lead_days=1)) == []  # too early yet
    late = auto_promotions(replace(data, now=NOON + timedelta(days=1, hours=13)), AutoPromotionsConfig())
    assert [f.severity for f in late] == ["critical"]


def test_products_already_in_a_frozen_promotion_have_no_deadline_left() -> None:
    entered = PromoProduct(7, 5, 600.0, True, None)
    running = replace(shop(promotions=[PROMO], prices=[Price(5, 1000.0, 800.0, 0.0, 0, True)],
                           promo_products=[entered]), now=NOON + timedelta(days=6))
    [found] = auto_promotions(running, AutoPromotionsConfig())
    evidence = found.evidence_as(AutoPromotionEvidence)
    assert evidence.stage == "entered" and evidence.deadline is None
    assert auto_promotions(replace(running, now=NOON + timedelta(days=13)), AutoPromotionsConfig()) == []


def test_the_price_guard_is_told_before_it_lapses_and_when_it_is_off() -> None:
    prices = [Price(1, 900.0, 700.0, 0.0, 0, True, True, NOON + timedelta(days=3)),
              Price(2, 900.0, 700.0, 0.0, 0, True, True, NOON + timedelta(days=20)),
              Price(3, 900.0, 700.0, 0.0, 0, True, False, None),
              Price(4, 900.0, 700.0, 0.0, 0, False, False, None),  # Ozon may not promote it: nothing to guard
              Price(5, 900.0, 0.0, 0.0, 0, True, False, None)]  # no minimum price set: nothing lapsed
    found = {f.entity: f.affected_skus for f in price_guard(shop(prices=prices), PriceGuardConfig())}
    assert found == {"guard:expiring": [1], "guard:off": [3]}


def test_an_act_is_critical_in_its_last_day_and_gone_after_its_deadline() -> None:
    def act(hours_left: float) -> Act:
        return Act(1, "А-1", "SHORTCOMING", "AWAITING_APPROVAL_BY_SELLER", "2000123", NOON - timedelta(days=1),
                   NOON + timedelta(hours=hours_left), 30, 26, (ActLine(5, 20, 16, 500.0), ActLine(6, 10, 10, 90.0)))
    [early] = acceptance_acts(shop(acts=[act(50)]), AcceptanceActsConfig())
    [late] = acceptance_acts(shop(acts=[act(5)]), AcceptanceActsConfig())
    evidence = early.evidence_as(AcceptanceActEvidence)
    assert (early.severity, late.severity) == ("warning", "critical")
    assert evidence.units == 4 and evidence.value == 2000.0 and early.affected_skus == [5]
    assert acceptance_acts(shop(acts=[act(-1)]), AcceptanceActsConfig()) == []


def test_supplies_stuck_at_one_point_make_one_alert_and_a_moving_one_none() -> None:
    def supply(number: str, state: str, days: float) -> Supply:
        return Supply(int(number), number, state, NOON - timedelta(days=days), "Хоругвино", 100, 50_000.0)
    found = supplies_stuck(shop(supplies=[supply("1", "IN_TRANSIT", 9), supply("2", "IN_TRANSIT", 8),
                                          supply("3", "IN_TRANSIT", 2), supply("4", "ACCEPTANCE_AT_STORAGE_WAREHOUSE", 5),
                                          supply("5", "REPORTS_CONFIRMATION_AWAITING", 30)]), SuppliesStuckConfig())
    by_state = {f.evidence_as(StuckSuppliesEvidence).state: f.evidence_as(StuckSuppliesEvidence) for f in found}
    assert [s.number for s in by_state["IN_TRANSIT"].supplies] == ["1", "2"]
    assert [s.number for s in by_state["ACCEPTANCE_AT_STORAGE_WAREHOUSE"].supplies] == ["4"]
    assert len(found) == 2 and by_state["IN_TRANSIT"].value == 100_000.0
