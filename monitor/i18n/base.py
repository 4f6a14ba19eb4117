"""What a language's catalogue holds. A third language is one more module like `ru.py` filled
in full (a test holds every catalogue to the same keys) and a line in `LANGUAGES`."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta


@dataclass(frozen=True)
class Language:
    code: str
    plural: Callable[[float], int]  # the index in a noun's forms that goes with a number (CLDR plural rule)
    currency: str  # after a sum in rubles
    decimal: str  # how numbers are written
    group: str
    zone: Callable[[timedelta, str], str]  # a zone's short name from its UTC offset and tzname: "МСК+2"
    day: str  # strftime formats: a date, a moment, a moment on another day than the reference
    when: str
    clock_other_day: str
    short_day: str  # a date in the coming weeks: "14.12"
    quote: str  # a product name in quotes: «{}» or "{}"
    nouns: dict[str, tuple[str, ...]]  # a noun's forms, in the plural rule's order
    statuses: dict[str, str]
    source_names: dict[str, str]
    error_kinds: dict[str, str]
    checks: dict[str, tuple[str, str]]
    words: dict[str, str]
    watchdog: dict[str, str]
    storage: dict[str, tuple[str, str]]
    summary: dict[str, str]
    topics: dict[str, str]
    labels: dict[str, str]
    causes: dict[str, str]
    weekdays: tuple[str, ...]
    alert_states: dict[str, str]  # an alert as the seller sees it: open, acknowledged, resolved
    alert_events: dict[str, str]  # what happened to it (backtest)
    messages: dict[str, str]
    log: dict[str, str]  # a log call's English template -> this language's (warnings and errors)
    argparse: dict[str, str]  # argparse's English text -> this language's
    # A whole after "of" ("из 21 заказа"): its own forms and rule where the language has them.
    of_nouns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    of_plural: Callable[[int], int] | None = None
