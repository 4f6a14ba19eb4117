"""Stock: FBS/rFBS free stock per SKU (and its daily history, for replay) and FBO stock at
Ozon's warehouses with Ozon's average daily sales. FBO days of cover are Ozon's stock over
Ozon's own average daily sales."""
from __future__ import annotations

from datetime import date

from monitor.ozon import endpoints as api
from monitor.sources.base import Pull
from monitor.sources.products import active_skus
from monitor.store import Store, Table, iso
from rules import Stock, StockDay

STOCKS = Table("stocks", {"account": str, "sku": int, "type": str, "product_id": int, "offer_id": str,
                          "present": int, "reserved": int, "synced_at": str}, pk=("account", "sku", "type"))
STOCK_HISTORY = Table("stock_history", {"account": str, "sku": int, "type": str, "day": str, "present": int,
                                        "reserved": int}, pk=("account", "sku", "type", "day"), dated_by="day")
FBO_STOCKS = Table("fbo_stocks", {
    "account": str, "sku": int, "warehouse_id": int, "offer_id": str, "warehouse_name": str, "cluster_id": int,
    "cluster_name": str, "available": int, "transit": int, "ads": float, "idc": float, "days_without_sales": int,
    "turnover_grade": str, "synced_at": str}, pk=("account", "sku", "warehouse_id"))


def pull_fbs_stocks(p: Pull) -> int:
    day = p.today.isoformat()
    for page in api.fbs_stocks(p.client):
        rows = [{"account": p.account, "sku": s.sku, "type": s.type, "product_id": item.product_id,
                 "offer_id": item.offer_id, "present": s.present, "reserved": s.reserved, "synced_at": iso(p.now)}
                for item in page for s in item.stocks if s.sku]
        p.store.save(STOCK_HISTORY, [{k: r[k] for k in ("account", "sku", "type", "present", "reserved")}
                                     | {"day": day} for r in rows])
        p.save(STOCKS, rows)
    return p.saved


def pull_fbo_stocks(p: Pull) -> int:
    """Asked for by SKU: the catalogue (`products`) is read first."""
    return p.save(FBO_STOCKS, [{
        "account": p.account, "sku": s.sku, "warehouse_id": s.warehouse_id or 0, "offer_id": s.offer_id,
        "warehouse_name": s.warehouse_name, "cluster_id": s.cluster_id, "cluster_name": s.cluster_name,
        "available": s.available_stock_count, "transit": s.transit_stock_count, "ads": s.ads, "idc": s.idc,
        "days_without_sales": s.days_without_sales, "turnover_grade": s.turnover_grade, "synced_at": iso(p.now),
    } for s in api.fbo_stocks(p.client, active_skus(p.store, p.account))])


def stocks(store: Store, account: str) -> list[Stock]:
    """FBS free stock per type (present minus reserved, over warehouses); FBO stock with Ozon's
    days of cover (stock / average daily sales)."""
    fbs = store.stream(STOCKS, "select sku, type, sum(present - reserved) as available from stocks where account = ? "
                       "group by sku, type", [account])
    fbo = store.stream(FBO_STOCKS, "select sku, sum(available) as available, sum(ads) as ads from fbo_stocks "
                       "where account = ? group by sku", [account])
    return ([Stock(r["sku"], r["type"], int(r["available"] or 0)) for r in fbs]
            + [Stock(r["sku"], "fbo", int(r["available"] or 0),
                     (r["available"] or 0) / r["ads"] if r["ads"] else None, r["ads"]) for r in fbo])


def stock_days(store: Store, account: str) -> list[StockDay]:
    """Free FBS stock per SKU, type and day, as last seen that day."""
    return [StockDay(r["sku"], r["type"], date.fromisoformat(r["day"]), int(r["available"] or 0))
            for r in store.rows(STOCK_HISTORY, "select sku, type, day, present - reserved as available from "
                                "stock_history where account = ? order by day", [account])]
