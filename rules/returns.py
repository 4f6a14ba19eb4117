"""returns_spike: recent orders coming back more than this account's (or SKU's) own return rate
explains. return_decisions: returns waiting for the seller's answer before Ozon decides.
returns_storage: returns at a pick-up place charged for storage or heading for disposal."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
from pydantic import Field

from rules.base import AccountData, Finding, Return, Rule, RuleConfig, at_stake, finding, order_value
from rules.stats import high_count_p_value

DAMAGE_WORDS = ("брак", "поврежд", "damage", "defect")
PRIOR_ORDERS = 20  # a SKU's own history is thin: its rate is shrunk towards the account's


@dataclass(frozen=True)
class ReturnsSpikeEvidence:
    sku: int | None  # None: the whole shop
    returns: int
    expected: float  # returns due by now at the usual rate, given the orders' ages
    orders: int
    cohort_days: int
    usual_rate: float
    p_value: float
    top_reason: str
    top_reason_share: float
    reasons: dict[str, int]


class ReturnsSpikeConfig(RuleConfig):
    cohort_days: int = Field(14, ge=3, le=60)  # orders placed this recently are watched
    mature_days: int = Field(16, ge=7, le=60)  # orders older than this have had time to come back
    min_returns: int = Field(4, ge=1)
    min_ratio: float = Field(2.0, gt=1)
    alpha: float = Field(1e-3, gt=0, lt=0.5)  # for the account and all its SKUs together
    dispersion: float = Field(0.05, ge=0, le=1)


def returns_spike(data: AccountData, config: ReturnsSpikeConfig) -> list[Finding]:
    """Returns are late signals: an order comes back days after delivery. So the recent orders
    (the cohort) are compared with what the account's history says should have come back *by
    their age*: the usual return rate, from orders old enough for all returns to have arrived,
    times the share of returns that usually arrive within that age. That catches a spike from
    its first returns instead of waiting a week for a window of return dates to fill up.
    Judged for the account and for each SKU; names the dominant return reason."""
    mature_end = data.now - timedelta(days=config.mature_days)
    if data.history_since is None or mature_end - data.history_since < timedelta(days=7):
        return []
    postings, now = data.orders, data.now.timestamp()
    returns = [r for r in data.returns if r.returned_at < data.now]
    matched = [(r, int(i)) for r, i in zip(returns, postings.index_of([r.posting_number for r in returns])) if i >= 0]
    placed = postings.created
    mature = data.orders_between(data.history_since, mature_end)
    mature_returns = [i for _, i in matched if placed[i] < mature_end.timestamp()]
    delays = np.sort([r.returned_at.timestamp() - placed[i] for r, i in matched if placed[i] < mature_end.timestamp()])
    if len(delays) < 10:
        return []  # too few returns to know how long they take

    cohort_start = data.now - timedelta(days=config.cohort_days)
    cohort = data.orders_between(cohort_start, data.now)
    arrived = (np.searchsorted(delays, now - cohort.created, "right") / len(delays)).tolist()  # share of returns due by each age
    cohort_returns = [(r, i) for r, i in matched if placed[i] >= cohort_start.timestamp()]
    account_rate = len(mature_returns) / max(len(mature), 1)
    skus = sorted({r.sku for r, _ in cohort_returns})
    tests = len(skus) + 1
    # Grouped once by SKU, so the cost is one pass over the orders, not one per SKU judged.
    watched = set(skus)
    mature_orders = {sku: len(at) for sku, at in mature.with_skus(skus).items()}
    mature_back = Counter(s for i in mature_returns for s in set(postings.skus_of(i)) & watched)
    cohort_of = cohort.with_skus(skus)
    back_of: dict[int, list[Return]] = {sku: [] for sku in skus}
    for r, i in cohort_returns:
        if r.sku in postings.skus_of(i):
            back_of[r.sku].append(r)

    def judge(entity: str, sku: int | None) -> Finding | None:
        if sku is None:
            rate, orders, back = account_rate, np.arange(len(cohort)), [r for r, _ in cohort_returns]
        else:
            rate = (mature_back[sku] + PRIOR_ORDERS * account_rate) / (mature_orders[sku] + PRIOR_ORDERS)
            orders, back = cohort_of[sku], back_of[sku]
        expected = rate * sum(arrived[i] for i in orders)
        p_value = high_count_p_value(len(back), expected, config.dispersion)
        if len(back) < max(config.min_returns, config.min_ratio * expected) or p_value >= config.alpha / tests:
            return None
        return _finding(data, config, entity, sku, back, len(orders), expected, rate, p_value)

    account = judge("account", None)
    per_sku = [hit for sku in skus if (hit := judge(f"sku:{sku}", sku))]
    if account and any(hit.evidence_as(ReturnsSpikeEvidence).returns > 0.5 * account.evidence_as(ReturnsSpikeEvidence).returns
                       for hit in per_sku):
        account = None  # one SKU makes the account spike: report it once, on the SKU
    return ([account] if account else []) + per_sku


def _finding(data: AccountData, config: ReturnsSpikeConfig, entity: str, sku: int | None, back: list[Return],
             orders: int, expected: float, rate: float, p_value: float) -> Finding:
    reasons = Counter(r.reason for r in back)
    reason, count = reasons.most_common(1)[0]
    started: datetime = min(r.returned_at for r in back)
    return finding(
        "returns_spike", data, severity="warning", entity=entity, started_at=started,
        evidence=ReturnsSpikeEvidence(sku, len(back), round(expected, 1), orders, config.cohort_days,
                                      round(rate, 3), p_value, reason, round(count / len(back), 2),
                                      dict(reasons.most_common(5))),
        topic="logistics" if any(word in reason.lower() for word in DAMAGE_WORDS) else None,
        affected_postings=sorted(r.posting_number for r in back),
        affected_skus=[sku] if sku else sorted({r.sku for r in back}),
        at_stake=at_stake(len(back) * order_value(data, sku), "value"))


RETURNS_SPIKE = Rule("returns_spike", ReturnsSpikeConfig, returns_spike)


# Ozon's return statuses that wait for the seller: Ozon decides itself when the seller does not
# answer within a day.
AWAITING_SELLER = ("OnSellerApproval", "OnSellerClarification", "OnSellerClarificationAfterPartialCompensation",
                   "OfferedPartialCompensation", "CompensationOffered")
LOST_BY_SLA = "CompensationRejectedBySla"
DECISION_HOURS = 24
# Where a return is over for the seller: taken, disposed of, compensated, refused or cancelled.
RETURN_OVER = ("ReceivedBySeller", "Utilized", "Utilizing", "MoneyReturned", "ReturnCompensated", "Cancelled",
               "Rejected", "CrmRejected", "MoneyReturnedBySystem", "PartialCompensationReturned", LOST_BY_SLA,
               "CompensationRejectedBySeller", "CancelledDisputeNotOpen")


@dataclass(frozen=True)
class ReturnDecisionsEvidence:
    kind: Literal["waiting", "lost"]
    returns: int
    value: float
    hours_left: float  # waiting: of the most urgent one's day; lost: 0
    deadline: datetime | None  # waiting: when Ozon decides on the most urgent one
    statuses: tuple[str, ...]  # Ozon's names of the statuses, as shown in the cabinet


class ReturnDecisionsConfig(RuleConfig):
    warn_hours: float = Field(6.0, gt=0, le=24)  # critical with less time left than this
    lost_days: int = Field(7, ge=1, le=60)  # compensations lost by the deadline this recently are reported


def return_decisions(data: AccountData, config: ReturnDecisionsConfig) -> list[Finding]:
    """Returns waiting for the seller's decision (approve, clarify, accept a compensation), with
    the hours left of Ozon's 24-hour window: Ozon decides for a seller who does not answer. And
    compensations Ozon turned down because the seller did not answer in time: money lost."""
    waiting = sorted((r for r in data.returns if r.status in AWAITING_SELLER and r.changed_at is not None),
                     key=lambda r: r.changed_at or data.now)
    findings = []
    if waiting:
        deadline = (waiting[0].changed_at or data.now) + timedelta(hours=DECISION_HOURS)
        left = max(0.0, (deadline - data.now).total_seconds() / 3600)
        value = sum(r.value for r in waiting)
        findings.append(finding(
            "return_decisions", data, severity="critical" if left < config.warn_hours else "warning",
            entity="waiting", started_at=waiting[0].changed_at or data.now,
            evidence=ReturnDecisionsEvidence("waiting", len(waiting), round(value, 2), round(left, 1), deadline,
                                             tuple(dict.fromkeys(r.status_name or r.status for r in waiting))),
            topic=None, checks=(), affected_postings=[r.posting_number for r in waiting],
            affected_skus=list(dict.fromkeys(r.sku for r in waiting)), at_stake=at_stake(value, "value")))
    lost = [r for r in data.returns if r.status == LOST_BY_SLA and r.changed_at is not None
            and data.now - r.changed_at <= timedelta(days=config.lost_days)]
    if lost:
        value = sum(r.value for r in lost)
        findings.append(finding(
            "return_decisions", data, severity="warning", entity="lost",
            started_at=min(r.changed_at or data.now for r in lost),
            evidence=ReturnDecisionsEvidence("lost", len(lost), round(value, 2), 0.0, None,
                                             tuple(dict.fromkeys(r.status_name or r.status for r in lost))),
            topic="finance", checks=(), affected_postings=[r.posting_number for r in lost],
            affected_skus=list(dict.fromkeys(r.sku for r in lost)), at_stake=at_stake(value, "value")))
    return findings


RETURN_DECISIONS = Rule("return_decisions", ReturnDecisionsConfig, return_decisions)


@dataclass(frozen=True)
class ReturnsStorageEvidence:
    place: str
    returns: int
    value: float  # of the goods that would be lost
    storage: float  # storage already charged
    disposal_at: datetime | None  # the earliest planned disposal
    paid_since: datetime | None  # the earliest start of paid storage


class ReturnsStorageConfig(RuleConfig):
    warn_days: float = Field(5.0, gt=0, le=60)  # disposal planned within this many days
    critical_days: float = Field(2.0, ge=0, le=60)


def returns_storage(data: AccountData, config: ReturnsStorageConfig) -> list[Finding]:
    """Returns waiting at a pick-up place whose paid storage has begun or that Ozon plans to
    dispose of within `warn_days`: one finding per place, with the storage already charged,
    the value to be lost and the earliest disposal date."""
    horizon = data.now + timedelta(days=config.warn_days)
    by_place: dict[str, list[Return]] = defaultdict(list)
    for r in data.returns:
        if r.status in RETURN_OVER:
            continue
        if (r.disposal_at is not None and r.disposal_at <= horizon) or \
                (r.storage_since is not None and r.storage_since <= data.now):
            by_place[r.place].append(r)
    findings = []
    for place, waiting in sorted(by_place.items()):
        disposal = min((r.disposal_at for r in waiting if r.disposal_at), default=None)
        paid = min((r.storage_since for r in waiting if r.storage_since), default=None)
        value = sum(r.value for r in waiting)
        soon = disposal is not None and disposal - data.now <= timedelta(days=config.critical_days)
        findings.append(finding(
            "returns_storage", data, severity="critical" if soon else "warning", entity=f"place:{place}",
            started_at=min(m for m in (paid, disposal - timedelta(days=config.warn_days) if disposal else None)
                           if m is not None),
            evidence=ReturnsStorageEvidence(place, len(waiting), round(value, 2),
                                            round(sum(r.storage_rubles for r in waiting), 2), disposal, paid),
            topic=None, checks=(), affected_postings=[r.posting_number for r in waiting],
            affected_skus=list(dict.fromkeys(r.sku for r in waiting)), at_stake=at_stake(value, "value")))
    return findings


RETURNS_STORAGE = Rule("returns_storage", ReturnsStorageConfig, returns_storage)
