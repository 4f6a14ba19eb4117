"""Where notifications go. A channel is a small class whose `send(message)` returns on success
and raises `DeliveryError` otherwise; `permanent` tells the outbox not to retry, `retry_after`
when to. A `Message` is what one channel receives for one shop: one or more `Event`s, each an
alert's state change with its title, explanation and support request."""
from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import html
import io
import json
import smtplib
import ssl
import time
from dataclasses import asdict
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol, Union
from zoneinfo import ZoneInfo

import httpx

from pydantic import Field, field_validator, model_validator

from monitor.charts import anomaly_chart
from monitor.message import Event, Message
from monitor.secrets import Strict, read_secret, secret_path
from monitor.texts import WORDS, count

WEBHOOK_VERSION = "1"
TELEGRAM_LIMIT = 4096
LINKS = {"seller_cabinet": "https://seller.ozon.ru/app/dashboard/main",
         "support_chat": "https://seller.ozon.ru/app/messenger"}


class ChannelConfig(Strict):
    """What every channel has: a name, the least severity it takes, whether it hears of resolves."""

    name: str = Field("", pattern=r"^[A-Za-z0-9_.-]*$")
    min_severity: Literal["warning", "critical"] = "warning"
    notify_resolved: bool = True


class FileConfig(ChannelConfig):
    """Appends each notification to `notifications.jsonl` in a directory and writes its text.
    A relative directory lies in the state directory (the config's folder may be read-only)."""

    type: Literal["file"]
    directory: Path = Path("notifications")


class EmailConfig(ChannelConfig):
    """SMTP: STARTTLS (587), implicit TLS (465) or plain (a local relay)."""

    type: Literal["email"]
    host: str = Field(min_length=1)
    port: int | None = Field(None, gt=0, lt=65536)
    security: Literal["starttls", "tls", "plain"] = "starttls"
    username: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    to: list[str] = Field(min_length=1)
    timeout_seconds: float = Field(30.0, gt=0, le=300)

    _password_file = field_validator("password_file")(lambda value: secret_path(value) if value is not None else None)

    @field_validator("to")
    @classmethod
    def addresses(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if "@" not in a or " " in a.strip()]
        if bad:
            raise ValueError(f"not an e-mail address: {', '.join(bad)}")
        return value

    @property
    def smtp_port(self) -> int:
        return self.port or {"starttls": 587, "tls": 465, "plain": 25}[self.security]

    def password(self) -> str | None:
        return read_secret(self.password_env, self.password_file, "password")


class WebhookConfig(ChannelConfig):
    """HTTP POST of each message: our JSON (signed per Standard Webhooks when a secret is set),
    or a preset for Slack, Telegram or Alertmanager receivers."""

    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://[^\s/]+")
    format: Literal["json", "slack", "telegram", "alertmanager"] = "json"
    secret_env: str | None = None  # json: the signing secret ("whsec_..."); telegram: the bot token
    secret_file: Path | None = None
    chat_id: str | None = None  # telegram only
    proxy: str | None = None
    timeout_seconds: float = Field(10.0, gt=0, le=120)

    _secret_file = field_validator("secret_file")(lambda value: secret_path(value) if value is not None else None)

    @model_validator(mode="after")
    def telegram_needs_a_chat(self) -> WebhookConfig:
        if self.format == "telegram" and not self.chat_id:
            raise ValueError('chat_id: required for format = "telegram"')
        return self

    def secret(self) -> str | None:
        return read_secret(self.secret_env, self.secret_file, "secret")


class DeliveryError(Exception):
    def __init__(self, message: str, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent, self.retry_after = permanent, retry_after


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> None: ...


def heading(event: Event, language: str) -> str:
    """"[СРОЧНО] Новая проблема: ..." for open problems; a resolved one carries no severity."""
    words = WORDS[language]
    if not event.is_open:
        return f"{words['resolved']}: {event.title}"
    return f"[{words[event.severity]}] {words[event.event]}: {event.title}"


def subject(message: Message) -> str:
    if len(message.events) == 1:
        return heading(message.events[0], message.language)
    return WORDS[message.language]["digest"].format(
        account=message.account, count=count(len(message.events), "notification", message.language, 0))


def full_text(message: Message) -> str:
    """Subject and body for channels with no subject line of their own; a one-event message's
    subject is its heading, so it is not said twice."""
    return as_text(message) if len(message.events) == 1 else f"{subject(message)}\n\n{as_text(message)}"


def as_text(message: Message) -> str:
    """The plain-text digest every channel can fall back to."""
    words = WORDS[message.language]
    blocks = []
    for event in message.events:
        lines = [heading(event, message.language), event.explanation]
        if event.is_open and event.support_request:
            lines += ["", f"--- {words['request']} ---", event.support_request]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def as_html(message: Message) -> str:
    words = WORDS[message.language]
    parts = []
    for event in message.events:
        colour = "#b00020" if event.severity == "critical" and event.is_open else "#333"
        parts.append(f"<h3 style='color:{colour}'>{html.escape(heading(event, message.language))}</h3>")
        parts.append("<p>" + html.escape(event.explanation).replace("\n", "<br>") + "</p>")
        if event.is_open and event.support_request:
            parts.append(f"<p><b>{html.escape(words['request'])}</b></p>"
                         f"<pre style='white-space:pre-wrap'>{html.escape(event.support_request)}</pre>")
    return "<html><body>" + "\n".join(parts) + "</body></html>"


def affected_csv(message: Message) -> str | None:
    """Affected postings and SKUs of every open event, for support (long lists do not fit a chat)."""
    events = [e for e in message.events if e.is_open]
    rows = [(e.fingerprint, e.rule, p, "") for e in events for p in e.affected_postings]
    rows += [(e.fingerprint, e.rule, "", str(s)) for e in events for s in e.affected_skus]
    if not rows:
        return None
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(WORDS[message.language]["csv_header"].split(","))
    writer.writerows(rows)
    return out.getvalue()


class FileChannel:
    """Appends each message to `notifications.jsonl` and writes its text to `<id>.txt`.
    Re-sending a message whose file exists is a no-op, so a crash between send and bookkeeping
    never duplicates it."""

    def __init__(self, config: FileConfig) -> None:
        self.name, self.directory = config.name, config.directory

    def send(self, message: Message) -> None:
        text_file = self.directory / f"{message.id}.txt"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if text_file.exists():
                return
            with open(self.directory / "notifications.jsonl", "a", encoding="utf-8") as log:
                log.write(json.dumps(asdict(message), ensure_ascii=False) + "\n")
            tmp = text_file.with_suffix(".tmp")
            tmp.write_text(full_text(message), encoding="utf-8")
            tmp.replace(text_file)
        except OSError as exc:
            raise DeliveryError(f"cannot write to {self.directory}: {exc.strerror}") from None


class EmailChannel:
    """Multipart text + HTML in the seller's language, the support requests in the body and a
    CSV of the affected postings/SKUs attached. The Message-ID derives from the message id."""

    def __init__(self, config: EmailConfig, tz: ZoneInfo | None = None) -> None:
        self.name, self.config, self.tz = config.name, config, tz or ZoneInfo("Europe/Moscow")

    def build(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = subject(message)
        mail["From"] = self.config.sender
        mail["To"] = ", ".join(self.config.to)
        mail["Date"] = formatdate(localtime=True)
        mail["Message-ID"] = make_msgid(idstring=message.id, domain="ozon-monitor")
        mail["X-Ozon-Monitor-Id"] = message.id
        mail.set_content(as_text(message))
        mail.add_alternative(as_html(message), subtype="html")
        table = affected_csv(message)
        if table is not None:
            mail.add_attachment(table.encode("utf-8"), maintype="text", subtype="csv", filename="affected.csv")
        for event in message.events:
            if not event.is_open or event.series is None:
                continue
            png = anomaly_chart(event, message.language, self.tz)
            mail.add_attachment(png, maintype="image", subtype="png", filename=f"chart-{event.fingerprint}.png")
        return mail

    def send(self, message: Message) -> None:
        c = self.config
        try:
            password = c.password()
            if c.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(c.host, c.smtp_port, timeout=c.timeout_seconds,
                                                     context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(c.host, c.smtp_port, timeout=c.timeout_seconds)
            try:
                if c.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if c.username:
                    smtp.login(c.username, password or "")
                smtp.send_message(self.build(message))
                smtp.quit()
            finally:
                smtp.close()  # after a failure, no QUIT: a server that refused us may not answer it
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login to {c.host} refused ({exc.smtp_code}); check username and password",
                                permanent=True) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"SMTP server refused recipients: {', '.join(exc.recipients)}", permanent=True) from None
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            raise DeliveryError(f"SMTP {c.host}:{c.smtp_port}: {type(exc).__name__}: {exc}") from None


class WebhookChannel:
    """POST per message: our versioned JSON (docs/WEBHOOK.md), signed per Standard Webhooks when
    a secret is set; or Slack, Telegram or Alertmanager shapes."""

    def __init__(self, config: WebhookConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.name, self.config = config.name, config
        self._transport = transport

    def send(self, message: Message) -> None:
        c = self.config
        try:
            secret = c.secret()
        except ValueError as exc:
            raise DeliveryError(str(exc), permanent=True) from None
        with httpx.Client(timeout=c.timeout_seconds, proxy=c.proxy, transport=self._transport) as client:
            if c.format == "telegram":
                for chunk in telegram_chunks(message):
                    self._post(client, f"{c.url.rstrip('/')}/bot{secret}/sendMessage",
                               {"chat_id": c.chat_id, "text": chunk, "parse_mode": "HTML",
                                "disable_web_page_preview": True}, {})
                return
            body = {"json": webhook_payload, "slack": slack_payload,
                    "alertmanager": alertmanager_payload}[c.format](message, self.name)
            raw = json.dumps(body, ensure_ascii=False).encode()
            headers = sign(secret, message.id, int(time.time()), raw) if secret and c.format == "json" else {}
            self._post(client, c.url, raw, headers)

    def _post(self, client: httpx.Client, url: str, body: dict | bytes, headers: dict[str, str]) -> None:
        shown = url.split("/bot")[0] + "/bot***" if "/bot" in url else url  # never log a bot token
        try:
            if isinstance(body, bytes):
                response = client.post(url, content=body, headers={"Content-Type": "application/json", **headers})
            else:
                response = client.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"POST {shown}: {type(exc).__name__}") from None
        if response.status_code < 300:
            return
        retry_after = _retry_after(response)
        raise DeliveryError(f"POST {shown}: HTTP {response.status_code} {response.text[:200]}",
                            permanent=400 <= response.status_code < 500 and response.status_code not in (408, 429),
                            retry_after=retry_after)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float((response.json().get("parameters") or {})["retry_after"])  # Telegram
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Standard Webhooks headers: HMAC-SHA256 over "id.timestamp.body" with the base64 key
    after the "whsec_" prefix (a secret without the prefix is used as raw bytes)."""
    key = base64.b64decode(secret.removeprefix("whsec_")) if secret.startswith("whsec_") else secret.encode()
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": "v1," + base64.b64encode(digest).decode()}


def event_payload(event: Event) -> dict[str, Any]:
    """One alert of the JSON payload: every field of `Event`, plus its status and links."""
    return {**asdict(event), "status": event.status, "links": LINKS}


def webhook_payload(message: Message, receiver: str) -> dict[str, Any]:
    """Our versioned JSON (docs/WEBHOOK.md): the message's fields, its events as `alerts`."""
    fields = {k: v for k, v in asdict(message).items() if k not in ("events", "parts")}
    return {"version": WEBHOOK_VERSION, "type": "ozon-monitor.digest", **fields,
            "alerts": [event_payload(e) for e in message.events]}


def slack_payload(message: Message, receiver: str) -> dict[str, Any]:
    first, _, rest = full_text(message).partition("\n")
    return {"text": f"*{first}*\n{rest}"}


def alertmanager_payload(message: Message, receiver: str) -> dict[str, Any]:
    """Alertmanager webhook v4, for tooling that already consumes it."""
    alerts = [{
        "status": e.status,
        "labels": {"alertname": e.rule, "severity": e.severity, "account": e.account},
        "annotations": {"summary": e.title, "description": e.explanation, "support_request": e.support_request or ""},
        "startsAt": e.started_at, "endsAt": e.ended_at or e.notified_at if not e.is_open else "0001-01-01T00:00:00Z",
        "generatorURL": "", "fingerprint": e.fingerprint,
    } for e in message.events]
    return {"version": "4", "groupKey": f"ozon-monitor/{message.account}", "truncatedAlerts": 0,
            "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
            "receiver": receiver, "groupLabels": {"account": message.account},
            "commonLabels": {"account": message.account}, "commonAnnotations": {}, "externalURL": "",
            "alerts": alerts}


def telegram_chunks(message: Message) -> list[str]:
    """The digest as Telegram HTML, split between events to stay under 4096 characters; an
    event too long for one message is sent as plain escaped text cut at line ends."""
    words = WORDS[message.language]
    pieces = []
    for e in message.events:
        title = heading(e, message.language)
        body = [e.explanation]
        request = e.support_request if e.is_open else None
        block = f"<b>{html.escape(title)}</b>" + "".join(f"\n{html.escape(line)}" for line in body)
        if request:
            block += f"\n\n<i>{html.escape(words['request'])}</i>\n<pre>{html.escape(request)}</pre>"
        if len(block) < TELEGRAM_LIMIT:
            pieces.append(block)
        else:
            plain = "\n".join([title, *body, *([words["request"], request] if request else [])])
            pieces += _cut(html.escape(plain))
    chunks, current = [], ""
    for piece in pieces:
        if current and len(current) + 2 + len(piece) >= TELEGRAM_LIMIT:
            chunks.append(current)
            current = ""
        current = f"{current}\n\n{piece}" if current else piece
    return chunks + ([current] if current else [])


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


# The one registry of channel types: `type` in the config -> (its config model, its transport).
CHANNELS: dict[str, tuple[type[ChannelConfig], type]] = {
    "file": (FileConfig, FileChannel), "email": (EmailConfig, EmailChannel), "webhook": (WebhookConfig, WebhookChannel),
}
if TYPE_CHECKING:  # the union is built from the registry at run time, which a type checker cannot follow
    AnyChannelConfig = ChannelConfig
else:
    AnyChannelConfig = Annotated[Union[tuple(model for model, _ in CHANNELS.values())], Field(discriminator="type")]


def build(configs: list[ChannelConfig], tz: ZoneInfo | None = None) -> dict[str, Channel]:
    """Channel objects by name; e-mail charts are drawn in the seller's timezone `tz`."""
    return {config.name: EmailChannel(config, tz) if isinstance(config, EmailConfig)
            else CHANNELS[config.type][1](config) for config in configs}  # type: ignore[attr-defined]


def send_test(configs: list[ChannelConfig], tz: ZoneInfo, language: str, account: str, client_id: int,
              now: str) -> dict[str, str | None]:
    """Send a test message through each channel; return per channel None when it was sent, else why not."""
    event = Event(event="firing", rule="test", severity="warning", fingerprint="test", account=account,
                  client_id=client_id, title=WORDS[language]["test_title"], explanation=WORDS[language]["test_text"],
                  started_at=now, notified_at=now, support_topic=None, support_request=None, evidence={})
    outcome: dict[str, str | None] = {}
    for name, channel in build(configs, tz).items():
        message = Message(id=f"test-{now[:19].replace(':', '')}-{name}", account=account, client_id=client_id,
                          created_at=now, language=language, events=(event,))
        try:
            channel.send(message)
            outcome[name] = None
        except DeliveryError as exc:
            outcome[name] = str(exc)
    return outcome
