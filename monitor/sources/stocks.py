"""Stock: FBS/rFBS free stock per SKU (and its daily history, for replay) and FBO stock at
Ozon's warehouses with Ozon's average daily sales. FBO days of cover are Ozon's stock over
Ozon's own average daily sales."""
from __future__ import annotations

from datetime import date, timedelta

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
    "turnover_grade": str, "synced_at": str, "excess": int, "defect": int, "expiring": int, "waiting_docs": int},
    pk=("account", "sku", "warehouse_id"))

# Each SKU's FBO turnover grade as last seen each day: a SKU turning to surplus or no sales shows
# against the days before.
FBO_GRADES = Table("fbo_grades", {"account": str, "sku": int, "day": str, "grade": str}, pk=("account", "sku", "day"),
                   dated_by="day", keep=timedelta(days=14))  # the rule compares with a week before
IDLE_GRADES = ("SURPLUS", "NO_SALES", "RESTRICTED_NO_SALES")
GRADE_DAYS = 7


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
    items = api.fbo_stocks(p.client, active_skus(p.store, p.account))
    p.store.save(FBO_GRADES, [{"account": p.account, "sku": sku, "day": p.today.isoformat(), "grade": grade}
                              for sku, grade in {s.sku: s.turnover_grade for s in items}.items()])
    return p.save(FBO_STOCKS, [{
        "account": p.account, "sku": s.sku, "warehouse_id": s.warehouse_id or 0, "offer_id": s.offer_id,
        "warehouse_name": s.warehouse_name, "cluster_id": s.cluster_id, "cluster_name": s.cluster_name,
        "available": s.available_stock_count, "transit": s.transit_stock_count, "ads": s.ads, "idc": s.idc,
        "days_without_sales": s.days_without_sales, "turnover_grade": s.turnover_grade, "synced_at": iso(p.now),
        "excess": s.excess_stock_count, "defect": s.stock_defect_stock_count, "expiring": s.expiring_stock_count,
        "waiting_docs": s.waiting_docs_stock_count,
    } for s in items])


def stocks(store: Store, account: str, today: date) -> list[Stock]:
    """FBS free stock per type (present minus reserved, over warehouses); FBO stock with Ozon's
    days of cover (stock / average daily sales), its grade and, for a SKU whose grade turned idle
    in the `GRADE_DAYS` before `today`, the day after its last other grade."""
    fbs = store.stream(STOCKS, "select sku, type, sum(present - reserved) as available from stocks where account = ? "
                       "group by sku, type", [account])
    fbo = store.stream(FBO_STOCKS, "select sku, sum(available) as available, sum(ads) as ads, "
                       "max(turnover_grade) as grade, min(days_without_sales) as idle, sum(excess) as excess, "
                       "sum(defect) as defect, sum(expiring) as expiring, sum(waiting_docs) as waiting "
                       "from fbo_stocks where account = ? group by sku", [account])
    since = today - timedelta(days=GRADE_DAYS)
    idle = ", ".join("?" * len(IDLE_GRADES))
    turned = {r["sku"]: date.fromisoformat(r["day"]) + timedelta(days=1) for r in store.rows(
        (FBO_GRADES, FBO_STOCKS), "select s.sku, (select max(g.day) from fbo_grades g where g.account = s.account and "
        f"g.sku = s.sku and g.day >= ? and g.grade not in ({idle}) and g.grade != '') as day from fbo_stocks s "
        f"where s.account = ? and s.turnover_grade in ({idle}) group by s.sku",
        [since.isoformat(), *IDLE_GRADES, account, *IDLE_GRADES]) if r["day"]}
    return ([Stock(r["sku"], r["type"], int(r["available"] or 0)) for r in fbs]
            + [Stock(r["sku"], "fbo", int(r["available"] or 0),
                     (r["available"] or 0) / r["ads"] if r["ads"] else None, r["ads"], r["grade"] or "",
                     turned.get(r["sku"]), r["idle"], r["excess"] or 0, r["defect"] or 0, r["expiring"] or 0,
                     r["waiting"] or 0) for r in fbo])


def stock_days(store: Store, account: str) -> list[StockDay]:
    """Free FBS stock per SKU, type and day, as last seen that day."""
    return [StockDay(r["sku"], r["type"], date.fromisoformat(r["day"]), int(r["available"] or 0))
            for r in store.rows(STOCK_HISTORY, "select sku, type, day, present - reserved as available from "
                                "stock_history where account = ? order by day", [account])]
