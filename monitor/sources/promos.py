"""Promotions and the prices that guard against them: the promotions the seller can be in,
the products Ozon will add to them (or has added) and at what price, each product's floor
(minimum price, cost) and whether its minimum price still keeps it out of promotions.

All three are snapshots, replaced whole at each read. A promotion's auto-add list is read only
for its auto-add dates still ahead, and its products only while it runs or is about to."""
from __future__ import annotations

import json
from datetime import timedelta

from monitor.ozon import endpoints as api
from monitor.sources.base import Pull
from monitor.sources.products import PRODUCTS
from monitor.store import Store, Table, iso, parse
from rules import Price, PromoProduct, Promotion

PROMOTIONS = Table("promotions", {"account": str, "action_id": int, "title": str, "date_start": str, "date_end": str,
                                  "auto_add_dates": str, "freeze_date": str, "synced_at": str},
                   pk=("account", "action_id"))
PROMO_PRODUCTS = Table("promo_products", {"account": str, "action_id": int, "product_id": int, "entered": int,
                                          "action_price": float, "auto_add_date": str},
                       pk=("account", "action_id", "product_id", "entered"))
PRICES = Table("prices", {"account": str, "product_id": int, "offer_id": str, "price": float, "min_price": float,
                          "net_price": float, "auto_actions": int, "synced_at": str}, pk=("account", "product_id"))
PRICE_TIMERS = Table("price_timers", {"account": str, "product_id": int, "guard_on": int, "expires_at": str,
                                      "synced_at": str}, pk=("account", "product_id"))
AHEAD = timedelta(days=14)  # promotions starting later than this are read when they come nearer


def pull_promotions(p: Pull) -> int:
    promos = [a for a in api.promotions(p.client)
              if (a.date_end is None or a.date_end > p.now) and (a.date_start is None or a.date_start <= p.now + AHEAD)]
    rows = []
    for promo in promos:
        for when in (d for d in promo.auto_add_dates if d > p.now):
            rows += [{"account": p.account, "action_id": promo.id, "product_id": x.product_id, "entered": 0,
                      "action_price": x.action_price_to_auto_add, "auto_add_date": iso(when)}
                     for page in api.auto_add_products(p.client, promo.id, when) for x in page]
        if promo.participating_products_count or promo.is_participating:
            rows += [{"account": p.account, "action_id": promo.id, "product_id": x.id, "entered": 1,
                      "action_price": x.action_price, "auto_add_date": None}
                     for page in api.promotion_products(p.client, promo.id) for x in page if x.add_mode == "AUTO"]
    p.store.replace(PROMO_PRODUCTS, p.account, rows)
    return p.store.replace(PROMOTIONS, p.account, [{
        "account": p.account, "action_id": a.id, "title": a.title, "date_start": iso(a.date_start),
        "date_end": iso(a.date_end), "auto_add_dates": json.dumps([iso(d) for d in a.auto_add_dates]),
        "freeze_date": iso(a.freeze_date), "synced_at": iso(p.now)} for a in promos]) + len(rows)


def pull_prices(p: Pull) -> int:
    rows = [{"account": p.account, "product_id": x.product_id, "offer_id": x.offer_id, "price": x.price.price,
             "min_price": x.price.min_price, "net_price": x.price.net_price,
             "auto_actions": int(x.price.auto_action_enabled), "synced_at": iso(p.now)}
            for page in api.prices(p.client) for x in page]
    return p.store.replace(PRICES, p.account, rows)


def pull_price_timers(p: Pull) -> int:
    """Asked only for the products Ozon may put into promotions and that have a minimum price."""
    ids = [r["product_id"] for r in p.store.rows(PRICES, "select product_id from prices where account = ? and "
                                                 "auto_actions = 1 and min_price > 0", [p.account])]
    rows = [{"account": p.account, "product_id": t.product_id, "guard_on": int(t.min_price_for_auto_actions_enabled),
             "expires_at": iso(t.expired_at), "synced_at": iso(p.now)}
            for page in api.price_timers(p.client, ids) for t in page]
    return p.store.replace(PRICE_TIMERS, p.account, rows)


def promotions(store: Store, account: str) -> list[Promotion]:
    return [Promotion(r["action_id"], r["title"] or "", parse(r["date_start"]), parse(r["date_end"]),
                      tuple(d for d in map(parse, json.loads(r["auto_add_dates"] or "[]")) if d is not None),
                      parse(r["freeze_date"]))
            for r in store.rows(PROMOTIONS, "select * from promotions where account = ?", [account])]


def promo_products(store: Store, account: str) -> list[PromoProduct]:
    """Products of the promotions by SKU (a product the catalogue does not know is left out)."""
    return [PromoProduct(r["action_id"], r["sku"], r["action_price"] or 0.0, bool(r["entered"]),
                         parse(r["auto_add_date"]))
            for r in store.rows((PROMO_PRODUCTS, PRODUCTS), "select x.action_id, p.sku, x.action_price, x.entered, "
                                "x.auto_add_date from promo_products x join products p on p.account = x.account and "
                                "p.product_id = x.product_id where x.account = ? and p.sku is not null", [account])]


def prices(store: Store, account: str) -> list[Price]:
    """The prices of the products Ozon may promote or that are in a promotion: the rules need no
    other (a big catalogue's prices are not all loaded every cycle)."""
    return [Price(r["sku"], r["price"] or 0.0, r["min_price"] or 0.0, r["net_price"] or 0.0, r["category_id"] or 0,
                  bool(r["auto_actions"]), None if r["guard_on"] is None else bool(r["guard_on"]),
                  parse(r["expires_at"]))
            for r in store.rows((PRICES, PRICE_TIMERS, PRODUCTS, PROMO_PRODUCTS),
                                "select p.sku, x.price, x.min_price, x.net_price, p.category_id, x.auto_actions, "
                                "t.guard_on, t.expires_at from prices x join products p on p.account = x.account and "
                                "p.product_id = x.product_id left join price_timers t on t.account = x.account and "
                                "t.product_id = x.product_id where x.account = ? and p.sku is not null and "
                                "((x.auto_actions = 1 and x.min_price > 0) or x.product_id in (select product_id from "
                                "promo_products where account = ?))", [account, account])]
