"""The one SQLite file (WAL): synced data, sync cursors, alert state and the outbox.

Timestamps are stored as ISO-8601 UTC text. Schema changes are sqlite-utils migrations, so an
older state file is upgraded in place on start.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from monitor.ozon.models import AnalyticsRow, Posting
from rules import Order

migrations = Migrations("ozon-monitor")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    db["postings"].create({
        "posting_number": str, "account": str, "scheme": str, "status": str, "substatus": str,
        "order_number": str, "created_at": str, "in_process_at": str, "shipment_date": str,
        "delivering_date": str, "cancel_type": str, "cancel_initiator": str, "cancel_reason": str,
        "affects_cancellation_rating": int, "products": str, "synced_at": str,
    }, pk="posting_number")
    db["postings"].create_index(["account", "created_at"])
    db["analytics_daily"].create({"account": str, "day": str, "revenue": float, "ordered_units": float,
                                  "synced_at": str}, pk=("account", "day"))
    db["cursors"].create({"account": str, "source": str, "covered_since": str, "synced_until": str,
                          "updated_at": str, "last_error": str}, pk=("account", "source"))
    db["alerts"].create({"fingerprint": str, "account": str, "rule": str, "entity": str, "status": str,
                         "severity": str, "started_at": str, "first_seen": str, "last_seen": str,
                         "resolved_at": str, "finding": str}, pk="fingerprint")
    db["outbox"].create({"id": str, "channel": str, "fingerprint": str, "account": str, "event": str,
                         "created_at": str, "payload": str, "attempts": int, "last_error": str,
                         "delivered_at": str}, pk="id")
    db["outbox"].create_index(["delivered_at"])


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat() if moment else None


def parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class Cursor:
    covered_since: datetime | None
    synced_until: datetime | None
    updated_at: datetime | None
    last_error: str | None


class Store:
    """Typed access to the state file; the only module that writes SQL."""

    FILENAME = "ozon-monitor.db"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite_utils.Database(path)
        self.db.enable_wal()
        self.db.execute("PRAGMA busy_timeout = 10000")
        migrations.apply(self.db)

    @classmethod
    def in_dir(cls, state_dir: Path) -> Store:
        return cls(state_dir / cls.FILENAME)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """All writes inside commit together or not at all."""
        with self.db.atomic():
            yield self

    # --- synced data ---------------------------------------------------------------------

    def upsert_postings(self, account: str, scheme: str, postings: Iterable[Posting], synced_at: datetime) -> int:
        rows = [_posting_row(account, scheme, p, synced_at) for p in postings]
        with self.db.atomic():
            self.db["postings"].upsert_all(rows, pk="posting_number")
        return len(rows)

    def upsert_analytics_days(self, account: str, rows: Iterable[AnalyticsRow], synced_at: datetime) -> int:
        records = [{"account": account, "day": row.dimensions[0].id, "revenue": row.metrics[0],
                    "ordered_units": row.metrics[1], "synced_at": iso(synced_at)} for row in rows]
        with self.db.atomic():
            self.db["analytics_daily"].upsert_all(records, pk=("account", "day"))
        return len(records)

    def orders(self, account: str, since: datetime) -> list[Order]:
        """Orders placed since `since`, oldest first, as the rules see them."""
        rows = self.db.query(
            "select posting_number, created_at, status, products from postings "
            "where account = ? and created_at >= ? order by created_at", [account, iso(since)])
        return [Order(r["posting_number"], datetime.fromisoformat(r["created_at"]),
                      tuple(p["sku"] for p in json.loads(r["products"])), r["status"]) for r in rows]

    def count(self, table: str, account: str) -> int:
        return self.db[table].count_where("account = ?", [account])

    def analytics_days(self, account: str) -> list[dict[str, Any]]:
        return list(self.db.query("select day, revenue, ordered_units from analytics_daily "
                                  "where account = ? order by day", [account]))

    # --- cursors -------------------------------------------------------------------------

    def cursor(self, account: str, source: str) -> Cursor:
        rows = list(self.db.query("select * from cursors where account = ? and source = ?", [account, source]))
        if not rows:
            return Cursor(None, None, None, None)
        r = rows[0]
        return Cursor(parse(r["covered_since"]), parse(r["synced_until"]), parse(r["updated_at"]), r["last_error"])

    def save_cursor(self, account: str, source: str, *, covered_since: datetime, synced_until: datetime,
                    now: datetime) -> None:
        self.db["cursors"].upsert({"account": account, "source": source, "covered_since": iso(covered_since),
                                   "synced_until": iso(synced_until), "updated_at": iso(now), "last_error": None},
                                  pk=("account", "source"))

    def save_sync_error(self, account: str, source: str, error: str, now: datetime) -> None:
        self.db["cursors"].upsert({"account": account, "source": source, "last_error": error,
                                   "updated_at": iso(now)}, pk=("account", "source"))

    def cursors(self) -> list[dict[str, Any]]:
        return list(self.db.query("select * from cursors order by account, source"))

    # --- alerts and outbox ---------------------------------------------------------------

    def alert(self, fingerprint: str) -> dict[str, Any] | None:
        rows = list(self.db.query("select * from alerts where fingerprint = ?", [fingerprint]))
        return rows[0] if rows else None

    def open_alerts(self, account: str | None = None) -> list[dict[str, Any]]:
        where, args = ("status = 'firing' and account = ?", [account]) if account else ("status = 'firing'", [])
        return list(self.db.query(f"select * from alerts where {where} order by first_seen", args))

    def save_alert(self, row: dict[str, Any]) -> None:
        self.db["alerts"].upsert(row, pk="fingerprint")

    def enqueue(self, message_id: str, channel: str, fingerprint: str, account: str, event: str,
                payload: dict[str, Any], now: datetime) -> None:
        self.db["outbox"].insert({"id": message_id, "channel": channel, "fingerprint": fingerprint,
                                  "account": account, "event": event, "created_at": iso(now),
                                  "payload": json.dumps(payload, ensure_ascii=False), "attempts": 0,
                                  "last_error": None, "delivered_at": None}, pk="id")

    def pending_messages(self) -> list[dict[str, Any]]:
        return list(self.db.query("select * from outbox where delivered_at is null order by created_at, id"))

    def mark_delivered(self, message_id: str, now: datetime) -> None:
        self.db.execute("update outbox set delivered_at = ?, attempts = attempts + 1, last_error = null "
                        "where id = ?", [iso(now), message_id])

    def mark_failed(self, message_id: str, error: str) -> None:
        self.db.execute("update outbox set attempts = attempts + 1, last_error = ? where id = ?", [error, message_id])


def _posting_row(account: str, scheme: str, p: Posting, synced_at: datetime) -> dict[str, Any]:
    cancel = p.cancellation
    placed = p.created_at or p.in_process_at
    return {
        "posting_number": p.posting_number, "account": account, "scheme": scheme, "status": p.status,
        "substatus": p.substatus, "order_number": p.order_number, "created_at": iso(placed),
        "in_process_at": iso(p.in_process_at), "shipment_date": iso(p.shipment_date),
        "delivering_date": iso(p.delivering_date),
        "cancel_type": cancel.cancellation_type if cancel else None,
        "cancel_initiator": cancel.cancellation_initiator if cancel else None,
        "cancel_reason": cancel.cancel_reason if cancel else None,
        "affects_cancellation_rating": int(bool(cancel and cancel.affect_cancellation_rating)),
        "products": json.dumps([pr.model_dump(exclude_none=True) for pr in p.products], ensure_ascii=False),
        "synced_at": iso(synced_at),
    }
