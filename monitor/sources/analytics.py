"""Per-SKU daily analytics (views, add-to-carts): the traffic rule reads them. Ozon allows one
`/v1/analytics/data` call a minute, and serves only the last three months without Premium."""
from __future__ import annotations

from datetime import date, timedelta

from monitor.ozon import endpoints as api
from monitor.sources.base import Pull, account_info
from monitor.store import Store, Table, iso, parse
from rules import TrafficDay

MAX_DAYS = 90  # without Premium Plus/Pro Ozon serves only the last 3 months
INTERVAL = timedelta(seconds=61)  # Ozon allows one /v1/analytics/data call a minute
PREMIUM = {"PREMIUM_PLUS", "PREMIUM_PRO"}
METRICS = ("revenue", "ordered_units", "hits_view", "hits_tocart", "session_view", "conv_tocart", "returns",
           "cancellations", "delivered_units")

ANALYTICS_SKU_DAILY = Table("analytics_sku_daily", {
    "account": str, "sku": int, "day": str, **{name: float for name in METRICS}, "synced_at": str},
    pk=("account", "sku", "day"), dated_by="day")


def pull_analytics(p: Pull) -> int | None:
    """One call per cycle at most, remembered across restarts: per-SKU days in pages of 1000,
    resumed from the stored offset over the following cycles."""
    state = p.state
    last_call = parse(state.get("last_call"))
    if last_call and p.now - last_call < INTERVAL:
        return None
    refresh = timedelta(minutes=p.cfg.analytics_refresh_minutes)
    p.covered_since = p.now - timedelta(days=min(MAX_DAYS, p.cfg.history_days))
    job = state.get("sku_job")
    sku_at = parse(state.get("sku_at"))
    if job is None and (sku_at is None or p.now - sku_at >= refresh):
        # Complete days only: today's order of rows would shift between the pages of a job.
        back = 28 if sku_at is None else 7
        job = {"from": (p.today - timedelta(days=back)).isoformat(),
               "to": (p.today - timedelta(days=1)).isoformat(), "offset": 0}
    if job is None:
        return None
    subscription = account_info(p.store, p.account).get("subscription")
    metrics = METRICS if subscription in PREMIUM else api.BASIC_METRICS
    rows = api.analytics_page(p.client, date.fromisoformat(job["from"]), date.fromisoformat(job["to"]),
                              ["sku", "day"], metrics, job["offset"])
    state["last_call"] = iso(p.now)
    if len(rows) < api.ANALYTICS_PAGE:
        state.update(sku_job=None, sku_at=iso(p.now))
    else:
        state["sku_job"] = {**job, "offset": job["offset"] + api.ANALYTICS_PAGE}
    return p.save(ANALYTICS_SKU_DAILY, [
        {"account": p.account, "sku": int(r.dimensions[0].id), "day": r.dimensions[1].id,
         **dict(zip(metrics, r.metrics)), "synced_at": iso(p.now)} for r in rows])


def traffic(store: Store, account: str) -> list[TrafficDay]:
    return [TrafficDay(r["sku"], date.fromisoformat(r["day"]), r["hits_view"], r["hits_tocart"] or 0.0)
            for r in store.rows(ANALYTICS_SKU_DAILY, "select sku, day, hits_view, hits_tocart from analytics_sku_daily "
                                "where account = ? and hits_view is not null", [account])]
