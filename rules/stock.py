"""stock_out: a selling SKU about to run out (FBS from sales velocity, FBO from Ozon's own days
of cover). stock_health: FBO stock turning idle, or waiting to be taken away."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from pydantic import Field

from rules.base import AccountData, Finding, Rule, RuleConfig, at_stake, finding, order_value


@dataclass(frozen=True)
class StockOutEvidence:
    sku: int
    scheme: str  # fbs, rfbs or fbo
    available: int
    daily_sales: float
    days_of_cover: float
    warn_days: float
    runs_out_at: datetime


@dataclass(frozen=True)
class EmptyStockEvidence:
    """The selling SKUs of one scheme with nothing left: one alert for a warehouse run dry, not
    one per SKU."""

    scheme: str  # fbs, rfbs or fbo
    skus: tuple[int, ...]
    daily_sales: float  # units a day they sold together


class StockOutConfig(RuleConfig):
    warn_days: float = Field(7.0, gt=0, le=90)
    velocity_days: int = Field(14, ge=3, le=60)
    min_daily_sales: float = Field(0.3, gt=0)


def stock_out(data: AccountData, config: StockOutConfig) -> list[Finding]:
    """Days of cover below `warn_days` (warning, per SKU: each runs out on its own day) or
    nothing left of SKUs that sold recently (critical, one finding per scheme: their entity is
    the scheme, so a SKU running dry later grows that alert). FBS cover is free stock over FBS
    units sold per day in the last `velocity_days`; FBO uses Ozon's own average daily sales and
    days of cover."""
    sold: dict[tuple[int, str], float] = defaultdict(float)
    recent = data.orders_between(data.since(config.velocity_days), data.now)
    line = recent.line_posting
    kept = recent.status[line] != "cancelled"
    for sku, scheme, units in zip(recent.line_skus[kept].tolist(), recent.scheme[line][kept].tolist(),
                                  recent.quantity[line][kept].tolist()):
        sold[(sku, scheme)] += units
    findings = []
    empty: dict[str, list[tuple[int, float]]] = defaultdict(list)
    offers = {c.sku: c.offer_id for c in data.cards}
    for item in data.stocks:
        own = config.for_product(item.sku, offers.get(item.sku, ""))  # days of cover of its own, if set
        if item.scheme == "fbo":
            daily, cover = item.daily_sales or 0.0, item.days_of_cover
        else:
            daily = sold[(item.sku, item.scheme)] / config.velocity_days
            cover = item.available / daily if daily else None
        if daily < own.min_daily_sales or cover is None or cover >= own.warn_days:
            continue
        if item.available <= 0:
            empty[item.scheme].append((item.sku, daily))
            continue
        findings.append(finding(
            "stock_out", data, severity="critical" if item.available <= 0 else "warning",
            entity=f"sku:{item.sku}:{item.scheme}", started_at=data.now,
            evidence=StockOutEvidence(item.sku, item.scheme, item.available, round(daily, 2), round(cover, 1),
                                      own.warn_days, data.now + timedelta(days=cover)),
            topic=None, affected_skus=[item.sku], at_stake=at_stake(daily * order_value(data, item.sku), "per_day")))
    for scheme, gone in empty.items():
        findings.append(finding(
            "stock_out", data, severity="critical", entity=f"empty:{scheme}", started_at=data.now,
            evidence=EmptyStockEvidence(scheme, tuple(sku for sku, _ in gone), round(sum(d for _, d in gone), 2)),
            topic=None, affected_skus=[sku for sku, _ in gone],
            at_stake=at_stake(sum(d * order_value(data, sku) for sku, d in gone), "per_day")))
    return findings


STOCK_OUT = Rule("stock_out", StockOutConfig, stock_out)


@dataclass(frozen=True)
class StockHealthEvidence:
    """FBO stock that costs the seller: SKUs whose grade turned idle (one grade each finding), or
    units Ozon asks the seller to take away."""

    kind: str  # the grade (SURPLUS, NO_SALES, RESTRICTED_NO_SALES) or "removal"
    skus: tuple[int, ...]
    units: int
    value: float
    days_without_sales: int  # the longest
    excess: int = 0
    defect: int = 0
    expiring: int = 0
    waiting_docs: int = 0


class StockHealthConfig(RuleConfig):
    min_value: float = Field(3000.0, ge=0)  # rubles of stock below which it is not worth a message
    sales_days: int = Field(56, ge=28, le=120)  # a SKU turning idle counts if it sold min_orders FBO in these days
    min_orders: int = Field(8, ge=1)
    idle_days: int = Field(14, ge=1, le=120)  # a surplus counts once the SKU has not sold for this many days


def stock_health(data: AccountData, config: StockHealthConfig) -> list[Finding]:
    """FBO SKUs whose turnover grade turned to surplus or no sales this week (Ozon charges for
    storing them), one finding per grade; and units waiting to be taken away (surplus from a
    supply, defects, expiring, waiting for papers), one finding; each with units and value at the
    card's price, when worth `min_value`. A SKU turning idle counts when it sold `min_orders` FBO
    orders in `sales_days` (one that sells once a month flips between grades as a sale enters and
    leaves Ozon's 28 days), a surplus once it has not sold for `idle_days` (a fresh supply of a
    slow SKU is graded surplus until it sells down)."""
    prices = {c.sku: c.price for c in data.cards}
    fbo = [s for s in data.stocks if s.scheme == "fbo"]
    findings = []
    groups: dict[str, list] = defaultdict(list)
    recent = data.orders_between(data.since(config.sales_days), data.now)
    fbo_lines = recent.scheme[recent.line_posting] == "fbo"
    sold = dict(zip(*(a.tolist() for a in np.unique(recent.line_skus[fbo_lines], return_counts=True))))
    for item in fbo:
        idle = item.grade != "SURPLUS" or (item.days_without_sales or 0) >= config.idle_days
        if item.turned_on is not None and item.grade and idle and sold.get(item.sku, 0) >= config.min_orders:
            groups[item.grade].append(item)
    for grade, items in sorted(groups.items()):
        value = sum(i.available * prices.get(i.sku, 0.0) for i in items)
        if value < config.min_value:
            continue
        findings.append(finding(
            "stock_health", data, severity="warning", entity=f"grade:{grade}",
            started_at=data.midnight(min(i.turned_on for i in items if i.turned_on)),
            evidence=StockHealthEvidence(grade, tuple(i.sku for i in items), sum(i.available for i in items),
                                         round(value, 2), max(i.days_without_sales or 0 for i in items)),
            topic=None, checks=(), affected_skus=[i.sku for i in items], at_stake=at_stake(value, "value")))
    removal = [i for i in fbo if i.excess + i.defect + i.expiring + i.waiting_docs > 0]
    value = sum((i.excess + i.defect + i.expiring + i.waiting_docs) * prices.get(i.sku, 0.0) for i in removal)
    if removal and value >= config.min_value:
        findings.append(finding(
            "stock_health", data, severity="warning", entity="removal", started_at=data.now,
            evidence=StockHealthEvidence(
                "removal", tuple(i.sku for i in removal),
                sum(i.excess + i.defect + i.expiring + i.waiting_docs for i in removal), round(value, 2),
                max(i.days_without_sales or 0 for i in removal), sum(i.excess for i in removal),
                sum(i.defect for i in removal), sum(i.expiring for i in removal),
                sum(i.waiting_docs for i in removal)),
            topic=None, checks=(), affected_skus=[i.sku for i in removal], at_stake=at_stake(value, "value")))
    return findings


STOCK_HEALTH = Rule("stock_health", StockHealthConfig, stock_health)
