"""returns_spike: more orders coming back than this account's (or SKU's) own return rate explains."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from pydantic import Field

from rules.base import AccountData, Finding, Order, Return, Rule, RuleConfig, finding
from rules.stats import high_count_p_value

DAMAGE_WORDS = ("брак", "поврежд", "damage", "defect")


class ReturnsSpikeConfig(RuleConfig):
    window_days: int = Field(7, ge=3, le=30)
    baseline_days: int = Field(21, ge=14, le=120)
    lag_days: int = Field(7, ge=0, le=30)  # returns come back about this long after the order
    min_returns: int = Field(5, ge=1)
    min_ratio: float = Field(2.0, gt=1)
    alpha: float = Field(1e-3, gt=0, lt=0.5)  # for the account and all its SKUs together
    dispersion: float = Field(0.05, ge=0, le=1)


def returns_spike(data: AccountData, config: ReturnsSpikeConfig) -> list[Finding]:
    """Returns in the last `window_days` against the rate of the `baseline_days` before, scaled by
    how many orders could have come back in each span (orders placed `lag_days` earlier), for the
    account and for each SKU. Names the dominant return reason."""
    now, window = data.now, timedelta(days=config.window_days)
    base_start = now - window - timedelta(days=config.baseline_days)
    if data.history_since is None or data.history_since > base_start - timedelta(days=config.lag_days):
        return []
    lag = timedelta(days=config.lag_days)
    recent = [r for r in data.returns if now - window <= r.returned_at < now]
    base = [r for r in data.returns if base_start <= r.returned_at < now - window]
    recent_orders = data.orders_between(now - window - lag, now - lag)
    base_orders = data.orders_between(base_start - lag, now - window - lag)
    units = sorted({r.sku for r in recent})
    tests = len(units) + 1
    account_rate = len(base) / max(len(base_orders), 1)
    account = _judge(data, config, "account", None, recent, base, recent_orders, base_orders, tests)
    skus = [hit for sku in units if (hit := _judge(
        data, config, f"sku:{sku}", sku, [r for r in recent if r.sku == sku], [r for r in base if r.sku == sku],
        [o for o in recent_orders if sku in o.skus], [o for o in base_orders if sku in o.skus], tests, account_rate))]
    if account and any(hit.evidence["returns"] > 0.5 * account.evidence["returns"] for hit in skus):
        account = None  # one SKU makes the account spike: report it once, on the SKU
    return ([account] if account else []) + skus


def _judge(data: AccountData, config: ReturnsSpikeConfig, entity: str, sku: int | None, recent: list[Return],
           base: list[Return], recent_orders: list[Order], base_orders: list[Order], tests: int,
           account_rate: float | None = None) -> Finding | None:
    if len(recent) < config.min_returns or not recent_orders:
        return None
    # A SKU's own history is thin: shrink its rate towards the account's (20 orders' worth of prior).
    prior = 20
    rate = (len(base) + prior * account_rate) / (len(base_orders) + prior) if account_rate is not None \
        else len(base) / max(len(base_orders), 1)
    expected = rate * len(recent_orders)
    p_value = high_count_p_value(len(recent), expected, config.dispersion)
    if len(recent) < config.min_ratio * expected or p_value >= config.alpha / tests:
        return None
    reasons = Counter(r.reason for r in recent)
    reason, count = reasons.most_common(1)[0]
    damage = any(word in reason.lower() for word in DAMAGE_WORDS)
    return finding(
        "returns_spike", data, severity="warning", entity=entity, started_at=min(r.returned_at for r in recent),
        evidence={"sku": sku, "returns": len(recent), "expected": round(expected, 1), "window_days": config.window_days,
                  "return_rate": round(len(recent) / len(recent_orders), 3), "usual_rate": round(rate, 3),
                  "p_value": p_value, "top_reason": reason, "top_reason_share": round(count / len(recent), 2),
                  "reasons": dict(reasons.most_common(5))},
        topic="logistics" if damage else None, affected_postings=sorted(r.posting_number for r in recent),
        affected_skus=[sku] if sku else sorted({r.sku for r in recent}))


RETURNS_SPIKE = Rule("returns_spike", ReturnsSpikeConfig, returns_spike)
