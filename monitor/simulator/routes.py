"""The Seller API methods the simulator answers, with Ozon's request checks (required fields,
page limits, period lengths) and Ozon's paging schemes, as pure functions of the `World` at a
moment. No HTTP here: `server.py` carries requests to `SellerApi.routes`."""
from __future__ import annotations

import base64
import json
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any, overload

from monitor.ozon import endpoints as api
from monitor.simulator.world import (ACCRUAL_TYPES, DROP_OFF, FINE_TYPE, MSK, RATINGS, RETURN_STATUSES,
                                     SESSIONS_PER_UNIT, STORAGE_TYPE, TOCART_PER_UNIT, VIEWS_PER_UNIT, SimOrder, World)

Clock = Callable[[], datetime]
ACCRUALS_PAGE = 200
PREMIUM_METRICS = {"hits_view", "hits_tocart", "session_view", "conv_tocart", "returns", "cancellations",
                   "delivered_units", "hits_view_search", "hits_view_pdp", "hits_tocart_search", "hits_tocart_pdp",
                   "session_view_search", "session_view_pdp", "conv_tocart_search", "conv_tocart_pdp",
                   "position_category"}


class ApiError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment else None


def _money(value: float) -> dict[str, str]:
    return {"amount": f"{value:.2f}", "currency": "RUB"}


def _field(body: dict, *keys: str) -> Any:
    node: Any = body
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


@overload
def _time(body: dict, *keys: str) -> datetime: ...
@overload
def _time(body: dict, *keys: str, required: bool) -> datetime | None: ...


def _time(body: dict, *keys: str, required: bool = True) -> datetime | None:
    value = _field(body, *keys)
    if value in (None, ""):
        if required:
            raise ApiError(400, 3, f"{'.'.join(keys)} is required")
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, 3, f"{'.'.join(keys)}: invalid date-time {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _day(body: dict, key: str) -> date:
    try:
        return date.fromisoformat(str(body.get(key, ""))[:10])
    except ValueError:
        raise ApiError(400, 3, f"{key}: expected YYYY-MM-DD") from None


def _limit(body: dict, maximum: int) -> int:
    limit = body.get("limit")
    if not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise ApiError(400, 3, f"limit must be between 1 and {maximum}")
    return limit


def _period(since: datetime, to: datetime) -> None:
    if to - since > timedelta(days=366):
        raise ApiError(400, 3, "PERIOD_IS_TOO_LONG")


def _encode(state: dict) -> str:
    return base64.b64encode(json.dumps(state).encode()).decode()


def _decode(token: str) -> dict:
    try:
        return json.loads(base64.b64decode(token))
    except (ValueError, TypeError):
        raise ApiError(400, 3, "invalid cursor") from None


# Who cancelled -> (reason id, reason, cancellation_type, cancellation_initiator) as Ozon gives them.
CANCELLED_BY = {"seller": (352, "Товар закончился у продавца", "seller", "Продавец"),
                "buyer": (401, "Покупатель отменил заказ", "client", "Клиент"),
                "ozon": (501, "Отменено Ozon: отправление не прибыло на склад", "ozon", "Ozon")}


class SellerApi:
    """Seller API methods by path, answered from a `World` as of `clock()`; cursor pages read
    the snapshot their first page saw."""

    def __init__(self, world: World, clock: Clock) -> None:
        self.world, self.clock = world, clock
        self._lock = threading.Lock()
        self._snapshots: OrderedDict[str, list[dict]] = OrderedDict()
        self._fbo_sales_cache: tuple[datetime | None, tuple[dict[int, int], dict[int, datetime]]] = (None, ({}, {}))
        self.routes: dict[str, Callable[[dict, datetime], dict]] = {
            api.SELLER_INFO: self.seller_info,
            api.ROLES: self.roles,
            api.FBS_LIST: self.fbs_list,
            api.FBS_UNFULFILLED: self.fbs_unfulfilled,
            api.FBO_LIST: self.fbo_list,
            api.ANALYTICS_DATA: self.analytics_data,
            api.RETURNS_LIST: self.returns_list,
            api.FBS_STOCKS: self.fbs_stocks,
            api.FBO_STOCKS: self.fbo_stocks,
            api.PRODUCT_LIST: self.product_list,
            api.PRODUCT_INFO: self.product_info,
            api.RATING_SUMMARY: self.rating_summary,
            api.RATING_HISTORY: self.rating_history,
            api.FBS_INDEX: self.fbs_index,
            api.FBS_INDEX_POSTINGS: self.fbs_index_postings,
            api.ACCRUALS_BY_DAY: self.accruals_by_day,
            api.BALANCE: self.balance,
            api.ACCRUAL_TYPES: self.accrual_types,
            api.PROMOTIONS: self.promotions,
            api.AUTO_ADD_PRODUCTS: self.auto_add_products,
            api.PROMOTION_PRODUCTS: self.promotion_products,
            api.PRICES: self.prices,
            api.PRICE_TIMERS: self.price_timers,
            api.SUPPLY_ORDERS: self.supply_orders,
            api.SUPPLY_ORDER: self.supply_order,
            api.SUPPLY_BUNDLE: self.supply_bundle,
            api.SUPPLY_ACTS: self.supply_acts,
            api.SUPPLY_ACT_PRODUCTS: self.supply_act_products,
            api.FBS_ACTS: self.fbs_acts,
        }

    def _snapshot(self, method: str, body: dict, build: Callable[[dict, datetime], list[dict]],
                  maximum: int, key: str, count_key: str | None = None) -> dict:
        """Cursor paging over one result list per (method, filter, first-page moment): a cursor
        carries the offset and that moment, so later pages read the same snapshot."""
        limit = _limit(body, maximum)
        state: dict[str, Any] = _decode(body["cursor"]) if body.get("cursor") else \
            {"offset": 0, "at": self.clock().isoformat()}
        at = datetime.fromisoformat(state["at"])
        cache_key = json.dumps([method, body.get("filter"), state["at"]], sort_keys=True)
        with self._lock:
            items = self._snapshots.get(cache_key)
        if items is None:
            items = build(body, at)
            with self._lock:
                self._snapshots[cache_key] = items
                while len(self._snapshots) > 32:
                    self._snapshots.popitem(last=False)
        offset = int(state["offset"])
        has_next = offset + limit < len(items)
        page = {key: items[offset:offset + limit], "has_next": has_next,
                "cursor": _encode({"offset": offset + limit, "at": state["at"]}) if has_next else ""}
        return {**page, count_key: len(items)} if count_key else page

    # --- account -------------------------------------------------------------------------

    def seller_info(self, body: dict, now: datetime) -> dict:
        sub = self.world.scenario.subscription
        return {"company": {"name": "Демо-магазин", "legal_name": "ООО «Демо-магазин»", "inn": "7700000000",
                            "ogrn": "1027700000000", "country": "RU", "currency": "RUB", "ownership_form": "ООО",
                            "tax_system": "USN"},
                "ratings": [], "subscription": {"is_premium": sub.startswith("PREMIUM"), "type": sub}}

    def roles(self, body: dict, now: datetime) -> dict:
        return {"expires_at": _iso(self.world.key_expires_at(now)),
                "roles": [{"name": "Admin read only", "methods": sorted(self.routes)}]}

    # --- postings ------------------------------------------------------------------------

    def _postings(self, scheme: str, since: datetime, to: datetime, now: datetime) -> list[SimOrder]:
        return [o for o in self.world.orders(since, to + timedelta(microseconds=1), now) if o.scheme == scheme]

    def fbs_list(self, body: dict, now: datetime) -> dict:
        return self._snapshot("fbs", body, self._fbs_items, 100, "postings")

    def _fbs_items(self, body: dict, now: datetime) -> list[dict]:
        since, to = _time(body, "filter", "since"), _time(body, "filter", "to")
        _period(since, to)
        changed_from = _time(body, "filter", "last_changed_status_date", "from", required=False)
        changed_to = _time(body, "filter", "last_changed_status_date", "to", required=False)
        items = []
        for order in self._postings("fbs", since, to, now):
            changed = self.world.status(order, now).changed_at
            if changed_from and changed < changed_from or changed_to and changed > changed_to:
                continue
            items.append(self._posting_json(order, now))
        return items

    def fbs_unfulfilled(self, body: dict, now: datetime) -> dict:
        return self._snapshot("unfulfilled", body, self._unfulfilled_items, 100, "postings", count_key="count")

    def _unfulfilled_items(self, body: dict, now: datetime) -> list[dict]:
        cutoff_from = _time(body, "filter", "cutoff_from", required=False)
        cutoff_to = _time(body, "filter", "cutoff_to", required=False)
        delivering_from = _time(body, "filter", "delivering_date_from", required=False)
        if (cutoff_from or cutoff_to) and delivering_from:
            raise ApiError(400, 3, "use either cutoff_from/cutoff_to or delivering_date_from/delivering_date_to")
        if not (cutoff_from and cutoff_to) and not delivering_from:
            raise ApiError(400, 3, "filter.cutoff_from and filter.cutoff_to are required")
        items = []
        for order in self._postings("fbs", now - timedelta(days=30), now, now):
            deadline = self.world.shipment_deadline(order)
            if self.world.status(order, now).status in ("awaiting_packaging", "awaiting_deliver") \
                    and (cutoff_from is None or cutoff_to is None or cutoff_from <= deadline <= cutoff_to):
                items.append(self._posting_json(order, now))
        return items

    def fbo_list(self, body: dict, now: datetime) -> dict:
        return self._snapshot("fbo", body, self._fbo_items, 100, "postings")

    def _fbo_items(self, body: dict, now: datetime) -> list[dict]:
        since = _time(body, "filter", "since", required=False) or now - timedelta(days=365)
        to = _time(body, "filter", "to", required=False) or now
        _period(since, to)
        flt = body.get("filter") or {}
        numbers = set(flt.get("posting_numbers") or ())
        if len(numbers) > 1000:
            raise ApiError(400, 3, "posting_numbers: at most 1000")
        return [self._posting_json(order, now) for order in self._postings("fbo", since, to, now)
                if not numbers or order.posting_number in numbers]

    def _posting_json(self, order: SimOrder, now: datetime) -> dict:
        product = self.world.by_sku[order.sku]
        state = self.world.status(order, now)
        cancelled = state.status == "cancelled"
        by_seller = cancelled and state.cancelled_by == "seller"
        reason_id, reason, kind, initiator = CANCELLED_BY[state.cancelled_by] if cancelled else (0, "", "", "")
        cancellation = {"cancel_reason_id": reason_id, "cancel_reason": reason, "cancellation_type": kind,
                        "cancellation_initiator": initiator, "cancelled_after_ship": False}
        posting: dict[str, Any] = {
            "posting_number": order.posting_number, "order_id": order.order_id, "order_number": order.order_number,
            "status": state.status, "substatus": f"posting_{state.status}", "in_process_at": _iso(order.created_at),
            "products": [{"sku": product.sku, "offer_id": product.offer_id, "name": product.name,
                          "quantity": order.quantity, "price": _money(product.price), "is_marketplace_buyout": False}],
        }
        if order.scheme == "fbs":
            cancellation["affect_cancellation_rating"] = by_seller
            deadline = self.world.shipment_deadline(order)
            posting.update(delivery_schema="fbs", shipment_date=_iso(deadline), shipment_date_without_delay=_iso(deadline),
                           tracking_number="", is_express=False, integration_type_flow="ozon",
                           delivery_method={"id": 1020000001, "name": "Доставка Ozon самостоятельно, Склад продавца",
                                            "warehouse_id": 1020000001, "tpl_provider": "Доставка Ozon",
                                            "tpl_provider_id": 24, "warehouse": "Склад продавца"})
            if state.handed_over:
                posting["delivering_date"] = _iso(state.handed_over)
        else:
            posting.update(created_at=_iso(order.created_at), cancel_reason_id=cancellation["cancel_reason_id"],
                           analytics_data={"warehouse_id": 15431806189000, "warehouse_name": "Хоругвино",
                                           "delivery_type": "PVZ", "city": "Москва", "is_premium": False,
                                           "payment_type_group_name": "Карты оплаты", "is_legal": False})
        posting["cancellation"] = cancellation
        return posting

    # --- analytics -----------------------------------------------------------------------

    def analytics_data(self, body: dict, now: datetime) -> dict:
        limit = _limit(body, 1000)
        for required in ("date_from", "date_to", "dimension", "metrics"):
            if required not in body:
                raise ApiError(400, 3, f"{required} is required")
        metrics, dims = body["metrics"], body["dimension"]
        premium = self.world.scenario.subscription in ("PREMIUM_PLUS", "PREMIUM_PRO")
        allowed = {"revenue", "ordered_units"} | (PREMIUM_METRICS if premium else set())
        if len(metrics) > 14 or not set(metrics) <= allowed:
            raise ApiError(400, 3, "InvalidArgument: metrics not available for this subscription")
        if not dims or not set(dims) <= {"sku", "day"}:
            raise ApiError(400, 3, "InvalidArgument: unsupported dimension")
        start, end = _day(body, "date_from"), _day(body, "date_to")
        lo = datetime.combine(start, datetime.min.time(), MSK)
        hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), MSK)
        totals: dict[tuple, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for order in self.world.orders(lo, hi, now):
            key = tuple(str(order.sku) if d == "sku" else order.created_at.astimezone(MSK).date().isoformat()
                        for d in dims)
            row = totals[key]
            row["revenue"] += self.world.by_sku[order.sku].price * order.quantity
            row["ordered_units"] += order.quantity
            state = self.world.status(order, now).status
            row["cancellations"] += order.quantity if state == "cancelled" else 0
            row["delivered_units"] += order.quantity if state == "delivered" else 0
            row["returns"] += order.quantity if self.world.return_of(order, now) else 0
        for key, row in totals.items():
            sku = int(key[dims.index("sku")]) if "sku" in dims else None
            day = date.fromisoformat(key[dims.index("day")]) if "day" in dims else end
            views, tocart = self.world.traffic(sku, day) if sku else (
                row["ordered_units"] * VIEWS_PER_UNIT, row["ordered_units"] * TOCART_PER_UNIT)
            row["hits_view"], row["hits_tocart"] = views, tocart
            row["session_view"] = row["ordered_units"] * SESSIONS_PER_UNIT
            row["conv_tocart"] = round(100 * row["hits_tocart"] / row["hits_view"], 2) if row["hits_view"] else 0.0
        rows = sorted(totals.items())
        offset = int(body.get("offset") or 0)
        data = [{"dimensions": [{"id": value, "name": self.world.by_sku[int(value)].name if d == "sku" else ""}
                                for d, value in zip(dims, key)],
                 "metrics": [round(values.get(m, 0.0), 2) for m in metrics]}
                for key, values in rows[offset:offset + limit]]
        return {"result": {"data": data, "totals": [round(sum(v.get(m, 0.0) for _, v in rows), 2) for m in metrics]},
                "timestamp": now.astimezone(MSK).strftime("%Y-%m-%d %H:%M:%S")}

    # --- returns -------------------------------------------------------------------------

    def returns_list(self, body: dict, now: datetime) -> dict:
        limit = _limit(body, 500)
        flt = body.get("filter") or {}
        windows = [k for k in ("logistic_return_date", "storage_tariffication_start_date",
                               "visual_status_change_moment") if k in flt]
        if len(windows) > 1:
            raise ApiError(400, 3, "only one time filter may be set")
        span_from = _time(flt, windows[0], "time_from", required=False) if windows else None
        span_to = _time(flt, windows[0], "time_to", required=False) if windows else None
        since = (span_from or now - timedelta(days=120)) - timedelta(days=30 + 10 + 5)
        items = []
        for order in self.world.orders(since, now, now):
            returned = self.world.return_of(order, now)
            if returned is None:
                continue
            moment, reason = returned
            status, changed = self.world.return_state(order, moment, now)
            key_moment = changed if windows and windows[0] == "visual_status_change_moment" else moment
            if span_from and key_moment < span_from or span_to and key_moment > span_to:
                continue
            items.append(self._return_json(order, moment, reason, status, changed, now))
        items.sort(key=lambda r: r["id"])
        last_id = int(body.get("last_id") or 0)
        after = [r for r in items if r["id"] > last_id]
        return {"returns": after[:limit], "has_next": len(after) > limit}

    def _return_json(self, order: SimOrder, moment: datetime, reason: str, status: str, changed: datetime,
                     now: datetime) -> dict:
        product = self.world.by_sku[order.sku]
        price = product.price * order.quantity
        left = self.world.left_at_place(moment)
        paid_from = moment + timedelta(days=1 if left else 5)
        days = max(0, (now - paid_from).days) if status == "ArrivedAtReturnPlace" else 0
        storage = {"sum": {"currency_code": "RUB", "price": 15.0 * days}, "days": (now - moment).days,
                   "tariffication_first_date": _iso(paid_from), "tariffication_start_date": _iso(paid_from),
                   "arrived_moment": _iso(moment), "utilization_sum": {"currency_code": "RUB", "price": 0.0},
                   "utilization_forecast_date": _iso(moment + timedelta(days=left.days_left if left else 30))}
        return {
            "id": order.order_id * 10 + 1, "company_id": self.world.scenario.client_id,
            "return_reason_name": reason, "type": "ClientReturn", "schema": order.scheme.capitalize(),
            "order_id": order.order_id, "order_number": order.order_number, "posting_number": order.posting_number,
            "source_id": order.order_id * 10 + 2, "clearing_id": 0,
            "product": {"sku": product.sku, "offer_id": product.offer_id, "name": product.name,
                        "quantity": order.quantity, "price": {"currency_code": "RUB", "price": price},
                        "price_without_commission": {"currency_code": "RUB", "price": round(price * 0.85, 2)},
                        "commission_percent": 15.0, "commission": {"currency_code": "RUB", "price": round(price * 0.15, 2)}},
            "logistic": {"return_date": _iso(moment), "technical_return_moment": _iso(moment),
                         "barcode": f"ii{order.order_id}"},
            "visual": {"status": {"id": RETURN_STATUSES[status][1], "display_name": RETURN_STATUSES[status][0],
                                  "sys_name": status}, "change_moment": _iso(changed)},
            "place": {"id": 23869688194000, "name": "СЦ Хоругвино Возвраты", "address": "Московская обл., Хоругвино"},
            "storage": storage,
            "additional_info": {"is_opened": True, "is_super_econom": False},
        }

    # --- stocks and products -------------------------------------------------------------

    def _products(self, flt: dict) -> list:
        products = self.world.products
        for key, attr in (("offer_id", "offer_id"), ("product_id", "product_id"), ("skus", "sku")):
            if flt.get(key):
                wanted = {str(v) for v in flt[key]}
                products = [p for p in products if str(getattr(p, attr)) in wanted]
        return products

    def fbs_stocks(self, body: dict, now: datetime) -> dict:
        if "filter" not in body:
            raise ApiError(400, 3, "filter is required")
        page = self._snapshot("stocks", body, self._stock_items, 1000, "items")
        return {"cursor": page["cursor"], "items": page["items"], "total": len(self._products(body["filter"]))}

    def _stock_items(self, body: dict, now: datetime) -> list[dict]:
        reserved: dict[int, int] = defaultdict(int)
        for order in self._postings("fbs", now - timedelta(days=3), now, now):
            if self.world.status(order, now).status in ("awaiting_packaging", "awaiting_deliver"):
                reserved[order.sku] += order.quantity
        return [{"product_id": p.product_id, "offer_id": p.offer_id,
                 "stocks": [{"sku": p.sku, "type": "fbs", "present": self.world.stock(p.sku, "fbs", now) + reserved[p.sku],
                             "reserved": reserved[p.sku], "shipment_type": "SHIPMENT_TYPE_GENERAL",
                             "warehouse_ids": [1020000001]}]}
                for p in self._products(body["filter"])]

    def _fbo_sales(self, now: datetime) -> tuple[dict[int, int], dict[int, datetime]]:
        """FBO units sold per SKU in the 28 days before `now` and each SKU's last sale, kept for
        the rest of the minute: a catalogue is read 100 SKUs a request, and each would otherwise
        rescan the orders."""
        minute = now.replace(second=0, microsecond=0)
        if self._fbo_sales_cache[0] != minute:
            sold: dict[int, int] = defaultdict(int)
            last_sale: dict[int, datetime] = {}
            for order in self._postings("fbo", now - timedelta(days=28), now, now):
                sold[order.sku] += order.quantity
                last_sale[order.sku] = order.created_at
            self._fbo_sales_cache = (minute, (sold, last_sale))
        return self._fbo_sales_cache[1]

    def fbo_stocks(self, body: dict, now: datetime) -> dict:
        skus = body.get("skus")
        if not skus or len(skus) > 100:
            raise ApiError(400, 3, "skus: from 1 to 100 values are required")
        sold, last_sale = self._fbo_sales(now)
        items = []
        for sku in (int(s) for s in skus):
            product = self.world.by_sku.get(sku)
            if product is None or product.archived:
                continue
            available = self.world.stock(sku, "fbo", now)
            ads = round(sold[sku] / 28, 2)
            idc = round(available / ads, 1) if ads else 0.0
            grade, surplus = self.world.turnover_grade(sku, now, idc, bool(ads))
            items.append({"sku": sku, "offer_id": product.offer_id, "name": product.name,
                          "warehouse_id": 15431806189000, "warehouse_name": "Хоругвино", "cluster_id": 4039,
                          "cluster_name": "Москва, МО и Дальние регионы", "available_stock_count": available,
                          "transit_stock_count": 0, "ads": ads, "idc": idc,
                          "days_without_sales": (now - last_sale[sku]).days if sku in last_sale else 28,
                          "turnover_grade": grade, "item_tags": [], "excess_stock_count": surplus,
                          "stock_defect_stock_count": 0, "expiring_stock_count": 0, "waiting_docs_stock_count": 0})
        return {"items": items}

    def product_list(self, body: dict, now: datetime) -> dict:
        limit = body.get("limit") or 1000
        if not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise ApiError(400, 3, "limit must be between 1 and 1000")
        offset = int(_decode(body["last_id"])["offset"]) if body.get("last_id") else 0
        products = self._products(body.get("filter") or {})
        chunk = products[offset:offset + limit]
        more = offset + limit < len(products)
        return {"result": {"items": [{
            "product_id": p.product_id, "offer_id": p.offer_id, "sku": p.sku, "archived": p.archived,
            "has_fbo_stocks": not p.archived, "has_fbs_stocks": not p.archived, "is_discounted": False, "quants": []}
            for p in chunk], "total": len(products), "last_id": _encode({"offset": offset + limit}) if more else ""}}

    def product_info(self, body: dict, now: datetime) -> dict:
        ids = [*body.get("product_id", []), *body.get("offer_id", []), *body.get("sku", [])]
        if len(ids) > 1000:
            raise ApiError(400, 3, "at most 1000 identifiers in total")
        products = self._products({"product_id": body.get("product_id"), "offer_id": body.get("offer_id"),
                                   "skus": body.get("sku")})
        return {"items": [self._card(p, now) for p in products]}

    def _card(self, p: Any, now: datetime) -> dict:
        problem = self.world.card_problem(p.sku, now)
        statuses = {"is_created": True, "status": "price_sent", "status_name": "Продается",
                    "status_description": "", "moderate_status": "approved", "validation_status": "success",
                    "status_failed": "", "status_tooltip": "", "status_updated_at": "2026-01-15T09:00:00Z"}
        errors: list[dict] = []
        availability = {"sku": p.sku, "availability": "AVAILABLE", "reasons": [], "source": "sds"}
        if p.archived:
            statuses.update(status="archived", status_name="В архиве")
        if problem is not None:
            statuses.update(status="failed_moderation", status_name="Не прошёл модерацию", moderate_status="declined",
                            status_failed="failed_moderation", status_updated_at=_iso(problem.start),
                            status_description="Карточка заблокирована: нарушение правил размещения")
            errors.append({"code": "moderation_declined", "field": "", "attribute_id": 0, "state": "declined",
                           "level": "ERROR_LEVEL_ERROR",
                           "texts": {"message": f"Товар не прошёл модерацию: {problem.moderation}",
                                     "description": "Замените изображения и отправьте карточку на повторную модерацию",
                                     "attribute_name": "Изображения", "short_description": "", "hint_code": "",
                                     "params": []}})
            availability = {"sku": p.sku, "availability": "UNAVAILABLE", "source": "sds",
                            "reasons": [{"id": 23, "human_text": {"text": "Товар заблокирован модерацией"}}]}
        in_stock = self.world.stock(p.sku, "fbs", now) > 0
        color, competitor = self.world.price_index(p.sku, now)
        percent = self.world.commission_percent(p.sku, now)
        commissions = [{"sale_schema": scheme, "percent": percent, "value": round(p.price * percent / 100, 2),
                        "delivery_amount": 60.0, "return_amount": 60.0} for scheme in ("FBO", "FBS")]
        index_data = {"minimal_price": f"{competitor:.2f}", "minimal_price_currency": "RUB",
                      "price_index_value": round(p.price / competitor, 2)}
        return {"price_indexes": {"color_index": f"COLOR_INDEX_{color}", "ozon_index_data": index_data,
                                  "external_index_data": index_data, "self_marketplaces_index_data": index_data},
                "commissions": commissions,"id": p.product_id, "offer_id": p.offer_id, "sku": p.sku, "name": p.name,
                "price": f"{p.price:.2f}", "old_price": f"{p.price * 1.2:.2f}", "min_price": "",
                "currency_code": "RUB", "is_archived": p.archived, "is_autoarchived": False, "statuses": statuses,
                "errors": errors, "availabilities": [availability],
                "visibility_details": {"has_price": True, "has_stock": in_stock},
                "created_at": "2025-06-01T10:00:00Z", "updated_at": _iso(problem.start) if problem else
                "2026-01-15T09:00:00Z"}

    # --- rating --------------------------------------------------------------------------

    def rating_summary(self, body: dict, now: datetime) -> dict:
        today = now.astimezone(MSK).date()
        groups: dict[str, list[dict]] = defaultdict(list)
        penalty = False
        for rating in RATINGS:
            value = self.world.rating_value(rating, today)
            past = self.world.rating_value(rating, today - timedelta(days=7))
            status = self.world.rating_status(rating, value)
            penalty |= status == "CRITICAL"
            better = (value > past) == rating.higher_is_better
            groups[rating.group].append({
                "rating": rating.rating, "name": rating.name, "current_value": value, "past_value": past,
                "status": status, "value_type": rating.value_type,
                "rating_direction": "HIGHER_IS_BETTER" if rating.higher_is_better else "LOWER_IS_BETTER",
                "change": {"direction": "DIRECTION_NONE" if value == past else
                           "DIRECTION_RISE" if value > past else "DIRECTION_FALL",
                           "meaning": "MEANING_NONE" if value == past else "MEANING_GOOD" if better else "MEANING_BAD"}})
        return {"groups": [{"group_name": name, "items": items} for name, items in groups.items()],
                "penalty_score_exceeded": penalty, "premium": False, "premium_plus": False,
                "localization_index": [{"calculation_date": _iso(now), "localization_percentage": 72}]}

    def rating_history(self, body: dict, now: datetime) -> dict:
        since, to = _time(body, "date_from"), _time(body, "date_to")
        if not body.get("ratings"):
            raise ApiError(400, 3, "ratings is required")
        wanted = set(body["ratings"])
        result = []
        for rating in (r for r in RATINGS if r.rating in wanted):
            values = []
            day = since.astimezone(MSK).date()
            while day <= min(to, now).astimezone(MSK).date():
                value = self.world.rating_value(rating, day)
                status = self.world.rating_status(rating, value)
                start = datetime.combine(day, datetime.min.time(), MSK)
                values.append({"date_from": _iso(start), "date_to": _iso(start + timedelta(days=1)), "value": value,
                               "status": {"danger": status == "CRITICAL", "warning": status == "WARNING",
                                          "premium": False}})
                day += timedelta(days=1)
            result.append({"rating": rating.rating, "danger_threshold": rating.danger,
                           "warning_threshold": rating.warning, "premium_threshold": rating.premium, "values": values})
        return {"ratings": result, "premium_scores": []}

    def _index_errors(self, since: datetime, to: datetime, now: datetime) -> list[dict]:
        """Seller-fault cancellations and late hand-overs among FBS postings, as Ozon counts them."""
        errors = []
        for order in self._postings("fbs", since - timedelta(days=3), to, now):
            state = self.world.status(order, now)
            price = self.world.by_sku[order.sku].price * order.quantity
            deadline = self.world.shipment_deadline(order)
            if state.status == "cancelled" and state.cancelled_by == "seller":
                kind, at, percent = "SELLER_CANCELLATION", state.changed_at, 3.0
            elif (state.handed_over or now) > deadline and state.status != "cancelled" and now > deadline:
                kind, at, percent = "SELLER_DELAY", deadline, 1.5
            else:
                continue
            if since <= at <= to:
                errors.append({"posting_number": order.posting_number, "posting_error_type": kind,
                               "error_at": _iso(at), "index": 0.0, "charge_percent": percent,
                               "charge_price": round(min(1500.0, price * percent / 100), 2),
                               "charge_price_currency_code": "RUB", "product_price": price,
                               "product_price_currency_code": "RUB", "delivery_schema": "FBS",
                               "has_grace_status": False})
        return errors

    def fbs_index(self, body: dict, now: datetime) -> dict:
        """Errors over the last 14 days excluding today, as a share of FBS postings."""
        today = datetime.combine(now.astimezone(MSK).date(), datetime.min.time(), MSK)
        start = today - timedelta(days=14)
        errors = self._index_errors(start, today, now)
        total = len(self._postings("fbs", start, today, now)) or 1
        by_day: dict[str, list[dict]] = defaultdict(list)
        for error in errors:
            by_day[datetime.fromisoformat(error["error_at"].replace("Z", "+00:00")).astimezone(MSK).date().isoformat()
                   ].append(error)
        per_day = total / 14
        return {"index": round(100 * len(errors) / total, 2), "period_from": start.date().isoformat(),
                "period_to": (today - timedelta(days=1)).date().isoformat(),
                "processing_costs_sum": round(sum(e["charge_price"] for e in errors), 2), "currency_code": "RUB",
                "defects": [{"date": day, "index_by_date": round(100 * len(errs) / per_day, 2),
                             "processing_costs_sum_by_date": round(sum(e["charge_price"] for e in errs), 2)}
                            for day, errs in sorted(by_day.items())]}

    def fbs_index_postings(self, body: dict, now: datetime) -> dict:
        since, to = _time(body, "filter", "date_from"), _time(body, "filter", "date_to")
        return self._snapshot("index", body, lambda b, at: self._index_errors(since, to, at), 1000,
                              "errors")

    # --- finance -------------------------------------------------------------------------

    def _accruals(self, day: date, now: datetime) -> list[dict]:
        accruals = []
        for a in self.world.accruals(day, now):
            accruals.append({
                "accrual_id": a.order.order_id * 10 + 3, "date": day.isoformat(), "unit_number": a.order.posting_number,
                "accrued_category": "POSTING", "total_amount": _money(a.net),
                "posting": {"delivery_schema": a.order.scheme.upper(), "delivery_speed": 0, "products": [{
                    "sku": a.order.sku,
                    "commission": {"sale_amount": _money(a.sale), "commission": _money(-a.commission),
                                   "sale_commission": _money(-a.commission), "seller_price": _money(a.sale),
                                   "sale_price": _money(a.sale), "bonus": _money(0), "coinvestment": _money(0),
                                   "commission_ratio": f"{a.commission / a.sale:.4f}"},
                    "delivery": {"services": [{"type_id": 1, "accrued": _money(-a.delivery)}],
                                 "total_accrued": _money(-a.delivery)}}]}})
            fine = self.world.fined(a)
            if fine:
                accruals.append({
                    "accrual_id": a.order.order_id * 10 + 4, "date": day.isoformat(),
                    "unit_number": a.order.posting_number, "accrued_category": "ITEM", "total_amount": _money(-fine),
                    "item_fees": {"fees": [{"sku": a.order.sku, "fees": [{"type_id": FINE_TYPE,
                                                                         "accrued": _money(-fine)}]}]}})
        start = datetime.combine(day, datetime.min.time(), MSK)
        if start + timedelta(days=1) <= now:  # storage is charged for a whole day, the next morning
            storage = self.world.storage_charge(day)
            accruals.append({"accrual_id": 10**12 + day.toordinal(), "date": day.isoformat(),
                             "unit_number": f"storage-{day.isoformat()}", "accrued_category": "NON_ITEM",
                             "total_amount": _money(-storage),
                             "non_item_fee": {"type_id": STORAGE_TYPE, "accrued": _money(-storage)}})
        return sorted(accruals, key=lambda a: a["accrual_id"])

    def accruals_by_day(self, body: dict, now: datetime) -> dict:
        day = _day(body, "date")
        if "last_id" not in body:
            raise ApiError(400, 3, "last_id is required")
        after = int(body["last_id"] or 0)
        rest = [a for a in self._accruals(day, now) if a["accrual_id"] > after]
        page = rest[:ACCRUALS_PAGE]
        return {"accruals": page, "last_id": str(page[-1]["accrual_id"]) if len(rest) > ACCRUALS_PAGE else ""}

    def accrual_types(self, body: dict, now: datetime) -> dict:
        return {"accrual_types": [{"id": i, "name": name, "description": ""} for i, name in ACCRUAL_TYPES.items()]}

    def balance(self, body: dict, now: datetime) -> dict:
        start, end = _day(body, "date_from"), _day(body, "date_to")
        if end < start or (end - start).days > 30:
            raise ApiError(400, 3, "the period must be from 1 to 31 days")
        sales = fees = returns = payouts = 0.0
        day = start
        while day <= end:
            for accrued in self.world.accruals(day, now):
                sales += accrued.sale
                fees -= accrued.commission + accrued.delivery
            payouts -= self.world.payout(day, now)
            day += timedelta(days=1)
        opening = sum(a.net for back in range(1, (start.weekday() - 2) % 7 + 1)
                      for a in self.world.accruals(start - timedelta(days=back), now))

        def value(amount: float) -> dict:
            return {"currency_code": "RUB", "value": round(amount, 2)}
        total = sales + fees + returns
        return {"total": {"opening_balance": value(opening), "closing_balance": value(opening + total + payouts),
                          "accrued": value(total), "payments": [value(payouts)] if payouts else []},
                "cashflows": {"sales": {"amount": value(sales), "fee": value(fees),
                                        "amount_details": {"points_for_discounts": "0"}},
                              "returns": {"amount": value(returns), "fee": value(0),
                                          "amount_details": {"points_for_discounts": "0"}},
                              "services": []}}

    # --- promotions and prices -----------------------------------------------------------

    def _promotion(self, action_id: Any, now: datetime) -> Any:
        promo = next((p for p in self.world.promotions(now) if p.action_id == action_id), None)
        if promo is None:
            raise ApiError(404, 5, "action not found")
        return promo

    def promotions(self, body: dict, now: datetime) -> dict:
        return {"result": [{
            "id": p.action_id, "title": p.title, "action_type": "DISCOUNT", "description": "",
            "date_start": _iso(p.start), "date_end": _iso(p.end), "auto_add_dates": [_iso(p.auto_add_at)],
            "freeze_date": _iso(p.freeze_at), "potential_products_count": len(lines),
            "participating_products_count": len(lines) if now >= p.auto_add_at else 0,
            "is_participating": now >= p.auto_add_at, "is_voucher_action": False, "banned_products_count": 0,
            "with_targeting": False, "order_amount": 0, "discount_type": "PERCENT", "discount_value": 10}
            for p in self.world.promotions(now) for lines in [self.world.promo_lines(p, now)]]}

    def auto_add_products(self, body: dict, now: datetime) -> dict:
        promo = self._promotion(body.get("action_id"), now)
        limit = _limit(body, 100)
        if _time(body, "auto_add_date") != promo.auto_add_at:
            return {"products": [], "total": 0}
        lines = self.world.promo_lines(promo, now) if now < promo.auto_add_at else []
        offset = int(body.get("offset") or 0)
        return {"products": [{
            "product_id": p.product_id, "sku": p.sku, "offer_id": p.offer_id, "name": p.name, "price": p.price,
            "action_price_to_auto_add": price, "add_mode": "AUTO", "currency": "RUB", "marketplace_seller_price": p.price,
            "max_discount_price": price, "min_action_quantity": 0, "min_seller_price": price,
            "quantity_to_auto_add": 0} for p, price in lines[offset:offset + limit]], "total": len(lines)}

    def promotion_products(self, body: dict, now: datetime) -> dict:
        promo = self._promotion(body.get("action_id"), now)
        limit = body.get("limit") or 100
        lines = sorted(self.world.promo_lines(promo, now), key=lambda x: x[0].product_id) if now >= promo.auto_add_at else []
        after = body.get("last_id") or 0
        chunk = [x for x in lines if x[0].product_id > after][:limit]
        return {"result": {"products": [{
            "id": p.product_id, "price": p.price, "action_price": price, "max_action_price": price,
            "add_mode": "AUTO", "min_stock": 0, "stock": 0, "alert_max_action_price_failed": False,
            "alert_max_action_price": price} for p, price in chunk],
            "total": len(lines), "last_id": chunk[-1][0].product_id if chunk else 0}}

    def prices(self, body: dict, now: datetime) -> dict:
        if "filter" not in body:
            raise ApiError(400, 3, "filter is required")
        page = self._snapshot("prices", body, self._price_items, 1000, "items")
        return {"cursor": page["cursor"], "items": page["items"], "total": len(self._products(body["filter"]))}

    def _price_items(self, body: dict, now: datetime) -> list[dict]:
        return [{"product_id": p.product_id, "offer_id": p.offer_id, "acquiring": 0, "volume_weight": 0.5,
                 "price": {"price": p.price, "old_price": round(p.price * 1.2), "min_price": floor[0],
                           "net_price": floor[1], "marketing_seller_price": p.price,
                           "retail_price": 0, "vat": 0.2, "currency_code": "RUB",
                           "auto_action_enabled": self.world.auto_actions(p),
                           "auto_add_to_ozon_actions_list_enabled": self.world.auto_actions(p)}}
                for p in self._products(body["filter"]) if not p.archived for floor in [self.world.floor_prices(p)]]

    def price_timers(self, body: dict, now: datetime) -> dict:
        ids = body.get("product_ids") or []
        if len(ids) > 1000:
            raise ApiError(400, 3, "product_ids: at most 1000 values")
        statuses = []
        for product_id in ids:
            product = self.world.by_product_id.get(int(product_id))
            if product is None:
                continue
            on, until = self.world.price_guard(product, now)
            statuses.append({"product_id": product.product_id, "expired_at": _iso(until) or "",
                             "min_price_for_auto_actions_enabled": on})
        return {"statuses": statuses}

    # --- FBO supplies and acts -----------------------------------------------------------

    def supply_orders(self, body: dict, now: datetime) -> dict:
        states = _field(body, "filter", "states")
        if not states or not body.get("sort_by"):
            raise ApiError(400, 3, "filter.states and sort_by are required")
        limit = _limit(body, 100)
        found = sorted((s for s in self.world.supplies(now) if s.state in states), key=lambda s: s.since)
        after = int(body.get("last_id") or 0)
        ids = [s.order_id for s in found]
        start = ids.index(after) + 1 if after in ids else 0
        chunk = ids[start:start + limit]
        return {"order_ids": [str(i) for i in chunk], "last_id": str(chunk[-1]) if len(chunk) == limit else ""}

    def supply_order(self, body: dict, now: datetime) -> dict:
        wanted = {int(i) for i in body.get("order_ids") or []}
        if not wanted or len(wanted) > 50:
            raise ApiError(400, 3, "order_ids: from 1 to 50 values are required")
        return {"orders": [{
            "order_id": s.order_id, "order_number": s.number, "state": s.state, "created_date": _iso(s.created),
            "state_updated_date": _iso(s.since), "data_filling_deadline_utc": "",
            "dropoff_warehouse": {"warehouse_id": 1020000007, "name": DROP_OFF, "address": ""},
            "supplies": [{"supply_id": s.supply_id, "bundle_id": s.bundle_id, "state": s.state, "is_crossdock": True,
                          "macrolocal_cluster_id": 4039}]}
            for s in self.world.supplies(now) if s.order_id in wanted]}

    def supply_bundle(self, body: dict, now: datetime) -> dict:
        ids = body.get("bundle_ids") or []
        _limit(body, 100)
        supply = next((s for s in self.world.supplies(now) if s.bundle_id in ids), None)
        items = supply.items if supply else ()
        return {"items": [{"sku": sku, "offer_id": self.world.by_sku[sku].offer_id, "name": self.world.by_sku[sku].name,
                           "quantity": quantity, "product_id": self.world.by_sku[sku].product_id, "barcode": "",
                           "icon_path": "", "quant": 1, "is_quant_editable": False, "volume_in_litres": 1.0,
                           "total_volume_in_litres": float(quantity), "contractor_item_code": ""}
                          for sku, quantity in items],
                "total_count": len(items), "has_next": False, "last_id": ""}

    def supply_acts(self, body: dict, now: datetime) -> dict:
        supply = next((s for s in self.world.supplies(now) if s.order_id == body.get("order_id")), None)
        if supply is None:
            raise ApiError(404, 5, "order not found")
        act = supply.act
        declared = sum(line[1] for line in act.lines) if act else 0
        accepted = sum(line[2] for line in act.lines) if act else 0
        acts = [{"act_id": act.act_id, "act_number": act.number, "act_state": act.state, "type": act.kind,
                 "created_date": _iso(act.created), "deadline_utc": _iso(act.deadline),
                 "summary": {"declared_quantity": declared, "fact_quantity": accepted, "approved_quantity": accepted,
                             "sku_quantity": len(act.lines), "unidentified_quantity": 0}}] if act else []
        return {"supplies_acts": [{"supply_id": supply.supply_id, "is_agreement_completed": not acts,
                                   "supply_acts": acts}]}

    def supply_act_products(self, body: dict, now: datetime) -> dict:
        supply = next((s for s in self.world.supplies(now) if s.supply_id == body.get("supply_id")), None)
        if supply is None:
            raise ApiError(404, 5, "supply not found")
        act = supply.act
        return {"supply_id": supply.supply_id, "skus_defects": [], "supply_acts": [{
            "act_id": act.act_id, "type": act.kind, "unidentified_quantity": 0, "items": [{
                "declared_quantity": declared, "fact_quantity": accepted, "approved_quantity": accepted,
                "sku_info": {"sku": sku, "offer_id": self.world.by_sku[sku].offer_id, "name": self.world.by_sku[sku].name,
                             "barcode": "", "image_link": "", "vat": 0.2,
                             "price_without_vat": _money(self.world.by_sku[sku].price / 1.2)}}
                for sku, declared, accepted in act.lines]}] if act else []}

    def fbs_acts(self, body: dict, now: datetime) -> dict:
        limit = _limit(body, 50)
        since, to = _time(body, "filter", "date_from"), _time(body, "filter", "date_to")
        found = self.world.fbs_acts(since, to, now)[-limit:]
        return {"result": [{
            "id": act_id, "delivery_method_id": 1020000015, "delivery_method_name": "Доставка Ozon",
            "integration_type": "ozon", "containers_count": 1, "status": "received", "departure_date": _iso(departure),
            "created_at": _iso(departure), "updated_at": _iso(departure), "act_type": "", "is_partial": False,
            "has_postings_for_next_carriage": False, "partial_num": 0,
            "related_docs": {"act_of_acceptance": {"created_at": _iso(departure), "document_status": "CONFIRMED"},
                             "act_of_mismatch": {"created_at": _iso(departure), "document_status": status},
                             "act_of_excess": {"created_at": _iso(departure), "document_status": ""}}}
            for act_id, departure, status in found]}
