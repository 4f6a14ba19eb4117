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


def _sales_drop(f: Finding, t: Text) -> tuple[str, str, list[str], str, str, str]:
    e = f.evidence
    hours, observed, expected = e["window_hours"], e["observed"], e["expected"]
    baseline = ", ".join(str(c) for c in e["baseline_counts"])
    title = t.pick(f"Заказы упали на {t.pct(e['drop_share'])} за последние {hours} ч",
                   f"Orders down {t.pct(e['drop_share'])} in the last {hours} h")
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
    checked = [t.pick("Seller API отвечает, заказы синхронизированы до момента проверки",
                      "The Seller API answers; orders are synced up to the time of this check")]
    ask = t.pick("Проверьте, пожалуйста, отображаются ли товары магазина в поиске и каталоге и доступны ли они "
                 "для заказа, нет ли сбоя или ограничений на стороне Ozon. Сообщите причину и срок восстановления.",
                 "Please check whether the shop's products are shown in search and the catalogue and can be "
                 "ordered, and whether there is a failure or restriction on Ozon's side. Tell us the cause and "
                 "when it will be fixed.")
    urgency = t.pick("высокая — магазин теряет продажи", "high — the shop is losing sales")
    explanation = t.pick(
        "Заказов заметно меньше, чем обычно в эти часы. Проверьте остатки, цены и статус карточек в личном "
        "кабинете; если там всё в порядке, отправьте обращение в поддержку.",
        "Far fewer orders than usual for these hours. Check stock, prices and card status in the seller cabinet; "
        "if all looks fine, send the support request.")
    return title, observed_text, checked, ask, urgency, explanation


RENDERERS: dict[str, Callable[[Finding, Text], tuple[str, str, list[str], str, str, str]]] = {
    "sales_drop": _sales_drop,
}


def render(finding: Finding, language: str, tz: ZoneInfo) -> Rendered:
    """Given a finding, return its title, explanation and support request in `language`."""
    t = Text(language, tz)
    title, observed, checked, ask, urgency, explanation = RENDERERS[finding.rule](finding, t)
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
