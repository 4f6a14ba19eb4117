"""The one SQLite file (WAL): synced data, sync cursors, alert state, the outbox and the
monitor's own health, split by job; this package is the only place that speaks SQLite."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from monitor.store.alerts import AlertTables
from monitor.store.database import BackupFailed, StorageError, iso, parse, state_dir_problem
from monitor.store.health import HealthTables
from monitor.store.outbox import OutboxTables
from monitor.store.synced import Cursor, SyncedTables, Table

API_ERRORS_KEPT = timedelta(days=7)


class Store(SyncedTables, AlertTables, OutboxTables, HealthTables):
    """Typed access to the state file."""

    def prune(self, tables: Iterable[Table], now: datetime, keep_raw: timedelta, keep_alerts: timedelta
              ) -> dict[str, int]:
        """Delete rows of the dated synced `tables` older than `keep_raw` or their own `keep`
        (snapshots are replaced, not kept) and the alert history (resolved alerts, ended silences, the suppression log,
        delivered notifications) older than `keep_alerts`; the posting cursors then say where the
        history now starts. Return rows deleted per table."""
        raw, old = iso(now - keep_raw), iso(now - keep_alerts)
        dated = [t for t in tables if t.dated_by]
        self._ensure(dated)
        plan = [(t.name, f"{t.dated_by} < ?", iso(now - min(keep_raw, t.keep or keep_raw))) for t in dated] + [
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


__all__ = ["BackupFailed", "Cursor", "StorageError", "Store", "Table", "iso", "parse", "state_dir_problem"]
