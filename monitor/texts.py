"""Every seller-facing word outside the per-rule texts, one table per language, and counting
nouns with the right plural form ("1 заказ", "2 заказа", "5 заказов", "21 заказ")."""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

# Russian: the CLDR forms one / few / many (a fraction takes the "few" form: "1,5 дня").
# English: singular / plural.
NOUNS: dict[str, dict[str, tuple[str, ...]]] = {
    "order": {"ru": ("заказ", "заказа", "заказов"), "en": ("order", "orders")},
    "posting": {"ru": ("отправление", "отправления", "отправлений"), "en": ("posting", "postings")},
    "return": {"ru": ("возврат", "возврата", "возвратов"), "en": ("return", "returns")},
    "day": {"ru": ("день", "дня", "дней"), "en": ("day", "days")},
    "hour": {"ru": ("час", "часа", "часов"), "en": ("hour", "hours")},
    "minute": {"ru": ("минута", "минуты", "минут"), "en": ("minute", "minutes")},
    "week": {"ru": ("неделя", "недели", "недель"), "en": ("week", "weeks")},
    "notification": {"ru": ("уведомление", "уведомления", "уведомлений"), "en": ("notification", "notifications")},
    "product": {"ru": ("товар", "товара", "товаров"), "en": ("product", "products")},
    "view": {"ru": ("показ", "показа", "показов"), "en": ("view", "views")},
    "message": {"ru": ("сообщение", "сообщения", "сообщений"), "en": ("message", "messages")},
    "source": {"ru": ("источник", "источника", "источников"), "en": ("source", "sources")},
    "record": {"ru": ("запись", "записи", "записей"), "en": ("record", "records")},
    "alert": {"ru": ("открытая проблема", "открытые проблемы", "открытых проблем"), "en": ("open alert", "open alerts")},
}


# After "из" Russian takes the genitive: "из 21 заказа", "из 122 заказов" (singular for 1, 21, ...).
GENITIVE: dict[str, tuple[str, str]] = {
    "order": ("заказа", "заказов"), "posting": ("отправления", "отправлений"), "return": ("возврата", "возвратов"),
}


def plural_form(number: float, forms: tuple[str, ...]) -> str:
    """The form of a noun that goes with `number`: three Russian forms or two English ones."""
    if len(forms) == 2:
        return forms[0] if number == 1 else forms[1]
    if number != int(number):
        return forms[1]
    n = abs(int(number))
    if n % 10 == 1 and n % 100 != 11:
        return forms[0]
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return forms[1]
    return forms[2]


def number(value: float, language: str, digits: int = 1) -> str:
    """A number as the seller writes it: "1 234,5" in Russian, "1,234.5" in English."""
    text = f"{value:,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:,.0f}"
    return text.replace(",", "\u00a0").replace(".", ",") if language == "ru" else text


def count(value: float, noun: str, language: str, digits: int = 1) -> str:
    """"5 заказов", "1 order", "2,5 дня"."""
    return f"{number(value, language, digits)} {plural_form(round(value, digits), NOUNS[noun][language])}"


def count_of(value: int, noun: str, language: str) -> str:
    """The whole after "из"/"of": "из 21 заказа", "из 122 заказов", "of 122 orders"."""
    if language != "ru":
        return count(value, noun, language, 0)
    one, many = GENITIVE[noun]
    return f"{number(value, language, 0)} {one if value % 10 == 1 and value % 100 != 11 else many}"


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


def when(moment: datetime, language: str, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return local.strftime("%d.%m.%Y %H:%M") if language == "ru" else local.strftime("%Y-%m-%d %H:%M")


def clock(moment: datetime, reference: datetime, language: str, tz: ZoneInfo) -> str:
    """"09:55" when `moment` is on the same local day as `reference`, else with the date."""
    local, ref = moment.astimezone(tz), reference.astimezone(tz)
    if local.date() == ref.date():
        return local.strftime("%H:%M")
    return local.strftime("%d.%m %H:%M") if language == "ru" else local.strftime("%b %d %H:%M")


def chance(p_value: float, language: str) -> str:
    """A p-value as odds a seller reads: "меньше 1 из 10 000"."""
    odds = 10 ** min(max(int(-math.log10(max(p_value, 1e-300))), 1), 9)
    text = number(odds, language, 0)
    return f"меньше 1 из {text}" if language == "ru" else f"less than 1 in {text}"


# Ozon's status codes as a seller reads them.
STATUSES: dict[str, dict[str, str]] = {
    "ru": {"OK": "в норме", "WARNING": "предупреждение", "CRITICAL": "критический", "declined": "отклонена",
           "approved": "одобрена", "pending": "на проверке", "": "—"},
    "en": {"OK": "fine", "WARNING": "warning", "CRITICAL": "critical", "declined": "declined", "approved": "approved",
           "pending": "pending", "": "—"},
}

# The data sources as a seller would name them (see monitor/sources SOURCES).
SOURCE_NAMES: dict[str, dict[str, str]] = {
    "ru": {"access": "права API-ключа", "seller_info": "данные продавца", "fbs": "отправления FBS",
           "fbs_unfulfilled": "несобранные отправления FBS", "fbo": "отправления FBO", "returns": "возвраты",
           "products": "карточки товаров", "fbs_stocks": "остатки FBS", "fbo_stocks": "остатки на складах Ozon",
           "rating": "рейтинг продавца", "fbs_index": "индекс ошибок FBS", "finance": "начисления и выплаты",
           "analytics": "аналитика"},
    "en": {"access": "API key roles", "seller_info": "seller info", "fbs": "FBS postings",
           "fbs_unfulfilled": "unfulfilled FBS postings", "fbo": "FBO postings", "returns": "returns",
           "products": "product cards", "fbs_stocks": "FBS stock", "fbo_stocks": "stock at Ozon warehouses",
           "rating": "seller rating", "fbs_index": "FBS error index", "finance": "accruals and payouts",
           "analytics": "analytics"},
}

# Why a source failed (rules.base.ErrorKind), said in the seller's language.
ERROR_KINDS: dict[str, dict[str, str]] = {
    "ru": {"key_rejected": "Ozon не принимает API-ключ или Client-Id",
           "account_blocked": "Ozon сообщает, что аккаунт продавца заблокирован",
           "unreachable": "не удаётся подключиться к серверу Ozon",
           "out_of_time": "не хватило времени цикла: Ozon отвечал слишком медленно или с ограничением частоты",
           "missing_role": "у API-ключа нет нужной роли для этого метода",
           "method_retired": "Ozon отключил этот метод API (нужно обновить ozon-monitor)",
           "rate_limited": "Ozon ограничивает частоту запросов (HTTP 429)",
           "server_error": "сервер Ozon отвечает ошибкой", "timeout": "Ozon не отвечает вовремя",
           "network": "нет соединения с Ozon", "bad_response": "Ozon вернул ответ неожиданного вида",
           "bad_request": "Ozon отклонил запрос как неверный (сообщите, пожалуйста, разработчикам ozon-monitor)",
           "other": "ошибка запроса к Ozon"},
    "en": {"key_rejected": "Ozon rejects the API key or Client-Id",
           "account_blocked": "Ozon reports the seller account blocked",
           "unreachable": "cannot connect to Ozon's server",
           "out_of_time": "the cycle ran out of time: Ozon answered too slowly or rate-limited",
           "missing_role": "the API key lacks the role this method needs",
           "method_retired": "Ozon retired this API method (update ozon-monitor)",
           "rate_limited": "Ozon is rate-limiting the requests (HTTP 429)",
           "server_error": "Ozon's server answers with an error", "timeout": "Ozon does not answer in time",
           "network": "cannot connect to Ozon", "bad_response": "Ozon returned an unexpected response",
           "bad_request": "Ozon rejected the request as malformed (please report this to the ozon-monitor developers)",
           "other": "a request to Ozon failed"},
}

# What the monitor checked in its own data (rules.base.Check), per kind: (fine, not fine).
CHECKS: dict[str, dict[str, tuple[str, str]]] = {
    "ru": {"postings_fresh": ("данные об отправлениях свежие (обновлены {value})",
                              "данные об отправлениях обновляются с ошибками (последний успех {value})"),
           "stock": ("остаток {value} шт.", "остаток {value} шт."),
           "card_status": ("карточка в продаже (статус «{value}»)", "карточка не продаётся (статус «{value}»)"),
           "price_quarantine": ("цена не в карантине", "цена в карантине")},
    "en": {"postings_fresh": ("postings data is fresh (updated {value})",
                              "postings data fails to update (last success {value})"),
           "stock": ("{value} units in stock", "{value} units in stock"),
           "card_status": ("card on sale (status \"{value}\")", "card not on sale (status \"{value}\")"),
           "price_quarantine": ("price not in quarantine", "price in quarantine")},
}


WORDS: dict[str, dict[str, str]] = {
    "ru": {
        "firing": "Новая проблема", "escalated": "Стало хуже", "repeat": "Всё ещё не решено", "resolved": "Решено",
        "critical": "СРОЧНО", "warning": "ВНИМАНИЕ",
        "request": "Обращение в поддержку Ozon (скопируйте в чат кабинета продавца)",
        "digest": "ozon-monitor, магазин «{account}»: {count}",
        "ended": "Больше не наблюдается (проверка {checked}); последний раз — {end}. Длилось не меньше {duration}.",
        "chart_observed": "заказы в час", "chart_usual": "обычно для этого часа и дня недели (и обычный разброс)",
        "chart_start": "начало",
        "csv_header": "отпечаток,правило,номер отправления,SKU",
        "test_title": "Тестовое уведомление ozon-monitor",
        "test_text": "Если вы читаете это, канал настроен верно.",
    },
    "en": {
        "firing": "New problem", "escalated": "Got worse", "repeat": "Still open", "resolved": "Resolved",
        "critical": "URGENT", "warning": "WARNING",
        "request": "Request to Ozon seller support (paste into the seller cabinet chat)",
        "digest": "ozon-monitor, shop \"{account}\": {count}",
        "ended": "No longer seen (checked {checked}); last seen {end}. Lasted at least {duration}.",
        "chart_observed": "orders per hour", "chart_usual": "usual for this hour and weekday (and the usual spread)",
        "chart_start": "start",
        "csv_header": "fingerprint,rule,posting_number,sku",
        "test_title": "ozon-monitor test notification",
        "test_text": "If you can read this, the channel works.",
    },
}

# The monitor's notices about itself (monitor/watchdog.py).
WATCHDOG: dict[str, dict[str, str]] = {
    "ru": {
        "title": "ozon-monitor не может следить за магазином",
        "recovered_title": "ozon-monitor снова работает",
        "blind": "С {since} ({duration}) не удаётся загрузить заказы магазина «{account}»: пока это так, монитор "
                 "не увидит ни падения продаж, ни просроченных отгрузок. Подробности — `ozon-monitor status`.",
        "undeliverable": "С {since} канал «{channel}» не принимает уведомления (последняя ошибка: {error}). "
                         "Проверьте его настройки; уведомления ждут в очереди — `ozon-monitor status`.",
        "recovered": "Неполадка, начавшаяся {since}, устранена (длилась {duration}).",
        "storage_title": "ozon-monitor не может записать своё состояние",
        "storage": "{path}: {problem}. Пока это так, мониторинг не работает. {fix}",
    },
    "en": {
        "title": "ozon-monitor cannot watch the shop",
        "recovered_title": "ozon-monitor works again",
        "blind": "Since {since} ({duration}) the orders of shop \"{account}\" could not be loaded: until then the "
                 "monitor sees neither a sales drop nor overdue shipments. Details: `ozon-monitor status`.",
        "undeliverable": "Since {since} channel \"{channel}\" does not take notifications (last error: {error}). "
                         "Check its settings; the notifications wait in the queue: `ozon-monitor status`.",
        "recovered": "The trouble that began {since} is over (it lasted {duration}).",
        "storage_title": "ozon-monitor cannot write its state",
        "storage": "{path}: {problem}. Until that is fixed, monitoring is stopped. {fix}",
    },
}

# Why the state file cannot be used (monitor.store.StorageError.kind): (problem, what to do).
STORAGE: dict[str, dict[str, tuple[str, str]]] = {
    "ru": {"not_a_folder": ("это файл, а не папка", "Укажите в [monitor] state_dir папку."),
           "unwritable": ("нет прав на запись", "Дайте пользователю, от которого работает ozon-monitor, право записи."),
           "full": ("закончилось место на диске", "Освободите место: ничего не потеряно, следующий цикл продолжит."),
           "locked": ("файл слишком долго занят другим процессом", "Не запущен ли второй ozon-monitor?"),
           "missing": ("файла нет", "Запустите `ozon-monitor check` или службу: файл будет создан."),
           "damaged": ("файл повреждён", "Запустите `ozon-monitor check`: повреждённый файл будет отложен в сторону, "
                                         "а данные заново загружены из Ozon."),
           "old": ("файл от старой версии", "Запустите `ozon-monitor check` один раз, чтобы обновить его."),
           "other": ("ошибка SQLite", "Проверьте диск и права на файл.")},
    "en": {"not_a_folder": ("it is a file, not a folder", "Set [monitor] state_dir to a folder."),
           "unwritable": ("it cannot be written", "Let the user running ozon-monitor write to it."),
           "full": ("the disk is full", "Free some space: nothing is lost, the next cycle goes on."),
           "locked": ("another process holds it too long", "Is a second ozon-monitor running?"),
           "missing": ("the file is missing", "Run `ozon-monitor check` or start the service: it creates the file."),
           "damaged": ("the file is damaged", "Run `ozon-monitor check`: it moves the damaged file aside and loads "
                                              "the data from Ozon again."),
           "old": ("the file is from an older version", "Run `ozon-monitor check` once to upgrade it."),
           "other": ("an SQLite error", "Check the disk and the file's permissions.")},
}

# What the CLI prints after `check` and in the demo.
SUMMARY: dict[str, dict[str, str]] = {
    "ru": {
        "shop": "магазин", "synced": "загружено", "nothing_new": "ничего нового",
        "interrupted": "цикл прерван остановкой; продолжится при следующем запуске",
        "no_problems": "проблем не найдено", "new": "новая", "still_open": "не решена, уже сообщали",
        "incomplete": "проверка неполная: не прочитано {count} — по ним монитор сейчас слеп",
        "unchecked": "не проверено", "last_read": "последнее успешное чтение", "never": "никогда",
        "request": "обращение в поддержку", "resolved": "РЕШЕНО",
        "delivered": "отправлено: {count}",
        "failed": "! не удалось отправить: {count}; подробности — `ozon-monitor status`",
    },
    "en": {
        "shop": "shop", "synced": "synced", "nothing_new": "nothing new",
        "interrupted": "cycle interrupted by a stop; the next start picks it up",
        "no_problems": "no problems found", "new": "new", "still_open": "still open, already reported",
        "incomplete": "the check is incomplete: {count} could not be read, the monitor is blind there",
        "unchecked": "not checked", "last_read": "last read", "never": "never",
        "request": "support request", "resolved": "RESOLVED",
        "delivered": "sent: {count}",
        "failed": "! could not send {count}; see `ozon-monitor status`",
    },
}

# The support request's parts (monitor/support.py).
TOPICS = {
    "ru": {"technical": "Технические вопросы", "logistics": "Логистика", "finance": "Финансы",
           "marketing": "Маркетинг и продвижение"},
    "en": {"technical": "Technical", "logistics": "Logistics", "finance": "Finance",
           "marketing": "Marketing and promotion"},
}

LABELS = {
    "ru": {"topic": "Тема в чате поддержки", "subject": "Тема обращения", "seller": "Seller ID (Client-Id)",
           "shop": "магазин", "since": "Когда началось", "observed": "Что наблюдаем",
           "affected": "Затронутые товары", "postings": "Номера отправлений", "checked": "Что уже проверено",
           "ask": "Просьба", "urgency": "Срочность", "more": "и ещё {n} — полный список в приложенном файле",
           "chance": "Вероятность, что это случайность: {chance}."},
    "en": {"topic": "Topic in the support chat", "subject": "Subject", "seller": "Seller ID (Client-Id)",
           "shop": "shop", "since": "Started", "observed": "Observed", "affected": "Affected products",
           "postings": "Posting numbers", "checked": "Already checked", "ask": "Request", "urgency": "Urgency",
           "more": "and {n} more — the full list is in the attached file",
           "chance": "Chance that this is a coincidence: {chance}."},
}

CAUSES = {
    "stock_zero": ("остаток равен нулю", "stock is zero"),
    "card_failed": ("карточка не прошла модерацию или содержит ошибки", "the card failed moderation or has errors"),
    "card_unavailable": ("карточка недоступна для покупки", "the card is not available for purchase"),
    "price_quarantine": ("цена в карантине", "the price is in quarantine"),
    "card_archived": ("карточка в архиве", "the card is archived"),
}

WEEKDAYS = [("понедельникам", "Mondays"), ("вторникам", "Tuesdays"), ("средам", "Wednesdays"),
            ("четвергам", "Thursdays"), ("пятницам", "Fridays"), ("субботам", "Saturdays"), ("воскресеньям", "Sundays")]
