"""Accruals by day and the balance: what Ozon charged on the postings and what it paid out, and
every other charge (fines, storage, services, advertising, compensations) named by its type."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from monitor.ozon import endpoints as api
from monitor.ozon import models as m
from monitor.sources.base import Pull
from monitor.store import Store, Table, iso
from rules import Charge, MoneyDay

BACKFILL_DAYS = 31
REPULL_DAYS = 4  # accruals for a day keep arriving for a few days

ACCRUALS = Table("accruals", {
    "accrual_id": int, "account": str, "date": str, "category": str, "unit_number": str, "total": float,
    "sale_amount": float, "commission": float, "delivery": float, "skus": str, "synced_at": str,
}, pk=("account", "accrual_id"), indexes=(("account", "date"),), dated_by="date")
FEES = Table("fees", {
    "account": str, "accrual_id": int, "line": int, "date": str, "category": str, "unit_number": str, "type_id": int,
    "sku": int, "amount": float, "synced_at": str,
}, pk=("account", "accrual_id", "line"), indexes=(("account", "date"),), dated_by="date")
ACCRUAL_TYPES = Table("accrual_types", {"account": str, "id": int, "name": str, "description": str,
                                        "synced_at": str}, pk=("account", "id"))
BALANCES = Table("balances", {
    "account": str, "day": str, "opening": float, "closing": float, "accrued": float, "payments": float,
    "sales": float, "sales_fee": float, "returns": float, "synced_at": str}, pk=("account", "day"), dated_by="day")


def pull_finance(p: Pull) -> int:
    days = REPULL_DAYS if p.cursor.synced_until else min(BACKFILL_DAYS, p.cfg.history_days)
    for offset in range(days, -1, -1):
        day = p.today - timedelta(days=offset)
        accruals = api.accruals_for_day(p.client, day)
        p.store.save(FEES, [{"account": p.account, "accrual_id": a.accrual_id, "line": line, "date": a.date,
                             "category": a.accrued_category, "unit_number": a.unit_number, "type_id": fee.type_id,
                             "sku": sku, "amount": fee.accrued.amount, "synced_at": iso(p.now)}
                            for a in accruals for line, (sku, fee) in enumerate(a.fees())])
        p.save(ACCRUALS, [_accrual_row(p, a) for a in accruals])
        b = api.balance(p.client, day, day)
        p.save(BALANCES, [{
            "account": p.account, "day": day.isoformat(), "opening": b.total.opening_balance.value,
            "closing": b.total.closing_balance.value, "accrued": b.total.accrued.value,
            "payments": sum(x.value for x in b.total.payments), "sales": b.cashflows.sales.amount.value,
            "sales_fee": b.cashflows.sales.fee.value, "returns": b.cashflows.returns.amount.value,
            "synced_at": iso(p.now)}])
    p.covered_since = p.now - timedelta(days=days)
    return p.saved


def pull_accrual_types(p: Pull) -> int:
    """Daily: a charge is named by Ozon's own type name, and Ozon adds types."""
    return p.save(ACCRUAL_TYPES, [{"account": p.account, "id": t.id, "name": t.name, "description": t.description,
                                   "synced_at": iso(p.now)} for t in api.accrual_types(p.client)])


def _accrual_row(p: Pull, a: m.Accrual) -> dict[str, Any]:
    products = a.posting.products if a.posting else []

    def total(pick: Callable[[m.AccrualProduct], m.Amount | None]) -> float:
        return sum(x.amount for x in map(pick, products) if x is not None)
    return {"accrual_id": a.accrual_id, "account": p.account, "date": a.date, "category": a.accrued_category,
            "unit_number": a.unit_number, "total": a.total_amount.amount,
            "sale_amount": total(lambda x: x.commission.sale_amount),
            "commission": total(lambda x: x.commission.commission),
            "delivery": total(lambda x: x.delivery.total_accrued),
            "skus": json.dumps([x.sku for x in products]), "synced_at": iso(p.now)}


def money_days(store: Store, account: str) -> list[MoneyDay]:
    """Per day: posting accruals, their sale amount and the commission and delivery taken."""
    return [MoneyDay(date.fromisoformat(r["date"]), r["n"], r["sales"], -r["commission"], -r["delivery"])
            for r in store.rows(ACCRUALS, "select date, count(*) as n, sum(sale_amount) as sales, sum(commission) as "
                                "commission, sum(delivery) as delivery from accruals where account = ? and "
                                "category = 'POSTING' group by date order by date", [account])]


def payouts(store: Store, account: str) -> dict[date, float]:
    """Day -> the amount paid out (positive)."""
    return {date.fromisoformat(r["day"]): abs(r["payments"] or 0.0)
            for r in store.rows(BALANCES, "select day, payments from balances where account = ?", [account])}


def charges(store: Store, account: str, since: date) -> list[Charge]:
    """Every charge line since `since` that is not a sale's commission or delivery, named by its
    type ("" when the type is not known yet)."""
    return [Charge(date.fromisoformat(r["date"]), r["unit_number"] or "", r["type_id"], r["name"] or "", -r["amount"])
            for r in store.rows((FEES, ACCRUAL_TYPES), "select f.date, f.unit_number, f.type_id, f.amount, t.name from fees f left join accrual_types t on t.account = f.account "
                                "and t.id = f.type_id where f.account = ? and f.date >= ? order by f.date, "
                                "f.accrual_id, f.line", [account, since.isoformat()])]
