"""Returns, with their reasons: the returns rule reads them by SKU."""
from __future__ import annotations

from datetime import datetime

from monitor.ozon import endpoints as api
from monitor.sources.base import Pull
from monitor.store import Store, Table, iso
from rules import Return

RETURNS = Table("returns", {
    "id": int, "account": str, "posting_number": str, "order_number": str, "sku": int, "offer_id": str,
    "quantity": int, "price": float, "reason": str, "type": str, "schema": str, "return_date": str, "status": str,
    "status_name": str, "status_changed_at": str, "synced_at": str,
}, pk=("account", "id"), indexes=(("account", "return_date"),), dated_by="return_date")


def pull_returns(p: Pull) -> int:
    p.covered_since = p.history_start
    for page in api.returns(p.client, p.resume_from or p.history_start, p.now):
        p.save(RETURNS, [{
            "id": r.id, "account": p.account, "posting_number": r.posting_number, "order_number": r.order_number,
            "sku": r.product.sku, "offer_id": r.product.offer_id, "quantity": r.product.quantity,
            "price": r.product.price.price if r.product.price else None, "reason": r.return_reason_name,
            "type": r.type, "schema": r.schema_, "return_date": iso(r.logistic.return_date),
            "status": r.visual.status.sys_name, "status_name": r.visual.status.display_name,
            "status_changed_at": iso(r.visual.change_moment), "synced_at": iso(p.now),
        } for r in page])
    return p.saved


def returns_since(store: Store, account: str, since: datetime) -> list[Return]:
    """Returns since `since` (a return never precedes its order, so these are all the returns
    of the orders placed since then)."""
    return [Return(number, sku, reason or "", datetime.fromisoformat(at)) for number, sku, reason, at in store.tuples(
        RETURNS, "select posting_number, sku, reason, return_date from returns where account = ? and sku is not null "
        "and return_date >= ?", [account, iso(since)])]
