"""A seeded, deterministic model of one Ozon seller: products, demand, postings, returns, stock,
ratings and money over time.

Orders are generated per UTC hour from `(seed, hour)`, so any span of history can be produced
on demand, the same every time, and the world keeps going as the clock moves. Demand follows a
weekday and time-of-day profile (Moscow time), varies day to day more than Poisson noise would,
and spreads over SKUs with a long tail. Everything else (status, returns, stock, index, accruals)
is a function of the orders and the moment asked about. Incidents from a scenario bend the
world, and each one records its ground truth.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ConfigDict, TypeAdapter, ValidationError

from monitor.config import ConfigError, invalid, read_toml
from monitor.texts import Said

MSK = timezone(timedelta(hours=3))
HOUR = 3600
# Share of a day's orders by Moscow hour: quiet at night, peaks at lunch and in the evening.
HOUR_PROFILE = np.array([1.2, 0.7, 0.4, 0.3, 0.3, 0.5, 1.2, 2.4, 3.8, 4.8, 5.3, 5.5, 5.6, 5.5, 5.3,
                         5.2, 5.3, 5.6, 6.0, 6.4, 6.6, 6.2, 4.8, 2.9])
HOUR_PROFILE = HOUR_PROFILE / HOUR_PROFILE.sum()
WEEKDAY_FACTOR = np.array([1.05, 1.0, 0.98, 0.97, 0.93, 1.0, 1.07])  # Monday first
CATEGORIES = ["Товары для дома", "Одежда", "Электроника", "Красота", "Детские товары", "Спорт"]
RETURN_REASONS = ["Не подошёл размер", "Не понравилось качество", "Товар не соответствует описанию",
                  "Брак или повреждение", "Передумал покупать"]
RETURN_REASON_WEIGHTS = np.array([0.3, 0.25, 0.15, 0.1, 0.2])
BASE_RETURN_RATE = 0.04
BASE_CANCEL_RATE = 0.03  # a third of them by the seller
BASE_COMMISSION = 0.15
RESUPPLY_DAYS = 14
SAFETY_STOCK = 12  # units on top of the cover, so a normal seller never runs dry between supplies
VIEWS_PER_UNIT, TOCART_PER_UNIT, SESSIONS_PER_UNIT = 40, 4, 25  # traffic behind each unit ordered
HANDOVER_HOURS = 20  # normal hand-over to delivery after the order
SHIPMENT_DEADLINE_HOURS = 24

# Irregular demand: Russian public holidays and sales days (month, day) -> demand factor.
HOLIDAYS = {(1, 1): 0.4, (1, 2): 0.6, (1, 3): 0.7, (1, 4): 0.8, (1, 5): 0.8, (1, 6): 0.8, (1, 7): 0.6,
            (1, 8): 0.8, (2, 23): 0.8, (3, 8): 0.7, (5, 1): 0.7, (5, 9): 0.6, (6, 12): 0.8, (11, 4): 0.8,
            (11, 11): 2.5, (12, 31): 0.5}
DEMANDS = ("regular", "irregular")
# A return's status -> (the name the cabinet shows, Ozon's id).
RETURN_STATUSES = {"ReceivedBySeller": ("Получен продавцом", 9), "ArrivedAtReturnPlace": ("Прибыл в место возврата", 4),
                   "OnSellerApproval": ("На согласовании у продавца", 33),
                   "CompensationRejectedBySla": ("Компенсация отклонена: истёк срок ответа", 41)}
# Accrual types as /v1/finance/accrual/types names them (ids are the simulator's own).
ACCRUAL_TYPES = {1: "Логистика", 2: "Размещение товаров на складах Ozon",
                 3: "Штраф за нарушение сроков отгрузки", 4: "Продвижение: оплата за клик"}
FINE_TYPE, STORAGE_TYPE = 3, 2


INCIDENT_KINDS = {
    "sales_stop": "orders of all or the listed SKUs stop (factor 0)",
    "sales_drop": "orders of all or the listed SKUs fall to `factor` of normal",
    "returns_spike": "listed SKUs are returned at `rate` with `reason` dominant",
    "late_shipments": "FBS postings are handed over `delay_hours` after their deadline",
    "seller_cancellations": "the seller cancels `rate` of FBS postings",
    "stock_out": "listed SKUs are not resupplied: `days_left` days of stock, then none",
    "card_blocked": "listed SKUs' cards fail moderation for `moderation` and stop selling",
    "rating_slide": "`rating` moves towards its danger threshold, reaching it in `days` days",
    "commission_jump": "the commission share of sales becomes `factor`",
    "key_expiry": "the API key expires `days_left` days after start",
    "traffic_drop": "listed SKUs' views and add-to-carts fall to `factor` (the card dropped from search)",
    "lost_parcels": "`rate` of postings handed over after start are never delivered",
    "charges": "`rate` of the postings delivered each day after start are fined `amount` rubles each",
    "return_decisions": "`rate` of returns after start wait for the seller's decision; unanswered for a day, "
                        "Ozon rejects their compensation",
    "returns_storage": "returns after start are not collected: paid storage starts a day after they arrive, "
                       "disposal is planned `days_left` days after",
    "stock_health": "listed SKUs' FBO stock turns SURPLUS, with `amount` units of surplus to take away",
    "price_index": "listed SKUs' price index turns RED: competitors sell at `factor` of the price",
    "tariffs": "listed SKUs' commission rises by `points` percentage points",
    "ozon_cancellations": "Ozon cancels `rate` of the postings placed after start",
    "fbo_stuck_delivering": "`rate` of FBO postings placed after start never arrive (stay delivering)",
    "auto_promotions": "the promotions whose auto-add date falls after start take the listed SKUs (or all the "
                       "products Ozon picks) at `factor` (0.4) of their price, below the seller's minimum price and cost",
    "price_guard": "the minimum price of the listed SKUs (or of all guarded products) is not renewed: its guard "
                   "ends `days_left` days after start",
    "acceptance_acts": "supplies accepted after start get an act of shortage (`rate` of each SKU's units) that "
                       "waits `days_left` days for the seller; with `scheme = \"fbs\"`, FBS hand-overs get an act of "
                       "mismatch to sign",
    "supplies_stuck": "supplies shipped between start and end stay in transit",
}


@dataclass(frozen=True)
class Incident:
    """A scripted problem; `start` is ISO-8601 or hours relative to the world's clock ("-6h")."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # a misspelt key in a scenario file is said

    kind: str
    start: datetime
    end: datetime | None = None
    skus: tuple[int, ...] = ()
    factor: float = 0.0
    rate: float = 0.3
    reason: str = RETURN_REASONS[2]
    delay_hours: float = 30.0
    days_left: float = 3.0
    rating: str = "rating_on_time"
    days: float = 10.0
    moderation: str = "фотографии не соответствуют товару"  # card_blocked: the reason moderation gives
    amount: float = 500.0  # charges: rubles per fine; stock_health: surplus units
    points: float = 3.0  # tariffs: commission percentage points added
    scheme: str = "fbo"  # acceptance_acts: FBO supplies or FBS hand-overs

    def active(self, moment: datetime, sku: int | None = None) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end) \
            and (sku is None or not self.skus or sku in self.skus)

    def truth(self) -> dict[str, Any]:
        """What happened, to what, and when: the ground truth benchmarks score against."""
        detail: dict[str, dict[str, Any]] = {"sales_drop": {"factor": self.factor}, "returns_spike": {"rate": self.rate, "reason": self.reason},
                  "late_shipments": {"delay_hours": self.delay_hours}, "seller_cancellations": {"rate": self.rate},
                  "stock_out": {"days_left": self.days_left}, "rating_slide": {"rating": self.rating, "days": self.days},
                  "commission_jump": {"factor": self.factor}, "key_expiry": {"days_left": self.days_left},
                  "traffic_drop": {"factor": self.factor}, "lost_parcels": {"rate": self.rate},
                  "charges": {"rate": self.rate, "amount": self.amount}, "return_decisions": {"rate": self.rate},
                  "returns_storage": {"days_left": self.days_left}, "stock_health": {"amount": self.amount},
                  "price_index": {"factor": self.factor}, "tariffs": {"points": self.points},
                  "ozon_cancellations": {"rate": self.rate}, "fbo_stuck_delivering": {"rate": self.rate},
                  "auto_promotions": {"factor": self.factor}, "price_guard": {"days_left": self.days_left},
                  "acceptance_acts": {"rate": self.rate, "days_left": self.days_left, "scheme": self.scheme}}
        return {"kind": self.kind, "start": self.start.isoformat(), "end": self.end.isoformat() if self.end else None,
                "skus": list(self.skus), **detail.get(self.kind, {})}


@dataclass(frozen=True)
class Fault:
    """Injected API misbehaviour for the next `times` calls of `method` ("*" for any).
    `kind` is a shorthand: "auth" (key rejected), "blocked" (the seller's company is blocked),
    "missing_role", "gone" (method switched off),
    "malformed" (truncated JSON), "extra_fields" (unknown fields added), "timeout" (no answer
    for `delay` seconds, by default longer than the client's default 30 s timeout); otherwise `status` with an optional `retry_after` header and `body`."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    method: str = "*"
    kind: str = ""
    status: int = 500
    times: int = 1
    retry_after: float | None = None
    body: str | None = None
    delay: float = 0.0


@dataclass
class Scenario:
    __pydantic_config__ = ConfigDict(extra="forbid")

    seed: int = 1
    client_id: int = 123456
    api_key: str = "demo-key"
    skus: int = 300
    orders_per_day: float = 200.0
    fbo_share: float = 0.4
    day_noise: float = 0.12  # coefficient of variation of daily demand beyond Poisson
    demand: str = "regular"  # or "irregular": demand as uneven as real shops' (see docs/SIMULATOR.md)
    history_days: int = 70
    subscription: str = "PREMIUM_LITE"
    key_valid_days: float = 150.0  # from the world's clock, unless a key_expiry incident says otherwise
    incidents: list[Incident] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)


SCENARIO = TypeAdapter(Scenario)


def load_scenario(path: Path | None, now: datetime, seed: int | None = None) -> Scenario:
    """Read a scenario TOML (see docs/SIMULATOR.md; none: the defaults); relative incident times
    count from `now`. Raises ConfigError naming the file and key of every problem."""
    scenario = _read_scenario(path, now) if path else Scenario()
    if seed is not None:
        scenario.seed = seed
    return scenario


def _read_scenario(path: Path, now: datetime) -> Scenario:
    data = read_toml(path)
    incidents = data.get("incidents")
    problems = []
    for index, raw in enumerate(incidents if isinstance(incidents, list) else []):
        if not isinstance(raw, dict):
            continue  # not a table: said by the validation below
        if "kind" in raw and raw["kind"] not in INCIDENT_KINDS:
            problems.append(Said("config.at", where=f"incidents[{index}].kind",
                                 what=Said("scenario.kind", valid=", ".join(INCIDENT_KINDS))))
        for key in ("start", "end"):
            try:
                if raw.get(key) is not None:
                    raw[key] = _moment(raw[key], now)
            except ValueError:
                problems.append(Said("config.at", where=f"incidents[{index}].{key}", what=Said("scenario.time")))
    if problems:
        raise ConfigError([Said("config.in_file", path=path, what=problem) for problem in problems])
    try:
        return SCENARIO.validate_python(data)
    except ValidationError as exc:
        raise invalid(path, exc, "docs/SIMULATOR.md") from None


def _moment(value: Any, now: datetime) -> datetime:
    """ISO-8601, or a time relative to `now` in minutes, hours or days: "-90m", "-6h", "-3d";
    ValueError for anything else."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str):
        raise ValueError(value)
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if value[-1:] in units and value[:-1].lstrip("+-").replace(".", "").isdigit():
        return now + timedelta(**{units[value[-1]]: float(value[:-1])})
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Product:
    product_id: int
    sku: int
    offer_id: str
    name: str
    price: float
    weight: float  # share of demand
    archived: bool
    stock_days: float  # cover after a resupply
    resupply_phase: float  # days into the resupply cycle at the epoch


@dataclass(frozen=True)
class SimOrder:
    posting_number: str
    order_number: str
    order_id: int
    scheme: str  # "fbs" or "fbo"
    created_at: datetime
    sku: int
    quantity: int
    u_thin: float  # uniforms that decide incidents' effects, fixed per order
    u_cancel: float
    u_return: float
    cancel_hours: float  # when a cancellation happens, after creation
    delivery_hours: float  # from hand-over to delivered
    return_days: float  # from delivery to the return
    reason_index: int


@dataclass(frozen=True)
class Rating:
    rating: str
    name: str
    group: str
    value_type: str
    higher_is_better: bool
    base: float
    warning: float
    danger: float
    premium: float


RATINGS = (
    Rating("rating_on_time", "Доставка вовремя", "Логистика", "PERCENT", True, 97.5, 93.0, 90.0, 97.0),
    Rating("rating_review_avg_score_total", "Средняя оценка товаров", "Отзывы", "REVIEW_SCORE", True,
           4.7, 4.0, 3.5, 4.5),
    Rating("rating_general_indicator_fbs_rfbs", "Индекс ошибок FBS и rFBS", "Логистика", "PERCENT", False,
           1.2, 4.0, 10.0, 2.0),
    Rating("rating_average_response_time", "Среднее время ответа", "Коммуникация", "TIME", False,
           3600.0, 18000.0, 43200.0, 7200.0),
    Rating("rating_replied_dialogs_ratio", "Диалоги с ответом за 24 часа", "Коммуникация", "PERCENT", True,
           96.0, 85.0, 80.0, 95.0),
)


@dataclass(frozen=True)
class Accrued:
    order: SimOrder
    delivered: datetime
    sale: float
    commission: float
    delivery: float

    @property
    def net(self) -> float:
        return self.sale - self.commission - self.delivery


@dataclass(frozen=True)
class Status:
    """An order as seen at a moment: its status, when that began, hand-over and delivery."""

    status: str
    changed_at: datetime
    handed_over: datetime | None
    delivered: datetime | None
    cancelled_by: str  # seller, buyer or ozon ("" when not cancelled)


@dataclass(frozen=True)
class SimPromotion:
    """A weekly promotion: Ozon adds products on Friday, the list freezes on Sunday, it runs
    Monday to Sunday."""

    action_id: int
    title: str
    start: datetime
    end: datetime
    auto_add_at: datetime
    freeze_at: datetime


@dataclass(frozen=True)
class SimAct:
    act_id: int
    kind: str
    state: str
    created: datetime
    deadline: datetime
    lines: tuple[tuple[int, int, int], ...]  # (sku, declared, accepted)

    @property
    def number(self) -> str:
        return f"АКТ-{self.act_id}"


@dataclass(frozen=True)
class SimSupply:
    """A weekly FBO supply order (one supply) and where it stands at a moment."""

    order_id: int
    number: str
    created: datetime
    state: str
    since: datetime
    items: tuple[tuple[int, int], ...]  # (sku, quantity)
    act: SimAct | None

    @property
    def supply_id(self) -> int:
        return self.order_id + 1_000_000

    @property
    def bundle_id(self) -> str:
        return f"bundle-{self.order_id}"


FIRST_MONDAY = datetime(2026, 1, 5, tzinfo=MSK)  # weeks of promotions and supplies count from here
DROP_OFF = "Кросс-докинг Москва"  # where every supply is handed over
PROMO_SHARE = 50  # one product in this many is picked for each promotion
PROMO_PRICE, MIN_PRICE, NET_PRICE = 0.9, 0.8, 0.5  # shares of the price: Ozon's pick, the seller's floor, the cost
GUARD_DAYS, RENEW_DAYS = 30, 20  # the minimum price guards 30 days; the seller renews it every 20


class Irregular:
    """Demand as uneven as real shops': each SKU's day varies as a negative binomial (gamma
    level of CV 0.5-1.2 a day), the shop's day by 25%, a trend of -30% to +60% a year,
    shop-wide promotions of 2-5x for 2-4 days (in one week of ten) and SKU promotions, public
    holidays and sales days, a third of shops closed on Sundays, 0.5% bulk orders of 10-50
    units, and a tenth of the SKUs launched late or dying out."""

    def __init__(self, seed: int, skus: int) -> None:
        rng = np.random.default_rng([seed, 77])
        self.seed = seed
        self.sku_shape = rng.uniform(0.7, 4.0, skus)  # gamma shape: daily CV 1/sqrt(shape)
        self.trend = rng.uniform(-0.3, 0.6) / 365  # per day
        self.closed_sundays = rng.random() < 1 / 3
        self.launch = np.where(rng.random(skus) < 0.1, rng.integers(20_400, 20_700, skus), 0)  # local day numbers
        self.death = np.where(rng.random(skus) < 0.1, rng.integers(20_400, 20_700, skus), 1 << 30)
        self._days: dict[int, tuple[float, np.ndarray]] = {}

    def day(self, day: int, weights: np.ndarray) -> tuple[float, np.ndarray]:
        """(factor on the shop's orders, SKU probabilities) for a local day (days since 1970)."""
        if day in self._days:
            return self._days[day]
        rng = np.random.default_rng([self.seed, day, 78])
        moment = date(1970, 1, 1) + timedelta(days=day)
        factor = rng.gamma(16.0, 1 / 16.0) * math.exp(self.trend * (day - 20_400))
        factor *= HOLIDAYS.get((moment.month, moment.day), 1.0)
        if self.closed_sundays and moment.weekday() == 6:
            factor = 0.0
        week_rng = np.random.default_rng([self.seed, (day + 3) // 7, 79])  # a promotion in one week of ten
        if week_rng.random() < 0.1:
            first, length = int(week_rng.integers(0, 7)), int(week_rng.integers(2, 5))
            if first <= (day + 3) % 7 < first + length:
                factor *= week_rng.uniform(2.0, 5.0)
        sku = rng.gamma(self.sku_shape, 1 / self.sku_shape)
        promoted = rng.random(len(weights)) < 0.01  # a SKU promotion starts; lasts its day (and is rare)
        sku[promoted] *= rng.uniform(2.0, 5.0, int(promoted.sum()))
        life = np.where(day < self.launch, 0.0, 1.0) * 0.5 ** (np.maximum(day - self.death, 0) / 7)
        mixed = weights * sku * life
        total = mixed.sum()
        self._days[day] = (factor * total / max(weights.sum(), 1e-12), mixed / total if total > 0 else weights)
        return self._days[day]


class World:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        rng = np.random.default_rng(scenario.seed)
        weights = 1 / np.arange(1, scenario.skus + 1) ** 1.1  # long tail: a few SKUs sell most
        rng.shuffle(weights)
        archived = rng.random(scenario.skus) < 0.02
        weights[archived] = 0
        prices = np.round(np.exp(rng.normal(7.0, 0.8, scenario.skus)), -1)
        base_sku = 1_400_000_000 + int(rng.integers(0, 10_000_000))
        stock_days = rng.uniform(30, 60, scenario.skus)
        phases = rng.uniform(0, RESUPPLY_DAYS, scenario.skus)
        self.products = [
            Product(product_id=800_000_000 + i * 7, sku=base_sku + i * 37, offer_id=f"ART-{i + 1:04d}",
                    name=f"{CATEGORIES[i % len(CATEGORIES)]} — модель {i + 1}", price=float(max(prices[i], 90)),
                    weight=float(weights[i] / weights.sum()), archived=bool(archived[i]),
                    stock_days=float(stock_days[i]), resupply_phase=float(phases[i]))
            for i in range(scenario.skus)
        ]
        self._weights = np.array([p.weight for p in self.products])
        self.by_sku = {p.sku: p for p in self.products}
        self.by_product_id = {p.product_id: p for p in self.products}
        self._incidents: dict[str, list[Incident]] = {}
        for incident in scenario.incidents:
            self._incidents.setdefault(incident.kind, []).append(incident)
        self._timelines: dict[str, tuple[datetime | None, str, datetime, datetime]] = {}
        self._settled: dict[date, list[Accrued]] = {}
        self._hours: dict[int, tuple[SimOrder, ...]] = {}  # a world's history is deterministic: compute once
        self._raw_hours: dict[int, tuple[SimOrder, ...]] = {}
        self._stock_cache: tuple[datetime | None, dict[tuple[int, str], int]] = (None, {})
        if scenario.demand not in DEMANDS:
            raise ValueError(f"demand must be one of {', '.join(DEMANDS)}, not {scenario.demand!r}")
        self._irregular = Irregular(scenario.seed, scenario.skus) if scenario.demand == "irregular" else None

    def ground_truth(self) -> list[dict[str, Any]]:
        return [i.truth() for i in self.scenario.incidents]

    def incidents(self, kind: str) -> list[Incident]:
        return self._incidents.get(kind, [])

    # --- orders ----------------------------------------------------------------------------

    def daily_units(self, sku: int) -> float:
        return self.scenario.orders_per_day * self.by_sku[sku].weight * 1.15  # 15% of orders carry 2 units

    def orders(self, start: datetime, end: datetime, now: datetime) -> list[SimOrder]:
        """Every order placed in [start, end) that exists at `now`, oldest first."""
        end = min(end, now)
        if end <= start:
            return []
        first, last = math.floor(start.timestamp() / HOUR), math.floor((end.timestamp() - 1e-6) / HOUR)
        found = []
        for hour in range(first, last + 1):
            found += [o for o in self._hour(hour) if start <= o.created_at < end]
        return found

    def _hour(self, hour: int) -> tuple[SimOrder, ...]:
        """The hour's orders after incidents: demand cuts, blocked cards, stock running out."""
        if hour in self._hours:
            return self._hours[hour]
        kept = []
        for order in self._raw_hour(hour):
            if order.u_thin >= self._demand_factor(order.sku, order.created_at):
                continue
            if order.scheme == "fbs" and any(i.active(order.created_at, order.sku) for i in self.incidents("stock_out")) \
                    and self._stock_out_left(order.sku, order.created_at) < order.quantity:
                continue
            kept.append(order)
        self._hours[hour] = tuple(kept)
        return self._hours[hour]

    def _raw_hour(self, hour: int) -> tuple[SimOrder, ...]:
        """Demand as it would be without incidents."""
        if hour in self._raw_hours:
            return self._raw_hours[hour]
        s = self.scenario
        moment = datetime.fromtimestamp(hour * HOUR, tz=timezone.utc)
        local = moment.astimezone(MSK)
        day = int((hour * HOUR + 3 * HOUR) // 86400)
        day_rng = np.random.default_rng([s.seed, day, 1])
        shape = 1 / max(s.day_noise, 1e-6) ** 2
        day_level = day_rng.gamma(shape, 1 / shape)
        rate = s.orders_per_day * WEEKDAY_FACTOR[local.weekday()] * HOUR_PROFILE[local.hour] * day_level
        weights = self._weights
        if self._irregular is not None:
            factor, weights = self._irregular.day(day, self._weights)
            rate *= factor
        rng = np.random.default_rng([s.seed, hour])
        count = int(rng.poisson(rate))
        seconds = np.sort(rng.uniform(0, HOUR, count))
        skus = rng.choice(len(self.products), size=count, p=weights)
        u = rng.random((count, 6))
        orders = []
        for i in range(count):
            order_number = f"{hour % 10**10:010d}-{i + 1:04d}"
            orders.append(SimOrder(
                posting_number=f"{order_number}-1", order_number=order_number, order_id=hour * 10_000 + i,
                scheme="fbo" if u[i, 0] < s.fbo_share else "fbs",
                created_at=moment + timedelta(seconds=float(seconds[i])), sku=self.products[int(skus[i])].sku,
                quantity=(1 if u[i, 1] < 0.85 else 2) if self._irregular is None or u[i, 1] < 0.995
                else 10 + int(40 * (u[i, 1] - 0.995) / 0.005), u_thin=float(u[i, 2]), u_cancel=float(u[i, 3]),
                u_return=float(u[i, 4]), cancel_hours=0.2 + 19.8 * float(u[i, 5]),
                delivery_hours=float(rng.gamma(4, 12)), return_days=float(rng.uniform(1, 10)),
                reason_index=int(rng.choice(len(RETURN_REASONS), p=RETURN_REASON_WEIGHTS)),
            ))
        self._raw_hours[hour] = tuple(orders)
        return self._raw_hours[hour]

    def _demand_factor(self, sku: int, moment: datetime) -> float:
        factor = 1.0
        for incident in self.scenario.incidents:
            if incident.kind in ("sales_stop", "sales_drop") and incident.active(moment, sku):
                factor *= incident.factor
            elif incident.kind == "card_blocked" and incident.active(moment, sku):
                factor = 0.0
        return factor

    def _stock_out_left(self, sku: int, moment: datetime) -> float:
        """FBS units left of a SKU that is no longer resupplied, before an order at `moment`."""
        incident = next(i for i in self.incidents("stock_out") if i.active(moment, sku))
        sold = sum(o.quantity for o in self._demanded(sku, incident.start, moment) if o.scheme == "fbs")
        return incident.days_left * self.daily_units(sku) * (1 - self.scenario.fbo_share) - sold

    def _demanded(self, sku: int, start: datetime, end: datetime) -> list[SimOrder]:
        first, last = math.floor(start.timestamp() / HOUR), math.floor(end.timestamp() / HOUR)
        return [o for h in range(first, last + 1) for o in self._raw_hour(h)
                if o.sku == sku and start <= o.created_at < end and o.u_thin < self._demand_factor(sku, o.created_at)]

    # --- lifecycle -------------------------------------------------------------------------

    def status(self, order: SimOrder, now: datetime) -> Status:
        cancel_at, by, handover, delivered = self._timeline(order)
        created = order.created_at
        if cancel_at is not None and now >= cancel_at:
            return Status("cancelled", cancel_at, None, None, by)
        if now >= delivered:
            return Status("delivered", delivered, handover, delivered, "")
        if now >= handover:
            return Status("delivering", handover, handover, None, "")
        packed = created + timedelta(hours=2)
        if now >= packed:
            return Status("awaiting_deliver", packed, None, None, "")
        return Status("awaiting_packaging", created, None, None, "")

    def _timeline(self, order: SimOrder) -> tuple[datetime | None, str, datetime, datetime]:
        """(cancelled at, by whom, handed over at, delivered at): fixed once the order exists."""
        known = self._timelines.get(order.posting_number)
        if known is not None:
            return known
        created = order.created_at
        seller_cancel = order.scheme == "fbs" and any(
            i.active(created) and order.u_cancel < i.rate for i in self.incidents("seller_cancellations"))
        ozon_cancel = not seller_cancel and any(
            i.active(created) and order.u_cancel > 1 - i.rate for i in self.incidents("ozon_cancellations"))
        cancelled = seller_cancel or ozon_cancel or order.u_cancel < BASE_CANCEL_RATE
        by = "ozon" if ozon_cancel else "seller" if seller_cancel or (cancelled and order.order_id % 3 == 0) \
            else "buyer" if cancelled else ""
        handover = created + timedelta(hours=HANDOVER_HOURS)
        if order.scheme == "fbs":
            for incident in self.incidents("late_shipments"):
                if incident.active(created):
                    handover = self.shipment_deadline(order) + timedelta(hours=incident.delay_hours)
        lost = any(i.active(handover) and order.u_return < i.rate for i in self.incidents("lost_parcels")) or any(
            i.active(created) and order.scheme == "fbo" and order.u_return < i.rate
            for i in self.incidents("fbo_stuck_delivering"))
        delivered = handover + (timedelta(days=3650) if lost else timedelta(hours=order.delivery_hours))
        timeline = (created + timedelta(hours=order.cancel_hours) if cancelled else None, by, handover, delivered)
        self._timelines[order.posting_number] = timeline
        return timeline

    @staticmethod
    def shipment_deadline(order: SimOrder) -> datetime:
        return order.created_at + timedelta(hours=SHIPMENT_DEADLINE_HOURS)

    # --- returns ---------------------------------------------------------------------------

    def return_of(self, order: SimOrder, now: datetime) -> tuple[datetime, str] | None:
        """(return date, reason) if the order has come back by `now`."""
        delivered = self.status(order, now).delivered
        if delivered is None:
            return None
        rate, reason = BASE_RETURN_RATE, RETURN_REASONS[order.reason_index]
        for incident in self.incidents("returns_spike"):
            if incident.active(order.created_at, order.sku):
                rate = incident.rate
                if order.u_return < incident.rate * 0.8:  # the incident's reason dominates
                    reason = incident.reason
        if order.u_return >= rate:
            return None
        returned = delivered + timedelta(days=order.return_days)
        return (returned, reason) if returned <= now else None

    # --- stock -----------------------------------------------------------------------------

    def stock(self, sku: int, scheme: str, now: datetime) -> int:
        """Units in stock: filled up every RESUPPLY_DAYS, drawn down by sales in between; a
        stock_out incident stops resupply."""
        return self.stock_levels(now).get((sku, scheme), 0)

    def stock_levels(self, now: datetime) -> dict[tuple[int, str], int]:
        """Every SKU's stock per scheme at `now`, in one pass over the last resupply period. Kept
        for the rest of that minute (a frozen clock sees no difference), so a catalogue read 100
        SKUs a request on the real clock does not redo it per request."""
        minute = now.replace(second=0, microsecond=0)
        if self._stock_cache[0] == minute:
            return self._stock_cache[1]
        last_resupply = {p.sku: now - timedelta(days=(now.timestamp() / 86400 + p.resupply_phase) % RESUPPLY_DAYS)
                         for p in self.products}
        sold: dict[tuple[int, str], int] = {}
        for order in self.orders(now - timedelta(days=RESUPPLY_DAYS), now, now):
            if order.created_at >= last_resupply[order.sku]:
                key = (order.sku, order.scheme)
                sold[key] = sold.get(key, 0) + order.quantity
        levels = {}
        for product in self.products:
            for scheme in ("fbs", "fbo"):
                share = self.scenario.fbo_share if scheme == "fbo" else 1 - self.scenario.fbo_share
                full = int(product.stock_days * self.daily_units(product.sku) * share) + SAFETY_STOCK
                levels[(product.sku, scheme)] = 0 if product.archived else max(0, full - sold.get((product.sku, scheme), 0))
        for incident in self.incidents("stock_out"):
            for sku in incident.skus if incident.active(now) else ():
                levels[(sku, "fbs")] = max(0, int(self._stock_out_left(sku, now)))
        self._stock_cache = (minute, levels)
        return levels

    # --- cards -----------------------------------------------------------------------------

    def card_problem(self, sku: int, now: datetime) -> Incident | None:
        """The latest moderation decision on the card (a later one replaces the reason)."""
        return max((i for i in self.incidents("card_blocked") if i.active(now, sku)), key=lambda i: i.start,
                   default=None)

    # --- rating ----------------------------------------------------------------------------

    def rating_value(self, rating: Rating, day: date) -> float:
        noise = np.random.default_rng([self.scenario.seed, day.toordinal(), RATINGS.index(rating)]).normal(0, 1)
        spread = abs(rating.warning - rating.base) * 0.08
        value = rating.base + noise * spread
        for incident in self.incidents("rating_slide"):
            moment = datetime.combine(day, datetime.min.time(), MSK) + timedelta(hours=12)
            if incident.rating == rating.rating and incident.active(moment):
                elapsed = (moment - incident.start).total_seconds() / 86400
                value += (rating.danger - rating.base) * min(1.2, elapsed / incident.days)
        return round(value, 2)

    @staticmethod
    def rating_status(rating: Rating, value: float) -> str:
        worse = (lambda a, b: a <= b) if rating.higher_is_better else (lambda a, b: a >= b)
        return "CRITICAL" if worse(value, rating.danger) else "WARNING" if worse(value, rating.warning) else "OK"

    # --- money -----------------------------------------------------------------------------

    def accruals(self, day: date, now: datetime) -> list[Accrued]:
        """Postings delivered on `day` (Moscow) and what they accrue: the sale, the commission and
        the delivery charge. A day wholly in the past never changes, so it is computed once."""
        start = datetime.combine(day, datetime.min.time(), MSK)
        settled = start + timedelta(days=1) <= now
        if settled and day in self._settled:
            return self._settled[day]
        found = []
        for order in self.orders(start - timedelta(days=12), start + timedelta(days=1), now):
            cancel_at, _, _, delivered = self._timeline(order)  # what `status` says of it, without the rest
            if start <= delivered < start + timedelta(days=1) and delivered <= now \
                    and (cancel_at is None or now < cancel_at):
                sale = self.by_sku[order.sku].price * order.quantity
                found.append(Accrued(order, delivered, sale, round(sale * self.commission_ratio(delivered), 2),
                                     round(60 + sale * 0.02, 2)))
        found.sort(key=lambda a: a.order.order_id)
        if settled:
            self._settled[day] = found
        return found

    def payout(self, day: date, now: datetime) -> float:
        """Payouts go out on Wednesdays: what the previous seven days accrued."""
        if day.weekday() != 2:
            return 0.0
        return sum(a.net for back in range(1, 8) for a in self.accruals(day - timedelta(days=back), now))

    def traffic(self, sku: int, day: date) -> tuple[float, float]:
        """(views, add-to-carts) of a SKU on a day: its usual demand times ~40 views a unit, with
        10% day-to-day noise, unless a traffic_drop incident cut it."""
        noon = datetime.combine(day, datetime.min.time(), MSK) + timedelta(hours=12)
        factor = float(np.random.default_rng([self.scenario.seed, day.toordinal(), sku % 100_003]).lognormal(0, 0.1))
        for incident in self.incidents("traffic_drop"):
            if incident.active(noon, sku):
                factor *= incident.factor
        views = round(self.daily_units(sku) * VIEWS_PER_UNIT * factor)
        return views, round(views * TOCART_PER_UNIT / VIEWS_PER_UNIT)

    def commission_ratio(self, moment: datetime) -> float:
        ratio = BASE_COMMISSION
        for incident in self.incidents("commission_jump"):
            if incident.active(moment):
                ratio = incident.factor
        return ratio

    # --- money leaks ---------------------------------------------------------------------

    def fined(self, accrued: Accrued) -> float:
        """The fine a charges incident puts on a delivered posting (0: none)."""
        u = (accrued.order.order_id * 7919 % 1000) / 1000
        return next((i.amount for i in self.incidents("charges") if i.active(accrued.delivered) and u < i.rate), 0.0)

    def storage_charge(self, day: date) -> float:
        """What FBO storage costs on a day: about 20 rubles per daily order, 10% day to day."""
        noise = float(np.random.default_rng([self.scenario.seed, day.toordinal(), 91]).lognormal(0, 0.1))
        return round(self.scenario.orders_per_day * 20 * noise, 2)

    def return_state(self, order: SimOrder, returned: datetime, now: datetime) -> tuple[str, datetime]:
        """(Ozon's status, since when) of a return: collected by the seller three days after it
        arrived, unless an incident keeps it waiting for a decision or at the pick-up place."""
        if any(i.active(returned) and order.u_thin < i.rate for i in self.incidents("return_decisions")):
            deadline = returned + timedelta(hours=24)
            return ("OnSellerApproval", returned) if now < deadline else ("CompensationRejectedBySla", deadline)
        received = returned + timedelta(days=3)
        if received <= now and not self.left_at_place(returned):
            return "ReceivedBySeller", received
        return "ArrivedAtReturnPlace", returned

    def left_at_place(self, returned: datetime) -> Incident | None:
        return next((i for i in self.incidents("returns_storage") if i.active(returned)), None)

    def turnover_grade(self, sku: int, now: datetime, days_of_cover: float, sold: bool) -> tuple[str, int]:
        """(Ozon's FBO turnover grade, units of surplus to take away) of a SKU."""
        if any(i.active(now, sku) for i in self.incidents("stock_health")):
            return "SURPLUS", int(next(i.amount for i in self.incidents("stock_health") if i.active(now, sku)))
        grade = "NO_SALES" if not sold else "DEFICIT" if days_of_cover <= 28 else "POPULAR" if days_of_cover <= 56 \
            else "ACTUAL" if days_of_cover <= 120 else "SURPLUS"
        return grade, 0

    def price_index(self, sku: int, now: datetime) -> tuple[str, float]:
        """(colour of the price index, competitors' lowest price): stable per SKU unless an
        incident makes the competitors cheaper."""
        product = self.by_sku[sku]
        incident = next((i for i in self.incidents("price_index") if i.active(now, sku)), None)
        if incident is not None:
            return "RED", round(product.price * (incident.factor or 0.8), 2)
        return ("SUPER" if sku % 2 else "GREEN"), round(product.price * 1.05, 2)

    def commission_percent(self, sku: int, now: datetime) -> float:
        return 100 * BASE_COMMISSION + sum(i.points for i in self.incidents("tariffs") if i.active(now, sku))

    def key_expires_at(self, now: datetime) -> datetime:
        for incident in self.incidents("key_expiry"):
            if incident.active(now):
                return incident.start + timedelta(days=incident.days_left)
        return now + timedelta(days=self.scenario.key_valid_days)

    # --- promotions, prices and supplies -------------------------------------------------

    def promotions(self, now: datetime) -> list[SimPromotion]:
        """The weekly promotions running or starting within two weeks."""
        week = int((now - FIRST_MONDAY).total_seconds() // (7 * 86400))
        found = []
        for k in range(week, week + 3):
            start = FIRST_MONDAY + timedelta(days=7 * k)
            if start <= now + timedelta(days=14):
                found.append(SimPromotion(70_000 + k, f"Неделя скидок {start:%d.%m}", start,
                                          start + timedelta(days=7, seconds=-1), start - timedelta(days=3, hours=-10),
                                          start - timedelta(days=1)))
        return found

    def promo_lines(self, promo: SimPromotion, now: datetime) -> list[tuple[Product, float]]:
        """The products Ozon picks for a promotion and at what price, as known at `now`: a little
        under the price, above the seller's floor, unless an auto_promotions incident (begun by
        `now`) pushes them below."""
        picked = [p for i, p in enumerate(self.products) if i % PROMO_SHARE == 0 and not p.archived]
        incident = next((i for i in self.incidents("auto_promotions")
                         if i.active(promo.auto_add_at) and i.start <= now), None)
        if incident is None:
            return [(p, float(round(p.price * PROMO_PRICE))) for p in picked]
        hit = [self.by_sku[s] for s in incident.skus if s in self.by_sku] or picked
        return [(p, float(round(p.price * (incident.factor or 0.4)))) for p in hit] + \
            [(p, float(round(p.price * PROMO_PRICE))) for p in picked if p not in hit]

    def floor_prices(self, product: Product) -> tuple[float, float]:
        """(minimum price, cost) the seller gave: every product has a minimum price, one in two
        a cost."""
        index = (product.product_id - 800_000_000) // 7
        return float(round(product.price * MIN_PRICE)), float(round(product.price * NET_PRICE)) if index % 2 else 0.0

    def auto_actions(self, product: Product) -> bool:
        """Two products in three may be put into promotions by Ozon (and every one it picks)."""
        index = (product.product_id - 800_000_000) // 7
        return index % 3 != 2 or index % PROMO_SHARE == 0

    def price_guard(self, product: Product, now: datetime) -> tuple[bool, datetime | None]:
        """(the minimum price guards the product, until when): renewed every 20 days for 30,
        unless a price_guard incident stopped the renewals."""
        if not self.auto_actions(product):
            return False, None
        incident = next((i for i in self.incidents("price_guard") if i.active(now, product.sku)), None)
        if incident is not None:
            ends = incident.start + timedelta(days=incident.days_left)
            return (True, ends) if now < ends else (False, None)
        day = now.astimezone(MSK).date()
        renewed = datetime.combine(day - timedelta(days=(day.toordinal() + product.product_id) % RENEW_DAYS),
                                   datetime.min.time(), MSK)
        return True, renewed + timedelta(days=GUARD_DAYS)

    def supplies(self, now: datetime) -> list[SimSupply]:
        """The daily supply orders of the last five weeks: made at 10:00, shipped the next day,
        accepted two days later (an act of acceptance), done the day after; incidents keep one
        in transit or give it an act of shortage that waits for the seller."""
        top = sorted((p for p in self.products if not p.archived), key=lambda p: -p.weight)[:5]
        items = tuple((p.sku, round(self.daily_units(p.sku) * 2) + 5) for p in top)
        today = now.astimezone(MSK).date()
        found = []
        for back in range(35, -1, -1):
            day = today - timedelta(days=back)
            created = datetime.combine(day, datetime.min.time(), MSK) + timedelta(hours=10)
            if created > now:
                break
            k = day.toordinal() - FIRST_MONDAY.date().toordinal()
            shipped, accepted, done = (created + timedelta(days=d) for d in (1, 3, 4))
            act = SimAct(80_000 + k, "ACCEPTANCE", "ACCEPTED", accepted, done, tuple((s, q, q) for s, q in items))
            stuck = next((i for i in self.incidents("supplies_stuck") if i.active(shipped)), None)
            disputed = next((i for i in self.incidents("acceptance_acts")
                             if i.scheme == "fbo" and i.active(accepted)), None)
            steps = [("READY_TO_SUPPLY", created), ("IN_TRANSIT", shipped), ("ACCEPTANCE_AT_STORAGE_WAREHOUSE", accepted),
                     ("COMPLETED", done)]
            if stuck is not None:
                steps = steps[:2]
            elif disputed is not None:
                deadline = done + timedelta(days=disputed.days_left)
                act = SimAct(80_000 + k, "SHORTCOMING", "AWAITING_APPROVAL_BY_SELLER" if now < deadline else "ACCEPTED",
                             done, deadline, tuple((s, q, q - max(1, round(q * disputed.rate))) for s, q in items))
                steps = steps[:3] + [("REPORTS_CONFIRMATION_AWAITING", done), ("COMPLETED", deadline)]
            state, since = [(name, at) for name, at in steps if at <= now][-1]
            found.append(SimSupply(60_000 + k, f"2000{60_000 + k}", created, state, since, items,
                                   act if now >= act.created else None))
        return found

    def fbs_acts(self, since: datetime, to: datetime, now: datetime) -> list[tuple[int, datetime, str]]:
        """(id, departure, status of its act of mismatch) of the daily FBS hand-overs at 14:00."""
        found: list[tuple[int, datetime, str]] = []
        day = since.astimezone(MSK).date()
        while True:
            departure = datetime.combine(day, datetime.min.time(), MSK) + timedelta(hours=14)
            if departure > min(to, now):
                return found
            if departure >= since:
                incident = next((i for i in self.incidents("acceptance_acts")
                                 if i.scheme == "fbs" and i.active(departure)), None)
                signed = incident is None or now >= departure + timedelta(days=incident.days_left)
                found.append((90_000_000 + day.toordinal(), departure,
                              ("CONFIRMED" if signed else "NEED_TO_SIGN") if incident else ""))
            day += timedelta(days=1)
