"""The data sources (`SOURCES`, one module each) and the walk that pulls one account's due
sources into the store, one at a time.

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

import logging
import threading
import time
from datetime import datetime, timedelta

from monitor.config import MonitorSection
from monitor.ozon import endpoints as api
from monitor.ozon.client import (AccessDenied, AuthError, MethodGone, OzonClient, OzonError, RateLimited,
                                 Stopped, Unreachable)
from monitor.sources import analytics, finance, postings, products, promos, rating, returns, stocks, supplies
from monitor.sources.access import pull_access, pull_seller_info, role_names
from monitor.sources.base import (ACCOUNT_INFO, MINUTE, Interrupted, Progress, Pull, Source, SourceError, SyncReport,
                                  account_info)
from monitor.sources.fbs_index import FBS_INDEX_DAYS, FBS_INDEX_POSTINGS, pull_fbs_index
from monitor.store import Store, Table, iso

log = logging.getLogger(__name__)
DISABLE_FOR = {AccessDenied: timedelta(hours=6), MethodGone: timedelta(hours=24)}

# Every data source, in the order a walk reads them (a source comes after those it needs);
# `docs/DATA.md` says what each reads and why.
SOURCES: tuple[Source, ...] = (
    Source("access", (api.ROLES,), 60 * MINUTE, pull_access, (ACCOUNT_INFO,)),
    Source("seller_info", (api.SELLER_INFO,), 24 * 60 * MINUTE, pull_seller_info, (ACCOUNT_INFO,)),
    Source("fbs", (api.FBS_LIST,), timedelta(0), postings.pull_fbs, (postings.POSTINGS,)),
    Source("fbs_unfulfilled", (api.FBS_UNFULFILLED,), 60 * MINUTE, postings.pull_fbs_unfulfilled,
           (postings.POSTINGS,)),
    Source("fbo", (api.FBO_LIST,), timedelta(0), postings.pull_fbo, (postings.POSTINGS,)),
    Source("fbo_open", (api.FBO_LIST,), 60 * MINUTE, postings.pull_fbo_open, (postings.POSTINGS,), needs=("fbo",)),
    Source("returns", (api.RETURNS_LIST,), 30 * MINUTE, returns.pull_returns, (returns.RETURNS,)),
    Source("products", (api.PRODUCT_LIST, api.PRODUCT_INFO), 60 * MINUTE, products.pull_products,
           (products.PRODUCTS, products.PRICE_HISTORY)),
    Source("fbs_stocks", (api.FBS_STOCKS,), 30 * MINUTE, stocks.pull_fbs_stocks, (stocks.STOCKS, stocks.STOCK_HISTORY)),
    Source("fbo_stocks", (api.FBO_STOCKS,), 30 * MINUTE, stocks.pull_fbo_stocks, (stocks.FBO_STOCKS, stocks.FBO_GRADES),
           needs=("products",)),
    Source("rating", (api.RATING_SUMMARY, api.RATING_HISTORY), 60 * MINUTE, rating.pull_rating,
           (rating.RATING_SUMMARY, rating.RATING_THRESHOLDS, rating.RATING_HISTORY, ACCOUNT_INFO)),
    Source("fbs_index", (api.FBS_INDEX, api.FBS_INDEX_POSTINGS), 60 * MINUTE, pull_fbs_index,
           (FBS_INDEX_DAYS, FBS_INDEX_POSTINGS, ACCOUNT_INFO)),
    Source("accrual_types", (api.ACCRUAL_TYPES,), 24 * 60 * MINUTE, finance.pull_accrual_types,
           (finance.ACCRUAL_TYPES,)),
    Source("finance", (api.ACCRUALS_BY_DAY, api.BALANCE), 180 * MINUTE, finance.pull_finance,
           (finance.ACCRUALS, finance.FEES, finance.BALANCES)),
    Source("prices", (api.PRICES,), 180 * MINUTE, promos.pull_prices, (promos.PRICES,)),
    Source("price_timers", (api.PRICE_TIMERS,), 360 * MINUTE, promos.pull_price_timers, (promos.PRICE_TIMERS,),
           needs=("prices",)),
    Source("promotions", (api.PROMOTIONS, api.AUTO_ADD_PRODUCTS, api.PROMOTION_PRODUCTS), 180 * MINUTE,
           promos.pull_promotions, (promos.PROMOTIONS, promos.PROMO_PRODUCTS)),
    Source("supplies", (api.SUPPLY_ORDERS, api.SUPPLY_ORDER, api.SUPPLY_BUNDLE), 180 * MINUTE, supplies.pull_supplies,
           (supplies.SUPPLY_ORDERS, supplies.SUPPLY_ITEMS)),
    Source("supply_acts", (api.SUPPLY_ACTS, api.SUPPLY_ACT_PRODUCTS, api.FBS_ACTS), 180 * MINUTE, supplies.pull_acts,
           (supplies.ACTS,), needs=("supplies",)),
    Source("analytics", (api.ANALYTICS_DATA,), MINUTE, analytics.pull_analytics, (analytics.ANALYTICS_SKU_DAILY,)),
)
TABLES: tuple[Table, ...] = tuple({t.name: t for s in SOURCES for t in s.tables}.values())


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
        if any(store.cursor(account, need).synced_until is None for need in source.needs):
            continue  # what it needs has never been read: next cycle
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
            log.error("sync failed: account=%s source=%s error=%s", account, source.name, exc)
            pause = DISABLE_FOR.get(type(exc))  # a source cut off by the budget counts as failed too
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
    names = role_names(account_info(store, account).get("roles"))
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


__all__ = ["SOURCES", "TABLES", "Interrupted", "Progress", "SourceError", "SyncReport", "coverage", "sync_account"]
