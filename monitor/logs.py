"""Logging fit for journald: one event per line with its level, job and account.

Under systemd (`JOURNAL_STREAM` set) each line starts with a syslog priority (`<3>`), so
`journalctl -p warning` filters by level, and carries no timestamp of its own (the journal
stamps it); on a terminal it starts with the time in the seller's zone ("2026-12-07 00:17:48
МСК") once the config has named it (`keep_time_in`). The job and account come from the context
the daemon sets around each job, so a line from deep inside a sync still says whose it is.
"""
from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.i18n import LANGUAGES, Language
from monitor.texts import zone as zone_label

_JOB: ContextVar[str] = ContextVar("job", default="-")
_ACCOUNT: ContextVar[str] = ContextVar("account", default="-")
_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}
_BOT_PATH = re.compile(r"/bot[^/\s]+")  # a Telegram token travels in the URL path: /bot<id>:<secret>/sendMessage
_SECRETS: set[str] = set()  # every secret read (`hide`), never to appear in a line
_LANGUAGE: list[str] = ["en"]  # the seller's language, for every line but debug (`speak`)
_ZONE: list[ZoneInfo | None] = [None]  # the seller's zone for a terminal line's time; the host's until known


def speak(language: str) -> None:
    """Write every line but debug in `language` from now on."""
    _LANGUAGE[0] = language


def keep_time_in(zone: ZoneInfo) -> None:
    """Start each terminal line with the time in `zone` (the config's `[monitor] timezone`)."""
    _ZONE[0] = zone


def hide(secret: str) -> None:
    """Keep `secret` (and a bot token's id part) out of every log line from now on, whatever
    prints it: an HTTP library's request line at -v, an exception, a message of ours."""
    _SECRETS.add(secret)
    head = secret.split(":", 1)[0]
    if ":" in secret and len(head) >= 5:
        _SECRETS.add(head)


def redact(text: str) -> str:
    text = _BOT_PATH.sub("/bot***", text)
    for secret in sorted(_SECRETS, key=len, reverse=True):  # the whole token before its id part
        text = text.replace(secret, "***")
    return text


@contextmanager
def job(name: str, account: str = "-") -> Iterator[None]:
    """Every log line inside says `job=<name> account=<account>`."""
    tokens = _JOB.set(name), _ACCOUNT.set(account)
    try:
        yield
    finally:
        _JOB.reset(tokens[0])
        _ACCOUNT.reset(tokens[1])


class _Context(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.job, record.account = _JOB.get(), _ACCOUNT.get()
        record.priority = _PRIORITY.get(record.levelno, 6)
        return True


def setup(level: int) -> None:
    """Log to stderr, one line per event; journald-style when run by systemd."""
    journald = bool(os.environ.get("JOURNAL_STREAM"))
    fmt = ("<%(priority)d>" if journald else "%(asctime)s ") + \
        "%(levelname)s job=%(job)s account=%(account)s %(name)s: %(message)s"
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_Context())
    handler.setFormatter(_OneLine(fmt))
    logging.basicConfig(level=level, handlers=[handler], force=True)


class _OneLine(logging.Formatter):
    """A traceback or a multi-line message stays one journal entry: newlines become ' | '; no
    secret is ever written; every line but debug is in the seller's language."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(_said(record))).replace("\n", " | ")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        zone = _ZONE[0]
        if zone is None:
            return super().formatTime(record, datefmt)
        moment = datetime.fromtimestamp(record.created, zone)
        return f"{moment:%Y-%m-%d %H:%M:%S} {zone_label(moment, _LANGUAGE[0], zone)}"


def _said(record: logging.LogRecord) -> logging.LogRecord:
    """The record with its template and level in the seller's language, where the catalogue has them."""
    language = LANGUAGES[_LANGUAGE[0]]
    if record.levelno < logging.INFO or not isinstance(record.msg, str) or record.msg not in language.log:
        return record
    level = language.words.get(record.levelname.lower(), record.levelname)
    args = tuple(_error(arg, language) for arg in record.args) if isinstance(record.args, tuple) else record.args
    return logging.makeLogRecord({**record.__dict__, "msg": language.log[record.msg], "levelname": level,
                                  "args": args})


def _error(arg: object, language: Language) -> object:
    """An error in the seller's words: one that speaks (`text(language)`: a `Said`, a config or
    state-file error, or a delivery error carrying a `Said`), a Seller API error (it carries its
    `kind` and `method`) by its kind; any other value as it is."""
    text = getattr(getattr(arg, "said", arg), "text", None)
    if isinstance(arg, Exception) and callable(text):
        return text(language.code)
    kind, method = getattr(arg, "kind", None), getattr(arg, "method", None)
    kinds = language.error_kinds
    return f"{method}: {kinds[kind]}" if isinstance(arg, Exception) and kind in kinds and method else arg
