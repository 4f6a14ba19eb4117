"""`ozon-monitor init`: the first run for a seller who is not an engineer.

Asks for the Client-Id, the API key (not echoed) and one channel; checks the key against Ozon
at once (`/v1/roles`: may it call what the monitor reads, when does it expire); finds a
Telegram chat id from the bot's updates; writes the config and each secret to its own file
(mode 0600) beside it; ends with a test notification. Every question has a flag, so scripts
run it without a terminal (`--non-interactive`: a missing answer is an error naming its flag).
"""
from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from collections.abc import Callable
from typing import Any
from datetime import datetime, timezone
from pathlib import Path

import httpx

from monitor.channels import FileConfig, send_test
from monitor.config import CONFIG_PLACES, DEFAULT_BASE_URL, ConfigError, config_flag, load_config
from monitor.i18n import LANGUAGES
from monitor.ozon import endpoints as api
from monitor.ozon.client import AuthError, OzonClient, OzonError
from monitor.secrets import os_error
from monitor.texts import ERROR_KINDS, Said, count, day, say

TELEGRAM_API = "https://api.telegram.org"
SERVICE_STATE_DIR = "/var/lib/ozon-monitor"
KEY_FILE, TOKEN_FILE, PASSWORD_FILE, SECRET_FILE = "ozon-api-key", "telegram-token", "smtp-password", "webhook-secret"


class Abort(Exception):
    """Init cannot go on: why and what to do, in the seller's language (`init.*` messages)."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.said = Said(key, **params)


def _lang(args: argparse.Namespace) -> str:
    """--lang, else the language the config is being written for."""
    return getattr(args, "lang", None) or args.language

def add_arguments(p: argparse.ArgumentParser, h: Callable[..., str], m: Callable[[str], str]) -> None:
    """The flags of `init`; `h` gives a flag's help and `m` its value's name in the seller's language."""
    p.add_argument("--config", type=Path, default=CONFIG_PLACES[0], metavar=m("file"), help=h("init_config"))
    p.add_argument("--force", action="store_true", help=h("force"))
    p.add_argument("--non-interactive", action="store_true", help=h("non_interactive"))
    p.add_argument("--client-id", type=int, metavar=m("number"), help=h("client_id"))
    p.add_argument("--api-key-env", metavar=m("variable"), help=h("api_key_env"))
    p.add_argument("--base-url", default=DEFAULT_BASE_URL, metavar=m("url"), help=h("base_url"))
    p.add_argument("--name", default="main", metavar=m("name"), help=h("name"))
    p.add_argument("--language", choices=list(LANGUAGES), default="ru", help=h("language"))
    p.add_argument("--timezone", default="Europe/Moscow", metavar=m("zone"), help=h("timezone"))
    p.add_argument("--state-dir", metavar=m("folder"), help=h("state_dir", service=SERVICE_STATE_DIR))
    p.add_argument("--channel", choices=["telegram", "email", "webhook", "file"], help=h("init_channel"))
    p.add_argument("--telegram-token-env", metavar=m("variable"), help=h("telegram_token_env"))
    p.add_argument("--telegram-chat-id", metavar=m("chat"), help=h("telegram_chat_id"))
    p.add_argument("--telegram-proxy", metavar=m("url"), help=h("telegram_proxy"))
    p.add_argument("--telegram-api", default=TELEGRAM_API, help=argparse.SUPPRESS)
    p.add_argument("--telegram-wait", type=float, default=300, metavar=m("seconds"), help=h("telegram_wait"))
    p.add_argument("--email-host", metavar=m("host"), help=h("email_host"))
    p.add_argument("--email-port", type=int, metavar=m("port"), help=h("email_port"))
    p.add_argument("--email-security", choices=["starttls", "tls", "plain"], default="starttls", help=h("email_security"))
    p.add_argument("--email-username", metavar=m("user"), help=h("email_username"))
    p.add_argument("--email-password-env", metavar=m("variable"), help=h("email_password_env"))
    p.add_argument("--email-from", metavar=m("address"), help=h("email_from"))
    p.add_argument("--email-to", action="append", metavar=m("address"), help=h("email_to"))
    p.add_argument("--webhook-url", metavar=m("url"), help=h("webhook_url"))
    p.add_argument("--webhook-format", choices=["json", "slack", "alertmanager"], default="json", help=h("webhook_format"))
    p.add_argument("--webhook-secret-env", metavar=m("variable"), help=h("webhook_secret_env"))
    p.add_argument("--directory", default="notifications", metavar=m("folder"), help=h("directory"))


class Asker:
    """Answers from flags first, then from the terminal; never from a terminal when non-interactive."""

    def __init__(self, interactive: bool, ask: Callable[[str], str] = input,
                 secret: Callable[[str], str] = getpass.getpass, language: str = "ru") -> None:
        self.interactive, self._ask, self._secret, self.lang = interactive, ask, secret, language

    def text(self, given: str | None, prompt: str, flag: str, default: str | None = None,
             check: Callable[[str], str | None] = lambda _: None) -> str:
        if given is not None:
            problem = check(given)
            if problem:
                raise Abort("init.flag_problem", flag=flag, problem=say(self.lang, problem))
            return given
        if not self.interactive:
            if default is not None:
                return default
            raise Abort("init.flag_needed", flag=flag)
        while True:
            answer = self._ask(f"{say(self.lang, prompt)}{f' [{default}]' if default else ''}: ").strip() or (default or "")
            problem = check(answer) if answer else None if default == "" else "init.answer_needed"
            if not problem:
                return answer
            print(f"  {say(self.lang, problem)}", file=sys.stderr)

    def secret(self, env: str | None, prompt: str, flag: str) -> str:
        if env is not None:
            value = os.environ.get(env, "").strip()
            if not value:
                raise Abort("init.env_empty", flag=flag, env=env)
            return value
        if not self.interactive:
            raise Abort("init.secret_needed", flag=flag)
        while True:
            value = self._secret(say(self.lang, "init.not_shown", prompt=say(self.lang, prompt))).strip()
            if value:
                return value
            print("  " + say(self.lang, "init.answer_needed"), file=sys.stderr)


def run(args: argparse.Namespace, asker: Asker | None = None) -> int:
    lang = _lang(args)
    asker = asker or Asker(not args.non_interactive and sys.stdin.isatty(), language=lang)
    asker.lang = lang
    try:
        return _init(args, asker)
    except Abort as exc:
        print(say(lang, "cli.error", error=exc.said.text(lang)), file=sys.stderr)
        return 2
    except (KeyboardInterrupt, EOFError):
        print("\n" + say(lang, "init.stopped"), file=sys.stderr)
        return 130


def _init(args: argparse.Namespace, asker: Asker) -> int:
    config: Path = args.config.expanduser().absolute()
    folder = config.parent
    lang = asker.lang
    if config.exists() and not args.force:
        raise Abort("init.config_exists", config=config)
    print(say(lang, "init.where_key"))
    client_id = int(asker.text(None if args.client_id is None else str(args.client_id), "init.client_id", "--client-id",
                               check=lambda v: None if v.isdigit() and int(v) > 0 else "init.positive"))
    while True:
        key = asker.secret(args.api_key_env, "init.api_key", "--api-key-env")
        problem = check_key(args.base_url, client_id, key, lang)
        if problem is None:
            break
        if not asker.interactive or args.api_key_env is not None:
            raise Abort("init.as_said", said=problem)
        print(f"  {problem}", file=sys.stderr)
    channel = asker.text(args.channel, "init.channel", "--channel",
                         check=lambda v: None if v in ("telegram", "email", "webhook", "file") else "init.channel_one")
    secrets = {KEY_FILE: key}
    block = {"telegram": _telegram, "email": _email, "webhook": _webhook, "file": _file}[channel](args, asker, secrets)
    state_dir = args.state_dir or (SERVICE_STATE_DIR if folder.is_relative_to("/etc") else "state")
    text = (f"# {say(args.language, 'init.config_head')}\n"
            f"[monitor]\nstate_dir = {_q(state_dir)}\ntimezone = {_q(args.timezone)}\nlanguage = {_q(args.language)}\n\n"
            f"[[accounts]]\nname = {_q(args.name)}\nclient_id = {client_id}\n"
            f"# {say(args.language, 'init.config_key')}\n"
            f"api_key_file = {_q(KEY_FILE)}\n"
            + (f"base_url = {_q(args.base_url)}\n" if args.base_url != DEFAULT_BASE_URL else "")
            + f"\n[[channels]]\n{block}")
    _write(folder, config, text, secrets, args.force)
    try:
        settings = load_config(config)
    except ConfigError as exc:
        raise Abort("init.written_bad", problems=exc.text(lang)) from None
    print(say(lang, "init.wrote", config=config, secrets=", ".join(str(folder / n) for n in secrets)))
    account = settings.accounts[0]
    outcome = send_test(list(settings.channels), settings.monitor.tz, settings.monitor.language, account.name,
                        account.client_id, datetime.now(timezone.utc).isoformat())
    folders = {c.name: c.directory for c in settings.channels if isinstance(c, FileConfig)}
    for name, error in outcome.items():
        print(say(lang, "init.test_failed", channel=name, error=error, config=config_flag(config)) if error
              else say(lang, "init.test_written", channel=name, folder=folders[name]) if name in folders
              else say(lang, "init.test_sent", channel=name))
    print("\n" + say(lang, "init.next", config=config_flag(config)))
    if folder.is_relative_to("/etc"):
        lines = "\n".join(f"  LoadCredential={n}:{folder / n}" for n in secrets)
        print(say(lang, "init.service", lines=lines))
    return 1 if any(outcome.values()) else 0


def check_key(base_url: str, client_id: int, key: str, lang: str = "ru") -> str | None:
    """Ask Ozon about the key: None when it works (and say what it may do), else why Ozon
    rejected it; raise Abort when Ozon cannot be asked at all (down, throttling, bad answer)."""
    from monitor.sources import SOURCES

    try:
        with OzonClient(base_url, client_id, key, timeout=20, retry_budget=20) as client:
            roles = api.roles(client)
    except AuthError:
        return say(lang, "init.key_rejected")
    except OzonError as exc:  # not the key's fault: asking for it again would not help
        raise Abort("init.key_unchecked", why=ERROR_KINDS[lang].get(exc.kind, ERROR_KINDS[lang]["other"]),
                    method=exc.method) from None
    allowed = {m for r in roles.roles for m in r.methods}
    needed = sorted({m for s in SOURCES for m in s.methods})
    missing = [m for m in needed if m not in allowed]
    expires = say(lang, "init.expires", at=day(roles.expires_at, lang)) if roles.expires_at else \
        say(lang, "init.no_expiry")
    print(say(lang, "init.key_works", roles=", ".join(r.name for r in roles.roles) or "—", expires=expires))
    if missing:
        print(say(lang, "init.key_missing", missing=len(missing), needed=len(needed), methods=", ".join(missing)))
    return None


def _telegram(args: argparse.Namespace, asker: Asker, secrets: dict[str, str]) -> str:
    print(say(asker.lang, "init.telegram"))
    token = asker.secret(args.telegram_token_env, "init.bot_token", "--telegram-token-env")
    proxy = args.telegram_proxy
    while True:  # where Telegram is blocked, ask for a proxy and try again
        try:
            chat = args.telegram_chat_id or find_chat(args.telegram_api, token, args.telegram_wait, asker.lang, proxy)
            break
        except Unreachable as exc:
            if not asker.interactive:
                raise Abort("init.telegram_unreachable", error=exc.error) from None
            print("  " + say(asker.lang, "init.telegram_unreachable", error=exc.error), file=sys.stderr)
            proxy = asker.text(None, "init.telegram_proxy", "--telegram-proxy", default="",
                               check=lambda v: None if v.startswith(("http://", "https://", "socks5://"))
                               else "init.not_proxy") or None
    secrets[TOKEN_FILE] = token
    api = f"api_url = {_q(args.telegram_api)}\n" if args.telegram_api != TELEGRAM_API else ""
    via = f"proxy = {_q(proxy)}\n" if proxy else ""
    return f'type = "telegram"\nname = "telegram"\n{api}{via}token_file = {_q(TOKEN_FILE)}\nchat_id = {_q(chat)}\n'


class Unreachable(Exception):
    """Telegram cannot be reached from here (blocked, no network, a dead proxy)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def find_chat(api_url: str, token: str, wait: float, lang: str = "ru", proxy: str | None = None) -> str:
    """The chat of the latest message to the bot: the seller writes to it (or adds it to a group)
    and this reads the bot's updates until one arrives."""
    base = f"{api_url.rstrip('/')}/bot{token}"
    with httpx.Client(timeout=30, proxy=proxy) as http:
        try:
            me = http.get(f"{base}/getMe").json()
        except (httpx.HTTPError, ValueError) as exc:
            raise Unreachable(type(exc).__name__) from None
        if not me.get("ok"):
            raise Abort("init.telegram_rejected")
        print(say(lang, "init.telegram_write", bot=me["result"].get("username", "bot"),
                  wait=count(wait, "second", lang)), flush=True)
        deadline, offset = time.monotonic() + wait, 0
        while time.monotonic() < deadline:
            poll = max(1, min(25, int(deadline - time.monotonic())))
            try:
                updates = http.get(f"{base}/getUpdates", params={"offset": offset, "timeout": poll},
                                   timeout=poll + 10).json().get("result", [])
            except (httpx.HTTPError, ValueError):
                time.sleep(1)
                continue
            for update in updates:
                offset = update["update_id"] + 1
                for kind in ("message", "channel_post", "my_chat_member"):
                    chat = update.get(kind, {}).get("chat")
                    if chat:
                        name = chat.get("title") or chat.get("username") or chat.get("first_name") or chat["id"]
                        print(say(lang, "init.telegram_found", name=name, chat_id=chat["id"]))
                        try:  # read: the service's bot must not answer this message again
                            http.get(f"{base}/getUpdates", params={"offset": offset, "timeout": 0})
                        except httpx.HTTPError:
                            pass
                        return str(chat["id"])
    raise Abort("init.telegram_silent")


def _email(args: argparse.Namespace, asker: Asker, secrets: dict[str, str]) -> str:
    host = asker.text(args.email_host, "init.smtp_host", "--email-host")
    security = args.email_security
    port = args.email_port or {"starttls": 587, "tls": 465, "plain": 25}[security]
    username = asker.text(args.email_username, "init.smtp_login", "--email-username", default="")
    lines = f'type = "email"\nname = "email"\nhost = {_q(host)}\nport = {port}\nsecurity = {_q(security)}\n'
    if username:
        secrets[PASSWORD_FILE] = asker.secret(args.email_password_env, "init.smtp_password", "--email-password-env")
        lines += f"username = {_q(username)}\npassword_file = {_q(PASSWORD_FILE)}\n"
    email = (lambda v: None if "@" in v and " " not in v else "init.not_email")
    sender = asker.text(args.email_from, "init.email_from", "--email-from",
                        default=username if "@" in username else None, check=email)
    to = args.email_to or [asker.text(None, "init.email_to", "--email-to", check=email)]
    return lines + f"sender = {_q(sender)}\nto = [{', '.join(_q(a) for a in to)}]\n"


def _webhook(args: argparse.Namespace, asker: Asker, secrets: dict[str, str]) -> str:
    url = asker.text(args.webhook_url, "init.webhook_url", "--webhook-url",
                     check=lambda v: None if v.startswith(("http://", "https://")) else "init.not_url")
    lines = f'type = "webhook"\nname = "webhook"\nurl = {_q(url)}\nformat = {_q(args.webhook_format)}\n'
    if args.webhook_secret_env:
        secrets[SECRET_FILE] = asker.secret(args.webhook_secret_env, "init.webhook_secret", "--webhook-secret-env")
        lines += f"secret_file = {_q(SECRET_FILE)}\n"
    return lines


def _file(args: argparse.Namespace, asker: Asker, secrets: dict[str, str]) -> str:
    return f'type = "file"\nname = "file"\ndirectory = {_q(args.directory)}\n'


def _write(folder: Path, config: Path, text: str, secrets: dict[str, str], force: bool) -> None:
    """Each secret in its own 0600 file (never world-readable, not even for a moment), then the config."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, value in secrets.items():
            path = folder / name
            if path.exists() and not force:
                raise Abort("init.secret_exists", path=path)
            path.unlink(missing_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(value + "\n")
        config.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise Abort("init.cannot_write", folder=folder, why=os_error(exc)) from None


def _q(value: str) -> str:
    """A TOML basic string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
