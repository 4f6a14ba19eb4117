"""Turn a finding into seller-facing text: a title, a short explanation and a pre-filled request
to Ozon seller support, in Russian (default) or English, with times in the seller's timezone.

A request is written for a support agent and follows support's checklist: topic to pick in
the chat, subject, Seller ID (Client-Id), affected postings and products (SKU, article and
name), when it started, what was observed (numbers, no statistics), what the monitor itself
verified, what is asked, and urgency. One finding, one problem, one request. The chat text
lists a few postings and products; the draft file keeps them all.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

from monitor import texts
from rules import Finding
from rules.access import KeyExpiryEvidence, SourceEvidence
from rules.base import Product
from rules.cards import CardProblemsEvidence
from rules.finance import ChargeShareEvidence, PayoutMissingEvidence
from rules.logistics import CancellationsEvidence, ShipmentDeadlineEvidence, StuckInDeliveryEvidence
from rules.rating import PenaltyScoreEvidence, RatingRiskEvidence
from rules.returns import ReturnsSpikeEvidence
from rules.sales import SalesDropEvidence, SalesStoppedEvidence, TrafficDropEvidence
from rules.stock import StockOutEvidence

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

    def pick(self, ru: str, en: str) -> str:
        return ru if self.lang == "ru" else en

    def when(self, moment: datetime) -> str:
        return texts.when(moment, self.lang, self.tz)

    def when_tz(self, moment: datetime) -> str:
        return f"{self.when(moment)} ({self.tz.key})"

    def clock(self, moment: datetime) -> str:
        return texts.clock(moment, self.now, self.lang, self.tz)

    def ago(self, moment: datetime) -> str:
        return texts.duration(self.now - moment, self.lang)

    def day(self, value: Any) -> str:
        return value.strftime("%d.%m.%Y") if self.lang == "ru" else value.isoformat()

    def num(self, value: float, digits: int = 1) -> str:
        return texts.number(value, self.lang, digits)

    def pct(self, share: float) -> str:
        return f"{self.num(share * 100, 0)}%"

    def count(self, value: float, noun: str, digits: int = 1) -> str:
        return texts.count(value, noun, self.lang, digits)

    def of(self, value: int, noun: str) -> str:
        return texts.count_of(value, noun, self.lang)

    def status(self, code: str) -> str:
        return texts.STATUSES[self.lang].get(code, code)

    def product(self, product: Product) -> str:
        """"SKU 123 (ART-1, «Name»)": the article and name a seller recognises."""
        known = ", ".join(x for x in (product.offer_id, f"«{product.name}»" if self.lang == "ru" and product.name
                                      else f'"{product.name}"' if product.name else "") if x)
        return f"SKU {product.sku}" + (f" ({known})" if known else "")

    def sku(self, finding: Finding, sku: int) -> str:
        return self.product(finding.product(sku))


@dataclass(frozen=True)
class Parts:
    """What a rule's renderer says: `observed` holds facts for support, `chance` the p-value
    for the seller's explanation; `checked`, `ask` and `urgency` matter when support can help."""

    title: str
    observed: str
    advice: str
    checked: tuple[str, ...] = ()
    ask: str = ""
    urgency: str = ""
    chance: float | None = None


def _sales_drop(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(SalesDropEvidence)
    who = t.sku(f, e.sku) if e.sku else None
    if e.observed == 0 and e.last_order_at is not None:
        title = t.pick(f"Нет заказов{' ' + who if who else ''} с {t.clock(e.last_order_at)} "
                       f"({t.ago(e.last_order_at)})",
                       f"No orders{' of ' + who if who else ''} since {t.clock(e.last_order_at)} "
                       f"({t.ago(e.last_order_at)})")
    else:
        title = t.pick(f"Заказов{' ' + who if who else ''} на {t.pct(e.drop_share)} меньше обычного с "
                       f"{t.clock(f.started_at)}",
                       f"Orders{' of ' + who if who else ''} {t.pct(e.drop_share)} below usual since "
                       f"{t.clock(f.started_at)}")
    observed = t.pick(
        f"за последние {t.count(e.window_hours, 'hour', 0)} — {t.count(e.observed, 'order', 0)}, а обычно в эти "
        f"часы и дни недели — {t.count(e.expected, 'order')} (обычный день приносит около "
        f"{t.count(e.usual_per_day, 'order', 0)}), на {t.pct(e.drop_share)} меньше.",
        f"{t.count(e.observed, 'order', 0)} in the last {t.count(e.window_hours, 'hour', 0)}, against "
        f"{t.count(e.expected, 'order')} usual for these hours and weekdays (a usual day brings about "
        f"{t.count(e.usual_per_day, 'order', 0)}), {t.pct(e.drop_share)} fewer.")
    if e.last_order_at:
        observed += t.pick(f" Последний заказ: {t.when_tz(e.last_order_at)}.",
                           f" Last order: {t.when_tz(e.last_order_at)}.")
    short = [s for s in e.top_skus[:3] if s.expected >= 1]
    if short:
        observed += t.pick(" Больше всего недостаёт: ", " Missing most: ") + "; ".join(
            t.pick(f"{t.sku(f, s.sku)} — {s.observed} вместо {t.num(s.expected)}",
                   f"{t.sku(f, s.sku)}: {s.observed} instead of {t.num(s.expected)}") for s in short) + "."
    return Parts(
        title, observed,
        t.pick("Заказов заметно меньше, чем обычно в эти часы. Проверьте остатки, цены и статус карточек в личном "
               "кабинете; если там всё в порядке, отправьте обращение в поддержку.",
               "Far fewer orders than usual for these hours. Check stock, prices and card status in the seller "
               "cabinet; if all looks fine, send the support request."),
        (),
        t.pick("Проверьте, пожалуйста, отображаются ли товары в поиске и каталоге и доступны ли они для заказа, нет ли "
               "сбоя или ограничений на стороне Ozon. Сообщите причину и срок восстановления.",
               "Please check whether the products are shown in search and the catalogue and can be ordered, and "
               "whether there is a failure or restriction on Ozon's side. Tell us the cause and when it will be fixed."),
        t.pick("высокая — магазин теряет продажи", "high — the shop is losing sales"), e.p_value)


def _sales_stopped(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(SalesStoppedEvidence)
    who = t.sku(f, e.sku)
    causes = [t.pick(*texts.CAUSES[c]) for c in e.causes]
    observed = t.pick(
        f"по товару {who} нет заказов с {t.when_tz(e.last_order_at)}. За {t.count(e.history_days, 'day', 0)} было "
        f"{t.count(e.orders_in_history, 'order', 0)}; судя по заказам остальных товаров магазина за это время, "
        f"их должно было прийти около {t.num(e.expected_orders_since)}.",
        f"no orders of {who} since {t.when_tz(e.last_order_at)}. It had {t.count(e.orders_in_history, 'order', 0)} "
        f"in {t.count(e.history_days, 'day', 0)}; given the shop's other orders since then, about "
        f"{t.num(e.expected_orders_since)} were due.")
    advice = t.pick("Вероятная причина: " + "; ".join(causes) + "." if causes else
                    "Остаток и карточка в порядке — проверьте цену и видимость товара; если всё верно, "
                    "отправьте обращение.",
                    "Likely cause: " + "; ".join(causes) + "." if causes else
                    "Stock and card look fine — check the price and the product's visibility; if all is right, "
                    "send the request.")
    return Parts(t.pick(f"{who} не продаётся с {t.clock(e.last_order_at)} ({t.ago(e.last_order_at)})",
                        f"{who} has not sold since {t.clock(e.last_order_at)} ({t.ago(e.last_order_at)})"),
                 observed, advice, (),
                 t.pick("Проверьте, пожалуйста, почему товар не показывается покупателям или не может быть заказан.",
                        "Please check why the product is not shown to buyers or cannot be ordered."),
                 t.pick("средняя — товар не продаётся", "medium — the product is not selling"), e.p_value)


def _traffic_drop(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(TrafficDropEvidence)
    who = t.sku(f, e.sku)
    observed = t.pick(
        f"{who} за {t.day(e.day)}: {t.count(e.views, 'view', 0)} при обычных {t.num(e.usual_views, 0)}; "
        f"доля добавлений в корзину {t.pct(e.to_cart_share)} при обычной {t.pct(e.usual_to_cart_share)}.",
        f"{who} on {t.day(e.day)}: {t.count(e.views, 'view', 0)} against a usual {t.num(e.usual_views, 0)}; "
        f"add-to-cart share {t.pct(e.to_cart_share)} against a usual {t.pct(e.usual_to_cart_share)}.")
    title = t.pick(f"Просмотры {who} упали {t.day(e.day)}", f"Views of {who} fell on {t.day(e.day)}") \
        if e.views_fell else t.pick(f"{who} реже добавляют в корзину с {t.day(e.day)}",
                                    f"{who} added to cart less often since {t.day(e.day)}")
    return Parts(
        title, observed,
        t.pick("Товар стали реже показывать или реже добавлять в корзину — так обычно выглядит выпадение из поиска, "
               "рост цен конкурентов или остановка рекламы. Проверьте цену, рекламу и позиции товара.",
               "The product is shown or added to cart less often — typical of a drop in search, competitors' "
               "prices or a stopped campaign. Check the price, advertising and the product's search position."),
        (),
        t.pick("Проверьте, пожалуйста, не понижен ли товар в поиске и нет ли ограничений показа.",
               "Please check whether the product was demoted in search or its display restricted."),
        t.pick("средняя", "medium"), e.p_value)


def _returns_spike(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(ReturnsSpikeEvidence)
    who = t.sku(f, e.sku) if e.sku else t.pick("магазина", "the shop")
    observed = t.pick(
        f"из {t.of(e.orders, 'order')} {who} за последние {t.count(e.cohort_days, 'day', 0)} уже вернули "
        f"{e.returns}, а при обычной доле возвратов ({t.pct(e.usual_rate)}) к этому сроку вернули бы около "
        f"{t.num(e.expected)}. Главная причина: «{e.top_reason}» ({t.pct(e.top_reason_share)} возвратов).",
        f"{e.returns} of the {t.count(e.orders, 'order', 0)} for {who} placed in the last "
        f"{t.count(e.cohort_days, 'day', 0)} have already come back, against about {t.num(e.expected)} by now at the "
        f"usual return rate ({t.pct(e.usual_rate)}). Main reason: \"{e.top_reason}\" "
        f"({t.pct(e.top_reason_share)} of returns).")
    return Parts(
        t.pick(f"Всплеск возвратов {who} с {t.day(f.started_at.astimezone(t.tz).date())}",
               f"Returns spike for {who} since {t.day(f.started_at.astimezone(t.tz).date())}"), observed,
        t.pick("Возвраты по закону о защите прав потребителей поддержка не отменяет. Проверьте партию товара, "
               "упаковку и описание карточки по главной причине возвратов.",
               "Support cannot cancel returns guaranteed by consumer law. Check the batch, the packaging and the "
               "card's description against the main return reason."),
        (),
        t.pick("Проверьте, пожалуйста, не повреждаются ли товары при хранении или доставке.",
               "Please check whether the goods are damaged in storage or transit."),
        t.pick("средняя", "medium"), e.p_value)


def _cancellations(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(CancellationsEvidence)
    forecast = ""
    if e.days_to_danger is not None and e.share_percent < e.danger_percent:
        forecast = t.pick(f" При текущем тренде порог {t.num(e.danger_percent)}% будет превышен через "
                          f"{t.count(e.days_to_danger, 'day')}.", f" At the current trend it crosses "
                          f"{t.num(e.danger_percent)}% in {t.count(e.days_to_danger, 'day')}.")
    elif e.days_to_warning is not None and e.share_percent < e.warning_percent:
        forecast = t.pick(f" При текущем тренде порог {t.num(e.warning_percent)}% будет превышен через "
                          f"{t.count(e.days_to_warning, 'day')}.", f" At the current trend it crosses "
                          f"{t.num(e.warning_percent)}% in {t.count(e.days_to_warning, 'day')}.")
    if e.measured_by == "ozon_index":
        observed = t.pick(
            f"индекс ошибок FBS по данным Ozon за {t.count(e.window_days, 'day', 0)} — {t.num(e.share_percent)}%: "
            f"отмен по вине продавца — {e.cancelled}, опозданий с передачей в доставку — {e.late}; удержано за "
            f"ошибки {t.num(e.charges, 0)} ₽. Пороги Ozon для аккаунта: предупреждение {t.num(e.warning_percent)}%, "
            f"блокировка {t.num(e.danger_percent)}%.{forecast}",
            f"Ozon's FBS error index over {t.count(e.window_days, 'day', 0)} is {t.num(e.share_percent)}%: "
            f"{e.cancelled} seller cancellations and {e.late} late hand-overs; {t.num(e.charges, 0)} RUB charged for "
            f"them. The account's thresholds: warning {t.num(e.warning_percent)}%, blocking "
            f"{t.num(e.danger_percent)}%.{forecast}")
        return Parts(
            t.pick(f"Индекс ошибок FBS: {t.num(e.share_percent)}% за {t.count(e.window_days, 'day', 0)}",
                   f"FBS error index at {t.num(e.share_percent)}% over {t.count(e.window_days, 'day', 0)}"),
            observed,
            t.pick("За каждую отмену и опоздание по вине продавца Ozon удерживает штраф. Сверьте остатки на складе с "
                   "остатками в Ozon и передавайте отправления в доставку вовремя.",
                   "Ozon charges for every seller-fault cancellation and late hand-over. Reconcile warehouse stock "
                   "with the stock on Ozon and hand postings over in time."))
    observed = t.pick(
        f"за {t.count(e.window_days, 'day', 0)} продавец отменил {e.cancelled} из {t.of(e.postings, 'posting')} "
        f"FBS ({t.num(e.share_percent)}%); пороги Ozon для аккаунта: предупреждение {t.num(e.warning_percent)}%, "
        f"блокировка {t.num(e.danger_percent)}%.{forecast}",
        f"the seller cancelled {e.cancelled} of {e.postings} FBS "
        f"{texts.plural_form(e.postings, texts.NOUNS['posting']['en'])} in "
        f"{t.count(e.window_days, 'day', 0)} ({t.num(e.share_percent)}%); the account's thresholds: warning "
        f"{t.num(e.warning_percent)}%, blocking {t.num(e.danger_percent)}%.{forecast}")
    return Parts(
        t.pick(f"Отмены по вине продавца: {t.num(e.share_percent)}% за {t.count(e.window_days, 'day', 0)}",
               f"Seller cancellations at {t.num(e.share_percent)}% over {t.count(e.window_days, 'day', 0)}"), observed,
        t.pick("Каждая отмена по вине продавца штрафуется и ухудшает индекс ошибок. Сверьте остатки на складе с "
               "остатками в Ozon и не принимайте заказы на отсутствующий товар.",
               "Every seller-fault cancellation is charged and worsens the error index. Reconcile warehouse stock "
               "with the stock shown on Ozon and stop taking orders for goods you do not have."))


def _shipment_deadline(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(ShipmentDeadlineEvidence)
    postings = t.count(e.postings, "posting", 0)
    deadline = t.when_tz(e.earliest_deadline)
    if e.kind == "late":
        title = t.pick(f"Просрочена отгрузка: {postings} с {t.clock(e.earliest_deadline)}",
                       f"Shipment overdue: {postings} since {t.clock(e.earliest_deadline)}")
        observed = t.pick(
            f"не переданы в доставку, хотя срок отгрузки истёк: {postings} (самый ранний срок — {deadline}); "
            f"из них собраны и ждут курьера: {e.packed_waiting_courier}. Доля опозданий за {t.count(e.share_days, 'day', 0)}: "
            f"{t.num(e.late_share_percent)}%.",
            f"{postings} not handed over after their shipment deadline (earliest {deadline}); packed and waiting "
            f"for the courier: {e.packed_waiting_courier}. Late share over {t.count(e.share_days, 'day', 0)}: "
            f"{t.num(e.late_share_percent)}%.")
        advice = t.pick("Передайте отправления в доставку как можно скорее: за опоздание начисляется штраф.",
                        "Hand the postings over as soon as possible: late hand-over is charged.")
    else:
        title = t.pick(f"Скоро срок отгрузки: {postings} до {t.clock(e.earliest_deadline)}",
                       f"Shipment due soon: {postings} by {t.clock(e.earliest_deadline)}")
        observed = t.pick(f"{postings} нужно передать в доставку в ближайшие {t.count(e.warn_hours, 'hour')} "
                          f"(первое — до {deadline}).",
                          f"{postings} must be handed over within {t.count(e.warn_hours, 'hour')} "
                          f"(the first by {deadline}).")
        advice = t.pick("Соберите и передайте отправления до срока.", "Pack and hand over the postings in time.")
    return Parts(title, observed, advice, (),
                 t.pick("Собранные отправления не забрал курьер. Просим организовать забор и не начислять штраф "
                        "за опоздание.", "Packed postings were not collected by the courier. Please arrange the "
                        "pick-up and waive the late-shipment charge."),
                 t.pick("высокая — штрафы за опоздание", "high — late charges apply"))


def _stuck_in_delivery(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(StuckInDeliveryEvidence)
    postings = t.count(e.postings, "posting", 0)
    observed = t.pick(
        f"{postings} в статусе «Доставляется» дольше {t.count(e.max_days, 'day', 0)} (самое старое — "
        f"{t.count(e.oldest_days, 'day')}) на сумму {t.num(e.value, 0)} ₽.",
        f"{postings} have been delivering for more than {t.count(e.max_days, 'day', 0)} (the oldest "
        f"{t.count(e.oldest_days, 'day')}), worth {t.num(e.value, 0)} RUB.")
    return Parts(
        t.pick(f"Зависли в доставке: {postings}, дольше {t.count(e.max_days, 'day', 0)}",
               f"Stuck in delivery: {postings}, over {t.count(e.max_days, 'day', 0)}"),
        observed, t.pick("Похоже на потерю в доставке: отправьте запрос на поиск.",
                         "Looks like a loss in transit: send a search request."),
        (),
        t.pick("Просим найти отправления или компенсировать их стоимость.",
               "Please locate the postings or compensate their value."),
        t.pick("средняя", "medium"))


def _stock_out(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(StockOutEvidence)
    who, scheme = t.sku(f, e.sku), e.scheme.upper()
    if e.available <= 0:
        title = t.pick(f"Закончился товар {who} ({scheme})", f"{who} out of stock ({scheme})")
    else:
        title = t.pick(f"{who} закончится через {t.count(e.days_of_cover, 'day')} ({scheme})",
                       f"{who} runs out in {t.count(e.days_of_cover, 'day')} ({scheme})")
    observed = t.pick(f"остаток {e.available} шт. при продажах {t.num(e.daily_sales, 2)} шт. в день — запаса на "
                      f"{t.count(e.days_of_cover, 'day')} (порог — {t.count(e.warn_days, 'day')}).",
                      f"{e.available} units left at {t.num(e.daily_sales, 2)} sold a day — "
                      f"{t.count(e.days_of_cover, 'day')} of cover (threshold {t.count(e.warn_days, 'day')}).")
    return Parts(title, observed, t.pick(
        "Поддержка здесь не поможет: пополните остаток или запланируйте поставку, пока товар не выпал из продаж.",
        "Support cannot help here: restock or plan a supply before the product drops out of sale."))


def _rating_risk(f: Finding, t: Text) -> Parts:
    e = f.evidence
    if isinstance(e, PenaltyScoreEvidence):
        return Parts(t.pick("Превышен порог штрафных баллов", "Penalty score threshold exceeded"),
                     t.pick("Ozon сообщает: штрафные баллы превысили порог.", "Ozon reports the penalty score "
                            "above its threshold."),
                     t.pick("Проверьте раздел «Рейтинг продавца» в кабинете: при превышении возможны ограничения.",
                            "Check Seller rating in the cabinet: restrictions may follow."))
    e = f.evidence_as(RatingRiskEvidence)
    forecast = ""
    if e.days_to_danger is not None:
        forecast = t.pick(f" При текущем тренде порог блокировки будет достигнут через "
                          f"{t.count(e.days_to_danger, 'day')}.",
                          f" At the current trend it reaches the blocking threshold in "
                          f"{t.count(e.days_to_danger, 'day')}.")
    elif e.days_to_warning is not None:
        forecast = t.pick(f" При текущем тренде порог предупреждения будет достигнут через "
                          f"{t.count(e.days_to_warning, 'day')}.",
                          f" At the current trend it reaches the warning threshold in "
                          f"{t.count(e.days_to_warning, 'day')}.")
    value = t.num(e.value, 2) if e.value is not None else "—"
    observed = t.pick(
        f"«{e.name}»: {value} (статус: {t.status(e.status)}); порог предупреждения "
        f"{t.num(e.warning_threshold, 2)}, порог блокировки {t.num(e.danger_threshold, 2)}.{forecast}",
        f"\"{e.name}\": {value} (status: {t.status(e.status)}); warning at "
        f"{t.num(e.warning_threshold, 2)}, blocking at {t.num(e.danger_threshold, 2)}.{forecast}")
    return Parts(t.pick(f"Рейтинг «{e.name}» под угрозой: {value}", f"Rating \"{e.name}\" at risk: {value}"),
                 observed,
                 t.pick("Рейтинг исправляется работой магазина, поддержка его не меняет. Разберите, что ухудшает "
                        "показатель, пока он не достиг порога блокировки.",
                        "A rating improves through the shop's own work; support does not change it. Find what "
                        "drags it down before it reaches the blocking threshold."))


def _card_problems(f: Finding, t: Text) -> Parts:
    e = f.evidence_as(CardProblemsEvidence)
    who = t.sku(f, e.sku)
    reasons = "; ".join([*e.reasons, *e.errors]) or e.status_name or e.status_failed
    observed = t.pick(f"карточка {who}: статус «{e.status_name}», модерация: {t.status(e.moderate_status)}. "
                      f"Причина по данным Ozon: {reasons}.",
                      f"card of {who}: status \"{e.status_name}\", moderation: {t.status(e.moderate_status)}. "
                      f"Ozon's reason: {reasons}.")
    blocked = f.severity == "critical"
    return Parts(
        t.pick(f"Карточка {who} не продаётся" if blocked else f"Ошибки в карточке {who}",
               f"Card of {who} cannot sell" if blocked else f"Errors in the card of {who}"), observed,
        t.pick("Исправьте карточку по причине, указанной Ozon, и отправьте на повторную модерацию; если причина "
               "непонятна или ошибочна — отправьте обращение.",
               "Fix the card as Ozon's reason says and resubmit it; if the reason is unclear or wrong, send the "
               "request."),
        (),
        t.pick("Поясните, пожалуйста, что именно нужно исправить в карточке, или верните её в продажу, если "
               "блокировка ошибочна.", "Please explain what exactly must be fixed in the card, or restore it if the "
               "block is a mistake."),
        t.pick("высокая — товар не продаётся", "high — the product cannot be sold") if blocked
        else t.pick("средняя", "medium"))


def _finance_anomaly(f: Finding, t: Text) -> Parts:
    e = f.evidence
    if isinstance(e, PayoutMissingEvidence):
        weekday = t.pick(*texts.WEEKDAYS[e.usual_weekday])
        observed = t.pick(f"выплата за {t.day(e.day)} не поступила, хотя последние недели выплаты приходили по "
                          f"{weekday} (обычно {t.num(e.usual_amount, 0)} ₽).",
                          f"no payout on {t.day(e.day)}, though recent payouts came on {weekday} "
                          f"(usually {t.num(e.usual_amount, 0)} RUB).")
        return Parts(t.pick(f"Нет выплаты за {t.day(e.day)}", f"No payout on {t.day(e.day)}"), observed,
                     t.pick("Проверьте реквизиты и документы в кабинете; если всё в порядке — отправьте обращение.",
                            "Check the bank details and documents in the cabinet; if all is fine, send the request."),
                     (), t.pick("Сообщите, пожалуйста, причину задержки выплаты и срок её поступления.",
                                "Please tell us why the payout is late and when it will arrive."),
                     t.pick("высокая — деньги не поступили", "high — money has not arrived"))
    e = f.evidence_as(ChargeShareEvidence)
    charge = t.pick("комиссия", "commission") if e.kind == "commission_share" else t.pick("логистика", "logistics")
    observed = t.pick(f"{t.day(e.day)}: {charge} составила {t.pct(e.share)} от продаж "
                      f"({t.count(e.postings, 'posting', 0)}, {t.num(e.sales, 0)} ₽) при обычных "
                      f"{t.pct(e.usual_share)}; лишние {t.num(e.extra_charge, 0)} ₽.",
                      f"{t.day(e.day)}: {charge} took {t.pct(e.share)} of sales ({t.count(e.postings, 'posting', 0)}, "
                      f"{t.num(e.sales, 0)} RUB) against a usual {t.pct(e.usual_share)}; "
                      f"{t.num(e.extra_charge, 0)} RUB extra.")
    return Parts(t.pick(f"Выросла доля удержаний ({charge}) за {t.day(e.day)}",
                        f"Charges up ({charge}) on {t.day(e.day)}"), observed,
                 t.pick("Сверьте начисления с действующими тарифами. Изменение тарифов поддержка не отменяет — "
                        "обращение имеет смысл, если начисление не соответствует тарифу.",
                        "Compare the charges with the current tariffs. Support does not change tariffs — the "
                        "request helps only if a charge does not match the tariff."),
                 (), t.pick("Проверьте, пожалуйста, правильность начислений за этот день.",
                            "Please verify the charges for this day."),
                 t.pick("средняя", "medium"))


def _api_access(f: Finding, t: Text) -> Parts:
    e = f.evidence
    if isinstance(e, KeyExpiryEvidence):
        return Parts(t.pick(f"API-ключ истекает через {t.count(e.days_left, 'day')}",
                            f"API key expires in {t.count(e.days_left, 'day')}"),
                     t.pick(f"срок действия ключа Seller API истекает {t.when_tz(e.expires_at)}.",
                            f"the Seller API key expires {t.when_tz(e.expires_at)}."),
                     t.pick("Создайте новый ключ в кабинете (Настройки → Seller API) и замените его в конфигурации "
                            "ozon-monitor, иначе мониторинг остановится.",
                            "Create a new key in the cabinet (Settings → Seller API) and put it in the ozon-monitor "
                            "config, or monitoring stops."))
    e = f.evidence_as(SourceEvidence)
    names = texts.SOURCE_NAMES[t.lang]
    sources = ", ".join(names.get(s, s) for s in (e.sources or (e.source,)))
    last = t.when_tz(e.last_success) if e.last_success else t.pick("никогда", "never")
    why = texts.ERROR_KINDS[t.lang][e.error_kind] if e.error_kind else \
        t.pick("данные давно не обновлялись", "the data has not been updated for a while")
    since = t.pick(f" с {t.clock(e.last_success)}", f" since {t.clock(e.last_success)}") if e.last_success else ""
    if e.kind == "access_rejected" and e.error_kind == "account_blocked":
        return Parts(t.pick("Ozon сообщает, что аккаунт продавца заблокирован",
                            "Ozon reports the seller account blocked"),
                     t.pick(f"на запросы Seller API Ozon отвечает, что компания заблокирована (последний успешный "
                            f"запрос: {last}). Мониторинг не видит ни заказов, ни остатков.",
                            f"Ozon answers the Seller API calls that the company is blocked (last successful call: "
                            f"{last}). The monitor sees neither orders nor stock."),
                     t.pick("Проверьте уведомления в кабинете продавца и отправьте обращение в поддержку.",
                            "Check the notices in the seller cabinet and send the support request."),
                     (t.pick("запросы отправляются с ключом, который Ozon принимал раньше",
                             "requests are sent with a key Ozon accepted before"),),
                     t.pick("Сообщите, пожалуйста, причину блокировки аккаунта и что нужно сделать для "
                            "разблокировки.", "Please tell us why the account is blocked and what to do to unblock it."),
                     t.pick("высокая — магазин не может работать", "high — the shop cannot trade"))
    if e.kind == "access_rejected":
        return Parts(t.pick(f"Ozon не принимает API-ключ магазина{since}", f"Ozon rejects the shop's API key{since}"),
                     t.pick(f"на запросы Seller API Ozon отвечает, что ключ или Client-Id неверны (последний успешный "
                            f"запрос: {last}). Пока ключ не принят, мониторинг ничего не видит.",
                            f"Ozon answers the Seller API calls that the key or Client-Id is wrong (last successful "
                            f"call: {last}). Until the key is accepted, the monitor sees nothing."),
                     t.pick("Проверьте client_id и ключ в кабинете (Настройки → Seller API): ключ мог быть удалён, "
                            "деактивирован или истечь. Создайте новый и замените его в конфигурации ozon-monitor.",
                            "Check client_id and the key in the cabinet (Settings → Seller API): the key may have been "
                            "deleted, deactivated or expired. Create a new one and put it in the ozon-monitor config."))
    observed = t.pick(f"не обновляются данные «{sources}» (последний успех: {last}); причина: {why}.",
                      f"\"{sources}\" is not updating (last success: {last}); cause: {why}.")
    ask = t.pick("Метод Seller API возвращает ошибку сервера. Просим проверить и сообщить срок исправления.",
                 "A Seller API method keeps failing with a server error. Please check and tell us when it will be "
                 "fixed.")
    checked = (t.pick("ключ принимается, запросы отправляются", "the key is accepted and requests are sent"),)
    urgency = t.pick("высокая — интеграция не работает", "high — the integration is down")
    if f.entity == "postings":
        return Parts(t.pick(f"Монитор не видит заказы{since}: {why}", f"The monitor cannot see orders{since}: {why}"),
                     observed,
                     t.pick("Пока данные об отправлениях не обновляются, проверки продаж, отмен и отгрузок не "
                            "работают — об их проблемах монитор сейчас сообщить не может. Проверьте подключение и "
                            "ключ; если Ozon отвечает ошибкой сервера — отправьте обращение.",
                            "While postings are not updating, the sales, cancellation and shipment checks are blind: "
                            "the monitor cannot report their problems now. Check the connection and the key; if Ozon "
                            "answers with server errors, send the request."), checked, ask, urgency)
    methods = ", ".join(e.methods)
    if e.error_kind == "missing_role" and methods:
        return Parts(t.pick(f"У API-ключа нет роли для метода {methods}", f"The API key has no role for {methods}"),
                     t.pick(f"Ozon отвечает, что у ключа нет роли для метода {methods}, поэтому не обновляются "
                            f"данные «{sources}» (последний успех: {last}).",
                            f"Ozon answers that the key has no role for {methods}, so \"{sources}\" is not updating "
                            f"(last success: {last})."),
                     t.pick(f"В кабинете продавца (Настройки → Seller API) добавьте ключу роль, в которую входит "
                            f"метод {methods}. Остальные данные продолжают обновляться.",
                            f"In the seller cabinet (Settings → Seller API) give the key a role that includes "
                            f"{methods}. The other data keeps updating."))
    if e.error_kind == "method_retired" and methods:
        return Parts(t.pick(f"Ozon отключил метод API {methods}", f"Ozon retired the API method {methods}"),
                     t.pick(f"Ozon больше не отвечает на метод {methods}, поэтому не обновляются данные «{sources}» "
                            f"(последний успех: {last}).",
                            f"Ozon no longer answers {methods}, so \"{sources}\" is not updating (last success: "
                            f"{last})."),
                     t.pick("Обновите ozon-monitor: в новой версии используется действующий метод. Остальные данные "
                            "продолжают обновляться.",
                            "Update ozon-monitor: a newer version uses the current method. The other data keeps "
                            "updating."))
    return Parts(t.pick(f"Нет данных из Ozon: {sources}{since}", f"No data from Ozon: {sources}{since}"), observed,
                 t.pick("Пока данные не обновляются, правила по этим данным не срабатывают. Проверьте права ключа "
                        "и подключение; если Ozon отвечает ошибкой сервера часами — отправьте обращение.",
                        "While the data is not updating, the rules on it are held back. Check the key's roles and "
                        "the connection; if Ozon answers with server errors for hours, send the request."),
                 checked, ask, urgency)


RENDERERS: dict[str, Callable[[Finding, Text], Parts]] = {
    "sales_drop": _sales_drop, "sales_stopped": _sales_stopped, "traffic_drop": _traffic_drop,
    "returns_spike": _returns_spike, "cancellations": _cancellations, "shipment_deadline": _shipment_deadline,
    "stuck_in_delivery": _stuck_in_delivery, "stock_out": _stock_out, "rating_risk": _rating_risk,
    "card_problems": _card_problems, "finance_anomaly": _finance_anomaly, "api_access": _api_access,
}


def checked_lines(f: Finding, t: Text) -> list[str]:
    """What the monitor verified in its own data, one line per product (and the postings feed)."""
    words = texts.CHECKS[t.lang]
    lines: list[str] = []
    per_sku: dict[int, list[str]] = {}
    for check in f.checks:
        fine, broken = words[check.kind]
        value = t.when_tz(datetime.fromisoformat(check.value)) if check.kind == "postings_fresh" and check.value \
            else check.value
        text = (fine if check.ok else broken).format(value=value)
        if check.sku is None:
            lines.append(text)
        else:
            per_sku.setdefault(check.sku, []).append(text)
    lines += [f"{t.sku(f, sku)}: {', '.join(found)}" for sku, found in per_sku.items()]
    return lines


def render(finding: Finding, language: str, tz: ZoneInfo, now: datetime | None = None) -> Rendered:
    """Given a finding, return its title, explanation and support request in `language`;
    `now` (default: when the finding's data ends) anchors "since 09:55 (5 hours)"."""
    t = Text(language, tz, now or finding.started_at + timedelta(0))
    parts = RENDERERS[finding.rule](finding, t)
    L = texts.LABELS[language]
    explanation = f"{parts.observed[:1].upper()}{parts.observed[1:]}"
    if parts.chance is not None:
        explanation += " " + L["chance"].format(chance=texts.chance(parts.chance, language))
    explanation += f"\n{parts.advice}"
    topic = finding.topic
    if topic is None:
        return Rendered(parts.title, explanation, None)

    def request(limit: int | None) -> str:
        lines = [
            f"{L['topic']}: {texts.TOPICS[language][topic]}",
            f"{L['subject']}: {parts.title}",
            f"{L['seller']}: {finding.client_id} ({L['shop']} «{finding.account}»)",
            f"{L['since']}: {t.when_tz(finding.started_at)}",
            f"{L['observed']}: {parts.observed}",
        ]
        if finding.affected_postings:
            lines.append(f"{L['postings']}: " + _listed(finding.affected_postings, limit, L))
        if finding.affected_skus:
            lines.append(f"{L['affected']}: " + _listed([t.sku(finding, s) for s in finding.affected_skus], limit, L))
        checked = [*checked_lines(finding, t), *parts.checked]
        if checked:
            lines.append(f"{L['checked']}: " + "; ".join(checked) + ".")
        lines += [f"{L['ask']}: {parts.ask}", f"{L['urgency']}: {parts.urgency}."]
        return "\n".join(lines)
    return Rendered(parts.title, explanation, request(MAX_LISTED), request(None))


def fallback(finding: Finding, language: str, tz: ZoneInfo) -> Rendered:
    """A plain text built from the finding alone, for when its renderer fails: the seller is
    still told, in their language, what the monitor saw."""
    t = Text(language, tz, finding.started_at)
    title = t.pick(f"Проблема: {finding.rule} ({finding.entity})", f"Problem: {finding.rule} ({finding.entity})")
    items = [*finding.affected_postings[:MAX_LISTED], *(t.sku(finding, s) for s in finding.affected_skus[:MAX_LISTED])]
    explanation = t.pick(f"Началось {t.when_tz(finding.started_at)}.", f"Started {t.when_tz(finding.started_at)}.")
    if items:
        explanation += " " + t.pick("Затронуто: ", "Affected: ") + ", ".join(items) + "."
    return Rendered(title, explanation, None)


def _listed(items: list[str], limit: int | None, labels: dict[str, str]) -> str:
    if limit is None or len(items) <= limit:
        return ", ".join(items)
    return f"{', '.join(items[:limit])} {labels['more'].format(n=len(items) - limit)}"
