"""Incremental pulls of one account's data into the store.

Each source keeps a cursor: the span it covers and the moment it is synced up to. The next
pull starts `overlap_minutes` before that moment, so nothing falls between two runs or two
restarts; upserts by primary key make the overlap (and a resumed, interrupted pull) free of
duplicates. A failing source is recorded and skipped; the others go on.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.config import MonitorSection
from monitor.ozon import endpoints
from monitor.ozon.client import AuthError, OzonClient, OzonError
from monitor.store import Store

log = logging.getLogger(__name__)
Progress = Callable[[str, int], None]
ANALYTICS_MAX_DAYS = 90  # without Premium Plus/Pro Ozon serves only the last 3 months


class Interrupted(Exception):
    """The daemon is stopping; what was committed so far stays, the rest resumes next time."""


@dataclass
class SyncReport:
    fetched: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def sync_account(client: OzonClient, store: Store, account: str, cfg: MonitorSection, now: datetime,
                 stop: threading.Event | None = None, progress: Progress | None = None) -> SyncReport:
    """Pull every source for `account` up to `now`; raise Interrupted if `stop` is set midway."""
    report = SyncReport()
    history_start = now - timedelta(days=cfg.history_days)
    overlap = timedelta(minutes=cfg.overlap_minutes)

    def pull_postings(source: str) -> None:
        cursor = store.cursor(account, source)
        resume = cursor.synced_until - overlap if cursor.synced_until else None
        if source == "fbs":  # status changes of old postings show up through changed_since
            pages = endpoints.fbs_postings(client, history_start, now, changed_since=resume)
        else:  # FBO has no status-change filter: re-read the overlap window by creation time
            pages = endpoints.fbo_postings(client, max(history_start, resume) if resume else history_start, now)
        total = 0
        for page in pages:
            if stop is not None and stop.is_set():
                raise Interrupted
            total += store.upsert_postings(account, source, page, now)
            if progress:
                progress(source, total)
        store.save_cursor(account, source, covered_since=cursor.covered_since or history_start,
                          synced_until=now, now=now)
        report.fetched[source] = total

    def pull_analytics() -> None:
        cursor = store.cursor(account, "analytics")
        if cursor.synced_until and now - cursor.synced_until < timedelta(minutes=cfg.analytics_refresh_minutes):
            return  # daily figures; Ozon allows one call a minute, so refresh only when due
        local_now = now.astimezone(cfg.tz)
        days = ANALYTICS_MAX_DAYS if cursor.synced_until is None else 7  # re-pull late attributions
        start = local_now - timedelta(days=min(days, cfg.history_days))
        rows = endpoints.analytics_by_day(client, start.date(), local_now.date())
        report.fetched["analytics"] = store.upsert_analytics_days(account, rows, now)
        store.save_cursor(account, "analytics", covered_since=cursor.covered_since or start,
                          synced_until=now, now=now)

    sources: dict[str, Callable[[], None]] = {
        "fbs": lambda: pull_postings("fbs"), "fbo": lambda: pull_postings("fbo"), "analytics": pull_analytics}
    for source, pull in sources.items():
        try:
            pull()
        except OzonError as exc:
            log.error("sync failed: account=%s source=%s error=%s", account, source, exc)
            store.save_sync_error(account, source, str(exc), now)
            report.errors[source] = str(exc)
            if isinstance(exc, AuthError):
                break  # the same key would fail for every other source too
    return report


def coverage(store: Store, account: str, sources: tuple[str, ...] = ("fbs", "fbo")) -> tuple[datetime | None, datetime | None]:
    """(history start, synced-until) that all `sources` share, or None where one is missing."""
    cursors = [store.cursor(account, s) for s in sources]
    if any(c.synced_until is None or c.covered_since is None for c in cursors):
        return None, None
    return max(c.covered_since for c in cursors), min(c.synced_until for c in cursors)  # type: ignore[type-var]
