"""Stored rows as the rules read them: card error levels, rating direction, FBO days of cover."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

from monitor.sources import products, rating, stocks
from monitor.store import Store


def card_row(**changes) -> dict:
    row = {"sku": 7, "offer_id": "ART-7", "name": "Лампа", "status": "price_sent", "status_name": "Продаётся",
           "moderate_status": "approved", "status_failed": "", "archived": 0, "autoarchived": 0,
           "status_updated_at": "2026-11-18T09:00:00+00:00", "availability": "[]", "errors": "[]", "price": 990.0,
           "color_index": "GREEN", "competitor_price": None, "tariffs": '{"fbo": [15.0, 60.0], "fbs": [12.0, null]}'}
    return {**row, **changes}


def test_card_errors_of_level_warning_do_not_count_and_only_unavailable_reasons_do() -> None:
    errors = [{"code": "a", "level": "ERROR_LEVEL_WARNING", "texts": {"message": "photo could be better"}},
              {"code": "b", "level": "ERROR_LEVEL_ERROR", "texts": {"message": "no colour"}},
              {"code": "c", "level": "ERROR_LEVEL_ERROR", "texts": {"message": ""}}]
    availability = [{"availability": "AVAILABLE", "reasons": ["ok"]},
                    {"availability": "UNAVAILABLE", "reasons": ["blocked", "no stock"]}]
    card = products.card(card_row(errors=json.dumps(errors), availability=json.dumps(availability)))
    assert card.errors == ("no colour", "c")  # the code stands in for a missing text
    assert card.unavailable_reasons == ("blocked", "no stock")
    assert card.changed_at == datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)
    assert card.percent == (("fbo", 15.0), ("fbs", 12.0)) and card.logistics == (("fbo", 60.0),)  # unknown: left out


def test_a_card_without_a_status_is_unknown_and_never_checked_as_fine() -> None:
    from rules.base import AccountData, standard_checks
    card = products.card(card_row(status=None, status_name=None))
    assert card.status == "unknown"
    data = AccountData(account="a", client_id=1, now=datetime(2026, 11, 18, tzinfo=timezone.utc), orders=[],
                       history_since=None, cards=[card])
    [check] = [c for c in standard_checks(data, [7]) if c.kind == "card_status"]
    assert not check.ok and check.value == "unknown"


def test_rating_direction_comes_from_ozon_else_from_the_thresholds() -> None:
    base = {"rating": "r", "name": "", "status": "OK", "values": [{"date_from": "2026-11-17T00:00:00+00:00",
                                                                    "value": 1.5}]}
    lower = rating.rating({**base, "direction": "LOWER_IS_BETTER", "warning": 1.0, "danger": 2.0})
    assert not lower.higher_is_better and lower.name == "r" and lower.current == 1.5
    assert rating.rating({**base, "direction": None, "warning": 1.0, "danger": 2.0}).higher_is_better is False
    assert rating.rating({**base, "direction": None, "warning": 93.0, "danger": 90.0}).higher_is_better is True


def test_fbo_days_of_cover_is_stock_over_ozons_daily_sales(tmp_path) -> None:
    store = Store(tmp_path / "state.db")
    store.save(stocks.FBO_STOCKS, [{"account": "a", "sku": 1, "warehouse_id": w, "available": 30, "ads": 2.5}
                                   for w in (1, 2)])
    store.save(stocks.FBO_STOCKS, [{"account": "a", "sku": 2, "warehouse_id": 1, "available": 4, "ads": 0}])
    store.save(stocks.STOCKS, [{"account": "a", "sku": 1, "type": "fbs", "present": 5, "reserved": 2}])
    stock = {(s.sku, s.scheme): s for s in stocks.stocks(store, "a", date(2026, 11, 18))}
    assert stock[(1, "fbo")].available == 60 and stock[(1, "fbo")].days_of_cover == 12.0
    assert stock[(2, "fbo")].days_of_cover is None  # no sales: no cover figure, not "infinite"
    assert stock[(1, "fbs")].available == 3  # reserved units are not free


def test_an_fbo_grade_turned_idle_this_week_says_since_when(tmp_path) -> None:
    store = Store(tmp_path / "state.db")
    store.save(stocks.FBO_STOCKS, [{"account": "a", "sku": sku, "warehouse_id": 1, "available": 9, "ads": 0.1,
                                    "turnover_grade": grade} for sku, grade in ((1, "NO_SALES"), (2, "NO_SALES"),
                                                                                (3, "POPULAR"))])
    history = {1: ["POPULAR", "POPULAR", "NO_SALES"], 2: ["NO_SALES"] * 3, 3: ["POPULAR"] * 3}
    store.save(stocks.FBO_GRADES, [{"account": "a", "sku": sku, "day": f"2026-11-{16 + k}", "grade": grade}
                                   for sku, grades in history.items() for k, grade in enumerate(grades)])
    turned = {s.sku: s.turned_on for s in stocks.stocks(store, "a", date(2026, 11, 18)) if s.scheme == "fbo"}
    assert turned == {1: date(2026, 11, 18), 2: None, 3: None}  # idle all week, or selling: not "turned"
    store.close()
