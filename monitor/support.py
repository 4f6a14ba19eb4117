"""Turn a finding into seller-facing text: a title, a short explanation and a pre-filled request
to Ozon seller support, in Russian (default) or English, with times in the seller's timezone.

A request is written for a support agent and follows support's checklist: topic to pick in
the chat, subject, Seller ID (Client-Id), affected postings and products (SKU, article and
name), when it started, what was observed (numbers, no statistics), what the monitor itself
verified, what is asked, and urgency. One finding, one problem, one request. The chat text
lists a few postings and products; the draft file keeps them all.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

from monitor import texts
from monitor.i18n import LANGUAGES
from rules import Finding
from rules.access import KeyExpiryEvidence, SourceEvidence
from rules.base import Check, Product
from rules.cards import CardProblemsEvidence, PriceIndexEvidence
from rules.finance import ChargeLevelEvidence, ChargeShareEvidence, FineEvidence, PayoutMissingEvidence, TariffsEvidence
from rules.promos import AutoPromotionEvidence, PriceGuardEvidence
from rules.supplies import AcceptanceActEvidence, StuckSuppliesEvidence
from rules.logistics import (CancellationsEvidence, OzonCancellationsEvidence, ShipmentDeadlineEvidence,
                             StuckInDeliveryEvidence)
from rules.rating import PenaltyScoreEvidence, RatingRiskEvidence
from rules.returns import ReturnDecisionsEvidence, ReturnsSpikeEvidence, ReturnsStorageEvidence
from rules.sales import SalesDropEvidence, SalesStoppedEvidence, TrafficDropEvidence
from rules.stock import EmptyStockEvidence, StockHealthEvidence, StockOutEvidence

MAX_LISTED = 20


@dataclass(frozen=True)
class Rendered:
    title: str
    explanation: str
    support_request: str | None  # None when support cannot help; `explanation` then carries advice
    draft: str | None = None  # the request with every posting and product listed, for the draft file


class Text:
    """Language- and timezone-aware formatting for one rendering; `now` is when it is judged."""

    def __init__(self, language: str, tz: ZoneInfo, now: datetime) -> None:
        self.lang, self.tz, self.now = language, tz, now

    def say(self, key: str, **params: Any) -> str:
        return texts.say(self.lang, key, **params)

    def when(self, moment: datetime) -> str:
        return texts.when(moment, self.lang, self.tz)

    def clock(self, moment: datetime) -> str:
        return texts.clock(moment, self.now, self.lang, self.tz)

    def ago(self, moment: datetime) -> str:
        return texts.duration(self.now - moment, self.lang)

    def day(self, value: date) -> str:
        return texts.day(value, self.lang)

    def num(self, value: float, digits: int = 1) -> str:
        return texts.number(value, self.lang, digits)

    def pct(self, share: float) -> str:
        return f"{self.num(share * 100, 0)}%"

    def count(self, value: float, noun: str, digits: int = 0) -> str:
        return texts.count(value, noun, self.lang, digits)

    def money(self, rubles: float) -> str:
        return texts.money(rubles, self.lang)

    def days_ahead(self, days: float) -> str:
        """Time left in whole days with the date it runs out: "8 дней (14.12)"."""
        end = (self.now + timedelta(days=days)).astimezone(self.tz)
        return f"{self.count(math.floor(days), 'day')} ({end.strftime(LANGUAGES[self.lang].short_day)})"

    def of(self, value: int, noun: str) -> str:
        return texts.count_of(value, noun, self.lang)

    def status(self, code: str) -> str:
        return texts.STATUSES[self.lang].get(code, code)

    def product(self, product: Product) -> str:
        """"SKU 123 (ART-1, «Name»)": the article and name a seller recognises."""
        name = LANGUAGES[self.lang].quote.format(product.name) if product.name else ""
        known = ", ".join(x for x in (product.offer_id, name) if x)
        return f"SKU {product.sku}" + (f" ({known})" if known else "")

    def sku(self, finding: Finding, sku: int) -> str:
        return self.product(finding.product(sku))


@dataclass(frozen=True)
class Parts:
    """What a rule's renderer says: `observed` holds facts for support; `checked`, `ask` and
    `urgency` matter when support can help."""

    title: str
    observed: str
    advice: str
    checked: tuple[str, ...] = ()
    ask: str = ""
    urgency: str = ""


def _sales_drop(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(SalesDropEvidence)
    who = t.sku(f, e.sku) if e.sku else None
    if e.observed == 0 and e.last_order_at is not None:
        title = t.say("sales_drop.no_orders_since", who=' ' + who if who else '', last_order_at=t.clock(e.last_order_at), last_order_at2=t.ago(e.last_order_at), who2=' of ' + who if who else '')
    else:
        title = t.say("sales_drop.orders_below_usual_since", who=' ' + who if who else '', drop_share=t.pct(e.drop_share), started_at=t.clock(f.started_at), who2=' of ' + who if who else '')
    observed = t.say("sales_drop.in_last_against_usual_for", window_hours=t.count(e.window_hours, 'hour', 0), observed=t.count(e.observed, 'order', 0), expected=t.count(e.expected, 'order'), usual_per_day=t.of(round(e.usual_per_day), 'order'), fall=t.say("sales_drop.stopped") if e.observed == 0 else t.say("sales_drop.fewer", drop_share=t.pct(e.drop_share)))
    if e.last_order_at:
        observed += t.say("sales_drop.last_order", last_order_at=t.when(e.last_order_at))
    if e.causes:
        observed += t.say("sales_drop.likely", causes="; ".join(t.say(
            "sales_drop.cause", cause=texts.CAUSES[t.lang][c.cause], products=t.count(c.skus, "product"),
            share=t.pct(c.share)) for c in e.causes))
    if e.order_value > 0:
        observed += t.say("sales_drop.money", value=t.money(e.order_value),
                          per_day=t.money(e.usual_per_day * e.order_value))
    short = [s for s in e.top_skus[:3] if s.expected >= 1]
    if short:
        observed += t.say("sales_drop.missing_most") + "; ".join(
            t.say("sales_drop.instead_of", f=t.sku(f, s.sku), observed=s.observed, expected=t.num(s.expected, 0)) for s in short) + "."
    return Parts(
        title, observed,
        t.say("sales_drop.far_fewer_orders_than_usual"),
        (),
        t.say("sales_drop.please_check_whether_products_are"),
        t.say("sales_drop.high_shop_is_losing_sales"))


def _sales_stopped(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(SalesStoppedEvidence)
    who = t.sku(f, e.sku)
    causes = [texts.CAUSES[t.lang][c] for c in e.causes]
    observed = t.say("sales_stopped.no_orders_of_since_it", who=who, last_order_at=t.when(e.last_order_at), history_days=t.count(e.history_days, 'day', 0), orders_in_history=t.count(e.orders_in_history, 'order', 0), expected_orders_since=t.num(e.expected_orders_since, 0))
    advice = t.say("sales_stopped.likely_cause", causes="; ".join(causes)) if causes else \
        t.say("sales_stopped.stock_and_card_fine")
    return Parts(t.say("sales_stopped.has_not_sold_since", who=who, last_order_at=t.clock(e.last_order_at), last_order_at2=t.ago(e.last_order_at)),
                 observed, advice, (),
                 t.say("sales_stopped.please_check_why_product_is"),
                 t.say("sales_stopped.medium_product_is_not_selling"))


def _traffic_drop(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(TrafficDropEvidence)
    who = t.sku(f, e.sku)
    observed = t.say("traffic_drop.on_against_usual_add_to", who=who, day=t.day(e.day), views=t.count(e.views, 'view', 0), usual_views=t.num(e.usual_views, 0), to_cart_share=t.pct(e.to_cart_share), usual_to_cart_share=t.pct(e.usual_to_cart_share))
    title = t.say("traffic_drop.views_of_fell_on", who=who, day=t.day(e.day)) \
        if e.views_fell else t.say("traffic_drop.added_to_cart_less_often", who=who, day=t.day(e.day))
    return Parts(
        title, observed,
        t.say("traffic_drop.product_is_shown_or_added"),
        (),
        t.say("traffic_drop.please_check_whether_product_was"),
        t.say("traffic_drop.medium"))


def _returns_spike(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(ReturnsSpikeEvidence)
    who = t.sku(f, e.sku) if e.sku else t.say("returns_spike.shop")
    observed = t.say("returns_spike.of_for_placed_in_last", orders=t.of(e.orders, 'order'), who=who, cohort_days=t.count(e.cohort_days, 'day', 0), returns=e.returns, usual_rate=t.pct(e.usual_rate), expected=t.num(e.expected, 0), top_reason=e.top_reason, top_reason_share=t.pct(e.top_reason_share), orders2=t.count(e.orders, 'order', 0))
    return Parts(
        t.say("returns_spike.returns_spike_for_since", who=who, day=t.day(f.started_at.astimezone(t.tz).date())), observed,
        t.say("returns_spike.support_cannot_cancel_returns_guaranteed"),
        (),
        t.say("returns_spike.please_check_whether_goods_are"),
        t.say("returns_spike.medium"))


def _cancellations(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(CancellationsEvidence)
    forecast = ""
    if e.days_to_danger is not None and e.share_percent < e.danger_percent:
        forecast = t.say("cancellations.at_current_trend_it_crosses", danger_percent=t.num(e.danger_percent), days_to_danger=t.days_ahead(e.days_to_danger))
    elif e.days_to_warning is not None and e.share_percent < e.warning_percent:
        forecast = t.say("cancellations.at_current_trend_it_crosses_2", warning_percent=t.num(e.warning_percent), days_to_warning=t.days_ahead(e.days_to_warning))
    if e.measured_by == "ozon_index":
        observed = t.say("cancellations.ozon_s_fbs_error_index", window_days=t.count(e.window_days, 'day', 0), share_percent=t.num(e.share_percent), cancelled=e.cancelled, late=e.late, charges=t.num(e.charges, 0), warning_percent=t.num(e.warning_percent), danger_percent=t.num(e.danger_percent), forecast=forecast)
        return Parts(
            t.say("cancellations.fbs_error_index_at_over", share_percent=t.num(e.share_percent), window_days=t.count(e.window_days, 'day', 0)),
            observed,
            t.say("cancellations.ozon_charges_for_every_seller"))
    observed = t.say("cancellations.seller_cancelled_of_fbs_in", window_days=t.count(e.window_days, 'day', 0), cancelled=e.cancelled, postings=t.of(e.postings, 'posting'), share_percent=t.num(e.share_percent), warning_percent=t.num(e.warning_percent), danger_percent=t.num(e.danger_percent), forecast=forecast, total=e.postings, noun=texts.plural_form(e.postings, 'posting', t.lang))
    return Parts(
        t.say("cancellations.seller_cancellations_at_over", share_percent=t.num(e.share_percent), window_days=t.count(e.window_days, 'day', 0)), observed,
        t.say("cancellations.every_seller_fault_cancellation_is"))


def _shipment_deadline(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(ShipmentDeadlineEvidence)
    postings = t.count(e.postings, "posting", 0)
    deadline = t.when(e.earliest_deadline)
    if e.kind == "late":
        title = t.say("shipment_deadline.shipment_overdue_since", postings=postings, earliest_deadline=t.clock(e.earliest_deadline))
        observed = t.say("shipment_deadline.not_handed_over_after_their", postings=postings, deadline=deadline, packed_waiting_courier=e.packed_waiting_courier, share_days=t.count(e.share_days, 'day', 0), late_share_percent=t.num(e.late_share_percent))
        advice = t.say("shipment_deadline.hand_postings_over_as_soon")
    else:
        title = t.say("shipment_deadline.shipment_due_soon_by", postings=postings, earliest_deadline=t.clock(e.earliest_deadline))
        observed = t.say("shipment_deadline.must_be_handed_over_within", postings=postings, warn_hours=t.count(e.warn_hours, 'hour'), deadline=deadline)
        advice = t.say("shipment_deadline.pack_and_hand_over_postings")
    return Parts(title, observed, advice, (),
                 t.say("shipment_deadline.packed_postings_were_not_collected"),
                 t.say("shipment_deadline.high_late_charges_apply"))


def _stuck_in_delivery(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(StuckInDeliveryEvidence)
    postings = t.count(e.postings, "posting", 0)
    observed = t.say("stuck_in_delivery.have_been_delivering_for_more", postings=postings, max_days=t.count(e.max_days, 'day', 0), oldest_days=t.count(e.oldest_days, 'day'), value=t.num(e.value, 0))
    return Parts(
        t.say("stuck_in_delivery.stuck_in_delivery_over", postings=postings, max_days=t.count(e.max_days, 'day', 0)),
        observed, t.say("stuck_in_delivery.looks_like_loss_in_transit"),
        (),
        t.say("stuck_in_delivery.please_locate_postings_or_compensate"),
        t.say("stuck_in_delivery.medium"))


def _stock_out(f: Finding, t: Text) -> Parts:
    if isinstance(f.evidence, EmptyStockEvidence):
        gone, scheme = f.evidence, f.evidence.scheme.upper()
        if len(gone.skus) == 1:
            title = t.say("stock_out.out_of_stock", who=t.sku(f, gone.skus[0]), scheme=scheme)
        else:
            title = t.say("stock_out.many_out", products=t.count(len(gone.skus), "product"), scheme=scheme)
        observed = t.say("stock_out.empty_one", daily_sales=t.num(gone.daily_sales, 1)) if len(gone.skus) == 1 \
            else t.say("stock_out.empty_selling", products=t.count(len(gone.skus), "product"),
                       daily_sales=t.num(gone.daily_sales, 1))
        return Parts(title, observed, t.say("stock_out.support_cannot_help_here_restock"))
    e = f.evidence_as(StockOutEvidence)
    who, scheme = t.sku(f, e.sku), e.scheme.upper()
    title = t.say("stock_out.runs_out_in", who=who, days_of_cover=t.days_ahead(e.days_of_cover), scheme=scheme)
    observed = t.say("stock_out.units_left_at_sold_day", available=e.available, daily_sales=t.num(e.daily_sales, 2), days_of_cover=t.days_ahead(e.days_of_cover) if e.days_of_cover > 0 else t.count(0, 'day'), warn_days=t.count(e.warn_days, 'day'))
    return Parts(title, observed, t.say("stock_out.support_cannot_help_here_restock"))


def _rating_risk(f: Finding, t: Text) -> Parts:
    e = f.evidence
    if isinstance(e, PenaltyScoreEvidence):
        return Parts(t.say("rating_risk.penalty_score_threshold_exceeded"),
                     t.say("rating_risk.ozon_reports_penalty_score_above"),
                     t.say("rating_risk.check_seller_rating_in_cabinet"))
    e = f.evidence_as(RatingRiskEvidence)
    forecast = ""
    if e.days_to_danger is not None:
        forecast = t.say("rating_risk.at_current_trend_it_reaches", days_to_danger=t.days_ahead(e.days_to_danger))
    elif e.days_to_warning is not None:
        forecast = t.say("rating_risk.at_current_trend_it_reaches_2", days_to_warning=t.days_ahead(e.days_to_warning))
    value = t.num(e.value, 2) if e.value is not None else "—"
    observed = t.say("rating_risk.status_warning_at_blocking_at", name=e.name, value=value, status=t.status(e.status), warning_threshold=t.num(e.warning_threshold, 2), danger_threshold=t.num(e.danger_threshold, 2), forecast=forecast)
    return Parts(t.say("rating_risk.rating_at_risk", name=e.name, value=value),
                 observed,
                 t.say("rating_risk.rating_improves_through_shop_s"))


def _card_problems(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(CardProblemsEvidence)
    said = LANGUAGES[t.lang].quote  # Ozon's own words, quoted as such in either language
    reasons = "; ".join(said.format(r) for r in [*e.reasons, *e.errors]) or e.status_name or e.status_failed
    blocked = f.severity == "critical"
    if len(e.skus) == 1:
        who = t.sku(f, e.skus[0])
        title = t.say("card_problems.card_cannot_sell" if blocked else "card_problems.errors_in_card", who=who)
        observed = t.say("card_problems.card_of_status_moderation_ozon", who=who, status_name=e.status_name,
                         moderate_status=t.status(e.moderate_status), reasons=reasons)
    else:  # one cause, many cards: one alert
        cards = t.count(len(e.skus), "card")
        title = t.say("card_problems.cards_cannot_sell" if blocked else "card_problems.cards_with_errors",
                      cards=cards, reason=(e.errors or e.reasons or (e.status_name,))[0])  # the error says why
        observed = t.say("card_problems.cards_of_status", cards=cards, status_name=e.status_name,
                         moderate_status=t.status(e.moderate_status), reasons=reasons)
    return Parts(
        title, observed,
        t.say("card_problems.fix_card_as_ozon_s" if len(e.skus) == 1 else "card_problems.fix_many"),
        (),
        t.say("card_problems.please_explain_what_exactly_must" if len(e.skus) == 1 else "card_problems.explain_many"),
        t.say("card_problems.high_product_cannot_be_sold") if blocked
        else t.say("card_problems.medium"))


def _finance_anomaly(f: Finding, t: Text) -> Parts:
    e = f.evidence
    if isinstance(e, PayoutMissingEvidence):
        weekday = texts.WEEKDAYS[t.lang][e.usual_weekday]
        observed = t.say("finance_anomaly.no_payout_on_though_recent", day=t.day(e.day), weekday=weekday, usual_amount=t.num(e.usual_amount, 0))
        return Parts(t.say("finance_anomaly.no_payout_on", day=t.day(e.day)), observed,
                     t.say("finance_anomaly.check_bank_details_and_documents"),
                     (), t.say("finance_anomaly.please_tell_us_why_payout"),
                     t.say("finance_anomaly.high_money_has_not_arrived"))
    e = f.evidence_as(ChargeShareEvidence)
    charge = t.say("finance_anomaly.commission") if e.kind == "commission_share" else t.say("finance_anomaly.logistics")
    observed = t.say("finance_anomaly.took_of_sales_rub_against", day=t.day(e.day), charge=charge, share=t.pct(e.share), postings=t.count(e.postings, 'posting', 0), sales=t.num(e.sales, 0), usual_share=t.pct(e.usual_share), extra_charge=t.num(e.extra_charge, 0))
    return Parts(t.say("finance_anomaly.charges_up_on", charge=charge, day=t.day(e.day)), observed,
                 t.say("finance_anomaly.compare_charges_with_current_tariffs"),
                 (), t.say("finance_anomaly.please_verify_charges_for_this"),
                 t.say("finance_anomaly.medium"))


def _api_access(f: Finding, t: Text) -> Parts:
    e = f.evidence
    if isinstance(e, KeyExpiryEvidence):
        return Parts(t.say("api_access.api_key_expires_in", days_left=t.days_ahead(e.days_left)),
                     t.say("api_access.seller_api_key_expires", expires_at=t.when(e.expires_at)),
                     t.say("api_access.create_new_key_in_cabinet"))
    e = f.evidence_as(SourceEvidence)
    names = texts.SOURCE_NAMES[t.lang]
    sources = ", ".join(names.get(s, s) for s in (e.sources or (e.source,)))
    last = t.when(e.last_success) if e.last_success else t.say("api_access.never")
    why = texts.ERROR_KINDS[t.lang][e.error_kind] if e.error_kind else \
        t.say("api_access.data_has_not_been_updated")
    since = t.say("api_access.since", last_success=t.clock(e.last_success)) if e.last_success else ""
    if e.kind == "access_rejected" and e.error_kind == "account_blocked":
        return Parts(t.say("api_access.ozon_reports_seller_account_blocked"),
                     t.say("api_access.ozon_answers_seller_api_calls", last=last),
                     t.say("api_access.check_notices_in_seller_cabinet"),
                     (t.say("api_access.requests_are_sent_with_key"),),
                     t.say("api_access.please_tell_us_why_account"),
                     t.say("api_access.high_shop_cannot_trade"))
    if e.kind == "access_rejected":
        return Parts(t.say("api_access.ozon_rejects_shop_s_api", since=since),
                     t.say("api_access.ozon_answers_seller_api_calls_2", last=last),
                     t.say("api_access.check_client_id_and_key"))
    observed = t.say("api_access.is_not_updating_last_success", sources=sources, last=last, why=why)
    ask = t.say("api_access.seller_api_method_keeps_failing")
    checked = (t.say("api_access.key_is_accepted_and_requests"),)
    urgency = t.say("api_access.high_integration_is_down")
    if f.entity == "postings":
        return Parts(t.say("api_access.monitor_cannot_see_orders", since=since, why=why),
                     observed,
                     t.say("api_access.while_postings_are_not_updating"), checked, ask, urgency)
    methods = ", ".join(e.methods)
    if e.error_kind == "missing_role" and methods:
        return Parts(t.say("api_access.api_key_has_no_role", methods=methods),
                     t.say("api_access.ozon_answers_that_key_has", methods=methods, sources=sources, last=last),
                     t.say("api_access.in_seller_cabinet_settings_seller", methods=methods))
    if e.error_kind == "method_retired" and methods:
        return Parts(t.say("api_access.ozon_retired_api_method", methods=methods),
                     t.say("api_access.ozon_no_longer_answers_so", methods=methods, sources=sources, last=last),
                     t.say("api_access.update_ozon_monitor_newer_version"))
    return Parts(t.say("api_access.no_data_from_ozon", sources=sources, since=since), observed,
                 t.say("api_access.while_data_is_not_updating"),
                 checked, ask, urgency)


LISTED_LINES = 5  # lines of detail (charges, products) an explanation names before "and N more"


def _lines(items: list[str], t: Text) -> str:
    """Up to `LISTED_LINES` items, then how many more."""
    more = len(items) - LISTED_LINES
    return "; ".join(items[:LISTED_LINES]) + (t.say("leaks.and_more", n=more) if more > 0 else "")


def _charges(f: Finding, t: Text) -> Parts:
    if isinstance(f.evidence, ChargeLevelEvidence):
        level = f.evidence
        name = LANGUAGES[t.lang].quote.format(level.name) if level.name else \
            t.say("charges.type_id", id=level.type_id)  # the types' names could not be read
        return Parts(t.say("charges.level_title", name=name, day=t.day(level.day)),
                     t.say("charges.level_observed", name=name, day=t.day(level.day), total=t.money(level.total),
                           usual=t.money(level.usual)),
                     t.say("charges.level_advice"), (),
                     t.say("charges.level_ask", name=name, day=t.day(level.day)), t.say("charges.medium"))
    fines = f.evidence_as(FineEvidence)
    name = LANGUAGES[t.lang].quote.format(fines.name)
    short = LANGUAGES[t.lang].short_day
    lines = [f"{unit or '—'} — {t.money(rubles)} ({day.strftime(short)})" for day, unit, rubles in fines.lines]
    return Parts(t.say("charges.fine_title", name=name, fines=t.count(len(fines.lines), "fine")),
                 t.say("charges.fine_observed", name=name, fines=t.count(len(fines.lines), "fine"),
                       total=t.money(fines.total), lines=_lines(lines, t)),
                 t.say("charges.fine_advice"), (), t.say("charges.fine_ask", name=name), t.say("charges.dispute"))


def _tariffs(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(TariffsEvidence)
    products = t.count(len(f.affected_skus), "product")
    lines = []
    for c in e.changes:
        parts = []
        if c.percent_before is not None and c.percent_now is not None and c.percent_now != c.percent_before:
            parts.append(t.say("tariffs.percent", before=t.num(c.percent_before), now=t.num(c.percent_now)))
        if c.logistics_before is not None and c.logistics_now is not None and c.logistics_now != c.logistics_before:
            parts.append(t.say("tariffs.logistics", before=t.money(c.logistics_before), now=t.money(c.logistics_now)))
        lines.append(f"{t.sku(f, c.sku)} {c.scheme.upper()}: {', '.join(parts)}")
    return Parts(t.say("tariffs.title", products=products, yearly=t.money(e.yearly)),
                 t.say("tariffs.observed", day=t.day(e.since), of_products=t.of(len(f.affected_skus), "product"),
                       lines=_lines(lines, t), yearly=t.money(e.yearly)),
                 t.say("tariffs.advice"))


def _price_index(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(PriceIndexEvidence)
    products = t.count(len(e.items), "product")
    lines = []
    for i in e.items:
        line = t.say("price_index.line", who=t.sku(f, i.sku), was=t.say(f"price_index.{i.was}"),
                     now=t.say(f"price_index.{i.now}"), price=t.money(i.price), orders=t.count(i.orders, "order"))
        if i.competitor_price:
            line += t.say("price_index.competitor", competitor=t.money(i.competitor_price),
                          gap=t.money(max(i.price - i.competitor_price, 0)))
        lines.append(line)
    return Parts(t.say("price_index.title", products=products),
                 t.say("price_index.observed", of_products=t.of(len(e.items), "product"), lines=_lines(lines, t),
                       days=t.count(e.sales_days, "day")),
                 t.say("price_index.advice"))


def _return_decisions(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(ReturnDecisionsEvidence)
    returns = t.count(e.returns, "return")
    statuses = ", ".join(LANGUAGES[t.lang].quote.format(s) for s in e.statuses)
    if e.kind == "lost":
        return Parts(t.say("return_decisions.lost_title", returns=returns),
                     t.say("return_decisions.lost_observed", returns=returns, value=t.money(e.value),
                           statuses=statuses),
                     t.say("return_decisions.lost_advice"), (), t.say("return_decisions.lost_ask"),
                     t.say("charges.medium"))
    deadline = e.deadline or f.started_at
    return Parts(t.say("return_decisions.waiting_title", returns=returns, deadline=t.clock(deadline)),
                 t.say("return_decisions.waiting_observed", returns=returns, statuses=statuses,
                       deadline=t.when(deadline), left=t.count(math.floor(e.hours_left), "hour")),
                 t.say("return_decisions.waiting_advice"))


def _returns_storage(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(ReturnsStorageEvidence)
    returns = t.count(e.returns, "return")
    place = LANGUAGES[t.lang].quote.format(e.place) if e.place else t.say("returns_storage.place_unknown")
    observed = t.say("returns_storage.observed", returns=returns, place=place, value=t.money(e.value))
    if e.paid_since is not None:
        observed += " " + t.say("returns_storage.paid", since=t.day(e.paid_since.astimezone(t.tz).date()),
                                storage=t.money(e.storage))
    if e.disposal_at is not None:
        observed += " " + t.say("returns_storage.disposal", day=t.day(e.disposal_at.astimezone(t.tz).date()))
    deadline = t.day(e.disposal_at.astimezone(t.tz).date()) if e.disposal_at else "—"
    return Parts(t.say("returns_storage.title", returns=returns, place=place), observed,
                 t.say("returns_storage.advice", day=deadline) if e.disposal_at else
                 t.say("returns_storage.advice_paid"))


def _stock_health(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(StockHealthEvidence)
    units = t.count(e.units, "unit")
    if e.kind == "removal":
        kinds = [t.say(f"stock_health.{k}", n=n) for k, n in (("excess", e.excess), ("defect", e.defect),
                                                              ("expiring", e.expiring), ("waiting_docs", e.waiting_docs))
                 if n]
        return Parts(t.say("stock_health.removal_title", units=units),
                     t.say("stock_health.removal_observed", units=units, value=t.money(e.value),
                           kinds=", ".join(kinds), products=t.count(len(e.skus), "product")),
                     t.say("stock_health.removal_advice"))
    grade = t.say(f"stock_health.grade_{'SURPLUS' if e.kind == 'SURPLUS' else 'NO_SALES'}")
    products = t.of(len(e.skus), "product")
    return Parts(t.say("stock_health.grade_title", grade=grade, of_products=products),
                 t.say("stock_health.grade_observed", of_products=products, grade=grade, units=units,
                       value=t.money(e.value), idle=t.count(e.days_without_sales, "day"),
                       since=t.day(f.started_at.astimezone(t.tz).date())),
                 t.say("stock_health.grade_advice"))


def _ozon_cancellations(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(OzonCancellationsEvidence)
    scheme, days = e.scheme.upper(), t.count(e.window_days, "day")
    return Parts(t.say("ozon_cancellations.title", postings=t.count(e.cancelled, "posting"), scheme=scheme,
                       days=days),
                 t.say("ozon_cancellations.observed", days=days, cancelled=e.cancelled,
                       postings=t.of(e.postings, "posting"), total=e.postings,
                       noun=texts.plural_form(e.postings, "posting", t.lang), scheme=scheme, share=t.num(e.share_percent),
                       usual=t.num(e.usual_percent), value=t.money(e.value)),
                 t.say("ozon_cancellations.advice"), (), t.say("ozon_cancellations.ask"),
                 t.say("ozon_cancellations.high") if f.severity == "critical" else t.say("charges.medium"))


def _auto_promotions(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(AutoPromotionEvidence)
    title = LANGUAGES[t.lang].quote.format(e.title)
    lines = [t.say("auto_promotions.line", who=t.sku(f, i.sku), price=t.money(i.action_price), floor=t.money(i.floor),
                   basis=t.say(f"auto_promotions.basis_{i.basis}"), loss=t.money(i.floor - i.action_price))
             for i in e.items]
    products = t.count(len(e.items), "product")
    loss = t.say("auto_promotions.loss", loss=t.money(e.loss_per_day)) if e.loss_per_day >= 1 else ""
    if e.stage == "upcoming":
        when = t.when(e.auto_add_at or f.started_at)
        return Parts(t.say("auto_promotions.upcoming_title", promo=title, products=products,
                           when=t.clock(e.auto_add_at or f.started_at)),
                     t.say("auto_promotions.upcoming_observed", promo=title, when=when, products=products,
                           lines=_lines(lines, t)) + loss,
                     t.say("auto_promotions.upcoming_advice", deadline=when))
    observed = t.say("auto_promotions.entered_observed", promo=title, products=products, lines=_lines(lines, t)) + loss
    if e.deadline is not None:
        advice = t.say("auto_promotions.entered_advice", deadline=t.when(e.deadline))
    else:
        advice = t.say("auto_promotions.frozen_advice", ends=t.when(e.ends) if e.ends else "—")
    return Parts(t.say("auto_promotions.entered_title", promo=title, products=products), observed, advice)


def _price_guard(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(PriceGuardEvidence)
    products = t.of(len(e.items), "product")
    lines = [t.say("price_guard.line", who=t.sku(f, i.sku), min_price=t.money(i.min_price))
             + (t.say("price_guard.until", day=t.day(i.expires.astimezone(t.tz).date())) if i.expires else "")
             for i in e.items]
    if e.kind == "off":
        return Parts(t.say("price_guard.off_title", products=t.count(len(e.items), "product")),
                     t.say("price_guard.off_observed", of_products=products, lines=_lines(lines, t)),
                     t.say("price_guard.advice"))
    first = min(i.expires for i in e.items if i.expires)
    return Parts(t.say("price_guard.expiring_title", products=t.count(len(e.items), "product"),
                       day=t.day(first.astimezone(t.tz).date())),
                 t.say("price_guard.expiring_observed", of_products=products, lines=_lines(lines, t)),
                 t.say("price_guard.advice"))


def _acceptance_acts(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(AcceptanceActEvidence)
    if e.kind == "FBS_MISMATCH":
        day = t.day(f.started_at.astimezone(t.tz).date())
        return Parts(t.say("acceptance_acts.fbs_title", supply=e.supply),
                     t.say("acceptance_acts.fbs_observed", supply=e.supply, day=day),
                     t.say("acceptance_acts.fbs_advice"), (), t.say("acceptance_acts.fbs_ask", supply=e.supply, day=day),
                     t.say("charges.medium"))
    kind = t.say(f"acceptance_acts.kind_{e.kind}") if e.kind in ("SHORTCOMING", "DEFECT", "SURPLUS") else \
        t.say("acceptance_acts.kind_other")
    lines = [t.say("acceptance_acts.line", who=t.sku(f, x.sku), declared=x.declared, accepted=x.accepted,
                   value=t.money(abs(x.declared - x.accepted) * x.price)) for x in e.lines]
    deadline = t.when(e.deadline) if e.deadline else "—"
    observed = t.say("acceptance_acts.observed", supply=e.supply, kind=kind, number=e.number, declared=e.declared,
                     accepted=e.accepted)
    if lines:
        observed += " " + t.say("acceptance_acts.lines", lines=_lines(lines, t))
    if e.deadline is not None and e.hours_left is not None:
        observed += " " + t.say("acceptance_acts.deadline", deadline=deadline,
                                left=t.count(math.floor(e.hours_left), "hour"))
    title = t.say("acceptance_acts.title", kind=kind, supply=e.supply, units=t.count(e.units, "unit"))
    if e.deadline is not None:
        title += t.say("acceptance_acts.answer_by", deadline=t.clock(e.deadline))
    return Parts(title, observed, t.say("acceptance_acts.advice", deadline=deadline) if e.deadline else
                 t.say("acceptance_acts.advice_open"), (),
                 t.say("acceptance_acts.ask", kind=kind, number=e.number, supply=e.supply, declared=e.declared,
                       accepted=e.accepted),
                 t.say("acceptance_acts.high", deadline=deadline) if f.severity == "critical" else t.say("charges.medium"))


def _supplies_stuck(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(StuckSuppliesEvidence)
    state = t.say(f"supplies_stuck.state_{e.state}")
    first = e.supplies[0]
    since = t.day(first.since.astimezone(t.tz).date())
    days = t.count(math.floor((t.now - first.since).total_seconds() / 86400), "day")
    warehouse = LANGUAGES[t.lang].quote.format(e.warehouse) if e.warehouse else "—"
    numbers = ", ".join(t.say("supplies_stuck.number", number=x.number) for x in e.supplies)
    lines = [t.say("supplies_stuck.line", number=x.number, since=t.day(x.since.astimezone(t.tz).date()),
                   units=t.count(x.units, "unit"), value=t.money(x.value)) for x in e.supplies]
    return Parts(t.say("supplies_stuck.title", supplies=t.count(len(e.supplies), "supply"), state=state, days=days),
                 t.say("supplies_stuck.observed", warehouse=warehouse, state=state, lines=_lines(lines, t),
                       units=t.count(e.units, "unit"), value=t.money(e.value)),
                 t.say("supplies_stuck.advice"), (),
                 t.say("supplies_stuck.ask", numbers=numbers, state=state, since=since),
                 t.say("charges.medium"))


RENDERERS: dict[str, Callable[[Finding, Text], Parts]] = {
    "sales_drop": _sales_drop, "sales_stopped": _sales_stopped, "traffic_drop": _traffic_drop,
    "returns_spike": _returns_spike, "cancellations": _cancellations, "shipment_deadline": _shipment_deadline,
    "stuck_in_delivery": _stuck_in_delivery, "stock_out": _stock_out, "rating_risk": _rating_risk,
    "card_problems": _card_problems, "finance_anomaly": _finance_anomaly, "api_access": _api_access,
    "charges": _charges, "tariffs": _tariffs, "price_index": _price_index, "return_decisions": _return_decisions,
    "returns_storage": _returns_storage, "stock_health": _stock_health, "ozon_cancellations": _ozon_cancellations,
    "auto_promotions": _auto_promotions, "price_guard": _price_guard, "acceptance_acts": _acceptance_acts,
    "supplies_stuck": _supplies_stuck,
}


def checked_lines(f: Finding, t: Text) -> list[str]:
    """What the monitor verified in its own data, one line per product (and the postings feed)."""
    words = texts.CHECKS[t.lang]
    lines: list[str] = []
    per_sku: dict[int, list[str]] = {}
    # With several products, what holds for each is said once ("у всех есть остаток"), and of a
    # check some fail, only those are listed, the rest said once ("остальные карточки в продаже").
    several = len({c.sku for c in f.checks if c.sku is not None}) > 1
    failing = {c.kind for c in f.checks if c.sku is not None and not c.ok}
    passing = {c.kind for c in f.checks if c.sku is not None and c.ok}

    def said(check: Check) -> str:
        fine, broken = words[check.kind]
        value = t.when(datetime.fromisoformat(check.value)) if check.kind == "postings_fresh" and check.value \
            else check.value
        return (fine if check.ok else broken).format(value=value)
    alike = {kind for kind in failing - passing if len({said(c) for c in f.checks if c.kind == kind}) == 1}
    for check in f.checks:
        if check.sku is None:
            lines.append(said(check))
        elif not several or (not check.ok and check.kind not in alike):
            per_sku.setdefault(check.sku, []).append(said(check))
    lines += [t.say(f"checks.all_{kind}") for kind in words if several and kind in passing - failing]
    lines += [t.say("checks.all_alike", text=said(next(c for c in f.checks if c.kind == kind)))
              for kind in words if several and kind in alike]
    lines += [f"{t.sku(f, sku)}: {', '.join(found)}" for sku, found in per_sku.items()]
    lines += [t.say(f"checks.rest_{kind}") for kind in words if several and kind in passing & failing]
    return lines


def render(finding: Finding, language: str, tz: ZoneInfo, now: datetime | None = None) -> Rendered:
    """Given a finding, return its title, explanation and support request in `language`;
    `now` (default: when the finding's data ends) anchors "since 09:55 (5 hours)"."""
    t = Text(language, tz, now or finding.started_at + timedelta(0))
    parts = RENDERERS[finding.rule](finding, t)
    if finding.at_stake is not None:  # the money, once, in the title
        parts = replace(parts, title=parts.title + t.say(f"money.{finding.at_stake.kind}",
                                                         money=t.money(finding.at_stake.rubles)))
    if finding.symptom is not None:  # the sales fall this cause explains, said here instead of alone
        s = finding.symptom
        parts = replace(parts, observed=parts.observed + t.say(
            "symptom.orders", orders=t.of(round(s.missing), "order"), hours=t.count(s.hours, "hour")) + ".")
    L = texts.LABELS[language]
    explanation = f"{parts.observed[:1].upper()}{parts.observed[1:]}\n{parts.advice}"
    topic = finding.topic
    if topic is None:
        return Rendered(parts.title, explanation, None)

    def request(limit: int | None) -> str:
        lines = [
            L["topic"].format(topic=texts.TOPICS[language][topic]),
            "",
            f"{L['subject']}: {parts.title}",
            f"{L['seller']}: {finding.client_id} ({L['shop']} {LANGUAGES[language].quote.format(finding.account)})",
            f"{L['since']}: {t.when(finding.started_at)}",
            f"{L['observed']}: {parts.observed}",
        ]
        more = L["more"].format(code=finding.fingerprint[:8], n="{n}")
        if finding.affected_postings:
            lines.append(f"{L['postings']}: " + _listed(finding.affected_postings, limit, more))
        if finding.affected_skus:
            lines.append(f"{L['affected']}: " + _listed([t.sku(finding, s) for s in finding.affected_skus], limit, more))
        checked = [*checked_lines(finding, t), *parts.checked]
        if checked:
            lines.append(f"{L['checked']}: " + "; ".join(checked) + ".")
        # A sales request whose products the monitor found not selling asks about that first,
        # never only about an outage on Ozon's side the monitor did not see.
        failed = {c.sku for c in finding.checks if not c.ok and c.sku is not None}
        explained = finding.evidence.explained if isinstance(finding.evidence, SalesDropEvidence) else 0.0
        ask = parts.ask
        if finding.rule == "sales_drop" and (failed or explained):
            rest = t.say("checks.ask_rest", ask=parts.ask[:1].lower() + parts.ask[1:])
            ask = t.say("checks.ask_about_failed") + ("" if explained >= 0.9 or failed >= set(finding.affected_skus)
                                                      else " " + rest)
        lines += [f"{L['ask']}: {ask}", f"{L['urgency']}: {parts.urgency}."]
        return "\n".join(lines)
    return Rendered(parts.title, explanation, request(MAX_LISTED), request(None))


def fallback(finding: Finding, language: str, tz: ZoneInfo) -> Rendered:
    """A plain text built from the finding alone, for when its renderer fails: the seller is
    still told, in their language, what the monitor saw."""
    t = Text(language, tz, finding.started_at)
    title = t.say("fallback.problem", rule=finding.rule, entity=finding.entity)
    items = [*finding.affected_postings[:MAX_LISTED], *(t.sku(finding, s) for s in finding.affected_skus[:MAX_LISTED])]
    explanation = t.say("fallback.started", started_at=t.when(finding.started_at))
    if items:
        explanation += " " + t.say("fallback.affected") + ", ".join(items) + "."
    return Rendered(title, explanation, None)


def _listed(items: list[str], limit: int | None, more: str) -> str:
    """Up to `limit` items, then how many more and where the full list is."""
    if limit is None or len(items) <= limit:
        return ", ".join(items)
    return f"{', '.join(items[:limit])} {more.format(n=len(items) - limit)}"
