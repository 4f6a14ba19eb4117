"""Property-based tests: any config file gives settings or a clear ConfigError (never a
traceback, never the secret), and any JSON answer of any Seller API method gives a validated
model or a BadResponse naming the method; the rules' count and trend tests give what
`scipy.stats` gives, over their whole range; and the postings' columns answer what the list
of postings they hold would."""
from __future__ import annotations

import inspect
import math
import tempfile
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from scipy import stats

from monitor.config import ConfigError, Settings, load_config
from monitor.ozon import models
from monitor.ozon.client import BadResponse, parse
from rules.base import Order, Orders
from rules.stats import high_count_p_value, linregress, low_count_p_value

SECRET = "TOP-SECRET-KEY-93"
KEYS = ["name", "client_id", "api_key", "api_key_env", "api_key_file", "base_url", "timeout_seconds", "type",
        "url", "format", "chat_id", "host", "port", "sender", "to", "directory", "state_dir", "timezone", "language",
        "poll_minutes", "history_days", "repeat_hours", "quiet_hours", "enabled", "alpha", "sales_drop", "x"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False, width=32),
                    st.text(max_size=20), st.just(SECRET), st.sampled_from(["Europe/Moscow", "en", "file", "webhook",
                                                                            "email", "http://127.0.0.1:9", "a@b.c"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
                      max_leaves=12)
sections = st.fixed_dictionaries({}, optional={
    "monitor": st.dictionaries(st.sampled_from(KEYS), values, max_size=4),
    "accounts": st.lists(st.dictionaries(st.sampled_from(KEYS), values, max_size=6), max_size=3),
    "channels": st.lists(st.dictionaries(st.sampled_from(KEYS), values, max_size=5), max_size=3),
    "alerts": st.dictionaries(st.sampled_from(KEYS), values, max_size=3),
    "rules": st.dictionaries(st.sampled_from(["sales_drop", "stock_out", "nope"]),
                             st.dictionaries(st.sampled_from(KEYS), values, max_size=3), max_size=2),
    "x": values,
})


def toml_safe(value: Any) -> Any:
    """TOML has no null: drop None the way a user simply leaves a key out."""
    if isinstance(value, dict):
        return {k: toml_safe(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [toml_safe(v) for v in value if v is not None]
    return value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sections)
def test_any_config_gives_settings_or_a_clear_error_without_the_secret(data: dict) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.toml"
        try:
            path.write_text(tomli_w.dumps(toml_safe(data)), encoding="utf-8")
        except (TypeError, ValueError):
            return  # not expressible in TOML (e.g. mixed-type arrays in old writers)
        try:
            loaded = load_config(path, require_secrets=False)
        except ConfigError as exc:
            text = str(exc)
            assert text.startswith(str(path)) and SECRET not in text
        else:
            assert isinstance(loaded, Settings) and loaded.accounts


RESPONSE_MODELS = [cls for _, cls in inspect.getmembers(models, inspect.isclass)
                   if issubclass(cls, BaseModel) and cls.__module__ == models.__name__
                   and cls not in (models.Model, models.Page)]
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                                     st.text(max_size=10)),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                           max_leaves=15)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(RESPONSE_MODELS), json_values)
def test_any_answer_gives_a_model_or_a_bad_response_naming_the_method(model: type[BaseModel], payload: Any) -> None:
    try:
        parsed = parse("/v9/some/method", payload, model)
    except BadResponse as exc:
        assert exc.method == "/v9/some/method" and str(exc).startswith("/v9/some/method: ")
    else:
        assert isinstance(parsed, model)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([models.PostingPage, models.ReturnsPage, models.StocksPage, models.AccrualPage]),
       st.dictionaries(st.sampled_from(["code", "message", "details", "error"]), json_values, min_size=1))
def test_an_object_without_the_list_is_never_an_empty_page(model: type[BaseModel], payload: dict) -> None:
    try:
        parse("/m", payload, model)
    except BadResponse:
        return
    raise AssertionError(f"{model.__name__} accepted {payload!r} as a page")


@settings(max_examples=300, deadline=None)
@given(st.floats(0.01, 20_000), st.one_of(st.just(0.0), st.floats(1e-6, 3.0)), st.floats(0.0, 2.5))
def test_count_tests_agree_with_scipy(expected: float, dispersion: float, where: float) -> None:
    """Poisson (no dispersion) and negative binomial tails, from far below the mean to far above."""
    observed = int(expected * where)
    variance = expected + dispersion * expected**2
    if dispersion:
        p = expected / variance
        below, above = stats.nbinom.cdf(observed, expected * p / (1 - p), p), stats.nbinom.sf(observed - 1, expected * p / (1 - p), p)
    else:
        below, above = stats.poisson.cdf(observed, expected), stats.poisson.sf(observed - 1, expected)
    assert low_count_p_value(observed, [expected], dispersion)[1] == pytest.approx(below, rel=1e-8, abs=1e-300)
    assert high_count_p_value(observed, expected, dispersion) == pytest.approx(above, rel=1e-6, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-100, 100), min_size=3, max_size=120), st.floats(-2, 2))
def test_trend_p_value_agrees_with_scipy(noise: list[float], slope: float) -> None:
    x = list(range(len(noise)))
    y = [slope * i + e for i, e in zip(x, noise)]
    ours, theirs = linregress(x, y), stats.linregress(x, y)
    assume(not math.isnan(theirs.pvalue))  # no variation at all: scipy has no p-value, ours is 1
    assert ours.slope == pytest.approx(theirs.slope, rel=1e-9, abs=1e-9)
    assert ours.pvalue == pytest.approx(theirs.pvalue, rel=1e-6, abs=1e-9)


EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
moments = st.integers(0, 10**6).map(lambda s: EPOCH + timedelta(seconds=s, microseconds=s % 7 * 1000))
postings = st.lists(st.builds(
    Order, st.text("0123456789-", min_size=1, max_size=20), moments, st.lists(st.integers(1, 6), max_size=3).map(tuple),
    st.sampled_from(["delivered", "delivering", "cancelled", ""]), st.sampled_from(["fbs", "fbo"]),
    st.integers(0, 5), st.floats(0, 1e6), st.one_of(st.none(), moments), st.one_of(st.none(), moments),
    st.booleans()), max_size=30, unique_by=lambda o: o.posting_number)


@given(postings, moments, moments, st.lists(st.integers(0, 7), max_size=4, unique=True).map(sorted))
@settings(max_examples=300, deadline=None)
def test_orders_columns_answer_as_the_list_would(placed: list[Order], start: datetime, end: datetime,
                                                 skus: list[int]) -> None:
    placed = sorted(placed, key=lambda o: o.created_at)
    orders = Orders.of(placed)
    assert list(orders) == placed
    window = [o for o in placed if start <= o.created_at < end]
    assert list(orders.between(start, end)) == window
    assert orders.between(start, end).sku_counts() == dict(Counter(s for o in window for s in o.skus))
    assert {s: at.tolist() for s, at in orders.with_skus(skus).items()} == \
        {s: [i for i, o in enumerate(placed) if s in o.skus] for s in skus}
    numbers = [o.posting_number for o in placed[::2]] + ["absent"]
    assert orders.index_of(numbers).tolist() == [i for i in range(0, len(placed), 2)] + [-1]
    halves = Orders.concat([orders[:len(placed) // 2], orders[len(placed) // 2:]])
    assert list(halves) == placed
