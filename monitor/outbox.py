"""The outbox: what must be said waits here until a channel has taken it.

Alert changes are enqueued in the same transaction as the alert state (see `alerts`), one row
per channel and shop. One delivery step, run after the accounts' cycles (`check`) or as its own
job (the daemon), sends what is due: the rows of one channel and one shop become one message
(a backlog is merged rather than flooding the receiver). A worker claims the rows before it
sends them, so two workers never send the same row; the claim of a process that died is void,
and the retry carries the same message id, so a receiver can drop a repeat. A failure is
retried with exponential backoff (honouring the channel's retry-after) until
`delivery_retry_hours` after the oldest row, then parked; a permanent failure is parked at once.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import socket
import threading
import time as clock
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor.channels import Channel, ChannelConfig, DeliveryError
from monitor.config import AlertsSection
from monitor.message import MAX_IN_FULL, Event, Message
from monitor.texts import Said
from monitor.store import StorageError, Store

log = logging.getLogger(__name__)
SEVERITY_RANK = {"warning": 1, "critical": 2}
MAX_BACKOFF = timedelta(hours=1)
CLAIM_TTL = timedelta(minutes=15)  # longer than any channel's send; a claim older than this is void
DELIVERY_BUDGET_SECONDS = 120.0  # how long a delivery step waits for its channels (each send has its own limit)


def enqueue(store: Store, account: str, events: list[Event], channels: list[ChannelConfig], cfg: AlertsSection,
            tz: ZoneInfo, now: datetime) -> None:
    """One row per channel with the events that channel wants; critical news goes at once, the
    rest waits `group_wait_minutes` and for the end of quiet hours. Call inside the transaction
    that changed the alert state."""
    for channel in channels:
        picked = [e for e in events if SEVERITY_RANK[e.severity] >= SEVERITY_RANK[channel.min_severity]
                  and (e.is_open or channel.notify_resolved)]
        if not picked:
            continue
        urgent = any(e.severity == "critical" and e.is_open for e in picked)
        not_before = now if urgent else quiet_hours_end(cfg.quiet_hours, tz,
                                                         now + timedelta(minutes=cfg.group_wait_minutes))
        store.enqueue(uuid.uuid4().hex[:20], channel.name, account, [e.to_json() for e in picked], now, not_before)


def quiet_hours_end(quiet: str, tz: ZoneInfo, now: datetime) -> datetime:
    """`now` outside quiet hours ("22:00-08:00" in the seller's timezone), else when they end."""
    if not quiet:
        return now
    start, end = (time.fromisoformat(part) for part in quiet.split("-"))
    local = now.astimezone(tz)
    inside = (start <= local.time() < end) if start < end else (local.time() >= start or local.time() < end)
    if not inside:
        return now
    ends = datetime.combine(local.date(), end, tz)
    return ends if ends > local else ends + timedelta(days=1)


@dataclass
class Delivery:
    """What one delivery step did: messages sent, failures, and what was sent."""

    sent: tuple[Message, ...] = ()
    outcomes: list[tuple[str, bool]] = field(default_factory=list)  # (channel, delivered) per message tried

    @property
    def delivered(self) -> int:
        return sum(ok for _, ok in self.outcomes)

    @property
    def failed(self) -> int:
        return sum(not ok for _, ok in self.outcomes)


def worker_id() -> str:
    """Who holds a claim: this host and process, so a claim of a dead process can be voided."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claim_is_alive(claimed_by: str) -> bool:
    """False when the claim belongs to a process of this host that no longer exists."""
    host, _, rest = claimed_by.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another host's claim: only its TTL can end it
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def deliver(store: Store, channels: Mapping[str, Channel], language: str, now: datetime,
            retry_hours: float, budget: float = DELIVERY_BUDGET_SECONDS, listed: int = MAX_IN_FULL) -> Delivery:
    """Send what is due, one message per channel and shop. The channels send side by side, each
    in a thread of its own with its own connection to the state file (claim, send, record, one
    message at a time), so a slow or failing one never holds up another. The step waits at most
    `budget` seconds; a channel still sending then finishes and records on its own. A message
    shows `listed` alerts in full and counts the rest. A state file
    that cannot be used is raised here (`StorageError`), as it would be by the step itself."""
    worker = worker_id()
    store.release_claims([c for c in store.claim_holders(now) if not claim_is_alive(c)])
    due: dict[str, list[str]] = {}
    for channel_name, account in store.due_groups(now):
        due.setdefault(channel_name, []).append(account)
    lock = threading.Lock()
    sent: list[Message] = []
    outcomes: list[tuple[str, bool]] = []
    storage: list[StorageError] = []

    def run(channel_name: str, accounts: list[str]) -> None:
        try:
            own = Store(store.path)  # an SQLite connection stays in the thread that opened it
            try:
                for account in accounts:
                    outcome = _deliver_one(own, channel_name, channels.get(channel_name), account, language, now,
                                           retry_hours, worker, listed)
                    if outcome is not None:
                        with lock:
                            outcomes.append((channel_name, outcome is not False))
                            if isinstance(outcome, Message):
                                sent.append(outcome)
            finally:
                own.close()
        except StorageError as exc:
            storage.append(exc)
        except Exception:  # a fault in one channel's step must not stop the others
            log.exception("delivery failed: channel=%s", channel_name)
    threads = [threading.Thread(target=run, args=item, name=f"deliver:{item[0]}", daemon=True) for item in due.items()]
    for thread in threads:
        thread.start()
    ends = clock.monotonic() + budget
    for thread in threads:
        thread.join(max(0.0, ends - clock.monotonic()))
        if thread.is_alive():
            log.warning("delivery still running after %.0f s: %s; it records its outcome when it ends", budget,
                        thread.name)
    if storage:
        raise storage[0]
    with lock:  # a channel still sending adds to its own lists, not to what is returned
        return Delivery(sent=tuple(sent), outcomes=list(outcomes))


def _deliver_one(store: Store, channel_name: str, channel: Channel | None, account: str, language: str,
                 now: datetime, retry_hours: float, worker: str, listed: int) -> Message | bool | None:
    """Claim, send and record the message due to `channel_name` for `account`: the message when
    it went out, False when it failed, None when there was nothing left to claim."""
    rows = store.claimable(channel_name, account, now)
    if not rows:
        return None
    ids = [r["id"] for r in rows]
    message_id = rows[0]["message_id"] or _message_id(ids)
    if not store.claim(ids, message_id, worker, now, now + CLAIM_TTL):
        return None  # another worker took them first
    if channel is None:
        store.mark_failed(ids, f"channel {channel_name!r} is no longer in the config", None, now)
        return False
    message = merge(rows, message_id, language, listed)
    try:
        channel.send(message)
    except Exception as failure:  # a channel's bug is a failed try too, retried like any other
        if not isinstance(failure, DeliveryError):
            log.exception("delivery failed: channel=%s message=%s", channel_name, message.id)
        exc = failure if isinstance(failure, DeliveryError) else \
            DeliveryError(Said("delivery.bug", error=f"{type(failure).__name__}: {failure}"))
        oldest = min(datetime.fromisoformat(r["created_at"]) for r in rows)
        attempts = max(r["attempts"] for r in rows)
        backoff = timedelta(seconds=exc.retry_after) if exc.retry_after else \
            min(timedelta(minutes=2 ** attempts), MAX_BACKOFF)
        give_up = exc.permanent or now + backoff - oldest > timedelta(hours=retry_hours)
        if give_up:
            log.warning("delivery failed, parked: channel=%s account=%s message=%s error=%s", channel_name, account,
                        message.id, exc)
        else:
            log.warning("delivery failed, retry in %d min: channel=%s account=%s message=%s error=%s",
                        math.ceil(backoff / timedelta(minutes=1)), channel_name, account, message.id, exc)
        store.mark_failed(ids, exc.text(language), None if give_up else now + backoff, now if give_up else None,
                          exc.progress)
        return False
    store.mark_delivered(ids, now)
    return message


def _message_id(row_ids: list[str]) -> str:
    return row_ids[0] if len(row_ids) == 1 else hashlib.sha256("|".join(row_ids).encode()).hexdigest()[:20]


def merge(rows: list[dict[str, Any]], message_id: str, language: str, listed: int = MAX_IN_FULL) -> Message:
    """One message from one or more outbox rows of one channel and one shop."""
    accounts = {r["account"] for r in rows}
    if len(accounts) != 1:
        raise ValueError(f"one message is for one shop, got rows of {sorted(accounts)}")
    events = tuple(Event.from_json(e) for r in rows for e in json.loads(r["payload"])["events"])
    return Message(id=message_id, account=rows[0]["account"], client_id=events[0].client_id,
                   created_at=rows[-1]["created_at"], language=language, events=events,
                   parts=tuple(r["id"] for r in rows), progress=json.loads(rows[0].get("progress") or "{}"),
                   listed=listed)
