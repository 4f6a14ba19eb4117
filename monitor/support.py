"""Turn a finding into seller-facing text: a title, a short explanation and a pre-filled request
to Ozon seller support, in Russian (default) or English, with times in the seller's timezone.

A request follows support's checklist: topic to pick in the chat, subject, Seller ID
(Client-Id), affected postings/SKUs, when it started, what was observed with numbers, what was
checked, what is asked, and urgency. One finding, one problem, one request.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from rules import Finding

TOPICS = {
    "ru": {"technical": "Технические вопросы", "logistics": "Логистика", "finance": "Финансы",
           "marketing": "Маркетинг и продвижение"},
    "en": {"technical": "Technical", "logistics": "Logistics", "finance": "Finance",
           "marketing": "Marketing and promotion"},
}
LABELS = {
    "ru": {"topic": "Тема в чате поддержки", "subject": "Тема обращения", "seller": "Seller ID (Client-Id)",
           "shop": "магазин", "since": "Когда началось", "observed": "Что наблюдаем", "affected": "Затронутые товары (SKU)",
           "checked": "Что уже проверено", "ask": "Просьба", "urgency": "Срочность", "more": "и ещё"},
    "en": {"topic": "Topic in the support chat", "subject": "Subject", "seller": "Seller ID (Client-Id)",
           "shop": "shop", "since": "Started", "observed": "Observed", "affected": "Affected products (SKU)",
           "checked": "Already checked", "ask": "Request", "urgency": "Urgency", "more": "and more"},
}
MAX_LISTED = 20


@dataclass(frozen=True)
class Rendered:
    title: str
    explanation: str
    support_request: str | None  # None when support cannot help; `explanation` then carries advice


class Text:
    """Language- and timezone-aware formatting for one rendering."""

    def __init__(self, language: str, tz: ZoneInfo) -> None:
        self.lang, self.tz = language, tz

    def pick(self, ru: str, en: str) -> str:
        return ru if self.lang == "ru" else en

    def when(self, moment: datetime) -> str:
        local = moment.astimezone(self.tz)
        return local.strftime("%d.%m.%Y %H:%M") if self.lang == "ru" else local.strftime("%Y-%m-%d %H:%M")

    def when_tz(self, moment: datetime) -> str:
        return f"{self.when(moment)} ({self.tz.key})"

    def num(self, value: float, digits: int = 1) -> str:
        text = f"{value:,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:,.0f}"
        return text.replace(",", "\u00a0").replace(".", ",") if self.lang == "ru" else text

    def pct(self, share: float) -> str:
        return f"{self.num(share * 100, 0)}%"


@dataclass(frozen=True)
class Parts:
    """What a rule's renderer says; `checked`, `ask` and `urgency` only matter when support can help."""

    title: str
    observed: str
    explanation: str
    checked: tuple[str, ...] = ()
    ask: str = ""
    urgency: str = ""


def _api_ok(t: Text) -> str:
    return t.pick("Seller API отвечает, данные синхронизированы до момента проверки",
                  "The Seller API answers; data is synced up to the time of this check")


def _sales_drop(f: Finding, t: Text) -> Parts:
    e = f.evidence
    hours, observed, expected = e["window_hours"], e["observed"], e["expected"]
    baseline = ", ".join(str(c) for c in e["baseline_counts"])
    what = t.pick("Заказы", "Orders") if e.get("scope") != "sku" else t.pick(f"Заказы SKU {e['sku']}",
                                                                            f"Orders of SKU {e['sku']}")
    title = t.pick(f"{what} упали на {t.pct(e['drop_share'])} за последние {hours} ч",
                   f"{what} down {t.pct(e['drop_share'])} in the last {hours} h")
    observed_text = t.pick(
        f"за последние {hours} ч — {observed} заказов, обычно в эти же часы этого дня недели — "
        f"{t.num(expected)} (по {len(e['baseline_counts'])} предыдущим неделям: {baseline}). "
        f"Снижение на {t.pct(e['drop_share'])}; вероятность такого падения по случайности p = {e['p_value']:.1e}.",
        f"{observed} orders in the last {hours} h against {t.num(expected)} usually in the same hours of this "
        f"weekday (previous {len(e['baseline_counts'])} weeks: {baseline}). Down {t.pct(e['drop_share'])}; "
        f"chance of a fall this large by luck p = {e['p_value']:.1e}.")
    if e.get("last_order_at"):
        observed_text += t.pick(f" Последний заказ: {t.when_tz(datetime.fromisoformat(e['last_order_at']))}.",
                                f" Last order: {t.when_tz(datetime.fromisoformat(e['last_order_at']))}.")
    return Parts(
        title, observed_text,
        t.pick("Заказов заметно меньше, чем обычно в эти часы. Проверьте остатки, цены и статус карточек в личном "
               "кабинете; если там всё в порядке, отправьте обращение в поддержку.",
               "Far fewer orders than usual for these hours. Check stock, prices and card status in the seller "
               "cabinet; if all looks fine, send the support request."),
        (_api_ok(t),),
        t.pick("Проверьте, пожалуйста, отображаются ли товары в поиске и каталоге и доступны ли они для заказа, нет ли "
               "сбоя или ограничений на стороне Ozon. Сообщите причину и срок восстановления.",
               "Please check whether the products are shown in search and the catalogue and can be ordered, and "
               "whether there is a failure or restriction on Ozon's side. Tell us the cause and when it will be fixed."),
        t.pick("высокая — магазин теряет продажи", "high — the shop is losing sales"))


CAUSES = {
    "stock_zero": ("остаток равен нулю", "stock is zero"),
    "card_failed": ("карточка не прошла модерацию или содержит ошибки", "the card failed moderation or has errors"),
    "card_unavailable": ("карточка недоступна для покупки", "the card is not available for purchase"),
    "price_quarantine": ("цена в карантине", "the price is in quarantine"),
    "card_archived": ("карточка в архиве", "the card is archived"),
}


def _sales_stopped(f: Finding, t: Text) -> Parts:
    e = f.evidence
    since = t.when_tz(datetime.fromisoformat(e["last_order_at"]))
    causes = [t.pick(*CAUSES[c]) for c in e["causes"]]
    observed = t.pick(
        f"по SKU {e['sku']} ({e['offer_id']}) нет заказов с {since}. За {e['history_days']} дней было "
        f"{e['orders_in_history']} заказов; за это время по остальным товарам магазина ожидалось бы "
        f"{t.num(e['expected_orders_since'])} заказов этого SKU (p = {e['p_value']:.1e}).",
        f"no orders of SKU {e['sku']} ({e['offer_id']}) since {since}. It had {e['orders_in_history']} orders in "
        f"{e['history_days']} days; given the shop's other orders since then, about "
        f"{t.num(e['expected_orders_since'])} were due (p = {e['p_value']:.1e}).")
    checked = [_api_ok(t), t.pick("остаток и статус карточки: ", "stock and card status: ") + (
        "; ".join(causes) if causes else t.pick("проблем не найдено", "no problem found"))]
    advice = t.pick("Вероятная причина: " + "; ".join(causes) + "." if causes else
                    "Остаток и карточка в порядке — проверьте цену и видимость товара; если всё верно, "
                    "отправьте обращение.",
                    "Likely cause: " + "; ".join(causes) + "." if causes else
                    "Stock and card look fine — check the price and the product's visibility; if all is right, "
                    "send the request.")
    return Parts(t.pick(f"SKU {e['sku']} перестал продаваться", f"SKU {e['sku']} stopped selling"), observed, advice,
                 tuple(checked),
                 t.pick("Проверьте, пожалуйста, почему товар не показывается покупателям или не может быть заказан.",
                        "Please check why the product is not shown to buyers or cannot be ordered."),
                 t.pick("средняя — товар не продаётся", "medium — the product is not selling"))


def _traffic_drop(f: Finding, t: Text) -> Parts:
    e = f.evidence
    observed = t.pick(
        f"SKU {e['sku']} за {e['day']}: {t.num(e['views'], 0)} показов при обычных {t.num(e['usual_views'], 0)}; "
        f"доля добавлений в корзину {t.pct(e['to_cart_share'])} при обычной {t.pct(e['usual_to_cart_share'])}.",
        f"SKU {e['sku']} on {e['day']}: {t.num(e['views'], 0)} views against a usual {t.num(e['usual_views'], 0)}; "
        f"add-to-cart share {t.pct(e['to_cart_share'])} against a usual {t.pct(e['usual_to_cart_share'])}.")
    return Parts(
        t.pick(f"Просмотры SKU {e['sku']} упали", f"Views of SKU {e['sku']} fell"), observed,
        t.pick("Товар стали реже показывать или реже добавлять в корзину — так обычно выглядит выпадение из поиска, "
               "рост цен конкурентов или остановка рекламы. Проверьте цену, рекламу и позиции товара.",
               "The product is shown or added to cart less often — typical of a drop in search, competitors' "
               "prices or a stopped campaign. Check the price, advertising and the product's search position."),
        (_api_ok(t),),
        t.pick("Проверьте, пожалуйста, не понижен ли товар в поиске и нет ли ограничений показа.",
               "Please check whether the product was demoted in search or its display restricted."),
        t.pick("средняя", "medium"))


def _returns_spike(f: Finding, t: Text) -> Parts:
    e = f.evidence
    who = f"SKU {e['sku']}" if e.get("sku") else t.pick("магазина", "the shop")
    observed = t.pick(
        f"из {e['orders']} заказов {who} за последние {e['cohort_days']} дней уже вернули {e['returns']}, "
        f"а при обычной доле возвратов ({t.pct(e['usual_rate'])}) к этому сроку ожидалось бы {t.num(e['expected'])} "
        f"(p = {e['p_value']:.1e}). Главная причина: «{e['top_reason']}» ({t.pct(e['top_reason_share'])} возвратов).",
        f"{e['returns']} of the {e['orders']} orders for {who} placed in the last {e['cohort_days']} days have "
        f"already come back, against {t.num(e['expected'])} expected by now at the usual return rate "
        f"({t.pct(e['usual_rate'])}; p = {e['p_value']:.1e}). Main reason: \"{e['top_reason']}\" "
        f"({t.pct(e['top_reason_share'])} of returns).")
    return Parts(
        t.pick(f"Всплеск возвратов: {who}", f"Returns spike: {who}"), observed,
        t.pick("Возвраты по закону о защите прав потребителей поддержка не отменяет. Проверьте партию товара, "
               "упаковку и описание карточки по главной причине возвратов.",
               "Support cannot cancel returns guaranteed by consumer law. Check the batch, the packaging and the "
               "card's description against the main return reason."),
        (_api_ok(t),),
        t.pick("Проверьте, пожалуйста, не повреждаются ли товары при хранении или доставке.",
               "Please check whether the goods are damaged in storage or transit."),
        t.pick("средняя", "medium"))


def _cancellations(f: Finding, t: Text) -> Parts:
    e = f.evidence
    forecast = ""
    if e.get("days_to_danger") is not None and e["share_percent"] < e["danger_percent"]:
        forecast = t.pick(f" При текущем тренде порог {t.num(e['danger_percent'])}% будет превышен через "
                          f"{t.num(e['days_to_danger'])} дн.", f" At the current trend it crosses "
                          f"{t.num(e['danger_percent'])}% in {t.num(e['days_to_danger'])} days.")
    elif e.get("days_to_warning") is not None and e["share_percent"] < e["warning_percent"]:
        forecast = t.pick(f" При текущем тренде порог {t.num(e['warning_percent'])}% будет превышен через "
                          f"{t.num(e['days_to_warning'])} дн.", f" At the current trend it crosses "
                          f"{t.num(e['warning_percent'])}% in {t.num(e['days_to_warning'])} days.")
    observed = t.pick(
        f"за {e['window_days']} дней продавец отменил {e['cancelled']} из {e['postings']} отправлений FBS "
        f"({t.num(e['share_percent'])}%); пороги Ozon для аккаунта: предупреждение {t.num(e['warning_percent'])}%, "
        f"блокировка {t.num(e['danger_percent'])}%.{forecast}",
        f"the seller cancelled {e['cancelled']} of {e['postings']} FBS postings in {e['window_days']} days "
        f"({t.num(e['share_percent'])}%); the account's thresholds: warning {t.num(e['warning_percent'])}%, "
        f"blocking {t.num(e['danger_percent'])}%.{forecast}")
    return Parts(
        t.pick(f"Отмены по вине продавца: {t.num(e['share_percent'])}%",
               f"Seller cancellations at {t.num(e['share_percent'])}%"), observed,
        t.pick("Каждая отмена по вине продавца штрафуется и ухудшает индекс ошибок. Сверьте остатки на складе с "
               "остатками в Ozon и не принимайте заказы на отсутствующий товар.",
               "Every seller-fault cancellation is charged and worsens the error index. Reconcile warehouse stock "
               "with the stock shown on Ozon and stop taking orders for goods you do not have."))


def _shipment_deadline(f: Finding, t: Text) -> Parts:
    e = f.evidence
    deadline = t.when_tz(datetime.fromisoformat(e["earliest_deadline"]))
    if e["kind"] == "late":
        title = t.pick(f"Просрочена отгрузка: {e['postings']} отправл.", f"Shipment overdue: {e['postings']} postings")
        observed = t.pick(
            f"{e['postings']} отправлений не переданы в доставку, срок отгрузки истёк (самый ранний — {deadline}); "
            f"{e['packed_waiting_courier']} из них собраны и ждут курьера. Доля опозданий за {e['share_days']} "
            f"дн.: {t.num(e['late_share_percent'])}%.",
            f"{e['postings']} postings not handed over after their shipment deadline (earliest {deadline}); "
            f"{e['packed_waiting_courier']} are packed and waiting for the courier. Late share over "
            f"{e['share_days']} days: {t.num(e['late_share_percent'])}%.")
        advice = t.pick("Передайте отправления в доставку как можно скорее: за опоздание начисляется штраф.",
                        "Hand the postings over as soon as possible: late hand-over is charged.")
    else:
        title = t.pick(f"Скоро срок отгрузки: {e['postings']} отправл.", f"Shipment due soon: {e['postings']} postings")
        observed = t.pick(f"{e['postings']} отправлений нужно передать в доставку в ближайшие "
                          f"{t.num(e['warn_hours'])} ч (первое — до {deadline}).",
                          f"{e['postings']} postings must be handed over within {t.num(e['warn_hours'])} h "
                          f"(the first by {deadline}).")
        advice = t.pick("Соберите и передайте отправления до срока.", "Pack and hand over the postings in time.")
    return Parts(title, observed, advice, (_api_ok(t),),
                 t.pick("Собранные отправления не забрал курьер. Просим организовать забор и не начислять штраф "
                        "за опоздание.", "Packed postings were not collected by the courier. Please arrange the "
                        "pick-up and waive the late-shipment charge."),
                 t.pick("высокая — штрафы за опоздание", "high — late charges apply"))


def _stuck_in_delivery(f: Finding, t: Text) -> Parts:
    e = f.evidence
    observed = t.pick(
        f"{e['postings']} отправлений в статусе «Доставляется» дольше {t.num(e['max_days'], 0)} дней "
        f"(самое старое — {t.num(e['oldest_days'])} дн.) на сумму {t.num(e['value'], 0)} ₽.",
        f"{e['postings']} postings have been delivering for more than {t.num(e['max_days'], 0)} days "
        f"(the oldest {t.num(e['oldest_days'])} days), worth {t.num(e['value'], 0)} RUB.")
    return Parts(
        t.pick(f"Отправления зависли в доставке: {e['postings']}", f"Postings stuck in delivery: {e['postings']}"),
        observed, t.pick("Похоже на потерю в доставке: отправьте запрос на поиск.",
                         "Looks like a loss in transit: send a search request."),
        (_api_ok(t),),
        t.pick("Просим найти отправления или компенсировать их стоимость.",
               "Please locate the postings or compensate their value."),
        t.pick("средняя", "medium"))


def _stock_out(f: Finding, t: Text) -> Parts:
    e = f.evidence
    scheme = e["scheme"].upper()
    if e["available"] <= 0:
        title = t.pick(f"Закончился товар SKU {e['sku']} ({scheme})", f"SKU {e['sku']} out of stock ({scheme})")
    else:
        title = t.pick(f"SKU {e['sku']} закончится через {t.num(e['days_of_cover'])} дн. ({scheme})",
                       f"SKU {e['sku']} runs out in {t.num(e['days_of_cover'])} days ({scheme})")
    observed = t.pick(f"остаток {e['available']} шт. при продажах {t.num(e['daily_sales'], 2)} шт./день — "
                      f"запаса на {t.num(e['days_of_cover'])} дн. (порог {t.num(e['warn_days'])} дн.).",
                      f"{e['available']} units left at {t.num(e['daily_sales'], 2)} sold a day — "
                      f"{t.num(e['days_of_cover'])} days of cover (threshold {t.num(e['warn_days'])} days).")
    return Parts(title, observed, t.pick(
        "Поддержка здесь не поможет: пополните остаток или запланируйте поставку, пока товар не выпал из продаж.",
        "Support cannot help here: restock or plan a supply before the product drops out of sale."))


def _rating_risk(f: Finding, t: Text) -> Parts:
    e = f.evidence
    if f.entity == "penalty_score":
        return Parts(t.pick("Превышен порог штрафных баллов", "Penalty score threshold exceeded"),
                     t.pick("Ozon сообщает: штрафные баллы превысили порог.", "Ozon reports the penalty score "
                            "above its threshold."),
                     t.pick("Проверьте раздел «Рейтинг продавца» в кабинете: при превышении возможны ограничения.",
                            "Check Seller rating in the cabinet: restrictions may follow."))
    forecast = ""
    if e.get("days_to_danger") is not None:
        forecast = t.pick(f" При текущем тренде порог блокировки будет достигнут через {t.num(e['days_to_danger'])} дн.",
                          f" At the current trend it reaches the blocking threshold in {t.num(e['days_to_danger'])} days.")
    elif e.get("days_to_warning") is not None:
        forecast = t.pick(f" При текущем тренде порог предупреждения будет достигнут через "
                          f"{t.num(e['days_to_warning'])} дн.",
                          f" At the current trend it reaches the warning threshold in {t.num(e['days_to_warning'])} days.")
    observed = t.pick(
        f"«{e['name']}»: {t.num(e['value'], 2)} (статус {e['status']}); порог предупреждения "
        f"{t.num(e['warning_threshold'], 2)}, порог блокировки {t.num(e['danger_threshold'], 2)}.{forecast}",
        f"\"{e['name']}\": {t.num(e['value'], 2)} (status {e['status']}); warning at "
        f"{t.num(e['warning_threshold'], 2)}, blocking at {t.num(e['danger_threshold'], 2)}.{forecast}")
    return Parts(t.pick(f"Рейтинг «{e['name']}» под угрозой", f"Rating \"{e['name']}\" at risk"), observed,
                 t.pick("Рейтинг исправляется работой магазина, поддержка его не меняет. Разберите, что ухудшает "
                        "показатель, пока он не достиг порога блокировки.",
                        "A rating improves through the shop's own work; support does not change it. Find what "
                        "drags it down before it reaches the blocking threshold."))


def _card_problems(f: Finding, t: Text) -> Parts:
    e = f.evidence
    reasons = "; ".join([*e["reasons"], *e["errors"]]) or e["status_name"] or e["status_failed"]
    observed = t.pick(f"карточка SKU {e['sku']} ({e['offer_id']}, «{e['name']}»): статус «{e['status_name']}», "
                      f"модерация: {e['moderate_status'] or '—'}. Причина по данным Ozon: {reasons}.",
                      f"card of SKU {e['sku']} ({e['offer_id']}, \"{e['name']}\"): status \"{e['status_name']}\", "
                      f"moderation: {e['moderate_status'] or '—'}. Ozon's reason: {reasons}.")
    return Parts(
        t.pick(f"Проблема с карточкой SKU {e['sku']}", f"Card problem: SKU {e['sku']}"), observed,
        t.pick("Исправьте карточку по причине, указанной Ozon, и отправьте на повторную модерацию; если причина "
               "непонятна или ошибочна — отправьте обращение.",
               "Fix the card as Ozon's reason says and resubmit it; if the reason is unclear or wrong, send the "
               "request."),
        (_api_ok(t),),
        t.pick("Поясните, пожалуйста, что именно нужно исправить в карточке, или верните её в продажу, если "
               "блокировка ошибочна.", "Please explain what exactly must be fixed in the card, or restore it if the "
               "block is a mistake."),
        t.pick("высокая — товар не продаётся", "high — the product cannot be sold") if f.severity == "critical"
        else t.pick("средняя", "medium"))


def _finance_anomaly(f: Finding, t: Text) -> Parts:
    e = f.evidence
    if e["kind"] == "payout_missing":
        weekday = t.pick(*WEEKDAYS[e["usual_weekday"]])
        observed = t.pick(f"выплата за {e['day']} не поступила, хотя последние недели выплаты приходили по "
                          f"{weekday} (обычно {t.num(e['usual_amount'], 0)} ₽).",
                          f"no payout on {e['day']}, though recent payouts came on {weekday} "
                          f"(usually {t.num(e['usual_amount'], 0)} RUB).")
        return Parts(t.pick(f"Нет выплаты за {e['day']}", f"No payout on {e['day']}"), observed,
                     t.pick("Проверьте реквизиты и документы в кабинете; если всё в порядке — отправьте обращение.",
                            "Check the bank details and documents in the cabinet; if all is fine, send the request."),
                     (_api_ok(t),), t.pick("Сообщите, пожалуйста, причину задержки выплаты и срок её поступления.",
                                           "Please tell us why the payout is late and when it will arrive."),
                     t.pick("высокая — деньги не поступили", "high — money has not arrived"))
    charge = t.pick("комиссия", "commission") if e["kind"] == "commission_share" else t.pick("логистика", "logistics")
    observed = t.pick(f"{e['day']}: {charge} составила {t.pct(e['share'])} от продаж ({e['postings']} отправлений, "
                      f"{t.num(e['sales'], 0)} ₽) при обычных {t.pct(e['usual_share'])}; лишние "
                      f"{t.num(e['extra_charge'], 0)} ₽.",
                      f"{e['day']}: {charge} took {t.pct(e['share'])} of sales ({e['postings']} postings, "
                      f"{t.num(e['sales'], 0)} RUB) against a usual {t.pct(e['usual_share'])}; "
                      f"{t.num(e['extra_charge'], 0)} RUB extra.")
    return Parts(t.pick(f"Выросла доля удержаний: {charge}", f"Charges up: {charge}"), observed,
                 t.pick("Сверьте начисления с действующими тарифами. Изменение тарифов поддержка не отменяет — "
                        "обращение имеет смысл, если начисление не соответствует тарифу.",
                        "Compare the charges with the current tariffs. Support does not change tariffs — the "
                        "request helps only if a charge does not match the tariff."),
                 (_api_ok(t),), t.pick("Проверьте, пожалуйста, правильность начислений за этот день.",
                                       "Please verify the charges for this day."),
                 t.pick("средняя", "medium"))


WEEKDAYS = [("понедельникам", "Mondays"), ("вторникам", "Tuesdays"), ("средам", "Wednesdays"),
            ("четвергам", "Thursdays"), ("пятницам", "Fridays"), ("субботам", "Saturdays"), ("воскресеньям", "Sundays")]


def _api_access(f: Finding, t: Text) -> Parts:
    e = f.evidence
    if e["kind"] == "key_expiry":
        when = t.when_tz(datetime.fromisoformat(e["expires_at"]))
        return Parts(t.pick(f"API-ключ истекает через {t.num(e['days_left'])} дн.",
                            f"API key expires in {t.num(e['days_left'])} days"),
                     t.pick(f"срок действия ключа Seller API истекает {when}.", f"the Seller API key expires {when}."),
                     t.pick("Создайте новый ключ в кабинете (Настройки → Seller API) и замените его в конфигурации "
                            "ozon-monitor, иначе мониторинг остановится.",
                            "Create a new key in the cabinet (Settings → Seller API) and put it in the ozon-monitor "
                            "config, or monitoring stops."))
    last = t.when_tz(datetime.fromisoformat(e["last_success"])) if e.get("last_success") else t.pick("никогда", "never")
    observed = t.pick(f"источник данных «{e['source']}» не обновляется (последний успех: {last}); ошибка: "
                      f"{e.get('error') or '—'}.", f"data source \"{e['source']}\" is not updating (last success: "
                      f"{last}); error: {e.get('error') or '—'}.")
    return Parts(t.pick(f"Нет данных из Ozon: {e['source']}", f"No data from Ozon: {e['source']}"), observed,
                 t.pick("Пока данные не обновляются, правила по этим данным не срабатывают. Проверьте права ключа "
                        "и подключение; если Ozon отвечает ошибкой сервера часами — отправьте обращение.",
                        "While the data is not updating, the rules on it are held back. Check the key's roles and "
                        "the connection; if Ozon answers with server errors for hours, send the request."),
                 (t.pick("ключ действителен, запросы отправляются", "the key is valid and requests are sent"),),
                 t.pick("Метод Seller API возвращает ошибку сервера. Просим проверить и сообщить срок исправления.",
                        "A Seller API method keeps failing with a server error. Please check and tell us when it "
                        "will be fixed."),
                 t.pick("высокая — интеграция не работает", "high — the integration is down"))


RENDERERS: dict[str, Callable[[Finding, Text], Parts]] = {
    "sales_drop": _sales_drop, "sales_stopped": _sales_stopped, "traffic_drop": _traffic_drop,
    "returns_spike": _returns_spike, "cancellations": _cancellations, "shipment_deadline": _shipment_deadline,
    "stuck_in_delivery": _stuck_in_delivery, "stock_out": _stock_out, "rating_risk": _rating_risk,
    "card_problems": _card_problems, "finance_anomaly": _finance_anomaly, "api_access": _api_access,
}


def render(finding: Finding, language: str, tz: ZoneInfo) -> Rendered:
    """Given a finding, return its title, explanation and support request in `language`."""
    t = Text(language, tz)
    parts = RENDERERS[finding.rule](finding, t)
    title, observed, checked, ask, urgency = parts.title, parts.observed, parts.checked, parts.ask, parts.urgency
    explanation = f"{observed[:1].upper()}{observed[1:]}\n{parts.explanation}"
    if finding.topic is None:
        return Rendered(title, explanation, None)
    L = LABELS[language]
    lines = [
        f"{L['topic']}: {TOPICS[language][finding.topic]}",
        f"{L['subject']}: {title}",
        f"{L['seller']}: {finding.client_id} ({L['shop']} «{finding.account}»)",
        f"{L['since']}: {t.when_tz(finding.started_at)}",
        f"{L['observed']}: {observed}",
    ]
    if finding.affected_postings:
        lines.append(t.pick("Номера отправлений", "Posting numbers") + ": " + _listed(finding.affected_postings, L))
    if finding.affected_skus:
        lines.append(f"{L['affected']}: " + _listed([str(s) for s in finding.affected_skus], L))
    lines += [f"{L['checked']}: " + "; ".join(checked) + ".", f"{L['ask']}: {ask}", f"{L['urgency']}: {urgency}."]
    return Rendered(title, explanation, "\n".join(lines))


def _listed(items: list[str], labels: dict[str, str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    return shown if len(items) <= MAX_LISTED else f"{shown} {labels['more']} {len(items) - MAX_LISTED}"
