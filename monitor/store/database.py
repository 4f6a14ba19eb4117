"""The state file itself: opening (and repairing) it, transactions, read-only use, backup and
maintenance. Timestamps are stored as ISO-8601 UTC text (`iso`, `parse`)."""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Self

import sqlite_utils

from monitor.texts import STORAGE, Said

from monitor.store.schema import migrations

log = logging.getLogger(__name__)
# One thread of the process opens the state file at a time: switching a new file to WAL fails at
# once while another thread opens it, and a thread must never open (and so create) the file
# while another is moving a damaged one aside, or the two would share a WAL index one of them
# deleted (a crash on a truncated mapping).
_OPENING = threading.Lock()


def _damaged(exc: sqlite3.DatabaseError) -> bool:
    return "not a database" in str(exc) or "malformed" in str(exc)


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat() if moment else None


def parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def state_dir_problem(folder: Path) -> Said | None:
    """Why the state directory cannot be created or written, or None when it can."""
    probe = folder / ".ozon-monitor-write-test"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
    except FileExistsError:
        return Said("state.is_file", folder=folder)
    except NotADirectoryError:
        return Said("state.under_file", folder=folder)
    except PermissionError:
        return Said("state.denied", folder=folder)
    except OSError as exc:
        return Said("state.other", folder=folder, error=exc.strerror)
    return None


def _not_a_folder(folder: Path, under: bool) -> StorageError:
    return StorageError(folder, "lies under a file, not a folder" if under else "is a file, not a folder",
                        "set [monitor] state_dir to a folder", "not_a_folder")


class BackupFailed(Exception):
    """The copy could not be written to `target`; the state file itself is untouched."""

    def __init__(self, target: Path, cause: sqlite3.Error | OSError) -> None:
        super().__init__(f"{target}: {cause}")
        self.target, self.cause = target, cause


class StorageError(Exception):
    """The state file cannot be used: the message names the path, what is wrong and the fix."""

    def __init__(self, path: Path, problem: str, fix: str, kind: str = "other") -> None:
        self.path, self.problem, self.fix, self.kind = path, problem, fix, kind  # kind: see texts.STORAGE
        super().__init__(f"{path}: {problem}; {fix}")

    def parts(self, language: str) -> tuple[str, str]:
        """What is wrong and the fix in `language` (with SQLite's own words where no kind names
        the problem)."""
        problem, fix = STORAGE[language].get(self.kind, STORAGE[language]["other"])
        return f"{problem} ({self.problem})" if self.kind == "other" else problem, fix

    def text(self, language: str) -> str:
        problem, fix = self.parts(language)
        return f"{self.path}: {problem}. {fix}"

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


class Database:
    """The open state file: every part of the store (synced tables, alerts, outbox, health)
    shares its connection and its transactions."""

    FILENAME = "ozon-monitor.db"

    BUSY_TIMEOUT_MS = 30000  # how long a writer waits for another account's job to finish its write

    def __init__(self, path: Path) -> None:
        """Open (or create, or upgrade) the state file; raise StorageError naming the path and
        the fix when it cannot be used. A file that is not an SQLite database is moved aside
        (`moved_aside` says where) and a new one started: the next sync rebuilds it from Ozon."""
        self.path: Path = path
        self.moved_aside: Path | None = None
        self._ensured: set[str] = set()  # synced tables known to have their declared columns  # type: Path, Path | None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise _not_a_folder(path.parent, under=isinstance(exc, NotADirectoryError)) from None
        except PermissionError:
            raise StorageError(path.parent, "cannot be created: permission denied",
                               "create it and let the user running ozon-monitor write to it", "unwritable") from None
        except OSError as exc:
            raise StorageError(path.parent, f"cannot be created: {exc.strerror}", "check the disk") from None
        try:
            with _OPENING:  # the accounts' jobs may find it damaged at once: one moves it aside, the
                try:  # others then open the new file it started
                    self._open()
                except sqlite3.DatabaseError as exc:
                    if not _damaged(exc):
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
        deadline = time.monotonic() + self.BUSY_TIMEOUT_MS / 1000
        while True:  # another process may be opening it too: switching to WAL fails at once then
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
    def in_dir(cls, state_dir: Path) -> Self:
        return cls(state_dir / cls.FILENAME)

    @classmethod
    def read_only(cls, state_dir: Path) -> Self:
        """Open the state file for reading only (`status`, `alerts list`, `drafts`, metrics): it is
        never created, upgraded or moved aside here. Raise StorageError naming the file and the
        fix when it is missing, damaged or from another version; `check` and `run` repair it."""
        path = state_dir / cls.FILENAME
        repair = "run `ozon-monitor check` (or restart the service): it moves a damaged file aside and rebuilds " \
                 "the state from Ozon; or restore a backup"
        if not state_dir.is_dir():  # a file where the folder should be: not "run check", which refuses it too
            in_the_way = next((p for p in (state_dir, *state_dir.parents) if p.exists()), state_dir)
            if not in_the_way.is_dir():
                raise _not_a_folder(state_dir, under=in_the_way != state_dir)
        if not path.is_file():
            raise StorageError(path, "does not exist (deleted, or the monitor has not run yet)",
                               "run `ozon-monitor check` or start the service: it creates the file", "missing")
        store = cls.__new__(cls)
        store.path, store.moved_aside, store._ensured = path, None, set()
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
    def transaction(self) -> Iterator[Self]:
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

    def _rows(self, sql: str, args: list[Any] | None = None) -> list[dict[str, Any]]:
        return list(self.db.query(sql, args or []))

    def size_bytes(self) -> int:
        return sum(Path(f"{self.path}{suffix}").stat().st_size for suffix in ("", "-wal")
                   if Path(f"{self.path}{suffix}").exists())

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
            raise BackupFailed(target, exc) from None
