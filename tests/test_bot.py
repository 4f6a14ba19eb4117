"""Acting on an alert from the phone: the buttons under a Telegram alert, the commands, and who
may use them, against a Bot API on loopback and a synced shop's state file."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from monitor.bot import Bot, Throttled
from monitor.channels import TelegramChannel, TelegramConfig
from monitor.cli import main
from monitor.message import Event, Message
from monitor.store import Store

from .botapi import bot_api


def press(update_id: int, chat: int, data: str) -> dict:
    keyboard = {"inline_keyboard": [[{"text": "Принял", "callback_data": data}]]}
    return {"update_id": update_id, "callback_query": {
        "id": f"q{update_id}", "data": data, "from": {"id": 7, "first_name": "Иван"},
        "message": {"message_id": 3, "chat": {"id": chat}, "reply_markup": keyboard}}}


def command(update_id: int, chat: int, text: str) -> dict:
    return {"update_id": update_id, "message": {"message_id": 9, "chat": {"id": chat}, "text": text}}


@pytest.fixture
def bot(synced_shop, monkeypatch):
    settings, _, _ = synced_shop
    monkeypatch.setenv("TG_TOKEN", "123:SECRET")
    with bot_api() as api:
        config = TelegramConfig(type="telegram", name="tg", chat_id=["42"], token_env="TG_TOKEN", api_url=api.url)
        yield settings, config, api, Bot(settings, config, "123:SECRET")


def test_an_alert_carries_buttons_and_the_ack_button_acks_exactly_that_alert(bot, capsys) -> None:
    settings, config, api, poller = bot
    store = Store.in_dir(settings.monitor.state_dir)
    [row] = store.open_alerts("shop")
    event = Event.from_json(json.loads(row["finding"]))
    TelegramChannel(config).send(Message(id="m", account="shop", client_id=123456, language="ru",
                                         created_at=datetime.now(timezone.utc).isoformat(), events=(event,)))
    alert, request = api.sent()  # the short alert with its buttons, then its request to copy
    assert alert["reply_markup"]["inline_keyboard"][0][0] == {"text": "Принял", "callback_data": f"ack:{row['fingerprint']}"}
    assert request["text"].startswith("<i>Обращение в поддержку Ozon") and "<pre>" in request["text"]
    assert [m for name, m in api.calls if name == "sendPhoto"]  # the sales chart, as a photo
    api.updates = [press(1, 99, f"ack:{row['fingerprint']}"),  # another chat: ignored, never answered
                   press(2, 99, f"mute:{row['fingerprint']}:7"),
                   press(3, 42, f"ack:{row['fingerprint']}")]
    assert poller.poll_once() == 3
    assert (store.alert(row["fingerprint"]) or {})["ack_note"] == "Telegram: Иван"
    assert store.silences(datetime.now(timezone.utc)) == []  # the stranger's mute did nothing
    [said] = api.sent("answerCallbackQuery")
    assert said["callback_query_id"] == "q3" and said["text"].startswith("Проблема 1. Падение продаж принята: Иван")
    assert [m["chat_id"] for m in api.sent()[2:]] == ["42"]
    [edited] = api.sent("editMessageReplyMarkup")  # the pressed row says who did it and when
    assert edited["reply_markup"]["inline_keyboard"][0][0]["text"].startswith("✓ Принято: Иван, ")
    assert Bot(settings, config, "123:SECRET").poll_once() == 0  # a restart does not replay an update
    only_anna = config.model_copy(update={"allowed_users": ["anna"]})  # in a group, only the users listed act
    api.updates.append(press(4, 42, f"mute:{row['fingerprint']}:1"))
    Bot(settings, only_anna, "123:SECRET").poll_once()
    assert store.silences(datetime.now(timezone.utc)) == []
    store.close()
    assert main(["alerts", "list", "--config", str(settings.monitor.state_dir.parent / "config.toml")]) == 0
    assert "[СРОЧНО] принята · shop" in capsys.readouterr().out


def test_the_commands_answer_the_sellers_chat_and_the_mute_button_silences(bot) -> None:
    settings, _, api, poller = bot
    store = Store.in_dir(settings.monitor.state_dir)
    [row] = store.open_alerts("shop")
    api.updates = [command(1, 42, "/status"), command(2, 42, "/alerts"), command(3, 42, "/help@shop_bot"),
                   press(4, 42, f"mute:{row['fingerprint']}:3"), press(5, 42, "ack:0000000000000000")]
    poller.poll_once()
    texts = [m["text"] for m in api.sent()]
    assert texts[0].startswith("Магазин «shop»: данные о заказах") and "Падение продаж" in texts[1]
    assert texts[2].startswith("Команды: /status")
    [silence] = store.silences(datetime.now(timezone.utc))
    assert (silence["rule"], silence["account"], silence["reason"]) == ("sales_drop", "shop", "Telegram: Иван")
    assert api.sent("answerCallbackQuery")[-1]["text"] == "Эта проблема уже решена или её нет."
    store.close()


def test_a_429_from_telegram_waits_as_asked_and_loses_nothing(bot) -> None:
    settings, _, api, poller = bot
    api.updates, api.throttle = [command(1, 42, "/help")], 1
    with pytest.raises(Throttled) as waited:
        poller.poll_once()
    assert waited.value.seconds == 1
    assert poller.poll_once() == 1 and len(api.sent()) == 1


def test_the_daemon_polls_its_bot_and_sigterm_stops_it_in_seconds(tmp_path) -> None:
    from .conftest import Daemon, account, config_file

    (tmp_path / "bot").write_text("123:SECRET\n")
    with bot_api() as api:
        api.updates = [command(1, 42, "/help")]
        config = config_file(tmp_path, account(), channels=f'[[channels]]\ntype = "telegram"\nname = "tg"\n'
                             f'api_url = "{api.url}"\ntoken_file = "bot"\nchat_id = "42"\n')
        with Daemon(config, verbose=True) as daemon:  # the token must stay out even of debug lines
            daemon.wait_for(lambda: bool(api.sent()))  # the command was heard and answered
            took = daemon.stop()
    assert daemon.process.returncode == 0 and took < 10
    assert api.sent()[0]["text"].startswith("Команды: /status") and "SECRET" not in daemon.text


def test_sent_to_support_keeps_the_request_number_and_reminds_once_while_the_problem_persists(bot) -> None:
    from datetime import timedelta

    settings, config, api, poller = bot
    store = Store.in_dir(settings.monitor.state_dir)
    [row] = store.open_alerts("shop")
    api.updates = [press(1, 42, f"sent:{row['fingerprint']}"), command(2, 42, "TK-48213")]
    poller.poll_once()
    asked, saved = api.sent()
    assert asked["reply_markup"] == {"force_reply": True} and "номер обращения" in asked["text"]
    assert saved["text"].startswith("Обращение № TK-48213 сохранено. Если через 6 часов")
    kept = store.alert(row["fingerprint"]) or {}
    assert kept["ticket"] == "TK-48213"
    later = datetime.fromisoformat(kept["ticket_at"]) + timedelta(hours=6, minutes=1)
    poller.remind(store, later)
    poller.remind(store, later + timedelta(hours=1))  # once
    [reminder] = api.sent()[2:]
    assert "обращение № TK-48213 отправлено 6 часов назад, а проблема не ушла" in reminder["text"]
    store.close()
