"""finance_anomaly: commission or logistics charges taking a larger share of sales than usual,
and a payout day that passed without a payout. charges: fines, and other charges above their
usual level. tariffs: a SKU's commission or logistics changed on its card."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from pydantic import Field

from rules.base import AccountData, Charge, Finding, Rule, RuleConfig, at_stake, finding
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
                        started_at=data.midnight(today),
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
        started_at=data.midnight(due),
        evidence=PayoutMissingEvidence(due, weekday, count, round(usual, 2)), topic="finance", checks=(),
        at_stake=at_stake(usual, "value"))]


FINANCE_ANOMALY = Rule("finance_anomaly", FinanceAnomalyConfig, finance_anomaly)


FINE_WORDS = ("штраф", "недовлож", "декомпенсац", "неустойк", "нарушени", "penalty", "fine")


@dataclass(frozen=True)
class FineEvidence:
    """The charges of one fine type in the last days, each with the posting or supply it is for."""

    name: str  # Ozon's name of the type
    lines: tuple[tuple[date, str, float], ...]  # (day, posting/supply/contract, rubles), oldest first
    total: float
    kind: Literal["fine"] = "fine"


@dataclass(frozen=True)
class ChargeLevelEvidence:
    """A day's total of one kind of charge (storage, a service, advertising) against its usual."""

    name: str  # "" while Ozon's names of the types cannot be read
    type_id: int | None
    day: date
    total: float
    usual: float  # the usual day's total (or the highest when it is charged only now and then)
    kind: Literal["charge_level"] = "charge_level"


class ChargesConfig(RuleConfig):
    fine_words: list[str] = list(FINE_WORDS)  # a charge whose type name holds one of these is a fine
    new_days: int = Field(7, ge=1, le=30)  # fines dated this recently are reported
    baseline_days: int = Field(28, ge=7, le=34)
    min_ratio: float = Field(2.0, gt=1)  # a day's total this many times its usual
    min_rubles: float = Field(1000.0, ge=0)  # and at least this much above it


def charges(data: AccountData, config: ChargesConfig) -> list[Finding]:
    """Fines (a type whose name holds one of `fine_words`) of the last `new_days`, one finding
    per type with every posting or supply charged; and any other charge whose latest day's
    total is `min_ratio` times its usual day and `min_rubles` above it (storage, services,
    advertising). The usual day is the median over `baseline_days` of a type charged on most
    days, the highest of one charged now and then. Types are named by Ozon's own names."""
    today = data.local_date(data.now)
    words = tuple(w.lower() for w in config.fine_words)
    fines: dict[tuple[int | None, str], list[Charge]] = defaultdict(list)  # by type: (id, Ozon's name)
    daily: dict[tuple[int | None, str], dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for charge in data.charges:
        kind = (charge.type_id, charge.name)
        if any(w in charge.name.lower() for w in words):  # a type not named yet is never taken for a fine
            if charge.rubles > 0 and (today - charge.day).days <= config.new_days:
                fines[kind].append(charge)
        else:
            daily[kind][charge.day] += charge.rubles
    findings = []
    for (type_id, name), lines in fines.items():
        total = sum(c.rubles for c in lines)
        findings.append(finding(
            "charges", data, severity="warning", entity=f"fine:{type_id}",
            started_at=data.midnight(lines[0].day),
            evidence=FineEvidence(name, tuple((c.day, c.unit, round(c.rubles, 2)) for c in lines), round(total, 2)),
            topic="finance", checks=(), affected_postings=sorted({c.unit for c in lines if c.unit}),
            at_stake=at_stake(total, "charged")))  # the postings name the products; a list of SKUs adds nothing
    for (type_id, name), days in daily.items():
        last = max(days)
        if (today - last).days > 3:
            continue
        base = [days.get(last - timedelta(days=k), 0.0) for k in range(1, config.baseline_days + 1)]
        charged_on = sum(1 for v in base if v > 0)
        usual = sorted(base)[len(base) // 2] if charged_on >= len(base) / 2 else max(base)
        total = days[last]
        if total >= config.min_ratio * usual and total - usual >= config.min_rubles:
            findings.append(finding(
                "charges", data, severity="warning", entity=f"level:{type_id}",
                started_at=data.midnight(last),
                evidence=ChargeLevelEvidence(name, type_id, last, round(total, 2), round(usual, 2)), topic="finance",
                checks=(),
                at_stake=at_stake(total - usual, "charged")))
    return findings


CHARGES = Rule("charges", ChargesConfig, charges)


@dataclass(frozen=True)
class TariffChange:
    sku: int
    scheme: str
    percent_before: float | None
    percent_now: float | None
    logistics_before: float | None
    logistics_now: float | None
    yearly: float  # rubles a year more (negative: less) at the SKU's current sales


@dataclass(frozen=True)
class TariffsEvidence:
    since: date  # the day the old tariffs were last seen
    changes: tuple[TariffChange, ...]
    yearly: float  # all together


class TariffsConfig(RuleConfig):
    min_percent: float = Field(0.5, gt=0)  # a commission change of at least this many points
    min_logistics: float = Field(5.0, gt=0)  # or a logistics change of at least this many rubles
    sales_days: int = Field(28, ge=7, le=90)  # the sales a yearly cost is counted from


def tariffs(data: AccountData, config: TariffsConfig) -> list[Finding]:
    """SKUs whose commission percent or logistics amount (per scheme, from the card) changed in
    the last days, with what the change costs a year at the SKU's current sales: the day the
    API shows it, before the accruals do. Rises of `min_percent` points or `min_logistics`
    rubles count; the finding lists every SKU of the change."""
    cards = {c.sku: c for c in data.cards}
    recent = data.orders_between(data.since(config.sales_days), data.now)
    units: dict[int, int] = defaultdict(int)
    line = recent.line_posting
    for sku, n in zip(recent.line_skus.tolist(), recent.quantity[line].tolist()):
        units[sku] += n
    changes, since = [], None
    for move in data.price_moves:
        card = cards.get(move.sku)
        if card is None or move.color_index or not (move.percent or move.logistics):
            continue
        before_p, now_p = dict(move.percent), dict(card.percent)
        before_l, now_l = dict(move.logistics), dict(card.logistics)
        yearly_units = units.get(move.sku, 0) * 365 / config.sales_days
        for scheme in sorted(set(before_p) | set(before_l)):
            dp = (now_p.get(scheme, 0.0) - before_p[scheme]) if scheme in before_p and scheme in now_p else 0.0
            dl = (now_l.get(scheme, 0.0) - before_l[scheme]) if scheme in before_l and scheme in now_l else 0.0
            if dp < config.min_percent and dl < config.min_logistics:  # rises only: a fall costs nothing
                continue
            yearly = yearly_units * (card.price * dp / 100 + dl)
            changes.append(TariffChange(move.sku, scheme, before_p.get(scheme), now_p.get(scheme),
                                        before_l.get(scheme), now_l.get(scheme), round(yearly, 0)))
            since = move.day if since is None else min(since, move.day)
    if not changes or since is None:
        return []
    changes.sort(key=lambda c: -c.yearly)
    yearly = sum(c.yearly for c in changes)
    return [finding(
        "tariffs", data, severity="warning", entity="tariffs",
        started_at=data.midnight(since + timedelta(days=1)),
        evidence=TariffsEvidence(since, tuple(changes), round(yearly, 0)), topic=None, checks=(),
        affected_skus=list(dict.fromkeys(c.sku for c in changes)))]


TARIFFS = Rule("tariffs", TariffsConfig, tariffs)
