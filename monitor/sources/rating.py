"""The seller's ratings with Ozon's thresholds and their history. A rating's direction comes
from Ozon (or, when missing, from which threshold is the lower)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from monitor.ozon import endpoints as api
from monitor.sources.base import ACCOUNT_INFO, Pull
from monitor.store import Store, Table, iso
from rules import RatingSeries

RATING_SUMMARY = Table("rating_summary", {
    "account": str, "rating": str, "name": str, "group_name": str, "current_value": float, "past_value": float,
    "status": str, "value_type": str, "direction": str, "synced_at": str}, pk=("account", "rating"))
RATING_THRESHOLDS = Table("rating_thresholds", {"account": str, "rating": str, "danger": float, "warning": float,
                                                "premium": float, "synced_at": str}, pk=("account", "rating"))
RATING_HISTORY = Table("rating_history", {"account": str, "rating": str, "date_from": str, "date_to": str,
                                          "value": float, "danger": int, "warning": int},
                       pk=("account", "rating", "date_from"), dated_by="date_to")


def pull_rating(p: Pull) -> int:
    summary = api.rating_summary(p.client)
    items = [(g.group_name, i) for g in summary.groups for i in g.items]
    p.save(RATING_SUMMARY, [{"account": p.account, "rating": i.rating, "name": i.name, "group_name": group,
                             "current_value": i.current_value, "past_value": i.past_value, "status": i.status,
                             "value_type": i.value_type, "direction": i.rating_direction, "synced_at": iso(p.now)}
                            for group, i in items])
    p.store.save(ACCOUNT_INFO, [{"account": p.account, "penalty_score_exceeded": int(summary.penalty_score_exceeded),
                                 "updated_at": iso(p.now)}])
    if not items:
        return p.saved
    since = p.resume_from - timedelta(days=2) if p.resume_from else p.history_start
    history = api.rating_history(p.client, since, p.now, [i.rating for _, i in items])
    p.save(RATING_THRESHOLDS, [{"account": p.account, "rating": h.rating, "danger": h.danger_threshold,
                                "warning": h.warning_threshold, "premium": h.premium_threshold,
                                "synced_at": iso(p.now)} for h in history.ratings])
    p.save(RATING_HISTORY, [{"account": p.account, "rating": h.rating, "date_from": iso(v.date_from),
                             "date_to": iso(v.date_to), "value": v.value, "danger": int(v.status.danger),
                             "warning": int(v.status.warning)} for h in history.ratings for v in h.values])
    p.covered_since = p.history_start
    return p.saved


def ratings(store: Store, account: str) -> list[RatingSeries]:
    """Each rating's summary with its thresholds and its history, oldest first."""
    rows = store.rows((RATING_SUMMARY, RATING_THRESHOLDS),
                      "select s.*, t.warning, t.danger from rating_summary s left join rating_thresholds t "
                      "using (account, rating) where s.account = ?", [account])
    for row in rows:
        row["values"] = store.rows(RATING_HISTORY, "select date_from, value from rating_history where account = ? "
                                   "and rating = ? and value is not null order by date_from", [account, row["rating"]])
    return [rating(r) for r in rows]


def rating(r: dict[str, Any]) -> RatingSeries:
    """Higher is better unless Ozon says LOWER_IS_BETTER (or, without a direction, the danger
    threshold lies above the warning one)."""
    values = tuple((datetime.fromisoformat(v["date_from"]), v["value"]) for v in r["values"])
    higher = r["direction"] != "LOWER_IS_BETTER" if r["direction"] else (r["danger"] or 0) < (r["warning"] or 0)
    return RatingSeries(r["rating"], r["name"] or r["rating"], r["status"] or "", higher, r["warning"], r["danger"],
                        values)
