"""Sales rules: orders falling (sales_drop), a selling SKU gone silent (sales_stopped), and a
card losing its audience (traffic_drop)."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

import numpy as np
from pydantic import Field

from rules.base import AccountData, Card, Finding, Rule, RuleConfig, Series, finding
from rules.stats import low_count_p_value, zero_count_p_value

WEEK = timedelta(days=7)


class SalesDropConfig(RuleConfig):
    windows_hours: list[int] = Field([1, 2, 3, 6, 24], min_length=1)
    baseline_weeks: int = Field(4, ge=2, le=12)
    alpha: float = Field(1e-4, gt=0, lt=0.5)
    dispersion: float = Field(0.02, ge=0, le=1)
    min_drop: float = Field(0.5, gt=0, le=1)
    min_expected: float = Field(8.0, gt=0)
    sku_windows_hours: list[int] = Field([24, 72])
    sku_min_expected: float = Field(12.0, gt=0)
    holidays: list[date] = []


@dataclass(frozen=True)
class SkuShortfall:
    """A SKU that usually sells in the window, and how it sold this time."""

    sku: int
    expected: float
    observed: int


@dataclass(frozen=True)
class SalesDropEvidence:
    scope: Literal["account", "sku"]
    sku: int | None
    window_hours: int  # the shortest trailing window that fired
    observed: int
    expected: float
    baseline_counts: tuple[int, ...]  # the same window 1..N weeks back
    drop_share: float
    p_value: float
    last_order_at: datetime | None
    top_skus: tuple[SkuShortfall, ...]
    series: Series


@dataclass(frozen=True)
class SalesStoppedEvidence:
    sku: int
    last_order_at: datetime
    orders_in_history: int
    history_days: int
    expected_orders_since: float
    p_value: float
    causes: tuple[str, ...]  # stock_zero, card_failed, card_unavailable, price_quarantine, card_archived


@dataclass(frozen=True)
class TrafficDropEvidence:
    sku: int
    day: date
    views: float
    usual_views: float
    to_cart_share: float
    usual_to_cart_share: float
    views_fell: bool
    conversion_fell: bool
    p_value: float


@dataclass(frozen=True)
class WindowTest:
    hours: int
    observed: int
    expected: float
    baseline: list[int]
    p_value: float


def _count(times: np.ndarray, start: datetime, end: datetime) -> int:
    return int(np.searchsorted(times, end.timestamp(), "left") - np.searchsorted(times, start.timestamp(), "left"))


def _windows(times: np.ndarray, data: AccountData, hours_list: list[int], config: SalesDropConfig,
             min_expected: float, alpha: float) -> WindowTest | None:
    """The shortest trailing window whose count is significantly and substantially below the
    same window 1..N weeks back (same weekday and hours: weekly and daily seasonality cancel).
    Windows touching a listed holiday are not judged; baseline weeks touching one are dropped."""
    holidays = set(config.holidays)

    def touches_holiday(start: datetime, end: datetime) -> bool:
        return bool(holidays) and any(data.local_date(start + timedelta(hours=h)) in holidays
                                      for h in range(int((end - start).total_seconds() // 3600) + 1))
    for hours in sorted(hours_list):
        window = timedelta(hours=hours)
        if data.history_since is None or data.history_since > data.now - window - config.baseline_weeks * WEEK:
            continue
        if touches_holiday(data.now - window, data.now):
            continue
        baseline = [_count(times, data.now - window - k * WEEK, data.now - k * WEEK)
                    for k in range(1, config.baseline_weeks + 1)
                    if not touches_holiday(data.now - window - k * WEEK, data.now - k * WEEK)]
        if len(baseline) < 2:
            continue
        observed = _count(times, data.now - window, data.now)
        expected, p_value = low_count_p_value(observed, baseline, config.dispersion)
        if expected >= min_expected and observed <= (1 - config.min_drop) * expected and p_value < alpha:
            return WindowTest(hours, observed, expected, baseline, p_value)
    return None


def _last_before(times: np.ndarray, end: datetime) -> float | None:
    index = int(np.searchsorted(times, end.timestamp(), "left"))
    return float(times[index - 1]) if index else None


def sales_drop(data: AccountData, config: SalesDropConfig) -> list[Finding]:
    """Account-level fall in orders (intraday windows), and for SKUs with enough volume a fall of
    that SKU's orders (day-scale windows, Bonferroni-corrected over the SKUs judged). A stop is
    dated by the last order before it; a partial fall by the start of its window."""
    by_sku: dict[int, list[float]] = defaultdict(list)
    for order in data.orders:
        for sku in order.skus:
            by_sku[sku].append(order.created_at.timestamp())
    times = np.array(sorted(o.created_at.timestamp() for o in data.orders))
    found = _windows(times, data, config.windows_hours, config, config.min_expected, config.alpha)
    if found is not None:
        return [_drop_finding(data, "account", found, times, _sku_shortfall(data, found.hours, config),
                              weeks=config.baseline_weeks)]
    sku_times = {sku: np.array(sorted(ts)) for sku, ts in by_sku.items()}
    longest = timedelta(hours=max(config.sku_windows_hours, default=24))
    judged = [sku for sku, ts in sku_times.items()
              if _count(ts, data.now - longest - WEEK, data.now - WEEK) >= config.sku_min_expected]
    findings = []
    for sku in judged:
        hit = _windows(sku_times[sku], data, config.sku_windows_hours, config, config.sku_min_expected,
                       config.alpha / max(len(judged), 1))
        if hit is not None:
            findings.append(_drop_finding(data, f"sku:{sku}", hit, sku_times[sku], [], sku, config.baseline_weeks))
    return findings


def _hourly_series(data: AccountData, times: np.ndarray, weeks: int, hours: int = 48) -> Series:
    """Orders per hour over the last `hours`, with the same hours of past weeks as the expected
    level and band: what a chart of the anomaly shows."""
    start = data.now - timedelta(hours=hours)
    observed, expected, low, high = [], [], [], []
    for h in range(hours):
        bin_start = start + timedelta(hours=h)
        observed.append(_count(times, bin_start, bin_start + timedelta(hours=1)))
        past = [_count(times, bin_start - k * WEEK, bin_start + timedelta(hours=1) - k * WEEK)
                for k in range(1, weeks + 1)]
        expected.append(round(float(np.mean(past)), 2))
        low.append(min(past))
        high.append(max(past))
    return Series(start.isoformat(), 60, tuple(observed), tuple(expected), tuple(low), tuple(high))


def _drop_finding(data: AccountData, entity: str, test: WindowTest, times: np.ndarray,
                  top_skus: list[SkuShortfall], sku: int | None = None, weeks: int = 4) -> Finding:
    last = _last_before(times, data.now)
    last_at = datetime.fromtimestamp(last, tz=data.now.tzinfo) if last is not None else None
    started = last_at if test.observed == 0 and last_at is not None else data.now - timedelta(hours=test.hours)
    drop = 1 - test.observed / test.expected
    return finding(
        "sales_drop", data, severity="critical" if drop >= 0.9 else "warning", entity=entity, started_at=started,
        evidence=SalesDropEvidence("sku" if sku else "account", sku, test.hours, test.observed,
                                   round(test.expected, 1), tuple(test.baseline), round(drop, 3), test.p_value,
                                   last_at, tuple(top_skus[:10]), _hourly_series(data, times, weeks)),
        topic="technical", affected_skus=[sku] if sku else [r.sku for r in top_skus[:10]])


def _sku_shortfall(data: AccountData, hours: int, config: SalesDropConfig) -> list[SkuShortfall]:
    """SKUs that usually sell in this window, ordered by how many orders they are missing."""
    window = timedelta(hours=hours)
    observed: Counter[int] = Counter()
    usual: Counter[int] = Counter()
    for order in data.orders:
        for k in range(config.baseline_weeks + 1):
            if data.now - window - k * WEEK <= order.created_at < data.now - k * WEEK:
                (observed if k == 0 else usual).update(order.skus)
    rows = [SkuShortfall(sku, round(count / config.baseline_weeks, 1), observed[sku])
            for sku, count in usual.items() if observed[sku] < count / config.baseline_weeks]
    return sorted(rows, key=lambda r: r.observed - r.expected)


SALES_DROP = Rule("sales_drop", SalesDropConfig, sales_drop, needs_postings=True)


class SalesStoppedConfig(RuleConfig):
    history_days: int = Field(28, ge=7, le=90)
    min_orders: int = Field(10, ge=3)
    false_alarms_per_month: float = Field(0.3, gt=0, le=30)
    dispersion: float = Field(0.05, ge=0, le=2)


def sales_stopped(data: AccountData, config: SalesStoppedConfig) -> list[Finding]:
    """A SKU that sells regularly has had no order for longer than its history makes plausible.

    The SKU's share of the account's orders over `history_days`, times the orders the rest of
    the shop took since the SKU's last order, is how many it should have had; the chance of
    none is P(0) under a negative binomial. Measuring against the shop's own orders since then
    makes the test immune to night, weekday and seasonality. Every order ends one gap, so a
    month holds about as many chances of a false alarm as orders: the threshold is
    `false_alarms_per_month` divided by the orders of the last 30 days. Likely causes are read
    from stock and card data."""
    start = data.since(config.history_days)
    if data.history_since is None or data.history_since > start:
        return []
    recent = data.orders_between(start, data.now)
    counts: Counter[int] = Counter(sku for o in recent for sku in o.skus)
    last_order: dict[int, datetime] = {}
    for order in recent:
        for sku in order.skus:
            last_order[sku] = max(last_order.get(sku, order.created_at), order.created_at)
    times = np.array(sorted(o.created_at.timestamp() for o in recent))
    cards = {c.sku: c for c in data.cards}
    stock = _free_stock(data)
    threshold = config.false_alarms_per_month / max(len(recent) * 30 / config.history_days, 1)
    findings = []
    for sku, count in counts.items():
        if count < config.min_orders:
            continue
        share = count / len(recent)
        since = last_order[sku]
        others = _count(times, since + timedelta(microseconds=1), data.now + timedelta(microseconds=1))
        expected = share * others / (1 - share) if share < 1 else 0.0
        p_value = zero_count_p_value(expected, config.dispersion)
        if p_value >= threshold:
            continue
        causes = _likely_causes(cards.get(sku), stock.get(sku))
        findings.append(finding(
            "sales_stopped", data, severity="warning", entity=f"sku:{sku}", started_at=since,
            evidence=SalesStoppedEvidence(sku, since, count, config.history_days, round(expected, 1), p_value,
                                          tuple(causes)),
            topic=None if "stock_zero" in causes else "technical", affected_skus=[sku]))
    return findings


def _free_stock(data: AccountData) -> dict[int, int]:
    stock: dict[int, int] = defaultdict(int)
    for item in data.stocks:
        stock[item.sku] += item.available
    return stock


def _likely_causes(card: Card | None, stock: int | None) -> list[str]:
    causes = []
    if stock == 0:
        causes.append("stock_zero")
    if card is not None:
        if card.status_failed or card.moderate_status == "declined" or card.errors:
            causes.append("card_failed")
        if card.unavailable_reasons:
            causes.append("card_unavailable")
        if "quarantine" in card.status.lower() or any("карантин" in r.lower() for r in card.unavailable_reasons):
            causes.append("price_quarantine")
        if card.archived or card.autoarchived:
            causes.append("card_archived")
    return causes


SALES_STOPPED = Rule("sales_stopped", SalesStoppedConfig, sales_stopped, needs_postings=True)


class TrafficDropConfig(RuleConfig):
    baseline_days: int = Field(14, ge=7, le=60)
    min_views: float = Field(200.0, gt=0)
    min_drop: float = Field(0.5, gt=0, le=1)
    alpha: float = Field(1e-4, gt=0, lt=0.5)
    dispersion: float = Field(0.05, ge=0, le=1)


def traffic_drop(data: AccountData, config: TrafficDropConfig) -> list[Finding]:
    """Views, or the share of views that add to cart, fell on the last complete day against the
    previous `baseline_days` (only where the subscription gives traffic analytics). The early
    sign of a card dropped from search or outbid, before orders show it."""
    by_sku: dict[int, dict[date, tuple[float, float]]] = defaultdict(dict)
    for row in data.traffic:
        by_sku[row.sku][row.day] = (row.views, row.tocart)
    last_day = data.local_date(data.now) - timedelta(days=1)
    findings = []
    for sku, days in by_sku.items():
        if last_day not in days:
            continue
        baseline = [days[last_day - timedelta(days=k)] for k in range(1, config.baseline_days + 1)
                    if last_day - timedelta(days=k) in days]
        if len(baseline) < config.baseline_days // 2:
            continue
        views, tocart = days[last_day]
        usual_views = float(np.mean([v for v, _ in baseline]))
        if usual_views < config.min_views:
            continue
        expected, p_views = low_count_p_value(int(views), [v for v, _ in baseline], config.dispersion)
        usual_conv = sum(t for _, t in baseline) / max(sum(v for v, _ in baseline), 1)
        conv = tocart / views if views else 0.0
        views_fell = views <= (1 - config.min_drop) * expected and p_views < config.alpha
        _, p_conv = low_count_p_value(int(tocart), [usual_conv * views] * 4, config.dispersion) if views else (0, 1.0)
        conv_fell = usual_conv > 0 and conv <= (1 - config.min_drop) * usual_conv and p_conv < config.alpha
        if not (views_fell or conv_fell):
            continue
        findings.append(finding(
            "traffic_drop", data, severity="warning", entity=f"sku:{sku}",
            started_at=datetime.combine(last_day, datetime.min.time(), data.tz or data.now.tzinfo),
            evidence=TrafficDropEvidence(sku, last_day, views, round(usual_views, 1), round(conv, 4),
                                         round(usual_conv, 4), views_fell, conv_fell,
                                         min(p_views if views_fell else 1.0, p_conv if conv_fell else 1.0)),
            topic="marketing", affected_skus=[sku]))
    return findings


TRAFFIC_DROP = Rule("traffic_drop", TrafficDropConfig, traffic_drop)
