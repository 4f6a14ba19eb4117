"""Every rule fires on its incident, stays quiet on normal data and on near-misses. Data comes
from the simulator's world model as the rules would see it (no HTTP, no database)."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from functools import cache

import pytest

from monitor.simulator import Incident, Scenario, World
from monitor.simulator.snapshot import account_data
from rules import RULES, AccountData, Order, SourceHealth, run_rules
from rules.logistics import StuckInDeliveryConfig, stuck_in_delivery
from tests.conftest import NOW

CONFIGS = {name: rule.Config() for name, rule in RULES.items()}


@cache
def busy_sku() -> int:
    probe = World(Scenario(seed=7, skus=150, orders_per_day=200))
    return sorted(probe.products, key=lambda p: -p.weight)[3].sku


def findings_for(*incidents: Incident, now: datetime = NOW, **scenario: object) -> list[tuple[str, str, str]]:
    world = World(Scenario(**{"seed": 7, "skus": 150, "orders_per_day": 200, **scenario}, incidents=list(incidents)))
    run = run_rules(account_data(world, now), CONFIGS)
    assert run.errors == {}
    return sorted((f.rule, f.severity, "cause" if f.entity.startswith("cause:") else f.entity) for f in run.findings)


@pytest.mark.parametrize("seed, volume", [(21, 40), (22, 150), (23, 400)])
def test_normal_months_are_quiet_for_every_rule(seed: int, volume: int) -> None:
    world = World(Scenario(seed=seed, skus=150, orders_per_day=volume))  # one world, judged at eight moments
    for hours in range(0, 14 * 24, 43):
        run = run_rules(account_data(world, NOW + timedelta(hours=hours)), CONFIGS)
        assert run.errors == {} and run.findings == [], (hours, [(f.rule, f.entity) for f in run.findings])


@pytest.mark.parametrize("incident, expected", [
    (Incident("sales_stop", start=NOW - timedelta(hours=3)), [("sales_drop", "critical", "account")]),
    (Incident("sales_drop", start=NOW - timedelta(hours=8), factor=0.3), [("sales_drop", "warning", "account")]),
    (lambda sku: Incident("sales_stop", start=NOW - timedelta(hours=30), skus=(sku,)),
     [("sales_stopped", "warning", "sku:{sku}")]),
    (lambda sku: Incident("returns_spike", start=NOW - timedelta(days=10), skus=(sku,), rate=0.4),
     [("returns_spike", "warning", "sku:{sku}")]),
    (Incident("late_shipments", start=NOW - timedelta(days=2)),
     [("shipment_deadline", "critical", "late"), ("shipment_deadline", "warning", "due")]),
    (Incident("seller_cancellations", start=NOW - timedelta(days=6), rate=0.1),
     [("cancellations", "warning", "seller_cancellations")]),
    (lambda sku: Incident("stock_out", start=NOW - timedelta(days=1), skus=(sku,), days_left=3),
     [("stock_out", "warning", "sku:{sku}:fbs")]),
    (lambda sku: Incident("stock_out", start=NOW - timedelta(days=4), skus=(sku,), days_left=3),
     [("stock_out", "critical", "empty:fbs")]),
    (lambda sku: Incident("card_blocked", start=NOW - timedelta(hours=2), skus=(sku,)),
     [("card_problems", "critical", "cause")]),
    (Incident("rating_slide", start=NOW - timedelta(days=5), rating="rating_on_time", days=10),
     [("rating_risk", "warning", "rating:rating_on_time")]),
    (Incident("commission_jump", start=NOW - timedelta(days=2), factor=0.25),
     [("finance_anomaly", "warning", "commission_share")]),
    (Incident("key_expiry", start=NOW - timedelta(days=1), days_left=6), [("api_access", "warning", "key_expiry")]),
    (Incident("lost_parcels", start=NOW - timedelta(days=20), rate=0.05),
     [("stuck_in_delivery", "warning", "stuck")]),
])
def test_each_incident_is_caught_by_its_rule(incident, expected) -> None:
    sku = busy_sku()
    made = incident(sku) if callable(incident) else incident
    assert findings_for(made) == sorted((r, s, e.format(sku=sku)) for r, s, e in expected)


def test_a_card_dropped_from_search_shows_in_traffic_before_orders() -> None:
    sku = busy_sku()
    drop = Incident("traffic_drop", start=NOW - timedelta(days=2), skus=(sku,), factor=0.3)
    assert findings_for(drop, subscription="PREMIUM_PLUS") == [("traffic_drop", "warning", f"sku:{sku}")]
    mild = Incident("traffic_drop", start=NOW - timedelta(days=2), skus=(sku,), factor=0.8)
    assert findings_for(mild, subscription="PREMIUM_PLUS") == []
    assert findings_for(drop) == []  # without Premium Plus/Pro there is no traffic data to judge


@pytest.mark.parametrize("incident", [
    lambda sku: Incident("sales_stop", start=NOW - timedelta(hours=2), skus=(sku,)),  # too short a gap yet
    lambda sku: Incident("returns_spike", start=NOW - timedelta(days=10), skus=(sku,), rate=0.06),
    lambda sku: Incident("seller_cancellations", start=NOW - timedelta(days=6), rate=0.015),
    lambda sku: Incident("stock_out", start=NOW - timedelta(days=1), skus=(sku,), days_left=30),
    lambda sku: Incident("rating_slide", start=NOW - timedelta(days=2), rating="rating_on_time", days=90),
    lambda sku: Incident("commission_jump", start=NOW - timedelta(days=2), factor=0.16),
    lambda sku: Incident("key_expiry", start=NOW - timedelta(days=1), days_left=40),
])
def test_near_misses_stay_quiet(incident) -> None:
    assert findings_for(incident(busy_sku())) == []


def test_a_blocked_card_silences_the_sales_stop_it_causes() -> None:
    sku = busy_sku()
    found = findings_for(Incident("card_blocked", start=NOW - timedelta(hours=40), skus=(sku,)))
    assert found == [("card_problems", "critical", "cause")]


def test_cards_blocked_for_one_reason_are_one_alert_and_the_sales_stop_they_cause_a_line_in_it() -> None:
    """All 60 cards of a shop blocked by one moderation decision: one card finding listing all
    60, and no sales alert of its own (the stop is explained: said in the card alert); a second
    reason on some of them later makes a second finding."""
    world = World(Scenario(seed=7, skus=60, orders_per_day=200, incidents=[
        Incident("card_blocked", start=NOW - timedelta(hours=6))]))
    run = run_rules(account_data(world, NOW), CONFIGS)
    [cards] = run.findings
    assert cards.rule == "card_problems" and len(cards.affected_skus) == 60 and cards.severity == "critical"
    assert cards.symptom is not None and cards.symptom.missing > 20 and cards.symptom.value > 0
    half = tuple(sorted(p.sku for p in world.products)[:30])
    later = World(Scenario(seed=7, skus=60, orders_per_day=200, incidents=[
        Incident("card_blocked", start=NOW - timedelta(hours=6)),
        Incident("card_blocked", start=NOW - timedelta(hours=1), skus=half, moderation="неверная категория")]))
    found = [f for f in run_rules(account_data(later, NOW), CONFIGS).findings if f.rule == "card_problems"]
    assert sorted(len(f.affected_skus) for f in found) == [30, 30] and cards.fingerprint in {f.fingerprint for f in found}


@pytest.mark.parametrize("seed, hours", [(1, 8), (2, 6), (5, 8), (6, 6)])
def test_every_card_blocked_is_one_alert_whatever_the_rounding_of_the_orders_left(seed: int, hours: int) -> None:
    """With every card blocked nothing is left of the shop but a rounding remainder of its due
    orders: that is no fall of its own, and the stop stays a line in the card alert."""
    world = World(Scenario(seed=seed, skus=40, orders_per_day=120, incidents=[
        Incident("card_blocked", start=NOW - timedelta(hours=hours))]))
    [cards] = run_rules(account_data(world, NOW), CONFIGS).findings
    assert cards.rule == "card_problems" and cards.symptom is not None and cards.symptom.missing > 10


def test_a_stop_partly_explained_by_blocked_cards_names_the_cause_with_its_share() -> None:
    top = sorted(World(Scenario(seed=7, skus=150, orders_per_day=200)).products, key=lambda p: -p.weight)[:3]
    world = World(Scenario(seed=7, skus=150, orders_per_day=200, incidents=[
        Incident("card_blocked", start=NOW - timedelta(hours=40), skus=tuple(p.sku for p in top)),
        Incident("sales_stop", start=NOW - timedelta(hours=4))]))
    run = run_rules(account_data(world, NOW), CONFIGS)
    [sales] = [f for f in run.findings if f.rule == "sales_drop"]
    causes = sales.evidence.causes  # type: ignore[attr-defined]
    assert [c.cause for c in causes] == ["card_failed"] and causes[0].skus == 3 and 0.05 <= causes[0].share < 0.9


def test_stale_postings_hold_back_the_sales_rules_and_say_why() -> None:
    world = World(Scenario(seed=7, skus=150, orders_per_day=200,
                           incidents=[Incident("sales_stop", start=NOW - timedelta(hours=5))]))
    data = account_data(world, NOW)
    stale = replace(data, sources={"fbs": SourceHealth("fbs", NOW - timedelta(hours=5), "HTTP 503 unavailable",
                                                              "server_error"),
                                   "fbo": SourceHealth("fbo", NOW, None)})
    run = run_rules(stale, CONFIGS, checked_at=NOW)
    assert [(f.rule, f.entity, f.topic) for f in run.findings] == [("api_access", "postings", "technical")]
    assert "sales_drop" not in run.ran  # held back: its open alerts neither resolve nor repeat


def test_a_crashing_rule_is_reported_and_does_not_silence_the_others(monkeypatch) -> None:
    def broken(data, config):
        raise ZeroDivisionError("boom")
    monkeypatch.setitem(RULES, "stuck_in_delivery", replace(RULES["stuck_in_delivery"], evaluate=broken))
    world = World(Scenario(seed=7, skus=150, orders_per_day=200,
                           incidents=[Incident("sales_stop", start=NOW - timedelta(hours=3))]))
    run = run_rules(account_data(world, NOW), CONFIGS)
    assert run.errors == {"stuck_in_delivery": "ZeroDivisionError: boom"}
    assert "stuck_in_delivery" not in run.ran and [f.rule for f in run.findings] == ["sales_drop"]


def stuck_data(days_in_delivery: float) -> AccountData:
    handed = NOW - timedelta(days=days_in_delivery)
    orders = [Order("1-1-1", handed - timedelta(hours=20), (5,), "delivering", "fbs", 1, 990.0, None, handed),
              Order("2-1-1", NOW - timedelta(days=2), (5,), "delivering", "fbs", 1, 500.0, None,
                    NOW - timedelta(days=1))]
    return AccountData("shop", 1, NOW, orders, NOW - timedelta(days=30))


@pytest.mark.parametrize("days, expected", [(30, "critical"), (13, "warning"), (11, None)])
def test_postings_delivering_too_long_are_listed_for_a_search_request(days: float, expected: str | None) -> None:
    found = stuck_in_delivery(stuck_data(days), StuckInDeliveryConfig())
    assert [f.severity for f in found] == ([expected] if expected else [])
    if expected:
        assert found[0].affected_postings == ["1-1-1"] and found[0].topic == "logistics"


def test_without_any_synced_postings_the_sales_rules_are_held_back_not_run_on_nothing() -> None:
    world = World(Scenario(seed=7, skus=50, orders_per_day=100))
    data = replace(account_data(world, NOW), orders=[], history_since=None)
    run = run_rules(data, CONFIGS, checked_at=NOW)
    held = {name for name, rule in RULES.items() if rule.needs_postings}
    assert held and not held & run.ran  # their open alerts neither resolve nor repeat
    assert "api_access" in run.ran and "card_problems" in run.ran


def test_a_mass_block_is_one_short_message_and_a_long_digest_counts_what_it_does_not_list() -> None:
    from zoneinfo import ZoneInfo

    from monitor.alerts import event_for
    from monitor.channels.base import full_text
    from monitor.channels.telegram import telegram_chunks
    from monitor.message import Message
    from monitor.support import render

    world = World(Scenario(seed=7, skus=60, orders_per_day=200, incidents=[
        Incident("card_blocked", start=NOW - timedelta(hours=6))]))
    [cards] = run_rules(account_data(world, NOW), CONFIGS).findings
    event = event_for("firing", cards, render(cards, "ru", ZoneInfo("Europe/Moscow"), NOW), NOW)
    message = Message(id="m", account="shop", client_id=1, created_at=NOW.isoformat(), language="ru", events=(event,))
    text = full_text(message)
    assert len(text.encode()) < 20_000 and len(telegram_chunks(message)) == 1
    assert "60 карточек не продаются: «Товар не прошёл модерацию: фотографии не соответствуют товару»" in text
    assert "недостаёт около" in text and "drafts show" in text  # the stop, and where the full list is
    many = Message(id="m", account="shop", client_id=1, created_at=NOW.isoformat(), language="ru", listed=10,
                   events=tuple(replace(event, fingerprint=f"f{i}", title=f"Проблема {i}") for i in range(15)))
    text = full_text(many)
    assert "Проблема 9" in text and "Проблема 10" not in text and "И ещё 5 проблем" in text


def test_overrides_ignore_raise_and_tune_products() -> None:
    """A product ignored has no alert, a key product's alert is critical, and a product's own
    days of cover decide its stock alert; an override setting no key of its rule is refused."""
    from rules.stock import StockOutConfig

    sku = busy_sku()
    blocked = Incident("card_blocked", start=NOW - timedelta(hours=40), skus=(sku,))
    world = World(Scenario(seed=7, skus=150, orders_per_day=200, incidents=[blocked]))
    data = account_data(world, NOW)
    ignore = {**CONFIGS, "card_problems": RULES["card_problems"].Config(overrides=[{"skus": [sku], "ignore": True}])}
    assert [f.rule for f in run_rules(data, ignore).findings] == []
    low = Incident("stock_out", start=NOW - timedelta(days=1), skus=(sku,), days_left=12)
    world = World(Scenario(seed=7, skus=150, orders_per_day=200, incidents=[low]))
    data = account_data(world, NOW)
    assert run_rules(data, CONFIGS).findings == []  # 11 days of cover: no alert at the default 7
    offer = next(p.offer_id for p in world.products if p.sku == sku)
    own = StockOutConfig(overrides=[{"offer_ids": [offer], "warn_days": 21, "critical": True}])
    [found] = run_rules(data, {**CONFIGS, "stock_out": own}).findings
    assert (found.rule, found.severity, found.affected_skus) == ("stock_out", "critical", [sku])
    with pytest.raises(ValueError, match="config.override_keys"):
        StockOutConfig(overrides=[{"skus": [sku], "min_drop": 0.2}])
    with pytest.raises(ValueError, match="config.override_products"):
        StockOutConfig(overrides=[{"warn_days": 3}])


def test_skus_run_dry_together_are_one_stock_alert_and_one_running_low_keeps_its_own() -> None:
    top = sorted(World(Scenario(seed=7, skus=150, orders_per_day=200)).products, key=lambda p: -p.weight)[:3]
    world = World(Scenario(seed=7, skus=150, orders_per_day=200, incidents=[
        Incident("stock_out", start=NOW - timedelta(days=5), skus=(top[0].sku, top[1].sku), days_left=2),
        Incident("stock_out", start=NOW - timedelta(days=1), skus=(top[2].sku,), days_left=3)]))
    findings = run_rules(account_data(world, NOW), CONFIGS).findings
    found = sorted((f.entity, f.severity, sorted(f.affected_skus)) for f in findings)
    assert found == [("empty:fbs", "critical", sorted([top[0].sku, top[1].sku])),
                     (f"sku:{top[2].sku}:fbs", "warning", [top[2].sku])]
    # The shop fell by their third; the rest of it did not fall: the fall is a line in the stock alert.
    [empty] = [f for f in findings if f.entity == "empty:fbs"]
    assert empty.symptom is not None and empty.symptom.missing > 50
