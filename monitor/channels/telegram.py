"""The Telegram channel: Bot API `sendMessage` to one or several chats, the message as Telegram
HTML split between events under 4096 characters."""
from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo
from typing import Any, Literal

import httpx
from pydantic import Field, field_validator

from monitor.channels.base import ChannelConfig, DeliveryError, affected_csv, heading, more, post, shop
from monitor.charts import anomaly_chart
from rules import RULES
from monitor.message import Message
from monitor.secrets import URL, read_secret, secret_path
from monitor.texts import WORDS, Said

TELEGRAM_LIMIT = 4096
API_URL = "https://api.telegram.org"


class TelegramConfig(ChannelConfig):
    """A Telegram bot that writes to one or several chats (the seller, a manager)."""

    type: Literal["telegram"]
    token_env: str | None = None
    token_file: Path | None = None
    chat_id: list[str] = Field(min_length=1)
    proxy: str | None = None  # http://... or socks5://..., where api.telegram.org is blocked
    api_url: str = Field(API_URL, pattern=URL)  # a self-hosted Bot API server, or tests
    timeout_seconds: float = Field(10.0, gt=0, le=120)
    remind_hours: float = Field(6.0, gt=0, le=720)  # after "Отправил в поддержку": remind if it persists
    allowed_users: list[str] = []  # in a group: only these users (ids or @names) act; empty: anyone in chat_id

    @field_validator("allowed_users", mode="before")
    @classmethod
    def users_as_text(cls, value: object) -> object:
        return [str(v).removeprefix("@") for v in value] if isinstance(value, list) else value

    _token_file = field_validator("token_file")(lambda value: secret_path(value) if value is not None else None)

    @field_validator("chat_id", mode="before")
    @classmethod
    def one_or_several(cls, value: object) -> object:
        """`chat_id = "-100..."` or `chat_id = ["-100...", "42"]`; numbers are taken as written."""
        values = value if isinstance(value, list) else [value]
        return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in values]

    def token(self) -> str | None:
        return read_secret(self.token_env, self.token_file, "token")


def from_webhook(raw: dict[str, object]) -> dict[str, object]:
    """A channel written as `type = "webhook"`, `format = "telegram"` (before Telegram was a
    channel of its own) as the telegram channel it always meant."""
    if raw.get("type") != "webhook" or raw.get("format") != "telegram":
        return raw
    moved = {"url": "api_url", "secret_env": "token_env", "secret_file": "token_file"}
    return {moved.get(k, k): v for k, v in raw.items() if k != "format"} | {"type": "telegram"}


class TelegramChannel:
    """`sendMessage` of each part to each chat; the token goes only into the request path and
    never into an error, a log line or an output. The message id of every part Telegram took is
    recorded, so a retry after a failure resumes after the last part each chat has, and no part
    is ever sent twice."""

    def __init__(self, config: TelegramConfig, transport: httpx.BaseTransport | None = None,
                 tz: ZoneInfo | None = None) -> None:
        self.name, self.config, self.tz = config.name, config, tz or ZoneInfo("Europe/Moscow")
        self._transport = transport

    def send(self, message: Message) -> None:
        c = self.config
        try:
            token = c.token()
        except Said as exc:
            raise DeliveryError(exc, permanent=True) from None
        if not token:
            raise DeliveryError(Said("config.no_bot_token"), permanent=True)
        sent: dict[str, list[int | None]] = {chat: list(ids) for chat, ids in message.progress.get("sent", {}).items()}
        parts = phone_parts(message, self.tz)
        for chat in c.chat_id:
            done = sent.setdefault(chat, [])
            for index, part in enumerate(parts[len(done):], start=len(done) + 1):
                try:
                    done.append(self._send_part(token, chat, part, message.language))
                except DeliveryError as exc:
                    where = Said("delivery.chat_part", chat=chat, part=index, parts=len(parts)) if len(parts) > 1 \
                        else Said("delivery.chat", chat=chat)
                    said = Said("delivery.where", what=exc.said, where=where)
                    if exc.said.key in ("delivery.no_connection", "delivery.no_answer") and not c.proxy:
                        said = Said("delivery.telegram_unreachable", error=said)  # blocked in many networks
                    raise DeliveryError(said, exc.permanent, exc.retry_after, {"sent": sent}) from None

    def _send_part(self, token: str, chat: str, part: Part, language: str) -> int | None:
        """One part (a message, a document or a photo) within the channel's time limit; the id of
        the message it made."""
        c = self.config
        base = c.api_url.rstrip("/")
        if part.file is None:
            body: dict[str, Any] = {"chat_id": chat, "text": part.text, "parse_mode": "HTML",
                                    "disable_web_page_preview": True}
            markup = buttons(list(part.fingerprints), language)
            if markup:
                body["reply_markup"] = markup
            request: dict[str, Any] = {"json": body}
        else:
            field = "document" if part.method == "sendDocument" else "photo"
            request = {"data": {"chat_id": chat, "caption": part.text, "parse_mode": "HTML"},
                       "files": {field: part.file}}
        response = post(f"{base}/bot{token}/{part.method}", f"{base}/bot***/{part.method}", c.timeout_seconds,
                        c.proxy, self._transport, **request)
        try:
            message_id = response.json()["result"]["message_id"]
        except (ValueError, KeyError, TypeError):
            return None
        return message_id if isinstance(message_id, int) else None


def buttons(fingerprints: list[str], language: str) -> dict[str, Any] | None:
    """Under the open alerts of a part, two rows each: acknowledge, the support request, "sent to
    support"; silence for 1, 3 or 7 days. The callback names the alert by its fingerprint; the
    bot looks it up."""
    if not fingerprints:
        return None
    words = WORDS[language]
    rows = []
    for fingerprint in fingerprints:
        rows.append([{"text": words["button_ack"], "callback_data": f"ack:{fingerprint}"},
                     {"text": words["button_draft"], "callback_data": f"draft:{fingerprint}"},
                     {"text": words["button_sent"], "callback_data": f"sent:{fingerprint}"}])
        rows.append([{"text": words["button_mute"].format(days=days), "callback_data": f"mute:{fingerprint}:{days}"}
                     for days in (1, 3, 7)])
    return {"inline_keyboard": rows}


@dataclass(frozen=True)
class Part:
    """One thing sent to a chat: a message (with the buttons of the alerts in it), or a file."""

    method: Literal["sendMessage", "sendDocument", "sendPhoto"]
    text: str  # HTML: the message, or the file's caption
    fingerprints: tuple[str, ...] = ()
    file: tuple[str, bytes, str] | None = None  # name, content, type


def phone_parts(message: Message, tz: ZoneInfo) -> list[Part]:
    """What a phone shows well: the short alerts (with their buttons), then each support request
    as a message of its own in a copyable block, then the affected postings and products as a
    CSV document, then the chart of each alert that has one as a photo."""
    words = WORDS[message.language]
    parts = [Part("sendMessage", text, tuple(marks)) for text, marks in telegram_parts(message)]
    for event in message.shown:
        if event.is_open and event.support_request:
            block = f"<i>{html.escape(words['request'])}</i>\n<pre>{html.escape(event.support_request)}</pre>"
            parts += [Part("sendMessage", block)] if len(block) < TELEGRAM_LIMIT else \
                [Part("sendMessage", piece) for piece in _cut(html.escape(event.support_request))]
    table = affected_csv(message)
    if table is not None:
        parts.append(Part("sendDocument", html.escape(words["csv_caption"]),
                          file=("affected.csv", table.encode("utf-8"), "text/csv")))
    for event in message.shown:
        if event.is_open and event.series is not None:
            parts.append(Part("sendPhoto", html.escape(event.title)[:1000],
                              file=(f"chart-{event.fingerprint}.png", anomaly_chart(event, message.language, tz),
                                    "image/png")))
    return parts


def telegram_chunks(message: Message) -> list[str]:
    return [text for text, _ in telegram_parts(message)]


def telegram_parts(message: Message) -> list[tuple[str, list[str]]]:
    """The alerts as Telegram HTML without their requests (those follow, `phone_parts`), split
    between events to stay under 4096 characters, each part with the fingerprints of the open
    alerts in it (for their buttons); an event too long for one message is sent as plain escaped
    text cut at line ends."""
    pieces: list[tuple[str, str | None]] = []
    for number, e in enumerate(message.shown):
        title = f"{shop(message)}: " * (number == 0) + heading(e, message.language)
        body = [e.explanation]
        block = f"<b>{html.escape(title)}</b>" + "".join(f"\n{html.escape(line)}" for line in body)
        actionable = e.fingerprint if e.is_open and e.rule in RULES else None  # an alert the bot can act on
        if len(block) < TELEGRAM_LIMIT:
            pieces.append((block, actionable))
        else:
            cut = _cut(html.escape("\n".join([title, *body])))
            pieces += [(piece, actionable if index == len(cut) - 1 else None) for index, piece in enumerate(cut)]
    if message.unlisted:
        pieces.append((f"<i>{html.escape(more(message))}</i>", None))
    chunks: list[tuple[str, list[str]]] = []
    current, marks = "", list[str]()
    for piece, mark in pieces:
        if current and len(current) + 2 + len(piece) >= TELEGRAM_LIMIT:
            chunks.append((current, marks))
            current, marks = "", []
        current = f"{current}\n\n{piece}" if current else piece
        marks += [mark] if mark else []
    return chunks + ([(current, marks)] if current else [])


def _cut(text: str) -> list[str]:
    """Text cut into pieces under the limit, at line ends where possible."""
    pieces, current = [], ""
    for line in text.split("\n"):
        while len(line) >= TELEGRAM_LIMIT:
            pieces.append(line[:TELEGRAM_LIMIT - 1])
            line = line[TELEGRAM_LIMIT - 1:]
        if current and len(current) + 1 + len(line) >= TELEGRAM_LIMIT:
            pieces.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    return pieces + ([current] if current else [])
