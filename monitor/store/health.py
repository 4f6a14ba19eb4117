"""The monitor's own health (the dead man's switch), its cycles and the API calls that failed."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from monitor.store.database import Database, iso


class HealthTables(Database):
    def trouble_since(self, key: str, account: str, now: datetime) -> datetime:
        """When a trouble was first seen: recorded at `now` the first time, kept after that."""
        with self.transaction():
            self.db.execute("insert or ignore into health (key, account, since) values (?, ?, ?)",
                            [key, account, iso(now)])
            return datetime.fromisoformat(self.db.execute("select since from health where key = ?", [key]).fetchone()[0])

    def told(self, key: str) -> bool:
        return self.db.execute("select 1 from health where key = ? and notified_at is not null", [key]).fetchone() \
            is not None

    def mark_told(self, key: str, account: str, since: datetime, now: datetime) -> None:
        with self.transaction():
            self.db.table("health").upsert({"key": key, "account": account, "since": iso(since), "notified_at": iso(now)},
                                     pk="key")

    def told_troubles(self) -> dict[str, tuple[str, datetime]]:
        """Troubles told to the seller and not yet over: key -> (account, since)."""
        return {k: (a, datetime.fromisoformat(s)) for k, a, s in
                self.db.execute("select key, account, since from health where notified_at is not null")}

    def forget_trouble(self, key: str, told_too: bool = True) -> None:
        """Drop a trouble (only one not yet told, unless `told_too`)."""
        with self.transaction():
            self.db.execute("delete from health where key = ?" + ("" if told_too else " and notified_at is null"),
                            [key])

    def record_cycle(self, account: str, started: datetime, finished: datetime, next_run: datetime | None) -> None:
        with self.transaction():
            self.db.table("cycles").upsert({"account": account, "started_at": iso(started), "finished_at": iso(finished),
                                      "next_run_at": iso(next_run)}, pk="account")

    def digest_sent(self, account: str) -> datetime | None:
        row = self.db.execute("select digest_sent_at from cycles where account = ?", [account]).fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def record_digest(self, account: str, at: datetime) -> None:
        with self.transaction():
            self.db.execute("insert into cycles (account, digest_sent_at) values (?, ?) on conflict (account) do "
                            "update set digest_sent_at = excluded.digest_sent_at", [account, iso(at)])

    def bot_offset(self, bot: str) -> int:
        """The first Telegram update of `bot` not yet handled (0: from whatever Telegram keeps)."""
        row = self.db.execute("select next_update from bot_offsets where bot = ?", [bot]).fetchone()
        return int(row[0]) if row else 0

    def save_bot_offset(self, bot: str, next_update: int) -> None:
        with self.transaction():
            self.db.table("bot_offsets").upsert({"bot": bot, "next_update": next_update}, pk="bot")

    def last_cycle(self, account: str) -> dict[str, Any]:
        return next(iter(self._rows("select * from cycles where account = ?", [account])), {})

    def log_api_errors(self, account: str, errors: Iterable[tuple[datetime, str, str]]) -> None:
        """Failed Seller API calls: (when, method, outcome: an HTTP status or 'timeout'/'unreachable')."""
        rows = [{"account": account, "at": iso(at), "method": method, "outcome": outcome}
                for at, method, outcome in errors]
        if rows:
            with self.transaction():
                self.db.table("api_errors").insert_all(rows)

    def api_errors_since(self, account: str, since: datetime) -> list[dict[str, Any]]:
        """Failed calls since `since` counted per method and outcome, most frequent first."""
        return self._rows("select method, outcome, count(*) as n, max(at) as last from api_errors where account = ? "
                          "and at >= ? group by method, outcome order by n desc", [account, iso(since)])
