"""Seller-facing texts: plural forms, every renderer branch in both languages, what a support
request must and must not carry, and a failing renderer that falls back to plain words."""
from __future__ import annotations

from monitor.simulator.world import INCIDENT_KINDS

import json
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor import texts
from monitor.alerts import event_for, resolved
from monitor.channels.base import as_text, full_text, subject
from monitor.channels.email import as_html
from monitor.channels.telegram import telegram_chunks
from monitor.channels.webhook import webhook_payload
from monitor.cycle import render_safely
from monitor.i18n import LANGUAGES
from monitor.message import Message
from monitor.support import MAX_LISTED, render
from rules.base import as_json
from tests.samples import NOW, samples

MSK = ZoneInfo("Europe/Moscow")
SAMPLES = samples()
ABBREVIATIONS = re.compile(r"\d\s*(дн\.|ч\.|отправл\.|уведомл\.|заказ\.)|\d\s+ч\b")


@pytest.mark.parametrize("n, form", [(1, "заказ"), (2, "заказа"), (5, "заказов"), (11, "заказов"), (12, "заказов"),
                                     (14, "заказов"), (21, "заказ"), (22, "заказа"), (25, "заказов"),
                                     (101, "заказ"), (111, "заказов"), (0, "заказов"), (1.5, "заказа")])
def test_russian_plural_forms_follow_cldr(n: float, form: str) -> None:
    assert texts.plural_form(n, "order", "ru") == form


def test_every_catalogue_has_every_message_and_table_entry() -> None:
    """A language is one catalogue: it says everything the others say (rendering every sample
    in every language, below, checks that each uses only the values its code passes)."""
    from dataclasses import fields

    from monitor.i18n import LANGUAGES

    reference = LANGUAGES["ru"]
    for language in LANGUAGES.values():
        for field in fields(language):
            mine, theirs = getattr(language, field.name), getattr(reference, field.name)
            if isinstance(theirs, dict) and field.name not in ("of_nouns", "log", "argparse"):
                assert mine.keys() == theirs.keys(), (language.code, field.name, mine.keys() ^ theirs.keys())
        assert len(language.weekdays) == 7
        assert {f"demo.{kind}" for kind in INCIDENT_KINDS} <= language.messages.keys()  # the demo tells each


def test_english_plural_and_counts_read_naturally() -> None:
    assert texts.count(1, "order", "en") == "1 order" and texts.count(3, "day", "en") == "3 days"
    assert texts.count(21, "day", "ru") == "21 день" and texts.count(2.5, "day", "ru", 1) == "2,5 дня"
    assert texts.count(1234, "posting", "ru", 0) == "1\u00a0234 отправления"
    assert texts.duration(timedelta(hours=5, minutes=2), "ru") == "5 часов"
    assert texts.duration(timedelta(minutes=75), "ru") == "1 час 15 минут"
    assert texts.duration(timedelta(days=3), "en") == "3 days"


def ozon_words(finding) -> list[str]:
    """Every text in a finding's data that came from Ozon or the seller, longest first."""
    found: list[str] = [p.name for p in finding.products]

    def walk(value) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(k)
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
    walk(as_json(finding.evidence))
    walk(as_json(finding.checks))
    return sorted({s for s in found if s}, key=len, reverse=True)


@pytest.mark.parametrize("language", list(LANGUAGES))
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_renderer_branch_reads_as_written_by_a_person(name: str, language: str) -> None:
    finding = SAMPLES[name]
    rendered = render(finding, language, MSK, NOW)
    assert rendered.title and rendered.explanation
    whole = "\n".join(filter(None, [rendered.title, rendered.explanation, rendered.support_request]))
    assert "{" not in whole and "None" not in whole and "[" not in whole
    if language == "ru":
        assert not ABBREVIATIONS.search(whole), ABBREVIATIONS.search(whole)
        assert "HTTP" not in rendered.title + rendered.explanation  # raw API errors stay in the evidence
    else:
        for text in ozon_words(finding):  # Ozon's own words (reasons, statuses, names) are quoted as they are
            whole = whole.replace(text, "")
        assert not re.search(r"[а-яА-ЯёЁ]{3,}", whole), whole
    assert (rendered.support_request is None) == (finding.topic is None)
    if rendered.support_request:
        request = rendered.support_request
        assert "Client-Id): 123456" in request and "p =" not in request and not re.search(r"\de-\d", request)
        for sku in finding.affected_skus:
            assert f"SKU {sku} (ART-{sku}" in request  # named as the seller knows it
        if finding.checks:
            assert "14 шт." in request or "14 units" in request  # what the monitor verified, with its value
        if len(finding.affected_postings) > MAX_LISTED:
            last = finding.affected_postings[-1]
            assert last not in request and last in rendered.draft  # the draft keeps the full list


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_every_sample_goes_through_every_channel_format(language: str) -> None:
    events = tuple(event_for("firing", f, render(f, language, MSK, NOW), NOW) for f in SAMPLES.values())
    message = Message(id="m", account="shop", client_id=123456, created_at=NOW.isoformat(), language=language,
                      events=events, listed=len(events))
    assert all(e.title in as_text(message) for e in events)
    assert "<h3" in as_html(message) and subject(message).startswith("ozon-monitor")
    assert all(len(chunk) < 4096 for chunk in telegram_chunks(message))
    payload = webhook_payload(message, "hook")
    assert [a["rule"] for a in payload["alerts"]] == [f.rule for f in SAMPLES.values()]
    assert all("series" not in a["evidence"] for a in payload["alerts"])


def test_a_stop_title_says_since_when_and_how_long() -> None:
    stop = render(SAMPLES["sales_drop/stop"], "ru", MSK, NOW)
    assert stop.title == "Нет заказов с 10:00 МСК (5 часов), упущено около 35\u00a0000 ₽"  # 07:00 UTC is 10:00 in Moscow
    assert render(SAMPLES["sales_drop/stop"], "en", MSK, NOW).title == "No orders since 10:00 MSK (5 hours), about 35,000 RUB of sales missed"
    late = render(SAMPLES["shipment_deadline/late"], "ru", MSK, NOW)
    assert late.title == "Просрочена отгрузка: 21 отправление с 12:00 МСК"
    due = render(SAMPLES["shipment_deadline/due"], "ru", MSK, NOW)
    assert due.title == "Скоро срок отгрузки: 1 отправление до 17:00 МСК"


def test_a_failing_renderer_falls_back_to_plain_words_in_the_sellers_language(caplog) -> None:
    broken = replace(SAMPLES["stock_out/empty"], evidence=object())  # no attributes the renderer reads
    rendered = render_safely(broken, "ru", MSK, NOW)
    assert rendered.title.startswith("Проблема: stock_out") and "SKU 111 (ART-111" in rendered.explanation
    assert "rendering failed: account=shop rule=stock_out" in caplog.text


def documented_fields(section: str) -> list[str]:
    """The `field` names of the table that follows `section` in docs/WEBHOOK.md."""
    doc = (Path(__file__).resolve().parent.parent / "docs" / "WEBHOOK.md").read_text(encoding="utf-8")
    table = doc.split(section, 1)[1].split("\n\n", 2)[1]
    return [name for row in table.splitlines()[2:] for name in re.findall(r"`([a-z_]+)`", row.split("|")[1])]


def test_the_webhook_document_names_every_field_the_dataclasses_send() -> None:
    finding = SAMPLES["shipment_deadline/late"]
    event = event_for("firing", finding, render(finding, "ru", MSK, NOW), NOW)
    message = Message(id="m", account="shop", client_id=123456, created_at=NOW.isoformat(), language="ru",
                      events=(event,))
    payload = webhook_payload(message, "hook")
    assert documented_fields("The message:") == list(payload)
    assert documented_fields("Each alert:") == list(payload["alerts"][0])
    doc = (Path(__file__).resolve().parent.parent / "docs" / "WEBHOOK.md").read_text(encoding="utf-8")
    example = json.loads(doc.split("```json\n", 1)[1].split("```", 1)[0])
    assert list(example) == list(payload) and list(example["alerts"][0]) == list(payload["alerts"][0])


def test_a_resolved_message_says_when_it_was_last_seen_and_carries_no_severity() -> None:
    finding = SAMPLES["sales_drop/stop"]
    last = event_for("firing", finding, render(finding, "ru", MSK, NOW), NOW)
    done = resolved(last, NOW + timedelta(hours=1), NOW + timedelta(hours=2), "ru", MSK)
    message = Message(id="m", account="shop", client_id=123456, created_at=NOW.isoformat(), language="ru",
                      events=(done,))
    text = full_text(message)
    assert done.explanation == ("Больше не наблюдается (проверка 18.11.2026 17:00 МСК); последний раз — "
                                "18.11.2026 16:00 МСК. Длилось не меньше 6 часов.")
    assert "СРОЧНО" not in text and text.count(done.title) == 1 and done.support_request is None
    assert subject(message) == f"Магазин «shop»: Решено: {done.title}"


COUNTED = r"(заказ|отправлен|возврат|товар|показ|д(ень|ня|ней)|час|недел|order|posting|return|product|view|day|hour|week)"


@pytest.mark.parametrize("language", ["ru", "en"])
def test_every_renderer_branch_writes_numbers_a_person_would(language: str) -> None:
    """Whole counts and days, no odds, no zone id, no "100% fewer" for a stop, in every text of
    every sample (each branch of each renderer)."""
    for name, finding in samples().items():
        rendered = render(finding, language, ZoneInfo("Europe/Moscow"), NOW)
        for text in (rendered.title, rendered.explanation, rendered.support_request or "", rendered.draft or ""):
            assert not re.search(rf"\d[,.]\d+ {COUNTED}", text), (name, text)
            assert not re.search(r"\b1 (из|in) \d", text) and "/" not in re.sub(r"drafts show|/v\d/\S+", "", text), \
                (name, text)
            assert "100%" not in text, (name, text)


@pytest.mark.parametrize("language, currency", [("ru", "₽"), ("en", "RUB")])
def test_the_money_at_stake_is_in_the_title_once_and_in_the_json_as_a_number(language: str, currency: str) -> None:
    priced = {name: f for name, f in samples().items() if f.at_stake is not None}
    assert {f.rule for f in priced.values()} >= {"sales_drop", "sales_stopped", "returns_spike", "cancellations",
                                                 "stuck_in_delivery", "stock_out", "card_problems", "finance_anomaly"}
    for name, finding in priced.items():
        rendered = render(finding, language, MSK, NOW)
        amount = texts.money(finding.at_stake.rubles, language)  # type: ignore[union-attr]
        assert amount.endswith(currency) and amount in rendered.title, (name, rendered.title)
        event = event_for("firing", finding, rendered, NOW)
        assert event.at_stake_rubles == finding.at_stake.rubles  # type: ignore[union-attr]


def test_every_line_the_monitor_logs_above_debug_has_its_russian_line() -> None:
    """The journal speaks Russian by the English template of each log call: a template edited in
    the code, or a new warning, without its line in the catalogue would fall back to English."""
    import ast

    templates = set()
    for path in (Path(__file__).resolve().parent.parent / "monitor").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args \
                    and node.func.attr in ("info", "warning", "error", "exception", "critical") \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "log" \
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                templates.add(node.args[0].value)
    log = LANGUAGES["ru"].log
    assert templates == set(log), (sorted(templates - set(log)), sorted(set(log) - templates))
    assert all(line.count("%") == template.count("%") for template, line in log.items())


def test_an_error_in_a_journal_line_is_said_in_the_sellers_words(tmp_path: Path, capsys) -> None:
    """A state-file fault, an undelivered notice and a refused config passed to a log call read in
    Russian, not by their English str()."""
    import logging

    from monitor import logs
    from monitor.channels.base import DeliveryError
    from monitor.config import ConfigError
    from monitor.secrets import os_error
    from monitor.store import StorageError
    from monitor.texts import Said

    spoken = logs._LANGUAGE[0]
    logs.speak("ru")
    logs.setup(logging.INFO)
    try:
        log = logging.getLogger("monitor.watchdog")
        fault = StorageError(tmp_path, "is a file, not a folder", "set [monitor] state_dir to a folder", "not_a_folder")
        log.error("the state file cannot be used: %s (no channel could be told)", fault)
        refused = DeliveryError(Said("delivery.file", folder=tmp_path / "out", why=os_error(NotADirectoryError(20, "Not a directory"))))
        log.warning("monitor notice not delivered: channel=%s key=%s error=%s", "file", "storage:shop", refused)
        moved = Said("config.at", where="monitor.state_dir", what=Said("config.state_dir_changed", old="a", new="b"))
        logging.getLogger("monitor.daemon").error("reload refused, the running config is kept: %s",
                                                  ConfigError([Said("config.in_file", path="c.toml", what=moved)]))
    finally:
        logs.speak(spoken)
    err = capsys.readouterr().err
    assert f"ОШИБКА job=- account=- monitor.watchdog: файл состояния нельзя использовать: {tmp_path}: это файл, " \
           "а не папка. Укажите в [monitor] state_dir папку. (ни в один канал сообщить не удалось)" in err
    assert f"ошибка=нельзя записать в {tmp_path / 'out'}: на пути файл, а не папка" in err
    assert "c.toml: monitor.state_dir: нельзя менять на ходу (было a, стало b); перезапустите службу" in err
    assert "is a file" not in err and "cannot write" not in err and "cannot change" not in err
    assert "Not a directory" not in err
