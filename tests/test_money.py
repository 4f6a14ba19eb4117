"""The money rules end to end: the simulator's incidents over real HTTP, the store, the rules and
the texts; and each rule's own judgement on plain data."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.cycle import run_cycle
from monitor.ozon import endpoints as api
from monitor.simulator import Fault, Incident, Scenario, Simulator, SimulatorServer, World
from monitor.sources.postings import POSTINGS
from monitor.store import Store
from rules import AccountData, Charge, Order, Return
from rules.finance import ChargesConfig, FineEvidence, charges
from rules.logistics import OzonCancellationsConfig, ozon_cancellations
from rules.replay import REPLAYABLE, as_of
from rules.returns import ReturnDecisionsConfig, return_decisions
from tests.conftest import NOW

MONEY_RULES = ("charges", "return_decisions", "returns_storage", "stock_health", "price_index", "tariffs",
               "ozon_cancellations")
DEADLINE_RULES = ("auto_promotions", "price_guard", "acceptance_acts", "supplies_stuck")  # tests/test_deadlines.py


def busy(world: World, rank: int) -> int:
    return sorted(world.products, key=lambda p: -p.weight)[rank].sku


def leaking_shop() -> Scenario:
    probe = World(Scenario(seed=11, skus=80, orders_per_day=120))
    return Scenario(seed=11, skus=80, orders_per_day=120, history_days=40, incidents=[
        Incident("charges", start=NOW - timedelta(days=5), rate=0.2, amount=700.0),
        Incident("return_decisions", start=NOW - timedelta(days=12), rate=1.0),
        Incident("returns_storage", start=NOW - timedelta(days=15), days_left=18),
        Incident("stock_health", start=NOW - timedelta(hours=20), skus=(busy(probe, 1),), amount=25),
        Incident("price_index", start=NOW - timedelta(hours=20), skus=(busy(probe, 2),), factor=0.8),
        Incident("tariffs", start=NOW - timedelta(hours=20), skus=(busy(probe, 3),), points=4.0),
        Incident("ozon_cancellations", start=NOW - timedelta(days=2), rate=0.2),
        Incident("fbo_stuck_delivering", start=NOW - timedelta(days=25), rate=0.2),
    ])


def cycles(scenario: Scenario, write_config: Callable[..., Path], *moments: datetime, faults: list[Fault] = ()):
    """Run the monitor's cycle at each moment against the scenario; the last cycle's result."""
    clock = {"now": moments[0]}
    simulator = Simulator(World(scenario), clock=lambda: clock["now"])
    for fault in faults:
        simulator.add_fault(fault)
    with SimulatorServer(simulator) as server:
        settings = load_config(write_config(base_url=server.base_url))
        for moment in moments:
            clock["now"] = moment
            result = run_cycle(settings, "shop", now=moment)
    return settings, result


def test_every_money_leak_is_found_over_http_with_its_rubles(write_config: Callable[..., Path]) -> None:
    scenario = leaking_shop()
    settings, result = cycles(scenario, write_config, NOW - timedelta(days=2), NOW)
    found = {f.rule: f for f in result.findings}
    assert set(MONEY_RULES) <= found.keys(), sorted(found)
    for rule in MONEY_RULES:
        text = result.rendered[found[rule].fingerprint]
        assert "₽" in text.title + text.explanation, (rule, text.title)
    fines = [f for f in result.findings if f.rule == "charges" and f.entity.startswith("fine:")]
    assert [f.evidence_as(FineEvidence).name for f in fines] == ["Штраф за нарушение сроков отгрузки"]
    assert fines[0].affected_postings and result.rendered[fines[0].fingerprint].support_request
    waiting = {f.entity: f for f in result.findings if f.rule == "return_decisions"}
    assert waiting.keys() == {"waiting", "lost"}
    stuck = next(f for f in result.findings if f.rule == "stuck_in_delivery")
    store = Store.in_dir(settings.monitor.state_dir)
    schemes = {r["scheme"] for r in store.rows(POSTINGS, "select scheme from postings where posting_number in "
                                               f"({', '.join('?' * len(stuck.affected_postings))})",
                                               stuck.affected_postings)}
    assert "fbo" in schemes
    sku = busy(World(Scenario(seed=11, skus=80, orders_per_day=120)), 3)
    tariff = found["tariffs"].evidence.changes  # type: ignore[attr-defined]
    assert {(c.sku, c.percent_before, c.percent_now) for c in tariff} == {(sku, 15.0, 19.0)}


def test_a_quiet_shop_has_no_money_alerts_and_its_fbo_postings_are_brought_up_to_date(
        write_config: Callable[..., Path]) -> None:
    """Read the day they were placed, FBO postings would stay "awaiting packaging" for ever: the
    hourly re-read of the open ones gives their status now."""
    settings, result = cycles(Scenario(seed=11, skus=80, orders_per_day=120, history_days=40), write_config,
                              NOW - timedelta(days=3), NOW)
    assert not [f for f in result.findings if f.rule in MONEY_RULES + DEADLINE_RULES]
    store = Store.in_dir(settings.monitor.state_dir)
    stale = store.rows(POSTINGS, "select count(*) as n from postings where scheme = 'fbo' and status in "
                       "('awaiting_packaging', 'awaiting_deliver') and created_at < ?",
                       [(NOW - timedelta(days=2)).isoformat()])
    assert stale[0]["n"] == 0 and result.sync.fetched["fbo_open"] > 0


def test_a_key_that_cannot_read_the_charge_types_is_told_so_and_no_charge_is_called_a_fine(
        write_config: Callable[..., Path]) -> None:
    """Without Ozon's names a fine cannot be told from a service: the seller is told what the key
    lacks, the other sources and rules go on, and a charge is named by its type's number."""
    _, result = cycles(leaking_shop(), write_config, NOW,
                       faults=[Fault(method=api.ACCRUAL_TYPES, kind="missing_role", times=5)])
    assert "accrual_types" in result.sync.errors and "finance" in result.sync.fetched
    assert not [f for f in result.findings if f.rule == "charges" and f.entity.startswith("fine:")]
    [access] = [f for f in result.findings if f.rule == "api_access"]
    assert api.ACCRUAL_TYPES in result.rendered[access.fingerprint].title
    assert {"return_decisions", "returns_storage", "ozon_cancellations"} <= {f.rule for f in result.findings}


# --- the rules on plain data -------------------------------------------------------------------

DAY = date(2026, 11, 18)


def shop(**fields) -> AccountData:
    return AccountData("shop", 1, datetime(2026, 11, 18, 12, tzinfo=timezone.utc), fields.pop("orders", []),
                       datetime(2026, 9, 1, tzinfo=timezone.utc), **fields)


def test_a_fine_is_told_by_its_type_name_and_a_refund_is_not_a_fine() -> None:
    found = charges(shop(charges=[
        Charge(DAY - timedelta(days=1), "1-1", 7, "Штраф за брак", 900.0),
        Charge(DAY - timedelta(days=1), "1-2", 7, "Штраф за брак", -900.0),  # Ozon paid it back
        Charge(DAY - timedelta(days=30), "1-3", 7, "Штраф за брак", 900.0),  # too old to be news
    ]), ChargesConfig())
    [fine] = found
    assert fine.entity == "fine:7" and fine.affected_postings == ["1-1"] and fine.at_stake.rubles == 900


def test_a_charge_is_judged_against_its_usual_day() -> None:
    usual = [Charge(DAY - timedelta(days=k), "", 2, "Хранение", 3000.0) for k in range(2, 30)]
    steady = charges(shop(charges=[*usual, Charge(DAY - timedelta(days=1), "", 2, "Хранение",
                                                  4000.0)]), ChargesConfig())
    doubled = charges(shop(charges=[*usual, Charge(DAY - timedelta(days=1), "", 2, "Хранение",
                                                   9000.0)]), ChargesConfig())
    monthly = [Charge(DAY - timedelta(days=k), "", 4, "Подписка", 5000.0) for k in (1, 29)]
    assert steady == [] and [f.entity for f in doubled] == ["level:2"]
    assert charges(shop(charges=monthly), ChargesConfig()) == []  # charged now and then: against its highest


def test_a_return_decision_is_critical_in_its_last_hours() -> None:
    now = datetime(2026, 11, 18, 12, tzinfo=timezone.utc)

    def waiting(hours_ago: float) -> Return:
        return Return("1-1", 5, "", now - timedelta(days=2), "OnSellerApproval", "На согласовании",
                      now - timedelta(hours=hours_ago), 1500.0)
    early = return_decisions(shop(returns=[waiting(2)]), ReturnDecisionsConfig())
    late = return_decisions(shop(returns=[waiting(20)]), ReturnDecisionsConfig())
    assert [f.severity for f in early] == ["warning"] and [f.severity for f in late] == ["critical"]
    assert late[0].evidence.hours_left == pytest.approx(4.0)  # type: ignore[attr-defined]


def test_cancellations_by_ozon_fire_only_above_the_shops_own_usual() -> None:
    now = datetime(2026, 11, 18, 12, tzinfo=timezone.utc)

    def orders(share_before: float, share_now: float) -> list[Order]:
        placed = []
        for hour in range(31 * 24):
            at = now - timedelta(hours=hour, minutes=30)
            share = share_now if hour < 72 else share_before
            by = "ozon" if (hour * 7919 % 1000) / 1000 < share else ""
            placed.append(Order(f"{hour}-1", at, (5,), "cancelled" if by else "delivered", "fbo", 1, 1000.0,
                                cancelled_by=by))
        return placed
    config = OzonCancellationsConfig()
    assert ozon_cancellations(shop(orders=orders(0.05, 0.05)), config) == []  # this shop's usual
    [found] = ozon_cancellations(shop(orders=orders(0.01, 0.2)), config)
    assert found.entity == "ozon:fbo" and found.at_stake and found.at_stake.rubles >= 5000


def test_a_backtest_sees_only_the_charges_booked_before_its_moment() -> None:
    fine = [Charge(DAY - timedelta(days=k), f"{k}-1", 7, "Штраф за брак", 900.0) for k in (1, 3)]
    then = as_of(shop(charges=fine), datetime(2026, 11, 16, 12, tzinfo=timezone.utc))
    [found] = charges(then, ChargesConfig())
    assert found.affected_postings == ["3-1"] and "charges" in REPLAYABLE
