"""Alert state, silences and the log of what they held back."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from monitor.store.database import Database, iso


class AlertTables(Database):
    def alert(self, fingerprint: str) -> dict[str, Any] | None:
        rows = list(self.db.query("select * from alerts where fingerprint = ?", [fingerprint]))
        return rows[0] if rows else None

    def alerts(self, include_resolved: bool = False) -> list[dict[str, Any]]:
        where = "" if include_resolved else "where status = 'firing'"
        return list(self.db.query(f"select * from alerts {where} order by status, severity, first_seen"))

    def open_alerts_matching(self, key: str) -> list[str]:
        """Fingerprints of open alerts numbered `key` or, failing that, starting with `key`."""
        if key.isdigit():
            found = [r[0] for r in self.db.execute("select fingerprint from alerts where number = ? and "
                                                   "status = 'firing'", [int(key)])]
            if found:
                return found
        return [r[0] for r in self.db.execute("select fingerprint from alerts where fingerprint like ? and "
                                              "status = 'firing'", [key + "%"])]

    def acknowledge(self, fingerprint: str, now: datetime, note: str) -> None:
        with self.transaction():
            self.db.table("alerts").update(fingerprint, {"acked_at": iso(now), "ack_note": note})

    def ask_ticket(self, chat: str, fingerprint: str, now: datetime) -> None:
        """The bot asked `chat` for the number of the request sent about `fingerprint`."""
        with self.transaction():
            self.db.table("bot_pending").upsert({"chat": chat, "fingerprint": fingerprint, "asked_at": iso(now)},
                                                pk="chat")

    def take_ticket(self, chat: str, ticket: str, now: datetime) -> str | None:
        """Store `ticket` with the alert `chat` was asked about; return that alert's fingerprint."""
        with self.transaction():
            row = self.db.execute("select fingerprint from bot_pending where chat = ?", [chat]).fetchone()
            if row is None:
                return None
            self.db.execute("delete from bot_pending where chat = ?", [chat])
            self.db.table("alerts").update(row[0], {"ticket": ticket, "ticket_at": iso(now), "ticket_reminded_at": None})
            return str(row[0])

    def tickets_to_remind(self, before: datetime) -> list[dict[str, Any]]:
        """Open alerts whose request was sent before `before` and not yet reminded of."""
        return list(self.db.query("select * from alerts where status = 'firing' and ticket is not null and "
                                  "ticket_at < ? and ticket_reminded_at is null", [iso(before)]))

    def mark_reminded(self, fingerprint: str, now: datetime) -> None:
        with self.transaction():
            self.db.table("alerts").update(fingerprint, {"ticket_reminded_at": iso(now)})

    def open_alerts(self, account: str | None = None) -> list[dict[str, Any]]:
        where, args = ("status = 'firing' and account = ?", [account]) if account else ("status = 'firing'", [])
        return list(self.db.query(f"select * from alerts where {where} order by first_seen", args))

    def save_alert(self, row: dict[str, Any]) -> None:
        self.db.table("alerts").upsert(row, pk="fingerprint")

    def next_alert_number(self) -> int:
        """The short number a new alert takes (`alerts ack 3`)."""
        return int(self.db.execute("select coalesce(max(number), 0) + 1 from alerts").fetchone()[0])

    def alert_counts(self, account: str) -> dict[str, int]:
        """Open alerts per severity."""
        return dict(self.db.execute("select severity, count(*) from alerts where account = ? and status = 'firing' "
                                    "group by severity", [account]).fetchall())

    def silences(self, now: datetime) -> list[dict[str, Any]]:
        return self._rows("select * from silences where until > ? order by id", [iso(now)])

    def add_silence(self, rule: str | None, sku: int | None, account: str | None, until: datetime, reason: str,
                    now: datetime) -> int:
        with self.transaction():
            table = self.db.table("silences").insert({"rule": rule, "sku": sku, "account": account,
                                                       "until": iso(until), "reason": reason, "created_at": iso(now)})
            silence_id = table.last_pk
            assert isinstance(silence_id, int)
            return silence_id

    def end_silence(self, silence_id: int, now: datetime) -> bool:
        """End a silence now; False when there is no such silence."""
        with self.transaction():
            return self.db.execute("update silences set until = ? where id = ?", [iso(now), silence_id]).rowcount == 1

    def suppressed(self) -> list[dict[str, Any]]:
        """The log of notifications held back by a silence or an acknowledgement, oldest first."""
        return self._rows("select * from suppressed order by id")

    def log_suppressed(self, now: datetime, account: str, fingerprint: str, rule: str, event: str, reason: str) -> None:
        self.db.table("suppressed").insert({"at": iso(now), "account": account, "fingerprint": fingerprint, "rule": rule,
                                      "event": event, "reason": reason})
