"""Promotions that cost money: auto_promotions (Ozon adding products to a promotion below the
seller's floor) and price_guard (the minimum price that keeps them out lapsing)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rules.base import AccountData, Finding, Price, Rule, RuleConfig, at_stake, finding

FloorBasis = Literal["floor", "cost", "min_price"]


@dataclass(frozen=True)
class UnderFloor:
    sku: int
    action_price: float
    floor: float
    basis: FloorBasis  # the seller's own floor from the config, the cost plus a margin, or Ozon's min price
    orders_per_day: float  # the product's orders a day over `sales_days`


@dataclass(frozen=True)
class AutoPromotionEvidence:
    action_id: int
    title: str
    stage: Literal["upcoming", "entered"]  # Ozon will add them on `auto_add_at`, or has added them
    auto_add_at: datetime | None
    deadline: datetime | None  # until when the seller can still take them out (None: no longer)
    ends: datetime | None
    items: tuple[UnderFloor, ...]
    loss_per_day: float  # at current sales


class CategoryFloor(BaseModel):
    """`[[rules.auto_promotions.categories]]`: a floor (rubles) or a margin over the cost for the
    products of Ozon's categories `ids` (`description_category_id`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    ids: list[int] = Field(min_length=1)
    floor: float = Field(0.0, ge=0)
    margin: float = Field(0.0, ge=0, le=10)


class AutoPromotionsConfig(RuleConfig):
    margin: float = Field(0.0, ge=0, le=10)  # the floor is the cost (net_price) times 1 + margin
    floor: float = Field(0.0, ge=0)  # rubles; set per product in an override
    lead_days: float = Field(7.0, gt=0, le=60)  # warn this long before the auto-add or freeze date
    critical_hours: float = Field(24.0, ge=0, le=240)
    sales_days: int = Field(28, ge=7, le=90)
    categories: list[CategoryFloor] = []


def floor_of(price: Price, offer_id: str, config: AutoPromotionsConfig) -> tuple[float, FloorBasis] | None:
    """The lowest price the seller can afford for a product, in this order: a floor or margin the
    config gives the product (override), its category or every product, the cost plus the
    margin, Ozon's minimum price; None when none is known."""
    own = config.override(price.sku, offer_id)
    said = dict(own.settings) if own else {}
    category = next((c for c in config.categories if price.category in c.ids), None)
    floor = said.get("floor") or (category.floor if category else 0.0) or config.floor
    if floor:
        return float(floor), "floor"
    margin = said.get("margin", category.margin if category and category.margin else config.margin)
    if price.net_price > 0:
        return price.net_price * (1 + float(margin)), "cost"
    if price.min_price > 0:
        return price.min_price, "min_price"
    return None


def auto_promotions(data: AccountData, config: AutoPromotionsConfig) -> list[Finding]:
    """One finding per promotion that Ozon will put products into (or has put them into) below
    the seller's floor: the products, the loss per unit and per day at current sales, and until
    when the seller can take them out (the auto-add date, then the freeze date)."""
    prices = {p.sku: p for p in data.prices}
    offers = {c.sku: c.offer_id for c in data.cards}
    counts = data.orders_between(data.since(config.sales_days), data.now).sku_counts()
    findings = []
    for promo in data.promotions:
        if promo.ends is not None and promo.ends <= data.now:
            continue
        for stage in ("upcoming", "entered"):
            lines = [p for p in data.promo_products if p.action_id == promo.action_id and p.entered == (stage == "entered")
                     and (stage == "entered" or (p.auto_add_at is not None and p.auto_add_at > data.now))]
            items = []
            for line in lines:
                price = prices.get(line.sku)
                floor = floor_of(price, offers.get(line.sku, ""), config) if price else None
                if floor is not None and line.action_price < floor[0] - 0.5:
                    items.append(UnderFloor(line.sku, line.action_price, round(floor[0], 2), floor[1],
                                            round(counts.get(line.sku, 0) / config.sales_days, 2)))
            if not items:
                continue
            auto_add = min((p.auto_add_at for p in lines if p.auto_add_at), default=None)
            freeze = promo.freeze_at if promo.freeze_at and promo.freeze_at > data.now else None
            deadline = (auto_add if stage == "upcoming" else None) or freeze
            if stage == "upcoming" and deadline and deadline - data.now > timedelta(days=config.lead_days):
                continue  # too early: said `lead_days` before
            items.sort(key=lambda i: -(i.floor - i.action_price) * max(i.orders_per_day, 0.01))
            loss = sum((i.floor - i.action_price) * i.orders_per_day for i in items)
            soon = deadline is not None and deadline - data.now <= timedelta(hours=config.critical_hours)
            start = (auto_add or promo.starts or data.now) if stage == "entered" else data.now  # first seen
            findings.append(finding(
                "auto_promotions", data, severity="critical" if soon else "warning",
                entity=f"promo:{promo.action_id}:{stage}", started_at=min(start, data.now),
                evidence=AutoPromotionEvidence(promo.action_id, promo.title, stage, auto_add, deadline, promo.ends,
                                               tuple(items), round(loss, 2)),
                topic=None, checks=(), affected_skus=[i.sku for i in items], at_stake=at_stake(loss, "loss_per_day")))
    return findings


AUTO_PROMOTIONS = Rule("auto_promotions", AutoPromotionsConfig, auto_promotions)


@dataclass(frozen=True)
class GuardItem:
    sku: int
    min_price: float
    expires: datetime | None  # None: already off


@dataclass(frozen=True)
class PriceGuardEvidence:
    kind: Literal["expiring", "off"]
    items: tuple[GuardItem, ...]


class PriceGuardConfig(RuleConfig):
    warn_days: float = Field(7.0, gt=0, le=30)


def price_guard(data: AccountData, config: PriceGuardConfig) -> list[Finding]:
    """Products Ozon may put into promotions by itself whose minimum price stops guarding them:
    the guard lasts 30 days after it is set and then turns off. One finding for those whose
    guard ends within `warn_days`, one for those whose guard is already off."""
    guarded = [p for p in data.prices if p.auto_actions and p.min_price > 0 and p.guard_on is not None]
    off = [GuardItem(p.sku, p.min_price, None) for p in guarded if not p.guard_on]
    horizon = data.now + timedelta(days=config.warn_days)
    expiring = [GuardItem(p.sku, p.min_price, p.guard_expires) for p in guarded
                if p.guard_on and p.guard_expires is not None and p.guard_expires <= horizon]
    findings = []
    groups: tuple[tuple[Literal["expiring", "off"], list[GuardItem]], ...] = (("expiring", expiring), ("off", off))
    for kind, items in groups:
        if not items:
            continue
        first = min((i.expires for i in items if i.expires), default=None)
        findings.append(finding(
            "price_guard", data, severity="warning", entity=f"guard:{kind}",
            started_at=first - timedelta(days=config.warn_days) if first else data.now,
            evidence=PriceGuardEvidence(kind, tuple(sorted(items, key=lambda i: (i.expires or data.now, i.sku)))),
            topic=None, checks=(), affected_skus=[i.sku for i in items]))
    return findings


PRICE_GUARD = Rule("price_guard", PriceGuardConfig, price_guard)
