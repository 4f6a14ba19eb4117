"""Where notifications go. Each channel type is one module with its config model and its
transport; `CHANNELS` is the registry of types. A channel's `send(message)` returns on success
and raises `DeliveryError` otherwise (`permanent`: do not retry; `retry_after`: when to)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Union
from zoneinfo import ZoneInfo

from pydantic import Field

from monitor.channels.base import TEST_RULE, Channel, ChannelConfig, DeliveryError
from monitor.channels.email import EmailChannel, EmailConfig
from monitor.channels.file import FileChannel, FileConfig
from monitor.channels.telegram import TelegramChannel, TelegramConfig
from monitor.channels.webhook import WebhookChannel, WebhookConfig
from monitor.message import Event, Message
from monitor.texts import WORDS

# The one registry of channel types: `type` in the config -> (its config model, its transport).
CHANNELS: dict[str, tuple[type[ChannelConfig], Any]] = {
    "file": (FileConfig, FileChannel), "email": (EmailConfig, EmailChannel), "webhook": (WebhookConfig, WebhookChannel),
    "telegram": (TelegramConfig, TelegramChannel),
}
if TYPE_CHECKING:  # the union is built from the registry at run time, which a type checker cannot follow
    AnyChannelConfig = ChannelConfig
else:
    AnyChannelConfig = Annotated[Union[tuple(model for model, _ in CHANNELS.values())], Field(discriminator="type")]


def build(configs: list[ChannelConfig], tz: ZoneInfo | None = None) -> dict[str, Channel]:
    """Channel objects by name; e-mail charts are drawn in the seller's timezone `tz`."""
    return {config.name: EmailChannel(config, tz) if isinstance(config, EmailConfig)
            else TelegramChannel(config, tz=tz) if isinstance(config, TelegramConfig)
            else CHANNELS[config.type][1](config) for config in configs}


def send_test(configs: list[ChannelConfig], tz: ZoneInfo, language: str, account: str, client_id: int,
              now: str) -> dict[str, str | None]:
    """Send a test message through each channel; return per channel None when it was sent, else why not."""
    event = Event(event="firing", rule=TEST_RULE, severity="warning", fingerprint="test", account=account,
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
            outcome[name] = exc.text(language)
    return outcome


__all__ = ["CHANNELS", "AnyChannelConfig", "Channel", "ChannelConfig", "DeliveryError", "EmailChannel", "EmailConfig",
           "FileChannel", "FileConfig", "TelegramChannel", "TelegramConfig", "WebhookChannel", "WebhookConfig", "build",
           "send_test"]
