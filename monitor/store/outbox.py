"""The outbox: per-channel rows claimed by a worker before they are sent, so a message goes out
once however many workers run, and a dead worker's claim is void."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from monitor.store.database import Database, iso


class _Lost(Exception):
    """A claim that did not get every row it asked for."""


class OutboxTables(Database):
    _PENDING = "delivered_at is null and parked_at is null and (next_attempt_at is null or next_attempt_at <= :now)"
    _FREE = "(claimed_by is null or claimed_until <= :now)"

    def enqueue(self, row_id: str, channel: str, account: str, events: list[dict[str, Any]], now: datetime,
                not_before: datetime) -> None:
        self.db.table("outbox").insert({"id": row_id, "channel": channel, "account": account, "event": "digest",
                                  "created_at": iso(now), "payload": json.dumps({"events": events}, ensure_ascii=False),
                                  "attempts": 0, "not_before": iso(not_before)}, pk="id")

    _PENDING = "delivered_at is null and parked_at is null and (next_attempt_at is null or next_attempt_at <= :now)"
    _FREE = "(claimed_by is null or claimed_until <= :now)"

    def due_groups(self, now: datetime) -> list[tuple[str, str]]:
        """(channel, account) pairs with a row whose time has come, oldest first."""
        rows = self.db.execute(f"select channel, account, min(created_at) as oldest from outbox where {self._PENDING} "
                               "and not_before <= :now group by channel, account order by oldest",
                               {"now": iso(now)}).fetchall()
        return [(channel, account) for channel, account, _ in rows]

    def claimable(self, channel: str, account: str, now: datetime) -> list[dict[str, Any]]:
        """The rows one message to `channel` for `account` carries: a message already tried
        keeps its rows (so its retry has the same id); otherwise every pending row of that
        channel and shop, held-back digests included."""
        rows = list(self.db.query(f"select * from outbox where channel = :channel and account = :account and "
                                  f"{self._PENDING} and {self._FREE} order by created_at, id",
                                  {"channel": channel, "account": account, "now": iso(now)}))
        tried = next((r["message_id"] for r in rows if r["message_id"]), None)
        return [r for r in rows if r["message_id"] == tried]

    def claim(self, ids: list[str], message_id: str, worker: str, now: datetime, until: datetime) -> bool:
        """Claim every row of `ids` for `worker` or none: True when this worker won them."""
        marks = ",".join("?" * len(ids))
        try:
            with self.transaction():
                won = self.db.execute(
                    f"update outbox set claimed_by = ?, claimed_until = ?, message_id = ? where id in ({marks}) and "
                    "delivered_at is null and parked_at is null and (claimed_by is null or claimed_until <= ?)",
                    [worker, iso(until), message_id, *ids, iso(now)]).rowcount
                if won != len(ids):
                    raise _Lost  # some rows went to another worker: take none
        except _Lost:
            return False
        return True

    def claim_holders(self, now: datetime) -> list[str]:
        return [r[0] for r in self.db.execute("select distinct claimed_by from outbox where claimed_by is not null "
                                              "and claimed_until > ? and delivered_at is null", [iso(now)])]

    def release_claims(self, holders: list[str]) -> None:
        """Void the claims of workers that are gone, so their rows are retried at once."""
        with self.transaction():
            for holder in holders:
                self.db.execute("update outbox set claimed_by = null, claimed_until = null where claimed_by = ? "
                                "and delivered_at is null", [holder])

    def undelivered(self, account: str | None = None) -> list[dict[str, Any]]:
        where, args = ("and account = ?", [account]) if account else ("", [])
        return list(self.db.query(f"select * from outbox where delivered_at is null {where} order by created_at, id",
                                  args))

    def stuck_channels(self) -> dict[str, dict[str, Any]]:
        """Per channel, its oldest message not delivered (parked or waiting) since the channel
        last delivered anything."""
        rows = self._rows("select o.* from outbox o where o.delivered_at is null and o.created_at > coalesce("
                          "(select max(d.delivered_at) from outbox d where d.channel = o.channel), '') "
                          "order by o.created_at")
        stuck: dict[str, dict[str, Any]] = {}
        for row in rows:
            stuck.setdefault(row["channel"], row)
        return stuck

    def mark_delivered(self, ids: list[str], now: datetime) -> None:
        with self.transaction():
            for row_id in ids:
                self.db.execute("update outbox set delivered_at = ?, attempts = attempts + 1, last_error = null, "
                                "claimed_by = null, claimed_until = null where id = ?", [iso(now), row_id])

    def mark_failed(self, ids: list[str], error: str, retry_at: datetime | None, parked: datetime | None,
                    progress: dict[str, Any] | None = None) -> None:
        """A failed try: when to retry (or parked), and what of the message got through, kept
        for the retry (`progress`; None keeps what was there)."""
        with self.transaction():
            for row_id in ids:
                self.db.execute("update outbox set attempts = attempts + 1, last_error = ?, next_attempt_at = ?, "
                                "parked_at = ?, claimed_by = null, claimed_until = null, "
                                "progress = coalesce(?, progress) where id = ?",
                                [error, iso(retry_at), iso(parked), json.dumps(progress) if progress else None,
                                 row_id])
