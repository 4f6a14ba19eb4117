"""What every rule takes and returns: plain, immutable data, no I/O."""
from __future__ import annotations

import hashlib
from bisect import bisect_left
from dataclasses import asdict, dataclass, field, is_dataclass
from functools import cached_property
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Callable, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

Severity = Literal["warning", "critical"]
SupportTopic = Literal["technical", "logistics", "finance", "marketing"]
POSTINGS_SOURCES = ("fbs", "fbo")


@dataclass(frozen=True, slots=True)  # slots: a big shop holds hundreds of thousands
class Order:
    """One posting as the rules see it."""

    posting_number: str
    created_at: datetime
    skus: tuple[int, ...] = ()
    status: str = ""
    scheme: str = "fbs"
    quantity: int = 1
    price: float = 0.0
    shipment_deadline: datetime | None = None
    handed_over_at: datetime | None = None
    seller_cancelled: bool = False


@dataclass(frozen=True, slots=True)
class Return:
    posting_number: str
    sku: int
    reason: str
    returned_at: datetime


@dataclass(frozen=True)
class Card:
    """A product card's state on Ozon."""

    sku: int
    offer_id: str
    name: str
    status: str = ""
    status_name: str = ""
    moderate_status: str = ""
    status_failed: str = ""
    errors: tuple[str, ...] = ()
    unavailable_reasons: tuple[str, ...] = ()
    archived: bool = False
    autoarchived: bool = False
    changed_at: datetime | None = None


@dataclass(frozen=True)
class Stock:
    """Free stock of a SKU under one scheme; `days_of_cover` is Ozon's own figure (FBO)."""

    sku: int
    scheme: str
    available: int
    days_of_cover: float | None = None
    daily_sales: float | None = None


@dataclass(frozen=True)
class RatingSeries:
    rating: str
    name: str
    status: str
    higher_is_better: bool
    warning: float | None
    danger: float | None
    values: tuple[tuple[datetime, float], ...]  # oldest first

    @property
    def current(self) -> float | None:
        return self.values[-1][1] if self.values else None


@dataclass(frozen=True)
class MoneyDay:
    """One day of posting accruals: sale amount and the charges taken from it (positive numbers)."""

    day: date
    postings: int
    sales: float
    commission: float
    delivery: float


@dataclass(frozen=True)
class TrafficDay:
    sku: int
    day: date
    views: float
    tocart: float


@dataclass(frozen=True)
class StockDay:
    """Free FBS stock of a SKU as last seen on a day (kept so stock_out can be replayed)."""

    sku: int
    scheme: str
    day: date
    available: int


@dataclass(frozen=True)
class FbsError:
    """A posting Ozon counts in the FBS/rFBS error index, with the charge it made for it."""

    posting_number: str
    kind: str  # SELLER_CANCELLATION or SELLER_DELAY
    at: datetime
    charge: float


@dataclass(frozen=True)
class FbsIndex:
    """Ozon's own FBS/rFBS error index: the share Ozon charges by, its daily values and the
    postings it counts."""

    value: float  # percent over Ozon's window (14 days, today excluded)
    days: tuple[tuple[date, float], ...]  # (day, that day's index), oldest first; a missing day had none
    errors: tuple[FbsError, ...]


@dataclass(frozen=True)
class SourceHealth:
    """How one data source's sync stands: last success, last error, switched off until."""

    source: str
    last_success: datetime | None
    last_error: str | None
    disabled_until: datetime | None = None


@dataclass(frozen=True)
class AccountData:
    """Everything a rule may read about one account, as of `now`."""

    account: str
    client_id: int
    now: datetime
    orders: list[Order]  # oldest first
    history_since: datetime | None  # the earliest moment the synced postings cover
    tz: tzinfo | None = None
    returns: list[Return] = field(default_factory=list)
    cards: list[Card] = field(default_factory=list)
    stocks: list[Stock] = field(default_factory=list)
    ratings: list[RatingSeries] = field(default_factory=list)
    penalty_score_exceeded: bool = False
    money: list[MoneyDay] = field(default_factory=list)
    payouts: dict[date, float] = field(default_factory=dict)  # day -> amount paid out (positive)
    money_since: date | None = None
    traffic: list[TrafficDay] = field(default_factory=list)
    sources: dict[str, SourceHealth] = field(default_factory=dict)
    key_expires_at: datetime | None = None
    fbs_index: FbsIndex | None = None
    stock_history: list[StockDay] = field(default_factory=list)

    @cached_property
    def order_times(self) -> np.ndarray:
        """When each order was placed (epoch seconds), oldest first: the sales rules' clock."""
        return np.array([o.created_at.timestamp() for o in self.orders])

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date() if self.tz else moment.date()

    def orders_between(self, start: datetime, end: datetime) -> list[Order]:
        """Orders placed in [start, end); `orders` is kept oldest first, so this is a bisection."""
        lo = bisect_left(self.orders, start, key=_placed)
        return self.orders[lo:bisect_left(self.orders, end, lo=lo, key=_placed)]

    def since(self, days: float) -> datetime:
        return self.now - timedelta(days=days)


def _placed(order: Order) -> datetime:
    return order.created_at


@dataclass(frozen=True)
class Series:
    """Counts per step around an anomaly, with the usual level and band: what a chart shows."""

    start: str  # ISO-8601 UTC of the first step
    step_minutes: int
    observed: tuple[float, ...]
    expected: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]


@dataclass(frozen=True)
class Product:
    """A product as the seller knows it: SKU, article (offer id) and name."""

    sku: int
    offer_id: str = ""
    name: str = ""


CheckKind = Literal["postings_fresh", "stock", "card_status", "price_quarantine"]


@dataclass(frozen=True)
class Check:
    """Something the monitor verified in its own data before blaming Ozon: what, whether it
    was fine, and the value seen (for a SKU, when `sku` is set)."""

    kind: CheckKind
    ok: bool
    value: str
    sku: int | None = None


@dataclass(frozen=True)
class Finding:
    """One problem with one entity. `entity` makes the fingerprint stable while the problem
    lasts; `evidence` is the rule's own frozen dataclass of numbers."""

    rule: str
    account: str
    client_id: int
    severity: Severity
    entity: str
    started_at: datetime
    evidence: Any
    topic: SupportTopic | None  # None: support cannot help, the text gives advice instead
    affected_postings: list[str] = field(default_factory=list)
    affected_skus: list[int] = field(default_factory=list)
    products: tuple[Product, ...] = ()  # the affected SKUs as the seller knows them
    checks: tuple[Check, ...] = ()

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.rule}|{self.account}|{self.entity}".encode()).hexdigest()[:16]

    def product(self, sku: int) -> Product:
        return next((p for p in self.products if p.sku == sku), Product(sku))


MAX_CHECKED_SKUS = 5


def finding(rule: str, data: AccountData, *, checks: tuple[Check, ...] | None = None, **fields: Any) -> Finding:
    """A Finding for `data`'s account, its affected SKUs named from the cards, and the checks
    of its SKUs' stock, card and price plus the postings feed (unless the rule gives its own)."""
    skus = fields.get("affected_skus", [])
    cards = {c.sku: c for c in data.cards}
    products = tuple(Product(s, cards[s].offer_id, cards[s].name) if s in cards else Product(s) for s in skus)
    return Finding(rule=rule, account=data.account, client_id=data.client_id, products=products,
                   checks=standard_checks(data, skus[:MAX_CHECKED_SKUS]) if checks is None else checks, **fields)


def standard_checks(data: AccountData, skus: list[int]) -> tuple[Check, ...]:
    """What the monitor can verify itself: the postings feed is fresh, and for each SKU its free
    stock, its card's status and whether its price is in quarantine."""
    found = []
    feed = [h for h in data.sources.values() if h.source in POSTINGS_SOURCES]
    if feed:
        last = min((h.last_success for h in feed if h.last_success), default=None)
        fresh = last is not None and all(h.last_error is None for h in feed)
        found.append(Check("postings_fresh", fresh, last.isoformat() if last else ""))
    cards = {c.sku: c for c in data.cards}
    stock: dict[int, int] = {}
    for item in data.stocks:
        stock[item.sku] = stock.get(item.sku, 0) + item.available
    for sku in skus:
        if sku in stock:
            found.append(Check("stock", stock[sku] > 0, str(stock[sku]), sku))
        card = cards.get(sku)
        if card is not None:
            blocked = bool(card.status_failed or card.moderate_status == "declined" or card.unavailable_reasons
                           or card.archived or card.autoarchived or card.status in ("", "unknown"))
            found.append(Check("card_status", not blocked, card.status_name or card.status or "unknown", sku))
            quarantine = "quarantine" in card.status.lower() or any("карантин" in r.lower()
                                                                    for r in card.unavailable_reasons)
            found.append(Check("price_quarantine", not quarantine, "", sku))
    return tuple(found)


def as_json(value: Any) -> Any:
    """A rule's evidence (or any of its parts) as plain JSON: dataclasses to objects, tuples to
    lists, moments and days to ISO-8601 text."""
    if is_dataclass(value) and not isinstance(value, type):
        return {k: as_json(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_json(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


class RuleConfig(BaseModel):
    """Base of every `[rules.<name>]` table: unknown keys are errors, `enabled` is common."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True


@dataclass(frozen=True)
class Rule:
    name: str
    Config: type[RuleConfig]
    evaluate: Callable[[AccountData, Any], list[Finding]]
    needs_postings: bool = False  # reads "no orders" as a signal: held back while postings are stale
