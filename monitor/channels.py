"""Where notifications go. A channel is a small class whose `send` returns on success and raises
`DeliveryError` otherwise; the outbox decides from `permanent` whether to try again."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from monitor.config import Channel as ChannelConfig
from monitor.config import FileChannel as FileChannelConfig


class DeliveryError(Exception):
    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Channel(Protocol):
    name: str

    def send(self, message: dict[str, Any]) -> None: ...


class FileChannel:
    """Appends each message to `notifications.jsonl` and writes its text to `<id>.txt`.
    Re-sending a message whose file exists is a no-op, so a crash between send and bookkeeping
    never duplicates it."""

    def __init__(self, config: FileChannelConfig) -> None:
        self.name, self.directory = config.name, config.directory

    def send(self, message: dict[str, Any]) -> None:
        text_file = self.directory / f"{message['id']}.txt"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if text_file.exists():
                return
            with open(self.directory / "notifications.jsonl", "a", encoding="utf-8") as log:
                log.write(json.dumps(message, ensure_ascii=False) + "\n")
            tmp = text_file.with_suffix(".tmp")
            tmp.write_text(as_text(message), encoding="utf-8")
            tmp.replace(text_file)
        except OSError as exc:
            raise DeliveryError(f"cannot write to {self.directory}: {exc.strerror}") from None


def as_text(message: dict[str, Any]) -> str:
    """The plain-text body every channel can fall back to."""
    parts = [f"[{message['severity'].upper()}] {message['title']}", message["explanation"]]
    if message.get("support_request"):
        parts += ["", message["support_request"]]
    return "\n".join(parts) + "\n"


CHANNELS = {"file": FileChannel}


def build(configs: list[ChannelConfig]) -> dict[str, Channel]:
    return {config.name: CHANNELS[config.type](config) for config in configs}
