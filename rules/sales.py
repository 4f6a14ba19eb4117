"""Sales rules: orders falling (sales_drop), a selling SKU gone silent (sales_stopped), and a
card losing its audience (traffic_drop)."""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BeforeValidator, Field

from rules import intensity
from rules.base import (AccountData, Card, Finding, Rule, RuleConfig, Series, Symptom, at_stake, finding, order_value,
                        parse_day)
from rules.stats import low_count_p_value, zero_count_p_value


def _day(value: Any) -> Any:
    """A day written as text ("31.12.2026" too), besides TOML's own dates."""
    if isinstance(value, str):
        try:
            return parse_day(value)
        except ValueError:
            pass  # said as not a date by the validation
    return value


class SalesDropConfig(RuleConfig):
    stop_false_alarms_per_month: float = Field(0.25, gt=0, le=30)
    drop_false_alarms_per_month: float = Field(0.25, gt=0, le=30)
    sku_false_alarms_per_month: float = Field(0.1, gt=0, le=30)
    min_drop: float = Field(0.3, gt=0, lt=1)
    history_days: int = Field(56, ge=14, le=180)
    min_history_days: int = Field(14, ge=7, le=90)
    max_onset_hours: int = Field(168, ge=6, le=720)
    sku_min_daily: float = Field(1.0, gt=0)
    holidays: list[Annotated[date, BeforeValidator(_day)]] = []


@dataclass(frozen=True)
class SkuShortfall:
    """A SKU that usually sells in the window, and how it sold this time."""

    sku: int
    expected: float
    observed: int


@dataclass(frozen=True)
class CauseShare:
    """Why some of the missing orders are missing: a cause seen on the SKUs short of orders
    (stock_zero, card_failed, card_unavailable, price_quarantine, card_archived), how many SKUs
    it touches and the share of the missing orders they account for."""

    cause: str
    skus: int
    share: float


@dataclass(frozen=True)
class SalesDropEvidence:
    scope: Literal["account", "sku"]
    sku: int | None
    window_hours: int  # hours since the onset of the fall (or the last order)
    observed: int
    expected: float
    usual_per_day: float  # the orders a usual day brings, as learnt
    drop_share: float
    p_value: float
    last_order_at: datetime | None
    top_skus: tuple[SkuShortfall, ...]
    series: Series
    order_value: float = 0.0  # the usual sum of one order (of the SKU), rubles; 0: not known
    causes: tuple[CauseShare, ...] = ()  # most first

    @property
    def explained(self) -> float:
        """The share of the missing orders the causes account for."""
        return min(sum(c.share for c in self.causes), 1.0)


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


HOUR = 3600.0


@dataclass(frozen=True)
class ShopStream:
    """The account's orders as hourly counts from the start of history to `now` (the last bin
    cut at `now`), with the usual intensity learnt for the bins that can be judged."""

    times: np.ndarray  # epoch seconds, sorted
    counts: np.ndarray
    baseline: intensity.Baseline
    expected: np.ndarray  # the baseline with the last bin scaled to the part elapsed
    now: float


def shop_start(history_since: float, now: float, config: SalesDropConfig) -> float:
    """First bin of the stream: a UTC midnight, so the bins (and what is learnt of them) stay
    put from one check to the next within a day."""
    return math.floor(max(history_since, now - (config.history_days + 9) * 86400) / 86400) * 86400


def shop_stream(times: np.ndarray, history_since: float, now: float, config: SalesDropConfig,
                tz: tzinfo | None, baseline: intensity.Baseline | None = None) -> ShopStream:
    """`baseline` may be one learnt earlier the same day from the same start (a replay)."""
    start = shop_start(history_since, now, config)
    bins = max(int(math.ceil((now - start) / HOUR)), 1)
    times = times[(times >= start) & (times < now)]
    counts = np.bincount(((times - start) // HOUR).astype(np.int64), minlength=bins)[:bins].astype(float)
    if baseline is None:
        baseline = learn_shop(counts, start, config, tz)
    expected = baseline.expected[:bins].copy()
    expected[-1] *= (now - (start + (bins - 1) * HOUR)) / HOUR
    return ShopStream(times, counts, baseline, expected, now)


def learn_shop(counts: np.ndarray, start: float, config: SalesDropConfig, tz: tzinfo | None) -> intensity.Baseline:
    """The shop's usual intensity for the bins of the last `max_onset_hours` and a day more."""
    return intensity.learn(counts, start, HOUR, tz, history_days=config.history_days,
                           min_history_days=config.min_history_days, holidays=frozenset(config.holidays),
                           judge_from=max(len(counts) - config.max_onset_hours - 24, 0))


@dataclass(frozen=True)
class Verdict:
    """What the shop-wide detectors say now: a stop (orders due since the last one beyond the
    threshold) or a fall (the change scan beyond its threshold), else nothing."""

    kind: Literal["stop", "drop"]
    statistic: float  # -log P(the silence) (stop) or log likelihood ratio (drop), in nats
    threshold: float
    onset: float  # epoch seconds: the last order (stop) or the start of the fallen stretch
    observed: float
    due: float


def judge_shop(stream: ShopStream, config: SalesDropConfig) -> Verdict | None:
    """The shop-wide verdict at `stream.now`; pure, so the benchmark and replays call it too."""
    b = stream.baseline
    if b.per_day <= 0 or not stream.expected[-config.max_onset_hours:].any():
        return None
    index = int(np.searchsorted(stream.times, stream.now, "left"))
    last = float(stream.times[index - 1]) if index else None
    if last is not None:
        # Judged with what was known when the silence began: its own empty days must not lower
        # the level, or widen the variation, it is judged against.
        known = min(max(int((last - b.start) // b.step), 0), len(b.level) - 1)
        if b.level[known] <= 0:  # it began before the judged days: what is known now
            known = min(len(stream.counts), len(b.level)) - 1
        day_start = _local_midnight(last, b)
        seen = int(index - np.searchsorted(stream.times, day_start, "left"))
        dues = _day_dues(b, last, stream.now, float(b.level[known]))
        surprise = intensity.silence_surprise(dues, float(b.dispersions[known]), float(b.uncertainties[known]), seen,
                                              float(b.due(day_start, last)))
        needed = -math.log(intensity.stop_chance(float(b.level[known]) / 24, config.stop_false_alarms_per_month))
        if surprise >= needed:
            return Verdict("stop", surprise, needed, last, 0, sum(dues))
    bins = len(stream.counts)
    scan = intensity.change_scan(stream.counts, stream.expected, b.dispersions[:bins], b.per_day,
                                 uncertainty=b.uncertainties[:bins], min_change=config.min_drop,
                                 max_bins=config.max_onset_hours, level=b.level[:bins], day=b.day_of_bin[:bins])[0]
    threshold = intensity.change_threshold(config.drop_false_alarms_per_month)
    if scan.statistic >= threshold and scan.share <= 1 - config.min_drop \
            and still_low(stream.counts, stream.expected, config):
        return Verdict("drop", scan.statistic, threshold, b.start + scan.onset * HOUR, scan.observed, scan.due)
    return None


def still_low(counts: np.ndarray, expected: np.ndarray, config: SalesDropConfig) -> bool:
    """The latest stretch (ten orders due) is still below usual: a fall that is over is not
    reported for as long as its evidence lingers in the longer windows."""
    return bool(intensity.recent_share(counts, expected)[0] <= 1 - config.min_drop / 2)


def _day_dues(baseline: intensity.Baseline, since: float, until: float, level: float) -> list[float]:
    """Orders due in [since, until) at the daily `level`, split at the shop's local midnights,
    oldest first."""
    dues, days = [], baseline.day_of_bin
    while True:
        index = min(max(int((since - baseline.start) // baseline.step), 0), len(days) - 1)
        boundary = int(np.searchsorted(days, days[index], "right"))  # days ascend with the bins
        end = min(baseline.start + boundary * baseline.step, until) if boundary < len(days) else until
        learnt = float(baseline.level[index])
        dues.append(float(baseline.due(since, end)) * (level / learnt if learnt > 0 else 1.0))
        if end >= until:
            return dues
        since = end


def _local_midnight(moment: float, baseline: intensity.Baseline) -> float:
    """Start of the local day holding `moment`, from the baseline's own calendar."""
    index = min(max(int((moment - baseline.start) // baseline.step), 0), len(baseline.day_of_bin) - 1)
    first = int(np.searchsorted(baseline.day_of_bin, baseline.day_of_bin[index]))  # days ascend with the bins
    return baseline.start + first * baseline.step


@dataclass(frozen=True)
class DetectionFloor:
    """What the data of one shop allows, at one false alarm a month: the least time any
    detector needs to tell a full stop, or a fall to half, from a quiet spell (the median over
    every hour of the week the incident could begin)."""

    orders_per_day: float
    stop_hours: float
    half_hours: float


def detection_floor(times: np.ndarray, history_since: float, now: float, config: SalesDropConfig,
                    tz: tzinfo | None) -> DetectionFloor | None:
    b = shop_stream(times, history_since, now, config, tz).baseline
    week = b.expected[-7 * 24 - 1:-1]
    if b.per_day <= 0 or len(week) < 7 * 24 or not (week > 0).all():
        return None
    weeks = np.tile(week, 4)

    def median_hours(orders: float) -> float:
        return float(np.median([intensity.hours_until_due(weeks, 0.0, HOUR, h * HOUR, orders) or math.inf
                                for h in range(7 * 24)]))
    return DetectionFloor(round(b.per_day, 1), round(median_hours(intensity.stop_floor_orders(b.per_hour)), 1),
                          round(median_hours(intensity.drop_floor_orders(0.5)), 1))


def sales_drop(data: AccountData, config: SalesDropConfig) -> list[Finding]:
    """Shop-wide: a stop, as soon as the orders due since the last one make chance implausible
    at the budget of false alarms, or a fall of at least `min_drop` since some hour of the last
    week (the likelihood ratio over every onset). Both judge against the shop's own intensity
    (level, weekday, hour of day, learnt from `history_days`). When the shop is fine, each SKU
    selling `sku_min_daily` a day is scanned against its share of the shop's usual orders."""
    if data.history_since is None or not data.orders:
        return []
    stream = shop_stream(data.order_times, data.history_since.timestamp(), data.now.timestamp(), config, data.tz)
    verdict = judge_shop(stream, config)
    if verdict is not None:
        return [_finding(data, "account", verdict, stream.times, stream.expected, stream.baseline.start,
                         stream.baseline.per_day, _sku_shortfall(data, verdict.onset, verdict.due))]
    return _sku_findings(data, stream, config)


def _sku_findings(data: AccountData, stream: ShopStream, config: SalesDropConfig) -> list[Finding]:
    b = stream.baseline
    if b.per_day <= 0:
        return []
    start, bins = b.start, len(stream.counts)
    since = start + max(bins - config.history_days * 24, 0) * HOUR
    window = data.orders_between(datetime.fromtimestamp(since, tz=data.now.tzinfo), data.now)
    days = (data.now.timestamp() - since) / 86400
    judged = [sku for sku, count in window.sku_counts().items() if count / days >= config.sku_min_daily]
    if not judged:
        return []
    line_skus = window.line_skus
    by_line = np.argsort(line_skus, kind="stable")  # each SKU's lines together, oldest first
    bounds = np.searchsorted(line_skus[by_line], np.array([judged, np.add(judged, 1)]))
    line_times = window.created[window.line_posting]
    by_sku = {sku: line_times[by_line[lo:hi]] for sku, lo, hi in zip(judged, *bounds)}
    counts = np.zeros((len(judged), bins))
    for row, sku in enumerate(judged):
        np.add.at(counts[row], ((by_sku[sku] - start) // HOUR).astype(np.int64).clip(0, bins - 1), 1.0)
    expected, dispersion, per_day = intensity.share_baseline(b, counts, judge_from=max(bins - config.max_onset_hours, 0))
    expected[:, -1] *= stream.expected[-1] / b.expected[-1] if b.expected[-1] > 0 else 0.0
    threshold = intensity.change_threshold(config.sku_false_alarms_per_month / len(judged))
    findings = []
    offers = {c.sku: c.offer_id for c in data.cards}
    for row, sku in enumerate(judged):
        own = config.for_product(sku, offers.get(sku, ""))  # its own min_drop, if an override sets one
        scan = intensity.change_scan(counts[row], expected[row], float(dispersion[row]), float(per_day[row]),
                                     uncertainty=b.uncertainty, min_change=own.min_drop,
                                     max_bins=config.max_onset_hours)[0]
        if scan.statistic >= threshold and scan.share <= 1 - own.min_drop and scan.observed > 0 \
                and still_low(counts[row], expected[row], own):  # none at all: sales_stopped says it
            verdict = Verdict("drop", scan.statistic, threshold, start + scan.onset * HOUR, scan.observed, scan.due)
            findings.append(_finding(data, f"sku:{sku}", verdict, by_sku[sku], expected[row], start,
                                     float(per_day[row]), [], sku))
    return findings


def _finding(data: AccountData, entity: str, verdict: Verdict, times: np.ndarray, expected: np.ndarray,
             start: float, per_day: float, top_skus: list[SkuShortfall], sku: int | None = None) -> Finding:
    tz = data.now.tzinfo
    last = _last_before(times, data.now)
    last_at = datetime.fromtimestamp(last, tz=tz) if last is not None else None
    onset = datetime.fromtimestamp(verdict.onset, tz=tz)
    observed = int(round(verdict.observed))
    drop = 1 - observed / verdict.due if verdict.due > 0 else 1.0
    elapsed = (data.now - onset).total_seconds() / HOUR  # a stop: none in the last whole hours, so round down
    hours = max(1, math.floor(elapsed) if observed == 0 else math.ceil(elapsed))
    causes = () if sku else explained_by(data, top_skus, verdict.due - observed)
    value = order_value(data, sku)
    seller_only = bool(causes) and {c.cause for c in causes} == {"stock_zero"} and sum(c.share for c in causes) >= 0.9
    return finding(
        "sales_drop", data, severity="critical" if drop >= 0.9 else "warning", entity=entity,
        started_at=last_at if observed == 0 and last_at is not None else onset,
        evidence=SalesDropEvidence("sku" if sku else "account", sku, hours, observed, round(verdict.due, 1),
                                   round(per_day, 1), round(drop, 3), math.exp(-min(verdict.statistic, 690.0)), last_at,
                                   tuple(top_skus[:10]), _hourly_series(data, times, expected, start),
                                   value, causes),
        topic=None if seller_only else "technical",  # stock is the seller's to fix: no request to support
        at_stake=at_stake(max(verdict.due - observed, 0) * value, "missed"),
        affected_skus=[sku] if sku else [r.sku for r in top_skus[:10]])


def explained_by(data: AccountData, shortfall: list[SkuShortfall], missing: float) -> tuple[CauseShare, ...]:
    """The causes seen on the SKUs short of orders (out of stock, card blocked or hidden, price in
    quarantine, archived), each with the share of the `missing` orders its SKUs account for."""
    if missing <= 0:
        return ()
    cards, stock = {c.sku: c for c in data.cards}, _free_stock(data)
    per_cause: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for row in shortfall:
        causes = _likely_causes(cards.get(row.sku), stock.get(row.sku))
        if causes:  # one cause per SKU, the first that applies, so no order is counted twice
            per_cause[causes[0]][0] += 1
            per_cause[causes[0]][1] += row.expected - row.observed
    shares = [CauseShare(cause, int(n), round(min(lost / missing, 1.0), 2)) for cause, (n, lost) in per_cause.items()]
    return tuple(sorted((c for c in shares if c.share >= 0.05), key=lambda c: -c.share))


def _count(times: np.ndarray, start: datetime, end: datetime) -> int:
    return int(np.searchsorted(times, end.timestamp(), "left") - np.searchsorted(times, start.timestamp(), "left"))


def _last_before(times: np.ndarray, end: datetime) -> float | None:
    index = int(np.searchsorted(times, end.timestamp(), "left"))
    return float(times[index - 1]) if index else None


def _hourly_series(data: AccountData, times: np.ndarray, expected: np.ndarray, start: float, hours: int = 48) -> Series:
    """Orders per hour over the last `hours`, with the usual level learnt for each hour and a
    band of two standard deviations: what a chart of the anomaly shows."""
    bins = len(expected)
    first = max(bins - hours, 0)
    edges = start + HOUR * np.arange(first, bins + 1)
    observed = np.diff(np.searchsorted(times, edges, "left"))
    usual = expected[first:bins]
    spread = 2 * np.sqrt(usual)
    return Series(datetime.fromtimestamp(edges[0], tz=data.now.tzinfo).isoformat(), 60,
                  tuple(int(v) for v in observed), tuple(round(float(v), 2) for v in usual),
                  tuple(round(float(max(v - w, 0)), 2) for v, w in zip(usual, spread)),
                  tuple(round(float(v + w), 2) for v, w in zip(usual, spread)))


def _sku_shortfall(data: AccountData, onset: float, due: float) -> list[SkuShortfall]:
    """SKUs that usually sell in the fallen stretch (their share of the shop's orders over the
    history before it, times the orders due), ordered by how many orders they are missing."""
    moment = datetime.fromtimestamp(onset, tz=data.now.tzinfo)
    before = data.orders_between(data.now - timedelta(days=28), moment)
    observed = data.orders_between(moment, data.now).sku_counts()
    total = max(len(before), 1)
    rows = [SkuShortfall(sku, round(count / total * due, 1), observed.get(sku, 0))
            for sku, count in before.sku_counts().items() if observed.get(sku, 0) < count / total * due]
    return sorted(rows, key=lambda r: r.observed - r.expected)


SALES_DROP = Rule("sales_drop", SalesDropConfig, sales_drop, needs_postings=True)
CAUSE_RULES = ("card_problems", "stock_out")


def fold_into_causes(data: AccountData, findings: list[Finding], min_drop: float) -> list[Finding]:
    """A shop's sales fall that its causes explain (SKUs out of stock or with blocked cards, each
    with its own finding: without them, the rest of the shop did not fall by `min_drop`) is not a
    second alert: it becomes a line in each cause's alert, the orders and rubles that cause costs."""
    out = list(findings)
    for sales in [f for f in findings if f.rule == "sales_drop" and f.entity == "account"]:
        e = sales.evidence_as(SalesDropEvidence)
        onset = data.now - timedelta(hours=e.window_hours)
        rows = {r.sku: r for r in _sku_shortfall(data, onset.timestamp(), e.expected)}
        short = {sku: r.expected - r.observed for sku, r in rows.items()}
        causes = [f for f in out if f.rule in CAUSE_RULES and short.keys() & set(f.affected_skus)]
        caused = {sku for f in causes for sku in f.affected_skus} & short.keys()
        rest_due = e.expected - sum(rows[sku].expected for sku in caused)
        rest_missing = e.expected - e.observed - sum(short[sku] for sku in caused)
        if not causes or rest_missing >= max(min_drop * rest_due, 1.0):
            continue  # the rest of the shop fell too (by a whole order at least): an alert of its own
        out.remove(sales)
        for cause in causes:
            missing = sum(short.get(sku, 0.0) for sku in cause.affected_skus)
            out[out.index(cause)] = replace(cause, symptom=Symptom(e.window_hours, round(missing, 1),
                                                                   round(missing * e.order_value)),
                                            at_stake=at_stake(missing * e.order_value, "missed"))
    return out


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
    counts = recent.sku_counts()
    times = recent.created
    lines = recent.line_skus[::-1]
    seen, latest = np.unique(lines, return_index=True)  # each SKU's latest line
    last_order = dict(zip(seen.tolist(), times[recent.line_posting[::-1][latest]].tolist()))
    cards = {c.sku: c for c in data.cards}
    stock = _free_stock(data)
    threshold = config.false_alarms_per_month / max(len(recent) * 30 / config.history_days, 1)
    findings = []
    for sku, count in counts.items():
        if count < config.min_orders:
            continue
        share = count / len(recent)
        since = datetime.fromtimestamp(last_order[sku], timezone.utc)
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
            topic=None if "stock_zero" in causes else "technical", affected_skus=[sku],
            at_stake=at_stake(expected * order_value(data, sku), "missed")))
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
            started_at=data.midnight(last_day),
            evidence=TrafficDropEvidence(sku, last_day, views, round(usual_views, 1), round(conv, 4),
                                         round(usual_conv, 4), views_fell, conv_fell,
                                         min(p_views if views_fell else 1.0, p_conv if conv_fell else 1.0)),
            topic="marketing", affected_skus=[sku]))
    return findings


TRAFFIC_DROP = Rule("traffic_drop", TrafficDropConfig, traffic_drop)
