"""`ozon-monitor init` end to end: the simulator checks the key, a Telegram-shaped receiver on
loopback plays the bot (getMe, getUpdates, sendMessage), a real SMTP server takes the test mail."""
from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from monitor import wizard
from monitor.cli import _parser, main
from monitor.config import load_config
from monitor.simulator import SimulatorServer

from .botapi import BotApi, bot_api

TOKEN = "123456:telegram-secret-token"


@pytest.fixture
def bot() -> Iterator[BotApi]:
    """The Bot API of the seller's new bot: Anna writes to it after the first poll."""
    with bot_api() as api:
        api.token, api.quiet_polls = TOKEN, 1
        api.updates = [{"update_id": 7, "message": {"message_id": 1, "text": "hi",
                                                    "chat": {"id": 424242, "type": "private", "first_name": "Anna"}}}]
        yield api


def test_init_for_telegram_from_a_script(simulator: SimulatorServer, bot: BotApi, tmp_path: Path, capsys,
                                         monkeypatch) -> None:
    monkeypatch.setenv("OZON_KEY", "demo-key")
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    config = tmp_path / "etc" / "config.toml"
    code = main(["init", "--config", str(config), "--non-interactive", "--client-id", "123456",
                 "--api-key-env", "OZON_KEY", "--base-url", simulator.base_url, "--channel", "telegram",
                 "--telegram-token-env", "BOT_TOKEN", "--telegram-api", bot.url, "--telegram-wait", "20"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Ключ работает: роли Admin read only; действует до " in out and "недоступны" not in out
    assert "Чат найден: Anna (chat_id 424242)" in out
    settings = load_config(config)
    [channel] = settings.channels
    assert channel.type == "telegram" and channel.chat_id == ["424242"] and channel.api_url == bot.url
    for name, value in (("ozon-api-key", "demo-key"), ("telegram-token", TOKEN)):
        path = config.parent / name
        assert path.read_text().strip() == value and stat.S_IMODE(path.stat().st_mode) == 0o600
        assert value not in config.read_text() and value not in out
    [sent] = bot.sent()
    assert sent["chat_id"] == "424242" and sent["text"].startswith("<b>Магазин «main»: Проверка связи: уведомления ozon-monitor приходят сюда</b>")
    assert main(["config", "validate", "--strict", str(config)]) == 0


def test_init_asks_again_for_a_rejected_key_and_sets_up_email(simulator: SimulatorServer, tmp_path: Path,
                                                              capsys) -> None:
    mails: list[str] = []

    class Box:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
            mails.append(envelope.content.decode())
            return "250 OK"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(Box(), hostname="127.0.0.1", port=port)
    smtp.start()
    answers = iter(["123456", "email", "127.0.0.1", "", "monitor@shop.example", "owner@shop.example"])
    keys = iter(["wrong-key", "demo-key"])
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return next(answers)
    config = tmp_path / "config.toml"
    args = _parser("ru").parse_args(["init", "--config", str(config), "--base-url", simulator.base_url,
                                 "--email-security", "plain", "--email-port", str(port), "--language", "en"])
    try:
        code = wizard.run(args, wizard.Asker(True, ask, lambda prompt: next(keys)))
    finally:
        smtp.stop()
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Ozon rejected this Client-Id and API key" in captured.err  # then asked again, in English
    assert asked[0].startswith("Client-Id") and asked[1].startswith("Where should warnings go")
    settings = load_config(config)
    assert settings.monitor.state_dir == tmp_path / "state" and settings.monitor.language == "en"
    [channel] = settings.channels
    assert (channel.host, channel.port, channel.to) == ("127.0.0.1", port, ["owner@shop.example"])
    [mail] = mails
    assert "Connection check: ozon-monitor notifications arrive here" in mail
    assert "demo-key" not in config.read_text()


def test_init_with_a_file_channel_says_where_the_test_message_is(simulator: SimulatorServer, tmp_path: Path, capsys,
                                                                  monkeypatch) -> None:
    monkeypatch.setenv("OZON_KEY", "demo-key")
    config = tmp_path / "config.toml"
    assert main(["init", "--config", str(config), "--non-interactive", "--client-id", "123456", "--api-key-env",
                 "OZON_KEY", "--base-url", simulator.base_url, "--channel", "file", "--directory", "out"]) == 0
    folder = tmp_path / "state" / "out"  # a relative folder lies in the state folder
    assert f"Проверочное сообщение через file: записано в папку {folder}." in capsys.readouterr().out
    assert len(list(folder.glob("*.txt"))) == 1


def test_init_writes_nothing_when_the_key_is_rejected(simulator: SimulatorServer, tmp_path: Path, capsys,
                                                      monkeypatch) -> None:
    monkeypatch.setenv("OZON_KEY", "wrong-key")
    config = tmp_path / "config.toml"
    code = main(["init", "--config", str(config), "--non-interactive", "--client-id", "123456",
                 "--api-key-env", "OZON_KEY", "--base-url", simulator.base_url, "--channel", "file"])
    assert code == 2 and "Ozon не принял этот Client-Id и API-ключ" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_init_names_the_missing_flag_and_keeps_an_existing_config(tmp_path: Path, capsys) -> None:
    config = tmp_path / "config.toml"
    assert main(["init", "--config", str(config), "--non-interactive"]) == 2
    assert "нужен --client-id: вопросы не задаются" in capsys.readouterr().err
    config.write_text("# mine\n")
    assert main(["init", "--config", str(config), "--non-interactive", "--client-id", "1"]) == 2
    assert "уже есть; чтобы заменить его, добавьте --force" in capsys.readouterr().err and config.read_text() == "# mine\n"
    os.environ.pop("NO_SUCH_KEY_VAR", None)
    assert main(["init", "--config", str(tmp_path / "other.toml"), "--non-interactive", "--client-id", "1",
                 "--api-key-env", "NO_SUCH_KEY_VAR"]) == 2
    assert "--api-key-env: переменная окружения NO_SUCH_KEY_VAR не задана" in capsys.readouterr().err


def test_init_does_not_ask_for_the_key_again_when_ozon_cannot_be_reached(tmp_path: Path, capsys) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    keys: list[str] = []
    args = _parser("ru").parse_args(["init", "--config", str(tmp_path / "config.toml"), "--base-url", closed])
    code = wizard.run(args, wizard.Asker(True, lambda prompt: "123456", lambda prompt: keys.append(prompt) or "k"))
    assert code == 2 and len(keys) == 1
    assert "ключ не удалось проверить (/v1/roles): не удаётся подключиться к серверу Ozon" in capsys.readouterr().err and list(tmp_path.iterdir()) == []


def test_init_asks_for_a_proxy_when_telegram_cannot_be_reached(simulator: SimulatorServer, bot: BotApi,
                                                                tmp_path: Path, capsys) -> None:
    """Where api.telegram.org is blocked: the seller is told, asked for a proxy, and the channel
    is written with it (the fake Bot API doubles as an HTTP proxy for a Bot API it cannot reach)."""
    blocked = f"http://127.0.0.1:{_closed_port()}"
    answers = iter(["123456", "telegram", "ftp://nope", bot.url])
    secrets = iter(["demo-key", TOKEN])
    config = tmp_path / "config.toml"
    args = _parser("ru").parse_args(["init", "--config", str(config), "--base-url", simulator.base_url,
                                 "--telegram-api", blocked, "--telegram-wait", "20"])
    code = wizard.run(args, wizard.Asker(True, lambda prompt: next(answers), lambda prompt: next(secrets)))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Telegram недоступен (ConnectError); проверьте подключение или прокси" in captured.err
    assert "нужен адрес вида http://... или socks5://..." in captured.err  # "ftp://nope" asked again
    [channel] = load_config(config).channels
    assert channel.proxy == bot.url and channel.chat_id == ["424242"] and len(bot.sent()) == 1


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
