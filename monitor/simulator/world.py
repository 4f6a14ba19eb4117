"""A seeded, deterministic model of one Ozon seller: products, demand and postings over time.

Orders are generated per UTC hour from `(seed, hour)`, so any span of history can be produced
on demand, the same every time, and the world keeps going as the clock moves. Demand follows a
weekday and time-of-day profile (Moscow time), varies day to day more than Poisson noise would,
and spreads over SKUs with a long tail. Incidents from a scenario bend it, and each one records
its ground truth.
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

MSK = timezone(timedelta(hours=3))
HOUR = 3600
# Share of a day's orders by Moscow hour: quiet at night, peaks at lunch and in the evening.
HOUR_PROFILE = np.array([1.2, 0.7, 0.4, 0.3, 0.3, 0.5, 1.2, 2.4, 3.8, 4.8, 5.3, 5.5, 5.6, 5.5, 5.3,
                         5.2, 5.3, 5.6, 6.0, 6.4, 6.6, 6.2, 4.8, 2.9])
HOUR_PROFILE = HOUR_PROFILE / HOUR_PROFILE.sum()
WEEKDAY_FACTOR = np.array([1.05, 1.0, 0.98, 0.97, 0.93, 1.0, 1.07])  # Monday first
CATEGORIES = ["Товары для дома", "Одежда", "Электроника", "Красота", "Детские товары", "Спорт"]


@dataclass(frozen=True)
class Incident:
    """A scripted problem. `kind`: sales_stop (factor 0) or sales_drop (factor < 1), for all SKUs
    or the listed ones; `start` is ISO-8601 or hours relative to the world's clock ("-6h")."""

    kind: str
    start: datetime
    end: datetime | None = None
    factor: float = 0.0
    skus: tuple[int, ...] = ()

    def truth(self) -> dict[str, Any]:
        return {"kind": self.kind, "start": self.start.isoformat(), "end": self.end.isoformat() if self.end else None,
                "skus": list(self.skus), "factor": self.factor}


@dataclass(frozen=True)
class Fault:
    """Injected API misbehaviour: answer `method` (or every method with "*") with `status` for
    the next `times` calls; `retry_after` adds the header; `body` replaces the JSON body."""

    method: str = "*"
    status: int = 500
    times: int = 1
    retry_after: float | None = None
    body: str | None = None
    delay: float = 0.0


@dataclass
class Scenario:
    seed: int = 1
    client_id: int = 123456
    api_key: str = "demo-key"
    skus: int = 300
    orders_per_day: float = 200.0
    fbo_share: float = 0.4
    day_noise: float = 0.12  # coefficient of variation of daily demand beyond Poisson
    history_days: int = 70
    incidents: list[Incident] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)


def load_scenario(path: Path | None, now: datetime, seed: int | None = None) -> Scenario:
    """Read a scenario TOML (see docs/SIMULATOR.md); relative incident times count from `now`."""
    data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8")) if path else {}
    incidents = [Incident(kind=i["kind"], start=_moment(i["start"], now),
                          end=_moment(i["end"], now) if i.get("end") else None,
                          factor=float(i.get("factor", 0.0)), skus=tuple(i.get("skus", ())))
                 for i in data.pop("incidents", [])]
    faults = [Fault(**f) for f in data.pop("faults", [])]
    scenario = Scenario(**data, incidents=incidents, faults=faults)
    if seed is not None:
        scenario.seed = seed
    return scenario


def _moment(value: str | datetime, now: datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if value.endswith("h") and value[:-1].lstrip("+-").replace(".", "").isdigit():
        return now + timedelta(hours=float(value[:-1]))
    return datetime.fromisoformat(value)


@dataclass(frozen=True)
class Product:
    sku: int
    offer_id: str
    name: str
    price: float
    weight: float  # share of demand


@dataclass(frozen=True)
class SimOrder:
    posting_number: str
    order_number: str
    order_id: int
    scheme: str  # "fbs" or "fbo"
    created_at: datetime
    sku: int
    quantity: int
    cancel_after_hours: float | None  # cancelled this long after creation, if at all
    delivery_hours: float  # from hand-over to delivered


class World:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        rng = np.random.default_rng(scenario.seed)
        weights = 1 / np.arange(1, scenario.skus + 1) ** 1.1  # long tail: a few SKUs sell most
        rng.shuffle(weights)
        prices = np.round(np.exp(rng.normal(7.0, 0.8, scenario.skus)), -1)
        base_sku = 1_400_000_000 + int(rng.integers(0, 10_000_000))
        self.products = [
            Product(sku=base_sku + i * 37, offer_id=f"ART-{i + 1:04d}",
                    name=f"{CATEGORIES[i % len(CATEGORIES)]} — модель {i + 1}", price=float(max(prices[i], 90)),
                    weight=float(weights[i] / weights.sum()))
            for i in range(scenario.skus)
        ]
        self._weights = np.array([p.weight for p in self.products])
        self.by_sku = {p.sku: p for p in self.products}

    def ground_truth(self) -> list[dict[str, Any]]:
        return [i.truth() for i in self.scenario.incidents]

    def orders(self, start: datetime, end: datetime, now: datetime) -> list[SimOrder]:
        """Every order placed in [start, end) that exists at `now`, oldest first."""
        end = min(end, now)
        first, last = math.floor(start.timestamp() / HOUR), math.floor((end.timestamp() - 1e-6) / HOUR)
        found = []
        for hour in range(first, last + 1):
            found += [o for o in self._hour(hour) if start <= o.created_at < end]
        return found

    @lru_cache(maxsize=20_000)
    def _hour(self, hour: int) -> tuple[SimOrder, ...]:
        s = self.scenario
        moment = datetime.fromtimestamp(hour * HOUR, tz=timezone.utc)
        local = moment.astimezone(MSK)
        day = int((hour * HOUR + 3 * HOUR) // 86400)
        day_rng = np.random.default_rng([s.seed, day, 1])
        shape = 1 / max(s.day_noise, 1e-6) ** 2
        day_level = day_rng.gamma(shape, 1 / shape)
        rate = s.orders_per_day * WEEKDAY_FACTOR[local.weekday()] * HOUR_PROFILE[local.hour] * day_level
        rng = np.random.default_rng([s.seed, hour])
        count = int(rng.poisson(rate))
        minutes = np.sort(rng.uniform(0, HOUR, count))
        skus = rng.choice(len(self.products), size=count, p=self._weights)
        orders = []
        for i in range(count):
            created = moment + timedelta(seconds=float(minutes[i]))
            product = self.products[int(skus[i])]
            if rng.random() >= self._demand_factor(product.sku, created):
                continue
            order_number = f"{hour % 10**10:010d}-{i + 1:04d}"
            cancelled = rng.random() < 0.03
            orders.append(SimOrder(
                posting_number=f"{order_number}-1", order_number=order_number, order_id=hour * 10_000 + i,
                scheme="fbo" if rng.random() < s.fbo_share else "fbs", created_at=created, sku=product.sku,
                quantity=1 if rng.random() < 0.85 else 2,
                cancel_after_hours=float(rng.uniform(0.2, 20)) if cancelled else None,
                delivery_hours=float(rng.gamma(4, 12)),
            ))
        return tuple(orders)

    def _demand_factor(self, sku: int, moment: datetime) -> float:
        factor = 1.0
        for incident in self.scenario.incidents:
            if incident.kind in ("sales_stop", "sales_drop") and incident.start <= moment \
                    and (incident.end is None or moment < incident.end) and (not incident.skus or sku in incident.skus):
                factor *= incident.factor
        return factor


def lifecycle(order: SimOrder, now: datetime) -> tuple[str, datetime, datetime | None]:
    """(status, last status change, hand-over time) of an order as seen at `now`."""
    created = order.created_at
    if order.cancel_after_hours is not None and now >= created + timedelta(hours=order.cancel_after_hours):
        return "cancelled", created + timedelta(hours=order.cancel_after_hours), None
    steps = [("awaiting_packaging", created), ("awaiting_deliver", created + timedelta(hours=2)),
             ("delivering", created + timedelta(hours=20)),
             ("delivered", created + timedelta(hours=20 + order.delivery_hours))]
    status, changed = next((name, at) for name, at in reversed(steps) if at <= now)
    handed = steps[2][1] if now >= steps[2][1] else None
    return status, changed, handed
