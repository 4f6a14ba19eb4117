"""Stored rows -> the rules' input (`AccountData`): what Ozon's fields mean for the rules.

Here are the few interpretations the rules rely on: card errors of level WARNING do not stop a
card selling; a card is unavailable only for the reasons Ozon marks UNAVAILABLE; a rating's
direction comes from Ozon (or, when missing, from which threshold is the lower); FBO days of
cover are Ozon's stock over Ozon's own average daily sales."""
from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from datetime import date, datetime, tzinfo
from itertools import islice
from typing import Any

from monitor.store import Store, parse
from rules import (NO_TIME, AccountData, Card, FbsError, FbsIndex, MoneyDay, Orders, RatingSeries, Return, SourceHealth,
                   Stock, StockDay, TrafficDay)


def account_data(store: Store, account: str, client_id: int, now: datetime, history_since: datetime | None,
                 tz: tzinfo, replay: bool = False) -> AccountData:
    """Everything the rules read about one account, as of `now`, from the stored data (no
    orders when no postings were ever synced: `history_since` None). The daily stock history
    (one row per SKU and day) is read only to `replay` the past: live rules read today's stock."""
    info = store.account_info(account)
    cursors = store.cursors(account)
    finance = next((c for c in cursors if c["source"] == "finance"), None)
    return AccountData(
        account=account, client_id=client_id, now=now, history_since=history_since, tz=tz,
        orders=orders(store.postings_since(account, history_since)) if history_since else Orders.of([]),
        returns=[Return(number, sku, reason or "", datetime.fromisoformat(at))
                 for number, sku, reason, at in store.returns_since(account, history_since)] if history_since else [],
        cards=[card(r) for r in store.cards(account)],
        stocks=stocks(store.fbs_stock(account), store.fbo_stock(account)),
        ratings=[rating(r) for r in store.ratings(account)],
        penalty_score_exceeded=bool(info.get("penalty_score_exceeded")),
        money=[MoneyDay(date.fromisoformat(r["date"]), r["n"], r["sales"], -r["commission"], -r["delivery"])
               for r in store.posting_money_days(account)],
        payouts={date.fromisoformat(r["day"]): abs(r["payments"] or 0.0) for r in store.payouts(account)},
        money_since=date.fromisoformat(finance["covered_since"][:10]) if finance and finance["covered_since"]
        else None,
        traffic=[TrafficDay(r["sku"], date.fromisoformat(r["day"]), r["hits_view"], r["hits_tocart"] or 0.0)
                 for r in store.traffic(account)],
        sources={c["source"]: SourceHealth(c["source"], parse(c["synced_until"]), c["last_error"],
                                           c["error_kind"], c["error_method"], parse(c["disabled_until"])) for c in cursors},
        key_expires_at=parse(info.get("key_expires_at")),
        fbs_index=fbs_index(info.get("fbs_error_index"), store.fbs_index_days(account), store.fbs_errors(account)),
        stock_history=[StockDay(r["sku"], r["type"], date.fromisoformat(r["day"]), int(r["available"] or 0))
                       for r in store.stock_days(account)] if replay else [],
    )


def fbs_index(value: float | None, days: list[dict[str, Any]], errors: list[dict[str, Any]]) -> FbsIndex | None:
    """Ozon's error index, when Ozon reported one."""
    if value is None:
        return None
    return FbsIndex(value, tuple((date.fromisoformat(r["date"]), r["index_by_date"] or 0.0) for r in days),
                    tuple(FbsError(r["posting_number"], r["error_type"], datetime.fromisoformat(r["error_at"]),
                                   r["charge_price"] or 0.0) for r in errors if r["error_at"]))


def orders(rows: Iterable[tuple[Any, ...]], chunk: int = 50_000) -> Orders:
    """Rows of `Store.postings_since` as the rules' columns, read a chunk at a time so a big
    shop's rows are never all Python objects at once. Postings of the same SKUs share one
    tuple while a chunk is read (a big shop has far fewer products than orders)."""
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
            [_stamp(t) for t in shipment], [_stamp(t) for t in delivering], [c == "seller" for c in cancel_type],
            [skus_of[text] for text in skus]))
    return Orders.concat(parts)


def _stamp(text: str | None) -> float:
    return datetime.fromisoformat(text).timestamp() if text else NO_TIME


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
        archived=bool(r["archived"]), autoarchived=bool(r["autoarchived"]), changed_at=parse(r["status_updated_at"]))


def stocks(fbs: Iterable[dict[str, Any]], fbo: Iterable[dict[str, Any]]) -> list[Stock]:
    """FBS free stock per type; FBO stock with Ozon's days of cover (stock / average daily sales)."""
    return ([Stock(r["sku"], r["type"], int(r["available"] or 0)) for r in fbs]
            + [Stock(r["sku"], "fbo", int(r["available"] or 0),
                     (r["available"] or 0) / r["ads"] if r["ads"] else None, r["ads"]) for r in fbo])


def rating(r: dict[str, Any]) -> RatingSeries:
    """Higher is better unless Ozon says LOWER_IS_BETTER (or, without a direction, the danger
    threshold lies above the warning one)."""
    values = tuple((datetime.fromisoformat(v["date_from"]), v["value"]) for v in r["values"])
    higher = r["direction"] != "LOWER_IS_BETTER" if r["direction"] else (r["danger"] or 0) < (r["warning"] or 0)
    return RatingSeries(r["rating"], r["name"] or r["rating"], r["status"] or "", higher, r["warning"], r["danger"],
                        values)
