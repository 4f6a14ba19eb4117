"""History as it looked at an earlier moment, for backtests: only what was known by then."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import numpy as np

from rules.base import AccountData, RatingSeries, Stock

# Rules whose inputs carry their own timestamps, so an earlier moment can be rebuilt exactly
# (stock_out from the daily FBS stock history, charges from their days). The others read current
# snapshots (card status, FBO stock, open postings, return statuses, key expiry) that the state
# file does not keep as history.
REPLAYABLE = ("sales_drop", "sales_stopped", "traffic_drop", "returns_spike", "rating_risk", "finance_anomaly",
              "stock_out", "charges")


def as_of(data: AccountData, moment: datetime) -> AccountData:
    """`data` cut at `moment`: orders placed, returns made, days and rating values completed
    before it. Rating statuses are recomputed from the account's thresholds."""
    day = data.local_date(moment)
    return replace(
        data, now=moment, orders=data.orders[:int(np.searchsorted(data.orders.created, moment.timestamp()))],
        returns=[r for r in data.returns if r.returned_at < moment],
        money=[m for m in data.money if m.day < day], payouts={d: v for d, v in data.payouts.items() if d < day},
        traffic=[t for t in data.traffic if t.day < day],
        ratings=[_rating_as_of(r, moment) for r in data.ratings], penalty_score_exceeded=False,
        cards=[], stocks=_stocks_as_of(data, day), sources={}, key_expires_at=None, fbs_index=None,
        charges=[c for c in data.charges if c.day < day], price_moves=[])


def _stocks_as_of(data: AccountData, day) -> list[Stock]:
    """FBS stock as last seen on the days before `day` (a later snapshot of that day is not yet known)."""
    latest: dict[tuple[int, str], Stock] = {}
    for row in data.stock_history:  # oldest first
        if row.day < day:
            latest[(row.sku, row.scheme)] = Stock(row.sku, row.scheme, row.available)
    return list(latest.values())


def _rating_as_of(series: RatingSeries, moment: datetime) -> RatingSeries:
    values = tuple(v for v in series.values if v[0] < moment)
    status = "OK"
    if values and series.warning is not None and series.danger is not None:
        value = values[-1][1]
        worse = (lambda a, b: a <= b) if series.higher_is_better else (lambda a, b: a >= b)
        status = "CRITICAL" if worse(value, series.danger) else "WARNING" if worse(value, series.warning) else "OK"
    return replace(series, values=values, status=status)
