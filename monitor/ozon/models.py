"""Response shapes of the Seller API methods we call, read tolerantly: unknown fields are
ignored, optional ones may be missing or null (null reads as the default: unknown), numbers may
come as strings, a time without a zone is UTC (Ozon's API times are UTC, whatever the host's
zone), and a list item that cannot be understood is skipped and logged rather than failing its
whole page. Only an answer that is not the method's shape at all is a `BadResponse`."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, get_args, get_origin

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, ModelWrapValidatorHandler, PrivateAttr,
                      ValidationError, field_validator, model_validator)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


Moment = Annotated[datetime, AfterValidator(_utc)]  # every time in an answer: aware, UTC when Ozon gives no zone


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


def without_nulls(data: Any) -> Any:
    """The answer with every `null` left out, so a field with a default reads as that default
    (unknown) and a required one as missing. Applied only to an answer that failed as it came:
    reading every answer this way would cost a third more."""
    if isinstance(data, dict):
        return {k: without_nulls(v) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [without_nulls(v) for v in data]
    return data


class Page(Model):
    """A list answer. Its list field is required, so an error object or an empty body sent with
    HTTP 200 is a bad response rather than "no items"; a body wrapped in `result` (as one live
    report shows for the v4 FBS lists) is read the same as a bare one. An item of a list that
    cannot be read is left out (`skipped` says how many and why) and the rest is kept."""

    _skipped: list[str] = PrivateAttr(default_factory=list)

    @property
    def skipped(self) -> list[str]:
        return self._skipped

    @model_validator(mode="wrap")
    @classmethod
    def tolerant(cls, data: Any, handler: ModelWrapValidatorHandler[Page]) -> Page:
        if isinstance(data, dict) and isinstance(data.get("result"), dict) and "result" not in cls.model_fields:
            data = {**data["result"], **{k: v for k, v in data.items() if k != "result"}}
        try:
            return handler(data)
        except ValidationError as exc:
            if not isinstance(data, dict):
                raise
            failed = exc
        data = without_nulls(data)
        try:
            return handler(data)
        except ValidationError:
            pass
        skipped: list[str] = []
        kept = dict(data)
        for name, field in cls.model_fields.items():
            args = get_args(field.annotation)
            item = args[0] if get_origin(field.annotation) is list and args else None
            if not (isinstance(item, type) and issubclass(item, BaseModel) and isinstance(data.get(name), list)):
                continue
            good = []
            for index, raw in enumerate(data[name]):
                try:
                    item.model_validate(raw)
                    good.append(raw)
                except ValidationError as exc:
                    first = exc.errors()[0]
                    where = ".".join(str(p) for p in (name, index, *first["loc"]))
                    skipped.append(f"{where}: {first['msg']}")
            if data[name] and not good:  # not one item readable: the shape has changed, not an item
                raise failed
            kept[name] = good
        page = handler(kept)  # what still fails is not a list item's fault: a BadResponse
        page._skipped = skipped
        return page


def _blank_to_none(value: Any) -> Any:
    """Ozon sends "" (or "0001-01-01T00:00:00Z") where a date is not set."""
    return None if value in ("", None) or str(value).startswith("0001-01-01") else value


def _blank_to_zero(value: Any) -> Any:
    """Ozon sends "" for a price not set."""
    return 0.0 if value in ("", None) else value


class CursorPage(Page):
    """A list answer paged by an opaque cursor until `has_next` is false."""

    cursor: str = ""
    has_next: bool = False


class Money(Model):
    amount: float = 0.0
    currency: str = ""


class PostingProduct(Model):
    sku: int
    offer_id: str = ""
    name: str = ""
    quantity: int = 1
    price: Money | None = None


class Cancellation(Model):
    cancel_reason_id: int | None = None
    cancel_reason: str | None = None
    cancellation_type: str | None = None
    cancellation_initiator: str | None = None
    cancelled_after_ship: bool | None = None
    affect_cancellation_rating: bool | None = None


class Posting(Model):
    """An FBS/rFBS or FBO posting; FBO has `created_at`, FBS only `in_process_at`."""

    posting_number: str
    order_number: str | None = None
    order_id: int | None = None
    status: str = ""
    substatus: str | None = None
    created_at: Moment | None = None
    in_process_at: Moment | None = None
    shipment_date: Moment | None = None
    delivering_date: Moment | None = None
    cancellation: Cancellation | None = None
    products: list[PostingProduct] = Field(default_factory=list)

    _dates = field_validator("created_at", "in_process_at", "shipment_date", "delivering_date", mode="before")(
        _blank_to_none)


class PostingPage(CursorPage):
    postings: list[Posting]


class AnalyticsDimension(Model):
    id: str
    name: str | None = None


class AnalyticsRow(Model):
    dimensions: list[AnalyticsDimension]
    metrics: list[float | None]


class AnalyticsResult(Page):
    data: list[AnalyticsRow]
    totals: list[float | None] = Field(default_factory=list)


class AnalyticsPage(Model):
    result: AnalyticsResult


# --- account ---------------------------------------------------------------------------------

class Subscription(Model):
    is_premium: bool = False
    type: str = "UNSPECIFIED"


class Company(Model):
    name: str = ""
    legal_name: str = ""
    inn: str = ""


class SellerInfo(Model):
    company: Company = Field(default_factory=Company)
    subscription: Subscription = Field(default_factory=Subscription)


class Role(Model):
    name: str
    methods: list[str] = Field(default_factory=list)


class Roles(Page):
    expires_at: Moment | None = None
    roles: list[Role]

    _expiry = field_validator("expires_at", mode="before")(_blank_to_none)


# --- returns ---------------------------------------------------------------------------------

class ReturnPrice(Model):
    price: float = 0.0
    currency_code: str = ""


class ReturnProduct(Model):
    sku: int | None = None
    offer_id: str = ""
    name: str = ""
    quantity: int = 1
    price: ReturnPrice | None = None


class ReturnLogistic(Model):
    return_date: Moment | None = None
    final_moment: Moment | None = None

    _dates = field_validator("return_date", "final_moment", mode="before")(_blank_to_none)


class ReturnStatus(Model):
    id: int | None = None
    display_name: str = ""
    sys_name: str = ""


class ReturnStorage(Model):
    """Paid storage of a return waiting at a pick-up place, and when Ozon will dispose of it."""

    sum: ReturnPrice | None = None
    days: int | None = None
    tariffication_start_date: Moment | None = None
    utilization_forecast_date: Moment | None = None


class ReturnPlace(Model):
    id: int | None = None
    name: str = ""


class ReturnCompensation(Model):
    status: ReturnStatus = Field(default_factory=ReturnStatus)
    change_moment: Moment | None = None


class ReturnVisual(Model):
    status: ReturnStatus = Field(default_factory=ReturnStatus)
    change_moment: Moment | None = None

    _dates = field_validator("change_moment", mode="before")(_blank_to_none)


class Return(Model):
    id: int
    posting_number: str = ""
    order_number: str = ""
    return_reason_name: str = ""
    type: str = ""
    schema_: str = Field("", alias="schema")
    product: ReturnProduct = Field(default_factory=ReturnProduct)
    logistic: ReturnLogistic = Field(default_factory=ReturnLogistic)
    visual: ReturnVisual = Field(default_factory=ReturnVisual)
    storage: ReturnStorage | None = None
    place: ReturnPlace | None = None
    compensation_status: ReturnCompensation | None = None


class ReturnsPage(Page):
    returns: list[Return]
    has_next: bool = False


# --- stocks ----------------------------------------------------------------------------------

class StockEntry(Model):
    sku: int | None = None
    type: str = ""
    present: int = 0
    reserved: int = 0


class StockItem(Model):
    product_id: int
    offer_id: str = ""
    stocks: list[StockEntry] = Field(default_factory=list)


class StocksPage(Page):
    items: list[StockItem]
    cursor: str = ""
    total: int | None = None


class FboStock(Model):
    sku: int
    offer_id: str = ""
    name: str = ""
    warehouse_id: int | None = None
    warehouse_name: str = ""
    cluster_id: int | None = None
    cluster_name: str = ""
    available_stock_count: int = 0
    transit_stock_count: int = 0
    ads: float | None = None
    idc: float | None = None
    days_without_sales: int | None = None
    turnover_grade: str = ""
    excess_stock_count: int = 0
    stock_defect_stock_count: int = 0
    expiring_stock_count: int = 0
    waiting_docs_stock_count: int = 0


class FboStocks(Page):
    items: list[FboStock]


# --- products --------------------------------------------------------------------------------

class ProductListItem(Model):
    product_id: int
    offer_id: str = ""
    sku: int | None = None
    archived: bool = False


class ProductListResult(Page):
    items: list[ProductListItem]
    last_id: str = ""
    total: int | None = None


class ProductList(Model):
    result: ProductListResult


UNKNOWN = "unknown"


class ProductStatuses(Model):
    status: str = UNKNOWN  # missing is unknown, never "fine"
    status_name: str = ""
    status_description: str = ""
    moderate_status: str = ""
    validation_status: str = ""
    status_failed: str = ""
    status_updated_at: Moment | None = None
    is_created: bool = True

    _dates = field_validator("status_updated_at", mode="before")(_blank_to_none)


class ProductErrorTexts(Model):
    message: str = ""
    description: str = ""
    attribute_name: str = ""


class ProductError(Model):
    code: str = ""
    field: str = ""
    state: str = ""
    level: str = ""
    texts: ProductErrorTexts = Field(default_factory=ProductErrorTexts)


class Availability(Model):
    sku: int | None = None
    availability: str = ""
    reasons: list[dict[str, Any]] = Field(default_factory=list)

    def reason_texts(self) -> list[str]:
        return [str((r.get("human_text") or {}).get("text", "")) for r in self.reasons if r.get("human_text")]


class VisibilityDetails(Model):
    has_price: bool | None = None  # missing: unknown, not "has a price"
    has_stock: bool | None = None


class IndexData(Model):
    minimal_price: float | None = None  # a competitor's lowest price (Ozon sends "" when it has none)

    @field_validator("minimal_price", mode="before")
    @classmethod
    def empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


class PriceIndexes(Model):
    color_index: str = ""
    ozon_index_data: IndexData = Field(default_factory=IndexData)
    external_index_data: IndexData = Field(default_factory=IndexData)


class Commission(Model):
    """What Ozon takes on a sale under one scheme: percent of the price and the logistics amount."""

    sale_schema: str = ""
    percent: float | None = None
    delivery_amount: float | None = None


class ProductInfo(Model):
    id: int
    offer_id: str = ""
    sku: int | None = None
    description_category_id: int = 0
    name: str = ""
    price: float | None = None
    is_archived: bool = False
    is_autoarchived: bool = False
    statuses: ProductStatuses = Field(default_factory=ProductStatuses)
    errors: list[ProductError] = Field(default_factory=list)
    availabilities: list[Availability] = Field(default_factory=list)
    visibility_details: VisibilityDetails = Field(default_factory=VisibilityDetails)
    updated_at: Moment | None = None
    price_indexes: PriceIndexes = Field(default_factory=PriceIndexes)
    commissions: list[Commission] = Field(default_factory=list)

    _dates = field_validator("updated_at", mode="before")(_blank_to_none)
    _price = field_validator("price", mode="before")(_blank_to_none)


class ProductInfoList(Page):
    items: list[ProductInfo]


# --- rating ----------------------------------------------------------------------------------

class RatingItem(Model):
    rating: str
    name: str = ""
    current_value: float | None = None
    past_value: float | None = None
    status: str = ""
    value_type: str = ""
    rating_direction: str = ""


class RatingGroup(Model):
    group_name: str = ""
    items: list[RatingItem] = Field(default_factory=list)


class RatingSummary(Page):
    groups: list[RatingGroup]
    penalty_score_exceeded: bool = False
    premium: bool = False


class RatingValueStatus(Model):
    danger: bool = False
    warning: bool = False
    premium: bool = False


class RatingValue(Model):
    date_from: Moment
    date_to: Moment | None = None
    value: float | None = None
    status: RatingValueStatus = Field(default_factory=RatingValueStatus)


class RatingHistoryItem(Model):
    rating: str
    danger_threshold: float | None = None
    warning_threshold: float | None = None
    premium_threshold: float | None = None
    values: list[RatingValue] = Field(default_factory=list)


class RatingHistory(Page):
    ratings: list[RatingHistoryItem]


class FbsIndexDefect(Model):
    date: str
    index_by_date: float | None = None
    processing_costs_sum_by_date: float | None = None


class FbsIndexInfo(Model):
    index: float | None = None  # a shop without FBS postings may have none
    period_from: str = ""
    period_to: str = ""
    processing_costs_sum: float | None = None
    defects: list[FbsIndexDefect] = Field(default_factory=list)


class FbsIndexError(Model):
    posting_number: str
    posting_error_type: str = ""
    error_at: Moment | None = None
    index: float | None = None
    charge_percent: float | None = None
    charge_price: float | None = None
    product_price: float | None = None
    delivery_schema: str = ""

    _dates = field_validator("error_at", mode="before")(_blank_to_none)


class FbsIndexPostings(CursorPage):
    errors: list[FbsIndexError]


# --- finance ---------------------------------------------------------------------------------

class Amount(Model):
    amount: float = 0.0
    currency: str = ""


class AccrualCommission(Model):
    sale_amount: Amount | None = None
    commission: Amount | None = None
    sale_commission: Amount | None = None


class AccrualDelivery(Model):
    total_accrued: Amount | None = None


class AccrualProduct(Model):
    sku: int | None = None
    commission: AccrualCommission = Field(default_factory=AccrualCommission)
    delivery: AccrualDelivery = Field(default_factory=AccrualDelivery)


class Fee(Model):
    """One charge of an accrual: its type (named by /v1/finance/accrual/types) and amount."""

    type_id: int | None = None
    accrued: Amount = Field(default_factory=Amount)


class SkuFees(Model):
    sku: int | None = None
    fees: list[Fee] = Field(default_factory=list)


class ItemFees(Model):
    fees: list[SkuFees] = Field(default_factory=list)


class ContainerFees(Model):
    fees: list[Fee] = Field(default_factory=list)


class AccrualPosting(Model):
    delivery_schema: str = ""
    products: list[AccrualProduct] = Field(default_factory=list)


class Accrual(Model):
    accrual_id: int
    date: str = ""
    unit_number: str = ""
    accrued_category: str = ""
    total_amount: Amount = Field(default_factory=Amount)
    posting: AccrualPosting | None = None
    item_fees: ItemFees | None = None
    non_item_fee: Fee | None = None
    container_fees: ContainerFees | None = None

    def fees(self) -> list[tuple[int | None, Fee]]:
        """Every charge that is not a sale's commission or delivery, with its SKU where it has one."""
        found: list[tuple[int | None, Fee]] = [(x.sku, fee) for x in (self.item_fees.fees if self.item_fees else [])
                                               for fee in x.fees]
        if self.non_item_fee is not None:
            found.append((None, self.non_item_fee))
        found += [(None, fee) for fee in (self.container_fees.fees if self.container_fees else [])]
        return found


class AccrualPage(Page):
    accruals: list[Accrual]
    last_id: str = ""


class AccrualType(Model):
    id: int
    name: str = ""
    description: str = ""


class AccrualTypes(Page):
    accrual_types: list[AccrualType]


class BalanceValue(Model):
    value: float = 0.0
    currency_code: str = ""


class BalanceTotal(Model):
    opening_balance: BalanceValue = Field(default_factory=BalanceValue)
    closing_balance: BalanceValue = Field(default_factory=BalanceValue)
    accrued: BalanceValue = Field(default_factory=BalanceValue)
    payments: list[BalanceValue] = Field(default_factory=list)


class BalanceFlow(Model):
    amount: BalanceValue = Field(default_factory=BalanceValue)
    fee: BalanceValue = Field(default_factory=BalanceValue)


class BalanceCashflows(Model):
    sales: BalanceFlow = Field(default_factory=BalanceFlow)
    returns: BalanceFlow = Field(default_factory=BalanceFlow)


class Balance(Model):
    total: BalanceTotal = Field(default_factory=BalanceTotal)
    cashflows: BalanceCashflows = Field(default_factory=BalanceCashflows)


# --- promotions and prices -------------------------------------------------------------------

class Promotion(Model):
    id: int
    title: str = ""
    action_type: str = ""
    date_start: Moment | None = None
    date_end: Moment | None = None
    auto_add_dates: list[Moment] = Field(default_factory=list)
    freeze_date: Moment | None = None
    participating_products_count: int = 0
    is_participating: bool = False

    _dates = field_validator("date_start", "date_end", "freeze_date", mode="before")(_blank_to_none)

    @field_validator("auto_add_dates", mode="before")
    @classmethod
    def _set_dates(cls, value: Any) -> Any:
        return [v for v in value if _blank_to_none(v) is not None] if isinstance(value, list) else value


class Promotions(Page):
    result: list[Promotion]


class PromotionProduct(Model):
    """A product in a promotion (`/v1/actions/products`)."""

    id: int
    price: float = 0.0
    action_price: float = 0.0
    add_mode: str = ""


class PromotionProductsResult(Page):
    products: list[PromotionProduct]
    total: int = 0
    last_id: float = 0


class PromotionProducts(Model):
    result: PromotionProductsResult


class AutoAddProduct(Model):
    """A product Ozon will add to a promotion on an auto-add date, and at what price."""

    product_id: int
    sku: int = 0
    offer_id: str = ""
    price: float = 0.0
    action_price_to_auto_add: float = 0.0


class AutoAddProducts(Page):
    products: list[AutoAddProduct]
    total: int = 0


class PriceDetails(Model):
    price: float = 0.0
    min_price: float = 0.0  # the seller's floor for promotions (0: none)
    net_price: float = 0.0  # the seller's cost, when filled in
    auto_action_enabled: bool = False

    _numbers = field_validator("price", "min_price", "net_price", mode="before")(_blank_to_zero)


class ProductPrice(Model):
    product_id: int
    offer_id: str = ""
    price: PriceDetails = Field(default_factory=PriceDetails)


class ProductPrices(Page):
    items: list[ProductPrice]
    cursor: str = ""
    total: int = 0


class PriceTimer(Model):
    product_id: int
    expired_at: Moment | None = None
    min_price_for_auto_actions_enabled: bool = False

    _dates = field_validator("expired_at", mode="before")(_blank_to_none)


class PriceTimers(Page):
    statuses: list[PriceTimer]


# --- FBO supplies and their acts -------------------------------------------------------------

class SupplyOrderIds(Model):
    order_ids: list[int] = Field(default_factory=list)
    last_id: str = ""


class SupplyWarehouse(Model):
    name: str = ""


class Supply(Model):
    supply_id: int = 0
    bundle_id: str = ""
    state: str = ""


class SupplyOrder(Model):
    order_id: int
    order_number: str = ""
    state: str = ""
    created_date: Moment | None = None
    state_updated_date: Moment | None = None
    dropoff_warehouse: SupplyWarehouse = Field(default_factory=SupplyWarehouse)
    supplies: list[Supply] = Field(default_factory=list)

    _dates = field_validator("created_date", "state_updated_date", mode="before")(_blank_to_none)


class SupplyOrders(Page):
    orders: list[SupplyOrder]


class BundleItem(Model):
    sku: int
    offer_id: str = ""
    name: str = ""
    quantity: int = 0


class Bundle(Page):
    items: list[BundleItem]
    has_next: bool = False
    last_id: str = ""


class ActMoney(Model):
    amount: float = 0.0


class ActSummary(Model):
    declared_quantity: int = 0
    fact_quantity: int = 0
    approved_quantity: int = 0


class SupplyAct(Model):
    act_id: int
    act_number: str = ""
    act_state: str = ""
    type: str = ""
    created_date: Moment | None = None
    deadline_utc: Moment | None = None
    summary: ActSummary = Field(default_factory=ActSummary)

    _dates = field_validator("created_date", "deadline_utc", mode="before")(_blank_to_none)


class SupplyActs(Model):
    supply_id: int = 0
    supply_acts: list[SupplyAct] = Field(default_factory=list)


class SupplyActsSummary(Page):
    supplies_acts: list[SupplyActs]


class ActSku(Model):
    sku: int = 0
    offer_id: str = ""
    name: str = ""
    price_without_vat: ActMoney = Field(default_factory=ActMoney)


class ActItem(Model):
    declared_quantity: int = 0
    fact_quantity: int = 0
    sku_info: ActSku = Field(default_factory=ActSku)


class ActProducts(Model):
    act_id: int
    type: str = ""
    items: list[ActItem] = Field(default_factory=list)


class SupplyActProducts(Page):
    supply_acts: list[ActProducts]


class FbsActDoc(Model):
    document_status: str = ""


class FbsActDocs(Model):
    act_of_mismatch: FbsActDoc = Field(default_factory=FbsActDoc)


class FbsAct(Model):
    """An FBS hand-over (carriage) and the status of its acts."""

    id: int
    departure_date: Moment | None = None
    delivery_method_name: str = ""
    related_docs: FbsActDocs = Field(default_factory=FbsActDocs)

    _dates = field_validator("departure_date", mode="before")(_blank_to_none)


class FbsActs(Page):
    result: list[FbsAct]
