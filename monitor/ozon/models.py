"""Response shapes of the Seller API methods we call. Unknown fields are ignored and optional
ones may be missing or null, so Ozon adding a field never breaks a sync."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


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
    created_at: datetime | None = None
    in_process_at: datetime | None = None
    shipment_date: datetime | None = None
    delivering_date: datetime | None = None
    cancellation: Cancellation | None = None
    products: list[PostingProduct] = Field(default_factory=list)


class PostingPage(Model):
    postings: list[Posting] = Field(default_factory=list)
    cursor: str = ""
    has_next: bool = False


class AnalyticsDimension(Model):
    id: str
    name: str | None = None


class AnalyticsRow(Model):
    dimensions: list[AnalyticsDimension]
    metrics: list[float]


class AnalyticsResult(Model):
    data: list[AnalyticsRow] = Field(default_factory=list)
    totals: list[float] = Field(default_factory=list)


class AnalyticsPage(Model):
    result: AnalyticsResult
