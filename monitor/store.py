"""The one SQLite file (WAL): synced data, sync cursors, alert state and the outbox.

Timestamps are stored as ISO-8601 UTC text. Schema changes are sqlite-utils migrations, so an
older state file is upgraded in place on start.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from rules.base import ErrorKind


log = logging.getLogger(__name__)
migrations = Migrations("ozon-monitor")
_OPENING = threading.Lock()  # one thread at a time sets a file's journal and vacuum modes
_MOVING_ASIDE = threading.Lock()


def _damaged(exc: sqlite3.DatabaseError) -> bool:
    return "not a database" in str(exc) or "malformed" in str(exc)


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    db.table("postings").create({
        "posting_number": str, "account": str, "scheme": str, "status": str, "substatus": str,
        "order_number": str, "created_at": str, "in_process_at": str, "shipment_date": str,
        "delivering_date": str, "cancel_type": str, "cancel_initiator": str, "cancel_reason": str,
        "affects_cancellation_rating": int, "products": str, "synced_at": str,
    }, pk="posting_number")
    db.table("postings").create_index(["account", "created_at"])
    db.table("analytics_daily").create({"account": str, "day": str, "revenue": float, "ordered_units": float,
                                  "synced_at": str}, pk=("account", "day"))
    db.table("cursors").create({"account": str, "source": str, "covered_since": str, "synced_until": str,
                          "updated_at": str, "last_error": str}, pk=("account", "source"))
    db.table("alerts").create({"fingerprint": str, "account": str, "rule": str, "entity": str, "status": str,
                         "severity": str, "started_at": str, "first_seen": str, "last_seen": str,
                         "resolved_at": str, "finding": str}, pk="fingerprint")
    db.table("outbox").create({"id": str, "channel": str, "fingerprint": str, "account": str, "event": str,
                         "created_at": str, "payload": str, "attempts": int, "last_error": str,
                         "delivered_at": str}, pk="id")
    db.table("outbox").create_index(["delivered_at"])


@migrations()
def m002_all_sources(db: sqlite_utils.Database) -> None:
    """Every data source of the Seller API the rules read, plus per-source paging state."""
    db.table("cursors").add_column("disabled_until", str)
    db.table("cursors").add_column("state", str)
    db.table("account_info").create({"account": str, "company": str, "subscription": str, "is_premium": int,
                               "key_expires_at": str, "roles": str, "penalty_score_exceeded": int,
                               "fbs_error_index": float, "updated_at": str}, pk="account")
    metrics = {name: float for name in ANALYTICS_METRICS}
    db.table("analytics_sku_daily").create({"account": str, "sku": int, "day": str, **metrics, "synced_at": str},
                                     pk=("account", "sku", "day"))
    db.table("returns").create({"id": int, "account": str, "posting_number": str, "order_number": str, "sku": int,
                          "offer_id": str, "quantity": int, "price": float, "reason": str, "type": str,
                          "schema": str, "return_date": str, "status": str, "status_name": str,
                          "status_changed_at": str, "synced_at": str}, pk="id")
    db.table("returns").create_index(["account", "return_date"])
    db.table("stocks").create({"account": str, "sku": int, "type": str, "product_id": int, "offer_id": str,
                         "present": int, "reserved": int, "synced_at": str}, pk=("account", "sku", "type"))
    db.table("stock_history").create({"account": str, "sku": int, "type": str, "day": str, "present": int,
                                "reserved": int}, pk=("account", "sku", "type", "day"))
    db.table("fbo_stocks").create({"account": str, "sku": int, "warehouse_id": int, "offer_id": str,
                             "warehouse_name": str, "cluster_id": int, "cluster_name": str, "available": int,
                             "transit": int, "ads": float, "idc": float, "days_without_sales": int,
                             "turnover_grade": str, "synced_at": str}, pk=("account", "sku", "warehouse_id"))
    db.table("products").create({"account": str, "product_id": int, "sku": int, "offer_id": str, "name": str,
                           "price": float, "archived": int, "autoarchived": int, "status": str,
                           "status_name": str, "status_description": str, "moderate_status": str,
                           "validation_status": str, "status_failed": str, "status_updated_at": str,
                           "errors": str, "availability": str, "has_price": int, "has_stock": int,
                           "updated_at": str, "synced_at": str}, pk=("account", "product_id"))
    db.table("rating_summary").create({"account": str, "rating": str, "name": str, "group_name": str,
                                 "current_value": float, "past_value": float, "status": str, "value_type": str,
                                 "direction": str, "synced_at": str}, pk=("account", "rating"))
    db.table("rating_thresholds").create({"account": str, "rating": str, "danger": float, "warning": float,
                                    "premium": float, "synced_at": str}, pk=("account", "rating"))
    db.table("rating_history").create({"account": str, "rating": str, "date_from": str, "date_to": str, "value": float,
                                 "danger": int, "warning": int}, pk=("account", "rating", "date_from"))
    db.table("fbs_index_days").create({"account": str, "date": str, "index_by_date": float, "costs": float},
                                pk=("account", "date"))
    db.table("fbs_index_postings").create({"posting_number": str, "error_type": str, "account": str, "error_at": str,
                                     "idx": float, "charge_percent": float, "charge_price": float,
                                     "product_price": float, "delivery_schema": str},
                                    pk=("posting_number", "error_type"))
    db.table("accruals").create({"accrual_id": int, "account": str, "date": str, "category": str, "unit_number": str,
                           "total": float, "sale_amount": float, "commission": float, "delivery": float,
                           "skus": str, "synced_at": str}, pk="accrual_id")
    db.table("accruals").create_index(["account", "date"])
    db.table("balances").create({"account": str, "day": str, "opening": float, "closing": float, "accrued": float,
                           "payments": float, "sales": float, "sales_fee": float, "returns": float,
                           "synced_at": str}, pk=("account", "day"))


@migrations()
def m003_alert_lifecycle(db: sqlite_utils.Database) -> None:
    """Repeats, acknowledgements, silences, a log of suppressed notifications, and an outbox of
    per-channel digests that are retried with backoff and parked when undeliverable."""
    for column, kind in (("last_notified", str), ("repeats", int), ("acked_at", str), ("ack_note", str)):
        db.table("alerts").add_column(column, kind)
    for column in ("not_before", "next_attempt_at", "parked_at"):
        db.table("outbox").add_column(column, str)
    db.table("silences").create({"id": int, "rule": str, "sku": int, "account": str, "until": str, "reason": str,
                           "created_at": str}, pk="id")
    db.table("suppressed").create({"id": int, "at": str, "account": str, "fingerprint": str, "rule": str, "event": str,
                             "reason": str}, pk="id")


@migrations()
def m004_outbox_claims(db: sqlite_utils.Database) -> None:
    """A worker claims outbox rows before it sends them; a message keeps its id and rows once tried."""
    for column in ("claimed_by", "claimed_until", "message_id"):
        db.table("outbox").add_column(column, str)
    db.table("outbox").create_index(["channel", "account", "delivered_at"])


@migrations()
def m005_keys_per_account(db: sqlite_utils.Database) -> None:
    """Shops in one state file never overwrite each other's rows: every synced table is keyed by
    account first (the simulator, unlike Ozon, reuses numbers across shops)."""
    db.table("postings").transform(pk=("account", "posting_number"))
    db.table("returns").transform(pk=("account", "id"))
    db.table("accruals").transform(pk=("account", "accrual_id"))
    db.table("fbs_index_postings").transform(pk=("account", "posting_number", "error_type"))


@migrations()
def m006_no_daily_analytics(db: sqlite_utils.Database) -> None:
    """Account totals per day were pulled but read by no rule: the analytics budget goes to SKUs."""
    db.table("analytics_daily").drop(ignore=True)


@migrations()
def m007_health(db: sqlite_utils.Database) -> None:
    """The monitor's own troubles (dead man's switch): since when each has lasted and, once told
    to the seller, when, so each is said once."""
    db.table("health").create({"key": str, "account": str, "since": str, "notified_at": str}, pk="key")


@migrations()
def m008_service(db: sqlite_utils.Database) -> None:
    """What `status` and the metrics tell of a running service: each account's last cycle and
    next run, and the Seller API calls that failed (kept a week)."""
    db.table("cycles").create({"account": str, "started_at": str, "finished_at": str, "next_run_at": str}, pk="account")
    db.table("api_errors").create({"id": int, "account": str, "at": str, "method": str, "outcome": str}, pk="id")
    db.table("api_errors").create_index(["account", "at"])


@migrations()
def m009_posting_totals(db: sqlite_utils.Database) -> None:
    """A posting's SKUs, units and amount as columns, so loading orders parses no JSON."""
    for column, kind in (("skus", str), ("units", int), ("amount", float)):
        db.table("postings").add_column(column, kind)
    db.execute("update postings set "
               "skus = (select group_concat(json_extract(value, '$.sku'), ',') from json_each(postings.products)), "
               "units = (select sum(coalesce(json_extract(value, '$.quantity'), 1)) from json_each(postings.products)), "
               "amount = (select sum(coalesce(json_extract(value, '$.quantity'), 1) * "
               "coalesce(json_extract(value, '$.price.amount'), 0)) from json_each(postings.products))")


@migrations()
def m010_error_kinds(db: sqlite_utils.Database) -> None:
    """Why a source failed, as the client's error class said it, and the method that failed: the
    rules read these columns, never the English text beside them (for the log and the webhook)."""
    db.table("cursors").add_column("error_kind", str)
    db.table("cursors").add_column("error_method", str)
    db.execute("update cursors set error_kind = 'other' where last_error is not null")


# Synced tables with a date, pruned after [monitor] keep_raw_days; snapshots are replaced, not kept.
RAW_DATES = {"postings": "created_at", "returns": "return_date", "accruals": "date", "fbs_index_postings": "error_at",
             "fbs_index_days": "date", "stock_history": "day", "analytics_sku_daily": "day",
             "rating_history": "date_to", "balances": "day"}
API_ERRORS_KEPT = timedelta(days=7)
ANALYTICS_METRICS = ("revenue", "ordered_units", "hits_view", "hits_tocart", "session_view", "conv_tocart",
                     "returns", "cancellations", "delivered_units")


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat() if moment else None


def parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def state_dir_problem(folder: Path) -> str | None:
    """Why the state directory cannot be created or written, or None when it can."""
    probe = folder / ".ozon-monitor-write-test"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
    except FileExistsError:
        return f"{folder} is a file, not a folder"
    except NotADirectoryError:
        return f"{folder} lies under a file, not a folder"
    except PermissionError:
        return f"{folder} cannot be written: permission denied (let the user running ozon-monitor write to it)"
    except OSError as exc:
        return f"{folder} cannot be written: {exc.strerror}"
    return None


class StorageError(Exception):
    """The state file cannot be used: the message names the path, what is wrong and the fix."""

    def __init__(self, path: Path, problem: str, fix: str, kind: str = "other") -> None:
        self.path, self.problem, self.fix, self.kind = path, problem, fix, kind  # kind: see texts.STORAGE
        super().__init__(f"{path}: {problem}; {fix}")

    @classmethod
    def of(cls, path: Path, exc: sqlite3.Error) -> StorageError:
        text = str(exc)
        if "full" in text:
            return cls(path, "the disk is full", "free some space; nothing is lost, the next cycle goes on", "full")
        if "readonly" in text or "unable to open" in text or "permission" in text.lower():
            return cls(path, f"cannot be written ({text})",
                       "let the user running ozon-monitor write to the file and its folder", "unwritable")
        if "locked" in text:
            return cls(path, "is locked by another process for too long", "is a second ozon-monitor running?",
                       "locked")
        return cls(path, f"SQLite error: {text}", "check the disk and the file's permissions")


class _Lost(Exception):
    """A claim that did not get every row it asked for."""


@dataclass(frozen=True)
class Cursor:
    """Where a source stands: the span it covers, when it last succeeded, why it last failed,
    until when it is switched off (missing role, retired method), and its paging state."""

    covered_since: datetime | None = None
    synced_until: datetime | None = None
    last_error: str | None = None
    error_kind: ErrorKind | None = None
    error_method: str | None = None
    disabled_until: datetime | None = None
    state: dict[str, Any] = field(default_factory=dict)


class Store:
    """Typed access to the state file; the only module that writes SQL."""

    FILENAME = "ozon-monitor.db"

    BUSY_TIMEOUT_MS = 30000  # how long a writer waits for another account's job to finish its write

    def __init__(self, path: Path) -> None:
        """Open (or create, or upgrade) the state file; raise StorageError naming the path and
        the fix when it cannot be used. A file that is not an SQLite database is moved aside
        (`moved_aside` says where) and a new one started: the next sync rebuilds it from Ozon."""
        self.path, self.moved_aside = path, None  # type: Path, Path | None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise StorageError(path.parent, "is a file, not a folder", "set [monitor] state_dir to a folder",
                               "not_a_folder") from None
        except NotADirectoryError:
            raise StorageError(path.parent, "lies under a file, not a folder",
                               "set [monitor] state_dir to a folder", "not_a_folder") from None
        except PermissionError:
            raise StorageError(path.parent, "cannot be created: permission denied",
                               "create it and let the user running ozon-monitor write to it", "unwritable") from None
        except OSError as exc:
            raise StorageError(path.parent, f"cannot be created: {exc.strerror}", "check the disk") from None
        try:
            try:
                self._open()
            except sqlite3.DatabaseError as exc:
                if not _damaged(exc):
                    raise
                self.db.close()
                with _MOVING_ASIDE:  # the accounts' jobs may find it damaged at once: one moves it aside,
                    try:
                        self._open()  # ... the others open the new file it started
                    except sqlite3.DatabaseError as still:
                        if not _damaged(still):
                            raise
                        self.db.close()
                        self._move_aside(exc)
                        self._open()
        except sqlite3.Error as exc:
            raise StorageError.of(path, exc) from None

    def _move_aside(self, exc: sqlite3.Error) -> None:
        path = self.path
        self.moved_aside = path.with_name(f"{path.name}.damaged-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}")
        path.replace(self.moved_aside)
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        log.warning("state file %s is damaged (%s): moved to %s; a new one is started and the next sync "
                    "rebuilds it from the Ozon API (alerts, silences and undelivered notifications of the old "
                    "file are not carried over)", path, exc, self.moved_aside)

    def _open(self) -> None:
        self.db = sqlite_utils.Database(self.path)
        self.db.execute(f"PRAGMA busy_timeout = {self.BUSY_TIMEOUT_MS}")
        with _OPENING:  # switching a new file to WAL fails at once, without waiting, while another opens it
            deadline = time.monotonic() + self.BUSY_TIMEOUT_MS / 1000
            while True:  # ... and another process may be opening it too
                try:
                    self.db.execute("PRAGMA auto_vacuum = INCREMENTAL")  # a new file; `maintain` converts old ones
                    self.db.enable_wal()
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        with self.transaction():  # several jobs may open a new file at once: one migrates, the others wait
            migrations.apply(self.db)

    @classmethod
    def in_dir(cls, state_dir: Path) -> Store:
        return cls(state_dir / cls.FILENAME)

    @classmethod
    def read_only(cls, state_dir: Path) -> Store:
        """Open the state file for reading only (`status`, `alerts list`, `drafts`, metrics): it is
        never created, upgraded or moved aside here. Raise StorageError naming the file and the
        fix when it is missing, damaged or from another version; `check` and `run` repair it."""
        path = state_dir / cls.FILENAME
        repair = "run `ozon-monitor check` (or restart the service): it moves a damaged file aside and rebuilds " \
                 "the state from Ozon; or restore a backup"
        if not path.is_file():
            raise StorageError(path, "does not exist (deleted, or the monitor has not run yet)",
                               "run `ozon-monitor check` or start the service: it creates the file", "missing")
        store = cls.__new__(cls)
        store.path, store.moved_aside = path, None
        try:
            store.db = sqlite_utils.Database(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True))
            store.db.execute(f"PRAGMA busy_timeout = {cls.BUSY_TIMEOUT_MS}")
            pending = migrations.pending(store.db)
        except sqlite3.DatabaseError as exc:
            if _damaged(exc):
                raise StorageError(path, "is damaged (not a readable SQLite database)", repair, "damaged") from None
            raise StorageError.of(path, exc) from None
        if pending:
            store.close()
            raise StorageError(path, "was written by an older ozon-monitor",
                               "run `ozon-monitor check` (or restart the service) once to upgrade it", "old")
        return store

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """All writes inside commit together or not at all. The write lock is taken at the start
        (BEGIN IMMEDIATE), so a transaction that reads before it writes waits for another writer
        instead of failing with "database is locked"; nested blocks are savepoints."""
        if self.db.conn.in_transaction:
            with self.db.atomic():
                yield self
            return
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                if self.db.conn.in_transaction:
                    self.db.conn.rollback()
                raise
            self.db.conn.commit()
        except sqlite3.OperationalError as exc:
            raise StorageError.of(self.path, exc) from None

    # --- synced data ---------------------------------------------------------------------

    def upsert(self, table: str, rows: Iterable[dict[str, Any]], pk: str | tuple[str, ...]) -> int:
        """Insert or update rows by primary key in one transaction; return how many."""
        rows = list(rows)
        if rows:
            with self.transaction():
                self.db.table(table).upsert_all(rows, pk=pk)
        return len(rows)

    def _rows(self, sql: str, args: list[Any] | None = None) -> list[dict[str, Any]]:
        return list(self.db.query(sql, args or []))

    def account_info(self, account: str) -> dict[str, Any]:
        return next(iter(self._rows("select * from account_info where account = ?", [account])), {})

    def active_skus(self, account: str) -> list[int]:
        """SKUs of the account's cards that are not archived."""
        return [r["sku"] for r in self._rows("select sku from products where account = ? and archived = 0 "
                                            "and sku is not null", [account])]

    def postings_since(self, account: str, since: datetime) -> Iterator[tuple[Any, ...]]:
        """Postings placed since `since`, oldest first, as tuples streamed from the cursor (the
        bulk of a cycle's reading): (posting_number, created_at, status, scheme, skus "1,2",
        units, amount, shipment_date, delivering_date, cancel_type)."""
        return self.db.execute("select posting_number, created_at, status, scheme, skus, units, amount, shipment_date, "
                               "delivering_date, cancel_type from postings where account = ? and created_at >= ? "
                               "order by created_at", [account, iso(since)])

    def order_times(self, account: str, since: datetime) -> list[str]:
        """When each posting since `since` was placed (ISO-8601), oldest first."""
        return [r[0] for r in self.db.execute("select created_at from postings where account = ? and created_at >= ? "
                                              "order by created_at", [account, iso(since)])]

    def returns_since(self, account: str, since: datetime) -> list[tuple[Any, ...]]:
        """(posting_number, sku, reason, return_date) of returns since `since` (a return never
        precedes its order, so these are all the returns of the orders placed since then)."""
        return self.db.execute("select posting_number, sku, reason, return_date from returns where account = ? "
                               "and sku is not null and return_date >= ?", [account, iso(since)]).fetchall()

    def cards(self, account: str) -> Iterator[dict[str, Any]]:
        """Products with a SKU, streamed (a big shop has a hundred thousand)."""
        return self.db.query("select sku, offer_id, name, status, status_name, moderate_status, status_failed, errors, "
                             "availability, archived, autoarchived, status_updated_at from products "
                             "where account = ? and sku is not null", [account])

    def fbs_stock(self, account: str) -> Iterator[dict[str, Any]]:
        """Free FBS/rFBS stock per SKU and type (present minus reserved, over warehouses), streamed."""
        return self.db.query("select sku, type, sum(present - reserved) as available from stocks where account = ? "
                             "group by sku, type", [account])

    def fbo_stock(self, account: str) -> Iterator[dict[str, Any]]:
        """FBO stock per SKU over Ozon's warehouses, with Ozon's average daily sales, streamed."""
        return self.db.query("select sku, sum(available) as available, sum(ads) as ads from fbo_stocks "
                             "where account = ? group by sku", [account])

    def ratings(self, account: str) -> list[dict[str, Any]]:
        """Each rating's summary with its thresholds and its history (oldest first) as `values`."""
        rows = self._rows("select s.*, t.warning, t.danger from rating_summary s left join rating_thresholds t "
                          "using (account, rating) where s.account = ?", [account])
        for row in rows:
            row["values"] = self._rows("select date_from, value from rating_history where account = ? and rating = ? "
                                       "and value is not null order by date_from", [account, row["rating"]])
        return rows

    def posting_money_days(self, account: str) -> list[dict[str, Any]]:
        """Per day: posting accruals, their sale amount and the commission and delivery taken."""
        return self._rows("select date, count(*) as n, sum(sale_amount) as sales, sum(commission) as commission, "
                          "sum(delivery) as delivery from accruals where account = ? and category = 'POSTING' "
                          "group by date order by date", [account])

    def payouts(self, account: str) -> list[dict[str, Any]]:
        return self._rows("select day, payments from balances where account = ?", [account])

    def fbs_index_days(self, account: str) -> list[dict[str, Any]]:
        return self._rows("select date, index_by_date from fbs_index_days where account = ? order by date", [account])

    def fbs_errors(self, account: str) -> list[dict[str, Any]]:
        """The postings Ozon counts in the FBS error index, oldest first."""
        return self._rows("select posting_number, error_type, error_at, charge_price from fbs_index_postings "
                          "where account = ? order by error_at", [account])

    def stock_days(self, account: str) -> list[dict[str, Any]]:
        """Free FBS stock per SKU, type and day, as last seen that day."""
        return self._rows("select sku, type, day, present - reserved as available from stock_history "
                          "where account = ? order by day", [account])

    def traffic(self, account: str) -> list[dict[str, Any]]:
        return self._rows("select sku, day, hits_view, hits_tocart from analytics_sku_daily where account = ? "
                          "and hits_view is not null", [account])

    def count(self, table: str, account: str) -> int:
        return self.db.table(table).count_where("account = ?", [account])

    # --- cursors -------------------------------------------------------------------------

    def cursors(self, account: str) -> list[dict[str, Any]]:
        return list(self.db.query("select * from cursors where account = ? order by source", [account]))

    def cursor(self, account: str, source: str) -> Cursor:
        rows = list(self.db.query("select * from cursors where account = ? and source = ?", [account, source]))
        if not rows:
            return Cursor()
        r = rows[0]
        return Cursor(parse(r["covered_since"]), parse(r["synced_until"]), r["last_error"], r["error_kind"],
                      r["error_method"], parse(r["disabled_until"]), json.loads(r["state"]) if r["state"] else {})

    def save_cursor(self, account: str, source: str, *, covered_since: datetime | None, synced_until: datetime | None,
                    now: datetime, state: dict[str, Any] | None = None) -> None:
        with self.transaction():
            self.db.table("cursors").upsert({"account": account, "source": source, "covered_since": iso(covered_since),
                                       "synced_until": iso(synced_until), "updated_at": iso(now), "last_error": None,
                                       "error_kind": None, "error_method": None, "disabled_until": None, "state": json.dumps(state or {})},
                                      pk=("account", "source"))

    def save_sync_error(self, account: str, source: str, error: str, kind: ErrorKind, method: str | None,
                        now: datetime, disabled_until: datetime | None = None) -> None:
        """Record why `source` was not read: the English `error` for the log, its `kind` and the
        API `method` that failed (None when the source was not tried) for the rules."""
        with self.transaction():
            self.db.table("cursors").upsert({"account": account, "source": source, "last_error": error, "error_kind": kind,
                                       "error_method": method,
                                       "updated_at": iso(now), "disabled_until": iso(disabled_until)},
                                      pk=("account", "source"))

        # --- alerts and outbox ---------------------------------------------------------------

    def alert(self, fingerprint: str) -> dict[str, Any] | None:
        rows = list(self.db.query("select * from alerts where fingerprint = ?", [fingerprint]))
        return rows[0] if rows else None

    def alerts(self, include_resolved: bool = False) -> list[dict[str, Any]]:
        where = "" if include_resolved else "where status = 'firing'"
        return list(self.db.query(f"select * from alerts {where} order by status, severity, first_seen"))

    def open_alerts_matching(self, prefix: str) -> list[str]:
        """Fingerprints of open alerts that start with `prefix`."""
        return [r[0] for r in self.db.execute("select fingerprint from alerts where fingerprint like ? and "
                                              "status = 'firing'", [prefix + "%"])]

    def acknowledge(self, fingerprint: str, now: datetime, note: str) -> None:
        with self.transaction():
            self.db.table("alerts").update(fingerprint, {"acked_at": iso(now), "ack_note": note})

    def open_alerts(self, account: str | None = None) -> list[dict[str, Any]]:
        where, args = ("status = 'firing' and account = ?", [account]) if account else ("status = 'firing'", [])
        return list(self.db.query(f"select * from alerts where {where} order by first_seen", args))

    def save_alert(self, row: dict[str, Any]) -> None:
        self.db.table("alerts").upsert(row, pk="fingerprint")

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

    def mark_failed(self, ids: list[str], error: str, retry_at: datetime | None, parked: datetime | None) -> None:
        with self.transaction():
            for row_id in ids:
                self.db.execute("update outbox set attempts = attempts + 1, last_error = ?, next_attempt_at = ?, "
                                "parked_at = ?, claimed_by = null, claimed_until = null where id = ?",
                                [error, iso(retry_at), iso(parked), row_id])

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

    # --- the monitor's own health -----------------------------------------------------------

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

    # --- the service ---------------------------------------------------------------------

    def record_cycle(self, account: str, started: datetime, finished: datetime, next_run: datetime | None) -> None:
        with self.transaction():
            self.db.table("cycles").upsert({"account": account, "started_at": iso(started), "finished_at": iso(finished),
                                      "next_run_at": iso(next_run)}, pk="account")

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

    def alert_counts(self, account: str) -> dict[str, int]:
        """Open alerts per severity."""
        return dict(self.db.execute("select severity, count(*) from alerts where account = ? and status = 'firing' "
                                    "group by severity", [account]).fetchall())

    def size_bytes(self) -> int:
        return sum(Path(f"{self.path}{suffix}").stat().st_size for suffix in ("", "-wal")
                   if Path(f"{self.path}{suffix}").exists())

    def prune(self, now: datetime, keep_raw: timedelta, keep_alerts: timedelta) -> dict[str, int]:
        """Delete synced rows older than `keep_raw` and the alert history (resolved alerts, ended
        silences, the suppression log, delivered notifications) older than `keep_alerts`; the
        posting cursors then say where the history now starts. Return rows deleted per table."""
        raw, old = iso(now - keep_raw), iso(now - keep_alerts)
        plan = [(table, f"{column} < ?", raw) for table, column in RAW_DATES.items()] + [
            ("alerts", "status = 'resolved' and resolved_at < ?", old), ("silences", "until < ?", old),
            ("suppressed", "at < ?", old), ("outbox", "delivered_at < ?", old),
            ("api_errors", "at < ?", iso(now - API_ERRORS_KEPT))]
        deleted = {}
        with self.transaction():
            for table, where, cutoff in plan:
                deleted[table] = self.db.execute(f"delete from [{table}] where {where}", [cutoff]).rowcount
            self.db.execute("update cursors set covered_since = ? where source in ('fbs', 'fbo') "
                            "and covered_since < ?", [raw, raw])
        return {t: n for t, n in deleted.items() if n}

    def convert_to_incremental_vacuum(self) -> bool:
        """Give a file made before incremental vacuum existed that setting, by one full VACUUM;
        True when it was done. Run before any job starts: it holds the file for as long as it
        takes. A new file has the setting from the start."""
        try:
            if self.db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2:
                return False
            self.db.execute("PRAGMA auto_vacuum = INCREMENTAL")
            self.db.execute("VACUUM")
        except sqlite3.Error as exc:
            raise StorageError.of(self.path, exc) from None
        return True

    def maintain(self) -> None:
        """Give freed pages back to the disk and keep the query planner's statistics fresh."""
        try:
            self.db.conn.executescript("PRAGMA incremental_vacuum;")  # execute() would free one page per call
            self.db.execute("PRAGMA optimize")
        except sqlite3.Error as exc:
            raise StorageError.of(self.path, exc) from None

    def backup(self, target: Path) -> None:
        """Copy the state file to `target` with SQLite's online backup (consistent while the
        daemon writes), through a temporary file so `target` is never half-written."""
        partial = target.with_name(f".{target.name}.partial")
        try:
            with sqlite3.connect(partial) as copy:
                self.db.conn.backup(copy)
                if copy.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise sqlite3.DatabaseError("the copy failed its integrity check")
            copy.close()
            partial.replace(target)
        except (sqlite3.Error, OSError) as exc:
            partial.unlink(missing_ok=True)
            raise StorageError(target, f"backup failed: {exc}", "check that the folder exists and can be written") \
                from None

    def suppressed(self) -> list[dict[str, Any]]:
        """The log of notifications held back by a silence or an acknowledgement, oldest first."""
        return self._rows("select * from suppressed order by id")

    def log_suppressed(self, now: datetime, account: str, fingerprint: str, rule: str, event: str, reason: str) -> None:
        self.db.table("suppressed").insert({"at": iso(now), "account": account, "fingerprint": fingerprint, "rule": rule,
                                      "event": event, "reason": reason})
