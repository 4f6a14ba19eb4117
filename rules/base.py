"""What every rule takes and returns: plain, immutable data, no I/O."""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any, Callable, Literal, TypeVar, overload

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

Severity = Literal["warning", "critical"]
StakeKind = Literal["missed", "value", "charged", "per_day", "loss_per_day"]
SupportTopic = Literal["technical", "logistics", "finance", "marketing"]
POSTINGS_SOURCES = ("fbs", "fbo")
EvidenceT = TypeVar("EvidenceT")
# Why a source could not be read: the class of the client's error, stored in its own column.
ErrorKind = Literal["key_rejected", "account_blocked", "missing_role", "method_retired", "bad_request",
                    "rate_limited", "server_error", "timeout", "unreachable", "network", "out_of_time",
                    "bad_response", "other"]


@dataclass(frozen=True, slots=True)
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
    cancelled_by: str = ""  # who cancelled it: "seller", "ozon" (Ozon, its system or delivery), "buyer"


NO_TIME = float("nan")


def _epoch(moment: datetime | None) -> float:
    return moment.timestamp() if moment is not None else NO_TIME


def _moment(seconds: float) -> datetime | None:
    return None if seconds != seconds else datetime.fromtimestamp(seconds, timezone.utc)


class Orders(Sequence[Order]):
    """The postings, oldest first, as columns: a big shop keeps hundreds of thousands, and the
    rules count them by SKU and time (numpy over the columns) instead of reading each one. An
    `Order` is made only when one is asked for: the few a finding names. Times are epoch
    seconds (NaN: none); a posting's SKUs are `skus[sku_start[i]:sku_start[i + 1]]`. Slices
    (`between`, `[a:b]`) are views that share the columns."""

    PER_POSTING = ("posting_number", "created", "status", "scheme", "quantity", "price", "shipment_deadline",
                   "handed_over_at", "cancelled_by")
    __slots__ = (*PER_POSTING, "sku_start", "skus")

    def __init__(self, posting_number: np.ndarray, created: np.ndarray, status: np.ndarray, scheme: np.ndarray,
                 quantity: np.ndarray, price: np.ndarray, shipment_deadline: np.ndarray, handed_over_at: np.ndarray,
                 cancelled_by: np.ndarray, sku_start: np.ndarray, skus: np.ndarray) -> None:
        self.posting_number, self.created, self.status, self.scheme = posting_number, created, status, scheme
        self.quantity, self.price, self.shipment_deadline = quantity, price, shipment_deadline
        self.handed_over_at, self.cancelled_by, self.sku_start, self.skus = handed_over_at, cancelled_by, \
            sku_start, skus

    @classmethod
    def of(cls, orders: Iterable[Order]) -> Orders:
        orders = sorted(orders, key=lambda o: o.created_at)
        return cls.from_columns(
            [o.posting_number for o in orders], [o.created_at.timestamp() for o in orders], [o.status for o in orders],
            [o.scheme for o in orders], [o.quantity for o in orders], [o.price for o in orders],
            [_epoch(o.shipment_deadline) for o in orders], [_epoch(o.handed_over_at) for o in orders],
            [o.cancelled_by for o in orders], [o.skus for o in orders])

    @classmethod
    def from_columns(cls, posting_number: list[str], created: list[float], status: list[str], scheme: list[str],
                     quantity: list[int], price: list[float], shipment_deadline: list[float],
                     handed_over_at: list[float], cancelled_by: list[str],
                     skus: list[tuple[int, ...]]) -> Orders:
        """Columns from lists (one entry per posting, oldest first). Posting numbers are kept as
        bytes, a fifth of the memory of Python strings."""
        sku_start = np.zeros(len(skus) + 1, dtype=np.int64)
        np.cumsum([len(s) for s in skus], out=sku_start[1:])
        return cls(np.array([n.encode() for n in posting_number], dtype=bytes), np.array(created, dtype=float),
                   np.array(status, dtype=object), np.array(scheme, dtype=object),
                   np.array(quantity, dtype=np.int32), np.array(price, dtype=float),
                   np.array(shipment_deadline, dtype=float), np.array(handed_over_at, dtype=float),
                   np.array(cancelled_by, dtype=object), sku_start,
                   np.fromiter((s for group in skus for s in group), dtype=np.int64, count=int(sku_start[-1])))

    @classmethod
    def concat(cls, parts: list[Orders]) -> Orders:
        if not parts:
            return cls.of([])
        starts, offset = [np.zeros(1, dtype=np.int64)], 0
        for part in parts:
            starts.append(part.sku_start[1:] - part.sku_start[0] + offset)
            offset += int(part.sku_start[-1] - part.sku_start[0])
        return cls(**{name: np.concatenate([getattr(p, name) for p in parts]) for name in cls.PER_POSTING},
                   sku_start=np.concatenate(starts), skus=np.concatenate([p.line_skus for p in parts]))

    def __len__(self) -> int:
        return len(self.created)

    @overload
    def __getitem__(self, index: int) -> Order: ...
    @overload
    def __getitem__(self, index: slice) -> Orders: ...

    def __getitem__(self, index: int | slice) -> Order | Orders:
        if isinstance(index, slice):
            lo, hi, step = index.indices(len(self))
            if step != 1:
                raise ValueError("Orders slices are contiguous")
            hi = max(hi, lo)
            return Orders(**{name: getattr(self, name)[lo:hi] for name in self.PER_POSTING},
                          sku_start=self.sku_start[lo:hi + 1], skus=self.skus)
        i = range(len(self))[index]
        return Order(self.posting_number[i].decode(), datetime.fromtimestamp(self.created[i], timezone.utc),
                     self.skus_of(i), self.status[i],
                     self.scheme[i], int(self.quantity[i]), float(self.price[i]), _moment(self.shipment_deadline[i]),
                     _moment(self.handed_over_at[i]), self.cancelled_by[i])

    def __iter__(self) -> Iterator[Order]:
        return (self[i] for i in range(len(self)))

    def where(self, mask: np.ndarray) -> list[Order]:
        """The postings where `mask` holds, as `Order`s."""
        return [self[int(i)] for i in np.flatnonzero(mask)]

    def between(self, start: datetime, end: datetime) -> Orders:
        """Postings placed in [start, end): a bisection, the columns being oldest first."""
        lo, hi = np.searchsorted(self.created, [start.timestamp(), end.timestamp()], "left")
        return self[int(lo):int(hi)]

    def skus_of(self, i: int) -> tuple[int, ...]:
        return tuple(self.skus[self.sku_start[i]:self.sku_start[i + 1]].tolist())

    def index_of(self, numbers: list[str]) -> np.ndarray:
        """Where each posting number is among these postings (-1: not there)."""
        if not len(self):
            return np.full(len(numbers), -1)
        order = np.argsort(self.posting_number)
        ranked = self.posting_number[order]
        keys = np.array([n.encode() for n in numbers], dtype=bytes)
        at = np.searchsorted(ranked, keys).clip(0, len(ranked) - 1)
        return np.where(ranked[at] == keys, order[at], -1)

    def with_skus(self, skus: list[int]) -> dict[int, np.ndarray]:
        """For each of `skus`, the postings (ascending positions) that hold it, each once."""
        line, sku = self.line_posting, self.line_skus
        kept = np.isin(sku, skus)
        pairs = np.unique(np.stack([sku[kept], line[kept]], axis=1), axis=0).reshape(-1, 2)
        bounds = np.searchsorted(pairs[:, 0], np.array([skus, np.add(skus, 1)])) if skus else \
            np.zeros((2, 0), dtype=int)
        return {s: pairs[lo:hi, 1] for s, lo, hi in zip(skus, *bounds)}

    def sku_counts(self) -> dict[int, int]:
        """Lines naming each SKU, in the order the SKUs first appear (as a `Counter` has them)."""
        sku, first, count = np.unique(self.line_skus, return_index=True, return_counts=True)
        order = np.argsort(first)
        return dict(zip(sku[order].tolist(), count[order].tolist()))

    @property
    def line_skus(self) -> np.ndarray:
        """The SKU of each (posting, SKU) line of these postings, in posting order."""
        return self.skus[self.sku_start[0]:self.sku_start[-1]]

    @property
    def line_posting(self) -> np.ndarray:
        """Which of these postings (0-based) each line belongs to."""
        return np.repeat(np.arange(len(self)), np.diff(self.sku_start))


@dataclass(frozen=True, slots=True)
class Return:
    """A return as the rules see it: what came back and why, where it stands (Ozon's status), its
    value, and its paid storage at the pick-up place with the day Ozon plans to dispose of it."""

    posting_number: str
    sku: int
    reason: str
    returned_at: datetime
    status: str = ""
    status_name: str = ""
    changed_at: datetime | None = None
    value: float = 0.0
    place: str = ""
    storage_rubles: float = 0.0
    storage_since: datetime | None = None
    disposal_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Charge:
    """A charge other than a sale's commission and delivery, named by Ozon's type (positive:
    the seller pays, negative: Ozon pays back)."""

    day: date
    unit: str  # the posting, supply or contract it is for
    type_id: int | None
    name: str  # Ozon's name of the type; "" until the types are read
    rubles: float


@dataclass(frozen=True, slots=True)
class PriceMove:
    """A SKU's price index or tariffs before: either its last good `color_index` and that day,
    or its tariffs on the earliest day kept (`color_index` ""); the card has today's values."""

    sku: int
    day: date
    color_index: str
    percent: tuple[tuple[str, float], ...]  # (scheme, commission percent)
    logistics: tuple[tuple[str, float], ...]  # (scheme, logistics rubles)


@dataclass(frozen=True, slots=True)
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
    price: float = 0.0
    color_index: str = ""  # Ozon's price index: SUPER, GREEN, YELLOW, RED (COLOR_INDEX_ dropped)
    competitor_price: float | None = None  # the lowest price of the same product elsewhere
    percent: tuple[tuple[str, float], ...] = ()  # (scheme, commission percent) now
    logistics: tuple[tuple[str, float], ...] = ()  # (scheme, logistics rubles) now


@dataclass(frozen=True, slots=True)
class Stock:
    """Free stock of a SKU under one scheme; `days_of_cover` is Ozon's own figure (FBO)."""

    sku: int
    scheme: str
    available: int
    days_of_cover: float | None = None
    daily_sales: float | None = None
    grade: str = ""  # FBO: Ozon's turnover grade (SURPLUS, NO_SALES, ...)
    turned_on: date | None = None  # the day after its grade was last a selling one, if it turned this week
    days_without_sales: int | None = None
    excess: int = 0  # FBO units Ozon asks the seller to take away: surplus, defects, expiring, waiting papers
    defect: int = 0
    expiring: int = 0
    waiting_docs: int = 0


@dataclass(frozen=True, slots=True)
class Promotion:
    """An Ozon promotion the seller can be in: when it runs, when Ozon adds products to it by
    itself, and from when the seller can no longer take them out (`freeze_at`)."""

    action_id: int
    title: str
    starts: datetime | None
    ends: datetime | None
    auto_add_at: tuple[datetime, ...]
    freeze_at: datetime | None


@dataclass(frozen=True, slots=True)
class PromoProduct:
    """A product in a promotion (`entered`, added by Ozon) or to be added on `auto_add_at`."""

    action_id: int
    sku: int
    action_price: float
    entered: bool
    auto_add_at: datetime | None


@dataclass(frozen=True, slots=True)
class Price:
    """A product's prices and its guard against promotions: the minimum price Ozon respects for
    30 days after it is set (`guard_on`, `guard_expires`; None when not read)."""

    sku: int
    price: float
    min_price: float  # 0: not set
    net_price: float  # the seller's cost; 0: not filled in
    category: int
    auto_actions: bool  # Ozon may put the product into promotions by itself
    guard_on: bool | None = None
    guard_expires: datetime | None = None


@dataclass(frozen=True)
class Supply:
    """An FBO supply order on its way or being accepted, with what it carries."""

    order_id: int
    number: str
    state: str
    since: datetime  # when it entered `state`
    warehouse: str
    units: int
    value: float  # at the seller's prices


@dataclass(frozen=True, slots=True)
class ActLine:
    sku: int
    declared: int
    accepted: int
    price: float  # per unit, as the act values it (FBO: without VAT)


@dataclass(frozen=True)
class Act:
    """An acceptance act (FBO supply) or an act of mismatch (FBS hand-over) and its state."""

    act_id: int
    number: str
    kind: str  # SHORTCOMING, DEFECT, SURPLUS, ACCEPTANCE; FBS_MISMATCH for an FBS hand-over
    state: str  # AWAITING_APPROVAL_BY_SELLER (FBO) or NEED_TO_SIGN (FBS) waits for the seller
    supply: str  # the supply order's number, or the FBS hand-over's id
    created_at: datetime | None
    deadline: datetime | None
    declared: int
    accepted: int
    lines: tuple[ActLine, ...] = ()


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


@dataclass(frozen=True, slots=True)
class TrafficDay:
    sku: int
    day: date
    views: float
    tocart: float


@dataclass(frozen=True, slots=True)
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
    """How one data source's sync stands: last success, last error (its kind for the rules,
    its text for the log and the webhook), switched off until."""

    source: str
    last_success: datetime | None
    last_error: str | None
    error_kind: ErrorKind | None = None
    error_method: str | None = None  # the Seller API method that failed
    disabled_until: datetime | None = None


@dataclass(frozen=True)
class AccountData:
    """Everything a rule may read about one account, as of `now`."""

    account: str
    client_id: int
    now: datetime
    orders: Orders  # oldest first; a list of `Order`s is taken too
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
    charges: list[Charge] = field(default_factory=list)
    price_moves: list[PriceMove] = field(default_factory=list)
    promotions: list[Promotion] = field(default_factory=list)
    promo_products: list[PromoProduct] = field(default_factory=list)
    prices: list[Price] = field(default_factory=list)
    supplies: list[Supply] = field(default_factory=list)
    acts: list[Act] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.orders, Orders):
            object.__setattr__(self, "orders", Orders.of(self.orders))

    @property
    def order_times(self) -> np.ndarray:
        """When each order was placed (epoch seconds), oldest first: the sales rules' clock."""
        return self.orders.created

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date() if self.tz else moment.date()

    def midnight(self, day: date) -> datetime:
        """The start of a day in the shop's zone: when a day's problem is said to begin."""
        return datetime.combine(day, datetime.min.time(), self.tz or self.now.tzinfo)

    def orders_between(self, start: datetime, end: datetime) -> Orders:
        """Orders placed in [start, end)."""
        return self.orders.between(start, end)

    def since(self, days: float) -> datetime:
        return self.now - timedelta(days=days)


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
class AtStake:
    """What a problem costs the seller in rubles, as far as the data tells: sales `missed` so
    far, the `value` of the goods or money concerned, what Ozon `charged`, or sales lost
    `per_day` while it lasts, or money lost on each day's sales (`loss_per_day`)."""

    rubles: float
    kind: StakeKind


def at_stake(rubles: float, kind: StakeKind) -> AtStake | None:
    """An amount worth saying (a whole ruble or more), else None."""
    return AtStake(round(rubles), kind) if rubles >= 1 else None


def order_value(data: AccountData, sku: int | None = None) -> float:
    """The median sum of an order over the history (of the orders holding `sku`): what one
    missing or returned order is worth to the seller; 0 when the postings carry no sums."""
    orders = data.orders
    amounts = orders.price if sku is None else orders.price[np.unique(orders.line_posting[orders.line_skus == sku])]
    amounts = amounts[amounts > 0]
    return round(float(np.median(amounts)), 0) if len(amounts) else 0.0


@dataclass(frozen=True)
class Symptom:
    """The orders a cause costs: a sales fall it explains (the rest of the shop did not fall),
    said in its alert instead of one of its own (`rules.sales.fold_into_causes`)."""

    hours: int
    missing: float  # orders missing over the last `hours` on the cause's SKUs
    value: float  # their usual sum, rubles (0: not known)


@dataclass(frozen=True)
class Finding:
    """One problem with one entity. `entity` makes the fingerprint stable while the problem
    lasts; `evidence` is the rule's own frozen dataclass of numbers (`evidence_as` gives it
    typed to a renderer)."""

    rule: str
    account: str
    client_id: int
    severity: Severity
    entity: str
    started_at: datetime
    evidence: object
    topic: SupportTopic | None  # None: support cannot help, the text gives advice instead
    affected_postings: list[str] = field(default_factory=list)
    affected_skus: list[int] = field(default_factory=list)
    products: tuple[Product, ...] = ()  # the affected SKUs as the seller knows them
    checks: tuple[Check, ...] = ()
    symptom: Symptom | None = None
    at_stake: AtStake | None = None

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.rule}|{self.account}|{self.entity}".encode()).hexdigest()[:16]

    def product(self, sku: int) -> Product:
        return next((p for p in self.products if p.sku == sku), Product(sku))

    def evidence_as(self, kind: type[EvidenceT]) -> EvidenceT:
        """The evidence as the dataclass `kind` its rule makes; TypeError if it is another."""
        if not isinstance(self.evidence, kind):
            raise TypeError(f"{self.rule}: evidence is {type(self.evidence).__name__}, not {kind.__name__}")
        return self.evidence


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


def parse_day(text: str) -> date:
    """A day as ISO writes it ("2026-12-31") or as Russian sellers do ("31.12.2026"); ValueError
    for anything else."""
    text = text.strip()
    return datetime.strptime(text, "%d.%m.%Y").date() if "." in text else date.fromisoformat(text)


class Keyed(ValueError):
    """A refusal the seller reads: a message id (in monitor/i18n) and its parameters, so the rules
    stay free of texts."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(f"{key}: {params}")
        self.key, self.params = key, params


class Override(BaseModel):
    """Settings for some products: `[[rules.<name>.overrides]]` with `skus` and/or `offer_ids`,
    then `ignore = true` (products phased out or seasonal), `critical = true` (key products:
    every alert about them is critical), or any key of the rule's own table (`min_drop = 0.2`)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    skus: list[int] = []
    offer_ids: list[str] = []
    ignore: bool = False
    critical: bool = False

    @model_validator(mode="after")
    def names_products(self) -> Override:
        if not self.skus and not self.offer_ids:
            raise Keyed("config.override_products")
        return self

    def matches(self, sku: int, offer_id: str = "") -> bool:
        return sku in self.skus or bool(offer_id) and offer_id in self.offer_ids

    @property
    def settings(self) -> dict[str, Any]:
        """The rule's own keys this override sets."""
        return dict(self.model_extra or {})


class RuleConfig(BaseModel):
    """Base of every `[rules.<name>]` table: unknown keys are errors, `enabled` is common, and
    `overrides` set the rule's keys, or ignore or raise products, for some SKUs or articles."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    overrides: list[Override] = []

    @model_validator(mode="after")
    def overrides_set_known_keys(self) -> RuleConfig:
        own = set(type(self).model_fields) - {"enabled", "overrides"}
        for index, override in enumerate(self.overrides):
            unknown = sorted(set(override.settings) - own)
            if unknown:
                raise Keyed("config.override_keys", index=index, keys=", ".join(unknown),
                            valid=", ".join(sorted(own)) or "—")
            type(self)(**{**self.model_dump(exclude={"overrides"}), **override.settings})  # its values are valid
        return self

    def override(self, sku: int, offer_id: str = "") -> Override | None:
        """The first override naming the product, if any."""
        return next((o for o in self.overrides if o.matches(sku, offer_id)), None)

    def for_product(self, sku: int, offer_id: str = "") -> Any:
        """This config with the settings an override gives the product (itself when none does)."""
        found = self.override(sku, offer_id)
        return self if found is None or not found.settings else self.model_copy(update=found.settings)


@dataclass(frozen=True)
class Rule:
    name: str
    Config: type[RuleConfig]
    evaluate: Callable[[AccountData, Any], list[Finding]]
    needs_postings: bool = False  # reads "no orders" as a signal: held back while postings are stale
