"""One function per Seller API method. Method versions live here and nowhere else: when Ozon
switches a version off, this is the file to change.

List methods page in four different ways (cursor + has_next, integer last_id, string last_id,
offset); each function exhausts its own scheme and yields or returns plain models.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import TypeVar

from pydantic import BaseModel

from monitor.ozon import models as m
from monitor.ozon.client import BadResponse, OzonClient

SELLER_INFO = "/v1/seller/info"
ROLES = "/v1/roles"
FBS_LIST = "/v4/posting/fbs/list"
FBS_UNFULFILLED = "/v4/posting/fbs/unfulfilled/list"
FBO_LIST = "/v3/posting/fbo/list"
ANALYTICS_DATA = "/v1/analytics/data"
RETURNS_LIST = "/v1/returns/list"
FBS_STOCKS = "/v4/product/info/stocks"
FBO_STOCKS = "/v1/analytics/stocks"
PRODUCT_LIST = "/v3/product/list"
PRODUCT_INFO = "/v3/product/info/list"
RATING_SUMMARY = "/v1/rating/summary"
RATING_HISTORY = "/v1/rating/history"
FBS_INDEX = "/v1/rating/index/fbs/info"
FBS_INDEX_POSTINGS = "/v1/rating/index/fbs/posting/list"
ACCRUALS_BY_DAY = "/v1/finance/accrual/by-day"
BALANCE = "/v1/finance/balance"
ACCRUAL_TYPES = "/v1/finance/accrual/types"
PROMOTIONS = "/v1/actions"  # GET
PROMOTION_PRODUCTS = "/v1/actions/products"
AUTO_ADD_PRODUCTS = "/v1/actions/auto-add/products/list"
PRICES = "/v5/product/info/prices"
PRICE_TIMERS = "/v1/product/action/timer/status"
SUPPLY_ORDERS = "/v3/supply-order/list"
SUPPLY_ORDER = "/v3/supply-order/get"
SUPPLY_BUNDLE = "/v1/supply-order/bundle"
SUPPLY_ACTS = "/v1/supply-order/act/summary/get"
SUPPLY_ACT_PRODUCTS = "/v1/supply-order/act/product/get"
FBS_ACTS = "/v2/posting/fbs/act/list"
GET_METHODS = (PROMOTIONS,)  # every other method is a POST

POSTING_PAGE = 100  # the maximum the posting lists accept
ANALYTICS_PAGE = 1000
RETURNS_PAGE = 500
CATALOGUE_PAGE = 1000  # product list, stocks, product info, FBS error postings
FBO_STOCKS_SKUS = 100
PROMOTION_PAGE = 100  # the documented page of /v1/actions/products (no maximum is given)
AUTO_ADD_PAGE = 100  # the maximum of the auto-add list
SUPPLY_PAGE = 100  # supply-order list and bundle; 50 orders per /v3/supply-order/get
SUPPLY_ORDERS_PER_GET = 50
FBS_ACTS_PAGE = 50
# Supplies on their way or being accepted: the states a supply can be stuck in or have acts in.
OPEN_SUPPLY_STATES = ("ACCEPTED_AT_SUPPLY_WAREHOUSE", "IN_TRANSIT", "ACCEPTANCE_AT_STORAGE_WAREHOUSE",
                      "REPORTS_CONFIRMATION_AWAITING", "REPORT_REJECTED")
BASIC_METRICS = ("revenue", "ordered_units")  # readable on every subscription
ModelT = TypeVar("ModelT", bound=BaseModel)
CursorPageT = TypeVar("CursorPageT", bound=m.CursorPage)
ItemT = TypeVar("ItemT")


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


MAX_PAGES = 5000  # per list read: a year of 1,000 orders a day is 3,650 posting pages, 100k SKUs 100 catalogue pages


class _Paging:
    """Guards one list read against a cursor that never ends: a cursor (or last id) that comes
    back to an earlier page, or more pages than any shop has, is a `BadResponse`, so the
    source is recorded as failed instead of looping until the time budget runs out."""

    def __init__(self, method: str) -> None:
        self.method, self.seen = method, set[object]()

    def next(self, token: object) -> None:
        if token in self.seen:
            raise BadResponse(self.method, "has_next is true but the paging cursor came back to an earlier page",
                              "Ozon paging fault; the sync will resume next cycle")
        if len(self.seen) >= MAX_PAGES:
            raise BadResponse(self.method, f"more than {MAX_PAGES} pages: the paging cursor does not end",
                              "Ozon paging fault; the sync will resume next cycle")
        self.seen.add(token)


def _chunks(items: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def _cursor_pages(client: OzonClient, method: str, body: dict, model: type[CursorPageT]) -> Iterator[CursorPageT]:
    """Resend the opaque `cursor` until `has_next` is false."""
    cursor, paging = "", _Paging(method)
    while True:
        paging.next(cursor)
        page = client.post(method, {**body, "cursor": cursor}, model)
        yield page
        if not page.has_next:
            return
        if not page.cursor or page.cursor == cursor:
            raise BadResponse(method, "has_next is true but the cursor did not advance",
                              "Ozon paging fault; the sync will resume next cycle")
        cursor = page.cursor


# --- account ---------------------------------------------------------------------------------

def seller_info(client: OzonClient) -> m.SellerInfo:
    """Company and subscription: the subscription decides which analytics metrics exist."""
    return client.post(SELLER_INFO, {}, m.SellerInfo)


def roles(client: OzonClient) -> m.Roles:
    """The key's expiry date and its roles: the cheapest credential check there is."""
    return client.post(ROLES, {}, m.Roles)


# --- postings --------------------------------------------------------------------------------

def fbs_postings(client: OzonClient, since: datetime, to: datetime,
                 changed_since: datetime | None = None) -> Iterator[list[m.Posting]]:
    """FBS/rFBS postings created in [since, to]; with `changed_since`, only those whose status
    changed after it (how status changes of old postings are caught). Yields one page at a time."""
    flt: dict = {"since": _iso(since), "to": _iso(to)}
    if changed_since is not None:
        flt["last_changed_status_date"] = {"from": _iso(changed_since), "to": _iso(to)}
    for page in _cursor_pages(client, FBS_LIST, {"filter": flt, "limit": POSTING_PAGE, "sort_dir": "ASC"},
                              m.PostingPage):
        yield page.postings


def fbs_unfulfilled(client: OzonClient, cutoff_from: datetime, cutoff_to: datetime) -> Iterator[list[m.Posting]]:
    """FBS/rFBS postings not yet handed over whose assembly deadline is in [cutoff_from, cutoff_to]."""
    body = {"filter": {"cutoff_from": _iso(cutoff_from), "cutoff_to": _iso(cutoff_to)}, "limit": POSTING_PAGE,
            "sort_dir": "ASC"}
    for page in _cursor_pages(client, FBS_UNFULFILLED, body, m.PostingPage):
        yield page.postings


def fbo_postings(client: OzonClient, since: datetime, to: datetime,
                 numbers: Sequence[str] = ()) -> Iterator[list[m.Posting]]:
    """FBO postings created in [since, to], a page at a time; only those `numbers` (up to 1000)
    when given."""
    flt: dict = {"since": _iso(since), "to": _iso(to)}
    if numbers:
        flt["posting_numbers"] = list(numbers)
    for page in _cursor_pages(client, FBO_LIST, {"filter": flt, "limit": POSTING_PAGE, "sort_dir": "ASC"},
                              m.PostingPage):
        yield page.postings


# --- analytics -------------------------------------------------------------------------------

def analytics_page(client: OzonClient, date_from: date, date_to: date, dimension: Sequence[str],
                   metrics: Sequence[str], offset: int = 0) -> list[m.AnalyticsRow]:
    """One page (up to 1000 rows) of /v1/analytics/data. Ozon allows one call a minute, so the
    caller decides how many pages a cycle may spend; a short page is the last one."""
    page = client.post(ANALYTICS_DATA, {
        "date_from": date_from.isoformat(), "date_to": date_to.isoformat(), "metrics": list(metrics),
        "dimension": list(dimension), "filters": [], "sort": [{"key": metrics[0], "order": "DESC"}],
        "limit": ANALYTICS_PAGE, "offset": offset,
    }, m.AnalyticsPage)
    return page.result.data


# --- returns ---------------------------------------------------------------------------------

def returns(client: OzonClient, changed_from: datetime, changed_to: datetime) -> Iterator[list[m.Return]]:
    """FBO and FBS returns whose status changed in the span (new returns included), keyset-paged."""
    body: dict = {"filter": {"visual_status_change_moment": {"time_from": _iso(changed_from),
                                                             "time_to": _iso(changed_to)}},
                  "limit": RETURNS_PAGE, "last_id": 0}
    paging = _Paging(RETURNS_LIST)
    while True:
        paging.next(body["last_id"])
        page = client.post(RETURNS_LIST, body, m.ReturnsPage)
        yield page.returns
        if not page.has_next or not page.returns:
            return
        if page.returns[-1].id == body["last_id"]:
            raise BadResponse(RETURNS_LIST, "has_next is true but last_id did not advance",
                              "Ozon paging fault; the sync will resume next cycle")
        body = {**body, "last_id": page.returns[-1].id}


# --- stocks and products ---------------------------------------------------------------------

def _short_pages(method: str, page: Callable[[str], tuple[list[ItemT], str]]) -> Iterator[list[ItemT]]:
    """Pages of a method without `has_next`: `page(token)` gives the items and the next token
    (a cursor or a last id), resent until it comes back empty or a page comes back short."""
    token, paging = "", _Paging(method)
    while True:
        paging.next(token)
        items, following = page(token)
        yield items
        if not following or len(items) < CATALOGUE_PAGE or following == token:
            return
        token = following


def fbs_stocks(client: OzonClient) -> Iterator[list[m.StockItem]]:
    """FBS/rFBS stock of every product."""
    def page(cursor: str) -> tuple[list[m.StockItem], str]:
        answer = client.post(FBS_STOCKS, {"filter": {"visibility": "ALL"}, "limit": CATALOGUE_PAGE, "cursor": cursor},
                             m.StocksPage)
        return answer.items, answer.cursor
    return _short_pages(FBS_STOCKS, page)


def fbo_stocks(client: OzonClient, skus: Sequence[int]) -> list[m.FboStock]:
    """FBO stock analytics (days of cover, turnover grade) for the SKUs, 100 per request."""
    items: list[m.FboStock] = []
    for chunk in _chunks(sorted(skus), FBO_STOCKS_SKUS):
        items += client.post(FBO_STOCKS, {"skus": [str(sku) for sku in chunk]}, m.FboStocks).items
    return items


def product_ids(client: OzonClient) -> Iterator[list[m.ProductListItem]]:
    """Every product of the account, archived ones included."""
    def page(last_id: str) -> tuple[list[m.ProductListItem], str]:
        answer = client.post(PRODUCT_LIST, {"filter": {"visibility": "ALL"}, "last_id": last_id,
                                            "limit": CATALOGUE_PAGE}, m.ProductList).result
        return answer.items, answer.last_id
    return _short_pages(PRODUCT_LIST, page)


def product_info(client: OzonClient, ids: Sequence[int]) -> Iterator[list[m.ProductInfo]]:
    """Cards with statuses, moderation results, errors and availability reasons, 1000 per request."""
    for chunk in _chunks(sorted(ids), CATALOGUE_PAGE):
        yield client.post(PRODUCT_INFO, {"product_id": [str(i) for i in chunk]}, m.ProductInfoList).items


# --- rating ----------------------------------------------------------------------------------

def rating_summary(client: OzonClient) -> m.RatingSummary:
    return client.post(RATING_SUMMARY, {}, m.RatingSummary)


def rating_history(client: OzonClient, since: datetime, to: datetime, ratings: Sequence[str]) -> m.RatingHistory:
    """Values over time with the account's own danger/warning thresholds (never hard-code them)."""
    return client.post(RATING_HISTORY, {"date_from": _iso(since), "date_to": _iso(to), "ratings": list(ratings),
                                        "with_premium_scores": False}, m.RatingHistory)


def fbs_error_index(client: OzonClient) -> m.FbsIndexInfo:
    return client.post(FBS_INDEX, {}, m.FbsIndexInfo)


def fbs_error_postings(client: OzonClient, since: datetime, to: datetime) -> Iterator[list[m.FbsIndexError]]:
    """Postings that counted against the FBS/rFBS error index (seller cancellations, late hand-over)."""
    body = {"filter": {"date_from": _iso(since), "date_to": _iso(to)}, "limit": CATALOGUE_PAGE}
    for page in _cursor_pages(client, FBS_INDEX_POSTINGS, body, m.FbsIndexPostings):
        yield page.errors


# --- finance ---------------------------------------------------------------------------------

def accruals_for_day(client: OzonClient, day: date) -> list[m.Accrual]:
    """Every accrual of one day. `last_id` lives 15 minutes and must be sent with the same date,
    so a day is always read in one go."""
    accruals: list[m.Accrual] = []
    last_id, paging = "", _Paging(ACCRUALS_BY_DAY)
    while True:
        paging.next(last_id)
        page = client.post(ACCRUALS_BY_DAY, {"date": day.isoformat(), "last_id": last_id}, m.AccrualPage)
        accruals += page.accruals
        if not page.last_id or not page.accruals or page.last_id == last_id:
            return accruals
        last_id = page.last_id


def accrual_types(client: OzonClient) -> list[m.AccrualType]:
    """The names of the accrual types: a charge is named by these, never by a number we keep."""
    return client.post(ACCRUAL_TYPES, {}, m.AccrualTypes).accrual_types


def balance(client: OzonClient, date_from: date, date_to: date) -> m.Balance:
    """Sales, fees and payouts over a span of at most 30 days."""
    return client.post(BALANCE, {"date_from": date_from.isoformat(), "date_to": date_to.isoformat()}, m.Balance)


# --- promotions and prices -------------------------------------------------------------------

def promotions(client: OzonClient) -> list[m.Promotion]:
    """The promotions the seller can take part in, with their auto-add and freeze dates."""
    return client.get(PROMOTIONS, m.Promotions).result


def promotion_products(client: OzonClient, action_id: int) -> Iterator[list[m.PromotionProduct]]:
    """The products in a promotion, keyset-paged by `last_id`."""
    last_id: float = 0
    paging = _Paging(PROMOTION_PRODUCTS)
    while True:
        paging.next(last_id)
        page = client.post(PROMOTION_PRODUCTS, {"action_id": action_id, "limit": PROMOTION_PAGE,
                                                **({"last_id": last_id} if last_id else {})},
                           m.PromotionProducts).result
        yield page.products
        if len(page.products) < PROMOTION_PAGE or not page.last_id or page.last_id == last_id:
            return
        last_id = page.last_id


def auto_add_products(client: OzonClient, action_id: int, when: datetime) -> Iterator[list[m.AutoAddProduct]]:
    """The products Ozon will add to a promotion on one of its auto-add dates, offset-paged."""
    offset, paging = 0, _Paging(AUTO_ADD_PRODUCTS)
    while True:
        paging.next(offset)
        page = client.post(AUTO_ADD_PRODUCTS, {"action_id": action_id, "auto_add_date": _iso(when),
                                               "limit": AUTO_ADD_PAGE, "offset": offset}, m.AutoAddProducts)
        yield page.products
        offset += len(page.products)
        if len(page.products) < AUTO_ADD_PAGE or offset >= page.total:
            return


def prices(client: OzonClient) -> Iterator[list[m.ProductPrice]]:
    """Every product's prices: the floor for promotions, the cost, auto-promotions on or off."""
    def page(cursor: str) -> tuple[list[m.ProductPrice], str]:
        answer = client.post(PRICES, {"filter": {"visibility": "ALL"}, "limit": CATALOGUE_PAGE, "cursor": cursor},
                             m.ProductPrices)
        return answer.items, answer.cursor
    return _short_pages(PRICES, page)


def price_timers(client: OzonClient, product_ids: Sequence[int]) -> Iterator[list[m.PriceTimer]]:
    """Whether each product's minimum price still guards it from promotions, and until when."""
    for chunk in _chunks(sorted(product_ids), CATALOGUE_PAGE):
        yield client.post(PRICE_TIMERS, {"product_ids": [str(i) for i in chunk]}, m.PriceTimers).statuses


# --- FBO supplies ----------------------------------------------------------------------------

def supply_orders(client: OzonClient, states: Sequence[str]) -> list[m.SupplyOrder]:
    """The supply orders in `states`, with their supplies: ids keyset-paged, then 50 per read."""
    ids: list[int] = []
    last_id, paging = "", _Paging(SUPPLY_ORDERS)
    while True:
        paging.next(last_id)
        page = client.post(SUPPLY_ORDERS, {"filter": {"states": list(states)}, "limit": SUPPLY_PAGE,
                                           "sort_by": "ORDER_STATE_UPDATED_AT", "sort_dir": "ASC",
                                           **({"last_id": last_id} if last_id else {})}, m.SupplyOrderIds)
        ids += page.order_ids
        if len(page.order_ids) < SUPPLY_PAGE or not page.last_id or page.last_id == last_id:
            break
        last_id = page.last_id
    return [order for chunk in _chunks(ids, SUPPLY_ORDERS_PER_GET)
            for order in client.post(SUPPLY_ORDER, {"order_ids": [str(i) for i in chunk]}, m.SupplyOrders).orders]


def supply_bundle(client: OzonClient, bundle_id: str) -> list[m.BundleItem]:
    """What a supply carries: SKUs and quantities."""
    items: list[m.BundleItem] = []
    last_id, paging = "", _Paging(SUPPLY_BUNDLE)
    while True:
        paging.next(last_id)
        page = client.post(SUPPLY_BUNDLE, {"bundle_ids": [bundle_id], "limit": SUPPLY_PAGE,
                                           **({"last_id": last_id} if last_id else {})}, m.Bundle)
        items += page.items
        if not page.has_next or not page.last_id or page.last_id == last_id:
            return items
        last_id = page.last_id


def supply_acts(client: OzonClient, order_id: int) -> list[m.SupplyActs]:
    """The acts of a supply order's supplies: type, state, the seller's deadline, quantities."""
    return client.post(SUPPLY_ACTS, {"order_id": order_id}, m.SupplyActsSummary).supplies_acts


def supply_act_products(client: OzonClient, supply_id: int) -> list[m.ActProducts]:
    """Each act's lines: SKU, declared and accepted quantities, price."""
    return client.post(SUPPLY_ACT_PRODUCTS, {"supply_id": supply_id}, m.SupplyActProducts).supply_acts


def fbs_acts(client: OzonClient, since: datetime, to: datetime) -> list[m.FbsAct]:
    """FBS hand-overs of the span with the status of their acts (the method has no paging: the
    latest `FBS_ACTS_PAGE`)."""
    return client.post(FBS_ACTS, {"filter": {"date_from": _iso(since), "date_to": _iso(to)},
                                  "limit": FBS_ACTS_PAGE}, m.FbsActs).result
