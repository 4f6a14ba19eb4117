"""stock_out: a selling SKU about to run out (FBS from sales velocity, FBO from Ozon's own days
of cover)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

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
