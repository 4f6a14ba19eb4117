"""Every command speaks the seller's language: run against the simulator in Russian, no Latin word
is left but the identifiers a seller knows (SKU, FBS, API, Ozon, Client-Id, commands, keys and
paths); in English, no Russian is left outside what Ozon's own data says (product names,
statuses, return reasons, always quoted)."""
from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.simulator import Incident, Scenario, Simulator, SimulatorServer, World

from .conftest import account, config_file

# Words a Russian seller reads as they are: Ozon's and the trade's terms, the command's own words
# (typed as shown), config keys, zone names.
IDENTIFIERS = {
    "SKU", "FBS", "FBO", "API", "Client", "Id", "ID", "Ozon", "Seller", "SQLite", "TOML", "UTF", "CSV", "HTTP",
    "Excel", "Windows", "Ctrl", "ozon", "monitor", "systemctl", "alerts", "ack", "drafts", "show", "list", "check",
    "status", "silences", "config", "example", "toml", "true", "false", "Europe", "Moscow", "accounts", "channels",
    "https", "file", "webhook", "email", "telegram", "shop", "dead", "kind", "count", "init", "run", "backtest",
    "detect", "demo", "simulator", "digest", "backup", "test", "alert", "silence", "unsilence", "validate", "ru", "en",
    "language", "JSON",
}


def latin_words(text: str) -> list[str]:
    """Latin words outside identifiers, paths, keys, codes and options."""
    found = []
    text = re.sub(r"«[^»]*»|\b\w+=\S*", "", text)  # quoted names; a log line's fields (job=check)
    for token in re.split(r"[\s,;:()\"'\[\]<>{}]+", text):
        if not token or re.search(r"[/_\d.\\@*`]", token) or token.startswith("-") \
                or re.fullmatch(r"[0-9a-f]{8,}", token):
            continue
        found += [w for w in re.findall(r"[A-Za-z]{2,}", token) if w not in IDENTIFIERS]
    return found


def russian_outside_quotes(text: str) -> list[str]:
    unquoted = re.sub(r"«[^»]*»|\"[^\"]*\"", "", text)
    return re.findall(r"[А-Яа-яЁё]{2,}", unquoted)


@pytest.fixture(scope="module")
def said(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """What every command prints, per language, on one synced shop whose orders stopped a day ago."""
    now = datetime.now(timezone.utc)
    scenario = Scenario(seed=5, skus=60, orders_per_day=60, history_days=40,
                        incidents=[Incident("sales_stop", start=now - timedelta(hours=30))])
    with SimulatorServer(Simulator(World(scenario))) as server:
        yield {lang: said_by_commands(tmp_path_factory.mktemp(lang), server.base_url, lang) for lang in ("ru", "en")}


def said_by_commands(folder: Path, base_url: str, lang: str) -> str:
    """Every command's output in `lang`, from a state of its own (alert texts are written in
    the language of the cycle that raised them)."""
    config = str(config_file(folder, account(base_url=base_url)))
    dead = folder / "dead"
    dead.mkdir()
    dead_config = str(config_file(dead, account(base_url="http://127.0.0.1:9", timeout=2)))
    typo = folder / "typo.toml"
    typo.write_text(Path(config).read_text(encoding="utf-8").replace("history_days", "histroy_days")
                    .replace("client_id = 123456", 'client_id = "abc"'), encoding="utf-8")
    series = folder / "orders.csv"
    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    series.write_text("\n".join(f"{(start + timedelta(hours=h)).isoformat()},{3 if h % 24 > 8 else 0}"
                                for h in range(30 * 24)), encoding="utf-8")
    today = datetime.now(timezone.utc).date()
    commands = [
        ["check", "--config", config], ["check", "--config", config], ["status", "--config", config],
        ["alerts", "list", "--config", config], ["alerts", "ack", "1", "--config", config],
        ["alerts", "list", "--all", "--config", config], ["alerts", "ack", "99", "--config", config],
        ["alerts", "silence", "--rule", "stock_out", "--for", "2d", "--reason", "42", "--config", config],
        ["alerts", "silences", "--config", config], ["alerts", "unsilence", "7", "--config", config],
        ["drafts", "list", "--config", config], ["drafts", "show", "sales_drop", "--config", config],
        ["drafts", "show", "nothing", "--config", config],
        ["backup", str(folder / "copy.db"), "--config", config], ["test-alert", "--config", config],
        ["digest", "--config", config],
        ["config", "validate", config], ["config", "validate", str(typo)], ["status", "--config", str(typo)],
        ["check", "--config", dead_config], ["status", "--config", dead_config],
        ["status", "--config", str(folder / "missing.toml")],
        ["detect", "--csv", str(series)], ["detect", "--csv", str(folder / "none.csv")],
        ["backtest", "--config", config, "--from", str(today - timedelta(days=2)), "--to", str(today)],
        ["--help"], ["alerts", "silence", "--help"], ["alerts", "list"],
        ["backtest", "--config", config, "--from", "2026-13-01", "--to", str(today)],
    ]
    # In a folder of its own, with no $OZON_MONITOR_CONFIG: a config.toml where the tests run (one
    # `init` wrote in a checkout) must not answer the command given none.
    (folder / "empty").mkdir()
    with contextlib.chdir(folder / "empty"), pytest.MonkeyPatch.context() as env:
        env.delenv("OZON_MONITOR_CONFIG", raising=False)
        return "\n".join(f"$ {' '.join(command)}\n{run(['--lang', lang, *command])}" for command in commands)


def run(argv: list[str]) -> str:
    """What the command printed, out and err together (argparse exits after help and usage errors)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), contextlib.suppress(SystemExit):
        main(argv)
    return stdout.getvalue() + stderr.getvalue()


def test_every_command_speaks_russian(said: dict[str, str]) -> None:
    text = said["ru"]
    assert "Падение продаж" in text and "Ошибка в настройках" in text and "Открытой проблемы «99» нет" in text
    assert "показать эту справку" in text and "Файл настроек не найден: нет ни config.toml в этой папке" in text
    assert "--from: «2026-13-01» — не дата" in text and "--for СРОК" in text
    leaks = {line: latin_words(line) for line in text.splitlines() if not line.startswith("$ ")}
    assert not {line: words for line, words in leaks.items() if words}


def test_every_command_is_complete_in_english(said: dict[str, str]) -> None:
    text = said["en"]
    assert "Sales drop" in text and "config error" in text
    assert "show this help message" in text and "No config file: neither config.toml in this folder" in text
    assert "--from: '2026-13-01' is not a date" in text and "--for DURATION" in text
    leaks = {line: russian_outside_quotes(line) for line in text.splitlines() if not line.startswith("$ ")}
    assert not {line: words for line, words in leaks.items() if words}


def test_a_mistyped_command_is_told_in_the_language_asked_for() -> None:
    """The language of argparse's own errors comes from --lang, else the environment, before the
    command line is parsed."""
    assert "ошибка: КОМАНДА: недопустимое значение «chek»; можно: " in run(["chek"])
    assert "error: argument COMMAND: invalid choice: 'chek'" in run(["--lang", "en", "chek"])
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OZON_MONITOR_LANG", "en")
        assert "error: unrecognized arguments: --bogus" in run(["status", "--config", "c.toml", "--bogus"])


def test_a_config_named_by_position_sets_the_language(tmp_path: Path) -> None:
    """`config validate FILE` speaks the language of FILE, as `--config FILE` does."""
    english = tmp_path / "en.toml"
    english.write_text('[monitor]\nlanguage = "en"\n', encoding="utf-8")
    assert "config error:" in run(["config", "validate", str(english)])
    assert "error: unrecognized arguments: --bogus" in run(["config", "validate", str(english), "--bogus"])
    assert "ошибка: неизвестные аргументы: --bogus" in run(["config", "validate", "нет.toml", "--bogus"])


def test_a_terminal_line_starts_with_the_time_in_the_sellers_zone(tmp_path: Path) -> None:
    """`check` on a terminal logs a dead API; its lines carry the config's zone, not the host's."""
    config = config_file(tmp_path, account(base_url="http://127.0.0.1:9", timeout=2),
                         monitor='timezone = "Asia/Yekaterinburg"\n')
    text = run(["check", "--config", str(config)])
    stamps = re.findall(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) МСК\+2 ВНИМАНИЕ ", text, re.MULTILINE)
    assert stamps, text
    shown = datetime.strptime(stamps[0], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone(timedelta(hours=5)))
    assert abs(datetime.now(timezone.utc) - shown) < timedelta(minutes=2)


def test_no_zone_id_fraction_or_odds_in_what_a_seller_reads(said: dict[str, str]) -> None:
    for text in said.values():
        assert "Europe/Moscow)" not in text and "(UTC)" not in text
        assert not re.search(r"\d+,\d+ (заказ|отправлен|дн|час)", text)
        assert "1 из " not in text and "1 in " not in text
