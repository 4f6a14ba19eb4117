"""FBS and FBO postings: the orders every sales, cancellation and shipment rule reads."""
from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from monitor.ozon import endpoints as api
from monitor.ozon import models as m
from monitor.sources.base import Pull
from monitor.store import Store, Table, iso
from rules import NO_TIME, Orders

POSTINGS = Table("postings", {
    "posting_number": str, "account": str, "scheme": str, "status": str, "substatus": str, "order_number": str,
    "created_at": str, "in_process_at": str, "shipment_date": str, "delivering_date": str, "cancel_type": str,
    "cancel_initiator": str, "cancel_reason": str, "affects_cancellation_rating": int, "products": str,
    "synced_at": str, "skus": str, "units": int, "amount": float,
}, pk=("account", "posting_number"), indexes=(("account", "created_at"),), dated_by="created_at")


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


def _save_postings(p: Pull, scheme: str, pages: Iterable[list[m.Posting]]) -> int:
    for page in pages:
        p.save(POSTINGS, [posting_row(p.account, scheme, posting, p.now) for posting in page])
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


# Who cancelled, from Ozon's cancellation_type: the seller, the buyer, or Ozon's side (Ozon
# itself, its system, the delivery service).
CANCELLED_BY = {"seller": "seller", "client": "buyer", "customer": "buyer", "ozon": "ozon", "system": "ozon",
                "delivery": "ozon"}
FBO_OPEN = ("awaiting_packaging", "awaiting_deliver", "delivering")
FBO_NUMBERS = 1000  # posting numbers per request


def pull_fbo_open(p: Pull) -> int:
    """FBO postings the store holds as still on their way, re-read by number hourly: the FBO
    list has no status-change filter, so a posting read when placed would stay "delivering" for
    ever (a parcel lost in delivery unseen). Every FBO posting enters the store when placed, so
    these are all the open ones: a page per hundred, the least the list allows; those read in
    this very walk are left out."""
    p.covered_since = p.history_start
    held = [r[0] for r in p.store.tuples(POSTINGS, "select posting_number from postings where account = ? and "
                                         "scheme = 'fbo' and status in (?, ?, ?) and created_at >= ? and synced_at < ? "
                                         "order by created_at", [p.account, *FBO_OPEN, iso(p.history_start),
                                                                 iso(p.now)])]
    for start in range(0, len(held), FBO_NUMBERS):
        _save_postings(p, "fbo", api.fbo_postings(p.client, p.history_start, p.now,
                                                  numbers=held[start:start + FBO_NUMBERS]))
    return p.saved


def postings_since(store: Store, account: str, since: datetime) -> Iterator[tuple[Any, ...]]:
    """Postings placed since `since`, oldest first, as tuples streamed from the cursor (the
    bulk of a cycle's reading): (posting_number, created_at, status, scheme, skus "1,2",
    units, amount, shipment_date, delivering_date, cancel_type)."""
    return store.tuples(POSTINGS, "select posting_number, created_at, status, scheme, skus, units, amount, "
                        "shipment_date, delivering_date, cancel_type from postings where account = ? and "
                        "created_at >= ? order by created_at", [account, iso(since)])


def order_times(store: Store, account: str, since: datetime) -> list[str]:
    """When each posting since `since` was placed (ISO-8601), oldest first."""
    return [r[0] for r in store.tuples(POSTINGS, "select created_at from postings where account = ? and "
                                       "created_at >= ? order by created_at", [account, iso(since)])]


def orders(rows: Iterable[tuple[Any, ...]], chunk: int = 50_000) -> Orders:
    """Rows of `postings_since` as the rules' columns, read a chunk at a time so a big shop's
    rows are never all Python objects at once. Postings of the same SKUs share one tuple while
    a chunk is read (a big shop has far fewer products than orders)."""
    skus_of: dict[str, tuple[int, ...]] = {}
    rows = iter(rows)
    parts = []
    while block := list(islice(rows, chunk)):
        number, created, status, scheme, skus, units, amount, shipment, delivering, cancel_type = zip(*block)
        for text in skus:
            if text not in skus_of:
                skus_of[text] = tuple(map(int, text.split(","))) if text else ()
        parts.append(Orders.from_columns(
            list(number), [_stamp(t) for t in created], [sys.intern(s or "") for s in status],
            [sys.intern(s or "") for s in scheme], [u or 0 for u in units], [a or 0.0 for a in amount],
            [_stamp(t) for t in shipment], [_stamp(t) for t in delivering], [CANCELLED_BY.get(c or "", "") for c in cancel_type],
            [skus_of[text] for text in skus]))
    return Orders.concat(parts)


def _stamp(text: str | None) -> float:
    return datetime.fromisoformat(text).timestamp() if text else NO_TIME
