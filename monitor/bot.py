"""The Telegram bot's inbound side: the seller acts on an alert from the phone. One poller per
bot token long-polls `getUpdates` (no inbound port: works behind NAT and a proxy), answers the
commands (/status, /alerts, /digest, /help) and the buttons under each alert (acknowledge,
silence for 1, 3 or 7 days, the support request), through the same store calls as the CLI.
Only the channel's own chats are heard; anything else is ignored and logged once. The offset
of the next update is stored after each one, so a restart neither loses nor repeats an action.
"""
from __future__ import annotations

import hashlib
import html
import json
import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from monitor import drafts, texts
from monitor.channels.telegram import TelegramConfig
from monitor.config import Settings
from monitor.digest import summary
from monitor.store import StorageError, Store, parse
from monitor.sources import coverage
from monitor.texts import say, when

log = logging.getLogger(__name__)
POLL_SECONDS = 5  # a long poll this long: SIGTERM is heard within it


class Bot:
    """The commands and button presses of one bot's chats."""

    def __init__(self, settings: Settings, config: TelegramConfig, token: str,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.settings, self.config, self.token = settings, config, token
        self.key = hashlib.sha256(token.encode()).hexdigest()[:16]  # the bot, never its token, in the state file
        self.base = f"{config.api_url.rstrip('/')}/bot{token}"
        self.http = httpx.Client(timeout=POLL_SECONDS + config.timeout_seconds, proxy=config.proxy,
                                 transport=transport)
        self.strangers: set[str] = set()

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop`; a failed poll waits (on the stop event: SIGTERM is heard at once),
        as long as Telegram asks after a 429, and tries again. One connection to the state file,
        this thread's, opened afresh after it failed."""
        store: Store | None = None
        try:
            while not stop.is_set():
                try:
                    store = store or Store.in_dir(self.settings.monitor.state_dir)
                    self.poll_once(store)
                except Throttled as exc:
                    stop.wait(exc.seconds)
                except StorageError as exc:
                    log.warning("telegram poll failed: %s", exc)
                    if store is not None:
                        store.close()
                    store = None
                    stop.wait(POLL_SECONDS)
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    log.warning("telegram poll failed: %s", type(exc).__name__)
                    stop.wait(POLL_SECONDS)
                except Exception:  # a bug in one answer must not end the seller's bot
                    log.exception("telegram poll failed: %s", "bug")
                    stop.wait(POLL_SECONDS)
        finally:
            if store is not None:
                store.close()
            self.http.close()

    def poll_once(self, store: Store | None = None, wait: int = POLL_SECONDS) -> int:
        """Read and handle the updates Telegram has (waiting up to `wait` s); return how many.
        Without a `store`, the state file is opened for this poll alone."""
        own = store is None
        store = store or Store.in_dir(self.settings.monitor.state_dir)
        try:
            self.remind(store, datetime.now(timezone.utc))
            offset = store.bot_offset(self.key)
            answer = self.http.get(f"{self.base}/getUpdates", params={"offset": offset, "timeout": wait,
                                                                    "allowed_updates": '["message","callback_query"]'})
            if answer.status_code == 429:
                raise Throttled(min(float(answer.json().get("parameters", {}).get("retry_after", POLL_SECONDS)), 300))
            updates = answer.json().get("result", [])
            for update in updates:
                try:
                    self.handle(store, update)
                finally:  # handled or not, never again
                    store.save_bot_offset(self.key, int(update["update_id"]) + 1)
            return len(updates)
        finally:
            if own:
                store.close()

    def handle(self, store: Store, update: dict[str, Any]) -> None:
        press = update.get("callback_query")
        message = press["message"] if press else update.get("message")
        chat = str((message or {}).get("chat", {}).get("id", ""))
        sender = (press or message or {}).get("from", {})
        allowed = self.config.allowed_users
        if not message or chat not in self.config.chat_id or (
                allowed and str(sender.get("id")) not in allowed and sender.get("username") not in allowed):
            if chat not in self.strangers:
                self.strangers.add(chat)
                log.warning("telegram update from a chat not in chat_id ignored: chat=%s", chat)
            return
        text = (message.get("text") or "").strip()
        if press:
            self.answer(store, chat, press)
        elif text.startswith("/"):
            self.command(store, chat, text.split()[0].split("@")[0])
        elif text:
            self.ticket(store, chat, text[:64])

    def ticket(self, store: Store, chat: str, number: str) -> None:
        """The number of the request the seller sent, when the bot asked this chat for one."""
        lang = self.settings.monitor.language
        if store.take_ticket(chat, number, datetime.now(timezone.utc)) is None:
            self.send(chat, say(lang, "bot.help"))
            return
        self.send(chat, say(lang, "bot.ticket_saved", ticket=number,
                            hours=texts.count(self.config.remind_hours, "hour", lang)))

    def remind(self, store: Store, now: datetime) -> None:
        """An alert whose request was sent `remind_hours` ago and that is still open: say so once."""
        lang = self.settings.monitor.language
        names = {a.name for a in self.settings.accounts}
        for row in store.tickets_to_remind(now - timedelta(hours=self.config.remind_hours)):
            if row["account"] not in names:
                continue
            text = say(lang, "bot.reminder", ticket=row["ticket"], title=json.loads(row["finding"])["title"],
                       shop=self._shop(row["account"]), ago=texts.duration(now - (parse(row["ticket_at"]) or now), lang))
            for chat in self.config.chat_id:
                self.send(chat, text)
            store.mark_reminded(row["fingerprint"], now)

    def command(self, store: Store, chat: str, name: str) -> None:
        lang, now = self.settings.monitor.language, datetime.now(timezone.utc)
        if name == "/status":
            self.send(chat, "\n".join(self._status(store, now)))
        elif name == "/alerts":
            self.send(chat, "\n".join(self._alerts(store)) or say(lang, "cli.no_open_alerts"))
        elif name == "/digest":
            for account in self.settings.accounts:
                event = summary(self.settings, store, account.name, now)
                self.send(chat, f"<b>{html.escape(self._shop(account.name))}: {html.escape(event.title)}</b>\n"
                                f"{html.escape(event.explanation)}", escaped=True)
        else:
            self.send(chat, say(lang, "bot.help"))

    def answer(self, store: Store, chat: str, press: dict[str, Any]) -> None:
        """A button under an alert: looked up here by its fingerprint, never trusted as sent."""
        lang, now = self.settings.monitor.language, datetime.now(timezone.utc)
        action, _, rest = str(press.get("data", "")).partition(":")
        fingerprint, _, days = rest.partition(":")
        row = store.alert(fingerprint)
        who = press.get("from", {}).get("first_name") or press.get("from", {}).get("username") or "?"
        accounts = {a.name for a in self.settings.accounts}
        if row is None or row["status"] != "firing" or row["account"] not in accounts:
            self.call("answerCallbackQuery", {"callback_query_id": press["id"], "text": say(lang, "bot.gone")})
            return
        title = f"{row['number']}. {texts.rule_name(row['rule'], lang)}"
        at = texts.clock(now, now, lang, self.settings.monitor.tz)
        if action == "ack":
            store.acknowledge(fingerprint, now, f"Telegram: {who}")
            self._mark(chat, press, fingerprint, say(lang, "bot.button_ack", who=who, at=at))
            done = say(lang, "bot.acked", title=title, who=who, at=at)
        elif action == "mute" and days in ("1", "3", "7"):
            until = now + timedelta(days=int(days))
            store.add_silence(row["rule"], None, row["account"], until, f"Telegram: {who}", now)
            self._mark(chat, press, fingerprint, say(lang, "bot.button_mute", who=who, at=at, days=days))
            done = say(lang, "bot.muted", title=title, who=who, until=when(until, lang, self.settings.monitor.tz))
        elif action == "sent":
            store.ask_ticket(chat, fingerprint, now)
            self.call("answerCallbackQuery", {"callback_query_id": press["id"]})
            self.call("sendMessage", {"chat_id": chat, "text": say(lang, "bot.ask_ticket", title=title),
                                      "reply_markup": {"force_reply": True}})
            return
        elif action == "draft":
            found = drafts.find(self.settings.monitor.state_dir, fingerprint)
            done = found[0].path.read_text(encoding="utf-8") if found else say(lang, "bot.no_draft")
            self.call("answerCallbackQuery", {"callback_query_id": press["id"]})
            self.send(chat, f"<pre>{html.escape(done)}</pre>", escaped=True)
            return
        else:
            done = say(lang, "bot.gone")
        self.call("answerCallbackQuery", {"callback_query_id": press["id"], "text": done[:190]})
        self.send(chat, done, reply_to=press.get("message", {}).get("message_id"))

    def _mark(self, chat: str, press: dict[str, Any], fingerprint: str, label: str) -> None:
        """The pressed alert's row of buttons becomes one line saying who did what and when."""
        message = press.get("message", {})
        rows = message.get("reply_markup", {}).get("inline_keyboard", [])
        if not rows or "message_id" not in message:
            return
        marked, done = [], False
        for row in rows:  # the alert's rows become one line
            if not any(fingerprint in str(b.get("callback_data", "")) for b in row):
                marked.append(row)
            elif not done:
                marked.append([{"text": label, "callback_data": "done"}])
                done = True
        self.call("editMessageReplyMarkup", {"chat_id": chat, "message_id": message["message_id"],
                                             "reply_markup": {"inline_keyboard": marked}})

    def _shop(self, name: str) -> str:
        return texts.WORDS[self.settings.monitor.language]["shop"].format(account=name)

    def _status(self, store: Store, now: datetime) -> list[str]:
        lang, tz = self.settings.monitor.language, self.settings.monitor.tz
        lines = []
        for account in self.settings.accounts:
            _, until = coverage(store, account.name)
            fresh = until is not None and now - until < timedelta(minutes=self.settings.monitor.blind_after_minutes)
            counts = store.alert_counts(account.name)
            lines.append(say(lang, "bot.status_fresh" if fresh else "bot.status_stale", shop=self._shop(account.name),
                             at=when(until, lang, tz) if until else say(lang, "cli.never"),
                             alerts=sum(counts.values()),
                             critical=counts.get("critical", 0)))
        return lines

    def _alerts(self, store: Store) -> list[str]:
        """The open alerts as `alerts list` numbers them, with when each began."""
        lang, tz = self.settings.monitor.language, self.settings.monitor.tz
        names, lines = {a.name for a in self.settings.accounts}, []
        for row in store.alerts():
            if row["account"] in names:
                since = when(parse(row["started_at"]) or datetime.now(timezone.utc), lang, tz)
                lines.append(f"{row['number']}. [{texts.WORDS[lang][row['severity']]}] {row['account']} · "
                             f"{texts.rule_name(row['rule'], lang)}: {json.loads(row['finding'])['title']} "
                             f"({say(lang, 'bot.since', since=since)})")
        return lines

    def send(self, chat: str, text: str, *, escaped: bool = False, reply_to: int | None = None) -> None:
        body: dict[str, Any] = {"chat_id": chat, "text": text if escaped else html.escape(text), "parse_mode": "HTML"}
        if reply_to:
            body["reply_to_message_id"] = reply_to
        self.call("sendMessage", body)

    def call(self, method: str, body: dict[str, Any]) -> None:
        response = self.http.post(f"{self.base}/{method}", json=body)
        if response.status_code >= 300:
            log.warning("telegram %s refused: HTTP %s", method, response.status_code)


class Throttled(Exception):
    """Telegram answered 429: wait `seconds` before the next poll."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds
