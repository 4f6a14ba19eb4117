"""The file channel: every message appended to `notifications.jsonl` and its text to `<id>.txt`."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Literal

from monitor.channels.base import ChannelConfig, DeliveryError, full_text
from monitor.message import Message
from monitor.secrets import os_error
from monitor.texts import Said


class FileConfig(ChannelConfig):
    """Appends each notification to `notifications.jsonl` in a directory and writes its text.
    A relative directory lies in the state directory (the config's folder may be read-only)."""

    type: Literal["file"]
    directory: Path = Path("notifications")


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
            line = (json.dumps(asdict(message), ensure_ascii=False) + "\n").encode("utf-8")
            with open(self.directory / "notifications.jsonl", "ab", buffering=0) as log:
                log.write(line)  # one write call, not the text layer's chunks
            tmp = text_file.with_suffix(".tmp")
            tmp.write_text(full_text(message), encoding="utf-8")
            tmp.replace(text_file)
        except OSError as exc:
            raise DeliveryError(Said("delivery.file", folder=self.directory, why=os_error(exc))) from None
