"""Accruals by day and the balance: what Ozon charged on the postings and what it paid out."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from monitor.ozon import endpoints as api
from monitor.ozon import models as m
from monitor.sources.base import Pull
from monitor.store import Store, Table, iso
from rules import MoneyDay

BACKFILL_DAYS = 31
REPULL_DAYS = 4  # accruals for a day keep arriving for a few days

ACCRUALS = Table("accruals", {
    "accrual_id": int, "account": str, "date": str, "category": str, "unit_number": str, "total": float,
    "sale_amount": float, "commission": float, "delivery": float, "skus": str, "synced_at": str,
}, pk=("account", "accrual_id"), indexes=(("account", "date"),), dated_by="date")
BALANCES = Table("balances", {
    "account": str, "day": str, "opening": float, "closing": float, "accrued": float, "payments": float,
    "sales": float, "sales_fee": float, "returns": float, "synced_at": str}, pk=("account", "day"), dated_by="day")


def pull_finance(p: Pull) -> int:
    days = REPULL_DAYS if p.cursor.synced_until else min(BACKFILL_DAYS, p.cfg.history_days)
    for offset in range(days, -1, -1):
        day = p.today - timedelta(days=offset)
        p.save(ACCRUALS, [_accrual_row(p, a) for a in api.accruals_for_day(p.client, day)])
        b = api.balance(p.client, day, day)
        p.save(BALANCES, [{
            "account": p.account, "day": day.isoformat(), "opening": b.total.opening_balance.value,
            "closing": b.total.closing_balance.value, "accrued": b.total.accrued.value,
            "payments": sum(x.value for x in b.total.payments), "sales": b.cashflows.sales.amount.value,
            "sales_fee": b.cashflows.sales.fee.value, "returns": b.cashflows.returns.amount.value,
            "synced_at": iso(p.now)}])
    p.covered_since = p.now - timedelta(days=days)
    return p.saved


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
