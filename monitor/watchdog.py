"""The monitor watching itself: a dead man's switch and the notice that the state file fails.

Run after every delivery step. When an account's postings have not synced for
`blind_after_minutes`, or a channel has had a message it cannot deliver for
`undeliverable_after_minutes`, every channel that still works is told once, straight (not
through the outbox, which may be what is stuck), and told again when it recovers. When the state
file itself cannot be used, the channels are told without it, at most every few hours.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from monitor import channels as transports
from monitor.channels import DeliveryError
from monitor.config import Settings
from monitor.message import Event, Message
from monitor.store import StorageError, Store, iso, parse
from monitor.sources import coverage
from monitor.texts import WATCHDOG, duration, when

log = logging.getLogger(__name__)
STORAGE_NOTICE_EVERY = timedelta(hours=6)
_storage_noticed: dict[str, datetime] = {}  # per state file: when its fault was last said (in memory)


@dataclass(frozen=True)
class Trouble:
    key: str  # stable while it lasts: "blind:<account>" or "undeliverable:<channel>"
    account: str
    since: datetime
    title: str
    text: str  # what is wrong, in the seller's language
    skip_channel: str | None = None  # the channel that is itself the trouble


def check(settings: Settings, store: Store, now: datetime | None = None) -> list[str]:
    """Say new troubles once and recoveries once; return the keys said."""
    now = now or datetime.now(timezone.utc)
    current = {t.key: t for t in troubles(settings, store, now)}
    said = []
    for key, trouble in current.items():
        if not store.told(key) and _tell(settings, trouble, now, recovered=False):
            store.mark_told(key, trouble.account, trouble.since, now)
            said.append(key)
    words = WATCHDOG[settings.monitor.language]
    for key, (account, since) in store.told_troubles().items():
        if key not in current:
            gone = Trouble(key, account, since, words["recovered_title"], words["recovered"].format(
                since=when(since, settings.monitor.language, settings.monitor.tz),
                duration=duration(now - since, settings.monitor.language)))
            if _tell(settings, gone, now, recovered=True):
                store.forget_trouble(key)
                said.append(key)
    return said


def troubles(settings: Settings, store: Store, now: datetime) -> list[Trouble]:
    language, tz = settings.monitor.language, settings.monitor.tz
    words = WATCHDOG[language]
    found = []
    blind_after = timedelta(minutes=settings.monitor.blind_after_minutes)
    for account in settings.accounts:
        key = f"blind:{account.name}"
        _, synced_until = coverage(store, account.name)
        since = synced_until or store.trouble_since(key, account.name, now)  # never synced: since first seen so
        if synced_until is not None:
            store.forget_trouble(key, told_too=False)  # a first-seen mark is moot once postings sync
        if now - since > blind_after:
            found.append(Trouble(key, account.name, since, words["title"], words["blind"].format(
                account=account.name, since=when(since, language, tz), duration=duration(now - since, language))))
    stuck_after = timedelta(minutes=settings.alerts.undeliverable_after_minutes)
    for channel, row in store.stuck_channels().items():
        oldest = parse(row["created_at"])
        if oldest and now - oldest > stuck_after:
            found.append(Trouble(f"undeliverable:{channel}", row["account"], oldest, words["title"],
                                 words["undeliverable"].format(channel=channel, since=when(oldest, language, tz),
                                                               error=row["last_error"] or "—"),
                                 skip_channel=channel))
    return found


def _tell(settings: Settings, trouble: Trouble, now: datetime, recovered: bool) -> bool:
    """Send straight through every channel but the troubled one; True when one took it."""
    language = settings.monitor.language
    account = next((a for a in settings.accounts if a.name == trouble.account), settings.accounts[0])
    event = Event(event="resolved" if recovered else "firing", rule="monitor", severity="critical",
                  fingerprint=trouble.key, account=account.name, client_id=account.client_id,
                  title=trouble.title, explanation=trouble.text,
                  started_at=iso(trouble.since) or "", notified_at=iso(now) or "", support_topic=None,
                  support_request=None, evidence={"key": trouble.key},
                  ended_at=iso(now) if recovered else None)
    stamp = f"{int(trouble.since.timestamp())}{'.ok' if recovered else ''}"
    message = Message(id=f"monitor-{trouble.key.replace(':', '-')}-{stamp}", account=account.name,
                      client_id=account.client_id, created_at=iso(now) or "", language=language, events=(event,))
    told = False
    targets = [c for c in settings.channels if c.name != trouble.skip_channel]
    for name, channel in transports.build(targets, settings.monitor.tz).items():
        try:
            channel.send(message)
            told = True
        except DeliveryError as exc:
            log.warning("monitor notice not delivered: channel=%s key=%s error=%s", name, trouble.key, exc)
    return told


def storage_fault(settings: Settings, error: StorageError, now: datetime | None = None) -> bool:
    """Tell every channel that the state file cannot be used (no state file needed for that),
    at most every `STORAGE_NOTICE_EVERY`; True when it was said now."""
    now = now or datetime.now(timezone.utc)
    key = str(settings.monitor.state_dir)
    last = _storage_noticed.get(key)
    if last is not None and now - last < STORAGE_NOTICE_EVERY:
        return False
    language = settings.monitor.language
    words = WATCHDOG[language]
    problem, fix = error.parts(language)
    account = settings.accounts[0].name
    told = _tell(settings, Trouble(f"storage:{account}", account, now, words["storage_title"],
                                   words["storage"].format(path=error.path, problem=problem, fix=fix)), now,
                 recovered=False)
    if told:
        _storage_noticed[key] = now
        log.error("the state file cannot be used: %s (the channels are told)", error)
    else:
        log.error("the state file cannot be used: %s (no channel could be told)", error)
    return told
