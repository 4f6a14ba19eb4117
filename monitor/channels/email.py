"""The e-mail channel: SMTP (STARTTLS, TLS or plain), text and HTML, the affected postings and
SKUs as a CSV, and the chart of each event that has one."""
from __future__ import annotations

import html
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from monitor.channels.base import ChannelConfig, DeliveryError, affected_csv, as_text, heading, more, subject
from monitor.charts import anomaly_chart
from monitor.deadline import within
from monitor.message import Message
from monitor.secrets import EMAIL, read_secret, secret_path
from monitor.texts import WORDS, Said


class EmailConfig(ChannelConfig):
    """SMTP: STARTTLS (587), implicit TLS (465) or plain (a local relay)."""

    type: Literal["email"]
    host: str = Field(min_length=1)
    port: int | None = Field(None, gt=0, lt=65536)
    security: Literal["starttls", "tls", "plain"] = "starttls"
    username: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    sender: str = Field(pattern=EMAIL)
    to: list[str] = Field(min_length=1)
    timeout_seconds: float = Field(30.0, gt=0, le=300)

    _password_file = field_validator("password_file")(lambda value: secret_path(value) if value is not None else None)

    @field_validator("to")
    @classmethod
    def addresses(cls, value: list[str]) -> list[str]:
        bad = [str(n) for n, a in enumerate(value, 1) if "@" not in a or " " in a.strip()]
        if bad:  # said by position: the value itself is never echoed (it may be a key pasted there)
            raise Said("config.not_email", values=", ".join(bad))
        return value

    @property
    def smtp_port(self) -> int:
        return self.port or {"starttls": 587, "tls": 465, "plain": 25}[self.security]

    def password(self) -> str | None:
        return read_secret(self.password_env, self.password_file, "password", token=False)


def as_html(message: Message, charts: dict[str, str] | None = None) -> str:
    """The digest as HTML; `charts` maps an event's fingerprint to the content id of its chart,
    shown under its explanation."""
    words = WORDS[message.language]
    parts = []
    for event in message.shown:
        colour = "#b00020" if event.severity == "critical" and event.is_open else "#333"
        parts.append(f"<h3 style='color:{colour}'>{html.escape(heading(event, message.language))}</h3>")
        parts.append("<p>" + html.escape(event.explanation).replace("\n", "<br>") + "</p>")
        if charts and event.fingerprint in charts:
            parts.append(f"<p><img src='cid:{charts[event.fingerprint]}' alt='{html.escape(event.title)}' "
                         f"style='max-width:100%'></p>")
        if event.is_open and event.support_request:
            parts.append(f"<p><b>{html.escape(words['request'])}</b></p>"
                         f"<pre style='white-space:pre-wrap'>{html.escape(event.support_request)}</pre>")
    if message.unlisted:
        parts.append(f"<p><b>{html.escape(more(message))}</b></p>")
    return "<html><body>" + "\n".join(parts) + "</body></html>"


def _cut(smtp: smtplib.SMTP) -> None:
    """End the exchange now: shutting the socket down wakes a read blocked on it (closing it
    would not while the reply reader holds it)."""
    sock = smtp.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _text(reply: bytes | str) -> str:
    return (reply.decode(errors="replace") if isinstance(reply, bytes) else reply)[:120]


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
        charted = [e for e in message.shown if e.is_open and e.series is not None]
        cids = {e.fingerprint: make_msgid(idstring=f"chart-{e.fingerprint}", domain="ozon-monitor")[1:-1]
                for e in charted}
        mail.add_alternative(as_html(message, cids), subtype="html")
        body = mail.get_body(("html",))  # the HTML part: its charts are shown in it, not as attachments
        assert isinstance(body, EmailMessage)
        for event in charted:
            body.add_related(anomaly_chart(event, message.language, self.tz), maintype="image", subtype="png",
                             cid=f"<{cids[event.fingerprint]}>", filename=f"chart-{event.fingerprint}.png",
                             disposition="inline")
        table = affected_csv(message)
        if table is not None:
            mail.add_attachment(table.encode("utf-8"), maintype="text", subtype="csv", filename="affected.csv")
        return mail

    def send(self, message: Message) -> None:
        """Send to every recipient an earlier try did not reach; the whole exchange ends within
        `timeout_seconds` (a server that greets a byte at a time is cut off). A recipient the
        server refuses is retried (unless refused for good, 5xx) and named; the others are
        recorded as delivered so a retry does not send them the message twice."""
        c = self.config
        done = set(message.progress.get("delivered_to", []))
        to = [address for address in c.to if address not in done]
        if not to:
            return
        try:
            password = c.password()
            smtp = smtplib.SMTP_SSL(timeout=c.timeout_seconds, context=ssl.create_default_context()) \
                if c.security == "tls" else smtplib.SMTP(timeout=c.timeout_seconds)
            # smtplib checks the certificate against `_host`, which only a connecting __init__ sets; connecting
            # after the deadline's timer is armed needs it set by hand
            setattr(smtp, "_host", c.host)  # noqa: B010
            with within(c.timeout_seconds, lambda: _cut(smtp)) as cut_off:
                try:
                    smtp.connect(c.host, c.smtp_port)
                    if c.security == "starttls":
                        smtp.starttls(context=ssl.create_default_context())
                    if c.username:
                        smtp.login(c.username, password or "")
                    refused = smtp.send_message(self.build(message), to_addrs=to)
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    if cut_off.is_set():
                        raise DeliveryError(Said("delivery.no_answer", where=f"SMTP {c.host}:{c.smtp_port}",
                                                 seconds=f"{c.timeout_seconds:g}")) from None
                    raise
                finally:
                    smtp.close()  # after a failure, no QUIT: a server that refused us may not answer it
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(Said("delivery.smtp_login", host=c.host, code=exc.smtp_code), permanent=True) from None
        except smtplib.SMTPRecipientsRefused as exc:
            refused, reached = exc.recipients, set()
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            raise DeliveryError(Said("delivery.no_connection", where=f"SMTP {c.host}:{c.smtp_port}",
                                     error=f"{type(exc).__name__}: {exc}")) from None
        else:
            reached = set(to) - set(refused)
        if refused:
            delivered = sorted(done | reached)
            said = ", ".join(f"{address} ({code} {_text(reply)})" for address, (code, reply) in refused.items())
            raise DeliveryError(Said("delivery.smtp_refused", said=said, delivered=", ".join(delivered) or "—"),
                                permanent=all(code >= 500 for code, _ in refused.values()),
                                progress={"delivered_to": delivered})
