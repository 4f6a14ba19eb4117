"""What every data source shares: the `Source` entry of the registry, the `Pull` a source's
pull function works with, the `SyncReport` of a walk, and the account table several sources
fill (`ACCOUNT_INFO`)."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from monitor.config import MonitorSection
from monitor.ozon.client import OzonClient
from monitor.store import Cursor, Store, Table
from rules.base import ErrorKind

Progress = Callable[[str, int], None]
MINUTE = timedelta(minutes=1)

# One row per account, filled by several sources (roles, seller info, rating, FBS error index).
ACCOUNT_INFO = Table("account_info", {
    "account": str, "company": str, "subscription": str, "is_premium": int, "key_expires_at": str, "roles": str,
    "penalty_score_exceeded": int, "fbs_error_index": float, "updated_at": str}, pk=("account",))


def account_info(store: Store, account: str) -> dict[str, Any]:
    return next(iter(store.rows(ACCOUNT_INFO, "select * from account_info where account = ?", [account])), {})


class Interrupted(Exception):
    """The daemon is stopping; what was committed so far stays, the rest resumes next time."""


@dataclass(frozen=True)
class SourceError:
    """Why a source was not read: the kind (the client's error class) for texts and rules, the
    message (method, cause, hint; English) for the log and the webhook."""

    kind: ErrorKind
    message: str
    method: str | None = None  # the API method that failed; None for a source not tried


@dataclass
class SyncReport:
    """What a sync did: records fetched per source, errors per source that failed, and the
    sources it never reached (with why) because an earlier failure stopped the account."""

    fetched: dict[str, int] = field(default_factory=dict)
    errors: dict[str, SourceError] = field(default_factory=dict)
    skipped: dict[str, SourceError] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # time spent per source tried

    @property
    def unchecked(self) -> dict[str, SourceError]:
        """Every source that could not be read this cycle, with the reason."""
        return {**self.errors, **self.skipped}


@dataclass
class Pull:
    """What one source's pull works with; `state` and `covered_since` are saved with its cursor."""

    client: OzonClient
    store: Store
    account: str
    cfg: MonitorSection
    now: datetime
    cursor: Cursor
    stop: threading.Event | None
    progress: Progress | None
    source: str
    state: dict[str, Any]
    covered_since: datetime | None = None
    saved: int = 0

    @property
    def history_start(self) -> datetime:
        return self.now - timedelta(days=self.cfg.history_days)

    @property
    def resume_from(self) -> datetime | None:
        """Where an incremental pull restarts: the last success minus the overlap."""
        synced = self.cursor.synced_until
        return synced - timedelta(minutes=self.cfg.overlap_minutes) if synced else None

    @property
    def today(self) -> date:
        return self.now.astimezone(self.cfg.tz).date()

    def save(self, table: Table, rows: Iterable[dict[str, Any]]) -> int:
        """Commit one page, report progress, and stop here if the daemon is shutting down."""
        count = self.store.save(table, rows)
        self.saved += count
        if self.progress:
            self.progress(self.source, self.saved)
        if self.stop is not None and self.stop.is_set():
            raise Interrupted
        return count


@dataclass(frozen=True)
class Source:
    """One entry of `SOURCES`: the Seller API methods it calls, how often it is pulled, its pull
    (records stored, or None when it had nothing to do yet), the tables it fills, and the
    sources whose data it needs (pulled earlier in the same walk; it waits until they have
    been read once)."""

    name: str
    methods: tuple[str, ...]
    every: timedelta  # pulled at most this often
    pull: Callable[[Pull], int | None]
    tables: tuple[Table, ...] = ()
    needs: tuple[str, ...] = ()
