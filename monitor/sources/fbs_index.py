"""Ozon's own FBS/rFBS error index: its value, its daily values and the postings it counts."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from monitor.ozon import endpoints as api
from monitor.sources.base import ACCOUNT_INFO, Pull, account_info
from monitor.store import Store, Table, iso
from rules import FbsError, FbsIndex

FBS_INDEX_DAYS = Table("fbs_index_days", {"account": str, "date": str, "index_by_date": float, "costs": float},
                       pk=("account", "date"), dated_by="date")
FBS_INDEX_POSTINGS = Table("fbs_index_postings", {
    "posting_number": str, "error_type": str, "account": str, "error_at": str, "idx": float, "charge_percent": float,
    "charge_price": float, "product_price": float, "delivery_schema": str},
    pk=("account", "posting_number", "error_type"), dated_by="error_at")


def pull_fbs_index(p: Pull) -> int:
    info = api.fbs_error_index(p.client)
    p.store.save(ACCOUNT_INFO, [{"account": p.account, "fbs_error_index": info.index, "updated_at": iso(p.now)}])
    p.save(FBS_INDEX_DAYS, [{"account": p.account, "date": d.date, "index_by_date": d.index_by_date,
                             "costs": d.processing_costs_sum_by_date} for d in info.defects])
    since = p.resume_from - timedelta(days=2) if p.resume_from else p.now - timedelta(days=30)
    for page in api.fbs_error_postings(p.client, since, p.now):
        p.save(FBS_INDEX_POSTINGS, [{
            "posting_number": e.posting_number, "error_type": e.posting_error_type, "account": p.account,
            "error_at": iso(e.error_at), "idx": e.index, "charge_percent": e.charge_percent,
            "charge_price": e.charge_price, "product_price": e.product_price, "delivery_schema": e.delivery_schema,
        } for e in page])
    return p.saved


def fbs_index(store: Store, account: str) -> FbsIndex | None:
    """Ozon's error index, when Ozon reported one, with its days and the postings it counts
    (oldest first)."""
    value = account_info(store, account).get("fbs_error_index")
    if value is None:
        return None
    days = store.rows(FBS_INDEX_DAYS, "select date, index_by_date from fbs_index_days where account = ? order by date",
                      [account])
    errors = store.rows(FBS_INDEX_POSTINGS, "select posting_number, error_type, error_at, charge_price from "
                        "fbs_index_postings where account = ? order by error_at", [account])
    return FbsIndex(value, tuple((date.fromisoformat(r["date"]), r["index_by_date"] or 0.0) for r in days),
                    tuple(FbsError(r["posting_number"], r["error_type"], datetime.fromisoformat(r["error_at"]),
                                   r["charge_price"] or 0.0) for r in errors if r["error_at"]))
