"""sales_drop: the account's orders in the last hours fell far below the same hours of past weeks."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import numpy as np
from pydantic import Field

from rules.base import AccountData, Finding, Order, Rule, RuleConfig
from rules.stats import low_count_p_value

WEEK = timedelta(days=7)


class SalesDropConfig(RuleConfig):
    windows_hours: list[int] = Field([3, 6, 24], min_length=1)
    baseline_weeks: int = Field(4, ge=2, le=12)
    alpha: float = Field(1e-4, gt=0, lt=0.5)
    dispersion: float = Field(0.02, ge=0, le=1)
    min_drop: float = Field(0.5, gt=0, le=1)
    min_expected: float = Field(8.0, gt=0)


def sales_drop(data: AccountData, config: SalesDropConfig) -> list[Finding]:
    """Compare orders in each trailing window with the same window 1..N weeks back (same weekday
    and hours, so weekly and daily seasonality cancel out). Fire on the shortest window where the
    fall is both significant and large: it dates the problem most closely. Stays quiet when the history does not
    cover the baseline weeks or the expected volume is too small to tell a stop from chance."""
    times = np.array(sorted(o.created_at.timestamp() for o in data.orders))
    fired: tuple[float, int, float, int, list[int]] | None = None
    for hours in sorted(config.windows_hours):
        window = timedelta(hours=hours)
        oldest_needed = data.now - window - config.baseline_weeks * WEEK
        if data.history_since is None or data.history_since > oldest_needed:
            continue
        observed = _count(times, data.now - window, data.now)
        baseline = [_count(times, data.now - window - k * WEEK, data.now - k * WEEK)
                    for k in range(1, config.baseline_weeks + 1)]
        expected, p_value = low_count_p_value(observed, baseline, config.dispersion)
        if expected < config.min_expected or observed > (1 - config.min_drop) * expected:
            continue
        if p_value < config.alpha:
            fired = (p_value, hours, expected, observed, baseline)
            break
    if fired is None:
        return []
    p_value, hours, expected, observed, baseline = fired
    window = timedelta(hours=hours)
    last_order = _last_before(times, data.now)
    started_at = (datetime.fromtimestamp(last_order, tz=data.now.tzinfo)
                  if observed == 0 and last_order is not None else data.now - window)
    drop = 1 - observed / expected
    skus = _sku_shortfall(data.orders, data.now, window, config.baseline_weeks)
    return [Finding(
        rule="sales_drop", account=data.account, client_id=data.client_id,
        severity="critical" if drop >= 0.9 else "warning", entity="account", started_at=started_at,
        evidence={
            "window_hours": hours, "observed": observed, "expected": round(expected, 1),
            "baseline_counts": baseline, "drop_share": round(drop, 3), "p_value": p_value,
            "last_order_at": datetime.fromtimestamp(last_order, tz=data.now.tzinfo).isoformat() if last_order else None,
            "top_skus": skus[:10],
        },
        topic="technical", affected_skus=[row["sku"] for row in skus[:10]],
    )]


def _count(times: np.ndarray, start: datetime, end: datetime) -> int:
    return int(np.searchsorted(times, end.timestamp(), "left") - np.searchsorted(times, start.timestamp(), "left"))


def _last_before(times: np.ndarray, end: datetime) -> float | None:
    index = int(np.searchsorted(times, end.timestamp(), "left"))
    return float(times[index - 1]) if index else None


def _sku_shortfall(orders: list[Order], now: datetime, window: timedelta, weeks: int) -> list[dict[str, float]]:
    """SKUs that usually sell in this window, ordered by how many orders they are missing."""
    observed: Counter[int] = Counter()
    usual: Counter[int] = Counter()
    for order in orders:
        for k in range(weeks + 1):
            if now - window - k * WEEK <= order.created_at < now - k * WEEK:
                (observed if k == 0 else usual).update(order.skus)
    rows = [{"sku": sku, "expected": round(count / weeks, 1), "observed": observed[sku]}
            for sku, count in usual.items() if observed[sku] < count / weeks]
    return sorted(rows, key=lambda r: r["observed"] - r["expected"])


SALES_DROP = Rule("sales_drop", SalesDropConfig, sales_drop)
