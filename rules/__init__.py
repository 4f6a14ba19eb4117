"""Detection rules: pure functions of plain data that return findings. Never imports `monitor`."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from rules.access import API_ACCESS, postings_blocked
from rules.base import (NO_TIME, AccountData, Act, ActLine, Card, Charge, FbsError, FbsIndex, Finding, MoneyDay, Order,
                        Orders, Price, PriceMove, PromoProduct, Promotion, RatingSeries, Return, Rule, RuleConfig,
                        SourceHealth, Stock, StockDay, Supply, TrafficDay)
from rules.cards import CARD_PROBLEMS, PRICE_INDEX
from rules.finance import CHARGES, FINANCE_ANOMALY, TARIFFS
from rules.logistics import CANCELLATIONS, OZON_CANCELLATIONS, SHIPMENT_DEADLINE, STUCK_IN_DELIVERY
from rules.promos import AUTO_PROMOTIONS, PRICE_GUARD
from rules.rating import RATING_RISK
from rules.returns import RETURN_DECISIONS, RETURNS_SPIKE, RETURNS_STORAGE
from rules.sales import SALES_DROP, SALES_STOPPED, TRAFFIC_DROP, fold_into_causes
from rules.stock import STOCK_HEALTH, STOCK_OUT
from rules.supplies import ACCEPTANCE_ACTS, SUPPLIES_STUCK

RULES: dict[str, Rule] = {rule.name: rule for rule in (
    SALES_DROP, SALES_STOPPED, TRAFFIC_DROP, RETURNS_SPIKE, CANCELLATIONS, SHIPMENT_DEADLINE, STUCK_IN_DELIVERY,
    STOCK_OUT, RATING_RISK, CARD_PROBLEMS, FINANCE_ANOMALY, API_ACCESS, CHARGES, RETURN_DECISIONS, RETURNS_STORAGE,
    STOCK_HEALTH, PRICE_INDEX, TARIFFS, OZON_CANCELLATIONS, AUTO_PROMOTIONS, PRICE_GUARD, ACCEPTANCE_ACTS,
    SUPPLIES_STUCK)}
# A SKU's sales stopping is the symptom when its stock ran out or its card was blocked: the
# cause is reported, the symptom is not (a shop's fall its causes explain is folded into them).
SYMPTOMS = {"sales_stopped": ("stock_out", "card_problems"), "sales_drop": ("stock_out", "card_problems")}


@dataclass
class RuleRun:
    ran: set[str] = field(default_factory=set)  # rules whose verdict stands (their open alerts may resolve)
    findings: list[Finding] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # rule -> the exception, for the log


def run_rules(data: AccountData, configs: dict[str, Any], checked_at: datetime | None = None) -> RuleRun:
    """Run every enabled rule on `data`. A rule that crashes is reported and counts as not run,
    so it cannot silence the others or resolve its own alerts. Rules that read the postings feed
    are held back (also as not run) while that feed is failing, stale or was never synced. `checked_at` is the
    wall clock for api_access; `data.now` is how far the data reaches."""
    result = RuleRun()
    for name, rule in RULES.items():
        config = configs[name]
        if not config.enabled:
            continue
        subject = replace(data, now=checked_at) if name == "api_access" and checked_at else data
        try:
            result.findings += rule.evaluate(subject, config)
        except Exception as exc:  # a bug in one rule must not silence the others
            result.errors[name] = f"{type(exc).__name__}: {exc}"
            continue
        result.ran.add(name)
    if data.history_since is None or postings_blocked(result.findings):  # no postings: not "no sales"
        held = {name for name, rule in RULES.items() if rule.needs_postings}
        result.findings = [f for f in result.findings if f.rule not in held]
        result.ran -= held
    causes = {(f.rule, sku) for f in result.findings for sku in f.affected_skus}
    result.findings = [f for f in result.findings if not (f.rule in SYMPTOMS and f.entity.startswith("sku:") and any(
        (cause, sku) in causes for cause in SYMPTOMS[f.rule] for sku in f.affected_skus))]
    result.findings = fold_into_causes(data, result.findings, configs["sales_drop"].min_drop)
    result.findings = [f for f in (by_product(f, configs[f.rule], data) for f in result.findings) if f is not None]
    return result


def by_product(finding: Finding, config: RuleConfig, data: AccountData) -> Finding | None:
    """A finding about products as their overrides say: products ignored are left out (the
    finding goes when none is left), and one about a key product is critical."""
    if not config.overrides or not finding.entity.startswith(("sku:", "cause:")):
        return finding
    offers = {c.sku: c.offer_id for c in data.cards}
    said = {sku: o for sku in finding.affected_skus if (o := config.override(sku, offers.get(sku, ""))) is not None}
    kept = [sku for sku in finding.affected_skus if not (sku in said and said[sku].ignore)]
    if not kept:
        return None
    if len(kept) < len(finding.affected_skus):
        finding = replace(finding, affected_skus=kept, products=tuple(p for p in finding.products if p.sku in kept))
    if any(sku in said and said[sku].critical for sku in kept):
        finding = replace(finding, severity="critical")
    return finding


__all__ = ["NO_TIME", "RULES", "AccountData", "Act", "ActLine", "Card", "Charge", "FbsError", "FbsIndex", "Finding",
           "MoneyDay", "Order", "Orders", "Price", "PriceMove", "PromoProduct", "Promotion", "RatingSeries", "Return", "Rule",
           "RuleRun", "SourceHealth", "Stock", "StockDay", "Supply", "TrafficDay", "run_rules"]
