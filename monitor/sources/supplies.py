"""FBO supplies on their way to Ozon or being accepted, what they carry, and the acts of
acceptance that wait for the seller; and FBS hand-overs whose act of mismatch is to be signed.

Supply orders and acts are snapshots, replaced whole at each read; what a supply carries
(its bundle) does not change once shipped and is read once. The acts come from beta methods
with their own role: a key without it still has its supplies read."""
from __future__ import annotations

import json
from datetime import timedelta

from monitor.ozon import endpoints as api
from monitor.sources.base import Pull
from monitor.sources.products import PRODUCTS
from monitor.store import Store, Table, iso, parse
from rules import Act, ActLine, Supply

SUPPLY_ORDERS = Table("supply_orders", {"account": str, "order_id": int, "number": str, "state": str,
                                        "state_since": str, "created_at": str, "warehouse": str, "bundles": str,
                                        "supplies": str, "synced_at": str}, pk=("account", "order_id"))
SUPPLY_ITEMS = Table("supply_items", {"account": str, "bundle_id": str, "sku": int, "quantity": int},
                     pk=("account", "bundle_id", "sku"))
ACTS = Table("acts", {"account": str, "act_id": int, "scheme": str, "number": str, "kind": str, "state": str,
                      "supply": str, "created_at": str, "deadline": str, "declared": int, "accepted": int,
                      "lines": str, "synced_at": str}, pk=("account", "act_id", "scheme"))
ACT_STATES = ("ACCEPTANCE_AT_STORAGE_WAREHOUSE", "REPORTS_CONFIRMATION_AWAITING", "REPORT_REJECTED")
FBS_ACT_DAYS = 7  # hand-overs whose acts may still wait for a signature


def pull_supplies(p: Pull) -> int:
    orders = api.supply_orders(p.client, api.OPEN_SUPPLY_STATES)
    bundles = {s.bundle_id for o in orders for s in o.supplies if s.bundle_id}
    items = [r for r in p.store.rows(SUPPLY_ITEMS, "select * from supply_items where account = ?", [p.account])
             if r["bundle_id"] in bundles]  # those of supplies no longer open go
    for bundle in bundles - {r["bundle_id"] for r in items}:
        items += [{"account": p.account, "bundle_id": bundle, "sku": x.sku, "quantity": x.quantity}
                  for x in api.supply_bundle(p.client, bundle)]
    p.store.replace(SUPPLY_ITEMS, p.account, items)
    return p.store.replace(SUPPLY_ORDERS, p.account, [{
        "account": p.account, "order_id": o.order_id, "number": o.order_number, "state": o.state,
        "state_since": iso(o.state_updated_date or o.created_date), "created_at": iso(o.created_date),
        "warehouse": o.dropoff_warehouse.name, "bundles": json.dumps([s.bundle_id for s in o.supplies]),
        "supplies": json.dumps([s.supply_id for s in o.supplies]), "synced_at": iso(p.now)} for o in orders])


def pull_acts(p: Pull) -> int:
    """The acts of the supply orders in acceptance or agreeing acts, with their lines, and the
    FBS hand-overs of the last week."""
    rows = []
    for order in p.store.rows(SUPPLY_ORDERS, "select order_id, number, state from supply_orders where account = ?",
                              [p.account]):
        if order["state"] not in ACT_STATES:
            continue
        for supply in api.supply_acts(p.client, order["order_id"]):
            lines = {x.act_id: x.items for x in api.supply_act_products(p.client, supply.supply_id)} \
                if supply.supply_acts else {}
            rows += [{"account": p.account, "act_id": a.act_id, "scheme": "fbo", "number": a.act_number, "kind": a.type,
                      "state": a.act_state, "supply": order["number"], "created_at": iso(a.created_date),
                      "deadline": iso(a.deadline_utc), "declared": a.summary.declared_quantity,
                      "accepted": a.summary.fact_quantity,
                      "lines": json.dumps([[x.sku_info.sku, x.declared_quantity, x.fact_quantity,
                                            x.sku_info.price_without_vat.amount] for x in lines.get(a.act_id, [])]),
                      "synced_at": iso(p.now)} for a in supply.supply_acts]
    rows += [{"account": p.account, "act_id": a.id, "scheme": "fbs", "number": str(a.id), "kind": "FBS_MISMATCH",
              "state": a.related_docs.act_of_mismatch.document_status, "supply": str(a.id),
              "created_at": iso(a.departure_date), "deadline": None, "declared": 0, "accepted": 0, "lines": "[]",
              "synced_at": iso(p.now)}
             for a in api.fbs_acts(p.client, p.now - timedelta(days=FBS_ACT_DAYS), p.now)
             if a.related_docs.act_of_mismatch.document_status]
    return p.store.replace(ACTS, p.account, rows)


def supplies(store: Store, account: str) -> list[Supply]:
    """Open supply orders with the units they carry and their value at the seller's prices."""
    found = []
    for r in store.rows((SUPPLY_ORDERS, SUPPLY_ITEMS, PRODUCTS), "select o.order_id, o.number, o.state, o.state_since, "
                        "o.warehouse, (select coalesce(sum(i.quantity), 0) from supply_items i, json_each(o.bundles) b "
                        "where i.account = o.account and i.bundle_id = b.value) as units, (select "
                        "coalesce(sum(i.quantity * coalesce(p.price, 0)), 0) from supply_items i join json_each(o.bundles) b "
                        "on i.bundle_id = b.value left join products p on p.account = i.account and p.sku = i.sku "
                        "where i.account = o.account) as value from supply_orders o where o.account = ?", [account]):
        since = parse(r["state_since"])
        if since is not None:
            found.append(Supply(r["order_id"], r["number"] or "", r["state"] or "", since, r["warehouse"] or "",
                                int(r["units"]), float(r["value"])))
    return found


def acts(store: Store, account: str) -> list[Act]:
    return [Act(r["act_id"], r["number"] or "", r["kind"] or "", r["state"] or "", r["supply"] or "",
                parse(r["created_at"]), parse(r["deadline"]), r["declared"] or 0, r["accepted"] or 0,
                tuple(ActLine(int(sku), int(declared), int(accepted), float(price or 0))
                      for sku, declared, accepted, price in json.loads(r["lines"] or "[]")))
            for r in store.rows(ACTS, "select * from acts where account = ?", [account])]
