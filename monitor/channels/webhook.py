"""The webhook channel: our versioned JSON (docs/WEBHOOK.md), signed per Standard Webhooks when
a secret is set, or the Slack or Alertmanager shapes."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import Field, field_validator

from monitor.channels.base import ChannelConfig, DeliveryError, full_text, post
from monitor.message import Event, Message
from monitor.secrets import URL, read_secret, secret_path
from monitor.texts import Said

WEBHOOK_VERSION = "1"
LINKS = {"seller_cabinet": "https://seller.ozon.ru/app/dashboard/main",
         "support_chat": "https://seller.ozon.ru/app/messenger"}


class WebhookConfig(ChannelConfig):
    """HTTP POST of each message: our JSON (signed per Standard Webhooks when a secret is set),
    or a preset for Slack or Alertmanager receivers."""

    type: Literal["webhook"]
    url: str = Field(pattern=URL)
    format: Literal["json", "slack", "alertmanager"] = "json"
    secret_env: str | None = None  # json: the signing secret ("whsec_...")
    secret_file: Path | None = None
    proxy: str | None = None
    timeout_seconds: float = Field(10.0, gt=0, le=120)

    _secret_file = field_validator("secret_file")(lambda value: secret_path(value) if value is not None else None)

    def secret(self) -> str | None:
        return read_secret(self.secret_env, self.secret_file, "secret")


class WebhookChannel:
    """POST per message: our versioned JSON (docs/WEBHOOK.md), signed per Standard Webhooks when
    a secret is set; or the Slack or Alertmanager shapes."""

    def __init__(self, config: WebhookConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.name, self.config = config.name, config
        self._transport = transport

    def send(self, message: Message) -> None:
        c = self.config
        try:
            secret = c.secret()
        except Said as exc:
            raise DeliveryError(exc, permanent=True) from None
        body = {"json": webhook_payload, "slack": slack_payload,
                "alertmanager": alertmanager_payload}[c.format](message, self.name)
        raw = json.dumps(body, ensure_ascii=False).encode()
        headers = sign(secret, message.id, int(time.time()), raw) if secret and c.format == "json" else {}
        post(c.url, c.url, c.timeout_seconds, c.proxy, self._transport, content=raw,
             headers={"Content-Type": "application/json", **headers})


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
    fields = {k: v for k, v in asdict(message).items() if k not in ("events", "parts", "progress", "listed")}
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
