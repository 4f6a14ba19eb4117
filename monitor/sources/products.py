"""Product cards: status, moderation, errors and availability per SKU. Here are the readings the
rules rely on: card errors of level WARNING do not stop a card selling, and a card is
unavailable only for the reasons Ozon marks UNAVAILABLE."""
from __future__ import annotations

import functools
import json
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from monitor.ozon import endpoints as api
from monitor.ozon import models as m
from monitor.sources.base import Pull
from monitor.store import Store, Table, iso, parse
from rules import Card, PriceMove

PRODUCTS = Table("products", {
    "account": str, "product_id": int, "sku": int, "offer_id": str, "name": str, "price": float, "archived": int,
    "autoarchived": int, "status": str, "status_name": str, "status_description": str, "moderate_status": str,
    "validation_status": str, "status_failed": str, "status_updated_at": str, "errors": str, "availability": str,
    "has_price": int, "has_stock": int, "updated_at": str, "synced_at": str, "color_index": str,
    "competitor_price": float, "tariffs": str, "category_id": int,
}, pk=("account", "product_id"), indexes=(("account", "sku"),))
# Each SKU's price index and tariffs as last seen each day, so a change shows against the days before.
PRICE_HISTORY = Table("price_history", {"account": str, "sku": int, "day": str, "color_index": str, "tariffs": str},
                      pk=("account", "sku", "day"), indexes=(("account", "day"),), dated_by="day",
                      keep=timedelta(days=14))  # the rules compare with a week before
GOOD_INDEX, BAD_INDEX = ("SUPER", "GREEN"), ("YELLOW", "RED")


def _color(c: m.ProductInfo) -> str:
    return c.price_indexes.color_index.removeprefix("COLOR_INDEX_")


def _competitor(c: m.ProductInfo) -> float | None:
    prices = [x.minimal_price for x in (c.price_indexes.ozon_index_data, c.price_indexes.external_index_data)
              if x.minimal_price]
    return min(prices) if prices else None


def _tariffs(c: m.ProductInfo) -> str:
    """{scheme: [commission percent, logistics rubles]} as JSON, for the schemes Ozon gives."""
    return json.dumps({x.sale_schema.lower(): [x.percent, x.delivery_amount] for x in c.commissions if x.sale_schema},
                      sort_keys=True)


def pull_products(p: Pull) -> int:
    ids = [item.product_id for page in api.product_ids(p.client) for item in page]
    for page in api.product_info(p.client, ids):
        p.save(PRODUCTS, [{
            "account": p.account, "product_id": c.id, "sku": c.sku, "offer_id": c.offer_id, "name": c.name,
            "price": c.price, "archived": int(c.is_archived), "autoarchived": int(c.is_autoarchived),
            "status": c.statuses.status, "status_name": c.statuses.status_name,
            "status_description": c.statuses.status_description, "moderate_status": c.statuses.moderate_status,
            "validation_status": c.statuses.validation_status, "status_failed": c.statuses.status_failed,
            "status_updated_at": iso(c.statuses.status_updated_at),
            "errors": json.dumps([e.model_dump() for e in c.errors], ensure_ascii=False),
            "availability": json.dumps([{"sku": a.sku, "availability": a.availability, "reasons": a.reason_texts()}
                                        for a in c.availabilities], ensure_ascii=False),
            "has_price": _flag(c.visibility_details.has_price), "has_stock": _flag(c.visibility_details.has_stock),
            "updated_at": iso(c.updated_at), "synced_at": iso(p.now), "color_index": _color(c),
            "competitor_price": _competitor(c), "tariffs": _tariffs(c), "category_id": c.description_category_id,
        } for c in page])
        p.store.save(PRICE_HISTORY, [{"account": p.account, "sku": c.sku, "day": p.today.isoformat(),
                                      "color_index": _color(c), "tariffs": _tariffs(c)} for c in page if c.sku])
    return p.saved


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def active_skus(store: Store, account: str) -> list[int]:
    """SKUs of the account's cards that are not archived."""
    return [r["sku"] for r in store.rows(PRODUCTS, "select sku from products where account = ? and archived = 0 "
                                         "and sku is not null", [account])]


def cards(store: Store, account: str) -> Iterator[Card]:
    """The cards with a SKU, streamed (a big shop has a hundred thousand)."""
    return map(card, store.stream(PRODUCTS, "select sku, offer_id, name, status, status_name, moderate_status, "
                                  "status_failed, errors, availability, archived, autoarchived, status_updated_at, price, "
                                  "color_index, competitor_price, tariffs "
                                  "from products where account = ? and sku is not null", [account]))


def card(r: dict[str, Any]) -> Card:
    """A product row as the rules see the card: errors of level WARNING left out."""
    availability = json.loads(r["availability"] or "[]")
    return Card(
        sku=r["sku"], offer_id=r["offer_id"] or "", name=r["name"] or "", status=sys.intern(r["status"] or "unknown"),
        status_name=sys.intern(r["status_name"] or ""), moderate_status=sys.intern(r["moderate_status"] or ""),
        status_failed=sys.intern(r["status_failed"] or ""),
        errors=tuple(e["texts"]["message"] or e["code"] for e in json.loads(r["errors"] or "[]")
                     if e.get("level") != "ERROR_LEVEL_WARNING"),
        unavailable_reasons=tuple(text for a in availability if a["availability"] == "UNAVAILABLE"
                                  for text in a["reasons"]),
        archived=bool(r["archived"]), autoarchived=bool(r["autoarchived"]), changed_at=parse(r["status_updated_at"]),
        price=r["price"] or 0.0, color_index=r["color_index"] or "", competitor_price=r["competitor_price"],
        **_split(r["tariffs"]))


@functools.lru_cache(maxsize=4096)
def _split(tariffs: str | None) -> dict[str, tuple[tuple[str, float], ...]]:
    """The stored tariffs as the card's (scheme, percent) and (scheme, logistics) pairs; cards
    of one category share one tariff, and so share its pairs (100k cards, a few tariffs)."""
    found = json.loads(tariffs or "{}")
    return {"percent": tuple((k, v[0]) for k, v in sorted(found.items()) if v[0] is not None),
            "logistics": tuple((k, v[1]) for k, v in sorted(found.items()) if v[1] is not None)}


def price_moves(store: Store, account: str, since: date) -> list[PriceMove]:
    """SKUs whose tariffs now differ from the earliest day kept since `since` (with those
    tariffs), and SKUs now out of favour (YELLOW, RED) that had a good price index since then
    (with the last good day)."""
    first = next(iter(store.tuples(PRICE_HISTORY, "select min(day) from price_history where account = ? and day >= ?",
                                   [account, since.isoformat()])))[0]
    if first is None:
        return []
    # Driven from the cards (one key lookup into the history each), never a scan of the history.
    tariffs = store.rows((PRODUCTS, PRICE_HISTORY), "select h.sku, h.day, h.tariffs from products p cross join "
                         "price_history h on h.account = p.account and h.sku = p.sku and h.day = ? where "
                         "p.account = ? and p.sku is not null and h.tariffs != p.tariffs", [first, account])
    index = store.rows((PRODUCTS, PRICE_HISTORY), "select p.sku, max(h.day) as day, h.color_index from products p "
                       "cross join price_history h on h.account = p.account and h.sku = p.sku and h.day >= ? "
                       "where p.account = ? and p.color_index in (?, ?) and h.color_index in (?, ?) group by p.sku",
                       [first, account, *BAD_INDEX, *GOOD_INDEX])
    return ([PriceMove(r["sku"], date.fromisoformat(r["day"]), "", **_split(r["tariffs"])) for r in tariffs]
            + [PriceMove(r["sku"], date.fromisoformat(r["day"]), r["color_index"], (), ()) for r in index])
