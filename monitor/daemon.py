"""The long-running service: one APScheduler job per account and one delivery job, stopped
cleanly by SIGTERM/SIGINT.

Jobs coalesce and never overlap, so a slow cycle delays the next one instead of stacking up.
Each account's cycle only enqueues; the delivery job sends for every shop, once a minute and
right after any cycle that enqueued something. On a stop signal the cycle in flight stops at
the next page boundary: everything committed so far stays, the rest is picked up by the next
start.
"""
from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler

from monitor.config import Settings
from monitor import watchdog
from monitor.cycle import deliver_all, run_cycle
from monitor.store import StorageError

log = logging.getLogger(__name__)
DELIVERY_JOB = "deliver"
DELIVERY_SECONDS = 60
STOP_GRACE_SECONDS = 8.0  # systemd gives 30 s; a stop must not wait on a hanging HTTP request


class AlreadyRunning(Exception):
    """Another daemon holds the state directory."""


@contextmanager
def state_lock(state_dir: Path) -> Iterator[None]:
    """Hold `state_dir/daemon.lock` for the daemon's life, so a second daemon on the same state
    refuses to start and names the first; the kernel frees the lock if the process dies."""
    path = state_dir / "daemon.lock"
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")
    except OSError as exc:  # the state directory is broken: the cycles report that; there is nothing to guard
        log.warning("daemon lock not taken: %s: %s", path, exc.strerror)
        yield
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        other = handle.read().strip() or "unknown"
        handle.close()
        raise AlreadyRunning(f"another ozon-monitor daemon (pid {other}) is running on {state_dir}; stop it first "
                             f"(systemctl stop ozon-monitor) or give this one another state_dir") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    try:
        yield
    finally:
        handle.close()


def run(settings: Settings, stop: threading.Event | None = None) -> bool:
    """Run until `stop` is set or SIGTERM/SIGINT arrives (only the main thread installs handlers).
    Return False when a job was still running `STOP_GRACE_SECONDS` after the stop: the caller
    then exits at once; what was committed stays, the uncommitted page is rolled back by SQLite."""
    with state_lock(settings.monitor.state_dir):
        return _serve(settings, stop or threading.Event())


def _serve(settings: Settings, stop: threading.Event) -> bool:
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, _frame: stop.set())
    scheduler = BackgroundScheduler(timezone=timezone.utc)
    scheduler.add_job(_delivery_job, "interval", args=[settings], id=DELIVERY_JOB, seconds=DELIVERY_SECONDS,
                      coalesce=True, max_instances=1, misfire_grace_time=DELIVERY_SECONDS)
    for account in settings.accounts:
        scheduler.add_job(
            _cycle_job, "interval", args=[settings, account.name, stop, scheduler], id=f"cycle:{account.name}",
            minutes=settings.monitor.poll_minutes, next_run_time=datetime.now(timezone.utc),
            coalesce=True, max_instances=1, misfire_grace_time=settings.monitor.poll_minutes * 60,
        )
    scheduler.start()
    log.info("started: accounts=%s poll_minutes=%d", ",".join(a.name for a in settings.accounts),
             settings.monitor.poll_minutes)
    stop.wait()
    log.info("stopping: waiting for the cycle in flight")
    done = threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, name="shutdown", daemon=True)
    done.start()
    done.join(STOP_GRACE_SECONDS)
    if done.is_alive():
        log.warning("stopped: a job was still waiting on the network after %.0f s; its uncommitted page is dropped "
                    "and the next start resumes from the last committed one", STOP_GRACE_SECONDS)
        return False
    log.info("stopped")
    return True


def _cycle_job(settings: Settings, account: str, stop: threading.Event, scheduler: BackgroundScheduler) -> None:
    try:
        result = run_cycle(settings, account, stop=stop)
    except StorageError as exc:  # said to the seller without the state file; the next cycle retries
        watchdog.storage_fault(settings, exc)
        return
    except Exception:  # keep the daemon alive; the next cycle retries
        log.exception("cycle failed: account=%s", account)
        return
    log.info("cycle done: account=%s fetched=%s unchecked=%s findings=%d notified=%d", account,
             result.sync.fetched, ",".join(result.sync.unchecked) or "none", len(result.findings),
             len(result.notified))
    if result.notified and not stop.is_set():
        scheduler.modify_job(DELIVERY_JOB, next_run_time=datetime.now(timezone.utc))  # say it now, not in a minute


def _delivery_job(settings: Settings) -> None:
    try:
        done = deliver_all(settings)
    except StorageError as exc:
        watchdog.storage_fault(settings, exc)
        return
    except Exception:  # keep the daemon alive; the next run retries
        log.exception("delivery failed")
        return
    if done.delivered or done.failed:
        log.info("delivery done: delivered=%d failed=%d", done.delivered, done.failed)
