"""Logistics rules: seller cancellations against the account's thresholds, shipment deadlines,
postings stuck in delivery, and postings cancelled on Ozon's side."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

import numpy as np
from pydantic import Field

from rules.base import AccountData, Finding, Order, Rule, RuleConfig, Severity, at_stake, finding
from rules.stats import days_to_cross, high_count_p_value

ERROR_INDEX = "rating_general_indicator_fbs_rfbs"
UNFULFILLED = ("awaiting_packaging", "awaiting_deliver")


@dataclass(frozen=True)
class CancellationsEvidence:
    share_percent: float
    cancelled: int
    postings: int
    warning_percent: float
    danger_percent: float
    thresholds_from: str  # ozon or config
    days_to_warning: float | None
    days_to_danger: float | None
    window_days: int
    measured_by: Literal["ozon_index", "postings"] = "postings"  # Ozon's own error index, or our count
    late: int = 0  # late hand-overs Ozon counts in its index
    charges: float = 0.0  # what Ozon charged for the errors in the window, RUB


@dataclass(frozen=True)
class ShipmentDeadlineEvidence:
    kind: Literal["late", "due"]
    postings: int
    packed_waiting_courier: int
    earliest_deadline: datetime
    warn_hours: float
    late_share_percent: float
    share_days: int


@dataclass(frozen=True)
class StuckInDeliveryEvidence:
    postings: int
    oldest_days: float
    max_days: float
    value: float  # what the stuck postings are worth, RUB


class CancellationsConfig(RuleConfig):
    window_days: int = Field(14, ge=3, le=60)  # Ozon's window: the last 14 days, today excluded
    forecast_days: float = Field(7.0, gt=0, le=60)
    min_cancellations: int = Field(3, ge=1)
    warning_percent: float = Field(4.0, gt=0, le=100)  # used only when Ozon gives no threshold
    danger_percent: float = Field(10.0, gt=0, le=100)


def cancellations(data: AccountData, config: CancellationsConfig) -> list[Finding]:
    """Ozon's FBS/rFBS error index (seller cancellations and late hand-overs over Ozon's window:
    the figure Ozon charges by), or where Ozon gives none the share of FBS postings the seller
    cancelled, against the thresholds Ozon reports for the account (config values only as a
    fallback), with a forecast of when the rolling figure crosses them."""
    today = data.midnight(data.local_date(data.now))
    window = timedelta(days=config.window_days)
    warning, danger, source = config.warning_percent, config.danger_percent, "config"
    index = next((r for r in data.ratings if r.rating == ERROR_INDEX), None)
    if index is not None and index.warning is not None and index.danger is not None:
        warning, danger, source = index.warning, index.danger, "ozon"
    if data.fbs_index is not None:
        return _ozon_index(data, config, today, warning, danger, source)
    if data.history_since is None or data.history_since > today - 2 * window:
        return []

    def share(end: datetime) -> tuple[float, list[str], int]:
        span = data.orders_between(end - window, end)
        fbs = span.scheme == "fbs"
        cancelled = [number.decode() for number in span.posting_number[fbs & (span.cancelled_by == "seller")]]
        total = int(fbs.sum())
        return (100 * len(cancelled) / total if total else 0.0), cancelled, total
    current, cancelled, total = share(today)
    history = [share(today - timedelta(days=k))[0] for k in range(config.window_days - 1, -1, -1)]
    severity, to_warning, to_danger = _verdict(current, history, warning, danger, config)
    if len(cancelled) < config.min_cancellations or severity is None:
        return []
    return [finding(
        "cancellations", data, severity=severity, entity="seller_cancellations", started_at=today - window,
        evidence=CancellationsEvidence(round(current, 2), len(cancelled), total, warning, danger, source,
                                       None if to_warning is None else round(to_warning, 1),
                                       None if to_danger is None else round(to_danger, 1), config.window_days),
        topic=None, affected_postings=cancelled)]


def _verdict(current: float, history: list[float], warning: float, danger: float,
             config: CancellationsConfig) -> tuple[str | None, float | None, float | None]:
    """(severity or None, days to the warning threshold, days to the danger threshold)."""
    days = list(range(len(history)))
    to_warning = days_to_cross(days, history, warning, higher_is_better=False) if current < warning else 0.0
    to_danger = days_to_cross(days, history, danger, higher_is_better=False) if current < danger else 0.0
    if current >= danger:
        return "critical", to_warning, to_danger
    if current >= warning or (to_warning is not None and to_warning <= config.forecast_days) \
            or (to_danger is not None and to_danger <= config.forecast_days):
        return "warning", to_warning, to_danger
    return None, to_warning, to_danger


def _ozon_index(data: AccountData, config: CancellationsConfig, today: datetime, warning: float, danger: float,
                source: str) -> list[Finding]:
    """The verdict on Ozon's own index: its value now, its trend from its daily values, and the
    postings Ozon counts (the ones it charges for)."""
    assert data.fbs_index is not None
    index, window = data.fbs_index, timedelta(days=config.window_days)
    errors = [e for e in index.errors if today - window <= e.at < today]
    if len(errors) < config.min_cancellations:
        return []
    by_day = dict(index.days)
    last = today.date() - timedelta(days=1)
    history = [sum(by_day.get(end - timedelta(days=d), 0.0) for d in range(config.window_days)) / config.window_days
               for end in (last - timedelta(days=k) for k in range(config.window_days - 1, -1, -1))]
    severity, to_warning, to_danger = _verdict(index.value, history, warning, danger, config)
    if severity is None:
        return []
    fbs = int((data.orders_between(today - window, today).scheme == "fbs").sum())
    return [finding(
        "cancellations", data, severity=severity, entity="seller_cancellations", started_at=today - window,
        evidence=CancellationsEvidence(
            round(index.value, 2), sum(e.kind == "SELLER_CANCELLATION" for e in errors), fbs, warning, danger,
            source, None if to_warning is None else round(to_warning, 1),
            None if to_danger is None else round(to_danger, 1), config.window_days, "ozon_index",
            sum(e.kind == "SELLER_DELAY" for e in errors), round(sum(e.charge for e in errors), 2)),
        topic=None, affected_postings=sorted({e.posting_number for e in errors}),
        at_stake=at_stake(sum(e.charge for e in errors), "charged"))]


CANCELLATIONS = Rule("cancellations", CancellationsConfig, cancellations, needs_postings=True)


class ShipmentDeadlineConfig(RuleConfig):
    warn_hours: float = Field(4.0, gt=0, le=72)
    share_days: int = Field(7, ge=1, le=30)


def shipment_deadline(data: AccountData, config: ShipmentDeadlineConfig) -> list[Finding]:
    """FBS/rFBS postings not yet handed over: deadline passed (critical) or within `warn_hours`
    (warning), with the late share of the last `share_days`. Late postings already packed and
    waiting for the courier are a pick-up problem for support; unpacked ones are the seller's."""
    orders, now = data.orders, data.now.timestamp()
    deadline = orders.shipment_deadline  # NaN where none: every comparison with it is false
    open_ = orders.where(np.isin(orders.status, UNFULFILLED) & ~np.isnan(deadline))
    dated = sorted(((o.shipment_deadline, o) for o in open_ if o.shipment_deadline is not None), key=lambda d: d[0])
    late = [(at, o) for at, o in dated if at < data.now]
    due = [(at, o) for at, o in dated if data.now <= at <= data.now + timedelta(hours=config.warn_hours)]
    recent = (now - config.share_days * 86400 <= deadline) & (deadline < now) & (orders.status != "cancelled")
    late_recent = recent & (np.where(np.isnan(orders.handed_over_at), now, orders.handed_over_at) > deadline)
    share = round(100 * int(late_recent.sum()) / int(recent.sum()), 1) if recent.any() else 0.0
    findings = []
    kinds: tuple[tuple[Literal["late", "due"], list[tuple[datetime, Order]], Severity], ...] = (
        ("late", late, "critical"), ("due", due, "warning"))
    for entity, found, severity in kinds:
        if not found:
            continue
        first_deadline, postings = found[0][0], [o for _, o in found]
        packed = sum(o.status == "awaiting_deliver" for o in postings)
        findings.append(finding(
            "shipment_deadline", data, severity=severity, entity=entity,
            started_at=first_deadline if entity == "late" else data.now,
            evidence=ShipmentDeadlineEvidence(entity, len(postings), packed, first_deadline, config.warn_hours, share,
                                              config.share_days),
            topic="logistics" if entity == "late" and packed > len(postings) / 2 else None,
            affected_postings=[o.posting_number for o in postings],
            affected_skus=sorted({s for o in postings for s in o.skus})))
    return findings


SHIPMENT_DEADLINE = Rule("shipment_deadline", ShipmentDeadlineConfig, shipment_deadline, needs_postings=True)


class StuckInDeliveryConfig(RuleConfig):
    max_days: float = Field(12.0, gt=1, le=90)


def stuck_in_delivery(data: AccountData, config: StuckInDeliveryConfig) -> list[Finding]:
    """Postings handed over more than `max_days` ago and still delivering: candidates for a
    lost-order search by support. An FBO posting leaves Ozon's own warehouse and has no
    hand-over time: its clock starts when it was placed."""
    limit = timedelta(days=config.max_days)
    orders = data.orders
    start = np.where(np.isnan(orders.handed_over_at) & (orders.scheme == "fbo"), orders.created, orders.handed_over_at)
    handed = sorted(((datetime.fromtimestamp(float(start[i]), timezone.utc), orders[int(i)]) for i in np.flatnonzero(
        (orders.status == "delivering") & (data.now.timestamp() - start > limit.total_seconds()))),
        key=lambda h: h[0])
    if not handed:
        return []
    first_handed, stuck = handed[0][0], [o for _, o in handed]
    oldest = (data.now - first_handed).total_seconds() / 86400
    return [finding(
        "stuck_in_delivery", data, severity="critical" if oldest > 2 * config.max_days else "warning",
        entity="stuck", started_at=first_handed + limit,
        evidence=StuckInDeliveryEvidence(len(stuck), round(oldest, 1), config.max_days,
                                         round(sum(o.price for o in stuck), 2)),
        topic="logistics", affected_postings=[o.posting_number for o in stuck],
        affected_skus=sorted({s for o in stuck for s in o.skus}), at_stake=at_stake(sum(o.price for o in stuck), "value"))]


STUCK_IN_DELIVERY = Rule("stuck_in_delivery", StuckInDeliveryConfig, stuck_in_delivery)


@dataclass(frozen=True)
class OzonCancellationsEvidence:
    scheme: str
    cancelled: int
    postings: int
    share_percent: float
    usual_percent: float  # over the `baseline_days` before
    window_days: int
    value: float  # the cancelled postings' sum, RUB


class OzonCancellationsConfig(RuleConfig):
    window_days: int = Field(3, ge=1, le=14)
    baseline_days: int = Field(28, ge=7, le=90)
    min_cancelled: int = Field(5, ge=1)
    min_share: float = Field(2.0, gt=0, le=100)  # percent of the scheme's postings
    usual_floor: float = Field(0.5, ge=0, le=100)  # the usual share assumed at least this, percent
    alpha: float = Field(1e-4, gt=0, lt=0.5)
    critical_share: float = Field(10.0, gt=0, le=100)


def ozon_cancellations(data: AccountData, config: OzonCancellationsConfig) -> list[Finding]:
    """Postings cancelled by Ozon, its system or the delivery service (not by the seller or the
    buyer) over the last `window_days`, per scheme, against the shop's usual share over the
    `baseline_days` before: more than chance allows (Poisson, `alpha`), at least `min_cancelled`
    and `min_share` percent. The value is what the cancelled orders were worth."""
    end = data.now
    start = end - timedelta(days=config.window_days)
    if data.history_since is None or data.history_since > start - timedelta(days=config.baseline_days / 2):
        return []
    recent = data.orders_between(start, end)
    before = data.orders_between(start - timedelta(days=config.baseline_days), start)
    findings = []
    for scheme in sorted(set(recent.scheme.tolist())):
        mine = recent.scheme == scheme
        by_ozon = mine & (recent.cancelled_by == "ozon")
        n, k = int(mine.sum()), int(by_ozon.sum())
        base = before.scheme == scheme
        usual = float((base & (before.cancelled_by == "ozon")).sum()) / max(int(base.sum()), 1)
        p0 = max(usual, config.usual_floor / 100)
        share = 100 * k / n if n else 0.0
        if k < config.min_cancelled or share < config.min_share or high_count_p_value(k, n * p0) >= config.alpha:
            continue
        cancelled = recent.where(by_ozon)
        value = sum(o.price for o in cancelled)
        findings.append(finding(
            "ozon_cancellations", data, severity="critical" if share >= config.critical_share else "warning",
            entity=f"ozon:{scheme}", started_at=cancelled[0].created_at,
            evidence=OzonCancellationsEvidence(scheme, k, n, round(share, 1), round(100 * usual, 1),
                                               config.window_days, round(value, 2)),
            topic="logistics", checks=(), affected_postings=[o.posting_number for o in cancelled],
            affected_skus=sorted({s for o in cancelled for s in o.skus}), at_stake=at_stake(value, "value")))
    return findings


OZON_CANCELLATIONS = Rule("ozon_cancellations", OzonCancellationsConfig, ozon_cancellations, needs_postings=True)
