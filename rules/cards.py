"""card_problems: product cards that failed, were declined by moderation, carry errors, were
archived by Ozon or made unavailable, with Ozon's own reason text. price_index: selling SKUs
whose price index turned unfavourable."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from pydantic import Field

from rules.base import AccountData, Card, Finding, Rule, RuleConfig, at_stake, finding


@dataclass(frozen=True)
class CardProblemsEvidence:
    """Cards with one problem for one reason: one alert for a moderation decision that blocked
    58 cards, not 58. The status fields are the first card's (the same reason, the same status)."""

    skus: tuple[int, ...]
    kinds: tuple[str, ...]  # declined, unavailable, errors, autoarchived
    status: str
    status_name: str
    moderate_status: str
    status_failed: str
    reasons: tuple[str, ...]  # why Ozon made it unavailable, in Ozon's words
    errors: tuple[str, ...]


class CardProblemsConfig(RuleConfig):
    include_warnings: bool = True  # cards with errors that do not stop sales, and auto-archived ones


def card_problems(data: AccountData, config: CardProblemsConfig) -> list[Finding]:
    """One finding per cause: the cards with the same problems for the same reasons in Ozon's
    words are one finding (its entity is the reason, so a card joining later grows that alert);
    critical when the cards cannot sell (failed, declined, unavailable)."""
    groups: dict[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]], list[Card]] = {}
    for card in data.cards:
        if card.archived and not card.autoarchived:
            continue  # archived by the seller: a choice, not a problem
        kinds = []
        if card.status_failed or card.moderate_status == "declined":
            kinds.append("declined")
        if card.unavailable_reasons:
            kinds.append("unavailable")
        if card.errors:
            kinds.append("errors")
        if card.autoarchived:
            kinds.append("autoarchived")
        blocking = {"declined", "unavailable"} & set(kinds)
        if not kinds or (not blocking and not config.include_warnings):
            continue
        groups.setdefault((tuple(kinds), card.unavailable_reasons, card.errors), []).append(card)
    findings = []
    for (problems, reasons, errors), cards in groups.items():
        first = cards[0]
        cause = hashlib.sha256("|".join([*problems, *reasons, *errors, first.status_failed]).encode()).hexdigest()[:12]
        findings.append(finding(
            "card_problems", data, severity="critical" if {"declined", "unavailable"} & set(problems) else "warning",
            entity=f"cause:{cause}", started_at=min(c.changed_at or data.now for c in cards),
            evidence=CardProblemsEvidence(tuple(c.sku for c in cards), problems, first.status, first.status_name,
                                          first.moderate_status, first.status_failed, reasons, errors),
            topic="technical", affected_skus=[c.sku for c in cards]))
    return findings


CARD_PROBLEMS = Rule("card_problems", CardProblemsConfig, card_problems)


@dataclass(frozen=True)
class PriceIndexItem:
    sku: int
    was: str  # SUPER or GREEN
    now: str  # YELLOW or RED
    price: float
    competitor_price: float | None  # the lowest price elsewhere, when Ozon gives one
    orders: int  # in the last `sales_days`


@dataclass(frozen=True)
class PriceIndexEvidence:
    items: tuple[PriceIndexItem, ...]
    sales_days: int
    orders: int


class PriceIndexConfig(RuleConfig):
    sales_days: int = Field(28, ge=7, le=90)
    min_orders: int = Field(3, ge=1)  # SKUs that sold at least this often in `sales_days`


def price_index(data: AccountData, config: PriceIndexConfig) -> list[Finding]:
    """Selling SKUs whose price index turned unfavourable (from SUPER or GREEN to YELLOW or RED)
    this week: Ozon shows them less. One finding lists them, with the competitors' lowest price,
    the gap in rubles and the orders at stake."""
    cards = {c.sku: c for c in data.cards}
    moved = {m.sku: m for m in data.price_moves if m.color_index and m.sku in cards}
    if not moved:
        return []
    recent = data.orders_between(data.since(config.sales_days), data.now)
    counts = recent.sku_counts()
    items = [PriceIndexItem(sku, m.color_index, cards[sku].color_index, cards[sku].price, cards[sku].competitor_price,
                            counts.get(sku, 0))
             for sku, m in moved.items() if counts.get(sku, 0) >= config.min_orders]
    if not items:
        return []
    items.sort(key=lambda i: -i.orders)
    orders = sum(i.orders for i in items)
    value = sum(i.orders * i.price for i in items) / config.sales_days
    since = min(moved[i.sku].day for i in items) + timedelta(days=1)
    return [finding(
        "price_index", data, severity="warning", entity="index",
        started_at=data.midnight(since),
        evidence=PriceIndexEvidence(tuple(items), config.sales_days, orders), topic=None, checks=(),
        affected_skus=[i.sku for i in items], at_stake=at_stake(value, "per_day"))]


PRICE_INDEX = Rule("price_index", PriceIndexConfig, price_index)
