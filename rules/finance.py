"""finance_anomaly: commission or logistics charges taking a larger share of sales than usual,
and a payout day that passed without a payout."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import Field

from rules.base import AccountData, Finding, Rule, RuleConfig, at_stake, finding
from rules.stats import robust_level


@dataclass(frozen=True)
class ChargeShareEvidence:
    kind: Literal["commission_share", "delivery_share"]
    day: date
    share: float
    usual_share: float
    postings: int
    sales: float
    extra_charge: float


@dataclass(frozen=True)
class PayoutMissingEvidence:
    day: date
    usual_weekday: int  # 0 = Monday
    payouts_seen: int
    usual_amount: float
    kind: Literal["payout_missing"] = "payout_missing"


class FinanceAnomalyConfig(RuleConfig):
    baseline_days: int = Field(28, ge=7, le=90)
    min_postings: int = Field(10, ge=1)
    min_increase: float = Field(0.03, gt=0, le=1)  # at least 3 percentage points of the sale price
    sigmas: float = Field(4.0, gt=0)
    payout_weeks: int = Field(5, ge=3, le=12)


SHARES: tuple[tuple[str, Literal["commission_share", "delivery_share"]], ...] = (
    ("commission", "commission_share"), ("delivery", "delivery_share"))  # MoneyDay field -> evidence kind


def finance_anomaly(data: AccountData, config: FinanceAnomalyConfig) -> list[Finding]:
    """Yesterday's commission share and delivery share against the median (and MAD) of the
    previous `baseline_days`; fires on a rise of at least `min_increase` and `sigmas` scales.
    A payout is missing when most of the last `payout_weeks` paid out on one weekday and the
    latest such day passed without a payout."""
    days = {m.day: m for m in data.money if m.postings >= config.min_postings and m.sales > 0}
    yesterday = data.local_date(data.now) - timedelta(days=1)
    findings = []
    today = yesterday
    while today not in days and (yesterday - today).days < 3:  # accruals for a day can lag a day or two
        today -= timedelta(days=1)
    if today in days:
        base = [days[today - timedelta(days=k)] for k in range(1, config.baseline_days + 1)
                if today - timedelta(days=k) in days]
        if len(base) >= config.baseline_days // 2:
            for charge, kind in SHARES:
                share = getattr(days[today], charge) / days[today].sales
                median, scale = robust_level([getattr(m, charge) / m.sales for m in base])
                if share - median >= max(config.min_increase, config.sigmas * scale):
                    findings.append(finding(
                        "finance_anomaly", data, severity="warning", entity=f"{charge}_share",
                        started_at=datetime.combine(today, datetime.min.time(), data.tz or data.now.tzinfo),
                        evidence=ChargeShareEvidence(
                            kind, today, round(share, 4), round(median, 4),
                            days[today].postings, round(days[today].sales, 2),
                            round((share - median) * days[today].sales, 2)),
                        topic="finance", checks=(),
                        at_stake=at_stake((share - median) * days[today].sales, "charged")))
    findings += _missing_payout(data, config, yesterday)
    return findings


def _missing_payout(data: AccountData, config: FinanceAnomalyConfig, yesterday) -> list[Finding]:
    start = yesterday - timedelta(weeks=config.payout_weeks)
    if data.money_since is None or data.money_since > start:
        return []
    paid = [d for d, amount in data.payouts.items() if start < d <= yesterday and amount > 0]
    if not paid:
        return []
    weekday, count = Counter(d.weekday() for d in paid).most_common(1)[0]
    if count < config.payout_weeks - 2:
        return []
    due = yesterday - timedelta(days=(yesterday.weekday() - weekday) % 7)
    if data.payouts.get(due, 0) > 0 or due <= start:
        return []
    usual = sorted(data.payouts[d] for d in paid)[len(paid) // 2]
    return [finding(
        "finance_anomaly", data, severity="warning", entity=f"payout:{due.isoformat()}",
        started_at=datetime.combine(due, datetime.min.time(), data.tz or data.now.tzinfo),
        evidence=PayoutMissingEvidence(due, weekday, count, round(usual, 2)), topic="finance", checks=(),
        at_stake=at_stake(usual, "value"))]


FINANCE_ANOMALY = Rule("finance_anomaly", FinanceAnomalyConfig, finance_anomaly)
