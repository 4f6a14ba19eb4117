"""Synced data: the tables each source declares (`Table`), written and read through the
store, and the cursors that say how far each source has been read."""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from monitor.store.database import Database, iso, parse
from rules.base import ErrorKind


@dataclass(frozen=True, eq=False)
class Table:
    """A synced table as its source declares it: columns, primary key (account first), indexes,
    and the column whose date prunes it after `keep_raw_days` (None: a snapshot, replaced), or
    sooner after `keep` (a daily history the rules read only a week of)."""

    name: str
    columns: dict[str, type]
    pk: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = ()
    dated_by: str | None = None
    keep: timedelta | None = None


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



class SyncedTables(Database):
    """Rows of the sources' tables. A table is created (or given the columns it lacks) the first
    time it is used, so a source's table is there even before its migration has run."""

    def _ensure(self, tables: Table | Sequence[Table]) -> None:
        for table in (tables,) if isinstance(tables, Table) else tables:
            if table.name in self._ensured:
                continue
            handle = self.db.table(table.name)
            if not handle.exists():
                with self.transaction():
                    handle.create(table.columns, pk=table.pk, if_not_exists=True)
                    for columns in table.indexes:
                        handle.create_index(columns, if_not_exists=True)
            else:
                missing = {c: kind for c, kind in table.columns.items() if c not in handle.columns_dict}
                with self.transaction():
                    for column, kind in missing.items():
                        handle.add_column(column, kind)
            self._ensured.add(table.name)

    def save(self, table: Table, rows: Iterable[dict[str, Any]]) -> int:
        """Insert or update rows by the table's primary key in one transaction; return how many."""
        rows = list(rows)
        if rows:
            self._ensure(table)
            with self.transaction():
                self.db.table(table.name).upsert_all(rows, pk=table.pk)
        return len(rows)

    def replace(self, table: Table, account: str, rows: Iterable[dict[str, Any]]) -> int:
        """Make `rows` the account's whole content of a snapshot table, in one transaction."""
        rows = list(rows)
        self._ensure(table)
        with self.transaction():
            self.db.execute(f"delete from [{table.name}] where account = ?", [account])
            if rows:
                self.db.table(table.name).insert_all(rows, pk=table.pk, replace=True)
        return len(rows)

    def rows(self, tables: Table | Sequence[Table], sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """The rows `sql` selects from `tables` (the source's own query)."""
        self._ensure(tables)
        return list(self.db.query(sql, list(args)))

    def stream(self, tables: Table | Sequence[Table], sql: str, args: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """Like `rows`, streamed from the cursor (a big shop's cards and stock)."""
        self._ensure(tables)
        return self.db.query(sql, list(args))

    def tuples(self, tables: Table | Sequence[Table], sql: str, args: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """Like `stream`, as plain tuples: the postings, the bulk of a cycle's reading."""
        self._ensure(tables)
        return self.db.execute(sql, list(args))

    def count(self, table: Table, account: str) -> int:
        """How many rows of `table` the account has."""
        self._ensure(table)
        return self.db.table(table.name).count_where("account = ?", [account])

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
