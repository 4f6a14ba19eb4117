from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.channels import TelegramConfig
from monitor.config import CONFIG_PLACES, ConfigError, config_flag, load_config
from tests.conftest import account

ROOT = Path(__file__).resolve().parent.parent


def test_example_config_validates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OZON_API_KEY", "secret-from-env")
    settings = load_config(ROOT / "config.example.toml")
    assert settings.monitor.timezone == "Europe/Moscow"
    assert settings.monitor.language == "ru"
    assert settings.accounts[0].secret().get_secret_value() == "secret-from-env"


def test_minimal_config_gets_defaults_and_resolves_paths(write_config, tmp_path: Path) -> None:
    settings = load_config(write_config())
    assert settings.monitor.state_dir == tmp_path / "state"
    assert settings.channels[0].directory == tmp_path / "out"
    assert settings.rules.sales_drop.enabled is True
    assert settings.accounts[0].base_url == "http://127.0.0.1:9"


@pytest.mark.parametrize("body, expected", [
    ("[monitor\n", "not valid TOML"),
    ("[rules.sales_drop]\nmin_drop = 'high'\n", "rules.sales_drop.min_drop: expected a number without quotes"),
    ("[rules.sales_drop]\nwindow = 3\n", "rules.sales_drop.window: unknown key"),
    ("[rules.no_such_rule]\nenabled = true\n", "rules.no_such_rule: unknown rule; valid rules: acceptance_acts, api_access, auto_promotions"),
    ("[[channels]]\ntype = \"pager\"\n", "channels[1].type: unsupported channel type; valid types: email, file, "
                                         "telegram, webhook"),
    ("[extra]\nx = 1\n", "extra: unknown key"),
    ("[rules.sales_drop]\nholidays = [\"tomorrow\"]\n", "rules.sales_drop.holidays[0]: a date is needed: 2026-12-31"),
])
def test_broken_config_names_the_file_and_key(write_config, body: str, expected: str) -> None:
    path = write_config(body)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(path) in str(error.value)
    assert expected in str(error.value)


def test_a_value_of_the_wrong_form_is_told_which_form_it_takes(write_config, capsys) -> None:
    path = write_config('[alerts]\nquiet_hours = "с 22 до 8"\n')
    path.write_text(path.read_text().replace('name = "shop"', 'name = "Магазин-1"'))
    assert main(["config", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "accounts[0].name: только латинские буквы, цифры и знаки «.», «_», «-», например shop-1" in err
    assert "alerts.quiet_hours: нужен промежуток вида 22:00-08:00" in err
    assert "Магазин" not in err and "образец" not in err
    assert main(["--lang", "en", "config", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert 'accounts[0].name: Latin letters, digits, ".", "_" and "-" only' in err and "expected a span" in err


def test_holidays_are_read_as_toml_dates_or_as_russian_sellers_write_them(write_config) -> None:
    path = write_config('[rules.sales_drop]\nholidays = [2026-12-31, "2027-01-01", "08.01.2027"]\n')
    assert load_config(path).rules.sales_drop.holidays == [date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 8)]


def test_timezone_must_be_known(tmp_path: Path, write_config) -> None:
    path = write_config()
    path.write_text(path.read_text().replace('[monitor]\n', '[monitor]\ntimezone = "Mars/Olympus"\n'))
    with pytest.raises(ConfigError, match=r"monitor.timezone: not a known time zone") as raised:
        load_config(path)
    assert "Mars" not in str(raised.value)  # a value is never echoed: it may be a key pasted in the wrong place


def test_missing_accounts_is_reported(write_config) -> None:
    with pytest.raises(ConfigError, match="accounts: required key is missing"):
        load_config(write_config(accounts=False))


def test_missing_env_secret_names_the_variable(write_config, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config()
    path.write_text(path.read_text().replace('api_key_file = "key.txt"', 'api_key_env = "SHOP_KEY"'))
    monkeypatch.delenv("SHOP_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"accounts\[0\] \(shop\): api_key_env: SHOP_KEY: the environment variable is not set"):
        load_config(path)


def test_two_key_sources_are_refused(write_config) -> None:
    path = write_config()
    path.write_text(path.read_text().replace('api_key_file = "key.txt"', 'api_key_file = "key.txt"\napi_key = "x"'))
    with pytest.raises(ConfigError, match="set exactly one of"):
        load_config(path)


def test_key_file_is_read_from_systemd_credentials(write_config, tmp_path: Path, monkeypatch) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "ozon-key").write_text("from-credstore\n")
    path = write_config()
    path.write_text(path.read_text().replace('api_key_file = "key.txt"', 'api_key_file = "ozon-key"'))
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert load_config(path).accounts[0].secret().get_secret_value() == "from-credstore"


def test_environment_overrides_the_file(write_config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OZON_MONITOR_MONITOR__LANGUAGE", "en")
    settings = load_config(write_config())
    assert settings.monitor.language == "en"
    assert settings.monitor.history_days == 35  # the rest of the file's [monitor] table still applies


def test_cli_exits_2_with_one_message_and_never_prints_the_secret(write_config, capsys) -> None:
    path = write_config()
    path.write_text(path.read_text().replace('api_key_file = "key.txt"',
                                             'api_key = "TOP-SECRET-123"\nclient_id_typo = 1'))
    assert main(["config", "validate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("Ошибка в настройках:") and "accounts[0].client_id_typo: такого ключа нет" in err
    assert "TOP-SECRET-123" not in out + err
    assert main(["--lang", "en", "config", "validate", str(path)]) == 2
    assert "accounts[0].client_id_typo: unknown key" in capsys.readouterr().err


def test_cli_validate_accepts_a_good_file(write_config, capsys) -> None:
    assert main(["config", "validate", str(write_config())]) == 0
    assert "настройки в порядке (1 магазин, 1 канал" in capsys.readouterr().out


def test_the_same_shop_given_twice_is_a_warning_naming_both(write_config, capsys) -> None:
    two = write_config(account("other", client_id=654321) + account("copy", base_url="http://127.0.0.1:9/"))
    assert main(["config", "validate", str(two)]) == 0
    out, err = capsys.readouterr()
    assert err.count("предупреждение") == 1 and "accounts[2].client_id: Client-Id 123456 уже указан у магазина «shop»" in err
    assert "прочтите предупреждения выше" in out


def test_a_command_without_config_reads_the_one_init_wrote_here_or_the_one_named_in_the_environment(
        write_config, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("OZON_MONITOR_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    if CONFIG_PLACES[1].is_file():
        pytest.skip(f"{CONFIG_PLACES[1]} exists on this machine")
    assert main(["alerts", "list"]) == 2  # nothing here yet: both places are named, and the way out
    err = capsys.readouterr().err
    assert "нет ни config.toml в этой папке, ни /etc/ozon-monitor/config.toml" in err and "--config ФАЙЛ" in err
    write_config()  # config.toml, where `init` writes it
    assert main(["config", "validate"]) == 0
    assert main(["test-alert"]) == 0
    assert "настройки в порядке" in capsys.readouterr().out and (tmp_path / "out").is_dir()
    assert config_flag(tmp_path / "config.toml") == ""  # the commands we suggest need no --config then
    elsewhere = write_config(name="shop.toml")
    (tmp_path / "config.toml").write_text("[monitor]\nbroken = true\n")
    monkeypatch.setenv("OZON_MONITOR_CONFIG", str(elsewhere))
    assert main(["config", "validate"]) == 0
    assert "shop.toml: настройки в порядке" in capsys.readouterr().out
    assert config_flag(tmp_path / "config.toml") == f" --config {tmp_path / 'config.toml'}" and config_flag(elsewhere) == ""


def test_secret_is_not_in_repr(write_config) -> None:
    path = write_config()
    path.write_text(path.read_text().replace('api_key_file = "key.txt"', 'api_key = "TOP-SECRET-123"'))
    settings = load_config(path)
    assert "TOP-SECRET-123" not in repr(settings) and "TOP-SECRET-123" not in str(settings.model_dump())


def test_validate_passes_the_example_and_warns_about_an_unreadable_key(monkeypatch, capsys) -> None:
    monkeypatch.delenv("OZON_API_KEY", raising=False)
    assert main(["config", "validate", str(ROOT / "config.example.toml")]) == 0
    out, err = capsys.readouterr()
    assert err.startswith("предупреждение:") and "api_key_env: OZON_API_KEY: переменная окружения не задана" in err
    assert "ошибок в файле нет" in out and "прочтите предупреждения выше" in out and "в порядке" not in out


def test_strict_validate_and_check_fail_with_2_when_the_key_is_unreadable(write_config, monkeypatch, capsys) -> None:
    path = write_config()
    path.write_text(path.read_text().replace('api_key_file = "key.txt"', 'api_key_env = "SHOP_KEY"'))
    monkeypatch.delenv("SHOP_KEY", raising=False)
    assert main(["config", "validate", "--strict", str(path)]) == 2
    assert main(["check", "--config", str(path)]) == 2
    assert "SHOP_KEY: переменная окружения не задана" in capsys.readouterr().err


def test_example_documents_every_rule_key_with_its_default() -> None:
    import tomllib

    from rules import RULES

    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))["rules"]
    assert set(example) == set(RULES)
    for name, rule in RULES.items():
        defaults = rule.Config().model_dump(mode="json", exclude={"overrides"})  # documented once, above them
        assert example[name] == defaults, name


def test_example_documents_the_monitor_and_alerts_defaults() -> None:
    import tomllib

    from monitor.config import AlertsSection, MonitorSection

    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    assert example["monitor"] == MonitorSection().model_dump(mode="json")
    assert example["alerts"] == AlertsSection().model_dump(mode="json", exclude={"rules"})


def test_a_telegram_bot_written_as_a_webhook_is_read_as_a_telegram_channel(write_config) -> None:
    path = write_config('[[channels]]\ntype = "webhook"\nname = "tg"\nurl = "https://tg.example"\nformat = "telegram"\n'
                        'chat_id = "7"\nsecret_env = "TG_TOKEN"\nproxy = "socks5://127.0.0.1:1080"\n')
    channel = load_config(path, require_secrets=False).channels[1]
    assert isinstance(channel, TelegramConfig)
    assert (channel.api_url, channel.token_env, channel.chat_id, channel.proxy) == \
        ("https://tg.example", "TG_TOKEN", ["7"], "socks5://127.0.0.1:1080")


def test_email_and_webhook_channels_validate_and_report_missing_secrets(write_config, monkeypatch) -> None:
    monkeypatch.delenv("TG_TOKEN", raising=False)
    path = write_config('[[channels]]\ntype = "email"\nhost = "smtp.example.ru"\nsender = "a@example.ru"\n'
                        'to = ["b@example.ru"]\n\n[[channels]]\ntype = "telegram"\nchat_id = "1"\n'
                        'token_env = "TG_TOKEN"\n')
    with pytest.raises(ConfigError, match=r"channels\[2\] \(telegram\): token_env: TG_TOKEN: the environment variable"):
        load_config(path)
    settings = load_config(path, require_secrets=False)
    assert [c.name for c in settings.channels] == ["file", "email", "telegram"]
    assert settings.channels[1].smtp_port == 587


def test_the_valid_channel_types_named_in_errors_are_the_registered_ones(write_config) -> None:
    from monitor.channels import CHANNELS
    with pytest.raises(ConfigError) as error:
        load_config(write_config('[[channels]]\ntype = "pager"\n'))
    named = str(error.value).split("valid types: ")[1].strip().split(", ")
    assert named == sorted(CHANNELS) and len(named) == 4


@pytest.mark.parametrize("written", ['type = "telegram"\ntoken_env = "TG"\n',
                                     'type = "webhook"\nurl = "https://api.telegram.org"\nformat = "telegram"\n'])
def test_a_telegram_channel_needs_a_chat_id(write_config, written: str) -> None:
    path = write_config(f'[[channels]]\n{written}')
    with pytest.raises(ConfigError, match=r"channels\[1\].chat_id: required"):
        load_config(path, require_secrets=False)


def test_an_override_is_validated_by_key_and_named_when_it_matches_no_product(synced_shop, capsys) -> None:
    settings, _, _ = synced_shop
    config = settings.monitor.state_dir.parent / "config.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text + '\n[[rules.stock_out.overrides]]\nskus = [1]\nmin_drop = 0.2\n', encoding="utf-8")
    assert main(["config", "validate", str(config)]) == 2
    assert "rules.stock_out: overrides[0].min_drop: такого ключа у правила нет" in capsys.readouterr().err
    config.write_text(text + '\n[[rules.stock_out.overrides]]\nskus = [1]\nwarn_days = 20\n', encoding="utf-8")
    assert main(["config", "validate", str(config)]) == 0
    assert "rules.stock_out.overrides[0]: 1 — таких товаров нет в магазине «shop»" in capsys.readouterr().err
