"""One function per Seller API method. Method versions live here and nowhere else: when Ozon
switches a version off, this is the file to change."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

from monitor.ozon.client import BadResponse, OzonClient
from monitor.ozon.models import AnalyticsPage, AnalyticsRow, Posting, PostingPage

FBS_LIST = "/v4/posting/fbs/list"
FBO_LIST = "/v3/posting/fbo/list"
ANALYTICS_DATA = "/v1/analytics/data"

POSTING_PAGE = 100  # the maximum both posting lists accept
ANALYTICS_PAGE = 1000


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def fbs_postings(client: OzonClient, since: datetime, to: datetime,
                 changed_since: datetime | None = None) -> Iterator[list[Posting]]:
    """FBS/rFBS postings created in [since, to]; with `changed_since`, only those whose status
    changed after it (how status changes of old postings are caught). Yields one page at a time."""
    flt: dict = {"since": _iso(since), "to": _iso(to)}
    if changed_since is not None:
        flt["last_changed_status_date"] = {"from": _iso(changed_since), "to": _iso(to)}
    yield from _cursor_pages(client, FBS_LIST, {"filter": flt, "limit": POSTING_PAGE, "sort_dir": "ASC"})


def fbo_postings(client: OzonClient, since: datetime, to: datetime) -> Iterator[list[Posting]]:
    """FBO postings created in [since, to], one page at a time."""
    body = {"filter": {"since": _iso(since), "to": _iso(to)}, "limit": POSTING_PAGE, "sort_dir": "ASC"}
    yield from _cursor_pages(client, FBO_LIST, body)


def _cursor_pages(client: OzonClient, method: str, body: dict) -> Iterator[list[Posting]]:
    cursor = ""
    while True:
        page = client.post(method, {**body, "cursor": cursor}, PostingPage)
        yield page.postings
        if not page.has_next:
            return
        if not page.cursor or page.cursor == cursor:
            raise BadResponse(method, "has_next is true but the cursor did not advance",
                              "Ozon paging fault; the sync will resume next cycle")
        cursor = page.cursor


def analytics_by_day(client: OzonClient, date_from: date, date_to: date,
                     metrics: tuple[str, ...] = ("revenue", "ordered_units")) -> list[AnalyticsRow]:
    """Account totals per day. `revenue` and `ordered_units` are readable on every subscription."""
    rows: list[AnalyticsRow] = []
    offset = 0
    while True:
        page = client.post(ANALYTICS_DATA, {
            "date_from": date_from.isoformat(), "date_to": date_to.isoformat(), "metrics": list(metrics),
            "dimension": ["day"], "filters": [], "sort": [{"key": "revenue", "order": "DESC"}],
            "limit": ANALYTICS_PAGE, "offset": offset,
        }, AnalyticsPage)
        rows.extend(page.result.data)
        if len(page.result.data) < ANALYTICS_PAGE:
            return rows
        offset += ANALYTICS_PAGE
