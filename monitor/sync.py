"""Incremental pulls of one account's data into the store, one source at a time.

Each source keeps a cursor: the span it covers, when it last succeeded, and its paging state.
Postings and returns are pulled from `overlap_minutes` before the last success, so nothing falls
between two runs or two restarts; upserts by primary key make the overlap, and a resumed
interrupted pull, free of duplicates. Slow-moving sources (cards, stocks, rating, finance) are
refreshed only when due. A failing source is recorded and skipped while the others go on; a
missing role or a retired method switches the source off for a while with a message saying
what to do; a rejected key, an unreachable host or a spent time budget stops the account's
sync, and every source it did not reach is reported as not checked, never as "nothing new".
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from monitor.config import MonitorSection
from monitor.ozon import endpoints as api
from monitor.ozon import models as m
from monitor.ozon.client import (AccessDenied, AuthError, MethodGone, OutOfTime, OzonClient, OzonError, RateLimited,
                                 Stopped, Unreachable)
from monitor.store import ANALYTICS_METRICS, Cursor, Store, iso, parse
from rules.base import ErrorKind

log = logging.getLogger(__name__)
Progress = Callable[[str, int], None]
ANALYTICS_MAX_DAYS = 90  # without Premium Plus/Pro Ozon serves only the last 3 months
ANALYTICS_INTERVAL = timedelta(seconds=61)  # Ozon allows one /v1/analytics/data call a minute
PREMIUM_ANALYTICS = {"PREMIUM_PLUS", "PREMIUM_PRO"}
FINANCE_BACKFILL_DAYS = 31
FINANCE_REPULL_DAYS = 4  # accruals for a day keep arriving for a few days
DISABLE_FOR = {AccessDenied: timedelta(hours=6), MethodGone: timedelta(hours=24)}


class Interrupted(Exception):
    """The daemon is stopping; what was committed so far stays, the rest resumes next time."""


@dataclass(frozen=True)
class SourceError:
    """Why a source was not read: the kind (the client's error class) for texts and rules, the
    message (method, cause, hint; English) for the log and the webhook."""

    kind: ErrorKind
    message: str
    method: str | None = None  # the API method that failed; None for a source not tried


@dataclass
class SyncReport:
    """What a sync did: records fetched per source, errors per source that failed, and the
    sources it never reached (with why) because an earlier failure stopped the account."""

    fetched: dict[str, int] = field(default_factory=dict)
    errors: dict[str, SourceError] = field(default_factory=dict)
    skipped: dict[str, SourceError] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # time spent per source tried

    @property
    def unchecked(self) -> dict[str, SourceError]:
        """Every source that could not be read this cycle, with the reason."""
        return {**self.errors, **self.skipped}


@dataclass
class Pull:
    """What one source's pull works with; `state` and `covered_since` are saved with its cursor."""

    client: OzonClient
    store: Store
    account: str
    cfg: MonitorSection
    now: datetime
    cursor: Cursor
    stop: threading.Event | None
    progress: Progress | None
    source: str
    state: dict[str, Any]
    covered_since: datetime | None = None
    saved: int = 0

    @property
    def history_start(self) -> datetime:
        return self.now - timedelta(days=self.cfg.history_days)

    @property
    def resume_from(self) -> datetime | None:
        """Where an incremental pull restarts: the last success minus the overlap."""
        synced = self.cursor.synced_until
        return synced - timedelta(minutes=self.cfg.overlap_minutes) if synced else None

    @property
    def today(self) -> date:
        return self.now.astimezone(self.cfg.tz).date()

    def save(self, table: str, rows: Iterable[dict[str, Any]], pk: str | tuple[str, ...]) -> int:
        """Commit one page, report progress, and stop here if the daemon is shutting down."""
        count = self.store.upsert(table, rows, pk)
        self.saved += count
        if self.progress:
            self.progress(self.source, self.saved)
        if self.stop is not None and self.stop.is_set():
            raise Interrupted
        return count


@dataclass(frozen=True)
class Source:
    name: str
    methods: tuple[str, ...]
    every: timedelta  # pulled at most this often
    pull: Callable[[Pull], int | None]  # records stored, or None when it had nothing to do yet


def sync_account(client: OzonClient, store: Store, account: str, cfg: MonitorSection, now: datetime,
                 stop: threading.Event | None = None, progress: Progress | None = None) -> SyncReport:
    """Pull every due source for `account` up to `now`; raise Interrupted if `stop` is set midway."""
    report = SyncReport()
    halted: SourceError | None = None  # why the rest of the account's sources cannot be read this cycle
    for source in SOURCES:
        cursor = store.cursor(account, source.name)
        if cursor.disabled_until and now < cursor.disabled_until:
            report.errors[source.name] = SourceError(
                cursor.error_kind or "other", f"{cursor.last_error} (switched off until {iso(cursor.disabled_until)})",
                cursor.error_method)
            continue
        if cursor.synced_until and now - cursor.synced_until < source.every:
            continue
        if halted is None and client.out_of_time():
            halted = SourceError("out_of_time", "not reached: the cycle's time budget ran out (see the sources above)")
        if halted is not None:
            report.skipped[source.name] = halted
            store.save_sync_error(account, source.name, halted.message, halted.kind, None, now)  # the rules must see it
            continue
        pull = Pull(client, store, account, cfg, now, cursor, stop, progress, source.name, dict(cursor.state))
        started = time.monotonic()
        try:
            count = source.pull(pull)
        except Stopped:
            raise Interrupted from None
        except OzonError as exc:
            report.seconds[source.name] = time.monotonic() - started
            message = _explain(exc, store, account)
            log.error("sync failed: account=%s source=%s error=%s", account, source.name, message)
            pause = DISABLE_FOR.get(type(exc))
            if not isinstance(exc, OutOfTime):
                store.save_sync_error(account, source.name, message, exc.kind, exc.method, now,
                                      now + pause if pause else None)
            report.errors[source.name] = SourceError(exc.kind, message, exc.method)
            if isinstance(exc, (AuthError, Unreachable, RateLimited)):
                # the same key, host or Client-Id limit would stop every source
                halted = SourceError(exc.kind, f"not tried: {message}")
            continue
        report.seconds[source.name] = time.monotonic() - started
        if count is None:
            continue
        store.save_cursor(account, source.name, covered_since=cursor.covered_since or pull.covered_since,
                          synced_until=now, now=now, state=pull.state)
        report.fetched[source.name] = count
    return report


def _explain(exc: OzonError, store: Store, account: str) -> str:
    """Name the roles the key has when a role is missing: the seller must add one in the cabinet."""
    if not isinstance(exc, AccessDenied):
        return str(exc)
    roles = store.account_info(account).get("roles")
    names = ", ".join(r["name"] for r in json.loads(roles)) if roles else "unknown"
    return (f"{exc.method}: the API key has no role that allows this method (its roles: {names}); in the seller "
            f"cabinet (Settings -> Seller API) give the key a role that includes {exc.method}. "
            f"The other data keeps syncing")


def coverage(store: Store, account: str, sources: tuple[str, ...] = ("fbs", "fbo")) -> tuple[datetime | None, datetime | None]:
    """(history start, synced-until) that the posting `sources` share, or None where one is
    missing. A source switched off (its role missing) is left out rather than waited for."""
    cursors = [c for c in (store.cursor(account, s) for s in sources) if c.disabled_until is None]
    spans = [(c.covered_since, c.synced_until) for c in cursors if c.covered_since and c.synced_until]
    if not cursors or len(spans) < len(cursors):
        return None, None
    return max(since for since, _ in spans), min(until for _, until in spans)


# --- row builders: API models -> store rows --------------------------------------------------

def posting_row(account: str, scheme: str, p: m.Posting, synced_at: datetime) -> dict[str, Any]:
    cancel = p.cancellation
    return {
        "posting_number": p.posting_number, "account": account, "scheme": scheme, "status": p.status,
        "substatus": p.substatus, "order_number": p.order_number, "created_at": iso(p.created_at or p.in_process_at),
        "in_process_at": iso(p.in_process_at), "shipment_date": iso(p.shipment_date),
        "delivering_date": iso(p.delivering_date),
        "cancel_type": cancel.cancellation_type if cancel else None,
        "cancel_initiator": cancel.cancellation_initiator if cancel else None,
        "cancel_reason": cancel.cancel_reason if cancel else None,
        "affects_cancellation_rating": int(bool(cancel and cancel.affect_cancellation_rating)),
        "products": json.dumps([pr.model_dump(exclude_none=True) for pr in p.products], ensure_ascii=False),
        "skus": ",".join(str(pr.sku) for pr in p.products) or None, "units": sum(pr.quantity for pr in p.products),
        "amount": sum(pr.quantity * (pr.price.amount if pr.price else 0.0) for pr in p.products),
        "synced_at": iso(synced_at),
    }


# --- the sources -----------------------------------------------------------------------------

def pull_access(p: Pull) -> int:
    info = api.roles(p.client)
    return p.save("account_info", [{"account": p.account, "key_expires_at": iso(info.expires_at),
                                    "roles": json.dumps([r.model_dump() for r in info.roles]),
                                    "updated_at": iso(p.now)}], "account")


def pull_seller_info(p: Pull) -> int:
    info = api.seller_info(p.client)
    return p.save("account_info", [{"account": p.account, "company": info.company.name or info.company.legal_name,
                                    "subscription": info.subscription.type,
                                    "is_premium": int(info.subscription.is_premium), "updated_at": iso(p.now)}],
                  "account")


def _save_postings(p: Pull, scheme: str, pages: Iterable[list[m.Posting]]) -> int:
    for page in pages:
        p.save("postings", [posting_row(p.account, scheme, posting, p.now) for posting in page], ("account", "posting_number"))
    return p.saved


def pull_fbs(p: Pull) -> int:
    """Status changes of old postings show up through `last_changed_status_date`."""
    p.covered_since = p.history_start
    return _save_postings(p, "fbs", api.fbs_postings(p.client, p.history_start, p.now, changed_since=p.resume_from))


def pull_fbs_unfulfilled(p: Pull) -> int:
    """Postings still to be assembled or handed over, with their deadlines, whatever their age.
    Hourly, not every cycle: new postings and status changes come with `pull_fbs`; this catches
    a deadline Ozon moved without a change of status."""
    p.covered_since = p.now
    return _save_postings(p, "fbs", api.fbs_unfulfilled(p.client, p.now - timedelta(days=30), p.now + timedelta(days=30)))


def pull_fbo(p: Pull) -> int:
    """FBO has no status-change filter: the overlap window is re-read by creation time."""
    p.covered_since = p.history_start
    since = max(p.history_start, p.resume_from) if p.resume_from else p.history_start
    return _save_postings(p, "fbo", api.fbo_postings(p.client, since, p.now))


def pull_returns(p: Pull) -> int:
    p.covered_since = p.history_start
    for page in api.returns(p.client, p.resume_from or p.history_start, p.now):
        p.save("returns", [{
            "id": r.id, "account": p.account, "posting_number": r.posting_number, "order_number": r.order_number,
            "sku": r.product.sku, "offer_id": r.product.offer_id, "quantity": r.product.quantity,
            "price": r.product.price.price if r.product.price else None, "reason": r.return_reason_name,
            "type": r.type, "schema": r.schema_, "return_date": iso(r.logistic.return_date),
            "status": r.visual.status.sys_name, "status_name": r.visual.status.display_name,
            "status_changed_at": iso(r.visual.change_moment), "synced_at": iso(p.now),
        } for r in page], ("account", "id"))
    return p.saved


def pull_products(p: Pull) -> int:
    ids = [item.product_id for page in api.product_ids(p.client) for item in page]
    for page in api.product_info(p.client, ids):
        p.save("products", [{
            "account": p.account, "product_id": c.id, "sku": c.sku, "offer_id": c.offer_id, "name": c.name,
            "price": c.price, "archived": int(c.is_archived), "autoarchived": int(c.is_autoarchived),
            "status": c.statuses.status, "status_name": c.statuses.status_name,
            "status_description": c.statuses.status_description, "moderate_status": c.statuses.moderate_status,
            "validation_status": c.statuses.validation_status, "status_failed": c.statuses.status_failed,
            "status_updated_at": iso(c.statuses.status_updated_at),
            "errors": json.dumps([e.model_dump() for e in c.errors], ensure_ascii=False),
            "availability": json.dumps([{"sku": a.sku, "availability": a.availability, "reasons": a.reason_texts()}
                                        for a in c.availabilities], ensure_ascii=False),
            "has_price": _flag(c.visibility_details.has_price), "has_stock": _flag(c.visibility_details.has_stock),
            "updated_at": iso(c.updated_at), "synced_at": iso(p.now),
        } for c in page], ("account", "product_id"))
    return p.saved


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def pull_fbs_stocks(p: Pull) -> int:
    day = p.today.isoformat()
    for page in api.fbs_stocks(p.client):
        rows = [{"account": p.account, "sku": s.sku, "type": s.type, "product_id": item.product_id,
                 "offer_id": item.offer_id, "present": s.present, "reserved": s.reserved, "synced_at": iso(p.now)}
                for item in page for s in item.stocks if s.sku]
        p.store.upsert("stock_history", [{k: r[k] for k in ("account", "sku", "type", "present", "reserved")}
                                         | {"day": day} for r in rows], ("account", "sku", "type", "day"))
        p.save("stocks", rows, ("account", "sku", "type"))
    return p.saved


def pull_fbo_stocks(p: Pull) -> int | None:
    skus = p.store.active_skus(p.account)
    if not skus:
        return None  # the catalogue has not been synced yet
    return p.save("fbo_stocks", [{
        "account": p.account, "sku": s.sku, "warehouse_id": s.warehouse_id or 0, "offer_id": s.offer_id,
        "warehouse_name": s.warehouse_name, "cluster_id": s.cluster_id, "cluster_name": s.cluster_name,
        "available": s.available_stock_count, "transit": s.transit_stock_count, "ads": s.ads, "idc": s.idc,
        "days_without_sales": s.days_without_sales, "turnover_grade": s.turnover_grade, "synced_at": iso(p.now),
    } for s in api.fbo_stocks(p.client, skus)], ("account", "sku", "warehouse_id"))


def pull_rating(p: Pull) -> int:
    summary = api.rating_summary(p.client)
    items = [(g.group_name, i) for g in summary.groups for i in g.items]
    p.save("rating_summary", [{"account": p.account, "rating": i.rating, "name": i.name, "group_name": group,
                               "current_value": i.current_value, "past_value": i.past_value, "status": i.status,
                               "value_type": i.value_type, "direction": i.rating_direction, "synced_at": iso(p.now)}
                              for group, i in items], ("account", "rating"))
    p.store.upsert("account_info", [{"account": p.account, "penalty_score_exceeded": int(summary.penalty_score_exceeded),
                                     "updated_at": iso(p.now)}], "account")
    if not items:
        return p.saved
    since = p.resume_from - timedelta(days=2) if p.resume_from else p.history_start
    history = api.rating_history(p.client, since, p.now, [i.rating for _, i in items])
    p.save("rating_thresholds", [{"account": p.account, "rating": h.rating, "danger": h.danger_threshold,
                                  "warning": h.warning_threshold, "premium": h.premium_threshold,
                                  "synced_at": iso(p.now)} for h in history.ratings], ("account", "rating"))
    p.save("rating_history", [{"account": p.account, "rating": h.rating, "date_from": iso(v.date_from),
                               "date_to": iso(v.date_to), "value": v.value, "danger": int(v.status.danger),
                               "warning": int(v.status.warning)} for h in history.ratings for v in h.values],
           ("account", "rating", "date_from"))
    p.covered_since = p.history_start
    return p.saved


def pull_fbs_index(p: Pull) -> int:
    info = api.fbs_error_index(p.client)
    p.store.upsert("account_info", [{"account": p.account, "fbs_error_index": info.index,
                                     "updated_at": iso(p.now)}], "account")
    p.save("fbs_index_days", [{"account": p.account, "date": d.date, "index_by_date": d.index_by_date,
                               "costs": d.processing_costs_sum_by_date} for d in info.defects], ("account", "date"))
    since = p.resume_from - timedelta(days=2) if p.resume_from else p.now - timedelta(days=30)
    for page in api.fbs_error_postings(p.client, since, p.now):
        p.save("fbs_index_postings", [{
            "posting_number": e.posting_number, "error_type": e.posting_error_type, "account": p.account,
            "error_at": iso(e.error_at), "idx": e.index, "charge_percent": e.charge_percent,
            "charge_price": e.charge_price, "product_price": e.product_price, "delivery_schema": e.delivery_schema,
        } for e in page], ("account", "posting_number", "error_type"))
    return p.saved


def pull_finance(p: Pull) -> int:
    days = FINANCE_REPULL_DAYS if p.cursor.synced_until else min(FINANCE_BACKFILL_DAYS, p.cfg.history_days)
    for offset in range(days, -1, -1):
        day = p.today - timedelta(days=offset)
        p.save("accruals", [_accrual_row(p, a) for a in api.accruals_for_day(p.client, day)], ("account", "accrual_id"))
        b = api.balance(p.client, day, day)
        p.save("balances", [{
            "account": p.account, "day": day.isoformat(), "opening": b.total.opening_balance.value,
            "closing": b.total.closing_balance.value, "accrued": b.total.accrued.value,
            "payments": sum(x.value for x in b.total.payments), "sales": b.cashflows.sales.amount.value,
            "sales_fee": b.cashflows.sales.fee.value, "returns": b.cashflows.returns.amount.value,
            "synced_at": iso(p.now)}], ("account", "day"))
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


def pull_analytics(p: Pull) -> int | None:
    """One /v1/analytics/data call per cycle at most (Ozon: one a minute), remembered across
    restarts: per-SKU days (traffic_drop reads them) in pages of 1000, resumed from the stored
    offset over the following cycles."""
    state = p.state
    last_call = parse(state.get("last_call"))
    if last_call and p.now - last_call < ANALYTICS_INTERVAL:
        return None
    refresh = timedelta(minutes=p.cfg.analytics_refresh_minutes)
    p.covered_since = p.now - timedelta(days=min(ANALYTICS_MAX_DAYS, p.cfg.history_days))
    job = state.get("sku_job")
    sku_at = parse(state.get("sku_at"))
    if job is None and (sku_at is None or p.now - sku_at >= refresh):
        # Complete days only: today's order of rows would shift between the pages of a job.
        back = 28 if sku_at is None else 7
        job = {"from": (p.today - timedelta(days=back)).isoformat(),
               "to": (p.today - timedelta(days=1)).isoformat(), "offset": 0}
    if job is None:
        return None
    subscription = p.store.account_info(p.account).get("subscription")
    metrics = ANALYTICS_METRICS if subscription in PREMIUM_ANALYTICS else api.BASIC_METRICS
    rows = api.analytics_page(p.client, date.fromisoformat(job["from"]), date.fromisoformat(job["to"]),
                              ["sku", "day"], metrics, job["offset"])
    state["last_call"] = iso(p.now)
    if len(rows) < api.ANALYTICS_PAGE:
        state.update(sku_job=None, sku_at=iso(p.now))
    else:
        state["sku_job"] = {**job, "offset": job["offset"] + api.ANALYTICS_PAGE}
    return p.save("analytics_sku_daily", [
        {"account": p.account, "sku": int(r.dimensions[0].id), "day": r.dimensions[1].id,
         **dict(zip(metrics, r.metrics)), "synced_at": iso(p.now)} for r in rows], ("account", "sku", "day"))


MINUTE = timedelta(minutes=1)
SOURCES: tuple[Source, ...] = (
    Source("access", (api.ROLES,), timedelta(hours=1), pull_access),
    Source("seller_info", (api.SELLER_INFO,), timedelta(hours=24), pull_seller_info),
    Source("fbs", (api.FBS_LIST,), timedelta(0), pull_fbs),
    Source("fbs_unfulfilled", (api.FBS_UNFULFILLED,), 60 * MINUTE, pull_fbs_unfulfilled),
    Source("fbo", (api.FBO_LIST,), timedelta(0), pull_fbo),
    Source("returns", (api.RETURNS_LIST,), 30 * MINUTE, pull_returns),
    Source("products", (api.PRODUCT_LIST, api.PRODUCT_INFO), 60 * MINUTE, pull_products),
    Source("fbs_stocks", (api.FBS_STOCKS,), 30 * MINUTE, pull_fbs_stocks),
    Source("fbo_stocks", (api.FBO_STOCKS,), 30 * MINUTE, pull_fbo_stocks),
    Source("rating", (api.RATING_SUMMARY, api.RATING_HISTORY), 60 * MINUTE, pull_rating),
    Source("fbs_index", (api.FBS_INDEX, api.FBS_INDEX_POSTINGS), 60 * MINUTE, pull_fbs_index),
    Source("finance", (api.ACCRUALS_BY_DAY, api.BALANCE), 180 * MINUTE, pull_finance),
    Source("analytics", (api.ANALYTICS_DATA,), MINUTE, pull_analytics),
)
