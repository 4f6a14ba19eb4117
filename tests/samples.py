"""One finding for every branch of every renderer: account and SKU scope, with and without a
support request. Built from the rules' own evidence dataclasses."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from rules import RULES, Finding
from rules.access import KeyExpiryEvidence, SourceEvidence
from rules.base import AtStake, Check, Product, Series, Symptom
from rules.cards import CardProblemsEvidence, PriceIndexEvidence, PriceIndexItem
from rules.finance import (ChargeLevelEvidence, ChargeShareEvidence, FineEvidence, PayoutMissingEvidence, TariffChange,
                           TariffsEvidence)
from rules.logistics import (CancellationsEvidence, OzonCancellationsEvidence, ShipmentDeadlineEvidence,
                             StuckInDeliveryEvidence)
from rules.base import ActLine
from rules.promos import AutoPromotionEvidence, GuardItem, PriceGuardEvidence, UnderFloor
from rules.rating import PenaltyScoreEvidence, RatingRiskEvidence
from rules.returns import ReturnDecisionsEvidence, ReturnsSpikeEvidence, ReturnsStorageEvidence
from rules.sales import CauseShare, SalesDropEvidence, SalesStoppedEvidence, SkuShortfall, TrafficDropEvidence
from rules.stock import EmptyStockEvidence, StockHealthEvidence, StockOutEvidence
from rules.supplies import AcceptanceActEvidence, StuckSuppliesEvidence, StuckSupply

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=timezone.utc)  # 15:00 in Moscow
POSTINGS = [f"0000{n:06d}-0001-1" for n in range(25)]
SERIES = Series(start=(NOW - timedelta(hours=48)).isoformat(), step_minutes=60, observed=(5.0,) * 43 + (0.0,) * 5,
                expected=(5.5,) * 48, low=(3.0,) * 48, high=(8.0,) * 48)
PRODUCTS = (Product(111, "ART-111", "Чайник"), Product(222, "ART-222", "Кружка"))
CHECKS = (Check("postings_fresh", True, (NOW - timedelta(minutes=5)).isoformat()),
          Check("stock", True, "14", 111), Check("card_status", True, "Продаётся", 111),
          Check("price_quarantine", True, "", 111))


def sample(rule: str, evidence: object, *, entity: str = "account", severity: str = "warning",
           topic: str | None = "technical", postings: list[str] | None = None, skus: list[int] | None = None,
           started_at: datetime = NOW - timedelta(hours=5), at_stake: AtStake | None = None,
           symptom: Symptom | None = None) -> Finding:
    return Finding(rule=rule, account="shop", client_id=123456, severity=severity, entity=entity,  # type: ignore[arg-type]
                   started_at=started_at, evidence=evidence, topic=topic,  # type: ignore[arg-type]
                   affected_postings=postings or [], affected_skus=skus or [], products=PRODUCTS, checks=CHECKS,
                   at_stake=at_stake, symptom=symptom)


def samples() -> dict[str, Finding]:
    """Name -> finding; every rule appears, every branch of its renderer once."""
    stop = NOW - timedelta(hours=5)
    return {
        "sales_drop/stop": sample("sales_drop", SalesDropEvidence(
            "account", None, 5, 0, 24.0, 150.0, 1.0, 1e-9, stop,
            (SkuShortfall(111, 3.5, 0), SkuShortfall(222, 2.0, 0)), SERIES, 1450.0,
            (CauseShare("card_failed", 1, 0.15), CauseShare("stock_zero", 1, 0.08))), severity="critical", skus=[111, 222],
            started_at=stop, at_stake=AtStake(34800, "missed")),
        "sales_drop/partial": sample("sales_drop", SalesDropEvidence(
            "account", None, 6, 30, 75.0, 300.0, 0.6, 1e-6, NOW - timedelta(minutes=10), (), SERIES),
            started_at=NOW - timedelta(hours=6)),
        "sales_drop/sku": sample("sales_drop", SalesDropEvidence(
            "sku", 111, 24, 1, 21.0, 21.0, 0.95, 1e-7, NOW - timedelta(hours=20), (), SERIES),
            entity="sku:111", severity="critical", skus=[111]),
        "sales_stopped/cause": sample("sales_stopped", SalesStoppedEvidence(
            111, stop, 45, 28, 6.2, 1e-5, ("stock_zero", "card_archived")), entity="sku:111", topic=None, skus=[111],
            at_stake=AtStake(8990, "missed")),
        "sales_stopped/unexplained": sample("sales_stopped", SalesStoppedEvidence(
            222, stop, 21, 28, 4.0, 1e-5, ()), entity="sku:222", skus=[222]),
        "traffic_drop/views": sample("traffic_drop", TrafficDropEvidence(
            111, date(2026, 11, 17), 120, 900.0, 0.05, 0.06, True, False, 1e-8), entity="sku:111",
            topic="marketing", skus=[111]),
        "traffic_drop/conversion": sample("traffic_drop", TrafficDropEvidence(
            111, date(2026, 11, 17), 880, 900.0, 0.01, 0.06, False, True, 1e-6), entity="sku:111",
            topic="marketing", skus=[111]),
        "returns_spike/shop": sample("returns_spike", ReturnsSpikeEvidence(
            None, 31, 9.5, 800, 14, 0.04, 1e-9, "Не подошёл размер", 0.4, {"Не подошёл размер": 12}),
            topic=None, postings=POSTINGS, skus=[111, 222]),
        "returns_spike/sku": sample("returns_spike", ReturnsSpikeEvidence(
            111, 25, 1.9, 122, 14, 0.04, 6.7e-16, "Брак или повреждение", 0.88, {"Брак или повреждение": 22}),
            entity="sku:111", topic="logistics", postings=POSTINGS, skus=[111], at_stake=AtStake(36250, "value")),
        "cancellations/danger_ahead": sample("cancellations", CancellationsEvidence(
            7.5, 9, 120, 4.0, 10.0, "ozon", None, 3.0, 14), topic=None, postings=POSTINGS[:9]),
        "cancellations/warning_ahead": sample("cancellations", CancellationsEvidence(
            3.0, 4, 133, 4.0, 10.0, "config", 2.0, None, 14), topic=None, postings=POSTINGS[:4]),
        "cancellations/ozon_index": sample("cancellations", CancellationsEvidence(
            7.5, 9, 160, 4.0, 10.0, "ozon", None, 3.0, 14, "ozon_index", 3, 1840.0), topic=None,
            postings=POSTINGS[:12], at_stake=AtStake(1840, "charged")),
        "cancellations/over": sample("cancellations", CancellationsEvidence(
            12.1, 16, 132, 4.0, 10.0, "ozon", 0.0, 0.0, 14), severity="critical", topic=None, postings=POSTINGS[:16]),
        "shipment_deadline/late": sample("shipment_deadline", ShipmentDeadlineEvidence(
            "late", 21, 19, NOW - timedelta(hours=3), 4.0, 22.1, 7), entity="late", severity="critical",
            topic="logistics", postings=POSTINGS[:21], skus=[111, 222]),
        "shipment_deadline/due": sample("shipment_deadline", ShipmentDeadlineEvidence(
            "due", 1, 0, NOW + timedelta(hours=2), 4.0, 0.0, 7), entity="due", topic=None, postings=POSTINGS[:1]),
        "stuck_in_delivery": sample("stuck_in_delivery", StuckInDeliveryEvidence(2, 25.5, 12.0, 4500.0),
                                    entity="stuck", topic="logistics", postings=POSTINGS[:2], skus=[111],
                                    at_stake=AtStake(4500, "value")),
        "stock_out/empty": sample("stock_out", EmptyStockEvidence("fbs", (111,), 3.2),
                                  entity="empty:fbs", severity="critical", topic=None, skus=[111],
                                  at_stake=AtStake(4640, "per_day")),
        "stock_out/many_empty": sample("stock_out", EmptyStockEvidence("fbo", (111, 222), 5.5),
                                       entity="empty:fbo", severity="critical", topic=None, skus=[111, 222],
                                       at_stake=AtStake(7900, "per_day")),
        "stock_out/soon": sample("stock_out", StockOutEvidence(222, "fbo", 5, 2.0, 2.5, 7.0, NOW + timedelta(days=2.5)),
                                 entity="sku:222:fbo", topic=None, skus=[222]),
        "rating_risk/penalty": sample("rating_risk", PenaltyScoreEvidence(), entity="penalty_score",
                                      severity="critical", topic=None),
        "rating_risk/danger_ahead": sample("rating_risk", RatingRiskEvidence(
            "rating_on_time", "Доставка вовремя", "WARNING", "warning_heading_to_danger", 92.81, 93.0, 90.0, True,
            None, 3.7, (94.0, 93.5, 93.1, 92.81)), entity="rating:rating_on_time", severity="critical", topic=None),
        "rating_risk/warning_ahead": sample("rating_risk", RatingRiskEvidence(
            "rating_on_time", "Доставка вовремя", "OK", "trend", 94.1, 93.0, 90.0, True, 5.0, None,
            (95.5, 95.0, 94.6, 94.1)), entity="rating:rating_on_time", topic=None),
        "card_problems/blocked": sample("card_problems", CardProblemsEvidence(
            (111,), ("declined",), "failed", "Не прошёл модерацию", "declined", "moderation",
            ("Товар заблокирован модерацией",), ()), entity="cause:a1", severity="critical", skus=[111]),
        "card_problems/many": sample("card_problems", CardProblemsEvidence(
            (111, 222), ("declined",), "failed", "Не прошёл модерацию", "declined", "moderation",
            ("Фотографии не соответствуют товару",), ()), entity="cause:b2", severity="critical", skus=[111, 222],
            at_stake=AtStake(26100, "missed"), symptom=Symptom(5, 18.0, 26100)),
        "card_problems/errors": sample("card_problems", CardProblemsEvidence(
            (222,), ("errors",), "price_sent", "Продаётся", "approved", "", (),
            ("Не заполнен атрибут «Цвет»",)), entity="cause:c3", skus=[222]),
        "finance_anomaly/payout": sample("finance_anomaly", PayoutMissingEvidence(
            date(2026, 11, 16), 0, 5, 120000.0), entity="payout:2026-11-16", topic="finance",
            at_stake=AtStake(120000, "value")),
        "finance_anomaly/commission": sample("finance_anomaly", ChargeShareEvidence(
            "commission_share", date(2026, 11, 17), 0.21, 0.15, 41, 98000.0, 5880.0), entity="commission_share",
            topic="finance", at_stake=AtStake(5880, "charged")),
        "finance_anomaly/delivery": sample("finance_anomaly", ChargeShareEvidence(
            "delivery_share", date(2026, 11, 17), 0.12, 0.08, 41, 98000.0, 3920.0), entity="delivery_share",
            topic="finance"),
        "api_access/key_expiry": sample("api_access", KeyExpiryEvidence(NOW + timedelta(days=9), 9.0),
                                        entity="key_expiry", topic=None),
        "api_access/server_error": sample("api_access", SourceEvidence(
            "source_failing", "fbs", "/v3/posting/fbs/list: HTTP 503 Service Unavailable", "server_error",
            NOW - timedelta(hours=4), None, ("fbs", "fbs_unfulfilled")), entity="postings", severity="critical"),
        "api_access/key_rejected": sample("api_access", SourceEvidence(
            "access_rejected", "access", "/v1/roles: HTTP 404 Invalid Api-Key", "key_rejected", NOW - timedelta(hours=1),
            None, ("access",)), entity="key_rejected", severity="critical", topic=None),
        "api_access/account_blocked": sample("api_access", SourceEvidence(
            "access_rejected", "access", "/v1/roles: HTTP 403 Company is blocked", "account_blocked",
            NOW - timedelta(hours=1), None, ("access",)), entity="account_blocked", severity="critical"),
        "api_access/switched_off": sample("api_access", SourceEvidence(
            "source_switched_off", "analytics", "/v1/analytics/data: the API key has no role", "missing_role",
            None, NOW + timedelta(hours=6), ("analytics",), ("/v1/analytics/data",)), entity="sources:missing_role",
            topic=None),
        "api_access/method_retired": sample("api_access", SourceEvidence(
            "source_switched_off", "fbo_stocks", "/v1/analytics/stocks: HTTP 404 method is not allowed",
            "method_retired", NOW - timedelta(hours=2), NOW + timedelta(hours=24), ("fbo_stocks",),
            ("/v1/analytics/stocks",)), entity="sources:method_retired", topic=None),
        "api_access/bad_request": sample("api_access", SourceEvidence(
            "source_failing", "returns", "/v1/returns/list: HTTP 400 limit", "bad_request", NOW - timedelta(hours=4),
            None, ("returns",), ("/v1/returns/list",)), entity="sources:bad_request", topic=None),
        "api_access/stale": sample("api_access", SourceEvidence(
            "data_stale", "fbo", None, None, NOW - timedelta(hours=3), None, ("fbo",)), entity="postings",
            severity="critical", topic=None),
        "charges/fines": sample("charges", FineEvidence(
            "Штраф за нарушение сроков отгрузки", tuple((date(2026, 11, 17), p, 500.0) for p in POSTINGS[:7]), 3500.0),
            entity="fine:3", topic="finance", postings=POSTINGS[:7], skus=[111],
            at_stake=AtStake(3500, "charged")),
        "charges/level": sample("charges", ChargeLevelEvidence(
            "Размещение товаров на складах Ozon", 2, date(2026, 11, 17), 12400.0, 4100.0),
            entity="level:2", topic="finance", at_stake=AtStake(8300, "charged")),
        "charges/unnamed": sample("charges", ChargeLevelEvidence("", 3, date(2026, 11, 17), 5200.0, 0.0),
                                  entity="level:3", topic="finance", at_stake=AtStake(5200, "charged")),
        "tariffs": sample("tariffs", TariffsEvidence(date(2026, 11, 16), (
            TariffChange(111, "fbo", 15.0, 18.0, 60.0, 60.0, 14600.0),
            TariffChange(222, "fbs", 12.0, 12.0, 60.0, 75.0, 5475.0)), 20075.0), entity="tariffs", topic=None,
            skus=[111, 222]),
        "price_index": sample("price_index", PriceIndexEvidence((
            PriceIndexItem(111, "GREEN", "RED", 1450.0, 1190.0, 31), PriceIndexItem(222, "SUPER", "YELLOW", 390.0, None, 4)),
            28, 35), entity="index", topic=None, skus=[111, 222], at_stake=AtStake(1660, "per_day")),
        "return_decisions/waiting": sample("return_decisions", ReturnDecisionsEvidence(
            "waiting", 3, 4200.0, 4.5, NOW + timedelta(hours=4.5), ("На согласовании у продавца",)),
            entity="waiting", severity="critical", topic=None, postings=POSTINGS[:3], skus=[111],
            at_stake=AtStake(4200, "value")),
        "return_decisions/lost": sample("return_decisions", ReturnDecisionsEvidence(
            "lost", 2, 2900.0, 0.0, None, ("Компенсация отклонена: истёк срок ответа",)), entity="lost",
            topic="finance", postings=POSTINGS[:2], skus=[222], at_stake=AtStake(2900, "value")),
        "returns_storage": sample("returns_storage", ReturnsStorageEvidence(
            "СЦ Хоругвино Возвраты", 4, 5600.0, 180.0, NOW + timedelta(days=3), NOW - timedelta(days=2)),
            entity="place:СЦ Хоругвино Возвраты", topic=None, postings=POSTINGS[:4], skus=[111, 222],
            at_stake=AtStake(5600, "value")),
        "returns_storage/no_place": sample("returns_storage", ReturnsStorageEvidence(
            "", 1, 900.0, 45.0, None, NOW - timedelta(days=4)), entity="place:", topic=None, postings=POSTINGS[:1],
            skus=[222]),
        "stock_health/grade": sample("stock_health", StockHealthEvidence(
            "NO_SALES", (111, 222), 42, 38000.0, 31), entity="grade:NO_SALES", topic=None, skus=[111, 222],
            at_stake=AtStake(38000, "value")),
        "stock_health/surplus": sample("stock_health", StockHealthEvidence(
            "SURPLUS", (111,), 120, 174000.0, 3), entity="grade:SURPLUS", topic=None, skus=[111]),
        "stock_health/removal": sample("stock_health", StockHealthEvidence(
            "removal", (111, 222), 9, 7300.0, 0, 5, 2, 0, 2), entity="removal", topic=None, skus=[111, 222],
            at_stake=AtStake(7300, "value")),
        "ozon_cancellations": sample("ozon_cancellations", OzonCancellationsEvidence(
            "fbo", 24, 190, 12.6, 0.4, 3, 41300.0), entity="ozon:fbo", severity="critical", topic="logistics",
            postings=POSTINGS[:24], skus=[111, 222], at_stake=AtStake(41300, "value")),
        "auto_promotions/upcoming": sample("auto_promotions", AutoPromotionEvidence(
            70049, "Неделя скидок 14.12", "upcoming", NOW + timedelta(hours=20), NOW + timedelta(hours=20),
            NOW + timedelta(days=9), (UnderFloor(111, 580.0, 1160.0, "min_price", 2.5), UnderFloor(222, 156.0, 195.0, "cost", 0.4)),
            1465.6), entity="promo:70049:upcoming", severity="critical", topic=None, skus=[111, 222],
            at_stake=AtStake(1466, "per_day")),
        "auto_promotions/entered": sample("auto_promotions", AutoPromotionEvidence(
            70048, "Неделя скидок 07.12", "entered", NOW - timedelta(days=2), NOW + timedelta(days=1),
            NOW + timedelta(days=8), (UnderFloor(111, 580.0, 990.0, "floor", 0.0),), 0.0),
            entity="promo:70048:entered", topic=None, skus=[111]),
        "auto_promotions/frozen": sample("auto_promotions", AutoPromotionEvidence(
            70047, "Неделя скидок 30.11", "entered", NOW - timedelta(days=9), None, NOW + timedelta(days=1),
            (UnderFloor(222, 156.0, 195.0, "cost", 1.2),), 46.8), entity="promo:70047:entered", topic=None,
            skus=[222], at_stake=AtStake(47, "per_day")),
        "price_guard/expiring": sample("price_guard", PriceGuardEvidence("expiring", (
            GuardItem(111, 1160.0, NOW + timedelta(days=2)), GuardItem(222, 312.0, NOW + timedelta(days=6)))),
            entity="guard:expiring", topic=None, skus=[111, 222]),
        "price_guard/off": sample("price_guard", PriceGuardEvidence("off", (GuardItem(222, 312.0, None),)),
                                  entity="guard:off", topic=None, skus=[222]),
        "acceptance_acts": sample("acceptance_acts", AcceptanceActEvidence(
            80329, "АКТ-80329", "SHORTCOMING", "200060329", NOW + timedelta(hours=21), 21.0, 229, 160, 69, 126925.0,
            (ActLine(111, 120, 84, 1208.33), ActLine(222, 109, 76, 325.0))), entity="act:80329", severity="critical",
            topic="logistics", skus=[111, 222], at_stake=AtStake(126925, "value")),
        "acceptance_acts/no_deadline": sample("acceptance_acts", AcceptanceActEvidence(
            80330, "АКТ-80330", "DEFECT", "200060330", None, None, 40, 38, 2, 0.0, ()), entity="act:80330",
            topic="logistics"),
        "acceptance_acts/fbs": sample("acceptance_acts", AcceptanceActEvidence(
            90739954, "90739954", "FBS_MISMATCH", "90739954", None, None, 0, 0, 0, 0.0, ()), entity="act:90739954",
            topic="logistics"),
        "supplies_stuck": sample("supplies_stuck", StuckSuppliesEvidence(
            "IN_TRANSIT", "Кросс-докинг Москва", (StuckSupply("200060323", NOW - timedelta(days=9), 229, 501510.0),
                                                  StuckSupply("200060324", NOW - timedelta(days=8), 229, 501510.0)),
            458, 1003020.0), entity="supplies:IN_TRANSIT:Кросс-докинг Москва", topic="logistics",
            at_stake=AtStake(1003020, "value")),
    }


assert {name.split("/")[0] for name in samples()} == set(RULES)
