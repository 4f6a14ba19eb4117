"""Returns, with their reasons, status, value and paid storage: the returns rules read them."""
from __future__ import annotations

from datetime import datetime

from monitor.ozon import endpoints as api
from monitor.sources.base import Pull
from monitor.store import Store, Table, iso, parse
from rules import Return

RETURNS = Table("returns", {
    "id": int, "account": str, "posting_number": str, "order_number": str, "sku": int, "offer_id": str,
    "quantity": int, "price": float, "reason": str, "type": str, "schema": str, "return_date": str, "status": str,
    "status_name": str, "status_changed_at": str, "synced_at": str, "place": str, "storage_sum": float,
    "storage_since": str, "disposal_at": str, "compensation": str,
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
            "place": r.place.name if r.place else None,
            "storage_sum": r.storage.sum.price if r.storage and r.storage.sum else None,
            "storage_since": iso(r.storage.tariffication_start_date) if r.storage else None,
            "disposal_at": iso(r.storage.utilization_forecast_date) if r.storage else None,
            "compensation": r.compensation_status.status.sys_name if r.compensation_status else None,
        } for r in page])
    return p.saved


def returns_since(store: Store, account: str, since: datetime) -> list[Return]:
    """Returns since `since` (a return never precedes its order, so these are all the returns
    of the orders placed since then)."""
    return [Return(r["posting_number"], r["sku"], r["reason"] or "", datetime.fromisoformat(r["return_date"]),
                   r["status"] or "", r["status_name"] or "", parse(r["status_changed_at"]), r["price"] or 0.0,
                   r["place"] or "", r["storage_sum"] or 0.0, parse(r["storage_since"]), parse(r["disposal_at"]))
            for r in store.stream(RETURNS, "select posting_number, sku, reason, return_date, status, status_name, "
                                  "status_changed_at, price, place, storage_sum, storage_since, disposal_at "
                                  "from returns where account = ? and sku is not null and "
                                  "return_date >= ?", [account, iso(since)])]
