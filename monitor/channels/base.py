"""What every channel shares: its config fields, the error it raises, an HTTP POST within a
deadline, and the texts all of them build a message from (heading, subject, plain text, the
CSV of affected postings and SKUs)."""
from __future__ import annotations

import csv
import io
from typing import Any, Literal, Protocol

import httpx
from pydantic import Field

from monitor.deadline import within
from monitor.message import Event, Message
from monitor.secrets import NAME_OR_EMPTY, Strict
from monitor.texts import WORDS, Said, count


TEST_RULE = "test"  # the rule of the message `test-alert` and `init` send
DIGEST_RULE = "digest"  # the rule of the daily summary (monitor/digest.py)


class ChannelConfig(Strict):
    """What every channel has: its type, a name, the least severity it takes, whether it hears
    of resolves."""

    type: str
    name: str = Field("", pattern=NAME_OR_EMPTY)
    min_severity: Literal["warning", "critical"] = "warning"
    notify_resolved: bool = True


class DeliveryError(Exception):
    """A message was not delivered: why, in the seller's words by `text()` (English by `str()`);
    `permanent` tells the outbox not to retry, `retry_after` when to."""

    def __init__(self, said: Said, permanent: bool = False, retry_after: float | None = None,
                 progress: dict[str, Any] | None = None) -> None:
        super().__init__(str(said))
        self.said, self.permanent, self.retry_after = said, permanent, retry_after
        self.progress = progress  # what got through (recipients, parts): the retry sends only the rest

    def text(self, language: str) -> str:
        return self.said.text(language)


class Channel(Protocol):
    """A channel's transport: `send` returns when the message was delivered, else raises
    `DeliveryError`. A channel with an inbound side (a bot's commands) adds its own poll job."""

    name: str

    def send(self, message: Message) -> None: ...

def post(url: str, shown: str, timeout: float, proxy: str | None, transport: httpx.BaseTransport | None,
         **request: Any) -> httpx.Response:
    """POST to `url` with its whole exchange within `timeout`; `shown` is the address said in an
    error (a Bot API URL holds the token). An answer of 300 or more is a `DeliveryError`, for good
    on a 4xx but 408 and 429, with the wait the peer asked for."""
    with httpx.Client(timeout=timeout, proxy=proxy, transport=transport) as client, \
            within(timeout, client.close) as cut_off:
        try:
            response = client.post(url, **request)
        except (httpx.HTTPError, RuntimeError) as exc:  # RuntimeError: the client closed under the read
            raise DeliveryError(Said("delivery.no_answer", where=f"POST {shown}", seconds=f"{timeout:g}")
                                if cut_off.is_set() else
                                Said("delivery.no_connection", where=f"POST {shown}", error=type(exc).__name__)) from None
    status = response.status_code
    if status >= 300:
        raise DeliveryError(Said("delivery.refused", where=f"POST {shown}", status=status, reply=response.text[:200]),
                            permanent=400 <= status < 500 and status not in (408, 429),
                            retry_after=_retry_after(response))
    return response


def _retry_after(response: httpx.Response) -> float | None:
    """Telegram's own `parameters.retry_after`, else the `Retry-After` header."""
    try:
        return float((response.json().get("parameters") or {})["retry_after"])
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


def heading(event: Event, language: str) -> str:
    """"[СРОЧНО] Новая проблема: ..." for open problems; a resolved one carries no severity, and
    the test message says only that it is one."""
    words = WORDS[language]
    if event.rule in (TEST_RULE, DIGEST_RULE):
        return event.title
    if not event.is_open:
        return f"{words['resolved']}: {event.title}"
    return f"[{words[event.severity]}] {words[event.event]}: {event.title}"


def shop(message: Message) -> str:
    """"Магазин «main»": every message names its shop, so a seller with several never guesses."""
    return WORDS[message.language]["shop"].format(account=message.account)


def subject(message: Message) -> str:
    if len(message.events) == 1:
        return f"{shop(message)}: {heading(message.events[0], message.language)}"
    return WORDS[message.language]["digest"].format(
        account=message.account, count=count(len(message.events), "notification", message.language, 0))


def full_text(message: Message) -> str:
    """Subject and body for channels with no subject line of their own; a one-event message's
    subject is its heading, so it is not said twice."""
    return f"{shop(message)}: {as_text(message)}" if len(message.events) == 1 else \
        f"{subject(message)}\n\n{as_text(message)}"


def as_text(message: Message) -> str:
    """The plain-text digest every channel can fall back to."""
    words = WORDS[message.language]
    blocks = []
    for event in message.shown:
        lines = [heading(event, message.language), event.explanation]
        if event.is_open and event.support_request:
            lines += ["", f"--- {words['request']} ---", event.support_request]
        blocks.append("\n".join(lines))
    if message.unlisted:
        blocks.append(more(message))
    return "\n\n".join(blocks) + "\n"


def more(message: Message) -> str:
    """What a message that lists only some alerts in full says of the rest."""
    return WORDS[message.language]["more_alerts"].format(count=count(message.unlisted, "alert_more", message.language))


def affected_csv(message: Message) -> str | None:
    """Affected postings and products of every open event, for support (long lists do not fit a
    chat), as Russian Excel opens a file by double click: a byte-order mark, ";" between the
    columns, headers a seller reads (problem, posting number, SKU, article, name)."""
    events = [e for e in message.events if e.is_open]
    rows = [(e.title, posting, "", "", "") for e in events for posting in e.affected_postings]
    for e in events:
        named = {p.sku: p for p in e.products}
        rows += [(e.title, "", str(sku), named[sku].offer_id if sku in named else "",
                  named[sku].name if sku in named else "") for sku in e.affected_skus]
    if not rows:
        return None
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(WORDS[message.language]["csv_header"].split(";"))
    writer.writerows(rows)
    return "\ufeff" + out.getvalue()
