"""Every seller-facing word, looked up in the seller's language (`monitor/i18n/`), and the ways
a number, a count, a span and a moment are written there ("1 заказ", "2 заказа", "5 заказов",
"21 заказ"; "1 234,5"; "05.12.2026 14:05")."""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor.i18n import LANGUAGES


def say(language: str, key: str, **params: Any) -> str:
    """The message `key` in `language` with its `params` filled in."""
    return LANGUAGES[language].messages[key].format(**params)


class Said(ValueError):
    """An error that speaks the seller's language: a message id and its parameters, any of which
    may itself be a `Said`. `str()` is the English text, for logs and tracebacks."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key, self.params = key, params

    def text(self, language: str) -> str:
        return say(language, self.key, **{name: value.text(language) if isinstance(value, Said) else value
                                          for name, value in self.params.items()})

    def __str__(self) -> str:
        return self.text("en")


def rule_name(rule: str, language: str) -> str:
    """A rule as the seller names the problem: "Падение продаж", not `sales_drop`."""
    return LANGUAGES[language].messages.get(f"rule.{rule}", rule)


def plural_form(number: float, noun: str, language: str) -> str:
    """The form of `noun` that goes with `number` in `language`."""
    lang = LANGUAGES[language]
    return lang.nouns[noun][lang.plural(number)]


def number(value: float, language: str, digits: int = 1) -> str:
    """A number as the seller writes it: "1 234,5" in Russian, "1,234.5" in English."""
    lang = LANGUAGES[language]
    text = f"{value:,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:,.0f}"
    return text.replace(",", "\0").replace(".", lang.decimal).replace("\0", lang.group)


def measured(value: float, language: str) -> str:
    """A measured value (revenue, a share, a price) as a seller reads it: whole from 100 up
    ("78 068"), three significant digits below ("12,5", "0,031"), never a share shown as 0."""
    size = abs(value)
    return number(value, language, 0 if size >= 100 or size == 0 else max(0, 2 - math.floor(math.log10(size))))


def count(value: float, noun: str, language: str, digits: int = 0) -> str:
    """"5 заказов", "1 order"; `digits` for a measure that is not a count ("2,5 дня")."""
    return f"{number(value, language, digits)} {plural_form(round(value, digits), noun, language)}"


def money(rubles: float, language: str) -> str:
    """An estimate in rubles as a person says it: two significant figures ("45 000 ₽")."""
    if rubles <= 0:
        return f"0 {LANGUAGES[language].currency}"
    digits = max(int(math.floor(math.log10(rubles))) - 1, 0)
    return f"{number(round(rubles, -digits), language, 0)} {LANGUAGES[language].currency}"


def count_of(value: int, noun: str, language: str) -> str:
    """The whole after "из"/"of": "из 21 заказа", "из 122 заказов", "of 122 orders"."""
    lang = LANGUAGES[language]
    if lang.of_plural is None or noun not in lang.of_nouns:
        return count(value, noun, language, 0)
    return f"{number(value, language, 0)} {lang.of_nouns[noun][lang.of_plural(value)]}"


def duration(span: timedelta, language: str) -> str:
    """A span in whole days, hours or minutes, whichever reads best: "5 ч" is not written."""
    minutes = max(int(span.total_seconds() // 60), 0)
    if minutes < 60:
        return count(minutes, "minute", language, 0)
    if minutes < 48 * 60:
        hours, rest = divmod(minutes, 60)
        text = count(hours, "hour", language, 0)
        return text if rest < 5 or hours >= 10 else f"{text} {count(rest, 'minute', language, 0)}"
    return count(round(minutes / 1440, 1), "day", language)


def day(value: date, language: str) -> str:
    return value.strftime(LANGUAGES[language].day)


def zone(moment: datetime, language: str, tz: ZoneInfo) -> str:
    """The zone's short name as the seller writes it: "МСК", "МСК+2"; never "Europe/Moscow"."""
    local = moment.astimezone(tz)
    return LANGUAGES[language].zone(local.utcoffset() or timedelta(), local.tzname() or "")


def when(moment: datetime, language: str, tz: ZoneInfo) -> str:
    """"05.12.2026 14:05 МСК"."""
    return f"{moment.astimezone(tz).strftime(LANGUAGES[language].when)} {zone(moment, language, tz)}"


def clock(moment: datetime, reference: datetime, language: str, tz: ZoneInfo) -> str:
    """"09:55 МСК" when `moment` is on the same local day as `reference`, else with the date."""
    local, ref = moment.astimezone(tz), reference.astimezone(tz)
    shown = local.strftime("%H:%M" if local.date() == ref.date() else LANGUAGES[language].clock_other_day)
    return f"{shown} {zone(moment, language, tz)}"


# The tables of every language, by language code (`STATUSES["ru"]["OK"]`).
STATUSES = {code: lang.statuses for code, lang in LANGUAGES.items()}
SOURCE_NAMES = {code: lang.source_names for code, lang in LANGUAGES.items()}
ERROR_KINDS = {code: lang.error_kinds for code, lang in LANGUAGES.items()}
CHECKS = {code: lang.checks for code, lang in LANGUAGES.items()}
WORDS = {code: lang.words for code, lang in LANGUAGES.items()}
WATCHDOG = {code: lang.watchdog for code, lang in LANGUAGES.items()}
STORAGE = {code: lang.storage for code, lang in LANGUAGES.items()}
SUMMARY = {code: lang.summary for code, lang in LANGUAGES.items()}
TOPICS = {code: lang.topics for code, lang in LANGUAGES.items()}
LABELS = {code: lang.labels for code, lang in LANGUAGES.items()}
CAUSES = {code: lang.causes for code, lang in LANGUAGES.items()}
WEEKDAYS = {code: lang.weekdays for code, lang in LANGUAGES.items()}
